//! Memory for code that runs before libc's malloc is usable (libsandbox's
//! early phase, which ld.so runs while it relocates the library) or with no
//! libc at all (the launcher).
//!
//! An [`Arena`] hands memory out in order, like a stack: the block on top
//! can grow in place and is taken back when freed, which covers growing
//! vectors and temporaries. It maps chunks from the kernel when first
//! needed, each twice as large as the one before, so that a process maps
//! only what it uses (a one-entry deny list fits in the first) and one
//! that allocates nothing maps nothing. Chunks are never unmapped: what is
//! allocated outlives the phase that allocated it.
//!
//! Single-threaded: both users allocate from one thread only (ld.so's
//! while relocating, then the constructor's; the launcher's main thread).
//!
//! The crate also gives both programs the two unwinding symbols that code
//! without std lacks (see the end of this file).

#![no_std]

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ptr;
use core::sync::atomic::{AtomicUsize, Ordering};

use syscalls::{Sysno, syscall};

/// The first chunk's length.
const FIRST_CHUNK: usize = 128 << 10;
/// Chunks double, so this many cover more memory than any policy needs.
const MAX_CHUNKS: usize = 20;

/// A stack of blocks in chunks mapped on demand (see the crate's documentation).
pub struct Arena {
    /// The chunks mapped so far, as (start, length); the last is in use.
    chunks: UnsafeCell<[(usize, usize); MAX_CHUNKS]>,
    count: AtomicUsize,
    /// The first free byte of the last chunk.
    top: AtomicUsize,
}

// SAFETY: the memory is only handed out by `allocate`, each range to one
// block at a time (a range is reused only once the block on top of it is
// freed), and the chunk list only grows; an arena is used by one thread at
// a time (see the crate's documentation).
unsafe impl Sync for Arena {}

impl Arena {
    /// An arena that has mapped nothing yet.
    pub const fn new() -> Arena {
        Arena { chunks: UnsafeCell::new([(0, 0); MAX_CHUNKS]), count: AtomicUsize::new(0), top: AtomicUsize::new(0) }
    }

    fn chunks(&self) -> &[(usize, usize)] {
        // SAFETY: entries below `count` are written once, before `count`
        // grows past them, by the only thread; no reference to the array
        // is held while `grow` writes the next entry.
        let chunks = unsafe { &*self.chunks.get() };
        &chunks[..self.count.load(Ordering::Acquire)]
    }

    /// Whether `ptr` was handed out by this arena.
    pub fn contains(&self, ptr: *mut u8) -> bool {
        self.chunks().iter().any(|&(start, length)| (start..start + length).contains(&(ptr as usize)))
    }

    /// A block for `layout`, or null if the kernel has no memory for it.
    pub fn allocate(&self, layout: Layout) -> *mut u8 {
        if let Some(&(chunk, length)) = self.chunks().last() {
            let start = self.top.load(Ordering::Relaxed).next_multiple_of(layout.align());
            if start + layout.size() <= chunk + length {
                return self.resize(start, layout.size());
            }
        }
        self.grow(layout)
    }

    /// Maps a new chunk large enough for `layout` and allocates it there.
    fn grow(&self, layout: Layout) -> *mut u8 {
        let count = self.count.load(Ordering::Relaxed);
        if count == MAX_CHUNKS {
            return ptr::null_mut();
        }
        let previous = self.chunks().last().map_or(FIRST_CHUNK / 2, |&(_, length)| length);
        let length = (2 * previous).max((layout.size() + layout.align()).next_multiple_of(4096));
        const PROT_READ_WRITE: usize = 0x1 | 0x2;
        const MAP_PRIVATE_ANONYMOUS: usize = 0x02 | 0x20;
        // SAFETY: an anonymous mapping at an address the kernel chooses
        // touches no existing memory.
        let mapped = unsafe { syscall!(Sysno::mmap, 0, length, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1isize, 0) };
        let Ok(chunk) = mapped else { return ptr::null_mut() };
        // SAFETY: see `chunks`; `count` < MAX_CHUNKS.
        unsafe { (*self.chunks.get())[count] = (chunk, length) };
        self.count.store(count + 1, Ordering::Release);
        self.resize(chunk.next_multiple_of(layout.align()), layout.size())
    }

    /// Makes the block at `start` (at or past the top, in the last chunk)
    /// `size` bytes long, if the chunk has room; else returns null.
    pub fn resize(&self, start: usize, size: usize) -> *mut u8 {
        match self.chunks().last() {
            Some(&(chunk, length)) if start >= chunk && start + size <= chunk + length => {
                self.top.store(start + size, Ordering::Relaxed);
                start as *mut u8
            }
            _ => ptr::null_mut(),
        }
    }

    /// Whether the block at `ptr` of `size` bytes is the one on top.
    pub fn is_top(&self, ptr: *mut u8, size: usize) -> bool {
        ptr as usize + size == self.top.load(Ordering::Relaxed)
    }

    /// Takes a block back if it is the one on top (others stay used).
    pub fn release(&self, ptr: *mut u8, size: usize) {
        if self.is_top(ptr, size) {
            self.top.store(ptr as usize, Ordering::Relaxed);
        }
    }
}

