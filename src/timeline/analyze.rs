//! From clock readings to a picture: run intervals, switch and interrupt gaps, slices, run
//! shares, overlap and fairness.
//!
//! A worker reads the clock after every small chunk of CPU work. Two consecutive readings further
//! apart than the *gap threshold* (calibrated from the chunk time, see [`super::record`]) mean the
//! worker did not run in between. The recorder keeps only those gaps (plus its first and last
//! reading), which describes the readings exactly as far as the threshold can tell:
//! `gaps_in` (the tests' reference) and [`intervals_between`] turn raw readings into the same intervals.
//!
//! A gap is a **switch** when another worker pinned to the same CPU was seen running inside it
//! (the scheduler gave the CPU to a sibling). Any other gap is an **interrupt gap**: interrupts,
//! the hypervisor, or another program took the CPU — a lone pinned thread sees those too.
//! A **slice** is a stretch of running between two switches; interrupt gaps inside it do not end
//! it.

use serde::{Deserialize, Serialize};

use crate::measure::stats::percentile_sorted;

/// What one worker recorded: its first and last clock reading, every gap longer than the
/// threshold, and its own counters. Times are `CLOCK_MONOTONIC` nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WorkerReadings {
    /// Worker index.
    pub(crate) id: usize,
    /// CPU it was pinned to.
    pub(crate) cpu: usize,
    /// CPU `sched_getcpu` reported when it finished (evidence of the pin).
    pub(crate) cpu_seen: usize,
    /// Thread id (thread workers) or process id (process workers).
    pub(crate) os_id: u32,
    /// First reading at or after the common start; `None` if it never ran.
    pub(crate) first_ns: Option<u64>,
    /// Last reading.
    pub(crate) last_ns: u64,
    /// Pairs of consecutive readings further apart than the threshold, in order.
    pub(crate) gaps: Vec<(u64, u64)>,
    /// Involuntary context switches during the recording (getrusage of the worker itself).
    pub(crate) involuntary_switches: u64,
    /// Voluntary context switches during the recording.
    pub(crate) voluntary_switches: u64,
    /// The gap buffer filled up and the worker stopped early.
    pub(crate) truncated: bool,
}

/// Gaps between consecutive `readings` longer than `threshold_ns` (a gap of exactly the
/// threshold is not one).
#[cfg(test)]
pub(crate) fn gaps_in(readings: &[u64], threshold_ns: u64) -> Vec<(u64, u64)> {
    readings
        .windows(2)
        .filter(|w| w[1].saturating_sub(w[0]) > threshold_ns)
        .map(|w| (w[0], w[1]))
        .collect()
}

/// Run intervals of a worker whose readings span `first..=last` with `gaps` between: the
/// stretches between the gaps. Two gaps back to back (a single reading between them) leave a
/// zero-length interval: the worker was seen once, however briefly.
pub(crate) fn intervals_between(first: u64, last: u64, gaps: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = Vec::with_capacity(gaps.len() + 1);
    let mut start = first;
    for &(a, b) in gaps {
        out.push((start, a));
        start = b;
    }
    out.push((start, last.max(start)));
    out
}

/// Run intervals straight from raw readings (empty readings: the worker never ran).
#[cfg(test)]
pub(crate) fn intervals_from_readings(readings: &[u64], threshold_ns: u64) -> Vec<(u64, u64)> {
    match (readings.first(), readings.last()) {
        (Some(&first), Some(&last)) => {
            intervals_between(first, last, &gaps_in(readings, threshold_ns))
        }
        _ => Vec::new(),
    }
}

/// Whether any of the sorted, disjoint `intervals` shares a stretch of positive length with
/// `(a, b)`.
pub(crate) fn overlaps_any(intervals: &[(u64, u64)], a: u64, b: u64) -> bool {
    let i = intervals.partition_point(|&(_, end)| end <= a);
    intervals[i..]
        .iter()
        .take_while(|&&(start, _)| start < b)
        .any(|&(start, end)| end.min(b) > start.max(a))
}

