//! Every figure in README.md and docs/*.md comes from a committed file under results/, and every
//! relative link in them points at a file of the repository.
//!
//! A figure lives between `<!-- generated: NAME -->` and `<!-- /generated -->`. For each NAME this
//! test builds the block's text from the committed files under `results/` (with the crate's own
//! renderers where a `results.json` is rendered as a table) and compares it with the docs. After
//! the results are regenerated, rewrite every block with
//!
//! ```sh
//! CONCBENCH_BLESS=1 cargo test --test docs_figures
//! ```
//!
//! and review the diff. A NAME the test does not know, or a known NAME missing from its file,
//! fails too: a block cannot be added or lost without this table knowing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use concbench::report::format_seconds;
use concbench::report::{Format, Render};
use serde_json::Value;

const BLESS: &str = "CONCBENCH_BLESS=1 cargo test --test docs_figures";

/// One generated block: its name, the file it lives in, what builds it, and the results files it
/// reads (for the reader of this table; the generator opens them itself).
struct Block {
    name: &'static str,
    file: &'static str,
    reads: &'static str,
    build: fn() -> String,
}

const BLOCKS: &[Block] = &[
    Block {
        name: "web-table",
        file: "README.md",
        reads: "results/web/results.json",
        build: web_table,
    },
    Block {
        name: "web-reading",
        file: "README.md",
        reads: "results/web/results.json",
        build: web_reading,
    },
    Block {
        name: "web-cpu",
        file: "README.md",
        reads: "results/web-cpu/, results/web-cpu-parallel/",
        build: web_cpu,
    },
    Block {
        name: "web-c10k",
        file: "README.md",
        reads: "results/web-c10k/results.json, floor.txt",
        build: web_c10k,
    },
    Block {
        name: "web-open-loop",
        file: "README.md",
        reads: "results/web-open-loop/results.json",
        build: web_open_loop,
    },
    Block {
        name: "lab-web",
        file: "README.md",
        reads: "results/lab-web/verdicts.txt",
        build: lab_web,
    },
    Block {
        name: "mergesort-table",
        file: "README.md",
        reads: "results/mergesort/results.json",
        build: mergesort_table,
    },
    Block {
        name: "lab-count",
        file: "docs/lab.md",
        reads: "the crate's claim list, results/lab/full/lab.json",
        build: lab_count,
    },
    Block {
        name: "lab-verdicts",
        file: "docs/lab.md",
        reads: "results/lab/full/lab.json",
        build: lab_verdicts,
    },
    Block {
        name: "ctxswitch",
        file: "docs/switches.md",
        reads: "results/ctxswitch/ctxswitch.json",
        build: ctxswitch,
    },
    Block {
        name: "timeline-one-core-thread",
        file: "docs/switches.md",
        reads: "results/timeline/one-core-thread.txt",
        build: timeline_one_core,
    },
    Block {
        name: "timeline-spread-thread",
        file: "docs/switches.md",
        reads: "results/timeline/spread-thread.txt",
        build: timeline_spread,
    },
    Block {
        name: "io-async",
        file: "docs/switches.md",
        reads: "results/io-async/results.json",
        build: io_async,
    },
    Block {
        name: "refs-ratios",
        file: "docs/kernels.md",
        reads: "results/refs/mergesort/, matmul/",
        build: refs_ratios,
    },
    Block {
        name: "start-up-costs",
        file: "docs/kernels.md",
        reads: "results/matmul/, results/io-1024-tasks/",
        build: start_up_costs,
    },
    Block {
        name: "scaling-compare",
        file: "docs/kernels.md",
        reads: "results/limits/, matmul/, mergesort/, lab/full/",
        build: scaling_compare,
    },
    Block {
        name: "distributed-one-host",
        file: "docs/distributed.md",
        reads: "results/distributed/one-host/",
        build: distributed_one_host,
    },
    Block {
        name: "distributed-two-hosts",
        file: "docs/distributed.md",
        reads: "results/distributed/two-hosts/",
        build: distributed_two_hosts,
    },
    Block {
        name: "distributed-lab",
        file: "docs/distributed.md",
        reads: "results/distributed/lab/verdicts.txt",
        build: distributed_lab,
    },
    Block {
        name: "slurm-job-script",
        file: "docs/distributed.md",
        reads: "examples/slurm-job.sh",
        build: slurm_job_script,
    },
    Block {
        name: "slurm-sbatch",
        file: "docs/distributed.md",
        reads: "results/slurm/sbatch.txt",
        build: || slurm_output("results/slurm/sbatch.txt"),
    },
    Block {
        name: "slurm-srun",
        file: "docs/distributed.md",
        reads: "results/slurm/srun-two-nodes.txt, srun-one-node.txt",
        build: || {
            slurm_output("results/slurm/srun-two-nodes.txt")
                + "\n"
                + &slurm_output("results/slurm/srun-one-node.txt")
        },
    },
    Block {
        name: "slurm-salloc",
        file: "docs/distributed.md",
        reads: "results/slurm/salloc.txt",
        build: || slurm_output("results/slurm/salloc.txt"),
    },
    Block {
        name: "slurm-lab",
        file: "docs/distributed.md",
        reads: "results/slurm/lab/verdicts.txt",
        build: || fenced(&verdict_rows("results/slurm/lab/verdicts.txt")),
    },
    Block {
        name: "slurm-failures",
        file: "docs/distributed.md",
        reads: "results/slurm/failures.txt",
        build: || fenced(&text("results/slurm/failures.txt")),
    },
];

