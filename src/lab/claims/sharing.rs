//! What parallel threads share: cache lines (false sharing), the load (imbalance and work
//! stealing with rayon), a lock (contention, and one global lock around all the work) and, on
//! SMT machines, the core itself.

use serde_json::json;

use super::{conclude, figures};
use crate::experiment::ceilings::FmaLoop;
use crate::lab::kernels::{
    chase_ring, counters, global_lock_chunks, locked_tasks, pinned_pool, pointer_chase, run_pinned,
    spin, triangular_rayon, triangular_static, units_for,
};
use crate::lab::{
    deciding_point, fmt_num, Claim, ClaimResult, Expect, Figure, Kind, Lab, Negation, Point,
};
use crate::measure::stats::median;
use crate::topology::Topology;

/// False sharing.
pub(crate) const FALSE_SHARING: Claim = Claim {
    id: "false-sharing",
    kind: Kind::Claim,
    statement: "Two threads writing different variables in the same cache line slow each other down across cores (false sharing); 128 bytes apart, or on one CPU, they do not.",
    model: "each increment that finds the line on the other core waits for a cache-line transfer (c_line, measured by bouncing a flag between the cores): slowdown across cores between 1 + margin and (c_inc + c_line) / c_inc; with both threads on one CPU (the control) there is no transfer; figure = slowdown across cores / slowdown on one CPU",
    refuted_by: "the control-relative slowdown stays at most 1 + margin (no false-sharing cost), or exceeds the transfer bound by more than the bound margin",
    unit: "x (cross-core slowdown / one-CPU slowdown)",
    margins: &[crate::lab::EFFECT_MARGIN, crate::lab::BOUND_MARGIN],
    run: false_sharing,
};

/// Load imbalance and work stealing.
pub(crate) const WORK_STEALING: Claim = Claim {
    id: "work-stealing",
    kind: Kind::Claim,
    statement: "Tasks of unequal cost split into contiguous blocks, one per core, leave cores idle; work stealing (rayon) balances them.",
    model: "N tasks of triangular cost (task i costs i units): static contiguous blocks on P cores reach total / (largest block), about P^2 / (2P - 1) (4/3 on 2 cores); rayon's work stealing reaches about min(P, total / largest task); figure = static time / rayon time, predicted as the ratio of the two models",
    refuted_by: "static / rayon time lands outside the model's ratio x (1 +- margin)",
    unit: "x (static / rayon time)",
    margins: &[crate::lab::VALUE_MARGIN],
    run: work_stealing,
};

/// Lock contention.
pub(crate) const LOCK_CONTENTION: Claim = Claim {
    id: "lock-contention",
    kind: Kind::Claim,
    statement: "Threads sharing one lock can be slower than one thread doing all their work: the lock serialises them, so for small tasks P threads on P cores gain nothing and pay the lock's cache line moving between the cores on top; per-thread counters do not pay it.",
    model: "empty tasks that each end with one increment of a shared Mutex run one at a time, each paying the uncontended lock + increment + unlock c_1 (measured: one thread doing all P x n tasks, same repetition) and at most one round trip of the lock's cache line between the cores (2 c_line: the waiter's spin pulls the line, the holder's next lock pulls it back; c_line measured in every repetition, the band's top taking the top of its interval); so P threads' time / one thread's time lies between 1 and 1 + 2 c_line / c_1. Per-thread counters are measured beside it (the lock's overhead per task is the task size below which it exceeds the work)",
    refuted_by: "the ratio below 1 - margin (the lock did not serialise the tasks) or above (1 + 2 c_line / c_1) x (1 + margin) (the threads paid more than the line: for example sleeping in the kernel)",
    unit: "x (P threads / one thread, one shared lock, empty tasks)",
    margins: &[crate::lab::BOUND_MARGIN],
    run: lock_contention,
};

