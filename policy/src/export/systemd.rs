//! [`Policy`] → the `[Service]` lines of a systemd unit (`SystemCallFilter=`,
//! `SystemCallErrorNumber=`, `SystemCallLog=`, `SystemCallArchitectures=`),
//! as systemd 252 reads them.
//!
//! systemd names calls and nothing more: no argument conditions, and in an
//! allow list one action for everything unlisted (an errno suffix is for
//! deny lists only); it also always allows its `@default` set. Where the
//! policy says more, the lines say less, and each way they are wider or
//! narrower is one note for stderr:
//!
//! - a call allowed but for some arguments is allowed outright (wider: the
//!   terminal-injection rules of `ioctl` go);
//! - a call refused but for some arguments is refused outright (narrower);
//! - in an allow list, a newer call the policy fails with ENOSYS so that
//!   libc falls back to an allowed older one is allowed (wider; killing it
//!   would kill glibc), and any other call whose action is neither `allow`
//!   nor the default gets the default (narrower);
//! - `trap` becomes `kill` (narrower); a `log` default cannot be written.

#![forbid(unsafe_code)]

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::{ExportError, I386Coverage};
use crate::abi::Arch;
use crate::action::Action;
use crate::resolve::{Base, CallRules, Policy, Why};
use crate::tables::syscalls::Syscall;

/// What systemd 252 always allows in an allow list (`systemd-analyze
/// syscall-filter @default`); names this table does not know are passed over.
pub const SYSTEMD_DEFAULT: &[&str] = &[
    "arch_prctl",
    "brk",
    "cacheflush",
    "clock_getres",
    "clock_getres_time64",
    "clock_gettime",
    "clock_gettime64",
    "clock_nanosleep",
    "clock_nanosleep_time64",
    "execve",
    "exit",
    "exit_group",
    "futex",
    "futex_time64",
    "futex_waitv",
    "get_robust_list",
    "get_thread_area",
    "getegid",
    "getegid32",
    "geteuid",
    "geteuid32",
    "getgid",
    "getgid32",
    "getgroups",
    "getgroups32",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getrandom",
    "getresgid",
    "getresgid32",
    "getresuid",
    "getresuid32",
    "getrlimit",
    "getsid",
    "gettid",
    "gettimeofday",
    "getuid",
    "getuid32",
    "membarrier",
    "mmap",
    "mmap2",
    "mprotect",
    "munmap",
    "nanosleep",
    "pause",
    "prlimit64",
    "restart_syscall",
    "riscv_flush_icache",
    "riscv_hwprobe",
    "rseq",
    "rt_sigreturn",
    "sched_getaffinity",
    "sched_yield",
    "set_robust_list",
    "set_thread_area",
    "set_tid_address",
    "set_tls",
    "sigreturn",
    "time",
    "ugetrlimit",
    "uretprobe",
];

/// Unit lines and what they cannot say exactly (one line each, for stderr).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exported {
    /// `Key=value` lines for a unit's `[Service]` section.
    pub lines: Vec<String>,
    /// Each way the lines are narrower or wider than the policy.
    pub notes: Vec<String>,
}

/// Collects notes by kind, so that each kind is said once, naming its calls.
#[derive(Default)]
struct Notes {
    widened_arguments: Vec<&'static str>,
    narrowed_arguments: Vec<&'static str>,
    fallbacks: Vec<&'static str>,
    defaulted: Vec<String>,
    trapped: Vec<&'static str>,
}

