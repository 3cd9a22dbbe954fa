//! The scheduler: how one core is shared (weights, slices and the tick), what too many
//! threads cost (the switch plus refilling the cache with the next thread's data), and where
//! too many threads hurt far more: threads that spin-wait for each other at a barrier.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{conclude, figures};
use crate::lab::kernels::{run_pinned, spin, sweep_own_data, units_for, SpinBarrier};
use crate::lab::{fmt_num, Claim, ClaimResult, Expect, Figure, Kind, Lab, Negation};
use crate::measure::stats::median;
use crate::topology::Topology;

/// Time slicing by weight.
pub(crate) const TIME_SLICING: Claim = Claim {
    id: "time-slicing",
    kind: Kind::Claim,
    statement: "On one core the scheduler gives each task a share of time by its weight: tasks take turns, never run at once, and a nicer task gets less. (How long a turn lasts is Linux's scheduler's choice, acted on at its timer tick: reported here, not judged.)",
    model: "the fair scheduler's weights: nice 0 = 1024, nice 5 = 335, so two spinning threads on one CPU share it 1024 : 335 = 3.06 : 1; each turn lasts the scheduler's slice rounded up to whole timer ticks (the slice is acted on at ticks)",
    refuted_by: "the CPU-time ratio of the nice-0 and nice-5 threads, both spinning until one shared stop time, lands outside 3.06 x (1 +- margin)",
    unit: "x (nice 0 / nice 5 CPU time)",
    margins: &[NICE_STEP_MARGIN],
    run: time_slicing,
};

/// Too many threads.
pub(crate) const OVERSUBSCRIPTION: Claim = Claim {
    id: "oversubscription",
    kind: Kind::Claim,
    statement: "Too many threads slow CPU-bound work down: every switch costs the switch itself and refilling the cache with the next thread's data.",
    model: "T threads with fixed work and data of half the L2 each, on P cores: time per unit of work at 16P over that at P = 1 + (involuntary switches per core) x (c_switch + refill) / (work time), refill = 2 x data / one-core copy bandwidth; c_switch, bandwidth and switch counts measured in this run. Where that band holds 1 (the predicted effect is smaller than the value margin) the model is not testable by design. The statement alone, judged apart from the model on the same figure: the slowdown per unit of work at 16P >= 1 + the effect margin",
    refuted_by: "the slowdown per unit of work at 16P lands outside the model's value x (1 +- margin) (for example the textbook's large loss, or a gain). The statement alone is refuted by a slowdown below 1 + the effect margin: too many threads did not slow the work down by a difference a course would teach",
    unit: "x slowdown per unit of work",
    margins: &[crate::lab::VALUE_MARGIN, crate::lab::EFFECT_MARGIN],
    run: oversubscription,
};

/// Oversubscribed spin-waiting.
pub(crate) const OVERSUBSCRIBED_SPINNING: Claim = Claim {
    id: "oversubscribed-spinning",
    kind: Kind::Claim,
    statement: "Threads that spin-wait for each other (a spinning barrier) slow down far beyond the thread-count ratio once there are more threads than cores: a waiter spins away its whole turn while the thread it waits for cannot run.",
    model: "rounds of a little spin work w then a spinning barrier; P threads on P cores take about w a round. With P + 1 threads (two pinned to one core) the two on the shared core can only swap when the scheduler ends a turn, and each turn completes one round: a round takes one turn = the scheduler's slice rounded up to whole timer ticks (the tick measured from the kernel's jiffies in this run, the slice as time-slicing reads it), while a blocking barrier would take about 2w (the thread-count model, measured beside it); w = 1/20 of that turn, so the two threads' work on the shared core (2w) is a tenth of it",
    refuted_by: "the time per round with P + 1 spinning threads lies farther than the margin from one scheduler turn, either side (near the thread-count model's 2w: the spinners yielded; beyond a turn: a cost the model leaves out)",
    unit: "x (time per round, P + 1 spinning threads / one scheduler turn)",
    margins: &[crate::lab::VALUE_MARGIN],
    run: oversubscribed_spinning,
};

