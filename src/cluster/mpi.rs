//! The MPI calls of the cluster module, through rsmpi (the `mpi` crate) over the system's MPI
//! library: start-up, the job's broadcast of rank jobs, groups of the first N ranks, the
//! collectives of [`Collectives`] and the ping-pong of `limits`.
//!
//! `MPI_Alltoallv` is called through rsmpi's raw bindings (`mpi::ffi`) rather than its safe
//! wrapper: the buffers a rank sends and receives are ranges of one workload region, scattered
//! through it, and the raw call takes them in place (displacements from the lowest address)
//! where the safe one would need them packed into one slice first.

use std::cell::RefCell;
use std::collections::HashMap;
use std::os::raw::{c_int, c_void};
use std::thread::ThreadId;

use mpi::topology::{Color, SimpleCommunicator};
use mpi::traits::*;
use mpi::Threading;

use super::{Launch, World};
use crate::machine::{ClusterInfo, RankPlace};
use crate::topology::{format_cpu_list, Topology};
use crate::workload::Collectives;

/// The MPI state of one rank.
pub struct Backend {
    world: SimpleCommunicator,
    /// Groups of the first N ranks, by N (`None` on ranks outside the group).
    groups: RefCell<HashMap<usize, Option<SimpleCommunicator>>>,
    main: ThreadId,
}

/// Start MPI and learn where every rank runs.
pub fn start(launch: Launch) -> Result<World, String> {
    let t = std::time::Instant::now();
    // MPI_THREAD_SINGLE, not FUNNELED: with FUNNELED Open MPI 4.1 locks around every message
    // (an 8-byte half round trip took 148 ns instead of 99 ns, C ping-pong, same pair of CPUs).
    // concbench's other threads (workers of the shared-memory strategies) never call MPI; only
    // the deadline watchdog may, to abort the job.
    let (universe, _threading) = mpi::initialize_with_threading(Threading::Single)
        .ok_or_else(|| "MPI was already initialised".to_string())?;
    let init_s = t.elapsed().as_secs_f64();
    let world = universe.world();
    // The universe would finalize MPI when dropped; `finalize` does it explicitly instead, at the
    // end of `main`, so it lives as long as the process.
    std::mem::forget(universe);
    let rank = world.rank() as usize;
    let size = world.size() as usize;
    let backend = Backend {
        world,
        groups: RefCell::new(HashMap::new()),
        main: std::thread::current().id(),
    };
    let topo = Topology::get();
    let online = crate::sys::online_cpus();
    let me = RankPlace {
        rank,
        host: mpi::environment::processor_name().unwrap_or_else(|_| crate::sys::host_name()),
        local_rank: launch.local_rank,
        affinity_mask: format_cpu_list(&topo.allowed),
        bound: topo.allowed.len() < online,
        host_physical_cores: crate::sys::machine_physical_cores(),
    };
    let text = serde_json::to_vec(&me).expect("a rank's place serializes");
    let places: Vec<RankPlace> = MpiGroup {
        comm: &backend.world,
    }
    .all_gather(&text)
    .iter()
    .map(|b| serde_json::from_slice(b).map_err(|e| format!("a rank described itself wrongly: {e}")))
    .collect::<Result<_, _>>()?;
    let library = mpi::environment::library_version()
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or("unknown")
        .trim_end_matches(['\0', ' ', ','])
        .to_string();
    let info = ClusterInfo {
        launcher: launch.launcher.to_string(),
        mpi_library: library,
        init_s,
        bound_by_launcher: places.iter().all(|p| p.bound),
        ranks: places,
        messages: Vec::new(),
    };
    Ok(World {
        rank,
        size,
        info,
        launch,
        backend,
    })
}

/// `MPI_Abort` on the whole job.
pub fn abort(code: i32) -> ! {
    // SAFETY: MPI is initialised (a World exists); aborting from any thread is what MPI_Abort is
    // for in practice, and nothing runs after it.
    unsafe {
        mpi::ffi::MPI_Abort(mpi::ffi::RSMPI_COMM_WORLD, code);
    }
    std::process::exit(code)
}

