//! `matmul`: dense f64 C = A·B of order n; part p owns the row block `[p*n/P, (p+1)*n/P)` of C.
//!
//! A and B are written once, shared read-only by every part; each part writes only its rows of C,
//! so there is no combine stage. The result is checked after timing with Freivalds' method:
//! C·r must equal A·(B·r) for a seeded vector r, which costs O(n²) and does not trust the kernel.
//! The kernels (blocked SIMD and naive) live in [`super::matmul_kernel`].

use super::matmul_kernel::{gemm_rows, Kernel};
use super::registry::{ParamDescriptor, ParamKind, YIELD_EVERY};
use super::{
    PartData,
    part_range, run_steps_blocking, Ceiling, PartSteps, Stage, StageKind, Step, VerifyError, WholePart,
    WorkUnits, Workload, WorkloadDescriptor, WorkloadError, WorkloadSpec, XorShift,
};
use crate::shm::SharedMem;

/// `matmul` in the registry.
pub const DESCRIPTOR: WorkloadDescriptor = WorkloadDescriptor {
    name: "matmul",
    description: "dense f64 C = A*B of order --size; parts own row blocks of C (compute-bound; --kernel naive is memory-bound)",
    size_unit: "matrix order n",
    params: &[
        ParamDescriptor {
            name: "kernel",
            flag: "kernel",
            kind: ParamKind::Choice(&["blocked", "naive"]),
            default: "blocked",
            help: "`blocked` (packed SIMD, default) or `naive` (triple loop, memory-bound)",
        },
        YIELD_EVERY,
    ],
    default_size: 1024,
    memory_needed: MatMul::bytes_for,
    ceiling: Ceiling::ComputeBound,
    build: |spec| Ok(Box::new(MatMul::new(spec.clone())?)),
    service: false,
};

/// The matrix multiply workload.
#[derive(Debug)]
pub struct MatMul {
    spec: WorkloadSpec,
    n: usize,
    kernel: Kernel,
    /// Rows of C between yield points (0: none).
    yield_every: usize,
}

impl MatMul {
    /// Build from a spec; `size` is the matrix order n; param `kernel` is `blocked` (default) or
    /// `naive`.
    pub fn new(spec: WorkloadSpec) -> Result<MatMul, WorkloadError> {
        if spec.size == 0 {
            return Err(WorkloadError::BadSize("--size must be at least 1".into()));
        }
        DESCRIPTOR.check_params(&spec)?;
        let kernel = match spec.params.get("kernel").map(String::as_str) {
            Some("naive") => Kernel::Naive,
            _ => Kernel::Blocked,
        };
        Ok(MatMul {
            n: spec.size,
            yield_every: spec.param("yield_every", 0)?,
            spec,
            kernel,
        })
    }

    /// Bytes of shared memory for order `n`: A, B and C.
    pub fn bytes_for(n: usize) -> u128 {
        3 * (n as u128) * (n as u128) * 8
    }

    fn matrix_bytes(&self) -> usize {
        (self.n * self.n * 8).next_multiple_of(4096)
    }

    /// Rows `rows` of C = A·B.
    fn multiply_rows(&self, mem: &SharedMem, rows: std::ops::Range<usize>) {
        let n = self.n;
        // SAFETY: A and B are only read during the stage; rows of C are disjoint between parts.
        let (a, b, c) = unsafe {
            (
                self.matrix(mem, 0),
                self.matrix(mem, 1),
                mem.slice_mut::<f64>(2 * self.matrix_bytes() + rows.start * n * 8, rows.len() * n),
            )
        };
        gemm_rows(self.kernel, n, a, b, rows.start, c);
    }

    /// Matrix 0 (A), 1 (B) or 2 (C), read-only.
    ///
    /// # Safety
    /// No part may be writing the same matrix range.
    unsafe fn matrix<'m>(&self, mem: &'m SharedMem, which: usize) -> &'m [f64] {
        mem.slice(which * self.matrix_bytes(), self.n * self.n)
    }
}

impl Workload for MatMul {
    fn spec(&self) -> &WorkloadSpec {
        &self.spec
    }

    fn shared_bytes(&self) -> usize {
        3 * self.matrix_bytes()
    }

    fn stages(&self, _parts: usize) -> Vec<Stage> {
        vec![Stage {
            name: "multiply",
            kind: StageKind::Compute,
        }]
    }

