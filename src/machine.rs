//! The machine a result was measured on: what every report prints beside its numbers.
//!
//! A speedup table is only citable with its CPU, core count, affinity mask, memory, kernel and the
//! exact command that produced it; this module gathers all of that once per invocation.

use crate::measure::load::OthersLoad;
use crate::measure::probe::ProbeRound;
use serde::{Deserialize, Serialize};

use crate::measure::load::LoadMeter;
use crate::measure::probe::{self, CpuProbe};
use crate::sys;
use crate::topology::{format_cpu_list, Topology};

/// Description of the machine and of the invocation that produced a result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Machine {
    /// CPU model name from /proc/cpuinfo, e.g. "AMD EPYC 9R14 96-Core Processor" (the brand
    /// string from CPUID on Windows, `machdep.cpu.brand_string` on macOS).
    pub(crate) cpu_model: String,
    /// Physical cores among the allowed CPUs (from /sys topology).
    pub(crate) physical_cores: usize,
    /// Logical CPUs this process may use.
    pub(crate) logical_cpus_allowed: usize,
    /// Logical CPUs the machine has online (`num_cpus::get`, capped by the mask).
    pub(crate) logical_cpus_online: usize,
    /// The affinity mask at start-up, kernel list syntax (`0-3`).
    pub(crate) affinity_mask: String,
    /// Total memory in bytes (/proc/meminfo MemTotal).
    pub(crate) memory_bytes: u64,
    /// Kernel release (`uname -r`).
    pub(crate) kernel: String,
    /// OS name from /etc/os-release.
    pub(crate) os: String,
    /// Hypervisor, if /proc/cpuinfo says the CPU is virtual.
    pub(crate) virtualized: bool,
    /// rustc that compiled concbench.
    pub(crate) rustc: String,
    /// concbench version.
    pub(crate) concbench_version: String,
    /// Git commit concbench was built from, if known.
    pub(crate) git_commit: Option<String>,
    /// When the result was produced, UTC, RFC 3339.
    pub(crate) date: String,
    /// The full command line.
    pub(crate) command: String,
    /// What other programs took of the CPUs during the measurement (`/proc/stat` over its
    /// interval); absent where it was not watched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) others_load: Option<OthersLoad>,
    /// The fixed CPU probe timed on each CPU before, during and after the measurement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cpu_probe: Option<CpuProbe>,
    /// The kernel's name printed before its release: `Linux` (left out of JSON), `Windows`,
    /// `Darwin`.
    #[serde(default = "linux_name", skip_serializing_if = "is_linux")]
    pub(crate) kernel_name: String,
    /// Performance and efficiency physical cores where the CPU mixes them (Apple silicon:
    /// `hw.perflevel0.physicalcpu`, `hw.perflevel1.physicalcpu`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) core_types: Option<CoreTypes>,
    /// What this platform cannot do that changes how the figures read, e.g. `placement not
    /// enforced (macOS cannot pin threads)`; printed with the machine in every output.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) platform_notes: Vec<String>,
    /// The MPI job this invocation is rank 0 of (launched by mpirun or srun, built with the
    /// `mpi` feature); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cluster: Option<ClusterInfo>,
    /// The CPU beyond its model name, as the system gives it (JSON `cpu_details`): vendor,
    /// family/model/stepping, frequency, cache sizes, hypervisor flag, vector extensions. Absent
    /// in files written before it was recorded; each field inside is absent where the system
    /// does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cpu_details: Option<CpuDetails>,
    /// The Slurm job this invocation ran in (JSON `slurm`), as Slurm's environment variables
    /// describe it: job id, nodes, tasks per node, CPUs per task, the binding Slurm applied, and
    /// the CPUs left to this process when the allocation narrowed them. Absent outside a Slurm
    /// job, and in files written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) slurm: Option<SlurmJob>,
}

