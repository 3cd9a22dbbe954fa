//! References in the same run: the code a user could pick instead of concbench's kernels, timed
//! in the same invocation beside them, so the ratios hold on a noisy, shared machine.
//!
//! - `mergesort`: std's `slice::sort` and `slice::sort_unstable` (one thread, pinned to the first
//!   core), rayon's `par_sort` and `par_sort_unstable` on a pool of P threads (each pinned to its own
//!   physical core in the pool's `start_handler`), beside concbench's sequential twin and its
//!   multi-threaded and multi-process strategies at each P. Every sort gets the same keys (the
//!   `mergesort` workload's, from the same seed) and is checked after timing.
//! - `matmul`: the `matrixmultiply` crate's dgemm (f64, row-major, the workload's own A and B) on 1
//!   and P threads. Its threading reads `MATMUL_NUM_THREADS` once per process, so each thread count
//!   runs in a child: the concbench binary re-executed with the child job `RefDgemm` of [`crate::child`]
//!   and that variable set, its affinity restricted to the first P physical cores. The child checks
//!   a few entries of C against dot products and prints its samples as one JSON line.
//!
//! Every figure is a median of `reps` timed repetitions after `warmup` untimed ones. Ratios are
//! speed ratios: reference time / concbench time, so above 1 means concbench is faster.

pub(crate) mod render;

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

pub(crate) use crate::child::jobs::DgemmJob;
use crate::child::{ChildJob, ChildSpec, Lines, WorkerCommand};
use crate::experiment::ceilings::Ceilings;
use crate::machine::Machine;
use crate::measure::clock::monotonic_ns;
use crate::measure::stats::median;
use crate::plan::{PlanError, RunPlan, RunRequest};
use crate::runner::{self, Measurement};
use crate::strategy::ExecOptions;
use crate::topology::{self, Topology};
use crate::workload::registry::{self, Ceiling};

/// The workloads that have references.
pub(crate) const REF_WORKLOADS: [&str; 2] = ["mergesort", "matmul"];

/// A checked `concbench refs` request.
#[derive(Debug, Clone, PartialEq)]
pub struct RefsPlan {
    /// `mergesort` or `matmul`.
    pub workload: String,
    /// Thread counts P, ascending, distinct.
    pub(crate) cores: Vec<usize>,
    /// Keys (mergesort) or matrix order (matmul).
    pub(crate) size: usize,
    /// Timed repetitions per row.
    pub(crate) reps: usize,
    /// Untimed warm-ups per row.
    pub(crate) warmup: usize,
    /// Seed of the input.
    pub(crate) seed: u64,
    /// The plan of concbench's own rows (sequential, multi-threaded, multi-process).
    pub(crate) run: RunPlan,
}

impl RefsPlan {
    /// Validate raw options. `cores` `None` means `1,P` with P the physical cores; `size` `None`
    /// the workload's default (4M keys, n = 1024).
    pub fn new(
        workload: &str,
        cores: Option<&str>,
        size: Option<i64>,
        reps: i64,
        warmup: i64,
        seed: u64,
    ) -> Result<RefsPlan, PlanError> {
        if !REF_WORKLOADS.contains(&workload) {
            return Err(PlanError(format!(
                "unknown workload '{workload}' for refs (known: {})",
                REF_WORKLOADS.join(", ")
            )));
        }
        let p = Topology::get().physical_core_count();
        let cores = cores.map(str::to_string).unwrap_or_else(|| {
            if p > 1 {
                format!("1,{p}")
            } else {
                "1".into()
            }
        });
        let run = RunPlan::from_request(&RunRequest {
            workload: workload.into(),
            cores: Some(cores),
            strategy: Some("sequential,multi-threaded,multi-process".into()),
            size,
            reps,
            warmup,
            seed,
            ..RunRequest::default()
        })?;
        Ok(RefsPlan {
            workload: workload.into(),
            cores: run.cores.clone(),
            size: run.spec.size,
            reps: run.reps,
            warmup: run.warmup,
            seed,
            run,
        })
    }
}

/// Who wrote the code of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Origin {
    /// A reference (std, rayon, matrixmultiply).
    Reference,
    /// concbench's own kernel and strategy.
    Concbench,
}

