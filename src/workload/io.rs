//! `io`: simulated I/O — tasks that mostly wait, with a tunable share of CPU work.
//!
//! Each of `size` tasks lasts `wait_ms`: the first `cpu_share` of it is CPU work (a compute loop
//! that runs until the *thread's CPU time* has advanced by that much, so two tasks sharing one core
//! cannot overlap it), the rest is a real blocking sleep in the kernel (`clock_nanosleep`; nothing
//! spins). Part p runs tasks `[p*T/P, (p+1)*T/P)` one after the other. At `cpu_share` 0 the job is
//! I/O-bound and gains from threads even on one core; at 1 it is CPU-bound and needs cores.
//! Every task stamps its slot in shared memory, and verification checks each ran exactly once.
//!
//! Run as steps ([`Workload::part_steps`], the `single-thread-async` strategy), a part's CPU work
//! runs inline and each sleep is a [`Step::Wait`]: the task awaits a timer instead of blocking
//! its thread, and a task stamps its slot when its wait is over. Threads run the same steps and
//! sleep in the kernel at each wait.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::registry::{ParamDescriptor, ParamKind};
use super::{
    part_range, run_steps_blocking, Access, Ceiling, Layout, PartSteps, Region, Stage, StageKind,
    Step, VerifyError, View, WorkUnits, Workload, WorkloadDescriptor, WorkloadError, WorkloadSpec,
};

/// Default length of one task in milliseconds.
pub(crate) const DEFAULT_WAIT_MS: f64 = 10.0;

/// `io` in the registry.
pub(crate) const DESCRIPTOR: WorkloadDescriptor = WorkloadDescriptor {
    name: "io",
    description: "--size simulated I/O tasks of --wait-ms each; the first --cpu-share of each is CPU work, the rest a blocking sleep",
    size_unit: "tasks",
    params: &[
        super::registry::wait_ms("10", "milliseconds each task lasts (default 10)"),
        ParamDescriptor {
            name: "cpu_share",
            flag: "cpu-share",
            kind: ParamKind::Number {
                min: "0.0",
                max: "1.0",
            },
            default: "0",
            help: "share of each task that is CPU work, 0.0 (pure waiting) to 1.0 (pure CPU); default 0",
        },
    ],
    default_size: 64,
    // One stamp slot per task.
    memory_needed: |size| size as u128 * 8,
    ceiling: Ceiling::None,
    build: |spec| Ok(Box::new(SimulatedIo::new(spec.clone())?)),
    service: false,
};

/// The simulated I/O workload.
#[derive(Debug)]
pub(crate) struct SimulatedIo {
    spec: WorkloadSpec,
    tasks: usize,
    cpu: Duration,
    sleep: Duration,
    layout: Layout,
    /// Task i adds i + 1 to `slots[i]` when it has run.
    slots: Region<u64>,
}

impl SimulatedIo {
    /// Build from a spec; `size` is the task count; params `wait_ms` (≥ 0) and `cpu_share` (0–1).
    pub fn new(spec: WorkloadSpec) -> Result<SimulatedIo, WorkloadError> {
        if spec.size == 0 {
            return Err(WorkloadError::BadSize("--size must be at least 1".into()));
        }
        // The descriptor checks both ranges: 0 ≤ wait_ms ≤ 60000, 0 ≤ cpu_share ≤ 1.
        DESCRIPTOR.check_params(&spec)?;
        let wait_ms: f64 = spec.param("wait_ms", DEFAULT_WAIT_MS)?;
        let share: f64 = spec.param("cpu_share", 0.0)?;
        let total = Duration::from_secs_f64(wait_ms / 1e3);
        let cpu = total.mul_f64(share);
        let mut layout = Layout::new();
        let slots = layout.region("slots", spec.size);
        Ok(SimulatedIo {
            tasks: spec.size,
            cpu,
            sleep: total.saturating_sub(cpu),
            spec,
            layout,
            slots,
        })
    }

    fn run_task(&self, slots: &mut [u64], index: usize) {
        if !self.cpu.is_zero() {
            burn_cpu_time(self.cpu);
        }
        if !self.sleep.is_zero() {
            sleep_in_kernel(self.sleep);
        }
        slots[index] += index as u64 + 1;
    }

}

