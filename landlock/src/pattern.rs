//! Shell-style patterns for the last component of a carve-out
//! (`~/.ssh/id_rsa*`), matched by libc's `fnmatch(3)`: `*`, `?`, `[...]`,
//! `[!...]`, and `\` to take the next character literally. A `[` without
//! its `]`, which `fnmatch` would quietly take literally, is refused.

use alloc::ffi::CString;

/// A checked pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern(CString);

/// Why a pattern was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatternError {
    /// A `[` that no `]` closes.
    UnclosedBracket,
    /// A NUL byte, which no name holds.
    Nul,
}

impl PatternError {
    /// What is wrong, for messages.
    pub fn reason(self) -> &'static str {
        match self {
            PatternError::UnclosedBracket => "a [ without its ] (write [[] for a literal [)",
            PatternError::Nul => "a NUL byte",
        }
    }
}

impl Pattern {
    /// Checks the pattern `bytes`.
    pub fn new(bytes: &[u8]) -> Result<Pattern, PatternError> {
        let mut index = 0;
        while index < bytes.len() {
            match bytes[index] {
                b'\\' => index += 1,
                b'[' => index = closing_bracket(bytes, index).ok_or(PatternError::UnclosedBracket)?,
                _ => {}
            }
            index += 1;
        }
        CString::new(bytes).map(Pattern).map_err(|_| PatternError::Nul)
    }

    /// Whether the directory entry `name` matches.
    pub fn matches(&self, name: &[u8]) -> bool {
        let Ok(name) = CString::new(name) else { return false };
        // SAFETY: fnmatch reads two NUL-terminated strings.
        unsafe { libc::fnmatch(self.0.as_ptr(), name.as_ptr(), 0) == 0 }
    }
}

/// The index of the `]` that closes the bracket expression opening at
/// `open`: a `]` right after `[` or `[!` (or `[^`) is a member, not the end.
fn closing_bracket(bytes: &[u8], open: usize) -> Option<usize> {
    let mut index = open + 1;
    if matches!(bytes.get(index), Some(b'!' | b'^')) {
        index += 1;
    }
    if bytes.get(index) == Some(&b']') {
        index += 1;
    }
    bytes[index.min(bytes.len())..].iter().position(|&byte| byte == b']').map(|offset| index + offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_as_the_shell_does() {
        let pattern = Pattern::new(b"id_rsa*").unwrap();
        assert!(pattern.matches(b"id_rsa"));
        assert!(pattern.matches(b"id_rsa.pub"));
        assert!(!pattern.matches(b"config"));
        assert!(Pattern::new(b"[!a]?").unwrap().matches(b"bc"));
        assert!(!Pattern::new(b"[!a]?").unwrap().matches(b"ac"));
        assert!(Pattern::new(b"[]x]").unwrap().matches(b"]"));
        assert!(Pattern::new(b"\\*").unwrap().matches(b"*"));
        assert!(!Pattern::new(b"\\*").unwrap().matches(b"a"));
        assert!(Pattern::new(b"*").unwrap().matches(b".hidden"));
        assert!(Pattern::new(b"[[]x").unwrap().matches(b"[x"));
    }

    #[test]
    fn an_unclosed_bracket_is_refused() {
        for bad in ["[x", "a[", "[!]", "[]"] {
            assert_eq!(Pattern::new(bad.as_bytes()), Err(PatternError::UnclosedBracket), "{bad}");
        }
        assert!(Pattern::new(b"\\[x").is_ok());
    }
}
