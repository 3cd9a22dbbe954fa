//! `mergesort`: a stable merge sort of random u64 keys, split into parts and merged in parallel.
//!
//! Shared memory holds the keys and a scratch buffer of the same length. Stage `sort`: part p
//! merge-sorts its slice of the keys (using its slice of the scratch). Stage `merge` (a combine,
//! only when there are two or more parts): part p owns the output range `[p*n/P, (p+1)*n/P)` of the
//! final order, finds where that range starts and ends in every sorted run (a multiway split) and
//! merges its pieces into the scratch buffer. The final merge is one parallel pass, so it does not
//! cap the speedup the way a sequential merge would. The kernels live in [`super::sort_kernel`].
//!
//! With `--yield-every K` a part has a yield point after about every K keys of work: its sort
//! becomes a bottom-up merge sort (leaves of [`LEAF_KEYS`] keys, then merge passes cut into
//! pieces of K output keys at split points) and its merge is cut into pieces of K output keys.
//! Every strategy then does that same work; only `single-thread-async` tasks yield at the points.

use std::sync::OnceLock;

use super::exchange::{bytes_to_u64s, u64s_as_bytes, u64s_as_bytes_mut};
use super::registry::YIELD_EVERY;
use super::sort_kernel::{merge_sort, multiway_merge, multiway_split};
use super::{
    part_range, run_steps_blocking, Access, Ceiling, Collectives, Layout, PartSteps, Region, Stage,
    StageKind, Step, VerifyError, View, WholePart, WorkUnits, Workload, WorkloadDescriptor,
    WorkloadError, WorkloadSpec, XorShift,
};

/// Bytes of shared memory per key: the key and its scratch slot.
pub(crate) const BYTES_PER_KEY: usize = 16;

/// `mergesort` in the registry.
pub(crate) const DESCRIPTOR: WorkloadDescriptor = WorkloadDescriptor {
    name: "mergesort",
    description: "stable merge sort of --size random u64 keys; parts sort slices, then merge in parallel (CPU-bound: no waits; its merges stream memory, so copy bandwidth bounds them)",
    size_unit: "keys",
    params: &[YIELD_EVERY],
    default_size: 4_000_000,
    // The keys and their scratch in shared memory, plus the copy verification sorts.
    memory_needed: |size| size as u128 * BYTES_PER_KEY as u128 + size as u128 * 8,
    ceiling: Ceiling::MemoryBound,
    build: |spec| Ok(Box::new(MergeSort::new(spec.clone())?)),
    service: false,
};

/// The merge sort workload.
#[derive(Debug)]
pub(crate) struct MergeSort {
    spec: WorkloadSpec,
    n: usize,
    /// Keys of work between yield points (0: none).
    yield_every: usize,
    fingerprint: OnceLock<Fingerprint>,
    layout: Layout,
    /// The keys; after a run of two or more parts, the sorted runs.
    keys: Region<u64>,
    /// A part's scratch while it sorts; after the merge, the sorted keys.
    scratch: Region<u64>,
}

/// An order-independent summary of a multiset of keys: equal for any permutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    sum: u64,
    xor: u64,
    mixed: u64,
}

impl Fingerprint {
    fn of(keys: &[u64]) -> Fingerprint {
        let mut f = Fingerprint {
            sum: 0,
            xor: 0,
            mixed: 0,
        };
        for &k in keys {
            f.sum = f.sum.wrapping_add(k);
            f.xor ^= k;
            f.mixed = f
                .mixed
                .wrapping_add((k ^ 0x9E37_79B9_7F4A_7C15).wrapping_mul(0xBF58_476D_1CE4_E5B9));
        }
        f
    }
}

impl MergeSort {
    /// Build from a spec; `size` is the number of keys.
    pub fn new(spec: WorkloadSpec) -> Result<MergeSort, WorkloadError> {
        DESCRIPTOR.check_params(&spec)?;
        if spec.size == 0 {
            return Err(WorkloadError::BadSize("--size must be at least 1".into()));
        }
        let mut layout = Layout::new();
        let keys = layout.region("keys", spec.size);
        let scratch = layout.region("scratch", spec.size);
        Ok(MergeSort {
            n: spec.size,
            yield_every: spec.param("yield_every", 0)?,
            spec,
            fingerprint: OnceLock::new(),
            layout,
            keys,
            scratch,
        })
    }

