//! Lists of entries → [`Policy`]: what each system call gets, and why.
//!
//! Besides the entries themselves, a policy adds what libc and the kernel
//! make necessary, unless it is *exact* (`SANDBOX_EXACT=1`, `--exact`):
//!
//! - **families** (deny entries): a denied call's other doors are denied
//!   alike (`execve` → `execveat`; `open` → `openat`, `openat2`, `creat`);
//! - **successors** (allow entries): an allowed call also allows the call
//!   that libc now makes in its place (`fstat` → `newfstatat`: glibc ≥ 2.33
//!   implements `fstat()` with it, so Cloudflare's own example list works);
//! - **fallbacks** (allow lists): a newer call that is not listed while its
//!   older equivalent is gets ENOSYS instead of the default action, so libc
//!   takes its fallback path (`clone3` → `clone`: glibc ≥ 2.34 treats any
//!   other answer to `clone3` as fatal);
//! - **io_uring**: `io_uring_setup`, `io_uring_enter` and `io_uring_register`
//!   get ENOSYS unless an entry names them directly: the operations a ring
//!   carries never pass through seccomp, so a ring would bypass any list.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use crate::action::Action;
use crate::condition::Rule;
use crate::entry::{Entry, Target, parse_entry};
use crate::error::{ErrorKind, Origin, PolicyError};
use crate::syscalls::Syscall;
use crate::variables::{ALLOW, DEFAULT_ACTION, DENY, EXACT};

/// The longest list accepted: room for every system call several times over.
pub const MAX_LIST_BYTES: usize = 64 * 1024;

/// Calls that do what the others do through another door. A deny entry for
/// one (without conditions: arguments differ between doors) denies them all,
/// unless an entry names them itself.
pub const FAMILIES: &[&[&str]] = &[
    &["execve", "execveat"],
    &["open", "openat", "openat2", "creat"],
    &["stat", "lstat", "newfstatat", "statx", "stat64", "lstat64", "fstatat64"],
    &["access", "faccessat", "faccessat2"],
    &["chmod", "fchmod", "fchmodat", "fchmodat2"],
    &["chown", "lchown", "fchown", "fchownat", "chown32", "lchown32", "fchown32"],
    &["link", "linkat"],
    &["symlink", "symlinkat"],
    &["unlink", "unlinkat", "rmdir"],
    &["rename", "renameat", "renameat2"],
    &["mkdir", "mkdirat"],
    &["mknod", "mknodat"],
    &["readlink", "readlinkat"],
    &["truncate", "ftruncate", "truncate64", "ftruncate64"],
    &["utime", "utimes", "futimesat", "utimensat", "utimensat_time64"],
    &["setuid", "setreuid", "setresuid", "setfsuid", "setuid32", "setreuid32", "setresuid32", "setfsuid32"],
    &["setgid", "setregid", "setresgid", "setfsgid", "setgid32", "setregid32", "setresgid32", "setfsgid32"],
    &["setgroups", "setgroups32"],
    &["mount", "fsopen", "fsmount", "fsconfig", "move_mount", "open_tree", "open_tree_attr", "mount_setattr"],
    &["umount", "umount2"],
    &["read", "readv", "pread64", "preadv", "preadv2"],
    &["write", "writev", "pwrite64", "pwritev", "pwritev2"],
    &["sendto", "sendmsg", "sendmmsg", "send"],
    &["recvfrom", "recvmsg", "recvmmsg", "recvmmsg_time64", "recv"],
    &["accept", "accept4"],
    &["dup", "dup2", "dup3"],
    &["pipe", "pipe2"],
    &["poll", "ppoll", "ppoll_time64"],
    &["select", "_newselect", "pselect6", "pselect6_time64"],
    &["epoll_wait", "epoll_pwait", "epoll_pwait2"],
    &["epoll_create", "epoll_create1"],
    &["eventfd", "eventfd2"],
    &["signalfd", "signalfd4"],
    &["inotify_init", "inotify_init1"],
    &["getdents", "getdents64"],
    &["wait4", "waitid", "waitpid"],
    &["fork", "vfork"],
    &["kexec_load", "kexec_file_load"],
    &["init_module", "finit_module"],
    &["clock_settime", "clock_settime64"],
    &["settimeofday", "stime", "clock_settime", "adjtimex", "clock_adjtime", "clock_adjtime64"],
    &["process_vm_readv", "process_vm_writev"],
];

