//! A fixed, hand-written [`RunReport`] for snapshot tests of every renderer: a fixed machine, a
//! fixed command line (with characters every format must escape), fixed numbers, oversubscribed
//! rows (single-core-threaded from 2 workers, the spread strategies at 4 on 2 cores), a negative
//! Amdahl fit reported as 0, Karp–Flatt fractions above 1 (single-core-threaded slowed down), a
//! switch overhead estimated from a switch cost and a CPU the probe found slow, so a change in
//! any rendering shows up as a reviewed snapshot diff.

use std::collections::BTreeMap;

use super::{AmdahlFit, Method, RunReport};
use crate::analysis::Row;
use crate::machine::Machine;
use crate::strategy::{Phases, Strategy};
use crate::workload::WorkloadSpec;

/// Round to 6 decimals so the fixture's derived figures print short.
fn r6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

const SEQUENTIAL_MEDIAN: f64 = 0.4;

/// The same-core switch cost of the fixture's method, ns: every row's switch overhead is an
/// estimate from it.
const SWITCH_COST_NS: f64 = 4000.0;

/// One row with plausible, internally consistent figures derived from its median.
fn row(strategy: Strategy, cores: usize, median: f64, cpus: &[usize]) -> Row {
    let speedup = r6(SEQUENTIAL_MEDIAN / median);
    let oversubscribed = strategy.oversubscribed(cores, 2);
    let (spawn, setup) = match strategy {
        Strategy::Sequential => (0.0, 0.0),
        Strategy::MultiProcess => (0.004 * cores as f64, 0.002),
        _ => (0.0001 * cores as f64, 0.00005),
    };
    let combine = if strategy == Strategy::Sequential {
        0.0
    } else {
        0.01
    };
    let vol = 2 * cores as u64;
    let invol = if strategy == Strategy::SingleCoreThreaded || oversubscribed {
        40 * cores as u64
    } else {
        3
    };
    Row {
        workload: "mergesort".into(),
        strategy,
        cores,
        reps: 5,
        median_s: median,
        min_s: r6(median * 0.97),
        max_s: r6(median * 1.06),
        mean_s: r6(median * 1.01),
        // Five repetitions: the widest order-statistic interval, 93.75%.
        median_ci_s: Some([r6(median * 0.97), r6(median * 1.06)]),
        ci_coverage: Some(0.9375),
        speedup,
        speedup_ci: Some([r6(speedup * 0.94), r6(speedup * 1.06)]),
        speedup_ci_coverage: Some(0.878906),
        speedup_baseline: "sequential".into(),
        efficiency: Some(r6(speedup / cores as f64)),
        serial_fraction: crate::analysis::karp_flatt(speedup, cores).map(r6),
        scaling_undefined: None,
        verified: true,
        oversubscribed,
        workers_per_core: strategy.workers_per_core(cores, 2),
        cpus: cpus.to_vec(),
        slow_cpus: Vec::new(),
        voluntary_switches: vol,
        involuntary_switches: invol,
        switches_per_s: r6((vol + invol) as f64 / median),
        switch_overhead: r6((vol + invol) as f64 * SWITCH_COST_NS * 1e-9 / median),
        user_s: r6(median * cores.min(2) as f64 * 0.99),
        sys_s: r6(0.002 * cores as f64),
        phases: Phases {
            spawn_s: r6(spawn),
            setup_s: r6(setup),
            compute_s: r6(median - spawn - setup - combine),
            combine_s: combine,
            collect_s: 0.0,
        },
        throughput: r6(4_000_000.0 / median),
        unit: "keys".into(),
        samples_s: vec![
            r6(median * 0.97),
            r6(median * 0.99),
            median,
            r6(median * 1.02),
            r6(median * 1.06),
        ],
        distributed: None,
        web: None,
    }
}

/// The fixed machine.
pub(crate) fn machine(cpu_model: &str, date: &str) -> Machine {
    Machine {
        cpu_model: cpu_model.into(),
        physical_cores: 2,
        logical_cpus_allowed: 2,
        logical_cpus_online: 2,
        affinity_mask: "0-1".into(),
        memory_bytes: 8 << 30,
        kernel: "6.1.0-fixture-amd64".into(),
        os: "Debian GNU/Linux 12 (bookworm)".into(),
        virtualized: true,
        rustc: "rustc 1.80.0 (051478957 2024-07-21)".into(),
        concbench_version: "0.1.0".into(),
        git_commit: Some("0123456789ab".into()),
        date: date.into(),
        command: "concbench run --workload mergesort --cores 1,2,4 --out \"results/sort & co\""
            .into(),
        others_load: None,
        cpu_probe: None,
        kernel_name: "Linux".into(),
        core_types: None,
        platform_notes: Vec::new(),
        cluster: None,
        cpu_details: None,
        slurm: None,
    }
}

