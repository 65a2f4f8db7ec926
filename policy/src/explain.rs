//! Human-readable accounts of a policy and its filter (`sandboxify
//! --explain`, `--dump-bpf`, `--list-groups`, `--list-syscalls`). Actions
//! are read back from the compiled filter itself, so the account cannot
//! disagree with what the kernel will do.

#![forbid(unsafe_code)]

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Write as _;

use crate::abi::{Abi, Arch, X32_SYSCALL_BIT};
use crate::action::Action;
use crate::compile::bpf::{self, Insn, SeccompData, op};
use crate::compile::filter::{self, FilterTooLong, compile_for};
use crate::resolve::families;
use crate::resolve::{Base, Policy};
use crate::tables::groups::Group;
use crate::tables::syscalls::{ArgKind, Syscall};
use crate::text::entry::Target;

/// The action the compiled filter gives `nr` on `abi` with all arguments 0.
fn filtered(program: &[Insn], abi: Abi, nr: u32) -> Action {
    let data = SeccompData { nr, arch: abi.audit_arch(), ..SeccompData::default() };
    let verdict = bpf::run(program, &data).expect("compiled filters run to a return");
    Action::from_ret(verdict.ret).expect("compiled filters return known actions")
}

/// Every call of `arch`'s native ABI with its action and where it comes
/// from; then, on x86_64, what differs on i386. Refused for a policy the
/// kernel would refuse.
pub fn explain(policy: &Policy, arch: Arch) -> Result<String, FilterTooLong> {
    let program = compile_for(policy, arch)?;
    let insns = program.insns();
    let native = arch.native();
    let mut out = String::new();
    let (base, default_reason) = match policy.base() {
        Base::AllowList => ("allow list", "default: not in the allow list"),
        Base::AllowAll => ("deny list", "default: not in the deny list"),
    };
    let exact = if policy.exact() { "exact: entries mean only the calls they name" } else { "not exact" };
    let _ = writeln!(out, "# {base}; violations get {}; {exact}", policy.violation());
    match arch {
        Arch::X86_64 => {
            let _ = writeln!(out, "# x86_64: number, call, action, and why");
        }
        Arch::Aarch64 => {
            let _ = writeln!(
                out,
                "# aarch64: number, call, action, and why (conditions name arguments as on x86_64; \
                 clone's tls and child_tid are tested where arm64 passes them)"
            );
        }
    }
    for nr in 0..=Syscall::max_number(native) {
        let Some(syscall) = Syscall::by_number(native, nr) else { continue };
        let name = syscall.name();
        match policy.call(syscall) {
            None => {
                let _ = writeln!(
                    out,
                    "{nr:>4}  {name:<24} {:<10} {default_reason}",
                    filtered(insns, native, nr).to_string()
                );
            }
            Some(call) => {
                for explained in &call.conditional {
                    let conditions: Vec<String> = explained.rule.conditions.iter().map(ToString::to_string).collect();
                    let action = explained.rule.action.to_string();
                    let _ = writeln!(
                        out,
                        "{nr:>4}  {name:<24} {action:<10} if {}: {}",
                        conditions.join(", "),
                        policy.describe(&explained.why)
                    );
                }
                let otherwise = if call.conditional.is_empty() { "" } else { "otherwise: " };
                let action = policy.action_for(syscall).to_string();
                match &call.always {
                    Some(explained) => {
                        let why = policy.describe(&explained.why);
                        let _ = writeln!(out, "{nr:>4}  {name:<24} {action:<10} {otherwise}{why}");
                    }
                    None => {
                        let _ = writeln!(out, "{nr:>4}  {name:<24} {action:<10} {otherwise}{default_reason}");
                    }
                }
            }
        }
    }
    let default = filtered(insns, native, Syscall::max_number(native) + 1);
    let _ = writeln!(out, "   *  (numbers unknown to this table) {default}");
    if arch == Arch::Aarch64 {
        let _ = writeln!(out, "   *  (any ABI but aarch64: AArch32 programs included) kill");
        families(policy, &mut out);
        return Ok(out);
    }
    let _ = writeln!(out, "   *  (x32: nr ≥ {X32_SYSCALL_BIT:#x}) {}", filtered(insns, Abi::X86_64, X32_SYSCALL_BIT));
    let _ = writeln!(out, "   *  (any ABI but x86_64 and i386) kill");
    if policy.refuses_i386() {
        let action = filtered(insns, Abi::I386, 0);
        let _ = writeln!(out, "# i386 (int 0x80, 32-bit programs): refused, every call gets {action} (refuse-i386)");
        families(policy, &mut out);
        return Ok(out);
    }
    let _ = writeln!(out, "# i386 (int 0x80, 32-bit programs): the same rules by name, except:");
    for nr in 0..=Syscall::max_number(Abi::I386) {
        let Some(syscall) = Syscall::by_number(Abi::I386, nr) else { continue };
        let action = filtered(insns, Abi::I386, nr).to_string();
        if filter::is_i386_multiplexer(syscall) {
            let why = "the action of the call its operation argument stands for";
            let _ = writeln!(out, "{nr:>4}  {:<24} {:<10} {why}", syscall.name(), "by operation");
        } else if let Some(call) = policy.call(syscall).filter(|call| !call.conditional.is_empty()) {
            if filter::conditions_hold_on_i386(call) {
                let why = "its conditions, on the registers that carry those arguments on i386";
                let _ = writeln!(out, "{nr:>4}  {:<24} {:<10} {why}", syscall.name(), "by argument");
            } else {
                let why = "the strictest of its rules: i386 passes a tested argument otherwise";
                let _ = writeln!(out, "{nr:>4}  {:<24} {action:<10} {why}", syscall.name());
            }
        }
    }
    families(policy, &mut out);
    Ok(out)
}

