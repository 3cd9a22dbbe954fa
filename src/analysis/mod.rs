//! From raw measurements to the rows people cite: speedup, efficiency, serial fraction,
//! switches and their overhead, confidence intervals.
//!
//! Every figure here is derived from the repetitions kept in the [`Measurement`]s, so a reader of
//! the JSON can recompute it: speedup = median(sequential) / median(row); efficiency = speedup /
//! cores; Karp–Flatt serial fraction e = (1/S − 1/p) / (1 − 1/p) for p > 1; switch overhead =
//! median switches × switch cost / median wall time.
//!
//! Efficiency, serial fraction and the Amdahl fit need a baseline of one worker: the sequential
//! twin, or (stated) a one-worker row. Against any other row a speedup is only a relative speed,
//! and those figures are null with the reason ([`scaling_undefined`]). Intervals are the
//! order-statistic ones of [`crate::measure::stats`], with their coverage.

pub mod ceilings;

use serde::{Deserialize, Serialize};

use crate::machine::RunContext;
use crate::measure::probe::SlowCpu;
use crate::measure::stats::{median, ratio_interval, summarize};
use crate::runner::Measurement;
use crate::strategy::{Phases, Strategy};
use crate::workload::WorkUnits;

/// One line of a speedup table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Workload name.
    pub(crate) workload: String,
    /// Strategy.
    pub strategy: Strategy,
    /// Sweep value N (parts and workers); 1 for sequential.
    pub cores: usize,
    /// Timed repetitions.
    pub(crate) reps: usize,
    /// Median wall time, seconds.
    pub median_s: f64,
    /// Fastest repetition.
    pub(crate) min_s: f64,
    /// Slowest repetition.
    pub(crate) max_s: f64,
    /// Mean wall time.
    pub(crate) mean_s: f64,
    /// Order-statistic interval of the median time, [lo, hi]; null with one repetition.
    #[serde(alias = "ci95_s")]
    pub(crate) median_ci_s: Option<[f64; 2]>,
    /// Probability that `median_ci_s` covers the true median: 95% or more from 6 repetitions,
    /// at most 93.75% with 5 (see [`crate::measure::stats`]).
    #[serde(default)]
    pub(crate) ci_coverage: Option<f64>,
    /// Baseline median / this median; the baseline is `speedup_baseline`.
    pub speedup: f64,
    /// The row every speedup divides: `sequential`, or e.g. `multi-threaded x1` when the
    /// sequential twin was not run (see [`speedup_baseline`]).
    #[serde(default = "sequential_baseline")]
    pub(crate) speedup_baseline: String,
    /// Interval of the speedup: the baseline's and the row's median intervals divided end by
    /// end; null with one repetition.
    #[serde(alias = "speedup_ci95")]
    pub(crate) speedup_ci: Option<[f64; 2]>,
    /// Probability that `speedup_ci` covers the true ratio (at least: the product of both
    /// medians' coverages).
    #[serde(default)]
    pub(crate) speedup_ci_coverage: Option<f64>,
    /// Speedup / cores; null when the baseline is not one worker (see `scaling_undefined`).
    pub efficiency: Option<f64>,
    /// Karp–Flatt experimentally determined serial fraction (p > 1 only); null as `efficiency`.
    pub(crate) serial_fraction: Option<f64>,
    /// Why `efficiency` and `serial_fraction` are null: the baseline is not one worker, so the
    /// speedup is a relative speed ([`scaling_undefined`]); null when they are defined.
    #[serde(default)]
    pub(crate) scaling_undefined: Option<String>,
    /// Every repetition's answer was checked and right.
    pub verified: bool,
    /// More workers than the cores the strategy lets them use: one core for
    /// single-core-threaded, the physical cores for the spread strategies, never sequential.
    pub(crate) oversubscribed: bool,
    /// Workers per core they may use (`cores` / cores used): 1, 2, 4, 8 for single-core-threaded
    /// x1, x2, x4, x8.
    #[serde(default = "one")]
    pub(crate) workers_per_core: f64,
    /// CPUs the parts were seen on (sched_getcpu), ascending.
    pub(crate) cpus: Vec<usize>,
    /// CPUs among `cpus` whose fixed probe, timed just before or after this row, took 1.2× the
    /// fastest the machine has shown or more: the row ran on slowed CPUs.
    #[serde(default)]
    pub(crate) slow_cpus: Vec<SlowCpu>,
    /// Median voluntary context switches per repetition.
    pub(crate) voluntary_switches: u64,
    /// Median involuntary context switches per repetition.
    pub(crate) involuntary_switches: u64,
    /// (Voluntary + involuntary) / median wall time.
    pub(crate) switches_per_s: f64,
    /// Median switches × switch cost / median wall time: the share of the wall time spent
    /// switching (0 when no switch cost was measured).
    pub(crate) switch_overhead: f64,
    /// Median user CPU seconds per repetition.
    pub(crate) user_s: f64,
    /// Median system CPU seconds per repetition.
    pub(crate) sys_s: f64,
    /// Median of each phase over the repetitions.
    pub(crate) phases: Phases,
    /// Work units per second at the median time (keys/s, flop/s, tasks/s).
    pub(crate) throughput: f64,
    /// Unit of `throughput` (per second).
    pub(crate) unit: String,
    /// Every timed repetition, seconds.
    pub(crate) samples_s: Vec<f64>,
    /// What a `distributed` row moved between its ranks and where they ran; absent for the
    /// other strategies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) distributed: Option<DistributedRow>,
    /// What a `web` row adds (requests per second, latency, errors, achieved wait, memory), as
    /// fields of the row itself; absent for the jobs of parts.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub web: Option<WebRow>,
}

