//! `concbench ctxswitch`: the cost of one context switch, by ping-pong (see
//! [`concbench::experiment::measure_ctxswitch`]), in every text format.

use std::io::IsTerminal;

use super::{CliError, OutputFormat};
use concbench::experiment::{measure_ctxswitch, PingPongPlan};

/// Options of `concbench ctxswitch`.
#[derive(Debug, clap::Args)]
pub struct CtxSwitchArgs {
    /// Round trips per timed repetition (each round trip is two switches).
    #[arg(long, default_value_t = 20_000, allow_negative_numbers = true)]
    pub round_trips: i64,
    /// Timed repetitions per row (the median is reported, with min and max).
    #[arg(long, default_value_t = 5, allow_negative_numbers = true)]
    pub reps: i64,
    /// Output format on stdout.
    #[arg(long, short, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Also write the result set to this directory (atomically): ctxswitch.txt (the table), ctxswitch.json, ctxswitch.md, ctxswitch.csv, ctxswitch.tex and report.html.
    #[arg(long, short, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,
    /// No progress lines or notes on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run `concbench ctxswitch` with parsed options.
pub fn cmd_ctxswitch(args: CtxSwitchArgs) -> Result<(), CliError> {
    let plan = PingPongPlan::new(args.round_trips, args.reps).map_err(CliError::Usage)?;
    super::prepare_out(args.out.as_deref())?;
    let show = !args.quiet && std::io::stderr().is_terminal();
    let report = measure_ctxswitch(&plan, &mut |case| {
        if show {
            eprintln!("measuring {case} ...");
        }
    })
    .map_err(|e| CliError::Failed(anyhow::Error::new(e)))?;
    super::print_and_write(&report, args.format.into(), args.out.as_deref(), args.quiet)
}
