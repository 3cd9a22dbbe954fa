//! The lab's claims about async tasks: concurrency without threads, the user-space switch, and
//! cooperative scheduling that does not slice time.
//!
//! Each uses the library the way the other claims do (the runner for `single-thread-async`
//! against `single-core-threaded`, the ping-pong for the task switch) or, for cooperative
//! scheduling, two tasks on the same `current_thread` runtime the strategy uses. The first two
//! predictions can fail: tasks could fail to overlap their waits, or threads pay more or less
//! than their starts, and a task switch could cost as much as a kernel switch. Cooperative
//! scheduling is a check: a `current_thread` runtime cannot preempt a task by construction.

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::{fmt_num, Claim, ClaimResult, Expect, Figure, Lab, Negation, Verdict};
use crate::experiment::switch_cost::{self, Case, Kind, Mechanism, PingPlacement, PingPongPlan};
use crate::measure::clock::monotonic_ns;
use crate::measure::stats::median;
use crate::plan::RunPlan;
use crate::runner::{self, Measurement};
use crate::strategy::{ExecOptions, Strategy};
use crate::topology::{self, Topology};
use crate::workload::io::burn_cpu_time;
use crate::workload::WorkloadSpec;

/// The async claims, in the course's order (after those of [`super::claims`]).
pub(crate) static ALL: [Claim; 3] = [
    Claim {
        id: "concurrency-without-threads",
        kind: super::Kind::Claim,
        statement: "Concurrency needs no threads: I/O-bound tasks interleaved on ONE thread (an event loop) overlap their waits as well as the same tasks on as many threads do.",
        model: "waits overlap whoever runs them: N overlapped waits of W end after W on threads and after W + delta on tasks, delta between 0 and two of tokio's 1 ms timer ticks (a deadline is rounded up to the next tick and the runtime parks for whole ticks); as N threads on one core they take W + Z_threads and as tasks W + Z_tasks + delta, Z being each side's zero-work twin measured in this run (the same N parts with waits of length 0: the threads' serial starts on that core, the runtime's set-up and the tasks' spawns); so threads' time / tasks' time lies between (W + Z_threads) / (W + Z_tasks + 2 ms) and (W + Z_threads) / (W + Z_tasks). W is set so that the timer's two ticks are at most half the effect margin of it (W >= 2 ms x (2/m - 1), rounded up to 10 ms), and N from an empty thread's start c_spawn measured before the run so that the starts are twice what lifts the band's lower end above 1 (N c_spawn >= 2 ((W + 2 ms) / (1 - m) - W), a multiple of 64, at most 4,096: the threads' starts are then a term the model must get right, not a rounding error). The statement's negation, tasks on one thread that do not overlap their waits, takes N x W on the tasks' side, so its figure is (W + Z_threads) / (N W), far below the band. The statement alone, judged on the waits' spans (first part's start to last part's end, which leaves the threads' starts out: they all start before any waits), can fail only if the tasks overlap their waits worse than the threads",
        refuted_by: "threads' time / tasks' time outside that band x (1 -+ margin): below it the tasks did not overlap their waits on one thread (or the threads paid less than their starts), above it the threads paid more than their starts. The statement alone is refuted by threads' wait span / tasks' wait span below 1 - margin: the tasks' waits overlapped worse than the threads'",
        unit: "x (threads time / tasks time)",
        margins: &[crate::lab::VALUE_MARGIN, crate::lab::EFFECT_MARGIN],
        run: concurrency_without_threads,
    },
    Claim {
        id: "task-switch-cost",
        kind: super::Kind::Claim,
        statement: "A switch between async tasks happens in user space and costs far less than a kernel context switch.",
        model: "a task switch is a return to the runtime and a poll of the next task, with no system call, so it costs less than one entry into the kernel: one system call / task switch >= 1, with c_syscall one of the cheapest system calls (getppid on Unix, GetThreadTimes on Windows), so that the bound is the strictest a kernel entry sets. Both sides are measured in each repetition on the same CPU: 3 batches of 1000 calls (after 1000 untimed) right before and right after each repetition of the task ping-pong (two tasks on one thread passing a token over channels; task switch = round trip / 2), the call's cost the mean of the two sides' medians, so that the figure is the median of paired ratios and drift of the CPU's speed cancels. A kernel context switch, measured in the same run by the same ping-pong between two threads on one CPU over pipes, costs several system calls; the negation, a task switch as costly as a thread switch, puts the figure at c_syscall / thread switch, far below 1",
        refuted_by: "one system call / task switch below 1: the task switch's path through the runtime cost more than entering the kernel once. The statement alone is refuted by thread switch / task switch (paired per repetition: each task repetition is followed by one of the threads) below 1 + the effect margin",
        unit: "x (system call / task switch)",
        margins: &[crate::lab::EFFECT_MARGIN],
        run: task_switch_cost,
    },
    Claim {
        id: "cooperative-scheduling",
        kind: super::Kind::Check,
        statement: "Cooperative scheduling does not slice time: a task that computes without yielding holds the thread, and a task whose wait is over is delayed until the other yields.",
        model: "by construction: a current_thread runtime polls one task at a time and regains the thread only when the task returns, so a task whose 1 ms sleep ends while another task computes S ms of CPU time without yielding wakes after that task returns, at least S - 1 ms late (delay / (S - 1 ms) >= 1, and more where other programs stretch the CPU time in wall time); with a yield point every 1 ms it wakes within about 1 ms. This is a check of the mechanism, not a test of a prediction that could fail on a working runtime",
        refuted_by: "nothing on a working runtime: the check fails only if the waiting task woke before the computation was done (delay / (S - 1 ms) below 1 - margin), which would mean something preempted it",
        unit: "x (delay / compute time left)",
        margins: &[crate::lab::CHECK_MARGIN],
        run: cooperative_scheduling,
    },
];

