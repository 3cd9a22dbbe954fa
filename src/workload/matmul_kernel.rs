//! Dense `f64` matrix multiplication kernels for the matmul workload.
//!
//! [`gemm_rows`] computes a horizontal band of rows of `C = A·B` for square,
//! row-major `n×n` matrices. Splitting `C` into row bands and handing each band
//! to a different thread (or process) is how the workload is parallelised: `A`
//! and `B` are only read, and every band of `C` is written by exactly one
//! caller, so no synchronisation is needed inside the kernel.
//!
//! Two kernels are provided (see [`Kernel`]):
//!
//! * [`Kernel::Blocked`] is a BLIS-style GEMM. `A` is packed into `MR`-row
//!   panels and `B` into `NR`-column panels (zero-padded to whole tiles), in
//!   `KC`-deep, `MC`-row and `NC`-column cache blocks, and a register-tiled
//!   micro-kernel accumulates an `MR×NR` tile of `C` with fused multiply-adds.
//!   The micro-kernel is picked at run time (`SimdPath`): AVX-512F
//!   (`8×24`, in inline assembly, so that the crate does not need the
//!   `_mm512_*` intrinsics stabilised only in Rust 1.89), AVX2+FMA (`6×8`,
//!   intrinsics), or a portable `4×8` kernel in plain Rust. Each has a
//!   half-height variant for thin blocks and edge strips. It is compute-bound
//!   and scales with cores.
//! * [`Kernel::Naive`] is the textbook `i-k-j` triple loop without blocking.
//!   It streams all of `B` from memory for every row of `C`, so it is
//!   bandwidth-bound and scales very differently.
//!
//! Every call packs what it needs by itself (`O(n²)` work against `O(n³)`
//! arithmetic), so calls are independent of each other. A thin row block
//! (fewer rows than `PACK_B_MIN_ROWS`, e.g. 1024 rows split 256 ways) cannot
//! amortise packing all of `B`, so it reads full-width `B` panels in place.
//! Even so, every call must stream all of `B` once: a block of `m` rows does
//! `2·m·n²` flops per `8·n²` bytes of `B`, so very thin blocks become bound by
//! cache bandwidth rather than by arithmetic.
//!
//! Packing buffers are cached per thread (a few MiB for `n` in the
//! thousands) and freed when the thread exits.

use super::scratch;

/// Which inner kernel computes the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kernel {
    /// Packed, cache-blocked, register-tiled, SIMD (AVX-512 / AVX2+FMA chosen at run time, portable fallback).
    Blocked,
    /// The textbook triple loop (i-k-j order, no blocking): memory-bound, kept so users can see how it scales differently.
    Naive,
}

/// Compute rows `row_start .. row_start + c_rows.len() / n` of C = A·B for row-major n×n f64
/// matrices `a` and `b` (each n*n long). `c_rows` holds exactly those rows of C and is overwritten.
///
/// An empty `c_rows` (an empty row block) is allowed and does nothing.
///
/// # Panics
///
/// Panics if `a` or `b` is not `n*n` long, if `c_rows.len()` is not a multiple
/// of `n`, or if the rows asked for run past row `n`.
pub(crate) fn gemm_rows(
    kernel: Kernel,
    n: usize,
    a: &[f64],
    b: &[f64],
    row_start: usize,
    c_rows: &mut [f64],
) {
    let nn = n.checked_mul(n).expect("matrix size overflows usize");
    assert_eq!(a.len(), nn, "a must be n*n long");
    assert_eq!(b.len(), nn, "b must be n*n long");
    if n == 0 {
        assert!(c_rows.is_empty(), "c_rows must be empty when n == 0");
        return;
    }
    assert_eq!(c_rows.len() % n, 0, "c_rows must hold whole rows");
    let m = c_rows.len() / n;
    assert!(
        row_start <= n && m <= n - row_start,
        "rows {row_start}..{} run past n = {n}",
        row_start + m
    );
    if m == 0 {
        return;
    }
    match kernel {
        Kernel::Naive => naive_rows(n, a, b, row_start, c_rows),
        Kernel::Blocked => blocked_rows(SimdPath::detect(), n, a, b, row_start, c_rows),
    }
}

/// Name of the SIMD path `Kernel::Blocked` uses on this CPU ("avx512f", "avx2+fma", "portable").
#[cfg(test)]
pub(crate) fn simd_path() -> &'static str {
    SimdPath::detect().name()
}

// ---------------------------------------------------------------------------
// Naive kernel
// ---------------------------------------------------------------------------

/// Compute a band of rows of C = A·B from the same rows of A: `a_rows` and `c_rows` each hold
/// `m` rows of n values (rows `r..r + m` of A and of C, for some `r`), `b` all of B. The same
/// kernels as [`gemm_rows`]; what a part that holds only its rows of A calls.
///
/// # Panics
///
/// Panics if `b` is not `n*n` long, if `c_rows.len()` is not a multiple of `n`, or if `a_rows`
/// and `c_rows` differ in length.
pub(crate) fn gemm_band(kernel: Kernel, n: usize, a_rows: &[f64], b: &[f64], c_rows: &mut [f64]) {
    let nn = n.checked_mul(n).expect("matrix size overflows usize");
    assert_eq!(b.len(), nn, "b must be n*n long");
    assert_eq!(
        a_rows.len(),
        c_rows.len(),
        "a_rows and c_rows must hold the same rows"
    );
    if n == 0 || c_rows.is_empty() {
        return;
    }
    assert_eq!(c_rows.len() % n, 0, "c_rows must hold whole rows");
    match kernel {
        Kernel::Naive => naive_rows(n, a_rows, b, 0, c_rows),
        Kernel::Blocked => blocked_rows(SimdPath::detect(), n, a_rows, b, 0, c_rows),
    }
}

