//! Serving child processes: the one call a program makes first thing in `main` so that it can be
//! started as any kind of concbench child (see [`crate::child`] for the protocol).
//!
//! The dispatch sits at the top of the crate because some jobs are served by the experiments
//! (timeline workers, ping-pong peers, lab children, reference dgemm) and the child protocol
//! itself sits below them.

use crate::child::{self, ChildJob};
use crate::workload::{Workload, WorkloadSpec};

/// If this process was started as a concbench child, serve its job and exit; if it was launched
/// as an MPI rank other than 0, serve rank 0's jobs and exit (see `serve_if_rank` below: rank 0
/// calls [`crate::cluster::finish`] at the end); otherwise return at once. `factory` rebuilds a workload from its spec for multi-process workers: the concbench
/// binary passes [`crate::workload::build`]; a program with its own workload passes a factory
/// that knows it (and falls back to `build` for the built-in ones, if it wants them). Call it
/// before anything pins a thread: it reads the CPUs this process may use first.
pub fn serve_if_child<F, E>(factory: F)
where
    F: Fn(&WorkloadSpec) -> Result<Box<dyn Workload>, E>,
    E: std::fmt::Display,
{
    // Read the affinity mask before anything pins a thread (core_affinity reads the caller's
    // mask, so a mask read after the first pinning would be that one CPU).
    crate::topology::allowed_cpus();
    let Some(spec) = child::take_job() else {
        serve_if_rank(&factory);
        return;
    };
    let label = spec.job.label();
    let result = match spec.job {
        ChildJob::Part(job) => child::part::serve(&job, &factory),
        ChildJob::TimelineWorker(plan) => crate::timeline::record::serve(plan),
        ChildJob::PingPongPeer => crate::experiment::switch_cost::serve_peer(),
        ChildJob::LabChild(mode) => crate::lab::claims::serve_lab_child(mode),
        ChildJob::RefDgemm(job) => crate::refs::serve_ref_child(&job),
        ChildJob::WebServer(job) => crate::service::server::serve_worker_process(job),
        ChildJob::WebLoad(job) => crate::service::load::serve_generator(job),
        ChildJob::Rank(_) => {
            Err("rank jobs come from rank 0 over MPI, never on a command line".into())
        }
    };
    child::finish(result, &label)
}

/// Launched by mpirun or srun? Start MPI; a rank other than 0 then serves rank 0's jobs until it
/// says exit, and never returns. Rank 0 (and a process no launcher started) returns, and must call
/// [`crate::cluster::finish`] before it exits so that the other ranks finish too. A binary
/// without MPI launched as one of several ranks exits 2: rank 0 with one line saying how to
/// build one with MPI, the others silently.
fn serve_if_rank<F, E>(factory: &F)
where
    F: Fn(&WorkloadSpec) -> Result<Box<dyn Workload>, E>,
    E: std::fmt::Display,
{
    match crate::cluster::start() {
        Ok(Some(world)) if world.rank != 0 => {
            crate::strategy::distributed::serve_ranks(world, factory)
        }
        Ok(_) => {}
        Err(e) => {
            if crate::cluster::launch_from_env().map_or(true, |l| l.rank == 0) {
                eprintln!("concbench: error: {e}");
            }
            std::process::exit(2);
        }
    }
}
