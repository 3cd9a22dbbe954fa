//! The speedup table, laid out once and drawn for the terminal (aligned columns).
//!
//! [`speedup_table`] decides the columns and cell text; [`Table::to_terminal`] draws it. Other
//! text renderings (Markdown) reuse the same [`Table`], so the table a user sees in the terminal
//! and the one pasted into coursework say the same thing.

use super::{Reporter, RunReport};
use crate::analysis::Row;
use crate::topology::format_cpu_list;

/// Column alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    /// Left-aligned text.
    Left,
    /// Right-aligned numbers.
    Right,
}

/// A table of text cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Column headers.
    pub(crate) headers: Vec<String>,
    /// Alignment per column.
    pub(crate) align: Vec<Align>,
    /// Cells, row by row.
    pub(crate) rows: Vec<Vec<String>>,
}

impl Table {
    fn widths(&self) -> Vec<usize> {
        (0..self.headers.len())
            .map(|c| {
                self.rows
                    .iter()
                    .map(|r| r[c].chars().count())
                    .chain([self.headers[c].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect()
    }

    fn pad(cell: &str, width: usize, align: Align) -> String {
        let fill = " ".repeat(width.saturating_sub(cell.chars().count()));
        match align {
            Align::Left => format!("{cell}{fill}"),
            Align::Right => format!("{fill}{cell}"),
        }
    }

    /// Aligned columns separated by two spaces, with a rule under the header.
    pub(crate) fn to_terminal(&self) -> String {
        let w = self.widths();
        let line = |cells: &[String]| -> String {
            cells
                .iter()
                .enumerate()
                .map(|(i, c)| Self::pad(c, w[i], self.align[i]))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
        };
        let mut out = line(&self.headers);
        out.push('\n');
        out.push_str(
            &w.iter()
                .map(|&n| "-".repeat(n))
                .collect::<Vec<_>>()
                .join("  "),
        );
        out.push('\n');
        for r in &self.rows {
            out.push_str(&line(r));
            out.push('\n');
        }
        out
    }

    /// A GitHub-flavoured Markdown table.
    pub fn to_markdown(&self) -> String {
        let w = self.widths();
        let line = |cells: &[String]| -> String {
            let inner: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| Self::pad(&c.replace('|', "\\|"), w[i], self.align[i]))
                .collect();
            format!("| {} |", inner.join(" | "))
        };
        let mut out = line(&self.headers);
        out.push('\n');
        let rule: Vec<String> = w
            .iter()
            .zip(&self.align)
            .map(|(&n, a)| match a {
                Align::Left => format!(":{}", "-".repeat(n.max(3) - 1)),
                Align::Right => format!("{}:", "-".repeat(n.max(3) - 1)),
            })
            .collect();
        out.push_str(&format!("| {} |\n", rule.join(" | ")));
        for r in &self.rows {
            out.push_str(&line(r));
            out.push('\n');
        }
        out
    }
}

/// One unit for a whole column of durations, so a column never reads `10.026 s` above
/// `604.47 ms`: the unit is the one [`super::format_seconds`] would give the column's largest value, and
/// every cell is printed in it with enough decimals to keep three significant digits of the
/// smallest (at most six).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SecondsColumn {
    scale: f64,
    unit: &'static str,
    decimals: usize,
}

impl SecondsColumn {
    /// The unit and decimals for these values (non-finite ones are left out).
    pub fn new(values: impl IntoIterator<Item = f64>) -> SecondsColumn {
        let v: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
        let max = v.iter().copied().fold(0.0f64, f64::max);
        let (scale, unit, base) = if max >= 1.0 {
            (1.0, "s", 3)
        } else if max >= 1e-3 {
            (1e3, "ms", 2)
        } else if max >= 1e-6 || max == 0.0 {
            (1e6, "µs", 1)
        } else {
            (1e9, "ns", 0)
        };
        let min = v
            .iter()
            .map(|x| x * scale)
            .filter(|x| *x > 0.0)
            .fold(f64::INFINITY, f64::min);
        let needed = if min.is_finite() {
            // Digits after the point that keep three significant ones of the smallest value.
            (2.0 - min.log10().floor()).max(0.0) as usize
        } else {
            0
        };
        SecondsColumn {
            scale,
            unit,
            decimals: needed.clamp(base, 6),
        }
    }

    /// The column's unit: `s`, `ms`, `µs` or `ns`.
    pub fn unit(&self) -> &'static str {
        self.unit
    }

    /// One cell's number in the column's unit, without the unit (for a header that names it):
    /// `0.605`, or `-` when not finite.
    pub fn number(&self, s: f64) -> String {
        if s.is_finite() {
            format!("{:.*}", self.decimals, s * self.scale)
        } else {
            "-".into()
        }
    }

    /// One cell in the column's unit: `0.605 s`, or `-` when not finite.
    pub fn cell(&self, s: f64) -> String {
        if s.is_finite() {
            format!("{:.*} {}", self.decimals, s * self.scale, self.unit)
        } else {
            "-".into()
        }
    }
}

/// The workers of a row and the CPUs they ran on, as the table's two cells.
fn workers_cells(r: &Row) -> [String; 2] {
    [r.cores.to_string(), super::cpus_used(r).to_string()]
}

/// An interval as `lo–hi`, or `-` when there is none (one repetition).
pub(crate) fn format_range(range: Option<[f64; 2]>) -> String {
    match range {
        Some([lo, hi]) if lo.is_finite() && hi.is_finite() => format!("{lo:.2}–{hi:.2}"),
        _ => "-".into(),
    }
}

/// A row's efficiency as a cell: `87%`, or `—` when the baseline is not one worker.
pub(crate) fn format_efficiency(r: &Row) -> String {
    match r.efficiency {
        Some(e) => format!("{:.0}%", e * 100.0),
        None => "—".into(),
    }
}

/// The CPUs a row was seen on, with the slow ones named: `0-1 (CPU 1 1.80x slow)`.
pub(crate) fn format_cpus_seen(r: &Row) -> String {
    let mut s = format_cpu_list(&r.cpus);
    if !r.slow_cpus.is_empty() {
        let slow: Vec<String> = r
            .slow_cpus
            .iter()
            .map(|c| format!("CPU {} {:.2}x slow", c.cpu, c.slowdown))
            .collect();
        s.push_str(&format!(" ({})", slow.join(", ")));
    }
    s
}

/// Requests per second as a cell: `833`, or `0.83` under 10.
pub(crate) fn format_requests_per_s(v: f64) -> String {
    if !v.is_finite() {
        "-".into()
    } else if v < 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.0}")
    }
}

