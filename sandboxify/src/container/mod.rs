//! The container-style sandbox: namespaces, a new root and resource limits,
//! all set up before the seccomp filter (and, later, the Landlock ruleset)
//! goes in, so that their lists need none of the setup's system calls.
//!
//! [`Sandbox::enter`] runs first in sandboxify's run step, then hands the
//! [`Launch`] to the step that installs the filter and execs. In order:
//!
//! 1. limits that need the caller's own credentials: child cgroups are
//!    created with their limits written (cgroup v2, else cgroup v1:
//!    [`cgroup`]), or for a limit no cgroup can have the rlimit fallback is
//!    chosen (or the run is refused): [`limits`];
//! 2. the namespaces. With `--unshare-pid` or a cgroup, a new process is
//!    started in them (`clone`), the PID namespace's init (PROGRAM runs in
//!    a child of it) or PROGRAM, and sandboxify's own process stays outside
//!    to supervise it ([`supervisor`]); otherwise sandboxify's process moves into them
//!    itself (`unshare`) and the exec chain is kept;
//! 3. from inside: user and group maps, private mounts, `lo` up, the host
//!    name ([`namespaces`]);
//! 4. the new root, ending with `pivot_root` and the old root detached, or
//!    with `--unshare-pid` alone a fresh /proc ([`mounts`]);
//! 5. `--chdir`, PROGRAM looked up in the new root, the rlimits, the
//!    capabilities dropped;
//! 6. with `--unshare-pid`, the init's fork: PROGRAM's process goes on.
//!
//! Any failure stops everything with status 125 before PROGRAM runs.

mod cgroup;
mod limits;
mod mountinfo;
mod mounts;
mod namespaces;
mod options;
mod supervisor;

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use nix::errno::Errno;

use crate::failure::Failure;
pub use crate::failure::SetupError;
use crate::launch::Launch;
use crate::program;
use limits::Limits;
use namespaces::Namespaces;
pub use options::{CpuMax, LimitOptions, Mount, NamespaceOptions, Options};

/// An error that carries an errno.
trait ToErrno {
    fn to_errno(self) -> Errno;
}

impl ToErrno for Errno {
    fn to_errno(self) -> Errno {
        self
    }
}

impl ToErrno for std::io::Error {
    fn to_errno(self) -> Errno {
        Errno::from_raw(self.raw_os_error().unwrap_or(libc::EIO))
    }
}

/// For `map_err`: the step that failed.
fn failed<E: ToErrno>(step: impl Into<String>) -> impl FnOnce(E) -> SetupError {
    move |error| SetupError::Call { step: step.into(), errno: error.to_errno(), hint: None }
}

/// A hexadecimal mask from `/proc/PID/status` (`CapEff`, `SigCgt`...), or
/// None if the process or the field is gone.
fn status_mask(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let value = status.lines().find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))?;
    u64::from_str_radix(value.trim(), 16).ok()
}

/// Capability numbers (linux/capability.h), for the bits of `CapEff`.
const CAP_SYS_ADMIN: u32 = 21;
const CAP_SYS_RESOURCE: u32 = 24;

/// Who runs sandboxify, as the kernel judges it.
#[derive(Clone, Copy, Debug)]
struct Caller {
    /// Real user id (RLIMIT_NPROC counts by it).
    uid: u32,
    /// Effective ids: what a user namespace maps.
    euid: u32,
    egid: u32,
    /// Effective capabilities.
    capabilities: u64,
}

impl Caller {
    fn current() -> Caller {
        Caller {
            uid: nix::unistd::getuid().as_raw(),
            euid: nix::unistd::geteuid().as_raw(),
            egid: nix::unistd::getegid().as_raw(),
            capabilities: status_mask("self", "CapEff").unwrap_or(0),
        }
    }

    fn has(&self, capability: u32) -> bool {
        self.capabilities & (1 << capability) != 0
    }

    /// Whether namespaces and mounts need no user namespace (root).
    fn privileged(&self) -> bool {
        self.has(CAP_SYS_ADMIN)
    }

    /// Whether the kernel ignores RLIMIT_NPROC for this caller's processes
    /// (kernel/fork.c: root's user, CAP_SYS_RESOURCE, CAP_SYS_ADMIN).
    fn ignores_nproc(&self) -> bool {
        self.uid == 0 || self.has(CAP_SYS_RESOURCE) || self.has(CAP_SYS_ADMIN)
    }
}

/// Everything the container options ask for, checked; [`Sandbox::enter`]
/// sets it up.
pub struct Sandbox {
    /// Who runs sandboxify; None when nothing is asked that depends on it.
    caller: Option<Caller>,
    namespaces: Namespaces,
    mounts: Vec<Mount>,
    chdir: Option<PathBuf>,
    limits: Limits,
    /// PROGRAM as given and the PATH to find it with, when it must be
    /// looked up in the new root.
    program: OsString,
    path_variable: Option<OsString>,
}

