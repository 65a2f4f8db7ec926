//! How the syscall table packs each call's argument kinds and i386
//! registers into integers: written once, here, and included by build.rs,
//! which packs them, as well as by the crate, which unpacks them. (The
//! packing half, marked `allow(dead_code)`, is build.rs's alone.)

/// What an argument is to the kernel, which decides whether and how a
/// condition may test it (from `data/syscall-args.tsv`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// A 32-bit integer: the kernel ignores the high word.
    Int,
    /// A 16-bit integer (`umode_t` with its file-type bits: `mknod`).
    Short,
    /// A file mode of which the kernel keeps the permission bits alone
    /// (`mode & 07777`: `chmod`, the creation mode of `open` and `mkdir`).
    Mode,
    /// A 64-bit integer (or an address the kernel does not read through).
    Long,
    /// User memory the kernel reads after the filter has run: testing the
    /// pointer's value proves nothing about what it points to.
    Pointer,
}

impl ArgKind {
    /// Every kind, in the order of their codes.
    const ALL: [ArgKind; 5] = [ArgKind::Int, ArgKind::Long, ArgKind::Pointer, ArgKind::Short, ArgKind::Mode];

    /// The kind a data file names: `int`, `long`, `ptr`, `short` or `mode`.
    #[allow(dead_code)]
    pub fn from_word(word: &str) -> Option<ArgKind> {
        Some(match word {
            "int" => ArgKind::Int,
            "long" => ArgKind::Long,
            "ptr" => ArgKind::Pointer,
            "short" => ArgKind::Short,
            "mode" => ArgKind::Mode,
            _ => return None,
        })
    }

    /// Its 3-bit code in [`ArgKinds`].
    #[allow(dead_code)]
    fn code(self) -> u32 {
        ArgKind::ALL.iter().position(|kind| *kind == self).expect("every kind is in ALL") as u32
    }
}

/// The kinds of a call's arguments, packed in a `u32`: the count in the low
/// 3 bits (7: not known), then 3 bits per argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArgKinds(u32);

impl ArgKinds {
    /// A call whose arguments are not known (a call of another architecture).
    pub const UNKNOWN: u32 = 7;

    /// Packs up to 6 kinds.
    #[allow(dead_code)]
    pub fn pack(kinds: &[ArgKind]) -> u32 {
        assert!(kinds.len() <= 6, "at most 6 arguments");
        kinds
            .iter()
            .enumerate()
            .fold(kinds.len() as u32, |packed, (index, kind)| packed | kind.code() << (3 + 3 * index))
    }

    /// The kinds packed in `packed`, unless they are [`ArgKinds::UNKNOWN`].
    pub fn unpack(packed: u32) -> Option<ArgKinds> {
        (packed != ArgKinds::UNKNOWN).then_some(ArgKinds(packed))
    }

    /// How many arguments the call takes.
    pub fn len(self) -> usize {
        (self.0 & 7) as usize
    }

    /// Whether the call takes none.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The kind of argument `index`, if the call has one.
    pub fn get(self, index: usize) -> Option<ArgKind> {
        let code = (self.0 >> (3 + 3 * index)) & 7;
        (index < self.len()).then(|| ArgKind::ALL[code as usize])
    }

    /// Every argument's kind, in order.
    pub fn iter(self) -> impl Iterator<Item = ArgKind> {
        (0..self.len()).filter_map(move |index| self.get(index))
    }
}

/// For each argument as conditions name it, the i386 register that carries
/// it with the same bits, 4 bits per argument in a `u32`; 15 where no
/// register does (a 64-bit value split over two, an argument passed in
/// memory or in other units).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct I386Registers(u32);

impl I386Registers {
    /// No argument carried alike: conditions cannot be tested on i386.
    #[allow(dead_code)]
    pub const UNMAPPED: I386Registers = I386Registers(0xff_ffff);

    /// These registers with argument `index` carried by `register`.
    #[allow(dead_code)]
    pub fn with(self, index: usize, register: u32) -> I386Registers {
        assert!(index < 6 && register < 6, "6 arguments, 6 registers");
        I386Registers(self.0 & !(0xf << (4 * index)) | register << (4 * index))
    }

    /// The packed value, for the generated table.
    #[allow(dead_code)]
    pub fn packed(self) -> u32 {
        self.0
    }

    /// The registers packed in `packed`.
    pub fn unpack(packed: u32) -> I386Registers {
        I386Registers(packed)
    }

    /// The register that carries argument `index` alike, if one does.
    pub fn get(self, index: usize) -> Option<u8> {
        let register = (self.0 >> (4 * index)) & 0xf;
        (index < 6 && register < 6).then_some(register as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_registers_read_back_as_packed() {
        let kinds = [ArgKind::Int, ArgKind::Pointer, ArgKind::Mode, ArgKind::Long, ArgKind::Short, ArgKind::Int];
        for count in 0..=kinds.len() {
            let packed = ArgKinds::unpack(ArgKinds::pack(&kinds[..count])).expect("known");
            assert_eq!(packed.iter().collect::<alloc::vec::Vec<_>>(), kinds[..count]);
            assert_eq!(packed.get(count), None);
        }
        assert_eq!(ArgKinds::unpack(ArgKinds::UNKNOWN), None);
        let registers = I386Registers::UNMAPPED.with(0, 0).with(2, 5);
        assert_eq!(
            (0..6).map(|index| registers.get(index)).collect::<alloc::vec::Vec<_>>(),
            [Some(0), None, Some(5), None, None, None]
        );
        assert_eq!(I386Registers::unpack(registers.packed()), registers);
    }
}
