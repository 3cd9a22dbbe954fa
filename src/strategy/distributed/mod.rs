//! The `distributed` strategy: one part per MPI rank, and no shared memory at all.
//!
//! Every rank has a region of its own with the workload's layout. Rank 0's holds the initialised
//! input; the others start each execution filled with a poison byte, so a byte that was never
//! sent cannot pass for the right one. [`run_rank`], which every rank runs at once (one program,
//! many ranks), moves data as the workload's [`PartData`](crate::workload::PartData) says:
//!
//! 1. **distribute**: before the first stage, each part receives the bytes it reads (a range that
//!    every other part reads from rank 0 is broadcast, the rest goes by all-to-all);
//! 2. **compute**: each part runs its stage on its own region;
//! 3. **exchange**: between stages, a part receives what it reads that another part wrote; a
//!    stage that exchanges data itself (merge sort's merge) does it through the collectives;
//! 4. **collect**: rank 0 gathers every byte another rank wrote last, and verifies.
//!
//! Who holds a valid copy of which byte is bookkept identically on every rank (the descriptions
//! are deterministic; what an exchanging stage wrote is shared by an all-gather), so no rank
//! ever asks another what it holds. Bytes are counted as the algorithm moves them between
//! ranks: a broadcast counts its bytes once per receiving rank, whatever tree MPI uses.
//!
//! Rank 0 drives: it broadcasts a [`RankJob::Parts`] to the job, the ranks `0..parts` form a
//! group and meet at a barrier, and rank 0's clock runs from that barrier until the last byte is
//! back. Then each rank's report (host, CPU, bytes, phases, switches, any failure) travels to
//! rank 0, untimed. The other ranks loop in [`serve_ranks`].
//!
//! Files: this one is rank 0's side (the job, the clock, the reports); [`exchange`] moves the
//! bytes between ranks and keeps the bookkeeping of who holds what; [`rank`] is what every rank
//! runs (one execution) and the loop of the ranks other than 0.

use std::ops::Range;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::{ExecOptions, Execution, PartRecord, Phases, Placement, StrategyError};
use crate::child::rank::RankJob;
use crate::cluster::{self, SoloRank, World};
use crate::measure::clock::monotonic_ns;
use crate::measure::rusage::Usage;
use crate::shm::SharedMem;
use crate::topology;
use crate::workload::{Collectives, Workload};

mod exchange;
mod rank;

pub(crate) use rank::{run_rank, serve_ranks, RankOutcome};

/// Byte a rank's region is filled with before each execution (all ones: a NaN as f64).
pub(crate) const POISON: u8 = 0xFF;

/// Seconds a rank spent in each phase of one execution, on its own clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct RankPhases {
    /// Receiving (or, on rank 0, sending) the inputs before the first stage.
    pub(crate) distribute_s: f64,
    /// Running its parts, outside any collective.
    pub(crate) compute_s: f64,
    /// Moving data between stages and inside exchanging stages.
    pub(crate) exchange_s: f64,
    /// Sending its results to rank 0 (on rank 0: receiving them all).
    pub(crate) collect_s: f64,
}

/// What one rank did in one execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RankReport {
    /// The rank (= the part it ran).
    pub(crate) rank: usize,
    /// The host it ran on.
    pub(crate) host: String,
    /// The CPU it was on when its last stage ended.
    pub(crate) cpu: usize,
    /// Bytes it sent to other ranks.
    pub(crate) bytes_sent: u64,
    /// Bytes it received from other ranks.
    pub(crate) bytes_received: u64,
    /// Where its time went.
    pub(crate) phases: RankPhases,
    /// Each stage's start and end, ns after the group's barrier, on its own clock.
    pub(crate) stages_ns: Vec<[u64; 2]>,
    /// Its switches and CPU time during the execution.
    pub(crate) usage: Usage,
    /// What went wrong in its part (a panic), if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

/// What a distributed execution adds to [`Execution`]: every rank's report, and what each part
/// wrote last (for the verification on rank 0; not serialized).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct DistributedRun {
    /// One per rank, in rank order.
    pub(crate) ranks: Vec<RankReport>,
    /// Bytes moved between ranks in all (the sum of `bytes_sent`).
    pub(crate) bytes_moved: u64,
    /// Rank 0's phases, whose sum is the wall time.
    pub(crate) phases: RankPhases,
    /// Bytes the parts read before their first stage, all parts together without overlaps
    /// (merge sort: the keys; matmul: A and B; io: the task slots): what `bytes_moved` is
    /// compared with.
    pub(crate) input_bytes: usize,
    /// Byte ranges each part wrote last.
    #[serde(skip)]
    pub(crate) written: Vec<Vec<Range<usize>>>,
}

