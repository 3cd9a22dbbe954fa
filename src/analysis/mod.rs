//! From raw measurements to the rows people cite: speedup, efficiency, serial fraction,
//! switches and their overhead, confidence intervals.
//!
//! Every figure here is derived from the repetitions kept in the [`Measurement`]s, so a reader of
//! the JSON can recompute it: speedup = median(sequential) / median(row); efficiency = speedup /
//! cores; Karp–Flatt serial fraction e = (1/S − 1/p) / (1 − 1/p) for p > 1; switch overhead =
//! median switches × switch cost / median wall time.

pub mod ceilings;

use serde::{Deserialize, Serialize};

use crate::measure::stats::{bootstrap_ratio_ci, median, summarize};
use crate::runner::Measurement;
use crate::strategy::{Phases, Strategy};
use crate::workload::WorkUnits;

/// One line of a speedup table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Workload name.
    pub workload: String,
    /// Strategy.
    pub strategy: Strategy,
    /// Sweep value N (parts and workers); 1 for sequential.
    pub cores: usize,
    /// Timed repetitions.
    pub reps: usize,
    /// Median wall time, seconds.
    pub median_s: f64,
    /// Fastest repetition.
    pub min_s: f64,
    /// Slowest repetition.
    pub max_s: f64,
    /// Mean wall time.
    pub mean_s: f64,
    /// Bootstrap 95% CI of the median time: [lo, hi].
    pub ci95_s: [f64; 2],
    /// Baseline median / this median; the baseline is `speedup_baseline`.
    pub speedup: f64,
    /// The row every speedup divides: `sequential`, or e.g. `multi-threaded x1` when the
    /// sequential twin was not run (see [`speedup_baseline`]).
    #[serde(default = "sequential_baseline")]
    pub speedup_baseline: String,
    /// Bootstrap 95% CI of the speedup: [lo, hi].
    pub speedup_ci95: [f64; 2],
    /// Speedup / cores.
    pub efficiency: f64,
    /// Karp–Flatt experimentally determined serial fraction (p > 1 only).
    pub serial_fraction: Option<f64>,
    /// Every repetition's answer was checked and right.
    pub verified: bool,
    /// More cores asked for than the process has physical cores.
    pub oversubscribed: bool,
    /// CPUs the parts were seen on (sched_getcpu), ascending.
    pub cpus: Vec<usize>,
    /// Median voluntary context switches per repetition.
    pub voluntary_switches: u64,
    /// Median involuntary context switches per repetition.
    pub involuntary_switches: u64,
    /// (Voluntary + involuntary) / median wall time.
    pub switches_per_s: f64,
    /// Median switches × switch cost / median wall time: the share of the wall time spent
    /// switching (0 when no switch cost was measured).
    pub switch_overhead: f64,
    /// Median user CPU seconds per repetition.
    pub user_s: f64,
    /// Median system CPU seconds per repetition.
    pub sys_s: f64,
    /// Median of each phase over the repetitions.
    pub phases: Phases,
    /// Work units per second at the median time (keys/s, flop/s, tasks/s).
    pub throughput: f64,
    /// Unit of `throughput` (per second).
    pub unit: String,
    /// Every timed repetition, seconds.
    pub samples_s: Vec<f64>,
}

/// Seed of the bootstrap, fixed so the same samples always give the same report.
pub const CI_SEED: u64 = 0xC0C0_BE4C;

/// Karp–Flatt serial fraction for speedup `s` on `p > 1` processors.
pub fn karp_flatt(s: f64, p: usize) -> Option<f64> {
    (p > 1 && s > 0.0).then(|| {
        let p = p as f64;
        (1.0 / s - 1.0 / p) / (1.0 - 1.0 / p)
    })
}

/// Least-squares Amdahl serial fraction f over (p, speedup) points: 1/S = f + (1 − f)/p is linear
/// in f, so f = Σxy / Σx² with x = 1 − 1/p and y = 1/S − 1/p. `None` without a point with p > 1.
pub fn amdahl_fit(points: &[(usize, f64)]) -> Option<f64> {
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
/// speedups are relative to the first row, which [`speedup_baseline`] names.
pub fn rows(
    workload: &str,
    units: WorkUnits,
    measurements: &[Measurement],
    switch_cost_ns: Option<f64>,
) -> Vec<Row> {
    let base = speedup_base(measurements);
    let baseline = speedup_baseline(measurements);
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
        .enumerate()
        .map(|(i, m)| {
            let samples: Vec<f64> = m.runs.iter().map(|r| r.wall_s).collect();
            let s = summarize(&samples, CI_SEED ^ i as u64);
            let speedup = base_median / s.median;
            let (sp_lo, sp_hi) = bootstrap_ratio_ci(&base_samples, &samples, CI_SEED ^ i as u64);
            let vol = median_u64(m.runs.iter().map(|r| r.usage.voluntary_switches));
            let invol = median_u64(m.runs.iter().map(|r| r.usage.involuntary_switches));
            let mut cpus: Vec<usize> = m
                .runs
                .iter()
                .flat_map(|r| r.parts.iter().map(|p| p.cpu))
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
                ci95_s: [s.ci_lo, s.ci_hi],
                speedup,
                speedup_ci95: [sp_lo, sp_hi],
                speedup_baseline: baseline.clone(),
                efficiency: speedup / m.cores as f64,
                serial_fraction: karp_flatt(speedup, m.cores),
                verified: true,
                oversubscribed: m.oversubscribed,
                cpus,
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
                samples_s: samples,
            }
        })
        .collect()
}

/// The usual speedup baseline, also the default when reading files written before it was named.
pub fn sequential_baseline() -> String {
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
    fn switch_overhead_is_a_share() {
        assert_eq!(switch_overhead(1000, 2000.0, 0.004), 0.5);
        assert_eq!(switch_overhead(10_000_000, 2000.0, 0.001), 1.0);
        assert_eq!(switch_overhead(5, 2000.0, 0.0), 0.0);
    }
}
