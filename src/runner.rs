//! The runner: warm-up, repetitions and the sweep over cores, producing raw measurements.
//!
//! For each row of a [`RunPlan`] (sequential once, then every strategy × cores) the runner resets
//! the workload (untimed), executes it, and verifies the answer (untimed) — warm-up runs first,
//! then the timed repetitions. All rows share one shared-memory region and one workload instance,
//! and the sequential baseline is measured in the same invocation as the rows it divides.

use serde::Serialize;

use crate::machine::RunContext;
use crate::plan::RunPlan;
use crate::shm::SharedRegion;
use crate::strategy::{
    self, repetition_deadline, ExecOptions, Execution, Strategy, StrategyError, DEFAULT_STUCK_AFTER,
};
use crate::topology::Topology;
use crate::workload::{self, VerifyError, Workload};

/// The repetitions of one row.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Measurement {
    /// Strategy of the row.
    pub strategy: Strategy,
    /// Sweep value N (1 for sequential).
    pub cores: usize,
    /// More workers than the cores the strategy lets them use ([`Strategy::oversubscribed`]).
    pub(crate) oversubscribed: bool,
    /// Workers per core they may use ([`Strategy::workers_per_core`]).
    pub(crate) workers_per_core: f64,
    /// The timed repetitions (warm-ups are not kept).
    pub runs: Vec<Execution>,
}

impl Measurement {
    /// The row of `strategy` × `cores` with its timed repetitions, its oversubscription judged
    /// on this machine (on the hosts of `context`'s MPI job for `distributed`).
    fn of_row(
        strategy: Strategy,
        cores: usize,
        runs: Vec<Execution>,
        context: &RunContext,
    ) -> Measurement {
        Measurement {
            strategy,
            cores,
            oversubscribed: is_oversubscribed(strategy, cores, context),
            workers_per_core: workers_per_core(strategy, cores, context),
            runs,
        }
    }
}

/// Where the runner is, for progress displays.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Row being measured.
    pub strategy: Strategy,
    /// Its cores.
    pub cores: usize,
    /// Executions finished so far in the whole plan (warm-ups included).
    pub done: usize,
    /// Executions in the whole plan.
    pub total: usize,
    /// Seconds since the sweep started (0 before the first execution): with `done` and `total`,
    /// what an estimate of the time left is made from.
    pub elapsed_s: f64,
}

