//! Parallelism: speedup against the machine's FMA ceiling, merge sort against its roofline,
//! Amdahl's law with designed serial fractions and Gustafson's weak scaling with the same
//! fractions, and parts that finish when their work says.

use serde_json::json;

use super::{conclude, figures, one_rep, row};
use crate::lab::kernels::{run_pinned, spin, units_for};
use crate::lab::{deciding_point, fmt_num, Claim, ClaimResult, Expect, Figure, Kind, Lab, Point};
use crate::measure::stats::median;
use crate::strategy::Strategy;
use crate::topology::Topology;
use crate::workload::WorkloadSpec;

/// Parallel matmul against the FMA ceiling.
pub(crate) const PARALLELISM_NEEDS_CORES: Claim = Claim {
    id: "parallelism-needs-cores",
    kind: Kind::Claim,
    statement: "CPU-bound work speeds up with cores: parts running at the same time on distinct cores finish sooner.",
    model: "parts running at once on P distinct cores finish sooner than one after another: speedup S > 1; compute-bound work split over P cores is bounded by the machine's parallel FMA ceiling S <= P x (all-core peak / (P x one-core peak)), both peaks measured by limits in this run. The ceiling is a bound, not a value: how close a workload comes to it depends on its memory traffic, which this claim does not model",
    refuted_by: "the speedup on P cores is at most 1 + margin (the cores did not help), or exceeds the FMA ceiling by more than the margin (the bound is wrong)",
    unit: "x speedup",
    margins: &[crate::lab::EFFECT_MARGIN, crate::lab::BOUND_MARGIN],
    run: parallelism_needs_cores,
};

/// Merge sort under its roofline.
pub(crate) const MERGESORT_SCALING: Claim = Claim {
    id: "mergesort-scaling",
    kind: Kind::Claim,
    statement: "Merge sort's speedup is bounded by the cores and by the memory traffic it needs: a roofline.",
    model: "roofline: S <= min(P, T1 x B_P / bytes), with B_P the copy bandwidth on P cores (limits, this run), T1 the sequential time, and bytes = 16 n x (merge passes whose runs exceed the last-level cache, plus the final merge)",
    refuted_by: "the speedup exceeds the roofline bound by more than the margin (the byte count or the bound is wrong); where the memory roof is above the cores' (the traffic cannot bind), the claim is not testable by design on that machine, the figure kept as measured anyway",
    unit: "x of the roofline bound",
    margins: &[crate::lab::BOUND_MARGIN],
    run: mergesort_scaling,
};

/// Amdahl's law.
pub(crate) const AMDAHL: Claim = Claim {
    id: "amdahl",
    kind: Kind::Claim,
    statement: "Amdahl's law: a serial fraction f limits the speedup on P cores to 1 / (f + (1 - f) / P).",
    model: "a workload with a designed serial fraction f in {0, 0.1, 0.25, 0.5} (spin work: f of it on one thread, the rest split over P pinned threads); speedup against the same work on one thread",
    refuted_by: "at some f the measured speedup departs from 1 / (f + (1 - f)/P) by more than the margin (the fitted Karp-Flatt fraction then differs from the designed one); each f is judged on its own interval and the worst point decides; a repetition whose speedup exceeds P x (1 + 5%), which spin work on P cores cannot reach, is flagged as disturbed and left out of its point (a point left with fewer than two makes the run not-testable)",
    unit: "x of Amdahl (deciding f)",
    margins: &[AMDAHL_MARGIN],
    run: amdahl,
};

/// Gustafson's law: weak scaling with Amdahl's serial fractions.
pub(crate) const GUSTAFSON: Claim = Claim {
    id: "gustafson",
    kind: Kind::Claim,
    statement: "Gustafson's law: when the parallel work grows with the cores, the scaled speedup on P cores is f + (1 - f) P, far above Amdahl's bound for the same serial fraction f.",
    model: "amdahl's workload and fractions, weak-scaled: with f in {0, 0.1, 0.25, 0.5}, a serial part f W on one thread, then (1 - f) W on each of P pinned threads (W = amdahl's total work / P, so the scaled problem is about amdahl's size), against the same scaled work (f W + P (1 - f) W) on one thread: scaled speedup f + (1 - f) P, f being the serial share of the time on P cores",
    refuted_by: "at some f the scaled speedup departs from f + (1 - f) P by more than the margin (it behaves like Amdahl's fixed-size speedup instead, or gains less); each f is judged on its own interval and the worst point decides; a repetition whose speedup exceeds P x (1 + 5%), which spin work on P cores cannot reach, is flagged as disturbed and left out of its point (a point left with fewer than two makes the run not-testable)",
    unit: "x of Gustafson (deciding f)",
    margins: &[GUSTAFSON_MARGIN],
    run: gustafson,
};