    fn init(&self, mem: &SharedMem) {
        let n2 = self.n * self.n;
        // SAFETY: init runs alone; A and B are disjoint ranges.
        let (a, b) = unsafe {
            (
                mem.slice_mut::<f64>(0, n2),
                mem.slice_mut::<f64>(self.matrix_bytes(), n2),
            )
        };
        fill_inputs(self.spec.seed, a, b);
    }

    fn reset(&self, mem: &SharedMem) {
        // C starts as NaN, so a part that skips its rows cannot pass on the last repetition's
        // answer: the check after timing sees the NaN.
        // SAFETY: reset runs alone.
        unsafe { mem.slice_mut::<f64>(2 * self.matrix_bytes(), self.n * self.n) }.fill(f64::NAN);
    }

    fn run_sequential(&self, mem: &SharedMem) {
        // The twin has no yield points.
        self.multiply_rows(mem, 0..self.n);
    }

    fn run_part(&self, mem: &SharedMem, stage: usize, part: usize, parts: usize) {
        if self.yield_every > 0 {
            return run_steps_blocking(&mut *self.part_steps(*mem, stage, part, parts));
        }
        self.multiply_rows(mem, part_range(self.n, part, parts));
    }

    fn part_steps<'a>(
        &'a self,
        mem: SharedMem<'a>,
        _stage: usize,
        part: usize,
        parts: usize,
    ) -> Box<dyn PartSteps + 'a> {
        if self.yield_every == 0 {
            // No yield points asked for: the same kernel as every other strategy.
            return Box::new(WholePart(Some(move || {
                self.run_part(&mem, _stage, part, parts)
            })));
        }
        let rows = part_range(self.n, part, parts);
        let every = if self.yield_every == 0 {
            rows.len().max(1)
        } else {
            self.yield_every
        };
        Box::new(RowSteps {
            mm: self,
            mem,
            next: rows.start,
            end: rows.end,
            every,
        })
    }


    fn verify(&self, mem: &SharedMem, parts: Option<usize>) -> Result<(), VerifyError> {
        let n = self.n;
        // SAFETY: verification runs alone.
        let (a, b, c) = unsafe {
            (
                self.matrix(mem, 0),
                self.matrix(mem, 1),
                self.matrix(mem, 2),
            )
        };
        let mut g = XorShift::new(self.spec.seed ^ 0xF7E1_D3A5);
        let r: Vec<f64> = (0..n)
            .map(|_| (g.next() % 1024) as f64 / 1024.0 + 0.5)
            .collect();
        let br: Vec<f64> = (0..n).map(|k| dot(&b[k * n..(k + 1) * n], &r)).collect();
        for i in 0..n {
            let want = dot(&a[i * n..(i + 1) * n], &br);
            let got = dot(&c[i * n..(i + 1) * n], &r);
            let scale: f64 = a[i * n..(i + 1) * n].iter().map(|x| x.abs()).sum::<f64>()
                * br.iter().map(|x| x.abs()).fold(0.0, f64::max)
                + 1.0;
            let close = (got - want).abs() <= 1e-9 * scale;
            if !close {
                return Err(VerifyError::at_item(n, i, parts, |owner| {
                    format!("row {i} of C is wrong{owner}: checksum {got} but A·(B·r) gives {want}")
                }));
            }
        }
        Ok(())
    }

    fn part_data(&self, _stage: usize, part: usize, parts: usize) -> Option<PartData> {
        // Its rows of A and all of B in (rank 0 scatters A's row blocks and broadcasts B), its
        // rows of C out.
        let rows = part_range(self.n, part, parts);
        let (m, row) = (self.matrix_bytes(), self.n * 8);
        Some(
            PartData::new()
                .read(rows.start * row..rows.end * row)
                .read(m..m + self.n * row)
                .write(2 * m + rows.start * row..2 * m + rows.end * row),
        )
    }

    fn part_memory(&self, part: usize, parts: usize) -> Vec<std::ops::Range<usize>> {
        // Its rows of A and C, and all of B.
        let rows = part_range(self.n, part, parts);
        let (m, row) = (self.matrix_bytes(), self.n * 8);
        vec![
            rows.start * row..rows.end * row,
            m..m + self.n * row,
            2 * m + rows.start * row..2 * m + rows.end * row,
        ]
    }

    fn work_units(&self) -> WorkUnits {
        WorkUnits {
            count: 2.0 * (self.n as f64).powi(3),
            unit: "flop",
        }
    }
}

