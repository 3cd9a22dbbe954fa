//! The operating system, behind one door: every platform call concbench makes lives here.
//!
//! What it owns: CPU affinity and placement (the allowed CPUs, pinning a thread, the CPU a thread
//! runs on, where the physical-core topology is described), thread ids, resource usage and
//! per-thread CPU time, the monotonic clock, shared and anonymous memory mappings (memfd,
//! `MAP_SHARED`, pre-faulting, huge-page advice), futex wait and wake, pipes and raw descriptor
//! reads and writes, what a child process does when its parent dies, core-dump limits, the
//! terminal's width, what kind of special file a path is and opening a file without blocking on
//! it (result files read as untrusted input), and every read of `/proc`, `/sys` and `/etc/os-release` (CPU model and flags,
//! memory, per-CPU time (`/proc/stat`), kernel release and time slice, per-task switch counts).
//!
//! There is one implementation per platform, each with the same function set: `linux.rs`,
//! `windows.rs` (`windows-sys`: processor groups, file mappings, job objects, waitable timers) and
//! `macos.rs` (compile-checked only: no thread pinning, no current CPU). Everything else in the
//! crate calls the functions re-exported here and never `libc`, `windows-sys` or a kernel file
//! directly. This module imports nothing from the rest of the crate: it is the bottom layer.
//!
//! Where a caller must decide, a platform answers with a capability: [`can_pin_threads`] (false
//! on macOS: placements are not enforced, `single-core-threaded` is refused with
//! [`NO_PINNING_REASON`]), [`platform_notes`] (what every output must say about the figures),
//! [`performance_efficiency_cores`] and [`SWITCH_KINDS_SPLIT`].
//!
//! What a platform may lack is never a panic. It is an `Option` or `Result` the caller decides
//! about: [`allowed_cpus`], `thread_affinity` (tests), [`current_cpu`], [`cpu_topology_dir`],
//! [`thread_cpu_time`], [`resource_usage`] (a per-thread scope in particular), [`task_switches`],
//! [`task_run_ns`], [`cpu_times`], [`clock_ticks_per_second`], [`cpu_model`], [`cpuinfo_flag`], [`meminfo_bytes`],
//! [`kernel_release`], [`os_name`], [`kernel_slice_ns`] and [`terminal_columns`] return `Option`;
//! pinning, mappings, pipes, [`die_with_parent`] and [`disable_core_dumps`] return `Result`.
//! Descriptor-shaped functions (shared memory, pipes) take a [`RawDesc`]: a file descriptor on
//! Unix, a handle value on Windows; [`OwnedDesc`] owns one and [`desc_of`] reads one.
//!
//! The pure parsers of kernel text ([`parse_cpu_model`], [`parse_cpu_flag`],
//! [`parse_cpuinfo_details`], [`parse_cache_size`], [`cache_sizes`], [`parse_meminfo`],
//! [`parse_status_switches`], [`parse_first_number`], [`parse_proc_stat`]) are platform-neutral
//! and tested here with fixed strings. [`cpu_details`] describes the CPU beyond its name, with
//! `None` for whatever the platform does not say.

// Every platform's module uses some of the platform-neutral parsers and facts here and not
// others; the Linux build, which CI tests, keeps the strict dead-code check.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use unix::*;
#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub(crate) use linux::*;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub(crate) use windows::*;
#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
pub(crate) use macos::*;

/// A descriptor as a number that can travel to a child process in its job: a file descriptor on
/// Linux and macOS, a handle value on Windows (which keeps handle values within 32 bits so that
/// 32- and 64-bit processes can share them: truncating and sign-extending is safe). Pipes and
/// shared memory are named by it; [`desc_of`] reads it from an open file, pipe or handle.
pub(crate) type RawDesc = i32;

/// The note every output carries on a platform that cannot pin threads.
#[cfg_attr(all(target_os = "linux", not(test)), allow(dead_code))] // used by windows.rs or macos.rs
pub(crate) const UNPINNED_NOTE: &str = "placement not enforced (macOS cannot pin threads)";

/// Why `single-core-threaded` cannot run on a platform without thread pinning, and what to use
/// instead.
pub(crate) const NO_PINNING_REASON: &str =
    "single-core-threaded needs threads pinned to one core, \
    and macOS cannot pin threads (affinity tags are hints, Apple silicon ignores them); \
    run it in a Linux VM, which pins within its virtual CPUs";

