//! What Linux and macOS share: the POSIX calls that are the same on both (fork and waitpid,
//! poll, setrlimit, the monotonic and thread CPU clocks, munmap, descriptor reads, writes and
//! closes, the terminal's width, the host name, online CPUs, announcing a termination).

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

/// Fork, have the child `_exit(0)` at once, and reap it: the cost of creating (and ending) a
/// process without loading a program. The child runs no Rust code, so forking a process that
/// has threads is safe here.
pub(crate) fn fork_exit_and_reap() -> io::Result<()> {
    // SAFETY: the child only calls the async-signal-safe _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: ends the child at once, running no destructors or atexit handlers.
        unsafe { libc::_exit(0) };
    }
    wait_child(pid as u32).map(|_| ())
}

/// Fork a child that runs `body` and then `_exit`s with its return value. `body` must not
/// allocate, lock or print (the child of a process with threads may only make system calls):
/// raw pipe reads and writes on descriptors opened before the fork, pinning and plain memory
/// writes are fine. Returns the child's pid for [`wait_child`].
pub(crate) fn fork_with(body: &mut dyn FnMut() -> i32) -> io::Result<u32> {
    // SAFETY: see the contract above; the child never returns into Rust code of the parent.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        let code = body();
        // SAFETY: ends the child without unwinding into the parent's state.
        unsafe { libc::_exit(code) };
    }
    Ok(pid as u32)
}

