//! The models' inputs, measured in the same run as the claims that use them.
//!
//! A claim's prediction comes from a model whose inputs are this machine's own figures: the
//! same-core switch cost (the ping-pong of [`crate::experiment::switch_cost`]), the ceilings
//! (copy bandwidth and FMA peaks of [`crate::experiment::ceilings`]), the timer tick (the
//! kernel's jiffies counter read twice), the cost of starting a thread, the time one cache line
//! takes to move between two cores, one system call, and the noise floor (how much a fixed piece of CPU work
//! varies here and now). Each is measured once, on first use, and recorded with its method in
//! [`crate::lab::LabReport::inputs`].

use std::cell::{OnceCell, RefCell};
use std::time::Instant;

use serde_json::{json, Map, Value};

use super::kernels;
use super::LabOptions;
use crate::experiment::ceilings::{Ceilings, LimitsOptions};
use crate::machine::RunContext;
use crate::measure::stats::{median, median_interval};
use crate::topology::Topology;

/// Repetitions of the noise probe.
const NOISE_REPS: usize = 21;

/// The lab's options and the models' inputs, measured lazily.
#[derive(Debug)]
pub(crate) struct Lab {
    /// Quick or full.
    pub(crate) options: LabOptions,
    switch_ns: OnceCell<Option<f64>>,
    tick_ns: OnceCell<Option<f64>>,
    noise: OnceCell<f64>,
    ceilings: OnceCell<Option<Ceilings>>,
    spawn_ns: OnceCell<f64>,
    line_ns: OnceCell<Option<f64>>,
    inputs: RefCell<Map<String, Value>>,
    context: RunContext,
    with_messages: OnceCell<RunContext>,
}

impl Lab {
    /// A lab whose inputs are not measured yet.
    pub(crate) fn new(options: LabOptions) -> Lab {
        Lab {
            options,
            switch_ns: OnceCell::new(),
            tick_ns: OnceCell::new(),
            noise: OnceCell::new(),
            ceilings: OnceCell::new(),
            spawn_ns: OnceCell::new(),
            line_ns: OnceCell::new(),
            inputs: RefCell::new(Map::new()),
            context: crate::cluster::context(),
            with_messages: OnceCell::new(),
        }
    }

    /// What the lab runs in: the MPI job this process is rank 0 of, as MPI started it (no message
    /// ceilings); outside a job, none.
    pub(crate) fn context(&self) -> &RunContext {
        &self.context
    }

    /// [`Lab::context`] with the message ceilings between rank 0 and the other ranks, measured on
    /// first use by a short ping-pong (untimed), once per lab: what the distributed claims set
    /// their rows' communication beside. Outside a job of two or more ranks, none are measured.
    pub(crate) fn context_with_messages(&self) -> &RunContext {
        self.with_messages.get_or_init(|| {
            let mut c = self.context.clone();
            crate::cluster::measure_messages_into(&mut c);
            c
        })
    }

    /// Repetitions per figure.
    pub(crate) fn reps(&self) -> usize {
        self.options.reps()
    }

    /// `quick` in quick mode, else `full`.
    pub(crate) fn pick<T>(&self, quick: T, full: T) -> T {
        self.options.pick(quick, full)
    }

    /// Physical cores this process may use.
    pub(crate) fn cores(&self) -> usize {
        Topology::get().physical_core_count()
    }

    /// The inputs measured so far.
    pub(crate) fn inputs(&self) -> Map<String, Value> {
        self.inputs.borrow().clone()
    }

    fn record(&self, name: &str, value: Value, method: &str) {
        self.inputs
            .borrow_mut()
            .insert(name.into(), json!({"value": value, "method": method}));
    }

    /// One same-core context switch, ns: half the on-CPU time of a thread pipe ping-pong.
    pub(crate) fn switch_ns(&self) -> Option<f64> {
        *self.switch_ns.get_or_init(|| {
            let v = crate::experiment::switch_cost::quick_same_core_switch_ns().ok();
            self.record(
                "switch_ns",
                json!(v),
                "same-core thread pipe ping-pong, 3 x 1000 round trips; half the on-CPU time of one round trip",
            );
            v
        })
    }

    /// The timer tick, ns: jiffies counted over 200 ms of the kernel's clock
    /// (`/proc/timer_list`), rounded to a whole number of ticks per second.
    pub(crate) fn tick_ns(&self) -> Option<f64> {
        *self.tick_ns.get_or_init(|| {
            let v = (|| {
                let (j0, t0) = crate::sys::jiffies_now()?;
                std::thread::sleep(std::time::Duration::from_millis(200));
                let (j1, t1) = crate::sys::jiffies_now()?;
                let hz = ((j1 - j0) as f64 / ((t1 - t0) as f64 / 1e9)).round();
                (hz > 0.0).then(|| 1e9 / hz)
            })();
            self.record(
                "tick_ns",
                json!(v),
                "jiffies counted over 200 ms of the kernel's clock (/proc/timer_list), as 1 / HZ",
            );
            v
        })
    }

