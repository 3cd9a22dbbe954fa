//! Lab reports: the verdict table for the terminal, `lab.md` for a student to hand in, and
//! `lab.json`, all drawn from the same [`LabReport`], which renders them (and the verdict table
//! alone as CSV and LaTeX, [`verdict_document`]) through [`Render`].
//!
//! The pictures written beside `lab.md` come from one list, [`pictures`]: [`files`] writes that
//! list and [`markdown`] links every entry of it, so a picture cannot be written without a link.

use super::{fmt_num, verdict_chart, ClaimResult, LabReport, VERDICT_RULE};
use crate::measure::stats::format_coverage;
use crate::report::document::{Block, Document};
use crate::report::table::{Align, Table};
use crate::report::{Format, Render};

impl Render for LabReport {
    /// Terminal: the verdict table, the models' inputs and every claim explained (`terminal`);
    /// JSON: `lab.json`; Markdown: `lab.md` as on stdout (no verdict chart beside it to link);
    /// CSV and LaTeX: the verdict table (`verdict_document`).
    fn render(&self, format: Format) -> String {
        match format {
            Format::Terminal => terminal(self),
            Format::Json => json(self),
            Format::Markdown => markdown(self),
            Format::Csv => verdict_document(self).to_csv(),
            Format::Latex => verdict_document(self).to_latex(),
        }
    }

    /// `lab.md`, `lab.json`, `verdicts.svg`, a picture per claim that has one and `report.html`
    /// (`files`).
    fn files(&self) -> Vec<(String, String)> {
        files(self)
    }
}

/// The verdict table alone, as a [`Document`] titled like the terminal rendering, its caption
/// naming the machine: what the lab's CSV and LaTeX renderings hold.
pub(crate) fn verdict_document(report: &LabReport) -> Document {
    let mut doc = Document::new(headline(report));
    doc.push(Block::Table {
        id: "verdicts".into(),
        caption: format!(
            "concbench lab verdicts on {}: each claim's prediction, the figure measured with its interval and coverage, how the figure was computed, and the verdict",
            report.machine.summary()
        ),
        table: verdict_table(report),
    });
    doc
}

/// `concbench lab[ --quick] on MACHINE`: the first line of the terminal rendering.
fn headline(report: &LabReport) -> String {
    format!(
        "concbench lab{} on {}",
        if report.quick { " --quick" } else { "" },
        report.machine.summary()
    )
}

/// What an inconclusive result whose figure sits on its threshold says instead of a count of
/// repetitions ([`super::at_threshold`]).
const AT_THRESHOLD_TEXT: &str = "the figure is indistinguishable from the threshold at this margin (within a tenth of the claim's smallest margin of it): more repetitions would narrow the interval around the threshold, not decide.";

/// The figure with its interval and coverage: `1.23 [1.10 .. 1.40] 96.9%`.
pub(crate) fn measured_cell(c: &ClaimResult) -> String {
    match (c.measured, c.spread) {
        (Some(m), Some([lo, hi])) => format!(
            "{} [{} .. {}] {}",
            fmt_num(m),
            fmt_num(lo),
            fmt_num(hi),
            c.coverage
                .map(format_coverage)
                .unwrap_or_else(|| "-".into())
        ),
        _ => "-".into(),
    }
}

/// The verdict table: claim, prediction, measured (with interval and coverage), how the figure
/// was computed, verdict, and the statement's own verdict where it has one.
pub(crate) fn verdict_table(report: &LabReport) -> Table {
    let rows = report
        .claims
        .iter()
        .map(|c| {
            vec![
                c.id.clone(),
                format!("{} {}", c.expect.describe(), c.unit),
                measured_cell(c),
                c.estimate.map_or("-".into(), |e| e.describe().to_string()),
                c.verdict_word(),
                c.statement_test
                    .as_ref()
                    .map_or("-".into(), |t| t.verdict.name().to_string()),
            ]
        })
        .collect();
    Table {
        headers: [
            "claim",
            "prediction",
            "measured [interval] coverage",
            "figure",
            "verdict",
            "statement alone",
        ]
        .map(String::from)
        .to_vec(),
        align: vec![
            Align::Left,
            Align::Left,
            Align::Right,
            Align::Left,
            Align::Left,
            Align::Left,
        ],
        rows,
    }
}

fn inputs_lines(report: &LabReport) -> String {
    report
        .inputs
        .iter()
        .map(|(k, v)| {
            let value = match &v["value"] {
                serde_json::Value::Number(n) => n.as_f64().map(fmt_num).unwrap_or_default(),
                other => other.to_string(),
            };
            format!("- {k} = {value}: {}\n", v["method"].as_str().unwrap_or(""))
        })
        .collect()
}

