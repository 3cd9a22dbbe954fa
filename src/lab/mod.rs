//! `concbench lab`: the claims of a course on concurrency, each tested on this machine.
//!
//! A `Claim` is an experiment built on the library (runner, timeline, ping-pong, ceilings, and
//! the lab's own kernels): a statement, the **model** its prediction comes from, the outcome that
//! would **refute** it, and code that measures one figure over repetitions. The prediction is
//! computed from the model with inputs measured in the same run (`context::Lab`: ceilings,
//! switch cost, thread start, cache-line transfer, system call; the timer tick and the noise
//! floor are only reported), never a round threshold, and stated as an inequality on
//! the figure (`Expect`). A demonstration that cannot fail by construction is a `Kind::Check`,
//! reported as a check, not as a supported claim.
//!
//! Every figure is judged by the same rule (`verdict`) on its *spread*: the distribution-free
//! order-statistic interval of a median (`crate::measure::stats`, the crate's one interval
//! method), with the coverage it actually has. A figure is the median of per-repetition values
//! (`Estimate::Median`), the median of paired per-repetition ratios (both sides measured side
//! by side in each repetition: `Estimate::MedianOfPairedRatios`) or a ratio of two medians
//! (`Estimate::RatioOfMedians`); each result says which.
//!
//! - `supported`: the whole spread satisfies the prediction;
//! - `not-supported`: none of it does;
//! - `inconclusive`: it straddles the threshold (the result says about how many repetitions would
//!   narrow the interval enough to decide) — and then the explanation draws no conclusion;
//! - `not-testable`: this machine cannot test it (one core, no SMT); the spread is null.
//!
//! Quick mode uses smaller experiments but enough repetitions (7) for every interval to reach
//! 95%: where 7 cannot decide, the interval straddles and quick says inconclusive.
//!
//! `concbench lab` is one call, [`run_lab`]: a [`LabRequest`] (the claim list as given, quick
//! or full, the output directory to check) is checked before any claim runs, and the
//! [`LabReport`] that comes back renders and writes its files through [`crate::report::Render`]
//! (`render`). [`claim_list`] is the text of `lab --list`, [`claim_ids`] the ids alone.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::machine::Machine;
use crate::measure::stats::{
    median, median_interval, paired_ratio_interval, paired_ratios, ratio_interval,
};

pub(crate) mod async_claims;
pub(crate) mod claims;
pub(crate) mod context;
pub(crate) mod distributed_claims;
pub(crate) mod kernels;
pub(crate) mod render;
mod run;

#[cfg(test)]
use run::{all_claims, select};
pub use run::{claim_ids, claim_list, run_lab, LabEvent, LabRequest};
pub(crate) mod verdict_chart;
pub(crate) mod web_claims;

pub(crate) use crate::measure::stats::Interval;
pub(crate) use context::Lab;

/// How a prediction compares the figure with its threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", content = "value")]
pub(crate) enum Expect {
    /// figure ≥ value
    #[serde(rename = ">=")]
    AtLeast(f64),
    /// figure ≤ value
    #[serde(rename = "<=")]
    AtMost(f64),
    /// a ≤ figure ≤ b
    #[serde(rename = "between")]
    Between([f64; 2]),
}

impl Expect {
    /// Human form: "≥ 6", "≤ 1.05", "between 0.9 and 1.1".
    pub(crate) fn describe(&self) -> String {
        match self {
            Expect::AtLeast(v) => format!(">= {}", fmt_num(*v)),
            Expect::AtMost(v) => format!("<= {}", fmt_num(*v)),
            Expect::Between([a, b]) => format!("between {} and {}", fmt_num(*a), fmt_num(*b)),
        }
    }

    /// Distance from `x` to the nearest threshold.
    fn distance(&self, x: f64) -> f64 {
        (x - self.nearest(x)).abs()
    }

    /// The threshold nearest `x`.
    fn nearest(&self, x: f64) -> f64 {
        match *self {
            Expect::AtLeast(v) | Expect::AtMost(v) => v,
            Expect::Between([a, b]) if (x - a).abs() <= (x - b).abs() => a,
            Expect::Between([_, b]) => b,
        }
    }
}

/// How near its threshold (as a share of the claim's smallest margin, relative to the threshold)
/// an inconclusive figure must lie to be called indistinguishable from it: there, a count of
/// repetitions "that would decide" means nothing (it grows without bound as the figure nears
/// the threshold), so none is printed. Fixed with the rule, before any run.
pub(crate) const AT_THRESHOLD: f64 = 0.1;

/// Whether `measured` lies within [`AT_THRESHOLD`] of `margin` (relative) of `expect`'s nearest
/// threshold. A claim with no declared margin has no such region: false.
pub(crate) fn at_threshold(expect: &Expect, measured: f64, margin: f64) -> bool {
    let t = expect.nearest(measured);
    margin > 0.0 && expect.distance(measured) <= AT_THRESHOLD * margin * t.abs()
}

impl Expect {}

/// A claim's outcome on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub(crate) enum Verdict {
    /// The whole spread satisfies the prediction.
    Supported,
    /// None of the spread does.
    NotSupported,
    /// The spread straddles the threshold.
    Inconclusive,
    /// This machine cannot test the claim.
    NotTestable,
}

impl Verdict {
    /// The word used in reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Verdict::Supported => "supported",
            Verdict::NotSupported => "not-supported",
            Verdict::Inconclusive => "inconclusive",
            Verdict::NotTestable => "not-testable",
        }
    }
}

/// The one rule every claim is judged by (see the module docs).
pub(crate) fn verdict(spread: Option<[f64; 2]>, expect: &Expect) -> Verdict {
    let Some([lo, hi]) = spread else {
        return Verdict::NotTestable;
    };
    match *expect {
        Expect::AtLeast(v) if lo >= v => Verdict::Supported,
        Expect::AtLeast(v) if hi < v => Verdict::NotSupported,
        Expect::AtMost(v) if hi <= v => Verdict::Supported,
        Expect::AtMost(v) if lo > v => Verdict::NotSupported,
        Expect::Between([a, b]) if a <= lo && hi <= b => Verdict::Supported,
        Expect::Between([a, b]) if hi < a || lo > b => Verdict::NotSupported,
        _ => Verdict::Inconclusive,
    }
}

/// Whether a prediction reaches within the effect margin of the value its statement's negation
/// predicts (`null`, usually 1: no effect): the negation's region, `null` x (1 -+ the effect
/// margin), overlaps the inside of the predicted region. Then a figure could be supported by
/// the prediction while lying within a course's smallest difference of the negation, so no figure
/// tells the claim from its negation, and the claim is not testable whatever its spread
/// ([`ClaimResult::untestable_by_design`]): a rule applied to the model's prediction before the
/// figure is read. Touching is not overlapping: a band built to start at 1 + m excludes a null
/// of 1.
pub(crate) fn predicts_no_effect(expect: &Expect, null: f64) -> bool {
    let m = EFFECT_MARGIN.rel;
    let (lo, hi) = if null >= 0.0 {
        (null * (1.0 - m), null * (1.0 + m))
    } else {
        (null * (1.0 + m), null * (1.0 - m))
    };
    // A relative tolerance, so that a band's end computed as 1 + m still only touches.
    let eps = 1e-9 * (1.0 + null.abs());
    match *expect {
        Expect::AtLeast(v) => hi > v + eps,
        Expect::AtMost(v) => lo < v - eps,
        Expect::Between([a, b]) => hi > a + eps && lo < b - eps,
    }
}

