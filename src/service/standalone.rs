//! One server architecture alone, for a student's own client (`concbench server`): a
//! [`ServeRequest`] (the options as given) is checked, room is made for the connections, the
//! server starts on loopback, and the [`Serving`] that comes back says where it listens and, in
//! one line, what it does. It serves until dropped.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::server::Server;
use super::{generator_cpus, make_room_for, make_room_for_all, ServiceError};
use crate::strategy::Strategy;
use crate::topology::format_cpu_list;
use crate::workload::web::{WebConfig, DEFAULT_MAX_REQUEST_BYTES};
use crate::workload::WorkloadSpec;

/// What `concbench server` is asked, as given; [`serve`] checks it. The default is the CLI's:
/// the event loop on 127.0.0.1:8080, 64 workers for the architectures that have a count, idle
/// connections closed after 10 s, requests up to 16 KiB, the `web` handler's default parameters.
#[derive(Debug, Clone)]
pub struct ServeRequest {
    /// The architecture: a strategy's name, any but `distributed`.
    pub strategy: String,
    /// Workers of the architectures that have a count (threads, processes); 1 to 16384.
    pub cores: usize,
    /// Where to listen: a loopback address (port 0: any free port).
    pub addr: SocketAddr,
    /// An idle connection is closed after this many milliseconds (1 to 3,600,000).
    pub idle_timeout_ms: u64,
    /// A request longer than this many bytes is refused (64 to 1 GiB).
    pub max_request_bytes: usize,
    /// The handler's parameters, by key in `WorkloadSpec::params` (`("wait_ms", "10")`).
    pub params: Vec<(String, String)>,
}

impl Default for ServeRequest {
    fn default() -> ServeRequest {
        ServeRequest {
            strategy: Strategy::SingleThreadAsync.name().to_string(),
            cores: 64,
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080),
            idle_timeout_ms: 10_000,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            params: Vec::new(),
        }
    }
}

/// A server started by [`serve`]; it stops when dropped.
pub struct Serving {
    server: Server,
    description: String,
}

impl Serving {
    /// Where it listens (the port the system chose, when the request's was 0).
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// What it does, in one line: the architecture and its CPUs, what each request costs, the
    /// CPUs a load generator should use.
    pub fn description(&self) -> &str {
        &self.description
    }
}

/// Check `request`, make room for the connections (raising the open-files soft limit, said in a
/// note; the event loop, which takes every connection, gets the hard limit) and start the
/// server. A request that cannot be served as asked is [`ServiceError::Request`]; an address
/// that cannot be listened on, [`ServiceError::Listen`].
pub fn serve(
    request: &ServeRequest,
    on_note: &mut dyn FnMut(&str),
) -> Result<Serving, ServiceError> {
    let strategy = architecture(&request.strategy)?;
    let (config, workers) = config_of(request, strategy)?;
    let event_loop = strategy == Strategy::SingleThreadAsync;
    // Room for the connections a client may open: the workers' count, and for the event loop,
    // which takes every connection, as many as the hard limit allows.
    let room = if event_loop {
        make_room_for_all()?
    } else {
        make_room_for(workers)?
    };
    if let Some(note) = room {
        on_note(&format!("concbench: {note}"));
    }
    let server = Server::start(strategy, workers, &config, request.addr, None)?;
    let (free, shares) = generator_cpus(server.cpus());
    let work = server.cpu_work();
    let description = format!(
        "{strategy}{} on CPU {}; each request waits {} ms, burns {} unit(s) of {} ({:.1} µs) and returns {} bytes; load it from CPU {}{}",
        if event_loop {
            " (every connection, a task each)".to_string()
        } else {
            format!(" x{workers}")
        },
        format_cpu_list(server.cpus()),
        config.wait.as_secs_f64() * 1e3,
        work.units,
        config.cpu_kernel.name(),
        work.units as f64 * work.unit_s * 1e6,
        config.response_bytes,
        format_cpu_list(&free),
        if shares { " (shared with the server: no CPU is free of it)" } else { "" },
    );
    Ok(Serving {
        server,
        description,
    })
}

