//! Memory: a loop that streams arrays far larger than the caches gains what the memory's
//! bandwidth gains from more cores, not the cores' count; a working set that fits the cores'
//! private caches only once it is split over them gains more than the cores' count.

use std::sync::Barrier;
use std::time::Instant;

use serde_json::json;

use super::{conclude, figures};
use crate::experiment::ceilings::{copy_points, copy_source, LimitsOptions};
use crate::lab::kernels::{run_pinned, sum_words, triad};
use crate::lab::{
    deciding_point, fmt_num, Claim, ClaimResult, Expect, Figure, Kind, Lab, Negation, Point,
};
use crate::measure::stats::median;
use crate::topology::Topology;

/// A STREAM loop gains what the copy bandwidth gains.
pub(crate) const MEMORY_BOUND_SCALING: Claim = Claim {
    id: "memory-bound-scaling",
    kind: Kind::Claim,
    statement: "A memory-bound loop gains from more cores only what the memory's bandwidth gains, not the cores' count.",
    model: "STREAM's triad a = b + 3c over three arrays each at least the limits copy buffer of this mode (128 MiB quick, 512 MiB full) and together at least 4 x the last-level cache, split over P pinned threads: every byte comes from memory, so its speedup from 1 to P cores is the copy bandwidth's gain B_P / B_1, with the copy measured by limits' own copy (the same code) over the same arrays in the same repetition; figure = triad speedup / copy gain, paired per repetition, predicted 1",
    refuted_by: "triad speedup / copy gain outside 1 +- margin: for example a speedup near P where the bandwidth gains less (the loop was not memory-bound), or a speedup below what the bandwidth allows; a repetition that P cores cannot give (a triad speedup above P x (1 + 5%), the bound margin; the cap declared with the claim) is counted, its one-core and P-core triad rates kept in the figures, and left out of the judged figure (fewer than two left makes the run not-testable); the run does not tell a disturbed baseline from a one-thread triad that is slow for a reason of its own",
    unit: "x of the copy bandwidth's gain (triad speedup / B_P / B_1)",
    margins: &[crate::lab::VALUE_MARGIN],
    run: memory_bound_scaling,
};

