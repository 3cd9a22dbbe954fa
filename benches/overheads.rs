//! `cargo bench --bench overheads`: what a thread costs against what a process costs.
//!
//! Two groups:
//!
//! - `spawn`: create a worker and wait for it, with nothing to do — `thread` is
//!   `std::thread::spawn` of an empty closure plus `join`; `process` starts the concbench binary
//!   (the very binary `multi-process` workers run) with `--version` and waits for it: fork, exec,
//!   dynamic loading, runtime start-up and exit;
//! - `empty-run`: one whole execution of a workload that does no work (`io` with 0 ms tasks, one
//!   task per part) through [`concbench::sweep::Bench::execute`], for `multi-threaded`,
//!   `multi-process` and `single-thread-async` at 1 ..= physical cores: spawn, pinning,
//!   shared-memory setup, one stage of control messages, collection (for tasks: building the
//!   runtime and spawning a task per part). This is the fixed price each strategy adds to every
//!   run.
//!
//! Workers are the concbench binary cargo built for this bench (`CARGO_BIN_EXE_concbench`), or
//! `$CONCBENCH_EXE` when set.

use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{criterion_group, BenchmarkId, Criterion, SamplingMode};

use concbench::strategy::Strategy;
use concbench::sweep::Bench;
use concbench::workload::{self, WorkloadSpec};

fn concbench_exe() -> std::path::PathBuf {
    std::env::var_os("CONCBENCH_EXE")
        .map(Into::into)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_concbench").into())
}

/// Thread spawn + join against process spawn + wait, both doing nothing.
fn spawn(c: &mut Criterion) {
    let exe = concbench_exe();
    let mut group = c.benchmark_group("spawn");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    group.bench_function("thread", |b| {
        b.iter(|| std::thread::spawn(|| {}).join().expect("empty thread"))
    });
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("process", |b| {
        b.iter(|| {
            let status = Command::new(&exe)
                .arg("--version")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("concbench starts");
            assert!(status.success(), "concbench --version failed: {status}");
        })
    });
    group.finish();
}

/// A whole execution of an empty workload: the fixed cost of each strategy.
fn empty_run(c: &mut Criterion) {
    let physical = concbench::strategy::physical_cores();
    // One 0 ms task per part at the largest sweep value; smaller sweeps run several per part.
    let spec = WorkloadSpec::new("io", physical, 1)
        .with("wait_ms", 0)
        .with("cpu_share", 0);
    let workload = workload::build(&spec).expect("valid spec");
    // multi-process workers: $CONCBENCH_EXE, else the concbench cargo built beside this bench.
    let bench = Bench::new(&*workload).expect("shared memory");
    let mut group = c.benchmark_group("empty-run");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    for strategy in [
        Strategy::MultiThreaded,
        Strategy::MultiProcess,
        Strategy::SingleThreadAsync,
    ] {
        for cores in 1..=physical {
            group.bench_function(BenchmarkId::new(strategy.name(), cores), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let wall = bench
                            .execute(strategy, cores)
                            .unwrap_or_else(|e| panic!("{e}"));
                        total += wall;
                    }
                    total
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, spawn, empty_run);

fn main() {
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