/// What a `web` row adds: the load generator's figures and the server's memory, each the median
/// over the timed repetitions unless it says otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebRow {
    /// Requests per second: requests / the row's median time (= its `throughput`).
    pub requests_per_s: f64,
    /// Latency quantiles, each the median over the repetitions of that repetition's quantile
    /// (closed loop: from each send; open loop: from each intended send).
    pub latency: crate::workload::web::Latency,
    /// Keep-alive connections of the load generator.
    pub(crate) connections: usize,
    /// Requests that failed, over every repetition (a row is only kept with none).
    pub(crate) errors: u64,
    /// Median of the waits the handler actually got (the server's clock): a thread's sleep
    /// overshoots by tens of µs, tokio's timer rounds up to its 1 ms tick. 0 with no wait.
    pub(crate) wait_achieved_s: f64,
    /// The server's CPU time (user + system) per request, seconds: c_req of the models.
    pub(crate) cpu_per_request_s: f64,
    /// The load generator's CPU time per request, seconds (median over the repetitions), where
    /// it shares the server's CPUs: it sleeps when idle there, so this is its work. Null where it
    /// has CPUs of its own: it polls for responses without sleeping there, so its CPU time is
    /// its wall time and says nothing of what a request costs it.
    #[serde(default)]
    pub(crate) generator_cpu_per_request_s: Option<f64>,
    /// Open loop: the requests per second asked for; null in the closed loop.
    pub(crate) rate: Option<f64>,
    /// The server's highest resident memory over the repetitions, bytes.
    pub(crate) rss_peak_bytes: Option<u64>,
    /// (peak − the memory before the server started) / connections, bytes: the server's
    /// workers (thread stacks as far as touched, tasks) and its connections' buffers.
    pub(crate) rss_per_connection_bytes: Option<f64>,
    /// (peak − before) of the machine's kernel stacks / connections, bytes: each thread's
    /// kernel stack, which no resident memory counts (0 for tasks). Machine-wide: another
    /// program starting threads meanwhile would be counted too.
    #[serde(default)]
    pub(crate) kernel_stack_per_connection_bytes: Option<f64>,
    /// Kernel runs of CPU work per request (calibrated on the server's first CPU).
    pub(crate) cpu_units: usize,
    /// Seconds starting the server took (not in the wall time).
    pub(crate) server_start_s: f64,
    /// CPUs the load generator ran on.
    pub(crate) generator_cpus: Vec<usize>,
    /// The generator had to share CPUs with the server: its own work is then in the figures.
    pub(crate) generator_shares_cpu: bool,
}

/// (peak − base) / connections.
fn per_connection(peak: Option<u64>, base: Option<u64>, connections: usize) -> Option<f64> {
    match (peak, base) {
        (Some(p), Some(b)) if connections > 0 => {
            Some(p.saturating_sub(b) as f64 / connections as f64)
        }
        _ => None,
    }
}

