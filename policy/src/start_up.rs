//! The start-up calls, and the guard filter that allows them.
//!
//! libsandbox.so applies a policy in its constructor, after the dynamic
//! loader and libc have started, so that a policy need not list their calls.
//! Program code can run before that constructor, though: the program's
//! `DT_PREINIT_ARRAY` functions and the constructors of the libraries it
//! links. A *guard* covers it: the policy with the start-up calls allowed,
//! installed earlier (by the library while ld.so relocates it, or by
//! `sandboxify --preload` before its exec): the policy's filter compiled
//! with [`guard_rules`] in front of its own. The constructor then installs
//! the [`remainder`]: the policy's own rules for the start-up calls, every
//! other call allowed. Stacked, the two filters decide every call exactly as
//! the policy does. Both leave out the start-up calls the policy allows
//! anyway; when that is all of them, the guard is the policy's own filter
//! and there is no remainder.

use alloc::vec::Vec;

use crate::abi::Abi;
use crate::action::Action;
use crate::condition::Rule;
use crate::entry::{Entry, parse_entry};
use crate::filter::Override;
use crate::policy::Policy;

/// What glibc's dynamic loader and start-up call before the library's
/// constructor, and what the library calls there (prctl, seccomp, the
/// Landlock calls with which it keeps the program from tracing outside the
/// sandbox, and what its Landlock helper needs: getdents64 to list
/// directories), as policy entries. Measured with strace on Debian 12
/// (glibc 2.36), plus the calls other glibc versions use for the same steps
/// (fstat, statx, readlink, lseek). Conditions keep them to the way start-up
/// uses them, as program code can run under the guard too: files opened
/// read-only (no O_WRONLY, O_RDWR, O_CREAT, O_TRUNC or O_APPEND: mask 0x643),
/// writes to stderr only, prctl only for no_new_privs.
pub const START_UP_CALLS: &str = "access:arch_prctl:brk:close:exit_group:fstat:futex:getdents64:getrandom:\
landlock_add_rule:landlock_create_ruleset:landlock_restrict_self:lseek:mmap:mprotect:munmap:newfstatat:\
openat(arg2 & 0x643 == 0):prctl(arg0 == PR_SET_NO_NEW_PRIVS):pread64:prlimit64:read:readlink:rseq:seccomp:\
set_robust_list:set_tid_address:statx:write(arg0 == 2):writev(arg0 == 2)";

fn start_up_entries() -> Vec<Entry> {
    START_UP_CALLS.split(':').map(|item| parse_entry(item).expect("start-up calls are valid entries")).collect()
}

/// The rules that turn `policy`'s filter into its guard, checked before the
/// policy's own: each start-up call that the policy does not always allow,
/// allowed as start-up makes it. On i386 only the unconditional ones, as
/// arguments are laid out differently there. (Rules for the filter rather
/// than a changed policy: the library builds them on every start.)
pub fn guard_rules(policy: &Policy) -> Vec<Override> {
    let mut rules = Vec::new();
    for entry in start_up_entries() {
        let rule = Rule { conditions: entry.conditions, action: Action::Allow };
        for syscall in entry.target.syscalls().into_iter().filter(|&syscall| !policy.always_allows(syscall)) {
            for abi in Abi::ALL {
                let Some(nr) = syscall.number(abi) else { continue };
                if abi == Abi::X86_64 || rule.conditions.is_empty() {
                    rules.push(Override { abi, nr, rule: rule.clone() });
                }
            }
        }
    }
    rules
}

/// What the guard lets through that `policy` does not: the policy's rules
/// for the start-up calls it does not always allow, every other call
/// allowed. `None` when the policy always allows every start-up call, so
/// that its guard already is the policy.
pub fn remainder(policy: &Policy) -> Option<Policy> {
    let start_up: Vec<_> = start_up_entries()
        .iter()
        .flat_map(|entry| entry.target.syscalls())
        .filter(|&syscall| !policy.always_allows(syscall))
        .collect();
    (!start_up.is_empty()).then(|| policy.restricted_to(&start_up))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Syscall;
    use crate::policy::tests::policy;

    fn named(names: &[&str]) -> Vec<&'static Syscall> {
        names.iter().map(|name| Syscall::by_name(name).expect("a known call")).collect()
    }

    #[test]
    fn a_policy_that_allows_every_start_up_call_is_its_own_guard() {
        let deny = policy(None, Some("uname"), None);
        assert!(remainder(&deny).is_none());
        assert!(guard_rules(&deny).is_empty());
        // With openat not always allowed, only it is guarded and remains.
        let creating = policy(None, Some("uname:openat(arg2 & O_CREAT == O_CREAT)"), None);
        let guarded: Vec<_> = guard_rules(&creating).iter().map(|rule| rule.nr).collect();
        assert_eq!(guarded, [Syscall::by_name("openat").unwrap().number(Abi::X86_64).unwrap()]);
        let remaining = remainder(&creating).expect("openat remains");
        assert_eq!(remaining.calls().iter().map(|call| call.syscall).collect::<Vec<_>>(), named(&["openat"]));
    }

    #[test]
    fn the_remainder_holds_the_start_up_calls_the_policy_does_not_always_allow() {
        let allow = policy(Some(&START_UP_CALLS.replace(":arch_prctl", "")), None, None);
        let remainder = remainder(&allow).expect("arch_prctl and the conditional calls remain");
        let calls: Vec<_> = remainder.calls().iter().map(|call| call.syscall).collect();
        assert_eq!(calls, {
            let mut expected = named(&["arch_prctl", "openat", "prctl", "write", "writev"]);
            expected.sort_by_key(|syscall| syscall.index());
            expected
        });
        assert_eq!(remainder.action_for(Syscall::by_name("arch_prctl").unwrap()), Action::Kill);
        assert_eq!(remainder.action_for(Syscall::by_name("uname").unwrap()), Action::Allow);
    }
}
