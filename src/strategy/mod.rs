//! Strategies: how a workload's parts are executed.
//!
//! There are four mechanisms besides the twin, and six configurations of them:
//!
//! | strategy               | mechanism          | placement                               |
//! |------------------------|--------------------|-----------------------------------------|
//! | `sequential`           | the twin, in place | the calling thread, pinned to one core  |
//! | `single-core-threaded` | `threads`        | N threads, all on ONE core              |
//! | `multi-threaded`       | `threads`        | N threads, one per physical core        |
//! | `multi-process`        | `process`        | N worker processes, one per physical core |
//! | `single-thread-async`  | `tasks`          | N tasks on ONE thread, pinned to one core |
//! | `distributed`          | `distributed`    | N MPI ranks (one host or many), no shared memory |
//!
//! Every execution returns an `Execution`: wall time, the phases it spent (spawn, setup,
//! compute, combine), where each part ran, and the context switches it caused.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::measure::clock::{monotonic_ns, seconds_between};
pub(crate) use crate::measure::rusage::Usage;
use crate::shm::SharedMem;
use crate::topology::{self, Topology};
use crate::workload::{Decomposition, View, Workload};

pub(crate) mod barrier;
pub(crate) mod distributed;
pub(crate) mod process;
pub(crate) mod tasks;
pub(crate) mod threads;

use crate::child::WorkerCommand;
/// Why a worker (thread or process) could not be started, named by the limit that refused it.
pub use crate::start::StartError;
pub use crate::topology::TopologyError;

/// How the parts of a workload are executed. Everything about each one (name, description,
/// mechanism, placement) is in one table, the crate's `STRATEGIES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Strategy {
    /// The sequential twin on one thread: the baseline of every speedup.
    Sequential,
    /// One thread per part, all pinned to the same core: concurrency without parallelism.
    SingleCoreThreaded,
    /// One thread per part, each pinned to its own physical core.
    MultiThreaded,
    /// One worker process per part, each pinned to its own physical core, over shared memory.
    MultiProcess,
    /// One task per part, all on ONE thread pinned to one core (tokio's current_thread
    /// runtime): concurrency with no thread switch at all.
    SingleThreadAsync,
    /// One MPI rank per part (launched by mpirun or srun), sharing no memory: every byte a
    /// part reads or writes travels as a message.
    Distributed,
}

/// What runs a strategy's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum Mechanism {
    /// The workload's sequential twin, on the calling thread (no parts).
    Twin,
    /// One thread of this process per part ([`threads`]).
    Threads,
    /// One worker process per part ([`process`]).
    Processes,
    /// One async task per part, all on the calling thread ([`tasks`]).
    Tasks,
    /// One MPI rank per part, each with memory of its own ([`distributed`]).
    Ranks,
}

/// Everything concbench knows about one strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StrategyDescriptor {
    /// The strategy.
    pub(crate) strategy: Strategy,
    /// The user's name for it (CLI, reports).
    pub(crate) name: &'static str,
    /// What it shows, in one line (`concbench list`).
    pub(crate) description: &'static str,
    /// What runs the work.
    pub(crate) mechanism: Mechanism,
    /// Whether its workers (or the calling thread) are pinned to CPUs while they run.
    pub(crate) pins: bool,
    /// Where the workers are pinned.
    pub(crate) placement: Placement,
}

impl StrategyDescriptor {
    /// Whether it starts worker processes (re-executing the concbench binary).
    #[cfg(test)]
    pub(crate) fn needs_worker_processes(&self) -> bool {
        self.mechanism == Mechanism::Processes
    }
}

/// Physical cores this process may use (its affinity mask at start-up, grouped into cores): how
/// many workers `multi-threaded` and `multi-process` spread over before two share a core, and
/// the count [`crate::sweep::default_workers`] is built on.
pub fn physical_cores() -> usize {
    Topology::get().physical_core_count()
}

/// Most workers (threads, processes or tasks) one row may ask for: 10,000 io tasks is an
/// ordinary `single-thread-async` run; a system that refuses that many threads says so by name.
pub const MAX_WORKERS: usize = 16_384;

