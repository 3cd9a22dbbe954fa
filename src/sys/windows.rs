//! The Windows implementation of [`crate::sys`]: `windows-sys` calls (kernel32, ntdll).
//!
//! How each Linux mechanism maps here:
//!
//! - CPUs are numbered across processor groups: group 0's processors first, then group 1's, and
//!   so on. Pinning uses `SetThreadAffinityMask` (through `core_affinity`) on machines with one
//!   group (up to 64 logical CPUs) and `SetThreadGroupAffinity` above that; a thread's mask lies
//!   in one group, so a set spanning groups is cut to the group of its first CPU.
//! - Physical cores come from `GetLogicalProcessorInformationEx(RelationProcessorCore)`
//!   ([`physical_core_cpus`]); there is no `/sys` directory ([`cpu_topology_dir`] is `None`).
//! - Shared memory is a pagefile-backed file mapping whose handle is inheritable; its handle value
//!   travels to the worker as a number ([`RawDesc`]: Windows guarantees handle values fit in 32
//!   bits, so truncating and sign-extending them is safe).
//! - Workers die with concbench through a job object set to kill on close
//!   ([`kill_children_with_this_process`]), and also watch their parent's process handle.
//! - Switch counts are the per-thread `ContextSwitches` of the system process information
//!   (`NtQuerySystemInformation`); Windows does not split them into voluntary and involuntary, so
//!   the total is reported as voluntary and involuntary stays 0 ([`SWITCH_KINDS_SPLIT`] is
//!   `false`). Switches of worker processes that have exited are not measured.
//! - Waits use a high-resolution waitable timer ([`sleep_for`]), not `Sleep`, which rounds up to
//!   the 15.6 ms tick.

use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::path::Path;
use std::sync::atomic::AtomicU32;
use std::sync::OnceLock;
use std::time::Duration;

use windows_sys::Wdk::System::SystemInformation::{
    NtQuerySystemInformation, SystemProcessInformation, SystemProcessorPerformanceInformation,
};
use windows_sys::Win32::Foundation::{
    CloseHandle, GetLastError, ERROR_BROKEN_PIPE, ERROR_NO_DATA, FILETIME, HANDLE,
    INVALID_HANDLE_VALUE, STATUS_INFO_LENGTH_MISMATCH, WAIT_OBJECT_0, WAIT_TIMEOUT,
};
use windows_sys::Win32::Security::SECURITY_ATTRIBUTES;
use windows_sys::Win32::Storage::FileSystem::{ReadFile, WriteFile};
use windows_sys::Win32::System::Console::{
    GetConsoleScreenBufferInfo, GetStdHandle, CONSOLE_SCREEN_BUFFER_INFO, STD_OUTPUT_HANDLE,
};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JobObjectBasicAccountingInformation,
    JobObjectExtendedLimitInformation, QueryInformationJobObject, SetInformationJobObject,
    JOBOBJECT_BASIC_ACCOUNTING_INFORMATION, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
    JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
};
use windows_sys::Win32::System::Kernel::PROCESSOR_NUMBER;
use windows_sys::Win32::System::Memory::{
    CreateFileMappingW, MapViewOfFile, UnmapViewOfFile, VirtualAlloc, VirtualFree, VirtualQuery,
    FILE_MAP_ALL_ACCESS, MEMORY_BASIC_INFORMATION, MEMORY_MAPPED_VIEW_ADDRESS, MEM_COMMIT,
    MEM_DECOMMIT, MEM_MAPPED, MEM_RELEASE, MEM_RESERVE, PAGE_READWRITE,
};
use windows_sys::Win32::System::Performance::{QueryPerformanceCounter, QueryPerformanceFrequency};
use windows_sys::Win32::System::Pipes::{CreatePipe, PeekNamedPipe};
use windows_sys::Win32::System::SystemInformation::{
    GetLogicalProcessorInformationEx, GlobalMemoryStatusEx, RelationProcessorCore, GROUP_AFFINITY,
    MEMORYSTATUSEX, SYSTEM_LOGICAL_PROCESSOR_INFORMATION_EX,
};
use windows_sys::Win32::System::Threading::{
    CreateWaitableTimerExW, GetActiveProcessorCount, GetActiveProcessorGroupCount,
    GetCurrentProcess, GetCurrentProcessorNumberEx, GetCurrentThread, GetCurrentThreadId,
    GetProcessTimes, GetThreadTimes, OpenProcess, SetThreadGroupAffinity, SetWaitableTimer,
    WaitForSingleObject, WaitOnAddress, WakeByAddressAll, WakeByAddressSingle,
    CREATE_WAITABLE_TIMER_HIGH_RESOLUTION, INFINITE, PROCESS_QUERY_LIMITED_INFORMATION,
    PROCESS_SYNCHRONIZE, TIMER_ALL_ACCESS,
};
use windows_sys::Win32::System::WindowsProgramming::{
    SYSTEM_PROCESSOR_PERFORMANCE_INFORMATION, SYSTEM_PROCESS_INFORMATION, SYSTEM_THREAD_INFORMATION,
};

use super::{CpuTimes, RawDesc, ResourceUsage, UsageScope};

/// An owned descriptor: a handle that is closed when dropped.
pub(crate) type OwnedDesc = OwnedHandle;

/// The number of a handle, as it travels to a child (see [`RawDesc`]).
pub(crate) fn desc_of<T: AsRawHandle>(x: &T) -> RawDesc {
    x.as_raw_handle() as isize as RawDesc
}

fn handle(d: RawDesc) -> HANDLE {
    d as isize as HANDLE
}

/// The kernel's name, as the machine line prints it before the release.
pub(crate) const KERNEL_NAME: &str = "Windows";

/// Whether threads can be pinned to one CPU: yes (`SetThreadAffinityMask`).
pub(crate) fn can_pin_threads() -> bool {
    true
}

/// Whether [`ResourceUsage`] tells voluntary from involuntary switches: not on Windows (the total
/// is in `voluntary_switches`).
// A platform fact the module docs cite; no output reads it yet.
#[allow(dead_code)]
pub(crate) const SWITCH_KINDS_SPLIT: bool = false;