/// The verdict rule in words, printed in every lab report.
pub(crate) const VERDICT_RULE: &str = "Each claim is decided on one figure, predicted by a model whose inputs (ceilings, switch cost, cost of starting a thread, a zero-work twin's time (the same run with tasks of no length), cache-line transfer, system call, and the timer tick for the one claim whose model is a scheduler turn) were measured in the same run; the noise floor is measured too but only reported beside a figure, never used in a prediction. Its spread is the distribution-free order-statistic interval of a median (the sign-test interval: k-th smallest to k-th largest of n values), with the coverage it actually has; a ratio of two medians divides the ends of each median's interval (coverage: the product), and where both sides were measured side by side in each repetition the figure is the median of the paired ratios and gets the interval of that median. supported: the whole spread satisfies the prediction; not-supported: none of it does; inconclusive: the spread straddles the prediction, and no conclusion is drawn; not-testable: this machine cannot test the claim, or the predicted region reaches within the effect margin of the figure the statement's negation predicts (every claim declares it; usually no effect) so that no figure could tell them apart, a rule applied to the prediction before the figure is read; the spread is then null, and a figure measured anyway is reported among the figures, not judged. A check is a demonstration that cannot fail by construction: it is judged by the same rule but is not evidence for a claim.";

/// Whether a result tests a claim or only demonstrates something that holds by construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Kind {
    /// A prediction that the machine could refute.
    Claim,
    /// A demonstration that cannot fail by how it is built (isolation): reported as a check.
    Check,
}

/// How a figure and its interval were computed from the repetitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Estimate {
    /// The median of one value per repetition (which may itself combine paired measurements).
    Median,
    /// The median of the ratios of two quantities measured side by side in each repetition.
    MedianOfPairedRatios,
    /// The ratio of two medians measured in separate repetitions.
    RatioOfMedians,
}

impl Estimate {
    /// In words, for reports.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Estimate::Median => "median of per-repetition values",
            Estimate::MedianOfPairedRatios => "median of paired ratios",
            Estimate::RatioOfMedians => "ratio of medians",
        }
    }
}

/// A figure: its value, its order-statistic interval and how both were computed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Figure {
    /// The value.
    pub(crate) value: f64,
    /// Its interval (`None` from fewer than two repetitions).
    pub(crate) interval: Option<Interval>,
    /// How it was computed.
    pub(crate) estimate: Estimate,
    /// Repetitions behind it.
    pub(crate) reps: usize,
}

impl Figure {
    /// The median of per-repetition values.
    pub(crate) fn median(samples: &[f64]) -> Figure {
        Figure {
            value: median(samples),
            interval: median_interval(samples),
            estimate: Estimate::Median,
            reps: samples.len(),
        }
    }

    /// The median of the paired ratios `num[i] / den[i]`.
    pub(crate) fn paired(num: &[f64], den: &[f64]) -> Figure {
        Figure {
            value: median(&paired_ratios(num, den)),
            interval: paired_ratio_interval(num, den),
            estimate: Estimate::MedianOfPairedRatios,
            reps: num.len(),
        }
    }

    /// `median(num) / median(den)` from independent repetitions.
    pub(crate) fn ratio(num: &[f64], den: &[f64]) -> Figure {
        Figure {
            value: median(num) / median(den),
            interval: ratio_interval(num, den),
            estimate: Estimate::RatioOfMedians,
            reps: num.len().min(den.len()),
        }
    }

    /// The interval's ends, widened to hold the value; the value itself without an interval.
    pub(crate) fn spread(&self) -> [f64; 2] {
        let [lo, hi] = self.interval.map_or([self.value; 2], |i| i.ends());
        [lo.min(self.value), hi.max(self.value)]
    }
}

/// One point of a curve (a thread count, a CPU share, a serial fraction), judged on its own
/// interval against its own prediction.
#[derive(Debug, Clone)]
pub(crate) struct Point {
    /// The point's figure, with its interval over the repetitions.
    pub(crate) figure: Figure,
    /// Its prediction.
    pub(crate) expect: Expect,
}

impl Point {
    /// The point's verdict by the rule.
    pub(crate) fn verdict(&self) -> Verdict {
        verdict(Some(self.figure.spread()), &self.expect)
    }
}

/// The repetitions of one point that are physically possible: `values[i]` is kept when
/// `speedups[i]` is at most `cap` (a speedup above what the cores or the waits allow, which only
/// a disturbed repetition shows: other programs slowing its baseline). Returns the kept values
/// and how many were flagged. A point left with fewer than two cannot be judged: the claim
/// that holds it is then not-testable in this run ([`too_disturbed`]).
pub(crate) fn possible_reps(values: &[f64], speedups: &[f64], cap: f64) -> (Vec<f64>, usize) {
    let kept: Vec<f64> = values
        .iter()
        .zip(speedups)
        .filter(|(_, &s)| s <= cap)
        .map(|(&v, _)| v)
        .collect();
    let flagged = values.len() - kept.len();
    (kept, flagged)
}

/// Why a point whose repetitions [`possible_reps`] left fewer than two of cannot be judged.
pub(crate) fn too_disturbed(point: &str, kept: usize, reps: usize) -> Option<String> {
    (kept < 2).then(|| {
        format!(
            "{} of {reps} repetitions at {point} ran faster than the cores or the waits allow (a baseline slowed by other programs), so too few are left to judge it: this run cannot test the claim",
            reps - kept
        )
    })
}

/// The point whose verdict is the curve's: a curve's claim holds only if every point does, so
/// a not-supported point decides first (the one farthest from its prediction, relative to it),
/// then an inconclusive one (the one whose interval reaches farthest past its threshold), and
/// when every point is supported the one nearest its threshold. `None` for no points.
pub(crate) fn deciding_point(points: &[Point]) -> Option<usize> {
    let rel = |p: &Point| {
        let v = p.figure.value;
        p.expect.distance(v) / v.abs().max(1e-12)
    };
    let pick = |want: Verdict, farthest: bool| {
        points
            .iter()
            .enumerate()
            .filter(|(_, p)| p.verdict() == want)
            .max_by(|a, b| {
                let (x, y) = (rel(a.1), rel(b.1));
                if farthest {
                    x.total_cmp(&y)
                } else {
                    y.total_cmp(&x)
                }
            })
            .map(|(i, _)| i)
    };
    pick(Verdict::NotSupported, true)
        .or_else(|| {
            // Inconclusive: the one whose interval reaches farthest across its threshold.
            points
                .iter()
                .enumerate()
                .filter(|(_, p)| p.verdict() == Verdict::Inconclusive)
                .max_by(|a, b| {
                    let w = |p: &Point| {
                        let [lo, hi] = p.figure.spread();
                        (hi - lo) / p.figure.value.abs().max(1e-12) - rel(p)
                    };
                    w(a.1).total_cmp(&w(b.1))
                })
                .map(|(i, _)| i)
        })
        .or_else(|| pick(Verdict::Supported, false))
}

