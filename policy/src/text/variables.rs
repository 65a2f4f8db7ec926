//! The environment interface shared by `libsandbox.so` and `sandboxify`
//! (the launcher and the full program), and how all three read it.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use core::fmt;

use crate::error::{ErrorKind, Origin, PolicyError};
use crate::text::file::{self, Files};
use crate::text::{Lists, Settings, Switches, Text};

/// `:`-separated entries that may run (Cloudflare's name).
pub const ALLOW: &str = "SECCOMP_SYSCALL_ALLOW";
/// `:`-separated entries that may not run (Cloudflare's name).
pub const DENY: &str = "SECCOMP_SYSCALL_DENY";
/// What a violation gets (Cloudflare's name; Cloudflare knew only `log`).
pub const DEFAULT_ACTION: &str = "SECCOMP_DEFAULT_ACTION";
/// A policy file: the three settings above in a file (see [`crate::text::file`]).
pub const POLICY_FILE: &str = "SECCOMP_POLICY_FILE";
/// When set to anything but empty or `0`: print the installed policy once on stderr.
pub const VERBOSE: &str = "SANDBOX_VERBOSE";
/// `1`: entries mean exactly the calls they name (see [`crate::resolve`]).
pub const EXACT: &str = "SANDBOX_EXACT";
/// `1`: every i386 call kills the process (see [`Switches::refuse_i386`]).
pub const REFUSE_I386: &str = "SANDBOX_REFUSE_I386";
/// Set by `sandboxify --learn --preload`: mark the apply point (see [`crate::learn`]).
pub const LEARN: &str = "SANDBOX_LEARN";
/// Set by sandboxify for the library it preloads when it enforced Landlock
/// rules that handle files: the domain that keeps tracing inside must then
/// handle and grant reparenting too (see [`crate::sys::scope`]).
pub const FS_DOMAIN: &str = "SANDBOX_FS_DOMAIN";
/// A file to append the permissive-mode report to, instead of stderr (see [`crate::sys::report`]).
pub const REPORT: &str = "SANDBOX_REPORT";
/// A file to append one JSON object per named kill to (see [`crate::violation`]).
pub const REPORT_JSON: &str = "SANDBOX_REPORT_JSON";
/// `0`: keep the kernel's silent kill rather than name kills (see
/// [`crate::violation`]); unset or `1`: name them where it is safe. For
/// sandboxify, whose kills a tracer names, unset means `0`.
pub const REPORT_KILLS: &str = "SANDBOX_REPORT_KILLS";
/// What is counted and reported at exit besides permissive mode's calls:
/// `errno` (calls an errno action fails), `trap` (calls a trap action sends
/// to the program's handler), `:`-separated; `0` nothing. Unset: `trap`.
pub const REPORT_COUNTS: &str = "SANDBOX_REPORT_COUNTS";

/// Paths (`:`-separated, `~` expands) the program may read and execute beneath (Landlock).
pub const FS_RO: &str = "SANDBOX_FS_RO";
/// Paths beneath which the program may also write, create, remove, rename, truncate.
pub const FS_RW: &str = "SANDBOX_FS_RW";
/// Paths or globs (in the last component) carved out of the trees granted above.
pub const FS_DENY: &str = "SANDBOX_FS_DENY";
/// TCP ports (`:`-separated, or ranges `A-B`) the program may connect to.
pub const NET_CONNECT: &str = "SANDBOX_NET_CONNECT";
/// TCP ports the program may bind.
pub const NET_BIND: &str = "SANDBOX_NET_BIND";
/// `1`: IP sockets are TCP only: no UDP, raw, SCTP, MPTCP or packet
/// sockets (seccomp closes what Landlock's port rules do not cover).
pub const NET_TCP_ONLY: &str = "SANDBOX_NET_TCP_ONLY";
/// `0`: with file rules, grant none of the devices every program expects
/// (`/dev/null`, the terminal...) unless the rules do.
pub const FS_DEVICES: &str = "SANDBOX_FS_DEVICES";
/// `1`: enforce what the kernel's Landlock can, and say what it cannot,
/// instead of refusing to run.
pub const LANDLOCK_BEST_EFFORT: &str = "SANDBOX_LANDLOCK_BEST_EFFORT";

/// Every variable the sandbox reads, and removes before the program runs.
pub const ALL: [&str; 21] = [
    ALLOW,
    DENY,
    DEFAULT_ACTION,
    POLICY_FILE,
    VERBOSE,
    EXACT,
    REFUSE_I386,
    LEARN,
    FS_DOMAIN,
    REPORT,
    REPORT_JSON,
    REPORT_KILLS,
    REPORT_COUNTS,
    FS_RO,
    FS_RW,
    FS_DENY,
    NET_CONNECT,
    NET_BIND,
    NET_TCP_ONLY,
    FS_DEVICES,
    LANDLOCK_BEST_EFFORT,
];