    fn generate(&self, keys: &mut [u64]) {
        fill_keys(self.spec.seed, keys);
    }

    /// A part's work as steps (`--yield-every`): its sort, or its share of the merge.
    fn steps<'v>(
        &self,
        mem: &View<'v>,
        stage: usize,
        part: usize,
        parts: usize,
    ) -> Box<dyn PartSteps + 'v> {
        let every = self.yield_every.max(1);
        if stage == 0 {
            Box::new(SortSteps::new(
                mem.write(self.keys),
                mem.write(self.scratch),
                every,
            ))
        } else {
            let keys = mem.read(self.keys);
            let n = self.n;
            Box::new(MergeSteps {
                runs: (0..parts).map(|p| &keys[part_range(n, p, parts)]).collect(),
                out: mem.write(self.scratch),
                start: part_range(n, part, parts).start,
                done: 0,
                every,
            })
        }
    }
}

impl Workload for MergeSort {
    fn spec(&self) -> &WorkloadSpec {
        &self.spec
    }

    fn shared_bytes(&self) -> usize {
        self.layout.bytes()
    }

    fn access(&self, stage: usize, part: usize, parts: usize) -> Access {
        let mine = part_range(self.n, part, parts);
        match stage {
            // Its slice of the keys, sorted in place, with its slice of the scratch.
            0 => Access::new()
                .update(self.keys, mine.clone())
                .scratch(self.scratch, mine),
            // Every sorted run, merged into its output range of the scratch buffer. Where the
            // parts share no memory, the merge moves keys by value: see `run_part_exchanging`.
            _ => Access::new()
                .read(self.keys, ..)
                .write(self.scratch, mine)
                .exchanging(),
        }
    }

    fn stages(&self, parts: usize) -> Vec<Stage> {
        let mut s = vec![Stage {
            name: "sort",
            kind: StageKind::Compute,
        }];
        if parts > 1 {
            s.push(Stage {
                name: "merge",
                kind: StageKind::Combine,
            });
        }
        s
    }

    fn init(&self, mem: &View<'_>) {
        let keys = mem.write(self.keys);
        self.generate(keys);
        self.fingerprint.get_or_init(|| Fingerprint::of(keys));
    }

    fn reset(&self, mem: &View<'_>) {
        self.generate(mem.write(self.keys));
    }

    fn run_sequential(&self, mem: &View<'_>) {
        merge_sort(mem.write(self.keys), mem.write(self.scratch));
    }

