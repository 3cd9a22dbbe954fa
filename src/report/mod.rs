//! Reports: one result document, many renderings.
//!
//! A run produces a [`RunReport`] (machine, method, rows). It renders in each [`Format`] through
//! [`Render`]; the CLI picks one for stdout, and `--out DIR` writes every rendering, the plots
//! and `report.html`. Every number a renderer prints is a field of the JSON rendering, so any table can be
//! explained from `results.json`.

use serde::{Deserialize, Serialize};

use crate::analysis;
pub use crate::analysis::{Row, WebRow};
pub use crate::machine::Machine;
use crate::machine::RunContext;
use crate::measure::stats::{format_coverage, reps_for_coverage, TARGET_COVERAGE};
pub use crate::output::prepare_out_dir;
use crate::plan::RunPlan;
use crate::runner::Measurement;
use crate::strategy::{Placement, Strategy};
pub use crate::text::format_seconds;
pub use crate::workload::web::Latency;
use crate::workload::{WorkUnits, WorkloadSpec};
pub use compare::{compare, CompareError, Comparison};
pub use load::LoadError;

pub(crate) mod compare;
pub(crate) mod csv;
pub(crate) mod document;
#[cfg(test)]
pub(crate) mod fixture;
pub(crate) mod html;
pub(crate) mod json;
pub(crate) mod latex;
pub(crate) mod load;
pub(crate) mod markdown;
pub(crate) mod plots;
pub(crate) mod svg;
pub(crate) mod table;

/// How the figures were obtained, stated in every report (read through the report's JSON,
/// `method`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Method {
    /// Timed repetitions per row.
    pub(crate) reps: usize,
    /// Untimed warm-up runs per row.
    pub(crate) warmup: usize,
    /// One sentence on timing and statistics.
    pub(crate) timing: String,
    /// One sentence on how switches and their overhead are counted.
    pub(crate) switches: String,
    /// Same-core context-switch cost used for `switch_overhead`, ns (None if not measured).
    pub(crate) switch_cost_ns: Option<f64>,
    /// Why there is no switch cost, when it was to be measured and could not be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) switch_cost_note: Option<String>,
    /// What every row's speedup divides: `sequential`, or the first row when the sequential twin
    /// was not run.
    #[serde(default = "crate::analysis::sequential_baseline")]
    pub(crate) speedup_baseline: String,
}

/// The footer's definition of speedup, naming the baseline row.
pub(crate) fn speedup_definition(report: &RunReport) -> String {
    let base = &report.method.speedup_baseline;
    let relative = report
        .rows
        .first()
        .is_some_and(|r| r.scaling_undefined.is_some());
    if base == "sequential" {
        "speedup = sequential median / row median".into()
    } else if relative {
        format!("speedup = {base} median / row median, a relative speed (no sequential run in this invocation, so the first row is the baseline)")
    } else {
        format!("speedup = {base} median / row median (no sequential run in this invocation, so the first row, one worker, is the baseline)")
    }
}

/// A whole `concbench run` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Where and when it was measured.
    pub machine: Machine,
    /// The workload and its parameters.
    pub workload: WorkloadSpec,
    /// How: repetitions, warm-up, the timing and switch-counting method, the switch cost used
    /// (in the JSON as `method`).
    pub(crate) method: Method,
    /// One row per strategy × cores; sequential first.
    pub rows: Vec<Row>,
    /// Least-squares Amdahl serial fraction per strategy over its sweep (strategies with a row
    /// for p > 1 only).
    pub(crate) amdahl_serial_fraction: Vec<AmdahlFit>,
    /// The machine's ceilings beside each row, when `concbench limits` was measured in this
    /// invocation (`run --limits`) or cached for this machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ceilings: Option<RunCeilings>,
}

/// Ceiling figures of a run (see [`crate::analysis::ceilings::row_ceilings`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RunCeilings {
    /// Where the ceilings come from: measured now, or cached with its date.
    pub(crate) provenance: String,
    /// One per run row, same order.
    pub(crate) rows: Vec<crate::analysis::ceilings::RowCeiling>,
}

