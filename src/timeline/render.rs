//! Drawing a [`Timeline`]: the terminal summary and strip chart, the SVG Gantt chart, the
//! Chrome Trace Event JSON (opens in Perfetto and chrome://tracing), and the [`Document`] that
//! gives it Markdown, CSV, LaTeX and an HTML page; the [`Timeline`]'s [`Render`] picks among
//! them and lists the files of `timeline --out`.
//!
//! The helpers at the bottom (XML escaping, axis ticks, colours, the SVG frame) are shared with
//! [`super::parts`], which draws the part records of `concbench run` the same way.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::{analyze, Span, Timeline, WorkerTimeline};
use crate::report::document::{Block, Document};
use crate::report::table::{Align, Table};
use crate::report::{Format, Render};
use crate::text::{nice_step, xml_escape, STEPS_1_2_5};

/// Below this share of a CPU for the workers, the table says the machine is busy.
const BUSY_BELOW: f64 = 0.8;

/// Block characters for a column a worker ran 1/8 … 8/8 of.
const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Columns of the terminal: `$COLUMNS`, else the width of the terminal on stdout, else 100.
pub(crate) fn terminal_width() -> usize {
    if let Some(c) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
    {
        return c.clamp(40, 400);
    }
    crate::sys::terminal_columns().map_or(100, |c| c.clamp(40, 400))
}

/// Share of each of `columns` equal columns of `[from, to)` covered by `intervals`.
pub(crate) fn coverage(intervals: &[Span], from: u64, to: u64, columns: usize) -> Vec<f64> {
    let mut out = vec![0.0; columns];
    if to <= from || columns == 0 {
        return out;
    }
    let col = (to - from) as f64 / columns as f64;
    for &[a, b] in intervals {
        let (a, b) = (a.max(from), b.min(to));
        if b <= a {
            continue;
        }
        let (fa, fb) = ((a - from) as f64 / col, (b - from) as f64 / col);
        let last = (fb.ceil() as usize).min(columns);
        for (c, cell) in out.iter_mut().enumerate().take(last).skip(fa as usize) {
            let lo = fa.max(c as f64);
            let hi = fb.min(c as f64 + 1.0);
            if hi > lo {
                *cell += hi - lo;
            }
        }
    }
    out.iter_mut().for_each(|x| *x = x.min(1.0));
    out
}

/// One lane of block characters: blank where the worker did not run, `█` where it ran the whole
/// column, `▁`…`▇` where it ran part of it.
pub(crate) fn lane(shares: &[f64]) -> String {
    shares
        .iter()
        .map(|&f| {
            if f <= 0.0 {
                ' '
            } else {
                BLOCKS[((f * 8.0).ceil() as usize).clamp(1, 8) - 1]
            }
        })
        .collect()
}

fn fmt_ms(ms: Option<f64>) -> String {
    ms.map(|m| format!("{m:.2} ms"))
        .unwrap_or_else(|| "-".into())
}

