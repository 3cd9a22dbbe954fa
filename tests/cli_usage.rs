//! The command line as a user meets it, one test per class: clap's own error help, `compare` on
//! files that are not results, the flags every measuring subcommand shares, defaults stated in
//! `--help`, `lab --list`, completions and man pages. No test here times anything.

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;

fn concbench() -> Command {
    let mut cmd = Command::cargo_bin("concbench").unwrap();
    cmd.timeout(Duration::from_secs(120));
    cmd
}

/// Run `args`; return (exit status, stdout, stderr).
fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = concbench().args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Assert exit status 2 with exactly one line on stderr; return it.
fn one_line_usage_error(args: &[&str]) -> String {
    let (code, stdout, stderr) = run(args);
    assert_eq!(code, Some(2), "{args:?}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
    assert!(stderr.starts_with("concbench: "), "{args:?}: {stderr}");
    assert!(stdout.is_empty(), "{args:?}: {stdout}");
    stderr
}

#[test]
fn clap_errors_keep_clap_tips_and_other_errors_stay_one_line() {
    let cases: [(&[&str], &[&str]); 4] = [
        (
            &["run", "--fromat", "x"],
            &[
                "'--fromat'",
                "a similar argument exists: '--format'",
                "Usage:",
            ],
        ),
        (
            &["run", "-w", "mergesort", "--format", "xml"],
            &["'xml'", "possible values", "table", "json", "latex"],
        ),
        (&["compaer"], &["similar subcommands exist", "'compare'"]),
        (
            &["completions", "tcsh"],
            &["'tcsh'", "possible values", "bash", "zsh", "fish"],
        ),
    ];
    for (args, needles) in cases {
        let (code, stdout, stderr) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}");
        for n in needles {
            assert!(stderr.contains(n), "{args:?} lacks {n}: {stderr}");
        }
    }
    // Errors found after parsing keep the one-line form.
    let line = one_line_usage_error(&["run", "-w", "nope"]);
    assert!(line.contains("nope"), "{line}");
}

/// A tiny run written with `--out DIR`: DIR holds results.json.
fn write_run(dir: &Path) {
    concbench()
        .args([
            "run",
            "-w",
            "mergesort",
            "--size",
            "3000",
            "--cores",
            "1",
            "--strategy",
            "sequential",
            "--reps",
            "1",
            "--warmup",
            "0",
            "--quiet",
            "--out",
        ])
        .arg(dir)
        .assert()
        .success();
}