// ---------------------------------------------------------------------------------------------
// Reading the committed files

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn text(rel: &str) -> String {
    let path = root().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn json(rel: &str) -> Value {
    serde_json::from_str(&text(rel)).unwrap_or_else(|e| panic!("parsing {rel}: {e}"))
}

fn report(rel: &str) -> concbench::report::RunReport {
    let text =
        std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
}

fn f(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(f64::NAN)
}

/// The rows of a results.json, by (strategy, cores).
fn rows(rel: &str) -> BTreeMap<(String, u64), Value> {
    json(rel)["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("{rel} has no rows"))
        .iter()
        .map(|r| {
            let key = (
                r["strategy"].as_str().unwrap_or("").to_string(),
                r["cores"].as_u64().unwrap_or(0),
            );
            (key, r.clone())
        })
        .collect()
}

fn row<'a>(
    rows: &'a BTreeMap<(String, u64), Value>,
    strategy: &str,
    cores: u64,
    file: &str,
) -> &'a Value {
    rows.get(&(strategy.to_string(), cores))
        .unwrap_or_else(|| panic!("{file} has no row {strategy} x{cores}"))
}

/// The row of `strategy` with the most workers.
fn widest<'a>(rows: &'a BTreeMap<(String, u64), Value>, strategy: &str, file: &str) -> &'a Value {
    rows.iter()
        .filter(|((s, _), _)| s == strategy)
        .max_by_key(|((_, c), _)| *c)
        .map(|(_, r)| r)
        .unwrap_or_else(|| panic!("{file} has no {strategy} row"))
}

fn bytes(b: f64) -> String {
    if b >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / 1024.0 / 1024.0)
    } else if b >= 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{b:.0} B")
    }
}

fn machine_line(path: &str) -> String {
    report(path).machine.summary()
}

/// The lines of a lab's verdicts.txt that are the table's rows (header and rule left out).
fn verdict_rows(rel: &str) -> String {
    let all = text(rel);
    let lines: Vec<&str> = all.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("claim "))
        .unwrap_or_else(|| panic!("{rel} has no table"));
    let mut out = String::new();
    for l in lines[start..].iter().take_while(|l| !l.trim().is_empty()) {
        writeln!(out, "{}", l.trim_end()).unwrap();
    }
    out
}

fn fenced(body: &str) -> String {
    format!("```text\n{}\n```\n", body.trim_end())
}

// ---------------------------------------------------------------------------------------------
// The generators

/// The speedup table of `report`'s Markdown rendering: the first block of table lines.
fn speedup_table(report: &concbench::report::RunReport) -> String {
    let md = report.render(Format::Markdown);
    let table: Vec<&str> = md
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .collect();
    table.join("\n") + "\n"
}

/// The paragraph under "## Reading" in `report`'s Markdown rendering.
fn reading(report: &concbench::report::RunReport) -> String {
    let md = report.render(Format::Markdown);
    let start = md.find("\n## Reading\n\n").expect("a Reading section") + 13;
    let rest = &md[start..];
    rest[..rest.find("\n\n").unwrap_or(rest.len())].to_string()
}

fn web_table() -> String {
    let r = report("results/web/results.json");
    format!(
        "From `results/web/` ({}):\n\n{}",
        r.machine.summary(),
        speedup_table(&r)
    )
}

