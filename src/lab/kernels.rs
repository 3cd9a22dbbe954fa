//! The lab's own kernels: small, fixed pieces of work whose cost the claims' models predict.
//!
//! - [`spin`]: a dependent chain of integer operations (one unit ≈ a few cycles, no memory), the
//!   fixed work of the Amdahl, load-imbalance and unequal-parts experiments;
//! - [`run_pinned`]: run one closure per CPU on pinned scoped threads released together, with
//!   each thread's start and end on the monotonic clock;
//! - [`line_ping_pong_ns`]: the cost of moving one cache line between two cores;
//! - [`counters`]: two threads incrementing counters in one cache line or 128 bytes apart;
//! - [`locked_tasks`]: tasks of a given size that each end with one increment, of a shared
//!   mutex-protected counter or of a per-thread one;
//! - [`sweep_own_data`]: a thread sweeping its own buffer (the oversubscription claim's data);
//! - [`touch_ping_pong`]: a pipe ping-pong in which each side writes W pages between hand-offs,
//!   between threads or between processes (`fork`);
//! - [`pointer_chase`]: the SMT claim's memory-bound work (its FMA work is the `limits` FMA loop,
//!   [`crate::experiment::ceilings::FmaLoop`]).
//! - [`triad`]: STREAM's triad on one chunk of three arrays (memory-bound-scaling);
//! - [`sum_words`]: a read sweep whose speed depends on which cache holds the data
//!   (cache-capacity);
//! - [`SpinBarrier`]: a barrier whose waiters spin and never sleep (oversubscribed-spinning);
//! - [`global_lock_chunks`]: CPU work done in chunks, each under one global lock (global-lock);
//! - [`tasks_thread_each`] and [`tasks_on_pool`]: tasks run by a thread each or by a pool.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::Instant;

use crate::measure::clock::monotonic_ns;
use crate::topology::pin_current_thread;

/// `units` steps of a dependent xorshift chain: CPU work that touches no memory.
pub(crate) fn spin(units: u64) -> u64 {
    let mut x = std::hint::black_box(0x9E37_79B9_7F4A_7C15u64);
    for _ in 0..units {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    std::hint::black_box(x)
}

/// About how many [`spin`] units take `seconds` on this machine (calibrated once).
pub(crate) fn units_for(seconds: f64) -> u64 {
    static PER_S: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    let per_s = *PER_S.get_or_init(|| {
        let n = 2_000_000;
        let mut best = f64::INFINITY;
        for _ in 0..5 {
            let t = Instant::now();
            spin(n);
            best = best.min(t.elapsed().as_secs_f64());
        }
        n as f64 / best.max(1e-9)
    });
    ((seconds * per_s) as u64).max(1)
}

/// What one pinned thread of [`run_pinned`] did.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span<R> {
    /// Its result.
    pub(crate) value: R,
    /// When it started after the common release, ns (monotonic).
    pub(crate) start_ns: u64,
    /// When it ended, ns.
    pub(crate) end_ns: u64,
}

