//! `concbench timeline` from the outside: its JSON and files agree with themselves, workers
//! pinned to one CPU never run at once, and bad input is exit status 2 with one line.

mod cli_support;

use assert_cmd::Command;
use serde_json::Value;

fn concbench() -> Command {
    Command::cargo_bin("concbench").unwrap()
}

fn intervals(w: &Value) -> Vec<(u64, u64)> {
    w["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_u64().unwrap(), p[1].as_u64().unwrap()))
        .collect()
}

/// Share of `wall` with two or more workers running, computed from the intervals alone.
fn overlap_from_intervals(doc: &Value) -> f64 {
    let mut ev: Vec<(u64, i32)> = Vec::new();
    for w in doc["workers"].as_array().unwrap() {
        for (a, b) in intervals(w) {
            ev.push((a, 1));
            ev.push((b, -1));
        }
    }
    ev.sort_unstable();
    let (mut run, mut last, mut both) = (0, 0u64, 0u64);
    for (t, d) in ev {
        if run >= 2 {
            both += t - last;
        }
        run += d;
        last = t;
    }
    both as f64 / doc["wall_ns"].as_f64().unwrap()
}

fn check_consistent(doc: &Value) {
    let wall = doc["wall_ns"].as_f64().unwrap();
    assert!(wall > 0.0);
    for w in doc["workers"].as_array().unwrap() {
        let iv = intervals(w);
        assert!(!iv.is_empty(), "worker {} never ran", w["id"]);
        assert!(iv.windows(2).all(|p| p[0].1 <= p[1].0), "sorted, disjoint");
        assert!(iv.iter().all(|&(a, b)| a <= b && b as f64 <= wall));
        let ran: u64 = iv.iter().map(|(a, b)| b - a).sum();
        let share = w["run_share"].as_f64().unwrap();
        assert!(
            (ran as f64 / wall - share).abs() < 1e-9,
            "run share {share}"
        );
        for key in ["cpu", "slices", "median_slice_ms", "involuntary_switches"] {
            assert!(w.get(key).is_some(), "{key}");
        }
    }
    let overlap = doc["overlap_share"].as_f64().unwrap();
    assert!((overlap_from_intervals(doc) - overlap).abs() < 1e-9);
    assert!(doc["fairness"].as_f64().unwrap() > 0.0);
    assert!(doc["machine"]["cpu_model"].is_string());
}

#[test]
fn json_and_the_three_files_agree() {
    if !cli_support::pinning_or_skip("json_and_the_three_files_agree") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = concbench()
        .args(["timeline", "--cores", "2", "--placement", "one-core"])
        .args(["--duration-ms", "60", "--format", "json", "--out"])
        .arg(dir.path())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(doc["placement"], "one-core");
    assert_eq!(doc["kind"], "thread");
    assert_eq!(doc["workers"].as_array().unwrap().len(), 2);
    check_consistent(&doc);
    // Two workers pinned to one CPU cannot both run: their intervals barely overlap (a reading
    // can land a chunk late, nothing more).
    assert!(
        doc["overlap_share"].as_f64().unwrap() < 0.03,
        "{}",
        doc["overlap_share"]
    );

    let file: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("timeline.json")).unwrap()).unwrap();
    assert_eq!(file, doc);
    let svg = std::fs::read_to_string(dir.path().join("timeline.svg")).unwrap();
    assert!(svg.starts_with("<?xml") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("worker 1 · cpu"));
    let trace: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("trace.json")).unwrap()).unwrap();
    let runs = trace["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] == "X" && e["cat"] == "run")
        .count();
    let n: usize = doc["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| intervals(w).len())
        .sum();
    assert_eq!(runs, n, "one complete event per run interval");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".pending"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn processes_record_too() {
    if !cli_support::pinning_or_skip("processes_record_too") {
        return;
    }
    let out = concbench()
        .args([
            "timeline",
            "--cores",
            "3",
            "--placement",
            "one-core",
            "--kind",
            "process",
        ])
        .args(["--duration-ms", "40", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(doc["kind"], "process");
    check_consistent(&doc);
    assert!(doc["overlap_share"].as_f64().unwrap() < 0.03);
    let pids: Vec<u64> = doc["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["os_id"].as_u64().unwrap())
        .collect();
    assert!(pids.iter().all(|&p| p != std::process::id() as u64));
}

#[test]
fn spread_workers_land_on_distinct_cpus() {
    if !cli_support::pinning_or_skip("spread_workers_land_on_distinct_cpus") {
        return;
    }
    let out = concbench()
        .args(["timeline", "--cores", "2", "--placement", "spread"])
        .args(["--duration-ms", "30", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: Value = serde_json::from_slice(&out).unwrap();
    check_consistent(&doc);
    let cores = doc["physical_cores"].as_u64().unwrap();
    let w = doc["workers"].as_array().unwrap();
    assert_eq!(doc["oversubscribed"], cores < 2);
    if cores >= 2 {
        assert_ne!(w[0]["cpu"], w[1]["cpu"]);
    }
    for w in w {
        assert_eq!(w["cpu"], w["cpu_seen"], "finished where it was pinned");
    }
}

#[test]
fn the_table_shows_one_lane_per_worker() {
    if !cli_support::pinning_or_skip("the_table_shows_one_lane_per_worker") {
        return;
    }
    let out = concbench()
        .env("COLUMNS", "100")
        .args([
            "timeline",
            "--cores",
            "3",
            "--placement",
            "one-core",
            "--duration-ms",
            "30",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("3 threads pinned to one CPU"), "{text}");
    // The whole-run section: its lanes until the first line without one (a zoomed section may
    // follow when the slices are short, with lanes of its own).
    let lanes: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("whole run"))
        .skip(1)
        .take_while(|l| l.contains('▕'))
        .collect();
    assert_eq!(lanes.len(), 4, "three workers and the overlap lane: {text}");
    assert!(lanes.iter().all(|l| l.chars().count() <= 100), "{text}");
    assert!(text.contains("overlap"));
}

#[test]
fn bad_input_is_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let unwritable = file.join("sub");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--cores", "0", "--placement", "one-core"], "--cores 0"),
        (
            vec!["--cores", "-2", "--placement", "one-core"],
            "--cores -2",
        ),
        (vec!["--cores", "2", "--placement", "both"], "'both'"),
        (
            vec!["--cores", "2", "--placement", "spread", "--kind", "fiber"],
            "'fiber'",
        ),
        (
            vec![
                "--cores",
                "2",
                "--placement",
                "spread",
                "--duration-ms",
                "0",
            ],
            "--duration-ms 0",
        ),
        (
            vec![
                "--cores",
                "2",
                "--placement",
                "spread",
                "--duration-ms",
                "60001",
            ],
            "60001",
        ),
        (
            vec![
                "--cores",
                "2",
                "--placement",
                "spread",
                "--out",
                unwritable.to_str().unwrap(),
            ],
            "a-file",
        ),
    ];
    for (args, needle) in cases {
        let out = concbench()
            .arg("timeline")
            .args(&args)
            .assert()
            .code(2)
            .get_output()
            .clone();
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

/// Every subcommand that prints a result takes the same five formats; the timeline's CSV is its
/// worker table and its LaTeX a booktabs float, each the same rows as the terminal table.
#[test]
fn timeline_prints_every_format() {
    let print = |format: &str| {
        let out = concbench()
            .args([
                "timeline", "--cores", "2", "--kind", "task", "-d", "20", "-f", format,
            ])
            .output()
            .unwrap();
        cli_support::assert_ran(&out);
        String::from_utf8(out.stdout).unwrap()
    };
    let csv = print("csv");
    let lines: Vec<&str> = csv.lines().filter(|l| !l.is_empty()).collect();
    assert!(lines[0].starts_with("worker,"), "{csv}");
    assert_eq!(lines.len(), 3, "a header and one line per worker: {csv}");
    let tex = print("latex");
    assert!(
        tex.contains("\\begin{table}") && tex.contains("\\toprule"),
        "{tex}"
    );
}
