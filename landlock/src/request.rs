//! What the user asked for, parsed and checked against the filesystem:
//! `SANDBOX_FS_RO`, `SANDBOX_FS_RW`, `SANDBOX_FS_DENY`, `SANDBOX_NET_CONNECT`,
//! `SANDBOX_NET_BIND`, `SANDBOX_FS_DEVICES` (or sandboxify's options of the
//! same meaning).

#![forbid(unsafe_code)]

use alloc::borrow::ToOwned;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::ops::RangeInclusive;

use sandbox_policy::text::variables::{self, LandlockVariables};

use crate::fs::{self, Errno};
use crate::path::Path;
use crate::pattern::Pattern;

/// A value and where it came from (a variable or an option), for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setting<'a> {
    /// The variable or option name.
    pub origin: &'static str,
    /// As written.
    pub value: &'a str,
}

/// The settings before parsing: `None` for what was not set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings<'a> {
    /// Trees to read and execute beneath.
    pub read_only: Option<Setting<'a>>,
    /// Trees to also write, create, remove, rename and truncate beneath.
    pub read_write: Option<Setting<'a>>,
    /// Paths or last-component globs carved out of those trees.
    pub deny: Option<Setting<'a>>,
    /// TCP ports to connect to.
    pub connect: Option<Setting<'a>>,
    /// TCP ports to bind.
    pub bind: Option<Setting<'a>>,
    /// With file rules, grant the devices every program expects (see
    /// [`crate::plan::DEVICES`]).
    pub devices: bool,
    /// IP sockets are TCP only (enforced by seccomp: see
    /// [`Settings::seccomp_entries`]).
    pub tcp_only: bool,
    /// Enforce what the kernel can instead of refusing to run.
    pub best_effort: bool,
}

impl Default for Settings<'_> {
    fn default() -> Self {
        Settings {
            read_only: None,
            read_write: None,
            deny: None,
            connect: None,
            bind: None,
            devices: true,
            tcp_only: false,
            best_effort: false,
        }
    }
}

impl<'a> Settings<'a> {
    /// The settings the Landlock variables hold.
    pub fn from_variables(values: &'a LandlockVariables) -> Result<Settings<'a>, RequestError> {
        let setting =
            |origin: &'static str, value: &'a Option<String>| value.as_deref().map(|value| Setting { origin, value });
        Ok(Settings {
            read_only: setting(variables::FS_RO, &values.read_only),
            read_write: setting(variables::FS_RW, &values.read_write),
            deny: setting(variables::FS_DENY, &values.deny),
            connect: setting(variables::NET_CONNECT, &values.connect),
            bind: setting(variables::NET_BIND, &values.bind),
            devices: boolean(variables::FS_DEVICES, values.devices.as_deref(), true)?,
            tcp_only: boolean(variables::NET_TCP_ONLY, values.tcp_only.as_deref(), false)?,
            best_effort: boolean(variables::LANDLOCK_BEST_EFFORT, values.best_effort.as_deref(), false)?,
        })
    }
}

/// What Landlock's TCP port rules leave open and seccomp closes: an MPTCP
/// socket connects and binds on any port (its protocol, 262, gets
/// ENOPROTOOPT, as from a kernel with MPTCP off, and programs fall back to
/// TCP).
const MPTCP: [&str; 2] =
    ["socket(arg0 == AF_INET, arg2 == 262)=ENOPROTOOPT", "socket(arg0 == AF_INET6, arg2 == 262)=ENOPROTOOPT"];

/// What `SANDBOX_NET_TCP_ONLY` refuses (EACCES, as Landlock refuses): IP
/// sockets of every type but stream, stream sockets of another protocol
/// than TCP (SCTP, MPTCP), and packet sockets.
const TCP_ONLY: [&str; 13] = [
    "socket(arg0 == AF_INET, arg1 & 0xf == SOCK_DGRAM)=EACCES",
    "socket(arg0 == AF_INET, arg1 & 0xf == SOCK_RAW)=EACCES",
    "socket(arg0 == AF_INET, arg1 & 0xf == SOCK_RDM)=EACCES",
    "socket(arg0 == AF_INET, arg1 & 0xf == SOCK_SEQPACKET)=EACCES",
    "socket(arg0 == AF_INET, arg1 & 0xf == 10)=EACCES",
    "socket(arg0 == AF_INET, arg1 & 0xf == SOCK_STREAM, arg2 > 6)=EACCES",
    "socket(arg0 == AF_INET6, arg1 & 0xf == SOCK_DGRAM)=EACCES",
    "socket(arg0 == AF_INET6, arg1 & 0xf == SOCK_RAW)=EACCES",
    "socket(arg0 == AF_INET6, arg1 & 0xf == SOCK_RDM)=EACCES",
    "socket(arg0 == AF_INET6, arg1 & 0xf == SOCK_SEQPACKET)=EACCES",
    "socket(arg0 == AF_INET6, arg1 & 0xf == 10)=EACCES",
    "socket(arg0 == AF_INET6, arg1 & 0xf == SOCK_STREAM, arg2 > 6)=EACCES",
    "socket(arg0 == AF_PACKET)=EACCES",
];

impl Settings<'_> {
    /// The seccomp entries these settings need besides Landlock: MPTCP
    /// refused when TCP ports are restricted, and the other IP sockets with
    /// `tcp_only`.
    pub fn seccomp_entries(&self) -> Vec<&'static str> {
        let mut entries = Vec::new();
        if self.connect.is_some() || self.bind.is_some() || self.tcp_only {
            entries.extend(MPTCP);
        }
        if self.tcp_only {
            entries.extend(TCP_ONLY);
        }
        entries
    }
}

