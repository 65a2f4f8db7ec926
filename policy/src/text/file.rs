//! Policy files: the settings of the environment, one directive per line.
//!
//! ```text
//! # A comment; also after a directive.
//! allow read write exit_group         entries, separated by blanks or ':'
//! allow socket(arg0 == AF_UNIX)       conditions may contain blanks
//! deny @privileged uname=ENETDOWN
//! default-action EPERM
//! exact
//! refuse-i386                         every i386 call kills the process
//! @include common.policy              relative to this file's directory
//! ```
//!
//! `allow` and `deny` lines add to their list (`allow` alone declares an
//! empty allow list); a later `default-action` wins. Every mistake is
//! reported as `file:line: message`.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::error::{ErrorKind, Origin, PolicyError};
use crate::text::entry::parse_entry;
use crate::text::oci;
use crate::text::{Lists, MAX_LIST_BYTES, Sourced, Text, parse_default_action};

/// How deep `@include`s may nest: far more than any real layout, and the
/// bound that stops a cycle.
pub const MAX_INCLUDE_DEPTH: usize = 8;

/// The largest policy file read: far beyond it is a mistake (`/dev/zero`),
/// not a policy, and reading on would only exhaust memory.
pub const MAX_FILE_BYTES: usize = 1 << 20;

/// The refusal of a file larger than [`MAX_FILE_BYTES`].
pub const TOO_LARGE: &str = "larger than 1 MiB";

/// Reads the files a policy names.
pub trait Files {
    /// The text of the file at `path` (as joined by [`join`]), or why not.
    fn read(&mut self, path: &str) -> Result<String, String>;

    /// What an OCI profile's Docker conditions test, for the process the
    /// policy is for (see [`oci::Host`]); `None`: they cannot be answered.
    fn host(&mut self) -> Option<oci::Host>;
}

/// Refuses every file: for text that may not include any (an attached policy).
pub struct NoFiles;

impl Files for NoFiles {
    fn read(&mut self, _path: &str) -> Result<String, String> {
        Err("this policy may not include files".to_owned())
    }

    fn host(&mut self) -> Option<oci::Host> {
        None
    }
}

/// `path` relative to the directory of `from` (unless absolute).
pub fn join(from: &str, path: &str) -> String {
    if path.starts_with('/') {
        return path.to_owned();
    }
    match from.rfind('/') {
        Some(slash) => format!("{}/{path}", &from[..slash]),
        None => path.to_owned(),
    }
}

/// Parses the file `path`, reading it and its includes through `files`.
pub fn parse_file(origin: Origin, path: &str, files: &mut dyn Files) -> Result<Lists, PolicyError> {
    let text = files.read(path).map_err(|reason| PolicyError {
        origin: origin.clone(),
        kind: ErrorKind::Unreadable { path: path.to_owned(), reason },
    })?;
    if oci::is_profile(&text) {
        let host = files.host();
        return oci::parse(&origin, path, &text, host.as_ref());
    }
    let mut lists = Lists::default();
    parse_into(&mut lists, &|line| Origin::File { path: path.to_owned(), line }, path, &text, files, 0)?;
    Ok(lists)
}

/// Parses policy text recorded in a program (no includes).
pub fn parse_attached(text: &str) -> Result<Lists, PolicyError> {
    let mut lists = Lists::default();
    parse_into(&mut lists, &|line| Origin::Attached { line }, "", text, &mut NoFiles, 0)?;
    Ok(lists)
}

fn parse_into(
    lists: &mut Lists,
    origin: &dyn Fn(usize) -> Origin,
    path: &str,
    text: &str,
    files: &mut dyn Files,
    depth: usize,
) -> Result<(), PolicyError> {
    for (index, line) in text.lines().enumerate() {
        let origin = origin(index + 1);
        let error = |kind| PolicyError { origin: origin.clone(), kind };
        if line.len() > MAX_LIST_BYTES {
            return Err(error(ErrorKind::ValueTooLong { len: line.len(), limit: MAX_LIST_BYTES }));
        }
        let line = strip_comment(line).trim();
        let (directive, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        match directive {
            "" => {}
            "allow" => {
                let entries = entries(rest, &origin)?;
                lists.allow.get_or_insert_with(Vec::new).extend(entries);
            }
            "deny" => lists.deny.extend(entries(rest, &origin)?),
            "default-action" => {
                lists.default_action = Some(parse_default_action(Text { origin: &origin, text: rest })?)
            }
            "exact" if rest.is_empty() => lists.switches.exact = true,
            "refuse-i386" if rest.is_empty() => lists.switches.refuse_i386 = true,
            "exact" => return Err(error(ErrorKind::BadDirective("exact takes no argument"))),
            "refuse-i386" => return Err(error(ErrorKind::BadDirective("refuse-i386 takes no argument"))),
            "@include" => {
                if rest.is_empty() {
                    return Err(error(ErrorKind::BadDirective("@include needs a path")));
                }
                if depth + 1 >= MAX_INCLUDE_DEPTH {
                    let reason = format!("includes nest deeper than {MAX_INCLUDE_DEPTH} (is there a cycle?)");
                    return Err(error(ErrorKind::Include { path: rest.to_owned(), reason }));
                }
                let included = join(path, rest);
                let text = files
                    .read(&included)
                    .map_err(|reason| error(ErrorKind::Include { path: rest.to_owned(), reason }))?;
                let file_origin = |line| Origin::File { path: included.clone(), line };
                parse_into(lists, &file_origin, &included, &text, files, depth + 1)?;
            }
            word => return Err(error(ErrorKind::UnknownDirective { word: word.to_owned() })),
        }
    }
    Ok(())
}

/// The line up to a `#` that is not inside parentheses.
fn strip_comment(line: &str) -> &str {
    let mut depth = 0usize;
    for (at, c) in line.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            '#' if depth == 0 => return &line[..at],
            _ => {}
        }
    }
    line
}

