//! `matmul`: dense f64 C = A·B of order n; part p owns the row block `[p*n/P, (p+1)*n/P)` of C.
//!
//! A and B are written once, shared read-only by every part; each part writes only its rows of C,
//! so there is no combine stage. The result is checked after timing with Freivalds' method:
//! C·r must equal A·(B·r) for a seeded vector r, which costs O(n²) and does not trust the kernel.
//! The kernels (blocked SIMD and naive) live in [`super::matmul_kernel`].

use super::matmul_kernel::{gemm_band, Kernel};
use super::registry::{ParamDescriptor, ParamKind, YIELD_EVERY};
use super::{
    part_range, run_steps_blocking, Access, Ceiling, Layout, PartSteps, Region, Stage, StageKind,
    Step, VerifyError, View, WholePart, WorkUnits, Workload, WorkloadDescriptor, WorkloadError,
    WorkloadSpec, XorShift,
};

/// `matmul` in the registry.
pub(crate) const DESCRIPTOR: WorkloadDescriptor = WorkloadDescriptor {
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
pub(crate) struct MatMul {
    spec: WorkloadSpec,
    n: usize,
    kernel: Kernel,
    /// Rows of C between yield points (0: none).
    yield_every: usize,
    layout: Layout,
    /// The n × n matrices, row-major: C = A·B.
    a: Region<f64>,
    b: Region<f64>,
    c: Region<f64>,
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
        let n2 = spec.size.saturating_mul(spec.size);
        let mut layout = Layout::new();
        let (a, b, c) = (
            layout.region("A", n2),
            layout.region("B", n2),
            layout.region("C", n2),
        );
        Ok(MatMul {
            n: spec.size,
            yield_every: spec.param("yield_every", 0)?,
            spec,
            kernel,
            layout,
            a,
            b,
            c,
        })
    }

    /// Bytes of shared memory for order `n`: A, B and C.
    pub(crate) fn bytes_for(n: usize) -> u128 {
        3 * (n as u128) * (n as u128) * 8
    }

    /// Elements of rows `rows` of an n × n matrix.
    fn rows(&self, rows: std::ops::Range<usize>) -> std::ops::Range<usize> {
        rows.start * self.n..rows.end * self.n
    }

    /// A band of rows of C = A·B: `c` gets the rows whose rows of A are `a`.
    fn multiply(&self, a: &[f64], b: &[f64], c: &mut [f64]) {
        gemm_band(self.kernel, self.n, a, b, c);
    }
}

impl Workload for MatMul {
    fn spec(&self) -> &WorkloadSpec {
        &self.spec
    }

    fn shared_bytes(&self) -> usize {
        self.layout.bytes()
    }

    fn access(&self, _stage: usize, part: usize, parts: usize) -> Access {
        // Its rows of A and all of B in, its rows of C out.
        let rows = self.rows(part_range(self.n, part, parts));
        Access::new()
            .read(self.a, rows.clone())
            .read(self.b, ..)
            .write(self.c, rows)
    }

    fn stages(&self, _parts: usize) -> Vec<Stage> {
        vec![Stage {
            name: "multiply",
            kind: StageKind::Compute,
        }]
    }

    fn init(&self, mem: &View<'_>) {
        fill_inputs(self.spec.seed, mem.write(self.a), mem.write(self.b));
    }

    fn reset(&self, mem: &View<'_>) {
        // C starts as NaN, so a part that skips its rows cannot pass on the last repetition's
        // answer: the check after timing sees the NaN.
        mem.write(self.c).fill(f64::NAN);
    }

    fn run_sequential(&self, mem: &View<'_>) {
        // The twin has no yield points.
        self.multiply(mem.read(self.a), mem.read(self.b), mem.write(self.c));
    }

    fn run_part(&self, mem: &View<'_>, stage: usize, part: usize, parts: usize) {
        if self.yield_every > 0 {
            return run_steps_blocking(&mut *self.part_steps(mem, stage, part, parts));
        }
        self.multiply(mem.read(self.a), mem.read(self.b), mem.write(self.c));
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
        let rows = part_range(self.n, part, parts);
        Box::new(RowSteps {
            mm: self,
            a: mem.read(self.a),
            b: mem.read(self.b),
            c: mem.write(self.c),
            first: rows.start,
            next: rows.start,
            end: rows.end,
            every: self.yield_every,
        })
    }

    fn verify(&self, mem: &View<'_>, parts: Option<usize>) -> Result<(), VerifyError> {
        let n = self.n;
        let (a, b, c) = (mem.read(self.a), mem.read(self.b), mem.read(self.c));
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
    a: &'a [f64],
    b: &'a [f64],
    /// The part's rows of A and of C, from row `first`.
    c: &'a mut [f64],
    first: usize,
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
        let n = self.mm.n;
        let band = (self.next - self.first) * n..(to - self.first) * n;
        self.mm
            .multiply(&self.a[band.clone()], self.b, &mut self.c[band]);
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
pub(crate) fn fill_inputs(seed: u64, a: &mut [f64], b: &mut [f64]) {
    let mut g = XorShift::new(seed);
    for x in a.iter_mut().chain(b.iter_mut()) {
        *x = (g.next() >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{alone, as_part, run_staged, run_twin};
    use super::super::{init, reset, verify};
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
        init(&w, region.mem());
        alone(&region, |v| w.run_sequential(v));
        alone(&region, |v| v.write(w.c)[37] += 1e-3);
        let e = verify(&w, region.mem(), None).unwrap_err();
        assert!(e.message.contains("row 2") && e.index == Some(2) && e.part.is_none());
    }

    #[test]
    fn a_part_that_skips_its_rows_fails_verification_even_after_a_good_run() {
        let w = MatMul::new(WorkloadSpec::new("matmul", 12, 9)).unwrap();
        let region = crate::shm::SharedRegion::new(w.shared_bytes()).unwrap();
        init(&w, region.mem());
        reset(&w, region.mem());
        alone(&region, |v| w.run_sequential(v));
        verify(&w, region.mem(), None).unwrap();
        reset(&w, region.mem());
        // Part 1 never runs.
        as_part(&w, &region, (0, 0, 2), |v| w.run_part(v, 0, 0, 2));
        let e = verify(&w, region.mem(), Some(2)).unwrap_err();
        assert!(e.message.contains("part 1") && e.part == Some(1));
    }

    #[test]
    fn yield_points_every_k_rows_give_the_same_answer() {
        let w = MatMul::new(WorkloadSpec::new("matmul", 13, 2).with("yield_every", 2)).unwrap();
        for parts in [1, 2, 3, 7] {
            run_staged(&w, parts).unwrap();
        }
        let r = crate::shm::SharedRegion::new(w.shared_bytes()).unwrap();
        init(&w, r.mem());
        reset(&w, r.mem());
        let yields = as_part(&w, &r, (0, 0, 1), |view| {
            let mut steps = w.part_steps(view, 0, 0, 1);
            let mut yields = 0;
            while steps.next_step() == Step::Yield {
                yields += 1;
            }
            yields
        });
        assert_eq!(yields, 6, "13 rows, 2 at a time: 7 pieces, 6 yield points between them");
        verify(&w, r.mem(), Some(1)).unwrap();
    }

    #[test]
    fn unknown_kernel_is_rejected() {
        assert!(MatMul::new(WorkloadSpec::new("matmul", 4, 1).with("kernel", "fast")).is_err());
    }
}