/// time-slicing's declared margin: half the smaller relative step from nice 5's weight to its
/// neighbours' (nice 4: 423, nice 6: 272).
pub(crate) const NICE_STEP_MARGIN: crate::lab::Margin = crate::lab::Margin {
    rel: (335.0 / 272.0 - 1.0) / 2.0,
    why: "half the smaller relative step from nice 5's weight (335) to its neighbours' (nice 4: 423, nice 6: 272; 335/272 = 1.23), so a ratio within it is nice 5's share and not a neighbouring nice value's",
};

/// The fair scheduler's weight of a nice value (`sched_prio_to_weight`).
pub(crate) fn nice_weight(nice: i32) -> f64 {
    const W: [f64; 40] = [
        88761.0, 71755.0, 56483.0, 46273.0, 36291.0, 29154.0, 23254.0, 18705.0, 14949.0, 11916.0,
        9548.0, 7620.0, 6100.0, 4904.0, 3906.0, 3121.0, 2501.0, 1991.0, 1586.0, 1277.0, 1024.0,
        820.0, 655.0, 526.0, 423.0, 335.0, 272.0, 215.0, 172.0, 137.0, 110.0, 87.0, 70.0, 56.0,
        45.0, 36.0, 29.0, 23.0, 18.0, 15.0,
    ];
    W[(nice + 20).clamp(0, 39) as usize]
}

/// The scheduler's base slice when the kernel does not show it: EEVDF's default 0.75 ms scaled
/// by 1 + log2(min(CPUs, 8)).
pub(crate) fn default_base_slice_ns(cpus: usize) -> f64 {
    0.75e6 * (1.0 + (cpus.clamp(1, 8) as f64).log2().floor())
}

/// A turn: the slice rounded up to whole ticks.
pub(crate) fn predicted_turn_ns(slice_ns: f64, tick_ns: f64) -> f64 {
    (slice_ns / tick_ns).ceil().max(1.0) * tick_ns
}

/// The oversubscription model's slowdown.
pub(crate) fn oversubscription_model(
    switches_per_core: f64,
    per_switch_s: f64,
    work_s: f64,
) -> f64 {
    1.0 + switches_per_core * per_switch_s / work_s
}

