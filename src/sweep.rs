//! Running a sweep from code: [`Sweep`], the library's one entry point for what `concbench run`
//! does — warm-up and timed repetitions of every strategy × core count, every repetition
//! verified, the rows analysed into a [`RunReport`] that any reporter renders. The report comes
//! out complete: with the same-core switch cost that prices each row's switches, the rows whose
//! CPUs ran slow flagged, and the machine's ceilings beside the rows, as `concbench run` prints
//! it (the CLI is a user of this module, not a second pipeline).
//!
//! ```
//! use concbench::strategy::Strategy;
//! use concbench::sweep::Sweep;
//! use concbench::workload::{self, WorkloadSpec};
//!
//! let workload = workload::build(&WorkloadSpec::new("io", 4, 1).with("wait_ms", 1))?;
//! let report = Sweep::new(&*workload)
//!     .cores([1, 2])
//!     .strategies([Strategy::Sequential, Strategy::SingleCoreThreaded])
//!     .reps(1)
//!     .warmup(0)
//!     .run()?;
//! assert_eq!(report.rows.len(), 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::child::WorkerCommand;
use crate::experiment::ceilings::{CeilingError, Ceilings, LimitsOptions};
use crate::machine::{Machine, Watch};
use crate::plan::RunPlan;
use crate::report::RunReport;
use crate::runner::{self, Measurement};
use crate::strategy::{ExecOptions, Strategy};
use crate::workload::Workload;

mod bench;
mod request;
pub use crate::plan::{default_strategies, default_workers, PlanError, RunRequest};
pub use crate::runner::{Progress, RunError};
pub use bench::Bench;
pub use request::{run_request, RunEvent, RunOutcome};

/// A sweep being set up: a workload, the core counts and strategies to run it with, and how
/// often. Every setter has a default (see [`Sweep::new`]); [`Sweep::run`] validates, measures
/// and analyses.
pub struct Sweep<'w> {
    subject: Subject<'w>,
    cores: Vec<usize>,
    strategies: Vec<Strategy>,
    reps: usize,
    warmup: usize,
    /// The plan given to [`Sweep::from_plan`], already validated; dropped by any setter that
    /// changes what it holds.
    planned: Option<RunPlan>,
    options: ExecOptions,
    switch_cost: SwitchCost,
    ceilings: CeilingSource,
    progress: Option<Box<dyn FnMut(Progress) + 'w>>,
}

/// Where the same-core context-switch cost that turns each row's switch count into its
/// `switch_overhead` comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum SwitchCost {
    /// None: every `switch_overhead` is 0.
    None,
    /// This many ns (measured elsewhere).
    Given(f64),
    /// Measured before the first row by a short pipe ping-pong
    /// (`crate::experiment::switch_cost::quick_same_core_switch_ns`); where that fails, the
    /// report's `method.switch_cost_note` says why and the overheads are 0.
    Measure,
}

/// Where the machine's ceilings (copy bandwidth, peak FLOP/s) beside each row come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CeilingSource {
    /// No ceilings in the report.
    None,
    /// The ones `concbench limits` cached for this machine, if any.
    Cached,
    /// Measured after the rows (`LimitsOptions::quick`, about a second), and cached.
    Measure,
}

/// Why a sweep produced no complete report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SweepError {
    /// The sweep asked for something invalid (no cores, zero repetitions, ...).
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The ceilings could not be measured ([`CeilingSource::Measure`]).
    #[error("measuring the ceilings: {0}")]
    Ceilings(#[from] CeilingError),
    /// The result files could not be written ([`run_request`]'s `out` and `timeline`).
    #[error("writing the result files: {0}")]
    Write(#[source] std::io::Error),
    /// A row could not be measured or gave a wrong answer; the rows measured before it are kept.
    #[error("{source}")]
    Run {
        /// What went wrong.
        #[source]
        source: RunError,
        /// The report of the rows completed before the failure (`None` if none was).
        partial: Option<Box<PartialRun>>,
    },
}

/// The rows of a sweep that failed part-way, analysed like a complete one. Its `Debug` is one
/// line (how many rows), so that `main` returning a [`SweepError`] prints the failure, not every
/// repetition of every row.
pub struct PartialRun {
    /// The report of the completed rows.
    pub report: RunReport,
}

impl std::fmt::Debug for PartialRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PartialRun {{ {} rows measured before the failure }}",
            self.report.rows.len()
        )
    }
}

