//! When the world around concbench fails, it says so in one line and stops: a limit that refuses
//! new workers, a stuck worker, output that cannot be written, an interrupted `--out`, arguments
//! that are not UTF-8, work without bounds, a renamed binary. Each class is reproduced from
//! outside, the way a user meets it, and checked for its exit status, its one line, and what is
//! (not) left on disk and in the process table. Nothing sleeps to wait for an event: every wait
//! polls with a deadline.
//!
//! Linux only: the failures are made with `setrlimit`, signals and `/proc`.
#![cfg(target_os = "linux")]

mod cli_support;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The built binary, copied into a fresh directory that any user may read (so a test can run it
/// as an unprivileged user) under `name`: also a renamed binary serving its own workers.
struct Bin {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn copied_binary(name: &str) -> Bin {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.path().join(name);
    std::fs::copy(env!("CARGO_BIN_EXE_concbench"), &path).unwrap();
    Bin { _dir: dir, path }
}

fn concbench() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_concbench"));
    c.env_remove("CONCBENCH_EXE");
    c
}

/// Wait for `child` with a deadline; kill it if it has not finished by then.
fn finish(mut child: std::process::Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(_status) = child.try_wait().unwrap() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "still running after {limit:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn one_line(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    // Warnings about the machine (a busy CPU) may come before it; the error is one line.
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("concbench: ") && !l.starts_with("concbench: warning: "))
        .collect();
    assert_eq!(lines.len(), 1, "not one error line: {err}");
    assert!(!err.contains("panicked"), "{err}");
    lines[0].to_string()
}

/// Pids of live processes whose command line contains `needle`.
fn processes_with(needle: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let state = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let zombie = state
            .rsplit(')')
            .next()
            .is_some_and(|s| s.trim_start().starts_with('Z'));
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if !zombie && cmdline.contains(needle) {
            pids.push(pid);
        }
    }
    pids
}

/// Run `cmd` as an unprivileged user (when this test runs as root, which is not held to the
/// process limit) with at most `nproc` processes and threads, or `nofile` open files.
fn limited(cmd: &mut Command, nproc: Option<u64>, nofile: Option<u64>) {
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let set = |which, v: u64| {
                let r = libc::rlimit {
                    rlim_cur: v,
                    rlim_max: v,
                };
                if libc::setrlimit(which, &r) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            };
            if let Some(n) = nofile {
                set(libc::RLIMIT_NOFILE, n)?;
            }
            if let Some(n) = nproc {
                if libc::geteuid() == 0 && (libc::setgid(65534) != 0 || libc::setuid(65534) != 0) {
                    return Err(std::io::Error::last_os_error());
                }
                set(libc::RLIMIT_NPROC, n)?;
            }
            Ok(())
        });
    }
}

