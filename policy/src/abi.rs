//! The system-call ABIs a filter has to cover on an x86_64 kernel.

#![forbid(unsafe_code)]

use core::fmt;

/// `AUDIT_ARCH_X86_64`: what `seccomp_data.arch` holds for the native ABI.
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `AUDIT_ARCH_I386`: what `seccomp_data.arch` holds for `int 0x80` and 32-bit programs.
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;
/// The x32 ABI arrives with the x86_64 audit arch and this bit set in the number.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// A system-call ABI that a filter gives its own rules.
///
/// A 64-bit process can enter the kernel through either: `syscall` uses the
/// x86_64 numbers, `int 0x80` the i386 ones (`execve` is 59 on one and 11 on
/// the other). A filter that only knew the first would be bypassed through the
/// second, so every policy is translated for both. The x32 ABI is never
/// allowed (see [`X32_SYSCALL_BIT`]); other audit arches are killed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Abi {
    /// The native 64-bit ABI.
    X86_64,
    /// The 32-bit ABI: `int 0x80` from any process, or a 32-bit program.
    I386,
}

impl Abi {
    /// Every ABI, in the order the filter tests them (native first: it is the hot path).
    pub const ALL: [Abi; 2] = [Abi::X86_64, Abi::I386];

    /// The `seccomp_data.arch` value for this ABI.
    pub const fn audit_arch(self) -> u32 {
        match self {
            Abi::X86_64 => AUDIT_ARCH_X86_64,
            Abi::I386 => AUDIT_ARCH_I386,
        }
    }

    /// The ABI with this `seccomp_data.arch` value, if the filter knows it.
    pub const fn from_audit_arch(arch: u32) -> Option<Abi> {
        match arch {
            AUDIT_ARCH_X86_64 => Some(Abi::X86_64),
            AUDIT_ARCH_I386 => Some(Abi::I386),
            _ => None,
        }
    }

    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Abi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Abi::X86_64 => "x86_64",
            Abi::I386 => "i386",
        })
    }
}

/// Offsets of the fields of `struct seccomp_data` that a filter loads.
pub mod offset {
    /// `nr`, the system-call number.
    pub const NR: u32 = 0;
    /// `arch`, the `AUDIT_ARCH_*` value.
    pub const ARCH: u32 = 4;
    /// `instruction_pointer`, low word.
    pub const IP: u32 = 8;
    /// `args[0]`, low word; each argument is 8 bytes further.
    pub const ARGS: u32 = 16;
}
