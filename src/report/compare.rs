//! Comparing two result documents (`concbench compare A.json B.json`): before/after a change, or
//! one machine against another, the way criterion baselines and hyperfine exports are used.
//!
//! [`compare`] is the whole command as one call: each path (a `results.json`, or the directory
//! `concbench run --out DIR` wrote) is read as untrusted input through [`super::load`], and the
//! two runs' rows are matched by (workload, strategy, workers). Each matched row shows both
//! medians and their ratio B/A (below 1: B is faster), both speedups and their ratio B/A (above
//! 1: B scales better), and whether the two medians' order-statistic intervals overlap (if they
//! do, the difference is within the noise of the runs). Both machines are named, because a ratio
//! across machines is only meaningful with them. The [`Comparison`] renders through [`Render`]
//! in every [`Format`] (its one table drawn as a [`Document`] for CSV and LaTeX).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::document::{Block, Document};
use super::load::{show_path, LoadError};
use super::table::{Align, Table};
use super::{format_seconds, workload_label, Format, Render, RunReport};
use crate::strategy::Strategy;

/// What `compare` reads, said once for every error that points the user at it.
const WANTED: &str = "compare reads the results.json of `concbench run --out DIR` (or DIR itself)";

/// Why two results cannot be compared; bad input (exit status 2), each message one line naming
/// the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompareError {
    /// A directory given without a `results.json` in it.
    #[error("{dir} is a directory without a results.json: {WANTED}")]
    NoResultsFile {
        /// The directory, as given.
        dir: String,
    },
    /// A file that does not read as a run's results (a lab's, another document, a FIFO, a
    /// newer schema, impossible figures...): the loader's one line, with what compare reads
    /// where that helps.
    #[error("{}", load_message(.0))]
    Load(LoadError),
    /// No row of one file has a counterpart in the other.
    #[error(
        "{a} ({a_what}) and {b} ({b_what}) have no (workload, strategy, workers) row in common"
    )]
    NothingInCommon {
        /// First file.
        a: String,
        /// What it holds.
        a_what: String,
        /// Second file.
        b: String,
        /// What it holds.
        b_what: String,
    },
}

/// The line for a file that is not a run's results: what it is instead and, unless the loader
/// already said what is wrong with a results file, what compare reads.
fn load_message(e: &LoadError) -> String {
    match e {
        LoadError::Lab { file } => format!(
            "{file} is a lab result (a concbench lab report, lab.json); compare takes run results, the results.json of `concbench run --out DIR` (or DIR itself)"
        ),
        LoadError::Read { .. }
        | LoadError::Newer { .. }
        | LoadError::Figure { .. }
        | LoadError::Shape { .. } => e.to_string(),
        _ => format!("{e}; {WANTED}"),
    }
}

/// `concbench compare A B` as one call: read `a` and `b` (each a run's `results.json`, written
/// by `concbench run --out` or `--format json`, or the `--out` directory holding one) as
/// untrusted input, then match their rows; ratios are B/A. Both paths are resolved before
/// either is read. A directory without a `results.json`, a file that is not a run's results
/// (at most `super::load::MAX_RESULT_BYTES` is read; nothing blocks) and two runs without a
/// row in common are a [`CompareError`], one line naming the file.
pub fn compare(a: &Path, b: &Path) -> Result<Comparison, CompareError> {
    let a_path = results_file(a)?;
    let b_path = results_file(b)?;
    let a_report = super::load::read_run(&a_path).map_err(CompareError::Load)?;
    let b_report = super::load::read_run(&b_path).map_err(CompareError::Load)?;
    compare_reports(
        &a_report,
        &show_path(&a_path),
        &b_report,
        &show_path(&b_path),
    )
}

/// The file to read for `path`: `path` itself, or `path/results.json` when `path` is a
/// directory (what `concbench run --out DIR` wrote). A directory without one is bad input.
/// Only metadata is read here: the loader checks the file before it opens it.
fn results_file(path: &Path) -> Result<PathBuf, CompareError> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    let inside = path.join("results.json");
    if inside.exists() {
        Ok(inside)
    } else {
        Err(CompareError::NoResultsFile {
            dir: show_path(path),
        })
    }
}

/// One side of a comparison: which file, measured where and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Side {
    /// How the user named the file.
    pub(crate) file: String,
    /// Workload and parameters.
    pub(crate) workload: String,
    /// Machine summary line (CPU, cores, memory, kernel).
    pub(crate) machine: String,
    /// When it was measured.
    pub(crate) date: String,
    /// concbench version and commit that measured it.
    pub(crate) concbench: String,
    /// The command line that produced it.
    pub(crate) command: String,
}