fn fmt_span_ms(ns: u64) -> String {
    let ms = ns as f64 / 1e6;
    if ms >= 10.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

/// Width of the label in front of each lane.
fn lane_label(w: &WorkerTimeline) -> String {
    format!(" w{:<2} cpu{:<2} ", w.id, w.cpu)
}

/// The strip chart of `[from, to)` in `width` terminal columns, one lane per worker.
pub(crate) fn strip_chart(t: &Timeline, from: u64, to: u64, width: usize) -> String {
    let label_w = t
        .workers
        .iter()
        .map(|w| lane_label(w).chars().count())
        .max()
        .unwrap_or(10);
    let columns = width.saturating_sub(label_w + 2).max(10);
    let mut s = String::new();
    for w in &t.workers {
        let _ = writeln!(
            s,
            "{:<label_w$}▕{}▏",
            lane_label(w),
            lane(&coverage(&w.intervals, from, to, columns))
        );
    }
    if t.workers.len() > 1 {
        let all: Vec<Vec<(u64, u64)>> = t
            .workers
            .iter()
            .map(|w| w.intervals.iter().map(|&[a, b]| (a, b)).collect())
            .collect();
        let both: Vec<Span> = analyze::overlap_spans(&all)
            .into_iter()
            .map(|(a, b)| [a, b])
            .collect();
        let _ = writeln!(
            s,
            "{:<label_w$}▕{}▏",
            " ≥2 at once",
            lane(&coverage(&both, from, to, columns))
        );
    }
    s
}

/// One row per worker: where it ran, its share, its slices and why it stopped running.
pub(crate) fn worker_table(t: &Timeline) -> Table {
    use Align::*;
    let cols = [
        ("worker", Right),
        ("cpu", Right),
        ("ran", Right),
        ("slices", Right),
        ("median slice", Right),
        ("p10-p90 slice", Right),
        ("switched out", Right),
        ("invol. switches", Right),
        ("interrupt gaps (no sibling ran)", Right),
    ];
    Table {
        headers: cols.iter().map(|(h, _)| h.to_string()).collect(),
        align: cols.iter().map(|(_, a)| *a).collect(),
        rows: t
            .workers
            .iter()
            .map(|w| {
                vec![
                    w.id.to_string(),
                    w.cpu.to_string(),
                    format!("{:.1}%", w.run_share * 100.0),
                    w.slices.to_string(),
                    fmt_ms(w.median_slice_ms),
                    match (w.p10_slice_ms, w.p90_slice_ms) {
                        (Some(a), Some(b)) => format!("{a:.2}-{b:.2} ms"),
                        _ => "-".into(),
                    },
                    w.switch_gaps.to_string(),
                    w.involuntary_switches.to_string(),
                    format!("{} ({:.2} ms)", w.interrupt_gaps, w.interrupt_gap_ms),
                ]
            })
            .collect(),
    }
}

/// The whole-run figures, each a line starting with its name (`overlap`, `fairness`, `slice`,
/// `cpu N`, `method`), then any note or warning.
pub(crate) fn summary_lines(t: &Timeline) -> Vec<String> {
    let mut lines = vec![
        format!(
            "overlap   {:.1}% of the wall time had two or more workers running (about 0: taking turns; about 100%: at the same time)",
            t.overlap_share * 100.0
        ),
        format!(
            "fairness  {:.3} (Jain's index of the run shares: 1 = equal, 1/{} = one worker got everything)",
            t.fairness,
            t.workers.len()
        ),
        format!(
            "slice     observed median {}; kernel setting {}",
            fmt_ms(t.observed_slice_ms),
            t.kernel_slice.note
        ),
    ];
    for c in &t.cpus {
        lines.push(format!(
            "cpu {:<5} the workers ran {:.1}% of the wall time; the other {:.1}% went to other programs, interrupts, the kernel",
            c.cpu,
            c.workers_share * 100.0,
            (1.0 - c.workers_share).max(0.0) * 100.0
        ));
    }
    lines.push(format!(
        "method    each worker reads CLOCK_MONOTONIC after every {:.1} µs chunk of work; a gap over {:.1} µs means it did not run",
        t.chunk_ns as f64 / 1e3,
        t.gap_threshold_ns as f64 / 1e3
    ));
    if let Some(c) = t
        .cpus
        .iter()
        .filter(|c| c.workers_share < BUSY_BELOW)
        .min_by(|a, b| a.workers_share.total_cmp(&b.workers_share))
    {
        lines.push(format!(
            "note      this machine is busy: other programs took {:.0}% of cpu {}, so the workers ran less than the picture of an idle machine shows; try again when it is quieter",
            (1.0 - c.workers_share) * 100.0,
            c.cpu
        ));
    }
    if t.workers.iter().any(|w| w.truncated) {
        lines.push(
            "warning   a worker's gap buffer filled up: it stopped recording early (truncated)"
                .into(),
        );
    }
    if t.workers.iter().any(|w| w.cpu_seen != w.cpu) {
        lines.push("warning   a worker finished on another CPU than it was pinned to".into());
    }
    if t.oversubscribed {
        lines.push(format!(
            "oversubscribed: {} workers on {} physical core(s); workers that share a core take turns",
            t.workers.len(),
            t.physical_cores
        ));
    }
    lines
}

impl Render for Timeline {
    /// Terminal: the summary table and strip charts at the terminal's width (`table`,
    /// `terminal_width`); JSON: the whole timeline, pretty-printed (`timeline.json`);
    /// Markdown, CSV and LaTeX: its `document`.
    fn render(&self, format: Format) -> String {
        match format {
            Format::Terminal => table(self, terminal_width()),
            Format::Json => crate::report::json::pretty(self),
            Format::Markdown => document(self).to_markdown(),
            Format::Csv => document(self).to_csv(),
            Format::Latex => document(self).to_latex(),
        }
    }

    /// `timeline.json`, `trace.json` (Chrome trace, opens in Perfetto), then the document's
    /// files: `timeline.md`, `timeline.tex`, `workers.csv`, `timeline.svg` (the Gantt chart)
    /// and `report.html`.
    fn files(&self) -> Vec<(String, String)> {
        let mut files = vec![
            (
                "timeline.json".to_string(),
                crate::report::json::pretty(self),
            ),
            ("trace.json".to_string(), trace(self)),
        ];
        files.extend(document(self).files("timeline"));
        files
    }
}

/// The timeline laid out for Markdown, CSV, LaTeX and the HTML page: what was run, the worker
/// table, the whole-run figures and the Gantt chart (`timeline.svg`).
pub(crate) fn document(t: &Timeline) -> Document {
    let mut doc = Document::new(format!("concbench timeline: {}", t.headline()));
    doc.push(Block::Facts(vec![
        ("machine".into(), t.machine.summary()),
        ("date".into(), t.machine.date.clone()),
        ("command".into(), t.machine.command.clone()),
        ("recorded".into(), format!("{} ms", t.duration_ms)),
    ]))
    .push(Block::Table {
        id: "workers".into(),
        caption: "When each worker ran: its share of the wall time, its slices and the gaps between them".into(),
        table: worker_table(t),
    })
    .push(Block::Notes(summary_lines(t)))
    .push(Block::Figure {
        file: "timeline.svg".into(),
        alt: format!(
            "Gantt chart of {}: one lane per worker coloured by CPU, over the whole run and a zoom on its start",
            t.headline()
        ),
        svg: svg(t),
    });
    doc
}

/// The terminal output: what was run, a table per worker, the whole-run figures, and strip charts
/// of the whole run and of its first milliseconds (where single slices are visible).
pub(crate) fn table(t: &Timeline, width: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "concbench timeline: {}, {} ms, {}",
        t.headline(),
        t.duration_ms,
        t.machine.cpu_description()
    );
    let _ = writeln!(s);
    s.push_str(&worker_table(t).to_terminal());
    let _ = writeln!(s);
    for line in summary_lines(t) {
        if !line.starts_with("oversubscribed") {
            let _ = writeln!(s, "{line}");
        }
    }
    let columns = width.saturating_sub(14).max(10) as u64;
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "whole run, 0 to {}, {:.2} ms per column:",
        fmt_span_ms(t.wall_ns),
        t.wall_ns as f64 / columns as f64 / 1e6
    );
    s.push_str(&strip_chart(t, 0, t.wall_ns, width));
    // The same window as the SVG's zoomed panel (one definition: zoom_window).
    let zoom = zoom_window(t);
    if zoom < t.wall_ns {
        let _ = writeln!(
            s,
            "zoom, first {}, {:.2} ms per column:",
            fmt_span_ms(zoom),
            zoom as f64 / columns as f64 / 1e6
        );
        s.push_str(&strip_chart(t, 0, zoom, width));
    }
    let _ = writeln!(
        s,
        "key: █ ran the whole column, ▁▂▃▄▅▆▇ ran part of it, blank: did not run; ≥2 at once: two or more workers running"
    );
    // Said last, under the charts it explains.
    for line in summary_lines(t) {
        if line.starts_with("oversubscribed") {
            let _ = writeln!(s, "{line}");
        }
    }
    s
}

