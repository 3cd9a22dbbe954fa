//! LaTeX rendering (`results.tex`): a booktabs `tabular` ready to paste into a document.
//!
//! Needs `\usepackage{booktabs}`; nothing else. The lines above the table are LaTeX comments
//! naming the command, machine and method, so a pasted table keeps its provenance in the source;
//! oversubscribed rows carry a dagger explained under the bottom rule.

use super::{workload_label, Reporter, RunReport};

/// `results.tex`.
#[derive(Debug, Default, Clone, Copy)]
pub struct LatexReporter;

const HEADERS: [&str; 8] = [
    "strategy",
    "cores",
    "median",
    "95\\% CI of median",
    "speedup",
    "95\\% CI",
    "efficiency",
    "serial fraction",
];

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
                "method: median of {} repetitions after {} warm-up; seeded bootstrap 95% CIs",
                report.method.reps, report.method.warmup
            ),
            "requires \\usepackage{booktabs}".to_string(),
        ] {
            out.push_str(&comment(&line));
        }
        out.push_str("\\begin{tabular}{lrrrrrrr}\n\\toprule\n");
        out.push_str(&HEADERS.join(" & "));
        out.push_str(" \\\\\n\\midrule\n");
        let mut previous = None;
        for r in &report.rows {
            if previous.is_some_and(|p| p != r.strategy) {
                out.push_str("\\addlinespace\n");
            }
            previous = Some(r.strategy);
            let cells = [
                escape(r.strategy.name()),
                format!(
                    "{}{}",
                    r.cores,
                    if r.oversubscribed {
                        "\\textsuperscript{\\dag}"
                    } else {
                        ""
                    }
                ),
                seconds(r.median_s),
                format!("{}--{}", seconds(r.ci95_s[0]), seconds(r.ci95_s[1])),
                format!("{:.2}", r.speedup),
                format!("{:.2}--{:.2}", r.speedup_ci95[0], r.speedup_ci95[1]),
                format!("{:.0}\\%", r.efficiency * 100.0),
                r.serial_fraction
                    .map(|f| format!("{f:.3}"))
                    .unwrap_or_else(|| "--".into()),
            ];
            out.push_str(&cells.join(" & "));
            out.push_str(" \\\\\n");
        }
        out.push_str("\\bottomrule\n");
        if report.method.speedup_baseline != "sequential" {
            out.push_str(&format!(
                "\\multicolumn{{{}}}{{l}}{{\\footnotesize speedup against {} (no sequential run).}} \\\\\n",
                HEADERS.len(),
                escape(&report.method.speedup_baseline)
            ));
        }
        if report.rows.iter().any(|r| r.oversubscribed) {
            out.push_str(&format!(
                "\\multicolumn{{{}}}{{l}}{{\\footnotesize \\textsuperscript{{\\dag}}oversubscribed: more workers than the {} physical core(s) allowed; they share cores.}} \\\\\n",
                HEADERS.len(),
                m.physical_cores
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
