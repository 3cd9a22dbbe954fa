//! Parallelism: speedup against the machine's FMA ceiling, merge sort against its roofline,
//! Amdahl's law on a real workload whose serial fraction is measured (parse and merge, timed
//! alone in its sequential twin) and Gustafson's weak scaling on one whose parallel work grows
//! with the cores, both with the zero-work twin's start and join cost, and parts that finish
//! when their work says.

use std::sync::Mutex;
use std::time::Instant;

use serde_json::json;

use super::{conclude, figures, one_rep, row};
use crate::lab::kernels::{run_pinned, spin, units_for};
use crate::lab::{fmt_num, Claim, ClaimResult, Expect, Figure, Kind, Lab, Negation};
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
    model: "a real workload with a serial part: load a table (parse n decimal keys, one thread), sort it in P chunks, merge the P sorted chunks (one thread). In each repetition its sequential twin (the same chunks sorted one after another on one thread) is timed phase by phase, which measures the serial fraction f = (parse + merge) / T1 instead of setting it, and the zero-work twin Z(P) (the same P pinned threads started and joined from the same place with chunks of no length) is timed beside it: predicted time on P cores s + (T1 - s) / P + Z(P), s = f T1, that is Amdahl's speedup with the start and join cost added. Nothing in the code sets f: it tests whether the P chunks sorted at once take 1/P of their one-thread time plus Z(P) while the serial phases keep their time (shared caches and memory bandwidth are what could make them miss)",
    refuted_by: "the measured speedup over the model's, paired per repetition, outside 1 +- margin; a repetition whose speedup exceeds P x (1 + 5%), which P cores cannot reach, is flagged as disturbed and left out (fewer than two left makes the run not-testable); where the model's band also holds the speedup of no serial limit at all (T1 / (T1 / P + Z(P)): the measured f is too small for the margin), the claim is not testable by design on that machine",
    unit: "x of Amdahl's model (measured f, with Z(P))",
    margins: &[crate::lab::VALUE_MARGIN],
    run: amdahl,
};

/// Gustafson's law: weak scaling with a measured serial part.
pub(crate) const GUSTAFSON: Claim = Claim {
    id: "gustafson",
    kind: Kind::Claim,
    statement: "Gustafson's law: when the parallel work grows with the cores, the scaled speedup on P cores is f + (1 - f) P, far above Amdahl's bound for the same serial fraction f.",
    model: "a real workload whose parallel work grows with the cores: load a table of m keys (parse, one thread: the serial part, the same whatever P), then build one sorted index of it per core (each a copy of the keys under its own salt, sorted; m = amdahl's n / P, so P indexes sort as many keys as amdahl). In each repetition the scaled sequential twin (the same P indexes built one after another on one thread) is timed phase by phase: s the parse, p the time of one index, so f = s / (s + p) is measured, not set; beside it the zero-work twin Z(P) (the same P pinned threads with no index to build). Predicted scaled speedup (s + P p) / (s + p + Z(P)), which is Gustafson's f + (1 - f) P with the start and join cost added; Amdahl's 1 / (f + (1 - f) / P) for the same f is printed beside. Nothing in the code sets f: it tests whether P indexes built at once each take one index's time (shared caches and memory bandwidth could make them slower)",
    refuted_by: "the measured scaled speedup over the model's, paired per repetition, outside 1 +- margin (it behaves like Amdahl's fixed-size speedup instead, or gains less); a repetition whose speedup exceeds P x (1 + 5%), which P cores cannot reach, is flagged as disturbed and left out (fewer than two left makes the run not-testable); where the model's band also holds Amdahl's speedup for the same f (the measured f is too small for the two laws to differ by the margin), the claim is not testable by design on that machine",
    unit: "x of Gustafson's model (measured f, with Z(P))",
    margins: &[crate::lab::VALUE_MARGIN],
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
        Negation::new(1.0, "parts on distinct cores finish no sooner"),
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
    // Under the negation the sort scales with the cores whatever its traffic: P over the bound.
    let negation = Negation::new(
        p as f64 / median(&bounds),
        "merge sort scales with the cores, whatever its memory traffic",
    );
    // Under the cores' roof alone the bound is P (over an odd number of repetitions the median
    // of min(P, x) is min(P, the median of x)), so the negation's figure is P / P = 1, which
    // the band holds: the figure can fail only on a disturbed baseline, and what the claim adds
    // to "P cores give at most P" (the traffic) is not tested on this machine.
    let negation = if memory_binds {
        negation
    } else {
        negation.because(&format!(
            "the memory roof ({}x) is above the cores' ({p}x) on this machine, so the traffic count, which is what the claim adds to 'P cores give at most P', cannot bind; a machine with more cores per unit of bandwidth tests it",
            fmt_num(memory_bound)
        ))
    };
    Ok(ClaimResult::judge(
        c,
        prediction,
        Figure::median(&bound_share),
        expect,
        negation,
        figs,
        |m, v| {
            format!(
                "Sorting {n} keys on {p} cores gave a speedup of {}x; the roofline bound from the sequential time, the {}-core copy bandwidth and {} MB of counted traffic was {}x, so the sort reached {} of it. {roofs} {}",
                fmt_num(median(&speed)), p, fmt_num(bytes / 1e6), fmt_num(median(&bounds)), fmt_num(m),
                conclude(v, "The speedup stayed under the roofline.", "The speedup went past the bound: the counted bytes overstate what this sort moves through memory (a hypothesis this run did not test further).")
            )
        },
    ))
}