/// [`NO_PINNING_REASON`] for any experiment `what` that pins its workers to one core.
pub fn no_pinning_reason(what: &str) -> String {
    format!(
        "{what} needs threads pinned to one core, and macOS cannot pin threads (affinity tags \
         are hints, Apple silicon ignores them); run it in a Linux VM, which pins within its \
         virtual CPUs"
    )
}

/// Whether speedups at `cores` workers mix performance and efficiency cores: true when the
/// machine has efficiency cores (`pe` = (performance, efficiency) physical cores) and `cores`
/// is more than its performance cores.
pub(crate) fn mixes_core_types(cores: usize, pe: Option<(usize, usize)>) -> bool {
    matches!(pe, Some((p, e)) if e > 0 && cores > p)
}

/// The warning beside results at `max_cores` workers on a machine with performance and
/// efficiency cores, or `None` when no row goes past the performance cores.
pub(crate) fn core_types_warning(max_cores: usize, pe: Option<(usize, usize)>) -> Option<String> {
    let (p, e) = pe?;
    mixes_core_types(max_cores, pe).then(|| {
        format!(
            "this machine has {p} performance and {e} efficiency cores: speedups beyond {p} \
             workers mix core types (an efficiency core is slower), so they are not speedups \
             of identical cores"
        )
    })
}

/// Global CPU numbers of the set bits of `mask` in a processor group whose first CPU is `base`
/// (Windows numbers CPUs across its processor groups, group 0 first).
#[cfg_attr(all(target_os = "linux", not(test)), allow(dead_code))] // used by windows.rs or macos.rs
pub(crate) fn mask_cpus(mask: u64, base: usize) -> Vec<usize> {
    (0..64)
        .filter(|b| mask & (1 << b) != 0)
        .map(|b| base + b)
        .collect()
}

/// The processor group and the number within it of global CPU `cpu`, given the active
/// processors of each group; `None` beyond the last.
#[cfg_attr(all(target_os = "linux", not(test)), allow(dead_code))] // used by windows.rs or macos.rs
pub(crate) fn cpu_in_groups(group_sizes: &[usize], cpu: usize) -> Option<(u16, usize)> {
    let mut first = 0;
    for (g, &n) in group_sizes.iter().enumerate() {
        if cpu < first + n {
            return Some((g as u16, cpu - first));
        }
        first += n;
    }
    None
}

/// The global number of the first CPU of processor group `group`.
#[cfg_attr(all(target_os = "linux", not(test)), allow(dead_code))] // used by windows.rs or macos.rs
pub(crate) fn group_base(group_sizes: &[usize], group: u16) -> usize {
    group_sizes.iter().take(group as usize).sum()
}

/// Where CPUID reports a feature flag: (leaf, subleaf, register index eax=0 ebx=1 ecx=2 edx=3,
/// bit), for the `/proc/cpuinfo` names concbench asks about.
pub(crate) fn cpuid_flag_location(flag: &str) -> Option<(u32, u32, usize, u32)> {
    Some(match flag {
        "sse4_2" => (1, 0, 2, 20),
        "fma" => (1, 0, 2, 12),
        "avx" => (1, 0, 2, 28),
        "hypervisor" => (1, 0, 2, 31),
        "pcid" => (1, 0, 2, 17),
        "avx2" => (7, 0, 1, 5),
        "avx512f" => (7, 0, 1, 16),
        _ => return None,
    })
}

/// Whether the CPU has `flag` according to CPUID (x86-64 only; `None` elsewhere or for a flag
/// [`cpuid_flag_location`] does not know).
pub(crate) fn cpuid_flag(flag: &str) -> Option<bool> {
    let (leaf, sub, reg, bit) = cpuid_flag_location(flag)?;
    cpuid(leaf, sub).map(|r| r[reg] & (1 << bit) != 0)
}

