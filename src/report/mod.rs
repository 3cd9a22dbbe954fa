//! Reports: one result document, many renderings.
//!
//! A run produces a [`RunReport`] (machine, method, rows). Each output format is a [`Reporter`]
//! that turns the document into text; the CLI picks one for stdout, and `--out DIR` writes
//! several. Every number a renderer prints is a field of the JSON rendering, so any table can be
//! explained from `results.json`.

use serde::{Deserialize, Serialize};

use crate::analysis::{self, Row};
use crate::machine::Machine;
pub use crate::output::{prepare_out_dir, write_atomic};
use crate::plan::RunPlan;
use crate::runner::Measurement;
pub use crate::text::format_seconds;
use crate::workload::{WorkUnits, WorkloadSpec};

pub mod compare;
pub mod csv;
#[cfg(test)]
pub(crate) mod fixture;
pub mod json;
pub mod latex;
pub mod markdown;
pub mod svg;
pub mod table;

/// How the figures were obtained, stated in every report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Method {
    /// Timed repetitions per row.
    pub reps: usize,
    /// Untimed warm-up runs per row.
    pub warmup: usize,
    /// One sentence on timing and statistics.
    pub timing: String,
    /// One sentence on how switches and their overhead are counted.
    pub switches: String,
    /// Same-core context-switch cost used for `switch_overhead`, ns (None if not measured).
    pub switch_cost_ns: Option<f64>,
    /// What every row's speedup divides: `sequential`, or the first row when the sequential twin
    /// was not run.
    #[serde(default = "crate::analysis::sequential_baseline")]
    pub speedup_baseline: String,
}

/// The footer's definition of speedup, naming the baseline row.
pub fn speedup_definition(report: &RunReport) -> String {
    let base = &report.method.speedup_baseline;
    if base == "sequential" {
        "speedup = sequential median / row median".into()
    } else {
        format!("speedup = {base} median / row median (no sequential run in this invocation, so the first row is the baseline)")
    }
}

/// A whole `concbench run` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Where and when it was measured.
    pub machine: Machine,
    /// The workload and its parameters.
    pub workload: WorkloadSpec,
    /// How.
    pub method: Method,
    /// One row per strategy × cores; sequential first.
    pub rows: Vec<Row>,
    /// Least-squares Amdahl serial fraction per strategy over its sweep (strategies with a row
    /// for p > 1 only).
    pub amdahl_serial_fraction: Vec<AmdahlFit>,
    /// The machine's ceilings beside each row, when `concbench limits` was measured in this
    /// invocation (`run --limits`) or cached for this machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceilings: Option<RunCeilings>,
}

/// Ceiling figures of a run (see [`crate::analysis::ceilings::row_ceilings`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunCeilings {
    /// Where the ceilings come from: measured now, or cached with its date.
    pub provenance: String,
    /// One per run row, same order.
    pub rows: Vec<crate::analysis::ceilings::RowCeiling>,
}

/// Lines that set rows beside the machine's ceilings: matmul's GFLOP/s as a share of the peak of
/// the cores it used, merge sort's speedup beside the copy-bandwidth scaling. Empty without
/// ceilings.
pub fn ceiling_lines(report: &RunReport) -> Vec<String> {
    let Some(c) = &report.ceilings else {
        return Vec::new();
    };
    let mut out = vec![format!("{}:", c.provenance)];
    for r in &c.rows {
        if let (Some(g), Some(peak), Some(share)) = (r.gflops, r.peak_gflops, r.peak_share) {
            out.push(format!(
                "  {} x{}: {g:.1} GFLOP/s = {:.0}% of the peak of {} core(s) ({peak:.1} GFLOP/s)",
                r.strategy,
                r.cores,
                share * 100.0,
                r.cores_used
            ));
        } else if let (Some(s), Some(bw), true) = (r.speedup, r.bandwidth_scaling, r.cores_used > 1)
        {
            // On one core the bandwidth scaling is 1 by definition: only multi-core rows say
            // something.
            out.push(format!(
                "  {} x{}: speedup {s:.2}x beside copy-bandwidth scaling x{bw:.2} on {} core(s)",
                r.strategy, r.cores, r.cores_used
            ));
        }
    }
    if out.len() == 1 {
        return Vec::new();
    }
    out
}

impl RunReport {
    /// Assemble the report of a finished run: rows from the measurements, Amdahl fits per
    /// strategy over its non-oversubscribed sweep points, and the method.
    pub fn build(
        machine: Machine,
        plan: &RunPlan,
        units: WorkUnits,
        measurements: &[Measurement],
        switch_cost_ns: Option<f64>,
    ) -> RunReport {
        let rows = analysis::rows(&plan.spec.name, units, measurements, switch_cost_ns);
        let amdahl_serial_fraction = plan
            .strategies
            .iter()
            .filter(|s| !s.is_sequential())
            .filter_map(|s| {
                let pts: Vec<(usize, f64)> = rows
                    .iter()
                    .filter(|r| r.strategy == *s && !r.oversubscribed)
                    .map(|r| (r.cores, r.speedup))
                    .collect();
                analysis::amdahl_fit(&pts).map(|f| AmdahlFit {
                    strategy: s.to_string(),
                    serial_fraction: f,
                })
            })
            .collect();
        RunReport {
            machine,
            workload: plan.spec.clone(),
            method: Method {
                reps: plan.reps,
                warmup: plan.warmup,
                timing: "wall time of each repetition on CLOCK_MONOTONIC, from the first worker spawn until every part's result is in (collecting the workers afterwards is reported as phases.collect_s); median, min, max and a seeded bootstrap 95% CI (2000 resamples) of the median".into(),
                switches: "getrusage deltas of this process (all threads) and its waited-for worker processes; switch_overhead = switches x same-core switch cost / wall time".into(),
                switch_cost_ns,
                speedup_baseline: analysis::speedup_baseline(measurements),
            },
            rows,
            amdahl_serial_fraction,
            ceilings: None,
        }
    }
}

