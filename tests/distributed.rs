//! The `distributed` strategy as users launch it: `mpirun -n P concbench run --strategy
//! distributed ...`, over TCP (`--mca btl self,tcp`, so messages cross a real network stack),
//! with two and three ranks, every workload verified; failures of a rank; and two hosts made of
//! network namespaces by `scripts/local-cluster` (needs root: CI runs it, with
//! `CONCBENCH_REQUIRE_NETNS=1` so that it cannot pass by skipping).
//!
//! Only with `--features mpi` (and Open MPI's `mpirun` on the PATH); the plain `cargo test`
//! checks what a binary without MPI says (tests/cli_run.rs).
#![cfg(all(feature = "mpi", target_os = "linux"))]

use std::process::{Command, Output};
use std::sync::Mutex;

/// One MPI job at a time: jobs started side by side by the test harness would share the two
/// CPUs of a small machine and their ports.
static ONE_JOB: Mutex<()> = Mutex::new(());

const EXE: &str = env!("CARGO_BIN_EXE_concbench");

fn mpirun(ranks: usize, launcher_options: &[&str], args: &[&str]) -> Output {
    let _one = ONE_JOB.lock().unwrap_or_else(|e| e.into_inner());
    let mut c = Command::new("timeout");
    c.args(["300", "mpirun", "-n", &ranks.to_string(), "--oversubscribe"])
        .args(launcher_options)
        .arg(EXE)
        .args(args)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_gds", "^ds12")
        .env_remove("CONCBENCH_EXE");
    c.output().expect("mpirun runs (install openmpi-bin)")
}

/// TCP over the loopback interface only: a bridge that another test (or the namespace test)
/// makes and removes meanwhile must not be among the interfaces a job uses.
const TCP: &[&str] = &[
    "--mca",
    "btl",
    "self,tcp",
    "--mca",
    "btl_tcp_if_include",
    "lo",
    "--mca",
    "oob_tcp_if_include",
    "lo",
    "--bind-to",
    "none",
];

/// A command line given as one string, split at spaces.
fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "one JSON document on stdout ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Workload arguments small enough for a test, large enough to split over three ranks.
const WORKLOADS: [&[&str]; 3] = [
    &["--workload", "mergesort", "--size", "30001"],
    &["--workload", "matmul", "--size", "37"],
    &["--workload", "io", "--size", "7", "--wait-ms", "1"],
];

/// Every rank count from 1 to `ranks`, every workload: rows verified, each naming its ranks'
/// hosts and CPUs and the bytes they moved.
fn every_workload_verified(ranks: usize, launcher: &[&str]) -> Vec<serde_json::Value> {
    let cores: Vec<String> = (1..=ranks).map(|n| n.to_string()).collect();
    let cores = cores.join(",");
    let mut docs = Vec::new();
    for w in WORKLOADS {
        let mut args = vec!["run"];
        args.extend_from_slice(w);
        args.extend_from_slice(&[
            "--strategy",
            "distributed",
            "--cores",
            &cores,
            "--reps",
            "2",
            "--warmup",
            "0",
            "--format",
            "json",
        ]);
        let doc = json(&mpirun(ranks, launcher, &args));
        let rows = doc["rows"].as_array().unwrap();
        assert_eq!(rows.len(), ranks, "{w:?}: one row per rank count");
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(row["strategy"], "distributed");
            assert_eq!(row["cores"], i + 1);
            assert_eq!(row["verified"], true);
            let d = &row["distributed"];
            let rs = d["ranks"].as_array().unwrap();
            assert_eq!(rs.len(), i + 1, "{w:?} x{}: a report per rank", i + 1);
            assert!(rs
                .iter()
                .all(|r| r["host"].as_str().is_some_and(|h| !h.is_empty())));
            let sent: u64 = rs.iter().map(|r| r["bytes_sent"].as_u64().unwrap()).sum();
            let received: u64 = rs
                .iter()
                .map(|r| r["bytes_received"].as_u64().unwrap())
                .sum();
            assert_eq!(d["bytes_moved"].as_u64().unwrap(), sent);
            assert_eq!(sent, received, "every byte sent is received");
            if i == 0 {
                assert_eq!(sent, 0, "one rank sends nothing");
            } else {
                assert!(sent > 0);
            }
        }
        let cluster = &doc["machine"]["cluster"];
        assert_eq!(cluster["ranks"].as_array().unwrap().len(), ranks);
        assert_eq!(cluster["launcher"], "mpirun");
        docs.push(doc);
    }
    docs
}

#[test]
fn two_ranks_over_tcp_verify_every_workload() {
    let docs = every_workload_verified(2, TCP);
    // Merge sort: each key crosses between ranks at most three times (scatter, exchange,
    // gather).
    let row = &docs[0]["rows"][1];
    let moved = row["distributed"]["bytes_moved"].as_u64().unwrap();
    assert!(moved <= 3 * 30001 * 8, "merge sort moved {moved} bytes");
}

#[test]
fn three_ranks_over_tcp_verify_every_workload() {
    every_workload_verified(3, TCP);
}

