//! Conditions on the fields of `seccomp_data` beyond the number: arguments
//! and the instruction pointer, compared as 64-bit values on two 32-bit words.

#![forbid(unsafe_code)]

use core::fmt;

use crate::abi::offset;

/// A 64-bit field of `struct seccomp_data` a condition can test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// Argument 0 to 5.
    Arg(u8),
    /// The address of the instruction after the system call.
    InstructionPointer,
}

impl Field {
    /// Offset of the field's low word (x86 is little-endian).
    pub(crate) fn low(self) -> u32 {
        match self {
            Field::Arg(index) => offset::ARGS + 8 * u32::from(index),
            Field::InstructionPointer => offset::IP,
        }
    }

    /// Offset of the field's high word.
    pub(crate) fn high(self) -> u32 {
        self.low() + 4
    }
}

/// How a field is compared with a value. Comparisons are unsigned, as the
/// kernel hands arguments over as `u64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Comparison {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `& mask ==`: the masked field equals the value.
    MaskedEq(u64),
}

/// How many bits of a field the kernel uses, and so the filter compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Width {
    /// An `int` argument: the kernel ignores the high word, so the filter
    /// must too, or a caller could set it to slip past an `==`.
    Bits32,
    /// A `umode_t` argument: the kernel reads 16 bits.
    Bits16,
    /// A permission mode: the kernel keeps the low 12 bits (`07777`).
    Mode,
    /// A 64-bit argument or the instruction pointer: both words count.
    Bits64,
}

impl Width {
    /// The bits of the low word the kernel reads; `None`: both words.
    pub fn low_mask(self) -> Option<u32> {
        match self {
            Width::Bits32 => Some(u32::MAX),
            Width::Bits16 => Some(0xffff),
            Width::Mode => Some(0o7777),
            Width::Bits64 => None,
        }
    }

    /// How much of an argument of `kind` the kernel reads.
    pub fn of(kind: crate::tables::syscalls::ArgKind) -> Width {
        use crate::tables::syscalls::ArgKind;
        match kind {
            ArgKind::Int => Width::Bits32,
            ArgKind::Short => Width::Bits16,
            ArgKind::Mode => Width::Mode,
            ArgKind::Long | ArgKind::Pointer => Width::Bits64,
        }
    }
}

/// One test of a field against a constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Condition {
    /// What is tested.
    pub field: Field,
    /// How.
    pub comparison: Comparison,
    /// Against what; for a narrower width it fits in the bits the kernel
    /// reads, and so does a mask.
    pub value: u64,
    /// How much of the field counts.
    pub width: Width,
}

impl Condition {
    /// Evaluates the condition on a field's value, as the filter will.
    pub fn holds(&self, field_value: u64) -> bool {
        let field_value = self.width.low_mask().map_or(field_value, |mask| field_value & u64::from(mask));
        let value = self.value;
        match self.comparison {
            Comparison::Eq => field_value == value,
            Comparison::Ne => field_value != value,
            Comparison::Lt => field_value < value,
            Comparison::Le => field_value <= value,
            Comparison::Gt => field_value > value,
            Comparison::Ge => field_value >= value,
            Comparison::MaskedEq(mask) => field_value & mask == value,
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field {
            Field::Arg(index) => write!(f, "arg{index}")?,
            Field::InstructionPointer => f.write_str("ip")?,
        }
        let operator = match self.comparison {
            Comparison::Eq => "==",
            Comparison::Ne => "!=",
            Comparison::Lt => "<",
            Comparison::Le => "<=",
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
            Comparison::MaskedEq(mask) => return write!(f, " & {mask:#x} == {:#x}", self.value),
        };
        write!(f, " {operator} {:#x}", self.value)
    }
}

/// An action taken when every condition holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rule {
    /// All must hold; none means always.
    pub conditions: alloc::vec::Vec<Condition>,
    /// What the call gets then.
    pub action: crate::Action,
}
