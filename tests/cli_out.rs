//! `concbench run --out DIR`: the five result files, CSV and JSON agreeing row for row, an
//! unwritable directory refused before any work; and `concbench compare` on real files, with
//! its own `--out` set.

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

fn concbench() -> Command {
    Command::cargo_bin("concbench").unwrap()
}

/// A minimal RFC 4180 reader: quoted fields, doubled quotes, commas and newlines inside quotes.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        !quoted && field.is_empty() && row.is_empty(),
        "CSV ends mid-line"
    );
    rows
}

/// The JSON value a CSV column was flattened from.
fn json_cell<'a>(row: &'a Value, column: &str) -> Option<&'a Value> {
    if let Some(v) = row.get(column) {
        return Some(v);
    }
    for (suffix, i) in [("_lo", 0), ("_hi", 1)] {
        if let Some(base) = column.strip_suffix(suffix) {
            if let Some(v) = row.get(base).and_then(|a| a.get(i)) {
                return Some(v);
            }
        }
    }
    let (obj, field) = column.split_once('_')?;
    row.get(obj)?.get(field)
}

fn agree(json: &Value, cell: &str) -> bool {
    match json {
        Value::Null => cell.is_empty(),
        // serde_json's default float parser (no `float_roundtrip` feature) may land one ulp
        // off the written digits, while `str::parse` is exact: allow a few ulps.
        Value::Number(n) => match (cell.parse::<f64>(), n.as_f64()) {
            (Ok(c), Some(j)) => {
                c == j || (c - j).abs() <= 4.0 * f64::EPSILON * c.abs().max(j.abs())
            }
            _ => false,
        },
        Value::String(s) => s == cell,
        Value::Bool(b) => cell == b.to_string(),
        // A list of objects (`slow_cpus`) has one `a:b` cell item per object.
        Value::Object(map) => {
            let parts: Vec<&str> = cell.split(':').collect();
            parts.len() == map.len() && map.values().zip(parts).all(|(j, c)| agree(j, c))
        }
        Value::Array(items) => {
            let parts: Vec<&str> = cell.split(' ').filter(|p| !p.is_empty()).collect();
            parts.len() == items.len() && items.iter().zip(parts).all(|(j, c)| agree(j, c))
        }
    }
}

#[test]
fn out_writes_ten_consistent_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("new/sub dir");
    concbench()
        .args([
            "run",
            "--workload",
            "mergesort",
            "--size",
            "20000",
            "--cores",
            "1,2",
            "--reps",
            "2",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .timeout(Duration::from_secs(120))
        .assert()
        .success();
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ".concbench-set",
            "efficiency.svg",
            "phases.svg",
            "repetitions.svg",
            "report.html",
            "report.md",
            "results.csv",
            "results.json",
            "results.tex",
            "samples.csv",
            "speedup.svg"
        ],
        "exactly the ten files and the set's manifest, no temporary ones left"
    );

    let doc: Value = serde_json::from_str(&read("results.json")).unwrap();
    let json_rows = doc["rows"].as_array().unwrap();
    let csv = parse_csv(&read("results.csv"));
    let (header, csv_rows) = csv.split_first().unwrap();
    assert_eq!(csv_rows.len(), json_rows.len(), "one CSV line per JSON row");
    assert!(csv_rows.len() >= 5, "sequential + 3 strategies x 2 cores");
    for (j, c) in json_rows.iter().zip(csv_rows) {
        assert_eq!(c.len(), header.len());
        for (col, cell) in header.iter().zip(c) {
            match col.as_str() {
                // Derived from the row: distinct CPUs of `cpus`; why `serial_fraction` is no
                // Amdahl fit, empty inside [0, 1].
                "cpus_used" => {
                    let mut cpus: Vec<u64> = j["cpus"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_u64().unwrap())
                        .collect();
                    cpus.sort_unstable();
                    cpus.dedup();
                    assert_eq!(cell, &cpus.len().to_string(), "cpus_used");
                }
                "serial_fraction_flag" => {
                    let inside = j["serial_fraction"]
                        .as_f64()
                        .map_or(true, |f| (0.0..=1.0).contains(&f));
                    assert_eq!(cell.is_empty(), inside, "serial_fraction_flag {cell:?}");
                }
                // From the report's method and machine blocks, on every line.
                "switch_cost_ns" => {
                    let v = &doc["method"]["switch_cost_ns"];
                    assert!(agree(v, cell), "{col}: JSON {v} against CSV {cell:?}");
                }
                c if c.starts_with("machine_") => {
                    let v = &doc["machine"][&c["machine_".len()..]];
                    assert!(agree(v, cell), "{col}: JSON {v} against CSV {cell:?}");
                }
                c => {
                    // Columns headed otherwise than their JSON field.
                    let field = match c {
                        "workers" => "cores",
                        "switch_overhead_est" => "switch_overhead",
                        other => other,
                    };
                    let v = json_cell(j, field)
                        .unwrap_or_else(|| panic!("CSV column {col} not in JSON"));
                    assert!(agree(v, cell), "{col}: JSON {v} against CSV {cell:?}");
                }
            }
        }
    }
    // Every repetition on a line of its own in samples.csv, in the rows' order.
    let samples = parse_csv(&read("samples.csv"));
    let (head, lines) = samples.split_first().unwrap();
    assert_eq!(
        head,
        &["workload", "strategy", "workers", "repetition", "seconds"]
    );
    let mut lines = lines.iter();
    for j in json_rows {
        for (i, s) in j["samples_s"].as_array().unwrap().iter().enumerate() {
            let l = lines.next().expect("a line per repetition");
            assert_eq!(l[1], j["strategy"].as_str().unwrap());
            assert_eq!(l[2], j["cores"].to_string());
            assert_eq!(l[3], (i + 1).to_string());
            assert!(agree(s, &l[4]), "{s} against {:?}", l[4]);
        }
    }
    assert!(lines.next().is_none(), "no line without a repetition");

    let model = doc["machine"]["cpu_model"].as_str().unwrap();
    let md = read("report.md");
    assert!(md.contains(model) && md.contains("| speedup"));
    assert!(
        md.contains("](speedup.svg)"),
        "report.md shows the plot: {md}"
    );
    assert!(read("results.tex").contains("\\begin{tabular}"));
    let svg = read("speedup.svg");
    let parsed = roxmltree::Document::parse(&svg).expect("speedup.svg is well-formed XML");
    assert_eq!(parsed.root_element().tag_name().name(), "svg");
    for plot in ["efficiency.svg", "phases.svg", "repetitions.svg"] {
        let text = read(plot);
        let parsed = roxmltree::Document::parse(&text)
            .unwrap_or_else(|e| panic!("{plot} is not well-formed XML: {e}"));
        assert_eq!(parsed.root_element().tag_name().name(), "svg");
        assert!(md.contains(&format!("]({plot})")), "report.md shows {plot}");
    }

    // The page: the speedup table with one <tr> per JSON row (and a header row), every picture
    // inside it, nothing it would fetch.
    let html = read("report.html");
    let speedup_table = html
        .split("<table>")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .expect("report.html has a table");
    assert_eq!(
        speedup_table.matches("<tr>").count(),
        json_rows.len() + 1,
        "a row per result and the header"
    );
    assert_eq!(
        html.matches("<img src=\"data:image/svg+xml;base64,")
            .count(),
        4,
        "the four pictures inside the page"
    );
    for attr in [
        "src=\"http",
        "href=\"http",
        "src=\"//",
        "href=\"//",
        "<script",
    ] {
        assert!(!html.contains(attr), "report.html holds {attr}");
    }
}

