//! Resource limits: cgroup v2 when a child cgroup can be made, rlimits
//! otherwise (only when the user allows it), never silently nothing.
//!
//! cgroup v2 is found, not assumed: the `cgroup2` mount in
//! /proc/self/mountinfo (anywhere: /sys/fs/cgroup on a pure v2 machine,
//! /sys/fs/cgroup/unified on a hybrid one), this process's cgroup from the
//! `0::` line of /proc/self/cgroup, and the controllers that cgroup offers.
//! The limits go into a new child cgroup, `sandboxify-PID`, which the
//! supervisor removes when PROGRAM has ended (killing what is left in it).
//!
//! cgroup v1 is not used, even where root could write it: it is the legacy
//! interface, kept only on hybrid machines, with no safe delegation to
//! ordinary users and other semantics (memory.limit_in_bytes, no
//! cgroup.kill); and its hierarchies there belong to whatever manages the
//! machine.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::resource::{Resource, setrlimit};

use super::{Caller, CpuMax, LimitOptions, SetupError, ToErrno, errno_text, failed};

/// The limits asked for.
#[derive(Debug, Default)]
pub struct Limits {
    memory: Option<u64>,
    pids: Option<u64>,
    cpu: Option<CpuMax>,
    /// `--limits-fallback=rlimit`.
    fallback: bool,
    /// The `--rlimit-*` options.
    rlimits: Vec<Rlimit>,
    verbose: bool,
}

/// One rlimit, soft and hard, with the option that asked for it.
#[derive(Clone, Copy, Debug)]
struct Rlimit {
    option: &'static str,
    resource: Resource,
    value: u64,
}

impl Rlimit {
    fn name(&self) -> &'static str {
        rlimit_name(self.resource)
    }
}

/// What a limit needs from cgroup v2.
struct CgroupLimit {
    option: &'static str,
    controller: &'static str,
    /// Files and values to write.
    files: Vec<(&'static str, String)>,
    /// The rlimit that may replace it.
    fallback: Result<Resource, &'static str>,
    value: u64,
}

impl Limits {
    /// The limits `options` ask for.
    pub fn new(options: &LimitOptions, verbose: bool) -> Limits {
        let rlimits = [
            ("--rlimit-as", Resource::RLIMIT_AS, options.rlimit_as),
            ("--rlimit-nproc", Resource::RLIMIT_NPROC, options.rlimit_nproc),
            ("--rlimit-nofile", Resource::RLIMIT_NOFILE, options.rlimit_nofile),
            ("--rlimit-cpu", Resource::RLIMIT_CPU, options.rlimit_cpu),
        ];
        Limits {
            memory: options.memory_max,
            pids: options.pids_max,
            cpu: options.cpu_max,
            fallback: options.limits_fallback.is_some(),
            rlimits: rlimits
                .into_iter()
                .filter_map(|(option, resource, value)| Some(Rlimit { option, resource, value: value? }))
                .collect(),
            verbose,
        }
    }

    /// Whether no limit is asked for.
    pub fn is_empty(&self) -> bool {
        !self.wants_cgroup() && self.rlimits.is_empty()
    }

    /// Whether a cgroup limit is asked for.
    pub fn wants_cgroup(&self) -> bool {
        self.memory.is_some() || self.pids.is_some() || self.cpu.is_some()
    }

    fn cgroup_limits(&self) -> Vec<CgroupLimit> {
        let mut wanted = Vec::new();
        if let Some(bytes) = self.memory {
            // Without swap off, a program over memory.max would be swapped out, not stopped.
            let files = vec![("memory.max", bytes.to_string()), ("memory.swap.max", "0".to_owned())];
            let fallback = Ok(Resource::RLIMIT_AS);
            wanted.push(CgroupLimit { option: "--memory-max", controller: "memory", files, fallback, value: bytes });
        }
        if let Some(count) = self.pids {
            let files = vec![("pids.max", count.to_string())];
            let fallback = Ok(Resource::RLIMIT_NPROC);
            wanted.push(CgroupLimit { option: "--pids-max", controller: "pids", files, fallback, value: count });
        }
        if let Some(cpu) = self.cpu {
            let files = vec![("cpu.max", cpu.to_string())];
            let fallback = Err("RLIMIT_CPU limits CPU seconds in all, not a share of time: give --rlimit-cpu for that");
            wanted.push(CgroupLimit { option: "--cpu-max", controller: "cpu", files, fallback, value: cpu.quota });
        }
        wanted
    }

