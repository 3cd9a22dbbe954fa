//! The task mechanism behind `single-thread-async`: N parts as N async tasks on ONE thread.
//!
//! The calling thread pins itself to the first core and runs tokio's `current_thread` runtime
//! (no hand-made executor, no thread pool: the runtime polls every task on this one thread).
//! Each stage spawns one task per part on a `LocalSet` and waits for all of them before the next
//! stage. A task runs its part's steps ([`Workload::part_steps`]): at a [`Step::Wait`] it awaits
//! a timer (tokio's timer wheel ticks every millisecond, so a 10 ms wait ends 10–11 ms after it
//! was registered) and the thread runs the other tasks meanwhile; at a [`Step::Yield`] it goes to
//! the back of the run queue. Between those points nothing interrupts a task: a CPU-bound part
//! without yield points runs to completion before the next task starts, so the parts take the
//! sequential time (cooperative scheduling does not slice time). Switching between tasks is a
//! function return and a poll, in user space: the kernel sees one thread, and counts a switch
//! only when the whole runtime sleeps (every task waiting) or the thread is preempted.
//!
//! Phases: spawn (building the runtime and spawning the first stage's tasks), setup (until the
//! first task starts), then the stages; a panicking part is caught by the runtime and reported
//! with its number. A task still unfinished at the repetition's deadline is named, and every
//! task is dropped (a task that awaits can be stopped, unlike a thread; one that spins without
//! a yield point keeps the thread and the deadline with it).

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use super::{panic_message, ExecOptions, Execution, PartRecord, Placement, StrategyError};
use crate::child::FaultKind;
use crate::measure::clock::{monotonic_ns, seconds_between};
use crate::measure::rusage::Usage;
use crate::shm::SharedMem;
use crate::topology;
use crate::workload::{Decomposition, Step, Workload};

/// A `current_thread` runtime with timers: what every task of concbench runs on (the strategy,
/// the task timeline, the task ping-pong).
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
}

/// A `current_thread` runtime with timers and sockets: the web server's event loop and the load
/// generator.
pub(crate) fn runtime_with_io() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .enable_io()
        .build()
}

/// What the tasks of one stage share: their records, how many are still running, the first
/// failure. Tasks report here instead of through their join handles, so finishing a task costs
/// no wake-up of the coordinator (one `notify` when the last one is done).
struct StageState {
    records: Vec<PartRecord>,
    done: Vec<bool>,
    remaining: usize,
    failure: Option<StrategyError>,
    counts: TaskCounts,
}

/// Run the steps of one part as a task: awaits a timer at each wait, yields at each yield point.
/// A panic in a step is caught and reported as the part's failure.
async fn run_part_task(
    workload: &dyn Workload,
    parts_of: &Decomposition,
    mem: SharedMem<'_>,
    stage: usize,
    part: usize,
    fault: Option<FaultKind>,
    shared: Rc<(RefCell<StageState>, tokio::sync::Notify)>,
) {
    let parts = parts_of.parts();
    let (state, all_done) = (&shared.0, &shared.1);
    let start_ns = monotonic_ns();
    let (mut yields, mut waits) = (0, 0);
    let outcome = match fault {
        Some(FaultKind::Hang) => std::future::pending::<Result<(), String>>().await,
        Some(_) => Err(format!("fault injected into part {part}")),
        None => {
            // SAFETY: this task is part `part`'s only runner in this stage, a stage's tasks are
            // spawned once every task of the one before has finished, and the caller holds the
            // mapping's lease.
            let view = unsafe { parts_of.view(mem, stage, part) };
            let mut steps = workload.part_steps(&view, stage, part, parts);
            loop {
                match catch_unwind(AssertUnwindSafe(|| steps.next_step())) {
                    Ok(Step::Yield) => {
                        yields += 1;
                        tokio::task::yield_now().await;
                    }
                    Ok(Step::Wait(d)) => {
                        waits += 1;
                        // Boxed: held inline, the `Sleep` made every task's cell larger (368
                        // bytes instead of 288), and spawning, polling and joining 10,000 of
                        // them cost more than one small allocation per wait: 111 -> 106.5 ms
                        // for 10,000 parts of 100 ms run alone (docs/switches.md).
                        Box::pin(tokio::time::sleep(d)).await;
                    }
                    Ok(Step::Done) => break Ok(()),
                    Err(payload) => break Err(panic_message(&payload)),
                }
            }
        }
    };
    let end_ns = monotonic_ns();
    let mut st = state.borrow_mut();
    match outcome {
        Ok(()) => st.records.push(PartRecord {
            stage,
            part,
            cpu: topology::current_cpu(),
            start_ns,
            end_ns,
        }),
        Err(message) => {
            st.failure
                .get_or_insert(StrategyError::PartPanicked { part, message });
        }
    }
    st.counts.yields += yields;
    st.counts.waits += waits;
    st.done[part] = true;
    st.remaining -= 1;
    if st.remaining == 0 {
        all_done.notify_one();
    }
}

