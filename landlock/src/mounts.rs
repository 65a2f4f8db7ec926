//! Where a path is in its file system, from `/proc/self/mountinfo`: what
//! tells a bind mount of a directory from the directory itself.

use alloc::vec::Vec;

use crate::fs::{self, Errno};
use crate::path::Path;

/// A mount: its file system (`major:minor`), the directory of that file
/// system it shows (`root`), and where.
#[derive(Debug)]
pub struct Mount {
    device: Vec<u8>,
    root: Path,
    point: Path,
}

/// The mounts of this process's namespace, in the kernel's order (a later
/// mount on the same point covers an earlier one).
pub fn mounts() -> Result<Vec<Mount>, Errno> {
    let text = fs::read(&Path::from("/proc/self/mountinfo"))?;
    let mounts = text
        .split(|&byte| byte == b'\n')
        .filter_map(|line| {
            let mut fields = line.split(|&byte| byte == b' ');
            let (_, _, device) = (fields.next()?, fields.next()?, fields.next()?);
            let (root, point) = (fields.next()?, fields.next()?);
            Some(Mount { device: device.to_vec(), root: Path::new(unescape(root)), point: Path::new(unescape(point)) })
        })
        .collect();
    Ok(mounts)
}

/// mountinfo's octal escapes (`\040` for a space) undone.
fn unescape(field: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(field.len());
    let mut at = 0;
    while at < field.len() {
        let digits = field.get(at + 1..at + 4).filter(|digits| digits.iter().all(|d| (b'0'..=b'7').contains(d)));
        match (field[at], digits) {
            (b'\\', Some(digits)) => {
                bytes.push(digits.iter().fold(0u8, |value, digit| value.wrapping_mul(8) + (digit - b'0')));
                at += 4;
            }
            (byte, _) => {
                bytes.push(byte);
                at += 1;
            }
        }
    }
    bytes
}

/// Where the canonical `path` is: its file system and its path there (of
/// the mounts on the longest matching point, the last, which covers the others).
pub fn locate<'a>(mounts: &'a [Mount], path: &Path) -> Option<(&'a [u8], Path)> {
    let mount = mounts
        .iter()
        .filter(|mount| path.starts_with(&mount.point))
        .max_by_key(|mount| mount.point.as_bytes().len())?;
    let mut located = mount.root.clone();
    let rest = &path.as_bytes()[mount.point.as_bytes().len()..];
    for component in rest.split(|&byte| byte == b'/').filter(|component| !component.is_empty()) {
        located = located.join(component);
    }
    Some((&mount.device, located))
}

/// The mount points that show `directory` or something beneath it
/// elsewhere than beneath `directory`'s own path: bind mounts of it or of
/// its parts.
pub fn elsewhere(mounts: &[Mount], directory: &Path) -> Vec<Path> {
    let Some((device, located)) = locate(mounts, directory) else { return Vec::new() };
    mounts
        .iter()
        .filter(|mount| mount.device == device && mount.root.starts_with(&located))
        .filter(|mount| !mount.point.starts_with(directory))
        .map(|mount| mount.point.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(device: &str, root: &str, point: &str) -> Mount {
        Mount { device: device.as_bytes().to_vec(), root: Path::from(root), point: Path::from(point) }
    }

    #[test]
    fn binds_of_a_directory_or_its_parts_are_found_by_their_root() {
        let mounts = [
            mount("8:1", "/", "/"),
            mount("8:2", "/", "/home"),
            mount("8:2", "/u/.ssh", "/mnt/keys"),
            mount("8:2", "/u/.ssh/sub", "/srv/sub"),
            mount("8:2", "/u", "/home/u"),
            mount("8:1", "/u/.ssh", "/mnt/other-device"),
        ];
        let ssh = Path::from("/home/u/.ssh");
        assert_eq!(locate(&mounts, &ssh), Some(("8:2".as_bytes(), Path::from("/u/.ssh"))));
        assert_eq!(elsewhere(&mounts, &ssh), [Path::from("/mnt/keys"), Path::from("/srv/sub")]);
        assert_eq!(unescape(br"/a\040b\134c"), b"/a b\\c");
        // A later mount on the same point covers the earlier one.
        let covered = [mount("8:1", "/", "/"), mount("8:1", "/", "/data"), mount("8:3", "/x", "/data")];
        assert_eq!(locate(&covered, &Path::from("/data/f")), Some(("8:3".as_bytes(), Path::from("/x/f"))));
    }
}
