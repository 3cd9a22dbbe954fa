//! `concbench run` as a user sees it: bad input is exit 2 with one line naming the value; a tiny
//! JSON run parses back with every documented field; a failing worker process is reported by
//! part and leaves no process behind.

mod cli_support;

use assert_cmd::Command;
use serde_json::Value;

fn concbench() -> Command {
    Command::cargo_bin("concbench").unwrap()
}

/// Run with `args`, expect exit 2, stderr containing `needle`, nothing on stdout. Errors
/// clap finds while parsing come as clap renders them (`error: ...`, its tips, the usage);
/// every other error is one line.
fn rejects(args: &[&str], needle: &str) {
    let out = concbench().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: stderr {stderr}");
    assert!(out.stdout.is_empty(), "{args:?} printed on stdout");
    if stderr.starts_with("error: ") {
        assert!(stderr.contains("try '--help'"), "{args:?}: {stderr}");
    } else {
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{args:?}: not one line: {stderr}"
        );
    }
    assert!(
        stderr.contains(needle),
        "{args:?}: '{needle}' not in {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
}

#[test]
fn bad_input_is_exit_2_naming_it() {
    let base = ["run", "--workload", "io", "--size", "2", "--wait-ms", "0"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        base.iter().copied().chain(extra.iter().copied()).collect()
    };
    rejects(&["run", "--workload", "bogus", "--cores", "1"], "bogus");
    rejects(&["run"], "not provided:\n  --workload");
    rejects(
        &["run", "--workload", "mergesort", "--kernel", "naive"],
        "--kernel does not apply to mergesort",
    );
    rejects(
        &["run", "--workload", "matmul", "--wait-ms", "3"],
        "--wait-ms does not apply to matmul (it takes --kernel and --yield-every)",
    );
    rejects(&with(&["--cores", "0"]), "'0'");
    rejects(&with(&["--cores", "1,,2"]), "empty item");
    rejects(&with(&["--cores", "abc"]), "'abc'");
    rejects(&with(&["--cores", "-1"]), "'-1'");
    rejects(&with(&["--cores", "20000"]), "16384");
    rejects(&with(&["--strategy", "fastest"]), "fastest");
    rejects(&with(&["--format", "yaml"]), "yaml");
    rejects(&with(&["--reps", "0"]), "--reps 0");
    rejects(&with(&["--warmup", "-2"]), "--warmup -2");
    rejects(
        &["run", "--workload", "io", "--wait-ms", "-5"],
        "--wait-ms -5",
    );
    rejects(
        &["run", "--workload", "io", "--cpu-share", "1.5"],
        "--cpu-share 1.5",
    );
    rejects(
        &["run", "--workload", "mergesort", "--size", "0"],
        "--size 0",
    );
    rejects(
        &["run", "--workload", "mergesort", "--size", "-3"],
        "--size -3",
    );
    rejects(
        &[
            "run",
            "--workload",
            "mergesort",
            "--size",
            "1000000000000000",
        ],
        "available",
    );
    rejects(
        &["run", "--workload", "matmul", "--size", "9000000"],
        "available",
    );
    rejects(
        &["run", "--workload", "matmul", "--kernel", "turbo"],
        "turbo",
    );
    rejects(&["frobnicate"], "frobnicate");
}

