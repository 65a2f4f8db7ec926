//! The cgroups that hold the limits: where each controller can be had, the
//! `sandboxify-PID` cgroups made for PROGRAM, moving it in, removing them.
//!
//! Two interfaces, in this order for each controller:
//!
//! 1. **cgroup v2**, found, not assumed: the `cgroup2` mount in
//!    /proc/self/mountinfo (anywhere: /sys/fs/cgroup on a pure v2 machine,
//!    /sys/fs/cgroup/unified on a hybrid one), this process's cgroup from
//!    the `0::` line of /proc/self/cgroup, and the controllers that cgroup
//!    offers (`cgroup.controllers`). One child cgroup holds every v2 limit.
//! 2. **cgroup v1**, for a controller the v2 tree does not have (a hybrid
//!    machine): the hierarchy that has it (a `cgroup` mount whose super
//!    options name it) and this process's cgroup there (the
//!    `N:CONTROLLERS:PATH` line of /proc/self/cgroup). One child cgroup per
//!    hierarchy. v1 has no safe delegation to ordinary users, so in
//!    practice this tier is root's.
//!
//! All the child cgroups are named `sandboxify-PID`. The supervisor moves
//! PROGRAM's process into each before it runs anything, and removes them
//! when PROGRAM has ended, killing what is left: with `cgroup.kill` in v2;
//! in v1, which has none, with SIGKILL to each process `cgroup.procs` lists
//! until it lists none.

use std::fmt;
use std::fs;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use thiserror::Error;

use super::{SetupError, ToErrno, errno_text, failed, mountinfo};

/// A cgroup interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// The legacy interface: one hierarchy per controller (or group of
    /// co-mounted controllers).
    V1,
    /// The unified hierarchy.
    V2,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Version::V1 => "v1",
            Version::V2 => "v2",
        })
    }
}

/// One file of a controller, and the value written to it.
#[derive(Clone, Debug)]
pub struct Setting {
    file: &'static str,
    value: String,
    /// For a file the kernel may lack (swap accounting off): what its
    /// absence means, said in the report. None: the file must be there.
    if_absent: Option<&'static str>,
}

impl Setting {
    /// A file that must be written.
    pub fn required(file: &'static str, value: impl ToString) -> Setting {
        Setting { file, value: value.to_string(), if_absent: None }
    }

    /// A file that is written if the kernel has it; `if_absent` says what
    /// its absence means.
    pub fn optional(file: &'static str, value: impl ToString, if_absent: &'static str) -> Setting {
        Setting { file, value: value.to_string(), if_absent: Some(if_absent) }
    }
}

/// What one limit needs from a cgroup: its controller, and the files to
/// write in each interface, in order.
#[derive(Debug)]
pub struct Request {
    /// The controller, such as `pids`.
    pub controller: &'static str,
    /// The settings in a cgroup v2 cgroup.
    pub v2: Vec<Setting>,
    /// The settings in a cgroup v1 cgroup.
    pub v1: Vec<Setting>,
}

impl Request {
    fn settings(&self, version: Version) -> &[Setting] {
        match version {
            Version::V1 => &self.v1,
            Version::V2 => &self.v2,
        }
    }
}

/// Why a cgroup cannot hold a limit. One line each.
#[derive(Clone, Debug, Error)]
pub enum CgroupError {
    /// Neither interface has the controller for this process.
    #[error("{v2}, and {v1}")]
    Unavailable {
        /// Why not cgroup v2.
        v2: V2Missing,
        /// Why not cgroup v1.
        v1: V1Missing,
    },
    /// A file could not be read, written or made.
    #[error("cgroup {version}: {error}")]
    File {
        /// The interface the file belongs to.
        version: Version,
        /// Which file, and how it failed.
        error: FileError,
    },
    /// cgroup v2 does not enable controllers for the children of a cgroup
    /// that has processes of its own.
    #[error(
        "cgroup v2: {0}: the cgroup has processes of its own; run sandboxify in a cgroup delegated to you, e.g. \
         under systemd-run --user --scope -p Delegate=yes"
    )]
    Busy(FileError),
    /// This caller may not make a cgroup in a cgroup v1 hierarchy.
    #[error("cgroup v1: {0} (cgroup v1 has no safe delegation to ordinary users: in practice it is root's)")]
    V1Denied(FileError),
    /// /proc/self/cgroup or /proc/self/mountinfo could not be read.
    #[error("{0}")]
    Proc(FileError),
}

