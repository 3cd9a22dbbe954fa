//! `concbench server`: one server architecture of the `web` workload, alone, until Ctrl-C, so a
//! student can point curl, a browser, `wrk` or `oha` at it.

use std::net::{IpAddr, SocketAddr};

use super::CliError;
use concbench::service::{serve, ServeRequest, ServiceError};

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
    #[arg(long, value_name = "BYTES", default_value_t = ServeRequest::default().max_request_bytes)]
    pub max_request_bytes: usize,
    /// The handler's parameters (`--wait-ms`, `--cpu-us`, `--cpu-kernel`, `--cpu-parallel`,
    /// `--response-bytes`), as for `concbench run --workload web`.
    #[command(flatten)]
    pub params: super::params::HandlerParams,
}

/// Run `concbench server` until the process is interrupted.
pub fn cmd_server(args: ServerArgs) -> Result<(), CliError> {
    let request = ServeRequest {
        strategy: args.strategy,
        cores: args.cores,
        addr: SocketAddr::new(args.bind, args.port),
        idle_timeout_ms: args.idle_timeout_ms,
        max_request_bytes: args.max_request_bytes,
        params: args.params.0,
    };
    let serving = serve(&request, &mut |note| eprintln!("{note}")).map_err(|e| match e {
        ServiceError::Request(_) | ServiceError::Listen(..) | ServiceError::Descriptors(_) => {
            CliError::Usage(e.to_string())
        }
        other => CliError::Failed(anyhow::Error::new(other).context("starting the server")),
    })?;
    let shown = match serving.addr() {
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
        SocketAddr::V4(a) => a.to_string(),
    };
    super::print_stdout(&format!("listening on http://{shown}\n"))?;
    eprintln!("concbench: {}; Ctrl-C stops it", serving.description());
    loop {
        std::thread::park();
    }
}