fn web_reading() -> String {
    let file = "results/web/results.json";
    let web = rows(file);
    let seq = row(&web, "sequential", 1, file);
    let t64 = widest(&web, "single-core-threaded", file);
    let a64 = widest(&web, "single-thread-async", file);
    let t8 = row(&web, "single-core-threaded", 8, file);
    let p64 = widest(&web, "multi-process", file);
    let conns = f(a64, "connections");
    let mut s = String::new();
    writeln!(s, "- The iterative server serves one request per wait: {:.0} requests/s for a wait that really lasted\n  {} (the `wait` column: the server's own clock), about 1/W.",
        f(seq, "requests_per_s"), format_seconds(f(seq, "wait_achieved_s"))).unwrap();
    writeln!(s, "- {} threads on **one** core served {:.0} requests/s, {:.1}x the iterative server, with no second\n  core: while a request waits, the core serves the others. That is concurrency without\n  parallelism, and it is why an I/O-bound server needs threads (or tasks), not cores.",
        t64["cores"], f(t64, "requests_per_s"), f(t64, "requests_per_s") / f(seq, "requests_per_s")).unwrap();
    writeln!(s, "- The event loop did the same on one thread, {:.0} requests/s, with {:.0} context switches a second\n  against {:.0} for the threads: its tasks switch in user space. tokio's timer rounds each wait\n  up to whole milliseconds ({} achieved): it served {:.2} of C/W with that achieved wait W, the\n  threads {:.2} of theirs.",
        f(a64, "requests_per_s"), f(a64, "switches_per_s"), f(t64, "switches_per_s"), format_seconds(f(a64, "wait_achieved_s")),
        f(a64, "requests_per_s") * f(a64, "wait_achieved_s") / conns,
        f(t64, "requests_per_s") * f(t64, "wait_achieved_s") / conns).unwrap();
    writeln!(s, "- With 8 workers and {conns:.0} clients, the p99 latency is {}: connections beyond the workers wait in\n  the accept queue until a worker is free. That is what a thread pool smaller than its clients\n  costs, and the event loop's cheap tasks avoid.",
        format_seconds(t8["latency"]["p99_s"].as_f64().unwrap_or(f64::NAN))).unwrap();
    writeln!(s, "- `mem/conn` is the server's memory per connection (its peak resident memory beyond what the\n  process used before the server started): pre-forked processes pay for whole processes\n  ({} per connection at x{}).",
        bytes(f(p64, "rss_per_connection_bytes")), p64["cores"]).unwrap();
    s
}

fn web_cpu() -> String {
    let (fc, fp) = (
        "results/web-cpu/results.json",
        "results/web-cpu-parallel/results.json",
    );
    let cpu = rows(fc);
    let par = rows(fp);
    let a = widest(&cpu, "single-thread-async", fc);
    let p = widest(&cpu, "multi-process", fc);
    let pa = widest(&par, "single-thread-async", fp);
    format!(
        "**CPU-heavy requests** (`results/web-cpu/`): the event loop on one core is capped by that core at\n\
         {:.0} requests/s ({:.0} µs of server CPU per request), while {} worker processes over the cores served\n\
         {:.0}. Concurrency hides the waits; only more cores lift the CPU cap. `results/web-cpu-parallel/`\n\
         splits each request's sort over the cores instead (`--cpu-parallel`, the course's \"parallelism\n\
         inside each request\"): {:.0} requests/s from the one event loop.\n",
        f(a, "requests_per_s"),
        f(a, "cpu_per_request_s") * 1e6,
        p["cores"],
        f(p, "requests_per_s"),
        f(pa, "requests_per_s"),
    )
}

fn web_c10k() -> String {
    let file = "results/web-c10k/results.json";
    let c = rows(file);
    let t = widest(&c, "single-core-threaded", file);
    let a = widest(&c, "single-thread-async", file);
    format!(
        "**C10K** (`results/web-c10k/`, one core): {} threads served {:.0} requests/s with {} of resident\n\
         memory and {} of kernel stack per connection; one event loop with {} tasks served {:.0} with {}\n\
         and none. The load generator's and a bare tokio server's CPU per request at 64 and at 10,000\n\
         connections (`bash scripts/c10k-floor/run.sh`, `results/web-c10k/floor.txt`):\n\n{}",
        t["cores"],
        f(t, "requests_per_s"),
        bytes(f(t, "rss_per_connection_bytes")),
        bytes(t["kernel_stack_per_connection_bytes"].as_f64().unwrap_or(0.0)),
        a["cores"],
        f(a, "requests_per_s"),
        bytes(f(a, "rss_per_connection_bytes")),
        fenced(&text("results/web-c10k/floor.txt")),
    )
}