    /// Sets up what needs the caller's credentials, before any namespace:
    /// the cgroup with its limits, or the choice of rlimits instead
    /// (reported on stderr), or a refusal.
    pub fn establish(&self, caller: Caller) -> Result<Established, SetupError> {
        let ignored_nproc = self.rlimits.iter().find(|rlimit| rlimit.resource == Resource::RLIMIT_NPROC);
        if let Some(rlimit) = ignored_nproc.filter(|_| caller.ignores_nproc()) {
            return Err(SetupError::Limit { option: rlimit.option, reason: NPROC_IGNORED.to_owned() });
        }
        let mut established = Established { cgroup: None, rlimits: self.rlimits.clone() };
        let wanted = self.cgroup_limits();
        if wanted.is_empty() {
            return Ok(established);
        }
        match Cgroup::create(&wanted) {
            Ok(cgroup) => {
                if self.verbose {
                    let settings: Vec<String> = wanted
                        .iter()
                        .flat_map(|limit| limit.files.iter().map(|(file, value)| format!("{file}={value}")))
                        .collect();
                    eprintln!("sandboxify: limits in cgroup v2 {}: {}", cgroup.dir.display(), settings.join(" "));
                }
                established.cgroup = Some(cgroup);
            }
            Err(reason) => established.rlimits.extend(self.fall_back(&wanted, &reason, caller)?),
        }
        Ok(established)
    }

    /// The rlimits that replace `wanted` when cgroup v2 cannot have them
    /// (`reason`), if the user allows it and each has one that works for
    /// `caller`; reported on stderr.
    fn fall_back(&self, wanted: &[CgroupLimit], reason: &str, caller: Caller) -> Result<Vec<Rlimit>, SetupError> {
        let mut rlimits = Vec::new();
        for limit in wanted {
            let option = limit.option;
            let refuse = |why: String| SetupError::Limit {
                option,
                reason: format!("cgroup v2 cannot limit it here: {reason}; {why}"),
            };
            let resource =
                limit.fallback.map_err(|why_not| refuse(format!("and no rlimit replaces it ({why_not})")))?;
            if !self.fallback {
                return Err(refuse(format!("--limits-fallback=rlimit would use {} instead", rlimit_name(resource))));
            }
            if resource == Resource::RLIMIT_NPROC && caller.ignores_nproc() {
                return Err(refuse(format!("and as a fallback {NPROC_IGNORED}")));
            }
            rlimits.push(Rlimit { option, resource, value: limit.value });
        }
        let used: Vec<String> =
            rlimits.iter().map(|rlimit| format!("{} as {}={}", rlimit.option, rlimit.name(), rlimit.value)).collect();
        eprintln!("sandboxify: --limits-fallback=rlimit: cgroup v2 cannot limit here ({reason}): {}", used.join(", "));
        Ok(rlimits)
    }
}

/// Why RLIMIT_NPROC is refused for some callers.
const NPROC_IGNORED: &str = "the kernel does not enforce RLIMIT_NPROC for root or for holders of CAP_SYS_ADMIN or \
                             CAP_SYS_RESOURCE, so it would limit nothing";

fn rlimit_name(resource: Resource) -> &'static str {
    match resource {
        Resource::RLIMIT_AS => "RLIMIT_AS",
        Resource::RLIMIT_NPROC => "RLIMIT_NPROC",
        Resource::RLIMIT_NOFILE => "RLIMIT_NOFILE",
        _ => "RLIMIT_CPU",
    }
}

