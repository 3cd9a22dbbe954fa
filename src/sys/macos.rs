//! The macOS implementation of [`crate::sys`]: POSIX calls, `sysctl`, `kqueue`.
//!
//! Compile-checked only (the development machines have no Apple SDK to link with), so it is kept
//! small and plain. What macOS cannot do, it says:
//!
//! - No thread can be pinned to a CPU (affinity tags are hints, Apple silicon ignores them) and
//!   there is no public call for the current CPU: [`can_pin_threads`] is `false`, the pinning
//!   functions return `Unsupported`, [`current_cpu`] is `None`, and [`platform_notes`] carries
//!   [`super::UNPINNED_NOTE`] into every output.
//! - Apple silicon mixes performance and efficiency cores: [`performance_efficiency_cores`]
//!   reads `hw.perflevel0.physicalcpu` and `hw.perflevel1.physicalcpu`.
//! - No futex: [`wait_while_equal`] and [`wake`] park on a condition variable chosen by the
//!   word's address. No `RUSAGE_THREAD` and no per-thread switch counts (`None`); process and
//!   children switch counts come from `getrusage`.
//! - Shared memory is `shm_open` (unlinked at once, inherited by the worker); a worker dies with
//!   its parent through a `kqueue` watch on the parent's exit (`EVFILT_PROC`, `NOTE_EXIT`).

use std::ffi::CString;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use super::{CpuTimes, RawDesc, ResourceUsage, UsageScope};

/// An owned descriptor, closed when dropped.
pub(crate) type OwnedDesc = OwnedFd;

/// The number of an open descriptor (see [`RawDesc`]).
pub(crate) fn desc_of<T: std::os::fd::AsRawFd>(x: &T) -> RawDesc {
    x.as_raw_fd()
}

/// The kernel's name, as the machine line prints it before the release.
pub(crate) const KERNEL_NAME: &str = "Darwin";

/// Whether threads can be pinned to one CPU: no, macOS has no such call.
pub(crate) fn can_pin_threads() -> bool {
    false
}

/// Whether [`ResourceUsage`] tells voluntary from involuntary switches: yes (`getrusage`).
// A platform fact the module docs cite; no output reads it yet.
#[allow(dead_code)]
pub(crate) const SWITCH_KINDS_SPLIT: bool = true;

/// Notes every output carries: placement is not enforced, and `single-core-threaded` is not run.
pub(crate) fn platform_notes() -> Vec<String> {
    vec![
        super::UNPINNED_NOTE.to_string(),
        "single-core-threaded not run: it needs threads pinned to one core (use a Linux VM)".into(),
    ]
}