/// Counts of an execution that other strategies do not have.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TaskCounts {
    /// Yield points the tasks passed (each gave the thread to the run queue).
    pub(crate) yields: u64,
    /// Timer waits the tasks awaited.
    pub waits: u64,
}

/// Run every stage of `workload` as `parts` tasks per stage on the calling thread, pinned where
/// `placement` puts worker 0.
pub fn run(
    workload: &dyn Workload,
    mem: SharedMem,
    parts: usize,
    placement: Placement,
    options: &ExecOptions,
) -> Result<Execution, StrategyError> {
    run_counted(workload, mem, parts, placement, options).map(|(e, _)| e)
}

/// [`run`], also returning how often the tasks yielded and waited.
pub(crate) fn run_counted(
    workload: &dyn Workload,
    mem: SharedMem,
    parts: usize,
    placement: Placement,
    options: &ExecOptions,
) -> Result<(Execution, TaskCounts), StrategyError> {
    let cpu = placement.cpu_for(0);
    topology::pin_current_thread(cpu).map_err(|source| StrategyError::Pin { part: 0, source })?;
    let result = run_pinned(workload, mem, parts, options);
    let unpinned = topology::unpin_current_thread();
    let out = result?;
    unpinned.map_err(|source| StrategyError::Pin { part: 0, source })?;
    Ok(out)
}

