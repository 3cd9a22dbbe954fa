//! The child side of the multi-process protocol.
//!
//! A worker is started as `PROGRAM [ARGS] __worker JOB_JSON` with the shared memfd inherited. It
//! asks to die with its parent, pins itself, maps the shared memory, rebuilds the workload from the
//! job's spec, prints `ready`, and then answers the parent line by line on stdin/stdout:
//!
//! | parent says  | worker does                                | worker answers                      |
//! |--------------|--------------------------------------------|-------------------------------------|
//! | `stage S`    | runs its part of stage S                   | `done S CPU START_NS END_NS`         |
//! | `exit`       | exits with status 0                        | —                                   |
//!
//! Any binary can serve as a worker by calling [`serve_if_worker`] first thing in `main`: the
//! concbench binary does so with the built-in workloads, and `examples/custom_workload.rs` with its
//! own.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};

use crate::child::FaultKind;
use crate::measure::clock::monotonic_ns;
use crate::shm::SharedMem;
use crate::topology;
use crate::workload::{Workload, WorkloadSpec};

/// The argument that marks a worker invocation.
pub const WORKER_ARG: &str = "__worker";

/// Everything a worker process needs, passed as one JSON argument.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerJob {
    /// The workload to rebuild.
    pub spec: WorkloadSpec,
    /// This worker's part.
    pub part: usize,
    /// Number of parts.
    pub parts: usize,
    /// CPU to pin to.
    pub cpu: usize,
    /// The inherited memfd holding the workload's shared memory.
    pub shm_fd: i32,
    /// Its length in bytes.
    pub shm_len: usize,
    /// The parent's pid: if it is already gone, the worker exits at once.
    pub parent_pid: u32,
    /// A fault to inject (tests and the lab's isolation claim).
    pub fault: Option<FaultKind>,
}

/// If this process was started as a worker, serve the parent and exit; otherwise return at once.
///
/// `factory` rebuilds a workload from its spec; the concbench binary passes
/// [`crate::workload::build`] (adapted to return a `String` error).
pub fn serve_if_worker<F>(factory: F)
where
    F: Fn(&WorkloadSpec) -> Result<Box<dyn Workload>, String>,
{
    let mut args = std::env::args();
    if args.nth(1).as_deref() != Some(WORKER_ARG) {
        return;
    }
    // A panic in a worker becomes one line on its stderr, which the parent passes on.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("{}", info.to_string().replace('\n', " "))
    }));
    let code = match args.next() {
        None => {
            eprintln!("concbench worker: missing job argument");
            2
        }
        Some(job) => match serde_json::from_str::<WorkerJob>(&job) {
            Err(e) => {
                eprintln!("concbench worker: bad job: {e}");
                2
            }
            Ok(job) => match serve(&job, &factory) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("concbench worker for part {}: {e}", job.part);
                    1
                }
            },
        },
    };
    std::process::exit(code);
}

fn serve<F>(job: &WorkerJob, factory: &F) -> Result<(), String>
where
    F: Fn(&WorkloadSpec) -> Result<Box<dyn Workload>, String>,
{
    crate::sys::die_with_parent(job.parent_pid)?;
    topology::pin_current_thread(job.cpu).map_err(|e| e.to_string())?;
    let mem = SharedMem::map_inherited_lazily(job.shm_fd, job.shm_len)
        .map_err(|e| format!("mapping shared memory fd {}: {e}", job.shm_fd))?;
    let workload = factory(&job.spec)?;
    // Map what this part works on now, in the setup phase; the rest on first touch.
    for range in workload.part_memory(job.part, job.parts) {
        mem.prefault(job.shm_fd, range)
            .map_err(|e| format!("mapping shared memory fd {}: {e}", job.shm_fd))?;
    }
    let mut out = std::io::stdout().lock();
    let say = |out: &mut std::io::StdoutLock, line: String| -> Result<(), String> {
        writeln!(out, "{line}")
            .and_then(|_| out.flush())
            .map_err(|e| format!("writing to parent: {e}"))
    };
    say(&mut out, "ready".into())?;
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| format!("reading from parent: {e}"))?;
        let mut words = line.split_ascii_whitespace();
        match (
            words.next(),
            words.next().and_then(|s| s.parse::<usize>().ok()),
        ) {
            (Some("stage"), Some(stage)) => {
                let start = monotonic_ns();
                match job.fault {
                    Some(FaultKind::Crash) => panic!("fault injected into part {}", job.part),
                    Some(FaultKind::WrongAnswer) => {}
                    None => workload.run_part(&mem, stage, job.part, job.parts),
                }
                let end = monotonic_ns();
                let cpu = topology::current_cpu();
                say(&mut out, format!("done {stage} {cpu} {start} {end}"))?;
            }
            (Some("exit"), _) => return Ok(()),
            _ => return Err(format!("unknown command '{line}'")),
        }
    }
    Err("parent closed the pipe".into())
}