/// Fitted Amdahl serial fraction of one strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AmdahlFit {
    /// Strategy name.
    pub strategy: String,
    /// Fitted serial fraction f in S(p) = 1 / (f + (1 − f)/p).
    pub serial_fraction: f64,
}

/// Renders a [`RunReport`] in one format. The CLI calls [`Reporter::render`] once per report and
/// prints it or writes it to `DIR/`[`Reporter::file_name`].
pub trait Reporter {
    /// Format name as given to `--format`.
    fn name(&self) -> &'static str;
    /// File name used by `--out DIR`.
    fn file_name(&self) -> &'static str;
    /// The rendering.
    fn render(&self, report: &RunReport) -> String;
}

/// The sweep values of a report's oversubscribed rows, ascending, each once.
pub fn oversubscribed_cores(report: &RunReport) -> Vec<usize> {
    let mut over: Vec<usize> = report
        .rows
        .iter()
        .filter(|r| r.oversubscribed)
        .map(|r| r.cores)
        .collect();
    over.sort_unstable();
    over.dedup();
    over
}

/// The oversubscribed sweep values of a report, and the physical core count they exceed.
pub fn oversubscription_note(report: &RunReport) -> Option<String> {
    let over = oversubscribed_cores(report);
    (!over.is_empty()).then(|| {
        format!(
            "oversubscribed: cores {} exceed the {} physical core(s) this process may use; their workers share cores (they wrap around), so those rows measure time slicing, not more parallelism",
            over.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(", "),
            report.machine.physical_cores
        )
    })
}

/// Below this, a baseline run is too short to set against starting workers (tens of µs).
const TOO_SHORT_S: f64 = 1e-4;

/// A warning when the baseline run is so short that every speedup mostly measures the cost of
/// starting workers (e.g. `--size 1`).
pub fn too_short_note(report: &RunReport) -> Option<String> {
    let base = report.rows.first()?;
    (base.median_s < TOO_SHORT_S).then(|| {
        format!(
            "too short to measure parallelism: the baseline took {}, less than starting a worker; the speedups mostly measure that start-up (use a larger --size)",
            format_seconds(base.median_s)
        )
    })
}

/// The workload and its parameters in one phrase: `mergesort (size=4000000, seed=42)`.
pub fn workload_label(spec: &WorkloadSpec) -> String {
    let mut params = vec![format!("size={}", spec.size)];
    params.extend(spec.params.iter().map(|(k, v)| format!("{k}={v}")));
    params.push(format!("seed={}", spec.seed));
    format!("{} ({})", spec.name, params.join(", "))
}

/// The reporters whose files `--out DIR` writes: report.md, results.csv, results.json,
/// results.tex and speedup.svg.
pub fn file_reporters() -> Vec<Box<dyn Reporter>> {
    vec![
        Box::new(markdown::MarkdownReporter),
        Box::new(csv::CsvReporter),
        Box::new(json::JsonReporter),
        Box::new(latex::LatexReporter),
        Box::new(svg::SvgReporter),
    ]
}

/// Add every [`file_reporters`] rendering of `report` to the result set of `dir`.
pub fn add_out_files(
    set: &mut crate::output::ResultSet,
    dir: &std::path::Path,
    report: &RunReport,
) {
    for r in file_reporters() {
        set.add(dir, r.file_name(), r.render(report));
    }
}

/// Write every [`file_reporters`] rendering of `report` into `dir` as one result set (see
/// [`crate::output::ResultSet`]: the directory then holds this report's files and no other
/// run's); returns the paths written. The caller checks `dir` with [`prepare_out_dir`] before
/// the run, so a failure here is an I/O error, not bad usage.
pub fn write_out_dir(
    dir: &std::path::Path,
    report: &RunReport,
) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut set = crate::output::ResultSet::new();
    add_out_files(&mut set, dir, report);
    set.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_terminal() {
        insta::assert_snapshot!(table::TerminalReporter.render(&fixture::report()));
    }

    #[test]
    fn snapshot_json() {
        insta::assert_snapshot!(json::JsonReporter.render(&fixture::report()));
    }

    #[test]
    fn json_round_trips() {
        let report = fixture::report();
        let back: RunReport = serde_json::from_str(&json::JsonReporter.render(&report)).unwrap();
        assert_eq!(back, report);
    }

    #[test]
    fn writes_every_file_and_no_temporary_one() {
        let dir = tempfile::tempdir().unwrap();
        let written = write_out_dir(dir.path(), &fixture::report()).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                crate::output::MANIFEST,
                "report.md",
                "results.csv",
                "results.json",
                "results.tex",
                "speedup.svg"
            ]
        );
        assert_eq!(written.len(), 5);
    }

    #[test]
    fn workload_labels_name_every_parameter() {
        let mut spec = WorkloadSpec::new("io", 64, 7);
        spec.params.insert("wait_ms".into(), "10".into());
        assert_eq!(workload_label(&spec), "io (size=64, wait_ms=10, seed=7)");
    }
}
