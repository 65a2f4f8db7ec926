//! System-call names and numbers, from `data/syscalls.tsv`.

use alloc::vec::Vec;

use crate::abi::Abi;
use crate::tables::name_hash;
use crate::tables::packing::I386Registers;
pub use crate::tables::packing::{ArgKind, ArgKinds};

/// A system call known by name, with its number on each ABI where it exists.
///
/// Names that exist only on other architectures (`arm_fadvise64_64`, ...) are
/// known too, with no number here: a policy written for several machines must
/// not fail on them, and they match nothing on x86_64.
#[derive(Debug, PartialEq, Eq)]
pub struct Syscall {
    /// Start and length in `NAMES`.
    name: (u16, u8),
    index: u16,
    /// In the order of [`Abi`]; `u16::MAX` where the call does not exist.
    numbers: [u16; 3],
    /// Packed by build.rs: see [`ArgKinds`].
    args: u32,
    /// Packed by build.rs: see [`I386Registers`] (`data/syscall-args-i386.tsv`).
    i386: u32,
}

/// An i386 call that multiplexes others through its first argument
/// (`data/i386-multiplexers.tsv`): `socketcall` and `ipc`.
#[derive(Debug)]
pub struct Multiplexer {
    /// Index in `SYSCALLS`.
    call: u16,
    mask: u32,
    /// Start and end in `I386_MULTIPLEXED`.
    members: (usize, usize),
}

include!(concat!(env!("OUT_DIR"), "/syscall_table.rs"));

impl Multiplexer {
    /// Every i386 multiplexer.
    pub fn all() -> &'static [Multiplexer] {
        &I386_MULTIPLEXERS
    }

    /// The multiplexer.
    pub fn call(&self) -> &'static Syscall {
        &SYSCALLS[usize::from(self.call)]
    }

    /// The bits of the first argument the kernel reads as the operation.
    pub fn mask(&self) -> u32 {
        self.mask
    }

    /// The calls it stands for, each with its operation number.
    pub fn members(&self) -> impl Iterator<Item = (&'static Syscall, u32)> {
        let (start, end) = self.members;
        I386_MULTIPLEXED[start..end]
            .iter()
            .map(|&(index, operation)| (&SYSCALLS[usize::from(index)], u32::from(operation)))
    }
}

impl Syscall {
    /// The name, as the kernel's syscall tables spell it.
    pub fn name(&self) -> &'static str {
        let (start, len) = (usize::from(self.name.0), usize::from(self.name.1));
        &NAMES[start..start + len]
    }

    /// The number on `abi`, or `None` where the call does not exist there.
    pub fn number(&self, abi: Abi) -> Option<u32> {
        let nr = self.numbers[abi.index()];
        (nr != u16::MAX).then_some(u32::from(nr))
    }

    /// The kinds of its arguments as conditions name them: x86_64's, or
    /// i386's for a call only i386 has; `None` for a call of neither.
    pub fn arg_kinds(&self) -> Option<ArgKinds> {
        ArgKinds::unpack(self.args)
    }

    /// The i386 register that carries argument `index` (as conditions name
    /// it) with the same bits, if one does: not a 64-bit value split over two
    /// registers, not an argument i386 passes in memory or in other units.
    pub fn i386_register(&self, index: u8) -> Option<u8> {
        I386Registers::unpack(self.i386).get(usize::from(index))
    }

    /// Looks a name up. Exact and case-sensitive, like the kernel's tables.
    pub fn by_name(name: &str) -> Option<&'static Syscall> {
        // A hash table built at compile time: one probe and one comparison
        // for most names, where a binary search made nine.
        let mut slot = name_hash::slot(name);
        loop {
            let index = NAME_SLOTS[slot];
            if index == u16::MAX {
                return None;
            }
            let syscall = &SYSCALLS[usize::from(index)];
            if syscall.name() == name {
                return Some(syscall);
            }
            slot = (slot + 1) % name_hash::SLOTS;
        }
    }

    /// The call with this number on `abi`, if the table knows it.
    pub fn by_number(abi: Abi, nr: u32) -> Option<&'static Syscall> {
        let table: &[u16] = match abi {
            Abi::X86_64 => &X86_64_BY_NUMBER,
            Abi::I386 => &I386_BY_NUMBER,
            Abi::Aarch64 => &AARCH64_BY_NUMBER,
        };
        match table.get(nr as usize) {
            Some(&index) if index != u16::MAX => Some(&SYSCALLS[index as usize]),
            _ => None,
        }
    }

    /// The highest number the table knows on `abi`.
    pub fn max_number(abi: Abi) -> u32 {
        let len = match abi {
            Abi::X86_64 => X86_64_BY_NUMBER.len(),
            Abi::I386 => I386_BY_NUMBER.len(),
            Abi::Aarch64 => AARCH64_BY_NUMBER.len(),
        };
        len as u32 - 1
    }

    /// Every known system call, sorted by name.
    pub fn all() -> &'static [Syscall] {
        &SYSCALLS
    }

    /// A small dense key for per-syscall sets, the position in [`Syscall::all`].
    pub fn index(&self) -> usize {
        usize::from(self.index)
    }

    /// The known names nearest to a misspelt one (at most three), for error
    /// messages. Nothing when no name is reasonably near.
    pub fn suggestions(name: &str) -> Vec<&'static str> {
        let scored: Vec<(usize, &'static str)> = SYSCALLS
            .iter()
            .map(|s| (edit_distance(name, s.name()), s.name()))
            .filter(|&(distance, candidate)| distance <= (candidate.len().max(name.len()) / 3).max(1))
            .collect();
        let Some(best) = scored.iter().map(|&(distance, _)| distance).min() else {
            return Vec::new();
        };
        scored.into_iter().filter(|&(distance, _)| distance == best).take(3).map(|(_, name)| name).collect()
    }
}

