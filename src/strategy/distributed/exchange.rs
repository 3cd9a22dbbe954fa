//! The byte exchange of the `distributed` strategy: which rank holds a valid copy of which byte
//! ([`Holdings`], kept identically on every rank), the transfers a stage's reads need
//! ([`move_bytes`]) and the collectives that count every byte and nanosecond they move
//! ([`Counted`]).

use std::cell::Cell;
use std::ops::Range;

use crate::measure::clock::monotonic_ns;
use crate::shm::SharedMem;
use crate::workload::exchange::RangeSet;
use crate::workload::Collectives;

/// Largest piece moved by one collective call: keeps every count within a C int.
const MAX_PIECE: usize = 1 << 28;

/// [`Collectives`] that count the bytes this rank sends and receives and the time it spends in
/// collectives.
pub(super) struct Counted<'c> {
    pub(super) inner: &'c dyn Collectives,
    pub(super) sent: Cell<u64>,
    pub(super) received: Cell<u64>,
    pub(super) busy_ns: Cell<u64>,
}

impl Counted<'_> {
    fn timed<R>(&self, f: impl FnOnce() -> R) -> R {
        let t = monotonic_ns();
        let r = f();
        self.busy_ns
            .set(self.busy_ns.get() + monotonic_ns().saturating_sub(t));
        r
    }
}

impl Collectives for Counted<'_> {
    fn rank(&self) -> usize {
        self.inner.rank()
    }
    fn ranks(&self) -> usize {
        self.inner.ranks()
    }
    fn all_to_all_into(&self, send: &[&[u8]], recv: &mut [&mut [u8]]) {
        let me = self.rank();
        let out: usize = send
            .iter()
            .enumerate()
            .filter(|(r, _)| *r != me)
            .map(|(_, s)| s.len())
            .sum();
        let inn: usize = recv
            .iter()
            .enumerate()
            .filter(|(r, _)| *r != me)
            .map(|(_, s)| s.len())
            .sum();
        self.sent.set(self.sent.get() + out as u64);
        self.received.set(self.received.get() + inn as u64);
        self.timed(|| self.inner.all_to_all_into(send, recv));
    }
    fn broadcast(&self, root: usize, buf: &mut [u8]) {
        if self.rank() == root {
            self.sent
                .set(self.sent.get() + (buf.len() * (self.ranks() - 1)) as u64);
        } else {
            self.received.set(self.received.get() + buf.len() as u64);
        }
        self.timed(|| self.inner.broadcast(root, buf));
    }
    fn barrier(&self) {
        self.timed(|| self.inner.barrier());
    }
}

/// Who wrote each byte last and who holds a valid copy of it, kept identically on every rank.
pub(super) struct Holdings {
    /// `(range, rank)`: the rank whose copy of the range is the current one. Covers the region.
    owner: Vec<(Range<usize>, usize)>,
    /// Valid copies per rank (the owner's included).
    copies: Vec<RangeSet>,
}

impl Holdings {
    pub(super) fn new(len: usize, ranks: usize) -> Holdings {
        let mut copies = vec![RangeSet::new(); ranks];
        copies[0].insert(0..len);
        Holdings {
            owner: vec![(0..len, 0)],
            copies,
        }
    }

    /// `r` cut where its owner changes.
    pub(super) fn owners_of(&self, r: &Range<usize>) -> Vec<(Range<usize>, usize)> {
        self.owner
            .iter()
            .filter_map(|(o, rank)| {
                let lo = o.start.max(r.start);
                let hi = o.end.min(r.end);
                (lo < hi).then_some((lo..hi, *rank))
            })
            .collect()
    }

    pub(super) fn wrote(&mut self, rank: usize, r: &Range<usize>) {
        if r.is_empty() {
            return;
        }
        let mut owner = Vec::with_capacity(self.owner.len() + 2);
        for (o, who) in self.owner.drain(..) {
            if o.end <= r.start || r.end <= o.start {
                owner.push((o, who));
                continue;
            }
            if o.start < r.start {
                owner.push((o.start..r.start, who));
            }
            if r.end < o.end {
                owner.push((r.end..o.end, who));
            }
        }
        owner.push((r.clone(), rank));
        owner.sort_by_key(|(o, _)| o.start);
        self.owner = owner;
        for (q, c) in self.copies.iter_mut().enumerate() {
            if q == rank {
                c.insert(r.clone());
            } else {
                c.remove(r);
            }
        }
    }