/// Time window of the SVG's zoomed panel: about four turns of every worker when they take
/// turns, else 20 ms.
fn zoom_window(t: &Timeline) -> u64 {
    let per_turn = t.observed_slice_ms.map(|m| (m * 1e6) as u64).unwrap_or(0);
    let want = if per_turn > 0 {
        (per_turn * t.workers.len() as u64 * 4).clamp(10_000_000, 100_000_000)
    } else {
        20_000_000
    };
    want.min(t.wall_ns)
}

/// The SVG Gantt chart: one lane per worker coloured by CPU, switch gaps hatched, interrupt gaps
/// marked in red, over the whole run and a zoom on its start; legend and axis labels included.
pub(crate) fn svg(t: &Timeline) -> String {
    let mut f = SvgFrame::new();
    let title = format!("concbench timeline: {}", t.headline());
    let slice = match t.observed_slice_ms {
        Some(m) => format!(
            "median slice {m:.2} ms (kernel setting: {})",
            t.kernel_slice
                .ns
                .map(|n| format!("{:.2} ms", n as f64 / 1e6))
                .unwrap_or_else(|| "not readable".into())
        ),
        None => "no worker was switched out for another".into(),
    };
    let sub = format!(
        "{} ms on {} · overlap {:.1}% (share of time with two or more running) · fairness {:.3} · {slice}",
        t.duration_ms,
        t.machine.cpu_description(),
        t.overlap_share * 100.0,
        t.fairness,
    );
    f.title(&title, &sub);
    let mut lanes: Vec<Lane> = t
        .workers
        .iter()
        .map(|w| Lane {
            label: format!("worker {} · cpu {}", w.id, w.cpu),
            right: format!("ran {:.0}%", w.run_share * 100.0),
            bars: w
                .intervals
                .iter()
                .map(|&[a, b]| Bar {
                    start: a,
                    end: b,
                    fill: cpu_colour(w.cpu).into(),
                    text: None,
                })
                .collect(),
            hatched: switch_spans(t, w),
            marks: w.interrupt_gap_spans.clone(),
        })
        .collect();
    let any_switch = lanes.iter().any(|l| !l.hatched.is_empty());
    if t.workers.len() > 1 {
        let all: Vec<Vec<(u64, u64)>> = t
            .workers
            .iter()
            .map(|w| w.intervals.iter().map(|&[a, b]| (a, b)).collect())
            .collect();
        lanes.push(Lane {
            label: "two or more at once".into(),
            right: format!("overlap {:.0}%", t.overlap_share * 100.0),
            bars: analyze::overlap_spans(&all)
                .into_iter()
                .map(|(a, b)| Bar {
                    start: a,
                    end: b,
                    fill: OVERLAP_COLOUR.into(),
                    text: None,
                })
                .collect(),
            hatched: Vec::new(),
            marks: Vec::new(),
        });
    }
    f.panel(
        &format!("Whole run (0 to {})", fmt_span_ms(t.wall_ns)),
        &lanes,
        0,
        t.wall_ns,
    );
    let zoom = zoom_window(t);
    if zoom < t.wall_ns {
        f.panel(
            &format!(
                "Zoom on the first {}: each bar is one stretch of running",
                fmt_span_ms(zoom)
            ),
            &lanes,
            0,
            zoom,
        );
    }
    let mut cpus: Vec<usize> = t.workers.iter().map(|w| w.cpu).collect();
    cpus.sort_unstable();
    cpus.dedup();
    let mut legend: Vec<LegendItem> = cpus
        .iter()
        .map(|&c| LegendItem::Swatch(cpu_colour(c).into(), format!("running on cpu {c}")))
        .collect();
    if any_switch {
        legend.push(LegendItem::Hatch(
            "switched out: a sibling worker is running on its CPU".into(),
        ));
    }
    if t.workers.len() > 1 {
        legend.push(LegendItem::Swatch(
            OVERLAP_COLOUR.into(),
            "two or more workers running at the same time".into(),
        ));
    }
    legend.push(LegendItem::Mark(format!(
        "not running and no sibling was (another program, an interrupt, the hypervisor), gaps over {:.1} µs",
        t.gap_threshold_ns as f64 / 1e3
    )));
    f.legend(&legend);
    let shares: Vec<String> = t
        .cpus
        .iter()
        .map(|c| format!("cpu {} {:.0}%", c.cpu, c.workers_share * 100.0))
        .collect();
    f.note(&format!(
        "The workers had {} of the wall time; plain grey in a lane is time none of them ran on that CPU: other programs, interrupts, the kernel.{}",
        shares.join(", "),
        if t.cpus.iter().any(|c| c.workers_share < BUSY_BELOW) {
            " This machine was busy while recording, so the workers ran less than on an idle machine."
        } else {
            ""
        }
    ));
    f.note(&format!(
        "Each worker spins in chunks of about {:.1} µs and reads CLOCK_MONOTONIC after each; a longer gap between readings means it was not running. \
         Overlap = share of the time with two or more workers running.",
        t.chunk_ns as f64 / 1e3
    ));
    f.finish()
}

