//! Services: workloads whose work arrives as requests over sockets (`web`), measured with the
//! strategies read as server architectures.
//!
//! A row of a service is measured like a row of a job: warm-up, then timed repetitions, each
//! one fixed amount of work (`--size` requests) whose wall time is what the load generator saw
//! from its first request to its last response. Per row, `measure_row` starts the server
//! (`server::Server`: the architecture, untimed), then per repetition starts the load
//! generator in its own process(es) pinned to CPUs the server does not use (`load`), lets it
//! open its connections (untimed), says `go`, and collects its figures, the server's switches
//! and CPU time over the repetition, and the server's peak resident memory (sampled every
//! 10 ms). A repetition with any error (a refused connection, a reset, a wrong body, a status
//! other than 200) or fewer answers than requests is not a result: the run stops with one line
//! saying what went wrong.
//!
//! Layering: this module sits beside `strategy` (it uses the strategies' descriptors and
//! placements, the child protocol and the topology) and below `runner`, which calls it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::child::{jobs::WebLoadJob, ChildFailure, ChildJob, ChildSpec, Children, WorkerCommand};
use crate::measure::clock::monotonic_ns;
use crate::strategy::{Execution, Phases, Strategy};
use crate::sys;
use crate::topology::Topology;
use crate::workload::web::{LoadResult, WebConfig, WebRun};

pub(crate) mod conn;
pub(crate) mod load;
pub(crate) mod server;
mod standalone;

use server::Server;

pub use standalone::{serve, ServeRequest, Serving};

/// Descriptors a process needs besides its connections (standard streams, the runtime's epoll
/// and wake-up descriptors, listening sockets, pipes to children, files).
pub(crate) const SPARE_DESCRIPTORS: u64 = 64;

/// Why a service row could not be measured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The server could not listen.
    #[error("listening on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
    /// The server or the load generator could not start.
    #[error("{0}")]
    Start(String),
    /// A pre-forked server process failed.
    #[error("server process {} (pid {}) failed: {}{}", .0.id, .0.pid, .0.status, if .0.stderr.is_empty() { String::new() } else { format!(": {}", .0.stderr) })]
    Worker(ChildFailure),
    /// The load generator failed.
    #[error("the load generator (pid {}) failed: {}{}", .0.pid, .0.status, if .0.stderr.is_empty() { String::new() } else { format!(": {}", .0.stderr) })]
    Generator(ChildFailure),
    /// Server threads that did not stop.
    #[error("{0} server thread(s) had not stopped {secs} s after being told to", secs = server::STOP_WITHIN.as_secs())]
    Stuck(usize),
    /// Requests that failed or were not answered.
    #[error("{failed} of {asked} requests failed ({kinds}); first: {first}")]
    Errors {
        /// Requests asked for.
        asked: u64,
        /// Requests not answered right.
        failed: u64,
        /// The errors by kind.
        kinds: String,
        /// The first error, in words.
        first: String,
    },
    /// The open-files limit cannot hold the connections.
    #[error("{0}")]
    Descriptors(String),
    /// A [`ServeRequest`] that cannot be served as asked (an unknown architecture, an address
    /// that is not loopback, a value out of range).
    #[error("{0}")]
    Request(String),
}

/// Make room for `connections` connections in this process and in the generators it starts:
/// raise the soft open-files limit to the hard one. Returns a note saying it did (`None` when
/// nothing had to change); a hard limit below what the connections need is an error naming it
/// and `ulimit -n`, before any work.
pub(crate) fn make_room_for(connections: usize) -> Result<Option<String>, ServiceError> {
    let Some((soft, hard)) = sys::open_files_limit() else {
        return Ok(None);
    };
    let need = connections as u64 + SPARE_DESCRIPTORS;
    if need > hard {
        return Err(ServiceError::Descriptors(format!(
            "{connections} connections need about {need} open files in the server and in the load generator, but the hard limit is {hard}: raise it (ulimit -Hn {need} as root, or LimitNOFILE) or ask for fewer --connections"
        )));
    }
    if soft >= need {
        return Ok(None);
    }
    raise_soft_limit(soft, hard, &format!("for {connections} connections"))
}