/// A run that could not produce trustworthy rows.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The workload could not be built.
    #[error(transparent)]
    Workload(#[from] workload::WorkloadError),
    /// Shared memory could not be allocated.
    #[error("allocating shared memory: {0}")]
    Shm(#[from] std::io::Error),
    /// An execution failed.
    #[error("{strategy} with {cores} cores: {source}{}", .diagnosis.as_ref().map(|d| format!("; the shared memory shows a wrong answer: {d}")).unwrap_or_default())]
    Execution {
        /// Row strategy.
        strategy: Strategy,
        /// Row cores.
        cores: usize,
        /// What failed.
        source: StrategyError,
        /// What verifying the shared memory found after the failure: an earlier part's wrong
        /// answer is often why a later stage failed (a merge of an unsorted run).
        diagnosis: Option<Box<VerifyError>>,
    },
    /// A service row (web) could not be measured.
    #[error("{strategy} with {cores} workers: {source}")]
    Service {
        /// Row strategy.
        strategy: Strategy,
        /// Row workers.
        cores: usize,
        /// What failed.
        source: crate::service::ServiceError,
    },
    /// An execution gave a wrong answer.
    #[error("{strategy} with {cores} cores gave a wrong answer: {source}")]
    WrongAnswer {
        /// Row strategy.
        strategy: Strategy,
        /// Row cores.
        cores: usize,
        /// What verification found.
        source: Box<VerifyError>,
    },
}

/// Whether `cores` workers of `strategy` outnumber the cores they may use here: one core for
/// single-core-threaded, the physical cores of this process for the spread strategies, the
/// cores of `context`'s MPI job for `distributed`.
pub(crate) fn is_oversubscribed(strategy: Strategy, cores: usize, context: &RunContext) -> bool {
    workers_per_core(strategy, cores, context) > 1.0
}

/// Workers per core they may use ([`Strategy::workers_per_core`] with this process's physical
/// cores); for `distributed`, ranks per core on the busiest host of `context`'s MPI job.
pub(crate) fn workers_per_core(strategy: Strategy, cores: usize, context: &RunContext) -> f64 {
    if strategy == Strategy::Distributed {
        if let Some(c) = &context.cluster {
            return ranks_per_core(&c.ranks, cores);
        }
    }
    strategy.workers_per_core(cores, Topology::get().physical_core_count())
}

/// Ranks `0..ranks` per core on the busiest of their hosts: a host's ranks share its physical
/// cores when the launcher left them unbound (they pin themselves to distinct ones), the CPUs of
/// their masks when it bound them.
pub(crate) fn ranks_per_core(places: &[crate::machine::RankPlace], ranks: usize) -> f64 {
    let mut hosts: Vec<&str> = places.iter().take(ranks).map(|p| p.host.as_str()).collect();
    hosts.sort_unstable();
    hosts.dedup();
    hosts
        .iter()
        .map(|h| {
            let on: Vec<&crate::machine::RankPlace> =
                places.iter().take(ranks).filter(|p| p.host == *h).collect();
            let cores = if on.iter().all(|p| p.bound) {
                let mut cpus: Vec<usize> = on
                    .iter()
                    .flat_map(|p| {
                        crate::topology::parse_cpu_list(&p.affinity_mask).unwrap_or_default()
                    })
                    .collect();
                cpus.sort_unstable();
                cpus.dedup();
                cpus.len()
            } else {
                on[0].host_physical_cores
            };
            on.len() as f64 / cores.max(1) as f64
        })
        .fold(1.0, f64::max)
}

/// One verified execution: reset the workload (untimed), run it with `strategy` on `cores` parts,
/// and check the answer (untimed). The step every repetition of the runner and every iteration
/// of the criterion benches is made of. `region` must hold the initialised workload.
pub(crate) fn run_once(
    workload: &dyn Workload,
    region: &SharedRegion,
    strategy: Strategy,
    cores: usize,
    options: &ExecOptions,
) -> Result<Execution, RunError> {
    let mem = region.mem();
    let parts = (!strategy.is_sequential()).then_some(cores);
    workload::reset(workload, mem);
    let exec = strategy::execute(strategy, workload, mem, region.raw_fd(), cores, options)
        .map_err(|source| {
            // Blame an earlier part's wrong answer when it, not the failing part, is the cause
            // (e.g. a merge that met an unsorted run).
            // A worker that never started ran nothing: the memory cannot explain it.
            // A distributed failure leaves rank 0's region half-gathered: nothing to diagnose.
            let diagnosis = (!source.is_refused_start() && strategy != Strategy::Distributed)
                .then(|| workload::verify(workload, mem, parts).err())
                .flatten()
                .filter(|d| source.part().map_or(true, |p| d.part != Some(p)))
                .map(Box::new);
            RunError::Execution {
                strategy,
                cores,
                source,
                diagnosis,
            }
        })?;
    let verified = match &exec.distributed {
        Some(d) => workload::verify_distributed(workload, mem, cores, &d.written),
        None => workload::verify(workload, mem, parts),
    };
    verified.map_err(|source| RunError::WrongAnswer {
        strategy,
        cores,
        source: Box::new(source),
    })?;
    Ok(exec)
}

/// Execute every row of `plan` with the built-in workloads, in `context` (rows completed before a
/// failure are dropped: for the experiments that need all of them).
pub(crate) fn run_plan(
    plan: &RunPlan,
    options: &ExecOptions,
    context: &RunContext,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<Measurement>, RunError> {
    let workload = workload::build(&plan.spec)?;
    run_workload(&*workload, plan, options, context, progress).map_err(|i| i.error)
}

/// The rows a sweep measured before it failed, and why it failed.
#[derive(Debug)]
pub(crate) struct Incomplete {
    /// Every row completed before the failure, in plan order.
    pub(crate) completed: Vec<Measurement>,
    /// What stopped the sweep.
    pub error: RunError,
}

/// Execute every row of `plan` with an already-built workload (a user's, for instance), in
/// `context` (the MPI job a distributed row's ranks per core are judged on). On a failure, the
/// rows completed before it come back with the error.
pub(crate) fn run_workload(
    workload: &dyn Workload,
    plan: &RunPlan,
    options: &ExecOptions,
    context: &RunContext,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<Measurement>, Incomplete> {
    let mut out = Vec::new();
    match measure_rows(workload, plan, options, context, progress, &mut out) {
        Ok(()) => Ok(out),
        Err(error) => Err(Incomplete {
            completed: out,
            error,
        }),
    }
}

/// Measure every row of `plan` for a service (`web`): each row starts its server architecture,
/// runs the load generator `warmup + reps` times and stops the server (see [`crate::service`]).
/// On a failure, the rows completed before it come back with the error.
pub(crate) fn run_service(
    config: &crate::workload::web::WebConfig,
    plan: &RunPlan,
    options: &ExecOptions,
    context: &RunContext,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<Measurement>, Incomplete> {
    let rows = plan.rows();
    let per_row = plan.warmup + plan.reps;
    let total = rows.len() * per_row;
    let started = std::time::Instant::now();
    let row_options = crate::service::RowOptions {
        worker: options.worker.clone(),
        stuck_after: options.stuck_after,
    };
    let mut out = Vec::with_capacity(rows.len());
    for (i, (strategy, cores)) in rows.into_iter().enumerate() {
        let mut done = i * per_row;
        let mut report = |done: usize| {
            progress(Progress {
                strategy,
                cores,
                done,
                total,
                elapsed_s: started.elapsed().as_secs_f64(),
            })
        };
        report(done);
        let measured = crate::service::measure_row(
            config,
            strategy,
            cores,
            plan.warmup,
            plan.reps,
            &row_options,
            &mut |_| {
                done += 1;
                report(done)
            },
        );
        match measured {
            Ok(runs) => out.push(Measurement::of_row(strategy, cores, runs, context)),
            Err(source) => {
                return Err(Incomplete {
                    completed: out,
                    error: RunError::Service {
                        strategy,
                        cores,
                        source,
                    },
                })
            }
        }
    }
    Ok(out)
}

fn measure_rows(
    workload: &dyn Workload,
    plan: &RunPlan,
    options: &ExecOptions,
    context: &RunContext,
    progress: &mut dyn FnMut(Progress),
    out: &mut Vec<Measurement>,
) -> Result<(), RunError> {
    let region = SharedRegion::new(workload.shared_bytes())?;
    workload::init(workload, region.mem());
    let rows = plan.rows();
    let per_row = plan.warmup + plan.reps;
    let total = rows.len() * per_row;
    let mut done = 0;
    let started = std::time::Instant::now();
    // A workload that knows its sequential time (io: tasks × wait) gets that much more: no
    // strategy's repetition should take longer than the twin, and a first repetition of 1,000 s
    // is not stuck.
    let expected = workload
        .expected_sequential_s()
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(std::time::Duration::ZERO, |s| {
            std::time::Duration::from_secs_f64(s.min(1e9))
        });
    let floor = options.stuck_after.unwrap_or(DEFAULT_STUCK_AFTER) + expected;
    let mut slowest_s: f64 = 0.0;
    for (strategy, cores) in rows {
        let mut runs = Vec::with_capacity(plan.reps);
        for rep in 0..per_row {
            progress(Progress {
                strategy,
                cores,
                done,
                total,
                elapsed_s: started.elapsed().as_secs_f64(),
            });
            let mut options = options.clone();
            options.deadline = Some(repetition_deadline(floor, slowest_s));
            let exec = run_once(workload, &region, strategy, cores, &options)?;
            slowest_s = slowest_s.max(exec.wall_s);
            if rep >= plan.warmup {
                runs.push(exec);
            }
            done += 1;
        }
        out.push(Measurement::of_row(strategy, cores, runs, context));
    }
    progress(Progress {
        strategy: Strategy::Sequential,
        cores: 1,
        done,
        total,
        elapsed_s: started.elapsed().as_secs_f64(),
    });
    Ok(())
}
