//! Memory: a loop that streams arrays far larger than the caches gains what the memory's
//! bandwidth gains from more cores, not the cores' count; a working set that fits the cores'
//! private caches only once it is split over them gains more than the cores' count.

use std::sync::Barrier;
use std::time::Instant;

use serde_json::json;

use super::{conclude, figures};
use crate::experiment::ceilings::{copy_points, copy_source, LimitsOptions};
use crate::lab::kernels::{run_pinned, sum_words, triad};
use crate::lab::{deciding_point, fmt_num, Claim, ClaimResult, Expect, Figure, Kind, Lab, Point};
use crate::measure::stats::median;
use crate::topology::Topology;

/// A STREAM loop gains what the copy bandwidth gains.
pub(crate) const MEMORY_BOUND_SCALING: Claim = Claim {
    id: "memory-bound-scaling",
    kind: Kind::Claim,
    statement: "A memory-bound loop gains from more cores only what the memory's bandwidth gains, not the cores' count.",
    model: "STREAM's triad a = b + 3c over three arrays each at least the limits copy buffer of this mode (128 MiB quick, 512 MiB full) and together at least 4 x the last-level cache, split over P pinned threads: every byte comes from memory, so its speedup from 1 to P cores is the copy bandwidth's gain B_P / B_1, with the copy measured by limits' own copy (the same code) over the same arrays in the same repetition; figure = triad speedup / copy gain, paired per repetition, predicted 1",
    refuted_by: "triad speedup / copy gain outside 1 +- margin: for example a speedup near P where the bandwidth gains less (the loop was not memory-bound), or a speedup below what the bandwidth allows",
    unit: "x of the copy bandwidth's gain (triad speedup / B_P / B_1)",
    margins: &[crate::lab::VALUE_MARGIN],
    run: memory_bound_scaling,
};

/// Superlinear speedup from the cores' private caches.
pub(crate) const CACHE_CAPACITY: Claim = Claim {
    id: "cache-capacity",
    kind: Kind::Claim,
    statement: "A working set that fits the cores' private caches only when split over P cores runs more than P times faster on them: speedup is superlinear at the sizes the caches predict, and only there.",
    model: "a read sweep of W bytes repeated (512 MiB read in all quick, 2 GiB full), one thread against P pinned threads each sweeping W/P (same bytes in total), each side timed 3 times in a repetition, alternating, and its fastest kept (runs of milliseconds, which a burst of other programs on one CPU would decide): a thread runs at the speed of the cache its share fits. With C2 the per-core L2 (private: listed for one core by the kernel; read from sysfs, 1 MiB assumed where it does not say), at W = C2/2 (the whole set fits half of one core's L2, and so does every share) and W = 4 P C2 (every share spills the L2 too) the threads and the one thread read from the same level: speedup / P at most 1 + margin; at W = P x 3/4 C2 (one core's set overflows its L2 by P x 3/4 >= 1.5, every share fits in 3/4 of an L2, the rest left to code and stacks) the shares read from L2 and the one thread from beyond it: speedup / P at least 1 + margin. A shared L3 adds no capacity when the work is split, so no step is predicted there. Each size is judged on its own interval; the worst decides",
    refuted_by: "no superlinear step at the predicted size (speedup / P at most 1 + margin at W = 3/4 P C2), or a superlinear speedup where both sides read from the same level (above 1 + margin at C2/2 or 4 P C2)",
    unit: "x (speedup / P) at the deciding size",
    margins: &[crate::lab::EFFECT_MARGIN],
    run: cache_capacity,
};

/// How many times cache-capacity times each side in a repetition (alternating), keeping the
/// fastest.
const SIDE_TIMINGS: usize = 3;

/// The L2 size cache-capacity assumes where the kernel does not say, bytes.
const ASSUMED_L2: usize = 1 << 20;

