//! A result set made again from its JSON: `concbench render DIR`.
//!
//! Every figure a run's or a lab's files show is a field of its `results.json` or `lab.json`, so
//! the JSON alone makes the set again: the Markdown, the CSV, the LaTeX, the plots and the page,
//! as this concbench draws them. An older run gets the files a newer renderer writes
//! (`report.html`, new plots) without being measured again, and a test renders a fresh set from
//! its JSON and finds every file the same, byte for byte: the proof that no number comes from
//! anywhere else. A lab's pictures of its experiments are not in `lab.json`; the ones found
//! beside it (`ID.svg`) are carried over.

use std::path::{Path, PathBuf};

use crate::collect::{read_results, LoadError, ResultsDoc};
use crate::lab::LabReport;

/// The largest claim picture carried over from beside a `lab.json`.
const MAX_PICTURE_BYTES: u64 = 4 << 20;

/// The JSON file a render starts from: `path` itself, or the `results.json` (else `lab.json`)
/// inside the directory `path`.
pub fn source_file(path: &Path) -> Option<PathBuf> {
    if !path.is_dir() {
        return Some(path.to_path_buf());
    }
    ["results.json", "lab.json"]
        .iter()
        .map(|name| path.join(name))
        .find(|p| p.is_file())
}

/// The files of the set `source` (a `results.json` or `lab.json`, read as untrusted input)
/// holds, by name, as `concbench run --out` or `lab --out` would write them now.
pub fn set_files(source: &Path) -> Result<Vec<(String, String)>, LoadError> {
    Ok(match read_results(source)? {
        ResultsDoc::Run(report) => crate::report::out_files(&report),
        ResultsDoc::Lab(mut report) => {
            attach_pictures(&mut report, source.parent().unwrap_or(Path::new(".")));
            crate::lab::render::files(&report)
        }
    })
}

/// Give each claim without a picture the `ID.svg` found in `dir`, if it is a regular file of at
/// most [`MAX_PICTURE_BYTES`] holding an SVG document.
fn attach_pictures(report: &mut LabReport, dir: &Path) {
    for claim in report.claims.iter_mut().filter(|c| c.picture.is_none()) {
        let file = dir.join(format!("{}.svg", claim.id));
        let ok = std::fs::symlink_metadata(&file)
            .is_ok_and(|m| m.is_file() && m.len() <= MAX_PICTURE_BYTES);
        if let Some(svg) = ok
            .then(|| std::fs::read_to_string(&file).ok())
            .flatten()
            .filter(|s| s.trim_start().starts_with("<svg") || s.trim_start().starts_with("<?xml"))
        {
            claim.picture = Some(svg);
        }
    }
}
