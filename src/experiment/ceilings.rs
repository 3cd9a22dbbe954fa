//! Ceilings: what this machine allows, measured — copy bandwidth for 1..P threads and peak
//! double-precision FLOP/s per core — so a speedup can be read against the hardware's own limit.
//!
//! Merge sort is memory-bound: its speedup from P cores cannot beat the bandwidth scaling from 1 to
//! P threads. Matrix multiply is compute-bound: its GFLOP/s are read as a share of the FMA peak ×
//! the cores it used. `concbench limits` measures both, prints them and refreshes a cache
//! (`$XDG_CACHE_HOME/concbench/limits.json`, else `~/.cache/concbench/limits.json`), which is only
//! trusted on a machine with the same CPU model and physical core count. While measuring it
//! watches what other programs take of the CPUs (`/proc/stat` over the interval): a measurement
//! they disturbed (more than 5%) is never cached, and the cache keeps the best quiet measurement
//! ([`Ceilings::better_than`]).
//!
//! Method:
//! - **copy bandwidth**: STREAM-style copy of a buffer several times the size of the last-level
//!   cache, split into T equal chunks, one per thread (T = 1..P). Each thread is pinned to its own
//!   physical core, started before timing and released by a barrier, and copies its chunk with
//!   `copy_from_slice` (the C library's `memcpy`). Bytes counted are read + written (2 × buffer),
//!   as STREAM, likwid-bench and the acceptance checks' `refbench copy` count them. The wall time of
//!   one repetition runs from the first thread's start to the last thread's end (each reads the
//!   monotonic clock itself); the median of the repetitions is reported.
//! - **peak FLOP/s**: a loop of fused multiply-adds into 12 independent vector accumulators
//!   (FMA latency 4 cycles × 2 FMA pipes needs at least 8), written in inline assembly so the
//!   compiler can neither drop nor reorder it, for each instruction set this CPU has (AVX-512F,
//!   AVX2+FMA, detected at run time) plus a portable loop (separate multiply and add, whatever the
//!   compiler vectorises it to). One FMA is 2 flops per lane. The best instruction set is then run
//!   on all P cores at once.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread::Builder;

pub(crate) use crate::analysis::ceilings::Ceilings;
pub(crate) use crate::analysis::ceilings::*;
use crate::measure::clock::monotonic_ns;
use crate::measure::load::LoadMeter;
use crate::measure::stats::median;
use crate::start;
use crate::strategy::barrier::FutexBarrier;
use crate::topology::{self, Topology};

/// Independent accumulators of the FMA loop.
pub(crate) const FMA_ACCUMULATORS: usize = 12;

/// Sizes and repetitions of a measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LimitsOptions {
    /// Source buffer of the copy, bytes (the destination is as large).
    pub(crate) copy_bytes: usize,
    /// Timed repetitions of each figure.
    pub(crate) reps: usize,
    /// Target duration of one FMA repetition, seconds.
    pub(crate) flops_rep_s: f64,
    /// Marks the result as quick.
    pub(crate) quick: bool,
}

impl LimitsOptions {
    /// The full measurement: 512 MiB buffers (as `refbench copy 512`), 5 repetitions, 50 ms FMA
    /// loops; a few seconds on two cores.
    pub(crate) fn full() -> LimitsOptions {
        LimitsOptions {
            copy_bytes: 512 << 20,
            reps: 5,
            flops_rep_s: 0.05,
            quick: false,
        }
    }

    /// A quick look: 128 MiB buffers (still four times a 32 MiB L3), 3 repetitions, 10 ms loops.
    pub(crate) fn quick() -> LimitsOptions {
        LimitsOptions {
            copy_bytes: 128 << 20,
            reps: 3,
            flops_rep_s: 0.01,
            quick: true,
        }
    }
}

