//! The Linux implementation of [`crate::sys`]: `libc` calls and `/proc`, `/sys` reads.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::atomic::AtomicU32;

use super::{
    cache_sizes, parse_cpu_flag, parse_cpu_model, parse_cpuinfo_details, parse_first_number,
    parse_meminfo, parse_proc_stat, parse_status_switches, CpuDetails, CpuTimes, ResourceUsage,
    UsageScope,
};

// ---------------------------------------------------------------------------------------------
// What this platform can do.

/// An owned descriptor, closed when dropped.
pub(crate) type OwnedDesc = OwnedFd;

/// The number of an open descriptor (see [`super::RawDesc`]).
pub(crate) fn desc_of<T: std::os::fd::AsRawFd>(x: &T) -> super::RawDesc {
    x.as_raw_fd()
}

/// The kernel's name, as the machine line prints it before the release.
pub(crate) const KERNEL_NAME: &str = "Linux";

/// Whether threads can be pinned to one CPU: yes (`sched_setaffinity`).
pub(crate) fn can_pin_threads() -> bool {
    true
}

/// Whether [`ResourceUsage`] tells voluntary from involuntary switches: yes (`getrusage`).
// A platform fact the module docs cite; no output reads it yet.
#[allow(dead_code)]
pub(crate) const SWITCH_KINDS_SPLIT: bool = true;

/// Notes every output carries about what this platform cannot do: none on Linux.
pub(crate) fn platform_notes() -> Vec<String> {
    Vec::new()
}

/// Performance and efficiency physical cores, where the CPU mixes them; `None` on Linux (not
/// read).
pub(crate) fn performance_efficiency_cores() -> Option<(usize, usize)> {
    None
}

/// The logical CPUs of each physical core where the platform lists them directly; `None` on
/// Linux, where [`cpu_topology_dir`] is read instead.
pub(crate) fn physical_core_cpus() -> Option<Vec<Vec<usize>>> {
    None
}

/// Arrange for child processes to die with this one: on Linux each child asks for it itself
/// ([`die_with_parent`]), so there is nothing to do here.
pub(crate) fn kill_children_with_this_process() -> Result<(), String> {
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// CPUs and placement.

/// Logical CPUs in the calling thread's affinity mask (`core_affinity`, which reads it with
/// `sched_getaffinity`); `None` when the mask cannot be read or is empty. Read it before the
/// thread is pinned: afterwards it is the pin.
pub(crate) fn allowed_cpus() -> Option<Vec<usize>> {
    let cpus: Vec<usize> = core_affinity::get_core_ids()?
        .into_iter()
        .map(|c| c.id)
        .collect();
    (!cpus.is_empty()).then_some(cpus)
}

/// Pin the calling thread to one CPU (`core_affinity::set_for_current`). Threads it spawns
/// afterwards inherit the pin.
pub(crate) fn pin_thread_to_cpu(cpu: usize) -> io::Result<()> {
    if core_affinity::set_for_current(core_affinity::CoreId { id: cpu }) {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Restrict the calling thread to `cpus` with `sched_setaffinity` (threads it creates later
/// inherit the mask). A CPU id beyond the kernel's set size is an `InvalidInput` error.
pub(crate) fn set_thread_affinity(cpus: &[usize]) -> io::Result<()> {
    if let Some(&c) = cpus.iter().find(|&&c| c >= libc::CPU_SETSIZE as usize) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("CPU {c} is beyond the affinity set size"),
        ));
    }
    // SAFETY: cpu_set_t is plain data; CPU_ZERO/CPU_SET only write inside it (ids checked above);
    // pid 0 = this thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        for &c in cpus {
            libc::CPU_SET(c, &mut set);
        }
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The calling thread's current affinity mask as CPU ids (`sched_getaffinity`).
#[cfg(test)]
pub(crate) fn thread_affinity() -> Option<Vec<usize>> {
    // SAFETY: the set is zeroed plain data, filled by the kernel for this thread (pid 0).
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return None;
        }
        Some(
            (0..libc::CPU_SETSIZE as usize)
                .filter(|&c| libc::CPU_ISSET(c, &set))
                .collect(),
        )
    }
}

/// The CPU the calling thread is running on right now (`sched_getcpu`).
pub(crate) fn current_cpu() -> Option<usize> {
    // SAFETY: sched_getcpu has no preconditions.
    let c = unsafe { libc::sched_getcpu() };
    usize::try_from(c).ok()
}