/// What Slurm tells a process of the job it runs in (the machine block's `slurm`), read from the
/// variables Slurm sets in a batch script, an `salloc` shell and every task of a step (`srun`),
/// and inherited by what they start (`mpirun` and its ranks). Each field is absent where Slurm
/// did not set its variable: a batch script has no step and no binding, for instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct SlurmJob {
    /// `job_id`: `SLURM_JOB_ID`.
    pub(crate) job_id: String,
    /// `job_name`: `SLURM_JOB_NAME`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) job_name: Option<String>,
    /// `step_id`: `SLURM_STEP_ID`, set when `srun` started this process (a step); absent in a
    /// batch script, an `salloc` shell and what they start without `srun`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) step_id: Option<String>,
    /// `partition`: `SLURM_JOB_PARTITION`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) partition: Option<String>,
    /// `node`: the node this process runs on (`SLURMD_NODENAME`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) node: Option<String>,
    /// `nodes`: nodes in the job (`SLURM_JOB_NUM_NODES`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) nodes: Option<usize>,
    /// `node_list`: their names, in Slurm's compressed syntax (`SLURM_JOB_NODELIST`:
    /// `node[1-2]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) node_list: Option<String>,
    /// `tasks`: tasks in the job, or in the step when `srun` started this process
    /// (`SLURM_NTASKS`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tasks: Option<usize>,
    /// `tasks_per_node`: in Slurm's syntax (`SLURM_TASKS_PER_NODE`: `2`, `1(x2)`, `2,1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tasks_per_node: Option<String>,
    /// `cpus_per_task`: `SLURM_CPUS_PER_TASK`, set when the job asked for it (`-c`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cpus_per_task: Option<usize>,
    /// `cpus_on_node`: CPUs the job was allocated on this node (`SLURM_CPUS_ON_NODE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cpus_on_node: Option<usize>,
    /// `cpu_bind`: the binding Slurm applied to the step's tasks (`SLURM_CPU_BIND_TYPE` and
    /// `SLURM_CPU_BIND_LIST`): `mask_cpu:0x1,0x2` (one mask per task of this node), `none`;
    /// absent where Slurm bound nothing itself (a batch script, or no task plugin that binds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cpu_bind: Option<String>,
    /// `cpus_allowed`: the CPUs this process may use, kernel list syntax, when they are fewer than
    /// its node has online (Slurm's allocation or binding, or a launcher inside the job, narrowed
    /// them); absent when it may use every CPU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cpus_allowed: Option<String>,
    /// `node_cpus_online`: CPUs online on this node, beside `cpus_allowed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) node_cpus_online: Option<usize>,
}

