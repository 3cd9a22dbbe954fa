//! Matrix multiply kernels for the `matmul` workload. (Interim version: correct, not yet tuned.)

/// Which inner kernel computes the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// Packed, cache-blocked, SIMD.
    Blocked,
    /// The textbook triple loop.
    Naive,
}

/// Rows `row_start ..` of C = A·B (row-major n×n); `c_rows` holds those rows and is overwritten.
pub fn gemm_rows(
    _kernel: Kernel,
    n: usize,
    a: &[f64],
    b: &[f64],
    row_start: usize,
    c_rows: &mut [f64],
) {
    for (r, crow) in c_rows.chunks_mut(n).enumerate() {
        let i = row_start + r;
        crow.fill(0.0);
        for k in 0..n {
            let aik = a[i * n + k];
            for (c, bkj) in crow.iter_mut().zip(&b[k * n..(k + 1) * n]) {
                *c += aik * bkj;
            }
        }
    }
}

/// Name of the SIMD path the blocked kernel uses on this CPU.
pub fn simd_path() -> &'static str {
    "portable"
}
