//! The ping-pong mechanisms whose round trips [`super::measure`] times: two threads over a pipe
//! or a futex word, this process and a peer process over two pipes, and two async tasks over
//! channels on one thread; with the pinning, the kernel's per-task counts read before and after,
//! the token's pipe I/O and the peer process's side ([`serve_peer`]).

use std::io::{Read, Write};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::Builder;

use super::{round_trip_ns, PingPongPlan, SwitchCostError, CHUNK};
use crate::child::{ChildJob, ChildSpec, WorkerCommand};
use crate::measure::clock::monotonic_ns;
use crate::start;
use crate::sys::{self, RawDesc};

/// Pin the calling thread to exactly `cpu` with `sched_setaffinity` (no check against the
/// start-up mask: a peer process inherits its spawner's mask, which may be narrower).
fn pin_exact(cpu: usize) -> Result<(), SwitchCostError> {
    sys::set_thread_affinity(&[cpu]).map_err(|e| SwitchCostError::Os {
        what: format!("pinning to CPU {cpu}"),
        source: e,
    })
}

/// What the kernel counted for one task (thread) so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct TaskStats {
    /// Context switches, voluntary + involuntary (`/proc/PID/task/TID/status`).
    pub(super) switches: u64,
    /// Time on a CPU, ns (first field of `/proc/PID/task/TID/schedstat`).
    pub(super) run_ns: u64,
}

impl TaskStats {
    /// Task `tid` of process `pid` (zeros if it cannot be read).
    fn of(pid: u32, tid: u32) -> TaskStats {
        TaskStats {
            switches: sys::task_switches(pid, tid).unwrap_or(0),
            run_ns: sys::task_run_ns(pid, tid).unwrap_or(0),
        }
    }

    fn since(&self, before: &TaskStats) -> TaskStats {
        TaskStats {
            switches: self.switches.saturating_sub(before.switches),
            run_ns: self.run_ns.saturating_sub(before.run_ns),
        }
    }
}

impl std::ops::Add for TaskStats {
    type Output = TaskStats;
    fn add(self, o: TaskStats) -> TaskStats {
        TaskStats {
            switches: self.switches + o.switches,
            run_ns: self.run_ns + o.run_ns,
        }
    }
}

/// What the timed repetitions of one case produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Timed {
    /// Round trip of each repetition, ns.
    pub(super) samples_ns: Vec<f64>,
    /// Elapsed ns of all timed repetitions together.
    pub(super) elapsed_ns: u64,
    /// Round trips of all timed repetitions together.
    pub(super) round_trips: u64,
    /// Both parties' kernel counts over the timed repetitions.
    pub(super) stats: TaskStats,
}

/// Run `reps` timed repetitions of `round(n)` and count what both parties did meanwhile.
fn timed_reps(
    plan: &PingPongPlan,
    parties: &dyn Fn() -> TaskStats,
    round: &mut dyn FnMut(u64) -> Result<(), SwitchCostError>,
) -> Result<Timed, SwitchCostError> {
    round(plan.warmup_round_trips)?;
    let before = parties();
    let mut samples_ns = Vec::with_capacity(plan.reps);
    let (mut elapsed_ns, mut round_trips) = (0, 0);
    for _ in 0..plan.reps {
        let t0 = monotonic_ns();
        let mut done = 0;
        let mut t1 = t0;
        // Chunks of round trips between clock readings: the reading (vDSO, tens of ns) is
        // negligible beside a chunk, and a slow placement stops at the time cap.
        while done < plan.round_trips && t1 - t0 < plan.max_rep_ns {
            let chunk = (plan.round_trips - done).min(CHUNK);
            round(chunk)?;
            done += chunk;
            t1 = monotonic_ns();
        }
        elapsed_ns += t1 - t0;
        round_trips += done;
        samples_ns.push(round_trip_ns(t1 - t0, done));
    }
    Ok(Timed {
        samples_ns,
        elapsed_ns,
        round_trips,
        stats: parties().since(&before),
    })
}

/// Write the 4-byte token; `Ok(false)` if the other end is closed.
fn write_token(fd: RawDesc, token: u32) -> std::io::Result<bool> {
    let buf = token.to_ne_bytes();
    loop {
        match sys::write_fd(fd, &buf) {
            Ok(4) => return Ok(true),
            Ok(n) => return Err(std::io::Error::other(format!("short write of {n}"))),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(false),
            Err(e) => return Err(e),
        }
    }
}