/// The strategy named `name`, as a server architecture (all but distributed).
fn architecture(name: &str) -> Result<Strategy, ServiceError> {
    match name.parse() {
        Ok(Strategy::Distributed) | Err(_) => {
            let known: Vec<&str> = Strategy::ALL
                .iter()
                .filter(|s| **s != Strategy::Distributed)
                .map(|s| s.name())
                .collect();
            let why = if name == Strategy::Distributed.name() {
                " (MPI ranks do not share a socket)"
            } else {
                ""
            };
            Err(ServiceError::Request(format!(
                "concbench server has no '{name}' architecture{why}; it serves as one of: {}",
                known.join(", ")
            )))
        }
        Ok(s) => Ok(s),
    }
}

/// The handler's configuration and the worker count of `request`, checked.
fn config_of(
    request: &ServeRequest,
    strategy: Strategy,
) -> Result<(WebConfig, usize), ServiceError> {
    let bad = |line: String| Err(ServiceError::Request(line));
    if !request.addr.ip().is_loopback() {
        return bad(format!(
            "--bind {} is not a loopback address: concbench serves on 127.0.0.1 or ::1 only",
            request.addr.ip()
        ));
    }
    if request.cores == 0 || request.cores > crate::strategy::MAX_WORKERS {
        return bad(format!(
            "--cores {} must be between 1 and {}",
            request.cores,
            crate::strategy::MAX_WORKERS
        ));
    }
    if request.idle_timeout_ms == 0 || request.idle_timeout_ms > 3_600_000 {
        return bad(format!(
            "--idle-timeout-ms {} must be between 1 and 3600000",
            request.idle_timeout_ms
        ));
    }
    if !(64..=1 << 30).contains(&request.max_request_bytes) {
        return bad(format!(
            "--max-request-bytes {} must be between 64 and 1073741824",
            request.max_request_bytes
        ));
    }
    let mut spec = WorkloadSpec::new("web", 1, 42);
    for (name, value) in &request.params {
        spec = spec.with(name, value);
    }
    let mut config =
        WebConfig::from_spec(&spec).map_err(|e| ServiceError::Request(e.to_string()))?;
    config.idle_timeout = std::time::Duration::from_millis(request.idle_timeout_ms);
    config.max_request_bytes = request.max_request_bytes;
    let workers = if strategy.is_sequential() {
        1
    } else if strategy == Strategy::SingleThreadAsync {
        super::UNBOUNDED_TASKS
    } else {
        request.cores
    };
    Ok((config, workers))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(request: ServeRequest, needle: &str) {
        let mut notes = Vec::new();
        match serve(&request, &mut |n| notes.push(n.to_string())) {
            Err(ServiceError::Request(line)) => assert!(line.contains(needle), "{line}"),
            Err(other) => panic!("{needle}: another error: {other}"),
            Ok(s) => panic!("{needle}: served on {}", s.addr()),
        }
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn a_request_that_cannot_be_served_is_refused_before_anything_starts() {
        let any_port = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
        let ok = ServeRequest {
            addr: any_port,
            ..ServeRequest::default()
        };
        refused(
            ServeRequest {
                strategy: "distributed".into(),
                ..ok.clone()
            },
            "MPI ranks do not share a socket",
        );
        refused(
            ServeRequest {
                strategy: "threads".into(),
                ..ok.clone()
            },
            "no 'threads' architecture",
        );
        refused(
            ServeRequest {
                addr: "10.0.0.1:0".parse().unwrap(),
                ..ok.clone()
            },
            "not a loopback address",
        );
        refused(
            ServeRequest {
                cores: 0,
                ..ok.clone()
            },
            "--cores 0",
        );
        refused(
            ServeRequest {
                idle_timeout_ms: 0,
                ..ok.clone()
            },
            "--idle-timeout-ms 0",
        );
        refused(
            ServeRequest {
                max_request_bytes: 10,
                ..ok.clone()
            },
            "--max-request-bytes 10",
        );
        refused(
            ServeRequest {
                params: vec![("cpu_kernel".into(), "bogus".into())],
                ..ok
            },
            "bogus",
        );
    }

    #[test]
    fn a_started_server_says_where_and_what() {
        let serving = serve(
            &ServeRequest {
                strategy: "multi-threaded".into(),
                cores: 2,
                addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
                params: vec![("wait_ms".into(), "0".into())],
                ..ServeRequest::default()
            },
            &mut |_| {},
        )
        .unwrap();
        assert_ne!(serving.addr().port(), 0);
        assert!(
            serving
                .description()
                .starts_with("multi-threaded x2 on CPU "),
            "{}",
            serving.description()
        );
    }
}
