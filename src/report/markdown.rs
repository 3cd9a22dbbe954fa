//! Markdown rendering (`report.md`): what was run and where, the speedup table, and a short
//! reading of the numbers, ready to paste into coursework or a README.
//!
//! The table is the terminal's [`speedup_table`] (speedup confidence interval included) drawn
//! with [`Table::to_markdown`]; the reading is generated from the rows by [`reading`], so it
//! always agrees with them.

use super::document::markdown_text as md_text;
use super::table::{
    format_bytes_per_connection, format_range, format_requests_per_s, speedup_table, Align, Table,
};
use super::{format_seconds, workload_label, Reporter, RunReport};
use crate::analysis::{format_per_core, Row, WebRow};
use crate::measure::stats::format_coverage;
use crate::strategy::Strategy;

/// `report.md`.
#[derive(Debug, Default, Clone, Copy)]
pub struct MarkdownReporter;

impl Reporter for MarkdownReporter {
    fn name(&self) -> &'static str {
        "markdown"
    }
    fn file_name(&self) -> &'static str {
        "report.md"
    }
    fn render(&self, report: &RunReport) -> String {
        render(report, None)
    }
}

impl MarkdownReporter {
    /// The rendering with the speedup plot shown under the table as an image link to `figure`,
    /// a file written beside `report.md` (`--out` writes `speedup.svg` there).
    #[cfg(test)]
    pub(crate) fn render_with_figure(&self, report: &RunReport, figure: &str) -> String {
        render(report, Some(figure))
    }

    /// The report with its speedup figure, then a section "More pictures" linking each of
    /// `plots` (written beside `report.md` under their file names).
    pub(crate) fn render_with_figures(
        &self,
        report: &RunReport,
        figure: &str,
        plots: &[super::plots::Plot],
    ) -> String {
        let mut out = render(report, Some(figure));
        if !plots.is_empty() {
            out.push_str("\n## More pictures\n");
            for p in plots {
                out.push_str(&format!("\n![{}]({})\n", md_text(&p.alt), p.file));
            }
        }
        out
    }
}

