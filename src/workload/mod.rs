//! Workloads: jobs with a sequential twin and a decomposition into parts.
//!
//! A workload lives in shared memory so that threads and worker processes run the very same code
//! on the very same bytes. It lays that memory out as typed regions ([`Layout`], [`Region`]) and
//! says what each part of each stage reads and writes ([`Workload::access`]); the harness checks
//! once that no part of a stage writes what another part reads or writes (`Decomposition`),
//! then hands each part a [`View`] with `&[T]` of what it reads and `&mut [T]` of what it writes.
//! A workload is safe code (see `view`). Its parallel form is a list of [`Stage`]s; every stage
//! is cut into `parts` independent pieces, and a barrier separates stages (merge sort: sort the
//! parts, then merge them in parallel). Strategies decide *where* parts run; workloads decide
//! *what* a part does. Who calls what, and when:
//!
//! 1. the runner builds a workload from a [`WorkloadSpec`] (a worker process rebuilds it from the
//!    same spec with [`build`] or a user's factory), allocates [`Workload::shared_bytes`] and calls
//!    [`Workload::init`] once, with a view of the whole memory;
//! 2. before every repetition, untimed, [`Workload::reset`] (whole memory);
//! 3. timed: either [`Workload::run_sequential`] (the twin, whole memory) or, for each stage in
//!    order, [`Workload::run_part`] for every part, each with its own view — possibly in
//!    different processes; the decomposition was checked before the clock started;
//! 4. after timing, [`Workload::verify`] (whole memory): a wrong answer is an error, never a
//!    speedup.
//!
//! Five methods are required: `spec`, `shared_bytes`, `access`, `run_part` and `verify`; the
//! others have defaults (one compute stage, nothing to initialise or reset, the twin as the
//! parallel form with one part, the distributed form and the memory a worker maps read off
//! `access`).
//!
//! A part can also be run piece by piece, [`Workload::part_steps`]: between two pieces it says
//! what comes next ([`Step`]): a yield point, a wait (simulated I/O), or the end. Threads and
//! processes run a part whole with [`Workload::run_part`] (a wait sleeps in the kernel, a yield
//! point is passed by); the `single-thread-async` strategy runs each part as a task that awaits a
//! timer at a wait and gives the thread to the other tasks at a yield point. The default
//! `part_steps` is one piece, the whole `run_part`, so a workload that knows nothing of tasks
//! still runs under every strategy.
//!
//! # Adding a built-in workload
//!
//! Everything the rest of concbench knows about a workload is one [`WorkloadDescriptor`]: its
//! name, a one-line description, its parameters (flags, defaults, help, valid values), its default
//! size, the memory a size needs, the ceiling of the machine that bounds it, and how to build it.
//! `concbench list`, the `run` flags and their checks, the default size, the memory check and the
//! ceiling figures beside a run all read the descriptors; nothing else matches on a workload's
//! name.
//!
//!
//! It takes one new file and one line:
//!
//! 1. `src/workload/NAME.rs`: the type, its [`Workload`] impl, and a
//!    `pub const DESCRIPTOR: WorkloadDescriptor` whose `name` is the name users type and whose
//!    `build` makes the workload from a [`WorkloadSpec`] (the parameters are already checked
//!    against `params` when it is called through [`build`] or [`build_with`]; a constructor
//!    that others may call directly starts with `DESCRIPTOR.check_params(&spec)?`);
//! 2. the line `pub(crate) mod NAME;` in the `built_in!` list of `src/workload/mod.rs`, which declares
//!    the module and appends its `DESCRIPTOR` to [`BUILT_IN`].
//!
//! It then appears in `concbench list`, `concbench run --workload NAME` builds and validates it
//! (in worker processes too), each of its parameters gets its `--flag` on `concbench run` (a flag
//! that another workload already defines with the same name is shared), and its ceiling kind
//! decides which figures `--limits` shows beside its rows.
//!
//! # A workload of your own
//!
//! A program that uses the library follows the same path without the registry line: it defines a
//! `WorkloadDescriptor` for its workload, its constructor starts with
//! [`WorkloadDescriptor::check_params`] (as the built-in constructors do), and the factory that
//! its worker processes call builds with [`build_with`] (its own descriptors first, then the
//! built-in ones), so its parameters are checked like the built-in ones'
//! (`examples/custom_workload.rs` does this).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::rng::XorShift;

