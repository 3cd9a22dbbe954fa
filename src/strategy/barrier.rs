//! A barrier for hundreds of threads on one core: waiters sleep on a futex and wake without a
//! lock.
//!
//! `std::sync::Barrier` wakes its waiters through a condition variable, and each must then take
//! the barrier's mutex in turn; with 256 threads pinned to one core that hand-off alone cost
//! milliseconds per stage. Here the last thread to arrive bumps a generation counter and wakes
//! everyone with one `FUTEX_WAKE`; a woken thread only reads the counter.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use crate::sys;

/// A reusable barrier for a fixed number of threads.
#[derive(Debug)]
pub struct FutexBarrier {
    parties: usize,
    arrived: AtomicUsize,
    generation: AtomicU32,
}

impl FutexBarrier {
    /// A barrier that releases when `parties` threads are waiting.
    pub fn new(parties: usize) -> FutexBarrier {
        FutexBarrier {
            parties: parties.max(1),
            arrived: AtomicUsize::new(0),
            generation: AtomicU32::new(0),
        }
    }

    /// Block until all parties have called `wait` for this round.
    pub fn wait(&self) {
        let generation = self.generation.load(Ordering::Acquire);
        if self.arrived.fetch_add(1, Ordering::AcqRel) + 1 == self.parties {
            // Nobody can arrive for the next round before the generation moves on.
            self.arrived.store(0, Ordering::Relaxed);
            self.generation.fetch_add(1, Ordering::Release);
            sys::wake(&self.generation, u32::MAX);
            return;
        }
        while self.generation.load(Ordering::Acquire) == generation {
            // Returns at once if the word no longer holds `generation`; spurious wake-ups are
            // handled by the loop.
            sys::wait_while_equal(&self.generation, generation);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn nobody_passes_a_round_before_everyone_arrived() {
        for threads in [1, 2, 3, 7, 64] {
            let barrier = FutexBarrier::new(threads);
            let arrivals = AtomicUsize::new(0);
            std::thread::scope(|s| {
                for _ in 0..threads {
                    s.spawn(|| {
                        for round in 0..20 {
                            arrivals.fetch_add(1, Ordering::SeqCst);
                            barrier.wait();
                            assert!(arrivals.load(Ordering::SeqCst) >= (round + 1) * threads);
                            barrier.wait();
                        }
                    });
                }
            });
            assert_eq!(arrivals.load(Ordering::SeqCst), 20 * threads);
        }
    }
}
