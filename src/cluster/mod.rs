//! The ranks of an MPI job: how concbench knows it was launched by `mpirun` or `srun`, starts
//! MPI, and lets rank 0 drive the others.
//!
//! MPI programs are launched whole: `mpirun -n 4 concbench run ...` starts four copies of the
//! binary. Rank 0 runs the command line as usual; every other rank, once MPI is up, waits for
//! `RankJob`s that rank 0 broadcasts (a workload's parts, a ping-pong) until [`finish`]
//! broadcasts `RankJob::Exit`. The MPI calls themselves live in `mpi.rs`, compiled with the
//! cargo feature `mpi` only (rsmpi over the system's MPI library); without it this module still
//! says whether the process was launched as a rank, so a binary without MPI can refuse plainly.
//!
//! MPI is used from the main thread only: a [`World`] checks it. It is initialised as
//! `MPI_THREAD_SINGLE`, since the other threads concbench starts never call MPI (see `mpi.rs`).

use crate::child::rank::RankJob;
use crate::machine::{ClusterInfo, RunContext};
use crate::workload::Collectives;

#[cfg(feature = "mpi")]
mod mpi;

/// Whether this binary was built with MPI (the cargo feature `mpi`).
pub(crate) const HAS_MPI: bool = cfg!(feature = "mpi");

/// How to get a binary with MPI, for messages.
pub(crate) const BUILD_WITH_MPI: &str = "build it with MPI: `apt-get install libopenmpi-dev openmpi-bin libclang-dev`, then `cargo build --release --features mpi`";

/// What the launcher told this process about its place in the job (environment variables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Launch {
    /// `mpirun` (Open MPI), `srun` (Slurm) or another PMI launcher.
    pub(crate) launcher: &'static str,
    /// This process's rank.
    pub(crate) rank: usize,
    /// Ranks in the job.
    pub(crate) size: usize,
    /// Its rank among the ranks on its host.
    pub(crate) local_rank: usize,
}

/// Set by a rank for the programs it starts (its own `concbench --version`, a user's command):
/// they inherit the launcher's variables but are not ranks. Its value is the rank's pid.
pub(crate) const RANK_PID_VAR: &str = "CONCBENCH_MPI_RANK_PID";

/// Whether this process was started by an MPI launcher, from the variables Open MPI (`OMPI_*`),
/// Slurm (`SLURM_*` with PMIx or PMI) and MPICH-style launchers (`PMI_*`) set. A program that a
/// rank started is not a launch, though it inherits them (see [`RANK_PID_VAR`]).
pub(crate) fn launch_from_env() -> Option<Launch> {
    let me = std::process::id().to_string();
    if std::env::var(RANK_PID_VAR).is_ok_and(|pid| pid != me) {
        return None;
    }
    launch_from(|k| std::env::var(k).ok())
}

/// [`launch_from_env`] over any source of variables (tested with fixed ones).
pub(crate) fn launch_from(var: impl Fn(&str) -> Option<String>) -> Option<Launch> {
    let num = |k: &str| var(k).and_then(|v| v.trim().parse::<usize>().ok());
    let (launcher, rank, size) =
        if let (Some(r), Some(s)) = (num("OMPI_COMM_WORLD_RANK"), num("OMPI_COMM_WORLD_SIZE")) {
            ("mpirun", r, s)
        } else if let (Some(r), Some(s), true) = (
            num("PMIX_RANK").or(num("PMI_RANK")),
            num("SLURM_NTASKS").or(num("PMI_SIZE")),
            var("SLURM_STEP_ID").is_some(),
        ) {
            ("srun", r, s)
        } else if let (Some(r), Some(s)) = (num("PMI_RANK"), num("PMI_SIZE")) {
            ("mpiexec", r, s)
        } else {
            return None;
        };
    let local_rank = num("OMPI_COMM_WORLD_LOCAL_RANK")
        .or(num("SLURM_LOCALID"))
        .or(num("MPI_LOCALRANKID"))
        .unwrap_or(0);
    (size >= 1 && rank < size).then_some(Launch {
        launcher,
        rank,
        size,
        local_rank,
    })
}

/// A message made once per process that must live as long as it (a signal handler writes it).
fn leak(message: String) -> &'static str {
    Box::leak(message.into_boxed_str())
}