/// The [`WebRow`] of a row's repetitions; `None` for a job's rows.
pub(crate) fn web_row(runs: &[crate::strategy::Execution], requests_per_s: f64) -> Option<WebRow> {
    let webs: Vec<&crate::workload::web::WebRun> =
        runs.iter().filter_map(|r| r.web.as_deref()).collect();
    let first = webs.first()?;
    let med = |f: &dyn Fn(&crate::workload::web::WebRun) -> f64| {
        median(&webs.iter().map(|w| f(w)).collect::<Vec<_>>())
    };
    let cpu_s = median(
        &runs
            .iter()
            .map(|r| r.usage.user_s + r.usage.sys_s)
            .collect::<Vec<_>>(),
    );
    let requests = first.load.requests.max(1) as f64;
    let peak = webs.iter().filter_map(|w| w.rss_peak_bytes).max();
    let connections = webs.iter().map(|w| w.connections).max().unwrap_or(0);
    Some(WebRow {
        requests_per_s,
        latency: crate::workload::web::Latency {
            p50_s: med(&|w| w.load.latency.p50_s),
            p90_s: med(&|w| w.load.latency.p90_s),
            p99_s: med(&|w| w.load.latency.p99_s),
            p999_s: med(&|w| w.load.latency.p999_s),
            max_s: med(&|w| w.load.latency.max_s),
        },
        connections,
        errors: webs.iter().map(|w| w.load.errors.total()).sum(),
        wait_achieved_s: med(&|w| w.load.wait_achieved_s),
        cpu_per_request_s: cpu_s / requests,
        generator_cpu_per_request_s: webs
            .iter()
            .any(|w| w.generator_shares_cpu)
            .then(|| med(&|w| w.load.generator_cpu_s) / requests),
        rate: first.rate,
        rss_peak_bytes: peak,
        rss_per_connection_bytes: per_connection(peak, first.rss_base_bytes, connections),
        kernel_stack_per_connection_bytes: per_connection(
            webs.iter().filter_map(|w| w.kernel_stack_peak_bytes).max(),
            first.kernel_stack_base_bytes,
            connections,
        ),
        cpu_units: first.cpu_units,
        server_start_s: first.server_start_s,
        generator_cpus: first.generator_cpus.clone(),
        generator_shares_cpu: webs.iter().any(|w| w.generator_shares_cpu),
    })
}

/// What a `distributed` row adds: its ranks, the bytes they moved and where its time went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistributedRow {
    /// Every rank of the row, as in its median repetition.
    pub(crate) ranks: Vec<DistributedRank>,
    /// Bytes moved between ranks per repetition (the sum of the ranks' `bytes_sent`).
    pub(crate) bytes_moved: u64,
    /// `bytes_moved` / the bytes the parts read as input (merge sort: the keys; matmul: A and B;
    /// io: the task slots). Merge sort moves each key at most three times: scatter, exchange,
    /// gather.
    pub(crate) moved_per_input_byte: f64,
    /// Median of rank 0's seconds in each phase: distribute, compute, exchange, collect (their
    /// sum is the wall time).
    pub(crate) phases: crate::strategy::distributed::RankPhases,
    /// Median seconds rank 0 spent moving data (distribute + exchange + collect).
    pub(crate) communication_s: f64,
    /// Seconds the busiest rank's bytes need at the large-message bandwidth measured between
    /// its hosts (the ping-pong before the first distributed row): max over ranks of (sent +
    /// received) / bandwidth, since a rank's transfers mostly come one after another
    /// (distribute, exchange, collect). An estimate, not a bound: latency and waiting for other
    /// ranks come on top, while the exchange's sends and receives may overlap (both directions
    /// at once). Null when no bandwidth was measured.
    pub(crate) communication_at_bandwidth_s: Option<f64>,
    /// The bandwidth `communication_at_bandwidth_s` divides by: the lowest large-message
    /// bandwidth between rank 0 and the job's other ranks (bytes/s); null when none was
    /// measured or the row has one rank.
    #[serde(default)]
    pub(crate) message_bandwidth_bytes_per_s: Option<f64>,
    /// Distinct hosts the ranks ran on.
    pub(crate) hosts: Vec<String>,
    /// Whether the launcher bound every rank (`--bind-to core`); unbound ranks pin themselves.
    pub(crate) bound_by_launcher: bool,
}

/// One rank of a [`DistributedRow`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistributedRank {
    /// Its rank (= its part).
    pub(crate) rank: usize,
    /// Its host.
    pub(crate) host: String,
    /// The CPU it ran on.
    pub(crate) cpu: usize,
    /// Bytes it sent to other ranks per repetition.
    pub(crate) bytes_sent: u64,
    /// Bytes it received from other ranks per repetition.
    pub(crate) bytes_received: u64,
}

