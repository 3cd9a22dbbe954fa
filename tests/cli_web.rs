//! `concbench server` and `concbench run --workload web` as a client sees them: every server
//! architecture answers right (status, length, checksum, keep-alive, pipelining, HEAD), refuses
//! bad clients with the status and the one-line body it documents, closes silent and half-sent
//! connections after the idle timeout, survives resets and floods of connections and is still
//! answering afterwards, and leaks neither descriptors nor threads doing so. Bad command lines are
//! exit 2 with one line.
//!
//! Nothing here checks a time or a speed (machines are shared and noisy): every socket operation
//! has a timeout, so a broken server fails a test instead of hanging it, and every wait polls with
//! a deadline. Only 127.0.0.1 is used; every server started is killed (and waited for) when its
//! test ends, however it ends.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long any one socket operation may take before the server counts as broken.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// The body pattern the server cycles to `--response-bytes`.
const PATTERN: &[u8] = b"hello, concurrency\n";

/// The idle timeout the bad-client servers run with.
const IDLE_MS: u64 = 300;

/// The request limit the bad-client servers run with.
const MAX_REQUEST: usize = 1024;

fn concbench() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_concbench"));
    c.env_remove("CONCBENCH_EXE");
    c
}

/// FNV-1a 64, computed here independently of the crate: what `X-Checksum` must say.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn expected_body(len: usize) -> Vec<u8> {
    PATTERN.iter().copied().cycle().take(len).collect()
}

// ---------------------------------------------------------------------------------------------
// The server under test.

/// A running `concbench server`; dropping it kills the server (and, on Linux, makes sure its
/// worker processes are gone too) and waits for it.
struct ServerProc {
    child: Child,
    addr: SocketAddr,
    response_bytes: usize,
    stderr: Arc<Mutex<String>>,
}

