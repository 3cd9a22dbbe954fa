//! Validated plans: what the user asked for, checked before any work starts.
//!
//! The CLI hands over raw strings and numbers; everything that can be wrong with them is caught
//! here with a message that names the bad value (the binary turns a [`PlanError`] into exit
//! status 2). A plan that exists is runnable: its sizes fit in memory, its worker counts are sane.

use crate::machine::meminfo_bytes;
use crate::strategy::{Strategy, MAX_WORKERS};
use crate::text::format_number;
use crate::topology::Topology;
use crate::workload::{self, registry, WorkloadError, WorkloadSpec};

/// The default worker counts of a sweep on this machine: the powers of two up to its physical
/// cores (those this process may use), then the physical count itself if it is not one, then
/// twice it (oversubscribed, to show what more workers than cores cost). 1 core: 1,2; 2: 1,2,4;
/// 6: 1,2,4,6,12. `concbench run` and `cargo bench` both sweep these.
pub fn default_workers() -> Vec<usize> {
    default_workers_for(Topology::get().physical_core_count())
}

/// [`default_workers`] on a machine with `physical` physical cores.
pub(crate) fn default_workers_for(physical: usize) -> Vec<usize> {
    let physical = physical.max(1);
    let mut workers: Vec<usize> = std::iter::successors(Some(1usize), |c| c.checked_mul(2))
        .take_while(|c| *c <= physical)
        .collect();
    if workers.last() != Some(&physical) {
        workers.push(physical);
    }
    workers.push(2 * physical);
    workers
}

/// Timed repetitions per row unless told otherwise: the fewest whose order-statistic intervals
/// reach 95% for the speedup (7; 6 for a median alone).
pub(crate) const DEFAULT_REPS: usize = 7;

/// Most timed repetitions per row: far past what any interval needs.
pub(crate) const MAX_REPS: usize = 10_000;

/// Most untimed warm-up runs per row.
pub(crate) const MAX_WARMUP: usize = 1_000;

/// One core count of a sweep or a bench: 1 to [`MAX_WORKERS`].
pub(crate) fn check_core_count(cores: usize) -> Result<(), PlanError> {
    if (1..=MAX_WORKERS).contains(&cores) {
        Ok(())
    } else {
        Err(bad(format!(
            "cores {cores}: each core count must be at least 1 and at most {MAX_WORKERS}"
        )))
    }
}

/// A bad request, named precisely.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct PlanError(pub String);

fn bad(msg: impl Into<String>) -> PlanError {
    PlanError(msg.into())
}

/// A checked `concbench run` request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RunPlan {
    /// The workload and its parameters.
    pub(crate) spec: WorkloadSpec,
    /// Sweep values N: parts and workers per row, ascending, distinct.
    pub(crate) cores: Vec<usize>,
    /// Strategies in report order (sequential first when present).
    pub(crate) strategies: Vec<Strategy>,
    /// Timed repetitions per row.
    pub(crate) reps: usize,
    /// Untimed warm-up runs per row.
    pub(crate) warmup: usize,
}

/// Default problem size of a workload (its descriptor's; 64 for a name that is not built in).
pub(crate) fn default_size(workload: &str) -> usize {
    registry::find(workload).map_or(64, |d| d.default_size)
}

/// Parse a `--cores` list such as `1,2,4,8`: positive integers up to [`MAX_WORKERS`], no empty
/// items. Returns them ascending without duplicates.
pub(crate) fn parse_cores(list: &str) -> Result<Vec<usize>, PlanError> {
    if list.trim().is_empty() {
        return Err(bad("--cores is empty: give a list such as 1,2,4,8"));
    }
    let mut cores = Vec::new();
    for item in list.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err(bad(format!(
                "--cores '{list}' has an empty item: give a list such as 1,2,4,8"
            )));
        }
        let n: i64 = item.parse().map_err(|_| {
            bad(format!(
                "--cores item '{item}' is not a whole number (in '{list}')"
            ))
        })?;
        if n < 1 {
            return Err(bad(format!("--cores item '{item}' must be at least 1")));
        }
        if n as u64 > MAX_WORKERS as u64 {
            return Err(bad(format!(
                "--cores item '{item}' exceeds the limit of {MAX_WORKERS} workers"
            )));
        }
        cores.push(n as usize);
    }
    cores.sort_unstable();
    cores.dedup();
    Ok(cores)
}