fn time_slicing(c: &Claim, lab: &Lab) -> Result<ClaimResult, String> {
    use crate::strategy::Placement;
    use crate::timeline::{Kind as TKind, Timeline, TimelineConfig};
    let cpu = Topology::get().first_cpu();
    let duration = Duration::from_millis(lab.pick(400, 1000));
    let tick = lab.tick_ns();
    let predicted = nice_weight(0) / nice_weight(5);
    let tol = c.margin(0);
    let expect = Expect::Between([predicted * (1.0 - tol), predicted * (1.0 + tol)]);
    let (mut nice0, mut nice5, mut window) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..lab.reps() {
        // One stop time for both threads, set by whichever runs first: each thread's CPU time is
        // its share of the same window (a deadline per thread, set when it is first scheduled,
        // let the two windows differ by up to a slice).
        let stop: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        let (spans, _) = run_pinned(&[cpu, cpu], |i| {
            if i == 1 && crate::sys::set_thread_nice(5).is_err() {
                return None;
            }
            let before = crate::sys::thread_cpu_time()?;
            let end = *stop.get_or_init(|| Instant::now() + duration);
            let mut x = 0u64;
            while Instant::now() < end {
                x = crate::lab::kernels::spin(1000).wrapping_add(x);
            }
            std::hint::black_box(x);
            crate::sys::thread_cpu_time().map(|d| (d - before).as_secs_f64())
        })?;
        let (Some(a), Some(b)) = (spans[0].value, spans[1].value) else {
            return Ok(ClaimResult::not_testable(
                c,
                expect,
                "this process cannot set a thread's nice value or read its CPU time".into(),
            ));
        };
        nice0.push(a);
        nice5.push(b);
        window.push((a + b) / duration.as_secs_f64());
    }
    // The turn and the overlap, from one timeline of two spinning threads on one CPU.
    let config = TimelineConfig::new(2, Placement::OneCore, TKind::Thread, lab.pick(150, 300))?;
    let t = Timeline::record_config(&config).map_err(|e| e.to_string())?;
    let (slice_ns, slice_from) = match crate::sys::kernel_slice_ns() {
        Some((f, ns)) => (ns as f64, f.to_string()),
        None => (
            default_base_slice_ns(crate::sys::allowed_cpus().map_or(1, |c| c.len())),
            "not readable here: EEVDF's default 0.75 ms x (1 + log2(CPUs)) assumed".into(),
        ),
    };
    let turn = tick.map(|k| predicted_turn_ns(slice_ns, k) / 1e6);
    let prediction = format!(
        "two spinning threads pinned to one CPU, nice 0 and nice 5, until one stop time {} ms after the first starts: CPU-time ratio 1024 / 335 = {} within {}",
        duration.as_millis(), fmt_num(predicted), fmt_num(tol)
    );
    let figs = figures(vec![
        ("predicted_ratio", json!(predicted)),
        ("nice0_cpu_s_median", json!(median(&nice0))),
        ("nice5_cpu_s_median", json!(median(&nice5))),
        ("tick_ms", json!(tick.map(|k| k / 1e6))),
        ("base_slice_ms", json!(slice_ns / 1e6)),
        ("base_slice_source", json!(slice_from)),
        ("turn_predicted_ms", json!(turn)),
        ("turn_measured_ms", json!(t.observed_slice_ms)),
        ("overlap_share_check", json!(t.overlap_share)),
        ("cpu_time_share_of_window", json!(median(&window))),
        ("margin", json!(tol)),
    ]);
    let picture = crate::timeline::render::svg(&t);
    Ok(ClaimResult::judge(
        c,
        prediction,
        Figure::paired(&nice0, &nice5),
        expect,
        Negation::new(
            1.0,
            "the scheduler shares one CPU equally, whatever the nice values",
        ),
        figs,
        |m, v| {
            format!(
                "The nice-0 thread got {}x the CPU time of the nice-5 thread (weights predict {}). In a timeline of two equal threads on one CPU each turn lasted {} (predicted: a {} ms slice rounded up to {} ms ticks = {}), and they ran at the same time during {}% of the wall time (a check: on one CPU they cannot). {}",
                fmt_num(m), fmt_num(predicted),
                t.observed_slice_ms.map_or("- (no switch seen)".into(), |s| format!("{} ms", fmt_num(s))),
                fmt_num(slice_ns / 1e6), tick.map_or("-".into(), |k| fmt_num(k / 1e6)),
                turn.map_or("-".into(), |x| format!("{} ms", fmt_num(x))),
                fmt_num(t.overlap_share * 100.0),
                conclude(v, "The CPU was shared by weight, as the fair scheduler's table says.", "The CPU was not shared by the weights' ratio.")
            )
        },
    )
    .with_picture(picture))
}

