//! [`Policy`] → other formats: the variables that hand a resolved policy on
//! to another process (`sandboxify --preload` gives them to the library),
//! the same text as the policy's `Display`, an OCI profile ([`oci`]), systemd
//! unit lines ([`systemd`]), and an allow list for another machine ([`translate`]).

#![forbid(unsafe_code)]

pub mod oci;
pub mod systemd;
pub mod translate;

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::abi::Abi;
use crate::action::Action;
use crate::compile::filter::on_i386;
use crate::condition::{Field, Rule};
use crate::resolve::{Base, Policy};
use crate::tables::syscalls::Multiplexer;
use crate::text::variables::{ALLOW, DEFAULT_ACTION, DENY, EXACT, REFUSE_I386};

impl Policy {
    /// The environment variables that reproduce this policy exactly, for
    /// handing it to another process (`sandboxify --preload` gives it to the
    /// library): every rule spelt out, in order, with exact mode on, since
    /// whatever the policy added is already among the rules, and i386
    /// refused if it is.
    pub fn variables(&self) -> Vec<(&'static str, String)> {
        let mut allow = Vec::new();
        let mut deny = Vec::new();
        for call in self.calls() {
            let name = call.syscall.name();
            deny.extend(call.conditional.iter().map(|explained| explained.rule.entry(name)));
            match call.always.as_ref().map(|explained| explained.rule.action) {
                Some(Action::Allow) if self.base() == Base::AllowList => allow.push(name.to_owned()),
                // As an allow entry: an unconditional deny entry would win
                // outright over the conditional rules spelt out above.
                Some(action) if self.base() == Base::AllowList => {
                    allow.push(Rule { conditions: Vec::new(), action }.entry(name))
                }
                Some(action) => deny.push(Rule { conditions: Vec::new(), action }.entry(name)),
                None => {}
            }
        }
        let mut variables = Vec::new();
        if self.base() == Base::AllowList {
            variables.push((ALLOW, allow.join(":")));
        }
        variables.push((DENY, deny.join(":")));
        variables.push((DEFAULT_ACTION, self.violation().to_string()));
        variables.push((EXACT, "1".to_owned()));
        if self.refuses_i386() {
            variables.push((REFUSE_I386, "1".to_owned()));
        }
        variables
    }
}

impl Policy {
    /// The policy as the lines of a policy file (no `@include`), as an
    /// attached policy records it: the same settings as [`Policy::variables`].
    pub fn file_text(&self) -> String {
        let mut text = String::new();
        for (name, value) in self.variables() {
            let line = match name {
                ALLOW if value.is_empty() => "allow".to_owned(),
                ALLOW => format!("allow {value}"),
                DENY if value.is_empty() => continue,
                DENY => format!("deny {value}"),
                DEFAULT_ACTION => format!("default-action {value}"),
                EXACT => "exact".to_owned(),
                REFUSE_I386 => "refuse-i386".to_owned(),
                other => unreachable!("variables() sets no {other}"),
            };
            text.push_str(&line);
            text.push('\n');
        }
        text
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.variables().into_iter().map(|(name, value)| format!("{name}={value}")).collect();
        f.write_str(&parts.join(" "))
    }
}

/// Why a policy cannot be written in another format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportError {
    /// The format, as in "cannot write ioctl as an OCI profile".
    pub format: &'static str,
    /// The call whose rules cannot be written.
    pub call: &'static str,
    /// Why.
    pub reason: &'static str,
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot write {} as {}: {}", self.call, self.format, self.reason)
    }
}

impl core::error::Error for ExportError {}

/// How a format that names calls (an OCI profile, systemd's lines) covers i386.
pub(crate) enum I386Coverage {
    /// i386 is listed: libseccomp decides its calls as our filter does.
    Listed,
    /// i386 is left out, as the policy refuses every i386 call.
    Refused,
    /// i386 is left out, so its calls are refused where the policy has
    /// rules for them, because (the reason) libseccomp would decide them
    /// otherwise.
    Narrowed(String),
}

/// How an export covers `policy`'s i386 calls.
pub(crate) fn i386_coverage(policy: &Policy) -> I386Coverage {
    if policy.refuses_i386() {
        return I386Coverage::Refused;
    }
    i386_difference(policy).map_or(I386Coverage::Listed, I386Coverage::Narrowed)
}

/// Why libseccomp would decide some i386 call otherwise than our filter,
/// if it would.
fn i386_difference(policy: &Policy) -> Option<String> {
    let default = policy.default_action();
    // libseccomp tests an i386 call's arguments in the x86_64 positions,
    // 32 bits wide: where our filter moves or cannot test one, it differs.
    for call in policy.calls().iter().filter(|call| call.syscall.number(Abi::I386).is_some()) {
        for rule in call.conditional.iter().map(|explained| &explained.rule) {
            let moved = on_i386(call.syscall, rule);
            let same = moved
                .is_some_and(|moved| moved.conditions.iter().zip(&rule.conditions).all(|(m, r)| m.field == r.field));
            if !same {
                return Some(format!("{}'s arguments are passed otherwise there", call.syscall.name()));
            }
        }
    }
    for multiplexer in Multiplexer::all() {
        let own = multiplexer.call();
        if policy.call(own).is_some() {
            return Some(format!("the policy names {}", own.name()));
        }
        for (member, _) in multiplexer.members() {
            let conditional = policy.call(member).is_some_and(|call| !call.conditional.is_empty());
            if conditional {
                return Some(format!("{} has conditions, which {} hides", member.name(), own.name()));
            }
            if multiplexer.mask() != u32::MAX && policy.action_for(member) != default {
                return Some(format!(
                    "{} is not the default, and libseccomp compares {}'s whole operation argument \
                     (a caller could set its version bits)",
                    member.name(),
                    own.name()
                ));
            }
        }
    }
    None
}

/// Why libseccomp would decide some aarch64 call otherwise than our filter,
/// if it would: it tests arguments in x86_64's positions on every
/// architecture, and arm64 passes `clone`'s last two the other way round
/// (see `compile::filter::on_aarch64`).
pub(crate) fn aarch64_difference(policy: &Policy) -> Option<String> {
    let clone = policy.calls().iter().find(|call| call.syscall.name() == "clone")?;
    let mut conditions = clone.conditional.iter().flat_map(|explained| &explained.rule.conditions);
    conditions
        .any(|condition| matches!(condition.field, Field::Arg(3 | 4)))
        .then(|| "clone's tls and child_tid arguments are passed the other way round there".into())
}
