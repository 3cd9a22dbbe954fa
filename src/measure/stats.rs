//! Summary statistics of repeated timings: median, min, max, and the distribution-free
//! order-statistic interval of the median, with the coverage it actually has.
//!
//! For n independent repetitions, the k-th smallest and k-th largest values bracket the true
//! median with probability 1 − 2·P(B ≤ k − 1), B ~ Binomial(n, ½), whatever the distribution of
//! the times (the sign-test interval). [`median_interval`] takes the narrowest such interval that
//! reaches the target coverage (95%), and when n is too small for it (n ≤ 5: the widest interval
//! of 5 covers 93.75%), the widest one with its lower coverage, flagged; one repetition has no
//! interval at all. The interval of a ratio of two medians (a speedup) divides the two intervals'
//! ends; both cover together with at least the product of their coverages (the samples are
//! independent), so each is chosen to reach √0.95. Where the design pairs (both sides measured
//! side by side in each repetition), the median of the paired ratios gets the same order-statistic
//! interval, applied to the ratios ([`paired_ratio_interval`]). These are the only interval rules
//! of the crate.

use serde::{Deserialize, Serialize};

/// The coverage every interval aims at.
pub(crate) const TARGET_COVERAGE: f64 = 0.95;

/// An interval and the probability that it covers the quantity (at least that, for a ratio).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Lower end.
    pub(crate) lo: f64,
    /// Upper end.
    pub(crate) hi: f64,
    /// Probability that it covers the true value, in [0, 1].
    pub(crate) coverage: f64,
}

impl Interval {
    /// Whether it reaches [`TARGET_COVERAGE`].
    #[cfg(test)]
    pub(crate) fn reaches_target(&self) -> bool {
        self.coverage >= TARGET_COVERAGE - 1e-12
    }

    /// The two ends.
    pub(crate) fn ends(&self) -> [f64; 2] {
        [self.lo, self.hi]
    }
}

/// Median, extremes and the order-statistic interval of the median.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Median.
    pub median: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
    /// Arithmetic mean.
    pub(crate) mean: f64,
    /// Order-statistic interval of the median ([`median_interval`]); `None` for one sample.
    pub ci: Option<Interval>,
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
pub(crate) fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    assert!(!sorted.is_empty());
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Coverage of `[x(k), x(n+1−k)]` (1-based order statistics) for the median of `n` samples:
/// 1 − 2·P(Binomial(n, ½) ≤ k − 1). 0 when the interval does not exist (k < 1 or 2k > n + 1).
pub(crate) fn order_statistic_coverage(n: usize, k: usize) -> f64 {
    if k < 1 || 2 * k > n + 1 {
        return 0.0;
    }
    // P(B ≤ k−1) = Σ_{i<k} C(n, i) / 2^n, summed in floating point (n is small: repetitions).
    let mut term = 0.5f64.powi(n as i32); // C(n,0)/2^n
    let mut tail = 0.0;
    for i in 0..k {
        if i > 0 {
            term *= (n - i + 1) as f64 / i as f64;
        }
        tail += term;
    }
    (1.0 - 2.0 * tail).max(0.0)
}

/// The smallest number of samples whose widest order-statistic interval reaches `coverage`.
pub(crate) fn reps_for_coverage(coverage: f64) -> usize {
    (2..64)
        .find(|&n| order_statistic_coverage(n, 1) >= coverage - 1e-12)
        .unwrap_or(64)
}

/// The order-statistic interval of the median of `samples` aiming at `coverage`: the narrowest
/// that reaches it, else (too few samples) the widest, whose [`Interval::coverage`] says how far
/// short it falls. `None` for fewer than two samples.
pub(crate) fn median_interval_at(samples: &[f64], coverage: f64) -> Option<Interval> {
    let n = samples.len();
    if n < 2 {
        return None;
    }
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let k = (1..=n.div_ceil(2))
        .rev()
        .find(|&k| order_statistic_coverage(n, k) >= coverage - 1e-12)
        .unwrap_or(1);
    Some(Interval {
        lo: v[k - 1],
        hi: v[n - k],
        coverage: order_statistic_coverage(n, k),
    })
}

/// [`median_interval_at`] the [`TARGET_COVERAGE`].
pub(crate) fn median_interval(samples: &[f64]) -> Option<Interval> {
    median_interval_at(samples, TARGET_COVERAGE)
}

/// The interval of `median(num) / median(den)` (a speedup: the baseline's times over the row's):
/// each median's order-statistic interval at √[`TARGET_COVERAGE`], divided end by end; its
/// coverage is the product of theirs (a lower bound: independent samples). `None` when either
/// side has fewer than two samples.
pub(crate) fn ratio_interval(num: &[f64], den: &[f64]) -> Option<Interval> {
    let each = TARGET_COVERAGE.sqrt();
    let a = median_interval_at(num, each)?;
    let b = median_interval_at(den, each)?;
    Some(Interval {
        lo: a.lo / b.hi,
        hi: a.hi / b.lo,
        coverage: a.coverage * b.coverage,
    })
}