/// A measurement that could not be trusted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CeilingError {
    /// A thread could not be pinned to its core.
    #[error("pinning a measuring thread: {0}")]
    Pin(#[from] topology::TopologyError),
    /// The system refused to start a measuring thread (a limit).
    #[error(transparent)]
    Start(#[from] crate::start::StartError),
    /// The copy did not copy.
    #[error("copy with {0} threads left the destination different from the source")]
    WrongCopy(usize),
}

impl Ceilings {
    /// Measure on this machine: copy bandwidth for 1..P threads and the FMA peaks, P being the
    /// physical cores this process may use.
    pub(crate) fn measure(options: &LimitsOptions) -> Result<Ceilings, CeilingError> {
        let topo = Topology::get();
        let cpus = topo.core_cpus();
        let meter = LoadMeter::start(&topo.allowed);
        let copy = measure_copy(&cpus, options.copy_bytes, options.reps)?;
        let flops = measure_flops(&cpus, options.flops_rep_s, options.reps)?;
        let others_load = meter.as_ref().and_then(LoadMeter::finish);
        Ok(Ceilings {
            date: crate::machine::utc_now_rfc3339(),
            cpu_model: cpu_model(),
            physical_cores: topo.physical_core_count(),
            quick: options.quick,
            others_load,
            load_average: None,
            copy,
            flops,
        })
    }

    /// Save as pretty JSON to `path` (atomically; parent directories are created).
    pub(crate) fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut s = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        s.push('\n');
        crate::output::write_atomic(path, s.as_bytes())
    }

    /// Load from `path` if it parses and was measured on a CPU of model `cpu_model` with
    /// `physical_cores` cores; `None` otherwise (missing, unreadable, other machine).
    pub(crate) fn load(path: &Path, cpu_model: &str, physical_cores: usize) -> Option<Ceilings> {
        let text = std::fs::read_to_string(path).ok()?;
        let c: Ceilings = serde_json::from_str(&text).ok()?;
        (c.cpu_model == cpu_model && c.physical_cores == physical_cores).then_some(c)
    }

    /// The cached ceilings of this machine, if `concbench limits` has measured them here. Reports
    /// should name their date: "cached from {date}".
    pub(crate) fn load_cached() -> Option<Ceilings> {
        Ceilings::load(
            &cache_path()?,
            &cpu_model(),
            Topology::get().physical_core_count(),
        )
    }

    /// Save to [`cache_path`] unless it should not be: a measurement other programs disturbed
    /// is never cached, and a better one already there ([`Ceilings::better_than`]: quiet, full,
    /// the higher peak) is kept. Says which, so the caller can tell the user.
    pub(crate) fn save_cached(&self) -> std::io::Result<CacheOutcome> {
        let path = cache_path().ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "neither XDG_CACHE_HOME nor HOME is set",
            )
        })?;
        let outcome = self.cache_decision(Ceilings::load_cached().as_ref(), path);
        if let CacheOutcome::Saved(p) = &outcome {
            self.save(p)?;
        }
        Ok(outcome)
    }

    /// What [`Ceilings::save_cached`] does with `self` when the cache holds `cached`.
    pub(crate) fn cache_decision(&self, cached: Option<&Ceilings>, path: PathBuf) -> CacheOutcome {
        if self.disturbed() {
            return CacheOutcome::Disturbed;
        }
        match cached {
            Some(old) if old.better_than(self) => CacheOutcome::KeptBetter(Box::new(old.clone())),
            _ => CacheOutcome::Saved(path),
        }
    }
}

/// What [`Ceilings::save_cached`] did.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CacheOutcome {
    /// Cached in this file.
    Saved(PathBuf),
    /// Not cached: the cache holds a better measurement (this one), which stays.
    KeptBetter(Box<Ceilings>),
    /// Not cached: other programs took more than 5% of the CPUs while it was measured.
    Disturbed,
}

/// Where `limits` caches its figures: `$XDG_CACHE_HOME/concbench/limits.json`, else
/// `$HOME/.cache/concbench/limits.json`; `None` if neither variable is set.
pub(crate) fn cache_path() -> Option<PathBuf> {
    cache_path_from(
        std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from),
        std::env::var_os("HOME").map(PathBuf::from),
    )
}

/// [`cache_path`] from given variables (empty values count as unset, as the XDG spec says).
pub(crate) fn cache_path_from(
    xdg_cache_home: Option<PathBuf>,
    home: Option<PathBuf>,
) -> Option<PathBuf> {
    Some(crate::measure::probe::cache_dir_from(xdg_cache_home, home)?.join("limits.json"))
}

/// CPU model name from /proc/cpuinfo ("unknown" if absent).
pub(crate) fn cpu_model() -> String {
    crate::sys::cpu_model().unwrap_or_else(|| "unknown".into())
}

/// Bandwidth in GB/s of a copy of `bytes` bytes taking `seconds`: read + written, 2 × bytes.
pub(crate) fn copy_gb_s(bytes: u64, seconds: f64) -> f64 {
    2.0 * bytes as f64 / seconds / 1e9
}