impl ServerProc {
    fn start(strategy: &str, cores: usize, response_bytes: usize, extra: &[&str]) -> ServerProc {
        let mut child = concbench()
            .args(["server", "--strategy", strategy, "--port", "0"])
            .args(["--cores", &cores.to_string()])
            .args(["--response-bytes", &response_bytes.to_string()])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting concbench server");
        let stderr = Arc::new(Mutex::new(String::new()));
        {
            let mut pipe = child.stderr.take().unwrap();
            let stderr = stderr.clone();
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = pipe.read_to_string(&mut text);
                stderr.lock().unwrap().push_str(&text);
            });
        }
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let stdout = child.stdout.take().unwrap();
            std::thread::spawn(move || {
                let mut lines = BufReader::new(stdout);
                let mut line = String::new();
                let _ = lines.read_line(&mut line);
                let _ = tx.send(line);
                // Keep draining so the server never blocks on its stdout.
                let mut rest = Vec::new();
                let _ = lines.read_to_end(&mut rest);
            });
        }
        let mut server = ServerProc {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            response_bytes,
            stderr,
        };
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        let addr = line
            .trim_end()
            .strip_prefix("listening on http://")
            .and_then(|a| a.parse::<SocketAddr>().ok());
        match addr {
            Some(a) => server.addr = a,
            None => {
                let _ = server.child.kill();
                let _ = server.child.wait();
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "{strategy}: first stdout line '{}' is not 'listening on http://ADDR'; stderr: {}",
                    line.trim_end(),
                    server.stderr.lock().unwrap()
                );
            }
        }
        assert!(server.addr.ip().is_loopback(), "{}", server.addr);
        server
    }

    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fail if the server process has exited.
    fn assert_alive(&mut self, what: &str) {
        if let Some(status) = self.child.try_wait().unwrap() {
            std::thread::sleep(Duration::from_millis(100));
            panic!(
                "the server exited ({status}) after {what}; stderr: {}",
                self.stderr.lock().unwrap()
            );
        }
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        let family = proc_fs::family(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Pre-forked workers end when their parent goes away (their stdin closes); make sure.
        #[cfg(target_os = "linux")]
        for pid in family.into_iter().filter(|&p| p != self.child.id()) {
            let deadline = Instant::now() + Duration::from_secs(5);
            while proc_fs::alive(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if proc_fs::alive(pid) {
                // SAFETY: a plain kill(2) of a worker process this test started.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                if !std::thread::panicking() {
                    panic!("worker process {pid} outlived its server by 5 s");
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A client.

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT)
        .unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    s
}

/// A response read off a connection.
#[derive(Debug)]
struct Response {
    status_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn new(addr: SocketAddr) -> Client {
        Client {
            stream: connect(addr),
            buf: Vec::new(),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .unwrap_or_else(|e| panic!("sending {} bytes: {e}", bytes.len()));
    }

    /// Read more bytes into the buffer; false at EOF. A timeout or an error fails the test.
    fn fill(&mut self, what: &str) -> bool {
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return false,
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return true;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => panic!(
                    "waiting for {what}: {e} ({:?}) after {} bytes: {:?}",
                    e.kind(),
                    self.buf.len(),
                    String::from_utf8_lossy(&self.buf[..self.buf.len().min(200)])
                ),
            }
        }
    }

    /// The next response (with no body when it answers a HEAD).
    fn response(&mut self, head_request: bool) -> Response {
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            assert!(
                self.fill("a response head"),
                "the server closed before a whole response head: {:?}",
                String::from_utf8_lossy(&self.buf)
            );
        };
        let head = String::from_utf8(self.buf[..head_end].to_vec()).expect("head is UTF-8");
        let mut lines = head.trim_end().split("\r\n");
        let status_line = lines.next().unwrap().to_string();
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap_or_else(|| panic!("header '{l}'"));
                (n.trim().to_string(), v.trim().to_string())
            })
            .collect();
        let mut response = Response {
            status_line,
            headers,
            body: Vec::new(),
        };
        let len: usize = response
            .header("Content-Length")
            .expect("every response has Content-Length")
            .parse()
            .expect("Content-Length is a number");
        self.buf.drain(..head_end);
        if !head_request {
            while self.buf.len() < len {
                assert!(
                    self.fill("a response body"),
                    "the server closed after {} of {len} body bytes",
                    self.buf.len()
                );
            }
            response.body = self.buf.drain(..len).collect();
        }
        response
    }

    /// Everything left until the server closes the connection.
    fn rest_until_eof(&mut self, what: &str) -> Vec<u8> {
        while self.fill(what) {}
        std::mem::take(&mut self.buf)
    }
}

/// `GET /` with `extra` header lines.
fn get(extra: &str) -> Vec<u8> {
    format!("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n").into_bytes()
}

/// Check a 200 answering a GET (or a HEAD: no body) of a server returning `bytes` bytes.
fn check_ok(r: &Response, bytes: usize, head_request: bool, keep_alive: bool) {
    assert_eq!(r.status_line, "HTTP/1.1 200 OK", "{r:?}");
    assert_eq!(r.header("Content-Length"), Some(bytes.to_string().as_str()));
    let want = expected_body(bytes);
    let sum = r.header("X-Checksum").expect("X-Checksum");
    assert_eq!(sum.len(), 16, "X-Checksum '{sum}' is 16 hex digits");
    assert_eq!(sum, format!("{:016x}", fnv1a(&want)), "X-Checksum");
    if head_request {
        assert!(r.body.is_empty());
    } else {
        assert_eq!(r.body.len(), want.len());
        assert!(r.body == want, "the body is not the pattern cycled");
        assert_eq!(sum, format!("{:016x}", fnv1a(&r.body)));
    }
    r.header("X-Wait-Ns")
        .expect("X-Wait-Ns")
        .parse::<u64>()
        .expect("X-Wait-Ns is a whole number");
    r.header("X-Cpu")
        .expect("X-Cpu")
        .parse::<u32>()
        .expect("X-Cpu is a whole number");
    let close = r
        .header("Connection")
        .is_some_and(|v| v.eq_ignore_ascii_case("close"));
    assert_eq!(close, !keep_alive, "Connection header of {r:?}");
}

