//! The concbench binary: a thin shell over the library (see `concbench::cli`).

fn main() {
    // Read the affinity mask before anything pins a thread (core_affinity reads the caller's mask).
    concbench::topology::allowed_cpus();
    // Started as a worker process of the multi-process strategy? Serve the parent and exit.
    concbench::worker::serve_if_worker(|spec| {
        concbench::workload::build(spec).map_err(|e| e.to_string())
    });
    concbench::refs::serve_if_ref_child(); // a `concbench refs` dgemm reference child?
    std::process::exit(concbench::cli::main_with_args(std::env::args_os()));
}
