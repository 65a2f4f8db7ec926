//! An allow list written for x86_64 (a learned one, say) → the same list
//! for another machine: the calls its libc makes in place of those it
//! lacks (`data/aarch64-equivalents.tsv`).
//!
//! The list is written anew rather than compiled as it is because an
//! arm64 program never makes `open`, `fork` or `poll`: on that machine an
//! entry for one allows nothing, and the program dies at its first
//! `openat`, `clone` or `ppoll`. Families and successors already widen some
//! entries (`open` allows `openat`), not all, and not by what glibc does.

#![forbid(unsafe_code)]

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::abi::Arch;
use crate::tables::syscalls::{AARCH64_EQUIVALENTS, Syscall};
use crate::text::Sourced;
use crate::text::entry::Target;

/// An allow list for another machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Translated {
    /// The entries, sorted, each once.
    pub entries: Vec<String>,
    /// Each entry that could not be carried over, with why: left out, so
    /// that the list allows nothing it did not.
    pub untranslated: Vec<String>,
}

/// The calls `arch`'s libc makes in place of `syscall`, which `arch` lacks
/// (none where nothing takes its place).
pub fn equivalents(syscall: &Syscall, arch: Arch) -> impl Iterator<Item = &'static Syscall> {
    let index = syscall.index() as u16;
    let table: &[(u16, u16)] = match arch {
        Arch::Aarch64 => &AARCH64_EQUIVALENTS,
        Arch::X86_64 => &[],
    };
    let start = table.partition_point(|&(call, _)| call < index);
    table[start..]
        .iter()
        .take_while(move |&&(call, _)| call == index)
        .map(|&(_, other)| &Syscall::all()[usize::from(other)])
}

/// `entries`, an allow list, for `arch`: an entry for a call `arch` has, or
/// for a group, stays as written; one for a call it lacks becomes the calls
/// made in its place, with its action; one with conditions on such a call,
/// or for a call nothing replaces, is left out and said.
pub fn allow_list(entries: &[Sourced], arch: Arch) -> Translated {
    let mut out = Vec::new();
    let mut untranslated = Vec::new();
    for entry in entries.iter().map(|sourced| &sourced.entry) {
        let Target::Syscall(syscall) = entry.target else {
            out.push(entry.written().to_string());
            continue;
        };
        if syscall.number(arch.native()).is_some() {
            out.push(entry.written().to_string());
            continue;
        }
        let replacements: Vec<&Syscall> = equivalents(syscall, arch).collect();
        let names: Vec<&str> = replacements.iter().map(|call| call.name()).collect();
        if replacements.is_empty() {
            untranslated.push(format!("{}: {arch} has no such call, and nothing takes its place", entry.written()));
        } else if !entry.conditions.is_empty() {
            untranslated.push(format!(
                "{}: its conditions name arguments of {}, which {} take otherwise on {arch}: write them for those",
                entry.written(),
                syscall.name(),
                names.join(" and ")
            ));
        } else {
            let action = entry.action.map(|action| format!("={action}")).unwrap_or_default();
            out.extend(names.iter().map(|name| format!("{name}{action}")));
        }
    }
    out.sort();
    out.dedup();
    Translated { entries: out, untranslated }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Origin;
    use crate::text::{Text, parse_list};

    fn translated(list: &str) -> Translated {
        let origin = Origin::Variable("test");
        allow_list(&parse_list(Text { origin: &origin, text: list }).unwrap(), Arch::Aarch64)
    }

    #[test]
    fn a_learned_x86_64_list_becomes_what_glibc_calls_on_aarch64() {
        let result = translated("read:open:fork:dup2:poll:stat:arch_prctl:@signal:kill(arg1 == 9):pipe=EPERM");
        assert_eq!(
            result.entries,
            [
                "@signal",
                "clone",
                "dup3",
                "fcntl",
                "kill(arg1 == 9)",
                "newfstatat",
                "openat",
                "pipe2=EPERM",
                "ppoll",
                "read"
            ]
        );
        assert_eq!(result.untranslated, ["arch_prctl: aarch64 has no such call, and nothing takes its place"]);
        let conditioned = translated("open(arg1 & 0x3 == 0)");
        assert!(conditioned.entries.is_empty());
        assert!(conditioned.untranslated[0].contains("write them for those"), "{:?}", conditioned.untranslated);
    }

    #[test]
    fn every_replacement_exists_where_its_call_does_not() {
        for syscall in Syscall::all() {
            for other in equivalents(syscall, Arch::Aarch64) {
                assert!(syscall.number(Arch::Aarch64.native()).is_none(), "{}", syscall.name());
                assert!(other.number(Arch::Aarch64.native()).is_some(), "{}", other.name());
            }
            assert_eq!(equivalents(syscall, Arch::X86_64).count(), 0);
        }
    }
}