/// Where a worker was switched out for a sibling: the parts of its time off the CPU (between its
/// intervals, before its first and after its last, interrupt gaps excluded) during which a
/// sibling on its CPU was running.
fn switch_spans(t: &Timeline, w: &WorkerTimeline) -> Vec<Span> {
    let siblings: Vec<(u64, u64)> = t
        .workers
        .iter()
        .filter(|o| o.id != w.id && o.cpu == w.cpu)
        .flat_map(|o| o.intervals.iter().map(|&[a, b]| (a, b)))
        .collect();
    let siblings = analyze::merge(&siblings);
    let interrupts: std::collections::HashSet<u64> =
        w.interrupt_gap_spans.iter().map(|s| s[0]).collect();
    let mut off: Vec<(u64, u64)> = w
        .intervals
        .windows(2)
        .map(|p| (p[0][1], p[1][0]))
        .filter(|&(a, _)| !interrupts.contains(&a))
        .collect();
    match (w.intervals.first(), w.intervals.last()) {
        (Some(f), Some(l)) => {
            off.insert(0, (0, f[0]));
            off.push((l[1], t.wall_ns));
        }
        _ => off.push((0, t.wall_ns)),
    }
    off.into_iter()
        .flat_map(|(a, b)| analyze::intersect(&siblings, a, b))
        .map(|(a, b)| [a, b])
        .collect()
}

