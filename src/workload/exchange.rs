//! Parts that share no memory: what each part reads and writes, and the collectives a part uses
//! to exchange data with the others (the `distributed` strategy).
//!
//! Under every other strategy the parts see one region. Under `distributed` each part is an MPI
//! rank with a region of its own, and rank 0 alone holds the initialised input. The strategy
//! moves bytes between ranks as the workload's [`PartData`] says (read off its
//! [`super::Workload::access`]: [`super::Access::part_data`]): before a stage, a part receives
//! the bytes it reads that it does not hold, from the rank that wrote them last (a range every
//! other part reads from rank 0 is broadcast); after the last stage, rank 0 gathers every byte
//! another rank wrote last, and verifies. A stage whose data flow depends on the data itself
//! (merge sort's merge: which keys a part merges depends on their values) is declared
//! [`super::Access::exchanging`] ([`PartData::exchanges`]), and moves its data itself through
//! [`Collectives`] in [`super::Workload::run_part_exchanging`].
//!
//! `LocalRanks` (tests only) runs the ranks as threads of one process, with the same data
//! movement and no MPI: the tests of every workload's distributed form use it.

use std::ops::Range;
#[cfg(test)]
use std::sync::{Arc, Barrier, Mutex};

/// What one part of one stage reads and writes, as byte ranges of the workload's region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartData {
    /// Bytes the part reads: under `distributed` it receives those it does not hold before the
    /// stage starts.
    pub(crate) reads: Vec<Range<usize>>,
    /// Bytes the part writes that a later stage or the verification reads: afterwards this
    /// part's rank holds the only valid copy. Scratch it also writes is left out.
    pub(crate) writes: Vec<Range<usize>>,
    /// The part moves data itself, through [`Collectives`]
    /// ([`super::Workload::run_part_exchanging`]), and says what it wrote when it is done;
    /// `writes` is then ignored.
    pub(crate) exchanges: bool,
}

impl PartData {
    /// A part that reads and writes nothing yet; add ranges with [`PartData::read`] and
    /// [`PartData::write`]: `PartData::new().read(a).read(b).write(c)`.
    pub(crate) fn new() -> PartData {
        PartData::default()
    }

    /// Also reads `range`.
    pub(crate) fn read(mut self, range: Range<usize>) -> PartData {
        self.reads.push(range);
        self
    }

    /// Also writes `range`.
    pub(crate) fn write(mut self, range: Range<usize>) -> PartData {
        self.writes.push(range);
        self
    }

    /// A part that moves its data itself through [`Collectives`]
    /// ([`super::Workload::run_part_exchanging`]).
    pub(crate) fn exchanging() -> PartData {
        PartData {
            exchanges: true,
            ..PartData::default()
        }
    }
}

/// The collective operations of one group of ranks (an MPI communicator): what a part that
/// `PartData::exchanges` uses, and what the `distributed` strategy moves data with. Every rank
/// of the group calls the same operations in the same order.
pub trait Collectives {
    /// This rank, `0..ranks()`.
    fn rank(&self) -> usize;

    /// Ranks in the group.
    fn ranks(&self) -> usize;

    /// `send[r]` goes to rank `r` and what rank `r` sends here lands in `recv[r]`; every rank
    /// knows the sizes (MPI_Alltoallv). `send[rank()]` is copied to `recv[rank()]`.
    fn all_to_all_into(&self, send: &[&[u8]], recv: &mut [&mut [u8]]);

    /// Rank `root`'s `buf` is copied into `buf` on every other rank; `buf` has the same length
    /// on every rank (MPI_Bcast).
    fn broadcast(&self, root: usize, buf: &mut [u8]);

    /// Wait until every rank has called it (MPI_Barrier).
    fn barrier(&self) {
        let n = self.ranks();
        let empty: Vec<&[u8]> = vec![&[]; n];
        let mut none: Vec<&mut [u8]> = (0..n).map(|_| &mut [][..]).collect();
        self.all_to_all_into(&empty, &mut none);
    }