/// Terminal rendering: the table, the models' inputs, then per claim its model, what would
/// refute it, the prediction and the explanation.
pub(crate) fn terminal(report: &LabReport) -> String {
    let mut out = format!("{}\n\n", headline(report));
    out.push_str(&verdict_table(report).to_terminal());
    if !report.inputs.is_empty() {
        out.push_str("\nmodel inputs measured in this run:\n");
        out.push_str(&inputs_lines(report));
    }
    out.push('\n');
    for c in &report.claims {
        out.push_str(&format!(
            "{} ({}): {}\n",
            c.id,
            c.verdict_word(),
            c.explanation
        ));
        if let Some(t) = &c.statement_test {
            out.push_str(&format!("  the statement alone: {}\n", t.describe()));
        }
        out.push_str(&format!("  model: {}\n", c.model));
        out.push_str(&format!("  refuted by: {}\n", c.refuted_by));
        out.push_str(&format!("  prediction: {}\n", c.prediction));
        if let (Some(cov), Some(e)) = (c.coverage, c.estimate) {
            out.push_str(&format!(
                "  interval: {} of {} repetitions, coverage {}\n",
                e.describe(),
                c.reps,
                format_coverage(cov)
            ));
        }
        if let Some(n) = c.decide_with_reps {
            out.push_str(&format!(
                "  inconclusive with {} repetitions; about {n} would narrow the interval enough to decide.\n",
                c.reps
            ));
        } else if c.indistinguishable_from_threshold {
            out.push_str(&format!(
                "  inconclusive with {} repetitions; {AT_THRESHOLD_TEXT}\n",
                c.reps
            ));
        }
    }
    out
}

/// A picture the lab writes beside `lab.md`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Picture<'a> {
    /// The claim it shows.
    pub(crate) claim: &'a str,
    /// Its file name beside `lab.md` (`ID.svg`).
    pub(crate) file: String,
    /// The SVG text.
    pub(crate) svg: &'a str,
}

/// Every picture of the report, in the claims' order: the one list both [`files`] (what is
/// written) and [`markdown`] (what is linked) read.
pub(crate) fn pictures(report: &LabReport) -> Vec<Picture<'_>> {
    report
        .claims
        .iter()
        .filter_map(|c| {
            Some(Picture {
                claim: &c.id,
                file: format!("{}.svg", c.id),
                svg: c.picture.as_deref()?,
            })
        })
        .collect()
}

/// Every file `lab --out DIR` writes, by name: `lab.md`, `lab.json`, `verdicts.svg` (see
/// [`verdict_chart`]) and each of [`pictures`], which `lab.md` links, and `report.html` (the
/// page of `lab.md` with the pictures inside).
pub(crate) fn files(report: &LabReport) -> Vec<(String, String)> {
    let pictures = pictures(report);
    let md = markdown_linking(report, &pictures, Some(verdict_chart::FILE));
    let figures: Vec<(String, String)> =
        std::iter::once((verdict_chart::FILE.to_string(), verdict_chart::svg(report)))
            .chain(pictures.into_iter().map(|p| (p.file, p.svg.to_string())))
            .collect();
    let page = crate::report::html::page(&md, &figures);
    let mut out = vec![
        ("lab.md".to_string(), md),
        ("lab.json".to_string(), json(report)),
    ];
    out.extend(figures);
    out.push((crate::report::html::PAGE.to_string(), page));
    out
}

/// `lab.md`: machine, method, the verdict rule, the models' inputs, the table, and one section
/// per claim, each with its [`pictures`].
pub(crate) fn markdown(report: &LabReport) -> String {
    markdown_linking(report, &pictures(report), None)
}

