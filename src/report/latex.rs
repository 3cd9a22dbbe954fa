//! LaTeX rendering (`results.tex`): a booktabs `tabular` ready to paste into a document.
//!
//! Needs `\usepackage{booktabs}`; nothing else. The lines above the table are LaTeX comments
//! naming the command, machine and method, so a pasted table keeps its provenance in the source;
//! oversubscribed rows carry a dagger explained under the bottom rule.

use super::{workload_label, Reporter, RunReport};

/// `results.tex`.
#[derive(Debug, Default, Clone, Copy)]
pub struct LatexReporter;

const HEADERS: [&str; 9] = [
    "strategy",
    "cores",
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
                crate::analysis::format_per_core(r.workers_per_core).replace(" per core", ""),
                seconds(r.median_s),
                r.median_ci_s
                    .map(|[lo, hi]| format!("{}--{}", seconds(lo), seconds(hi)))
                    .unwrap_or_else(|| "--".into()),
                format!("{:.2}", r.speedup),
                r.speedup_ci
                    .map(|[lo, hi]| format!("{lo:.2}--{hi:.2}"))
                    .unwrap_or_else(|| "--".into()),
                r.efficiency
                    .map(|e| format!("{:.0}\\%", e * 100.0))
                    .unwrap_or_else(|| "n.a.".into()),
                r.serial_fraction
                    .map(|f| format!("{f:.3}"))
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
                        seconds(w.latency.p99_s),
                    ]),
                    None => cells.extend(["--".to_string(), "--".to_string()]),
                }
            }
            out.push_str(&cells.join(" & "));
            out.push_str(" \\\\\n");
        }
        out.push_str("\\bottomrule\n");
        if report.method.speedup_baseline != "sequential" {
            out.push_str(&format!(
                "\\multicolumn{{{}}}{{l}}{{\\footnotesize speedup against {} (no sequential run).}} \\\\\n",
                ncols,
                escape(&report.method.speedup_baseline)
            ));
        }
        if report.rows.iter().any(|r| r.oversubscribed) {
            out.push_str(&format!(
                "\\multicolumn{{{}}}{{l}}{{\\footnotesize \\textsuperscript{{\\dag}}oversubscribed: more workers than the cores they may use (one for single-core-threaded, the {} physical core(s) allowed otherwise); they take turns.}} \\\\\n",
                ncols,
                m.physical_cores
            ));
        }
        if let Some(why) = report
            .rows
            .first()
            .and_then(|r| r.scaling_undefined.as_ref())
        {
            out.push_str(&format!(
                "\\multicolumn{{{}}}{{l}}{{\\footnotesize n.a.: {}.}} \\\\\n",
                ncols,
                escape(why)
            ));
        }
        if let Some(slow) = super::slow_cpu_note(report) {
            out.push_str(&format!(
                "\\multicolumn{{{}}}{{l}}{{\\footnotesize \\textsuperscript{{\\ddag}}{}.}} \\\\\n",
                ncols,
                escape(&slow)
            ));
        }
        if web {
            out.push_str(&format!(
                "\\multicolumn{{{ncols}}}{{l}}{{\\footnotesize cores: workers serving connections at once; sequential: the iterative server; req/s: requests / median; p99: latency, the median over the repetitions.}} \\\\\n"
            ));
        }
        if let Some(generator) = super::generator_note(report) {
            out.push_str(&format!(
                "\\multicolumn{{{ncols}}}{{l}}{{\\footnotesize {}.}} \\\\\n",
                escape(&generator)
            ));
        }
        out.push_str("\\end{tabular}\n");
        out
    }
}

/// A duration for LaTeX: the unit [`super::format_seconds`] would pick, with µ in math mode.
fn seconds(s: f64) -> String {
    super::format_seconds(s).replace('µ', "$\\mu$")
}

/// One line of text as a LaTeX comment (line breaks inside become further comment lines).
fn comment(text: &str) -> String {
    text.lines().map(|l| format!("% {l}\n")).collect()
}

/// Escape text for LaTeX's text mode.
pub fn escape(s: &str) -> String {
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
        assert!(text.contains("\\begin{tabular}{lrrrrrrrrrr}"), "{text}");
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
        assert!(text.contains("\\multicolumn{11}{l}"), "{text}");
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
