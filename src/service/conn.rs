//! One connection, served: the code path every server architecture shares.
//!
//! [`Handler`] holds what a request needs (the body and its checksum, the wait, the calibrated
//! CPU work and, with `--cpu-parallel`, the rayon pool that splits it). A connection is served by
//! [`serve_blocking`] (a thread that sleeps in the kernel at the wait: the iterative server,
//! threads and processes) or [`serve_async`] (a task that awaits tokio's timer: the event loop).
//! Both read into a buffer, take every whole request from its front ([`parse_request`]: requests
//! a client pipelines are answered in order), answer it, and close on `Connection: close`, on a
//! refused request (400, 413, 431, 501, each with one line saying why), on a client that sent no
//! whole request within the idle timeout (408 if it had sent part of one: slowloris), on a reset,
//! and when the server stops.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::topology;
use crate::workload::web::{
    checksum, parse_request, write_refusal, write_response, CpuScratch, CpuWork, Parsed, Served,
    WebConfig,
};

/// How often a blocked read looks at the stop flag.
const STOP_POLL: Duration = Duration::from_millis(100);

/// Bytes read from a socket at a time. Small, and the request and response buffers grow only
/// as far as a connection needs: at 10,000 connections, memory per connection is what the
/// C10K rows compare.
pub(crate) const READ_CHUNK: usize = 4 * 1024;

/// What every connection of one server shares.
pub(crate) struct Handler {
    body: Vec<u8>,
    body_checksum: u64,
    wait: Duration,
    cpu: CpuWork,
    pool: Option<Arc<rayon::ThreadPool>>,
    max_request_bytes: usize,
    idle_timeout: Duration,
}

impl Handler {
    /// A handler for `config` whose CPU work was calibrated as `cpu`; `pool` splits each
    /// request's CPU work (`--cpu-parallel`).
    pub fn new(config: &WebConfig, cpu: CpuWork, pool: Option<Arc<rayon::ThreadPool>>) -> Handler {
        let body = config.body();
        Handler {
            body_checksum: checksum(&body),
            body,
            wait: config.wait,
            cpu,
            pool,
            max_request_bytes: config.max_request_bytes,
            idle_timeout: config.idle_timeout,
        }
    }

    /// The request's CPU work, on this thread or split over the pool. The scratch is made on
    /// first use: a server without CPU work keeps none per connection.
    fn burn(&self, scratch: &mut Option<CpuScratch>) {
        if self.cpu.units == 0 {
            return;
        }
        match &self.pool {
            None => {
                let scratch = scratch.get_or_insert_with(CpuScratch::default);
                std::hint::black_box(scratch.run(self.cpu.kernel, self.cpu.units));
            }
            Some(pool) => {
                let (kernel, units) = (self.cpu.kernel, self.cpu.units);
                let pieces = pool.current_num_threads().clamp(1, units);
                pool.install(|| {
                    use rayon::prelude::*;
                    (0..pieces).into_par_iter().for_each(|i| {
                        let share = units * (i + 1) / pieces - units * i / pieces;
                        CPU_SCRATCH.with(|s| {
                            std::hint::black_box(s.borrow_mut().run(kernel, share));
                        });
                    });
                });
            }
        }
    }

    /// What the front of `buf` asks for: a request to answer (after its wait), more bytes, or
    /// the end of the connection (a refusal is already written into `out`).
    fn front(&self, buf: &[u8], out: &mut Vec<u8>) -> Front {
        match parse_request(buf, self.max_request_bytes) {
            Parsed::Request {
                len,
                keep_alive,
                head,
            } => Front::Request {
                len,
                keep_alive,
                head,
            },
            Parsed::Partial => Front::More,
            Parsed::Refused(status, why) => {
                write_refusal(out, status, why);
                Front::Close
            }
        }
    }

    /// Answer a request whose wait is over (it took `waited`): its CPU work, then the response.
    fn answer(
        &self,
        out: &mut Vec<u8>,
        scratch: &mut Option<CpuScratch>,
        waited: Duration,
        keep_alive: bool,
        head: bool,
    ) {
        self.burn(scratch);
        let served = Served {
            wait_ns: waited.as_nanos() as u64,
            cpu: topology::current_cpu() as u32,
        };
        write_response(
            out,
            &self.body,
            self.body_checksum,
            served,
            keep_alive,
            head,
        );
    }
}

/// See [`Handler::front`].
enum Front {
    Request {
        len: usize,
        keep_alive: bool,
        head: bool,
    },
    More,
    Close,
}