/// What each deny entry also denies through its family, and what reaches
/// the same effect without being denied, with the kernel source.
fn families(policy: &Policy, out: &mut String) {
    if policy.exact() {
        return;
    }
    let mut shown: Vec<&str> = Vec::new();
    for (index, sourced) in policy.entries().iter().enumerate() {
        let entry = &sourced.entry;
        let (Target::Syscall(syscall), true) =
            (entry.target, entry.conditions.is_empty() && policy.is_deny_entry(index))
        else {
            continue;
        };
        let doors: Vec<String> = families::doors(syscall)
            .map(|door| {
                let conditions: Vec<String> = door.conditions.iter().map(ToString::to_string).collect();
                match (door.enosys, conditions.is_empty()) {
                    (true, _) => format!("{} (ENOSYS, so that libc falls back)", door.syscall.name()),
                    (false, true) => door.syscall.name().to_owned(),
                    (false, false) => format!("{}({})", door.syscall.name(), conditions.join(", ")),
                }
            })
            .collect();
        if doors.is_empty() || shown.contains(&syscall.name()) {
            continue;
        }
        shown.push(syscall.name());
        if shown.len() == 1 {
            let _ = writeln!(out, "# families (data/families.txt): what a deny entry denies with its call");
        }
        let source = families::doors(syscall).next().map(|door| door.source).unwrap_or_default();
        let _ = writeln!(out, "{}: also {}", syscall.name(), doors.join(", "));
        let _ = writeln!(out, "    source: {source}");
        let leaks: Vec<&str> = families::leaks(syscall).map(Syscall::name).collect();
        if !leaks.is_empty() {
            let _ = writeln!(
                out,
                "    not denied, and reach the same effect in ways a filter cannot tell apart: {}",
                leaks.join(", ")
            );
        }
    }
}

/// The program, one instruction per line, jumps shown with absolute targets.
pub fn disassemble(insns: &[Insn]) -> String {
    let mut out = String::new();
    for (index, insn) in insns.iter().enumerate() {
        let next = index + 1;
        let text = if insn.code & 0x07 == op::JMP && insn.code != op::JMP | op::JA {
            format!("{insn}  -> {}, {}", next + usize::from(insn.jt), next + usize::from(insn.jf))
        } else if insn.code == op::JMP | op::JA {
            format!("{insn}  -> {}", next + insn.k as usize)
        } else {
            insn.to_string()
        };
        let _ = writeln!(out, "{index:>4}: {text}");
    }
    out
}

