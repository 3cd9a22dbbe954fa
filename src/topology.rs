//! Which CPUs this process may use, how they group into physical cores, and pinning.
//!
//! Every placement decision in concbench goes through this module. Two facts, checked on the
//! project's machines, shape it: the affinity mask is read from the *calling thread*, so the allowed list is read
//! once, before anything is pinned, and cached; `num_cpus::get_physical()` ignores the mask, so
//! physical cores are grouped from the per-CPU topology files ([`sys::cpu_topology_dir`], on Linux
//! `/sys/devices/system/cpu/cpuN/topology`) for the allowed CPUs only, keeping one CPU per core
//! (SMT siblings are skipped). The platform calls themselves live in [`crate::sys`].

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use serde::Serialize;

use crate::sys;

/// A pinning request the kernel refused, or a CPU that is not ours to use.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TopologyError {
    /// The CPU is not in the process's allowed set.
    #[error("CPU {0} is not in this process's affinity mask")]
    NotAllowed(usize),
    /// `sched_setaffinity` failed.
    #[error("pinning to CPU {cpu} failed: {reason}")]
    PinFailed {
        /// The CPU asked for.
        cpu: usize,
        /// The OS error.
        reason: String,
    },
}

/// One physical core: the allowed logical CPUs that share it (SMT siblings), lowest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PhysicalCore {
    /// Socket (`physical_package_id`).
    pub(crate) package: i64,
    /// `core_id` within the package.
    pub(crate) core: i64,
    /// Allowed logical CPUs on this core; `cpus[0]` is the one workers are pinned to.
    pub(crate) cpus: Vec<usize>,
}

/// The CPUs this process may use, grouped into physical cores.
#[derive(Debug, Clone, Serialize)]
pub struct Topology {
    /// Logical CPUs in the process's affinity mask at start-up, ascending.
    pub(crate) allowed: Vec<usize>,
    /// Physical cores among them, in order of their first CPU.
    pub(crate) cores: Vec<PhysicalCore>,
}

impl Topology {
    /// The machine as this process sees it (cached after the first call).
    pub fn get() -> &'static Topology {
        static TOPOLOGY: OnceLock<Topology> = OnceLock::new();
        TOPOLOGY.get_or_init(|| {
            let allowed = allowed_cpus().to_vec();
            let cores = match (sys::cpu_topology_dir(), sys::physical_core_cpus()) {
                (Some(dir), _) => group_physical_cores(dir, &allowed),
                (None, Some(listed)) => listed_physical_cores(&listed, &allowed),
                (None, None) => unknown_physical_cores(&allowed),
            };
            Topology { allowed, cores }
        })
    }

    /// Number of physical cores a worker can be pinned to.
    pub fn physical_core_count(&self) -> usize {
        self.cores.len().max(1)
    }

    /// One CPU per physical core, in order: where spread workers go.
    pub(crate) fn core_cpus(&self) -> Vec<usize> {
        if self.cores.is_empty() {
            return self.allowed.clone();
        }
        self.cores.iter().map(|c| c.cpus[0]).collect()
    }

    /// The CPU for worker `index` of a spread placement: distinct physical cores, wrapping around
    /// when there are more workers than cores.
    pub(crate) fn spread_cpu(&self, index: usize) -> usize {
        let cpus = self.core_cpus();
        cpus[index % cpus.len()]
    }

    /// The single CPU every worker of a one-core placement shares: the first allowed one.
    pub(crate) fn first_cpu(&self) -> usize {
        self.core_cpus()[0]
    }
}

/// Logical CPUs in the process's affinity mask, read once (before any pinning) and cached.
///
/// [`sys::allowed_cpus`] reads the calling thread's mask, so the first call must happen before
/// that thread is pinned: every pinning function of this module calls it first, so the library
/// reads the mask itself before it pins anything (`main` also calls it at start-up, before a
/// child pins itself where its parent asked). Where no mask can be
/// read, every online CPU (`num_cpus::get`) counts as allowed.
pub fn allowed_cpus() -> &'static [usize] {
    static ALLOWED: OnceLock<Vec<usize>> = OnceLock::new();
    ALLOWED.get_or_init(|| {
        let mut cpus = sys::allowed_cpus().unwrap_or_else(|| (0..num_cpus::get()).collect());
        cpus.sort_unstable();
        cpus.dedup();
        cpus
    })
}

