//! Running a sweep from code: the library's entry point for `concbench run`.

use crate::machine::Machine;
use crate::plan::RunPlan;
use crate::report::RunReport;
use crate::runner::Measurement;

/// Measure `plan` with an already-built `workload` and assemble its [`RunReport`]: the library
/// equivalent of `concbench run` without the progress bar, for any
/// [`Workload`](crate::workload::Workload) — a built-in one
/// from [`crate::workload::build`] or a user's own.
///
/// Runs every row with [`crate::runner::run_workload`] (warm-up, repetitions, verification after
/// each), describes this machine, and builds the report with no switch cost (so
/// `switch_overhead` is 0; [`measure_report_with`] takes one). The report is labelled with `plan.spec`, which should be
/// `workload.spec()`. For `multi-process` rows, `options.worker` must name a binary that serves
/// this workload: [`WorkerCommand::this_executable`](crate::strategy::WorkerCommand::this_executable)
/// when its `main` starts with [`crate::serve_if_child`] and a factory that knows it.
///
/// ```
/// use concbench::plan::RunPlan;
/// use concbench::sweep::measure_report;
/// use concbench::report::table::speedup_table;
/// use concbench::strategy::{ExecOptions, Strategy};
/// use concbench::workload::{self, WorkloadSpec};
///
/// let spec = WorkloadSpec::new("io", 4, 1).with("wait_ms", 1);
/// let plan = RunPlan {
///     spec: spec.clone(),
///     cores: vec![1, 2],
///     strategies: vec![Strategy::Sequential, Strategy::SingleCoreThreaded],
///     reps: 1,
///     warmup: 0,
/// };
/// let workload = workload::build(&spec)?;
/// let report = measure_report(&*workload, &plan, &ExecOptions::default())?;
/// assert_eq!(report.rows.len(), 3);
/// println!("{}", speedup_table(&report).to_markdown());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn measure_report(
    workload: &dyn crate::workload::Workload,
    plan: &RunPlan,
    options: &crate::strategy::ExecOptions,
) -> Result<RunReport, crate::runner::RunError> {
    measure_report_with(workload, plan, options, None, &mut |_| {}).map(|(report, _)| report)
}

/// [`measure_report`] with a progress callback, a same-core switch cost for the rows'
/// `switch_overhead` (measure one with
/// [`quick_same_core_switch_ns`](crate::experiment::switch_cost::quick_same_core_switch_ns)), and the
/// raw measurements returned beside the report (for timelines). What `concbench run` calls.
pub fn measure_report_with(
    workload: &dyn crate::workload::Workload,
    plan: &RunPlan,
    options: &crate::strategy::ExecOptions,
    switch_cost_ns: Option<f64>,
    progress: &mut dyn FnMut(crate::runner::Progress),
) -> Result<(RunReport, Vec<Measurement>), crate::runner::RunError> {
    let machine = Machine::describe();
    let measurements = crate::runner::run_workload(workload, plan, options, progress)?;
    let report = RunReport::build(
        machine,
        plan,
        workload.work_units(),
        &measurements,
        switch_cost_ns,
    );
    Ok((report, measurements))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::{ExecOptions, Strategy};
    use crate::workload::WorkloadSpec;

    #[test]
    fn measure_report_has_a_verified_row_per_strategy_and_cores() {
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
        let report = measure_report(&*workload, &plan, &ExecOptions::default()).unwrap();
        let got: Vec<(Strategy, usize)> =
            report.rows.iter().map(|r| (r.strategy, r.cores)).collect();
        assert_eq!(got, plan.rows());
        assert!(report.rows.iter().all(|r| r.verified && r.reps == 2));
        assert_eq!(report.workload, spec);
        assert_eq!(report.method.switch_cost_ns, None);
        assert_eq!(report.rows[0].unit, "tasks");
    }
}
