//! Summary statistics of repeated timings: median, min, max, and a seeded bootstrap 95% CI.
//!
//! The bootstrap resamples the repetitions with replacement (2000 resamples by default) and takes
//! the 2.5th and 97.5th percentiles of the resampled medians; the generator is seeded so the same
//! samples always give the same interval (reports are reproducible).

use serde::{Deserialize, Serialize};

use crate::rng::XorShift;

/// Number of bootstrap resamples.
pub const BOOTSTRAP_RESAMPLES: usize = 2000;

/// Median, extremes and the bootstrap 95% confidence interval of the median.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Median.
    pub median: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Lower end of the bootstrap 95% CI of the median.
    pub ci_lo: f64,
    /// Upper end of the bootstrap 95% CI of the median.
    pub ci_hi: f64,
}

/// Median of a non-empty slice (mean of the two middle values for even lengths).
pub fn median(samples: &[f64]) -> f64 {
    assert!(!samples.is_empty(), "median of no samples");
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// Percentile `q` in [0, 1] of sorted values, by linear interpolation.
pub fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    assert!(!sorted.is_empty());
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Summarise samples; the CI is seeded by `seed`.
pub fn summarize(samples: &[f64], seed: u64) -> Summary {
    let med = median(samples);
    let (ci_lo, ci_hi) = bootstrap_ci(samples, seed, median);
    Summary {
        median: med,
        min: samples.iter().copied().fold(f64::INFINITY, f64::min),
        max: samples.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        mean: samples.iter().sum::<f64>() / samples.len() as f64,
        ci_lo,
        ci_hi,
    }
}

/// Bootstrap 95% CI of `statistic` over `samples` (seeded, [`BOOTSTRAP_RESAMPLES`] resamples).
pub fn bootstrap_ci(samples: &[f64], seed: u64, statistic: impl Fn(&[f64]) -> f64) -> (f64, f64) {
    if samples.len() < 2 {
        let v = statistic(samples);
        return (v, v);
    }
    let mut g = XorShift::new(seed ^ 0xB007_57A9);
    let mut buf = vec![0.0; samples.len()];
    let mut stats: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| {
            for b in buf.iter_mut() {
                *b = samples[(g.next() % samples.len() as u64) as usize];
            }
            statistic(&buf)
        })
        .collect();
    stats.sort_by(f64::total_cmp);
    (
        percentile_sorted(&stats, 0.025),
        percentile_sorted(&stats, 0.975),
    )
}

/// Bootstrap 95% CI of the ratio of medians `median(num) / median(den)`, resampling both
/// independently (the CI of a speedup from two sets of repetitions).
pub fn bootstrap_ratio_ci(num: &[f64], den: &[f64], seed: u64) -> (f64, f64) {
    let mut g = XorShift::new(seed ^ 0x5EED_F5A7);
    let mut a = vec![0.0; num.len()];
    let mut b = vec![0.0; den.len()];
    let mut stats: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| {
            for x in a.iter_mut() {
                *x = num[(g.next() % num.len() as u64) as usize];
            }
            for x in b.iter_mut() {
                *x = den[(g.next() % den.len() as u64) as usize];
            }
            median(&a) / median(&b)
        })
        .collect();
    stats.sort_by(f64::total_cmp);
    (
        percentile_sorted(&stats, 0.025),
        percentile_sorted(&stats, 0.975),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn summary_brackets_the_median() {
        let s = summarize(&[1.0, 2.0, 3.0, 4.0, 10.0], 1);
        assert_eq!((s.min, s.max, s.median), (1.0, 10.0, 3.0));
        assert!(s.ci_lo <= s.median && s.median <= s.ci_hi);
        assert_eq!(
            s,
            summarize(&[1.0, 2.0, 3.0, 4.0, 10.0], 1),
            "seeded, reproducible"
        );
    }

    #[test]
    fn one_sample_has_a_degenerate_ci() {
        let s = summarize(&[5.0], 1);
        assert_eq!((s.ci_lo, s.ci_hi), (5.0, 5.0));
    }

    #[test]
    fn ratio_ci_contains_the_ratio_of_constant_samples() {
        let (lo, hi) = bootstrap_ratio_ci(&[2.0, 2.0], &[1.0, 1.0, 1.0], 3);
        assert_eq!((lo, hi), (2.0, 2.0));
    }
}
