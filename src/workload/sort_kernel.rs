//! Sort kernel of the sort workload: a fast sequential merge sort of `u64` keys and the two
//! pieces that turn it into a parallel sort without a sequential merge at the end.
//!
//! The parallel pattern: cut the keys into `P` parts (part `p` is `p*n/P .. (p+1)*n/P`,
//! possibly empty), sort every part with [`merge_sort`] (one thread each), then let every worker
//! `p` find its slice of the output with [`multiway_split`] at both ends of its output range and
//! fill it with [`multiway_merge`] of its pieces of all the sorted parts. Both phases are
//! embarrassingly parallel; with `P = 1` the pattern is just [`merge_sort`].
//!
//! How [`merge_sort`] is made fast (everything is scalar x86-64 / portable code, no SIMD):
//! * blocks of [`BLOCK`] keys are sorted in cache, bottom-up: 8-key sorting networks
//!   (branchless min/max), then merge levels that run two merges in lockstep, each from
//!   both ends at once, so four independent dependency chains keep the core busy;
//! * every merge is branchless: the comparison result is turned into index arithmetic
//!   (the compiler emits `cmp`/`cmov`/`adc`/`sbb`, no data-dependent branches);
//! * above the block size a top-down recursion merges runs; each merge is split at its
//!   median (binary-search co-rank) and both halves run in lockstep from both ends;
//! * the buffers ping-pong between `keys` and `scratch`, and the parity is planned up
//!   front so the result lands in `keys` with no copy-back pass.
//!
//! Phase 2: [`multiway_split`] finds split points with a sampled search over power-of-two
//! levels (one sample read per run per level, never a scan), and [`multiway_merge`] merges
//! `k >= 3` pieces as a balanced tournament of the same branchless two-way merges. That was
//! measured 2-4x faster than a loser tree for every `k` from 3 to 256: a loser tree pays a
//! chain of `log2 k` dependent comparisons plus a head fetch per element, while `log2 k`
//! streaming passes of the four-chain merge are cheap, and in cache at large `k`.
//!
//! For plain `u64` keys equal elements are indistinguishable, so "stable" is a property of
//! the split points ([`multiway_split`] breaks ties by run index, then position) rather than
//! of the sorted output; the output of every function equals that of a stable sort/merge.

use std::ptr;

/// Keys per in-cache block sorted bottom-up before the top-down merges take over
/// (4096 keys = 32 KiB per buffer).
pub const BLOCK: usize = 1 << 12;

/// Merges shorter than this are not split at the median: the binary search would not pay.
const SPLIT_MIN: usize = 256;

/// Inputs up to this length are insertion-sorted in place.
const INSERTION_MAX: usize = 16;

/// Sequential stable merge sort of `keys`, using `scratch` (same length) as the merge buffer.
///
/// On return `keys` is sorted ascending; the contents of `scratch` are unspecified. This is the
/// "sequential twin" of the parallel pattern and also what each part runs. Only the first
/// `keys.len()` elements of `scratch` are used; panics if `scratch` is shorter than `keys`.
pub(crate) fn merge_sort(keys: &mut [u64], scratch: &mut [u64]) {
    let n = keys.len();
    assert!(scratch.len() >= n, "scratch is shorter than keys");
    if n <= INSERTION_MAX {
        insertion_sort(keys);
        return;
    }
    // SAFETY: `keys` and `scratch` are distinct `&mut` borrows, so they do not overlap, and
    // both hold at least `n` elements; `sort_rec` only touches `[0, n)` of both.
    unsafe { sort_rec(keys.as_mut_ptr(), scratch.as_mut_ptr(), n, false) }
}

/// Sorts `k[..n]` and leaves the result in `s[..n]` if `to_s`, else in `k[..n]`;
/// both buffers are used as work space.
///
/// # Safety
/// `k` and `s` must be valid for reads and writes of `n` elements and must not overlap.
unsafe fn sort_rec(k: *mut u64, s: *mut u64, n: usize, to_s: bool) {
    if n <= BLOCK {
        // SAFETY: forwarded caller contract.
        unsafe { bottom_up_sort(k, s, n, to_s) };
        return;
    }
    // Cut at a multiple of BLOCK so that every leaf but the last is a full block.
    let mid = n.div_ceil(BLOCK) / 2 * BLOCK;
    // SAFETY: `mid < n`, so both halves lie inside the caller's ranges; the children leave
    // their results in the buffer that is not the final destination, and the merge reads
    // that buffer and writes the other one, so source and destination never overlap.
    unsafe {
        sort_rec(k, s, mid, !to_s);
        sort_rec(k.add(mid), s.add(mid), n - mid, !to_s);
        let (src, dst) = if to_s { (k, s) } else { (s, k) };
        merge2(src, mid, src.add(mid), n - mid, dst);
    }
}

