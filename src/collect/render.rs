//! Renderings of a [`Collection`] (what its [`Render`](crate::report::Render) impl calls): the
//! terminal text, `report.md`, `results.csv` (one flat table of every run row, with a workload
//! column), `lab.csv`, `results.json`, the tables as LaTeX and a speedup chart per run group
//! (`speedup-WORKLOAD.svg`, one line per machine), and [`files`], the set
//! `concbench collect --out DIR` writes.
//!
//! Every table is one [`Table`], drawn for the terminal, as Markdown or (through a
//! [`Document`]) as LaTeX, so they say the same thing. Text that came from a file (CPU models, paths, claim ids) was cleaned when gathered
//! (control characters escaped); Markdown cells also escape `<` and `>`, and the chart escapes
//! XML.

use super::{CollectRow, Collection, RunGroup};
use crate::report::document::{Block, Document};
use crate::report::json::versioned_json;
use crate::report::svg::{speedup_chart, SpeedupChart, SpeedupLine, SpeedupPoint};
use crate::report::table::{format_range, Align, SecondsColumn, Table};
use crate::strategy::Strategy;

/// `concbench collect: 3 files from 2 machines`: the title of every rendering.
pub(crate) fn title(c: &Collection) -> String {
    let n = c.files.len();
    let m = c.machine_count();
    format!(
        "concbench collect: {n} file{} from {m} machine{}",
        if n == 1 { "" } else { "s" },
        if m == 1 { "" } else { "s" }
    )
}

/// What a collection's tables are, in one paragraph.
pub(crate) const ABOUT: &str = "One table per workload with its size and parameters and per concbench version (runs of different problems or versions are never mixed), a row per machine × strategy × workers; machines are numbered M1, M2... in the order of the files. Speedup = the file's own baseline median / the row's median, with its interval where the file has one; efficiency = speedup / workers. Lab files: one table, a row per machine × claim.";

/// A group's heading: `mergesort (size=4000000, seed=42), concbench 0.1.0`.
pub(crate) fn heading(g: &RunGroup) -> String {
    format!("{}, concbench {}", g.label, g.concbench_version)
}

/// Whether a machine contributes more than one file of `files` (then rows name their file).
fn repeats_machine(c: &Collection, files: &[usize]) -> bool {
    files.iter().enumerate().any(|(i, &f)| {
        files[..i]
            .iter()
            .any(|&e| c.files[e].machine == c.files[f].machine)
    })
}

/// `M1: AMD EPYC 9R14 96-Core Processor, 2 cores, Debian GNU/Linux 12 (bookworm), VM`.
fn machine_cell(c: &Collection, id: &str) -> String {
    match c.machine(id) {
        Some(m) => format!("{id}: {}", m.name),
        None => id.to_string(),
    }
}

/// A speedup with its interval: `1.95x (1.90–2.01)`.
fn speedup_cell(r: &CollectRow) -> String {
    match r.speedup_ci {
        Some(_) => format!("{:.2}x ({})", r.speedup, format_range(r.speedup_ci)),
        None => format!("{:.2}x", r.speedup),
    }
}

/// The table of one run group.
pub(crate) fn run_table(c: &Collection, g: &RunGroup) -> Table {
    let with_file = repeats_machine(c, &g.files);
    let seconds = SecondsColumn::new(g.rows.iter().map(|r| r.median_s));
    let mut cols = vec![("machine", Align::Left)];
    if with_file {
        cols.push(("file", Align::Right));
    }
    cols.extend([
        ("strategy", Align::Left),
        ("workers", Align::Right),
        ("median", Align::Right),
        ("speedup (interval)", Align::Right),
        ("efficiency", Align::Right),
    ]);
    let rows = g
        .rows
        .iter()
        .map(|r| {
            let mut cells = vec![machine_cell(c, &r.machine)];
            if with_file {
                cells.push(format!("#{}", r.file + 1));
            }
            cells.extend([
                r.strategy.to_string(),
                format!("{}{}", r.workers, if r.oversubscribed { "*" } else { "" }),
                seconds.cell(r.median_s),
                speedup_cell(r),
                r.efficiency
                    .map_or("—".into(), |e| format!("{:.0}%", e * 100.0)),
            ]);
            cells
        })
        .collect();
    Table {
        headers: cols.iter().map(|(h, _)| h.to_string()).collect(),
        align: cols.iter().map(|(_, a)| *a).collect(),
        rows,
    }
}