/// The directory whose `cpuN/topology/{physical_package_id,core_id}` files say which logical
/// CPUs share a physical core: `/sys/devices/system/cpu`, when it exists.
pub(crate) fn cpu_topology_dir() -> Option<&'static Path> {
    let dir = Path::new("/sys/devices/system/cpu");
    dir.is_dir().then_some(dir)
}

// ---------------------------------------------------------------------------------------------
// Threads, time and usage.

/// The calling thread's kernel id (`gettid`).
pub(crate) fn thread_id() -> u32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::syscall(libc::SYS_gettid) as u32 }
}

/// Switches and CPU time so far of `scope` (`getrusage`).
pub(crate) fn resource_usage(scope: UsageScope) -> Option<ResourceUsage> {
    let who = match scope {
        UsageScope::Process => libc::RUSAGE_SELF,
        UsageScope::Children => libc::RUSAGE_CHILDREN,
        UsageScope::Thread => libc::RUSAGE_THREAD,
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

/// Context switches, voluntary + involuntary, of thread `tid` of process `pid` so far
/// (`/proc/PID/task/TID/status`).
pub(crate) fn task_switches(pid: u32, tid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/status")).ok()?;
    Some(parse_status_switches(&status))
}

/// Time thread `tid` of process `pid` spent on a CPU so far, ns (first field of
/// `/proc/PID/task/TID/schedstat`).
pub(crate) fn task_run_ns(pid: u32, tid: u32) -> Option<u64> {
    parse_first_number(&std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/schedstat")).ok()?)
}

// ---------------------------------------------------------------------------------------------
// Memory.

/// A new zero-filled shared-memory file of `len` bytes (`memfd_create` + `ftruncate`). It is not
/// close-on-exec: worker processes inherit it.
pub(crate) fn shm_create(len: usize) -> io::Result<OwnedFd> {
    let name = c"concbench";
    // SAFETY: memfd_create with a valid C string; no MFD_CLOEXEC so worker processes inherit it.
    let raw = unsafe { libc::memfd_create(name.as_ptr(), 0) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: raw is a fresh fd we own.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: fd is valid; ftruncate sizes the memfd.
    if unsafe { libc::ftruncate(raw, len as libc::off_t) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}

/// Map `len` bytes of `fd` read-write and shared (`MAP_SHARED`); with `populate`, fault every page
/// in now (`MAP_POPULATE`).
pub(crate) fn map_shared(fd: RawFd, len: usize, populate: bool) -> io::Result<*mut u8> {
    let flags = libc::MAP_SHARED | if populate { libc::MAP_POPULATE } else { 0 };
    // SAFETY: a new mapping chosen by the kernel touches no existing memory; the result is checked.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            flags,
            fd,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(ptr.cast())
}

/// Map `len` bytes of `fd` at `offset` again in place at `addr` (`MAP_FIXED`), faulting the pages
/// in (`MAP_POPULATE`): the page tables are filled now, the contents stay the same.
///
/// # Safety
/// `addr..addr + len` must lie inside an existing shared mapping of `fd` that maps file offset
/// `offset` at `addr` (so every pointer into it stays valid and sees the same bytes); `addr` and
/// `offset` page-aligned.
pub(crate) unsafe fn remap_populate(
    addr: *mut u8,
    len: usize,
    fd: RawFd,
    offset: usize,
) -> io::Result<()> {
    let p = libc::mmap(
        addr.cast(),
        len,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_SHARED | libc::MAP_FIXED | libc::MAP_POPULATE,
        fd,
        offset as libc::off_t,
    );
    if p == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A fresh private anonymous read-write mapping of `len` bytes, zero-filled and page-aligned.
pub(crate) fn map_anonymous(len: usize) -> io::Result<*mut u8> {
    // SAFETY: a fresh private anonymous mapping; no existing memory is touched.
    let raw = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if raw == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(raw.cast())
}

/// Advise transparent huge pages for `len` bytes at `addr` (`MADV_HUGEPAGE`). Advice only: `false`
/// when refused (THP off), and the range simply keeps small pages.
///
/// # Safety
/// The range must lie inside a private anonymous mapping the caller owns.
pub(crate) unsafe fn advise_huge_pages(addr: *mut u8, len: usize) -> bool {
    libc::madvise(addr.cast(), len, libc::MADV_HUGEPAGE) == 0
}

/// Advise small pages only for `len` bytes at `addr` (`MADV_NOHUGEPAGE`), so that transparent
/// huge pages set to `always` cannot back the range with 2 MiB pages. `false` when refused.
///
/// # Safety
/// The range must lie inside a private anonymous mapping the caller owns.
pub(crate) unsafe fn advise_no_huge_pages(addr: *mut u8, len: usize) -> bool {
    libc::madvise(addr.cast(), len, libc::MADV_NOHUGEPAGE) == 0
}

/// The chosen value of a transparent-huge-page setting (`enabled` or `defrag` of
/// `/sys/kernel/mm/transparent_hugepage/`): `always`, `madvise`, `never`, ...; `None` where the
/// kernel has no such file.
pub(crate) fn transparent_huge_pages(setting: &str) -> Option<String> {
    let text =
        std::fs::read_to_string(format!("/sys/kernel/mm/transparent_hugepage/{setting}")).ok()?;
    super::parse_bracketed_choice(&text)
}

/// Anonymous memory of process `pid` (`None`: this process) backed by transparent huge pages
/// now, bytes (`AnonHugePages` of `/proc/PID/smaps_rollup`).
pub(crate) fn anon_huge_pages_bytes(pid: Option<u32>) -> Option<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/smaps_rollup"),
        None => "/proc/self/smaps_rollup".into(),
    };
    parse_meminfo(&std::fs::read_to_string(path).ok()?, "AnonHugePages")
}

// ---------------------------------------------------------------------------------------------
// Waiting and waking.

/// Sleep while `word` holds `expected` (`FUTEX_WAIT`, process-private). Returns at once if it no
/// longer does; may also return spuriously, so call it in a loop that re-checks the word.
pub(crate) fn wait_while_equal(word: &AtomicU32, expected: u32) {
    futex_wait(word, expected, None);
}

/// [`wait_while_equal`] for at most `timeout`: returns when the word changes, on a wake-up, or
/// when the time is up (the caller re-checks the word and its own deadline).
pub(crate) fn wait_while_equal_for(word: &AtomicU32, expected: u32, timeout: std::time::Duration) {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    futex_wait(word, expected, Some(&ts));
}

/// `FUTEX_WAIT` (process-private) on `word` while it holds `expected`, for at most `timeout`.
fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<&libc::timespec>) {
    let timeout = timeout.map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: word is a live, aligned u32 for the duration of the call and the timeout, when
    // given, a live timespec; the kernel only reads them.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            expected,
            timeout,
        );
    }
}

/// Wake up to `count` threads sleeping in [`wait_while_equal`] on `word` (`FUTEX_WAKE`).
pub(crate) fn wake(word: &AtomicU32, count: u32) {
    let count = i32::try_from(count).unwrap_or(i32::MAX);
    // SAFETY: FUTEX_WAKE on a live AtomicU32; no memory is written by the kernel.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            count,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Processes, pipes and descriptors.

/// Ask the kernel to kill this process when its parent dies (`PR_SET_PDEATHSIG`, `SIGKILL`), then
/// check that the parent is still `expected_parent_pid` (if it died first, the signal will never
/// come): `Err("parent already gone")` then.
pub(crate) fn die_with_parent(expected_parent_pid: u32) -> Result<(), String> {
    // SAFETY: prctl/getppid have no memory-safety preconditions.
    unsafe {
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
            return Err(format!(
                "asking to die with the parent: {}",
                io::Error::last_os_error()
            ));
        }
        if libc::getppid() as u32 != expected_parent_pid {
            return Err("parent already gone".into());
        }
    }
    Ok(())
}

/// A pipe with both ends close-on-exec: `[read, write]` (`pipe2`). The caller closes both with
/// [`super::close_fd`].
pub(crate) fn pipe() -> io::Result<[RawFd; 2]> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: fds has room for two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fds)
}