/// A `0`/`1` variable: unset or empty means `default`.
fn boolean(origin: &'static str, value: Option<&str>, default: bool) -> Result<bool, RequestError> {
    match value {
        None | Some("") => Ok(default),
        Some("0") => Ok(false),
        Some("1") => Ok(true),
        Some(other) => Err(RequestError::new(origin, RequestErrorKind::NotBoolean(other.to_owned()))),
    }
}

/// A checked request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Whether filesystem access is restricted at all (any `SANDBOX_FS_*` set,
    /// even empty: then nothing is granted).
    pub restricts_files: bool,
    /// Read-only trees, canonical.
    pub read_only: Vec<Path>,
    /// Read-write trees, canonical.
    pub read_write: Vec<Path>,
    /// Carve-outs.
    pub deny: Vec<Denial>,
    /// Ports allowed for `connect`, sorted; `None`: connect not restricted.
    pub connect: Option<Vec<u16>>,
    /// Ports allowed for `bind`, sorted; `None`: bind not restricted.
    pub bind: Option<Vec<u16>>,
    /// See [`Settings::devices`].
    pub devices: bool,
    /// See [`Settings::best_effort`].
    pub best_effort: bool,
}

/// A carve-out: the entries of `directory` whose names match `pattern`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    /// The directory holding the denied entries, canonical.
    pub directory: Path,
    /// Matched against entry names.
    pub pattern: Pattern,
    /// As written, for explanations.
    pub written: String,
}

impl Denial {
    /// Whether the entry `name` of `directory` is denied.
    pub fn denies(&self, directory: &Path, name: &[u8]) -> bool {
        self.directory == *directory && self.pattern.matches(name)
    }

    /// Whether the canonical `path` is denied or lies beneath a denied entry.
    pub fn covers(&self, path: &Path) -> bool {
        path.component_beneath(&self.directory).is_some_and(|first| self.pattern.matches(first))
    }
}

/// Why a request was refused.
#[derive(Debug)]
pub struct RequestError {
    /// The variable or option.
    pub origin: &'static str,
    /// What is wrong.
    pub kind: RequestErrorKind,
}

/// What is wrong with a request.
#[derive(Debug)]
pub enum RequestErrorKind {
    /// Neither absolute nor starting with `~`.
    Relative(String),
    /// `~` without a home directory (an absolute one) to expand it to.
    NoHome(String),
    /// A path that cannot be resolved (a typo must not silently grant or deny nothing).
    Unresolvable {
        /// As written, or the part that could not be resolved.
        path: String,
        /// Why.
        error: Errno,
    },
    /// A carve-out whose parent is not a directory.
    ParentNotDirectory(String),
    /// A carve-out naming (or matching) a symbolic link, which gets no rule
    /// of its own: what it points to stays reachable through its own tree.
    DeniedSymlink {
        /// As written.
        written: String,
        /// The link.
        link: String,
    },
    /// Wildcards outside the last component.
    WildcardNotLast(String),
    /// A bad pattern.
    BadPattern {
        /// As written.
        pattern: String,
        /// Why.
        reason: &'static str,
    },
    /// Denying `/` or `..`: nothing would be left to grant.
    NothingToCarve(String),
    /// Not a port or range of ports.
    BadPort(String),
    /// A `0`/`1` setting with another value.
    NotBoolean(String),
}

