//! Naming a kill: which call the policy stopped, with the arguments the
//! filter saw, which rule or default decided, and what to change.
//!
//! The kernel's kill says nothing but "Bad system call". To say more, the
//! library's filter answers a kill with `SECCOMP_RET_TRAP` and [`TAG`]
//! instead ([`reporting_program`]): the kernel skips the call and sends
//! SIGSYS to the calling thread, whose handler (in `libsandbox`) writes one
//! line ([`describe`]) and then calls [`END`], another reported kill, from
//! inside the handler, where SIGSYS is blocked. A trap into a blocked signal is forced
//! (the kernel restores the default action and unblocks it), and SIGSYS's
//! default ends the whole process with a core dump, as the kill would:
//! status 159 either way. When the handler cannot run (no stack left, its
//! own `write` forbidden by the policy), the forced signal still ends the
//! process, without the line.
//!
//! A trap must never be a survival. A tracer can swallow the signal at its
//! signal stop, so only a policy under which `ptrace` never runs reports
//! its kills (every allow list that does not name it; a deny list that
//! does). And a program must not be able to put a handler of its own in the
//! way. The filter answers every call that would
//! install a SIGSYS handler with success and does nothing
//! ([`protecting_overrides`]); one that only asks for the current handler
//! runs.

use core::fmt;

use alloc::vec;
use alloc::vec::Vec;

use crate::abi::Abi;
use crate::action::{Action, ret};
use crate::compile::bpf::{SeccompData, op, run};
use crate::compile::filter::{FilterTooLong, Override, Program, compile_with};
use crate::condition::{Comparison, Condition, Field, Rule, Width};
use crate::resolve::{Base, Policy};
use crate::tables::syscalls::Syscall;

/// The data of the trap that stands for a kill (`si_errno` of its SIGSYS),
/// telling it from the traps of other filters.
pub const TAG: u16 = 0x5ec1;

/// `getpgrp(END)` is always a reported kill: how the handler ends the
/// process once it has reported, from inside the handler (getpgrp takes no
/// arguments, so no real call carries the mark).
pub const END: u64 = 0x5ec1_e0d5_5ec1_e0d5;

/// Whether `call` is the handler's own [`END`].
pub fn is_end(call: &SeccompData) -> bool {
    call.arch == Abi::X86_64.audit_arch() && call.nr == libc::SYS_getpgrp as u32 && call.args[0] == END
}

/// The calls that set a signal's handler, with the ABIs they exist on.
const HANDLER_SETTERS: [(&str, Abi); 4] =
    [("rt_sigaction", Abi::X86_64), ("rt_sigaction", Abi::I386), ("sigaction", Abi::I386), ("signal", Abi::I386)];

/// `policy` compiled with its kills reported: each kill a trap with [`TAG`],
/// behind [`protecting_overrides`]. `None` when a kill must stay the
/// kernel's own: a policy that lets `ptrace` run (a tracer can swallow the
/// trap's SIGSYS at its signal stop, and the traced process lives on, where
/// the kill cannot be stopped), with `trap` actions (whose SIGSYS belongs to
/// the program's handler), with `log` actions (permissive mode), or that
/// tests the arguments of a handler-setting call (the overrides would go in
/// front of its rules).
pub fn reporting_program(policy: &Policy) -> Result<Option<Program>, FilterTooLong> {
    let ptrace = Syscall::by_name("ptrace").expect("ptrace is in the table");
    if !never_runs(policy, ptrace) {
        return Ok(None);
    }
    let Some(overrides) = protecting_overrides(policy) else { return Ok(None) };
    let mut program = compile_with(policy, &overrides)?;
    let returns = || program.insns.iter().filter(|insn| insn.code == op::RET | op::K);
    if returns().any(|insn| matches!(insn.k & ret::ACTION_FULL, ret::TRAP | ret::LOG | ret::USER_NOTIF)) {
        return Ok(None);
    }
    for insn in &mut program.insns {
        if insn.code == op::RET | op::K && insn.k == ret::KILL_PROCESS {
            insn.k = Action::Trap.ret() | u32::from(TAG);
        }
    }
    Ok(Some(program))
}

/// Whether no rule of `policy` lets `syscall` run, whatever its arguments.
fn never_runs(policy: &Policy, syscall: &Syscall) -> bool {
    let runs = |action: Action| matches!(action, Action::Allow | Action::Log | Action::Notify | Action::Trap);
    let conditional = policy.call(syscall).map_or(&[][..], |call| &call.conditional[..]);
    !runs(policy.action_for(syscall)) && conditional.iter().all(|explained| !runs(explained.rule.action))
}

