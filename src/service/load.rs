//! The load generator: concbench's own HTTP client, run in its own pinned process(es) so that it
//! takes no CPU time from the server it measures.
//!
//! A generator process opens its keep-alive connections (at most [`CONNECTS_IN_FLIGHT`] at once,
//! so that a burst does not overflow the server's accept queue and wait for SYN retries), says
//! `connected`, waits for `go`, runs, and says `result JSON` ([`GeneratorReport`]). It runs on
//! tokio's `current_thread` runtime, one task per connection:
//!
//! - **closed loop** (no `--rate`): each connection sends a request, reads and checks the
//!   response, and sends the next, until the run's requests are taken; latency is measured from
//!   each send;
//! - **open loop** (`--rate R`): connection k sends its j-th request at the intended time
//!   t0 + (k + j·C)/R, and latency is measured from that intended time, not from the send: a
//!   server that stalls is charged for every request that should have been sent meanwhile
//!   (coordinated omission corrected, as wrk2 does).
//!
//! Every response is checked (status 200, `Content-Length`, the body's checksum); an error is
//! counted by kind and ends its connection. Latencies and the server's achieved waits go into
//! HdrHistograms (3 significant digits), sent to the parent as their recorded buckets and merged
//! there ([`merge`]) when several generator processes share the load.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::child::jobs::WebLoadJob;
use crate::measure::clock::monotonic_ns;
use crate::workload::web::{
    check_response, checksum, Latency, LoadResult, ResponseError, WebErrors,
};

/// Connections opening at once.
pub(crate) const CONNECTS_IN_FLIGHT: usize = 256;

/// What one generator process measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GeneratorReport {
    /// Requests answered and checked.
    pub requests: u64,
    /// When its first request was sent (intended, in the open loop), monotonic ns.
    pub(crate) start_ns: u64,
    /// When its last response was read, monotonic ns.
    pub(crate) end_ns: u64,
    /// Seconds opening its connections took.
    pub(crate) connect_s: f64,
    /// Errors by kind.
    pub errors: WebErrors,
    /// The first error, in words.
    pub(crate) first_error: Option<String>,
    /// Latency histogram buckets, (ns, count).
    pub latency_ns: Vec<(u64, u64)>,
    /// The server's achieved waits (`X-Wait-Ns`), (ns, count).
    pub(crate) wait_ns: Vec<(u64, u64)>,
    /// CPUs the server's handler reported.
    pub(crate) server_cpus: Vec<usize>,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid histogram bounds")
}

fn buckets(h: &Histogram<u64>) -> Vec<(u64, u64)> {
    h.iter_recorded()
        .map(|v| (v.value_iterated_to(), v.count_at_value()))
        .collect()
}

/// What the connections of one generator share.
struct Shared {
    /// Requests not yet taken by a connection.
    remaining: u64,
    latency: Histogram<u64>,
    waits: Histogram<u64>,
    errors: WebErrors,
    first_error: Option<String>,
    cpus: std::collections::BTreeSet<usize>,
    requests: u64,
    first_send_ns: u64,
    last_recv_ns: u64,
}

impl Shared {
    fn error(&mut self, kind: fn(&mut WebErrors) -> &mut u64, what: String) {
        *kind(&mut self.errors) += 1;
        self.first_error.get_or_insert(what);
    }
}

/// Serve a generator job (the child side): connect, say `connected`, wait for `go`, run, say
/// `result JSON`.
pub(crate) fn serve_generator(job: WebLoadJob) -> Result<(), String> {
    let rt = crate::strategy::tasks::runtime_with_io().map_err(|e| format!("runtime: {e}"))?;
    let addr: SocketAddr = job
        .addr
        .parse()
        .map_err(|e| format!("bad address {}: {e}", job.addr))?;
    let mut lines = crate::child::Lines::new();
    let local = tokio::task::LocalSet::new();
    let t0 = Instant::now();
    let (streams, connect_errors, first_connect_error) =
        local.block_on(&rt, connect_all(addr, job.connections));
    let connect_s = t0.elapsed().as_secs_f64();
    lines.say(&format!("connected {connect_s:.6}"))?;
    match lines.next_line()? {
        Some(l) if l == "go" => {}
        Some(l) => return Err(format!("expected 'go', got '{l}'")),
        None => return Ok(()),
    }
    let mut report = local.block_on(&rt, run(streams, &job));
    report.connect_s = connect_s;
    report.errors.connect += connect_errors;
    if report.first_error.is_none() {
        report.first_error = first_connect_error;
    }
    let json = serde_json::to_string(&report).map_err(|e| e.to_string())?;
    lines.say(&format!("result {json}"))
}

