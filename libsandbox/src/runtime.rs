//! What std would otherwise provide: an allocator and a panic handler. The
//! unit tests, which link std, keep the allocator (so they run on it).

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicBool, Ordering};

use sandbox_arena::Arena;

// Link glibc explicitly: the `libc` crate leaves that to std when its `std`
// feature is on, which feature unification can turn on from any crate in the
// workspace, and the library must always record its dependency on libc.so.6
// (and the symbol versions it binds to).
#[link(name = "c")]
unsafe extern "C" {}

/// The host program's malloc: the library allocates little, and only while
/// starting up. Except in the early phase (see `early`), which runs before
/// libc is initialised, and in the constructor where the early phase
/// installed everything (see [`ArenaScope`]): then allocations come from
/// [`Arena`], and outlive it.
struct Malloc;

/// Whether allocations come from the arena.
static IN_ARENA: AtomicBool = AtomicBool::new(false);

/// Allocations come from the arena while one is alive (single-threaded code
/// only: the early phase, and the constructor's checks), and from malloc
/// again once it is dropped, however its scope ends.
pub struct ArenaScope(());

impl ArenaScope {
    /// Routes allocations to the arena.
    pub fn enter() -> ArenaScope {
        IN_ARENA.store(true, Ordering::Release);
        ArenaScope(())
    }
}

impl Drop for ArenaScope {
    fn drop(&mut self) {
        IN_ARENA.store(false, Ordering::Release);
    }
}

/// Allocations of the early phase (see [`sandbox_arena`]).
static ARENA: Arena = Arena::new();

// SAFETY: malloc/posix_memalign return memory suitably aligned for the layout
// (checked below) or NULL; free and realloc take only pointers they returned;
// arena memory is aligned as asked, reused only once freed from the top, and
// grown in place only on top (else copied out on realloc).
unsafe impl GlobalAlloc for Malloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if IN_ARENA.load(Ordering::Acquire) {
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
        } else {
            ARENA.release(ptr, layout.size());
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if IN_ARENA.load(Ordering::Acquire) && ARENA.contains(ptr) {
            // SAFETY: see the impl; the arena grows its top block in place.
            unsafe { ARENA.realloc(ptr, layout, new_size) }
        } else if ARENA.contains(ptr) || IN_ARENA.load(Ordering::Acquire) {
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

// The unwinding symbols the precompiled `core` and `alloc` name: see
// `sandbox_arena`, which defines them for both programs without std.
use sandbox_arena as _;
