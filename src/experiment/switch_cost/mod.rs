//! The cost of one context switch, measured by ping-pong in the manner of `perf bench sched pipe`
//! and lmbench's `lat_ctx`.
//!
//! Two parties pass a 4-byte token back and forth. Each waits in a blocking call (a pipe `read`,
//! or a futex wait) until the token comes back, so when both are pinned to the same CPU every
//! round trip forces two context switches: ping → pong → ping. The figures:
//!
//! - `round_trip_ns`: elapsed time of R repetitions of N round trips, divided by N; the median over
//!   the repetitions, with min, max and the order-statistic interval of the median as its spread;
//! - `switch_ns` = `round_trip_ns / 2`: one switch, *including* the system calls that cause it
//!   (a pipe write and read, or a futex wake and wait), as lmbench and perf count it;
//! - `switches_per_round_trip`: the context switches the kernel counted for both parties
//!   (`/proc/PID/task/TID/status`) divided by the round trips — ≈ 2 shows that every round trip
//!   really switched.
//!
//! Rows: kind `thread` (two threads of this process) or `process` (this process and a peer
//! process), placement `same-core` (both pinned to one CPU: true switches) or `cross-core` (pinned
//! to two physical cores: what is measured is wake-up latency across cores, no switch away from a
//! running task), mechanism `pipe` (both kinds, like perf) or `futex` (threads only: a bare
//! `FUTEX_WAIT`/`FUTEX_WAKE` pair, the kernel half of a condvar, so users see what the pipe adds).
//! Kind `task` (mechanism `channel`, same-core only) is the user-space switch: two async tasks on
//! ONE thread of tokio's `current_thread` runtime pass the token over two channels; each round
//! trip is two task switches (a task parks on its empty channel and the runtime polls the other),
//! and the kernel counts none of them (`switches_per_round_trip` ≈ 0).
//!
//! The peer process is a child of the one child protocol ([`crate::child`], job
//! `PingPongPeer`) — never a `fork()` of a process that has threads. Its stdin and stdout are the
//! two pipes; it dies with its parent and exits when its stdin is closed ([`serve_peer`]).

use crate::start::StartError;

mod ping;

pub(crate) use ping::serve_peer;
use ping::{process_pipe, task_channel, thread_futex, thread_pipe, Timed};
use serde::{Deserialize, Serialize};

use crate::measure::stats::summarize;
use crate::topology::Topology;

/// Most round trips one repetition may ask for.
pub(crate) const MAX_ROUND_TRIPS: u64 = 100_000_000;
/// Most repetitions one row may ask for.
pub(crate) const MAX_REPS: u64 = 10_000;

/// Round trips between two clock readings inside a repetition.
const CHUNK: u64 = 64;

/// Threads of this process, or worker processes (one type for the whole crate).
pub(crate) use crate::strategy::WorkerKind as Kind;

/// Where the two parties are pinned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum PingPlacement {
    /// Both on one CPU: each round trip is two true context switches.
    SameCore,
    /// On two distinct physical cores: each round trip is two cross-core wake-ups.
    CrossCore,
}

impl PingPlacement {
    /// The name in reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            PingPlacement::SameCore => "same-core",
            PingPlacement::CrossCore => "cross-core",
        }
    }

    /// The CPUs of ping and pong, or `None` when this process cannot place them so (cross-core
    /// with a single physical core).
    pub(crate) fn cpus(self) -> Option<[usize; 2]> {
        let cores = Topology::get().core_cpus();
        match self {
            PingPlacement::SameCore => Some([cores[0], cores[0]]),
            PingPlacement::CrossCore => (cores.len() >= 2).then(|| [cores[0], cores[1]]),
        }
    }
}

/// How the token travels and the waiting party blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Mechanism {
    /// Two pipes, 4-byte blocking `write`/`read`, as `perf bench sched pipe`.
    Pipe,
    /// One shared word, `FUTEX_WAKE` / `FUTEX_WAIT` (threads only).
    Futex,
    /// Two tokio channels between two async tasks on one thread (tasks only).
    Channel,
}

