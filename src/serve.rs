//! Serving child processes: the one call a program makes first thing in `main` so that it can be
//! started as any kind of concbench child (see [`crate::child`] for the protocol).
//!
//! The dispatch sits at the top of the crate because some jobs are served by the experiments
//! (timeline workers, ping-pong peers, lab children, reference dgemm) and the child protocol
//! itself sits below them.

use crate::child::{self, ChildJob};
use crate::workload::{Workload, WorkloadSpec};

/// If this process was started as a concbench child, serve its job and exit; otherwise return
/// at once. `factory` rebuilds a workload from its spec for multi-process workers: the concbench
/// binary passes [`crate::workload::build`]; a program with its own workload passes a factory
/// that knows it (and falls back to `build` for the built-in ones, if it wants them).
pub fn serve_if_child<F, E>(factory: F)
where
    F: Fn(&WorkloadSpec) -> Result<Box<dyn Workload>, E>,
    E: std::fmt::Display,
{
    let Some(spec) = child::take_job() else {
        return;
    };
    let label = spec.job.label();
    let result = match spec.job {
        ChildJob::Part(job) => child::part::serve(&job, &factory),
        ChildJob::TimelineWorker(plan) => crate::timeline::record::serve(plan),
        ChildJob::PingPongPeer => crate::experiment::switch_cost::serve_peer(),
        ChildJob::LabChild(mode) => crate::lab::claims::serve_lab_child(mode),
        ChildJob::RefDgemm(job) => crate::refs::serve_ref_child(&job),
    };
    child::finish(result, &label)
}
