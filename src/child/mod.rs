//! The one child protocol: every process concbench starts is a program that serves children
//! (the concbench binary, or a user's program), started with one hidden marker and one job.
//!
//! `PROGRAM [ARGS] __concbench-child SPEC_JSON`, where the `ChildSpec` names the parent, the
//! CPU to pin to and the `ChildJob`: a workload part of the multi-process strategy, a timeline
//! worker, a ping-pong peer, a lab child or a reference dgemm. Both sides live here:
//!
//! - the parent builds the command with `WorkerCommand::command` and, for children that talk
//!   in lines, keeps them in `Children`, which sends and receives lines, and on any failure
//!   kills and collects every child and names the one that failed with its status and stderr;
//! - the child calls `take_job` first thing in `main` (through `concbench::serve_if_child`),
//!   which sets up what every child needs — a panic becomes one line on stderr, the kernel kills
//!   it when the parent dies, it is pinned where the parent asked — and returns the job; its
//!   replies go through `Lines`. Which code serves which job is decided at the top of the crate
//!   (`concbench::serve_if_child`), since some of it belongs to the experiments.
//!
//! The distributed strategy's ranks get their jobs as one more kind, `ChildJob::Rank`, broadcast
//! by rank 0 over MPI instead of passed on a command line.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::topology;

pub(crate) mod jobs;
pub(crate) mod part;
pub(crate) mod rank;

/// The argument that marks a child invocation; the next argument is the [`ChildSpec`] as JSON.
pub(crate) const CHILD_ARG: &str = "__concbench-child";

/// Everything a child is told: who its parent is, where to run, and what to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ChildSpec {
    /// The parent's pid: if it is already gone when the child starts, the child exits at once.
    pub(crate) parent_pid: u32,
    /// The CPU the child pins itself to before its job starts (`None`: where the kernel likes).
    pub(crate) cpu: Option<usize>,
    /// The job.
    pub(crate) job: ChildJob,
}

/// The kinds of child process concbench starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
#[non_exhaustive]
pub(crate) enum ChildJob {
    /// One part of a workload under the multi-process strategy (see [`part`]).
    Part(part::PartJob),
    /// A timeline worker process: spins and records when it ran.
    TimelineWorker(jobs::WorkerPlan),
    /// The peer of a process ping-pong: returns every token on stdin to stdout.
    PingPongPeer,
    /// A child of the lab's isolation and communication claims.
    LabChild(jobs::LabMode),
    /// A matrixmultiply dgemm reference with `MATMUL_NUM_THREADS` set by the parent.
    RefDgemm(jobs::DgemmJob),
    /// What rank 0 of an MPI job asks the other ranks to do (never a started process: the ranks
    /// receive it over MPI; see [`rank`]).
    Rank(rank::RankJob),
    /// A pre-forked worker process of the multi-process web server.
    WebServer(jobs::WebServerJob),
    /// A load generator process of a web row.
    WebLoad(jobs::WebLoadJob),
}

impl ChildJob {
    /// How the child names itself in its one-line error messages.
    pub(crate) fn label(&self) -> String {
        match self {
            ChildJob::Part(job) => format!("worker for part {}", job.part),
            ChildJob::TimelineWorker(plan) => format!("timeline worker {}", plan.id),
            ChildJob::PingPongPeer => "ping-pong peer".into(),
            ChildJob::LabChild(_) => "lab child".into(),
            ChildJob::RefDgemm(_) => "dgemm reference".into(),
            ChildJob::Rank(_) => "MPI rank".into(),
            ChildJob::WebServer(job) => format!("web server process {}", job.worker),
            ChildJob::WebLoad(_) => "load generator".into(),
        }
    }
}

/// A test hook: make one part fail on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Fault {
    /// Which part fails.
    pub part: usize,
    /// How it fails.
    pub kind: FaultKind,
}

/// How an injected fault shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum FaultKind {
    /// The worker crashes (panics) when its first stage starts.
    Crash,
    /// The worker skips its work but reports success, so verification must catch it.
    WrongAnswer,
    /// The part never returns (a stuck worker), so supervision must catch it.
    Hang,
}