/// Parse a `--strategy` list; `None` means all of them (all but `single-core-threaded` where
/// threads cannot be pinned, see [`refuse_unpinnable`]).
pub(crate) fn parse_strategies(list: Option<&str>) -> Result<Vec<Strategy>, PlanError> {
    let Some(list) = list else {
        return Ok(default_strategies());
    };
    let mut out = Vec::new();
    for item in list.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err(bad(format!("--strategy '{list}' has an empty item")));
        }
        let s: Strategy = item.parse().map_err(|e: String| bad(e))?;
        if !out.contains(&s) {
            out.push(s);
        }
    }
    refuse_unpinnable(&out)?;
    out.sort();
    Ok(out)
}

/// The strategies a run without `--strategy` (or a [`crate::sweep::Sweep`] without
/// `.strategies(..)`) measures: every one that can run here. Not `single-core-threaded` where
/// threads cannot be pinned; not `distributed` outside an MPI job of two ranks or more.
pub fn default_strategies() -> Vec<Strategy> {
    let mut all = Strategy::ALL.to_vec();
    if !crate::sys::can_pin_threads() {
        all.retain(|s| *s != Strategy::SingleCoreThreaded);
    }
    if crate::cluster::world().map_or(true, |w| w.size < 2) {
        all.retain(|s| *s != Strategy::Distributed);
    }
    all
}

/// Refuse `single-core-threaded` where threads cannot be pinned (macOS): its meaning — N threads
/// taking turns on ONE core — depends on the pin, and unpinned it would quietly measure
/// parallelism instead. The error says why and what to use instead.
pub(crate) fn refuse_unpinnable(strategies: &[Strategy]) -> Result<(), PlanError> {
    refuse_unpinnable_where(crate::sys::can_pin_threads(), strategies)
}

/// [`refuse_unpinnable`] on a platform that can (`true`) or cannot pin threads.
fn refuse_unpinnable_where(can_pin: bool, strategies: &[Strategy]) -> Result<(), PlanError> {
    if !can_pin && strategies.contains(&Strategy::SingleCoreThreaded) {
        return Err(bad(crate::sys::NO_PINNING_REASON));
    }
    Ok(())
}

/// Whether `--strategy distributed` can run up to `max_cores` parts: the binary must have MPI,
/// and `ranks` (the MPI job's size; `None`: not launched by mpirun or srun) must be at least
/// `max_cores`. One rank without a launcher is fine: a distributed run of one part moves nothing.
pub(crate) fn check_ranks(ranks: Option<usize>, max_cores: usize) -> Result<(), PlanError> {
    check_ranks_in(ranks, max_cores, crate::cluster::slurm_tasks().as_ref())
}