/// An older call and the call libc now makes in its place: an allow entry
/// for the first allows the second too.
pub const SUCCESSORS: &[(&str, &str)] = &[
    ("fstat", "newfstatat"),
    ("stat", "newfstatat"),
    ("lstat", "newfstatat"),
    ("open", "openat"),
    ("getdents", "getdents64"),
    ("access", "faccessat"),
    ("clock_gettime", "clock_gettime64"),
    ("clock_nanosleep", "clock_nanosleep_time64"),
    ("futex", "futex_time64"),
];

/// A newer call and the older one libc falls back to when it gets ENOSYS.
pub const FALLBACKS: &[(&str, &str)] = &[
    ("clone3", "clone"),
    ("faccessat2", "faccessat"),
    ("openat2", "openat"),
    ("statx", "newfstatat"),
    ("fchmodat2", "fchmodat"),
    ("epoll_pwait2", "epoll_pwait"),
    ("close_range", "close"),
    ("preadv2", "preadv"),
    ("pwritev2", "pwritev"),
    ("copy_file_range", "read"),
    ("pidfd_open", "wait4"),
    ("pidfd_send_signal", "kill"),
    ("clock_gettime64", "clock_gettime"),
    ("clock_nanosleep_time64", "clock_nanosleep"),
    ("futex_time64", "futex"),
];

/// The io_uring calls: a ring's operations are never seen by seccomp.
pub const IO_URING: [&str; 3] = ["io_uring_setup", "io_uring_enter", "io_uring_register"];

/// A piece of policy text and where it came from.
#[derive(Clone, Copy, Debug)]
pub struct Text<'a> {
    /// The variable or option that held it, for error messages.
    pub origin: &'a Origin,
    /// The text itself.
    pub text: &'a str,
}

/// The settings of a policy as an operator wrote them, in the
/// Cloudflare-compatible form `SECCOMP_SYSCALL_ALLOW`,
/// `SECCOMP_SYSCALL_DENY` and `SECCOMP_DEFAULT_ACTION` (or options).
#[derive(Clone, Copy, Debug, Default)]
pub struct Settings<'a> {
    /// `:`-separated entries that may run; everything else is a violation.
    pub allow: Option<Text<'a>>,
    /// `:`-separated entries that are violations; removed from the allow list.
    pub deny: Option<Text<'a>>,
    /// What a violation gets: `kill` (the default), `log`, `trap` or an errno.
    pub default_action: Option<Text<'a>>,
    /// Entries mean exactly the calls they name: nothing is added.
    pub exact: bool,
}

/// An entry and where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sourced {
    /// Where.
    pub origin: Origin,
    /// The entry.
    pub entry: Entry,
}

/// Parsed lists, from the environment, options, a file or an attached
/// policy; [`Policy::new`] resolves them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lists {
    /// The allow list, if there is one (empty means nothing may run).
    pub allow: Option<Vec<Sourced>>,
    /// The deny list.
    pub deny: Vec<Sourced>,
    /// What a violation gets, if set.
    pub default_action: Option<Action>,
    /// Entries mean exactly the calls they name.
    pub exact: bool,
}

impl Lists {
    /// Whether there is anything to enforce.
    pub fn is_empty(&self) -> bool {
        self.allow.is_none() && self.deny.is_empty()
    }
}

impl Settings<'_> {
    /// Parses the settings into lists. `Ok(None)` when neither list is given:
    /// there is nothing to enforce (a default action alone is still checked).
    pub fn lists(&self) -> Result<Option<Lists>, PolicyError> {
        let default_action = self.default_action.map(parse_default_action).transpose()?;
        let allow = self.allow.map(parse_list).transpose()?;
        let deny = self.deny.map(parse_list).transpose()?;
        if allow.is_none() && deny.is_none() {
            return Ok(None);
        }
        Ok(Some(Lists { allow, deny: deny.unwrap_or_default(), default_action, exact: self.exact }))
    }

    /// Parses and resolves the settings; `Ok(None)` when there is nothing to enforce.
    pub fn policy(&self) -> Result<Option<Policy>, PolicyError> {
        Ok(self.lists()?.map(|lists| Policy::new(&lists)))
    }
}

