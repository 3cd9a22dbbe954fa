//! A barrier for hundreds of threads on one core: waiters sleep on a futex and wake without a
//! lock.
//!
//! `std::sync::Barrier` wakes its waiters through a condition variable, and each must then take
//! the barrier's mutex in turn; with 256 threads pinned to one core that hand-off alone cost
//! milliseconds per stage. Here the last thread to arrive bumps a generation counter and wakes
//! everyone with one `FUTEX_WAKE`; a woken thread only reads the counter.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Instant;

use crate::sys;

/// A reusable barrier for a number of threads fixed up front, which can only shrink (when some
/// of them could not be started).
#[derive(Debug)]
pub(crate) struct FutexBarrier {
    parties: AtomicUsize,
    arrived: AtomicUsize,
    generation: AtomicU32,
}

impl FutexBarrier {
    /// A barrier that releases when `parties` threads are waiting.
    pub fn new(parties: usize) -> FutexBarrier {
        FutexBarrier {
            parties: AtomicUsize::new(parties.max(1)),
            arrived: AtomicUsize::new(0),
            generation: AtomicU32::new(0),
        }
    }

    /// Count on `missing` fewer parties from now on: for threads that could not be started.
    /// Must be called by a party that has not arrived in the current round (so the round cannot
    /// complete without it), as the thread that starts the others does.
    pub(crate) fn release_missing(&self, missing: usize) {
        let left = self.parties.load(Ordering::SeqCst).saturating_sub(missing);
        self.parties.store(left.max(1), Ordering::SeqCst);
    }

    /// Arrive; `true` when this arrival completed the round (everyone is released).
    fn arrive(&self) -> (bool, u32) {
        let generation = self.generation.load(Ordering::Acquire);
        if self.arrived.fetch_add(1, Ordering::SeqCst) + 1 == self.parties.load(Ordering::SeqCst) {
            // Nobody can arrive for the next round before the generation moves on.
            self.arrived.store(0, Ordering::Relaxed);
            self.generation.fetch_add(1, Ordering::Release);
            sys::wake(&self.generation, u32::MAX);
            return (true, generation);
        }
        (false, generation)
    }

    /// Block until all parties have called `wait` for this round.
    pub fn wait(&self) {
        let (last, generation) = self.arrive();
        if last {
            return;
        }
        while self.generation.load(Ordering::Acquire) == generation {
            // Returns at once if the word no longer holds `generation`; spurious wake-ups are
            // handled by the loop.
            sys::wait_while_equal(&self.generation, generation);
        }
    }

    /// [`FutexBarrier::wait`] until `deadline` at the latest: `false` when the round was not
    /// complete by then (this party has still arrived; the others may pass later).
    pub(crate) fn wait_until(&self, deadline: Instant) -> bool {
        let (last, generation) = self.arrive();
        if last {
            return true;
        }
        while self.generation.load(Ordering::Acquire) == generation {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            sys::wait_while_equal_for(&self.generation, generation, deadline - now);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    /// Run `f` on its own thread and fail (naming `what`) if it has not finished within 20 s: a
    /// broken barrier makes the test fail, not hang. A hung thread is left behind; the test
    /// process ends with the failure.
    fn finishes(what: &str, f: impl FnOnce() + Send + 'static) {
        let (done, finished) = std::sync::mpsc::channel();
        let handle = std::thread::spawn(move || {
            f();
            let _ = done.send(());
        });
        match finished.recv_timeout(std::time::Duration::from_secs(20)) {
            Ok(()) => handle.join().expect("the test body panicked"),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                // The body panicked before sending: report its panic.
                if let Err(panic) = handle.join() {
                    std::panic::resume_unwind(panic);
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                panic!("{what}: still waiting after 20 s (a party never passed the barrier)")
            }
        }
    }

    #[test]
    fn nobody_passes_a_round_before_everyone_arrived() {
        for threads in [1, 2, 3, 7, 64] {
            finishes(&format!("{threads} threads, 20 rounds"), move || {
                let barrier = Arc::new(FutexBarrier::new(threads));
                let arrivals = Arc::new(AtomicUsize::new(0));
                let parties: Vec<_> = (0..threads)
                    .map(|_| {
                        let (barrier, arrivals) = (barrier.clone(), arrivals.clone());
                        std::thread::spawn(move || {
                            for round in 0..20 {
                                arrivals.fetch_add(1, Ordering::SeqCst);
                                barrier.wait();
                                assert!(arrivals.load(Ordering::SeqCst) >= (round + 1) * threads);
                                barrier.wait();
                            }
                        })
                    })
                    .collect();
                for p in parties {
                    p.join().expect("a party panicked");
                }
                assert_eq!(arrivals.load(Ordering::SeqCst), 20 * threads);
            });
        }
    }

    #[test]
    fn a_round_completes_without_the_parties_that_never_started() {
        // Four parties planned, two started: the starter releases the two missing ones.
        finishes("two of four parties, two released", || {
            let barrier = Arc::new(FutexBarrier::new(4));
            let other = {
                let barrier = barrier.clone();
                std::thread::spawn(move || barrier.wait())
            };
            barrier.release_missing(2);
            barrier.wait();
            other.join().expect("the other party panicked");
        });
    }

    #[test]
    fn a_timed_wait_gives_up_at_its_deadline() {
        let barrier = FutexBarrier::new(2);
        let deadline = Instant::now() + std::time::Duration::from_millis(20);
        assert!(!barrier.wait_until(deadline));
        assert!(Instant::now() >= deadline);
        let barrier = FutexBarrier::new(1);
        assert!(barrier.wait_until(Instant::now()));
    }
}
