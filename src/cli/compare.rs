//! `concbench compare A.json B.json`: two result documents side by side, with ratios B/A.

use std::path::{Path, PathBuf};

use clap::ValueEnum;

use super::{print_stdout, CliError};
use concbench::report::compare::{compare, read_report, CompareError};
use concbench::report::load::{show_path, LoadError};
use concbench::report::RunReport;

/// What `compare` reads, said once for every error that points the user at it.
const WANTED: &str = "compare reads the results.json of `concbench run --out DIR` (or DIR itself)";

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
    /// The baseline: a results.json from `concbench run --format json`, or the directory
    /// `concbench run --out DIR` wrote (its results.json is read).
    pub a: PathBuf,
    /// The one compared with it (ratios are B/A); a file or an `--out` directory, as A.
    pub b: PathBuf,
    /// Output format on stdout.
    #[arg(long, short, value_enum, default_value_t = CompareFormat::Table)]
    pub format: CompareFormat,
}

/// Run `concbench compare`. Unreadable, malformed or unrelated files are bad input (exit 2).
pub fn cmd_compare(args: CompareArgs) -> Result<(), CliError> {
    let usage = |e: CompareError| CliError::Usage(e.to_string());
    let a_path = results_file(&args.a)?;
    let b_path = results_file(&args.b)?;
    let a = read_results(&a_path)?;
    let b = read_results(&b_path)?;
    let c = compare(&a, &show_path(&a_path), &b, &show_path(&b_path)).map_err(usage)?;
    print_stdout(&match args.format {
        CompareFormat::Table => c.to_terminal(),
        CompareFormat::Json => c.to_json(),
        CompareFormat::Markdown => c.to_markdown(),
    })
}

/// The file to read for `path`: `path` itself, or `path/results.json` when `path` is a
/// directory (what `concbench run --out DIR` wrote). A directory without one is bad input.
/// Only metadata is read here: the loader checks the file before it opens it.
fn results_file(path: &Path) -> Result<PathBuf, CliError> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    let inside = path.join("results.json");
    if inside.exists() {
        Ok(inside)
    } else {
        Err(CliError::Usage(format!(
            "{} is a directory without a results.json: {WANTED}",
            show_path(path)
        )))
    }
}

/// Read one results file through the library's loader (untrusted input: never blocks, reads
/// at most 64 MiB, checks every figure); a file that is not one is one line naming it and
/// saying what it is instead, and what compare reads.
fn read_results(path: &Path) -> Result<RunReport, CliError> {
    read_report(path).map_err(|e| {
        CliError::Usage(match e {
            LoadError::Lab { file } => format!(
                "{file} is a lab result (a concbench lab report, lab.json); compare takes run results, the results.json of `concbench run --out DIR` (or DIR itself)"
            ),
            LoadError::Read { .. }
            | LoadError::Newer { .. }
            | LoadError::Figure { .. }
            | LoadError::Shape { .. } => e.to_string(),
            _ => format!("{e}; {WANTED}"),
        })
    })
}
