//! Calls made another way than through x86_64's `syscall`: the i386 ABI
//! through `int 0x80` (its multiplexers included), x32 numbers, and an
//! operation submitted through an io_uring ring.

use sandbox_policy::abi::{AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use sandbox_policy::compile::bpf::{self, SeccompData};
use sandbox_policy::{Action, Settings, Text};
use sandbox_tests::{Run, User};

use crate::common::{
    AFTER_START_UP, Attempt, DENY_EXECVE, DENY_MKDIR, EVERY_PATH, Policy, assert_escapes_unconfined, assert_held,
    killed, marker,
};

const INT80: Attempt = Attempt::new("escape-int80");
const X32: Attempt = Attempt::new("escape-x32");
const IO_URING: Attempt = Attempt::new("escape-io-uring");

/// The i386 ABI through `int 0x80`: other numbers for the same calls, and
/// the socketcall multiplexer, which stands for the strictest of its calls.
#[test]
fn int_0x80_does_not_bypass_the_policy() {
    for (operation, policies) in [
        ("execve", [DENY_EXECVE, Policy::allow_all_but("execve")]),
        ("mkdir", [DENY_MKDIR, Policy::allow_all_but("mkdir")]),
        ("socket", [Policy::deny("socket"), Policy::allow_all_but("socket")]),
        ("socketcall", [Policy::deny("socket"), Policy::allow_all_but("@network-io:socketcall")]),
        ("ipc", [Policy::deny("shmget"), Policy::allow_all_but("@ipc:ipc")]),
    ] {
        assert_escapes_unconfined(INT80, Some(operation));
        assert_held(INT80, Some(operation), &EVERY_PATH, &policies, killed);
    }
}

/// Once a hole (fixed): an allow list that takes in socketcall or ipc through a group
/// (`@network-io`, `@ipc`, `@system-service`) lets the i386 multiplexer run
/// every call it stands for, even one the deny list names: the generator
/// gives a multiplexer the strictest action of its calls only when no entry
/// mentions it at all, where the README says "unless an entry names it".
#[test]
fn int_0x80_multiplexers_honour_a_deny_under_a_group_allow_list() {
    for (operation, policy) in
        [("socketcall", Policy::allow_all_but("socket")), ("ipc", Policy::allow_all_but("shmget"))]
    {
        assert_held(INT80, Some(operation), &EVERY_PATH, &[policy], killed);
    }
}

/// x32 numbers (bit 30 set, x86_64 arch) are violations whatever the policy
/// says of the call: here a deny list that does not even name mkdir. This
/// kernel has x32 disabled, so unconfined the call fails with ENOSYS (no
/// positive control is possible); the filter kills before the kernel looks.
#[test]
fn x32_numbers_are_violations_live() {
    for operation in ["mkdir", "execve"] {
        let marker = marker();
        let outcome = Run::new(X32.dynamic(), &[operation, marker.to_str().unwrap()]).user(User::Nobody).run();
        assert!(outcome.stdout.contains("(ENOSYS)"), "x32 is enabled on this kernel: {outcome:#?}");
        assert_held(X32, Some(operation), &EVERY_PATH, &[Policy::deny("uname")], killed);
    }
}

/// x32 on the generated filter, for kernels that have it enabled: every
/// x32 number gets the violation action under deny and allow lists, even
/// for calls the policy allows by name.
#[test]
fn x32_numbers_are_violations_in_the_filter() {
    let origin = sandbox_policy::Origin::Variable("test");
    let text = |text| Some(Text { origin: &origin, text });
    let cases = [
        (Settings { deny: text("uname"), ..Settings::default() }, Action::Kill),
        (Settings { allow: text("mkdir:execve:read"), ..Settings::default() }, Action::Kill),
        (Settings { deny: text("uname"), default_action: text("EPERM"), ..Settings::default() }, Action::Errno(1)),
        (Settings { allow: text("@known"), default_action: text("log"), ..Settings::default() }, Action::Log),
    ];
    for (settings, violation) in cases {
        let policy = settings.policy().unwrap().unwrap();
        let program = sandbox_policy::compile(&policy).unwrap();
        for nr in [0, 59, 83, 520, 545, 0x3fff_ffff] {
            let data = SeccompData { nr: X32_SYSCALL_BIT | nr, arch: AUDIT_ARCH_X86_64, ..SeccompData::default() };
            let ret = bpf::run(program.insns(), &data).unwrap().ret;
            assert_eq!(Action::from_ret(ret), Some(violation), "x32 {nr} under {policy}");
        }
    }
}

/// io_uring: an openat submitted through a ring never passes seccomp, so the
/// ring itself gets ENOSYS unless the policy names it (a deny list of open,
/// an allow list without it). The dynamic build under plain sandboxify is
/// left out: the loader needs openat before the program runs.
#[test]
fn io_uring_cannot_carry_a_denied_call() {
    assert_escapes_unconfined(IO_URING, None);
    let policies = [Policy::deny("open"), Policy::allow_all_but("open")];
    assert_held(IO_URING, None, &AFTER_START_UP, &policies, |outcome| {
        outcome.code() == Some(0) && outcome.stdout == "io_uring_setup: ENOSYS\n"
    });
}

/// Why the ring must be named to run: once it is, or once exact mode turns
/// the rule off, its openat goes through whatever the list says of openat.
/// This documents the rule; both are the operator's explicit choice.
#[test]
fn a_named_io_uring_is_the_operators_choice() {
    for env in [
        [("SECCOMP_SYSCALL_DENY", "open:io_uring_setup=allow:io_uring_enter=allow"), ("SANDBOX_EXACT", "0")],
        [("SECCOMP_SYSCALL_DENY", "open"), ("SANDBOX_EXACT", "1")],
    ] {
        let marker = marker();
        let mut run = Run::new(IO_URING.dynamic(), &[marker.to_str().unwrap()]).preload().user(User::Nobody);
        for (key, value) in env {
            run = run.env(key, value);
        }
        let outcome = run.run();
        assert_eq!(outcome.stdout, "openat through the ring returned a descriptor\n", "{env:?}: {outcome:#?}");
        assert!(marker.exists());
    }
}