fn sysctl_u64(name: &str) -> Option<u64> {
    let c = CString::new(name).ok()?;
    let mut v = 0u64;
    let mut len = std::mem::size_of::<u64>();
    // SAFETY: v has room for len bytes; a smaller integer fills its low bytes (little endian).
    let rc = unsafe {
        libc::sysctlbyname(
            c.as_ptr(),
            (&mut v as *mut u64).cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    (rc == 0 && len <= 8).then_some(v)
}

fn sysctl_string(name: &str) -> Option<String> {
    let c = CString::new(name).ok()?;
    let mut buf = vec![0u8; 256];
    let mut len = buf.len();
    // SAFETY: buf has room for len bytes.
    let rc = unsafe {
        libc::sysctlbyname(
            c.as_ptr(),
            buf.as_mut_ptr().cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc != 0 {
        return None;
    }
    buf.truncate(len);
    let s = String::from_utf8_lossy(&buf);
    let s = s.trim_matches(char::from(0)).trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// Performance and efficiency physical cores (`hw.perflevel0.physicalcpu`,
/// `hw.perflevel1.physicalcpu`); `None` on a Mac with one kind of core.
pub(crate) fn performance_efficiency_cores() -> Option<(usize, usize)> {
    if sysctl_u64("hw.nperflevels")? < 2 {
        return None;
    }
    Some((
        sysctl_u64("hw.perflevel0.physicalcpu")? as usize,
        sysctl_u64("hw.perflevel1.physicalcpu")? as usize,
    ))
}

// ---------------------------------------------------------------------------------------------
// CPUs and placement: nothing can be pinned.

fn unsupported() -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, "macOS cannot pin threads")
}

/// Every logical CPU (macOS has no affinity mask).
pub(crate) fn allowed_cpus() -> Option<Vec<usize>> {
    Some((0..num_cpus::get()).collect())
}

/// `Unsupported`: macOS cannot pin threads.
pub(crate) fn pin_thread_to_cpu(_cpu: usize) -> io::Result<()> {
    Err(unsupported())
}

/// `Unsupported`: macOS cannot pin threads.
pub(crate) fn set_thread_affinity(_cpus: &[usize]) -> io::Result<()> {
    Err(unsupported())
}

/// No affinity mask to read: `None`.
#[cfg(test)]
pub(crate) fn thread_affinity() -> Option<Vec<usize>> {
    None
}

/// No public call tells the current CPU: `None`.
pub(crate) fn current_cpu() -> Option<usize> {
    None
}

/// No topology directory: `None` (physical cores come from `num_cpus::get_physical`).
pub(crate) fn cpu_topology_dir() -> Option<&'static Path> {
    None
}

/// Not listed per core: `None`.
pub(crate) fn physical_core_cpus() -> Option<Vec<Vec<usize>>> {
    None
}

// ---------------------------------------------------------------------------------------------
// Threads, time and usage.

/// The calling thread's system-wide id (`pthread_threadid_np`), cut to 32 bits.
pub(crate) fn thread_id() -> u32 {
    let mut id = 0u64;
    // SAFETY: a null thread means the calling one; id is a valid out-pointer.
    unsafe { libc::pthread_threadid_np(0 as libc::pthread_t, &mut id) };
    id as u32
}

/// Switches and CPU time of the process or its waited-for children (`getrusage`); `None` for one
/// thread (macOS has no `RUSAGE_THREAD`).
pub(crate) fn resource_usage(scope: UsageScope) -> Option<ResourceUsage> {
    let who = match scope {
        UsageScope::Process => libc::RUSAGE_SELF,
        UsageScope::Children => libc::RUSAGE_CHILDREN,
        UsageScope::Thread => return None,
    };
    // SAFETY: zeroed rusage is valid; getrusage fills it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(who, &mut ru) } != 0 {
        return None;
    }
    let secs = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    Some(ResourceUsage {
        voluntary_switches: ru.ru_nvcsw as u64,
        involuntary_switches: ru.ru_nivcsw as u64,
        user_s: secs(ru.ru_utime),
        sys_s: secs(ru.ru_stime),
    })
}

/// Per-thread switch counts are not available on macOS: `None`.
pub(crate) fn task_switches(_pid: u32, _tid: u32) -> Option<u64> {
    None
}

/// Per-thread CPU time of another thread is not read on macOS: `None`.
pub(crate) fn task_run_ns(_pid: u32, _tid: u32) -> Option<u64> {
    None
}

// ---------------------------------------------------------------------------------------------
// Memory.

/// A new zero-filled shared-memory object of `len` bytes (`shm_open` under a unique name,
/// unlinked at once, `ftruncate`), not close-on-exec: worker processes inherit it.
pub(crate) fn shm_create(len: usize) -> io::Result<OwnedDesc> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    // macOS limits these names to 31 bytes.
    let name = format!(
        "/cb.{}.{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let c = CString::new(name).expect("no NUL in the name");
    // SAFETY: a valid C string; the mode is passed as the variadic argument.
    let raw = unsafe {
        libc::shm_open(
            c.as_ptr(),
            libc::O_CREAT | libc::O_EXCL | libc::O_RDWR,
            0o600 as libc::c_uint,
        )
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: raw is a fresh descriptor we own.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: plain calls on our own descriptor and name.
    unsafe {
        libc::shm_unlink(c.as_ptr());
        // shm_open sets close-on-exec: clear it so workers inherit the object.
        let flags = libc::fcntl(raw, libc::F_GETFD);
        if flags < 0 || libc::fcntl(raw, libc::F_SETFD, flags & !libc::FD_CLOEXEC) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::ftruncate(raw, len as libc::off_t) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(fd)
}

/// Touch one byte of every page of `addr..addr + len`.
///
/// # Safety
/// The range must be mapped readable.
unsafe fn touch_pages(addr: *mut u8, len: usize) {
    let mut off = 0;
    while off < len {
        std::ptr::read_volatile(addr.add(off));
        off += 4096;
    }
}

/// Map `len` bytes of `fd` read-write and shared; with `populate`, touch every page now (macOS
/// has no `MAP_POPULATE`).
pub(crate) fn map_shared(fd: RawFd, len: usize, populate: bool) -> io::Result<*mut u8> {
    // SAFETY: a new mapping chosen by the kernel; the result is checked.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    if populate {
        // SAFETY: the mapping is len bytes, readable.
        unsafe { touch_pages(ptr.cast(), len) };
    }
    Ok(ptr.cast())
}

/// Fault in `len` bytes at `addr` by touching every page (contents unchanged).
///
/// # Safety
/// `addr..addr + len` must lie inside a live shared mapping.
pub(crate) unsafe fn remap_populate(
    addr: *mut u8,
    len: usize,
    _fd: RawFd,
    _offset: usize,
) -> io::Result<()> {
    touch_pages(addr, len);
    Ok(())
}

/// A fresh private anonymous read-write mapping of `len` bytes, zero-filled and page-aligned.
pub(crate) fn map_anonymous(len: usize) -> io::Result<*mut u8> {
    // SAFETY: a fresh private anonymous mapping.
    let raw = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANON,
            -1,
            0,
        )
    };
    if raw == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(raw.cast())
}

