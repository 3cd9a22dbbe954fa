//! Scratch memory for kernels: page-aligned anonymous mappings, large ones backed by transparent
//! huge pages, kept in a small process-wide pool between calls.
//!
//! Why not a `Vec`: a worker process of the `multi-process` strategy is new every repetition, so
//! its packing buffers are new memory that must be faulted in. With 4 KiB pages a 4 MiB buffer is
//! about a thousand page faults (about 2.2 ms in the 2-vCPU development VM, where each fault also
//! exits to the hypervisor); with 2 MiB pages it is two (about 0.4 ms, mostly zeroing). Threads
//! never paid this after the first repetition, because glibc hands a freed buffer straight back to
//! the next thread; the pool makes that reuse explicit, so threads still skip the faults and
//! processes pay only the huge-page price. Huge pages also cover a packed panel with a handful of
//! TLB entries instead of hundreds.
//!
//! Small buffers (below [`HUGE_FROM_BYTES`]) stay on 4 KiB pages: rounding each of hundreds of
//! oversubscribed threads' small buffers up to 2 MiB of physical memory would waste far more than
//! it saves. Transparent huge pages are advice: where the kernel has them off (or in `never` mode)
//! the buffer simply uses small pages.

use std::ptr::NonNull;
use std::sync::Mutex;

const PAGE_BYTES: usize = 4096;
const HUGE_PAGE_BYTES: usize = 2 << 20;
/// Buffers at least this large are aligned to and advised for 2 MiB pages.
pub const HUGE_FROM_BYTES: usize = 1 << 20;
/// The pool keeps at most this many bytes of idle buffers; the rest are unmapped.
const POOL_LIMIT_BYTES: usize = 256 << 20;

/// One anonymous mapping of `bytes` bytes (a multiple of the page size), zero when first mapped.
#[derive(Debug)]
pub struct ScratchBuf {
    ptr: NonNull<u8>,
    bytes: usize,
}

// SAFETY: the mapping is owned exclusively by this value; moving it between threads is fine.
unsafe impl Send for ScratchBuf {}

impl ScratchBuf {
    /// Map at least `min_bytes` bytes (at least one page). Aborts like an allocation failure when
    /// the kernel refuses the mapping.
    pub fn new(min_bytes: usize) -> ScratchBuf {
        let huge = min_bytes >= HUGE_FROM_BYTES;
        let align = if huge { HUGE_PAGE_BYTES } else { PAGE_BYTES };
        let bytes = min_bytes.max(1).next_multiple_of(align);
        // Over-map by one alignment unit, then cut the unaligned head and the tail away.
        let span = bytes + align - PAGE_BYTES;
        // SAFETY: a fresh private anonymous mapping; no existing memory is touched.
        let raw = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                span,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if raw == libc::MAP_FAILED {
            let layout = std::alloc::Layout::from_size_align(bytes, PAGE_BYTES)
                .expect("scratch layout is valid");
            std::alloc::handle_alloc_error(layout);
        }
        let raw = raw as usize;
        let start = raw.next_multiple_of(align);
        let head = start - raw;
        let tail = span - head - bytes;
        // SAFETY: both pieces lie inside the mapping just made and are not used by anyone.
        unsafe {
            if head > 0 {
                libc::munmap(raw as *mut libc::c_void, head);
            }
            if tail > 0 {
                libc::munmap((start + bytes) as *mut libc::c_void, tail);
            }
            if huge {
                // Advice only: refused (THP off) means small pages, which is still correct.
                libc::madvise(start as *mut libc::c_void, bytes, libc::MADV_HUGEPAGE);
            }
        }
        ScratchBuf {
            ptr: NonNull::new(start as *mut u8).expect("mmap never returns null on success"),
            bytes,
        }
    }

    /// Size in bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The buffer as `len` values of `f64` (`len * 8 <= bytes()`); the contents are whatever the
    /// last user left (zero when new).
    pub fn as_f64_mut(&mut self, len: usize) -> &mut [f64] {
        assert!(len * 8 <= self.bytes, "scratch buffer too small");
        // SAFETY: page-aligned, in bounds, exclusively borrowed; every bit pattern is an f64.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr().cast::<f64>(), len) }
    }
}

impl Drop for ScratchBuf {
    fn drop(&mut self) {
        // SAFETY: we own exactly this mapping.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.bytes) };
    }
}

static POOL: Mutex<Vec<ScratchBuf>> = Mutex::new(Vec::new());

/// A buffer of at least `min_bytes`: the smallest idle one in the pool that fits, else a new one.
pub fn take(min_bytes: usize) -> ScratchBuf {
    let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
    let best = pool
        .iter()
        .enumerate()
        .filter(|(_, b)| b.bytes >= min_bytes)
        .min_by_key(|(_, b)| b.bytes)
        .map(|(i, _)| i);
    match best {
        Some(i) => pool.swap_remove(i),
        None => {
            drop(pool);
            ScratchBuf::new(min_bytes)
        }
    }
}

/// Return a buffer to the pool for the next caller (or unmap it if the pool is full).
pub fn give_back(buf: ScratchBuf) {
    let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
    let held: usize = pool.iter().map(ScratchBuf::bytes).sum();
    if held + buf.bytes <= POOL_LIMIT_BYTES {
        pool.push(buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_aligned_zeroed_and_big_enough() {
        for want in [1, 4095, 4097, HUGE_FROM_BYTES - 8, HUGE_FROM_BYTES, 5 << 20] {
            let mut b = ScratchBuf::new(want);
            assert!(b.bytes() >= want);
            let align = if want >= HUGE_FROM_BYTES {
                HUGE_PAGE_BYTES
            } else {
                PAGE_BYTES
            };
            assert_eq!(b.ptr.as_ptr() as usize % align, 0, "{want}");
            let n = want / 8;
            let s = b.as_f64_mut(n);
            assert!(s.iter().all(|&x| x == 0.0));
            s.fill(1.5);
        }
    }

    #[test]
    fn the_pool_hands_back_a_fitting_buffer() {
        let mut b = take(3 << 20);
        b.as_f64_mut(4)[3] = 7.0;
        let addr = b.ptr.as_ptr() as usize;
        give_back(b);
        // Another test may take it in between; only check what we get is big enough.
        let mut again = take(3 << 20);
        assert!(again.bytes() >= 3 << 20);
        if again.ptr.as_ptr() as usize == addr {
            assert_eq!(
                again.as_f64_mut(4)[3],
                7.0,
                "contents are kept, not cleared"
            );
        }
        give_back(again);
    }
}