/// A good request on a new connection is answered right, and the connection then closed.
fn good_request(server: &mut ServerProc, after: &str) {
    server.assert_alive(after);
    let mut c = Client::new(server.addr);
    c.send(&get("Connection: close\r\n"));
    let r = c.response(false);
    check_ok(&r, server.response_bytes, false, false);
    let rest = c.rest_until_eof("the close after Connection: close");
    assert!(rest.is_empty(), "bytes after the response: {rest:?}");
}

/// `request` on a new connection is refused with `status`: the status line, `Connection: close`,
/// a one-line body as long as Content-Length says, then the server closes.
fn refused(addr: SocketAddr, request: &[u8], status: u16) {
    let mut c = Client::new(addr);
    c.send(request);
    let r = c.response(false);
    assert!(
        r.status_line.starts_with(&format!("HTTP/1.1 {status} ")),
        "wanted {status}, got {r:?}"
    );
    assert!(
        r.header("Connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close")),
        "{status} without Connection: close: {r:?}"
    );
    let body = String::from_utf8(r.body.clone()).expect("the reason is text");
    assert!(
        body.ends_with('\n') && body.trim_end().lines().count() == 1 && body.len() > 1,
        "{status}: the body is not one line: {body:?}"
    );
    let rest = c.rest_until_eof(&format!("the close after {status}"));
    assert!(
        rest.is_empty(),
        "{status}: bytes after the refusal: {rest:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Bad clients.

fn malformed(addr: SocketAddr) {
    refused(addr, b"GARBAGE \x00\xff nonsense\r\n\r\n", 400);
    refused(addr, b"GET / HTTP/1.1\r\nContent-Length: lots\r\n\r\n", 400);
}

fn too_large(addr: SocketAddr) {
    let big = "a".repeat(2 * MAX_REQUEST);
    // A whole head larger than the limit, a head still unfinished at the limit, a body
    // announced larger than the limit (not sent: the server must not wait for it).
    refused(addr, &get(&format!("X-Big: {big}\r\n")), 413);
    refused(
        addr,
        format!("GET / HTTP/1.1\r\nX-Big: {big}").as_bytes(),
        413,
    );
    refused(
        addr,
        format!(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            4 * MAX_REQUEST
        )
        .as_bytes(),
        413,
    );
}

fn too_many_headers(addr: SocketAddr) {
    let fields: String = (0..40).map(|i| format!("X-F{i}: {i}\r\n")).collect();
    assert!(fields.len() < MAX_REQUEST / 2);
    refused(addr, &get(&fields), 431);
}

fn chunked(addr: SocketAddr) {
    refused(
        addr,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        501,
    );
}

/// A silent client is closed (EOF, no response) after the idle timeout; a client that sent half
/// a request line gets 408.
fn idle_clients(addr: SocketAddr) {
    let mut silent = Client::new(addr);
    let rest = silent.rest_until_eof("the server to close a silent connection");
    assert!(rest.is_empty(), "a silent client was sent {rest:?}");

    let mut c = Client::new(addr);
    c.send(b"GET / HTT");
    let r = c.response(false);
    assert!(r.status_line.starts_with("HTTP/1.1 408 "), "{r:?}");
    assert!(r
        .header("Connection")
        .is_some_and(|v| v.eq_ignore_ascii_case("close")));
    let rest = c.rest_until_eof("the close after 408");
    assert!(rest.is_empty(), "{rest:?}");
}

/// Keep-alive, pipelining and HEAD.
fn keep_alive_pipelining_head(addr: SocketAddr, bytes: usize) {
    // Two requests, one after the other, on one connection.
    let mut c = Client::new(addr);
    c.send(&get(""));
    check_ok(&c.response(false), bytes, false, true);
    c.send(&get(""));
    check_ok(&c.response(false), bytes, false, true);
    drop(c);

    // Three pipelined in one write: answered in order (the HEAD's answer has no body, the last
    // says close), then the server closes.
    let mut c = Client::new(addr);
    let mut batch = get("");
    batch.extend_from_slice(b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    batch.extend_from_slice(&get("Connection: close\r\n"));
    c.send(&batch);
    check_ok(&c.response(false), bytes, false, true);
    check_ok(&c.response(true), bytes, true, true);
    check_ok(&c.response(false), bytes, false, false);
    let rest = c.rest_until_eof("the close after a pipelined Connection: close");
    assert!(rest.is_empty(), "{rest:?}");

    // A request with a body (Content-Length), pipelined with the next: the body is skipped,
    // not read as the next request.
    let mut c = Client::new(addr);
    let mut batch =
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello".to_vec();
    batch.extend_from_slice(&get("Connection: close\r\n"));
    c.send(&batch);
    check_ok(&c.response(false), bytes, false, true);
    check_ok(&c.response(false), bytes, false, false);
    let rest = c.rest_until_eof("the close after a POST and a GET");
    assert!(rest.is_empty(), "{rest:?}");

    // HEAD alone: Content-Length of the body, and no body before the close.
    let mut c = Client::new(addr);
    c.send(b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    check_ok(&c.response(true), bytes, true, false);
    let rest = c.rest_until_eof("the close after HEAD");
    assert!(rest.is_empty(), "HEAD was answered with a body: {rest:?}");
}

/// Connections the flood opens at once: 2,000, fewer where the open-files limit cannot be raised
/// to hold them.
fn flood_size() -> usize {
    const WANT: usize = 2000;
    #[cfg(unix)]
    {
        static RAISED: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        *RAISED.get_or_init(|| {
            let mut r = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit/setrlimit on a valid struct.
            unsafe {
                if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
                    return 200;
                }
                let want = (WANT as libc::rlim_t + 512).min(r.rlim_max);
                if r.rlim_cur < want {
                    r.rlim_cur = want;
                    libc::setrlimit(libc::RLIMIT_NOFILE, &r);
                    libc::getrlimit(libc::RLIMIT_NOFILE, &mut r);
                }
            }
            // Tests run in parallel threads of this process: leave room for the others.
            (r.rlim_cur as usize).saturating_sub(512).clamp(50, WANT)
        })
    }
    #[cfg(not(unix))]
    {
        WANT
    }
}

/// Open a flood of connections at once (non-blocking connects, so a full backlog cannot hang
/// the test), some with half a request sent, then drop them all: a third with a reset.
fn flood(addr: SocketAddr) {
    use socket2::{Domain, Socket, Type};
    let n = flood_size();
    let mut sockets = Vec::with_capacity(n);
    for i in 0..n {
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).expect("a socket for the flood");
        s.set_nonblocking(true).unwrap();
        if let Err(e) = s.connect(&addr.into()) {
            #[cfg(unix)]
            let in_progress = e.raw_os_error() == Some(libc::EINPROGRESS);
            #[cfg(not(unix))]
            let in_progress = false;
            assert!(
                in_progress || e.kind() == ErrorKind::WouldBlock,
                "connect {i} of the flood: {e}"
            );
        }
        if i % 3 == 0 {
            s.set_linger(Some(Duration::ZERO)).unwrap();
        }
        sockets.push(s);
    }
    // Give the handshakes a moment; some clients then send half a request.
    std::thread::sleep(Duration::from_millis(50));
    for (i, s) in sockets.iter().enumerate() {
        if i % 3 == 1 {
            let _ = s.send(b"GET / HTTP/1.1\r\nHo");
        }
    }
    drop(sockets);
}

/// A client that resets the connection (SO_LINGER 0) once it has read `some` bytes of the
/// response: in the middle of a large one.
fn reset_mid_response(addr: SocketAddr, some: usize) {
    let mut c = Client::new(addr);
    c.send(&get(""));
    while c.buf.len() < some {
        assert!(
            c.fill("the start of a response"),
            "the server closed after {} bytes of the response",
            c.buf.len()
        );
    }
    socket2::SockRef::from(&c.stream)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(c);
}

// ---------------------------------------------------------------------------------------------
// Descriptors and threads (Linux: /proc).

#[cfg(target_os = "linux")]
mod proc_fs {
    use std::time::{Duration, Instant};

    fn count(dir: String) -> usize {
        std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
    }

    pub fn alive(pid: u32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => !stat
                .rsplit(')')
                .next()
                .is_some_and(|s| s.trim_start().starts_with('Z')),
            Err(_) => false,
        }
    }

    /// `pid` and its child processes (the pre-forked workers), where /proc lists them.
    pub fn family(pid: u32) -> Vec<u32> {
        let mut pids = vec![pid];
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
            for t in tasks.flatten() {
                let children =
                    std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
                pids.extend(
                    children
                        .split_whitespace()
                        .filter_map(|p| p.parse::<u32>().ok()),
                );
            }
        }
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// Open descriptors and threads of `pids`, together.
    pub fn usage(pids: &[u32]) -> (usize, usize) {
        pids.iter().fold((0, 0), |(f, t), p| {
            (
                f + count(format!("/proc/{p}/fd")),
                t + count(format!("/proc/{p}/task")),
            )
        })
    }

    /// [`usage`] once two samples 100 ms apart agree (at most 3 s): a pre-forked worker starts
    /// its stop-watcher thread just after it says it listens.
    pub fn steady_usage(pids: &[u32]) -> (usize, usize) {
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut last = usage(pids);
        loop {
            std::thread::sleep(Duration::from_millis(100));
            let now = usage(pids);
            if now == last || Instant::now() > deadline {
                return now;
            }
            last = now;
        }
    }

    /// Poll (at most 5 s) until the descriptors are within `fd_slack` of `base` and the threads
    /// no more than `base`'s; then check that they are.
    pub fn settles(what: &str, pids: &[u32], base: (usize, usize), fd_slack: usize) {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut now = usage(pids);
        while (now.0 > base.0 + fd_slack || now.1 > base.1) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            now = usage(pids);
        }
        assert!(
            now.0 <= base.0 + fd_slack,
            "{what}: {} open descriptors after the bad clients, {} before (at most +{fd_slack})",
            now.0,
            base.0
        );
        assert!(
            now.1 <= base.1,
            "{what}: {} threads after the bad clients, {} before",
            now.1,
            base.1
        );
    }
}