/// Open `n` connections, at most [`CONNECTS_IN_FLIGHT`] at once; the ones that fail are counted.
async fn connect_all(
    addr: SocketAddr,
    n: usize,
) -> (Vec<tokio::net::TcpStream>, u64, Option<String>) {
    let out = Rc::new(RefCell::new((Vec::with_capacity(n), 0u64, None::<String>)));
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(CONNECTS_IN_FLIGHT));
    let mut handles = Vec::with_capacity(n);
    for _ in 0..n {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        let out = out.clone();
        handles.push(tokio::task::spawn_local(async move {
            let r = tokio::time::timeout(
                Duration::from_secs(30),
                tokio::net::TcpStream::connect(addr),
            )
            .await;
            let mut o = out.borrow_mut();
            match r {
                Ok(Ok(s)) => {
                    let _ = s.set_nodelay(true);
                    o.0.push(s);
                }
                Ok(Err(e)) => {
                    o.1 += 1;
                    o.2.get_or_insert(format!("connecting to {addr}: {e}"));
                }
                Err(_) => {
                    o.1 += 1;
                    o.2.get_or_insert(format!("connecting to {addr}: no answer in 30 s"));
                }
            }
            drop(permit);
        }));
    }
    for h in handles {
        let _ = h.await;
    }
    Rc::try_unwrap(out)
        .map(RefCell::into_inner)
        .unwrap_or_default()
}

/// Run the job's requests over `streams`.
async fn run(streams: Vec<tokio::net::TcpStream>, job: &WebLoadJob) -> GeneratorReport {
    let shared = Rc::new(RefCell::new(Shared {
        remaining: job.requests,
        latency: histogram(),
        waits: histogram(),
        errors: WebErrors::default(),
        first_error: None,
        cpus: Default::default(),
        requests: 0,
        first_send_ns: u64::MAX,
        last_recv_ns: 0,
    }));
    let body_len = job.config.response_bytes;
    let body_sum = checksum(&job.config.body());
    let request = format!("GET / HTTP/1.1\r\nHost: {}\r\n\r\n", job.addr).into_bytes();
    let request: Rc<[u8]> = request.into();
    let conns = streams.len().max(1);
    let start = tokio::time::Instant::now() + Duration::from_millis(1);
    let start_ns = monotonic_ns() + 1_000_000;
    // Busy polling: one task that is always ready keeps the runtime from sleeping in epoll_wait
    // (it polls the sockets between its turns instead), so a response is read as soon as it
    // lands rather than after the generator's idle CPU has woken up.
    let running = Rc::new(std::cell::Cell::new(true));
    if job.busy_poll {
        let running = running.clone();
        tokio::task::spawn_local(async move {
            while running.get() {
                tokio::task::yield_now().await;
            }
        });
    }
    let mut handles = Vec::with_capacity(streams.len());
    for (k, stream) in streams.into_iter().enumerate() {
        let shared = shared.clone();
        let request = request.clone();
        let schedule = job.rate.map(|rate| (start, k, conns, rate));
        handles.push(tokio::task::spawn_local(async move {
            connection(
                stream, &shared, &request, body_len, body_sum, schedule, start_ns,
            )
            .await
        }));
    }
    for h in handles {
        let _ = h.await;
    }
    running.set(false);
    let s = shared.borrow();
    GeneratorReport {
        requests: s.requests,
        start_ns: if job.rate.is_some() {
            start_ns
        } else {
            s.first_send_ns
        },
        end_ns: s.last_recv_ns,
        connect_s: 0.0,
        errors: s.errors,
        first_error: s.first_error.clone(),
        latency_ns: buckets(&s.latency),
        wait_ns: buckets(&s.waits),
        server_cpus: s.cpus.iter().copied().collect(),
    }
}

