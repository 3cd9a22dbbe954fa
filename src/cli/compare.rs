//! `concbench compare A.json B.json`: two result documents side by side, with ratios B/A.

use std::path::PathBuf;

use super::{print_stdout, CliError, OutputFormat};
use concbench::output::prepare_out_dir;
use concbench::report::compare::compare;
use concbench::report::Render;

/// Options of `concbench compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The baseline: a results.json from `concbench run --format json`, or the directory
    /// `concbench run --out DIR` wrote (its results.json is read).
    pub a: PathBuf,
    /// The one compared with it (ratios are B/A); a file or an `--out` directory, as A.
    pub b: PathBuf,
    /// Output format on stdout.
    #[arg(long, short, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Also write compare.json, compare.md, compare.csv, compare.tex and report.html into DIR
    /// (one set, atomically; checked before anything is read).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// No note on stderr of the files written.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run `concbench compare`: check `--out`, one library call, then the files and stdout.
/// Unreadable, malformed or unrelated files are bad input (exit 2).
pub fn cmd_compare(args: CompareArgs) -> Result<(), CliError> {
    if let Some(dir) = &args.out {
        prepare_out_dir(dir).map_err(CliError::Usage)?;
    }
    let c = compare(&args.a, &args.b).map_err(|e| CliError::Usage(e.to_string()))?;
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