/// One claim's result, as printed and written to lab.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ClaimResult {
    /// Stable id (`one-core-concurrency`, ...).
    pub(crate) id: String,
    /// A claim the machine could refute, or a check that holds by construction.
    pub(crate) kind: Kind,
    /// The claim in concbench's words.
    pub(crate) statement: String,
    /// The model the prediction comes from.
    pub(crate) model: String,
    /// The outcome that would refute the claim.
    pub(crate) refuted_by: String,
    /// The prediction in words, with the measured inputs of the model.
    pub(crate) prediction: String,
    /// The figure; null when not testable.
    pub(crate) measured: Option<f64>,
    /// Unit of the figure.
    pub(crate) unit: String,
    /// Order-statistic interval of the figure (holding the figure); null when not testable.
    pub(crate) spread: Option<[f64; 2]>,
    /// Probability that the spread covers the true value (a lower bound for a ratio of medians).
    pub(crate) coverage: Option<f64>,
    /// How the figure and its spread were computed.
    pub(crate) estimate: Option<Estimate>,
    /// The prediction as an inequality.
    pub(crate) expect: Expect,
    /// The outcome by the rule.
    pub(crate) verdict: Verdict,
    /// What the run measured, in a few sentences; hypotheses are labelled as such.
    pub(crate) explanation: String,
    /// Repetitions behind the spread.
    pub(crate) reps: usize,
    /// For inconclusive claims: about how many repetitions would decide (null when the figure
    /// is indistinguishable from the threshold).
    pub(crate) decide_with_reps: Option<usize>,
    /// For inconclusive claims: the figure lies within a tenth of the claim's smallest margin of
    /// its threshold ([`at_threshold`]), where no number of repetitions is worth naming.
    #[serde(default)]
    pub(crate) indistinguishable_from_threshold: bool,
    /// The other figures that matter, by name.
    pub(crate) figures: Map<String, Value>,
    /// A picture of the experiment (SVG), written as `ID.svg` beside lab.md; not in lab.json.
    #[serde(skip)]
    pub(crate) picture: Option<String>,
    /// The claim's statement judged on its own, by the same rule, on the figure the statement is
    /// about (a speedup, a ratio of two costs) against the direction it states, with the
    /// claim's effect margin: the verdict above judges the model's prediction, which can miss
    /// while the statement holds, and the other way round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) statement_test: Option<StatementTest>,
    /// The figure the claim's negation predicts (no effect), against which its prediction was
    /// checked before the figure was read ([`ClaimResult::judge`]); null for checks and for
    /// claims this machine could not test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) negation: Option<Negation>,
}

/// What a claim's figure would read if its statement were false (no effect): a claim whose
/// predicted band holds it cannot be told from its negation by any figure, and is not testable
/// by design ([`predicts_no_effect`]). Every judged claim declares one, as a parameter of
/// [`ClaimResult::judge`], which applies the rule; `run_lab` also refuses a judged claim without
/// one, so the rule reaches every claim, not only those that remembered it.
///
/// Two extras, set by builder, change how the rule is applied, not what lab.json records (the
/// figure and the words only): [`Negation::at`], the band the negation is judged against where
/// it is not the deciding point's, and [`Negation::because`], the reason in the claim's own words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Negation {
    /// The figure under the negation, in the claim's unit.
    pub(crate) figure: f64,
    /// The negation in words ("the ranks scale both workloads alike").
    pub(crate) words: String,
    /// The band the negation is judged against, where it is not the judged figure's own
    /// ([`Negation::at`]); not in lab.json.
    #[serde(skip)]
    at: Option<Expect>,
    /// Why the claim is not testable where the band holds the negation, in the claim's own words
    /// ([`Negation::because`]); not in lab.json.
    #[serde(skip)]
    because: Option<String>,
}

impl Negation {
    /// The negation `words`, under which the figure reads `figure`.
    pub(crate) fn new(figure: f64, words: &str) -> Negation {
        Negation {
            figure,
            words: words.into(),
            at: None,
            because: None,
        }
    }

    /// Judge the negation against `expect`, the band of the point where the claim predicts its
    /// largest effect, rather than against the band of the deciding point (a curve's points can
    /// each hold a different band). Builder style.
    pub(crate) fn at(mut self, expect: &Expect) -> Negation {
        self.at = Some(expect.clone());
        self
    }

    /// Say `why` in the claim's own words where the prediction holds the negation, instead of
    /// the rule's general wording. Builder style.
    pub(crate) fn because(mut self, why: &str) -> Negation {
        self.because = Some(why.into());
        self
    }

    /// Whether `expect`, or the band set by [`Negation::at`], holds this figure
    /// ([`predicts_no_effect`]): decided from the prediction alone, before the figure is read.
    fn held_by(&self, expect: &Expect) -> bool {
        predicts_no_effect(self.at.as_ref().unwrap_or(expect), self.figure)
    }

    /// Why a claim whose band holds this figure is not testable by design.
    fn why(&self) -> String {
        match (&self.because, &self.at) {
            (Some(why), _) => why.clone(),
            (None, Some(_)) => format!(
                "the prediction, with its margin, holds {} where the claim predicts its largest effect, the figure there if {}, so no figure could tell the claim from its negation",
                fmt_num(self.figure),
                self.words
            ),
            (None, None) => format!(
                "the prediction, with its margin, holds {}, the figure if {}, so no figure could tell the claim from its negation",
                fmt_num(self.figure),
                self.words
            ),
        }
    }
}

/// A claim's statement judged by the same rule on the figure the statement is about (a speedup
/// above or below 1 by the claim's margin), beside the verdict on the model's fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StatementTest {
    /// What the figure is, in words (`speedup with 2 threads on one core`).
    pub(crate) figure: String,
    /// The figure.
    pub(crate) measured: f64,
    /// Its order-statistic interval.
    pub(crate) spread: [f64; 2],
    /// The interval's coverage.
    pub(crate) coverage: Option<f64>,
    /// What the statement says of the figure, with the claim's margin.
    pub(crate) expect: Expect,
    /// The outcome by the rule.
    pub(crate) verdict: Verdict,
}

impl StatementTest {
    /// Judge `figure` (described as `what`) against `expect` by the rule.
    pub(crate) fn judge(what: &str, figure: Figure, expect: Expect) -> StatementTest {
        let spread = figure.spread();
        StatementTest {
            figure: what.into(),
            measured: figure.value,
            spread,
            coverage: figure.interval.map(|i| i.coverage),
            verdict: verdict(Some(spread), &expect),
            expect,
        }
    }