fn web_open_loop() -> String {
    let file = "results/web-open-loop/results.json";
    let mut s = String::from("| strategy | workers | p50 | p99 | max |\n|:--|--:|--:|--:|--:|\n");
    for ((strategy, cores), r) in rows(file) {
        let l = &r["latency"];
        let lat = |k: &str| format_seconds(l[k].as_f64().unwrap_or(f64::NAN));
        writeln!(
            s,
            "| {strategy} | {cores} | {} | {} | {} |",
            lat("p50_s"),
            lat("p99_s"),
            lat("max_s")
        )
        .unwrap();
    }
    s
}

fn lab_web() -> String {
    fenced(&verdict_rows("results/lab-web/verdicts.txt"))
}

fn mergesort_table() -> String {
    let r = report("results/mergesort/results.json");
    format!(
        "From `results/mergesort/` ({}):\n\n{}\n\n{}\n",
        r.machine.summary(),
        speedup_table(&r).trim_end(),
        reading(&r).trim_end()
    )
}

fn lab_count() -> String {
    let known = concbench::lab::claim_ids().len();
    let lab = json("results/lab/full/lab.json");
    let claims = lab["claims"].as_array().cloned().unwrap_or_default();
    let ran = claims.len();
    let not_testable = claims
        .iter()
        .filter(|c| c["verdict"] == "not-testable")
        .count();
    let reps = lab["claims"][0]["reps"].as_u64().unwrap_or(0);
    let others = if ran < known {
        format!("; the other {} need an MPI job", known - ran)
    } else {
        String::new()
    };
    format!(
        "`concbench lab` knows {known} claims (`concbench lab --list` names them). The committed full lab\n\
         (`results/lab/full/`, {reps} repetitions per figure) ran {ran} of them{others}; {not_testable} of\n\
         those were not testable on its machine (the reasons are in its `lab.md`), among them the\n\
         claims about MPI ranks, which `results/distributed/lab/` tests under `mpirun`.\n"
    )
}

fn lab_verdicts() -> String {
    let file = "results/lab/full/lab.json";
    let lab = json(file);
    let m = &lab["machine"];
    let mut s = format!(
        "On {} ({} physical cores, Linux {}{}), `{}`:\n\n",
        m["cpu_model"].as_str().unwrap_or("?"),
        m["physical_cores"],
        m["kernel"].as_str().unwrap_or("?"),
        if m["virtualized"].as_bool() == Some(true) {
            ", a virtual machine"
        } else {
            ""
        },
        m["command"].as_str().unwrap_or("?"),
    );
    s.push_str("| claim | prediction | measured | interval | coverage | unit | verdict | statement alone |\n|:--|:--|--:|:--|--:|:--|:--|:--|\n");
    let claims = lab["claims"]
        .as_array()
        .unwrap_or_else(|| panic!("{file} has no claims"));
    for c in claims {
        let num = |v: &Value| v.as_f64().map_or("–".to_string(), |x| format!("{x:.3}"));
        let spread = c["spread"].as_array().map_or("–".to_string(), |sp| {
            format!("{} .. {}", num(&sp[0]), num(&sp[1]))
        });
        let e = &c["expect"];
        let sig = |v: &Value| v.as_f64().map_or("?".to_string(), |x| format!("{x:.3}"));
        let prediction = match e["op"].as_str() {
            Some("between") => format!("{} – {}", sig(&e["value"][0]), sig(&e["value"][1])),
            Some(op) => format!("{op} {}", sig(&e["value"])),
            None => "–".into(),
        };
        let cov = c["coverage"]
            .as_f64()
            .map_or("–".to_string(), |x| format!("{:.1}%", x * 100.0));
        let verdict = c["verdict"].as_str().unwrap_or("?");
        let shown = match (c["kind"].as_str(), verdict) {
            // A check is a demonstration, never evidence: worded as the lab words it.
            (Some("check"), "supported") => "check holds".to_string(),
            (Some("check"), "not-supported") => "**check fails**".to_string(),
            (_, "supported" | "not-supported") => format!("**{verdict}**"),
            (_, v) => v.to_string(),
        };
        let statement = c["statement_test"]["verdict"].as_str().unwrap_or("–");
        writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            c["id"].as_str().unwrap_or("?"),
            prediction,
            num(&c["measured"]),
            spread,
            cov,
            c["unit"].as_str().unwrap_or(""),
            shown,
            statement
        )
        .unwrap();
    }
    let off: Vec<&Value> = claims
        .iter()
        .filter(|c| c["verdict"] == "not-supported")
        .collect();
    if !off.is_empty() {
        s.push_str("\nWhat did not come out as the models predict, in the run's own words:\n\n");
        for c in off {
            writeln!(
                s,
                "- **{}**: {}",
                c["id"].as_str().unwrap_or("?"),
                c["explanation"].as_str().unwrap_or("").trim()
            )
            .unwrap();
        }
    }
    s
}

