//! The cgroups made for PROGRAM: each `sandboxify-PID` child cgroup made
//! with its limits written, PROGRAM's process moved in, and, once PROGRAM
//! has ended, whatever is left killed (with `cgroup.kill` in v2; in v1,
//! which has none, with SIGKILL to each process `cgroup.procs` lists until
//! it lists none) and the cgroup removed.

use std::fs;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;

use super::discovery::{Hierarchies, Hierarchy};
use super::{CgroupError, FileError, Request, Version, read, write};
use crate::container::{SetupError, failed};

/// A child cgroup `sandboxify-PID` made for PROGRAM, with its limits
/// written.
#[derive(Debug)]
struct Cgroup {
    version: Version,
    dir: PathBuf,
    /// The controllers it limits, for the report.
    controllers: Vec<&'static str>,
    /// What was written (`FILE=VALUE`) or skipped, for the report.
    written: Vec<String>,
}

impl Cgroup {
    /// Makes the child cgroup of `hierarchy` for the `requests` (all of
    /// them located there), with cgroup v2's controllers enabled for it
    /// first, and writes their settings; or says why not, leaving nothing.
    fn create(hierarchy: &Hierarchy, requests: &[&Request]) -> Result<Cgroup, CgroupError> {
        let version = hierarchy.version;
        let file_error = |error| CgroupError::File { version, error };
        if version == Version::V2 {
            enable_controllers(&hierarchy.parent, requests)?;
        }
        let dir = hierarchy.parent.join(format!("sandboxify-{}", std::process::id()));
        fs::create_dir(&dir).map_err(|error| match FileError::new(&dir, error) {
            error if version == Version::V1 && matches!(error.errno, Errno::EACCES | Errno::EPERM) => {
                CgroupError::V1Denied(error)
            }
            error => file_error(error),
        })?;
        let controllers = requests.iter().map(|request| request.controller).collect();
        let mut cgroup = Cgroup { version, dir, controllers, written: Vec::new() };
        for setting in requests.iter().flat_map(|request| request.settings(version)) {
            let path = cgroup.dir.join(setting.file);
            if let Some(meaning) = setting.if_absent.filter(|_| !path.exists()) {
                cgroup.written.push(format!("(no {}: {meaning})", setting.file));
                continue;
            }
            if let Err(error) = write(&path, &setting.value) {
                cgroup.remove();
                return Err(file_error(error));
            }
            cgroup.written.push(format!("{}={}", setting.file, setting.value));
        }
        Ok(cgroup)
    }

    /// Moves process `pid` into the cgroup.
    fn add(&self, pid: libc::pid_t) -> Result<(), SetupError> {
        let path = self.dir.join("cgroup.procs");
        write(&path, &pid.to_string())
            .map_err(|error| failed(format!("cannot move into {}", path.display()))(error.errno))
    }

    /// Kills whatever is left in the cgroup and removes it; reports (without
    /// failing) when it cannot.
    fn remove(self) {
        self.kill_all();
        // The killed processes leave a v2 cgroup once their parents reap them.
        let mut attempts = 0;
        let error = loop {
            match fs::remove_dir(&self.dir) {
                Ok(()) => return,
                Err(error) if error.raw_os_error() == Some(libc::EBUSY) && attempts < ATTEMPTS => {
                    attempts += 1;
                    std::thread::sleep(PAUSE);
                }
                Err(error) => break error,
            }
        };
        eprintln!("sandboxify: cannot remove the cgroup {}: {error}", self.dir.display());
    }

    /// Sends SIGKILL to every process in the cgroup: through `cgroup.kill`
    /// in v2 (since Linux 5.14); otherwise, and always in v1, to each
    /// process `cgroup.procs` lists, until it lists none (a bounded number
    /// of rounds: one that forks meanwhile is listed in the next round).
    fn kill_all(&self) {
        if self.version == Version::V2 && write(&self.dir.join("cgroup.kill"), "1").is_ok() {
            return;
        }
        let procs = self.dir.join("cgroup.procs");
        for _ in 0..ATTEMPTS {
            let listed = process_ids(&procs);
            if listed.is_empty() {
                return;
            }
            // A process ID read from the list may be freed and reused by an
            // unrelated process before it is signalled. So a pidfd is opened
            // first, and only one whose ID is listed again afterwards is
            // killed: if its process were gone, the signal would fail with
            // ESRCH; alive, it still holds the ID, so it is the one listed.
            let opened: Vec<(libc::pid_t, OwnedFd)> =
                listed.into_iter().filter_map(|pid| Some((pid, pidfd_open(pid)?))).collect();
            let still = process_ids(&procs);
            for (_, pidfd) in opened.iter().filter(|(pid, _)| still.contains(pid)) {
                pidfd_kill(pidfd);
            }
            std::thread::sleep(PAUSE);
        }
    }

    /// `DIR: FILE=VALUE...` in v2; `CONTROLLERS DIR FILE=VALUE...` in v1,
    /// where each hierarchy has its own directory.
    fn describe(&self) -> String {
        let written = self.written.join(" ");
        match self.version {
            Version::V2 => format!("{}: {written}", self.dir.display()),
            Version::V1 => format!("{} {} {written}", self.controllers.join(","), self.dir.display()),
        }
    }
}

