//! `concbench lab`: the claims of a course on concurrency, each tested on this machine.
//!
//! A [`Claim`] is an experiment built on the library (run, timeline, ctxswitch, limits): a
//! statement, a prediction stated as an inequality on one figure ([`Expect`]), and code that
//! measures that figure over repetitions. Every claim is judged by the same rule ([`verdict`]):
//! the figure's *spread* — the seeded bootstrap 95% confidence interval of its median over the
//! repetitions — is compared with the prediction:
//!
//! - `supported`: the whole spread satisfies the prediction;
//! - `not-supported`: none of it does;
//! - `inconclusive`: it straddles the threshold (the result says about how many repetitions would
//!   narrow the interval enough to decide);
//! - `not-testable`: this machine cannot test it (one core, say); the spread is null.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::machine::Machine;
use crate::measure::stats::{bootstrap_ci, median};

pub mod claims;
pub mod render;

/// How a prediction compares the figure with its threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", content = "value")]
pub enum Expect {
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
    pub fn describe(&self) -> String {
        match self {
            Expect::AtLeast(v) => format!(">= {}", fmt_num(*v)),
            Expect::AtMost(v) => format!("<= {}", fmt_num(*v)),
            Expect::Between([a, b]) => format!("between {} and {}", fmt_num(*a), fmt_num(*b)),
        }
    }

    fn holds(&self, x: f64) -> bool {
        match *self {
            Expect::AtLeast(v) => x >= v,
            Expect::AtMost(v) => x <= v,
            Expect::Between([a, b]) => a <= x && x <= b,
        }
    }

    /// Distance from `x` to the nearest threshold.
    fn distance(&self, x: f64) -> f64 {
        match *self {
            Expect::AtLeast(v) | Expect::AtMost(v) => (x - v).abs(),
            Expect::Between([a, b]) => (x - a).abs().min((x - b).abs()),
        }
    }
}

/// A claim's outcome on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Verdict {
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
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Supported => "supported",
            Verdict::NotSupported => "not-supported",
            Verdict::Inconclusive => "inconclusive",
            Verdict::NotTestable => "not-testable",
        }
    }
}

/// The one rule every claim is judged by (see the module docs).
pub fn verdict(spread: Option<[f64; 2]>, expect: &Expect) -> Verdict {
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

/// The verdict rule in words, printed in every lab report.
pub const VERDICT_RULE: &str = "Each claim is decided on one figure. Its spread is the seeded bootstrap 95% confidence interval of the figure's median over the repetitions (2000 resamples). supported: the whole spread satisfies the prediction; not-supported: none of it does; inconclusive: the spread straddles the threshold; not-testable: this machine cannot test the claim, and the spread is null.";

/// One claim's result, as printed and written to lab.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimResult {
    /// Stable id (`one-core-concurrency`, ...).
    pub id: String,
    /// The claim in concbench's words.
    pub statement: String,
    /// The prediction in words, with the reason for its threshold.
    pub prediction: String,
    /// The figure (median over repetitions); null when not testable.
    pub measured: Option<f64>,
    /// Unit of the figure.
    pub unit: String,
    /// Bootstrap 95% CI of the figure's median; null when not testable.
    pub spread: Option<[f64; 2]>,
    /// The prediction as an inequality.
    pub expect: Expect,
    /// The outcome by the rule.
    pub verdict: Verdict,
    /// Two or three sentences explaining the outcome with the measured figures.
    pub explanation: String,
    /// Repetitions behind the spread.
    pub reps: usize,
    /// For inconclusive claims: about how many repetitions would decide.
    pub decide_with_reps: Option<usize>,
    /// The other figures that matter, by name.
    pub figures: Map<String, Value>,
    /// A picture of the experiment (SVG), written as `ID.svg` beside lab.md; not in lab.json.
    #[serde(skip)]
    pub picture: Option<String>,
}

impl ClaimResult {
    /// Attach a picture (builder style).
    pub fn with_picture(self, svg: String) -> ClaimResult {
        self.with_picture_opt(Some(svg))
    }

    /// Attach a picture if there is one.
    pub fn with_picture_opt(mut self, svg: Option<String>) -> ClaimResult {
        self.picture = svg;
        self
    }
}