/// The Markdown document, with the speedup plot linked under the table when `figure` names it.
fn render(report: &RunReport, figure: Option<&str>) -> String {
    let m = &report.machine;
    let mut out = format!("# concbench: {}\n\n", workload_label(&report.workload));
    out.push_str(&format!("- **Command:** {}\n", code_span(&m.command)));
    out.push_str(&format!("- **Date:** {}\n", m.date));
    out.push_str(&format!("- **Machine:** {}\n", md_text(&m.summary())));
    out.push_str(&format!(
            "- **CPUs:** {} physical core{} and {} logical CPU{} allowed (affinity mask {}), {} online\n",
            m.physical_cores,
            plural(m.physical_cores),
            m.logical_cpus_allowed,
            plural(m.logical_cpus_allowed),
            code_span(&m.affinity_mask),
            m.logical_cpus_online
        ));
    out.push_str(&format!(
        "- **System:** {}, kernel {}\n",
        md_text(&m.os),
        md_text(&m.kernel)
    ));
    out.push_str(&format!(
        "- **Built with:** concbench {}{}, {}\n",
        m.concbench_version,
        m.git_commit
            .as_deref()
            .map(|c| format!(" (commit {})", code_span(c)))
            .unwrap_or_default(),
        md_text(&m.rustc)
    ));
    out.push_str(&format!(
        "- **Method:** {} timed repetitions per row after {} warm-up; {}. Switches: {}.{}\n",
        report.method.reps,
        report.method.warmup,
        md_text(&report.method.timing),
        md_text(&report.method.switches),
        report
            .method
            .switch_cost_ns
            .map(|c| format!(" Same-core switch cost: {c:.0} ns."))
            .unwrap_or_default()
    ));

    out.push_str("\n## Speedup\n\n");
    out.push_str(&speedup_table(report).to_markdown());
    out.push_str(&format!(
        "\n{}; efficiency = speedup / workers.\n",
        super::speedup_definition(report)
    ));
    let legend = super::table::web_legend(report);
    if legend.is_empty() {
        out.push_str(&format!(
            "\n{}. {}.\n",
            md_text(super::table::workers_legend()),
            md_text(&super::switch_overhead_legend(report))
        ));
    } else {
        out.push_str(&format!("\n{}.\n", md_text(&legend)));
    }
    if let Some(file) = figure {
        out.push_str(&format!(
            "\n![Speedup against workers, one line per strategy]({file})\n"
        ));
    }
    for note in super::notes(report) {
        out.push_str(&format!("\n*{}.*\n", md_text(&note)));
    }
    let ceilings = super::ceiling_lines(report);
    if let Some((head, rest)) = ceilings.split_first() {
        out.push_str(&format!("\n{}\n\n", md_text(head)));
        for line in rest {
            out.push_str(&format!("- {}\n", md_text(line.trim())));
        }
    }
    if !report.amdahl_serial_fraction.is_empty() {
        out.push_str("\nFitted Amdahl serial fraction f (least squares of 1/S = f + (1 − f)/p over the non-oversubscribed rows):\n\n");
        let t = Table {
            headers: vec![
                "strategy".into(),
                "serial fraction f".into(),
                "fit rests on".into(),
            ],
            align: vec![Align::Left, Align::Right, Align::Left],
            rows: report
                .amdahl_serial_fraction
                .iter()
                .map(|f| {
                    vec![
                        f.strategy.clone(),
                        f.cell(),
                        super::fit_basis(report, &f.strategy)
                            .phrase()
                            .trim_start_matches("rests on ")
                            .to_string(),
                    ]
                })
                .collect(),
        };
        out.push_str(&t.to_markdown());
        let mut notes: Vec<&str> = report
            .amdahl_serial_fraction
            .iter()
            .filter(|f| f.serial_fraction.is_none())
            .filter_map(|f| f.note.as_deref())
            .collect();
        notes.dedup();
        for n in notes {
            out.push_str(&format!("\n— : {}.\n", md_text(n)));
        }
        if let Some(mp) = report
            .amdahl_serial_fraction
            .iter()
            .find(|f| f.strategy == Strategy::MultiProcess.name())
        {
            if let Some(n) = super::process_start_up_note(report, mp.serial_fraction) {
                out.push_str(&format!("\n*{}.*\n", md_text(&n)));
            }
        }
    }

    out.push_str("\n## Reading\n\n");
    out.push_str(&md_text(&reading(report)));
    out.push('\n');
    if let Some(web) = web_reading(report) {
        out.push('\n');
        out.push_str(&md_text(&web));
        out.push('\n');
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Inline code that survives backticks in its text.
fn code_span(s: &str) -> String {
    let fence = if s.contains('`') { "``" } else { "`" };
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

fn best(rows: &[&Row]) -> Option<Row> {
    rows.iter()
        .filter(|r| r.speedup.is_finite())
        .max_by(|a, b| a.speedup.total_cmp(&b.speedup))
        .map(|r| (*r).clone())
}

/// `2`, `2 and 4`, `2, 4 and 8`.
fn list(values: &[usize]) -> String {
    let v: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    match v.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// One paragraph reading the numbers: the best speedup and where, whether threads on one core
/// helped, processes against threads, oversubscription, the Amdahl fit and the method. Every
/// figure it names is a field of the report.
pub fn reading(report: &RunReport) -> String {
    let rows = &report.rows;
    let mut s: Vec<String> = Vec::new();
    let seq = rows.iter().find(|r| r.strategy.is_sequential());
    let parallel: Vec<&Row> = rows
        .iter()
        .filter(|r| !r.strategy.is_sequential())
        .collect();

    // The best speedup is read among rows that split the work (one worker is no parallelism),
    // unless there are none.
    let split: Vec<&Row> = parallel.iter().copied().filter(|r| r.cores > 1).collect();
    if let Some(b) = best(if split.is_empty() { &parallel } else { &split }) {
        s.push(format!(
            "The best {} was {:.2}x ({}): {} with {} worker{}, {} against {}{}{}.",
            if b.scaling_undefined.is_some() {
                "relative speed"
            } else {
                "speedup"
            },
            b.speedup,
            match (b.speedup_ci, b.speedup_ci_coverage) {
                (Some(ci), Some(c)) => format!(
                    "{} interval {}x",
                    format_coverage(c),
                    format_range(Some(ci))
                ),
                _ => "no interval from one repetition".to_string(),
            },
            b.strategy,
            b.cores,
            plural(b.cores),
            format_seconds(b.median_s),
            match seq {
                Some(q) => format!("{} sequential", format_seconds(q.median_s)),
                None => format!(
                    "{} for the baseline {} (no sequential run)",
                    format_seconds(rows[0].median_s),
                    report.method.speedup_baseline
                ),
            },
            match b.efficiency {
                Some(e) => format!(", an efficiency of {:.0}%", e * 100.0),
                None => ", so no efficiency (the baseline is not one worker)".to_string(),
            },
            if b.oversubscribed {
                format!(
                    ", in an oversubscribed row ({})",
                    format_per_core(b.workers_per_core)
                )
            } else {
                String::new()
            }
        ));
    } else {
        s.push("Only the sequential baseline was measured, so there is no speedup to read.".into());
    }

    // One worker thread runs the same work as the sequential twin: how far those rows stray
    // from 1x is the noise floor (or the cost of the decomposition) every other difference must
    // beat. One worker *process* also pays for starting a process, which is no noise.
    let stray = parallel
        .iter()
        .filter(|r| r.cores == 1 && r.speedup.is_finite() && r.strategy != Strategy::MultiProcess)
        .max_by(|a, b| (a.speedup - 1.0).abs().total_cmp(&(b.speedup - 1.0).abs()));
    if let Some(r) = stray.filter(|r| (r.speedup - 1.0).abs() > 0.1) {
        s.push(format!(
            "Caution: {} with one worker ran at {:.2}x, {:.0}% away from the sequential twin doing the same work, so this run is noisy (a busy machine) or the decomposition itself costs time; differences smaller than that should not be read as effects.",
            r.strategy,
            r.speedup,
            (r.speedup - 1.0).abs() * 100.0
        ));
    }

    let sct: Vec<&Row> = parallel
        .iter()
        .copied()
        .filter(|r| r.strategy == Strategy::SingleCoreThreaded && r.cores > 1)
        .collect();
    if let Some(top) = best(&sct) {
        let low = sct.iter().map(|r| r.speedup).fold(f64::INFINITY, f64::min);
        let counts: Vec<usize> = sct.iter().map(|r| r.cores).collect();
        if top.speedup >= 1.1 && top.speedup_ci.is_some_and(|[lo, _]| lo > 1.0) {
            s.push(format!(
                "Threads taking turns on one core did help: single-core-threaded reached {:.2}x with {} threads ({}), so the {} spend much of their time waiting, which other threads fill (concurrency without parallelism).",
                top.speedup,
                top.cores,
                format_per_core(top.workers_per_core),
                if top.web.is_some() { "requests" } else { "parts" }
            ));
        } else {
            s.push(format!(
                "Threads taking turns on one core did not help: single-core-threaded stayed between {:.2}x and {:.2}x with {} threads, as expected when the work is CPU-bound; extra threads on one core add switches, not speed.",
                low,
                top.speedup,
                list(&counts)
            ));
        }
    }

    let at = |st: Strategy, n: usize| {
        rows.iter()
            .find(|r| r.strategy == st && r.cores == n && !r.oversubscribed)
    };
    let shared = parallel
        .iter()
        .filter(|r| r.strategy == Strategy::MultiProcess && r.cores > 1 && !r.oversubscribed)
        .filter_map(|mp| at(Strategy::MultiThreaded, mp.cores).map(|mt| (mp, mt)))
        .max_by_key(|(mp, _)| mp.cores);
    if let Some((mp, mt)) = shared {
        s.push(format!(
            "With {} workers, multi-process took {:.2}x the time of multi-threaded ({} against {}), {}.",
            mp.cores,
            mp.median_s / mt.median_s,
            format_seconds(mp.median_s),
            format_seconds(mt.median_s),
            match &mp.web {
                // A server's processes are forked before the clock starts.
                Some(w) => format!(
                    "its worker processes were forked before the clock started (starting that server took {}, which is in no row's time)",
                    format_seconds(w.server_start_s)
                ),
                None => format!(
                    "of which {} went to starting the worker processes",
                    format_seconds(mp.phases.spawn_s)
                ),
            }
        ));
    }

    let over = super::oversubscribed_cores(report);
    let p = report.machine.physical_cores;
    let spread = parallel.iter().any(|r| !super::shares_one_core(r.strategy));
    if over.is_empty() && spread {
        s.push(format!(
            "No row of multi-threaded or multi-process was oversubscribed: every sweep value fits the {p} physical core{} this process may use.",
            plural(p)
        ));
    } else if !over.is_empty() {
        let top = rows
            .iter()
            .filter(|r| {
                r.oversubscribed && !super::shares_one_core(r.strategy) && r.speedup.is_finite()
            })
            .map(|r| r.speedup)
            .fold(0.0f64, f64::max);
        let then = if top > p as f64 * 1.1 {
            format!(
                "yet they reached up to {top:.2}x, so their workers spend most of their time waiting rather than computing"
            )
        } else {
            format!("so computing parts cannot gain more than {p}x there (they reached at most {top:.2}x); those rows measure time slicing, not more parallelism")
        };
        s.push(format!(
            "The rows with {} workers ask for more than the {p} physical core{} this process may use: their workers share cores, {then}.",
            list(&over),
            plural(p)
        ));
    }

    // A limit 1/f is read only from a fit that rests on enough worker counts, each on its own
    // CPUs; otherwise the reading says what the fit rests on and does not extrapolate.
    let fits: Vec<String> = report
        .amdahl_serial_fraction
        .iter()
        .filter(|f| f.strategy != Strategy::SingleCoreThreaded.name())
        .filter_map(|f| {
            let sf = f.serial_fraction?;
            let basis = super::fit_basis(report, &f.strategy);
            let start_up = if f.strategy == Strategy::MultiProcess.name() {
                match super::process_start_up_note(report, Some(sf)) {
                    Some(n) if n.contains("is mostly") => {
                        ", mostly process start-up rather than serial work"
                    }
                    Some(_) => ", which includes process start-up",
                    None => "",
                }
            } else {
                ""
            };
            let tail = if basis.extrapolates(sf) {
                let limit = 1.0 / sf;
                format!(
                    ", so read as Amdahl's law it limits the speedup to about {:.*}x however many cores",
                    if limit < 10.0 { 1 } else { 0 },
                    limit
                )
            } else if super::serial_fraction_flag(sf).is_some() {
                String::new()
            } else {
                format!(
                    ", too few to extrapolate a limit from (that needs {} worker counts, each on cores of its own)",
                    super::AMDAHL_MIN_POINTS
                )
            };
            Some(format!(
                "The fitted Amdahl serial fraction of {} is {}{start_up}; the fit {}{tail}.",
                f.strategy,
                f.cell(),
                basis.phrase()
            ))
        })
        .collect();
    s.extend(fits);

    if let Some(why) = rows.first().and_then(|r| r.scaling_undefined.as_ref()) {
        s.push(format!(
            "Efficiency, serial fraction and the Amdahl fit are not given: {why}."
        ));
    }
    let reps = report.method.reps;
    s.push(format!(
        "Each time is the median of {reps} repetition{} after {} warm-up run{}; {}, and {}.",
        plural(reps),
        report.method.warmup,
        plural(report.method.warmup),
        super::interval_note(report),
        if rows.iter().all(|r| r.verified) {
            "every repetition's answer was verified"
        } else {
            "NOT every row's answer was verified"
        }
    ));
    s.join(" ")
}

/// The `web` paragraph of the reading: what "workers" means for a server, the iterative server
/// against its model 1/(W + c_req), requests per second and latency, memory per connection and
/// whether the load generator shared the server's CPUs. `None` for a report without web rows.
/// Every figure it names is a field of the report.
pub(crate) fn web_reading(report: &RunReport) -> Option<String> {
    let webs: Vec<(&Row, &WebRow)> = report
        .rows
        .iter()
        .filter_map(|r| r.web.as_ref().map(|w| (r, w)))
        .collect();
    let (_, first) = webs.first()?;
    let label = |r: &Row| format!("{} x{}", r.strategy, r.cores);
    let mut s: Vec<String> = vec![
        "For a server, the workers column counts what serves connections at once: threads (single-core-threaded, multi-threaded), worker processes (multi-process) or the connections one event loop serves at once (single-thread-async); the sequential row is the iterative server, which serves one connection at a time.".into(),
    ];
    s.push(format!(
        "Every row served the same {} requests from {} keep-alive connection{} ({}), so a speedup is a ratio of requests per second.",
        report.workload.size,
        first.connections,
        plural(first.connections),
        match first.rate {
            Some(rate) => format!(
                "open loop: {} requests per second asked for whatever the server does, so a row that keeps up serves about that and differs from the others in its latency, measured from each intended send",
                format_requests_per_s(rate)
            ),
            None => "closed loop: each connection sends its next request when the last is answered; latency is measured from each send".into(),
        }
    ));
    let seq = webs.iter().find(|(r, _)| r.strategy.is_sequential());
    if let Some((_, w)) = seq {
        let per_request = w.wait_achieved_s + w.cpu_per_request_s;
        if per_request > 0.0 && per_request.is_finite() {
            let bound = 1.0 / per_request;
            let share = w.requests_per_s / bound;
            s.push(format!(
                "The iterative server can serve at most 1/(W + c_req) requests per second, W the wait a request achieved ({}) and c_req the server's CPU time per request ({}): {} requests/s. It served {} requests/s ({:.0}% of that){}; its latency was p50 {}, p99 {}.",
                format_seconds(w.wait_achieved_s),
                format_seconds(w.cpu_per_request_s),
                format_requests_per_s(bound),
                format_requests_per_s(w.requests_per_s),
                share * 100.0,
                if share < 1.0 {
                    ", the rest of each request's time being what the model leaves out, chiefly the round trip over loopback"
                } else {
                    ""
                },
                format_seconds(w.latency.p50_s),
                format_seconds(w.latency.p99_s),
            ));
        }
    }
    let best = webs
        .iter()
        .filter(|(r, _)| !r.strategy.is_sequential())
        .filter(|(_, w)| w.requests_per_s.is_finite())
        .max_by(|a, b| a.1.requests_per_s.total_cmp(&b.1.requests_per_s));
    if let Some((r, w)) = best {
        let l = &w.latency;
        s.push(format!(
            "The most requests per second came from {}: {} requests/s, with latency p50 {}, p90 {}, p99 {}, p99.9 {} and max {} (each quantile the median over the repetitions).",
            label(r),
            format_requests_per_s(w.requests_per_s),
            format_seconds(l.p50_s),
            format_seconds(l.p90_s),
            format_seconds(l.p99_s),
            format_seconds(l.p999_s),
            format_seconds(l.max_s),
        ));
    }
    let mem: Vec<(&Row, f64)> = webs
        .iter()
        .filter_map(|(r, w)| w.rss_per_connection_bytes.map(|b| (*r, b)))
        .filter(|(_, b)| b.is_finite())
        .collect();
    let low = mem.iter().min_by(|a, b| a.1.total_cmp(&b.1));
    let high = mem.iter().max_by(|a, b| a.1.total_cmp(&b.1));
    if let (Some(lo), Some(hi)) = (low, high) {
        let what = "Resident memory per connection (the server's peak beyond its baseline, over the connections)";
        s.push(if mem.len() == 1 || lo.1 == hi.1 {
            format!("{what} was {}.", format_bytes_per_connection(Some(lo.1)))
        } else {
            format!(
                "{what} ranged from {} ({}) to {} ({}).",
                format_bytes_per_connection(Some(lo.1)),
                label(lo.0),
                format_bytes_per_connection(Some(hi.1)),
                label(hi.0)
            )
        });
    }
    let errors: u64 = webs.iter().map(|(_, w)| w.errors).sum();
    if errors > 0 {
        s.push(format!(
            "{errors} request{} failed.",
            if errors == 1 { "" } else { "s" }
        ));
    }
    let shared: Vec<String> = webs
        .iter()
        .filter(|(_, w)| w.generator_shares_cpu)
        .map(|(r, _)| label(r))
        .collect();
    if shared.is_empty() {
        let mut cpus: Vec<usize> = webs
            .iter()
            .flat_map(|(_, w)| w.generator_cpus.iter().copied())
            .collect();
        cpus.sort_unstable();
        cpus.dedup();
        if !cpus.is_empty() {
            s.push(format!(
                "The load generator ran on CPU{} {}, none of them the server's, so its own work is not in the figures.",
                if cpus.len() == 1 { "" } else { "s" },
                crate::topology::format_cpu_list(&cpus)
            ));
        }
    } else {
        let generator_cpu = webs
            .iter()
            .filter(|(_, w)| w.generator_shares_cpu)
            .filter_map(|(_, w)| w.generator_cpu_per_request_s)
            .filter(|c| c.is_finite())
            .fold(0.0f64, f64::max);
        s.push(format!(
            "The load generator had to share CPUs with the server in {}: its own CPU work (sending requests, reading and checking the responses{}) is inside those rows' times, requests per second and latencies, so the server alone may do better there.",
            list_words(&shared),
            if generator_cpu > 0.0 {
                format!(": up to {} per request", format_seconds(generator_cpu))
            } else {
                String::new()
            }
        ));
    }
    Some(s.join(" "))
}

/// `a`, `a and b`, `a, b and c`.
fn list_words(words: &[String]) -> String {
    match words.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(MarkdownReporter.render(&fixture::report()));
    }

    #[test]
    fn reading_says_when_threads_on_one_core_help() {
        let mut report = fixture::report();
        for r in report.rows.iter_mut() {
            if r.strategy == Strategy::SingleCoreThreaded && r.cores == 4 {
                r.speedup = 3.8;
                r.speedup_ci = Some([3.6, 3.9]);
            }
        }
        let text = reading(&report);
        assert!(text.contains("did help"), "{text}");
        assert!(text.contains("3.80x with 4 threads"), "{text}");
    }

    #[test]
    fn reading_warns_when_one_worker_strays_from_the_baseline() {
        let mut report = fixture::report();
        report.rows[4].speedup = 1.45; // multi-threaded, 1 worker
        let text = reading(&report);
        assert!(
            text.contains("Caution: multi-threaded with one worker ran at 1.45x, 45% away"),
            "{text}"
        );
        assert!(
            text.contains("The best speedup was 1.89x"),
            "one worker is not the best: {text}"
        );
        // One worker process pays for starting a process: that is no sign of noise.
        let mut report = fixture::report();
        let mp1 = report
            .rows
            .iter_mut()
            .find(|r| r.strategy == Strategy::MultiProcess && r.cores == 1)
            .unwrap();
        mp1.speedup = 0.8;
        assert!(!reading(&report).contains("Caution"));
    }

    #[test]
    fn reading_says_when_oversubscribed_rows_gain_by_waiting() {
        let mut report = fixture::report();
        report.rows[6].speedup = 3.9; // multi-threaded, 4 workers, oversubscribed
        let text = reading(&report);
        assert!(text.contains("yet they reached up to 3.90x"), "{text}");
    }

    #[test]
    fn a_many_worker_baseline_gives_no_efficiency_and_no_fit() {
        let mut report = fixture::report();
        report
            .rows
            .retain(|r| r.strategy == Strategy::MultiProcess && r.cores == 2);
        let why = crate::analysis::scaling_undefined(Strategy::MultiProcess, 2);
        report.rows[0].scaling_undefined = why.clone();
        report.rows[0].efficiency = None;
        report.rows[0].serial_fraction = None;
        report.method.speedup_baseline = "multi-process x2".into();
        report.amdahl_serial_fraction = vec![crate::report::AmdahlFit {
            strategy: "multi-process".into(),
            serial_fraction: None,
            fitted: None,
            note: why,
        }];
        let text = MarkdownReporter.render(&report);
        assert!(
            text.lines().any(|l| l.starts_with("| multi-process |")
                && l.split('|').nth(2).is_some_and(|c| c.trim() == "—")),
            "{text}"
        );
        assert!(text.contains("relative speed"), "{text}");
        assert!(!text.contains("efficiency of"), "{text}");
        assert!(!text.contains("fitted Amdahl serial fraction of"), "{text}");
    }

    #[test]
    fn snapshot_web() {
        insta::assert_snapshot!(MarkdownReporter.render(&fixture::web_report()));
    }

    #[test]
    fn web_reports_read_the_servers_figures() {
        let report = fixture::web_report();
        let text = MarkdownReporter.render(&report);
        let head = text.lines().find(|l| l.starts_with("| strategy")).unwrap();
        for col in [
            "| req/s |",
            "| p50 |",
            "| p99 |",
            "| wait |",
            "| mem/conn |",
        ] {
            assert!(
                head.replace(' ', "").contains(&col.replace(' ', "")),
                "{col}: {head}"
            );
        }
        // The speedup table comes before the reading.
        assert!(text.find("## Speedup").unwrap() < text.find("For a server").unwrap());
        // The model of the iterative server from its own fields: W = 1.07 ms, c_req = 60 µs,
        // 1/(W + c_req) = 885/s, of which 2000 requests in 2.4 s (833/s) are 94%.
        let seq = report.rows[0].web.as_ref().unwrap();
        let bound = 1.0 / (seq.wait_achieved_s + seq.cpu_per_request_s);
        let web = web_reading(&report).unwrap();
        for part in [
            "the workers column counts what serves connections at once".to_string(),
            "the sequential row is the iterative server".to_string(),
            "1/(W + c_req)".to_string(),
            "(1.07 ms)".to_string(),
            "(60.0 µs)".to_string(),
            format!("{bound:.0} requests/s"),
            format!(
                "It served 833 requests/s ({:.0}% of that)",
                833.333333 / bound * 100.0
            ),
            "single-thread-async x8: 6061 requests/s".to_string(),
            "p50 1.30 ms, p90 1.82 ms, p99 3.25 ms, p99.9 5.20 ms and max 7.80 ms".to_string(),
            "from 8 KiB (sequential x1) to 64 KiB (single-thread-async x8)".to_string(),
            "share CPUs with the server in multi-threaded x2 and multi-process x2".to_string(),
            "checking the responses: up to 20.0 µs per request) is inside".to_string(),
        ] {
            assert!(web.contains(&part), "{part:?} missing: {web}");
        }
        assert!(text.contains("c\\_req"), "the reading is escaped: {text}");
        assert!(
            text.contains(
                "*the load generator shared CPU(s) with the server in rows multi-threaded x2"
            ),
            "{text}"
        );
        assert!(
            text.contains("its worker processes were forked before the clock started"),
            "{text}"
        );
    }

    #[test]
    fn a_web_run_whose_generator_kept_its_own_cpus_says_so() {
        let mut report = fixture::web_report();
        for r in report.rows.iter_mut() {
            r.web.as_mut().unwrap().generator_shares_cpu = false;
        }
        let text = MarkdownReporter.render(&report);
        assert!(!text.contains("shared CPU(s)"), "{text}");
        assert!(
            text.contains("The load generator ran on CPU 1, none of them the server's"),
            "{text}"
        );
        report.rows[0].web.as_mut().unwrap().rate = Some(500.0);
        assert!(web_reading(&report)
            .unwrap()
            .contains("open loop: 500 requests per second"));
    }

    #[test]
    fn reports_without_web_rows_have_no_web_paragraph() {
        let report = fixture::report();
        assert_eq!(web_reading(&report), None);
        let text = MarkdownReporter.render(&report);
        assert!(
            !text.contains("req/s") && !text.contains("load generator"),
            "{text}"
        );
    }

    #[test]
    fn code_spans_survive_backticks() {
        assert_eq!(code_span("a b"), "`a b`");
        assert_eq!(code_span("echo `x`"), "`` echo `x` ``");
    }
}
