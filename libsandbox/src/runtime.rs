//! What std would otherwise provide: an allocator and a panic handler. The
//! unit tests, which link std, keep the allocator (so they run on it).

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

// Link glibc explicitly: the `libc` crate leaves that to std when its `std`
// feature is on, which feature unification can turn on from any crate in the
// workspace, and the library must always record its dependency on libc.so.6
// (and the symbol versions it binds to).
#[link(name = "c")]
unsafe extern "C" {}

/// The host program's malloc: the library allocates little, and only while
/// starting up. Except in the early phase (see `early`), which runs before
/// libc is initialised: then allocations come from [`Arena`], and outlive it.
struct Malloc;

/// Whether allocations come from the arena.
static EARLY: AtomicBool = AtomicBool::new(false);

/// Routes allocations to the arena while `early` is true.
pub fn allocate_early(early: bool) {
    EARLY.store(early, Ordering::Release);
}

/// Memory for the early phase: handed out in order, like a stack; the block
/// on top can grow in place and is taken back when freed, which covers
/// growing vectors and temporaries. It comes in chunks mapped when first
/// needed, each twice as large as the one before, so that a process maps
/// only what its policy needs (a one-entry deny list fits in the first)
/// and one with no policy maps nothing. Chunks are never unmapped: what the
/// early phase allocates outlives it. Single-threaded: ld.so relocates the
/// library before any thread exists.
struct Arena {
    /// The chunks mapped so far, as (start, length); the last is in use.
    chunks: UnsafeCell<[(usize, usize); MAX_CHUNKS]>,
    count: AtomicUsize,
    /// The first free byte of the last chunk.
    top: AtomicUsize,
}

/// The first chunk's length: the early phase of a short deny list needs a
/// fraction of it.
const FIRST_CHUNK: usize = 128 << 10;
/// Chunks double, so this many cover more memory than any policy needs.
const MAX_CHUNKS: usize = 20;

// SAFETY: the memory is only handed out by `allocate`, each range to one
// block at a time (a range is reused only once the block on top of it is
// freed), and the chunk list only grows; both are used by one thread:
// ld.so's while relocating, then the constructor's.
unsafe impl Sync for Arena {}

static ARENA: Arena =
    Arena { chunks: UnsafeCell::new([(0, 0); MAX_CHUNKS]), count: AtomicUsize::new(0), top: AtomicUsize::new(0) };

impl Arena {
    fn chunks(&self) -> &[(usize, usize)] {
        // SAFETY: see the impl of Sync: entries below `count` are written
        // once, before `count` grows past them, by the only thread.
        let chunks = unsafe { &*self.chunks.get() };
        &chunks[..self.count.load(Ordering::Acquire)]
    }

    fn contains(&self, ptr: *mut u8) -> bool {
        self.chunks().iter().any(|&(start, length)| (start..start + length).contains(&(ptr as usize)))
    }

    fn allocate(&self, layout: Layout) -> *mut u8 {
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
        let previous = self.chunks().last().map_or(FIRST_CHUNK / 2, |&(_, length)| length);
        let needed = (layout.size() + layout.align()).next_multiple_of(4096);
        let length = (2 * previous).max(needed);
        if count == MAX_CHUNKS {
            return core::ptr::null_mut();
        }
        let protection = libc::PROT_READ | libc::PROT_WRITE;
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
        // SAFETY: an anonymous mapping at an address the kernel chooses
        // touches no existing memory.
        let chunk = unsafe { libc::mmap(core::ptr::null_mut(), length, protection, flags, -1, 0) };
        if chunk == libc::MAP_FAILED {
            return core::ptr::null_mut();
        }
        // SAFETY: see the impl of Sync; `count` < MAX_CHUNKS.
        unsafe { (*self.chunks.get())[count] = (chunk as usize, length) };
        self.count.store(count + 1, Ordering::Release);
        let start = (chunk as usize).next_multiple_of(layout.align());
        self.resize(start, layout.size())
    }

