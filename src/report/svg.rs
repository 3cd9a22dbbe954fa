//! SVG plot (`speedup.svg`): speedup against cores, one line per strategy, written by hand.
//!
//! What a reader sees: the ideal line S = N (dashed, clipped to the plot), the sequential
//! baseline S = 1 (dotted), one coloured line with distinct markers per strategy (nudged a few
//! pixels apart sideways so equal values stay visible), an error bar per point (the bootstrap
//! 95% CI of the speedup, or the min–max range where no CI is finite), the oversubscribed
//! region shaded and labelled, axis labels, a legend, and a title naming the workload and the
//! CPU. No plotting crate: the document is plain SVG 1.1 text, well-formed XML, with every piece
//! of text escaped.

use std::fmt::Write as _;

use super::{workload_label, Reporter, RunReport};
use crate::analysis::Row;
use crate::strategy::Strategy;
use crate::text::{nice_step, xml_escape, STEPS_1_2_25_5};

/// `speedup.svg`.
#[derive(Debug, Default, Clone, Copy)]
pub struct SvgReporter;

const WIDTH: f64 = 840.0;
const HEIGHT: f64 = 520.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 610.0;
const TOP: f64 = 76.0;
const BOTTOM: f64 = 440.0;
const LEGEND_X: f64 = 630.0;
const FONT: &str = "DejaVu Sans, Helvetica, Arial, sans-serif";
/// Height of one line of a note under the footer.
const NOTE_LINE: f64 = 15.0;
/// Characters on one line of a note at 11 px (the plot's width).
const NOTE_CHARS: usize = 118;

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
fn style(s: Strategy) -> (&'static str, Marker) {
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
enum Marker {
    Circle,
    Square,
    Triangle,
    Diamond,
    /// A downward triangle: tells `single-thread-async` from multi-process's upward one.
    TriangleDown,
}

fn marker(m: Marker, x: f64, y: f64, color: &str) -> String {
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

fn fmt_tick(v: f64) -> String {
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
                .map(|r| r.strategy)
                .filter(|s| !s.is_sequential())
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

        // Scales.
        let x_max = max_cores + (max_cores * 0.06).max(0.5);
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
        let sx = |c: f64| LEFT + c / x_max * (RIGHT - LEFT);
        let sy = |s: f64| BOTTOM - s / y_max * (BOTTOM - TOP);

        let mut o = String::new();
        let title = format!(
            "{}: speedup against cores",
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
        let _ = writeln!(
            o,
            "<text x=\"{LEFT}\" y=\"52\" font-size=\"12\" fill=\"#444444\">{}</text>",
            xml_escape(&report.machine.summary())
        );

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
            let start =
                sx((last_fit.max(physical.min(first_over as f64)) + first_over as f64) / 2.0)
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
        for &c in &sweep {
            let x = sx(c as f64);
            let _ = writeln!(
                o,
                "<line x1=\"{x:.1}\" y1=\"{BOTTOM}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#222222\"/>",
                BOTTOM + 5.0
            );
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
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" text-anchor=\"middle\" fill=\"#222222\">{}</text>",
            (LEFT + RIGHT) / 2.0,
            BOTTOM + 40.0,
            if super::is_web(report) {
                "cores N (N workers serving connections at once; 1: the iterative server)"
            } else {
                "cores N (the work split into N parts run by N workers)"
            }
        );
        let _ = writeln!(
            o,
            "<text transform=\"translate(24,{:.1}) rotate(-90)\" font-size=\"13\" text-anchor=\"middle\" fill=\"#222222\">speedup S ({} median / median)</text>",
            (TOP + BOTTOM) / 2.0,
            report.method.speedup_baseline
        );

        // Reference lines.
        let _ = writeln!(o, "<g clip-path=\"url(#plot)\">");
        let _ = writeln!(
            o,
            "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#888888\" stroke-width=\"1.4\" stroke-dasharray=\"7 5\"/>",
            sx(0.0),
            sy(0.0),
            sx(x_max),
            sy(x_max)
        );
        let _ = writeln!(
            o,
            "<line x1=\"{LEFT}\" y1=\"{:.1}\" x2=\"{RIGHT}\" y2=\"{:.1}\" stroke=\"#555555\" stroke-width=\"1.2\" stroke-dasharray=\"2 3\"/>",
            sy(1.0),
            sy(1.0)
        );

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
                    let (y1, y2) = (sy(lo), sy(hi));
                    let _ = writeln!(
                        o,
                        "<path d=\"M{x:.1},{y1:.1} V{y2:.1} M{:.1},{y1:.1} H{:.1} M{:.1},{y2:.1} H{:.1}\" stroke=\"{color}\" stroke-width=\"1.3\" fill=\"none\"/>",
                        x - 3.5,
                        x + 3.5,
                        x - 3.5,
                        x + 3.5
                    );
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
            let _ = writeln!(
                o,
                "<line x1=\"{LEGEND_X}\" y1=\"{ly:.1}\" x2=\"{:.1}\" y2=\"{ly:.1}\" stroke=\"{color}\" stroke-width=\"2.2\"/>{}",
                LEGEND_X + 28.0,
                marker(m, LEGEND_X + 14.0, ly, color)
            );
            let _ = writeln!(
                o,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#222222\">{}</text>",
                LEGEND_X + 36.0,
                ly + 4.0,
                st.name()
            );
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
        let sct: Vec<String> = rows
            .iter()
            .filter(|r| r.oversubscribed && super::shares_one_core(r.strategy))
            .map(|r| format!("x{}", r.cores))
            .collect();
        if !sct.is_empty() {
            let _ = writeln!(
                o,
                "<text x=\"{LEGEND_X}\" y=\"{:.1}\" font-size=\"12\" fill=\"#222222\"><tspan x=\"{LEGEND_X}\">single-core-threaded {}:</tspan><tspan x=\"{LEGEND_X}\" dy=\"15\">N workers, N per core</tspan></text>",
                ly + 4.0,
                xml_escape(&sct.join(", "))
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