    /// The transfers that give each rank `needs[rank]`: `(from, to, range)`, in a fixed order.
    pub(super) fn transfers(
        &self,
        needs: &[Vec<Range<usize>>],
    ) -> Vec<(usize, usize, Range<usize>)> {
        let mut out = Vec::new();
        for (to, ranges) in needs.iter().enumerate() {
            // Overlapping reads of one part are received once.
            let mut wanted = RangeSet::new();
            for r in ranges {
                wanted.insert(r.clone());
            }
            for r in wanted.ranges() {
                for gap in self.copies[to].missing(r) {
                    for (piece, from) in self.owners_of(&gap) {
                        let mut at = piece.start;
                        while at < piece.end {
                            let end = (at + MAX_PIECE).min(piece.end);
                            out.push((from, to, at..end));
                            at = end;
                        }
                    }
                }
            }
        }
        out
    }

    pub(super) fn received(&mut self, to: usize, r: &Range<usize>) {
        self.copies[to].insert(r.clone());
    }
}

/// Move `transfers` between the ranks of `comm`, in place in `mem`: ranges every other rank
/// receives from rank 0 by broadcast, the rest by rounds of all-to-all (each round moves at most
/// one range between any two ranks).
pub(super) fn move_bytes(
    mem: &SharedMem,
    comm: &dyn Collectives,
    holdings: &mut Holdings,
    mut transfers: Vec<(usize, usize, Range<usize>)>,
) {
    let n = comm.ranks();
    let me = comm.rank();
    if n > 2 {
        // A range that every rank other than 0 receives from rank 0: one broadcast.
        let mut candidates: Vec<Range<usize>> = transfers
            .iter()
            .filter(|(from, to, _)| *from == 0 && *to == 1)
            .map(|(_, _, r)| r.clone())
            .collect();
        candidates.retain(|r| {
            (2..n).all(|to| {
                transfers
                    .iter()
                    .any(|(f, t, x)| *f == 0 && *t == to && x == r)
            })
        });
        for r in candidates {
            // SAFETY: every rank reads or writes this range only here, for the broadcast.
            let buf = unsafe { mem.slice_mut::<u8>(r.start, r.len()) };
            comm.broadcast(0, buf);
            transfers.retain(|(f, _, x)| !(*f == 0 && *x == r));
            for to in 1..n {
                holdings.received(to, &r);
            }
        }
    }
    // Rounds: the k-th transfer of every (from, to) pair.
    let mut per_pair: Vec<Vec<Vec<Range<usize>>>> = vec![vec![Vec::new(); n]; n];
    for (from, to, r) in &transfers {
        per_pair[*from][*to].push(r.clone());
    }
    let rounds = per_pair.iter().flatten().map(Vec::len).max().unwrap_or(0);
    for k in 0..rounds {
        let send: Vec<&[u8]> = (0..n)
            .map(|to| match per_pair[me][to].get(k) {
                // SAFETY: a rank sends only ranges it holds and receives only ranges it lacks,
                // so no received range overlaps a sent one.
                Some(r) if to != me => unsafe { mem.slice::<u8>(r.start, r.len()) },
                _ => &[],
            })
            .collect();
        let mut recv: Vec<&mut [u8]> = (0..n)
            .map(|from| match per_pair[from][me].get(k) {
                // SAFETY: as above; received ranges of one round are disjoint.
                Some(r) if from != me => unsafe { mem.slice_mut::<u8>(r.start, r.len()) },
                _ => &mut [][..],
            })
            .collect();
        comm.all_to_all_into(&send, &mut recv);
    }
    for (_, to, r) in &transfers {
        holdings.received(*to, r);
    }
}