fn oversubscription(c: &Claim, lab: &Lab) -> Result<ClaimResult, String> {
    let cpus = Topology::get().core_cpus();
    let p = cpus.len();
    let (tol, effect) = (c.margin(0), c.margin(1));
    let l2 = crate::sys::cache_bytes(2).unwrap_or(1 << 20);
    let words = l2 / 2 / 8;
    let passes = lab.pick(150, 400);
    let counts = [p, 4 * p, 16 * p];
    let bw = lab
        .ceilings()
        .and_then(|c| c.bandwidth(1))
        .ok_or("the copy bandwidth could not be measured")?
        * 1e9;
    let refill_s = 2.0 * (words * 8) as f64 / bw;
    let sw_s = lab.switch_ns().unwrap_or(0.0) / 1e9;
    let (mut base, mut many, mut inv, mut work) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..lab.reps() {
        let mut per_unit = Vec::new();
        for &t in &counts {
            let placement: Vec<usize> = (0..t).map(|i| cpus[i % p]).collect();
            let before = crate::sys::resource_usage(crate::sys::UsageScope::Process);
            let (_, wall) = run_pinned(&placement, |i| {
                let mut data: Vec<u64> = (0..words as u64).map(|w| w ^ i as u64).collect();
                sweep_own_data(&mut data, passes)
            })?;
            let after = crate::sys::resource_usage(crate::sys::UsageScope::Process);
            if t == 16 * p {
                let d = match (before, after) {
                    (Some(b), Some(a)) => (a.involuntary_switches - b.involuntary_switches) as f64,
                    _ => 0.0,
                };
                inv.push(d / p as f64);
            }
            per_unit.push(wall / (t / p) as f64);
        }
        base.push(per_unit[0]);
        many.push(per_unit[2]);
        work.push(per_unit[0] * 16.0);
    }
    let model = oversubscription_model(median(&inv), sw_s + refill_s, median(&work));
    let expect = Expect::Between([model * (1.0 - tol), model * (1.0 + tol)]);
    let prediction = format!(
        "{} threads of {} KiB each (half the {} KiB L2) on {p} cores, fixed work per thread: time per unit of work at 16P / at P = {} (= 1 + {} switches per core x ({} us switch + {} us refill) / {} s of work) within {}; the statement alone: that slowdown >= 1 + {} = {}",
        16 * p, words * 8 / 1024, l2 / 1024, fmt_num(model), fmt_num(median(&inv)),
        fmt_num(sw_s * 1e6), fmt_num(refill_s * 1e6), fmt_num(median(&work)), fmt_num(tol),
        fmt_num(effect), fmt_num(1.0 + effect)
    );
    let figs = figures(vec![
        ("thread_counts", json!(counts)),
        ("data_per_thread_bytes", json!(words * 8)),
        ("l2_bytes", json!(l2)),
        ("time_per_unit_at_p_s", json!(median(&base))),
        ("time_per_unit_at_16p_s", json!(median(&many))),
        ("involuntary_switches_per_core_16p", json!(median(&inv))),
        ("switch_us", json!(sw_s * 1e6)),
        ("refill_us", json!(refill_s * 1e6)),
        ("model_slowdown", json!(model)),
        ("margin", json!(tol)),
        ("effect_margin", json!(effect)),
    ]);
    let slowdown = Figure::paired(&many, &base);
    // Decided from the prediction before the figure is read: a band that holds 1 (no slowdown,
    // the statement's negation) cannot tell the claim from its negation, so it is not tested.
    let negation = Negation::new(
        1.0,
        "extra threads cost nothing (no slowdown per unit of work)",
    )
    .because(&format!(
        "the predicted effect (+{}%) is smaller than the margin ({}%), so the predicted band holds 1 (no slowdown, the statement's negation) and no figure could tell the claim from its negation",
        fmt_num((model - 1.0) * 100.0),
        fmt_num(tol * 100.0)
    ));
    let r = ClaimResult::judge(c, prediction, slowdown, expect, negation, figs, |m, v| {
        format!(
                "With {} threads instead of {p}, each unit of work took {}x as long; the kernel counted {} involuntary switches per core, and at {} us per switch plus {} us to refill a thread's data the model predicts {}x. {}",
                16 * p, fmt_num(m), fmt_num(median(&inv)), fmt_num(sw_s * 1e6), fmt_num(refill_s * 1e6), fmt_num(model),
                conclude(v, "Extra threads cost what their switches and cache refills cost, and no more: with slices of milliseconds that is little.", "The slowdown is not what switches and refills account for.")
            )
    });
    // The statement ("too many threads slow CPU-bound work down") is about the slowdown, not
    // about the switch-and-refill model: judged on the same figure, apart from the model (and
    // whether or not the model is testable), against 1 + the effect margin.
    Ok(r.with_statement_test(
        &format!("slowdown per unit of work, {} threads / {p}", 16 * p),
        slowdown,
        Expect::AtLeast(1.0 + effect),
    ))
}