/// Unequal parts finish when their work predicts.
pub(crate) const PARALLEL_START_FINISH: Claim = Claim {
    id: "parallel-start-finish",
    kind: Kind::Check,
    statement: "Parallel parts finish when their own work is done, and the combine step waits for the last one: unequal parts leave cores idle.",
    model: "by construction: two parts of spin work 1 : 2, each alone on its own core, finish at 1/2 of each other's time because their work says so, so the short core idles for half the stage (idle share 1/4 over both cores); equal parts finish within twice the noise floor (at least 2%). This is a check that the parts ran alone on their cores, not a test of a prediction that could fail on an idle machine",
    refuted_by: "nothing on an idle machine: the check fails only if the short part's finish time, as a share of the long part's, lands farther than the margin from 1/2 (other work on one of the cores, or parts that did not run at the same time)",
    unit: "short / long finish time",
    margins: &[crate::lab::CHECK_MARGIN],
    run: parallel_start_finish,
};

/// amdahl's declared margin.
pub(crate) const AMDAHL_MARGIN: crate::lab::Margin = crate::lab::Margin {
    rel: 0.05,
    why: "half the smallest relative step between Amdahl's speedups of adjacent designed fractions (f = 0 and 0.1 on 2 cores: 2 and 1.82, 10% apart; on more cores the steps are larger), so a point within 5% of its fraction's speedup is told apart from its neighbour's",
};

/// gustafson's declared margin.
pub(crate) const GUSTAFSON_MARGIN: crate::lab::Margin = crate::lab::Margin {
    rel: (2.0 / 1.9 - 1.0) / 2.0,
    why: "half the smallest relative step between Gustafson's scaled speedups of adjacent designed fractions (f = 0 and 0.1 on 2 cores: 2 and 1.9, 5.3% apart; on more cores the steps are larger), the rule amdahl's margin follows, so a point within 2.6% of its fraction's speedup is told apart from its neighbour's",
};

/// The serial fractions amdahl and gustafson are designed with.
pub(crate) const SERIAL_FRACTIONS: [f64; 4] = [0.0, 0.1, 0.25, 0.5];

/// Gustafson's scaled speedup.
pub(crate) fn gustafson_speedup(f: f64, p: usize) -> f64 {
    f + (1.0 - f) * p as f64
}

/// Amdahl's speedup.
pub(crate) fn amdahl_speedup(f: f64, p: usize) -> f64 {
    1.0 / (f + (1.0 - f) / p as f64)
}

/// The Karp–Flatt serial fraction of speedup `s` on `p` cores.
pub(crate) fn karp_flatt(s: f64, p: usize) -> f64 {
    let p = p as f64;
    (1.0 / s - 1.0 / p) / (1.0 - 1.0 / p)
}

/// The roofline bound of a speedup: min(P, T1 · B_P / bytes).
pub(crate) fn roofline(p: usize, t1_s: f64, bandwidth_b_s: f64, bytes: f64) -> f64 {
    (p as f64).min(t1_s * bandwidth_b_s / bytes)
}

/// Bytes merge sort moves through memory for `n` u64 keys: 16 n (read + write) per merge pass
/// whose runs no longer fit in a cache of `llc` bytes, plus one for the final merge.
pub(crate) fn mergesort_bytes(n: usize, llc: usize) -> f64 {
    // Runs of up to `llc / 16` keys (source and destination) merge in the cache.
    let in_cache = (llc as f64 / 16.0).max(2.0);
    let passes = (n as f64 / in_cache).log2().ceil().max(0.0) + 1.0;
    16.0 * n as f64 * passes
}

fn not_on_one_core(c: &Claim, lab: &Lab, expect: Expect) -> Option<ClaimResult> {
    let p = lab.cores();
    (p < 2).then(|| {
        ClaimResult::not_testable(
            c,
            expect,
            format!("this process may use {p} physical core: parallelism needs at least two"),
        )
    })
}