/// Prefixes of names that are the sandbox's: any other name with one is
/// most likely a typo (`SANDBOX_NETCONNECT`), which would otherwise leave
/// the program less confined than asked without a word.
const OURS: [&[u8]; 2] = [b"SECCOMP_", b"SANDBOX_"];

/// Origins for error messages, one per policy variable.
const ALLOW_ORIGIN: Origin = Origin::Variable(ALLOW);
const DENY_ORIGIN: Origin = Origin::Variable(DENY);
const DEFAULT_ACTION_ORIGIN: Origin = Origin::Variable(DEFAULT_ACTION);
const EXACT_ORIGIN: Origin = Origin::Variable(EXACT);
const REFUSE_I386_ORIGIN: Origin = Origin::Variable(REFUSE_I386);
const REPORT_KILLS_ORIGIN: Origin = Origin::Variable(REPORT_KILLS);
const REPORT_COUNTS_ORIGIN: Origin = Origin::Variable(REPORT_COUNTS);

/// What `SANDBOX_REPORT_COUNTS` asks to count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counted {
    /// Calls a trap action sends to the program's SIGSYS handler.
    pub traps: bool,
    /// Calls an errno action fails: opt-in, since a policy may fail calls
    /// on purpose, and each then costs a round trip to the reporter, which
    /// answers them as a seccomp listener (see [`crate::sys::report`]).
    pub errno: bool,
}

impl Counted {
    /// What is counted when the variable is unset.
    pub const DEFAULT: Counted = Counted { traps: true, errno: false };
    /// Nothing: in a setuid, setgid or file-capability program, whose
    /// caller steers nothing and which an unprivileged reporter could not
    /// trace.
    pub const NOTHING: Counted = Counted { traps: false, errno: false };
}

/// A variable that is `0` or `1`: `unset` when it is unset or empty;
/// anything else is refused, naming the variable.
fn switch(value: Option<&str>, origin: &Origin, unset: bool) -> Result<bool, PolicyError> {
    match value {
        None | Some("") => Ok(unset),
        Some("0") => Ok(false),
        Some("1") => Ok(true),
        Some(other) => Err(PolicyError {
            origin: origin.clone(),
            kind: ErrorKind::Malformed { entry: other.to_owned(), reason: "expected 0 or 1" },
        }),
    }
}

/// How a variable name relates to the sandbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Name {
    /// One of [`ALL`].
    Known(&'static str),
    /// Starts with `SECCOMP_` or `SANDBOX_` but is none of ours: most likely
    /// a typo that would otherwise leave the program unconfined without a
    /// word.
    Unknown,
    /// Nothing to do with the sandbox.
    Unrelated,
}

/// Classifies a variable name.
pub fn classify(name: &[u8]) -> Name {
    // The prefix first: every process with the library reads every
    // variable of its environment, almost none of them ours.
    if !is_ours(name) {
        Name::Unrelated
    } else if let Some(known) = ALL.iter().find(|known| known.as_bytes() == name) {
        Name::Known(known)
    } else {
        Name::Unknown
    }
}

/// Whether `entry` (a `NAME=VALUE` string, or its start) has the prefix of
/// the sandbox's variables, known or not: entries without it are
/// [`Name::Unrelated`] whatever follows.
pub fn is_ours(entry: &[u8]) -> bool {
    OURS.iter().any(|prefix| entry.starts_with(prefix))
}

/// The length of [`is_ours`]'s prefixes: the bytes of an entry to read to
/// tell.
pub const PREFIX_LEN: usize = 8;

/// The closest variable name to a misspelt one.
pub fn closest(name: &str) -> &'static str {
    ALL.iter()
        .copied()
        .min_by_key(|known| crate::tables::syscalls::edit_distance(name, known))
        .expect("ALL is not empty")
}

/// `NAME=VALUE` split at the first `=`; an entry without one (execve
/// allows it) is a name with an empty value.
pub fn split_entry(entry: &[u8]) -> (&[u8], &[u8]) {
    match entry.iter().position(|&byte| byte == b'=') {
        Some(at) => (&entry[..at], &entry[at + 1..]),
        None => (entry, b""),
    }
}

