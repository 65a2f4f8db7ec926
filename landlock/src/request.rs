//! What the user asked for, parsed and checked against the filesystem:
//! `SANDBOX_FS_RO`, `SANDBOX_FS_RW`, `SANDBOX_FS_DENY`, `SANDBOX_NET_CONNECT`,
//! `SANDBOX_NET_BIND` (or sandboxify's options of the same meaning).

use std::io;
use std::path::{Component, Path, PathBuf};

use glob::Pattern;
use sandbox_policy::variables;
use thiserror::Error;

/// A value and where it came from (a variable or an option), for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setting<'a> {
    /// The variable or option name.
    pub origin: &'static str,
    /// As written.
    pub value: &'a str,
}

/// The settings before parsing: `None` for what was not set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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
    /// Enforce what the kernel can instead of refusing to run.
    pub best_effort: bool,
}

impl<'a> Settings<'a> {
    /// The settings held by the Landlock variables, in the order of
    /// [`variables::LANDLOCK`].
    pub fn from_variables(values: &'a [Option<String>; 6]) -> Result<Settings<'a>, RequestError> {
        let setting =
            |index: usize| values[index].as_deref().map(|value| Setting { origin: variables::LANDLOCK[index], value });
        let best_effort = match values[5].as_deref() {
            None | Some("") | Some("0") => false,
            Some("1") => true,
            Some(other) => {
                return Err(RequestError {
                    origin: variables::LANDLOCK_BEST_EFFORT,
                    kind: RequestErrorKind::NotBoolean(other.to_owned()),
                });
            }
        };
        Ok(Settings {
            read_only: setting(0),
            read_write: setting(1),
            deny: setting(2),
            connect: setting(3),
            bind: setting(4),
            best_effort,
        })
    }
}

/// A checked request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Whether filesystem access is restricted at all (any `SANDBOX_FS_*` set,
    /// even empty: then nothing is granted).
    pub restricts_files: bool,
    /// Read-only trees, canonical.
    pub read_only: Vec<PathBuf>,
    /// Read-write trees, canonical.
    pub read_write: Vec<PathBuf>,
    /// Carve-outs.
    pub deny: Vec<Denial>,
    /// Ports allowed for `connect`, sorted; `None`: connect not restricted.
    pub connect: Option<Vec<u16>>,
    /// Ports allowed for `bind`, sorted; `None`: bind not restricted.
    pub bind: Option<Vec<u16>>,
    /// See [`Settings::best_effort`].
    pub best_effort: bool,
}

/// A carve-out: the entries of `directory` whose names match `pattern`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    /// The directory holding the denied entries, canonical.
    pub directory: PathBuf,
    /// Matched against entry names (`*`, `?`, `[...]`).
    pub pattern: Pattern,
    /// As written, for explanations.
    pub written: String,
}

impl Denial {
    /// Whether the entry `name` of `directory` is denied.
    pub fn denies(&self, directory: &Path, name: &str) -> bool {
        self.directory == directory && self.pattern.matches(name)
    }

    /// Whether `path` is denied or lies beneath a denied entry.
    pub fn covers(&self, path: &Path) -> bool {
        let Ok(rest) = path.strip_prefix(&self.directory) else { return false };
        rest.components().next().is_some_and(|first| self.pattern.matches(&first.as_os_str().to_string_lossy()))
    }
}

/// Why a request was refused.
#[derive(Debug, Error)]
#[error("{origin}: {kind}")]
pub struct RequestError {
    /// The variable or option.
    pub origin: &'static str,
    /// What is wrong.
    pub kind: RequestErrorKind,
}