/// Bottom-up sort of `k[..n]` (`n <= BLOCK`, any length) into `s` if `to_s`, else into `k`.
///
/// # Safety
/// As for [`sort_rec`].
unsafe fn bottom_up_sort(k: *mut u64, s: *mut u64, n: usize, to_s: bool) {
    let mut levels = 0u32;
    let mut w = 8;
    while w < n {
        levels += 1;
        w *= 2;
    }
    let (dst, other) = if to_s { (s, k) } else { (k, s) };
    // Plan the ping-pong so that the last level writes to `dst`.
    let (mut cur, mut nxt) = if levels % 2 == 0 {
        (dst, other)
    } else {
        (other, dst)
    };
    let full = n & !7;
    // SAFETY: all offsets stay below `n`; `cur` and `nxt` are `k` and `s` in some order, which
    // are valid for `n` elements and disjoint. `sort8` loads its 8 inputs before storing, so
    // `cur == k` (in place) is fine; every merge reads `cur` and writes `nxt`.
    unsafe {
        let mut i = 0;
        while i < full {
            sort8(k.add(i), cur.add(i));
            i += 8;
        }
        if full < n {
            if cur != k {
                ptr::copy_nonoverlapping(k.add(full), cur.add(full), n - full);
            }
            insertion_sort(std::slice::from_raw_parts_mut(cur.add(full), n - full));
        }
        let mut w = 8;
        while w < n {
            let mut i = 0;
            while i + 4 * w <= n {
                let x = cur.add(i);
                if *x.add(w - 1) <= *x.add(w) && *x.add(3 * w - 1) <= *x.add(3 * w) {
                    // Both pairs already in order (presorted input): a copy is the merge.
                    ptr::copy_nonoverlapping(x, nxt.add(i), 4 * w);
                } else {
                    merge_pair_balanced(x, w, nxt.add(i));
                }
                i += 4 * w;
            }
            if i + 2 * w <= n {
                merge2(cur.add(i), w, cur.add(i + w), w, nxt.add(i));
                i += 2 * w;
            }
            if i + w < n {
                merge2(cur.add(i), w, cur.add(i + w), n - i - w, nxt.add(i));
            } else if i < n {
                ptr::copy_nonoverlapping(cur.add(i), nxt.add(i), n - i);
            }
            std::mem::swap(&mut cur, &mut nxt);
            w *= 2;
        }
    }
}

/// Plain insertion sort (for tiny inputs).
fn insertion_sort(v: &mut [u64]) {
    for i in 1..v.len() {
        let x = v[i];
        let mut j = i;
        while j > 0 && v[j - 1] > x {
            v[j] = v[j - 1];
            j -= 1;
        }
        v[j] = x;
    }
}

/// Compare-exchange of two locals: afterwards `$a <= $b` (branchless min/max).
macro_rules! cx {
    ($a:ident, $b:ident) => {{
        let lo = $a.min($b);
        $b = $a.max($b);
        $a = lo;
    }};
}

/// Sorts the 8 keys at `src` into `dst` with an optimal 19-comparator network.
///
/// # Safety
/// `src` must be valid for 8 reads and `dst` for 8 writes (they may be equal).
#[inline(always)]
unsafe fn sort8(src: *const u64, dst: *mut u64) {
    // SAFETY: caller contract; all inputs are loaded before the first store.
    unsafe {
        let mut a0 = *src;
        let mut a1 = *src.add(1);
        let mut a2 = *src.add(2);
        let mut a3 = *src.add(3);
        let mut a4 = *src.add(4);
        let mut a5 = *src.add(5);
        let mut a6 = *src.add(6);
        let mut a7 = *src.add(7);
        cx!(a0, a2);
        cx!(a1, a3);
        cx!(a4, a6);
        cx!(a5, a7);
        cx!(a0, a4);
        cx!(a1, a5);
        cx!(a2, a6);
        cx!(a3, a7);
        cx!(a0, a1);
        cx!(a2, a3);
        cx!(a4, a5);
        cx!(a6, a7);
        cx!(a2, a4);
        cx!(a3, a5);
        cx!(a1, a4);
        cx!(a3, a6);
        cx!(a1, a2);
        cx!(a3, a4);
        cx!(a5, a6);
        *dst = a0;
        *dst.add(1) = a1;
        *dst.add(2) = a2;
        *dst.add(3) = a3;
        *dst.add(4) = a4;
        *dst.add(5) = a5;
        *dst.add(6) = a6;
        *dst.add(7) = a7;
    }
}

/// Cursors of one merge of `a` and `b` into `out`, run from the front (`p*`, smallest first)
/// and from the back (`q*`, largest first). Unconsumed input is `[pa, qa]` and `[pb, qb]`,
/// unwritten output is `[po, qo]` (inclusive ranges; a range is empty when `q == p - 1`).
///
/// A front step or a back step is always in bounds as long as neither input is exhausted from
/// that side, which holds for `min(|a|, |b|)` steps from each side: that is the number of
/// unchecked steps the callers take before falling back to checked loops.
#[derive(Clone, Copy)]
struct Job {
    pa: *const u64,
    pb: *const u64,
    po: *mut u64,
    qa: *const u64,
    qb: *const u64,
    qo: *mut u64,
}

impl Job {
    #[inline(always)]
    fn new(a: *const u64, na: usize, b: *const u64, nb: usize, out: *mut u64) -> Job {
        Job {
            pa: a,
            pb: b,
            po: out,
            qa: a.wrapping_add(na).wrapping_sub(1),
            qb: b.wrapping_add(nb).wrapping_sub(1),
            qo: out.wrapping_add(na + nb).wrapping_sub(1),
        }
    }

