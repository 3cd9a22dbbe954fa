//! One workload held ready for a benchmark harness ([`Bench`]): what criterion's `iter_custom`
//! times in `cargo bench`, one verified execution at a time, with the same steps as every
//! repetition of a [`super::Sweep`] (reset untimed, execute timed, verify untimed).

use std::time::Duration;

use super::SweepError;
use crate::child::WorkerCommand;
use crate::plan::check_core_count;
use crate::runner::{self, RunError};
use crate::shm::SharedRegion;
use crate::strategy::{ExecOptions, Strategy};
use crate::workload::{self, Workload};

/// A workload whose shared memory is made and initialised once, then executed on demand under
/// any strategy and core count.
///
/// ```
/// use concbench::strategy::Strategy;
/// use concbench::sweep::Bench;
/// use concbench::workload::{self, WorkloadSpec};
///
/// let workload = workload::build(&WorkloadSpec::new("io", 4, 1).with("wait_ms", 0))?;
/// let bench = Bench::new(&*workload)?;
/// let wall = bench.execute(Strategy::MultiThreaded, 2)?;
/// assert!(wall.as_nanos() > 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Bench<'w> {
    workload: &'w dyn Workload,
    region: SharedRegion,
    options: ExecOptions,
}

impl<'w> Bench<'w> {
    /// Make and initialise `workload`'s shared memory; `multi-process` workers come from the
    /// concbench binary unless [`Bench::worker`] says otherwise.
    pub fn new(workload: &'w dyn Workload) -> Result<Bench<'w>, RunError> {
        let region = SharedRegion::new(workload.shared_bytes())?;
        workload::init(workload, region.mem());
        Ok(Bench {
            workload,
            region,
            options: ExecOptions::default(),
        })
    }

    /// How to start `multi-process` workers (see [`super::Sweep::worker`]).
    pub fn worker(mut self, command: WorkerCommand) -> Bench<'w> {
        self.options.worker = Some(command);
        self
    }

    /// One execution with `strategy` on `cores` parts (the sequential twin ignores `cores`):
    /// the workload is reset first and its answer verified after, both untimed; returns the wall
    /// time of the execution alone, the figure `concbench run` reports per repetition. A core
    /// count outside 1 to [`crate::strategy::MAX_WORKERS`] is [`SweepError::Plan`]; a failed or
    /// wrong execution is [`SweepError::Run`], never a time.
    pub fn execute(&self, strategy: Strategy, cores: usize) -> Result<Duration, SweepError> {
        if !strategy.is_sequential() {
            check_core_count(cores).map_err(SweepError::Plan)?;
        }
        let exec = runner::run_once(self.workload, &self.region, strategy, cores, &self.options)
            .map_err(|source| SweepError::Run {
                source,
                partial: None,
            })?;
        Ok(Duration::from_secs_f64(exec.wall_s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::MAX_WORKERS;
    use crate::workload::WorkloadSpec;

    #[test]
    fn a_bench_executes_every_in_process_strategy_verified() {
        let workload = workload::build(&WorkloadSpec::new("io", 3, 1).with("wait_ms", 1)).unwrap();
        let bench = Bench::new(&*workload).unwrap();
        for strategy in [
            Strategy::Sequential,
            Strategy::SingleCoreThreaded,
            Strategy::MultiThreaded,
            Strategy::SingleThreadAsync,
        ] {
            // Verified (a wrong answer is an error), and the execution's own wall time recorded.
            let wall = bench.execute(strategy, 3).unwrap();
            assert!(wall > Duration::ZERO, "{strategy}: {wall:?}");
        }
        for cores in [0, MAX_WORKERS + 1] {
            let e = bench.execute(Strategy::MultiThreaded, cores).unwrap_err();
            assert!(matches!(e, SweepError::Plan(_)), "{e}");
            assert!(e.to_string().contains(&format!("cores {cores}")), "{e}");
        }
    }
}