/// Notes every output carries about what this platform cannot do: switch counts are one total
/// (no voluntary/involuntary split) and those of exited worker processes are not measured.
pub(crate) fn platform_notes() -> Vec<String> {
    // A thread that has run has been switched to at least once: all zeros means the system does
    // not count (Wine), not that nothing switched.
    let counted = process_threads(std::process::id())
        .is_some_and(|threads| threads.iter().any(|t| t.switches > 0));
    vec![if counted {
        "context switches: Windows counts one total per thread (shown as voluntary); those of worker processes are not measured".into()
    } else {
        "context switches: not measured (this system reports no per-thread counts); the switch columns read 0".into()
    }]
}

/// Performance and efficiency physical cores (Apple silicon, hybrid Intel); `None` here (not
/// read on Windows).
pub(crate) fn performance_efficiency_cores() -> Option<(usize, usize)> {
    None
}

// ---------------------------------------------------------------------------------------------
// CPUs and placement.

/// Active logical processors of each processor group.
fn group_sizes() -> Vec<usize> {
    // SAFETY: plain queries without pointers.
    let groups = unsafe { GetActiveProcessorGroupCount() }.max(1);
    (0..groups)
        .map(|g| unsafe { GetActiveProcessorCount(g) } as usize)
        .collect()
}

/// The global number of processor `number` of group `group`.
fn global_cpu(group: u16, number: usize) -> usize {
    super::group_base(&group_sizes(), group) + number
}

/// The group and number within it of global CPU `cpu`.
fn group_of(cpu: usize) -> Option<(u16, usize)> {
    super::cpu_in_groups(&group_sizes(), cpu)
}

/// Logical CPUs this process may use: the process affinity mask on a machine with one processor
/// group (`core_affinity`, `GetProcessAffinityMask`), every active processor of every group above
/// 64 CPUs.
pub(crate) fn allowed_cpus() -> Option<Vec<usize>> {
    let sizes = group_sizes();
    if sizes.len() == 1 {
        let cpus: Vec<usize> = core_affinity::get_core_ids()?
            .into_iter()
            .map(|c| c.id)
            .collect();
        return (!cpus.is_empty()).then_some(cpus);
    }
    Some((0..sizes.iter().sum()).collect())
}

/// Pin the calling thread to one CPU: `SetThreadAffinityMask` (`core_affinity`) in one processor
/// group, `SetThreadGroupAffinity` across groups.
pub(crate) fn pin_thread_to_cpu(cpu: usize) -> io::Result<()> {
    if group_sizes().len() == 1 {
        return if core_affinity::set_for_current(core_affinity::CoreId { id: cpu }) {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        };
    }
    set_thread_affinity(&[cpu])
}

/// Restrict the calling thread to `cpus` (`SetThreadGroupAffinity`). A thread's mask lies in one
/// processor group: CPUs outside the group of the first one are left out.
pub(crate) fn set_thread_affinity(cpus: &[usize]) -> io::Result<()> {
    let first = *cpus
        .first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no CPU to pin to"))?;
    let (group, _) = group_of(first).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("CPU {first} does not exist"),
        )
    })?;
    let mut mask = 0usize;
    for &c in cpus {
        if let Some((g, n)) = group_of(c) {
            if g == group && n < usize::BITS as usize {
                mask |= 1 << n;
            }
        }
    }
    let affinity = GROUP_AFFINITY {
        Mask: mask,
        Group: group,
        Reserved: [0; 3],
    };
    // SAFETY: a valid GROUP_AFFINITY for the current thread's pseudo handle.
    if unsafe { SetThreadGroupAffinity(GetCurrentThread(), &affinity, std::ptr::null_mut()) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The calling thread's affinity mask as global CPU ids (`GetThreadGroupAffinity`).
#[cfg(test)]
pub(crate) fn thread_affinity() -> Option<Vec<usize>> {
    use windows_sys::Win32::System::Threading::GetThreadGroupAffinity;
    let mut a = GROUP_AFFINITY {
        Mask: 0,
        Group: 0,
        Reserved: [0; 3],
    };
    // SAFETY: a is a valid out-pointer.
    if unsafe { GetThreadGroupAffinity(GetCurrentThread(), &mut a) } == 0 {
        return None;
    }
    Some(super::mask_cpus(a.Mask as u64, global_cpu(a.Group, 0)))
}

/// The CPU the calling thread runs on right now (`GetCurrentProcessorNumberEx`).
pub(crate) fn current_cpu() -> Option<usize> {
    let mut p = PROCESSOR_NUMBER {
        Group: 0,
        Number: 0,
        Reserved: 0,
    };
    // SAFETY: p is a valid out-pointer.
    unsafe { GetCurrentProcessorNumberEx(&mut p) };
    Some(global_cpu(p.Group, p.Number as usize))
}

/// No `/sys` topology directory on Windows: see [`physical_core_cpus`].
pub(crate) fn cpu_topology_dir() -> Option<&'static Path> {
    None
}

