//! `concbench collect`: many machines' result files, read as untrusted input, in one table per
//! workload.
//!
//! An instructor gathers the `results.json` (and `lab.json`) files of a class; [`collect`] is
//! the whole command as one call: it turns the arguments into files
//! (`expand_inputs`: directories walked, loops and
//! duplicates refused, files inside the output directory left out), reads each through the
//! hardened loader of `crate::report::load` (`read_results`: type checked before it is
//! opened, bounded, schema version, every figure plausible) and gathers them into a
//! [`Collection`]: one `RunGroup` per (workload with its size and parameters, concbench
//! version), so runs of different problems or versions are never mixed in one table, with a
//! `CollectRow` per machine × strategy × workers; and every lab claim of every lab file in one
//! list of `LabRow`s. Machines are told apart by what their files say of them (CPU model,
//! cores, memory, OS, kernel, virtual or not) and numbered `M1`, `M2`... in the order of the
//! files. A `Collection` renders through [`Render`] in every [`Format`]; `render` draws the
//! tables, the speedup chart per group and the files of `--out`.
//!
//! Why this is not `report::load` and `report::collect`: a lab's results are a
//! [`LabReport`], defined in [`crate::lab`] (layer 8), above `report` (layer 7), which may not
//! import it. So the parts that know nothing of labs (reading, checking, walking, run
//! validation) are `report::load`, which `compare` uses too, and this module, in layer 8
//! above `lab`, adds the lab and the collection.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::lab::{Kind as ClaimKind, LabReport};
use crate::machine::Machine;
use crate::report::load::{self, DocKind, Document, LoadError};
use crate::report::{workload_label, Format, Render, RunReport};
use crate::strategy::Strategy;

pub(crate) mod render;

/// A result file read and checked: a run's or a lab's.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum ResultsDoc {
    /// A run's `results.json`.
    Run(RunReport),
    /// A lab's `lab.json`.
    Lab(LabReport),
}

impl ResultsDoc {
    /// The machine block of the document.
    pub(crate) fn machine(&self) -> &Machine {
        match self {
            ResultsDoc::Run(r) => &r.machine,
            ResultsDoc::Lab(l) => &l.machine,
        }
    }
}

/// Read `path` as a run's or a lab's results, as untrusted input: any other file is a
/// [`LoadError`], one line naming it and saying what it is instead (see
/// [`crate::report::load`]). Never panics, blocks or reads more than
/// [`load::MAX_RESULT_BYTES`].
pub(crate) fn read_results(path: &Path) -> Result<ResultsDoc, LoadError> {
    parse_results(&load::read_document(path)?)
}

/// Parse a recognised document into its type and check its figures.
fn parse_results(doc: &Document) -> Result<ResultsDoc, LoadError> {
    match doc.kind {
        DocKind::Run => load::parse_run(doc).map(ResultsDoc::Run),
        DocKind::Lab => parse_lab(doc).map(ResultsDoc::Lab),
    }
}

/// Parse a document recognised as a lab's into a [`LabReport`] and check its figures
/// ([`validate_lab`]).
pub(crate) fn parse_lab(doc: &Document) -> Result<LabReport, LoadError> {
    if doc.kind != DocKind::Lab {
        return Err(LoadError::Run {
            file: doc.file.clone(),
        });
    }
    let report: LabReport = serde_json::from_str(doc.text()).map_err(|e| LoadError::Shape {
        file: doc.file.clone(),
        what: "lab.json",
        detail: load::one_line(&e.to_string()),
    })?;
    validate_lab(&doc.file, &report)?;
    Ok(report)
}

/// Check every claim's figures, and those of its statement test: the measured figure and its
/// spread finite, the spread ordered, the coverage a probability, the prediction's thresholds
/// finite. The error names the claim and the field.
pub(crate) fn validate_lab(file: &str, report: &LabReport) -> Result<(), LoadError> {
    for (i, c) in report.claims.iter().enumerate() {
        let fail = |field: &'static str, value: String, rule: &'static str| LoadError::Figure {
            file: file.to_string(),
            place: format!("claim {} ({})", i + 1, clean(&c.id)),
            field,
            value,
            rule,
        };
        check_figures(c.measured, c.spread, c.coverage, &c.expect)
            .map_err(|(field, value, rule)| fail(field, value, rule))?;
        if let Some(t) = &c.statement_test {
            check_figures(Some(t.measured), Some(t.spread), t.coverage, &t.expect).map_err(
                |(field, value, rule)| {
                    fail(
                        match field {
                            "measured" => "statement_test.measured",
                            "spread" => "statement_test.spread",
                            "coverage" => "statement_test.coverage",
                            _ => "statement_test.expect",
                        },
                        value,
                        rule,
                    )
                },
            )?;
        }
    }
    Ok(())
}