/// `C[i][..] = Σ_k A[i][k] · B[k][..]`, one row of `C` at a time, no blocking.
fn naive_rows(n: usize, a: &[f64], b: &[f64], row_start: usize, c_rows: &mut [f64]) {
    for (r, c_row) in c_rows.chunks_exact_mut(n).enumerate() {
        let i = row_start + r;
        c_row.fill(0.0);
        let a_row = &a[i * n..(i + 1) * n];
        for (&aik, b_row) in a_row.iter().zip(b.chunks_exact(n)) {
            for (c, &bkj) in c_row.iter_mut().zip(b_row) {
                *c += aik * bkj;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// SIMD path selection
// ---------------------------------------------------------------------------

/// The micro-kernel family used by the blocked kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
enum SimdPath {
    /// 8×24 tile of zmm accumulators (x86-64 with AVX-512F).
    Avx512,
    /// 6×8 tile of ymm accumulators (x86-64 with AVX2 and FMA).
    Avx2Fma,
    /// 4×8 tile in plain Rust, left to the auto-vectoriser.
    Portable,
}

impl SimdPath {
    /// All paths, best first.
    const ALL: [Self; 3] = [Self::Avx512, Self::Avx2Fma, Self::Portable];

    /// Whether this CPU can run the path (feature detection is cached by std).
    fn supported(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Self::Avx512 => Avx512::new().is_some(),
            #[cfg(target_arch = "x86_64")]
            Self::Avx2Fma => Avx2Fma::new().is_some(),
            #[cfg(not(target_arch = "x86_64"))]
            Self::Avx512 | Self::Avx2Fma => false,
            Self::Portable => true,
        }
    }

    /// The best path this CPU supports.
    fn detect() -> Self {
        Self::ALL
            .into_iter()
            .find(|p| p.supported())
            .unwrap_or(Self::Portable)
    }

    /// Human-readable name of the path.
    #[cfg_attr(all(target_arch = "x86_64", not(test)), allow(dead_code))] // the panic elsewhere names the path
    fn name(self) -> &'static str {
        match self {
            Self::Avx512 => "avx512f",
            Self::Avx2Fma => "avx2+fma",
            Self::Portable => "portable",
        }
    }

    /// Every path this CPU can run, best first (used by the tests).
    #[cfg(test)]
    fn available() -> Vec<Self> {
        Self::ALL.into_iter().filter(|p| p.supported()).collect()
    }
}

/// Blocked kernel on an explicit path. Panics if the CPU lacks the path's features.
fn blocked_rows(
    path: SimdPath,
    n: usize,
    a: &[f64],
    b: &[f64],
    row_start: usize,
    c_rows: &mut [f64],
) {
    match path {
        #[cfg(target_arch = "x86_64")]
        SimdPath::Avx512 => {
            let k = Avx512::new().expect("CPU lacks avx512f");
            blocked(k, Blocking::of::<Avx512>(), n, a, b, row_start, c_rows);
        }
        #[cfg(target_arch = "x86_64")]
        SimdPath::Avx2Fma => {
            let k = Avx2Fma::new().expect("CPU lacks avx2+fma");
            blocked(k, Blocking::of::<Avx2Fma>(), n, a, b, row_start, c_rows);
        }
        #[cfg(not(target_arch = "x86_64"))]
        SimdPath::Avx512 | SimdPath::Avx2Fma => panic!("{} needs x86-64", path.name()),
        SimdPath::Portable => {
            blocked(
                Portable,
                Blocking::of::<Portable>(),
                n,
                a,
                b,
                row_start,
                c_rows,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Blocked driver (BLIS loop nest)
// ---------------------------------------------------------------------------

/// Largest `MR*NR` of any micro-kernel (sizes the edge-tile scratch buffer).
const MAX_TILE: usize = 8 * 24;

/// A register-tiled micro-kernel. A value of the implementing type is proof
/// that the CPU supports the instructions the kernel uses.
trait MicroKernel: Copy {
    /// Rows of the micro-tile (rows of a packed A panel).
    const MR: usize;
    /// Rows of the kernel's shorter variant, used for strips of at most this
    /// many rows (thin row blocks, the last strip of a block). `MR` if none.
    const HALF_MR: usize;
    /// Columns of the micro-tile (columns of a packed B panel).
    const NR: usize;
    /// Depth of one packed block (shared dimension).
    const KC: usize;
    /// Rows of A packed at a time (multiple of `MR`).
    const MC: usize;
    /// Columns of B packed at a time (multiple of `NR`).
    const NC: usize;
    /// Row blocks with at least this many rows pack B; thinner ones read it
    /// in place (see [`blocked`]).
    const PACK_B_MIN_ROWS: usize;

    /// `C[i][j] = (accumulate ? C[i][j] : 0) + Σ_k a[k*MR + i] · b[k*ldb + j]`
    /// for `i < rows`, `j < NR`, where `C[i][j]` is `c[i*ldc + j]`, `a` is a
    /// packed `MR`-row panel and `b` either a packed panel (`ldb == NR`) or
    /// `B` itself (`ldb == n`). `rows` is `MR` or `HALF_MR`.
    ///
    /// Panics (see [`check_tile`]) if a slice is too short for that.
    #[allow(clippy::too_many_arguments)]
    fn tile(
        self,
        rows: usize,
        kc: usize,
        a: &[f64],
        b: &[f64],
        ldb: usize,
        c: &mut [f64],
        ldc: usize,
        accumulate: bool,
    );
}

/// Cache-blocking sizes used by one run of the driver.
#[derive(Debug, Clone, Copy)]
struct Blocking {
    kc: usize,
    mc: usize,
    nc: usize,
    /// Row blocks with fewer rows than this read B in place, unpacked.
    pack_b_min_rows: usize,
}

impl Blocking {
    /// The tuned sizes of micro-kernel `K`.
    fn of<K: MicroKernel>() -> Self {
        Self {
            kc: K::KC,
            mc: K::MC,
            nc: K::NC,
            pack_b_min_rows: K::PACK_B_MIN_ROWS,
        }
    }
}

/// Round `x` up to a multiple of `m`.
fn round_up(x: usize, m: usize) -> usize {
    x.div_ceil(m) * m
}

/// Split `len` into `ceil(len / max)` nearly equal steps; returns the step.
fn balanced_step(len: usize, max: usize) -> usize {
    len.div_ceil(len.div_ceil(max))
}

/// Run `f` with two disjoint scratch slices of `len_a` and `len_b` values, both starting on a
/// 64-byte boundary. Their contents are unspecified: the packing routines overwrite what they
/// use. The memory comes from [`super::scratch`] (huge pages, pooled across calls).
fn with_scratch<R>(len_a: usize, len_b: usize, f: impl FnOnce(&mut [f64], &mut [f64]) -> R) -> R {
    let split = round_up(len_a, 8);
    let mut buf = scratch::take((split + len_b) * 8);
    let (pa, pb) = buf.as_f64_mut(split + len_b).split_at_mut(split);
    let result = f(&mut pa[..len_a], pb);
    scratch::give_back(buf);
    result
}

/// Pack `mc` rows (from `row0`) × `kc` columns (from `pc`) of row-major `a`
/// into `MR`-row panels: `dst[p*MR*kc + k*MR + i] = A[row0 + p*MR + i][pc + k]`,
/// zero-padding the last panel.
#[inline]
#[allow(clippy::too_many_arguments)]
fn pack_a<K: MicroKernel>(
    a: &[f64],
    n: usize,
    row0: usize,
    mc: usize,
    pc: usize,
    kc: usize,
    dst: &mut [f64],
) {
    let mr = K::MR;
    for (p, panel) in dst
        .chunks_exact_mut(mr * kc)
        .take(mc.div_ceil(mr))
        .enumerate()
    {
        let i0 = p * mr;
        let rows = mr.min(mc - i0);
        for i in 0..mr {
            if i < rows {
                let src = &a[(row0 + i0 + i) * n + pc..][..kc];
                for (d, &v) in panel[i..].iter_mut().step_by(mr).zip(src) {
                    *d = v;
                }
            } else {
                for d in panel[i..].iter_mut().step_by(mr) {
                    *d = 0.0;
                }
            }
        }
    }
}

/// Pack `kc` rows (from `pc`) × `nc` columns (from `jc`) of row-major `b`
/// into `NR`-column panels: `dst[q*NR*kc + k*NR + j] = B[pc + k][jc + q*NR + j]`,
/// zero-padding the last panel.
#[inline]
#[allow(clippy::too_many_arguments)]
fn pack_b<K: MicroKernel>(
    b: &[f64],
    n: usize,
    pc: usize,
    kc: usize,
    jc: usize,
    nc: usize,
    dst: &mut [f64],
) {
    let nr = K::NR;
    let full = nc / nr;
    for k in 0..kc {
        let src_row = &b[(pc + k) * n + jc..][..nc];
        let mut panels = src_row.chunks_exact(nr);
        for (q, src) in (&mut panels).enumerate() {
            let d = &mut dst[q * nr * kc + k * nr..][..nr];
            // Fixed 8-value chunks compile to inline vector moves (NR is a
            // multiple of 8), where a variable-length copy calls memcpy.
            for (dc, sc) in d.chunks_exact_mut(8).zip(src.chunks_exact(8)) {
                dc.copy_from_slice(sc);
            }
        }
        let rest = panels.remainder();
        if !rest.is_empty() {
            let d = &mut dst[full * nr * kc + k * nr..][..nr];
            d[..rest.len()].copy_from_slice(rest);
            d[rest.len()..].fill(0.0);
        }
    }
}

/// BLIS-style loop nest: `jc` (NC columns) → `pc` (KC depth, pack B) →
/// `ic` (MC rows, pack A) → `jr` (NR) → `ir` (MR) → micro-kernel.
fn blocked<K: MicroKernel>(
    kern: K,
    blk: Blocking,
    n: usize,
    a: &[f64],
    b: &[f64],
    row_start: usize,
    c_rows: &mut [f64],
) {
    let (mr, nr) = (K::MR, K::NR);
    debug_assert!(mr * nr <= MAX_TILE);
    let m = c_rows.len() / n;
    if m == 0 {
        return;
    }
    let kc_step = balanced_step(n, blk.kc);
    let mc_step = round_up(balanced_step(m, blk.mc), mr);
    let nc_step = round_up(balanced_step(n, blk.nc), nr);

    // Packing B reads it once and writes it once more; that only pays when
    // enough rows of A reuse the packed panels. Thin row blocks read
    // full-width B panels in place (each row of a panel is contiguous) and
    // pack only the ragged last panel.
    let pack_whole_b = m >= blk.pack_b_min_rows;
    let bbuf_len = if pack_whole_b {
        kc_step * round_up(nc_step.min(n), nr)
    } else {
        kc_step * nr
    };
    let abuf_len = kc_step * round_up(mc_step.min(m), mr);
    with_scratch(abuf_len, bbuf_len, |apack, bpack| {
        for jc in (0..n).step_by(nc_step) {
            let nc = nc_step.min(n - jc);
            for pc in (0..n).step_by(kc_step) {
                let kc = kc_step.min(n - pc);
                let accumulate = pc > 0;
                if pack_whole_b {
                    pack_b::<K>(b, n, pc, kc, jc, nc, bpack);
                }
                for ic in (0..m).step_by(mc_step) {
                    let mc = mc_step.min(m - ic);
                    pack_a::<K>(a, n, row_start + ic, mc, pc, kc, apack);
                    for jr in (0..nc).step_by(nr) {
                        let ncols = nr.min(nc - jr);
                        let (bp, ldb): (&[f64], usize) = if pack_whole_b {
                            (&bpack[(jr / nr) * nr * kc..][..nr * kc], nr)
                        } else if ncols == nr {
                            (&b[pc * n + jc + jr..][..(kc - 1) * n + nr], n)
                        } else {
                            pack_b::<K>(b, n, pc, kc, jc + jr, ncols, bpack);
                            (&bpack[..nr * kc], nr)
                        };
                        for ir in (0..mc).step_by(mr) {
                            let nrows = mr.min(mc - ir);
                            let ap = &apack[(ir / mr) * mr * kc..][..mr * kc];
                            let coff = (ic + ir) * n + jc + jr;
                            let krows = if nrows <= K::HALF_MR { K::HALF_MR } else { mr };
                            if nrows == krows && ncols == nr {
                                let c = &mut c_rows[coff..];
                                kern.tile(krows, kc, ap, bp, ldb, c, n, accumulate);
                            } else {
                                let mut tmp = [0.0; MAX_TILE];
                                kern.tile(krows, kc, ap, bp, ldb, &mut tmp, nr, false);
                                for (i, src) in tmp.chunks_exact(nr).take(nrows).enumerate() {
                                    let dst = &mut c_rows[coff + i * n..][..ncols];
                                    if accumulate {
                                        for (d, &s) in dst.iter_mut().zip(src) {
                                            *d += s;
                                        }
                                    } else {
                                        dst.copy_from_slice(&src[..ncols]);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    });
}

/// Check the arguments of [`MicroKernel::tile`]: `rows` is `MR` or
/// `HALF_MR`, the strides are at least `NR`, and `a`, `b` and `c` hold every
/// element the kernel touches.
#[inline(always)]
fn check_tile<K: MicroKernel>(
    rows: usize,
    kc: usize,
    a: &[f64],
    b: &[f64],
    ldb: usize,
    c: &[f64],
    ldc: usize,
) {
    assert!(
        rows == K::MR || rows == K::HALF_MR,
        "unsupported tile height"
    );
    assert!(
        ldb >= K::NR && ldc >= K::NR,
        "stride smaller than the tile width"
    );
    assert!(a.len() >= kc * K::MR, "packed A panel too short");
    assert!(
        kc == 0 || b.len() >= (kc - 1) * ldb + K::NR,
        "B panel too short"
    );
    assert!(c.len() >= (rows - 1) * ldc + K::NR, "C tile too short");
}

// ---------------------------------------------------------------------------
// Portable micro-kernel
// ---------------------------------------------------------------------------

/// Plain-Rust 4×8 micro-kernel (auto-vectorised).
#[derive(Debug, Clone, Copy)]
struct Portable;

/// `a*b + c`, fused where the target has a native FMA (never a libm call).
#[inline(always)]
fn madd(a: f64, b: f64, c: f64) -> f64 {
    if cfg!(any(target_arch = "aarch64", target_feature = "fma")) {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

impl MicroKernel for Portable {
    const MR: usize = 4;
    const HALF_MR: usize = 2;
    const NR: usize = 8;
    const KC: usize = 256;
    const MC: usize = 128;
    const NC: usize = 2048;
    const PACK_B_MIN_ROWS: usize = 24;

    fn tile(
        self,
        rows: usize,
        kc: usize,
        a: &[f64],
        b: &[f64],
        ldb: usize,
        c: &mut [f64],
        ldc: usize,
        accumulate: bool,
    ) {
        check_tile::<Self>(rows, kc, a, b, ldb, c, ldc);
        match rows {
            4 => tile_portable::<4>(kc, a, b, ldb, c, ldc, accumulate),
            _ => tile_portable::<2>(kc, a, b, ldb, c, ldc, accumulate),
        }
    }
}

/// The portable kernel for `R` rows (`a` is a 4-row panel, `b` 8 wide).
#[inline(always)]
fn tile_portable<const R: usize>(
    kc: usize,
    a: &[f64],
    b: &[f64],
    ldb: usize,
    c: &mut [f64],
    ldc: usize,
    accumulate: bool,
) {
    let mut acc = [[0.0f64; 8]; R];
    for (k, ak) in a.chunks_exact(4).take(kc).enumerate() {
        let bk = &b[k * ldb..][..8];
        for (row, &ai) in acc.iter_mut().zip(ak) {
            for (x, &bj) in row.iter_mut().zip(bk) {
                *x = madd(ai, bj, *x);
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        let dst = &mut c[i * ldc..][..8];
        if accumulate {
            for (d, &s) in dst.iter_mut().zip(row) {
                *d += s;
            }
        } else {
            dst.copy_from_slice(row);
        }
    }
}

// ---------------------------------------------------------------------------
// AVX2 + FMA micro-kernel
// ---------------------------------------------------------------------------

/// 6×8 AVX2+FMA micro-kernel: 12 ymm accumulators, 2 B loads and 6
/// broadcasts of A per step of k. Only constructible when the CPU has both.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy)]
struct Avx2Fma(());

#[cfg(target_arch = "x86_64")]
impl Avx2Fma {
    fn new() -> Option<Self> {
        (is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")).then_some(Self(()))
    }
}

#[cfg(target_arch = "x86_64")]
impl MicroKernel for Avx2Fma {
    const MR: usize = 6;
    const HALF_MR: usize = 3;
    const NR: usize = 8;
    const KC: usize = 256;
    const MC: usize = 120;
    const NC: usize = 2048;
    const PACK_B_MIN_ROWS: usize = 8;

    fn tile(
        self,
        rows: usize,
        kc: usize,
        a: &[f64],
        b: &[f64],
        ldb: usize,
        c: &mut [f64],
        ldc: usize,
        accumulate: bool,
    ) {
        check_tile::<Self>(rows, kc, a, b, ldb, c, ldc);
        let (ap, bp, cp) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
        // SAFETY: `self` exists only if avx2 and fma were detected, and
        // `check_tile` proved every pointer offset the kernel forms is in bounds.
        unsafe {
            match rows {
                6 => tile_avx2_fma::<6>(kc, ap, bp, ldb, cp, ldc, accumulate),
                _ => tile_avx2_fma::<3>(kc, ap, bp, ldb, cp, ldc, accumulate),
            }
        }
    }
}

/// # Safety
///
/// The CPU must support avx2 and fma; `a` (a 6-row panel) must be readable
/// for `kc*6` values, `b` for `(kc-1)*ldb + 8`, and `c` readable and
/// writable for `(R-1)*ldc + 8`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile_avx2_fma<const R: usize>(
    kc: usize,
    a: *const f64,
    b: *const f64,
    ldb: usize,
    c: *mut f64,
    ldc: usize,
    accumulate: bool,
) {
    use std::arch::x86_64::*;
    // SAFETY: the caller guarantees the features and the extents above; every
    // load/store below stays inside them.
    unsafe {
        let mut acc = [[_mm256_setzero_pd(); 2]; R];
        let (mut ap, mut bp) = (a, b);
        for _ in 0..kc {
            let b0 = _mm256_loadu_pd(bp);
            let b1 = _mm256_loadu_pd(bp.add(4));
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = _mm256_broadcast_sd(&*ap.add(i));
                row[0] = _mm256_fmadd_pd(ai, b0, row[0]);
                row[1] = _mm256_fmadd_pd(ai, b1, row[1]);
            }
            ap = ap.add(6);
            bp = bp.add(ldb);
        }
        for (i, row) in acc.iter().enumerate() {
            let cp = c.add(i * ldc);
            let (mut r0, mut r1) = (row[0], row[1]);
            if accumulate {
                r0 = _mm256_add_pd(r0, _mm256_loadu_pd(cp));
                r1 = _mm256_add_pd(r1, _mm256_loadu_pd(cp.add(4)));
            }
            _mm256_storeu_pd(cp, r0);
            _mm256_storeu_pd(cp.add(4), r1);
        }
    }
}

// ---------------------------------------------------------------------------
// AVX-512 micro-kernel (inline assembly)
// ---------------------------------------------------------------------------

/// 8×24 AVX-512F micro-kernel: 24 zmm accumulators (zmm0–zmm23), 3 B loads
/// and 8 broadcasts of A per step of k, plus a 4×24 variant (12
/// accumulators) for thin row blocks and edge strips. Only constructible when
/// the CPU (and OS) support AVX-512F.
///
/// Written in inline assembly rather than `_mm512_*` intrinsics, which only
/// became stable in Rust 1.89, so the crate keeps its older MSRV.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy)]
struct Avx512(());

#[cfg(target_arch = "x86_64")]
impl Avx512 {
    fn new() -> Option<Self> {
        is_x86_feature_detected!("avx512f").then_some(Self(()))
    }
}

// Register use of the AVX-512 kernels (fixed, because `clobber_abi` needs
// explicit output registers): rsi = A panel, rdx = B row, rdi = C row,
// rcx = kc, rax = scratch, r8 = ldc in bytes, r9 = accumulate flag,
// r10 = ldb in bytes, r11 = 3*ldb in bytes. Accumulator of row i, vector v is
// zmm(3i+v); zmm24-26 hold the B row; zmm27-31 the broadcast A values.

/// One row of one step of k: broadcast `A[i][k]` (byte offset `$off` from
/// rsi) into `zmm$t` and FMA it with the three B vectors.
#[cfg(target_arch = "x86_64")]
#[rustfmt::skip]
macro_rules! avx512_row {
    ($c0:literal, $c1:literal, $c2:literal, $off:literal, $t:literal) => {
        concat!(
            "vbroadcastsd zmm", $t, ", qword ptr [rsi + ", $off, "]\n",
            "vfmadd231pd zmm", $c0, ", zmm24, zmm", $t, "\n",
            "vfmadd231pd zmm", $c1, ", zmm25, zmm", $t, "\n",
            "vfmadd231pd zmm", $c2, ", zmm26, zmm", $t, "\n",
        )
    };
}

/// Load the B row at address `$b` (an assembly expression) into zmm24-26.
#[cfg(target_arch = "x86_64")]
#[rustfmt::skip]
macro_rules! avx512_load_b {
    ($b:literal) => {
        concat!(
            "vmovupd zmm24, zmmword ptr [", $b, "]\n",
            "vmovupd zmm25, zmmword ptr [", $b, " + 64]\n",
            "vmovupd zmm26, zmmword ptr [", $b, " + 128]\n",
        )
    };
}

/// One step of k of the 8-row kernel (`$a0..$a7`: byte offsets into A).
#[cfg(target_arch = "x86_64")]
#[rustfmt::skip]
macro_rules! avx512_step8 {
    ($b:literal, $a0:literal, $a1:literal, $a2:literal, $a3:literal,
     $a4:literal, $a5:literal, $a6:literal, $a7:literal) => {
        concat!(
            avx512_load_b!($b),
            avx512_row!(0, 1, 2, $a0, 27),
            avx512_row!(3, 4, 5, $a1, 28),
            avx512_row!(6, 7, 8, $a2, 29),
            avx512_row!(9, 10, 11, $a3, 30),
            avx512_row!(12, 13, 14, $a4, 31),
            avx512_row!(15, 16, 17, $a5, 27),
            avx512_row!(18, 19, 20, $a6, 28),
            avx512_row!(21, 22, 23, $a7, 29),
        )
    };
}

/// One step of k of the 4-row kernel (reads the first four rows of the
/// 8-row A panel; `$a4..$a7` are unused).
#[cfg(target_arch = "x86_64")]
#[rustfmt::skip]
macro_rules! avx512_step4 {
    ($b:literal, $a0:literal, $a1:literal, $a2:literal, $a3:literal,
     $a4:literal, $a5:literal, $a6:literal, $a7:literal) => {
        concat!(
            avx512_load_b!($b),
            avx512_row!(0, 1, 2, $a0, 27),
            avx512_row!(3, 4, 5, $a1, 28),
            avx512_row!(6, 7, 8, $a2, 29),
            avx512_row!(9, 10, 11, $a3, 30),
        )
    };
}

/// Zero the accumulators of rows 0-3.
#[cfg(target_arch = "x86_64")]
#[rustfmt::skip]
macro_rules! avx512_zero4 {
    () => {
        concat!(
            "vpxord zmm0, zmm0, zmm0\n", "vpxord zmm1, zmm1, zmm1\n",
            "vpxord zmm2, zmm2, zmm2\n", "vpxord zmm3, zmm3, zmm3\n",
            "vpxord zmm4, zmm4, zmm4\n", "vpxord zmm5, zmm5, zmm5\n",
            "vpxord zmm6, zmm6, zmm6\n", "vpxord zmm7, zmm7, zmm7\n",
            "vpxord zmm8, zmm8, zmm8\n", "vpxord zmm9, zmm9, zmm9\n",
            "vpxord zmm10, zmm10, zmm10\n", "vpxord zmm11, zmm11, zmm11\n",
        )
    };
}

/// Zero the accumulators of rows 0-7.
#[cfg(target_arch = "x86_64")]
#[rustfmt::skip]
macro_rules! avx512_zero8 {
    () => {
        concat!(
            avx512_zero4!(),
            "vpxord zmm12, zmm12, zmm12\n", "vpxord zmm13, zmm13, zmm13\n",
            "vpxord zmm14, zmm14, zmm14\n", "vpxord zmm15, zmm15, zmm15\n",
            "vpxord zmm16, zmm16, zmm16\n", "vpxord zmm17, zmm17, zmm17\n",
            "vpxord zmm18, zmm18, zmm18\n", "vpxord zmm19, zmm19, zmm19\n",
            "vpxord zmm20, zmm20, zmm20\n", "vpxord zmm21, zmm21, zmm21\n",
            "vpxord zmm22, zmm22, zmm22\n", "vpxord zmm23, zmm23, zmm23\n",
        )
    };
}

/// Touch the (up to four) cache lines of one 24-double row of C at rax,
/// then advance rax by one row.
#[cfg(target_arch = "x86_64")]
#[rustfmt::skip]
macro_rules! avx512_prefetch_c_row {
    () => {
        concat!(
            "prefetcht0 [rax]\n",
            "prefetcht0 [rax + 64]\n",
            "prefetcht0 [rax + 128]\n",
            "prefetcht0 [rax + 191]\n",
            "add rax, r8\n",
        )
    };
}

/// Prefetch the four rows of a 4×24 C tile starting at rax.
#[cfg(target_arch = "x86_64")]
#[rustfmt::skip]
macro_rules! avx512_prefetch_c4 {
    () => {
        concat!(
            avx512_prefetch_c_row!(), avx512_prefetch_c_row!(),
            avx512_prefetch_c_row!(), avx512_prefetch_c_row!(),
        )
    };
}

/// Prefetch the eight rows of an 8×24 C tile starting at rax.
#[cfg(target_arch = "x86_64")]
macro_rules! avx512_prefetch_c8 {
    () => {
        concat!(avx512_prefetch_c4!(), avx512_prefetch_c4!())
    };
}

/// Write one row of accumulators to C at rdi (adding C first with `add`),
/// then advance rdi by one row.
#[cfg(target_arch = "x86_64")]
#[rustfmt::skip]
macro_rules! avx512_store_row {
    (add, $c0:literal, $c1:literal, $c2:literal) => {
        concat!(
            "vaddpd zmm", $c0, ", zmm", $c0, ", zmmword ptr [rdi]\n",
            "vaddpd zmm", $c1, ", zmm", $c1, ", zmmword ptr [rdi + 64]\n",
            "vaddpd zmm", $c2, ", zmm", $c2, ", zmmword ptr [rdi + 128]\n",
            avx512_store_row!(set, $c0, $c1, $c2),
        )
    };
    (set, $c0:literal, $c1:literal, $c2:literal) => {
        concat!(
            "vmovupd zmmword ptr [rdi], zmm", $c0, "\n",
            "vmovupd zmmword ptr [rdi + 64], zmm", $c1, "\n",
            "vmovupd zmmword ptr [rdi + 128], zmm", $c2, "\n",
            "add rdi, r8\n",
        )
    };
}

/// Write back a 4×24 tile.
#[cfg(target_arch = "x86_64")]
#[rustfmt::skip]
macro_rules! avx512_store4 {
    ($mode:ident) => {
        concat!(
            avx512_store_row!($mode, 0, 1, 2),
            avx512_store_row!($mode, 3, 4, 5),
            avx512_store_row!($mode, 6, 7, 8),
            avx512_store_row!($mode, 9, 10, 11),
        )
    };
}

/// Write back an 8×24 tile.
#[cfg(target_arch = "x86_64")]
#[rustfmt::skip]
macro_rules! avx512_store8 {
    ($mode:ident) => {
        concat!(
            avx512_store4!($mode),
            avx512_store_row!($mode, 12, 13, 14),
            avx512_store_row!($mode, 15, 16, 17),
            avx512_store_row!($mode, 18, 19, 20),
            avx512_store_row!($mode, 21, 22, 23),
        )
    };
}

/// The whole AVX-512 micro-kernel for one tile height, given the names of
/// that height's zero / prefetch / step / store macros. Must be expanded in
/// an `unsafe` block whose caller upholds `Avx512::tile`'s checks.
#[cfg(target_arch = "x86_64")]
macro_rules! avx512_tile_asm {
    ($zero:ident, $prefetch:ident, $step:ident, $store:ident,
     $a:expr, $b:expr, $ldb:expr, $c:expr, $ldc:expr, $kc:expr, $acc:expr) => {
        std::arch::asm!(
            $zero!(),
            // Prefetch the C tile while the products are computed.
            "mov rax, rdi",
            $prefetch!(),
            // Main loop, unrolled by 4 steps of k.
            "mov rax, rcx",
            "shr rax, 2",
            "jz 3f",
            "2:",
            $step!("rdx", 0, 8, 16, 24, 32, 40, 48, 56),
            $step!("rdx + r10", 64, 72, 80, 88, 96, 104, 112, 120),
            $step!("rdx + r10*2", 128, 136, 144, 152, 160, 168, 176, 184),
            $step!("rdx + r11", 192, 200, 208, 216, 224, 232, 240, 248),
            "add rsi, 256",
            "lea rdx, [rdx + r10*4]",
            "dec rax",
            "jnz 2b",
            "3:",
            // Remaining 0-3 steps of k.
            "and rcx, 3",
            "jz 5f",
            "4:",
            $step!("rdx", 0, 8, 16, 24, 32, 40, 48, 56),
            "add rsi, 64",
            "add rdx, r10",
            "dec rcx",
            "jnz 4b",
            "5:",
            "test r9, r9",
            "jz 6f",
            $store!(add),
            "jmp 7f",
            "6:",
            $store!(set),
            "7:",
            "vzeroupper",
            inout("rsi") $a => _,
            inout("rdx") $b => _,
            inout("rdi") $c => _,
            inout("rcx") $kc => _,
            out("rax") _,
            in("r8") $ldc * 8,
            in("r9") usize::from($acc),
            in("r10") $ldb * 8,
            in("r11") $ldb * 24,
            clobber_abi("sysv64"),
            options(nostack),
        )
    };
}

#[cfg(target_arch = "x86_64")]
impl MicroKernel for Avx512 {
    const MR: usize = 8;
    const HALF_MR: usize = 4;
    const NR: usize = 24;
    const KC: usize = 384;
    const MC: usize = 192;
    const NC: usize = 2040;
    const PACK_B_MIN_ROWS: usize = 112;

    fn tile(
        self,
        rows: usize,
        kc: usize,
        a: &[f64],
        b: &[f64],
        ldb: usize,
        c: &mut [f64],
        ldc: usize,
        accumulate: bool,
    ) {
        check_tile::<Self>(rows, kc, a, b, ldb, c, ldc);
        let (ap, bp, cp) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
        // SAFETY: `self` exists only if avx512f was detected (std also checks
        // that the OS saves the zmm state). `check_tile` proved that the
        // kernel's reads of `a[k*8 + i]` and `b[k*ldb + j]` and its reads and
        // writes of `c[i*ldc + j]`, for `k < kc`, `i < rows`, `j < 24`, are
        // in bounds. The assembly uses no stack; it clobbers only its operand
        // registers and vector registers, all of which
        // `clobber_abi("sysv64")` declares (every vector register is
        // caller-saved in the SysV ABI; naming it rather than "C" keeps that
        // true on Windows, whose ABI preserves xmm6-15).
        unsafe {
            match rows {
                8 => avx512_tile_asm!(
                    avx512_zero8,
                    avx512_prefetch_c8,
                    avx512_step8,
                    avx512_store8,
                    ap,
                    bp,
                    ldb,
                    cp,
                    ldc,
                    kc,
                    accumulate
                ),
                _ => avx512_tile_asm!(
                    avx512_zero4,
                    avx512_prefetch_c4,
                    avx512_step4,
                    avx512_store4,
                    ap,
                    bp,
                    ldb,
                    cp,
                    ldc,
                    kc,
                    accumulate
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tiny deterministic xorshift64 generator.
    struct XorShift(u64);

    impl XorShift {
        fn next_f64(&mut self) -> f64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            // 53 random bits mapped to [-1, 1).
            (x >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        }
    }

    fn random_matrix(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = XorShift(seed | 1);
        (0..n * n).map(|_| rng.next_f64()).collect()
    }

    fn reference(n: usize, a: &[f64], b: &[f64]) -> Vec<f64> {
        let mut c = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                let mut s = 0.0;
                for k in 0..n {
                    s += a[i * n + k] * b[k * n + j];
                }
                c[i * n + j] = s;
            }
        }
        c
    }

    fn assert_close(n: usize, got: &[f64], want: &[f64], what: &str) {
        for (idx, (&g, &w)) in got.iter().zip(want).enumerate() {
            let tol = 1e-9 * w.abs().max(1.0);
            assert!(
                (g - w).abs() <= tol,
                "{what}: n={n} C[{}][{}] = {g}, expected {w}",
                idx / n,
                idx % n
            );
        }
    }

    /// Compute C in `parts` row blocks (as the workload splits it), starting
    /// from garbage so that a block that is not overwritten is caught.
    fn run_split(n: usize, parts: usize, f: impl Fn(usize, &mut [f64])) -> Vec<f64> {
        let mut c = vec![f64::NAN; n * n];
        for p in 0..parts {
            let (r0, r1) = (p * n / parts, (p + 1) * n / parts);
            f(r0, &mut c[r0 * n..r1 * n]);
        }
        c
    }

    const SIZES: [usize; 10] = [1, 2, 3, 5, 7, 17, 33, 64, 100, 129];
    const PARTS: [usize; 5] = [1, 2, 3, 7, 200];

    #[test]
    fn naive_matches_reference() {
        for (s, &n) in SIZES.iter().enumerate() {
            let a = random_matrix(n, 11 + s as u64);
            let b = random_matrix(n, 97 + s as u64);
            let want = reference(n, &a, &b);
            for parts in PARTS {
                let got = run_split(n, parts, |r0, c| gemm_rows(Kernel::Naive, n, &a, &b, r0, c));
                assert_close(n, &got, &want, &format!("naive P={parts}"));
            }
        }
    }

    #[test]
    fn blocked_matches_reference_on_every_path() {
        let paths = SimdPath::available();
        assert!(paths.contains(&SimdPath::detect()));
        for (s, &n) in SIZES.iter().enumerate() {
            let a = random_matrix(n, 5 + s as u64);
            let b = random_matrix(n, 1234 + s as u64);
            let want = reference(n, &a, &b);
            for &path in &paths {
                for parts in PARTS {
                    let got = run_split(n, parts, |r0, c| blocked_rows(path, n, &a, &b, r0, c));
                    assert_close(n, &got, &want, &format!("{} P={parts}", path.name()));
                }
            }
            let got = run_split(n, 3, |r0, c| gemm_rows(Kernel::Blocked, n, &a, &b, r0, c));
            assert_close(n, &got, &want, "gemm_rows(Blocked)");
            for kernel in [Kernel::Blocked, Kernel::Naive] {
                let got = run_split(n, 3, |r0, c| {
                    gemm_band(kernel, n, &a[r0 * n..r0 * n + c.len()], &b, c)
                });
                assert_close(n, &got, &want, "gemm_band");
            }
        }
    }

    /// A size above every path's KC, MC and PACK_B_MIN_ROWS, so the real
    /// blocking (several depth blocks, accumulation, packed and in-place B)
    /// is exercised as tuned.
    #[test]
    fn blocked_with_real_blocking() {
        let n = 400;
        let a = random_matrix(n, 4242);
        let b = random_matrix(n, 4343);
        let want = reference(n, &a, &b);
        for path in SimdPath::available() {
            for parts in [1, 7] {
                let got = run_split(n, parts, |r0, c| blocked_rows(path, n, &a, &b, r0, c));
                assert_close(n, &got, &want, &format!("{} P={parts}", path.name()));
            }
        }
    }

    /// Tiny cache blocks so that small matrices go through every loop of the
    /// driver more than once (several jc, pc and ic blocks, accumulation).
    fn small_blocks<K: MicroKernel>(kern: K, n: usize, a: &[f64], b: &[f64], want: &[f64]) {
        for pack_b_min_rows in [0, usize::MAX] {
            let blk = Blocking {
                kc: 5,
                mc: 2 * K::MR,
                nc: 2 * K::NR,
                pack_b_min_rows,
            };
            for parts in [1, 2, 3, 7] {
                let got = run_split(n, parts, |r0, c| blocked(kern, blk, n, a, b, r0, c));
                let what = format!("small blocks MR={} P={parts} {blk:?}", K::MR);
                assert_close(n, &got, want, &what);
            }
        }
    }

    #[test]
    fn blocked_with_small_cache_blocks() {
        for (s, n) in [13usize, 50, 71].into_iter().enumerate() {
            let a = random_matrix(n, 77 + s as u64);
            let b = random_matrix(n, 78 + s as u64);
            let want = reference(n, &a, &b);
            small_blocks(Portable, n, &a, &b, &want);
            #[cfg(target_arch = "x86_64")]
            {
                if let Some(k) = Avx2Fma::new() {
                    small_blocks(k, n, &a, &b, &want);
                }
                if let Some(k) = Avx512::new() {
                    small_blocks(k, n, &a, &b, &want);
                }
            }
        }
    }

    #[test]
    fn empty_and_zero_sized() {
        let a = random_matrix(4, 1);
        let b = random_matrix(4, 2);
        gemm_rows(Kernel::Blocked, 4, &a, &b, 4, &mut []);
        gemm_rows(Kernel::Naive, 4, &a, &b, 0, &mut []);
        gemm_rows(Kernel::Blocked, 0, &[], &[], 0, &mut []);
    }

    #[test]
    #[should_panic]
    fn rows_past_the_end_panic() {
        let a = random_matrix(4, 1);
        let b = random_matrix(4, 2);
        let mut c = vec![0.0; 8];
        gemm_rows(Kernel::Blocked, 4, &a, &b, 3, &mut c);
    }

    #[test]
    fn simd_path_name() {
        assert!(["avx512f", "avx2+fma", "portable"].contains(&simd_path()));
    }
}