// Display by hand rather than with thiserror: see `sandbox_policy`'s error module.
impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.kind)
    }
}

impl fmt::Display for RequestErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestErrorKind::Relative(path) => write!(f, "\"{path}\" is not an absolute path (start it with / or ~)"),
            RequestErrorKind::NoHome(path) => {
                write!(f, "cannot expand \"{path}\": HOME is not set, or not an absolute path")
            }
            RequestErrorKind::Unresolvable { path, error } => write!(f, "{path}: {error}"),
            RequestErrorKind::ParentNotDirectory(path) => {
                write!(f, "{path}: the parent of a denied entry must be a directory")
            }
            RequestErrorKind::DeniedSymlink { written, link } => write!(
                f,
                "\"{written}\" denies the symbolic link {link}, which would deny nothing (what it points to stays \
                 reachable by its own path): deny the link's target"
            ),
            RequestErrorKind::WildcardNotLast(path) => {
                write!(f, "\"{path}\": wildcards are only allowed in the last component")
            }
            RequestErrorKind::BadPattern { pattern, reason } => write!(f, "\"{pattern}\": {reason}"),
            RequestErrorKind::NothingToCarve(path) => {
                write!(f, "\"{path}\" cannot be denied: deny entries name entries of a directory")
            }
            RequestErrorKind::BadPort(port) => {
                write!(f, "bad port \"{port}\": expected a number from 0 to 65535 or a range A-B")
            }
            RequestErrorKind::NotBoolean(value) => write!(f, "\"{value}\": expected 0 or 1"),
        }
    }
}

impl core::error::Error for RequestError {}

impl RequestError {
    fn new(origin: &'static str, kind: RequestErrorKind) -> RequestError {
        RequestError { origin, kind }
    }
}

impl Request {
    /// Parses and checks `settings`, expanding `~` to `home`. `Ok(None)`:
    /// nothing asked for.
    pub fn new(settings: &Settings<'_>, home: Option<&Path>) -> Result<Option<Request>, RequestError> {
        let restricts_files = settings.read_only.is_some() || settings.read_write.is_some() || settings.deny.is_some();
        if !restricts_files && settings.connect.is_none() && settings.bind.is_none() {
            return Ok(None);
        }
        let trees = |setting: Option<Setting<'_>>| -> Result<Vec<Path>, RequestError> {
            let Some(setting) = setting else { return Ok(Vec::new()) };
            items(setting.value)
                .map(|item| {
                    let path = expand(item, home).map_err(|kind| RequestError::new(setting.origin, kind))?;
                    fs::canonicalize(&path).map_err(|error| {
                        RequestError::new(
                            setting.origin,
                            RequestErrorKind::Unresolvable { path: item.to_owned(), error },
                        )
                    })
                })
                .collect()
        };
        let ports = |setting: Option<Setting<'_>>| -> Result<Option<Vec<u16>>, RequestError> {
            let Some(setting) = setting else { return Ok(None) };
            let mut ports = Vec::new();
            for item in items(setting.value) {
                let range = port_range(item)
                    .ok_or_else(|| RequestError::new(setting.origin, RequestErrorKind::BadPort(item.to_owned())))?;
                ports.extend(range);
            }
            ports.sort_unstable();
            ports.dedup();
            Ok(Some(ports))
        };
        let deny = match settings.deny {
            Some(setting) => items(setting.value)
                .map(|item| denial(item, home).map_err(|kind| RequestError::new(setting.origin, kind)))
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        Ok(Some(Request {
            restricts_files,
            read_only: trees(settings.read_only)?,
            read_write: trees(settings.read_write)?,
            deny,
            connect: ports(settings.connect)?,
            bind: ports(settings.bind)?,
            devices: settings.devices,
            best_effort: settings.best_effort,
        }))
    }
}