pub(crate) mod exchange;
pub(crate) mod matmul_kernel;
pub(crate) mod registry;
pub(crate) mod scratch;
pub(crate) mod sort_kernel;
pub(crate) mod view;

pub use exchange::{Collectives, PartData};
pub use registry::{
    all_params, build_with, find, Ceiling, ParamDescriptor, ParamKind, WorkloadDescriptor,
};
pub(crate) use view::run_parts_alone;
pub use view::AccessError;
pub(crate) use view::{init, reset, verify, verify_distributed, Decomposition};
pub use view::{Access, Layout, Plain, Region, View};

/// Declares each built-in workload's module and lists its `DESCRIPTOR` in [`BUILT_IN`], in the
/// order of `concbench list`.
macro_rules! built_in {
    ($($(#[$attr:meta])* $vis:vis mod $name:ident;)*) => {
        $($(#[$attr])* $vis mod $name;)*

        /// The built-in workloads, in the order of `concbench list` (adding one: see the module docs).
        pub const BUILT_IN: &[&WorkloadDescriptor] = &[$($(#[$attr])* &$name::DESCRIPTOR,)*];
    };
}

// The registry: one line per built-in workload (see the docs of `registry`).
built_in! {
    pub(crate) mod mergesort;
    pub(crate) mod matmul;
    pub(crate) mod io;
    pub(crate) mod web;
    #[cfg(test)] pub mod sum_squares;
}

/// What a worker process needs to rebuild a workload: its name, size, seed and named parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadSpec {
    /// Workload name (`mergesort`, `matmul`, `io`, or a user's).
    pub name: String,
    /// Problem size in the workload's own unit (keys, matrix order, tasks).
    pub size: usize,
    /// Seed of the deterministic input.
    pub seed: u64,
    /// Extra parameters by name (`wait_ms`, `cpu_share`, `kernel`).
    #[serde(default)]
    pub(crate) params: BTreeMap<String, String>,
}

impl WorkloadSpec {
    /// A spec with no extra parameters.
    pub fn new(name: &str, size: usize, seed: u64) -> WorkloadSpec {
        WorkloadSpec {
            name: name.to_string(),
            size,
            seed,
            params: BTreeMap::new(),
        }
    }

    /// Add a parameter (builder style).
    pub fn with(mut self, key: &str, value: impl ToString) -> WorkloadSpec {
        self.params.insert(key.to_string(), value.to_string());
        self
    }

    /// A parameter parsed as `T`, or `default` when absent.
    pub(crate) fn param<T: std::str::FromStr>(
        &self,
        key: &str,
        default: T,
    ) -> Result<T, WorkloadError> {
        match self.params.get(key) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| WorkloadError::BadParam {
                name: key.to_string(),
                value: v.clone(),
            }),
        }
    }
}

/// Whether a stage computes the parts or combines their results (reported as separate phases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum StageKind {
    /// Independent work on the parts.
    Compute,
    /// Putting the parts' results together (e.g. the parallel merge).
    Combine,
}

/// One step of a workload's parallel form: every part runs it, then all wait for each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    /// Short name ("sort", "merge", "multiply", "tasks").
    pub name: &'static str,
    /// Compute or combine.
    pub kind: StageKind,
}

/// What a part asks of the code running it between two pieces of its work
/// ([`PartSteps::next_step`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// A yield point: the part did some work and lets other parts run before it goes on. A task
    /// gives its thread to the other tasks; a thread goes straight on (the kernel preempts it).
    Yield,
    /// The part waits this long before its next piece (simulated I/O): a task awaits a timer
    /// and its thread runs the other tasks meanwhile; a thread sleeps in the kernel.
    Wait(std::time::Duration),
    /// The part is finished.
    Done,
}

/// A part run piece by piece: see [`Workload::part_steps`].
pub trait PartSteps {
    /// Run the next piece of the part and say what comes after it. Called until it says
    /// [`Step::Done`]; never again after that.
    fn next_step(&mut self) -> Step;
}

/// The default [`PartSteps`]: one piece, a closure running the whole part.
/// The steps of a part that neither yields nor waits: one step, the whole part. What a workload's
/// `part_steps` returns when no `--yield-every` asks for yield points, so a task runs exactly
/// the code the other strategies run.
pub(crate) struct WholePart<F: FnOnce()>(pub Option<F>);

impl<F: FnOnce()> PartSteps for WholePart<F> {
    fn next_step(&mut self) -> Step {
        if let Some(run) = self.0.take() {
            run();
        }
        Step::Done
    }
}

/// Run a part's steps to the end on the calling thread: yield points are passed by, a wait
/// sleeps in the kernel. What [`Workload::run_part`] does for a workload that has steps.
pub(crate) fn run_steps_blocking(steps: &mut dyn PartSteps) {
    loop {
        match steps.next_step() {
            Step::Yield => {}
            Step::Wait(d) => std::thread::sleep(d),
            Step::Done => break,
        }
    }
}

/// How much work one run does, for throughput figures (criterion, GFLOP/s).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WorkUnits {
    /// How many units one run processes.
    pub count: f64,
    /// Unit name: "keys", "flop", "tasks".
    pub unit: &'static str,
}

