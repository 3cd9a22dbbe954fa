//! `web`: an HTTP/1.1 server on the loopback interface under load — the course's example of a
//! service, where work arrives as requests rather than as the parts of one job.
//!
//! This file holds what every server architecture shares, so that the rows of a `web` run compare
//! architectures and nothing else: the parameters ([`WebConfig`]), the request parser (built on
//! `httparse`, the parser hyper uses) with its limits, the handler's CPU work ([`CpuWork`]: the
//! merge sort or matmul kernel of the other workloads, never a spin), the response (a body whose
//! checksum the load generator verifies) and the client's check of a response
//! ([`check_response`]). How connections are multiplexed (one at a time, a thread each, a process
//! each, a task each) lives in `crate::service`, which also runs the load generator; the figures
//! one repetition produced are a [`WebRun`].
//!
//! A web run is fixed work: `--size` requests in total, so a row's wall time is the time the load
//! generator needed for all of them, and speedup = sequential time / row time = the ratio of
//! requests per second. The sequential row is the iterative server (one connection at a time).
//!
//! The handler tells the client, in response headers, what it measured for this request: the wait
//! it actually got (`X-Wait-Ns`: a thread's sleep overshoots by tens of µs, tokio's timer rounds
//! up to its 1 ms tick) and the CPU it ran on (`X-Cpu`). The generator collects them, so processes
//! need no side channel.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::registry::{ParamDescriptor, ParamKind};
use super::{matmul_kernel, sort_kernel, Ceiling, WorkloadDescriptor, WorkloadError, WorkloadSpec};
use crate::rng::XorShift;

/// The body pattern: a 19-byte greeting, repeated to `--response-bytes` (19 gives exactly it).
pub(crate) const BODY_PATTERN: &[u8] = b"hello, concurrency\n";

/// Largest request (request line, headers and body) the server reads; more is a 413.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 16 * 1024;

/// Most header fields in a request; more is a 431.
pub(crate) const MAX_HEADERS: usize = 32;

/// `web` in the registry.
pub(crate) const DESCRIPTOR: WorkloadDescriptor = WorkloadDescriptor {
    name: "web",
    description: "an HTTP/1.1 server on loopback serving --size requests from --connections keep-alive clients; each request waits --wait-ms, burns --cpu-us and returns --response-bytes",
    size_unit: "requests",
    params: &[
        super::registry::wait_ms("1", "milliseconds each request waits before its answer, the \"database\" (default 1)"),
        ParamDescriptor {
            name: "cpu_us",
            flag: "cpu-us",
            kind: ParamKind::Number {
                min: "0",
                max: "1000000",
            },
            default: "0",
            help: "CPU work per request in µs of --cpu-kernel, calibrated on the server's core (default 0)",
        },
        ParamDescriptor {
            name: "cpu_kernel",
            flag: "cpu-kernel",
            kind: ParamKind::Choice(&["sort", "matmul"]),
            default: "sort",
            help: "the CPU work of a request: merge sorts of 256 keys or 24x24 matrix products (default sort)",
        },
        ParamDescriptor {
            name: "cpu_parallel",
            flag: "cpu-parallel",
            kind: ParamKind::Switch,
            default: "false",
            help: "split each request's CPU work over the server's cores with rayon (concurrency and parallelism combined)",
        },
        ParamDescriptor {
            name: "response_bytes",
            flag: "response-bytes",
            kind: ParamKind::Number {
                min: "0",
                max: "16777216",
            },
            default: "19",
            help: "bytes of each response body (default 19: \"hello, concurrency\\n\")",
        },
        ParamDescriptor {
            name: "connections",
            flag: "connections",
            kind: ParamKind::Number {
                min: "1",
                max: "100000",
            },
            default: "64",
            help: "keep-alive client connections of the load generator (default 64)",
        },
        ParamDescriptor {
            name: "rate",
            flag: "rate",
            kind: ParamKind::Number {
                min: "0",
                max: "10000000",
            },
            default: "0",
            help: "open loop: requests per second sent at fixed intended times, latency from the intended time; 0 (default): closed loop",
        },
    ],
    default_size: 1000,
    // The load generator's latency histogram and the connections' buffers: small and fixed.
    memory_needed: |_| 64 << 20,
    ceiling: Ceiling::None,
    build: |spec| Err(WorkloadError::Service(spec.name.clone())),
    service: true,
};

