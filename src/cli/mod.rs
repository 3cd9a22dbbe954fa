//! The command line: clap definitions and the mapping from parsed options to library calls.
//!
//! Parsing lives here; validation lives in the library's requests ([`concbench::sweep::RunRequest`] and the like); the work lives in the library. Errors
//! come back as [`CliError`]: bad usage or input is exit status 2 with one line on stderr, a
//! failure while measuring (a worker that died, a wrong answer) is exit status 1. Errors clap
//! finds while parsing keep clap's rendering (its tips and the usage line), also exit status 2.

use std::ffi::OsString;
use std::io::Write;

use clap::{Parser, Subcommand};

use concbench::report::{Format, Render};
use concbench::strategy::Strategy;
use concbench::sweep::RunRequest;
use concbench::workload::BUILT_IN;

pub mod collect;
pub mod compare;
pub mod ctxswitch;
pub mod lab;
pub mod limits;
pub mod params;
pub mod refs;
pub mod render;
pub mod run;
pub mod server;
pub mod timeline;

/// concbench: measure the difference between concurrency and parallelism on this machine.
#[derive(Debug, Parser)]
#[command(name = "concbench", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Run a workload under the strategies for each core count and print a speedup table.
    Run(run::RunArgs),
    /// List the workloads and strategies.
    List,
    /// Test each claim of a course on concurrency against this machine, with a verdict.
    Lab(lab::LabArgs),
    /// Compare two results.json files row by row, with ratios B/A.
    Compare(compare::CompareArgs),
    /// Gather results.json and lab.json files from many machines into one table per workload
    /// (a row per machine × strategy × workers), with a speedup chart per workload.
    Collect(collect::CollectArgs),
    /// Make a result set of run, lab, ctxswitch or limits again from its JSON alone: every
    /// file (Markdown, CSV, LaTeX, plots, report.html) as this concbench draws it.
    Render(render::RenderArgs),
    /// Record when each of K pinned workers ran: time slicing on one core, simultaneity spread.
    Timeline(timeline::TimelineArgs),
    /// Measure the cost of one context switch by ping-pong (threads, processes; same core, across cores).
    Ctxswitch(ctxswitch::CtxSwitchArgs),
    /// Measure this machine's ceilings: copy bandwidth for 1..P threads, peak FLOP/s per core.
    Limits(limits::LimitsArgs),
    /// Time the references (std and rayon sorts, matrixmultiply dgemm) beside concbench's kernels.
    Refs(refs::RefsArgs),
    /// Run one web server architecture alone on the loopback interface until Ctrl-C (for curl, a
    /// browser, wrk); its first line is `listening on http://127.0.0.1:PORT`.
    Server(server::ServerArgs),
    /// Print a completion script for SHELL on stdout, e.g. `concbench completions bash >
    /// ~/.local/share/bash-completion/completions/concbench`.
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout, e.g. `concbench man | man -l -`; `concbench man run`
    /// prints the page of one subcommand (concbench-run).
    Man(ManArgs),
}

/// Options of `concbench completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Options of `concbench man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// A subcommand whose page to print (default: the page of concbench itself, listing them).
    pub subcommand: Option<String>,
}

/// How often to measure, shared by `run` and `refs`.
#[derive(Debug, Clone, clap::Args)]
pub struct Repetitions {
    /// Timed repetitions per row (the median is reported); 7 is the fewest whose order-statistic
    /// intervals reach 95% for the speedup (6 for a median alone).
    #[arg(long, default_value_t = RunRequest::default().reps, allow_negative_numbers = true)]
    pub reps: i64,
    /// Untimed warm-up runs per row.
    #[arg(long, default_value_t = RunRequest::default().warmup, allow_negative_numbers = true)]
    pub warmup: i64,
    /// Seed of the generated input (the same seed gives the same keys or matrices in every
    /// process and every subcommand).
    #[arg(long, default_value_t = RunRequest::default().seed)]
    pub seed: u64,
}

