//! The thread mechanism behind `single-core-threaded` and `multi-threaded`: the same code, with a
//! different [`Placement`].
//!
//! N scoped threads are spawned; each pins itself (pinning must happen inside the
//! thread: the mask is per thread), waits at a barrier until all are ready, then runs its part of
//! every stage with a barrier between stages. The calling thread takes part in the barriers only to
//! read the clock, which is how the phases are measured. A panicking part is caught and reported,
//! and its thread still passes the barriers so the others cannot hang. A thread the system
//! refuses to start is an error naming the limit; the threads already started are released. A
//! part still running at the repetition's deadline is named, and concbench exits (a thread cannot
//! be stopped).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crossbeam::utils::CachePadded;

use super::barrier::FutexBarrier;
use super::{panic_message, ExecOptions, Execution, PartRecord, Phases, Placement, StrategyError};
use crate::child::FaultKind;
use crate::measure::clock::{monotonic_ns, seconds_between};
use crate::measure::rusage::Usage;
use crate::shm::SharedMem;
use crate::start;
use crate::topology;
use crate::workload::{StageKind, Workload};

/// Stack size of worker threads: parts keep their data on the heap or in shared memory, and a
/// small stack keeps spawning hundreds of oversubscribed threads cheap.
const WORKER_STACK_BYTES: usize = 64 * 1024;

/// What one worker thread brings back.
struct WorkerReport {
    records: Vec<PartRecord>,
    error: Option<StrategyError>,
}

/// Run every stage of `workload` with `parts` threads placed by `placement`.
pub fn run(
    workload: &dyn Workload,
    mem: SharedMem,
    parts: usize,
    placement: Placement,
    options: &ExecOptions,
) -> Result<super::Execution, StrategyError> {
    let parts_of = &super::decomposition(workload, parts)?;
    let stages = workload.stages(parts);
    let barrier = FutexBarrier::new(parts + 1);
    // Once a part fails, later stages are skipped by every part (they still pass the barriers):
    // a combine stage must not run on a failed part's output.
    let failed = AtomicBool::new(false);
    let fault = options.fault;
    let before = Usage::process_and_children();
    let start_ns = monotonic_ns();
    let mut marks = Vec::with_capacity(stages.len() + 3);

    // Rounds of the barrier each part has passed (ready, then one per stage): what names the
    // part a stuck run waits for. Padded so parts do not share a cache line.
    let progress: Vec<CachePadded<AtomicUsize>> = (0..parts)
        .map(|_| CachePadded::new(AtomicUsize::new(0)))
        .collect();
    let deadline = options.deadline;

    let (reports, refused) = std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(parts);
        let mut refused = None;
        for part in 0..parts {
            let cpu = placement.cpu_for(part);
            let (barrier, stages, failed, progress) = (&barrier, &stages, &failed, &progress);
            let builder = std::thread::Builder::new()
                .name(format!("concbench-part-{part}"))
                .stack_size(WORKER_STACK_BYTES);
            let spawned = start::spawn_scoped(scope, builder, part, parts, move || {
                let mut report = WorkerReport {
                    records: Vec::with_capacity(stages.len()),
                    error: topology::pin_current_thread(cpu)
                        .err()
                        .map(|source| StrategyError::Pin { part, source }),
                };
                progress[part].fetch_add(1, Ordering::Release);
                barrier.wait();
                for stage in 0..stages.len() {
                    if report.error.is_none() && !failed.load(Ordering::Acquire) {
                        let t0 = monotonic_ns();
                        let outcome = catch_unwind(AssertUnwindSafe(|| {
                            match fault.filter(|f| f.part == part).map(|f| f.kind) {
                                Some(FaultKind::Hang) => loop {
                                    std::thread::sleep(std::time::Duration::from_secs(3600));
                                },
                                Some(_) => panic!("fault injected into part {part}"),
                                None => {
                                    // SAFETY: this thread is part `part`'s only runner, the
                                    // barrier starts a stage once every part has finished the
                                    // one before, and the caller holds the mapping's lease.
                                    let view = unsafe { parts_of.view(mem, stage, part) };
                                    workload.run_part(&view, stage, part, parts)
                                }
                            }
                        }));
                        let t1 = monotonic_ns();
                        match outcome {
                            Ok(()) => report.records.push(PartRecord {
                                stage,
                                part,
                                cpu: topology::current_cpu(),
                                start_ns: t0,
                                end_ns: t1,
                            }),
                            Err(payload) => {
                                failed.store(true, Ordering::Release);
                                report.error = Some(StrategyError::PartPanicked {
                                    part,
                                    message: panic_message(&payload),
                                })
                            }
                        }
                    }
                    progress[part].fetch_add(1, Ordering::Release);
                    barrier.wait();
                }
                report
            });
            match spawned {
                Ok(handle) => handles.push(handle),
                Err(e) => {
                    // The threads already started skip every stage and pass the barriers, which
                    // now count only them and this thread.
                    failed.store(true, Ordering::Release);
                    barrier.release_missing(parts - part);
                    refused = Some(e);
                    break;
                }
            }
        }
        marks.push(monotonic_ns()); // all spawned
        let pass = |round: usize| match deadline {
            Some(deadline) => {
                if !barrier.wait_until(deadline) {
                    exit_stuck(placement, parts, &stages, &progress, round)
                }
            }
            None => barrier.wait(),
        };
        pass(0);
        marks.push(monotonic_ns()); // all pinned and ready
        for stage in 0..stages.len() {
            pass(stage + 1);
            marks.push(monotonic_ns()); // stage done
        }
        let reports = handles
            .into_iter()
            .map(|h| h.join().expect("worker thread panicked outside a part"))
            .collect::<Vec<WorkerReport>>();
        (reports, refused)
    });
    if let Some(e) = refused {
        return Err(StrategyError::Start(e));
    }
    let collected_ns = monotonic_ns();
    let usage = Usage::process_and_children().since(&before);
    let end_ns = *marks.last().expect("stage marks");

    let mut records = Vec::with_capacity(parts * stages.len());
    for report in reports {
        if let Some(e) = report.error {
            return Err(e);
        }
        records.extend(report.records);
    }
    records.sort_by_key(|r| (r.stage, r.part));
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