impl Backend {
    fn check_thread(&self) {
        assert_eq!(
            std::thread::current().id(),
            self.main,
            "MPI is used from the main thread only"
        );
    }

    /// Rank 0 passes `Some(text)` and every other rank `None`; all return the text.
    ///
    /// A rank waiting for its next job sleeps instead of spinning: a blocking `MPI_Bcast` would
    /// busy-poll (Open MPI's progress engine) and take a whole CPU away from the shared-memory
    /// strategies that rank 0 runs meanwhile on the same host. So the job travels by
    /// `MPI_Ibcast`, tested every millisecond (a job starts up to a millisecond late, before any
    /// clock runs).
    pub fn broadcast_text(&self, text: Option<String>) -> String {
        self.check_thread();
        let root = self.world.process_at_rank(0);
        let is_root = text.is_some();
        let mut len = text.as_ref().map_or(0u64, |t| t.len() as u64);
        mpi::request::scope(|scope| {
            finish_request(root.immediate_broadcast_into(scope, &mut len), is_root)
        });
        let mut bytes = text
            .map(String::into_bytes)
            .unwrap_or_else(|| vec![0u8; len as usize]);
        mpi::request::scope(|scope| {
            finish_request(
                root.immediate_broadcast_into(scope, &mut bytes[..]),
                is_root,
            )
        });
        String::from_utf8(bytes).unwrap_or_default()
    }

    pub fn with_group<R>(
        &self,
        rank: usize,
        ranks: usize,
        body: impl FnOnce(Option<&dyn Collectives>) -> R,
    ) -> R {
        self.check_thread();
        if !self.groups.borrow().contains_key(&ranks) {
            let color = if rank < ranks {
                Color::with_value(0)
            } else {
                Color::undefined()
            };
            let group = self.world.split_by_color(color);
            self.groups.borrow_mut().insert(ranks, group);
        }
        let groups = self.groups.borrow();
        match groups.get(&ranks).and_then(|g| g.as_ref()) {
            Some(comm) => body(Some(&MpiGroup { comm })),
            None => body(None),
        }
    }

    pub fn ping_pong(&self, rank: usize, peer: usize, size: usize, round_trips: usize) -> f64 {
        self.check_thread();
        let mut buf = vec![0u8; size.max(1)];
        let other = if rank == 0 { peer } else { 0 } as c_int;
        let count = c_int::try_from(size).expect("ping-pong messages fit in a C int");
        let comm = self.world.as_raw();
        let p = buf.as_mut_ptr().cast::<c_void>();
        // Raw MPI_Send/MPI_Recv with a fixed tag and no status, as a C ping-pong calls them: the
        // safe wrappers' any-tag receive and status cost tens of ns a message, which is the
        // size of the 8-byte latency itself.
        // SAFETY: `buf` is valid for `count` bytes for the whole loop; MPI is initialised.
        unsafe {
            let send = || mpi::ffi::MPI_Send(p, count, mpi::ffi::RSMPI_UINT8_T, other, 0, comm);
            let recv = || {
                mpi::ffi::MPI_Recv(
                    p,
                    count,
                    mpi::ffi::RSMPI_UINT8_T,
                    other,
                    0,
                    comm,
                    mpi::ffi::RSMPI_STATUS_IGNORE,
                )
            };
            let t = mpi::ffi::MPI_Wtime();
            for _ in 0..round_trips {
                if rank == 0 {
                    send();
                    recv();
                } else {
                    recv();
                    send();
                }
            }
            mpi::ffi::MPI_Wtime() - t
        }
    }

    pub fn finalize(&self) {
        self.check_thread();
        self.groups.borrow_mut().clear();
        // SAFETY: called once, at the end of the process, from the main thread.
        unsafe {
            mpi::ffi::MPI_Finalize();
        }
    }
}