/// cache-capacity's working sets for P cores and a per-core L2 of `l2` bytes, with whether
/// each is predicted superlinear: below (every share and one core's half-L2 fit: no step), at
/// the step (shares fit, one core's set does not) and above (both spill).
pub(crate) fn cache_sizes(p: usize, l2: usize) -> [(usize, bool); 3] {
    [(l2 / 2, false), (p * l2 * 3 / 4, true), (4 * p * l2, false)]
}

/// cache-capacity's prediction of speedup / P at one size.
pub(crate) fn cache_expect(superlinear: bool, margin: f64) -> Expect {
    if superlinear {
        Expect::AtLeast(1.0 + margin)
    } else {
        Expect::AtMost(1.0 + margin)
    }
}

/// Words of each of memory-bound-scaling's three arrays: at least the limits copy buffer of the
/// mode and, the three together, at least 4 x the last-level cache.
pub(crate) fn triad_words(limits_copy_bytes: usize, llc: usize) -> usize {
    limits_copy_bytes.max((4 * llc).div_ceil(3)) / 8
}

fn memory_bound_scaling(c: &Claim, lab: &Lab) -> Result<ClaimResult, String> {
    let tol = c.margin(0);
    let expect = Expect::Between([1.0 - tol, 1.0 + tol]);
    let cpus = Topology::get().core_cpus();
    let p = cpus.len();
    if p < 2 {
        return Ok(ClaimResult::not_testable(
            c,
            expect,
            format!("this process may use {p} physical core: scaling needs at least two"),
        ));
    }
    let limits = lab.pick(LimitsOptions::quick(), LimitsOptions::full());
    let (llc, llc_from) = match crate::sys::largest_cache_bytes() {
        Some(b) => (b, "read from the kernel"),
        None => (32 << 20, "not readable here: 32 MiB assumed"),
    };
    let words = triad_words(limits.copy_bytes, llc);
    let need = 3 * words as u64 * 8;
    if let Some(avail) = crate::sys::meminfo_bytes("MemAvailable") {
        if avail < 2 * need {
            return Ok(ClaimResult::not_testable(
                c,
                expect,
                format!(
                    "the triad's three arrays need {} MiB and this machine has {} MiB available (at least twice that is asked, so the run does not push others into swap)",
                    need >> 20,
                    avail >> 20
                ),
            ));
        }
    }
    let b = copy_source(words);
    let mut a = vec![1u64; words];
    let cw: Vec<u64> = (0..words as u64).map(|i| i ^ 0x5555).collect();
    let triad_time = |a: &mut [u64], t: usize| -> Result<f64, String> {
        let chunk = words.div_ceil(t);
        let parts: Vec<std::sync::Mutex<&mut [u64]>> =
            a.chunks_mut(chunk).map(std::sync::Mutex::new).collect();
        let (_, wall) = run_pinned(&cpus[..t], |i| {
            let lo = i * chunk;
            let hi = (lo + chunk).min(words);
            let mut part = parts[i].lock().unwrap_or_else(|e| e.into_inner());
            triad(&mut part, &b[lo..hi], &cw[lo..hi]);
        })?;
        Ok(wall)
    };
    // One untimed triad: every page of `a` mapped and written before timing.
    triad_time(&mut a, p)?;
    let (mut speedups, mut gains, mut bw1, mut bwp) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..lab.reps() {
        let pts = copy_points(&cpus, &[1, p], &b, &mut a, 1).map_err(|e| e.to_string())?;
        let (one, all) = (pts[0].gb_s, pts[1].gb_s);
        let t1 = triad_time(&mut a, 1)?;
        let tp = triad_time(&mut a, p)?;
        if a[words - 1] != b[words - 1].wrapping_add(cw[words - 1].wrapping_mul(3)) {
            return Err("the triad computed the wrong values".into());
        }
        speedups.push(t1 / tp);
        gains.push(all / one);
        bw1.push(one);
        bwp.push(all);
    }
    let gain = median(&gains);
    let tells_apart = gain * (1.0 + tol) < p as f64 * (1.0 - tol);
    let prediction = format!(
        "triad over 3 arrays of {} MiB ({} MiB in all; the last-level cache is {} MiB, {llc_from}) on 1 and P = {p} cores: speedup = the copy's gain B_{p} / B_1 (median {} / {} GB/s = {}), measured beside it in each repetition, within {}",
        (words * 8) >> 20, need >> 20, llc >> 20, fmt_num(median(&bwp)), fmt_num(median(&bw1)), fmt_num(gain), fmt_num(tol)
    );
    let figs = figures(vec![
        ("cores", json!(p)),
        ("array_bytes", json!(words * 8)),
        ("llc_bytes", json!(llc)),
        ("llc_source", json!(llc_from)),
        ("triad_speedup", json!(median(&speedups))),
        ("copy_gb_s_1", json!(median(&bw1))),
        ("copy_gb_s_p", json!(median(&bwp))),
        ("copy_gain", json!(gain)),
        ("prediction_differs_from_p", json!(tells_apart)),
        ("margin", json!(tol)),
    ]);
    Ok(ClaimResult::judge(
        c,
        prediction,
        Figure::paired(&speedups, &gains),
        expect,
        figs,
        |m, v| {
            format!(
                "The triad ran {}x faster on {p} cores than on one; the copy over the same arrays went from {} to {} GB/s ({}x), so the triad reached {} of the bandwidth's gain. {} {}",
                fmt_num(median(&speedups)), fmt_num(median(&bw1)), fmt_num(median(&bwp)), fmt_num(gain), fmt_num(m),
                if tells_apart {
                    format!("Here the bandwidth's gain and the cores' count ({p}) lie farther apart than the margin, so the run tells a memory-bound loop from a compute-bound one.")
                } else {
                    format!("Here the bandwidth itself gained nearly {p}x, so this machine cannot tell a memory-bound loop from a compute-bound one: the verdict tests only the value of the gain.")
                },
                conclude(v, "The memory-bound loop gained what the memory's bandwidth gained, not what the cores' count suggests.", "The loop's gain is not the bandwidth's: it was not bound by memory bandwidth alone, or paid something the copy does not.")
            )
        },
    ))
}

