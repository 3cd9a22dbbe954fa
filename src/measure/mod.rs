//! Measurement primitives: the clock, resource usage (switches, CPU time), statistics, what
//! others took of the CPUs ([`load`]) and the fixed CPU probe ([`probe`]). The
//! experiments that measure whole things (ceilings, switch cost) live in `crate::experiment`.

pub mod clock;
pub mod load;
pub mod probe;
pub mod rusage;
pub mod stats;