// ---------------------------------------------------------------------------------------------
// What the kernel says about the machine.

/// `/proc/cpuinfo`: the one place it is read.
fn cpuinfo() -> Option<String> {
    std::fs::read_to_string("/proc/cpuinfo").ok()
}

/// The CPU's model name (`model name` in `/proc/cpuinfo`).
pub(crate) fn cpu_model() -> Option<String> {
    parse_cpu_model(&cpuinfo()?)
}

/// The CPU beyond its name: `/proc/cpuinfo`, cpufreq's highest frequency and cpu0's caches.
pub(crate) fn cpu_details() -> CpuDetails {
    cpu_details_at(Path::new("/"))
}

/// [`cpu_details`] read under `root` (`/` on a live system; a copied tree in tests):
/// `proc/cpuinfo`, `sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq` (kHz) and
/// `sys/devices/system/cpu/cpu0/cache/index*/{level,type,size}`.
pub(crate) fn cpu_details_at(root: &Path) -> CpuDetails {
    let read = |p: &Path| std::fs::read_to_string(p).ok();
    let mut d = read(&root.join("proc/cpuinfo"))
        .map(|t| parse_cpuinfo_details(&t))
        .unwrap_or_default();
    let cpu0 = root.join("sys/devices/system/cpu/cpu0");
    d.max_mhz = read(&cpu0.join("cpufreq/cpuinfo_max_freq"))
        .and_then(|t| t.trim().parse::<f64>().ok())
        .filter(|khz| *khz > 0.0)
        .map(|khz| khz / 1000.0);
    let mut entries = Vec::new();
    if let Ok(dir) = std::fs::read_dir(cpu0.join("cache")) {
        let mut indices: Vec<_> = dir
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("index"))
            })
            .collect();
        indices.sort();
        for index in indices {
            if let (Some(l), Some(t), Some(s)) = (
                read(&index.join("level")),
                read(&index.join("type")),
                read(&index.join("size")),
            ) {
                entries.push((l, t, s));
            }
        }
    }
    [d.l1d_bytes, d.l2_bytes, d.l3_bytes] = cache_sizes(&entries);
    d
}

