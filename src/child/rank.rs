//! The jobs rank 0 of an MPI job gives the other ranks (the `distributed` strategy, `limits`
//! under mpirun). They are not started as processes: mpirun started them, and they wait for
//! [`RankJob`]s broadcast by rank 0 as JSON (see `crate::cluster`), served by
//! `crate::strategy::distributed::serve_ranks`.

use serde::{Deserialize, Serialize};

use super::FaultKind;
use crate::workload::WorkloadSpec;

/// What every rank other than 0 is asked to do next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "rank_job")]
#[non_exhaustive]
pub(crate) enum RankJob {
    /// One execution of a workload's parts: rank p < `parts` runs part p.
    Parts {
        /// The workload to build (cached between repetitions).
        spec: WorkloadSpec,
        /// Ranks taking part: 0..parts.
        parts: usize,
        /// Test hook: the fault this part injects.
        fault: Option<(usize, FaultKind)>,
    },
    /// Ping-pong with rank 0: messages of each size, round trips per size, best of `trials`.
    PingPong {
        /// The rank answering rank 0.
        peer: usize,
        /// Message sizes, bytes.
        sizes: Vec<usize>,
        /// Round trips per trial for each size.
        round_trips: Vec<usize>,
        /// Trials per size (the fastest counts).
        trials: usize,
    },
    /// The invocation is over: finalize MPI and exit.
    Exit,
}
