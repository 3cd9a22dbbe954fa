//! CSV rendering: `results.csv`, one line per row of `results.json`, the same fields flattened
//! for spreadsheets, and `samples.csv`, every timed repetition on a line of its own.
//!
//! Each field of a JSON row becomes a column: nested objects are flattened with `_`
//! (`phases.spawn_s` → `phases_spawn_s`), two-ended confidence intervals become `_lo` and `_hi`
//! columns (`speedup_ci` → `speedup_ci_lo`, `speedup_ci_hi`; both empty without an interval),
//! other lists become one cell of space-separated values (`cpus`; a list of two-field objects
//! such as `slow_cpus` as `cpu:slowdown` pairs, `1:1.8`; of larger objects, such as a
//! distributed row's ranks, as `key=value` lists, `cpu=1;host=vm;rank=1`), and an absent value
//! (`serial_fraction` of a one-core row) is an empty cell. Numbers are printed exactly as in the
//! JSON, so the two agree value for value. Quoting follows RFC 4180.
//!
//! So that a column says what it holds, and a row pasted alone still says where it came from:
//!
//! - `cores` is headed `workers` (it counts workers: `single-core-threaded` x8 ran on one CPU),
//!   and `cpus_used` follows it: how many distinct CPUs the workers were seen on (from `cpus`);
//! - `switch_overhead` is headed `switch_overhead_est` (switches counted × a switch cost
//!   measured separately, an estimate), and `switch_cost_ns` follows it: the cost it multiplies
//!   (the report's `method.switch_cost_ns`; empty when none was measured, and then the estimate
//!   is 0);
//! - `serial_fraction_flag` follows `serial_fraction`: empty inside [0, 1], else why the figure
//!   is no Amdahl serial fraction (above 1: the row ran slower than one worker);
//! - every line ends with the machine from the report's machine block: `machine_cpu_model`,
//!   `machine_physical_cores`, `machine_date`, `machine_concbench_version`,
//!   `machine_git_commit`;
//! - `samples_s` is not a column: `samples.csv` ([`SamplesCsvReporter`]) has one line per
//!   repetition, `workload,strategy,workers,repetition,seconds`.
//!
//! A `web` row's server figures are fields of the row itself in the JSON, so they are columns
//! like any other, after the job's: `requests_per_s`, `latency_p50_s` … `latency_max_s`,
//! `wait_achieved_s`, `rss_per_connection_bytes`, `generator_shares_cpu` and the rest (an open
//! loop's `rate`, empty in the closed loop).

use serde_json::Value;

use super::{Reporter, RunReport};

/// JSON fields whose column is headed otherwise, so the header says what the cell holds.
const RENAMED: &[(&str, &str)] = &[
    ("cores", "workers"),
    ("switch_overhead", "switch_overhead_est"),
];

/// The JSON field written to `samples.csv` instead, one value per line.
const SAMPLES: &str = "samples_s";

/// The machine block's fields carried on every line, last (see the module doc).
const MACHINE_COLUMNS: &[&str] = &[
    "machine_cpu_model",
    "machine_physical_cores",
    "machine_date",
    "machine_concbench_version",
    "machine_git_commit",
];

/// Columns in the order people read them; fields not listed here (added to rows later) follow,
/// flattened by the same rules, so the CSV never silently drops a field of the JSON.
const COLUMN_ORDER: &[&str] = &[
    "workload",
    "strategy",
    "workers",
    "cpus_used",
    "reps",
    "median_s",
    "min_s",
    "max_s",
    "mean_s",
    "median_ci_s_lo",
    "median_ci_s_hi",
    "ci_coverage",
    "speedup",
    "speedup_ci_lo",
    "speedup_ci_hi",
    "speedup_ci_coverage",
    "speedup_baseline",
    "efficiency",
    "serial_fraction",
    "serial_fraction_flag",
    "scaling_undefined",
    "verified",
    "oversubscribed",
    "workers_per_core",
    "cpus",
    "slow_cpus",
    "voluntary_switches",
    "involuntary_switches",
    "switches_per_s",
    "switch_overhead_est",
    "switch_cost_ns",
    "user_s",
    "sys_s",
    "phases_spawn_s",
    "phases_setup_s",
    "phases_compute_s",
    "phases_combine_s",
    "throughput",
    "unit",
];