/// `--format` of every subcommand that prints a result: each result renders in all of them
/// ([`concbench::report::Render`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Aligned table for the terminal, with a reading of the numbers.
    Table,
    /// One JSON document: the complete result, every printed number a field of it.
    Json,
    /// Markdown, ready to paste (the `.md` file of `--out`).
    Markdown,
    /// CSV (RFC 4180): each table with its header line, a blank line between tables.
    Csv,
    /// LaTeX table floats (booktabs, with a caption naming the machine).
    Latex,
}

impl From<OutputFormat> for Format {
    fn from(format: OutputFormat) -> Format {
        match format {
            OutputFormat::Table => Format::Terminal,
            OutputFormat::Json => Format::Json,
            OutputFormat::Markdown => Format::Markdown,
            OutputFormat::Csv => Format::Csv,
            OutputFormat::Latex => Format::Latex,
        }
    }
}

/// Print a result in `format` and, with `--out DIR`, write its result set there (every
/// rendering, the figures and `report.html`; see [`Render::files`]), saying so unless `quiet`.
pub(crate) fn print_and_write(
    result: &dyn Render,
    format: Format,
    out: Option<&std::path::Path>,
    quiet: bool,
) -> Result<(), CliError> {
    // The files first: a reader that closes stdout early (`| head`) must not cost them.
    if let Some(dir) = out {
        write_result(result, dir, quiet)?;
    }
    print_stdout(&result.render(format))
}

/// Write a result's set into `dir` (see [`Render::write`]) and, unless `quiet`, say so on stderr.
pub(crate) fn write_result(
    result: &dyn Render,
    dir: &std::path::Path,
    quiet: bool,
) -> Result<(), CliError> {
    let written = result
        .write(dir)
        .map_err(|e| CliError::Failed(anyhow::Error::new(e).context("writing the result files")))?;
    say_written(&written, dir, quiet);
    Ok(())
}

/// Unless `quiet`, say on stderr how many of the `written` files went into `dir`.
pub(crate) fn say_written(written: &[std::path::PathBuf], dir: &std::path::Path, quiet: bool) {
    if !quiet {
        eprintln!(
            "concbench: wrote {} files to {}",
            written.iter().filter(|p| p.starts_with(dir)).count(),
            dir.display()
        );
    }
}

/// Why a command failed, and so which exit status it gets.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad usage or input: exit status 2.
    #[error("{0}")]
    Usage(String),
    /// A failure while working: exit status 1.
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
    /// Writing to stdout failed: exit status 1, or 0 without a word when the reader closed the
    /// pipe (`concbench ... | head`).
    #[error("writing to stdout: {0}")]
    Stdout(std::io::Error),
}

impl CliError {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Stdout(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
            CliError::Failed(_) | CliError::Stdout(_) => 1,
        }
    }
}

/// Parse `args` and run; returns the process exit status. Usage errors found by clap are printed
/// as clap renders them (with its tips and the usage line); every other error is one line on
/// stderr (`concbench: ...`).
pub fn main_with_args(args: impl IntoIterator<Item = OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind::*;
            if matches!(
                e.kind(),
                DisplayHelp | DisplayVersion | DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let code = if e.kind() == DisplayHelpOnMissingArgumentOrSubcommand {
                    2
                } else {
                    0
                };
                return match e.print() {
                    Ok(()) => code,
                    Err(io) if io.kind() == std::io::ErrorKind::BrokenPipe => code,
                    Err(io) => {
                        eprintln!("concbench: writing to stdout: {io}");
                        1
                    }
                };
            }
            // clap's own rendering: the error, its tips ("a similar argument exists", the
            // possible values) and the usage line, as cargo and ripgrep show them.
            let _ = e.print();
            return 2;
        }
    };
    match run_command(cli.command) {
        Ok(()) => 0,
        Err(e) => {
            match &e {
                // srun -n N without MPI: the N tasks run the same command line; task 0 says it.
                CliError::Usage(_) if concbench::cluster::is_repeated_slurm_task() => {}
                CliError::Usage(m) => eprintln!("concbench: {m}"),
                CliError::Stdout(io) if io.kind() == std::io::ErrorKind::BrokenPipe => {}
                CliError::Stdout(_) => eprintln!("concbench: {e}"),
                CliError::Failed(err) => {
                    // Many errors print their cause inside their own message: show each
                    // piece of the chain once.
                    let mut line = String::new();
                    for cause in err.chain().map(|c| c.to_string()) {
                        if !line.contains(&cause) {
                            if !line.is_empty() {
                                line.push_str(": ");
                            }
                            line.push_str(&cause);
                        }
                    }
                    eprintln!("concbench: {line}");
                }
            }
            e.exit_code()
        }
    }
}