    fn part_steps<'v>(
        &'v self,
        mem: &'v View<'v>,
        stage: usize,
        part: usize,
        parts: usize,
    ) -> Box<dyn PartSteps + 'v> {
        if self.yield_every == 0 {
            // No yield points asked for: the same kernel as every other strategy.
            return Box::new(WholePart(Some(move || {
                self.run_part(mem, stage, part, parts)
            })));
        }
        self.steps(mem, stage, part, parts)
    }

    fn run_part(&self, mem: &View<'_>, stage: usize, part: usize, parts: usize) {
        if self.yield_every > 0 {
            return run_steps_blocking(&mut *self.steps(mem, stage, part, parts));
        }
        match stage {
            0 => merge_sort(mem.write(self.keys), mem.write(self.scratch)),
            _ => {
                let n = self.n;
                let mine = part_range(n, part, parts);
                let keys = mem.read(self.keys);
                let out = mem.write(self.scratch);
                let runs: Vec<&[u64]> =
                    (0..parts).map(|p| &keys[part_range(n, p, parts)]).collect();
                let lo = multiway_split(&runs, mine.start);
                let hi = multiway_split(&runs, mine.end);
                let pieces: Vec<&[u64]> = runs
                    .iter()
                    .zip(lo.iter().zip(&hi))
                    .map(|(r, (&a, &b))| &r[a..b])
                    .collect();
                multiway_merge(&pieces, out);
            }
        }
    }

    fn verify(&self, mem: &View<'_>, parts: Option<usize>) -> Result<(), VerifyError> {
        let out = match parts {
            Some(p) if p > 1 => mem.read(self.scratch),
            _ => mem.read(self.keys),
        };
        if let Some(parts) = parts.filter(|&p| p > 1) {
            // The sorted runs are still in the keys buffer: blame a bad run on the part that
            // sorted it, before its effect on the merged output hides where it came from.
            let keys = mem.read(self.keys);
            for p in 0..parts {
                let run = &keys[part_range(self.n, p, parts)];
                if run.windows(2).any(|w| w[0] > w[1]) {
                    return Err(VerifyError::of_part(
                        p,
                        format!("part {p} returned an unsorted run"),
                    ));
                }
            }
        }
        if let Some(i) = out.windows(2).position(|w| w[0] > w[1]) {
            return Err(VerifyError {
                index: Some(i),
                ..VerifyError::new(format!(
                    "keys not sorted at index {i}: {} > {}",
                    out[i],
                    out[i + 1]
                ))
            });
        }
        let want = self.fingerprint.get_or_init(|| {
            let mut v = vec![0; self.n];
            self.generate(&mut v);
            Fingerprint::of(&v)
        });
        if Fingerprint::of(out) != *want {
            return Err(VerifyError::new(
                "sorted keys are not a permutation of the input",
            ));
        }
        Ok(())
    }

    /// The distributed merge, for parts that share no memory: each part holds its sorted run;
    /// splitters chosen from regular samples of every run cut the key space into one interval
    /// per part; one all-to-all sends each part the keys of its interval from every run; each
    /// part merges what it received into its share of the output, which it writes over the keys
    /// buffer at the position of its interval (the sizes of the parts before it). So each key
    /// crosses the network at most three times in all: scatter, this exchange, the gather.
    fn run_part_exchanging(
        &self,
        mem: &View<'_>,
        stage: usize,
        part: usize,
        parts: usize,
        comm: &dyn Collectives,
    ) -> Vec<std::ops::Range<usize>> {
        debug_assert!(stage == 1 && comm.rank() == part && comm.ranks() == parts);
        let mine = part_range(self.n, part, parts);
        // This rank's memory is its own: the whole keys buffer (its run, then its share of the
        // output) and the whole scratch buffer (where the pieces land).
        let keys = mem.write(self.keys);
        let run: &[u64] = &keys[mine];
        let splitters = distributed_splitters(run, parts, comm);
        let bounds = split_by_value(run, &splitters);
        let sends: Vec<&[u8]> = bounds
            .windows(2)
            .map(|w| u64s_as_bytes(&run[w[0]..w[1]]))
            .collect();
        let counts: Vec<u64> = bounds.windows(2).map(|w| (w[1] - w[0]) as u64).collect();
        // How many keys each part sends here, then the keys themselves straight into buffers of
        // u64 (no copy through bytes).
        let to_me: Vec<u64> = {
            let sends: Vec<[u8; 8]> = counts.iter().map(|c| c.to_le_bytes()).collect();
            let send_refs: Vec<&[u8]> = sends.iter().map(|c| &c[..]).collect();
            let mut got = vec![0u64; parts];
            let mut recv: Vec<&mut [u8]> = got
                .iter_mut()
                .map(|g| u64s_as_bytes_mut(std::slice::from_mut(g)))
                .collect();
            comm.all_to_all_into(&send_refs, &mut recv);
            got
        };
        // The pieces land one after another in this rank's scratch buffer, whose pages the
        // sort stage already touched: fresh buffers would cost their page faults every time.
        let mine_total: u64 = to_me.iter().sum();
        let len = mine_total as usize;
        assert!(len <= self.n, "a share holds at most every key");
        let landing = &mut mem.write(self.scratch)[..len];
        let mut pieces: Vec<&mut [u64]> = Vec::with_capacity(parts);
        let mut rest = landing;
        for &c in &to_me {
            let (piece, tail) = rest.split_at_mut(c as usize);
            pieces.push(piece);
            rest = tail;
        }
        {
            let mut recv: Vec<&mut [u8]> = pieces.iter_mut().map(|p| u64s_as_bytes_mut(p)).collect();
            comm.all_to_all_into(&sends, &mut recv);
        }
        // Where this part's share starts: the shares of the parts before it.
        let totals = comm.all_gather(&mine_total.to_le_bytes());
        let start: usize = totals[..part]
            .iter()
            .map(|t| u64::from_le_bytes(t[..8].try_into().expect("8 bytes")) as usize)
            .sum();
        // The run is no longer read (the exchange copied this part's own piece).
        let out = &mut keys[start..start + len];
        let refs: Vec<&[u64]> = pieces.iter().map(|p| &p[..]).collect();
        // (`multiway_merge` reads the pieces in the scratch and writes the keys buffer.)
        multiway_merge(&refs, out);
        vec![self.keys.bytes(start..start + len)]
    }

    fn verify_distributed(
        &self,
        mem: &View<'_>,
        _parts: usize,
        written: &[Vec<std::ops::Range<usize>>],
    ) -> Result<(), VerifyError> {
        // The merged shares are in the keys buffer, where the twin leaves its result; a wrong
        // key is blamed on the part whose share holds it.
        self.verify(mem, None).map_err(|mut e| {
            if let Some(i) = e.index {
                if let Some(p) = written.iter().position(|w| w.iter().any(|r| r.contains(&self.keys.bytes(i..i + 1).start))) {
                    e.part = Some(p);
                    e.message = format!("{} (in part {p}'s share of the merge)", e.message);
                }
            }
            e
        })
    }

    fn part_memory(&self, part: usize, parts: usize) -> Vec<std::ops::Range<usize>> {
        // Its slice of the keys and of the scratch: written by the sort, and the scratch slice
        // again by the merge (its output range is the same part range).
        let r = part_range(self.n, part, parts);
        vec![self.keys.bytes(r.clone()), self.scratch.bytes(r)]
    }

    fn work_units(&self) -> WorkUnits {
        WorkUnits {
            count: self.n as f64,
            unit: "keys",
        }
    }
}