/// The columns of a `web` row (the server's figures, flattened into the row; the latency
/// quantiles as `latency_p50_s` and so on), after [`COLUMN_ORDER`] in this order. A job's rows
/// have none of them, so its CSV keeps the columns it always had.
const WEB_COLUMN_ORDER: &[&str] = &[
    "requests_per_s",
    "latency_p50_s",
    "latency_p90_s",
    "latency_p99_s",
    "latency_p999_s",
    "latency_max_s",
    "connections",
    "errors",
    "wait_achieved_s",
    "cpu_per_request_s",
    "generator_cpu_per_request_s",
    "rate",
    "rss_peak_bytes",
    "rss_per_connection_bytes",
    "kernel_stack_per_connection_bytes",
    "cpu_units",
    "server_start_s",
    "generator_cpus",
    "generator_shares_cpu",
];

/// `results.csv`: a header line, then one line per row.
#[derive(Debug, Default, Clone, Copy)]
pub struct CsvReporter;

impl Reporter for CsvReporter {
    fn name(&self) -> &'static str {
        "csv"
    }
    fn file_name(&self) -> &'static str {
        "results.csv"
    }
    fn render(&self, report: &RunReport) -> String {
        let switch_cost = report
            .method
            .switch_cost_ns
            .map(|c| serde_json::json!(c).to_string())
            .unwrap_or_default();
        let flat: Vec<Vec<(String, String)>> = report
            .rows
            .iter()
            .map(|r| {
                let mut cells = Vec::new();
                flatten(
                    "",
                    &serde_json::to_value(r).expect("row serialises"),
                    &mut cells,
                );
                cells.retain(|(k, _)| k != SAMPLES);
                for (k, _) in cells.iter_mut() {
                    if let Some((_, to)) = RENAMED.iter().find(|(from, _)| k == from) {
                        *k = to.to_string();
                    }
                }
                cells.push(("cpus_used".into(), super::cpus_used(r).to_string()));
                cells.push((
                    "serial_fraction_flag".into(),
                    r.serial_fraction
                        .and_then(super::serial_fraction_flag)
                        .unwrap_or_default()
                        .to_string(),
                ));
                cells.push(("switch_cost_ns".into(), switch_cost.clone()));
                cells
            })
            .collect();
        let m = &report.machine;
        let machine = [
            m.cpu_model.clone(),
            m.physical_cores.to_string(),
            m.date.clone(),
            m.concbench_version.clone(),
            m.git_commit.clone().unwrap_or_default(),
        ];
        let mut columns: Vec<String> = Vec::new();
        for name in COLUMN_ORDER.iter().chain(WEB_COLUMN_ORDER) {
            if flat
                .iter()
                .any(|cells| cells.iter().any(|(k, _)| k == name))
            {
                columns.push(name.to_string());
            }
        }
        let mut extra: Vec<String> = flat
            .iter()
            .flatten()
            .map(|(k, _)| k.clone())
            .filter(|k| !columns.contains(k))
            .collect();
        extra.sort();
        extra.dedup();
        columns.extend(extra);

        let mut out = csv_line(
            columns
                .iter()
                .map(String::as_str)
                .chain(MACHINE_COLUMNS.iter().copied()),
        );
        for cells in &flat {
            out.push_str(&csv_line(
                columns
                    .iter()
                    .map(|c| {
                        cells
                            .iter()
                            .find(|(k, _)| k == c)
                            .map(|(_, v)| v.as_str())
                            .unwrap_or("")
                    })
                    .chain(machine.iter().map(String::as_str)),
            ));
        }
        out
    }
}

/// `samples.csv`: every timed repetition of every row on a line of its own (long form),
/// `workload,strategy,workers,repetition,seconds`, repetitions numbered from 1 in the order they
/// ran. Join it to `results.csv` on workload, strategy and workers.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct SamplesCsvReporter;

