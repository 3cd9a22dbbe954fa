//! Measurement primitives: clocks, resource usage, and (in submodules) the costs and ceilings
//! concbench reports beside its run times.

pub mod ceilings;
pub mod clock;
pub mod rusage;
pub mod stats;
pub mod switch_cost;
