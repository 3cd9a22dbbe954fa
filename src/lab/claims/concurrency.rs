//! Concurrency on one core: waiting work gains from threads, CPU work does not, and the
//! min(T, P/s) law in between.
//!
//! The io workload's tasks each last `d`: a CPU share `s` of it is CPU work (budgeted in thread
//! CPU time) and the rest a blocking sleep. With N tasks on T threads and P' cores the model's
//! time is `max(N·s·d / P' + (1 − s)·d, ceil(N / T)·d)`: either the cores are busy with all the
//! CPU work (and the last task still waits), or each thread runs its tasks one after another.
//! Its speedup against N·d is min(T, P'/s) for many tasks. Every repetition measures the
//! sequential twin and each point of the curve side by side.
//!
//! What threads on one core cost besides the work is measured, not assumed: beside each point,
//! in each repetition, its zero-work twin Z(T) runs the same tasks on the same T threads on the
//! same core with no work in them ([`zero_work_twin`]), and carries the threads' starts, pinning
//! and barriers. CPU work on one core is judged against the same split into parts run serially
//! on one thread ([`serial_split_rep`]), so that the split's own speed is on both sides.

use serde_json::json;

use super::{conclude, figures, one_rep, row, serial_split_rep, zero_work_twin};
use crate::lab::{
    deciding_point, fmt_num, possible_reps, too_disturbed, Claim, ClaimResult, Expect, Figure,
    Kind, Lab, Negation, Point, Verdict,
};
use crate::strategy::Strategy;
use crate::workload::WorkloadSpec;

/// Waiting tasks on one core.
pub(crate) const ONE_CORE_CONCURRENCY: Claim = Claim {
    id: "one-core-concurrency",
    kind: Kind::Claim,
    statement: "I/O-bound tasks finish sooner with more threads, even on a single core: while one thread waits, another runs.",
    model: "N pure waits of d (s = 0) on T threads pinned to one core: each thread waits ceil(N/T) times, one after another, so the waits take ceil(N/T) d; to that the one core adds what the same run costs with no work, Z(T) (its zero-work twin: the same N tasks on the same T threads on the same core, each wait of length 0, measured beside each point in each repetition; it carries the threads' starts, pinning and barriers), and one queue of wake-ups (T x c_switch: T waits that end together are served one after another): S(T) = T_seq / (ceil(N/T) d + Z(T) + T c_switch), d = T_seq / N achieved in the same repetition, c_switch measured in this run. The range: T from 2 up to 256 (full; 64 quick), where the zero-work and wake-up terms reach a large share of the time and the curve bends below T",
    refuted_by: "at some thread count T the measured speedup lies farther than the margin from the model's S(T), either side (waits that serialise: speedup near 1; a bend the zero-work twin and the wake-ups do not explain); each point is judged on its own interval and the worst point decides",
    unit: "x of the model (deciding point)",
    margins: &[crate::lab::VALUE_MARGIN],
    run: one_core_concurrency,
};

/// CPU work on one core.
pub(crate) const CPU_BOUND_ON_ONE_CORE: Claim = Claim {
    id: "cpu-bound-on-one-core",
    kind: Kind::Claim,
    statement: "CPU-bound work gains nothing from more threads on one core: the threads only take turns.",
    model: "a fixed amount of work (a matrix multiply split into T = 4 row blocks) on T threads pinned to one core, against the same split run serially on one thread pinned to that core (the split's own speed, which is not the unsplit multiply's, on both sides): the threads add the involuntary switches beyond those of the serial split, and what the same run costs with no work, Z(T) (its zero-work twin: T empty parts on the same T threads on the same core, measured in each repetition; it carries the threads' starts, pinning and barriers, as in one-core-concurrency): S = T_split / (T_split + n_beyond x c_switch + Z(T)), n_beyond counted and c_switch measured in this run. Where the band S x (1 +- margin) holds 1 (the threads' modelled costs are smaller than the margin, so no figure could tell them from no cost at all) the model is not testable by design: the switches cost microseconds against slices of milliseconds and Z(T) is a fixed cost, so only work shorter than about 10 x Z(T), which the threads finish within one slice without taking turns, would lift the terms above the margin, and that would test the threads' starts, not CPU work taking turns. The statement alone, judged in any case: the speedup over the serial split <= 1 + the effect margin",
    refuted_by: "the speedup lands outside the model's S x (1 +- margin), judged two-sided: faster than the model (the threads gained from something) or slower (a cost the model leaves out). The statement alone is refuted by a speedup over the serial split above 1 + margin (CPU work gained from threads on one core)",
    unit: "x speedup",
    margins: &[crate::lab::VALUE_MARGIN, crate::lab::EFFECT_MARGIN],
    run: cpu_bound_on_one_core,
};

