//! What libc and std would otherwise provide: an allocator, the memory
//! functions the compiler calls, a panic handler, writing a line, exiting;
//! and the hand-over to the full program.

use core::ffi::c_char;

use sandbox_arena::Arena;
use syscalls::{Sysno, syscall};

use crate::Stack;

/// Every allocation: the launcher allocates a few policies' worth and execs.
#[global_allocator]
static ARENA: Arena = Arena::new();

/// The status for the launcher's own failures (see sandboxify's `--help`).
const FAILURE: i32 = 125;

/// Writes `parts` to stderr as one line (one write, so that lines from
/// several processes do not interleave).
fn say(parts: &[&[u8]]) {
    let mut line = alloc::vec::Vec::new();
    line.extend_from_slice(b"sandboxify: ");
    for part in parts {
        line.extend_from_slice(part);
    }
    line.push(b'\n');
    // SAFETY: writes bytes from a live buffer; a closed stderr just fails.
    let _ = unsafe { syscall!(Sysno::write, 2, line.as_ptr(), line.len()) };
}

/// Ends the process with `status`.
fn exit(status: i32) -> ! {
    // SAFETY: exit_group takes an integer and does not return.
    let _ = unsafe { syscall!(Sysno::exit_group, status) };
    unreachable!("exit_group returned")
}

/// The bytes of a NUL-terminated string.
///
/// # Safety
///
/// `string` must point to a NUL-terminated string that outlives the slice.
pub unsafe fn bytes<'a>(string: *const c_char) -> &'a [u8] {
    // SAFETY: the caller's contract: every byte up to the NUL is readable,
    // and lives as long as the slice.
    unsafe { core::slice::from_raw_parts(string.cast(), strlen(string)) }
}

/// The full program's file name, next to the launcher.
const FULL_PROGRAM: &[u8] = b"sandboxify-full";

/// `AT_EXECFN`: the path the launcher was exec'd by.
const AT_EXECFN: usize = 31;

/// Execs `sandboxify-full`, from the launcher's own directory, with the
/// arguments and environment the launcher was given, untouched.
pub fn exec_full_program(stack: &Stack) -> ! {
    let mut own = [0u8; 4096];
    // SAFETY: readlink writes at most the buffer's length.
    let read = unsafe { syscall!(Sysno::readlink, c"/proc/self/exe".as_ptr(), own.as_mut_ptr(), own.len()) };
    let own: &[u8] = match read {
        Ok(length) if length < own.len() => &own[..length],
        // No /proc: the path the launcher was run by.
        _ => match stack.auxiliary(AT_EXECFN) {
            // SAFETY: AT_EXECFN points to a NUL-terminated string on the initial stack.
            Some(path) => unsafe { bytes(path as *const c_char) },
            None => b"",
        },
    };
    let directory = match own.iter().rposition(|&byte| byte == b'/') {
        Some(slash) => &own[..=slash],
        None => b"./",
    };
    let mut full = alloc::vec::Vec::from(directory);
    full.extend_from_slice(FULL_PROGRAM);
    full.push(0);
    // SAFETY: a NUL-terminated path, and the NULL-terminated arrays the
    // kernel gave this process.
    let error = unsafe { syscall!(Sysno::execve, full.as_ptr(), stack.argv, stack.envp) };
    let errno = error.err().map_or(0, |errno| errno.into_raw());
    let errno = sandbox_policy::Action::Errno(errno as u16);
    say(&[b"cannot run the full program ", &full[..full.len() - 1], b": ", alloc::format!("{errno}").as_bytes()]);
    exit(FAILURE)
}

/// A panic is a bug in the launcher: end without running PROGRAM.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: writes a static string.
    let _ = unsafe { syscall!(Sysno::write, 2, c"sandboxify: internal error\n".as_ptr(), 27) };
    exit(FAILURE)
}

// What the compiler calls for copies, fills and comparisons, which libc
// would provide. `rep movsb`/`rep stosb` rather than loops, which the
// compiler could turn back into calls to these very functions.

/// # Safety
///
/// The C contract: `count` bytes readable at `source`, writable at
/// `destination`, not overlapping.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcpy(destination: *mut u8, source: *const u8, count: usize) -> *mut u8 {
    // SAFETY: the caller's contract; rep movsb copies `rcx` bytes forwards.
    unsafe {
        core::arch::asm!("rep movsb", inout("rcx") count => _, inout("rdi") destination => _,
            inout("rsi") source => _, options(nostack, preserves_flags));
    }
    destination
}

/// # Safety
///
/// The C contract: `count` bytes readable at `source` and writable at
/// `destination`, which may overlap.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memmove(destination: *mut u8, source: *const u8, count: usize) -> *mut u8 {
    if (destination as usize).wrapping_sub(source as usize) >= count {
        // The destination starts before the source or past its end: forwards.
        // SAFETY: the caller's contract; a forward copy reads each byte before overwriting it.
        return unsafe { memcpy(destination, source, count) };
    }
    // SAFETY: the caller's contract; with the direction flag set, rep movsb
    // copies backwards from the last byte, reading each before it is overwritten.
    unsafe {
        core::arch::asm!("std", "rep movsb", "cld", inout("rcx") count => _,
            inout("rdi") destination.add(count).wrapping_sub(1) => _,
            inout("rsi") source.add(count).wrapping_sub(1) => _, options(nostack));
    }
    destination
}

/// # Safety
///
/// The C contract: `count` bytes writable at `destination`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memset(destination: *mut u8, byte: i32, count: usize) -> *mut u8 {
    // SAFETY: the caller's contract; rep stosb stores `al` `rcx` times.
    unsafe {
        core::arch::asm!("rep stosb", inout("rcx") count => _, inout("rdi") destination => _,
            in("al") byte as u8, options(nostack, preserves_flags));
    }
    destination
}

/// # Safety
///
/// The C contract: `count` bytes readable at both pointers.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(left: *const u8, right: *const u8, count: usize) -> i32 {
    for at in 0..count {
        // SAFETY: the caller's contract; volatile keeps the compiler from
        // turning the loop into a call to this function.
        let (a, b) = unsafe { (left.add(at).read_volatile(), right.add(at).read_volatile()) };
        if a != b {
            return i32::from(a) - i32::from(b);
        }
    }
    0
}

/// # Safety
///
/// The C contract: a NUL-terminated string at `string`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strlen(string: *const c_char) -> usize {
    let mut length = 0;
    // SAFETY: the caller's contract; volatile, as in `memcmp`.
    while unsafe { string.add(length).read_volatile() } != 0 {
        length += 1;
    }
    length
}

/// # Safety
///
/// As for [`memcmp`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bcmp(left: *const u8, right: *const u8, count: usize) -> i32 {
    // SAFETY: the caller's contract, passed on.
    unsafe { memcmp(left, right, count) }
}
