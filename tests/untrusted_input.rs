//! Result files are untrusted input: what `compare` and `collect` read may be cut short, edited,
//! another program's, a newer concbench's, or not a file at all (a FIFO, a device, a loop of
//! links). Each class is refused with exit status 2 and exactly one line on stderr naming the
//! file, within seconds (a hang fails the test rather than hanging it); thousands of seeded
//! mutations of real files never panic the loader; and `collect` gathers the committed results
//! into one table per workload.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use concbench::collect::collect;
use concbench::report::{Format, Render};
use concbench::workload::XorShift;
use serde_json::Value;

/// Longer than any refusal takes, even of a debug build on a busy machine; far shorter than a
/// hang.
const LIMIT: Duration = Duration::from_secs(20);

fn concbench() -> Command {
    Command::cargo_bin("concbench").unwrap()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A run's results.json committed under results/ (written before the schema version was).
fn good_run() -> PathBuf {
    root().join("results/mergesort/results.json")
}

/// A lab's lab.json committed under results/.
fn good_lab() -> PathBuf {
    root().join("results/lab/quick/lab.json")
}

/// Run concbench with `args`; assert it is refused within [`LIMIT`]: exit status 2, nothing on
/// stdout, exactly one line on stderr, naming `name`. Returns the line.
fn refused(args: &[OsString], name: &str) -> String {
    let start = Instant::now();
    let out = concbench().args(args).timeout(LIMIT).output().unwrap();
    let took = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(took < LIMIT, "{args:?} took {took:?}: {stderr}");
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?}: stdout not empty");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
    assert!(stderr.starts_with("concbench: "), "{args:?}: {stderr}");
    assert!(
        stderr.contains(name),
        "{args:?} does not name {name}: {stderr}"
    );
    stderr.trim_end().to_string()
}

fn os(args: &[&Path]) -> Vec<OsString> {
    args.iter().map(|p| p.as_os_str().to_owned()).collect()
}

fn with_cmd(cmd: &str, args: &[&Path]) -> Vec<OsString> {
    let mut v = vec![OsString::from(cmd)];
    v.extend(os(args));
    v
}

/// `text` with the first value of `"key": ` replaced by `new`.
fn with_first(text: &str, key: &str, new: &str) -> String {
    let at = text.find(&format!("\"{key}\": ")).unwrap() + key.len() + 4;
    let end = at + text[at..].find([',', '\n']).unwrap();
    format!("{}{new}{}", &text[..at], &text[end..])
}

/// A bad input: the path to pass, how the error names it, what the error says.
struct Bad {
    path: PathBuf,
    name: String,
    says: &'static str,
}