/// `n` keys (merge sort's seeded keys) as decimal text, one a line: the table amdahl and
/// gustafson load. Built once, before any timing.
pub(crate) fn key_text(n: usize, seed: u64) -> Vec<u8> {
    use std::io::Write;
    let mut keys = vec![0u64; n];
    crate::workload::mergesort::fill_keys(seed, &mut keys);
    let mut text = Vec::with_capacity(n * 21);
    for k in keys {
        // Writing to a Vec cannot fail.
        let _ = writeln!(text, "{k}");
    }
    text
}

/// Parse `text` (decimal keys, one a line) into `out`, cleared first: the serial loading phase.
pub(crate) fn parse_keys(text: &[u8], out: &mut Vec<u64>) {
    out.clear();
    let mut k = 0u64;
    for &b in text {
        if b == b'\n' {
            out.push(k);
            k = 0;
        } else {
            k = k
                .wrapping_mul(10)
                .wrapping_add(u64::from(b.wrapping_sub(b'0')));
        }
    }
}

/// Merge sorted `runs` into `out`, cleared first, on one thread (a heap of the runs' heads):
/// amdahl's serial combine.
pub(crate) fn merge_runs(runs: &[&[u64]], out: &mut Vec<u64>) {
    use std::cmp::Reverse;
    out.clear();
    let mut pos = vec![0usize; runs.len()];
    let mut heap: std::collections::BinaryHeap<Reverse<(u64, usize)>> = runs
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.first().map(|&k| Reverse((k, i))))
        .collect();
    while let Some(Reverse((k, i))) = heap.pop() {
        out.push(k);
        pos[i] += 1;
        if let Some(&next) = runs[i].get(pos[i]) {
            heap.push(Reverse((next, i)));
        }
    }
}

/// Run `f` once on a thread pinned to `cpu`, returning its value.
fn on_cpu<R: Send>(cpu: usize, f: impl FnOnce() -> R + Send) -> Result<R, String> {
    let f = Mutex::new(Some(f));
    let (mut spans, _) = run_pinned(&[cpu], |_| {
        let f = f.lock().unwrap_or_else(|e| e.into_inner()).take();
        f.expect("run once")()
    })?;
    Ok(spans.remove(0).value)
}

/// The phases of one run of amdahl's or gustafson's workload, s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Phases {
    /// The serial phases (parse, and amdahl's merge).
    pub(crate) serial_s: f64,
    /// The parallel phase (on one thread in the twin; started, run and joined on P in the run).
    pub(crate) parallel_s: f64,
    /// The whole run.
    pub(crate) total_s: f64,
}

/// The model of amdahl and gustafson, from one repetition's twin and zero-work twin: the
/// predicted time on P cores, s + W / P + Z, where the twin spent s in its serial phases and W
/// in its parallel one (amdahl's P chunks, or gustafson's P indexes, one after another: on P
/// cores each core does one, W / P) and Z is the zero-work twin's time.
pub(crate) fn phase_model_s(twin: &Phases, p: usize, zero_s: f64) -> f64 {
    twin.serial_s + twin.parallel_s / p as f64 + zero_s
}

/// The phases' medians over repetitions (the total the sum of the two medians, so the model
/// built from them is consistent).
fn median_phases(twins: &[Phases]) -> Phases {
    let serial_s = median(&twins.iter().map(|t| t.serial_s).collect::<Vec<_>>());
    let parallel_s = median(&twins.iter().map(|t| t.parallel_s).collect::<Vec<_>>());
    Phases {
        serial_s,
        parallel_s,
        total_s: serial_s + parallel_s,
    }
}

