//! SVG plot (`speedup.svg`): speedup against workers, one line per strategy, written by hand.
//!
//! What a reader sees: the ideal line S = N (dashed, clipped to the plot), the sequential
//! baseline S = 1 (dotted), one coloured line with distinct markers per strategy (nudged a few
//! pixels apart sideways so equal values stay visible), an error bar per point (the bootstrap
//! 95% CI of the speedup, or the min–max range where no CI is finite), the oversubscribed
//! region shaded and labelled, axis labels, a legend, and a title naming the workload and the
//! CPU. The worker axis is linear while the workers span at most [`LOG_SPAN`]x, logarithmic
//! (base 2) beyond, with labelled ticks at the measured worker counts that do not collide. Every
//! legend entry is drawn from the rows it labels: the strategies plotted and, for those that put
//! every worker on one core, their worker counts, each once. No plotting crate: the document is plain SVG 1.1 text, well-formed XML, with every piece
//! of text escaped.
//!
//! [`speedup_chart`] draws the same plot for any lines ([`SpeedupChart`]): `concbench collect` uses it
//! for one line per machine, with the same axes, reference lines, markers and error bars.

use std::fmt::Write as _;

use super::{workload_label, Reporter, RunReport};
use crate::analysis::Row;
use crate::strategy::Strategy;
use crate::text::{nice_step, xml_escape, STEPS_1_2_25_5};

/// `speedup.svg`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct SvgReporter;

pub(super) const WIDTH: f64 = 840.0;
pub(super) const HEIGHT: f64 = 520.0;
pub(super) const LEFT: f64 = 72.0;
pub(super) const RIGHT: f64 = 610.0;
pub(super) const TOP: f64 = 76.0;
pub(super) const BOTTOM: f64 = 440.0;
pub(super) const LEGEND_X: f64 = 630.0;
pub(super) const FONT: &str = "DejaVu Sans, Helvetica, Arial, sans-serif";
/// Height of one line of a note under the footer.
const NOTE_LINE: f64 = 15.0;
/// Characters on one line of a note at 11 px (the plot's width).
const NOTE_CHARS: usize = 118;

/// Beyond this ratio of the largest to the smallest worker count the x axis is logarithmic.
pub(crate) const LOG_SPAN: f64 = 8.0;
/// Room kept between two tick labels, px.
const TICK_GAP: f64 = 6.0;

/// Width of a tick label of `text` at 12 px (digits are about 7 px wide).
fn tick_width(text: &str) -> f64 {
    7.0 * text.chars().count() as f64
}

/// The x axis: workers to pixels, linear from 0 or logarithmic (base 2) around the sweep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct XAxis {
    pub(super) log: bool,
    pub(super) lo: f64,
    pub(super) hi: f64,
}

impl XAxis {
    /// The axis for `sweep` (ascending worker counts, at least one).
    pub(super) fn new(sweep: &[usize]) -> XAxis {
        let min = sweep.first().copied().unwrap_or(1).max(1) as f64;
        let max = sweep.last().copied().unwrap_or(1).max(1) as f64;
        if max / min > LOG_SPAN {
            // A third of a doubling of room on either side.
            let pad = 2f64.powf(1.0 / 3.0);
            XAxis {
                log: true,
                lo: min / pad,
                hi: max * pad,
            }
        } else {
            XAxis {
                log: false,
                lo: 0.0,
                hi: max + (max * 0.06).max(0.5),
            }
        }
    }

    /// Where `c` workers sit, px (a count at or below 0 on a log axis sits at its left edge).
    pub(super) fn x(&self, c: f64) -> f64 {
        let f = if self.log {
            if c <= 0.0 {
                0.0
            } else {
                (c.log2() - self.lo.log2()) / (self.hi.log2() - self.lo.log2())
            }
        } else {
            (c - self.lo) / (self.hi - self.lo)
        };
        LEFT + f * (RIGHT - LEFT)
    }

    /// The worker counts at `n + 1` points evenly spread over the axis, in its own scale: the
    /// ideal line S = N drawn through them is straight on a linear axis and curves on a log one.
    fn samples(&self, n: usize) -> Vec<f64> {
        (0..=n)
            .map(|i| {
                let f = i as f64 / n as f64;
                if self.log {
                    (self.lo.log2() + f * (self.hi.log2() - self.lo.log2())).exp2()
                } else {
                    self.lo + f * (self.hi - self.lo)
                }
            })
            .collect()
    }

    /// The sweep values with whether each gets a label: from the left, a label is kept when it
    /// clears the last kept one by [`TICK_GAP`]; the largest count is always labelled (the label
    /// before it gives way).
    pub(super) fn ticks(&self, sweep: &[usize]) -> Vec<(usize, bool)> {
        let clear = |a: usize, b: usize| {
            let (ta, tb) = (a.to_string(), b.to_string());
            (self.x(b as f64) - self.x(a as f64)).abs()
                >= (tick_width(&ta) + tick_width(&tb)) / 2.0 + TICK_GAP
        };
        let mut kept: Vec<usize> = Vec::new();
        for &c in sweep {
            if kept.last().map_or(true, |&k| clear(k, c)) {
                kept.push(c);
            }
        }
        if let (Some(&last), Some(&k)) = (sweep.last(), kept.last()) {
            if k != last {
                while kept.last().is_some_and(|&k| !clear(k, last)) {
                    kept.pop();
                }
                kept.push(last);
            }
        }
        sweep.iter().map(|&c| (c, kept.contains(&c))).collect()
    }
}

/// The legend's note for strategies that put every worker on one core: per strategy drawn with
/// more than one worker, its name and its worker counts (`single-core-threaded x2, x4, x8`),
/// each strategy and each count once, in the order of the rows.
fn one_core_labels(rows: &[&Row]) -> Vec<String> {
    let mut groups: Vec<(Strategy, Vec<usize>)> = Vec::new();
    for r in rows
        .iter()
        .filter(|r| r.oversubscribed && super::shares_one_core(r.strategy))
    {
        match groups.iter_mut().find(|(s, _)| *s == r.strategy) {
            Some((_, counts)) => counts.push(r.cores),
            None => groups.push((r.strategy, vec![r.cores])),
        }
    }
    groups
        .into_iter()
        .map(|(s, mut counts)| {
            counts.sort_unstable();
            counts.dedup();
            let xs: Vec<String> = counts.iter().map(|c| format!("x{c}")).collect();
            format!("{} {}", s.name(), xs.join(", "))
        })
        .collect()
}