/// The `:`-separated items of a value; empty items and surrounding blanks
/// are ignored, as in the seccomp lists.
fn items(value: &str) -> impl Iterator<Item = &str> {
    value.split(':').map(str::trim).filter(|item| !item.is_empty())
}

/// `~` and `~/...` expanded; anything else must be absolute.
fn expand(item: &str, home: Option<&Path>) -> Result<Path, RequestErrorKind> {
    let rest = match item.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest.trim_start_matches('/'),
        _ if item.starts_with('/') => return Ok(Path::from(item)),
        _ => return Err(RequestErrorKind::Relative(item.to_owned())),
    };
    // An empty or relative HOME would make `~/etc` `/etc`, or a path under
    // the working directory: not what was meant.
    let home = home
        .filter(|home| home.as_bytes().starts_with(b"/"))
        .ok_or_else(|| RequestErrorKind::NoHome(item.to_owned()))?;
    Ok(if rest.is_empty() { home.clone() } else { home.join(rest.as_bytes()) })
}

fn denial(item: &str, home: Option<&Path>) -> Result<Denial, RequestErrorKind> {
    let path = expand(item, home)?;
    let Some((parent, name)) = path.split_last() else {
        return Err(RequestErrorKind::NothingToCarve(item.to_owned()));
    };
    if parent.as_bytes().iter().any(|byte| b"*?[".contains(byte)) {
        return Err(RequestErrorKind::WildcardNotLast(item.to_owned()));
    }
    let pattern = Pattern::new(name)
        .map_err(|error| RequestErrorKind::BadPattern { pattern: item.to_owned(), reason: error.reason() })?;
    let unresolvable = |error| RequestErrorKind::Unresolvable { path: parent.to_string(), error };
    let directory = fs::canonicalize(&parent).map_err(unresolvable)?;
    if !fs::is_dir(&directory).map_err(unresolvable)? {
        return Err(RequestErrorKind::ParentNotDirectory(item.to_owned()));
    }
    // A link gets no rule (see `plan`): denying one would deny nothing. A
    // name without wildcards that is not there is most likely a typo, which
    // must not leave what was meant reachable.
    let entries =
        fs::list(&directory).map_err(|error| RequestErrorKind::Unresolvable { path: directory.to_string(), error })?;
    let matched: Vec<&fs::Entry> = entries.iter().filter(|entry| pattern.matches(&entry.name)).collect();
    if let Some(link) = matched.iter().find(|entry| entry.symlink) {
        let link = directory.join(&link.name).to_string();
        return Err(RequestErrorKind::DeniedSymlink { written: item.to_owned(), link });
    }
    let literal = !name.iter().any(|byte| b"*?[".contains(byte));
    if literal && matched.is_empty() {
        return Err(RequestErrorKind::Unresolvable { path: item.to_owned(), error: Errno(libc::ENOENT) });
    }
    Ok(Denial { directory, pattern, written: item.to_owned() })
}

