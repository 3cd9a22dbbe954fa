//! `concbench ctxswitch` from the outside: the JSON document has the four kind × placement pipe
//! rows with positive figures, and bad numbers are exit status 2 with one line on stderr.
//! No test here asserts a time.

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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("concbench: "), "{err}");
    }
}

#[test]
fn the_pingpong_peer_refuses_bad_arguments() {
    let out = concbench().args(["__pingpong", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ping-pong peer"));
}