/// One global lock around all the work.
pub(crate) const GLOBAL_LOCK: Claim = Claim {
    id: "global-lock",
    // A Mutex around all the work lets one thread run at a time by construction: the speedup of
    // about 1 cannot fail, so this demonstrates the GIL's lesson and measures what the
    // serialisation costs; it is not evidence (instructor review).
    kind: Kind::Check,
    statement: "CPU-bound threads that hold one global lock around all their work (an interpreter's GIL) gain nothing from any number of cores: the lock lets one run at a time.",
    model: "the same spin work in chunks of 5 ms (CPython's default switch interval), each chunk under one global Mutex, split over T threads pinned to T cores, against one thread doing every chunk: the chunks run one at a time, so the time is the work's plus T thread starts and a lock hand-off (a switch and a line transfer) per chunk: S(T) = T_1 / (T_1 + T c_spawn + chunks (c_switch + c_line)), all measured in this run (about 1); a check, since a lock around all the work serialises it by construction. T = 2, 4, 8, ... up to P and P itself, each judged on its own interval, the worst decides; the same threads without the lock are measured beside it (a control: if they gain nothing either, the cores this run had cannot test the claim)",
    refuted_by: "at some T the speedup lies farther than the margin from S(T): above it (the lock did not serialise the work: a speedup towards T) or below it (the lock cost more than its hand-offs)",
    unit: "x of the model (speedup under the lock, deciding T)",
    margins: &[crate::lab::VALUE_MARGIN],
    run: global_lock,
};

/// SMT siblings.
pub(crate) const SMT_SIBLINGS: Claim = Claim {
    id: "smt-siblings",
    kind: Kind::Claim,
    statement: "Two hardware threads of one core (SMT siblings) are not two cores: they share its execution units.",
    model: "an FMA loop that saturates a core's FMA units gains little from a second hardware thread of the same core: two copies on siblings take longer than on two separate cores, time ratio at least 1 + margin; a pointer chase (latency-bound, which siblings can overlap) is measured beside it",
    refuted_by: "the FMA loop on two siblings is as fast as on two separate cores (ratio at most 1 + margin)",
    unit: "x (siblings / separate cores)",
    margins: &[crate::lab::EFFECT_MARGIN],
    run: smt_siblings,
};

/// Static blocks' speedup for triangular tasks: total / largest block.
pub(crate) fn static_speedup(tasks: usize, p: usize) -> f64 {
    let cost = |lo: usize, hi: usize| (lo..hi).map(|t| (t + 1) as f64).sum::<f64>();
    let total = cost(0, tasks);
    let largest = (0..p)
        .map(|i| cost(i * tasks / p, (i + 1) * tasks / p))
        .fold(0.0, f64::max);
    total / largest
}

/// Work stealing's speedup for triangular tasks: min(P, total / largest task).
pub(crate) fn stealing_speedup(tasks: usize, p: usize) -> f64 {
    let total = (tasks * (tasks + 1) / 2) as f64;
    (p as f64).min(total / tasks as f64)
}

fn two_cores(c: &Claim, lab: &Lab, expect: &Expect) -> Result<[usize; 2], Box<ClaimResult>> {
    let cpus = Topology::get().core_cpus();
    if cpus.len() < 2 {
        return Err(Box::new(ClaimResult::not_testable(
            c,
            expect.clone(),
            format!(
                "this process may use {} physical core: the claim needs two",
                lab.cores()
            ),
        )));
    }
    Ok([cpus[0], cpus[1]])
}

/// Round trips of the line ping-pong false-sharing measures in each repetition (as the lab's
/// own line transfer: [`crate::lab::Lab::line_transfer_ns`]).
const LINE_ROUND_TRIPS: u64 = 20_000;

/// false-sharing's upper bound: an increment that also waits for one line transfer, against one
/// that does not: (c_inc + c_line) / c_inc.
pub(crate) fn transfer_bound(increment_ns: f64, line_ns: f64) -> f64 {
    (increment_ns + line_ns) / increment_ns
}