fn parallelism_needs_cores(c: &Claim, lab: &Lab) -> Result<ClaimResult, String> {
    let (tol, btol) = (c.margin(0), c.margin(1));
    let placeholder = parallelism_expect(lab.cores() as f64, tol, btol);
    if let Some(r) = not_on_one_core(c, lab, placeholder) {
        return Ok(r);
    }
    let p = lab.cores();
    let ceilings = lab
        .ceilings()
        .ok_or("the FMA peaks could not be measured")?;
    let (one, all) = (
        ceilings.flops.per_core_gflops,
        ceilings.flops.all_cores_gflops,
    );
    let ceiling = p as f64 * (all / (ceilings.flops.all_cores.max(1) as f64 * one));
    let expect = parallelism_expect(ceiling, tol, btol);
    if ceiling * (1.0 + btol) <= 1.0 + tol {
        return Ok(ClaimResult::not_testable(
            c,
            expect,
            format!(
                "the FMA loop itself gained only {}x from {p} cores in this run (other programs took them), so no speedup could both exceed 1 + {} and stay within the ceiling: the cores this run had cannot test the claim",
                fmt_num(ceiling), fmt_num(tol)
            ),
        ));
    }
    let n = lab.pick(512, 1024);
    let spec = WorkloadSpec::new("matmul", n, 3);
    let (mut seq, mut par) = (Vec::new(), Vec::new());
    for _ in 0..lab.reps() {
        let rows = one_rep(
            &spec,
            &[Strategy::Sequential, Strategy::MultiThreaded],
            &[p],
            lab.switch_ns(),
        )?;
        seq.push(row(&rows, Strategy::Sequential, 1).median_s);
        par.push(row(&rows, Strategy::MultiThreaded, p).median_s);
    }
    // The figure is the median of the paired speedups (both sides measured in each
    // repetition); every sentence and figure below uses that one number.
    let figure = Figure::paired(&seq, &par);
    let speedup = figure.value;
    let prediction = format!(
        "matmul n = {n}, multi-threaded on P = {p} cores vs the sequential twin: a speedup above 1 + margin = {} (the cores helped) and at most the FMA ceiling P x (all-core / (P x one-core peak)) = {p} x ({} / ({} x {})) = {} x (1 + margin) = {} (a bound: no compute-bound split can beat the FMA loop's own scaling)",
        fmt_num(1.0 + tol), fmt_num(all), ceilings.flops.all_cores, fmt_num(one), fmt_num(ceiling), fmt_num(ceiling * (1.0 + btol))
    );
    let figs = figures(vec![
        ("cores", json!(p)),
        ("n", json!(n)),
        ("speedup", json!(speedup)),
        ("fma_ceiling", json!(ceiling)),
        ("share_of_ceiling", json!(speedup / ceiling)),
        ("one_core_peak_gflops", json!(one)),
        ("all_core_peak_gflops", json!(all)),
        ("margin", json!(tol)),
    ]);
    Ok(ClaimResult::judge(
        c,
        prediction,
        figure,
        expect,
        figs,
        |m, v| {
            format!(
                "A {n}x{n} matrix multiply on {p} cores ran {}x faster than the sequential twin (median of the paired speedups); the FMA loop measured in this run scales {}x from one core to {p}, a bound the speedup reached {} of (how close matmul comes to it is a property of matmul's memory traffic, not of the claim). {}",
                fmt_num(m), fmt_num(ceiling), fmt_num(m / ceiling),
                conclude(v, "The parts ran at the same time on distinct cores and finished sooner, within what the cores allow.", "The speedup is not between no gain and the cores' ceiling.")
            )
        },
    ))
}

/// parallelism-needs-cores: a gain (above 1 + `effect`) that does not exceed the FMA ceiling, a
/// bound, by more than `bound`.
pub(crate) fn parallelism_expect(ceiling: f64, effect: f64, bound: f64) -> Expect {
    Expect::Between([1.0 + effect, (ceiling * (1.0 + bound)).max(1.0 + effect)])
}