/// GFLOP/s of `iterations` loop trips of `accumulators` FMAs on `lanes`-wide vectors in `seconds`
/// (one FMA = 2 flops per lane).
pub(crate) fn fma_gflops(iterations: u64, accumulators: usize, lanes: usize, seconds: f64) -> f64 {
    2.0 * iterations as f64 * accumulators as f64 * lanes as f64 / seconds / 1e9
}

/// Run `body(i)` on `cpus.len()` persistent threads, thread i pinned to `cpus[i]`, `1 + reps`
/// times (the first untimed), all released together by a barrier. Returns the wall time of each
/// timed round: the latest end minus the earliest start, as read by the threads themselves.
fn min_of(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

fn rounds<F>(cpus: &[usize], reps: usize, body: F) -> Result<Vec<f64>, CeilingError>
where
    F: Fn(usize) + Sync,
{
    let t = cpus.len();
    let start = FutexBarrier::new(t + 1);
    let end = FutexBarrier::new(t + 1);
    let stop = AtomicBool::new(false);
    let starts: Vec<AtomicU64> = (0..t).map(|_| AtomicU64::new(0)).collect();
    let ends: Vec<AtomicU64> = (0..t).map(|_| AtomicU64::new(0)).collect();
    let pin_error: Mutex<Option<topology::TopologyError>> = Mutex::new(None);
    let mut walls = Vec::with_capacity(reps);
    std::thread::scope(|s| -> Result<(), CeilingError> {
        for (i, &cpu) in cpus.iter().enumerate() {
            let (start, end, stop, starts, ends, body, pin_error) =
                (&start, &end, &stop, &starts, &ends, &body, &pin_error);
            let spawned = start::spawn_scoped(s, Builder::new(), i, t, move || {
                if let Err(e) = topology::pin_current_thread(cpu) {
                    *pin_error.lock().unwrap() = Some(e);
                }
                loop {
                    start.wait();
                    if stop.load(Ordering::Acquire) {
                        break;
                    }
                    starts[i].store(monotonic_ns(), Ordering::Relaxed);
                    body(i);
                    ends[i].store(monotonic_ns(), Ordering::Relaxed);
                    end.wait();
                }
            });
            if let Err(e) = spawned {
                // The threads already started are waiting to start a round: let them see the
                // stop without the ones that never came.
                stop.store(true, Ordering::Release);
                start.release_missing(t - i);
                start.wait();
                return Err(e.into());
            }
        }
        for round in 0..=reps {
            start.wait();
            end.wait();
            let first = starts.iter().map(|a| a.load(Ordering::Relaxed)).min();
            let last = ends.iter().map(|a| a.load(Ordering::Relaxed)).max();
            if round > 0 {
                let ns = last.unwrap_or(0).saturating_sub(first.unwrap_or(0)).max(1);
                walls.push(ns as f64 / 1e9);
            }
        }
        stop.store(true, Ordering::Release);
        start.wait();
        Ok(())
    })?;
    match pin_error.into_inner().unwrap() {
        Some(e) => Err(e.into()),
        None => Ok(walls),
    }
}

/// Copy bandwidth with 1..=cpus.len() threads over a `bytes`-byte buffer.
fn measure_copy(cpus: &[usize], bytes: usize, reps: usize) -> Result<CopyCeiling, CeilingError> {
    let words = (bytes / 8).max(1024);
    let src = copy_source(words);
    let mut dst = vec![1u64; words]; // written, so its pages are mapped before timing
    let threads: Vec<usize> = (1..=cpus.len()).collect();
    let points = copy_points(cpus, &threads, &src, &mut dst, reps)?;
    Ok(CopyCeiling {
        method: "STREAM-style copy (copy_from_slice = memcpy) of one buffer split into equal chunks, one pinned thread per physical core, started by a barrier; bytes read + written; median of the repetitions".into(),
        buffer_bytes: (words * 8) as u64,
        reps,
        points,
    })
}

/// The source buffer of the copy: `words` words of a fixed pattern, every page written.
pub(crate) fn copy_source(words: usize) -> Vec<u64> {
    (0..words as u64)
        .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .collect()
}

/// The copy of [`Ceilings::measure`] on buffers the caller owns: for each count `t` of
/// `threads` (each at most `cpus.len()`), `src` copied into `dst` (of equal length) split into
/// `t` equal chunks, one thread pinned to each of the first `t` CPUs of `cpus`, one untimed round
/// and `reps` timed ones. Other experiments (the lab) measure the copy this way beside their own
/// loops, over the same memory, in the same repetition.
pub(crate) fn copy_points(
    cpus: &[usize],
    threads: &[usize],
    src: &[u64],
    dst: &mut [u64],
    reps: usize,
) -> Result<Vec<BandwidthPoint>, CeilingError> {
    let words = src.len().min(dst.len());
    let (src, dst) = (&src[..words], &mut dst[..words]);
    let mut points = Vec::new();
    for &t in threads {
        let t = t.clamp(1, cpus.len().max(1));
        dst.fill(0);
        let chunk = words.div_ceil(t).max(1);
        let pieces: Vec<Mutex<(&mut [u64], &[u64])>> = dst
            .chunks_mut(chunk)
            .zip(src.chunks(chunk))
            .map(Mutex::new)
            .collect();
        let walls = rounds(&cpus[..t], reps, |i| {
            if let Some(piece) = pieces.get(i) {
                let mut piece = piece.lock().unwrap();
                let (d, s) = &mut *piece;
                d.copy_from_slice(s);
            }
        })?;
        drop(pieces);
        if dst != src {
            return Err(CeilingError::WrongCopy(t));
        }
        let b = (words * 8) as u64;
        let fastest = walls.iter().copied().fold(f64::INFINITY, f64::min);
        let slowest = walls.iter().copied().fold(0.0, f64::max);
        points.push(BandwidthPoint {
            threads: t,
            cpus: cpus[..t].to_vec(),
            gb_s: copy_gb_s(b, median(&walls)),
            min_gb_s: copy_gb_s(b, slowest),
            max_gb_s: copy_gb_s(b, fastest),
        });
    }
    Ok(points)
}

/// An FMA loop this CPU can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Isa {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
    Portable,
}