/// Entries of the second-level data TLB for 4 KiB pages, from CPUID (x86-64 only): Intel's
/// deterministic address translation leaf 0x18, else AMD's leaf 0x80000006. `None` where CPUID
/// does not say (a hypervisor may hide both leaves).
pub(crate) fn l2_tlb_4k_entries() -> Option<usize> {
    let intel = cpuid(0x18, 0).and_then(|first| {
        let subs: Vec<[u32; 4]> = (0..=first[0].min(16))
            .filter_map(|i| cpuid(0x18, i))
            .collect();
        decode_tlb_leaf_18(&subs)
    });
    intel.or_else(|| cpuid(0x8000_0006, 0).and_then(|r| decode_tlb_amd_80000006(r[1])))
}

/// The L2 data (or unified) TLB's 4 KiB entries from the subleaves of CPUID leaf 0x18: type
/// EDX bits 4:0 (1 data, 3 unified), level EDX bits 7:5, 4 KiB pages EBX bit 0, ways EBX bits
/// 31:16, sets ECX.
pub(crate) fn decode_tlb_leaf_18(subleaves: &[[u32; 4]]) -> Option<usize> {
    subleaves
        .iter()
        .filter(|r| {
            let (kind, level) = (r[3] & 0x1f, (r[3] >> 5) & 0x7);
            level == 2 && (kind == 1 || kind == 3) && r[1] & 1 == 1
        })
        .map(|r| ((r[1] >> 16) as usize) * (r[2] as usize).max(1))
        .filter(|&n| n > 0)
        .max()
}

/// The L2 data TLB's 4 KiB entries from EBX of AMD's CPUID leaf 0x80000006 (bits 27:16).
pub(crate) fn decode_tlb_amd_80000006(ebx: u32) -> Option<usize> {
    let n = ((ebx >> 16) & 0xfff) as usize;
    (n > 0).then_some(n)
}

/// The CPU's brand string from CPUID leaves 0x80000002..4 (x86-64 only).
#[cfg_attr(all(target_os = "linux", not(test)), allow(dead_code))] // used by windows.rs or macos.rs
pub(crate) fn cpuid_brand() -> Option<String> {
    let max = cpuid(0x8000_0000, 0)?[0];
    if max < 0x8000_0004 {
        return None;
    }
    let mut bytes = Vec::with_capacity(48);
    for leaf in 0x8000_0002..=0x8000_0004u32 {
        for r in cpuid(leaf, 0)? {
            bytes.extend_from_slice(&r.to_le_bytes());
        }
    }
    let s = String::from_utf8_lossy(&bytes);
    let s = s.trim_matches(char::from(0)).trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// CPUID `leaf`/`sub` as [eax, ebx, ecx, edx]; `None` off x86-64 or beyond the highest leaf.
#[allow(unused_unsafe)]
fn cpuid(leaf: u32, sub: u32) -> Option<[u32; 4]> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::__cpuid_count;
        // SAFETY: CPUID exists on every x86-64 CPU; leaves are checked against the maximum.
        let max = unsafe { __cpuid_count(leaf & 0x8000_0000, 0) }.eax;
        if leaf > max {
            return None;
        }
        let r = unsafe { __cpuid_count(leaf, sub) };
        Some([r.eax, r.ebx, r.ecx, r.edx])
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (leaf, sub);
        None
    }
}

/// Which execution a [`resource_usage`] reading covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UsageScope {
    /// Every thread of this process (`RUSAGE_SELF`).
    Process,
    /// Child processes that have been waited for (`RUSAGE_CHILDREN`).
    Children,
    /// The calling thread only (`RUSAGE_THREAD`).
    Thread,
}

/// Context switches and CPU time the kernel counted for a [`UsageScope`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct ResourceUsage {
    /// Voluntary context switches.
    pub voluntary_switches: u64,
    /// Involuntary context switches.
    pub involuntary_switches: u64,
    /// User CPU seconds.
    pub user_s: f64,
    /// System CPU seconds.
    pub sys_s: f64,
}

/// Time one CPU spent in each state since boot, in clock ticks (a `cpuN` line of `/proc/stat`;
/// see [`clock_ticks_per_second`]). Guest time is already inside `user` and `nice`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CpuTimes {
    /// The CPU's number (`N` of `cpuN`).
    pub cpu: usize,
    /// Normal user mode.
    pub user: u64,
    /// Niced user mode.
    pub(crate) nice: u64,
    /// Kernel mode.
    pub(crate) system: u64,
    /// Idle.
    pub idle: u64,
    /// Idle while I/O was outstanding.
    pub(crate) iowait: u64,
    /// Servicing interrupts.
    pub(crate) irq: u64,
    /// Servicing soft interrupts.
    pub(crate) softirq: u64,
    /// Taken by the hypervisor for other guests while this CPU wanted to run.
    pub(crate) steal: u64,
}

