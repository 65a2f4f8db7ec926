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
//!
//! [`discovery`] finds where each controller can be had, [`lifecycle`]
//! makes the cgroups, moves PROGRAM in and removes them; this module holds
//! what both speak of: what a limit asks of a cgroup ([`Request`]), and
//! why a cgroup cannot hold it ([`CgroupError`]).

mod discovery;
mod lifecycle;

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use thiserror::Error;

use super::ToErrno;
use crate::failure::errno_text;
pub use lifecycle::Cgroups;

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
    /// The settings to write in a cgroup of `version`.
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

/// Reads a cgroup file.
fn read(path: &Path) -> Result<String, FileError> {
    fs::read_to_string(path).map_err(|error| FileError::new(path, error))
}

/// Writes a cgroup file.
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