/// The fixed slack on open descriptors after the bad clients (a connection or two still
/// closing).
#[cfg(target_os = "linux")]
const FD_SLACK: usize = 8;

// ---------------------------------------------------------------------------------------------
// The tests.

/// Every bad client, each followed by a good request on a new connection, then keep-alive,
/// pipelining and HEAD; descriptors and threads back to their baseline at the end.
fn bad_clients(strategy: &str, cores: usize, flood_too: bool) {
    let bytes = 100;
    let idle = IDLE_MS.to_string();
    let max = MAX_REQUEST.to_string();
    let mut server = ServerProc::start(
        strategy,
        cores,
        bytes,
        &[
            "--wait-ms",
            "1",
            "--idle-timeout-ms",
            &idle,
            "--max-request-bytes",
            &max,
        ],
    );
    let addr = server.addr;
    good_request(&mut server, "starting");
    #[cfg(target_os = "linux")]
    let (family, base) = {
        let family = proc_fs::family(server.pid());
        if strategy == "multi-process" {
            assert_eq!(
                family.len(),
                1 + cores,
                "the server and its workers: {family:?}"
            );
        }
        let base = proc_fs::steady_usage(&family);
        (family, base)
    };

    malformed(addr);
    good_request(&mut server, "malformed requests");
    too_large(addr);
    good_request(&mut server, "requests over --max-request-bytes");
    too_many_headers(addr);
    good_request(&mut server, "40 header fields");
    chunked(addr);
    good_request(&mut server, "a chunked request");
    idle_clients(addr);
    good_request(&mut server, "idle clients");
    for _ in 0..3 {
        reset_mid_response(addr, 10);
    }
    good_request(&mut server, "resets");
    if flood_too {
        flood(addr);
        good_request(&mut server, "a flood of connections");
    }
    keep_alive_pipelining_head(addr, bytes);
    good_request(&mut server, "keep-alive, pipelining and HEAD");

    #[cfg(target_os = "linux")]
    {
        assert_eq!(
            proc_fs::family(server.pid()),
            family,
            "{strategy}: worker processes came or went"
        );
        proc_fs::settles(strategy, &family, base, FD_SLACK);
    }
    server.assert_alive("the bad clients");
    drop(server);
}

