//! What Linux and macOS share: `fork` and `waitpid`, the same POSIX calls on both.

use std::io;

/// Fork, have the child `_exit(0)` at once, and reap it: the cost of creating (and ending) a
/// process without loading a program. The child runs no Rust code, so forking a process that
/// has threads is safe here.
pub fn fork_exit_and_reap() -> io::Result<()> {
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
pub fn fork_with(body: &mut dyn FnMut() -> i32) -> io::Result<u32> {
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
pub fn wait_child(pid: u32) -> io::Result<i32> {
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