    /// Unconsumed length between a front and a back cursor. Panics if the cursors crossed,
    /// which only happens when an input was not sorted; for such input this check is what
    /// keeps the final copies of [`Job::finish`] in bounds.
    #[inline(always)]
    fn remaining(p: *const u64, q: *const u64) -> usize {
        let d = (q.wrapping_add(1) as isize).wrapping_sub(p as isize);
        assert!(d >= 0, "merge input is not sorted");
        d as usize / std::mem::size_of::<u64>()
    }

    /// One branchless step from the front (ties take `a`: stable).
    ///
    /// # Safety
    /// Neither input may be exhausted from the front.
    #[inline(always)]
    unsafe fn front(&mut self) {
        // SAFETY: caller contract: `pa` and `pb` point at unconsumed elements, `po` at an
        // unwritten output slot.
        unsafe {
            let x = *self.pa;
            let y = *self.pb;
            let c = y < x;
            *self.po = select(c, y, x);
            self.pa = self.pa.wrapping_add((!c) as usize);
            self.pb = self.pb.wrapping_add(c as usize);
            self.po = self.po.wrapping_add(1);
        }
    }

    /// One branchless step from the back (ties take `b`: stable).
    ///
    /// # Safety
    /// Neither input may be exhausted from the back.
    #[inline(always)]
    unsafe fn back(&mut self) {
        // SAFETY: as for `front`, mirrored.
        unsafe {
            let x = *self.qa;
            let y = *self.qb;
            let c = y < x;
            *self.qo = select(c, x, y);
            self.qa = self.qa.wrapping_sub(c as usize);
            self.qb = self.qb.wrapping_sub((!c) as usize);
            self.qo = self.qo.wrapping_sub(1);
        }
    }

    /// Completes the merge: bidirectional while both ends are safe, then a checked loop from
    /// the front, then copies the rest of whichever input is left.
    ///
    /// # Safety
    /// The cursors must describe a merge whose inputs and output are valid and disjoint.
    #[inline(always)]
    unsafe fn finish(mut self) {
        // SAFETY: every unchecked loop runs at most `min(ra, rb)` steps per side, so no cursor
        // leaves its unconsumed range (see the type docs); the copies write exactly the
        // `ra + rb` unwritten output slots.
        unsafe {
            let s = Self::remaining(self.pa, self.qa).min(Self::remaining(self.pb, self.qb));
            for _ in 0..s {
                self.front();
                self.back();
            }
            let mut ra = Self::remaining(self.pa, self.qa);
            let mut rb = Self::remaining(self.pb, self.qb);
            while ra > 0 && rb > 0 {
                for _ in 0..ra.min(rb) {
                    self.front();
                }
                ra = Self::remaining(self.pa, self.qa);
                rb = Self::remaining(self.pb, self.qb);
            }
            ptr::copy_nonoverlapping(self.pa, self.po, ra);
            ptr::copy_nonoverlapping(self.pb, self.po.add(ra), rb);
        }
    }
}

