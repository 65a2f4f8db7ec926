//! The new root, built in the private mount namespace and entered with
//! `pivot_root`, the old root detached; or, with `--unshare-pid` alone, a
//! fresh /proc over the host's.
//!
//! 1. Every source (`--bind`, `--ro-bind`, the devices of `--dev`) is
//!    cloned first, with what is mounted below it, as a detached mount tree
//!    (`open_tree(OPEN_TREE_CLONE | AT_RECURSIVE)`), so the host's view is
//!    what gets bound, whatever the new root will hide. `--ro-bind` makes
//!    the whole clone read-only with `mount_setattr(MOUNT_ATTR_RDONLY,
//!    AT_RECURSIVE)`, which changes that one flag on every mount of the
//!    tree and leaves their nosuid, nodev, noexec and atime flags as they
//!    were. (The old way, `MS_BIND | MS_REMOUNT | MS_RDONLY` on each
//!    mount, fails with EPERM in a user namespace unless it repeats each
//!    mount's locked flags, read from statfs, and it must walk the
//!    submounts itself.)
//! 2. A tmpfs is mounted on /tmp (the staging point, hidden again at the
//!    end) and the mounts are made in it in command-line order, a later one
//!    on top of an earlier one, creating mount points as needed (never
//!    through a symbolic link, which could lead outside).
//! 3. The staging tmpfs itself is made read-only: the new root's top
//!    directory only holds mount points.
//! 4. `pivot_root(".", ".")` in it, then the old root, stacked on top, is
//!    detached with `umount2(MNT_DETACH)`; the working directory is `/`.
//!
//! The host's /proc never shows in the new root: its `/proc/PID/root` of
//! every host process would reach around any read-only bind. A bind of a
//! proc file system is refused (`--proc` with `--unshare-pid` mounts a
//! fresh one), and a proc file system bound with the tree that holds it
//! (`--ro-bind / /`) is covered with an empty read-only tmpfs.

use std::fs;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, symlink};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags, mount, umount2};

use super::{Mount, SetupError, failed, mountinfo};

/// Where the new root is built before the pivot.
const STAGING: &str = "/tmp";

/// The device nodes of `--dev`, bound from the host's.
const DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

/// The symbolic links of `--dev`.
const DEVICE_LINKS: [(&str, &str); 5] = [
    ("ptmx", "pts/ptmx"),
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
];

impl std::fmt::Display for Mount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mount::Bind { source, destination, read_only } => {
                let option = if *read_only { "--ro-bind" } else { "--bind" };
                write!(f, "{option} {} {}", source.display(), destination.display())
            }
            Mount::Tmpfs(destination) => write!(f, "--tmpfs {}", destination.display()),
            Mount::Proc(destination) => write!(f, "--proc {}", destination.display()),
            Mount::Dev(destination) => write!(f, "--dev {}", destination.display()),
        }
    }
}

/// A detached mount tree, ready to be attached.
struct Tree {
    fd: OwnedFd,
    is_dir: bool,
}

/// Builds the new root from `mounts` and moves into it.
pub fn build_root(mounts: &[Mount]) -> Result<(), SetupError> {
    let sources = mounts.iter().map(clone_sources).collect::<Result<Vec<_>, _>>()?;
    mount(Some("tmpfs"), STAGING, Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, Some("mode=0755")).map_err(
        |errno| failed(format!("cannot mount a tmpfs on {STAGING}"))(errno).hint("the new root is built there"),
    )?;
    let staging = open_path(Path::new(STAGING)).map_err(failed(format!("cannot open {STAGING}")))?;
    for (mount, trees) in mounts.iter().zip(sources) {
        attach(mount, trees).map_err(|error| with_option(error, mount))?;
    }
    set_read_only(&staging, false).map_err(failed("cannot make the new root's top directory read-only"))?;
    enter(Path::new(STAGING))
}

/// Mounts a proc file system of the new PID namespace over /proc.
pub fn mount_fresh_proc() -> Result<(), SetupError> {
    mount_proc(Path::new("/proc")).map_err(|error| with_option(error, "--unshare-pid"))
}

/// Prefixes the failed step with the option it serves.
fn with_option(error: SetupError, option: impl std::fmt::Display) -> SetupError {
    match error {
        SetupError::Call { step, errno, hint } => SetupError::Call { step: format!("{option}: {step}"), errno, hint },
        other => other,
    }
}