/// Whether the CPU lists `flag` (`flags` in `/proc/cpuinfo`, e.g. `hypervisor`, `avx512f`);
/// `None` when there is no such list to read.
pub(crate) fn cpuinfo_flag(flag: &str) -> Option<bool> {
    Some(parse_cpu_flag(&cpuinfo()?, flag))
}

/// A field of `/proc/meminfo` in bytes (`MemTotal`, `MemAvailable`, ...).
pub(crate) fn meminfo_bytes(field: &str) -> Option<u64> {
    parse_meminfo(&std::fs::read_to_string("/proc/meminfo").ok()?, field)
}

/// Per-CPU time since boot (`/proc/stat`), in ticks of [`clock_ticks_per_second`].
pub(crate) fn cpu_times() -> Option<Vec<CpuTimes>> {
    let cpus = parse_proc_stat(&std::fs::read_to_string("/proc/stat").ok()?);
    (!cpus.is_empty()).then_some(cpus)
}

/// The unit of `/proc/stat` times (`sysconf(_SC_CLK_TCK)`, usually 100).
pub(crate) fn clock_ticks_per_second() -> Option<u64> {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then_some(hz as u64)
}

/// The kernel release, as `uname -r` prints it (`/proc/sys/kernel/osrelease`).
pub(crate) fn kernel_release() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|s| s.trim().to_string())
}

/// The distribution's name (`PRETTY_NAME` in `/etc/os-release`).
pub(crate) fn os_name() -> Option<String> {
    let s = std::fs::read_to_string("/etc/os-release").ok()?;
    s.lines()
        .find(|l| l.starts_with("PRETTY_NAME="))
        .map(|l| l["PRETTY_NAME=".len()..].trim_matches('"').to_string())
}

/// Files that hold the fair scheduler's slice: EEVDF's `base_slice_ns` (6.6+), CFS's
/// `min_granularity_ns` (debugfs since 5.13, /proc before), each in ns.
pub(crate) const KERNEL_SLICE_FILES: [&str; 4] = [
    "/sys/kernel/debug/sched/base_slice_ns",
    "/sys/kernel/debug/sched/min_granularity_ns",
    "/proc/sys/kernel/sched_base_slice_ns",
    "/proc/sys/kernel/sched_min_granularity_ns",
];

/// The scheduler's slice in ns and the file it came from: the first readable of
/// [`KERNEL_SLICE_FILES`] (debugfs needs root, so often none is).
pub(crate) fn kernel_slice_ns() -> Option<(&'static str, u64)> {
    KERNEL_SLICE_FILES.into_iter().find_map(|f| {
        let ns = std::fs::read_to_string(f)
            .ok()?
            .trim()
            .parse::<u64>()
            .ok()?;
        Some((f, ns))
    })
}

