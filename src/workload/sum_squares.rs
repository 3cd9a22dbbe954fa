//! `sum-squares`: the sum of (i × stride)² for i in `0..size`, wrapping at 2⁶⁴. A test of the
//! registry's "one file and one line" path (see [`super::registry`]): it is listed only in test
//! builds.

use super::registry::{ParamDescriptor, ParamKind};
use super::{
    PartData,
    part_range, Ceiling, Stage, StageKind, VerifyError, WorkUnits, Workload, WorkloadDescriptor, WorkloadError,
    WorkloadSpec,
};
use crate::shm::SharedMem;

/// Most parts: one partial-sum slot each, after the total.
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
    memory_needed: |_| (1 + MAX_PARTS as u128) * 8,
    ceiling: Ceiling::ComputeBound,
    build: |spec| Ok(Box::new(SumSquares::new(spec.clone())?)),
    service: false,
};

/// The workload: slot 0 holds the total, slot 1 + p part p's sum.
pub struct SumSquares {
    spec: WorkloadSpec,
    stride: u64,
}

impl SumSquares {
    /// Build from a spec (parameters checked by [`DESCRIPTOR`]).
    pub fn new(spec: WorkloadSpec) -> Result<SumSquares, WorkloadError> {
        DESCRIPTOR.check_params(&spec)?;
        let stride = spec.param::<f64>("stride", 1.0)? as u64;
        Ok(SumSquares { spec, stride })
    }

    fn sum(&self, range: std::ops::Range<usize>) -> u64 {
        range
            .map(|i| (i as u64 * self.stride).wrapping_mul(i as u64 * self.stride))
            .fold(0, u64::wrapping_add)
    }

    /// # Safety
    /// Only one part at a time may hold the slots.
    #[allow(clippy::mut_from_ref)]
    unsafe fn slots<'m>(&self, mem: &'m SharedMem) -> &'m mut [u64] {
        mem.slice_mut(0, 1 + MAX_PARTS)
    }
}

impl Workload for SumSquares {
    fn spec(&self) -> &WorkloadSpec {
        &self.spec
    }
    fn shared_bytes(&self) -> usize {
        (1 + MAX_PARTS) * 8
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
    fn init(&self, _mem: &SharedMem) {}
    fn reset(&self, mem: &SharedMem) {
        // SAFETY: reset runs alone.
        let slots = unsafe { self.slots(mem) };
        slots.fill(0);
    }
    fn run_sequential(&self, mem: &SharedMem) {
        let sum = self.sum(0..self.spec.size);
        // SAFETY: the twin runs alone.
        let slots = unsafe { self.slots(mem) };
        slots[0] = sum;
    }
    fn run_part(&self, mem: &SharedMem, stage: usize, part: usize, parts: usize) {
        if stage == 0 {
            let sum = self.sum(part_range(self.spec.size, part, parts));
            // SAFETY: part p writes only its own slot.
            let slot = unsafe { mem.slice_mut::<u64>((1 + part) * 8, 1) };
            slot[0] = sum;
        } else if part == 0 {
            // SAFETY: in the combine stage only part 0 touches the slots.
            let slots = unsafe { self.slots(mem) };
            slots[0] = slots[1..=parts].iter().fold(0, |a, &b| a.wrapping_add(b));
        }
    }
    fn verify(&self, mem: &SharedMem, _parts: Option<usize>) -> Result<(), VerifyError> {
        // SAFETY: verification runs alone.
        let got = unsafe { self.slots(mem) }[0];
        let want = self.sum(0..self.spec.size);
        (got == want)
            .then_some(())
            .ok_or_else(|| VerifyError::new(format!("sum {got}, expected {want}")))
    }
    fn part_data(&self, stage: usize, part: usize, parts: usize) -> Option<PartData> {
        Some(match (stage, part) {
            // Each part writes its own slot; the combine on part 0 reads them all.
            (0, p) => PartData::new().write((1 + p) * 8..(2 + p) * 8),
            (_, 0) => PartData::new().read(8..(1 + parts) * 8).write(0..8),
            _ => PartData::new(),
        })
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
