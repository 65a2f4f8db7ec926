//! Families of calls that reach the same effect (`data/families.txt`,
//! each under the kernel source that shows it): a deny entry for one call
//! also denies its family's other members and its doors, some of them only
//! with the arguments that reach the effect (`clone` with `CLONE_NEWUSER`
//! for `unshare`), some with ENOSYS (`clone3`, whose flags the filter
//! cannot read, so that libc falls back to `clone`, whose it can). Leaks
//! reach the effect too but are not denied; `--explain` names them.

use alloc::vec::Vec;

use crate::condition::{Comparison, Condition, Field, Width};
use crate::tables::syscalls::Syscall;

/// How a door is denied with its family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DoorTest {
    /// Whatever its arguments.
    Always,
    /// When argument `.0` equals `.1`.
    Eq(u8, u64),
    /// When argument `.0` differs from `.1`.
    Ne(u8, u64),
    /// When argument `.0` is greater than `.1`.
    Gt(u8, u64),
    /// When argument `.0` masked with `.1` equals `.2`.
    Masked(u8, u64, u64),
    /// With ENOSYS instead of the deny entry's action.
    Enosys,
}

/// One door of a call: denying `from` denies `to` as `test` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Door {
    from: u16,
    to: u16,
    test: DoorTest,
    family: u16,
}

include!(concat!(env!("OUT_DIR"), "/family_table.rs"));

/// What a deny entry for a call also denies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    /// The call denied.
    pub syscall: &'static Syscall,
    /// Only when these hold (all; none: always).
    pub conditions: Vec<Condition>,
    /// ENOSYS instead of the entry's action, so that libc falls back.
    pub enosys: bool,
    /// The family's source, for explanations.
    pub source: &'static str,
}

/// Everything a deny entry for `syscall` also denies.
pub fn doors(syscall: &Syscall) -> impl Iterator<Item = Denial> {
    let index = syscall.index() as u16;
    let start = FAMILY_DOORS.partition_point(|door| door.from < index);
    FAMILY_DOORS[start..].iter().take_while(move |door| door.from == index).map(|door| {
        let to = &Syscall::all()[usize::from(door.to)];
        let condition = |argument: u8, comparison: Comparison, value: u64| {
            // The width the kernel reads; i386-only calls have 32-bit registers.
            let kind = to.arg_kinds().and_then(|kinds| kinds.get(usize::from(argument)));
            let width = kind.map_or(Width::Bits32, Width::of);
            Condition { field: Field::Arg(argument), comparison, value, width }
        };
        let conditions = match door.test {
            DoorTest::Always | DoorTest::Enosys => Vec::new(),
            DoorTest::Eq(argument, value) => alloc::vec![condition(argument, Comparison::Eq, value)],
            DoorTest::Ne(argument, value) => alloc::vec![condition(argument, Comparison::Ne, value)],
            DoorTest::Gt(argument, value) => alloc::vec![condition(argument, Comparison::Gt, value)],
            DoorTest::Masked(argument, mask, value) => {
                alloc::vec![condition(argument, Comparison::MaskedEq(mask), value)]
            }
        };
        Denial { syscall: to, conditions, enosys: door.test == DoorTest::Enosys, source: source(door.family) }
    })
}

/// The calls that reach `syscall`'s effect but are not denied with it.
pub fn leaks(syscall: &Syscall) -> impl Iterator<Item = &'static Syscall> {
    let index = syscall.index() as u16;
    let start = FAMILY_LEAKS.partition_point(|&(from, _, _)| from < index);
    FAMILY_LEAKS[start..]
        .iter()
        .take_while(move |&&(from, _, _)| from == index)
        .map(|&(_, leak, _)| &Syscall::all()[usize::from(leak)])
}

/// The source comment of family `family`.
fn source(family: u16) -> &'static str {
    let (start, len) = FAMILY_SOURCES[usize::from(family)];
    &FAMILY_SOURCE_TEXT[start as usize..(start + len) as usize]
}

#[cfg(test)]
mod tests {
    use alloc::string::{String, ToString};

    use super::*;