/// The crossover curve.
pub(crate) const IO_CPU_CROSSOVER: Claim = Claim {
    id: "io-cpu-crossover",
    kind: Kind::Claim,
    statement: "I/O-bound work gains from concurrency, CPU-bound work only from parallelism: as the CPU share of each task grows, threads on one core stop helping and only more cores do.",
    model: "N tasks of d ms with CPU share s on T threads and P' cores take at least max(N s d / P' + (1 - s) d, ceil(N/T) d), the time of an ideal global scheduler: the min(T, P'/s) law with the last task's wait. On one core (P' = 1) that is the value, plus what the same run costs with no work, Z(T) (its zero-work twin: the same tasks on the same T threads on the same core, each of length 0, measured beside each point in each repetition: the threads' starts, pinning and barriers); spread over P' = min(P, T) cores it is a bound the speedup may stay below (threads keep their tasks, no scheduler is ideal). d is the task length the sequential twin achieved in the same repetition",
    refuted_by: "at some CPU share a one-core speedup lands farther than the margin from its model's value, or a spread speedup exceeds its bound by more than the margin; each point is judged on its own interval and the claim takes the worst point's verdict; a repetition faster than the waits or the cores allow (N / ceil(N/T), P'/s, with the bound margin) is flagged as disturbed and left out of its point (a point left with fewer than two makes the run not-testable). A spread point is judged only where its bound lies below that most the waits and the cores allow, decided from N, T, s and P' before the run: where the bound is that most (all waits overlapped at s = 0, all cores busy at s = 1), the cut leaves no repetition that could exceed it, so such a point cannot fail and is reported, not judged; every one-core point is judged (it can fail below its band whatever the cut)",
    unit: "x of the model (deciding point)",
    margins: &[crate::lab::VALUE_MARGIN, crate::lab::BOUND_MARGIN],
    run: io_cpu_crossover,
};

/// The most speedup an undisturbed repetition of io-cpu-crossover can show: N / ceil(N/T) from
/// the waits, P'/s from the CPU work (its CPU time is fixed). Repetitions above it (with the
/// bound margin) are cut as disturbed.
pub(crate) fn possible_speedup(tasks: usize, threads: usize, s: f64, cores: usize) -> f64 {
    let waits = tasks as f64 / tasks.div_ceil(threads.max(1)) as f64;
    let cpu = if s > 0.0 {
        cores as f64 / s
    } else {
        f64::INFINITY
    };
    waits.min(cpu)
}

/// Whether a spread point's bound can fail: whether its speedup bound N d / model time (which
/// does not depend on d) lies below [`possible_speedup`]. Where it does not, the cut of
/// impossible repetitions (at the possible speedup x (1 + bound margin)) keeps only figures at
/// most 1 + the bound margin of the bound, so the bound cannot be exceeded: such a point is
/// reported, not judged. Decided from the design (N, T, s, P'), before any repetition.
pub(crate) fn bound_can_fail(tasks: usize, threads: usize, s: f64, cores: usize) -> bool {
    let bound = tasks as f64 / io_model_time(tasks, 1.0, s, threads, cores);
    possible_speedup(tasks, threads, s, cores) > bound * (1.0 + 1e-9)
}

/// The model's time for `tasks` tasks of `d` seconds with CPU share `s` on `threads` threads
/// and `cores` cores.
pub(crate) fn io_model_time(tasks: usize, d: f64, s: f64, threads: usize, cores: usize) -> f64 {
    let rounds = tasks.div_ceil(threads.max(1)) as f64;
    let cpu_bound = tasks as f64 * s * d / cores.max(1) as f64 + (1.0 - s) * d;
    cpu_bound.max(rounds * d)
}

/// The model's time of `tasks` waits of `d` s on `threads` threads pinned to one core: the waits
/// of one thread back to back, the zero-work twin's time `zero_s` (the same run with waits of
/// length 0), and one queue of wake-ups.
pub(crate) fn one_core_model_time(
    tasks: usize,
    d: f64,
    threads: usize,
    zero_s: f64,
    switch_s: f64,
) -> f64 {
    let t = threads.max(1);
    tasks.div_ceil(t) as f64 * d + zero_s + t as f64 * switch_s
}