/// Split text into lines of at most `width` characters at spaces (a longer word stays whole).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Colour (Okabe–Ito, safe for colour-blind readers) and marker of a strategy.
pub(super) fn style(s: Strategy) -> (&'static str, Marker) {
    match s {
        Strategy::SingleCoreThreaded => ("#D55E00", Marker::Square),
        Strategy::MultiThreaded => ("#0072B2", Marker::Circle),
        Strategy::MultiProcess => ("#009E73", Marker::Triangle),
        Strategy::Sequential => ("#555555", Marker::Diamond),
        Strategy::SingleThreadAsync => ("#CC79A7", Marker::TriangleDown),
        Strategy::Distributed => ("#E69F00", Marker::Square),
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Marker {
    Circle,
    Square,
    Triangle,
    Diamond,
    /// A downward triangle: tells `single-thread-async` from multi-process's upward one.
    TriangleDown,
}

pub(super) fn marker(m: Marker, x: f64, y: f64, color: &str) -> String {
    let attrs = format!("fill=\"{color}\" stroke=\"#ffffff\" stroke-width=\"1\"");
    match m {
        Marker::Circle => format!("<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"4.5\" {attrs}/>"),
        Marker::Square => format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"8.5\" height=\"8.5\" {attrs}/>",
            x - 4.25,
            y - 4.25
        ),
        Marker::Triangle => format!(
            "<polygon points=\"{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\" {attrs}/>",
            x,
            y - 5.5,
            x - 5.0,
            y + 4.0,
            x + 5.0,
            y + 4.0
        ),
        Marker::TriangleDown => format!(
            "<polygon points=\"{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\" {attrs}/>",
            x,
            y + 5.5,
            x - 5.0,
            y - 4.0,
            x + 5.0,
            y - 4.0
        ),
        Marker::Diamond => format!(
            "<polygon points=\"{:.1},{:.1} {:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\" {attrs}/>",
            x,
            y - 5.5,
            x + 5.5,
            y,
            x,
            y + 5.5,
            x - 5.5,
            y
        ),
    }
}

/// An error bar from `y1` to `y2` at `x`, with caps, in `color`.
pub(super) fn error_bar(x: f64, y1: f64, y2: f64, color: &str) -> String {
    format!(
        "<path d=\"M{x:.1},{y1:.1} V{y2:.1} M{:.1},{y1:.1} H{:.1} M{:.1},{y2:.1} H{:.1}\" stroke=\"{color}\" stroke-width=\"1.3\" fill=\"none\"/>",
        x - 3.5,
        x + 3.5,
        x - 3.5,
        x + 3.5
    )
}

/// A legend entry at height `ly`: a short line with its marker, and `label` (escaped here).
pub(super) fn legend_entry(ly: f64, color: &str, m: Marker, label: &str) -> String {
    format!(
        "<line x1=\"{LEGEND_X}\" y1=\"{ly:.1}\" x2=\"{:.1}\" y2=\"{ly:.1}\" stroke=\"{color}\" stroke-width=\"2.2\"/>{}\n<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#222222\">{}</text>",
        LEGEND_X + 28.0,
        marker(m, LEGEND_X + 14.0, ly, color),
        LEGEND_X + 36.0,
        ly + 4.0,
        xml_escape(label)
    )
}

/// The Amdahl curves to draw: `(strategy, f, fewest workers, most workers)` for every strategy
/// with a fitted serial fraction f in [0, 1), over the worker counts the fit used (rows with a
/// finite speedup that are not oversubscribed; at least two).
fn amdahl_curves(report: &RunReport) -> Vec<(Strategy, f64, f64, f64)> {
    report
        .amdahl_serial_fraction
        .iter()
        .filter_map(|fit| {
            let f = fit.serial_fraction.filter(|f| (0.0..1.0).contains(f))?;
            let st: Strategy = fit.strategy.parse().ok()?;
            let counts: Vec<f64> = report
                .rows
                .iter()
                .filter(|r| r.strategy == st && r.speedup.is_finite() && !r.oversubscribed)
                .map(|r| r.cores as f64)
                .collect();
            let lo = counts
                .iter()
                .copied()
                .fold(f64::INFINITY, f64::min)
                .max(1.0);
            let hi = counts.iter().copied().fold(0.0, f64::max);
            (counts.len() >= 2 && hi > lo).then_some((st, f, lo, hi))
        })
        .collect()
}

pub(super) fn fmt_tick(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The speedup range drawn as an error bar, and whether it is the bootstrap CI.
fn error_range(r: &Row, base_median: f64) -> Option<([f64; 2], bool)> {
    if let Some([lo, hi]) = r.speedup_ci {
        if lo.is_finite() && hi.is_finite() && lo > 0.0 {
            return Some(([lo, hi], true));
        }
    }
    let (lo, hi) = (base_median / r.max_s, base_median / r.min_s);
    (lo.is_finite() && hi.is_finite()).then_some(([lo, hi], false))
}

impl Reporter for SvgReporter {
    fn name(&self) -> &'static str {
        "svg"
    }
    fn file_name(&self) -> &'static str {
        "speedup.svg"
    }
    fn render(&self, report: &RunReport) -> String {
        let rows = &report.rows;
        let base_median = rows
            .iter()
            .find(|r| r.strategy.is_sequential())
            .map_or(f64::NAN, |r| r.median_s);
        let strategies: Vec<Strategy> = {
            let mut v: Vec<Strategy> = rows
                .iter()
                .filter(|r| !r.strategy.is_sequential() && r.speedup.is_finite())
                .map(|r| r.strategy)
                .collect();
            v.sort();
            v.dedup();
            v
        };
        let mut sweep: Vec<usize> = rows.iter().map(|r| r.cores).collect();
        sweep.push(1);
        sweep.sort_unstable();
        sweep.dedup();
        let max_cores = *sweep.last().unwrap_or(&1) as f64;
        let physical = report.machine.physical_cores.max(1) as f64;
        // The rows drawn: every strategy but the baseline, with a finite speedup.
        let drawn: Vec<&Row> = rows
            .iter()
            .filter(|r| !r.strategy.is_sequential() && r.speedup.is_finite())
            .collect();

        // Scales.
        let axis = XAxis::new(&sweep);
        let data_hi = rows
            .iter()
            .filter(|r| !r.strategy.is_sequential())
            .flat_map(|r| {
                let e = error_range(r, base_median).map_or(r.speedup, |(e, _)| e[1]);
                [r.speedup, e]
            })
            .filter(|v| v.is_finite())
            .fold(1.0f64, f64::max);
        let want = (data_hi * 1.08)
            .max(physical.min(max_cores) * 1.05)
            .max(1.2);
        let y_step = nice_step((want / 5.0).max(1e-9), STEPS_1_2_25_5);
        let y_max = (want / y_step).ceil() * y_step;
        let sx = |c: f64| axis.x(c);
        let sy = |s: f64| BOTTOM - s / y_max * (BOTTOM - TOP);

        let mut o = String::new();
        let title = format!(
            "{}: speedup against workers",
            workload_label(&report.workload)
        );
        // A web run whose load generator shared the server's CPUs says so under the footer, on
        // lines of its own that make the picture taller.
        let generator: Vec<String> = super::generator_note(report)
            .map(|n| wrap(&n, NOTE_CHARS))
            .unwrap_or_default();
        let height = HEIGHT + NOTE_LINE * generator.len() as f64;
        let _ = writeln!(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        let _ = writeln!(
            o,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" font-family=\"{FONT}\">"
        );
        let _ = writeln!(o, "<title>{}</title>", xml_escape(&title));
        let _ = writeln!(
            o,
            "<desc>{}</desc>",
            xml_escape(&format!(
                "Measured by concbench {} on {}; command: {}",
                report.machine.concbench_version,
                report.machine.summary(),
                report.machine.command
            ))
        );
        let _ = writeln!(
            o,
            "<defs><clipPath id=\"plot\"><rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{}\" height=\"{}\"/></clipPath></defs>",
            RIGHT - LEFT,
            BOTTOM - TOP
        );
        let _ = writeln!(
            o,
            "<rect width=\"{WIDTH}\" height=\"{height}\" fill=\"#ffffff\"/>"
        );
        let _ = writeln!(
            o,
            "<text x=\"{LEFT}\" y=\"30\" font-size=\"17\" font-weight=\"bold\" fill=\"#222222\">{}</text>",
            xml_escape(&title)
        );
        // The machine, on two lines at most where its CPU's frequency and caches make it long
        // (lines widen rather than drop words).
        let summary = report.machine.summary();
        let width = NOTE_CHARS.max(summary.chars().count().div_ceil(2) + 12);
        for (i, line) in wrap(&summary, width).iter().enumerate() {
            let _ = writeln!(
                o,
                "<text x=\"{LEFT}\" y=\"{}\" font-size=\"12\" fill=\"#444444\">{}</text>",
                52 + 14 * i,
                xml_escape(line)
            );
        }

        // Oversubscribed region: from midway between the last sweep value that fits and the first
        // that does not, to the right edge.
        // single-core-threaded rows are oversubscribed by design from 2 workers; the region is
        // about the physical cores, so it starts at the spread strategies' first oversubscribed
        // sweep value.
        let first_over = super::oversubscribed_cores(report).first().copied();
        if let Some(first_over) = first_over {
            let last_fit = sweep
                .iter()
                .copied()
                .filter(|&c| c < first_over)
                .max()
                .unwrap_or(0) as f64;
            // Midway on the axis as drawn (between the pixels, so also on a log axis).
            let fit = last_fit.max(physical.min(first_over as f64));
            let start = if fit > 0.0 {
                (sx(fit) + sx(first_over as f64)) / 2.0
            } else {
                sx(first_over as f64) - 8.0
            }
            .min(sx(first_over as f64) - 8.0);
            let _ = writeln!(
                o,
                "<rect x=\"{start:.1}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{}\" fill=\"#e8e8e8\"/>",
                RIGHT - start,
                BOTTOM - TOP
            );
            let _ = writeln!(
                o,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#555555\"><tspan x=\"{:.1}\">oversubscribed:</tspan><tspan x=\"{:.1}\" dy=\"14\">more workers than the</tspan><tspan x=\"{:.1}\" dy=\"14\">{} physical core{} allowed</tspan></text>",
                start + 6.0,
                TOP + 16.0,
                start + 6.0,
                start + 6.0,
                start + 6.0,
                report.machine.physical_cores,
                if report.machine.physical_cores == 1 { "" } else { "s" }
            );
        }

        // Grid and axes.
        let mut t = 0.0;
        while t <= y_max + 1e-9 {
            let y = sy(t);
            let _ = writeln!(
                o,
                "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{RIGHT}\" y2=\"{y:.1}\" stroke=\"#d0d0d0\" stroke-width=\"0.6\"/>"
            );
            let _ = writeln!(
                o,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\" fill=\"#222222\">{}</text>",
                LEFT - 7.0,
                y + 4.0,
                fmt_tick(t)
            );
            t += y_step;
        }
        for (c, labelled) in axis.ticks(&sweep) {
            let x = sx(c as f64);
            let _ = writeln!(
                o,
                "<line x1=\"{x:.1}\" y1=\"{BOTTOM}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#222222\"/>",
                BOTTOM + if labelled { 5.0 } else { 3.0 }
            );
            if !labelled {
                continue;
            }
            let _ = writeln!(
                o,
                "<text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\" fill=\"#222222\">{c}</text>",
                BOTTOM + 19.0
            );
        }
        let _ = writeln!(
            o,
            "<path d=\"M{LEFT},{TOP} V{BOTTOM} H{RIGHT}\" fill=\"none\" stroke=\"#222222\" stroke-width=\"1.2\"/>"
        );
        let _ = writeln!(
            o,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" text-anchor=\"middle\" fill=\"#222222\">{}{}</text>",
            (LEFT + RIGHT) / 2.0,
            BOTTOM + 40.0,
            if super::is_web(report) {
                "workers N (N workers serving connections at once; 1: the iterative server)"
            } else {
                "workers N (the work split into N parts run by N workers)"
            },
            if axis.log { ", log scale" } else { "" }
        );
        let _ = writeln!(
            o,
            "<text transform=\"translate(24,{:.1}) rotate(-90)\" font-size=\"13\" text-anchor=\"middle\" fill=\"#222222\">speedup S ({} median / median)</text>",
            (TOP + BOTTOM) / 2.0,
            report.method.speedup_baseline
        );

        // Reference lines.
        let _ = writeln!(o, "<g clip-path=\"url(#plot)\">");
        // The ideal S = N through points spread over the axis: straight on a linear axis, a
        // curve on a log one.
        let ideal: Vec<String> = axis
            .samples(if axis.log { 96 } else { 1 })
            .into_iter()
            .map(|c| format!("{:.1},{:.1}", sx(c), sy(c)))
            .collect();
        let _ = writeln!(
            o,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#888888\" stroke-width=\"1.4\" stroke-dasharray=\"7 5\"/>",
            ideal.join(" ")
        );
        let _ = writeln!(
            o,
            "<line x1=\"{LEFT}\" y1=\"{:.1}\" x2=\"{RIGHT}\" y2=\"{:.1}\" stroke=\"#555555\" stroke-width=\"1.2\" stroke-dasharray=\"2 3\"/>",
            sy(1.0),
            sy(1.0)
        );

        // The fitted Amdahl curve S(N) = 1 / (f + (1 - f)/N) of each strategy with a fit,
        // thin and dotted in the strategy's colour, over the worker counts the fit rests on
        // (never extrapolated past them).
        let fitted = amdahl_curves(report);
        for (st, f, lo, hi) in &fitted {
            let (color, _) = style(*st);
            let span = XAxis {
                log: axis.log,
                lo: *lo,
                hi: *hi,
            };
            let pts: Vec<String> = span
                .samples(48)
                .into_iter()
                .map(|c| format!("{:.1},{:.1}", sx(c), sy(1.0 / (f + (1.0 - f) / c))))
                .collect();
            let _ = writeln!(
                o,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.1\" stroke-dasharray=\"1.5 3\" opacity=\"0.9\"/>",
                pts.join(" ")
            );
        }

        // One line per strategy, nudged sideways so equal values stay distinguishable.
        let mut any_fallback = false;
        let n = strategies.len() as f64;
        for (k, &st) in strategies.iter().enumerate() {
            let (color, m) = style(st);
            let dx = (k as f64 - (n - 1.0) / 2.0) * 5.0;
            let mut pts: Vec<&Row> = rows
                .iter()
                .filter(|r| r.strategy == st && r.speedup.is_finite())
                .collect();
            pts.sort_by_key(|r| r.cores);
            let _ = writeln!(o, "<g>");
            let path: Vec<String> = pts
                .iter()
                .map(|r| format!("{:.1},{:.1}", sx(r.cores as f64) + dx, sy(r.speedup)))
                .collect();
            if path.len() > 1 {
                let _ = writeln!(
                    o,
                    "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2.2\"/>",
                    path.join(" ")
                );
            }
            for r in &pts {
                let x = sx(r.cores as f64) + dx;
                if let Some(([lo, hi], ci)) = error_range(r, base_median) {
                    any_fallback |= !ci;
                    let _ = writeln!(o, "{}", error_bar(x, sy(lo), sy(hi), color));
                }
                let _ = writeln!(o, "{}", marker(m, x, sy(r.speedup), color));
            }
            let _ = writeln!(o, "</g>");
        }
        let _ = writeln!(o, "</g>");

        // Legend.
        let mut ly = TOP + 6.0;
        let _ = writeln!(
            o,
            "<text x=\"{LEGEND_X}\" y=\"{ly:.1}\" font-size=\"13\" font-weight=\"bold\" fill=\"#222222\">strategy</text>"
        );
        ly += 22.0;
        for &st in &strategies {
            let (color, m) = style(st);
            let _ = writeln!(o, "{}", legend_entry(ly, color, m, st.name()));
            ly += 22.0;
        }
        let _ = writeln!(
            o,
            "<line x1=\"{LEGEND_X}\" y1=\"{ly:.1}\" x2=\"{:.1}\" y2=\"{ly:.1}\" stroke=\"#888888\" stroke-width=\"1.4\" stroke-dasharray=\"7 5\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#222222\">ideal: S = N</text>",
            LEGEND_X + 28.0,
            LEGEND_X + 36.0,
            ly + 4.0
        );
        ly += 22.0;
        let _ = writeln!(
            o,
            "<line x1=\"{LEGEND_X}\" y1=\"{ly:.1}\" x2=\"{:.1}\" y2=\"{ly:.1}\" stroke=\"#555555\" stroke-width=\"1.2\" stroke-dasharray=\"2 3\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#222222\">{}: S = 1</text>",
            LEGEND_X + 28.0,
            LEGEND_X + 36.0,
            ly + 4.0,
            report.method.speedup_baseline
        );
        ly += 22.0;
        if !fitted.is_empty() {
            let _ = writeln!(
                o,
                "<line x1=\"{LEGEND_X}\" y1=\"{ly:.1}\" x2=\"{:.1}\" y2=\"{ly:.1}\" stroke=\"#222222\" stroke-width=\"1.1\" stroke-dasharray=\"1.5 3\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#222222\"><tspan x=\"{:.1}\">fitted Amdahl</tspan><tspan x=\"{:.1}\" dy=\"15\">(strategy colour)</tspan></text>",
                LEGEND_X + 28.0,
                LEGEND_X + 36.0,
                ly + 4.0,
                LEGEND_X + 36.0,
                LEGEND_X + 36.0
            );
            ly += 37.0;
        }
        if first_over.is_some() {
            let _ = writeln!(
                o,
                "<rect x=\"{LEGEND_X}\" y=\"{:.1}\" width=\"28\" height=\"12\" fill=\"#e8e8e8\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#222222\">oversubscribed</text>",
                ly - 6.0,
                LEGEND_X + 36.0,
                ly + 4.0
            );
            ly += 22.0;
        }
        for label in one_core_labels(&drawn) {
            let _ = writeln!(
                o,
                "<text x=\"{LEGEND_X}\" y=\"{:.1}\" font-size=\"12\" fill=\"#222222\"><tspan x=\"{LEGEND_X}\">{}:</tspan><tspan x=\"{LEGEND_X}\" dy=\"15\">N workers, N per core</tspan></text>",
                ly + 4.0,
                xml_escape(&label)
            );
            ly += 37.0;
        }
        let coverage = rows
            .iter()
            .find_map(|r| r.speedup_ci_coverage)
            .map(crate::measure::stats::format_coverage);
        let bars = match (&coverage, any_fallback) {
            (Some(c), false) => format!("{c} interval"),
            (Some(c), true) => format!("{c} interval (min–max where none)"),
            (None, _) => "min–max (one repetition)".to_string(),
        };
        let _ = writeln!(
            o,
            "<path d=\"M{:.1},{:.1} V{:.1} M{:.1},{:.1} H{:.1} M{:.1},{:.1} H{:.1}\" stroke=\"#222222\" stroke-width=\"1.3\" fill=\"none\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#222222\"><tspan x=\"{:.1}\">error bars:</tspan><tspan x=\"{:.1}\" dy=\"15\">{}</tspan></text>",
            LEGEND_X + 14.0,
            ly - 7.0,
            ly + 7.0,
            LEGEND_X + 10.5,
            ly - 7.0,
            LEGEND_X + 17.5,
            LEGEND_X + 10.5,
            ly + 7.0,
            LEGEND_X + 17.5,
            LEGEND_X + 36.0,
            ly + 4.0,
            LEGEND_X + 36.0,
            LEGEND_X + 36.0,
            xml_escape(&bars)
        );

        // Footer: method and provenance.
        let _ = writeln!(
            o,
            "<text x=\"{LEFT}\" y=\"{:.1}\" font-size=\"11\" fill=\"#555555\">{}</text>",
            HEIGHT - 14.0,
            xml_escape(&format!(
                "median of {} repetitions after {} warm-up per point; measured {} with concbench {}",
                report.method.reps,
                report.method.warmup,
                report.machine.date,
                report.machine.concbench_version
            ))
        );
        for (i, line) in generator.iter().enumerate() {
            let _ = writeln!(
                o,
                "<text x=\"{LEFT}\" y=\"{:.1}\" font-size=\"11\" fill=\"#555555\">{}</text>",
                HEIGHT - 14.0 + NOTE_LINE * (i + 1) as f64,
                xml_escape(line)
            );
        }
        o.push_str("</svg>\n");
        o
    }
}

/// One point of a [`SpeedupLine`]: workers, speedup, and its interval where there is one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SpeedupPoint {
    /// Workers N.
    pub workers: usize,
    /// Speedup at N.
    pub speedup: f64,
    /// The speedup's interval, drawn as an error bar.
    pub interval: Option<[f64; 2]>,
}