#[test]
fn format_markdown_csv_latex_print_to_stdout() {
    for (format, needle) in [
        ("markdown", "## Speedup"),
        ("csv", "workload,strategy,workers,cpus_used"),
        ("latex", "\\toprule"),
    ] {
        let out = concbench()
            .args([
                "run",
                "-w",
                "mergesort",
                "--size",
                "5000",
                "--cores",
                "2",
                "--strategy",
                "sequential,multi-threaded",
                "--reps",
                "1",
                "--format",
                format,
            ])
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        assert!(out.status.success(), "{format}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(needle),
            "{format}"
        );
    }
}

#[test]
fn unwritable_out_is_exit_2_before_any_work() {
    // 1000 repetitions of the default 4M-key sort would take minutes: a quick exit shows the
    // directory was checked first.
    let out = concbench()
        .args([
            "run",
            "--workload",
            "mergesort",
            "--reps",
            "1000",
            "--out",
            "/proc/concbench-nope",
        ])
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/proc/concbench-nope"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(!err.contains("panicked"));
}

fn write_run(dir: &Path) -> std::path::PathBuf {
    concbench()
        .args([
            "run",
            "-w",
            "mergesort",
            "--size",
            "5000",
            "--cores",
            "1,2",
            "--reps",
            "1",
            "--quiet",
            "--out",
        ])
        .arg(dir)
        .timeout(Duration::from_secs(60))
        .assert()
        .success();
    dir.join("results.json")
}

