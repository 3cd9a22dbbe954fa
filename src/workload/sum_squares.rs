//! `sum-squares`: the sum of (i × stride)² for i in `0..size`, wrapping at 2⁶⁴. A test of the
//! registry's "one file and one line" path (see [`super::registry`]): it is listed only in test
//! builds.

use super::registry::{ParamDescriptor, ParamKind};
use super::{
    part_range, Access, Ceiling, Layout, Region, Stage, StageKind, VerifyError, View, WorkUnits,
    Workload, WorkloadDescriptor, WorkloadError, WorkloadSpec,
};

/// Most parts: one partial-sum slot each.
const MAX_PARTS: usize = 4096;

/// `sum-squares` in the registry.
pub const DESCRIPTOR: WorkloadDescriptor = WorkloadDescriptor {
    name: "sum-squares",
    description: "sum of (i*--stride)^2 for i below --size; parts sum ranges, part 0 adds them",
    size_unit: "terms",
    params: &[ParamDescriptor {
        name: "stride",
        flag: "stride",
        kind: ParamKind::Number {
            min: "1",
            max: "16",
        },
        default: "1",
        help: "step between the numbers squared (default 1)",
    }],
    default_size: 1000,
    memory_needed: |_| (1 + MAX_PARTS as u128) * 8 + 4096,
    ceiling: Ceiling::ComputeBound,
    build: |spec| Ok(Box::new(SumSquares::new(spec.clone())?)),
    service: false,
};

/// The workload: `total` holds the sum, `partial[p]` part p's.
pub struct SumSquares {
    spec: WorkloadSpec,
    stride: u64,
    layout: Layout,
    total: Region<u64>,
    partial: Region<u64>,
}

impl SumSquares {
    /// Build from a spec (parameters checked by [`DESCRIPTOR`]).
    pub fn new(spec: WorkloadSpec) -> Result<SumSquares, WorkloadError> {
        DESCRIPTOR.check_params(&spec)?;
        let stride = spec.param::<f64>("stride", 1.0)? as u64;
        let mut layout = Layout::new();
        let total = layout.region("total", 1);
        let partial = layout.region("partial", MAX_PARTS);
        Ok(SumSquares {
            spec,
            stride,
            layout,
            total,
            partial,
        })
    }

    fn sum(&self, range: std::ops::Range<usize>) -> u64 {
        range
            .map(|i| (i as u64 * self.stride).wrapping_mul(i as u64 * self.stride))
            .fold(0, u64::wrapping_add)
    }
}

impl Workload for SumSquares {
    fn spec(&self) -> &WorkloadSpec {
        &self.spec
    }
    fn shared_bytes(&self) -> usize {
        self.layout.bytes()
    }
    fn stages(&self, _parts: usize) -> Vec<Stage> {
        vec![
            Stage {
                name: "sum",
                kind: StageKind::Compute,
            },
            Stage {
                name: "add",
                kind: StageKind::Combine,
            },
        ]
    }
    fn access(&self, stage: usize, part: usize, parts: usize) -> Access {
        match (stage, part) {
            // Each part writes its own slot; the combine on part 0 reads them all.
            (0, p) => Access::new().write(self.partial, p..p + 1),
            (_, 0) => Access::new()
                .read(self.partial, ..parts)
                .write(self.total, ..),
            _ => Access::new(),
        }
    }
    fn run_part(&self, mem: &View<'_>, stage: usize, part: usize, parts: usize) {
        if stage == 0 {
            mem.write(self.partial)[0] = self.sum(part_range(self.spec.size, part, parts));
        } else if part == 0 {
            let partial = mem.read(self.partial);
            mem.write(self.total)[0] = partial.iter().fold(0, |a, &b| a.wrapping_add(b));
        }
    }
    fn verify(&self, mem: &View<'_>, _parts: Option<usize>) -> Result<(), VerifyError> {
        let got = mem.read(self.total)[0];
        let want = self.sum(0..self.spec.size);
        (got == want)
            .then_some(())
            .ok_or_else(|| VerifyError::new(format!("sum {got}, expected {want}")))
    }
    fn work_units(&self) -> WorkUnits {
        WorkUnits {
            count: self.spec.size as f64,
            unit: "terms",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{build, registry, testing, WorkloadError};
    use super::*;

    #[test]
    fn the_registry_line_is_all_it_takes() {
        assert_eq!(registry::names().last(), Some(&"sum-squares"));
        let e = WorkloadError::Unknown("bogus".into()).to_string();
        assert!(e.ends_with("(known: mergesort, matmul, io, web, sum-squares)"), "{e}");
        let flags: Vec<_> = registry::all_params().iter().map(|(p, _)| p.flag).collect();
        assert!(flags.contains(&"stride"));
        let w = build(&WorkloadSpec::new("sum-squares", 1001, 1).with("stride", 3)).unwrap();
        testing::run_twin(&*w).unwrap();
        for parts in [1, 2, 3, 7] {
            testing::run_staged(&*w, parts).unwrap();
        }
        let bad = |spec: WorkloadSpec| build(&spec).err().unwrap().to_string();
        assert_eq!(
            bad(WorkloadSpec::new("sum-squares", 5, 1).with("stride", 40)),
            "bad value '40' for --stride (1 to 16)"
        );
        assert_eq!(
            bad(WorkloadSpec::new("sum-squares", 5, 1).with("kernel", "naive")),
            "--kernel does not apply to sum-squares (it takes --stride)"
        );
    }
}
