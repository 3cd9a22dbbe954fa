//! concbench under Slurm, launched as a cluster user launches it, on a Slurm cluster this test
//! makes on the machine (`scripts/local-slurm`: a controller and three nodes, each a network
//! namespace host with a slurmd, torn down at the end):
//!
//! - `sbatch` of the job script `examples/slurm-job.sh`, mpirun inside, across two nodes;
//! - `srun --mpi=pmix -n 2` on one node and across two;
//! - `salloc` + `mpirun` across two nodes;
//! - `concbench lab` under srun, the distributed claims judged;
//! - the failures a cluster user meets, each one line and a non-zero exit, nothing left running
//!   on any node: a job cancelled mid-run, its time limit reached, a node lost, more ranks than
//!   the allocation, srun without PMIx, and (built without `--features mpi`) a binary without MPI.
//!
//! Every launch runs every workload (rows verified, hosts and ranks in the JSON, the Slurm job in
//! the machine block). Needs root, Slurm (`slurm-wlm`, `munge`) and network namespaces; where one
//! is missing the test says why and passes, unless `CONCBENCH_REQUIRE_SLURM` is set (CI sets it),
//! where it fails instead. Nothing here sleeps to synchronise: each wait is for a condition (a
//! job's state, a line in a file, a process gone), polled with a deadline.
#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const EXE: &str = env!("CARGO_BIN_EXE_concbench");
const LOCAL_SLURM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/local-slurm");
const JOB_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/slurm-job.sh");
const HAS_MPI: bool = cfg!(feature = "mpi");

/// The test cluster's names and network: never the MPI tests' (`cbtest*`, `cbhost*` on 10.77.0)
/// nor `scripts/local-slurm`'s default (`cbslurm*` on 10.78.0), so none of them can collide.
const PREFIX: &str = "cbsltest";
const NET: &str = "10.79.0";
/// Node 1 has both CPUs of a 2-CPU machine, node 2 the second one (so one rank per node lands on
/// distinct CPUs), node 3 both: it takes the time-limit job, which runs beside the other cases.
const N1: &str = "cbsltest1";
const N2: &str = "cbsltest2";
const N3: &str = "cbsltest3";
const DIR: &str = "/tmp/concbench-slurm-test";

/// Workload arguments small enough for a test, large enough to split over two ranks.
const WORKLOADS: [&[&str]; 3] = [
    &["--workload", "mergesort", "--size", "30001"],
    &["--workload", "matmul", "--size", "37"],
    &["--workload", "io", "--size", "7", "--wait-ms", "1"],
];
const SHORT: &[&str] = &["--reps", "2", "--warmup", "0"];
/// A run that lasts (io waits, little CPU) until something stops it.
const LONG: &[&str] = &[
    "--workload",
    "io",
    "--size",
    "16",
    "--wait-ms",
    "10",
    "--reps",
    "10000",
    "--warmup",
    "0",
];

type Check = Result<(), String>;

/// The states of a job that is not over.
const BUSY: &[&str] = &[
    "PENDING",
    "CONFIGURING",
    "RUNNING",
    "COMPLETING",
    "SUSPENDED",
];

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