impl ClaimResult {
    /// Judge a figure from its per-repetition samples: measured = median, spread = bootstrap CI.
    pub fn from_samples(
        claim: &Claim,
        samples: &[f64],
        expect: Expect,
        figures: Map<String, Value>,
        explain: impl FnOnce(f64, Verdict) -> String,
    ) -> ClaimResult {
        let m = median(samples);
        let (lo, hi) = bootstrap_ci(samples, 0x1AB, median);
        ClaimResult::judged(
            claim,
            m,
            [lo.min(m), hi.max(m)],
            samples.len(),
            expect,
            figures,
            explain,
        )
    }

    /// Judge a figure whose median and spread were computed elsewhere (e.g. a speedup's CI).
    pub fn judged(
        claim: &Claim,
        measured: f64,
        spread: [f64; 2],
        reps: usize,
        expect: Expect,
        figures: Map<String, Value>,
        explain: impl FnOnce(f64, Verdict) -> String,
    ) -> ClaimResult {
        let spread = [spread[0].min(measured), spread[1].max(measured)];
        let v = verdict(Some(spread), &expect);
        let decide_with_reps = (v == Verdict::Inconclusive).then(|| {
            // The CI's half-width shrinks like 1/sqrt(n): it must shrink below the distance
            // from the median to the threshold.
            let half = (spread[1] - spread[0]) / 2.0;
            let dist = expect.distance(measured).max(half * 0.05);
            let factor = (half / dist).powi(2);
            ((reps as f64 * factor - 1e-9).ceil() as usize)
                .max(reps + 1)
                .min(10_000)
        });
        ClaimResult {
            id: claim.id.into(),
            statement: claim.statement.into(),
            prediction: claim.prediction.into(),
            measured: Some(measured),
            unit: claim.unit.into(),
            spread: Some(spread),
            expect,
            verdict: v,
            explanation: explain(measured, v),
            reps,
            decide_with_reps,
            figures,
            picture: None,
        }
    }

    /// A claim this machine cannot test, with the reason.
    pub fn not_testable(claim: &Claim, expect: Expect, reason: String) -> ClaimResult {
        ClaimResult {
            id: claim.id.into(),
            statement: claim.statement.into(),
            prediction: claim.prediction.into(),
            measured: None,
            unit: claim.unit.into(),
            spread: None,
            expect,
            verdict: Verdict::NotTestable,
            explanation: reason,
            reps: 0,
            decide_with_reps: None,
            figures: Map::new(),
            picture: None,
        }
    }

    /// Whether the prediction holds at the measured median (used in explanations).
    pub fn median_holds(&self) -> bool {
        self.measured.is_some_and(|m| self.expect.holds(m))
    }
}

/// How much measuring the lab does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabOptions {
    /// Smaller sizes and fewer repetitions (about 20 seconds on 2 cores instead of about a minute).
    pub quick: bool,
}

impl LabOptions {
    /// Repetitions per figure.
    pub fn reps(&self) -> usize {
        if self.quick {
            4
        } else {
            7
        }
    }
}

/// Why an experiment could not produce a result (distinct from a claim the machine refutes).
#[derive(Debug, thiserror::Error)]
#[error("claim {id}: {message}")]
pub struct LabError {
    /// The claim.
    pub id: String,
    /// What failed.
    pub message: String,
}

/// A claim of the course and the experiment that tests it.
#[derive(Debug)]
pub struct Claim {
    /// Stable id.
    pub id: &'static str,
    /// The statement, in concbench's words.
    pub statement: &'static str,
    /// The prediction in words, with the reason for the threshold.
    pub prediction: &'static str,
    /// Unit of the figure.
    pub unit: &'static str,
    /// The experiment.
    pub run: fn(&Claim, &LabOptions) -> Result<ClaimResult, String>,
}

/// A whole lab run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabReport {
    /// Where and when.
    pub machine: Machine,
    /// The verdict rule in words.
    pub rule: String,
    /// Quick or full.
    pub quick: bool,
    /// One result per claim, in the course's order.
    pub claims: Vec<ClaimResult>,
}

/// Ids of every claim, in order.
pub fn claim_ids() -> Vec<&'static str> {
    claims::ALL.iter().map(|c| c.id).collect()
}