/// The trees `mount` will attach: its source, or `--dev`'s devices.
fn clone_sources(mount: &Mount) -> Result<Vec<Tree>, SetupError> {
    match mount {
        Mount::Bind { source, read_only, .. } => {
            let tree = clone_tree(source).map_err(|error| with_option(error, mount))?;
            if *read_only {
                set_read_only(&tree.fd, true)
                    .map_err(|errno| with_option(failed("cannot make it read-only")(errno), mount))?;
            }
            Ok(vec![tree])
        }
        Mount::Dev(_) => DEVICES
            .iter()
            .map(|device| clone_tree(&Path::new("/dev").join(device)).map_err(|error| with_option(error, mount)))
            .collect(),
        Mount::Tmpfs(_) | Mount::Proc(_) => Ok(Vec::new()),
    }
}

/// `PROC_SUPER_MAGIC`: a proc file system's type in statfs.
const PROC_SUPER_MAGIC: i64 = 0x9fa0;

/// Covers with an empty read-only tmpfs every proc file system mounted at
/// or beneath `target` (the host's, bound with the tree that holds it).
fn cover_host_proc(target: &Path) -> Result<(), SetupError> {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").map_err(|error| {
        failed("cannot read /proc/self/mountinfo")(Errno::from_raw(error.raw_os_error().unwrap_or(0)))
    })?;
    let mut covered: Vec<PathBuf> = Vec::new();
    for entry in mountinfo::entries(&mountinfo) {
        let point = entry.mount_point;
        if entry.fstype != "proc" || !point.starts_with(target) || covered.iter().any(|done| point.starts_with(done)) {
            continue;
        }
        mount(
            Some("tmpfs"),
            &point,
            Some("tmpfs"),
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some("mode=0555"),
        )
        .map_err(failed(format!("cannot cover the host's proc on {}", inside(&point))))?;
        covered.push(point);
    }
    Ok(())
}

/// Clones the mount tree at `path`, submounts included, detached.
fn clone_tree(path: &Path) -> Result<Tree, SetupError> {
    let step = || format!("cannot clone {}", path.display());
    let c_path = c_path(path);
    let flags = libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC | libc::AT_RECURSIVE as libc::c_uint;
    // SAFETY: open_tree(2) on a NUL-terminated path; returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, c_path.as_ptr(), flags) };
    if fd < 0 {
        return Err(failed(step())(Errno::last()));
    }
    // SAFETY: a new descriptor, owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) };
    let stat = nix::sys::stat::fstat(&fd).map_err(failed(step()))?;
    let fs_type = nix::sys::statfs::fstatfs(&fd).map_err(failed(step()))?.filesystem_type();
    if fs_type.0 as i64 == PROC_SUPER_MAGIC {
        return Err(failed("it is a proc file system: the host's proc would reach around the new root")(Errno::EPERM)
            .hint("mount a fresh one: --unshare-pid --proc DST"));
    }
    Ok(Tree { fd, is_dir: stat.st_mode & libc::S_IFMT == libc::S_IFDIR })
}

/// Sets MOUNT_ATTR_RDONLY on the mount `fd` refers to, and on every mount
/// below it if `recursive`, changing no other flag.
fn set_read_only(fd: &OwnedFd, recursive: bool) -> Result<(), Errno> {
    let attributes = libc::mount_attr { attr_set: libc::MOUNT_ATTR_RDONLY, attr_clr: 0, propagation: 0, userns_fd: 0 };
    let flags = libc::AT_EMPTY_PATH | if recursive { libc::AT_RECURSIVE } else { 0 };
    // SAFETY: mount_setattr(2) on our descriptor with an empty path and a
    // mount_attr of the size given.
    let result = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attributes,
            size_of::<libc::mount_attr>(),
        )
    };
    Errno::result(result).map(drop)
}