/// The [`DistributedRow`] of a measurement whose executions were distributed, from its median
/// repetition, its communication set beside the message ceilings recorded in `context`.
pub(crate) fn distributed_row(
    runs: &[crate::strategy::Execution],
    context: &RunContext,
) -> Option<DistributedRow> {
    let mut order: Vec<&crate::strategy::Execution> =
        runs.iter().filter(|r| r.distributed.is_some()).collect();
    if order.is_empty() {
        return None;
    }
    order.sort_by(|a, b| a.wall_s.total_cmp(&b.wall_s));
    let mid = order[order.len() / 2].distributed.as_ref()?;
    let med = |f: fn(&crate::strategy::distributed::RankPhases) -> f64| {
        median(
            &order
                .iter()
                .filter_map(|r| r.distributed.as_ref().map(|d| f(&d.phases)))
                .collect::<Vec<_>>(),
        )
    };
    let phases = crate::strategy::distributed::RankPhases {
        distribute_s: med(|p| p.distribute_s),
        compute_s: med(|p| p.compute_s),
        exchange_s: med(|p| p.exchange_s),
        collect_s: med(|p| p.collect_s),
    };
    let ceilings = context.message_ceilings();
    let bandwidth_to = |rank: usize| -> Option<f64> {
        let c = ceilings?;
        let bw = crate::machine::MessageCeiling::bulk_bandwidth_bytes_per_s;
        if rank == 0 {
            c.iter().map(bw).reduce(f64::min)
        } else {
            c.iter().find(|m| m.peer == rank).map(bw)
        }
    };
    let message_bandwidth_bytes_per_s = (mid.ranks.len() > 1).then(|| bandwidth_to(0)).flatten();
    let communication_at_bandwidth_s = if mid.bytes_moved == 0 {
        Some(0.0)
    } else {
        mid.ranks
            .iter()
            .map(|r| Some((r.bytes_sent + r.bytes_received) as f64 / bandwidth_to(r.rank)?))
            .collect::<Option<Vec<f64>>>()
            .and_then(|v| v.into_iter().reduce(f64::max))
    };
    let mut hosts: Vec<String> = mid.ranks.iter().map(|r| r.host.clone()).collect();
    hosts.sort();
    hosts.dedup();
    Some(DistributedRow {
        ranks: mid
            .ranks
            .iter()
            .map(|r| DistributedRank {
                rank: r.rank,
                host: r.host.clone(),
                cpu: r.cpu,
                bytes_sent: r.bytes_sent,
                bytes_received: r.bytes_received,
            })
            .collect(),
        bytes_moved: mid.bytes_moved,
        moved_per_input_byte: mid.bytes_moved as f64 / mid.input_bytes.max(1) as f64,
        communication_s: phases.distribute_s + phases.exchange_s + phases.collect_s,
        phases,
        communication_at_bandwidth_s,
        message_bandwidth_bytes_per_s,
        hosts,
        bound_by_launcher: context.bound_by_launcher(),
    })
}

fn one() -> f64 {
    1.0
}

/// Workers per core as a short phrase: `2 per core`, `1.5 per core`.
pub(crate) fn format_per_core(workers_per_core: f64) -> String {
    let v = format!("{workers_per_core:.2}");
    format!("{} per core", v.trim_end_matches('0').trim_end_matches('.'))
}

/// Why efficiency, the Karp–Flatt serial fraction and the Amdahl fit are undefined against a
/// baseline of `strategy` with `cores` workers: `None` for the sequential twin or a one-worker
/// row (against which speedup is a speedup), the reason otherwise.
pub(crate) fn scaling_undefined(strategy: Strategy, cores: usize) -> Option<String> {
    (!strategy.is_sequential() && cores > 1).then(|| {
        format!(
            "the baseline {strategy} x{cores} runs {cores} workers, so speedup against it is a relative speed: efficiency, serial fraction and the Amdahl fit are defined only against the sequential twin or a one-worker row (add --strategy sequential or --cores 1)"
        )
    })
}

/// A least-squares Amdahl fit as it is reported: the serial fraction (negative fits read as 0
/// within their noise), the raw fit when it differs, and a note when it is null or clamped.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SerialFractionFit {
    /// The serial fraction f, at least 0 (above 1 with a note); `None` when undefined.
    pub serial_fraction: Option<f64>,
    /// The least-squares value when it was negative (and reported as 0).
    pub(crate) fitted: Option<f64>,
    /// Why it is null, 0 or above 1.
    pub note: Option<String>,
}