/// One file of each class of bad input, in `dir`.
fn bad_inputs(dir: &Path) -> Vec<Bad> {
    let text = std::fs::read_to_string(good_run()).unwrap();
    let mut out = Vec::new();
    let mut file = |name: &str, contents: &[u8], says: &'static str| {
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        out.push(Bad {
            name: path.display().to_string(),
            path,
            says,
        });
    };
    file("cut.json", &text.as_bytes()[..text.len() / 2], "cut short");
    file("notes.txt", b"median 12 ms\n", "not JSON");
    file("empty.json", b"", "empty");
    file(
        "other.json",
        br#"{"name": "x", "version": "1"}"#,
        "another program's JSON",
    );
    file("list.json", b"[]", "another program's JSON (an array)");
    file("number.json", b"42", "another program's JSON (a number)");
    file(
        "newer.json",
        if text.contains("\"schema_version\": ") {
            with_first(&text, "schema_version", "2")
        } else {
            format!("{{\"schema_version\": 2,{}", &text.trim_start()[1..])
        }
        .as_bytes(),
        "was written by a newer concbench (schema 2; this one reads 1)",
    );
    file(
        "inf.json",
        with_first(&text, "median_s", "1e999").as_bytes(),
        "too large for a 64-bit float",
    );
    file(
        "negative.json",
        with_first(&text, "median_s", "-1").as_bytes(),
        "median_s is -1",
    );
    file(
        "absurd.json",
        with_first(&text, "speedup", "1e300").as_bytes(),
        "speedup is 1e300",
    );
    let mut v: Value = serde_json::from_str(&text).unwrap();
    let ci = &mut v["rows"][1]["speedup_ci"];
    *ci = serde_json::json!([ci[1].clone(), ci[0].clone()]);
    file(
        "upside-down.json",
        serde_json::to_string_pretty(&v).unwrap().as_bytes(),
        "row 2 (single-core-threaded x1): speedup_ci is [",
    );
    file(
        "deep.json",
        "[".repeat(10_000).as_bytes(),
        "nests deeper than 128 levels",
    );
    file("latin1.json", b"{\"cpu\": \"\xe9\"}", "not UTF-8");
    let limits = std::fs::read(root().join("results/limits/limits.json")).unwrap();
    file("limits.json", &limits, "a concbench limits report");
    let ctx = std::fs::read(root().join("results/ctxswitch/ctxswitch.json")).unwrap();
    file("ctxswitch.json", &ctx, "a concbench ctxswitch report");

    // 100 MiB without writing them: a sparse file.
    let sparse = dir.join("sparse.json");
    std::fs::File::create(&sparse)
        .unwrap()
        .set_len(100 << 20)
        .unwrap();
    out.push(Bad {
        name: sparse.display().to_string(),
        path: sparse,
        says: "larger than 64 MiB",
    });
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        // A FIFO: opening it to read would wait for a writer forever.
        let fifo = dir.join("fifo.json");
        let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        out.push(Bad {
            name: fifo.display().to_string(),
            path: fifo,
            says: "a named pipe (FIFO)",
        });
        out.push(Bad {
            path: "/dev/zero".into(),
            name: "/dev/zero".into(),
            says: "a character device",
        });
        // A link to itself: resolving it loops.
        let selfloop = dir.join("selfloop.json");
        std::os::unix::fs::symlink(&selfloop, &selfloop).unwrap();
        out.push(Bad {
            name: selfloop.display().to_string(),
            path: selfloop,
            says: "cannot read",
        });
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        // A name that is not UTF-8 (Linux takes any bytes), holding a cut file: named lossily.
        let raw = dir.join(std::ffi::OsStr::from_bytes(b"r\xffs.json"));
        std::fs::write(&raw, &text[..100]).unwrap();
        out.push(Bad {
            name: dir.join("r\u{fffd}s.json").display().to_string(),
            path: raw,
            says: "cut short",
        });
    }
    out
}

#[test]
fn compare_refuses_each_class_of_bad_input_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let good = good_run();
    for bad in bad_inputs(tmp.path()) {
        for args in [
            [bad.path.as_path(), good.as_path()],
            [good.as_path(), bad.path.as_path()],
        ] {
            let line = refused(&with_cmd("compare", &args), &bad.name);
            assert!(line.contains(bad.says), "{}: {line}", bad.name);
        }
    }
    // A lab's results are results, but not a run's.
    let line = refused(&with_cmd("compare", &[&good, &good_lab()]), "lab.json");
    assert!(
        line.contains("is a lab result") && line.contains("compare takes run results"),
        "{line}"
    );
}

#[test]
fn collect_refuses_each_class_of_bad_input_in_one_line_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let good = good_run();
    let out_dir = tmp.path().join("out");
    for bad in bad_inputs(tmp.path()) {
        let mut args = with_cmd("collect", &[&good, &bad.path]);
        args.extend(["--out".into(), out_dir.clone().into()]);
        let line = refused(&args, &bad.name);
        assert!(line.contains(bad.says), "{}: {line}", bad.name);
        assert!(!out_dir.exists(), "{}: --out written", bad.name);
        // The bad file alone, and first.
        let line = refused(&with_cmd("collect", &[&bad.path, &good]), &bad.name);
        assert!(line.contains(bad.says), "{}: {line}", bad.name);
    }
}

