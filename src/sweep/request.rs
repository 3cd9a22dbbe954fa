//! `concbench run` as one library call, [`run_request`]: the options as given
//! ([`RunRequest`]) are validated into a plan once, the plan's subject is built once (a job's
//! workload, or a service's configuration), the [`Sweep`] measures it into a complete report
//! (switch cost, slow CPUs, ceilings), and the report's files are written as one result set.
//! What the reader should hear along the way (progress, a raised limit, a long run, a busy
//! machine) comes out as [`RunEvent`]s; the CLI parses flags into a request, shows the events and
//! renders the report, nothing more.

use std::path::{Path, PathBuf};

use super::{CeilingSource, Sweep, SweepError, SwitchCost};
use crate::child::{Fault, FaultKind};
use crate::output::{prepare_out_dir, ResultSet};
use crate::plan::{PlanError, RunPlan, RunRequest};
use crate::report::RunReport;
use crate::runner::{Measurement, Progress};
use crate::timeline::parts::{parts_svg, parts_trace, PartsRow};
use crate::workload::{self, web::WebConfig, Stage, StageKind, Workload};

/// What a run tells its caller while it works.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum RunEvent {
    /// Before every execution (warm-ups included) and once at the end: for a progress display.
    Progress(Progress),
    /// A line for stderr, whole (`concbench: warning: ...`): the open-files limit raised for a
    /// service's connections, the length of a long run, a busy machine or CPUs that ran slow,
    /// a switch cost that could not be measured, CPUs of different kinds.
    Note(String),
}

/// A finished run: its report and the files written for it.
#[derive(Debug)]
pub struct RunOutcome {
    /// The complete report (render it with [`crate::report::Render`]).
    pub report: RunReport,
    /// Every file written into the request's `out` and `timeline` directories.
    pub written: Vec<PathBuf>,
}

/// Runs longer than this get an estimate of their length as a [`RunEvent::Note`].
const LONG_RUN_S: f64 = 180.0;

/// Run what `request` asks, as `concbench run` does: check it (a bad option, a directory that
/// cannot be written or a service whose connections the open-files limit refuses are
/// [`SweepError::Plan`], before any work), measure every row with the switch cost measured
/// first and the ceilings beside the rows (measured with `measure_ceilings`, else the cached
/// ones), then write `out` (every rendering, see [`crate::report`]) and `timeline` (the parts'
/// Gantt chart and Chrome trace of each row's median repetition) as one result set. A run that
/// fails part-way returns [`SweepError::Run`] with the rows measured before the failure, and
/// writes nothing: a directory holds one complete run.
pub fn run_request(
    request: &RunRequest,
    on_event: &mut dyn FnMut(RunEvent),
) -> Result<RunOutcome, SweepError> {
    let plan = RunPlan::from_request(request)?;
    for dir in request.out.iter().chain(&request.timeline) {
        prepare_out_dir(dir).map_err(PlanError)?;
    }
    let stuck_after = stuck_after(request.stuck_after_s)?;
    let fault = request.fault.as_ref().map(fault_of).transpose()?;
    let subject = Subject::of(&plan, request.timeline.is_some(), on_event)?;
    warn_if_long(&plan, subject.sequential_s(), on_event);
    let mut estimated = false;
    let mut on_progress = |p: Progress| {
        // After the first execution, say how long the whole run will take if that is long.
        if !estimated && p.done >= 1 && p.done < p.total {
            estimated = true;
            if let Some(line) = estimate(&p) {
                on_event(RunEvent::Note(line));
            }
        }
        on_event(RunEvent::Progress(p));
    };
    let sweep = match &subject {
        Subject::Job(w) => Sweep::from_plan(&**w, &plan),
        // The configuration checked above, not parsed again.
        Subject::Service(config) => {
            Sweep::of(super::Subject::Service(config.clone(), plan.spec.clone())).with_plan(&plan)
        }
    };
    let mut sweep = sweep
        .on_progress(&mut on_progress)
        .switch_cost(SwitchCost::Measure)
        .ceilings(if request.measure_ceilings {
            CeilingSource::Measure
        } else {
            CeilingSource::Cached
        });
    if let Some(fault) = fault {
        sweep = sweep.inject_fault_for_testing(fault);
    }
    if let Some(floor) = stuck_after {
        sweep = sweep.stuck_after(floor);
    }
    let (report, measurements) = sweep.run_keeping_measurements()?;
    for line in warnings(&report) {
        on_event(RunEvent::Note(line));
    }
    let mut set = ResultSet::new();
    if let (Some(dir), Subject::Job(workload)) = (&request.timeline, &subject) {
        add_parts_timeline(&mut set, dir, &**workload, &measurements);
    }
    if let Some(dir) = &request.out {
        crate::report::add_out_files(&mut set, dir, &report);
    }
    let written = set.commit().map_err(SweepError::Write)?;
    Ok(RunOutcome { report, written })
}