#[test]
fn bad_clients_single_thread_async() {
    bad_clients("single-thread-async", 4, true);
}

#[test]
fn bad_clients_multi_threaded() {
    bad_clients("multi-threaded", 4, true);
}

#[test]
fn bad_clients_single_core_threaded() {
    bad_clients("single-core-threaded", 3, true);
}

#[test]
fn bad_clients_sequential() {
    bad_clients("sequential", 1, true);
}

#[test]
fn bad_clients_multi_process() {
    bad_clients("multi-process", 2, true);
}

/// A client that resets in the middle of a 4 MB response, three times; then a good request is
/// answered with the whole body.
#[test]
fn a_reset_mid_response_leaves_the_server_answering() {
    for (strategy, cores) in [
        ("single-thread-async", 2),
        ("multi-threaded", 2),
        ("multi-process", 2),
    ] {
        let mut server = ServerProc::start(strategy, cores, 4_000_000, &["--wait-ms", "0"]);
        good_request(&mut server, "starting");
        for _ in 0..3 {
            reset_mid_response(server.addr, 1000);
        }
        good_request(&mut server, "resets mid-response");
    }
}

/// A slowloris that never stops sending: the request head one byte every 100 ms, never
/// finished. The idle timeout is "no whole request within" it, so the client must get 408 and a
/// close, long before it would reach --max-request-bytes (at most 60 bytes are sent, 6 s).
fn dribbling_slowloris_gets_408(strategy: &str) {
    let idle = IDLE_MS.to_string();
    let max = MAX_REQUEST.to_string();
    let server = ServerProc::start(
        strategy,
        2,
        100,
        &[
            "--wait-ms",
            "0",
            "--idle-timeout-ms",
            &idle,
            "--max-request-bytes",
            &max,
        ],
    );
    let mut c = Client::new(server.addr);
    c.stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    c.send(b"GET / HTTP/1.1\r\nX-Slow: ");
    let mut chunk = [0u8; 4096];
    // Whether the server answered (or closed, its 408 then in the receive queue) while the
    // client was still sending.
    let mut timed_out = false;
    for _ in 0..60 {
        match c.stream.read(&mut chunk) {
            Ok(0) => panic!("{strategy}: closed without a 408"),
            Ok(n) => {
                c.buf.extend_from_slice(&chunk[..n]);
                timed_out = true;
                break;
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("{strategy}: {e} before any response"),
        }
        if c.stream.write_all(b"a").is_err() {
            timed_out = true;
            break;
        }
    }
    assert!(
        timed_out,
        "{strategy}: a client sending one byte every 100 ms was never timed out (--idle-timeout-ms {IDLE_MS})"
    );
    c.stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let r = c.response(false);
    assert!(
        r.status_line.starts_with("HTTP/1.1 408 "),
        "{strategy}: {r:?}"
    );
    drop(server);
}

#[test]
fn a_dribbling_slowloris_gets_408_from_the_blocking_servers() {
    for strategy in ["sequential", "multi-threaded", "multi-process"] {
        dribbling_slowloris_gets_408(strategy);
    }
}

#[test]
fn a_dribbling_slowloris_gets_408_from_the_event_loop() {
    dribbling_slowloris_gets_408("single-thread-async");
}

/// A client that asks for large responses and never reads them must not hold the server's only
/// worker for ever: a good request on another connection is answered.
fn a_client_that_never_reads(strategy: &str) {
    let idle = IDLE_MS.to_string();
    let mut server = ServerProc::start(
        strategy,
        1,
        16 << 20,
        &["--wait-ms", "0", "--idle-timeout-ms", &idle],
    );
    let stuck = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    // A small receive buffer, so the responses cannot all sit in socket buffers.
    stuck.set_recv_buffer_size(4096).unwrap();
    stuck
        .connect_timeout(&server.addr.into(), IO_TIMEOUT)
        .unwrap();
    let stuck: TcpStream = stuck.into();
    stuck.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    let mut batch = get("");
    batch.extend_from_slice(&get(""));
    batch.extend_from_slice(&get(""));
    (&stuck).write_all(&batch).unwrap();
    // Let the server fill the buffers and block writing to it (no fixed expectation of when).
    std::thread::sleep(Duration::from_millis(2 * IDLE_MS));
    good_request(&mut server, "a client that never reads");
    drop(stuck);
}

#[test]
fn a_client_that_never_reads_does_not_hold_the_server() {
    for strategy in ["sequential", "single-thread-async"] {
        a_client_that_never_reads(strategy);
    }
}

/// Run `cmd` (bounded), expect exit 2, one stderr line containing every needle, nothing on
/// stdout.
fn rejects(cmd: &mut Command, needles: &[&str]) {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{what}: stderr {stderr}");
    assert!(
        out.stdout.is_empty(),
        "{what} printed on stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "{what}: not one line: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{what}: '{needle}' not in {stderr}"
        );
    }
}

