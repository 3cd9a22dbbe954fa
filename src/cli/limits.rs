//! `concbench limits`: measure this machine's ceilings (copy bandwidth for 1..P threads, peak
//! FLOP/s per core and on all cores), print them and refresh the cache other commands read.

use std::io::IsTerminal;

use super::{CliError, OutputFormat};
use concbench::experiment::measure_limits;

/// Options of `concbench limits`.
#[derive(Debug, clap::Args)]
pub struct LimitsArgs {
    /// A quick look (smaller buffer, shorter loops, 3 repetitions): about a second.
    #[arg(long)]
    pub quick: bool,
    /// Output format on stdout.
    #[arg(long, short, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Also write the result set to this directory (atomically): limits.txt (the tables), limits.json, limits.md, one CSV per table, limits.tex and report.html.
    #[arg(long, short, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,
    /// No progress lines or notes on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run `concbench limits` ([`concbench::experiment::measure_limits`]): measure, cache
/// (a cache that cannot be written is a warning on stderr, not a failure), print, write `--out`.
pub fn cmd_limits(args: LimitsArgs) -> Result<(), CliError> {
    super::prepare_out(args.out.as_deref())?;
    let show = !args.quiet && std::io::stderr().is_terminal();
    let run = measure_limits(
        args.quick,
        &mut |line| {
            if show {
                eprintln!("{line}");
            }
        },
        &mut |warning| eprintln!("concbench: warning: {warning}"),
    )
    .map_err(|e| CliError::Failed(anyhow::Error::new(e).context("measuring the ceilings")))?;
    super::print_and_write(&run, args.format.into(), args.out.as_deref(), args.quiet)
}
