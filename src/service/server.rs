//! The server architectures: the strategies of concbench, read as ways to multiplex connections.
//!
//! | strategy | server | workers |
//! |---|---|---|
//! | `sequential` | iterative: one thread, one connection at a time | 1 |
//! | `single-core-threaded` ×N | N threads pinned to ONE core, each serving one connection at a time | N threads |
//! | `multi-threaded` ×N | N threads, each on its own physical core | N threads |
//! | `multi-process` ×N | N pre-forked worker processes, each pinned, all accepting on one listening socket they inherited | N processes |
//! | `single-thread-async` ×N | one event loop (tokio `current_thread`) on one core, a task per connection, at most N at once | N tasks |
//!
//! In every architecture N bounds the connections served at once, and every connection is served
//! by the one code path of [`super::conn`]: the rows differ in how connections are multiplexed,
//! nothing else. A server listens on 127.0.0.1 only. [`Server::stop`] ends it and checks that
//! nothing outlives it: a worker that does not stop within [`STOP_WITHIN`] is an error, never a
//! hang.

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::conn::{self, Handler};
use super::ServiceError;
use crate::child::{jobs::WebServerJob, ChildJob, ChildSpec, Children, WorkerCommand};
use crate::measure::rusage::Usage;
use crate::strategy::{Mechanism, Placement, Strategy};
use crate::sys;
use crate::topology::{self, Topology};
use crate::workload::web::{CpuWork, WebConfig};

/// How long the workers of a stopping server may take.
pub(crate) const STOP_WITHIN: Duration = Duration::from_secs(10);

/// Connections a listening socket holds before they are accepted (the kernel caps it at
/// `net.core.somaxconn`).
const BACKLOG: i32 = 65_535;

/// A running server of one architecture.
pub(crate) struct Server {
    addr: SocketAddr,
    /// The one listening socket: the worker threads accept on it, pre-forked processes on their
    /// inherited copies of it.
    listener: Arc<TcpListener>,
    stop: Arc<AtomicBool>,
    inner: Inner,
    cpus: Vec<usize>,
    cpu_work: CpuWork,
    started_s: f64,
}

enum Inner {
    /// Threads of this process (iterative, thread per connection, the event loop's thread).
    Threads {
        handles: Vec<std::thread::JoinHandle<()>>,
        alive: Arc<AtomicUsize>,
    },
    /// Pre-forked worker processes.
    Processes { children: Children, pids: Vec<u32> },
}

/// The CPUs the `--cpu-parallel` pool runs on: the server's own first, then every other physical
/// core — the course's "parallelism inside each request" needs cores beyond the one the event
/// loop or the threads share. The load generator then shares them, and every output says so.
pub(crate) fn pool_cpus(server: &[usize]) -> Vec<usize> {
    let mut cpus = server.to_vec();
    for c in Topology::get().core_cpus() {
        if !cpus.contains(&c) {
            cpus.push(c);
        }
    }
    cpus
}

/// The CPUs a server of `strategy` with `workers` workers is pinned to, in worker order (one-core
/// architectures: one CPU).
pub(crate) fn server_cpus(strategy: Strategy, workers: usize) -> Vec<usize> {
    let d = strategy.descriptor();
    match d.placement {
        Placement::OneCore => vec![Placement::OneCore.cpu_for(0)],
        Placement::Spread => {
            let n = workers.clamp(1, Topology::get().physical_core_count());
            (0..n).map(|i| Placement::Spread.cpu_for(i)).collect()
        }
    }
}

/// The rayon pool of `--cpu-parallel`: one thread per CPU of the server, each pinned to it.
fn cpu_pool(cpus: &[usize]) -> Result<Arc<rayon::ThreadPool>, ServiceError> {
    let cpus = cpus.to_vec();
    rayon::ThreadPoolBuilder::new()
        .num_threads(cpus.len())
        .start_handler(move |i| {
            let _ = topology::pin_current_thread(cpus[i % cpus.len()]);
        })
        .build()
        .map(Arc::new)
        .map_err(|e| ServiceError::Start(format!("the --cpu-parallel thread pool: {e}")))
}

/// Calibrate the CPU work on `cpu` (a thread pinned there, so the units fit that core).
pub(crate) fn calibrate_on(cpu: usize, config: &WebConfig) -> CpuWork {
    let (kernel, us) = (config.cpu_kernel, config.cpu_us);
    std::thread::scope(|s| {
        s.spawn(move || {
            let _ = topology::pin_current_thread(cpu);
            CpuWork::calibrate(kernel, us)
        })
        .join()
        .unwrap_or_else(|_| CpuWork::none(kernel))
    })
}