/// No transparent huge pages on macOS: `false`.
///
/// # Safety
/// None needed; kept `unsafe` like the other platforms'.
pub(crate) unsafe fn advise_huge_pages(_addr: *mut u8, _len: usize) -> bool {
    false
}

/// No transparent huge pages on macOS: nothing to advise against (`false`).
///
/// # Safety
/// None needed; kept `unsafe` like the other platforms'.
pub(crate) unsafe fn advise_no_huge_pages(_addr: *mut u8, _len: usize) -> bool {
    false
}

/// No transparent huge pages on macOS: no setting (`None`).
pub(crate) fn transparent_huge_pages(_setting: &str) -> Option<String> {
    None
}

/// No transparent huge pages on macOS: not read (`None`).
pub(crate) fn anon_huge_pages_bytes(_pid: Option<u32>) -> Option<u64> {
    None
}

// ---------------------------------------------------------------------------------------------
// Waiting and waking: no public futex, so a condition variable per address bucket.

const BUCKETS: usize = 64;

#[allow(clippy::declare_interior_mutable_const)]
const BUCKET: (Mutex<()>, Condvar) = (Mutex::new(()), Condvar::new());
static PARK: [(Mutex<()>, Condvar); BUCKETS] = [BUCKET; BUCKETS];

fn bucket(word: &AtomicU32) -> &'static (Mutex<()>, Condvar) {
    &PARK[(word.as_ptr() as usize >> 2) % BUCKETS]
}

/// Sleep while `word` holds `expected`; may return spuriously (callers re-check in a loop).
pub(crate) fn wait_while_equal(word: &AtomicU32, expected: u32) {
    let (m, c) = bucket(word);
    let guard = m.lock().unwrap_or_else(|e| e.into_inner());
    if word.load(Ordering::Acquire) == expected {
        drop(c.wait(guard));
    }
}

/// [`wait_while_equal`] for at most `timeout`.
pub(crate) fn wait_while_equal_for(word: &AtomicU32, expected: u32, timeout: Duration) {
    let (m, c) = bucket(word);
    let guard = m.lock().unwrap_or_else(|e| e.into_inner());
    if word.load(Ordering::Acquire) == expected {
        drop(c.wait_timeout(guard, timeout));
    }
}

/// Wake the threads waiting on `word` (every waiter of its bucket; the rest re-check and wait
/// again).
pub(crate) fn wake(word: &AtomicU32, _count: u32) {
    let (m, c) = bucket(word);
    drop(m.lock().unwrap_or_else(|e| e.into_inner()));
    c.notify_all();
}

// ---------------------------------------------------------------------------------------------
// Processes, pipes and descriptors.

/// Children ask for their own death (see [`die_with_parent`]): nothing to do here.
pub(crate) fn kill_children_with_this_process() -> Result<(), String> {
    Ok(())
}

