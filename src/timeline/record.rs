//! The recorder: K workers spin on the CPU in small chunks and read the clock after each chunk.
//!
//! Each worker is a thread or a re-executed concbench process (a child job of [`crate::child`]), pinned where
//! the placement says. All workers are made ready first (a barrier for threads, a `ready` line
//! for processes); the coordinator then names a common start a few milliseconds ahead on
//! `CLOCK_MONOTONIC`, which every process shares, and every worker records from that instant to
//! the common end. While recording, a worker only computes, reads the clock through the vDSO and,
//! when two readings are further apart than the gap threshold, stores the pair in a buffer
//! allocated beforehand: no allocation, lock or I/O. A full buffer ends that worker's recording
//! early, flagged `truncated`.
//!
//! Process workers speak a small line protocol on stdin/stdout:
//!
//! | who    | says                                   |
//! |--------|----------------------------------------|
//! | worker | `ready` (pinned, buffer allocated)     |
//! | parent | `go START_NS END_NS`                   |
//! | worker | one JSON line: its [`WorkerReadings`]  |
//!
//! Task workers ([`Kind::Task`]) are async tasks of one `current_thread` runtime on a thread
//! pinned to the first CPU. Each spins for its share of the recording (duration / K of its own
//! running time, gaps excluded) and, with a yield interval, awaits `yield_now` after that much
//! work; a gap in one task's readings in which another task ran is a switch, as for threads.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::analyze::WorkerReadings;
use super::{Kind, TimelineConfig, TimelineError};
pub(crate) use crate::child::jobs::{Calibration, WorkerPlan};
use crate::child::{ChildFailure, ChildJob, ChildSpec, Children, Lines, WorkerCommand};
use crate::measure::clock::monotonic_ns;
use crate::measure::rusage::Usage;
use crate::topology;

/// Chunk length the calibration aims for: short enough that a reading lands within about a
/// microsecond of a switch, long enough that the clock read is a small part of it.
pub(crate) const TARGET_CHUNK_NS: u64 = 1_000;

/// The gap threshold is this many chunk times...
pub(crate) const THRESHOLD_CHUNKS: u64 = 10;

/// ...but never below this many ns (clock jitter, cache misses).
pub(crate) const MIN_THRESHOLD_NS: u64 = 5_000;

/// Gap buffer entries per millisecond of recording (one gap per 50 µs on average).
pub(crate) const GAPS_PER_MS: u64 = 20;

/// Memory all gap buffers together may take.
pub(crate) const GAP_BUFFER_BUDGET_BYTES: u64 = 256 << 20;

