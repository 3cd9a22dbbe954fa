//! The `ctxswitch` result: every standard ping-pong case of [`super::switch_cost`] measured into
//! one [`CtxSwitchReport`], and that report laid out as a [`Document`] (terminal table,
//! Markdown, CSV, LaTeX, HTML page).
//!
//! Rows: thread and process × same-core and cross-core over pipes (comparable with
//! `perf bench sched pipe`), the futex variant for threads, and two async tasks on one thread. A
//! placement this process cannot make (cross-core with one physical core) is still listed, with
//! null figures and the reason.

use serde::{Deserialize, Serialize};

pub use super::switch_cost::PingPongPlan;
use super::switch_cost::{
    measure, Case, Kind, Mechanism, PingPlacement, SwitchCostError, SwitchCostRow,
    MIN_ROUND_TRIPS_FOR_SHARE,
};
use crate::machine::Machine;
use crate::report::document::{set_files, Block, Document};
use crate::report::json::pretty;
use crate::report::table::{Align, Table};

/// A row that could not be measured here, listed with null figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct UnavailableRow {
    /// `thread` or `process`.
    pub(crate) kind: Kind,
    /// `same-core` or `cross-core`.
    pub(crate) placement: PingPlacement,
    /// `pipe` or `futex`.
    pub(crate) mechanism: Mechanism,
    /// Always null.
    pub(crate) round_trip_ns: Option<f64>,
    /// Always null.
    pub(crate) switch_ns: Option<f64>,
    /// Why it was not measured.
    pub(crate) unavailable: String,
}

/// One line of the ctxswitch report.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum CtxRow {
    /// Measured.
    Measured(SwitchCostRow),
    /// Not measurable on this machine.
    Unavailable(UnavailableRow),
}

/// The whole `concbench ctxswitch` result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CtxSwitchReport {
    /// Where and when.
    pub(crate) machine: Machine,
    /// How, in one paragraph.
    pub(crate) method: String,
    /// The rows, in [`Case::standard`] order.
    pub(crate) rows: Vec<CtxRow>,
    /// The plan it was measured with (not in the JSON: read back from the rows, see
    /// [`CtxSwitchReport::plan`]).
    #[serde(skip)]
    pub(crate) measured_with: Option<PingPongPlan>,
}

impl crate::report::Render for CtxSwitchReport {
    fn render(&self, format: crate::report::Format) -> String {
        crate::report::document::render(&document(self), &pretty(self), format)
    }

    /// `ctxswitch.txt`, `ctxswitch.json`, `ctxswitch.md`, `ctxswitch.tex`, a CSV per table and
    /// `report.html`.
    fn files(&self) -> Vec<(String, String)> {
        set_files(&document(self), "ctxswitch", pretty(self))
    }
}

/// What the report says about the method, beside every figure.
pub(crate) const METHOD: &str = "Two parties pass a 4-byte token back and forth; each blocks until the token returns, so on one CPU every round trip is two context switches. round_trip_ns = elapsed / round trips (CLOCK_MONOTONIC), median over reps; switch_ns = round_trip_ns / 2 and includes the system calls that cause the switch (as perf bench sched pipe and lmbench lat_ctx count it). cross-core rows measure wake-up latency across cores, not a switch away from a running task. switches_per_round_trip is counted by the kernel (/proc/PID/task/TID/status) for both parties. The task row is two async tasks of one tokio current_thread runtime on one pinned thread, passing the token over two channels: each round trip is two task switches in user space, and the kernel counts none.";

impl CtxSwitchReport {
    /// The plan the rows were measured with (round trips and repetitions per row), read back
    /// from them; `None` when no row was measured.
    pub(crate) fn plan(&self) -> Option<PingPongPlan> {
        if self.measured_with.is_some() {
            return self.measured_with;
        }
        self.rows.iter().find_map(|r| match r {
            CtxRow::Measured(m) => PingPongPlan::new(m.round_trips as i64, m.reps as i64).ok(),
            CtxRow::Unavailable(_) => None,
        })
    }
}

/// A case that failed for a reason other than a missing second core.
#[derive(Debug, thiserror::Error)]
#[error("measuring {case}")]
pub struct CaseError {
    /// `thread same-core pipe`, say.
    pub(crate) case: String,
    /// What went wrong.
    #[source]
    pub(crate) source: SwitchCostError,
}

/// Measure every standard case, telling `progress` which one starts (`thread same-core pipe`,
/// say). A placement this machine cannot make becomes an `UnavailableRow`; any other failure
/// ends the measurement.
pub fn measure_ctxswitch(
    plan: &PingPongPlan,
    progress: &mut dyn FnMut(&str),
) -> Result<CtxSwitchReport, CaseError> {
    let machine = Machine::describe(&crate::cluster::context());
    let mut rows = Vec::new();
    for case in Case::standard() {
        progress(&case.label());
        match measure(case, plan) {
            Ok(r) => rows.push(CtxRow::Measured(r)),
            Err(e @ SwitchCostError::NoSecondCore(_)) => {
                rows.push(CtxRow::Unavailable(UnavailableRow {
                    kind: case.kind,
                    placement: case.placement,
                    mechanism: case.mechanism,
                    round_trip_ns: None,
                    switch_ns: None,
                    unavailable: e.to_string(),
                }))
            }
            Err(source) => {
                return Err(CaseError {
                    case: format!(
                        "{} {} {}",
                        case.kind.name(),
                        case.placement.name(),
                        case.mechanism.name()
                    ),
                    source,
                })
            }
        }
    }
    Ok(CtxSwitchReport {
        machine,
        method: METHOD.into(),
        rows,
        measured_with: Some(*plan),
    })
}

