//! What every rank runs: one execution of a workload's parts on the ranks ([`run_rank`]: distribute,
//! compute, exchange, collect, with a rank's panics kept as its error), and the loop of the
//! ranks other than 0, serving rank 0's jobs until it says exit ([`serve_ranks`]).

use std::cell::Cell;
use std::ops::Range;

use crate::child::rank::RankJob;
use crate::child::FaultKind;
use crate::cluster::{self, World};
use crate::measure::clock::monotonic_ns;
use crate::measure::rusage::Usage;
use crate::shm::{SharedMem, SharedRegion};
use crate::topology;
use crate::workload::exchange::RangeSet;
use crate::workload::{Collectives, Decomposition, PartData, View, Workload, WorkloadSpec};

use super::exchange::{move_bytes, Counted, Holdings};
use super::{gather_reports, pin_for_part, RankPhases, RankReport, POISON};

/// What one rank's [`run_rank`] produced.
#[derive(Debug, Clone)]
pub(crate) struct RankOutcome {
    /// Its report.
    pub report: RankReport,
    /// What each part wrote last (the same on every rank).
    pub written: Vec<Vec<Range<usize>>>,
    /// Bytes the parts read before their first stage (see [`DistributedRun::input_bytes`](super::DistributedRun::input_bytes)).
    pub(crate) input_bytes: usize,
}

/// Every rank, at once: one execution of `workload`'s parts on the ranks of `comm` (rank p runs
/// part p), `mem` being this rank's region (rank 0's holds the reset input). `before` is this
/// process's usage when the execution started.
pub(crate) fn run_rank(
    workload: &dyn Workload,
    mem: SharedMem,
    comm: &dyn Collectives,
    fault: Option<FaultKind>,
    host: &str,
    before: Usage,
) -> RankOutcome {
    let parts = comm.ranks();
    let me = comm.rank();
    // The declarations say what moves; checked like every other mechanism's (rank 0's caller
    // checked before the clock started, and a bad decomposition never reaches the ranks).
    let parts_of = Decomposition::check(workload, parts).expect("checked before the ranks started");
    let counted = Counted {
        inner: comm,
        sent: Cell::new(0),
        received: Cell::new(0),
        busy_ns: Cell::new(0),
    };
    let t0 = monotonic_ns();
    let secs = |a: u64, b: u64| b.saturating_sub(a) as f64 * 1e-9;
    let mut phases = RankPhases::default();
    let mut holdings = Holdings::new(mem.len(), parts);
    let mut written: Vec<Vec<Range<usize>>> = vec![Vec::new(); parts];
    let mut stages_ns = Vec::new();
    let mut error = None;
    let mut input = RangeSet::new();
    for p in 0..parts {
        for r in parts_of.access(0, p).part_data().reads {
            input.insert(r);
        }
    }
    let input_bytes: usize = input.ranges().iter().map(|r| r.len()).sum();
    for (stage, _) in workload.stages(parts).iter().enumerate() {
        let data: Vec<PartData> = (0..parts)
            .map(|p| parts_of.access(stage, p).part_data())
            .collect();
        let t = monotonic_ns();
        let needs: Vec<Vec<Range<usize>>> = data.iter().map(|d| d.reads.clone()).collect();
        let transfers = holdings.transfers(&needs);
        move_bytes(&mem, &counted, &mut holdings, transfers);
        let moved = secs(t, monotonic_ns());
        if stage == 0 {
            phases.distribute_s += moved;
        } else {
            phases.exchange_s += moved;
        }
        let start = monotonic_ns();
        let busy_before = counted.busy_ns.get();
        let stage_writes: Vec<Vec<Range<usize>>> = if data[me].exchanges {
            // An exchanging part must take part in every collective: an injected fault
            // (a skipped or crashed part) applies to the stages that move no data themselves.
            let mine = guarded(&mut error, None, stage, || {
                // SAFETY: this rank's memory is its own (rank 0's caller holds its lease), and
                // nothing else touches it during the stage; the view is gone when it ends.
                let view = unsafe { View::whole(mem) };
                workload.run_part_exchanging(&view, stage, me, parts, &counted)
            })
            .unwrap_or_default();
            // Everyone learns what everyone wrote.
            let flat: Vec<u64> = mine
                .iter()
                .flat_map(|r| [r.start as u64, r.end as u64])
                .collect();
            counted
                .all_gather(crate::workload::exchange::u64s_as_bytes(&flat))
                .iter()
                .map(|b| {
                    crate::workload::exchange::bytes_to_u64s(b)
                        .chunks_exact(2)
                        .map(|c| c[0] as usize..c[1] as usize)
                        .collect()
                })
                .collect()
        } else {
            guarded(&mut error, fault, stage, || {
                // SAFETY: as above; this rank runs only its own part, one stage at a time, and
                // moves bytes only between stages.
                let view = unsafe { parts_of.view(mem, stage, me) };
                workload.run_part(&view, stage, me, parts)
            });
            data.iter().map(|d| d.writes.clone()).collect()
        };
        let end = monotonic_ns();
        let in_collectives = (counted.busy_ns.get() - busy_before) as f64 * 1e-9;
        phases.compute_s += (secs(start, end) - in_collectives).max(0.0);
        phases.exchange_s += in_collectives;
        stages_ns.push([start - t0, end - t0]);
        for (p, ranges) in stage_writes.into_iter().enumerate() {
            for r in &ranges {
                holdings.wrote(p, r);
            }
            if !ranges.is_empty() {
                written[p] = ranges;
            }
        }
    }
    // Collect: rank 0 gets every byte another rank wrote last.
    let t = monotonic_ns();
    let mut needs = vec![Vec::new(); parts];
    needs[0] = vec![0..mem.len()];
    let transfers = holdings.transfers(&needs);
    move_bytes(&mem, &counted, &mut holdings, transfers);
    phases.collect_s = secs(t, monotonic_ns());
    RankOutcome {
        report: RankReport {
            rank: me,
            host: host.to_string(),
            cpu: topology::current_cpu(),
            bytes_sent: counted.sent.get(),
            bytes_received: counted.received.get(),
            phases,
            stages_ns,
            usage: Usage::process_and_children().since(&before),
            error,
        },
        written,
        input_bytes,
    }
}