/// Lines that set rows beside the machine's ceilings: matmul's GFLOP/s as a share of the peak of
/// the cores it used, merge sort's speedup beside the copy-bandwidth scaling. Empty without
/// ceilings.
pub(crate) fn ceiling_lines(report: &RunReport) -> Vec<String> {
    let Some(c) = &report.ceilings else {
        return Vec::new();
    };
    let mut out = vec![format!("{}:", c.provenance)];
    for r in &c.rows {
        if let (Some(g), Some(peak), Some(share)) = (r.gflops, r.peak_gflops, r.peak_share) {
            out.push(format!(
                "  {} x{}: {g:.1} GFLOP/s = {:.0}% of the peak of {} core(s) ({peak:.1} GFLOP/s){}",
                r.strategy,
                r.cores,
                share * 100.0,
                r.cores_used,
                if r.ceiling_measured_low {
                    " — ceiling measured low: no row can beat its peak, so the peak was measured while the machine was slower than now"
                } else {
                    ""
                }
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
    /// Assemble the report of a finished run: rows from the measurements (made in `context`,
    /// whose message ceilings the distributed rows are set beside), Amdahl fits per strategy
    /// over its non-oversubscribed sweep points, and the method.
    pub(crate) fn build(
        machine: Machine,
        plan: &RunPlan,
        units: WorkUnits,
        measurements: &[Measurement],
        switch_cost_ns: Option<f64>,
        context: &RunContext,
    ) -> RunReport {
        let rows = analysis::rows(
            &plan.spec.name,
            units,
            measurements,
            switch_cost_ns,
            context,
        );
        let undefined = rows.first().and_then(|r| r.scaling_undefined.clone());
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
                analysis::fit_serial_fraction(&pts, undefined.as_deref()).map(|f| AmdahlFit {
                    strategy: s.to_string(),
                    serial_fraction: f.serial_fraction,
                    fitted: f.fitted,
                    note: f.note,
                })
            })
            .collect();
        RunReport {
            machine,
            workload: plan.spec.clone(),
            method: Method {
                reps: plan.reps,
                warmup: plan.warmup,
                timing: "wall time of each repetition on CLOCK_MONOTONIC, from the first worker spawn until every part's result is in (collecting the workers afterwards is reported as phases.collect_s); median, min, max and the distribution-free order-statistic interval of the median with its coverage (95% or more from 6 repetitions); the speedup's interval divides the baseline's and the row's, each at 97.5%, so it reaches 95% from 7".into(),
                switches: "getrusage deltas of this process (all threads) and its waited-for worker processes; switch_overhead = switches x same-core switch cost / wall time".into(),
                switch_cost_ns,
                switch_cost_note: None,
                speedup_baseline: analysis::speedup_baseline(measurements),
            },
            rows,
            amdahl_serial_fraction,
            ceilings: None,
        }
    }
}

/// Fitted Amdahl serial fraction of one strategy (see [`analysis::fit_serial_fraction`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct AmdahlFit {
    /// Strategy name.
    pub strategy: String,
    /// Fitted serial fraction f in S(p) = 1 / (f + (1 − f)/p), at least 0; above 1 when the rows
    /// ran slower than one worker (then no Amdahl fit, and `note` says so); null when the
    /// baseline is not one worker (`note` says why).
    pub serial_fraction: Option<f64>,
    /// The least-squares value, when it was negative and is reported as 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) fitted: Option<f64>,
    /// Why `serial_fraction` is null, 0 or above 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl AmdahlFit {
    /// The fit as a cell: `0.060`, `0.000 (fit -0.002, 0 within its noise)`, `—`, and a fit
    /// above 1 flagged: `1.065 (above 1, not an Amdahl fit: …)`.
    pub fn cell(&self) -> String {
        match (self.serial_fraction, self.fitted) {
            (None, _) => "—".into(),
            (Some(f), Some(raw)) => format!("{f:.3} (fit {raw:.3}, 0 within its noise)"),
            (Some(f), None) => serial_fraction_cell(f),
        }
    }
}

/// How many distinct CPUs a row's workers were seen on (its `cpus` list): the cores it actually
/// used, beside `cores`, which counts workers (`single-core-threaded` x8 uses one CPU).
pub(crate) fn cpus_used(r: &Row) -> usize {
    let mut cpus = r.cpus.clone();
    cpus.sort_unstable();
    cpus.dedup();
    cpus.len()
}

/// Fewer points than this (worker counts, each on as many distinct CPUs as workers) and an Amdahl
/// fit is not extrapolated to a limit.
pub(crate) const AMDAHL_MIN_POINTS: usize = 3;

/// What an Amdahl fit of one strategy rests on: the rows it was fitted over (that strategy's
/// rows that were not oversubscribed), read back from the report's own rows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FitBasis {
    /// Worker counts of the rows the fit rests on, ascending (1 included when measured).
    pub workers: Vec<usize>,
    /// Whether every one of those rows ran its workers on as many distinct CPUs as workers.
    pub(crate) distinct_cpus: bool,
    /// The physical cores this process may use.
    pub physical_cores: usize,
}

impl FitBasis {
    /// Whether the fit may be read as a limit on any number of cores: at least
    /// [`AMDAHL_MIN_POINTS`] worker counts, each on distinct CPUs, and a fraction inside (0, 1).
    pub(crate) fn extrapolates(&self, serial_fraction: f64) -> bool {
        self.workers.len() >= AMDAHL_MIN_POINTS
            && self.distinct_cpus
            && serial_fraction > 0.0
            && serial_fraction < 1.0
    }

    /// `rests on 1, 2 and 4 workers (3 points) on 2 physical cores`.
    pub(crate) fn phrase(&self) -> String {
        let w: Vec<String> = self.workers.iter().map(|w| w.to_string()).collect();
        let list = match w.split_last() {
            None => String::new(),
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        };
        format!(
            "rests on {list} worker{} ({} point{}{}) on {} physical core{}",
            if self.workers == [1] { "" } else { "s" },
            self.workers.len(),
            if self.workers.len() == 1 { "" } else { "s" },
            if self.distinct_cpus {
                ""
            } else {
                ", not every one on its own CPU"
            },
            self.physical_cores,
            if self.physical_cores == 1 { "" } else { "s" }
        )
    }
}

/// The rows an Amdahl fit of `strategy` rests on (see [`FitBasis`]).
pub(crate) fn fit_basis(report: &RunReport, strategy: &str) -> FitBasis {
    let rows: Vec<&Row> = report
        .rows
        .iter()
        .filter(|r| r.strategy.name() == strategy && !r.oversubscribed)
        .collect();
    let mut workers: Vec<usize> = rows.iter().map(|r| r.cores).collect();
    workers.sort_unstable();
    workers.dedup();
    FitBasis {
        workers,
        distinct_cpus: rows.iter().all(|r| cpus_used(r) >= r.cores),
        physical_cores: report.machine.physical_cores,
    }
}

/// Why a serial fraction (a row's Karp–Flatt figure or a strategy's Amdahl fit) is no Amdahl
/// serial fraction, when it lies outside [0, 1]: above 1 the rows ran slower than one worker,
/// below 0 faster than ideal. `None` inside.
pub(crate) fn serial_fraction_flag(f: f64) -> Option<&'static str> {
    if f > 1.0 {
        Some("above 1, not an Amdahl fit: the rows ran slower than with one worker")
    } else if f < 0.0 {
        Some("below 0, not an Amdahl fit: the rows ran faster than ideal")
    } else {
        None
    }
}

/// A serial fraction as a cell: `0.060`, or `1.045 (above 1, not an Amdahl fit: …)`.
pub(crate) fn serial_fraction_cell(f: f64) -> String {
    match serial_fraction_flag(f) {
        Some(why) => format!("{f:.3} ({why})"),
        None => format!("{f:.3}"),
    }
}

/// What multi-process's serial fraction holds besides serial work in the algorithm: starting the
/// worker processes and handing them their data (`phases.spawn_s` + `phases.setup_s`), a cost of
/// processes. Read at its largest row that fits the cores (never a server's, whose processes are
/// forked before the clock starts); said to be "mostly" start-up only when
/// that start-up is at least half the serial time the fraction `f` implies (f × the one-worker
/// time, median × speedup). `None` without such a row.
pub(crate) fn process_start_up_note(report: &RunReport, f: Option<f64>) -> Option<String> {
    let r = report
        .rows
        .iter()
        // A server's processes are forked before the clock starts: no start-up in its rows.
        .filter(|r| r.strategy == Strategy::MultiProcess && r.cores > 1 && !r.oversubscribed)
        .filter(|r| r.web.is_none())
        .max_by_key(|r| r.cores)?;
    let start_up = r.phases.spawn_s + r.phases.setup_s;
    let serial = f
        .filter(|f| *f > 0.0 && *f <= 1.0)
        .map(|f| f * r.median_s * r.speedup)
        .filter(|s| s.is_finite() && *s > 0.0);
    let share = serial.map(|s| start_up / s);
    Some(format!(
        "multi-process's serial fraction {} process start-up, which is no serial work in the algorithm: with {} workers, starting the worker processes took {} and handing them their data {}, of its {}{}",
        if share.is_some_and(|s| s >= 0.5) {
            "is mostly"
        } else {
            "includes"
        },
        r.cores,
        format_seconds(r.phases.spawn_s),
        format_seconds(r.phases.setup_s),
        format_seconds(r.median_s),
        share
            .map(|s| format!(
                " ({:.0}% of the serial time the fraction implies)",
                (s * 100.0).min(999.0)
            ))
            .unwrap_or_default()
    ))
}