    /// One line: `supported: speedup with 2 threads on one core 1.98 [1.95 .. 2.01], expected >= 1.1`.
    pub(crate) fn describe(&self) -> String {
        format!(
            "{}: {} {} [{} .. {}], expected {}",
            self.verdict.name(),
            self.figure,
            fmt_num(self.measured),
            fmt_num(self.spread[0]),
            fmt_num(self.spread[1]),
            self.expect.describe()
        )
    }
}

impl ClaimResult {
    /// Judge the statement on its own figure too (builder style); see [`StatementTest`].
    pub(crate) fn with_statement_test(
        mut self,
        what: &str,
        figure: Figure,
        expect: Expect,
    ) -> ClaimResult {
        self.statement_test = Some(StatementTest::judge(what, figure, expect));
        self
    }

    /// [`ClaimResult::with_statement_test`] for a statement this machine can show only where
    /// the model can: where the result is not testable (its negation held, or no input), the
    /// statement test is recorded as not testable too, its figure kept.
    pub(crate) fn with_statement_test_where_testable(
        self,
        what: &str,
        figure: Figure,
        expect: Expect,
    ) -> ClaimResult {
        let untestable = self.verdict == Verdict::NotTestable;
        let mut r = self.with_statement_test(what, figure, expect);
        if untestable {
            if let Some(t) = r.statement_test.as_mut() {
                t.verdict = Verdict::NotTestable;
            }
        }
        r
    }

    /// Attach a picture (builder style).
    pub(crate) fn with_picture(self, svg: String) -> ClaimResult {
        self.with_picture_opt(Some(svg))
    }

    /// Attach a picture if there is one.
    pub(crate) fn with_picture_opt(mut self, svg: Option<String>) -> ClaimResult {
        self.picture = svg;
        self
    }

    /// [`ClaimResult::judge`] at one point of a curve (the deciding point of claims judged point
    /// by point): its figure and its prediction.
    pub(crate) fn judge_point(
        claim: &Claim,
        prediction: String,
        point: &Point,
        negation: Negation,
        figures: Map<String, Value>,
        explain: impl FnOnce(f64, Verdict) -> String,
    ) -> ClaimResult {
        Self::judge(
            claim,
            prediction,
            point.figure,
            point.expect.clone(),
            negation,
            figures,
            explain,
        )
    }

    /// Judge `figure` against `expect` by the rule, and apply the rule to the claim's
    /// `negation`: where the prediction's band (or the band set by [`Negation::at`]) holds the
    /// figure the negation predicts, the result is not testable by design, whatever was measured
    /// ([`ClaimResult::untestable_by_design`], with the negation's reason). `explain` gets the
    /// figure and the verdict: [`Verdict::NotTestable`] where the negation is held, so the
    /// explanation draws a conclusion only on a supported or not-supported verdict (an
    /// inconclusive one is given the measured figures only). The negation is recorded in
    /// lab.json.
    pub(crate) fn judge(
        claim: &Claim,
        prediction: String,
        figure: Figure,
        expect: Expect,
        negation: Negation,
        figures: Map<String, Value>,
        explain: impl FnOnce(f64, Verdict) -> String,
    ) -> ClaimResult {
        Self::by_rule(
            claim,
            prediction,
            figure,
            expect,
            Some(negation),
            figures,
            explain,
        )
    }

    /// [`ClaimResult::judge`] for a [`Kind::Check`]: a demonstration that holds by construction
    /// is not a claim with a negation to tell it from, so none is declared (lab.json's
    /// `negation` is null) and the no-effect rule does not apply; the figure is judged by the
    /// plain rule.
    pub(crate) fn check(
        claim: &Claim,
        prediction: String,
        figure: Figure,
        expect: Expect,
        figures: Map<String, Value>,
        explain: impl FnOnce(f64, Verdict) -> String,
    ) -> ClaimResult {
        debug_assert_eq!(
            claim.kind,
            Kind::Check,
            "{}: a claim needs a negation",
            claim.id
        );
        Self::by_rule(claim, prediction, figure, expect, None, figures, explain)
    }

    /// The rule behind [`ClaimResult::judge`] and [`ClaimResult::check`].
    fn by_rule(
        claim: &Claim,
        prediction: String,
        figure: Figure,
        expect: Expect,
        negation: Option<Negation>,
        figures: Map<String, Value>,
        explain: impl FnOnce(f64, Verdict) -> String,
    ) -> ClaimResult {
        // Decided from the prediction alone, before the figure is read.
        let undecidable = negation
            .as_ref()
            .filter(|n| n.held_by(&expect))
            .map(Negation::why);
        let spread = figure.spread();
        let v = verdict(Some(spread), &expect);
        let measured = figure.value;
        let smallest_margin = claim
            .margins
            .iter()
            .map(|m| m.rel)
            .fold(f64::INFINITY, f64::min);
        let indistinguishable = v == Verdict::Inconclusive
            && smallest_margin.is_finite()
            && at_threshold(&expect, measured, smallest_margin);
        let decide_with_reps = (v == Verdict::Inconclusive && !indistinguishable).then(|| {
            // The interval's half-width shrinks like 1/sqrt(n): it must shrink below the
            // distance from the figure to the threshold.
            let half = (spread[1] - spread[0]) / 2.0;
            let dist = expect.distance(measured).max(half * 0.05);
            let factor = (half / dist).powi(2);
            ((figure.reps as f64 * factor - 1e-9).ceil() as usize)
                .max(figure.reps + 1)
                .min(10_000)
        });
        let judged = ClaimResult {
            id: claim.id.into(),
            kind: claim.kind,
            statement: claim.statement.into(),
            model: claim.model_text(),
            refuted_by: claim.refuted_by.into(),
            prediction,
            measured: Some(measured),
            unit: claim.unit.into(),
            spread: Some(spread),
            coverage: figure.interval.map(|i| i.coverage),
            estimate: Some(figure.estimate),
            expect,
            verdict: v,
            explanation: explain(
                measured,
                if undecidable.is_some() {
                    Verdict::NotTestable
                } else {
                    v
                },
            ),
            reps: figure.reps,
            decide_with_reps,
            indistinguishable_from_threshold: indistinguishable,
            figures,
            picture: None,
            statement_test: None,
            negation,
        };
        match undecidable {
            Some(why) => judged.untestable_by_design(&why),
            None => judged,
        }
    }

    /// A claim this machine cannot test, with the reason.
    pub(crate) fn not_testable(claim: &Claim, expect: Expect, reason: String) -> ClaimResult {
        ClaimResult {
            id: claim.id.into(),
            kind: claim.kind,
            statement: claim.statement.into(),
            model: claim.model_text(),
            refuted_by: claim.refuted_by.into(),
            prediction: "-".into(),
            measured: None,
            unit: claim.unit.into(),
            spread: None,
            coverage: None,
            estimate: None,
            expect,
            verdict: Verdict::NotTestable,
            explanation: reason,
            reps: 0,
            decide_with_reps: None,
            indistinguishable_from_threshold: false,
            figures: Map::new(),
            picture: None,
            statement_test: None,
            negation: None,
        }
    }

