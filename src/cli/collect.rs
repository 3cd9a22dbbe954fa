//! `concbench collect FILE|DIR...`: many machines' results in one table per workload.
//!
//! Every argument is expanded into files first (directories walked for results.json and
//! lab.json) and every file is read and checked before anything is printed or written: one bad
//! file is exit status 2 with one line naming it, and no output.

use std::path::PathBuf;

use super::{print_stdout, CliError, OutputFormat};
use concbench::collect::collect;
use concbench::output::prepare_out_dir;
use concbench::report::Render;

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
    if let Some(dir) = &args.out {
        prepare_out_dir(dir).map_err(CliError::Usage)?;
    }
    let c =
        collect(&args.inputs, args.out.as_deref()).map_err(|e| CliError::Usage(e.to_string()))?;
    // The files first: a reader that closes stdout early (`| head`) must not cost them.
    if let Some(dir) = &args.out {
        let written = c.write(dir).map_err(|e| {
            CliError::Failed(anyhow::Error::new(e).context("writing the result files"))
        })?;
        if !args.quiet {
            eprintln!(
                "concbench: wrote {} files to {}",
                written.len(),
                dir.display()
            );
        }
    }
    print_stdout(&c.render(args.format.into()))
}
