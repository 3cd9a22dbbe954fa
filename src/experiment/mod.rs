//! Experiments that measure the machine itself rather than a workload: its ceilings (copy
//! bandwidth, peak FLOP/s) and the cost of one context switch. They sit above the runner and
//! the reports, and the lab and the CLI build on them.

pub(crate) mod ceilings;
pub(crate) mod ctxswitch;
pub(crate) mod limits;

pub use ceilings::CeilingError;
pub use ctxswitch::{measure_ctxswitch, CaseError, CtxSwitchReport, PingPongPlan};
pub use limits::{measure_limits, LimitsRun};
pub(crate) mod switch_cost;