    fn denied(name: &str) -> Vec<String> {
        let mut names: Vec<String> = doors(Syscall::by_name(name).unwrap())
            .map(|denial| {
                let conditions: Vec<String> = denial.conditions.iter().map(ToString::to_string).collect();
                match (denial.enosys, conditions.is_empty()) {
                    (true, _) => alloc::format!("{}=ENOSYS", denial.syscall.name()),
                    (false, true) => denial.syscall.name().to_string(),
                    (false, false) => alloc::format!("{}({})", denial.syscall.name(), conditions.join(", ")),
                }
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Every door of every family, through the compiled filter, on both
    /// ABIs where the door exists: a deny entry for a call kills its door
    /// (or gives it ENOSYS), with arguments that meet the door's condition,
    /// and leaves it alone with arguments that do not.
    #[test]
    fn every_door_of_every_family_is_denied_with_it() {
        use crate::abi::{Abi, Arch};
        use crate::action::Action;
        use crate::compile::bpf::{SeccompData, run};
        use crate::condition::Comparison;
        use crate::test_support::policy;
        let mut checked = 0;
        for door in FAMILY_DOORS.iter() {
            let from = &Syscall::all()[usize::from(door.from)];
            let program = crate::compile(&policy(None, Some(from.name()), None)).unwrap();
            let denial = doors(from).find(|denial| denial.syscall.index() == usize::from(door.to)).unwrap();
            for &abi in Arch::HOST.abis() {
                let Some(nr) = denial.syscall.number(abi) else { continue };
                let verdict = |args: [u64; 6]| {
                    let data = SeccompData { nr, arch: abi.audit_arch(), args, ..SeccompData::default() };
                    Action::from_ret(run(program.insns(), &data).unwrap().ret).unwrap()
                };
                // Arguments that meet the condition, and (if any) some that do not.
                let (meets, misses) = match denial.conditions.first() {
                    None => ([0; 6], None),
                    Some(condition) => {
                        let Field::Arg(index) = condition.field else { unreachable!() };
                        let register = match abi {
                            Abi::X86_64 => index,
                            Abi::I386 => match denial.syscall.i386_register(index) {
                                Some(register) => register,
                                // Not testable there: the strictest action.
                                None => continue,
                            },
                            Abi::Aarch64 => unreachable!("not a host ABI"),
                        };
                        // Another door of the same call may take the value
                        // one bit away (FS_IOC_RESVSP and UNRESVSP): the miss
                        // is the nearest value no door of the call takes.
                        let taken: Vec<u64> = doors(from)
                            .filter(|other| other.syscall.index() == usize::from(door.to))
                            .filter_map(|other| {
                                let first = other.conditions.first()?;
                                (first.comparison == Comparison::Eq).then_some(first.value)
                            })
                            .collect();
                        let nearest_free = |value: u64| {
                            (0..32).map(|bit| value ^ (1 << bit)).find(|miss| !taken.contains(miss)).unwrap()
                        };
                        let (hit, miss) = match condition.comparison {
                            Comparison::Eq => (condition.value, nearest_free(condition.value)),
                            Comparison::Ne => (condition.value ^ 1, condition.value),
                            Comparison::Gt => (condition.value + 1, condition.value),
                            Comparison::MaskedEq(mask) => {
                                (condition.value, condition.value ^ (mask & mask.wrapping_neg()))
                            }
                            other => panic!("a family door compares with {other:?}"),
                        };
                        let with = |value: u64| {
                            let mut args = [0; 6];
                            args[usize::from(register)] = value;
                            args
                        };
                        (with(hit), Some(with(miss)))
                    }
                };
                let expected = if denial.enosys { Action::Errno(libc::ENOSYS as u16) } else { Action::Kill };
                let context = alloc::format!("deny {} -> {} on {abi}", from.name(), denial.syscall.name());
                let got = verdict(meets);
                // A call that is itself a member of the deny entry's other
                // families may be denied more strictly still.
                assert!(got == expected || got == Action::Kill, "{context}: {got:?}");
                if let Some(misses) = misses {
                    assert_eq!(verdict(misses), Action::Allow, "{context}, condition not met");
                }
                checked += 1;
            }
        }
        assert!(checked > 500, "{checked} doors checked");
    }

    #[test]
    fn the_red_teams_doors_are_in_their_families() {
        let kill = denied("kill");
        for door in
            ["tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_send_signal", "fcntl(arg1 == 0x8)"]
        {
            assert!(kill.iter().any(|denied| denied == door), "{door} in {kill:?}");
        }
        let setxattr = denied("setxattr");
        for door in ["fsetxattr", "lsetxattr", "setxattrat", "ioctl(arg1 == 0x800c6613)"] {
            assert!(setxattr.iter().any(|denied| denied == door), "{door} in {setxattr:?}");
        }
        let unshare = denied("unshare");
        assert!(unshare.contains(&"clone(arg0 & 0x10000000 == 0x10000000)".to_string()), "{unshare:?}");
        assert!(unshare.contains(&"clone3=ENOSYS".to_string()), "{unshare:?}");
        assert_eq!(denied("fork"), ["clone(arg0 & 0x10000 == 0x0)", "clone3=ENOSYS", "vfork"]);
        let connect = denied("connect");
        assert!(connect.contains(&"sendto(arg3 & 0x20000000 == 0x20000000)".to_string()), "{connect:?}");
        assert_eq!(denied("bind"), ["listen"]);
        assert_eq!(denied("execveat"), ["execve"]);
        // One way: a door alone leaves its family.
        assert!(denied("listen").is_empty());
        assert!(denied("splice").is_empty());
        // i386-only names are in their families.
        assert!(denied("uname").contains(&"olduname".to_string()));
        // The width is the kernel's: clone's flags are an int.
        let clone = doors(Syscall::by_name("fork").unwrap()).find(|d| d.syscall.name() == "clone").unwrap();
        assert_eq!(clone.conditions[0].width, Width::Bits32);
        assert!(clone.source.contains("kernel/fork.c"), "{}", clone.source);
        let leaks: Vec<&str> = leaks(Syscall::by_name("kill").unwrap()).map(Syscall::name).collect();
        assert!(leaks.contains(&"write"), "{leaks:?}");
    }
}