/// `rounds` rounds of `work` spin units then a barrier, on one thread per entry of `placement`
/// (a spinning barrier when `spinning`, else std's blocking one): seconds per round.
fn barrier_rounds(
    placement: &[usize],
    rounds: usize,
    work: u64,
    spinning: bool,
) -> Result<f64, String> {
    let spin_b = SpinBarrier::new(placement.len());
    let block_b = std::sync::Barrier::new(placement.len());
    // Far beyond any turn: a spinner never preempted would otherwise hang the lab.
    let deadline = Instant::now() + Duration::from_secs(60);
    let (spans, wall) = run_pinned(placement, |_| -> Result<(), String> {
        for _ in 0..rounds {
            std::hint::black_box(spin(work));
            if spinning {
                spin_b.wait(deadline)?;
            } else {
                block_b.wait();
            }
        }
        Ok(())
    })?;
    for s in spans {
        s.value?;
    }
    Ok(wall / rounds as f64)
}

/// The time a thread keeps a CPU shared with another runnable one: the slice rounded up to
/// whole ticks, with where the slice came from.
fn turn_ns(tick_ns: f64) -> (f64, String) {
    let (slice_ns, from) = match crate::sys::kernel_slice_ns() {
        Some((f, ns)) => (ns as f64, f.to_string()),
        None => (
            default_base_slice_ns(crate::sys::allowed_cpus().map_or(1, |c| c.len())),
            "not readable here: EEVDF's default 0.75 ms x (1 + log2(CPUs)) assumed".into(),
        ),
    };
    (
        predicted_turn_ns(slice_ns, tick_ns),
        format!(
            "a {} ms slice ({from}) rounded up to {} ms ticks",
            fmt_num(slice_ns / 1e6),
            fmt_num(tick_ns / 1e6)
        ),
    )
}