/// An environment the sandbox will not guess about (see [`Variables::add`]).
#[derive(Debug, PartialEq, Eq)]
pub enum EnvironmentError {
    /// A variable given twice.
    Duplicate(&'static str),
    /// A `SECCOMP_*` or `SANDBOX_*` variable the sandbox does not know:
    /// probably a typo that would otherwise leave the program unconfined.
    Unknown {
        /// The name as set.
        name: String,
        /// The nearest known name.
        closest: &'static str,
    },
    /// A value that is not UTF-8, so holds no valid policy.
    NotUtf8(&'static str),
}

// By hand rather than with thiserror: see `crate::error`.
impl fmt::Display for EnvironmentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvironmentError::Duplicate(name) => write!(f, "{name} is set twice in the environment"),
            EnvironmentError::Unknown { name, closest } => {
                write!(f, "unknown variable {name} (did you mean {closest}?)")
            }
            EnvironmentError::NotUtf8(name) => write!(f, "{name}: value is not valid UTF-8"),
        }
    }
}

impl core::error::Error for EnvironmentError {}

/// Values of the sandbox's variables, as read from an environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Variables {
    /// `SECCOMP_SYSCALL_ALLOW`
    pub allow: Option<String>,
    /// `SECCOMP_SYSCALL_DENY`
    pub deny: Option<String>,
    /// `SECCOMP_DEFAULT_ACTION`
    pub default_action: Option<String>,
    /// `SECCOMP_POLICY_FILE`
    pub policy_file: Option<String>,
    /// `SANDBOX_VERBOSE`
    pub verbose: Option<String>,
    /// `SANDBOX_EXACT`
    pub exact: Option<String>,
    /// `SANDBOX_REFUSE_I386`
    pub refuse_i386: Option<String>,
    /// `SANDBOX_LEARN`
    pub learn: Option<String>,
    /// `SANDBOX_FS_DOMAIN`
    pub fs_domain: Option<String>,
    /// `SANDBOX_REPORT`
    pub report: Option<String>,
    /// `SANDBOX_REPORT_JSON`
    pub report_json: Option<String>,
    /// `SANDBOX_REPORT_KILLS`
    pub report_kills: Option<String>,
    /// `SANDBOX_REPORT_COUNTS`
    pub report_counts: Option<String>,
    /// The Landlock variables.
    pub landlock: LandlockVariables,
}

/// Values of the Landlock variables, as read from an environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LandlockVariables {
    /// `SANDBOX_FS_RO`
    pub read_only: Option<String>,
    /// `SANDBOX_FS_RW`
    pub read_write: Option<String>,
    /// `SANDBOX_FS_DENY`
    pub deny: Option<String>,
    /// `SANDBOX_NET_CONNECT`
    pub connect: Option<String>,
    /// `SANDBOX_NET_BIND`
    pub bind: Option<String>,
    /// `SANDBOX_NET_TCP_ONLY`
    pub tcp_only: Option<String>,
    /// `SANDBOX_FS_DEVICES`
    pub devices: Option<String>,
    /// `SANDBOX_LANDLOCK_BEST_EFFORT`
    pub best_effort: Option<String>,
}

impl LandlockVariables {
    /// Whether any is set (then the Landlock code reads, checks and applies
    /// them all).
    pub fn any(&self) -> bool {
        *self != LandlockVariables::default()
    }
}

impl Variables {
    /// Whether none is set.
    pub fn is_empty(&self) -> bool {
        *self == Variables::default()
    }