/// What a `web` run was asked for, checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebConfig {
    /// Requests in one repetition (fixed work).
    pub(crate) requests: usize,
    /// What each request waits.
    pub wait: Duration,
    /// CPU work per request, µs of `cpu_kernel`.
    pub(crate) cpu_us: f64,
    /// `sort` or `matmul`.
    pub cpu_kernel: CpuKernel,
    /// Split each request's CPU work over the server's cores.
    pub(crate) cpu_parallel: bool,
    /// Body bytes of every response.
    pub response_bytes: usize,
    /// Keep-alive connections of the load generator.
    pub connections: usize,
    /// Open loop at this many requests per second; `None`: closed loop.
    pub(crate) rate: Option<f64>,
    /// Largest request the server reads.
    pub max_request_bytes: usize,
    /// A connection that has not sent a whole request for this long is closed (slowloris).
    pub idle_timeout: Duration,
    /// CPU work per request fixed in advance, for rows that must do the same work (the lab
    /// calibrates once for the rows it compares); `None`: each server calibrates `cpu_us` on its
    /// first core when it starts, which moves from start to start by the calibration's noise.
    #[serde(default)]
    pub(crate) cpu_work: Option<CpuWork>,
}

/// The CPU kernel of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CpuKernel {
    /// Merge sorts of 256 keys (the mergesort workload's kernel).
    Sort,
    /// 24x24 matrix products (the matmul workload's blocked kernel).
    Matmul,
}

impl CpuKernel {
    /// Its name in flags and reports.
    pub fn name(self) -> &'static str {
        match self {
            CpuKernel::Sort => "sort",
            CpuKernel::Matmul => "matmul",
        }
    }
}

/// Default idle timeout of a connection that sends nothing.
pub(crate) const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

impl WebConfig {
    /// Check a spec (`size` = requests) against the descriptor and read it.
    pub fn from_spec(spec: &WorkloadSpec) -> Result<WebConfig, WorkloadError> {
        DESCRIPTOR.check_params(spec)?;
        if spec.size == 0 {
            return Err(WorkloadError::BadSize(
                "--size (requests) must be at least 1".into(),
            ));
        }
        let wait_ms: f64 = spec.param("wait_ms", 1.0)?;
        let rate: f64 = spec.param("rate", 0.0)?;
        let connections: f64 = spec.param("connections", 64.0)?;
        let response_bytes: f64 = spec.param("response_bytes", 19.0)?;
        let whole = |v: f64, flag: &str| {
            if v.fract() == 0.0 {
                Ok(v as usize)
            } else {
                Err(WorkloadError::BadParam {
                    name: format!("--{flag} (a whole number)"),
                    value: crate::text::format_number(v),
                })
            }
        };
        Ok(WebConfig {
            requests: spec.size,
            wait: Duration::from_secs_f64(wait_ms / 1e3),
            cpu_us: spec.param("cpu_us", 0.0)?,
            cpu_kernel: match spec.params.get("cpu_kernel").map(String::as_str) {
                Some("matmul") => CpuKernel::Matmul,
                _ => CpuKernel::Sort,
            },
            cpu_parallel: spec.param("cpu_parallel", false)?,
            response_bytes: whole(response_bytes, "response-bytes")?,
            connections: whole(connections, "connections")?,
            rate: (rate > 0.0).then_some(rate),
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            cpu_work: None,
        })
    }

    /// The body every response carries.
    pub(crate) fn body(&self) -> Vec<u8> {
        BODY_PATTERN
            .iter()
            .copied()
            .cycle()
            .take(self.response_bytes)
            .collect()
    }

    /// Seconds the iterative server needs for the whole run at least (every wait one after the
    /// other): what a stuck-repetition deadline must allow.
    pub fn expected_sequential_s(&self) -> f64 {
        self.requests as f64 * (self.wait.as_secs_f64() + self.cpu_us / 1e6)
    }
}

