//! `concbench limits` and `concbench refs` as a user sees them: JSON with positive figures for
//! every thread count, the rows of a small refs run, and bad input as exit 2 with one line. No
//! test asserts a time or a ratio.

use assert_cmd::Command;
use serde_json::Value;

fn concbench() -> Command {
    Command::cargo_bin("concbench").unwrap()
}

fn json_of(args: &[&str], cache: &std::path::Path) -> Value {
    let out = concbench()
        .args(args)
        .env("XDG_CACHE_HOME", cache)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

#[test]
fn limits_quick_json_has_positive_ceilings_and_refreshes_the_cache() {
    let cache = tempfile::tempdir().unwrap();
    let doc = json_of(&["limits", "--quick", "--format", "json"], cache.path());
    let c = &doc["ceilings"];
    let p = doc["machine"]["physical_cores"].as_u64().unwrap() as usize;
    assert_eq!(c["physical_cores"].as_u64().unwrap() as usize, p);
    let points = c["copy"]["points"].as_array().unwrap();
    assert_eq!(points.len(), p, "one bandwidth per thread count 1..P");
    for (i, pt) in points.iter().enumerate() {
        assert_eq!(pt["threads"].as_u64().unwrap() as usize, i + 1);
        assert!(pt["gb_s"].as_f64().unwrap() > 0.0, "{pt}");
    }
    assert!(c["flops"]["per_core_gflops"].as_f64().unwrap() > 0.0);
    assert!(c["flops"]["all_cores_gflops"].as_f64().unwrap() > 0.0);
    assert!(!c["flops"]["isa"].as_str().unwrap().is_empty());
    assert!(c["date"].as_str().unwrap().ends_with('Z'));
    // Measured while other programs took more than 5% of the CPUs (tests run side by side on a
    // shared machine), the figures are low and must not be cached; otherwise they are.
    let file = cache.path().join("concbench/limits.json");
    let disturbed = c["others_load"]["others_share"]
        .as_f64()
        .is_some_and(|s| s > 0.05);
    if disturbed {
        assert!(!file.exists(), "a disturbed measurement is not cached");
    } else {
        let cached: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(&cached, c);
    }

    // A full measurement in the cache is not replaced by a later quick one.
    let mut full = c.clone();
    full["quick"] = Value::Bool(false);
    full["others_load"] = Value::Null;
    full["date"] = Value::String("2000-01-01T00:00:00Z".into());
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, serde_json::to_string(&full).unwrap()).unwrap();
    let out = concbench()
        .args(["limits", "--quick"])
        .env("XDG_CACHE_HOME", cache.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("not cached: the full measurement of 2000-01-01T00:00:00Z stays")
            || text.contains("not cached: other programs competed"),
        "{text}"
    );
    let kept: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(kept, full);
}

#[test]
fn refs_mergesort_json_has_its_rows() {
    let cache = tempfile::tempdir().unwrap();
    let doc = json_of(
        &[
            "refs",
            "--workload",
            "mergesort",
            "--size",
            "20000",
            "--reps",
            "2",
            "--format",
            "json",
        ],
        cache.path(),
    );
    let rows = doc["rows"].as_array().unwrap();
    let has = |name: &str| rows.iter().any(|r| r["implementation"] == name);
    for name in [
        "std sort",
        "std sort_unstable",
        "rayon par_sort",
        "rayon par_sort_unstable",
        "concbench sequential",
        "concbench multi-threaded",
        "concbench multi-process",
    ] {
        assert!(has(name), "no row for {name}");
    }
    for r in rows {
        assert!(r["median_s"].as_f64().unwrap() > 0.0, "{r}");
        assert_eq!(r["samples_s"].as_array().unwrap().len(), 2);
    }
    assert!(!doc["ratios"].as_array().unwrap().is_empty());
    assert!(doc["ceilings"].is_null(), "no cache in an empty cache dir");
}

#[test]
fn refs_matmul_runs_dgemm_in_child_processes() {
    let cache = tempfile::tempdir().unwrap();
    let doc = json_of(
        &[
            "refs",
            "--workload",
            "matmul",
            "--size",
            "64",
            "--cores",
            "1,2",
            "--reps",
            "1",
            "--format",
            "json",
        ],
        cache.path(),
    );
    let rows = doc["rows"].as_array().unwrap();
    for t in [1, 2] {
        assert!(rows
            .iter()
            .any(|r| r["implementation"] == "matrixmultiply dgemm" && r["threads"] == t));
    }
    assert!(rows.iter().all(|r| r["gflops"].as_f64().unwrap() > 0.0));
}

/// Exit 2 naming `needle`: one line, or clap's own rendering for what clap finds while parsing.
fn rejects(args: &[&str], needle: &str) {
    let out = concbench().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?} printed on stdout");
    if !stderr.starts_with("error: ") {
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
    }
    assert!(
        stderr.contains(needle),
        "{args:?}: '{needle}' not in {stderr}"
    );
}

#[test]
fn bad_input_is_exit_2_naming_it() {
    rejects(&["refs", "--workload", "io"], "'io'");
    rejects(&["refs", "--workload", "bogus"], "'bogus'");
    rejects(&["refs", "--workload", "mergesort", "--cores", "0"], "'0'");
    rejects(
        &["refs", "--workload", "mergesort", "--cores", "1,,2"],
        "empty item",
    );
    rejects(&["refs", "--workload", "matmul", "--size", "0"], "--size 0");
    rejects(&["refs", "--workload", "matmul", "--reps", "0"], "--reps 0");
    rejects(&["limits", "--format", "yaml"], "yaml");
    rejects(&["limits", "--bogus"], "--bogus");
}