/// Spin on arithmetic until the calling thread has used `amount` of CPU time.
pub(crate) fn burn_cpu_time(amount: Duration) {
    let start = thread_cpu_time();
    let mut x = 0x1234_5678_u64;
    while thread_cpu_time().saturating_sub(start) < amount {
        for _ in 0..2000 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
}

/// CPU time used by the calling thread (`CLOCK_THREAD_CPUTIME_ID`; zero where unknown).
pub(crate) fn thread_cpu_time() -> Duration {
    crate::sys::thread_cpu_time().unwrap_or_default()
}

/// Block in the kernel for `d` and return the wait actually achieved, which [`achieved_waits`]
/// adds up. Linux and macOS: `nanosleep`, keeping the thread's default timer slack (50 µs): with
/// hundreds of sleepers on one core it lets the kernel wake several with one timer interrupt (a
/// 1 µs slack made 256 threads × 4 waits about 4 ms slower). Windows: a high-resolution waitable
/// timer, since `Sleep` rounds a 10 ms wait up to the 15.6 ms tick.
pub(crate) fn sleep_in_kernel(d: Duration) -> Duration {
    let got = crate::sys::sleep_for(d);
    WAITS.fetch_add(1, Ordering::Relaxed);
    WAITS_ASKED_NS.fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
    WAITS_ACHIEVED_NS.fetch_add(got.as_nanos() as u64, Ordering::Relaxed);
    got
}

static WAITS: AtomicU64 = AtomicU64::new(0);
static WAITS_ASKED_NS: AtomicU64 = AtomicU64::new(0);
static WAITS_ACHIEVED_NS: AtomicU64 = AtomicU64::new(0);

/// The waits of [`sleep_in_kernel`] in this process so far (worker processes count their own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AchievedWaits {
    /// Waits done.
    pub count: u64,
    /// Time they asked for, in all.
    pub asked: Duration,
    /// Time they took, in all.
    pub achieved: Duration,
}

/// The waits done in this process so far, asked and achieved.
pub fn achieved_waits() -> AchievedWaits {
    AchievedWaits {
        count: WAITS.load(Ordering::Relaxed),
        asked: Duration::from_nanos(WAITS_ASKED_NS.load(Ordering::Relaxed)),
        achieved: Duration::from_nanos(WAITS_ACHIEVED_NS.load(Ordering::Relaxed)),
    }
}

impl Workload for SimulatedIo {
    fn spec(&self) -> &WorkloadSpec {
        &self.spec
    }

    fn shared_bytes(&self) -> usize {
        self.layout.bytes()
    }

    fn access(&self, _stage: usize, part: usize, parts: usize) -> Access {
        // Its tasks' slots: scattered before, gathered after.
        Access::new().update(self.slots, part_range(self.tasks, part, parts))
    }

    fn stages(&self, _parts: usize) -> Vec<Stage> {
        vec![Stage {
            name: "tasks",
            kind: StageKind::Compute,
        }]
    }

    fn reset(&self, mem: &View<'_>) {
        mem.write(self.slots).fill(0);
    }

    fn run_sequential(&self, mem: &View<'_>) {
        let slots = mem.write(self.slots);
        for i in 0..self.tasks {
            self.run_task(slots, i);
        }
    }

    fn run_part(&self, mem: &View<'_>, stage: usize, part: usize, parts: usize) {
        run_steps_blocking(&mut *self.part_steps(mem, stage, part, parts));
    }

    fn part_steps<'v>(
        &'v self,
        mem: &'v View<'v>,
        _stage: usize,
        part: usize,
        parts: usize,
    ) -> Box<dyn PartSteps + 'v> {
        let tasks = part_range(self.tasks, part, parts);
        Box::new(IoSteps {
            io: self,
            slots: mem.write(self.slots),
            first: tasks.start,
            tasks,
            waiting: None,
        })
    }

    fn verify(&self, mem: &View<'_>, parts: Option<usize>) -> Result<(), VerifyError> {
        let slots = mem.read(self.slots);
        match slots.iter().enumerate().find(|(i, &s)| s != *i as u64 + 1) {
            Some((i, &s)) => Err(VerifyError::at_item(self.tasks, i, parts, |owner| {
                format!(
                    "task {i}{owner} ran {} times instead of once",
                    s / (i as u64 + 1)
                )
            })),
            None => Ok(()),
        }
    }

    fn work_units(&self) -> WorkUnits {
        WorkUnits {
            count: self.tasks as f64,
            unit: "tasks",
        }
    }

    fn expected_sequential_s(&self) -> Option<f64> {
        Some(self.tasks as f64 * (self.cpu + self.sleep).as_secs_f64())
    }
}