/// How to start a child process: an executable and the arguments before `CHILD_ARG`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerCommand {
    /// The program to run.
    pub(crate) exe: PathBuf,
    /// Arguments placed before the child marker.
    pub(crate) args: Vec<String>,
}

impl WorkerCommand {
    /// The running executable as its own worker: for programs (like the examples) whose `main`
    /// starts with `concbench::serve_if_child`.
    pub fn this_executable() -> std::io::Result<WorkerCommand> {
        Ok(WorkerCommand {
            exe: std::env::current_exe()?,
            args: Vec::new(),
        })
    }

    /// The program that serves concbench's children: `$CONCBENCH_EXE` if set (refused when it
    /// names no file, so that a sweep says so before its first row); this executable if
    /// it serves children (its `main` called [`take_job`], as the concbench binary does, under
    /// whatever name it was copied to); else a `concbench` beside this executable or one directory
    /// up (where cargo puts it for tests and benches, whose own binaries live in `target/*/deps`).
    pub(crate) fn locate_concbench() -> Result<WorkerCommand, String> {
        if let Some(p) = std::env::var_os("CONCBENCH_EXE") {
            let exe = PathBuf::from(p);
            if !exe.is_file() {
                return Err(format!(
                    "CONCBENCH_EXE={} is not a file, so no worker process can start (point it at a concbench binary, or unset it)",
                    exe.display()
                ));
            }
            return Ok(WorkerCommand {
                exe,
                args: Vec::new(),
            });
        }
        let me =
            std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
        if SERVES_CHILDREN.load(std::sync::atomic::Ordering::Relaxed)
            || me.file_name().is_some_and(|n| n == "concbench")
        {
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
            "no concbench binary found for worker processes near {} (set CONCBENCH_EXE, or start main with concbench::serve_if_child so that this program serves them)",
            me.display()
        ))
    }

    /// The command that starts a child with `spec`; stdin, stdout and stderr are the caller's to
    /// set.
    pub(crate) fn command(&self, spec: &ChildSpec) -> Command {
        // Windows: children join a kill-on-close job object, so they die with this process
        // (elsewhere each child arranges it itself). Failing that, they still watch their parent.
        let _ = crate::sys::kill_children_with_this_process();
        let mut cmd = Command::new(&self.exe);
        cmd.args(&self.args)
            .arg(CHILD_ARG)
            .arg(serde_json::to_string(spec).expect("child specs serialise"));
        cmd
    }

    /// The executable's path, for messages.
    pub(crate) fn display(&self) -> String {
        self.exe.display().to_string()
    }
}

/// Set once this program's `main` has offered to serve children: then it can be its own worker.
static SERVES_CHILDREN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// If this process was started as a child ([`CHILD_ARG`] is its first argument), set it up and
/// return its spec; otherwise return `None` at once. A child whose spec cannot be read exits
/// with status 2 and one line on stderr.
///
/// Set-up, the same for every kind: a panic becomes one line on stderr (which the parent passes
/// on), the kernel kills the child when its parent dies (and it exits if the parent is already
/// gone), and it pins itself to `spec.cpu` exactly (not checked against its own start-up mask,
/// which is the narrower mask of the thread that started it).
pub(crate) fn take_job() -> Option<ChildSpec> {
    SERVES_CHILDREN.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() != Some(std::ffi::OsStr::new(CHILD_ARG)) {
        return None;
    }
    std::panic::set_hook(Box::new(|info| {
        eprintln!("{}", info.to_string().replace('\n', " "))
    }));
    let spec = match args.next().map(|a| a.into_string()) {
        None => refuse("missing job argument"),
        Some(Err(_)) => refuse("the job argument is not UTF-8"),
        Some(Ok(json)) => match serde_json::from_str::<ChildSpec>(&json) {
            Ok(spec) => spec,
            Err(e) => refuse(&format!("bad job: {e}")),
        },
    };
    let label = spec.job.label();
    if let Err(e) = crate::sys::die_with_parent(spec.parent_pid) {
        finish(Err(e), &label);
    }
    if let Some(cpu) = spec.cpu {
        if let Err(e) = topology::set_affinity(&[cpu]) {
            finish(Err(format!("pinning to CPU {cpu}: {e}")), &label);
        }
    }
    Some(spec)
}

