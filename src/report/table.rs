//! The speedup table, laid out once and drawn for the terminal (aligned columns).
//!
//! [`speedup_table`] decides the columns and cell text; [`Table::to_terminal`] draws it. Other
//! text renderings (Markdown) reuse the same [`Table`], so the table a user sees in the terminal
//! and the one pasted into coursework say the same thing.

use super::{format_seconds, Reporter, RunReport};
use crate::analysis::Row;
use crate::topology::format_cpu_list;

/// Column alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Left-aligned text.
    Left,
    /// Right-aligned numbers.
    Right,
}

/// A table of text cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Column headers.
    pub headers: Vec<String>,
    /// Alignment per column.
    pub align: Vec<Align>,
    /// Cells, row by row.
    pub rows: Vec<Vec<String>>,
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
    pub fn to_terminal(&self) -> String {
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

/// An interval as `lo–hi`, or `-` when there is none (one repetition).
pub fn format_range(range: Option<[f64; 2]>) -> String {
    match range {
        Some([lo, hi]) if lo.is_finite() && hi.is_finite() => format!("{lo:.2}–{hi:.2}"),
        _ => "-".into(),
    }
}

/// A row's efficiency as a cell: `87%`, or `—` when the baseline is not one worker.
pub fn format_efficiency(r: &Row) -> String {
    match r.efficiency {
        Some(e) => format!("{:.0}%", e * 100.0),
        None => "—".into(),
    }
}

/// The CPUs a row was seen on, with the slow ones named: `0-1 (CPU 1 1.80x slow)`.
pub fn format_cpus_seen(r: &Row) -> String {
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

/// The standard speedup table of a run report (terminal and Markdown alike).
pub fn speedup_table(report: &RunReport) -> Table {
    use Align::*;
    let cols = [
        ("strategy", Left),
        ("cores", Right),
        ("median", Right),
        ("min", Right),
        ("max", Right),
        ("speedup", Right),
        ("speedup CI", Right),
        ("efficiency", Right),
        ("switches/s", Right),
        ("sw overhead", Right),
        ("oversubscribed", Left),
        ("cpus seen", Left),
    ];
    let rows = report
        .rows
        .iter()
        .map(|r| {
            vec![
                r.strategy.to_string(),
                r.cores.to_string(),
                format_seconds(r.median_s),
                format_seconds(r.min_s),
                format_seconds(r.max_s),
                format!("{:.2}x", r.speedup),
                format_range(r.speedup_ci),
                format_efficiency(r),
                format!("{:.0}", r.switches_per_s),
                format!("{:.2}%", r.switch_overhead * 100.0),
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
            "\n{}; efficiency = speedup / cores; all rows verified.\n",
            super::speedup_definition(report)
        ));
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