/// One part of the io workload as steps: each task's CPU work inline, then a [`Step::Wait`] for
/// its sleep; the task's slot is stamped when the wait is over.
struct IoSteps<'a> {
    io: &'a SimulatedIo,
    /// The slots of the part's tasks, from task `first`.
    slots: &'a mut [u64],
    first: usize,
    tasks: std::ops::Range<usize>,
    /// The task whose wait is in progress.
    waiting: Option<usize>,
}

impl IoSteps<'_> {
    fn stamp(&mut self, index: usize) {
        self.slots[index - self.first] += index as u64 + 1;
    }
}

impl PartSteps for IoSteps<'_> {
    fn next_step(&mut self) -> Step {
        if let Some(i) = self.waiting.take() {
            self.stamp(i);
        }
        // Tasks without a wait (cpu_share 1) run back to back: nothing here yields.
        while let Some(i) = self.tasks.next() {
            if !self.io.cpu.is_zero() {
                burn_cpu_time(self.io.cpu);
            }
            if self.io.sleep.is_zero() {
                self.stamp(i);
            } else {
                self.waiting = Some(i);
                return Step::Wait(self.io.sleep);
            }
        }
        Step::Done
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run_staged, run_twin};
    use super::*;

    fn spec(tasks: usize, share: f64) -> WorkloadSpec {
        WorkloadSpec::new("io", tasks, 1)
            .with("wait_ms", 0.2)
            .with("cpu_share", share)
    }

    #[test]
    fn every_task_runs_once_for_awkward_counts() {
        for tasks in [1, 2, 3, 10] {
            for share in [0.0, 0.5, 1.0] {
                let w = SimulatedIo::new(spec(tasks, share)).unwrap();
                run_twin(&w).unwrap();
                for parts in [1, 2, 3, 7] {
                    run_staged(&w, parts).unwrap();
                }
            }
        }
    }

    #[test]
    fn steps_wait_once_per_task_and_stamp_after_the_wait() {
        use crate::shm::SharedRegion;
        use crate::workload::testing::as_part;
        use crate::workload::{reset, verify};
        let w = SimulatedIo::new(spec(5, 0.0)).unwrap();
        let r = SharedRegion::new(w.shared_bytes()).unwrap();
        reset(&w, r.mem());
        for part in 0..2 {
            let waits = as_part(&w, &r, (0, part, 2), |view| {
                let mut steps = w.part_steps(view, 0, part, 2);
                let mut waits = 0;
                while let Step::Wait(d) = steps.next_step() {
                    assert_eq!(d, w.sleep);
                    waits += 1;
                }
                waits
            });
            assert_eq!(waits, part_range(5, part, 2).len());
        }
        verify(&w, r.mem(), Some(2)).unwrap();
    }

    #[test]
    fn bad_parameters_are_rejected() {
        assert!(SimulatedIo::new(spec(4, 1.5)).is_err());
        assert!(SimulatedIo::new(spec(4, -0.1)).is_err());
        assert!(SimulatedIo::new(WorkloadSpec::new("io", 4, 1).with("wait_ms", -1)).is_err());
        assert!(SimulatedIo::new(WorkloadSpec::new("io", 0, 1)).is_err());
    }

    #[test]
    fn waits_record_what_they_achieved() {
        let before = achieved_waits();
        let got = sleep_in_kernel(Duration::from_millis(2));
        assert!(got >= Duration::from_millis(2), "{got:?}");
        let after = achieved_waits();
        // Other tests may wait at the same time: at least this wait was added.
        assert!(after.count > before.count);
        assert!(after.asked - before.asked >= Duration::from_millis(2));
        assert!(after.achieved - before.achieved >= got);
    }

    #[test]
    fn burning_cpu_time_uses_cpu_time() {
        let before = thread_cpu_time();
        burn_cpu_time(Duration::from_millis(3));
        assert!(thread_cpu_time() - before >= Duration::from_millis(3));
    }
}