/// Where this process sits in a Slurm job, for messages that should name Slurm's remedies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SlurmTasks {
    /// `SLURM_JOB_ID`.
    pub job_id: String,
    /// Tasks of the job (`SLURM_NTASKS` in a batch script or an salloc shell), if it says.
    pub(crate) job_tasks: Option<usize>,
    /// Started by `srun` as one of this many tasks of a step (`SLURM_STEP_NUM_TASKS`, or
    /// `SLURM_NTASKS` in a step); `None` outside a step (a batch script, an salloc shell).
    pub(crate) step_tasks: Option<usize>,
    /// This task's number in its step (`SLURM_PROCID`), in a step.
    pub task: Option<usize>,
}

/// [`SlurmTasks`] from any source of variables; `None` outside a Slurm job.
pub(crate) fn slurm_tasks_from(var: impl Fn(&str) -> Option<String>) -> Option<SlurmTasks> {
    let num = |k: &str| var(k).and_then(|v| v.trim().parse::<usize>().ok());
    let job_id = var("SLURM_JOB_ID").filter(|v| !v.trim().is_empty())?;
    let in_step = var("SLURM_STEP_ID").is_some();
    Some(SlurmTasks {
        job_id: job_id.trim().to_string(),
        job_tasks: num("SLURM_NTASKS"),
        step_tasks: in_step
            .then(|| num("SLURM_STEP_NUM_TASKS").or(num("SLURM_NTASKS")))
            .flatten(),
        task: in_step.then(|| num("SLURM_PROCID")).flatten(),
    })
}

/// [`SlurmTasks`] of this process.
pub(crate) fn slurm_tasks() -> Option<SlurmTasks> {
    slurm_tasks_from(|k| std::env::var(k).ok())
}

/// Whether this process is a task other than the first of an `srun` step whose tasks are not
/// ranks of one MPI job (`srun -n 4` without `--mpi=pmix`): each task runs the same command line,
/// so a usage error is said once, by task 0, and the others exit with the same status silently.
pub fn is_repeated_slurm_task() -> bool {
    launch_from_env().is_none()
        && slurm_tasks().is_some_and(|t| t.step_tasks.unwrap_or(1) > 1 && t.task.unwrap_or(0) > 0)
}

/// The MPI job, once started: this rank, the job's size and what rank 0 knows of every rank.
pub struct World {
    /// This process's rank.
    pub(crate) rank: usize,
    /// Ranks in the job.
    pub size: usize,
    /// The job as described in the machine block (hosts, masks, MPI library, start-up time).
    pub(crate) info: ClusterInfo,
    /// What the launcher said.
    pub(crate) launch: Launch,
    backend: Backend,
}

#[cfg(feature = "mpi")]
type Backend = mpi::Backend;

/// Without MPI there is no world: this type has no values, so no method below can be reached.
#[cfg(not(feature = "mpi"))]
enum Backend {}

// SAFETY: the backend holds MPI handles, which are used from the main thread only; every method
// that reaches them checks the calling thread first (`Backend::check_thread`).
unsafe impl Sync for World {}
// SAFETY: as above.
unsafe impl Send for World {}

/// The MPI job of this process: MPI is initialised at most once per process (a second
/// `MPI_Init` fails), so its world is a process singleton, written only by [`start`] and read by
/// [`world`]. What is measured in the job (the message ceilings) is not kept here: it travels in
/// the [`RunContext`] of the measurement that took it.
static WORLD: std::sync::OnceLock<World> = std::sync::OnceLock::new();

/// Why MPI could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ClusterError {
    /// Launched as one of several ranks, but this binary has no MPI.
    #[error("this concbench was launched by {launcher} as one of {size} ranks but was built without MPI, so its ranks cannot talk to each other; {BUILD_WITH_MPI}")]
    #[cfg_attr(feature = "mpi", allow(dead_code))]
    NoMpi {
        /// The launcher.
        launcher: &'static str,
        /// Ranks launched.
        size: usize,
    },
    /// MPI did not start.
    #[error("MPI did not start: {0}")]
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))]
    Init(String),
}