fn refuse(what: &str) -> ! {
    eprintln!("concbench child: {what}");
    std::process::exit(2)
}

/// End a child: status 0, or status 1 with `concbench LABEL: ERROR` on stderr.
pub(crate) fn finish(result: Result<(), String>, label: &str) -> ! {
    match result {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            eprintln!("concbench {label}: {e}");
            std::process::exit(1)
        }
    }
}

/// The child's side of a line protocol: lines in on stdin, lines out on stdout, each flushed.
pub(crate) struct Lines {
    input: std::io::StdinLock<'static>,
    output: std::io::StdoutLock<'static>,
}

impl Lines {
    /// Lock stdin and stdout for the protocol.
    pub fn new() -> Lines {
        Lines {
            input: std::io::stdin().lock(),
            output: std::io::stdout().lock(),
        }
    }

    /// Send one line to the parent.
    pub fn say(&mut self, line: &str) -> Result<(), String> {
        writeln!(self.output, "{line}")
            .and_then(|_| self.output.flush())
            .map_err(|e| format!("writing to parent: {e}"))
    }

    /// The next line from the parent (without its newline), or `None` at end of file.
    pub(crate) fn next_line(&mut self) -> Result<Option<String>, String> {
        let mut line = String::new();
        match self.input.read_line(&mut line) {
            Ok(0) => Ok(None),
            Ok(_) => Ok(Some(line.trim_end_matches(['\n', '\r']).to_string())),
            Err(e) => Err(format!("reading from parent: {e}")),
        }
    }
}

impl Default for Lines {
    fn default() -> Self {
        Lines::new()
    }
}

/// What went wrong with one child of a `Children` group; every child has been killed and
/// collected by the time this exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildFailure {
    /// The id the parent gave the child (part or worker index).
    pub(crate) id: usize,
    /// Its process id.
    pub(crate) pid: u32,
    /// What happened and how it ended, e.g. `it exited; exit status 1`.
    pub(crate) status: String,
    /// The end of what it wrote on stderr (at most 2000 characters), trimmed.
    pub(crate) stderr: String,
}

struct Member {
    id: usize,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// The parent's side of a group of children that talk in lines over their stdin and stdout.
/// Dropping it kills and collects whoever is still running, so no child outlives an error.
/// With a deadline, a child that has not answered by then (stopped, or stuck in a part that
/// never returns) is a failure: every child is killed and collected, and the one waited for is
/// named with its pid.
#[derive(Default)]
pub(crate) struct Children {
    members: Vec<Member>,
    deadline: Option<std::time::Instant>,
}

impl Children {
    /// An empty group with room for `n` children.
    pub fn with_capacity(n: usize) -> Children {
        Children {
            members: Vec::with_capacity(n),
            deadline: None,
        }
    }

    /// Give up on any answer that has not come by `deadline` (`None`: wait for ever).
    pub(crate) fn set_deadline(&mut self, deadline: Option<std::time::Instant>) {
        self.deadline = deadline;
    }

    /// Start a child with `command` (stdin, stdout and stderr piped) under the id `id`.
    pub fn spawn(&mut self, id: usize, mut command: Command) -> std::io::Result<()> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        self.members.push(Member {
            id,
            child,
            stdin,
            stdout,
        });
        Ok(())
    }

    /// Children in the group.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// The id of the child at `index`.
    pub fn id(&self, index: usize) -> usize {
        self.members[index].id
    }

    /// Send one line to the child at `index`.
    pub fn send(&mut self, index: usize, line: &str) -> Result<(), ChildFailure> {
        let m = &mut self.members[index];
        let sent = writeln!(m.stdin, "{line}").and_then(|_| m.stdin.flush());
        sent.map_err(|e| self.fail(index, format!("could not send '{line}': {e}")))
    }

