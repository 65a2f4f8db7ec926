//! Policy text → [`Policy`]: what each system call gets.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use crate::abi::Abi;
use crate::action::Action;
use crate::error::{ErrorKind, Origin, PolicyError};
use crate::syscalls::Syscall;
use crate::variables::{ALLOW, DEFAULT_ACTION, DENY};

/// The longest entry accepted. The longest system-call name is 22 bytes; an
/// entry far beyond that is a mistake (or an attack on the parser), not a policy.
pub const MAX_ENTRY_BYTES: usize = 256;
/// The longest list accepted: room for every system call several times over.
pub const MAX_LIST_BYTES: usize = 64 * 1024;

/// One `NAME[=ACTION]` item of an allow or deny list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The system call it names.
    pub syscall: &'static Syscall,
    /// The action written after `=`, if any.
    pub action: Option<Action>,
}

/// A piece of policy text and where it came from.
#[derive(Clone, Copy, Debug)]
pub struct Text<'a> {
    /// The variable or option that held it, for error messages.
    pub origin: &'a Origin,
    /// The text itself.
    pub text: &'a str,
}

/// The three settings of a policy, as an operator wrote them, in the
/// Cloudflare-compatible form `SECCOMP_SYSCALL_ALLOW`, `SECCOMP_SYSCALL_DENY`
/// and `SECCOMP_DEFAULT_ACTION`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Settings<'a> {
    /// `:`-separated entries that may run; everything else is a violation.
    pub allow: Option<Text<'a>>,
    /// `:`-separated entries that are violations; removed from the allow list.
    pub deny: Option<Text<'a>>,
    /// What a violation gets: `kill` (the default), `log`, `trap` or an errno.
    pub default_action: Option<Text<'a>>,
}

/// Whether the policy started from an allow list or from "everything runs".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    /// Only what is listed runs: unlisted calls are violations.
    AllowList,
    /// Everything runs except what the deny list names.
    AllowAll,
}

/// A resolved policy: the action of every named system call and of the rest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    base: Base,
    violation: Action,
    /// Final action per named call, sorted by name, one per call.
    rules: Vec<(&'static Syscall, Action)>,
}

impl Settings<'_> {
    /// Reads the settings. `Ok(None)` when neither list is given: there is
    /// nothing to enforce (a default action alone is still checked).
    pub fn policy(&self) -> Result<Option<Policy>, PolicyError> {
        let violation = match self.default_action {
            Some(text) => parse_default_action(text)?,
            None => Action::Kill,
        };
        let allow = self.allow.map(parse_list).transpose()?;
        let deny = self.deny.map(parse_list).transpose()?;
        if allow.is_none() && deny.is_none() {
            return Ok(None);
        }
        Ok(Some(Policy::new(allow, deny.unwrap_or_default(), violation)))
    }
}

fn parse_default_action(text: Text<'_>) -> Result<Action, PolicyError> {
    let word = text.text.trim();
    let error = |kind| PolicyError { origin: text.origin.clone(), kind };
    match Action::parse(word) {
        Some(Action::Allow) => Err(error(ErrorKind::AllowByDefault { word: word.to_owned() })),
        Some(action) => Ok(action),
        None => Err(error(ErrorKind::UnknownAction { word: word.to_owned() })),
    }
}

/// Parses a `:`-separated list of `NAME[=ACTION]` entries. Empty entries and
/// blanks around entries are ignored.
pub fn parse_list(text: Text<'_>) -> Result<Vec<Entry>, PolicyError> {
    let error = |kind| PolicyError { origin: text.origin.clone(), kind };
    if text.text.len() > MAX_LIST_BYTES {
        return Err(error(ErrorKind::ValueTooLong { len: text.text.len() }));
    }
    text.text
        .split(':')
        .map(|item| item.trim_matches(|c: char| c.is_ascii_whitespace()))
        .filter(|item| !item.is_empty())
        .map(|item| parse_entry(item).map_err(error))
        .collect()
}

fn parse_entry(item: &str) -> Result<Entry, ErrorKind> {
    if item.len() > MAX_ENTRY_BYTES {
        let prefix: String = item.chars().take(32).collect();
        return Err(ErrorKind::EntryTooLong { prefix, len: item.len() });
    }
    let malformed = |reason| ErrorKind::Malformed { entry: item.to_owned(), reason };
    let (name, action) = match item.split_once('=') {
        Some((name, action)) => (name.trim_end(), Some(action.trim_start())),
        None => (item, None),
    };
    if name.is_empty() {
        return Err(malformed("no system call name before ="));
    }
    if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        return Err(malformed("a system call name has only lowercase letters, digits and _"));
    }
    let syscall = Syscall::by_name(name)
        .ok_or_else(|| ErrorKind::UnknownSyscall { name: name.to_owned(), suggestions: Syscall::suggestions(name) })?;
    let action = match action {
        None => None,
        Some("") => return Err(malformed("no action after =")),
        Some(word) => Some(Action::parse(word).ok_or_else(|| ErrorKind::UnknownAction { word: word.to_owned() })?),
    };
    Ok(Entry { syscall, action })
}