impl Side {
    fn new(file: &str, r: &RunReport) -> Side {
        let m = &r.machine;
        Side {
            file: file.to_string(),
            workload: workload_label(&r.workload),
            machine: m.summary(),
            date: m.date.clone(),
            concbench: match &m.git_commit {
                Some(c) => format!("{} ({c})", m.concbench_version),
                None => m.concbench_version.clone(),
            },
            command: m.command.clone(),
        }
    }
}

/// A row present in both files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CompareRow {
    /// Workload name.
    pub(crate) workload: String,
    /// Strategy.
    pub(crate) strategy: Strategy,
    /// Sweep value.
    pub(crate) cores: usize,
    /// Median time in A, seconds.
    pub(crate) a_median_s: f64,
    /// Median time in B, seconds.
    pub(crate) b_median_s: f64,
    /// B median / A median: below 1, B is faster.
    pub(crate) time_ratio: f64,
    /// Speedup in A.
    pub(crate) a_speedup: f64,
    /// Speedup in B.
    pub(crate) b_speedup: f64,
    /// B speedup / A speedup: above 1, B gains more from its strategy.
    pub(crate) speedup_ratio: f64,
    /// Whether the intervals of the two medians overlap (the difference may be noise); with
    /// one repetition on either side, whether the two min–max ranges do.
    pub(crate) cis_overlap: bool,
    /// Oversubscribed in A.
    pub(crate) a_oversubscribed: bool,
    /// Oversubscribed in B.
    pub(crate) b_oversubscribed: bool,
    /// Workers per core in A.
    #[serde(default = "one")]
    pub(crate) a_workers_per_core: f64,
    /// Workers per core in B.
    #[serde(default = "one")]
    pub(crate) b_workers_per_core: f64,
}

fn one() -> f64 {
    1.0
}

/// Whether two rows' median intervals overlap (their min–max ranges without one).
fn intervals_overlap(a: &crate::analysis::Row, b: &crate::analysis::Row) -> bool {
    let [alo, ahi] = a.median_ci_s.unwrap_or([a.min_s, a.max_s]);
    let [blo, bhi] = b.median_ci_s.unwrap_or([b.min_s, b.max_s]);
    alo <= bhi && blo <= ahi
}

/// Two result documents side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The baseline.
    pub(crate) a: Side,
    /// The one compared with it.
    pub(crate) b: Side,
    /// Matched rows, in A's order.
    pub(crate) rows: Vec<CompareRow>,
    /// Rows of A with no counterpart in B.
    pub(crate) only_in_a: usize,
    /// Rows of B with no counterpart in A.
    pub(crate) only_in_b: usize,
    /// Those rows of A, as `strategy xN`.
    #[serde(default)]
    pub(crate) only_in_a_rows: Vec<String>,
    /// Those rows of B, as `strategy xN`.
    #[serde(default)]
    pub(crate) only_in_b_rows: Vec<String>,
    /// What a reader should know before trusting the ratios (different sizes, machines...).
    pub(crate) notes: Vec<String>,
}

/// What makes two rows counterparts: the same workload, strategy and cores.
fn row_key(r: &crate::analysis::Row) -> (&str, crate::strategy::Strategy, usize) {
    (&r.workload, r.strategy, r.cores)
}

/// The rows of `x` with no counterpart in `y`, as `strategy xN`.
fn unmatched(x: &RunReport, y: &RunReport) -> Vec<String> {
    x.rows
        .iter()
        .filter(|r| !y.rows.iter().any(|o| row_key(o) == row_key(r)))
        .map(|r| format!("{} x{}", r.strategy, r.cores))
        .collect()
}