/// Superlinear speedup from the cores' private caches.
pub(crate) const CACHE_CAPACITY: Claim = Claim {
    id: "cache-capacity",
    kind: Kind::Claim,
    statement: "A working set that fits the cores' private caches only when split over P cores runs more than P times faster on them: speedup is superlinear at the sizes the caches predict, and only there.",
    model: "a read sweep of W bytes repeated (512 MiB read in all quick, 2 GiB full), one thread against P pinned threads each sweeping W/P (same bytes in total), and beside them, as the model's input, one thread sweeping a share W/P (same bytes again); each side timed 3 times in a repetition, alternating, and its fastest kept (runs of milliseconds, which a burst of other programs on one CPU would decide). A thread runs at the speed of the cache its share fits, so the predicted speedup / P is derived, not set: one thread's time per byte at W over its time per byte at W/P, measured in the same repetition; the figure is the measured speedup / P over it, per repetition, predicted 1. The sizes are set by the cache sizes alone, before any run: with C2 the per-core L2 (private: listed for one core by the kernel; read from sysfs, 1 MiB assumed where it does not say), W = C2/2 (the set and every share fit half an L2: predicted gain near 1), W = 4 P C2 (every share spills the L2 too: near 1) and W = P x 3/4 C2 (one core's set overflows its L2 by P x 3/4 >= 1.5, every share fits in 3/4 of an L2, the rest left to code and stacks: the gain is whatever the L2 is faster than the level beyond it, as one thread measures it). A shared L3 adds no capacity when the work is split, so no step is predicted there. Each size is judged on its own interval; the worst decides. The statement alone judges speedup / P >= 1 + the effect margin at W = 3/4 P C2",
    refuted_by: "at some size the measured speedup / P departs from the gain one thread's cache speeds predict by more than the margin, either side (a step missing where the shares fit the L2, or one where none is predicted); where one thread reads a share that fits the L2 no faster, beyond the margin, than a set that overflows it, the predicted step is within the margin of a linear speedup and the claim is not testable by design on that machine",
    unit: "x of the predicted speedup / P (deciding size)",
    margins: &[crate::lab::VALUE_MARGIN, crate::lab::EFFECT_MARGIN],
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

/// cache-capacity's prediction at one size: the measured speedup / P over the predicted gain
/// ([`predicted_gain`]) within 1 +- `margin`.
pub(crate) fn cache_expect(margin: f64) -> Expect {
    Expect::Between([1.0 - margin, 1.0 + margin])
}

/// The predicted speedup / P at a working set W: one thread's time over W (`one_s`) over its
/// time over a share W / P (`share_s`), the same bytes swept in both. Each of P threads reads its
/// share at the speed one thread reads a set of that size, so P threads over W take `share_s` /
/// P: speedup / P = `one_s` / `share_s`.
pub(crate) fn predicted_gain(one_s: f64, share_s: f64) -> f64 {
    one_s / share_s
}

/// Words of each of memory-bound-scaling's three arrays: at least the limits copy buffer of the
/// mode and, the three together, at least 4 x the last-level cache.
pub(crate) fn triad_words(limits_copy_bytes: usize, llc: usize) -> usize {
    limits_copy_bytes.max((4 * llc).div_ceil(3)) / 8
}

/// The triad's counted bandwidth (24 bytes an element, as STREAM counts it) over `words`
/// elements in `seconds`, GB/s.
pub(crate) fn triad_gb_s_of(words: usize, seconds: f64) -> f64 {
    24.0 * words as f64 / seconds / 1e9
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
    let mut triad_gb_s: Vec<[f64; 2]> = Vec::new();
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
        triad_gb_s.push([triad_gb_s_of(words, t1), triad_gb_s_of(words, tp)]);
    }
    // Physically impossible repetitions: a triad more than P times faster on P cores than on
    // one. Only a disturbed repetition shows it (other programs slowing its one-core triad):
    // counted and left out of the judged figure, not averaged in. A triad counting more than a
    // copy's bandwidth is no such sign: one thread's bandwidth is set by the misses it keeps in
    // flight, not by the memory, and the triad's three streams keep more than the copy's two
    // (a quiet full lab flagged every one of its 11 repetitions by that rule).
    let cores_cap = p as f64 * (1.0 + crate::lab::BOUND_MARGIN.rel);
    let keep: Vec<usize> = (0..speedups.len())
        .filter(|&i| speedups[i] <= cores_cap)
        .collect();
    let flagged = speedups.len() - keep.len();
    if let Some(why) = crate::lab::too_disturbed(&format!("P = {p}"), keep.len(), speedups.len()) {
        return Ok(ClaimResult::not_testable(c, expect, why));
    }
    let pick = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<f64>>();
    let figure = Figure::paired(&pick(&speedups), &pick(&gains));
    let flagged_text = match flagged {
        0 => String::new(),
        k => format!(
            " {k} of {} repetitions were physically impossible and left out of the judged figure (a triad more than {}x faster on {p} cores than on one): their one-thread triad ran slow (other programs, or a cause of its own: this run does not tell which).",
            speedups.len(), fmt_num(cores_cap)
        ),
    };
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
        (
            "triad_gb_s_1",
            json!(median(&triad_gb_s.iter().map(|t| t[0]).collect::<Vec<_>>())),
        ),
        (
            "triad_gb_s_p",
            json!(median(&triad_gb_s.iter().map(|t| t[1]).collect::<Vec<_>>())),
        ),
        ("impossible_reps_flagged", json!(flagged)),
        (
            "flagged_reps",
            json!((0..speedups.len())
                .filter(|&i| speedups[i] > cores_cap)
                .map(|i| json!({
                    "triad_speedup": speedups[i],
                    "triad_gb_s_1": triad_gb_s[i][0],
                    "triad_gb_s_p": triad_gb_s[i][1],
                    "copy_gb_s_1": bw1[i],
                    "copy_gb_s_p": bwp[i],
                }))
                .collect::<Vec<_>>()),
        ),
        ("impossible_cap_speedup", json!(cores_cap)),
        ("margin", json!(tol)),
    ]);
    // Under the negation the loop scales with the cores: a speedup of P over the bandwidth's
    // gain. Where the gain is near P the band reaches it, and the claim is not testable here.
    let negation = Negation::new(
        p as f64 / gain,
        "the loop scales with the cores, whatever the memory's bandwidth gains",
    );
    Ok(ClaimResult::judge(
        c,
        prediction,
        figure,
        expect,
        negation,
        figs,
        |m, v| {
            format!(
                "The triad ran {}x faster on {p} cores than on one; the copy over the same arrays went from {} to {} GB/s ({}x), so the triad reached {} of the bandwidth's gain.{flagged_text} {} {}",
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
    let expect = cache_expect(tol);
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
    // Per repetition and size W: the one thread over W, the P threads over W/P each, and (the
    // model's input) one thread over W/P, the same bytes in total. The predicted speedup / P is
    // the one thread's time per byte at W over its time per byte at W/P: each of the P threads
    // reads its share at the speed one thread reads a set of that size.
    let (mut over_p, mut gain, mut ratio) = (
        vec![Vec::new(); sizes.len()],
        vec![Vec::new(); sizes.len()],
        vec![Vec::new(); sizes.len()],
    );
    for _ in 0..lab.reps() {
        for (k, &(w, _)) in sizes.iter().enumerate() {
            let passes = (total / w).max(1);
            // Each side timed SIDE_TIMINGS times, alternating, its fastest kept: a run of a few
            // milliseconds that a burst of other programs hit on one CPU is not the cache's.
            let (mut t1, mut tp, mut ts) = (f64::INFINITY, f64::INFINITY, f64::INFINITY);
            for _ in 0..SIDE_TIMINGS {
                t1 = t1.min(sweep_time(&cpus[..1], w, passes)?);
                tp = tp.min(sweep_time(&cpus, w, passes)?);
                ts = ts.min(sweep_time(&cpus[..1], w / p, passes * p)?);
            }
            let g = predicted_gain(t1, ts);
            over_p[k].push(t1 / tp / p as f64);
            gain[k].push(g);
            ratio[k].push(t1 / tp / p as f64 / g);
        }
    }
    let pts: Vec<Point> = ratio
        .iter()
        .map(|r| Point {
            figure: Figure::median(r),
            expect: cache_expect(tol),
        })
        .collect();
    let decide = deciding_point(&pts).expect("three sizes");
    let kib = |b: usize| b / 1024;
    let rows: Vec<_> = sizes
        .iter()
        .zip(&pts)
        .enumerate()
        .map(|(k, (&(w, sup), pt))| {
            json!({
                "working_set_kib": kib(w),
                "per_core_share_kib": kib(w / p),
                "placed_at_l2_step": sup,
                "speedup_over_p": median(&over_p[k]),
                "predicted_gain": median(&gain[k]),
                "of_prediction": pt.figure.value,
                "of_prediction_interval": pt.figure.spread(),
                "verdict": pt.verdict().name(),
            })
        })
        .collect();
    let text = rows
        .iter()
        .map(|r| {
            format!(
                "{} KiB ({} KiB a core): speedup {}x of P against a predicted {}x ({} of it, {})",
                r["working_set_kib"],
                r["per_core_share_kib"],
                fmt_num(r["speedup_over_p"].as_f64().unwrap_or(0.0)),
                fmt_num(r["predicted_gain"].as_f64().unwrap_or(0.0)),
                fmt_num(r["of_prediction"].as_f64().unwrap_or(0.0)),
                r["verdict"].as_str().unwrap_or("-")
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    // The step's statement ("more than P times faster") on its own: speedup / P >= 1 + the
    // effect margin at the size placed at the L2 step.
    let step = sizes.iter().position(|s| s.1).expect("a step size");
    let step_gain = median(&gain[step]);
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
        "read sweeps of W = {} KiB (half of one core's L2), {} KiB (shares fit, one core's set overflows its L2) and {} KiB (both spill) on 1 and P = {p} cores, with a {} KiB L2 ({l2_from}; {private}): speedup / P at each W within 1 +- {} of the gain predicted by one thread's time per byte at W over its time at W / P, measured beside it (predicted {}x, {}x, {}x); the deciding size is {} KiB",
        kib(sizes[0].0), kib(sizes[1].0), kib(sizes[2].0), kib(l2), fmt_num(tol), fmt_num(median(&gain[0])), fmt_num(step_gain), fmt_num(median(&gain[2])), kib(sizes[decide].0)
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
        ("predicted_gain_at_step", json!(step_gain)),
        ("margin", json!(tol)),
    ]);
    // Where one thread reads a set that fits its L2 no faster than one that does not, the
    // predicted step is no step: no figure could tell the claim from a linear speedup. Every
    // size has the same band, so the deciding point's is the step's.
    let negation = Negation::new(
        1.0 / step_gain,
        "splitting the work over the cores gains no more than P, whatever the caches",
    )
    .because(&format!(
        "one thread read a share that fits its L2 only {}x faster per byte than the set that overflows it, so the predicted superlinear gain lies within the margin of a linear speedup",
        fmt_num(step_gain)
    ));
    Ok(ClaimResult::judge_point(
        c,
        prediction,
        &pts[decide],
        negation,
        figs,
        |m, v| {
            format!(
                "With a {} KiB L2 per core ({l2_from}): {text}. {l3_text} The deciding size, {} KiB, reached {} of its predicted speedup / P. {}",
                kib(l2), kib(sizes[decide].0), fmt_num(m),
                conclude(v, "At every size the P threads ran as fast as the cache their shares fit lets one thread run, so the speedup went past P by what one thread gains from a set that fits its L2, and only there.", "The speedup / P is not what the caches' speeds, measured by one thread, predict at the size named.")
            )
        },
    )
    // Where the caches predict no step, the statement cannot show here either.
    .with_statement_test_where_testable(
        &format!("speedup / P at the L2 step ({} KiB)", kib(sizes[step].0)),
        Figure::median(&over_p[step]),
        Expect::AtLeast(1.0 + c.margin(1)),
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
        // Bandwidth gains 1.3x (a stated input); the triad gained 1.3x (supported) or 2x (= P:
        // refuted).
        assert_eq!(verdict_at(1.3 / 1.3, &e), Verdict::Supported);
        assert_eq!(verdict_at(2.0 / 1.3, &e), Verdict::NotSupported);
        assert_eq!(verdict_at(0.7, &e), Verdict::NotSupported);
        // cache-capacity: one thread reads a share 1.5x faster per byte than the whole set.
        let g = predicted_gain(1.5, 1.0);
        assert_eq!(g, 1.5);
        let band = cache_expect(tol);
        assert_eq!(verdict_at(1.5 / g, &band), Verdict::Supported, "the step");
        assert_eq!(verdict_at(1.0 / g, &band), Verdict::NotSupported, "no step");
        // Where no step is predicted (gain 1), a step of 1.5 refutes.
        assert_eq!(
            verdict_at(1.5 / predicted_gain(1.0, 1.0), &band),
            Verdict::NotSupported
        );
        // A gain within the margin of 1 cannot tell a step from a linear speedup.
        assert!(crate::lab::predicts_no_effect(&band, 1.0 / 1.05));
        assert!(!crate::lab::predicts_no_effect(&band, 1.0 / 1.5));
        // The worst of the three sizes decides: a missing step outweighs two good controls.
        let pt = |v: f64| Point {
            figure: Figure::median(&[v; 7]),
            expect: band.clone(),
        };
        let pts = [pt(0.97), pt(1.0 / g), pt(1.02)];
        assert_eq!(deciding_point(&pts), Some(1));
        assert_eq!(pts[1].verdict(), Verdict::NotSupported);
    }

    #[test]
    fn the_triad_counts_24_bytes_an_element() {
        // 128 MiB arrays in 0.1 s: 24 bytes an element counted.
        let words = (128 << 20) / 8;
        assert!((triad_gb_s_of(words, 0.1) - 24.0 * words as f64 / 0.1 / 1e9).abs() < 1e-9);
    }
}