    /// The verdict under [`predicts_no_effect`]: not testable whatever the figure, decided from
    /// the prediction alone. The figure measured anyway stays in the explanation and moves to
    /// `figures` (`measured_anyway`, `measured_anyway_spread`), so the spread is null as for any
    /// claim this machine cannot test; `why` follows the measured figures (the explanation,
    /// written for [`Verdict::NotTestable`], draws no conclusion itself). Applied by
    /// [`ClaimResult::judge`] alone, where the claim's [`Negation`] is held.
    fn untestable_by_design(mut self, why: &str) -> ClaimResult {
        if let Some(m) = self.measured.take() {
            self.figures.insert("measured_anyway".into(), json!(m));
        }
        if let Some(s) = self.spread.take() {
            self.figures
                .insert("measured_anyway_spread".into(), json!(s));
        }
        self.coverage = None;
        self.estimate = None;
        self.verdict = Verdict::NotTestable;
        self.decide_with_reps = None;
        self.indistinguishable_from_threshold = false;
        self.explanation = format!(
            "{} Not testable by design: {why}.",
            self.explanation.trim_end()
        );
        self
    }

    /// The verdict as a report prints it: a check that holds reads `check holds`.
    pub(crate) fn verdict_word(&self) -> String {
        match (self.kind, self.verdict) {
            (Kind::Check, Verdict::Supported) => "check holds".into(),
            (Kind::Check, Verdict::NotSupported) => "check fails".into(),
            (_, v) => v.name().into(),
        }
    }
}

/// How much measuring the lab does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LabOptions {
    /// Smaller experiments (about a minute on 2 cores instead of a few).
    pub(crate) quick: bool,
}

impl LabOptions {
    /// Repetitions per figure: 7 in quick mode (the widest interval of a median of 7 covers
    /// 98.4%, a ratio of two medians of 7 each 96.9%: both reach 95%), 11 in the full lab.
    pub(crate) fn reps(&self) -> usize {
        if self.quick {
            7
        } else {
            11
        }
    }

    /// `quick` when quick, else `full`.
    pub(crate) fn pick<T>(&self, quick: T, full: T) -> T {
        if self.quick {
            quick
        } else {
            full
        }
    }
}

/// Why a lab did not run to its end (distinct from a claim the machine refutes, which is a
/// verdict).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LabError {
    /// The request cannot be run as asked (an unknown claim id, an empty item in the list, an
    /// output directory that cannot be written): refused before any claim is measured. The
    /// line names the bad value.
    #[error("{0}")]
    Request(String),
    /// The result files could not be written (the request's `out`).
    #[error("writing the result files: {0}")]
    Write(#[source] std::io::Error),
    /// A claim's experiment could not produce a result.
    #[error("claim {id}: {message}")]
    Claim {
        /// The claim's id.
        id: String,
        /// What failed.
        message: String,
    },
}

/// An equivalence margin, declared with its claim before any run: how far (relative) the figure
/// may lie from the model's value, or past a bound, and still count as the model's, and why that
/// much. The figure's interval carries the run's noise; the margin is what the claim tolerates
/// on top, decided by what the claim means, never by a result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Margin {
    /// Relative size (0.10 = 10%).
    pub(crate) rel: f64,
    /// Why that much.
    pub(crate) why: &'static str,
}

impl Margin {
    /// "10%: why".
    pub(crate) fn describe(&self) -> String {
        format!("{}%: {}", fmt_num(self.rel * 100.0), self.why)
    }
}

/// The margin of a value model (a prediction of the figure itself).
pub(crate) const VALUE_MARGIN: Margin = Margin {
    rel: 0.10,
    why: "the margin of every value model in the lab, declared alike: a figure within 10% of the model's value is explained by the mechanisms the model names; a miss beyond it on either side is a cost or a gain the model leaves out",
};

/// The margin of a direction ("costs more", "speeds up", "slows down").
pub(crate) const EFFECT_MARGIN: Margin = Margin {
    rel: 0.10,
    why: "the smallest difference the claim's words ('costs more', 'speeds up', 'slows down') mean: a difference under 10% is not one a course would teach as a cost or a gain",
};

/// The margin of a bound (a figure may lie anywhere on one side of it).
pub(crate) const BOUND_MARGIN: Margin = Margin {
    rel: 0.05,
    why: "a bound computed from inputs measured once in this run (peaks, bandwidths, costs) is itself uncertain by a few percent; a figure past it by more than 5% says the bound is wrong",
};

/// The margin of a check.
pub(crate) const CHECK_MARGIN: Margin = Margin {
    rel: 0.10,
    why: "a check asks whether the mechanism worked at all, not how precisely: 10%",
};

/// A claim of the course and the experiment that tests it.
#[derive(Debug)]
pub(crate) struct Claim {
    /// Stable id.
    pub(crate) id: &'static str,
    /// A claim or a check.
    pub(crate) kind: Kind,
    /// The statement, in concbench's words.
    pub(crate) statement: &'static str,
    /// The model the prediction comes from.
    pub(crate) model: &'static str,
    /// The outcome that would refute it.
    pub(crate) refuted_by: &'static str,
    /// Unit of the figure.
    pub(crate) unit: &'static str,
    /// The equivalence margins its prediction uses, each with why that much (none for a
    /// prediction with no margin).
    pub(crate) margins: &'static [Margin],
    /// The experiment.
    pub(crate) run: fn(&Claim, &Lab) -> Result<ClaimResult, String>,
}

impl Claim {
    /// The model, followed by the margins its prediction uses and why.
    pub(crate) fn model_text(&self) -> String {
        if self.margins.is_empty() {
            return self.model.to_string();
        }
        let m: Vec<String> = self.margins.iter().map(Margin::describe).collect();
        format!("{}. Margin {}", self.model, m.join("; margin "))
    }

    /// Margin `i` (relative).
    pub(crate) fn margin(&self, i: usize) -> f64 {
        self.margins.get(i).map_or(0.0, |m| m.rel)
    }
}

/// A whole lab run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabReport {
    /// Where and when.
    pub machine: Machine,
    /// The verdict rule in words.
    pub(crate) rule: String,
    /// Quick or full.
    pub(crate) quick: bool,
    /// The models' inputs measured in this run (switch cost, tick, noise floor, ceilings), each
    /// with how it was measured.
    pub(crate) inputs: Map<String, Value>,
    /// One result per claim, in the course's order.
    pub(crate) claims: Vec<ClaimResult>,
}

