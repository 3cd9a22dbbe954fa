//! The concbench binary: a thin shell over the library (see `concbench::cli`).

fn main() {
    // A panic inside a part's worker thread is caught and reported as an error naming the part;
    // the default hook would also dump it (with a backtrace) in the middle of the output.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_part = std::thread::current()
            .name()
            .is_some_and(|n| n.starts_with("concbench-part-"));
        if !in_part {
            default_hook(info);
        }
    }));
    // Read the affinity mask before anything pins a thread (core_affinity reads the caller's mask).
    concbench::topology::allowed_cpus();
    // Started as a timeline worker process? Record for the parent and exit.
    concbench::timeline::serve_if_worker();
    // Started as a worker process of the multi-process strategy? Serve the parent and exit.
    concbench::child::part::serve_if_worker(|spec| {
        concbench::workload::build(spec).map_err(|e| e.to_string())
    });
    // A child process of the lab's isolation experiment?
    concbench::lab::claims::serve_lab_child_if_asked();
    // The peer process of the context-switch ping-pong?
    concbench::experiment::switch_cost::serve_if_pingpong();
    // A matrixmultiply reference child of `concbench refs`?
    concbench::refs::serve_if_ref_child();
    std::process::exit(concbench::cli::main_with_args(std::env::args_os()));
}