/// The task row against the same-core thread pipe row, in one sentence (none when either is
/// missing).
fn task_vs_kernel(report: &CtxSwitchReport) -> Option<String> {
    let find = |kind: Kind, mechanism: Mechanism| {
        report.rows.iter().find_map(|r| match r {
            CtxRow::Measured(m)
                if m.kind == kind
                    && m.mechanism == mechanism
                    && m.placement == PingPlacement::SameCore =>
            {
                Some(m)
            }
            _ => None,
        })
    };
    match (
        find(Kind::Task, Mechanism::Channel),
        find(Kind::Thread, Mechanism::Pipe),
    ) {
        (Some(t), Some(k)) if t.switch_ns > 0.0 => {
            let ratio = k.switch_ns / t.switch_ns;
            let against = if ratio >= 1.0 {
                format!("{ratio:.1}x cheaper than")
            } else {
                format!("{:.1}x the cost of", 1.0 / ratio)
            };
            Some(format!(
                "task: two async tasks on one thread (tokio current_thread, channels): a task switch takes {:.0} ns in user space ({:.2} kernel switches per round trip), {against} the same-core thread switch ({:.0} ns) measured in this run.",
                t.switch_ns, t.switches_per_round_trip, k.switch_ns
            ))
        }
        _ => None,
    }
}

/// The report laid out once for every format: the machine and plan, the table of rows, and
/// what the columns mean, with the `perf bench sched pipe` command to compare against.
pub(crate) fn document(report: &CtxSwitchReport) -> Document {
    let plan = report.plan();
    use Align::*;
    let cols = [
        ("kind", Left),
        ("placement", Left),
        ("mechanism", Left),
        ("cpus", Left),
        ("round trip (µs)", Right),
        ("min (µs)", Right),
        ("max (µs)", Right),
        ("switch (µs)", Right),
        ("switches/round trip", Right),
        ("cpu/round trip (µs)", Right),
        ("cpu share", Right),
    ];
    let us = |ns: f64| format!("{:.2}", ns / 1000.0);
    let rows = report
        .rows
        .iter()
        .map(|r| match r {
            CtxRow::Measured(r) => vec![
                r.kind.name().into(),
                r.placement.name().into(),
                r.mechanism.name().into(),
                format!("{},{}", r.cpus[0], r.cpus[1]),
                us(r.round_trip_ns),
                us(r.round_trip_min_ns),
                us(r.round_trip_max_ns),
                us(r.switch_ns),
                format!("{:.2}", r.switches_per_round_trip),
                us(r.cpu_ns_per_round_trip),
                r.cpu_share
                    .map_or_else(|| "-".into(), |c| format!("{:.0}%", c * 100.0)),
            ],
            CtxRow::Unavailable(u) => {
                let mut v = vec![
                    u.kind.name().into(),
                    u.placement.name().into(),
                    u.mechanism.name().into(),
                ];
                v.extend(std::iter::repeat("-".to_string()).take(8));
                v
            }
        })
        .collect();
    let table = Table {
        headers: cols.iter().map(|(h, _)| h.to_string()).collect(),
        align: cols.iter().map(|(_, a)| *a).collect(),
        rows,
    };
    let mut notes = vec![
        "round trip: median over reps (min, max beside it); switch = round trip / 2, system calls included.".to_string(),
        "same-core: both pinned to one CPU, two true switches per round trip; cross-core: wake-up latency across cores.".to_string(),
    ];
    notes.extend(task_vs_kernel(report));
    for r in &report.rows {
        if let CtxRow::Unavailable(u) = r {
            notes.push(format!(
                "{} {} {}: not measured: {}",
                u.kind.name(),
                u.placement.name(),
                u.mechanism.name(),
                u.unavailable
            ));
        }
    }
    if let Some(plan) = &plan {
        let total = plan.round_trips * plan.reps as u64;
        notes.push(format!(
            "compare in the same minute: taskset -c {cpu} perf bench sched pipe -l {total} [-T for threads] (same-core), \
             perf bench sched pipe -l {total} [-T] (cross-core; perf does not pin)",
            cpu = crate::topology::Topology::get().first_cpu()
        ));
    }
    if report
        .rows
        .iter()
        .any(|r| matches!(r, CtxRow::Measured(m) if m.cpu_share.is_none()))
    {
        notes.push(format!(
            "cpu share -: fewer than {MIN_ROUND_TRIPS_FOR_SHARE} round trips timed, so the parties' CPU time counts mostly their start, not the ping-pong"
        ));
    }
    let mut doc = Document::new("concbench ctxswitch: context-switch cost by ping-pong");
    doc.push(Block::Facts(vec![
        ("machine".into(), report.machine.summary()),
        ("date".into(), report.machine.date.clone()),
        ("command".into(), report.machine.command.clone()),
        (
            "plan".into(),
            match &plan {
                Some(plan) => format!(
                    "{} reps of {} round trips per row",
                    plan.reps, plan.round_trips
                ),
                None => "no row was measured".into(),
            },
        ),
    ]))
    .push(Block::Table {
        id: "ctxswitch".into(),
        caption: "Cost of one context switch, by kind of party, placement and mechanism".into(),
        table,
    })
    .push(Block::Notes(notes))
    .push(Block::Heading("Method".into()))
    .push(Block::Text(report.method.clone()));
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::switch_cost::{Kind, Mechanism, PingPlacement};

    #[test]
    fn unavailable_rows_serialise_with_null_figures() {
        let r = CtxRow::Unavailable(UnavailableRow {
            kind: Kind::Process,
            placement: PingPlacement::CrossCore,
            mechanism: Mechanism::Pipe,
            round_trip_ns: None,
            switch_ns: None,
            unavailable: "one core".into(),
        });
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["kind"], "process");
        assert_eq!(v["placement"], "cross-core");
        assert!(v["round_trip_ns"].is_null());
    }
}