/// Parses an action for violations (any action but `allow`).
pub fn parse_default_action(text: Text<'_>) -> Result<Action, PolicyError> {
    let word = text.text.trim();
    let error = |kind| PolicyError { origin: text.origin.clone(), kind };
    match Action::parse(word) {
        Some(Action::Allow) => Err(error(ErrorKind::AllowByDefault { word: word.to_owned() })),
        Some(action) => Ok(action),
        None => Err(error(ErrorKind::UnknownAction { word: word.to_owned() })),
    }
}

/// Parses a `:`-separated list of entries. Empty entries and blanks around
/// entries are ignored.
pub fn parse_list(text: Text<'_>) -> Result<Vec<Sourced>, PolicyError> {
    let error = |kind| PolicyError { origin: text.origin.clone(), kind };
    if text.text.len() > MAX_LIST_BYTES {
        return Err(error(ErrorKind::ValueTooLong { len: text.text.len() }));
    }
    text.text
        .split(':')
        .map(|item| item.trim_matches(|c: char| c.is_ascii_whitespace()))
        .filter(|item| !item.is_empty())
        .map(|item| parse_entry(item).map(|entry| Sourced { origin: text.origin.clone(), entry }).map_err(error))
        .collect()
}

/// How an entry came to apply to a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Via {
    /// The entry names the call.
    Named,
    /// Through this group.
    Group(&'static str),
    /// A deny entry for this other door of the same family.
    Family(&'static str),
    /// An allow entry for this older call, which libc now makes as this one.
    Successor(&'static str),
}

/// Why a call gets what it gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Why {
    /// An entry of a list.
    Entry {
        /// Where the entry was written.
        origin: Origin,
        /// The entry as written.
        written: String,
        /// How it reaches this call.
        via: Via,
        /// Whether it is a deny entry.
        denied: bool,
    },
    /// ENOSYS so that libc falls back to this allowed older call.
    Fallback(&'static str),
    /// ENOSYS because a ring's operations bypass seccomp.
    IoUring,
    /// Added by the tool for the reason given.
    Added(&'static str),
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::Entry { origin, written, via, .. } => {
                write!(f, "{origin}: {written}")?;
                match via {
                    Via::Named => Ok(()),
                    Via::Group(group) => write!(f, " (in {group})"),
                    Via::Family(door) => write!(f, " (another door to {door})"),
                    Via::Successor(older) => write!(f, " (libc calls it for {older})"),
                }
            }
            Why::Fallback(older) => write!(f, "fallback: ENOSYS so that libc uses {older}, which is allowed"),
            Why::IoUring => f.write_str("io_uring: its operations bypass seccomp; name it to allow it"),
            Why::Added(reason) => f.write_str(reason),
        }
    }
}

/// A rule with its reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explained {
    /// The rule; no conditions for an unconditional one.
    pub rule: Rule,
    /// Why.
    pub why: Why,
}

/// Everything a policy says about one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRules {
    /// The call.
    pub syscall: &'static Syscall,
    /// Rules with conditions, tried in order: deny entries' first.
    pub conditional: Vec<Explained>,
    /// The action when no conditional rule applies; `None`: the policy's default.
    pub always: Option<Explained>,
}

/// Whether the policy started from an allow list or from "everything runs".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    /// Only what is listed runs: unlisted calls are violations.
    AllowList,
    /// Everything runs except what the deny list names.
    AllowAll,
}

/// A resolved policy: the rules of every call it mentions, and the rest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    base: Base,
    violation: Action,
    exact: bool,
    /// Sorted by syscall index, one per call mentioned.
    calls: Vec<CallRules>,
}

/// What the entries say of one call, before resolution.
#[derive(Clone, Default)]
struct Collected {
    deny_always: Option<Explained>,
    deny_if: Vec<Explained>,
    allow_always: Option<Explained>,
    allow_if: Vec<Explained>,
    /// An entry names this call itself (not through a group or a family).
    named: bool,
}