impl Default for Arena {
    fn default() -> Arena {
        Arena::new()
    }
}

// SAFETY: blocks are aligned as asked and never overlap (see `Sync`);
// `realloc` grows the top block in place only within its chunk, and
// otherwise copies through `alloc`.
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.allocate(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.release(ptr, layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if self.is_top(ptr, layout.size()) {
            let grown = self.resize(ptr as usize, new_size);
            if !grown.is_null() {
                return grown;
            }
        }
        // A block below the top shrinks where it is (its tail stays used):
        // a copy would touch as many fresh pages as it holds, and `collect`
        // and `shrink_to_fit` shrink vectors of tens of kilobytes.
        if new_size <= layout.size() {
            return ptr;
        }
        // SAFETY: the caller's contract, passed on.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let moved = self.allocate(new_layout);
        if !moved.is_null() {
            // SAFETY: both blocks are live and distinct; the old one holds
            // `layout.size()` bytes, the new one at least `new_size`.
            unsafe { ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size)) };
        }
        moved
    }
}

// The precompiled `core` and `alloc` are built for unwinding: their landing
// pads name the personality routine (which std defines) and `_Unwind_Resume`
// (from libgcc_s, which neither program links). With panic = "abort"
// nothing ever unwinds, so neither is ever called: both are traps, hidden
// (libsandbox.so exports neither) and weak. Not in this crate's own tests,
// which link std: with std in the same (LTO) module, the assembler refuses
// a second definition, weak or not; so no program with std may use this
// crate.
#[cfg(not(test))]
core::arch::global_asm!(
    ".weak rust_eh_personality",
    ".hidden rust_eh_personality",
    ".type rust_eh_personality, @function",
    "rust_eh_personality:",
    "ud2",
    ".weak _Unwind_Resume",
    ".hidden _Unwind_Resume",
    ".type _Unwind_Resume, @function",
    "_Unwind_Resume:",
    "ud2",
);

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;

    #[test]
    fn blocks_are_aligned_distinct_and_reused_from_the_top() {
        let arena = Arena::new();
        let small = Layout::from_size_align(24, 8).unwrap();
        let first = arena.allocate(small);
        let second = arena.allocate(Layout::from_size_align(100, 64).unwrap());
        assert_eq!(second as usize % 64, 0);
        assert!(second as usize >= first as usize + 24);
        arena.release(second, 100);
        assert_eq!(arena.allocate(Layout::from_size_align(100, 64).unwrap()), second, "the top block is reused");
        assert!(arena.contains(first) && !arena.contains(ptr::null_mut()));
    }

    #[test]
    fn chunks_are_added_as_needed_and_blocks_keep_their_contents() {
        let arena = Arena::new();
        let mut blocks = std::vec::Vec::new();
        for round in 0..40u8 {
            let layout = Layout::from_size_align(64 << 10, 16).unwrap();
            let block = arena.allocate(layout);
            assert!(!block.is_null());
            // SAFETY: a fresh block of 64 KiB.
            unsafe { block.write_bytes(round, 64 << 10) };
            blocks.push((block, round));
        }
        assert!(arena.chunks().len() > 1 && arena.chunks().len() < 10);
        for (block, round) in blocks {
            // SAFETY: each block stays allocated and was filled above.
            assert!(unsafe { std::slice::from_raw_parts(block, 64 << 10) }.iter().all(|&byte| byte == round));
        }
    }

    #[test]
    fn realloc_grows_in_place_on_top_and_copies_otherwise() {
        let arena = Arena::new();
        let layout = Layout::from_size_align(8, 8).unwrap();
        // SAFETY: GlobalAlloc's contract: layouts are non-zero and blocks are live.
        unsafe {
            let block = arena.alloc(layout);
            block.write_bytes(7, 8);
            let grown = arena.realloc(block, layout, 4096);
            assert_eq!(grown, block, "the top block grows in place");
            let other = arena.alloc(layout);
            let moved = arena.realloc(grown, Layout::from_size_align(4096, 8).unwrap(), 8192);
            assert_ne!(moved, grown);
            assert_eq!(*moved, 7);
            let _ = other;
        }
    }

    #[test]
    fn realloc_shrinks_in_place_below_the_top_and_on_it() {
        let arena = Arena::new();
        let big = Layout::from_size_align(16 << 10, 8).unwrap();
        // SAFETY: GlobalAlloc's contract: layouts are non-zero and blocks are live.
        unsafe {
            let below = arena.alloc(big);
            below.write_bytes(3, 16 << 10);
            let top = arena.alloc(big);
            assert_eq!(arena.realloc(below, big, 100), below, "no copy below the top");
            assert!(std::slice::from_raw_parts(below, 100).iter().all(|&byte| byte == 3));
            assert_eq!(arena.realloc(top, big, 100), top);
            assert!(arena.is_top(top, 100), "the top block's tail is taken back");
            let next = arena.alloc(Layout::from_size_align(8, 8).unwrap());
            assert_eq!(next as usize, (top as usize + 100).next_multiple_of(8));
        }
    }
}