/// The optimal-string-alignment distance: insertions, deletions,
/// substitutions and swaps of neighbours each count one. Written here because
/// the common crates for it need std.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    // Three rows of the dynamic-programming table: two back, one back, current.
    let mut before: Vec<usize> = (0..=b.len()).collect();
    let mut previous = before.clone();
    let mut current = alloc::vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            current[j] = (previous[j] + 1).min(current[j - 1] + 1).min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                current[j] = current[j].min(before[j - 2] + 1);
            }
        }
        core::mem::swap(&mut before, &mut previous);
        core::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_both_abis() {
        let execve = Syscall::by_name("execve").unwrap();
        assert_eq!(execve.number(Abi::X86_64), Some(59));
        assert_eq!(execve.number(Abi::I386), Some(11));
        assert_eq!(Syscall::by_number(Abi::I386, 11), Some(execve));
        assert_eq!(Syscall::by_name("newfstatat").unwrap().number(Abi::I386), None);
        assert_eq!(Syscall::by_name("socketcall").unwrap().number(Abi::X86_64), None);
    }

    #[test]
    fn knows_calls_newer_than_libseccomp() {
        assert_eq!(Syscall::by_name("mseal").unwrap().number(Abi::X86_64), Some(462));
        assert_eq!(Syscall::by_name("uprobe").unwrap().number(Abi::X86_64), Some(336));
        assert_eq!(Syscall::by_name("uprobe").unwrap().number(Abi::I386), None);
    }

    #[test]
    fn foreign_names_have_no_number() {
        let arm = Syscall::by_name("arm_fadvise64_64").unwrap();
        assert_eq!(Abi::ALL.map(|abi| arm.number(abi)), [None, None, None]);
    }

    #[test]
    fn reverse_tables_agree_with_the_forward_one() {
        for syscall in Syscall::all() {
            for abi in Abi::ALL {
                if let Some(nr) = syscall.number(abi) {
                    assert_eq!(Syscall::by_number(abi, nr), Some(syscall));
                }
            }
        }
    }

    #[test]
    fn edit_distance_counts_swaps_as_one() {
        assert_eq!(edit_distance("unmae", "uname"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("read", "read"), 0);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("ca", "abc"), 3);
    }

    #[test]
    fn suggests_near_names() {
        assert_eq!(Syscall::suggestions("unmae")[0], "uname");
        assert!(Syscall::suggestions("fstat").contains(&"fstat"));
        assert!(Syscall::suggestions("qqqqqqqqqqqqqq").is_empty());
    }
}
