//! The run's other pictures, beside `speedup.svg`: efficiency against workers
//! (`efficiency.svg`), where the time went (`phases.svg`: each row's median phases, stacked) and
//! every repetition's time against its row's median (`repetitions.svg`: a noisy minute shows as
//! a spike). Drawn in the same frame, colours and markers as [`super::svg`]; every value drawn
//! is a field of `results.json` (`efficiency`, `phases`, `samples_s`, `median_s`).

use std::fmt::Write as _;

use super::svg::{
    fmt_tick, legend_entry, marker, style, XAxis, BOTTOM, FONT, HEIGHT, LEFT, LEGEND_X, RIGHT, TOP,
    WIDTH,
};
use super::{workload_label, RunReport};
use crate::analysis::Row;
use crate::strategy::Strategy;
use crate::text::{nice_step, xml_escape, STEPS_1_2_25_5};

/// One picture: its file name, what it shows in words, and the SVG.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    /// File name in the result set.
    pub file: &'static str,
    /// The text alternative (and caption).
    pub(crate) alt: String,
    /// The SVG document.
    pub svg: String,
}

/// The pictures of `report` that have something to show: efficiency (rows with an efficiency),
/// phases (rows with timed phases) and repetitions (rows with two or more samples).
pub fn plots(report: &RunReport) -> Vec<Plot> {
    let mut out = Vec::new();
    if report.rows.iter().any(|r| r.efficiency.is_some()) {
        out.push(Plot {
            file: "efficiency.svg",
            alt: format!(
                "Efficiency (speedup / workers) against workers for {}, one line per strategy; 1 is perfect scaling",
                workload_label(&report.workload)
            ),
            svg: efficiency(report),
        });
    }
    if report.rows.iter().any(|r| r.phases.total() > 0.0) {
        out.push(Plot {
            file: "phases.svg",
            alt: format!(
                "Where the time went for {}: each row's median spawn, set-up, compute and combine phases, stacked",
                workload_label(&report.workload)
            ),
            svg: phases(report),
        });
    }
    if report.rows.iter().any(|r| r.samples_s.len() >= 2) {
        out.push(Plot {
            file: "repetitions.svg",
            alt: format!(
                "Every repetition's time divided by its row's median, in the order they ran, one line per row of {}",
                workload_label(&report.workload)
            ),
            svg: repetitions(report),
        });
    }
    out
}

fn open(o: &mut String, height: f64, title: &str, subtitle: &str) {
    let _ = writeln!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" font-family=\"{FONT}\">"
    );
    let _ = writeln!(o, "<title>{}</title>", xml_escape(title));
    let _ = writeln!(
        o,
        "<rect width=\"{WIDTH}\" height=\"{height}\" fill=\"#ffffff\"/>"
    );
    let _ = writeln!(
        o,
        "<text x=\"{LEFT}\" y=\"28\" font-size=\"16\" font-weight=\"bold\" fill=\"#222222\">{}</text>",
        xml_escape(title)
    );
    let _ = writeln!(
        o,
        "<text x=\"{LEFT}\" y=\"48\" font-size=\"12\" fill=\"#444444\">{}</text>",
        xml_escape(subtitle)
    );
}

/// Horizontal grid lines and labels of a y axis from 0 (or `lo`) to `hi`, about five steps.
fn y_grid(o: &mut String, lo: f64, hi: f64, sy: &dyn Fn(f64) -> f64, label: &str) {
    let step = nice_step((hi - lo) / 5.0, STEPS_1_2_25_5);
    let mut v = (lo / step).ceil() * step;
    while v <= hi + 1e-9 {
        let y = sy(v);
        let _ = writeln!(
            o,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{RIGHT}\" y2=\"{y:.1}\" stroke=\"#e4e4e4\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\" fill=\"#222222\">{}</text>",
            LEFT - 8.0,
            y + 4.0,
            fmt_tick(v)
        );
        v += step;
    }
    let _ = writeln!(
        o,
        "<text transform=\"translate(24,{:.1}) rotate(-90)\" font-size=\"13\" text-anchor=\"middle\" fill=\"#222222\">{}</text>",
        (TOP + BOTTOM) / 2.0,
        xml_escape(label)
    );
    let _ = writeln!(
        o,
        "<path d=\"M{LEFT},{TOP} V{BOTTOM} H{RIGHT}\" fill=\"none\" stroke=\"#222222\" stroke-width=\"1.2\"/>"
    );
}

