//! A fixed CPU probe: the same few milliseconds of integer work, pinned to one CPU and timed.
//!
//! On shared virtual machines a CPU can run far slower for seconds at a time while `/proc/stat`
//! shows no steal (the hypervisor does not account for it). Timing the same fixed work on each
//! CPU a measurement uses, before and after it and between its sweep points, and setting each
//! time against the fastest the machine has shown, says which CPUs ran slow and by how much.
//!
//! The fastest time is remembered per CPU model in the cache directory (`probe.json` beside the
//! ceilings' `limits.json`), so a run that was slow from start to end is still seen as slow.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::sys;

/// Iterations of the probe's loop (a few milliseconds on the machines seen).
pub(crate) const PROBE_ITERATIONS: u64 = 2_000_000;

/// Repetitions of the loop per probe; the fastest counts (the least disturbed).
pub(crate) const PROBE_REPS: usize = 3;

/// A CPU whose probe took this many times the fastest, or more, ran slow.
pub(crate) const SLOW_FACTOR: f64 = 1.2;

/// The probe's work: a fixed chain of xorshift steps (no memory traffic, nothing to vectorise).
fn probe_work(iterations: u64) -> u64 {
    let mut x = std::hint::black_box(0x9E37_79B9_7F4A_7C15u64);
    for _ in 0..iterations {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    std::hint::black_box(x)
}

/// Time the probe on `cpu` (a thread pinned there, the fastest of [`PROBE_REPS`]), ns; `None`
/// when the thread cannot be pinned.
pub(crate) fn probe_cpu(cpu: usize) -> Option<f64> {
    std::thread::scope(|s| {
        s.spawn(|| {
            sys::pin_thread_to_cpu(cpu).ok()?;
            (0..PROBE_REPS)
                .map(|_| {
                    let t0 = sys::monotonic_ns();
                    probe_work(PROBE_ITERATIONS);
                    (sys::monotonic_ns() - t0) as f64
                })
                .min_by(f64::total_cmp)
        })
        .join()
        .ok()
        .flatten()
    })
}

/// One probe of every CPU in a list, at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeRound {
    /// (CPU, probe time in ns), for the CPUs that could be probed.
    pub(crate) times_ns: Vec<(usize, f64)>,
}

impl ProbeRound {
    /// Probe each of `cpus` in turn.
    pub(crate) fn take(cpus: &[usize]) -> ProbeRound {
        ProbeRound {
            times_ns: cpus
                .iter()
                .filter_map(|&c| probe_cpu(c).map(|t| (c, t)))
                .collect(),
        }
    }

    /// The probe time of `cpu` in this round.
    pub(crate) fn time_of(&self, cpu: usize) -> Option<f64> {
        self.times_ns
            .iter()
            .find(|(c, _)| *c == cpu)
            .map(|(_, t)| *t)
    }

    /// The fastest probe of the round.
    pub(crate) fn fastest(&self) -> Option<f64> {
        self.times_ns.iter().map(|(_, t)| *t).min_by(f64::total_cmp)
    }
}

/// A CPU that ran slow: its probe against the fastest the machine has shown.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SlowCpu {
    /// The CPU.
    pub(crate) cpu: usize,
    /// Its slowest probe time over the fastest: 1.8 = took 1.8× as long.
    pub(crate) slowdown: f64,
}

/// The CPUs among `cpus` whose probe in any of `rounds` took [`SLOW_FACTOR`] × `best_ns` or
/// more, each once with its worst slowdown, in CPU order.
pub fn slow_cpus(cpus: &[usize], rounds: &[&ProbeRound], best_ns: f64) -> Vec<SlowCpu> {
    if best_ns <= 0.0 {
        return Vec::new();
    }
    let mut sorted = cpus.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    sorted
        .into_iter()
        .filter_map(|cpu| {
            let worst = rounds
                .iter()
                .filter_map(|r| r.time_of(cpu))
                .max_by(f64::total_cmp)?;
            let slowdown = worst / best_ns;
            (slowdown >= SLOW_FACTOR).then_some(SlowCpu { cpu, slowdown })
        })
        .collect()
}

/// The probe's verdict on a whole measurement, kept in the machine block of its report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CpuProbe {
    /// Iterations of the probe's loop.
    pub(crate) iterations: u64,
    /// The fastest probe this machine has shown (this measurement's or a remembered one), ns.
    pub(crate) best_ns: f64,
    /// Rounds taken (before, between sweep points, after).
    pub rounds: usize,
    /// CPUs whose probe took [`SLOW_FACTOR`] × `best_ns` or more in some round.
    pub slow_cpus: Vec<SlowCpu>,
}

/// `CPU 1 ran 1.80x slower` phrases joined by commas.
pub(crate) fn describe_slow(slow: &[SlowCpu]) -> String {
    slow.iter()
        .map(|s| format!("CPU {} ran {:.2}x slower", s.cpu, s.slowdown))
        .collect::<Vec<_>>()
        .join(", ")
}