/// Complete `req`: at once on rank 0 (`MPI_Wait`), sleeping a millisecond between tests on the
/// others (see `broadcast_text`).
fn finish_request<'a, D: ?Sized, S: mpi::request::Scope<'a>>(
    req: mpi::request::Request<'a, D, S>,
    is_root: bool,
) {
    if is_root {
        req.wait();
        return;
    }
    let mut req = req;
    loop {
        match req.test() {
            Ok(_) => return,
            Err(pending) => {
                req = pending;
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
    }
}

/// A communicator as [`Collectives`].
struct MpiGroup<'c> {
    comm: &'c SimpleCommunicator,
}

/// Counts and displacements of a set of buffers for `MPI_Alltoallv`: offsets from the lowest
/// address among them, or `None` when one does not fit in a C int (then they are packed).
fn layout(ptrs: &[(usize, usize)]) -> Option<(usize, Vec<c_int>, Vec<c_int>)> {
    let base = ptrs
        .iter()
        .filter(|(_, len)| *len > 0)
        .map(|(p, _)| *p)
        .min()
        .unwrap_or(0);
    let mut counts = Vec::with_capacity(ptrs.len());
    let mut displs = Vec::with_capacity(ptrs.len());
    for &(p, len) in ptrs {
        counts.push(c_int::try_from(len).ok()?);
        displs.push(if len == 0 {
            0
        } else {
            c_int::try_from(p - base).ok()?
        });
    }
    Some((base, counts, displs))
}

impl Collectives for MpiGroup<'_> {
    fn rank(&self) -> usize {
        self.comm.rank() as usize
    }

    fn ranks(&self) -> usize {
        self.comm.size() as usize
    }

    fn all_to_all_into(&self, send: &[&[u8]], recv: &mut [&mut [u8]]) {
        let sends: Vec<(usize, usize)> = send
            .iter()
            .map(|s| (s.as_ptr() as usize, s.len()))
            .collect();
        let recvs: Vec<(usize, usize)> = recv
            .iter_mut()
            .map(|r| (r.as_mut_ptr() as usize, r.len()))
            .collect();
        match (layout(&sends), layout(&recvs)) {
            (Some((sbase, scounts, sdispls)), Some((rbase, rcounts, rdispls))) => {
                // A buffer pointer MPI will not read when every count is zero must still be
                // valid-looking.
                let sbase = if sbase == 0 {
                    recvs.as_ptr() as usize
                } else {
                    sbase
                };
                let rbase = if rbase == 0 {
                    sends.as_ptr() as usize
                } else {
                    rbase
                };
                // SAFETY: every (base + displacement, count) lies inside one of the slices given,
                // the send and receive slices do not overlap (a rank receives only what it does
                // not hold), and the call returns only when all of them are done with.
                unsafe {
                    mpi::ffi::MPI_Alltoallv(
                        sbase as *const c_void,
                        scounts.as_ptr(),
                        sdispls.as_ptr(),
                        mpi::ffi::RSMPI_UINT8_T,
                        rbase as *mut c_void,
                        rcounts.as_ptr(),
                        rdispls.as_ptr(),
                        mpi::ffi::RSMPI_UINT8_T,
                        self.comm.as_raw(),
                    );
                }
            }
            _ => {
                // Spread too far apart for C ints: send them one pair at a time instead
                // (pairwise exchange, in an order that cannot deadlock).
                let me = self.rank();
                let n = self.ranks();
                recv[me].copy_from_slice(send[me]);
                for step in 1..n {
                    let to = (me + step) % n;
                    let from = (me + n - step) % n;
                    mpi::request::scope(|scope| {
                        let sreq = self
                            .comm
                            .process_at_rank(to as mpi::Rank)
                            .immediate_send(scope, send[to]);
                        self.comm
                            .process_at_rank(from as mpi::Rank)
                            .receive_into(&mut recv[from][..]);
                        sreq.wait();
                    });
                }
            }
        }
    }

    fn broadcast(&self, root: usize, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(1 << 30) {
            self.comm
                .process_at_rank(root as mpi::Rank)
                .broadcast_into(chunk);
        }
    }

    fn barrier(&self) {
        self.comm.barrier();
    }
}