#[test]
fn collect_refuses_the_same_file_twice_naming_both_spellings() {
    let good = good_run();
    let line = refused(
        &with_cmd("collect", &[&good, &good]),
        &good.display().to_string(),
    );
    assert!(line.contains("the same file"), "{line}");
    #[cfg(unix)]
    {
        let tmp = tempfile::tempdir().unwrap();
        let link = tmp.path().join("link.json");
        std::os::unix::fs::symlink(&good, &link).unwrap();
        let line = refused(&with_cmd("collect", &[&good, &link]), "link.json");
        assert!(
            line.contains(&good.display().to_string()) && line.contains("the same file"),
            "{line}"
        );
        // A directory and a file inside it.
        let dir = tmp.path().join("d");
        std::fs::create_dir(&dir).unwrap();
        std::fs::copy(&good, dir.join("results.json")).unwrap();
        let inside = dir.join("results.json");
        let line = refused(&with_cmd("collect", &[&dir, &inside]), "results.json");
        assert!(line.contains("the same file"), "{line}");
    }
}

#[cfg(unix)]
#[test]
fn a_loop_of_directory_links_ends_the_walk_and_is_never_followed_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("loop");
    std::fs::create_dir_all(d.join("a/b")).unwrap();
    std::os::unix::fs::symlink("../..", d.join("a/b/up")).unwrap();
    std::os::unix::fs::symlink("..", d.join("a/back")).unwrap();
    // Nothing to collect under a loop: refused, at once.
    let line = refused(&with_cmd("collect", &[&d]), &d.display().to_string());
    assert!(line.contains("holds no results.json or lab.json"), "{line}");
    // compare on a path through the loop: a directory without a results.json.
    let through = d.join("a/b/up/a/b/up/a");
    let line = refused(
        &with_cmd("compare", &[&through, &good_run()]),
        &through.display().to_string(),
    );
    assert!(line.contains("directory without a results.json"), "{line}");
    // With a result under the loop: read once, not once per turn of the loop.
    std::fs::copy(good_run(), d.join("a/b/results.json")).unwrap();
    let out = concbench()
        .args(["collect", "--format", "json"])
        .arg(&d)
        .timeout(LIMIT)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["files"].as_array().unwrap().len(), 1, "{doc}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_file_name_that_is_not_utf8_is_read_and_shown_lossily() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(std::ffi::OsStr::from_bytes(b"class-\xfe"));
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(good_run(), dir.join("results.json")).unwrap();
    let out = concbench()
        .arg("collect")
        .arg(tmp.path())
        .timeout(LIMIT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("class-\u{fffd}/results.json"), "{text}");
}