/// Rules that make every call installing a SIGSYS handler succeed without
/// effect, for the calls `policy` always allows (one it always refuses
/// needs none), and [`END`]; `None` if it tests the arguments of one.
fn protecting_overrides(policy: &Policy) -> Option<Vec<Override>> {
    let end = Condition { field: Field::Arg(0), comparison: Comparison::Eq, value: END, width: Width::Bits64 };
    let end = Rule { conditions: vec![end], action: Action::Kill };
    let mut overrides = vec![Override { abi: Abi::X86_64, nr: libc::SYS_getpgrp as u32, rule: end }];
    for (name, abi) in HANDLER_SETTERS {
        let syscall = Syscall::by_name(name).expect("the handler setters are in the table");
        let nr = syscall.number(abi).expect("the handler setters exist on their ABI");
        if policy.call(syscall).is_some_and(|call| !call.conditional.is_empty()) {
            return None;
        }
        if !policy.always_allows(syscall) {
            continue;
        }
        let width = if abi == Abi::X86_64 { Width::Bits64 } else { Width::Bits32 };
        let signal = Condition {
            field: Field::Arg(0),
            comparison: Comparison::Eq,
            value: libc::SIGSYS as u64,
            width: Width::Bits32,
        };
        let handler = Condition { field: Field::Arg(1), comparison: Comparison::Ne, value: 0, width };
        overrides.push(Override {
            abi,
            nr,
            rule: Rule { conditions: vec![signal, handler], action: Action::Errno(0) },
        });
    }
    Some(overrides)
}

/// One installed filter, as [`describe`] needs it.
#[derive(Clone, Copy)]
pub struct Installed<'a> {
    /// Where the policy came from, as errors say it (`attached policy: `, or empty).
    pub source: &'a str,
    /// The policy.
    pub policy: &'a Policy,
    /// Its program as compiled, with kills.
    pub program: &'a Program,
}