/// A matmul part as steps: `every` rows of C, then a yield point.
struct RowSteps<'a> {
    mm: &'a MatMul,
    mem: SharedMem<'a>,
    next: usize,
    end: usize,
    every: usize,
}

impl PartSteps for RowSteps<'_> {
    fn next_step(&mut self) -> Step {
        if self.next >= self.end {
            return Step::Done;
        }
        let to = self.end.min(self.next + self.every);
        self.mm.multiply_rows(&self.mem, self.next..to);
        self.next = to;
        if to < self.end {
            Step::Yield
        } else {
            Step::Done
        }
    }
}

fn dot(x: &[f64], y: &[f64]) -> f64 {
    x.iter().zip(y).map(|(a, b)| a * b).sum()
}

/// A and B of the workload with `seed` (each n × n, row-major), uniform in [-0.5, 0.5): A
/// first, then B from the same stream (also what `concbench refs` multiplies).
pub fn fill_inputs(seed: u64, a: &mut [f64], b: &mut [f64]) {
    let mut g = XorShift::new(seed);
    for x in a.iter_mut().chain(b.iter_mut()) {
        *x = (g.next() >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run_staged, run_twin};
    use super::*;

    #[test]
    fn row_blocks_equal_the_twin_for_awkward_counts() {
        for n in [1, 2, 3, 5, 17, 64, 100] {
            for kernel in ["blocked", "naive"] {
                let w =
                    MatMul::new(WorkloadSpec::new("matmul", n, 9).with("kernel", kernel)).unwrap();
                run_twin(&w).unwrap();
                for parts in [1, 2, 3, 7] {
                    run_staged(&w, parts).unwrap_or_else(|e| panic!("n {n} parts {parts}: {e}"));
                }
            }
        }
    }

    #[test]
    fn a_wrong_entry_fails_verification() {
        let w = MatMul::new(WorkloadSpec::new("matmul", 16, 9)).unwrap();
        let region = crate::shm::SharedRegion::new(w.shared_bytes()).unwrap();
        let mem = region.mem();
        w.init(&mem);
        w.run_sequential(&mem);
        // SAFETY: single-threaded test.
        unsafe { mem.slice_mut::<f64>(2 * w.matrix_bytes(), 16 * 16)[37] += 1e-3 };
        let e = w.verify(&mem, None).unwrap_err();
        assert!(e.message.contains("row 2") && e.index == Some(2) && e.part.is_none());
    }

    #[test]
    fn a_part_that_skips_its_rows_fails_verification_even_after_a_good_run() {
        let w = MatMul::new(WorkloadSpec::new("matmul", 12, 9)).unwrap();
        let region = crate::shm::SharedRegion::new(w.shared_bytes()).unwrap();
        let mem = region.mem();
        w.init(&mem);
        w.reset(&mem);
        w.run_sequential(&mem);
        w.verify(&mem, None).unwrap();
        w.reset(&mem);
        w.run_part(&mem, 0, 0, 2); // part 1 never runs
        let e = w.verify(&mem, Some(2)).unwrap_err();
        assert!(e.message.contains("part 1") && e.part == Some(1));
    }

    #[test]
    fn yield_points_every_k_rows_give_the_same_answer() {
        let w = MatMul::new(WorkloadSpec::new("matmul", 13, 2).with("yield_every", 2)).unwrap();
        for parts in [1, 2, 3, 7] {
            run_staged(&w, parts).unwrap();
        }
        let r = crate::shm::SharedRegion::new(w.shared_bytes()).unwrap();
        w.init(&r.mem());
        w.reset(&r.mem());
        let mut steps = w.part_steps(r.mem(), 0, 0, 1);
        let mut yields = 0;
        while steps.next_step() == Step::Yield {
            yields += 1;
        }
        assert_eq!(yields, 6, "13 rows, 2 at a time: 7 pieces, 6 yield points between them");
        drop(steps);
        w.verify(&r.mem(), Some(1)).unwrap();
    }

    #[test]
    fn unknown_kernel_is_rejected() {
        assert!(MatMul::new(WorkloadSpec::new("matmul", 4, 1).with("kernel", "fast")).is_err());
    }
}