impl Isa {
    fn name(self) -> &'static str {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => "avx512f",
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => "avx2+fma",
            Isa::Portable => "portable",
        }
    }

    /// Independent accumulators (each `lanes` wide) of the loop.
    fn accumulators(self) -> usize {
        match self {
            Isa::Portable => PORTABLE_ACCUMULATORS,
            #[allow(unreachable_patterns)]
            _ => FMA_ACCUMULATORS,
        }
    }

    fn lanes(self) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => 8,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => 4,
            Isa::Portable => 1,
        }
    }

    /// Instruction sets available here, widest first (runtime detection).
    #[cfg_attr(not(target_arch = "x86_64"), allow(clippy::vec_init_then_push))]
    fn available() -> Vec<Isa> {
        let mut v = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            let fma = std::arch::is_x86_feature_detected!("fma");
            if fma && std::arch::is_x86_feature_detected!("avx512f") {
                v.push(Isa::Avx512);
            }
            if fma && std::arch::is_x86_feature_detected!("avx2") {
                v.push(Isa::Avx2Fma);
            }
        }
        v.push(Isa::Portable);
        v
    }

    /// Run `iterations` trips of the loop ([`FMA_ACCUMULATORS`] FMAs, or multiply-adds, each).
    fn run(self, iterations: u64) {
        match self {
            // SAFETY: only listed by `available` when the CPU has the features.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { fma_loop_avx512(iterations) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => unsafe { fma_loop_avx2(iterations) },
            Isa::Portable => fma_loop_portable(iterations),
        }
    }
}

/// The widest FMA loop this CPU runs (the one `limits` measures the per-core peak with, chosen by
/// run-time detection: AVX-512F, else AVX2+FMA, else the portable loop), for experiments that
/// need work that keeps the core's FMA units busy (the lab's SMT claim). One loop, so what such
/// an experiment runs is what the peak was measured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FmaLoop(Isa);

impl FmaLoop {
    /// The widest loop this CPU has.
    pub fn widest() -> FmaLoop {
        FmaLoop(Isa::available()[0])
    }

    /// Its instruction set: `avx512f`, `avx2+fma` or `portable`.
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// Trips that take about `seconds` on the calling thread's core.
    pub(crate) fn trips_for(self, seconds: f64) -> u64 {
        calibrate(self.0, seconds)
    }

    /// Run `trips` trips of the loop.
    pub fn run(self, trips: u64) {
        self.0.run(trips)
    }
}

const FMA_MUL: f64 = 1.000_000_001;
const FMA_ADD: f64 = 1e-9;