/// Writes the line that names the kill of `call`: the call with its
/// arguments, the ABI and number, the rule or default that decided (the
/// newest filter that kills it: `installed` lists them newest first), and
/// what to change. Allocates nothing: it runs in a signal handler.
pub fn describe<'a>(
    out: &mut dyn fmt::Write,
    prefix: &str,
    mut installed: impl Iterator<Item = Installed<'a>>,
    call: &SeccompData,
) -> fmt::Result {
    let abi = Abi::ALL.into_iter().find(|abi| abi.audit_arch() == call.arch);
    let syscall = abi.and_then(|abi| Syscall::by_number(abi, call.nr));
    write!(out, "{prefix}the policy killed this process at ")?;
    match syscall {
        Some(syscall) => write!(out, "{}", syscall.name())?,
        None => write!(out, "system call {}", call.nr)?,
    }
    let shown = syscall.and_then(Syscall::arg_kinds).map_or(6, |kinds| kinds.len());
    out.write_char('(')?;
    for (index, arg) in call.args.iter().take(shown).enumerate() {
        let arg = if abi == Some(Abi::I386) { *arg & 0xffff_ffff } else { *arg };
        write!(out, "{}{arg:#x}", if index == 0 { "" } else { ", " })?;
    }
    match abi {
        Some(abi) => write!(out, ") [{abi} {}]", call.nr)?,
        None => write!(out, ") [audit arch {:#x}]", call.arch)?,
    }
    let reported_kill = Action::Trap.ret() | u32::from(TAG);
    let kills = |filter: &Installed| {
        run(filter.program.insns(), call).is_ok_and(|v| v.ret == ret::KILL_PROCESS || v.ret == reported_kill)
    };
    let (Some(filter), Some(syscall), Some(abi)) = (installed.find(kills), syscall, abi) else {
        return writeln!(out, ": an ABI or number no policy allows");
    };
    let policy = filter.policy;
    let decided = policy.call(syscall).and_then(|rules| {
        let holds = |rule: &Rule| {
            abi == Abi::X86_64
                && rule.conditions.iter().all(|condition| match condition.field {
                    Field::Arg(index) => condition.holds(call.args[usize::from(index)]),
                    Field::InstructionPointer => condition.holds(call.instruction_pointer),
                })
        };
        let conditional = rules.conditional.iter().find(|explained| explained.rule.action == Action::Kill);
        let conditional = conditional.filter(|explained| holds(&explained.rule) || abi == Abi::I386);
        conditional.or(rules.always.as_ref().filter(|explained| explained.rule.action == Action::Kill))
    });
    let name = syscall.name();
    match decided {
        Some(explained) => {
            write!(out, ": {}{}", filter.source, policy.describe(&explained.why))?;
            writeln!(out, "; to allow {name}, remove that entry")
        }
        None if policy.base() == Base::AllowList => {
            write!(out, ": {}no allow entry names it", filter.source)?;
            writeln!(out, "; to allow it, add {name} to the allow list")
        }
        None => writeln!(out, ": {}the default action", filter.source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::filter::compile;
    use crate::test_support::policy;

    fn data(abi: Abi, name: &str, args: [u64; 6]) -> SeccompData {
        let nr = Syscall::by_name(name).unwrap().number(abi).unwrap();
        SeccompData { nr, arch: abi.audit_arch(), instruction_pointer: 0, args }
    }

    fn line(policy: &Policy, call: &SeccompData) -> alloc::string::String {
        let program = compile(policy).unwrap();
        let mut out = alloc::string::String::new();
        let installed = Installed { source: "", policy, program: &program };
        describe(&mut out, "libsandbox: ", [installed].into_iter(), call).unwrap();
        out
    }

    #[test]
    fn kills_become_tagged_traps_and_handler_setters_are_protected() {
        let deny = policy(None, Some("uname:ptrace"), None);
        let program = reporting_program(&deny).unwrap().unwrap();
        let verdict = |call: &SeccompData| run(program.insns(), call).unwrap().ret;
        let trap = ret::TRAP | u32::from(TAG);
        assert_eq!(verdict(&data(Abi::X86_64, "uname", [0; 6])), trap);
        assert_eq!(verdict(&data(Abi::X86_64, "getpid", [0; 6])), ret::ALLOW);
        let sigsys = libc::SIGSYS as u64;
        // Installing a SIGSYS handler succeeds and does nothing; asking for
        // it, or setting another signal's, runs.
        assert_eq!(verdict(&data(Abi::X86_64, "rt_sigaction", [sigsys, 0x1000, 0, 8, 0, 0])), ret::ERRNO);
        assert_eq!(verdict(&data(Abi::X86_64, "rt_sigaction", [sigsys, 0, 0x1000, 8, 0, 0])), ret::ALLOW);
        assert_eq!(verdict(&data(Abi::X86_64, "rt_sigaction", [2, 0x1000, 0, 8, 0, 0])), ret::ALLOW);
        for name in ["rt_sigaction", "sigaction", "signal"] {
            assert_eq!(verdict(&data(Abi::I386, name, [sigsys, 0x1000, 0, 0, 0, 0])), ret::ERRNO, "{name}");
        }
        assert_eq!(verdict(&data(Abi::X86_64, "getpgrp", [END, 0, 0, 0, 0, 0])), trap);
        assert_eq!(verdict(&data(Abi::X86_64, "getpgrp", [0; 6])), ret::ALLOW);
        // Outside the x86_64 and i386 tables: still a kill, reported.
        let x32 = SeccompData { nr: 0x4000_0000, arch: Abi::X86_64.audit_arch(), instruction_pointer: 0, args: [0; 6] };
        assert_eq!(verdict(&x32), trap);
    }

    #[test]
    fn a_policy_refusing_the_handler_setters_needs_no_protection() {
        let allow = policy(Some("read:write:exit_group"), None, None);
        let program = reporting_program(&allow).unwrap().unwrap();
        let call = data(Abi::X86_64, "rt_sigaction", [libc::SIGSYS as u64, 0x1000, 0, 8, 0, 0]);
        assert_eq!(run(program.insns(), &call).unwrap().ret, ret::TRAP | u32::from(TAG));
    }

    #[test]
    fn kills_stay_the_kernels_where_a_trap_would_change_them() {
        for (allow, deny) in [
            (None, Some("uname")),
            (None, Some("uname:ptrace(arg0 == 0)")),
            (Some("read:ptrace(arg0 == 0)"), None),
            (None, Some("uname:ptrace=trap")),
            (None, Some("uname:ptrace=log")),
            (None, Some("uname:ptrace:rt_sigaction(arg0 == 31)")),
            (Some("read:rt_sigaction(arg0 == 2)"), None),
        ] {
            assert!(reporting_program(&policy(allow, deny, None)).unwrap().is_none(), "{allow:?} {deny:?}");
        }
    }

    #[test]
    fn the_line_names_the_call_its_arguments_the_rule_and_the_change() {
        let deny = policy(None, Some("uname"), None);
        assert_eq!(
            line(&deny, &data(Abi::X86_64, "uname", [0x7ffd_1000, 0, 0, 0, 0, 0])),
            "libsandbox: the policy killed this process at uname(0x7ffd1000) [x86_64 63]: \
             SECCOMP_SYSCALL_DENY: uname; to allow uname, remove that entry\n"
        );
        let allow = policy(Some("read:write:exit_group"), None, None);
        assert_eq!(
            line(&allow, &data(Abi::X86_64, "socket", [2, 1, 0, 0, 0, 0])),
            "libsandbox: the policy killed this process at socket(0x2, 0x1, 0x0) [x86_64 41]: \
             no allow entry names it; to allow it, add socket to the allow list\n"
        );
        let conditional = policy(None, Some("socket(arg0 == AF_INET)"), None);
        assert!(
            line(&conditional, &data(Abi::X86_64, "socket", [2, 1, 0, 0, 0, 0]))
                .contains(": SECCOMP_SYSCALL_DENY: socket(arg0 == AF_INET); to allow socket")
        );
        assert!(
            line(&deny, &data(Abi::I386, "uname", [0xdead_beef_0000_1000, 0, 0, 0, 0, 0]))
                .contains("uname(0x1000) [i386 122]")
        );
    }
}