/// Memory per connection as a cell: `8 KiB`, or `-` when it was not measured.
pub(crate) fn format_bytes_per_connection(v: Option<f64>) -> String {
    match v {
        Some(b) if b.is_finite() && b >= 0.0 => crate::text::format_bytes(b.round() as u64),
        _ => "-".into(),
    }
}

/// The standard speedup table of a run report (terminal and Markdown alike). A web report (a
/// server under load, see [`super::is_web`]) trades the columns that say little of a service
/// (min, max, switch overhead) for its own: requests per second, the p50 and p99 latency, the
/// wait the handler achieved and resident memory per connection.
pub fn speedup_table(report: &RunReport) -> Table {
    if super::is_web(report) {
        return web_table(report);
    }
    use Align::*;
    let cols = [
        ("strategy", Left),
        ("workers", Right),
        ("CPUs used", Right),
        ("median", Right),
        ("min", Right),
        ("max", Right),
        ("speedup", Right),
        ("speedup CI", Right),
        ("efficiency", Right),
        ("switches/s", Right),
        ("sw overhead (est.)", Right),
        ("oversubscribed", Left),
        ("cpus seen", Left),
    ];
    // min, median and max share one unit: they are read against each other.
    let unit = SecondsColumn::new(
        report
            .rows
            .iter()
            .flat_map(|r| [r.min_s, r.median_s, r.max_s]),
    );
    let estimated = report.method.switch_cost_ns.is_some();
    let rows = report
        .rows
        .iter()
        .map(|r| {
            let [workers, used] = workers_cells(r);
            vec![
                r.strategy.to_string(),
                workers,
                used,
                unit.cell(r.median_s),
                unit.cell(r.min_s),
                unit.cell(r.max_s),
                format!("{:.2}x", r.speedup),
                format_range(r.speedup_ci),
                format_efficiency(r),
                format!("{:.0}", r.switches_per_s),
                if estimated {
                    format!("{:.2}%", r.switch_overhead * 100.0)
                } else {
                    "-".into()
                },
                super::oversubscribed_cell(r),
                format_cpus_seen(r),
            ]
        })
        .collect();
    Table {
        headers: cols.iter().map(|(h, _)| h.to_string()).collect(),
        align: cols.iter().map(|(_, a)| *a).collect(),
        rows,
    }
}