/// Calls that do what another does through a different door: a deny entry
/// for the first covers the rest, or `SECCOMP_SYSCALL_DENY=execve` would
/// leave `execveat` open (as Cloudflare's tool does).
const FAMILIES: &[(&str, &[&str])] = &[("execve", &["execveat"])];

fn family_of(syscall: &Syscall) -> &'static [&'static str] {
    FAMILIES.iter().find(|(name, _)| *name == syscall.name()).map_or(&[], |(_, members)| members)
}

impl Policy {
    /// Combines the lists: allow entries run (or get their own action), deny
    /// entries are violations (or get their own action) and win over allow
    /// entries; within a list a later entry for the same call wins.
    pub fn new(allow: Option<Vec<Entry>>, deny: Vec<Entry>, violation: Action) -> Policy {
        let base = if allow.is_some() { Base::AllowList } else { Base::AllowAll };
        let mut by_index: Vec<Option<Action>> = vec![None; Syscall::all().len()];
        for entry in allow.iter().flatten() {
            by_index[entry.syscall.index()] = Some(entry.action.unwrap_or(Action::Allow));
        }
        for entry in &deny {
            by_index[entry.syscall.index()] = Some(entry.action.unwrap_or(violation));
        }
        // A denied call's other doors are denied alike, unless named themselves.
        for entry in &deny {
            for &member in family_of(entry.syscall) {
                let member = Syscall::by_name(member).expect("family members are in the table");
                if !deny.iter().any(|other| other.syscall == member) {
                    by_index[member.index()] = Some(entry.action.unwrap_or(violation));
                }
            }
        }
        let rules = Syscall::all()
            .iter()
            .zip(by_index)
            .filter_map(|(syscall, action)| action.map(|action| (syscall, action)))
            .collect();
        Policy { base, violation, rules }
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

    /// Every named call with its action, sorted by name.
    pub fn rules(&self) -> &[(&'static Syscall, Action)] {
        &self.rules
    }

    /// The action an entry gives `syscall`, or `None` when no entry names it.
    pub fn rule(&self, syscall: &Syscall) -> Option<Action> {
        self.rules.binary_search_by(|(s, _)| s.index().cmp(&syscall.index())).ok().map(|i| self.rules[i].1)
    }

    /// The action `syscall` gets, named or not.
    pub fn action_for(&self, syscall: &Syscall) -> Action {
        self.rule(syscall).unwrap_or(self.default_action())
    }

    /// The rules that apply on `abi`, by number.
    pub fn numbered_rules(&self, abi: Abi) -> impl Iterator<Item = (u32, Action)> + '_ {
        self.rules.iter().filter_map(move |(syscall, action)| syscall.number(abi).map(|nr| (nr, *action)))
    }
}

impl Policy {
    /// The environment variables that reproduce this policy, for handing it to
    /// another process (`sandboxify --preload` passes it to the library).
    pub fn variables(&self) -> Vec<(&'static str, String)> {
        let list = |keep: &dyn Fn(Action) -> bool| -> String {
            let entries: Vec<String> = self
                .rules
                .iter()
                .filter(|(_, action)| keep(*action))
                .map(|(syscall, action)| match (self.base, *action) {
                    (Base::AllowList, Action::Allow) => syscall.name().to_owned(),
                    (_, action) if action == self.violation => syscall.name().to_owned(),
                    (_, action) => format!("{}={action}", syscall.name()),
                })
                .collect();
            entries.join(":")
        };
        let mut variables = Vec::new();
        if self.base == Base::AllowList {
            variables.push((ALLOW, list(&|a| a == Action::Allow)));
        }
        let deny = list(&|a| a != Action::Allow || self.base == Base::AllowAll);
        if !deny.is_empty() || self.base == Base::AllowAll {
            variables.push((DENY, deny));
        }
        variables.push((DEFAULT_ACTION, self.violation.to_string()));
        variables
    }

    /// The same policy with `syscalls` allowed whatever it said of them.
    pub fn allowing(&self, syscalls: &[&'static Syscall]) -> Policy {
        let mut rules: Vec<(&'static Syscall, Action)> =
            self.rules.iter().copied().filter(|(syscall, _)| !syscalls.contains(syscall)).collect();
        if self.base == Base::AllowList {
            rules.extend(syscalls.iter().map(|&syscall| (syscall, Action::Allow)));
        }
        rules.sort_by_key(|(syscall, _)| syscall.index());
        rules.dedup_by_key(|(syscall, _)| syscall.index());
        Policy { rules, ..*self }
    }
}

/// Shows the policy in the environment-variable form that reproduces it.
impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.variables().into_iter().map(|(name, value)| format!("{name}={value}")).collect();
        f.write_str(&parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALLOW: Origin = Origin::Variable("SECCOMP_SYSCALL_ALLOW");
    const DENY: Origin = Origin::Variable("SECCOMP_SYSCALL_DENY");
    const DEFAULT: Origin = Origin::Variable("SECCOMP_DEFAULT_ACTION");

    fn settings<'a>(allow: Option<&'a str>, deny: Option<&'a str>, default: Option<&'a str>) -> Settings<'a> {
        Settings {
            allow: allow.map(|text| Text { origin: &ALLOW, text }),
            deny: deny.map(|text| Text { origin: &DENY, text }),
            default_action: default.map(|text| Text { origin: &DEFAULT, text }),
        }
    }