fn legend_strategies(o: &mut String, strategies: &[Strategy], mut ly: f64) -> f64 {
    let _ = writeln!(
        o,
        "<text x=\"{LEGEND_X}\" y=\"{ly:.1}\" font-size=\"13\" font-weight=\"bold\" fill=\"#222222\">strategy</text>"
    );
    ly += 22.0;
    for &st in strategies {
        let (color, m) = style(st);
        let _ = writeln!(o, "{}", legend_entry(ly, color, m, st.name()));
        ly += 22.0;
    }
    ly
}

fn strategies_of<'a>(rows: impl Iterator<Item = &'a Row>) -> Vec<Strategy> {
    let mut v: Vec<Strategy> = rows.map(|r| r.strategy).collect();
    v.sort();
    v.dedup();
    v
}

/// `efficiency.svg`: efficiency = speedup / workers against workers, a line per strategy, the
/// ideal 1 dashed.
pub fn efficiency(report: &RunReport) -> String {
    let rows: Vec<&Row> = report
        .rows
        .iter()
        .filter(|r| r.efficiency.is_some_and(f64::is_finite))
        .collect();
    let mut sweep: Vec<usize> = rows.iter().map(|r| r.cores).collect();
    sweep.push(1);
    sweep.sort_unstable();
    sweep.dedup();
    let axis = XAxis::new(&sweep);
    let hi = rows
        .iter()
        .filter_map(|r| r.efficiency)
        .fold(1.0f64, f64::max)
        * 1.1;
    let sy = |v: f64| BOTTOM - v / hi * (BOTTOM - TOP);
    let mut o = String::new();
    open(
        &mut o,
        HEIGHT,
        &format!("Efficiency: {}", workload_label(&report.workload)),
        &format!(
            "efficiency = speedup / workers; {}",
            report.machine.cpu_description()
        ),
    );
    y_grid(
        &mut o,
        0.0,
        hi,
        &sy,
        "efficiency (1 = N workers, N times faster)",
    );
    for (c, labelled) in axis.ticks(&sweep) {
        let x = axis.x(c as f64);
        let _ = writeln!(
            o,
            "<line x1=\"{x:.1}\" y1=\"{BOTTOM}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#222222\"/>",
            BOTTOM + 5.0
        );
        if labelled {
            let _ = writeln!(
                o,
                "<text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\" fill=\"#222222\">{c}</text>",
                BOTTOM + 20.0
            );
        }
    }
    let _ = writeln!(
        o,
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" text-anchor=\"middle\" fill=\"#222222\">workers N{}</text>",
        (LEFT + RIGHT) / 2.0,
        BOTTOM + 40.0,
        if axis.log { ", log scale" } else { "" }
    );
    let _ = writeln!(
        o,
        "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{RIGHT}\" y2=\"{y:.1}\" stroke=\"#888888\" stroke-width=\"1.4\" stroke-dasharray=\"7 5\"/>",
        y = sy(1.0)
    );
    let strategies = strategies_of(rows.iter().copied());
    for &st in &strategies {
        let (color, m) = style(st);
        let mut pts: Vec<&&Row> = rows.iter().filter(|r| r.strategy == st).collect();
        pts.sort_by_key(|r| r.cores);
        let path: Vec<String> = pts
            .iter()
            .map(|r| {
                format!(
                    "{:.1},{:.1}",
                    axis.x(r.cores as f64),
                    sy(r.efficiency.unwrap_or(0.0))
                )
            })
            .collect();
        if path.len() > 1 {
            let _ = writeln!(
                o,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2.2\"/>",
                path.join(" ")
            );
        }
        for r in pts {
            let _ = writeln!(
                o,
                "{}",
                marker(
                    m,
                    axis.x(r.cores as f64),
                    sy(r.efficiency.unwrap_or(0.0)),
                    color
                )
            );
        }
    }
    let ly = legend_strategies(&mut o, &strategies, TOP + 6.0);
    let _ = writeln!(
        o,
        "<line x1=\"{LEGEND_X}\" y1=\"{ly:.1}\" x2=\"{:.1}\" y2=\"{ly:.1}\" stroke=\"#888888\" stroke-width=\"1.4\" stroke-dasharray=\"7 5\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#222222\">ideal: 1</text>",
        LEGEND_X + 28.0,
        LEGEND_X + 36.0,
        ly + 4.0
    );
    o.push_str("</svg>\n");
    o
}