impl CpuTimes {
    /// Ticks some program (any) ran on the CPU: user, nice, system, irq and softirq.
    pub fn busy(&self) -> u64 {
        self.user + self.nice + self.system + self.irq + self.softirq
    }

    /// Every tick the CPU accounted: busy, idle, iowait and steal.
    pub fn total(&self) -> u64 {
        self.busy() + self.idle + self.iowait + self.steal
    }
}

/// The per-CPU lines (`cpu0`, `cpu1`, ...) of `/proc/stat` text; the summed `cpu` line and
/// anything unreadable are left out. Kernels before 2.6.11 lack `steal`: it reads as 0.
pub(crate) fn parse_proc_stat(text: &str) -> Vec<CpuTimes> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let cpu: usize = f.next()?.strip_prefix("cpu")?.parse().ok()?;
            let v: Vec<u64> = f.take(8).map_while(|x| x.parse().ok()).collect();
            (v.len() >= 7).then(|| CpuTimes {
                cpu,
                user: v[0],
                nice: v[1],
                system: v[2],
                idle: v[3],
                iowait: v[4],
                irq: v[5],
                softirq: v[6],
                steal: v.get(7).copied().unwrap_or(0),
            })
        })
        .collect()
}

/// Physical cores of the whole machine from `num_cpus::get_physical()`: the portable fallback
/// when no per-CPU topology ([`cpu_topology_dir`]) can be read. It ignores the affinity mask, so
/// callers cap it by the CPUs they may use. (This is where the `num_cpus` dependency earns its
/// place beside the Linux `/sys` reading.)
pub(crate) fn machine_physical_cores() -> usize {
    num_cpus::get_physical()
}

/// What the system says about the CPU beyond its model name ([`cpu_details`]): each field is
/// `None` where the platform does not give it, never a guess.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct CpuDetails {
    /// `vendor_id` (`AuthenticAMD`, `GenuineIntel`; CPUID leaf 0; `machdep.cpu.vendor`).
    pub(crate) vendor: Option<String>,
    /// `cpu family`.
    pub family: Option<u32>,
    /// `model` (the number, not the name).
    pub model: Option<u32>,
    /// `stepping`.
    pub(crate) stepping: Option<u32>,
    /// Frequency the kernel reported when read (`cpu MHz`), MHz.
    pub(crate) mhz: Option<f64>,
    /// Highest frequency (`cpufreq/cpuinfo_max_freq`; `hw.cpufrequency_max`), MHz.
    pub(crate) max_mhz: Option<f64>,
    /// Level 1 data cache of one core, bytes.
    pub(crate) l1d_bytes: Option<u64>,
    /// Level 2 cache (one core's, or the cluster's it belongs to), bytes.
    pub(crate) l2_bytes: Option<u64>,
    /// Level 3 cache, bytes.
    pub(crate) l3_bytes: Option<u64>,
    /// Whether the CPU says it runs under a hypervisor (the `hypervisor` flag).
    pub(crate) hypervisor: Option<bool>,
    /// The notable vector extensions of [`NOTABLE_VECTOR_FLAGS`] the CPU lists; `None` where it
    /// lists no flags at all.
    pub(crate) vector_extensions: Option<Vec<String>>,
}

/// Vector extensions worth naming beside a figure (x86 `flags`, Arm `Features` names).
pub(crate) const NOTABLE_VECTOR_FLAGS: [&str; 7] =
    ["avx", "avx2", "fma", "avx512f", "asimd", "sve", "sve2"];