impl SlurmJob {
    /// The job described by Slurm's variables, from any source of them (`std::env::var` for this
    /// process); `None` outside a Slurm job (no `SLURM_JOB_ID`). The CPUs fields are left empty:
    /// [`Machine::describe`] fills them from the affinity mask.
    pub(crate) fn from_vars(var: impl Fn(&str) -> Option<String>) -> Option<SlurmJob> {
        let text = |k: &str| {
            var(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let num = |k: &str| text(k).and_then(|v| v.parse::<usize>().ok());
        let job_id = text("SLURM_JOB_ID").or_else(|| text("SLURM_JOBID"))?;
        let cpu_bind = text("SLURM_CPU_BIND_TYPE").map(|t| {
            let t = t.trim_end_matches(':');
            match text("SLURM_CPU_BIND_LIST") {
                Some(list) if !t.is_empty() && t != "none" => format!("{t}:{list}"),
                _ if t.is_empty() => "none".to_string(),
                _ => t.to_string(),
            }
        });
        Some(SlurmJob {
            job_id,
            job_name: text("SLURM_JOB_NAME"),
            step_id: text("SLURM_STEP_ID").or_else(|| text("SLURM_STEPID")),
            partition: text("SLURM_JOB_PARTITION"),
            node: text("SLURMD_NODENAME"),
            nodes: num("SLURM_JOB_NUM_NODES").or_else(|| num("SLURM_NNODES")),
            node_list: text("SLURM_JOB_NODELIST").or_else(|| text("SLURM_NODELIST")),
            tasks: num("SLURM_NTASKS").or_else(|| num("SLURM_NPROCS")),
            tasks_per_node: text("SLURM_TASKS_PER_NODE"),
            cpus_per_task: num("SLURM_CPUS_PER_TASK"),
            cpus_on_node: num("SLURM_CPUS_ON_NODE"),
            cpu_bind,
            cpus_allowed: None,
            node_cpus_online: None,
        })
    }

    /// The job in one phrase for people: `Slurm job 12 (step 0, partition debug, on node1 of 2
    /// nodes node[1-2]; 2 tasks, 1(x2) per node; 1 CPU per task; cpu-bind mask_cpu:0x1)`.
    pub(crate) fn describe(&self) -> String {
        let mut head = Vec::new();
        if let Some(s) = &self.step_id {
            head.push(format!("step {s}"));
        }
        if let Some(p) = &self.partition {
            head.push(format!("partition {p}"));
        }
        match (&self.node, self.nodes, &self.node_list) {
            (Some(n), Some(1), _) => head.push(format!("on {n}")),
            (Some(n), Some(k), Some(l)) => head.push(format!(
                "on {n} of {k} node{} {l}",
                if k == 1 { "" } else { "s" }
            )),
            (Some(n), _, _) => head.push(format!("on {n}")),
            (None, _, Some(l)) => head.push(format!("nodes {l}")),
            _ => {}
        }
        let mut parts = vec![head.join(", ")];
        let mut tasks = Vec::new();
        if let Some(t) = self.tasks {
            tasks.push(format!("{t} task{}", if t == 1 { "" } else { "s" }));
        }
        if let Some(t) = &self.tasks_per_node {
            tasks.push(format!("{t} per node"));
        }
        parts.push(tasks.join(", "));
        if let Some(c) = self.cpus_per_task {
            parts.push(format!("{c} CPU{} per task", if c == 1 { "" } else { "s" }));
        }
        if let Some(b) = &self.cpu_bind {
            parts.push(format!("cpu-bind {b}"));
        }
        parts.retain(|p| !p.is_empty());
        if parts.is_empty() {
            format!("Slurm job {}", self.job_id)
        } else {
            format!("Slurm job {} ({})", self.job_id, parts.join("; "))
        }
    }

    /// The CPUs the job left this process, when fewer than its node has online: `(allowed,
    /// online)`.
    pub(crate) fn narrowed(&self) -> Option<(&str, usize)> {
        Some((self.cpus_allowed.as_deref()?, self.node_cpus_online?))
    }
}

/// What the system says about the CPU beyond its model name (the machine block's
/// `cpu_details`). Every field is optional and left out of JSON when the platform does not give
/// it (never guessed): Linux reads `/proc/cpuinfo`, cpufreq and
/// `/sys/devices/system/cpu/cpu0/cache`; macOS `sysctl` (`machdep.cpu.*`, `hw.l1dcachesize`,
/// `hw.l2cachesize`, `hw.l3cachesize`, `hw.cpufrequency_max`); Windows CPUID.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct CpuDetails {
    /// `vendor`: `AuthenticAMD`, `GenuineIntel` (`vendor_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) vendor: Option<String>,
    /// `family`: the `cpu family` number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<u32>,
    /// `model`: the model number (not the name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<u32>,
    /// `stepping`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stepping: Option<u32>,
    /// `mhz`: the frequency the kernel reported when read (`cpu MHz`), MHz.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) mhz: Option<f64>,
    /// `max_mhz`: the highest frequency (cpufreq `cpuinfo_max_freq`, `hw.cpufrequency_max`),
    /// MHz.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_mhz: Option<f64>,
    /// `l1d_bytes`: level 1 data cache of one core, bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) l1d_bytes: Option<u64>,
    /// `l2_bytes`: level 2 cache, bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) l2_bytes: Option<u64>,
    /// `l3_bytes`: level 3 cache, bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) l3_bytes: Option<u64>,
    /// `hypervisor`: whether the CPU says it runs under a hypervisor (the `hypervisor` flag).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) hypervisor: Option<bool>,
    /// `vector_extensions`: the notable ones the CPU lists (`avx`, `avx2`, `fma`, `avx512f`,
    /// `asimd`, `sve`, `sve2`); absent where it lists no flags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) vector_extensions: Option<Vec<String>>,
}

impl From<sys::CpuDetails> for CpuDetails {
    fn from(d: sys::CpuDetails) -> CpuDetails {
        CpuDetails {
            vendor: d.vendor,
            family: d.family,
            model: d.model,
            stepping: d.stepping,
            mhz: d.mhz,
            max_mhz: d.max_mhz,
            l1d_bytes: d.l1d_bytes,
            l2_bytes: d.l2_bytes,
            l3_bytes: d.l3_bytes,
            hypervisor: d.hypervisor,
            vector_extensions: d.vector_extensions,
        }
    }
}

/// A cache size for people: `32 KiB`, `1 MiB`, `1.5 MiB`.
fn format_cache(bytes: u64) -> String {
    let (v, unit) = if bytes >= 1 << 20 {
        (bytes as f64 / (1u64 << 20) as f64, "MiB")
    } else if bytes >= 1 << 10 {
        (bytes as f64 / 1024.0, "KiB")
    } else {
        (bytes as f64, "B")
    };
    let s = format!("{v:.1}");
    format!("{} {unit}", s.trim_end_matches(".0"))
}

impl CpuDetails {
    /// What a reader needs beside the model name, known parts only: `3.70 GHz max, L1d 32 KiB,
    /// L2 1 MiB, L3 32 MiB`; empty when none is known.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(mhz) = self.max_mhz {
            parts.push(format!("{:.2} GHz max", mhz / 1000.0));
        } else if let Some(mhz) = self.mhz {
            parts.push(format!("{:.2} GHz", mhz / 1000.0));
        }
        for (name, size) in [
            ("L1d", self.l1d_bytes),
            ("L2", self.l2_bytes),
            ("L3", self.l3_bytes),
        ] {
            if let Some(b) = size {
                parts.push(format!("{name} {}", format_cache(b)));
            }
        }
        parts.join(", ")
    }
}