/// Samples each part takes from its run per part, for the distributed merge's splitters: more
/// samples, more even shares (regular sampling with this oversampling keeps every share within
/// a few per cent of n/P for random keys).
pub(crate) const SAMPLES_PER_PART: usize = 64;

/// The `parts - 1` splitters of the distributed merge: every part takes
/// [`SAMPLES_PER_PART`]` × parts` evenly spaced keys of its sorted run, all parts see all samples
/// (an all-gather), and the splitters are the samples at ranks `d × total / parts`.
pub(crate) fn distributed_splitters(run: &[u64], parts: usize, comm: &dyn Collectives) -> Vec<u64> {
    let k = (SAMPLES_PER_PART * parts).min(run.len());
    let samples: Vec<u64> = (0..k).map(|i| run[(2 * i + 1) * run.len() / (2 * k)]).collect();
    let mut all: Vec<u64> = comm
        .all_gather(u64s_as_bytes(&samples))
        .iter()
        .flat_map(|b| bytes_to_u64s(b))
        .collect();
    all.sort_unstable();
    splitters_from_samples(&all, parts)
}

/// The `parts - 1` splitters from the sorted samples of every run: the samples at ranks
/// `d × total / parts`; `u64::MAX` when there are no samples (every run empty).
pub(crate) fn splitters_from_samples(sorted_samples: &[u64], parts: usize) -> Vec<u64> {
    (1..parts)
        .map(|d| {
            sorted_samples
                .get(d * sorted_samples.len() / parts)
                .copied()
                .unwrap_or(u64::MAX)
        })
        .collect()
}

/// Where a sorted run splits by value: `bounds[d]..bounds[d + 1]` are the keys in
/// `[splitters[d - 1], splitters[d])` (from the start for the first, to the end for the last).
pub(crate) fn split_by_value(run: &[u64], splitters: &[u64]) -> Vec<usize> {
    let mut bounds = Vec::with_capacity(splitters.len() + 2);
    bounds.push(0);
    for &s in splitters {
        bounds.push(run.partition_point(|&x| x < s));
    }
    bounds.push(run.len());
    bounds
}

/// Leaves of the bottom-up sort behind `--yield-every`: blocks of this many keys are sorted whole
/// by [`merge_sort`] before the merge passes.
pub(crate) const LEAF_KEYS: usize = 1024;

