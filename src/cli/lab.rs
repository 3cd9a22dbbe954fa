//! `concbench lab`: test each claim of the course on this machine and give it a verdict.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::ValueEnum;

use super::{commit_results, print_stdout, CliError};
use concbench::lab::{self, render, LabOptions};
use concbench::output::{prepare_out_dir, ResultSet};

/// Output formats of `lab`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LabFormat {
    /// Verdict table and explanations.
    Table,
    /// The whole report as JSON.
    Json,
    /// lab.md, the report a student hands in.
    Markdown,
}

/// Options of `concbench lab`.
#[derive(Debug, clap::Args)]
pub struct LabArgs {
    /// Comma list of claim ids to test (default: all of them, in the course's order; `--list`
    /// shows them).
    #[arg(long)]
    pub claim: Option<String>,
    /// Print every claim id with its one-line statement, and measure nothing.
    #[arg(long)]
    pub list: bool,
    /// Smaller experiments (7 repetitions instead of 11): under a minute on 2 cores instead of a
    /// few. The intervals keep their coverage but grow wider, so more verdicts come out
    /// inconclusive; run without it before citing a verdict.
    #[arg(long)]
    pub quick: bool,
    /// Output format on stdout.
    #[arg(long, short, value_enum, default_value_t = LabFormat::Table)]
    pub format: LabFormat,
    /// Also write lab.md, lab.json and a picture per claim that has one (ID.svg) to this
    /// directory (atomically).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// No progress display on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run `concbench lab`.
pub fn cmd_lab(args: LabArgs) -> Result<(), CliError> {
    if args.list {
        return print_stdout(&claim_list());
    }
    let selected = lab::select(args.claim.as_deref()).map_err(CliError::Usage)?;
    if let Some(dir) = &args.out {
        prepare_out_dir(dir).map_err(CliError::Usage)?;
    }
    let options = LabOptions { quick: args.quick };
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(selected.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} claims  {msg}  ({elapsed})",
            )
            .expect("valid template"),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        bar
    });
    let mut watch = concbench::machine::Watch::start();
    let mut report = lab::run_lab(&selected, &options, &mut |i, claim| {
        if let Some(bar) = &bar {
            bar.set_position(i as u64);
            bar.set_message(claim.id);
        }
    })
    .map_err(|e| CliError::Failed(anyhow::Error::new(e)))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    watch.finish(&mut report.machine);
    if let Some(w) = report.machine.busy_warning("the lab") {
        eprintln!("{w}");
    }
    if let Some(dir) = &args.out {
        let mut set = ResultSet::new();
        for (name, text) in render::files(&report) {
            set.add(dir, &name, text);
        }
        commit_results(set)?;
    }
    print_stdout(&match args.format {
        LabFormat::Table => render::terminal(&report),
        LabFormat::Json => render::json(&report),
        LabFormat::Markdown => render::markdown(&report),
    })
}

/// `lab --list`: one line per claim, `ID  statement`, in the course's order; checks (which
/// cannot fail by how they are built) are marked.
fn claim_list() -> String {
    let width = lab::all_claims().map(|c| c.id.len()).max().unwrap_or(0);
    let mut s = String::new();
    for c in lab::all_claims() {
        let check = match c.kind {
            lab::Kind::Check => " (check)",
            lab::Kind::Claim => "",
        };
        s.push_str(&format!("{:<width$}  {}{check}\n", c.id, c.statement));
    }
    s
}