/// Turn the parent's clock marks `[spawned, ready, stage 0 done, stage 1 done, ...]` and the
/// parts' own records into phases. The wall time runs from `start_ns` to the last mark, and the
/// phases add up to it; collecting the workers until `collected_ns` is `collect_s`.
///
/// The parent's marks are taken when it wakes from a barrier or a pipe read, which can be long
/// after the event when the parent shares a CPU with busy workers (a single-core-threaded run:
/// the parent's "ready" mark can come after the whole compute stage). So the inner boundaries
/// come from the parts' own readings of the same clock where they are earlier: setup ends when
/// the first part starts stage 0, and a stage ends when its last part finishes. The spawn mark
/// (the parent spawns, so it is on time) and the final mark (every result is in) stay.
pub(crate) fn phases_from_marks(
    start_ns: u64,
    marks: &[u64],
    stages: &[crate::workload::Stage],
    records: &[PartRecord],
    collected_ns: u64,
) -> Phases {
    let first_start = |stage: usize| {
        records
            .iter()
            .filter(|r| r.stage == stage)
            .map(|r| r.start_ns)
            .min()
    };
    let last_end = |stage: usize| {
        records
            .iter()
            .filter(|r| r.stage == stage)
            .map(|r| r.end_ns)
            .max()
    };
    let end = *marks.last().expect("stage marks");
    // Boundaries: start, spawned, ready, stage 0 done, ..., last stage done (= end).
    let mut bounds = Vec::with_capacity(marks.len() + 1);
    bounds.push(start_ns);
    bounds.push(marks[0]);
    bounds.push(first_start(0).map_or(marks[1], |t| t.min(marks[1])));
    for (i, &mark) in marks[2..].iter().enumerate() {
        let is_last = i + 1 == stages.len();
        bounds.push(if is_last {
            end
        } else {
            last_end(i).map_or(mark, |t| t.min(mark))
        });
    }
    for i in 1..bounds.len() {
        bounds[i] = bounds[i].clamp(bounds[i - 1], end.max(bounds[i - 1]));
    }
    let mut p = Phases {
        spawn_s: seconds_between(bounds[0], bounds[1]),
        setup_s: seconds_between(bounds[1], bounds[2]),
        ..Phases::default()
    };
    for (i, stage) in stages.iter().enumerate() {
        let d = seconds_between(bounds[2 + i], bounds[3 + i]);
        match stage.kind {
            StageKind::Compute => p.compute_s += d,
            StageKind::Combine => p.combine_s += d,
        }
    }
    p.collect_s = seconds_between(end, collected_ns);
    p
}

