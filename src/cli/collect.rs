//! `concbench collect FILE|DIR...`: many machines' results in one table per workload.
//!
//! Every argument is expanded into files first (directories walked for results.json and
//! lab.json) and every file is read and checked before anything is printed or written: one bad
//! file is exit status 2 with one line naming it, and no output.

use std::path::{Path, PathBuf};

use clap::ValueEnum;

use super::{prepare_out, print_stdout, write_out, CliError};
use concbench::collect::{self, render, Collection};
use concbench::report::load::{expand_inputs, show_path, LoadError};

/// Output formats of `collect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CollectFormat {
    /// Aligned tables for the terminal.
    Table,
    /// Markdown: report.md without its pictures.
    Markdown,
    /// results.csv: every run row in one table with a workload column (lab.csv when only lab
    /// files were read).
    Csv,
    /// results.json: the whole collection.
    Json,
}

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
    #[arg(long, short, value_enum, default_value_t = CollectFormat::Table)]
    pub format: CollectFormat,
    /// No note on stderr of the files written.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run `concbench collect`.
pub fn cmd_collect(args: CollectArgs) -> Result<(), CliError> {
    prepare_out(args.out.as_deref())?;
    let usage = |e: LoadError| CliError::Usage(e.to_string());
    let mut files = expand_inputs(&args.inputs).map_err(usage)?;
    if let Some(out) = &args.out {
        // An earlier collect's results.json in DIR is its output, not an input.
        files.retain(|f| !inside(f, out));
        if files.is_empty() {
            return Err(CliError::Usage(format!(
                "nothing to collect: every file found is inside --out {}",
                show_path(out)
            )));
        }
    }
    let c = collect::collect_files(&files).map_err(usage)?;
    // The files first: a reader that closes stdout early (`| head`) must not cost them.
    if let Some(dir) = &args.out {
        write_out(dir, render::files(&c), args.quiet)?;
    }
    print_stdout(&match args.format {
        CollectFormat::Table => render::terminal(&c),
        CollectFormat::Markdown => render::markdown(&c, false),
        CollectFormat::Csv => csv(&c),
        CollectFormat::Json => render::json(&c),
    })
}

/// The CSV on stdout: the runs' table, or the labs' when only lab files were read.
fn csv(c: &Collection) -> String {
    if c.runs.is_empty() && !c.labs.is_empty() {
        render::lab_csv(c)
    } else {
        render::csv(c)
    }
}

/// Whether `file` lies inside directory `dir` (both resolved; a directory that does not exist
/// yet holds nothing).
fn inside(file: &Path, dir: &Path) -> bool {
    match (std::fs::canonicalize(file), std::fs::canonicalize(dir)) {
        (Ok(f), Ok(d)) => f.starts_with(d),
        _ => false,
    }
}
