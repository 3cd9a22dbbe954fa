//! # concbench
//!
//! Measure the real difference between concurrency and parallelism on the machine it runs on.
//!
//! A [`workload::Workload`] (merge sort, matrix multiply, simulated I/O, or your own) has a
//! sequential twin and a decomposition into parts. A [`strategy::Strategy`] runs the parts:
//! `sequential`, `single-core-threaded` (threads taking turns on one core), `multi-threaded`
//! (threads on distinct physical cores) or `multi-process` (worker processes on distinct cores,
//! over shared memory). The [`runner`] sweeps core counts, [`analysis`] turns the repetitions into
//! speedup, efficiency and switch overhead, and [`report`] renders them.
//!
//! Data flows one way: cli → plan → runner → strategy × workload → samples → analysis → report.
//!
//! # Example: a speedup table from code
//!
//! Sixteen simulated I/O tasks of 1 ms each (pure waiting), swept over 1 and 4 workers. Four
//! threads on one core finish in about a quarter of the sequential time: waiting overlaps without
//! any parallelism.
//!
//! ```
//! use concbench::plan::RunPlan;
//! use concbench::sweep::measure_report;
//! use concbench::report::table::speedup_table;
//! use concbench::strategy::{ExecOptions, Strategy};
//! use concbench::workload::{self, WorkloadSpec};
//!
//! // Read the affinity mask before anything pins this thread (the sequential strategy does).
//! concbench::topology::allowed_cpus();
//!
//! let spec = WorkloadSpec::new("io", 16, 42).with("wait_ms", 1);
//! let plan = RunPlan {
//!     spec: spec.clone(),
//!     cores: vec![1, 4],
//!     strategies: vec![
//!         Strategy::Sequential,
//!         Strategy::SingleCoreThreaded,
//!         Strategy::MultiThreaded,
//!     ],
//!     reps: 3,
//!     warmup: 1,
//! };
//! let workload = workload::build(&spec)?;
//! let report = measure_report(&*workload, &plan, &ExecOptions::default())?;
//!
//! // One row per strategy × cores, sequential once; every repetition was verified.
//! assert_eq!(report.rows.len(), 1 + 2 * 2);
//! assert!(report.rows.iter().all(|row| row.verified));
//! println!("{}", speedup_table(&report).to_markdown());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Multi-process and your own workloads
//!
//! `multi-process` starts worker processes that rebuild the workload from its
//! [`workload::WorkloadSpec`]. They are new executions of a binary whose `main` begins with
//! [`child::part::serve_if_worker`]: by default the `concbench` binary (found by
//! [`strategy::WorkerCommand::locate_concbench`]), which knows the built-in workloads. A program
//! with its own [`workload::Workload`] describes it with a [`workload::WorkloadDescriptor`] (see
//! [`workload::registry`]) and serves its own workers: it calls `serve_if_worker` with a factory
//! that builds through [`workload::registry::build_with`] first thing in `main`, and passes
//! [`strategy::WorkerCommand::this_executable`] in [`strategy::ExecOptions::worker`]. See
//! `examples/custom_workload.rs` (a Monte Carlo estimate of π) and `examples/speedup_table.rs`;
//! `cargo bench` runs every built-in workload under every strategy with criterion.
#![warn(missing_docs)]

pub mod analysis;
pub mod child;
pub mod cli;
pub mod experiment;
pub mod lab;
pub mod machine;
pub mod measure;
pub mod output;
pub mod plan;
pub mod refs;
pub mod report;
pub mod rng;
pub mod runner;
pub mod shm;
pub mod strategy;
pub mod sweep;
pub mod text;
pub mod timeline;
pub mod topology;
pub mod workload;