/// The ratios `num[i] / den[i]` of paired samples (each pair measured side by side in one
/// repetition), for [`paired_ratio_interval`].
pub(crate) fn paired_ratios(num: &[f64], den: &[f64]) -> Vec<f64> {
    assert_eq!(num.len(), den.len(), "paired samples come in pairs");
    num.iter().zip(den).map(|(a, b)| a / b).collect()
}

/// The interval of the median of paired ratios `num[i] / den[i]`: the order-statistic interval
/// of [`median_interval`] applied to the ratios, with its coverage (pairing cancels what the two
/// sides of one repetition share, such as a slow spell of the machine). `None` for fewer than two
/// pairs.
pub(crate) fn paired_ratio_interval(num: &[f64], den: &[f64]) -> Option<Interval> {
    median_interval(&paired_ratios(num, den))
}

/// An interval's coverage as people read it: `95.3%`, `93.75%` (two decimals only when needed).
pub(crate) fn format_coverage(coverage: f64) -> String {
    let pct = coverage * 100.0;
    let one = format!("{pct:.1}");
    if (one.parse::<f64>().unwrap_or(pct) - pct).abs() < 1e-9 {
        format!("{}%", one.trim_end_matches(".0"))
    } else {
        format!("{pct:.2}%")
    }
}

/// Summarise samples: median, extremes, mean and the order-statistic interval of the median.
pub(crate) fn summarize(samples: &[f64]) -> Summary {
    Summary {
        median: median(samples),
        min: samples.iter().copied().fold(f64::INFINITY, f64::min),
        max: samples.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        mean: samples.iter().sum::<f64>() / samples.len() as f64,
        ci: median_interval(samples),
    }
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
    fn coverage_of_order_statistics() {
        // The widest interval of 5 covers 1 − 2/32 = 93.75%: no 95% interval from 5.
        assert_eq!(order_statistic_coverage(5, 1), 0.9375);
        assert_eq!(order_statistic_coverage(6, 1), 1.0 - 2.0 / 64.0);
        assert_eq!(order_statistic_coverage(2, 1), 0.5);
        assert_eq!(
            order_statistic_coverage(1, 1),
            0.0,
            "one sample brackets nothing"
        );
        assert_eq!(order_statistic_coverage(5, 4), 0.0, "no such interval");
        // n = 10, k = 2: 1 − 2·(1 + 10)/1024.
        assert!((order_statistic_coverage(10, 2) - (1.0 - 22.0 / 1024.0)).abs() < 1e-12);
        assert_eq!(reps_for_coverage(0.95), 6);
        assert_eq!(reps_for_coverage(0.95f64.sqrt()), 7);
    }

    #[test]
    fn interval_of_the_median_says_its_coverage() {
        let five = [1.0, 2.0, 3.0, 4.0, 10.0];
        let s = summarize(&five);
        assert_eq!((s.min, s.max, s.median), (1.0, 10.0, 3.0));
        let ci = s.ci.unwrap();
        assert_eq!((ci.lo, ci.hi, ci.coverage), (1.0, 10.0, 0.9375));
        assert!(!ci.reaches_target(), "5 repetitions cannot reach 95%");
        let six = median_interval(&[6.0, 1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        assert_eq!((six.lo, six.hi), (1.0, 6.0));
        assert!(six.reaches_target());
        // Many samples: the narrowest interval that still reaches 95%.
        let many: Vec<f64> = (1..=20).map(f64::from).collect();
        let ci = median_interval(&many).unwrap();
        assert!(ci.reaches_target());
        assert_eq!((ci.lo, ci.hi), (6.0, 15.0));
        assert!(
            order_statistic_coverage(20, 7) < 0.95,
            "narrower misses 95%"
        );
    }

    #[test]
    fn one_sample_has_no_interval() {
        assert_eq!(summarize(&[5.0]).ci, None);
        assert_eq!(ratio_interval(&[2.0], &[1.0, 1.0]), None);
    }

    #[test]
    fn ratio_interval_divides_the_ends_and_multiplies_the_coverage() {
        let num = [2.0; 7];
        let den = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0];
        let r = ratio_interval(&num, &den).unwrap();
        assert_eq!((r.lo, r.hi), (1.0, 2.0));
        assert!((r.coverage - order_statistic_coverage(7, 1).powi(2)).abs() < 1e-12);
        assert!(r.reaches_target());
        let r5 = ratio_interval(&[2.0; 5], &[1.0; 5]).unwrap();
        assert!(!r5.reaches_target());
    }

    #[test]
    fn coverages_print_as_people_read_them() {
        assert_eq!(format_coverage(0.9375), "93.75%");
        assert_eq!(format_coverage(0.96875), "96.88%");
        assert_eq!(format_coverage(0.95), "95%");
        assert_eq!(format_coverage(0.5), "50%");
    }

    #[test]
    fn paired_ratios_take_the_median_interval_of_the_ratios() {
        let num = [2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0];
        let den = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 2.0];
        assert_eq!(
            paired_ratios(&num, &den),
            [2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 7.0]
        );
        let r = paired_ratio_interval(&num, &den).unwrap();
        assert_eq!((r.lo, r.hi), (2.0, 7.0));
        assert_eq!(r.coverage, order_statistic_coverage(7, 1));
        assert_eq!(paired_ratio_interval(&[1.0], &[1.0]), None);
    }
}