/// What is wrong with a request.
#[derive(Debug, Error)]
pub enum RequestErrorKind {
    /// Neither absolute nor starting with `~`.
    #[error("\"{0}\" is not an absolute path (start it with / or ~)")]
    Relative(String),
    /// `~` without a home directory to expand it to.
    #[error("cannot expand \"{0}\": HOME is not set")]
    NoHome(String),
    /// A path that cannot be resolved (a typo must not silently grant or deny nothing).
    #[error("{path}: {error}")]
    Unresolvable {
        /// As written.
        path: String,
        /// Why.
        error: io::Error,
    },
    /// A carve-out whose parent is not a directory.
    #[error("{0}: the parent of a denied entry must be a directory")]
    ParentNotDirectory(String),
    /// Wildcards outside the last component.
    #[error("\"{0}\": wildcards are only allowed in the last component")]
    WildcardNotLast(String),
    /// A bad glob.
    #[error("\"{pattern}\": {reason}")]
    BadPattern {
        /// As written.
        pattern: String,
        /// Why.
        reason: &'static str,
    },
    /// Denying `/` or `..`: nothing would be left to grant.
    #[error("\"{0}\" cannot be denied: deny entries name entries of a directory")]
    NothingToCarve(String),
    /// Not a port or range of ports.
    #[error("bad port \"{0}\": expected a number from 0 to 65535 or a range A-B")]
    BadPort(String),
    /// A `0`/`1` setting with another value.
    #[error("\"{0}\": expected 0 or 1")]
    NotBoolean(String),
}

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
        let trees = |setting: Option<Setting<'_>>| -> Result<Vec<PathBuf>, RequestError> {
            let Some(setting) = setting else { return Ok(Vec::new()) };
            items(setting.value)
                .map(|item| {
                    let path = expand(item, home).map_err(|kind| RequestError::new(setting.origin, kind))?;
                    path.canonicalize().map_err(|error| {
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
fn expand(item: &str, home: Option<&Path>) -> Result<PathBuf, RequestErrorKind> {
    let rest = match item.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest.trim_start_matches('/'),
        _ if item.starts_with('/') => return Ok(PathBuf::from(item)),
        _ => return Err(RequestErrorKind::Relative(item.to_owned())),
    };
    let home = home.ok_or_else(|| RequestErrorKind::NoHome(item.to_owned()))?;
    Ok(home.join(rest))
}

fn denial(item: &str, home: Option<&Path>) -> Result<Denial, RequestErrorKind> {
    let path = expand(item, home)?;
    let (Some(parent), Some(Component::Normal(name))) = (path.parent(), path.components().next_back()) else {
        return Err(RequestErrorKind::NothingToCarve(item.to_owned()));
    };
    if parent.to_string_lossy().contains(['*', '?', '[']) {
        return Err(RequestErrorKind::WildcardNotLast(item.to_owned()));
    }
    let name = name.to_string_lossy();
    let pattern = Pattern::new(&name)
        .map_err(|error| RequestErrorKind::BadPattern { pattern: item.to_owned(), reason: error.msg })?;
    let directory = parent
        .canonicalize()
        .map_err(|error| RequestErrorKind::Unresolvable { path: parent.display().to_string(), error })?;
    if !directory.is_dir() {
        return Err(RequestErrorKind::ParentNotDirectory(item.to_owned()));
    }
    Ok(Denial { directory, pattern, written: item.to_owned() })
}

/// `N` or `A-B` (inclusive).
fn port_range(item: &str) -> Option<std::ops::RangeInclusive<u16>> {
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
            Request::new(&settings(Some("~/:/usr/./bin/:"), None, None), Some(Path::new("/tmp"))).unwrap().unwrap();
        assert_eq!(request.read_only, [PathBuf::from("/tmp"), PathBuf::from("/usr/bin")]);
    }

    #[test]
    fn bad_paths_are_refused_with_their_origin() {
        for (value, home, expected) in [
            ("usr", None, "RO: \"usr\" is not an absolute path (start it with / or ~)"),
            ("~user/x", Some("/tmp"), "RO: \"~user/x\" is not an absolute path (start it with / or ~)"),
            ("~/x", None, "RO: cannot expand \"~/x\": HOME is not set"),
            ("/nonexistent/x", None, "RO: /nonexistent/x: No such file or directory (os error 2)"),
        ] {
            let error = Request::new(&settings(Some(value), None, None), home.map(Path::new)).unwrap_err();
            assert_eq!(error.to_string(), expected);
        }
    }

    #[test]
    fn denials_take_a_glob_in_the_last_component_only() {
        let request = Request::new(&settings(None, Some("/etc/pass*:/etc/shadow"), None), None).unwrap().unwrap();
        assert!(request.deny[0].denies(Path::new("/etc"), "passwd"));
        assert!(!request.deny[0].denies(Path::new("/etc"), "group"));
        assert!(request.deny[1].covers(Path::new("/etc/shadow")));
        assert!(request.deny[0].covers(Path::new("/etc/passwd-/x")));
        assert!(!request.deny[0].covers(Path::new("/etc")));
        for (value, expected) in [
            ("/et*/passwd", "DENY: \"/et*/passwd\": wildcards are only allowed in the last component"),
            ("/", "DENY: \"/\" cannot be denied: deny entries name entries of a directory"),
            ("/etc/[x", "DENY: \"/etc/[x\": invalid range pattern"),
            ("/nonexistent/x", "DENY: /nonexistent: No such file or directory (os error 2)"),
            ("/etc/passwd/x", "DENY: /etc/passwd/x: the parent of a denied entry must be a directory"),
        ] {
            let error = Request::new(&settings(None, Some(value), None), None).unwrap_err();
            assert_eq!(error.to_string(), expected, "{value}");
        }
    }

    #[test]
    fn ports_and_ranges() {
        let request = Request::new(&settings(None, None, Some("443:80:8000-8002:80")), None).unwrap().unwrap();
        assert_eq!(request.connect, Some(vec![80, 443, 8000, 8001, 8002]));
        for bad in ["http", "65536", "-1", "10-5", "1-", "+80", "8 0"] {
            let error = Request::new(&settings(None, None, Some(bad)), None).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("CONNECT: bad port \"{bad}\": expected a number from 0 to 65535 or a range A-B"),
            );
        }
    }

    #[test]
    fn best_effort_is_zero_or_one() {
        let values: [Option<String>; 6] = [None, None, None, None, None, Some("yes".into())];
        let error = Settings::from_variables(&values).unwrap_err();
        assert_eq!(error.to_string(), "SANDBOX_LANDLOCK_BEST_EFFORT: \"yes\": expected 0 or 1");
    }
}