/// A part has not passed barrier round `round` (0: ready; s + 1: stage s done) by the deadline.
/// A thread cannot be stopped, and returning would leave it running on borrowed data, so
/// concbench says which part is stuck and exits with status 1.
fn exit_stuck(
    placement: Placement,
    parts: usize,
    stages: &[crate::workload::Stage],
    progress: &[CachePadded<AtomicUsize>],
    round: usize,
) -> ! {
    let part = progress
        .iter()
        .position(|p| p.load(Ordering::Acquire) <= round)
        .unwrap_or(0);
    let strategy = match placement {
        Placement::OneCore => "single-core-threaded",
        Placement::Spread => "multi-threaded",
    };
    let what = match round {
        0 => "did not get ready".to_string(),
        r => format!("has not finished stage {} ({})", r - 1, stages[r - 1].name),
    };
    eprintln!(
        "concbench: {strategy} with {parts} cores: part {part} (thread concbench-part-{part}) {what} by the deadline of this repetition; it is stuck, and a thread cannot be stopped, so concbench exits without the rows of this run (raise the deadline with --stuck-after)"
    );
    std::process::exit(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::child::Fault;
    use crate::topology::Topology;
    use crate::workload::WorkloadSpec;

    use crate::workload::testing::ready as setup;

    #[test]
    fn pinned_workers_report_the_cpu_they_were_pinned_to() {
        let (w, r) = setup(WorkloadSpec::new("mergesort", 10_000, 1));
        for placement in [Placement::OneCore, Placement::Spread] {
            crate::workload::reset(&*w, r.mem());
            let e = run(&*w, r.mem(), 3, placement, &ExecOptions::default()).unwrap();
            crate::workload::verify(&*w, r.mem(), Some(3)).unwrap();
            assert_eq!(e.parts.len(), 3 * 2, "two stages of three parts");
            for rec in &e.parts {
                assert_eq!(
                    rec.cpu,
                    placement.cpu_for(rec.part),
                    "{placement:?} {rec:?}"
                );
            }
        }
        let one = Topology::get().first_cpu();
        assert_eq!(Placement::OneCore.cpu_for(2), one);
    }

    #[test]
    fn phases_add_up_to_the_wall_time() {
        let (w, r) = setup(WorkloadSpec::new("matmul", 40, 1));
        let e = run(&*w, r.mem(), 2, Placement::Spread, &ExecOptions::default()).unwrap();
        assert!((e.phases.total() - e.wall_s).abs() < 1e-3 * e.wall_s.max(1e-3));
    }

    #[test]
    fn late_parent_marks_give_way_to_the_parts_own_clock_readings() {
        use crate::workload::{Stage, StageKind};
        let stages = [
            Stage {
                name: "sort",
                kind: StageKind::Compute,
            },
            Stage {
                name: "merge",
                kind: StageKind::Combine,
            },
        ];
        let rec = |stage, part, start_ns, end_ns| PartRecord {
            stage,
            part,
            cpu: 0,
            start_ns,
            end_ns,
        };
        // Spawned at 10; the parts start stage 0 at 12 and 13 and end it at 50 and 60, but the
        // parent, sharing their CPU, only marked "ready" at 61 and "stage 0 done" at 70.
        let records = [
            rec(0, 0, 12, 50),
            rec(0, 1, 13, 60),
            rec(1, 0, 71, 90),
            rec(1, 1, 72, 95),
        ];
        let p = phases_from_marks(0, &[10, 61, 70, 100], &stages, &records, 130);
        let ns = |s: f64| (s * 1e9).round() as u64;
        assert_eq!(
            (
                ns(p.spawn_s),
                ns(p.setup_s),
                ns(p.compute_s),
                ns(p.combine_s)
            ),
            (10, 2, 48, 40)
        );
        assert_eq!(ns(p.total()), 100, "the phases still make up the wall time");
        assert_eq!(ns(p.collect_s), 30);
        // A parent on time keeps its "ready" mark; a stage still ends with its last part (60).
        let p = phases_from_marks(0, &[10, 11, 61, 100], &stages, &records, 100);
        assert_eq!(
            (ns(p.setup_s), ns(p.compute_s), ns(p.combine_s)),
            (1, 49, 40)
        );
    }

    #[test]
    fn a_panicking_part_is_an_error_naming_it() {
        let (w, r) = setup(WorkloadSpec::new("mergesort", 1000, 1));
        let opts = ExecOptions {
            fault: Some(Fault {
                part: 1,
                kind: crate::child::FaultKind::Crash,
            }),
            ..ExecOptions::default()
        };
        let err = run(&*w, r.mem(), 3, Placement::OneCore, &opts).unwrap_err();
        assert!(err.to_string().contains("part 1"), "{err}");
    }
}
