//! The machine's ceilings as data: what `concbench limits` measured (copy bandwidth for 1..P
//! threads, peak FLOP/s per core) and what they say about each row of a run (GFLOP/s as a share
//! of the peak, speedup beside the bandwidth scaling).
//!
//! Measuring them is an experiment (`crate::experiment::ceilings`); this module only holds the
//! figures and the arithmetic on them, so reports can show them without running anything.

use serde::{Deserialize, Serialize};

use super::Row;
use crate::measure::load::OthersLoad;
use crate::strategy::Strategy;
use crate::workload::registry::{self, Ceiling};

/// Bandwidth of one thread count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct BandwidthPoint {
    /// Threads copying at once, each on its own physical core.
    pub(crate) threads: usize,
    /// CPUs they were pinned to.
    pub(crate) cpus: Vec<usize>,
    /// Median bandwidth, GB/s (10⁹ bytes, read + written).
    pub(crate) gb_s: f64,
    /// Slowest repetition's bandwidth, GB/s.
    pub(crate) min_gb_s: f64,
    /// Fastest repetition's bandwidth, GB/s.
    pub(crate) max_gb_s: f64,
}

/// Memory copy bandwidth for 1..P threads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CopyCeiling {
    /// How the copy was done and counted, in one sentence.
    pub(crate) method: String,
    /// Bytes of the source buffer (the destination is as large).
    pub(crate) buffer_bytes: u64,
    /// Timed repetitions per thread count (after one warm-up).
    pub(crate) reps: usize,
    /// One point per thread count, 1..=P.
    pub(crate) points: Vec<BandwidthPoint>,
}

/// Peak of one instruction set on one core.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct IsaPeak {
    /// `avx512f`, `avx2+fma` or `portable`.
    pub isa: String,
    /// f64 lanes per vector accumulator (8, 4; 1 for the portable scalar code).
    pub lanes: usize,
    /// Independent accumulators of the loop.
    pub(crate) accumulators: usize,
    /// Median GFLOP/s on one core.
    pub gflops: f64,
    /// Fastest repetition's GFLOP/s (the least disturbed by neighbours on a shared machine).
    pub(crate) best_gflops: f64,
}

/// Peak double-precision FLOP/s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct FlopsCeiling {
    /// The instruction set with the highest single-core figure (used for the all-core run).
    pub(crate) isa: String,
    /// Independent accumulators in the FMA loop.
    pub(crate) accumulators: usize,
    /// Timed repetitions (after one warm-up).
    pub(crate) reps: usize,
    /// Best single-core GFLOP/s (the `isa`'s).
    pub(crate) per_core_gflops: f64,
    /// Cores in the all-core run (one thread pinned to each physical core).
    pub(crate) all_cores: usize,
    /// GFLOP/s of all those cores at once.
    pub(crate) all_cores_gflops: f64,
    /// Every instruction set measured, on one core.
    pub(crate) by_isa: Vec<IsaPeak>,
}

/// What `concbench limits` measured, with where and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ceilings {
    /// When it was measured, UTC, RFC 3339.
    pub(crate) date: String,
    /// CPU model name (/proc/cpuinfo); a cache is only used on the same model.
    pub(crate) cpu_model: String,
    /// Physical cores this process could use; a cache is only used with the same count.
    pub(crate) physical_cores: usize,
    /// Whether it was a `--quick` measurement (smaller buffer, shorter loops).
    pub(crate) quick: bool,
    /// What other programs took of the CPUs during the measurement (`/proc/stat` over its
    /// interval): above 5%, the figures are low and are not cached.
    #[serde(default)]
    pub(crate) others_load: Option<OthersLoad>,
    /// Caches written before `others_load` existed: the one-minute load average before
    /// measuring. Read only, to say such a cache may be disturbed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) load_average: Option<f64>,
    /// Copy bandwidth for 1..P threads.
    pub(crate) copy: CopyCeiling,
    /// Peak FLOP/s.
    pub(crate) flops: FlopsCeiling,
}

impl Ceilings {
    /// Whether other programs competed while it was measured: others took more than 5% of the
    /// CPUs (or, for an old cache, the load average exceeded the cores).
    pub(crate) fn disturbed(&self) -> bool {
        match &self.others_load {
            Some(l) => l.busy(),
            None => self
                .load_average
                .is_some_and(|l| l > self.physical_cores as f64),
        }
    }

    /// Whether `self` is a better measurement to keep than `other`: quiet beats disturbed, full
    /// beats quick, and then the higher single-core peak (the less slowed).
    pub(crate) fn better_than(&self, other: &Ceilings) -> bool {
        let rank = |c: &Ceilings| (!c.disturbed(), !c.quick);
        match rank(self).cmp(&rank(other)) {
            std::cmp::Ordering::Equal => self.flops.per_core_gflops >= other.flops.per_core_gflops,
            o => o.is_gt(),
        }
    }

    /// Median copy bandwidth with `threads` threads, GB/s (`None` if not measured).
    pub(crate) fn bandwidth(&self, threads: usize) -> Option<f64> {
        self.copy
            .points
            .iter()
            .find(|p| p.threads == threads)
            .map(|p| p.gb_s)
    }

    /// Bandwidth with `threads` threads over bandwidth with one: the most a memory-bound job can
    /// gain from that many cores. Counts above the measured ones use the largest measured.
    pub(crate) fn bandwidth_scaling(&self, threads: usize) -> Option<f64> {
        let top = self.copy.points.iter().map(|p| p.threads).max()?;
        let t = threads.clamp(1, top);
        Some(self.bandwidth(t)? / self.bandwidth(1)?)
    }