/// `stuck_after_s` as a duration, refused outside (0, one day].
fn stuck_after(seconds: Option<f64>) -> Result<Option<std::time::Duration>, PlanError> {
    match seconds {
        None => Ok(None),
        Some(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => {
            Ok(Some(std::time::Duration::from_secs_f64(s)))
        }
        Some(s) => Err(PlanError(format!(
            "--stuck-after {s} must be more than 0 and at most 86400 seconds"
        ))),
    }
}

/// The fault `(part, how)` asks for.
fn fault_of((part, how): &(usize, String)) -> Result<Fault, PlanError> {
    let kind = match how.as_str() {
        "crash" => FaultKind::Crash,
        "wrong-answer" => FaultKind::WrongAnswer,
        "hang" => FaultKind::Hang,
        other => return Err(PlanError(format!("unknown fault kind '{other}'"))),
    };
    Ok(Fault { part: *part, kind })
}

/// What the plan measures, built once: a job's workload, or a service's configuration.
enum Subject {
    Job(Box<dyn Workload>),
    Service(WebConfig),
}

impl Subject {
    /// Build the workload of `plan`, or check its service configuration and make room for its
    /// connections (saying so when the open-files limit is raised).
    fn of(
        plan: &RunPlan,
        timeline: bool,
        on_event: &mut dyn FnMut(RunEvent),
    ) -> Result<Subject, PlanError> {
        let usage = |e: workload::WorkloadError| PlanError(e.to_string());
        if !workload::registry::find(&plan.spec.name).is_some_and(|d| d.service) {
            return Ok(Subject::Job(workload::build(&plan.spec).map_err(usage)?));
        }
        if timeline {
            return Err(PlanError(format!(
                "--timeline draws the parts of a job; {} is a service, whose rows have none (its latency is in every row)",
                plan.spec.name
            )));
        }
        let config = WebConfig::from_spec(&plan.spec).map_err(usage)?;
        if let Some(note) = crate::service::make_room_for(config.connections)
            .map_err(|e| PlanError(e.to_string()))?
        {
            on_event(RunEvent::Note(format!("concbench: {note}")));
        }
        Ok(Subject::Service(config))
    }

    /// How long the sequential twin takes per repetition, when the subject knows.
    fn sequential_s(&self) -> Option<f64> {
        match self {
            Subject::Job(w) => w.expected_sequential_s(),
            Subject::Service(config) => Some(config.expected_sequential_s()),
        }
    }
}

/// Say before the first row when the sequential twin alone makes the run long.
fn warn_if_long(plan: &RunPlan, sequential_s: Option<f64>, on_event: &mut dyn FnMut(RunEvent)) {
    let executions = plan.rows().len() * (plan.warmup + plan.reps);
    if let Some(t) = sequential_s
        .filter(|t| *t > LONG_RUN_S / 10.0)
        .filter(|_| plan.strategies.iter().any(|s| s.is_sequential()))
    {
        on_event(RunEvent::Note(format!(
            "concbench: the sequential twin alone takes about {} per repetition ({} of its repetitions are planned, {executions} executions in all): this run will be long",
            format_duration(t),
            plan.warmup + plan.reps
        )));
    }
}

/// The estimate of the time left after `p`, when the whole run is long.
fn estimate(p: &Progress) -> Option<String> {
    let left = p.elapsed_s / p.done as f64 * (p.total - p.done) as f64;
    (p.elapsed_s + left > LONG_RUN_S).then(|| {
        format!(
            "concbench: this run will take about {} more ({} of {} executions done in {})",
            format_duration(left),
            p.done,
            p.total,
            format_duration(p.elapsed_s)
        )
    })
}

/// A duration for an estimate: seconds, minutes, hours or days, two significant digits.
fn format_duration(s: f64) -> String {
    match s {
        s if s < 90.0 => format!("{s:.0} s"),
        s if s < 5400.0 => format!("{:.0} min", s / 60.0),
        s if s < 2.0 * 86400.0 => format!("{:.1} h", s / 3600.0),
        s => format!("{:.0} days", s / 86400.0),
    }
}

/// What stderr should say about a finished run: a busy machine, a missing switch cost,
/// Windows' timer, CPUs of different kinds.
fn warnings(report: &RunReport) -> Vec<String> {
    let mut lines = Vec::new();
    lines.extend(report.machine.busy_warning("the run"));
    if let Some(note) = &report.method.switch_cost_note {
        lines.push(format!("concbench: warning: {note}"));
    }
    if cfg!(windows) {
        // Sleep rounds up to the 15.6 ms tick on Windows: say what the waits really took.
        let w = workload::io::achieved_waits();
        if w.count > 0 {
            lines.push(format!(
                "concbench: io waits in this process (high-resolution waitable timer): {} waits, asked {:.3} ms, took {:.3} ms on average",
                w.count,
                w.asked.as_secs_f64() * 1e3 / w.count as f64,
                w.achieved.as_secs_f64() * 1e3 / w.count as f64
            ));
        }
    }
    let most = report.rows.iter().map(|r| r.cores).max().unwrap_or(1);
    if let Some(w) = report.machine.core_types_warning(most) {
        lines.push(format!("concbench: warning: {w}"));
    }
    lines
}

/// Add the parts' Gantt chart and Chrome trace of one repetition per row (the one whose wall
/// time is the row's median) to the result set of `dir`.
fn add_parts_timeline(
    set: &mut ResultSet,
    dir: &Path,
    workload: &dyn Workload,
    measurements: &[Measurement],
) {
    let rows: Vec<PartsRow> = measurements
        .iter()
        .filter_map(|m| {
            let mut by_time: Vec<_> = m.runs.iter().collect();
            by_time.sort_by(|a, b| a.wall_s.total_cmp(&b.wall_s));
            let exec = by_time.get(by_time.len() / 2)?;
            let stages = if m.strategy.is_sequential() {
                vec![Stage {
                    name: "sequential twin",
                    kind: StageKind::Compute,
                }]
            } else {
                workload.stages(m.cores)
            };
            let label = format!("{} x{}", m.strategy, m.cores);
            Some(PartsRow::from_execution(label, exec, &stages))
        })
        .collect();
    for (name, text) in [
        ("timeline.svg", parts_svg(&rows)),
        ("trace.json", parts_trace(&rows)),
    ] {
        set.add(dir, name, text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(workload: &str) -> RunRequest {
        RunRequest {
            workload: workload.into(),
            cores: Some("1,2".into()),
            strategy: Some("sequential,multi-threaded".into()),
            size: Some(3),
            reps: 1,
            warmup: 0,
            params: vec![("wait_ms".into(), "0".into())],
            ..RunRequest::default()
        }
    }

    #[test]
    fn a_request_runs_into_a_report_and_its_files() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let parts = dir.path().join("parts");
        let mut events = Vec::new();
        let outcome = run_request(
            &RunRequest {
                out: Some(out.clone()),
                timeline: Some(parts.clone()),
                ..request("io")
            },
            &mut |e| events.push(e),
        )
        .unwrap();
        let rows: Vec<_> = outcome
            .report
            .rows
            .iter()
            .map(|r| (r.strategy.name(), r.cores))
            .collect();
        assert_eq!(
            rows,
            [
                ("sequential", 1),
                ("multi-threaded", 1),
                ("multi-threaded", 2)
            ]
        );
        for file in ["results.json", "report.md", "report.html"] {
            assert!(outcome.written.contains(&out.join(file)), "{file}");
        }
        for file in ["timeline.svg", "trace.json"] {
            assert!(outcome.written.contains(&parts.join(file)), "{file}");
        }
        // Progress before every execution and once at the end: 3 rows of 1 repetition.
        let progress: Vec<(usize, usize)> = events
            .iter()
            .filter_map(|e| match e {
                RunEvent::Progress(p) => Some((p.done, p.total)),
                RunEvent::Note(_) => None,
            })
            .collect();
        assert_eq!(progress.last(), Some(&(3, 3)), "{progress:?}");
    }

    #[test]
    fn a_bad_request_is_refused_before_any_work() {
        let check = |request: RunRequest, needle: &str| {
            let mut events = 0;
            let e = run_request(&request, &mut |_| events += 1).unwrap_err();
            assert!(matches!(e, SweepError::Plan(_)), "{e}");
            assert!(e.to_string().contains(needle), "{e}");
            assert_eq!(events, 0, "{needle}");
        };
        check(
            RunRequest {
                reps: 0,
                ..request("io")
            },
            "--reps 0",
        );
        check(
            RunRequest {
                stuck_after_s: Some(-1.0),
                ..request("io")
            },
            "--stuck-after -1",
        );
        let file = tempfile::NamedTempFile::new().unwrap();
        check(
            RunRequest {
                out: Some(file.path().to_path_buf()),
                ..request("io")
            },
            &file.path().display().to_string(),
        );
        check(
            RunRequest {
                timeline: Some(std::env::temp_dir()),
                params: Vec::new(),
                size: Some(10),
                ..request("web")
            },
            "is a service",
        );
    }

    #[test]
    fn durations_read_in_the_largest_fitting_unit() {
        assert_eq!(format_duration(42.0), "42 s");
        assert_eq!(format_duration(600.0), "10 min");
        assert_eq!(format_duration(3.0 * 3600.0), "3.0 h");
        assert_eq!(format_duration(5.0 * 86400.0), "5 days");
    }
}