/// One keep-alive connection: take requests until none remain; in the open loop, send each at
/// its intended time and measure from it.
async fn connection(
    mut stream: tokio::net::TcpStream,
    shared: &RefCell<Shared>,
    request: &[u8],
    body_len: usize,
    body_sum: u64,
    schedule: Option<(tokio::time::Instant, usize, usize, f64)>,
    start_ns: u64,
) {
    let mut buf: Vec<u8> = Vec::with_capacity(body_len + 256);
    let mut chunk = vec![0u8; (body_len + 256).clamp(4096, 1 << 20)];
    let mut j = 0u64;
    loop {
        {
            let mut s = shared.borrow_mut();
            if s.remaining == 0 {
                return;
            }
            s.remaining -= 1;
        }
        let intended_ns = match schedule {
            Some((start, k, conns, rate)) => {
                let offset_s = (k as f64 + j as f64 * conns as f64) / rate;
                let offset = Duration::from_secs_f64(offset_s);
                tokio::time::sleep_until(start + offset).await;
                Some(start_ns + offset.as_nanos() as u64)
            }
            None => None,
        };
        j += 1;
        let sent_ns = monotonic_ns();
        {
            let mut s = shared.borrow_mut();
            s.first_send_ns = s.first_send_ns.min(sent_ns);
        }
        if let Err(e) = stream.write_all(request).await {
            shared
                .borrow_mut()
                .error(|e| &mut e.reset, format!("sending a request: {e}"));
            return;
        }
        let checked = loop {
            match check_response(&buf, body_len, body_sum) {
                Ok(Some(c)) => break c,
                Ok(None) => {}
                Err(e) => {
                    let mut s = shared.borrow_mut();
                    let kind: fn(&mut WebErrors) -> &mut u64 = match e {
                        ResponseError::Status(_) => |e| &mut e.status,
                        _ => |e| &mut e.body,
                    };
                    s.error(kind, format!("response: {e}"));
                    return;
                }
            }
            match stream.read(&mut chunk).await {
                Ok(0) => {
                    shared.borrow_mut().error(
                        |e| &mut e.reset,
                        "the server closed a connection before its response was whole".into(),
                    );
                    return;
                }
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) => {
                    shared
                        .borrow_mut()
                        .error(|e| &mut e.reset, format!("reading a response: {e}"));
                    return;
                }
            }
        };
        buf.drain(..checked.len);
        let now = monotonic_ns();
        let mut s = shared.borrow_mut();
        let from = intended_ns.unwrap_or(sent_ns);
        let _ = s.latency.record(now.saturating_sub(from).max(1));
        if checked.wait_ns > 0 {
            let _ = s.waits.record(checked.wait_ns);
        }
        if checked.cpu != u32::MAX {
            s.cpus.insert(checked.cpu as usize);
        }
        s.requests += 1;
        s.last_recv_ns = s.last_recv_ns.max(now);
    }
}

/// Merge the reports of the generator processes of one repetition into its [`LoadResult`]:
/// requests and errors add up, the histograms merge, and the elapsed time runs from the
/// earliest first send to the latest last response.
pub fn merge(reports: &[GeneratorReport]) -> LoadResult {
    let mut latency = histogram();
    let mut waits = histogram();
    let mut errors = WebErrors::default();
    let mut cpus = std::collections::BTreeSet::new();
    for r in reports {
        for &(v, n) in &r.latency_ns {
            let _ = latency.record_n(v.max(1), n);
        }
        for &(v, n) in &r.wait_ns {
            let _ = waits.record_n(v.max(1), n);
        }
        errors.connect += r.errors.connect;
        errors.reset += r.errors.reset;
        errors.timeout += r.errors.timeout;
        errors.status += r.errors.status;
        errors.body += r.errors.body;
        cpus.extend(r.server_cpus.iter().copied());
    }
    let start = reports.iter().map(|r| r.start_ns).min().unwrap_or(0);
    let end = reports.iter().map(|r| r.end_ns).max().unwrap_or(0);
    let q = |h: &Histogram<u64>, q: f64| {
        if h.is_empty() {
            0.0
        } else {
            h.value_at_quantile(q) as f64 / 1e9
        }
    };
    LoadResult {
        requests: reports.iter().map(|r| r.requests).sum(),
        elapsed_s: end.saturating_sub(start) as f64 / 1e9,
        connect_s: reports.iter().map(|r| r.connect_s).fold(0.0, f64::max),
        latency: Latency {
            p50_s: q(&latency, 0.5),
            p90_s: q(&latency, 0.9),
            p99_s: q(&latency, 0.99),
            p999_s: q(&latency, 0.999),
            max_s: if latency.is_empty() {
                0.0
            } else {
                latency.max() as f64 / 1e9
            },
        },
        errors,
        first_error: reports.iter().find_map(|r| r.first_error.clone()),
        wait_achieved_s: q(&waits, 0.5),
        server_cpus: cpus.into_iter().collect(),
        generator_cpu_s: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_merge_into_one_result() {
        let mut a = histogram();
        a.record_n(1_000_000, 3).unwrap();
        let mut b = histogram();
        b.record_n(3_000_000, 1).unwrap();
        let r = |start, end, h: &Histogram<u64>, reqs| GeneratorReport {
            requests: reqs,
            start_ns: start,
            end_ns: end,
            latency_ns: buckets(h),
            wait_ns: buckets(h),
            server_cpus: vec![reqs as usize],
            ..Default::default()
        };
        let m = merge(&[r(10, 1_000_000_010, &a, 3), r(5, 500_000_000, &b, 1)]);
        assert_eq!(m.requests, 4);
        assert!((m.elapsed_s - 1.000000005).abs() < 1e-9);
        assert!((m.latency.p50_s - 1e-3).abs() < 1e-5, "{:?}", m.latency);
        assert!((m.latency.max_s - 3e-3).abs() < 1e-5);
        assert_eq!(m.server_cpus, vec![1, 3]);
        assert_eq!(m.errors.total(), 0);
    }
}