/// The lines under a group's table: its files, what the speedup divides, the marks.
pub(crate) fn run_footer(g: &RunGroup) -> Vec<String> {
    let files: Vec<String> = g.files.iter().map(|f| format!("#{}", f + 1)).collect();
    let mut baselines: Vec<&str> = g.rows.iter().map(|r| r.speedup_baseline.as_str()).collect();
    baselines.sort_unstable();
    baselines.dedup();
    let mut lines = vec![format!(
        "files {}; speedup = the file's own {} median / the row's median.",
        files.join(", "),
        baselines.join(" or ")
    )];
    if g.rows.iter().any(|r| r.oversubscribed) {
        lines.push(
            "* oversubscribed: more workers than the cores the strategy lets them use on that machine."
                .into(),
        );
    }
    if g.rows.iter().any(|r| !r.verified) {
        lines.push(
            "some rows were not verified (a wrong answer in a repetition): see their files.".into(),
        );
    }
    lines
}

/// The table of every lab claim.
pub(crate) fn lab_table(c: &Collection) -> Table {
    let lab_files: Vec<usize> = {
        let mut v: Vec<usize> = c.labs.iter().map(|r| r.file).collect();
        v.dedup();
        v
    };
    let with_file = repeats_machine(c, &lab_files);
    let mut cols = vec![("machine", Align::Left)];
    if with_file {
        cols.push(("file", Align::Right));
    }
    cols.extend([
        ("claim", Align::Left),
        ("measured [interval] coverage", Align::Right),
        ("predicted", Align::Left),
        ("verdict", Align::Left),
    ]);
    let rows = c
        .labs
        .iter()
        .map(|r| {
            let mut cells = vec![machine_cell(c, &r.machine)];
            if with_file {
                cells.push(format!("#{}", r.file + 1));
            }
            cells.extend([
                r.claim.clone(),
                r.measured_text.clone(),
                r.predicted.clone(),
                r.verdict.clone(),
            ]);
            cells
        })
        .collect();
    Table {
        headers: cols.iter().map(|(h, _)| h.to_string()).collect(),
        align: cols.iter().map(|(_, a)| *a).collect(),
        rows,
    }
}

/// The files of the lab table, as `#2, #7`.
fn lab_files(c: &Collection) -> String {
    let mut v: Vec<usize> = c.labs.iter().map(|r| r.file).collect();
    v.sort_unstable();
    v.dedup();
    v.iter()
        .map(|f| format!("#{}", f + 1))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One line per file: `#1 results/mergesort/results.json: M1, mergesort (...), concbench
/// 0.1.0 (4b99254ea3e5), 2026-01-02T03:04:05Z`.
fn file_lines(c: &Collection) -> Vec<String> {
    c.files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            format!(
                "#{} {}: {}, {}, concbench {}, {}",
                i + 1,
                f.file,
                f.machine,
                f.what,
                f.concbench,
                f.date
            )
        })
        .collect()
}

