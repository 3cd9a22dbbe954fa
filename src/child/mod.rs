//! The one child protocol: every process concbench starts is the running executable again,
//! with one hidden marker argument and one JSON job.
//!
//! `PROGRAM [ARGS] __concbench-child JOB_JSON`: the job says which kind of child this is (a
//! workload part of the multi-process strategy, a timeline worker, a ping-pong peer, a lab child,
//! a reference dgemm). The parent builds the command with [`WorkerCommand::command`]; the child
//! finds its job with [`take_job`], which also sets up what every child needs (parent death,
//! pinning, panics as one line on stderr). Which code serves each kind is decided at the top of
//! the crate (`concbench::serve_if_child`), since some of it belongs to the experiments.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub mod part;

/// A test hook: make one part fail on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// Which part fails.
    pub part: usize,
    /// How it fails.
    pub kind: FaultKind,
}

/// How an injected fault shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// The worker crashes (panics) when its first stage starts.
    Crash,
    /// The worker skips its work but reports success, so verification must catch it.
    WrongAnswer,
}

/// How to start a worker process: an executable and the arguments before [`WORKER_ARG`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerCommand {
    /// The program to run.
    pub exe: PathBuf,
    /// Arguments placed before the worker marker.
    pub args: Vec<String>,
}

impl WorkerCommand {
    /// The running executable as its own worker: for programs (like the examples) whose `main`
    /// starts with [`crate::child::part::serve_if_worker`].
    pub fn this_executable() -> std::io::Result<WorkerCommand> {
        Ok(WorkerCommand {
            exe: std::env::current_exe()?,
            args: Vec::new(),
        })
    }

    /// The concbench binary: `$CONCBENCH_EXE` if set; this executable if it is concbench; else a
    /// `concbench` beside this executable or one directory up (where cargo puts it for tests and
    /// benches, whose own binaries live in `target/*/deps`).
    pub fn locate_concbench() -> Result<WorkerCommand, String> {
        if let Some(p) = std::env::var_os("CONCBENCH_EXE") {
            return Ok(WorkerCommand {
                exe: p.into(),
                args: Vec::new(),
            });
        }
        let me =
            std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
        if me.file_name().is_some_and(|n| n == "concbench") {
            return Ok(WorkerCommand {
                exe: me,
                args: Vec::new(),
            });
        }
        let dir = me.parent().unwrap_or(Path::new("."));
        for candidate in [dir.join("concbench"), dir.join("../concbench")] {
            if candidate.is_file() {
                return Ok(WorkerCommand {
                    exe: candidate,
                    args: Vec::new(),
                });
            }
        }
        Err(format!(
            "no concbench binary found for worker processes near {} (set CONCBENCH_EXE)",
            me.display()
        ))
    }
}
