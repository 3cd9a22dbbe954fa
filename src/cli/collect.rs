//! `concbench collect FILE|DIR...`: many machines' results in one table per workload.
//!
//! Every argument is expanded into files first (directories walked for results.json and
//! lab.json) and every file is read and checked before anything is printed or written: one bad
//! file is exit status 2 with one line naming it, and no output.

use std::path::PathBuf;

use super::{CliError, OutputFormat};
use concbench::collect::collect;

/// Options of `concbench collect`.
#[derive(Debug, clap::Args)]
pub struct CollectArgs {
    /// results.json files of `concbench run` and lab.json files of `concbench lab`, from any
    /// number of machines, or directories to search for them (recursively, at most 32 levels
    /// and 10000 files; files inside --out DIR are left out). Each file is read as untrusted
    /// input: any that is not a concbench result (cut short, edited, another program's, from a
    /// newer concbench, with impossible figures) is refused with exit status 2.
    #[arg(required = true, value_name = "FILE|DIR")]
    pub inputs: Vec<PathBuf>,
    /// Also write report.md (the tables with a speedup chart per workload), results.csv,
    /// lab.csv (with lab files), results.json and speedup-WORKLOAD.svg into DIR (one set,
    /// atomically).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Output format on stdout.
    #[arg(long, short, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// No note on stderr of the files written.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run `concbench collect`: check `--out`, one library call, then the files and stdout.
pub fn cmd_collect(args: CollectArgs) -> Result<(), CliError> {
    super::prepare_out(args.out.as_deref())?;
    let c =
        collect(&args.inputs, args.out.as_deref()).map_err(|e| CliError::Usage(e.to_string()))?;
    super::print_and_write(&c, args.format.into(), args.out.as_deref(), args.quiet)
}