/// Makes `entry` in the staging root.
fn attach(entry: &Mount, trees: Vec<Tree>) -> Result<(), SetupError> {
    match entry {
        Mount::Bind { destination, .. } => {
            let tree = trees.into_iter().next().expect("a bind has one source");
            let target = make_mount_point(destination, tree.is_dir)?;
            move_tree(tree, &target)?;
            cover_host_proc(&target)
        }
        Mount::Tmpfs(destination) => mount_tmpfs(&make_mount_point(destination, true)?, "mode=0755"),
        Mount::Proc(destination) => mount_proc(&make_mount_point(destination, true)?),
        Mount::Dev(destination) => {
            let dev = make_mount_point(destination, true)?;
            mount_tmpfs(&dev, "mode=0755")?;
            for (device, tree) in DEVICES.iter().zip(trees) {
                let node = dev.join(device);
                create_file(&node)?;
                move_tree(tree, &node)?;
            }
            for (name, options, flags) in [
                ("shm", "mode=1777", MsFlags::MS_NOSUID | MsFlags::MS_NODEV),
                ("pts", "newinstance,ptmxmode=0666,mode=620", MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC),
            ] {
                let directory = dev.join(name);
                create_dir(&directory)?;
                let fs_type = if name == "shm" { "tmpfs" } else { "devpts" };
                mount(Some(fs_type), &directory, Some(fs_type), flags, Some(options))
                    .map_err(failed(format!("cannot mount {fs_type} on {}", inside(&directory))))?;
            }
            for (name, target) in DEVICE_LINKS {
                let link = dev.join(name);
                symlink(target, &link).map_err(failed(format!("cannot create {}", inside(&link))))?;
            }
            Ok(())
        }
    }
}

/// Attaches a detached tree at `target`.
fn move_tree(tree: Tree, target: &Path) -> Result<(), SetupError> {
    let c_target = c_path(target);
    // SAFETY: move_mount(2) from our descriptor (empty path) to a
    // NUL-terminated path.
    let result = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            c_target.as_ptr(),
            libc::MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    Errno::result(result).map(drop).map_err(failed(format!("cannot mount on {}", inside(target))))
}

fn mount_tmpfs(target: &Path, options: &str) -> Result<(), SetupError> {
    mount(Some("tmpfs"), target, Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, Some(options))
        .map_err(failed(format!("cannot mount a tmpfs on {}", inside(target))))
}

fn mount_proc(target: &Path) -> Result<(), SetupError> {
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(Some("proc"), target, Some("proc"), flags, None::<&str>).map_err(|errno| {
        let error = failed(format!("cannot mount proc on {}", inside(target)))(errno);
        match errno {
            Errno::EPERM => error.hint(
                "in a user namespace the kernel refuses a new proc while parts of the host's /proc are hidden \
                 by other mounts",
            ),
            _ => error,
        }
    })
}

/// The path of `destination` in the staging root, created (a directory, or
/// an empty file for a file) with any missing parent. Refuses to go through
/// a symbolic link: it would be resolved against the host's root.
fn make_mount_point(destination: &Path, is_dir: bool) -> Result<PathBuf, SetupError> {
    let mut path = PathBuf::from(STAGING);
    let components: Vec<_> = destination.components().skip(1).collect();
    for (index, component) in components.iter().enumerate() {
        path.push(component);
        let last = index + 1 == components.len();
        match fs::symlink_metadata(&path) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                let step = format!("{} is a symbolic link in the new root: name the path it points to", inside(&path));
                return Err(failed(step)(Errno::ELOOP));
            }
            Ok(_) => {}
            Err(_) if last && !is_dir => create_file(&path)?,
            Err(_) => create_dir(&path)?,
        }
    }
    Ok(path)
}

fn create_dir(path: &Path) -> Result<(), SetupError> {
    fs::DirBuilder::new().mode(0o755).create(path).map_err(failed(format!("cannot create {}", inside(path))))
}

fn create_file(path: &Path) -> Result<(), SetupError> {
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .open(path)
        .map(drop)
        .map_err(failed(format!("cannot create {}", inside(path))))
}

/// How a path under the staging point will be seen in the new root.
fn inside(path: &Path) -> String {
    match path.strip_prefix(STAGING) {
        Ok(relative) => Path::new("/").join(relative).display().to_string(),
        Err(_) => path.display().to_string(),
    }
}

/// Makes `root` the root and the working directory, the old root detached.
fn enter(root: &Path) -> Result<(), SetupError> {
    nix::unistd::chdir(root).map_err(failed(format!("cannot enter {}", root.display())))?;
    nix::unistd::pivot_root(".", ".").map_err(failed("pivot_root into the new root"))?;
    // pivot_root(".", ".") stacks the old root on top of the new one.
    umount2(".", MntFlags::MNT_DETACH).map_err(failed("cannot detach the old root"))?;
    nix::unistd::chdir("/").map_err(failed("cannot enter the new root"))
}

fn open_path(path: &Path) -> Result<OwnedFd, Errno> {
    nix::fcntl::open(path, nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())
}

fn c_path(path: &Path) -> std::ffi::CString {
    use std::os::unix::ffi::OsStrExt;
    // Paths come from argv or constants: they have no NUL byte.
    std::ffi::CString::new(path.as_os_str().as_bytes()).expect("no NUL byte in a path")
}
