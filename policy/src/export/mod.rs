//! [`Policy`] → other formats: the variables that hand a resolved policy on
//! to another process (`sandboxify --preload` gives them to the library),
//! the same text as the policy's `Display`, and an OCI profile ([`oci`]).

#![forbid(unsafe_code)]

pub mod oci;

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::action::Action;
use crate::condition::Rule;
use crate::resolve::{Base, Policy};
use crate::text::variables::{ALLOW, DEFAULT_ACTION, DENY, EXACT};

impl Policy {
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
        for call in self.calls() {
            let name = call.syscall.name();
            deny.extend(call.conditional.iter().map(|explained| spell(name, &explained.rule)));
            match call.always.as_ref().map(|explained| explained.rule.action) {
                Some(Action::Allow) if self.base() == Base::AllowList => allow.push(name.to_owned()),
                // As an allow entry: an unconditional deny entry would win
                // outright over the conditional rules spelt out above.
                Some(action) if self.base() == Base::AllowList => {
                    allow.push(spell(name, &Rule { conditions: Vec::new(), action }))
                }
                Some(action) => deny.push(spell(name, &Rule { conditions: Vec::new(), action })),
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
                _ => "exact".to_owned(),
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
