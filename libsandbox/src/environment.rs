//! Reading the sandbox's variables from the process environment, and removing
//! them so that neither the program nor its children see the policy.

use alloc::ffi::CString;
use alloc::vec::Vec;
use core::ffi::{CStr, c_char};

use sandbox_policy::text::variables::{self, EnvironmentError, Variables};

unsafe extern "C" {
    /// The process environment (`environ(7)`).
    static mut environ: *mut *mut c_char;
}

// `__libc_stack_end`, glibc's ld.so's record of where the kernel's initial
// stack began (argc, then argv and the environment, each NULL-terminated),
// referenced weakly: a strong reference would make ld.so a DT_NEEDED entry.
core::arch::global_asm!(
    ".weak __libc_stack_end",
    ".globl sandbox_initial_stack",
    ".hidden sandbox_initial_stack",
    ".type sandbox_initial_stack, @function",
    "sandbox_initial_stack:",
    "mov rax, qword ptr [rip + __libc_stack_end@GOTPCREL]",
    "test rax, rax",
    "jz 2f",
    "mov rax, qword ptr [rax]",
    "2:",
    "ret",
    ".size sandbox_initial_stack, . - sandbox_initial_stack",
);

unsafe extern "C" {
    /// The initial stack pointer, or NULL without glibc's ld.so.
    fn sandbox_initial_stack() -> *const usize;
}

/// Reads the sandbox's variables from `environment`, the array ld.so hands
/// the library's constructor, and removes them from it.
///
/// The library initialises before libc (see `build.rs`): at start-up libc's
/// `environ` is still NULL and `environment` is the kernel's array on the
/// initial stack, which libc adopts right after. Loaded later with dlopen,
/// `environment` is libc's `environ`.
pub fn take(environment: *mut *mut c_char) -> Result<Variables, EnvironmentError> {
    let (variables, found) = read(environment)?;
    // SAFETY: reads libc's pointer; during start-up nothing modifies it concurrently.
    let adopted_by_libc = unsafe { environ } == environment;
    for (name, entry) in found {
        if adopted_by_libc {
            let c_name = CString::new(name).expect("variable names have no NUL");
            // SAFETY: unsetenv with a valid name.
            unsafe { libc::unsetenv(c_name.as_ptr()) };
        } else {
            remove_from(environment, entry);
        }
        scrub(entry);
    }
    Ok(variables)
}

/// The value of the variable `name` in the NULL-terminated `environment`.
pub fn value(environment: *mut *mut c_char, name: &[u8]) -> Option<Vec<u8>> {
    entries(environment).find_map(|entry| {
        // SAFETY: every entry is a NUL-terminated string.
        let bytes = unsafe { CStr::from_ptr(entry) }.to_bytes();
        bytes.strip_prefix(name).and_then(|rest| rest.strip_prefix(b"=")).map(<[u8]>::to_vec)
    })
}

/// The `NAME=VALUE` strings of the NULL-terminated `environment` (none for NULL).
fn entries(environment: *mut *mut c_char) -> impl Iterator<Item = *mut c_char> {
    let mut cursor = environment;
    core::iter::from_fn(move || {
        if cursor.is_null() {
            return None;
        }
        // SAFETY: `cursor` points into the array, at most at its terminator.
        let entry = unsafe { *cursor };
        if entry.is_null() {
            return None;
        }
        // SAFETY: the terminator has not been reached, so the next slot exists.
        cursor = unsafe { cursor.add(1) };
        Some(entry)
    })
}

/// Whether libc has set `environ`, which it does in its initialisation:
/// false while ld.so starts the program.
pub fn libc_started() -> bool {
    // SAFETY: reads libc's pointer.
    !unsafe { environ }.is_null()
}

/// Reads the sandbox's variables from the environment the kernel gave the
/// program, before libc has set `environ` (while ld.so relocates this
/// library), and removes nothing. `None` when the initial stack is unknown.
pub fn initial() -> Option<Result<Variables, EnvironmentError>> {
    // SAFETY: a leaf function that reads one GOT entry.
    let start = unsafe { sandbox_initial_stack() };
    if start.is_null() {
        return None;
    }
    // SAFETY: the initial stack holds argc, argv[argc + 1], then the
    // environment, NULL-terminated, for the life of the process.
    let environment = unsafe { start.add(1 + *start + 1) as *mut *mut c_char };
    Some(read(environment).map(|(variables, _)| variables))
}

/// A variable of the sandbox and its `NAME=VALUE` string in the environment.
type Found = (&'static str, *mut c_char);

/// The sandbox's variables in a NULL-terminated `environment`, and where
/// each was found (see [`Variables::add`] for what is refused).
fn read(environment: *mut *mut c_char) -> Result<(Variables, Vec<Found>), EnvironmentError> {
    let mut variables = Variables::default();
    let mut found: Vec<Found> = Vec::new();
    for entry in entries(environment).filter(|&entry| variables::is_ours(head(entry))) {
        // SAFETY: every entry is a NUL-terminated string.
        let (name, value) = variables::split_entry(unsafe { CStr::from_ptr(entry) }.to_bytes());
        if let Some(known) = variables.add(name, value)? {
            found.push((known, entry));
        }
    }
    Ok((variables, found))
}

/// The first bytes of the NUL-terminated `entry`, up to
/// [`variables::PREFIX_LEN`]: enough to tell whether it is one of ours
/// without measuring every string of the environment.
fn head<'a>(entry: *const c_char) -> &'a [u8] {
    let mut len = 0;
    // SAFETY: reads stop at the terminator, which the string has.
    while len < variables::PREFIX_LEN && unsafe { *entry.add(len) } != 0 {
        len += 1;
    }
    // SAFETY: the `len` bytes just read, none of them the terminator.
    unsafe { core::slice::from_raw_parts(entry.cast::<u8>(), len) }
}

/// Removes `entry` from the NULL-terminated `environment`, moving the later
/// entries down, as unsetenv does in libc's array.
fn remove_from(environment: *mut *mut c_char, entry: *mut c_char) {
    let mut slot = environment;
    // SAFETY: `slot` moves through the array up to its terminator, which
    // moves down one place with the entries after `entry`.
    unsafe {
        while !(*slot).is_null() && *slot != entry {
            slot = slot.add(1);
        }
        while !(*slot).is_null() {
            *slot = *slot.add(1);
            slot = slot.add(1);
        }
    }
}

/// Where a removed `entry` is the kernel's copy on the initial stack,
/// overwrites it, so that `/proc/PID/environ` does not show it either.
fn scrub(entry: *mut c_char) {
    if is_initial_stack_string(entry) {
        // SAFETY: the string lies in the writable initial stack (checked just
        // above) and is no longer referenced by `environ`.
        unsafe {
            let len = libc::strlen(entry);
            core::ptr::write_bytes(entry, 0, len);
        }
    }
}

/// Whether `string` lies between this frame and the executable's file name,
/// i.e. among the argument and environment strings the kernel put at the top
/// of the initial stack. Strings that `setenv` or `putenv` supplied may live
/// in read-only memory and are left alone.
fn is_initial_stack_string(string: *const c_char) -> bool {
    // SAFETY: getauxval only reads the auxiliary vector.
    let execfn = unsafe { libc::getauxval(libc::AT_EXECFN) } as usize;
    let frame = &execfn as *const usize as usize;
    let address = string as usize;
    frame < address && address < execfn
}