/// The phases drawn, in order, with their colours and names.
const PHASES: [(&str, &str); 4] = [
    ("#999999", "spawn"),
    ("#E69F00", "set-up"),
    ("#0072B2", "compute"),
    ("#D55E00", "combine"),
];

/// A row's label: `multi-threaded x4`.
fn row_label(r: &Row) -> String {
    if r.strategy.is_sequential() {
        r.strategy.name().to_string()
    } else {
        format!("{} x{}", r.strategy.name(), r.cores)
    }
}

/// `phases.svg`: a horizontal bar per row, its median phases stacked (spawn, set-up, compute,
/// combine), on one time axis.
pub fn phases(report: &RunReport) -> String {
    let rows: Vec<&Row> = report.rows.iter().collect();
    let bar = 18.0;
    let gap = 8.0;
    let plot_left = 230.0;
    let plot_right = RIGHT + 40.0;
    let top = TOP + 24.0;
    let height = top + rows.len() as f64 * (bar + gap) + 70.0;
    let hi = rows
        .iter()
        .map(|r| r.phases.total())
        .fold(0.0f64, f64::max)
        .max(1e-9)
        * 1.05;
    let sx = |s: f64| plot_left + s / hi * (plot_right - plot_left);
    let (scale, unit) = seconds_unit(hi);
    let mut o = String::new();
    open(
        &mut o,
        height,
        &format!("Where the time went: {}", workload_label(&report.workload)),
        "median of each phase over the repetitions; the bar's length is the row's wall time",
    );
    // Legend across the top.
    let mut lx = plot_left;
    for (color, name) in PHASES {
        let _ = writeln!(
            o,
            "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"14\" height=\"12\" fill=\"{color}\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#222222\">{name}</text>",
            TOP - 14.0,
            lx + 20.0,
            TOP - 3.0
        );
        lx += 100.0;
    }
    let bottom = top + rows.len() as f64 * (bar + gap);
    let step = nice_step(hi / 5.0, STEPS_1_2_25_5);
    let mut v = 0.0;
    while v <= hi + 1e-12 {
        let x = sx(v);
        let _ = writeln!(
            o,
            "<line x1=\"{x:.1}\" y1=\"{top:.1}\" x2=\"{x:.1}\" y2=\"{bottom:.1}\" stroke=\"#e4e4e4\"/><text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\" fill=\"#222222\">{}</text>",
            bottom + 18.0,
            fmt_tick(v * scale)
        );
        v += step;
    }
    let _ = writeln!(
        o,
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" text-anchor=\"middle\" fill=\"#222222\">time ({unit})</text>",
        (plot_left + plot_right) / 2.0,
        bottom + 40.0
    );
    for (i, r) in rows.iter().enumerate() {
        let y = top + i as f64 * (bar + gap);
        let _ = writeln!(
            o,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\" fill=\"#222222\">{}</text>",
            plot_left - 8.0,
            y + bar * 0.7,
            xml_escape(&row_label(r))
        );
        let p = &r.phases;
        let mut x0 = 0.0;
        for ((color, name), v) in
            PHASES
                .iter()
                .zip([p.spawn_s, p.setup_s, p.compute_s, p.combine_s])
        {
            if v > 0.0 {
                let _ = writeln!(
                    o,
                    "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bar}\" fill=\"{color}\"><title>{}: {name} {} {unit}</title></rect>",
                    sx(x0),
                    (sx(x0 + v) - sx(x0)).max(0.5),
                    xml_escape(&row_label(r)),
                    fmt_tick(v * scale)
                );
            }
            x0 += v;
        }
    }
    let _ = writeln!(
        o,
        "<path d=\"M{plot_left},{top:.1} V{bottom:.1} H{plot_right}\" fill=\"none\" stroke=\"#222222\" stroke-width=\"1.2\"/>"
    );
    o.push_str("</svg>\n");
    o
}