/// Exit when the parent `expected_parent_pid` exits: a thread waits for its `NOTE_EXIT` on a
/// `kqueue` (or, where that fails, checks `getppid` every 100 ms). `Err("parent already gone")`
/// if the parent is not `expected_parent_pid` any more.
pub(crate) fn die_with_parent(expected_parent_pid: u32) -> Result<(), String> {
    // SAFETY: kqueue/kevent on our own queue with a valid change list; results checked.
    let kq = unsafe {
        let kq = libc::kqueue();
        if kq >= 0 {
            let mut ev: libc::kevent = std::mem::zeroed();
            ev.ident = expected_parent_pid as libc::uintptr_t;
            ev.filter = libc::EVFILT_PROC;
            ev.flags = libc::EV_ADD;
            ev.fflags = libc::NOTE_EXIT;
            if libc::kevent(kq, &ev, 1, std::ptr::null_mut(), 0, std::ptr::null()) != 0 {
                libc::close(kq);
                -1
            } else {
                kq
            }
        } else {
            -1
        }
    };
    if parent_pid() != expected_parent_pid {
        return Err("parent already gone".into());
    }
    std::thread::Builder::new()
        .name("parent-watch".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            if kq >= 0 {
                // SAFETY: waiting for one event on our queue.
                let mut out: libc::kevent = unsafe { std::mem::zeroed() };
                unsafe { libc::kevent(kq, std::ptr::null(), 0, &mut out, 1, std::ptr::null()) };
            } else {
                while parent_pid() == expected_parent_pid {
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
            // SAFETY: ending the process at once, like SIGKILL on Linux.
            unsafe { libc::_exit(1) }
        })
        .map_err(|e| format!("watching the parent: {e}"))?;
    Ok(())
}

/// The parent process's id (`getppid`).
pub(crate) fn parent_pid() -> u32 {
    // SAFETY: no preconditions.
    unsafe { libc::getppid() as u32 }
}

/// A pipe with both ends close-on-exec: `[read, write]` (`pipe`, then `FD_CLOEXEC`).
pub(crate) fn pipe() -> io::Result<[RawFd; 2]> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: fds has room for two descriptors; fcntl on our own descriptors.
    unsafe {
        if libc::pipe(fds.as_mut_ptr()) != 0 {
            return Err(io::Error::last_os_error());
        }
        for fd in fds {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
    }
    Ok(fds)
}

// ---------------------------------------------------------------------------------------------
// What the system says about the machine.

/// The CPU's name (`machdep.cpu.brand_string`, e.g. `Apple M2`).
pub(crate) fn cpu_model() -> Option<String> {
    sysctl_string("machdep.cpu.brand_string")
}

/// The CPU beyond its name, from `sysctl`: `machdep.cpu.vendor`, `.family`, `.model`,
/// `.stepping` (Intel Macs), `hw.cpufrequency_max` (Intel Macs), `hw.l1dcachesize`,
/// `hw.l2cachesize`, `hw.l3cachesize`, `kern.hv_vmm_present`, and the vector extensions from
/// CPUID (Intel) or `hw.optional.AdvSIMD` (Apple silicon: `asimd`). What a Mac does not answer
/// stays `None`.
pub(crate) fn cpu_details() -> super::CpuDetails {
    let x86 = super::cpuid_details();
    let number = |name: &str| sysctl_u64(name).and_then(|v| u32::try_from(v).ok());
    let bytes = |name: &str| sysctl_u64(name).filter(|v| *v > 0);
    let vector_extensions = x86.vector_extensions.clone().or_else(|| {
        sysctl_u64("hw.optional.AdvSIMD").map(|v| {
            if v != 0 {
                vec!["asimd".to_string()]
            } else {
                Vec::new()
            }
        })
    });
    super::CpuDetails {
        vendor: sysctl_string("machdep.cpu.vendor").or(x86.vendor),
        family: number("machdep.cpu.family").or(x86.family),
        model: number("machdep.cpu.model").or(x86.model),
        stepping: number("machdep.cpu.stepping").or(x86.stepping),
        mhz: None,
        max_mhz: bytes("hw.cpufrequency_max").map(|hz| hz as f64 / 1e6),
        l1d_bytes: bytes("hw.l1dcachesize"),
        l2_bytes: bytes("hw.l2cachesize"),
        l3_bytes: bytes("hw.l3cachesize"),
        hypervisor: cpuinfo_flag("hypervisor"),
        vector_extensions,
    }
}

/// Whether the CPU has `flag`: CPUID on Intel Macs; on Apple silicon only `hypervisor`
/// (`kern.hv_vmm_present`) is known.
pub(crate) fn cpuinfo_flag(flag: &str) -> Option<bool> {
    if flag == "hypervisor" {
        if let Some(v) = sysctl_u64("kern.hv_vmm_present") {
            return Some(v != 0);
        }
    }
    super::cpuid_flag(flag)
}

/// `MemTotal` in bytes (`hw.memsize`); other fields are not read (`None`).
pub(crate) fn meminfo_bytes(field: &str) -> Option<u64> {
    match field {
        "MemTotal" => sysctl_u64("hw.memsize"),
        _ => None,
    }
}

/// Per-CPU times are not read on macOS: `None` (the busy-machine check is skipped).
pub(crate) fn cpu_times() -> Option<Vec<CpuTimes>> {
    None
}

/// No per-CPU times, so no unit: `None`.
pub(crate) fn clock_ticks_per_second() -> Option<u64> {
    None
}

/// The Darwin release (`kern.osrelease`).
pub(crate) fn kernel_release() -> Option<String> {
    sysctl_string("kern.osrelease")
}

/// `macOS 14.2` (`kern.osproductversion`).
pub(crate) fn os_name() -> Option<String> {
    Some(format!("macOS {}", sysctl_string("kern.osproductversion")?))
}

/// No file holds the scheduler's quantum on macOS.
pub(crate) const KERNEL_SLICE_FILES: [&str; 0] = [];

/// Not readable on macOS: `None`.
pub(crate) fn kernel_slice_ns() -> Option<(&'static str, u64)> {
    None
}

// ---------------------------------------------------------------------------------------------
// Waiting on descriptors, and the limits that refuse new workers.

/// The limit that most likely refused to start a thread or process with error `e`.
pub(crate) fn limit_behind(e: &io::Error) -> Option<String> {
    let rlimit = |which| {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes one rlimit.
        (unsafe { libc::getrlimit(which, &mut r) } == 0).then_some(r.rlim_cur)
    };
    let shown = |v: Option<libc::rlim_t>| match v {
        Some(libc::RLIM_INFINITY) | None => "unlimited".to_string(),
        Some(v) => v.to_string(),
    };
    match e.raw_os_error()? {
        libc::EAGAIN => Some(format!(
            "the limit on processes and threads (ulimit -u {})",
            shown(rlimit(libc::RLIMIT_NPROC))
        )),
        libc::ENOMEM => Some("memory".into()),
        libc::EMFILE => Some(format!(
            "the limit on open files (ulimit -n {})",
            shown(rlimit(libc::RLIMIT_NOFILE))
        )),
        libc::ENFILE => Some("the system-wide limit on open files".into()),
        _ => None,
    }
}

/// Swap two paths atomically (`renamex_np` with `RENAME_SWAP`).
pub(crate) fn exchange_paths(a: &Path, b: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path with a NUL byte"))
    };
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: two valid C strings.
    if unsafe { libc::renamex_np(a.as_ptr(), b.as_ptr(), libc::RENAME_SWAP) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

// ---------------------------------------------------------------------------------------------
// What the lab's experiments need beyond the strategies.

/// macOS has no per-thread nice value (it belongs to the process): not supported.
pub(crate) fn set_thread_nice(_nice: i32) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "macOS has no per-thread nice value",
    ))
}