/// The Chrome Trace Event document: one complete ("X") event per run interval, one per
/// interrupt gap, pid/tid per worker and metadata naming them. Timestamps in µs from the common
/// start.
pub(crate) fn trace(t: &Timeline) -> String {
    let me = std::process::id();
    let mut events: Vec<Value> = Vec::new();
    let process_kind = t.kind == "process";
    if !process_kind {
        events.push(
            json!({"name": "process_name", "ph": "M", "pid": me, "tid": 0,
            "args": {"name": format!("concbench timeline: {}", t.headline())}}),
        );
    }
    for w in &t.workers {
        let (pid, tid) = if process_kind {
            (w.os_id, w.os_id)
        } else {
            (me, w.os_id)
        };
        let name = format!("worker {} (cpu {})", w.id, w.cpu);
        if process_kind {
            events.push(
                json!({"name": "process_name", "ph": "M", "pid": pid, "tid": tid,
                "args": {"name": name}}),
            );
            events.push(
                json!({"name": "process_sort_index", "ph": "M", "pid": pid, "tid": tid,
                "args": {"sort_index": w.id}}),
            );
        }
        events.push(
            json!({"name": "thread_name", "ph": "M", "pid": pid, "tid": tid,
            "args": {"name": name}}),
        );
        events.push(
            json!({"name": "thread_sort_index", "ph": "M", "pid": pid, "tid": tid,
            "args": {"sort_index": w.id}}),
        );
        for &[a, b] in &w.intervals {
            events.push(
                json!({"name": format!("running on cpu {}", w.cpu), "cat": "run",
                "ph": "X", "ts": us(a), "dur": us(b - a), "pid": pid, "tid": tid,
                "args": {"worker": w.id, "cpu": w.cpu}}),
            );
        }
        for &[a, b] in &w.interrupt_gap_spans {
            events.push(
                json!({"name": "interrupt gap (no sibling ran)", "cat": "gap",
                "ph": "X", "ts": us(a), "dur": us(b - a), "pid": pid, "tid": tid,
                "args": {"worker": w.id}}),
            );
        }
    }
    let doc = json!({
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {
            "tool": "concbench timeline",
            "what": t.headline(),
            "placement": t.placement,
            "kind": t.kind,
            "wall_ns": t.wall_ns,
            "overlap_share": t.overlap_share,
            "fairness": t.fairness,
            "cpu": t.machine.cpu_model,
            "time_origin": "the workers' common start (CLOCK_MONOTONIC)",
        },
    });
    serde_json::to_string(&doc).expect("trace serializes")
}