/// 12 independent `vfmadd231pd zmm` per trip.
///
/// AVX-512 intrinsics and `target_feature(enable = "avx512f")` need Rust 1.89, above the crate's
/// MSRV, so the loop is assembly in an AVX function: it only touches zmm0–zmm13, whose low halves
/// (ymm0–ymm13) are declared clobbered; code compiled without AVX-512 never keeps values in the
/// upper halves, and `vzeroupper` clears them before returning.
///
/// # Safety
/// The CPU must support AVX-512F and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,fma")]
unsafe fn fma_loop_avx512(iterations: u64) {
    let consts = [FMA_MUL, FMA_ADD];
    std::arch::asm!(
        "vbroadcastsd zmm12, qword ptr [{c}]",
        "vbroadcastsd zmm13, qword ptr [{c} + 8]",
        "vmovapd zmm0, zmm13", "vmovapd zmm1, zmm13", "vmovapd zmm2, zmm13",
        "vmovapd zmm3, zmm13", "vmovapd zmm4, zmm13", "vmovapd zmm5, zmm13",
        "vmovapd zmm6, zmm13", "vmovapd zmm7, zmm13", "vmovapd zmm8, zmm13",
        "vmovapd zmm9, zmm13", "vmovapd zmm10, zmm13", "vmovapd zmm11, zmm13",
        "test {n}, {n}",
        "jz 3f",
        "2:",
        "vfmadd231pd zmm0, zmm12, zmm13",
        "vfmadd231pd zmm1, zmm12, zmm13",
        "vfmadd231pd zmm2, zmm12, zmm13",
        "vfmadd231pd zmm3, zmm12, zmm13",
        "vfmadd231pd zmm4, zmm12, zmm13",
        "vfmadd231pd zmm5, zmm12, zmm13",
        "vfmadd231pd zmm6, zmm12, zmm13",
        "vfmadd231pd zmm7, zmm12, zmm13",
        "vfmadd231pd zmm8, zmm12, zmm13",
        "vfmadd231pd zmm9, zmm12, zmm13",
        "vfmadd231pd zmm10, zmm12, zmm13",
        "vfmadd231pd zmm11, zmm12, zmm13",
        "dec {n}",
        "jnz 2b",
        "3:",
        "vzeroupper",
        c = in(reg) consts.as_ptr(),
        n = inout(reg) iterations => _,
        out("ymm0") _, out("ymm1") _, out("ymm2") _, out("ymm3") _,
        out("ymm4") _, out("ymm5") _, out("ymm6") _, out("ymm7") _,
        out("ymm8") _, out("ymm9") _, out("ymm10") _, out("ymm11") _,
        out("ymm12") _, out("ymm13") _,
        options(nostack, readonly),
    );
}

/// 12 independent `vfmadd231pd ymm` per trip (the loop of `likwid-bench -t peakflops_avx_fma`
/// in spirit).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fma_loop_avx2(iterations: u64) {
    let consts = [FMA_MUL, FMA_ADD];
    std::arch::asm!(
        "vbroadcastsd ymm12, qword ptr [{c}]",
        "vbroadcastsd ymm13, qword ptr [{c} + 8]",
        "vmovapd ymm0, ymm13", "vmovapd ymm1, ymm13", "vmovapd ymm2, ymm13",
        "vmovapd ymm3, ymm13", "vmovapd ymm4, ymm13", "vmovapd ymm5, ymm13",
        "vmovapd ymm6, ymm13", "vmovapd ymm7, ymm13", "vmovapd ymm8, ymm13",
        "vmovapd ymm9, ymm13", "vmovapd ymm10, ymm13", "vmovapd ymm11, ymm13",
        "test {n}, {n}",
        "jz 3f",
        "2:",
        "vfmadd231pd ymm0, ymm12, ymm13",
        "vfmadd231pd ymm1, ymm12, ymm13",
        "vfmadd231pd ymm2, ymm12, ymm13",
        "vfmadd231pd ymm3, ymm12, ymm13",
        "vfmadd231pd ymm4, ymm12, ymm13",
        "vfmadd231pd ymm5, ymm12, ymm13",
        "vfmadd231pd ymm6, ymm12, ymm13",
        "vfmadd231pd ymm7, ymm12, ymm13",
        "vfmadd231pd ymm8, ymm12, ymm13",
        "vfmadd231pd ymm9, ymm12, ymm13",
        "vfmadd231pd ymm10, ymm12, ymm13",
        "vfmadd231pd ymm11, ymm12, ymm13",
        "dec {n}",
        "jnz 2b",
        "3:",
        "vzeroupper",
        c = in(reg) consts.as_ptr(),
        n = inout(reg) iterations => _,
        out("ymm0") _, out("ymm1") _, out("ymm2") _, out("ymm3") _,
        out("ymm4") _, out("ymm5") _, out("ymm6") _, out("ymm7") _,
        out("ymm8") _, out("ymm9") _, out("ymm10") _, out("ymm11") _,
        out("ymm12") _, out("ymm13") _,
        options(nostack, readonly),
    );
}