/// Start MPI when this process was launched as a rank (once, first thing in `main`, after the
/// child check). `Ok(None)`: not launched by an MPI launcher (or launched as a single rank by a
/// binary without MPI), an ordinary run. The world is then available from [`world`].
pub(crate) fn start() -> Result<Option<&'static World>, ClusterError> {
    let slurm = slurm_tasks();
    let Some(launch) = launch_from_env() else {
        if let Some(job) = slurm {
            // A run of its own in a Slurm job: scancel, the time limit or a lost node end it
            // with SIGTERM, which would otherwise leave no word at all.
            crate::sys::announce_termination(leak(format!(
                "concbench: error: stopped by Slurm: job {} was cancelled (scancel), reached its time limit or lost a node (Slurm's own line says which)\n",
                job.job_id
            )));
        }
        return Ok(None);
    };
    // Before any thread exists: what this rank starts is not a rank.
    std::env::set_var(RANK_PID_VAR, std::process::id().to_string());
    #[cfg(feature = "mpi")]
    {
        let world = mpi::start(launch).map_err(ClusterError::Init)?;
        if world.rank == 0 {
            // When a rank dies, mpirun stops the others with SIGTERM; rank 0 can still say so.
            // In a Slurm job SIGTERM also comes from Slurm itself, ending the whole job.
            crate::sys::announce_termination(match slurm {
                Some(job) => leak(format!(
                    "concbench: error: the MPI job was stopped: Slurm job {} was cancelled (scancel), reached its time limit or lost a node, or a rank died (Slurm's own line says which; mpirun without -q names a dead rank)\n",
                    job.job_id
                )),
                None => "concbench: error: the MPI launcher stopped this job (a rank died or the job was interrupted; mpirun without -q names the rank)\n",
            });
        }
        Ok(Some(WORLD.get_or_init(|| world)))
    }
    #[cfg(not(feature = "mpi"))]
    {
        if launch.size > 1 {
            return Err(ClusterError::NoMpi {
                launcher: launch.launcher,
                size: launch.size,
            });
        }
        Ok(None)
    }
}

/// The MPI job this process is a rank of, once `start` started it.
pub fn world() -> Option<&'static World> {
    WORLD.get()
}

/// Whether this binary can run `distributed`, and how to get one that can (`concbench list`).
pub fn mpi_status() -> String {
    match (HAS_MPI, world()) {
        (false, _) => format!(
            "distributed: not in this binary (built without the `mpi` feature); {}",
            BUILD_WITH_MPI
        ),
        (true, None) => "distributed: built with MPI; launch with `mpirun -n N --bind-to core concbench run --strategy distributed --cores 1,...,N` (or `srun -n N ...`); with other strategies in the same run, `--bind-to none`, so that rank 0 keeps the whole host for them".into(),
        (true, Some(w)) => format!(
            "distributed: built with MPI; this is rank 0 of {} rank{} launched by {}",
            w.size,
            if w.size == 1 { "" } else { "s" },
            w.launch.launcher
        ),
    }
}

/// The context a measurement in this process starts from: the MPI job it is rank 0 of, as MPI
/// started it (no message ceilings measured yet); no job outside one. Whoever drives a
/// measurement takes it once and hands it down (see [`RunContext`]).
pub(crate) fn context() -> RunContext {
    RunContext {
        cluster: world().map(|w| w.info.clone()),
    }
}

/// Rank 0 of a job with other ranks: measure the message ceilings between rank 0 and each other
/// rank by the quick ping-pong ([`PingPongPlan::quick`], untimed: about 0.2 s per rank on one
/// host) and record them in `context`, unless it holds some already: what distributed rows set
/// their communication beside. Does nothing outside such a job.
pub(crate) fn measure_messages_into(context: &mut RunContext) {
    if context.message_ceilings().is_some() {
        return;
    }
    if let Some(world) = world().filter(|w| w.size > 1) {
        let measured = measure_messages(world, &PingPongPlan::quick());
        context.record_message_ceilings(measured.into_iter().map(|(c, _)| c).collect());
    }
}

/// End the job: rank 0 tells every other rank to exit, and every rank finalizes MPI. Call it
/// once, on rank 0 at the end of `main` (the other ranks finish when they get the exit job).
pub fn finish() {
    if let Some(w) = world() {
        if w.rank == 0 {
            w.send_job(&RankJob::Exit);
        }
        w.finalize();
    }
}

impl World {
    /// Rank 0: broadcast the next job to every other rank.
    pub(crate) fn send_job(&self, job: &RankJob) {
        #[cfg(feature = "mpi")]
        {
            let text = serde_json::to_string(job).expect("rank jobs serialize");
            self.backend.broadcast_text(Some(text));
        }
        #[cfg(not(feature = "mpi"))]
        {
            let _ = job;
            match self.backend {}
        }
    }

    /// Ranks other than 0: wait for rank 0's next job.
    pub(crate) fn receive_job(&self) -> Result<RankJob, String> {
        #[cfg(feature = "mpi")]
        {
            let text = self.backend.broadcast_text(None);
            serde_json::from_str(&text).map_err(|e| format!("rank 0 sent a job this rank cannot read ({e}): is every host running the same concbench?"))
        }
        #[cfg(not(feature = "mpi"))]
        match self.backend {}
    }