/// What the `sw overhead (est.)` column is: an estimate, switches counted in this run times a
/// switch cost measured by a separate ping-pong, as a share of wall time.
pub(crate) fn switch_overhead_legend(report: &RunReport) -> String {
    match report.method.switch_cost_ns {
        Some(c) => format!(
            "sw overhead (est.) = switches counted in the row x {c:.0} ns (the same-core switch cost measured separately by a pipe ping-pong) / median wall time: an estimate, not a measurement of this run"
        ),
        None => "sw overhead (est.) is - : no switch cost was measured in this invocation (with one, it is an estimate: switches counted x the same-core switch cost from a pipe ping-pong / median wall time)".into(),
    }
}

/// The formats a result renders in as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// An aligned table for the terminal, with a reading of the numbers under it.
    Terminal,
    /// One JSON document: the complete result, every printed number a field of it.
    Json,
    /// Markdown: header, tables and the reading, ready to paste (`report.md`).
    Markdown,
    /// CSV (RFC 4180), one line per row, the JSON's fields flattened (`results.csv`).
    Csv,
    /// A LaTeX table float (booktabs, with a caption naming the machine; `results.tex`).
    Latex,
}

/// A result of concbench (a run, a lab, a timeline, a measurement of the machine, a collection
/// or comparison of results): text in every [`Format`], and the files of its result set.
pub trait Render {
    /// The rendering of `self` in `format`.
    fn render(&self, format: Format) -> String;

    /// Every file of its result set, by name (the JSON, the Markdown page, CSV, LaTeX, the
    /// figures and `report.html`): what `--out DIR` writes.
    fn files(&self) -> Vec<(String, String)>;

    /// Write [`Render::files`] into `dir` as one set: staged beside it and swapped in at once,
    /// so the directory then holds this result's files and no other's (see
    /// [`crate::output::prepare_out_dir`], which checks `dir` before the work). Returns the paths
    /// written.
    fn write(&self, dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
        crate::output::write_set(dir, self.files())
    }
}

impl Render for RunReport {
    fn render(&self, format: Format) -> String {
        match format {
            Format::Terminal => table::TerminalReporter.render(self),
            Format::Json => json::JsonReporter.render(self),
            Format::Markdown => markdown::MarkdownReporter.render(self),
            Format::Csv => csv::CsvReporter.render(self),
            Format::Latex => latex::LatexReporter.render(self),
        }
    }

    /// `report.md`, `results.csv`, `samples.csv` (one line per repetition), `results.json`,
    /// `results.tex`, `speedup.svg`, the other plots and `report.html`.
    fn files(&self) -> Vec<(String, String)> {
        out_files(self)
    }
}

/// One renderer of a [`RunReport`] and the file `--out DIR` writes it to.
pub(crate) trait Reporter {
    /// Format name.
    fn name(&self) -> &'static str;
    /// File name used by `--out DIR`.
    fn file_name(&self) -> &'static str;
    /// The rendering.
    fn render(&self, report: &RunReport) -> String;
}

/// Whether a strategy runs all its workers on one core by design (single-core-threaded).
pub(crate) fn shares_one_core(strategy: Strategy) -> bool {
    strategy.descriptor().placement == Placement::OneCore && !strategy.is_sequential()
}

/// The sweep values of a report's oversubscribed rows of the spread strategies (multi-threaded,
/// multi-process: more workers than physical cores), ascending, each once. single-core-threaded
/// rows are oversubscribed by design from 2 workers on and are not counted here.
pub(crate) fn oversubscribed_cores(report: &RunReport) -> Vec<usize> {
    let mut over: Vec<usize> = report
        .rows
        .iter()
        .filter(|r| r.oversubscribed && !shares_one_core(r.strategy))
        .map(|r| r.cores)
        .collect();
    over.sort_unstable();
    over.dedup();
    over
}

/// The cell of the `oversubscribed` column: `no`, `yes, 2 per core`.
pub(crate) fn oversubscribed_cell(r: &Row) -> String {
    if r.oversubscribed {
        format!("yes, {}", analysis::format_per_core(r.workers_per_core))
    } else {
        "no".into()
    }
}