/// One seeded mutation of `base`: bytes cut, flipped, deleted or inserted, or (on the parsed
/// document) a number replaced, a key deleted, a value retyped, the schema version changed, or
/// the whole wrapped in nesting.
fn mutate(base: &[u8], rng: &mut XorShift) -> Vec<u8> {
    let mut pick = |n: usize| (rng.next() % n.max(1) as u64) as usize;
    let mut b = base.to_vec();
    if b.is_empty() {
        return b;
    }
    match pick(9) {
        0 => b.truncate(pick(b.len())),
        1 => {
            for _ in 0..1 + pick(4) {
                let i = pick(b.len());
                b[i] ^= 1 + pick(255) as u8;
            }
        }
        2 => {
            let i = pick(b.len());
            let n = (1 + pick(16)).min(b.len() - i);
            b.drain(i..i + n);
        }
        3 => {
            const BYTES: &[u8] = b"{}[]\",:-0123456789e.\n \xff\xc3tnf";
            let i = pick(b.len());
            let n = 1 + pick(8);
            let ins: Vec<u8> = (0..n).map(|_| BYTES[pick(BYTES.len())]).collect();
            b.splice(i..i, ins);
        }
        4..=7 => {
            let Ok(mut v) = serde_json::from_slice::<Value>(base) else {
                return b;
            };
            let mut numbers = Vec::new();
            let mut objects = Vec::new();
            let mut strings = Vec::new();
            paths(&v, String::new(), &mut numbers, &mut objects, &mut strings);
            let kind = pick(4);
            let mut placeholder = None;
            match kind {
                0 if !numbers.is_empty() => {
                    let p = &numbers[pick(numbers.len())];
                    let new = [
                        "-1", "1e999", "0", "1e300", "-0.0", "-1e999", "1e-320", "NaN",
                    ][pick(8)];
                    *v.pointer_mut(p).unwrap() = Value::String("@@NUM@@".into());
                    placeholder = Some(new);
                }
                1 if !objects.is_empty() => {
                    let p = &objects[pick(objects.len())];
                    if let Some(Value::Object(m)) = v.pointer_mut(p) {
                        if !m.is_empty() {
                            let k = m.keys().nth(pick(m.len())).unwrap().clone();
                            m.remove(&k);
                        }
                    }
                }
                2 if !numbers.is_empty() && !strings.is_empty() => {
                    // A number or a string retyped; a string may come back with a newline, a
                    // bell and markup in it, which no message may print raw.
                    let p = if pick(2) == 0 {
                        &numbers[pick(numbers.len())]
                    } else {
                        &strings[pick(strings.len())]
                    };
                    *v.pointer_mut(p).unwrap() = match pick(5) {
                        0 => Value::Null,
                        1 => Value::String("fast\nslow\u{7}<b>".into()),
                        2 => Value::Array(vec![]),
                        3 => Value::from(-3),
                        _ => Value::Bool(true),
                    };
                }
                _ => {
                    if let Value::Object(m) = &mut v {
                        m.insert(
                            "schema_version".into(),
                            match pick(4) {
                                0 => Value::from(pick(5) as u64),
                                1 => Value::from(-1),
                                2 => Value::from(1.5),
                                _ => Value::from("1"),
                            },
                        );
                    }
                }
            }
            let mut text = serde_json::to_string_pretty(&v).unwrap();
            if let Some(new) = placeholder {
                text = text.replace("\"@@NUM@@\"", new);
            }
            b = text.into_bytes();
        }
        _ => {
            let k = pick(300);
            let mut w = "[".repeat(k).into_bytes();
            w.extend_from_slice(&b);
            w.resize(w.len() + k, b']');
            b = w;
        }
    }
    b
}

/// JSON pointers to every number, object and string of `v`.
fn paths(
    v: &Value,
    at: String,
    numbers: &mut Vec<String>,
    objects: &mut Vec<String>,
    strings: &mut Vec<String>,
) {
    match v {
        Value::Number(_) => numbers.push(at),
        Value::String(_) => strings.push(at),
        Value::Object(m) => {
            objects.push(at.clone());
            for (k, x) in m {
                let k = k.replace('~', "~0").replace('/', "~1");
                paths(x, format!("{at}/{k}"), numbers, objects, strings);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                paths(x, format!("{at}/{i}"), numbers, objects, strings);
            }
        }
        _ => {}
    }
}

