//! Helpers the unit tests of several stages share.

use crate::error::Origin;
use crate::resolve::Policy;
use crate::text::{Settings, Switches, Text};

/// The settings of the three Cloudflare variables.
const ALLOW_ORIGIN: Origin = Origin::Variable("SECCOMP_SYSCALL_ALLOW");
const DENY_ORIGIN: Origin = Origin::Variable("SECCOMP_SYSCALL_DENY");
const DEFAULT: Origin = Origin::Variable("SECCOMP_DEFAULT_ACTION");

pub(crate) fn settings<'a>(allow: Option<&'a str>, deny: Option<&'a str>, default: Option<&'a str>) -> Settings<'a> {
    Settings {
        allow: allow.map(|text| Text { origin: &ALLOW_ORIGIN, text }),
        deny: deny.map(|text| Text { origin: &DENY_ORIGIN, text }),
        default_action: default.map(|text| Text { origin: &DEFAULT, text }),
        switches: Switches::default(),
    }
}

/// The resolved policy of the three variables, which must be valid.
pub(crate) fn policy(allow: Option<&str>, deny: Option<&str>, default: Option<&str>) -> Policy {
    settings(allow, deny, default).policy().unwrap().unwrap()
}