/// One chunk of CPU work: `iters` rounds of a xorshift step, not optimisable away.
#[inline(never)]
pub(crate) fn spin_chunk(iters: u64, state: &mut u64) {
    let mut x = *state | 1;
    for _ in 0..iters {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    *state = std::hint::black_box(x);
}

/// Size the chunk to about [`TARGET_CHUNK_NS`] on the calling thread and derive the threshold
/// from the median chunk time: `max(THRESHOLD_CHUNKS × chunk, MIN_THRESHOLD_NS)`.
pub(crate) fn calibrate() -> Calibration {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    // Iterations per ns: grow a batch until it takes about 50 µs, then keep the fastest of a few
    // timings of it (a preempted timing is only ever slower, and the machine may be busy).
    let mut iters = 64u64;
    while iters < 1 << 30 {
        let t0 = monotonic_ns();
        spin_chunk(iters, &mut state);
        if monotonic_ns() - t0 > 50_000 {
            break;
        }
        iters *= 2;
    }
    let fastest = (0..15)
        .map(|_| {
            let t0 = monotonic_ns();
            spin_chunk(iters, &mut state);
            monotonic_ns() - t0
        })
        .min()
        .unwrap_or(1)
        .max(1);
    let per_ns = iters as f64 / fastest as f64;
    let chunk_iters = ((per_ns * TARGET_CHUNK_NS as f64) as u64).max(1);
    let mut times = Vec::with_capacity(4001);
    let mut prev = monotonic_ns();
    for _ in 0..4000 {
        spin_chunk(chunk_iters, &mut state);
        let now = monotonic_ns();
        times.push(now - prev);
        prev = now;
    }
    times.sort_unstable();
    let chunk_ns = times[times.len() / 2].max(1);
    Calibration {
        chunk_iters,
        chunk_ns,
        threshold_ns: (THRESHOLD_CHUNKS * chunk_ns).max(MIN_THRESHOLD_NS),
    }
}

/// Gap buffer entries for one of `workers` workers recording `duration_ns`.
pub(crate) fn gap_capacity(duration_ns: u64, workers: usize) -> usize {
    let wanted = duration_ns / 1_000_000 * GAPS_PER_MS + 1024;
    let budget = GAP_BUFFER_BUDGET_BYTES / 16 / workers.max(1) as u64;
    wanted.min(budget).max(64) as usize
}

/// A worker's gap buffer, allocated before the start so recording never allocates.
pub(crate) struct Recorder {
    plan: WorkerPlan,
    gaps: Vec<(u64, u64)>,
}

impl Recorder {
    /// Allocate the buffer for `plan`.
    pub fn new(plan: WorkerPlan) -> Recorder {
        let gaps = Vec::with_capacity(plan.capacity);
        Recorder { plan, gaps }
    }

    /// Spin until `start_ns`, record until `end_ns`, and return the readings. Call it on the
    /// pinned worker thread.
    pub fn record(mut self, start_ns: u64, end_ns: u64, os_id: u32) -> WorkerReadings {
        let Calibration {
            chunk_iters,
            threshold_ns,
            ..
        } = self.plan.calibration;
        let mut state = self.plan.id as u64 + 1;
        while monotonic_ns() < start_ns {
            spin_chunk(chunk_iters, &mut state);
        }
        let before = Usage::this_thread();
        let first = monotonic_ns();
        let mut prev = first;
        let mut truncated = false;
        let cap = self.gaps.capacity();
        while prev < end_ns {
            spin_chunk(chunk_iters, &mut state);
            let now = monotonic_ns();
            if now - prev > threshold_ns {
                if self.gaps.len() == cap {
                    truncated = true;
                    break;
                }
                self.gaps.push((prev, now));
            }
            prev = now;
        }
        let usage = Usage::this_thread().since(&before);
        WorkerReadings {
            id: self.plan.id,
            cpu: self.plan.cpu,
            cpu_seen: topology::current_cpu(),
            os_id,
            first_ns: Some(first),
            last_ns: prev,
            gaps: self.gaps,
            involuntary_switches: usage.involuntary_switches,
            voluntary_switches: usage.voluntary_switches,
            truncated,
        }
    }
}

/// The common start and every worker's readings.
pub struct Recording {
    /// Common start, ns on `CLOCK_MONOTONIC`.
    pub(crate) start_ns: u64,
    /// How the chunk was sized.
    pub(crate) calibration: Calibration,
    /// One per worker, in order.
    pub workers: Vec<WorkerReadings>,
}

/// Record `config` with threads or processes.
pub fn record(config: &TimelineConfig) -> Result<Recording, TimelineError> {
    let calibration = calibrate();
    let capacity = gap_capacity(config.duration_ns, config.workers);
    let plans: Vec<WorkerPlan> = (0..config.workers)
        .map(|id| WorkerPlan {
            id,
            cpu: config.placement.cpu_for(id),
            calibration,
            capacity,
            parent_pid: std::process::id(),
        })
        .collect();
    let (start_ns, workers) = match config.kind {
        Kind::Thread => record_threads(plans, config.duration_ns)?,
        Kind::Task => record_tasks(plans, config.duration_ns, config.yield_every_ns)?,
        Kind::Process => {
            let cmd = match &config.worker_command {
                Some(c) => c.clone(),
                None => WorkerCommand::locate_concbench().map_err(TimelineError::NoWorkerBinary)?,
            };
            record_processes(plans, config.duration_ns, &cmd)?
        }
    };
    Ok(Recording {
        start_ns,
        calibration,
        workers,
    })
}

/// How far ahead of "everyone is ready" the common start is set.
const THREAD_LEAD_NS: u64 = 2_000_000;
const PROCESS_LEAD_NS: u64 = 10_000_000;

fn record_threads(
    plans: Vec<WorkerPlan>,
    duration_ns: u64,
) -> Result<(u64, Vec<WorkerReadings>), TimelineError> {
    // The barrier: each worker pins itself, allocates its buffer and checks in; once all have,
    // the coordinator publishes the common start, which the workers wait for (yielding, so
    // workers sharing a CPU let each other check in).
    let ready = AtomicUsize::new(0);
    let start = AtomicU64::new(0);
    let workers = plans.len();
    std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(workers);
        for plan in plans {
            let (ready, start) = (&ready, &start);
            let spawned = std::thread::Builder::new()
                .name(format!("timeline-{}", plan.id))
                .spawn_scoped(scope, move || {
                    let (id, cpu) = (plan.id, plan.cpu);
                    let pinned = topology::pin_current_thread(cpu);
                    let recorder = Recorder::new(plan);
                    ready.fetch_add(1, Ordering::AcqRel);
                    let s = loop {
                        match start.load(Ordering::Acquire) {
                            0 => std::thread::yield_now(),
                            s => break s,
                        }
                    };
                    pinned.map_err(|source| TimelineError::Pin { worker: id, source })?;
                    Ok(recorder.record(s, s + duration_ns, crate::sys::thread_id()))
                });
            match spawned {
                Ok(h) => handles.push(h),
                Err(e) => {
                    // Release the ones already waiting: a start in the past records nothing.
                    start.store(1, Ordering::Release);
                    let refused =
                        crate::start::StartError::new("thread", handles.len(), workers, e);
                    return Err(TimelineError::Spawn(refused.to_string()));
                }
            }
        }
        while ready.load(Ordering::Acquire) < workers {
            std::thread::yield_now();
        }
        let s = monotonic_ns() + THREAD_LEAD_NS;
        start.store(s, Ordering::Release);
        let mut out = Vec::with_capacity(workers);
        for h in handles {
            match h.join() {
                Ok(r) => out.push(r?),
                Err(_) => return Err(TimelineError::Spawn("a worker thread panicked".into())),
            }
        }
        Ok((s, out))
    })
}