/// Match the rows of `a` and `b`; `a_file` and `b_file` name them in the output.
pub(crate) fn compare_reports(
    a: &RunReport,
    a_file: &str,
    b: &RunReport,
    b_file: &str,
) -> Result<Comparison, CompareError> {
    let rows: Vec<CompareRow> = a
        .rows
        .iter()
        .filter_map(|ra| {
            let rb = b.rows.iter().find(|rb| row_key(rb) == row_key(ra))?;
            Some(CompareRow {
                workload: ra.workload.clone(),
                strategy: ra.strategy,
                cores: ra.cores,
                a_median_s: ra.median_s,
                b_median_s: rb.median_s,
                time_ratio: rb.median_s / ra.median_s,
                a_speedup: ra.speedup,
                b_speedup: rb.speedup,
                speedup_ratio: rb.speedup / ra.speedup,
                cis_overlap: intervals_overlap(ra, rb),
                a_oversubscribed: ra.oversubscribed,
                b_oversubscribed: rb.oversubscribed,
                a_workers_per_core: ra.workers_per_core,
                b_workers_per_core: rb.workers_per_core,
            })
        })
        .collect();
    if rows.is_empty() {
        let what = |r: &RunReport| format!("{} rows of {}", r.rows.len(), r.workload.name);
        return Err(CompareError::NothingInCommon {
            a: a_file.to_string(),
            a_what: what(a),
            b: b_file.to_string(),
            b_what: what(b),
        });
    }
    let mut notes = Vec::new();
    if a.workload != b.workload {
        notes.push(format!(
            "the workloads differ: A is {}, B is {}; time ratios compare different problems",
            workload_label(&a.workload),
            workload_label(&b.workload)
        ));
    }
    if a.machine.cpu_model != b.machine.cpu_model
        || a.machine.physical_cores != b.machine.physical_cores
    {
        notes.push(
            "measured on different machines: time ratios compare the machines as much as the code"
                .into(),
        );
    }
    if a.method.speedup_baseline != b.method.speedup_baseline {
        notes.push(format!(
            "the speedups divide different baselines: A's {}, B's {}; speedup ratios compare different things (time ratios are still like for like)",
            a.method.speedup_baseline, b.method.speedup_baseline
        ));
    }
    if a.method.reps != b.method.reps {
        notes.push(format!(
            "different repetition counts: A {} and B {}",
            a.method.reps, b.method.reps
        ));
    }
    Ok(Comparison {
        a: Side::new(a_file, a),
        b: Side::new(b_file, b),
        only_in_a: a.rows.len() - rows.len(),
        only_in_b: b.rows.len() - rows.len(),
        only_in_a_rows: unmatched(a, b),
        only_in_b_rows: unmatched(b, a),
        rows,
        notes,
    })
}

/// Workers per core of a compared row: `2 per core`, or `1 / 2 per core` when A and B differ.
fn per_core_cell(r: &CompareRow) -> String {
    let (a, b) = (r.a_workers_per_core, r.b_workers_per_core);
    if (a - b).abs() < 1e-9 {
        crate::analysis::format_per_core(a)
    } else {
        let short = |v: f64| crate::analysis::format_per_core(v).replace(" per core", "");
        format!("{} / {} per core", short(a), short(b))
    }
}

impl Comparison {
    /// The side-by-side table, shared by the terminal and Markdown renderings.
    pub(crate) fn table(&self) -> Table {
        use Align::*;
        let cols = [
            ("workload", Left),
            ("strategy", Left),
            ("workers", Right),
            ("median A", Right),
            ("median B", Right),
            ("time B/A", Right),
            ("speedup A", Right),
            ("speedup B", Right),
            ("speedup B/A", Right),
            ("CIs overlap", Left),
            ("per core A/B", Left),
        ];
        let over = |t: bool| if t { "*" } else { "" };
        Table {
            headers: cols.iter().map(|(h, _)| h.to_string()).collect(),
            align: cols.iter().map(|(_, a)| *a).collect(),
            rows: self
                .rows
                .iter()
                .map(|r| {
                    vec![
                        r.workload.clone(),
                        r.strategy.to_string(),
                        format!(
                            "{}{}",
                            r.cores,
                            over(r.a_oversubscribed || r.b_oversubscribed)
                        ),
                        format_seconds(r.a_median_s),
                        format_seconds(r.b_median_s),
                        format!("{:.3}", r.time_ratio),
                        format!("{:.2}x", r.a_speedup),
                        format!("{:.2}x", r.b_speedup),
                        format!("{:.3}", r.speedup_ratio),
                        if r.cis_overlap { "yes" } else { "no" }.into(),
                        per_core_cell(r),
                    ]
                })
                .collect(),
        }
    }

    fn sides(&self) -> Vec<(&'static str, &Side)> {
        vec![("A", &self.a), ("B", &self.b)]
    }