/// The logical CPUs of each physical core, from `GetLogicalProcessorInformationEx`
/// (`RelationProcessorCore`), in global CPU numbers.
pub(crate) fn physical_core_cpus() -> Option<Vec<Vec<usize>>> {
    let mut len = 0u32;
    // SAFETY: a size query with a null buffer.
    unsafe {
        GetLogicalProcessorInformationEx(RelationProcessorCore, std::ptr::null_mut(), &mut len)
    };
    if len == 0 {
        return None;
    }
    let mut buf = vec![0u64; (len as usize).div_ceil(8)];
    // SAFETY: buf has room for len bytes (8-byte aligned).
    let ok = unsafe {
        GetLogicalProcessorInformationEx(RelationProcessorCore, buf.as_mut_ptr().cast(), &mut len)
    };
    if ok == 0 {
        return None;
    }
    let bytes = buf.as_ptr().cast::<u8>();
    let mut cores = Vec::new();
    let mut off = 0usize;
    while off + std::mem::size_of::<u32>() * 2 <= len as usize {
        // SAFETY: the record lies inside the buffer the call filled; records are variable-sized
        // and may be unaligned, so they are read unaligned.
        let rec: SYSTEM_LOGICAL_PROCESSOR_INFORMATION_EX =
            unsafe { std::ptr::read_unaligned(bytes.add(off).cast()) };
        if rec.Size == 0 {
            break;
        }
        if rec.Relationship == RelationProcessorCore {
            // SAFETY: a processor-core record holds the Processor variant; its GroupCount masks
            // follow inside the record.
            let p = unsafe { rec.Anonymous.Processor };
            let masks = unsafe {
                bytes
                    .add(off)
                    .add(std::mem::offset_of!(
                        SYSTEM_LOGICAL_PROCESSOR_INFORMATION_EX,
                        Anonymous
                    ))
                    .add(std::mem::offset_of!(
                        windows_sys::Win32::System::SystemInformation::PROCESSOR_RELATIONSHIP,
                        GroupMask
                    ))
            };
            let mut cpus = Vec::new();
            for i in 0..p.GroupCount.max(1) as usize {
                // SAFETY: mask i lies inside this record (GroupCount of them).
                let m: GROUP_AFFINITY = unsafe {
                    std::ptr::read_unaligned(
                        masks.add(i * std::mem::size_of::<GROUP_AFFINITY>()).cast(),
                    )
                };
                cpus.extend(super::mask_cpus(m.Mask as u64, global_cpu(m.Group, 0)));
            }
            if !cpus.is_empty() {
                cores.push(cpus);
            }
        }
        off += rec.Size as usize;
    }
    (!cores.is_empty()).then_some(cores)
}

// ---------------------------------------------------------------------------------------------
// Threads, time and usage.

/// The calling thread's id (`GetCurrentThreadId`).
pub(crate) fn thread_id() -> u32 {
    // SAFETY: no preconditions.
    unsafe { GetCurrentThreadId() }
}

fn qpc_frequency() -> u64 {
    static FREQ: OnceLock<u64> = OnceLock::new();
    *FREQ.get_or_init(|| {
        let mut f = 0i64;
        // SAFETY: valid out-pointer.
        unsafe { QueryPerformanceFrequency(&mut f) };
        f.max(1) as u64
    })
}

/// Nanoseconds on the performance counter (`QueryPerformanceCounter`; shared by all processes).
#[inline]
pub(crate) fn monotonic_ns() -> u64 {
    let mut c = 0i64;
    // SAFETY: valid out-pointer.
    unsafe { QueryPerformanceCounter(&mut c) };
    (c as u128 * 1_000_000_000 / qpc_frequency() as u128) as u64
}

fn filetime_100ns(t: FILETIME) -> u64 {
    (t.dwHighDateTime as u64) << 32 | t.dwLowDateTime as u64
}

const ZERO_FT: FILETIME = FILETIME {
    dwLowDateTime: 0,
    dwHighDateTime: 0,
};

/// A cheap system call, for timing a kernel entry and exit: `GetThreadTimes` (Windows serves
/// the process and thread ids from user space, so they enter no kernel).
pub(crate) fn cheap_syscall() -> u64 {
    thread_cpu_time().map_or(0, |d| d.as_nanos() as u64)
}

/// The name of [`cheap_syscall`], for the reports that time it.
pub(crate) const CHEAP_SYSCALL: &str = "GetThreadTimes";

/// CPU time (user + kernel) of the calling thread (`GetThreadTimes`; Windows updates it at the
/// scheduler's tick, so short stretches read coarse).
pub(crate) fn thread_cpu_time() -> Option<Duration> {
    let (mut c, mut e, mut k, mut u) = (ZERO_FT, ZERO_FT, ZERO_FT, ZERO_FT);
    // SAFETY: valid out-pointers for the current thread's pseudo handle.
    if unsafe { GetThreadTimes(GetCurrentThread(), &mut c, &mut e, &mut k, &mut u) } == 0 {
        return None;
    }
    Some(Duration::from_nanos(
        (filetime_100ns(k) + filetime_100ns(u)) * 100,
    ))
}

/// (user, kernel) seconds of this process (`GetProcessTimes`).
fn process_times() -> Option<(f64, f64)> {
    let (mut c, mut e, mut k, mut u) = (ZERO_FT, ZERO_FT, ZERO_FT, ZERO_FT);
    // SAFETY: valid out-pointers for the current process's pseudo handle.
    if unsafe { GetProcessTimes(GetCurrentProcess(), &mut c, &mut e, &mut k, &mut u) } == 0 {
        return None;
    }
    Some((
        filetime_100ns(u) as f64 / 1e7,
        filetime_100ns(k) as f64 / 1e7,
    ))
}

/// One thread as the system process information describes it.
#[derive(Debug, Clone, Copy)]
struct ThreadInfo {
    tid: u32,
    switches: u64,
    run_100ns: u64,
}

/// The threads of process `pid` from `NtQuerySystemInformation(SystemProcessInformation)`.
fn process_threads(pid: u32) -> Option<Vec<ThreadInfo>> {
    let mut buf: Vec<u64> = vec![0; 64 * 1024];
    let mut status = STATUS_INFO_LENGTH_MISMATCH;
    for _ in 0..6 {
        let mut needed = 0u32;
        // SAFETY: buf is valid for its byte length.
        status = unsafe {
            NtQuerySystemInformation(
                SystemProcessInformation,
                buf.as_mut_ptr().cast(),
                (buf.len() * 8) as u32,
                &mut needed,
            )
        };
        if status != STATUS_INFO_LENGTH_MISMATCH {
            break;
        }
        buf = vec![0; (needed as usize / 8 + 1).max(buf.len() * 2)];
    }
    if status < 0 {
        return None;
    }
    let base = buf.as_ptr().cast::<u8>();
    let mut off = 0usize;
    loop {
        // SAFETY: the entry lies inside the buffer the call filled (NextEntryOffset chains them).
        let p: SYSTEM_PROCESS_INFORMATION =
            unsafe { std::ptr::read_unaligned(base.add(off).cast()) };
        if p.UniqueProcessId as usize == pid as usize {
            let threads =
                unsafe { base.add(off + std::mem::size_of::<SYSTEM_PROCESS_INFORMATION>()) };
            let list = (0..p.NumberOfThreads as usize)
                .map(|i| {
                    // SAFETY: NumberOfThreads entries follow the process entry.
                    let t: SYSTEM_THREAD_INFORMATION = unsafe {
                        std::ptr::read_unaligned(
                            threads
                                .add(i * std::mem::size_of::<SYSTEM_THREAD_INFORMATION>())
                                .cast(),
                        )
                    };
                    // Reserved1 = KernelTime, UserTime, CreateTime; Reserved3 = ContextSwitches.
                    ThreadInfo {
                        tid: t.ClientId.UniqueThread as usize as u32,
                        switches: t.Reserved3 as u64,
                        run_100ns: (t.Reserved1[0] + t.Reserved1[1]).max(0) as u64,
                    }
                })
                .collect();
            return Some(list);
        }
        if p.NextEntryOffset == 0 {
            return None;
        }
        off += p.NextEntryOffset as usize;
    }
}