/// One figure's checks for [`validate_lab`]: the failing field, its value and the rule.
fn check_figures(
    measured: Option<f64>,
    spread: Option<[f64; 2]>,
    coverage: Option<f64>,
    expect: &crate::lab::Expect,
) -> Result<(), (&'static str, String, &'static str)> {
    let finite = "it must be a finite number";
    if let Some(m) = measured.filter(|m| !m.is_finite()) {
        return Err(("measured", m.to_string(), finite));
    }
    if let Some([lo, hi]) = spread {
        if !(lo.is_finite() && hi.is_finite()) {
            return Err(("spread", format!("[{lo}, {hi}]"), finite));
        }
        if lo > hi {
            return Err((
                "spread",
                format!("[{lo}, {hi}]"),
                "an interval's low end must not be above its high end",
            ));
        }
    }
    if let Some(p) = coverage.filter(|p| !(0.0..=1.0).contains(p)) {
        return Err((
            "coverage",
            p.to_string(),
            "a coverage is a probability, between 0 and 1",
        ));
    }
    let thresholds = match *expect {
        crate::lab::Expect::AtLeast(v) | crate::lab::Expect::AtMost(v) => vec![v],
        crate::lab::Expect::Between([a, b]) => vec![a, b],
    };
    if let Some(v) = thresholds.into_iter().find(|v| !v.is_finite()) {
        return Err(("expect", v.to_string(), finite));
    }
    Ok(())
}

/// Text from a file for one line of a table: control characters escaped, at most 160
/// characters (the rest as `...`).
pub(crate) fn clean(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(160)
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    if s.chars().count() > 160 {
        out.push_str("...");
    }
    out
}

/// One input file of a collection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct InputFile {
    /// The path, as given or found (lossy where not UTF-8).
    pub(crate) file: String,
    /// `run` or `lab`.
    pub(crate) kind: String,
    /// The machine's id (`M1`).
    pub(crate) machine: String,
    /// What it holds: the workload with its parameters, or `lab (quick)`.
    pub(crate) what: String,
    /// concbench version and commit that wrote it.
    pub(crate) concbench: String,
    /// When it was measured.
    pub(crate) date: String,
    /// Its schema version; absent in files written before the key was.
    pub(crate) schema_version: Option<u64>,
}

/// One machine of a collection, as its files describe it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct MachineEntry {
    /// `M1`, `M2`... in the order of the files.
    pub(crate) id: String,
    /// CPU model, cores, OS, virtual or not: `AMD EPYC 9R14 96-Core Processor, 2 cores, Debian
    /// GNU/Linux 12 (bookworm), VM`.
    pub(crate) name: String,
    /// The machine block's summary line (CPU details, mask, memory, kernel).
    pub(crate) summary: String,
    /// CPU model.
    pub(crate) cpu_model: String,
    /// Physical cores allowed.
    pub(crate) physical_cores: usize,
    /// Logical CPUs allowed.
    pub(crate) logical_cpus_allowed: usize,
    /// OS name.
    pub(crate) os: String,
    /// Kernel release.
    pub(crate) kernel: String,
    /// A virtual machine.
    pub(crate) virtualized: bool,
    /// Memory, bytes.
    pub(crate) memory_bytes: u64,
}

impl MachineEntry {
    fn new(id: String, m: &Machine) -> MachineEntry {
        MachineEntry {
            name: machine_name(m),
            summary: clean(&m.summary()),
            cpu_model: clean(&m.cpu_model),
            physical_cores: m.physical_cores,
            logical_cpus_allowed: m.logical_cpus_allowed,
            os: clean(&m.os),
            kernel: clean(&m.kernel),
            virtualized: m.virtualized,
            memory_bytes: m.memory_bytes,
            id,
        }
    }