/// Splits entries on blanks and `:` outside parentheses, and parses them.
fn entries(text: &str, origin: &Origin) -> Result<Vec<Sourced>, PolicyError> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (at, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ':' | ' ' | '\t' if depth == 0 => {
                items.push(&text[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    items.push(&text[start..]);
    items
        .into_iter()
        .filter(|item| !item.is_empty())
        .map(|item| {
            parse_entry(item)
                .map(|entry| Sourced { origin: origin.clone(), entry })
                .map_err(|kind| PolicyError { origin: origin.clone(), kind })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use alloc::collections::BTreeMap;
    use alloc::string::ToString;

    use super::*;
    use crate::action::Action;
    use crate::resolve::Policy;
    use crate::tables::syscalls::Syscall;
    use crate::text::Switches;

    const ORIGIN: Origin = Origin::Variable(crate::text::variables::POLICY_FILE);

    struct Memory(BTreeMap<&'static str, &'static str>);

    impl Files for Memory {
        fn read(&mut self, path: &str) -> Result<String, String> {
            self.0.get(path).map(|text| (*text).to_owned()).ok_or_else(|| "No such file or directory".to_owned())
        }

        fn host(&mut self) -> Option<oci::Host> {
            None
        }
    }

    fn files(list: &[(&'static str, &'static str)]) -> Memory {
        Memory(list.iter().copied().collect())
    }

    fn action(lists: &Lists, name: &str) -> Action {
        Policy::new(lists.clone()).action_for(Syscall::by_name(name).unwrap())
    }

    #[test]
    fn directives_comments_and_includes() {
        let mut files = files(&[
            (
                "/etc/app.policy",
                "# app\nallow read write  # output\nallow socket(arg0 == AF_UNIX):exit_group\n@include common.policy\n\ndeny uname=ENETDOWN\n",
            ),
            ("/etc/common.policy", "default-action EPERM\nexact\nrefuse-i386\ndeny ptrace\n"),
        ]);
        let lists = parse_file(ORIGIN, "/etc/app.policy", &mut files).unwrap();
        assert_eq!(lists.allow.as_ref().unwrap().len(), 4);
        assert_eq!(lists.deny.len(), 2);
        assert_eq!(lists.default_action, Some(Action::Errno(1)));
        assert_eq!(lists.switches, Switches { exact: true, refuse_i386: true });
        assert_eq!(action(&lists, "read"), Action::Allow);
        assert_eq!(action(&lists, "uname"), Action::Errno(libc::ENETDOWN as u16));
        assert_eq!(action(&lists, "getpid"), Action::Errno(1));
        assert_eq!(lists.deny[0].origin.to_string(), "/etc/common.policy:4");
        assert_eq!(lists.deny[1].origin.to_string(), "/etc/app.policy:6");
    }

    #[test]
    fn an_empty_allow_line_declares_an_allow_list() {
        let lists = parse_file(ORIGIN, "p", &mut files(&[("p", "allow\ndefault-action log\n")])).unwrap();
        assert_eq!(action(&lists, "read"), Action::Log);
    }

    #[test]
    fn every_mistake_names_its_file_and_line() {
        let cases = [
            ("allow read\nalow write\n", "p:2: unknown directive \"alow\""),
            ("deny unmae\n", "p:1: unknown system call \"unmae\" (did you mean \"uname\"?)"),
            ("default-action allow\n", "p:1: \"allow\" would let every violation run"),
            ("exact yes\n", "p:1: exact takes no argument"),
            ("refuse-i386 1\n", "p:1: refuse-i386 takes no argument"),
            ("refuse_i386\n", "p:1: unknown directive \"refuse_i386\""),
            ("@include\n", "p:1: @include needs a path"),
            ("@include missing.policy\n", "p:1: cannot include \"missing.policy\": No such file or directory"),
            ("@include loop\n", "loop:1: cannot include \"loop\": includes nest deeper than 8"),
            ("allow socket(arg0 == AF_INETT)\n", "p:1: bad condition in \"socket(arg0 == AF_INETT)\""),
        ];
        for (text, message) in cases {
            let mut files = files(&[("p", text), ("loop", "@include loop\n")]);
            let error = parse_file(ORIGIN, "p", &mut files).unwrap_err().to_string();
            assert!(error.starts_with(message), "{text:?}: {error}");
        }
        let error = parse_file(ORIGIN, "absent", &mut files(&[])).unwrap_err().to_string();
        assert_eq!(error, "SECCOMP_POLICY_FILE: cannot read \"absent\": No such file or directory");
    }

    #[test]
    fn attached_policies_cannot_include() {
        let error = parse_attached("deny uname\n@include x\n").unwrap_err().to_string();
        assert_eq!(error, "attached policy:2: cannot include \"x\": this policy may not include files");
        assert_eq!(parse_attached("deny uname").unwrap().deny.len(), 1);
    }

    #[test]
    fn includes_are_relative_to_the_including_file() {
        assert_eq!(join("/etc/a/app.policy", "b.policy"), "/etc/a/b.policy");
        assert_eq!(join("/etc/a/app.policy", "/abs.policy"), "/abs.policy");
        assert_eq!(join("app.policy", "b.policy"), "b.policy");
    }
}