#[test]
fn thousands_of_mutations_never_panic_and_each_is_read_or_refused_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let bases = [
        std::fs::read(good_run()).unwrap(),
        std::fs::read(good_lab()).unwrap(),
    ];
    let path = tmp.path().join("mutant.json");
    let name = path.display().to_string();
    let mut rng = XorShift::new(0x00c0_ffee_2026);
    let (mut read, mut refusals) = (0, 0);
    let mut for_cli: Vec<Vec<u8>> = Vec::new();
    for i in 0..3000 {
        let base = &bases[usize::from(i % 4 == 3)];
        let mut m = mutate(base, &mut rng);
        if i % 5 == 0 {
            // Two mutations at once.
            m = mutate(&m, &mut rng);
        }
        std::fs::write(&path, &m).unwrap();
        let outcome = std::panic::catch_unwind(|| collect(std::slice::from_ref(&path), None));
        let Ok(outcome) = outcome else {
            let keep = std::env::temp_dir().join(format!("concbench-mutant-{i}.json"));
            std::fs::write(&keep, &m).unwrap();
            panic!(
                "mutation {i} panicked the loader; kept as {}",
                keep.display()
            );
        };
        match outcome {
            Ok(c) => {
                read += 1;
                // What reads renders, in every format and every file of its set (the charts
                // too), without a panic and without a raw control character.
                let rendered = std::panic::catch_unwind(|| {
                    let mut all: Vec<String> = [
                        Format::Terminal,
                        Format::Markdown,
                        Format::Csv,
                        Format::Json,
                        Format::Latex,
                    ]
                    .into_iter()
                    .map(|f| c.render(f))
                    .collect();
                    all.extend(c.files().into_iter().map(|(_, text)| text));
                    all
                });
                let Ok(texts) = rendered else {
                    let keep = std::env::temp_dir().join(format!("concbench-mutant-{i}.json"));
                    std::fs::write(&keep, &m).unwrap();
                    panic!(
                        "mutation {i} panicked a renderer; kept as {}",
                        keep.display()
                    );
                };
                for t in texts {
                    assert!(
                        !t.chars().any(|c| c.is_control() && c != '\n'),
                        "mutation {i}: a control character rendered"
                    );
                }
            }
            Err(e) => {
                refusals += 1;
                let line = e.to_string();
                assert!(!line.contains('\n'), "mutation {i}: {line}");
                assert!(line.contains(&name), "mutation {i}: {line}");
                if i % 50 == 0 {
                    for_cli.push(m);
                }
            }
        }
    }
    eprintln!("{read} mutants read, {refusals} refused");
    // Both outcomes happen: the mutations are neither all harmless nor all fatal.
    assert!(
        read > 100 && refusals > 1000,
        "{read} read, {refusals} refused"
    );

    // A few dozen of the refused ones through the command line, both commands.
    assert!(for_cli.len() >= 24, "{}", for_cli.len());
    for (k, m) in for_cli.iter().enumerate() {
        let p = tmp.path().join(format!("refused-{k}.json"));
        std::fs::write(&p, m).unwrap();
        let shown = p.display().to_string();
        refused(&with_cmd("collect", &[&p]), &shown);
        if k % 3 == 0 {
            refused(&with_cmd("compare", &[&good_run(), &p]), &shown);
        }
    }
}

/// The (workload label, concbench version) groups of the run files under `dir`, counted from
/// their JSON.
fn expected_groups(files: &[PathBuf]) -> usize {
    let mut groups: Vec<String> = Vec::new();
    for f in files {
        let v: Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
        if v.get("rows").is_none() {
            continue;
        }
        let key = format!(
            "{} {} {} {} {}",
            v["workload"]["name"],
            v["workload"]["size"],
            v["workload"]["params"],
            v["workload"]["seed"],
            v["machine"]["concbench_version"]
        );
        if !groups.contains(&key) {
            groups.push(key);
        }
    }
    groups.len()
}

/// Every results.json and lab.json under `dir`.
fn result_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            result_files(&p, out);
        } else if ["results.json", "lab.json"]
            .iter()
            .any(|n| p.file_name().is_some_and(|f| f == *n))
        {
            out.push(p);
        }
    }
}

#[test]
fn collect_over_the_committed_results_prints_a_table_per_workload_group() {
    let mut files = Vec::new();
    result_files(&root().join("results"), &mut files);
    let out = concbench()
        .current_dir(root())
        .args(["collect", "results/", "--format", "markdown"])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(
        md.starts_with(&format!("# concbench collect: {} files from ", files.len())),
        "{}",
        &md[..200.min(md.len())]
    );
    // One heading per group, then Machines, Files and the lab claims.
    let groups = md.matches("\n## ").count() - 3;
    assert_eq!(groups, expected_groups(&files), "{md}");
    assert!(md.contains("\n## Lab claims\n"));
    assert!(md.contains("| one-core-concurrency "), "{md}");
}

