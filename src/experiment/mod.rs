//! Experiments that measure the machine itself rather than a workload: its ceilings (copy
//! bandwidth, peak FLOP/s) and the cost of one context switch. They sit above the runner and
//! the reports, and the lab and the CLI build on them.

pub(crate) mod ceilings;
pub mod ctxswitch;
pub mod limits;
pub(crate) mod switch_cost;