/// Format a figure with 3 significant digits.
pub(crate) fn fmt_num(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let digits = (2 - x.abs().log10().floor() as i32).clamp(0, 6) as usize;
    format!("{x:.digits$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `request` refused by [`run_lab`] before any claim starts, with a line holding `needle`.
    fn refused(request: LabRequest, needle: &str) {
        let mut events = Vec::new();
        match run_lab(&request, &mut |e| events.push(e)) {
            Err(LabError::Request(line)) => assert!(line.contains(needle), "{line}"),
            Err(other) => panic!("{needle}: another error: {other}"),
            Ok(_) => panic!("{needle}: the lab ran"),
        }
        assert!(events.is_empty(), "{events:?}");
    }

    #[test]
    fn a_bad_request_is_refused_before_any_claim_runs() {
        let claims = |list: &str| LabRequest {
            claims: Some(list.into()),
            ..LabRequest::default()
        };
        refused(claims("isolation,nope"), "unknown claim 'nope' (known: ");
        refused(claims("isolation,,time-slicing"), "has an empty item");
        let file = tempfile::NamedTempFile::new().unwrap();
        refused(
            LabRequest {
                out: Some(file.path().to_path_buf()),
                ..claims("isolation")
            },
            "exists and is not a directory",
        );
        // The claim list is checked first: one line, about it.
        refused(
            LabRequest {
                out: Some(file.path().to_path_buf()),
                ..claims("nope")
            },
            "unknown claim 'nope'",
        );
    }

    #[test]
    fn a_selection_runs_once_each_in_the_courses_order() {
        let ids: Vec<&str> = select(Some("time-slicing, isolation,time-slicing"))
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect();
        let order = |id: &str| claim_ids().iter().position(|c| *c == id).unwrap();
        assert_eq!(ids.len(), 2, "{ids:?}");
        assert!(order(ids[0]) < order(ids[1]), "{ids:?}");
        assert_eq!(select(None).unwrap().len(), claim_ids().len());
    }

    #[test]
    fn the_list_has_a_line_per_claim_with_its_statement() {
        let list = claim_list();
        let lines: Vec<&str> = list.lines().collect();
        assert_eq!(lines.len(), all_claims().count());
        // The statements start in one column, two spaces after the longest id.
        let column = all_claims().map(|c| c.id.len()).max().unwrap() + 2;
        for (line, c) in lines.iter().zip(all_claims()) {
            let check = if c.kind == Kind::Check {
                " (check)"
            } else {
                ""
            };
            assert_eq!(*line, format!("{:<column$}{}{check}", c.id, c.statement));
        }
        assert!(list.contains(" (check)\n"), "the checks are marked");
    }

    #[test]
    fn the_rule_for_at_least() {
        let e = Expect::AtLeast(6.0);
        assert_eq!(verdict(Some([6.0, 7.0]), &e), Verdict::Supported);
        assert_eq!(verdict(Some([5.0, 5.99]), &e), Verdict::NotSupported);
        assert_eq!(verdict(Some([5.9, 6.1]), &e), Verdict::Inconclusive);
        assert_eq!(verdict(None, &e), Verdict::NotTestable);
    }

    #[test]
    fn the_rule_for_at_most_and_between() {
        let e = Expect::AtMost(1.05);
        assert_eq!(verdict(Some([0.9, 1.05]), &e), Verdict::Supported);
        assert_eq!(verdict(Some([1.06, 2.0]), &e), Verdict::NotSupported);
        assert_eq!(verdict(Some([1.0, 1.1]), &e), Verdict::Inconclusive);
        let b = Expect::Between([1.0, 2.0]);
        assert_eq!(verdict(Some([1.0, 2.0]), &b), Verdict::Supported);
        assert_eq!(verdict(Some([2.1, 3.0]), &b), Verdict::NotSupported);
        assert_eq!(verdict(Some([0.0, 0.9]), &b), Verdict::NotSupported);
        assert_eq!(verdict(Some([0.5, 1.5]), &b), Verdict::Inconclusive);
        assert_eq!(verdict(Some([1.5, 2.5]), &b), Verdict::Inconclusive);
    }

    #[test]
    fn expectations_serialise_as_the_lab_json_says() {
        let j = serde_json::to_value(Expect::AtLeast(6.0)).unwrap();
        assert_eq!(j, json!({"op": ">=", "value": 6.0}));
        let j = serde_json::to_value(Expect::Between([1.0, 2.0])).unwrap();
        assert_eq!(j, json!({"op": "between", "value": [1.0, 2.0]}));
    }

    pub(crate) fn dummy() -> Claim {
        Claim {
            id: "x",
            kind: Kind::Claim,
            statement: "s",
            model: "m",
            refuted_by: "r",
            unit: "u",
            margins: &[],
            run: |_, _| Err("unused".into()),
        }
    }

    /// A negation no band in these tests holds: the rule leaves the verdict alone.
    fn unheld() -> Negation {
        Negation::new(0.0, "nothing happens at all")
    }

    #[test]
    fn judged_results_keep_the_figure_inside_the_spread() {
        let c = dummy();
        let f = Figure::median(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        let r = ClaimResult::judge(
            &c,
            "p".into(),
            f,
            Expect::AtLeast(0.5),
            unheld(),
            Map::new(),
            |_, _| String::new(),
        );
        let [lo, hi] = r.spread.unwrap();
        assert!(lo <= 4.0 && 4.0 <= hi);
        assert_eq!(r.verdict, Verdict::Supported);
        assert_eq!(r.estimate, Some(Estimate::Median));
        assert!(r.coverage.unwrap() >= 0.95);
        assert_eq!(r.decide_with_reps, None);
    }

    #[test]
    fn inconclusive_results_say_how_many_reps_would_decide() {
        let c = dummy();
        let f = Figure {
            value: 1.2,
            interval: Some(Interval {
                lo: 0.8,
                hi: 1.6,
                coverage: 0.96,
            }),
            estimate: Estimate::Median,
            reps: 4,
        };
        let r = ClaimResult::judge(
            &c,
            "p".into(),
            f,
            Expect::AtLeast(1.0),
            unheld(),
            Map::new(),
            |_, _| String::new(),
        );
        assert_eq!(r.verdict, Verdict::Inconclusive);
        // half-width 0.4, distance 0.2: four times the repetitions.
        assert_eq!(r.decide_with_reps, Some(16));
    }

    #[test]
    fn a_figure_on_its_threshold_names_no_repetitions() {
        static M: [Margin; 1] = [Margin {
            rel: 0.10,
            why: "w",
        }];
        let mut with = dummy();
        with.margins = &M;
        let without = dummy();
        let at = |c: &Claim, value: f64, lo: f64, hi: f64| {
            let f = Figure {
                value,
                interval: Some(Interval {
                    lo,
                    hi,
                    coverage: 0.96,
                }),
                estimate: Estimate::Median,
                reps: 7,
            };
            ClaimResult::judge(
                c,
                "p".into(),
                f,
                Expect::AtLeast(1.1),
                unheld(),
                Map::new(),
                |_, _| String::new(),
            )
        };
        // 1.105 is 0.5% from 1.1: within a tenth of the 10% margin (1.1%).
        let r = at(&with, 1.105, 1.0, 1.2);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        assert!(r.indistinguishable_from_threshold);
        assert_eq!(r.decide_with_reps, None);
        // 1.15 is 4.5% away: a count of repetitions means something.
        let r = at(&with, 1.15, 1.05, 1.25);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        assert!(!r.indistinguishable_from_threshold);
        assert!(r.decide_with_reps.is_some());
        // Without a declared margin there is no such region.
        assert!(!at(&without, 1.105, 1.0, 1.2).indistinguishable_from_threshold);
        // Between: the nearest end counts.
        assert!(at_threshold(&Expect::Between([1.0, 2.0]), 1.995, 0.1));
        assert!(!at_threshold(&Expect::Between([1.0, 2.0]), 1.5, 0.1));
    }

    #[test]
    fn a_statement_shown_only_where_the_model_can_follows_an_untestable_result() {
        let c = dummy();
        let f = Figure::median(&[1.9, 2.0, 2.0, 2.1, 2.0, 1.95, 2.05]);
        let result = |negation: Negation| {
            ClaimResult::judge(
                &c,
                "p".into(),
                f,
                Expect::Between([1.5, 2.5]),
                negation,
                Map::new(),
                |_, _| "m.".into(),
            )
            .with_statement_test_where_testable("speedup", f, Expect::AtLeast(1.1))
        };
        // The band holds the negation's 2.0: both verdicts read not testable, the figure kept.
        let held = result(Negation::new(2.0, "no gain"));
        assert_eq!(held.verdict, Verdict::NotTestable);
        let t = held.statement_test.unwrap();
        assert_eq!(t.verdict, Verdict::NotTestable);
        assert_eq!(t.measured, 2.0);
        // Otherwise the statement is judged by the rule.
        let judged = result(unheld());
        assert_eq!(judged.verdict, Verdict::Supported);
        assert_eq!(judged.statement_test.unwrap().verdict, Verdict::Supported);
    }

    #[test]
    fn the_statement_is_judged_apart_from_the_model() {
        // A model that misses (the figure is 30% below it) while the statement holds (the
        // speedup is well above 1 + margin): two verdicts, each by the rule.
        let c = dummy();
        let f = Figure::median(&[1.9, 2.0, 2.0, 2.1, 2.0, 1.95, 2.05]);
        let r = ClaimResult::judge(
            &c,
            "p".into(),
            f,
            Expect::Between([2.7, 3.0]),
            unheld(),
            Map::new(),
            |_, _| "m.".into(),
        )
        .with_statement_test("speedup with 2 threads", f, Expect::AtLeast(1.1));
        assert_eq!(r.verdict, Verdict::NotSupported);
        let t = r.statement_test.clone().unwrap();
        assert_eq!(t.verdict, Verdict::Supported);
        assert_eq!(verdict(Some(t.spread), &t.expect), t.verdict);
        assert!(t
            .describe()
            .starts_with("supported: speedup with 2 threads 2"));
        // Round trip through lab.json; a claim without one writes no field and reads back None.
        let back: ClaimResult = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back.statement_test, r.statement_test);
        let plain = ClaimResult::judge(
            &c,
            "p".into(),
            f,
            Expect::AtLeast(1.0),
            unheld(),
            Map::new(),
            |_, _| "m.".into(),
        );
        let text = serde_json::to_string(&plain).unwrap();
        assert!(!text.contains("statement_test"));
        assert_eq!(
            serde_json::from_str::<ClaimResult>(&text)
                .unwrap()
                .statement_test,
            None
        );
    }

    #[test]
    fn a_prediction_that_holds_no_effect_cannot_decide() {
        // oversubscription: +3% predicted, 10% margin: the band holds 1 (no slowdown).
        let band = Expect::Between([1.03 * 0.9, 1.03 * 1.1]);
        assert!(predicts_no_effect(&band, 1.0));
        // +30% predicted: no slowdown lies outside, a figure can decide.
        assert!(!predicts_no_effect(
            &Expect::Between([1.3 * 0.9, 1.3 * 1.1]),
            1.0
        ));
        let c = dummy();
        let f = Figure::median(&[1.02, 1.03, 1.03, 1.04, 1.03, 1.02, 1.04]);
        let judge = |negation| {
            ClaimResult::judge(
                &c,
                "p".into(),
                f,
                band.clone(),
                negation,
                Map::new(),
                |_, _| "m.".into(),
            )
        };
        let r = judge(unheld());
        assert_eq!(
            r.verdict,
            Verdict::Supported,
            "the plain rule alone would support"
        );
        let r = judge(Negation::new(1.0, "extra threads cost nothing"));
        assert_eq!(r.verdict, Verdict::NotTestable);
        assert_eq!(r.decide_with_reps, None);
        // By the plain rule a null spread is what not-testable means; the figure is kept aside.
        assert_eq!(r.spread, None);
        assert_eq!(verdict(r.spread, &r.expect), Verdict::NotTestable);
        assert_eq!(r.figures["measured_anyway"], json!(1.03));
        assert!(r.figures.contains_key("measured_anyway_spread"));
        assert_eq!(
            r.explanation,
            "m. Not testable by design: the prediction, with its margin, holds 1.00, the figure if extra threads cost nothing, so no figure could tell the claim from its negation."
        );
        // In the claim's own words.
        let r = judge(
            Negation::new(1.0, "extra threads cost nothing")
                .because("the predicted effect is smaller than the margin"),
        );
        assert_eq!(r.verdict, Verdict::NotTestable);
        assert_eq!(
            r.explanation,
            "m. Not testable by design: the predicted effect is smaller than the margin."
        );
        // The reason does not make a testable claim untestable.
        let r = judge(unheld().because("never said"));
        assert_eq!(r.verdict, Verdict::Supported);
        assert_eq!(r.explanation, "m.");
    }

    #[test]
    fn a_held_negation_gives_explain_not_testable() {
        let c = dummy();
        let f = Figure::median(&[1.02, 1.03, 1.03, 1.04, 1.03, 1.02, 1.04]);
        let band = Expect::Between([1.03 * 0.9, 1.03 * 1.1]);
        let seen = |negation| {
            let mut got = None;
            let r = ClaimResult::judge(
                &c,
                "p".into(),
                f,
                band.clone(),
                negation,
                Map::new(),
                |_, v| {
                    got = Some(v);
                    format!("m. {}", claims::conclude(v, "Concluded.", "Refuted."))
                },
            );
            (got.unwrap(), r)
        };
        // Held: explain gets NotTestable and draws no conclusion, whatever the figure's verdict.
        let (v, r) = seen(Negation::new(1.0, "no effect"));
        assert_eq!(v, Verdict::NotTestable);
        assert_eq!(
            r.explanation,
            "m. Not testable by design: the prediction, with its margin, holds 1.00, the figure if no effect, so no figure could tell the claim from its negation."
        );
        // Not held: explain gets the figure's own verdict.
        let (v, r) = seen(unheld());
        assert_eq!(v, Verdict::Supported);
        assert_eq!(r.explanation, "m. Concluded.");
    }

    #[test]
    fn a_negation_can_be_judged_at_another_points_band() {
        // The deciding point's band (around 0.5) does not hold 1, the band where the claim
        // predicts its largest effect does.
        let c = dummy();
        let f = Figure::median(&[0.5; 7]);
        let judge = |negation| {
            ClaimResult::judge(
                &c,
                "p".into(),
                f,
                Expect::Between([0.45, 0.55]),
                negation,
                Map::new(),
                |_, _| "m.".into(),
            )
        };
        let gain_nothing = || Negation::new(1.0, "the threads gain nothing");
        assert_eq!(judge(gain_nothing()).verdict, Verdict::Supported);
        let r = judge(gain_nothing().at(&Expect::Between([0.95, 1.05])));
        assert_eq!(r.verdict, Verdict::NotTestable);
        assert_eq!(
            r.explanation,
            "m. Not testable by design: the prediction, with its margin, holds 1.00 where the claim predicts its largest effect, the figure there if the threads gain nothing, so no figure could tell the claim from its negation."
        );
        let r = judge(
            gain_nothing()
                .at(&Expect::Between([0.95, 1.05]))
                .because("own words"),
        );
        assert!(r
            .explanation
            .ends_with("Not testable by design: own words."));
        // Another band that does not hold it leaves the verdict alone, even where the deciding
        // point's band would.
        let r = ClaimResult::judge(
            &c,
            "p".into(),
            f,
            Expect::Between([0.45, 1.5]),
            gain_nothing().at(&Expect::Between([1.8, 2.2])),
            Map::new(),
            |_, _| "m.".into(),
        );
        assert_eq!(r.verdict, Verdict::Supported);
    }

    #[test]
    fn lab_json_records_the_negations_figure_and_words_only() {
        let c = dummy();
        let r = ClaimResult::judge(
            &c,
            "p".into(),
            Figure::median(&[1.0; 7]),
            Expect::AtLeast(0.5),
            Negation::new(0.0, "nothing happens at all")
                .at(&Expect::AtLeast(0.5))
                .because("w"),
            Map::new(),
            |_, _| String::new(),
        );
        let j = serde_json::to_value(&r).unwrap();
        assert_eq!(
            j["negation"],
            json!({"figure": 0.0, "words": "nothing happens at all"})
        );
        let back: ClaimResult = serde_json::from_value(j).unwrap();
        assert_eq!(back.negation, Some(unheld()));
    }

    #[test]
    fn quick_and_full_repetitions_reach_95_percent() {
        for quick in [true, false] {
            let n = LabOptions { quick }.reps();
            let one: Vec<f64> = (0..n).map(|i| i as f64).collect();
            assert!(Figure::median(&one).interval.unwrap().reaches_target());
            assert!(Figure::paired(&one, &vec![1.0; n])
                .interval
                .unwrap()
                .reaches_target());
            let den: Vec<f64> = (1..=n).map(|i| i as f64).collect();
            assert!(Figure::ratio(&den, &den).interval.unwrap().reaches_target());
        }
    }

    #[test]
    fn checks_read_as_checks() {
        let mut c = dummy();
        c.kind = Kind::Check;
        let f = Figure::median(&[1.0; 7]);
        let r = ClaimResult::check(
            &c,
            "p".into(),
            f,
            Expect::AtLeast(0.5),
            Map::new(),
            |_, _| String::new(),
        );
        assert_eq!(r.verdict, Verdict::Supported);
        assert_eq!(r.verdict_word(), "check holds");
        // A check declares no negation: lab.json's `negation` is left out.
        assert_eq!(r.negation, None);
    }

    #[test]
    fn claim_selection_checks_ids_and_keeps_course_order() {
        let all = select(None).unwrap();
        assert_eq!(
            all.len(),
            claims::ALL.len()
                + async_claims::ALL.len()
                + distributed_claims::ALL.len()
                + web_claims::ALL.len()
        );
        assert_eq!(all.len(), 31);
        let some = select(Some("process-creation,time-slicing")).unwrap();
        assert_eq!(
            some.iter().map(|c| c.id).collect::<Vec<_>>(),
            ["time-slicing", "process-creation"]
        );
        assert!(select(Some("bogus")).err().unwrap().contains("'bogus'"));
        assert!(select(Some("time-slicing,")).is_err());
        assert!(select(Some("time-slicing,"))
            .err()
            .unwrap()
            .contains("empty"));
    }

    #[test]
    fn impossible_repetitions_are_flagged_not_kept() {
        let (kept, flagged) = possible_reps(&[1.0, 1.1, 1.9, 0.9], &[1.9, 2.0, 3.8, 1.8], 2.1);
        assert_eq!((kept, flagged), (vec![1.0, 1.1, 0.9], 1));
        // Too few left: the point cannot be judged.
        let (kept, flagged) = possible_reps(&[1.0, 1.9], &[1.9, 3.8], 2.1);
        assert_eq!((kept.len(), flagged), (1, 1));
        assert!(too_disturbed("f = 0", kept.len(), 2).is_some());
        assert!(too_disturbed("f = 0", 3, 4).is_none());
    }

    #[test]
    fn the_deciding_point_is_the_worst_one() {
        let pt = |v: f64, e: Expect| Point {
            figure: Figure::median(&[v * 0.999, v, v * 1.001, v, v * 0.999, v * 1.001, v]),
            expect: e,
        };
        let band = Expect::Between([0.9, 1.1]);
        let ok = [pt(1.0, band.clone()), pt(1.08, band.clone())];
        assert_eq!(deciding_point(&ok), Some(1), "nearest its threshold");
        let bad = [
            pt(1.0, band.clone()),
            pt(0.5, band.clone()),
            pt(0.8, band.clone()),
        ];
        assert_eq!(deciding_point(&bad), Some(1), "farthest outside");
        let straddle = Point {
            figure: Figure::median(&[0.8, 0.9, 1.0, 1.0, 1.0, 1.05, 1.06]),
            expect: band.clone(),
        };
        assert_eq!(straddle.verdict(), Verdict::Inconclusive);
        assert_eq!(deciding_point(&[pt(1.0, band.clone()), straddle]), Some(1));
        assert_eq!(deciding_point(&[]), None);
    }

    #[test]
    fn every_margin_is_stated_in_its_claims_text() {
        for c in all_claims() {
            for m in c.margins {
                assert!(m.rel > 0.0 && m.rel < 0.5, "{}: margin {}", c.id, m.rel);
                assert!(c.model_text().contains(m.why), "{}", c.id);
            }
            assert!(
                !c.refuted_by.contains("tolerance") || !c.margins.is_empty(),
                "{} speaks of a tolerance but declares no margin",
                c.id
            );
        }
    }

    #[test]
    fn numbers_print_with_three_significant_digits() {
        assert_eq!(fmt_num(7.8912), "7.89");
        assert_eq!(fmt_num(0.012345), "0.0123");
        assert_eq!(fmt_num(1234.5), "1234");
    }
}