#[test]
fn compare_says_in_one_line_what_a_file_is_when_it_is_not_results() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good");
    write_run(&good);
    let results = std::fs::read_to_string(good.join("results.json")).unwrap();
    // What `--out DIR` wrote is read as DIR/results.json.
    let (code, _, stderr) = run(&[
        "compare",
        good.to_str().unwrap(),
        good.join("results.json").to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{stderr}");

    let file = |name: &str, text: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let empty_dir = tmp.path().join("empty-dir");
    std::fs::create_dir(&empty_dir).unwrap();
    let cases = [
        (file("notes.txt", "median 12 ms\n"), "not JSON"),
        (file("empty.json", ""), "empty"),
        (file("cut.json", &results[..results.len() / 2]), "cut short"),
        (
            file("lab.json", r#"{"machine": {}, "rule": "", "claims": []}"#),
            "lab report",
        ),
        (
            file("other.json", r#"{"name": "x", "version": "1"}"#),
            "another program's JSON",
        ),
        (file("list.json", "[1, 2, 3]"), "another program's JSON"),
        (empty_dir.clone(), "directory without a results.json"),
        (tmp.path().join("missing.json"), "cannot read"),
    ];
    for (bad, what) in cases {
        let bad_s = bad.to_str().unwrap();
        for args in [
            ["compare", bad_s, good.to_str().unwrap()],
            ["compare", good.to_str().unwrap(), bad_s],
        ] {
            let line = one_line_usage_error(&args);
            assert!(line.contains(bad_s), "{args:?}: {line}");
            assert!(line.contains(what), "{args:?}: {line}");
            for serde_words in ["missing field", "at line", "column", "expected", "EOF"] {
                assert!(!line.contains(serde_words), "{args:?}: {line}");
            }
        }
    }
}

/// Every subcommand that measures, with arguments that make it quick.
const MEASURING: [&[&str]; 6] = [
    &[
        "run",
        "-w",
        "mergesort",
        "--size",
        "3000",
        "--cores",
        "1",
        "--strategy",
        "sequential",
        "--reps",
        "1",
        "--warmup",
        "0",
    ],
    &["lab", "--quick", "--claim", "one-core-concurrency"],
    &[
        "timeline",
        "--kind",
        "task",
        "--cores",
        "2",
        "--duration-ms",
        "20",
    ],
    &["ctxswitch", "--round-trips", "200", "--reps", "1"],
    &["limits", "--quick"],
    &[
        "refs",
        "-w",
        "mergesort",
        "--size",
        "10000",
        "--reps",
        "1",
        "--warmup",
        "0",
    ],
];

#[test]
fn every_measuring_subcommand_takes_out_and_quiet() {
    for args in MEASURING {
        let (code, help, _) = run(&[args[0], "--help"]);
        assert_eq!(code, Some(0));
        assert!(help.contains("--out <DIR>"), "{}: {help}", args[0]);
        assert!(help.contains("-q, --quiet"), "{}: {help}", args[0]);
    }
    // An unwritable --out is refused before any work, by each of them.
    let tmp = tempfile::tempdir().unwrap();
    let a_file = tmp.path().join("a-file");
    std::fs::write(&a_file, "").unwrap();
    for args in MEASURING {
        let mut all = args.to_vec();
        all.extend(["--out", a_file.to_str().unwrap()]);
        let line = one_line_usage_error(&all);
        assert!(line.contains("a-file"), "{all:?}: {line}");
    }
    // The ones that gained --out write their text and JSON there, quietly with -q. (run, lab and
    // timeline --out are checked in their own tests.)
    let cache = tmp.path().join("cache");
    for (args, files) in [
        (MEASURING[3], ["ctxswitch.txt", "ctxswitch.json"]),
        (MEASURING[4], ["limits.txt", "limits.json"]),
        (MEASURING[5], ["mergesort.txt", "mergesort.json"]),
    ] {
        let dir = tmp.path().join(args[0]);
        let out = concbench()
            .env("XDG_CACHE_HOME", &cache)
            .args(args)
            .args(["-q", "--out"])
            .arg(&dir)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {stderr}");
        assert!(!stderr.contains("wrote"), "{args:?}: {stderr}");
        let text = std::fs::read_to_string(dir.join(files[0])).unwrap();
        assert_eq!(text, String::from_utf8_lossy(&out.stdout), "{args:?}");
        let json = std::fs::read(dir.join(files[1])).unwrap();
        serde_json::from_slice::<serde_json::Value>(&json).expect("one JSON document");
    }
}

#[test]
fn workers_are_cores_everywhere_and_threads_still_works() {
    for sub in ["run", "timeline"] {
        let (_, help, _) = run(&[sub, "--help"]);
        assert!(help.contains("-c, --cores <CORES>"), "{sub}: {help}");
    }
    // The old spelling still parses (the value is then refused, naming the one flag).
    for flag in ["--cores", "--threads", "-c", "-t"] {
        let line = one_line_usage_error(&["timeline", flag, "0", "--placement", "spread"]);
        assert!(line.contains("--cores 0"), "{flag}: {line}");
    }
}

#[test]
fn run_help_states_its_defaults_as_measured_here() {
    let (_, help, _) = run(&["run", "--help"]);
    let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
    let physical = concbench::strategy::physical_cores();
    let mut expected: Vec<usize> = (0..)
        .map(|i| 1usize << i)
        .take_while(|c| *c <= physical)
        .collect();
    if expected.last() != Some(&physical) {
        expected.push(physical);
    }
    expected.push(2 * physical);
    let expected: Vec<String> = expected.iter().map(|c| c.to_string()).collect();
    let here = format!("here {physical} physical cores: {}", expected.join(","));
    assert!(flat.contains(&here), "{here} not in: {flat}");
    assert!(!flat.contains("1,2,4,8 "), "{flat}");
    assert!(!flat.contains("all six"), "{flat}");
    let default: Vec<String> = concbench::sweep::default_strategies()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(
        flat.contains(&format!("which is {}", default.join(", "))),
        "{flat}"
    );
}

#[test]
fn lab_list_prints_every_claim_with_its_statement() {
    let (code, stdout, stderr) = run(&["lab", "--list"]);
    assert_eq!(code, Some(0), "{stderr}");
    // The library's listing, one line per claim in the course's order (its unit tests check
    // that each line holds its claim's statement).
    assert_eq!(stdout, concbench::lab::claim_list());
    let lines: Vec<&str> = stdout.lines().collect();
    let ids = concbench::lab::claim_ids();
    assert_eq!(lines.len(), ids.len(), "{stdout}");
    for (line, id) in lines.iter().zip(ids) {
        assert!(line.starts_with(&format!("{id} ")), "{line}");
    }
}

#[test]
fn completions_and_man_pages_come_from_the_clap_definitions() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let (code, script, stderr) = run(&["completions", shell]);
        assert_eq!(code, Some(0), "{shell}: {stderr}");
        for word in ["concbench", "timeline", "cores"] {
            assert!(script.contains(word), "{shell} lacks {word}");
        }
    }
    let (code, page, _) = run(&["man"]);
    assert_eq!(code, Some(0));
    assert!(page.contains(".TH concbench 1"), "{page}");
    assert!(page.contains("completions"), "{page}");
    let (code, page, _) = run(&["man", "run"]);
    assert_eq!(code, Some(0));
    assert!(page.contains(".TH concbench-run 1"), "{page}");
    assert!(page.contains(r"\-\-cores"), "{page}");
    let line = one_line_usage_error(&["man", "nope"]);
    assert!(line.contains("'nope'"), "{line}");
}
