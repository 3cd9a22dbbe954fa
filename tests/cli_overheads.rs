//! Switches, switch overhead and phases in `concbench run` rows, checked from the outside: the
//! structure of the figures (shares between 0 and 1, at least one voluntary switch per wait,
//! phases that fit in the wall time), never a speed.

mod cli_support;

use assert_cmd::Command;

fn run_json(args: &[&str]) -> serde_json::Value {
    let out = Command::cargo_bin("concbench")
        .unwrap()
        .arg("run")
        .args(args)
        .args(["--format", "json", "--quiet"])
        .output()
        .unwrap();
    cli_support::assert_ran(&out);
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

fn row<'a>(doc: &'a serde_json::Value, strategy: &str, cores: u64) -> &'a serde_json::Value {
    doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["strategy"] == strategy && r["cores"] == cores)
        .unwrap_or_else(|| panic!("no {strategy}@{cores} row"))
}

#[test]
fn every_row_has_switches_and_an_overhead_share() {
    if !cli_support::pinning_or_skip("every_row_has_switches_and_an_overhead_share") {
        return;
    }
    let doc = run_json(&[
        "--workload",
        "io",
        "--size",
        "16",
        "--wait-ms",
        "1",
        "--cores",
        "1,4",
        "--reps",
        "2",
        "--warmup",
        "0",
    ]);
    assert!(doc["method"]["switch_cost_ns"].as_f64().unwrap() > 0.0);
    for r in doc["rows"].as_array().unwrap() {
        let share = r["switch_overhead"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&share), "{r}");
        assert!(r["voluntary_switches"].is_u64() && r["involuntary_switches"].is_u64());
        assert!(r["user_s"].as_f64().unwrap() >= 0.0 && r["sys_s"].as_f64().unwrap() >= 0.0);
    }
    // 16 waits on one core: every wait blocks its thread, a voluntary switch each.
    let r = row(&doc, "single-core-threaded", 4);
    assert!(r["voluntary_switches"].as_u64().unwrap() >= 16, "{r}");
}

#[test]
fn multi_process_phases_fit_in_the_wall_time() {
    let doc = run_json(&[
        "--workload",
        "mergesort",
        "--size",
        "50000",
        "--cores",
        "2",
        "--strategy",
        "sequential,multi-process",
        // One repetition: its phases are the row's, and must add up to its wall time (medians
        // of phases taken from different repetitions need not add up to any one of them).
        "--reps",
        "1",
        "--warmup",
        "0",
    ]);
    let r = row(&doc, "multi-process", 2);
    let p = &r["phases"];
    let phase = |k: &str| p[k].as_f64().unwrap_or_else(|| panic!("no {k} in {p}"));
    let (spawn, setup, compute, combine) = (
        phase("spawn_s"),
        phase("setup_s"),
        phase("compute_s"),
        phase("combine_s"),
    );
    assert!(spawn > 0.0 && compute > 0.0, "{p}");
    assert!(setup >= 0.0 && combine >= 0.0, "{p}");
    // The repetition's phases add up to its wall time.
    let max_s = r["max_s"].as_f64().unwrap();
    assert!(
        spawn + setup + compute + combine <= max_s * 1.001,
        "{p} vs {max_s}"
    );
}
