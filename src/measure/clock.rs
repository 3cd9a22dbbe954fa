//! One monotonic clock for every thread and process: `CLOCK_MONOTONIC` through the vDSO.
//!
//! Worker processes stamp part start and end times with it, and the parent compares them with its
//! own readings; `Instant` would do within one process but its values cannot cross a pipe.

/// Nanoseconds on `CLOCK_MONOTONIC` (shared by all processes of the machine).
#[inline]
pub(crate) fn monotonic_ns() -> u64 {
    crate::sys::monotonic_ns()
}

/// Seconds between two `monotonic_ns` readings.
#[inline]
pub(crate) fn seconds_between(start_ns: u64, end_ns: u64) -> f64 {
    end_ns.saturating_sub(start_ns) as f64 / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_moves_forward() {
        let a = monotonic_ns();
        std::thread::sleep(std::time::Duration::from_millis(1));
        let b = monotonic_ns();
        assert!(b > a);
        assert!(seconds_between(a, b) > 0.0);
        assert_eq!(seconds_between(b, a), 0.0);
    }
}