    fn footer(&self) -> Vec<String> {
        let mut lines = vec![
            "time B/A below 1: B is faster; speedup B/A above 1: B gains more from the strategy; CIs overlap: whether the order-statistic intervals of the two medians overlap (yes: the difference may be noise).".to_string(),
        ];
        if self
            .rows
            .iter()
            .any(|r| r.a_oversubscribed || r.b_oversubscribed)
        {
            lines.push("* oversubscribed in A or B: more workers than the cores they may use (one for single-core-threaded, the physical cores otherwise); per core A/B says how many share each.".into());
        }
        if self.only_in_a + self.only_in_b > 0 {
            let list = |rows: &[String]| {
                if rows.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", rows.join(", "))
                }
            };
            lines.push(format!(
                "unmatched rows: {} only in A{}, {} only in B{}.",
                self.only_in_a,
                list(&self.only_in_a_rows),
                self.only_in_b,
                list(&self.only_in_b_rows)
            ));
        }
        lines.extend(self.notes.iter().map(|n| format!("note: {n}.")));
        lines
    }

    /// For the terminal: both sides named, the aligned table, notes.
    fn to_terminal(&self) -> String {
        let mut out = String::new();
        for (tag, s) in self.sides() {
            out.push_str(&format!(
                "{tag}: {}  {}, on {}, {}, concbench {}\n",
                s.file, s.workload, s.machine, s.date, s.concbench
            ));
        }
        out.push('\n');
        out.push_str(&self.table().to_terminal());
        out.push('\n');
        for line in self.footer() {
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    /// Markdown: both sides as a list, the table, notes.
    fn to_markdown(&self) -> String {
        let mut out = String::from("# concbench compare\n\n");
        for (tag, s) in self.sides() {
            out.push_str(&format!(
                "- **{tag}:** `{}`: {}, on {}, {}, concbench {}\n",
                s.file.replace('`', "'"),
                s.workload,
                s.machine,
                s.date,
                s.concbench
            ));
        }
        out.push('\n');
        out.push_str(&self.table().to_markdown());
        out.push('\n');
        for line in self.footer() {
            out.push_str(&line.replace('*', "\\*"));
            out.push_str("\n\n");
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
        out
    }

    /// Pretty JSON of the whole comparison.
    fn to_json(&self) -> String {
        super::json::pretty(self)
    }

    /// The table as a [`Document`], captioned with both sides and the lines under it: what the
    /// CSV and LaTeX renderings draw.
    fn document(&self) -> Document {
        let mut caption = self
            .sides()
            .iter()
            .map(|(tag, s)| {
                format!(
                    "{tag}: {}, {}, on {}, {}, concbench {}",
                    s.file, s.workload, s.machine, s.date, s.concbench
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        caption.push('.');
        for line in self.footer() {
            caption.push(' ');
            caption.push_str(&line);
        }
        let mut doc = Document::new(format!(
            "concbench compare: {} (A) and {} (B)",
            self.a.file, self.b.file
        ));
        doc.push(Block::Table {
            id: "compare".into(),
            caption,
            table: self.table(),
        });
        doc
    }
}

impl Render for Comparison {
    /// Terminal: both sides named, the aligned table, its notes; JSON: the whole comparison;
    /// Markdown: the same, ready to paste; CSV: the table's cells as shown, units and markers
    /// included (`8.64 ms`, `1.88x`, `2*` for an oversubscribed row; RFC 4180, one header line:
    /// the raw figures are in the JSON);
    /// LaTeX: the table as a booktabs float, its caption naming both sides, with the notes.
    fn render(&self, format: Format) -> String {
        match format {
            Format::Terminal => self.to_terminal(),
            Format::Json => self.to_json(),
            Format::Markdown => self.to_markdown(),
            Format::Csv => self.document().to_csv(),
            Format::Latex => self.document().to_latex(),
        }
    }

    /// `compare.json`, `compare.md`, `compare.csv`, `compare.tex` and `report.html` (the
    /// Markdown as a page).
    fn files(&self) -> Vec<(String, String)> {
        let markdown = self.to_markdown();
        let page = super::html::page(&markdown, &[]);
        vec![
            ("compare.json".into(), self.to_json()),
            ("compare.md".into(), markdown),
            ("compare.csv".into(), self.render(Format::Csv)),
            ("compare.tex".into(), self.render(Format::Latex)),
            (super::html::PAGE.into(), page),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    /// B: the same run on another (faster, 4-core) machine, with the 4-core rows no longer
    /// oversubscribed and the sequential baseline 20% faster.
    fn pair() -> Comparison {
        let a = fixture::report();
        let mut b = fixture::report();
        b.machine = fixture::machine(
            "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz",
            "2026-01-03T10:00:00Z",
        );
        b.machine.physical_cores = 4;
        b.machine.logical_cpus_allowed = 4;
        b.machine.logical_cpus_online = 4;
        b.machine.affinity_mask = "0-3".into();
        for r in b.rows.iter_mut() {
            let f = if r.cores == 4 && r.strategy != Strategy::SingleCoreThreaded {
                0.45
            } else {
                0.8
            };
            r.median_s = (r.median_s * f * 1e6).round() / 1e6;
            r.median_ci_s = Some([r.median_s * 0.98, r.median_s * 1.03]);
            r.speedup = ((0.32 / r.median_s) * 1e4).round() / 1e4;
            if r.strategy != Strategy::SingleCoreThreaded {
                r.oversubscribed = false;
                r.workers_per_core = 1.0;
            }
        }
        b.rows.pop(); // multi-process x4 only in A
        compare_reports(&a, "before.json", &b, "after.json").unwrap()
    }

    #[test]
    fn snapshot_terminal() {
        insta::assert_snapshot!(pair().render(Format::Terminal));
    }

    #[test]
    fn snapshot_markdown() {
        insta::assert_snapshot!(pair().render(Format::Markdown));
    }

    #[test]
    fn snapshot_json() {
        insta::assert_snapshot!(pair().render(Format::Json));
    }

    #[test]
    fn ratios_are_b_over_a() {
        let c = pair();
        let r = &c.rows[0];
        assert!((r.time_ratio - 0.8).abs() < 1e-9);
        assert_eq!(c.only_in_a, 1);
        assert_eq!(c.only_in_b, 0);
        assert_eq!(c.only_in_a_rows.len(), 1);
        assert!(c.only_in_b_rows.is_empty());
        assert!(c.notes.iter().any(|n| n.contains("different machines")));
    }

    #[test]
    fn csv_and_latex_draw_the_table_and_the_files_are_the_set() {
        let c = pair();
        let csv = c.render(Format::Csv);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "workload,strategy,workers,median A,median B,time B/A,speedup A,speedup B,speedup B/A,CIs overlap,per core A/B");
        assert_eq!(lines.len(), c.rows.len() + 1);
        assert!(lines[1].starts_with("mergesort,sequential,1,"), "{csv}");
        let tex = c.render(Format::Latex);
        assert_eq!(tex.matches("\\begin{table}").count(), 1, "{tex}");
        assert!(tex.contains("\\label{tab:compare}"), "{tex}");
        let caption = tex.lines().find(|l| l.starts_with("\\caption{")).unwrap();
        for part in [
            "A: before.json",
            "B: after.json",
            "measured on different machines",
        ] {
            assert!(caption.contains(part), "{part}: {caption}");
        }
        assert!(tex.contains("time B/A & speedup A"), "{tex}");
        let files = c.files();
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "compare.json",
                "compare.md",
                "compare.csv",
                "compare.tex",
                "report.html"
            ]
        );
        assert_eq!(files[0].1, c.render(Format::Json));
        assert_eq!(files[1].1, c.render(Format::Markdown));
        assert!(files[4].1.contains("<table"), "the page holds the table");
    }

    #[test]
    fn compare_reads_files_and_run_directories_and_refuses_the_rest_in_one_line() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let file = root.join("results/mergesort/results.json");
        let dir = root.join("results/mergesort");
        let c = compare(&file, &dir).unwrap();
        assert_eq!(c.a.file, show_path(&file));
        assert_eq!(c.b.file, show_path(&file), "the directory's results.json");
        assert!(c.rows.iter().all(|r| r.time_ratio == 1.0));
        // A directory without a results.json.
        let tmp = tempfile::tempdir().unwrap();
        let e = compare(tmp.path(), &file).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{} is a directory without a results.json: {WANTED}",
                tmp.path().display()
            )
        );
        // A lab's results: what it is, and what compare takes.
        let lab = root.join("results/lab/quick/lab.json");
        let e = compare(&file, &lab).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{} is a lab result (a concbench lab report, lab.json); compare takes run results, the results.json of `concbench run --out DIR` (or DIR itself)", lab.display())
        );
        // Not JSON: the loader's line and what compare reads.
        let bad = tmp.path().join("bad.json");
        std::fs::write(&bad, "{").unwrap();
        let e = compare(&bad, &file).unwrap_err().to_string();
        assert!(e.starts_with(&bad.display().to_string()), "{e}");
        assert!(e.ends_with(&format!("; {WANTED}")), "{e}");
        // Missing: the loader's line alone.
        let missing = tmp.path().join("missing.json");
        let e = compare(&file, &missing).unwrap_err().to_string();
        assert!(e.starts_with("cannot read "), "{e}");
        assert!(!e.contains(WANTED), "{e}");
    }

    #[test]
    fn different_workloads_have_nothing_in_common() {
        let a = fixture::report();
        let mut b = fixture::report();
        for r in b.rows.iter_mut() {
            r.workload = "matmul".into();
        }
        b.workload.name = "matmul".into();
        let e = compare_reports(&a, "a.json", &b, "b.json").unwrap_err();
        assert_eq!(
            e.to_string(),
            "a.json (10 rows of mergesort) and b.json (10 rows of matmul) have no (workload, strategy, workers) row in common"
        );
    }
}