fn false_sharing(c: &Claim, lab: &Lab) -> Result<ClaimResult, String> {
    let tol = c.margin(0);
    let probe = Expect::AtLeast(1.0 + tol);
    let two = match two_cores(c, lab, &probe) {
        Ok(t) => t,
        Err(r) => return Ok(*r),
    };
    let n = lab.pick(1_000_000, 4_000_000);
    let one = [two[0], two[0]];
    let (mut rel, mut cross, mut ctrl, mut apart) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // The bound's input, a line transfer, is measured in every repetition beside the increments
    // (one measurement per lab moved it by up to 9x between runs), so the bound has an interval
    // of its own and the band judged reaches the top of that interval.
    let (mut lines, mut bounds) = (Vec::new(), Vec::new());
    for _ in 0..lab.reps() {
        let (cs, ca) = (counters(two, 8, n)?, counters(two, 128, n)?);
        let (os, oa) = (counters(one, 8, n)?, counters(one, 128, n)?);
        cross.push(cs / ca);
        ctrl.push(os / oa);
        rel.push((cs / ca) / (os / oa));
        apart.push(ca);
        let line = crate::lab::kernels::line_ping_pong_ns(two[0], two[1], LINE_ROUND_TRIPS)
            .ok_or("the line transfer between the two cores could not be measured")?;
        let inc_ns = ca / n as f64 * 1e9;
        lines.push(line);
        bounds.push(transfer_bound(inc_ns, line));
    }
    let line = median(&lines);
    let inc_ns = median(&apart) / n as f64 * 1e9;
    let bound = median(&bounds);
    let bound_interval = crate::measure::stats::median_interval(&bounds).map(|i| i.ends());
    let bound_top = bound_interval.map_or(bound, |[_, hi]| hi);
    let btol = c.margin(1);
    let expect = if bound_top * (1.0 + btol) > 1.0 + tol {
        Expect::Between([1.0 + tol, bound_top * (1.0 + btol)])
    } else {
        probe
    };
    let prediction = format!(
        "two threads, {n} atomic increments each, counters 8 bytes apart vs 128: slowdown across two cores / slowdown on one CPU between 1 + margin = {} and (c_inc + c_line) / c_inc, both measured in every repetition (medians ({} + {}) / {} ns = {}, interval top {}) x (1 + bound margin {})",
        fmt_num(1.0 + tol), fmt_num(inc_ns), fmt_num(line), fmt_num(inc_ns), fmt_num(bound), fmt_num(bound_top), fmt_num(btol)
    );
    let figs = figures(vec![
        ("increments_per_thread", json!(n)),
        ("slowdown_across_cores", json!(median(&cross))),
        ("slowdown_on_one_cpu_control", json!(median(&ctrl))),
        ("increment_ns_apart", json!(inc_ns)),
        ("line_transfer_ns", json!(line)),
        (
            "line_transfer_ns_interval",
            json!(crate::measure::stats::median_interval(&lines).map(|i| i.ends())),
        ),
        ("transfer_bound", json!(bound)),
        ("transfer_bound_interval", json!(bound_interval)),
        ("margin", json!(tol)),
    ]);
    Ok(ClaimResult::judge(
        c,
        prediction,
        Figure::median(&rel),
        expect,
        Negation::new(
            1.0,
            "counters in one line cost no more across cores than on one CPU",
        ),
        figs,
        |m, v| {
            format!(
                "Counters in one cache line took {}x as long as counters 128 bytes apart across two cores, and {}x with both threads on one CPU (the control): {}x relative to the control, against a bound of {}x from a {} ns line transfer and a {} ns increment. {}",
                fmt_num(median(&cross)), fmt_num(median(&ctrl)), fmt_num(m), fmt_num(bound), fmt_num(line), fmt_num(inc_ns),
                conclude(v, "Sharing a line across cores costs transfers; on one CPU it costs nothing.", "The slowdown is not what line transfers predict.")
            )
        },
    ))
}