    /// Whether `m` describes this machine.
    fn is(&self, m: &Machine) -> bool {
        self.cpu_model == clean(&m.cpu_model)
            && self.physical_cores == m.physical_cores
            && self.logical_cpus_allowed == m.logical_cpus_allowed
            && self.os == clean(&m.os)
            && self.kernel == clean(&m.kernel)
            && self.virtualized == m.virtualized
            && self.memory_bytes == m.memory_bytes
    }
}

/// A machine in a few words: CPU model, physical cores, OS, `VM` when virtual.
pub(crate) fn machine_name(m: &Machine) -> String {
    let cpu = m.cpu_model.replace("(R)", "").replace("(TM)", "");
    let cpu = cpu.split_whitespace().collect::<Vec<_>>().join(" ");
    format!(
        "{}, {} core{}, {}{}",
        clean(&cpu),
        m.physical_cores,
        if m.physical_cores == 1 { "" } else { "s" },
        clean(&m.os),
        if m.virtualized { ", VM" } else { "" }
    )
}

/// One row of a [`RunGroup`]: one machine's (one file's) strategy at one worker count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct CollectRow {
    /// The machine's id.
    pub(crate) machine: String,
    /// The file it comes from (an index into [`Collection::files`]).
    pub(crate) file: usize,
    /// Strategy.
    pub(crate) strategy: Strategy,
    /// Workers N.
    pub(crate) workers: usize,
    /// Median time, seconds.
    pub(crate) median_s: f64,
    /// The median's interval.
    pub(crate) median_ci_s: Option<[f64; 2]>,
    /// Speedup against the file's own baseline.
    pub(crate) speedup: f64,
    /// The speedup's interval.
    pub(crate) speedup_ci: Option<[f64; 2]>,
    /// What the speedup divides.
    pub(crate) speedup_baseline: String,
    /// Speedup / workers (absent when the baseline is not one worker).
    pub(crate) efficiency: Option<f64>,
    /// More workers than the cores they may use.
    pub(crate) oversubscribed: bool,
    /// Every repetition's answer was checked and right.
    pub(crate) verified: bool,
}

/// The runs of one workload with the same size and parameters, written by the same concbench
/// version: one table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct RunGroup {
    /// Workload name.
    pub(crate) workload: String,
    /// Workload with its parameters: `mergesort (size=4000000, seed=42)`.
    pub(crate) label: String,
    /// concbench version of every file in the group.
    pub(crate) concbench_version: String,
    /// The group's files (indices into [`Collection::files`]), in order.
    pub(crate) files: Vec<usize>,
    /// Rows by machine (in file order), then file, then each file's own row order.
    pub(crate) rows: Vec<CollectRow>,
    /// The file name of its speedup chart in `--out DIR` (`speedup-mergesort.svg`).
    pub(crate) figure: String,
}

/// One claim of one lab file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct LabRow {
    /// The machine's id.
    pub(crate) machine: String,
    /// The file (an index into [`Collection::files`]).
    pub(crate) file: usize,
    /// Claim id.
    pub(crate) claim: String,
    /// A claim or a check.
    pub(crate) kind: ClaimKind,
    /// The figure (absent when not testable).
    pub(crate) measured: Option<f64>,
    /// Its unit.
    pub(crate) unit: String,
    /// Its interval.
    pub(crate) spread: Option<[f64; 2]>,
    /// The measured cell: figure, interval and coverage.
    pub(crate) measured_text: String,
    /// The prediction as an inequality with its unit: `>= 1.8 x`.
    pub(crate) predicted: String,
    /// The verdict (`supported`, `check holds`...).
    pub(crate) verdict: String,
    /// The lab ran in quick mode.
    pub(crate) quick: bool,
}

/// Many result files gathered: the files, the machines, a group per workload and version, the
/// lab claims.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Collection {
    /// Every file, in the order read.
    pub(crate) files: Vec<InputFile>,
    /// Every machine, in the order of the files that first name it.
    pub(crate) machines: Vec<MachineEntry>,
    /// The run groups, in the order of the files that first hold them.
    pub(crate) runs: Vec<RunGroup>,
    /// Every claim of every lab file, by machine, then file, then the course's order.
    pub(crate) labs: Vec<LabRow>,
}