/// The MPI job behind a distributed run: its ranks, where they run, and what starting MPI cost
/// (once per invocation, so it is here and not in any row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ClusterInfo {
    /// Who launched the ranks (`mpirun`, `srun`).
    pub(crate) launcher: String,
    /// The MPI library (`MPI_Get_library_version`, first line).
    pub(crate) mpi_library: String,
    /// Seconds rank 0 spent in `MPI_Init_thread`.
    pub(crate) init_s: f64,
    /// Every rank of the job.
    pub ranks: Vec<RankPlace>,
    /// Whether the launcher bound every rank to a subset of its host's CPUs (`--bind-to core`).
    /// Unbound ranks pin themselves by their local rank when a distributed part starts.
    pub(crate) bound_by_launcher: bool,
    /// Message latency and bandwidth from rank 0 to each other rank, when measured in this
    /// invocation before the machine was described: by `limits`. A run describes its machine
    /// before the ping-pong that precedes its distributed rows, so its block has none; its rows
    /// carry the bandwidth they were set beside (`message_bandwidth_bytes_per_s`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) messages: Vec<MessageCeiling>,
}

/// Where one rank of the MPI job runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RankPlace {
    /// Its rank in the job.
    pub(crate) rank: usize,
    /// Its host's name.
    pub(crate) host: String,
    /// Its rank among the ranks on its host.
    pub(crate) local_rank: usize,
    /// The CPUs it may run on at start-up, kernel list syntax.
    pub affinity_mask: String,
    /// Whether that is fewer CPUs than its host has online (the launcher bound it).
    pub bound: bool,
    /// Physical cores of its host.
    pub(crate) host_physical_cores: usize,
}

/// Message latency and bandwidth between rank 0 and one other rank, by ping-pong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct MessageCeiling {
    /// The other rank.
    pub(crate) peer: usize,
    /// Rank 0's host and the peer's, `a -> b`.
    pub(crate) hosts: String,
    /// Half a round trip of an 8-byte message, ns (the best of the trials).
    pub(crate) latency_ns: f64,
    /// Bytes per second of the largest message size measured, one way (size / half a round trip).
    pub(crate) bandwidth_bytes_per_s: f64,
    /// The message size `bandwidth_bytes_per_s` was measured with.
    pub(crate) bandwidth_message_bytes: usize,
    /// Bytes per second of the largest message measured (16 MiB or more: beyond the caches,
    /// what a workload's bulk transfers meet); what distributed rows set their communication
    /// beside.
    #[serde(default)]
    pub(crate) large_message_bandwidth_bytes_per_s: f64,
    /// The message size `large_message_bandwidth_bytes_per_s` was measured with.
    #[serde(default)]
    pub(crate) large_message_bytes: usize,
}

impl MessageCeiling {
    /// The bandwidth bulk transfers meet: the largest message's, or the 1 MiB one where only
    /// that was measured (files written before the large size was).
    pub(crate) fn bulk_bandwidth_bytes_per_s(&self) -> f64 {
        if self.large_message_bandwidth_bytes_per_s > 0.0 {
            self.large_message_bandwidth_bytes_per_s
        } else {
            self.bandwidth_bytes_per_s
        }
    }
}

/// What a measurement runs in beyond this machine, handed down the pipeline as a value: the MPI
/// job this process is rank 0 of, with the message ceilings measured in it. Whoever drives a
/// measurement builds it once (`cluster::context()` gives the job as MPI started it), fills in
/// what it measures (`cluster::measure_messages_into`, before a sweep's first distributed row or
/// by `limits`), and passes it to what needs it: [`Machine::describe`], the runner (ranks per core
/// of a distributed row) and analysis (a distributed row's communication at the measured
/// bandwidth). Nothing stores it globally.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RunContext {
    /// The MPI job (launcher, library, every rank's place) with the message ceilings measured so
    /// far in `messages`; `None` outside an MPI job.
    pub(crate) cluster: Option<ClusterInfo>,
}

impl RunContext {
    /// The message ceilings measured between rank 0 and the other ranks, if any were.
    pub(crate) fn message_ceilings(&self) -> Option<&[MessageCeiling]> {
        self.cluster
            .as_ref()
            .map(|c| c.messages.as_slice())
            .filter(|m| !m.is_empty())
    }

    /// Record the message ceilings measured between rank 0 and every other rank (in a job;
    /// outside one there is nothing to record them beside). They replace any recorded before.
    pub(crate) fn record_message_ceilings(&mut self, ceilings: Vec<MessageCeiling>) {
        if let Some(c) = self.cluster.as_mut() {
            c.messages = ceilings;
        }
    }

    /// Whether the launcher bound every rank of the job to a subset of its host's CPUs.
    pub(crate) fn bound_by_launcher(&self) -> bool {
        self.cluster.as_ref().is_some_and(|c| c.bound_by_launcher)
    }
}

