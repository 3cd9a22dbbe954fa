//! Scratch memory for kernels: page-aligned anonymous mappings, large ones backed by transparent
//! huge pages, kept in a small process-wide pool between calls.
//!
//! Users: matmul's packing buffers and the temporary of merge sort's multiway merge (three or
//! more runs). Why not a `Vec`: a worker process of the `multi-process` strategy is new every
//! repetition, so its buffers are new memory that must be faulted in. With 4 KiB pages a 4 MiB
//! buffer is about a thousand page faults (2.2 ms on first touch in the 2-vCPU development VM);
//! with 2 MiB pages it is two (0.4 ms, mostly zeroing). Threads never paid this after the first
//! repetition, because glibc hands a freed buffer straight back to the next thread; the pool makes
//! that reuse explicit, so threads still skip the faults and processes pay only the huge-page
//! price. Huge pages also cover a packed panel with a handful of TLB entries instead of hundreds.
//!
//! Small buffers (below [`HUGE_FROM_BYTES`]) stay on 4 KiB pages: rounding each of hundreds of
//! oversubscribed threads' small buffers up to 2 MiB of physical memory would waste far more than
//! it saves. Transparent huge pages are advice: where the kernel has them off (or in `never` mode)
//! the buffer simply uses small pages.

use std::ptr::NonNull;
use std::sync::Mutex;

use crate::sys;

const PAGE_BYTES: usize = 4096;
const HUGE_PAGE_BYTES: usize = 2 << 20;
/// Buffers at least this large are aligned to and advised for 2 MiB pages.
pub(crate) const HUGE_FROM_BYTES: usize = 1 << 20;
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
        let Ok(raw) = sys::map_anonymous(span) else {
            let layout = std::alloc::Layout::from_size_align(bytes, PAGE_BYTES)
                .expect("scratch layout is valid");
            std::alloc::handle_alloc_error(layout);
        };
        let raw = raw as usize;
        let start = raw.next_multiple_of(align);
        let head = start - raw;
        let tail = span - head - bytes;
        // SAFETY: both pieces lie inside the mapping just made and are not used by anyone.
        unsafe {
            if head > 0 {
                sys::unmap(raw as *mut u8, head);
            }
            if tail > 0 {
                sys::unmap((start + bytes) as *mut u8, tail);
            }
            if huge {
                // Advice only: refused (THP off) means small pages, which is still correct.
                sys::advise_huge_pages(start as *mut u8, bytes);
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
    pub(crate) fn as_f64_mut(&mut self, len: usize) -> &mut [f64] {
        // SAFETY: every bit pattern is a valid f64.
        unsafe { self.as_slice_mut(len) }
    }

    /// The buffer as `len` values of `u64`, like [`ScratchBuf::as_f64_mut`].
    pub(crate) fn as_u64_mut(&mut self, len: usize) -> &mut [u64] {
        // SAFETY: every bit pattern is a valid u64.
        unsafe { self.as_slice_mut(len) }
    }

    /// # Safety
    /// Every bit pattern must be a valid `T`, and `T`'s alignment at most a page.
    unsafe fn as_slice_mut<T: Copy>(&mut self, len: usize) -> &mut [T] {
        assert!(
            len * std::mem::size_of::<T>() <= self.bytes,
            "scratch buffer too small"
        );
        // SAFETY: page-aligned, in bounds, exclusively borrowed; the caller vouches for `T`.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr().cast::<T>(), len) }
    }
}

impl Drop for ScratchBuf {
    fn drop(&mut self) {
        // SAFETY: we own exactly this mapping.
        unsafe { sys::unmap(self.ptr.as_ptr(), self.bytes) };
    }
}

/// Idle buffers, best fit first, holding at most `limit_bytes` in all.
#[derive(Debug)]
struct Pool {
    idle: Vec<ScratchBuf>,
    limit_bytes: usize,
}

impl Pool {
    /// The smallest idle buffer of at least `min_bytes`, if any.
    fn take(&mut self, min_bytes: usize) -> Option<ScratchBuf> {
        let best = self
            .idle
            .iter()
            .enumerate()
            .filter(|(_, b)| b.bytes >= min_bytes)
            .min_by_key(|(_, b)| b.bytes)
            .map(|(i, _)| i)?;
        Some(self.idle.swap_remove(best))
    }

    /// Keep `buf` for later, or drop (unmap) it when that would exceed the limit.
    fn give(&mut self, buf: ScratchBuf) {
        let held: usize = self.idle.iter().map(ScratchBuf::bytes).sum();
        if held + buf.bytes <= self.limit_bytes {
            self.idle.push(buf);
        }
    }
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    idle: Vec::new(),
    limit_bytes: POOL_LIMIT_BYTES,
});

fn pool() -> std::sync::MutexGuard<'static, Pool> {
    // The pool holds no invariant a panic could break half-way.
    POOL.lock().unwrap_or_else(|p| p.into_inner())
}

/// A buffer of at least `min_bytes`: the smallest idle one in the pool that fits, else a new one.
pub fn take(min_bytes: usize) -> ScratchBuf {
    let reused = pool().take(min_bytes);
    reused.unwrap_or_else(|| ScratchBuf::new(min_bytes))
}

/// Return a buffer to the pool for the next caller (or unmap it if the pool is full).
pub(crate) fn give_back(buf: ScratchBuf) {
    pool().give(buf);
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
    fn the_pool_reuses_the_best_fit_and_respects_its_limit() {
        let mut p = Pool {
            idle: Vec::new(),
            limit_bytes: 6 << 20,
        };
        assert!(p.take(1).is_none());
        let mut big = ScratchBuf::new(4 << 20);
        big.as_u64_mut(1)[0] = 7;
        let small = ScratchBuf::new(8192);
        let (big_at, small_at) = (big.ptr, small.ptr);
        p.give(big);
        p.give(small);
        let got = p.take(100).unwrap();
        assert_eq!(got.ptr, small_at, "best fit: the small one");
        let mut got_big = p.take(4096 * 3).unwrap();
        assert_eq!(got_big.ptr, big_at);
        assert_eq!(
            got_big.as_u64_mut(1)[0],
            7,
            "contents are kept, not cleared"
        );
        assert!(p.take(1).is_none());
        p.give(got_big);
        p.give(ScratchBuf::new(4 << 20)); // 4 + 4 MiB > 6 MiB: unmapped, not kept
        assert_eq!(p.idle.len(), 1);
        drop(got);
    }

    #[test]
    fn the_global_pool_hands_out_big_enough_buffers() {
        let b = take(3 << 20);
        assert!(b.bytes() >= 3 << 20);
        give_back(b);
        assert!(take(10).bytes() >= 10);
    }
}