/// For the terminal: title, machines, files, a table per group, the lab table.
pub(crate) fn terminal(c: &Collection) -> String {
    let mut out = format!("{}\n\nmachines:\n", title(c));
    for m in &c.machines {
        out.push_str(&format!("  {}  {}\n", m.id, m.summary));
    }
    out.push_str("files:\n");
    for line in file_lines(c) {
        out.push_str(&format!("  {line}\n"));
    }
    for g in &c.runs {
        out.push_str(&format!("\n{}\n", heading(g)));
        out.push_str(&run_table(c, g).to_terminal());
        for line in run_footer(g) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    if !c.labs.is_empty() {
        out.push_str(&format!("\nlab claims (files {})\n", lab_files(c)));
        out.push_str(&lab_table(c).to_terminal());
    }
    out
}

/// Text from a file made safe for Markdown prose and cells: `<` and `>` as entities.
fn md(s: &str) -> String {
    s.replace('<', "&lt;").replace('>', "&gt;")
}

/// A table with every cell made safe for Markdown.
fn md_table(t: Table) -> String {
    Table {
        rows: t
            .rows
            .into_iter()
            .map(|r| r.into_iter().map(|c| md(&c)).collect())
            .collect(),
        ..t
    }
    .to_markdown()
}

/// `report.md`: the title, what the tables are, the machines and files, a table (and, with
/// `figures`, its chart) per group, the lab table. Self-describing: it says what it holds
/// without the other files.
pub(crate) fn markdown(c: &Collection, figures: bool) -> String {
    let mut out = format!("# {}\n\n{ABOUT}\n\n## Machines\n\n", title(c));
    for m in &c.machines {
        out.push_str(&format!("- **{}**: {}\n", m.id, md(&m.summary)));
    }
    out.push_str("\n## Files\n\n");
    for (i, f) in c.files.iter().enumerate() {
        out.push_str(&format!(
            "{}. `{}`: {}, {}, concbench {}, {}\n",
            i + 1,
            f.file.replace('`', "'"),
            f.machine,
            md(&f.what),
            md(&f.concbench),
            md(&f.date)
        ));
    }
    for g in &c.runs {
        out.push_str(&format!("\n## {}\n\n", md(&heading(g))));
        out.push_str(&md_table(run_table(c, g)));
        out.push('\n');
        for line in run_footer(g) {
            out.push_str(&md(&line).replace('*', "\\*"));
            out.push_str("\n\n");
        }
        if figures && has_lines(g) {
            out.push_str(&format!(
                "![{}: speedup against workers, one line per machine]({})\n",
                md(&g.label).replace(['[', ']'], ""),
                g.figure
            ));
        }
    }
    if !c.labs.is_empty() {
        out.push_str(&format!(
            "\n## Lab claims\n\nFiles {}: a row per machine × claim, the measured figure with its interval, the prediction and the verdict.\n\n",
            lab_files(c)
        ));
        out.push_str(&md_table(lab_table(c)));
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

/// An optional number as a CSV cell (empty when absent).
fn num(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// One CSV line, RFC 4180 quoting.
fn csv_line(cells: &[String]) -> String {
    let mut line = cells
        .iter()
        .map(|c| crate::report::csv::csv_field(c))
        .collect::<Vec<_>>()
        .join(",");
    line.push('\n');
    line
}

/// `results.csv`: every run row of every group in one flat table, with the workload, its
/// parameters, the concbench version and the machine on each line.
pub(crate) fn csv(c: &Collection) -> String {
    let header = [
        "workload",
        "workload_label",
        "concbench_version",
        "machine",
        "machine_name",
        "cpu_model",
        "physical_cores",
        "os",
        "virtualized",
        "file",
        "strategy",
        "workers",
        "median_s",
        "median_ci_s_lo",
        "median_ci_s_hi",
        "speedup",
        "speedup_ci_lo",
        "speedup_ci_hi",
        "speedup_baseline",
        "efficiency",
        "oversubscribed",
        "verified",
    ];
    let mut out = csv_line(&header.map(String::from));
    for g in &c.runs {
        for r in &g.rows {
            let m = c.machine(&r.machine);
            out.push_str(&csv_line(&[
                g.workload.clone(),
                g.label.clone(),
                g.concbench_version.clone(),
                r.machine.clone(),
                m.map(|m| m.name.clone()).unwrap_or_default(),
                m.map(|m| m.cpu_model.clone()).unwrap_or_default(),
                m.map(|m| m.physical_cores.to_string()).unwrap_or_default(),
                m.map(|m| m.os.clone()).unwrap_or_default(),
                m.map(|m| m.virtualized.to_string()).unwrap_or_default(),
                c.files[r.file].file.clone(),
                r.strategy.to_string(),
                r.workers.to_string(),
                r.median_s.to_string(),
                num(r.median_ci_s.map(|i| i[0])),
                num(r.median_ci_s.map(|i| i[1])),
                r.speedup.to_string(),
                num(r.speedup_ci.map(|i| i[0])),
                num(r.speedup_ci.map(|i| i[1])),
                r.speedup_baseline.clone(),
                num(r.efficiency),
                r.oversubscribed.to_string(),
                r.verified.to_string(),
            ]));
        }
    }
    out
}

/// `lab.csv`: every claim of every lab file, with its machine.
pub(crate) fn lab_csv(c: &Collection) -> String {
    let header = [
        "machine",
        "machine_name",
        "file",
        "quick",
        "claim",
        "measured",
        "unit",
        "spread_lo",
        "spread_hi",
        "predicted",
        "verdict",
    ];
    let mut out = csv_line(&header.map(String::from));
    for r in &c.labs {
        out.push_str(&csv_line(&[
            r.machine.clone(),
            c.machine(&r.machine)
                .map(|m| m.name.clone())
                .unwrap_or_default(),
            c.files[r.file].file.clone(),
            r.quick.to_string(),
            r.claim.clone(),
            num(r.measured),
            r.unit.clone(),
            num(r.spread.map(|s| s[0])),
            num(r.spread.map(|s| s[1])),
            r.predicted.clone(),
            r.verdict.clone(),
        ]));
    }
    out
}

/// `results.json`: the whole collection, with its schema version.
pub(crate) fn json(c: &Collection) -> String {
    versioned_json(c)
}

/// Every table as a LaTeX `table` float (booktabs), through [`Document::to_latex`]: a table per
/// run group, captioned with its heading and the lines under it, then the lab table.
pub(crate) fn latex(c: &Collection) -> String {
    let mut doc = Document::new(title(c));
    for g in &c.runs {
        let id = g
            .figure
            .trim_end_matches(".svg")
            .replacen("speedup-", "runs-", 1);
        let mut caption = heading(g);
        for line in run_footer(g) {
            caption.push_str(". ");
            caption.push_str(line.trim_end_matches('.'));
        }
        caption.push('.');
        doc.push(Block::Table {
            id,
            caption,
            table: run_table(c, g),
        });
    }
    if !c.labs.is_empty() {
        doc.push(Block::Table {
            id: "lab-claims".into(),
            caption: format!(
                "Lab claims (files {}): a row per machine × claim, the measured figure with its interval, the prediction and the verdict.",
                lab_files(c)
            ),
            table: lab_table(c),
        });
    }
    doc.to_latex()
}

/// The strategy drawn for one file of a group: multi-threaded where the file has it, else the
/// non-sequential strategy with the highest speedup; `None` when it has only a sequential row.
fn drawn_strategy(rows: &[&CollectRow]) -> Option<Strategy> {
    if rows.iter().any(|r| r.strategy == Strategy::MultiThreaded) {
        return Some(Strategy::MultiThreaded);
    }
    rows.iter()
        .filter(|r| !r.strategy.is_sequential())
        .max_by(|a, b| a.speedup.total_cmp(&b.speedup))
        .map(|r| r.strategy)
}

/// The lines of a group's chart: one per file (per machine, where each machine has one file).
fn chart_lines(c: &Collection, g: &RunGroup) -> Vec<SpeedupLine> {
    let with_file = repeats_machine(c, &g.files);
    g.files
        .iter()
        .filter_map(|&f| {
            let rows: Vec<&CollectRow> = g.rows.iter().filter(|r| r.file == f).collect();
            let strategy = drawn_strategy(&rows)?;
            let machine = &c.files[f].machine;
            let mut label = machine.clone();
            if with_file {
                label.push_str(&format!(" #{}", f + 1));
            }
            if strategy != Strategy::MultiThreaded {
                label.push_str(&format!(" ({strategy})"));
            }
            Some(SpeedupLine {
                label,
                points: rows
                    .iter()
                    .filter(|r| r.strategy == strategy)
                    .map(|r| SpeedupPoint {
                        workers: r.workers,
                        speedup: r.speedup,
                        interval: r.speedup_ci,
                    })
                    .collect(),
            })
        })
        .collect()
}

/// Whether a group has any line to draw.
fn has_lines(g: &RunGroup) -> bool {
    g.rows.iter().any(|r| !r.strategy.is_sequential())
}

/// The speedup chart of one group: one line per machine (per file where a machine has
/// several), its multi-threaded rows, or where a file has none its best strategy, named in the
/// legend.
pub(crate) fn chart(c: &Collection, g: &RunGroup) -> String {
    let lines = chart_lines(c, g);
    let with_file = repeats_machine(c, &g.files);
    let mut machines: Vec<&str> = g
        .files
        .iter()
        .map(|&f| c.files[f].machine.as_str())
        .collect();
    machines.dedup();
    let mut notes: Vec<String> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for id in machines {
        if !seen.contains(&id) {
            seen.push(id);
            notes.push(machine_cell(c, id));
        }
    }
    notes.push(format!(
        "Each line: one machine's (one file's) multi-threaded rows; a file without them: its best strategy, named in the legend. Error bars: the speedup's interval where the file has one. concbench {}; {}.",
        g.concbench_version,
        title(c)
    ));
    speedup_chart(&SpeedupChart {
        title: format!("{}: speedup against workers", g.label),
        subtitle: format!(
            "one line per {} ({} file{} from {} machine{}), its multi-threaded rows; concbench {}",
            if with_file { "file" } else { "machine" },
            g.files.len(),
            if g.files.len() == 1 { "" } else { "s" },
            seen.len(),
            if seen.len() == 1 { "" } else { "s" },
            g.concbench_version
        ),
        lines,
        notes,
    })
}

/// The files of `concbench collect --out DIR`: `report.md` (tables and charts), `results.csv`,
/// `lab.csv` (when lab files were read), `results.json`, a chart per group with anything to
/// draw, and `report.html` (report.md with the charts inside).
pub(crate) fn files(c: &Collection) -> Vec<(String, String)> {
    let mut out = vec![
        ("report.md".to_string(), markdown(c, true)),
        ("results.csv".to_string(), csv(c)),
        ("results.json".to_string(), json(c)),
    ];
    if !c.labs.is_empty() {
        out.push(("lab.csv".into(), lab_csv(c)));
    }
    let figures: Vec<(String, String)> = c
        .runs
        .iter()
        .filter(|g| has_lines(g))
        .map(|g| (g.figure.clone(), chart(c, g)))
        .collect();
    let page = crate::report::html::page(&out[0].1, &figures);
    out.extend(figures);
    out.push((crate::report::html::PAGE.to_string(), page));
    out
}