/// The kernel's tick counter is not readable here.
pub(crate) fn jiffies_now() -> Option<(u64, u64)> {
    None
}

/// macOS pipes cannot be resized: not supported.
pub(crate) fn set_pipe_size(_fd: RawFd, _bytes: usize) -> io::Result<usize> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "macOS pipes cannot be resized",
    ))
}

/// The largest CPU cache, bytes (`sysctl hw.l3cachesize`, else `hw.l2cachesize`).
pub(crate) fn largest_cache_bytes() -> Option<usize> {
    cache_bytes(3).or_else(|| cache_bytes(2))
}

/// The data or unified cache of `level` (1, 2, 3), bytes, from `sysctl`.
pub(crate) fn cache_bytes(level: u32) -> Option<usize> {
    let name = match level {
        1 => "hw.l1dcachesize",
        2 => "hw.l2cachesize",
        3 => "hw.l3cachesize",
        _ => return None,
    };
    sysctl_u64(name).filter(|v| *v > 0).map(|v| v as usize)
}

/// Which CPUs share a cache is not read on macOS.
pub(crate) fn cache_shared_cpu_list(_level: u32) -> Option<String> {
    None
}

/// Give the heap's free pages back: resident memory is not read here, so nothing to do.
pub(crate) fn release_free_heap() {}

/// Resident memory of a process: not read on macOS (`None`).
pub(crate) fn process_rss_bytes(_pid: Option<u32>) -> Option<u64> {
    None
}

/// Another process's switches and CPU time: not read on macOS (`None`).
pub(crate) fn process_usage(_pid: u32) -> Option<ResourceUsage> {
    None
}