fn mergesort_scaling(c: &Claim, lab: &Lab) -> Result<ClaimResult, String> {
    let tol = c.margin(0);
    let expect = Expect::AtMost(1.0 + tol);
    if let Some(r) = not_on_one_core(c, lab, expect.clone()) {
        return Ok(r);
    }
    let p = lab.cores();
    let ceilings = lab
        .ceilings()
        .ok_or("the copy bandwidth could not be measured")?;
    let bw = ceilings
        .bandwidth(p)
        .ok_or("no copy bandwidth on all cores")?
        * 1e9;
    let llc = crate::sys::largest_cache_bytes().unwrap_or(32 << 20);
    let n = lab.pick(2_000_000, 4_000_000);
    let bytes = mergesort_bytes(n, llc);
    let spec = WorkloadSpec::new("mergesort", n, 8);
    let (mut speed, mut bound_share) = (Vec::new(), Vec::new());
    let (mut bounds, mut memory_bounds) = (Vec::new(), Vec::new());
    for _ in 0..lab.reps() {
        let rows = one_rep(
            &spec,
            &[Strategy::Sequential, Strategy::MultiThreaded],
            &[p],
            lab.switch_ns(),
        )?;
        let t1 = row(&rows, Strategy::Sequential, 1).median_s;
        let s = t1 / row(&rows, Strategy::MultiThreaded, p).median_s;
        let b = roofline(p, t1, bw, bytes);
        speed.push(s);
        bounds.push(b);
        memory_bounds.push(t1 * bw / bytes);
        bound_share.push(s / b);
    }
    // Which roof is the lower one: the cores' (P) or the memory traffic's (T1 x B_P / bytes).
    // Where the cores' is, the run tests only that roof, and the text says so.
    let memory_bound = median(&memory_bounds);
    let memory_binds = memory_bound < p as f64;
    let prediction = format!(
        "mergesort of {n} keys on P = {p} cores: speedup / min(P, T1 x B_P / bytes) <= 1 + margin = {}, with B_P = {} GB/s and bytes = {} MB counted",
        fmt_num(1.0 + tol), fmt_num(bw / 1e9), fmt_num(bytes / 1e6)
    );
    let figs = figures(vec![
        ("cores", json!(p)),
        ("keys", json!(n)),
        ("speedup", json!(median(&speed))),
        ("roofline_bound", json!(median(&bounds))),
        ("memory_bound", json!(memory_bound)),
        (
            "binding_roof",
            json!(if memory_binds { "memory" } else { "cores" }),
        ),
        ("bytes_moved", json!(bytes)),
        ("copy_gb_s_all_cores", json!(bw / 1e9)),
        ("llc_bytes_assumed", json!(llc)),
        ("margin", json!(tol)),
    ]);
    let roofs = if memory_binds {
        format!(
            "The memory roof ({}x) is the lower one here, so the run tests the traffic count.",
            fmt_num(memory_bound)
        )
    } else {
        format!(
            "The memory roof ({}x: the sequential sort takes that many times as long as its counted traffic would at {p} cores' copy bandwidth) is above the cores' ({p}x).",
            fmt_num(memory_bound)
        )
    };
    let judged = ClaimResult::judge(
        c,
        prediction,
        Figure::median(&bound_share),
        expect,
        figs,
        |m, v| {
            format!(
                "Sorting {n} keys on {p} cores gave a speedup of {}x; the roofline bound from the sequential time, the {}-core copy bandwidth and {} MB of counted traffic was {}x, so the sort reached {} of it. {roofs} {}",
                fmt_num(median(&speed)), p, fmt_num(bytes / 1e6), fmt_num(median(&bounds)), fmt_num(m),
                if memory_binds {
                    conclude(v, "The speedup stayed under the roofline.", "The speedup went past the bound: the counted bytes overstate what this sort moves through memory (a hypothesis this run did not test further).")
                } else {
                    String::new()
                }
            )
        },
    );
    // Under the cores' roof alone the figure can fail only on a disturbed baseline: what the
    // claim adds to "P cores give at most P" (the traffic) is then not tested on this machine.
    Ok(if !memory_binds {
        judged.untestable_by_design(&format!(
            "the memory roof ({}x) is above the cores' ({p}x) on this machine, so the traffic count, which is what the claim adds to 'P cores give at most P', cannot bind; a machine with more cores per unit of bandwidth tests it",
            fmt_num(memory_bound)
        ))
    } else {
        judged
    })
}

