//! Shared memory that threads and worker processes both see: the data plane of every strategy.
//!
//! A [`SharedRegion`] is a memfd mapped `MAP_SHARED`, so a worker process that inherits the fd and
//! maps it sees the same pages (memmap2's `map_anon` is private: a child's writes would be lost).
//! Thread strategies use the very same region, so every strategy sorts or multiplies the same bytes
//! with the same page layout; only the execution differs.
//!
//! Nothing outside the crate reads or writes the bytes directly: a workload sees them through
//! the typed, checked views of [`crate::workload::view`], and one execution at a time holds a
//! mapping's [`Lease`].

use crate::sys::{self, OwnedDesc, RawDesc};
use std::io;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};

/// An owned shared mapping. Dropping it unmaps it and closes the memfd.
#[derive(Debug)]
pub struct SharedRegion {
    fd: OwnedDesc,
    ptr: *mut u8,
    len: usize,
    /// Held by the one execution (or initialisation, reset, verification) using the mapping.
    busy: AtomicBool,
}

// SAFETY: the region owns its mapping; the bytes are only reached through `SharedMem`, whose
// users hold the lease or the crate-internal contract of `SharedMem::slice`.
unsafe impl Send for SharedRegion {}
// SAFETY: as above.
unsafe impl Sync for SharedRegion {}

/// A handle on a shared mapping that lives for `'a`, copied freely into worker threads.
///
/// The handle borrows its [`SharedRegion`] (or, in a worker process, the mapping that lives until
/// the process exits), so neither it nor any slice cut from it can outlive the mapping. It gives
/// no access to the bytes by itself: workloads see them through the views of
/// [`crate::workload::view`], whose one constructor checks what each part may touch.
#[derive(Debug, Clone, Copy)]
pub struct SharedMem<'a> {
    ptr: *mut u8,
    len: usize,
    busy: &'a AtomicBool,
    mapping: PhantomData<&'a SharedRegion>,
}

// SAFETY: SharedMem points into a mapping that outlives it (its lifetime says so); the bytes are
// reached only through `slice`/`slice_mut`, whose callers coordinate concurrent access.
unsafe impl Send for SharedMem<'_> {}
// SAFETY: as above.
unsafe impl Sync for SharedMem<'_> {}

/// The right to use a mapping alone for a while: one execution, one initialisation, one reset or
/// one verification. Taken with [`SharedMem::lease`], given back when dropped.
#[derive(Debug)]
pub(crate) struct Lease<'a> {
    busy: &'a AtomicBool,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        self.busy.store(false, Ordering::Release);
    }
}

impl SharedRegion {
    /// Create a zero-filled shared region of `len` bytes (at least one page).
    pub fn new(len: usize) -> io::Result<SharedRegion> {
        let len = len.max(1);
        // Not close-on-exec: worker processes inherit it.
        let fd = sys::shm_create(len)?;
        let ptr = sys::map_shared(sys::desc_of(&fd), len, false)?;
        Ok(SharedRegion {
            fd,
            ptr,
            len,
            busy: AtomicBool::new(false),
        })
    }

    /// The memfd (Linux), shared-memory object (macOS) or file-mapping handle (Windows), inherited
    /// by worker processes.
    pub(crate) fn raw_fd(&self) -> RawDesc {
        sys::desc_of(&self.fd)
    }

    /// A handle on the mapping, valid while the region is.
    pub fn mem(&self) -> SharedMem<'_> {
        SharedMem {
            ptr: self.ptr,
            len: self.len,
            busy: &self.busy,
            mapping: PhantomData,
        }
    }
}

impl Drop for SharedRegion {
    fn drop(&mut self) {
        // SAFETY: ptr/len came from our own successful mmap.
        unsafe { sys::unmap(self.ptr, self.len) };
    }
}

/// A mapping that lives until the process exits (a worker's), with a lease flag of its own.
fn map_shared(fd: RawDesc, len: usize, populate: bool) -> io::Result<SharedMem<'static>> {
    let ptr = sys::map_shared(fd, len, populate)?;
    Ok(SharedMem {
        ptr,
        len,
        busy: Box::leak(Box::new(AtomicBool::new(false))),
        mapping: PhantomData,
    })
}