/// A name for a file written under `--out`: letters, digits, `-` and `_` of `s`, at most 40.
fn file_slug(s: &str) -> String {
    let slug: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    if slug.is_empty() {
        "workload".into()
    } else {
        slug
    }
}

/// Where a row goes: (machine, file, row in the file).
type RowKey = (usize, usize, usize);

/// Builds a [`Collection`] one document at a time, so that a class's files need not all be
/// in memory at once: only the rows the tables show are kept.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    files: Vec<InputFile>,
    machines: Vec<MachineEntry>,
    runs: Vec<RunGroup>,
    /// Per group, its rows with their sort key (machine, file, row).
    run_rows: Vec<Vec<(RowKey, CollectRow)>>,
    labs: Vec<(RowKey, LabRow)>,
}

impl Collector {
    /// An empty collector.
    pub(crate) fn new() -> Collector {
        Collector::default()
    }

    /// Add one document, read from `file` (as [`show_path`](crate::report::load::show_path) shows
    /// it), with its schema version.
    pub(crate) fn add(&mut self, file: &str, doc: &ResultsDoc, schema_version: Option<u64>) {
        let index = self.files.len();
        let m = doc.machine();
        let machine = match self.machines.iter().position(|e| e.is(m)) {
            Some(k) => k,
            None => {
                let id = format!("M{}", self.machines.len() + 1);
                self.machines.push(MachineEntry::new(id, m));
                self.machines.len() - 1
            }
        };
        let id = self.machines[machine].id.clone();
        let concbench = match &m.git_commit {
            Some(c) => format!("{} ({})", clean(&m.concbench_version), clean(c)),
            None => clean(&m.concbench_version),
        };
        let (kind, what) = match doc {
            ResultsDoc::Run(r) => ("run", clean(&workload_label(&r.workload))),
            ResultsDoc::Lab(l) => (
                "lab",
                format!("lab ({})", if l.quick { "quick" } else { "full" }),
            ),
        };
        self.files.push(InputFile {
            file: file.to_string(),
            kind: kind.into(),
            machine: id.clone(),
            what,
            concbench,
            date: clean(&m.date),
            schema_version,
        });
        match doc {
            ResultsDoc::Run(r) => self.add_run(r, machine, index, &id),
            ResultsDoc::Lab(l) => {
                for (k, c) in l.claims.iter().enumerate() {
                    self.labs.push((
                        (machine, index, k),
                        LabRow {
                            machine: id.clone(),
                            file: index,
                            claim: clean(&c.id),
                            kind: c.kind,
                            measured: c.measured,
                            unit: clean(&c.unit),
                            spread: c.spread,
                            measured_text: clean(&crate::lab::render::measured_cell(c)),
                            predicted: clean(&format!("{} {}", c.expect.describe(), c.unit)),
                            verdict: clean(&c.verdict_word()),
                            quick: l.quick,
                        },
                    ));
                }
            }
        }
    }

    /// The rows of a run, into the group of its workload label and concbench version.
    fn add_run(&mut self, r: &RunReport, machine: usize, index: usize, id: &str) {
        let label = clean(&workload_label(&r.workload));
        let version = clean(&r.machine.concbench_version);
        let found = self
            .runs
            .iter()
            .position(|g| g.label == label && g.concbench_version == version);
        let g = match found {
            Some(g) => g,
            None => {
                let workload = clean(&r.workload.name);
                let slug = file_slug(&r.workload.name);
                let same = self.runs.iter().filter(|g| g.workload == workload).count();
                self.runs.push(RunGroup {
                    workload,
                    label,
                    concbench_version: version,
                    files: Vec::new(),
                    rows: Vec::new(),
                    figure: if same == 0 {
                        format!("speedup-{slug}.svg")
                    } else {
                        format!("speedup-{slug}-{}.svg", same + 1)
                    },
                });
                self.run_rows.push(Vec::new());
                self.runs.len() - 1
            }
        };
        self.runs[g].files.push(index);
        for (k, row) in r.rows.iter().enumerate() {
            self.run_rows[g].push((
                (machine, index, k),
                CollectRow {
                    machine: id.to_string(),
                    file: index,
                    strategy: row.strategy,
                    workers: row.cores,
                    median_s: row.median_s,
                    median_ci_s: row.median_ci_s,
                    speedup: row.speedup,
                    speedup_ci: row.speedup_ci,
                    speedup_baseline: clean(&row.speedup_baseline),
                    efficiency: row.efficiency,
                    oversubscribed: row.oversubscribed,
                    verified: row.verified,
                },
            ));
        }
    }