/// Raise the open-files soft limit from `soft` to the hard one, saying `why` in the note.
fn raise_soft_limit(soft: u64, hard: u64, why: &str) -> Result<Option<String>, ServiceError> {
    let now = sys::raise_open_files_limit().map_err(|e| {
        ServiceError::Descriptors(format!(
            "raising the open-files soft limit from {soft} to {hard} {why}: {e} (try ulimit -n {hard})"
        ))
    })?;
    Ok(Some(format!(
        "raised the open-files soft limit from {soft} to {now} {why}"
    )))
}

/// The task count that leaves the event loop unbounded: it takes every connection that comes
/// (`concbench server`'s event loop). `run` bounds it by its row's N instead.
pub(crate) const UNBOUNDED_TASKS: usize = tokio::sync::Semaphore::MAX_PERMITS;

/// Raise the open-files soft limit to the hard one, whatever the connections: for a server
/// whose clients are not known in advance. `None` when nothing had to change.
pub(crate) fn make_room_for_all() -> Result<Option<String>, ServiceError> {
    match sys::open_files_limit() {
        Some((soft, hard)) if soft < hard => raise_soft_limit(
            soft,
            hard,
            "so that the event loop can take that many connections",
        ),
        _ => Ok(None),
    }
}

/// The CPUs the load generator gets: the allowed CPUs outside the physical cores the server
/// uses; when none is left, the server's too, and `true` (it shares them: every output says so).
pub(crate) fn generator_cpus(server_cpus: &[usize]) -> (Vec<usize>, bool) {
    let topo = Topology::get();
    // The physical cores the server is on, by index into the topology's cores.
    let core_of = |cpu: usize| topo.cores.iter().position(|c| c.cpus.contains(&cpu));
    let server_cores: Vec<usize> = server_cpus.iter().filter_map(|&c| core_of(c)).collect();
    let off_server: Vec<usize> = topo
        .allowed
        .iter()
        .copied()
        .filter(|c| !server_cpus.contains(c))
        .collect();
    let off_server_cores: Vec<usize> = off_server
        .iter()
        .copied()
        .filter(|&c| core_of(c).map_or(true, |k| !server_cores.contains(&k)))
        .collect();
    if !off_server_cores.is_empty() {
        (off_server_cores, false)
    } else if !off_server.is_empty() {
        (off_server, true)
    } else {
        (topo.allowed.clone(), true)
    }
}

/// What a row's measurement needs besides the row itself.
#[derive(Debug, Clone, Default)]
pub(crate) struct RowOptions {
    /// The program that serves pre-forked workers and generators (default: concbench itself).
    pub worker: Option<WorkerCommand>,
    /// How long one repetition may take before the generator counts as stuck.
    pub stuck_after: Option<Duration>,
}

/// Measure one row: start the server of `strategy` with `workers` workers, run `warmup` untimed
/// and `reps` timed repetitions of the load, stop the server. `progress` is called after each
/// repetition. The timed repetitions come back as executions, each with its [`WebRun`].
pub(crate) fn measure_row(
    config: &WebConfig,
    strategy: Strategy,
    workers: usize,
    warmup: usize,
    reps: usize,
    options: &RowOptions,
    progress: &mut dyn FnMut(f64),
) -> Result<Vec<Execution>, ServiceError> {
    // Heap freed by earlier rows (or a lab's earlier claims) and kept resident would absorb
    // this server's allocations: the lab's c10k rows read 32.5 KB per thread connection after
    // the other claims and 35.7 KB alone.
    sys::release_free_heap();
    let base = MemoryBase {
        rss: if strategy.descriptor().mechanism == crate::strategy::Mechanism::Processes {
            Some(0)
        } else {
            sys::process_rss_bytes(None)
        },
        kernel_stack: sys::meminfo_bytes("KernelStack"),
    };
    let server = Server::start(
        strategy,
        workers,
        config,
        SocketAddr::from(([127, 0, 0, 1], 0)),
        options.worker.as_ref(),
    )?;
    let result = repetitions(&server, base, config, warmup, reps, options, progress);
    let stopped = server.stop();
    let runs = result?;
    stopped?;
    Ok(runs)
}

