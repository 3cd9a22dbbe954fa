//! Lab reports: the verdict table for the terminal, `lab.md` for a student to hand in, and
//! `lab.json`. All three are drawn from the same [`LabReport`].

use super::{fmt_num, LabReport, VERDICT_RULE};
use crate::report::table::{Align, Table};

/// The verdict table: claim, prediction, measured (with spread), verdict.
pub fn verdict_table(report: &LabReport) -> Table {
    let rows = report
        .claims
        .iter()
        .map(|c| {
            vec![
                c.id.clone(),
                format!("{} {}", c.expect.describe(), c.unit),
                match (c.measured, c.spread) {
                    (Some(m), Some([lo, hi])) => {
                        format!("{} [{} .. {}]", fmt_num(m), fmt_num(lo), fmt_num(hi))
                    }
                    _ => "-".into(),
                },
                c.verdict.name().to_string(),
            ]
        })
        .collect();
    Table {
        headers: ["claim", "prediction", "measured [95% CI]", "verdict"]
            .map(String::from)
            .to_vec(),
        align: vec![Align::Left, Align::Left, Align::Right, Align::Left],
        rows,
    }
}

/// Terminal rendering: the table, then one explanation per claim.
pub fn terminal(report: &LabReport) -> String {
    let mut out = format!(
        "concbench lab{} on {}\n\n",
        if report.quick { " --quick" } else { "" },
        report.machine.summary()
    );
    out.push_str(&verdict_table(report).to_terminal());
    out.push('\n');
    for c in &report.claims {
        out.push_str(&format!(
            "{} ({}): {}\n",
            c.id,
            c.verdict.name(),
            c.explanation
        ));
        if let Some(n) = c.decide_with_reps {
            out.push_str(&format!(
                "  inconclusive with {} repetitions; about {n} would narrow the interval enough to decide.\n",
                c.reps
            ));
        }
    }
    out
}

/// `lab.md`: machine, method, the verdict rule, the table, and one section per claim.
pub fn markdown(report: &LabReport) -> String {
    let m = &report.machine;
    let mut out =
        String::from("# concbench lab: claims about concurrency and parallelism, tested\n\n");
    out.push_str(&format!(
        "- Machine: {}\n- OS: {}; {}; concbench {}{}\n- Date: {}\n- Command: `{}`\n\n",
        m.summary(),
        m.os,
        m.rustc,
        m.concbench_version,
        m.git_commit
            .as_ref()
            .map(|c| format!(" ({c})"))
            .unwrap_or_default(),
        m.date,
        m.command
    ));
    out.push_str("## Method\n\n");
    out.push_str(&format!(
        "Each claim is an experiment run by concbench's library on this machine ({} mode). Times are wall-clock medians on CLOCK_MONOTONIC; workers are pinned with sched_setaffinity; every run's result is verified.\n\n{VERDICT_RULE}\n\n",
        if report.quick { "quick" } else { "full" }
    ));
    out.push_str("## Verdicts\n\n");
    out.push_str(&verdict_table(report).to_markdown());
    for c in &report.claims {
        out.push_str(&format!("\n## {}: {}\n\n", c.id, c.verdict.name()));
        out.push_str(&format!("**Claim.** {}\n\n", c.statement));
        out.push_str(&format!("**Prediction.** {}\n\n", c.prediction));
        match (c.measured, c.spread) {
            (Some(mv), Some([lo, hi])) => out.push_str(&format!(
                "**Measured.** {} {} (95% CI {} to {}, {} repetitions); expected {}.\n\n",
                fmt_num(mv),
                c.unit,
                fmt_num(lo),
                fmt_num(hi),
                c.reps,
                c.expect.describe()
            )),
            _ => out.push_str("**Measured.** not testable here.\n\n"),
        }
        out.push_str(&format!("{}\n", c.explanation));
        if let Some(n) = c.decide_with_reps {
            out.push_str(&format!(
                "\nInconclusive with {} repetitions; about {n} would narrow the interval enough to decide.\n",
                c.reps
            ));
        }
        if !c.figures.is_empty() {
            out.push_str("\n| figure | value |\n|:--|--:|\n");
            for (k, v) in &c.figures {
                let text = match v {
                    serde_json::Value::Number(n) => {
                        n.as_f64().map(fmt_num).unwrap_or_else(|| n.to_string())
                    }
                    other => other.to_string(),
                };
                out.push_str(&format!("| {k} | {} |\n", text.replace('|', "\\|")));
            }
        }
    }
    out
}

/// `lab.json`: the whole report.
pub fn json(report: &LabReport) -> String {
    let mut s = serde_json::to_string_pretty(report).expect("lab report serialises");
    s.push('\n');
    s
}
