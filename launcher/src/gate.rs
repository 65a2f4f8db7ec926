//! The exec gate: how a launcher's own `execve` gets through a filter that
//! would stop it (an allow list without `execve`, a deny list with it).
//! The filter sends `execve` to a user-notification listener only when it
//! comes from one instruction, the `syscall` in [`gated_execve`]
//! ([`rule`]); a helper thread that the filter does not bind answers that
//! one notification, and the exec ends the helper and the listener with it.
//! See sandboxify's `launch` module (the full program) and the launcher's
//! `gated` module for the two helpers, and the README for why PROGRAM
//! cannot use the gate.

#![allow(unsafe_code)]

use core::ffi::c_char;

use sandbox_policy::{Abi, Action, Comparison, Condition, Field, Override, Rule, Width};

core::arch::global_asm!(
    ".pushsection .text.sandboxify_gated_execve,\"ax\",@progbits",
    ".globl sandboxify_gated_execve",
    ".hidden sandboxify_gated_execve",
    ".type sandboxify_gated_execve, @function",
    "sandboxify_gated_execve:",
    "mov eax, {execve}",
    "syscall",
    ".globl sandboxify_gated_execve_return",
    ".hidden sandboxify_gated_execve_return",
    "sandboxify_gated_execve_return:",
    "ret",
    ".size sandboxify_gated_execve, . - sandboxify_gated_execve",
    ".popsection",
    execve = const EXECVE,
);

/// `execve` on x86_64.
const EXECVE: u32 = 59;

unsafe extern "C" {
    /// execve(2) through one fixed `syscall` instruction; returns `-errno`.
    #[link_name = "sandboxify_gated_execve"]
    fn gated_execve_instruction(path: *const c_char, argv: *const *const c_char, envp: *const *const c_char) -> isize;
    /// The address right after that instruction: what seccomp reports as
    /// the call's `instruction_pointer`.
    static sandboxify_gated_execve_return: u8;
}

/// execve(2) through the gate's instruction; returns the errno if it fails.
///
/// # Safety
///
/// As for execve(2): a NUL-terminated path and NULL-terminated arrays of
/// NUL-terminated strings, alive across the call.
pub unsafe fn gated_execve(path: *const c_char, argv: *const *const c_char, envp: *const *const c_char) -> i32 {
    // SAFETY: the caller's contract; the function is the instruction above.
    -(unsafe { gated_execve_instruction(path, argv, envp) }) as i32
}

/// The instruction pointer seccomp sees for the gate's execve.
pub fn address() -> u64 {
    &raw const sandboxify_gated_execve_return as u64
}

/// The rule that sends execve from the gate to the listener; from anywhere
/// else execve gets the policy's own action.
pub fn rule() -> Override {
    let from_gate = Condition {
        field: Field::InstructionPointer,
        comparison: Comparison::Eq,
        value: address(),
        width: Width::Bits64,
    };
    Override { abi: Abi::X86_64, nr: EXECVE, rule: Rule { conditions: alloc::vec![from_gate], action: Action::Notify } }
}