/// The speedup table of a web report: speedup first, then the server's figures.
fn web_table(report: &RunReport) -> Table {
    use Align::*;
    let cols = [
        ("strategy", Left),
        ("workers", Right),
        ("CPUs used", Right),
        ("median", Right),
        ("speedup", Right),
        ("speedup CI", Right),
        ("efficiency", Right),
        ("req/s", Right),
        ("p50", Right),
        ("p99", Right),
        ("wait", Right),
        ("mem/conn", Right),
        ("switches/s", Right),
        ("oversubscribed", Left),
        ("cpus seen", Left),
    ];
    let median = SecondsColumn::new(report.rows.iter().map(|r| r.median_s));
    let webs = || report.rows.iter().filter_map(|r| r.web.as_ref());
    // p50 and p99 share one unit: they are read against each other.
    let latency = SecondsColumn::new(webs().flat_map(|w| [w.latency.p50_s, w.latency.p99_s]));
    let wait = SecondsColumn::new(webs().map(|w| w.wait_achieved_s));
    let rows = report
        .rows
        .iter()
        .map(|r| {
            let w = r.web.as_ref();
            let or_dash = |f: &dyn Fn(&crate::analysis::WebRow) -> String| w.map_or("-".into(), f);
            let [workers, used] = workers_cells(r);
            vec![
                r.strategy.to_string(),
                workers,
                used,
                median.cell(r.median_s),
                format!("{:.2}x", r.speedup),
                format_range(r.speedup_ci),
                format_efficiency(r),
                or_dash(&|w| format_requests_per_s(w.requests_per_s)),
                or_dash(&|w| latency.cell(w.latency.p50_s)),
                or_dash(&|w| latency.cell(w.latency.p99_s)),
                or_dash(&|w| wait.cell(w.wait_achieved_s)),
                or_dash(&|w| format_bytes_per_connection(w.rss_per_connection_bytes)),
                format!("{:.0}", r.switches_per_s),
                super::oversubscribed_cell(r),
                format_cpus_seen(r),
            ]
        })
        .collect();
    Table {
        headers: cols.iter().map(|(h, _)| h.to_string()).collect(),
        align: cols.iter().map(|(_, a)| *a).collect(),
        rows,
    }
}

/// What the web columns of [`speedup_table`] mean, one line under the table (empty for a report
/// without web rows).
pub(crate) fn web_legend(report: &RunReport) -> String {
    if !super::is_web(report) {
        return String::new();
    }
    "web: workers = workers serving connections at once (threads, processes, or the connections one event loop serves), CPUs used = distinct CPUs they were seen on, the sequential row is the iterative server; req/s = requests / median; p50, p99 = latency quantiles (each the median over the repetitions); wait = the wait the handler achieved; mem/conn = the server's peak resident memory beyond its baseline, per connection (rss_per_connection_bytes)".into()
}

/// What the workers and CPUs-used columns mean, one line under a job's table.
pub(crate) fn workers_legend() -> &'static str {
    "workers = the sweep value N of --cores (the work split into N parts run by N workers); CPUs used = distinct CPUs the workers were seen on (single-core-threaded runs every worker on one)"
}

/// The terminal rendering: a header line, the table, notes.
#[derive(Debug, Default, Clone, Copy)]
pub struct TerminalReporter;