fn ctxswitch() -> String {
    let file = "results/ctxswitch/ctxswitch.json";
    let d = json(file);
    let mut s = format!(
        "From `results/ctxswitch/` ({}):\n\n| kind | placement | mechanism | round trip | one switch | switches per round trip | cpu share |\n|:--|:--|:--|--:|--:|--:|--:|\n",
        d["machine"]["cpu_model"].as_str().unwrap_or("?")
    );
    for r in d["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("{file} has no rows"))
    {
        writeln!(
            s,
            "| {} | {} | {} | {} | {} | {:.2} | {:.0}% |",
            r["kind"].as_str().unwrap_or("?"),
            r["placement"].as_str().unwrap_or("?"),
            r["mechanism"].as_str().unwrap_or("?"),
            format_seconds(f(r, "round_trip_ns") * 1e-9),
            format_seconds(f(r, "switch_ns") * 1e-9),
            f(r, "switches_per_round_trip"),
            f(r, "cpu_share") * 100.0
        )
        .unwrap();
    }
    s
}

fn timeline_one_core() -> String {
    fenced(&text("results/timeline/one-core-thread.txt"))
}

fn timeline_spread() -> String {
    fenced(&text("results/timeline/spread-thread.txt"))
}

fn io_async() -> String {
    let file = "results/io-async/results.json";
    let d = json(file);
    // Workload parameters are kept as the strings given on the command line.
    let param = |k: &str| {
        let v = &d["workload"]["params"][k];
        v.as_f64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    };
    let wait_s = param("wait_ms").unwrap_or(f64::NAN) / 1e3;
    let tasks = d["workload"]["size"].as_f64().unwrap_or(f64::NAN);
    let others = d["machine"]["others_load"]["others_share"].as_f64();
    let mut s = format!(
        "`{}` ({}; other programs took {} of the CPUs during the run):\n\n| strategy | workers | median | ideal (tasks / workers × wait) | kernel switches/s |\n|:--|--:|--:|--:|--:|\n",
        d["machine"]["command"].as_str().unwrap_or("?"),
        d["machine"]["cpu_model"].as_str().unwrap_or("?"),
        others.map_or("an unknown share".to_string(), |o| format!("{:.1}%", o * 100.0)),
    );
    for ((strategy, cores), r) in rows(file) {
        writeln!(
            s,
            "| {strategy} | {cores} | {} | {} | {:.0} |",
            format_seconds(f(&r, "median_s")),
            format_seconds((tasks / cores as f64).ceil() * wait_s),
            f(&r, "switches_per_s")
        )
        .unwrap();
    }
    s
}

fn refs_ratios() -> String {
    let mut s = String::from(
        "| workload | concbench | against | speed ratio (above 1: concbench faster) |\n|:--|:--|:--|--:|\n",
    );
    let mut lines = Vec::new();
    for w in ["mergesort", "matmul"] {
        let file = format!("results/refs/{w}/{w}.json");
        let d = json(&file);
        for r in d["ratios"]
            .as_array()
            .unwrap_or_else(|| panic!("{file} has no ratios"))
        {
            writeln!(
                s,
                "| {w} | {} | {} | {:.2} |",
                r["concbench"].as_str().unwrap_or("?"),
                r["reference"].as_str().unwrap_or("?"),
                f(r, "speed_ratio")
            )
            .unwrap();
        }
        for r in d["rows"].as_array().into_iter().flatten() {
            if let (Some(g), Some(p)) = (r["gflops"].as_f64(), r["peak_share"].as_f64()) {
                lines.push(format!(
                    "- matmul, {} x{}: {g:.1} GFLOP/s, {:.0}% of the FMA peak",
                    r["implementation"].as_str().unwrap_or("?"),
                    r["threads"],
                    p * 100.0
                ));
            }
        }
    }
    s.push_str("\n`x@N` is N threads or processes. Against the ceilings of `concbench limits` in the same run:\n\n");
    for l in lines {
        writeln!(s, "{l}").unwrap();
    }
    s
}

fn start_up_costs() -> String {
    let (fm, fi) = (
        "results/matmul/results.json",
        "results/io-1024-tasks/results.json",
    );
    let m = rows(fm);
    let (t, p) = (
        row(&m, "multi-threaded", 2, fm),
        row(&m, "multi-process", 2, fm),
    );
    let ph = |r: &Value, k: &str| format_seconds(r["phases"][k].as_f64().unwrap_or(f64::NAN));
    let io = rows(fi);
    let mut s = format!(
        "- *Processes* (`results/matmul/`): two worker processes computed their halves in {} against {}\n  \
         for two threads, yet the row took {:.2}x the multi-threaded time: spawning them took {} and\n  \
         setting them up {} (each maps the shared data into its own page tables; threads use the\n  \
         parent's).\n",
        ph(p, "compute_s"),
        ph(t, "compute_s"),
        f(p, "median_s") / f(t, "median_s"),
        ph(p, "spawn_s"),
        ph(p, "setup_s"),
    );
    s.push_str("- *Hundreds of threads* (`results/io-1024-tasks/`, I/O tasks on one core):\n\n| threads | median | spawn | setup | compute |\n|--:|--:|--:|--:|--:|\n");
    for ((_, cores), r) in io {
        writeln!(
            s,
            "| {cores} | {} | {} | {} | {} |",
            format_seconds(f(&r, "median_s")),
            ph(&r, "spawn_s"),
            ph(&r, "setup_s"),
            ph(&r, "compute_s")
        )
        .unwrap();
    }
    s
}

fn scaling_compare() -> String {
    let limits = json("results/limits/limits.json");
    let points = limits["ceilings"]["copy"]["points"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let copy = match (points.first(), points.last()) {
        (Some(a), Some(b)) => format!(
            "{:.2}x from {} thread to {}",
            f(b, "gb_s") / f(a, "gb_s"),
            a["threads"],
            b["threads"]
        ),
        _ => "not measured".into(),
    };
    let (fm, fs) = (
        "results/matmul/results.json",
        "results/mergesort/results.json",
    );
    let (m, ms) = (rows(fm), rows(fs));
    let lab = json("results/lab/full/lab.json");
    let roofline = lab["claims"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == "mergesort-scaling"))
        .map_or("not in this run".to_string(), |c| {
            let figures = &c["figures"];
            match c["verdict"].as_str().unwrap_or("?") {
                // The memory roof above the cores' one: the claim is not testable by design, and
                // what was measured anyway is said as such.
                "not-testable" if figures["measured_anyway"].is_number() => format!(
                    "{:.3} of it, measured anyway: not testable by design here, as the memory roof \
                     ({:.1}x) is above the cores' and the traffic count cannot bind",
                    f(figures, "measured_anyway"),
                    f(figures, "memory_bound"),
                ),
                verdict => format!("{:.3} of it ({verdict})", f(c, "measured")),
            }
        });
    format!(
        "On the machine of `results/`: copy bandwidth grew {copy} (`results/limits/`); two cores gave\n\
         matrix multiply {:.2}x (`results/matmul/`) and merge sort {:.2}x (`results/mergesort/`). The lab's\n\
         mergesort-scaling claim sets the sort against a roofline bound, min(P, T₁·B_P / bytes moved):\n\
         {roofline}.\n",
        f(row(&m, "multi-threaded", 2, fm), "speedup"),
        f(row(&ms, "multi-threaded", 2, fs), "speedup"),
    )
}

fn distributed_table(dir: &str, with_shared: bool) -> String {
    let mut s = String::new();
    if with_shared {
        s.push_str("| workload | multi-threaded x2 | multi-process x2 | distributed x2 | moved (x the input) | rank 0 communicating | its bytes at the measured bandwidth |\n|---|--:|--:|--:|--:|--:|--:|\n");
    } else {
        s.push_str("| workload | distributed x2 | moved (x the input) | rank 0 communicating | its bytes at the measured bandwidth |\n|---|--:|--:|--:|--:|\n");
    }
    for w in ["mergesort", "matmul", "io"] {
        let file = format!("{dir}/{w}/results.json");
        let d = json(&file);
        let r = rows(&file);
        let sp = |s: &str| {
            r.get(&(s.to_string(), 2))
                .map_or("–".into(), |r| format!("{:.2}x", f(r, "speedup")))
        };
        let dist = &row(&r, "distributed", 2, &file)["distributed"];
        let label = format!("{w} (size {})", d["workload"]["size"]);
        let moved = format!(
            "{} ({:.2}x)",
            bytes(f(dist, "bytes_moved")),
            f(dist, "moved_per_input_byte")
        );
        let comm = format_seconds(f(dist, "communication_s"));
        let at_bw = format_seconds(dist["communication_at_bandwidth_s"].as_f64().unwrap_or(0.0));
        if with_shared {
            writeln!(
                s,
                "| {label} | {} | {} | {} | {moved} | {comm} | {at_bw} |",
                sp("multi-threaded"),
                sp("multi-process"),
                sp("distributed")
            )
            .unwrap();
        } else {
            writeln!(
                s,
                "| {label} | {} | {moved} | {comm} | {at_bw} |",
                sp("distributed")
            )
            .unwrap();
        }
    }
    let limits = text(&format!("{dir}/limits/limits.txt"));
    let msgs: Vec<&str> = limits
        .lines()
        .filter(|l| l.contains("->") || l.starts_with("hosts"))
        .collect();
    if !msgs.is_empty() {
        write!(
            s,
            "\nMessage ceilings between the ranks (`{dir}/limits/limits.txt`):\n\n{}",
            fenced(&msgs.join("\n"))
        )
        .unwrap();
    }
    s
}

fn distributed_one_host() -> String {
    format!(
        "From `results/distributed/one-host/` ({}):\n\n{}",
        machine_line("results/distributed/one-host/mergesort/results.json"),
        distributed_table("results/distributed/one-host", true)
    )
}

fn distributed_two_hosts() -> String {
    distributed_table("results/distributed/two-hosts", false)
}

fn distributed_lab() -> String {
    fenced(&verdict_rows("results/distributed/lab/verdicts.txt"))
}

fn slurm_job_script() -> String {
    format!("```bash\n{}```\n", text("examples/slurm-job.sh"))
}

/// A launch's output as `results/regenerate-slurm.sh` recorded it (its command first), without
/// the lines every table carries (definitions, intervals, a busy machine): the tables, where the
/// ranks ran, the MPI job and the Slurm job.
fn slurm_output(rel: &str) -> String {
    const LEFT_OUT: [&str; 9] = [
        "speedup = ",
        "workers = ",
        "sw overhead",
        "intervals: ",
        "slow CPUs: ",
        "busy machine: ",
        "oversubscribed: ",
        "concbench: warning",
        "concbench: this run",
    ];
    let mut out = String::new();
    for l in text(rel).lines() {
        if LEFT_OUT.iter().any(|p| l.starts_with(p)) || (l.is_empty() && out.ends_with("\n\n")) {
            continue;
        }
        writeln!(out, "{}", l.trim_end()).unwrap();
    }
    fenced(&out)
}

// ---------------------------------------------------------------------------------------------
// The docs' blocks

/// The Markdown files this test covers: README.md and docs/*.md.
fn doc_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    docs.retain(|p| p.extension().is_some_and(|e| e == "md"));
    docs.sort();
    files.extend(docs);
    files
}