/// One timed implementation at one thread count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RefRow {
    /// What ran: `std sort`, `rayon par_sort_unstable`, `matrixmultiply dgemm`,
    /// `concbench multi-threaded`, ...
    pub(crate) implementation: String,
    /// Reference or concbench.
    pub(crate) origin: Origin,
    /// Threads (or worker processes) it used.
    pub(crate) threads: usize,
    /// More threads than physical cores.
    pub(crate) oversubscribed: bool,
    /// Median wall time, seconds.
    pub(crate) median_s: f64,
    /// Fastest repetition.
    pub(crate) min_s: f64,
    /// Slowest repetition.
    pub(crate) max_s: f64,
    /// Every timed repetition, seconds.
    pub(crate) samples_s: Vec<f64>,
    /// matmul: GFLOP/s at the median (2n³ flop).
    pub(crate) gflops: Option<f64>,
    /// mergesort: million keys per second at the median.
    pub(crate) mkeys_s: Option<f64>,
    /// matmul: share of the cached FMA peak × the cores used, if `limits` has been measured here.
    pub(crate) peak_share: Option<f64>,
    /// How it was run, when not obvious (child process, environment, CPUs).
    pub(crate) note: Option<String>,
}

impl RefRow {
    /// `implementation@threads`, the name ratios use.
    pub(crate) fn label(&self) -> String {
        format!("{}@{}", self.implementation, self.threads)
    }
}

/// One comparison: concbench's row against a reference row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RefRatio {
    /// Label of concbench's row.
    pub(crate) concbench: String,
    /// Label of the row it is held against.
    pub(crate) reference: String,
    /// Reference median time / concbench median time: above 1, concbench is faster.
    pub(crate) speed_ratio: f64,
    /// Copy-bandwidth scaling from 1 to this many threads, for speedups of the memory-bound sort
    /// (from cached `limits`; `None` when not cached or not a speedup over a 1-thread row).
    pub(crate) bandwidth_scaling: Option<f64>,
}

/// The whole `concbench refs` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefsReport {
    /// Where and when.
    pub(crate) machine: Machine,
    /// `mergesort` or `matmul`.
    pub(crate) workload: String,
    /// Keys or matrix order.
    pub(crate) size: usize,
    /// Timed repetitions per row.
    pub(crate) reps: usize,
    /// Untimed warm-ups per row.
    pub(crate) warmup: usize,
    /// Seed of the input.
    pub(crate) seed: u64,
    /// Every timed row, references first.
    pub(crate) rows: Vec<RefRow>,
    /// The comparisons that matter, concbench / reference.
    pub(crate) ratios: Vec<RefRatio>,
    /// Where the peak shares and bandwidth scalings come from ("... cached from DATE"), if any.
    pub(crate) ceilings: Option<String>,
}

impl crate::report::Render for RefsReport {
    fn render(&self, format: crate::report::Format) -> String {
        let json = crate::report::json::pretty(self);
        crate::report::document::render(&render::document(self), &json, format)
    }

    /// `WORKLOAD.txt`, `WORKLOAD.json`, `WORKLOAD.md`, `WORKLOAD.tex` (`mergesort.md`, ...), a
    /// CSV per table and `report.html`.
    fn files(&self) -> Vec<(String, String)> {
        let json = crate::report::json::pretty(self);
        crate::report::document::set_files(&render::document(self), &self.workload, json)
    }
}

/// A reference that failed (a wrong answer, a child that died, a thread that would not pin).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RefsError {
    /// concbench's own rows failed.
    #[error(transparent)]
    Run(#[from] runner::RunError),
    /// A reference failed.
    #[error("{0}")]
    Reference(String),
}

fn stats(samples: Vec<f64>) -> (f64, f64, f64, Vec<f64>) {
    let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
    let max = samples.iter().copied().fold(0.0, f64::max);
    (median(&samples), min, max, samples)
}

fn timed_row(
    implementation: &str,
    origin: Origin,
    threads: usize,
    samples: Vec<f64>,
    note: Option<String>,
) -> RefRow {
    let (median_s, min_s, max_s, samples_s) = stats(samples);
    RefRow {
        implementation: implementation.into(),
        origin,
        threads,
        // Threads on this machine's cores, whatever MPI job it is in.
        oversubscribed: crate::strategy::Strategy::MultiThreaded
            .oversubscribed(threads, Topology::get().physical_core_count()),
        median_s,
        min_s,
        max_s,
        samples_s,
        gflops: None,
        mkeys_s: None,
        peak_share: None,
        note,
    }
}

/// The mergesort workload's keys for `seed`.
pub(crate) fn sort_keys(n: usize, seed: u64) -> Vec<u64> {
    let mut keys = vec![0; n];
    crate::workload::mergesort::fill_keys(seed, &mut keys);
    keys
}

