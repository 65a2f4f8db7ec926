//! systemd's system-call groups (`@system-service`, ...), from `data/groups.tsv`.

use alloc::vec::Vec;

use crate::tables::syscalls::{Syscall, edit_distance};

/// A named set of system calls, with systemd's membership.
#[derive(Debug)]
pub struct Group {
    /// Start and length in `GROUP_NAMES`.
    name: (u16, u8),
    /// `@known`: every system call the table knows.
    every: bool,
    /// Start and length in `GROUP_MEMBERS`, whose entries are indices into
    /// `SYSCALLS`, or into `GROUPS` when `GROUP_BIT` is set.
    members: (u16, u16),
}

/// A member of a group: a call, or another group (groups nest).
enum Member {
    Syscall(usize),
    Group(usize),
}

include!(concat!(env!("OUT_DIR"), "/group_table.rs"));

/// Groups are unique by name.
impl PartialEq for Group {
    fn eq(&self, other: &Group) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Group {}

impl Group {
    /// The name, with its `@`.
    pub fn name(&self) -> &'static str {
        let (start, len) = (usize::from(self.name.0), usize::from(self.name.1));
        &GROUP_NAMES[start..start + len]
    }

    /// Looks a group up by its name, `@` included.
    pub fn by_name(name: &str) -> Option<&'static Group> {
        GROUPS.binary_search_by(|group| group.name().cmp(name)).ok().map(|index| &GROUPS[index])
    }

    fn members(&self) -> impl Iterator<Item = Member> {
        let (start, len) = (usize::from(self.members.0), usize::from(self.members.1));
        GROUP_MEMBERS[start..start + len].iter().map(|&code| match code & GROUP_BIT {
            0 => Member::Syscall(usize::from(code)),
            _ => Member::Group(usize::from(code & !GROUP_BIT)),
        })
    }

    /// Every group, sorted by name.
    pub fn all() -> &'static [Group] {
        &GROUPS
    }

    /// The members as systemd lists them: call names and `@group` names.
    pub fn member_names(&self) -> Vec<&'static str> {
        if self.every {
            return alloc::vec!["*"];
        }
        self.members()
            .map(|member| match member {
                Member::Syscall(index) => Syscall::all()[index].name(),
                Member::Group(index) => GROUPS[index].name(),
            })
            .collect()
    }

    /// Every call in the group, nested groups expanded, sorted by name.
    pub fn syscalls(&self) -> Vec<&'static Syscall> {
        let mut included = alloc::vec![false; Syscall::all().len()];
        self.mark(&mut included);
        Syscall::all().iter().zip(included).filter(|(_, included)| *included).map(|(syscall, _)| syscall).collect()
    }

    fn mark(&self, included: &mut [bool]) {
        if self.every {
            included.fill(true);
            return;
        }
        for member in self.members() {
            match member {
                Member::Syscall(index) => included[index] = true,
                Member::Group(index) => GROUPS[index].mark(included),
            }
        }
    }

    /// The group names nearest to a misspelt one.
    pub fn suggestions(name: &str) -> Vec<&'static str> {
        let best = GROUPS.iter().map(|group| edit_distance(name, group.name())).min().unwrap_or(usize::MAX);
        if best > (name.len() / 3).max(1) {
            return Vec::new();
        }
        GROUPS
            .iter()
            .filter(|group| edit_distance(name, group.name()) == best)
            .map(|group| group.name())
            .take(3)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::Abi;

    #[test]
    fn systemd_groups_are_all_there() {
        for name in [
            "@aio",
            "@basic-io",
            "@chown",
            "@clock",
            "@cpu-emulation",
            "@debug",
            "@default",
            "@file-system",
            "@io-event",
            "@ipc",
            "@keyring",
            "@known",
            "@memlock",
            "@module",
            "@mount",
            "@network-io",
            "@obsolete",
            "@pkey",
            "@privileged",
            "@process",
            "@raw-io",
            "@reboot",
            "@resources",
            "@sandbox",
            "@setuid",
            "@signal",
            "@swap",
            "@sync",
            "@system-service",
            "@timer",
        ] {
            assert!(Group::by_name(name).is_some(), "{name}");
        }
    }

    #[test]
    fn groups_nest_and_expand() {
        let service = Group::by_name("@system-service").unwrap().syscalls();
        for name in ["read", "write", "io_setup", "clock_gettime", "execve"] {
            assert!(service.iter().any(|s| s.name() == name), "@system-service lacks {name}");
        }
        let privileged = Group::by_name("@privileged").unwrap().syscalls();
        assert!(privileged.iter().any(|s| s.name() == "setuid"), "@privileged includes @setuid");
        assert_eq!(Group::by_name("@known").unwrap().syscalls().len(), Syscall::all().len());
    }

    /// Every member resolves on x86_64 or is a name of another architecture
    /// (systemd lists those too); none is unknown.
    #[test]
    fn every_member_resolves() {
        for group in Group::all() {
            for syscall in group.syscalls() {
                let here = syscall.number(Abi::X86_64).is_some() || syscall.number(Abi::I386).is_some();
                let elsewhere = Syscall::by_name(syscall.name()).is_some();
                assert!(here || elsewhere, "{}: {}", group.name(), syscall.name());
            }
        }
    }

    #[test]
    fn misspelt_groups_get_suggestions() {
        assert_eq!(Group::suggestions("@system-servce"), ["@system-service"]);
    }
}