/// How often removal is tried while the killed processes die, and how long
/// apart: a second at most.
const ATTEMPTS: u32 = 200;
const PAUSE: Duration = Duration::from_millis(5);

/// Enables the controllers of `requests` for the children of cgroup v2
/// cgroup `parent` where they are not yet. They are left enabled
/// afterwards: other cgroups may rely on them by then.
fn enable_controllers(parent: &Path, requests: &[&Request]) -> Result<(), CgroupError> {
    let path = parent.join("cgroup.subtree_control");
    let enabled = read(&path).map_err(|error| CgroupError::File { version: Version::V2, error })?;
    let enable: Vec<String> = requests
        .iter()
        .map(|request| request.controller)
        .filter(|controller| !enabled.split_whitespace().any(|name| name == *controller))
        .map(|controller| format!("+{controller}"))
        .collect();
    if enable.is_empty() {
        return Ok(());
    }
    write(&path, &enable.join(" ")).map_err(|error| match error.errno {
        Errno::EBUSY => CgroupError::Busy(error),
        _ => CgroupError::File { version: Version::V2, error },
    })
}

/// The process IDs a `cgroup.procs` file lists; none if it cannot be read.
fn process_ids(path: &Path) -> Vec<libc::pid_t> {
    fs::read_to_string(path).unwrap_or_default().lines().filter_map(|line| line.trim().parse().ok()).collect()
}

/// A pidfd for process `pid`, or None if there is no such process.
fn pidfd_open(pid: libc::pid_t) -> Option<OwnedFd> {
    // SAFETY: pidfd_open(2) takes a process ID and flags, no pointer.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: on success the result is a new descriptor that nothing else owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// SIGKILL to the process of `pidfd`; nothing if it has ended.
fn pidfd_kill(pidfd: &OwnedFd) {
    // SAFETY: pidfd_send_signal(2) with a valid pidfd, a valid signal, no
    // siginfo (a null pointer is allowed) and no flags.
    unsafe { libc::syscall(libc::SYS_pidfd_send_signal, pidfd.as_raw_fd(), libc::SIGKILL, std::ptr::null::<u8>(), 0) };
}

/// The cgroups PROGRAM goes into: at most one in cgroup v2 and one per
/// cgroup v1 hierarchy. Not removed on drop: the process that becomes
/// PROGRAM holds a copy too, and the supervisor removes them.
#[derive(Debug, Default)]
pub struct Cgroups(Vec<Cgroup>);

impl Cgroups {
    /// Makes the cgroups for `requests`: each goes where
    /// [`Hierarchies::locate`] finds its controller, all those in one
    /// hierarchy into one cgroup. Returns the cgroups made, and for each
    /// request that could not be placed (by index, in order) why not.
    pub fn create(requests: &[&Request]) -> (Cgroups, Vec<(usize, CgroupError)>) {
        let hierarchies = match Hierarchies::read() {
            Ok(hierarchies) => hierarchies,
            Err(error) => {
                return (Cgroups::default(), (0..requests.len()).map(|index| (index, error.clone())).collect());
            }
        };
        let mut groups: Vec<(Hierarchy, Vec<usize>)> = Vec::new();
        let mut unplaced = Vec::new();
        for (index, request) in requests.iter().enumerate() {
            match hierarchies.locate(request.controller) {
                Ok(hierarchy) => match groups.iter_mut().find(|(known, _)| *known == hierarchy) {
                    Some((_, indices)) => indices.push(index),
                    None => groups.push((hierarchy, vec![index])),
                },
                Err(error) => unplaced.push((index, error)),
            }
        }
        let mut cgroups = Cgroups::default();
        for (hierarchy, indices) in groups {
            let group: Vec<&Request> = indices.iter().map(|&index| requests[index]).collect();
            match Cgroup::create(&hierarchy, &group) {
                Ok(cgroup) => cgroups.0.push(cgroup),
                Err(error) => unplaced.extend(indices.into_iter().map(|index| (index, error.clone()))),
            }
        }
        unplaced.sort_by_key(|(index, _)| *index);
        (cgroups, unplaced)
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Moves process `pid` into every one of them.
    pub fn add(&self, pid: libc::pid_t) -> Result<(), SetupError> {
        self.0.iter().try_for_each(|cgroup| cgroup.add(pid))
    }

    /// Kills whatever is left in them and removes them; reports (without
    /// failing) what cannot be removed.
    pub fn remove(self) {
        self.0.into_iter().for_each(Cgroup::remove);
    }

    /// What they limit, one line per interface: `limits in cgroup v2 DIR:
    /// FILE=VALUE...`, `limits in cgroup v1: CONTROLLERS DIR FILE=VALUE...;
    /// ...`.
    pub fn report(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for version in [Version::V2, Version::V1] {
            let described: Vec<String> =
                self.0.iter().filter(|cgroup| cgroup.version == version).map(Cgroup::describe).collect();
            match version {
                _ if described.is_empty() => {}
                Version::V2 => lines.extend(described.into_iter().map(|text| format!("limits in cgroup v2 {text}"))),
                Version::V1 => lines.push(format!("limits in cgroup v1: {}", described.join("; "))),
            }
        }
        lines
    }
}