    /// Peak GFLOP/s of `cores` cores: the single-core peak × min(cores, physical cores).
    pub(crate) fn peak_gflops(&self, cores: usize) -> f64 {
        self.flops.per_core_gflops * cores.clamp(1, self.physical_cores.max(1)) as f64
    }
}

/// What the ceilings say about one row of a run (see [`row_ceilings`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RowCeiling {
    /// The row's strategy.
    pub(crate) strategy: Strategy,
    /// The row's sweep value N.
    pub(crate) cores: usize,
    /// Physical cores the row could use at once: 1 for `sequential` and `single-core-threaded`,
    /// min(N, physical cores) otherwise.
    pub(crate) cores_used: usize,
    /// matmul: the row's GFLOP/s.
    pub(crate) gflops: Option<f64>,
    /// matmul: single-core peak × `cores_used`, GFLOP/s.
    pub(crate) peak_gflops: Option<f64>,
    /// matmul: `gflops` / `peak_gflops`.
    pub(crate) peak_share: Option<f64>,
    /// `peak_share` above 100%: no row can beat the peak, so the ceiling was measured low (under
    /// load, or on slowed CPUs) and the share is no fact about the row.
    #[serde(default)]
    pub(crate) ceiling_measured_low: bool,
    /// mergesort: the row's speedup over the sequential twin.
    pub(crate) speedup: Option<f64>,
    /// mergesort: copy bandwidth with `cores_used` threads / with one thread.
    pub(crate) bandwidth_scaling: Option<f64>,
    /// mergesort: `speedup` / `bandwidth_scaling` (1.0 = the row scales as memory bandwidth).
    pub(crate) speedup_over_bandwidth: Option<f64>,
}

/// Physical cores a row can use at once.
pub(crate) fn cores_used(strategy: Strategy, cores: usize, physical_cores: usize) -> usize {
    strategy.cores_used(cores, physical_cores)
}

/// The ceiling figures of each run row, in the same order, by the [`Ceiling`] of the row's
/// workload (its descriptor's): compute-bound rows (matmul) get GFLOP/s as a share of the FMA
/// peak × the cores used; memory-bound rows (mergesort) the speedup beside the copy bandwidth
/// scaling at the cores used. Other workloads, and names that are not built in, get a row with
/// only `cores_used`.
pub(crate) fn row_ceilings(rows: &[Row], ceilings: &Ceilings) -> Vec<RowCeiling> {
    rows.iter()
        .map(|r| {
            let used = cores_used(r.strategy, r.cores, ceilings.physical_cores);
            let mut out = RowCeiling {
                strategy: r.strategy,
                cores: r.cores,
                cores_used: used,
                gflops: None,
                peak_gflops: None,
                peak_share: None,
                ceiling_measured_low: false,
                speedup: None,
                bandwidth_scaling: None,
                speedup_over_bandwidth: None,
            };
            let ceiling = registry::find(&r.workload).map_or(Ceiling::None, |d| d.ceiling);
            if ceiling == Ceiling::ComputeBound {
                let g = r.throughput / 1e9;
                let peak = ceilings.peak_gflops(used);
                out.gflops = Some(g);
                out.peak_gflops = Some(peak);
                out.peak_share = (peak > 0.0).then(|| g / peak);
                out.ceiling_measured_low = out.peak_share.is_some_and(measured_low);
            } else if ceiling == Ceiling::MemoryBound {
                let scaling = ceilings.bandwidth_scaling(used);
                out.speedup = Some(r.speedup);
                out.bandwidth_scaling = scaling;
                out.speedup_over_bandwidth = scaling.filter(|s| *s > 0.0).map(|s| r.speedup / s);
            }
            out
        })
        .collect()
}

/// Whether a share of a ceiling shows the ceiling was measured low: above 100%.
pub(crate) fn measured_low(share: f64) -> bool {
    share > 1.0
}

/// One line naming where ceilings come from: measured in this invocation, or cached with its
/// date and age (`now_unix`, seconds since the epoch); says when they were measured while others
/// competed.
pub(crate) fn provenance(ceilings: &Ceilings, cached: bool, now_unix: u64) -> String {
    let age = crate::machine::parse_unix_utc(&ceilings.date)
        .filter(|_| cached)
        .map(|t| {
            let h = now_unix.saturating_sub(t) / 3600;
            match h {
                0 => ", less than an hour old".to_string(),
                1..=47 => format!(", {h} hour{} old", if h == 1 { "" } else { "s" }),
                _ => format!(", {} days old", h / 24),
            }
        })
        .unwrap_or_default();
    let disturbed = if !ceilings.disturbed() {
        String::new()
    } else {
        match &ceilings.others_load {
            Some(l) => format!(
                ", measured while other programs took {:.0}% of the CPUs (figures low)",
                l.others_share * 100.0
            ),
            None => format!(
                ", measured under load average {:.1} (figures low)",
                ceilings.load_average.unwrap_or(0.0)
            ),
        }
    };
    format!(
        "ceilings ({}, {} core{}) {} {}{}{age}{disturbed}",
        ceilings.cpu_model,
        ceilings.physical_cores,
        if ceilings.physical_cores == 1 {
            ""
        } else {
            "s"
        },
        if cached { "cached from" } else { "measured at" },
        ceilings.date,
        if ceilings.quick { " (quick)" } else { "" }
    )
}