    /// The noise floor: the relative half-width of the 95% interval of the median of a fixed
    /// 5 ms piece of CPU work timed 21 times on one pinned core.
    pub(crate) fn noise_floor(&self) -> f64 {
        *self.noise.get_or_init(|| {
            let cpu = Topology::get().first_cpu();
            let units = kernels::units_for(0.005);
            let times: Vec<f64> = std::thread::scope(|s| {
                s.spawn(|| {
                    let _ = crate::topology::pin_current_thread(cpu);
                    kernels::spin(units);
                    (0..NOISE_REPS)
                        .map(|_| {
                            let t = Instant::now();
                            kernels::spin(units);
                            t.elapsed().as_secs_f64()
                        })
                        .collect()
                })
                .join()
                .unwrap_or_default()
            });
            let v = if times.len() < 2 {
                f64::NAN
            } else {
                let m = median(&times);
                median_interval(&times).map_or(0.0, |i| (i.hi - i.lo) / (2.0 * m))
            };
            self.record(
                "noise_floor",
                json!(v),
                "relative half-width of the 95% order-statistic interval of the median of a fixed 5 ms spin loop timed 21 times on one pinned core",
            );
            v
        })
    }

    /// One system call, ns, per batch: `batches` batches of 1000 calls of one of the cheapest
    /// ([`crate::sys::cheap_syscall`], `getppid` on Unix), after 1000 untimed, on a thread pinned
    /// to the first CPU, so that a task switch judged cheaper than it is cheaper than any kernel
    /// entry. Measured afresh at each call, beside the figure it is paired with; nothing is
    /// recorded (see [`Lab::record_syscall_ns`]).
    pub(crate) fn syscall_batches_ns(&self, batches: usize) -> Result<Vec<f64>, String> {
        let cpu = Topology::get().first_cpu();
        std::thread::scope(|s| {
            s.spawn(|| {
                crate::topology::pin_current_thread(cpu)
                    .map_err(|e| format!("pinning the system-call timer: {e}"))?;
                for _ in 0..1000 {
                    std::hint::black_box(crate::sys::cheap_syscall());
                }
                Ok((0..batches)
                    .map(|_| {
                        let s = Instant::now();
                        for _ in 0..1000 {
                            std::hint::black_box(crate::sys::cheap_syscall());
                        }
                        s.elapsed().as_secs_f64() * 1e9 / 1000.0
                    })
                    .collect())
            })
            .join()
            .map_err(|_| "the system-call timing thread panicked".to_string())?
        })
    }

    /// Record the system call's cost among the lab's inputs: the median of `samples_ns`
    /// ([`Lab::syscall_batches_ns`]), measured as `how` says.
    pub(crate) fn record_syscall_ns(&self, samples_ns: &[f64], how: &str) {
        self.record(
            "syscall_ns",
            json!(if samples_ns.is_empty() {
                f64::NAN
            } else {
                median(samples_ns)
            }),
            &format!(
                "{}, one of the cheapest system calls (a kernel entry and exit, nothing more), on a thread pinned to the first CPU: {how}",
                crate::sys::CHEAP_SYSCALL
            ),
        );
    }

    /// The ceilings (quick measurement in quick mode), `None` when they could not be measured.
    pub(crate) fn ceilings(&self) -> Option<&Ceilings> {
        self.ceilings
            .get_or_init(|| {
                let opts = self.pick(LimitsOptions::quick(), LimitsOptions::full());
                let c = Ceilings::measure(&opts).ok();
                if let Some(c) = &c {
                    let p = c.physical_cores;
                    self.record(
                        "copy_gb_s_1_thread",
                        json!(c.bandwidth(1)),
                        "STREAM-style copy, read + write bytes, one pinned thread (concbench limits)",
                    );
                    self.record(
                        "copy_gb_s_all_cores",
                        json!(c.bandwidth(p)),
                        "the same copy with one thread per physical core",
                    );
                    self.record(
                        "fma_gflops_per_core",
                        json!(c.flops.per_core_gflops),
                        "FMA loop of the best instruction set on one core",
                    );
                    self.record(
                        "fma_gflops_all_cores",
                        json!(c.flops.all_cores_gflops),
                        "the same loop on every physical core at once",
                    );
                }
                c
            })
            .as_ref()
    }

    /// Creating and joining one thread from a thread pinned to the first CPU (the new thread
    /// inherits the pin, as in the one-core experiments), ns (median of 50).
    pub(crate) fn thread_spawn_ns(&self) -> f64 {
        *self.spawn_ns.get_or_init(|| {
            let cpu = Topology::get().first_cpu();
            let t: Vec<f64> = std::thread::scope(|s| {
                s.spawn(|| {
                    let _ = crate::topology::pin_current_thread(cpu);
                    (0..50)
                        .map(|_| {
                            let s = Instant::now();
                            let _ = std::thread::spawn(|| std::hint::black_box(1)).join();
                            s.elapsed().as_secs_f64() * 1e9
                        })
                        .collect()
                })
                .join()
                .unwrap_or_default()
            });
            let v = if t.is_empty() { 0.0 } else { median(&t) };
            self.record(
                "thread_spawn_ns",
                json!(v),
                "std::thread::spawn + join of an empty thread from a thread pinned to the first CPU, median of 50",
            );
            v
        })
    }

    /// One cache-line transfer between the first two physical cores, ns: half the round trip of
    /// an atomic flag bounced between two pinned spinning threads. `None` on one core.
    pub(crate) fn line_transfer_ns(&self) -> Option<f64> {
        *self.line_ns.get_or_init(|| {
            let cpus = Topology::get().core_cpus();
            let v = (cpus.len() >= 2)
                .then(|| kernels::line_ping_pong_ns(cpus[0], cpus[1], 20_000))
                .flatten();
            self.record(
                "line_transfer_ns",
                json!(v),
                "an atomic flag bounced between spinning threads on two physical cores: half a round trip",
            );
            v
        })
    }
}