/// Nanoseconds as trace microseconds.
pub(crate) fn us(ns: u64) -> f64 {
    ns as f64 / 1e3
}

// ---- shared SVG helpers ----------------------------------------------------------------------

/// Colours per CPU (no red: red marks interrupt gaps).
const CPU_COLOURS: [&str; 8] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#ff9da7",
];

/// The colour CPU `cpu` is drawn in.
pub(crate) fn cpu_colour(cpu: usize) -> &'static str {
    CPU_COLOURS[cpu % CPU_COLOURS.len()]
}

/// A filled bar in a lane.
pub(crate) struct Bar {
    pub start: u64,
    pub end: u64,
    pub fill: String,
    pub text: Option<String>,
}

/// One lane of a Gantt panel.
pub(crate) struct Lane {
    pub label: String,
    pub right: String,
    pub bars: Vec<Bar>,
    /// Hatched spans (switched out, or waiting).
    pub hatched: Vec<Span>,
    /// Red marks under the lane (interrupt gaps).
    pub marks: Vec<Span>,
}

/// A legend entry.
pub(crate) enum LegendItem {
    Swatch(String, String),
    Hatch(String),
    Mark(String),
}

pub(crate) const SVG_W: f64 = 1200.0;
const LEFT: f64 = 170.0;
const RIGHT: f64 = 116.0;
const LANE_H: f64 = 22.0;
const LANE_GAP: f64 = 12.0;
const MARK_RED: &str = "#d62728";
const OVERLAP_COLOUR: &str = "#333333";

/// An SVG document laid out top to bottom.
pub(crate) struct SvgFrame {
    body: String,
    y: f64,
    /// Title of the time axis of every panel.
    pub axis_title: String,
    /// The text alternative: the title and its subtitle, written as `<title>` and `<desc>`.
    alt: Option<(String, String)>,
}

impl SvgFrame {
    pub fn new() -> SvgFrame {
        SvgFrame {
            body: String::new(),
            y: 10.0,
            axis_title: "time since the common start (ms)".into(),
            alt: None,
        }
    }

    /// The picture's title and subtitle, drawn at the top and kept as its text alternative
    /// (`<title>`, `<desc>`).
    pub fn title(&mut self, title: &str, sub: &str) {
        self.alt
            .get_or_insert_with(|| (title.to_string(), sub.to_string()));
        let _ = write!(
            self.body,
            r##"<text x="16" y="{:.1}" font-size="17" font-weight="bold">{}</text><text x="16" y="{:.1}" font-size="12.5" fill="#333">{}</text>"##,
            self.y + 18.0,
            xml_escape(title),
            self.y + 38.0,
            xml_escape(sub)
        );
        self.y += 56.0;
    }

