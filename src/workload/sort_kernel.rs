//! Sort kernels for the `mergesort` workload: a stable merge sort and the pieces of a parallel
//! multiway merge. (Interim version: correct, not yet tuned.)

/// Sequential stable merge sort of `keys`, using `scratch` (same length) as the merge buffer.
pub fn merge_sort(keys: &mut [u64], scratch: &mut [u64]) {
    let n = keys.len();
    if n <= 24 {
        for i in 1..n {
            let mut j = i;
            while j > 0 && keys[j - 1] > keys[j] {
                keys.swap(j - 1, j);
                j -= 1;
            }
        }
        return;
    }
    let mid = n / 2;
    {
        let (a, b) = keys.split_at_mut(mid);
        let (sa, sb) = scratch.split_at_mut(mid);
        merge_sort(a, sa);
        merge_sort(b, sb);
    }
    if keys[mid - 1] <= keys[mid] {
        return;
    }
    scratch.copy_from_slice(keys);
    let (a, b) = scratch.split_at(mid);
    multiway_merge(&[a, b], keys);
}

/// Split points of a stable k-way merge: `idx[r]` elements of run r are among the `rank` smallest.
pub fn multiway_split(runs: &[&[u64]], rank: usize) -> Vec<usize> {
    let count_le = |v: u64| -> usize { runs.iter().map(|r| r.partition_point(|&x| x <= v)).sum() };
    let (mut lo, mut hi) = (0u64, u64::MAX);
    if rank == 0 {
        return vec![0; runs.len()];
    }
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if count_le(mid) >= rank {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let mut idx: Vec<usize> = runs
        .iter()
        .map(|r| r.partition_point(|&x| x < lo))
        .collect();
    let mut left = rank - idx.iter().sum::<usize>();
    for (r, run) in runs.iter().enumerate() {
        let eq = run.partition_point(|&x| x <= lo) - idx[r];
        let take = eq.min(left);
        idx[r] += take;
        left -= take;
    }
    idx
}

/// Stable merge of sorted `pieces` into `out`.
pub fn multiway_merge(pieces: &[&[u64]], out: &mut [u64]) {
    let mut pos = vec![0usize; pieces.len()];
    for o in out.iter_mut() {
        let mut best = usize::MAX;
        for (r, p) in pieces.iter().enumerate() {
            if pos[r] < p.len() && (best == usize::MAX || p[pos[r]] < pieces[best][pos[best]]) {
                best = r;
            }
        }
        *o = pieces[best][pos[best]];
        pos[best] += 1;
    }
}
