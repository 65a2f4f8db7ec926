//! Policy text → [`Lists`]: the first stage, pure.
//!
//! A policy comes as text from one of several front ends, each producing
//! the same [`Lists`]: the Cloudflare-compatible variables and sandboxify's
//! options ([`Settings`], read by [`variables`]), policy files ([`file`]),
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
