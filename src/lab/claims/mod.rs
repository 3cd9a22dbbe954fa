//! The claims of the lab, one file per group, and what they share.
//!
//! Each claim names its model, the outcome that would refute it and how its figure's interval
//! is computed; each file's unit tests feed the verdict figures on both sides of the
//! prediction. The groups:
//!
//! - [`concurrency`]: waiting work on one core, CPU-bound work on one core, the I/O–CPU
//!   crossover (the min(T, P/s) law);
//! - [`scaling`]: parallelism against the FMA ceiling, merge sort against its roofline, Amdahl's
//!   law on a real workload with a measured serial fraction and Gustafson's on one whose parallel
//!   work grows with the cores (both with the zero-work twin's start cost), unequal parts and the
//!   noise floor;
//! - [`memory`]: a memory-bound loop against the copy bandwidth's gain, and the superlinear step
//!   of a working set that fits the cores' private caches only when split;
//! - [`scheduling`]: time slicing (nice weights, the tick), oversubscription (switch + refill),
//!   and oversubscribed spin-waiting (a turn per round);
//! - [`processes`]: fork/exec/thread creation, a thread per task against a pool, switches that
//!   touch pages, pipes against shared memory, and the isolation check;
//! - [`sharing`]: false sharing, load imbalance and work stealing (rayon), lock contention, one
//!   global lock, SMT siblings.

use serde_json::{Map, Value};

use super::{Claim, Verdict};
use crate::analysis::{self, Row};
use crate::machine::RunContext;
use crate::plan::RunPlan;
use crate::runner;
use crate::strategy::{ExecOptions, Strategy};
use crate::workload::{self, WorkloadSpec};

pub mod concurrency;
pub mod memory;
pub mod processes;
pub mod scaling;
pub mod scheduling;
pub mod sharing;

pub(crate) use processes::serve_lab_child;

/// Every claim, in the course's order.
pub(crate) static ALL: [Claim; 23] = [
    concurrency::ONE_CORE_CONCURRENCY,
    concurrency::CPU_BOUND_ON_ONE_CORE,
    scaling::PARALLELISM_NEEDS_CORES,
    concurrency::IO_CPU_CROSSOVER,
    scheduling::TIME_SLICING,
    scaling::PARALLEL_START_FINISH,
    processes::PROCESS_CREATION,
    processes::THREAD_POOL,
    processes::CONTEXT_SWITCH,
    processes::COMMUNICATION,
    scheduling::OVERSUBSCRIPTION,
    scheduling::OVERSUBSCRIBED_SPINNING,
    processes::ISOLATION,
    scaling::MERGESORT_SCALING,
    memory::MEMORY_BOUND_SCALING,
    memory::CACHE_CAPACITY,
    scaling::AMDAHL,
    scaling::GUSTAFSON,
    sharing::FALSE_SHARING,
    sharing::WORK_STEALING,
    sharing::LOCK_CONTENTION,
    sharing::GLOBAL_LOCK,
    sharing::SMT_SIBLINGS,
];