    /// The collection: rows ordered by machine (in file order), then file, then each file's
    /// own order.
    pub(crate) fn finish(mut self) -> Collection {
        for (g, mut rows) in self.runs.iter_mut().zip(self.run_rows) {
            rows.sort_by_key(|(key, _)| *key);
            g.rows = rows.into_iter().map(|(_, r)| r).collect();
        }
        self.labs.sort_by_key(|(key, _)| *key);
        Collection {
            files: self.files,
            machines: self.machines,
            runs: self.runs,
            labs: self.labs.into_iter().map(|(_, r)| r).collect(),
        }
    }
}

impl Collection {
    /// The machine entry of `id`.
    pub(crate) fn machine(&self, id: &str) -> Option<&MachineEntry> {
        self.machines.iter().find(|m| m.id == id)
    }

    /// How many machines the run files and lab files come from.
    pub(crate) fn machine_count(&self) -> usize {
        self.machines.len()
    }
}

/// `concbench collect` as one call: `inputs` (result files, and directories to search for them)
/// expanded into files, those inside `out` left out (the directory the collection is to be
/// written to: an earlier collection's `results.json` there is its output, not an input), every
/// file read and checked as untrusted input, and the documents gathered in order.
///
/// Nothing is gathered unless every file reads: the first argument that cannot be expanded or
/// the first file that is not a concbench result is the error, one line naming it (see
/// [`LoadError`]), as is a set of inputs that all lie inside `out`
/// ([`LoadError::AllInsideOut`]). Render the result with [`Render`]; [`Render::write`] writes
/// the `--out` set. `out` is not checked or written here (see
/// [`crate::output::prepare_out_dir`]).
pub fn collect(inputs: &[PathBuf], out: Option<&Path>) -> Result<Collection, LoadError> {
    let mut files = load::expand_inputs(inputs)?;
    if let Some(out) = out {
        files.retain(|f| !inside(f, out));
        if files.is_empty() {
            return Err(LoadError::AllInsideOut {
                dir: load::show_path(out),
            });
        }
    }
    collect_files(&files)
}

/// Whether `file` lies inside directory `dir` (both resolved; a directory that does not exist
/// yet holds nothing).
fn inside(file: &Path, dir: &Path) -> bool {
    match (std::fs::canonicalize(file), std::fs::canonicalize(dir)) {
        (Ok(f), Ok(d)) => f.starts_with(d),
        _ => false,
    }
}

/// Read every file of `paths` (as [`read_results`] does) and gather them; the first bad file
/// is the error, and nothing is gathered. Each file is named as
/// [`show_path`](crate::report::load::show_path) shows it.
pub(crate) fn collect_files(paths: &[PathBuf]) -> Result<Collection, LoadError> {
    let mut c = Collector::new();
    for p in paths {
        let doc = load::read_document(p)?;
        let results = parse_results(&doc)?;
        c.add(&doc.file, &results, doc.schema_version);
    }
    Ok(c.finish())
}

impl Render for Collection {
    /// Terminal: the machines, the files, a table per group and the lab table; Markdown:
    /// `report.md` without its charts; CSV: `results.csv`, or `lab.csv` when only lab files
    /// were read; JSON: `results.json`; LaTeX: every table as a booktabs float.
    fn render(&self, format: Format) -> String {
        match format {
            Format::Terminal => render::terminal(self),
            Format::Json => render::json(self),
            Format::Markdown => render::markdown(self, false),
            Format::Csv if self.runs.is_empty() && !self.labs.is_empty() => render::lab_csv(self),
            Format::Csv => render::csv(self),
            Format::Latex => render::latex(self),
        }
    }