fn oversubscribed_spinning(c: &Claim, lab: &Lab) -> Result<ClaimResult, String> {
    let tol = c.margin(0);
    let expect = Expect::Between([1.0 - tol, 1.0 + tol]);
    let Some(tick) = lab.tick_ns() else {
        return Ok(ClaimResult::not_testable(
            c,
            expect,
            "the kernel's timer tick cannot be read here, so no turn can be predicted".into(),
        ));
    };
    let cpus = Topology::get().core_cpus();
    let p = cpus.len();
    let (turn, turn_from) = turn_ns(tick);
    let work = units_for(turn / 20.0 / 1e9);
    let rounds = lab.pick(25, 50);
    let own: Vec<usize> = cpus.clone();
    let over: Vec<usize> = (0..=p).map(|i| cpus[i % p]).collect();
    let (mut at_p, mut spun, mut blocked, mut of_turn) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..lab.reps() {
        let a = barrier_rounds(&own, rounds, work, true)?;
        let s = barrier_rounds(&over, rounds, work, true)?;
        let b = barrier_rounds(&over, rounds, work, false)?;
        at_p.push(a);
        spun.push(s);
        blocked.push(b);
        of_turn.push(s / (turn / 1e9));
    }
    let ratio = (p + 1) as f64 / p as f64;
    let slow = median(&spun) / median(&at_p);
    let slow_blocked = median(&blocked) / median(&at_p);
    let prediction = format!(
        "{rounds} rounds of {} us of spin work and a spinning barrier, {} threads on {p} cores (two pinned to one): time per round = one turn = {} ms ({turn_from}) within {}",
        fmt_num(turn / 20.0 / 1e3), p + 1, fmt_num(turn / 1e6), fmt_num(tol)
    );
    let figs = figures(vec![
        ("cores", json!(p)),
        ("rounds", json!(rounds)),
        ("work_us", json!(turn / 20.0 / 1e3)),
        ("turn_predicted_ms", json!(turn / 1e6)),
        ("turn_source", json!(turn_from)),
        ("round_us_p_spinning", json!(median(&at_p) * 1e6)),
        ("round_us_p_plus_1_spinning", json!(median(&spun) * 1e6)),
        ("round_us_p_plus_1_blocking", json!(median(&blocked) * 1e6)),
        ("thread_count_ratio", json!(ratio)),
        ("slowdown_spinning", json!(slow)),
        ("slowdown_blocking", json!(slow_blocked)),
        ("margin", json!(tol)),
    ]);
    Ok(ClaimResult::judge(
        c,
        prediction,
        Figure::median(&of_turn),
        expect,
        // Under the negation a spinning waiter costs only its thread's share of the cores: a round
        // takes (P + 1) / P of the round on P cores, in units of one turn.
        Negation::new(
            ratio * median(&at_p) / (turn / 1e9),
            "a spinning waiter costs no more than its thread's share of the cores",
        ),
        figs,
        |m, v| {
            format!(
                "With {p} spinning threads on {p} cores a round took {} us; with {} threads on those cores {} ms ({}x, against a thread-count ratio of {}), which is {} of one predicted turn of {} ms. With a blocking barrier the same {} threads took {} us a round ({}x). {}",
                fmt_num(median(&at_p) * 1e6), p + 1, fmt_num(median(&spun) * 1e3), fmt_num(slow), fmt_num(ratio), fmt_num(m), fmt_num(turn / 1e6),
                p + 1, fmt_num(median(&blocked) * 1e6), fmt_num(slow_blocked),
                conclude(v, "A spinning waiter kept its core for its whole turn while the thread it waited for sat in the run queue: each round cost a scheduler turn, far beyond the extra thread's share; waiters that block cost only that share.", "The spinning threads' rounds did not take one scheduler turn each.")
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
    fn weights_slices_and_turns() {
        let step = (nice_weight(4) / nice_weight(5)).min(nice_weight(5) / nice_weight(6)) - 1.0;
        assert!((NICE_STEP_MARGIN.rel - step / 2.0).abs() < 1e-12);
        assert!((nice_weight(0) / nice_weight(5) - 3.0567).abs() < 1e-3);
        assert_eq!(default_base_slice_ns(2), 1.5e6);
        assert_eq!(default_base_slice_ns(64), 3.0e6);
        // A 1.5 ms slice acted on at 4 ms ticks is a 4 ms turn; at 1 ms ticks, 2 ms.
        assert_eq!(predicted_turn_ns(1.5e6, 4e6), 4e6);
        assert_eq!(predicted_turn_ns(1.5e6, 1e6), 2e6);
        assert!(oversubscription_model(100.0, 1e-5, 1.0) > 1.0);
    }

    #[test]
    fn each_verdict_can_go_both_ways() {
        let r = nice_weight(0) / nice_weight(5);
        let e = Expect::Between([r * 0.9, r * 1.1]);
        assert_eq!(verdict_at(3.0, &e), Verdict::Supported);
        assert_eq!(verdict_at(1.0, &e), Verdict::NotSupported, "nice ignored");
        // The statement alone: a slowdown of 1.5 per unit of work slows the work down; 1.02
        // (within the effect margin) does not, whatever the model says.
        let more = Expect::AtLeast(1.0 + crate::lab::EFFECT_MARGIN.rel);
        assert_eq!(verdict_at(1.5, &more), Verdict::Supported);
        assert_eq!(verdict_at(1.02, &more), Verdict::NotSupported);
        let m = oversubscription_model(200.0, 60e-6, 0.3);
        let o = Expect::Between([m * 0.97, m * 1.03]);
        assert_eq!(verdict_at(m, &o), Verdict::Supported);
        assert_eq!(verdict_at(1.5, &o), Verdict::NotSupported, "a large loss");
        // Spinning rounds of one 4 ms turn; spinners that yielded would take about 2w = 0.4 ms.
        let t = Expect::Between([0.9, 1.1]);
        assert_eq!(verdict_at(3.9 / 4.0, &t), Verdict::Supported);
        assert_eq!(
            verdict_at(0.4 / 4.0, &t),
            Verdict::NotSupported,
            "spinners yielded"
        );
        assert_eq!(
            verdict_at(8.0 / 4.0, &t),
            Verdict::NotSupported,
            "two turns a round"
        );
    }

    #[test]
    fn barrier_rounds_run_spinning_and_blocking() {
        let cpus = Topology::get().core_cpus();
        let over: Vec<usize> = (0..=cpus.len()).map(|i| cpus[i % cpus.len()]).collect();
        assert!(barrier_rounds(&cpus, 5, 10, true).unwrap() > 0.0);
        assert!(barrier_rounds(&over, 3, 10, false).unwrap() > 0.0);
    }
}
