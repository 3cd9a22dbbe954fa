//! Measurement primitives: the clock, resource usage (switches, CPU time) and statistics. The
//! experiments that measure whole things (ceilings, switch cost) live in `crate::experiment`.

pub mod clock;
pub mod rusage;
pub mod stats;