/// `lab.md` linking `pictures`, each under its claim's section (every picture comes from a
/// claim of the report, so every one is linked).
fn markdown_linking(
    report: &LabReport,
    pictures: &[Picture<'_>],
    verdicts_chart: Option<&str>,
) -> String {
    let link = |p: &Picture<'_>| format!("\n![{}]({})\n", p.claim, p.file);
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
    if !report.inputs.is_empty() {
        out.push_str("## Model inputs measured in this run\n\n");
        out.push_str(&inputs_lines(report));
        out.push('\n');
    }
    out.push_str("## Verdicts\n\n");
    out.push_str(&verdict_table(report).to_markdown());
    if let Some(file) = verdicts_chart {
        out.push_str(&format!("\n![{}]({file})\n", verdict_chart::alt(report)));
    }
    for c in &report.claims {
        out.push_str(&format!("\n## {}: {}\n\n", c.id, c.verdict_word()));
        out.push_str(&format!("**Claim.** {}\n\n", c.statement));
        out.push_str(&format!("**Model.** {}\n\n", c.model));
        out.push_str(&format!("**Refuted by.** {}\n\n", c.refuted_by));
        out.push_str(&format!("**Prediction.** {}\n\n", c.prediction));
        match (c.measured, c.spread) {
            (Some(mv), Some([lo, hi])) => out.push_str(&format!(
                "**Measured.** {} {} (interval {} to {}, coverage {}, {} of {} repetitions); expected {}.\n\n",
                fmt_num(mv),
                c.unit,
                fmt_num(lo),
                fmt_num(hi),
                c.coverage.map(format_coverage).unwrap_or_else(|| "-".into()),
                c.estimate.map_or("-", |e| e.describe()),
                c.reps,
                c.expect.describe()
            )),
            _ => out.push_str("**Measured.** not testable here.\n\n"),
        }
        out.push_str(&format!("{}\n", c.explanation));
        if let Some(t) = &c.statement_test {
            out.push_str(&format!(
                "\n**The statement alone.** {} (the verdict above judges the model of the overheads; this one judges only what the claim says, by the same rule).\n",
                t.describe()
            ));
        }
        for p in pictures.iter().filter(|p| p.claim == c.id) {
            out.push_str(&link(p));
        }
        if let Some(n) = c.decide_with_reps {
            out.push_str(&format!(
                "\nInconclusive with {} repetitions; about {n} would narrow the interval enough to decide.\n",
                c.reps
            ));
        } else if c.indistinguishable_from_threshold {
            out.push_str(&format!(
                "\nInconclusive with {} repetitions; {AT_THRESHOLD_TEXT}\n",
                c.reps
            ));
        }
        if !c.figures.is_empty() {
            out.push_str("\n| figure | value |\n|:--|--:|\n");
            for (k, v) in &c.figures {
                let text = match v {
                    // Counts stay whole numbers; measured figures get 3 significant digits.
                    serde_json::Value::Number(n) if n.is_f64() => {
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
pub(crate) fn json(report: &LabReport) -> String {
    crate::report::json::versioned_json(report)
}

/// A line chart of the io-cpu-crossover curve: speedup against CPU share, one line for threads on
/// one core and one for threads spread over the cores.
pub(crate) fn crossover_svg(curve: &[(f64, f64, f64)], threads: usize, cores: usize) -> String {
    let (w, h, left, right, top, bottom) = (700.0, 400.0, 60.0, 200.0, 50.0, 50.0);
    let (pw, ph) = (w - left - right, h - top - bottom);
    let ymax = curve
        .iter()
        .map(|&(_, a, b)| a.max(b))
        .fold(1.0f64, f64::max)
        .ceil()
        .max(2.0);
    let x = |share: f64| left + share * pw;
    let y = |s: f64| top + ph - s / ymax * ph;
    let mut out = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">
<title>Where concurrency stops paying: {threads} threads, io tasks</title>
<desc>Speedup over the sequential twin against each task's CPU share (0 = pure waiting, 1 = pure CPU), for {threads} threads on one core and {threads} threads on {cores} cores.</desc>
<rect width="{w}" height="{h}" fill="white"/>
<text x="{left}" y="22" font-size="15" font-weight="bold">Where concurrency stops paying: {threads} threads, io tasks</text>
<text x="{left}" y="40" fill="#555">speedup over the sequential twin as each task's CPU share grows</text>
"##
    );
    for i in 0..=ymax as usize {
        let yy = y(i as f64);
        out.push_str(&format!(
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{yy}\" y2=\"{yy}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{i}</text>\n",
            left + pw,
            left - 6.0,
            yy + 4.0
        ));
    }
    for i in 0..=4 {
        let share = i as f64 / 4.0;
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{share}</text>\n",
            x(share),
            top + ph + 18.0
        ));
    }
    out.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">CPU share of each task (0 = pure waiting, 1 = pure CPU)</text>\n<text transform=\"translate(18 {}) rotate(-90)\" text-anchor=\"middle\">speedup</text>\n",
        left + pw / 2.0,
        h - 10.0,
        top + ph / 2.0
    ));
    let one_core = format!("{threads} threads on one core");
    let spread = format!("{threads} threads on {cores} cores");
    for (label, colour, pick) in [
        (one_core.as_str(), "#d55e00", 0usize),
        (spread.as_str(), "#0072b2", 1usize),
    ] {
        let points: Vec<String> = curve
            .iter()
            .map(|&(s, a, b)| format!("{:.1},{:.1}", x(s), y(if pick == 0 { a } else { b })))
            .collect();
        out.push_str(&format!(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2.5\"/>\n",
            points.join(" ")
        ));
        for p in &points {
            let (px, py) = p.split_once(',').unwrap_or(("0", "0"));
            out.push_str(&format!(
                "<circle cx=\"{px}\" cy=\"{py}\" r=\"4\" fill=\"{colour}\"/>\n"
            ));
        }
        let ly = top + 20.0 + pick as f64 * 22.0;
        out.push_str(&format!(
            "<line x1=\"{}\" x2=\"{}\" y1=\"{ly}\" y2=\"{ly}\" stroke=\"{colour}\" stroke-width=\"2.5\"/><text x=\"{}\" y=\"{}\">{}</text>\n",
            left + pw + 12.0,
            left + pw + 32.0,
            left + pw + 38.0,
            ly + 4.0,
            crate::text::xml_escape(label)
        ));
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report_with_pictures() -> LabReport {
        let claims: Vec<ClaimResult> = crate::lab::all_claims()
            .take(4)
            .enumerate()
            .map(|(i, c)| {
                let r = ClaimResult::not_testable(
                    c,
                    crate::lab::Expect::AtLeast(1.0),
                    "fixture".into(),
                );
                // Every other claim has a picture.
                r.with_picture_opt((i % 2 == 0).then(|| format!("<svg id=\"{}\"/>", c.id)))
            })
            .collect();
        LabReport {
            machine: crate::report::fixture::machine("Fixture CPU", "2026-12-04T00:00:00Z"),
            rule: VERDICT_RULE.into(),
            quick: true,
            inputs: Default::default(),
            claims,
        }
    }

    #[test]
    fn every_written_picture_is_linked_from_lab_md() {
        let report = report_with_pictures();
        let files = files(&report);
        let md = &files.iter().find(|(n, _)| n == "lab.md").unwrap().1;
        let written: Vec<&str> = files
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| n.ends_with(".svg"))
            .collect();
        assert_eq!(
            written.len(),
            3,
            "the verdict chart and two pictures: {written:?}"
        );
        assert!(written.contains(&verdict_chart::FILE));
        let linked: Vec<&str> = md
            .split("](")
            .skip(1)
            .filter_map(|rest| rest.split_once(')').map(|(target, _)| target))
            .collect();
        for w in &written {
            assert!(linked.contains(w), "{w} written but not linked: {linked:?}");
        }
        for l in &linked {
            assert!(written.contains(l), "{l} linked but not written");
        }
        // On stdout (no file beside it to link) the same document without the chart.
        let chart_line = format!(
            "\n![{}]({})\n",
            verdict_chart::alt(&report),
            verdict_chart::FILE
        );
        assert_eq!(md.replace(&chart_line, ""), markdown(&report));
    }

    #[test]
    fn it_renders_in_every_format_and_writes_the_files_of_out() {
        use crate::report::{Format, Render};
        let report = report_with_pictures();
        assert_eq!(report.render(Format::Terminal), terminal(&report));
        assert_eq!(report.render(Format::Json), json(&report));
        assert_eq!(report.render(Format::Markdown), markdown(&report));
        assert_eq!(report.files(), files(&report));
        // CSV: the verdict table, a header line and a line per claim.
        let csv = report.render(Format::Csv);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 1 + report.claims.len(), "{csv}");
        assert!(lines[0].starts_with("claim,prediction,"), "{csv}");
        for (line, c) in lines[1..].iter().zip(&report.claims) {
            assert!(line.starts_with(&format!("{},", c.id)), "{line}");
            assert!(line.contains(",not-testable,"), "{line}");
        }
        // LaTeX: the same table as one float, its caption naming the machine.
        let tex = report.render(Format::Latex);
        assert_eq!(tex.matches("\\begin{tabular}").count(), 1, "{tex}");
        assert!(tex.contains("Fixture CPU"), "{tex}");
        for c in &report.claims {
            assert!(tex.contains(&format!("\n{} & ", c.id)), "{}: {tex}", c.id);
        }
    }

    #[test]
    fn the_verdict_chart_has_a_row_per_claim() {
        let report = report_with_pictures();
        let svg = verdict_chart::svg(&report);
        let doc = roxmltree::Document::parse(&svg).expect("well-formed SVG");
        assert!(doc.descendants().any(|n| n.has_tag_name("title")));
        for c in &report.claims {
            assert!(svg.contains(&format!(">{}<", c.id)), "{}", c.id);
        }
        assert_eq!(
            svg.matches("not testable on this machine").count(),
            report.claims.len()
        );
    }

    #[test]
    fn the_crossover_chart_is_well_formed() {
        let svg = crossover_svg(&[(0.0, 7.5, 7.6), (0.5, 2.0, 3.9), (1.0, 1.0, 2.0)], 8, 2);
        let doc = roxmltree::Document::parse(&svg).expect("well-formed SVG");
        assert!(doc.descendants().any(|n| n.has_tag_name("title")));
        assert!(doc.descendants().any(|n| n.has_tag_name("desc")));
        assert!(svg.contains("8 threads on one core") && svg.contains("8 threads on 2 cores"));
    }
}