fn work_stealing(c: &Claim, lab: &Lab) -> Result<ClaimResult, String> {
    let tol = c.margin(0);
    let cpus = Topology::get().core_cpus();
    let p = cpus.len();
    let tasks = lab.pick(200, 400);
    let model = stealing_speedup(tasks, p) / static_speedup(tasks, p);
    let expect = Expect::Between([model * (1.0 - tol), model * (1.0 + tol)]);
    if p < 2 {
        return Ok(ClaimResult::not_testable(
            c,
            expect,
            format!("this process may use {p} physical core: there is no load to balance"),
        ));
    }
    let unit = (units_for(lab.pick(0.06, 0.2)) / (tasks * (tasks + 1) / 2) as u64).max(1);
    let pool = pinned_pool(&cpus)?;
    let (mut seq, mut stat, mut ray) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..lab.reps() {
        seq.push(triangular_static(&cpus[..1], tasks, unit)?);
        stat.push(triangular_static(&cpus, tasks, unit)?);
        ray.push(triangular_rayon(&pool, tasks, unit));
    }
    let (s_static, s_rayon) = (median(&seq) / median(&stat), median(&seq) / median(&ray));
    let prediction = format!(
        "{tasks} tasks of triangular cost on P = {p} cores: static blocks {}x, rayon {}x, so static / rayon time = {} within {}",
        fmt_num(static_speedup(tasks, p)), fmt_num(stealing_speedup(tasks, p)), fmt_num(model), fmt_num(tol)
    );
    let figs = figures(vec![
        ("tasks", json!(tasks)),
        ("cores", json!(p)),
        ("static_speedup", json!(s_static)),
        ("static_model", json!(static_speedup(tasks, p))),
        ("rayon_speedup", json!(s_rayon)),
        ("rayon_model", json!(stealing_speedup(tasks, p))),
        ("margin", json!(tol)),
    ]);
    Ok(ClaimResult::judge(
        c,
        prediction,
        Figure::paired(&stat, &ray),
        expect,
        Negation::new(
            1.0,
            "work stealing balances the tasks no better than static blocks",
        ),
        figs,
        |m, v| {
            format!(
                "Against one thread, static halves reached {}x (model {}x) and rayon's work stealing {}x (model {}x): static took {}x rayon's time. {}",
                fmt_num(s_static), fmt_num(static_speedup(tasks, p)), fmt_num(s_rayon), fmt_num(stealing_speedup(tasks, p)), fmt_num(m),
                conclude(v, "The static split left a core idle while the other ran the costly tail; stealing kept both busy.", "The schedules did not differ as the models predict.")
            )
        },
    ))
}