/// concurrency-without-threads: threads' time (W + Z_threads) over tasks' time (W + Z_tasks plus
/// up to two 1 ms timer ticks), within the margin; Z is each side's zero-work twin (the same run
/// with waits of length 0: the threads' starts, or the runtime's set-up and the tasks' spawns).
fn concurrency_expect(wait_s: f64, threads_extra_s: f64, tasks_extra_s: f64, tol: f64) -> Expect {
    let threads = wait_s + threads_extra_s;
    Expect::Between([
        threads / (wait_s + tasks_extra_s + TOKIO_LATE_S) * (1.0 - tol),
        threads / (wait_s + tasks_extra_s) * (1.0 + tol),
    ])
}

/// The wait W of concurrency-without-threads, ms: the smallest multiple of 10 ms at which
/// `late_s` (the timer's lateness, [`TOKIO_LATE_S`]) is at most half of `effect` (the effect
/// margin) of the wait, so that W / (W + late) >= 1 - effect / 2: a statement test at
/// 1 - effect then judges how the tasks overlap their waits, not the timer's ticks.
fn wait_for_margin_ms(late_s: f64, effect: f64) -> f64 {
    let least_ms = late_s * 1e3 * (2.0 / effect - 1.0);
    (least_ms / 10.0 - 1e-9).ceil() * 10.0
}

/// The number of tasks N of concurrency-without-threads: enough that the threads' serial starts
/// (N x `spawn_s`, the start cost measured before the run) are twice what lifts the model's band
/// clear of 1 (no cost of starting): (W + N c_spawn) / (W + late) x (1 - tol) > 1 needs
/// N c_spawn > (W + late) / (1 - tol) - W. Rounded up to a multiple of 64, between 64 and 4,096.
fn tasks_for_starts(wait_s: f64, late_s: f64, spawn_s: f64, tol: f64) -> usize {
    let least_s = (wait_s + late_s) / (1.0 - tol) - wait_s;
    let n = (2.0 * least_s / spawn_s.max(1e-9)).ceil() as usize;
    n.next_multiple_of(64).clamp(64, 4096)
}

/// concurrency-without-threads's statement: the tasks overlap their waits as well as the
/// threads (threads' wait span / tasks' wait span at least 1 - the effect margin).
fn overlap_expect(effect: f64) -> Expect {
    Expect::AtLeast(1.0 - effect)
}