/// [`check_ranks`] inside the Slurm job `slurm` (if any), whose remedies the messages then name.
pub(crate) fn check_ranks_in(
    ranks: Option<usize>,
    max_cores: usize,
    slurm: Option<&crate::cluster::SlurmTasks>,
) -> Result<(), PlanError> {
    if !crate::cluster::HAS_MPI {
        return Err(bad(format!(
            "--strategy distributed needs MPI, and this concbench was built without it; {}",
            crate::cluster::BUILD_WITH_MPI
        )));
    }
    let needs = format!("--strategy distributed --cores {max_cores} needs {max_cores} MPI ranks");
    match (ranks, slurm) {
        (None, Some(job)) if max_cores > 1 => match job.step_tasks {
            Some(tasks) if tasks > 1 => Err(bad(format!(
                "{needs}, but srun started these {tasks} tasks without MPI's process management (PMIx), so each is a run of its own: launch with `srun --mpi=pmix -n {max_cores} concbench run ...` (Debian's Open MPI needs pmix; --mpi=none and --mpi=pmi2 do not start it)"
            ))),
            _ => Err(bad(format!(
                "{needs}, and this concbench was not launched by an MPI launcher: inside Slurm job {}, run it as `mpirun concbench run ...` or `srun --mpi=pmix -n {max_cores} concbench run ...`",
                job.job_id
            ))),
        },
        (None, None) if max_cores > 1 => Err(bad(format!(
            "{needs}, and this concbench was not launched by an MPI launcher: run it as `mpirun -n {max_cores} --bind-to core concbench run ...` (or under Slurm, `srun --mpi=pmix -n {max_cores} concbench run ...`)"
        ))),
        (Some(n), _) if n < max_cores => {
            let were = if n == 1 { "was" } else { "were" };
            Err(bad(match slurm {
                Some(job) => format!(
                    "{needs}, but {n} {were} launched in Slurm job {}{}: ask Slurm for {max_cores} tasks (sbatch or salloc -n {max_cores}) and launch that many, or sweep --cores up to {n}",
                    job.job_id,
                    job.job_tasks
                        .map(|t| format!(" (the job has {t} task{})", if t == 1 { "" } else { "s" }))
                        .unwrap_or_default()
                ),
                None => format!(
                    "{needs}, but {n} {were} launched: launch with `mpirun -n {max_cores}`, or sweep --cores up to {n}"
                ),
            }))
        }
        _ => Ok(()),
    }
}

/// [`check_ranks`] against this process's MPI job when `strategies` include `distributed`.
fn refuse_distributed_without_ranks(
    strategies: &[Strategy],
    cores: &[usize],
) -> Result<(), PlanError> {
    if !strategies.contains(&Strategy::Distributed) {
        return Ok(());
    }
    let ranks = crate::cluster::world().map(|w| w.size);
    check_ranks(ranks, cores.iter().copied().max().unwrap_or(1))
}

/// What `concbench run` is asked, as given (text and numbers not yet checked): the input of the
/// run pipeline, [`crate::sweep::run_request`], which validates it into a plan before any work.
/// Every field but `workload` has `concbench run`'s default (`RunRequest { workload:
/// "io".into(), ..Default::default() }`): the machine's default cores and strategies, the
/// workload's size, 7 repetitions after 1 warm-up, seed 42, no files.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The workload's name (`--workload`).
    pub workload: String,
    /// Comma list of core counts (`--cores`); `None`: [`default_workers`] for this machine's
    /// physical cores.
    pub cores: Option<String>,
    /// Comma list of strategies (`--strategy`); `None`: [`default_strategies`].
    pub strategy: Option<String>,
    /// Problem size in the workload's unit (`--size`); `None`: the workload's default.
    pub size: Option<i64>,
    /// Timed repetitions per row (`--reps`).
    pub reps: i64,
    /// Untimed warm-up runs per row (`--warmup`).
    pub warmup: i64,
    /// Seed of the generated input (`--seed`).
    pub seed: u64,
    /// The workload parameters, by key in `WorkloadSpec::params` (`("wait_ms", "10")`), in
    /// the order of their flags.
    pub params: Vec<(String, String)>,
    /// Write the report's files into this directory (`--out`): checked before any work.
    pub out: Option<std::path::PathBuf>,
    /// Draw when each part of each row ran into this directory (`--timeline`): a job's only.
    pub timeline: Option<std::path::PathBuf>,
    /// Measure the ceilings after the rows instead of reading the cached ones (`--limits`).
    pub measure_ceilings: bool,
    /// The floor of each repetition's deadline, in seconds (`--stuck-after`, default 30).
    pub stuck_after_s: Option<f64>,
    /// Testing aid: make one part fail on purpose, `(part, how)` with how `crash`,
    /// `wrong-answer` or `hang` (the CLI's hidden `--fault-part` and `--fault-kind`).
    #[doc(hidden)]
    pub fault: Option<(usize, String)>,
}

