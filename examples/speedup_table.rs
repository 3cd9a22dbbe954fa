//! A sweep from code: one built-in workload under every strategy, as a Markdown table.
//!
//! ```text
//! cargo run --release --example speedup_table [WORKLOAD [SIZE]] > table.md
//! ```
//!
//! WORKLOAD is `mergesort` (default, 500 000 keys), `matmul` (order 384) or `io` (32 tasks of
//! 5 ms). The sweep runs 1 ..= the physical cores this process may use, plus one oversubscribed
//! point. stdout gets the report in Markdown (the machine, the speedup table, a reading of the
//! numbers), ready to paste; the same run from the CLI is `concbench run -w WORKLOAD --size SIZE
//! --cores 1,2,4 --format markdown`.
//!
//! `multi-process` re-executes this program as its workers: `main` starts with
//! [`serve_if_child`] and the built-in factory.

use concbench::child::WorkerCommand;
use concbench::report::{Format, Render};
use concbench::serve_if_child;
use concbench::sweep::Sweep;
use concbench::workload::{self, WorkloadSpec};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Started as a child of concbench (a multi-process worker)? Serve the parent and exit.
    serve_if_child(workload::build);

    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "mergesort".into());
    let default_size = match name.as_str() {
        "matmul" => 384,
        "io" => 32,
        _ => 500_000,
    };
    let size = match args.next() {
        Some(s) => s.parse().map_err(|_| format!("bad size '{s}'"))?,
        None => default_size,
    };
    let mut spec = WorkloadSpec::new(&name, size, 42);
    if name == "io" {
        spec = spec.with("wait_ms", 5);
    }
    let workload = workload::build(&spec)?;

    let physical = concbench::strategy::physical_cores();
    let mut cores: Vec<usize> = (1..=physical).collect();
    cores.push(2 * physical);
    let report = Sweep::new(&*workload)
        .cores(cores)
        .reps(3)
        .warmup(1)
        .worker(WorkerCommand::this_executable()?)
        .run()?;

    print!("{}", report.render(Format::Markdown));
    Ok(())
}