#[test]
fn concbench_under_slurm() {
    let require = std::env::var_os("CONCBENCH_REQUIRE_SLURM").is_some();
    if let Some(why) = missing() {
        assert!(
            !require,
            "CONCBENCH_REQUIRE_SLURM is set, but the Slurm tests cannot run here: {why}"
        );
        eprintln!("skipped: {why}; CI runs this test as root with Slurm installed");
        return;
    }
    let _lock = Lock::take();
    let cluster = match Cluster::up() {
        Ok(c) => c,
        Err(e) if e.contains("cannot create network namespaces") && !require => {
            eprintln!("skipped: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let mut failed = Vec::new();
    let mut case = |name: &str, body: &dyn Fn(&Cluster) -> Check| {
        let t = Instant::now();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&cluster)))
            .unwrap_or_else(|p| Err(panic_text(&p)));
        match result {
            Ok(()) => eprintln!("slurm: {name}: ok ({:.1} s)", t.elapsed().as_secs_f64()),
            Err(e) => {
                eprintln!(
                    "slurm: {name}: FAILED ({:.1} s): {e}",
                    t.elapsed().as_secs_f64()
                );
                failed.push(format!("{name}: {e}"));
            }
        }
    };
    if HAS_MPI {
        // The time limit takes a minute or more (Slurm counts in minutes and checks every 30 s):
        // it runs on node 3 while the other cases use nodes 1 and 2.
        let time_limit = std::thread::scope(|s| {
            let t = s.spawn(|| {
                let t = Instant::now();
                (time_limit_reached(&cluster), t.elapsed())
            });
            case(
                "sbatch job script, mpirun across two nodes",
                &sbatch_across_two_nodes,
            );
            case("srun --mpi=pmix -n 2 on one node", &srun_pmix_one_node);
            case(
                "srun --mpi=pmix -N 2 across two nodes",
                &srun_pmix_two_nodes,
            );
            case("salloc + mpirun across two nodes", &salloc_mpirun);
            case("lab under srun, distributed claims judged", &lab_under_srun);
            case("a job cancelled mid-run", &cancelled_mid_run);
            case("more ranks than the allocation", &more_ranks_than_allocated);
            case("srun without PMIx", &srun_without_pmix);
            case("a node lost mid-run", &node_lost);
            t.join()
                .unwrap_or_else(|p| (Err(panic_text(&p)), Duration::ZERO))
        });
        case("the time limit reached", &|_| {
            eprintln!(
                "slurm: (the time-limit job ran beside the cases above for {:.1} s)",
                time_limit.1.as_secs_f64()
            );
            time_limit.0.clone()
        });
    } else {
        case("a binary without MPI under srun", &srun_without_mpi_feature);
    }
    drop(cluster);
    assert!(
        failed.is_empty(),
        "{} case(s) failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panicked".into())
}

