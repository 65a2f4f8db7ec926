//! Learn mode's pieces shared by sandboxify and libsandbox.so.
//!
//! `sandboxify --learn` observes a program through a filter that stops every
//! call for a tracer ([`observer`]). For `--preload` the learned list must
//! fit where libsandbox.so installs a policy: sandboxify sets
//! [`crate::text::variables::LEARN`], and the library makes the
//! [`EARLY_POINT_MARKER`] call while ld.so relocates it (where it installs a
//! policy that allows every start-up call) and the [`APPLY_POINT_MARKER`]
//! call in its constructor (where it installs any other), instead of
//! installing anything. Calls of that process before the first marker are
//! the loader's; between the two, the start-up calls in the forms
//! `--preload`'s guard lets through ([`start_up_form`]) are too; everything
//! else is the program's, and in the list.

#![forbid(unsafe_code)]

use alloc::vec::Vec;

use crate::abi::offset;
use crate::abi::{Abi, Arch};
use crate::action::{Action, ret};
use crate::compile::bpf::{Emitter, op};
use crate::compile::filter::{Program, compile_with};
use crate::compile::start_up;
use crate::condition::Field;
use crate::resolve::Policy;
use crate::text::entry::{Entry, Target, parse_entry};
use crate::text::{Lists, Switches};

/// A system-call number no kernel uses (x86_64 stops below 0x200, i386
/// below 0x200 too, x32 starts at 0x40000000): the library's "apply point
/// reached" signal to the learning tracer, which answers it ENOSYS, as
/// the kernel would without a filter.
pub const APPLY_POINT_MARKER: u32 = 0x5ec0;

/// The same for the library's early point, while ld.so relocates it (see
/// [`crate::compile::start_up`]).
pub const EARLY_POINT_MARKER: u32 = 0x5ec1;

/// A filter that allows exactly the start-up calls in the forms the guard
/// lets through (whatever the policy), and kills everything else: what a
/// call made under the guard need not be learned for.
pub fn start_up_form() -> Program {
    let nothing = Policy::new(Lists {
        allow: Some(Vec::new()),
        deny: Vec::new(),
        default_action: None,
        switches: Switches::EXACT,
    });
    compile_with(&nothing, &start_up::guard_rules(&nothing))
        .expect("the start-up calls' rules are a few dozen instructions")
}

/// The filter of learn mode: every call of both ABIs stops for the tracer
/// (`SECCOMP_RET_TRACE`; without one it fails with `ENOSYS`); any other ABI
/// is killed, as under every policy.
pub fn observer() -> Program {
    let mut emitter = Emitter::default();
    let kill = emitter.ret(Action::Kill.ret());
    let trace = emitter.ret(ret::TRACE);
    let mut otherwise = kill;
    for &abi in Arch::HOST.abis().iter().rev() {
        otherwise = emitter.jump(op::JEQ, abi.audit_arch(), trace, otherwise);
    }
    emitter.stmt(op::LD | op::W | op::ABS, offset::ARCH, otherwise);
    Program::from_insns(emitter.finish())
}

/// An entry learn mode adds to a list because of what it saw: a call made
/// only on a path that one observed run rarely takes (a race between
/// threads, a retry), which a call on the ordinary path announces
/// (`data/companions.tsv`, with the reason and its source for each).
#[derive(Debug)]
pub struct Companion {
    /// The call that brings it; `None`: every list.
    pub trigger: Option<Entry>,
    /// The entry added, as written.
    pub entry: &'static str,
    /// Why, with the source.
    pub reason: &'static str,
}

impl Companion {
    /// Whether the call `nr` of `abi` with `args` brings this companion.
    /// Conditions test x86_64's arguments (i386 lays them out otherwise):
    /// an i386 call brings only companions of unconditional triggers.
    pub fn brought_by(&self, abi: Abi, nr: u32, args: &[u64; 6]) -> bool {
        let Some(trigger) = &self.trigger else { return true };
        let Target::Syscall(syscall) = trigger.target else { return false };
        if syscall.number(abi) != Some(nr) || (abi != Abi::X86_64 && !trigger.conditions.is_empty()) {
            return false;
        }
        trigger.conditions.iter().all(|condition| match condition.field {
            Field::Arg(index) => condition.holds(args[usize::from(index)]),
            Field::InstructionPointer => false,
        })
    }
}

