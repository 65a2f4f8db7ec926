//! Keeping a confined process from driving processes outside its sandbox.
//!
//! A seccomp filter binds the process that installs it and its descendants,
//! not the other processes of the same user. Under a policy that leaves
//! `ptrace`, `process_vm_writev` or `/proc/PID/mem` open, the program could
//! make an unconfined process (its own shell, say) make the calls it may not.
//! Landlock forbids all three towards any process outside the caller's
//! Landlock domain, so a domain of its own closes that door.
//!
//! The domain must change nothing else, and Landlock needs it to handle
//! something. Since Landlock ABI 6, a domain can handle a *scope* alone:
//! this one keeps abstract UNIX sockets made outside the sandbox out of
//! reach, and handles no filesystem right, so that files, renames across
//! directories and mounts (a domain handling any filesystem right refuses
//! every mount, `unshare -m` included) behave as before. Before ABI 6 it
//! handles two filesystem rights, making block devices and reparenting,
//! both granted beneath `/` (a domain handling a filesystem right but not
//! `REFER` refuses every rename or link across directories with EXDEV);
//! mounts are then refused. So it is too where a domain that handles
//! files is in force already: the sandbox's own rules, or an outer
//! sandbox's, whose filters say so when asked ([`probe::FILES`]). A kernel
//! whose Landlock has no `REFER` (ABI 1,
//! Linux 5.13 to 5.18) forbids reparenting in any domain: there the domain
//! is left out, as on a kernel without Landlock, rather than break `mv`,
//! `git mv` and every atomic file replacement.
//!
//! What the domain still changes, because Landlock's check for tracing is
//! also the one for reading another process's `/proc/PID/{exe,cwd,root,fd,
//! ...}`: those of processes outside the sandbox cannot be read, even by
//! root (`ps` still lists them; `lsof` says "Permission denied"); and an
//! abstract UNIX socket made outside cannot be connected to (X11 clients
//! fall back to the socket's path).
//!
//! Raw system calls rather than the `landlock` crate: this runs in the
//! `no_std` library on every start, where the crate's std would cost more
//! than the rest of the sandbox (see `libsandbox`), and in the launcher,
//! which has no libc.

use core::sync::atomic::{AtomicBool, Ordering};

use syscalls::{Sysno, syscall};

use crate::compile::filter::probe;
use crate::sys::Errno;

/// Whether this process already put itself in a Landlock domain (its
/// Landlock rules): one confines tracing as well as another. And a
/// scope-only domain must never stack with one that handles files: the
/// kernel counts every layer as handling `REFER` once any handles a
/// filesystem right, and the scope-only layer grants it nowhere, so every
/// link or rename across directories would get EXDEV.
static IN_DOMAIN: AtomicBool = AtomicBool::new(false);

/// Whether a domain that handles files is in force: the sandbox's rules,
/// its own domain where it handles rights, or an outer sandbox's that said
/// so (see [`outer_handles_files`]). A domain nested in it must handle and
/// grant `REFER` (see [`IN_DOMAIN`]), and the filters installed in it say
/// so to the sandboxes started under them.
static FILES_HANDLED: AtomicBool = AtomicBool::new(false);

/// Records that the calling process is now in a Landlock domain of the
/// sandbox's (Landlock rules were enforced), which handles files or not:
/// [`confine_tracing`] then adds none.
pub fn note_domain(handles_files: bool) {
    IN_DOMAIN.store(true, Ordering::Release);
    if handles_files {
        FILES_HANDLED.store(true, Ordering::Release);
    }
}

/// Whether a Landlock domain that handles files is in force: the
/// sandbox's rules, its own domain where it handles rights, or an outer
/// sandbox's that said so. The filters installed now say so in their
/// probe's answer to other filters ([`probe::FILES`]).
pub fn files_handled() -> bool {
    FILES_HANDLED.load(Ordering::Acquire)
}

/// Whether the sandbox around this one put it in a domain that handles
/// files: the filters in force say so when asked ([`probe::ASK`]), where
/// they were installed in one (a sandbox with file rules, or one started
/// in such a sandbox). Another tool's Landlock domain says nothing, and a
/// scope-only domain in it still refuses moves across directories
/// (documented in the README, "Nested sandboxes").
fn outer_handles_files() -> bool {
    // SAFETY: the probe (getpgrp, getpgid on aarch64) with a nonce no
    // filter has: the filters answer it themselves, or the call runs, with
    // no effect.
    let answer = unsafe { syscall!(crate::sys::install::PROBE, probe::ASK, probe::MARK) };
    answer.is_err_and(|errno| u16::try_from(errno.into_raw()).is_ok_and(probe::files_handled))
}