/// Run one parsed subcommand.
pub fn run_command(command: Command) -> Result<(), CliError> {
    match command {
        Command::Run(args) => run::cmd_run(args),
        Command::Lab(args) => lab::cmd_lab(args),
        Command::Compare(args) => compare::cmd_compare(args),
        Command::Render(args) => render::cmd_render(args),
        Command::Collect(args) => collect::cmd_collect(args),
        Command::Timeline(args) => timeline::cmd_timeline(args),
        Command::Ctxswitch(args) => ctxswitch::cmd_ctxswitch(args),
        Command::Limits(args) => limits::cmd_limits(args),
        Command::Refs(args) => refs::cmd_refs(args),
        Command::Server(args) => server::cmd_server(args),
        Command::List => print_stdout(&list_text()),
        Command::Completions(args) => {
            let mut buf = Vec::new();
            clap_complete::generate(args.shell, &mut cli_command(), "concbench", &mut buf);
            print_stdout(&String::from_utf8_lossy(&buf))
        }
        Command::Man(args) => print_stdout(&man_page(args.subcommand.as_deref())?),
    }
}

/// The whole command line, as clap sees it (for completions and the man page).
pub fn cli_command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// The man page of concbench, or of one of its subcommands, in roff.
fn man_page(subcommand: Option<&str>) -> Result<String, CliError> {
    let mut cmd = cli_command().disable_help_subcommand(true);
    cmd.build();
    let page = match subcommand {
        None => cmd,
        Some(name) => cmd
            .get_subcommands()
            .find(|s| s.get_name() == name && !s.is_hide_set())
            .map(|s| s.clone().version(env!("CARGO_PKG_VERSION")))
            .ok_or_else(|| {
                let names: Vec<String> = cli_command()
                    .get_subcommands()
                    .map(|s| s.get_name().to_string())
                    .collect();
                CliError::Usage(format!(
                    "no subcommand '{name}' (known: {})",
                    names.join(", ")
                ))
            })?,
    };
    let mut buf = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut buf)
        .map_err(CliError::Stdout)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn list_text() -> String {
    let mut s = String::from("workloads:\n");
    for d in BUILT_IN {
        s.push_str(&format!("  {:<22} {}\n", d.name, d.description));
    }
    s.push_str("\nstrategies:\n");
    for strategy in Strategy::ALL {
        s.push_str(&format!(
            "  {:<22} {}\n",
            strategy.name(),
            strategy.description()
        ));
    }
    s.push_str(&format!("\n{}\n", concbench::cluster::mpi_status()));
    s
}

/// Print `s` on stdout and flush it. A closed pipe (`concbench ... | head`) comes back as an
/// error of kind `BrokenPipe`, which [`main_with_args`] ends on quietly; any other failure (a
/// full disk, `/dev/full`) is an error to report (see [`CliError::Stdout`]).
pub(crate) fn print_stdout(s: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(s.as_bytes())
        .and_then(|()| out.flush())
        .map_err(CliError::Stdout)
}

/// `--out DIR` of a measuring subcommand: refuse a directory that cannot be written before any
/// work is done (exit status 2).
pub(crate) fn prepare_out(dir: Option<&std::path::Path>) -> Result<(), CliError> {
    match dir {
        Some(dir) => concbench::report::prepare_out_dir(dir).map_err(CliError::Usage),
        None => Ok(()),
    }
}