impl Server {
    /// Start `strategy`'s server with `workers` workers on `addr` (port 0: any free port), which
    /// must be a loopback address. `worker` is the program that serves pre-forked workers
    /// (multi-process only; default: concbench itself).
    pub fn start(
        strategy: Strategy,
        workers: usize,
        config: &WebConfig,
        addr: SocketAddr,
        worker: Option<&WorkerCommand>,
    ) -> Result<Server, ServiceError> {
        if !addr.ip().is_loopback() {
            return Err(ServiceError::Start(format!(
                "{} is not a loopback address: concbench serves on 127.0.0.1 or ::1 only",
                addr.ip()
            )));
        }
        let t0 = Instant::now();
        let cpus = server_cpus(strategy, workers);
        let cpu_work = config
            .cpu_work
            .unwrap_or_else(|| calibrate_on(cpus[0], config));
        let stop = Arc::new(AtomicBool::new(false));
        let mechanism = strategy.descriptor().mechanism;
        if mechanism == Mechanism::Ranks {
            return Err(ServiceError::Start(
                "web has no distributed server: MPI ranks do not share a socket".into(),
            ));
        }
        let listener =
            Arc::new(sys::tcp_listener(addr, BACKLOG).map_err(|e| ServiceError::Listen(addr, e))?);
        let inner = match mechanism {
            Mechanism::Processes => {
                let cmd = match worker {
                    Some(c) => c.clone(),
                    None => WorkerCommand::locate_concbench().map_err(ServiceError::Start)?,
                };
                start_processes(&cmd, workers, config, &listener, &cpus, cpu_work)?
            }
            _ => start_threads(strategy, workers, config, &listener, &cpus, cpu_work, &stop)?,
        };
        let addr = listener
            .local_addr()
            .map_err(|e| ServiceError::Listen(addr, e))?;
        // The generator keeps off every CPU the server may use, its --cpu-parallel pool's too.
        let cpus = if config.cpu_parallel {
            pool_cpus(&cpus)
        } else {
            cpus
        };
        Ok(Server {
            addr,
            listener,
            stop,
            inner,
            cpus,
            cpu_work,
            started_s: t0.elapsed().as_secs_f64(),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CPUs its workers are pinned to.
    pub fn cpus(&self) -> &[usize] {
        &self.cpus
    }

    /// The CPU work per request, as calibrated on its first CPU.
    pub fn cpu_work(&self) -> CpuWork {
        self.cpu_work
    }

    /// Seconds starting it took.
    pub(crate) fn started_s(&self) -> f64 {
        self.started_s
    }

    /// Whether its workers are threads of this process (its usage is this process's).
    pub(crate) fn in_process(&self) -> bool {
        matches!(self.inner, Inner::Threads { .. })
    }

    /// A reader of its resident memory that another thread can call (the sampler's).
    pub(crate) fn rss_reader(&self) -> impl Fn() -> Option<u64> + Send + 'static {
        let pids = match &self.inner {
            Inner::Threads { .. } => None,
            Inner::Processes { pids, .. } => Some(pids.clone()),
        };
        move || match &pids {
            None => sys::process_rss_bytes(None),
            Some(pids) => pids.iter().map(|p| sys::process_rss_bytes(Some(*p))).sum(),
        }
    }

    /// Its switches and CPU time so far: this process for threads (the load generator is a
    /// child, not counted here), the sum of the workers for processes.
    pub(crate) fn usage(&self) -> Usage {
        match &self.inner {
            Inner::Threads { .. } => Usage::of(sys::UsageScope::Process),
            Inner::Processes { pids, .. } => pids
                .iter()
                .filter_map(|p| sys::process_usage(*p))
                .fold(Usage::default(), |acc, u| {
                    acc + Usage {
                        voluntary_switches: u.voluntary_switches,
                        involuntary_switches: u.involuntary_switches,
                        user_s: u.user_s,
                        sys_s: u.sys_s,
                    }
                }),
        }
    }

    /// Stop every worker and wait for them (at most [`STOP_WITHIN`]).
    pub(crate) fn stop(self) -> Result<(), ServiceError> {
        self.stop.store(true, Ordering::SeqCst);
        match self.inner {
            Inner::Threads { handles, alive } => stop_threads(&self.listener, handles, &alive),
            Inner::Processes { mut children, .. } => {
                for i in 0..children.len() {
                    children.send(i, "stop").map_err(ServiceError::Worker)?;
                }
                children.set_deadline(Some(Instant::now() + STOP_WITHIN));
                for i in 0..children.len() {
                    children
                        .expect(i, "stopped")
                        .map_err(ServiceError::Worker)?;
                }
                children.wait_all().map_err(ServiceError::Worker)
            }
        }
    }
}

/// Wake the worker threads blocked in accept and wait for every one to end (at most
/// [`STOP_WITHIN`]): shutting the listening socket down makes accept fail on Linux; elsewhere,
/// and as a fallback, a connection wakes one.
fn stop_threads(
    listener: &TcpListener,
    handles: Vec<std::thread::JoinHandle<()>>,
    alive: &AtomicUsize,
) -> Result<(), ServiceError> {
    let addr = listener.local_addr().ok();
    let _ = socket2::SockRef::from(listener).shutdown(std::net::Shutdown::Both);
    let deadline = Instant::now() + STOP_WITHIN;
    while alive.load(Ordering::SeqCst) > 0 {
        if Instant::now() > deadline {
            return Err(ServiceError::Stuck(alive.load(Ordering::SeqCst)));
        }
        if let Some(addr) = addr {
            let _ = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    for h in handles {
        let _ = h.join();
    }
    Ok(())
}

/// Decrements the live-worker count when a worker thread ends, however it ends.
struct AliveGuard(Arc<AtomicUsize>);

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[allow(clippy::too_many_arguments)]
fn start_threads(
    strategy: Strategy,
    workers: usize,
    config: &WebConfig,
    listener: &Arc<TcpListener>,
    cpus: &[usize],
    cpu_work: CpuWork,
    stop: &Arc<AtomicBool>,
) -> Result<Inner, ServiceError> {
    let pool = if config.cpu_parallel {
        Some(cpu_pool(&pool_cpus(cpus))?)
    } else {
        None
    };
    let handler = Arc::new(Handler::new(config, cpu_work, pool));
    let alive = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    let event_loop = strategy.descriptor().mechanism == Mechanism::Tasks;
    let threads = if event_loop || strategy.is_sequential() {
        1
    } else {
        workers
    };
    let mut fail = None;
    for i in 0..threads {
        let cpu = cpus[i % cpus.len()];
        let (listener, handler, stop, alive2) = (
            listener.clone(),
            handler.clone(),
            stop.clone(),
            alive.clone(),
        );
        alive.fetch_add(1, Ordering::SeqCst);
        let builder = std::thread::Builder::new()
            .name(format!("web-{i}"))
            .stack_size(if event_loop { 2 << 20 } else { 256 << 10 });
        let tasks = workers;
        let spawned = builder.spawn(move || {
            let _guard = AliveGuard(alive2);
            if topology::pin_current_thread(cpu).is_err() {
                return;
            }
            if event_loop {
                run_event_loop(&listener, handler, tasks, &stop);
            } else {
                accept_loop(&listener, &handler, &stop);
            }
        });
        match spawned {
            Ok(h) => handles.push(h),
            Err(e) => {
                alive.fetch_sub(1, Ordering::SeqCst);
                fail = Some(crate::start::StartError::new("thread", i, threads, e));
                break;
            }
        }
    }
    if let Some(e) = fail {
        // Release the threads that did start before saying why the rest could not.
        stop.store(true, Ordering::SeqCst);
        stop_threads(listener, handles, &alive)?;
        return Err(ServiceError::Start(e.to_string()));
    }
    Ok(Inner::Threads { handles, alive })
}

/// A blocking worker: accept a connection, serve it to its end, accept the next.
pub(crate) fn accept_loop(listener: &TcpListener, handler: &Handler, stop: &AtomicBool) {
    let mut scratch = None;
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                conn::serve_blocking(stream, handler, stop, &mut scratch);
            }
            Err(e) => {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                // Out of descriptors (EMFILE) or a connection that died before accept: the
                // server goes on; a short pause keeps a descriptor shortage from spinning.
                if e.kind() != std::io::ErrorKind::ConnectionAborted {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
    }
}

/// The event loop: tokio `current_thread` on this thread, a task per connection, at most `tasks`
/// at once (a permit per connection, taken before it is accepted).
fn run_event_loop(listener: &TcpListener, handler: Arc<Handler>, tasks: usize, stop: &AtomicBool) {
    let Ok(rt) = crate::strategy::tasks::runtime_with_io() else {
        return;
    };
    let local = tokio::task::LocalSet::new();
    let Ok(std_listener) = listener.try_clone() else {
        return;
    };
    if std_listener.set_nonblocking(true).is_err() {
        return;
    }
    local.block_on(&rt, async move {
        let Ok(listener) = tokio::net::TcpListener::from_std(std_listener) else {
            return;
        };
        let permits = Arc::new(tokio::sync::Semaphore::new(tasks));
        loop {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return;
            };
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = stop_signal(stop) => return,
            };
            match accepted {
                Ok((stream, _)) => {
                    let handler = handler.clone();
                    tokio::task::spawn_local(async move {
                        conn::serve_async(stream, handler).await;
                        drop(permit);
                    });
                }
                Err(_) => {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
    });
}

/// Resolves once `stop` is set (looked at every 50 ms).
async fn stop_signal(stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Start `workers` pre-forked worker processes that share `listener`, each inheriting it:
/// whichever worker is free accepts the next connection, as in a
/// classic pre-forked server (one `SO_REUSEPORT` socket per worker would instead spread the
/// connections by a hash of their addresses, and a busy worker's share would wait in its queue).
fn start_processes(
    cmd: &WorkerCommand,
    workers: usize,
    config: &WebConfig,
    listener: &TcpListener,
    cpus: &[usize],
    cpu_work: CpuWork,
) -> Result<Inner, ServiceError> {
    let fd = sys::listener_desc(listener);
    let mut children = Children::with_capacity(workers);
    children.set_deadline(Some(Instant::now() + Duration::from_secs(60)));
    let mut pids = Vec::with_capacity(workers);
    // Inheritable only while the workers start: the load generators started later get none.
    sys::set_inheritable(fd, true)
        .map_err(|e| ServiceError::Start(format!("handing the socket to worker processes: {e}")))?;
    let started = (|| {
        for i in 0..workers {
            let spec = ChildSpec {
                parent_pid: std::process::id(),
                cpu: Some(cpus[i % cpus.len()]),
                job: ChildJob::WebServer(WebServerJob {
                    config: config.clone(),
                    listen_fd: fd,
                    worker: i,
                    cpu_units: cpu_work.units,
                    cpu_unit_s: cpu_work.unit_s,
                    pool_cpus: if config.cpu_parallel {
                        pool_cpus(cpus)
                    } else {
                        Vec::new()
                    },
                }),
            };
            children.spawn(i, cmd.command(&spec)).map_err(|e| {
                ServiceError::Start(
                    crate::start::StartError::new("process", i, workers, e).to_string(),
                )
            })?;
        }
        Ok(())
    })();
    let _ = sys::set_inheritable(fd, false);
    started?;
    for i in 0..workers {
        let line = children.receive(i).map_err(ServiceError::Worker)?;
        match line.strip_prefix("listening ").map(str::parse::<u32>) {
            Some(Ok(pid)) => pids.push(pid),
            _ => {
                return Err(ServiceError::Worker(
                    children.fail(i, format!("said '{line}' instead of 'listening PID'")),
                ))
            }
        }
    }
    children.set_deadline(None);
    Ok(Inner::Processes { children, pids })
}

/// A pre-forked worker process: take the listening socket the parent handed down, say
/// `listening PID`, serve connections one at a time until the parent says `stop` (or goes away),
/// then say `stopped`.
pub(crate) fn serve_worker_process(job: WebServerJob) -> Result<(), String> {
    let listener = sys::inherited_tcp_listener(job.listen_fd).map_err(|e| {
        format!(
            "the listening socket handed down as descriptor {}: {e}",
            job.listen_fd
        )
    })?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let pool = if job.pool_cpus.is_empty() {
        None
    } else {
        Some(cpu_pool(&job.pool_cpus).map_err(|e| e.to_string())?)
    };
    let cpu = CpuWork {
        kernel: job.config.cpu_kernel,
        units: job.cpu_units,
        unit_s: job.cpu_unit_s,
    };
    let handler = Handler::new(&job.config, cpu, pool);
    let stop = Arc::new(AtomicBool::new(false));
    crate::child::Lines::new().say(&format!("listening {}", std::process::id()))?;
    let listener = Arc::new(listener);
    let watcher = {
        let (stop, listener) = (stop.clone(), listener.clone());
        std::thread::spawn(move || {
            // "stop", or the end of stdin (the parent went away): either ends the worker.
            let _ = crate::child::Lines::new().next_line();
            stop.store(true, Ordering::SeqCst);
            let _ = socket2::SockRef::from(&*listener).shutdown(std::net::Shutdown::Both);
            let _ = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(50));
        })
    };
    accept_loop(&listener, &handler, &stop);
    watcher
        .join()
        .map_err(|_| "the stop watcher panicked".to_string())?;
    crate::child::Lines::new().say("stopped")
}