fn rel(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

const OPEN: &str = "<!-- generated: ";
const CLOSE: &str = "<!-- /generated -->";

/// A block found in a file: its name and the byte range of its text (between the markers' lines).
struct Found {
    name: String,
    body: std::ops::Range<usize>,
}

fn find_blocks(file: &str, doc: &str) -> Vec<Found> {
    let mut found = Vec::new();
    let mut open: Option<(String, usize)> = None;
    let mut at = 0;
    for line in doc.split_inclusive('\n') {
        let start = at;
        at += line.len();
        // A marker is a line of its own; one quoted inside a sentence is prose.
        let trimmed = line.trim_end();
        if let Some(rest) = trimmed.strip_prefix(OPEN) {
            let name = rest
                .strip_suffix("-->")
                .unwrap_or_else(|| panic!("{file}: marker `{trimmed}` is not closed on its line"))
                .trim()
                .to_string();
            if let Some((outer, _)) = &open {
                panic!("{file}: block `{name}` opens inside block `{outer}`");
            }
            open = Some((name, at));
        } else if trimmed == CLOSE {
            let (name, body_start) = open
                .take()
                .unwrap_or_else(|| panic!("{file}: `{CLOSE}` without an opening marker"));
            found.push(Found {
                name,
                body: body_start..start,
            });
        }
    }
    if let Some((name, _)) = open {
        panic!("{file}: block `{name}` has no `{CLOSE}`");
    }
    found
}

#[test]
fn generated_blocks_match_results() {
    let bless = std::env::var_os("CONCBENCH_BLESS").is_some_and(|v| v != "0" && !v.is_empty());
    let known: BTreeMap<&str, &Block> = BLOCKS.iter().map(|b| (b.name, b)).collect();
    let mut seen = BTreeSet::new();
    let mut failures = Vec::new();
    for path in doc_files() {
        let file = rel(&path);
        let mut doc = std::fs::read_to_string(&path).unwrap();
        let blocks = find_blocks(&file, &doc);
        // Rewrite from the end so that earlier ranges stay valid.
        for found in blocks.iter().rev() {
            let Some(block) = known.get(found.name.as_str()) else {
                failures.push(format!(
                    "{file}: block `{}` is not one tests/docs_figures.rs knows: add it to BLOCKS or remove the markers",
                    found.name
                ));
                continue;
            };
            if block.file != file {
                failures.push(format!(
                    "{file}: block `{}` belongs in {}",
                    found.name, block.file
                ));
                continue;
            }
            if !seen.insert(found.name.clone()) {
                failures.push(format!("{file}: block `{}` appears twice", found.name));
                continue;
            }
            let mut want = (block.build)();
            if !want.ends_with('\n') {
                want.push('\n');
            }
            if doc[found.body.clone()] != want {
                if bless {
                    doc.replace_range(found.body.clone(), &want);
                } else {
                    failures.push(format!(
                        "{file}: block `{}` differs from what {} gives; after regenerating results/, run `{BLESS}` and review the diff",
                        found.name, block.reads
                    ));
                }
            }
        }
        if bless {
            std::fs::write(&path, doc).unwrap();
        }
    }
    for b in BLOCKS {
        if !seen.contains(b.name)
            && !failures
                .iter()
                .any(|f| f.contains(&format!("`{}`", b.name)))
        {
            failures.push(format!(
                "{}: block `{}` (from {}) is missing: add `{OPEN}{} -->` ... `{CLOSE}` there",
                b.file, b.name, b.reads, b.name
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}\n", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Links

/// Every relative link target of a Markdown text, code spans and fenced code left out.
fn links(doc: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_fence = false;
    for line in doc.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        // Drop inline code spans.
        let mut plain = String::new();
        for (i, part) in line.split('`').enumerate() {
            if i % 2 == 0 {
                plain.push_str(part);
            }
        }
        let mut rest = plain.as_str();
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(end) = after.find(')') else { break };
            out.push(after[..end].trim().to_string());
            rest = &after[end..];
        }
    }
    out
}

/// The anchors GitHub gives a Markdown file's headings: lower case, punctuation dropped, spaces
/// turned into hyphens.
fn anchors(doc: &str) -> BTreeSet<String> {
    let mut in_fence = false;
    let mut out = BTreeSet::new();
    for line in doc.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        if in_fence || !line.starts_with('#') {
            continue;
        }
        let title = line.trim_start_matches('#').trim();
        let slug: String = title
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        out.insert(slug);
    }
    out
}

#[test]
fn relative_links_resolve_to_files_of_the_repository() {
    let mut files = doc_files();
    files.push(root().join("ARCHITECTURE.md"));
    files.push(root().join("results/README.md"));
    let repo = root().canonicalize().unwrap();
    let mut failures = Vec::new();
    for path in files {
        let file = rel(&path);
        let doc = std::fs::read_to_string(&path).unwrap_or_default();
        for needle in ["DESIGN.md", "../shared", "shared/DESIGN"] {
            if doc.contains(needle) {
                failures.push(format!(
                    "{file}: cites `{needle}`, which is not part of the repository"
                ));
            }
        }
        for target in links(&doc) {
            let target = target.split_whitespace().next().unwrap_or("");
            if target.is_empty()
                || target.starts_with('#')
                || target.contains("://")
                || target.starts_with("mailto:")
            {
                continue;
            }
            let (target, anchor) = target.split_once('#').unwrap_or((target, ""));
            let resolved = if target.is_empty() {
                path.clone()
            } else {
                path.parent().unwrap().join(target)
            };
            match resolved.canonicalize() {
                Ok(p) if !p.starts_with(&repo) => {
                    failures.push(format!("{file}: link `{target}` leaves the repository"))
                }
                Ok(p) => {
                    let is_md = p.extension().is_some_and(|e| e == "md");
                    if !anchor.is_empty() && is_md {
                        let doc = std::fs::read_to_string(&p).unwrap_or_default();
                        if !anchors(&doc).contains(anchor) {
                            failures.push(format!(
                                "{file}: link `{target}#{anchor}` names no heading of {}",
                                rel(&p)
                            ));
                        }
                    }
                }
                Err(_) => failures.push(format!("{file}: link `{target}` points at no file")),
            }
        }
    }
    assert!(failures.is_empty(), "\n{}\n", failures.join("\n"));
}

/// CITATION.cff cites the version being built: a release that bumps Cargo.toml's version must
/// bump the citation too.
#[test]
fn citation_names_the_crate_version() {
    let cff = text("CITATION.cff");
    let version = cff
        .lines()
        .find_map(|l| l.strip_prefix("version:"))
        .map(|v| v.trim().trim_matches('"').to_string())
        .expect("CITATION.cff has no version");
    assert_eq!(
        version,
        env!("CARGO_PKG_VERSION"),
        "CITATION.cff's version differs from Cargo.toml's: update CITATION.cff (and its date-released)"
    );
}
