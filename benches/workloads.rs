//! `cargo bench --bench workloads`: every built-in workload under every strategy, through the
//! library's own execution path.
//!
//! One criterion group per workload (`mergesort`, `matmul`, `io`); one benchmark per strategy
//! (`sequential`, `single-core-threaded`, `multi-threaded`, `multi-process`,
//! `single-thread-async`) × cores, named
//! `WORKLOAD/STRATEGY/CORES`. The cores are `concbench run`'s default sweep: the powers of two
//! up to the physical cores this process may use, the physical count, and twice it (named
//! `N-oversubscribed`);
//! `sequential` is the twin, measured once with cores 1. Each iteration:
//!
//! 1. untimed: [`Workload::reset`](concbench::workload::Workload::reset);
//! 2. timed: the execution — criterion records its own wall time
//!    ([`Bench::execute`](concbench::sweep::Bench::execute), the figure `concbench run` reports),
//!    so spawning threads or worker processes is inside the measurement, as it is for the CLI;
//! 3. untimed: [`Workload::verify`](concbench::workload::Workload::verify) — a wrong answer aborts the bench, it is never a speedup.
//!
//! Throughput is the workload's own work units: keys for `mergesort`, floating-point operations
//! (2n³) for `matmul` (criterion's "elem/s" is then FLOP/s), tasks for `io`.
//!
//! `multi-process` needs a binary that serves workers: the bench binary is not concbench, so the
//! workers are the concbench binary cargo built beside it (`CARGO_BIN_EXE_concbench`), or
//! `$CONCBENCH_EXE` when set.
//!
//! Sizes are small so that the whole `cargo bench` takes a few minutes on two cores; compare rows
//! of one run, never figures across machines or hours (the same
//! dgemm ran at 56 and at 33 GFLOP/s an hour apart on a shared VM).

use std::time::Duration;

use criterion::{criterion_group, BenchmarkId, Criterion, SamplingMode, Throughput};

use concbench::strategy::Strategy;
use concbench::sweep::Bench;
use concbench::workload::{self, WorkloadSpec};

/// Seed of every generated input.
const SEED: u64 = 42;

/// Sweep values: the same default as `concbench run` ([`concbench::sweep::default_workers`]),
/// each marked oversubscribed when it exceeds the physical cores.
fn sweep() -> Vec<(usize, bool)> {
    let physical = concbench::strategy::physical_cores();
    concbench::sweep::default_workers()
        .into_iter()
        .map(|c| (c, c > physical))
        .collect()
}

/// Rows of the sweep: sequential once, then every other strategy at every sweep value.
fn rows() -> Vec<(Strategy, usize, bool)> {
    let mut rows = vec![(Strategy::Sequential, 1, false)];
    for s in [
        Strategy::SingleCoreThreaded,
        Strategy::MultiThreaded,
        Strategy::MultiProcess,
        Strategy::SingleThreadAsync,
    ] {
        rows.extend(sweep().into_iter().map(|(c, over)| (s, c, over)));
    }
    rows
}

/// One criterion group for `spec`: a benchmark per strategy × cores.
fn bench_workload(c: &mut Criterion, spec: WorkloadSpec) {
    let workload = workload::build(&spec).expect("bench workload spec is valid");
    // multi-process workers: $CONCBENCH_EXE, else the concbench cargo built beside this bench.
    let bench = Bench::new(&*workload).expect("shared memory");

    let mut group = c.benchmark_group(spec.name.as_str());
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .throughput(Throughput::Elements(workload.work_units().count as u64));

    for (strategy, cores, oversubscribed) in rows() {
        let id = if oversubscribed {
            BenchmarkId::new(strategy.name(), format!("{cores}-oversubscribed"))
        } else {
            BenchmarkId::new(strategy.name(), cores)
        };
        group.bench_function(id, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let wall = bench
                        .execute(strategy, cores)
                        .unwrap_or_else(|e| panic!("{}: {e}", spec.name));
                    total += wall;
                }
                total
            })
        });
    }
    group.finish();
}

/// Merge sort of 256 Ki random keys (memory-bound; a few ms sequentially).
fn mergesort(c: &mut Criterion) {
    bench_workload(c, WorkloadSpec::new("mergesort", 1 << 18, SEED));
}

/// Matrix multiply of order 256 (compute-bound; ≈ 34 MFLOP).
fn matmul(c: &mut Criterion) {
    bench_workload(c, WorkloadSpec::new("matmul", 256, SEED));
}

/// 16 simulated I/O tasks of 1 ms each, all waiting (gains from threads even on one core).
fn io(c: &mut Criterion) {
    bench_workload(
        c,
        WorkloadSpec::new("io", 16, SEED)
            .with("wait_ms", 1)
            .with("cpu_share", 0),
    );
}

criterion_group!(benches, mergesort, matmul, io);

fn main() {
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