/// FNV-1a, 64 bits: the body checksum in `X-Checksum` (and what the client recomputes).
pub(crate) fn checksum(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

// ---------------------------------------------------------------------------------------------
// Requests.

/// What the bytes at the front of a connection's buffer hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// A whole request of `len` bytes (head and body).
    Request {
        /// Bytes it takes from the buffer.
        len: usize,
        /// Whether the connection stays open after the response.
        keep_alive: bool,
        /// A HEAD request: the response has no body.
        head: bool,
    },
    /// Not yet a whole request: read more.
    Partial,
    /// A request the server refuses: answer with this status and reason, then close.
    Refused(u16, &'static str),
}

/// Parse the request at the front of `buf`, refusing one longer than `limit` bytes.
pub(crate) fn parse_request(buf: &[u8], limit: usize) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return if buf.len() >= limit {
                Parsed::Refused(413, "request larger than the server's limit")
            } else {
                Parsed::Partial
            };
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Parsed::Refused(431, "more header fields than the server reads")
        }
        Err(_) => return Parsed::Refused(400, "malformed request"),
    };
    let version = req.version.unwrap_or(1);
    let mut keep_alive = version >= 1;
    let mut body_len = None::<usize>;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("connection") {
            let v = h.value;
            if v.eq_ignore_ascii_case(b"close") {
                keep_alive = false;
            } else if v.eq_ignore_ascii_case(b"keep-alive") {
                keep_alive = true;
            }
        } else if h.name.eq_ignore_ascii_case("content-length") {
            match std::str::from_utf8(h.value)
                .ok()
                .and_then(|s| s.trim().parse::<usize>().ok())
            {
                // Two different lengths could frame the request two ways (request smuggling).
                Some(n) if body_len.is_some_and(|b| b != n) => {
                    return Parsed::Refused(400, "Content-Length given twice, differently")
                }
                Some(n) => body_len = Some(n),
                None => return Parsed::Refused(400, "malformed Content-Length"),
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Parsed::Refused(501, "request bodies in chunks are not read");
        }
    }
    let len = head_len.saturating_add(body_len.unwrap_or(0));
    if len > limit {
        return Parsed::Refused(413, "request larger than the server's limit");
    }
    if buf.len() < len {
        return Parsed::Partial;
    }
    Parsed::Request {
        len,
        keep_alive,
        head: req.method == Some("HEAD"),
    }
}

/// The reason phrase of a status the server sends.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        408 => "Request Timeout",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        _ => "Error",
    }
}

/// Append a refusal (status, a one-line body saying why, `Connection: close`) to `out`.
pub(crate) fn write_refusal(out: &mut Vec<u8>, status: u16, why: &str) {
    use std::io::Write;
    let _ = write!(
        out,
        "HTTP/1.1 {status} {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{why}\n",
        reason(status),
        why.len() + 1
    );
}

/// What the handler measured for one request, sent back in headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Served {
    /// The wait the request actually got, ns.
    pub(crate) wait_ns: u64,
    /// The CPU the handler ran on (`u32::MAX` where unknown).
    pub cpu: u32,
}

/// Append a 200 response with `body` (or none for HEAD) to `out`.
pub(crate) fn write_response(
    out: &mut Vec<u8>,
    body: &[u8],
    body_checksum: u64,
    served: Served,
    keep_alive: bool,
    head: bool,
) {
    use std::io::Write;
    let _ = write!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nX-Checksum: {body_checksum:016x}\r\nX-Wait-Ns: {}\r\nX-Cpu: {}\r\n{}\r\n",
        body.len(),
        served.wait_ns,
        served.cpu,
        if keep_alive { "" } else { "Connection: close\r\n" }
    );
    if !head {
        out.extend_from_slice(body);
    }
}

// ---------------------------------------------------------------------------------------------
// Responses, as the client checks them.

/// A response the client read and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Checked {
    /// Bytes it took from the buffer.
    pub len: usize,
    /// The server's achieved wait (`X-Wait-Ns`).
    pub(crate) wait_ns: u64,
    /// The CPU the handler ran on (`X-Cpu`).
    pub cpu: u32,
}

/// Why a response is not a right answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ResponseError {
    /// Not HTTP the client can read.
    #[error("malformed response")]
    Malformed,
    /// A status other than 200.
    #[error("status {0}")]
    Status(u16),
    /// The body's length or checksum is not what was asked for.
    #[error("wrong body: {0}")]
    Body(String),
}

