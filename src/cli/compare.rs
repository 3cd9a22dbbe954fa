//! `concbench compare A.json B.json`: two result documents side by side, with ratios B/A.

use std::path::PathBuf;

use super::{CliError, OutputFormat};
use concbench::report::compare;

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
    super::prepare_out(args.out.as_deref())?;
    let c = compare(&args.a, &args.b).map_err(|e| CliError::Usage(e.to_string()))?;
    super::print_and_write(&c, args.format.into(), args.out.as_deref(), args.quiet)
}
