//! `concbench ctxswitch`: the cost of one context switch, by ping-pong (see
//! [`concbench::experiment::switch_cost`]), printed as a table or as one JSON document.
//!
//! Rows: thread and process × same-core and cross-core over pipes (comparable with
//! `perf bench sched pipe`), then the futex variant for threads. A placement this process cannot
//! make (cross-core with one physical core) is still listed, with null figures and the reason.

use std::io::IsTerminal;

use serde::Serialize;

use super::{print_stdout, CliError, PlainFormat as Format};
use concbench::experiment::switch_cost::{
    measure, Case, Kind, Mechanism, PingPlacement, PingPongPlan, SwitchCostError, SwitchCostRow,
};
use concbench::machine::Machine;
use concbench::report::table::{Align, Table};

/// Options of `concbench ctxswitch`.
#[derive(Debug, clap::Args)]
pub struct CtxSwitchArgs {
    /// Round trips per timed repetition (each round trip is two switches).
    #[arg(long, default_value_t = 20_000, allow_negative_numbers = true)]
    pub round_trips: i64,
    /// Timed repetitions per row (the median is reported, with min and max).
    #[arg(long, default_value_t = 5, allow_negative_numbers = true)]
    pub reps: i64,
    /// Output format on stdout.
    #[arg(long, short, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also write ctxswitch.txt (the table) and ctxswitch.json to this directory (atomically).
    #[arg(long, short, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,
    /// No progress lines or notes on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// A row that could not be measured here, listed with null figures.
#[derive(Debug, Clone, Serialize)]
pub struct UnavailableRow {
    /// `thread` or `process`.
    pub kind: Kind,
    /// `same-core` or `cross-core`.
    pub placement: PingPlacement,
    /// `pipe` or `futex`.
    pub mechanism: Mechanism,
    /// Always null.
    pub round_trip_ns: Option<f64>,
    /// Always null.
    pub switch_ns: Option<f64>,
    /// Why it was not measured.
    pub unavailable: String,
}

/// One line of the ctxswitch report.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum CtxRow {
    /// Measured.
    Measured(SwitchCostRow),
    /// Not measurable on this machine.
    Unavailable(UnavailableRow),
}

/// The whole `concbench ctxswitch` result.
#[derive(Debug, Clone, Serialize)]
pub struct CtxSwitchReport {
    /// Where and when.
    pub machine: Machine,
    /// How, in one paragraph.
    pub method: String,
    /// The rows, in [`Case::standard`] order.
    pub rows: Vec<CtxRow>,
}

/// What the report says about the method, beside every figure.
pub const METHOD: &str = "Two parties pass a 4-byte token back and forth; each blocks until the token returns, so on one CPU every round trip is two context switches. round_trip_ns = elapsed / round trips (CLOCK_MONOTONIC), median over reps; switch_ns = round_trip_ns / 2 and includes the system calls that cause the switch (as perf bench sched pipe and lmbench lat_ctx count it). cross-core rows measure wake-up latency across cores, not a switch away from a running task. switches_per_round_trip is counted by the kernel (/proc/PID/task/TID/status) for both parties. The task row is two async tasks of one tokio current_thread runtime on one pinned thread, passing the token over two channels: each round trip is two task switches in user space, and the kernel counts none.";

/// Run `concbench ctxswitch` with parsed options.
pub fn cmd_ctxswitch(args: CtxSwitchArgs) -> Result<(), CliError> {
    let plan = PingPongPlan::new(args.round_trips, args.reps).map_err(CliError::Usage)?;
    super::prepare_out(args.out.as_deref())?;
    let show = !args.quiet && std::io::stderr().is_terminal();
    let report = ctxswitch_report(&plan, &mut |case| {
        if show {
            eprintln!(
                "measuring {} {} {} ...",
                case.kind.name(),
                case.placement.name(),
                case.mechanism.name()
            );
        }
    })?;
    let table = render_table(&report, &plan);
    let mut json = serde_json::to_string_pretty(&report).expect("report serialises");
    json.push('\n');
    print_stdout(match args.format {
        Format::Table => &table,
        Format::Json => &json,
    })?;
    if let Some(dir) = &args.out {
        let files = vec![
            ("ctxswitch.txt".into(), table),
            ("ctxswitch.json".into(), json),
        ];
        super::write_out(dir, files, args.quiet)?;
    }
    Ok(())
}