/// Switches and CPU time so far of `scope`. Process: `GetProcessTimes` and the switch counts of
/// all its threads; thread: `GetThreadTimes` and its switch count; children: CPU time of the
/// worker processes from the job object's accounting (switches not measured: 0). Switches are
/// one total on Windows, reported as voluntary.
pub(crate) fn resource_usage(scope: UsageScope) -> Option<ResourceUsage> {
    match scope {
        UsageScope::Process => {
            let (user_s, sys_s) = process_times()?;
            let switches = process_threads(std::process::id())
                .map(|t| t.iter().map(|t| t.switches).sum())
                .unwrap_or(0);
            Some(ResourceUsage {
                voluntary_switches: switches,
                involuntary_switches: 0,
                user_s,
                sys_s,
            })
        }
        UsageScope::Thread => {
            let cpu = thread_cpu_time()?;
            let switches = task_switches(std::process::id(), thread_id()).unwrap_or(0);
            Some(ResourceUsage {
                voluntary_switches: switches,
                involuntary_switches: 0,
                user_s: cpu.as_secs_f64(),
                sys_s: 0.0,
            })
        }
        UsageScope::Children => {
            let job = children_job()?;
            // SAFETY: plain data filled by the call.
            let mut info: JOBOBJECT_BASIC_ACCOUNTING_INFORMATION = unsafe { std::mem::zeroed() };
            let ok = unsafe {
                QueryInformationJobObject(
                    handle(job),
                    JobObjectBasicAccountingInformation,
                    (&mut info as *mut JOBOBJECT_BASIC_ACCOUNTING_INFORMATION).cast(),
                    std::mem::size_of::<JOBOBJECT_BASIC_ACCOUNTING_INFORMATION>() as u32,
                    std::ptr::null_mut(),
                )
            };
            if ok == 0 {
                return None;
            }
            // The job holds this process too: its own times are taken out.
            let (user, sys) = process_times()?;
            Some(ResourceUsage {
                voluntary_switches: 0,
                involuntary_switches: 0,
                user_s: (info.TotalUserTime as f64 / 1e7 - user).max(0.0),
                sys_s: (info.TotalKernelTime as f64 / 1e7 - sys).max(0.0),
            })
        }
    }
}

/// Context switches of thread `tid` of process `pid` so far (the system process information).
pub(crate) fn task_switches(pid: u32, tid: u32) -> Option<u64> {
    process_threads(pid)?
        .into_iter()
        .find(|t| t.tid == tid)
        .map(|t| t.switches)
}

/// CPU time of thread `tid` of process `pid` so far, ns (kernel + user, tick resolution).
pub(crate) fn task_run_ns(pid: u32, tid: u32) -> Option<u64> {
    process_threads(pid)?
        .into_iter()
        .find(|t| t.tid == tid)
        .map(|t| t.run_100ns * 100)
}

/// Wait for `d` on a high-resolution waitable timer (`CREATE_WAITABLE_TIMER_HIGH_RESOLUTION`,
/// one per thread), falling back to an ordinary waitable timer where the flag is refused; returns
/// the wait actually achieved. (`Sleep` would round a 10 ms wait up to the 15.6 ms tick.)
pub(crate) fn sleep_for(d: Duration) -> Duration {
    thread_local! {
        static TIMER: HANDLE = unsafe {
            // SAFETY: creating an unnamed timer; a null result is checked below.
            let t = CreateWaitableTimerExW(
                std::ptr::null(),
                std::ptr::null(),
                CREATE_WAITABLE_TIMER_HIGH_RESOLUTION,
                TIMER_ALL_ACCESS,
            );
            if t.is_null() {
                CreateWaitableTimerExW(std::ptr::null(), std::ptr::null(), 0, TIMER_ALL_ACCESS)
            } else {
                t
            }
        };
    }
    let start = monotonic_ns();
    let waited = TIMER.with(|&t| {
        if t.is_null() {
            return false;
        }
        // Negative: relative, in 100 ns units.
        let due = -((d.as_nanos() / 100).clamp(1, i64::MAX as u128) as i64);
        // SAFETY: t is this thread's timer; no completion routine.
        unsafe {
            SetWaitableTimer(t, &due, 0, None, std::ptr::null(), 0) != 0
                && WaitForSingleObject(t, INFINITE) == WAIT_OBJECT_0
        }
    });
    if !waited {
        std::thread::sleep(d);
    }
    Duration::from_nanos(monotonic_ns().saturating_sub(start))
}

// ---------------------------------------------------------------------------------------------
// Memory.