/// Group `allowed` CPUs into physical cores using the `topology/` files under `sys_cpu_dir`
/// (normally [`sys::cpu_topology_dir`]). A CPU whose files are unreadable counts as its own core.
pub(crate) fn group_physical_cores(sys_cpu_dir: &Path, allowed: &[usize]) -> Vec<PhysicalCore> {
    let read_id = |cpu: usize, file: &str| -> Option<i64> {
        let p = sys_cpu_dir.join(format!("cpu{cpu}/topology/{file}"));
        std::fs::read_to_string(p).ok()?.trim().parse().ok()
    };
    let mut by_core: BTreeMap<(i64, i64), Vec<usize>> = BTreeMap::new();
    for &cpu in allowed {
        let key = match (read_id(cpu, "physical_package_id"), read_id(cpu, "core_id")) {
            (Some(p), Some(c)) => (p, c),
            // Unknown topology: a unique key per CPU keeps it a core of its own.
            _ => (-1, -(cpu as i64) - 1),
        };
        by_core.entry(key).or_default().push(cpu);
    }
    let mut cores: Vec<PhysicalCore> = by_core
        .into_iter()
        .map(|((package, core), mut cpus)| {
            cpus.sort_unstable();
            PhysicalCore {
                package,
                core,
                cpus,
            }
        })
        .collect();
    cores.sort_by_key(|c| c.cpus[0]);
    cores
}

/// Physical cores when the platform describes no per-CPU topology: the first
/// [`sys::machine_physical_cores`] allowed CPUs (`num_cpus::get_physical`), each a core of its own.
/// Which logical CPUs are SMT siblings is unknown then, so the others are left out rather than
/// guessed.
fn unknown_physical_cores(allowed: &[usize]) -> Vec<PhysicalCore> {
    let physical = sys::machine_physical_cores().clamp(1, allowed.len().max(1));
    allowed
        .iter()
        .take(physical)
        .map(|&cpu| PhysicalCore {
            package: -1,
            core: -(cpu as i64) - 1,
            cpus: vec![cpu],
        })
        .collect()
}

/// Physical cores from a platform's own list of the logical CPUs of each core (Windows:
/// [`sys::physical_core_cpus`]), keeping the allowed CPUs of each; numbered in list order.
pub(crate) fn listed_physical_cores(listed: &[Vec<usize>], allowed: &[usize]) -> Vec<PhysicalCore> {
    let mut cores: Vec<PhysicalCore> = listed
        .iter()
        .enumerate()
        .filter_map(|(i, cpus)| {
            let mut cpus: Vec<usize> = cpus
                .iter()
                .copied()
                .filter(|c| allowed.contains(c))
                .collect();
            cpus.sort_unstable();
            (!cpus.is_empty()).then_some(PhysicalCore {
                package: 0,
                core: i as i64,
                cpus,
            })
        })
        .collect();
    cores.sort_by_key(|c| c.cpus[0]);
    cores
}

/// Whether placements are enforced here: `false` on a platform that cannot pin threads (macOS),
/// where every pinning function of this module succeeds without pinning and outputs say
/// [`sys::UNPINNED_NOTE`].
pub fn placement_enforced() -> bool {
    sys::can_pin_threads()
}

/// Pin the calling thread to one CPU. Threads it spawns afterwards inherit the pin. Where threads
/// cannot be pinned ([`placement_enforced`] is `false`) nothing is done.
pub(crate) fn pin_current_thread(cpu: usize) -> Result<(), TopologyError> {
    if !allowed_cpus().contains(&cpu) {
        return Err(TopologyError::NotAllowed(cpu));
    }
    if !placement_enforced() {
        return Ok(());
    }
    sys::pin_thread_to_cpu(cpu).map_err(|e| TopologyError::PinFailed {
        cpu,
        reason: e.to_string(),
    })
}

/// Give the calling thread back the whole affinity mask the process started with.
pub(crate) fn unpin_current_thread() -> Result<(), TopologyError> {
    set_affinity(allowed_cpus())
}

/// Restrict the calling thread to `cpus` (threads it creates later inherit the mask).
pub(crate) fn set_affinity(cpus: &[usize]) -> Result<(), TopologyError> {
    // The start-up mask is read before the first pin, whoever pins first.
    allowed_cpus();
    if !placement_enforced() {
        return Ok(());
    }
    sys::set_thread_affinity(cpus).map_err(|e| TopologyError::PinFailed {
        cpu: cpus.first().copied().unwrap_or(0),
        reason: e.to_string(),
    })
}

/// The CPU the calling thread is running on right now (`sched_getcpu`; 0 where unknown).
pub(crate) fn current_cpu() -> usize {
    sys::current_cpu().unwrap_or(0)
}