/// `LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET` (ABI 6).
const SCOPE_ABSTRACT_UNIX_SOCKET: u64 = 1 << 0;
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
/// of its own, unless the sandbox's Landlock rules put it in one already.
/// `file_rules_follow`: rules that handle files will be enforced later
/// (the library's early phase, before its constructor), so the domain must
/// handle and grant `REFER` rather than a scope alone. Sets
/// `no_new_privs`, which Landlock requires of an unprivileged caller and
/// seccomp does too.
pub fn confine_tracing(file_rules_follow: bool) -> Result<Scope, Errno> {
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only.
    unsafe { syscall!(Sysno::prctl, libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) }?;
    if IN_DOMAIN.load(Ordering::Acquire) {
        return Ok(Scope::Confined);
    }
    new_domain(file_rules_follow || files_handled() || outer_handles_files())
}

/// Puts the calling thread (and its future children) in a Landlock domain
/// of its own even if it is in one already: the processes it started
/// before, in its domain or in none, can then no longer be traced or
/// written into from it (the reporter that answers errno calls: see
/// [`crate::sys::report`]). `file_rules_follow` as for [`confine_tracing`].
/// Sets `no_new_privs`.
pub fn nest(file_rules_follow: bool) -> Result<Scope, Errno> {
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only.
    unsafe { syscall!(Sysno::prctl, libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) }?;
    new_domain(file_rules_follow || files_handled() || outer_handles_files())
}

/// A new domain: scope-only unless `handles_files` (a layer that handles
/// files is in force or will be), when it grants `REFER` beneath `/`; then,
/// or before ABI 6, [`FILES_HANDLED`].
fn new_domain(handles_files: bool) -> Result<Scope, Errno> {
    // `struct landlock_ruleset_attr` as of ABI 6: handled filesystem and
    // network rights, then scopes.
    if !handles_files {
        let scoped: [u64; 3] = [0, 0, SCOPE_ABSTRACT_UNIX_SOCKET];
        // SAFETY: the kernel reads the three fields of the struct, all initialised.
        let ruleset = unsafe { syscall!(Sysno::landlock_create_ruleset, &raw const scoped, 24, 0) };
        if let Ok(ruleset) = ruleset {
            return restrict(ruleset, None);
        }
    }
    let handled: u64 = MAKE_BLOCK | REFER;
    // SAFETY: the attribute is the first field of `struct landlock_ruleset_attr`
    // (ABI 1's whole struct), read by the kernel for the size given.
    match unsafe { syscall!(Sysno::landlock_create_ruleset, &raw const handled, 8, 0) } {
        Ok(ruleset) => {
            let scope = restrict(ruleset, Some(handled))?;
            FILES_HANDLED.store(true, Ordering::Release);
            Ok(scope)
        }
        // ENOSYS, EOPNOTSUPP, EINVAL (ABI 1: no REFER), or an outer filter
        // that hides Landlock.
        Err(_) => Ok(Scope::Unavailable),
    }
}

/// Restricts the calling thread with `ruleset`, first granting `rights`
/// beneath `/` if given, and closes it.
fn restrict(ruleset: usize, rights: Option<u64>) -> Result<Scope, Errno> {
    let granted = match rights {
        None => Ok(()),
        Some(rights) => grant_beneath_root(ruleset, rights),
    };
    // SAFETY: restricts the calling thread with a ruleset it owns.
    let result = granted.and_then(|()| Ok(unsafe { syscall!(Sysno::landlock_restrict_self, ruleset, 0) }?));
    // SAFETY: closes the ruleset this module created.
    let _ = unsafe { syscall!(Sysno::close, ruleset) };
    result.map(|_| Scope::Confined)
}

/// Grants `rights` beneath `/` in `ruleset`.
fn grant_beneath_root(ruleset: usize, rights: u64) -> Result<(), Errno> {
    let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
    // SAFETY: openat(2) with a NUL-terminated path.
    let root = unsafe { syscall!(Sysno::openat, libc::AT_FDCWD, c"/".as_ptr(), flags) }?;
    let rule = PathBeneath { allowed_access: rights, parent_fd: root as i32 };
    // SAFETY: the kernel reads one packed path-beneath attribute; both
    // descriptors are open.
    let added = unsafe { syscall!(Sysno::landlock_add_rule, ruleset, PATH_BENEATH, &raw const rule, 0) };
    // SAFETY: closes the descriptor opened above.
    let _ = unsafe { syscall!(Sysno::close, root) };
    added.map(drop).map_err(Errno::from)
}