impl Sandbox {
    /// Checks `options` for running `program` (found through
    /// `path_variable`); with no container option, [`Sandbox::enter`] does
    /// nothing.
    pub fn new(
        options: &Options,
        program: &OsStr,
        path_variable: Option<&OsStr>,
        verbose: bool,
    ) -> Result<Sandbox, Failure> {
        let mounts = options.root.mounts.clone();
        let namespaces = &options.namespaces;
        if !namespaces.unshare_pid && mounts.iter().any(|mount| matches!(mount, Mount::Proc(_))) {
            return Err(Failure::Usage(
                "--proc needs --unshare-pid: a proc file system shows the processes of the PID namespace it is \
                 mounted from, here the host's"
                    .to_owned(),
            ));
        }
        let wants_namespaces = namespaces.unshare_user
            || namespaces.map_root
            || namespaces.unshare_net
            || namespaces.unshare_pid
            || namespaces.unshare_ipc
            || namespaces.unshare_uts
            || !mounts.is_empty();
        let limits = Limits::new(&options.limits, verbose);
        // Reading the caller costs a file read: only when needed.
        let caller = (wants_namespaces || !limits.is_empty()).then(Caller::current);
        Ok(Sandbox {
            caller,
            namespaces: caller
                .map(|caller| Namespaces::new(namespaces, !mounts.is_empty(), caller))
                .unwrap_or_default(),
            mounts,
            chdir: options.root.chdir.clone(),
            limits,
            program: program.to_owned(),
            path_variable: path_variable.map(OsStr::to_owned),
        })
    }

    /// Whether any namespace, new root or limit is asked for.
    pub fn confines(&self) -> bool {
        self.caller.is_some()
    }

    /// Whether PROGRAM must be looked up in the new root instead of now.
    pub fn has_new_root(&self) -> bool {
        !self.mounts.is_empty()
    }

    /// Whether paths may lead elsewhere once the sandbox is set up: in a
    /// new root, or under the fresh /proc of `--unshare-pid`, which a
    /// Landlock rule opened now on the host's /proc would not cover.
    pub fn moves_paths(&self) -> bool {
        self.has_new_root() || self.namespaces.pid()
    }

    /// Refuses the reporter (permissive mode's, named kills', counts')
    /// where it cannot work: it is started from the confined process, so in
    /// a PID namespace it would be killed with PROGRAM, and in a cgroup it
    /// would be killed at cleanup, before writing its report.
    pub fn allows_reporter(&self) -> Result<(), Failure> {
        if self.namespaces.pid() || self.limits.wants_cgroup() {
            return Err(Failure::Usage(
                "a reporter (log actions, SANDBOX_REPORT_KILLS=1, SANDBOX_REPORT_COUNTS) cannot be combined with \
                 --unshare-pid or cgroup limits (--preload names kills and counts from inside PROGRAM)"
                    .to_owned(),
            ));
        }
        Ok(())
    }

    /// Sets the sandbox up, then runs `exec` (which installs the filter and
    /// execs PROGRAM) in the process that becomes PROGRAM. Returns only on
    /// failure; with a supervisor, sandboxify's own process ends as PROGRAM
    /// ends, in [`supervisor`].
    pub fn enter(self, mut launch: Launch, exec: Box<dyn FnOnce(Launch) -> Failure>) -> Failure {
        match self.set_up(&mut launch) {
            Ok(()) => exec(launch),
            Err(failure) => failure,
        }
    }

    fn set_up(self, launch: &mut Launch) -> Result<(), Failure> {
        let Some(caller) = self.caller else {
            // Nothing but --chdir, if anything.
            return self.change_directory();
        };
        let mut limits = self.limits.establish(caller)?;
        let flags = self.namespaces.flags();
        let mut started = None;
        if self.namespaces.pid() || limits.has_cgroups() {
            started = Some(supervisor::start(flags, limits.take_cgroups())?);
        } else if !flags.is_empty() {
            nix::sched::unshare(flags).map_err(namespaces::creation_failed)?;
        }
        self.namespaces.configure()?;
        if self.has_new_root() {
            mounts::build_root(&self.mounts)?;
        } else if self.namespaces.pid() {
            mounts::mount_fresh_proc()?;
        }
        self.change_directory()?;
        if self.has_new_root() {
            launch.set_path(self.find_program()?);
        }
        limits.apply_rlimits()?;
        self.namespaces.drop_capabilities()?;
        match started {
            Some(started) if self.namespaces.pid() => supervisor::become_init(started),
            _ => Ok(()),
        }
    }

    fn change_directory(&self) -> Result<(), Failure> {
        if let Some(directory) = &self.chdir {
            nix::unistd::chdir(directory).map_err(failed(format!("--chdir {}", directory.display())))?;
        }
        Ok(())
    }

    /// PROGRAM, looked up in the new root as env(1) would there.
    fn find_program(&self) -> Result<CString, Failure> {
        let path = program::resolve(&self.program, self.path_variable.as_deref()).map_err(|failure| match failure {
            Failure::NotFound { program } => Failure::NotFoundInNewRoot { program },
            other => other,
        })?;
        // prepare() has made argv and the environment C strings already.
        Ok(CString::new(path.as_os_str().as_bytes()).expect("PROGRAM and PATH have no NUL byte"))
    }
}