/// Independent scalar accumulators of the portable loop (enough for any vector width the compiler
/// picks: 16 two-lane SSE2 chains, or 8 four-lane ones).
const PORTABLE_ACCUMULATORS: usize = 32;

/// The fallback: [`PORTABLE_ACCUMULATORS`] independent multiply-adds per trip, as the compiler
/// builds them for the baseline target (separate multiply and add: 2 flops each).
fn fma_loop_portable(iterations: u64) {
    let m = std::hint::black_box(FMA_MUL);
    let a = std::hint::black_box(FMA_ADD);
    let mut acc = [a; PORTABLE_ACCUMULATORS];
    for _ in 0..iterations {
        for x in acc.iter_mut() {
            *x = *x * m + a;
        }
    }
    std::hint::black_box(acc);
}

/// Trips of `isa`'s loop that take about `target_s` on one core (doubling until 5 ms, then
/// scaling).
fn calibrate(isa: Isa, target_s: f64) -> u64 {
    let mut n: u64 = 10_000;
    loop {
        let t0 = monotonic_ns();
        isa.run(n);
        let s = (monotonic_ns() - t0) as f64 / 1e9;
        if s >= 0.005 || n >= 1 << 40 {
            return ((n as f64 * target_s / s.max(1e-9)) as u64).max(1);
        }
        n *= 2;
    }
}