fn one_core_concurrency(c: &Claim, lab: &Lab) -> Result<ClaimResult, String> {
    let (tasks, wait_ms) = lab.pick((64, 5.0), (256, 5.0));
    let threads: Vec<usize> = lab.pick(vec![2, 4, 8, 16, 64], vec![2, 4, 8, 16, 64, 256]);
    let spec = WorkloadSpec::new("io", tasks, 1).with("wait_ms", wait_ms);
    let switch_s = lab.switch_ns().unwrap_or(0.0) / 1e9;
    let tol = c.margin(0);
    let mut of_model: Vec<Vec<f64>> = vec![Vec::new(); threads.len()];
    let mut curve: Vec<Vec<f64>> = vec![Vec::new(); threads.len()];
    let mut zeros: Vec<Vec<f64>> = vec![Vec::new(); threads.len()];
    let mut models: Vec<Vec<f64>> = vec![Vec::new(); threads.len()];
    let mut seqs = Vec::new();
    for _ in 0..lab.reps() {
        let rows = one_rep(
            &spec,
            &[Strategy::Sequential, Strategy::SingleCoreThreaded],
            &threads,
            lab.switch_ns(),
        )?;
        // Beside the real points: the same run at each T with waits of length 0.
        let zero = zero_work_twin(
            &spec,
            Strategy::SingleCoreThreaded,
            &threads,
            lab.switch_ns(),
        )?;
        let seq = row(&rows, Strategy::Sequential, 1).median_s;
        seqs.push(seq);
        let d = seq / tasks as f64;
        for (k, &t) in threads.iter().enumerate() {
            let par = row(&rows, Strategy::SingleCoreThreaded, t).median_s;
            curve[k].push(seq / par);
            zeros[k].push(zero[k]);
            let model_time = one_core_model_time(tasks, d, t, zero[k], switch_s);
            models[k].push(seq / model_time);
            of_model[k].push(model_time / par);
        }
    }
    let med = crate::measure::stats::median;
    let seq = med(&seqs);
    let expect = Expect::Between([1.0 - tol, 1.0 + tol]);
    let pts: Vec<Point> = of_model
        .iter()
        .map(|r| Point {
            figure: Figure::median(r),
            expect: expect.clone(),
        })
        .collect();
    let decide = deciding_point(&pts).expect("at least one thread count");
    let points: Vec<_> = threads
        .iter()
        .zip(&curve)
        .zip(&pts)
        .zip(&zeros)
        .zip(&models)
        .map(|((((&t, s), p), z), m)| {
            json!({
                "threads": t,
                "speedup": med(s),
                "zero_work_twin_s": med(z),
                "model": med(m),
                "of_model": p.figure.value,
                "of_model_interval": p.figure.spread(),
                "verdict": p.verdict().name(),
            })
        })
        .collect();
    let prediction = format!(
        "io, {tasks} waits of {wait_ms} ms, T = {threads:?} threads pinned to one core: every point within {} of S(T) = T_seq / (ceil(N/T) d + Z(T) + T x {} us wake-up), Z(T) the same run with waits of length 0 measured beside it in each repetition; the deciding point is T = {}",
        fmt_num(tol), fmt_num(switch_s * 1e6), threads[decide]
    );
    let figs = figures(vec![
        ("tasks", json!(tasks)),
        ("wait_ms", json!(wait_ms)),
        ("sequential_s", json!(seq)),
        ("switch_us", json!(switch_s * 1e6)),
        ("deciding_threads", json!(threads[decide])),
        ("margin", json!(tol)),
        ("curve", json!(points)),
    ]);
    let text = points
        .iter()
        .map(|p| {
            format!(
                "{} threads {}x (model {}x with a zero-work twin of {} ms, {})",
                p["threads"],
                fmt_num(p["speedup"].as_f64().unwrap_or(0.0)),
                fmt_num(p["model"].as_f64().unwrap_or(0.0)),
                fmt_num(p["zero_work_twin_s"].as_f64().unwrap_or(0.0) * 1e3),
                p["verdict"].as_str().unwrap_or("-")
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    Ok(ClaimResult::judge_point(
        c,
        prediction,
        &pts[decide],
        // Under the negation the waits do not overlap: a speedup of 1 at every T, judged where the
        // model's speedup is largest (every point has the same band).
        Negation::new(
            1.0 / models.iter().map(|m| med(m)).fold(1.0, f64::max),
            "threads on one core do not overlap their waits (a speedup of 1 at every T)",
        ),
        figs,
        |m, v| {
            format!(
                "{tasks} waits of {wait_ms} ms took {} s one after another. On one core: {text}. The deciding point, {} threads, reached {} of the model (the median of the repetitions' ratios, which the medians of speedup and model above need not give). {}",
                fmt_num(seq), threads[decide], fmt_num(m),
                conclude(v, "Waiting threads overlapped their waits on one core as the model predicts, up to where the zero-work twin's time and the wake-ups bend the curve.", "The threads' waits did not overlap as the model predicts at the point named.")
            )
        },
    )
    // The statement ("finish sooner with more threads") is about the speedup over one thread,
    // not about the overhead model: judged at the fewest threads, against 1 + the margin.
    .with_statement_test(
        &format!("speedup with {} threads on one core", threads[0]),
        Figure::median(&curve[0]),
        Expect::AtLeast(1.0 + tol),
    ))
}

fn cpu_bound_on_one_core(c: &Claim, lab: &Lab) -> Result<ClaimResult, String> {
    let (n, threads) = (lab.pick(384, 512), 4);
    let spec = WorkloadSpec::new("matmul", n, 2);
    let (tol, effect) = (c.margin(0), c.margin(1));
    let sw = lab.switch_ns().unwrap_or(0.0);
    let (mut unsplit, mut split, mut par) = (Vec::new(), Vec::new(), Vec::new());
    let (mut inv_par, mut inv_split, mut beyond, mut zero) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..lab.reps() {
        // The sequential twin (the unsplit multiply) is measured only to report what the split
        // costs by itself: the model and the verdict are against the serial split.
        let rows = one_rep(
            &spec,
            &[Strategy::Sequential, Strategy::SingleCoreThreaded],
            &[threads],
            lab.switch_ns(),
        )?;
        unsplit.push(row(&rows, Strategy::Sequential, 1).median_s);
        let r = row(&rows, Strategy::SingleCoreThreaded, threads);
        par.push(r.median_s);
        let s = serial_split_rep(&spec, threads)?;
        split.push(s.wall_s);
        inv_par.push(r.involuntary_switches as f64);
        inv_split.push(s.involuntary_switches as f64);
        beyond.push(
            r.involuntary_switches
                .saturating_sub(s.involuntary_switches) as f64,
        );
        zero.push(
            zero_work_twin(
                &spec,
                Strategy::SingleCoreThreaded,
                &[threads],
                lab.switch_ns(),
            )?[0],
        );
    }
    let med = crate::measure::stats::median;
    let (split_m, beyond_m, zero_m) = (med(&split), med(&beyond), med(&zero));
    let model = cpu_bound_model(split_m, beyond_m * sw / 1e9, zero_m);
    let expect = Expect::Between([model * (1.0 - tol), model * (1.0 + tol)]);
    // Decided from the prediction before the figure is read (the lab's rule): where the band
    // holds 1, the threads' modelled costs (the switches beyond the serial split, the
    // zero-work twin) are smaller than the margin and no figure could tell the model from "the
    // threads cost nothing". Sizing the work down until Z(T) exceeds the margin was considered
    // and rejected: the switches (microseconds each, at most one per slice of milliseconds)
    // never reach it at any size, and Z(T) is a fixed cost, so the terms pass the margin only
    // for work under about 10 x Z(T), which 4 threads finish within one slice, never taking
    // turns: that experiment would judge the threads' starts, not the statement's CPU work
    // taking turns. So the model is reported, not judged, and the statement alone decides.
    let negation = Negation::new(
        1.0,
        "the threads cost nothing beyond the serial split",
    )
    .because(&format!(
        "the threads' modelled costs (the switches beyond the serial split and the zero-work twin) come to {}% of the work, less than the margin ({}%), so the predicted band holds 1 (the threads cost nothing) and no figure could tell the model from no cost; the switches never reach the margin at any size and the zero-work twin only for work the threads finish within one slice, without taking turns, so the statement alone decides",
        fmt_num((1.0 / model - 1.0) * 100.0),
        fmt_num(tol * 100.0)
    ));
    let prediction = format!(
        "matmul n = {n} (fixed work) split into {threads} row blocks, {threads} threads pinned to one core vs the same split run serially on one thread on that core: speedup = {} s / ({} s + {} switches beyond the serial split's x {} ns + a zero-work twin of {} ms) = {} within {}; the statement alone: that speedup <= 1 + {} = {}",
        fmt_num(split_m), fmt_num(split_m), fmt_num(beyond_m), fmt_num(sw), fmt_num(zero_m * 1e3), fmt_num(model), fmt_num(tol), fmt_num(effect), fmt_num(1.0 + effect)
    );
    let split_cost: Vec<f64> = split.iter().zip(&unsplit).map(|(s, u)| s / u).collect();
    let figs = figures(vec![
        ("n", json!(n)),
        ("threads", json!(threads)),
        ("serial_split_s", json!(split_m)),
        ("one_core_threaded_s", json!(med(&par))),
        ("unsplit_sequential_s", json!(med(&unsplit))),
        ("serial_split_over_unsplit", json!(med(&split_cost))),
        ("involuntary_switches_threaded", json!(med(&inv_par))),
        ("involuntary_switches_serial_split", json!(med(&inv_split))),
        ("involuntary_switches_beyond_split", json!(beyond_m)),
        ("switch_ns", json!(sw)),
        ("zero_work_twin_s", json!(zero_m)),
        ("model_speedup", json!(model)),
        ("modelled_cost_share", json!(1.0 / model - 1.0)),
        ("margin", json!(tol)),
        ("effect_margin", json!(effect)),
    ]);
    let statement = Figure::paired(&split, &par);
    let r = ClaimResult::judge(
        c,
        prediction,
        Figure::paired(&split, &par),
        expect,
        negation,
        figs,
        |m, v| {
            format!(
                "A {n}x{n} matrix multiply split into {threads} row blocks took {} s with the blocks one after another on one thread ({} s unsplit: the split runs at {}x the unsplit multiply's time) and {} s on {threads} threads sharing one core (speedup over the serial split {}x against the model's {}x; {} involuntary switches per run beyond the serial split's, a zero-work twin of {} ms). {}",
                fmt_num(split_m), fmt_num(med(&unsplit)), fmt_num(med(&split_cost)), fmt_num(med(&par)), fmt_num(m), fmt_num(model), fmt_num(beyond_m), fmt_num(zero_m * 1e3),
                conclude(v, "The threads only took turns: the same split took its own serial time plus the switches and what the threads cost with no work.", cpu_bound_miss(m, model))
            )
        },
    );
    // The statement ("gains nothing") is about the speedup, not about the overhead model: over
    // the same split on one thread, no more than 1 + the effect margin.
    Ok(r.with_statement_test(
        &format!("speedup with {threads} threads on one core over the same split on one thread"),
        statement,
        Expect::AtMost(1.0 + effect),
    ))
}

/// What a not-supported cpu-bound-on-one-core figure says, by its side of the model: below it the
/// threads paid a cost the model leaves out, above it they gained from something it leaves out.
/// Which cost or gain this run did not measure.
pub(crate) fn cpu_bound_miss(measured: f64, model: f64) -> &'static str {
    if measured < model {
        "The threads took longer than the serial split's own time plus the switches beyond it and the zero-work twin's time (a speedup below the model's): they paid a cost the model leaves out; which one (cache refills after each switch, say) this run did not measure."
    } else {
        "The threads finished sooner than the serial split's own time plus the switches beyond it and the zero-work twin's time allows (a speedup above the model's): they gained from something the model leaves out; what, this run did not measure."
    }
}

/// The cpu-bound-on-one-core model: T_split / (T_split + the time of the switches beyond the
/// serial split's + the zero-work twin's time Z(T)).
pub(crate) fn cpu_bound_model(split_s: f64, switches_s: f64, zero_s: f64) -> f64 {
    split_s / (split_s + switches_s + zero_s)
}

fn io_cpu_crossover(c: &Claim, lab: &Lab) -> Result<ClaimResult, String> {
    let p = lab.cores();
    let tol = c.margin(0);
    let value = Expect::Between([1.0 - tol, 1.0 + tol]);
    let btol = c.margin(1);
    let bound = Expect::AtMost(1.0 + btol);
    if p < 2 {
        return Ok(ClaimResult::not_testable(
            c,
            value,
            format!(
                "this process may use {p} physical core: comparing one core with several needs two"
            ),
        ));
    }
    let (tasks, threads) = (16, 8);
    let wait_ms: f64 = lab.pick(6.0, 10.0);
    let shares: Vec<f64> = lab.pick(vec![0.0, 0.5, 1.0], vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    let spread_cores = p.min(threads);
    // Per share: the speedups, and each against its model (one core: the value with the
    // zero-work twin's time; spread: the ideal global scheduler's bound).
    let n = shares.len();
    let (mut one, mut spread) = (vec![Vec::new(); n], vec![Vec::new(); n]);
    let mut zeros = vec![Vec::new(); n];
    let (mut one_r, mut spread_r) = (vec![Vec::new(); n], vec![Vec::new(); n]);
    let mut task_s = Vec::new();
    for _ in 0..lab.reps() {
        for (k, &s) in shares.iter().enumerate() {
            let spec = WorkloadSpec::new("io", tasks, 4)
                .with("wait_ms", wait_ms)
                .with("cpu_share", s);
            let rows = one_rep(
                &spec,
                &[
                    Strategy::Sequential,
                    Strategy::SingleCoreThreaded,
                    Strategy::MultiThreaded,
                ],
                &[threads],
                lab.switch_ns(),
            )?;
            // Beside the one-core point: the same run with tasks of length 0.
            let zero = zero_work_twin(
                &spec,
                Strategy::SingleCoreThreaded,
                &[threads],
                lab.switch_ns(),
            )?[0];
            let seq = row(&rows, Strategy::Sequential, 1).median_s;
            let t1 = row(&rows, Strategy::SingleCoreThreaded, threads).median_s;
            let tp = row(&rows, Strategy::MultiThreaded, threads).median_s;
            // The task length this repetition's sequential twin achieved.
            let d = seq / tasks as f64;
            task_s.push(d);
            zeros[k].push(zero);
            one[k].push(seq / t1);
            spread[k].push(seq / tp);
            one_r[k].push(crossover_one_core_time(tasks, d, s, threads, zero) / t1);
            spread_r[k].push(io_model_time(tasks, d, s, threads, spread_cores) / tp);
        }
    }
    let med = crate::measure::stats::median;
    let d = med(&task_s);
    // The judged points, with their names: every one-core value, and the spread bounds that
    // can fail ([`bound_can_fail`], from the design alone).
    let mut points: Vec<(String, Point)> = Vec::new();
    let mut not_judged = Vec::new();
    let mut curve = Vec::new();
    for (k, &s) in shares.iter().enumerate() {
        // What no undisturbed repetition can pass: the waits allow N / ceil(N/T), the CPU work
        // P'/s (its CPU time is fixed); past either (with the bound margin) the sequential twin
        // was slowed by something else, and the repetition is flagged and left out.
        let cap = |cores: usize| possible_speedup(tasks, threads, s, cores) * (1.0 + btol);
        let judge_spread = bound_can_fail(tasks, threads, s, spread_cores);
        let (one_kept, one_flagged) = possible_reps(&one_r[k], &one[k], cap(1));
        let (spread_kept, spread_flagged) =
            possible_reps(&spread_r[k], &spread[k], cap(spread_cores));
        let reps = one_r[k].len();
        // A point that is not judged cannot make the run not-testable: it is reported from
        // every repetition where the cut leaves too few.
        let spread_shown = if judge_spread || spread_kept.len() >= 2 {
            &spread_kept
        } else {
            &spread_r[k]
        };
        if let Some(why) = too_disturbed(&format!("s = {s}, one core"), one_kept.len(), reps)
            .or_else(|| {
                judge_spread
                    .then(|| too_disturbed(&format!("s = {s}, spread"), spread_kept.len(), reps))
                    .flatten()
            })
        {
            return Ok(ClaimResult::not_testable(c, value, why));
        }
        let (po, ps) = (
            Point {
                figure: Figure::median(&one_kept),
                expect: value.clone(),
            },
            Point {
                figure: Figure::median(spread_shown),
                expect: bound.clone(),
            },
        );
        let base = tasks as f64 * d;
        let one_model = base / crossover_one_core_time(tasks, d, s, threads, med(&zeros[k]));
        let spread_bound = base / io_model_time(tasks, d, s, threads, spread_cores);
        curve.push(json!({
            "cpu_share": s,
            "one_core_speedup": med(&one[k]),
            "zero_work_twin_s": med(&zeros[k]),
            "one_core_model": one_model,
            "one_core_of_model": po.figure.value,
            "one_core_of_model_interval": po.figure.spread(),
            "one_core_verdict": po.verdict().name(),
            "one_core_impossible_reps_flagged": one_flagged,
            // The most a kept repetition can reach, relative to the model: below 1 + margin,
            // this point can fail only below its band.
            "one_core_largest_kept_of_model": cap(1) / one_model,
            "spread_speedup": med(&spread[k]),
            "spread_bound": spread_bound,
            "spread_of_bound": ps.figure.value,
            "spread_of_bound_interval": ps.figure.spread(),
            "spread_judged": judge_spread,
            "spread_verdict": if judge_spread { ps.verdict().name() } else { "not judged" },
            "spread_impossible_reps_flagged": spread_flagged,
            "spread_largest_kept_of_bound": cap(spread_cores) / spread_bound,
        }));
        points.push((format!("s = {s}, one core (value)"), po));
        if judge_spread {
            points.push((format!("s = {s}, spread (bound)"), ps));
        } else {
            not_judged.push(format!("s = {s}"));
        }
    }
    let judged: Vec<Point> = points.iter().map(|(_, p)| p.clone()).collect();
    let mut decide = deciding_point(&judged).expect("at least one share");
    // Where every point holds, the headline is a value point, never a bound: a bound that holds
    // says only that nothing beat the ideal scheduler.
    if judged[decide].verdict() == Verdict::Supported {
        let values: Vec<usize> = (0..points.len())
            .filter(|&i| points[i].0.ends_with("(value)"))
            .collect();
        let value_points: Vec<Point> = values.iter().map(|&i| judged[i].clone()).collect();
        if let Some(i) = deciding_point(&value_points) {
            decide = values[i];
        }
    }
    let (deciding_name, deciding) = points[decide].clone();
    let heaviest = (0..shares.len())
        .max_by(|&a, &b| shares[a].total_cmp(&shares[b]))
        .expect("at least one share");
    let graph: Vec<(f64, f64, f64)> = curve
        .iter()
        .filter_map(|c| {
            Some((
                c["cpu_share"].as_f64()?,
                c["one_core_speedup"].as_f64()?,
                c["spread_speedup"].as_f64()?,
            ))
        })
        .collect();
    let picture = crate::lab::render::crossover_svg(&graph, threads, p);
    let prediction = format!(
        "io, {tasks} tasks of {wait_ms} ms, {threads} threads, CPU share s in {shares:?}: on one core every speedup within {} of the model's value (the min(T, 1/s) law with the tasks' achieved length, plus Z({threads}), the same run with tasks of length 0, measured beside each point in each repetition); spread over {spread_cores} cores every speedup at most 1 + {} of the ideal global scheduler's bound min(T, P'/s), judged where that bound lies below the most the waits and the cores allow ({}; chosen from N, T, s and P' before the run); each point judged on its own interval, the worst decides: {deciding_name}",
        fmt_num(tol), fmt_num(btol),
        if not_judged.is_empty() {
            "every spread point".to_string()
        } else {
            format!("not at {}, where the bound is that most and the cut of impossible repetitions leaves none that could exceed it: reported, not judged", not_judged.join(" and "))
        }
    );
    let flagged = |v: &serde_json::Value| match v.as_u64() {
        Some(0) | None => String::new(),
        Some(n) => format!(", {n} impossible repetitions flagged"),
    };
    let text = curve
        .iter()
        .map(|c| {
            format!(
                "s = {}: one core {}x (model {}x, {}{}), spread {}x (bound {}x, {}{})",
                c["cpu_share"],
                fmt_num(c["one_core_speedup"].as_f64().unwrap_or(0.0)),
                fmt_num(c["one_core_model"].as_f64().unwrap_or(0.0)),
                c["one_core_verdict"].as_str().unwrap_or("-"),
                flagged(&c["one_core_impossible_reps_flagged"]),
                fmt_num(c["spread_speedup"].as_f64().unwrap_or(0.0)),
                fmt_num(c["spread_bound"].as_f64().unwrap_or(0.0)),
                c["spread_verdict"].as_str().unwrap_or("-"),
                flagged(&c["spread_impossible_reps_flagged"]),
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    // One-core points whose band reaches above what the cut keeps can fail only below it:
    // said, so that a supported point there is read as "not below the model".
    let below: Vec<String> = curve
        .iter()
        .filter_map(|c| {
            let top = c["one_core_largest_kept_of_model"].as_f64()?;
            (top < 1.0 + tol).then(|| {
                format!(
                    "s = {} (at most {}x of its model)",
                    c["cpu_share"],
                    fmt_num(top)
                )
            })
        })
        .collect();
    let below_only = if below.is_empty() {
        String::new()
    } else {
        format!(
            "On one core at {} the cut of impossible repetitions keeps nothing above the band's top (1 + {}): those points can fail only below it. ",
            below.join(" and "),
            fmt_num(tol)
        )
    };
    let figs = figures(vec![
        ("tasks", json!(tasks)),
        ("threads", json!(threads)),
        ("wait_ms", json!(wait_ms)),
        ("task_s_achieved", json!(d)),
        ("cores", json!(p)),
        ("deciding_point", json!(deciding_name)),
        ("spread_points_not_judged", json!(not_judged)),
        ("curve", json!(curve)),
    ]);
    // Under the negation the threads on one core gain nothing (a speedup of 1), judged at the
    // one-core point with the largest model: a bound alone could not tell the two apart.
    let negation = Negation::new(
        1.0 / curve
            .iter()
            .filter_map(|c| c["one_core_model"].as_f64())
            .fold(1.0, f64::max),
        "threads on one core gain nothing, whatever share of the tasks is waiting",
    )
    .at(&Expect::Between([1.0 - tol, 1.0 + tol]));
    let r = ClaimResult::judge(
        c,
        prediction,
        deciding.figure,
        deciding.expect,
        negation,
        figs,
        |m, v| {
            format!(
                "{text}. {}The deciding point ({deciding_name}) reached {} of its model. {}",
                below_only,
                fmt_num(m),
                conclude(v, "On one core the curve follows min(T, 1/s) with its zero-work twin's time, and spread over the cores it stays within the ideal scheduler's bound: one core helps only while tasks wait, cores help CPU work.", "The curve departs from its model at the point named.")
            )
        },
    )
    .with_picture(picture);
    // The statement's second half ("cores help CPU work"), judged alone: at the CPU-heaviest
    // share, the spread speedup over the one-core speedup of the same repetition, against
    // 1 + the effect margin (the bounds above cannot fail that way: they only cap the spread).
    Ok(if spread_cores >= 2 {
        r.with_statement_test(
            &format!(
                "spread ({spread_cores} cores) / one-core speedup at s = {}",
                shares[heaviest]
            ),
            Figure::paired(&spread[heaviest], &one[heaviest]),
            Expect::AtLeast(1.0 + crate::lab::EFFECT_MARGIN.rel),
        )
    } else {
        r
    })
}

/// The one-core model's time: the min(T, 1/s) law's time on one core (T = `threads`) plus
/// `zero_s`, the zero-work twin's time Z(T) (the same run with tasks of length 0: the threads'
/// starts, pinning and barriers, which run one after another on that core).
pub(crate) fn crossover_one_core_time(
    tasks: usize,
    d: f64,
    s: f64,
    threads: usize,
    zero_s: f64,
) -> f64 {
    io_model_time(tasks, d, s, threads, 1) + zero_s
}

#[cfg(test)]
mod tests {
    use super::super::test_support::verdict_at;
    use super::*;
    use crate::lab::Verdict;

    #[test]
    fn the_io_model_is_min_t_p_over_s() {
        // Pure waits: T-fold; pure CPU: P-fold; half and half on one core: about 2.
        let base = 16.0 * 0.01;
        assert!((base / io_model_time(16, 0.01, 0.0, 8, 1) - 8.0).abs() < 1e-9);
        assert!((base / io_model_time(16, 0.01, 1.0, 8, 2) - 2.0).abs() < 1e-9);
        let half = base / io_model_time(16, 0.01, 0.5, 8, 1);
        assert!(half > 1.8 && half < 2.0, "{half}");
        // 64 waits of 5 ms on 8 threads: 8 rounds; on 256 threads one round plus the zero-work
        // twin's time (given whole: 8 ms) and 256 wake-ups, where the curve bends.
        assert!((one_core_model_time(64, 0.005, 8, 0.0, 0.0) - 0.04).abs() < 1e-12);
        let t = one_core_model_time(256, 0.005, 256, 8e-3, 2e-6);
        assert!((t - (0.005 + 8e-3 + 256.0 * 2e-6)).abs() < 1e-12, "{t}");
        // Z(T) is added once, not per thread.
        let t = one_core_model_time(64, 0.005, 8, 1e-3, 0.0);
        assert!((t - 0.041).abs() < 1e-12, "{t}");
    }

    #[test]
    fn a_spread_bound_is_judged_only_where_a_kept_repetition_could_exceed_it() {
        // 16 tasks on 8 threads over 2 cores. s = 0: the bound is the waits' 8x, the most
        // possible; s = 1: the cores' 2x, the most possible: neither can fail once the cut
        // removes repetitions above it (with the margin).
        assert!(!bound_can_fail(16, 8, 0.0, 2));
        assert!(!bound_can_fail(16, 8, 1.0, 2));
        // s = 0.5: the bound 16 / (16 x 0.5 / 2 + 0.5) = 3.56 lies below the cores' 4x.
        assert!(bound_can_fail(16, 8, 0.5, 2));
        assert!((possible_speedup(16, 8, 0.5, 2) - 4.0).abs() < 1e-12);
        // s = 0.25 and 0.75 (the full lab): 5.82 below 8, 2.56 below 2.67.
        assert!(bound_can_fail(16, 8, 0.25, 2));
        assert!(bound_can_fail(16, 8, 0.75, 2));
        // On 8 cores s = 0.5 is bounded by the waits, the most possible: not judged.
        assert!(!bound_can_fail(16, 8, 0.5, 8));
        // The cut at s = 1, 2 cores, is the bound x (1 + margin): the largest kept figure is
        // exactly the threshold, so the point cannot fail.
        let bound = 16.0 / io_model_time(16, 1.0, 1.0, 8, 2);
        assert!((possible_speedup(16, 8, 1.0, 2) * 1.05 / bound - 1.05).abs() < 1e-12);
    }

    #[test]
    fn cpu_bound_model_is_testable_only_when_its_costs_pass_the_margin() {
        // A 2.2 ms serial split, one switch beyond it at 2.5 us and a zero-work twin of
        // 0.18 ms: 8% of cost against a 10% margin, so the band holds 1 (no cost).
        let tol = crate::lab::VALUE_MARGIN.rel;
        let band = |m: f64| Expect::Between([m * (1.0 - tol), m * (1.0 + tol)]);
        let small = cpu_bound_model(2.2e-3, 2.5e-6, 0.18e-3);
        assert!(crate::lab::predicts_no_effect(&band(small), 1.0), "{small}");
        // A zero-work twin of half the work: the band excludes 1, the model can be judged.
        let large = cpu_bound_model(2.2e-3, 2.5e-6, 1.1e-3);
        assert!(
            !crate::lab::predicts_no_effect(&band(large), 1.0),
            "{large}"
        );
        // The statement alone ("gains nothing"): at most 1 + the effect margin.
        let stmt = Expect::AtMost(1.0 + crate::lab::EFFECT_MARGIN.rel);
        assert_eq!(verdict_at(0.95, &stmt), Verdict::Supported);
        assert_eq!(verdict_at(1.5, &stmt), Verdict::NotSupported);
    }

    #[test]
    fn each_verdict_can_go_both_ways() {
        let tol = 0.03;
        let at_least = Expect::AtLeast(1.0 - tol);
        assert_eq!(verdict_at(0.99, &at_least), Verdict::Supported);
        assert_eq!(
            verdict_at(0.5, &at_least),
            Verdict::NotSupported,
            "waits serialised"
        );
        // Two-sided: a 13% miss below the model is a miss, as is a gain above it. The serial
        // split's 0.1 s, switches beyond it 0.1 ms and a zero-work twin of 0.12 ms.
        let m = cpu_bound_model(0.1, 1e-4, 1.2e-4);
        assert!((m - 0.1 / 0.10022).abs() < 1e-12, "{m}");
        assert_eq!(cpu_bound_model(0.1, 0.0, 0.0), 1.0, "no switches, no cost");
        let two_sided = Expect::Between([m * (1.0 - tol), m * (1.0 + tol)]);
        assert_eq!(verdict_at(m, &two_sided), Verdict::Supported);
        assert_eq!(verdict_at(0.87, &two_sided), Verdict::NotSupported);
        assert_eq!(
            verdict_at(1.9, &two_sided),
            Verdict::NotSupported,
            "CPU work sped up on one core"
        );
        // A miss names its side: 0.845 against a model of 0.988 is a cost.
        assert!(cpu_bound_miss(0.845, 0.988).contains("paid a cost"));
        assert!(cpu_bound_miss(1.9, m).contains("gained"));
        for side in [cpu_bound_miss(0.5, 1.0), cpu_bound_miss(2.0, 1.0)] {
            assert!(!side.contains("either"), "{side}");
        }
        // The spread line is a bound: below it is not a miss, above it is.
        let bound = Expect::AtMost(1.0 + tol);
        assert_eq!(verdict_at(0.85, &bound), Verdict::Supported);
        assert_eq!(verdict_at(1.3, &bound), Verdict::NotSupported);
        // 16 pure waits on 8 threads: 2 rounds of 10 ms, plus a zero-work twin of 0.8 ms.
        let t = crossover_one_core_time(16, 0.01, 0.0, 8, 8e-4);
        assert!((t - (0.02 + 8e-4)).abs() < 1e-12, "{t}");
        let band = Expect::Between([1.0 - tol, 1.0 + tol]);
        assert_eq!(verdict_at(1.0, &band), Verdict::Supported);
        assert_eq!(
            verdict_at(4.0, &band),
            Verdict::NotSupported,
            "one core ran CPU work 4x"
        );
        assert_eq!(verdict_at(0.5, &band), Verdict::NotSupported);
    }
}