#[test]
fn server_refuses_non_loopback_addresses_and_unknown_strategies() {
    rejects(
        concbench().args(["server", "--port", "0", "--bind", "10.0.0.1"]),
        &["10.0.0.1", "loopback"],
    );
    rejects(
        concbench().args(["server", "--port", "0", "--bind", "0.0.0.0"]),
        &["loopback"],
    );
    rejects(
        concbench().args(["server", "--port", "0", "--strategy", "fastest"]),
        &["fastest"],
    );
    rejects(
        concbench().args(["server", "--port", "0", "--strategy", "distributed"]),
        &["distributed", "socket"],
    );
    rejects(
        concbench().args(["run", "--workload", "web", "--strategy", "distributed"]),
        &["web has no distributed server"],
    );
    rejects(
        concbench().args(["server", "--port", "0", "--idle-timeout-ms", "0"]),
        &["--idle-timeout-ms"],
    );
    rejects(
        concbench().args(["server", "--port", "0", "--max-request-bytes", "10"]),
        &["--max-request-bytes"],
    );
}

fn run_json(args: &[&str]) -> serde_json::Value {
    let out = concbench()
        .args([
            "run",
            "--workload",
            "web",
            "--warmup",
            "0",
            "--format",
            "json",
        ])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON document")
}