/// Check the response at the front of `buf`: `Ok(None)` while it is incomplete; a 200 whose
/// `Content-Length` is the expected body's length and whose body has the expected checksum is
/// `Ok(Some(..))`.
pub(crate) fn check_response(
    buf: &[u8],
    expected_len: usize,
    expected_checksum: u64,
) -> Result<Option<Checked>, ResponseError> {
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut resp = httparse::Response::new(&mut headers);
    let head_len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(ResponseError::Malformed),
    };
    let status = resp.code.unwrap_or(0);
    let (mut content_len, mut wait_ns, mut cpu) = (None, 0u64, u32::MAX);
    let num = |v: &[u8]| std::str::from_utf8(v).ok().and_then(|s| s.trim().parse::<u64>().ok());
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            content_len = Some(num(h.value).ok_or(ResponseError::Malformed)? as usize);
        } else if h.name.eq_ignore_ascii_case("x-wait-ns") {
            wait_ns = num(h.value).unwrap_or(0);
        } else if h.name.eq_ignore_ascii_case("x-cpu") {
            cpu = num(h.value).map_or(u32::MAX, |c| c as u32);
        }
    }
    if status != 200 {
        return Err(ResponseError::Status(status));
    }
    let body_len = content_len.ok_or(ResponseError::Malformed)?;
    if body_len != expected_len {
        return Err(ResponseError::Body(format!(
            "Content-Length {body_len}, expected {expected_len}"
        )));
    }
    let len = head_len + body_len;
    if buf.len() < len {
        return Ok(None);
    }
    let got = checksum(&buf[head_len..len]);
    if got != expected_checksum {
        return Err(ResponseError::Body(format!(
            "checksum {got:016x}, expected {expected_checksum:016x}"
        )));
    }
    Ok(Some(Checked { len, wait_ns, cpu }))
}

// ---------------------------------------------------------------------------------------------
// The handler's CPU work.

/// Keys in one unit of the sort kernel.
const SORT_UNIT_KEYS: usize = 256;
/// Order of one unit of the matmul kernel.
const MATMUL_UNIT_N: usize = 24;

/// A request's CPU work: `units` runs of a small kernel, calibrated so that they take about
/// `--cpu-us` on the core that calibrated them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CpuWork {
    /// The kernel.
    pub(crate) kernel: CpuKernel,
    /// Kernel runs per request.
    pub units: usize,
    /// Seconds one unit took when calibrated.
    pub unit_s: f64,
}

/// Scratch space for the CPU work of one thread.
pub(crate) struct CpuScratch {
    keys: Vec<u64>,
    tmp: Vec<u64>,
    a: Vec<f64>,
    b: Vec<f64>,
    c: Vec<f64>,
    rng: XorShift,
}

impl Default for CpuScratch {
    fn default() -> Self {
        let nn = MATMUL_UNIT_N * MATMUL_UNIT_N;
        let mut rng = XorShift::new(0x5eed);
        let a = (0..nn).map(|_| (rng.next() % 17) as f64).collect();
        let b = (0..nn).map(|_| (rng.next() % 13) as f64).collect();
        CpuScratch {
            keys: vec![0; SORT_UNIT_KEYS],
            tmp: vec![0; SORT_UNIT_KEYS],
            a,
            b,
            c: vec![0.0; nn],
            rng,
        }
    }
}

impl CpuScratch {
    /// Run `units` units of `kernel`; returns a value derived from the results, so the work
    /// cannot be optimised away (and a wrong kernel would show in it).
    pub fn run(&mut self, kernel: CpuKernel, units: usize) -> u64 {
        let mut acc = 0u64;
        for _ in 0..units {
            match kernel {
                CpuKernel::Sort => {
                    for k in self.keys.iter_mut() {
                        *k = self.rng.next();
                    }
                    sort_kernel::merge_sort(&mut self.keys, &mut self.tmp);
                    acc = acc.wrapping_add(self.keys[SORT_UNIT_KEYS / 2]);
                }
                CpuKernel::Matmul => {
                    matmul_kernel::gemm_rows(
                        matmul_kernel::Kernel::Blocked,
                        MATMUL_UNIT_N,
                        &self.a,
                        &self.b,
                        0,
                        &mut self.c,
                    );
                    acc = acc.wrapping_add(self.c[MATMUL_UNIT_N + 1] as u64);
                }
            }
        }
        acc
    }
}

impl CpuWork {
    /// No CPU work.
    pub(crate) fn none(kernel: CpuKernel) -> CpuWork {
        CpuWork {
            kernel,
            units: 0,
            unit_s: 0.0,
        }
    }