/// The oversubscribed rows per strategy, with their workers per core and the cores they share.
pub(crate) fn oversubscription_note(report: &RunReport) -> Option<String> {
    let mut parts = Vec::new();
    let mut seen: Vec<Strategy> = Vec::new();
    for r in report.rows.iter().filter(|r| r.oversubscribed) {
        if seen.contains(&r.strategy) {
            continue;
        }
        seen.push(r.strategy);
        let rows: Vec<&Row> = report
            .rows
            .iter()
            .filter(|o| o.strategy == r.strategy && o.oversubscribed)
            .collect();
        let which = rows
            .iter()
            .map(|o| {
                format!(
                    "x{} ({})",
                    o.cores,
                    analysis::format_per_core(o.workers_per_core)
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let on = if shares_one_core(r.strategy) {
            "on its one core, by design".to_string()
        } else {
            format!(
                "on the {} physical core{} this process may use",
                report.machine.physical_cores,
                if report.machine.physical_cores == 1 {
                    ""
                } else {
                    "s"
                }
            )
        };
        parts.push(format!("{} {which} {on}", r.strategy));
    }
    let meaning = if mostly_waits(report) {
        "workers that share a core take turns on it while the others wait, so those rows measure concurrency (overlapping waits), not more parallelism"
    } else {
        "workers that share a core take turns, so those rows measure time slicing, not more parallelism"
    };
    (!parts.is_empty()).then(|| format!("oversubscribed: {}; {meaning}", parts.join("; ")))
}

/// Whether the workload spends most of its time waiting (web; io with a CPU share below one
/// half), so that workers sharing a core are the point of the row, not a limit of it.
pub(crate) fn mostly_waits(report: &RunReport) -> bool {
    is_web(report)
        || (report.workload.name == "io"
            && report.workload.param("cpu_share", 0.0f64).unwrap_or(0.0) < 0.5)
}

/// Why efficiency, serial fraction and the Amdahl fit are `—` in this report, if they are.
pub(crate) fn scaling_note(report: &RunReport) -> Option<String> {
    report
        .rows
        .first()
        .and_then(|r| r.scaling_undefined.as_ref())
        .map(|why| format!("efficiency and serial fraction —: {why}"))
}

/// What the intervals are and how much they cover; says so when too few repetitions keep them
/// below 95%, and when there is none (one repetition).
pub(crate) fn interval_note(report: &RunReport) -> String {
    let Some(r) = report.rows.iter().find(|r| r.reps > 0) else {
        return String::new();
    };
    let (Some(cov), Some(sp)) = (r.ci_coverage, r.speedup_ci_coverage) else {
        return "no interval: one repetition cannot bracket a median (use --reps 7 or more)".into();
    };
    let mut s = format!(
        "intervals: distribution-free order-statistic intervals of the median time (coverage {}) and of the speedup (coverage at least {})",
        format_coverage(cov),
        format_coverage(sp)
    );
    if sp < TARGET_COVERAGE - 1e-12 {
        s.push_str(&format!(
            "; below 95%: too few repetitions ({} reach 95% for the median time, {} for the speedup)",
            reps_for_coverage(TARGET_COVERAGE),
            reps_for_coverage(TARGET_COVERAGE.sqrt())
        ));
    }
    s
}

/// Rows that ran on CPUs the probe found slow, one phrase each.
pub(crate) fn slow_cpu_note(report: &RunReport) -> Option<String> {
    let rows: Vec<String> = report
        .rows
        .iter()
        .filter(|r| !r.slow_cpus.is_empty())
        .map(|r| {
            format!(
                "{} x{} ({})",
                r.strategy,
                r.cores,
                crate::measure::probe::describe_slow(&r.slow_cpus)
            )
        })
        .collect();
    (!rows.is_empty()).then(|| {
        format!(
            "slow CPUs: a fixed probe timed on each CPU around these rows ran at least {:.1}x slower than the fastest this machine has shown, so their times are slow too: {}",
            crate::measure::probe::SLOW_FACTOR,
            rows.join("; ")
        )
    })
}

/// What others took of the CPUs during the run, when it was enough to move the figures.
pub(crate) fn busy_note(report: &RunReport) -> Option<String> {
    let l = report.machine.others_load.as_ref().filter(|l| l.busy())?;
    Some(format!(
        "busy machine: other programs took {:.0}% of CPUs {} during the run ({:.0}% stolen by the hypervisor); the times are slower and noisier than this machine can do",
        l.others_share * 100.0,
        crate::topology::format_cpu_list(&l.cpus),
        l.steal_share * 100.0
    ))
}

/// Below this, a baseline run is too short to set against starting workers (tens of µs).
const TOO_SHORT_S: f64 = 1e-4;

/// A warning when the baseline run is so short that every speedup mostly measures the cost of
/// starting workers: blames `--wait-ms 0` when the io tasks do not wait at all, else `--size`.
pub(crate) fn too_short_note(report: &RunReport) -> Option<String> {
    let base = report.rows.first()?;
    let no_wait = report
        .workload
        .params
        .get("wait_ms")
        .and_then(|v| v.parse::<f64>().ok())
        .is_some_and(|w| w == 0.0);
    (base.median_s < TOO_SHORT_S).then(|| {
        format!(
            "too short to measure parallelism: the baseline took {}, less than starting a worker; the speedups mostly measure that start-up ({})",
            format_seconds(base.median_s),
            if no_wait {
                "--wait-ms 0 makes every task empty: give it a wait"
            } else {
                "use a larger --size"
            }
        )
    })
}

/// Every note under a run's table, in order (oversubscription, baseline, intervals, slow CPUs,
/// busy machine, too short, distributed rows, the Slurm job, a load generator that shared the
/// server's CPUs):
/// one list so the terminal and Markdown say the same.
pub(crate) fn notes(report: &RunReport) -> Vec<String> {
    let mut out = Vec::new();
    out.extend(oversubscription_note(report));
    out.extend(scaling_note(report));
    out.push(interval_note(report));
    out.extend(slow_cpu_note(report));
    out.extend(busy_note(report));
    out.extend(too_short_note(report));
    out.extend(distributed_notes(report));
    out.extend(slurm_notes(report));
    out.extend(generator_note(report));
    out.retain(|n| !n.is_empty());
    out
}

/// Whether the report is a service's (`web`): any of its rows carries a server's figures.
pub(crate) fn is_web(report: &RunReport) -> bool {
    report.rows.iter().any(|r| r.web.is_some())
}

/// The web rows whose load generator had to share CPUs with the server: its own CPU work
/// (sending requests, reading and checking responses) is then inside their times and
/// latencies. `None` when no row shared (and for every report without web rows).
pub(crate) fn generator_note(report: &RunReport) -> Option<String> {
    let rows: Vec<String> = report
        .rows
        .iter()
        .filter_map(|r| {
            let w = r.web.as_ref().filter(|w| w.generator_shares_cpu)?;
            Some(if w.generator_cpus.is_empty() {
                format!("{} x{}", r.strategy, r.cores)
            } else {
                format!(
                    "{} x{} (generator on CPU{} {})",
                    r.strategy,
                    r.cores,
                    if w.generator_cpus.len() == 1 { "" } else { "s" },
                    crate::topology::format_cpu_list(&w.generator_cpus)
                )
            })
        })
        .collect();
    (!rows.is_empty()).then(|| {
        format!(
            "the load generator shared CPU(s) with the server in rows {}: its work is inside those figures (their times, requests/s and latencies)",
            rows.join(", ")
        )
    })
}

/// One line per `distributed` row: where its ranks ran, what they moved, and its communication
/// time beside its bytes at the measured message bandwidth; then the MPI job itself (start-up
/// is once per invocation, not in any row) and a note when the launcher left the ranks unbound.
pub(crate) fn distributed_notes(report: &RunReport) -> Vec<String> {
    let mut out = Vec::new();
    for r in &report.rows {
        let Some(d) = &r.distributed else { continue };
        let places: Vec<String> = d
            .ranks
            .iter()
            .map(|k| format!("{}:{}", k.host, k.cpu))
            .collect();
        let at_bw = d
            .communication_at_bandwidth_s
            .filter(|_| d.bytes_moved > 0)
            .map(|b| {
                format!(
                    " (its bytes at the {:.1} GB/s measured between the ranks: {})",
                    d.message_bandwidth_bytes_per_s.unwrap_or(f64::NAN) / 1e9,
                    crate::text::format_seconds(b)
                )
            })
            .unwrap_or_default();
        out.push(format!(
            "distributed x{}: ranks on {} (host:cpu); moved {} = {:.2}x the input its parts read; distribute {} + compute {} + exchange {} + collect {}; communication {}{at_bw}",
            r.cores,
            places.join(", "),
            crate::text::format_bytes(d.bytes_moved),
            d.moved_per_input_byte,
            crate::text::format_seconds(d.phases.distribute_s),
            crate::text::format_seconds(d.phases.compute_s),
            crate::text::format_seconds(d.phases.exchange_s),
            crate::text::format_seconds(d.phases.collect_s),
            crate::text::format_seconds(d.communication_s),
        ));
    }
    if out.is_empty() {
        return out;
    }
    if let Some(c) = &report.machine.cluster {
        let mut hosts: Vec<&str> = c.ranks.iter().map(|r| r.host.as_str()).collect();
        hosts.sort_unstable();
        hosts.dedup();
        out.push(format!(
            "MPI job: {} ranks on {} host{} ({}), launched by {}; {}; MPI start-up {} (once per invocation, in no row)",
            c.ranks.len(),
            hosts.len(),
            if hosts.len() == 1 { "" } else { "s" },
            hosts.join(", "),
            c.launcher,
            c.mpi_library,
            crate::text::format_seconds(c.init_s),
        ));
        if !c.bound_by_launcher {
            out.push("note: the launcher did not bind the ranks (mpirun --bind-to none, srun --cpu-bind=none), so each rank pinned itself to a core by its local rank while its part ran (unbound and unpinned, ranks on a small machine can land on one CPU, where Open MPI's busy polling turns microseconds into milliseconds)".into());
        } else if c.launcher != "srun" && !rows_within_rank_0(report).is_empty() {
            // Under srun the binding is Slurm's: slurm_notes says so, with Slurm's remedies.
            out.push(format!("note: the launcher bound rank 0 to CPU(s) {}, so the other strategies in this table ran within that mask; launch with --bind-to none to give them the whole host", c.ranks.first().map_or("?", |r| r.affinity_mask.as_str())));
        }
    }
    out
}

/// The rows rank 0 (or the one process) ran spread over its own CPUs with more than one worker:
/// multi-threaded and multi-process from x2 on (not sequential, distributed, or the strategies
/// that use one core by design), as `multi-threaded x2`.
fn rows_within_rank_0(report: &RunReport) -> Vec<String> {
    report
        .rows
        .iter()
        .filter(|r| {
            r.strategy != crate::strategy::Strategy::Distributed
                && !r.strategy.is_sequential()
                && !shares_one_core(r.strategy)
                && r.cores > 1
        })
        .map(|r| format!("{} x{}", r.strategy, r.cores))
        .collect()
}

/// Under Slurm: the job (what Slurm told concbench), and a note when the job's allocation or
/// binding left this process fewer CPUs than its node has while rows of the shared-memory
/// strategies ran within them. Under mpirun with `--bind-to core` the MPI note says it instead.
pub(crate) fn slurm_notes(report: &RunReport) -> Vec<String> {
    let Some(job) = &report.machine.slurm else {
        return Vec::new();
    };
    let mut out = vec![job.describe()];
    let mpirun_bound = report
        .machine
        .cluster
        .as_ref()
        .is_some_and(|c| c.launcher != "srun" && c.bound_by_launcher);
    let within = rows_within_rank_0(report);
    if let (Some((allowed, online)), false, false) =
        (job.narrowed(), mpirun_bound, within.is_empty())
    {
        let who = if report.machine.cluster.is_some() {
            "rank 0"
        } else {
            "this run"
        };
        out.push(format!(
            "note: Slurm job {} let {who} use CPU(s) {allowed} of its node's {online}{}, so {} ran within them: ask Slurm for the node's CPUs (sbatch or salloc -c {online} or --exclusive; srun --cpu-bind=none)",
            job.job_id,
            job.cpu_bind
                .as_deref()
                .map(|b| format!(" (its allocation; cpu-bind {b})"))
                .unwrap_or_else(|| " (its allocation)".into()),
            within.join(", "),
        ));
    }
    out
}

/// The workload and its parameters in one phrase: `mergesort (size=4000000, seed=42)`.
pub(crate) fn workload_label(spec: &WorkloadSpec) -> String {
    let mut params = vec![format!("size={}", spec.size)];
    params.extend(spec.params.iter().map(|(k, v)| format!("{k}={v}")));
    params.push(format!("seed={}", spec.seed));
    format!("{} ({})", spec.name, params.join(", "))
}

/// The reporters whose files `--out DIR` writes: report.md, results.csv, samples.csv (every
/// repetition's time, one per line), results.json, results.tex and speedup.svg.
pub(crate) fn file_reporters() -> Vec<Box<dyn Reporter>> {
    vec![
        Box::new(markdown::MarkdownReporter),
        Box::new(csv::CsvReporter),
        Box::new(csv::SamplesCsvReporter),
        Box::new(json::JsonReporter),
        Box::new(latex::LatexReporter),
        Box::new(svg::SvgReporter),
    ]
}

/// Every file of `--out DIR`, by name: each [`file_reporters`] rendering of `report`, the
/// [`plots`] (efficiency, phases, repetitions) and `report.html` (see [`html`]); `report.md`
/// shows `speedup.svg` and the plots, written beside it.
pub(crate) fn out_files(report: &RunReport) -> Vec<(String, String)> {
    let figure = svg::SvgReporter.file_name();
    let more = plots::plots(report);
    let mut page_markdown = String::new();
    let mut figures: Vec<(String, String)> = more
        .iter()
        .map(|p| (p.file.to_string(), p.svg.clone()))
        .collect();
    let mut files = figures.clone();
    for r in file_reporters() {
        let text = if r.name() == markdown::MarkdownReporter.name() {
            page_markdown = markdown::MarkdownReporter.render_with_figures(report, figure, &more);
            page_markdown.clone()
        } else {
            r.render(report)
        };
        if r.file_name().ends_with(".svg") {
            figures.push((r.file_name().to_string(), text.clone()));
        }
        files.push((r.file_name().to_string(), text));
    }
    files.push((html::PAGE.to_string(), html::page(&page_markdown, &figures)));
    files
}

/// Add every file of [`out_files`] to the result set of `dir`.
pub(crate) fn add_out_files(
    set: &mut crate::output::ResultSet,
    dir: &std::path::Path,
    report: &RunReport,
) {
    for (name, text) in out_files(report) {
        set.add(dir, &name, text);
    }
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
        let written = fixture::report().write(dir.path()).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                crate::output::MANIFEST,
                "efficiency.svg",
                "phases.svg",
                "repetitions.svg",
                "report.html",
                "report.md",
                "results.csv",
                "results.json",
                "results.tex",
                "samples.csv",
                "speedup.svg"
            ]
        );
        assert_eq!(written.len(), 10);
        let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
        assert!(
            md.contains("](speedup.svg)"),
            "report.md shows the plot: {md}"
        );
    }

    #[test]
    fn notes_say_what_a_student_would_misread() {
        let mut report = fixture::report();
        let over = oversubscription_note(&report).unwrap();
        assert!(
            over.contains("single-core-threaded x2 (2 per core), x4 (4 per core) on its one core"),
            "{over}"
        );
        assert!(over.contains("multi-threaded x4 (2 per core) on the 2 physical cores"));
        assert_eq!(oversubscribed_cores(&report), vec![4]);
        assert!(
            interval_note(&report).contains("below 95%"),
            "5 repetitions"
        );
        for r in report.rows.iter_mut() {
            r.ci_coverage = Some(0.984375);
            r.speedup_ci_coverage = Some(0.969);
        }
        assert!(!interval_note(&report).contains("below"));
        for r in report.rows.iter_mut() {
            r.ci_coverage = None;
            r.speedup_ci_coverage = None;
        }
        assert!(interval_note(&report).starts_with("no interval"));
        assert_eq!(scaling_note(&report), None);
        report.rows[0].scaling_undefined = Some("why".into());
        assert_eq!(
            scaling_note(&report).unwrap(),
            "efficiency and serial fraction —: why"
        );
    }

    #[test]
    fn too_short_blames_the_cause() {
        let mut report = fixture::report();
        report.rows[0].median_s = 1e-5;
        assert!(too_short_note(&report).unwrap().contains("--size"));
        report.workload.params.insert("wait_ms".into(), "0".into());
        let note = too_short_note(&report).unwrap();
        assert!(
            note.contains("--wait-ms 0") && !note.contains("--size"),
            "{note}"
        );
    }

    #[test]
    fn snapshot_web_terminal() {
        insta::assert_snapshot!(table::TerminalReporter.render(&fixture::web_report()));
    }

    #[test]
    fn web_json_round_trips_with_the_servers_fields_in_the_row() {
        let report = fixture::web_report();
        let text = json::JsonReporter.render(&report);
        let back: RunReport = serde_json::from_str(&text).unwrap();
        assert_eq!(back, report);
        let row = &serde_json::from_str::<serde_json::Value>(&text).unwrap()["rows"][0];
        assert!(row["requests_per_s"].is_number() && row["latency"]["p99_s"].is_number());
    }

    #[test]
    fn a_slurm_job_and_the_cpus_it_narrowed_are_notes() {
        let mut r = fixture::report();
        assert!(slurm_notes(&r).is_empty(), "no Slurm job, no note");
        r.machine.slurm = Some(crate::machine::SlurmJob {
            job_id: "12".into(),
            step_id: Some("0".into()),
            cpu_bind: Some("mask_cpu:0x1,0x2".into()),
            ..Default::default()
        });
        let said = slurm_notes(&r);
        assert_eq!(
            said,
            vec!["Slurm job 12 (step 0; cpu-bind mask_cpu:0x1,0x2)"]
        );
        if let Some(j) = r.machine.slurm.as_mut() {
            j.cpus_allowed = Some("0".into());
            j.node_cpus_online = Some(2);
        }
        let said = slurm_notes(&r);
        assert_eq!(said.len(), 2, "{said:?}");
        assert!(
            said[1].starts_with("note: Slurm job 12 let this run use CPU(s) 0 of its node's 2")
                && said[1].contains("multi-threaded x2")
                && !said[1].contains("multi-threaded x1")
                && !said[1].contains("single-core-threaded")
                && said[1].contains("-c 2"),
            "{}",
            said[1]
        );
        assert!(notes(&r).contains(&said[1]));
    }

    #[test]
    fn a_generator_that_shared_the_servers_cpus_is_a_note() {
        let mut report = fixture::web_report();
        assert!(is_web(&report));
        let note = generator_note(&report).unwrap();
        assert_eq!(
            note,
            "the load generator shared CPU(s) with the server in rows multi-threaded x2 (generator on CPU 1), multi-process x2 (generator on CPU 1): its work is inside those figures (their times, requests/s and latencies)"
        );
        assert!(notes(&report).contains(&note));
        for r in report.rows.iter_mut() {
            let w = r.web.as_mut().unwrap();
            w.generator_shares_cpu = r.strategy == Strategy::MultiThreaded;
            w.generator_cpus = vec![0, 1];
        }
        assert!(generator_note(&report)
            .unwrap()
            .contains("in rows multi-threaded x2 (generator on CPUs 0-1): its work"));
        for r in report.rows.iter_mut() {
            r.web.as_mut().unwrap().generator_shares_cpu = false;
        }
        assert_eq!(generator_note(&report), None);
        // A job has no web rows, so no such note.
        let job = fixture::report();
        assert!(!is_web(&job));
        assert_eq!(generator_note(&job), None);
        assert!(!notes(&job).iter().any(|n| n.contains("load generator")));
    }

    /// Every rendering of a table, by name, for the tests that hold across renderers.
    fn renderings(report: &RunReport) -> Vec<(&'static str, String)> {
        vec![
            ("table", table::TerminalReporter.render(report)),
            ("markdown", markdown::MarkdownReporter.render(report)),
            ("csv", csv::CsvReporter.render(report)),
            ("latex", latex::LatexReporter.render(report)),
        ]
    }

    /// The header line of a rendering's table.
    fn header_line<'a>(format: &str, text: &'a str) -> &'a str {
        let starts = match format {
            "table" => "strategy ",
            "markdown" => "| strategy ",
            "csv" => "workload,",
            _ => "strategy &",
        };
        text.lines()
            .find(|l| l.starts_with(starts))
            .unwrap_or_else(|| panic!("{format}: no header in {text}"))
    }

    #[test]
    fn every_renderer_says_workers_and_the_cpus_they_used() {
        for report in [fixture::report(), fixture::web_report()] {
            for (format, text) in renderings(&report) {
                let head = header_line(format, &text);
                let cells: Vec<&str> = match format {
                    "table" => head.split("  ").map(str::trim).collect(),
                    "markdown" => head.split('|').map(str::trim).collect(),
                    "csv" => head.split(',').collect(),
                    _ => head.trim_end_matches(" \\\\").split(" & ").collect(),
                };
                let (workers, used) = if format == "csv" {
                    ("workers", "cpus_used")
                } else {
                    ("workers", "CPUs used")
                };
                assert!(cells.contains(&workers), "{format}: {head}");
                assert!(cells.contains(&used), "{format}: {head}");
                assert!(
                    !cells.contains(&"cores"),
                    "{format}: cores means workers: {head}"
                );
            }
        }
        // single-core-threaded x4 ran 4 workers on one CPU: every table says so.
        let report = fixture::report();
        let t = table::speedup_table(&report);
        let col = |h: &str| t.headers.iter().position(|c| c == h).unwrap();
        let sct4 = t
            .rows
            .iter()
            .find(|r| r[0] == "single-core-threaded" && r[col("workers")] == "4")
            .unwrap();
        assert_eq!(sct4[col("CPUs used")], "1");
        let tex = latex::LatexReporter.render(&report);
        assert!(
            tex.contains("single-core-threaded & 4\\textsuperscript{\\dag} & 1 & 4 &"),
            "{tex}"
        );
    }

    /// The unit of a duration cell (`s`, `ms`, `µs`, `$\mu$s`, `ns`), if it is one.
    fn unit_of(cell: &str) -> Option<&str> {
        let cell = cell.trim();
        let (number, unit) = cell.rsplit_once(' ')?;
        let number = number.rsplit("--").next().unwrap_or(number);
        let number = number.split(' ').next().unwrap_or(number);
        number.parse::<f64>().ok()?;
        ["s", "ms", "µs", "$\\mu$s", "ns"]
            .contains(&unit)
            .then_some(unit)
    }

    #[test]
    fn no_column_mixes_units() {
        // 10.026 s above 604.47 ms: the case that read wrong.
        let mut job = fixture::report();
        job.rows[0].median_s = 10.026;
        job.rows[0].max_s = 10.3;
        job.rows[1].min_s = 0.60447;
        let mut web = fixture::web_report();
        web.rows[0].web.as_mut().unwrap().latency.p99_s = 1.2;
        for report in [job, web] {
            let t = table::speedup_table(&report);
            for (c, h) in t.headers.iter().enumerate() {
                let mut units: Vec<&str> = t.rows.iter().filter_map(|r| unit_of(&r[c])).collect();
                units.dedup();
                assert!(units.len() <= 1, "column {h} mixes {units:?}");
            }
            // median, min and max share one unit; so do p50 and p99.
            let units: Vec<&str> = t.rows[0].iter().filter_map(|c| unit_of(c)).collect();
            assert!(!units.is_empty());
            let tex = latex::LatexReporter.render(&report);
            let body: Vec<Vec<&str>> = tex
                .lines()
                .skip_while(|l| *l != "\\midrule")
                .skip(1)
                .take_while(|l| *l != "\\bottomrule")
                .filter(|l| *l != "\\addlinespace")
                .map(|l| l.trim_end_matches(" \\\\").split(" & ").collect())
                .collect();
            for c in 0..body[0].len() {
                let mut units: Vec<&str> = body.iter().filter_map(|r| unit_of(r[c])).collect();
                units.dedup();
                assert!(units.len() <= 1, "LaTeX column {c} mixes {units:?}: {tex}");
            }
        }
        let col = table::SecondsColumn::new([10.026, 0.60447]);
        assert_eq!(col.cell(10.026), "10.026 s");
        assert_eq!(col.cell(0.60447), "0.604 s");
        assert_eq!(
            table::SecondsColumn::new([2.4, 0.0123]).cell(0.0123),
            "0.0123 s"
        );
        assert_eq!(
            table::SecondsColumn::new([0.4, 0.212]).cell(0.4),
            "400.00 ms"
        );
        assert_eq!(table::SecondsColumn::new([f64::NAN]).cell(f64::NAN), "-");
    }

    #[test]
    fn an_out_of_range_serial_fraction_is_flagged_wherever_it_is_shown() {
        let mut report = fixture::report();
        report.amdahl_serial_fraction[1].serial_fraction = Some(1.065);
        // The fixture's single-core-threaded rows have Karp–Flatt fractions 1.045 and 1.070.
        let md = markdown::MarkdownReporter.render(&report);
        assert!(
            md.contains(
                "1.065 (above 1, not an Amdahl fit: the rows ran slower than with one worker)"
            ),
            "{md}"
        );
        assert!(!md.contains("limits the speedup"), "{md}");
        let tex = latex::LatexReporter.render(&report);
        assert!(tex.contains("1.045\\textsuperscript{*}"), "{tex}");
        assert!(
            tex.contains("outside [0, 1], so not an Amdahl fit"),
            "{tex}"
        );
        assert!(tex.contains(" 0.060 \\\\"), "in range, unmarked: {tex}");
        let csv = csv::CsvReporter.render(&report);
        let lines: Vec<&str> = csv.lines().collect();
        for (line, row) in lines[1..].iter().zip(&report.rows) {
            // serial_fraction_flag is empty inside [0, 1] and says why outside it.
            let flagged = line.contains("\"above 1, not an Amdahl fit");
            assert_eq!(
                flagged,
                row.serial_fraction.is_some_and(|f| f > 1.0),
                "{line}"
            );
        }
        assert_eq!(serial_fraction_cell(0.06), "0.060");
        assert!(serial_fraction_cell(-0.2).contains("below 0, not an Amdahl fit"));
    }

    #[test]
    fn an_amdahl_limit_is_read_only_from_three_worker_counts_on_their_own_cores() {
        use Strategy::*;
        // Two points (x1, x2) on a 2-core machine: what the fit rests on, no limit.
        let report = fixture::report();
        let text = markdown::reading(&report);
        assert!(
            text.contains("multi-process is 0.180, which includes process start-up; the fit rests on 1 and 2 workers (2 points) on 2 physical cores, too few to extrapolate a limit from"),
            "{text}"
        );
        assert!(!text.contains("limits the speedup"), "{text}");
        // Three worker counts, each on its own CPUs, on 4 cores: a limit, and what it rests on.
        let mut four = fixture::report();
        four.machine.physical_cores = 4;
        for r in four.rows.iter_mut().filter(|r| r.strategy == MultiProcess) {
            r.oversubscribed = false;
            r.cpus = (0..r.cores).collect();
        }
        let text = markdown::reading(&four);
        assert!(
            text.contains("multi-process is 0.180, which includes process start-up; the fit rests on 1, 2 and 4 workers (3 points) on 4 physical cores, so read as Amdahl's law it limits the speedup to about 5.6x however many cores"),
            "{text}"
        );
        // The same, but x4's workers were seen on two CPUs only: no limit.
        four.rows
            .iter_mut()
            .find(|r| r.strategy == MultiProcess && r.cores == 4)
            .unwrap()
            .cpus = vec![0, 1];
        let text = markdown::reading(&four);
        assert!(text.contains("not every one on its own CPU"), "{text}");
        assert!(!text.contains("limits the speedup"), "{text}");
        // What the multi-process fraction holds is said where the fit is shown.
        let md = markdown::MarkdownReporter.render(&report);
        assert!(md.contains("serial fraction includes process start-up, which is no serial work in the algorithm: with 2 workers, starting the worker processes took 8.00 ms"), "{md}");
        let tex = latex::LatexReporter.render(&report);
        assert!(
            tex.contains("serial fraction includes process start-up"),
            "{tex}"
        );
        // A server's processes start before the clock: nothing to say.
        assert_eq!(
            process_start_up_note(&fixture::web_report(), Some(0.04)),
            None
        );
    }

    #[test]
    fn switch_overhead_is_labelled_an_estimate_wherever_it_is_shown() {
        let report = fixture::report();
        for (format, text) in renderings(&report) {
            let head = header_line(format, &text);
            match format {
                "table" | "markdown" => {
                    assert!(head.contains("sw overhead (est.)"), "{format}: {head}");
                    assert!(
                        text.contains("sw overhead (est.) = switches counted in the row x 4000 ns (the same-core switch cost measured separately by a pipe ping-pong)"),
                        "{format}: {text}"
                    );
                }
                "csv" => assert!(
                    head.contains(",switch_overhead_est,switch_cost_ns,"),
                    "{head}"
                ),
                _ => assert!(
                    !text.contains("overhead"),
                    "{format} does not show it: {text}"
                ),
            }
        }
        // Without a measured switch cost there is no estimate, and the cell says so.
        let mut none = fixture::report();
        none.method.switch_cost_ns = None;
        let t = table::speedup_table(&none);
        let col = t
            .headers
            .iter()
            .position(|h| h == "sw overhead (est.)")
            .unwrap();
        assert!(t.rows.iter().all(|r| r[col] == "-"));
        assert!(switch_overhead_legend(&none).contains("no switch cost was measured"));
    }

    #[test]
    fn csv_rows_carry_the_machine_and_samples_are_one_per_line() {
        let report = fixture::report();
        let text = csv::CsvReporter.render(&report);
        let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
        assert!(header.ends_with(&[
            "machine_cpu_model",
            "machine_physical_cores",
            "machine_date",
            "machine_concbench_version",
            "machine_git_commit"
        ]));
        for line in text.lines().skip(1) {
            assert!(
                line.ends_with(
                    ",AMD EPYC 9R14 96-Core Processor,2,2026-01-02T03:04:05Z,0.1.0,0123456789ab"
                ),
                "{line}"
            );
        }
        assert_eq!(
            text.lines().count(),
            report.rows.len() + 1,
            "one line per JSON row"
        );
        let samples = csv::SamplesCsvReporter.render(&report);
        let lines: Vec<&str> = samples.lines().collect();
        assert_eq!(lines[0], "workload,strategy,workers,repetition,seconds");
        let total: usize = report.rows.iter().map(|r| r.samples_s.len()).sum();
        assert_eq!(lines.len(), total + 1);
        let mut at = 1;
        for r in &report.rows {
            for (i, s) in r.samples_s.iter().enumerate() {
                let cells: Vec<&str> = lines[at].split(',').collect();
                assert_eq!(cells.len(), 5, "{}", lines[at]);
                assert_eq!(
                    cells[..4],
                    [
                        r.workload.as_str(),
                        r.strategy.name(),
                        &r.cores.to_string(),
                        &(i + 1).to_string()
                    ]
                );
                assert_eq!(cells[4].parse::<f64>().unwrap(), *s);
                at += 1;
            }
        }
    }

    #[test]
    fn latex_prints_the_machine_and_method_under_the_table() {
        let report = fixture::report();
        let tex = latex::LatexReporter.render(&report);
        let caption = tex.lines().find(|l| l.starts_with("\\caption{")).unwrap();
        for part in [
            "AMD EPYC 9R14 96-Core Processor, 2 physical cores",
            "2026-01-02T03:04:05Z",
            "concbench 0.1.0 (commit 0123456789ab)",
            "median of 5 repetitions after 1 warm-up",
        ] {
            assert!(caption.contains(part), "{part}: {caption}");
        }
        assert!(tex.find("\\caption{").unwrap() > tex.find("\\begin{table}").unwrap());
        assert!(tex.trim_end().ends_with("\\end{table}"), "{tex}");
        // Only comment lines and the float: nothing between them but LaTeX that prints.
        let notes = &tex[tex.find("\\end{tabular}").unwrap()..];
        assert!(notes.contains("oversubscribed: more workers"), "{notes}");
        assert!(!notes.lines().any(|l| l.starts_with('%')), "{notes}");
    }

    #[test]
    fn report_md_shows_the_plot_only_when_it_was_written_beside_it() {
        let report = fixture::report();
        assert!(!markdown::MarkdownReporter
            .render(&report)
            .contains("speedup.svg"));
        let md = markdown::MarkdownReporter.render_with_figure(&report, "speedup.svg");
        assert!(
            md.contains("\n![Speedup against workers, one line per strategy](speedup.svg)\n"),
            "{md}"
        );
        assert!(md.find("](speedup.svg)").unwrap() < md.find("## Reading").unwrap());
    }

    #[test]
    fn workload_labels_name_every_parameter() {
        let mut spec = WorkloadSpec::new("io", 64, 7);
        spec.params.insert("wait_ms".into(), "10".into());
        assert_eq!(workload_label(&spec), "io (size=64, wait_ms=10, seed=7)");
    }
}
