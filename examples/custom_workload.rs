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
//! It is safe code: its shared memory is two typed [`Region`]s (the parts' counts and the
//! total), [`Workload::access`] says which elements each part reads and writes, and each part
//! gets a [`View`] that hands it exactly those as `&[u64]` and `&mut [u64]`. concbench checks
//! before anything runs that no two parts of a stage get in each other's way. Of the trait's
//! methods, five are required; this workload also gives `stages`, `init`, `reset`,
//! `run_sequential` and `work_units`, and leaves the rest (the distributed form, the memory a
//! worker maps) to the defaults, which read them off `access`.
//!
//! Like a built-in workload, it is described once by a [`WorkloadDescriptor`] (name, parameters,
//! default size, memory, ceiling, how to build it) whose parameter checks its constructor runs
//! first, so a spec with a parameter it does not take is refused the same way as for a built-in
//! one (see `concbench::workload`).
//!
//! `multi-process` re-executes this very program as its workers: `main` starts with
//! [`serve_if_child`] and a factory that builds through [`workload::build_with`] (this
//! descriptor first, then the built-in ones), and the plan runs with
//! [`WorkerCommand::this_executable`].

use std::sync::OnceLock;

use concbench::child::WorkerCommand;
use concbench::report::{Format, Render};
use concbench::serve_if_child;
use concbench::strategy::Strategy;
use concbench::sweep::Sweep;
use concbench::workload::{
    self, part_range, Access, Ceiling, Layout, Region, Stage, StageKind, VerifyError, View,
    WorkUnits, Workload, WorkloadDescriptor, WorkloadError, WorkloadSpec, XorShift,
};

/// The workload's descriptor: what concbench knows about it, and how to build it.
const DESCRIPTOR: WorkloadDescriptor = WorkloadDescriptor {
    name: "monte-carlo-pi",
    description: "Monte Carlo estimate of π from --size random points; parts count blocks of points, part 0 adds the counts",
    size_unit: "samples",
    params: &[],
    default_size: 8_000_000,
    memory_needed: |_| (1 + MAX_PARTS as u128) * 8 + 4096,
    ceiling: Ceiling::None,
    build: |spec| Ok(Box::new(MonteCarloPi::new(spec.clone())?)),
    service: false,
};
/// Points per block: a block is the unit of decomposition and has its own seed.
const BLOCK: usize = 4096;
/// Most parts the shared layout has room for (one count each).
const MAX_PARTS: usize = concbench::strategy::MAX_WORKERS;

struct MonteCarloPi {
    spec: WorkloadSpec,
    blocks: usize,
    /// The shared memory: `counts[p]` is part p's count, `total[0]` their sum.
    layout: Layout,
    counts: Region<u64>,
    total: Region<u64>,
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
        let mut layout = Layout::new();
        let counts = layout.region("counts", MAX_PARTS);
        let total = layout.region("total", 1);
        Ok(MonteCarloPi {
            blocks: spec.size.div_ceil(BLOCK),
            spec,
            layout,
            counts,
            total,
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
}

impl Workload for MonteCarloPi {
    fn spec(&self) -> &WorkloadSpec {
        &self.spec
    }

    fn shared_bytes(&self) -> usize {
        self.layout.bytes()
    }

    /// Part p writes its own count while throwing; part 0 reads every count and writes the
    /// total while adding. The same declarations tell `distributed` (MPI ranks that share no
    /// memory) to move exactly those eight-byte counts.
    fn access(&self, stage: usize, part: usize, parts: usize) -> Access {
        match (stage, part) {
            (0, p) => Access::new().write(self.counts, p..p + 1),
            (_, 0) => Access::new()
                .read(self.counts, ..parts)
                .write(self.total, ..),
            _ => Access::new(),
        }
    }

    fn run_part(&self, mem: &View<'_>, stage: usize, part: usize, parts: usize) {
        if stage == 0 {
            // This part's count: a one-element slice, its own.
            mem.write(self.counts)[0] = self.count(part_range(self.blocks, part, parts));
        } else if part == 0 {
            mem.write(self.total)[0] = mem.read(self.counts).iter().sum();
        }
    }

    fn verify(&self, mem: &View<'_>, _parts: Option<usize>) -> Result<(), VerifyError> {
        let got = mem.read(self.total)[0];
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

    fn init(&self, _mem: &View<'_>) {
        self.expected.get_or_init(|| self.count(0..self.blocks));
    }

    /// Restore the starting state: a part that skipped its work must not pass on the last
    /// repetition's total.
    fn reset(&self, mem: &View<'_>) {
        mem.write(self.total).fill(0);
    }

    /// The twin: every block on one thread, straight into the total.
    fn run_sequential(&self, mem: &View<'_>) {
        mem.write(self.total)[0] = self.count(0..self.blocks);
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
    workload::build_with(&[&DESCRIPTOR], spec).map_err(|e| e.to_string())
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
    let physical = concbench::strategy::physical_cores();
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
    print!("{}", report.render(Format::Markdown));
    // Under mpirun, the other ranks wait for rank 0's jobs until it says it has finished.
    concbench::cluster::finish();
    Ok(())
}