/// A task worker gives up once the recording has run this many times its planned length (a busy
/// machine took the CPU for that long).
const TASK_OVERRUN_FACTOR: u64 = 4;

fn record_tasks(
    plans: Vec<WorkerPlan>,
    duration_ns: u64,
    yield_every_ns: u64,
) -> Result<(u64, Vec<WorkerReadings>), TimelineError> {
    let Some(cpu) = plans.first().map(|p| p.cpu) else {
        return Ok((monotonic_ns(), Vec::new()));
    };
    let workers = plans.len() as u64;
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("timeline-tasks".into())
            .spawn_scoped(scope, move || {
                topology::pin_current_thread(cpu)
                    .map_err(|source| TimelineError::Pin { worker: 0, source })?;
                let rt = crate::strategy::tasks::runtime()
                    .map_err(|e| TimelineError::Spawn(format!("the async runtime: {e}")))?;
                let local = tokio::task::LocalSet::new();
                let os_id = crate::sys::thread_id();
                let start = monotonic_ns() + THREAD_LEAD_NS;
                let budget_ns = duration_ns / workers;
                let give_up = start + TASK_OVERRUN_FACTOR * duration_ns;
                let out =
                    rt.block_on(local.run_until(async move {
                        let handles: Vec<_> = plans
                            .into_iter()
                            .map(|plan| {
                                tokio::task::spawn_local(record_task(
                                    Recorder::new(plan),
                                    start,
                                    budget_ns,
                                    yield_every_ns,
                                    give_up,
                                    os_id,
                                ))
                            })
                            .collect();
                        let mut out = Vec::with_capacity(handles.len());
                        for h in handles {
                            out.push(h.await.map_err(|_| {
                                TimelineError::Spawn("a task worker panicked".into())
                            })?);
                        }
                        Ok::<_, TimelineError>(out)
                    }))?;
                Ok((start, out))
            });
        match spawned {
            Ok(h) => h
                .join()
                .unwrap_or_else(|_| Err(TimelineError::Spawn("the task thread panicked".into()))),
            Err(e) => Err(TimelineError::Spawn(e.to_string())),
        }
    })
}

/// One task worker: from `start_ns` (or its first poll, if later), spin in chunks until it has
/// run `budget_ns` (gaps excluded), awaiting `yield_now` after every `yield_every_ns` of work.
async fn record_task(
    mut recorder: Recorder,
    start_ns: u64,
    budget_ns: u64,
    yield_every_ns: u64,
    give_up_ns: u64,
    os_id: u32,
) -> WorkerReadings {
    let Calibration {
        chunk_iters,
        threshold_ns,
        ..
    } = recorder.plan.calibration;
    let mut state = recorder.plan.id as u64 + 1;
    while monotonic_ns() < start_ns {
        spin_chunk(chunk_iters, &mut state);
    }
    let before = Usage::this_thread();
    let first = monotonic_ns();
    let (mut prev, mut ran, mut since_yield) = (first, 0u64, 0u64);
    let mut truncated = false;
    let cap = recorder.gaps.capacity();
    while ran < budget_ns && prev < give_up_ns {
        if yield_every_ns > 0 && since_yield >= yield_every_ns {
            since_yield = 0;
            tokio::task::yield_now().await;
        }
        spin_chunk(chunk_iters, &mut state);
        let now = monotonic_ns();
        if now - prev > threshold_ns {
            if recorder.gaps.len() == cap {
                truncated = true;
                break;
            }
            recorder.gaps.push((prev, now));
        } else {
            ran += now - prev;
            since_yield += now - prev;
        }
        prev = now;
    }
    let usage = Usage::this_thread().since(&before);
    WorkerReadings {
        id: recorder.plan.id,
        cpu: recorder.plan.cpu,
        cpu_seen: topology::current_cpu(),
        os_id,
        first_ns: Some(first),
        last_ns: prev,
        gaps: recorder.gaps,
        involuntary_switches: usage.involuntary_switches,
        voluntary_switches: usage.voluntary_switches,
        truncated,
    }
}