/// Wait for child `pid` to end: its exit status (128 + signal when a signal ended it).
pub(crate) fn wait_child(pid: u32) -> io::Result<i32> {
    let mut status = 0;
    loop {
        // SAFETY: status is a valid out-pointer.
        let r = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
        if r >= 0 {
            break;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok(if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    })
}

/// Wait until `fd` has data to read (or its other end is closed), at most `timeout` (`None`:
/// no limit). `Ok(false)` when the time ran out.
pub(crate) fn wait_readable(fd: RawFd, timeout: Option<std::time::Duration>) -> io::Result<bool> {
    let ms = match timeout {
        None => -1,
        Some(t) => t.as_millis().clamp(0, i32::MAX as u128) as libc::c_int,
    };
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: one live pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n >= 0 {
            return Ok(n > 0);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// No core dumps from this process (`RLIMIT_CORE` = 0), for children that crash on purpose.
pub(crate) fn disable_core_dumps() -> io::Result<()> {
    let no_core = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit with a valid struct.
    if unsafe { libc::setrlimit(libc::RLIMIT_CORE, &no_core) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Nanoseconds on `CLOCK_MONOTONIC` (through the vDSO on Linux; shared by all processes of the
/// machine).
#[inline]
pub(crate) fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid clock id and out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Block in the kernel for `d` (`std::thread::sleep`, i.e. `nanosleep` with the thread's default
/// 50 µs timer slack); returns the wait actually achieved.
pub(crate) fn sleep_for(d: Duration) -> Duration {
    let start = monotonic_ns();
    std::thread::sleep(d);
    Duration::from_nanos(monotonic_ns().saturating_sub(start))
}

/// One of the cheapest system calls there is, for timing a kernel entry and exit: `getppid`
/// (glibc and macOS enter the kernel for it each time; nothing is cached in user space).
pub(crate) fn cheap_syscall() -> u64 {
    // SAFETY: getppid has no preconditions.
    unsafe { libc::getppid() as u64 }
}

/// The name of [`cheap_syscall`], for the reports that time it.
pub(crate) const CHEAP_SYSCALL: &str = "getppid";

/// CPU time used by the calling thread (`CLOCK_THREAD_CPUTIME_ID`).
pub(crate) fn thread_cpu_time() -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid clock id and out-pointer.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return None;
    }
    Some(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// Unmap `len` bytes at `addr` (`munmap`).
///
/// # Safety
/// The range must be (part of) a mapping the caller owns and nobody uses any more.
pub(crate) unsafe fn unmap(addr: *mut u8, len: usize) {
    libc::munmap(addr.cast(), len);
}

/// This machine's host name (`gethostname`): what names a rank's host in distributed rows.
pub(crate) fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown-host".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// CPUs online in this machine, whatever this process's affinity mask (`sysconf`): what tells a
/// rank that its launcher bound it to fewer.
pub(crate) fn online_cpus() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    if n > 0 {
        n as usize
    } else {
        num_cpus::get()
    }
}

static TERM_MESSAGE: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

extern "C" fn write_message_and_exit(_signal: libc::c_int) {
    if let Some(m) = TERM_MESSAGE.get() {
        // SAFETY: write(2) and _exit(2) are async-signal-safe; the message is 'static.
        unsafe {
            libc::write(2, m.as_ptr().cast(), m.len());
        }
    }
    // SAFETY: as above.
    unsafe { libc::_exit(128 + libc::SIGTERM) }
}

/// When SIGTERM arrives (a launcher stopping the job), write `message` on stderr and exit with
/// status 143 at once: the one line a process killed from outside can still leave.
pub(crate) fn announce_termination(message: &'static str) {
    let _ = TERM_MESSAGE.set(message);
    // SAFETY: the handler only calls async-signal-safe functions.
    unsafe {
        libc::signal(
            libc::SIGTERM,
            write_message_and_exit as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
}

/// Close a descriptor the caller owns and closes once.
pub(crate) fn close_fd(fd: RawFd) {
    // SAFETY: closing a descriptor touches no memory; the caller owns it.
    unsafe { libc::close(fd) };
}

/// One `read(2)` into `buf`: bytes read (0 at end of file). An interrupted call is an
/// `Interrupted` error the caller retries.
pub(crate) fn read_fd(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: the destination is buf, valid for buf.len() bytes.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// One `write(2)` of `buf`: bytes written. A closed reading end is a `BrokenPipe` error, an
/// interrupted call an `Interrupted` one.
pub(crate) fn write_fd(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: the source is buf, valid for buf.len() bytes.
    let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// Columns of the terminal on stdout (`TIOCGWINSZ`); `None` when stdout is not a terminal.
pub(crate) fn terminal_columns() -> Option<usize> {
    // SAFETY: winsize is plain data the ioctl fills; fd 1 may be anything, errors are checked.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) } == 0;
    (ok && ws.ws_col > 0).then_some(ws.ws_col as usize)
}

/// A TCP listener on `addr` with room for `backlog` connections not yet accepted (the kernel
/// caps it at `net.core.somaxconn`), `SO_REUSEADDR` set so a restarted server can bind at once.
pub(crate) fn tcp_listener(
    addr: std::net::SocketAddr,
    backlog: i32,
) -> io::Result<std::net::TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    Ok(socket.into())
}

/// The open-files limit of this process, soft and hard (`RLIMIT_NOFILE`).
pub(crate) fn open_files_limit() -> Option<(u64, u64)> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } == 0)
        .then_some((r.rlim_cur, r.rlim_max))
}

/// Raise the soft open-files limit to the hard one; returns the new soft limit. Children
/// started afterwards inherit it.
pub(crate) fn raise_open_files_limit() -> io::Result<u64> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit; setrlimit reads one.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if r.rlim_cur < r.rlim_max {
        r.rlim_cur = r.rlim_max;
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(r.rlim_cur)
}

/// Whether child processes started from now on inherit `fd` (clears or sets `FD_CLOEXEC`).
pub(crate) fn set_inheritable(fd: RawFd, inheritable: bool) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor the caller owns; F_GETFD/F_SETFD only touch its flags.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFD);
        if flags < 0 {
            return Err(io::Error::last_os_error());
        }
        let flags = if inheritable {
            flags & !libc::FD_CLOEXEC
        } else {
            flags | libc::FD_CLOEXEC
        };
        if libc::fcntl(fd, libc::F_SETFD, flags) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The listening socket a parent passed down as descriptor `fd` (see [`set_inheritable`]): a
/// descriptor that is not a listening TCP socket is an error, never adopted.
pub(crate) fn inherited_tcp_listener(fd: RawFd) -> io::Result<std::net::TcpListener> {
    use std::os::fd::FromRawFd;
    let mut listening: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes one int into `listening`; a bad descriptor is an error.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ACCEPTCONN,
            (&mut listening as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    if listening == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("descriptor {fd} is not a listening socket"),
        ));
    }
    // SAFETY: the descriptor is an open listening socket handed to this process to own.
    let listener = unsafe { std::net::TcpListener::from_raw_fd(fd) };
    set_inheritable(fd, false)?;
    Ok(listener)
}

/// The descriptor of a listening socket, as it travels to a child (see [`set_inheritable`]).
pub(crate) fn listener_desc(listener: &std::net::TcpListener) -> RawFd {
    std::os::fd::AsRawFd::as_raw_fd(listener)
}

/// What a path that is neither a regular file nor a directory is, in words (`a named pipe
/// (FIFO)`, `a socket`, `a character device`, `a block device`); `None` for a regular file, a
/// directory or a symbolic link. Read from metadata, so nothing is opened: opening a FIFO for
/// reading blocks until a writer comes.
pub(crate) fn special_file_kind(meta: &std::fs::Metadata) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_fifo() {
        Some("a named pipe (FIFO)")
    } else if t.is_socket() {
        Some("a socket")
    } else if t.is_char_device() {
        Some("a character device")
    } else if t.is_block_device() {
        Some("a block device")
    } else {
        None
    }
}

/// Open `path` for reading with `O_NONBLOCK`, so that a path swapped for a FIFO after it was
/// checked cannot block the open (reads of a regular file ignore the flag).
pub(crate) fn open_for_reading_nonblocking(path: &std::path::Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

/// Which file `meta` describes, as (device, inode): two paths with the same identity are one
/// file (a symbolic link and its target, two hard links).
pub(crate) fn file_identity(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}