/// Amdahl's serial fraction of a twin: its serial phases' share of its time.
pub(crate) fn amdahl_fraction(twin: &Phases) -> f64 {
    twin.serial_s / twin.total_s
}

/// Gustafson's serial fraction of a scaled twin of P indexes: the serial share of the time the
/// P-core run would take without start cost, s / (s + W / P).
pub(crate) fn gustafson_fraction(twin: &Phases, p: usize) -> f64 {
    twin.serial_s / (twin.serial_s + twin.parallel_s / p as f64)
}

/// One run of amdahl's workload on the current thread: parse `text` into `keys`, sort it in
/// `parts` chunks (one after another when `cpus` is `None`, else one chunk per pinned thread of
/// `cpus`), merge the chunks into `out`.
fn amdahl_once(
    text: &[u8],
    keys: &mut Vec<u64>,
    out: &mut Vec<u64>,
    parts: usize,
    cpus: Option<&[usize]>,
) -> Result<Phases, String> {
    let t0 = Instant::now();
    parse_keys(text, keys);
    let t1 = Instant::now();
    let chunk = keys.len().div_ceil(parts).max(1);
    match cpus {
        None => keys.chunks_mut(chunk).for_each(|c| c.sort_unstable()),
        Some(cpus) => {
            let chunks: Vec<Mutex<&mut [u64]>> = keys.chunks_mut(chunk).map(Mutex::new).collect();
            run_pinned(cpus, |i| {
                if let Some(c) = chunks.get(i) {
                    c.lock().unwrap_or_else(|e| e.into_inner()).sort_unstable();
                }
            })?;
        }
    }
    let t2 = Instant::now();
    let runs: Vec<&[u64]> = keys.chunks(chunk).collect();
    merge_runs(&runs, out);
    let t3 = Instant::now();
    Ok(Phases {
        serial_s: (t1 - t0 + (t3 - t2)).as_secs_f64(),
        parallel_s: (t2 - t1).as_secs_f64(),
        total_s: (t3 - t0).as_secs_f64(),
    })
}

/// One run of gustafson's workload on the current thread: parse `text` into `table`, then build
/// one index per entry of `indexes` (the table's keys under index i's salt, sorted): one after
/// another when `cpus` is `None`, else one per pinned thread of `cpus`.
fn gustafson_once(
    text: &[u8],
    table: &mut Vec<u64>,
    indexes: &[Mutex<Vec<u64>>],
    cpus: Option<&[usize]>,
) -> Result<Phases, String> {
    let t0 = Instant::now();
    parse_keys(text, table);
    let t1 = Instant::now();
    let table: &[u64] = table;
    let build = |i: usize| {
        if let Some(ix) = indexes.get(i) {
            let mut ix = ix.lock().unwrap_or_else(|e| e.into_inner());
            let salt = index_salt(i);
            ix.clear();
            ix.extend(table.iter().map(|&k| k ^ salt));
            ix.sort_unstable();
        }
    };
    match cpus {
        None => (0..indexes.len()).for_each(build),
        Some(cpus) => {
            run_pinned(cpus, build)?;
        }
    }
    let t2 = Instant::now();
    Ok(Phases {
        serial_s: (t1 - t0).as_secs_f64(),
        parallel_s: (t2 - t1).as_secs_f64(),
        total_s: (t2 - t0).as_secs_f64(),
    })
}

