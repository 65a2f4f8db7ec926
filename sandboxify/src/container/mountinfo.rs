//! The lines of `/proc/self/mountinfo` (proc_pid_mountinfo(5)), which the
//! cgroup lookup and the new root both read.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

/// One mount, with the fields sandboxify reads.
#[derive(Debug, PartialEq, Eq)]
pub struct MountEntry<'a> {
    /// The directory of its file system that is mounted (`/` for all of it).
    pub root: PathBuf,
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// The file system type (`proc`, `cgroup2`...).
    pub fstype: &'a str,
    /// The file system's own options (a cgroup v1 hierarchy's controllers).
    pub super_options: &'a str,
}

/// The mounts of `mountinfo`, in its order; malformed lines are skipped.
pub fn entries(mountinfo: &str) -> impl Iterator<Item = MountEntry<'_>> {
    mountinfo.lines().filter_map(|line| {
        // ID PARENT MAJ:MIN ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER-OPTIONS
        let (fields, after) = line.split_once(" - ")?;
        let mut after = after.split(' ');
        let (fstype, super_options) = (after.next()?, after.nth(1).unwrap_or(""));
        let mut fields = fields.split(' ');
        let root = unescape(fields.nth(3)?);
        let mount_point = unescape(fields.next()?);
        Some(MountEntry { root, mount_point, fstype, super_options })
    })
}

/// A path field, whose blanks and backslashes are octal escapes (`\040`);
/// the bytes it stands for need not be UTF-8.
fn unescape(field: &str) -> PathBuf {
    let bytes = field.as_bytes();
    let mut path = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let code = bytes
            .get(index + 1..index + 4)
            .and_then(|digits| u8::from_str_radix(std::str::from_utf8(digits).ok()?, 8).ok());
        match (bytes[index], code) {
            (b'\\', Some(code)) => {
                path.push(code);
                index += 4;
            }
            (byte, _) => {
                path.push(byte);
                index += 1;
            }
        }
    }
    PathBuf::from(OsString::from_vec(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_path_fields() {
        assert_eq!(unescape(r"/a\040b\134c"), PathBuf::from(r"/a b\c"));
        assert_eq!(unescape(r"/trailing\"), PathBuf::from(r"/trailing\"));
        assert_eq!(unescape(r"/\377"), PathBuf::from(OsString::from_vec(b"/\xff".to_vec())));
    }

    #[test]
    fn reads_the_fields_around_optional_ones() {
        let line = r"30 23 0:26 /a /mnt/my\040dir rw,nosuid shared:9 master:2 - cgroup cgroup rw,cpu,cpuacct";
        let entry = entries(line).next().unwrap();
        assert_eq!(entry.root, PathBuf::from("/a"));
        assert_eq!(entry.mount_point, PathBuf::from("/mnt/my dir"));
        assert_eq!((entry.fstype, entry.super_options), ("cgroup", "rw,cpu,cpuacct"));
        assert_eq!(entries("garbage\n").count(), 0);
    }
}