impl Reporter for TerminalReporter {
    fn name(&self) -> &'static str {
        "table"
    }
    fn file_name(&self) -> &'static str {
        "table.txt"
    }
    fn render(&self, report: &RunReport) -> String {
        let w = &report.workload;
        let mut params: Vec<String> = w.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        params.insert(0, format!("size={}", w.size));
        let mut out = format!(
            "{} ({}), {} rep{} after {} warm-up, on {}\n\n",
            w.name,
            params.join(", "),
            report.method.reps,
            if report.method.reps == 1 { "" } else { "s" },
            report.method.warmup,
            report.machine.summary()
        );
        out.push_str(&speedup_table(report).to_terminal());
        out.push_str(&format!(
            "\n{}; efficiency = speedup / workers; all rows verified.\n",
            super::speedup_definition(report)
        ));
        let legend = web_legend(report);
        if legend.is_empty() {
            out.push_str(workers_legend());
            out.push('\n');
            out.push_str(&super::switch_overhead_legend(report));
            out.push('\n');
        } else {
            out.push_str(&legend);
            out.push('\n');
        }
        for note in super::notes(report) {
            out.push_str(&note);
            out.push('\n');
        }
        for line in super::ceiling_lines(report) {
            out.push_str(&line);
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    fn header(text: &str, starts: &str) -> Vec<String> {
        text.lines()
            .find(|l| l.starts_with(starts))
            .unwrap_or_else(|| panic!("no line starting {starts:?} in {text}"))
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn web_reports_show_the_servers_figures() {
        let report = fixture::web_report();
        let text = TerminalReporter.render(&report);
        let head = header(&text, "strategy");
        for col in [
            "speedup",
            "req/s",
            "p50",
            "p99",
            "wait",
            "mem/conn",
            "switches/s",
        ] {
            assert!(head.iter().any(|h| h == col), "no {col} column: {text}");
        }
        for col in ["min", "max", "overhead"] {
            assert!(
                !head.iter().any(|h| h == col),
                "{col} says little of a service: {text}"
            );
        }
        // The speedup table is still the first thing a reader sees, speedup before req/s.
        let table_at = text.find("strategy").unwrap();
        assert!(
            text.find("web: workers = workers").unwrap() > table_at,
            "{text}"
        );
        let pos = |c: &str| head.iter().position(|h| h == c).unwrap();
        assert!(pos("speedup") < pos("req/s"));
        // The iterative server: 2000 requests in 2.4 s, p50 9.4 ms, achieved wait 1.07 ms,
        // 8 KiB per connection.
        let seq = text.lines().find(|l| l.starts_with("sequential")).unwrap();
        for cell in ["2.400 s", "833", "9.40 ms", "23.50 ms", "1.07 ms", "8 KiB"] {
            assert!(seq.contains(cell), "{cell} missing: {seq}");
        }
        let asyn = text
            .lines()
            .find(|l| l.starts_with("single-thread-async"))
            .unwrap();
        assert!(asyn.contains("6061") && asyn.contains("64 KiB"), "{asyn}");
        assert!(
            text.contains("the load generator shared CPU(s) with the server in rows multi-threaded x2 (generator on CPU 1), multi-process x2 (generator on CPU 1): its work is inside those figures"),
            "{text}"
        );
        // No wider than the table of a job.
        let width = |t: &str| t.lines().nth(3).map_or(0, |l| l.chars().count());
        let job = TerminalReporter.render(&fixture::report());
        assert!(width(&text) <= width(&job) + 12, "{}\n{text}", width(&job));
    }

    #[test]
    fn a_web_row_without_memory_says_so() {
        let mut report = fixture::web_report();
        report.rows[0]
            .web
            .as_mut()
            .unwrap()
            .rss_per_connection_bytes = None;
        let table = speedup_table(&report);
        let col = table.headers.iter().position(|h| h == "mem/conn").unwrap();
        assert_eq!(table.rows[0][col], "-");
        assert_eq!(format_bytes_per_connection(Some(1536.0)), "1.5 KiB");
        assert_eq!(format_requests_per_s(0.5), "0.50");
    }

    #[test]
    fn reports_without_web_rows_keep_their_columns() {
        let report = fixture::report();
        let table = speedup_table(&report);
        assert_eq!(table.headers.len(), 13);
        assert!(!table.headers.iter().any(|h| h == "req/s"));
        assert_eq!(web_legend(&report), "");
        let text = TerminalReporter.render(&report);
        assert!(!text.contains("load generator"), "{text}");
    }
}