/// The unit in which `max_s` seconds reads best: (factor, unit).
fn seconds_unit(max_s: f64) -> (f64, &'static str) {
    if max_s >= 1.0 {
        (1.0, "s")
    } else if max_s >= 1e-3 {
        (1e3, "ms")
    } else {
        (1e6, "µs")
    }
}

/// `repetitions.svg`: each repetition's time / its row's median, in the order they ran, one
/// line per row coloured by strategy. Rows agree when the lines stay near 1; a spike in one
/// row is a disturbed repetition, a spike in all at the same index a disturbed minute.
pub fn repetitions(report: &RunReport) -> String {
    let rows: Vec<&Row> = report
        .rows
        .iter()
        .filter(|r| r.samples_s.len() >= 2 && r.median_s > 0.0)
        .collect();
    let reps = rows.iter().map(|r| r.samples_s.len()).max().unwrap_or(2);
    let ratios = |r: &Row| -> Vec<f64> { r.samples_s.iter().map(|s| s / r.median_s).collect() };
    let (mut lo, mut hi) = (1.0f64, 1.0f64);
    for r in &rows {
        for v in ratios(r) {
            if v.is_finite() {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    let pad = ((hi - lo) * 0.08).max(0.02);
    let (lo, hi) = ((lo - pad).max(0.0), hi + pad);
    let sy = |v: f64| BOTTOM - (v - lo) / (hi - lo) * (BOTTOM - TOP);
    let sx = |i: usize| LEFT + (i as f64 + 0.5) / reps as f64 * (RIGHT - LEFT);
    let mut o = String::new();
    open(
        &mut o,
        HEIGHT,
        &format!("Every repetition: {}", workload_label(&report.workload)),
        "time of each timed repetition / its row's median, in the order they ran",
    );
    y_grid(&mut o, lo, hi, &sy, "time / row median");
    for i in 0..reps {
        let _ = writeln!(
            o,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\" fill=\"#222222\">{}</text>",
            sx(i),
            BOTTOM + 20.0,
            i + 1
        );
    }
    let _ = writeln!(
        o,
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" text-anchor=\"middle\" fill=\"#222222\">repetition</text>",
        (LEFT + RIGHT) / 2.0,
        BOTTOM + 40.0
    );
    let _ = writeln!(
        o,
        "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{RIGHT}\" y2=\"{y:.1}\" stroke=\"#555555\" stroke-dasharray=\"2 3\"/>",
        y = sy(1.0)
    );
    for r in &rows {
        let (color, m) = style(r.strategy);
        let v = ratios(r);
        let path: Vec<String> = v
            .iter()
            .enumerate()
            .map(|(i, x)| format!("{:.1},{:.1}", sx(i), sy(*x)))
            .collect();
        let _ = writeln!(
            o,
            "<g><title>{}</title><polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.2\" opacity=\"0.7\"/>",
            xml_escape(&row_label(r)),
            path.join(" ")
        );
        for (i, x) in v.iter().enumerate() {
            let _ = writeln!(o, "{}", marker(m, sx(i), sy(*x), color));
        }
        let _ = writeln!(o, "</g>");
    }
    legend_strategies(&mut o, &strategies_of(rows.iter().copied()), TOP + 6.0);
    o.push_str("</svg>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_plot_is_well_formed_and_draws_every_row() {
        let report = super::super::fixture::report();
        let plots = plots(&report);
        let names: Vec<&str> = plots.iter().map(|p| p.file).collect();
        assert_eq!(names, ["efficiency.svg", "phases.svg", "repetitions.svg"]);
        for p in &plots {
            let doc =
                roxmltree::Document::parse(&p.svg).unwrap_or_else(|e| panic!("{}: {e}", p.file));
            assert!(doc.root_element().has_tag_name("svg"));
            assert!(!p.alt.is_empty());
        }
        let phases = &plots[1].svg;
        for r in &report.rows {
            if r.phases.total() > 0.0 {
                assert!(
                    phases.contains(&xml_escape(&row_label(r))),
                    "{}",
                    row_label(r)
                );
            }
        }
        let with_samples = report
            .rows
            .iter()
            .filter(|r| r.samples_s.len() >= 2)
            .count();
        assert_eq!(plots[2].svg.matches("<polyline").count(), with_samples);
    }
}
