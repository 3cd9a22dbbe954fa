//! A result set made again from its JSON: `concbench render DIR`, for the sets of `run`, `lab`,
//! `ctxswitch` and `limits`.
//!
//! Every figure a run's or a lab's files show is a field of its `results.json` or `lab.json`, so
//! the JSON alone makes the set again: the Markdown, the CSV, the LaTeX, the plots and the page,
//! as this concbench draws them. An older run gets the files a newer renderer writes
//! (`report.html`, new plots) without being measured again, and a test renders a fresh set from
//! its JSON and finds every file the same, byte for byte: the proof that no number comes from
//! anywhere else. A lab's pictures of its experiments are not in `lab.json`; the ones found
//! beside it (`ID.svg`) are carried over.

use std::path::{Path, PathBuf};

use crate::cluster::MessagePoint;
use crate::collect::{read_results, ResultsDoc};
use crate::lab::LabReport;
use crate::machine::MessageCeiling;
use crate::report::document::{set_files, Document};
use crate::report::load::LoadError;
use crate::report::{Format, Render};

/// The largest claim picture carried over from beside a `lab.json`.
const MAX_PICTURE_BYTES: u64 = 4 << 20;

/// The JSON file a render starts from: `path` itself, or the first of `results.json`,
/// `lab.json`, `ctxswitch.json` and `limits.json` inside the directory `path`.
pub fn source_file(path: &Path) -> Option<PathBuf> {
    if !path.is_dir() {
        return Some(path.to_path_buf());
    }
    ["results.json", "lab.json", "ctxswitch.json", "limits.json"]
        .iter()
        .map(|name| path.join(name))
        .find(|p| p.is_file())
}

/// A result read back from its JSON alone: a run's, a lab's (with the claim pictures found
/// beside `lab.json`), or a `ctxswitch` or `limits` measurement (whose JSON is written back as it
/// was read). It renders and writes its set through [`Render`] as that subcommand would now.
pub struct Reread(Source);

/// What a [`Reread`] holds.
enum Source {
    Run(Box<crate::report::RunReport>),
    Lab(Box<LabReport>),
    Measurement {
        document: Document,
        stem: &'static str,
        json: String,
    },
}

/// Read `source` (a run's `results.json`, a lab's `lab.json`, or the JSON of `ctxswitch` or
/// `limits`) as untrusted input.
pub fn read(source: &Path) -> Result<Reread, LoadError> {
    Ok(Reread(match read_results(source) {
        Ok(ResultsDoc::Run(report)) => Source::Run(Box::new(report)),
        Ok(ResultsDoc::Lab(mut report)) => {
            attach_pictures(&mut report, source.parent().unwrap_or(Path::new(".")));
            Source::Lab(Box::new(report))
        }
        Err(LoadError::OtherConcbench { file, what }) => measurement(source, file, what)?,
        Err(e) => return Err(e),
    }))
}

impl Render for Reread {
    fn render(&self, format: Format) -> String {
        match &self.0 {
            Source::Run(report) => report.render(format),
            Source::Lab(report) => report.render(format),
            Source::Measurement { document, json, .. } => {
                crate::report::document::render(document, json, format)
            }
        }
    }

    /// The files of the set, by name, as that subcommand's `--out` would write them now.
    fn files(&self) -> Vec<(String, String)> {
        match &self.0 {
            Source::Run(report) => report.files(),
            Source::Lab(report) => report.files(),
            Source::Measurement {
                document,
                stem,
                json,
            } => set_files(document, stem, json.clone()),
        }
    }
}

/// A `ctxswitch` or `limits` report laid out; any other concbench document stays refused.
fn measurement(source: &Path, file: String, what: &'static str) -> Result<Source, LoadError> {
    let name = if what.contains("ctxswitch") {
        "ctxswitch.json"
    } else {
        "limits.json"
    };
    let not_this = |source: serde_json::Error| LoadError::Shape {
        file: file.clone(),
        what: name,
        detail: source.to_string(),
    };
    // The JSON is written back as it was read: the figures are its own.
    let (json, value) = crate::report::load::read_json(source)?;
    if what.contains("ctxswitch") {
        let report: crate::experiment::ctxswitch::CtxSwitchReport =
            serde_json::from_value(value).map_err(not_this)?;
        if report.plan().is_none() {
            return Err(LoadError::Shape {
                file: file.clone(),
                what: name,
                detail: "no row was measured, so the plan it ran with is unknown".into(),
            });
        }
        return Ok(Source::Measurement {
            document: crate::experiment::ctxswitch::document(&report),
            stem: "ctxswitch",
            json,
        });
    }
    if what.contains("limits") {
        let limits: LimitsJson = serde_json::from_value(value).map_err(not_this)?;
        let messages: Vec<(MessageCeiling, Vec<MessagePoint>)> = limits
            .messages
            .into_iter()
            .map(|m| (m.ceiling, m.by_size))
            .collect();
        let result = crate::experiment::limits::LimitsResult {
            machine: &limits.machine,
            ceilings: limits.ceilings.as_ref(),
            messages: &messages,
            notes: limits.note.into_iter().collect(),
        };
        return Ok(Source::Measurement {
            document: crate::experiment::limits::document(&result),
            stem: "limits",
            json,
        });
    }
    Err(LoadError::OtherConcbench { file, what })
}

/// `limits.json` as `concbench limits` writes it: the machine, the ceilings (absent when rank 0
/// of an MPI job was bound), the message ceilings per peer (inside an MPI job) and a note.
#[derive(serde::Deserialize)]
struct LimitsJson {
    machine: crate::machine::Machine,
    #[serde(default)]
    ceilings: Option<crate::experiment::ceilings::Ceilings>,
    #[serde(default)]
    messages: Vec<MessagesJson>,
    #[serde(default)]
    note: Option<String>,
}

/// One peer's message ceiling with its points by size, as `limits.json` holds it.
#[derive(serde::Deserialize)]
struct MessagesJson {
    #[serde(flatten)]
    ceiling: MessageCeiling,
    by_size: Vec<MessagePoint>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn committed(rel: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
    }

    #[test]
    fn a_measurement_read_back_prints_its_json_as_written_and_its_tables_as_drawn() {
        for (dir, stem) in [
            ("results/ctxswitch", "ctxswitch"),
            ("results/limits", "limits"),
        ] {
            let json = committed(&format!("{dir}/{stem}.json"));
            let again = read(&json).unwrap();
            let written = std::fs::read_to_string(&json).unwrap();
            assert_eq!(again.render(Format::Json), written, "{dir}");
            let files = again.files();
            let md = &files
                .iter()
                .find(|(n, _)| *n == format!("{stem}.md"))
                .unwrap()
                .1;
            assert_eq!(again.render(Format::Markdown), *md, "{dir}");
            assert!(files.iter().any(|(n, _)| n == "report.html"), "{dir}");
        }
    }

    #[test]
    fn a_run_and_a_lab_read_back_render_as_their_own_reports() {
        let run = read(&committed("results/io/results.json")).unwrap();
        assert!(run.render(Format::Terminal).contains("io"));
        assert!(run.files().iter().any(|(n, _)| n == "results.json"));
        let lab = read(&committed("results/lab/quick/lab.json")).unwrap();
        assert!(lab.files().iter().any(|(n, _)| n == "lab.md"));
        assert!(lab.render(Format::Csv).starts_with("claim,"));
    }
}
