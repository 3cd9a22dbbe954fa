//! The child side of the multi-process strategy: one workload part in a worker process.
//!
//! [`super::take_job`] has already pinned the worker and tied its life to the parent's. The
//! worker maps the shared memory it inherited, rebuilds the workload from the job's spec, maps
//! the memory its part works on, says `ready`, and then answers the parent line by line:
//!
//! | parent says  | worker does                                | worker answers                      |
//! |--------------|--------------------------------------------|-------------------------------------|
//! | `stage S`    | runs its part of stage S                   | `done S CPU START_NS END_NS`         |
//! | `exit`       | exits with status 0                        | —                                   |

use serde::{Deserialize, Serialize};

use super::{FaultKind, Lines};
use crate::measure::clock::monotonic_ns;
use crate::shm::SharedMem;
use crate::topology;
use crate::workload::{Decomposition, Workload, WorkloadSpec};

/// What a worker process needs besides its CPU and its parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PartJob {
    /// The workload to rebuild.
    pub(crate) spec: WorkloadSpec,
    /// This worker's part.
    pub(crate) part: usize,
    /// Number of parts.
    pub(crate) parts: usize,
    /// The inherited shared memory holding the workload's data: a memfd on Linux, a
    /// `shm_open` descriptor on macOS, a file-mapping handle value on Windows.
    pub(crate) shm_fd: crate::sys::RawDesc,
    /// Its length in bytes.
    pub(crate) shm_len: usize,
    /// A fault to inject (tests and the lab's isolation claim).
    pub(crate) fault: Option<FaultKind>,
}

/// Serve the parent as the worker of `job`, building the workload with `factory`.
pub(crate) fn serve<F, E>(job: &PartJob, factory: &F) -> Result<(), String>
where
    F: Fn(&WorkloadSpec) -> Result<Box<dyn Workload>, E>,
    E: std::fmt::Display,
{
    let mem = SharedMem::map_inherited_lazily(job.shm_fd, job.shm_len)
        .map_err(|e| format!("mapping shared memory fd {}: {e}", job.shm_fd))?;
    let workload = factory(&job.spec).map_err(|e| e.to_string())?;
    // Checked again here: this process runs its own copy of the workload, and its part's view
    // is only sound if that copy's parts keep out of each other's way too.
    let parts_of = Decomposition::check(&*workload, job.parts).map_err(|e| e.to_string())?;
    // Map what this part works on now, in the setup phase; the rest on first touch.
    for range in workload.part_memory(job.part, job.parts) {
        mem.prefault(job.shm_fd, range)
            .map_err(|e| format!("mapping shared memory fd {}: {e}", job.shm_fd))?;
    }
    let mut lines = Lines::new();
    lines.say("ready")?;
    while let Some(line) = lines.next_line()? {
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
                    Some(FaultKind::Hang) => loop {
                        std::thread::sleep(std::time::Duration::from_secs(3600));
                    },
                    None if stage < parts_of.stages() => {
                        // SAFETY: this process is the only runner of its part, and the parent
                        // sends `stage S` only once every worker has answered `done` for the
                        // stage before; the parent touches the memory only after the last
                        // stage (it holds the lease meanwhile).
                        let view = unsafe { parts_of.view(mem, stage, job.part) };
                        workload.run_part(&view, stage, job.part, job.parts)
                    }
                    None => return Err(format!("no stage {stage}")),
                }
                let end = monotonic_ns();
                let cpu = topology::current_cpu();
                lines.say(&format!("done {stage} {cpu} {start} {end}"))?;
            }
            (Some("exit"), _) => return Ok(()),
            _ => return Err(format!("unknown command '{line}'")),
        }
    }
    Err("parent closed the pipe".into())
}