/// Errors building or checking a workload.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkloadError {
    /// No workload of that name.
    #[error("unknown workload '{0}' (known: {known})", known = registry::names().join(", "))]
    Unknown(String),
    /// A parameter has a value the workload cannot use.
    #[error("bad value '{value}' for {name}")]
    BadParam {
        /// Parameter name.
        name: String,
        /// The value given.
        value: String,
    },
    /// The size is unusable (zero, or too big to fit in memory).
    #[error("{0}")]
    BadSize(String),
    /// A service (`web`) was asked to be built as a job of parts: it has none; the runner
    /// measures it through its server architectures.
    #[error("{0} is a service (requests over sockets), not a job of parts: measure it with `concbench run --workload {0}` or `Sweep::service`")]
    Service(String),
    /// A parameter given under its flag's spelling (`wait-ms`) instead of its key (`wait_ms`).
    #[error("parameter '{given}' is spelled as its flag --{given}; its key in a WorkloadSpec or RunRequest is '{key}'")]
    KeySpelledAsFlag {
        /// The key as given.
        given: String,
        /// The key it stands for.
        key: String,
    },
    /// A parameter the workload does not read (e.g. `--kernel` for mergesort).
    #[error("--{flag} does not apply to {workload} ({takes})")]
    UnusedParam {
        /// The parameter as its command-line flag, without the dashes.
        flag: String,
        /// The workload.
        workload: String,
        /// What the workload does take.
        takes: String,
    },
}

/// A job with a sequential twin and a decomposition into parts. See the module docs for the
/// order in which the harness calls these methods. Five are required (`spec`, `shared_bytes`,
/// `access`, `run_part`, `verify`); the rest have defaults.
///
/// Every method that touches the shared memory gets a [`View`]: of the whole memory, alone, for
/// `init`, `reset`, `run_sequential` and the verification; of what the part declared in
/// [`Workload::access`] for `run_part` and `part_steps`.
pub trait Workload: Send + Sync {
    /// The spec this workload was built from (sent to worker processes).
    fn spec(&self) -> &WorkloadSpec;

    /// Bytes of shared memory needed (inputs, outputs, scratch): its [`Layout::bytes`].
    fn shared_bytes(&self) -> usize;

    /// What part `part` of `parts` reads and writes in stage `stage`: ranges of the workload's
    /// [`Region`]s. Checked for every stage before anything runs (no part may write what
    /// another part of the stage reads or writes), then the part's [`View`] hands out exactly
    /// these ranges. Under `distributed` the same declarations say what each part receives and
    /// holds (`Access::part_data`).
    fn access(&self, stage: usize, part: usize, parts: usize) -> Access;

