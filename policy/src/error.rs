//! Errors in policy text, each naming where it came from and the offending token.

#![forbid(unsafe_code)]

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// `message` as one line: a line break inside (from a path or a value
/// quoted in it) shown as `\n` or `\r`, so that an error is always one
/// line on stderr.
pub fn one_line(message: &str) -> alloc::borrow::Cow<'_, str> {
    if message.contains(['\n', '\r']) {
        message.replace('\n', "\\n").replace('\r', "\\r").into()
    } else {
        message.into()
    }
}

/// Where a piece of policy text came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// An environment variable, such as `SECCOMP_SYSCALL_ALLOW`.
    Variable(&'static str),
    /// A command-line option, such as `--allow`.
    Option(&'static str),
    /// A line of a policy file.
    File {
        /// The file, as named.
        path: String,
        /// The line, from 1.
        line: usize,
    },
    /// The policy recorded in the program's own ELF file by patchelf-helper.
    Attached {
        /// The line of the recorded policy text, from 1.
        line: usize,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Variable(name) | Origin::Option(name) => f.write_str(name),
            Origin::File { path, line } => write!(f, "{path}:{line}"),
            Origin::Attached { line } => write!(f, "attached policy:{line}"),
        }
    }
}

/// A mistake in a policy. Its message is one line: origin, problem, token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    /// Where the bad text was.
    pub origin: Origin,
    /// What is wrong with it.
    pub kind: ErrorKind,
}

/// What is wrong with a piece of policy text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// An `@group` that does not exist.
    UnknownGroup {
        /// The name as written.
        name: String,
        /// Known groups close to it.
        suggestions: Vec<&'static str>,
    },
    /// A condition that cannot be read or cannot be enforced.
    BadCondition {
        /// The entry as written.
        entry: String,
        /// What is wrong.
        reason: String,
    },
    /// A line of a policy file that is no directive.
    UnknownDirective {
        /// The first word of the line.
        word: String,
    },
    /// A directive with the wrong arguments.
    BadDirective(&'static str),
    /// A policy file that could not be read.
    Unreadable {
        /// The path as given.
        path: String,
        /// Why.
        reason: String,
    },
    /// An `@include` that could not be read.
    Include {
        /// The path as written.
        path: String,
        /// Why.
        reason: String,
    },
    /// Two sources of policy that would have to be merged by guessing.
    Conflict(String),
    /// A name that is no system call on any architecture the table knows.
    UnknownSyscall {
        /// The name as written.
        name: String,
        /// Known names close to it.
        suggestions: Vec<&'static str>,
    },
    /// An action that is neither a word, an errno name nor an errno number.
    UnknownAction {
        /// The action as written.
        word: String,
    },
    /// An entry that does not follow `NAME[=ACTION]`.
    Malformed {
        /// The entry as written.
        entry: String,
        /// Why it cannot be read.
        reason: &'static str,
    },
    /// An entry longer than any real one.
    EntryTooLong {
        /// The start of the entry.
        prefix: String,
        /// Its length in bytes.
        len: usize,
        /// The longest entry accepted.
        limit: usize,
    },
    /// A whole value longer than any real policy.
    ValueTooLong {
        /// Its length in bytes.
        len: usize,
        /// The longest value accepted.
        limit: usize,
    },
    /// A value that is not UTF-8 (and so cannot hold valid names).
    NotUtf8 {
        /// The value with invalid bytes replaced.
        lossy: String,
    },
    /// An OCI profile that cannot be read or honoured: the file, the rule
    /// and the field, in words.
    Profile(String),
    /// `allow` given as the action for violations.
    AllowByDefault {
        /// The action as written.
        word: String,
    },
}

// Display by hand rather than with thiserror: this crate is no_std, and
// another workspace member (the landlock crate) enables thiserror's std
// feature, which feature unification would then link into libsandbox.so.
impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.kind)
    }
}

impl core::error::Error for PolicyError {}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::UnknownGroup { name, suggestions } => {
                write!(f, "unknown group {name:?}{}", did_you_mean(suggestions))
            }
            ErrorKind::BadCondition { entry, reason } => write!(f, "bad condition in {entry:?}: {reason}"),
            ErrorKind::UnknownDirective { word } => {
                write!(
                    f,
                    "unknown directive {word:?} (expected allow, deny, default-action, exact, refuse-i386 or @include)"
                )
            }
            ErrorKind::BadDirective(message) => f.write_str(message),
            ErrorKind::Unreadable { path, reason } => write!(f, "cannot read {path:?}: {reason}"),
            ErrorKind::Include { path, reason } => write!(f, "cannot include {path:?}: {reason}"),
            ErrorKind::Conflict(message) => f.write_str(message),
            ErrorKind::UnknownSyscall { name, suggestions } => {
                write!(f, "unknown system call {name:?}{}", did_you_mean(suggestions))
            }
            ErrorKind::UnknownAction { word } => write!(
                f,
                "unknown action {word:?} (expected kill, trap, log, allow, an errno name such as EPERM, or an errno \
                 number from 1 to 4095)"
            ),
            ErrorKind::Malformed { entry, reason } => write!(f, "malformed entry {entry:?}: {reason}"),
            ErrorKind::EntryTooLong { prefix, len, limit } => {
                write!(f, "entry of {len} bytes is longer than the limit of {limit}: {prefix:?}...")
            }
            ErrorKind::ValueTooLong { len, limit } => {
                write!(f, "value of {len} bytes is longer than the limit of {limit}")
            }
            // The message may quote a field as written: control characters
            // escaped, so that it stays one line.
            ErrorKind::Profile(message) => {
                f.write_str("OCI profile ")?;
                message.chars().try_for_each(|c| {
                    if c.is_control() { write!(f, "{}", c.escape_default()) } else { write!(f, "{c}") }
                })
            }
            ErrorKind::NotUtf8 { lossy } => write!(f, "value is not valid UTF-8: {lossy:?}"),
            ErrorKind::AllowByDefault { word } => {
                write!(f, "{word:?} would let every violation run; use log to watch a program without stopping it")
            }
        }
    }
}

fn did_you_mean(suggestions: &[&str]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!(" (did you mean {one:?}?)"),
        many => {
            let quoted: Vec<String> = many.iter().map(|s| format!("{s:?}")).collect();
            format!(" (did you mean one of {}?)", quoted.join(", "))
        }
    }
}