/// The limits once set up.
#[derive(Debug, Default)]
pub struct Established {
    cgroup: Option<Cgroup>,
    rlimits: Vec<Rlimit>,
}

impl Established {
    /// Whether PROGRAM goes into a cgroup (which someone must remove).
    pub fn has_cgroup(&self) -> bool {
        self.cgroup.is_some()
    }

    /// The cgroup, for the supervisor.
    pub fn take_cgroup(&mut self) -> Option<Cgroup> {
        self.cgroup.take()
    }

    /// Sets the rlimits on this process, which PROGRAM inherits; last,
    /// since they would limit sandboxify's own setup too. In a user
    /// namespace RLIMIT_NPROC counts only the processes of the namespace.
    pub fn apply_rlimits(&self) -> Result<(), SetupError> {
        for rlimit in &self.rlimits {
            setrlimit(rlimit.resource, rlimit.value, rlimit.value).map_err(failed(format!(
                "{}: cannot set {} to {}",
                rlimit.option,
                rlimit.name(),
                rlimit.value
            )))?;
        }
        Ok(())
    }
}

/// A child cgroup made for PROGRAM. Not removed on drop: the process that
/// becomes PROGRAM holds a copy too.
#[derive(Debug)]
pub struct Cgroup {
    dir: PathBuf,
}

impl Cgroup {
    /// Finds this process's cgroup v2 cgroup, enables the controllers for
    /// its children, makes a child with the limits; or says why not.
    fn create(wanted: &[CgroupLimit]) -> Result<Cgroup, String> {
        let parent = own_cgroup()?;
        let offered = read(&parent.join("cgroup.controllers")).map_err(|error| error.to_string())?;
        let enabled = read(&parent.join("cgroup.subtree_control")).map_err(|error| error.to_string())?;
        let mut enable = Vec::new();
        for limit in wanted {
            let controller = limit.controller;
            if !offered.split_whitespace().any(|name| name == controller) {
                let offered = if offered.trim().is_empty() { "none" } else { offered.trim() };
                return Err(format!("{} offers no {controller} controller, only {offered}", parent.display()));
            }
            if !enabled.split_whitespace().any(|name| name == controller) {
                enable.push(format!("+{controller}"));
            }
        }
        if !enable.is_empty() {
            // Left enabled afterwards: other cgroups may rely on it by then.
            write(&parent.join("cgroup.subtree_control"), &enable.join(" ")).map_err(|error| match error.errno {
                Errno::EBUSY => format!(
                    "{error}: the cgroup has processes of its own; run sandboxify in a cgroup delegated to you, \
                     e.g. under systemd-run --user --scope -p Delegate=yes"
                ),
                _ => error.to_string(),
            })?;
        }
        let dir = parent.join(format!("sandboxify-{}", std::process::id()));
        fs::create_dir(&dir).map_err(|error| FileError::new(&dir, error).to_string())?;
        let cgroup = Cgroup { dir };
        for limit in wanted {
            for (file, value) in &limit.files {
                let path = cgroup.dir.join(file);
                // memory.swap.max is absent without swap support: nothing to turn off.
                if *file == "memory.swap.max" && !path.exists() {
                    continue;
                }
                if let Err(error) = write(&path, value) {
                    cgroup.remove();
                    return Err(error.to_string());
                }
            }
        }
        Ok(cgroup)
    }

    /// Moves process `pid` into the cgroup.
    pub fn add(&self, pid: libc::pid_t) -> Result<(), SetupError> {
        let path = self.dir.join("cgroup.procs");
        write(&path, &pid.to_string())
            .map_err(|error| failed(format!("cannot move into {}", path.display()))(error.errno))
    }