    /// Takes one variable of an environment: stores one of the sandbox's
    /// and returns its name; leaves any other alone (`None`). Refuses what
    /// every reader refuses alike: a variable set twice (libc and shells
    /// disagree about which one counts), a `SECCOMP_*` or `SANDBOX_*` name
    /// the sandbox does not know, a value that is not UTF-8.
    pub fn add(&mut self, name: &[u8], value: &[u8]) -> Result<Option<&'static str>, EnvironmentError> {
        match classify(name) {
            Name::Unrelated => Ok(None),
            Name::Unknown => {
                let name = String::from_utf8_lossy(name).into_owned();
                let closest = closest(&name);
                Err(EnvironmentError::Unknown { name, closest })
            }
            Name::Known(known) => {
                let slot = self.slot(known);
                if slot.is_some() {
                    return Err(EnvironmentError::Duplicate(known));
                }
                let value = core::str::from_utf8(value).map_err(|_| EnvironmentError::NotUtf8(known))?;
                *slot = Some(value.to_owned());
                Ok(Some(known))
            }
        }
    }

    fn slot(&mut self, name: &'static str) -> &mut Option<String> {
        match name {
            ALLOW => &mut self.allow,
            DENY => &mut self.deny,
            DEFAULT_ACTION => &mut self.default_action,
            POLICY_FILE => &mut self.policy_file,
            VERBOSE => &mut self.verbose,
            EXACT => &mut self.exact,
            REFUSE_I386 => &mut self.refuse_i386,
            LEARN => &mut self.learn,
            FS_DOMAIN => &mut self.fs_domain,
            REPORT => &mut self.report,
            REPORT_JSON => &mut self.report_json,
            REPORT_KILLS => &mut self.report_kills,
            REPORT_COUNTS => &mut self.report_counts,
            FS_RO => &mut self.landlock.read_only,
            FS_RW => &mut self.landlock.read_write,
            FS_DENY => &mut self.landlock.deny,
            NET_CONNECT => &mut self.landlock.connect,
            NET_BIND => &mut self.landlock.bind,
            NET_TCP_ONLY => &mut self.landlock.tcp_only,
            FS_DEVICES => &mut self.landlock.devices,
            LANDLOCK_BEST_EFFORT => &mut self.landlock.best_effort,
            _ => unreachable!("{name} is not one of variables::ALL"),
        }
    }

    /// Whether the variables ask for a policy (not merely set options): a
    /// list, a policy file, or i386 refused (a malformed value counts: it
    /// is refused later).
    pub fn asks_for_policy(&self) -> bool {
        let refuses_i386 = switch(self.refuse_i386.as_deref(), &REFUSE_I386_ORIGIN, false).unwrap_or(true);
        self.allow.is_some() || self.deny.is_some() || self.policy_file.is_some() || refuses_i386
    }

    /// Whether any Landlock variable is set.
    pub fn asks_for_landlock(&self) -> bool {
        self.landlock.any()
    }

    /// Whether Landlock rules that handle files are, or will be, in force
    /// (sandboxify's, handed over; or the library's own variables).
    pub fn file_rules(&self) -> bool {
        self.fs_domain.as_deref() == Some("1")
            || self.landlock.read_only.is_some()
            || self.landlock.read_write.is_some()
            || self.landlock.deny.is_some()
    }

    /// Whether sandboxify's learn mode asks for the apply point to be marked.
    pub fn learning(&self) -> bool {
        self.learn.as_deref() == Some("1")
    }

    /// Whether `SANDBOX_VERBOSE` asks for the policy to be printed.
    pub fn verbose(&self) -> bool {
        self.verbose.as_deref().is_some_and(|value| !value.is_empty() && value != "0")
    }

    /// The switches `SANDBOX_EXACT` and `SANDBOX_REFUSE_I386` set: each
    /// `1` yes, unset, empty or `0` no, anything else is refused (a typo
    /// must not silently widen).
    pub fn switches(&self) -> Result<Switches, PolicyError> {
        Ok(Switches {
            exact: switch(self.exact.as_deref(), &EXACT_ORIGIN, false)?,
            refuse_i386: switch(self.refuse_i386.as_deref(), &REFUSE_I386_ORIGIN, false)?,
        })
    }

    /// Whether `SANDBOX_REPORT_KILLS` lets the library name kills: unset,
    /// empty or `1` yes, `0` no, anything else is refused.
    pub fn report_kills(&self) -> Result<bool, PolicyError> {
        switch(self.report_kills.as_deref(), &REPORT_KILLS_ORIGIN, true)
    }

    /// Whether `SANDBOX_REPORT_KILLS` is `1` itself (sandboxify names kills
    /// only then); anything but `0`, `1` or empty is refused.
    pub fn report_kills_asked(&self) -> Result<bool, PolicyError> {
        switch(self.report_kills.as_deref(), &REPORT_KILLS_ORIGIN, false)
    }

    /// What `SANDBOX_REPORT_COUNTS` asks to count: `errno`, `trap` or both
    /// (`errno:trap`), `0` nothing, unset or empty [`Counted::DEFAULT`]; any
    /// other token is refused, named.
    pub fn report_counts(&self) -> Result<Counted, PolicyError> {
        let Some(value) = self.report_counts.as_deref().filter(|value| !value.is_empty()) else {
            return Ok(Counted::DEFAULT);
        };
        let mut counted = Counted::NOTHING;
        if value == "0" {
            return Ok(counted);
        }
        for token in value.split(':') {
            match token {
                "errno" => counted.errno = true,
                "trap" => counted.traps = true,
                other => {
                    return Err(PolicyError {
                        origin: REPORT_COUNTS_ORIGIN,
                        kind: ErrorKind::Malformed { entry: other.to_owned(), reason: "expected errno, trap or 0" },
                    });
                }
            }
        }
        Ok(counted)
    }

    /// The lists these variables ask for, from `SECCOMP_POLICY_FILE` (read
    /// through `files`) or from the three list variables, which cannot be
    /// mixed with it. `Ok(None)`: nothing to enforce.
    pub fn lists(&self, files: &mut dyn Files) -> Result<Option<Lists>, PolicyError> {
        let Some(path) = &self.policy_file else {
            return self.settings()?.lists();
        };
        if self.allow.is_some() || self.deny.is_some() || self.default_action.is_some() {
            let message = format!(
                "{POLICY_FILE} cannot be combined with {ALLOW}, {DENY} or {DEFAULT_ACTION}: put everything in the file"
            );
            return Err(PolicyError { origin: Origin::Variable(POLICY_FILE), kind: ErrorKind::Conflict(message) });
        }
        let lists = file::parse_file(Origin::Variable(POLICY_FILE), path, files)?;
        Ok(Lists::with_switches((!lists.is_empty()).then_some(lists), self.switches()?))
    }

    /// The policy settings these variables hold (not the policy file).
    pub fn settings(&self) -> Result<Settings<'_>, PolicyError> {
        fn text<'a>(origin: &'a Origin, value: &'a Option<String>) -> Option<Text<'a>> {
            value.as_deref().map(|text| Text { origin, text })
        }
        Ok(Settings {
            allow: text(&ALLOW_ORIGIN, &self.allow),
            deny: text(&DENY_ORIGIN, &self.deny),
            default_action: text(&DEFAULT_ACTION_ORIGIN, &self.default_action),
            switches: self.switches()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_names() {
        assert_eq!(classify(b"SECCOMP_SYSCALL_DENY"), Name::Known(DENY));
        assert_eq!(classify(b"SECCOMP_SYSCALL_DENNY"), Name::Unknown);
        assert_eq!(classify(b"SECCOMP"), Name::Unrelated);
        assert_eq!(classify(b"PATH"), Name::Unrelated);
        assert!(OURS.iter().all(|prefix| prefix.len() == PREFIX_LEN));
        assert!(ALL.iter().all(|name| is_ours(name.as_bytes())));
        assert_eq!(closest("SECCOMP_SYSCALL_DENNY"), DENY);
        assert_eq!(closest("SECCOMP_DEFAULT"), DEFAULT_ACTION);
        assert_eq!(classify(b"SANDBOX_FS_RO"), Name::Known(FS_RO));
        assert_eq!(classify(b"SANDBOX_FS_READONLY"), Name::Unknown);
        assert_eq!(classify(b"SANDBOX_NET_CONECT"), Name::Unknown);
        assert_eq!(closest("SANDBOX_NET_CONECT"), NET_CONNECT);
        assert_eq!(classify(b"SANDBOX_NETCONNECT"), Name::Unknown);
        assert_eq!(closest("SANDBOX_NETCONNECT"), NET_CONNECT);
        assert_eq!(classify(b"SANDBOX_HOME"), Name::Unknown);
        assert_eq!(classify(b"SANDBOXED"), Name::Unrelated);
    }

    #[test]
    fn environments_are_read_alike_and_refused_alike() {
        let mut vars = Variables::default();
        assert_eq!(vars.add(b"PATH", b"/bin"), Ok(None));
        assert_eq!(vars.add(b"SECCOMP_SYSCALL_DENY", b"uname"), Ok(Some(DENY)));
        assert_eq!(vars.deny.as_deref(), Some("uname"));
        assert_eq!(vars.add(b"SECCOMP_SYSCALL_DENY", b"read"), Err(EnvironmentError::Duplicate(DENY)));
        assert_eq!(vars.add(b"SECCOMP_SYSCALL_ALLOW", b"\xff"), Err(EnvironmentError::NotUtf8(ALLOW)));
        let unknown = vars.add(b"SECCOMP_SYSCALL_DNEY", b"uname").unwrap_err();
        assert_eq!(unknown.to_string(), "unknown variable SECCOMP_SYSCALL_DNEY (did you mean SECCOMP_SYSCALL_DENY?)");
        assert_eq!(split_entry(b"A=b=c"), (&b"A"[..], &b"b=c"[..]));
        assert_eq!(split_entry(b"A"), (&b"A"[..], &b""[..]));
    }

    #[test]
    fn verbose_is_off_when_empty_or_zero() {
        let mut vars = Variables::default();
        assert!(!vars.verbose());
        for (value, expected) in [("", false), ("0", false), ("1", true), ("yes", true)] {
            vars.verbose = Some(value.to_owned());
            assert_eq!(vars.verbose(), expected, "{value:?}");
        }
    }
}