/// The span of one execution's waits: from its first part's start to its last part's end, from
/// the parts' own clock readings (the threads' starts come before: each thread is started and
/// ready before any part begins).
fn wait_span_s(e: &crate::strategy::Execution) -> f64 {
    let first = e.parts.iter().map(|p| p.start_ns).min().unwrap_or(0);
    let last = e.parts.iter().map(|p| p.end_ns).max().unwrap_or(first);
    last.saturating_sub(first) as f64 / 1e9
}

/// How late a tokio sleep may end: its deadline is rounded up to the next 1 ms tick of the timer
/// wheel and the runtime parks for whole milliseconds from the current tick (docs/switches.md):
/// up to two ticks.
const TOKIO_LATE_S: f64 = 2e-3;

/// task-switch-cost: batches of 1000 system calls timed before and after each repetition.
const SYSCALL_BATCHES: usize = 3;

/// task-switch-cost: a task switch, which enters no kernel, costs less than one system call.
fn switch_expect() -> Expect {
    Expect::AtLeast(1.0)
}

/// cooperative-scheduling: the waiting task is held for the whole computation left.
fn cooperative_expect(tol: f64) -> Expect {
    Expect::AtLeast(1.0 - tol)
}

fn figures(pairs: Vec<(&str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn walls(m: &Measurement) -> Vec<f64> {
    m.runs.iter().map(|r| r.wall_s).collect()
}

fn kernel_switches(m: &Measurement) -> u64 {
    let all: Vec<f64> = m
        .runs
        .iter()
        .map(|r| (r.usage.voluntary_switches + r.usage.involuntary_switches) as f64)
        .collect();
    median(&all) as u64
}

fn concurrency_without_threads(c: &Claim, lab: &Lab) -> Result<ClaimResult, String> {
    let (tol, effect) = (c.margin(0), c.margin(1));
    let wait_ms = wait_for_margin_ms(TOKIO_LATE_S, effect);
    let spawn_s = lab.thread_spawn_ns() / 1e9;
    let tasks = tasks_for_starts(wait_ms / 1e3, TOKIO_LATE_S, spawn_s, tol);
    let spec = WorkloadSpec::new("io", tasks, 1).with("wait_ms", wait_ms);
    let plan = RunPlan {
        spec: spec.clone(),
        cores: vec![tasks],
        strategies: vec![Strategy::SingleCoreThreaded, Strategy::SingleThreadAsync],
        reps: lab.reps(),
        warmup: 1,
    };
    let ms = runner::run_plan(&plan, &ExecOptions::default(), lab.context(), &mut |_| {})
        .map_err(|e| e.to_string())?;
    let find = |s: Strategy| ms.iter().find(|m| m.strategy == s).expect("row measured");
    let (threads, tasks_row) = (
        find(Strategy::SingleCoreThreaded),
        find(Strategy::SingleThreadAsync),
    );
    let (t_threads, t_tasks) = (walls(threads), walls(tasks_row));
    let spans = |m: &Measurement| m.runs.iter().map(wait_span_s).collect::<Vec<f64>>();
    let (span_threads, span_tasks) = (spans(threads), spans(tasks_row));
    let (sw_threads, sw_tasks) = (kernel_switches(threads), kernel_switches(tasks_row));
    // Each side's zero-work twin, once per repetition after the rows: what the threads' starts
    // (and the runtime's set-up) cost where the rows ran, measured rather than taken from an
    // empty thread's start, which leaves out the strategy's stacks, pinning and barrier.
    let (mut z_threads, mut z_tasks) = (Vec::new(), Vec::new());
    for _ in 0..lab.reps() {
        for (s, z) in [
            (Strategy::SingleCoreThreaded, &mut z_threads),
            (Strategy::SingleThreadAsync, &mut z_tasks),
        ] {
            z.push(super::claims::zero_work_twin(&spec, s, &[tasks], lab.switch_ns())?[0]);
        }
    }
    let (z_thr, z_task) = (median(&z_threads), median(&z_tasks));
    let expect = concurrency_expect(wait_ms / 1e3, z_thr, z_task, tol);
    let figs = figures(vec![
        ("tasks", json!(tasks)),
        ("wait_ms", json!(wait_ms)),
        ("threads_s", json!(median(&t_threads))),
        ("tasks_s", json!(median(&t_tasks))),
        ("threads_wait_span_s", json!(median(&span_threads))),
        ("tasks_wait_span_s", json!(median(&span_tasks))),
        ("ideal_s", json!(wait_ms / 1e3)),
        ("kernel_switches_threads", json!(sw_threads)),
        ("kernel_switches_tasks", json!(sw_tasks)),
        ("thread_spawn_us", json!(spawn_s * 1e6)),
        ("zero_work_twin_threads_s", json!(z_thr)),
        ("zero_work_twin_tasks_s", json!(z_task)),
        ("margin", json!(tol)),
        ("effect_margin", json!(effect)),
    ]);
    let (lo, hi) = match expect {
        Expect::Between([a, b]) => (a, b),
        _ => (f64::NAN, f64::NAN),
    };
    // The statement's negation: the tasks on one thread do not overlap their waits, so they
    // take N x W one after another while the threads take W + Z_threads.
    let negation = Negation::new(
        (wait_ms / 1e3 + z_thr) / (tasks as f64 * wait_ms / 1e3),
        "tasks on one thread do not overlap their waits (N x W one after another)",
    );
    let prediction = format!(
        "{tasks} waits of {wait_ms} ms as {tasks} threads on one core and as {tasks} tasks on one thread: threads' time / tasks' time = ({wait_ms} ms + Z_threads {} ms) / ({wait_ms} ms + Z_tasks {} ms + 0 to 2 ms), Z each side's zero-work twin, between {} and {} with the margin {}; the statement alone: threads' wait span / tasks' wait span (first part's start to last part's end, the threads' starts left out) >= 1 - effect margin = {} (W = {wait_ms} ms puts the timer's 2 ms at most half that margin)",
        fmt_num(z_thr * 1e3), fmt_num(z_task * 1e3), fmt_num(lo), fmt_num(hi), fmt_num(tol), fmt_num(1.0 - effect)
    );
    let judged = ClaimResult::judge(
        c,
        prediction,
        Figure::ratio(&t_threads, &t_tasks),
        expect,
        negation,
        figs,
        |m, v| {
            format!(
                "{tasks} waits of {wait_ms} ms took {} s as {tasks} threads on one core and {} s as {tasks} async tasks on one thread (ideal {} s; tokio's timers tick every millisecond): the tasks ran at {}x the thread speed. From the first part's start to the last part's end (the threads' starts left out) the waits spanned {} s on the threads and {} s on the tasks. The kernel counted {sw_threads} context switches for the threads and {sw_tasks} for the tasks, whose switches happen in user space. {}",
                fmt_num(median(&t_threads)),
                fmt_num(median(&t_tasks)),
                fmt_num(wait_ms / 1e3),
                fmt_num(m),
                fmt_num(median(&span_threads)),
                fmt_num(median(&span_tasks)),
                match v {
                    Verdict::NotTestable => "",
                    Verdict::Supported => "One thread was enough for this concurrency: the tasks overlapped their waits, and the threads paid their starts.",
                    Verdict::NotSupported => "The ratio is not what overlapped waits and serial thread starts predict.",
                    _ => super::claims::NO_CONCLUSION,
                }
            )
        },
    );
    // The statement ("overlap their waits as well as threads") is about the waits, not about
    // the threads' starts, which the wall times carry: judged on the spans of the waits.
    Ok(judged.with_statement_test(
        "threads' wait span / tasks' wait span",
        Figure::ratio(&span_threads, &span_tasks),
        overlap_expect(effect),
    ))
}

fn task_switch_cost(c: &Claim, lab: &Lab) -> Result<ClaimResult, String> {
    let round_trips = lab.pick(5_000, 20_000);
    let reps = lab.reps();
    let one_rep = PingPongPlan::new(round_trips, 1)?;
    let thread_case = Case {
        kind: Kind::Thread,
        placement: PingPlacement::SameCore,
        mechanism: Mechanism::Pipe,
    };
    // Each repetition of the task ping-pong is bracketed by batches of system calls on the
    // same CPU, so that each task switch is compared with the kernel entry of its own moment,
    // and followed by a repetition of the threads' ping-pong, for the statement's own figure.
    let (mut task_ns, mut thread_ns, mut syscall_ns) = (Vec::new(), Vec::new(), Vec::new());
    let (mut task_kernel_switches, mut thread_kernel_switches) = (0.0, 0.0);
    for _ in 0..reps {
        let before = lab.syscall_batches_ns(SYSCALL_BATCHES)?;
        let task = switch_cost::measure(Case::task(), &one_rep).map_err(|e| e.to_string())?;
        let after = lab.syscall_batches_ns(SYSCALL_BATCHES)?;
        let thread = switch_cost::measure(thread_case, &one_rep).map_err(|e| e.to_string())?;
        syscall_ns.push((median(&before) + median(&after)) / 2.0);
        task_ns.push(task.switch_ns);
        thread_ns.push(thread.switch_ns);
        task_kernel_switches += task.switches_per_round_trip / reps as f64;
        thread_kernel_switches += thread.switches_per_round_trip / reps as f64;
    }
    lab.record_syscall_ns(
        &syscall_ns,
        &format!("median over {reps} repetitions of task-switch-cost, each the mean of the medians of {SYSCALL_BATCHES} batches of 1000 calls (after 1000 untimed) right before and right after one repetition of the task ping-pong"),
    );
    let (syscall, task_switch, thread_switch) =
        (median(&syscall_ns), median(&task_ns), median(&thread_ns));
    let statement_figure = Figure::paired(&thread_ns, &task_ns);
    let figs = figures(vec![
        ("thread_switch_ns", json!(thread_switch)),
        ("task_switch_ns", json!(task_switch)),
        ("syscall_ns", json!(syscall)),
        ("thread_switch_ns_per_rep", json!(thread_ns)),
        ("task_switch_ns_per_rep", json!(task_ns)),
        ("syscall_ns_per_rep", json!(syscall_ns)),
        (
            "thread_kernel_switches_per_round_trip",
            json!(thread_kernel_switches),
        ),
        (
            "task_kernel_switches_per_round_trip",
            json!(task_kernel_switches),
        ),
        ("round_trips", json!(round_trips)),
    ]);
    let prediction = format!(
        "one system call ({}) / task switch (two tasks on one thread, channels) >= 1, paired per repetition: the task switch enters no kernel",
        crate::sys::CHEAP_SYSCALL
    );
    Ok(ClaimResult::judge(
        c,
        prediction,
        Figure::paired(&syscall_ns, &task_ns),
        switch_expect(),
        Negation::new(
            syscall / thread_switch,
            "a task switch costs what a thread switch does",
        ),
        figs,
        |m, v| {
            format!(
                "Two tasks on one thread passing a token over channels switched in {} ns ({} kernel switches per round trip); one {} call, timed beside each repetition on the same CPU, took {} ns: a system call costs {}x a task switch. Two threads on one CPU passing the token over pipes switched in {} ns (system calls included, {} kernel switches per round trip): {}x a task switch. {}",
                fmt_num(task_switch),
                fmt_num(task_kernel_switches),
                crate::sys::CHEAP_SYSCALL,
                fmt_num(syscall),
                fmt_num(m),
                fmt_num(thread_switch),
                fmt_num(thread_kernel_switches),
                fmt_num(statement_figure.value),
                match v {
                    Verdict::Supported => "A task switch is a return to the runtime and a poll of the next task, cheaper than entering the kernel once; a kernel switch enters the kernel and saves and restores a whole thread.",
                    Verdict::NotSupported => "The task switch's path through the runtime (the channel, the waker, the poll) cost more than one kernel entry here: the model's bound fails, whatever the statement's own figure says.",
                    Verdict::Inconclusive => "The spread does not decide.",
                    Verdict::NotTestable => "",
                }
            )
        },
    )
    .with_statement_test(
        "thread switch / task switch, paired per repetition",
        statement_figure,
        Expect::AtLeast(1.0 + c.margin(0)),
    ))
}

/// The wake-up delay of a task sleeping `sleep` beside a task computing `compute` of CPU time on
/// the same thread (pinned to `cpu`), yielding every `yield_every` of it (`None`: never), in ns
/// past the end of the sleep.
fn wake_delay_ns(
    cpu: usize,
    sleep: Duration,
    compute: Duration,
    yield_every: Option<Duration>,
) -> Result<u64, String> {
    std::thread::scope(|s| {
        s.spawn(|| -> Result<u64, String> {
            topology::pin_current_thread(cpu).map_err(|e| e.to_string())?;
            let rt = crate::strategy::tasks::runtime().map_err(|e| e.to_string())?;
            let local = tokio::task::LocalSet::new();
            rt.block_on(local.run_until(async move {
                let t0 = monotonic_ns();
                // Spawned first, so it is polled first and its timer is set before the other
                // task starts computing.
                let waiter = tokio::task::spawn_local(async move {
                    tokio::time::sleep(sleep).await;
                    monotonic_ns()
                });
                let hog = tokio::task::spawn_local(async move {
                    match yield_every {
                        None => burn_cpu_time(compute),
                        Some(piece) => {
                            let mut left = compute;
                            while !left.is_zero() {
                                let p = piece.min(left);
                                burn_cpu_time(p);
                                left -= p;
                                tokio::task::yield_now().await;
                            }
                        }
                    }
                });
                let woke = waiter.await.map_err(|e| e.to_string())?;
                hog.await.map_err(|e| e.to_string())?;
                Ok(woke.saturating_sub(t0 + sleep.as_nanos() as u64))
            }))
        })
        .join()
        .map_err(|_| "the task thread panicked".to_string())?
    })
}

fn cooperative_scheduling(c: &Claim, lab: &Lab) -> Result<ClaimResult, String> {
    let tol = c.margin(0);
    let cpu = Topology::get().first_cpu();
    let sleep = Duration::from_millis(1);
    let compute = Duration::from_millis(lab.pick(20, 40));
    let left_ns = (compute - sleep).as_nanos() as f64;
    let (mut held, mut yielding) = (Vec::new(), Vec::new());
    for _ in 0..lab.reps() {
        held.push(wake_delay_ns(cpu, sleep, compute, None)? as f64);
        yielding.push(wake_delay_ns(cpu, sleep, compute, Some(Duration::from_millis(1)))? as f64);
    }
    let shares: Vec<f64> = held.iter().map(|d| d / left_ns).collect();
    let (held_ms, yield_ms) = (median(&held) / 1e6, median(&yielding) / 1e6);
    let figs = figures(vec![
        ("sleep_ms", json!(1)),
        ("compute_ms", json!(compute.as_millis() as u64)),
        ("delay_without_yield_ms", json!(held_ms)),
        ("delay_with_yield_every_1ms_ms", json!(yield_ms)),
    ]);
    let prediction = format!(
        "a task sleeping 1 ms beside a task computing {} ms of CPU time without a yield point: wake-up delay / compute time left >= 1 - margin = {}",
        compute.as_millis(),
        fmt_num(1.0 - tol)
    );
    Ok(ClaimResult::check(
        c,
        prediction,
        Figure::median(&shares),
        cooperative_expect(tol),
        figs,
        |m, _| {
            format!(
                "A task asked to sleep 1 ms while another task on the same thread computed {} ms without yielding: it woke {} ms late, {}x of the computation left when its timer expired. Nothing preempts a task: the runtime only regains the thread when the task returns (the computation is CPU time, which other programs on a busy machine stretch in wall time). With a yield point every 1 ms the same wake-up was {} ms late.",
                compute.as_millis(),
                fmt_num(held_ms),
                fmt_num(m),
                fmt_num(yield_ms)
            )
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::verdict;

    fn judged(samples: &[f64], expect: &Expect) -> Verdict {
        verdict(Some(Figure::median(samples).spread()), expect)
    }

    #[test]
    fn the_tasks_make_the_starts_visible() {
        // W = 40 ms, 2 ms late, 10%: the band clears 1 once N c_spawn > 42 / 0.9 - 40 = 6.67 ms;
        // twice that at 26 us a start is 513 threads, so 576.
        let n = tasks_for_starts(0.04, 2e-3, 26e-6, 0.1);
        assert_eq!(n, 576);
        assert!(!crate::lab::predicts_no_effect(
            &concurrency_expect(0.04, n as f64 * 26e-6, 0.0, 0.1),
            1.0
        ));
        // A quarter as many would leave the band holding 1.
        assert!(crate::lab::predicts_no_effect(
            &concurrency_expect(0.04, (n / 4) as f64 * 26e-6, 0.0, 0.1),
            1.0
        ));
        // A start of 1 ns would need millions: capped at 4,096.
        assert_eq!(tasks_for_starts(0.04, 2e-3, 1e-9, 0.1), 4096);
    }

    #[test]
    fn the_wait_puts_the_timer_under_half_the_margin() {
        // 2 ms of lateness, a 10% margin: W >= 38 ms, so 40 ms; W / (W + 2 ms) >= 0.95.
        assert_eq!(wait_for_margin_ms(2e-3, 0.1), 40.0);
        let w = wait_for_margin_ms(TOKIO_LATE_S, 0.1) / 1e3;
        assert!(w / (w + TOKIO_LATE_S) >= 1.0 - 0.1 / 2.0);
        // A multiple of 10 ms exactly: no step up. A 20% margin: 18 ms, so 20 ms.
        assert_eq!(wait_for_margin_ms(40e-3 / 19.0, 0.1), 40.0);
        assert_eq!(wait_for_margin_ms(2e-3, 0.2), 20.0);
    }

    #[test]
    fn each_async_verdict_can_go_both_ways() {
        let tol = 0.05;
        // 256 starts of 33 us beside 10 ms waits: threads 1.54x to 1.85x the tasks' time;
        // tasks that serialised, or threads as fast as tasks, fall outside.
        let e = concurrency_expect(0.01, 256.0 * 33e-6, 0.0, tol);
        assert_eq!(judged(&[1.75; 7], &e), Verdict::Supported);
        assert_eq!(judged(&[1.0; 7], &e), Verdict::NotSupported);
        assert_eq!(judged(&[0.1; 7], &e), Verdict::NotSupported);
        // The statement alone: spans as long as the threads' (or the threads' longer) hold it;
        // tasks whose waits overlapped worse (a fifth longer), or ran one after another, do not.
        let e = overlap_expect(0.1);
        assert_eq!(judged(&[1.0; 7], &e), Verdict::Supported);
        assert_eq!(judged(&[1.05; 7], &e), Verdict::Supported);
        assert_eq!(judged(&[1.0 / 1.2; 7], &e), Verdict::NotSupported);
        assert_eq!(judged(&[1.0 / 128.0; 7], &e), Verdict::NotSupported);
        // A task switch cheaper than a system call (a call 1.6x a switch), or dearer than it
        // (a call a third of a switch); the negation, a switch as dear as a thread switch of
        // 2 us against a 160 ns call, sits far outside.
        let e = switch_expect();
        assert_eq!(judged(&[1.6; 7], &e), Verdict::Supported);
        assert_eq!(judged(&[0.3; 7], &e), Verdict::NotSupported);
        assert!(!crate::lab::predicts_no_effect(&e, 160.0 / 2000.0));
        // Held for the whole computation, or woken by a preemption after a tenth of it.
        let e = cooperative_expect(tol);
        assert_eq!(judged(&[1.0; 7], &e), Verdict::Supported);
        assert_eq!(judged(&[0.1; 7], &e), Verdict::NotSupported);
        // A spread across the threshold decides nothing.
        let straddling = [0.5, 0.7, 0.9, 1.0, 1.1, 1.3, 1.5];
        assert_eq!(judged(&straddling, &e), Verdict::Inconclusive);
    }
}