/// Physical cores of each kind on a CPU that mixes performance and efficiency cores.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct CoreTypes {
    /// Performance cores.
    pub(crate) performance: usize,
    /// Efficiency cores.
    pub efficiency: usize,
}

fn linux_name() -> String {
    "Linux".into()
}

fn is_linux(name: &str) -> bool {
    name == "Linux"
}

impl Machine {
    /// Describe this machine and the current invocation, in `context`: its MPI job, with the
    /// message ceilings recorded in it so far, is the block's `cluster`.
    pub(crate) fn describe(context: &RunContext) -> Machine {
        let topo = Topology::get();
        let cpu_model = sys::cpu_model().unwrap_or_else(|| "unknown".into());
        let virtualized = sys::cpuinfo_flag("hypervisor").unwrap_or(false);
        let os = sys::os_name().unwrap_or_else(|| std::env::consts::OS.to_string());
        let kernel = sys::kernel_release().unwrap_or_else(|| "unknown".into());
        let commit = env!("CONCBENCH_GIT_COMMIT");
        Machine {
            cpu_model,
            physical_cores: topo.physical_core_count(),
            logical_cpus_allowed: topo.allowed.len(),
            logical_cpus_online: num_cpus::get(),
            affinity_mask: format_cpu_list(&topo.allowed),
            memory_bytes: meminfo_bytes("MemTotal").unwrap_or(0),
            kernel,
            os,
            virtualized,
            rustc: env!("CONCBENCH_RUSTC_VERSION").to_string(),
            concbench_version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: (!commit.is_empty()).then(|| commit.to_string()),
            date: utc_now_rfc3339(),
            command: std::env::args_os()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" "),
            others_load: None,
            cpu_probe: None,
            kernel_name: sys::KERNEL_NAME.into(),
            core_types: sys::performance_efficiency_cores().map(|(performance, efficiency)| {
                CoreTypes {
                    performance,
                    efficiency,
                }
            }),
            platform_notes: sys::platform_notes(),
            cpu_details: Some(sys::cpu_details().into()).filter(|d| *d != CpuDetails::default()),
            cluster: context.cluster.clone(),
            slurm: SlurmJob::from_vars(|k| std::env::var(k).ok()).map(|mut job| {
                let online = sys::online_cpus();
                if topo.allowed.len() < online {
                    job.cpus_allowed = Some(format_cpu_list(&topo.allowed));
                    job.node_cpus_online = Some(online);
                }
                job
            }),
        }
    }

    /// The warning for results with up to `max_cores` workers on a machine whose CPU mixes
    /// performance and efficiency cores, when they go beyond the performance cores.
    pub(crate) fn core_types_warning(&self, max_cores: usize) -> Option<String> {
        let pe = self.core_types.map(|c| (c.performance, c.efficiency));
        sys::core_types_warning(max_cores, pe)
    }

    /// The line for stderr when the CPUs were busy or ran slow during `what` (`the run`).
    pub(crate) fn busy_warning(&self, what: &str) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(w) = self.others_load.as_ref().and_then(|l| l.warning(what)) {
            parts.push(w);
        }
        if let Some(p) = self.cpu_probe.as_ref().filter(|p| !p.slow_cpus.is_empty()) {
            parts.push(format!(
                "concbench: warning: the CPU probe found {} during {what} (against its fastest run on this machine)",
                probe::describe_slow(&p.slow_cpus)
            ));
        }
        (!parts.is_empty()).then(|| parts.join("\n"))
    }

    /// The CPU for people: its model, then its frequency and cache sizes where known: `AMD EPYC
    /// 9R14 96-Core Processor (3.70 GHz max, L1d 32 KiB, L2 1 MiB, L3 32 MiB)`.
    pub(crate) fn cpu_description(&self) -> String {
        match self.cpu_details.as_ref().map(CpuDetails::describe) {
            Some(d) if !d.is_empty() => format!("{} ({d})", self.cpu_model),
            _ => self.cpu_model.clone(),
        }
    }

    /// One line for report headers: "AMD EPYC 9R14 (3.70 GHz max, L1d 32 KiB, L2 1 MiB, L3 32
    /// MiB), 2 physical cores (CPUs 0-1), 23.4 GiB, Linux 6.1", followed by the core types and
    /// the platform's notes where there are any.
    pub fn summary(&self) -> String {
        let mut extra = String::new();
        if let Some(c) = self.core_types {
            extra.push_str(&format!(
                ", {} performance + {} efficiency cores",
                c.performance, c.efficiency
            ));
        }
        for n in &self.platform_notes {
            extra.push_str(&format!("; {n}"));
        }
        format!(
            "{}, {} physical core{} (CPUs {}), {:.1} GiB, {} {}{}{extra}",
            self.cpu_description(),
            self.physical_cores,
            if self.physical_cores == 1 { "" } else { "s" },
            self.affinity_mask,
            self.memory_bytes as f64 / (1u64 << 30) as f64,
            self.kernel_name,
            self.kernel,
            if self.virtualized {
                ", virtual machine"
            } else {
                ""
            }
        )
    }
}