    /// Run `body` with the group of ranks `0..ranks` (a communicator split from the job's, made
    /// once per size and kept); ranks outside it get `None`. Every rank of the job must call it
    /// with the same `ranks`, since making the group is collective.
    pub(crate) fn with_group<R>(
        &self,
        ranks: usize,
        body: impl FnOnce(Option<&dyn Collectives>) -> R,
    ) -> R {
        #[cfg(feature = "mpi")]
        {
            self.backend.with_group(self.rank, ranks, body)
        }
        #[cfg(not(feature = "mpi"))]
        {
            let _ = (ranks, body);
            match self.backend {}
        }
    }

    /// Rank 0 and `peer` bounce messages of `size` bytes `round_trips` times; returns the
    /// seconds it took on rank 0's clock (the peer's return value is meaningless). Both call it
    /// with the same arguments; no other rank does.
    pub(crate) fn ping_pong(&self, peer: usize, size: usize, round_trips: usize) -> f64 {
        #[cfg(feature = "mpi")]
        {
            self.backend.ping_pong(self.rank, peer, size, round_trips)
        }
        #[cfg(not(feature = "mpi"))]
        {
            let _ = (peer, size, round_trips);
            match self.backend {}
        }
    }

    fn finalize(&self) {
        #[cfg(feature = "mpi")]
        self.backend.finalize();
        #[cfg(not(feature = "mpi"))]
        match self.backend {}
    }

    /// The host rank `rank` runs on.
    pub(crate) fn host_of(&self, rank: usize) -> &str {
        self.info
            .ranks
            .get(rank)
            .map(|r| r.host.as_str())
            .unwrap_or("?")
    }
}

/// What a message ping-pong between rank 0 and one other rank measures: for each message size,
/// `round_trips` round trips per trial (a tenth of them first, untimed), the fastest of
/// `trials` trials counting — as OSU's osu_latency and osu_bw measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PingPongPlan {
    /// Message sizes, bytes.
    pub(crate) sizes: Vec<usize>,
    /// Round trips per trial, per size.
    pub(crate) round_trips: Vec<usize>,
    /// Trials per size.
    pub(crate) trials: usize,
}

impl PingPongPlan {
    /// `limits`: 8 bytes, then 1, 4, 16 and 64 MiB; five trials each.
    pub(crate) fn full() -> PingPongPlan {
        PingPongPlan {
            sizes: vec![8, 1 << 20, 4 << 20, 16 << 20, 64 << 20],
            round_trips: vec![20_000, 500, 125, 32, 8],
            trials: 5,
        }
    }

    /// Before the first distributed row, and `limits --quick`: 8 bytes, 1 MiB and 16 MiB (past
    /// the caches), three short trials (about 0.2 s per rank on one host).
    pub(crate) fn quick() -> PingPongPlan {
        PingPongPlan {
            sizes: vec![8, 1 << 20, 16 << 20],
            round_trips: vec![2_000, 50, 4],
            trials: 3,
        }
    }
}

/// Both sides of one [`PingPongPlan`] between rank 0 and `peer` (each calls it, nobody else):
/// on rank 0, the best half round trip per size, seconds; on the peer, zeros.
pub(crate) fn ping_pong_series(world: &World, peer: usize, plan: &PingPongPlan) -> Vec<f64> {
    plan.sizes
        .iter()
        .zip(&plan.round_trips)
        .map(|(&size, &n)| {
            world.ping_pong(peer, size, (n / 10).max(1));
            (0..plan.trials)
                .map(|_| world.ping_pong(peer, size, n) / n as f64 / 2.0)
                .fold(f64::INFINITY, f64::min)
        })
        .collect()
}

/// One message size between rank 0 and a peer.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct MessagePoint {
    /// Bytes per message.
    pub(crate) bytes: usize,
    /// Half a round trip, ns (the fastest trial).
    pub(crate) half_round_trip_ns: f64,
    /// `bytes` / half a round trip.
    pub(crate) bandwidth_bytes_per_s: f64,
}

