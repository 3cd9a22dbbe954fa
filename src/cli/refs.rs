//! `concbench refs`: time the references a user could pick instead (std and rayon sorts,
//! matrixmultiply dgemm) beside concbench's own kernels in the same run, with the ratios.

use std::io::IsTerminal;

use super::{CliError, OutputFormat, Repetitions};
use concbench::refs::{run_refs, RefsPlan};

/// Options of `concbench refs`.
#[derive(Debug, clap::Args)]
pub struct RefsArgs {
    /// Workload: mergesort (std and rayon sorts) or matmul (matrixmultiply dgemm).
    #[arg(long, short)]
    pub workload: String,
    /// Comma list of thread counts P (default: 1 and the physical core count).
    #[arg(long, short, allow_hyphen_values = true)]
    pub cores: Option<String>,
    /// Problem size: keys (mergesort, default 4000000) or matrix order n (matmul, default 1024).
    #[arg(long, allow_negative_numbers = true)]
    pub size: Option<i64>,
    /// Repetitions, warm-up and seed.
    #[command(flatten)]
    pub repetitions: Repetitions,
    /// Output format on stdout.
    #[arg(long, short, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Also write the result set to this directory (atomically): WORKLOAD.txt (the tables),
    /// WORKLOAD.json, WORKLOAD.md, one CSV per table, WORKLOAD.tex and report.html.
    #[arg(long, short, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,
    /// No progress lines or notes on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run `concbench refs` with parsed options.
pub fn cmd_refs(args: RefsArgs) -> Result<(), CliError> {
    let plan = RefsPlan::new(
        &args.workload,
        args.cores.as_deref(),
        args.size,
        args.repetitions.reps,
        args.repetitions.warmup,
        args.repetitions.seed,
    )
    .map_err(|e| CliError::Usage(e.0))?;
    super::prepare_out(args.out.as_deref())?;
    let show = !args.quiet && std::io::stderr().is_terminal();
    let report = run_refs(&plan, &mut |what| {
        if show {
            eprintln!("timing {what} ...");
        }
    })
    .map_err(|e| {
        CliError::Failed(anyhow::Error::new(e).context(format!("refs for {}", plan.workload)))
    })?;
    super::print_and_write(&report, args.format.into(), args.out.as_deref(), args.quiet)
}