    /// Time the kernel on the calling thread and choose the units for `cpu_us` per request.
    pub(crate) fn calibrate(kernel: CpuKernel, cpu_us: f64) -> CpuWork {
        if cpu_us <= 0.0 {
            return CpuWork::none(kernel);
        }
        let mut scratch = CpuScratch::default();
        scratch.run(kernel, 50);
        // The fastest of a few rounds: a round interrupted by another program is not the kernel.
        let rounds = 5;
        let per_round = 200;
        let mut best = f64::INFINITY;
        for _ in 0..rounds {
            let t = std::time::Instant::now();
            std::hint::black_box(scratch.run(kernel, per_round));
            best = best.min(t.elapsed().as_secs_f64() / per_round as f64);
        }
        CpuWork {
            kernel,
            units: ((cpu_us / 1e6) / best).round().max(1.0) as usize,
            unit_s: best,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What one repetition produced.

/// Latency quantiles of one repetition, seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Median.
    pub(crate) p50_s: f64,
    /// 90th percentile.
    pub(crate) p90_s: f64,
    /// 99th percentile.
    pub p99_s: f64,
    /// 99.9th percentile.
    pub(crate) p999_s: f64,
    /// The slowest request.
    pub(crate) max_s: f64,
}

/// Errors the load generator counted, by kind. A row with any is not a result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WebErrors {
    /// Connections refused or failed to open.
    pub(crate) connect: u64,
    /// Connections reset or closed before a response was whole.
    pub reset: u64,
    /// Responses that did not come within the generator's timeout.
    pub(crate) timeout: u64,
    /// Responses with a status other than 200.
    pub(crate) status: u64,
    /// Responses whose length or checksum was wrong, or that were not HTTP.
    pub(crate) body: u64,
}

impl WebErrors {
    /// All of them.
    pub(crate) fn total(&self) -> u64 {
        self.connect + self.reset + self.timeout + self.status + self.body
    }

    /// `3 reset, 1 timeout`, or `none`.
    pub(crate) fn describe(&self) -> String {
        let parts: Vec<String> = [
            (self.connect, "connect"),
            (self.reset, "reset"),
            (self.timeout, "timeout"),
            (self.status, "bad status"),
            (self.body, "wrong body"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        }
    }
}

/// What the load generator measured in one repetition of a `web` row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LoadResult {
    /// Requests answered and verified.
    pub(crate) requests: u64,
    /// Seconds from the first request sent to the last response read.
    pub(crate) elapsed_s: f64,
    /// Seconds opening every connection took (before the clock started).
    pub(crate) connect_s: f64,
    /// Latency quantiles (closed loop: from each send; open loop: from each intended send).
    pub(crate) latency: Latency,
    /// What went wrong.
    pub(crate) errors: WebErrors,
    /// The first error seen, in words.
    #[serde(default)]
    pub(crate) first_error: Option<String>,
    /// Median of the server's achieved waits (`X-Wait-Ns`), seconds.
    pub(crate) wait_achieved_s: f64,
    /// CPUs the handler ran on (`X-Cpu`), ascending.
    pub(crate) server_cpus: Vec<usize>,
    /// CPU seconds (user + system) the generator process(es) used, connecting included.
    #[serde(default)]
    pub(crate) generator_cpu_s: f64,
}

/// What one repetition of a `web` row adds to its execution: the generator's figures and the
/// server's memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct WebRun {
    /// The load generator's figures.
    pub(crate) load: LoadResult,
    /// Keep-alive connections the generator opened.
    pub(crate) connections: usize,
    /// Open loop: the requests per second asked for.
    pub(crate) rate: Option<f64>,
    /// The resident memory of the server's process(es) before the server started, bytes: this
    /// process's for the in-process architectures, 0 for pre-forked processes (their whole
    /// memory is the server's). Its workers (threads, stacks) are above it.
    pub(crate) rss_base_bytes: Option<u64>,
    /// Its highest resident memory seen while serving, bytes.
    pub(crate) rss_peak_bytes: Option<u64>,
    /// The machine's kernel stacks (`KernelStack` of /proc/meminfo) before the server started,
    /// bytes: every thread has one (16 KiB on x86-64 Linux), not counted in any resident memory.
    pub(crate) kernel_stack_base_bytes: Option<u64>,
    /// Their highest total while serving, bytes.
    pub(crate) kernel_stack_peak_bytes: Option<u64>,
    /// Seconds starting the server took (its workers spawned and listening), once per row.
    pub(crate) server_start_s: f64,
    /// Kernel runs per request of the CPU work, and the seconds one took when calibrated.
    pub(crate) cpu_units: usize,
    /// See `cpu_units`.
    pub(crate) cpu_unit_s: f64,
    /// CPUs the load generator was pinned to.
    pub(crate) generator_cpus: Vec<usize>,
    /// Whether the generator had to share CPUs with the server (no CPU was free of it).
    pub(crate) generator_shares_cpu: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> WorkloadSpec {
        WorkloadSpec::new("web", 100, 1)
    }