    /// `report.md` (tables and charts), `results.csv`, `results.json`, `lab.csv` (with lab
    /// files), a speedup chart per group with anything to draw, and `report.html`.
    fn files(&self) -> Vec<(String, String)> {
        render::files(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::{Expect, StatementTest, Verdict};

    /// A committed result file, by its path under the repository root.
    fn committed(rel: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
    }

    #[test]
    fn collect_reads_files_and_directories_and_renders_every_format() {
        let run = committed("results/mergesort/results.json");
        let lab = committed("results/lab/quick");
        let c = collect(&[run, lab], None).unwrap();
        assert_eq!(c.files.len(), 2);
        assert_eq!(c.runs.len(), 1);
        assert!(!c.labs.is_empty());
        assert_eq!(c.render(Format::Terminal), render::terminal(&c));
        assert_eq!(c.render(Format::Markdown), render::markdown(&c, false));
        assert_eq!(c.render(Format::Json), render::json(&c));
        assert_eq!(c.render(Format::Csv), render::csv(&c));
        assert_eq!(c.files(), render::files(&c));
        // LaTeX: a float per table, the run group's captioned with its heading.
        let tex = c.render(Format::Latex);
        assert_eq!(tex.matches("\\begin{table}").count(), 2, "{tex}");
        assert!(tex.contains("\\label{tab:runs-mergesort}"), "{tex}");
        assert!(tex.contains("\\label{tab:lab-claims}"), "{tex}");
        assert!(
            tex.contains(&crate::report::latex::escape(&render::heading(&c.runs[0]))),
            "{tex}"
        );
        assert!(tex.contains("machine & strategy & workers"), "{tex}");
        // Only lab files: the CSV on stdout is lab.csv.
        let labs = collect(&[committed("results/lab/quick/lab.json")], None).unwrap();
        assert_eq!(labs.render(Format::Csv), render::lab_csv(&labs));
        assert!(labs
            .render(Format::Csv)
            .starts_with("machine,machine_name,file,quick,"));
    }

    #[test]
    fn collect_leaves_out_the_out_dir_and_refuses_when_nothing_else_is_left() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("class");
        std::fs::create_dir(&out).unwrap();
        let run = std::fs::read(committed("results/mergesort/results.json")).unwrap();
        std::fs::write(out.join("results.json"), &run).unwrap();
        let e = collect(&[tmp.path().to_path_buf()], Some(&out)).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "nothing to collect: every file found is inside --out {}",
                out.display()
            )
        );
        // A file beside DIR is read; the one inside it is not.
        let student = tmp.path().join("student");
        std::fs::create_dir(&student).unwrap();
        std::fs::write(student.join("results.json"), &run).unwrap();
        let c = collect(&[tmp.path().to_path_buf()], Some(&out)).unwrap();
        assert_eq!(c.files.len(), 1);
        assert!(c.files[0].file.contains("student"), "{:?}", c.files);
        // Without an output directory, both are read.
        assert_eq!(
            collect(&[tmp.path().to_path_buf()], None)
                .unwrap()
                .files
                .len(),
            2
        );
        // A file that is not a result is refused in one line naming it.
        let bad = tmp.path().join("bad.json");
        std::fs::write(&bad, "{").unwrap();
        let e = collect(std::slice::from_ref(&bad), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&bad.display().to_string()) && !e.contains('\n'),
            "{e}"
        );
    }

    #[test]
    fn a_statement_test_is_checked_like_the_claims_figure() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/results/lab/quick/lab.json");
        let mut report: LabReport =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert!(validate_lab("lab.json", &report).is_ok());
        let good = StatementTest {
            figure: "speedup".into(),
            measured: 1.5,
            spread: [1.4, 1.6],
            coverage: Some(0.98),
            expect: Expect::AtLeast(1.1),
            verdict: Verdict::Supported,
        };
        report.claims[0].statement_test = Some(good.clone());
        assert!(validate_lab("lab.json", &report).is_ok());
        for (bad, field) in [
            (
                StatementTest {
                    spread: [1.6, 1.4],
                    ..good.clone()
                },
                "statement_test.spread",
            ),
            (
                StatementTest {
                    measured: f64::NAN,
                    ..good.clone()
                },
                "statement_test.measured",
            ),
            (
                StatementTest {
                    coverage: Some(1.5),
                    ..good.clone()
                },
                "statement_test.coverage",
            ),
            (
                StatementTest {
                    expect: Expect::AtMost(f64::INFINITY),
                    ..good.clone()
                },
                "statement_test.expect",
            ),
        ] {
            report.claims[0].statement_test = Some(bad);
            let e = validate_lab("lab.json", &report).unwrap_err().to_string();
            assert!(e.contains(field), "{e}");
        }
    }
}