/// `policy` as unit lines.
pub fn unit_lines(policy: &Policy) -> Result<Exported, ExportError> {
    let mut notes = Notes::default();
    let mut lines = Vec::new();
    let mut logged = Vec::new();
    match policy.base() {
        Base::AllowList => {
            let default = policy.violation();
            let mut allowed = Vec::new();
            for call in policy.calls() {
                let name = call.syscall.name();
                match policy.action_for(call.syscall) {
                    Action::Allow => {
                        allowed.push(name);
                        if conditionally(call, |action| action != Action::Allow) {
                            notes.widened_arguments.push(name);
                        }
                    }
                    Action::Log => {
                        allowed.push(name);
                        logged.push(name);
                    }
                    action if action == default => {
                        if conditionally(call, |action| action != default) {
                            notes.narrowed_arguments.push(name);
                        }
                    }
                    action => {
                        let fallback = call.always.as_ref().is_some_and(|rule| matches!(rule.why, Why::Fallback(_)));
                        if fallback {
                            allowed.push(name);
                            notes.fallbacks.push(name);
                        } else {
                            notes.defaulted.push(format!("{name} ({action})"));
                        }
                    }
                }
            }
            lines.push(format!("SystemCallFilter={}", allowed.join(" ")));
            match default {
                Action::Kill => {}
                Action::Errno(_) => lines.push(format!("SystemCallErrorNumber={default}")),
                Action::Trap => notes.trapped.push("every call not allowed"),
                _ => {
                    return Err(ExportError {
                        format: "systemd unit lines",
                        call: "the default",
                        reason: "systemd's filter kills or fails the calls an allow list leaves out: `log` cannot be \
                                 the default (use SystemCallLog= alone to watch a program)",
                    });
                }
            }
            let implicit: Vec<&str> = SYSTEMD_DEFAULT
                .iter()
                .copied()
                .filter(|name| {
                    Syscall::by_name(name).is_some_and(|syscall| {
                        Arch::X86_64.abis().iter().any(|&abi| syscall.number(abi).is_some())
                            && !policy.always_allows(syscall)
                    })
                })
                .collect();
            let mut said = notes.into_lines(default);
            if !implicit.is_empty() {
                said.push(format!(
                    "systemd always allows its @default set, which the policy does not: {}",
                    implicit.join(" ")
                ));
            }
            Ok(finish(policy, lines, logged, said))
        }
        Base::AllowAll => {
            let mut denied = Vec::new();
            for call in policy.calls() {
                let name = call.syscall.name();
                match policy.action_for(call.syscall) {
                    Action::Allow => {
                        if conditionally(call, |action| action != Action::Allow) {
                            notes.widened_arguments.push(name);
                        }
                    }
                    Action::Log => logged.push(name),
                    action => {
                        if conditionally(call, |other| other != action) {
                            notes.narrowed_arguments.push(name);
                        }
                        match action {
                            Action::Errno(_) => denied.push(format!("{name}:{action}")),
                            Action::Trap => {
                                notes.trapped.push(name);
                                denied.push(name.to_string());
                            }
                            _ => denied.push(name.to_string()),
                        }
                    }
                }
            }
            if !denied.is_empty() {
                lines.push(format!("SystemCallFilter=~{}", denied.join(" ")));
            }
            let said = notes.into_lines(Action::Allow);
            Ok(finish(policy, lines, logged, said))
        }
    }
}

/// Whether some conditional rule of `call` has an action `differs` says of.
fn conditionally(call: &CallRules, differs: impl Fn(Action) -> bool) -> bool {
    call.conditional.iter().any(|explained| differs(explained.rule.action))
}

/// Adds the logging and architecture lines.
fn finish(policy: &Policy, mut lines: Vec<String>, logged: Vec<&str>, mut notes: Vec<String>) -> Exported {
    if !logged.is_empty() {
        lines.push(format!("SystemCallLog={}", logged.join(" ")));
    }
    match super::i386_coverage(policy) {
        I386Coverage::Listed => lines.push("SystemCallArchitectures=native x86".to_string()),
        I386Coverage::Refused => lines.push("SystemCallArchitectures=native".to_string()),
        I386Coverage::Narrowed(reason) => {
            lines.push("SystemCallArchitectures=native".to_string());
            notes.push(format!(
                "i386 calls are refused (SystemCallArchitectures=native) because {reason}: libseccomp would decide \
                 them otherwise"
            ));
        }
    }
    Exported { lines, notes }
}

impl Notes {
    fn into_lines(self, default: Action) -> Vec<String> {
        let mut notes = Vec::new();
        if !self.widened_arguments.is_empty() {
            notes.push(format!(
                "allowed whatever their arguments (systemd cannot test arguments; the policy refuses some): {}",
                self.widened_arguments.join(" ")
            ));
        }
        if !self.narrowed_arguments.is_empty() {
            notes.push(format!(
                "refused whatever their arguments (systemd cannot test arguments; the policy allows some): {}",
                self.narrowed_arguments.join(" ")
            ));
        }
        if !self.fallbacks.is_empty() {
            notes.push(format!(
                "allowed where the policy fails them with ENOSYS for libc to fall back to an allowed older call \
                 (systemd has no errno for single calls of an allow list): {}",
                self.fallbacks.join(" ")
            ));
        }
        if !self.defaulted.is_empty() {
            notes.push(format!(
                "given the default ({default}) instead of their own action (systemd has no other action for single \
                 calls of an allow list): {}",
                self.defaulted.join(" ")
            ));
        }
        if !self.trapped.is_empty() {
            notes.push(format!("killed where the policy traps (systemd has no trap): {}", self.trapped.join(" ")));
        }
        notes
    }
}