impl Collected {
    fn add(&mut self, rule: Rule, why: Why, denied: bool) {
        let explained = Explained { rule, why };
        let (always, conditional) = match denied {
            true => (&mut self.deny_always, &mut self.deny_if),
            false => (&mut self.allow_always, &mut self.allow_if),
        };
        if explained.rule.conditions.is_empty() {
            *always = Some(explained); // a later entry wins
        } else {
            conditional.push(explained);
        }
    }

    fn is_empty(&self) -> bool {
        self.deny_always.is_none() && self.deny_if.is_empty() && self.allow_always.is_none() && self.allow_if.is_empty()
    }

    fn allows_something(&self) -> bool {
        self.allow_always.is_some() || !self.allow_if.is_empty()
    }
}

fn family_of(name: &str) -> impl Iterator<Item = &'static Syscall> + '_ {
    FAMILIES
        .iter()
        .filter(move |family| family.contains(&name))
        .flat_map(|family| family.iter())
        .filter(move |member| **member != name)
        .map(|member| Syscall::by_name(member).expect("family members are in the table"))
}

fn successors_of(name: &str) -> impl Iterator<Item = &'static Syscall> + '_ {
    SUCCESSORS
        .iter()
        .filter(move |(older, _)| *older == name)
        .map(|(_, newer)| Syscall::by_name(newer).expect("successors are in the table"))
}