    #[test]
    fn config_reads_and_checks_parameters() {
        let c = WebConfig::from_spec(&spec().with("wait_ms", 10).with("connections", 7)).unwrap();
        assert_eq!((c.requests, c.connections), (100, 7));
        assert_eq!(c.wait, Duration::from_millis(10));
        assert_eq!(c.body(), BODY_PATTERN);
        let e = WebConfig::from_spec(&spec().with("connections", 2.5)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "bad value '2.5' for --connections (a whole number)"
        );
        let e = WebConfig::from_spec(&spec().with("cpu_kernel", "spin")).unwrap_err();
        assert!(e.to_string().contains("--cpu-kernel"), "{e}");
        assert!(WebConfig::from_spec(&WorkloadSpec::new("web", 0, 1)).is_err());
        assert!(WebConfig::from_spec(&spec().with("cpu_parallel", "true"))
            .unwrap()
            .cpu_parallel);
    }

    #[test]
    fn requests_are_parsed_with_their_limits() {
        let get = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(
            parse_request(get, 1024),
            Parsed::Request {
                len: get.len(),
                keep_alive: true,
                head: false
            }
        );
        assert_eq!(parse_request(&get[..10], 1024), Parsed::Partial);
        let close = b"GET / HTTP/1.0\r\n\r\n";
        assert!(matches!(
            parse_request(close, 1024),
            Parsed::Request {
                keep_alive: false,
                ..
            }
        ));
        let post = b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
        assert!(matches!(parse_request(post, 1024), Parsed::Request { len, .. } if len == post.len()));
        assert_eq!(parse_request(&post[..post.len() - 1], 1024), Parsed::Partial);
        assert!(matches!(
            parse_request(b"GARBAGE \x00\xff nonsense\r\n\r\n", 1024),
            Parsed::Refused(400, _)
        ));
        assert!(matches!(
            parse_request(
                b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 0\r\n\r\n",
                1024
            ),
            Parsed::Refused(400, _)
        ));
        assert!(matches!(
            parse_request(b"POST / HTTP/1.1\r\nContent-Length: 99999\r\n\r\n", 1024),
            Parsed::Refused(413, _)
        ));
        let long = vec![b'a'; 2000];
        assert!(matches!(parse_request(&long, 1024), Parsed::Refused(_, _)));
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..40 {
            many.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert!(matches!(parse_request(&many, 4096), Parsed::Refused(431, _)));
    }

    #[test]
    fn a_response_checks_and_a_changed_one_does_not() {
        let body = b"hello".to_vec();
        let sum = checksum(&body);
        let mut out = Vec::new();
        let served = Served {
            wait_ns: 1234,
            cpu: 1,
        };
        write_response(&mut out, &body, sum, served, true, false);
        let c = check_response(&out, 5, sum).unwrap().unwrap();
        assert_eq!((c.len, c.wait_ns, c.cpu), (out.len(), 1234, 1));
        assert_eq!(check_response(&out[..out.len() - 1], 5, sum), Ok(None));
        let mut bad = out.clone();
        *bad.last_mut().unwrap() = b'!';
        assert!(matches!(
            check_response(&bad, 5, sum),
            Err(ResponseError::Body(_))
        ));
        let mut refused = Vec::new();
        write_refusal(&mut refused, 400, "malformed request");
        assert!(refused.starts_with(b"HTTP/1.1 400 Bad Request\r\n"));
        assert_eq!(
            check_response(&refused, 5, sum),
            Err(ResponseError::Status(400))
        );
    }

    #[test]
    fn cpu_work_is_calibrated_to_the_asked_time() {
        let w = CpuWork::calibrate(CpuKernel::Sort, 100.0);
        assert!(w.units >= 1 && w.unit_s > 0.0);
        assert_eq!(CpuWork::calibrate(CpuKernel::Matmul, 0.0).units, 0);
        let mut s = CpuScratch::default();
        assert_ne!(s.run(CpuKernel::Matmul, 1), 0);
    }
}