fn f64_of(row: &serde_json::Value, path: &[&str]) -> f64 {
    let mut v = row;
    for p in path {
        v = &v[*p];
    }
    v.as_f64()
        .unwrap_or_else(|| panic!("{path:?} is not a number in {row}"))
}

/// The fields every web row has, and what they must say whatever the machine's speed.
fn check_web_row(row: &serde_json::Value, connections: u64) {
    let name = format!("{} x{}", row["strategy"], row["cores"]);
    assert_eq!(row["workload"], "web", "{name}");
    assert_eq!(row["verified"], true, "{name}");
    assert_eq!(row["errors"].as_u64(), Some(0), "{name}");
    assert_eq!(row["connections"].as_u64(), Some(connections), "{name}");
    assert!(f64_of(row, &["requests_per_s"]) > 0.0, "{name}");
    let p50 = f64_of(row, &["latency", "p50_s"]);
    let p90 = f64_of(row, &["latency", "p90_s"]);
    let p99 = f64_of(row, &["latency", "p99_s"]);
    let p999 = f64_of(row, &["latency", "p999_s"]);
    let max = f64_of(row, &["latency", "max_s"]);
    assert!(
        0.0 < p50 && p50 <= p90 && p90 <= p99 && p99 <= p999 && p999 <= max,
        "{name}: latency percentiles out of order: {}",
        row["latency"]
    );
}