/// Where a [`SortSteps`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortPhase {
    /// Sorting leaf blocks, the next one starting at this key.
    Leaves(usize),
    /// Merging pairs of sorted runs of `width` keys: the pair starting at `pair`, `out` of its
    /// output keys written.
    Merge { width: usize, pair: usize, out: usize },
    /// The sorted keys are in the scratch buffer: copying them back, from this key on.
    CopyBack(usize),
    /// Sorted, in the keys buffer.
    Done,
}

/// A part's sort as steps: a bottom-up merge sort with a yield point after about every `every`
/// keys of work (see the module docs).
struct SortSteps<'a> {
    keys: &'a mut [u64],
    scratch: &'a mut [u64],
    every: usize,
    phase: SortPhase,
    /// The current runs are in `scratch` (else in `keys`).
    in_scratch: bool,
}

impl<'a> SortSteps<'a> {
    fn new(keys: &'a mut [u64], scratch: &'a mut [u64], every: usize) -> SortSteps<'a> {
        SortSteps {
            keys,
            scratch,
            every: every.max(1),
            phase: SortPhase::Leaves(0),
            in_scratch: false,
        }
    }

    /// Do one piece of work; the keys it processed.
    fn piece(&mut self) -> usize {
        let n = self.keys.len();
        match self.phase {
            SortPhase::Leaves(at) => {
                let end = n.min(at + LEAF_KEYS);
                merge_sort(&mut self.keys[at..end], &mut self.scratch[at..end]);
                self.phase = if end < n {
                    SortPhase::Leaves(end)
                } else if n > LEAF_KEYS {
                    SortPhase::Merge {
                        width: LEAF_KEYS,
                        pair: 0,
                        out: 0,
                    }
                } else {
                    SortPhase::Done
                };
                end - at
            }
            SortPhase::Merge { width, pair, out } => {
                let (src, dst): (&[u64], &mut [u64]) = if self.in_scratch {
                    (&*self.scratch, &mut *self.keys)
                } else {
                    (&*self.keys, &mut *self.scratch)
                };
                let mid = n.min(pair + width);
                let hi = n.min(pair + 2 * width);
                let runs = [&src[pair..mid], &src[mid..hi]];
                let to = (hi - pair).min(out + self.every);
                let a = multiway_split(&runs, out);
                let b = multiway_split(&runs, to);
                let pieces = [&runs[0][a[0]..b[0]], &runs[1][a[1]..b[1]]];
                multiway_merge(&pieces, &mut dst[pair + out..pair + to]);
                self.phase = if to < hi - pair {
                    SortPhase::Merge {
                        width,
                        pair,
                        out: to,
                    }
                } else if hi < n {
                    SortPhase::Merge {
                        width,
                        pair: hi,
                        out: 0,
                    }
                } else {
                    self.in_scratch = !self.in_scratch;
                    if 2 * width < n {
                        SortPhase::Merge {
                            width: 2 * width,
                            pair: 0,
                            out: 0,
                        }
                    } else if self.in_scratch {
                        SortPhase::CopyBack(0)
                    } else {
                        SortPhase::Done
                    }
                };
                to - out
            }
            SortPhase::CopyBack(at) => {
                let end = n.min(at + self.every);
                self.keys[at..end].copy_from_slice(&self.scratch[at..end]);
                self.phase = if end < n {
                    SortPhase::CopyBack(end)
                } else {
                    SortPhase::Done
                };
                end - at
            }
            SortPhase::Done => 0,
        }
    }
}

impl PartSteps for SortSteps<'_> {
    fn next_step(&mut self) -> Step {
        let mut work = 0;
        while self.phase != SortPhase::Done {
            work += self.piece();
            if work >= self.every && self.phase != SortPhase::Done {
                return Step::Yield;
            }
        }
        Step::Done
    }
}

/// A part's share of the final merge as steps: pieces of `every` output keys, each merged from
/// its split points in every run, with a yield point between pieces.
struct MergeSteps<'a> {
    runs: Vec<&'a [u64]>,
    out: &'a mut [u64],
    /// Rank of the part's first output key.
    start: usize,
    /// Output keys written.
    done: usize,
    every: usize,
}

