//! `concbench server`: one server architecture of the `web` workload, alone, until Ctrl-C, so a
//! student can point curl, a browser, `wrk` or `oha` at it.

use std::net::{IpAddr, SocketAddr};

use super::CliError;
use concbench::service::{generator_cpus, make_room_for, Server};
use concbench::strategy::Strategy;
use concbench::workload::web::WebConfig;
use concbench::workload::WorkloadSpec;

/// Options of `concbench server`.
#[derive(Debug, clap::Args)]
pub struct ServerArgs {
    /// The server architecture: sequential (iterative), single-core-threaded, multi-threaded,
    /// multi-process or single-thread-async.
    #[arg(long, short, default_value = "single-thread-async")]
    pub strategy: String,
    /// Workers: threads (single-core-threaded, multi-threaded) or processes (multi-process), each
    /// serving one connection at a time. The event loop (single-thread-async) is one thread on
    /// one core and takes every connection that comes, as an event-driven server does, so it
    /// does not use this; the iterative server (sequential) is one thread.
    #[arg(long, short, default_value_t = 64)]
    pub cores: usize,
    /// Port on the loopback interface; 0 picks a free one.
    #[arg(long, short, default_value_t = 8080)]
    pub port: u16,
    /// Loopback address to listen on (127.0.0.1 or ::1); any other is refused.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Close a connection that has not sent a whole request for this long (slowloris); 408 if it
    /// had sent part of one.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub idle_timeout_ms: u64,
    /// Largest request (line, headers and body) the server reads; more is answered 413.
    #[arg(long, value_name = "BYTES", default_value_t = concbench::workload::web::DEFAULT_MAX_REQUEST_BYTES)]
    pub max_request_bytes: usize,
    /// The handler's parameters (`--wait-ms`, `--cpu-us`, `--cpu-kernel`, `--cpu-parallel`,
    /// `--response-bytes`), as for `concbench run --workload web`.
    #[command(flatten)]
    pub params: super::params::HandlerParams,
}

/// Run `concbench server` until the process is interrupted.
pub fn cmd_server(args: ServerArgs) -> Result<(), CliError> {
    let strategy: Strategy = match args.strategy.parse() {
        Ok(Strategy::Distributed) | Err(_) => {
            let known: Vec<&str> = Strategy::ALL
                .iter()
                .filter(|s| **s != Strategy::Distributed)
                .map(|s| s.name())
                .collect();
            let why = if args.strategy == Strategy::Distributed.name() {
                " (MPI ranks do not share a socket)"
            } else {
                ""
            };
            return Err(CliError::Usage(format!(
                "concbench server has no '{}' architecture{why}; it serves as one of: {}",
                args.strategy,
                known.join(", ")
            )));
        }
        Ok(s) => s,
    };
    if !args.bind.is_loopback() {
        return Err(CliError::Usage(format!(
            "--bind {} is not a loopback address: concbench serves on 127.0.0.1 or ::1 only",
            args.bind
        )));
    }
    if args.cores == 0 || args.cores > concbench::plan::MAX_WORKERS {
        return Err(CliError::Usage(format!(
            "--cores {} must be between 1 and {}",
            args.cores,
            concbench::plan::MAX_WORKERS
        )));
    }
    let mut spec = WorkloadSpec::new("web", 1, 42);
    for (name, value) in &args.params.0 {
        spec = spec.with(name, value);
    }
    let mut config = WebConfig::from_spec(&spec).map_err(|e| CliError::Usage(e.to_string()))?;
    if args.idle_timeout_ms == 0 || args.idle_timeout_ms > 3_600_000 {
        return Err(CliError::Usage(format!(
            "--idle-timeout-ms {} must be between 1 and 3600000",
            args.idle_timeout_ms
        )));
    }
    if !(64..=1 << 30).contains(&args.max_request_bytes) {
        return Err(CliError::Usage(format!(
            "--max-request-bytes {} must be between 64 and 1073741824",
            args.max_request_bytes
        )));
    }
    config.idle_timeout = std::time::Duration::from_millis(args.idle_timeout_ms);
    config.max_request_bytes = args.max_request_bytes;
    let event_loop = strategy == Strategy::SingleThreadAsync;
    let workers = if strategy.is_sequential() {
        1
    } else if event_loop {
        concbench::service::UNBOUNDED_TASKS
    } else {
        args.cores
    };
    // Room for the connections a client may open: the workers' count, and for the event loop,
    // which takes every connection, as many as the hard limit allows.
    let room = if event_loop {
        concbench::service::make_room_for_all()
    } else {
        make_room_for(workers)
    };
    if let Some(note) = room.map_err(|e| CliError::Usage(e.to_string()))? {
        eprintln!("concbench: {note}");
    }
    let server = Server::start(
        strategy,
        workers,
        &config,
        SocketAddr::new(args.bind, args.port),
        None,
    )
    .map_err(|e| match e {
        concbench::service::ServiceError::Listen(..) => CliError::Usage(e.to_string()),
        other => CliError::Failed(anyhow::Error::new(other).context("starting the server")),
    })?;
    let addr = server.addr();
    let shown = match addr {
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
        SocketAddr::V4(a) => a.to_string(),
    };
    super::print_stdout(&format!("listening on http://{shown}\n"))?;
    let (free, shares) = generator_cpus(server.cpus());
    eprintln!(
        "concbench: {strategy}{} on CPU {}; each request waits {} ms, burns {} unit(s) of {} ({:.1} µs) and returns {} bytes; load it from CPU {}{}; Ctrl-C stops it",
        if event_loop {
            " (every connection, a task each)".to_string()
        } else {
            format!(" x{workers}")
        },
        concbench::topology::format_cpu_list(server.cpus()),
        config.wait.as_secs_f64() * 1e3,
        server.cpu_work().units,
        config.cpu_kernel.name(),
        server.cpu_work().units as f64 * server.cpu_work().unit_s * 1e6,
        config.response_bytes,
        concbench::topology::format_cpu_list(&free),
        if shares { " (shared with the server: no CPU is free of it)" } else { "" },
    );
    loop {
        std::thread::park();
    }
}
