//! LaTeX rendering (`results.tex`): a booktabs table ready to paste into a document.
//!
//! Needs `\usepackage{booktabs}`; nothing else. The table is a `table` float whose caption names
//! the workload, machine, date, concbench version and method, so they print with it (the `%`
//! comments above it keep the full command line in the source as well); the notes under the
//! table (oversubscribed rows' dagger, slow CPUs, serial fractions that are no Amdahl fit) print
//! as small text below it. Every duration column keeps one unit throughout.

use super::table::SecondsColumn;
use super::{workload_label, Reporter, RunReport};

/// `results.tex`.
#[derive(Debug, Default, Clone, Copy)]
pub struct LatexReporter;

const HEADERS: [&str; 10] = [
    "strategy",
    "workers",
    "CPUs used",
    "workers/core",
    "median",
    "CI of median",
    "speedup",
    "CI",
    "efficiency",
    "serial fraction",
];

/// The columns a web report adds (see [`super::is_web`]): requests per second and the p99
/// latency.
const WEB_HEADERS: [&str; 2] = ["req/s", "p99"];

impl Reporter for LatexReporter {
    fn name(&self) -> &'static str {
        "latex"
    }
    fn file_name(&self) -> &'static str {
        "results.tex"
    }
    fn render(&self, report: &RunReport) -> String {
        let m = &report.machine;
        let mut out = String::new();
        for line in [
            format!("concbench: {}", workload_label(&report.workload)),
            format!("command: {}", m.command),
            format!("date: {}", m.date),
            format!("machine: {}", m.summary()),
            format!(
                "method: median of {} repetitions after {} warm-up; {}",
                report.method.reps,
                report.method.warmup,
                super::interval_note(report)
            ),
            "requires \\usepackage{booktabs}".to_string(),
        ] {
            out.push_str(&comment(&line));
        }
        out.push_str("\\begin{table}[htbp]\n\\centering\n");
        out.push_str(&format!("\\caption{{{}}}\n", escape(&caption(report))));
        let web = super::is_web(report);
        let mut headers = HEADERS.to_vec();
        if web {
            headers.extend(WEB_HEADERS);
        }
        let ncols = headers.len();
        out.push_str(&format!(
            "\\begin{{tabular}}{{l{}}}\n\\toprule\n",
            "r".repeat(ncols - 1)
        ));
        out.push_str(&headers.join(" & "));
        out.push_str(" \\\\\n\\midrule\n");
        let median = SecondsColumn::new(report.rows.iter().map(|r| r.median_s));
        let ci = SecondsColumn::new(
            report
                .rows
                .iter()
                .flat_map(|r| r.median_ci_s.unwrap_or([f64::NAN; 2])),
        );
        let p99 = SecondsColumn::new(
            report
                .rows
                .iter()
                .filter_map(|r| r.web.as_ref().map(|w| w.latency.p99_s)),
        );
        let mut previous = None;
        for r in &report.rows {
            if previous.is_some_and(|p| p != r.strategy) {
                out.push_str("\\addlinespace\n");
            }
            previous = Some(r.strategy);
            let mut cells = vec![
                escape(r.strategy.name()),
                format!(
                    "{}{}{}",
                    r.cores,
                    if r.oversubscribed {
                        "\\textsuperscript{\\dag}"
                    } else {
                        ""
                    },
                    if r.slow_cpus.is_empty() {
                        ""
                    } else {
                        "\\textsuperscript{\\ddag}"
                    }
                ),
                super::cpus_used(r).to_string(),
                crate::analysis::format_per_core(r.workers_per_core).replace(" per core", ""),
                seconds(&median, r.median_s),
                r.median_ci_s
                    .map(|[lo, hi]| format!("{}--{}", seconds(&ci, lo), seconds(&ci, hi)))
                    .unwrap_or_else(|| "--".into()),
                format!("{:.2}", r.speedup),
                r.speedup_ci
                    .map(|[lo, hi]| format!("{lo:.2}--{hi:.2}"))
                    .unwrap_or_else(|| "--".into()),
                r.efficiency
                    .map(|e| format!("{:.0}\\%", e * 100.0))
                    .unwrap_or_else(|| "n.a.".into()),
                r.serial_fraction
                    .map(|f| {
                        if super::serial_fraction_flag(f).is_some() {
                            format!("{f:.3}\\textsuperscript{{*}}")
                        } else {
                            format!("{f:.3}")
                        }
                    })
                    .unwrap_or_else(|| {
                        if r.scaling_undefined.is_some() {
                            "n.a."
                        } else {
                            "--"
                        }
                        .into()
                    }),
            ];
            if web {
                match &r.web {
                    Some(w) => cells.extend([
                        super::table::format_requests_per_s(w.requests_per_s),
                        seconds(&p99, w.latency.p99_s),
                    ]),
                    None => cells.extend(["--".to_string(), "--".to_string()]),
                }
            }
            out.push_str(&cells.join(" & "));
            out.push_str(" \\\\\n");
        }
        out.push_str("\\bottomrule\n\\end{tabular}\n");
        let mut notes: Vec<String> = Vec::new();
        notes.push(format!(
            "workers: the work split into that many parts run by as many workers; CPUs used: distinct CPUs they were seen on; workers/core: workers per core they may use{}",
            if web {
                " (for a server, the workers serving connections at once; sequential is the iterative server; req/s: requests / median; p99: latency, the median over the repetitions)"
            } else {
                ""
            }
        ));
        if report.method.speedup_baseline != "sequential" {
            notes.push(format!(
                "speedup against {} (no sequential run).",
                escape(&report.method.speedup_baseline)
            ));
        }
        if report.rows.iter().any(|r| r.oversubscribed) {
            notes.push(format!(
                "\\textsuperscript{{\\dag}}oversubscribed: more workers than the cores they may use (one for single-core-threaded, the {} physical core(s) allowed otherwise); they take turns.",
                m.physical_cores
            ));
        }
        if report.rows.iter().any(|r| {
            r.serial_fraction
                .is_some_and(|f| super::serial_fraction_flag(f).is_some())
        }) {
            notes.push("\\textsuperscript{*}serial fraction (Karp--Flatt) outside [0, 1], so not an Amdahl fit: above 1 the row ran slower than with one worker, below 0 faster than ideal.".into());
        }
        // The column's multi-process serial fractions: say what they hold, read at the largest
        // row that fits the cores.
        let mp = report
            .rows
            .iter()
            .filter(|r| r.strategy == crate::strategy::Strategy::MultiProcess && !r.oversubscribed)
            .filter_map(|r| r.serial_fraction.map(|f| (r.cores, f)))
            .max_by_key(|(cores, _)| *cores);
        if let Some((_, f)) = mp {
            if let Some(n) = super::process_start_up_note(report, Some(f)) {
                notes.push(format!("{}.", escape(&n)));
            }
        }
        if let Some(why) = report
            .rows
            .first()
            .and_then(|r| r.scaling_undefined.as_ref())
        {
            notes.push(format!("n.a.: {}.", escape(why)));
        }
        if let Some(slow) = super::slow_cpu_note(report) {
            notes.push(format!("\\textsuperscript{{\\ddag}}{}.", escape(&slow)));
        }
        if let Some(generator) = super::generator_note(report) {
            notes.push(format!("{}.", escape(&generator)));
        }
        out.push_str("\\par\\smallskip\n{\\footnotesize\\raggedright\n");
        for n in notes {
            out.push_str(&n);
            out.push_str("\\par\n");
        }
        out.push_str("}\n");
        out.push_str("\\end{table}\n");
        out
    }
}

