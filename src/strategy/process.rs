//! The `multi-process` strategy: one worker process per part, pinned to its own physical core.
//!
//! Workers are children of the one child protocol ([`crate::child`]): new executions of a binary
//! whose `main` starts with `concbench::serve_if_child` — the concbench binary itself, or a
//! user's program with its own workloads — never a `fork()` of a process that already has
//! threads. Bulk data stays in the shared memfd the worker inherits and maps; only control
//! travels over the worker's stdin/stdout pipes, one line per message (see
//! [`crate::child::part`]). If any worker dies or misbehaves, every other worker is killed and
//! collected before the error is returned, and each worker also asks the kernel to kill it if
//! concbench dies, so no process outlives a run, also on Ctrl-C.

use super::threads::phases_from_marks;
use super::{ExecOptions, Execution, PartRecord, Placement, StrategyError};
use crate::child::part::PartJob;
use crate::child::{ChildFailure, ChildJob, ChildSpec, Children, WorkerCommand};
use crate::measure::clock::{monotonic_ns, seconds_between};
use crate::measure::rusage::Usage;
use crate::shm::SharedMem;
use crate::start::StartError;
use crate::workload::Workload;

/// Run every stage of `workload` in `parts` worker processes spread over the physical cores.
pub fn run(
    workload: &dyn Workload,
    mem: SharedMem,
    shm_fd: crate::sys::RawDesc,
    parts: usize,
    options: &ExecOptions,
) -> Result<Execution, StrategyError> {
    let command = match &options.worker {
        Some(c) => c.clone(),
        None => WorkerCommand::locate_concbench().map_err(|e| StrategyError::Spawn {
            part: 0,
            exe: "concbench".into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, e),
        })?,
    };
    // Each worker checks the decomposition again on its own copy of the workload before it
    // builds its view; checking here first turns an overlap into the same up-front error the
    // other strategies give, instead of "worker died" with the message.
    super::decomposition(workload, parts)?;
    let stages = workload.stages(parts);
    let parent_pid = std::process::id();
    let before = Usage::process_and_children();
    let start_ns = monotonic_ns();
    let mut marks = Vec::with_capacity(stages.len() + 2);
    let mut pool = Children::with_capacity(parts);
    pool.set_deadline(options.deadline);

    // Workers are started one after the other from this thread. Starting them from helper
    // threads would overlap the ~0.2 ms each `posix_spawn` waits for the child's exec, but
    // `PR_SET_PDEATHSIG` fires when the *thread* that created the child exits, so a worker
    // spawned from a short-lived helper is killed as soon as that helper returns (tried: every
    // worker died of SIGKILL). Helpers parked until the workers are collected do work, but on the
    // 2-vCPU development VM they made the spawn phase slower (2 workers: 0.4 ms became 0.6-2.6 ms;
    // 8 workers: 6 ms): they compete for the CPUs with the workers already starting up. On a
    // machine with many idle cores they might pay; that is unmeasured.
    for part in 0..parts {
        let spec = ChildSpec {
            parent_pid,
            cpu: Some(Placement::Spread.cpu_for(part)),
            job: ChildJob::Part(PartJob {
                spec: workload.spec().clone(),
                part,
                parts,
                shm_fd,
                shm_len: mem.len(),
                fault: options.fault.filter(|f| f.part == part).map(|f| f.kind),
            }),
        };
        pool.spawn(part, command.command(&spec)).map_err(|source| {
            if crate::sys::limit_behind(&source).is_some() {
                StrategyError::Start(StartError::new("process", part, parts, source))
            } else {
                StrategyError::Spawn {
                    part,
                    exe: command.display(),
                    source,
                }
            }
        })?;
    }
    marks.push(monotonic_ns()); // all spawned

    for i in 0..parts {
        pool.expect(i, "ready").map_err(died)?;
    }
    marks.push(monotonic_ns()); // all mapped, pinned and ready

    let mut records = Vec::with_capacity(parts * stages.len());
    for stage in 0..stages.len() {
        for i in 0..parts {
            pool.send(i, &format!("stage {stage}")).map_err(died)?;
        }
        for i in 0..parts {
            let line = pool.receive(i).map_err(died)?;
            match parse_done(&line, stage, pool.id(i)) {
                Some(r) => records.push(r),
                None => {
                    return Err(died(
                        pool.fail(i, format!("said '{line}' instead of 'done'")),
                    ))
                }
            }
        }
        marks.push(monotonic_ns());
    }

    for i in 0..parts {
        pool.send(i, "exit").map_err(died)?;
    }
    pool.wait_all().map_err(died)?;
    let collected_ns = monotonic_ns();
    let usage = Usage::process_and_children().since(&before);
    let end_ns = *marks.last().expect("stage marks");
    Ok(Execution {
        wall_s: seconds_between(start_ns, end_ns),
        start_ns,
        phases: phases_from_marks(start_ns, &marks, &stages, &records, collected_ns),
        parts: records,
        usage,
        distributed: None,
        web: None,
    })
}

/// A failed worker as the strategy's error.
fn died(f: ChildFailure) -> StrategyError {
    StrategyError::WorkerDied {
        part: f.id,
        pid: f.pid,
        status: f.status,
        stderr: if f.stderr.is_empty() {
            String::new()
        } else {
            format!(": {}", f.stderr)
        },
    }
}

/// Parse a worker's `done STAGE CPU START_NS END_NS` line.
fn parse_done(line: &str, stage: usize, part: usize) -> Option<PartRecord> {
    let mut it = line.split_ascii_whitespace();
    if it.next()? != "done" {
        return None;
    }
    let got_stage: usize = it.next()?.parse().ok()?;
    let cpu = it.next()?.parse().ok()?;
    let start_ns = it.next()?.parse().ok()?;
    let end_ns = it.next()?.parse().ok()?;
    (got_stage == stage).then_some(PartRecord {
        stage,
        part,
        cpu,
        start_ns,
        end_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_lines_parse() {
        let r = parse_done("done 1 3 100 200", 1, 4).unwrap();
        assert_eq!(
            (r.stage, r.part, r.cpu, r.start_ns, r.end_ns),
            (1, 4, 3, 100, 200)
        );
        assert!(parse_done("done 0 3 100 200", 1, 4).is_none());
        assert!(parse_done("ready", 0, 0).is_none());
        assert!(parse_done("done 0 x 1 2", 0, 0).is_none());
    }
}