/// What a sweep measures: a job of parts, or a service (requests over sockets).
enum Subject<'w> {
    Job(&'w dyn Workload),
    Service(
        crate::workload::web::WebConfig,
        crate::workload::WorkloadSpec,
    ),
}

impl<'w> Sweep<'w> {
    /// A sweep of `workload` with the defaults of `concbench run`: the core counts of
    /// [`crate::plan::default_workers`] (powers of two up to the physical cores this process may
    /// use, that count, and twice it, oversubscribed), every strategy that can run here
    /// ([`crate::plan::default_strategies`]), 7 repetitions after 1 warm-up (enough for 95%
    /// intervals of the medians and the speedups), worker processes from this program when its
    /// `main` began with [`crate::serve_if_child`], else from a concbench binary
    /// (`$CONCBENCH_EXE`, or one beside this program or one directory up),
    /// the switch cost measured before the rows ([`SwitchCost::Measure`]) and the cached
    /// ceilings beside them ([`CeilingSource::Cached`]).
    pub fn new(workload: &'w dyn Workload) -> Sweep<'w> {
        Sweep::of(Subject::Job(workload))
    }

    /// A sweep of a service (`web`): every strategy × cores is a server architecture with that
    /// many workers, loaded by concbench's own load generator with the spec's requests,
    /// connections and rate (see [`crate::service`]). The spec is checked here; running it
    /// raises the open-files soft limit to the hard one when the connections need more, and
    /// refuses (before any row) when even the hard limit is too low.
    ///
    /// ```no_run
    /// use concbench::strategy::Strategy;
    /// use concbench::sweep::Sweep;
    /// use concbench::workload::WorkloadSpec;
    ///
    /// let spec = WorkloadSpec::new("web", 2000, 1).with("wait_ms", 10).with("connections", 64);
    /// let report = Sweep::service(&spec)?
    ///     .cores([64])
    ///     .strategies([Strategy::Sequential, Strategy::SingleThreadAsync])
    ///     .run()?;
    /// let web = report.rows[1].web.as_ref().unwrap();
    /// println!("{:.0} requests/s, p99 {:.1} ms", web.requests_per_s, web.latency.p99_s * 1e3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn service(
        spec: &crate::workload::WorkloadSpec,
    ) -> Result<Sweep<'w>, crate::workload::WorkloadError> {
        let config = crate::workload::web::WebConfig::from_spec(spec)?;
        Ok(Sweep::of(Subject::Service(config, spec.clone())))
    }

    fn of(subject: Subject<'w>) -> Sweep<'w> {
        Sweep {
            subject,
            cores: crate::plan::default_workers(),
            strategies: crate::plan::default_strategies(),
            reps: crate::plan::DEFAULT_REPS,
            warmup: 1,
            planned: None,
            options: ExecOptions::default(),
            switch_cost: SwitchCost::Measure,
            ceilings: CeilingSource::Cached,
            progress: None,
        }
    }

    /// A sweep of `workload` as `plan` describes it (cores, strategies, repetitions); what the
    /// CLI does with the plan it validated. `plan.spec` should be `workload.spec()`.
    pub(crate) fn from_plan(workload: &'w dyn Workload, plan: &RunPlan) -> Sweep<'w> {
        Sweep::new(workload).with_plan(plan)
    }

    /// Run this validated plan (its cores, strategies, repetitions and warm-up): kept as it is,
    /// not taken apart and validated again, unless a setter changes it afterwards.
    pub(crate) fn with_plan(mut self, plan: &RunPlan) -> Sweep<'w> {
        self.cores.clone_from(&plan.cores);
        self.strategies.clone_from(&plan.strategies);
        self.reps = plan.reps;
        self.warmup = plan.warmup;
        self.planned = Some(plan.clone());
        self
    }

    /// The sweep values N: parts and workers per row (any order; duplicates are dropped).
    pub fn cores(mut self, cores: impl IntoIterator<Item = usize>) -> Sweep<'w> {
        self.cores = cores.into_iter().collect();
        self.planned = None;
        self
    }

    /// The strategies (any order; reports put them in the usual order).
    pub fn strategies(mut self, strategies: impl IntoIterator<Item = Strategy>) -> Sweep<'w> {
        self.strategies = strategies.into_iter().collect();
        self.planned = None;
        self
    }

    /// Timed repetitions per row (at least 1).
    pub fn reps(mut self, reps: usize) -> Sweep<'w> {
        self.reps = reps;
        self.planned = None;
        self
    }

    /// Untimed warm-up runs per row.
    pub fn warmup(mut self, warmup: usize) -> Sweep<'w> {
        self.warmup = warmup;
        self.planned = None;
        self
    }

    /// How to start `multi-process` workers: for a workload of your own, the program that
    /// serves it ([`WorkerCommand::this_executable`] when its `main` starts with
    /// [`crate::serve_if_child`] and a factory that knows the workload).
    pub fn worker(mut self, command: WorkerCommand) -> Sweep<'w> {
        self.options.worker = Some(command);
        self
    }

    /// Testing aid: make one part fail on purpose (a worker process crashes or skips its work,
    /// a thread panics), so tests can check how failures are reported. The CLI's hidden
    /// `--fault-part` and `--fault-kind` reach it through [`run_request`].
    pub(crate) fn inject_fault_for_testing(mut self, fault: crate::child::Fault) -> Sweep<'w> {
        self.options.fault = Some(fault);
        self
    }

    /// The floor of each repetition's deadline: a repetition still running after this plus 20
    /// times the slowest repetition so far counts as stuck (worker processes are killed and
    /// named; a stuck thread is named and the process exits with status 1, since a thread
    /// cannot be stopped). Default 30 s.
    pub fn stuck_after(mut self, floor: std::time::Duration) -> Sweep<'w> {
        self.options.stuck_after = Some(floor);
        self
    }

    /// Where the same-core context-switch cost comes from (default: [`SwitchCost::Measure`]).
    pub fn switch_cost(mut self, source: SwitchCost) -> Sweep<'w> {
        self.switch_cost = source;
        self
    }

    /// Where the ceilings beside the rows come from (default: [`CeilingSource::Cached`]).
    pub fn ceilings(mut self, source: CeilingSource) -> Sweep<'w> {
        self.ceilings = source;
        self
    }

    /// Called before every execution (warm-ups included) and once at the end, for a progress
    /// display.
    pub fn on_progress(mut self, progress: impl FnMut(Progress) + 'w) -> Sweep<'w> {
        self.progress = Some(Box::new(progress));
        self
    }

    /// The validated plan this sweep will run.
    pub(crate) fn plan(&self) -> Result<RunPlan, PlanError> {
        if let Some(plan) = &self.planned {
            return Ok(plan.clone());
        }
        let spec = match &self.subject {
            Subject::Job(w) => w.spec().clone(),
            Subject::Service(_, spec) => spec.clone(),
        };
        RunPlan::new(spec, &self.cores, &self.strategies, self.reps, self.warmup)
    }

    /// Validate, measure every row (each repetition verified) and analyse them. Around the
    /// measurement the machine is watched (`Watch`): what other programs took of the CPUs goes
    /// into the report's machine block, and a fixed CPU probe before every row and after the last
    /// flags the rows whose CPUs ran slow.
    pub fn run(self) -> Result<RunReport, SweepError> {
        self.run_keeping_measurements().map(|(report, _)| report)
    }

    /// [`Sweep::run`], also returning the raw repetitions (for timelines of the parts).
    pub(crate) fn run_keeping_measurements(
        mut self,
    ) -> Result<(RunReport, Vec<Measurement>), SweepError> {
        let plan = self.plan()?;
        // Worker processes need a program that serves them: found now, before any row, so a
        // sweep that cannot start them is refused rather than failing after its first rows.
        if self.options.worker.is_none() && plan.strategies.contains(&Strategy::MultiProcess) {
            self.options.worker = Some(WorkerCommand::locate_concbench().map_err(PlanError)?);
        }
        let (switch_cost_ns, switch_cost_note) = match self.switch_cost {
            SwitchCost::None => (None, None),
            SwitchCost::Given(ns) => (Some(ns), None),
            SwitchCost::Measure => {
                match crate::experiment::switch_cost::quick_same_core_switch_ns() {
                    Ok(ns) => (Some(ns), None),
                    Err(e) => (
                        None,
                        Some(format!(
                            "no switch cost measured ({e}), so every switch_overhead is 0"
                        )),
                    ),
                }
            }
        };
        // What the rows are measured in: the MPI job this process is rank 0 of, if any. The
        // machine block names the job as MPI started it, described before the message ping-pong
        // below; the distributed rows carry the bandwidth they are set beside.
        let mut context = crate::cluster::context();
        let mut machine = Machine::describe(&context);
        if plan.strategies.contains(&Strategy::Distributed) {
            // Once, before the rows and the watch, untimed: what the rows' communication is set
            // beside (nothing outside a job of two or more ranks).
            crate::cluster::measure_messages_into(&mut context);
        }
        let mut progress = self.progress.take();
        let mut watch = Watch::start();
        let mut row = None;
        let mut on_progress = |p: Progress| {
            // A new row (not the first, probed at the start; not the end): probe between them.
            if p.done < p.total && row != Some((p.strategy, p.cores)) {
                if row.is_some() {
                    watch.probe();
                }
                row = Some((p.strategy, p.cores));
            }
            if let Some(f) = progress.as_mut() {
                f(p)
            }
        };
        let (result, units) = match &self.subject {
            Subject::Job(w) => (
                runner::run_workload(*w, &plan, &self.options, &context, &mut on_progress),
                w.work_units(),
            ),
            Subject::Service(config, _) => {
                // The CLI says so when it raises the limit; a library user reads it in the docs.
                crate::service::make_room_for(config.connections)
                    .map_err(|e| PlanError(e.to_string()))?;
                (
                    runner::run_service(config, &plan, &self.options, &context, &mut on_progress),
                    crate::workload::WorkUnits {
                        count: config.requests as f64,
                        unit: "requests",
                    },
                )
            }
        };
        let best = watch.finish(&mut machine);
        let build = |measurements: &[Measurement]| {
            let mut report = RunReport::build(
                machine.clone(),
                &plan,
                units,
                measurements,
                switch_cost_ns,
                &context,
            );
            report.method.switch_cost_note.clone_from(&switch_cost_note);
            if let Some(best) = best {
                crate::analysis::flag_slow_cpus(&mut report.rows, watch.rounds(), best);
            }
            report
        };
        match result {
            Ok(measurements) => {
                let mut report = build(&measurements);
                report.ceilings = self.ceilings_beside(&report)?;
                Ok((report, measurements))
            }
            Err(incomplete) => Err(SweepError::Run {
                source: incomplete.error,
                partial: (!incomplete.completed.is_empty()).then(|| {
                    Box::new(PartialRun {
                        report: build(&incomplete.completed),
                    })
                }),
            }),
        }
    }

    /// The ceilings of this machine beside the rows of `report`, from [`Sweep::ceilings`].
    fn ceilings_beside(
        &self,
        report: &RunReport,
    ) -> Result<Option<crate::report::RunCeilings>, SweepError> {
        use crate::experiment::ceilings::{provenance, row_ceilings};
        let (ceilings, cached) = match self.ceilings {
            CeilingSource::None => return Ok(None),
            CeilingSource::Measure => {
                let c = Ceilings::measure(&LimitsOptions::quick())?;
                // A cache that cannot be written costs the next run a measurement, nothing more.
                let _ = c.save_cached();
                (c, false)
            }
            CeilingSource::Cached => match Ceilings::load_cached() {
                Some(c) => (c, true),
                None => return Ok(None),
            },
        };
        Ok(Some(crate::report::RunCeilings {
            provenance: provenance(&ceilings, cached, crate::machine::unix_now()),
            rows: row_ceilings(&report.rows, &ceilings),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::Strategy;
    use crate::workload::WorkloadSpec;

    #[test]
    fn a_sweep_has_a_verified_row_per_strategy_and_cores() {
        let spec = WorkloadSpec::new("io", 3, 7).with("wait_ms", 0);
        let plan = RunPlan {
            spec: spec.clone(),
            cores: vec![1, 3],
            strategies: vec![
                Strategy::Sequential,
                Strategy::SingleCoreThreaded,
                Strategy::MultiThreaded,
            ],
            reps: 2,
            warmup: 1,
        };
        let workload = crate::workload::build(&spec).unwrap();
        let report = Sweep::from_plan(&*workload, &plan)
            .switch_cost(SwitchCost::None)
            .ceilings(CeilingSource::None)
            .run()
            .unwrap();
        let got: Vec<(Strategy, usize)> =
            report.rows.iter().map(|r| (r.strategy, r.cores)).collect();
        assert_eq!(got, plan.rows());
        assert!(report.rows.iter().all(|r| r.verified && r.reps == 2));
        assert_eq!(report.workload, spec);
        assert_eq!(report.method.switch_cost_ns, None);
        assert_eq!(report.method.switch_cost_note, None);
        assert!(report.ceilings.is_none());
        assert_eq!(report.rows[0].unit, "tasks");
    }

    #[test]
    fn a_sweep_prices_switches_as_the_cli_does() {
        let spec = WorkloadSpec::new("io", 2, 7).with("wait_ms", 0);
        let workload = crate::workload::build(&spec).unwrap();
        let sweep = || {
            Sweep::new(&*workload)
                .cores([2])
                .strategies([Strategy::Sequential, Strategy::SingleCoreThreaded])
                .reps(1)
                .warmup(0)
                .ceilings(CeilingSource::None)
        };
        // By default the cost is measured: a figure, or the reason there is none.
        let measured = sweep().run().unwrap();
        assert!(
            measured.method.switch_cost_ns.is_some_and(|ns| ns > 0.0)
                != measured.method.switch_cost_note.is_some(),
            "{:?}",
            measured.method
        );
        // A given cost is used as given, and prices every row's switches.
        let given = sweep()
            .switch_cost(SwitchCost::Given(1_000.0))
            .run()
            .unwrap();
        assert_eq!(given.method.switch_cost_ns, Some(1_000.0));
        for r in &given.rows {
            let want = crate::analysis::switch_overhead(
                r.voluntary_switches + r.involuntary_switches,
                1_000.0,
                r.median_s,
            );
            assert_eq!(r.switch_overhead, want, "{r:?}");
        }
    }

    #[test]
    fn a_plan_given_whole_is_kept_and_a_setter_replaces_it() {
        let spec = WorkloadSpec::new("io", 3, 7).with("wait_ms", 0);
        let workload = crate::workload::build(&spec).unwrap();
        let plan = RunPlan::new(
            spec.clone(),
            &[1, 2],
            &[Strategy::Sequential, Strategy::MultiThreaded],
            3,
            0,
        )
        .unwrap();
        let sweep = Sweep::from_plan(&*workload, &plan);
        assert_eq!(sweep.plan().unwrap(), plan);
        let changed = sweep.cores([1, 3]).plan().unwrap();
        assert_eq!(changed.cores, vec![1, 3]);
        assert_eq!((changed.reps, changed.warmup), (3, 0));
    }

    #[test]
    fn a_sweep_rejects_what_cannot_run() {
        let spec = WorkloadSpec::new("io", 3, 7).with("wait_ms", 0);
        let workload = crate::workload::build(&spec).unwrap();
        let check = |sweep: Sweep, needle: &str| {
            let e = sweep.run().unwrap_err();
            assert!(matches!(e, SweepError::Plan(_)), "{e}");
            assert!(e.to_string().contains(needle), "{e}");
        };
        check(Sweep::new(&*workload).cores([]), "no cores");
        check(Sweep::new(&*workload).cores([0, 2]), "at least 1");
        check(Sweep::new(&*workload).cores([1, 20000]), "16384");
        check(Sweep::new(&*workload).strategies([]), "no strategies");
        check(Sweep::new(&*workload).reps(0), "reps");
    }

    #[test]
    fn a_sweep_sorts_its_cores_and_strategies() {
        let spec = WorkloadSpec::new("io", 3, 7).with("wait_ms", 0);
        let workload = crate::workload::build(&spec).unwrap();
        let plan = Sweep::new(&*workload)
            .cores([3, 1, 3])
            .strategies([Strategy::MultiThreaded, Strategy::Sequential])
            .plan()
            .unwrap();
        assert_eq!(plan.cores, vec![1, 3]);
        assert_eq!(
            plan.strategies,
            vec![Strategy::Sequential, Strategy::MultiThreaded]
        );
        assert_eq!((plan.reps, plan.warmup), (crate::plan::DEFAULT_REPS, 1));
        assert_eq!(
            crate::plan::DEFAULT_REPS,
            crate::measure::stats::reps_for_coverage(crate::measure::stats::TARGET_COVERAGE.sqrt())
        );
    }
}
