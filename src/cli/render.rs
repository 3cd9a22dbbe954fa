//! `concbench render SOURCE [--out DIR]`: a run's or a lab's result set made again from its JSON
//! alone (see [`concbench::rerender`]), as this concbench draws it.

use std::path::PathBuf;

use super::{prepare_out, CliError};
use concbench::rerender::{read, source_file};

/// Options of `concbench render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// A results.json (from `run`), lab.json (`lab`), ctxswitch.json or limits.json, or the --out
    /// directory holding one.
    pub source: PathBuf,
    /// Where to write the set (default: the directory of SOURCE, whose set it replaces; the
    /// JSON is written back unchanged but for the schema version).
    #[arg(long, short, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// No line naming the files written.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run `concbench render`: read SOURCE as untrusted input (exit status 2 when it is not a run's
/// or a lab's results), then write its whole set.
pub fn cmd_render(args: RenderArgs) -> Result<(), CliError> {
    let source = source_file(&args.source).ok_or_else(|| {
        CliError::Usage(format!(
            "{} is a directory without a results.json, lab.json, ctxswitch.json or limits.json: render reads what `concbench run`, `lab`, `ctxswitch` or `limits` wrote with --out",
            args.source.display()
        ))
    })?;
    let dir = match &args.out {
        Some(dir) => dir.clone(),
        None => source
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), |p| p.to_path_buf()),
    };
    prepare_out(Some(&dir))?;
    let result = read(&source).map_err(|e| CliError::Usage(e.to_string()))?;
    super::write_result(&result, &dir, args.quiet)
}