/// A new zero-filled, pagefile-backed file mapping of `len` bytes whose handle worker processes
/// inherit (`CreateFileMappingW` with an inheritable handle).
pub(crate) fn shm_create(len: usize) -> io::Result<OwnedDesc> {
    let sa = SECURITY_ATTRIBUTES {
        nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
        lpSecurityDescriptor: std::ptr::null_mut(),
        bInheritHandle: 1,
    };
    let len = len as u64;
    // SAFETY: an unnamed pagefile-backed mapping; the result is checked.
    let h = unsafe {
        CreateFileMappingW(
            INVALID_HANDLE_VALUE,
            &sa,
            PAGE_READWRITE,
            (len >> 32) as u32,
            len as u32,
            std::ptr::null(),
        )
    };
    if h.is_null() {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: h is a fresh handle we own.
    Ok(unsafe { OwnedHandle::from_raw_handle(h) })
}

/// Touch one byte of every page of `addr..addr + len`, so the page tables are filled now.
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

/// Map `len` bytes of the file mapping `desc` read-write (`MapViewOfFile`); with `populate`,
/// touch every page now.
pub(crate) fn map_shared(desc: RawDesc, len: usize, populate: bool) -> io::Result<*mut u8> {
    // SAFETY: a new view chosen by the system; the result is checked.
    let view = unsafe { MapViewOfFile(handle(desc), FILE_MAP_ALL_ACCESS, 0, 0, len) };
    if view.Value.is_null() {
        return Err(io::Error::last_os_error());
    }
    let ptr = view.Value.cast::<u8>();
    if populate {
        // SAFETY: the view is len bytes, readable.
        unsafe { touch_pages(ptr, len) };
    }
    Ok(ptr)
}

/// Fault in `len` bytes at `addr` of a view of `desc` (every page touched; the contents stay the
/// same). Windows cannot remap a range in place, so nothing is remapped.
///
/// # Safety
/// `addr..addr + len` must lie inside a live view.
pub(crate) unsafe fn remap_populate(
    addr: *mut u8,
    len: usize,
    _desc: RawDesc,
    _offset: usize,
) -> io::Result<()> {
    touch_pages(addr, len);
    Ok(())
}

/// Fresh zero-filled read-write memory of `len` bytes (`VirtualAlloc`, 64 KiB-aligned).
pub(crate) fn map_anonymous(len: usize) -> io::Result<*mut u8> {
    // SAFETY: a fresh allocation; no existing memory is touched.
    let p = unsafe {
        VirtualAlloc(
            std::ptr::null(),
            len,
            MEM_COMMIT | MEM_RESERVE,
            PAGE_READWRITE,
        )
    };
    if p.is_null() {
        return Err(io::Error::last_os_error());
    }
    Ok(p.cast())
}

/// Release `len` bytes at `addr`: a view of a file mapping is unmapped whole
/// (`UnmapViewOfFile`); a range of [`map_anonymous`] memory is decommitted, and its allocation
/// released once none of it is committed any more (Windows cannot release part of one).
///
/// # Safety
/// The range must be (part of) a mapping the caller owns and nobody uses any more.
pub(crate) unsafe fn unmap(addr: *mut u8, len: usize) {
    let mut mbi: MEMORY_BASIC_INFORMATION = std::mem::zeroed();
    let size = std::mem::size_of::<MEMORY_BASIC_INFORMATION>();
    if VirtualQuery(addr.cast(), &mut mbi, size) == 0 {
        return;
    }
    if mbi.Type == MEM_MAPPED {
        UnmapViewOfFile(MEMORY_MAPPED_VIEW_ADDRESS {
            Value: mbi.AllocationBase,
        });
        return;
    }
    VirtualFree(addr.cast(), len, MEM_DECOMMIT);
    let base = mbi.AllocationBase;
    let mut p = base as usize;
    loop {
        let mut r: MEMORY_BASIC_INFORMATION = std::mem::zeroed();
        if VirtualQuery(p as *const _, &mut r, size) == 0 || r.AllocationBase != base {
            break;
        }
        if r.State == MEM_COMMIT {
            return;
        }
        p += r.RegionSize.max(1);
    }
    VirtualFree(base, 0, MEM_RELEASE);
}

/// Huge pages need a privilege on Windows: no advice is given (`false`).
///
/// # Safety
/// None needed; kept `unsafe` like the other platforms'.
pub(crate) unsafe fn advise_huge_pages(_addr: *mut u8, _len: usize) -> bool {
    false
}

/// No transparent huge pages on Windows: nothing to advise against (`false`).
///
/// # Safety
/// None needed; kept `unsafe` like the other platforms'.
pub(crate) unsafe fn advise_no_huge_pages(_addr: *mut u8, _len: usize) -> bool {
    false
}

/// No transparent huge pages on Windows: no setting (`None`).
pub(crate) fn transparent_huge_pages(_setting: &str) -> Option<String> {
    None
}

/// No transparent huge pages on Windows: not read (`None`).
pub(crate) fn anon_huge_pages_bytes(_pid: Option<u32>) -> Option<u64> {
    None
}

// ---------------------------------------------------------------------------------------------
// Waiting and waking.

/// Sleep while `word` holds `expected` (`WaitOnAddress`); may return spuriously.
pub(crate) fn wait_while_equal(word: &AtomicU32, expected: u32) {
    // SAFETY: word is a live, aligned u32; expected is read by the call only.
    unsafe {
        WaitOnAddress(
            word.as_ptr().cast(),
            (&expected as *const u32).cast(),
            4,
            INFINITE,
        )
    };
}

/// [`wait_while_equal`] for at most `timeout` (rounded up to whole milliseconds).
pub(crate) fn wait_while_equal_for(word: &AtomicU32, expected: u32, timeout: Duration) {
    let ms = timeout.as_micros().div_ceil(1000).min(INFINITE as u128 - 1) as u32;
    // SAFETY: as in wait_while_equal.
    unsafe {
        WaitOnAddress(
            word.as_ptr().cast(),
            (&expected as *const u32).cast(),
            4,
            ms,
        )
    };
}

/// Wake up to `count` threads waiting on `word` (`WakeByAddressSingle`, or `WakeByAddressAll`
/// for more than one).
pub(crate) fn wake(word: &AtomicU32, count: u32) {
    // SAFETY: the address of a live AtomicU32.
    unsafe {
        if count == 1 {
            WakeByAddressSingle(word.as_ptr().cast());
        } else {
            WakeByAddressAll(word.as_ptr().cast());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Processes, pipes and descriptors.

/// The job object every child started from here joins (see
/// [`kill_children_with_this_process`]); `None` where it could not be made.
fn children_job() -> Option<RawDesc> {
    static JOB: OnceLock<Option<RawDesc>> = OnceLock::new();
    *JOB.get_or_init(|| {
        // SAFETY: an unnamed job object; results are checked; the handle is kept for the life of
        // the process on purpose (closing it kills the children).
        unsafe {
            let job = CreateJobObjectW(std::ptr::null(), std::ptr::null());
            if job.is_null() {
                return None;
            }
            let mut limits: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = std::mem::zeroed();
            limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
            let set = SetInformationJobObject(
                job,
                JobObjectExtendedLimitInformation,
                (&limits as *const JOBOBJECT_EXTENDED_LIMIT_INFORMATION).cast(),
                std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
            );
            if set == 0 || AssignProcessToJobObject(job, GetCurrentProcess()) == 0 {
                CloseHandle(job);
                return None;
            }
            Some(job as isize as RawDesc)
        }
    })
}

/// Make every child process started from now on die with this one: this process joins a job
/// object set to kill on close (`JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`); children join it when they
/// are created, and when this process ends, however it ends, its handle closes and the system
/// kills them. Idempotent; an error says why it could not be arranged (the children then rely on
/// watching their parent, see [`die_with_parent`]).
pub(crate) fn kill_children_with_this_process() -> Result<(), String> {
    children_job().map(|_| ()).ok_or_else(|| {
        format!(
            "no kill-on-close job object: {}",
            io::Error::last_os_error()
        )
    })
}

/// Exit when the parent process `expected_parent_pid` ends: a thread waits on its process handle
/// (beside the job object the parent set up). `Err("parent already gone")` if it has ended.
pub(crate) fn die_with_parent(expected_parent_pid: u32) -> Result<(), String> {
    // SAFETY: OpenProcess returns null or a handle we own (kept by the watcher for ever).
    let h = unsafe {
        OpenProcess(
            PROCESS_SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION,
            0,
            expected_parent_pid,
        )
    };
    if h.is_null() {
        return Err("parent already gone".into());
    }
    // SAFETY: h is a live process handle.
    if unsafe { WaitForSingleObject(h, 0) } != WAIT_TIMEOUT {
        unsafe { CloseHandle(h) };
        return Err("parent already gone".into());
    }
    let h = h as isize;
    std::thread::Builder::new()
        .name("parent-watch".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            // SAFETY: the handle stays open for the life of this thread.
            unsafe { WaitForSingleObject(h as HANDLE, INFINITE) };
            std::process::exit(1);
        })
        .map_err(|e| format!("watching the parent: {e}"))?;
    Ok(())
}

/// The parent process's id as the system recorded it at this process's creation
/// (`NtQuerySystemInformation`'s process list); 0 where it cannot be read.
pub(crate) fn parent_pid() -> u32 {
    // The ntdll process entry holds InheritedFromUniqueProcessId in what windows-sys calls
    // Reserved2.
    let pid = std::process::id();
    let mut buf: Vec<u64> = vec![0; 256 * 1024];
    let mut needed = 0u32;
    // SAFETY: buf is valid for its byte length.
    let st = unsafe {
        NtQuerySystemInformation(
            SystemProcessInformation,
            buf.as_mut_ptr().cast(),
            (buf.len() * 8) as u32,
            &mut needed,
        )
    };
    if st < 0 {
        return 0;
    }
    let base = buf.as_ptr().cast::<u8>();
    let mut off = 0usize;
    loop {
        // SAFETY: entries chained inside the filled buffer.
        let p: SYSTEM_PROCESS_INFORMATION =
            unsafe { std::ptr::read_unaligned(base.add(off).cast()) };
        if p.UniqueProcessId as usize == pid as usize {
            return p.Reserved2 as usize as u32;
        }
        if p.NextEntryOffset == 0 {
            return 0;
        }
        off += p.NextEntryOffset as usize;
    }
}

/// No crash dialog for this process (`SetErrorMode(SEM_NOGPFAULTERRORBOX)`), for children that
/// crash on purpose.
pub(crate) fn disable_core_dumps() -> io::Result<()> {
    use windows_sys::Win32::System::Diagnostics::Debug::{SetErrorMode, SEM_NOGPFAULTERRORBOX};
    // SAFETY: no preconditions.
    unsafe { SetErrorMode(SEM_NOGPFAULTERRORBOX) };
    Ok(())
}

/// An anonymous pipe whose handles children do not inherit: `[read, write]` (`CreatePipe`).
pub(crate) fn pipe() -> io::Result<[RawDesc; 2]> {
    let (mut r, mut w): (HANDLE, HANDLE) = (std::ptr::null_mut(), std::ptr::null_mut());
    // SAFETY: valid out-pointers; null attributes: not inheritable.
    if unsafe { CreatePipe(&mut r, &mut w, std::ptr::null(), 0) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok([r as isize as RawDesc, w as isize as RawDesc])
}

/// Close a handle the caller owns and closes once.
pub(crate) fn close_fd(desc: RawDesc) {
    // SAFETY: the caller owns the handle.
    unsafe { CloseHandle(handle(desc)) };
}

/// One `ReadFile` into `buf`: bytes read, 0 at end of file (a closed writing end).
pub(crate) fn read_fd(desc: RawDesc, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0u32;
    let len = buf.len().min(u32::MAX as usize) as u32;
    // SAFETY: buf is valid for len bytes; synchronous handle.
    let ok = unsafe {
        ReadFile(
            handle(desc),
            buf.as_mut_ptr(),
            len,
            &mut n,
            std::ptr::null_mut(),
        )
    };
    if ok == 0 {
        // SAFETY: no preconditions.
        return match unsafe { GetLastError() } {
            ERROR_BROKEN_PIPE => Ok(0),
            e => Err(io::Error::from_raw_os_error(e as i32)),
        };
    }
    Ok(n as usize)
}

/// One `WriteFile` of `buf`: bytes written; a closed reading end is a `BrokenPipe` error.
pub(crate) fn write_fd(desc: RawDesc, buf: &[u8]) -> io::Result<usize> {
    let mut n = 0u32;
    let len = buf.len().min(u32::MAX as usize) as u32;
    // SAFETY: buf is valid for len bytes; synchronous handle.
    let ok = unsafe {
        WriteFile(
            handle(desc),
            buf.as_ptr(),
            len,
            &mut n,
            std::ptr::null_mut(),
        )
    };
    if ok == 0 {
        // SAFETY: no preconditions.
        return match unsafe { GetLastError() } {
            ERROR_BROKEN_PIPE | ERROR_NO_DATA => Err(io::ErrorKind::BrokenPipe.into()),
            e => Err(io::Error::from_raw_os_error(e as i32)),
        };
    }
    Ok(n as usize)
}

/// CPUs in this machine, whatever this process's affinity (`num_cpus::get`, which counts every
/// processor group's CPUs on Windows).
pub(crate) fn online_cpus() -> usize {
    num_cpus::get()
}

/// When the process is told to terminate, write `message` first. MPI jobs, which are what needs
/// it, are not run on Windows: nothing to do.
pub(crate) fn announce_termination(_message: &'static str) {}

/// This machine's name (`COMPUTERNAME`): what names a rank's host in distributed rows.
pub(crate) fn host_name() -> String {
    std::env::var("COMPUTERNAME").unwrap_or_else(|_| "unknown-host".into())
}

/// Columns of the console window on stdout; `None` when stdout is not a console.
pub(crate) fn terminal_columns() -> Option<usize> {
    // SAFETY: plain data filled by the call.
    let mut info: CONSOLE_SCREEN_BUFFER_INFO = unsafe { std::mem::zeroed() };
    let ok = unsafe { GetConsoleScreenBufferInfo(GetStdHandle(STD_OUTPUT_HANDLE), &mut info) };
    let cols = info.srWindow.Right as i32 - info.srWindow.Left as i32 + 1;
    (ok != 0 && cols > 0).then_some(cols as usize)
}

// ---------------------------------------------------------------------------------------------
// What the system says about the machine.

/// The CPU's brand string (CPUID leaves 0x80000002..4).
pub(crate) fn cpu_model() -> Option<String> {
    super::cpuid_brand()
}

/// The CPU beyond its name, from CPUID: vendor, family, model, stepping, the hypervisor flag
/// and vector extensions (frequency and caches are not read: `None`).
pub(crate) fn cpu_details() -> super::CpuDetails {
    super::cpuid_details()
}

/// Whether the CPU has `flag` (CPUID: `hypervisor`, `avx2`, `avx512f`, `fma`, `sse4_2`, ...);
/// `None` for flags CPUID is not asked about here.
pub(crate) fn cpuinfo_flag(flag: &str) -> Option<bool> {
    super::cpuid_flag(flag)
}

/// `MemTotal` and `MemAvailable` in bytes (`GlobalMemoryStatusEx`).
pub(crate) fn meminfo_bytes(field: &str) -> Option<u64> {
    // SAFETY: plain data with its length set, filled by the call.
    let mut m: MEMORYSTATUSEX = unsafe { std::mem::zeroed() };
    m.dwLength = std::mem::size_of::<MEMORYSTATUSEX>() as u32;
    if unsafe { GlobalMemoryStatusEx(&mut m) } == 0 {
        return None;
    }
    match field {
        "MemTotal" => Some(m.ullTotalPhys),
        "MemAvailable" | "MemFree" => Some(m.ullAvailPhys),
        _ => None,
    }
}

/// Per-CPU time since boot (`SystemProcessorPerformanceInformation`), in 100 ns ticks: user,
/// system (kernel time less idle), idle. Interrupt and DPC time are inside system; steal is not
/// known (0).
pub(crate) fn cpu_times() -> Option<Vec<CpuTimes>> {
    let n: usize = group_sizes().iter().sum();
    let mut buf = vec![
        SYSTEM_PROCESSOR_PERFORMANCE_INFORMATION {
            IdleTime: 0,
            KernelTime: 0,
            UserTime: 0,
            Reserved1: [0; 2],
            Reserved2: 0,
        };
        n.max(1)
    ];
    let mut got = 0u32;
    let bytes = std::mem::size_of_val(buf.as_slice()) as u32;
    // SAFETY: buf is valid for bytes.
    let st = unsafe {
        NtQuerySystemInformation(
            SystemProcessorPerformanceInformation,
            buf.as_mut_ptr().cast(),
            bytes,
            &mut got,
        )
    };
    if st < 0 {
        return None;
    }
    let count = got as usize / std::mem::size_of::<SYSTEM_PROCESSOR_PERFORMANCE_INFORMATION>();
    let cpus: Vec<CpuTimes> = buf
        .iter()
        .take(count)
        .enumerate()
        .map(|(cpu, p)| CpuTimes {
            cpu,
            user: p.UserTime.max(0) as u64,
            system: (p.KernelTime - p.IdleTime).max(0) as u64,
            idle: p.IdleTime.max(0) as u64,
            ..CpuTimes::default()
        })
        .collect();
    (!cpus.is_empty()).then_some(cpus)
}

/// The unit of [`cpu_times`]: 100 ns ticks.
pub(crate) fn clock_ticks_per_second() -> Option<u64> {
    Some(10_000_000)
}

/// The Windows version, `10.0.19045` (`RtlGetVersion`).
pub(crate) fn kernel_release() -> Option<String> {
    use windows_sys::Wdk::System::SystemServices::RtlGetVersion;
    use windows_sys::Win32::System::SystemInformation::OSVERSIONINFOW;
    // SAFETY: plain data with its size set, filled by the call.
    let mut v: OSVERSIONINFOW = unsafe { std::mem::zeroed() };
    v.dwOSVersionInfoSize = std::mem::size_of::<OSVERSIONINFOW>() as u32;
    if unsafe { RtlGetVersion(&mut v) } < 0 {
        return None;
    }
    Some(format!(
        "{}.{}.{}",
        v.dwMajorVersion, v.dwMinorVersion, v.dwBuildNumber
    ))
}

/// `Windows` (the version is in [`kernel_release`]).
pub(crate) fn os_name() -> Option<String> {
    Some("Windows".into())
}

/// No file holds the scheduler's quantum on Windows.
pub(crate) const KERNEL_SLICE_FILES: [&str; 0] = [];

/// The scheduler's quantum is not readable on Windows: `None`.
pub(crate) fn kernel_slice_ns() -> Option<(&'static str, u64)> {
    None
}

// ---------------------------------------------------------------------------------------------
// Waiting on descriptors, and the limits that refuse new workers.

/// Wait until the pipe `desc` has data to read (or its writing end is closed), at most `timeout`
/// (`None`: no limit), polling `PeekNamedPipe` every millisecond. `Ok(false)` when the time ran
/// out.
pub(crate) fn wait_readable(desc: RawDesc, timeout: Option<Duration>) -> io::Result<bool> {
    let deadline = timeout.map(|t| std::time::Instant::now() + t);
    loop {
        let mut avail = 0u32;
        // SAFETY: a peek without a buffer; only the count is written.
        let ok = unsafe {
            PeekNamedPipe(
                handle(desc),
                std::ptr::null_mut(),
                0,
                std::ptr::null_mut(),
                &mut avail,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 {
            // SAFETY: no preconditions.
            return match unsafe { GetLastError() } {
                // End of file is readable.
                ERROR_BROKEN_PIPE => Ok(true),
                e => Err(io::Error::from_raw_os_error(e as i32)),
            };
        }
        if avail > 0 {
            return Ok(true);
        }
        if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The limit that most likely refused to start a thread or process with error `e`: `memory`
/// (`ERROR_NOT_ENOUGH_MEMORY`, `ERROR_COMMITMENT_LIMIT`, `ERROR_NO_SYSTEM_RESOURCES`) or `the
/// limit on open handles`. `None` for other errors.
pub(crate) fn limit_behind(e: &io::Error) -> Option<String> {
    match e.raw_os_error()? {
        8 | 14 | 1455 => Some("memory".into()),
        1450 => Some("the system's resources (ERROR_NO_SYSTEM_RESOURCES)".into()),
        4 => Some("the limit on open handles".into()),
        _ => None,
    }
}

/// Windows cannot swap two directories atomically: always an `Unsupported` error, and the caller
/// takes its rename fallback.
pub(crate) fn exchange_paths(_a: &Path, _b: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "no atomic exchange of two paths on Windows",
    ))
}

// ---------------------------------------------------------------------------------------------
// What the lab's experiments need beyond the strategies: mostly Unix ideas with no Windows
// counterpart, reported as unsupported so the claims that need them say so.

fn unsupported<T>(what: &str) -> io::Result<T> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!("{what} does not exist on Windows"),
    ))
}

/// A per-thread nice value: not on Windows (priorities are classes, not nice values).
pub(crate) fn set_thread_nice(_nice: i32) -> io::Result<()> {
    unsupported("a per-thread nice value")
}

/// The kernel's tick counter is not readable here.
pub(crate) fn jiffies_now() -> Option<(u64, u64)> {
    None
}

/// Windows has no fork.
pub(crate) fn fork_exit_and_reap() -> io::Result<()> {
    unsupported("fork")
}

/// Windows has no fork.
pub(crate) fn fork_with(_body: &mut dyn FnMut() -> i32) -> io::Result<u32> {
    unsupported("fork")
}

/// Windows has no fork, so no forked child to wait for.
pub(crate) fn wait_child(_pid: u32) -> io::Result<i32> {
    unsupported("fork")
}

/// Anonymous pipes take their buffer size at creation only.
pub(crate) fn set_pipe_size(_desc: RawDesc, _bytes: usize) -> io::Result<usize> {
    unsupported("resizing a pipe")
}

/// Cache sizes are not read on Windows yet.
pub(crate) fn largest_cache_bytes() -> Option<usize> {
    None
}

/// Cache sizes are not read on Windows yet.
pub(crate) fn cache_bytes(_level: u32) -> Option<usize> {
    None
}

/// Which CPUs share a cache is not read on Windows yet.
pub(crate) fn cache_shared_cpu_list(_level: u32) -> Option<String> {
    None
}

/// A TCP listener on `addr` with room for `backlog` connections not yet accepted.
pub(crate) fn tcp_listener(
    addr: std::net::SocketAddr,
    backlog: i32,
) -> io::Result<std::net::TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    Ok(socket.into())
}

/// Windows has no open-files limit of the Unix kind (`None`).
pub(crate) fn open_files_limit() -> Option<(u64, u64)> {
    None
}

/// Nothing to raise on Windows: handles are limited by memory only.
pub(crate) fn raise_open_files_limit() -> io::Result<u64> {
    Ok(u64::MAX)
}

/// Give the heap's free pages back: resident memory is not read here, so nothing to do.
pub(crate) fn release_free_heap() {}

/// Resident memory of a process: not read on Windows (`None`).
pub(crate) fn process_rss_bytes(_pid: Option<u32>) -> Option<u64> {
    None
}

/// Another process's switches and CPU time: not read on Windows (`None`).
pub(crate) fn process_usage(_pid: u32) -> Option<ResourceUsage> {
    None
}

/// Handing a socket to a child process: not done on Windows (`Unsupported`).
pub(crate) fn set_inheritable(_desc: RawDesc, _inheritable: bool) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "concbench hands a listening socket to worker processes on Unix only",
    ))
}

/// See [`set_inheritable`]: `Unsupported` on Windows.
pub(crate) fn inherited_tcp_listener(_desc: RawDesc) -> io::Result<std::net::TcpListener> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "concbench hands a listening socket to worker processes on Unix only",
    ))
}

/// A listening socket's handle value (never handed to a child on Windows: see
/// [`set_inheritable`]).
pub(crate) fn listener_desc(listener: &std::net::TcpListener) -> RawDesc {
    std::os::windows::io::AsRawSocket::as_raw_socket(listener) as RawDesc
}

/// What a path that is neither a regular file nor a directory is, in words; Windows' metadata
/// names no FIFOs, sockets or devices, so `None` (the caller refuses what is not a regular
/// file all the same).
pub(crate) fn special_file_kind(_meta: &std::fs::Metadata) -> Option<&'static str> {
    None
}

/// Open `path` for reading (a Windows open does not wait for a writer, so no flag is needed).
pub(crate) fn open_for_reading_nonblocking(path: &Path) -> io::Result<std::fs::File> {
    std::fs::File::open(path)
}

/// Which file `meta` describes; `None` on Windows (the volume serial number and file index are
/// not stable in std), where callers compare canonical paths instead.
pub(crate) fn file_identity(_meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}