/// The reported Amdahl fit over (p, speedup) points: `None` without a point with p > 1; null
/// with `undefined` as the note when the baseline is not one worker ([`scaling_undefined`]);
/// a negative fit as 0, "within its noise"; a fit above 1 kept, with a note that it is no
/// Amdahl fit (the rows slowed down).
pub(crate) fn fit_serial_fraction(
    points: &[(usize, f64)],
    undefined: Option<&str>,
) -> Option<SerialFractionFit> {
    let f = amdahl_fit(points)?;
    Some(match undefined {
        Some(why) => SerialFractionFit {
            serial_fraction: None,
            fitted: None,
            note: Some(why.to_string()),
        },
        None if f < 0.0 => SerialFractionFit {
            serial_fraction: Some(0.0),
            fitted: Some(f),
            note: Some(format!(
                "the least-squares fit is {f:.3}; a serial fraction cannot be negative, so it is 0 within its noise (the rows ran at or above ideal speedup)"
            )),
        },
        None if f > 1.0 => SerialFractionFit {
            serial_fraction: Some(f),
            fitted: None,
            note: Some(format!(
                "the least-squares fit is {f:.3}, above 1: the rows ran slower than with one worker, so this is not an Amdahl fit"
            )),
        },
        None => SerialFractionFit {
            serial_fraction: Some(f),
            fitted: None,
            note: None,
        },
    })
}

/// Karp–Flatt serial fraction for speedup `s` on `p > 1` processors.
pub(crate) fn karp_flatt(s: f64, p: usize) -> Option<f64> {
    (p > 1 && s > 0.0).then(|| {
        let p = p as f64;
        (1.0 / s - 1.0 / p) / (1.0 - 1.0 / p)
    })
}

/// Least-squares Amdahl serial fraction f over (p, speedup) points: 1/S = f + (1 − f)/p is linear
/// in f, so f = Σxy / Σx² with x = 1 − 1/p and y = 1/S − 1/p. `None` without a point with p > 1.
pub(crate) fn amdahl_fit(points: &[(usize, f64)]) -> Option<f64> {
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for &(p, s) in points {
        if p > 1 && s > 0.0 {
            let x = 1.0 - 1.0 / p as f64;
            sxy += x * (1.0 / s - 1.0 / p as f64);
            sxx += x * x;
        }
    }
    (sxx > 0.0).then(|| sxy / sxx)
}

/// Share of `wall_s` spent switching: `switches × cost_ns`, clamped to [0, 1].
pub fn switch_overhead(switches: u64, cost_ns: f64, wall_s: f64) -> f64 {
    if wall_s <= 0.0 {
        return 0.0;
    }
    (switches as f64 * cost_ns / 1e9 / wall_s).clamp(0.0, 1.0)
}

fn median_u64(v: impl Iterator<Item = u64>) -> u64 {
    let v: Vec<f64> = v.map(|x| x as f64).collect();
    median(&v).round() as u64
}

/// The measurement every speedup divides: the sequential one if present, else the first.
fn speedup_base(measurements: &[Measurement]) -> Option<&Measurement> {
    measurements
        .iter()
        .find(|m| m.strategy.is_sequential())
        .or(measurements.first())
}

/// What the speedups of [`rows`] are relative to: `sequential`, or the first row's strategy and
/// cores (`multi-threaded x1`) when the sequential twin was not run.
pub fn speedup_baseline(measurements: &[Measurement]) -> String {
    match speedup_base(measurements) {
        Some(m) if m.strategy.is_sequential() => "sequential".into(),
        Some(m) => format!("{} x{}", m.strategy, m.cores),
        None => "sequential".into(),
    }
}