/// `N` or `A-B` (inclusive).
fn port_range(item: &str) -> Option<RangeInclusive<u16>> {
    let (first, last) = item.split_once('-').unwrap_or((item, item));
    let parse =
        |text: &str| text.trim().parse::<u16>().ok().filter(|_| text.trim().bytes().all(|b| b.is_ascii_digit()));
    let (first, last) = (parse(first)?, parse(last)?);
    (first <= last).then_some(first..=last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(
        read_only: Option<&'static str>,
        deny: Option<&'static str>,
        connect: Option<&'static str>,
    ) -> Settings<'static> {
        let setting = |origin, value: Option<&'static str>| value.map(|value| Setting { origin, value });
        Settings {
            read_only: setting("RO", read_only),
            deny: setting("DENY", deny),
            connect: setting("CONNECT", connect),
            ..Settings::default()
        }
    }

    #[test]
    fn nothing_asked_is_none() {
        assert!(Request::new(&Settings::default(), None).unwrap().is_none());
    }

    #[test]
    fn empty_values_still_restrict() {
        let request = Request::new(&settings(Some(""), None, None), None).unwrap().unwrap();
        assert!(request.restricts_files);
        assert!(request.read_only.is_empty());
        let request = Request::new(&settings(None, None, Some(" : ")), None).unwrap().unwrap();
        assert!(!request.restricts_files);
        assert_eq!(request.connect, Some(Vec::new()));
    }

    #[test]
    fn paths_expand_and_resolve() {
        let request =
            Request::new(&settings(Some("~/:/usr/./bin/:"), None, None), Some(&Path::from("/tmp"))).unwrap().unwrap();
        assert_eq!(request.read_only, [Path::from("/tmp"), Path::from("/usr/bin")]);
    }

    #[test]
    fn bad_paths_are_refused_with_their_origin() {
        for (value, home, expected) in [
            ("usr", None, "RO: \"usr\" is not an absolute path (start it with / or ~)"),
            ("~user/x", Some("/tmp"), "RO: \"~user/x\" is not an absolute path (start it with / or ~)"),
            ("~/x", None, "RO: cannot expand \"~/x\": HOME is not set, or not an absolute path"),
            // Once a bug (fixed): an empty HOME made `~/etc` `/etc`.
            ("~/etc", Some(""), "RO: cannot expand \"~/etc\": HOME is not set, or not an absolute path"),
            ("~", Some("home/me"), "RO: cannot expand \"~\": HOME is not set, or not an absolute path"),
            ("/nonexistent/x", None, "RO: /nonexistent/x: ENOENT (No such file or directory)"),
        ] {
            let home = home.map(Path::from);
            let error = Request::new(&settings(Some(value), None, None), home.as_ref()).unwrap_err();
            assert_eq!(error.to_string(), expected);
        }
    }

    #[test]
    fn denials_take_a_glob_in_the_last_component_only() {
        let request = Request::new(&settings(None, Some("/etc/pass*:/etc/shadow"), None), None).unwrap().unwrap();
        assert!(request.deny[0].denies(&Path::from("/etc"), b"passwd"));
        assert!(!request.deny[0].denies(&Path::from("/etc"), b"group"));
        assert!(request.deny[1].covers(&Path::from("/etc/shadow")));
        assert!(request.deny[0].covers(&Path::from("/etc/passwd-/x")));
        assert!(!request.deny[0].covers(&Path::from("/etc")));
        for (value, expected) in [
            ("/et*/passwd", "DENY: \"/et*/passwd\": wildcards are only allowed in the last component"),
            ("/", "DENY: \"/\" cannot be denied: deny entries name entries of a directory"),
            ("/etc/..", "DENY: \"/etc/..\" cannot be denied: deny entries name entries of a directory"),
            ("/etc/[x", "DENY: \"/etc/[x\": a [ without its ] (write [[] for a literal [)"),
            ("/nonexistent/x", "DENY: /nonexistent: ENOENT (No such file or directory)"),
            ("/etc/passwd/x", "DENY: /etc/passwd/x: the parent of a denied entry must be a directory"),
        ] {
            let error = Request::new(&settings(None, Some(value), None), None).unwrap_err();
            assert_eq!(error.to_string(), expected, "{value}");
        }
    }

    #[test]
    fn ports_and_ranges() {
        let request = Request::new(&settings(None, None, Some("443:80:8000-8002:80")), None).unwrap().unwrap();
        assert_eq!(request.connect, Some(alloc::vec![80, 443, 8000, 8001, 8002]));
        for bad in ["http", "65536", "-1", "10-5", "1-", "+80", "8 0"] {
            let error = Request::new(&settings(None, None, Some(bad)), None).unwrap_err();
            assert_eq!(
                error.to_string(),
                alloc::format!("CONNECT: bad port \"{bad}\": expected a number from 0 to 65535 or a range A-B"),
            );
        }
    }

    #[test]
    fn switches_are_zero_or_one() {
        let values = LandlockVariables { best_effort: Some("yes".into()), ..LandlockVariables::default() };
        let error = Settings::from_variables(&values).unwrap_err();
        assert_eq!(error.to_string(), "SANDBOX_LANDLOCK_BEST_EFFORT: \"yes\": expected 0 or 1");
        let values = LandlockVariables { devices: Some("no".into()), ..LandlockVariables::default() };
        let error = Settings::from_variables(&values).unwrap_err();
        assert_eq!(error.to_string(), "SANDBOX_FS_DEVICES: \"no\": expected 0 or 1");
        let values = LandlockVariables { devices: Some("0".into()), ..LandlockVariables::default() };
        assert!(!Settings::from_variables(&values).unwrap().devices);
        assert!(Settings::from_variables(&LandlockVariables::default()).unwrap().devices);
    }
}
