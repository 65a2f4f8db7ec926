//! Keeping a confined process from driving processes outside its sandbox.
//!
//! A seccomp filter binds the process that installs it and its descendants,
//! not the other processes of the same user. Under a policy that leaves
//! `ptrace`, `process_vm_writev` or `/proc/PID/mem` open, the program could
//! make an unconfined process (its own shell, say) make the calls it may not.
//! Landlock forbids all three towards any process outside the caller's
//! Landlock domain, so a domain of its own closes that door.
//!
//! The domain must change nothing else. Landlock needs at least one handled
//! right, and a domain that handles any filesystem right refuses every
//! rename or link across directories (EXDEV) unless it also handles and
//! grants `REFER`. So it handles two rights, making block devices and
//! reparenting, and grants both beneath `/`. A kernel whose Landlock has no
//! `REFER` (ABI 1, Linux 5.13 to 5.18) forbids reparenting in any domain:
//! there the domain is left out, as on a kernel without Landlock, rather
//! than break `mv`, `git mv` and every atomic file replacement.
//!
//! What the domain still changes, because Landlock's check for tracing is
//! also the one for reading another process's `/proc/PID/{exe,cwd,root,fd,
//! environ,maps}`: those of processes outside the sandbox cannot be read,
//! even by root (`ps` still lists them; `lsof` says "Permission denied").
//! The rule is tied to the inode of `/` when the domain is made: beneath a
//! root the program makes of its own later (`pivot_root` in a container it
//! starts), block devices and moves across directories are refused.
//!
//! Raw system calls rather than the `landlock` crate: this runs in the
//! `no_std` library on every start, where the crate's std would cost more
//! than the rest of the sandbox (see `libsandbox`).

use crate::install::Errno;

/// `LANDLOCK_ACCESS_FS_MAKE_BLOCK`.
const MAKE_BLOCK: u64 = 1 << 11;
/// `LANDLOCK_ACCESS_FS_REFER` (ABI 2).
const REFER: u64 = 1 << 13;
/// `LANDLOCK_RULE_PATH_BENEATH`.
const PATH_BENEATH: libc::c_int = 1;

/// `struct landlock_path_beneath_attr` (packed in the kernel's header).
#[repr(C, packed)]
struct PathBeneath {
    allowed_access: u64,
    parent_fd: i32,
}

/// Whether the calling thread is now in its own Landlock domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// It is: it cannot trace or write into processes outside the domain.
    Confined,
    /// The kernel has no Landlock (or something hides it), or only ABI 1,
    /// under which any domain would refuse moves across directories:
    /// nothing changed.
    Unavailable,
}

/// Puts the calling thread (and its future children) in a Landlock domain
/// of its own. Sets `no_new_privs`, which Landlock requires of an
/// unprivileged caller and seccomp does too.
pub fn confine_tracing() -> Result<Scope, Errno> {
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(Errno::last());
    }
    let handled: u64 = MAKE_BLOCK | REFER;
    // SAFETY: the attribute is the first field of `struct landlock_ruleset_attr`
    // (ABI 1's whole struct), read by the kernel for the size given.
    let ruleset = unsafe { libc::syscall(libc::SYS_landlock_create_ruleset, &handled, 8usize, 0u32) };
    if ruleset < 0 {
        // ENOSYS, EOPNOTSUPP, EINVAL (ABI 1: no REFER), or an outer filter
        // that hides Landlock.
        return Ok(Scope::Unavailable);
    }
    let ruleset = ruleset as libc::c_int;
    // SAFETY: open(2) with a NUL-terminated path.
    let root = unsafe { libc::open(c"/".as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) };
    let result = if root < 0 {
        Err(Errno::last())
    } else {
        let rule = PathBeneath { allowed_access: handled, parent_fd: root };
        // SAFETY: the kernel reads one packed path-beneath attribute; both
        // descriptors are open.
        let added = unsafe { libc::syscall(libc::SYS_landlock_add_rule, ruleset, PATH_BENEATH, &rule, 0u32) };
        // SAFETY: restricts the calling thread with a ruleset it owns.
        if added != 0 || unsafe { libc::syscall(libc::SYS_landlock_restrict_self, ruleset, 0u32) } != 0 {
            Err(Errno::last())
        } else {
            Ok(Scope::Confined)
        }
    };
    // SAFETY: closes descriptors this function opened.
    unsafe {
        if root >= 0 {
            libc::close(root);
        }
        libc::close(ruleset);
    }
    result
}