/// Named figures for a result.
pub(crate) fn figures(pairs: Vec<(&str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// What an inconclusive explanation says instead of a conclusion.
pub(crate) const NO_CONCLUSION: &str =
    "The interval straddles the prediction, so these repetitions support no conclusion either way.";

/// `then` when the verdict is supported, `otherwise` when not supported, [`NO_CONCLUSION`]
/// when inconclusive, nothing when not testable (the result then gives its own reason:
/// [`crate::lab::ClaimResult::untestable_by_design`]).
pub(crate) fn conclude(v: Verdict, then: &str, otherwise: &str) -> String {
    match v {
        Verdict::Supported => then.to_string(),
        Verdict::NotSupported => otherwise.to_string(),
        Verdict::Inconclusive => NO_CONCLUSION.to_string(),
        Verdict::NotTestable => String::new(),
    }
}

/// Run `spec` once (one repetition, one warm-up when `warm`) for each strategy and core count:
/// the rows, with speedups against the sequential twin when it is among the strategies. One
/// call per repetition keeps every strategy of a repetition side by side, so the lab can pair
/// them. The rows are measured in this process's MPI job, if any, with no message ceilings (the
/// distributed claims give theirs: [`one_rep_in`]).
pub(crate) fn one_rep(
    spec: &WorkloadSpec,
    strategies: &[Strategy],
    cores: &[usize],
    switch_ns: Option<f64>,
) -> Result<Vec<Row>, String> {
    one_rep_in(
        &crate::cluster::context(),
        spec,
        strategies,
        cores,
        switch_ns,
    )
}

/// [`one_rep`] in `context`: its MPI job and the message ceilings its distributed rows are set
/// beside.
pub(crate) fn one_rep_in(
    context: &RunContext,
    spec: &WorkloadSpec,
    strategies: &[Strategy],
    cores: &[usize],
    switch_ns: Option<f64>,
) -> Result<Vec<Row>, String> {
    let plan = RunPlan {
        spec: spec.clone(),
        cores: cores.to_vec(),
        strategies: strategies.to_vec(),
        reps: 1,
        // Every repetition builds a fresh shared region: without a warm-up per row, the first
        // row (the sequential twin) would also pay the first touch of every page, and the
        // speedups against it would be too high (seen: 2.7x for merge sort on 2 cores).
        warmup: 1,
    };
    let ms = runner::run_plan(&plan, &ExecOptions::default(), context, &mut |_| {})
        .map_err(|e| e.to_string())?;
    let units = workload::build(&plan.spec)
        .map_err(|e| e.to_string())?
        .work_units();
    Ok(analysis::rows(
        &plan.spec.name,
        units,
        &ms,
        switch_ns,
        context,
    ))
}

/// The spec of `spec`'s zero-work twin at `threads` threads: the same run with tasks of no
/// length. For `io` that is the same spec with `wait_ms` = 0 (the same tasks and parts, no wait
/// and so no CPU work); for another workload of one stage, `threads` io tasks of no length (one
/// empty part per thread, as its own parts are one per thread). A workload of several stages has
/// barriers between them that an empty io part does not pass: refused.
pub(crate) fn zero_work_spec(spec: &WorkloadSpec, threads: usize) -> Result<WorkloadSpec, String> {
    if spec.name == "io" {
        return Ok(spec.clone().with("wait_ms", 0));
    }
    let stages = workload::build(spec)
        .map_err(|e| e.to_string())?
        .stages(threads)
        .len();
    if stages != 1 {
        return Err(format!(
            "{} has {stages} stages on {threads} parts: no zero-work twin of one stage stands for it",
            spec.name
        ));
    }
    Ok(WorkloadSpec::new("io", threads, spec.seed).with("wait_ms", 0))
}

/// Z(T), the zero-work twin, for each `T` of `threads`: `spec` run with `strategy` on T threads
/// (the same strategy, T and placement as the real row) with tasks of no length
/// ([`zero_work_spec`]), one repetition after one warm-up, as [`one_rep`] measures the real row.
/// Its time is what the run costs besides the work: the threads' starts, pinning, barriers and the
/// framework around them, measured where the real point is measured.
pub(crate) fn zero_work_twin(
    spec: &WorkloadSpec,
    strategy: Strategy,
    threads: &[usize],
    switch_ns: Option<f64>,
) -> Result<Vec<f64>, String> {
    if spec.name == "io" {
        let rows = one_rep(&zero_work_spec(spec, 1)?, &[strategy], threads, switch_ns)?;
        return Ok(threads
            .iter()
            .map(|&t| row(&rows, strategy, t).median_s)
            .collect());
    }
    threads
        .iter()
        .map(|&t| {
            let rows = one_rep(&zero_work_spec(spec, t)?, &[strategy], &[t], switch_ns)?;
            Ok(row(&rows, strategy, t).median_s)
        })
        .collect()
}

/// One run of a workload's split done serially: see [`serial_split_rep`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SplitRun {
    /// Wall time of the parts run one after another, in seconds.
    pub(crate) wall_s: f64,
    /// Involuntary context switches of the process meanwhile (as a strategy's row counts them).
    pub(crate) involuntary_switches: u64,
}

/// One repetition of `spec` split into `parts` parts run serially on the calling thread, pinned
/// to the core the one-core strategies use (the first CPU), after one warm-up, each run on a reset
/// workload and verified after timing: the same work and the same split as `single-core-threaded`
/// on `parts` threads, with no thread. Against it, a one-core threaded row's time beyond it is the
/// threads' alone, not the split's (a split runs at its own speed: row blocks of a matrix
/// multiply are not the whole multiply).
pub(crate) fn serial_split_rep(spec: &WorkloadSpec, parts: usize) -> Result<SplitRun, String> {
    use crate::measure::clock::{monotonic_ns, seconds_between};
    use crate::measure::rusage::Usage;
    let w = workload::build(spec).map_err(|e| e.to_string())?;
    let region = crate::shm::SharedRegion::new(w.shared_bytes()).map_err(|e| e.to_string())?;
    let mem = region.mem();
    workload::init(&*w, mem);
    let cpu = crate::strategy::Placement::OneCore.cpu_for(0);
    crate::topology::pin_current_thread(cpu).map_err(|e| e.to_string())?;
    let mut runs = Vec::with_capacity(2);
    for _ in 0..2 {
        workload::reset(&*w, mem);
        let before = Usage::process_and_children();
        let start = monotonic_ns();
        workload::run_parts_alone(&*w, mem, parts);
        let end = monotonic_ns();
        let usage = Usage::process_and_children().since(&before);
        runs.push(SplitRun {
            wall_s: seconds_between(start, end),
            involuntary_switches: usage.involuntary_switches,
        });
        if let Err(e) = workload::verify(&*w, mem, Some(parts)) {
            let _ = crate::topology::unpin_current_thread();
            return Err(format!(
                "{} split into {parts} parts run serially: {e}",
                spec.name
            ));
        }
    }
    crate::topology::unpin_current_thread().map_err(|e| e.to_string())?;
    Ok(runs[1])
}

/// The row of `s` at `cores` (the sequential row whatever `cores`).
pub(crate) fn row(rows: &[Row], s: Strategy, cores: usize) -> &Row {
    rows.iter()
        .find(|r| r.strategy == s && (s.is_sequential() || r.cores == cores))
        .expect("row measured")
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::super::{verdict, Expect, Figure, Verdict};

    /// The verdict the rule gives seven repetitions of `value` (± 0.1%) against `expect`.
    pub(crate) fn verdict_at(value: f64, expect: &Expect) -> Verdict {
        let samples: Vec<f64> = (0..7)
            .map(|i| value * (1.0 + (i as f64 - 3.0) * 0.0003))
            .collect();
        verdict(Some(Figure::median(&samples).spread()), expect)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_work_twin_keeps_the_run_and_drops_the_work() {
        // io: the same tasks, parts and CPU share, each of length 0.
        let io = WorkloadSpec::new("io", 16, 4)
            .with("wait_ms", 6)
            .with("cpu_share", 0.5);
        let z = zero_work_spec(&io, 8).unwrap();
        assert_eq!((z.name.as_str(), z.size, z.seed), ("io", 16, 4));
        assert_eq!(z.params["wait_ms"], "0");
        assert_eq!(z.params["cpu_share"], "0.5");
        let w = workload::build(&z).unwrap();
        assert_eq!(w.expected_sequential_s(), Some(0.0));
        // A one-stage workload: one empty io task per thread.
        let z = zero_work_spec(&WorkloadSpec::new("matmul", 64, 2), 4).unwrap();
        assert_eq!((z.name.as_str(), z.size), ("io", 4));
        assert_eq!(
            workload::build(&z).unwrap().expected_sequential_s(),
            Some(0.0)
        );
        // A workload of several stages has no such twin.
        let e = zero_work_spec(&WorkloadSpec::new("mergesort", 1 << 12, 1), 4).unwrap_err();
        assert!(e.contains("stages"), "{e}");
    }

    #[test]
    fn the_serial_split_runs_every_part_and_verifies() {
        // Structure only: a time and a count come back for each workload and part count, and
        // the verification after timing passed (an error otherwise).
        for parts in [1, 3, 4] {
            let r = serial_split_rep(&WorkloadSpec::new("matmul", 48, 2), parts).unwrap();
            assert!(r.wall_s.is_finite() && r.wall_s >= 0.0, "{r:?}");
        }
        let io = WorkloadSpec::new("io", 7, 1).with("wait_ms", 0);
        assert!(serial_split_rep(&io, 3).is_ok());
    }
}
