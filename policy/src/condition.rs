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

    /// The bits of a field the kernel reads, as a 64-bit mask.
    pub fn bits(self) -> u64 {
        self.low_mask().map_or(u64::MAX, u64::from)
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

impl Condition {
    /// An equality test as the bits it looks at and the value they must
    /// have, within the bits the kernel reads; `None` for other comparisons.
    pub fn equality(&self) -> Option<(u64, u64)> {
        let within = self.width.bits();
        let mask = match self.comparison {
            Comparison::Eq => within,
            Comparison::MaskedEq(mask) => mask & within,
            _ => return None,
        };
        Some((mask, self.value & mask))
    }
}

/// Whether no call can meet both sets of conditions: one field is tested
/// for two values that differ where both tests look, or for a whole value
/// by one and for anything else by the other.
pub fn disjoint(a: &[Condition], b: &[Condition]) -> bool {
    let excludes = |x: &Condition, y: &Condition| {
        let whole = x.equality().is_some_and(|(mask, value)| mask == x.width.bits() && value == y.value & mask);
        whole && y.comparison == Comparison::Ne
    };
    a.iter().any(|x| {
        b.iter().any(|y| {
            if x.field != y.field || x.width != y.width {
                return false;
            }
            match (x.equality(), y.equality()) {
                (Some((mask_x, value_x)), Some((mask_y, value_y))) => (value_x ^ value_y) & mask_x & mask_y != 0,
                _ => excludes(x, y) || excludes(y, x),
            }
        })
    })
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

impl Rule {
    /// The rule as an entry for the call `name`: `name(cond, ...)=action`.
    pub fn entry(&self, name: &str) -> alloc::string::String {
        use alloc::string::ToString;
        let conditions: alloc::vec::Vec<_> = self.conditions.iter().map(ToString::to_string).collect();
        if conditions.is_empty() {
            alloc::format!("{name}={}", self.action)
        } else {
            alloc::format!("{name}({})={}", conditions.join(", "), self.action)
        }
    }
}
