//! Enforcing a [`Plan`] on the calling process, with Landlock's three
//! system calls.
//!
//! Compatibility is decided here, explicitly, before anything is enforced:
//! the kernel's Landlock ABI is compared with what the plan needs, and a
//! shortfall is an error naming it, unless the request is best-effort, in
//! which case what the kernel knows is enforced and the rest is reported as
//! dropped.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::fs::{self, Errno};
use crate::path::Path;
use crate::plan::{Plan, Rights};
use crate::rights;

/// `LANDLOCK_CREATE_RULESET_VERSION`.
const VERSION: u32 = 1 << 0;
/// `LANDLOCK_RULE_PATH_BENEATH`.
const PATH_BENEATH: libc::c_int = 1;
/// `LANDLOCK_RULE_NET_PORT`.
const NET_PORT: libc::c_int = 2;
/// `LANDLOCK_RESTRICT_SELF_TSYNC`: restricting every thread, not just the caller.
const TSYNC: u32 = 1 << 3;
/// The ABI of [`TSYNC`].
const ALL_THREADS_ABI: i32 = 8;

/// `struct landlock_ruleset_attr` as of ABI 6 (the kernel reads the size given).
#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
    handled_access_net: u64,
    scoped: u64,
}

/// `struct landlock_path_beneath_attr` (packed in the kernel's header).
#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

/// `struct landlock_net_port_attr`.
#[repr(C)]
struct NetPortAttr {
    allowed_access: u64,
    port: u64,
}

/// How many threads the process has when the rules are enforced: Landlock
/// restricts the calling thread only, unless the kernel can do them all.
#[derive(Debug)]
pub enum Threads {
    /// The calling thread alone (sandboxify before its exec).
    One,
    /// Several, or an unknown number: every one must be restricted.
    Several(String),
}

impl Threads {
    /// Counts the threads of the calling process in `/proc/self/task`.
    pub fn count() -> Threads {
        match fs::list(&Path::from("/proc/self/task")) {
            Ok(tasks) if tasks.len() == 1 => Threads::One,
            Ok(tasks) => Threads::Several(format!("{} threads run", tasks.len())),
            Err(error) => Threads::Several(format!("cannot count threads (/proc/self/task: {error})")),
        }
    }
}

/// What the kernel could not enforce, in best-effort mode.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Enforced {
    /// The kernel's Landlock ABI; `None` when Landlock is unavailable.
    pub kernel_abi: Option<i32>,
    /// What was dropped, one phrase each; empty when enforced in full.
    pub dropped: Vec<String>,
}

/// Why the rules were not enforced.
#[derive(Debug)]
pub enum EnforceError {
    /// Landlock is not available.
    Unavailable(&'static str),
    /// The kernel's Landlock is too old for part of the request.
    TooOld {
        /// The kernel's ABI.
        kernel: i32,
        /// What needs a newer ABI, and which.
        missing: String,
    },
    /// The kernel refused a call.
    Kernel {
        /// The system call.
        call: &'static str,
        /// Its error.
        error: Errno,
    },
}

impl fmt::Display for EnforceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnforceError::Unavailable(reason) => write!(
                f,
                "Landlock is not available on this kernel ({reason}), so the filesystem and network rules cannot be enforced"
            ),
            EnforceError::TooOld { kernel, missing } => {
                write!(f, "this kernel's Landlock (ABI {kernel}) cannot enforce {missing}")
            }
            EnforceError::Kernel { call, error } => write!(f, "Landlock: {call}: {error}"),
        }
    }
}

impl core::error::Error for EnforceError {}

/// The kernel's Landlock ABI, or why there is none.
pub fn kernel_abi() -> Result<i32, &'static str> {
    // SAFETY: with a NULL attribute, size 0 and the VERSION flag the call
    // only returns the ABI version; it touches no memory.
    let version = unsafe { libc::syscall(libc::SYS_landlock_create_ruleset, core::ptr::null::<u8>(), 0usize, VERSION) };
    if version > 0 {
        return Ok(version as i32);
    }
    match Errno::last().0 {
        libc::EOPNOTSUPP => Err("disabled at boot"),
        _ => Err("not built in"),
    }
}