/// Every strategy, in report order.
pub(crate) const STRATEGIES: [StrategyDescriptor; 6] = [
    StrategyDescriptor {
        strategy: Strategy::Sequential,
        name: "sequential",
        description: "the workload's sequential twin on one thread, one row per run, timed like every other row: the baseline",
        mechanism: Mechanism::Twin,
        pins: true,
        placement: Placement::OneCore,
    },
    StrategyDescriptor {
        strategy: Strategy::SingleCoreThreaded,
        name: "single-core-threaded",
        description: "N threads all pinned to ONE core: they take turns (concurrency without parallelism)",
        mechanism: Mechanism::Threads,
        pins: true,
        placement: Placement::OneCore,
    },
    StrategyDescriptor {
        strategy: Strategy::MultiThreaded,
        name: "multi-threaded",
        description: "N threads, each pinned to its own physical core: parts run at the same time (parallelism)",
        mechanism: Mechanism::Threads,
        pins: true,
        placement: Placement::Spread,
    },
    StrategyDescriptor {
        strategy: Strategy::MultiProcess,
        name: "multi-process",
        description: "N worker processes, each pinned to its own physical core; data in shared memory, control over pipes",
        mechanism: Mechanism::Processes,
        pins: true,
        placement: Placement::Spread,
    },
    StrategyDescriptor {
        strategy: Strategy::SingleThreadAsync,
        name: "single-thread-async",
        description: "N async tasks on ONE thread pinned to one core: they switch in user space where they wait or yield, and nothing preempts them",
        mechanism: Mechanism::Tasks,
        pins: true,
        placement: Placement::OneCore,
    },
    StrategyDescriptor {
        strategy: Strategy::Distributed,
        name: "distributed",
        description: "N MPI ranks (mpirun/srun, on one host or many) sharing no memory: each part's input and output travel as messages",
        mechanism: Mechanism::Ranks,
        pins: true,
        placement: Placement::Spread,
    },
];

impl Strategy {
    /// All of them, in report order.
    pub const ALL: [Strategy; 6] = [
        STRATEGIES[0].strategy,
        STRATEGIES[1].strategy,
        STRATEGIES[2].strategy,
        STRATEGIES[3].strategy,
        STRATEGIES[4].strategy,
        STRATEGIES[5].strategy,
    ];

    /// Its entry in [`STRATEGIES`].
    pub(crate) fn descriptor(self) -> &'static StrategyDescriptor {
        STRATEGIES
            .iter()
            .find(|d| d.strategy == self)
            .expect("every strategy has a descriptor")
    }

    /// The user's name for it (CLI, reports).
    pub fn name(self) -> &'static str {
        self.descriptor().name
    }

    /// What it shows, in one line (`concbench list`).
    pub fn description(self) -> &'static str {
        self.descriptor().description
    }

    /// Whether the strategy runs the twin rather than parts (its "cores" is always 1).
    pub(crate) fn is_sequential(self) -> bool {
        self.descriptor().mechanism == Mechanism::Twin
    }

    /// Physical cores its workers can use at once with `cores` workers: 1 when they all share
    /// one core, min(`cores`, `physical_cores`) when they are spread.
    pub(crate) fn cores_used(self, cores: usize, physical_cores: usize) -> usize {
        match self.descriptor().placement {
            Placement::OneCore => 1,
            Placement::Spread => cores.clamp(1, physical_cores.max(1)),
        }
    }

    /// Workers sharing each core its workers may use: `cores` / [`Strategy::cores_used`]; 1 for
    /// sequential (one thread). single-core-threaded with 4 workers: 4; multi-threaded with 3
    /// workers on 2 physical cores: 1.5.
    pub(crate) fn workers_per_core(self, cores: usize, physical_cores: usize) -> f64 {
        if self.is_sequential() {
            return 1.0;
        }
        cores.max(1) as f64 / self.cores_used(cores, physical_cores) as f64
    }

    /// Oversubscribed: more workers than the cores they may use ([`Strategy::workers_per_core`]
    /// above 1). Never for sequential; from 2 workers on for single-core-threaded.
    pub(crate) fn oversubscribed(self, cores: usize, physical_cores: usize) -> bool {
        self.workers_per_core(cores, physical_cores) > 1.0
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        STRATEGIES
            .iter()
            .find(|d| d.name == s)
            .map(|d| d.strategy)
            .ok_or_else(|| {
                format!(
                    "unknown strategy '{s}' (known: {})",
                    STRATEGIES.map(|d| d.name).join(", ")
                )
            })
    }
}

/// Whether workers are threads of this process or separate processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub(crate) enum WorkerKind {
    /// Threads of this process: one address space.
    Thread,
    /// Worker processes (the concbench binary re-executed): an address space each.
    Process,
    /// Async tasks on one thread of this process: they switch in user space.
    Task,
}