/// Index i's salt: each index orders the table differently, so each is its own work.
fn index_salt(i: usize) -> u64 {
    (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The zero-work twin of amdahl's and gustafson's parallel phase: the same pinned threads on
/// `cpus` started, released and joined from a thread on `cpus[0]`, as the real phase is, with
/// nothing to do; s. (`zero_work_twin` times a runner strategy; these claims start their
/// threads with `run_pinned`, so their twin starts the same threads the same way.)
fn zero_phase_s(cpus: &[usize]) -> Result<f64, String> {
    on_cpu(cpus[0], || {
        let t = Instant::now();
        run_pinned(cpus, |_| ())?;
        Ok::<_, String>(t.elapsed().as_secs_f64())
    })?
}

/// Wrapping sum of keys: what a sorted output must still add up to.
fn key_sum(keys: &[u64]) -> u64 {
    keys.iter().fold(0u64, |s, &k| s.wrapping_add(k))
}

/// Whether `keys` is sorted, has `n` keys and adds up to `sum`.
fn sorted_and_whole(keys: &[u64], n: usize, sum: u64) -> bool {
    keys.len() == n && keys.windows(2).all(|w| w[0] <= w[1]) && key_sum(keys) == sum
}

/// Amdahl's keys: the same key counts as mergesort-scaling (2M quick, 4M full), so the lab's
/// sorts are alike; runs of tens of milliseconds, long against Z(P) (tens of microseconds) and
/// the timer. Set with the claim, before any run.
fn amdahl_keys(lab: &Lab) -> usize {
    lab.pick(2_000_000, 4_000_000)
}

/// What amdahl and gustafson judge, from their per-repetition measurements.
struct PhaseJudgement {
    /// Measured speedup / model speedup (model time / measured time), the repetitions kept.
    kept: Vec<f64>,
    /// Repetitions flagged as impossible.
    flagged: usize,
    /// The cap they were flagged above.
    cap: f64,
}

/// Flag repetitions whose speedup exceeds what P cores allow ([`crate::lab::possible_reps`]).
fn judge_phases(speedups: &[f64], model_s: &[f64], measured_s: &[f64], p: usize) -> PhaseJudgement {
    // No run on P cores is more than P times faster than its one-thread twin: a repetition past
    // that (with the bound margin) had its twin slowed by something else.
    let cap = p as f64 * (1.0 + crate::lab::BOUND_MARGIN.rel);
    let ratios: Vec<f64> = model_s.iter().zip(measured_s).map(|(m, t)| m / t).collect();
    let (kept, flagged) = crate::lab::possible_reps(&ratios, speedups, cap);
    PhaseJudgement { kept, flagged, cap }
}

fn amdahl(c: &Claim, lab: &Lab) -> Result<ClaimResult, String> {
    let tol = c.margin(0);
    let expect = Expect::Between([1.0 - tol, 1.0 + tol]);
    if let Some(r) = not_on_one_core(c, lab, expect.clone()) {
        return Ok(r);
    }
    let cpus = Topology::get().core_cpus();
    let p = cpus.len();
    let n = amdahl_keys(lab);
    let text = key_text(n, 7);
    let sum = {
        let mut k = Vec::with_capacity(n);
        parse_keys(&text, &mut k);
        key_sum(&k)
    };
    let bufs = Mutex::new((Vec::with_capacity(n), Vec::with_capacity(n)));
    let run = |par: Option<&[usize]>| -> Result<Phases, String> {
        on_cpu(cpus[0], || {
            let mut g = bufs.lock().unwrap_or_else(|e| e.into_inner());
            let (keys, out) = &mut *g;
            let ph = amdahl_once(&text, keys, out, p, par)?;
            // Checked after timing: the merged output is the whole table, sorted.
            if !sorted_and_whole(out, n, sum) {
                return Err("amdahl's sort-and-merge produced a wrong result".to_string());
            }
            Ok(ph)
        })?
    };
    // One untimed run of each: pages mapped, code warm.
    run(None)?;
    run(Some(&cpus))?;
    let (mut twins, mut runs, mut zeros) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..lab.reps() {
        twins.push(run(None)?);
        runs.push(run(Some(&cpus))?);
        zeros.push(zero_phase_s(&cpus)?);
    }
    let t1: Vec<f64> = twins.iter().map(|t| t.total_s).collect();
    let tp: Vec<f64> = runs.iter().map(|t| t.total_s).collect();
    let model: Vec<f64> = twins
        .iter()
        .zip(&zeros)
        .map(|(t, &z)| phase_model_s(t, p, z))
        .collect();
    let speedups: Vec<f64> = t1.iter().zip(&tp).map(|(a, b)| a / b).collect();
    let fs: Vec<f64> = twins.iter().map(amdahl_fraction).collect();
    let j = judge_phases(&speedups, &model, &tp, p);
    if let Some(why) = crate::lab::too_disturbed(&format!("P = {p}"), j.kept.len(), t1.len()) {
        return Ok(ClaimResult::not_testable(c, expect, why));
    }
    // f and the model's speedup from the twins' median phases, so that Amdahl's speedup for f
    // and the model's differ by Z(P) alone (the per-repetition f's interval is reported beside).
    let mid = median_phases(&twins);
    let f = amdahl_fraction(&mid);
    let z = median(&zeros);
    let model_speedup = mid.total_s / phase_model_s(&mid, p, z);
    // The statement's negation: the serial phases do not limit the speedup (T1 / P + Z(P)).
    let null = phase_model_s(&mid, p, z) / (mid.total_s / p as f64 + z);
    let par_gain = median(&twins.iter().map(|t| t.parallel_s).collect::<Vec<_>>())
        / median(&runs.iter().map(|t| t.parallel_s).collect::<Vec<_>>());
    let fitted: Vec<f64> = speedups.iter().map(|&s| karp_flatt(s, p)).collect();
    let prediction = format!(
        "parse {n} keys, sort them in {p} chunks, merge on one thread, on P = {p} cores: measured f = (parse + merge) / T1 = {} (from the twins' median phases), Z(P) = {} us: speedup T1 / (f T1 + (1 - f) T1 / P + Z(P)) = {}x (Amdahl alone {}x), the measured speedup over it within 1 +- {} (repetitions above {}x flagged and left out)",
        fmt_num(f), fmt_num(z * 1e6), fmt_num(model_speedup), fmt_num(amdahl_speedup(f, p)), fmt_num(tol), fmt_num(j.cap)
    );
    let figs = figures(vec![
        ("cores", json!(p)),
        ("keys", json!(n)),
        ("measured_f", json!(f)),
        (
            "measured_f_interval",
            json!(crate::measure::stats::median_interval(&fs).map(|i| i.ends())),
        ),
        ("fitted_karp_flatt_f", json!(median(&fitted))),
        ("zero_work_twin_s", json!(z)),
        ("sequential_twin_s", json!(median(&t1))),
        ("parallel_run_s", json!(median(&tp))),
        ("speedup", json!(median(&speedups))),
        ("model_speedup", json!(model_speedup)),
        ("amdahl_alone", json!(amdahl_speedup(f, p))),
        ("parallel_phase_gain", json!(par_gain)),
        ("no_serial_limit_over_model", json!(null)),
        ("impossible_reps_flagged", json!(j.flagged)),
        ("impossible_cap", json!(j.cap)),
        ("margin", json!(tol)),
    ]);
    let flagged = match j.flagged {
        0 => String::new(),
        k => format!(" {k} repetitions above {p} cores' reach were flagged and left out."),
    };
    let negation = Negation::new(
        null,
        "the serial phases set no limit (the speedup is the parallel phase's)",
    )
    .because(&format!(
        "with the measured serial fraction ({}) the speedup with no serial limit at all would lie within the effect margin of the model's band ({} of the model), so no figure could tell Amdahl's limit from none; a workload or machine where the serial phases weigh more tests it",
        fmt_num(f), fmt_num(null)
    ));
    Ok(ClaimResult::judge(
        c,
        prediction,
        Figure::median(&j.kept),
        expect,
        negation,
        figs,
        |m, v| {
            format!(
                "Loading {n} keys, sorting them in {p} chunks and merging took {} ms on one thread, of which the parse and the merge (the serial phases, run alone in the twin) took f = {}; on {p} cores it took {} ms, a speedup of {}x (the chunk sorts alone ran {}x faster; starting and joining the {p} threads with nothing to do took {} us). Amdahl's law with the measured f and Z(P) predicts {}x; the measured speedup reached {} of it (the Karp-Flatt fraction fitted to the speedup is {}).{flagged} {}",
                fmt_num(median(&t1) * 1e3), fmt_num(f), fmt_num(median(&tp) * 1e3), fmt_num(median(&speedups)), fmt_num(par_gain), fmt_num(z * 1e6), fmt_num(model_speedup), fmt_num(m), fmt_num(median(&fitted)),
                conclude(v, "The serial phases, measured alone, limited the speedup as Amdahl's law says.", "The speedup is not what the measured serial fraction allows: the parallel phase or the serial phases did not keep their one-thread cost on P cores.")
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
    // m: amdahl's keys / P, so the P indexes sort as many keys as amdahl does.
    let m = amdahl_keys(lab) / p;
    let text = key_text(m, 11);
    let table = Mutex::new(Vec::with_capacity(m));
    let indexes: Vec<Mutex<Vec<u64>>> = (0..p).map(|_| Mutex::new(Vec::with_capacity(m))).collect();
    let sums: Vec<u64> = {
        let mut k = Vec::with_capacity(m);
        parse_keys(&text, &mut k);
        (0..p)
            .map(|i| {
                k.iter()
                    .fold(0u64, |s, &x| s.wrapping_add(x ^ index_salt(i)))
            })
            .collect()
    };
    let run = |par: Option<&[usize]>| -> Result<Phases, String> {
        on_cpu(cpus[0], || {
            let mut t = table.lock().unwrap_or_else(|e| e.into_inner());
            let ph = gustafson_once(&text, &mut t, &indexes, par)?;
            // Checked after timing: every index holds the whole table, sorted.
            for (ix, &sum) in indexes.iter().zip(&sums) {
                let ix = ix.lock().unwrap_or_else(|e| e.into_inner());
                if !sorted_and_whole(&ix, m, sum) {
                    return Err("gustafson built a wrong index".to_string());
                }
            }
            Ok(ph)
        })?
    };
    run(None)?;
    run(Some(&cpus))?;
    let (mut twins, mut runs, mut zeros) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..lab.reps() {
        twins.push(run(None)?);
        runs.push(run(Some(&cpus))?);
        zeros.push(zero_phase_s(&cpus)?);
    }
    let t1: Vec<f64> = twins.iter().map(|t| t.total_s).collect();
    let tp: Vec<f64> = runs.iter().map(|t| t.total_s).collect();
    let model: Vec<f64> = twins
        .iter()
        .zip(&zeros)
        .map(|(t, &z)| phase_model_s(t, p, z))
        .collect();
    let speedups: Vec<f64> = t1.iter().zip(&tp).map(|(a, b)| a / b).collect();
    let fs: Vec<f64> = twins.iter().map(|t| gustafson_fraction(t, p)).collect();
    let j = judge_phases(&speedups, &model, &tp, p);
    if let Some(why) = crate::lab::too_disturbed(&format!("P = {p}"), j.kept.len(), t1.len()) {
        return Ok(ClaimResult::not_testable(c, expect, why));
    }
    let mid = median_phases(&twins);
    let f = gustafson_fraction(&mid, p);
    let z = median(&zeros);
    let model_speedup = mid.total_s / phase_model_s(&mid, p, z);
    // The statement's alternative: Amdahl's fixed-size speedup for the same f.
    let null = amdahl_speedup(f, p) / model_speedup;
    let prediction = format!(
        "parse {m} keys on one thread, then build {p} sorted indexes of them, one per core, on P = {p} cores: measured f = s / (s + p) = {} (from the scaled twins' median phases), Z(P) = {} us: scaled speedup (s + P p) / (s + p + Z(P)) = {}x (Gustafson alone f + (1 - f) P = {}x; Amdahl for the same f {}x), the measured speedup over it within 1 +- {} (repetitions above {}x flagged and left out)",
        fmt_num(f), fmt_num(z * 1e6), fmt_num(model_speedup), fmt_num(gustafson_speedup(f, p)), fmt_num(amdahl_speedup(f, p)), fmt_num(tol), fmt_num(j.cap)
    );
    let figs = figures(vec![
        ("cores", json!(p)),
        ("keys_per_index", json!(m)),
        ("measured_f", json!(f)),
        (
            "measured_f_interval",
            json!(crate::measure::stats::median_interval(&fs).map(|i| i.ends())),
        ),
        ("zero_work_twin_s", json!(z)),
        ("scaled_twin_s", json!(median(&t1))),
        ("parallel_run_s", json!(median(&tp))),
        ("scaled_speedup", json!(median(&speedups))),
        ("model_speedup", json!(model_speedup)),
        ("gustafson_alone", json!(gustafson_speedup(f, p))),
        ("amdahl_same_f", json!(amdahl_speedup(f, p))),
        ("amdahl_over_model", json!(null)),
        ("impossible_reps_flagged", json!(j.flagged)),
        ("impossible_cap", json!(j.cap)),
        ("margin", json!(tol)),
    ]);
    let flagged = match j.flagged {
        0 => String::new(),
        k => format!(" {k} repetitions above {p} cores' reach were flagged and left out."),
    };
    let negation = Negation::new(
        null,
        "the scaled work gains only Amdahl's fixed-size speedup for the same f",
    )
    .because(&format!(
        "Amdahl's fixed-size speedup for the measured f ({}) is {} of Gustafson's model, within the effect margin of the model's band, so no figure could tell the two laws apart here (on {p} cores their ratio, P / ((1 + (P - 1) f)(P - (P - 1) f)), never falls below {} at any f: more cores test it)",
        fmt_num(f), fmt_num(null), fmt_num(amdahl_gustafson_floor(p))
    ));
    Ok(ClaimResult::judge(
        c,
        prediction,
        Figure::median(&j.kept),
        expect,
        negation,
        figs,
        |v_m, v| {
            format!(
                "Parsing {m} keys and building {p} sorted indexes of them one after another took {} ms on one thread, the parse being f = {} of the time a {p}-core run would take; building the {p} indexes at once on {p} cores took {} ms in all, a scaled speedup of {}x (starting and joining the {p} threads with nothing to do took {} us). Gustafson's law with the measured f and Z(P) predicts {}x (Amdahl's fixed-size law for the same f: {}x); the measured speedup reached {} of it.{flagged} {}",
                fmt_num(median(&t1) * 1e3), fmt_num(f), fmt_num(median(&tp) * 1e3), fmt_num(median(&speedups)), fmt_num(z * 1e6), fmt_num(model_speedup), fmt_num(amdahl_speedup(f, p)), fmt_num(v_m),
                conclude(v, "With the parallel work growing with the cores, the serial part cost what Gustafson's law says, not Amdahl's fixed-size bound.", "The scaled speedup is not Gustafson's for the measured f: the indexes built at once did not each take one index's time, or the parse did not keep its cost.")
            )
        },
    ))
}

/// The least Amdahl's speedup over Gustafson's for the same serial fraction on `p` cores: their
/// ratio P / ((1 + (P - 1) f)(P - (P - 1) f)) is least at f = 1/2, where it is 4P / (P + 1)^2.
pub(crate) fn amdahl_gustafson_floor(p: usize) -> f64 {
    let p = p as f64;
    4.0 * p / ((p + 1.0) * (p + 1.0))
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
    Ok(ClaimResult::check(
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
        assert_eq!(gustafson_speedup(0.5, 2), 1.5);
        assert_eq!(gustafson_speedup(0.0, 7), 7.0);
    }

    #[test]
    fn the_phase_model_is_amdahls_and_gustafsons_with_the_start_cost() {
        // A twin of 1 s: 0.25 s serial, 0.75 s parallel, on 3 cores, no start cost: Amdahl.
        let twin = Phases {
            serial_s: 0.25,
            parallel_s: 0.75,
            total_s: 1.0,
        };
        let f = amdahl_fraction(&twin);
        assert!((f - 0.25).abs() < 1e-12);
        let t = phase_model_s(&twin, 3, 0.0);
        assert!((twin.total_s / t - amdahl_speedup(f, 3)).abs() < 1e-12);
        // The zero-work twin's time adds to the predicted time, as it would to a real run.
        assert!((phase_model_s(&twin, 3, 0.01) - (t + 0.01)).abs() < 1e-12);
        // Scaled: 0.2 s serial, then 3 indexes of 0.4 s each one after another.
        let scaled = Phases {
            serial_s: 0.2,
            parallel_s: 1.2,
            total_s: 1.4,
        };
        let g = gustafson_fraction(&scaled, 3);
        assert!((g - 0.2 / 0.6).abs() < 1e-12);
        let s = scaled.total_s / phase_model_s(&scaled, 3, 0.0);
        assert!((s - gustafson_speedup(g, 3)).abs() < 1e-12);
        // The laws differ for the same f: Amdahl's bound is below Gustafson's scaled speedup.
        assert!(amdahl_speedup(g, 3) < gustafson_speedup(g, 3) * 0.9);
    }

    #[test]
    fn impossible_repetitions_leave_the_judged_figure() {
        // 3 repetitions on 2 cores; the second ran 2.5x faster than its twin: flagged.
        let j = judge_phases(&[1.8, 2.5, 1.7], &[1.0, 1.0, 1.0], &[1.0, 0.5, 1.1], 2);
        assert_eq!(j.flagged, 1);
        assert_eq!(j.kept, vec![1.0, 1.0 / 1.1]);
        assert!((j.cap - 2.1).abs() < 1e-12);
    }

    #[test]
    fn a_negligible_serial_fraction_cannot_tell_amdahl_from_no_limit() {
        let m = crate::lab::VALUE_MARGIN.rel;
        let e = Expect::Between([1.0 - m, 1.0 + m]);
        // f = 0.02 on 2 cores: no serial limit gives 2 against Amdahl's 1.96: within the margin.
        let no_limit = 2.0 / amdahl_speedup(0.02, 2);
        assert!(crate::lab::predicts_no_effect(&e, no_limit));
        // f = 0.4: 2 against 1.43, far outside it.
        assert!(!crate::lab::predicts_no_effect(
            &e,
            2.0 / amdahl_speedup(0.4, 2)
        ));
        // Gustafson against Amdahl for the same f. On 2 cores their ratio is 2 / ((1 + f)(2 - f)),
        // never below 0.889: within the effect margin of the band at every f, so 2 cores cannot
        // tell the two laws apart. On 8 cores f = 0.4 puts Amdahl at 0.40 of Gustafson.
        let null = |f: f64, p: usize| amdahl_speedup(f, p) / gustafson_speedup(f, p);
        assert!(crate::lab::predicts_no_effect(&e, null(0.1, 2)));
        assert!(crate::lab::predicts_no_effect(&e, null(0.5, 2)));
        assert!(!crate::lab::predicts_no_effect(&e, null(0.4, 8)));
        // The floor is the ratio at f = 1/2, and no f goes below it.
        assert!((amdahl_gustafson_floor(2) - 8.0 / 9.0).abs() < 1e-12);
        for k in 0..=100 {
            let f = k as f64 / 100.0;
            assert!(null(f, 2) >= amdahl_gustafson_floor(2) - 1e-12, "f = {f}");
            assert!(null(f, 8) >= amdahl_gustafson_floor(8) - 1e-12, "f = {f}");
        }
    }

    #[test]
    fn the_workloads_parse_merge_and_verify() {
        let text = key_text(1001, 3);
        let mut keys = Vec::new();
        parse_keys(&text, &mut keys);
        let mut want = vec![0u64; 1001];
        crate::workload::mergesort::fill_keys(3, &mut want);
        assert_eq!(keys, want, "the parse reads back the keys written");
        let sum = key_sum(&want);
        // Awkward part counts: the merged output is the table, sorted.
        for parts in [1, 2, 3, 7] {
            let (mut k, mut out) = (Vec::new(), Vec::new());
            let ph = amdahl_once(&text, &mut k, &mut out, parts, None).unwrap();
            assert!(sorted_and_whole(&out, 1001, sum), "{parts} parts");
            assert!(ph.serial_s >= 0.0 && ph.parallel_s >= 0.0);
            assert!(ph.total_s >= ph.serial_s + ph.parallel_s - 1e-9);
        }
        let indexes: Vec<Mutex<Vec<u64>>> = (0..3).map(|_| Mutex::new(Vec::new())).collect();
        let mut table = Vec::new();
        gustafson_once(&text, &mut table, &indexes, None).unwrap();
        for (i, ix) in indexes.iter().enumerate() {
            let s = want
                .iter()
                .fold(0u64, |a, &k| a.wrapping_add(k ^ index_salt(i)));
            assert!(sorted_and_whole(&ix.lock().unwrap(), 1001, s), "index {i}");
        }
        // A wrong output is caught.
        assert!(!sorted_and_whole(&[2, 1], 2, 3));
        assert!(!sorted_and_whole(&[1, 2], 2, 4));
        assert!(!sorted_and_whole(&[1, 2], 3, 3));
    }

    #[test]
    fn the_finish_gap_limit_follows_its_rule() {
        // Twice the noise floor, which counts as at least 1%: stated inputs, not a run's.
        assert_eq!(finish_gap_limit(0.004), 0.02);
        assert_eq!(finish_gap_limit(0.0), 0.02);
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
    fn under_the_cores_roof_mergesorts_negation_is_held() {
        // Where the memory roof is above the cores' (the traffic cannot bind), the bound is P and
        // the negation's figure P / bound is 1, which the band <= 1 + margin holds: the claim
        // is not testable by design, with the memory roof as its reason (`.because`).
        let p = 2;
        let bound = roofline(p, 1.0, 1e9, 1e8);
        assert!(crate::lab::predicts_no_effect(
            &Expect::AtMost(1.0 + 0.10),
            p as f64 / bound
        ));
    }

    #[test]
    fn each_verdict_can_go_both_ways() {
        let tol = 0.05;
        // Below the FMA ceiling is not a miss; no gain, or beating the ceiling, is.
        let ceiling = parallelism_expect(2.0, 0.1, tol);
        // A speedup halfway between no gain and the ceiling (a stated input, not a run's).
        assert_eq!(verdict_at(1.5, &ceiling), Verdict::Supported);
        assert_eq!(verdict_at(1.0, &ceiling), Verdict::NotSupported);
        assert_eq!(verdict_at(2.5, &ceiling), Verdict::NotSupported);
        let roof = Expect::AtMost(1.0 + tol);
        assert_eq!(verdict_at(0.7, &roof), Verdict::Supported);
        assert_eq!(verdict_at(1.4, &roof), Verdict::NotSupported);
        let m = crate::lab::VALUE_MARGIN.rel;
        let amdahl = Expect::Between([1.0 - m, 1.0 + m]);
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
