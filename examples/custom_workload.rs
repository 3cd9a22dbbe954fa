//! A user-defined workload run under every strategy: a Monte Carlo estimate of π.
//!
//! ```text
//! cargo run --release --example custom_workload [SAMPLES]
//! ```
//!
//! The workload implements [`Workload`] in two stages: a compute stage in which every part throws
//! its share of random points into the unit square and counts those inside the quarter circle,
//! and a combine stage in which part 0 adds the parts' counts up. The points come in fixed blocks,
//! each with its own seed, so every decomposition counts exactly the same points and the answer
//! can be checked against the sequential twin.
//!
//! Like a built-in workload, it is described once by a [`WorkloadDescriptor`] (name, parameters,
//! default size, memory, ceiling, how to build it) whose parameter checks its constructor runs
//! first, so a spec with a parameter it does not take is refused the same way as for a built-in
//! one (see `concbench::workload::registry`).
//!
//! `multi-process` re-executes this very program as its workers: `main` starts with
//! [`serve_if_child`] and a factory that builds through [`registry::build_with`] (this
//! descriptor first, then the built-in ones), and the plan runs with
//! [`WorkerCommand::this_executable`].

use std::sync::OnceLock;

use concbench::report::table::speedup_table;
use concbench::serve_if_child;
use concbench::shm::SharedMem;
use concbench::strategy::{Strategy, WorkerCommand};
use concbench::sweep::Sweep;
use concbench::topology::Topology;
use concbench::workload::{
    part_range, registry, Ceiling, PartData, Stage, StageKind, VerifyError, WorkUnits, Workload,
    WorkloadDescriptor, WorkloadError, WorkloadSpec, XorShift,
};

/// The workload's descriptor: what concbench knows about it, and how to build it.
const DESCRIPTOR: WorkloadDescriptor = WorkloadDescriptor {
    name: "monte-carlo-pi",
    description: "Monte Carlo estimate of π from --size random points; parts count blocks of points, part 0 adds the counts",
    size_unit: "samples",
    params: &[],
    default_size: 8_000_000,
    memory_needed: |_| (1 + MAX_PARTS as u128) * 8,
    ceiling: Ceiling::None,
    build: |spec| Ok(Box::new(MonteCarloPi::new(spec.clone())?)),
    service: false,
};
/// Points per block: a block is the unit of decomposition and has its own seed.
const BLOCK: usize = 4096;
/// Most parts the shared layout has room for (one count slot each).
const MAX_PARTS: usize = concbench::plan::MAX_WORKERS;

/// Shared memory layout, in u64 slots: `[0]` the total, `[1 + p]` part p's count.
struct MonteCarloPi {
    spec: WorkloadSpec,
    blocks: usize,
    /// The sequential twin's count, computed once in `init` (in the parent only).
    expected: OnceLock<u64>,
}

impl MonteCarloPi {
    /// Build from a spec; its parameters are checked against [`DESCRIPTOR`] first, as the
    /// built-in workloads check theirs.
    fn new(spec: WorkloadSpec) -> Result<MonteCarloPi, WorkloadError> {
        DESCRIPTOR.check_params(&spec)?;
        if spec.size == 0 {
            return Err(WorkloadError::BadSize("samples must be at least 1".into()));
        }
        Ok(MonteCarloPi {
            blocks: spec.size.div_ceil(BLOCK),
            spec,
            expected: OnceLock::new(),
        })
    }

    /// Points of `blocks` that fall inside the quarter circle.
    fn count(&self, blocks: std::ops::Range<usize>) -> u64 {
        let mut hits = 0;
        for b in blocks {
            let mut g = XorShift::new(self.spec.seed ^ (b as u64 + 1).wrapping_mul(0x9E37_79B9));
            let points = BLOCK.min(self.spec.size - b * BLOCK);
            for _ in 0..points {
                let x = (g.next() >> 11) as f64 / (1u64 << 53) as f64;
                let y = (g.next() >> 11) as f64 / (1u64 << 53) as f64;
                hits += u64::from(x * x + y * y <= 1.0);
            }
        }
        hits
    }

    /// # Safety
    /// Callers must respect the decomposition: part p writes only slot `1 + p` in the compute
    /// stage, and only part 0 touches the slots in the combine stage.
    #[allow(clippy::mut_from_ref)]
    unsafe fn slots<'m>(&self, mem: &'m SharedMem) -> &'m mut [u64] {
        mem.slice_mut(0, 1 + MAX_PARTS)
    }
}

impl Workload for MonteCarloPi {
    fn spec(&self) -> &WorkloadSpec {
        &self.spec
    }

    fn shared_bytes(&self) -> usize {
        (1 + MAX_PARTS) * 8
    }

    fn stages(&self, _parts: usize) -> Vec<Stage> {
        vec![
            Stage {
                name: "throw",
                kind: StageKind::Compute,
            },
            Stage {
                name: "add",
                kind: StageKind::Combine,
            },
        ]
    }