#[test]
fn a_web_run_verifies_every_architecture() {
    let doc = run_json(&[
        "--size",
        "200",
        "--connections",
        "8",
        "--wait-ms",
        "1",
        "--cores",
        "1,2",
        "--strategy",
        "sequential,single-core-threaded,single-thread-async,multi-process",
        "--reps",
        "2",
    ]);
    let rows = doc["rows"].as_array().expect("rows");
    // The sequential row once, every other strategy at 1 and 2.
    assert_eq!(rows.len(), 1 + 3 * 2, "{rows:?}");
    for strategy in [
        "sequential",
        "single-core-threaded",
        "single-thread-async",
        "multi-process",
    ] {
        assert!(
            rows.iter().any(|r| r["strategy"] == strategy),
            "no {strategy} row"
        );
    }
    for row in rows {
        check_web_row(row, 8);
        let wait = f64_of(row, &["wait_achieved_s"]);
        assert!(
            wait >= 0.001,
            "{} x{}: wait_achieved_s {wait} is under the 1 ms asked for",
            row["strategy"],
            row["cores"]
        );
    }
}

#[test]
fn an_open_loop_web_run_is_verified_with_latency() {
    let doc = run_json(&[
        "--rate",
        "2000",
        "--size",
        "200",
        "--connections",
        "4",
        "--wait-ms",
        "0",
        "--cores",
        "1",
        "--strategy",
        "single-thread-async,multi-threaded",
        "--reps",
        "1",
    ]);
    let rows = doc["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 2, "{rows:?}");
    for row in rows {
        check_web_row(row, 4);
        assert_eq!(row["rate"].as_f64(), Some(2000.0), "{row}");
    }
}

#[test]
fn bad_web_runs_are_exit_2_with_one_line() {
    let base = ["run", "--workload", "web", "--size", "10", "--wait-ms", "0"];
    let tail = ["--reps", "1", "--warmup", "0", "--format", "json"];
    let run = |extra: &[&str]| {
        let mut c = concbench();
        c.args(base).args(extra).args(tail);
        c
    };
    rejects(&mut run(&["--strategy", "distributed"]), &["distributed"]);
    rejects(
        &mut run(&["--connections", "2.5"]),
        &["--connections", "2.5"],
    );
    let dir = tempfile::tempdir().unwrap();
    let timeline = dir.path().join("timeline");
    rejects(
        &mut run(&["--timeline", timeline.to_str().unwrap()]),
        &["--timeline"],
    );
}

/// A hard open-files limit too low for the connections asked for: exit 2 before any work, one
/// line naming the limit and `ulimit`, nothing on stdout.
#[cfg(target_os = "linux")]
#[test]
fn a_too_low_open_files_limit_is_one_line_naming_it() {
    if !std::path::Path::new("/bin/sh").exists() {
        eprintln!("skipped: no /bin/sh");
        return;
    }
    let mut cmd = Command::new("/bin/sh");
    cmd.env_remove("CONCBENCH_EXE").args([
        "-c",
        "ulimit -n 256 || exit 97; exec \"$0\" \"$@\"",
        env!("CARGO_BIN_EXE_concbench"),
        "run",
        "--workload",
        "web",
        "--connections",
        "1000",
        "--size",
        "10",
        "--wait-ms",
        "0",
        "--cores",
        "1",
        "--strategy",
        "single-thread-async",
        "--reps",
        "1",
        "--warmup",
        "0",
        "--format",
        "json",
    ]);
    rejects(&mut cmd, &["256", "ulimit", "1000 connections"]);
}