/// The memory before the server started, which its figures are measured from.
#[derive(Debug, Clone, Copy)]
struct MemoryBase {
    rss: Option<u64>,
    kernel_stack: Option<u64>,
}

fn repetitions(
    server: &Server,
    base: MemoryBase,
    config: &WebConfig,
    warmup: usize,
    reps: usize,
    options: &RowOptions,
    progress: &mut dyn FnMut(f64),
) -> Result<Vec<Execution>, ServiceError> {
    let (gen_cpus, shares) = generator_cpus(server.cpus());
    let generators = gen_cpus
        .len()
        .min(server.cpus().len())
        .min(config.connections)
        .max(1);
    let mut runs = Vec::with_capacity(reps);
    let mut slowest: f64 = 0.0;
    for rep in 0..warmup + reps {
        let before = server.usage();
        let floor = options
            .stuck_after
            .unwrap_or(crate::strategy::DEFAULT_STUCK_AFTER)
            + Duration::from_secs_f64(config.expected_sequential_s().min(1e6));
        let deadline = crate::strategy::repetition_deadline(floor, slowest);
        let sampling = RssSampler::start(server);
        let start_ns = monotonic_ns();
        let load = run_load(
            server.addr(),
            config,
            &gen_cpus,
            shares,
            generators,
            options,
            deadline,
        );
        let sampled = sampling.finish();
        let (rss_peak, kernel_stack_peak) = (sampled.rss_peak, sampled.kernel_stack_peak);
        let load = load?;
        let mut usage = server.usage().since(&before);
        if server.in_process() {
            // The sampler is a thread of this process: its reads of /proc are not the server's.
            let sys_part = sampled.cpu_s.min(usage.sys_s);
            usage.sys_s -= sys_part;
            usage.user_s = (usage.user_s - (sampled.cpu_s - sys_part)).max(0.0);
        }
        let asked = config.requests as u64;
        if load.errors.total() > 0 || load.requests < asked {
            return Err(ServiceError::Errors {
                asked,
                failed: asked - load.requests.min(asked),
                kinds: load.errors.describe(),
                first: load
                    .first_error
                    .clone()
                    .unwrap_or_else(|| "requests left unanswered".into()),
            });
        }
        slowest = slowest.max(load.elapsed_s);
        progress(load.elapsed_s);
        if rep < warmup {
            continue;
        }
        runs.push(Execution {
            wall_s: load.elapsed_s,
            start_ns,
            phases: Phases {
                compute_s: load.elapsed_s,
                ..Phases::default()
            },
            parts: Vec::new(),
            usage,
            distributed: None,
            web: Some(Box::new(WebRun {
                load,
                connections: config.connections,
                rate: config.rate,
                rss_base_bytes: base.rss,
                rss_peak_bytes: rss_peak,
                kernel_stack_base_bytes: base.kernel_stack,
                kernel_stack_peak_bytes: kernel_stack_peak,
                server_start_s: server.started_s(),
                cpu_units: server.cpu_work().units,
                cpu_unit_s: server.cpu_work().unit_s,
                generator_cpus: gen_cpus[..generators].to_vec(),
                generator_shares_cpu: shares,
            })),
        });
    }
    Ok(runs)
}

/// Samples the server's resident memory and the machine's kernel stacks every 10 ms on a thread
/// of its own until finished; keeps the highest of each.
struct RssSampler {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<Sampled>>,
}