/// Rank 0: one execution of `workload` on ranks `0..parts`, `mem` holding the reset workload.
pub(crate) fn run(
    workload: &dyn Workload,
    mem: SharedMem,
    parts: usize,
    options: &ExecOptions,
) -> Result<Execution, StrategyError> {
    super::decomposition(workload, parts)?;
    let fault = options.fault.map(|f| (f.part, f.kind));
    let my_fault = fault.filter(|f| f.0 == 0).map(|f| f.1);
    let world = cluster::world();
    let ranks = world.map_or(1, |w| w.size);
    if parts > ranks {
        return Err(StrategyError::NotEnoughRanks { parts, ranks });
    }
    let pinned = pin_for_part(world, 0)?;
    let result: Result<Execution, StrategyError> = match world {
        None => {
            let before = Usage::process_and_children();
            let start_ns = monotonic_ns();
            let outcome = run_rank(
                workload,
                mem,
                &SoloRank,
                my_fault,
                &crate::sys::host_name(),
                before,
            );
            Ok(finish_execution(start_ns, outcome, vec![]))
        }
        Some(world) => {
            world.send_job(&RankJob::Parts {
                spec: workload.spec().clone(),
                parts,
                fault,
            });
            let watchdog = options.deadline.map(|d| Watchdog::start(d, parts));
            let out = world.with_group(parts, |group| {
                let group = group.expect("rank 0 is in every group");
                group.barrier();
                let before = Usage::process_and_children();
                let start_ns = monotonic_ns();
                let outcome = run_rank(workload, mem, group, my_fault, world.host_of(0), before);
                let reports = gather_reports(group, &outcome.report);
                (start_ns, outcome, reports)
            });
            drop(watchdog);
            let (start_ns, outcome, reports) = out;
            Ok(finish_execution(start_ns, outcome, reports))
        }
    };
    if pinned {
        topology::unpin_current_thread()
            .map_err(|source| StrategyError::Pin { part: 0, source })?;
    }
    let exec = result?;
    if let (Some(d), Some(w)) = (&exec.distributed, world) {
        // The other ranks on this host are this invocation's work, not other programs.
        let here = w.host_of(0);
        let cpu_s: f64 = d.ranks[1..]
            .iter()
            .filter(|r| r.host == here)
            .map(|r| r.usage.user_s + r.usage.sys_s)
            .sum();
        crate::measure::load::count_as_ours(cpu_s);
    }
    if let Some(d) = &exec.distributed {
        if let Some(bad) = d.ranks.iter().find(|r| r.error.is_some()) {
            return Err(StrategyError::RankFailed {
                part: bad.rank,
                host: bad.host.clone(),
                message: bad.error.clone().unwrap_or_default(),
            });
        }
    }
    Ok(exec)
}

/// Pin the calling rank for its part when the launcher did not bind it (a bound rank stays where
/// the launcher put it). Returns whether it pinned.
fn pin_for_part(world: Option<&World>, rank: usize) -> Result<bool, StrategyError> {
    let place = world.and_then(|w| w.info.ranks.get(rank));
    let bound = place.is_some_and(|p| p.bound);
    if bound {
        return Ok(false);
    }
    let local = place.map_or(0, |p| p.local_rank);
    topology::pin_current_thread(Placement::Spread.cpu_for(local))
        .map_err(|source| StrategyError::Pin { part: rank, source })?;
    Ok(true)
}