/// The details of the first CPU in `/proc/cpuinfo` text: vendor, family, model, stepping,
/// `cpu MHz`, the `hypervisor` flag and the notable vector extensions (from `flags`, or Arm's
/// `Features`). Caches and the highest frequency come from elsewhere ([`parse_cache_size`]).
pub(crate) fn parse_cpuinfo_details(cpuinfo: &str) -> CpuDetails {
    // The first processor's block only.
    let block = cpuinfo.split("\n\n").next().unwrap_or("");
    let field = |name: &str| {
        block.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == name).then(|| v.trim().to_string())
        })
    };
    let number = |name: &str| field(name).and_then(|v| v.parse::<u32>().ok());
    let flags = field("flags").or_else(|| field("Features"));
    CpuDetails {
        vendor: field("vendor_id").filter(|v| !v.is_empty()),
        family: number("cpu family"),
        model: number("model"),
        stepping: number("stepping"),
        mhz: field("cpu MHz")
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| *v > 0.0),
        hypervisor: flags
            .as_ref()
            .map(|f| f.split_whitespace().any(|x| x == "hypervisor")),
        vector_extensions: flags.as_ref().map(|f| {
            NOTABLE_VECTOR_FLAGS
                .iter()
                .filter(|n| f.split_whitespace().any(|x| x == **n))
                .map(|n| n.to_string())
                .collect()
        }),
        ..CpuDetails::default()
    }
}

/// A cache size as sysfs writes it (`32K`, `1024K`, `32768K`, `1M`, plain bytes) in bytes.
pub(crate) fn parse_cache_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits.parse().ok()?;
    let scale = match unit.trim() {
        "" | "B" => 1,
        "K" | "KB" | "KiB" => 1 << 10,
        "M" | "MB" | "MiB" => 1 << 20,
        "G" | "GB" | "GiB" => 1 << 30,
        _ => return None,
    };
    Some(n * scale)
}

/// L1 data, L2 and L3 sizes in bytes from the `(level, type, size)` texts of one CPU's cache
/// entries (`/sys/devices/system/cpu/cpu0/cache/index*/{level,type,size}`); instruction caches
/// are left out, and a level with no entry is `None`.
pub(crate) fn cache_sizes(entries: &[(String, String, String)]) -> [Option<u64>; 3] {
    let find = |level: &str, data: bool| {
        entries.iter().find_map(|(l, t, size)| {
            let t = t.trim();
            let kind = if data {
                t == "Data"
            } else {
                t == "Unified" || t == "Data"
            };
            (l.trim() == level && kind)
                .then(|| parse_cache_size(size))
                .flatten()
        })
    };
    [find("1", true), find("2", false), find("3", false)]
}

/// Vendor, family, model, stepping, the hypervisor flag and the notable vector extensions from
/// CPUID (x86-64; `None` fields elsewhere), for platforms without `/proc/cpuinfo`.
#[cfg_attr(target_os = "linux", allow(dead_code))] // used by windows.rs and macos.rs
pub(crate) fn cpuid_details() -> CpuDetails {
    let Some(leaf0) = cpuid(0, 0) else {
        return CpuDetails::default();
    };
    let mut vendor = Vec::with_capacity(12);
    for r in [leaf0[1], leaf0[3], leaf0[2]] {
        vendor.extend_from_slice(&r.to_le_bytes());
    }
    let vendor = String::from_utf8_lossy(&vendor).trim().to_string();
    let (mut family, mut model, mut stepping) = (None, None, None);
    if let Some(r) = cpuid(1, 0) {
        let eax = r[0];
        let base_family = (eax >> 8) & 0xf;
        let f = if base_family == 0xf {
            base_family + ((eax >> 20) & 0xff)
        } else {
            base_family
        };
        let m = if base_family == 0x6 || base_family == 0xf {
            ((eax >> 16) & 0xf) << 4 | ((eax >> 4) & 0xf)
        } else {
            (eax >> 4) & 0xf
        };
        family = Some(f);
        model = Some(m);
        stepping = Some(eax & 0xf);
    }
    CpuDetails {
        vendor: (!vendor.is_empty()).then_some(vendor),
        family,
        model,
        stepping,
        hypervisor: cpuid_flag("hypervisor"),
        vector_extensions: Some(
            NOTABLE_VECTOR_FLAGS
                .iter()
                .filter(|f| cpuid_flag(f) == Some(true))
                .map(|f| f.to_string())
                .collect(),
        ),
        ..CpuDetails::default()
    }
}

/// The `model name` of the first CPU in `/proc/cpuinfo` text.
pub(crate) fn parse_cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

/// Whether the first `flags` line of `/proc/cpuinfo` text lists `flag` (a whole word).
pub(crate) fn parse_cpu_flag(cpuinfo: &str, flag: &str) -> bool {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .is_some_and(|l| l.split_whitespace().any(|f| f == flag))
}