impl Reporter for SamplesCsvReporter {
    fn name(&self) -> &'static str {
        "samples-csv"
    }
    fn file_name(&self) -> &'static str {
        "samples.csv"
    }
    fn render(&self, report: &RunReport) -> String {
        let mut out =
            csv_line(["workload", "strategy", "workers", "repetition", "seconds"].into_iter());
        for r in &report.rows {
            for (i, s) in r.samples_s.iter().enumerate() {
                out.push_str(&csv_line(
                    [
                        r.workload.clone(),
                        r.strategy.to_string(),
                        r.cores.to_string(),
                        (i + 1).to_string(),
                        serde_json::json!(s).to_string(),
                    ]
                    .iter()
                    .map(String::as_str),
                ));
            }
        }
        out
    }
}

/// Flatten one JSON value into `(column, cell)` pairs.
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}_{k}")
        }
    };
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                flatten(&join(k), v, out);
            }
        }
        Value::Array(items) if is_interval(prefix) && items.len() == 2 => {
            out.push((format!("{prefix}_lo"), scalar(&items[0])));
            out.push((format!("{prefix}_hi"), scalar(&items[1])));
        }
        Value::Null if is_interval(prefix) => {
            out.push((format!("{prefix}_lo"), String::new()));
            out.push((format!("{prefix}_hi"), String::new()));
        }
        Value::Array(items) => {
            let cell: Vec<String> = items
                .iter()
                .map(|v| match v {
                    // Two fields read as a pair (`cpu:slowdown`); more need their names
                    // (`distributed.ranks`: `bytes_received=..;bytes_sent=..;cpu=1;host=vm;rank=1`).
                    Value::Object(map) if map.len() <= 2 => {
                        map.values().map(scalar).collect::<Vec<_>>().join(":")
                    }
                    Value::Object(map) => map
                        .iter()
                        .map(|(k, v)| format!("{k}={}", scalar(v)))
                        .collect::<Vec<_>>()
                        .join(";"),
                    v => scalar(v),
                })
                .collect();
            out.push((prefix.to_string(), cell.join(" ")));
        }
        v => out.push((prefix.to_string(), scalar(v))),
    }
}

/// Whether a field is a two-ended interval (`median_ci_s`, `speedup_ci`, `ci95` in old files).
fn is_interval(name: &str) -> bool {
    name.ends_with("ci_s") || name.ends_with("_ci") || name.contains("ci95")
}