/// Why cgroup v2 cannot have a controller for this process.
#[derive(Clone, Debug, Error)]
pub enum V2Missing {
    /// No `0::` line in /proc/self/cgroup.
    #[error("this process is in no cgroup v2 hierarchy (no 0:: line in /proc/self/cgroup)")]
    NotMember,
    /// No cgroup2 mount shows this process's cgroup.
    #[error("no cgroup2 file system mounted here shows this process's cgroup {0} (see /proc/self/mountinfo)")]
    NotMounted(String),
    /// `cgroup.controllers` could not be read.
    #[error("cgroup v2: {0}")]
    Unreadable(FileError),
    /// This process's cgroup does not offer the controller.
    #[error("cgroup v2 {} offers no {controller} controller, only {offered}", .dir.display())]
    NotOffered {
        /// This process's cgroup.
        dir: PathBuf,
        /// The controller asked for.
        controller: &'static str,
        /// What it offers instead (`none` if nothing).
        offered: String,
    },
}

/// Why no cgroup v1 hierarchy can have a controller for this process.
#[derive(Clone, Debug, Error)]
pub enum V1Missing {
    /// No line of /proc/self/cgroup names the controller.
    #[error("no cgroup v1 hierarchy has the {0} controller")]
    NoHierarchy(&'static str),
    /// The hierarchy exists, but no `cgroup` mount shows this process's
    /// cgroup in it.
    #[error(
        "no cgroup v1 file system mounted here shows this process's {controller} cgroup {own} (see /proc/self/mountinfo)"
    )]
    NotMounted {
        /// The controller asked for.
        controller: &'static str,
        /// This process's cgroup in its hierarchy.
        own: String,
    },
}

/// Where this process is in each cgroup hierarchy, and where those are
/// mounted, read once.
pub struct Hierarchies {
    /// /proc/self/cgroup: `N:CONTROLLERS:PATH` lines (`0::PATH` for v2).
    memberships: String,
    /// /proc/self/mountinfo.
    mountinfo: String,
}

impl Hierarchies {
    /// Reads /proc/self/cgroup and /proc/self/mountinfo.
    pub fn read() -> Result<Hierarchies, CgroupError> {
        let read_proc = |path: &str| read(Path::new(path)).map_err(CgroupError::Proc);
        Ok(Hierarchies { memberships: read_proc("/proc/self/cgroup")?, mountinfo: read_proc("/proc/self/mountinfo")? })
    }

    /// This process's cgroup in the interface that has `controller` for it:
    /// cgroup v2 if its cgroup there offers it, else the cgroup v1 hierarchy
    /// that has it.
    fn locate(&self, controller: &'static str) -> Result<Hierarchy, CgroupError> {
        let v2 = match self.v2_dir() {
            Ok(dir) => match read(&dir.join("cgroup.controllers")) {
                Ok(offered) if offered.split_whitespace().any(|name| name == controller) => {
                    return Ok(Hierarchy { version: Version::V2, parent: dir });
                }
                Ok(offered) => {
                    let offered = if offered.trim().is_empty() { "none" } else { offered.trim() };
                    V2Missing::NotOffered { dir, controller, offered: offered.to_owned() }
                }
                Err(error) => V2Missing::Unreadable(error),
            },
            Err(missing) => missing,
        };
        match v1_dir(&self.memberships, &self.mountinfo, controller) {
            Ok(parent) => Ok(Hierarchy { version: Version::V1, parent }),
            Err(v1) => Err(CgroupError::Unavailable { v2, v1 }),
        }
    }

    /// This process's cgroup v2 directory.
    fn v2_dir(&self) -> Result<PathBuf, V2Missing> {
        let own = self.memberships.lines().find_map(|line| line.strip_prefix("0::")).ok_or(V2Missing::NotMember)?;
        mounted_dir(&self.mountinfo, own, |fstype, _| fstype == "cgroup2")
            .ok_or_else(|| V2Missing::NotMounted(own.to_owned()))
    }
}

/// This process's cgroup directory in the cgroup v1 hierarchy of
/// `controller`, from /proc/self/cgroup (`memberships`) and `mountinfo`.
fn v1_dir(memberships: &str, mountinfo: &str, controller: &'static str) -> Result<PathBuf, V1Missing> {
    let names = |list: &str| list.split(',').any(|name| name == controller);
    let own = memberships
        .lines()
        .find_map(|line| {
            let mut fields = line.splitn(3, ':');
            let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
            names(controllers).then_some(path)
        })
        .ok_or(V1Missing::NoHierarchy(controller))?;
    mounted_dir(mountinfo, own, |fstype, options| fstype == "cgroup" && names(options))
        .ok_or_else(|| V1Missing::NotMounted { controller, own: own.to_owned() })
}