#[test]
fn a_tiny_json_run_parses_back_with_every_field() {
    if !cli_support::pinning_or_skip("a_tiny_json_run_parses_back_with_every_field") {
        return;
    }
    let out = concbench()
        .args([
            "run",
            "--workload",
            "mergesort",
            "--size",
            "5000",
            "--cores",
            "1,2,3",
            "--reps",
            "2",
            "--warmup",
            "0",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    cli_support::assert_ran(&out);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    let rows = doc["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1 + 4 * 3);
    let physical = doc["machine"]["physical_cores"].as_u64().unwrap();
    let seq = rows[0]["median_s"].as_f64().unwrap();
    for r in rows {
        for key in [
            "workload",
            "strategy",
            "cores",
            "median_s",
            "min_s",
            "max_s",
            "speedup",
            "efficiency",
            "verified",
            "oversubscribed",
            "workers_per_core",
            "cpus",
            "slow_cpus",
            "voluntary_switches",
            "involuntary_switches",
            "phases",
        ] {
            assert!(r.get(key).is_some(), "row lacks {key}: {r}");
        }
        assert_eq!(r["verified"], true);
        let cores = r["cores"].as_u64().unwrap();
        // Oversubscribed per strategy: one core for single-core-threaded and single-thread-async,
        // the physical cores for the spread strategies, never sequential.
        let (over, per_core) = match r["strategy"].as_str().unwrap() {
            "sequential" => (false, 1.0),
            "single-core-threaded" | "single-thread-async" => (cores > 1, cores as f64),
            _ => (
                cores > physical,
                cores as f64 / cores.clamp(1, physical) as f64,
            ),
        };
        assert_eq!(r["oversubscribed"].as_bool().unwrap(), over, "{r}");
        assert_eq!(r["workers_per_core"].as_f64().unwrap(), per_core, "{r}");
        let speedup = r["speedup"].as_f64().unwrap();
        assert!((speedup - seq / r["median_s"].as_f64().unwrap()).abs() < 1e-9 * speedup.max(1.0));
        assert!((r["efficiency"].as_f64().unwrap() - speedup / cores as f64).abs() < 1e-9);
        let min = r["min_s"].as_f64().unwrap();
        assert!(
            min <= r["median_s"].as_f64().unwrap() && r["median_s"].as_f64() <= r["max_s"].as_f64()
        );
    }
    // Pinning is visible in the CPUs the parts reported: one CPU for single-core-threaded and
    // single-thread-async, one distinct CPU per part for the spread strategies (up to the
    // physical cores).
    for r in rows {
        let cpus = r["cpus"].as_array().unwrap().len() as u64;
        let cores = r["cores"].as_u64().unwrap();
        match r["strategy"].as_str().unwrap() {
            "sequential" | "single-core-threaded" | "single-thread-async" => {
                assert_eq!(cpus, 1, "{r}")
            }
            _ => assert_eq!(cpus, cores.min(physical), "{r}"),
        }
    }
    let strategies: Vec<&str> = rows
        .iter()
        .map(|r| r["strategy"].as_str().unwrap())
        .collect();
    for s in [
        "sequential",
        "single-core-threaded",
        "multi-threaded",
        "multi-process",
        "single-thread-async",
    ] {
        assert!(strategies.contains(&s), "{s} missing");
    }
}

#[test]
fn single_core_rows_ran_on_one_cpu() {
    if !cli_support::pinning_or_skip("single_core_rows_ran_on_one_cpu") {
        return;
    }
    let out = concbench()
        .args([
            "run",
            "-w",
            "io",
            "--size",
            "8",
            "--wait-ms",
            "1",
            "--cores",
            "4",
            "--reps",
            "1",
            "--warmup",
            "0",
            "--strategy",
            "single-core-threaded",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["rows"][0]["cpus"].as_array().unwrap().len(), 1);
}

#[test]
fn a_crashing_worker_is_named_and_leaves_no_process_behind() {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_concbench"));
    cmd.args([
        "run",
        "-w",
        "io",
        "--size",
        "6",
        "--wait-ms",
        "200",
        "--cores",
        "3",
        "--reps",
        "1",
        "--warmup",
        "0",
        "--strategy",
        "multi-process",
        "--fault-part",
        "1",
    ]);
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("part 1"), "{stderr}");
    assert!(
        stderr.contains("fault injected"),
        "the worker's stderr is passed on: {stderr}"
    );
    // The parent has exited; any worker it left would now be reparented, still named concbench
    // and still holding our fault job. None may exist.
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline);
            assert!(
                !(cmdline.contains("__concbench-child") && cmdline.contains("\"wait_ms\":\"200\"")),
                "a worker outlived concbench: {cmdline}"
            );
        }
    }
}

