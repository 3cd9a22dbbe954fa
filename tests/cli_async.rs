//! `single-thread-async` from the outside: it is listed, its io and CPU-bound rows are verified on
//! one CPU, `--yield-every` is accepted by the CPU-bound workloads only, `timeline --kind task`
//! reports its tasks, and `ctxswitch` has a task row. No test here asserts a time.

mod cli_support;

use assert_cmd::Command;

fn concbench() -> Command {
    Command::cargo_bin("concbench").expect("the concbench binary is built")
}

fn json_of(args: &[&str]) -> serde_json::Value {
    let out = concbench().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

#[test]
fn list_names_the_strategy() {
    let out = concbench().arg("list").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("single-thread-async"), "{text}");
    let out = concbench().args(["run", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("--yield-every"), "{text}");
}

#[test]
fn io_and_mergesort_rows_are_verified_on_one_cpu() {
    if !cli_support::pinning_or_skip("io_and_mergesort_rows_are_verified_on_one_cpu") {
        return;
    }
    for args in [
        vec!["--workload", "io", "--size", "24", "--wait-ms", "2"],
        vec![
            "--workload",
            "mergesort",
            "--size",
            "20000",
            "--yield-every",
            "3000",
        ],
        vec!["--workload", "matmul", "--size", "40", "--yield-every", "4"],
    ] {
        let mut all = vec![
            "run",
            "--cores",
            "1,3,8",
            "--strategy",
            "single-thread-async",
        ];
        all.extend(args);
        all.extend(["--reps", "2", "--warmup", "0", "--format", "json"]);
        let doc = json_of(&all);
        let rows = doc["rows"].as_array().expect("rows");
        assert_eq!(rows.len(), 3, "{all:?}");
        for r in rows {
            assert_eq!(r["strategy"], "single-thread-async");
            assert_eq!(r["verified"], true, "{r}");
            let cpus = r["cpus"].as_array().expect("cpus");
            assert_eq!(cpus.len(), 1, "one CPU seen: {r}");
        }
    }
}

#[test]
fn yield_every_does_not_apply_to_io() {
    let out = concbench()
        .args([
            "run",
            "--workload",
            "io",
            "--yield-every",
            "5",
            "--cores",
            "2",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yield-every"));
}

#[test]
fn timeline_records_tasks_on_one_cpu() {
    if !cli_support::pinning_or_skip("timeline_records_tasks_on_one_cpu") {
        return;
    }
    for extra in [vec![], vec!["--yield-every-us", "200"]] {
        let mut args = vec![
            "timeline",
            "--kind",
            "task",
            "--threads",
            "3",
            "--duration-ms",
            "30",
            "--format",
            "json",
        ];
        args.extend(extra);
        let doc = json_of(&args);
        assert_eq!(doc["kind"], "task");
        let workers = doc["workers"].as_array().expect("workers");
        assert_eq!(workers.len(), 3);
        assert_eq!(doc["cpus"].as_array().unwrap().len(), 1);
    }
    let out = concbench()
        .args([
            "timeline",
            "--kind",
            "task",
            "--threads",
            "2",
            "--placement",
            "spread",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn ctxswitch_has_a_task_row() {
    let doc = json_of(&[
        "ctxswitch",
        "--round-trips",
        "200",
        "--reps",
        "2",
        "--format",
        "json",
    ]);
    let rows = doc["rows"].as_array().expect("rows");
    let task = rows
        .iter()
        .find(|r| r["kind"] == "task")
        .expect("a task row");
    assert_eq!(task["mechanism"], "channel");
    assert!(task["switch_ns"].as_f64().unwrap() > 0.0);
}
