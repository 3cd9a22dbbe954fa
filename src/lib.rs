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
#![warn(missing_docs)]

pub mod analysis;
pub mod cli;
pub mod lab;
pub mod machine;
pub mod measure;
pub mod plan;
pub mod refs;
pub mod report;
pub mod runner;
pub mod shm;
pub mod strategy;
pub mod timeline;
pub mod topology;
pub mod worker;
pub mod workload;