/// Run `f(i)` on one scoped thread per entry of `cpus` (thread `i` pinned to `cpus[i]`), all
/// released together by a barrier; each thread's span, in order, and the wall time from the
/// first start to the last end in seconds.
pub(crate) fn run_pinned<R: Send>(
    cpus: &[usize],
    f: impl Fn(usize) -> R + Sync,
) -> Result<(Vec<Span<R>>, f64), String> {
    let barrier = Barrier::new(cpus.len());
    let spans = std::thread::scope(|s| {
        let handles: Vec<_> = cpus
            .iter()
            .enumerate()
            .map(|(i, &cpu)| {
                let (barrier, f) = (&barrier, &f);
                s.spawn(move || {
                    let pinned = pin_current_thread(cpu).map_err(|e| e.to_string());
                    barrier.wait();
                    pinned?;
                    let start_ns = monotonic_ns();
                    let value = f(i);
                    Ok::<_, String>(Span {
                        value,
                        start_ns,
                        end_ns: monotonic_ns(),
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| "a lab thread panicked".to_string())?)
            .collect::<Result<Vec<_>, String>>()
    })?;
    let first = spans.iter().map(|s| s.start_ns).min().unwrap_or(0);
    let last = spans.iter().map(|s| s.end_ns).max().unwrap_or(0);
    Ok((spans, (last - first) as f64 / 1e9))
}

/// Half the round trip of an atomic flag bounced `rounds` times between spinning threads pinned
/// to `a` and `b`: one cache-line transfer, ns.
pub(crate) fn line_ping_pong_ns(a: usize, b: usize, rounds: u64) -> Option<f64> {
    let flag = AtomicU64::new(0);
    let (spans, _) = run_pinned(&[a, b], |i| {
        let me = i as u64;
        let t = Instant::now();
        for r in 0..rounds {
            let want = 2 * r + me;
            while flag.load(Ordering::Acquire) != want {
                std::hint::spin_loop();
            }
            flag.store(want + 1, Ordering::Release);
        }
        t.elapsed().as_secs_f64()
    })
    .ok()?;
    let s = spans.iter().map(|s| s.value).fold(0.0, f64::max);
    Some(s / rounds as f64 / 2.0 * 1e9)
}

/// Cache-line-aligned room for counters.
#[repr(C, align(128))]
struct Lines([AtomicU64; 32]);

/// Two threads (pinned to `cpus[0]` and `cpus[1]`, which may be the same CPU) each add 1 to
/// their own counter `increments` times; the counters are `distance_bytes` apart (8: one cache
/// line; 128: separate lines). Wall time, s.
pub(crate) fn counters(
    cpus: [usize; 2],
    distance_bytes: usize,
    increments: u64,
) -> Result<f64, String> {
    let lines = Box::new(Lines(std::array::from_fn(|_| AtomicU64::new(0))));
    let step = (distance_bytes / 8).clamp(1, 31);
    let (_, wall) = run_pinned(&cpus, |i| {
        let c = &lines.0[i * step];
        for _ in 0..increments {
            c.fetch_add(1, Ordering::Relaxed);
        }
    })?;
    let total: u64 = [0, step]
        .iter()
        .map(|&k| lines.0[k].load(Ordering::Relaxed))
        .sum();
    if total != 2 * increments {
        return Err(format!("counters reached {total}, not {}", 2 * increments));
    }
    Ok(wall)
}

/// `tasks` tasks per thread on `cpus`, each [`spin`]ning `work` units and then adding 1 to a
/// counter: one shared `Mutex<u64>` (`shared`) or the thread's own. Wall time, s.
pub(crate) fn locked_tasks(
    cpus: &[usize],
    tasks: u64,
    work: u64,
    shared: bool,
) -> Result<f64, String> {
    let counter = Mutex::new(0u64);
    let (spans, wall) = run_pinned(cpus, |_| {
        let mut own = 0u64;
        for _ in 0..tasks {
            std::hint::black_box(spin(work));
            if shared {
                *counter.lock().unwrap_or_else(|e| e.into_inner()) += 1;
            } else {
                own += 1;
            }
        }
        own
    })?;
    let total = *counter.lock().unwrap_or_else(|e| e.into_inner())
        + spans.iter().map(|s| s.value).sum::<u64>();
    if total != tasks * cpus.len() as u64 {
        return Err(format!(
            "counted {total} tasks of {}",
            tasks * cpus.len() as u64
        ));
    }
    Ok(wall)
}

/// Sweep `data` `passes` times, reading and writing every 8-byte word: work whose speed depends
/// on the buffer staying in the cache.
pub(crate) fn sweep_own_data(data: &mut [u64], passes: usize) -> u64 {
    let mut acc = 0u64;
    for _ in 0..passes {
        for x in data.iter_mut() {
            *x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            acc = acc.wrapping_add(*x >> 32);
        }
    }
    std::hint::black_box(acc)
}

/// Page size the touch ping-pong strides by.
pub(crate) const PAGE: usize = 4096;

/// Write one byte in each of the first `pages` pages of `buf`.
fn touch(buf: &mut [u8], pages: usize, round: u8) {
    for p in 0..pages {
        // SAFETY: p * PAGE < buf.len() (buffers are sized for `pages`).
        unsafe { std::ptr::write_volatile(buf.as_mut_ptr().add(p * PAGE), round) };
    }
}

/// Who the two sides of a [`touch_ping_pong`] are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Party {
    /// Two threads of this process.
    Threads,
    /// This process and a forked child.
    Processes,
}

/// A pipe ping-pong on one CPU in which each side writes `pages` pages of its own buffer before
/// passing the token: seconds per round trip over `rounds` (after `rounds / 10 + 10` untimed).
pub(crate) fn touch_ping_pong(
    party: Party,
    cpu: usize,
    pages: usize,
    rounds: usize,
) -> Result<f64, String> {
    use crate::sys::{close_fd, pipe, read_fd, write_fd};
    let warm = rounds / 10 + 10;
    let a = pipe().map_err(|e| e.to_string())?;
    let b = pipe().map_err(|e| e.to_string())?;
    let len = pages.max(1) * PAGE;
    let mut mine = vec![1u8; len];
    let mut theirs = vec![1u8; len];
    // The pong side: read a token on a, touch, answer on b; ends when a closes. A forked child
    // first closes its copies of the ends it does not use, so it sees the end of file.
    let mut pong = move |child: bool| -> i32 {
        if child {
            close_fd(a[1]);
            close_fd(b[0]);
        }
        let _ = crate::sys::pin_thread_to_cpu(cpu);
        let mut t = [0u8; 1];
        let mut r = 0u8;
        loop {
            if !matches!(read_fd(a[0], &mut t), Ok(1)) {
                return 0;
            }
            r = r.wrapping_add(1);
            touch(&mut theirs, pages, r);
            if !matches!(write_fd(b[1], &t), Ok(1)) {
                return 0;
            }
        }
    };
    let ping = |mine: &mut [u8]| -> Result<f64, String> {
        pin_current_thread(cpu).map_err(|e| e.to_string())?;
        let mut t = [7u8; 1];
        let mut go = |n: usize, mine: &mut [u8]| -> Result<(), String> {
            for r in 0..n {
                touch(mine, pages, r as u8);
                if write_fd(a[1], &t).map_err(|e| e.to_string())? != 1
                    || read_fd(b[0], &mut t).map_err(|e| e.to_string())? != 1
                {
                    return Err("the ping-pong peer went away".into());
                }
            }
            Ok(())
        };
        go(warm, mine)?;
        let s = Instant::now();
        go(rounds, mine)?;
        Ok(s.elapsed().as_secs_f64() / rounds as f64)
    };
    let result = match party {
        Party::Threads => std::thread::scope(|s| {
            let h = s.spawn(|| pong(false));
            let r = s
                .spawn(|| {
                    let r = ping(&mut mine);
                    close_fd(a[1]);
                    r
                })
                .join()
                .map_err(|_| "ping thread panicked".to_string())?;
            let _ = h.join();
            r
        }),
        Party::Processes => {
            let pid = crate::sys::fork_with(&mut || pong(true)).map_err(|e| e.to_string())?;
            let r = std::thread::scope(|s| {
                s.spawn(|| ping(&mut mine))
                    .join()
                    .map_err(|_| "ping thread panicked".to_string())?
            });
            close_fd(a[1]);
            let _ = crate::sys::wait_child(pid);
            r
        }
    };
    for fd in [a[0], b[0], b[1]] {
        close_fd(fd);
    }
    result
}

/// Follow `steps` links of a random cyclic permutation of `next`: one dependent memory load per
/// step.
pub(crate) fn pointer_chase(next: &[usize], steps: u64) -> usize {
    let mut i = 0;
    for _ in 0..steps {
        i = next[i];
    }
    std::hint::black_box(i)
}

/// A random single cycle over `n` slots (Sattolo's algorithm, seeded) for [`pointer_chase`].
pub(crate) fn chase_ring(n: usize, seed: u64) -> Vec<usize> {
    let mut g = crate::rng::XorShift::new(seed);
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (g.next() % i as u64) as usize;
        order.swap(i, j);
    }
    let mut next = vec![0; n];
    for w in 0..n {
        next[order[w]] = order[(w + 1) % n];
    }
    next
}

/// Run `tasks` tasks, task `i` costing `(i + 1) × unit` [`spin`] units, on `cpus` with each
/// thread taking one contiguous block of tasks (a static split). Wall time, s.
pub(crate) fn triangular_static(cpus: &[usize], tasks: usize, unit: u64) -> Result<f64, String> {
    let p = cpus.len();
    let (_, wall) = run_pinned(cpus, |i| {
        let (lo, hi) = (i * tasks / p, (i + 1) * tasks / p);
        (lo..hi)
            .map(|t| spin((t as u64 + 1) * unit))
            .fold(0, u64::wrapping_add)
    })?;
    Ok(wall)
}

/// The same tasks on a rayon pool of one thread per CPU of `cpus` (each pinned), scheduled by
/// work stealing (`par_iter` over single tasks). Wall time, s.
pub(crate) fn triangular_rayon(pool: &rayon::ThreadPool, tasks: usize, unit: u64) -> f64 {
    use rayon::prelude::*;
    let t = Instant::now();
    let sum = pool.install(|| {
        (0..tasks)
            .into_par_iter()
            .with_max_len(1)
            .map(|t| spin((t as u64 + 1) * unit))
            .reduce(|| 0, u64::wrapping_add)
    });
    std::hint::black_box(sum);
    t.elapsed().as_secs_f64()
}

/// A rayon pool of one thread per CPU of `cpus`, each pinned to its CPU as it starts.
pub(crate) fn pinned_pool(cpus: &[usize]) -> Result<rayon::ThreadPool, String> {
    let cpus = cpus.to_vec();
    let started = std::sync::Arc::new(AtomicUsize::new(0));
    let failed = std::sync::Arc::new(AtomicBool::new(false));
    let (s, f) = (started.clone(), failed.clone());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cpus.len())
        .start_handler(move |i| {
            if pin_current_thread(cpus[i % cpus.len()]).is_err() {
                f.store(true, Ordering::Relaxed);
            }
            s.fetch_add(1, Ordering::Relaxed);
        })
        .build()
        .map_err(|e| e.to_string())?;
    // Make every worker start (and pin) before anything is timed.
    pool.broadcast(|_| ());
    if failed.load(Ordering::Relaxed) {
        return Err("a rayon worker could not be pinned".into());
    }
    Ok(pool)
}

/// STREAM's triad on one chunk: `a[i] = b[i] + 3 c[i]` (wrapping integers: the same bytes move
/// as with doubles, and the loop vectorises).
pub(crate) fn triad(a: &mut [u64], b: &[u64], c: &[u64]) {
    for ((a, &b), &c) in a.iter_mut().zip(b).zip(c) {
        *a = b.wrapping_add(c.wrapping_mul(3));
    }
}

/// `passes` read sweeps of `data`, summing every word (wrapping): a loop the compiler
/// vectorises, so its speed is the speed of whichever cache holds `data`.
pub(crate) fn sum_words(data: &[u64], passes: usize) -> u64 {
    let mut acc = 0u64;
    for _ in 0..passes {
        acc = acc.wrapping_add(
            std::hint::black_box(data)
                .iter()
                .fold(0u64, |s, &x| s.wrapping_add(x)),
        );
    }
    std::hint::black_box(acc)
}

/// A barrier for `n` threads whose waiters spin on an atomic and never sleep, as spin-waiting
/// code does. A waiter gives up with an error after `deadline` (a scheduler that never preempted
/// the spinner would otherwise hang the lab).
#[derive(Debug)]
pub(crate) struct SpinBarrier {
    n: usize,
    count: AtomicUsize,
    generation: AtomicUsize,
}

impl SpinBarrier {
    /// A barrier for `n` threads.
    pub(crate) fn new(n: usize) -> SpinBarrier {
        SpinBarrier {
            n: n.max(1),
            count: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
        }
    }

    /// Arrive and spin until all `n` have arrived (or `deadline` passes: an error).
    pub(crate) fn wait(&self, deadline: Instant) -> Result<(), String> {
        let gen = self.generation.load(Ordering::Acquire);
        if self.count.fetch_add(1, Ordering::AcqRel) + 1 == self.n {
            self.count.store(0, Ordering::Relaxed);
            self.generation.fetch_add(1, Ordering::Release);
            return Ok(());
        }
        let mut k = 0u32;
        while self.generation.load(Ordering::Acquire) == gen {
            std::hint::spin_loop();
            k = k.wrapping_add(1);
            if k % 4096 == 0 && Instant::now() > deadline {
                return Err(
                    "a spinning barrier waited past its deadline: the spinner was never preempted"
                        .into(),
                );
            }
        }
        Ok(())
    }
}

/// Each thread on `cpus` runs `chunks` chunks of [`spin`] work of `units` each, every chunk
/// under one global `Mutex` when `locked` (a thread takes it, does the chunk, lets it go, as an
/// interpreter's global lock does at its switch interval). Wall time, s.
pub(crate) fn global_lock_chunks(
    cpus: &[usize],
    chunks: usize,
    units: u64,
    locked: bool,
) -> Result<f64, String> {
    let lock = Mutex::new(0u64);
    let (spans, wall) = run_pinned(cpus, |_| {
        let mut done = 0u64;
        for _ in 0..chunks {
            if locked {
                let mut g = lock.lock().unwrap_or_else(|e| e.into_inner());
                *g = g.wrapping_add(spin(units));
                done += 1;
            } else {
                std::hint::black_box(spin(units));
                done += 1;
            }
        }
        done
    })?;
    let total: u64 = spans.iter().map(|s| s.value).sum();
    if total != (chunks * cpus.len()) as u64 {
        return Err(format!("ran {total} chunks of {}", chunks * cpus.len()));
    }
    Ok(wall)
}

/// `tasks` tasks of [`spin`] work of `units` each, one thread started (and joined) per task from
/// the calling thread, one after another: the new threads inherit the caller's pin. Seconds.
pub(crate) fn tasks_thread_each(tasks: usize, units: u64) -> Result<f64, String> {
    let t = Instant::now();
    for _ in 0..tasks {
        std::thread::Builder::new()
            .spawn(move || spin(units))
            .map_err(|e| format!("starting a task's thread: {e}"))?
            .join()
            .map_err(|_| "a task's thread panicked".to_string())?;
    }
    Ok(t.elapsed().as_secs_f64())
}

/// The same tasks on `pool`, whose threads were started before: one `spawn` into the pool per
/// task. Seconds.
pub(crate) fn tasks_on_pool(pool: &rayon::ThreadPool, tasks: usize, units: u64) -> f64 {
    let done = AtomicUsize::new(0);
    let t = Instant::now();
    pool.scope(|s| {
        for _ in 0..tasks {
            s.spawn(|_| {
                std::hint::black_box(spin(units));
                done.fetch_add(1, Ordering::Relaxed);
            });
        }
    });
    let secs = t.elapsed().as_secs_f64();
    debug_assert_eq!(done.load(Ordering::Relaxed), tasks);
    secs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::Topology;

    #[test]
    fn counters_and_locked_tasks_count_every_increment() {
        let cpu = Topology::get().first_cpu();
        counters([cpu, cpu], 8, 10_000).unwrap();
        counters([cpu, cpu], 128, 10_000).unwrap();
        locked_tasks(&[cpu, cpu, cpu], 1000, 3, true).unwrap();
        locked_tasks(&[cpu, cpu], 1000, 3, false).unwrap();
    }

    #[test]
    fn touch_ping_pong_runs_between_threads_and_processes() {
        let cpu = Topology::get().first_cpu();
        for party in [Party::Threads, Party::Processes] {
            let s = touch_ping_pong(party, cpu, 4, 50).unwrap();
            assert!(s > 0.0);
        }
    }

    #[test]
    fn new_kernels_compute_and_count() {
        let cpu = Topology::get().first_cpu();
        let (b, c) = (vec![1u64; 100], vec![2u64; 100]);
        let mut a = vec![0u64; 100];
        triad(&mut a, &b, &c);
        assert!(a.iter().all(|&x| x == 7));
        assert_eq!(sum_words(&b, 3), 300);
        assert!(global_lock_chunks(&[cpu, cpu], 4, 10, true).unwrap() > 0.0);
        assert!(global_lock_chunks(&[cpu, cpu, cpu], 3, 10, false).unwrap() > 0.0);
        assert!(tasks_thread_each(5, 10).unwrap() > 0.0);
        let pool = pinned_pool(&[cpu]).unwrap();
        assert!(tasks_on_pool(&pool, 5, 10) > 0.0);
    }

    #[test]
    fn the_spin_barrier_releases_every_round_and_gives_up_past_its_deadline() {
        let cpus = Topology::get().core_cpus();
        let n = 3;
        let b = SpinBarrier::new(n);
        let placement: Vec<usize> = (0..n).map(|i| cpus[i % cpus.len()]).collect();
        let deadline = Instant::now() + std::time::Duration::from_secs(30);
        let rounds = AtomicUsize::new(0);
        run_pinned(&placement, |i| {
            for _ in 0..20 {
                b.wait(deadline).unwrap();
                if i == 0 {
                    rounds.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
        .unwrap();
        assert_eq!(rounds.load(Ordering::Relaxed), 20);
        // Alone among two, a waiter errs once its deadline has passed.
        let lonely = SpinBarrier::new(2);
        assert!(lonely.wait(Instant::now()).is_err());
    }

    #[test]
    fn the_chase_ring_is_one_cycle() {
        let next = chase_ring(100, 7);
        let (mut i, mut seen) = (0, 0);
        loop {
            i = next[i];
            seen += 1;
            if i == 0 {
                break;
            }
        }
        assert_eq!(seen, 100);
    }

    #[test]
    fn static_and_stealing_schedules_run_the_same_tasks() {
        let cpu = Topology::get().first_cpu();
        assert!(triangular_static(&[cpu, cpu], 10, 10).unwrap() > 0.0);
        let pool = pinned_pool(&[cpu, cpu]).unwrap();
        assert!(triangular_rayon(&pool, 10, 10) > 0.0);
    }
}