fn lock_contention(c: &Claim, lab: &Lab) -> Result<ClaimResult, String> {
    let tol = c.margin(0);
    if let Err(r) = two_cores(c, lab, &Expect::Between([1.0 - tol, 1.0 + tol])) {
        return Ok(*r);
    }
    let cpus = Topology::get().core_cpus();
    let p = cpus.len();
    let tasks = lab.pick(100_000, 300_000);
    let works = [0u64, 64, 1024];
    let mut ratio: Vec<Vec<f64>> = vec![Vec::new(); works.len()];
    let (mut shared0, mut own0, mut alone0) = (Vec::new(), Vec::new(), Vec::new());
    // The lock's line transfer, measured in every repetition as false-sharing's is: one
    // measurement per lab moved between 31 and 168 ns across runs on this VM.
    let mut lines = Vec::new();
    for _ in 0..lab.reps() {
        lines.push(
            crate::lab::kernels::line_ping_pong_ns(cpus[0], cpus[1], LINE_ROUND_TRIPS)
                .ok_or("the line transfer between the two cores could not be measured")?,
        );
        for (k, &w) in works.iter().enumerate() {
            let n = if w == 0 {
                tasks
            } else {
                (tasks / (1 + w / 16)).max(1000)
            };
            let s = locked_tasks(&cpus, n, w, true)?;
            let o = locked_tasks(&cpus, n, w, false)?;
            ratio[k].push(s / o);
            if w == 0 {
                // The same P x n tasks, one shared lock, on one thread: the serial time.
                alone0.push(locked_tasks(&cpus[..1], n * p as u64, w, true)?);
                shared0.push(s);
                own0.push(o);
            }
        }
    }
    let per_task = |v: &[f64], k: u64| median(v) / k as f64 * 1e9;
    let c1_ns = per_task(&alone0, tasks * p as u64);
    let overhead_ns = per_task(&shared0, tasks) - per_task(&own0, tasks);
    let line = median(&lines);
    // The band's top takes the top of the line's interval, as a bound measured in the run is
    // judged at its end.
    let line_interval = crate::measure::stats::median_interval(&lines).map(|i| i.ends());
    let line_top = line_interval.map_or(line, |[_, hi]| hi);
    let expect = lock_expect(c1_ns, line_top, tol);
    let unit_ns = 1e9 / units_for(1.0) as f64;
    let points: Vec<_> = works
        .iter()
        .zip(&ratio)
        .map(|(w, r)| json!({"work_units": w, "work_ns": *w as f64 * unit_ns, "shared_over_own": median(r)}))
        .collect();
    let prediction = format!(
        "{p} threads, {tasks} empty tasks each ending with an increment of one shared Mutex, against one thread doing all {} of them: ratio between 1 and 1 + 2 x {} ns (line transfer) / {} ns (one uncontended task) = {}, with the margin {}",
        tasks * p as u64, fmt_num(line_top), fmt_num(c1_ns), fmt_num(lock_upper(c1_ns, line_top)), fmt_num(tol)
    );
    let text = points
        .iter()
        .map(|p| {
            format!(
                "{} ns of work: {}x",
                fmt_num(p["work_ns"].as_f64().unwrap_or(0.0)),
                fmt_num(p["shared_over_own"].as_f64().unwrap_or(0.0))
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let figs = figures(vec![
        ("tasks_per_thread", json!(tasks)),
        ("uncontended_task_ns", json!(c1_ns)),
        ("line_transfer_ns", json!(line)),
        ("line_transfer_ns_interval", json!(line_interval)),
        ("model_upper", json!(lock_upper(c1_ns, line_top))),
        (
            "shared_over_own_empty",
            json!(median(&shared0) / median(&own0)),
        ),
        ("lock_overhead_ns_per_task", json!(overhead_ns)),
        ("by_task_size", json!(points)),
        ("margin", json!(tol)),
    ]);
    Ok(ClaimResult::judge(
        c,
        prediction,
        Figure::paired(&shared0, &alone0),
        expect,
        // Under the negation the lock does not serialise the threads: P threads take 1/P of one
        // thread's time.
        Negation::new(
            1.0 / p as f64,
            "the lock lets the threads run in parallel",
        ),
        figs,
        |m, v| {
            format!(
                "{p} threads under one lock took {}x the time of one thread doing all their empty tasks ({} ns per task uncontended; the line-transfer model allows up to {}x). Against per-thread counters the shared lock took {}x, {} ns more per task: tasks with less work than that spend more on the lock than on their work. Shared / per-thread by task size: {text}. {}",
                fmt_num(m), fmt_num(c1_ns), fmt_num(lock_upper(c1_ns, line_top)),
                fmt_num(median(&shared0) / median(&own0)), fmt_num(overhead_ns),
                conclude(v, "The lock serialised the threads, at the cost of its line moving between the cores; its cost fades as tasks grow.", "The threads under one lock did not take what serialised tasks and line transfers predict; this run did not measure what else they paid or saved.")
            )
        },
    )
    // The model's band starts at 1 (serialised, no line paid), so it cannot tell "slower" from
    // "gains nothing": the statement's "slower than one thread" is judged alone, against the
    // effect margin.
    .with_statement_test(
        &format!("{p} threads under one lock / one thread"),
        Figure::paired(&shared0, &alone0),
        Expect::AtLeast(1.0 + crate::lab::EFFECT_MARGIN.rel),
    ))
}

/// lock-contention's upper model: serialised tasks, each with one line round trip.
pub(crate) fn lock_upper(uncontended_ns: f64, line_ns: f64) -> f64 {
    1.0 + 2.0 * line_ns / uncontended_ns.max(1e-9)
}

/// lock-contention: between serialised (1) and serialised with a line round trip per task.
pub(crate) fn lock_expect(uncontended_ns: f64, line_ns: f64, tol: f64) -> Expect {
    Expect::Between([1.0 - tol, lock_upper(uncontended_ns, line_ns) * (1.0 + tol)])
}

/// The length of one chunk of global-lock's work: CPython's default switch interval
/// (`sys.getswitchinterval()`), the time a thread holds its interpreter's lock before it is
/// asked to let go.
pub(crate) const GIL_SWITCH_INTERVAL_S: f64 = 0.005;

/// The thread counts global-lock runs on P cores: 2, 4, 8, ... below P, and P.
pub(crate) fn lock_thread_counts(p: usize) -> Vec<usize> {
    let mut v: Vec<usize> = std::iter::successors(Some(2usize), |t| Some(t * 2))
        .take_while(|&t| t < p)
        .collect();
    if p >= 2 {
        v.push(p);
    }
    v
}

/// global-lock's model: one thread's time over the time with T threads taking turns under the
/// lock (T starts, a hand-off per chunk).
pub(crate) fn global_lock_model(
    t1_s: f64,
    threads: usize,
    spawn_s: f64,
    chunks: usize,
    handoff_s: f64,
) -> f64 {
    t1_s / (t1_s + threads as f64 * spawn_s + chunks as f64 * handoff_s)
}

fn global_lock(c: &Claim, lab: &Lab) -> Result<ClaimResult, String> {
    let tol = c.margin(0);
    let expect = Expect::Between([1.0 - tol, 1.0 + tol]);
    let cpus = Topology::get().core_cpus();
    let p = cpus.len();
    if p < 2 {
        return Ok(ClaimResult::not_testable(
            c,
            expect,
            format!(
                "this process may use {p} physical core: the claim compares one core with several"
            ),
        ));
    }
    let counts = lock_thread_counts(p);
    let chunk = units_for(GIL_SWITCH_INTERVAL_S);
    // The total work: quick 8 chunks (40 ms), full 20 chunks (100 ms), as amdahl's total;
    // rounded up so that every thread count divides it.
    let lcm = counts.iter().fold(1usize, |a, &b| a * b / gcd(a, b));
    let chunks = lab.pick(8usize, 20).div_ceil(lcm) * lcm;
    let spawn_s = lab.thread_spawn_ns() / 1e9;
    let handoff_s = (lab.switch_ns().unwrap_or(0.0) + lab.line_transfer_ns().unwrap_or(0.0)) / 1e9;
    let mut of_model: Vec<Vec<f64>> = vec![Vec::new(); counts.len()];
    let mut speedup: Vec<Vec<f64>> = vec![Vec::new(); counts.len()];
    let (mut free, mut ones) = (Vec::new(), Vec::new());
    for _ in 0..lab.reps() {
        let t1 = global_lock_chunks(&cpus[..1], chunks, chunk, true)?;
        ones.push(t1);
        for (k, &t) in counts.iter().enumerate() {
            let tt = global_lock_chunks(&cpus[..t], chunks / t, chunk, true)?;
            speedup[k].push(t1 / tt);
            of_model[k].push(t1 / tt / global_lock_model(t1, t, spawn_s, chunks, handoff_s));
        }
        free.push(t1 / global_lock_chunks(&cpus, chunks / p, chunk, false)?);
    }
    let control = median(&free);
    if control < 1.0 + crate::lab::EFFECT_MARGIN.rel {
        return Ok(ClaimResult::not_testable(
            c,
            expect,
            format!(
                "without the lock the same threads gained only {}x on {p} cores in this run (other programs took them): a lock that gains nothing cannot be told from cores that gave nothing",
                fmt_num(control)
            ),
        ));
    }
    let pts: Vec<Point> = of_model
        .iter()
        .map(|r| Point {
            figure: Figure::median(r),
            expect: expect.clone(),
        })
        .collect();
    let decide = deciding_point(&pts).expect("at least one thread count");
    let t1 = median(&ones);
    let rows: Vec<_> = counts
        .iter()
        .zip(&speedup)
        .zip(&pts)
        .map(|((&t, s), pt)| {
            json!({
                "threads": t,
                "speedup": median(s),
                "model": global_lock_model(t1, t, spawn_s, chunks, handoff_s),
                "of_model": pt.figure.value,
                "of_model_interval": pt.figure.spread(),
                "verdict": pt.verdict().name(),
            })
        })
        .collect();
    let text = rows
        .iter()
        .map(|r| {
            format!(
                "{} threads {}x (model {}x, {})",
                r["threads"],
                fmt_num(r["speedup"].as_f64().unwrap_or(0.0)),
                fmt_num(r["model"].as_f64().unwrap_or(0.0)),
                r["verdict"].as_str().unwrap_or("-")
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let prediction = format!(
        "{chunks} chunks of 5 ms spin work, each under one global Mutex, on T = {counts:?} threads pinned to T cores vs one thread: speedup = T_1 / (T_1 + T x {} us start + {chunks} x {} us hand-off), about 1, within {}; the deciding T is {}",
        fmt_num(spawn_s * 1e6), fmt_num(handoff_s * 1e6), fmt_num(tol), counts[decide]
    );
    let figs = figures(vec![
        ("cores", json!(p)),
        ("chunks", json!(chunks)),
        ("chunk_ms", json!(GIL_SWITCH_INTERVAL_S * 1e3)),
        ("one_thread_s", json!(t1)),
        ("points", json!(rows)),
        ("unlocked_speedup_on_p", json!(control)),
        ("thread_spawn_us", json!(spawn_s * 1e6)),
        ("handoff_us", json!(handoff_s * 1e6)),
        ("deciding_threads", json!(counts[decide])),
        ("margin", json!(tol)),
    ]);
    Ok(ClaimResult::check(
        c,
        prediction,
        pts[decide].figure,
        pts[decide].expect.clone(),
        figs,
        |m, v| {
            format!(
                "Under one global lock: {text}; the same threads without the lock ran {}x faster than one thread on {p} cores. The deciding point, {} threads, reached {} of the model. {}",
                fmt_num(control), counts[decide], fmt_num(m),
                conclude(v, "Holding one lock around all the work let one thread run at a time: more cores gave nothing, while the same work without the lock used them.", "The threads under the global lock did not take the time serialised chunks take at the point named.")
            )
        },
    ))
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn smt_siblings(c: &Claim, lab: &Lab) -> Result<ClaimResult, String> {
    let tol = c.margin(0);
    let expect = Expect::AtLeast(1.0 + tol);
    let topo = Topology::get();
    let Some(core) = topo.cores.iter().find(|c| c.cpus.len() >= 2) else {
        return Ok(ClaimResult::not_testable(
            c,
            expect,
            format!(
                "no SMT here: each of the {} physical cores this process may use has one hardware thread (/sys/devices/system/cpu/cpu*/topology lists no allowed sibling), so there are no siblings to compare with separate cores",
                topo.physical_core_count()
            ),
        ));
    };
    let separate = topo.core_cpus();
    if separate.len() < 2 {
        return Ok(ClaimResult::not_testable(
            c,
            expect,
            "SMT siblings exist but only one physical core is allowed: nothing to compare them with".into(),
        ));
    }
    let siblings = [core.cpus[0], core.cpus[1]];
    let apart = [separate[0], separate[1]];
    // The FMA work is the loop `limits` measures the peak with: vector FMAs in inline assembly
    // (AVX-512F or AVX2+FMA, detected at run time), so it keeps the FMA units busy. (`mul_add`
    // compiled without the `fma` target feature is a call into libm per FMA: that measures call
    // throughput, not the units the siblings share.)
    let fma = FmaLoop::widest();
    let seconds = lab.pick(0.05, 0.1);
    let trips = fma.trips_for(seconds);
    let ring = chase_ring(1 << 22, 11);
    let steps = (units_for(seconds) / 32).max(1);
    let (mut fs, mut fa, mut cs, mut ca) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..lab.reps() {
        fs.push(run_pinned(&siblings, |_| fma.run(trips))?.1);
        fa.push(run_pinned(&apart, |_| fma.run(trips))?.1);
        cs.push(run_pinned(&siblings, |_| pointer_chase(&ring, steps))?.1);
        ca.push(run_pinned(&apart, |_| pointer_chase(&ring, steps))?.1);
    }
    std::hint::black_box(spin(1));
    let prediction = format!(
        "an FMA loop ({}, the loop of `limits`) on SMT siblings (CPUs {siblings:?}) vs separate cores (CPUs {apart:?}): time ratio >= 1 + margin = {}",
        fma.name(), fmt_num(1.0 + tol)
    );
    let figs = figures(vec![
        (
            "fma_siblings_over_separate",
            json!(median(&fs) / median(&fa)),
        ),
        (
            "chase_siblings_over_separate",
            json!(median(&cs) / median(&ca)),
        ),
        ("fma_loop", json!(fma.name())),
        ("margin", json!(tol)),
    ]);
    Ok(ClaimResult::judge(
        c,
        prediction,
        Figure::paired(&fs, &fa),
        expect,
        Negation::new(
            1.0,
            "two siblings of one core run the FMA loop as fast as two separate cores",
        ),
        figs,
        |m, v| {
            format!(
                "The FMA loop took {}x as long on two siblings as on two separate cores; a pointer chase took {}x. {}",
                fmt_num(m), fmt_num(median(&cs) / median(&ca)),
                conclude(v, "Siblings share the core's FMA units.", "Siblings ran the FMA loop as fast as separate cores.")
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
    fn the_transfer_bound_adds_one_line_to_each_increment() {
        assert_eq!(transfer_bound(10.0, 30.0), 4.0);
        assert_eq!(transfer_bound(5.0, 0.0), 1.0);
    }

    #[test]
    fn triangular_models() {
        // 2 cores: the second half holds about 3/4 of the work.
        let s = static_speedup(400, 2);
        assert!((s - 4.0 / 3.0).abs() < 0.01, "{s}");
        assert_eq!(stealing_speedup(400, 2), 2.0);
        assert!((static_speedup(1000, 4) - 16.0 / 7.0).abs() < 0.02);
    }

    #[test]
    fn global_lock_counts_and_model() {
        assert_eq!(lock_thread_counts(2), vec![2]);
        assert_eq!(lock_thread_counts(3), vec![2, 3]);
        assert_eq!(lock_thread_counts(8), vec![2, 4, 8]);
        assert_eq!(lock_thread_counts(7), vec![2, 4, 7]);
        assert!(lock_thread_counts(1).is_empty());
        let m = global_lock_model(0.04, 2, 15e-6, 8, 5e-6);
        assert!(m < 1.0 && m > 0.99, "{m}");
        let e = Expect::Between([0.9, 1.1]);
        assert_eq!(verdict_at(1.0 / m, &e), Verdict::Supported);
        // The lock held only around part of the work: a speedup towards T.
        assert_eq!(verdict_at(1.8 / m, &e), Verdict::NotSupported);
        // A lock that convoys in the kernel: half the speed.
        assert_eq!(verdict_at(0.5 / m, &e), Verdict::NotSupported);
        assert_eq!(gcd(12, 8), 4);
    }

    #[test]
    fn each_verdict_can_go_both_ways() {
        let m = stealing_speedup(200, 2) / static_speedup(200, 2);
        let band = Expect::Between([m * 0.97, m * 1.03]);
        assert_eq!(verdict_at(m, &band), Verdict::Supported);
        assert_eq!(
            verdict_at(1.0, &band),
            Verdict::NotSupported,
            "stealing gained nothing"
        );
        let fs = Expect::Between([1.03, 8.0]);
        assert_eq!(verdict_at(3.0, &fs), Verdict::Supported);
        assert_eq!(
            verdict_at(1.0, &fs),
            Verdict::NotSupported,
            "no false-sharing cost"
        );
        // 20 ns uncontended, 30 ns per line transfer: up to 4x; a lock that let the tasks
        // run in parallel (0.5x) or one that slept in the kernel (30x) falls outside.
        let lock = lock_expect(20.0, 30.0, 0.03);
        assert_eq!(verdict_at(2.5, &lock), Verdict::Supported);
        assert_eq!(verdict_at(0.5, &lock), Verdict::NotSupported);
        assert_eq!(verdict_at(30.0, &lock), Verdict::NotSupported);
    }
}