/// What a sampler saw, and the CPU time it took itself (reading `/proc` is not free: it is taken
/// out of an in-process server's CPU time per request).
#[derive(Debug, Clone, Copy, Default)]
struct Sampled {
    rss_peak: Option<u64>,
    kernel_stack_peak: Option<u64>,
    cpu_s: f64,
}

impl RssSampler {
    fn start(server: &Server) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let read = server.rss_reader();
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("rss-sampler".into())
            .spawn(move || {
                let stacks = || sys::meminfo_bytes("KernelStack");
                let (mut peak, mut stack_peak) = (read(), stacks());
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(10));
                    peak = peak.max(read());
                    stack_peak = stack_peak.max(stacks());
                }
                Sampled {
                    rss_peak: peak,
                    kernel_stack_peak: stack_peak,
                    cpu_s: sys::thread_cpu_time().map_or(0.0, |d| d.as_secs_f64()),
                }
            })
            .ok();
        RssSampler { stop, handle }
    }

    fn finish(mut self) -> Sampled {
        self.stop.store(true, Ordering::Relaxed);
        self.handle
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

/// Run one repetition's load: `generators` processes pinned to `cpus`, the connections and
/// requests (or the rate) split between them; each opens its connections, then all get `go`.
#[allow(clippy::too_many_arguments)]
fn run_load(
    addr: SocketAddr,
    config: &WebConfig,
    cpus: &[usize],
    shares: bool,
    generators: usize,
    options: &RowOptions,
    deadline: Instant,
) -> Result<LoadResult, ServiceError> {
    let cmd = match &options.worker {
        Some(c) => c.clone(),
        None => WorkerCommand::locate_concbench().map_err(ServiceError::Start)?,
    };
    let children_before = crate::measure::rusage::Usage::of(sys::UsageScope::Children);
    let mut children = Children::with_capacity(generators);
    children.set_deadline(Some(deadline));
    for g in 0..generators {
        let share = |total: usize| total * (g + 1) / generators - total * g / generators;
        let spec = ChildSpec {
            parent_pid: std::process::id(),
            cpu: Some(cpus[g % cpus.len()]),
            job: ChildJob::WebLoad(WebLoadJob {
                addr: addr.to_string(),
                config: config.clone(),
                connections: share(config.connections),
                requests: share(config.requests) as u64,
                rate: config.rate.map(|r| r / generators as f64),
                busy_poll: !shares,
            }),
        };
        children.spawn(g, cmd.command(&spec)).map_err(|e| {
            ServiceError::Start(format!(
                "starting the load generator ({}): {e}",
                cmd.display()
            ))
        })?;
    }
    for g in 0..generators {
        let line = children.receive(g).map_err(ServiceError::Generator)?;
        if !line.starts_with("connected") {
            return Err(ServiceError::Generator(
                children.fail(g, format!("said '{line}' instead of 'connected'")),
            ));
        }
    }
    for g in 0..generators {
        children.send(g, "go").map_err(ServiceError::Generator)?;
    }
    let mut reports = Vec::with_capacity(generators);
    for g in 0..generators {
        let line = children.receive(g).map_err(ServiceError::Generator)?;
        let report = line
            .strip_prefix("result ")
            .and_then(|json| serde_json::from_str::<load::GeneratorReport>(json).ok());
        match report {
            Some(r) => reports.push(r),
            None => {
                return Err(ServiceError::Generator(children.fail(
                    g,
                    format!("said '{}' instead of its result", cut(&line, 80)),
                )))
            }
        }
    }
    children.wait_all().map_err(ServiceError::Generator)?;
    let mut result = load::merge(&reports);
    let used = crate::measure::rusage::Usage::of(sys::UsageScope::Children).since(&children_before);
    result.generator_cpu_s = used.user_s + used.sys_s;
    Ok(result)
}

fn cut(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}