    /// Kills whatever is left in the cgroup and removes it; reports (without
    /// failing) when it cannot.
    pub fn remove(self) {
        let _ = write(&self.dir.join("cgroup.kill"), "1");
        // The killed processes leave the cgroup once their parents reap them.
        let mut attempts = 0;
        let error = loop {
            match fs::remove_dir(&self.dir) {
                Ok(()) => return,
                Err(error) if error.raw_os_error() == Some(libc::EBUSY) && attempts < 200 => {
                    attempts += 1;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(error) => break error,
            }
        };
        eprintln!("sandboxify: cannot remove the cgroup {}: {error}", self.dir.display());
    }
}

/// This process's cgroup v2 directory.
fn own_cgroup() -> Result<PathBuf, String> {
    let cgroups = read(Path::new("/proc/self/cgroup")).map_err(|error| error.to_string())?;
    let own = cgroups
        .lines()
        .find_map(|line| line.strip_prefix("0::"))
        .ok_or("this process is in no cgroup v2 hierarchy (no 0:: line in /proc/self/cgroup)")?;
    let mountinfo = read(Path::new("/proc/self/mountinfo")).map_err(|error| error.to_string())?;
    cgroup2_dir(&mountinfo, own).ok_or_else(|| {
        format!("no cgroup2 file system mounted here shows this process's cgroup {own} (see /proc/self/mountinfo)")
    })
}

/// The directory of cgroup `own` under a `cgroup2` mount in `mountinfo`.
fn cgroup2_dir(mountinfo: &str, own: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        // ID PARENT MAJ:MIN ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER-OPTIONS
        let (fields, after) = line.split_once(" - ")?;
        if after.split(' ').next()? != "cgroup2" {
            return None;
        }
        let mut fields = fields.split(' ');
        let root = unescape(fields.nth(3)?);
        let mount_point = unescape(fields.next()?);
        let relative = own.strip_prefix(root.trim_end_matches('/'))?;
        match relative {
            "" | "/" => Some(PathBuf::from(mount_point)),
            _ => Some(Path::new(&mount_point).join(relative.strip_prefix('/')?)),
        }
    })
}

/// A mountinfo field, whose blanks and backslashes are octal escapes (`\040`).
fn unescape(field: &str) -> String {
    let mut text = String::new();
    let mut rest = field;
    while let Some(index) = rest.find('\\') {
        text.push_str(&rest[..index]);
        let code = rest.get(index + 1..index + 4).and_then(|digits| u8::from_str_radix(digits, 8).ok());
        match code {
            Some(code) => {
                text.push(code as char);
                rest = &rest[index + 4..];
            }
            None => {
                text.push('\\');
                rest = &rest[index + 1..];
            }
        }
    }
    text.push_str(rest);
    text
}

fn read(path: &Path) -> Result<String, FileError> {
    fs::read_to_string(path).map_err(|error| FileError::new(path, error))
}

fn write(path: &Path, text: &str) -> Result<(), FileError> {
    fs::write(path, text).map_err(|error| FileError::new(path, error))
}

/// A file that could not be read, written or made.
#[derive(Debug)]
struct FileError {
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

    const HYBRID: &str = "\
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw";

    #[test]
    fn finds_the_cgroup2_mount() {
        assert_eq!(cgroup2_dir(HYBRID, "/"), Some(PathBuf::from("/sys/fs/cgroup/unified")));
        let pure = "30 23 0:26 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate";
        let own = "/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope";
        assert_eq!(cgroup2_dir(pure, own), Some(PathBuf::from(format!("/sys/fs/cgroup{own}"))));
        // A mount of a subtree (in a cgroup namespace, or bound in).
        let sub = r"30 23 0:26 /a /mnt/my\040cgroups rw - cgroup2 cgroup2 rw";
        assert_eq!(cgroup2_dir(sub, "/a/b"), Some(PathBuf::from("/mnt/my cgroups/b")));
        assert_eq!(cgroup2_dir(sub, "/ab"), None);
        assert_eq!(cgroup2_dir("32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu", "/"), None);
    }

    #[test]
    fn unescapes_mountinfo_fields() {
        assert_eq!(unescape(r"/a\040b\134c"), r"/a b\c");
        assert_eq!(unescape(r"/trailing\"), r"/trailing\");
    }
}