/// A failed worker process as the timeline's error.
fn died(f: ChildFailure) -> TimelineError {
    TimelineError::WorkerDied {
        worker: f.id,
        reason: if f.stderr.is_empty() {
            f.status
        } else {
            format!("{}: {}", f.status, f.stderr)
        },
    }
}

fn record_processes(
    plans: Vec<WorkerPlan>,
    duration_ns: u64,
    cmd: &WorkerCommand,
) -> Result<(u64, Vec<WorkerReadings>), TimelineError> {
    let mut children = Children::with_capacity(plans.len());
    for plan in &plans {
        let spec = ChildSpec {
            parent_pid: plan.parent_pid,
            cpu: Some(plan.cpu),
            job: ChildJob::TimelineWorker(plan.clone()),
        };
        children.spawn(plan.id, cmd.command(&spec)).map_err(|e| {
            if crate::sys::limit_behind(&e).is_some() {
                let refused = crate::start::StartError::new("process", plan.id, plans.len(), e);
                TimelineError::Spawn(refused.to_string())
            } else {
                TimelineError::Spawn(format!("worker {} ({}): {e}", plan.id, cmd.display()))
            }
        })?;
    }
    for i in 0..children.len() {
        children.expect(i, "ready").map_err(died)?;
    }
    let start = monotonic_ns() + PROCESS_LEAD_NS;
    for i in 0..children.len() {
        children
            .send(i, &format!("go {start} {}", start + duration_ns))
            .map_err(died)?;
    }
    let mut out = Vec::with_capacity(plans.len());
    for i in 0..children.len() {
        let line = children.receive(i).map_err(died)?;
        match serde_json::from_str::<WorkerReadings>(&line) {
            Ok(r) => out.push(r),
            Err(e) => return Err(died(children.fail(i, format!("sent bad readings ({e})")))),
        }
    }
    children.wait_all().map_err(died)?;
    Ok((start, out))
}

/// Serve the parent as a timeline worker process (the child job
/// [`ChildJob::TimelineWorker`]; the worker is already pinned): say `ready`, wait for
/// `go START END`, record, and send the readings as one JSON line.
pub fn serve(plan: WorkerPlan) -> Result<(), String> {
    let recorder = Recorder::new(plan);
    let mut lines = Lines::new();
    lines.say("ready")?;
    let line = lines.next_line()?.unwrap_or_default();
    let mut words = line.split_ascii_whitespace();
    let (start, end) = match (
        words.next(),
        words.next().and_then(|w| w.parse::<u64>().ok()),
        words.next().and_then(|w| w.parse::<u64>().ok()),
    ) {
        (Some("go"), Some(s), Some(e)) => (s, e),
        _ => return Err(format!("expected 'go START END', got '{}'", line.trim())),
    };
    let readings = recorder.record(start, end, std::process::id());
    let json = serde_json::to_string(&readings).map_err(|e| e.to_string())?;
    lines.say(&json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_gives_a_threshold_well_above_the_chunk() {
        let c = calibrate();
        assert!(c.chunk_iters >= 1);
        assert!(c.threshold_ns >= MIN_THRESHOLD_NS);
        assert!(c.threshold_ns >= THRESHOLD_CHUNKS * c.chunk_ns);
    }

    #[test]
    fn gap_buffers_stay_within_budget() {
        assert_eq!(gap_capacity(100_000_000, 1), 100 * 20 + 1024);
        let per = gap_capacity(60_000_000_000, 512) as u64;
        assert!(per * 16 * 512 <= GAP_BUFFER_BUDGET_BYTES);
    }

    #[test]
    fn a_recorder_records_from_start_to_end_without_growing() {
        let c = calibrate();
        let plan = WorkerPlan {
            id: 0,
            cpu: topology::current_cpu(),
            calibration: c,
            capacity: 4,
            parent_pid: std::process::id(),
        };
        let start = monotonic_ns() + 1_000_000;
        let r = Recorder::new(plan).record(start, start + 5_000_000, crate::sys::thread_id());
        assert!(r.first_ns.unwrap() >= start);
        assert!(r.truncated || r.last_ns >= start + 5_000_000);
        assert!(r.gaps.len() <= 4 && r.gaps.capacity() == 4);
        assert!(r.gaps.iter().all(|&(a, b)| b - a > c.threshold_ns));
    }
}