/// Build table rows. The baseline is the sequential measurement if present; without one,
/// speedups are relative to the first row, which [`speedup_baseline`] names. `context` is the
/// one the rows were measured in: distributed rows read its MPI job and message ceilings.
pub fn rows(
    workload: &str,
    units: WorkUnits,
    measurements: &[Measurement],
    switch_cost_ns: Option<f64>,
    context: &RunContext,
) -> Vec<Row> {
    let base = speedup_base(measurements);
    let baseline = speedup_baseline(measurements);
    let undefined = base.and_then(|m| scaling_undefined(m.strategy, m.cores));
    let base_samples: Vec<f64> = base
        .map(|m| m.runs.iter().map(|r| r.wall_s).collect())
        .unwrap_or_default();
    let base_median = if base_samples.is_empty() {
        f64::NAN
    } else {
        median(&base_samples)
    };
    measurements
        .iter()
        .map(|m| {
            let samples: Vec<f64> = m.runs.iter().map(|r| r.wall_s).collect();
            let s = summarize(&samples);
            let speedup = base_median / s.median;
            let speedup_ci = ratio_interval(&base_samples, &samples);
            let efficiency = undefined.is_none().then(|| speedup / m.cores as f64);
            let vol = median_u64(m.runs.iter().map(|r| r.usage.voluntary_switches));
            let invol = median_u64(m.runs.iter().map(|r| r.usage.involuntary_switches));
            let mut cpus: Vec<usize> = m
                .runs
                .iter()
                .flat_map(|r| r.parts.iter().map(|p| p.cpu))
                .chain(
                    m.runs
                        .iter()
                        .filter_map(|r| r.web.as_ref())
                        .flat_map(|w| w.load.server_cpus.iter().copied()),
                )
                .collect();
            cpus.sort_unstable();
            cpus.dedup();
            let phase = |f: fn(&Phases) -> f64| {
                median(&m.runs.iter().map(|r| f(&r.phases)).collect::<Vec<_>>())
            };
            Row {
                workload: workload.to_string(),
                strategy: m.strategy,
                cores: m.cores,
                reps: samples.len(),
                median_s: s.median,
                min_s: s.min,
                max_s: s.max,
                mean_s: s.mean,
                median_ci_s: s.ci.map(|c| c.ends()),
                ci_coverage: s.ci.map(|c| c.coverage),
                speedup,
                speedup_ci: speedup_ci.map(|c| c.ends()),
                speedup_ci_coverage: speedup_ci.map(|c| c.coverage),
                speedup_baseline: baseline.clone(),
                efficiency,
                serial_fraction: efficiency.and_then(|_| karp_flatt(speedup, m.cores)),
                scaling_undefined: undefined.clone(),
                verified: true,
                oversubscribed: m.oversubscribed,
                workers_per_core: m.workers_per_core,
                cpus,
                slow_cpus: Vec::new(),
                voluntary_switches: vol,
                involuntary_switches: invol,
                switches_per_s: (vol + invol) as f64 / s.median,
                switch_overhead: switch_cost_ns
                    .map(|c| switch_overhead(vol + invol, c, s.median))
                    .unwrap_or(0.0),
                user_s: median(&m.runs.iter().map(|r| r.usage.user_s).collect::<Vec<_>>()),
                sys_s: median(&m.runs.iter().map(|r| r.usage.sys_s).collect::<Vec<_>>()),
                phases: Phases {
                    spawn_s: phase(|p| p.spawn_s),
                    setup_s: phase(|p| p.setup_s),
                    compute_s: phase(|p| p.compute_s),
                    combine_s: phase(|p| p.combine_s),
                    collect_s: phase(|p| p.collect_s),
                },
                throughput: units.count / s.median,
                unit: units.unit.to_string(),
                distributed: distributed_row(&m.runs, context),
                web: web_row(&m.runs, units.count / s.median),
                samples_s: samples,
            }
        })
        .collect()
}

/// Flag each row's slow CPUs: those of its `cpus` whose probe in the round just before the row
/// (`rounds[i]`) or just after it (`rounds[i + 1]`) took [`crate::measure::probe::SLOW_FACTOR`]
/// × `best_ns` or more. `rounds` has one round before every row and one after the last.
pub(crate) fn flag_slow_cpus(
    rows: &mut [Row],
    rounds: &[crate::measure::probe::ProbeRound],
    best_ns: f64,
) {
    for (i, r) in rows.iter_mut().enumerate() {
        let around: Vec<_> = rounds.iter().skip(i).take(2).collect();
        r.slow_cpus = crate::measure::probe::slow_cpus(&r.cpus, &around, best_ns);
    }
}