/// The directory of cgroup `own` under the first mount in `mountinfo`
/// whose file system type and super options `wanted` accepts and whose
/// root holds `own`.
fn mounted_dir(mountinfo: &str, own: &str, wanted: impl Fn(&str, &str) -> bool) -> Option<PathBuf> {
    mountinfo::entries(mountinfo).find_map(|entry| {
        if !wanted(entry.fstype, entry.super_options) {
            return None;
        }
        let relative = Path::new(own).strip_prefix(&entry.root).ok()?;
        Some(entry.mount_point.join(relative))
    })
}

/// This process's cgroup in a hierarchy that has a controller: where a
/// child cgroup for it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Hierarchy {
    version: Version,
    parent: PathBuf,
}

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

fn read(path: &Path) -> Result<String, FileError> {
    fs::read_to_string(path).map_err(|error| FileError::new(path, error))
}

fn write(path: &Path, text: &str) -> Result<(), FileError> {
    fs::write(path, text).map_err(|error| FileError::new(path, error))
}

/// A file that could not be read, written or made.
#[derive(Clone, Debug)]
pub struct FileError {
    path: PathBuf,
    errno: Errno,
}

impl FileError {
    fn new(path: &Path, error: std::io::Error) -> FileError {
        FileError { path: path.to_owned(), errno: error.to_errno() }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), errno_text(self.errno))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This machine's kind: v1 controllers, and cgroup v2 with few of them.
    const HYBRID: &str = "\
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw";

    const HYBRID_MEMBERSHIPS: &str = "\
9:name=systemd:/
8:pids:/
4:memory:/process_api/571f
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/";

    fn v2_dir(mountinfo: &str, own: &str) -> Option<PathBuf> {
        mounted_dir(mountinfo, own, |fstype, _| fstype == "cgroup2")
    }

    #[test]
    fn finds_the_cgroup2_mount() {
        assert_eq!(v2_dir(HYBRID, "/"), Some(PathBuf::from("/sys/fs/cgroup/unified")));
        let pure = "30 23 0:26 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate";
        let own = "/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope";
        assert_eq!(v2_dir(pure, own), Some(PathBuf::from(format!("/sys/fs/cgroup{own}"))));
        // A mount of a subtree (in a cgroup namespace, or bound in).
        let sub = r"30 23 0:26 /a /mnt/my\040cgroups rw - cgroup2 cgroup2 rw";
        assert_eq!(v2_dir(sub, "/a/b"), Some(PathBuf::from("/mnt/my cgroups/b")));
        assert_eq!(v2_dir(sub, "/ab"), None);
        assert_eq!(v2_dir("32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu", "/"), None);
    }

    #[test]
    fn finds_each_controllers_cgroup_v1_hierarchy() {
        let dir = |controller| v1_dir(HYBRID_MEMBERSHIPS, HYBRID, controller);
        assert_eq!(dir("memory").unwrap(), PathBuf::from("/sys/fs/cgroup/memory/process_api/571f"));
        assert_eq!(dir("pids").unwrap(), PathBuf::from("/sys/fs/cgroup/pids"));
        // Whole names only: cpu is not cpuacct or cpuset.
        assert_eq!(dir("cpu").unwrap(), PathBuf::from("/sys/fs/cgroup/cpu"));
        assert!(matches!(dir("hugetlb"), Err(V1Missing::NoHierarchy("hugetlb"))));
        // Controllers mounted together, as systemd does.
        let together = "25 24 0:22 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct";
        let memberships = "3:cpu,cpuacct:/system.slice/x.service\n0::/system.slice/x.service";
        let expected = PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/system.slice/x.service");
        assert_eq!(v1_dir(memberships, together, "cpu").unwrap(), expected);
        // A hierarchy not mounted in this mount namespace.
        assert!(matches!(v1_dir("7:blkio:/", HYBRID, "blkio"), Err(V1Missing::NotMounted { .. })));
        // Or mounted, but only a subtree that does not hold this process's cgroup.
        let subtree = "35 31 0:32 /other /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory";
        assert!(matches!(v1_dir("4:memory:/mine", subtree, "memory"), Err(V1Missing::NotMounted { .. })));
        // A cgroup2 mount is never a v1 hierarchy, whatever its options.
        assert!(v1_dir("1:pids:/", "41 31 0:38 / /x rw - cgroup2 cgroup2 rw,pids", "pids").is_err());
    }
}
