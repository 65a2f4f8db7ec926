//! Where each controller can be had for this process: its cgroup v2
//! cgroup, if that offers the controller, else the cgroup v1 hierarchy
//! that has it, each found in /proc/self/cgroup and /proc/self/mountinfo
//! rather than assumed.

use std::path::{Path, PathBuf};

use super::{CgroupError, V1Missing, V2Missing, Version, read};
use crate::container::mountinfo;

/// Where this process is in each cgroup hierarchy, and where those are
/// mounted, read once.
pub(super) struct Hierarchies {
    /// /proc/self/cgroup: `N:CONTROLLERS:PATH` lines (`0::PATH` for v2).
    memberships: String,
    /// /proc/self/mountinfo.
    mountinfo: String,
}

impl Hierarchies {
    /// Reads /proc/self/cgroup and /proc/self/mountinfo.
    pub(super) fn read() -> Result<Hierarchies, CgroupError> {
        let read_proc = |path: &str| read(Path::new(path)).map_err(CgroupError::Proc);
        Ok(Hierarchies { memberships: read_proc("/proc/self/cgroup")?, mountinfo: read_proc("/proc/self/mountinfo")? })
    }

    /// This process's cgroup in the interface that has `controller` for it:
    /// cgroup v2 if its cgroup there offers it, else the cgroup v1 hierarchy
    /// that has it.
    pub(super) fn locate(&self, controller: &'static str) -> Result<Hierarchy, CgroupError> {
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
pub(super) struct Hierarchy {
    pub(super) version: Version,
    pub(super) parent: PathBuf,
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