// ---------------------------------------------------------------------------------------------
// Waiting on descriptors, and the limits that refuse new workers.

/// The limit that most likely refused to start a thread or process with error `e`, in words
/// with its value: `the limit on processes and threads (ulimit -u 100)`, `the cgroup's pids.max
/// (64)`, `the limit on open files (ulimit -n 256)`, or `memory`. `None` when `e` is not one of
/// the errors a limit gives.
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
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let address_space = rlimit(libc::RLIMIT_AS)
        .filter(|v| *v != libc::RLIM_INFINITY)
        .map(|v| format!("the address-space limit (ulimit -v {})", v / 1024));
    match e.raw_os_error()? {
        libc::EAGAIN | libc::ENOMEM => {
            let mut parts = Vec::new();
            // Root is not held to RLIMIT_NPROC.
            let nproc = rlimit(libc::RLIMIT_NPROC);
            if !root && nproc != Some(libc::RLIM_INFINITY) {
                parts.push(format!(
                    "the limit on processes and threads (ulimit -u {})",
                    shown(nproc)
                ));
            }
            if let Some(max) = cgroup_pids_max() {
                parts.push(format!("the cgroup's pids.max ({max})"));
            }
            parts.extend(address_space);
            if parts.is_empty() {
                parts.push(if e.raw_os_error() == Some(libc::ENOMEM) {
                    "memory".to_string()
                } else {
                    "the system's limit on processes and threads".to_string()
                });
            }
            Some(parts.join(" or "))
        }
        libc::EMFILE => Some(format!(
            "the limit on open files (ulimit -n {})",
            shown(rlimit(libc::RLIMIT_NOFILE))
        )),
        libc::ENFILE => Some("the system-wide limit on open files".into()),
        _ => None,
    }
}

/// `pids.max` of this process's cgroup (v2), when it is a number.
fn cgroup_pids_max() -> Option<u64> {
    let cg = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = cg.lines().find_map(|l| l.strip_prefix("0::"))?;
    let text = std::fs::read_to_string(format!("/sys/fs/cgroup{path}/pids.max")).ok()?;
    text.trim().parse().ok()
}

/// Swap two paths atomically (`renameat2` with `RENAME_EXCHANGE`): each name then refers to what
/// the other did. Both must exist on one file system. An error (e.g. a file system without the
/// flag) leaves both as they were.
pub(crate) fn exchange_paths(a: &Path, b: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path with a NUL byte"))
    };
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: two valid C strings; AT_FDCWD resolves them like open(2) would.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

// ---------------------------------------------------------------------------------------------
// What the lab's experiments need: nice values, the timer tick, fork, pipe buffers.

/// Set the nice value of the calling thread (`setpriority(PRIO_PROCESS, tid, nice)`: on Linux a
/// nice value belongs to one thread). Raising it needs no privilege; lowering it below the
/// current value usually does.
pub(crate) fn set_thread_nice(nice: i32) -> io::Result<()> {
    // SAFETY: plain system call on the calling thread's id.
    let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, thread_id() as libc::id_t, nice) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The kernel's jiffies counter and its clock at the same moment, ns (`/proc/timer_list`: its
/// `now at` and first `jiffies:` lines). Two readings a known time apart give the timer tick.
pub(crate) fn jiffies_now() -> Option<(u64, u64)> {
    super::parse_timer_list(&std::fs::read_to_string("/proc/timer_list").ok()?)
}

/// Ask for a pipe buffer of `bytes` (`F_SETPIPE_SZ`; unprivileged up to
/// `/proc/sys/fs/pipe-max-size`): the size the kernel granted.
pub(crate) fn set_pipe_size(fd: RawFd, bytes: usize) -> io::Result<usize> {
    // SAFETY: fcntl on a descriptor the caller owns.
    let r = unsafe { libc::fcntl(fd, libc::F_SETPIPE_SZ, bytes as libc::c_int) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r as usize)
}

/// CPU 0's caches as the kernel lists them (`/sys/devices/system/cpu/cpu0/cache/index*`): a
/// reader of one file of each cache's folder, per cache (empty where the folder is missing).
fn cpu0_caches() -> impl Iterator<Item = impl Fn(&str) -> Option<String>> {
    std::fs::read_dir("/sys/devices/system/cpu/cpu0/cache")
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let path = e.ok()?.path();
            Some(move |f: &str| std::fs::read_to_string(path.join(f)).ok())
        })
}

