//! The few filesystem reads planning needs, through libc: the library that
//! applies the rules runs before libc's own initialisation and without std
//! (see the crate documentation).

use alloc::vec::Vec;
use core::ffi::CStr;

pub use sandbox_policy::sys::Errno;

use crate::path::Path;

/// An open descriptor, closed when dropped.
#[derive(Debug)]
pub struct Fd(libc::c_int);

impl Fd {
    /// Takes ownership of the open descriptor `fd`.
    pub fn from_raw(fd: libc::c_int) -> Fd {
        Fd(fd)
    }

    /// The descriptor number, valid while `self` lives.
    pub fn raw(&self) -> libc::c_int {
        self.0
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: closes a descriptor this value owns.
        unsafe { libc::close(self.0) };
    }
}

fn c_path(path: &Path) -> Result<alloc::ffi::CString, Errno> {
    path.to_c_string().ok_or(Errno(libc::EINVAL))
}

/// The canonical form of `path`: absolute, symbolic links resolved.
pub fn canonicalize(path: &Path) -> Result<Path, Errno> {
    let c_path = c_path(path)?;
    let mut resolved = [0 as libc::c_char; libc::PATH_MAX as usize];
    // SAFETY: realpath writes at most PATH_MAX bytes, NUL included, into
    // `resolved` and reads a NUL-terminated path.
    if unsafe { libc::realpath(c_path.as_ptr(), resolved.as_mut_ptr()) }.is_null() {
        return Err(Errno::last());
    }
    // SAFETY: realpath succeeded, so `resolved` holds a NUL-terminated path.
    Ok(Path::new(unsafe { CStr::from_ptr(resolved.as_ptr()) }.to_bytes()))
}

/// `path` itself (not what a symbolic link there points to) opened with
/// `O_PATH`, and whether it is a directory.
pub fn open_path(path: &Path) -> Result<(Fd, bool), Errno> {
    let c_path = c_path(path)?;
    // SAFETY: open(2) with a NUL-terminated path.
    let fd = unsafe { libc::open(c_path.as_ptr(), libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(Errno::last());
    }
    let fd = Fd(fd);
    // SAFETY: a zeroed stat is a valid buffer for fstat to fill.
    let mut status: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: fstat fills `status` for an open descriptor.
    if unsafe { libc::fstat(fd.raw(), &mut status) } != 0 {
        return Err(Errno::last());
    }
    Ok((fd, status.st_mode & libc::S_IFMT == libc::S_IFDIR))
}

/// Whether `path`, symbolic links followed, is a directory.
pub fn is_dir(path: &Path) -> Result<bool, Errno> {
    let c_path = c_path(path)?;
    // SAFETY: a zeroed stat is a valid buffer for stat to fill.
    let mut status: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: stat with a NUL-terminated path fills `status`.
    if unsafe { libc::stat(c_path.as_ptr(), &mut status) } != 0 {
        return Err(Errno::last());
    }
    Ok(status.st_mode & libc::S_IFMT == libc::S_IFDIR)
}

/// An entry of a directory.
#[derive(Debug)]
pub struct Entry {
    /// Its name.
    pub name: Vec<u8>,
    /// Whether it is a symbolic link.
    pub symlink: bool,
}

/// The entries of the directory `path`, `.` and `..` aside, sorted by name.
pub fn list(path: &Path) -> Result<Vec<Entry>, Errno> {
    let c_path = c_path(path)?;
    // SAFETY: opendir with a NUL-terminated path.
    let directory = unsafe { libc::opendir(c_path.as_ptr()) };
    if directory.is_null() {
        return Err(Errno::last());
    }
    let mut entries = Vec::new();
    let result = loop {
        // SAFETY: errno is this thread's; readdir leaves it alone at the end.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: readdir on a stream opened above and not closed yet.
        let entry = unsafe { libc::readdir(directory) };
        if entry.is_null() {
            let errno = Errno::last();
            break if errno.0 == 0 { Ok(()) } else { Err(errno) };
        }
        // SAFETY: readdir returned an entry valid until the next call.
        let (name, kind) = unsafe { (CStr::from_ptr((*entry).d_name.as_ptr()).to_bytes(), (*entry).d_type) };
        if name == b"." || name == b".." {
            continue;
        }
        let symlink = match kind {
            libc::DT_LNK => true,
            libc::DT_UNKNOWN => is_symlink(&path.join(name))?,
            _ => false,
        };
        entries.push(Entry { name: name.to_vec(), symlink });
    };
    // SAFETY: closes the stream opened above.
    unsafe { libc::closedir(directory) };
    result?;
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// Whether `path` is a symbolic link (for file systems that do not say in
/// their directory entries).
fn is_symlink(path: &Path) -> Result<bool, Errno> {
    let c_path = c_path(path)?;
    // SAFETY: a zeroed stat is a valid buffer for lstat to fill.
    let mut status: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: lstat with a NUL-terminated path fills `status`.
    if unsafe { libc::lstat(c_path.as_ptr(), &mut status) } != 0 {
        return Err(Errno::last());
    }
    Ok(status.st_mode & libc::S_IFMT == libc::S_IFLNK)
}

/// The terminal devices standard input, output and error are open on.
pub fn standard_terminals() -> Vec<Path> {
    let mut terminals: Vec<Path> = Vec::new();
    for fd in 0..3 {
        let mut name = [0 as libc::c_char; 256];
        // SAFETY: ttyname_r writes at most `name.len()` bytes into `name`;
        // it fails (ENOTTY, EBADF) for anything but an open terminal.
        if unsafe { libc::ttyname_r(fd, name.as_mut_ptr(), name.len()) } != 0 {
            continue;
        }
        // SAFETY: on success `name` holds a NUL-terminated path.
        let path = Path::new(unsafe { CStr::from_ptr(name.as_ptr()) }.to_bytes());
        if !terminals.contains(&path) {
            terminals.push(path);
        }
    }
    terminals
}