    /// `send[r]` goes to rank `r`; returns what each rank sent here, in rank order. Sizes need
    /// not be known: they are exchanged first.
    fn all_to_all(&self, send: &[&[u8]]) -> Vec<Vec<u8>> {
        let n = self.ranks();
        let counts: Vec<[u8; 8]> = send
            .iter()
            .map(|s| (s.len() as u64).to_le_bytes())
            .collect();
        let mut got = vec![[0u8; 8]; n];
        {
            let sends: Vec<&[u8]> = counts.iter().map(|c| &c[..]).collect();
            let mut recvs: Vec<&mut [u8]> = got.iter_mut().map(|c| &mut c[..]).collect();
            self.all_to_all_into(&sends, &mut recvs);
        }
        let mut out: Vec<Vec<u8>> = got
            .iter()
            .map(|c| vec![0u8; u64::from_le_bytes(*c) as usize])
            .collect();
        let mut recvs: Vec<&mut [u8]> = out.iter_mut().map(|v| &mut v[..]).collect();
        self.all_to_all_into(send, &mut recvs);
        out
    }

    /// Every rank gives `mine`; every rank gets every rank's, in rank order (MPI_Allgatherv).
    fn all_gather(&self, mine: &[u8]) -> Vec<Vec<u8>> {
        let sends = vec![mine; self.ranks()];
        self.all_to_all(&sends)
    }
}

/// `u64`s as the bytes that collectives move (little-endian on every supported platform).
pub(crate) fn u64s_as_bytes(words: &[u64]) -> &[u8] {
    // SAFETY: u64 has no padding and any byte pattern of u8 is valid; the length is exact.
    unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), std::mem::size_of_val(words)) }
}

/// A buffer of `u64`s as bytes a collective can receive into.
pub(crate) fn u64s_as_bytes_mut(words: &mut [u64]) -> &mut [u8] {
    // SAFETY: as `u64s_as_bytes`; every byte pattern is a valid u64.
    unsafe {
        std::slice::from_raw_parts_mut(
            words.as_mut_ptr().cast::<u8>(),
            std::mem::size_of_val(words),
        )
    }
}

/// Bytes received from a collective as `u64`s (the length must be a multiple of 8).
pub(crate) fn bytes_to_u64s(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect()
}

#[cfg(test)]
/// Ranks as threads of one process: [`Collectives`] without MPI, for the tests of the
/// distributed forms. [`LocalRanks::run`] starts one thread per rank;
/// each gets its own `LocalRank`.
pub(crate) struct LocalRanks;

#[cfg(test)]
/// One rank of [`LocalRanks::run`].
pub(crate) struct LocalRank {
    rank: usize,
    shared: Arc<LocalShared>,
}

#[cfg(test)]
struct LocalShared {
    ranks: usize,
    barrier: Barrier,
    /// `mailbox[to][from]`: what `from` posted for `to` in the current operation.
    mailbox: Mutex<Vec<Vec<Vec<u8>>>>,
}

#[cfg(test)]
impl LocalRanks {
    /// Run `body` on `ranks` threads, one per rank, and return their results in rank order.
    /// A panic in any rank is resumed on the caller (the other ranks may then stay blocked in a
    /// collective: tests only).
    pub(crate) fn run<T: Send>(ranks: usize, body: impl Fn(&LocalRank) -> T + Sync) -> Vec<T> {
        assert!(ranks >= 1, "at least one rank");
        let shared = Arc::new(LocalShared {
            ranks,
            barrier: Barrier::new(ranks),
            mailbox: Mutex::new(vec![vec![Vec::new(); ranks]; ranks]),
        });
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..ranks)
                .map(|rank| {
                    let me = LocalRank {
                        rank,
                        shared: shared.clone(),
                    };
                    let body = &body;
                    s.spawn(move || body(&me))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    }
}

#[cfg(test)]
impl Collectives for LocalRank {
    fn rank(&self) -> usize {
        self.rank
    }

    fn ranks(&self) -> usize {
        self.shared.ranks
    }

    fn all_to_all_into(&self, send: &[&[u8]], recv: &mut [&mut [u8]]) {
        let n = self.shared.ranks;
        assert_eq!((send.len(), recv.len()), (n, n), "one buffer per rank");
        {
            let mut boxes = self.shared.mailbox.lock().expect("mailbox");
            for (to, data) in send.iter().enumerate() {
                boxes[to][self.rank] = data.to_vec();
            }
        }
        self.shared.barrier.wait();
        {
            let boxes = self.shared.mailbox.lock().expect("mailbox");
            for (from, buf) in recv.iter_mut().enumerate() {
                let got = &boxes[self.rank][from];
                assert_eq!(
                    got.len(),
                    buf.len(),
                    "rank {from} sent {} bytes to rank {}, which expected {}",
                    got.len(),
                    self.rank,
                    buf.len()
                );
                buf.copy_from_slice(got);
            }
        }
        // Nobody posts the next operation before everyone has read this one.
        self.shared.barrier.wait();
    }