/// Run a part, applying an injected fault, and keep its panic as this rank's error (the rank
/// carries on through the collectives, so the others are not left waiting).
fn guarded<R>(
    error: &mut Option<String>,
    fault: Option<FaultKind>,
    stage: usize,
    body: impl FnOnce() -> R,
) -> Option<R> {
    match fault {
        Some(FaultKind::Crash) if stage == 0 => {
            error.get_or_insert_with(|| "panicked: injected fault (--fault-part crash)".into());
            return None;
        }
        Some(FaultKind::WrongAnswer) => return None,
        Some(FaultKind::Hang) => loop {
            std::thread::park();
        },
        _ => {}
    }
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(r) => Some(r),
        Err(p) => {
            error.get_or_insert_with(|| format!("panicked: {}", super::super::panic_message(&p)));
            None
        }
    }
}

/// Ranks other than 0: serve rank 0's jobs until it says exit, then finalize MPI and exit.
/// `factory` builds workloads from their specs, as for worker processes.
pub(crate) fn serve_ranks<F, E>(world: &World, factory: &F) -> !
where
    F: Fn(&WorkloadSpec) -> Result<Box<dyn Workload>, E>,
    E: std::fmt::Display,
{
    // What a rank that cannot serve does: one line naming it and its host, and the whole job
    // stops (rank 0 would otherwise wait for it forever).
    let give_up = |what: String| -> ! {
        eprintln!(
            "concbench rank {} on {}: {what}",
            world.rank,
            world.host_of(world.rank)
        );
        cluster::abort_job(1)
    };
    if let Err(e) = pin_for_part(Some(world), world.rank) {
        give_up(e.to_string());
    }
    let mut built: Option<(WorkloadSpec, Box<dyn Workload>, SharedRegion)> = None;
    loop {
        let job = match world.receive_job() {
            Ok(j) => j,
            Err(e) => give_up(e),
        };
        match job {
            RankJob::Exit => break,
            RankJob::PingPong {
                peer,
                sizes,
                round_trips,
                trials,
            } => {
                if world.rank == peer {
                    let plan = cluster::PingPongPlan {
                        sizes,
                        round_trips,
                        trials,
                    };
                    cluster::ping_pong_series(world, peer, &plan);
                }
            }
            RankJob::Parts { spec, parts, fault } => {
                world.with_group(parts, |group| {
                    let Some(group) = group else { return };
                    if built.as_ref().map_or(true, |(s, _, _)| *s != spec) {
                        let workload = factory(&spec).unwrap_or_else(|e| {
                            give_up(format!("cannot build workload {}: {e}", spec.name))
                        });
                        let region =
                            SharedRegion::new(workload.shared_bytes()).unwrap_or_else(|e| {
                                give_up(format!(
                                    "cannot allocate {} bytes for {}: {e}",
                                    workload.shared_bytes(),
                                    spec.name
                                ))
                            });
                        built = Some((spec.clone(), workload, region));
                    }
                    let (_, workload, region) = built.as_ref().expect("built above");
                    // From here on this rank works for rank 0's invocation: its CPU time counts
                    // as the invocation's, not as another program's (see `count_as_ours`).
                    let before = Usage::process_and_children();
                    // SAFETY: this rank alone uses its region, between executions.
                    unsafe { region.mem().slice_mut::<u8>(0, region.mem().len()) }.fill(POISON);
                    let my_fault = fault.filter(|f| f.0 == world.rank).map(|f| f.1);
                    group.barrier();
                    let outcome = run_rank(
                        &**workload,
                        region.mem(),
                        group,
                        my_fault,
                        world.host_of(world.rank),
                        before,
                    );
                    gather_reports(group, &outcome.report);
                });
            }
        }
    }
    cluster::finish();
    std::process::exit(0)
}