    /// Makes the block at `start` (at or past the top, in the last chunk)
    /// `size` bytes long, if the chunk has room.
    fn resize(&self, start: usize, size: usize) -> *mut u8 {
        match self.chunks().last() {
            Some(&(chunk, length)) if start + size <= chunk + length => {
                self.top.store(start + size, Ordering::Relaxed);
                start as *mut u8
            }
            _ => core::ptr::null_mut(),
        }
    }

    /// Whether the block at `ptr` of `size` bytes is the one on top.
    fn is_top(&self, ptr: *mut u8, size: usize) -> bool {
        ptr as usize + size == self.top.load(Ordering::Relaxed)
    }

    /// Takes back the block on top, which starts at `ptr`.
    fn pop(&self, ptr: *mut u8) {
        self.top.store(ptr as usize, Ordering::Relaxed);
    }
}

// SAFETY: malloc/posix_memalign return memory suitably aligned for the layout
// (checked below) or NULL; free and realloc take only pointers they returned;
// arena memory is aligned as asked, reused only once freed from the top, and
// grown in place only on top (else copied out on realloc).
unsafe impl GlobalAlloc for Malloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if EARLY.load(Ordering::Acquire) {
            ARENA.allocate(layout)
        } else if layout.align() <= MIN_ALIGN {
            // SAFETY: see the impl.
            unsafe { libc::malloc(layout.size()).cast() }
        } else {
            let mut out = core::ptr::null_mut();
            // SAFETY: see the impl; the alignment is a power of two ≥ pointer size.
            match unsafe { libc::posix_memalign(&mut out, layout.align(), layout.size()) } {
                0 => out.cast(),
                _ => core::ptr::null_mut(),
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !ARENA.contains(ptr) {
            // SAFETY: see the impl.
            unsafe { libc::free(ptr.cast()) }
        } else if ARENA.is_top(ptr, layout.size()) {
            ARENA.pop(ptr);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let grown = match EARLY.load(Ordering::Acquire) && ARENA.is_top(ptr, layout.size()) {
            true => ARENA.resize(ptr as usize, new_size),
            false => core::ptr::null_mut(),
        };
        if !grown.is_null() {
            grown
        } else if ARENA.contains(ptr) || EARLY.load(Ordering::Acquire) {
            // SAFETY: see the impl; the default allocates, copies and deallocates.
            unsafe { GlobalAlloc::realloc(&FallbackRealloc, ptr, layout, new_size) }
        } else if layout.align() <= MIN_ALIGN {
            // SAFETY: see the impl.
            unsafe { libc::realloc(ptr.cast(), new_size).cast() }
        } else {
            // SAFETY: see the impl; the default copies through alloc/dealloc.
            unsafe { GlobalAlloc::realloc(&FallbackRealloc, ptr, layout, new_size) }
        }
    }
}

/// glibc's malloc alignment on x86_64.
const MIN_ALIGN: usize = 16;

/// Routes reallocations that `realloc` cannot do (over-aligned ones, arena
/// memory) through the trait's default (allocate, copy, deallocate).
struct FallbackRealloc;

// SAFETY: delegates to `Malloc`.
unsafe impl GlobalAlloc for FallbackRealloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: delegated.
        unsafe { Malloc.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: delegated.
        unsafe { Malloc.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Malloc = Malloc;

/// A panic is a bug in the library: stop the program rather than risk
/// running it unconfined. (Unit tests run with std, which has its own.)
#[cfg(not(test))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    crate::fail::fail(&alloc::format!("internal error: {}", info.message()))
}

// The precompiled `core` and `alloc` are built for unwinding: their landing
// pads name the personality routine (which std defines) and `_Unwind_Resume`
// (from libgcc_s, the very library this crate avoids). With panic = "abort"
// nothing ever unwinds, so neither is ever called: define both as traps,
// hidden, so that they satisfy the loader without being exported. (Unit
// tests link std, which defines both.)
#[cfg(not(test))]
core::arch::global_asm!(
    ".globl rust_eh_personality",
    ".hidden rust_eh_personality",
    ".type rust_eh_personality, @function",
    "rust_eh_personality:",
    "ud2",
    ".globl _Unwind_Resume",
    ".hidden _Unwind_Resume",
    ".type _Unwind_Resume, @function",
    "_Unwind_Resume:",
    "ud2",
);