    fn broadcast(&self, root: usize, buf: &mut [u8]) {
        let n = self.shared.ranks;
        let empty: &[u8] = &[];
        let sends: Vec<&[u8]> = (0..n)
            .map(|_| if self.rank == root { &*buf } else { empty })
            .collect();
        let sends: Vec<Vec<u8>> = sends.iter().map(|s| s.to_vec()).collect();
        let sends: Vec<&[u8]> = sends.iter().map(|s| &s[..]).collect();
        let got = self.all_to_all(&sends);
        if self.rank != root {
            buf.copy_from_slice(&got[root]);
        }
    }
}

/// Sorted, disjoint byte ranges: what one rank holds a valid copy of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RangeSet(Vec<Range<usize>>);

impl RangeSet {
    /// The empty set.
    pub fn new() -> RangeSet {
        RangeSet(Vec::new())
    }

    /// The ranges, sorted and disjoint (adjacent ones merged).
    pub fn ranges(&self) -> &[Range<usize>] {
        &self.0
    }

    /// Add `r`.
    pub fn insert(&mut self, r: Range<usize>) {
        if r.is_empty() {
            return;
        }
        let mut out = Vec::with_capacity(self.0.len() + 1);
        let mut new = r;
        for x in self.0.drain(..) {
            if x.end < new.start || new.end < x.start {
                out.push(x);
            } else {
                new = new.start.min(x.start)..new.end.max(x.end);
            }
        }
        out.push(new);
        out.sort_by_key(|x| x.start);
        self.0 = out;
    }

    /// Remove `r`.
    pub fn remove(&mut self, r: &Range<usize>) {
        if r.is_empty() {
            return;
        }
        let mut out = Vec::with_capacity(self.0.len() + 1);
        for x in self.0.drain(..) {
            if x.end <= r.start || r.end <= x.start {
                out.push(x);
                continue;
            }
            if x.start < r.start {
                out.push(x.start..r.start);
            }
            if r.end < x.end {
                out.push(r.end..x.end);
            }
        }
        self.0 = out;
    }

    /// Whether `offset` is in the set.
    #[cfg(test)]
    fn contains(&self, offset: usize) -> bool {
        self.0.iter().any(|x| x.contains(&offset))
    }

    /// The parts of `r` not in the set, in order.
    pub fn missing(&self, r: &Range<usize>) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut at = r.start;
        for x in &self.0 {
            if x.end <= at || x.start >= r.end {
                continue;
            }
            if x.start > at {
                out.push(at..x.start);
            }
            at = at.max(x.end);
        }
        if at < r.end {
            out.push(at..r.end);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_sets_add_remove_and_find_gaps() {
        let mut s = RangeSet::new();
        s.insert(10..20);
        s.insert(30..40);
        s.insert(20..25);
        assert_eq!(s.ranges(), &[10..25, 30..40]);
        assert_eq!(s.missing(&(0..50)), vec![0..10, 25..30, 40..50]);
        assert_eq!(s.missing(&(12..22)), vec![]);
        s.remove(&(15..35));
        assert_eq!(s.ranges(), &[10..15, 35..40]);
        assert!(s.contains(14) && !s.contains(15) && s.contains(35));
        s.insert(0..100);
        assert_eq!(s.ranges(), &[0..100]);
        s.remove(&(0..100));
        assert!(s.ranges().is_empty());
    }

    #[test]
    fn local_ranks_exchange_and_broadcast() {
        for n in [1, 2, 3, 7] {
            let got = LocalRanks::run(n, |c| {
                let me = c.rank();
                // Rank r sends r+1 copies of byte (10 * r + to) to each rank.
                let sends: Vec<Vec<u8>> = (0..n)
                    .map(|to| vec![(10 * me + to) as u8; me + 1])
                    .collect();
                let refs: Vec<&[u8]> = sends.iter().map(|s| &s[..]).collect();
                let got = c.all_to_all(&refs);
                let mut b = if me == n - 1 {
                    vec![7u8; 3]
                } else {
                    vec![0u8; 3]
                };
                c.broadcast(n - 1, &mut b);
                let all = c.all_gather(&[me as u8]);
                (got, b, all)
            });
            for (me, (got, b, all)) in got.into_iter().enumerate() {
                for (from, g) in got.iter().enumerate() {
                    assert_eq!(g, &vec![(10 * from + me) as u8; from + 1]);
                }
                assert_eq!(b, vec![7u8; 3]);
                assert_eq!(all, (0..n).map(|r| vec![r as u8]).collect::<Vec<_>>());
            }
        }
    }
}