/// The caption: what was measured, where, when, with which build and how, so the printed table
/// carries its provenance (the `%` comments do not print).
fn caption(report: &RunReport) -> String {
    let m = &report.machine;
    format!(
        "concbench: {}. Machine: {}. Date: {}. Built: concbench {}{}. Method: median of {} repetitions after {} warm-up; {}.",
        workload_label(&report.workload),
        m.summary(),
        m.date,
        m.concbench_version,
        m.git_commit
            .as_deref()
            .map(|c| format!(" (commit {c})"))
            .unwrap_or_default(),
        report.method.reps,
        report.method.warmup,
        super::interval_note(report)
    )
}

/// A duration for LaTeX in its column's unit, with µ in math mode.
fn seconds(column: &SecondsColumn, s: f64) -> String {
    column.cell(s).replace('µ', "$\\mu$")
}

/// One line of text as a LaTeX comment (line breaks inside become further comment lines).
fn comment(text: &str) -> String {
    text.lines().map(|l| format!("% {l}\n")).collect()
}

/// Escape text for LaTeX's text mode.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\textbackslash{}"),
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                out.push('\\');
                out.push(ch);
            }
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(LatexReporter.render(&fixture::report()));
    }

    #[test]
    fn escapes_latex_specials() {
        assert_eq!(
            escape("a_b & 50% #1 {x} ~ ^ \\ $"),
            "a\\_b \\& 50\\% \\#1 \\{x\\} \\textasciitilde{} \\textasciicircum{} \\textbackslash{} \\$"
        );
    }

    #[test]
    fn snapshot_web() {
        insta::assert_snapshot!(LatexReporter.render(&fixture::web_report()));
    }

    #[test]
    fn web_reports_add_requests_per_second_and_p99() {
        let report = fixture::web_report();
        let text = LatexReporter.render(&report);
        assert!(text.contains("\\begin{tabular}{lrrrrrrrrrrr}"), "{text}");
        assert!(
            text.contains("efficiency & serial fraction & req/s & p99 \\\\"),
            "{text}"
        );
        let body: Vec<&str> = text
            .lines()
            .skip_while(|l| *l != "\\midrule")
            .skip(1)
            .take_while(|l| *l != "\\bottomrule")
            .filter(|l| *l != "\\addlinespace")
            .collect();
        assert_eq!(body.len(), report.rows.len());
        for line in &body {
            assert_eq!(line.matches(" & ").count(), HEADERS.len() + 1, "{line}");
        }
        assert!(body[0].ends_with(" & 833 & 23.50 ms \\\\"), "{}", body[0]);
        assert!(
            text.contains(
                "the load generator shared CPU(s) with the server in rows multi-threaded x2"
            ),
            "{text}"
        );
        // The notes print under the table, inside the float, not as `%` comments.
        let notes = &text[text.find("\\end{tabular}").unwrap()..text.find("\\end{table}").unwrap()];
        assert!(notes.contains("load generator shared CPU(s)"), "{notes}");
        assert!(notes.contains("the iterative server"), "{notes}");
        let plain = LatexReporter.render(&fixture::report());
        assert!(!plain.contains("req/s") && !plain.contains("load generator"));
    }

    #[test]
    fn every_row_has_as_many_cells_as_the_header() {
        let text = LatexReporter.render(&fixture::report());
        let body: Vec<&str> = text
            .lines()
            .skip_while(|l| *l != "\\midrule")
            .skip(1)
            .take_while(|l| *l != "\\bottomrule")
            .filter(|l| *l != "\\addlinespace")
            .collect();
        assert_eq!(body.len(), fixture::report().rows.len());
        for line in body {
            assert_eq!(line.matches(" & ").count(), HEADERS.len() - 1, "{line}");
        }
    }
}