impl WorkerKind {
    /// The name in the CLI and reports.
    pub fn name(self) -> &'static str {
        match self {
            WorkerKind::Thread => "thread",
            WorkerKind::Process => "process",
            WorkerKind::Task => "task",
        }
    }
}

/// Where the workers of an execution are pinned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum Placement {
    /// All workers on the first allowed CPU.
    OneCore,
    /// Worker i on physical core i (wrapping around when there are more workers than cores).
    Spread,
}

impl Placement {
    /// The CPU worker `index` is pinned to.
    pub(crate) fn cpu_for(self, index: usize) -> usize {
        let topo = Topology::get();
        match self {
            Placement::OneCore => topo.first_cpu(),
            Placement::Spread => topo.spread_cpu(index),
        }
    }
}

/// Where one execution spent its wall time, in seconds. spawn + setup + compute + combine is the
/// wall time; `collect_s` comes after the clock stops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Phases {
    /// Creating the workers (thread spawn, or fork+exec of worker processes).
    pub(crate) spawn_s: f64,
    /// Until every worker is pinned and ready (processes: mapping the shared memory) and the
    /// first part has started its first stage.
    pub(crate) setup_s: f64,
    /// The compute stages, each until its last part has finished.
    pub(crate) compute_s: f64,
    /// The combine stages, each until its last part has finished; the last stage until the
    /// parent has every result.
    pub(crate) combine_s: f64,
    /// Collecting the workers once every result is in (joining threads; telling worker
    /// processes to exit and reaping them, which includes the kernel tearing down their address
    /// spaces). Measured after the clock stops: not part of the wall time.
    #[serde(default)]
    pub(crate) collect_s: f64,
}

impl Phases {
    /// Sum of the four timed phases (the wall time; `collect_s` is not in it).
    pub(crate) fn total(&self) -> f64 {
        self.spawn_s + self.setup_s + self.compute_s + self.combine_s
    }
}

/// When and where one part of one stage ran (clock: [`monotonic_ns`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PartRecord {
    /// Stage index.
    pub(crate) stage: usize,
    /// Part index.
    pub(crate) part: usize,
    /// CPU the part was on when it finished (`sched_getcpu`).
    pub(crate) cpu: usize,
    /// Start, ns on the monotonic clock.
    pub(crate) start_ns: u64,
    /// End, ns on the monotonic clock.
    pub(crate) end_ns: u64,
}

/// What one timed execution of a workload produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Execution {
    /// Wall time in seconds, from the first spawn until every part's last result is in.
    pub wall_s: f64,
    /// Start of the execution on the monotonic clock (for timelines).
    pub(crate) start_ns: u64,
    /// Where the wall time went.
    pub(crate) phases: Phases,
    /// Every part of every stage.
    pub(crate) parts: Vec<PartRecord>,
    /// Switches and CPU time of this process and its children during the execution, counted
    /// once the workers are collected (the kernel adds a child's usage when it is reaped).
    /// Distributed: the sum over the ranks of each rank's own usage.
    pub(crate) usage: Usage,
    /// What a distributed execution moved, and where its ranks ran; absent for the other
    /// strategies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) distributed: Option<Box<distributed::DistributedRun>>,
    /// What the load generator and the server of a `web` repetition measured; absent for the
    /// jobs of parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) web: Option<Box<crate::workload::web::WebRun>>,
}