/// The calling thread's current affinity mask, as CPU ids (empty where it cannot be read).
#[cfg(test)]
pub(crate) fn current_affinity() -> Vec<usize> {
    sys::thread_affinity().unwrap_or_default()
}

/// Format CPU ids the way the kernel does in `Cpus_allowed_list`: `0-3,6,8-9`.
pub(crate) fn format_cpu_list(cpus: &[usize]) -> String {
    let mut sorted = cpus.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    out.join(",")
}

/// Parse a kernel CPU list (`0-3,6`) into ids; `None` if malformed.
pub(crate) fn parse_cpu_list(s: &str) -> Option<Vec<usize>> {
    let mut out = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.parse().ok()?, b.parse().ok()?);
                if b < a {
                    return None;
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().ok()?),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_sys(layout: &[(usize, i64, i64)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for &(cpu, pkg, core) in layout {
            let t = dir.path().join(format!("cpu{cpu}/topology"));
            std::fs::create_dir_all(&t).unwrap();
            std::fs::write(t.join("physical_package_id"), format!("{pkg}\n")).unwrap();
            std::fs::write(t.join("core_id"), format!("{core}\n")).unwrap();
        }
        dir
    }

    #[test]
    fn listed_cores_keep_allowed_cpus_only() {
        // Windows' GetLogicalProcessorInformationEx: cores {0,1} and {2,3}, CPU 1 not allowed.
        let listed = vec![vec![2, 3], vec![1, 0], vec![4]];
        let cores = listed_physical_cores(&listed, &[0, 2, 3]);
        assert_eq!(cores.len(), 2, "core {{4}} has no allowed CPU");
        assert_eq!((cores[0].cpus.clone(), cores[0].core), (vec![0], 1));
        assert_eq!(cores[1].cpus, vec![2, 3]);
    }

    #[test]
    fn smt_siblings_share_a_core() {
        // 4 logical CPUs, 2 cores with 2 threads each (Intel numbering: 0,2 and 1,3 siblings).
        let d = fake_sys(&[(0, 0, 0), (1, 0, 1), (2, 0, 0), (3, 0, 1)]);
        let cores = group_physical_cores(d.path(), &[0, 1, 2, 3]);
        assert_eq!(cores.len(), 2);
        assert_eq!(cores[0].cpus, vec![0, 2]);
        assert_eq!(cores[1].cpus, vec![1, 3]);
    }

    #[test]
    fn only_allowed_cpus_count() {
        let d = fake_sys(&[(0, 0, 0), (1, 0, 1), (2, 1, 0), (3, 1, 1)]);
        let cores = group_physical_cores(d.path(), &[1, 3]);
        assert_eq!(
            cores.iter().map(|c| c.cpus.clone()).collect::<Vec<_>>(),
            vec![vec![1], vec![3]]
        );
        // Same core_id on two packages are two cores.
        let cores = group_physical_cores(d.path(), &[0, 2]);
        assert_eq!(cores.len(), 2);
    }

    #[test]
    fn missing_topology_files_make_one_core_per_cpu() {
        let d = tempfile::tempdir().unwrap();
        let cores = group_physical_cores(d.path(), &[0, 1, 5]);
        assert_eq!(cores.len(), 3);
        assert_eq!(cores[2].cpus, vec![5]);
    }

    #[test]
    fn cpu_lists_round_trip() {
        assert_eq!(format_cpu_list(&[0, 1, 2, 3, 6, 8, 9]), "0-3,6,8-9");
        assert_eq!(format_cpu_list(&[5]), "5");
        assert_eq!(
            parse_cpu_list("0-3,6,8-9").unwrap(),
            vec![0, 1, 2, 3, 6, 8, 9]
        );
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }

    #[test]
    fn pinning_is_visible_and_reversible() {
        let topo = Topology::get();
        let cpu = *topo.allowed.last().unwrap();
        std::thread::spawn(move || {
            pin_current_thread(cpu).unwrap();
            assert_eq!(current_affinity(), vec![cpu]);
            assert_eq!(current_cpu(), cpu);
            unpin_current_thread().unwrap();
            assert_eq!(current_affinity(), allowed_cpus().to_vec());
        })
        .join()
        .unwrap();
    }

    #[test]
    fn pinning_outside_the_mask_is_an_error() {
        assert!(matches!(
            pin_current_thread(100_000),
            Err(TopologyError::NotAllowed(100_000))
        ));
    }
}