/// One line of a [`SpeedupChart`]: a short legend label and its points.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SpeedupLine {
    /// The legend's label (short: `M1`, `M2 (multi-process)`).
    pub label: String,
    /// Its points, in any order (drawn by workers).
    pub points: Vec<SpeedupPoint>,
}

/// A speedup-against-workers chart of any lines (one per machine in `concbench collect`), drawn
/// with the same axes, reference lines, markers and colours as `speedup.svg`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SpeedupChart {
    /// The title.
    pub title: String,
    /// One line under the title (what the lines are).
    pub(crate) subtitle: String,
    /// The lines.
    pub lines: Vec<SpeedupLine>,
    /// Lines of text under the plot (what each label stands for, the method), wrapped to the
    /// width.
    pub notes: Vec<String>,
}

/// Colours of [`SpeedupChart`] lines in turn (Okabe–Ito, safe for colour-blind readers).
const LINE_COLOURS: [&str; 7] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
];
/// Markers of [`SpeedupChart`] lines in turn: with 7 colours, 35 lines look different.
const LINE_MARKERS: [Marker; 5] = [
    Marker::Circle,
    Marker::Square,
    Marker::Triangle,
    Marker::Diamond,
    Marker::TriangleDown,
];

/// Draw a [`SpeedupChart`]: the plot of `speedup.svg` (ideal S = N dashed, S = 1 dotted, error
/// bars from the intervals), a legend of the lines at the right, the notes under the plot.
pub(crate) fn speedup_chart(chart: &SpeedupChart) -> String {
    let mut sweep: Vec<usize> = chart
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.workers))
        .collect();
    sweep.push(1);
    sweep.sort_unstable();
    sweep.dedup();
    let axis = XAxis::new(&sweep);
    let data_hi = chart
        .lines
        .iter()
        .flat_map(|l| &l.points)
        .flat_map(|p| [p.speedup, p.interval.map_or(p.speedup, |i| i[1])])
        .filter(|v| v.is_finite())
        .fold(1.0f64, f64::max);
    let want = (data_hi * 1.08).max(1.2);
    let y_step = nice_step((want / 5.0).max(1e-9), STEPS_1_2_25_5);
    let y_max = (want / y_step).ceil() * y_step;
    let sx = |c: f64| axis.x(c);
    let sy = |s: f64| BOTTOM - s.clamp(0.0, y_max * 1.5) / y_max * (BOTTOM - TOP);

    // The legend runs down the right; the notes follow the plot or the legend, whichever ends
    // lower.
    let legend_end = TOP + 28.0 + 22.0 * (chart.lines.len() + 2) as f64;
    let notes: Vec<String> = chart
        .notes
        .iter()
        .flat_map(|n| wrap(n, NOTE_CHARS))
        .collect();
    let notes_top = (BOTTOM + 66.0).max(legend_end + 16.0);
    let height = notes_top + NOTE_LINE * notes.len() as f64 + 12.0;

    let mut o = String::new();
    let _ = writeln!(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    let _ = writeln!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height:.0}\" viewBox=\"0 0 {WIDTH} {height:.0}\" font-family=\"{FONT}\">"
    );
    let _ = writeln!(o, "<title>{}</title>", xml_escape(&chart.title));
    let _ = writeln!(o, "<desc>{}</desc>", xml_escape(&chart.notes.join(" ")));
    let _ = writeln!(
        o,
        "<defs><clipPath id=\"plot\"><rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{}\" height=\"{}\"/></clipPath></defs>",
        RIGHT - LEFT,
        BOTTOM - TOP
    );
    let _ = writeln!(
        o,
        "<rect width=\"{WIDTH}\" height=\"{height:.0}\" fill=\"#ffffff\"/>"
    );
    let _ = writeln!(
        o,
        "<text x=\"{LEFT}\" y=\"30\" font-size=\"17\" font-weight=\"bold\" fill=\"#222222\">{}</text>",
        xml_escape(&chart.title)
    );
    let _ = writeln!(
        o,
        "<text x=\"{LEFT}\" y=\"52\" font-size=\"12\" fill=\"#444444\">{}</text>",
        xml_escape(&chart.subtitle)
    );

    // Grid and axes.
    let mut t = 0.0;
    while t <= y_max + 1e-9 {
        let y = sy(t);
        let _ = writeln!(
            o,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{RIGHT}\" y2=\"{y:.1}\" stroke=\"#d0d0d0\" stroke-width=\"0.6\"/>"
        );
        let _ = writeln!(
            o,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\" fill=\"#222222\">{}</text>",
            LEFT - 7.0,
            y + 4.0,
            fmt_tick(t)
        );
        t += y_step;
    }
    for (c, labelled) in axis.ticks(&sweep) {
        let x = sx(c as f64);
        let _ = writeln!(
            o,
            "<line x1=\"{x:.1}\" y1=\"{BOTTOM}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#222222\"/>",
            BOTTOM + if labelled { 5.0 } else { 3.0 }
        );
        if labelled {
            let _ = writeln!(
                o,
                "<text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\" fill=\"#222222\">{c}</text>",
                BOTTOM + 19.0
            );
        }
    }
    let _ = writeln!(
        o,
        "<path d=\"M{LEFT},{TOP} V{BOTTOM} H{RIGHT}\" fill=\"none\" stroke=\"#222222\" stroke-width=\"1.2\"/>"
    );
    let _ = writeln!(
        o,
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" text-anchor=\"middle\" fill=\"#222222\">workers N{}</text>",
        (LEFT + RIGHT) / 2.0,
        BOTTOM + 40.0,
        if axis.log { ", log scale" } else { "" }
    );
    let _ = writeln!(
        o,
        "<text transform=\"translate(24,{:.1}) rotate(-90)\" font-size=\"13\" text-anchor=\"middle\" fill=\"#222222\">speedup S (each file's baseline median / median)</text>",
        (TOP + BOTTOM) / 2.0
    );

    // Reference lines, then the lines, clipped to the plot.
    let _ = writeln!(o, "<g clip-path=\"url(#plot)\">");
    let ideal: Vec<String> = axis
        .samples(if axis.log { 96 } else { 1 })
        .into_iter()
        .map(|c| format!("{:.1},{:.1}", sx(c), sy(c)))
        .collect();
    let _ = writeln!(
        o,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#888888\" stroke-width=\"1.4\" stroke-dasharray=\"7 5\"/>",
        ideal.join(" ")
    );
    let _ = writeln!(
        o,
        "<line x1=\"{LEFT}\" y1=\"{:.1}\" x2=\"{RIGHT}\" y2=\"{:.1}\" stroke=\"#555555\" stroke-width=\"1.2\" stroke-dasharray=\"2 3\"/>",
        sy(1.0),
        sy(1.0)
    );
    let n = chart.lines.len() as f64;
    let nudge = (24.0 / n.max(1.0)).min(5.0);
    for (k, line) in chart.lines.iter().enumerate() {
        let color = LINE_COLOURS[k % LINE_COLOURS.len()];
        let m = LINE_MARKERS[(k / LINE_COLOURS.len()) % LINE_MARKERS.len()];
        let dx = (k as f64 - (n - 1.0) / 2.0) * nudge;
        let mut pts: Vec<&SpeedupPoint> = line
            .points
            .iter()
            .filter(|p| p.speedup.is_finite())
            .collect();
        pts.sort_by_key(|p| p.workers);
        let _ = writeln!(o, "<g>");
        let path: Vec<String> = pts
            .iter()
            .map(|p| format!("{:.1},{:.1}", sx(p.workers as f64) + dx, sy(p.speedup)))
            .collect();
        if path.len() > 1 {
            let _ = writeln!(
                o,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2.2\"/>",
                path.join(" ")
            );
        }
        for p in &pts {
            let x = sx(p.workers as f64) + dx;
            if let Some([lo, hi]) = p.interval.filter(|i| i[0].is_finite() && i[1].is_finite()) {
                let _ = writeln!(o, "{}", error_bar(x, sy(lo), sy(hi), color));
            }
            let _ = writeln!(o, "{}", marker(m, x, sy(p.speedup), color));
        }
        let _ = writeln!(o, "</g>");
    }
    let _ = writeln!(o, "</g>");

    // Legend.
    let mut ly = TOP + 6.0;
    let _ = writeln!(
        o,
        "<text x=\"{LEGEND_X}\" y=\"{ly:.1}\" font-size=\"13\" font-weight=\"bold\" fill=\"#222222\">machine</text>"
    );
    ly += 22.0;
    for (k, line) in chart.lines.iter().enumerate() {
        let color = LINE_COLOURS[k % LINE_COLOURS.len()];
        let m = LINE_MARKERS[(k / LINE_COLOURS.len()) % LINE_MARKERS.len()];
        let _ = writeln!(o, "{}", legend_entry(ly, color, m, &line.label));
        ly += 22.0;
    }
    let _ = writeln!(
        o,
        "<line x1=\"{LEGEND_X}\" y1=\"{ly:.1}\" x2=\"{:.1}\" y2=\"{ly:.1}\" stroke=\"#888888\" stroke-width=\"1.4\" stroke-dasharray=\"7 5\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#222222\">ideal: S = N</text>",
        LEGEND_X + 28.0,
        LEGEND_X + 36.0,
        ly + 4.0
    );
    ly += 22.0;
    let _ = writeln!(
        o,
        "<line x1=\"{LEGEND_X}\" y1=\"{ly:.1}\" x2=\"{:.1}\" y2=\"{ly:.1}\" stroke=\"#555555\" stroke-width=\"1.2\" stroke-dasharray=\"2 3\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#222222\">baseline: S = 1</text>",
        LEGEND_X + 28.0,
        LEGEND_X + 36.0,
        ly + 4.0
    );

    for (i, line) in notes.iter().enumerate() {
        let _ = writeln!(
            o,
            "<text x=\"{LEFT}\" y=\"{:.1}\" font-size=\"11\" fill=\"#555555\">{}</text>",
            notes_top + NOTE_LINE * i as f64,
            xml_escape(line)
        );
    }
    o.push_str("</svg>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(SvgReporter.render(&fixture::report()));
    }

    #[test]
    fn is_well_formed_xml_with_an_svg_root() {
        let mut report = fixture::report();
        // Text every renderer must escape, in the places the SVG prints it.
        report.machine.cpu_model = "Weird <CPU> & \"Co\" 'x'".into();
        report.workload.name = "a<b>&c".into();
        let text = SvgReporter.render(&report);
        let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        assert!(doc
            .descendants()
            .any(|n| n.text() == Some("oversubscribed")));
        assert!(doc
            .descendants()
            .filter_map(|n| n.text())
            .any(|t| t.contains("Weird <CPU> & \"Co\" 'x'")));
    }

    #[test]
    fn only_a_sequential_row_still_plots() {
        let mut report = fixture::report();
        report.rows.truncate(1);
        let text = SvgReporter.render(&report);
        roxmltree::Document::parse(&text).expect("well-formed XML");
    }

    #[test]
    fn web_plots_name_the_workers_and_a_shared_generator() {
        let text = SvgReporter.render(&fixture::web_report());
        let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
        let texts: Vec<&str> = doc
            .descendants()
            .filter(|n| n.is_text())
            .filter_map(|n| n.text())
            .filter(|t| !t.trim().is_empty())
            .collect();
        assert!(texts
            .iter()
            .any(|t| t.contains("N workers serving connections at once")));
        let note: Vec<&str> = texts
            .iter()
            .copied()
            .skip_while(|t| !t.starts_with("the load generator shared CPU(s)"))
            .collect();
        assert!(note.len() >= 2, "wrapped over lines: {texts:?}");
        assert!(note.iter().all(|l| l.chars().count() <= NOTE_CHARS));
        assert!(note.join(" ").contains("its work is inside those figures"));
        let height: f64 = doc
            .root_element()
            .attribute("height")
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(height, HEIGHT + NOTE_LINE * note.len() as f64);
        // A job's plot keeps its size and label.
        let job = SvgReporter.render(&fixture::report());
        assert!(job.contains("height=\"520\"") && job.contains("the work split into N parts"));
        assert!(!job.contains("load generator"));
    }

    /// Every text node of the document, trimmed, with its element's `x` and `y`.
    fn texts(doc: &roxmltree::Document<'_>) -> Vec<(String, f64, f64)> {
        doc.descendants()
            .filter(|n| n.is_text())
            .filter_map(|n| {
                let t = n.text()?.trim();
                let e = n.parent()?;
                let num = |a: &str| {
                    e.attribute(a)
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(f64::NAN)
                };
                (!t.is_empty()).then(|| (t.to_string(), num("x"), num("y")))
            })
            .collect()
    }

    /// The fixture with single-thread-async rows beside single-core-threaded ones (both put every
    /// worker on one core), a multi-process row whose speedup is not finite (not drawn), and
    /// the single-core-threaded rows listed twice (as a merged file might).
    fn one_core_report() -> RunReport {
        let mut report = fixture::report();
        let sct: Vec<Row> = report
            .rows
            .iter()
            .filter(|r| r.strategy == Strategy::SingleCoreThreaded)
            .cloned()
            .collect();
        for mut r in sct.iter().cloned() {
            r.strategy = Strategy::SingleThreadAsync;
            r.cores *= 3;
            report.rows.push(r);
        }
        report.rows.extend(sct);
        report
            .rows
            .retain(|r| r.strategy != Strategy::MultiProcess || r.cores == 1);
        for r in report.rows.iter_mut() {
            if r.strategy == Strategy::MultiProcess {
                r.speedup = f64::NAN;
            }
        }
        report
    }

    #[test]
    fn every_legend_label_comes_from_the_rows_drawn() {
        let report = one_core_report();
        let text = SvgReporter.render(&report);
        let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
        let legend: Vec<String> = texts(&doc)
            .into_iter()
            .filter(|(_, x, _)| *x >= LEGEND_X)
            .map(|(t, _, _)| t)
            .collect();
        let drawn: Vec<&Row> = report
            .rows
            .iter()
            .filter(|r| !r.strategy.is_sequential() && r.speedup.is_finite())
            .collect();
        // Strategy entries: exactly the strategies drawn.
        let names: Vec<&str> = Strategy::ALL.iter().map(|s| s.name()).collect();
        let mut shown: Vec<&str> = legend
            .iter()
            .map(String::as_str)
            .filter(|t| names.contains(t))
            .collect();
        let mut expect: Vec<&str> = drawn.iter().map(|r| r.strategy.name()).collect();
        expect.sort_unstable();
        expect.dedup();
        shown.sort_unstable();
        assert_eq!(shown, expect, "{legend:?}");
        assert!(!shown.contains(&"multi-process"));
        // One-core entries: each such strategy once, with the worker counts of its rows, each once.
        let one_core: Vec<&String> = legend
            .iter()
            .filter(|t| t.ends_with(':') && t.contains(" x"))
            .collect();
        for st in [Strategy::SingleCoreThreaded, Strategy::SingleThreadAsync] {
            let mut counts: Vec<usize> = drawn
                .iter()
                .filter(|r| r.strategy == st && r.oversubscribed)
                .map(|r| r.cores)
                .collect();
            counts.sort_unstable();
            counts.dedup();
            assert!(!counts.is_empty());
            let xs: Vec<String> = counts.iter().map(|c| format!("x{c}")).collect();
            let want = format!("{} {}:", st.name(), xs.join(", "));
            assert_eq!(
                one_core
                    .iter()
                    .filter(|t| t.starts_with(&format!("{} x", st.name())))
                    .count(),
                1,
                "{one_core:?}"
            );
            assert!(
                one_core.iter().any(|t| **t == want),
                "{want} not in {one_core:?}"
            );
        }
        assert_eq!(one_core.len(), 2, "{one_core:?}");
    }

    /// A report whose workers run from 1 to 10,000.
    fn wide_report() -> RunReport {
        let mut report = fixture::report();
        let template = report
            .rows
            .iter()
            .find(|r| r.strategy == Strategy::MultiThreaded)
            .cloned()
            .unwrap();
        report.rows.retain(|r| r.strategy.is_sequential());
        for c in [
            1, 2, 3, 4, 7, 8, 10, 16, 32, 64, 100, 128, 256, 512, 1000, 1024, 4096, 10_000,
        ] {
            let mut r = template.clone();
            r.cores = c;
            r.oversubscribed = c > 2;
            report.rows.push(r);
        }
        report
    }

    #[test]
    fn a_wide_sweep_gets_a_log_axis_whose_tick_labels_never_overlap() {
        let report = wide_report();
        let text = SvgReporter.render(&report);
        let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
        let mut ticks: Vec<(String, f64)> = texts(&doc)
            .into_iter()
            .filter(|(_, _, y)| *y == BOTTOM + 19.0)
            .map(|(t, x, _)| (t, x))
            .collect();
        ticks.sort_by(|a, b| a.1.total_cmp(&b.1));
        let labels: Vec<&str> = ticks.iter().map(|(t, _)| t.as_str()).collect();
        for want in ["1", "10000"] {
            assert!(labels.contains(&want), "{labels:?}");
        }
        assert!(ticks.len() >= 5, "{labels:?}");
        for w in ticks.windows(2) {
            let room = (tick_width(&w[0].0) + tick_width(&w[1].0)) / 2.0;
            assert!(
                w[1].1 - w[0].1 >= room,
                "{} and {} overlap: {ticks:?}",
                w[0].0,
                w[1].0
            );
        }
        assert!(text.contains("log scale"));
        // Any pair of sweep values, even labelled ones as close as 1 and 100, on either axis.
        for sweep in [
            vec![1, 100, 10_000],
            (1..=10).collect(),
            vec![1, 2, 4, 8, 16],
        ] {
            let axis = XAxis::new(&sweep);
            let kept: Vec<usize> = axis
                .ticks(&sweep)
                .into_iter()
                .filter(|t| t.1)
                .map(|t| t.0)
                .collect();
            assert_eq!(kept.last(), sweep.last());
            for w in kept.windows(2) {
                let gap = axis.x(w[1] as f64) - axis.x(w[0] as f64);
                assert!(
                    gap >= (tick_width(&w[0].to_string()) + tick_width(&w[1].to_string())) / 2.0
                );
            }
        }
    }

    #[test]
    fn the_axis_is_linear_up_to_the_span_and_the_ideal_line_follows_s_equals_n() {
        assert!(!XAxis::new(&[1, 2, 4, 8]).log);
        assert!(XAxis::new(&[1, 2, 4, 8, 16]).log);
        for report in [fixture::report(), wide_report()] {
            let text = SvgReporter.render(&report);
            let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
            assert!(doc.descendants().any(|n| n.has_tag_name("title")));
            assert!(doc.descendants().any(|n| n.has_tag_name("desc")));
            let mut sweep: Vec<usize> = report.rows.iter().map(|r| r.cores).collect();
            sweep.push(1);
            sweep.sort_unstable();
            sweep.dedup();
            let axis = XAxis::new(&sweep);
            let ideal = doc
                .descendants()
                .find(|n| {
                    n.has_tag_name("polyline") && n.attribute("stroke-dasharray") == Some("7 5")
                })
                .unwrap();
            let pts: Vec<(f64, f64)> = ideal
                .attribute("points")
                .unwrap()
                .split_whitespace()
                .map(|p| {
                    let (x, y) = p.split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect();
            assert!(pts.len() >= 2);
            let one: f64 = doc
                .descendants()
                .find(|n| n.attribute("stroke-dasharray") == Some("2 3"))
                .and_then(|n| n.attribute("y1"))
                .unwrap()
                .parse()
                .unwrap();
            // Each point's y is S = N for the N its x stands for.
            for &n in &sweep {
                let x = axis.x(n as f64);
                let seg = pts.windows(2).find(|w| w[0].0 <= x && x <= w[1].0).unwrap();
                let t = (x - seg[0].0) / (seg[1].0 - seg[0].0);
                let y = seg[0].1 + t * (seg[1].1 - seg[0].1);
                // The speedup axis runs from 0 at BOTTOM; its scale comes from the S = 1 line.
                let want = BOTTOM - n as f64 * (BOTTOM - one);
                // Within rounding, and the chord between samples on a log axis.
                assert!(
                    (y - want).abs() <= 1.0 + 0.005 * (BOTTOM - want).abs(),
                    "N = {n}: y {y} against {want}"
                );
            }
        }
    }

    #[test]
    fn the_machine_line_names_the_cpus_frequency_and_caches_without_dropping_words() {
        let mut report = fixture::report();
        report.machine.cpu_details = Some(crate::machine::CpuDetails {
            max_mhz: Some(3700.0),
            l1d_bytes: Some(32 << 10),
            l2_bytes: Some(1 << 20),
            l3_bytes: Some(32 << 20),
            ..Default::default()
        });
        let text = SvgReporter.render(&report);
        let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
        let lines: Vec<String> = texts(&doc)
            .into_iter()
            .filter(|(_, x, y)| *x == LEFT && (50.0..TOP).contains(y))
            .map(|(t, _, _)| t)
            .collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines.join(" "), report.machine.summary());
        assert!(lines[0].contains("3.70 GHz max, L1d 32 KiB, L2 1 MiB, L3 32 MiB"));
    }

    #[test]
    fn wraps_at_spaces() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("toolongword x", 4), ["toolongword", "x"]);
        assert!(wrap("", 4).is_empty());
    }

    #[test]
    fn tick_steps_are_round() {
        assert_eq!(fmt_tick(2.5), "2.5");
        assert_eq!(fmt_tick(2.0), "2");
    }
}
