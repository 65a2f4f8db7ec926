//! The start-up calls, and the guard filter that allows them.
//!
//! libsandbox.so applies a policy in its constructor, once the dynamic
//! loader has loaded and relocated the program, so that a policy need not
//! list the loader's calls; ld.so runs that constructor before any other.
//! Program code can run before it, though: the IFUNC resolvers ld.so calls
//! while it relocates. Two ways cover it:
//! - a deny list that [allows every start-up call](allows_start_up) is
//!   installed whole by the library while ld.so relocates it, before the
//!   objects relocated after it (the program's resolvers), at no cost;
//! - `sandboxify --preload` installs a *guard* before its exec: the policy's
//!   filter with [`guard_rules`] in front, which allow the start-up calls as
//!   start-up makes them. The library's policy, stacked on it later, decides
//!   every call as the policy does (the guard never denies what the policy
//!   allows).
//!
//! Any other policy the library applies in its constructor: a guard plus the
//! policy would be two filters, and the kernel runs every filter for each
//! call it cannot answer from its cache.

use alloc::vec::Vec;

use crate::abi::{Abi, Arch};
use crate::action::Action;
use crate::compile::filter::Override;
use crate::condition::Rule;
use crate::resolve::Policy;
use crate::tables::syscalls::Syscall;
use crate::text::entry::{Entry, parse_entry};

/// What glibc's dynamic loader and start-up call before the library's
/// constructor, and what the library calls there (prctl, seccomp, the
/// Landlock calls with which it keeps the program from tracing outside the
/// sandbox, rt_sigaction for the SIGSYS handler that names kills, and what
/// its Landlock helper needs: getdents64 to list directories), as policy
/// entries. Measured with strace on Debian 12
/// (glibc 2.36), plus the calls other glibc versions use for the same steps
/// (fstat, statx, readlink, lseek). Conditions keep them to the way start-up
/// uses them, as program code can run under the guard too: files opened
/// read-only (no O_WRONLY, O_RDWR, O_CREAT, O_TRUNC or O_APPEND: mask 0x643),
/// writes to stderr only, prctl only for no_new_privs, prlimit64 only to
/// read the caller's own limits (pid 0, no new limit), arch_prctl only to
/// set the thread pointer (ARCH_SET_FS, 0x1002) and for the CPU's shadow
/// stack (glibc 2.28 to 2.38: ARCH_CET_STATUS, 0x3001; later:
/// ARCH_SHSTK_ENABLE, _DISABLE, _LOCK, _STATUS, 0x5001 to 0x5005).
pub const START_UP_CALLS: &str = "access:arch_prctl(arg0 == 0x1002):arch_prctl(arg0 == 0x3001):\
arch_prctl(arg0 >= 0x5001, arg0 <= 0x5005):brk:close:exit_group:fstat:futex:getdents64:getrandom:\
landlock_add_rule:landlock_create_ruleset:landlock_restrict_self:lseek:mmap:mprotect:munmap:newfstatat:\
openat(arg2 & 0x643 == 0):prctl(arg0 == PR_SET_NO_NEW_PRIVS):pread64:prlimit64(arg0 == 0, arg2 == 0):read:\
readlink:rseq:rt_sigaction(arg0 == 31):seccomp:set_robust_list:set_tid_address:statx:write(arg0 == 2):writev(arg0 == 2)";

fn start_up_entries() -> Vec<Entry> {
    START_UP_CALLS.split(':').map(|item| parse_entry(item).expect("start-up calls are valid entries")).collect()
}

/// The rules that turn `policy`'s filter into its guard, checked before the
/// policy's own: each start-up call that the policy does not always allow,
/// allowed as start-up makes it. On i386 only the unconditional ones, as
/// arguments are laid out differently there. Used by `sandboxify --preload`,
/// and by learn mode to tell which calls need no entry.
pub fn guard_rules(policy: &Policy) -> Vec<Override> {
    let mut rules = Vec::new();
    for entry in start_up_entries() {
        let rule = Rule { conditions: entry.conditions, action: Action::Allow };
        for syscall in entry.target.syscalls().into_iter().filter(|&syscall| !policy.always_allows(syscall)) {
            for &abi in Arch::HOST.abis() {
                let Some(nr) = syscall.number(abi) else { continue };
                if abi == Abi::X86_64 || rule.conditions.is_empty() {
                    rules.push(Override { abi, nr, rule: rule.clone() });
                }
            }
        }
    }
    rules
}

/// Whether `policy` always allows every start-up call, so that it can be
/// in force before start-up ends: its guard is the policy itself. Reads the
/// calls' names only: the library asks while ld.so loads it, where parsing
/// the conditions too would cost more than the rest of its check.
pub fn allows_start_up(policy: &Policy) -> bool {
    start_up_syscalls().all(|syscall| policy.always_allows(syscall))
}

/// The start-up calls, read from their entries' names alone.
fn start_up_syscalls() -> impl Iterator<Item = &'static Syscall> {
    START_UP_CALLS.split(':').map(|entry| {
        let name = entry.split_once('(').map_or(entry, |(name, _)| name);
        Syscall::by_name(name).expect("start-up calls are known")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::policy;
    use crate::text::entry::Target;

    #[test]
    fn the_names_read_are_the_entries_targets() {
        let targets: Vec<Target> = start_up_entries().iter().map(|entry| entry.target).collect();
        let named: Vec<Target> = start_up_syscalls().map(Target::Syscall).collect();
        assert_eq!(named, targets);
    }

    #[test]
    fn a_policy_that_allows_every_start_up_call_is_its_own_guard() {
        let deny = policy(None, Some("uname"), None);
        assert!(allows_start_up(&deny));
        assert!(guard_rules(&deny).is_empty());
        // With openat not always allowed, only it is guarded.
        let creating = policy(None, Some("uname:openat(arg2 & O_CREAT == O_CREAT)"), None);
        assert!(!allows_start_up(&creating));
        let guarded: Vec<_> = guard_rules(&creating).iter().map(|rule| rule.nr).collect();
        assert_eq!(guarded, [Syscall::by_name("openat").unwrap().number(Abi::X86_64).unwrap()]);
    }

    #[test]
    fn an_allow_list_allows_start_up_only_with_every_start_up_call_unconditionally() {
        let unconditional: Vec<&str> = START_UP_CALLS.split(':').map(|item| item.split('(').next().unwrap()).collect();
        assert!(allows_start_up(&policy(Some(&unconditional.join(":")), None, None)));
        assert!(!allows_start_up(&policy(Some(START_UP_CALLS), None, None)), "openat only read-only");
        let without: Vec<&str> = unconditional.iter().copied().filter(|&name| name != "arch_prctl").collect();
        assert!(!allows_start_up(&policy(Some(&without.join(":")), None, None)));
    }
}