/// The data or unified caches of CPU 0 at `level` (1, 2, 3): a reader of each one's files.
fn cpu0_data_caches(level: u32) -> impl Iterator<Item = impl Fn(&str) -> Option<String>> {
    cpu0_caches().filter(move |read| {
        let lvl = read("level").and_then(|l| l.trim().parse::<u32>().ok());
        lvl == Some(level) && read("type").is_some_and(|k| k.trim() != "Instruction")
    })
}

/// A cache's `size` file (`48K`, `2M`, or plain bytes), in bytes.
fn cache_size_bytes(text: &str) -> Option<usize> {
    let t = text.trim();
    let (num, mult) = match t.strip_suffix('K') {
        Some(n) => (n, 1024),
        None => match t.strip_suffix('M') {
            Some(n) => (n, 1 << 20),
            None => (t, 1),
        },
    };
    Some(num.parse::<usize>().ok()? * mult)
}

/// The largest CPU cache of CPU 0, bytes (`/sys/devices/system/cpu/cpu0/cache/index*/size`).
pub(crate) fn largest_cache_bytes() -> Option<usize> {
    cpu0_caches()
        .filter_map(|read| cache_size_bytes(&read("size")?))
        .max()
}

/// The size of CPU 0's data or unified cache of `level` (1, 2, 3), bytes.
pub(crate) fn cache_bytes(level: u32) -> Option<usize> {
    cpu0_data_caches(level)
        .filter_map(|read| cache_size_bytes(&read("size")?))
        .max()
}

/// The CPUs that share CPU 0's data or unified cache of `level` (1, 2, 3), as the kernel lists
/// them (`shared_cpu_list`, for example `0` or `0-1`); `None` where it does not say.
pub(crate) fn cache_shared_cpu_list(level: u32) -> Option<String> {
    cpu0_data_caches(level).find_map(|read| Some(read("shared_cpu_list")?.trim().to_string()))
}

/// Give the heap's free pages back to the kernel (glibc's `malloc_trim(0)`, over every arena),
/// so that resident memory measured from here counts new allocations instead of reusing pages
/// that earlier work freed but kept resident. A no-op with other C libraries.
pub(crate) fn release_free_heap() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim takes no pointer and may be called at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Resident memory of process `pid` (`None`: this process) now, bytes (`VmRSS` of
/// `/proc/PID/status`).
pub(crate) fn process_rss_bytes(pid: Option<u32>) -> Option<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".into(),
    };
    let status = std::fs::read_to_string(path).ok()?;
    parse_meminfo(&status, "VmRSS")
}

/// Switches and CPU time so far of every thread of process `pid`, read from `/proc` (another
/// process's `getrusage` cannot be asked for): switches summed over `/proc/PID/task/*/status`;
/// CPU time summed over `/proc/PID/task/*/schedstat` (nanoseconds), split between user and
/// system in the ratio of `/proc/PID/stat`'s utime and stime. Those two count whole clock ticks
/// (10 ms at 100 Hz), so alone they read 0 for a worker that served a few hundred short requests.
pub(crate) fn process_usage(pid: u32) -> Option<ResourceUsage> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) end with ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = clock_ticks_per_second()? as f64;
    let user_ticks_s = fields.get(11)?.parse::<f64>().ok()? / ticks;
    let sys_ticks_s = fields.get(12)?.parse::<f64>().ok()? / ticks;
    let (mut voluntary, mut involuntary) = (0, 0);
    let mut on_cpu_ns: Option<u64> = Some(0);
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        on_cpu_ns = match (
            on_cpu_ns,
            std::fs::read_to_string(task.path().join("schedstat")),
        ) {
            (Some(sum), Ok(text)) => parse_first_number::<u64>(&text).map(|ns| sum + ns),
            _ => None,
        };
        if let Ok(status) = std::fs::read_to_string(task.path().join("status")) {
            voluntary += parse_first_number::<u64>(
                status
                    .lines()
                    .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                    .unwrap_or("0"),
            )
            .unwrap_or(0);
            involuntary += parse_first_number::<u64>(
                status
                    .lines()
                    .find_map(|l| l.strip_prefix("nonvoluntary_ctxt_switches:"))
                    .unwrap_or("0"),
            )
            .unwrap_or(0);
        }
    }
    let (user_s, sys_s) = split_cpu_time(on_cpu_ns, user_ticks_s, sys_ticks_s);
    Some(ResourceUsage {
        voluntary_switches: voluntary,
        involuntary_switches: involuntary,
        user_s,
        sys_s,
    })
}