/// Enforces `plan` on the calling process (and, if `threads` says so, on
/// every thread). Inherited across fork and exec, and cannot be undone.
pub fn enforce(plan: &Plan, threads: &Threads) -> Result<Enforced, EnforceError> {
    let request = &plan.request;
    let kernel = match kernel_abi() {
        Ok(kernel) => kernel,
        Err(reason) if !request.best_effort => return Err(EnforceError::Unavailable(reason)),
        Err(reason) => {
            return Ok(Enforced {
                kernel_abi: None,
                dropped: alloc::vec![format!("every rule (Landlock is {reason})")],
            });
        }
    };
    let shortfall = missing(plan, threads, kernel);
    if !shortfall.is_empty() && !request.best_effort {
        return Err(EnforceError::TooOld { kernel, missing: shortfall.join("; ") });
    }
    let handled_fs = if request.restricts_files { rights::ALL & rights::supported(kernel) } else { 0 };
    let mut handled_net = 0;
    if kernel >= rights::NETWORK_ABI {
        if request.connect.is_some() {
            handled_net |= rights::CONNECT_TCP;
        }
        if request.bind.is_some() {
            handled_net |= rights::BIND_TCP;
        }
    }
    // Rules keep what they name inside the sandbox; so do the scopes for
    // signals and abstract UNIX sockets, which no rule covers.
    let scoped =
        if kernel >= rights::SCOPE_ABI { rights::SCOPE_SIGNAL | rights::SCOPE_ABSTRACT_UNIX_SOCKET } else { 0 };
    let enforced = Enforced { kernel_abi: Some(kernel), dropped: shortfall };
    if handled_fs == 0 && handled_net == 0 && scoped == 0 {
        // Best effort, and nothing of the request is known to this kernel.
        return Ok(enforced);
    }
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only. Landlock
    // requires it of an unprivileged caller.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(EnforceError::Kernel { call: "prctl(PR_SET_NO_NEW_PRIVS)", error: Errno::last() });
    }
    let ruleset = create_ruleset(handled_fs, handled_net, scoped)?;
    for grant in &plan.grants {
        let allowed = access(grant.rights, grant.directory) & handled_fs;
        if allowed == 0 {
            continue;
        }
        let attr = PathBeneathAttr { allowed_access: allowed, parent_fd: grant.fd.raw() };
        add_rule(&ruleset, PATH_BENEATH, (&raw const attr).cast())?;
    }
    for (ports, access) in [(&request.connect, rights::CONNECT_TCP), (&request.bind, rights::BIND_TCP)] {
        if handled_net & access == 0 {
            continue;
        }
        for &port in ports.iter().flatten() {
            let attr = NetPortAttr { allowed_access: access, port: u64::from(port) };
            add_rule(&ruleset, NET_PORT, (&raw const attr).cast())?;
        }
    }
    let flags = match threads {
        Threads::Several(_) if kernel >= ALL_THREADS_ABI => TSYNC,
        _ => 0,
    };
    // SAFETY: restricts the calling thread (or, with TSYNC, every thread)
    // with a ruleset this function owns.
    if unsafe { libc::syscall(libc::SYS_landlock_restrict_self, ruleset.raw(), flags) } != 0 {
        return Err(EnforceError::Kernel { call: "landlock_restrict_self", error: Errno::last() });
    }
    sandbox_policy::sys::scope::note_domain(handled_fs != 0);
    Ok(enforced)
}

fn create_ruleset(handled_fs: u64, handled_net: u64, scoped: u64) -> Result<fs::Fd, EnforceError> {
    let attr = RulesetAttr { handled_access_fs: handled_fs, handled_access_net: handled_net, scoped };
    // Only as much of the struct as the rules need: an older kernel refuses
    // a larger one.
    let size = match (handled_net, scoped) {
        (0, 0) => size_of::<u64>(),
        (_, 0) => 2 * size_of::<u64>(),
        _ => size_of::<RulesetAttr>(),
    };
    // SAFETY: the kernel reads `size` bytes of `attr`, which is at least that large.
    let fd = unsafe { libc::syscall(libc::SYS_landlock_create_ruleset, &raw const attr, size, 0u32) };
    if fd < 0 {
        return Err(EnforceError::Kernel { call: "landlock_create_ruleset", error: Errno::last() });
    }
    Ok(fs::Fd::from_raw(fd as libc::c_int))
}

fn add_rule(ruleset: &fs::Fd, kind: libc::c_int, attr: *const libc::c_void) -> Result<(), EnforceError> {
    // SAFETY: `attr` points to the attribute struct of `kind`, alive across the call.
    if unsafe { libc::syscall(libc::SYS_landlock_add_rule, ruleset.raw(), kind, attr, 0u32) } != 0 {
        return Err(EnforceError::Kernel { call: "landlock_add_rule", error: Errno::last() });
    }
    Ok(())
}