impl PartSteps for MergeSteps<'_> {
    fn next_step(&mut self) -> Step {
        let to = self.out.len().min(self.done + self.every.max(1));
        let a = multiway_split(&self.runs, self.start + self.done);
        let b = multiway_split(&self.runs, self.start + to);
        let pieces: Vec<&[u64]> = self
            .runs
            .iter()
            .zip(a.iter().zip(&b))
            .map(|(r, (&x, &y))| &r[x..y])
            .collect();
        multiway_merge(&pieces, &mut self.out[self.done..to]);
        self.done = to;
        if to < self.out.len() {
            Step::Yield
        } else {
            Step::Done
        }
    }
}

/// The keys of the workload with `seed`, in order (also what `concbench refs` sorts).
pub(crate) fn fill_keys(seed: u64, keys: &mut [u64]) {
    let mut g = XorShift::new(seed);
    for k in keys.iter_mut() {
        *k = g.next();
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{alone, run_staged, run_twin};
    use super::*;

    #[test]
    fn splitters_cut_runs_into_ordered_shares_for_awkward_counts() {
        for parts in [1, 2, 3, 7] {
            // Fewer samples than parts, none at all, and many equal keys.
            for samples in [vec![], vec![5], vec![1, 2, 3, 4, 5, 6, 7, 8, 9], vec![4; 20]] {
                let sp = splitters_from_samples(&samples, parts);
                assert_eq!(sp.len(), parts - 1);
                assert!(sp.windows(2).all(|w| w[0] <= w[1]), "{sp:?}");
                for run in [vec![], vec![4], vec![1, 4, 4, 4, 9], (0..50).collect::<Vec<u64>>()] {
                    let b = split_by_value(&run, &sp);
                    assert_eq!((b.len(), b[0], *b.last().unwrap()), (parts + 1, 0, run.len()));
                    for d in 0..parts {
                        assert!(b[d] <= b[d + 1]);
                        for &k in &run[b[d]..b[d + 1]] {
                            assert!(d == 0 || k >= sp[d - 1]);
                            assert!(d == parts - 1 || k < sp[d]);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn parts_and_merge_equal_the_twin_for_awkward_counts() {
        for size in [1, 2, 3, 5, 6, 100, 1001, 20_000] {
            let w = MergeSort::new(WorkloadSpec::new("mergesort", size, 3)).unwrap();
            run_twin(&w).unwrap();
            for parts in [1, 2, 3, 7] {
                run_staged(&w, parts).unwrap_or_else(|e| panic!("size {size} parts {parts}: {e}"));
            }
        }
    }

    #[test]
    fn yield_points_give_the_same_sorted_answer() {
        for size in [1, 3, 1000, 1025, 5000, 20_000] {
            for every in [1, 7, 1024, 3000] {
                let spec = WorkloadSpec::new("mergesort", size, 3).with("yield_every", every);
                let w = MergeSort::new(spec).unwrap();
                for parts in [1, 2, 3, 7] {
                    if every == 1 && size > 5000 {
                        continue;
                    }
                    run_staged(&w, parts)
                        .unwrap_or_else(|e| panic!("size {size} every {every} parts {parts}: {e}"));
                }
            }
        }
    }

    #[test]
    fn an_unsorted_result_fails_verification() {
        let w = MergeSort::new(WorkloadSpec::new("mergesort", 100, 3)).unwrap();
        let region = crate::shm::SharedRegion::new(w.shared_bytes()).unwrap();
        crate::workload::init(&w, region.mem());
        let e = crate::workload::verify(&w, region.mem(), None).unwrap_err();
        assert!(e.message.contains("not sorted") && e.index.is_some());
    }

    #[test]
    fn a_lost_key_fails_verification() {
        let w = MergeSort::new(WorkloadSpec::new("mergesort", 100, 3)).unwrap();
        let region = crate::shm::SharedRegion::new(w.shared_bytes()).unwrap();
        crate::workload::init(&w, region.mem());
        alone(&region, |v| {
            w.run_sequential(v);
        });
        alone(&region, |v| v.write(w.keys)[0] = 0);
        let e = crate::workload::verify(&w, region.mem(), None).unwrap_err();
        assert!(e.message.contains("permutation") && e.part.is_none());
    }

    #[test]
    fn zero_size_is_rejected() {
        assert!(MergeSort::new(WorkloadSpec::new("mergesort", 0, 1)).is_err());
    }
}
