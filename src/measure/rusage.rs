//! Context switches and CPU time from `getrusage`, the portable source on these machines
//! (hardware perf counters are absent in the VMs, software events need root).
//!
//! A run's usage is the delta of `RUSAGE_SELF` (every thread of this process) plus the delta of
//! `RUSAGE_CHILDREN` (worker processes, counted once they have been waited for).

use serde::{Deserialize, Serialize};

use crate::sys::{self, UsageScope};

/// Switch counts and CPU time over some stretch of execution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Voluntary context switches (the thread blocked: sleep, pipe read, futex wait).
    pub(crate) voluntary_switches: u64,
    /// Involuntary context switches (the scheduler preempted a runnable thread).
    pub(crate) involuntary_switches: u64,
    /// User CPU seconds.
    pub(crate) user_s: f64,
    /// System CPU seconds.
    pub(crate) sys_s: f64,
}

impl Usage {
    /// Usage so far of `scope` (the process, its waited-for children or the calling thread);
    /// zero where the platform cannot tell.
    pub(crate) fn of(scope: UsageScope) -> Usage {
        let u = sys::resource_usage(scope).unwrap_or_default();
        Usage {
            voluntary_switches: u.voluntary_switches,
            involuntary_switches: u.involuntary_switches,
            user_s: u.user_s,
            sys_s: u.sys_s,
        }
    }

    /// This process and its waited-for children, together.
    pub(crate) fn process_and_children() -> Usage {
        Usage::of(UsageScope::Process) + Usage::of(UsageScope::Children)
    }

    /// The calling thread only.
    pub(crate) fn this_thread() -> Usage {
        Usage::of(UsageScope::Thread)
    }

    /// Usage between an earlier snapshot `before` and this one.
    pub(crate) fn since(&self, before: &Usage) -> Usage {
        Usage {
            voluntary_switches: self
                .voluntary_switches
                .saturating_sub(before.voluntary_switches),
            involuntary_switches: self
                .involuntary_switches
                .saturating_sub(before.involuntary_switches),
            user_s: (self.user_s - before.user_s).max(0.0),
            sys_s: (self.sys_s - before.sys_s).max(0.0),
        }
    }
}

impl std::ops::Add for Usage {
    type Output = Usage;
    fn add(self, o: Usage) -> Usage {
        Usage {
            voluntary_switches: self.voluntary_switches + o.voluntary_switches,
            involuntary_switches: self.involuntary_switches + o.involuntary_switches,
            user_s: self.user_s + o.user_s,
            sys_s: self.sys_s + o.sys_s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleeping_counts_voluntary_switches() {
        let before = Usage::this_thread();
        for _ in 0..5 {
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        let d = Usage::this_thread().since(&before);
        assert!(d.voluntary_switches >= 5, "{d:?}");
    }

    #[test]
    fn deltas_never_go_negative() {
        let a = Usage::process_and_children();
        let b = Usage::default();
        assert_eq!(b.since(&a), Usage::default());
    }
}
