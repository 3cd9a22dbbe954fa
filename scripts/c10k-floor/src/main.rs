//! The smallest event-loop HTTP server with concbench's floor: tokio current_thread pinned to
//! CPU 0, a task per connection, each request waits WAIT_MS on tokio's timer and gets a 19-byte
//! body. No parser beyond finding the blank line, no headers beyond Content-Length.
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args[1].parse().unwrap();
    let wait = Duration::from_millis(args[2].parse().unwrap());
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        let r = libc::rlimit { rlim_cur: 20000, rlim_max: 20000 };
        libc::setrlimit(libc::RLIMIT_NOFILE, &r);
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let l = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        loop {
            let (mut s, _) = l.accept().await.unwrap();
            tokio::task::spawn_local(async move {
                let _ = s.set_nodelay(true);
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..end + 4);
                        if !wait.is_zero() {
                            tokio::time::sleep(wait).await;
                        }
                        if s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\nhello, concurrency\n").await.is_err() {
                            return;
                        }
                    }
                    match s.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
}
