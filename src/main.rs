//! The concbench binary: the command line (`cli/`), a thin user of the library's public API.

#[path = "cli/mod.rs"]
mod cli;

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
    // Started as a child of concbench (a multi-process worker, a timeline worker, a ping-pong
    // peer, a lab child, a reference dgemm), or as an MPI rank other than 0? Serve and exit.
    concbench::serve_if_child(concbench::workload::build);
    // Rank 0 of an MPI job (launched by mpirun or srun) runs the command line; the other ranks
    // served it inside serve_if_child and never get here. Finishing tells them to exit.
    let code = cli::main_with_args(std::env::args_os());
    concbench::cluster::finish();
    std::process::exit(code);
}