/// Peak per instruction set on the first core, then the best on every core at once.
fn measure_flops(cpus: &[usize], rep_s: f64, reps: usize) -> Result<FlopsCeiling, CeilingError> {
    let mut by_isa = Vec::new();
    let mut best: Option<(Isa, f64, u64)> = None;
    for isa in Isa::available() {
        let n = {
            // Calibrate on the core that will be measured.
            let cpu = cpus[0];
            std::thread::scope(|s| -> Result<u64, CeilingError> {
                let calibration = start::spawn_scoped(s, Builder::new(), 0, 1, move || {
                    topology::pin_current_thread(cpu).map(|()| calibrate(isa, rep_s))
                })?;
                Ok(calibration.join().expect("calibration thread")?)
            })?
        };
        let walls = rounds(&cpus[..1], reps, |_| isa.run(n))?;
        let g = fma_gflops(n, isa.accumulators(), isa.lanes(), median(&walls));
        let best_g = fma_gflops(n, isa.accumulators(), isa.lanes(), min_of(&walls));
        by_isa.push(IsaPeak {
            isa: isa.name().into(),
            lanes: isa.lanes(),
            accumulators: isa.accumulators(),
            gflops: g,
            best_gflops: best_g,
        });
        if best.map_or(true, |(_, b, _)| g > b) {
            best = Some((isa, g, n));
        }
    }
    let (isa, per_core, n) = best.expect("the portable loop is always available");
    let walls = rounds(cpus, reps, |_| isa.run(n))?;
    let all = cpus.len() as f64 * fma_gflops(n, isa.accumulators(), isa.lanes(), median(&walls));
    Ok(FlopsCeiling {
        isa: isa.name().into(),
        accumulators: isa.accumulators(),
        reps,
        per_core_gflops: per_core,
        all_cores: cpus.len(),
        all_cores_gflops: all,
        by_isa,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Row;
    use crate::strategy::Phases;
    use crate::strategy::Strategy;

    fn sample() -> Ceilings {
        Ceilings {
            date: "2026-01-02T03:04:05Z".into(),
            cpu_model: "Test CPU".into(),
            physical_cores: 2,
            quick: true,
            others_load: None,
            load_average: None,
            copy: CopyCeiling {
                method: "test".into(),
                buffer_bytes: 1 << 20,
                reps: 3,
                points: vec![
                    BandwidthPoint {
                        threads: 1,
                        cpus: vec![0],
                        gb_s: 10.0,
                        min_gb_s: 9.0,
                        max_gb_s: 11.0,
                    },
                    BandwidthPoint {
                        threads: 2,
                        cpus: vec![0, 1],
                        gb_s: 15.0,
                        min_gb_s: 14.0,
                        max_gb_s: 16.0,
                    },
                ],
            },
            flops: FlopsCeiling {
                isa: "avx2+fma".into(),
                accumulators: 12,
                reps: 3,
                per_core_gflops: 40.0,
                all_cores: 2,
                all_cores_gflops: 79.0,
                by_isa: vec![],
            },
        }
    }

    fn row(workload: &str, strategy: Strategy, cores: usize, speedup: f64, thr: f64) -> Row {
        Row {
            workload: workload.into(),
            strategy,
            cores,
            reps: 1,
            median_s: 1.0,
            min_s: 1.0,
            max_s: 1.0,
            mean_s: 1.0,
            median_ci_s: None,
            ci_coverage: None,
            speedup,
            speedup_ci: None,
            speedup_ci_coverage: None,
            speedup_baseline: "sequential".into(),
            efficiency: Some(speedup / cores as f64),
            serial_fraction: None,
            scaling_undefined: None,
            verified: true,
            oversubscribed: false,
            workers_per_core: 1.0,
            cpus: vec![0],
            slow_cpus: Vec::new(),
            voluntary_switches: 0,
            involuntary_switches: 0,
            switches_per_s: 0.0,
            switch_overhead: 0.0,
            user_s: 0.0,
            sys_s: 0.0,
            phases: Phases::default(),
            throughput: thr,
            unit: if workload == "matmul" { "flop" } else { "keys" }.into(),
            samples_s: vec![1.0],
            distributed: None,
            web: None,
        }
    }

    #[test]
    fn arithmetic_of_the_figures() {
        // 1 GB copied in 0.1 s moves 2 GB: 20 GB/s.
        assert!((copy_gb_s(1_000_000_000, 0.1) - 20.0).abs() < 1e-9);
        // 1e6 trips × 12 FMAs × 4 lanes × 2 flops in 1 ms = 96 GFLOP/s.
        assert!((fma_gflops(1_000_000, 12, 4, 1e-3) - 96.0).abs() < 1e-9);
        let c = sample();
        assert_eq!(c.bandwidth_scaling(1), Some(1.0));
        assert_eq!(c.bandwidth_scaling(2), Some(1.5));
        assert_eq!(c.bandwidth_scaling(8), Some(1.5), "capped at the measured");
        assert_eq!(c.peak_gflops(1), 40.0);
        assert_eq!(c.peak_gflops(4), 80.0, "capped at the physical cores");
    }

    #[test]
    fn cores_used_follows_the_strategy() {
        assert_eq!(cores_used(Strategy::Sequential, 1, 2), 1);
        assert_eq!(cores_used(Strategy::SingleCoreThreaded, 8, 2), 1);
        assert_eq!(cores_used(Strategy::MultiThreaded, 8, 2), 2);
        assert_eq!(cores_used(Strategy::MultiProcess, 1, 2), 1);
        assert_eq!(cores_used(Strategy::MultiThreaded, 3, 0), 1);
    }

    #[test]
    fn rows_gain_peak_share_and_bandwidth_scaling() {
        let c = sample();
        let rows = vec![
            row("matmul", Strategy::Sequential, 1, 1.0, 20e9),
            row("matmul", Strategy::MultiThreaded, 4, 1.9, 60e9),
            row("mergesort", Strategy::MultiThreaded, 2, 1.2, 1e6),
            row("mergesort", Strategy::SingleCoreThreaded, 2, 0.9, 1e6),
            row("io", Strategy::MultiThreaded, 2, 1.9, 1.0),
        ];
        let f = row_ceilings(&rows, &c);
        assert_eq!(f.len(), rows.len());
        assert!((f[0].peak_share.unwrap() - 0.5).abs() < 1e-12);
        assert_eq!(f[1].cores_used, 2);
        assert!((f[1].peak_share.unwrap() - 0.75).abs() < 1e-12);
        assert_eq!(f[1].bandwidth_scaling, None);
        assert!((f[2].speedup_over_bandwidth.unwrap() - 0.8).abs() < 1e-12);
        assert_eq!(f[3].bandwidth_scaling, Some(1.0));
        assert_eq!(f[4].peak_share, None);
        assert_eq!(f[4].speedup, None);
    }

    #[test]
    fn cache_round_trips_and_refuses_other_machines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/concbench/limits.json");
        let c = sample();
        c.save(&path).unwrap();
        assert_eq!(Ceilings::load(&path, "Test CPU", 2), Some(c.clone()));
        assert_eq!(Ceilings::load(&path, "Other CPU", 2), None);
        assert_eq!(Ceilings::load(&path, "Test CPU", 4), None);
        assert_eq!(
            Ceilings::load(&dir.path().join("missing.json"), "Test CPU", 2),
            None
        );
        std::fs::write(&path, "{not json").unwrap();
        assert_eq!(Ceilings::load(&path, "Test CPU", 2), None);
        let now = crate::machine::parse_unix_utc("2026-01-05T03:04:05Z").unwrap();
        let p = provenance(&c, true, now);
        assert!(
            p.contains("cached from 2026-01-02T03:04:05Z (quick), 3 days old"),
            "{p}"
        );
        assert!(!p.contains("figures low"));
    }

    #[test]
    fn a_disturbed_measurement_is_never_cached_and_the_best_quiet_one_stays() {
        let busy = |share: f64| crate::measure::load::OthersLoad {
            cpus: vec![0, 1],
            interval_s: 1.0,
            others_share: share,
            steal_share: 0.0,
        };
        let path = PathBuf::from("/c/limits.json");
        let mut disturbed = sample();
        disturbed.others_load = Some(busy(0.4));
        assert!(disturbed.disturbed());
        assert_eq!(
            disturbed.cache_decision(None, path.clone()),
            CacheOutcome::Disturbed
        );
        let p = provenance(&disturbed, false, 0);
        assert!(
            p.contains("other programs took 40% of the CPUs (figures low)"),
            "{p}"
        );
        let mut quiet = sample();
        quiet.others_load = Some(busy(0.01));
        assert!(!quiet.disturbed());
        assert_eq!(
            quiet.cache_decision(Some(&disturbed), path.clone()),
            CacheOutcome::Saved(path.clone()),
            "quiet replaces disturbed"
        );
        // A slower quiet measurement does not replace a faster one; a faster one does.
        let mut slower = quiet.clone();
        slower.flops.per_core_gflops = 30.0;
        assert!(matches!(
            slower.cache_decision(Some(&quiet), path.clone()),
            CacheOutcome::KeptBetter(_)
        ));
        assert_eq!(
            quiet.cache_decision(Some(&slower), path.clone()),
            CacheOutcome::Saved(path.clone())
        );
        // Full beats quick; an old cache's load average above the cores is disturbed.
        let mut full = slower.clone();
        full.quick = false;
        assert!(matches!(
            quiet.cache_decision(Some(&full), path.clone()),
            CacheOutcome::KeptBetter(_)
        ));
        let mut old = sample();
        old.load_average = Some(3.0);
        assert!(old.disturbed());
        assert!(provenance(&old, true, 0).contains("load average 3.0"));
    }

    #[test]
    fn a_share_above_the_peak_says_the_ceiling_was_low() {
        let c = sample();
        let f = row_ceilings(&[row("matmul", Strategy::Sequential, 1, 1.0, 67e9)], &c);
        assert!(f[0].peak_share.unwrap() > 1.0);
        assert!(f[0].ceiling_measured_low);
        let f = row_ceilings(&[row("matmul", Strategy::Sequential, 1, 1.0, 20e9)], &c);
        assert!(!f[0].ceiling_measured_low);
    }

    #[test]
    fn cache_path_prefers_xdg() {
        let p = cache_path_from(Some("/x/cache".into()), Some("/home/u".into())).unwrap();
        assert_eq!(p, PathBuf::from("/x/cache/concbench/limits.json"));
        let p = cache_path_from(Some("".into()), Some("/home/u".into())).unwrap();
        assert_eq!(p, PathBuf::from("/home/u/.cache/concbench/limits.json"));
        assert_eq!(cache_path_from(None, None), None);
    }

    #[test]
    fn every_fma_loop_runs() {
        for isa in Isa::available() {
            isa.run(0);
            isa.run(1000);
        }
        assert!(calibrate(Isa::Portable, 0.001) > 0);
    }

    #[test]
    fn the_public_fma_loop_is_the_widest_one() {
        let l = FmaLoop::widest();
        assert_eq!(l.name(), Isa::available()[0].name());
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("fma") && std::arch::is_x86_feature_detected!("avx2")
        {
            assert_ne!(
                l.name(),
                "portable",
                "a CPU with FMA runs the assembly loop"
            );
        }
        l.run(1000);
        assert!(l.trips_for(0.001) > 0);
    }

    #[test]
    fn a_tiny_copy_measures_and_verifies() {
        let cpus = Topology::get().core_cpus();
        let c = measure_copy(&cpus, 1 << 16, 1).unwrap();
        assert_eq!(c.points.len(), cpus.len());
        assert!(c.points.iter().all(|p| p.gb_s > 0.0));
    }
}