/// Measure every standard case, telling `progress` which one starts.
pub fn ctxswitch_report(
    plan: &PingPongPlan,
    progress: &mut dyn FnMut(&Case),
) -> Result<CtxSwitchReport, CliError> {
    let machine = Machine::describe();
    let mut rows = Vec::new();
    for case in Case::standard() {
        progress(&case);
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
            Err(e) => {
                return Err(CliError::Failed(anyhow::Error::new(e).context(format!(
                    "measuring {} {} {}",
                    case.kind.name(),
                    case.placement.name(),
                    case.mechanism.name()
                ))))
            }
        }
    }
    Ok(CtxSwitchReport {
        machine,
        method: METHOD.into(),
        rows,
    })
}

/// The task row against the same-core thread pipe row, in one line (empty when either is
/// missing).
fn task_vs_kernel_line(report: &CtxSwitchReport) -> String {
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
        (Some(t), Some(k)) if t.switch_ns > 0.0 => format!(
            "task: two async tasks on one thread (tokio current_thread, channels): a task switch takes {:.0} ns in user space ({:.2} kernel switches per round trip), {:.0}x cheaper than the same-core thread switch ({:.0} ns) measured in this run.\n",
            t.switch_ns,
            t.switches_per_round_trip,
            k.switch_ns / t.switch_ns,
            k.switch_ns
        ),
        _ => String::new(),
    }
}

/// Nanoseconds as microseconds with two decimals.
pub fn format_us(ns: f64) -> String {
    format!("{:.2} µs", ns / 1000.0)
}

fn render_table(report: &CtxSwitchReport, plan: &PingPongPlan) -> String {
    use Align::*;
    let cols = [
        ("kind", Left),
        ("placement", Left),
        ("mechanism", Left),
        ("cpus", Left),
        ("round trip", Right),
        ("min", Right),
        ("max", Right),
        ("switch", Right),
        ("switches/round trip", Right),
        ("cpu/round trip", Right),
        ("cpu share", Right),
    ];
    let rows = report
        .rows
        .iter()
        .map(|r| match r {
            CtxRow::Measured(r) => vec![
                r.kind.name().into(),
                r.placement.name().into(),
                r.mechanism.name().into(),
                format!("{},{}", r.cpus[0], r.cpus[1]),
                format_us(r.round_trip_ns),
                format_us(r.round_trip_min_ns),
                format_us(r.round_trip_max_ns),
                format_us(r.switch_ns),
                format!("{:.2}", r.switches_per_round_trip),
                format_us(r.cpu_ns_per_round_trip),
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
    let total = plan.round_trips * plan.reps as u64;
    let mut out = format!(
        "context-switch cost by ping-pong: {} reps of {} round trips per row, on {}\n\n",
        plan.reps,
        plan.round_trips,
        report.machine.summary()
    );
    out.push_str(&table.to_terminal());
    out.push_str(
        "\nround trip: median over reps (min, max beside it); switch = round trip / 2, system calls included.\n\
         same-core: both pinned to one CPU, two true switches per round trip; cross-core: wake-up latency across cores.\n",
    );
    out.push_str(&task_vs_kernel_line(report));
    for r in &report.rows {
        if let CtxRow::Unavailable(u) = r {
            out.push_str(&format!(
                "{} {} {}: not measured: {}\n",
                u.kind.name(),
                u.placement.name(),
                u.mechanism.name(),
                u.unavailable
            ));
        }
    }
    out.push_str(&format!(
        "compare in the same minute: taskset -c {cpu} perf bench sched pipe -l {total} [-T for threads] (same-core), \
         perf bench sched pipe -l {total} [-T] (cross-core; perf does not pin)\n",
        cpu = concbench::topology::Topology::get().first_cpu()
    ));
    if report
        .rows
        .iter()
        .any(|r| matches!(r, CtxRow::Measured(m) if m.cpu_share.is_none()))
    {
        out.push_str(&format!(
            "cpu share -: fewer than {} round trips timed, so the parties' CPU time counts mostly their start, not the ping-pong\n",
            concbench::experiment::switch_cost::MIN_ROUND_TRIPS_FOR_SHARE
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microseconds_have_two_decimals() {
        assert_eq!(format_us(12_345.0), "12.35 µs");
        assert_eq!(format_us(0.0), "0.00 µs");
    }

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
