//! `sandboxify`: the launcher, a static program without libc.
//!
//! sandboxify is one more exec in front of every program it runs, and a
//! static glibc program starts slowly on a VM: glibc's start-up runs some
//! thirty CPUID instructions, each of which traps to the hypervisor (an
//! exec through a glibc launcher that does nothing else costs 300 to
//! 600 µs here, through one without libc some 30 µs). So the command
//! operators run has no libc at all: it reads the common forms itself
//! ([`sandbox_launcher::common_form`] with the policy variables), and
//! compiles, installs and execs with the policy crate and raw system calls
//! (see [`fast`]). Everything else, and every case it is unsure of (an
//! error to report, a PROGRAM it cannot find, a policy with a reporter),
//! it hands, untouched, to the full program
//! `sandboxify-full` next to it, which behaves exactly as sandboxify
//! always has. Nothing the launcher does before that exec changes the
//! process, but for one case: an exec of PROGRAM that fails once the
//! filter is in (see [`fast`]).

#![no_std]
#![no_main]

extern crate alloc;

mod fast;
mod gated;
mod runtime;

use core::ffi::c_char;

/// What the kernel puts on the initial stack: argc, then argv and the
/// environment, each NULL-terminated, then the auxiliary vector.
pub struct Stack {
    /// argv, NULL-terminated.
    argv: *const *const c_char,
    argc: usize,
    /// The environment, NULL-terminated.
    envp: *const *const c_char,
    /// The auxiliary vector: (type, value) pairs ending with `AT_NULL`.
    auxv: *const usize,
}

impl Stack {
    /// Reads the initial stack at `sp`.
    ///
    /// # Safety
    ///
    /// `sp` must be the stack pointer the kernel gave the entry point.
    unsafe fn at(sp: *const usize) -> Stack {
        // SAFETY: the kernel's layout: argc, argc pointers and a NULL, the
        // environment's pointers and a NULL, then the auxiliary vector.
        unsafe {
            let argc = *sp;
            let argv = sp.add(1).cast::<*const c_char>();
            let envp = argv.add(argc + 1);
            let mut end = envp;
            while !(*end).is_null() {
                end = end.add(1);
            }
            Stack { argv, argc, envp, auxv: end.add(1).cast() }
        }
    }

    /// The value of auxiliary vector entry `kind`, if present.
    fn auxiliary(&self, kind: usize) -> Option<usize> {
        let mut entry = self.auxv;
        loop {
            // SAFETY: the vector is a list of pairs ending with AT_NULL (0).
            let (key, value) = unsafe { (*entry, *entry.add(1)) };
            match key {
                0 => return None,
                _ if key == kind => return Some(value),
                // SAFETY: not the last pair.
                _ => entry = unsafe { entry.add(2) },
            }
        }
    }
}

core::arch::global_asm!(
    ".globl _start",
    ".type _start, @function",
    "_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {entry}",
    "ud2",
    entry = sym entry,
);

extern "C" fn entry(sp: *const usize) -> ! {
    // SAFETY: `_start` passes the kernel's stack pointer.
    let stack = unsafe { Stack::at(sp) };
    fast::run(&stack);
    runtime::exec_full_program(&stack)
}
