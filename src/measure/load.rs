//! How much of the CPUs other programs took while concbench measured: the difference of two
//! `/proc/stat` readings over the interval, not the load average (which still counts jobs that
//! ended a minute ago).
//!
//! Others' share = (ticks the CPUs were busy − CPU time of this process and its waited-for
//! children + ticks stolen by the hypervisor) / all ticks of those CPUs in the interval. It says
//! nothing when the hypervisor slows a CPU without accounting steal; the CPU probe
//! ([`super::probe`]) catches that.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::rusage::Usage;
use crate::sys::{self, CpuTimes};

/// Above this share of the CPUs taken by others, figures move: `run`, `lab` and `timeline` warn,
/// and `limits` does not cache what it measured.
pub(crate) const BUSY_SHARE: f64 = 0.05;

/// What other programs took of the CPUs during a measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OthersLoad {
    /// The CPUs looked at (those the measurement could use).
    pub(crate) cpus: Vec<usize>,
    /// Length of the interval, seconds.
    pub(crate) interval_s: f64,
    /// Share of those CPUs' time taken by others: busy time not spent by this process and its
    /// children, plus steal, over all their time (0–1).
    pub(crate) others_share: f64,
    /// The part of `others_share` the hypervisor reported as steal.
    pub(crate) steal_share: f64,
}

impl OthersLoad {
    /// Whether others took more than [`BUSY_SHARE`].
    pub(crate) fn busy(&self) -> bool {
        self.others_share > BUSY_SHARE
    }

    /// One line for stderr when the machine was busy; `None` otherwise.
    pub(crate) fn warning(&self, what: &str) -> Option<String> {
        self.busy().then(|| {
            format!(
                "concbench: warning: other programs took {:.0}% of the CPUs ({:.0}% stolen by the hypervisor) during {what}; the figures are slower and noisier than this machine can do",
                self.others_share * 100.0,
                self.steal_share * 100.0
            )
        })
    }
}

/// CPU time, ns, spent on this host for this invocation by processes that are neither this one
/// nor its children: the other MPI ranks of a distributed run on the same host.
static OURS_ELSEWHERE_NS: AtomicU64 = AtomicU64::new(0);

/// Count `cpu_s` seconds that processes working for this invocation (not its children: the
/// other ranks of an MPI job on this host) spent, so that the busy-machine check does not take
/// them for other programs.
pub(crate) fn count_as_ours(cpu_s: f64) {
    OURS_ELSEWHERE_NS.fetch_add((cpu_s.max(0.0) * 1e9) as u64, Ordering::Relaxed);
}

/// Others' load from two readings of the same CPUs: `own_s` CPU seconds were ours, a tick is
/// `1 / hz` s. CPUs missing from either reading are left out.
pub fn others_load(
    before: &[CpuTimes],
    after: &[CpuTimes],
    cpus: &[usize],
    own_s: f64,
    hz: u64,
    interval_s: f64,
) -> OthersLoad {
    let (mut busy, mut steal, mut total) = (0u64, 0u64, 0u64);
    for &c in cpus {
        let b = before.iter().find(|t| t.cpu == c);
        let a = after.iter().find(|t| t.cpu == c);
        if let (Some(b), Some(a)) = (b, a) {
            busy += a.busy().saturating_sub(b.busy());
            steal += a.steal.saturating_sub(b.steal);
            total += a.total().saturating_sub(b.total());
        }
    }
    let own_ticks = own_s * hz as f64;
    let (others_share, steal_share) = if total == 0 {
        (0.0, 0.0)
    } else {
        let others = (busy as f64 - own_ticks).max(0.0) + steal as f64;
        (
            (others / total as f64).clamp(0.0, 1.0),
            (steal as f64 / total as f64).clamp(0.0, 1.0),
        )
    };
    OthersLoad {
        cpus: cpus.to_vec(),
        interval_s,
        others_share,
        steal_share,
    }
}

/// A started measurement of others' load: [`LoadMeter::start`] before, [`LoadMeter::finish`]
/// after.
#[derive(Debug, Clone)]
pub(crate) struct LoadMeter {
    cpus: Vec<usize>,
    before: Vec<CpuTimes>,
    own_before: Usage,
    ours_elsewhere_before: u64,
    hz: u64,
    started: std::time::Instant,
}

impl LoadMeter {
    /// Start watching `cpus`; `None` where the platform has no per-CPU times.
    pub fn start(cpus: &[usize]) -> Option<LoadMeter> {
        Some(LoadMeter {
            cpus: cpus.to_vec(),
            hz: sys::clock_ticks_per_second()?,
            own_before: Usage::process_and_children(),
            ours_elsewhere_before: OURS_ELSEWHERE_NS.load(Ordering::Relaxed),
            before: sys::cpu_times()?,
            started: std::time::Instant::now(),
        })
    }

    /// Others' load since [`LoadMeter::start`].
    pub fn finish(&self) -> Option<OthersLoad> {
        let after = sys::cpu_times()?;
        let own = Usage::process_and_children().since(&self.own_before);
        let elsewhere = OURS_ELSEWHERE_NS
            .load(Ordering::Relaxed)
            .saturating_sub(self.ours_elsewhere_before) as f64
            * 1e-9;
        Some(others_load(
            &self.before,
            &after,
            &self.cpus,
            own.user_s + own.sys_s + elsewhere,
            self.hz,
            self.started.elapsed().as_secs_f64(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(cpu: usize, user: u64, idle: u64, steal: u64) -> CpuTimes {
        CpuTimes {
            cpu,
            user,
            idle,
            steal,
            ..CpuTimes::default()
        }
    }

    #[test]
    fn others_are_busy_time_not_ours_plus_steal() {
        let before = [t(0, 0, 0, 0), t(1, 0, 0, 0)];
        // 2 CPUs × 100 ticks: 120 busy, of which our 1.0 s = 100 ticks; 10 stolen.
        let after = [t(0, 70, 25, 5), t(1, 50, 45, 5)];
        let l = others_load(&before, &after, &[0, 1], 1.0, 100, 1.0);
        assert!((l.others_share - 0.15).abs() < 1e-12, "{l:?}");
        assert!((l.steal_share - 0.05).abs() < 1e-12);
        assert!(l.busy());
        assert!(l.warning("the run").unwrap().contains("15% of the CPUs"));
        // Only our own work: nobody else.
        let after = [t(0, 50, 50, 0), t(1, 50, 50, 0)];
        let l = others_load(&before, &after, &[0, 1], 1.0, 100, 1.0);
        assert_eq!(l.others_share, 0.0);
        assert_eq!(l.warning("the run"), None);
        // CPUs not asked for are ignored; more own time than ticks never goes negative.
        let l = others_load(&before, &after, &[1], 5.0, 100, 1.0);
        assert_eq!((l.cpus.clone(), l.others_share), (vec![1], 0.0));
    }

    #[test]
    fn a_meter_reads_this_machine() {
        let m = LoadMeter::start(&[0]).expect("/proc/stat readable");
        let l = m.finish().unwrap();
        assert!((0.0..=1.0).contains(&l.others_share));
    }
}
