//! `concbench compare A.json B.json`: two result documents side by side, with ratios B/A.

use std::path::{Path, PathBuf};

use clap::ValueEnum;

use super::{print_stdout, CliError};
use concbench::report::compare::{compare, read_report, CompareError};
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
    let c = compare(
        &a,
        &a_path.display().to_string(),
        &b,
        &b_path.display().to_string(),
    )
    .map_err(usage)?;
    print_stdout(&match args.format {
        CompareFormat::Table => c.to_terminal(),
        CompareFormat::Json => c.to_json(),
        CompareFormat::Markdown => c.to_markdown(),
    })
}

/// The file to read for `path`: `path` itself, or `path/results.json` when `path` is a
/// directory (what `concbench run --out DIR` wrote). A directory without one is bad input.
fn results_file(path: &Path) -> Result<PathBuf, CliError> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    let inside = path.join("results.json");
    if inside.is_file() {
        Ok(inside)
    } else {
        Err(CliError::Usage(format!(
            "{} is a directory without a results.json: {WANTED}",
            path.display()
        )))
    }
}

/// Read one results file; a file that is not one is one line naming it and saying what it is
/// instead (not JSON, cut short, another concbench document, another program's JSON), never the
/// parser's words.
fn read_results(path: &Path) -> Result<RunReport, CliError> {
    match read_report(path) {
        Ok(report) => Ok(report),
        Err(CompareError::Parse { source, .. }) => {
            let what = not_results_because(path, &source);
            Err(CliError::Usage(format!(
                "{} is not a concbench run results file ({what}); {WANTED}",
                path.display()
            )))
        }
        Err(e) => Err(CliError::Usage(e.to_string())),
    }
}

/// What a file that failed to parse as a results.json is, in the user's words.
fn not_results_because(path: &Path, error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match error.classify() {
        Category::Eof if std::fs::metadata(path).is_ok_and(|m| m.len() == 0) => {
            "it is empty".into()
        }
        Category::Eof => "its JSON ends early: cut short?".into(),
        Category::Syntax | Category::Io => "it is not JSON".into(),
        Category::Data => {
            let doc = std::fs::read(path)
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
            format!(
                "it is {}",
                doc.as_ref().map_or("JSON of another kind", json_kind)
            )
        }
    }
}

/// Which document a JSON value looks like, by the keys concbench's other outputs have.
fn json_kind(doc: &serde_json::Value) -> &'static str {
    let has = |k: &str| doc.get(k).is_some();
    if has("ratios") && has("rows") {
        "a concbench refs report"
    } else if has("claims") && has("machine") {
        "a concbench lab report, lab.json"
    } else if has("workers") && has("overlap_share") {
        "a concbench timeline, timeline.json"
    } else if has("ceilings") && has("machine") {
        "a concbench limits report"
    } else if has("method") && has("rows") && has("machine") {
        "a concbench ctxswitch report"
    } else if has("rows") && (has("a") || has("b")) {
        "the output of compare --format json"
    } else if has("traceEvents") {
        "a Chrome trace, trace.json"
    } else {
        "another program's JSON"
    }
}