/// Time `sort` on fresh copies of `keys`: `warmup` untimed runs, then `reps` timed; each result
/// is checked sorted (untimed).
fn time_sort(
    keys: &[u64],
    reps: usize,
    warmup: usize,
    mut sort: impl FnMut(&mut Vec<u64>),
) -> Result<Vec<f64>, RefsError> {
    let mut out = Vec::with_capacity(reps);
    for rep in 0..warmup + reps {
        let mut v = keys.to_vec();
        let t0 = monotonic_ns();
        sort(&mut v);
        let s = (monotonic_ns() - t0) as f64 / 1e9;
        if v.len() != keys.len() || !v.windows(2).all(|w| w[0] <= w[1]) {
            return Err(RefsError::Reference(
                "a reference sort left keys unsorted".into(),
            ));
        }
        if rep >= warmup {
            out.push(s);
        }
    }
    Ok(out)
}

/// Run `f` on a thread pinned to the first core.
fn on_first_core<T: Send>(f: impl FnOnce() -> T + Send) -> Result<T, RefsError> {
    let cpu = Topology::get().first_cpu();
    std::thread::scope(|s| {
        crate::start::spawn_scoped(s, std::thread::Builder::new(), 0, 1, move || {
            topology::pin_current_thread(cpu)
                .map_err(|e| RefsError::Reference(e.to_string()))
                .map(|()| f())
        })
        .map_err(|e| RefsError::Reference(e.to_string()))?
        .join()
        .map_err(|_| RefsError::Reference("a reference thread panicked".into()))?
    })
}

/// A rayon pool of `threads` threads, thread i pinned to physical core i (wrapping).
fn pinned_pool(threads: usize) -> Result<rayon::ThreadPool, RefsError> {
    let err: Arc<Mutex<Option<String>>> = Arc::default();
    let e2 = Arc::clone(&err);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .start_handler(move |i| {
            if let Err(e) = topology::pin_current_thread(Topology::get().spread_cpu(i)) {
                *e2.lock().unwrap() = Some(e.to_string());
            }
        })
        .build()
        .map_err(|e| {
            // rayon says only "Resource temporarily unavailable": name the limit behind it.
            let limit = crate::sys::limit_behind(&std::io::Error::from_raw_os_error(11))
                .filter(|_| e.to_string().contains("os error 11"))
                .map(|l| format!(" ({l} refused it)"))
                .unwrap_or_default();
            RefsError::Reference(format!(
                "could not start a rayon pool of {threads} threads{limit}: {e}"
            ))
        })?;
    // Make sure every thread has run its start handler before we look for errors.
    pool.broadcast(|_| ());
    if let Some(e) = err.lock().unwrap().take() {
        return Err(RefsError::Reference(format!("rayon pool: {e}")));
    }
    Ok(pool)
}

fn sort_references(plan: &RefsPlan) -> Result<Vec<RefRow>, RefsError> {
    use rayon::slice::ParallelSliceMut;
    let keys = sort_keys(plan.size, plan.seed);
    let (reps, warmup) = (plan.reps, plan.warmup);
    let mut rows = Vec::new();
    let std_sort = on_first_core(|| time_sort(&keys, reps, warmup, |v| v.sort()))??;
    rows.push(timed_row("std sort", Origin::Reference, 1, std_sort, None));
    let unstable = on_first_core(|| time_sort(&keys, reps, warmup, |v| v.sort_unstable()))??;
    rows.push(timed_row(
        "std sort_unstable",
        Origin::Reference,
        1,
        unstable,
        None,
    ));
    for &p in &plan.cores {
        let pool = pinned_pool(p)?;
        let par = pool.install(|| time_sort(&keys, reps, warmup, |v| v.par_sort()))?;
        rows.push(timed_row("rayon par_sort", Origin::Reference, p, par, None));
        let paru = pool.install(|| time_sort(&keys, reps, warmup, |v| v.par_sort_unstable()))?;
        rows.push(timed_row(
            "rayon par_sort_unstable",
            Origin::Reference,
            p,
            paru,
            None,
        ));
    }
    Ok(rows)
}

/// What a dgemm child prints: its timed repetitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct DgemmChildResult {
    /// Timed repetitions, seconds.
    pub samples_s: Vec<f64>,
    /// `MATMUL_NUM_THREADS` as the child saw it.
    pub(crate) matmul_num_threads: Option<String>,
    /// The CPUs the child was restricted to.
    pub cpus: Vec<usize>,
}