    fn init(&self, _mem: &SharedMem) {
        self.expected.get_or_init(|| self.count(0..self.blocks));
    }

    fn reset(&self, mem: &SharedMem) {
        // SAFETY: reset runs alone.
        let slots = unsafe { self.slots(mem) };
        slots.fill(0);
    }

    fn run_sequential(&self, mem: &SharedMem) {
        let hits = self.count(0..self.blocks);
        // SAFETY: the twin runs alone.
        let slots = unsafe { self.slots(mem) };
        slots[0] = hits;
    }

    fn run_part(&self, mem: &SharedMem, stage: usize, part: usize, parts: usize) {
        if stage == 0 {
            let hits = self.count(part_range(self.blocks, part, parts));
            // SAFETY: part p writes only its own slot; a one-element slice keeps it disjoint.
            let slot = unsafe { mem.slice_mut::<u64>((1 + part) * 8, 1) };
            slot[0] = hits;
        } else if part == 0 {
            // SAFETY: in the combine stage only part 0 touches the slots.
            let slots = unsafe { self.slots(mem) };
            slots[0] = slots[1..=parts].iter().sum();
        }
    }

    /// What each part reads and writes, for `distributed` (MPI ranks that share no memory): the
    /// parts throw points into nothing but their own count slot, and part 0's combine reads
    /// every slot. The ranks then move exactly those eight-byte slots.
    fn part_data(&self, stage: usize, part: usize, parts: usize) -> Option<PartData> {
        Some(match (stage, part) {
            (0, p) => PartData::new().write((1 + p) * 8..(2 + p) * 8),
            (_, 0) => PartData::new().read(8..(1 + parts) * 8).write(0..8),
            _ => PartData::new(),
        })
    }

    fn verify(&self, mem: &SharedMem, _parts: Option<usize>) -> Result<(), VerifyError> {
        // SAFETY: verification runs alone.
        let got = unsafe { self.slots(mem) }[0];
        let want = *self
            .expected
            .get()
            .ok_or_else(|| VerifyError::new("verify called before init"))?;
        if got != want {
            return Err(VerifyError::new(format!(
                "counted {got} hits, the sequential twin {want}"
            )));
        }
        let pi = 4.0 * got as f64 / self.spec.size as f64;
        if self.spec.size >= 100_000 && (pi - std::f64::consts::PI).abs() > 0.05 {
            return Err(VerifyError::new(format!("estimate {pi} is far from π")));
        }
        Ok(())
    }

    fn work_units(&self) -> WorkUnits {
        WorkUnits {
            count: self.spec.size as f64,
            unit: "samples",
        }
    }
}

/// Rebuild a workload from its spec in a worker process: ours, or a built-in one, its
/// parameters checked by its descriptor.
fn factory(spec: &WorkloadSpec) -> Result<Box<dyn Workload>, String> {
    registry::build_with(&[&DESCRIPTOR], spec).map_err(|e| e.to_string())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Started as a child of concbench (a multi-process worker)? Serve the parent and exit.
    serve_if_child(factory);

    let samples: usize = match std::env::args().nth(1) {
        Some(s) => s.parse().map_err(|_| format!("bad sample count '{s}'"))?,
        None => DESCRIPTOR.default_size,
    };
    let spec = WorkloadSpec::new(DESCRIPTOR.name, samples, 42);
    let workload = MonteCarloPi::new(spec.clone())?;

    // 1 ..= physical cores, then one oversubscribed point.
    let physical = Topology::get().physical_core_count();
    let mut cores: Vec<usize> = (1..=physical).collect();
    cores.push(2 * physical);
    // `distributed` runs when this program is launched as MPI ranks, enough of them for every
    // core count (`mpirun -n 4 --bind-to none cargo run ...` on two cores, built with
    // `--features mpi`); the other strategies run anywhere.
    let ranks = concbench::cluster::world().map_or(0, |w| w.size);
    let max_cores = *cores.iter().max().expect("one core count at least");
    let strategies = Strategy::ALL
        .into_iter()
        .filter(|s| *s != Strategy::Distributed || ranks >= max_cores);
    let report = Sweep::new(&workload)
        .cores(cores)
        .strategies(strategies)
        .reps(5)
        .warmup(1)
        .worker(WorkerCommand::this_executable()?)
        .run()?;

    let hits = *workload.expected.get().expect("init ran");
    println!(
        "Monte Carlo π from {samples} samples: {:.6} (every row verified against the sequential twin)",
        4.0 * hits as f64 / samples as f64
    );
    println!("{}\n", report.machine.summary());
    print!("{}", speedup_table(&report).to_markdown());
    // Under mpirun, the other ranks wait for rank 0's jobs until it says it has finished.
    concbench::cluster::finish();
    Ok(())
}
