//! # concbench
//!
//! Measure the real difference between concurrency and parallelism on the machine it runs on.
//!
//! A [`workload::Workload`] (merge sort, matrix multiply, simulated I/O, or your own) has a
//! sequential twin and a decomposition into parts. A [`strategy::Strategy`] runs the parts:
//! `sequential`, `single-core-threaded` (threads taking turns on one core), `multi-threaded`
//! (threads on distinct physical cores), `multi-process` (worker processes on distinct cores,
//! over shared memory), `single-thread-async` (tasks on one thread) or `distributed` (MPI ranks
//! sharing no memory, with the cargo feature `mpi`: see [`cluster`] and
//! `strategy::distributed`). A [`sweep::Sweep`] runs a workload over core counts and strategies, every
//! repetition verified, and returns a [`report::RunReport`] (speedup, efficiency, switch
//! overhead per row) that renders in every [`report::Format`] through [`report::Render`].
//!
//! `concbench run` is one call, [`sweep::run_request`]; so are `concbench lab`
//! ([`lab::run_lab`], a [`lab::LabReport`]) and `concbench timeline` ([`timeline::Timeline::record`]),
//! whose results render and write their files through [`report::Render`] too. Data flows one way: cli → sweep → plan →
//! runner → strategy × workload → measurements → analysis → report; `ARCHITECTURE.md` lists the
//! layers and a test enforces them.
//!
//! # Example: a speedup table from code
//!
//! Sixteen simulated I/O tasks of 1 ms each (pure waiting), swept over 1 and 4 workers. Four
//! threads on one core finish in about a quarter of the sequential time: waiting overlaps without
//! any parallelism.
//!
//! ```
//! use concbench::report::{Format, Render};
//! use concbench::strategy::Strategy;
//! use concbench::sweep::Sweep;
//! use concbench::workload::{self, WorkloadSpec};
//!
//! let workload = workload::build(&WorkloadSpec::new("io", 16, 42).with("wait_ms", 1))?;
//! let report = Sweep::new(&*workload)
//!     .cores([1, 4])
//!     .strategies([
//!         Strategy::Sequential,
//!         Strategy::SingleCoreThreaded,
//!         Strategy::MultiThreaded,
//!     ])
//!     .reps(3)
//!     .run()?;
//!
//! // One row per strategy × cores, sequential once; every repetition was verified.
//! assert_eq!(report.rows.len(), 1 + 2 * 2);
//! assert!(report.rows.iter().all(|row| row.verified));
//! println!("{}", report.render(Format::Markdown));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Multi-process and your own workloads
//!
//! `multi-process` starts worker processes that rebuild the workload from its
//! [`workload::WorkloadSpec`]. Every process concbench starts speaks one protocol
//! ([`child`]): it is a program whose `main` begins with [`serve_if_child`], by default the
//! `concbench` binary (beside this executable or one directory up, or `$CONCBENCH_EXE`), which
//! knows the built-in workloads. A program with its own [`workload::Workload`] serves its own children:
//! it calls `serve_if_child` with a factory that knows its workload first thing in `main`, and
//! gives the sweep [`child::WorkerCommand::this_executable`] through [`sweep::Sweep::worker`].
//! Adding a workload is described in [`workload`]. See `examples/custom_workload.rs`
//! (a Monte Carlo estimate of π) and `examples/speedup_table.rs`; `cargo bench` runs every
//! built-in workload under every strategy with criterion.
#![warn(missing_docs)]
// A type reachable from the public API must be nameable there too (re-exported where it belongs).
#![warn(unnameable_types)]
// The docs of a public item link only public items (a link to a private one is literal
// brackets in the public docs); the private items' docs may link anything. CI builds both with
// warnings denied.
// Lists of byte ranges (what a part reads and writes) often hold one range: `vec![a..b]` is
// meant, not the numbers a..b.
#![allow(clippy::single_range_in_vec_init)]

pub(crate) mod analysis;
pub mod child;
pub mod cluster;
pub mod collect;
pub mod experiment;
pub mod lab;
pub(crate) mod machine;
pub(crate) mod measure;
pub(crate) mod output;
pub(crate) mod plan;
pub mod refs;
pub mod report;
pub mod rerender;
pub(crate) mod rng;
pub(crate) mod runner;
pub(crate) mod serve;
pub mod service;
pub(crate) mod shm;
pub(crate) mod start;
pub mod strategy;
pub mod sweep;
pub(crate) mod sys;
pub(crate) mod text;
pub mod timeline;
pub(crate) mod topology;
pub mod workload;

pub use serve::serve_if_child;