    /// Part `part` of `parts` of stage `stage`, with the view of what [`Workload::access`]
    /// declared for it. Parts of one stage may run at the same time, in threads or processes.
    fn run_part(&self, mem: &View<'_>, stage: usize, part: usize, parts: usize);

    /// Check the result after a timed run: `parts` is `None` after the sequential twin.
    fn verify(&self, mem: &View<'_>, parts: Option<usize>) -> Result<(), VerifyError>;

    /// The stages of the parallel form for `parts` parts, in order. The default is one compute
    /// stage.
    fn stages(&self, _parts: usize) -> Vec<Stage> {
        vec![Stage {
            name: "parts",
            kind: StageKind::Compute,
        }]
    }

    /// Write the inputs that never change between repetitions. Called once, untimed. The
    /// default does nothing.
    fn init(&self, _mem: &View<'_>) {}

    /// Restore the state a repetition starts from (e.g. unsorted keys). Called before every
    /// repetition, untimed. The default does nothing.
    fn reset(&self, _mem: &View<'_>) {}

    /// The sequential twin: the whole job on the calling thread. The default runs the parallel
    /// form with one part (`View::run_parts`); a workload with a sequential algorithm of its
    /// own (the built-in ones) gives it here.
    fn run_sequential(&self, mem: &View<'_>) {
        mem.run_parts(self, 1);
    }

    /// How much work one run does, for throughput figures. The default is the spec's size, in
    /// "items".
    fn work_units(&self) -> WorkUnits {
        WorkUnits {
            count: self.spec().size as f64,
            unit: "items",
        }
    }

    /// Part `part` of `parts` of stage `stage` as a sequence of pieces with yield points and
    /// waits between them, for strategies that interleave parts on one thread (tasks). Running
    /// the steps to the end with `run_steps_blocking` must do exactly what
    /// [`Workload::run_part`] does. The default is one piece: the whole `run_part` (a task that
    /// never yields nor waits).
    fn part_steps<'v>(
        &'v self,
        mem: &'v View<'v>,
        stage: usize,
        part: usize,
        parts: usize,
    ) -> Box<dyn PartSteps + 'v> {
        Box::new(WholePart(Some(move || {
            self.run_part(mem, stage, part, parts)
        })))
    }

    /// How long the sequential twin takes, seconds, when the workload knows it before running
    /// (the io workload: tasks × wait); `None` (the default) when only a run can tell. Used to
    /// warn before a run that would take very long.
    fn expected_sequential_s(&self) -> Option<f64> {
        None
    }

    /// Byte ranges of the shared memory that part `part` of `parts` touches most: a worker
    /// process maps these into its page tables while it sets up, before the clock's compute
    /// phase; anything else it reads is mapped on first touch. The default is every range the
    /// part declares in any stage.
    fn part_memory(&self, part: usize, parts: usize) -> Vec<std::ops::Range<usize>> {
        (0..self.stages(parts).len())
            .flat_map(|stage| {
                self.access(stage, part, parts)
                    .byte_ranges()
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Run part `part` of a stage declared `Access::exchanging`, when the parts share no
    /// memory (`distributed`): the part moves its data itself with `comm` (whose ranks are the
    /// parts, this one being `comm.rank() == part`) and returns the byte ranges it wrote that
    /// later stages or the verification read. `mem` is the whole of this rank's own memory. Every
    /// part of the stage calls it at once. The default runs [`Workload::run_part`] on the part's
    /// declared ranges (`View::narrow`) and returns what it declared it writes, for a workload
    /// that marks a stage exchanging without moving anything itself.
    fn run_part_exchanging(
        &self,
        mem: &View<'_>,
        stage: usize,
        part: usize,
        parts: usize,
        _comm: &dyn Collectives,
    ) -> Vec<std::ops::Range<usize>> {
        let access = self.access(stage, part, parts);
        self.run_part(&mem.narrow(&access), stage, part, parts);
        access.declared_writes()
    }

    /// Check the result of a distributed run on rank 0, once every byte another rank wrote last
    /// is back: `written[p]` is what part `p` wrote last. The default is
    /// [`Workload::verify`] with `parts`; a workload whose exchanging stage leaves its result
    /// somewhere else than its shared-memory form does overrides it, and names the part from
    /// `written`.
    fn verify_distributed(
        &self,
        mem: &View<'_>,
        parts: usize,
        _written: &[Vec<std::ops::Range<usize>>],
    ) -> Result<(), VerifyError> {
        self.verify(mem, Some(parts))
    }
}

/// Build a built-in workload from its spec (also what a worker process calls), through its
/// [`WorkloadDescriptor`]: a parameter the workload would ignore, or a value it cannot use, is an
/// error, so a mistyped run does not silently measure something else.
pub fn build(spec: &WorkloadSpec) -> Result<Box<dyn Workload>, WorkloadError> {
    registry::find(&spec.name)
        .ok_or_else(|| WorkloadError::Unknown(spec.name.clone()))?
        .build(spec)
}

/// Check a spec as a run will use it: build a job (so its own checks run), or read a service's
/// configuration.
pub(crate) fn check(spec: &WorkloadSpec) -> Result<(), WorkloadError> {
    match registry::find(&spec.name) {
        Some(d) if d.service => web::WebConfig::from_spec(spec).map(|_| ()),
        _ => build(spec).map(|_| ()),
    }
}

/// The half-open range of items `0..n` that part `part` of `parts` owns: `[p*n/P, (p+1)*n/P)`.
/// Parts may be empty when `n < parts`.
pub fn part_range(n: usize, part: usize, parts: usize) -> std::ops::Range<usize> {
    let lo = (n as u128 * part as u128 / parts as u128) as usize;
    let hi = (n as u128 * (part as u128 + 1) / parts as u128) as usize;
    lo..hi
}

/// Which part of `parts` owns item `index` of `0..n` (the inverse of [`part_range`]); `None`
/// after the sequential twin (`parts` is `None`) or with a single part.
pub(crate) fn owner_of(n: usize, index: usize, parts: Option<usize>) -> Option<usize> {
    match parts {
        Some(parts) if parts > 1 => (0..parts).find(|&p| part_range(n, p, parts).contains(&index)),
        _ => None,
    }
}

/// A wrong answer found by [`Workload::verify`]: which part's range holds it (when the
/// decomposition says so), at which item, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct VerifyError {
    /// The part whose range holds the wrong item, or that returned a wrong intermediate result
    /// (`None` when the error cannot be pinned on one part, e.g. after the sequential twin).
    pub(crate) part: Option<usize>,
    /// The item (key, row, task) where the answer is wrong, if it has an index.
    pub(crate) index: Option<usize>,
    /// What is wrong, in words; already names the part and the index.
    pub(crate) message: String,
}

impl VerifyError {
    /// A wrong answer that belongs to no one item or part (e.g. "not a permutation").
    pub fn new(message: impl Into<String>) -> VerifyError {
        VerifyError {
            part: None,
            index: None,
            message: message.into(),
        }
    }

    /// A wrong result returned by part `part`.
    pub(crate) fn of_part(part: usize, message: impl Into<String>) -> VerifyError {
        VerifyError {
            part: Some(part),
            ..VerifyError::new(message)
        }
    }

    /// A wrong item `index` of `0..n`, blamed on the part whose range holds it; `describe` gets
    /// the phrase naming that part (`" (part 3's range)"`, or `""`) and writes the message.
    pub(crate) fn at_item(
        n: usize,
        index: usize,
        parts: Option<usize>,
        describe: impl FnOnce(&str) -> String,
    ) -> VerifyError {
        let part = owner_of(n, index, parts);
        let note = part
            .map(|p| format!(" (part {p}'s range)"))
            .unwrap_or_default();
        VerifyError {
            part,
            index: Some(index),
            message: describe(&note),
        }
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Runs a workload's parallel form in one thread, part after part, for decomposition tests.
    use super::*;
    use crate::shm::SharedRegion;

    /// A built-in workload from `spec` in a region of its own, initialised and reset: ready for
    /// one execution by a strategy under test.
    pub fn ready(spec: WorkloadSpec) -> (Box<dyn Workload>, SharedRegion) {
        let w = build(&spec).unwrap();
        let r = SharedRegion::new(w.shared_bytes()).unwrap();
        init(&*w, r.mem());
        reset(&*w, r.mem());
        (w, r)
    }

    /// Run `f` with a view of all of `region` (single-threaded tests).
    pub fn alone<R>(region: &SharedRegion, f: impl FnOnce(&View<'_>) -> R) -> R {
        let _lease = region.mem().lease();
        // SAFETY: the lease keeps every other user off the region; the view is gone when `f`
        // returns.
        f(&unsafe { View::whole(region.mem()) })
    }

    /// Run `f` with part `part`'s view of stage `stage` of `parts` parts, alone.
    pub fn as_part<R>(
        w: &dyn Workload,
        region: &SharedRegion,
        (stage, part, parts): (usize, usize, usize),
        f: impl FnOnce(&View<'_>) -> R,
    ) -> R {
        let _lease = region.mem().lease();
        let d = Decomposition::check(w, parts).unwrap();
        // SAFETY: the lease keeps every other user off the region; this is its only view, gone
        // when `f` returns.
        f(&unsafe { d.view(region.mem(), stage, part) })
    }

    /// Run the staged form with `parts` parts sequentially and verify it.
    pub fn run_staged(w: &dyn Workload, parts: usize) -> Result<(), VerifyError> {
        let region = ready_from(w);
        alone(&region, |v| v.run_parts(w, parts));
        verify(w, region.mem(), Some(parts))
    }

    /// Run the sequential twin and verify it.
    pub fn run_twin(w: &dyn Workload) -> Result<(), VerifyError> {
        let region = ready_from(w);
        alone(&region, |v| w.run_sequential(v));
        verify(w, region.mem(), None)
    }

    /// A region holding `w`, initialised and reset.
    fn ready_from(w: &dyn Workload) -> SharedRegion {
        let region = SharedRegion::new(w.shared_bytes()).unwrap();
        init(w, region.mem());
        reset(w, region.mem());
        region
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_ranges_tile_the_items() {
        for n in [0, 1, 2, 3, 7, 10, 1000] {
            for parts in [1, 2, 3, 7, 64] {
                let mut next = 0;
                for p in 0..parts {
                    let r = part_range(n, p, parts);
                    assert_eq!(r.start, next);
                    next = r.end;
                }
                assert_eq!(next, n);
            }
        }
    }

    #[test]
    fn verify_errors_name_the_owning_part() {
        assert_eq!(owner_of(10, 9, Some(3)), Some(2));
        assert_eq!(owner_of(10, 0, Some(3)), Some(0));
        assert_eq!(owner_of(10, 5, None), None);
        let e = VerifyError::at_item(10, 9, Some(3), |note| format!("item 9{note} is wrong"));
        assert_eq!((e.part, e.index), (Some(2), Some(9)));
        assert_eq!(e.to_string(), "item 9 (part 2's range) is wrong");
        let e = VerifyError::at_item(10, 9, None, |note| format!("item 9{note} is wrong"));
        assert_eq!((e.part, e.to_string().as_str()), (None, "item 9 is wrong"));
    }

    #[test]
    fn unknown_workload_is_an_error() {
        let e = build(&WorkloadSpec::new("bogus", 10, 1)).err().unwrap();
        assert!(e.to_string().contains("bogus"));
    }

    #[test]
    fn xorshift_is_deterministic() {
        let a: Vec<u64> = {
            let mut g = XorShift::new(7);
            (0..4).map(|_| g.next()).collect()
        };
        let mut g = XorShift::new(7);
        assert_eq!(a, (0..4).map(|_| g.next()).collect::<Vec<_>>());
    }
}