/// The companions of `data/companions.tsv`.
pub fn companions() -> Vec<Companion> {
    include_str!("../data/companions.tsv")
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let mut columns = line.split('\t');
            let (Some(trigger), Some(entry), Some(reason), None) =
                (columns.next(), columns.next(), columns.next(), columns.next())
            else {
                panic!("data/companions.tsv: not three columns: {line}")
            };
            let parse =
                |text: &str| parse_entry(text).unwrap_or_else(|error| panic!("data/companions.tsv: {text}: {error}"));
            let trigger = (trigger != "*").then(|| parse(trigger));
            parse(entry);
            Companion { trigger, entry, reason }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Syscall;
    use crate::compile::bpf::{SeccompData, run};

    #[test]
    fn start_up_form_allows_start_up_calls_as_start_up_makes_them() {
        let program = start_up_form();
        let decide = |name: &str, args: [u64; 6]| {
            let nr = Syscall::by_name(name).unwrap().number(Abi::X86_64).unwrap();
            let data = SeccompData { nr, arch: Abi::X86_64.audit_arch(), args, ..SeccompData::default() };
            Action::from_ret(run(program.insns(), &data).unwrap().ret).unwrap()
        };
        assert_eq!(decide("mmap", [0; 6]), Action::Allow);
        assert_eq!(decide("openat", [0, 0, 0, 0, 0, 0]), Action::Allow);
        assert_eq!(decide("openat", [0, 0, libc::O_CREAT as u64, 0, 0, 0]), Action::Kill);
        assert_eq!(decide("write", [2, 0, 0, 0, 0, 0]), Action::Allow);
        assert_eq!(decide("write", [1, 0, 0, 0, 0, 0]), Action::Kill);
        assert_eq!(decide("statfs", [0; 6]), Action::Kill);
        // prlimit64 only to read the caller's own limits.
        assert_eq!(decide("prlimit64", [0, 3, 0, 0x7ff0_0000, 0, 0]), Action::Allow);
        assert_eq!(decide("prlimit64", [1234, 3, 0, 0x7ff0_0000, 0, 0]), Action::Kill);
        assert_eq!(decide("prlimit64", [0, 3, 0x7ff0_0000, 0, 0, 0]), Action::Kill);
        // arch_prctl only for the thread pointer and the shadow stack.
        assert_eq!(decide("arch_prctl", [0x1002, 0x7ff0_0000, 0, 0, 0, 0]), Action::Allow);
        assert_eq!(decide("arch_prctl", [0x3001, 0, 0, 0, 0, 0]), Action::Allow);
        assert_eq!(decide("arch_prctl", [0x1001, 0, 0, 0, 0, 0]), Action::Kill);
    }

    #[test]
    fn companions_come_with_their_triggers_and_conditions() {
        let table = companions();
        let brought = |abi: Abi, name: &str, args: [u64; 6]| -> Vec<&str> {
            let nr = Syscall::by_name(name).unwrap().number(abi).unwrap();
            let mut entries: Vec<&str> = table
                .iter()
                .filter(|companion| companion.trigger.is_some() && companion.brought_by(abi, nr, &args))
                .map(|companion| companion.entry)
                .collect();
            entries.sort_unstable();
            entries
        };
        let always: Vec<&str> = table.iter().filter(|c| c.trigger.is_none()).map(|c| c.entry).collect();
        assert_eq!(always, ["getrandom", "restart_syscall"]);
        assert_eq!(brought(Abi::X86_64, "clone3", [0; 6]), ["futex", "madvise", "sched_yield"]);
        let thread = libc::CLONE_THREAD as u64 | libc::CLONE_VM as u64;
        assert_eq!(brought(Abi::X86_64, "clone", [thread, 0, 0, 0, 0, 0]), ["futex", "sched_yield"]);
        assert!(brought(Abi::X86_64, "clone", [libc::SIGCHLD as u64, 0, 0, 0, 0, 0]).is_empty());
        let poll_child = [1234, 0, libc::WNOHANG as u64, 0, 0, 0];
        assert_eq!(
            brought(Abi::X86_64, "wait4", poll_child),
            ["clock_nanosleep", "kill(arg0 >= 1, arg0 <= 0x7fffffff, arg1 == SIGTERM)"]
        );
        // Any child (a shell's SIGCHLD handler), or waiting: nothing.
        assert!(brought(Abi::X86_64, "wait4", [u64::MAX, 0, libc::WNOHANG as u64, 0, 0, 0]).is_empty());
        assert!(brought(Abi::X86_64, "wait4", [1234, 0, 0, 0, 0, 0]).is_empty());
        // A descriptor made non-blocking is waited for with poll; reading
        // or setting other flags brings nothing.
        let nonblocking = [1, libc::F_SETFL as u64, (libc::O_WRONLY | libc::O_NONBLOCK) as u64, 0, 0, 0];
        assert_eq!(brought(Abi::X86_64, "fcntl", nonblocking), ["poll"]);
        assert!(brought(Abi::X86_64, "fcntl", [1, libc::F_SETFL as u64, libc::O_WRONLY as u64, 0, 0, 0]).is_empty());
        assert!(brought(Abi::X86_64, "fcntl", [1, libc::F_GETFL as u64, 0, 0, 0, 0]).is_empty());
        // i386 lays arguments out otherwise: conditional triggers stay quiet.
        assert!(brought(Abi::I386, "wait4", poll_child).is_empty());
        assert_eq!(brought(Abi::I386, "rt_sigaction", [0; 6]), ["rt_sigreturn"]);
        for companion in &table {
            assert!(!companion.reason.is_empty(), "{}", companion.entry);
        }
    }

    #[test]
    fn the_observer_stops_both_abis_for_the_tracer_and_kills_the_rest() {
        let program = observer();
        for (arch, expected) in
            [(Abi::X86_64.audit_arch(), ret::TRACE), (Abi::I386.audit_arch(), ret::TRACE), (0, ret::KILL_PROCESS)]
        {
            for nr in [0, 59, 0x4000_0000, APPLY_POINT_MARKER] {
                let data = SeccompData { nr, arch, ..SeccompData::default() };
                assert_eq!(run(program.insns(), &data).unwrap().ret, expected);
            }
        }
    }
}
