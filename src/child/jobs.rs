//! The payloads of the child kinds that belong to the experiments (timeline workers, reference
//! dgemm, lab children). They are plain data, kept here so that [`super::ChildJob`] can name
//! them without the child protocol depending on the experiments that serve them.

use serde::{Deserialize, Serialize};

/// How the chunk was sized and the threshold chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Calibration {
    /// Loop iterations per chunk.
    pub(crate) chunk_iters: u64,
    /// Median time of one chunk including its clock reading, ns.
    pub(crate) chunk_ns: u64,
    /// A gap longer than this means the worker did not run, ns.
    pub(crate) threshold_ns: u64,
}

/// What a worker needs to record (also the JSON argument of a worker process).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct WorkerPlan {
    /// Worker index.
    pub(crate) id: usize,
    /// CPU to pin to.
    pub(crate) cpu: usize,
    /// Chunk size and threshold.
    pub(crate) calibration: Calibration,
    /// Gap buffer entries.
    pub(crate) capacity: usize,
    /// The parent's pid (process workers exit at once if it is gone).
    pub(crate) parent_pid: u32,
}

/// The job a dgemm child gets as its second argument (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct DgemmJob {
    /// Matrix order.
    pub(crate) n: usize,
    /// Timed repetitions.
    pub(crate) reps: usize,
    /// Untimed warm-ups.
    pub(crate) warmup: usize,
    /// Seed of A and B (the matmul workload's generator).
    pub(crate) seed: u64,
    /// CPUs the child restricts itself to before matrixmultiply starts its threads.
    pub(crate) cpus: Vec<usize>,
}

/// What a lab child of the isolation and communication claims acts out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "mode")]
pub(crate) enum LabMode {
    /// Answers `alive` to every line on stdin until end of file.
    Sleeper,
    /// Aborts at once.
    Crash,
    /// Copies stdin to stdout.
    Echo,
    /// Maps the inherited memfd `fd` of `len` bytes and, for each `copy` line, copies its first
    /// half into its second half, answering `ok` (also to any other line).
    ShmCopy {
        /// The inherited memfd.
        fd: i32,
        /// Its length in bytes.
        len: usize,
    },
    /// Starts `n` threads of which thread 0 aborts after 30 ms while the others would print
    /// `thread K done` after 300 ms.
    Threads {
        /// Threads to start.
        n: usize,
    },
    /// Starts the thread-per-connection server (or, with `tasks`, the event loop) with `n`
    /// connections, each served one request and left waiting, prints the memory they added per
    /// connection as one JSON line and exits: the c10k-memory claim's idle costs, measured in a
    /// fresh process so that heap left resident by earlier claims cannot absorb them.
    IdleCost {
        /// Connections to leave waiting.
        n: usize,
        /// The event loop's tasks instead of threads.
        tasks: bool,
    },
    /// Runs the c10k-memory claim's row of the thread-per-connection server (or, with `tasks`,
    /// the event loop's): `n` clients whose requests wait 100 ms, one untimed and one timed
    /// repetition; prints the memory the timed one added per connection as one JSON line and
    /// exits. A fresh process for each, for the reason given at `IdleCost`.
    LoadedCost {
        /// Connections (clients, and the threads' server's workers).
        n: usize,
        /// The event loop's tasks instead of threads.
        tasks: bool,
    },
}

/// A pre-forked worker process of the `multi-process` web server (see `crate::service::server`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct WebServerJob {
    /// The web run's parameters.
    pub(crate) config: crate::workload::web::WebConfig,
    /// The listening socket the parent created, inherited as this descriptor: every worker
    /// accepts on it.
    pub(crate) listen_fd: crate::sys::RawDesc,
    /// The worker's number.
    pub(crate) worker: usize,
    /// Kernel runs of CPU work per request, as the parent calibrated them.
    pub(crate) cpu_units: usize,
    /// Seconds one unit took when calibrated.
    pub(crate) cpu_unit_s: f64,
    /// CPUs of the `--cpu-parallel` pool (empty: no pool).
    pub(crate) pool_cpus: Vec<usize>,
}

/// A load generator process of a web row (see `crate::service::load`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct WebLoadJob {
    /// The server's address (`127.0.0.1:PORT`).
    pub(crate) addr: String,
    /// The web run's parameters (body length and checksum, wait).
    pub(crate) config: crate::workload::web::WebConfig,
    /// Connections this generator opens.
    pub(crate) connections: usize,
    /// Requests it sends (closed loop: its share of the run's).
    pub(crate) requests: u64,
    /// Open loop: its share of the rate, requests per second.
    pub(crate) rate: Option<f64>,
    /// Poll for responses without sleeping (the generator has a CPU of its own): an idle CPU of
    /// a VM wakes slowly, and that wake-up would be measured as the server's latency.
    #[serde(default)]
    pub(crate) busy_poll: bool,
}