/// The fixed report: mergesort of 4,000,000 keys on a 2-core machine, cores 1,2,4 (4 is
/// oversubscribed), the four thread and process strategies.
pub(crate) fn report() -> RunReport {
    use Strategy::*;
    let rows = vec![
        row(Sequential, 1, SEQUENTIAL_MEDIAN, &[0]),
        row(SingleCoreThreaded, 1, 0.402, &[0]),
        row(SingleCoreThreaded, 2, 0.409, &[0]),
        row(SingleCoreThreaded, 4, 0.421, &[0]),
        row(MultiThreaded, 1, 0.401, &[0]),
        {
            let mut r = row(MultiThreaded, 2, 0.212, &[0, 1]);
            r.slow_cpus = vec![crate::measure::probe::SlowCpu {
                cpu: 1,
                slowdown: 1.8,
            }];
            r
        },
        row(MultiThreaded, 4, 0.219, &[0, 1]),
        row(MultiProcess, 1, 0.43, &[0]),
        row(MultiProcess, 2, 0.236, &[0, 1]),
        row(MultiProcess, 4, 0.247, &[0, 1]),
    ];
    RunReport {
        machine: machine("AMD EPYC 9R14 96-Core Processor", "2026-01-02T03:04:05Z"),
        workload: WorkloadSpec {
            name: "mergesort".into(),
            size: 4_000_000,
            seed: 42,
            params: BTreeMap::new(),
        },
        method: Method {
            reps: 5,
            warmup: 1,
            timing: "wall time of each repetition; median, min, max and the order-statistic interval of the median with its coverage".into(),
            switches: "getrusage deltas of this process and its workers".into(),
            switch_cost_ns: Some(SWITCH_COST_NS),
            switch_cost_note: None,
            speedup_baseline: "sequential".into(),
        },
        rows,
        amdahl_serial_fraction: vec![
            AmdahlFit {
                strategy: "multi-threaded".into(),
                serial_fraction: Some(0.0),
                fitted: Some(-0.002),
                note: Some("the least-squares fit is -0.002; a serial fraction cannot be negative, so it is 0 within its noise (the rows ran at or above ideal speedup)".into()),
            },
            AmdahlFit {
                strategy: "multi-process".into(),
                serial_fraction: Some(0.18),
                fitted: None,
                note: None,
            },
        ],
        ceilings: None,
    }
}

/// Requests of the web fixture (`--size`).
const WEB_REQUESTS: f64 = 2000.0;

/// One row of the web fixture: the figures of [`row`] for the time, a server's figures derived
/// from it. `shares`: the load generator had to share the server's CPUs.
fn web_row(
    strategy: Strategy,
    cores: usize,
    median: f64,
    cpus: &[usize],
    p50: f64,
    shares: bool,
) -> Row {
    let mut r = row(strategy, cores, median, cpus);
    let speedup = r6(WEB_SEQUENTIAL_MEDIAN / median);
    r.workload = "web".into();
    r.speedup = speedup;
    r.speedup_ci = Some([r6(speedup * 0.94), r6(speedup * 1.06)]);
    r.efficiency = Some(r6(speedup / cores as f64));
    r.serial_fraction = crate::analysis::karp_flatt(speedup, cores).map(r6);
    r.throughput = r6(WEB_REQUESTS / median);
    r.unit = "requests".into();
    // A server's whole time is serving (it started before the clock); its CPU per request is
    // (user + system) / requests.
    r.phases = Phases {
        compute_s: median,
        ..Phases::default()
    };
    r.user_s = 0.1;
    r.sys_s = 0.02;
    let connections = 8;
    r.web = Some(crate::analysis::WebRow {
        requests_per_s: r.throughput,
        latency: crate::workload::web::Latency {
            p50_s: p50,
            p90_s: r6(p50 * 1.4),
            p99_s: r6(p50 * 2.5),
            p999_s: r6(p50 * 4.0),
            max_s: r6(p50 * 6.0),
        },
        connections,
        errors: 0,
        wait_achieved_s: if strategy == Strategy::SingleThreadAsync {
            0.001_98
        } else {
            0.001_07
        },
        cpu_per_request_s: r6((r.user_s + r.sys_s) / WEB_REQUESTS),
        generator_cpu_per_request_s: Some(0.000_02),
        rate: None,
        rss_peak_bytes: Some(8_388_608 + 65_536 * cores as u64),
        rss_per_connection_bytes: Some(65_536.0 * cores as f64 / connections as f64),
        // A kernel stack (16 KiB) per thread; tasks have none.
        kernel_stack_per_connection_bytes: Some(if strategy == Strategy::SingleThreadAsync {
            0.0
        } else {
            16_384.0 * cores as f64 / connections as f64
        }),
        cpu_units: 12,
        server_start_s: 0.0005,
        generator_cpus: vec![1],
        generator_shares_cpu: shares,
    });
    r
}

/// The sequential (iterative) server's median time in [`web_report`].
const WEB_SEQUENTIAL_MEDIAN: f64 = 2.4;

/// A web report: 2000 requests from 8 connections, each waiting 1 ms and burning 50 µs, on the
/// 2-core machine; the generator on CPU 1, which the spread strategies' servers share.
pub(crate) fn web_report() -> RunReport {
    use Strategy::*;
    let mut report = report();
    report.machine.command =
        "concbench run --workload web --cores 2,4,8 --wait-ms 1 --cpu-us 50 --connections 8".into();
    report.workload = WorkloadSpec {
        name: "web".into(),
        size: WEB_REQUESTS as usize,
        seed: 42,
        params: [
            ("connections".to_string(), "8".to_string()),
            ("cpu_us".to_string(), "50".to_string()),
            ("wait_ms".to_string(), "1".to_string()),
        ]
        .into_iter()
        .collect(),
    };
    report.rows = vec![
        web_row(Sequential, 1, WEB_SEQUENTIAL_MEDIAN, &[0], 0.0094, false),
        web_row(SingleCoreThreaded, 4, 0.62, &[0], 0.0024, false),
        web_row(MultiThreaded, 2, 1.22, &[0, 1], 0.0048, true),
        web_row(MultiProcess, 2, 1.25, &[0, 1], 0.0049, true),
        web_row(SingleThreadAsync, 8, 0.33, &[0], 0.0013, false),
    ];
    report.amdahl_serial_fraction = Vec::new();
    report
}