impl Mechanism {
    /// The name in reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Mechanism::Pipe => "pipe",
            Mechanism::Futex => "futex",
            Mechanism::Channel => "channel",
        }
    }
}

/// One configuration of the ping-pong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Case {
    /// Threads or processes.
    pub(crate) kind: Kind,
    /// Same core or across cores.
    pub(crate) placement: PingPlacement,
    /// Pipe or futex.
    pub(crate) mechanism: Mechanism,
}

impl Case {
    /// The row's name as reports print it: `thread same-core pipe`.
    pub(crate) fn label(&self) -> String {
        format!(
            "{} {} {}",
            self.kind.name(),
            self.placement.name(),
            self.mechanism.name()
        )
    }

    /// The rows of `concbench ctxswitch`, in report order: thread and process × same-core and
    /// cross-core over pipes (the four rows to compare with perf), then the futex variant of the
    /// thread rows, then the task row (two async tasks on one thread: the user-space switch).
    /// Where threads cannot be pinned (macOS) the same-core thread and process rows are left
    /// out: nothing would put both parties on one core, so they would not measure switches.
    pub(crate) fn standard() -> Vec<Case> {
        let mut v = Vec::new();
        for kind in [Kind::Thread, Kind::Process] {
            for placement in [PingPlacement::SameCore, PingPlacement::CrossCore] {
                v.push(Case {
                    kind,
                    placement,
                    mechanism: Mechanism::Pipe,
                });
            }
        }
        for placement in [PingPlacement::SameCore, PingPlacement::CrossCore] {
            v.push(Case {
                kind: Kind::Thread,
                placement,
                mechanism: Mechanism::Futex,
            });
        }
        if !crate::topology::placement_enforced() {
            v.retain(|c| c.placement != PingPlacement::SameCore);
        }
        v.push(Case::task());
        v
    }

    /// Two async tasks on one thread over channels: the user-space switch.
    pub(crate) fn task() -> Case {
        Case {
            kind: Kind::Task,
            placement: PingPlacement::SameCore,
            mechanism: Mechanism::Channel,
        }
    }

    /// The `perf bench sched pipe` command to compare this row with, if there is one.
    pub(crate) fn perf_command(&self, round_trips_total: u64) -> Option<String> {
        if self.mechanism != Mechanism::Pipe {
            return None;
        }
        let t = if self.kind == Kind::Thread { " -T" } else { "" };
        Some(match self.placement {
            PingPlacement::SameCore => format!(
                "taskset -c {} perf bench sched pipe -l {round_trips_total}{t}",
                Topology::get().first_cpu()
            ),
            PingPlacement::CrossCore => format!("perf bench sched pipe -l {round_trips_total}{t}"),
        })
    }
}

/// How much to measure: round trips per repetition and repetitions, each case's warm-up and
/// time limit derived from them ([`PingPongPlan::new`]). `concbench ctxswitch` asks for
/// `PingPongPlan::new(20_000, 5)` unless told otherwise (a few seconds for all cases on an idle
/// machine); `PingPongPlan::new(2_000, 3)` is a quick look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PingPongPlan {
    /// Round trips per timed repetition.
    pub(crate) round_trips: u64,
    /// Timed repetitions.
    pub(crate) reps: usize,
    /// Untimed round trips before the first repetition (caches, page faults, CPU frequency).
    pub(crate) warmup_round_trips: u64,
    /// A repetition stops early once it has run this long (ns), so slow placements (cross-core
    /// wake-ups of idle virtual CPUs can take 100 µs) stay quick to ask for.
    pub(crate) max_rep_ns: u64,
}

