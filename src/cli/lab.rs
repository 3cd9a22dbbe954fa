//! `concbench lab`: test each claim of the course on this machine and give it a verdict.

use std::io::IsTerminal;
use std::path::PathBuf;

use super::{print_stdout, CliError, OutputFormat};
use concbench::lab::{self, LabError, LabEvent, LabRequest};
use concbench::report::Render;

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
    #[arg(long, short, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Also write lab.md, lab.json and a picture per claim that has one (ID.svg) to this
    /// directory (atomically).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// No progress display on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run `concbench lab`: the flags become a [`LabRequest`], the library's [`lab::run_lab`] checks
/// and runs it, and this shows its progress and notes on stderr, prints the report in
/// `--format` and, with `--out`, writes its files.
pub fn cmd_lab(args: LabArgs) -> Result<(), CliError> {
    if args.list {
        return print_stdout(&lab::claim_list());
    }
    let request = LabRequest {
        claims: args.claim.clone(),
        quick: args.quick,
        out: args.out.clone(),
    };
    // The bar appears with the first claim, so a refused request draws none.
    let show_progress = !args.quiet && std::io::stderr().is_terminal();
    let mut bar: Option<indicatif::ProgressBar> = None;
    let result = lab::run_lab(&request, &mut |event| match event {
        LabEvent::Claim { done, total, id } if show_progress => {
            let bar = bar.get_or_insert_with(|| progress_bar(total));
            bar.set_position(done as u64);
            bar.set_message(id);
        }
        LabEvent::Note(line) => match &bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        },
        _ => {}
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let report = result.map_err(|e| match e {
        LabError::Request(line) => CliError::Usage(line),
        other => CliError::Failed(anyhow::Error::new(other)),
    })?;
    print_stdout(&report.render(args.format.into()))
}

/// The progress display on stderr: claims done of `total`.
fn progress_bar(total: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} claims  {msg}  ({elapsed})")
            .expect("valid template"),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}