/// Rank 0: ping-pong `plan` with every other rank in turn. Returns, per peer, its ceiling (8-byte
/// latency, bandwidth at 1 MiB or the largest size below it, as OSU reports it, and at the
/// largest size) and every size measured.
pub(crate) fn measure_messages(
    world: &World,
    plan: &PingPongPlan,
) -> Vec<(crate::machine::MessageCeiling, Vec<MessagePoint>)> {
    (1..world.size)
        .map(|peer| {
            world.send_job(&RankJob::PingPong {
                peer,
                sizes: plan.sizes.clone(),
                round_trips: plan.round_trips.clone(),
                trials: plan.trials,
            });
            let started = std::time::Instant::now();
            let best = ping_pong_series(world, peer, plan);
            if world.host_of(peer) == world.host_of(0) {
                // The peer polled a CPU of this host the whole time: this invocation's work, not
                // another program's, for the busy-machine check.
                crate::measure::load::count_as_ours(started.elapsed().as_secs_f64());
            }
            let points: Vec<MessagePoint> = plan
                .sizes
                .iter()
                .zip(&best)
                .map(|(&bytes, &t)| MessagePoint {
                    bytes,
                    half_round_trip_ns: t * 1e9,
                    bandwidth_bytes_per_s: bytes as f64 / t,
                })
                .collect();
            let latency = points.iter().min_by_key(|p| p.bytes).expect("sizes");
            let bw = points
                .iter()
                .filter(|p| p.bytes <= 1 << 20)
                .max_by_key(|p| p.bytes)
                .unwrap_or(latency);
            let large = points.iter().max_by_key(|p| p.bytes).expect("sizes");
            let ceiling = crate::machine::MessageCeiling {
                peer,
                hosts: format!("{} -> {}", world.host_of(0), world.host_of(peer)),
                latency_ns: latency.half_round_trip_ns,
                bandwidth_bytes_per_s: bw.bandwidth_bytes_per_s,
                bandwidth_message_bytes: bw.bytes,
                large_message_bandwidth_bytes_per_s: large.bandwidth_bytes_per_s,
                large_message_bytes: large.bytes,
            };
            (ceiling, points)
        })
        .collect()
}

/// Stop the whole MPI job now, from any thread, after a message has been printed: what rank 0
/// does when a rank will never answer (`MPI_Abort`). Without a job, exits the process.
pub(crate) fn abort_job(code: i32) -> ! {
    #[cfg(feature = "mpi")]
    if world().is_some() {
        mpi::abort(code)
    }
    std::process::exit(code)
}

/// One rank alone, for `--strategy distributed --cores 1` without a launcher: every collective
/// is a copy to itself.
pub(crate) struct SoloRank;

impl Collectives for SoloRank {
    fn rank(&self) -> usize {
        0
    }
    fn ranks(&self) -> usize {
        1
    }
    fn all_to_all_into(&self, send: &[&[u8]], recv: &mut [&mut [u8]]) {
        recv[0].copy_from_slice(send[0]);
    }
    fn broadcast(&self, _root: usize, _buf: &mut [u8]) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn launchers_are_recognised_from_their_variables() {
        assert_eq!(launch_from(env(&[])), None);
        let l = launch_from(env(&[
            ("OMPI_COMM_WORLD_RANK", "1"),
            ("OMPI_COMM_WORLD_SIZE", "3"),
            ("OMPI_COMM_WORLD_LOCAL_RANK", "1"),
        ]))
        .unwrap();
        assert_eq!(
            (l.launcher, l.rank, l.size, l.local_rank),
            ("mpirun", 1, 3, 1)
        );
        // Inside an sbatch script (no step) SLURM_PROCID is set but nothing was launched.
        assert_eq!(
            launch_from(env(&[("SLURM_PROCID", "0"), ("SLURM_NTASKS", "4")])),
            None
        );
        let l = launch_from(env(&[
            ("PMIX_RANK", "2"),
            ("SLURM_NTASKS", "4"),
            ("SLURM_STEP_ID", "0"),
            ("SLURM_LOCALID", "0"),
        ]))
        .unwrap();
        assert_eq!((l.launcher, l.rank, l.size), ("srun", 2, 4));
        // A rank beyond the size is nonsense, not a launch.
        assert_eq!(
            launch_from(env(&[
                ("OMPI_COMM_WORLD_RANK", "3"),
                ("OMPI_COMM_WORLD_SIZE", "3")
            ])),
            None
        );
    }

    #[test]
    fn a_solo_rank_copies_to_itself() {
        let mut out = [0u8; 3];
        SoloRank.all_to_all_into(&[&[1, 2, 3]], &mut [&mut out[..]]);
        assert_eq!(out, [1, 2, 3]);
        assert_eq!(SoloRank.all_gather(&[9]), vec![vec![9]]);
    }
}