thread_local! {
    /// The CPU work's scratch of each rayon worker (`--cpu-parallel`).
    static CPU_SCRATCH: std::cell::RefCell<CpuScratch> = std::cell::RefCell::new(CpuScratch::default());
}

/// Serve one connection on this thread until it closes, misbehaves, idles past the timeout or
/// `stop` is set. Waits sleep in the kernel.
pub(crate) fn serve_blocking(
    mut stream: TcpStream,
    handler: &Handler,
    stop: &AtomicBool,
    scratch: &mut Option<CpuScratch>,
) {
    let _ = stream.set_nodelay(true);
    // A client that stops reading its responses is given the idle timeout to take them.
    if stream.set_read_timeout(Some(STOP_POLL)).is_err()
        || stream
            .set_write_timeout(Some(handler.idle_timeout))
            .is_err()
    {
        return;
    }
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut chunk = [0u8; READ_CHUNK];
    let mut idle_since = Instant::now();
    loop {
        let open = loop {
            match handler.front(&buf, &mut out) {
                Front::Request {
                    len,
                    keep_alive,
                    head,
                } => {
                    let waited = if handler.wait.is_zero() {
                        Duration::ZERO
                    } else {
                        crate::sys::sleep_for(handler.wait)
                    };
                    handler.answer(&mut out, scratch, waited, keep_alive, head);
                    buf.drain(..len);
                    if !keep_alive {
                        break false;
                    }
                }
                Front::More => break true,
                Front::Close => break false,
            }
        };
        if !out.is_empty() {
            if stream.write_all(&out).is_err() {
                return;
            }
            out.clear();
            idle_since = Instant::now();
        }
        if !open || stop.load(Ordering::Relaxed) {
            return;
        }
        match stream.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if idle_since.elapsed() >= handler.idle_timeout {
                    if !buf.is_empty() {
                        write_refusal(&mut out, 408, "no whole request within the idle timeout");
                        let _ = stream.write_all(&out);
                    }
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// Serve one connection as a task until it closes, misbehaves or idles past the timeout. Waits
/// await tokio's timer; the server stops it by dropping it.
pub(crate) async fn serve_async(stream: tokio::net::TcpStream, handler: Arc<Handler>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = stream;
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut chunk = [0u8; READ_CHUNK];
    let mut scratch = None::<CpuScratch>;
    // One idle timer per connection, re-armed only when it fires early (a response went out
    // since it was set): a timer per read would cost a timer-wheel insert and removal per
    // request. Reads do not re-arm it: a client dribbling a request byte by byte is still idle.
    let mut last_activity = tokio::time::Instant::now();
    let idle = tokio::time::sleep_until(last_activity + handler.idle_timeout);
    tokio::pin!(idle);
    loop {
        let open = loop {
            match handler.front(&buf, &mut out) {
                Front::Request {
                    len,
                    keep_alive,
                    head,
                } => {
                    let waited = if handler.wait.is_zero() {
                        Duration::ZERO
                    } else {
                        let t = Instant::now();
                        tokio::time::sleep(handler.wait).await;
                        t.elapsed()
                    };
                    handler.answer(&mut out, &mut scratch, waited, keep_alive, head);
                    buf.drain(..len);
                    if !keep_alive {
                        break false;
                    }
                }
                Front::More => break true,
                Front::Close => break false,
            }
        };
        if !out.is_empty() {
            // Most responses fit the socket's buffer at once, with no timer; a client that does
            // not read gets the idle timeout to take the rest, not the connection forever.
            let sent = match stream.try_write(&out) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
                Err(_) => return,
            };
            if sent < out.len() {
                let rest =
                    tokio::time::timeout(handler.idle_timeout, stream.write_all(&out[sent..]));
                if !matches!(rest.await, Ok(Ok(()))) {
                    return;
                }
            }
            out.clear();
            last_activity = tokio::time::Instant::now();
        }
        if !open {
            let _ = stream.shutdown().await;
            return;
        }
        tokio::select! {
            read = stream.read(&mut chunk) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            },
            _ = &mut idle => {
                let due = last_activity + handler.idle_timeout;
                if due > tokio::time::Instant::now() {
                    idle.as_mut().reset(due);
                    continue;
                }
                if !buf.is_empty() {
                    write_refusal(&mut out, 408, "no whole request within the idle timeout");
                    let _ = stream.write_all(&out).await;
                }
                return;
            }
        }
    }
}