impl Default for RunRequest {
    fn default() -> RunRequest {
        RunRequest {
            workload: String::new(),
            cores: None,
            strategy: None,
            size: None,
            reps: DEFAULT_REPS as i64,
            warmup: 1,
            seed: 42,
            params: Vec::new(),
            out: None,
            timeline: None,
            measure_ceilings: false,
            stuck_after_s: None,
            fault: None,
        }
    }
}

/// Bytes of memory `workload` of `size` needs (shared region plus a copy for checks), from its
/// descriptor; `size` × 8 for a name that is not built in.
pub(crate) fn memory_needed(workload: &str, size: usize) -> u128 {
    registry::find(workload).map_or(size as u128 * 8, |d| (d.memory_needed)(size))
}

/// A parameter's value checked against its flag's range, as every workload that takes the flag
/// defines it: the message names the flag, the value and the range. Which workload takes which
/// parameter, and words such as `--kernel`'s, are the workload's own check (when it is built).
/// Returns the value as it is kept and printed: numbers in [`format_number`]'s short form
/// (`-0` is `0`; `1e-320` is not 320 digits).
fn check_param_range(name: &str, value: &str) -> Result<String, PlanError> {
    let Some((param, _)) = registry::all_params()
        .into_iter()
        .find(|(p, _)| p.name == name)
    else {
        return Ok(value.to_string());
    };
    if let registry::ParamKind::Number { min, max } = param.kind {
        return match value.trim().parse::<f64>() {
            Ok(v) if param.in_range(v) => Ok(format_number(v)),
            Ok(v) => Err(bad(format!(
                "--{} {} must be between {min} and {max}",
                param.flag,
                format_number(v)
            ))),
            Err(_) => Err(bad(param.bad_value(value).to_string())),
        };
    }
    Ok(value.to_string())
}

impl RunPlan {
    /// Check a request's options and build the plan (the request's outputs are the pipeline's
    /// to check).
    pub(crate) fn from_request(raw: &RunRequest) -> Result<RunPlan, PlanError> {
        if registry::find(&raw.workload).is_none() {
            return Err(bad(WorkloadError::Unknown(raw.workload.clone()).to_string()));
        }
        let cores = match &raw.cores {
            Some(list) => parse_cores(list)?,
            None => default_workers(),
        };
        let strategies = parse_strategies(raw.strategy.as_deref())?;
        if registry::find(&raw.workload).is_some_and(|d| d.service)
            && strategies.contains(&Strategy::Distributed)
        {
            return Err(bad(format!(
                "{} has no distributed server (MPI ranks share no socket): leave distributed out of --strategy",
                raw.workload
            )));
        }
        refuse_distributed_without_ranks(&strategies, &cores)?;
        let size = match raw.size {
            None => default_size(&raw.workload),
            Some(s) if s < 1 => return Err(bad(format!("--size {s} must be at least 1"))),
            Some(s) => s as usize,
        };
        let need = memory_needed(&raw.workload, size);
        let have = meminfo_bytes("MemAvailable")
            .or_else(|| meminfo_bytes("MemTotal"))
            .unwrap_or(u64::MAX);
        if need > have as u128 {
            return Err(bad(format!(
                "--size {size} needs {:.1} GiB for {}, but only {:.1} GiB of memory is available",
                need as f64 / (1u64 << 30) as f64,
                raw.workload,
                have as f64 / (1u64 << 30) as f64
            )));
        }
        if raw.reps < 1 || raw.reps as u64 > MAX_REPS as u64 {
            return Err(bad(format!(
                "--reps {} must be at least 1 and at most {MAX_REPS}",
                raw.reps
            )));
        }
        if raw.warmup < 0 || raw.warmup as u64 > MAX_WARMUP as u64 {
            return Err(bad(format!(
                "--warmup {} must be between 0 and {MAX_WARMUP}",
                raw.warmup
            )));
        }
        let mut spec = WorkloadSpec::new(&raw.workload, size, raw.seed);
        for (name, value) in &raw.params {
            spec = spec.with(name, check_param_range(name, value)?);
        }
        // Build once so workload-specific checks (e.g. an unknown kernel) fail here, not mid-run.
        workload::check(&spec).map_err(|e| bad(e.to_string()))?;
        Ok(RunPlan {
            spec,
            cores,
            strategies,
            reps: raw.reps as usize,
            warmup: raw.warmup as usize,
        })
    }