/// `(user, system)` seconds from the nanosecond on-CPU total (when every thread's schedstat was
/// read), split in the ratio of the tick-counted user and system times (all user while both
/// are still 0 ticks); the tick counts alone without a total.
fn split_cpu_time(on_cpu_ns: Option<u64>, user_ticks_s: f64, sys_ticks_s: f64) -> (f64, f64) {
    match on_cpu_ns {
        Some(ns) => {
            let total = ns as f64 / 1e9;
            let ticked = user_ticks_s + sys_ticks_s;
            let user_share = if ticked > 0.0 {
                user_ticks_s / ticked
            } else {
                1.0
            };
            (total * user_share, total * (1.0 - user_share))
        }
        None => (user_ticks_s, sys_ticks_s),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn cache_sizes_parse_as_the_kernel_writes_them() {
        assert_eq!(cache_size_bytes("48K\n"), Some(48 * 1024));
        assert_eq!(cache_size_bytes("2M"), Some(2 << 20));
        assert_eq!(cache_size_bytes("512"), Some(512));
        assert_eq!(cache_size_bytes("big"), None);
    }

    #[test]
    fn the_cache_readers_agree_with_each_other() {
        // Where the kernel lists CPU 0's caches, the largest is at least each level's size,
        // and a level that has a size also says which CPUs share it.
        for level in 1..=3 {
            if let Some(bytes) = cache_bytes(level) {
                assert!(largest_cache_bytes().unwrap() >= bytes, "level {level}");
                assert!(cache_shared_cpu_list(level).is_some(), "level {level}");
            }
        }
    }
    use super::*;

    #[test]
    fn cpu_time_comes_from_schedstat_split_by_the_tick_ratio() {
        assert_eq!(split_cpu_time(Some(3_000_000), 0.0, 0.0), (0.003, 0.0));
        let (u, s) = split_cpu_time(Some(4_000_000_000), 0.03, 0.01);
        assert!((u - 3.0).abs() < 1e-9 && (s - 1.0).abs() < 1e-9, "{u} {s}");
        assert_eq!(split_cpu_time(None, 0.02, 0.01), (0.02, 0.01));
    }

    #[test]
    fn this_process_usage_sees_cpu_time_below_one_tick() {
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < std::time::Duration::from_millis(3) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        std::hint::black_box(x);
        let u = process_usage(std::process::id()).expect("own /proc entry");
        assert!(u.user_s + u.sys_s > 0.0, "{u:?}");
    }

    #[test]
    fn cpu_details_read_a_copied_proc_and_sys_tree() {
        let root = tempfile::tempdir().unwrap();
        let put = |rel: &str, text: &str| {
            let p = root.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        put("proc/cpuinfo", super::super::tests::EPYC_CPUINFO);
        let cpu0 = "sys/devices/system/cpu/cpu0";
        put(&format!("{cpu0}/cpufreq/cpuinfo_max_freq"), "3700000\n");
        for (i, (level, kind, size)) in [
            ("1", "Data", "32K"),
            ("1", "Instruction", "32K"),
            ("2", "Unified", "1024K"),
            ("3", "Unified", "32768K"),
        ]
        .into_iter()
        .enumerate()
        {
            put(
                &format!("{cpu0}/cache/index{i}/level"),
                &format!("{level}\n"),
            );
            put(&format!("{cpu0}/cache/index{i}/type"), &format!("{kind}\n"));
            put(&format!("{cpu0}/cache/index{i}/size"), &format!("{size}\n"));
        }
        let d = cpu_details_at(root.path());
        assert_eq!(d.vendor.as_deref(), Some("AuthenticAMD"));
        assert_eq!(
            (d.family, d.model, d.stepping),
            (Some(25), Some(17), Some(1))
        );
        assert_eq!((d.mhz, d.max_mhz), (Some(2600.0), Some(3700.0)));
        assert_eq!(
            [d.l1d_bytes, d.l2_bytes, d.l3_bytes],
            [Some(32 << 10), Some(1 << 20), Some(32 << 20)]
        );
        assert_eq!(d.hypervisor, Some(true));
        // An empty tree gives nothing, and no guess.
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(cpu_details_at(empty.path()), CpuDetails::default());
    }
}
