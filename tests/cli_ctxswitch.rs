//! `concbench ctxswitch` from the outside: the JSON document has the four kind × placement pipe
//! rows with positive figures, and bad numbers are exit status 2 with one line on stderr.
//! No test here asserts a time.

mod cli_support;

use assert_cmd::Command;

fn concbench() -> Command {
    Command::cargo_bin("concbench").expect("the concbench binary is built")
}

fn physical_cores(doc: &serde_json::Value) -> u64 {
    doc["machine"]["physical_cores"].as_u64().unwrap_or(1)
}

#[test]
fn json_has_the_four_kind_placement_rows_with_positive_figures() {
    let out = concbench()
        .args([
            "ctxswitch",
            "--round-trips",
            "200",
            "--reps",
            "2",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    cli_support::assert_ran(&out);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let rows = doc["rows"].as_array().expect("a rows list");
    assert!(doc["machine"]["cpu_model"].is_string());
    for kind in ["thread", "process"] {
        for placement in ["same-core", "cross-core"] {
            let row = rows
                .iter()
                .find(|r| {
                    r["kind"] == kind && r["placement"] == placement && r["mechanism"] == "pipe"
                })
                .unwrap_or_else(|| panic!("no {kind} {placement} pipe row in {doc}"));
            if placement == "cross-core" && physical_cores(&doc) < 2 {
                assert!(row["round_trip_ns"].is_null() && row["unavailable"].is_string());
                continue;
            }
            let rt = row["round_trip_ns"].as_f64().expect("a round trip");
            let sw = row["switch_ns"].as_f64().expect("a switch cost");
            assert!(rt > 0.0 && sw > 0.0, "{row}");
            assert!(
                (sw * 2.0 - rt).abs() <= 1e-6 * rt,
                "switch = round trip / 2: {row}"
            );
            assert!(
                row["switches_per_round_trip"].as_f64().unwrap() > 0.0,
                "{row}"
            );
            assert_eq!(row["samples_ns"].as_array().unwrap().len(), 2);
        }
    }
    assert!(rows
        .iter()
        .any(|r| r["mechanism"] == "futex" && r["kind"] == "thread"));
}

#[test]
fn the_table_names_the_rows_and_how_to_compare_with_perf() {
    let out = concbench()
        .args(["ctxswitch", "--round-trips", "100", "--reps", "1"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for word in [
        "same-core",
        "cross-core",
        "process",
        "futex",
        "perf bench sched pipe",
    ] {
        assert!(text.contains(word), "{word} missing from:\n{text}");
    }
}

#[test]
fn bad_numbers_are_usage_errors() {
    for args in [
        ["--round-trips", "0"],
        ["--round-trips", "-5"],
        ["--reps", "0"],
        ["--reps", "abc"],
    ] {
        let out = concbench().arg("ctxswitch").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        if args[1] == "abc" {
            // Not a number: clap's own error, as clap renders it.
            assert!(err.starts_with("error: invalid value 'abc'"), "{err}");
        } else {
            assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
            assert!(err.starts_with("concbench: "), "{err}");
        }
    }
}

#[test]
fn a_child_with_a_bad_job_says_so_in_one_line() {
    for job in [
        "x",
        r#"{"parent_pid":1,"cpu":null,"job":{"kind":"no-such-kind"}}"#,
    ] {
        let out = concbench()
            .args(["__concbench-child", job])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{job}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("concbench child: bad job"), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

#[test]
fn a_pingpong_peer_whose_parent_is_gone_exits_with_one_line() {
    // pid 1 is never this test's pid: the peer must see that its parent is not the one named.
    let job = r#"{"parent_pid":1,"cpu":null,"job":{"kind":"ping-pong-peer"}}"#;
    let out = concbench()
        .args(["__concbench-child", job])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ping-pong peer") && err.contains("parent already gone"),
        "{err}"
    );
}