/// The usual speedup baseline, also the default when reading files written before it was named.
pub(crate) fn sequential_baseline() -> String {
    "sequential".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn karp_flatt_of_ideal_and_serial_speedups() {
        assert_eq!(karp_flatt(2.0, 1), None);
        assert!(karp_flatt(4.0, 4).unwrap().abs() < 1e-12);
        assert!((karp_flatt(1.0, 4).unwrap() - 1.0).abs() < 1e-12);
        // S = 1/(0.1 + 0.9/4) = 3.0769...: e = 0.1
        assert!((karp_flatt(1.0 / (0.1 + 0.9 / 4.0), 4).unwrap() - 0.1).abs() < 1e-12);
    }

    #[test]
    fn amdahl_fit_recovers_the_serial_fraction() {
        let f = 0.2;
        let pts: Vec<(usize, f64)> = [1, 2, 4, 8]
            .iter()
            .map(|&p| (p, 1.0 / (f + (1.0 - f) / p as f64)))
            .collect();
        assert!((amdahl_fit(&pts).unwrap() - f).abs() < 1e-12);
        assert_eq!(amdahl_fit(&[(1, 1.0)]), None);
    }

    #[test]
    fn oversubscribed_follows_the_cores_a_strategy_may_use() {
        use Strategy::*;
        // single-core-threaded: every worker shares ONE core, whatever the machine.
        assert!(!SingleCoreThreaded.oversubscribed(1, 2));
        assert!(SingleCoreThreaded.oversubscribed(2, 2));
        assert!(SingleCoreThreaded.oversubscribed(2, 8));
        let per: Vec<f64> = [1, 2, 4, 8]
            .iter()
            .map(|&n| SingleCoreThreaded.workers_per_core(n, 2))
            .collect();
        assert_eq!(per, [1.0, 2.0, 4.0, 8.0]);
        // The spread strategies: the physical cores.
        for s in [MultiThreaded, MultiProcess] {
            assert!(!s.oversubscribed(2, 2));
            assert!(s.oversubscribed(3, 2));
            assert_eq!(s.workers_per_core(3, 2), 1.5);
            assert_eq!(s.workers_per_core(8, 2), 4.0);
            assert_eq!(s.workers_per_core(2, 4), 1.0);
        }
        // Sequential: one thread, never oversubscribed.
        assert!(!Sequential.oversubscribed(1, 1));
        assert_eq!(Sequential.workers_per_core(1, 1), 1.0);
        assert_eq!(format_per_core(2.0), "2 per core");
        assert_eq!(format_per_core(1.5), "1.5 per core");
        assert_eq!(format_per_core(4.0 / 3.0), "1.33 per core");
    }

    #[test]
    fn scaling_needs_a_one_worker_baseline() {
        use Strategy::*;
        assert_eq!(scaling_undefined(Sequential, 1), None);
        assert_eq!(
            scaling_undefined(MultiThreaded, 1),
            None,
            "one worker, stated"
        );
        let why = scaling_undefined(MultiProcess, 2).unwrap();
        assert!(why.contains("multi-process x2 runs 2 workers"), "{why}");
        assert!(why.contains("relative speed"), "{why}");
    }

    #[test]
    fn the_reported_amdahl_fit() {
        let exact = |f: f64| -> Vec<(usize, f64)> {
            [1, 2, 4]
                .iter()
                .map(|&p| (p, 1.0 / (f + (1.0 - f) / p as f64)))
                .collect()
        };
        let ok = fit_serial_fraction(&exact(0.1), None).unwrap();
        assert!((ok.serial_fraction.unwrap() - 0.1).abs() < 1e-12);
        assert_eq!((ok.fitted, ok.note), (None, None));
        // Slightly superlinear: a negative fit is 0, within its noise.
        let neg = fit_serial_fraction(&[(2, 2.01)], None).unwrap();
        assert_eq!(neg.serial_fraction, Some(0.0));
        assert!(neg.fitted.unwrap() < 0.0);
        assert!(neg.note.unwrap().contains("0 within its noise"));
        // Against a baseline that is not one worker: null, with the reason.
        let none = fit_serial_fraction(&exact(0.1), Some("why")).unwrap();
        assert_eq!(none.serial_fraction, None);
        assert_eq!(none.note.as_deref(), Some("why"));
        assert_eq!(fit_serial_fraction(&[(1, 1.0)], None), None);
        // Slower with more workers: above 1, kept and flagged as no Amdahl fit.
        let slow = fit_serial_fraction(&[(1, 1.0), (2, 0.97)], None).unwrap();
        assert!(slow.serial_fraction.unwrap() > 1.0);
        assert!(slow.note.unwrap().contains("not an Amdahl fit"));
    }

    #[test]
    fn rows_against_a_many_worker_baseline_have_no_efficiency() {
        use crate::measure::rusage::Usage;
        use crate::strategy::Execution;
        let m = |strategy: Strategy, cores: usize, wall: f64| Measurement {
            strategy,
            cores,
            oversubscribed: false,
            workers_per_core: 1.0,
            runs: (0..6)
                .map(|i| Execution {
                    wall_s: wall + i as f64 * 1e-3,
                    start_ns: 0,
                    usage: Usage::default(),
                    phases: Phases::default(),
                    parts: Vec::new(),
                    distributed: None,
                    web: None,
                })
                .collect(),
        };
        let units = WorkUnits {
            count: 1.0,
            unit: "tasks",
        };
        let none = RunContext::default();
        let rows_mp = rows(
            "io",
            units,
            &[m(Strategy::MultiProcess, 2, 0.1)],
            None,
            &none,
        );
        assert_eq!(rows_mp[0].efficiency, None);
        assert_eq!(rows_mp[0].serial_fraction, None);
        assert!(rows_mp[0].scaling_undefined.is_some());
        let rows_seq = rows(
            "io",
            units,
            &[
                m(Strategy::Sequential, 1, 0.2),
                m(Strategy::MultiProcess, 2, 0.1),
            ],
            None,
            &none,
        );
        assert!(rows_seq[1].efficiency.is_some() && rows_seq[1].serial_fraction.is_some());
        assert_eq!(rows_seq[1].scaling_undefined, None);
        // Six repetitions reach 95% for the median; the speedup's interval needs seven.
        assert!(rows_seq[1].ci_coverage.unwrap() >= 0.95);
        assert!(rows_seq[1].speedup_ci_coverage.unwrap() < 0.95);
    }

    #[test]
    fn a_distributed_row_reads_the_ceilings_of_the_context_it_is_given() {
        use crate::machine::{ClusterInfo, MessageCeiling};
        use crate::measure::rusage::Usage;
        use crate::strategy::distributed::{DistributedRun, RankPhases, RankReport};
        use crate::strategy::Execution;
        let rank = |rank: usize, sent: u64, received: u64| RankReport {
            rank,
            host: "vm".into(),
            cpu: rank,
            bytes_sent: sent,
            bytes_received: received,
            phases: RankPhases::default(),
            stages_ns: Vec::new(),
            usage: Usage::default(),
            error: None,
        };
        let runs = vec![Execution {
            wall_s: 0.01,
            start_ns: 0,
            usage: Usage::default(),
            phases: Phases::default(),
            parts: Vec::new(),
            distributed: Some(Box::new(DistributedRun {
                ranks: vec![rank(0, 4_000, 2_000), rank(1, 2_000, 4_000)],
                bytes_moved: 6_000,
                phases: RankPhases::default(),
                input_bytes: 4_000,
                written: Vec::new(),
            })),
            web: None,
        }];
        let job = |bound: bool, bulk: Option<f64>| RunContext {
            cluster: Some(ClusterInfo {
                launcher: "mpirun".into(),
                mpi_library: "MPI".into(),
                init_s: 0.1,
                ranks: Vec::new(),
                bound_by_launcher: bound,
                messages: bulk
                    .map(|bw| MessageCeiling {
                        peer: 1,
                        hosts: "vm -> vm".into(),
                        latency_ns: 300.0,
                        bandwidth_bytes_per_s: bw / 2.0,
                        bandwidth_message_bytes: 1 << 20,
                        large_message_bandwidth_bytes_per_s: bw,
                        large_message_bytes: 16 << 20,
                    })
                    .into_iter()
                    .collect(),
            }),
        };
        // No ceilings measured: no bandwidth, and nothing to set the bytes beside.
        let bare = distributed_row(&runs, &job(false, None)).unwrap();
        assert_eq!(bare.message_bandwidth_bytes_per_s, None);
        assert_eq!(bare.communication_at_bandwidth_s, None);
        assert!(!bare.bound_by_launcher);
        // Two contexts in one process give two answers: each row reads the one it is given.
        let measured = distributed_row(&runs, &job(true, Some(6e9))).unwrap();
        assert_eq!(measured.message_bandwidth_bytes_per_s, Some(6e9));
        assert_eq!(measured.communication_at_bandwidth_s, Some(6_000.0 / 6e9));
        assert!(measured.bound_by_launcher);
        let faster = distributed_row(&runs, &job(true, Some(12e9))).unwrap();
        assert_eq!(faster.message_bandwidth_bytes_per_s, Some(12e9));
    }

    #[test]
    fn switch_overhead_is_a_share() {
        assert_eq!(switch_overhead(1000, 2000.0, 0.004), 0.5);
        assert_eq!(switch_overhead(10_000_000, 2000.0, 0.001), 1.0);
        assert_eq!(switch_overhead(5, 2000.0, 0.0), 0.0);
    }
}