/// Every group and its members, as systemd lists them.
pub fn list_groups() -> String {
    let mut out = String::new();
    for group in Group::all() {
        let _ = writeln!(out, "{} {}", group.name(), group.member_names().join(" "));
    }
    out
}

/// Every known call: name, x86_64, i386 and aarch64 numbers, argument kinds.
pub fn list_syscalls() -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# name, x86_64 number, i386 number, aarch64 number ('-': none), x86_64 arguments");
    for syscall in Syscall::all() {
        let number = |abi| syscall.number(abi).map_or("-".to_string(), |nr| nr.to_string());
        let kinds: Vec<&str> = syscall
            .arg_kinds()
            .into_iter()
            .flat_map(|kinds| kinds.iter())
            .map(|kind| match kind {
                ArgKind::Int => "int",
                ArgKind::Short => "short",
                ArgKind::Mode => "mode",
                ArgKind::Long => "long",
                ArgKind::Pointer => "ptr",
            })
            .collect();
        let _ = writeln!(
            out,
            "{:<24} {:>4} {:>4} {:>4}  {}",
            syscall.name(),
            number(Abi::X86_64),
            number(Abi::I386),
            number(Abi::Aarch64),
            kinds.join(" ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{policy, settings};
    use crate::text::{Settings, Switches};

    #[test]
    fn explains_every_call_with_its_reason() {
        let p = policy(Some("@basic-io:exit_group:clone"), Some("socket(arg0 == AF_INET)=EACCES:write=EPERM"), None);
        let text = explain(&p, Arch::X86_64).unwrap();
        assert!(text.starts_with("# allow list; violations get kill; not exact\n"), "{text}");
        assert!(
            text.contains(
                "   0  read                     allow      SECCOMP_SYSCALL_ALLOW: @basic-io (in @basic-io)\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("   1  write                    EPERM      SECCOMP_SYSCALL_DENY: write=EPERM\n"),
            "{text}"
        );
        assert!(text.contains("  41  socket                   EACCES     if arg0 == 0x2: SECCOMP_SYSCALL_DENY: socket(arg0 == AF_INET)=EACCES\n"), "{text}");
        assert!(
            text.contains("  41  socket                   kill       otherwise: default: not in the allow list\n"),
            "{text}"
        );
        assert!(
            text.contains(
                " 435  clone3                   ENOSYS     fallback: ENOSYS so that libc uses clone, which is allowed\n"
            ),
            "{text}"
        );
        assert!(text.contains(" 322  execveat                 kill       default: not in the allow list\n"), "{text}");
        assert!(text.contains(" 359  socket                   by argument its conditions, on the registers"), "{text}");
    }

    #[test]
    fn a_refused_i386_is_one_line() {
        let refusing = Settings {
            switches: Switches { refuse_i386: true, ..Switches::default() },
            ..settings(None, Some("uname"), None)
        };
        let text = explain(&refusing.policy().unwrap().unwrap(), Arch::X86_64).unwrap();
        assert!(
            text.contains("\n# i386 (int 0x80, 32-bit programs): refused, every call gets kill (refuse-i386)\n"),
            "{text}"
        );
        assert!(!text.contains("the same rules by name"), "{text}");
    }

    #[test]
    fn disassembly_shows_absolute_targets() {
        let p = policy(None, Some("uname"), None);
        let text = disassemble(crate::compile(&p).unwrap().insns());
        assert!(text.starts_with("   0: ld  arch\n   1: jeq 0xc000003e, +0, +"), "{text}");
        assert!(text.contains("ret kill"), "{text}");
    }

    #[test]
    fn lists_groups_and_calls() {
        assert!(list_groups().contains("@aio io_cancel io_destroy"));
        assert!(
            list_syscalls().contains("execve                     59   11  221  ptr ptr ptr\n"),
            "{}",
            list_syscalls()
        );
    }
}