#[test]
fn collect_out_writes_the_report_csv_json_and_a_chart_per_workload() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("class");
    let out = concbench()
        .current_dir(root())
        .args(["collect", "results/", "--quiet", "--out"])
        .arg(&out_dir)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    assert!(md.starts_with("# concbench collect: "), "{md}");
    // Every chart report.md shows was written, and is well-formed SVG.
    let charts: Vec<&str> = md
        .match_indices("](speedup-")
        .map(|(i, _)| {
            let rest = &md[i + 2..];
            &rest[..rest.find(')').unwrap()]
        })
        .collect();
    assert!(charts.contains(&"speedup-mergesort.svg"), "{charts:?}");
    for c in &charts {
        let svg = std::fs::read_to_string(out_dir.join(c)).unwrap();
        roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{c}: {e}"));
    }
    let json: Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(json["schema_version"], 1);
    let csv = std::fs::read_to_string(out_dir.join("results.csv")).unwrap();
    assert!(csv.starts_with("workload,"), "{csv}");
    let rows: usize = json["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["rows"].as_array().unwrap().len())
        .sum();
    assert_eq!(csv.lines().count(), rows + 1);
    assert!(out_dir.join("lab.csv").exists());
    // The page: every chart inside it, nothing it would fetch.
    let html = std::fs::read_to_string(out_dir.join("report.html")).unwrap();
    assert_eq!(
        html.matches("<img src=\"data:image/svg+xml;base64,")
            .count(),
        charts.len()
    );
    assert!(!html.contains("src=\"http") && !html.contains("<script"));

    // Its own output is no input: refused when named, left out when found inside --out.
    let again = out_dir.join("results.json");
    let line = refused(&with_cmd("collect", &[&again]), "results.json");
    assert!(line.contains("the output of concbench collect"), "{line}");
    let out = concbench()
        .args(["collect", "--quiet", "--out"])
        .arg(&out_dir)
        .arg(tmp.path())
        .timeout(LIMIT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "nothing else under tmp");
}

#[test]
fn two_machines_files_give_rows_for_both_in_one_table() {
    let a = root().join("results/16-cores/mergesort/results.json");
    let b = good_run();
    let out = concbench()
        .args(["collect", "--format", "json"])
        .arg(&a)
        .arg(&b)
        .timeout(LIMIT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["machines"].as_array().unwrap().len(), 2);
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "one workload, one version: one table");
    let machines: Vec<&str> = runs[0]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["machine"].as_str().unwrap())
        .collect();
    assert!(machines.contains(&"M1") && machines.contains(&"M2"));
    // Machines in file order: the first file's rows first.
    assert_eq!(machines[0], "M1");
    let table = concbench().arg("collect").arg(&a).arg(&b).output().unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    // Each row names its machine from its file's machine block: CPU model (without (R) and
    // (TM)), cores, OS, VM or not.
    for (id, file) in [("M1", &a), ("M2", &b)] {
        let doc: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
        let m = &doc["machine"];
        let cpu = m["cpu_model"].as_str().unwrap();
        let cpu = cpu.replace("(R)", "").replace("(TM)", "");
        let cpu = cpu.split_whitespace().collect::<Vec<_>>().join(" ");
        let cores = m["physical_cores"].as_u64().unwrap();
        let name = format!(
            "{id}: {cpu}, {cores} core{}, {}{}",
            if cores == 1 { "" } else { "s" },
            m["os"].as_str().unwrap(),
            if m["virtualized"].as_bool().unwrap() {
                ", VM"
            } else {
                ""
            }
        );
        assert!(text.contains(&name), "{name} not in {text}");
    }
}

#[test]
fn a_fresh_run_carries_its_schema_version_and_reads_back() {
    let out = concbench()
        .args([
            "run",
            "--workload",
            "mergesort",
            "--size",
            "20000",
            "--cores",
            "1,2",
            "--reps",
            "2",
            "--warmup",
            "0",
            "--quiet",
            "--format",
            "json",
        ])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("{\n  \"schema_version\": 1,"), "{text}");
    let tmp = tempfile::tempdir().unwrap();
    let fresh = tmp.path().join("results.json");
    std::fs::write(&fresh, &text).unwrap();
    let read = collect(std::slice::from_ref(&fresh), None).expect("a fresh run reads back");
    let doc: Value = serde_json::from_str(&read.render(Format::Json)).unwrap();
    assert_eq!(doc["runs"].as_array().unwrap().len(), 1, "read as a run");
    assert!(doc["labs"].as_array().unwrap().is_empty());
    concbench()
        .arg("compare")
        .arg(&fresh)
        .arg(&fresh)
        .timeout(LIMIT)
        .assert()
        .success();
    concbench()
        .arg("collect")
        .arg(&fresh)
        .arg(good_run())
        .timeout(LIMIT)
        .assert()
        .success();
}
