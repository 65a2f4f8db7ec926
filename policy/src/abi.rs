//! The machines a filter is compiled for, and the system-call ABIs each
//! one's kernel accepts.

#![forbid(unsafe_code)]

use core::fmt;

/// `AUDIT_ARCH_X86_64`: what `seccomp_data.arch` holds for the native ABI.
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `AUDIT_ARCH_I386`: what `seccomp_data.arch` holds for `int 0x80` and 32-bit programs.
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;
/// The x32 ABI arrives with the x86_64 audit arch and this bit set in the number.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;
/// `AUDIT_ARCH_AARCH64`: the native ABI of arm64 kernels.
pub const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
/// `AUDIT_ARCH_ARM`: AArch32 programs on an arm64 kernel built with
/// `CONFIG_COMPAT`. No filter has a section for it, so its calls get the
/// unknown arch's kill.
pub const AUDIT_ARCH_ARM: u32 = 0x4000_0028;

/// A machine a filter is compiled for: [`Arch::HOST`] for the filters this
/// build installs, another for `--explain`, `--dump-bpf` and the exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Arch {
    /// x86_64 kernels: the x86_64 and i386 ABIs (x32 is always killed).
    X86_64,
    /// arm64 kernels: the aarch64 ABI. AArch32 compat calls are always
    /// killed: no policy covers them.
    Aarch64,
}

impl Arch {
    /// Every machine the compiler knows.
    pub const ALL: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];

    /// The machine this build runs on (the filters it installs).
    pub const HOST: Arch = if cfg!(target_arch = "aarch64") { Arch::Aarch64 } else { Arch::X86_64 };

    /// The ABIs a filter for this machine gives rules, native first (the
    /// order the filter tests them: the native one is the hot path).
    pub const fn abis(self) -> &'static [Abi] {
        match self {
            Arch::X86_64 => &[Abi::X86_64, Abi::I386],
            Arch::Aarch64 => &[Abi::Aarch64],
        }
    }

    /// The native ABI.
    pub const fn native(self) -> Abi {
        self.abis()[0]
    }

    /// The machine named `name` as `uname -m` and Debian name it.
    pub fn from_name(name: &str) -> Option<Arch> {
        match name {
            "x86_64" | "amd64" => Some(Arch::X86_64),
            "aarch64" | "arm64" => Some(Arch::Aarch64),
            _ => None,
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.native(), f)
    }
}

/// A system-call ABI that a filter gives its own rules.
///
/// On x86_64 a 64-bit process can enter the kernel through either of two:
/// `syscall` uses the x86_64 numbers, `int 0x80` the i386 ones (`execve` is
/// 59 on one and 11 on the other). A filter that only knew the first would
/// be bypassed through the second, so every x86_64 policy is translated for
/// both. The x32 ABI is never allowed (see [`X32_SYSCALL_BIT`]); other audit
/// arches are killed. On arm64 the one ABI is aarch64 (see [`Arch`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Abi {
    /// The native 64-bit ABI.
    X86_64,
    /// The 32-bit ABI: `int 0x80` from any process, or a 32-bit program.
    I386,
    /// arm64's native ABI: the kernel's generic table (no `open`, `fork`,
    /// `stat`: `openat`, `clone`, `newfstatat`).
    Aarch64,
}

impl Abi {
    /// Every ABI the tables know.
    pub const ALL: [Abi; 3] = [Abi::X86_64, Abi::I386, Abi::Aarch64];

    /// The `seccomp_data.arch` value for this ABI.
    pub const fn audit_arch(self) -> u32 {
        match self {
            Abi::X86_64 => AUDIT_ARCH_X86_64,
            Abi::I386 => AUDIT_ARCH_I386,
            Abi::Aarch64 => AUDIT_ARCH_AARCH64,
        }
    }

    /// The ABI with this `seccomp_data.arch` value, if the filter knows it.
    pub const fn from_audit_arch(arch: u32) -> Option<Abi> {
        match arch {
            AUDIT_ARCH_X86_64 => Some(Abi::X86_64),
            AUDIT_ARCH_I386 => Some(Abi::I386),
            AUDIT_ARCH_AARCH64 => Some(Abi::Aarch64),
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
            Abi::Aarch64 => "aarch64",
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