/// Errors executing a workload.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StrategyError {
    /// A worker could not be pinned where the placement wants it.
    #[error("part {part}: {source}")]
    Pin {
        /// The part.
        part: usize,
        /// What the kernel said.
        source: topology::TopologyError,
    },
    /// A part panicked in a worker thread.
    #[error("part {part} panicked: {message}")]
    PartPanicked {
        /// The part.
        part: usize,
        /// The panic message.
        message: String,
    },
    /// The system refused to start a worker thread or process (a limit).
    #[error(transparent)]
    Start(#[from] crate::start::StartError),
    /// A worker process could not be started.
    #[error("could not start the worker process for part {part} ({exe}): {source}")]
    Spawn {
        /// The part.
        part: usize,
        /// The executable.
        exe: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A worker process died or broke the protocol.
    #[error("worker process {pid} for part {part} failed ({status}){stderr}")]
    WorkerDied {
        /// The part.
        part: usize,
        /// Its process id.
        pid: u32,
        /// Its exit status, or what went wrong.
        status: String,
        /// What it wrote on stderr, prefixed with ": " when non-empty.
        stderr: String,
    },
    /// Shared memory could not be set up.
    #[error("shared memory: {0}")]
    Shm(#[from] std::io::Error),
    /// The async runtime of `single-thread-async` could not be built.
    #[error("starting the async runtime: {0}")]
    Runtime(std::io::Error),
    /// The workload's parts would get in each other's way (two parts of a stage touching what
    /// one of them writes), or declare memory outside their regions: found before anything ran.
    #[error("workload {workload} cannot run as {parts} parts: {source}")]
    Decomposition {
        /// The workload.
        workload: String,
        /// Parts asked for.
        parts: usize,
        /// What the check found.
        source: crate::workload::AccessError,
    },
    /// More parts than MPI ranks.
    #[error("distributed x{parts} needs {parts} MPI ranks but {ranks} {} launched", if *ranks == 1 { "was" } else { "were" })]
    NotEnoughRanks {
        /// Parts asked for.
        parts: usize,
        /// Ranks in the job.
        ranks: usize,
    },
    /// A rank's part failed (panicked); the other ranks finished the execution.
    #[error("part {part} (MPI rank {part} on {host}) failed: {message}")]
    RankFailed {
        /// The part (= rank).
        part: usize,
        /// Its host.
        host: String,
        /// What happened.
        message: String,
    },
    /// A task had not finished by the repetition's deadline; its tasks were dropped.
    #[error("part {part} (a task) has not finished stage {stage} by the deadline of this repetition; every task of the run was dropped (raise the deadline with --stuck-after)")]
    TaskStuck {
        /// The first unfinished part.
        part: usize,
        /// The stage it was in.
        stage: String,
    },
}

impl StrategyError {
    /// The part the error is about, if any.
    pub(crate) fn part(&self) -> Option<usize> {
        match self {
            StrategyError::Pin { part, .. }
            | StrategyError::PartPanicked { part, .. }
            | StrategyError::Spawn { part, .. }
            | StrategyError::WorkerDied { part, .. }
            | StrategyError::TaskStuck { part, .. }
            | StrategyError::RankFailed { part, .. } => Some(*part),
            StrategyError::Start(e) => Some(e.index),
            StrategyError::Shm(_)
            | StrategyError::Runtime(_)
            | StrategyError::Decomposition { .. }
            | StrategyError::NotEnoughRanks { .. } => None,
        }
    }

    /// Whether a worker never started (a limit, a missing binary): then no part ran, and the
    /// shared memory says nothing about why.
    pub(crate) fn is_refused_start(&self) -> bool {
        matches!(
            self,
            StrategyError::Start(_)
                | StrategyError::Spawn { .. }
                | StrategyError::Runtime(_)
                | StrategyError::Decomposition { .. }
                | StrategyError::NotEnoughRanks { .. }
        )
    }
}

/// How long a repetition may take before its workers count as stuck, when nothing else is
/// configured: this floor plus [`STUCK_FACTOR`] times the slowest repetition seen so far. One
/// rule for the runner's jobs and for the service rows (`crate::service`).
pub(crate) const DEFAULT_STUCK_AFTER: std::time::Duration = std::time::Duration::from_secs(30);

/// See [`DEFAULT_STUCK_AFTER`].
pub(crate) const STUCK_FACTOR: f64 = 20.0;

/// The deadline of the next repetition: `floor` plus [`STUCK_FACTOR`] × the slowest repetition
/// seen so far in this sweep (warm-ups included), from now.
pub(crate) fn repetition_deadline(
    floor: std::time::Duration,
    slowest_s: f64,
) -> std::time::Instant {
    let margin = std::time::Duration::from_secs_f64((STUCK_FACTOR * slowest_s).min(1e9));
    std::time::Instant::now() + floor + margin
}

/// Options of an execution that are not part of the workload.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub(crate) struct ExecOptions {
    /// How to start worker processes (multi-process only; `None`: the concbench binary).
    pub(crate) worker: Option<WorkerCommand>,
    /// Test hook: make this part fail (multi-process workers crash, threads panic). Set by the
    /// CLI's hidden `--fault-part` and the lab, never by a user of the library.
    pub(crate) fault: Option<crate::child::Fault>,
    /// When the execution counts as stuck (set by the runner for each repetition): worker
    /// processes still busy then are killed and named; a stuck thread is named and the process
    /// exits with status 1 (a thread cannot be stopped).
    pub(crate) deadline: Option<std::time::Instant>,
    /// The floor of every repetition's deadline (see [`repetition_deadline`]); `None`:
    /// [`DEFAULT_STUCK_AFTER`].
    pub(crate) stuck_after: Option<std::time::Duration>,
}

/// Run `workload` once with `strategy` on `parts` parts over `mem`, which must hold an
/// initialised and reset workload. `parts` is ignored for `sequential`.
///
/// Before the clock starts, the decomposition into `parts` parts is checked
/// ([`Decomposition::check`]: no part of a stage touches what another part writes). The
/// execution holds the mapping's lease throughout (a second execution on the same region at the
/// same time panics).
pub(crate) fn execute(
    strategy: Strategy,
    workload: &dyn Workload,
    mem: SharedMem,
    shm_fd: crate::sys::RawDesc,
    parts: usize,
    options: &ExecOptions,
) -> Result<Execution, StrategyError> {
    let _lease = mem.lease();
    let d = strategy.descriptor();
    match d.mechanism {
        Mechanism::Twin => run_sequential(workload, mem, d.placement),
        Mechanism::Threads => threads::run(workload, mem, parts, d.placement, options),
        Mechanism::Processes => process::run(workload, mem, shm_fd, parts, options),
        Mechanism::Tasks => tasks::run(workload, mem, parts, d.placement, options),
        Mechanism::Ranks => distributed::run(workload, mem, parts, options),
    }
}

/// The workload's parts, checked: what every mechanism that runs parts calls before its clock
/// starts (a worker process again for itself, in `child::part`).
pub(crate) fn decomposition(
    workload: &dyn Workload,
    parts: usize,
) -> Result<Decomposition, StrategyError> {
    Decomposition::check(workload, parts).map_err(|source| StrategyError::Decomposition {
        workload: workload.spec().name.clone(),
        parts,
        source,
    })
}

/// The sequential twin on the calling thread, pinned where `placement` puts worker 0 (the first
/// core) for the duration.
fn run_sequential(
    workload: &dyn Workload,
    mem: SharedMem,
    placement: Placement,
) -> Result<Execution, StrategyError> {
    let cpu = placement.cpu_for(0);
    topology::pin_current_thread(cpu).map_err(|source| StrategyError::Pin { part: 0, source })?;
    // SAFETY: `execute` holds the mapping's lease, and the twin runs alone on this thread; the
    // view is gone before this function returns.
    let view = unsafe { View::whole(mem) };
    let before = Usage::process_and_children();
    let start_ns = monotonic_ns();
    workload.run_sequential(&view);
    let end_ns = monotonic_ns();
    drop(view);
    let usage = Usage::process_and_children().since(&before);
    let cpu_seen = topology::current_cpu();
    topology::unpin_current_thread().map_err(|source| StrategyError::Pin { part: 0, source })?;
    let wall_s = seconds_between(start_ns, end_ns);
    Ok(Execution {
        wall_s,
        start_ns,
        phases: Phases {
            compute_s: wall_s,
            ..Phases::default()
        },
        parts: vec![PartRecord {
            stage: 0,
            part: 0,
            cpu: cpu_seen,
            start_ns,
            end_ns,
        }],
        usage,
        distributed: None,
        web: None,
    })
}

/// The message of a part's panic, for the error that names the part.
pub(crate) fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategy_names_round_trip() {
        for s in Strategy::ALL {
            assert_eq!(s.name().parse::<Strategy>().unwrap(), s);
        }
        for (d, s) in STRATEGIES.iter().zip(Strategy::ALL) {
            assert_eq!(s.descriptor(), d);
        }
        assert!(Strategy::MultiProcess.descriptor().needs_worker_processes());
        let e = "threads".parse::<Strategy>().unwrap_err();
        assert!(e.contains("'threads'") && e.contains("multi-process"));
    }

    #[test]
    fn one_core_placement_uses_one_cpu_and_spread_wraps() {
        let n = Topology::get().physical_core_count();
        assert_eq!(Placement::OneCore.cpu_for(0), Placement::OneCore.cpu_for(5));
        assert_eq!(Placement::Spread.cpu_for(0), Placement::Spread.cpu_for(n));
        if n > 1 {
            assert_ne!(Placement::Spread.cpu_for(0), Placement::Spread.cpu_for(1));
        }
    }
}