/// Number of elements of `a` among the first `k` of the stable merge of `a` and `b`
/// (binary search, `O(log min(na, nb))`). Requires `k <= na + nb`.
///
/// # Safety
/// `a` and `b` must be valid for `na` and `nb` reads.
unsafe fn corank(a: *const u64, na: usize, b: *const u64, nb: usize, k: usize) -> usize {
    let mut lo = k.saturating_sub(nb);
    let mut hi = k.min(na);
    while lo < hi {
        let mid = (lo + hi) / 2;
        // SAFETY: `lo <= mid < hi <= min(k, na)`, so `mid < na`, and
        // `k - nb <= mid < k` gives `0 <= k - 1 - mid < nb`.
        if unsafe { *a.add(mid) <= *b.add(k - 1 - mid) } {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Stable branchless two-way merge of `a[..na]` and `b[..nb]` into `out[..na + nb]`.
///
/// Long merges are cut at the median with [`corank`]; both halves then run in lockstep from
/// both ends, four independent dependency chains.
///
/// # Safety
/// `a`, `b` valid for `na`, `nb` reads; `out` valid for `na + nb` writes and disjoint from both.
unsafe fn merge2(a: *const u64, na: usize, b: *const u64, nb: usize, out: *mut u64) {
    // SAFETY: every access below is justified inline; the invariants are those of `Job`.
    unsafe {
        if na == 0 || nb == 0 || *a.add(na - 1) <= *b {
            // Already in order (or one side empty): a copy is the merge.
            ptr::copy_nonoverlapping(a, out, na);
            ptr::copy_nonoverlapping(b, out.add(na), nb);
            return;
        }
        if na + nb < SPLIT_MIN {
            Job::new(a, na, b, nb, out).finish();
            return;
        }
        let (mut a, mut na, mut b, mut nb, mut out) = (a, na, b, nb, out);
        if (na + nb) % 2 == 1 {
            // Peel one element so that both halves have the same length `k`.
            let (x, y) = (*a, *b);
            if y < x {
                *out = y;
                b = b.add(1);
                nb -= 1;
            } else {
                *out = x;
                a = a.add(1);
                na -= 1;
            }
            out = out.add(1);
        }
        let k = (na + nb) / 2;
        let i = corank(a, na, b, nb, k);
        let j = k - i;
        // Half 1 merges a[..i] + b[..j] into out[..k], half 2 merges a[i..] + b[j..] into
        // out[k..]; `s` unchecked steps from each end of each half are in bounds.
        let s = i.min(j).min(na - i).min(nb - j);
        let (mut ia1, mut ib1) = (0usize, 0usize);
        let (mut ka1, mut kb1) = (i.wrapping_sub(1), j.wrapping_sub(1));
        let (mut ia2, mut ib2) = (i, j);
        let (mut ka2, mut kb2) = (na.wrapping_sub(1), nb.wrapping_sub(1));
        let mut of = out;
        let mut ob = out.wrapping_add(k).wrapping_sub(1);
        let end = out.add(s);
        while of < end {
            let x = *a.add(ia1);
            let y = *b.add(ib1);
            let c = y < x;
            *of = select(c, y, x);
            ia1 += (!c) as usize;
            ib1 += c as usize;

            let x = *a.add(ia2);
            let y = *b.add(ib2);
            let c = y < x;
            *of.add(k) = select(c, y, x);
            ia2 += (!c) as usize;
            ib2 += c as usize;

            let x = *a.add(ka1);
            let y = *b.add(kb1);
            let c = y < x;
            *ob = select(c, x, y);
            ka1 = ka1.wrapping_sub(c as usize);
            kb1 = kb1.wrapping_sub((!c) as usize);

            let x = *a.add(ka2);
            let y = *b.add(kb2);
            let c = y < x;
            *ob.add(k) = select(c, x, y);
            ka2 = ka2.wrapping_sub(c as usize);
            kb2 = kb2.wrapping_sub((!c) as usize);

            of = of.add(1);
            ob = ob.wrapping_sub(1);
        }
        let half1 = Job {
            pa: a.wrapping_add(ia1),
            pb: b.wrapping_add(ib1),
            po: of,
            qa: a.wrapping_add(ka1),
            qb: b.wrapping_add(kb1),
            qo: ob,
        };
        let half2 = Job {
            pa: a.wrapping_add(ia2),
            pb: b.wrapping_add(ib2),
            po: of.wrapping_add(k),
            qa: a.wrapping_add(ka2),
            qb: b.wrapping_add(kb2),
            qo: ob.wrapping_add(k),
        };
        half1.finish();
        half2.finish();
    }
}

/// Two equal-sized merges in lockstep, each from both ends (four independent chains):
/// `x[0..w] + x[w..2w] -> o[0..2w]` and `x[2w..3w] + x[3w..4w] -> o[2w..4w]`.
///
/// # Safety
/// `w >= 1`; `x` valid for `4w` reads, `o` valid for `4w` writes, disjoint from `x`.
#[inline(always)]
unsafe fn merge_pair_balanced(x: *const u64, w: usize, o: *mut u64) {
    // Equal run lengths make exactly `w` unchecked steps from each end safe and complete.
    let (mut ia1, mut jb1) = (0usize, w);
    let (mut ka1, mut kb1) = (w - 1, 2 * w - 1);
    let (mut ia2, mut jb2) = (2 * w, 3 * w);
    let (mut ka2, mut kb2) = (3 * w - 1, 4 * w - 1);
    let d = 2 * w;
    // SAFETY: the indices stay inside their runs for `w` steps (see above); the outputs are
    // `o[t]`, `o[2w-1-t]`, `o[2w+t]`, `o[4w-1-t]` for `t < w`.
    unsafe {
        let mut of = o;
        let mut ob = o.add(2 * w - 1);
        let end = o.add(w);
        while of < end {
            let a = *x.add(ia1);
            let b = *x.add(jb1);
            let c = b < a;
            *of = select(c, b, a);
            ia1 += (!c) as usize;
            jb1 += c as usize;

            let a = *x.add(ia2);
            let b = *x.add(jb2);
            let c = b < a;
            *of.add(d) = select(c, b, a);
            ia2 += (!c) as usize;
            jb2 += c as usize;

            let a = *x.add(ka1);
            let b = *x.add(kb1);
            let c = b < a;
            *ob = select(c, a, b);
            ka1 = ka1.wrapping_sub(c as usize);
            kb1 = kb1.wrapping_sub((!c) as usize);

            let a = *x.add(ka2);
            let b = *x.add(kb2);
            let c = b < a;
            *ob.add(d) = select(c, a, b);
            ka2 = ka2.wrapping_sub(c as usize);
            kb2 = kb2.wrapping_sub((!c) as usize);

            of = of.add(1);
            ob = ob.wrapping_sub(1);
        }
    }
}

/// Split points for one output boundary of a stable k-way merge of sorted `runs`.
///
/// Returns `idx` with `idx.len() == runs.len()` and `idx.iter().sum() == rank`, such that
/// taking `runs[r][..idx[r]]` from every run gives exactly the `rank` smallest elements of the
/// merge, ties broken by run index, then position (i.e. stable). Panics if `rank` exceeds the
/// total length. If a run is not sorted the result is unspecified (but memory-safe).
///
/// Cost for `k >= 3` runs of length at most `n`: `log2 n` levels, each reading one sample per
/// run and moving a few samples (at most `O(k)`, heap-ordered), so `O(k log n)` typically and
/// `O(k log k · log n)` at worst; about 70 µs for `k = 256` runs of 15 625 keys, mostly cache
/// misses. `k = 2` is a binary search (`O(log n)`), `k = 1` is `O(1)`.
pub(crate) fn multiway_split(runs: &[&[u64]], rank: usize) -> Vec<usize> {
    let k = runs.len();
    let total: usize = runs.iter().map(|r| r.len()).sum();
    assert!(rank <= total, "rank exceeds the total length of the runs");
    if rank == 0 {
        return vec![0; k];
    }
    if rank == total {
        return runs.iter().map(|r| r.len()).collect();
    }
    match k {
        1 => vec![rank],
        2 => {
            let (a, b) = (runs[0], runs[1]);
            // SAFETY: the pointers and lengths come from slices and `rank <= a.len() + b.len()`.
            let i = unsafe { corank(a.as_ptr(), a.len(), b.as_ptr(), b.len(), rank) };
            vec![i, rank - i]
        }
        _ => sampled_split(runs, rank),
    }
}

/// [`multiway_split`] for `k >= 3` runs, by refinement over sample levels.
///
/// Elements are totally ordered by `(value, run, position)`, packed into a `u128` key
/// (`value << 64 | run`; the position order is implied within a run). At level `s` (a power of
/// two) the samples are the last elements of the aligned blocks of `s` elements of each run,
/// and `blocks[r]` says how many blocks of run `r` are taken. The taken set is kept *valid*: a
/// prefix of the sample order, i.e. the largest taken sample precedes the smallest untaken one
/// (per run these are the samples of blocks `blocks[r] - 1` and `blocks[r]`).
///
/// Each level moves the taken set toward its expected true size by taking the smallest untaken
/// or dropping the largest taken sample, which keeps it valid. Going from `s` to `s / 2` doubles
/// the counts; the new in-between samples that precede the largest taken sample are then taken
/// too, which restores validity (all other untaken samples followed it already). At `s = 1`
/// the samples are all elements, and a valid set of exactly `rank` elements is the answer.
///
/// Each level reads one new sample per run and usually moves only a few samples, so the whole
/// search costs `O(k log n)` plus `O(k log k)` heap work where many samples move (at `s = 1`).
fn sampled_split(runs: &[&[u64]], rank: usize) -> Vec<usize> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    /// Key of "no such sample"; larger than every real key.
    const NONE: u128 = u128::MAX;
    let k = runs.len();
    // Key of the sample that closes block `b` of run `r` at level `s`, if that block is full.
    let sample = |r: usize, b: usize, s: usize| match runs[r].get((b + 1) * s - 1) {
        Some(&v) => (u128::from(v) << 64) | r as u128,
        _ => NONE,
    };
    let run_of = |key: u128| key as u64 as usize;
    let max_len = runs.iter().map(|r| r.len()).max().unwrap_or(1);
    let mut s = max_len.next_power_of_two();
    let mut blocks = vec![0usize; k];
    let mut taken = 0usize;
    loop {
        // Each run's untaken partial block holds about s/2 elements of the true prefix, so the
        // true count of samples is about rank/s - k(s-1)/(2s); at s = 1 it is exactly rank.
        let target = (rank / s).saturating_sub((k - k / s) / 2);
        if taken.abs_diff(target) > 4 {
            // Many moves (mostly at s = 1): heaps.
            if taken < target {
                let mut heap: BinaryHeap<Reverse<u128>> = (0..k)
                    .map(|r| Reverse(sample(r, blocks[r], s)))
                    .filter(|&Reverse(x)| x != NONE)
                    .collect();
                while taken < target {
                    let Some(Reverse(key)) = heap.pop() else {
                        break;
                    };
                    let r = run_of(key);
                    blocks[r] += 1;
                    taken += 1;
                    let next = sample(r, blocks[r], s);
                    if next != NONE {
                        heap.push(Reverse(next));
                    }
                }
            } else {
                let mut heap: BinaryHeap<u128> = (0..k)
                    .filter(|&r| blocks[r] > 0)
                    .map(|r| sample(r, blocks[r] - 1, s))
                    .collect();
                while taken > target {
                    let Some(key) = heap.pop() else { break };
                    let r = run_of(key);
                    blocks[r] -= 1;
                    taken -= 1;
                    if blocks[r] > 0 {
                        heap.push(sample(r, blocks[r] - 1, s));
                    }
                }
            }
        } else {
            // Few moves: linear scans (the samples read are cached from the level before).
            while taken < target {
                let (key, r) = (0..k)
                    .map(|r| (sample(r, blocks[r], s), r))
                    .min()
                    .unwrap_or((NONE, 0));
                if key == NONE {
                    break;
                }
                blocks[r] += 1;
                taken += 1;
            }
            while taken > target {
                let Some((_, r)) = (0..k)
                    .filter(|&r| blocks[r] > 0)
                    .map(|r| (sample(r, blocks[r] - 1, s), r))
                    .max()
                else {
                    break;
                };
                blocks[r] -= 1;
                taken -= 1;
            }
        }
        if s == 1 {
            return blocks;
        }
        // With nothing taken, `largest = 0` takes nothing below (`NONE` is never taken either).
        let largest = (0..k)
            .filter(|&r| blocks[r] > 0)
            .map(|r| sample(r, blocks[r] - 1, s))
            .max()
            .unwrap_or(0);
        let h = s / 2;
        taken *= 2;
        for (r, b) in blocks.iter_mut().enumerate() {
            // The new sample between the last taken and the first untaken old sample is taken
            // if it precedes `largest`. No branch on the outcome: it is unpredictable, and a
            // mispredict would also cancel the independent sample reads of the next runs.
            let take = usize::from(sample(r, 2 * *b, h) < largest);
            *b = 2 * *b + take;
            taken += take;
        }
        s = h;
    }
}

/// `if c { a } else { b }` for the merge kernels, where `c` is data-dependent and
/// unpredictable (LLVM emits `cmov` for it; checked in the generated code).
#[inline(always)]
fn select(c: bool, a: u64, b: u64) -> u64 {
    if c {
        a
    } else {
        b
    }
}

/// Stable merge of the sorted `pieces` (ties: earlier piece first) into `out`.
///
/// `out.len()` must equal the sum of the piece lengths (panics otherwise). One piece is a copy,
/// two pieces use the branchless two-way merge of [`merge_sort`] (median split, four chains),
/// and `k >= 3` pieces a balanced tournament of such two-way merges (`ceil(log2 k)` passes over
/// the output range, which for `k >= 3` takes a temporary buffer of `out.len()` keys from the
/// [`scratch`](super::scratch) pool; see
/// [`multiway_merge_with_buffer`] to supply it). If a piece is not sorted the output is
/// unspecified and the call may panic, but it stays memory-safe.
pub(crate) fn multiway_merge(pieces: &[&[u64]], out: &mut [u64]) {
    if pieces.len() <= 2 {
        multiway_merge_with_buffer(pieces, out, &mut []);
    } else {
        let mut tmp = super::scratch::take(out.len() * 8);
        multiway_merge_with_buffer(pieces, out, tmp.as_u64_mut(out.len()));
        super::scratch::give_back(tmp);
    }
}

/// [`multiway_merge`] with a caller-supplied temporary buffer `tmp`, which must hold at least
/// `out.len()` keys when there are three or more pieces (it is not used otherwise; panics if it
/// is too short). Its contents on return are unspecified.
pub(crate) fn multiway_merge_with_buffer(pieces: &[&[u64]], out: &mut [u64], tmp: &mut [u64]) {
    let total: usize = pieces.iter().map(|p| p.len()).sum();
    assert_eq!(
        total,
        out.len(),
        "out length must equal the total piece length"
    );
    match pieces {
        [] => {}
        [a] => out.copy_from_slice(a),
        [a, b] => merge_into(a, b, out),
        _ => {
            assert!(tmp.len() >= total, "tmp is shorter than out");
            merge_tree(pieces, out, &mut tmp[..total]);
        }
    }
}

/// k-way merge as a balanced tournament of two-way merges: the pieces are halved
/// recursively, each half is merged into `tmp` (using `dst` as its own work space), and the
/// two halves are merged into `dst`. A single piece is used in place, never copied, so every
/// element moves `ceil(log2 k)` times or fewer.
fn merge_tree(pieces: &[&[u64]], dst: &mut [u64], tmp: &mut [u64]) {
    match pieces {
        [] => {}
        [a] => dst.copy_from_slice(a),
        [a, b] => merge_into(a, b, dst),
        _ => {
            let mid = pieces.len() / 2;
            let nl: usize = pieces[..mid].iter().map(|p| p.len()).sum();
            let (tl, tr) = tmp.split_at_mut(nl);
            {
                let (dl, dr) = dst.split_at_mut(nl);
                if mid > 1 {
                    merge_tree(&pieces[..mid], tl, dl);
                }
                if pieces.len() - mid > 1 {
                    merge_tree(&pieces[mid..], tr, dr);
                }
            }
            let left: &[u64] = if mid > 1 { tl } else { pieces[0] };
            let right: &[u64] = if pieces.len() - mid > 1 {
                tr
            } else {
                pieces[mid]
            };
            merge_into(left, right, dst);
        }
    }
}

/// Safe wrapper of [`merge2`]: `dst.len()` must equal `a.len() + b.len()`.
fn merge_into(a: &[u64], b: &[u64], dst: &mut [u64]) {
    assert_eq!(a.len() + b.len(), dst.len());
    // SAFETY: `dst` holds exactly `a.len() + b.len()` elements and, being a distinct `&mut`,
    // does not overlap the shared slices `a` and `b`.
    unsafe { merge2(a.as_ptr(), a.len(), b.as_ptr(), b.len(), dst.as_mut_ptr()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut s = self.0;
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            self.0 = s;
            s
        }
    }

    fn gen_inputs(n: usize, seed: u64) -> Vec<(&'static str, Vec<u64>)> {
        let mut rng = XorShift(seed | 1);
        let random: Vec<u64> = (0..n).map(|_| rng.next()).collect();
        let mut sorted = random.clone();
        sorted.sort_unstable();
        let mut reversed = sorted.clone();
        reversed.reverse();
        let equal = vec![42u64; n];
        let few: Vec<u64> = (0..n).map(|_| rng.next() % 4).collect();
        let with_max: Vec<u64> = (0..n)
            .map(|_| match rng.next() % 3 {
                0 => u64::MAX,
                1 => 0,
                _ => rng.next(),
            })
            .collect();
        let sawtooth: Vec<u64> = (0..n as u64).map(|i| i % 37).collect();
        vec![
            ("random", random),
            ("sorted", sorted),
            ("reversed", reversed),
            ("all-equal", equal),
            ("few-distinct", few),
            ("extremes", with_max),
            ("sawtooth", sawtooth),
        ]
    }

    const SIZES: &[usize] = &[
        0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1000, 4095, 4096, 4097, 8192, 12289, 65537,
    ];

    #[test]
    fn merge_sort_matches_std() {
        for &n in SIZES {
            for (name, input) in gen_inputs(n, n as u64 + 7) {
                let mut keys = input.clone();
                let mut scratch = vec![0u64; n];
                merge_sort(&mut keys, &mut scratch);
                let mut expect = input;
                expect.sort();
                assert_eq!(keys, expect, "n = {n}, input = {name}");
            }
        }
    }

    #[test]
    fn merge_sort_large_random() {
        let n = 300_001;
        let mut rng = XorShift(99);
        let input: Vec<u64> = (0..n).map(|_| rng.next()).collect();
        let mut keys = input.clone();
        let mut scratch = vec![0u64; n];
        merge_sort(&mut keys, &mut scratch);
        let mut expect = input;
        expect.sort();
        assert_eq!(keys, expect);
    }

    #[test]
    fn merge_sort_stays_inside_its_slices() {
        // Sort sub-slices of larger buffers and check the guard cells around them.
        const GUARD: usize = 64;
        for &n in &[5usize, 17, 100, 4096, 4097, 9000, 20_000] {
            let mut rng = XorShift(n as u64);
            let input: Vec<u64> = (0..n).map(|_| rng.next()).collect();
            let mut keys = vec![0xAAAA_u64; n + 2 * GUARD];
            let mut scratch = vec![0x5555_u64; n + 2 * GUARD];
            keys[GUARD..GUARD + n].copy_from_slice(&input);
            merge_sort(&mut keys[GUARD..GUARD + n], &mut scratch[GUARD..GUARD + n]);
            let mut expect = input;
            expect.sort();
            assert_eq!(&keys[GUARD..GUARD + n], &expect[..]);
            assert!(keys[..GUARD]
                .iter()
                .chain(&keys[GUARD + n..])
                .all(|&x| x == 0xAAAA));
            assert!(scratch[..GUARD]
                .iter()
                .chain(&scratch[GUARD + n..])
                .all(|&x| x == 0x5555));
        }
    }

    /// Reference split: elements tagged (value, run, pos), sorted, first `rank` counted per run.
    fn reference_split(runs: &[&[u64]], rank: usize) -> Vec<usize> {
        let mut all: Vec<(u64, usize, usize)> = Vec::new();
        for (r, run) in runs.iter().enumerate() {
            for (i, &v) in run.iter().enumerate() {
                all.push((v, r, i));
            }
        }
        all.sort();
        let mut idx = vec![0; runs.len()];
        for &(_, r, _) in &all[..rank] {
            idx[r] += 1;
        }
        idx
    }

    fn make_runs(k: usize, seed: u64, modulus: u64, max_len: usize) -> Vec<Vec<u64>> {
        let mut rng = XorShift(seed);
        (0..k)
            .map(|r| {
                let len = if r % 5 == 3 {
                    0
                } else {
                    (rng.next() % (max_len as u64 + 1)) as usize
                };
                let mut v: Vec<u64> = (0..len).map(|_| rng.next() % modulus).collect();
                v.sort();
                v
            })
            .collect()
    }

    #[test]
    fn multiway_split_invariants() {
        for &k in &[1usize, 2, 3, 7, 256] {
            for &(modulus, max_len) in &[(u64::MAX, 40usize), (3, 40), (1, 17), (1000, 300)] {
                let owned = make_runs(k, k as u64 * 31 + modulus % 97 + 1, modulus, max_len);
                let runs: Vec<&[u64]> = owned.iter().map(|v| v.as_slice()).collect();
                let total: usize = runs.iter().map(|r| r.len()).sum();
                let mut ranks: Vec<usize> =
                    vec![0, 1, total / 3, total / 2, total.saturating_sub(1), total];
                ranks.extend((0..=total).step_by((total / 23).max(1)));
                for rank in ranks {
                    let rank = rank.min(total);
                    let idx = multiway_split(&runs, rank);
                    assert_eq!(idx.len(), k);
                    assert_eq!(idx.iter().sum::<usize>(), rank, "k={k} rank={rank}");
                    for (r, &i) in idx.iter().enumerate() {
                        assert!(i <= runs[r].len());
                    }
                    // Prefixes hold the `rank` smallest: max taken <= min not taken.
                    let max_in = (0..k)
                        .filter(|&r| idx[r] > 0)
                        .map(|r| runs[r][idx[r] - 1])
                        .max();
                    let min_out = (0..k)
                        .filter(|&r| idx[r] < runs[r].len())
                        .map(|r| runs[r][idx[r]])
                        .min();
                    if let (Some(a), Some(b)) = (max_in, min_out) {
                        assert!(a <= b, "k={k} rank={rank}");
                    }
                    // Exact stable tie-breaking.
                    assert_eq!(
                        idx,
                        reference_split(&runs, rank),
                        "k={k} rank={rank} mod={modulus}"
                    );
                }
            }
        }
    }

    #[test]
    fn multiway_split_with_empty_runs() {
        let a: &[u64] = &[1, 2, 2, 5];
        let b: &[u64] = &[2, 2, 3];
        let e: &[u64] = &[];
        let cases: Vec<Vec<&[u64]>> = vec![
            vec![e],
            vec![a],
            vec![e, a],
            vec![a, e],
            vec![e, e, a],
            vec![a, e, b],
            vec![e, b, a],
            vec![b, a, e],
            vec![e, a, e, b, e, e, a],
        ];
        for runs in cases {
            let total: usize = runs.iter().map(|r| r.len()).sum();
            for rank in 0..=total {
                assert_eq!(
                    multiway_split(&runs, rank),
                    reference_split(&runs, rank),
                    "{runs:?} rank={rank}"
                );
            }
        }
    }

    #[test]
    fn multiway_split_random_configurations() {
        let mut rng = XorShift(12345);
        for _ in 0..200 {
            let k = 3 + (rng.next() % 10) as usize;
            let modulus = [1u64, 2, 5, 1000, u64::MAX][(rng.next() % 5) as usize];
            let owned: Vec<Vec<u64>> = (0..k)
                .map(|_| {
                    let len = (rng.next() % 41) as usize;
                    let mut v: Vec<u64> = (0..len).map(|_| rng.next() % modulus).collect();
                    v.sort();
                    v
                })
                .collect();
            let runs: Vec<&[u64]> = owned.iter().map(|v| v.as_slice()).collect();
            let total: usize = runs.iter().map(|r| r.len()).sum();
            for rank in 0..=total {
                assert_eq!(multiway_split(&runs, rank), reference_split(&runs, rank));
            }
        }
    }

    #[test]
    fn multiway_split_all_empty() {
        let runs: Vec<&[u64]> = vec![&[]; 5];
        assert_eq!(multiway_split(&runs, 0), vec![0; 5]);
        assert_eq!(multiway_split(&[], 0), Vec::<usize>::new());
    }

    #[test]
    fn multiway_merge_matches_std() {
        for &k in &[0usize, 1, 2, 3, 4, 7, 256, 300] {
            for &(modulus, max_len) in &[(u64::MAX, 50usize), (2, 50), (u64::MAX, 2000), (3, 3000)]
            {
                let owned = make_runs(k, 5 + k as u64, modulus, max_len);
                let pieces: Vec<&[u64]> = owned.iter().map(|v| v.as_slice()).collect();
                let mut expect: Vec<u64> = owned.concat();
                expect.sort();
                let mut out = vec![0u64; expect.len()];
                multiway_merge(&pieces, &mut out);
                assert_eq!(out, expect, "k={k}");
                let mut out2 = vec![0u64; expect.len()];
                let mut tmp = vec![7u64; expect.len() + 3];
                multiway_merge_with_buffer(&pieces, &mut out2, &mut tmp);
                assert_eq!(out2, expect, "k={k} (with buffer)");
            }
        }
    }

    #[test]
    fn multiway_merge_unsorted_input_stays_in_bounds() {
        // Unsorted pieces give output in an unspecified order or a panic, never out-of-bounds
        // access, and never keys that were not in the input.
        let mut rng = XorShift(777);
        for &(k, len) in &[(2usize, 10usize), (2, 300), (2, 5000), (3, 300), (5, 1000)] {
            for _ in 0..20 {
                let owned: Vec<Vec<u64>> = (0..k)
                    .map(|_| {
                        (0..(rng.next() as usize % len + 1))
                            .map(|_| rng.next() % 50)
                            .collect()
                    })
                    .collect();
                let pieces: Vec<&[u64]> = owned.iter().map(|v| v.as_slice()).collect();
                let mut out = vec![0u64; owned.iter().map(|v| v.len()).sum()];
                let merged = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    multiway_merge(&pieces, &mut out);
                }));
                if merged.is_ok() {
                    // Unordered, but nothing lost or invented: the output holds the input keys.
                    let mut keys: Vec<u64> = owned.concat();
                    keys.sort_unstable();
                    out.sort_unstable();
                    assert_eq!(out, keys, "k = {k}: the merge lost or invented keys");
                }
            }
        }
    }

    /// The concbench pattern, run sequentially: sort P parts, then merge each output range.
    fn pattern(input: &[u64], parts: usize) -> Vec<u64> {
        let n = input.len();
        let mut keys = input.to_vec();
        let mut scratch = vec![0u64; n];
        for p in 0..parts {
            let (lo, hi) = (p * n / parts, (p + 1) * n / parts);
            merge_sort(&mut keys[lo..hi], &mut scratch[lo..hi]);
        }
        if parts == 1 {
            return keys;
        }
        let runs: Vec<&[u64]> = (0..parts)
            .map(|p| &keys[p * n / parts..(p + 1) * n / parts])
            .collect();
        for p in 0..parts {
            let (lo, hi) = (p * n / parts, (p + 1) * n / parts);
            let a = multiway_split(&runs, lo);
            let b = multiway_split(&runs, hi);
            let pieces: Vec<&[u64]> = (0..parts).map(|r| &runs[r][a[r]..b[r]]).collect();
            multiway_merge(&pieces, &mut scratch[lo..hi]);
        }
        scratch
    }

    #[test]
    fn parallel_pattern_matches_std() {
        for &parts in &[1usize, 2, 3, 7, 16, 256] {
            for &n in &[0usize, 1, 2, 3, 5, 6, 17, 100, 1001, 10_007] {
                if parts == 256 && n > 1001 {
                    continue;
                }
                for (name, input) in gen_inputs(n, 3 + n as u64) {
                    let mut expect = input.clone();
                    expect.sort();
                    assert_eq!(
                        pattern(&input, parts),
                        expect,
                        "parts={parts} n={n} input={name}"
                    );
                }
            }
        }
    }
}