/// Watching a measurement from outside: what others take of the CPUs it may use, and the CPU
/// probe on each of them before ([`Watch::start`]), between its steps ([`Watch::probe`]) and
/// after ([`Watch::finish`]).
#[derive(Debug)]
pub(crate) struct Watch {
    cpus: Vec<usize>,
    meter: Option<LoadMeter>,
    rounds: Vec<ProbeRound>,
}

impl Watch {
    /// Probe every CPU this process may use, then start counting others' CPU time.
    pub(crate) fn start() -> Watch {
        let cpus = Topology::get().allowed.clone();
        let first = ProbeRound::take(&cpus);
        Watch {
            meter: LoadMeter::start(&cpus),
            cpus,
            rounds: vec![first],
        }
    }

    /// Probe every CPU again (between sweep points).
    pub(crate) fn probe(&mut self) {
        self.rounds.push(ProbeRound::take(&self.cpus));
    }

    /// The probe rounds so far (the first before the measurement).
    pub(crate) fn rounds(&self) -> &[ProbeRound] {
        &self.rounds
    }

    /// Stop counting, probe a last time, and record both in `machine`; returns the fastest probe
    /// the machine has shown (ns), which every round is set against.
    pub(crate) fn finish(&mut self, machine: &mut Machine) -> Option<f64> {
        machine.others_load = self.meter.as_ref().and_then(LoadMeter::finish);
        self.probe();
        let seen = self
            .rounds
            .iter()
            .filter_map(ProbeRound::fastest)
            .min_by(f64::total_cmp)?;
        let best = probe::best_probe(
            probe::best_probe_path().as_deref(),
            &machine.cpu_model,
            seen,
        );
        let all: Vec<&ProbeRound> = self.rounds.iter().collect();
        machine.cpu_probe = Some(CpuProbe {
            iterations: probe::PROBE_ITERATIONS,
            best_ns: best,
            rounds: self.rounds.len(),
            slow_cpus: probe::slow_cpus(&self.cpus, &all, best),
        });
        Some(best)
    }
}

/// A field of /proc/meminfo in bytes (`MemTotal`, `MemAvailable`, ...).
pub(crate) fn meminfo_bytes(field: &str) -> Option<u64> {
    sys::meminfo_bytes(field)
}

/// Current UTC time as RFC 3339 (`2026-11-23T18:20:39Z`), without a date crate.
pub(crate) fn utc_now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format_unix_utc(secs)
}

/// Format seconds since the Unix epoch as RFC 3339 UTC (civil-from-days algorithm).
pub(crate) fn format_unix_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Seconds since the Unix epoch of an RFC 3339 UTC date as [`format_unix_utc`] writes it
/// (`2026-11-23T18:40:39Z`); `None` for anything else.
pub(crate) fn parse_unix_utc(date: &str) -> Option<u64> {
    let b = date.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'Z' {
        return None;
    }
    let n = |r: std::ops::Range<usize>| date.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (hh, mm, ss) = (n(11..13)?, n(14..16)?, n(17..19)?);
    // Days from civil (the inverse of format_unix_utc's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()
}