/// One sweep measurement: `threads` pinned threads each summing its own `bytes / threads` buffer
/// `passes` times, after one untimed pass; the wall time from the first timed start to the last
/// end, s.
fn sweep_time(cpus: &[usize], bytes: usize, passes: usize) -> Result<f64, String> {
    let words = (bytes / 8 / cpus.len()).max(1);
    let ready = Barrier::new(cpus.len());
    let (spans, _) = run_pinned(cpus, |i| {
        let data: Vec<u64> = (0..words as u64).map(|w| w ^ i as u64).collect();
        sum_words(&data, 1);
        ready.wait();
        let t = Instant::now();
        let s = sum_words(&data, passes);
        (t, Instant::now(), s)
    })?;
    let start = spans.iter().map(|s| s.value.0).min().ok_or("no threads")?;
    let end = spans.iter().map(|s| s.value.1).max().ok_or("no threads")?;
    Ok((end - start).as_secs_f64())
}

fn cache_capacity(c: &Claim, lab: &Lab) -> Result<ClaimResult, String> {
    let tol = c.margin(0);
    let cpus = Topology::get().core_cpus();
    let p = cpus.len();
    let (l2, l2_from) = match crate::sys::cache_bytes(2) {
        Some(b) => (b, "read from the kernel".to_string()),
        None => (ASSUMED_L2, "not readable here: 1 MiB assumed".to_string()),
    };
    let shared = crate::sys::cache_shared_cpu_list(2)
        .and_then(|s| crate::topology::parse_cpu_list(&s))
        .map(|list| cpus.iter().filter(|c| list.contains(c)).count());
    let sizes = cache_sizes(p.max(1), l2);
    let expect = cache_expect(true, tol);
    if p < 2 {
        return Ok(ClaimResult::not_testable(
            c,
            expect,
            format!("this process may use {p} physical core: splitting a working set needs two"),
        ));
    }
    if let Some(k) = shared.filter(|&k| k > 1) {
        return Ok(ClaimResult::not_testable(
            c,
            expect,
            format!("the L2 is shared by {k} of the cores this process may use: splitting the work over them adds no L2 capacity, so this claim's step is not predicted here"),
        ));
    }
    let private = match shared {
        Some(_) => "private to each core (sysfs)",
        None => "assumed private: the kernel does not say which CPUs share it",
    };
    let l3 = crate::sys::cache_bytes(3);
    let l3_shared = crate::sys::cache_shared_cpu_list(3)
        .and_then(|s| crate::topology::parse_cpu_list(&s))
        .map(|list| cpus.iter().filter(|c| list.contains(c)).count());
    let total = lab.pick(512usize << 20, 2usize << 30);
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); sizes.len()];
    for _ in 0..lab.reps() {
        for (k, &(w, _)) in sizes.iter().enumerate() {
            let passes = (total / w).max(1);
            // Each side timed SIDE_TIMINGS times, alternating, its fastest kept: a run of a few
            // milliseconds that a burst of other programs hit on one CPU is not the cache's.
            let (mut t1, mut tp) = (f64::INFINITY, f64::INFINITY);
            for _ in 0..SIDE_TIMINGS {
                t1 = t1.min(sweep_time(&cpus[..1], w, passes)?);
                tp = tp.min(sweep_time(&cpus, w, passes)?);
            }
            ratios[k].push(t1 / tp / p as f64);
        }
    }
    let pts: Vec<Point> = sizes
        .iter()
        .zip(&ratios)
        .map(|(&(_, sup), r)| Point {
            figure: Figure::median(r),
            expect: cache_expect(sup, tol),
        })
        .collect();
    let decide = deciding_point(&pts).expect("three sizes");
    let kib = |b: usize| b / 1024;
    let rows: Vec<_> = sizes
        .iter()
        .zip(&pts)
        .map(|(&(w, sup), pt)| {
            json!({
                "working_set_kib": kib(w),
                "per_core_share_kib": kib(w / p),
                "predicted_superlinear": sup,
                "speedup_over_p": pt.figure.value,
                "speedup_over_p_interval": pt.figure.spread(),
                "verdict": pt.verdict().name(),
            })
        })
        .collect();
    let text = rows
        .iter()
        .map(|r| {
            format!(
                "{} KiB ({} KiB a core): speedup {}x of P ({}, {})",
                r["working_set_kib"],
                r["per_core_share_kib"],
                fmt_num(r["speedup_over_p"].as_f64().unwrap_or(0.0)),
                if r["predicted_superlinear"].as_bool() == Some(true) {
                    "predicted superlinear"
                } else {
                    "predicted at most linear"
                },
                r["verdict"].as_str().unwrap_or("-")
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let l3_text = match (l3, l3_shared) {
        (Some(b), Some(k)) if k == p => format!(
            "The {} MiB L3 is shared by all {p} cores, so splitting the work adds no L3 capacity: no step is predicted there.",
            b >> 20
        ),
        (Some(b), Some(k)) => format!(
            "The {} MiB L3 is shared by {k} of the {p} cores; a step at the L3 is not tested here.",
            b >> 20
        ),
        _ => "The L3's size or sharing is not known here; no step is predicted there.".into(),
    };
    let prediction = format!(
        "read sweeps of W = {} KiB (half of one core's L2), {} KiB (shares fit, one core's set overflows its L2) and {} KiB (both spill) on 1 and P = {p} cores, with a {} KiB L2 ({l2_from}; {private}): speedup / P at most, at least, at most 1 + margin = {}; the deciding size is {} KiB",
        kib(sizes[0].0), kib(sizes[1].0), kib(sizes[2].0), kib(l2), fmt_num(1.0 + tol), kib(sizes[decide].0)
    );
    let figs = figures(vec![
        ("cores", json!(p)),
        ("l2_bytes", json!(l2)),
        ("l2_source", json!(l2_from)),
        ("l2_private", json!(private)),
        ("l3_bytes", json!(l3)),
        ("l3_shared_by_cores", json!(l3_shared)),
        ("bytes_swept_per_measurement", json!(total)),
        ("points", json!(rows)),
        ("deciding_working_set_kib", json!(kib(sizes[decide].0))),
        ("margin", json!(tol)),
    ]);
    Ok(ClaimResult::judge_point(
        c,
        prediction,
        &pts[decide],
        figs,
        |m, v| {
            format!(
                "With a {} KiB L2 per core ({l2_from}): {text}. {l3_text} The deciding size, {} KiB, gave {}x of P. {}",
                kib(l2), kib(sizes[decide].0), fmt_num(m),
                conclude(v, "The speedup went past P exactly where the split working set came to fit the cores' private caches, and not where both sides read from the same level.", "The superlinear step was not where the cache sizes predict it.")
            )
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::verdict_at;
    use super::*;
    use crate::lab::Verdict;

    #[test]
    fn sizes_follow_the_caches() {
        // 2 cores, 2 MiB L2: 1 MiB (512 KiB a core), 3 MiB (1.5 MiB a core), 16 MiB.
        let s = cache_sizes(2, 2 << 20);
        assert_eq!(s.map(|x| x.0), [1 << 20, 3 << 20, 16 << 20]);
        assert_eq!(s.map(|x| x.1), [false, true, false]);
        for p in [2, 3, 7, 16] {
            let [(lo, _), (step, _), (hi, _)] = cache_sizes(p, 1 << 20);
            assert!(lo <= 1 << 19 && step / p <= 1 << 20, "sets fit at P = {p}");
            assert!(
                step > 1 << 20 && hi / p > 1 << 20,
                "one core overflows at P = {p}"
            );
        }
        // The triad's arrays: the limits buffer, or 4/3 of the LLC when that is larger.
        assert_eq!(triad_words(128 << 20, 32 << 20), (128 << 20) / 8);
        assert_eq!(triad_words(128 << 20, 300 << 20), (400 << 20) / 8);
    }

    #[test]
    fn each_verdict_can_go_both_ways() {
        let tol = crate::lab::VALUE_MARGIN.rel;
        let e = Expect::Between([1.0 - tol, 1.0 + tol]);
        // Bandwidth gains 1.3x; the triad gained 1.3x (supported) or 2x (= P: refuted).
        assert_eq!(verdict_at(1.3 / 1.3, &e), Verdict::Supported);
        assert_eq!(verdict_at(2.0 / 1.3, &e), Verdict::NotSupported);
        assert_eq!(verdict_at(0.7, &e), Verdict::NotSupported);
        let m = crate::lab::EFFECT_MARGIN.rel;
        let step = cache_expect(true, m);
        assert_eq!(verdict_at(1.6, &step), Verdict::Supported);
        assert_eq!(verdict_at(0.98, &step), Verdict::NotSupported, "no step");
        let flat = cache_expect(false, m);
        assert_eq!(verdict_at(0.97, &flat), Verdict::Supported);
        assert_eq!(
            verdict_at(1.5, &flat),
            Verdict::NotSupported,
            "a step where none fits"
        );
        // The worst of the three sizes decides: a missing step outweighs two good controls.
        let pt = |v: f64, e: Expect| Point {
            figure: Figure::median(&[v; 7]),
            expect: e,
        };
        let pts = [pt(0.97, flat.clone()), pt(1.0, step), pt(0.9, flat)];
        assert_eq!(deciding_point(&pts), Some(1));
        assert_eq!(pts[1].verdict(), Verdict::NotSupported);
    }
}