/// The rights of a grant: files take file rights only.
fn access(rights: Rights, directory: bool) -> u64 {
    let access = match rights {
        Rights::ReadOnly => rights::READ,
        Rights::ReadWrite => rights::ALL,
        Rights::ListOnly => rights::READ_DIR,
        Rights::Run => rights::EXECUTE | rights::READ_FILE,
        Rights::Reopen { read, write } => {
            (if read { rights::READ_FILE } else { 0 }) | (if write { rights::WRITE_FILE | rights::TRUNCATE } else { 0 })
        }
    };
    if directory { access } else { access & rights::FILE }
}

/// What a kernel with Landlock ABI `kernel` cannot enforce of `plan`, one
/// phrase each, naming the ABI that can.
fn missing(plan: &Plan, threads: &Threads, kernel: i32) -> Vec<String> {
    let mut missing = Vec::new();
    if plan.request.restricts_files {
        for (_, name, since) in rights::FILESYSTEM.iter().filter(|(_, _, since)| *since > kernel) {
            missing.push(format!("the {name} right (ABI {since})"));
        }
    }
    if (plan.request.connect.is_some() || plan.request.bind.is_some()) && kernel < rights::NETWORK_ABI {
        missing.push(format!("TCP port rules (ABI {})", rights::NETWORK_ABI));
    }
    if kernel < rights::SCOPE_ABI {
        missing.push(format!(
            "the scopes that keep signals and abstract UNIX sockets inside the sandbox (ABI {})",
            rights::SCOPE_ABI
        ));
    }
    if let Threads::Several(why) = threads
        && kernel < ALL_THREADS_ABI
    {
        missing.push(format!(
            "the other threads: {why}, and it restricts the calling thread only (ABI {ALL_THREADS_ABI} restricts them all)"
        ));
    }
    missing
}

#[cfg(test)]
mod tests {
    use alloc::borrow::ToOwned;
    use alloc::vec;

    use super::*;
    use crate::request::Request;

    fn plan(files: bool, network: bool) -> Plan {
        let request = Request {
            restricts_files: files,
            read_only: Vec::new(),
            read_write: Vec::new(),
            deny: Vec::new(),
            connect: network.then(Vec::new),
            bind: None,
            devices: false,
            best_effort: false,
        };
        Plan::new(request).unwrap()
    }

    /// What older kernels lack, named with the ABI that has it: the
    /// messages of the refusal (and of best effort) on such kernels.
    #[test]
    fn older_abis_are_told_what_they_cannot_enforce() {
        let several = Threads::Several("2 threads run".to_owned());
        assert_eq!(missing(&plan(true, true), &Threads::One, 7), [] as [String; 0]);
        let scopes = "the scopes that keep signals and abstract UNIX sockets inside the sandbox (ABI 6)";
        assert_eq!(
            missing(&plan(true, true), &Threads::One, 3),
            ["the ioctl_dev right (ABI 5)", "TCP port rules (ABI 4)", scopes]
        );
        assert_eq!(
            missing(&plan(true, false), &Threads::One, 1),
            ["the refer right (ABI 2)", "the truncate right (ABI 3)", "the ioctl_dev right (ABI 5)", scopes]
        );
        assert_eq!(missing(&plan(false, true), &Threads::One, 5), [scopes]);
        assert_eq!(missing(&plan(false, true), &several, 8), [] as [String; 0]);
        assert_eq!(
            missing(&plan(false, false), &several, 7),
            vec![
                "the other threads: 2 threads run, and it restricts the calling thread only (ABI 8 restricts them all)"
            ]
        );
    }

    #[test]
    fn files_take_file_rights_only() {
        assert_eq!(access(Rights::ReadOnly, false), rights::EXECUTE | rights::READ_FILE);
        assert_ne!(access(Rights::ReadWrite, true) & rights::MAKE_REG, 0);
        assert_eq!(access(Rights::ReadWrite, false) & rights::MAKE_REG, 0);
        assert_ne!(access(Rights::ReadWrite, false) & rights::TRUNCATE, 0);
        let write_only = Rights::Reopen { read: false, write: true };
        assert_eq!(access(write_only, false), rights::WRITE_FILE | rights::TRUNCATE);
        assert_eq!(access(Rights::Reopen { read: true, write: false }, false), rights::READ_FILE);
    }
}