    /// Rows this plan produces, in order: (strategy, cores); sequential once, with cores 1.
    pub(crate) fn rows(&self) -> Vec<(Strategy, usize)> {
        let mut rows = Vec::new();
        for &s in &self.strategies {
            if s.is_sequential() {
                rows.push((s, 1));
            } else {
                rows.extend(self.cores.iter().map(|&c| (s, c)));
            }
        }
        rows
    }
}

impl RunPlan {
    /// A plan from values given in code (the [`crate::sweep::Sweep`] builder): cores between 1
    /// and [`MAX_WORKERS`], at least one strategy, at least one repetition. Cores and strategies
    /// come back sorted and without duplicates.
    pub(crate) fn new(
        spec: WorkloadSpec,
        cores: &[usize],
        strategies: &[Strategy],
        reps: usize,
        warmup: usize,
    ) -> Result<RunPlan, PlanError> {
        if cores.is_empty() {
            return Err(bad("no cores to run: give at least one core count"));
        }
        for &c in cores {
            check_core_count(c)?;
        }
        if strategies.is_empty() {
            return Err(bad("no strategies to run: give at least one"));
        }
        refuse_unpinnable(strategies)?;
        refuse_distributed_without_ranks(strategies, cores)?;
        if reps < 1 {
            return Err(bad("reps 0: at least one timed repetition is needed"));
        }
        if reps > MAX_REPS || warmup > MAX_WARMUP {
            return Err(bad(format!(
                "reps {reps}, warmup {warmup}: at most {MAX_REPS} repetitions and {MAX_WARMUP} warm-ups per row"
            )));
        }
        let mut cores = cores.to_vec();
        cores.sort_unstable();
        cores.dedup();
        let mut strategies = strategies.to_vec();
        strategies.sort();
        strategies.dedup();
        Ok(RunPlan {
            spec,
            cores,
            strategies,
            reps,
            warmup,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_workers_are_powers_of_two_then_physical_then_twice() {
        assert_eq!(default_workers_for(1), [1, 2]);
        assert_eq!(default_workers_for(2), [1, 2, 4]);
        assert_eq!(default_workers_for(3), [1, 2, 3, 6]);
        assert_eq!(default_workers_for(7), [1, 2, 4, 7, 14]);
        assert_eq!(default_workers_for(8), [1, 2, 4, 8, 16]);
        assert_eq!(default_workers_for(0), [1, 2]);
    }

    fn raw(workload: &str, cores: &str) -> RunRequest {
        RunRequest {
            workload: workload.into(),
            cores: Some(cores.into()),
            reps: 5,
            warmup: 1,
            seed: 1,
            ..RunRequest::default()
        }
    }

    #[test]
    fn cores_lists_parse_sorted_and_distinct() {
        assert_eq!(parse_cores("8,1,2,2,4").unwrap(), vec![1, 2, 4, 8]);
        assert_eq!(parse_cores(" 3 , 7 ").unwrap(), vec![3, 7]);
    }

    #[test]
    fn bad_cores_lists_name_the_bad_item() {
        for (list, needle) in [
            ("0", "'0'"),
            ("1,,2", "empty item"),
            ("abc", "'abc'"),
            ("-1", "'-1'"),
            ("", "empty"),
            ("20000", "16384"),
            ("1,2,", "empty item"),
        ] {
            let e = parse_cores(list).unwrap_err().0;
            assert!(e.contains(needle), "{list}: {e}");
        }
    }

    #[test]
    fn single_core_threaded_is_refused_only_where_threads_cannot_be_pinned() {
        let all = Strategy::ALL;
        assert!(refuse_unpinnable_where(true, &all).is_ok());
        let e = refuse_unpinnable_where(false, &all)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("single-core-threaded") && e.contains("macOS cannot pin threads"),
            "{e}"
        );
        assert!(e.contains("Linux VM"), "says what to use instead: {e}");
        assert!(!e.contains('\n'), "one line: {e}");
        let others = [
            Strategy::Sequential,
            Strategy::MultiThreaded,
            Strategy::MultiProcess,
        ];
        assert!(refuse_unpinnable_where(false, &others).is_ok());
        // Linux pins: nothing is refused and the default is every strategy that runs without an
        // MPI launcher.
        assert!(crate::sys::can_pin_threads());
        let mut all = Strategy::ALL.to_vec();
        all.retain(|s| *s != Strategy::Distributed);
        assert_eq!(parse_strategies(None).unwrap(), all);
    }

    #[test]
    fn strategies_parse_in_report_order() {
        assert_eq!(
            parse_strategies(Some("multi-process,sequential")).unwrap(),
            vec![Strategy::Sequential, Strategy::MultiProcess]
        );
        assert_eq!(parse_strategies(None).unwrap().len(), 5);
        assert!(parse_strategies(Some("fast"))
            .unwrap_err()
            .0
            .contains("'fast'"));
        assert!(parse_strategies(Some("sequential,")).is_err());
    }

    #[test]
    fn plans_reject_bad_values() {
        let check = |r: RunRequest, needle: &str| {
            let e = RunPlan::from_request(&r).unwrap_err().0;
            assert!(e.contains(needle), "{e}");
        };
        check(raw("bogus", "1"), "'bogus'");
        check(
            RunRequest {
                size: Some(0),
                ..raw("mergesort", "1")
            },
            "--size 0",
        );
        check(
            RunRequest {
                size: Some(-5),
                ..raw("io", "1")
            },
            "--size -5",
        );
        check(
            RunRequest {
                reps: 0,
                ..raw("io", "1")
            },
            "--reps 0",
        );
        check(
            RunRequest {
                warmup: -1,
                ..raw("io", "1")
            },
            "--warmup -1",
        );
        check(
            RunRequest {
                params: vec![("wait_ms".into(), "-1".into())],
                ..raw("io", "1")
            },
            "--wait-ms -1",
        );
        check(
            RunRequest {
                params: vec![("cpu_share".into(), "2".into())],
                ..raw("io", "1")
            },
            "--cpu-share 2",
        );
        check(
            RunRequest {
                size: Some(i64::MAX / 32),
                ..raw("mergesort", "1")
            },
            "available",
        );
        check(
            RunRequest {
                size: Some(10_000_000),
                ..raw("matmul", "1")
            },
            "available",
        );
        check(
            RunRequest {
                params: vec![("kernel".into(), "turbo".into())],
                ..raw("matmul", "1")
            },
            "turbo",
        );
    }

    #[test]
    fn parameter_checks_come_from_the_descriptors() {
        let with = |workload: &str, key: &str, value: &str| RunRequest {
            params: vec![(key.into(), value.into())],
            ..raw(workload, "1")
        };
        let err = |r: RunRequest| RunPlan::from_request(&r).unwrap_err().0;
        assert_eq!(
            err(with("io", "wait_ms", "70000")),
            "--wait-ms 70000 must be between 0 and 60000"
        );
        // A flag's range is checked before whether the workload takes it.
        assert_eq!(
            err(with("matmul", "cpu_share", "3")),
            "--cpu-share 3 must be between 0.0 and 1.0"
        );
        assert_eq!(
            err(with("io", "kernel", "naive")),
            "--kernel does not apply to io (it takes --wait-ms and --cpu-share)"
        );
        assert_eq!(
            err(with("matmul", "kernel", "turbo")),
            "bad value 'turbo' for --kernel (blocked, naive)"
        );
        // Test builds list a test workload after the built-in ones.
        assert!(err(raw("bogus", "1"))
            .starts_with("unknown workload 'bogus' (known: mergesort, matmul, io"));
        let p = RunPlan::from_request(&with("io", "cpu_share", "-0")).unwrap();
        assert_eq!(p.spec.params["cpu_share"], "0", "-0 is 0");
        let p = RunPlan::from_request(&with("io", "wait_ms", "1e-320")).unwrap();
        assert_eq!(p.spec.params["wait_ms"], "1e-320", "not 320 digits");
        let p = RunPlan::from_request(&with("io", "cpu_share", "0.5")).unwrap();
        assert_eq!(p.spec.params["cpu_share"], "0.5");
        assert_eq!(default_size("matmul"), 1024);
        assert_eq!(memory_needed("mergesort", 10), 240);
    }

    #[test]
    fn rows_put_sequential_once() {
        let p = RunPlan::from_request(&raw("io", "1,2")).unwrap();
        let rows = p.rows();
        assert_eq!(rows[0], (Strategy::Sequential, 1));
        assert_eq!(rows.len(), 1 + 4 * 2);
        assert_eq!(p.spec.size, 64);
    }
}

#[cfg(test)]
mod rank_tests {
    use super::*;

    #[test]
    fn distributed_needs_mpi_and_enough_ranks() {
        let err = |ranks, cores| check_ranks_in(ranks, cores, None).unwrap_err().0;
        if !crate::cluster::HAS_MPI {
            let e = err(None, 1);
            assert!(e.contains("--features mpi") && !e.contains('\n'), "{e}");
            return;
        }
        assert!(
            check_ranks_in(None, 1, None).is_ok(),
            "one part needs no launcher"
        );
        let e = err(None, 4);
        assert!(e.contains("mpirun -n 4") && !e.contains('\n'), "{e}");
        let e = err(Some(2), 3);
        assert!(
            e.contains("--cores 3") && e.contains("but 2 were launched"),
            "{e}"
        );
        assert!(check_ranks_in(Some(3), 3, None).is_ok());
        // Under Slurm the messages name Slurm's remedies.
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let batch = crate::cluster::slurm_tasks_from(vars(&[
            ("SLURM_JOB_ID", "12"),
            ("SLURM_NTASKS", "2"),
            ("SLURM_PROCID", "0"),
        ]));
        assert_eq!(batch.as_ref().map(|b| b.step_tasks), Some(None));
        let e = check_ranks_in(None, 2, batch.as_ref()).unwrap_err().0;
        assert!(
            e.contains("inside Slurm job 12") && e.contains("srun --mpi=pmix -n 2"),
            "{e}"
        );
        let e = check_ranks_in(Some(2), 3, batch.as_ref()).unwrap_err().0;
        assert!(
            e.contains("but 2 were launched in Slurm job 12 (the job has 2 tasks)")
                && e.contains("-n 3"),
            "{e}"
        );
        let step = crate::cluster::slurm_tasks_from(vars(&[
            ("SLURM_JOB_ID", "13"),
            ("SLURM_STEP_ID", "0"),
            ("SLURM_STEP_NUM_TASKS", "2"),
            ("SLURM_PROCID", "1"),
        ]));
        assert_eq!(step.as_ref().and_then(|s| s.task), Some(1));
        let e = check_ranks_in(None, 2, step.as_ref()).unwrap_err().0;
        assert!(
            e.contains("without MPI's process management") && !e.contains('\n'),
            "{e}"
        );
    }
}