/// The stretches during which two or more of the workers' intervals run at once, sorted.
pub(crate) fn overlap_spans(workers: &[Vec<(u64, u64)>]) -> Vec<(u64, u64)> {
    let mut events: Vec<(u64, i32)> = workers
        .iter()
        .flatten()
        .filter(|(a, b)| b > a)
        .flat_map(|&(a, b)| [(a, 1), (b, -1)])
        .collect();
    events.sort_unstable();
    let (mut running, mut last) = (0i32, 0u64);
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (t, d) in events {
        if running >= 2 && t > last {
            match out.last_mut() {
                Some(prev) if prev.1 == last => prev.1 = t,
                _ => out.push((last, t)),
            }
        }
        running += d;
        last = t;
    }
    out
}

/// Share of `wall_ns` during which two or more of the workers' intervals run at once.
pub(crate) fn overlap_share(workers: &[Vec<(u64, u64)>], wall_ns: u64) -> f64 {
    if wall_ns == 0 {
        return 0.0;
    }
    let both: u64 = overlap_spans(workers).iter().map(|(a, b)| b - a).sum();
    both as f64 / wall_ns as f64
}

/// The parts of `(a, b)` covered by the sorted, disjoint `intervals`.
pub(crate) fn intersect(intervals: &[(u64, u64)], a: u64, b: u64) -> Vec<(u64, u64)> {
    let i = intervals.partition_point(|&(_, end)| end <= a);
    intervals[i..]
        .iter()
        .take_while(|&&(start, _)| start < b)
        .map(|&(start, end)| (start.max(a), end.min(b)))
        .filter(|(x, y)| y > x)
        .collect()
}

/// `intervals` sorted and merged where they overlap or touch.
pub(crate) fn merge(intervals: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut v: Vec<(u64, u64)> = intervals.iter().copied().filter(|(a, b)| b > a).collect();
    v.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(v.len());
    for (a, b) in v {
        match out.last_mut() {
            Some(prev) if a <= prev.1 => prev.1 = prev.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// Total length covered by `intervals` (in any order, overlapping or not).
pub(crate) fn union_length(intervals: &[(u64, u64)]) -> u64 {
    merge(intervals).iter().map(|(a, b)| b - a).sum()
}

/// Jain's fairness index of `shares`: (Σx)² / (n·Σx²), 1 when all are equal, 1/n when one
/// worker got everything. No shares, or all zero, count as fair (1).
pub(crate) fn jain_fairness(shares: &[f64]) -> f64 {
    let sum: f64 = shares.iter().sum();
    let sq: f64 = shares.iter().map(|x| x * x).sum();
    if shares.is_empty() || sq == 0.0 {
        1.0
    } else {
        sum * sum / (shares.len() as f64 * sq)
    }
}

/// One gap of a worker, classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Gap {
    /// Last reading before the gap, ns from the common start.
    pub(crate) start_ns: u64,
    /// First reading after it.
    pub(crate) end_ns: u64,
    /// Whether a sibling on the same CPU ran in it.
    pub switch: bool,
}

/// A stretch of running between switches (interrupt gaps inside it included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slice {
    /// Start, ns from the common start.
    pub(crate) start_ns: u64,
    /// End.
    pub(crate) end_ns: u64,
    /// It began right after a switch (not at the worker's first reading).
    pub(crate) after_switch: bool,
    /// It ended with a switch (not at the end of the run).
    pub(crate) by_switch: bool,
}

/// The analysis of one worker.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WorkerAnalysis {
    /// Run intervals, ns from the common start, sorted and disjoint.
    pub intervals: Vec<(u64, u64)>,
    /// Its gaps, classified.
    pub(crate) gaps: Vec<Gap>,
    /// Stretches between switches.
    pub slices: Vec<Slice>,
    /// Intervals' total length / wall time.
    pub run_share: f64,
}

impl WorkerAnalysis {
    /// Lengths in ns of the slices that say how long the scheduler let it run: those both begun
    /// and ended by a switch, or, if there are none, those ended by one. Sorted.
    pub(crate) fn measured_slice_lengths(&self) -> Vec<f64> {
        let pick = |both: bool| -> Vec<f64> {
            let mut v: Vec<f64> = self
                .slices
                .iter()
                .filter(|s| s.by_switch && (!both || s.after_switch))
                .map(|s| (s.end_ns - s.start_ns) as f64)
                .collect();
            v.sort_by(f64::total_cmp);
            v
        };
        let complete = pick(true);
        if complete.is_empty() {
            pick(false)
        } else {
            complete
        }
    }

