//! Enforcing a [`Plan`] on the calling process with the `landlock` crate.
//!
//! Compatibility is decided here, explicitly, before anything is enforced:
//! the kernel's Landlock ABI is compared with what the plan needs, and a
//! shortfall is an error naming it, unless the request is best-effort, in
//! which case the crate enforces what the kernel can and the shortfall is
//! reported as dropped.

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, PathBeneath, RestrictSelfAttr,
    Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetError,
};
use thiserror::Error;

use crate::plan::{Plan, Rights};

/// The ABI whose filesystem rights the rules handle: execute, read and write
/// files, list directories, remove, create (files, directories, links,
/// devices, sockets, fifos), refer (link or rename across directories),
/// truncate, ioctl on devices. Later rights (connecting to pathname UNIX
/// sockets, ABI 9) are left alone: nothing in a request speaks of them.
const FILES_ABI: ABI = ABI::V5;
/// TCP `bind` and `connect` rules.
const NETWORK_ABI: i32 = 4;
/// `LANDLOCK_RESTRICT_SELF_TSYNC`: restricting every thread, not just the caller.
const ALL_THREADS_ABI: i32 = 8;

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
        match std::fs::read_dir("/proc/self/task") {
            Ok(tasks) => match tasks.count() {
                1 => Threads::One,
                count => Threads::Several(format!("{count} threads run")),
            },
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
#[derive(Debug, Error)]
pub enum EnforceError {
    /// Landlock is not available.
    #[error("Landlock is not available on this kernel ({0}), so the filesystem and network rules cannot be enforced")]
    Unavailable(&'static str),
    /// The kernel's Landlock is too old for part of the request.
    #[error("this kernel's Landlock (ABI {kernel}) cannot enforce {missing}")]
    TooOld {
        /// The kernel's ABI.
        kernel: i32,
        /// What needs a newer ABI, and which.
        missing: String,
    },
    /// The crate or the kernel refused.
    #[error("Landlock: {0}")]
    Kernel(#[from] RulesetError),
}

/// The kernel's Landlock ABI, or why there is none.
pub fn kernel_abi() -> Result<i32, &'static str> {
    // SAFETY: with a NULL attribute, size 0 and the VERSION flag the call
    // only returns the ABI version; it touches no memory.
    let version = unsafe {
        libc::syscall(libc::SYS_landlock_create_ruleset, std::ptr::null::<u8>(), 0usize, 1u32 /* VERSION */)
    };
    if version > 0 {
        return Ok(version as i32);
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::EOPNOTSUPP) => Err("disabled at boot"),
        _ => Err("not built in"),
    }
}

/// Enforces `plan` on the calling process (and, if `threads` says so, on
/// every thread). Inherited across fork and exec, and cannot be undone.
pub fn enforce(plan: &Plan, threads: &Threads) -> Result<Enforced, EnforceError> {
    let request = &plan.request;
    let kernel = kernel_abi();
    let shortfall = match kernel {
        Ok(kernel) => missing(plan, threads, kernel),
        Err(reason) if !request.best_effort => return Err(EnforceError::Unavailable(reason)),
        Err(reason) => vec![format!("every rule (Landlock is {reason})")],
    };
    if let Ok(kernel) = kernel
        && !shortfall.is_empty()
        && !request.best_effort
    {
        return Err(EnforceError::TooOld { kernel, missing: shortfall.join("; ") });
    }
    let level = if request.best_effort { CompatLevel::BestEffort } else { CompatLevel::HardRequirement };
    let mut ruleset = Ruleset::default().set_compatibility(level);
    if request.restricts_files {
        ruleset = ruleset.handle_access(AccessFs::from_all(FILES_ABI))?;
    }
    if request.connect.is_some() {
        ruleset = ruleset.handle_access(AccessNet::ConnectTcp)?;
    }
    if request.bind.is_some() {
        ruleset = ruleset.handle_access(AccessNet::BindTcp)?;
    }
    let mut created = ruleset.create()?;
    for grant in &plan.grants {
        created = created.add_rule(PathBeneath::new(&grant.fd, access(grant.rights, grant.directory)))?;
    }
    for (ports, access) in [(&request.connect, AccessNet::ConnectTcp), (&request.bind, AccessNet::BindTcp)] {
        for &port in ports.iter().flatten() {
            created = created.add_rule(NetPort::new(port, access))?;
        }
    }
    if let Threads::Several(_) = threads {
        created = created.all_threads(true)?;
    }
    created.restrict_self()?;
    Ok(Enforced { kernel_abi: kernel.ok(), dropped: shortfall })
}

/// The rights of a grant: files take file rights only.
fn access(rights: Rights, directory: bool) -> BitFlags<AccessFs> {
    let access = match rights {
        Rights::ReadOnly => AccessFs::from_read(FILES_ABI),
        Rights::ReadWrite => AccessFs::from_all(FILES_ABI),
        Rights::ListOnly => AccessFs::ReadDir.into(),
        Rights::Run => AccessFs::Execute | AccessFs::ReadFile,
    };
    if directory { access } else { access & AccessFs::from_file(FILES_ABI) }
}

/// What a kernel with Landlock ABI `kernel` cannot enforce of `plan`, one
/// phrase each, naming the ABI that can.
fn missing(plan: &Plan, threads: &Threads, kernel: i32) -> Vec<String> {
    let mut missing = Vec::new();
    if plan.request.restricts_files {
        let supported = AccessFs::from_all(ABI::from(kernel));
        for right in AccessFs::from_all(FILES_ABI).iter().filter(|right| !supported.contains(*right)) {
            let since = (1..).find(|&abi| AccessFs::from_all(ABI::from(abi)).contains(right)).expect("a known right");
            missing.push(format!("the {} right (ABI {since})", right_name(right)));
        }
    }
    if (plan.request.connect.is_some() || plan.request.bind.is_some()) && kernel < NETWORK_ABI {
        missing.push(format!("TCP port rules (ABI {NETWORK_ABI})"));
    }
    if let Threads::Several(why) = threads {
        if kernel < ALL_THREADS_ABI {
            missing.push(format!(
                "the other threads: {why}, and it restricts the calling thread only (ABI {ALL_THREADS_ABI} restricts them all)"
            ));
        }
    }
    missing
}

/// `IoctlDev` → `ioctl_dev`: the kernel's name for a right.
fn right_name(right: AccessFs) -> String {
    let mut name = String::new();
    for (index, c) in format!("{right:?}").chars().enumerate() {
        if c.is_ascii_uppercase() && index > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_lowercase());
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rights_are_named_as_the_kernel_names_them() {
        assert_eq!(right_name(AccessFs::IoctlDev), "ioctl_dev");
        assert_eq!(right_name(AccessFs::Refer), "refer");
        assert_eq!(right_name(AccessFs::MakeReg), "make_reg");
    }

    fn plan(files: bool, network: bool) -> Plan {
        let request = crate::Request {
            restricts_files: files,
            read_only: Vec::new(),
            read_write: Vec::new(),
            deny: Vec::new(),
            connect: network.then(Vec::new),
            bind: None,
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
        assert_eq!(
            missing(&plan(true, true), &Threads::One, 3),
            ["the ioctl_dev right (ABI 5)", "TCP port rules (ABI 4)"]
        );
        assert_eq!(
            missing(&plan(true, false), &Threads::One, 1),
            ["the refer right (ABI 2)", "the truncate right (ABI 3)", "the ioctl_dev right (ABI 5)"]
        );
        assert_eq!(missing(&plan(false, true), &several, 8), [] as [String; 0]);
        assert_eq!(
            missing(&plan(false, false), &several, 7),
            ["the other threads: 2 threads run, and it restricts the calling thread only (ABI 8 restricts them all)"]
        );
    }

    #[test]
    fn files_take_file_rights_only() {
        assert_eq!(access(Rights::ReadOnly, false), AccessFs::Execute | AccessFs::ReadFile);
        assert!(access(Rights::ReadWrite, true).contains(AccessFs::MakeReg));
        assert!(!access(Rights::ReadWrite, false).contains(AccessFs::MakeReg));
        assert!(access(Rights::ReadWrite, false).contains(AccessFs::Truncate));
    }
}