/// A field of `/proc/meminfo` text (`MemTotal`, `MemAvailable`, ...) in bytes.
pub(crate) fn parse_meminfo(meminfo: &str, field: &str) -> Option<u64> {
    let line = meminfo
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The bracketed choice of a kernel setting's text, as `/sys` shows one: `always [madvise] never`
/// gives `madvise`.
pub(crate) fn parse_bracketed_choice(text: &str) -> Option<String> {
    let start = text.find('[')? + 1;
    let len = text[start..].find(']')?;
    Some(text[start..start + len].to_string())
}

/// Voluntary plus involuntary context switches in `/proc/PID/task/TID/status` text (0 when the
/// lines are absent).
pub(crate) fn parse_status_switches(status: &str) -> u64 {
    status
        .lines()
        .filter(|l| {
            l.starts_with("voluntary_ctxt_switches") || l.starts_with("nonvoluntary_ctxt_switches")
        })
        .filter_map(|l| l.split_once(':')?.1.trim().parse::<u64>().ok())
        .sum()
}

/// The first whitespace-separated field of `text` as a number (`schedstat`'s on-CPU ns, a sysctl value).
pub(crate) fn parse_first_number<T: std::str::FromStr>(text: &str) -> Option<T> {
    text.split_whitespace().next()?.parse().ok()
}

/// The jiffies counter and the clock (ns) from the text of `/proc/timer_list`: its `now at N
/// nsecs` line and its first `jiffies: N` line.
pub(crate) fn parse_timer_list(text: &str) -> Option<(u64, u64)> {
    let now = text.lines().find_map(|l| {
        l.trim()
            .strip_prefix("now at ")?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    })?;
    let jiffies = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("jiffies:")?.trim().parse().ok())?;
    Some((jiffies, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CPUINFO: &str = "processor\t: 0\nvendor_id\t: AuthenticAMD\n\
        model name\t: AMD EPYC 9R14 96-Core Processor\n\
        flags\t\t: fpu vme de pse avx2 hypervisor_x hypervisor lahf_lm\n\n\
        processor\t: 1\nmodel name\t: other\nflags\t\t: fpu\n";

    #[test]
    fn l2_tlb_entries_decode_from_cpuid() {
        // Intel: an L1 data TLB (level 1) and an L2 unified TLB of 12 ways x 128 sets with 4 KiB
        // pages; the L2 one counts.
        let l1 = [0, (4 << 16) | 1, 16, 1 | (1 << 5)];
        let l2 = [0, (12 << 16) | 1, 128, 3 | (2 << 5)];
        assert_eq!(decode_tlb_leaf_18(&[l1, l2]), Some(1536));
        assert_eq!(decode_tlb_leaf_18(&[l1]), None);
        // AMD Zen 2: 2048 entries in EBX[27:16].
        assert_eq!(
            decode_tlb_amd_80000006(0x6000_0000 | (2048 << 16)),
            Some(2048)
        );
        assert_eq!(decode_tlb_amd_80000006(0), None);
    }

    #[test]
    fn cpuinfo_model_and_flags() {
        assert_eq!(
            parse_cpu_model(CPUINFO).as_deref(),
            Some("AMD EPYC 9R14 96-Core Processor")
        );
        assert!(parse_cpu_flag(CPUINFO, "hypervisor"));
        assert!(parse_cpu_flag(CPUINFO, "avx2"));
        assert!(!parse_cpu_flag(CPUINFO, "avx512f"));
        assert!(!parse_cpu_flag(CPUINFO, "hyper"), "whole words only");
        assert_eq!(parse_cpu_model("processor : 0\n"), None);
        assert!(!parse_cpu_flag("", "fpu"));
    }

    /// The head of an AMD EPYC guest's `/proc/cpuinfo` (the kind of machine that printed only
    /// "AMD EPYC"), then a second processor that must not be read.
    pub(crate) const EPYC_CPUINFO: &str = "processor\t: 0\nvendor_id\t: AuthenticAMD\n\
        cpu family\t: 25\nmodel\t\t: 17\nmodel name\t: AMD EPYC 9R14 96-Core Processor\n\
        stepping\t: 1\nmicrocode\t: 0xa10113e\ncpu MHz\t\t: 2600.000\ncache size\t: 1024 KB\n\
        flags\t\t: fpu vme sse4_2 avx fma avx2 avx512f hypervisor lahf_lm\n\n\
        processor\t: 1\nvendor_id\t: Other\ncpu MHz\t\t: 1.000\nflags\t\t: fpu\n";

    #[test]
    fn cpuinfo_details_of_the_first_cpu() {
        let d = parse_cpuinfo_details(EPYC_CPUINFO);
        assert_eq!(d.vendor.as_deref(), Some("AuthenticAMD"));
        assert_eq!(
            (d.family, d.model, d.stepping),
            (Some(25), Some(17), Some(1))
        );
        assert_eq!(d.mhz, Some(2600.0));
        assert_eq!(d.hypervisor, Some(true));
        assert_eq!(
            d.vector_extensions.as_deref(),
            Some(&["avx", "avx2", "fma", "avx512f"].map(String::from)[..])
        );
        // What the text does not give stays unknown.
        assert_eq!(
            (d.max_mhz, d.l1d_bytes, d.l2_bytes, d.l3_bytes),
            (None, None, None, None)
        );
        let arm =
            parse_cpuinfo_details("processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd sve\n");
        assert_eq!(arm.vendor, None);
        assert_eq!(arm.hypervisor, Some(false));
        assert_eq!(
            arm.vector_extensions,
            Some(vec!["asimd".into(), "sve".into()])
        );
        assert_eq!(parse_cpuinfo_details(""), CpuDetails::default());
    }

    #[test]
    fn cache_sizes_from_sysfs_texts() {
        assert_eq!(parse_cache_size("32K\n"), Some(32 << 10));
        assert_eq!(parse_cache_size("32768K"), Some(32 << 20));
        assert_eq!(parse_cache_size("1M"), Some(1 << 20));
        assert_eq!(parse_cache_size("512"), Some(512));
        assert_eq!(parse_cache_size("lots"), None);
        let e = |l: &str, t: &str, s: &str| (l.to_string(), t.to_string(), s.to_string());
        let entries = [
            e("1\n", "Data\n", "32K\n"),
            e("1", "Instruction", "64K"),
            e("2", "Unified", "1024K"),
            e("3", "Unified", "32768K"),
        ];
        assert_eq!(
            cache_sizes(&entries),
            [Some(32 << 10), Some(1 << 20), Some(32 << 20)]
        );
        assert_eq!(cache_sizes(&entries[1..2]), [None, None, None]);
    }

    #[test]
    fn meminfo_fields_in_bytes() {
        let m = "MemTotal:       16384 kB\nMemFree:         1024 kB\nMemAvailable:    8192 kB\n";
        assert_eq!(parse_meminfo(m, "MemTotal"), Some(16384 * 1024));
        assert_eq!(parse_meminfo(m, "MemAvailable"), Some(8192 * 1024));
        assert_eq!(parse_meminfo(m, "Mem"), None, "the whole field name");
        assert_eq!(parse_meminfo(m, "SwapTotal"), None);
    }

    #[test]
    fn status_switches_add_both_kinds() {
        let s = "Name:\tconcbench\nvoluntary_ctxt_switches:\t120\n\
                 nonvoluntary_ctxt_switches:\t7\n";
        assert_eq!(parse_status_switches(s), 127);
        assert_eq!(parse_status_switches("Name:\tx\n"), 0);
    }

    #[test]
    fn proc_stat_per_cpu_lines() {
        let text = "cpu  10 0 5 100 1 0 0 2 0 0\n\
                    cpu0 6 0 3 50 1 0 0 2 0 0\n\
                    cpu1 4 1 2 50 0 1 1 0 0 0\n\
                    intr 12345\nctxt 99\n";
        let cpus = parse_proc_stat(text);
        assert_eq!(cpus.len(), 2, "the summed line is left out");
        assert_eq!(cpus[0].cpu, 0);
        assert_eq!((cpus[0].busy(), cpus[0].steal, cpus[0].total()), (9, 2, 62));
        assert_eq!((cpus[1].cpu, cpus[1].busy(), cpus[1].total()), (1, 9, 59));
        // An old kernel without steal.
        assert_eq!(parse_proc_stat("cpu3 1 2 3 4 5 6 7\n")[0].steal, 0);
        assert!(parse_proc_stat("cpu0 x\n").is_empty());
    }

    #[test]
    fn capabilities_of_this_platform() {
        let d = std::time::Duration::from_millis(2);
        assert!(
            sleep_for(d) >= d,
            "the wait achieved is at least the wait asked"
        );
        assert!(kill_children_with_this_process().is_ok());
        if cfg!(target_os = "linux") {
            assert!(can_pin_threads());
            assert!(
                platform_notes().is_empty(),
                "Linux outputs carry no platform note"
            );
            assert_eq!(KERNEL_NAME, "Linux");
            assert!(physical_core_cpus().is_none(), "Linux reads /sys instead");
            assert!(performance_efficiency_cores().is_none());
        }
        assert!(!UNPINNED_NOTE.contains('\n') && !NO_PINNING_REASON.contains('\n'));
        assert!(no_pinning_reason("--placement one-core").starts_with("--placement one-core needs"));
    }

    #[test]
    fn processor_groups_number_cpus_across_groups() {
        let sizes = [64, 64, 16];
        assert_eq!(cpu_in_groups(&sizes, 0), Some((0, 0)));
        assert_eq!(cpu_in_groups(&sizes, 63), Some((0, 63)));
        assert_eq!(cpu_in_groups(&sizes, 64), Some((1, 0)));
        assert_eq!(cpu_in_groups(&sizes, 143), Some((2, 15)));
        assert_eq!(cpu_in_groups(&sizes, 144), None);
        assert_eq!(cpu_in_groups(&[2], 1), Some((0, 1)));
        assert_eq!((group_base(&sizes, 0), group_base(&sizes, 2)), (0, 128));
        assert_eq!(mask_cpus(0b1010, 64), vec![65, 67]);
        assert_eq!(mask_cpus(1 << 63, 0), vec![63]);
        assert!(mask_cpus(0, 0).is_empty());
    }

    #[test]
    fn performance_and_efficiency_cores() {
        let m1 = Some((4, 4));
        assert!(!mixes_core_types(4, m1));
        assert!(mixes_core_types(5, m1));
        assert!(!mixes_core_types(16, None), "unknown core types: no claim");
        assert!(!mixes_core_types(16, Some((8, 0))), "no efficiency cores");
        assert!(core_types_warning(2, m1).is_none());
        let w = core_types_warning(8, m1).unwrap();
        assert!(
            w.contains("4 performance and 4 efficiency") && w.contains("beyond 4"),
            "{w}"
        );
    }

    #[test]
    fn cpuid_flags_and_brand() {
        assert_eq!(cpuid_flag_location("avx512f"), Some((7, 0, 1, 16)));
        assert_eq!(cpuid_flag_location("hypervisor"), Some((1, 0, 2, 31)));
        assert_eq!(cpuid_flag_location("made-up"), None);
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        {
            // CPUID and /proc/cpuinfo agree on this machine.
            let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
            for f in ["avx2", "avx512f", "hypervisor", "fma"] {
                if !cpuinfo.is_empty() {
                    assert_eq!(cpuid_flag(f), Some(parse_cpu_flag(&cpuinfo, f)), "{f}");
                }
            }
            assert!(cpuid_brand().is_some());
        }
    }

    #[test]
    fn first_numbers() {
        assert_eq!(
            parse_first_number::<f64>("0.52 0.58 0.59 1/234 5678\n"),
            Some(0.52)
        );
        assert_eq!(parse_first_number::<u64>("123456 789 10\n"), Some(123_456));
        assert_eq!(parse_first_number::<u64>("3000000\n"), Some(3_000_000));
        assert_eq!(parse_first_number::<u64>(""), None);
        assert_eq!(parse_first_number::<u64>("x 1"), None);
    }

    #[test]
    fn timer_list_gives_jiffies_and_the_clock() {
        let text = "Timer List Version: v0.10\nnow at 2201916978638 nsecs\n\ncpu: 0\n  .idle_jiffies   : 4295437635\njiffies: 4295442715\n";
        assert_eq!(parse_timer_list(text), Some((4295442715, 2201916978638)));
        assert_eq!(parse_timer_list("nothing"), None);
    }
}
