//! The `multi-process` strategy: one worker process per part, pinned to its own physical core.
//!
//! Workers are new executions of a binary that calls [`crate::child::part::serve_if_worker`] first thing
//! in `main` — the concbench binary itself, or a user's program with its own workloads — never a
//! `fork()` of a process that already has threads. Bulk data stays in the shared memfd the worker
//! inherits and maps; only control travels over the worker's stdin/stdout pipes, one line per
//! message (see [`crate::worker`]). If any worker dies or misbehaves, every other worker is killed
//! and collected before the error is returned, and each worker also asks the kernel to kill it if
//! concbench dies (`PR_SET_PDEATHSIG`), so no process outlives a run, also on Ctrl-C.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use super::threads::phases_from_marks;
use super::{ExecOptions, Execution, PartRecord, Placement, StrategyError};
use crate::child::part::{WorkerJob, WORKER_ARG};
use crate::child::WorkerCommand;
use crate::measure::clock::{monotonic_ns, seconds_between};
use crate::measure::rusage::Usage;
use crate::shm::SharedMem;
use crate::workload::Workload;

struct Worker {
    part: usize,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// The live workers of one execution. Dropping it kills and collects whoever is still running.
struct Pool {
    workers: Vec<Worker>,
}

impl Pool {
    fn send(&mut self, index: usize, line: &str) -> Result<(), StrategyError> {
        let w = &mut self.workers[index];
        let ok = writeln!(w.stdin, "{line}").and_then(|_| w.stdin.flush());
        ok.map_err(|e| self.fail(index, format!("could not send '{line}': {e}")))
    }

    fn receive(&mut self, index: usize) -> Result<String, StrategyError> {
        let mut line = String::new();
        match self.workers[index].stdout.read_line(&mut line) {
            Ok(0) => Err(self.fail(index, "it exited".into())),
            Ok(_) => Ok(line.trim_end().to_string()),
            Err(e) => Err(self.fail(index, format!("read error: {e}"))),
        }
    }

    /// Kill every worker, collect them all, and describe what happened to worker `index`.
    fn fail(&mut self, index: usize, what: String) -> StrategyError {
        for w in &mut self.workers {
            let _ = w.child.kill();
        }
        let mut status = what;
        let mut stderr = String::new();
        for (i, w) in self.workers.iter_mut().enumerate() {
            let st = w.child.wait();
            if i == index {
                if let Ok(st) = st {
                    status = format!("{status}; {}", describe_status(st));
                }
                if let Some(mut e) = w.child.stderr.take() {
                    let _ = e.read_to_string(&mut stderr);
                }
            }
        }
        let part = self.workers[index].part;
        self.workers.clear();
        let stderr = last_chars(stderr.trim(), 2000);
        StrategyError::WorkerDied {
            part,
            status,
            stderr: if stderr.is_empty() {
                String::new()
            } else {
                format!(": {stderr}")
            },
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        for w in &mut self.workers {
            let _ = w.child.kill();
            let _ = w.child.wait();
        }
    }
}

fn describe_status(st: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => st.to_string(),
    }
}

fn last_chars(s: &str, n: usize) -> String {
    let count = s.chars().count();
    s.chars().skip(count.saturating_sub(n)).collect()
}

/// Run every stage of `workload` in `parts` worker processes spread over the physical cores.
pub fn run(
    workload: &dyn Workload,
    mem: SharedMem,
    shm_fd: std::os::fd::RawFd,
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
    let stages = workload.stages(parts);
    let parent_pid = std::process::id();
    let before = Usage::process_and_children();
    let start_ns = monotonic_ns();
    let mut marks = Vec::with_capacity(stages.len() + 2);
    let mut pool = Pool {
        workers: Vec::with_capacity(parts),
    };

    // Workers are started one after the other from this thread. Starting them from helper
    // threads would overlap the ~0.2 ms each `posix_spawn` waits for the child's exec, but
    // `PR_SET_PDEATHSIG` fires when the *thread* that created the child exits, so a worker
    // spawned from a short-lived helper is killed as soon as that helper returns (tried: every
    // worker died of SIGKILL). Helpers parked until the workers are collected do work, but on the
    // 2-vCPU development VM they made the spawn phase slower (2 workers: 0.4 ms became 0.6-2.6 ms;
    // 8 workers: 6 ms): they compete for the CPUs with the workers already starting up. On a
    // machine with many idle cores they might pay; that is unmeasured.
    for part in 0..parts {
        let job = WorkerJob {
            spec: workload.spec().clone(),
            part,
            parts,
            cpu: Placement::Spread.cpu_for(part),
            shm_fd,
            shm_len: mem.len(),
            parent_pid,
            fault: options.fault.filter(|f| f.part == part).map(|f| f.kind),
        };
        let mut child = Command::new(&command.exe)
            .args(&command.args)
            .arg(WORKER_ARG)
            .arg(serde_json::to_string(&job).expect("worker job serialises"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| StrategyError::Spawn {
                part,
                exe: command.exe.display().to_string(),
                source,
            })?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        pool.workers.push(Worker {
            part,
            child,
            stdin,
            stdout,
        });
    }
    marks.push(monotonic_ns()); // all spawned

    for i in 0..parts {
        let line = pool.receive(i)?;
        if line != "ready" {
            return Err(pool.fail(i, format!("said '{line}' instead of 'ready'")));
        }
    }
    marks.push(monotonic_ns()); // all mapped, pinned and ready

    let mut records = Vec::with_capacity(parts * stages.len());
    for stage in 0..stages.len() {
        for i in 0..parts {
            pool.send(i, &format!("stage {stage}"))?;
        }
        for i in 0..parts {
            let line = pool.receive(i)?;
            match parse_done(&line, stage, pool.workers[i].part) {
                Some(r) => records.push(r),
                None => return Err(pool.fail(i, format!("said '{line}' instead of 'done'"))),
            }
        }
        marks.push(monotonic_ns());
    }

    for i in 0..parts {
        pool.send(i, "exit")?;
    }
    for i in 0..parts {
        let st = pool.workers[i].child.wait();
        match st {
            Ok(st) if st.success() => {}
            Ok(st) => return Err(pool.fail(i, format!("exit failed: {}", describe_status(st)))),
            Err(e) => return Err(pool.fail(i, format!("wait failed: {e}"))),
        }
    }
    pool.workers.clear();
    let collected_ns = monotonic_ns();
    let usage = Usage::process_and_children().since(&before);
    let end_ns = *marks.last().expect("stage marks");
    Ok(Execution {
        wall_s: seconds_between(start_ns, end_ns),
        start_ns,
        phases: phases_from_marks(start_ns, &marks, &stages, &records, collected_ns),
        parts: records,
        usage,
    })
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

    #[test]
    fn stderr_is_cut_to_its_end() {
        assert_eq!(last_chars("abcdef", 3), "def");
        assert_eq!(last_chars("ab", 3), "ab");
    }
}