/// Seconds since the Unix epoch, now.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_names_the_kernel_core_types_and_platform_notes() {
        let mut m = Machine::describe(&RunContext::default());
        m.kernel_name = "Darwin".into();
        m.kernel = "23.1.0".into();
        m.core_types = Some(CoreTypes {
            performance: 4,
            efficiency: 4,
        });
        m.platform_notes = vec![sys::UNPINNED_NOTE.into()];
        let s = m.summary();
        assert!(s.contains("Darwin 23.1.0"), "{s}");
        assert!(s.contains("4 performance + 4 efficiency cores"), "{s}");
        assert!(
            s.ends_with("placement not enforced (macOS cannot pin threads)"),
            "{s}"
        );
        assert!(m.core_types_warning(4).is_none());
        assert!(m.core_types_warning(6).unwrap().contains("mix core types"));
        // A Linux machine's JSON has none of the new fields, and old JSON reads as Linux.
        let json = serde_json::to_value(Machine::describe(&RunContext::default())).unwrap();
        if cfg!(target_os = "linux") {
            for k in ["kernel_name", "core_types", "platform_notes"] {
                assert!(json.get(k).is_none(), "{k}");
            }
        }
        let back: Machine = serde_json::from_value(json).unwrap();
        assert_eq!(back.kernel_name, sys::KERNEL_NAME);
    }

    /// A machine with no CPU details, as files written before them load.
    fn bare() -> Machine {
        let mut m = Machine::describe(&RunContext::default());
        m.cpu_model = "AMD EPYC 9R14 96-Core Processor".into();
        m.cpu_details = None;
        m
    }

    #[test]
    fn cpu_details_come_from_the_system_text_and_reach_the_summary() {
        let mut m = bare();
        // No details: the line is the model name alone, as before.
        assert!(m.summary().starts_with("AMD EPYC 9R14 96-Core Processor, "));
        let mut d = sys::parse_cpuinfo_details(
            "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\n\
             stepping\t: 1\ncpu MHz\t\t: 2600.000\nflags\t\t: fpu avx2 hypervisor\n",
        );
        let e = |l: &str, t: &str, s: &str| (l.to_string(), t.to_string(), s.to_string());
        [d.l1d_bytes, d.l2_bytes, d.l3_bytes] = sys::cache_sizes(&[
            e("1", "Data", "32K"),
            e("1", "Instruction", "32K"),
            e("2", "Unified", "1024K"),
            e("3", "Unified", "32768K"),
        ]);
        m.cpu_details = Some(d.into());
        assert_eq!(
            m.cpu_description(),
            "AMD EPYC 9R14 96-Core Processor (2.60 GHz, L1d 32 KiB, L2 1 MiB, L3 32 MiB)"
        );
        assert!(m.summary().starts_with(&m.cpu_description()));
        if let Some(d) = m.cpu_details.as_mut() {
            d.max_mhz = Some(3700.0);
            d.l3_bytes = None;
        }
        assert_eq!(
            m.cpu_description(),
            "AMD EPYC 9R14 96-Core Processor (3.70 GHz max, L1d 32 KiB, L2 1 MiB)"
        );
        // JSON: new names beside the old ones; unknown fields are left out, not guessed.
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["cpu_model"], "AMD EPYC 9R14 96-Core Processor");
        let c = &json["cpu_details"];
        assert_eq!(c["vendor"], "AuthenticAMD");
        assert_eq!(
            (
                c["family"].as_u64(),
                c["model"].as_u64(),
                c["stepping"].as_u64()
            ),
            (Some(25), Some(17), Some(1))
        );
        assert_eq!(c["mhz"], 2600.0);
        assert_eq!(c["max_mhz"], 3700.0);
        assert_eq!(c["l1d_bytes"], 32768);
        assert_eq!(c["l2_bytes"], 1 << 20);
        assert!(c.get("l3_bytes").is_none());
        assert_eq!(c["hypervisor"], true);
        assert_eq!(c["vector_extensions"], serde_json::json!(["avx2"]));
        let back: Machine = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, m);
        // A file from before: no cpu_details at all; or one with only some of its fields.
        let mut old = json;
        old.as_object_mut().unwrap().remove("cpu_details");
        let back: Machine = serde_json::from_value(old.clone()).unwrap();
        assert_eq!(back.cpu_details, None);
        assert_eq!(back.cpu_description(), back.cpu_model);
        old["cpu_details"] = serde_json::json!({"l2_bytes": 524288});
        let back: Machine = serde_json::from_value(old).unwrap();
        assert_eq!(
            back.cpu_description(),
            "AMD EPYC 9R14 96-Core Processor (L2 512 KiB)"
        );
    }

    #[test]
    fn a_slurm_job_is_read_from_its_variables() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(SlurmJob::from_vars(vars(&[("SLURM_NTASKS", "2")])), None);
        // A task of `srun --mpi=pmix -n 2` bound by task/affinity (variables as Slurm 22.05 sets
        // them).
        let step = SlurmJob::from_vars(vars(&[
            ("SLURM_JOB_ID", "12"),
            ("SLURM_JOB_NAME", "concbench"),
            ("SLURM_STEP_ID", "0"),
            ("SLURM_JOB_PARTITION", "debug"),
            ("SLURMD_NODENAME", "node1"),
            ("SLURM_JOB_NUM_NODES", "2"),
            ("SLURM_JOB_NODELIST", "node[1-2]"),
            ("SLURM_NTASKS", "2"),
            ("SLURM_TASKS_PER_NODE", "1(x2)"),
            ("SLURM_CPUS_ON_NODE", "1"),
            ("SLURM_CPU_BIND", "quiet,mask_cpu:0x1"),
            ("SLURM_CPU_BIND_TYPE", "mask_cpu:"),
            ("SLURM_CPU_BIND_LIST", "0x1"),
        ]))
        .unwrap();
        assert_eq!(step.cpu_bind.as_deref(), Some("mask_cpu:0x1"));
        assert_eq!(step.cpus_per_task, None);
        assert_eq!(
            step.describe(),
            "Slurm job 12 (step 0, partition debug, on node1 of 2 nodes node[1-2]; 2 tasks, 1(x2) per node; cpu-bind mask_cpu:0x1)"
        );
        assert_eq!(step.narrowed(), None);
        // A batch script with -c 2: no step, no binding of Slurm's own.
        let mut batch = SlurmJob::from_vars(vars(&[
            ("SLURM_JOB_ID", "13"),
            ("SLURM_CPUS_PER_TASK", "2"),
            ("SLURM_CPU_BIND_TYPE", "none"),
        ]))
        .unwrap();
        assert_eq!(batch.cpu_bind.as_deref(), Some("none"));
        assert_eq!(
            batch.describe(),
            "Slurm job 13 (2 CPUs per task; cpu-bind none)"
        );
        batch.cpus_allowed = Some("0".into());
        batch.node_cpus_online = Some(2);
        assert_eq!(batch.narrowed(), Some(("0", 2)));
        // JSON: absent fields left out, and a machine block without `slurm` still reads.
        let json = serde_json::to_value(&batch).unwrap();
        assert!(json.get("step_id").is_none() && json["cpus_allowed"] == "0");
        let mut m = Machine::describe(&RunContext::default());
        m.slurm = Some(batch.clone());
        let mut old = serde_json::to_value(&m).unwrap();
        assert_eq!(old["slurm"]["job_id"], "13");
        old.as_object_mut().unwrap().remove("slurm");
        let back: Machine = serde_json::from_value(old).unwrap();
        assert_eq!(back.slurm, None);
    }

    #[test]
    fn cache_sizes_read_for_people() {
        assert_eq!(format_cache(32 << 10), "32 KiB");
        assert_eq!(format_cache(1 << 20), "1 MiB");
        assert_eq!(format_cache(3 << 19), "1.5 MiB");
        assert_eq!(format_cache(512), "512 B");
    }

    #[test]
    fn dates_parse_back() {
        for t in [0, 951_782_400, 1_795_459_239] {
            assert_eq!(parse_unix_utc(&format_unix_utc(t)), Some(t));
        }
        assert_eq!(parse_unix_utc("yesterday"), None);
    }

    #[test]
    fn dates_format_as_rfc3339() {
        assert_eq!(format_unix_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_unix_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_unix_utc(1_795_459_239), "2026-11-23T18:40:39Z");
    }

    #[test]
    fn describes_this_machine() {
        let m = Machine::describe(&RunContext::default());
        assert!(m.physical_cores >= 1);
        assert!(m.logical_cpus_allowed >= m.physical_cores);
        assert!(m.memory_bytes > 0);
        assert!(m.summary().contains(&m.cpu_model));
        assert_eq!(m.cluster, None);
    }

    fn job() -> ClusterInfo {
        ClusterInfo {
            launcher: "mpirun".into(),
            mpi_library: "Open MPI v4.1.4".into(),
            init_s: 0.3,
            ranks: Vec::new(),
            bound_by_launcher: true,
            messages: Vec::new(),
        }
    }

    fn ceiling(peer: usize) -> MessageCeiling {
        MessageCeiling {
            peer,
            hosts: format!("a -> b{peer}"),
            latency_ns: 300.0,
            bandwidth_bytes_per_s: 1e9,
            bandwidth_message_bytes: 1 << 20,
            large_message_bandwidth_bytes_per_s: 2e9,
            large_message_bytes: 16 << 20,
        }
    }

    #[test]
    fn the_context_is_what_the_machine_block_shows_when_it_is_described() {
        // Outside a job there is nothing to record ceilings beside.
        let mut none = RunContext::default();
        none.record_message_ceilings(vec![ceiling(1)]);
        assert_eq!(none.message_ceilings(), None);
        assert!(!none.bound_by_launcher());
        // In a job: the block names the job; the ceilings appear once recorded, not before.
        let mut ctx = RunContext {
            cluster: Some(job()),
        };
        assert!(ctx.bound_by_launcher());
        assert_eq!(ctx.message_ceilings(), None);
        let before = Machine::describe(&ctx);
        ctx.record_message_ceilings(vec![ceiling(1), ceiling(2)]);
        let after = Machine::describe(&ctx);
        assert_eq!(before.cluster, Some(job()));
        assert_eq!(after.cluster.as_ref().map(|c| c.messages.len()), Some(2));
        assert_eq!(ctx.message_ceilings().map(|m| m[1].peer), Some(2));
        // Two contexts are two values: recording into one leaves the other as it was.
        let other = RunContext {
            cluster: Some(job()),
        };
        assert_eq!(other.message_ceilings(), None);
    }
}