/// The matmul workload's A and B for `seed`: uniform in [-0.5, 0.5).
pub(crate) fn matmul_inputs(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let (mut a, mut b) = (vec![0.0; n * n], vec![0.0; n * n]);
    crate::workload::matmul::fill_inputs(seed, &mut a, &mut b);
    (a, b)
}

/// Run a dgemm job in this process (the child side) and return its samples.
pub(crate) fn run_dgemm_job(job: &DgemmJob) -> Result<DgemmChildResult, String> {
    topology::set_affinity(&job.cpus).map_err(|e| e.to_string())?;
    let n = job.n;
    let (a, b) = matmul_inputs(n, job.seed);
    let mut c = vec![0.0f64; n * n];
    let mut samples = Vec::with_capacity(job.reps);
    for rep in 0..job.warmup + job.reps {
        c.fill(f64::NAN);
        let t0 = monotonic_ns();
        // SAFETY: a, b and c are n×n row-major buffers that outlive the call; c is not aliased.
        unsafe {
            matrixmultiply::dgemm(
                n,
                n,
                n,
                1.0,
                a.as_ptr(),
                n as isize,
                1,
                b.as_ptr(),
                n as isize,
                1,
                0.0,
                c.as_mut_ptr(),
                n as isize,
                1,
            );
        }
        let s = (monotonic_ns() - t0) as f64 / 1e9;
        for (i, j) in [(0, 0), (n - 1, n - 1), (n / 2, n / 3), (n / 3, n - 1)] {
            let want: f64 = (0..n).map(|k| a[i * n + k] * b[k * n + j]).sum();
            if (c[i * n + j] - want).abs() > 1e-9 * n as f64 {
                return Err(format!(
                    "dgemm C[{i}][{j}] = {} but the dot product is {want}",
                    c[i * n + j]
                ));
            }
        }
        if rep >= job.warmup {
            samples.push(s);
        }
    }
    Ok(DgemmChildResult {
        samples_s: samples,
        matmul_num_threads: std::env::var("MATMUL_NUM_THREADS").ok(),
        cpus: job.cpus.clone(),
    })
}

/// Serve the parent as a dgemm reference child (the child job [`ChildJob::RefDgemm`]): run the
/// job and print its result as one JSON line.
pub(crate) fn serve_ref_child(job: &DgemmJob) -> Result<(), String> {
    let result = run_dgemm_job(job)?;
    Lines::new().say(&serde_json::to_string(&result).map_err(|e| e.to_string())?)
}