    /// The next line from the child at `index`, without its newline.
    pub fn receive(&mut self, index: usize) -> Result<String, ChildFailure> {
        if let Some(deadline) = self.deadline {
            let reader = &self.members[index].stdout;
            if reader.buffer().is_empty() {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                match crate::sys::wait_readable(crate::sys::desc_of(reader.get_ref()), Some(left)) {
                    Ok(true) => {}
                    Ok(false) => {
                        return Err(self.fail(
                            index,
                            "no answer by the deadline of this repetition (stopped, or a part that never returns); killed".into(),
                        ))
                    }
                    Err(e) => return Err(self.fail(index, format!("waiting for it: {e}"))),
                }
            }
        }
        let mut line = String::new();
        match self.members[index].stdout.read_line(&mut line) {
            Ok(0) => Err(self.fail(index, "it exited".into())),
            Ok(_) => Ok(line.trim_end().to_string()),
            Err(e) => Err(self.fail(index, format!("read error: {e}"))),
        }
    }

    /// Receive from the child at `index` and fail unless it says exactly `expected`.
    pub fn expect(&mut self, index: usize, expected: &str) -> Result<(), ChildFailure> {
        let line = self.receive(index)?;
        if line == expected {
            Ok(())
        } else {
            Err(self.fail(index, format!("said '{line}' instead of '{expected}'")))
        }
    }

    /// Wait for every child to exit (after telling them to); any status but success fails.
    /// Empties the group.
    pub(crate) fn wait_all(&mut self) -> Result<(), ChildFailure> {
        for i in 0..self.members.len() {
            match self.members[i].child.wait() {
                Ok(st) if st.success() => {}
                Ok(st) => return Err(self.fail(i, format!("exit failed: {}", describe_status(st)))),
                Err(e) => return Err(self.fail(i, format!("wait failed: {e}"))),
            }
        }
        self.members.clear();
        Ok(())
    }

    /// Kill every child, collect them all, and describe what happened to the one at `index`.
    pub fn fail(&mut self, index: usize, what: String) -> ChildFailure {
        for m in &mut self.members {
            let _ = m.child.kill();
        }
        let mut status = what;
        let mut stderr = String::new();
        for (i, m) in self.members.iter_mut().enumerate() {
            let st = m.child.wait();
            if i == index {
                if let Ok(st) = st {
                    status = format!("{status}; {}", describe_status(st));
                }
                if let Some(mut e) = m.child.stderr.take() {
                    let _ = e.read_to_string(&mut stderr);
                }
            }
        }
        let failure = ChildFailure {
            id: self.members[index].id,
            pid: self.members[index].child.id(),
            status,
            stderr: last_chars(stderr.trim(), 2000),
        };
        self.members.clear();
        failure
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for m in &mut self.members {
            let _ = m.child.kill();
            let _ = m.child.wait();
        }
    }
}

/// An exit status in words: `exit status 1`, `killed by signal 9`.
pub(crate) fn describe_status(st: std::process::ExitStatus) -> String {
    #[cfg(unix)]
    let signal = std::os::unix::process::ExitStatusExt::signal(&st);
    #[cfg(not(unix))]
    let signal: Option<i32> = None;
    match (st.code(), signal) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => st.to_string(),
    }
}

fn last_chars(s: &str, n: usize) -> String {
    let count = s.chars().count();
    s.chars().skip(count.saturating_sub(n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_is_cut_to_its_end() {
        assert_eq!(last_chars("abcdef", 3), "def");
        assert_eq!(last_chars("ab", 3), "ab");
    }

    #[test]
    fn specs_round_trip_as_json() {
        let spec = ChildSpec {
            parent_pid: 7,
            cpu: Some(1),
            job: ChildJob::LabChild(jobs::LabMode::ShmCopy { fd: 3, len: 64 }),
        };
        let json = serde_json::to_string(&spec).unwrap();
        assert_eq!(serde_json::from_str::<ChildSpec>(&json).unwrap(), spec);
        assert!(json.contains("\"kind\":\"lab-child\""), "{json}");
    }
}
