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
    let directory = status(&fd)?.st_mode & libc::S_IFMT == libc::S_IFDIR;
    Ok((fd, directory))
}

/// What fstat(2) says of `fd`.
fn status(fd: &Fd) -> Result<libc::stat, Errno> {
    // SAFETY: a zeroed stat is a valid buffer for fstat to fill.
    let mut status: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: fstat fills `status` for an open descriptor.
    if unsafe { libc::fstat(fd.raw(), &mut status) } != 0 {
        return Err(Errno::last());
    }
    Ok(status)
}

/// The whole of the file at `path`.
pub fn read(path: &Path) -> Result<Vec<u8>, Errno> {
    let c_path = c_path(path)?;
    // SAFETY: open(2) with a NUL-terminated path.
    let fd = unsafe { libc::open(c_path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(Errno::last());
    }
    let fd = Fd(fd);
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        // SAFETY: read(2) into a live buffer of the length given.
        match unsafe { libc::read(fd.raw(), buffer.as_mut_ptr().cast(), buffer.len()) } {
            0 => return Ok(bytes),
            read if read > 0 => bytes.extend_from_slice(&buffer[..read as usize]),
            _ if Errno::last().0 == libc::EINTR => {}
            _ => return Err(Errno::last()),
        }
    }
}

/// How many names (hard links) the file `fd` is open on has.
pub fn links(fd: &Fd) -> Result<libc::nlink_t, Errno> {
    Ok(status(fd)?.st_nlink)
}

/// Whether `fd` is open on a regular file.
pub fn is_regular(fd: &Fd) -> Result<bool, Errno> {
    Ok(status(fd)?.st_mode & libc::S_IFMT == libc::S_IFREG)
}

/// What a file is, whatever the name it is reached by: its device and
/// inode numbers.
pub type Identity = (u64, u64);

/// The identity of what `fd` is open on.
pub fn identity(fd: &Fd) -> Result<Identity, Errno> {
    let status = status(fd)?;
    Ok((status.st_dev, status.st_ino))
}

/// The identity of `path` itself (a symbolic link there is not followed).
pub fn identity_of(path: &Path) -> Result<Identity, Errno> {
    identity(&open_path(path)?.0)
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

/// A file standard input, output or error is open on, and what its
/// descriptors may do with it.
#[derive(Debug, PartialEq, Eq)]
pub struct StandardFile {
    /// Where it is, canonical.
    pub path: Path,
    /// A descriptor on it was opened for reading.
    pub read: bool,
    /// A descriptor on it was opened for writing.
    pub write: bool,
}

/// The regular files and named pipes standard input, output and error are
/// open on (`program 2>log`), with the access their descriptors were opened
/// with. One whose path no longer leads to it (removed, renamed over, in
/// another mount namespace) is left out, and so are pipes and sockets,
/// which have no path.
pub fn standard_files() -> Vec<StandardFile> {
    let mut files: Vec<StandardFile> = Vec::new();
    for fd in 0..3 {
        // SAFETY: F_GETFL only reads the descriptor's flags; it fails (EBADF) for a closed one.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        let Some(opened) = (flags >= 0 && flags & libc::O_PATH == 0).then(|| fstat(fd)).flatten() else { continue };
        let kind = opened.st_mode & libc::S_IFMT;
        if kind != libc::S_IFREG && kind != libc::S_IFIFO {
            continue;
        }
        let Some(path) = descriptor_path(fd).and_then(|path| canonicalize(&path).ok()) else { continue };
        let same_file = |found: &libc::stat| found.st_dev == opened.st_dev && found.st_ino == opened.st_ino;
        if !stat(&path).is_some_and(|found| same_file(&found)) {
            continue;
        }
        let mode = flags & libc::O_ACCMODE;
        let (read, write) = (mode != libc::O_WRONLY, mode != libc::O_RDONLY);
        match files.iter_mut().find(|file| file.path == path) {
            Some(file) => (file.read, file.write) = (file.read || read, file.write || write),
            None => files.push(StandardFile { path, read, write }),
        }
    }
    files
}

/// What `/proc/self/fd/FD` names (`None` without /proc).
fn descriptor_path(fd: libc::c_int) -> Option<Path> {
    let link = alloc::format!("/proc/self/fd/{fd}\0");
    let mut target = [0u8; libc::PATH_MAX as usize];
    // SAFETY: readlink reads a NUL-terminated path and writes at most
    // `target.len()` bytes into `target`.
    let len = unsafe { libc::readlink(link.as_ptr().cast(), target.as_mut_ptr().cast(), target.len()) };
    (len > 0 && (len as usize) < target.len()).then(|| Path::new(&target[..len as usize]))
}

fn fstat(fd: libc::c_int) -> Option<libc::stat> {
    // SAFETY: a zeroed stat is a valid buffer for fstat to fill.
    let mut status: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: fstat fills `status`; it fails for a closed descriptor.
    (unsafe { libc::fstat(fd, &mut status) } == 0).then_some(status)
}

fn stat(path: &Path) -> Option<libc::stat> {
    let c_path = c_path(path).ok()?;
    // SAFETY: a zeroed stat is a valid buffer for stat to fill.
    let mut status: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: stat with a NUL-terminated path fills `status`.
    (unsafe { libc::stat(c_path.as_ptr(), &mut status) } == 0).then_some(status)
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