#[test]
fn more_parts_than_ranks_is_a_usage_error_naming_both() {
    let out = mpirun(
        2,
        TCP,
        &words("run --workload io --size 4 --strategy distributed --cores 3"),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--cores 3") && err.contains("but 2 were launched"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_rank_that_crashes_or_answers_wrong_is_named() {
    for (kind, says) in [("crash", "MPI rank 1"), ("wrong-answer", "wrong answer")] {
        let out = mpirun(
            2,
            TCP,
            &words(&format!("run --workload matmul --size 16 --strategy distributed --cores 2 --reps 1 --warmup 0 --fault-part 1 --fault-kind {kind}")),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{kind}: {err}");
        assert!(
            err.contains(says) && err.contains("part 1"),
            "{kind}: {err}"
        );
    }
}

#[test]
fn a_stuck_rank_stops_the_job_with_one_line() {
    let out = mpirun(
        2,
        TCP,
        &words("run --workload io --size 4 --wait-ms 1 --strategy distributed --cores 2 --reps 1 --warmup 0 --fault-part 1 --fault-kind hang --stuck-after 2"),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert_ne!(
        out.status.code(),
        Some(124),
        "the job was stopped, not timed out: {err}"
    );
    assert!(err.contains("has not finished by the deadline"), "{err}");
}

#[test]
fn limits_under_mpirun_reports_message_ceilings() {
    let doc = json(&mpirun(2, TCP, &["limits", "--quick", "--format", "json"]));
    let m = &doc["messages"][0];
    assert_eq!(m["peer"], 1);
    assert!(m["latency_ns"].as_f64().unwrap() > 0.0);
    assert!(m["bandwidth_bytes_per_s"].as_f64().unwrap() > 0.0);
    assert!(m["by_size"].as_array().unwrap().len() >= 2);
}

/// Two hosts made of network namespaces: the rows name both hosts, and messages cross the
/// bridge between them.
#[test]
fn two_namespace_hosts_verify_and_name_their_hosts() {
    let root = is_root();
    if !root && std::env::var_os("CONCBENCH_REQUIRE_NETNS").is_none() {
        eprintln!("not root: network namespaces cannot be made here; CI runs this test as root");
        return;
    }
    let _one = ONE_JOB.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/local-cluster");
    let run = |args: &[&str]| {
        Command::new(script)
            .args(args)
            .env("CONCBENCH_CLUSTER_DIR", dir.path())
            .output()
            .unwrap()
    };
    let _ = run(&["down", "--prefix", "cbtest"]);
    let up = run(&["up", "2", "--prefix", "cbtest"]);
    assert!(
        up.status.success(),
        "local-cluster up: {}",
        String::from_utf8_lossy(&up.stderr)
    );
    struct Down<'a>(&'a dyn Fn(&[&str]) -> Output);
    impl Drop for Down<'_> {
        fn drop(&mut self) {
            let _ = (self.0)(&["down", "--prefix", "cbtest"]);
        }
    }
    let _down = Down(&run);
    let options = String::from_utf8(up.stdout).unwrap();
    let rankfile = String::from_utf8(run(&["rankfile", "2"]).stdout).unwrap();
    let mut launcher: Vec<&str> = options.split_whitespace().collect();
    launcher.extend(["--rankfile", rankfile.trim()]);
    drop(_one);
    let docs = every_workload_verified(2, &launcher);
    for doc in &docs {
        let hosts = &doc["rows"][1]["distributed"]["hosts"];
        assert_eq!(hosts, &serde_json::json!(["cbtest1", "cbtest2"]), "{hosts}");
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
                .unwrap_or(false)
        })
        .unwrap_or(false)
}

/// The pid of the process of this test's binary that is rank `rank` of a running job, if any.
fn rank_pid(rank: usize) -> Option<u32> {
    let want = format!("OMPI_COMM_WORLD_RANK={rank}");
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let exe = std::fs::read_link(e.path().join("exe")).ok()?;
        if exe != std::path::Path::new(EXE) {
            return None;
        }
        let env = std::fs::read(e.path().join("environ")).ok()?;
        env.split(|&b| b == 0)
            .any(|v| v == want.as_bytes())
            .then_some(pid)
    })
}

#[test]
fn a_rank_killed_from_outside_leaves_one_line_from_rank_0() {
    let _one = ONE_JOB.lock().unwrap_or_else(|e| e.into_inner());
    let mut child = Command::new("mpirun")
        .args(["-q", "-n", "2", "--oversubscribe"])
        .args(TCP)
        .arg(EXE)
        // Enough repetitions (about 400 s) that rank 0 prints its estimate of a long run after
        // the first execution: the event this test waits for before it kills rank 1.
        .args("run --workload io --size 16 --wait-ms 10 --strategy distributed --cores 2 --reps 5000 --warmup 0".split_whitespace())
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_gds", "^ds12")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let pid = loop {
        if let Some(pid) = rank_pid(1) {
            break pid;
        }
        assert!(std::time::Instant::now() < deadline, "rank 1 never started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    // stderr is read line by line on a thread, each line also sent here, so that the test
    // waits for the run to be under way (its first execution done) rather than for a time.
    let stderr = child.stderr.take().unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            all.push_str(&line);
            all.push('\n');
            let _ = lines_tx.send(line);
        }
        all
    });
    let under_way = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains("this run will take about") => break true,
            Ok(_) => continue,
            Err(_) => break false,
        }
    };
    // Kill rank 1 as a crash or a lost host would (also when the estimate never came, so that
    // the job does not outlive the test).
    Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let err = reader.join().unwrap();
    assert!(under_way, "rank 0 never said the run was under way:\n{err}");
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("the MPI launcher stopped this job"), "{err}");
}