impl<'a> SharedMem<'a> {
    /// Map an inherited memfd in a worker process, pre-faulting its pages (`MAP_POPULATE`) so the
    /// page-table work lands in the setup phase, not in the compute. The mapping lives until the
    /// process exits.
    pub(crate) fn map_inherited(fd: RawDesc, len: usize) -> io::Result<SharedMem<'static>> {
        map_shared(fd, len, true)
    }

    /// Map an inherited memfd in a worker process without touching its pages; follow with
    /// [`SharedMem::prefault`] for the ranges the worker will use. The mapping lives until the
    /// process exits.
    pub(crate) fn map_inherited_lazily(fd: RawDesc, len: usize) -> io::Result<SharedMem<'static>> {
        map_shared(fd, len, false)
    }

    /// Fill the page tables for `range` of a mapping of `fd` now, so the first touch during the
    /// compute costs nothing: the range is mapped again in place (`MAP_FIXED`) with
    /// `MAP_POPULATE`, which on these VMs is about twice as fast per page as
    /// `MADV_POPULATE_WRITE` or first-touch faults. Contents are unchanged (same file, same
    /// offset).
    pub(crate) fn prefault(&self, fd: RawDesc, range: std::ops::Range<usize>) -> io::Result<()> {
        const PAGE: usize = 4096;
        let start = range.start.min(self.len) / PAGE * PAGE;
        let end = range.end.min(self.len);
        if end <= start {
            return Ok(());
        }
        // SAFETY: the range lies inside our own mapping of `fd`, remapped at the same address to
        // the same file offset, so every pointer into it stays valid and sees the same bytes.
        unsafe { sys::remap_populate(self.ptr.add(start), end - start, fd, start) }
    }

    /// Length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Take the mapping's lease: this handle's user is the only one using the mapping in this
    /// process until the lease is dropped.
    ///
    /// # Panics
    /// When another execution, initialisation, reset or verification holds it (two runs on one
    /// region at once are a bug of the caller, not a state to wait out).
    pub(crate) fn lease(&self) -> Lease<'a> {
        let taken = self
            .busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok();
        assert!(
            taken,
            "the shared memory is already in use (two executions on one region at once)"
        );
        Lease { busy: self.busy }
    }

    fn check<T>(&self, offset: usize, count: usize) {
        let bytes = count
            .checked_mul(std::mem::size_of::<T>())
            .and_then(|b| b.checked_add(offset))
            .expect("shared slice size overflows");
        assert!(bytes <= self.len, "shared slice out of bounds");
        assert!(
            (self.ptr as usize + offset) % std::mem::align_of::<T>() == 0,
            "shared slice misaligned"
        );
    }

    /// `count` values of `T` starting `offset` bytes into the region: the raw access under the
    /// workload views (`crate::workload::view`) and the byte movement of `distributed`.
    ///
    /// # Safety
    /// No other part may write this range while the slice is alive, and `T` must be plain data
    /// (any bit pattern valid).
    pub(crate) unsafe fn slice<T>(&self, offset: usize, count: usize) -> &'a [T] {
        self.check::<T>(offset, count);
        std::slice::from_raw_parts(self.ptr.add(offset).cast(), count)
    }

    /// Mutable `count` values of `T` starting `offset` bytes into the region.
    ///
    /// # Safety
    /// The caller must be the only one touching this range while the slice is alive, and `T`
    /// must be plain data.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn slice_mut<T>(&self, offset: usize, count: usize) -> &'a mut [T] {
        self.check::<T>(offset, count);
        std::slice::from_raw_parts_mut(self.ptr.add(offset).cast(), count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_is_zeroed_and_writable() {
        let r = SharedRegion::new(4096 * 3).unwrap();
        let m = r.mem();
        // SAFETY: single-threaded test, only user of the region.
        unsafe {
            let s: &mut [u64] = m.slice_mut(0, 1536);
            assert!(s.iter().all(|&x| x == 0));
            s[1535] = 7;
            assert_eq!(m.slice::<u64>(8 * 1535, 1)[0], 7);
        }
    }

    #[test]
    fn a_second_mapping_of_the_fd_sees_the_writes() {
        let r = SharedRegion::new(4096).unwrap();
        let other = SharedMem::map_inherited(r.raw_fd(), 4096).unwrap();
        // SAFETY: single-threaded test.
        unsafe {
            r.mem().slice_mut::<u32>(0, 4)[2] = 42;
            assert_eq!(other.slice::<u32>(0, 4)[2], 42);
            sys::unmap(other.ptr, other.len);
        }
    }

    #[test]
    fn prefaulting_keeps_the_contents() {
        let r = SharedRegion::new(4096 * 4).unwrap();
        // SAFETY: single-threaded test.
        unsafe { r.mem().slice_mut::<u8>(0, 4096 * 4)[5000] = 9 };
        let other = SharedMem::map_inherited_lazily(r.raw_fd(), 4096 * 4).unwrap();
        other.prefault(r.raw_fd(), 100..4096 * 3).unwrap();
        other.prefault(r.raw_fd(), 4096 * 3..usize::MAX).unwrap();
        #[allow(clippy::reversed_empty_ranges)]
        other.prefault(r.raw_fd(), 10..5).unwrap();
        // SAFETY: single-threaded test.
        unsafe {
            assert_eq!(other.slice::<u8>(0, 4096 * 4)[5000], 9);
            sys::unmap(other.ptr, other.len);
        }
    }

    #[test]
    fn one_lease_at_a_time() {
        let r = SharedRegion::new(64).unwrap();
        let lease = r.mem().lease();
        let again =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(r.mem().lease())));
        assert!(again.is_err(), "a second lease while the first is held");
        drop(lease);
        drop(r.mem().lease());
    }

    #[test]
    #[should_panic(expected = "out of bounds")]
    fn out_of_bounds_slices_panic() {
        let r = SharedRegion::new(64).unwrap();
        // SAFETY: the call panics before creating a slice.
        unsafe {
            r.mem().slice::<u64>(0, 10_000);
        }
    }
}