impl PingPongPlan {
    /// Check the numbers (the error is one line naming the `concbench ctxswitch` flag): round
    /// trips 1 to 100,000,000, repetitions 1 to 10,000. The warm-up is a tenth of one repetition
    /// (at least 100 round trips); a repetition stops early after 0.5 s.
    pub fn new(round_trips: i64, reps: i64) -> Result<PingPongPlan, String> {
        if round_trips < 1 || round_trips as u64 > MAX_ROUND_TRIPS {
            return Err(format!(
                "--round-trips {round_trips} must be between 1 and {MAX_ROUND_TRIPS}"
            ));
        }
        if reps < 1 || reps as u64 > MAX_REPS {
            return Err(format!("--reps {reps} must be between 1 and {MAX_REPS}"));
        }
        Ok(PingPongPlan {
            round_trips: round_trips as u64,
            reps: reps as usize,
            warmup_round_trips: (round_trips as u64 / 10).max(100),
            max_rep_ns: 500_000_000,
        })
    }

    /// The quick measurement `concbench run` makes once per invocation for its switch overhead:
    /// 3 × 1000 same-core round trips, a few tens of milliseconds.
    pub(crate) fn quick() -> PingPongPlan {
        PingPongPlan {
            round_trips: 1000,
            reps: 3,
            warmup_round_trips: 200,
            max_rep_ns: 50_000_000,
        }
    }
}

/// One row of `concbench ctxswitch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SwitchCostRow {
    /// `thread` or `process`.
    pub(crate) kind: Kind,
    /// `same-core` or `cross-core`.
    pub(crate) placement: PingPlacement,
    /// `pipe` or `futex`.
    pub(crate) mechanism: Mechanism,
    /// CPUs ping and pong were pinned to (and seen on, checked with `sched_getcpu`).
    pub(crate) cpus: [usize; 2],
    /// Round trips asked for per repetition.
    pub(crate) round_trips: u64,
    /// Round trips made in all timed repetitions (fewer than asked when a repetition reached
    /// its time cap).
    pub(crate) round_trips_timed: u64,
    /// Timed repetitions.
    pub(crate) reps: usize,
    /// Median over the repetitions of (elapsed / round trips), ns.
    pub(crate) round_trip_ns: f64,
    /// Fastest repetition's round trip, ns.
    pub(crate) round_trip_min_ns: f64,
    /// Slowest repetition's round trip, ns.
    pub(crate) round_trip_max_ns: f64,
    /// Bootstrap 95% CI of the median round trip, ns.
    pub(crate) round_trip_ci95_ns: [f64; 2],
    /// One switch: `round_trip_ns / 2`.
    pub(crate) switch_ns: f64,
    /// Context switches the kernel counted for both parties (voluntary + involuntary) per round
    /// trip, over all timed repetitions.
    pub(crate) switches_per_round_trip: f64,
    /// On-CPU time of both parties per round trip, ns (`/proc/PID/task/TID/schedstat`): the
    /// round trip without the time other tasks took from the pinned CPUs.
    pub(crate) cpu_ns_per_round_trip: f64,
    /// Share of the pinned CPUs' time (over the timed repetitions) that the two parties ran:
    /// near 1 for same-core on an otherwise idle CPU. Lower means other tasks, or idle waits,
    /// took the rest, and `round_trip_ns` includes that time (as perf's figure does). Null below
    /// [`MIN_ROUND_TRIPS_FOR_SHARE`] timed round trips, where starting the parties outweighs them.
    pub(crate) cpu_share: Option<f64>,
    /// Every repetition's round trip, ns.
    pub(crate) samples_ns: Vec<f64>,
    /// The `perf bench sched pipe` command that measures the same thing (pipe rows only).
    pub(crate) compare_with: Option<String>,
    /// How the figure was obtained, in one sentence.
    pub(crate) method: String,
}