/// A scalar as a cell: strings unquoted, null empty, numbers and booleans as JSON writes them.
fn scalar(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Quote a cell when RFC 4180 requires it (a comma, a double quote, a line break, or spaces at
/// either end), doubling inner quotes.
pub(crate) fn csv_field(cell: &str) -> String {
    let needs = cell.contains([',', '"', '\n', '\r']) || cell.trim() != cell;
    if needs {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_string()
    }
}

fn csv_line<'a>(cells: impl Iterator<Item = &'a str>) -> String {
    let mut line = cells.map(csv_field).collect::<Vec<_>>().join(",");
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_of_larger_objects_keep_their_field_names() {
        let row = serde_json::json!({
            "slow_cpus": [{"cpu": 1, "slowdown": 1.8}],
            "distributed": {"ranks": [{"rank": 0, "host": "a", "cpu": 0}, {"rank": 1, "host": "b", "cpu": 3}]},
        });
        let mut cells = Vec::new();
        flatten("", &row, &mut cells);
        let cell = |k: &str| cells.iter().find(|(c, _)| c == k).unwrap().1.clone();
        assert_eq!(cell("slow_cpus"), "1:1.8");
        assert_eq!(
            cell("distributed_ranks"),
            "cpu=0;host=a;rank=0 cpu=3;host=b;rank=1"
        );
    }
    use crate::report::fixture;

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(CsvReporter.render(&fixture::report()));
    }

    #[test]
    fn quotes_only_what_needs_quoting() {
        assert_eq!(csv_field("multi-threaded"), "multi-threaded");
        assert_eq!(csv_field("0,1"), "\"0,1\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field(" padded"), "\" padded\"");
        assert_eq!(csv_field(""), "");
    }

    #[test]
    fn one_line_per_row_and_every_json_field_has_a_column() {
        let report = fixture::report();
        let text = CsvReporter.render(&report);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), report.rows.len() + 1);
        let header: Vec<&str> = lines[0].split(',').collect();
        // Every known column is present (the fixture's rows have every field)...
        for c in COLUMN_ORDER {
            assert!(header.contains(c), "missing column {c}");
        }
        // ...and no JSON field is left out.
        assert_every_json_field_has_a_column(&report.rows[0], &header);
    }

    /// Every field of the row's JSON has a column (by its name, or the name it is headed by),
    /// but `samples_s`, which is in samples.csv; the other columns are the derived ones and the
    /// machine's.
    fn assert_every_json_field_has_a_column(row: &crate::analysis::Row, header: &[&str]) {
        let mut cells = Vec::new();
        flatten("", &serde_json::to_value(row).unwrap(), &mut cells);
        let mut fields = 0;
        for (k, _) in cells.iter().filter(|(k, _)| k != SAMPLES) {
            let name = RENAMED
                .iter()
                .find(|(from, _)| from == k)
                .map_or(k.as_str(), |(_, to)| to);
            assert!(header.contains(&name), "JSON field {k} has no column");
            fields += 1;
        }
        assert!(!header.contains(&SAMPLES), "samples_s is in samples.csv");
        let derived = ["cpus_used", "serial_fraction_flag", "switch_cost_ns"];
        assert_eq!(header.len(), fields + derived.len() + MACHINE_COLUMNS.len());
    }

    #[test]
    fn snapshot_web() {
        insta::assert_snapshot!(CsvReporter.render(&fixture::web_report()));
    }

    #[test]
    fn web_rows_have_their_figures_as_columns() {
        let report = fixture::web_report();
        let text = CsvReporter.render(&report);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), report.rows.len() + 1);
        let header: Vec<&str> = lines[0].split(',').collect();
        for c in COLUMN_ORDER.iter().chain(WEB_COLUMN_ORDER) {
            assert!(header.contains(c), "missing column {c}: {}", lines[0]);
        }
        // The web columns follow the job's, in their order, before any column added later.
        let at = |c: &str| header.iter().position(|h| *h == c).unwrap();
        assert_eq!(at("requests_per_s"), COLUMN_ORDER.len());
        assert!(at("latency_p50_s") < at("latency_p99_s"));
        // No JSON field is left out, and the values are the JSON's.
        assert_every_json_field_has_a_column(&report.rows[2], &header);
        // Split on commas outside quotes: the web fixture's cells hold none.
        let row: Vec<&str> = lines[3].split(',').collect();
        assert_eq!(row.len(), header.len(), "{}", lines[3]);
        let w = report.rows[2].web.as_ref().unwrap();
        assert_eq!(
            row[at("latency_p99_s")],
            serde_json::json!(w.latency.p99_s).to_string()
        );
        assert_eq!(
            row[at("requests_per_s")],
            serde_json::json!(w.requests_per_s).to_string()
        );
        assert_eq!(row[at("generator_shares_cpu")], "true");
        assert_eq!(row[at("generator_cpus")], "1");
        assert_eq!(row[at("rate")], "", "closed loop: no rate");
    }

    #[test]
    fn a_jobs_rows_keep_their_columns() {
        let text = CsvReporter.render(&fixture::report());
        let header = text.lines().next().unwrap();
        for c in WEB_COLUMN_ORDER {
            assert!(!header.split(',').any(|h| h == *c), "{c} in {header}");
        }
    }

    #[test]
    fn absent_values_are_empty_cells() {
        let text = CsvReporter.render(&fixture::report());
        let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
        let col = header.iter().position(|c| *c == "serial_fraction").unwrap();
        let first_row: Vec<&str> = text.lines().nth(1).unwrap().split(',').collect();
        assert_eq!(first_row[col], "", "sequential has no Karp-Flatt fraction");
    }
}
