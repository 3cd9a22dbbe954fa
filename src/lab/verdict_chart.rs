//! `verdicts.svg`: why each verdict is what it is, in one picture. A row per claim, each on its
//! own scale (figures differ in unit and size): the region where the prediction holds shaded,
//! the measured interval as a bar, the figure as a dot, and the verdict beside it. A spread
//! wholly inside the shade is `supported`, wholly outside `not-supported`, across its edge
//! `inconclusive`: the rule the lab states, drawn.

use std::fmt::Write as _;

use super::{fmt_num, ClaimResult, Expect, LabReport, Verdict};
use crate::text::xml_escape;

/// The chart's file name beside `lab.md`.
pub(crate) const FILE: &str = "verdicts.svg";

const WIDTH: f64 = 960.0;
const LABEL_RIGHT: f64 = 300.0;
const STRIP_LEFT: f64 = 312.0;
const STRIP_RIGHT: f64 = 742.0;
const VERDICT_X: f64 = 756.0;
const ROW: f64 = 38.0;
const TOP: f64 = 70.0;
const FONT: &str = "DejaVu Sans, Helvetica, Arial, sans-serif";

fn colour(v: Verdict) -> &'static str {
    match v {
        Verdict::Supported => "#009E73",
        Verdict::NotSupported => "#D55E00",
        Verdict::Inconclusive => "#E69F00",
        Verdict::NotTestable => "#888888",
    }
}

/// The text alternative of the chart.
pub(crate) fn alt(report: &LabReport) -> String {
    format!(
        "Each of the {} claims' measured interval against the region its model predicts, one row per claim, with its verdict",
        report.claims.len()
    )
}

/// The chart for every claim of `report`, in the report's order.
pub(crate) fn svg(report: &LabReport) -> String {
    let height = TOP + report.claims.len().max(1) as f64 * ROW + 56.0;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" font-family=\"{FONT}\">"
    );
    let _ = writeln!(o, "<title>{}</title>", xml_escape(&alt(report)));
    let _ = writeln!(
        o,
        "<rect width=\"{WIDTH}\" height=\"{height}\" fill=\"#ffffff\"/>"
    );
    let _ = writeln!(
        o,
        "<text x=\"16\" y=\"26\" font-size=\"16\" font-weight=\"bold\" fill=\"#222222\">Each claim: the measured interval against the prediction</text>"
    );
    let _ = writeln!(
        o,
        "<text x=\"16\" y=\"46\" font-size=\"12\" fill=\"#444444\">shaded: where the model's prediction holds; bar: the figure's interval; dot: the figure. Each row has its own scale.</text>"
    );
    for (i, c) in report.claims.iter().enumerate() {
        row(&mut o, c, TOP + i as f64 * ROW);
    }
    let y = TOP + report.claims.len() as f64 * ROW + 24.0;
    let mut x = 16.0;
    for v in [
        Verdict::Supported,
        Verdict::NotSupported,
        Verdict::Inconclusive,
        Verdict::NotTestable,
    ] {
        let _ = writeln!(
            o,
            "<rect x=\"{x}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{y:.1}\" font-size=\"12\" fill=\"#222222\">{}</text>",
            y - 10.0,
            colour(v),
            x + 18.0,
            v.name()
        );
        x += 150.0;
    }
    o.push_str("</svg>\n");
    o
}

/// One claim's row, its top at `y`.
fn row(o: &mut String, c: &ClaimResult, y: f64) {
    let mid = y + ROW / 2.0;
    let label = if c.kind == super::Kind::Check {
        format!("{} (check)", c.id)
    } else {
        c.id.clone()
    };
    let _ = writeln!(
        o,
        "<text x=\"{LABEL_RIGHT}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\" fill=\"#222222\">{}</text>",
        mid + 4.0,
        xml_escape(&label)
    );
    let _ = writeln!(
        o,
        "<text x=\"{VERDICT_X}\" y=\"{:.1}\" font-size=\"12\" font-weight=\"bold\" fill=\"{}\">{}</text>",
        mid + 4.0,
        colour(c.verdict),
        xml_escape(&c.verdict_word())
    );
    let (Some(figure), Some([lo, hi])) = (c.measured, c.spread) else {
        let _ = writeln!(
            o,
            "<text x=\"{STRIP_LEFT}\" y=\"{:.1}\" font-size=\"11\" fill=\"#888888\">not testable on this machine</text>",
            mid + 4.0
        );
        return;
    };
    // The row's scale: the spread, the figure and the thresholds, with room either side.
    let thresholds: Vec<f64> = match c.expect {
        Expect::AtLeast(v) | Expect::AtMost(v) => vec![v],
        Expect::Between([a, b]) => vec![a, b],
    };
    let values: Vec<f64> = [lo, hi, figure]
        .into_iter()
        .chain(thresholds.iter().copied())
        .filter(|v| v.is_finite())
        .collect();
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pad = ((max - min) * 0.15).max(max.abs().max(1e-12) * 0.02);
    let (a, b) = (min - pad, max + pad);
    let sx = |v: f64| STRIP_LEFT + (v.clamp(a, b) - a) / (b - a) * (STRIP_RIGHT - STRIP_LEFT);
    let _ = writeln!(
        o,
        "<rect x=\"{STRIP_LEFT}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#f6f6f6\"/>",
        y + 6.0,
        STRIP_RIGHT - STRIP_LEFT,
        ROW - 16.0
    );
    let (shade_lo, shade_hi) = match c.expect {
        Expect::AtLeast(v) => (v, b),
        Expect::AtMost(v) => (a, v),
        Expect::Between([p, q]) => (p, q),
    };
    let _ = writeln!(
        o,
        "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#cfe8dc\"><title>prediction: {}</title></rect>",
        sx(shade_lo),
        y + 6.0,
        (sx(shade_hi) - sx(shade_lo)).max(1.0),
        ROW - 16.0,
        xml_escape(&c.expect.describe())
    );
    for t in &thresholds {
        let _ = writeln!(
            o,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#4a8f6f\" stroke-width=\"1\"/><text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"9\" text-anchor=\"middle\" fill=\"#4a8f6f\">{}</text>",
            y + 6.0,
            y + ROW - 10.0,
            y + ROW - 1.0,
            fmt_num(*t),
            x = sx(*t)
        );
    }
    let col = colour(c.verdict);
    let _ = writeln!(
        o,
        "<line x1=\"{:.1}\" y1=\"{mid:.1}\" x2=\"{:.1}\" y2=\"{mid:.1}\" stroke=\"{col}\" stroke-width=\"4\" stroke-linecap=\"round\"><title>interval {} to {}</title></line>",
        sx(lo),
        sx(hi),
        fmt_num(lo),
        fmt_num(hi)
    );
    let _ = writeln!(
        o,
        "<circle cx=\"{:.1}\" cy=\"{mid:.1}\" r=\"4.5\" fill=\"#222222\" stroke=\"#ffffff\"><title>{} {}</title></circle>",
        sx(figure),
        fmt_num(figure),
        xml_escape(&c.unit)
    );
    let _ = writeln!(
        o,
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" text-anchor=\"middle\" fill=\"#222222\">{}</text>",
        sx(figure),
        y + 6.0 - 1.5,
        fmt_num(figure)
    );
}