/// A measurement that could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum SwitchCostError {
    /// The placement needs more physical cores than this process may use.
    #[error("{0} needs two physical cores; this process may use one")]
    NoSecondCore(&'static str),
    /// The futex mechanism exists only between threads here.
    #[error("the futex ping-pong is measured between threads only")]
    FutexNeedsThreads,
    /// Tasks ping-pong over channels, on one thread (one core) only.
    #[error("the task ping-pong is measured over channels between tasks of one thread only")]
    ChannelNeedsTasks,
    /// A system call failed.
    #[error("{what}: {source}")]
    Os {
        /// What was being done.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The system refused to start a thread of the ping-pong (a limit).
    #[error(transparent)]
    Start(#[from] StartError),
    /// The peer process could not be started or broke off.
    #[error("ping-pong peer process: {0}")]
    Peer(String),
}

/// `round_trips` round trips took `elapsed_ns`: the time of one.
pub(crate) fn round_trip_ns(elapsed_ns: u64, round_trips: u64) -> f64 {
    elapsed_ns as f64 / round_trips.max(1) as f64
}

/// One context switch from one round trip: each round trip is two switches.
pub(crate) fn switch_ns_of_round_trip(round_trip_ns: f64) -> f64 {
    round_trip_ns / 2.0
}

/// Fewer timed round trips than this give no [`SwitchCostRow::cpu_share`]: the parties' CPU
/// time then counts mostly their start (`--round-trips 1` showed a CPU time 14× the round
/// trip), not the ping-pong.
pub(crate) const MIN_ROUND_TRIPS_FOR_SHARE: u64 = 100;

/// [`cpu_share`], or `None` below [`MIN_ROUND_TRIPS_FOR_SHARE`] round trips.
pub(crate) fn cpu_share_of(
    round_trips: u64,
    run_ns: u64,
    elapsed_ns: u64,
    cpus: usize,
) -> Option<f64> {
    (round_trips >= MIN_ROUND_TRIPS_FOR_SHARE).then(|| cpu_share(run_ns, elapsed_ns, cpus))
}

/// Share of `cpus` CPUs' time over `elapsed_ns` that `run_ns` of work filled, clamped to [0, 1].
pub(crate) fn cpu_share(run_ns: u64, elapsed_ns: u64, cpus: usize) -> f64 {
    if elapsed_ns == 0 || cpus == 0 {
        return 0.0;
    }
    (run_ns as f64 / (elapsed_ns as f64 * cpus as f64)).clamp(0.0, 1.0)
}

fn distinct_cpus(cpus: [usize; 2]) -> usize {
    if cpus[0] == cpus[1] {
        1
    } else {
        2
    }
}

/// Turn the timed repetitions into a row.
fn row_of(case: Case, cpus: [usize; 2], plan: &PingPongPlan, timed: &Timed) -> SwitchCostRow {
    let s = summarize(&timed.samples_ns);
    let total = timed.round_trips;
    let method = format!(
        "{} {}s pinned to CPUs {} and {}; {} reps of {} round trips (or {} s) of a 4-byte token ({}), after {} untimed; round trip = elapsed / round trips on CLOCK_MONOTONIC, median over reps; switch = round trip / 2 (system calls included)",
        case.kind.name(),
        case.kind.name(),
        cpus[0],
        cpus[1],
        plan.reps,
        plan.round_trips,
        plan.max_rep_ns as f64 / 1e9,
        match case.mechanism {
            Mechanism::Pipe => "blocking write/read on two pipes, as perf bench sched pipe",
            Mechanism::Futex => "FUTEX_WAKE/FUTEX_WAIT on one shared word",
            Mechanism::Channel =>
                "two unbounded tokio mpsc channels between two tasks of one current_thread runtime, on one thread",
        },
        plan.warmup_round_trips,
    );
    SwitchCostRow {
        kind: case.kind,
        placement: case.placement,
        mechanism: case.mechanism,
        cpus,
        round_trips: plan.round_trips,
        round_trips_timed: total,
        reps: plan.reps,
        round_trip_ns: s.median,
        round_trip_min_ns: s.min,
        round_trip_max_ns: s.max,
        round_trip_ci95_ns: s.ci.map_or([s.median, s.median], |c| c.ends()),
        switch_ns: switch_ns_of_round_trip(s.median),
        switches_per_round_trip: timed.stats.switches as f64 / total.max(1) as f64,
        cpu_ns_per_round_trip: timed.stats.run_ns as f64 / total.max(1) as f64,
        cpu_share: cpu_share_of(
            total,
            timed.stats.run_ns,
            timed.elapsed_ns,
            distinct_cpus(cpus),
        ),
        samples_ns: timed.samples_ns.clone(),
        compare_with: case.perf_command(total),
        method,
    }
}

/// Measure one case. The calling thread's affinity is left alone: ping and pong run on threads
/// of their own (and, for `process`, in a peer process).
pub(crate) fn measure(case: Case, plan: &PingPongPlan) -> Result<SwitchCostRow, SwitchCostError> {
    let cpus = case
        .placement
        .cpus()
        .ok_or(SwitchCostError::NoSecondCore(case.placement.name()))?;
    let timed = match (case.kind, case.mechanism) {
        (Kind::Thread, Mechanism::Pipe) => thread_pipe(cpus, plan)?,
        (Kind::Thread, Mechanism::Futex) => thread_futex(cpus, plan)?,
        (Kind::Process, Mechanism::Pipe) => process_pipe(cpus, plan)?,
        (Kind::Process, Mechanism::Futex) => return Err(SwitchCostError::FutexNeedsThreads),
        (Kind::Task, Mechanism::Channel) if case.placement == PingPlacement::SameCore => {
            task_channel(cpus[0], plan)?
        }
        (Kind::Task, _) | (_, Mechanism::Channel) => {
            return Err(SwitchCostError::ChannelNeedsTasks)
        }
    };
    Ok(row_of(case, cpus, plan, &timed))
}

/// The same-core thread pipe switch cost in ns, measured quickly ([`PingPongPlan::quick`], a few
/// tens of milliseconds): what `concbench run` multiplies its switch counts by.
///
/// It is half the on-CPU time of both parties per round trip (`cpu_ns_per_round_trip / 2`), so
/// time that other tasks on a shared machine take from the CPU is not counted as switching; where
/// the kernel keeps no schedstat it falls back to `switch_ns`.
pub(crate) fn quick_same_core_switch_ns() -> Result<f64, SwitchCostError> {
    let case = Case {
        kind: Kind::Thread,
        placement: PingPlacement::SameCore,
        mechanism: Mechanism::Pipe,
    };
    let row = measure(case, &PingPongPlan::quick())?;
    Ok(if row.cpu_ns_per_round_trip > 0.0 {
        switch_ns_of_round_trip(row.cpu_ns_per_round_trip.min(row.round_trip_ns))
    } else {
        row.switch_ns
    })
}

#[cfg(test)]
mod task_tests {
    use super::*;

    #[test]
    fn the_task_ping_pong_switches_without_the_kernel() {
        let plan = PingPongPlan::new(2_000, 3).unwrap();
        let row = measure(Case::task(), &plan).unwrap();
        assert_eq!(row.round_trips_timed, 6_000);
        assert!(row.switch_ns > 0.0);
        // Two tasks on one thread: the kernel switches far less than twice per round trip.
        assert!(
            row.switches_per_round_trip < 0.5,
            "{}",
            row.switches_per_round_trip
        );
        let bad = Case {
            mechanism: Mechanism::Pipe,
            ..Case::task()
        };
        assert!(measure(bad, &plan).is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::ping::TaskStats;
    use super::*;

    #[test]
    fn round_trip_and_switch_arithmetic() {
        assert_eq!(round_trip_ns(10_000_000, 1000), 10_000.0);
        assert_eq!(switch_ns_of_round_trip(10_000.0), 5_000.0);
        assert_eq!(round_trip_ns(500, 0), 500.0);
    }

    #[test]
    fn rows_summarise_their_repetitions() {
        let case = Case::standard()[0];
        let plan = PingPongPlan::new(1000, 3).unwrap();
        let timed = Timed {
            samples_ns: vec![12_000.0, 10_000.0, 11_000.0],
            elapsed_ns: 33_000_000,
            round_trips: 3000,
            stats: TaskStats {
                switches: 6000,
                run_ns: 30_000_000,
            },
        };
        let row = row_of(case, [0, 0], &plan, &timed);
        assert_eq!(row.round_trip_ns, 11_000.0);
        assert_eq!(row.switch_ns, 5_500.0);
        assert_eq!(
            (row.round_trip_min_ns, row.round_trip_max_ns),
            (10_000.0, 12_000.0)
        );
        assert_eq!(row.switches_per_round_trip, 2.0);
        assert_eq!(row.cpu_ns_per_round_trip, 10_000.0);
        assert!((row.cpu_share.unwrap() - 30.0 / 33.0).abs() < 1e-12);
        assert!(row.round_trip_ci95_ns[0] <= 11_000.0 && row.round_trip_ci95_ns[1] >= 11_000.0);
        assert!(
            row.method.contains("3 reps of 1000 round trips"),
            "{}",
            row.method
        );
    }

    #[test]
    fn cpu_share_is_a_share_of_the_pinned_cpus() {
        assert_eq!(cpu_share(500, 1000, 1), 0.5);
        assert_eq!(cpu_share(1000, 1000, 2), 0.5);
        assert_eq!(cpu_share(3000, 1000, 1), 1.0);
        assert_eq!(cpu_share(5, 0, 1), 0.0);
        assert_eq!(cpu_share_of(99, 500, 1000, 1), None, "too few round trips");
        assert_eq!(cpu_share_of(100, 500, 1000, 1), Some(0.5));
        assert_eq!(distinct_cpus([1, 1]), 1);
        assert_eq!(distinct_cpus([0, 1]), 2);
    }

    #[test]
    fn plans_reject_bad_numbers() {
        assert!(PingPongPlan::new(0, 5)
            .unwrap_err()
            .contains("--round-trips 0"));
        assert!(PingPongPlan::new(-3, 5).is_err());
        assert!(PingPongPlan::new(10, 0).unwrap_err().contains("--reps 0"));
        assert!(PingPongPlan::new(MAX_ROUND_TRIPS as i64 + 1, 1).is_err());
        assert_eq!(PingPongPlan::new(10, 1).unwrap().warmup_round_trips, 100);
        assert_eq!(
            PingPongPlan::new(20_000, 1).unwrap().warmup_round_trips,
            2000
        );
    }

    #[test]
    fn the_standard_cases_are_the_four_pipe_rows_then_futex_then_task() {
        let c = Case::standard();
        assert_eq!(c.len(), 7);
        assert!(c[..4].iter().all(|c| c.mechanism == Mechanism::Pipe));
        assert_eq!(c[6], Case::task());
        assert!(c[4..6]
            .iter()
            .all(|c| c.mechanism == Mechanism::Futex && c.kind == Kind::Thread));
        assert_eq!(
            c[0].perf_command(100_000).unwrap(),
            format!(
                "taskset -c {} perf bench sched pipe -l 100000 -T",
                Topology::get().first_cpu()
            )
        );
        assert_eq!(c[4].perf_command(100_000), None);
    }

    #[test]
    fn thread_rows_measure_and_switch_on_one_core() {
        let plan = PingPongPlan {
            round_trips: 200,
            reps: 2,
            warmup_round_trips: 20,
            max_rep_ns: 1_000_000_000,
        };
        for mechanism in [Mechanism::Pipe, Mechanism::Futex] {
            let case = Case {
                kind: Kind::Thread,
                placement: PingPlacement::SameCore,
                mechanism,
            };
            let row = measure(case, &plan).unwrap();
            assert!(row.round_trip_ns > 0.0, "{row:?}");
            assert_eq!(row.samples_ns.len(), 2);
            // On one CPU each round trip must block each side once.
            assert!(row.switches_per_round_trip >= 1.5, "{row:?}");
        }
    }

    #[test]
    fn futex_between_processes_is_refused() {
        let case = Case {
            kind: Kind::Process,
            placement: PingPlacement::SameCore,
            mechanism: Mechanism::Futex,
        };
        assert!(matches!(
            measure(case, &PingPongPlan::quick()),
            Err(SwitchCostError::FutexNeedsThreads)
        ));
    }
}