    /// A panel of `lanes` over the time window `[from, to)` ns, with its own axis.
    pub fn panel(&mut self, heading: &str, lanes: &[Lane], from: u64, to: u64) {
        let plot_w = SVG_W - LEFT - RIGHT;
        let span = (to.max(from + 1) - from) as f64;
        let x = |t: u64| LEFT + (t.saturating_sub(from) as f64 / span).min(1.0) * plot_w;
        let _ = write!(
            self.body,
            r#"<text x="16" y="{:.1}" font-size="14" font-weight="bold">{}</text>"#,
            self.y + 16.0,
            xml_escape(heading)
        );
        self.y += 26.0;
        let top = self.y;
        for lane in lanes {
            let y = self.y;
            let _ = write!(
                self.body,
                r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="end">{}</text><rect x="{LEFT}" y="{y:.1}" width="{plot_w:.1}" height="{LANE_H}" fill="#f6f6f6" stroke="#ccc" stroke-width="0.5"/>"##,
                LEFT - 8.0,
                y + LANE_H * 0.68,
                xml_escape(&lane.label)
            );
            for h in lane.hatched.iter().filter(|h| h[1] > from && h[0] < to) {
                let (x0, x1) = (x(h[0]), x(h[1]));
                let _ = write!(
                    self.body,
                    r#"<rect x="{x0:.2}" y="{y:.1}" width="{:.2}" height="{LANE_H}" fill="url(#hatch)"/>"#,
                    (x1 - x0).max(0.3)
                );
            }
            for b in lane.bars.iter().filter(|b| b.end >= from && b.start < to) {
                let (x0, x1) = (x(b.start), x(b.end));
                let _ = write!(
                    self.body,
                    r#"<rect x="{x0:.2}" y="{:.1}" width="{:.2}" height="{:.1}" fill="{}"/>"#,
                    y + 1.0,
                    (x1 - x0).max(0.4),
                    LANE_H - 2.0,
                    b.fill
                );
                if let Some(text) = &b.text {
                    if x1 - x0 > 7.0 * text.chars().count() as f64 {
                        let _ = write!(
                            self.body,
                            r#"<text x="{:.1}" y="{:.1}" font-size="11" fill="white" text-anchor="middle">{}</text>"#,
                            (x0 + x1) / 2.0,
                            y + LANE_H * 0.68,
                            xml_escape(text)
                        );
                    }
                }
            }
            for m in lane.marks.iter().filter(|m| m[1] > from && m[0] < to) {
                let (x0, x1) = (x(m[0]), x(m[1]));
                let _ = write!(
                    self.body,
                    r#"<rect x="{:.2}" y="{:.1}" width="{:.2}" height="5" fill="{MARK_RED}"/>"#,
                    x0,
                    y + LANE_H + 1.0,
                    (x1 - x0).max(1.0)
                );
            }
            let _ = write!(
                self.body,
                r#"<text x="{:.1}" y="{:.1}" font-size="12">{}</text>"#,
                LEFT + plot_w + 8.0,
                y + LANE_H * 0.68,
                xml_escape(&lane.right)
            );
            self.y += LANE_H + LANE_GAP;
        }
        // Axis: ticks in ms from `from`.
        let axis_y = self.y;
        let span_ms = span / 1e6;
        let step = nice_step(span_ms / 10.0, STEPS_1_2_5);
        let _ = write!(
            self.body,
            r##"<line x1="{LEFT}" y1="{axis_y:.1}" x2="{:.1}" y2="{axis_y:.1}" stroke="#333"/>"##,
            LEFT + plot_w
        );
        let mut k = 0.0;
        while k <= span_ms + 1e-9 {
            let tx = LEFT + k / span_ms * plot_w;
            let label = if step < 1.0 {
                format!("{:.1}", from as f64 / 1e6 + k)
            } else {
                format!("{:.0}", from as f64 / 1e6 + k)
            };
            let _ = write!(
                self.body,
                r##"<line x1="{tx:.1}" y1="{top:.1}" x2="{tx:.1}" y2="{:.1}" stroke="#000" stroke-opacity="0.08"/><line x1="{tx:.1}" y1="{axis_y:.1}" x2="{tx:.1}" y2="{:.1}" stroke="#333"/><text x="{tx:.1}" y="{:.1}" font-size="11" text-anchor="middle">{label}</text>"##,
                axis_y,
                axis_y + 5.0,
                axis_y + 18.0
            );
            k += step;
        }
        let _ = write!(
            self.body,
            r#"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle">{}</text>"#,
            LEFT + plot_w / 2.0,
            axis_y + 36.0,
            xml_escape(&self.axis_title)
        );
        self.y = axis_y + 52.0;
    }