    fn policy(allow: Option<&str>, deny: Option<&str>, default: Option<&str>) -> Policy {
        settings(allow, deny, default).policy().unwrap().unwrap()
    }

    fn error(allow: Option<&str>, deny: Option<&str>, default: Option<&str>) -> String {
        settings(allow, deny, default).policy().unwrap_err().to_string()
    }

    fn action(policy: &Policy, name: &str) -> Action {
        policy.action_for(Syscall::by_name(name).unwrap())
    }

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
        assert_eq!(p.rules().len(), 2);
        let p = policy(Some(""), None, None);
        assert!(p.rules().is_empty());
        assert_eq!(action(&p, "read"), Action::Kill);
    }

    #[test]
    fn later_entries_win_within_a_list_and_deny_wins_across() {
        let p = policy(None, Some("uname=EPERM:uname=ENOSYS"), None);
        assert_eq!(action(&p, "uname"), Action::Errno(libc::ENOSYS as u16));
        let p = policy(Some("uname=EPERM"), Some("uname"), None);
        assert_eq!(action(&p, "uname"), Action::Kill);
    }

    #[test]
    fn displays_a_reproducible_form() {
        let p = policy(Some("write:read:uname"), Some("uname:ptrace=EPERM"), None);
        assert_eq!(
            p.to_string(),
            "SECCOMP_SYSCALL_ALLOW=read:write SECCOMP_SYSCALL_DENY=ptrace=EPERM:uname SECCOMP_DEFAULT_ACTION=kill"
        );
        let p = policy(None, Some("uname"), Some("log"));
        assert_eq!(p.to_string(), "SECCOMP_SYSCALL_DENY=uname SECCOMP_DEFAULT_ACTION=log");
        for original in [p, policy(Some("read=EPERM:write"), Some("kill=allow:uname"), Some("trap"))] {
            let text = original.to_string();
            let get = |name: &str| text.split(' ').find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='));
            let again =
                policy(get("SECCOMP_SYSCALL_ALLOW"), get("SECCOMP_SYSCALL_DENY"), get("SECCOMP_DEFAULT_ACTION"));
            assert_eq!(again, original, "{text}");
        }
    }

    #[test]
    fn denying_execve_denies_execveat_too() {
        let p = policy(None, Some("execve"), None);
        assert_eq!(action(&p, "execveat"), Action::Kill);
        let p = policy(None, Some("execve=EPERM"), None);
        assert_eq!(action(&p, "execveat"), Action::Errno(1));
        let p = policy(None, Some("execve:execveat=allow"), None);
        assert_eq!(action(&p, "execveat"), Action::Allow);
        let p = policy(Some("execve"), None, None);
        assert_eq!(action(&p, "execveat"), Action::Kill, "allow lists do not widen");
    }

    #[test]
    fn allowing_forces_calls_to_run() {
        let openat = Syscall::by_name("openat").unwrap();
        let p = policy(Some("read"), Some("openat"), None).allowing(&[openat]);
        assert_eq!(action(&p, "openat"), Action::Allow);
        assert_eq!(action(&p, "read"), Action::Allow);
        assert_eq!(action(&p, "write"), Action::Kill);
        let p = policy(None, Some("openat:uname=EPERM"), None).allowing(&[openat]);
        assert_eq!(action(&p, "openat"), Action::Allow);
        assert_eq!(action(&p, "uname"), Action::Errno(1));
    }

    #[test]
    fn unknown_names_suggest_near_ones() {
        assert_eq!(
            error(Some("read:unmae"), None, None),
            r#"SECCOMP_SYSCALL_ALLOW: unknown system call "unmae" (did you mean "uname"?)"#
        );
        assert_eq!(error(None, Some("frobnicate"), None), r#"SECCOMP_SYSCALL_DENY: unknown system call "frobnicate""#);
    }

    #[test]
    fn names_of_other_architectures_are_accepted() {
        let p = policy(None, Some("arm_fadvise64_64"), None);
        assert_eq!(p.numbered_rules(Abi::X86_64).count(), 0);
    }

    #[test]
    fn bad_actions_are_refused() {
        assert!(error(None, Some("uname=EFOO"), None).contains(r#"unknown action "EFOO""#));
        assert!(error(None, Some("uname="), None).contains("no action after ="));
        assert!(error(None, Some("=EPERM"), None).contains("no system call name"));
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
        let long = "a".repeat(MAX_ENTRY_BYTES + 1);
        assert!(error(Some(&long), None, None).contains("longer than the limit of 256"));
        let huge = "read:".repeat(MAX_LIST_BYTES / 5 + 1);
        assert!(error(Some(&huge), None, None).contains("value of"));
    }
}
