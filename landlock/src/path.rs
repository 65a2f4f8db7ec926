//! Paths as the kernel takes and gives them: bytes, UTF-8 or not.

#![forbid(unsafe_code)]

use alloc::borrow::Cow;
use alloc::ffi::CString;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// A path as bytes. Directory entries need not be UTF-8, and a grant must
/// open the entry it names, not a lossy copy of its name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Path(Vec<u8>);

impl Path {
    /// The path made of `bytes`.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Path {
        Path(bytes.into())
    }

    /// The path's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// `self/name`.
    pub fn join(&self, name: &[u8]) -> Path {
        let mut joined = self.0.clone();
        if !joined.ends_with(b"/") {
            joined.push(b'/');
        }
        joined.extend_from_slice(name);
        Path(joined)
    }

    /// The directory and the last component, trailing slashes aside: `None`
    /// for `/`, a path without a slash, or a last component of `.` or `..`.
    pub fn split_last(&self) -> Option<(Path, &[u8])> {
        let trimmed = self.0.iter().rposition(|&byte| byte != b'/').map(|last| &self.0[..=last])?;
        let slash = trimmed.iter().rposition(|&byte| byte == b'/')?;
        let name = &trimmed[slash + 1..];
        if name == b"." || name == b".." {
            return None;
        }
        let parent = if slash == 0 { b"/".as_slice() } else { &trimmed[..slash] };
        Some((Path::new(parent), name))
    }

    /// The component of `self` right beneath `base`: `Some` when `self` lies
    /// strictly beneath `base`. Both must be canonical.
    pub fn component_beneath(&self, base: &Path) -> Option<&[u8]> {
        let rest = self.0.strip_prefix(base.0.as_slice())?;
        let rest = if base.0.ends_with(b"/") { rest } else { rest.strip_prefix(b"/")? };
        rest.split(|&byte| byte == b'/').next().filter(|first| !first.is_empty())
    }

    /// Whether `self` is `base` or lies beneath it. Both must be canonical.
    pub fn starts_with(&self, base: &Path) -> bool {
        self == base || self.component_beneath(base).is_some()
    }

    /// The path as a C string; `None` if it holds a NUL byte.
    pub fn to_c_string(&self) -> Option<CString> {
        CString::new(self.0.clone()).ok()
    }

    /// The path as text, with anything that is not UTF-8 replaced.
    pub fn lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lossy())
    }
}

impl From<&str> for Path {
    fn from(text: &str) -> Path {
        Path::new(text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_without_doubling_slashes() {
        assert_eq!(Path::from("/").join(b"etc"), Path::from("/etc"));
        assert_eq!(Path::from("/etc").join(b"passwd"), Path::from("/etc/passwd"));
    }

    #[test]
    fn splits_off_the_last_component() {
        let split =
            |text: &str| Path::from(text).split_last().map(|(parent, name)| (parent.to_string(), name.to_vec()));
        assert_eq!(split("/etc/passwd"), Some(("/etc".into(), b"passwd".to_vec())));
        assert_eq!(split("/etc/"), Some(("/".into(), b"etc".to_vec())));
        assert_eq!(split("/a/b*//"), Some(("/a".into(), b"b*".to_vec())));
        for none in ["/", "//", "etc", "/etc/..", "/etc/."] {
            assert_eq!(split(none), None, "{none}");
        }
    }

    #[test]
    fn components_beneath_are_whole_components() {
        let beneath =
            |path: &str, base: &str| Path::from(path).component_beneath(&Path::from(base)).map(<[u8]>::to_vec);
        assert_eq!(beneath("/etc/ssh/x", "/etc"), Some(b"ssh".to_vec()));
        assert_eq!(beneath("/etc/ssh", "/"), Some(b"etc".to_vec()));
        assert_eq!(beneath("/etcetera", "/etc"), None);
        assert_eq!(beneath("/etc", "/etc"), None);
        assert!(Path::from("/etc").starts_with(&Path::from("/etc")));
        assert!(Path::from("/etc/a").starts_with(&Path::from("/")));
        assert!(!Path::from("/etcetera").starts_with(&Path::from("/etc")));
    }
}