#[test]
fn a_wrong_answer_is_an_error_not_a_speedup() {
    let out = concbench()
        .args([
            "run",
            "-w",
            "mergesort",
            "--size",
            "3000",
            "--cores",
            "3",
            "--reps",
            "1",
            "--warmup",
            "0",
            "--strategy",
            "multi-process",
            "--fault-part",
            "2",
            "--fault-kind",
            "wrong-answer",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("wrong answer") && stderr.contains("part 2"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn list_names_every_workload_and_strategy() {
    let out = concbench().arg("list").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for name in [
        "mergesort",
        "matmul",
        "io",
        "sequential",
        "single-core-threaded",
        "multi-threaded",
        "multi-process",
    ] {
        assert!(text.contains(name), "{name} missing from list");
    }
}

#[test]
fn without_a_sequential_row_every_output_names_the_baseline() {
    let args = [
        "run",
        "--workload",
        "io",
        "--size",
        "8",
        "--wait-ms",
        "1",
        "--strategy",
        "multi-threaded",
        "--cores",
        "1,2",
        "--reps",
        "1",
    ];
    let out = concbench()
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    cli_support::assert_ran(&out);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["method"]["speedup_baseline"], "multi-threaded x1");
    let first = &doc["rows"][0];
    assert_eq!(
        first["speedup"].as_f64(),
        Some(1.0),
        "the baseline row itself"
    );

    let out = concbench().args(args).output().unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("speedup = multi-threaded x1 median / row median (no sequential run"),
        "{table}"
    );
    assert!(!table.contains("speedup = sequential median"), "{table}");

    let dir = tempfile::tempdir().unwrap();
    let out = concbench()
        .args(args)
        .args(["--quiet", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    cli_support::assert_ran(&out);
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.contains("multi-threaded x1 median / row median"), "{md}");
    assert!(
        md.contains("for the baseline multi-threaded x1 (no sequential run)"),
        "{md}"
    );
    let svg = std::fs::read_to_string(dir.path().join("speedup.svg")).unwrap();
    assert!(svg.contains("multi-threaded x1: S = 1"), "{svg}");
    let tex = std::fs::read_to_string(dir.path().join("results.tex")).unwrap();
    assert!(tex.contains("speedup against multi-threaded x1"), "{tex}");
    let csv = std::fs::read_to_string(dir.path().join("results.csv")).unwrap();
    assert!(
        csv.lines().next().unwrap().contains("speedup_baseline"),
        "{csv}"
    );
    assert_eq!(csv.matches(",multi-threaded x1,").count(), 2, "{csv}");

    // Set beside a run against the sequential twin, the speedups are flagged as unlike.
    let seq_dir = tempfile::tempdir().unwrap();
    let with_seq = [
        "--strategy",
        "sequential,multi-threaded",
        "--quiet",
        "--out",
    ];
    let out = concbench()
        .args(&args[..7])
        .args(["--cores", "1,2", "--reps", "1"])
        .args(with_seq)
        .arg(seq_dir.path())
        .output()
        .unwrap();
    cli_support::assert_ran(&out);
    let out = concbench()
        .arg("compare")
        .arg(seq_dir.path().join("results.json"))
        .arg(dir.path().join("results.json"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("the speedups divide different baselines"),
        "{text}"
    );
}

#[test]
fn a_run_too_short_to_time_says_so() {
    let out = concbench()
        .args([
            "run",
            "--workload",
            "mergesort",
            "--size",
            "1",
            "--cores",
            "2",
            "--strategy",
            "sequential,multi-threaded",
            "--reps",
            "1",
        ])
        .output()
        .unwrap();
    cli_support::assert_ran(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("too short to measure parallelism"), "{text}");
}

/// `--strategy distributed` without an MPI launcher: a binary without MPI says how to build one
/// with it; one with MPI shows the mpirun command to use. `list` says which this binary is. A
/// binary without MPI launched as one of several ranks refuses before doing anything (a copy per
/// rank would each run the whole command).
#[test]
fn distributed_without_mpirun_says_what_to_do() {
    let args = [
        "run",
        "--workload",
        "io",
        "--size",
        "8",
        "--strategy",
        "distributed",
        "--cores",
        "2",
    ];
    let needle = if cfg!(feature = "mpi") {
        "mpirun -n 2"
    } else {
        "cargo build --release --features mpi"
    };
    rejects(&args, needle);
    let list = concbench().arg("list").output().unwrap();
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(text.contains("distributed"), "{text}");
    if !cfg!(feature = "mpi") {
        assert!(text.contains("built without the `mpi` feature"), "{text}");
        let out = concbench()
            .args(["run", "--workload", "io", "--size", "2"])
            .env("OMPI_COMM_WORLD_RANK", "0")
            .env("OMPI_COMM_WORLD_SIZE", "2")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("built without MPI") && err.trim_end().lines().count() == 1,
            "{err}"
        );
        assert!(out.stdout.is_empty());
    }
}