#[test]
fn compare_matches_rows_and_refuses_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_run(&dir.path().join("a"));
    let out = concbench()
        .arg("compare")
        .arg(&a)
        .arg(&a)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let c: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = c["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r["time_ratio"] == 1.0));

    for bad in [
        dir.path().join("missing.json"),
        dir.path().join("a/results.csv"),
    ] {
        let out = concbench()
            .arg("compare")
            .arg(&a)
            .arg(&bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", bad.display());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(&bad.display().to_string()), "{err}");
    }
}

#[test]
fn compare_out_writes_its_set_and_stdout_is_the_chosen_rendering() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let a = root.join("results/mergesort/results.json");
    let b = root.join("results/16-cores/mergesort");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cmp");
    let out = concbench()
        .arg("compare")
        .arg(&a)
        .arg(&b)
        .args(["--format", "markdown", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err,
        format!("concbench: wrote 5 files to {}\n", dir.display())
    );
    // The set's files (its own record of them, a dot file, aside).
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "compare.csv",
            "compare.json",
            "compare.md",
            "compare.tex",
            "report.html"
        ]
    );
    let md = std::fs::read_to_string(dir.join("compare.md")).unwrap();
    assert_eq!(md, String::from_utf8_lossy(&out.stdout));
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("compare.json")).unwrap()).unwrap();
    let rows = json["rows"].as_array().unwrap().len();
    let csv = parse_csv(&std::fs::read_to_string(dir.join("compare.csv")).unwrap());
    assert_eq!(csv.len(), rows + 1, "a header and a line per matched row");
    // --quiet: no note; a file where DIR should be: refused before anything is read (exit 2).
    let quiet = concbench()
        .arg("compare")
        .arg(&a)
        .arg(&b)
        .args(["--quiet", "--format", "latex", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(quiet.status.success() && quiet.stderr.is_empty());
    let tex = String::from_utf8_lossy(&quiet.stdout);
    assert!(tex.contains("\\begin{tabular}"), "{tex}");
    let out = concbench()
        .arg("compare")
        .arg(tmp.path().join("missing.json"))
        .arg(&b)
        .arg("--out")
        .arg(dir.join("compare.md"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("exists and is not a directory"), "{err}");
}

#[test]
fn a_reader_that_closes_stdout_early_does_not_cost_the_files() {
    // `concbench ... --out DIR | head -n 0`: head exits at once and the pipe closes before a byte;
    // concbench ends quietly (exit 0) and DIR still holds the whole set.
    let tmp = tempfile::tempdir().unwrap();
    let exe = env!("CARGO_BIN_EXE_concbench");
    for (name, args) in [
        (
            "run",
            "run --workload io --size 4 --wait-ms 0 --cores 1,2 --reps 1 --warmup 0 --quiet",
        ),
        ("ctxswitch", "ctxswitch --round-trips 200 --reps 1 --quiet"),
    ] {
        let dir = tmp.path().join(name);
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "'{exe}' {args} --format json --out '{}' | head -n 0; exit ${{PIPESTATUS[0]}}",
                dir.display()
            ))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: concbench's own exit: {out:?}"
        );
        assert!(dir.join("report.html").is_file(), "{name}: no report.html");
        let json = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .count();
        assert!(json >= 1, "{name}: no JSON written");
    }
}

/// Every file of a result set, by name (the set's manifest left out).
fn set_contents(dir: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name() != ".concbench-set")
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn render_makes_the_same_set_from_the_json_alone() {
    // Every number of every file is a field of the JSON: made again from the JSON alone, each
    // file is the same, byte for byte.
    let tmp = tempfile::tempdir().unwrap();
    for (name, args) in [
        (
            "run",
            vec![
                "run",
                "--workload",
                "mergesort",
                "--size",
                "20000",
                "--cores",
                "1,2",
                "--reps",
                "3",
                "--warmup",
                "0",
            ],
        ),
        (
            "lab",
            vec!["lab", "--quick", "--claim", "time-slicing,isolation"],
        ),
    ] {
        let first = tmp.path().join(format!("{name}-measured"));
        let again = tmp.path().join(format!("{name}-rendered"));
        concbench()
            .args(&args)
            .args(["--quiet", "--out"])
            .arg(&first)
            .timeout(Duration::from_secs(180))
            .assert()
            .success();
        concbench()
            .args(["render", "--quiet"])
            .arg(&first)
            .arg("--out")
            .arg(&again)
            .timeout(Duration::from_secs(60))
            .assert()
            .success();
        let (a, b) = (set_contents(&first), set_contents(&again));
        assert_eq!(
            a.keys().collect::<Vec<_>>(),
            b.keys().collect::<Vec<_>>(),
            "{name}: the same files"
        );
        for (file, bytes) in &a {
            assert!(
                bytes == &b[file],
                "{name}: {file} differs when rendered from the JSON"
            );
        }
    }
    // Not a result: one line, exit 2.
    let out = concbench()
        .args(["render"])
        .arg(tmp.path())
        .timeout(Duration::from_secs(10))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}

#[test]
fn render_makes_the_same_ctxswitch_and_limits_sets_from_their_json() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, args) in [
        (
            "ctxswitch",
            vec!["ctxswitch", "--round-trips", "300", "--reps", "2"],
        ),
        ("limits", vec!["limits", "--quick"]),
    ] {
        let first = tmp.path().join(format!("{name}-measured"));
        let again = tmp.path().join(format!("{name}-rendered"));
        concbench()
            .args(&args)
            .args(["--quiet", "--out"])
            .arg(&first)
            .timeout(Duration::from_secs(120))
            .assert()
            .success();
        concbench()
            .args(["render", "--quiet"])
            .arg(&first)
            .arg("--out")
            .arg(&again)
            .timeout(Duration::from_secs(60))
            .assert()
            .success();
        let (a, b) = (set_contents(&first), set_contents(&again));
        assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
        for (file, bytes) in &a {
            assert!(
                bytes == &b[file],
                "{name}: {file} differs when rendered from the JSON"
            );
        }
    }
}