/// Stops the whole MPI job, with one line, when an execution is not over by its deadline: a
/// rank blocked in a collective cannot be interrupted any other way.
struct Watchdog {
    done: Option<crossbeam::channel::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    fn start(deadline: Instant, parts: usize) -> Watchdog {
        let (done, wait) = crossbeam::channel::bounded::<()>(1);
        let thread = std::thread::spawn(move || {
            let left = deadline.saturating_duration_since(Instant::now());
            if let Err(crossbeam::channel::RecvTimeoutError::Timeout) = wait.recv_timeout(left) {
                eprintln!(
                    "concbench: error: distributed x{parts}: a rank has not finished by the deadline of this repetition (raise it with --stuck-after); aborting the MPI job"
                );
                cluster::abort_job(1);
            }
        });
        Watchdog {
            done: Some(done),
            thread: Some(thread),
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.done.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Every rank's report at rank 0 (untimed: after the clock stopped).
fn gather_reports(group: &dyn Collectives, mine: &RankReport) -> Vec<RankReport> {
    let text = serde_json::to_vec(mine).expect("rank reports serialize");
    let empty: &[u8] = &[];
    let sends: Vec<&[u8]> = (0..group.ranks())
        .map(|r| if r == 0 { &text[..] } else { empty })
        .collect();
    group
        .all_to_all(&sends)
        .iter()
        .enumerate()
        .filter(|_| group.rank() == 0)
        .map(|(r, b)| {
            serde_json::from_slice(b).unwrap_or_else(|e| RankReport {
                error: Some(format!("its report did not arrive whole ({e})")),
                ..RankReport::empty(r, "?")
            })
        })
        .collect()
}

/// The [`Execution`] of rank 0 from its outcome and every rank's report.
fn finish_execution(
    start_ns: u64,
    outcome: RankOutcome,
    mut reports: Vec<RankReport>,
) -> Execution {
    if reports.is_empty() {
        reports.push(outcome.report.clone());
    }
    let p = outcome.report.phases;
    let wall_s = p.distribute_s + p.compute_s + p.exchange_s + p.collect_s;
    let parts: Vec<PartRecord> = reports
        .iter()
        .flat_map(|r| {
            r.stages_ns
                .iter()
                .enumerate()
                .map(move |(stage, [a, b])| PartRecord {
                    stage,
                    part: r.rank,
                    cpu: r.cpu,
                    start_ns: start_ns + a,
                    end_ns: start_ns + b,
                })
        })
        .collect();
    let usage = reports.iter().fold(Usage::default(), |acc, r| Usage {
        voluntary_switches: acc.voluntary_switches + r.usage.voluntary_switches,
        involuntary_switches: acc.involuntary_switches + r.usage.involuntary_switches,
        user_s: acc.user_s + r.usage.user_s,
        sys_s: acc.sys_s + r.usage.sys_s,
    });
    Execution {
        wall_s,
        start_ns,
        phases: Phases {
            spawn_s: 0.0,
            setup_s: p.distribute_s,
            compute_s: p.compute_s,
            combine_s: p.exchange_s + p.collect_s,
            collect_s: 0.0,
        },
        parts,
        usage,
        web: None,
        distributed: Some(Box::new(DistributedRun {
            bytes_moved: reports.iter().map(|r| r.bytes_sent).sum(),
            ranks: reports,
            phases: p,
            input_bytes: outcome.input_bytes,
            written: outcome.written,
        })),
    }
}

impl RankReport {
    fn empty(rank: usize, host: &str) -> RankReport {
        RankReport {
            rank,
            host: host.to_string(),
            cpu: 0,
            bytes_sent: 0,
            bytes_received: 0,
            phases: RankPhases::default(),
            stages_ns: Vec::new(),
            usage: Usage::default(),
            error: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::exchange::Holdings;
    use super::*;
    use crate::child::FaultKind;
    use crate::shm::SharedRegion;
    use crate::workload::exchange::LocalRanks;
    use crate::workload::{build, WorkloadSpec};

    /// Run `spec` distributed over `ranks` thread-ranks, each with a region of its own, and
    /// verify on rank 0; returns rank 0's execution.
    fn distributed(
        spec: WorkloadSpec,
        ranks: usize,
        fault: Option<(usize, FaultKind)>,
    ) -> (Result<(), crate::workload::VerifyError>, Execution) {
        let w = build(&spec).unwrap();
        let regions: Vec<SharedRegion> = (0..ranks)
            .map(|_| SharedRegion::new(w.shared_bytes()).unwrap())
            .collect();
        crate::workload::init(&*w, regions[0].mem());
        crate::workload::reset(&*w, regions[0].mem());
        for r in &regions[1..] {
            unsafe { r.mem().slice_mut::<u8>(0, r.mem().len()) }.fill(POISON);
        }
        let outs = LocalRanks::run(ranks, |c| {
            let me = c.rank();
            let f = fault.filter(|f| f.0 == me).map(|f| f.1);
            let start = monotonic_ns();
            let o = run_rank(
                &*w,
                regions[me].mem(),
                c,
                f,
                &format!("host{me}"),
                Usage::default(),
            );
            let reports = gather_reports(c, &o.report);
            (start, o, reports)
        });
        let (start, outcome, reports) = outs.into_iter().next().unwrap();
        let exec = finish_execution(start, outcome, reports);
        let written = exec.distributed.as_ref().unwrap().written.clone();
        (
            crate::workload::verify_distributed(&*w, regions[0].mem(), ranks, &written),
            exec,
        )
    }

    #[test]
    fn every_workload_verifies_distributed_over_awkward_rank_counts() {
        let specs = [
            WorkloadSpec::new("mergesort", 1000, 3),
            WorkloadSpec::new("mergesort", 5, 3),
            WorkloadSpec::new("mergesort", 1, 3),
            WorkloadSpec::new("matmul", 13, 3),
            WorkloadSpec::new("matmul", 2, 3),
            WorkloadSpec::new("io", 11, 3).with("wait_ms", 0),
            WorkloadSpec::new("io", 2, 3).with("wait_ms", 0),
            WorkloadSpec::new("sum-squares", 100, 3),
        ];
        for spec in specs {
            for ranks in [1, 2, 3, 7] {
                let (v, exec) = distributed(spec.clone(), ranks, None);
                v.unwrap_or_else(|e| {
                    panic!("{} size {} on {ranks} ranks: {e}", spec.name, spec.size)
                });
                let d = exec.distributed.unwrap();
                assert_eq!(d.ranks.len(), ranks);
                assert!(d.ranks.iter().all(|r| r.error.is_none()));
                if ranks == 1 {
                    assert_eq!(d.bytes_moved, 0, "{}: one rank moves nothing", spec.name);
                }
            }
        }
    }

    #[test]
    fn merge_sort_moves_each_key_at_most_three_times() {
        let n = 100_000;
        for ranks in [2, 3, 7] {
            let (v, exec) = distributed(WorkloadSpec::new("mergesort", n, 9), ranks, None);
            v.unwrap();
            let d = exec.distributed.unwrap();
            let keys = (n * 8) as u64;
            assert!(
                d.bytes_moved <= 3 * keys,
                "{ranks} ranks moved {} bytes for {keys}",
                d.bytes_moved
            );
            // Scatter and gather alone are (P-1)/P of the keys each.
            assert!(d.bytes_moved >= 2 * keys * (ranks as u64 - 1) / ranks as u64);
            let sent: u64 = d.ranks.iter().map(|r| r.bytes_sent).sum();
            let received: u64 = d.ranks.iter().map(|r| r.bytes_received).sum();
            assert_eq!(sent, received, "every byte sent is received once");
        }
    }

    #[test]
    fn matmul_broadcasts_b_and_moves_only_row_blocks() {
        let n = 24;
        let (v, exec) = distributed(WorkloadSpec::new("matmul", n, 1), 3, None);
        v.unwrap();
        let d = exec.distributed.unwrap();
        let m = (n * n * 8).next_multiple_of(4096) as u64;
        let row = (n * 8) as u64;
        // Rank 1 and 2 each get 8 rows of A and all of B (n rows), and send back 8 rows of C.
        for r in &d.ranks[1..] {
            assert_eq!(r.bytes_received, 8 * row + n as u64 * row);
            assert_eq!(r.bytes_sent, 8 * row);
        }
        assert!(d.bytes_moved < 3 * m);
    }

    #[test]
    fn a_wrong_answer_names_the_rank() {
        let (v, _) = distributed(
            WorkloadSpec::new("io", 12, 1).with("wait_ms", 0),
            3,
            Some((2, FaultKind::WrongAnswer)),
        );
        let e = v.unwrap_err();
        assert_eq!(e.part, Some(2), "{e}");
        let (v, _) = distributed(
            WorkloadSpec::new("mergesort", 3000, 1),
            3,
            Some((1, FaultKind::WrongAnswer)),
        );
        let e = v.unwrap_err();
        assert!(e.part.is_some(), "{e}");
        let (v, _) = distributed(
            WorkloadSpec::new("matmul", 9, 1),
            2,
            Some((1, FaultKind::WrongAnswer)),
        );
        assert_eq!(v.unwrap_err().part, Some(1));
    }

    #[test]
    fn a_crashed_part_is_reported_with_its_rank() {
        let (_, exec) = distributed(
            WorkloadSpec::new("matmul", 9, 1),
            3,
            Some((1, FaultKind::Crash)),
        );
        let d = exec.distributed.unwrap();
        assert!(d.ranks[1].error.as_deref().unwrap().contains("injected"));
        assert!(d.ranks[0].error.is_none() && d.ranks[2].error.is_none());
    }

    #[test]
    fn holdings_route_bytes_from_their_last_writer() {
        let mut h = Holdings::new(100, 3);
        h.wrote(1, &(10..20));
        h.wrote(2, &(15..30));
        let t = h.transfers(&[vec![0..40], vec![], vec![]]);
        assert_eq!(t, vec![(1, 0, 10..15), (2, 0, 15..30)]);
        // Rank 2 holds what it wrote: it needs only rank 1's bytes and rank 0's.
        let t = h.transfers(&[vec![], vec![], vec![0..20]]);
        assert_eq!(t, vec![(0, 2, 0..10), (1, 2, 10..15)]);
        // Overlapping reads arrive once.
        let t = h.transfers(&[vec![], vec![40..60, 50..70], vec![]]);
        assert_eq!(t, vec![(0, 1, 40..70)]);
    }
}