impl Policy {
    /// Resolves lists into rules per call: allow entries run (or get their
    /// own action), deny entries are violations (or get their own action)
    /// and are tried first; among entries without conditions a later one
    /// wins, and an unconditional deny entry wins outright.
    pub fn new(lists: &Lists) -> Policy {
        let base = if lists.allow.is_some() { Base::AllowList } else { Base::AllowAll };
        let violation = lists.default_action.unwrap_or(Action::Kill);
        let mut collected: Vec<Collected> = vec![Collected::default(); Syscall::all().len()];
        let apply = |sourced: &Sourced, denied: bool, collected: &mut Vec<Collected>| {
            let entry = &sourced.entry;
            let action = entry.action.unwrap_or(if denied { violation } else { Action::Allow });
            let rule = Rule { conditions: entry.conditions.clone(), action };
            let why = |via| Why::Entry { origin: sourced.origin.clone(), written: entry.written.clone(), via, denied };
            let via = match entry.target {
                Target::Syscall(_) => Via::Named,
                Target::Group(group) => Via::Group(group.name()),
            };
            for syscall in entry.target.syscalls() {
                let call = &mut collected[syscall.index()];
                call.named |= via == Via::Named;
                call.add(rule.clone(), why(via.clone()), denied);
            }
        };
        for sourced in lists.allow.iter().flatten() {
            apply(sourced, false, &mut collected);
        }
        for sourced in &lists.deny {
            apply(sourced, true, &mut collected);
        }
        if !lists.exact {
            let direct = collected.iter().map(|call| call.named).collect::<Vec<bool>>();
            let implied = |sourced: &Sourced, denied: bool, collected: &mut Vec<Collected>| {
                let entry = &sourced.entry;
                let Target::Syscall(named) = entry.target else { return };
                if !entry.conditions.is_empty() {
                    return;
                }
                let action = entry.action.unwrap_or(if denied { violation } else { Action::Allow });
                let (others, via): (Vec<&Syscall>, fn(&'static str) -> Via) = if denied {
                    (family_of(named.name()).collect(), Via::Family)
                } else {
                    (successors_of(named.name()).collect(), Via::Successor)
                };
                for other in others.into_iter().filter(|other| !direct[other.index()]) {
                    let why = Why::Entry {
                        origin: sourced.origin.clone(),
                        written: entry.written.clone(),
                        via: via(named.name()),
                        denied,
                    };
                    collected[other.index()].add(Rule { conditions: Vec::new(), action }, why, denied);
                }
            };
            for sourced in lists.allow.iter().flatten() {
                implied(sourced, false, &mut collected);
            }
            for sourced in &lists.deny {
                implied(sourced, true, &mut collected);
            }
            let enosys = Rule { conditions: Vec::new(), action: Action::Errno(libc::ENOSYS as u16) };
            if base == Base::AllowList {
                for &(newer, older) in FALLBACKS {
                    let (newer, older) = (Syscall::by_name(newer).unwrap(), Syscall::by_name(older).unwrap());
                    if collected[newer.index()].is_empty() && collected[older.index()].allows_something() {
                        collected[newer.index()].add(enosys.clone(), Why::Fallback(older.name()), true);
                    }
                }
            }
            for name in IO_URING {
                let call = &mut collected[Syscall::by_name(name).expect("io_uring calls are in the table").index()];
                if !call.named {
                    *call = Collected::default();
                    call.add(enosys.clone(), Why::IoUring, true);
                }
            }
        }
        let calls = Syscall::all()
            .iter()
            .zip(collected)
            .filter(|(_, call)| !call.is_empty())
            .map(|(syscall, call)| match call.deny_always {
                Some(always) => CallRules { syscall, conditional: Vec::new(), always: Some(always) },
                None => {
                    let mut conditional = call.deny_if;
                    conditional.extend(call.allow_if);
                    CallRules { syscall, conditional, always: call.allow_always }
                }
            })
            .collect();
        Policy { base, violation, exact: lists.exact, calls }
    }

    /// What a violation gets.
    pub fn violation(&self) -> Action {
        self.violation
    }

    /// What a call that no entry names gets.
    pub fn default_action(&self) -> Action {
        match self.base {
            Base::AllowList => self.violation,
            Base::AllowAll => Action::Allow,
        }
    }

    /// Whether the policy started from an allow list.
    pub fn base(&self) -> Base {
        self.base
    }

    /// Every call the policy mentions, sorted by name.
    pub fn calls(&self) -> &[CallRules] {
        &self.calls
    }

    /// What the policy says of `syscall`, if anything.
    pub fn call(&self, syscall: &Syscall) -> Option<&CallRules> {
        self.calls.binary_search_by(|call| call.syscall.index().cmp(&syscall.index())).ok().map(|i| &self.calls[i])
    }

    /// The action `syscall` gets when no condition applies.
    pub fn action_for(&self, syscall: &Syscall) -> Action {
        self.call(syscall).and_then(|call| call.always.as_ref()).map_or(self.default_action(), |e| e.rule.action)
    }

    /// The strictest action any rule gives `syscall`, conditions ignored:
    /// what a call gets where its arguments cannot be tested.
    pub fn strictest_for(&self, syscall: &Syscall) -> Action {
        let conditional = self.call(syscall).into_iter().flat_map(|call| call.conditional.iter());
        conditional
            .map(|explained| explained.rule.action)
            .chain([self.action_for(syscall)])
            .max_by_key(|action| action.precedence())
            .expect("at least the unconditional action")
    }

    /// The same policy with `syscalls` allowed whatever it said of them.
    pub fn allowing(&self, syscalls: &[&'static Syscall], why: &Why) -> Policy {
        let mut calls: Vec<CallRules> =
            self.calls.iter().filter(|call| !syscalls.contains(&call.syscall)).cloned().collect();
        if self.base == Base::AllowList {
            let allow = Rule { conditions: Vec::new(), action: Action::Allow };
            calls.extend(syscalls.iter().map(|&syscall| CallRules {
                syscall,
                conditional: Vec::new(),
                always: Some(Explained { rule: allow.clone(), why: why.clone() }),
            }));
        }
        calls.sort_by_key(|call| call.syscall.index());
        calls.dedup_by_key(|call| call.syscall.index());
        Policy { calls, ..self.clone() }
    }

    /// The environment variables that reproduce this policy exactly, for
    /// handing it to another process (`sandboxify --preload` gives it to the
    /// library): every rule spelt out, in order, with exact mode on, since
    /// whatever the policy added is already among the rules.
    pub fn variables(&self) -> Vec<(&'static str, String)> {
        let mut allow = Vec::new();
        let mut deny = Vec::new();
        let spell = |name: &str, rule: &Rule| -> String {
            let conditions: Vec<String> = rule.conditions.iter().map(ToString::to_string).collect();
            let conditions = if conditions.is_empty() { String::new() } else { format!("({})", conditions.join(", ")) };
            format!("{name}{conditions}={}", rule.action)
        };
        for call in &self.calls {
            let name = call.syscall.name();
            deny.extend(call.conditional.iter().map(|explained| spell(name, &explained.rule)));
            match call.always.as_ref().map(|explained| explained.rule.action) {
                Some(Action::Allow) if self.base == Base::AllowList => allow.push(name.to_owned()),
                Some(action) => deny.push(spell(name, &Rule { conditions: Vec::new(), action })),
                None => {}
            }
        }
        let mut variables = Vec::new();
        if self.base == Base::AllowList {
            variables.push((ALLOW, allow.join(":")));
        }
        variables.push((DENY, deny.join(":")));
        variables.push((DEFAULT_ACTION, self.violation.to_string()));
        variables.push((EXACT, "1".to_owned()));
        variables
    }

    /// Whether entries meant exactly the calls they named.
    pub fn exact(&self) -> bool {
        self.exact
    }
}

/// Shows the policy as the variables that reproduce it.
impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.variables().into_iter().map(|(name, value)| format!("{name}={value}")).collect();
        f.write_str(&parts.join(" "))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const ALLOW_ORIGIN: Origin = Origin::Variable("SECCOMP_SYSCALL_ALLOW");
    const DENY_ORIGIN: Origin = Origin::Variable("SECCOMP_SYSCALL_DENY");
    const DEFAULT: Origin = Origin::Variable("SECCOMP_DEFAULT_ACTION");

    fn settings<'a>(allow: Option<&'a str>, deny: Option<&'a str>, default: Option<&'a str>) -> Settings<'a> {
        Settings {
            allow: allow.map(|text| Text { origin: &ALLOW_ORIGIN, text }),
            deny: deny.map(|text| Text { origin: &DENY_ORIGIN, text }),
            default_action: default.map(|text| Text { origin: &DEFAULT, text }),
            exact: false,
        }
    }

    pub(crate) fn policy(allow: Option<&str>, deny: Option<&str>, default: Option<&str>) -> Policy {
        settings(allow, deny, default).policy().unwrap().unwrap()
    }

    fn exact(allow: Option<&str>, deny: Option<&str>) -> Policy {
        Settings { exact: true, ..settings(allow, deny, None) }.policy().unwrap().unwrap()
    }

    fn error(allow: Option<&str>, deny: Option<&str>, default: Option<&str>) -> String {
        settings(allow, deny, default).policy().unwrap_err().to_string()
    }

    fn action(policy: &Policy, name: &str) -> Action {
        policy.action_for(Syscall::by_name(name).unwrap())
    }

    const ENOSYS: Action = Action::Errno(libc::ENOSYS as u16);

    #[test]
    fn nothing_set_means_no_policy() {
        assert_eq!(settings(None, None, None).policy(), Ok(None));
        assert_eq!(settings(None, None, Some("log")).policy(), Ok(None));
    }

    #[test]
    fn allow_list_kills_the_rest() {
        let p = policy(Some("read:write"), None, None);
        assert_eq!(action(&p, "read"), Action::Allow);
        assert_eq!(action(&p, "uname"), Action::Kill);
    }

    #[test]
    fn deny_list_allows_the_rest() {
        let p = policy(None, Some("uname"), None);
        assert_eq!(action(&p, "uname"), Action::Kill);
        assert_eq!(action(&p, "read"), Action::Allow);
    }

    #[test]
    fn both_lists_mean_allow_minus_deny() {
        let p = policy(Some("read:write:uname"), Some("uname"), None);
        assert_eq!(action(&p, "uname"), Action::Kill);
        assert_eq!(action(&p, "write"), Action::Allow);
        assert_eq!(action(&p, "getpid"), Action::Kill);
    }

    #[test]
    fn log_mode_turns_violations_into_log() {
        let p = policy(Some(""), None, Some("log"));
        assert_eq!(action(&p, "read"), Action::Log);
        let p = policy(None, Some("uname"), Some("log"));
        assert_eq!(action(&p, "uname"), Action::Log);
        assert_eq!(action(&p, "read"), Action::Allow);
    }

    #[test]
    fn entries_carry_their_own_actions() {
        let p = policy(None, Some("uname=ENETDOWN:ptrace=1:kill"), None);
        assert_eq!(action(&p, "uname"), Action::Errno(libc::ENETDOWN as u16));
        assert_eq!(action(&p, "ptrace"), Action::Errno(1));
        assert_eq!(action(&p, "kill"), Action::Kill);
    }

    #[test]
    fn blanks_and_empty_items_are_ignored() {
        let p = policy(Some(" read :: write\t: "), None, Some(" kill "));
        assert_eq!(action(&p, "read"), Action::Allow);
        assert_eq!(action(&p, "write"), Action::Allow);
        let p = policy(Some(""), None, None);
        assert_eq!(action(&p, "read"), Action::Kill);
    }

    #[test]
    fn later_entries_win_within_a_list_and_deny_wins_across() {
        let p = policy(None, Some("uname=EPERM:uname=ENOSYS"), None);
        assert_eq!(action(&p, "uname"), ENOSYS);
        let p = policy(Some("uname=EPERM"), Some("uname"), None);
        assert_eq!(action(&p, "uname"), Action::Kill);
    }

    #[test]
    fn groups_expand_and_deny_removes_from_them() {
        let p = policy(Some("@system-service"), Some("@privileged"), None);
        assert_eq!(action(&p, "read"), Action::Allow);
        assert_eq!(action(&p, "setuid"), Action::Kill);
        assert_eq!(action(&p, "reboot"), Action::Kill);
        let p = policy(None, Some("@privileged=EPERM"), None);
        assert_eq!(action(&p, "setuid"), Action::Errno(1));
    }

    #[test]
    fn conditions_make_alternatives_tried_deny_first() {
        let p = policy(Some("socket(arg0 == AF_UNIX):read"), Some("socket(arg0 == AF_INET)=EACCES"), None);
        let socket = p.call(Syscall::by_name("socket").unwrap()).unwrap();
        let actions: Vec<Action> = socket.conditional.iter().map(|e| e.rule.action).collect();
        assert_eq!(actions, [Action::Errno(libc::EACCES as u16), Action::Allow]);
        assert_eq!(socket.always, None);
        assert_eq!(p.strictest_for(Syscall::by_name("socket").unwrap()), Action::Kill);
    }

    #[test]
    fn deny_entries_cover_the_other_doors() {
        let p = policy(None, Some("execve:open=EACCES"), None);
        assert_eq!(action(&p, "execveat"), Action::Kill);
        for door in ["openat", "openat2", "creat"] {
            assert_eq!(action(&p, door), Action::Errno(libc::EACCES as u16), "{door}");
        }
        let p = policy(None, Some("execve:execveat=allow"), None);
        assert_eq!(action(&p, "execveat"), Action::Allow, "a door named itself keeps its own entry");
        let p = exact(None, Some("execve"));
        assert_eq!(action(&p, "execveat"), Action::Allow, "exact mode adds nothing");
        let p = policy(Some("execve"), None, None);
        assert_eq!(action(&p, "execveat"), Action::Kill, "allow entries do not open other doors");
    }

    #[test]
    fn allow_entries_take_libcs_successor_along() {
        let p = policy(Some("exit_group:fstat:uname:write"), None, None);
        assert_eq!(action(&p, "newfstatat"), Action::Allow);
        assert_eq!(action(&exact(Some("exit_group:fstat:uname:write"), None), "newfstatat"), Action::Kill);
    }

    #[test]
    fn unlisted_newer_calls_get_enosys_when_the_older_is_allowed() {
        let p = policy(Some("clone:read"), None, None);
        assert_eq!(action(&p, "clone3"), ENOSYS);
        assert_eq!(action(&p, "openat2"), Action::Kill, "openat is not allowed");
        let p = policy(Some("clone:clone3=EPERM"), None, None);
        assert_eq!(action(&p, "clone3"), Action::Errno(1), "listed calls keep their entry");
        assert_eq!(action(&exact(Some("clone"), None), "clone3"), Action::Kill);
    }

    #[test]
    fn io_uring_needs_naming() {
        for p in [policy(None, Some("uname"), None), policy(Some("@system-service"), None, None)] {
            for name in IO_URING {
                assert_eq!(action(&p, name), ENOSYS, "{name}");
            }
        }
        let p = policy(Some("io_uring_setup:io_uring_enter"), None, None);
        assert_eq!(action(&p, "io_uring_setup"), Action::Allow);
        assert_eq!(action(&p, "io_uring_register"), ENOSYS);
        assert_eq!(action(&exact(None, Some("uname")), "io_uring_setup"), Action::Allow);
    }

    #[test]
    fn variables_reproduce_the_policy() {
        let cases = [
            policy(Some("write:read:uname"), Some("uname:ptrace=EPERM"), None),
            policy(None, Some("uname"), Some("log")),
            policy(Some("read=EPERM:write:@basic-io"), Some("kill=allow:uname"), Some("trap")),
            policy(Some("socket(arg0 == AF_UNIX):clone"), Some("socket(arg0 == AF_INET, arg1 != 3)=EACCES"), None),
        ];
        for original in cases {
            let vars = original.variables();
            let get = |name: &str| vars.iter().find(|(key, _)| *key == name).map(|(_, value)| value.as_str());
            let again =
                Settings { exact: get(EXACT) == Some("1"), ..settings(get(ALLOW), get(DENY), get(DEFAULT_ACTION)) }
                    .policy()
                    .unwrap()
                    .unwrap();
            for syscall in Syscall::all() {
                let rules = |p: &Policy| {
                    p.call(syscall).map(|call| {
                        let conditional: Vec<Rule> = call.conditional.iter().map(|e| e.rule.clone()).collect();
                        (conditional, call.always.as_ref().map(|e| e.rule.action))
                    })
                };
                assert_eq!(rules(&again), rules(&original), "{} in {original}", syscall.name());
            }
            assert_eq!(again.default_action(), original.default_action());
        }
    }

    #[test]
    fn unknown_names_suggest_near_ones() {
        assert_eq!(
            error(Some("read:unmae"), None, None),
            r#"SECCOMP_SYSCALL_ALLOW: unknown system call "unmae" (did you mean "uname"?)"#
        );
        assert_eq!(error(None, Some("frobnicate"), None), r#"SECCOMP_SYSCALL_DENY: unknown system call "frobnicate""#);
        assert_eq!(
            error(None, Some("@system-servce"), None),
            r#"SECCOMP_SYSCALL_DENY: unknown group "@system-servce" (did you mean "@system-service"?)"#
        );
    }

    #[test]
    fn names_of_other_architectures_are_accepted() {
        let p = policy(None, Some("arm_fadvise64_64"), None);
        assert_eq!(action(&p, "arm_fadvise64_64"), Action::Kill);
    }

    #[test]
    fn bad_actions_are_refused() {
        assert!(error(None, Some("uname=EFOO"), None).contains(r#"unknown action "EFOO""#));
        assert!(error(None, Some("uname="), None).contains("no action after ="));
        assert!(error(None, Some("=EPERM"), None).contains("no system call or group name"));
        assert_eq!(
            error(None, Some("uname"), Some("die")),
            r#"SECCOMP_DEFAULT_ACTION: unknown action "die" (expected kill, trap, log, allow, an errno name such as EPERM, or an errno number from 1 to 4095)"#
        );
        assert!(error(None, None, Some("bogus")).starts_with("SECCOMP_DEFAULT_ACTION: unknown action"));
        assert!(error(None, Some("uname"), Some("allow")).contains("would let every violation run"));
    }

    #[test]
    fn malformed_and_overlong_entries_are_refused() {
        assert!(error(Some("Read"), None, None).contains(r#"malformed entry "Read""#));
        assert!(error(Some("read write"), None, None).contains("malformed entry"));
        let long = "a".repeat(crate::entry::MAX_ENTRY_BYTES + 1);
        assert!(error(Some(&long), None, None).contains("longer than the limit of 256"));
        let huge = "read:".repeat(MAX_LIST_BYTES / 5 + 1);
        assert!(error(Some(&huge), None, None).contains("value of"));
        assert!(error(None, Some("socket(arg0 == AF_INETT)"), None).contains("did you mean \"AF_INET\""));
    }

    #[test]
    fn tables_name_known_calls() {
        for family in FAMILIES {
            for name in *family {
                assert!(Syscall::by_name(name).is_some(), "{name}");
            }
        }
        for (a, b) in SUCCESSORS.iter().chain(FALLBACKS) {
            assert!(Syscall::by_name(a).is_some() && Syscall::by_name(b).is_some(), "{a} {b}");
        }
    }
}
