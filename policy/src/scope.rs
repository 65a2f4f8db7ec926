//! Keeping a confined process from driving processes outside its sandbox.
//!
//! A seccomp filter binds the process that installs it and its descendants,
//! not the other processes of the same user. Under a policy that leaves
//! `ptrace`, `process_vm_writev` or `/proc/PID/mem` open, the program could
//! make an unconfined process (its own shell, say) make the calls it may not.
//! Landlock forbids all three towards any process outside the caller's
//! Landlock domain, so a minimal domain closes that door: one handled right,
//! making block devices, granted beneath `/`, so that it changes nothing else.
//!
//! Raw system calls rather than the `landlock` crate: this runs in the
//! `no_std` library on every start, where the crate's std would cost more
//! than the rest of the sandbox (see `libsandbox`).

use crate::install::Errno;

/// `LANDLOCK_ACCESS_FS_MAKE_BLOCK`.
const MAKE_BLOCK: u64 = 1 << 11;
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
    /// The kernel has no Landlock (or something hides it): nothing changed.
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
    let handled: u64 = MAKE_BLOCK;
    // SAFETY: the attribute is the first field of `struct landlock_ruleset_attr`
    // (ABI 1's whole struct), read by the kernel for the size given.
    let ruleset = unsafe { libc::syscall(libc::SYS_landlock_create_ruleset, &handled, 8usize, 0u32) };
    if ruleset < 0 {
        // ENOSYS, EOPNOTSUPP, or an outer filter that hides Landlock.
        return Ok(Scope::Unavailable);
    }
    let ruleset = ruleset as libc::c_int;
    // SAFETY: open(2) with a NUL-terminated path.
    let root = unsafe { libc::open(c"/".as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) };
    let result = if root < 0 {
        Err(Errno::last())
    } else {
        let rule = PathBeneath { allowed_access: MAKE_BLOCK, parent_fd: root };
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