#[test]
fn a_worker_program_that_is_not_there_is_refused_before_any_row() {
    // A sweep that will need worker processes looks for their program before its first row, so
    // a run cannot measure four rows and then fail at the fifth. Other sources of the program
    // (this executable, one beside it) are always there in a test; $CONCBENCH_EXE is the one a
    // user can get wrong.
    let missing = tempfile::tempdir().unwrap().path().join("concbench");
    let out = concbench()
        .env("CONCBENCH_EXE", &missing)
        .args([
            "run",
            "-w",
            "io",
            "--size",
            "4",
            "--wait-ms",
            "1",
            "--cores",
            "1,2",
        ])
        .args(["--strategy", "sequential,multi-threaded,multi-process"])
        .args(["--reps", "1", "--warmup", "0", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let line = one_line(&out);
    assert!(
        line.contains("CONCBENCH_EXE=") && line.contains("is not a file"),
        "{line}"
    );
    assert!(out.stdout.is_empty(), "rows were printed");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("sequential"), "a row ran first: {err}");
}

#[test]
fn a_thread_limit_is_one_line_naming_it_and_no_hang() {
    let bin = copied_binary("concbench");
    let mut cmd = Command::new(&bin.path);
    cmd.current_dir("/")
        .args(["run", "-w", "io", "--size", "256", "--wait-ms", "1"])
        .args(["--strategy", "single-core-threaded", "--cores", "256"])
        .args(["--reps", "1", "--warmup", "0", "--quiet"]);
    limited(&mut cmd, Some(40), None);
    let out = finish(cmd.output_child(), Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(1));
    let line = one_line(&out);
    assert!(
        line.contains("could not start a thread") && line.contains("256 asked for"),
        "{line}"
    );
    assert!(line.contains("ulimit -u 40"), "{line}");
}

#[test]
fn every_subcommand_that_starts_workers_names_the_limit() {
    let bin = copied_binary("concbench");
    let cases: [(&[&str], u64); 6] = [
        (
            &[
                "refs",
                "--workload",
                "mergesort",
                "--size",
                "10000",
                "--reps",
                "1",
            ],
            2,
        ),
        (
            &[
                "timeline",
                "--threads",
                "40",
                "--placement",
                "one-core",
                "--duration-ms",
                "50",
            ],
            20,
        ),
        (
            &[
                "timeline",
                "--threads",
                "40",
                "--placement",
                "one-core",
                "--kind",
                "process",
                "--duration-ms",
                "50",
            ],
            20,
        ),
        (&["ctxswitch", "--round-trips", "1000", "--reps", "1"], 2),
        (&["limits", "--quick"], 2),
        (
            &[
                "lab",
                "--quick",
                "--claim",
                "one-core-concurrency",
                "--quiet",
            ],
            3,
        ),
    ];
    for (args, nproc) in cases {
        let mut cmd = Command::new(&bin.path);
        cmd.current_dir("/").args(args);
        limited(&mut cmd, Some(nproc), None);
        let out = finish(cmd.output_child(), Duration::from_secs(120));
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let line = one_line(&out);
        assert!(
            line.contains(&format!("ulimit -u {nproc}")),
            "{args:?}: {line}"
        );
    }
    assert!(processes_with(&bin.path.display().to_string()).is_empty());
}

#[test]
fn a_file_limit_stops_worker_processes_keeps_earlier_rows_and_leaves_none() {
    let bin = copied_binary("concbench");
    let mut cmd = Command::new(&bin.path);
    cmd.args(["run", "-w", "io", "--size", "16", "--wait-ms", "1"])
        .args(["--strategy", "sequential,multi-process", "--cores", "16"])
        .args(["--reps", "1", "--warmup", "0", "--quiet"]);
    limited(&mut cmd, None, Some(24));
    let out = finish(cmd.output_child(), Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(1));
    let line = one_line(&out);
    assert!(
        line.contains("could not start a process") && line.contains("ulimit -n 24"),
        "{line}"
    );
    assert!(!line.contains("wrong answer"), "{line}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("sequential"),
        "the row measured before the failure is shown: {stdout}"
    );
    assert!(processes_with(&bin.path.display().to_string()).is_empty());
}

#[test]
fn a_stopped_worker_process_is_named_killed_and_the_run_ends() {
    let bin = copied_binary("concbench");
    let child = Command::new(&bin.path)
        .args(["run", "-w", "io", "--size", "8", "--wait-ms", "200"])
        .args(["--strategy", "multi-process", "--cores", "2"])
        .args([
            "--reps",
            "20",
            "--warmup",
            "0",
            "--quiet",
            "--stuck-after",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Find a worker (a child process of this run) and stop it.
    let marker = format!("{} __concbench-child", bin.path.display());
    let deadline = Instant::now() + Duration::from_secs(30);
    let worker = loop {
        if let Some(&pid) = processes_with(&marker).first() {
            break pid;
        }
        assert!(Instant::now() < deadline, "no worker process appeared");
        std::thread::sleep(Duration::from_millis(5));
    };
    // SAFETY: signalling a process we started (through concbench).
    unsafe { libc::kill(worker as i32, libc::SIGSTOP) };
    let out = finish(child, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(1));
    let line = one_line(&out);
    assert!(
        line.contains("no answer by the deadline") && line.contains("worker process"),
        "{line}"
    );
    assert!(
        processes_with(&marker).is_empty(),
        "a worker outlived the run"
    );
}

#[test]
fn a_part_that_never_returns_is_named() {
    for strategy in ["multi-process", "multi-threaded"] {
        let out = concbench()
            .args(["run", "-w", "io", "--size", "4", "--wait-ms", "1"])
            .args(["--strategy", strategy, "--cores", "2", "--reps", "2"])
            .args(["--warmup", "0", "--quiet", "--stuck-after", "0.5"])
            .args(["--fault-part", "1", "--fault-kind", "hang"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = finish(out, Duration::from_secs(60));
        assert_eq!(out.status.code(), Some(1), "{strategy}");
        let line = one_line(&out);
        assert!(line.contains("part 1"), "{strategy}: {line}");
    }
}

#[test]
fn output_that_cannot_be_written_is_an_error_and_a_closed_pipe_is_not() {
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    let runs: [&[&str]; 6] = [
        &["list"],
        &["--help"],
        &[
            "run",
            "-w",
            "io",
            "--size",
            "2",
            "--wait-ms",
            "0",
            "--cores",
            "1",
        ],
        &[
            "run",
            "-w",
            "io",
            "--size",
            "2",
            "--wait-ms",
            "0",
            "--format",
            "json",
        ],
        &["ctxswitch", "--round-trips", "200", "--reps", "1"],
        &[
            "timeline",
            "--threads",
            "1",
            "--placement",
            "one-core",
            "--duration-ms",
            "20",
        ],
    ];
    for args in runs {
        let out = concbench().args(args).stdout(full()).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let line = one_line(&out);
        assert!(line.contains("writing to stdout"), "{args:?}: {line}");
        assert!(line.contains("No space left"), "{args:?}: {line}");
    }
    // A reader that has gone away: quiet, status 0.
    let mut child = concbench()
        .args(["list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = finish(child, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn run_into(dir: &Path, cmd: &mut Command) -> Output {
    cmd.args([
        "run",
        "-w",
        "io",
        "--size",
        "2",
        "--wait-ms",
        "0",
        "--cores",
        "1,2",
    ])
    .args(["--reps", "1", "--warmup", "0", "--quiet", "--out"])
    .arg(dir)
    .stdout(Stdio::null())
    .output()
    .unwrap()
}

fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn an_interrupted_or_failed_out_leaves_the_previous_set_whole() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("results");
    assert!(run_into(&dir, &mut concbench()).status.success());
    let before = contents(&dir);
    assert!(before.iter().any(|(n, _)| n == "results.json"));
    for kill_on_limit in [false, true] {
        let mut cmd = concbench();
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                // Files may not grow past 2 KB: writing the set fails part-way (EFBIG), or the
                // kernel kills the writer (SIGXFSZ), as an interruption would.
                if !kill_on_limit {
                    libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                }
                let r = libc::rlimit {
                    rlim_cur: 2048,
                    rlim_max: 2048,
                };
                libc::setrlimit(libc::RLIMIT_FSIZE, &r);
                Ok(())
            });
        }
        let out = run_into(&dir, &mut cmd);
        assert!(!out.status.success(), "kill {kill_on_limit}");
        if !kill_on_limit {
            let line = one_line(&out);
            assert!(line.contains("writing the result files"), "{line}");
        }
        assert_eq!(
            contents(&dir),
            before,
            "kill {kill_on_limit}: the set changed"
        );
    }
    // A later run clears what the killed one left beside the directory.
    assert!(run_into(&dir, &mut concbench()).status.success());
    let left: Vec<String> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["results"]);
}

#[test]
fn a_rejected_command_creates_no_directory() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("new/results");
    let out = concbench()
        .args(["run", "-w", "io", "--cores", "0", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!root.path().join("new").exists());
}

#[test]
fn arguments_that_are_not_utf8_are_exit_2_or_paths() {
    use std::os::unix::ffi::OsStrExt;
    let bad = std::ffi::OsStr::from_bytes(b"\xff");
    for args in [vec![bad], vec![std::ffi::OsStr::new("run"), bad]] {
        let out = concbench().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        // A parse error: clap renders it (the error, the usage), and nothing panics.
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // A path need not be UTF-8.
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join(std::ffi::OsStr::from_bytes(b"out-\xff"));
    let out = run_into(&dir, &mut concbench());
    cli_support::assert_ran(&out);
    assert!(dir.join("results.json").is_file());
}

#[test]
fn unbounded_work_is_bounded_or_announced() {
    for (args, needle) in [
        (vec!["run", "-w", "io", "--reps", "1000000"], "10000"),
        (vec!["run", "-w", "io", "--warmup", "1000000000"], "1000"),
    ] {
        let out = concbench().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(one_line(&out).contains(needle), "{args:?}");
    }
    let out = concbench()
        .args(["compare", "/dev/zero", "/dev/zero"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // Refused by its type before it is opened: a device is never read.
    let line = one_line(&out);
    assert!(line.contains("/dev/zero is a character device"), "{line}");
    // A run whose length is known up front says so before it starts.
    let mut child = concbench()
        .args(["run", "-w", "io", "--size", "10000000", "--wait-ms", "100"])
        .args([
            "--strategy",
            "sequential",
            "--reps",
            "1",
            "--warmup",
            "0",
            "--quiet",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(first.contains("this run will be long"), "{first}");
    assert!(first.contains("days"), "{first}");
}

#[test]
fn a_renamed_binary_serves_its_own_workers() {
    let bin = copied_binary("cb");
    let out = Command::new(&bin.path)
        .env_remove("CONCBENCH_EXE")
        .current_dir("/")
        .args(["run", "-w", "io", "--size", "4", "--wait-ms", "1"])
        .args(["--strategy", "multi-process", "--cores", "2"])
        .args([
            "--reps", "1", "--warmup", "0", "--quiet", "--format", "json",
        ])
        .output()
        .unwrap();
    cli_support::assert_ran(&out);
    let mut text = String::new();
    out.stdout.as_slice().read_to_string(&mut text).unwrap();
    assert!(text.contains("\"verified\": true"), "{text}");
}

/// `Command::output`, but spawned, so the caller can wait with a deadline.
trait OutputChild {
    fn output_child(&mut self) -> std::process::Child;
}

impl OutputChild for Command {
    fn output_child(&mut self) -> std::process::Child {
        self.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }
}