fn run_pinned(
    workload: &dyn Workload,
    mem: SharedMem,
    parts: usize,
    options: &ExecOptions,
) -> Result<(Execution, TaskCounts), StrategyError> {
    let parts_of = super::decomposition(workload, parts)?;
    let stages = workload.stages(parts);
    let before = Usage::process_and_children();
    let start_ns = monotonic_ns();
    let rt = runtime().map_err(StrategyError::Runtime)?;
    let local = tokio::task::LocalSet::new();
    // SAFETY: the tasks borrow the workload and the shared memory, which outlive this function,
    // but `spawn_local` wants 'static futures. Every task lives in `local`, which is dropped
    // before this function returns (normally, by `?` or by unwinding): dropping a LocalSet drops
    // every task still in it, so no task outlives the borrows.
    let workload: &'static dyn Workload = unsafe { std::mem::transmute(workload) };
    let mem: SharedMem<'static> = unsafe { std::mem::transmute(mem) };
    // SAFETY: as above; `parts_of` is declared before `local`, so it is dropped after it.
    let parts_of: &'static Decomposition = unsafe { std::mem::transmute(&parts_of) };
    let fault = options.fault;
    let deadline = options.deadline.map(tokio::time::Instant::from_std);
    let mut marks = Vec::with_capacity(stages.len() + 2);
    let mut counts = TaskCounts::default();

    let outcome: Result<Vec<PartRecord>, StrategyError> = rt.block_on(local.run_until(async {
        let mut records = Vec::with_capacity(parts * stages.len());
        for (stage, info) in stages.iter().enumerate() {
            let shared = Rc::new((
                RefCell::new(StageState {
                    records: Vec::with_capacity(parts),
                    done: vec![false; parts],
                    remaining: parts,
                    failure: None,
                    counts: TaskCounts::default(),
                }),
                tokio::sync::Notify::new(),
            ));
            let (state, all_done) = (&shared.0, &shared.1);
            if parts == 0 {
                all_done.notify_one();
            }
            for part in 0..parts {
                let fault = fault.filter(|f| f.part == part).map(|f| f.kind);
                // Detached: the task reports through `state`; the LocalSet still owns it.
                drop(tokio::task::spawn_local(run_part_task(
                    workload,
                    parts_of,
                    mem,
                    stage,
                    part,
                    fault,
                    Rc::clone(&shared),
                )));
            }
            if stage == 0 {
                let spawned = monotonic_ns();
                marks.push(spawned); // all spawned
                marks.push(spawned); // ready: a task needs no set-up
            }
            let finished = all_done.notified();
            let in_time = match deadline {
                Some(d) => tokio::time::timeout_at(d, finished).await.is_ok(),
                None => {
                    finished.await;
                    true
                }
            };
            let mut st = state.borrow_mut();
            if !in_time {
                let part = st.done.iter().position(|d| !d).unwrap_or(0);
                return Err(StrategyError::TaskStuck {
                    part,
                    stage: info.name.to_string(),
                });
            }
            if let Some(e) = st.failure.take() {
                return Err(e);
            }
            counts.yields += st.counts.yields;
            counts.waits += st.counts.waits;
            records.append(&mut st.records);
            marks.push(monotonic_ns()); // stage done
        }
        Ok(records)
    }));
    drop(local);
    drop(rt);
    let collected_ns = monotonic_ns();
    let usage = Usage::process_and_children().since(&before);
    let mut records = outcome?;
    records.sort_by_key(|r| (r.stage, r.part));
    let end_ns = *marks.last().expect("stage marks");
    let phases =
        super::threads::phases_from_marks(start_ns, &marks, &stages, &records, collected_ns);
    Ok((
        Execution {
            wall_s: seconds_between(start_ns, end_ns),
            start_ns,
            phases,
            parts: records,
            usage,
            distributed: None,
            web: None,
        },
        counts,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::child::Fault;
    use crate::workload::WorkloadSpec;
    use std::time::Duration;

    use crate::workload::testing::ready as setup;

    #[test]
    fn tasks_run_every_part_on_one_cpu_and_verify() {
        let (w, r) = setup(WorkloadSpec::new("mergesort", 10_000, 1).with("yield_every", 500));
        for parts in [1, 2, 3, 7] {
            crate::workload::reset(&*w, r.mem());
            let (e, counts) = run_counted(
                &*w,
                r.mem(),
                parts,
                Placement::OneCore,
                &ExecOptions::default(),
            )
            .unwrap();
            crate::workload::verify(&*w, r.mem(), Some(parts)).unwrap();
            assert_eq!(e.parts.len(), parts * w.stages(parts).len());
            assert!(e
                .parts
                .iter()
                .all(|p| p.cpu == Placement::OneCore.cpu_for(0)));
            assert!(counts.yields > 0);
            assert!((e.phases.total() - e.wall_s).abs() < 1e-3 * e.wall_s.max(1e-3));
        }
    }

    #[test]
    fn io_tasks_wait_together_on_one_thread() {
        // 50 tasks of 20 ms each as 50 parts: they wait at the same time, far below 50 × 20 ms.
        let spec = WorkloadSpec::new("io", 50, 1).with("wait_ms", 20);
        let (w, r) = setup(spec);
        let (e, counts) = run_counted(
            &*w,
            r.mem(),
            50,
            Placement::OneCore,
            &ExecOptions::default(),
        )
        .unwrap();
        crate::workload::verify(&*w, r.mem(), Some(50)).unwrap();
        assert_eq!(counts.waits, 50);
        // The waits overlapped: every task had started before the first one finished (in
        // turns, the last would start only after 49 others had waited).
        let last_start = e.parts.iter().map(|p| p.start_ns).max().unwrap();
        let first_end = e.parts.iter().map(|p| p.end_ns).min().unwrap();
        assert_eq!(e.parts.len(), 50);
        assert!(last_start < first_end, "{last_start} >= {first_end}");
    }

    #[test]
    fn a_panicking_task_is_an_error_naming_its_part() {
        let (w, r) = setup(WorkloadSpec::new("io", 6, 1).with("wait_ms", 1));
        let opts = ExecOptions {
            fault: Some(Fault {
                part: 2,
                kind: FaultKind::Crash,
            }),
            ..ExecOptions::default()
        };
        let err = run(&*w, r.mem(), 3, Placement::OneCore, &opts).unwrap_err();
        assert!(err.to_string().contains("part 2"), "{err}");
    }

    #[test]
    fn a_hanging_task_is_named_at_the_deadline_and_dropped() {
        let (w, r) = setup(WorkloadSpec::new("io", 4, 1).with("wait_ms", 1));
        let opts = ExecOptions {
            fault: Some(Fault {
                part: 1,
                kind: FaultKind::Hang,
            }),
            deadline: Some(std::time::Instant::now() + Duration::from_millis(200)),
            ..ExecOptions::default()
        };
        let err = run(&*w, r.mem(), 4, Placement::OneCore, &opts).unwrap_err();
        assert!(
            matches!(err, StrategyError::TaskStuck { part: 1, .. }),
            "{err}"
        );
    }
}