/// Run a dgemm job in a child concbench with `MATMUL_NUM_THREADS=threads`.
fn dgemm_child(plan: &RefsPlan, threads: usize) -> Result<RefRow, RefsError> {
    let topo = Topology::get();
    let cpus: Vec<usize> = {
        let mut c: Vec<usize> = (0..threads).map(|i| topo.spread_cpu(i)).collect();
        c.sort_unstable();
        c.dedup();
        c
    };
    let job = DgemmJob {
        n: plan.size,
        reps: plan.reps,
        warmup: plan.warmup,
        seed: plan.seed,
        cpus: cpus.clone(),
    };
    let exe = WorkerCommand::locate_concbench().map_err(RefsError::Reference)?;
    let spec = ChildSpec {
        parent_pid: std::process::id(),
        cpu: None,
        job: ChildJob::RefDgemm(job),
    };
    let out = exe
        .command(&spec)
        .env("MATMUL_NUM_THREADS", threads.to_string())
        .output()
        .map_err(|e| RefsError::Reference(format!("starting {}: {e}", exe.exe.display())))?;
    if !out.status.success() {
        return Err(RefsError::Reference(format!(
            "dgemm reference on {threads} thread(s) failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let r: DgemmChildResult = serde_json::from_slice(&out.stdout).map_err(|e| {
        RefsError::Reference(format!("dgemm reference printed something unreadable: {e}"))
    })?;
    Ok(timed_row(
        "matrixmultiply dgemm",
        Origin::Reference,
        threads,
        r.samples_s,
        Some(format!(
            "child process, MATMUL_NUM_THREADS={threads}, CPUs {}",
            topology::format_cpu_list(&cpus)
        )),
    ))
}

fn concbench_rows(measurements: &[Measurement]) -> Vec<RefRow> {
    measurements
        .iter()
        .map(|m| {
            let samples = m.runs.iter().map(|r| r.wall_s).collect();
            timed_row(
                &format!("concbench {}", m.strategy),
                Origin::Concbench,
                m.cores,
                samples,
                None,
            )
        })
        .collect()
}

/// Time the references and concbench's own rows, in this order, and compare them.
/// `progress` is told which row is being measured.
pub fn run_refs(plan: &RefsPlan, progress: &mut dyn FnMut(&str)) -> Result<RefsReport, RefsError> {
    let context = crate::cluster::context();
    let machine = Machine::describe(&context);
    let mut rows = Vec::new();
    if plan.workload == "mergesort" {
        progress("std and rayon sorts");
        rows.extend(sort_references(plan)?);
    } else {
        let mut threads = vec![1];
        threads.extend(plan.cores.iter().copied());
        threads.sort_unstable();
        threads.dedup();
        for t in threads {
            progress(&format!("matrixmultiply dgemm on {t} thread(s)"));
            rows.push(dgemm_child(plan, t)?);
        }
    }
    progress("concbench");
    let measurements = runner::run_plan(&plan.run, &ExecOptions::default(), &context, &mut |p| {
        let _ = p;
    })?;
    rows.extend(concbench_rows(&measurements));
    let ceilings = Ceilings::load_cached();
    finish(machine, plan, rows, ceilings.as_ref())
}

fn finish(
    machine: Machine,
    plan: &RefsPlan,
    mut rows: Vec<RefRow>,
    ceilings: Option<&Ceilings>,
) -> Result<RefsReport, RefsError> {
    let n = plan.size as f64;
    let compute_bound = ceiling_of(&plan.workload) == Ceiling::ComputeBound;
    for r in rows.iter_mut() {
        if compute_bound {
            let g = 2.0 * n * n * n / r.median_s / 1e9;
            r.gflops = Some(g);
            r.peak_share = ceilings.map(|c| g / c.peak_gflops(r.threads));
        } else {
            r.mkeys_s = Some(n / r.median_s / 1e6);
        }
    }
    let ratios = ratios(plan, &rows, ceilings);
    Ok(RefsReport {
        machine,
        workload: plan.workload.clone(),
        size: plan.size,
        reps: plan.reps,
        warmup: plan.warmup,
        seed: plan.seed,
        rows,
        ratios,
        ceilings: ceilings
            .map(|c| crate::experiment::ceilings::provenance(c, true, crate::machine::unix_now())),
    })
}

/// Which ceiling bounds a workload, from its descriptor (GFLOP/s for compute-bound rows, the
/// bandwidth scaling beside memory-bound ratios).
fn ceiling_of(workload: &str) -> Ceiling {
    registry::find(workload).map_or(Ceiling::None, |d| d.ceiling)
}

/// The comparisons of a refs run: for each P, concbench's rows against the references that a
/// user would pick instead (see the module docs); pairs with a missing row are left out.
pub(crate) fn ratios(
    plan: &RefsPlan,
    rows: &[RefRow],
    ceilings: Option<&Ceilings>,
) -> Vec<RefRatio> {
    let find = |name: &str, threads: usize| {
        rows.iter()
            .find(|r| r.implementation == name && r.threads == threads)
    };
    let mut pairs: Vec<(String, usize, String, usize)> = Vec::new();
    let mut pair = |a: &str, ta: usize, b: &str, tb: usize| {
        pairs.push((a.into(), ta, b.into(), tb));
    };
    let (seq, mt, mp) = (
        "concbench sequential",
        "concbench multi-threaded",
        "concbench multi-process",
    );
    if plan.workload == "mergesort" {
        pair(seq, 1, "std sort", 1);
        pair(seq, 1, "std sort_unstable", 1);
        for &p in &plan.cores {
            pair(mt, p, "rayon par_sort", p);
            pair(mt, p, "rayon par_sort_unstable", p);
            if p > 1 {
                pair(mt, p, "std sort", 1);
            }
            pair(mp, p, mt, p);
        }
        pair(mt, 1, seq, 1);
    } else {
        pair(seq, 1, "matrixmultiply dgemm", 1);
        for &p in &plan.cores {
            pair(mt, p, "matrixmultiply dgemm", p);
            pair(mt, p, seq, 1);
            pair(mp, p, mt, p);
        }
    }
    let physical = Topology::get().physical_core_count();
    let memory_bound = ceiling_of(&plan.workload) == Ceiling::MemoryBound;
    pairs
        .into_iter()
        .filter_map(|(a, ta, b, tb)| {
            let (ra, rb) = (find(&a, ta)?, find(&b, tb)?);
            let scaling = (memory_bound && tb == 1 && ta > 1)
                .then(|| ceilings.and_then(|c| c.bandwidth_scaling(ta.min(physical))))
                .flatten();
            Some(RefRatio {
                concbench: ra.label(),
                reference: rb.label(),
                speed_ratio: rb.median_s / ra.median_s,
                bandwidth_scaling: scaling,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_inputs_are_the_workloads_own() {
        use crate::shm::SharedRegion;
        use crate::workload::{build, WorkloadSpec};
        let sort = build(&WorkloadSpec::new("mergesort", 1000, 9)).unwrap();
        let region = SharedRegion::new(sort.shared_bytes()).unwrap();
        crate::workload::init(&*sort, region.mem());
        crate::workload::reset(&*sort, region.mem());
        // SAFETY: single-threaded test; the keys are the first n u64 of the region.
        let keys = unsafe { region.mem().slice::<u64>(0, 1000) };
        assert_eq!(keys, &sort_keys(1000, 9)[..]);

        let mm = build(&WorkloadSpec::new("matmul", 16, 9)).unwrap();
        let region = SharedRegion::new(mm.shared_bytes()).unwrap();
        crate::workload::init(&*mm, region.mem());
        let (a, b) = matmul_inputs(16, 9);
        // SAFETY: single-threaded test; A is the first n*n f64 of the region.
        let got_a = unsafe { region.mem().slice::<f64>(0, 256) };
        assert_eq!(got_a, &a[..]);
        let whole = unsafe { region.mem().slice::<f64>(0, region.mem().len() / 8) };
        let b_at = whole
            .windows(256)
            .position(|w| w == &b[..])
            .expect("B is in the region");
        assert!(b_at >= 256);
    }

    fn row(name: &str, threads: usize, median_s: f64) -> RefRow {
        timed_row(name, Origin::Reference, threads, vec![median_s], None)
    }

    #[test]
    fn plans_reject_bad_input() {
        let e = RefsPlan::new("io", None, None, 5, 1, 1).unwrap_err().0;
        assert!(e.contains("'io'"), "{e}");
        let e = RefsPlan::new("mergesort", Some("0"), Some(100), 5, 1, 1)
            .unwrap_err()
            .0;
        assert!(e.contains("'0'"), "{e}");
        let e = RefsPlan::new("matmul", None, Some(0), 5, 1, 1)
            .unwrap_err()
            .0;
        assert!(e.contains("--size 0"), "{e}");
        let p = RefsPlan::new("mergesort", Some("2,1"), Some(100), 3, 0, 1).unwrap();
        assert_eq!(p.cores, vec![1, 2]);
        assert_eq!(p.run.strategies.len(), 3);
    }

    #[test]
    fn ratios_are_reference_time_over_concbench_time() {
        let plan = RefsPlan::new("mergesort", Some("1,2"), Some(100), 1, 0, 1).unwrap();
        let rows = vec![
            row("std sort", 1, 1.0),
            row("rayon par_sort", 2, 0.8),
            row("concbench sequential", 1, 1.1),
            row("concbench multi-threaded", 2, 0.5),
        ];
        let r = ratios(&plan, &rows, None);
        let get = |a: &str, b: &str| {
            r.iter()
                .find(|x| x.concbench == a && x.reference == b)
                .unwrap()
                .speed_ratio
        };
        assert!((get("concbench sequential@1", "std sort@1") - 1.0 / 1.1).abs() < 1e-12);
        assert!((get("concbench multi-threaded@2", "rayon par_sort@2") - 1.6).abs() < 1e-12);
        assert!((get("concbench multi-threaded@2", "std sort@1") - 2.0).abs() < 1e-12);
        // Pairs with a missing row are left out.
        assert!(r.iter().all(|x| !x.reference.contains("unstable")));
    }

    #[test]
    fn reference_inputs_are_the_workloads() {
        assert_eq!(sort_keys(3, 7), sort_keys(3, 7));
        let (a, b) = matmul_inputs(4, 9);
        assert_eq!(a.len(), 16);
        assert!(a.iter().chain(&b).all(|x| (-0.5..0.5).contains(x)));
    }

    #[test]
    fn a_small_dgemm_job_checks_its_answer() {
        let job = DgemmJob {
            n: 33,
            reps: 1,
            warmup: 0,
            seed: 3,
            cpus: Topology::get().allowed.clone(),
        };
        let r = run_dgemm_job(&job).unwrap();
        assert_eq!(r.samples_s.len(), 1);
    }
}