/// Read the 4-byte token (blocking); `Ok(None)` at end of file.
fn read_token(fd: RawDesc) -> std::io::Result<Option<u32>> {
    let mut buf = [0u8; 4];
    let mut got = 0usize;
    while got < 4 {
        match sys::read_fd(fd, &mut buf[got..]) {
            Ok(0) => return Ok(None),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Some(u32::from_ne_bytes(buf)))
}

/// A pipe, both ends close-on-exec: `[read, write]`.
fn pipe() -> Result<[RawDesc; 2], SwitchCostError> {
    sys::pipe().map_err(|e| SwitchCostError::Os {
        what: "creating a pipe".into(),
        source: e,
    })
}

fn close(fd: RawDesc) {
    // fd is one this module opened and closes once.
    sys::close_fd(fd);
}

/// The ping side over pipes: warm-up, then timed repetitions. `peer` reads the other side's
/// kernel counts (called before and after the timed repetitions).
fn ping_pipe(
    wfd: RawDesc,
    rfd: RawDesc,
    plan: &PingPongPlan,
    peer: &dyn Fn() -> TaskStats,
) -> Result<Timed, SwitchCostError> {
    let (pid, tid) = (std::process::id(), sys::thread_id());
    let io = |e: std::io::Error| SwitchCostError::Os {
        what: "ping-pong over a pipe".into(),
        source: e,
    };
    let closed = || SwitchCostError::Peer("the peer closed its pipe".into());
    let mut token = 0u32;
    let mut round = |n: u64| -> Result<(), SwitchCostError> {
        for _ in 0..n {
            if !write_token(wfd, token).map_err(io)? {
                return Err(closed());
            }
            token = read_token(rfd)
                .map_err(io)?
                .ok_or_else(closed)?
                .wrapping_add(1);
        }
        Ok(())
    };
    let parties = || TaskStats::of(pid, tid) + peer();
    timed_reps(plan, &parties, &mut round)
}

fn check_cpu(cpu: usize, who: &str) -> Result<(), SwitchCostError> {
    if !crate::topology::placement_enforced() {
        // Nothing was pinned and the current CPU cannot be read (macOS): the machine block
        // says placement was not enforced.
        return Ok(());
    }
    let seen = crate::topology::current_cpu();
    if seen != cpu {
        return Err(SwitchCostError::Peer(format!(
            "{who} pinned to CPU {cpu} runs on CPU {seen}"
        )));
    }
    Ok(())
}

pub(super) fn thread_pipe(cpus: [usize; 2], plan: &PingPongPlan) -> Result<Timed, SwitchCostError> {
    let to_pong = pipe()?;
    let to_ping = match pipe() {
        Ok(p) => p,
        Err(e) => {
            close(to_pong[0]);
            close(to_pong[1]);
            return Err(e);
        }
    };
    let pong_tid = AtomicU32::new(0);
    let result = std::thread::scope(|s| {
        let pong = start::spawn_scoped(
            s,
            Builder::new(),
            0,
            2,
            || -> Result<(), SwitchCostError> {
                let pinned = pin_exact(cpus[1]);
                pong_tid.store(sys::thread_id(), Ordering::Release);
                // Serve even if pinning failed, so ping is not left waiting; report afterwards.
                let served = serve_pipe(to_pong[0], to_ping[1]);
                close(to_ping[1]);
                pinned?;
                served.map_err(|e| SwitchCostError::Os {
                    what: "pong side of the pipe".into(),
                    source: e,
                })
            },
        );
        let pong = match pong {
            Ok(h) => h,
            Err(e) => {
                close(to_pong[1]);
                close(to_ping[1]);
                return Err(e.into());
            }
        };
        let ping = start::spawn_scoped(s, Builder::new(), 1, 2, || {
            let r = pin_exact(cpus[0])
                .and_then(|_| check_cpu(cpus[0], "ping"))
                .and_then(|_| {
                    let pid = std::process::id();
                    let peer = || TaskStats::of(pid, pong_tid.load(Ordering::Acquire));
                    ping_pipe(to_pong[1], to_ping[0], plan, &peer)
                });
            // Closing our write end tells pong to stop.
            close(to_pong[1]);
            r
        });
        let ping = match ping {
            Ok(h) => h,
            Err(e) => {
                // End of file releases pong.
                close(to_pong[1]);
                let _ = pong.join();
                return Err(e.into());
            }
        };
        let ping = ping.join().expect("ping thread panicked");
        let pong = pong.join().expect("pong thread panicked");
        ping.and_then(|r| pong.map(|_| r))
    });
    close(to_pong[0]);
    close(to_ping[0]);
    result
}

/// Two async tasks on one thread pinned to `cpu`, passing a token over two channels: the ping
/// task sends and awaits the answer, the pong task awaits and answers. Repetitions as in
/// [`timed_reps`], measured inside the runtime.
pub(super) fn task_channel(cpu: usize, plan: &PingPongPlan) -> Result<Timed, SwitchCostError> {
    std::thread::scope(|s| {
        s.spawn(|| {
            pin_exact(cpu)?;
            check_cpu(cpu, "the task thread")?;
            let rt = crate::strategy::tasks::runtime().map_err(|e| SwitchCostError::Os {
                what: "starting the async runtime".into(),
                source: e,
            })?;
            let local = tokio::task::LocalSet::new();
            let (pid, tid) = (std::process::id(), sys::thread_id());
            let stats = || TaskStats::of(pid, tid);
            let timed = rt.block_on(local.run_until(async {
                // Unbounded: a send never waits, so each switch is a receiver parking on its
                // empty channel and the runtime polling the other task.
                let (to_pong, mut pong_rx) = tokio::sync::mpsc::unbounded_channel::<u32>();
                let (to_ping, mut ping_rx) = tokio::sync::mpsc::unbounded_channel::<u32>();
                let pong = tokio::task::spawn_local(async move {
                    while let Some(t) = pong_rx.recv().await {
                        if to_ping.send(t).is_err() {
                            break;
                        }
                    }
                });
                let mut token = 0u32;
                let (tx, rx, tok) = (&to_pong, &mut ping_rx, &mut token);
                let broken = || SwitchCostError::Peer("the pong task stopped".into());
                task_rounds(plan.warmup_round_trips, tx, rx, tok)
                    .await
                    .ok_or_else(broken)?;
                let before = stats();
                let mut samples_ns = Vec::with_capacity(plan.reps);
                let (mut elapsed_ns, mut round_trips) = (0, 0);
                for _ in 0..plan.reps {
                    let t0 = monotonic_ns();
                    let (mut done, mut t1) = (0, t0);
                    while done < plan.round_trips && t1 - t0 < plan.max_rep_ns {
                        let chunk = (plan.round_trips - done).min(CHUNK);
                        task_rounds(chunk, tx, rx, tok).await.ok_or_else(broken)?;
                        done += chunk;
                        t1 = monotonic_ns();
                    }
                    elapsed_ns += t1 - t0;
                    round_trips += done;
                    samples_ns.push(round_trip_ns(t1 - t0, done));
                }
                let after = stats().since(&before);
                drop(to_pong);
                let _ = pong.await;
                Ok(Timed {
                    samples_ns,
                    elapsed_ns,
                    round_trips,
                    stats: after,
                })
            }));
            timed
        })
        .join()
        .expect("task ping-pong thread panicked")
    })
}

/// `n` round trips of the ping task: send the token, await it back (`None`: pong stopped).
async fn task_rounds(
    n: u64,
    to_pong: &tokio::sync::mpsc::UnboundedSender<u32>,
    from_pong: &mut tokio::sync::mpsc::UnboundedReceiver<u32>,
    token: &mut u32,
) -> Option<()> {
    for _ in 0..n {
        to_pong.send(*token).ok()?;
        *token = from_pong.recv().await?.wrapping_add(1);
    }
    Some(())
}

/// The pong side: read the token, send it back, until the write end is closed.
fn serve_pipe(rfd: RawDesc, wfd: RawDesc) -> std::io::Result<()> {
    while let Some(t) = read_token(rfd)? {
        if !write_token(wfd, t)? {
            return Ok(());
        }
    }
    Ok(())
}

// Futex ping-pong: one word; ping sets it to PINGED and wakes pong, then waits while it is still
// PINGED; pong waits while it is IDLE, answers by setting IDLE and waking ping; STOP ends pong.
const IDLE: u32 = 0;
const PINGED: u32 = 1;
const STOP: u32 = 2;

/// A spurious return is handled by the callers' loops.
fn futex_wait(word: &AtomicU32, expected: u32) {
    sys::wait_while_equal(word, expected);
}

fn futex_wake(word: &AtomicU32) {
    sys::wake(word, 1);
}

pub(super) fn thread_futex(
    cpus: [usize; 2],
    plan: &PingPongPlan,
) -> Result<Timed, SwitchCostError> {
    let word = AtomicU32::new(IDLE);
    let pong_tid = AtomicU32::new(0);
    std::thread::scope(|s| {
        let pong = start::spawn_scoped(s, Builder::new(), 0, 2, || {
            let pinned = pin_exact(cpus[1]);
            pong_tid.store(sys::thread_id(), Ordering::Release);
            loop {
                match word.load(Ordering::Acquire) {
                    IDLE => futex_wait(&word, IDLE),
                    PINGED => {
                        word.store(IDLE, Ordering::Release);
                        futex_wake(&word);
                    }
                    _ => break,
                }
            }
            pinned
        })?;
        let ping = start::spawn_scoped(s, Builder::new(), 1, 2, || {
            let r = pin_exact(cpus[0])
                .and_then(|_| check_cpu(cpus[0], "ping"))
                .and_then(|_| {
                    let mut round = |n: u64| -> Result<(), SwitchCostError> {
                        for _ in 0..n {
                            word.store(PINGED, Ordering::Release);
                            futex_wake(&word);
                            while word.load(Ordering::Acquire) == PINGED {
                                futex_wait(&word, PINGED);
                            }
                        }
                        Ok(())
                    };
                    let (pid, me) = (std::process::id(), sys::thread_id());
                    let parties = || {
                        TaskStats::of(pid, me)
                            + TaskStats::of(pid, pong_tid.load(Ordering::Acquire))
                    };
                    timed_reps(plan, &parties, &mut round)
                });
            word.store(STOP, Ordering::Release);
            futex_wake(&word);
            r
        });
        let ping = match ping {
            Ok(h) => h,
            Err(e) => {
                word.store(STOP, Ordering::Release);
                futex_wake(&word);
                let _ = pong.join();
                return Err(e.into());
            }
        };
        let ping = ping.join().expect("ping thread panicked");
        let pong = pong.join().expect("pong thread panicked");
        ping.and_then(|r| pong.map(|_| r))
    })
}

/// Kills and collects the peer process if the measurement ends early.
struct PeerGuard(std::process::Child);

impl Drop for PeerGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(super) fn process_pipe(
    cpus: [usize; 2],
    plan: &PingPongPlan,
) -> Result<Timed, SwitchCostError> {
    let exe = WorkerCommand::locate_concbench().map_err(SwitchCostError::Peer)?;
    let spec = ChildSpec {
        parent_pid: std::process::id(),
        cpu: Some(cpus[1]),
        job: ChildJob::PingPongPeer,
    };
    let child = exe
        .command(&spec)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if sys::limit_behind(&e).is_some() {
                SwitchCostError::Start(start::StartError::new("process", 1, 2, e))
            } else {
                SwitchCostError::Peer(format!("starting {}: {e}", exe.display()))
            }
        })?;
    let mut guard = PeerGuard(child);
    let peer_pid = guard.0.id();
    let mut stdin = guard.0.stdin.take().expect("piped stdin");
    let mut stdout = guard.0.stdout.take().expect("piped stdout");
    let (wfd, rfd) = (sys::desc_of(&stdin), sys::desc_of(&stdout));
    let peer_failed = |guard: &mut PeerGuard, what: String| {
        let _ = guard.0.kill();
        let mut err = String::new();
        if let Some(mut e) = guard.0.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        let err = err.trim();
        SwitchCostError::Peer(if err.is_empty() {
            what
        } else {
            format!("{what}: {err}")
        })
    };

    let measured = std::thread::scope(|s| {
        start::spawn_scoped(
            s,
            Builder::new(),
            0,
            1,
            || -> Result<Timed, SwitchCostError> {
                pin_exact(cpus[0])?;
                check_cpu(cpus[0], "ping")?;
                // The peer says it is pinned and ready by sending the first token.
                match read_token(rfd) {
                    Ok(Some(_)) => {}
                    _ => return Err(SwitchCostError::Peer("it did not start".into())),
                }
                let peer = || TaskStats::of(peer_pid, peer_pid);
                ping_pipe(wfd, rfd, plan, &peer)
            },
        )?
        .join()
        .expect("ping thread panicked")
    });
    let measured = match measured {
        Ok(m) => m,
        Err(e) => return Err(peer_failed(&mut guard, e.to_string())),
    };
    // End of file on its stdin tells the peer to exit.
    let _ = stdin.flush();
    drop(stdin);
    let mut rest = Vec::new();
    let _ = stdout.read_to_end(&mut rest);
    match guard.0.wait() {
        Ok(st) if st.success() => Ok(measured),
        Ok(st) => Err(peer_failed(&mut guard, format!("it ended with {st}"))),
        Err(e) => Err(peer_failed(&mut guard, format!("waiting for it: {e}"))),
    }
}

/// Serve the parent as the peer of a process ping-pong (the child job
/// [`ChildJob::PingPongPeer`], already pinned to its CPU): its stdin and stdout are the two
/// pipes; it sends one token to say it is ready, then returns every token it reads until its
/// stdin is closed.
pub(crate) fn serve_peer() -> Result<(), String> {
    let (rfd, wfd) = (
        sys::desc_of(&std::io::stdin()),
        sys::desc_of(&std::io::stdout()),
    );
    if !write_token(wfd, 0).map_err(|e| e.to_string())? {
        return Ok(());
    }
    serve_pipe(rfd, wfd).map_err(|e| e.to_string())
}
