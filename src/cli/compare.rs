//! `concbench compare A.json B.json`: two result documents side by side, with ratios B/A.

use std::path::PathBuf;

use clap::ValueEnum;

use super::{print_stdout, CliError};
use concbench::report::compare::{compare, read_report};

/// Output formats of `compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompareFormat {
    /// Aligned table for the terminal.
    Table,
    /// One JSON document.
    Json,
    /// Markdown, ready to paste.
    Markdown,
}

/// Options of `concbench compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The baseline: a results.json from `concbench run --out` or `--format json`.
    pub a: PathBuf,
    /// The one compared with it (ratios are B/A).
    pub b: PathBuf,
    /// Output format on stdout.
    #[arg(long, short, value_enum, default_value_t = CompareFormat::Table)]
    pub format: CompareFormat,
}

/// Run `concbench compare`. Unreadable, malformed or unrelated files are bad input (exit 2).
pub fn cmd_compare(args: CompareArgs) -> Result<(), CliError> {
    let usage = |e: concbench::report::compare::CompareError| CliError::Usage(e.to_string());
    let a = read_report(&args.a).map_err(usage)?;
    let b = read_report(&args.b).map_err(usage)?;
    let c = compare(
        &a,
        &args.a.display().to_string(),
        &b,
        &args.b.display().to_string(),
    )
    .map_err(usage)?;
    print_stdout(&match args.format {
        CompareFormat::Table => c.to_terminal(),
        CompareFormat::Json => c.to_json(),
        CompareFormat::Markdown => c.to_markdown(),
    })
}