    /// Number of switch gaps.
    pub(crate) fn switch_gaps(&self) -> usize {
        self.gaps.iter().filter(|g| g.switch).count()
    }

    /// Number of interrupt gaps, and their total length in ns.
    pub(crate) fn interrupt_gaps(&self) -> (usize, u64) {
        self.gaps
            .iter()
            .filter(|g| !g.switch)
            .fold((0, 0), |(n, t), g| (n + 1, t + (g.end_ns - g.start_ns)))
    }
}

/// The analysis of a whole recording.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Analysis {
    /// From the common start to the last reading of any worker, ns.
    pub wall_ns: u64,
    /// One per worker, in worker order.
    pub workers: Vec<WorkerAnalysis>,
    /// Share of wall time with two or more workers running.
    pub overlap_share: f64,
    /// Jain's index of the run shares.
    pub fairness: f64,
}

/// Analyse `readings` (one per worker) recorded from the common start `start_ns`.
pub(crate) fn analyze(start_ns: u64, readings: &[WorkerReadings]) -> Analysis {
    let rel = |t: u64| t.saturating_sub(start_ns);
    let wall_ns = readings
        .iter()
        .filter(|r| r.first_ns.is_some())
        .map(|r| rel(r.last_ns))
        .max()
        .unwrap_or(0);
    let intervals: Vec<Vec<(u64, u64)>> = readings
        .iter()
        .map(|r| match r.first_ns {
            None => Vec::new(),
            Some(first) => {
                let gaps: Vec<(u64, u64)> = r.gaps.iter().map(|&(a, b)| (rel(a), rel(b))).collect();
                intervals_between(rel(first), rel(r.last_ns), &gaps)
            }
        })
        .collect();
    let workers: Vec<WorkerAnalysis> = readings
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let siblings: Vec<&Vec<(u64, u64)>> = readings
                .iter()
                .enumerate()
                .filter(|&(j, o)| j != i && o.cpu == r.cpu)
                .map(|(j, _)| &intervals[j])
                .collect();
            let gaps: Vec<Gap> = r
                .gaps
                .iter()
                .map(|&(a, b)| {
                    let (a, b) = (rel(a), rel(b));
                    Gap {
                        start_ns: a,
                        end_ns: b,
                        switch: siblings.iter().any(|s| overlaps_any(s, a, b)),
                    }
                })
                .collect();
            let ran: u64 = intervals[i].iter().map(|(a, b)| b - a).sum();
            WorkerAnalysis {
                slices: slices_of(&intervals[i], &gaps),
                intervals: intervals[i].clone(),
                gaps,
                run_share: if wall_ns == 0 {
                    0.0
                } else {
                    ran as f64 / wall_ns as f64
                },
            }
        })
        .collect();
    let shares: Vec<f64> = workers.iter().map(|w| w.run_share).collect();
    Analysis {
        wall_ns,
        overlap_share: overlap_share(&intervals, wall_ns),
        fairness: jain_fairness(&shares),
        workers,
    }
}

/// Stretches between switch gaps; `gaps[k]` lies between `intervals[k]` and `intervals[k + 1]`.
fn slices_of(intervals: &[(u64, u64)], gaps: &[Gap]) -> Vec<Slice> {
    let (Some(first), Some(last)) = (intervals.first(), intervals.last()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let (mut start, mut after_switch) = (first.0, false);
    for g in gaps.iter().filter(|g| g.switch) {
        out.push(Slice {
            start_ns: start,
            end_ns: g.start_ns,
            after_switch,
            by_switch: true,
        });
        start = g.end_ns;
        after_switch = true;
    }
    out.push(Slice {
        start_ns: start,
        end_ns: last.1.max(start),
        after_switch,
        by_switch: false,
    });
    out
}

/// Percentiles (0..=1) of sorted values, `None` when empty.
pub(crate) fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    (!sorted.is_empty()).then(|| percentile_sorted(sorted, q))
}