/// Parse a `--claim` list; `None` means every claim. Unknown ids are an error naming them.
pub fn select(list: Option<&str>) -> Result<Vec<&'static Claim>, String> {
    let Some(list) = list else {
        return Ok(claims::ALL.iter().collect());
    };
    let mut out: Vec<&'static Claim> = Vec::new();
    for id in list.split(',').map(str::trim) {
        if id.is_empty() {
            return Err(format!("--claim '{list}' has an empty item"));
        }
        let c = claims::ALL
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(|| format!("unknown claim '{id}' (known: {})", claim_ids().join(", ")))?;
        if !out.iter().any(|o| o.id == c.id) {
            out.push(c);
        }
    }
    out.sort_by_key(|c| claims::ALL.iter().position(|a| a.id == c.id));
    Ok(out)
}

/// The expectation of each claim whose experiment pins workers to one core (as its own code
/// states it): on a platform that cannot pin threads these are not-testable, with the reason.
fn one_core_expectation(id: &str) -> Option<Expect> {
    let p = crate::topology::Topology::get().physical_core_count() as f64;
    Some(match id {
        "one-core-concurrency" => Expect::AtLeast(0.75 * 8.0),
        "cpu-bound-on-one-core" => Expect::AtMost(1.05),
        "io-cpu-crossover" => Expect::AtLeast(0.8 * p),
        "time-slicing" => Expect::AtMost(0.02),
        "context-switch" => Expect::AtLeast(1.1),
        "oversubscription" => Expect::AtLeast(1.05),
        _ => return None,
    })
}

/// Run `selected` claims in order, calling `progress(index, claim)` before each.
pub fn run_lab(
    selected: &[&Claim],
    options: &LabOptions,
    progress: &mut dyn FnMut(usize, &Claim),
) -> Result<LabReport, LabError> {
    let machine = Machine::describe();
    let mut results = Vec::with_capacity(selected.len());
    for (i, claim) in selected.iter().enumerate() {
        progress(i, claim);
        let r = match one_core_expectation(claim.id) {
            Some(expect) if !crate::topology::placement_enforced() => {
                Ok(ClaimResult::not_testable(
                    claim,
                    expect,
                    crate::sys::no_pinning_reason("this claim"),
                ))
            }
            _ => (claim.run)(claim, options),
        }
        .map_err(|message| LabError {
            id: claim.id.into(),
            message,
        })?;
        results.push(r);
    }
    Ok(LabReport {
        machine,
        rule: VERDICT_RULE.into(),
        quick: options.quick,
        claims: results,
    })
}

/// Format a figure with 3 significant digits.
pub fn fmt_num(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let digits = (2 - x.abs().log10().floor() as i32).clamp(0, 6) as usize;
    format!("{x:.digits$}")
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(j, serde_json::json!({"op": ">=", "value": 6.0}));
        let j = serde_json::to_value(Expect::Between([1.0, 2.0])).unwrap();
        assert_eq!(j, serde_json::json!({"op": "between", "value": [1.0, 2.0]}));
    }

    fn dummy() -> Claim {
        Claim {
            id: "x",
            statement: "s",
            prediction: "p",
            unit: "u",
            run: |_, _| Err("unused".into()),
        }
    }

    #[test]
    fn judged_results_keep_the_median_inside_the_spread() {
        let c = dummy();
        let r = ClaimResult::from_samples(
            &c,
            &[1.0, 2.0, 3.0],
            Expect::AtLeast(0.5),
            Map::new(),
            |_, _| String::new(),
        );
        let [lo, hi] = r.spread.unwrap();
        assert!(lo <= 2.0 && 2.0 <= hi);
        assert_eq!(r.verdict, Verdict::Supported);
        assert_eq!(r.decide_with_reps, None);
    }

    #[test]
    fn inconclusive_results_say_how_many_reps_would_decide() {
        let c = dummy();
        let r = ClaimResult::judged(
            &c,
            1.2,
            [0.8, 1.6],
            4,
            Expect::AtLeast(1.0),
            Map::new(),
            |_, _| String::new(),
        );
        assert_eq!(r.verdict, Verdict::Inconclusive);
        // half-width 0.4, distance 0.2: four times the repetitions.
        assert_eq!(r.decide_with_reps, Some(16));
    }

    #[test]
    fn claim_selection_checks_ids_and_keeps_course_order() {
        let all = select(None).unwrap();
        assert_eq!(all.len(), 12);
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
    fn numbers_print_with_three_significant_digits() {
        assert_eq!(fmt_num(7.8912), "7.89");
        assert_eq!(fmt_num(0.012345), "0.0123");
        assert_eq!(fmt_num(1234.5), "1234");
    }
}