fn amdahl(c: &Claim, lab: &Lab) -> Result<ClaimResult, String> {
    let tol = c.margin(0);
    let expect = Expect::Between([1.0 - tol, 1.0 + tol]);
    if let Some(r) = not_on_one_core(c, lab, expect.clone()) {
        return Ok(r);
    }
    let cpus = Topology::get().core_cpus();
    let p = cpus.len();
    let fractions = SERIAL_FRACTIONS;
    let total = units_for(lab.pick(0.04, 0.1));
    let mut speedups: Vec<Vec<f64>> = vec![Vec::new(); fractions.len()];
    let run = |f: f64, workers: &[usize]| -> Result<f64, String> {
        let serial = (f * total as f64) as u64;
        let per = (total - serial) / workers.len() as u64;
        let t = std::time::Instant::now();
        run_pinned(&workers[..1], |_| spin(serial))?;
        run_pinned(workers, |_| spin(per))?;
        Ok(t.elapsed().as_secs_f64())
    };
    for _ in 0..lab.reps() {
        for (k, &f) in fractions.iter().enumerate() {
            let t1 = run(f, &cpus[..1])?;
            let tp = run(f, &cpus)?;
            speedups[k].push(t1 / tp);
        }
    }
    // Spin work on P cores cannot run more than P times faster: a repetition past that (with the
    // bound margin) had its one-core run slowed by something else.
    let cap = p as f64 * (1.0 + crate::lab::BOUND_MARGIN.rel);
    let mut pts = Vec::new();
    let mut rows = Vec::new();
    for (&f, s) in fractions.iter().zip(&speedups) {
        let ratios: Vec<f64> = s.iter().map(|&x| x / amdahl_speedup(f, p)).collect();
        let (kept, flagged) = crate::lab::possible_reps(&ratios, s, cap);
        if let Some(why) = crate::lab::too_disturbed(&format!("f = {f}"), kept.len(), s.len()) {
            return Ok(ClaimResult::not_testable(c, expect, why));
        }
        let pt = Point {
            figure: Figure::median(&kept),
            expect: expect.clone(),
        };
        let fit: Vec<f64> = kept
            .iter()
            .map(|&r| karp_flatt(r * amdahl_speedup(f, p), p))
            .collect();
        rows.push(json!({
            "designed_f": f,
            "speedup": median(s),
            "amdahl": amdahl_speedup(f, p),
            "of_amdahl": pt.figure.value,
            "of_amdahl_interval": pt.figure.spread(),
            "verdict": pt.verdict().name(),
            "impossible_reps_flagged": flagged,
            "fitted_f": median(&fit),
            "fitted_f_interval": crate::measure::stats::median_interval(&fit).map(|i| i.ends()),
        }));
        pts.push(pt);
    }
    let decide = deciding_point(&pts).expect("four fractions");
    let text = rows
        .iter()
        .map(|r| {
            format!(
                "f = {}: {}x (Amdahl {}x, fitted f {}, {}{})",
                r["designed_f"],
                fmt_num(r["speedup"].as_f64().unwrap_or(0.0)),
                fmt_num(r["amdahl"].as_f64().unwrap_or(0.0)),
                fmt_num(r["fitted_f"].as_f64().unwrap_or(0.0)),
                r["verdict"].as_str().unwrap_or("-"),
                match r["impossible_reps_flagged"].as_u64() {
                    Some(0) | None => String::new(),
                    Some(n) => format!("; {n} repetitions above {p} cores' reach flagged"),
                }
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let prediction = format!(
        "spin work with designed serial fraction f in {fractions:?} on P = {p} cores: every speedup within {} of 1 / (f + (1 - f)/P), each f judged on its own interval (repetitions above {} x flagged and left out); the deciding point is f = {}",
        fmt_num(tol), fmt_num(cap), fractions[decide]
    );
    let figs = figures(vec![
        ("cores", json!(p)),
        ("points", json!(rows)),
        ("deciding_f", json!(fractions[decide])),
        ("impossible_cap", json!(cap)),
        ("margin", json!(tol)),
    ]);
    Ok(ClaimResult::judge_point(
        c,
        prediction,
        &pts[decide],
        figs,
        |m, v| {
            format!(
                "{text}. The deciding point, f = {}, reached {} of Amdahl's prediction. {}",
                fractions[decide], fmt_num(m),
                conclude(v, "The serial fraction limited the speedup as Amdahl's law says, and the fitted fractions recover the designed ones.", "The speedups depart from Amdahl's law at the point named.")
            )
        },
    ))
}

fn gustafson(c: &Claim, lab: &Lab) -> Result<ClaimResult, String> {
    let tol = c.margin(0);
    let expect = Expect::Between([1.0 - tol, 1.0 + tol]);
    if let Some(r) = not_on_one_core(c, lab, expect.clone()) {
        return Ok(r);
    }
    let cpus = Topology::get().core_cpus();
    let p = cpus.len();
    let fractions = SERIAL_FRACTIONS;
    // W: amdahl's total work divided by P, so the scaled problem is about amdahl's size.
    let w = units_for(lab.pick(0.04, 0.1)) / p as u64;
    let mut speedups: Vec<Vec<f64>> = vec![Vec::new(); fractions.len()];
    // The scaled problem: f W on one thread, then (1 - f) W on each of P workers placed on
    // `workers` (all on one CPU for the one-thread time: the same work one after another).
    let run = |f: f64, workers: &[usize]| -> Result<f64, String> {
        let serial = (f * w as f64) as u64;
        let per = w - serial;
        let t = std::time::Instant::now();
        run_pinned(&workers[..1], |_| spin(serial))?;
        if workers.len() == 1 {
            run_pinned(workers, |_| spin(per * p as u64))?;
        } else {
            run_pinned(workers, |_| spin(per))?;
        }
        Ok(t.elapsed().as_secs_f64())
    };
    for _ in 0..lab.reps() {
        for (k, &f) in fractions.iter().enumerate() {
            let t1 = run(f, &cpus[..1])?;
            let tp = run(f, &cpus)?;
            speedups[k].push(t1 / tp);
        }
    }
    let cap = p as f64 * (1.0 + crate::lab::BOUND_MARGIN.rel);
    let mut pts = Vec::new();
    let mut rows = Vec::new();
    for (&f, s) in fractions.iter().zip(&speedups) {
        let ratios: Vec<f64> = s.iter().map(|&x| x / gustafson_speedup(f, p)).collect();
        let (kept, flagged) = crate::lab::possible_reps(&ratios, s, cap);
        if let Some(why) = crate::lab::too_disturbed(&format!("f = {f}"), kept.len(), s.len()) {
            return Ok(ClaimResult::not_testable(c, expect, why));
        }
        let pt = Point {
            figure: Figure::median(&kept),
            expect: expect.clone(),
        };
        rows.push(json!({
            "designed_f": f,
            "scaled_speedup": median(s),
            "gustafson": gustafson_speedup(f, p),
            "amdahl_same_f": amdahl_speedup(f, p),
            "of_gustafson": pt.figure.value,
            "of_gustafson_interval": pt.figure.spread(),
            "verdict": pt.verdict().name(),
            "impossible_reps_flagged": flagged,
        }));
        pts.push(pt);
    }
    let decide = deciding_point(&pts).expect("four fractions");
    let text = rows
        .iter()
        .map(|r| {
            format!(
                "f = {}: {}x (Gustafson {}x, Amdahl {}x, {}{})",
                r["designed_f"],
                fmt_num(r["scaled_speedup"].as_f64().unwrap_or(0.0)),
                fmt_num(r["gustafson"].as_f64().unwrap_or(0.0)),
                fmt_num(r["amdahl_same_f"].as_f64().unwrap_or(0.0)),
                r["verdict"].as_str().unwrap_or("-"),
                match r["impossible_reps_flagged"].as_u64() {
                    Some(0) | None => String::new(),
                    Some(n) => format!("; {n} repetitions above {p} cores' reach flagged"),
                }
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let prediction = format!(
        "spin work with serial fraction f in {fractions:?} of the time on P = {p} cores, the parallel work growing with P: every scaled speedup within {} of f + (1 - f) P, each f judged on its own interval (repetitions above {} x flagged and left out); the deciding point is f = {}",
        fmt_num(tol), fmt_num(cap), fractions[decide]
    );
    let figs = figures(vec![
        ("cores", json!(p)),
        ("points", json!(rows)),
        ("deciding_f", json!(fractions[decide])),
        ("impossible_cap", json!(cap)),
        ("margin", json!(tol)),
    ]);
    Ok(ClaimResult::judge_point(
        c,
        prediction,
        &pts[decide],
        figs,
        |m, v| {
            format!(
                "{text}. The deciding point, f = {}, reached {} of Gustafson's prediction. {}",
                fractions[decide], fmt_num(m),
                conclude(v, "With the parallel work growing with the cores, the same serial fractions cost far less than Amdahl's fixed-size law says: the scaled speedup is f + (1 - f) P.", "The scaled speedups depart from Gustafson's law at the point named.")
            )
        },
    ))
}

fn parallel_start_finish(c: &Claim, lab: &Lab) -> Result<ClaimResult, String> {
    let tol = c.margin(0);
    let expect = Expect::Between([0.5 * (1.0 - tol), 0.5 * (1.0 + tol)]);
    if let Some(r) = not_on_one_core(c, lab, expect.clone()) {
        return Ok(r);
    }
    let cpus = Topology::get().core_cpus();
    let two = [cpus[0], cpus[1]];
    let unit = units_for(lab.pick(0.02, 0.05));
    let (mut shares, mut idle, mut equal_gap) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..lab.reps() {
        let (spans, _) = run_pinned(&two, |i| spin(unit * (i as u64 + 1)))?;
        let start = spans.iter().map(|s| s.start_ns).min().unwrap_or(0);
        let (a, b) = (
            (spans[0].end_ns - start) as f64,
            (spans[1].end_ns - start) as f64,
        );
        shares.push(a / b);
        idle.push((b - a) / (2.0 * b));
        let (spans, _) = run_pinned(&two, |_| spin(unit))?;
        let ends: Vec<f64> = spans
            .iter()
            .map(|s| (s.end_ns - s.start_ns) as f64)
            .collect();
        equal_gap.push((ends[0] - ends[1]).abs() / ends[0].max(ends[1]));
    }
    let noise = lab.noise_floor();
    let gap = median(&equal_gap);
    let gap_limit = finish_gap_limit(noise);
    let prediction = format!(
        "two parts of spin work 1 : 2 on two cores: the short one finishes at 0.5 of the long one's time, within the margin {} (idle share of the stage predicted 0.25)",
        fmt_num(tol)
    );
    let figs = figures(vec![
        ("idle_share_median", json!(median(&idle))),
        ("idle_share_predicted", json!(0.25)),
        ("equal_parts_finish_gap_share", json!(gap)),
        ("noise_floor", json!(noise)),
        ("equal_parts_gap_limit", json!(gap_limit)),
        ("margin", json!(tol)),
    ]);
    Ok(ClaimResult::judge(
        c,
        prediction,
        Figure::median(&shares),
        expect,
        figs,
        |m, v| {
            format!(
                "With work 1 : 2 the short part finished at {} of the long part's time and its core idled for {} of the stage (predicted 0.5 and 0.25). Equal parts finished {}% apart; the noise floor is {}%, and a gap counts as beyond it past {}% ({GAP_RULE}): {} {}",
                fmt_num(m), fmt_num(median(&idle)), fmt_num(gap * 100.0), fmt_num(noise * 100.0), fmt_num(gap_limit * 100.0),
                if gap > gap_limit { "a gap beyond the noise floor is interference from other work on the machine, not the parts' own work." } else { "within the noise." },
                conclude(v, "Each part finished when its own work was done; the combine waits for the last.", "The parts did not finish when their work predicts.")
            )
        },
    ))
}

/// How parallel-start-finish's limit on the equal parts' finish gap is set, in words.
const GAP_RULE: &str = "2 x max(noise floor, 1%): each part's time varies by up to the noise floor, so the difference of two can reach twice it by noise alone; the floor is taken as at least 1% because it was probed on one core and the parts run on two";

/// The finish gap of two equal parts beyond which it is more than noise (`GAP_RULE`).
pub(crate) fn finish_gap_limit(noise_floor: f64) -> f64 {
    2.0 * noise_floor.max(0.01)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::verdict_at;
    use super::*;
    use crate::lab::Verdict;

    #[test]
    fn amdahl_and_karp_flatt_agree() {
        for f in [0.0, 0.1, 0.25, 0.5] {
            let s = amdahl_speedup(f, 2);
            assert!((karp_flatt(s, 2) - f).abs() < 1e-12);
        }
        assert!((amdahl_speedup(0.5, 2) - 4.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn amdahls_margin_is_half_the_smallest_step_of_the_design() {
        let half_step = |p: usize| {
            SERIAL_FRACTIONS
                .windows(2)
                .map(|w| amdahl_speedup(w[0], p) / amdahl_speedup(w[1], p) - 1.0)
                .fold(f64::INFINITY, f64::min)
                / 2.0
        };
        assert!((half_step(2) - AMDAHL_MARGIN.rel).abs() < 1e-9);
        for p in 3..=64 {
            assert!(half_step(p) >= AMDAHL_MARGIN.rel, "P = {p}");
        }
    }

    #[test]
    fn gustafsons_margin_is_half_the_smallest_step_and_its_law_differs_from_amdahls() {
        let half_step = |p: usize| {
            SERIAL_FRACTIONS
                .windows(2)
                .map(|w| gustafson_speedup(w[0], p) / gustafson_speedup(w[1], p) - 1.0)
                .fold(f64::INFINITY, f64::min)
                / 2.0
        };
        assert!((half_step(2) - GUSTAFSON_MARGIN.rel).abs() < 1e-9);
        for p in 3..=64 {
            assert!(half_step(p) >= GUSTAFSON_MARGIN.rel, "P = {p}");
        }
        assert_eq!(gustafson_speedup(0.5, 2), 1.5);
        assert_eq!(gustafson_speedup(0.0, 7), 7.0);
        // Run at fixed size, f = 0.5 on 2 cores gives Amdahl's 4/3: that refutes Gustafson.
        let e = Expect::Between([1.0 - GUSTAFSON_MARGIN.rel, 1.0 + GUSTAFSON_MARGIN.rel]);
        assert_eq!(verdict_at(1.0, &e), Verdict::Supported);
        assert_eq!(
            verdict_at(amdahl_speedup(0.5, 2) / gustafson_speedup(0.5, 2), &e),
            Verdict::NotSupported
        );
        assert_eq!(
            verdict_at(gustafson_speedup(0.1, 2) / gustafson_speedup(0.0, 2), &e),
            Verdict::NotSupported,
            "the neighbouring fraction's speedup"
        );
    }

    #[test]
    fn the_finish_gap_limit_is_the_one_printed() {
        // The committed run: 1.15% apart with a floor of 0.394% is within the 2% limit.
        assert_eq!(finish_gap_limit(0.00394), 0.02);
        assert!(0.0115 < finish_gap_limit(0.00394));
        assert_eq!(finish_gap_limit(0.03), 0.06);
        assert!(GAP_RULE.starts_with("2 x max(noise floor, 1%)"));
    }

    #[test]
    fn the_roofline_is_the_smaller_bound() {
        assert_eq!(roofline(2, 1.0, 1e9, 1e8), 2.0);
        assert!((roofline(4, 0.1, 1e9, 1e8) - 1.0).abs() < 1e-12);
        assert!(mergesort_bytes(4_000_000, 32 << 20) >= 16.0 * 4e6);
    }

    #[test]
    fn each_verdict_can_go_both_ways() {
        let tol = 0.05;
        // Below the FMA ceiling is not a miss; no gain, or beating the ceiling, is.
        let ceiling = parallelism_expect(2.0, 0.1, tol);
        assert_eq!(verdict_at(1.68, &ceiling), Verdict::Supported);
        assert_eq!(verdict_at(1.0, &ceiling), Verdict::NotSupported);
        assert_eq!(verdict_at(2.5, &ceiling), Verdict::NotSupported);
        let roof = Expect::AtMost(1.0 + tol);
        assert_eq!(verdict_at(0.7, &roof), Verdict::Supported);
        assert_eq!(verdict_at(1.4, &roof), Verdict::NotSupported);
        let amdahl = Expect::Between([1.0 - tol, 1.0 + tol]);
        assert_eq!(verdict_at(1.0, &amdahl), Verdict::Supported);
        // A serial fraction of 0.5 run as if it were 0: 2x instead of 4/3.
        assert_eq!(
            verdict_at(2.0 / amdahl_speedup(0.5, 2), &amdahl),
            Verdict::NotSupported
        );
        let parts = Expect::Between([0.5 * (1.0 - tol), 0.5 * (1.0 + tol)]);
        assert_eq!(verdict_at(0.5, &parts), Verdict::Supported);
        assert_eq!(
            verdict_at(1.0, &parts),
            Verdict::NotSupported,
            "parts finished together"
        );
    }
}