/// concbench's cache directory from given variables: `$XDG_CACHE_HOME/concbench` (absolute
/// paths only), else `$HOME/.cache/concbench`; empty values count as unset (the XDG rule).
pub(crate) fn cache_dir_from(
    xdg_cache_home: Option<PathBuf>,
    home: Option<PathBuf>,
) -> Option<PathBuf> {
    let base = match xdg_cache_home.filter(|p| p.is_absolute()) {
        Some(p) => p,
        None => home.filter(|p| !p.as_os_str().is_empty())?.join(".cache"),
    };
    Some(base.join("concbench"))
}

/// [`cache_dir_from`] this process's environment.
pub(crate) fn cache_dir() -> Option<PathBuf> {
    cache_dir_from(
        std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from),
        std::env::var_os("HOME").map(PathBuf::from),
    )
}

#[derive(Debug, Serialize, Deserialize)]
struct BestProbe {
    cpu_model: String,
    iterations: u64,
    best_ns: f64,
}

/// The fastest probe this CPU model has shown, from `path`.
pub(crate) fn load_best(path: &Path, cpu_model: &str) -> Option<f64> {
    let b: BestProbe = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    (b.cpu_model == cpu_model && b.iterations == PROBE_ITERATIONS && b.best_ns > 0.0)
        .then_some(b.best_ns)
}

/// The fastest of `seen_ns` and what `path` remembers for `cpu_model`; remembers it when it is
/// new (a cache that cannot be written is no error: the probe still compares within the run).
pub(crate) fn best_probe(path: Option<&Path>, cpu_model: &str, seen_ns: f64) -> f64 {
    let cached = path.and_then(|p| load_best(p, cpu_model));
    match cached {
        Some(c) if c <= seen_ns => c,
        _ => {
            if let Some(p) = path {
                let b = BestProbe {
                    cpu_model: cpu_model.to_string(),
                    iterations: PROBE_ITERATIONS,
                    best_ns: seen_ns,
                };
                if let Some(dir) = p.parent() {
                    let _ = std::fs::create_dir_all(dir);
                }
                if let Ok(text) = serde_json::to_string_pretty(&b) {
                    let _ = crate::output::write_atomic(p, text.as_bytes());
                }
            }
            seen_ns
        }
    }
}

/// Where the fastest probe is remembered: `probe.json` in [`cache_dir`].
pub(crate) fn best_probe_path() -> Option<PathBuf> {
    cache_dir().map(|d| d.join("probe.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_cpus_are_named_with_their_worst_slowdown() {
        let a = ProbeRound {
            times_ns: vec![(0, 1000.0), (1, 1900.0)],
        };
        let b = ProbeRound {
            times_ns: vec![(0, 1100.0), (1, 1500.0)],
        };
        let slow = slow_cpus(&[1, 0, 1], &[&a, &b], 1000.0);
        assert_eq!(
            slow,
            vec![SlowCpu {
                cpu: 1,
                slowdown: 1.9
            }]
        );
        assert_eq!(describe_slow(&slow), "CPU 1 ran 1.90x slower");
        assert!(
            slow_cpus(&[0], &[&a, &b], 1000.0).is_empty(),
            "1.1x is noise"
        );
        assert!(slow_cpus(&[2], &[&a], 1000.0).is_empty(), "not probed");
    }

    #[test]
    fn the_best_probe_is_remembered_per_cpu_model() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x/probe.json");
        assert_eq!(best_probe(Some(&path), "M", 2000.0), 2000.0);
        assert_eq!(
            best_probe(Some(&path), "M", 3000.0),
            2000.0,
            "slower: the best stays"
        );
        assert_eq!(best_probe(Some(&path), "M", 1500.0), 1500.0);
        assert_eq!(load_best(&path, "M"), Some(1500.0));
        assert_eq!(load_best(&path, "Other"), None);
        assert_eq!(best_probe(None, "M", 4000.0), 4000.0);
    }

    #[test]
    fn a_probe_runs_on_an_allowed_cpu() {
        let cpu = sys::allowed_cpus().unwrap()[0];
        let r = ProbeRound::take(&[cpu]);
        assert!(r.time_of(cpu).unwrap() > 0.0);
    }

    #[test]
    fn cache_dir_prefers_xdg() {
        let p = cache_dir_from(Some("/x/cache".into()), Some("/home/u".into())).unwrap();
        assert_eq!(p, PathBuf::from("/x/cache/concbench"));
        let p = cache_dir_from(Some("".into()), Some("/home/u".into())).unwrap();
        assert_eq!(p, PathBuf::from("/home/u/.cache/concbench"));
        assert_eq!(cache_dir_from(None, None), None);
    }
}