/// The kernel's time-slice setting, when this process can read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct KernelSlice {
    /// The file it came from, or `None` if none was readable.
    pub source: Option<String>,
    /// Its value in nanoseconds.
    pub(crate) ns: Option<u64>,
    /// "base_slice_ns = 3000000 (from ...)" or "not readable (...)".
    pub note: String,
}

/// Read the kernel's slice setting from the first readable of [`crate::sys::KERNEL_SLICE_FILES`].
pub(crate) fn kernel_slice() -> KernelSlice {
    match crate::sys::kernel_slice_ns() {
        Some((f, ns)) => KernelSlice {
            source: Some(f.to_string()),
            ns: Some(ns),
            note: format!("{:.2} ms (from {f})", ns as f64 / 1e6),
        },
        None => KernelSlice {
            source: None,
            ns: None,
            note: "not readable (base_slice_ns lives in debugfs, which needs root)".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gap_at_the_threshold_is_not_a_gap() {
        let r = [0, 10, 20, 30, 41, 51];
        assert_eq!(gaps_in(&r, 10), vec![(30, 41)]);
        assert_eq!(intervals_from_readings(&r, 10), vec![(0, 30), (41, 51)]);
        assert_eq!(intervals_from_readings(&r, 11), vec![(0, 51)]);
    }

    #[test]
    fn back_to_back_gaps_leave_a_zero_length_interval() {
        let r = [0, 1, 2, 100, 200, 201];
        assert_eq!(
            intervals_from_readings(&r, 10),
            vec![(0, 2), (100, 100), (200, 201)]
        );
    }

    #[test]
    fn a_worker_that_never_ran_has_no_intervals() {
        assert!(intervals_from_readings(&[], 10).is_empty());
        let never = WorkerReadings {
            id: 1,
            ..WorkerReadings::default()
        };
        let ran = WorkerReadings {
            first_ns: Some(1000),
            last_ns: 2000,
            ..WorkerReadings::default()
        };
        let a = analyze(1000, &[ran, never]);
        assert_eq!(a.wall_ns, 1000);
        assert!(a.workers[1].intervals.is_empty());
        assert_eq!(a.workers[1].run_share, 0.0);
        assert!(a.workers[1].slices.is_empty());
        assert_eq!(a.workers[0].run_share, 1.0);
        assert_eq!(a.fairness, 0.5);
    }

    #[test]
    fn a_single_reading_is_one_empty_interval() {
        assert_eq!(intervals_from_readings(&[7], 10), vec![(7, 7)]);
    }

    #[test]
    fn overlap_counts_only_time_with_two_running() {
        let w = vec![vec![(0, 50)], vec![(25, 100)], vec![(90, 95)]];
        // 25..50 has two running, 90..95 has two: 30 of 100.
        assert!((overlap_share(&w, 100) - 0.30).abs() < 1e-12);
        // Three at once still counts once.
        let w = vec![vec![(0, 10)], vec![(0, 10)], vec![(0, 10)]];
        assert!((overlap_share(&w, 20) - 0.5).abs() < 1e-12);
        // Touching intervals do not overlap.
        let w = vec![vec![(0, 10), (20, 30)], vec![(10, 20)]];
        assert_eq!(overlap_share(&w, 30), 0.0);
        assert_eq!(overlap_share(&[], 0), 0.0);
    }

    #[test]
    fn overlap_spans_merge_and_intersections_clip() {
        let w = vec![vec![(0, 50)], vec![(25, 100)], vec![(40, 60)]];
        assert_eq!(overlap_spans(&w), vec![(25, 60)]);
        assert_eq!(merge(&[(5, 8), (0, 5), (7, 9), (20, 20)]), vec![(0, 9)]);
        assert_eq!(
            intersect(&[(0, 10), (20, 30), (40, 50)], 5, 45),
            vec![(5, 10), (20, 30), (40, 45)]
        );
        assert!(intersect(&[(0, 10)], 10, 20).is_empty());
    }

    #[test]
    fn union_counts_covered_time_once() {
        assert_eq!(union_length(&[(10, 20), (0, 5), (15, 30), (30, 30)]), 25);
        assert_eq!(union_length(&[]), 0);
    }

    #[test]
    fn jain_index_of_equal_and_skewed_shares() {
        assert!((jain_fairness(&[0.33, 0.33, 0.33]) - 1.0).abs() < 1e-12);
        assert!((jain_fairness(&[1.0, 0.0, 0.0, 0.0]) - 0.25).abs() < 1e-12);
        // (0.5+0.25)^2 / (2 * (0.25+0.0625)) = 0.5625/0.625
        assert!((jain_fairness(&[0.5, 0.25]) - 0.9).abs() < 1e-12);
        assert_eq!(jain_fairness(&[]), 1.0);
        assert_eq!(jain_fairness(&[0.0, 0.0]), 1.0);
    }

    #[test]
    fn overlaps_any_finds_positive_overlap_only() {
        let iv = [(10, 20), (30, 40)];
        assert!(overlaps_any(&iv, 15, 35));
        assert!(overlaps_any(&iv, 0, 11));
        assert!(!overlaps_any(&iv, 20, 30));
        assert!(!overlaps_any(&iv, 0, 10));
        assert!(!overlaps_any(&iv, 40, 50));
        assert!(!overlaps_any(&[(5, 5)], 0, 10), "zero-length: nobody ran");
        // A zero-length interval first must not hide a real one after it.
        assert!(overlaps_any(&[(0, 1), (5, 5), (6, 8)], 2, 10));
    }

    /// Two workers on one CPU taking 3-unit turns, the first also hit by one interrupt gap; a
    /// third worker on another CPU with an interrupt gap while the others switch.
    fn taking_turns() -> Vec<WorkerReadings> {
        let w = |id, cpu, first, last, gaps: &[(u64, u64)]| WorkerReadings {
            id,
            cpu,
            cpu_seen: cpu,
            first_ns: Some(first),
            last_ns: last,
            gaps: gaps.to_vec(),
            ..WorkerReadings::default()
        };
        vec![
            // runs 100..130 (interrupt 110..112), 160..190
            w(0, 0, 100, 190, &[(110, 112), (130, 160)]),
            // runs 131..159, 191..200
            w(1, 0, 131, 200, &[(159, 191)]),
            // other CPU: runs 100..200 with an interrupt 140..150
            w(2, 1, 100, 200, &[(140, 150)]),
        ]
    }

    #[test]
    fn switches_need_a_sibling_on_the_same_cpu() {
        let a = analyze(100, &taking_turns());
        assert_eq!(a.wall_ns, 100);
        let w0 = &a.workers[0];
        assert_eq!(w0.intervals, vec![(0, 10), (12, 30), (60, 90)]);
        assert_eq!(
            w0.gaps.iter().map(|g| g.switch).collect::<Vec<_>>(),
            vec![false, true]
        );
        assert_eq!((w0.switch_gaps(), w0.interrupt_gaps()), (1, (1, 2)));
        // Worker 2 ran alone on CPU 1: its gap is an interrupt even though others ran elsewhere.
        assert!(!a.workers[2].gaps[0].switch);
        // One slice ended by a switch, spanning the interrupt gap.
        assert_eq!(
            w0.slices[0],
            Slice {
                start_ns: 0,
                end_ns: 30,
                after_switch: false,
                by_switch: true
            }
        );
        assert_eq!(w0.measured_slice_lengths(), vec![30.0]);
        let w1 = &a.workers[1];
        assert_eq!(w1.slices.len(), 2);
        assert!((w0.run_share - 0.58).abs() < 1e-12);
        assert!((w1.run_share - 0.37).abs() < 1e-12);
        // Workers 0 and 1 never overlap; worker 2 overlaps them wherever it runs.
        let alone = overlap_share(&[w0.intervals.clone(), w1.intervals.clone()], 100);
        assert_eq!(alone, 0.0);
        assert!(a.overlap_share > 0.8 && a.overlap_share < 0.95);
    }

    #[test]
    fn percentiles_of_nothing_are_none() {
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[1.0, 3.0], 0.5), Some(2.0));
    }
}
