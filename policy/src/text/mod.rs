//! Policy text → [`Lists`]: the first stage, pure.
//!
//! A policy comes as text from one of several front ends, each producing
//! the same [`Lists`]: the Cloudflare-compatible variables and sandboxify's
//! options ([`Settings`], read by [`variables`]), policy files ([`file`](mod@file)),
//! and the policy patchelf-helper records in an ELF file ([`attached`]).
//! Each list item is an entry ([`entry`]): a call or `@group`, conditions on
//! its arguments, and an action.

#![forbid(unsafe_code)]

pub mod attached;
pub mod entry;
pub mod file;
pub mod oci;
pub mod variables;

use alloc::borrow::ToOwned;
use alloc::vec::Vec;

use crate::action::Action;
use crate::error::{ErrorKind, Origin, PolicyError};
use entry::{Entry, parse_entry};

/// The longest list accepted: room for every system call several times over.
pub const MAX_LIST_BYTES: usize = 64 * 1024;

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
    /// Switches for the whole policy.
    pub switches: Switches,
}

/// Switches that apply to a whole policy, whichever source gives its
/// lists; a switch set by any source is set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Switches {
    /// Entries mean exactly the calls they name: nothing is added.
    pub exact: bool,
    /// Every i386 call kills the process, whatever the lists and the
    /// default action say (the way container engines and systemd refuse
    /// an architecture a policy leaves out); otherwise i386 calls follow
    /// the same rules by name.
    pub refuse_i386: bool,
}

impl Switches {
    /// Exact, and nothing else.
    pub const EXACT: Switches = Switches { exact: true, refuse_i386: false };

    /// The switches set in either.
    pub fn union(self, other: Switches) -> Switches {
        Switches { exact: self.exact || other.exact, refuse_i386: self.refuse_i386 || other.refuse_i386 }
    }
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
/// policy; [`Policy::new`](crate::resolve::Policy::new) resolves them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lists {
    /// The allow list, if there is one (empty means nothing may run).
    pub allow: Option<Vec<Sourced>>,
    /// The deny list.
    pub deny: Vec<Sourced>,
    /// What a violation gets, if set.
    pub default_action: Option<Action>,
    /// Switches for the whole policy.
    pub switches: Switches,
}

impl Lists {
    /// `lists` with `switches` set as well; lists of their own where there
    /// were none but the switches ask for something to enforce.
    pub fn with_switches(lists: Option<Lists>, switches: Switches) -> Option<Lists> {
        match lists {
            Some(mut lists) => {
                lists.switches = lists.switches.union(switches);
                Some(lists)
            }
            None => Some(Lists { switches, ..Lists::default() }).filter(|lists| !lists.is_empty()),
        }
    }

    /// Whether there is anything to enforce.
    pub fn is_empty(&self) -> bool {
        self.allow.is_none() && self.deny.is_empty() && !self.switches.refuse_i386
    }
}

impl Settings<'_> {
    /// Parses the settings into lists. `Ok(None)` when there is nothing to
    /// enforce: neither list, and i386 not refused (a default action alone
    /// is still checked).
    pub fn lists(&self) -> Result<Option<Lists>, PolicyError> {
        let default_action = self.default_action.map(parse_default_action).transpose()?;
        let allow = self.allow.map(parse_list).transpose()?;
        let deny = self.deny.map(parse_list).transpose()?;
        if allow.is_none() && deny.is_none() && !self.switches.refuse_i386 {
            return Ok(None);
        }
        Ok(Some(Lists { allow, deny: deny.unwrap_or_default(), default_action, switches: self.switches }))
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
        return Err(error(ErrorKind::ValueTooLong { len: text.text.len(), limit: MAX_LIST_BYTES }));
    }
    // Sized up front here and below: libsandbox.so parses while ld.so loads
    // it, from an arena where every copy a growing vector leaves behind
    // costs page faults.
    let mut entries = Vec::with_capacity(count_items(text.text));
    for item in items(text.text) {
        entries.push(Sourced { origin: text.origin.clone(), entry: parse_entry(item).map_err(error)? });
    }
    Ok(entries)
}

/// The entries of a list: `:`-separated, blanks around them trimmed, empty
/// ones skipped. Split by byte rather than with `str::split`, whose searcher
/// costs several times more on lists of short names; a `:` is ASCII, so it
/// never splits a character.
fn items(list: &str) -> impl Iterator<Item = &str> {
    let mut rest = list;
    core::iter::from_fn(move || {
        while !rest.is_empty() {
            let end = rest.bytes().position(|byte| byte == b':').unwrap_or(rest.len());
            let item = rest[..end].trim_ascii();
            rest = rest.get(end + 1..).unwrap_or_default();
            if !item.is_empty() {
                return Some(item);
            }
        }
        None
    })
}

/// How many entries [`items`] yields, counted without splitting.
fn count_items(list: &str) -> usize {
    let (mut count, mut in_item) = (0, false);
    for byte in list.bytes() {
        if byte == b':' {
            count += usize::from(in_item);
            in_item = false;
        } else if !byte.is_ascii_whitespace() {
            in_item = true;
        }
    }
    count + usize::from(in_item)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The byte splitter and its count agree with the plain definition.
        #[test]
        fn items_are_the_trimmed_non_empty_pieces(list in "[a-z: \t\n(=)é]{0,40}") {
            let plain: Vec<&str> = list
                .split(':')
                .map(|item| item.trim_matches(|c: char| c.is_ascii_whitespace()))
                .filter(|item| !item.is_empty())
                .collect();
            proptest::prop_assert_eq!(items(&list).collect::<Vec<_>>(), plain.clone());
            proptest::prop_assert_eq!(count_items(&list), plain.len());
        }
    }
}