    pub fn legend(&mut self, items: &[LegendItem]) {
        let mut x = 16.0;
        for item in items {
            let text = match item {
                LegendItem::Swatch(_, t) | LegendItem::Hatch(t) | LegendItem::Mark(t) => t,
            };
            let width = 34.0 + 6.7 * text.chars().count() as f64;
            if x + width > SVG_W - 10.0 && x > 16.0 {
                self.y += 20.0;
                x = 16.0;
            }
            let y = self.y;
            let _ = match item {
                LegendItem::Swatch(c, _) => write!(
                    self.body,
                    r#"<rect x="{x:.1}" y="{y:.1}" width="18" height="12" fill="{c}"/>"#
                ),
                LegendItem::Hatch(_) => write!(
                    self.body,
                    r##"<rect x="{x:.1}" y="{y:.1}" width="18" height="12" fill="url(#hatch)" stroke="#999" stroke-width="0.5"/>"##
                ),
                LegendItem::Mark(_) => write!(
                    self.body,
                    r#"<rect x="{x:.1}" y="{:.1}" width="18" height="5" fill="{MARK_RED}"/>"#,
                    y + 7.0
                ),
            };
            let _ = write!(
                self.body,
                r#"<text x="{:.1}" y="{:.1}" font-size="12">{}</text>"#,
                x + 24.0,
                y + 10.5,
                xml_escape(text)
            );
            x += width;
        }
        self.y += 24.0;
    }

    pub fn note(&mut self, text: &str) {
        // Wrap at about 170 characters.
        let mut line = String::new();
        for word in text.split_whitespace() {
            if line.len() + word.len() > 170 {
                self.note_line(&line);
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() {
            self.note_line(&line);
        }
    }

    fn note_line(&mut self, line: &str) {
        let _ = write!(
            self.body,
            r##"<text x="16" y="{:.1}" font-size="11.5" fill="#444">{}</text>"##,
            self.y + 12.0,
            xml_escape(line)
        );
        self.y += 16.0;
    }

    pub fn finish(self) -> String {
        let h = self.y + 12.0;
        let alt = self
            .alt
            .as_ref()
            .map(|(t, d)| {
                format!(
                    "<title>{}</title><desc>{}</desc>\n",
                    xml_escape(t),
                    xml_escape(d)
                )
            })
            .unwrap_or_default();
        format!(
            r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{SVG_W}" height="{h:.0}" viewBox="0 0 {SVG_W} {h:.0}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
{alt}<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#e4e4e4"/><line x1="0" y1="0" x2="0" y2="6" stroke="#9a9a9a" stroke-width="2"/></pattern></defs>
<rect width="100%" height="100%" fill="white"/>
{}
</svg>
"##,
            self.body
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_splits_intervals_over_columns() {
        let c = coverage(&[[0, 15], [30, 40]], 0, 40, 4);
        assert_eq!(c, vec![1.0, 0.5, 0.0, 1.0]);
        assert_eq!(lane(&c), "█▄ █");
        assert_eq!(lane(&[0.01]), "▁");
        assert_eq!(coverage(&[[50, 60]], 0, 40, 4), vec![0.0; 4]);
    }

    #[test]
    fn a_titled_frame_keeps_a_text_alternative() {
        let mut f = SvgFrame::new();
        f.title("two <workers>", "on one core & more");
        let svg = f.finish();
        let doc = roxmltree::Document::parse(&svg).expect("well-formed SVG");
        let text = |tag: &str| {
            doc.descendants()
                .find(|n| n.has_tag_name(tag))
                .and_then(|n| n.text())
                .map(str::to_string)
        };
        assert_eq!(text("title").as_deref(), Some("two <workers>"));
        assert_eq!(text("desc").as_deref(), Some("on one core & more"));
    }

    #[test]
    fn escaping() {
        assert_eq!(xml_escape("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
    }
}
