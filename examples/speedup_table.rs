//! A sweep from code: one built-in workload under every strategy, as a Markdown table.
//!
//! ```text
//! cargo run --release --example speedup_table [WORKLOAD [SIZE]] > table.md
//! ```
//!
//! WORKLOAD is `mergesort` (default, 500 000 keys), `matmul` (order 384) or `io` (32 tasks of
//! 5 ms). The sweep runs 1 ..= the physical cores this process may use, plus one oversubscribed
//! point. stdout gets the table and a caption naming the machine, ready to paste; the same run
//! from the CLI is `concbench run -w WORKLOAD --size SIZE --cores 1,2,4`.
//!
//! `multi-process` re-executes this program as its workers: `main` starts with
//! [`serve_if_child`] and the built-in factory.

use concbench::child::WorkerCommand;
use concbench::report::{oversubscription_note, table::speedup_table};
use concbench::serve_if_child;
use concbench::sweep::Sweep;
use concbench::topology::Topology;
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

    let physical = Topology::get().physical_core_count();
    let mut cores: Vec<usize> = (1..=physical).collect();
    cores.push(2 * physical);
    let report = Sweep::new(&*workload)
        .cores(cores)
        .reps(3)
        .warmup(1)
        .worker(WorkerCommand::this_executable()?)
        .run()?;

    print!("{}", speedup_table(&report).to_markdown());
    println!(
        "\n{} (size {}), median of {} repetitions after {} warm-up, on {}. Speedup = sequential median / row median; every row verified.",
        report.workload.name,
        report.workload.size,
        report.method.reps,
        report.method.warmup,
        report.machine.summary()
    );
    if let Some(note) = oversubscription_note(&report) {
        println!("\n{note}.");
    }
    Ok(())
}