/// Why the test cannot run here, if it cannot.
fn missing() -> Option<String> {
    if !is_root() {
        return Some("not root: the Slurm daemons and network namespaces need it".into());
    }
    let mut tools = vec![
        "slurmctld",
        "slurmd",
        "munged",
        "sbatch",
        "srun",
        "salloc",
        "scancel",
        "scontrol",
        "sinfo",
        "ip",
        "unshare",
    ];
    if HAS_MPI {
        tools.push("mpirun");
    }
    let absent: Vec<&str> = tools.into_iter().filter(|t| !on_path(t)).collect();
    (!absent.is_empty()).then(|| {
        format!(
            "{} not found (apt-get install slurm-wlm munge openmpi-bin)",
            absent.join(", ")
        )
    })
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
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

/// One run of this test on the machine at a time (its cluster's names are fixed): an exclusive
/// lock on a file for as long as the test holds it. A cluster left behind by a run that was
/// killed is then stale, and is taken down before a new one comes up.
struct Lock {
    _held: std::fs::File,
}

impl Lock {
    fn take() -> Lock {
        use std::os::fd::AsRawFd;
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open("/tmp/concbench-slurm-test.lock")
            .expect("the lock file opens");
        // SAFETY: flock on a descriptor this function owns.
        let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(rc, 0, "flock: {}", std::io::Error::last_os_error());
        Lock { _held: f }
    }
}

/// The test's Slurm cluster; dropping it takes it down.
struct Cluster {
    /// `export` lines of `local-slurm env`, as pairs.
    env: Vec<(String, String)>,
    work: tempfile::TempDir,
}

impl Cluster {
    fn up() -> Result<Cluster, String> {
        let _ = local_slurm(&["down", "--prefix", PREFIX]);
        let t = Instant::now();
        let up = local_slurm(&["up", "3", "--prefix", PREFIX, "--net", NET]);
        if !up.status.success() {
            let _ = local_slurm(&["down", "--prefix", PREFIX]);
            return Err(format!(
                "local-slurm up: {}",
                String::from_utf8_lossy(&up.stderr).trim()
            ));
        }
        eprintln!("slurm: cluster up in {:.1} s", t.elapsed().as_secs_f64());
        let env = String::from_utf8_lossy(&local_slurm(&["env"]).stdout)
            .split_whitespace()
            .filter_map(|w| w.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let work = tempfile::tempdir().map_err(|e| e.to_string())?;
        Ok(Cluster { env, work })
    }

    /// A client command (sbatch, srun, ...) with the cluster's environment.
    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new("timeout");
        c.args(["300", program])
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("CONCBENCH", EXE)
            .env_remove("CONCBENCH_EXE")
            .current_dir(self.work.path());
        c
    }

    /// A path in the test's scratch directory.
    fn path(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }

    /// Submit `script args` with `sbatch`; returns the job id, the job's stdout and stderr files.
    fn sbatch(&self, name: &str, options: &[&str], args: &[&str]) -> Result<Job, String> {
        let (out, err) = (
            self.path(&format!("{name}.out")),
            self.path(&format!("{name}.err")),
        );
        let o = self
            .cmd("sbatch")
            .arg("--parsable")
            .args(["-o", out.to_str().unwrap(), "-e", err.to_str().unwrap()])
            .args(options)
            .arg(JOB_SCRIPT)
            .args(args)
            .env("CONCBENCH_OUT", self.path(name))
            .output()
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&o.stdout);
        let id = text.trim().split(';').next().unwrap_or("").to_string();
        ensure!(
            o.status.success() && !id.is_empty(),
            "sbatch refused: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        Ok(Job { id, out, err })
    }

    /// The job's state and exit code (`scontrol show job`: COMPLETED, FAILED, CANCELLED, ...).
    fn job_state(&self, id: &str) -> (String, String) {
        let o = self
            .cmd("scontrol")
            .args(["-o", "show", "job", id])
            .output();
        let text = o
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let field = |k: &str| {
            text.split_whitespace()
                .find_map(|w| w.strip_prefix(k))
                .unwrap_or("")
                .to_string()
        };
        (field("JobState="), field("ExitCode="))
    }

    /// Wait until the job has left every state in `busy`; its state then.
    fn wait_job_leaves(
        &self,
        id: &str,
        busy: &[&str],
        within: Duration,
    ) -> Result<(String, String), String> {
        wait_for(within, &format!("job {id} to leave {busy:?}"), || {
            let (state, exit) = self.job_state(id);
            (!state.is_empty() && !busy.contains(&state.as_str())).then_some((state, exit))
        })
    }

    /// Wait until the job is over (not pending, running or completing).
    fn wait_job(&self, id: &str, within: Duration) -> Result<(String, String), String> {
        self.wait_job_leaves(id, BUSY, within)
    }

    /// The commands of every process on `node` other than its slurmd.
    fn running_on(&self, node: &str) -> Vec<String> {
        let o = Command::new("ip").args(["netns", "pids", node]).output();
        let pids = o
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        pids.split_whitespace()
            .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/comm")).ok())
            .map(|c| c.trim().to_string())
            .filter(|c| c != "slurmd")
            .collect()
    }

    /// Nothing but slurmd left on `nodes`, within a few seconds (a job's processes exit when its
    /// step ends; Slurm kills what is left after KillWait, 2 s here).
    fn nothing_left_on(&self, nodes: &[&str]) -> Check {
        let left = wait_for(Duration::from_secs(15), "the nodes to be empty", || {
            let left: Vec<String> = nodes
                .iter()
                .flat_map(|n| {
                    self.running_on(n)
                        .into_iter()
                        .map(move |c| format!("{n}:{c}"))
                })
                .collect();
            left.is_empty().then_some(())
        });
        left.map_err(|_| {
            let left: Vec<String> = nodes
                .iter()
                .flat_map(|n| {
                    self.running_on(n)
                        .into_iter()
                        .map(move |c| format!("{n}:{c}"))
                })
                .collect();
            format!("left running: {}", left.join(", "))
        })
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let t = Instant::now();
        let down = local_slurm(&["down", "--prefix", PREFIX]);
        eprintln!(
            "slurm: cluster down in {:.1} s{}",
            t.elapsed().as_secs_f64(),
            if down.status.success() {
                String::new()
            } else {
                format!(": {}", String::from_utf8_lossy(&down.stderr))
            }
        );
    }
}

struct Job {
    id: String,
    out: PathBuf,
    err: PathBuf,
}

fn local_slurm(args: &[&str]) -> Output {
    Command::new(LOCAL_SLURM)
        .args(args)
        .env("CONCBENCH_SLURM_DIR", DIR)
        .output()
        .expect("scripts/local-slurm runs")
}

/// Poll `probe` every 100 ms until it gives a value, for at most `within`.
fn wait_for<T>(
    within: Duration,
    what: &str,
    mut probe: impl FnMut() -> Option<T>,
) -> Result<T, String> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = probe() {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            return Err(format!("waited {} s for {what}", within.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn json_file(path: &Path) -> Result<serde_json::Value, String> {
    serde_json::from_str(&read(path)).map_err(|e| format!("{}: {e}", path.display()))
}

fn json_out(o: &Output) -> Result<serde_json::Value, String> {
    ensure!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).map_err(|e| {
        format!(
            "one JSON document on stdout ({e}): {}",
            String::from_utf8_lossy(&o.stdout)
        )
    })
}

/// A distributed run of one workload as the rows must show it: x1 and x2, verified, rank i of
/// the x2 row on `hosts[i]`, bytes moved; the MPI job launched by `launcher`; the Slurm job in
/// the machine block with `nodes` nodes.
fn check_run(doc: &serde_json::Value, hosts: [&str; 2], launcher: &str, nodes: u64) -> Check {
    let rows = doc["rows"].as_array().ok_or("no rows")?;
    ensure!(rows.len() == 2, "{} rows, not x1 and x2", rows.len());
    for (i, row) in rows.iter().enumerate() {
        ensure!(
            row["strategy"] == "distributed" && row["cores"] == i + 1 && row["verified"] == true,
            "row {i}: {} x{} verified {}",
            row["strategy"],
            row["cores"],
            row["verified"]
        );
    }
    let ranks = rows[1]["distributed"]["ranks"]
        .as_array()
        .ok_or("x2: no ranks")?;
    let placed: Vec<&str> = ranks
        .iter()
        .map(|r| r["host"].as_str().unwrap_or("?"))
        .collect();
    ensure!(placed == hosts, "x2 ran on {placed:?}, not {hosts:?}");
    ensure!(
        rows[1]["distributed"]["bytes_moved"].as_u64().unwrap_or(0) > 0,
        "x2 moved nothing"
    );
    let cpus: Vec<u64> = ranks.iter().filter_map(|r| r["cpu"].as_u64()).collect();
    ensure!(
        cpus.len() == 2 && cpus[0] != cpus[1],
        "the two ranks shared a CPU of this machine: {cpus:?}"
    );
    let m = &doc["machine"];
    ensure!(
        m["cluster"]["launcher"] == launcher,
        "launcher {}",
        m["cluster"]["launcher"]
    );
    ensure!(
        m["cluster"]["ranks"].as_array().map_or(0, |r| r.len()) == 2,
        "not 2 ranks in the job"
    );
    let slurm = &m["slurm"];
    ensure!(
        slurm["job_id"].as_str().is_some_and(|j| !j.is_empty()),
        "no Slurm job in the machine block: {m}"
    );
    ensure!(
        slurm["nodes"] == nodes,
        "the machine block says {} nodes, not {nodes}",
        slurm["nodes"]
    );
    ensure!(
        slurm["node"] == hosts[0],
        "rank 0's node {} is not {}",
        slurm["node"],
        hosts[0]
    );
    Ok(())
}

/// The error lines concbench printed (`concbench: ...` but its progress line).
fn concbench_errors(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.starts_with("concbench:") && !l.contains("this run will take"))
        .collect()
}

/// Nothing but the expected lines in a failed job's error output: Slurm's own line (if any),
/// concbench's one line at most, no Open MPI banner, no panic.
fn no_noise(err: &str) -> Check {
    ensure!(
        concbench_errors(err).len() <= 1,
        "more than one line from concbench:\n{err}"
    );
    ensure!(
        !err.contains("-----") && !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "banners or a panic:\n{err}"
    );
    Ok(())
}

// ------------------------------------------------------------------------------------------
// The launches.

fn sbatch_across_two_nodes(c: &Cluster) -> Check {
    for (i, w) in WORKLOADS.iter().enumerate() {
        let name = format!("sbatch-{i}");
        let args: Vec<&str> = w.iter().chain(SHORT).copied().collect();
        let job = c.sbatch(&name, &["-w", &format!("{N1},{N2}")], &args)?;
        let (state, exit) = c.wait_job(&job.id, Duration::from_secs(120))?;
        ensure!(
            state == "COMPLETED",
            "{w:?}: job {} {state} ({exit}): {}",
            job.id,
            read(&job.err)
        );
        let doc = json_file(&c.path(&name).join("results.json"))?;
        check_run(&doc, [N1, N2], "mpirun", 2).map_err(|e| format!("{w:?}: {e}"))?;
        let slurm = &doc["machine"]["slurm"];
        ensure!(
            slurm["job_id"] == job.id.as_str(),
            "job {} in the machine block, not {}",
            slurm["job_id"],
            job.id
        );
        ensure!(
            slurm["tasks_per_node"] == "1(x2)",
            "tasks per node {}",
            slurm["tasks_per_node"]
        );
        ensure!(
            read(&job.out).contains(&format!("Slurm job {}", job.id)),
            "the table names no Slurm job:\n{}",
            read(&job.out)
        );
    }
    c.nothing_left_on(&[N1, N2])
}

fn srun_pmix(c: &Cluster, nodes: &str, hosts: [&str; 2]) -> Check {
    let n = if hosts[0] == hosts[1] { "1" } else { "2" };
    for w in WORKLOADS {
        let o = c
            .cmd("srun")
            .args(["--mpi=pmix", "-N", n, "-n", "2", "-w", nodes, EXE, "run"])
            .args(w)
            .args([
                "--strategy",
                "distributed",
                "--cores",
                "1,2",
                "--format",
                "json",
            ])
            .args(SHORT)
            .output()
            .map_err(|e| e.to_string())?;
        let doc = json_out(&o)?;
        check_run(&doc, hosts, "srun", n.parse().unwrap()).map_err(|e| format!("{w:?}: {e}"))?;
        let slurm = &doc["machine"]["slurm"];
        ensure!(
            slurm["step_id"].is_string(),
            "no step in the machine block: {slurm}"
        );
        // Slurm's task/affinity bound each task to a CPU: the machine block says so, and that
        // rank 0 may use one CPU of its node's.
        ensure!(
            slurm["cpu_bind"]
                .as_str()
                .is_some_and(|b| b.starts_with("mask_cpu:")),
            "binding {}",
            slurm["cpu_bind"]
        );
        ensure!(
            slurm["cpus_allowed"].is_string(),
            "no narrowed CPUs: {slurm}"
        );
    }
    c.nothing_left_on(&[N1, N2])
}

fn srun_pmix_one_node(c: &Cluster) -> Check {
    srun_pmix(c, N1, [N1, N1])
}

fn srun_pmix_two_nodes(c: &Cluster) -> Check {
    srun_pmix(c, &format!("{N1},{N2}"), [N1, N2])
}

fn salloc_mpirun(c: &Cluster) -> Check {
    for w in WORKLOADS {
        let o = c
            .cmd("salloc")
            .args([
                "-N",
                "2",
                "--ntasks-per-node=1",
                "-w",
                &format!("{N1},{N2}"),
            ])
            .args(["mpirun", "-q", EXE, "run"])
            .args(w)
            .args([
                "--strategy",
                "distributed",
                "--cores",
                "1,2",
                "--format",
                "json",
            ])
            .args(SHORT)
            .output()
            .map_err(|e| e.to_string())?;
        let doc = json_out(&o)?;
        check_run(&doc, [N1, N2], "mpirun", 2).map_err(|e| format!("{w:?}: {e}"))?;
    }
    c.nothing_left_on(&[N1, N2])
}

fn lab_under_srun(c: &Cluster) -> Check {
    let o = c
        .cmd("srun")
        .args([
            "--mpi=pmix",
            "-N",
            "1",
            "-n",
            "2",
            "--cpu-bind=none",
            "-w",
            N1,
            EXE,
        ])
        .args(["lab", "--quick", "--quiet", "--format", "json", "--claim"])
        .arg("message-passing-cost,scaling-across-ranks,one-core-concurrency")
        .output()
        .map_err(|e| e.to_string())?;
    let doc = json_out(&o)?;
    let claims = doc["claims"].as_array().ok_or("no claims")?;
    ensure!(claims.len() == 3, "{} claims", claims.len());
    // Each claim was measured under srun: judged, or not testable by design, where the
    // figure is measured anyway but the prediction of this run's inputs holds the negation's
    // (scaling-across-ranks' predicted ratio sits near that edge on 2 vCPUs). A claim the lab
    // could not measure (no ranks seen) has no figure at all.
    for claim in claims {
        ensure!(
            claim["verdict"] != "not-testable" || claim["figures"].get("measured_anyway").is_some(),
            "{} was not measured: {}",
            claim["id"],
            claim["explanation"]
        );
    }
    let m = &doc["machine"];
    ensure!(
        m["cluster"]["launcher"] == "srun" && m["slurm"]["cpu_bind"] == "none",
        "machine block: {m}"
    );
    c.nothing_left_on(&[N1])
}

// ------------------------------------------------------------------------------------------
// The failures.

/// A long job submitted, running for real (its first execution done), then stopped by `stop`;
/// returns the job and its state, exit code and error output once it is over.
fn stopped_mid_run(
    c: &Cluster,
    name: &str,
    options: &[&str],
    stop: impl FnOnce(&Job) -> Check,
    busy: &[&str],
    within: Duration,
) -> Result<(Job, String, String, String), String> {
    let job = c.sbatch(name, options, LONG)?;
    wait_for(Duration::from_secs(60), "the job's first execution", || {
        read(&job.err).contains("this run will take").then_some(())
    })
    .map_err(|e| format!("{e}: {}", read(&job.err)))?;
    stop(&job)?;
    let (state, exit) = c.wait_job_leaves(&job.id, busy, within)?;
    let err = read(&job.err);
    ensure!(
        !c.path(name).exists(),
        "results written by a stopped run: {}",
        c.path(name).display()
    );
    Ok((job, state, exit, err))
}

fn cancelled_mid_run(c: &Cluster) -> Check {
    let nodes = format!("{N1},{N2}");
    let (job, state, exit, err) = stopped_mid_run(
        c,
        "cancel",
        &["-w", &nodes],
        |job| {
            let o = c
                .cmd("scancel")
                .arg(&job.id)
                .output()
                .map_err(|e| e.to_string())?;
            ensure!(
                o.status.success(),
                "scancel: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            Ok(())
        },
        BUSY,
        Duration::from_secs(60),
    )?;
    ensure!(
        state.starts_with("CANCELLED") && exit != "0:0",
        "job {}: {state} {exit}",
        job.id
    );
    ensure!(
        err.contains(&format!("*** JOB {} ON {N1} CANCELLED AT", job.id)),
        "no line from Slurm:\n{err}"
    );
    no_noise(&err)?;
    eprintln!(
        "slurm: cancelled: {}",
        err.lines()
            .filter(|l| !l.contains("will take"))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    c.nothing_left_on(&[N1, N2])
}

fn time_limit_reached(c: &Cluster) -> Check {
    let (job, state, exit, err) = stopped_mid_run(
        c,
        "timelimit",
        &["-w", N3, "-N", "1", "-n", "1", "--time=1"],
        |_| Ok(()),
        BUSY,
        Duration::from_secs(180),
    )?;
    ensure!(
        state == "TIMEOUT" && exit != "0:0",
        "job {}: {state} {exit}",
        job.id
    );
    ensure!(
        err.contains("CANCELLED AT") && err.contains("DUE TO TIME LIMIT"),
        "no line from Slurm:\n{err}"
    );
    no_noise(&err)?;
    eprintln!(
        "slurm: time limit: {}",
        err.lines()
            .filter(|l| !l.contains("will take"))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    c.nothing_left_on(&[N3])
}

fn node_lost(c: &Cluster) -> Check {
    let nodes = format!("{N1},{N2}");
    let (job, state, exit, err) = stopped_mid_run(
        c,
        "nodelost",
        &["-w", &nodes],
        |_| {
            let o = local_slurm(&["kill-node", N2]);
            ensure!(
                o.status.success(),
                "kill-node: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            Ok(())
        },
        // The batch script's end is what the user sees; the job itself completes only once
        // Slurm has declared the lost node down.
        &["PENDING", "CONFIGURING", "RUNNING"],
        Duration::from_secs(60),
    )?;
    // The batch script ended (rank 0 and mpirun on node 1 stopped); Slurm completes the job
    // once it has declared node 2 down.
    ensure!(
        state == "COMPLETING" || state == "FAILED",
        "job {}: {state} {exit}",
        job.id
    );
    let line = concbench_errors(&err);
    ensure!(
        line.len() == 1 && line[0].contains("the MPI job was stopped") && line[0].contains(&job.id),
        "not one line from rank 0:\n{err}"
    );
    no_noise(&err)?;
    eprintln!("slurm: node lost: {}", line[0]);
    c.nothing_left_on(&[N1])?;
    ensure!(
        c.running_on(N2).is_empty(),
        "processes on the lost node: {:?}",
        c.running_on(N2)
    );
    // The node comes back and Slurm returns it to service.
    let o = local_slurm(&["start-node", N2]);
    ensure!(
        o.status.success(),
        "start-node: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    Ok(())
}

fn more_ranks_than_allocated(c: &Cluster) -> Check {
    // concbench's own check: --cores beyond the job's tasks.
    let job = c.sbatch(
        "moreranks",
        &["-w", N1, "-N", "1", "--ntasks-per-node=2"],
        &["--workload", "io", "--size", "4", "--cores", "1,2,3"],
    )?;
    let (state, _) = c.wait_job(&job.id, Duration::from_secs(60))?;
    let err = read(&job.err);
    ensure!(state == "FAILED", "job {}: {state}: {err}", job.id);
    let line = concbench_errors(&err);
    ensure!(
        line.len() == 1
            && line[0].contains("--cores 3 needs 3 MPI ranks, but 2 were launched")
            && line[0].contains(&format!("Slurm job {}", job.id)),
        "not concbench's one line:\n{err}"
    );
    no_noise(&err)?;
    eprintln!("slurm: more ranks (concbench): {}", line[0]);
    // Slurm's own: a step of more tasks than the allocation has.
    let o = c
        .cmd("salloc")
        .args([
            "-N",
            "1",
            "-n",
            "2",
            "-w",
            N1,
            "srun",
            "--mpi=pmix",
            "-n",
            "3",
            EXE,
            "run",
        ])
        .args([
            "--workload",
            "io",
            "--size",
            "4",
            "--strategy",
            "distributed",
            "--cores",
            "3",
        ])
        .output()
        .map_err(|e| e.to_string())?;
    let err = String::from_utf8_lossy(&o.stderr);
    ensure!(!o.status.success(), "srun -n 3 in an allocation of 2 ran");
    let line: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("srun: error"))
        .collect();
    ensure!(
        line.len() == 1 && line[0].contains("More processors requested than permitted"),
        "not Slurm's one line:\n{err}"
    );
    eprintln!("slurm: more ranks (srun): {}", line[0]);
    c.nothing_left_on(&[N1])
}

fn srun_without_pmix(c: &Cluster) -> Check {
    let o = c
        .cmd("srun")
        .args(["--mpi=none", "-N", "1", "-n", "2", "-w", N1, EXE, "run"])
        .args([
            "--workload",
            "io",
            "--size",
            "4",
            "--strategy",
            "distributed",
            "--cores",
            "1,2",
        ])
        .output()
        .map_err(|e| e.to_string())?;
    let err = String::from_utf8_lossy(&o.stderr);
    ensure!(
        o.status.code() == Some(2),
        "exit {:?}: {err}",
        o.status.code()
    );
    let line = concbench_errors(&err);
    ensure!(
        line.len() == 1 && line[0].contains("srun --mpi=pmix -n 2"),
        "not one line from task 0:\n{err}"
    );
    eprintln!("slurm: srun without PMIx: {}", line[0]);
    c.nothing_left_on(&[N1])
}

fn srun_without_mpi_feature(c: &Cluster) -> Check {
    let o = c
        .cmd("srun")
        .args(["--mpi=pmix", "-N", "1", "-n", "2", "-w", N1, EXE, "run"])
        .args([
            "--workload",
            "io",
            "--size",
            "4",
            "--strategy",
            "distributed",
            "--cores",
            "1,2",
        ])
        .output()
        .map_err(|e| e.to_string())?;
    let err = String::from_utf8_lossy(&o.stderr);
    ensure!(
        o.status.code() == Some(2),
        "exit {:?}: {err}",
        o.status.code()
    );
    let line = concbench_errors(&err);
    ensure!(
        line.len() == 1
            && line[0].contains("launched by srun as one of 2 ranks but was built without MPI"),
        "not one line from rank 0:\n{err}"
    );
    eprintln!("slurm: binary without MPI: {}", line[0]);
    c.nothing_left_on(&[N1])
}
