//! `libsandbox.so`: confines a dynamically linked program with a seccomp
//! filter read from the environment, with no change to the program.
//!
//! ```text
//! LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libsandbox.so SECCOMP_SYSCALL_DENY=uname ./app
//! ```
//!
//! The constructor reads and removes the policy variables, compiles the
//! policy, and decides where to install it (see [`startup`]):
//!
//! - just before the program's own code, in our `__libc_start_main`, when the
//!   program's `_start` is certain to call it: ld.so and libc have finished
//!   their start-up system calls, and the program's constructors and `main`
//!   have not run yet;
//! - otherwise at once, in the constructor.
//!
//! Any failure ends the process with status 125 and one line on stderr before
//! the program's code runs: a program is never started unconfined after a
//! policy was asked for.
//!
//! The library is `no_std`: linking std would pull in libgcc_s, whose loading
//! alone costs more start-up time than everything the sandbox does.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

mod environment;
mod fail;
mod files;
#[cfg(not(test))]
mod runtime;
mod startup;

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use core::ffi::{c_char, c_int, c_void};
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};

use sandbox_policy::install::Threads;
use sandbox_policy::{Policy, Program, compile, install};

use crate::fail::fail;

/// A filter waiting for `__libc_start_main`, with the line to print when it is installed.
struct Pending {
    program: Program,
    announcement: Option<String>,
}

/// Set by the constructor, taken (once) by `__libc_start_main`.
static PENDING: AtomicPtr<Pending> = AtomicPtr::new(ptr::null_mut());

#[ctor::ctor(unsafe)]
fn on_load() {
    let variables = environment::take().unwrap_or_else(|error| fail(&error));
    if variables.is_empty() {
        return;
    }
    // SAFETY: getauxval only reads the auxiliary vector.
    if unsafe { libc::getauxval(libc::AT_SECURE) } != 0 {
        // The caller of a setuid/setgid/capability program is not trusted to
        // choose its policy: an errno rule on setuid() could keep it root.
        fail(&"refusing a policy from the environment of a setuid, setgid or file-capability program");
    }
    let policy = match variables.lists(&mut files::Libc) {
        Ok(Some(lists)) => Policy::new(lists),
        Ok(None) => return,
        Err(error) => fail(&error),
    };
    let program = compile(&policy);
    let announce = |point: &str| {
        variables.verbose().then(|| format!("{policy} ({} BPF instructions, installed {point})", program.insns().len()))
    };
    if startup::main_program_calls(c"__libc_start_main", __libc_start_main as *const () as usize) {
        let announcement = announce("before the program's constructors and main");
        PENDING.store(Box::into_raw(Box::new(Pending { program, announcement })), Ordering::Release);
    } else {
        let announcement = announce("in the library constructor");
        apply(Pending { program, announcement });
    }
}

fn apply(pending: Pending) {
    if let Err(error) = install(&pending.program, Threads::All) {
        fail(&error);
    }
    if let Some(line) = pending.announcement {
        fail::say(&line);
    }
}

type LibcStartMain = unsafe extern "C" fn(
    main: *const c_void,
    argc: c_int,
    argv: *mut *mut c_char,
    init: *const c_void,
    fini: *const c_void,
    rtld_fini: *const c_void,
    stack_end: *mut c_void,
) -> c_int;

/// Interposes glibc's `__libc_start_main`, which `_start` calls before the
/// program's constructors and `main`: the latest point that still comes
/// before every line of the program's own code.
///
/// # Safety
/// Called by the program's `_start` with the arguments it would pass to glibc.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __libc_start_main(
    main: *const c_void,
    argc: c_int,
    argv: *mut *mut c_char,
    init: *const c_void,
    fini: *const c_void,
    rtld_fini: *const c_void,
    stack_end: *mut c_void,
) -> c_int {
    let pending = PENDING.swap(ptr::null_mut(), Ordering::Acquire);
    if !pending.is_null() {
        // SAFETY: the pointer came from Box::into_raw and the swap hands it out once.
        apply(*unsafe { Box::from_raw(pending) });
    }
    // SAFETY: dlsym with RTLD_NEXT and a NUL-terminated name.
    let next = unsafe { libc::dlsym(libc::RTLD_NEXT, c"__libc_start_main".as_ptr()) };
    if next.is_null() {
        fail(&"cannot find glibc's __libc_start_main");
    }
    // SAFETY: the symbol glibc exports under this name has this signature.
    let next: LibcStartMain = unsafe { core::mem::transmute(next) };
    // SAFETY: forwarding the caller's own arguments unchanged.
    unsafe { next(main, argc, argv, init, fini, rtld_fini, stack_end) }
}
