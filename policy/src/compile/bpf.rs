//! Classic BPF as seccomp uses it: instructions, a code emitter that resolves
//! jumps, an interpreter, and the kernel's test for cacheable syscalls.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::abi::offset;
use crate::action::ret;

/// One classic BPF instruction, laid out as the kernel's `struct sock_filter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Insn {
    /// Opcode: class, size/operation and source bits.
    pub code: u16,
    /// Forward jump when the condition holds.
    pub jt: u8,
    /// Forward jump when it does not.
    pub jf: u8,
    /// Constant operand.
    pub k: u32,
}

impl Insn {
    /// The instruction as the 8 bytes of a `struct sock_filter` (native byte
    /// order): what `bwrap --seccomp` reads and libseccomp exports.
    pub fn to_raw(self) -> [u8; 8] {
        let mut bytes = [0u8; 8];
        bytes[..2].copy_from_slice(&self.code.to_ne_bytes());
        bytes[2] = self.jt;
        bytes[3] = self.jf;
        bytes[4..].copy_from_slice(&self.k.to_ne_bytes());
        bytes
    }

    /// A program from such bytes (a trailing partial instruction is ignored).
    pub fn from_raw(bytes: &[u8]) -> alloc::vec::Vec<Insn> {
        bytes
            .chunks_exact(8)
            .map(|c| Insn {
                code: u16::from_ne_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect()
    }
}

/// Opcode parts used by seccomp filters (from `linux/filter.h`).
#[allow(missing_docs)]
pub mod op {
    pub const LD: u16 = 0x00;
    pub const LDX: u16 = 0x01;
    pub const ST: u16 = 0x02;
    pub const STX: u16 = 0x03;
    pub const ALU: u16 = 0x04;
    pub const JMP: u16 = 0x05;
    pub const RET: u16 = 0x06;
    pub const MISC: u16 = 0x07;
    pub const W: u16 = 0x00;
    pub const IMM: u16 = 0x00;
    pub const ABS: u16 = 0x20;
    pub const MEM: u16 = 0x60;
    pub const LEN: u16 = 0x80;
    pub const ADD: u16 = 0x00;
    pub const SUB: u16 = 0x10;
    pub const MUL: u16 = 0x20;
    pub const DIV: u16 = 0x30;
    pub const OR: u16 = 0x40;
    pub const AND: u16 = 0x50;
    pub const LSH: u16 = 0x60;
    pub const RSH: u16 = 0x70;
    pub const NEG: u16 = 0x80;
    pub const MOD: u16 = 0x90;
    pub const XOR: u16 = 0xa0;
    pub const JA: u16 = 0x00;
    pub const JEQ: u16 = 0x10;
    pub const JGT: u16 = 0x20;
    pub const JGE: u16 = 0x30;
    pub const JSET: u16 = 0x40;
    pub const K: u16 = 0x00;
    pub const X: u16 = 0x08;
    pub const A: u16 = 0x10;
    pub const TAX: u16 = 0x00;
    pub const TXA: u16 = 0x80;
}

/// The kernel's limit on filter length (`BPF_MAXINSNS`).
pub const MAX_INSNS: usize = 4096;

impl Insn {
    /// A non-jump instruction.
    pub const fn stmt(code: u16, k: u32) -> Insn {
        Insn { code, jt: 0, jf: 0, k }
    }

    /// A conditional jump.
    pub const fn jump(code: u16, k: u32, jt: u8, jf: u8) -> Insn {
        Insn { code, jt, jf, k }
    }
}

impl fmt::Display for Insn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let class = self.code & 0x07;
        let k = self.k;
        match (class, self.code) {
            (op::LD, c) if c == op::LD | op::W | op::ABS => match k {
                offset::NR => f.write_str("ld  nr"),
                offset::ARCH => f.write_str("ld  arch"),
                _ => write!(f, "ld  [{k}]"),
            },
            (op::RET, c) if c == op::RET | op::K => write!(f, "ret {}", describe_ret(k)),
            (op::JMP, c) if c == op::JMP | op::JA => write!(f, "ja  +{k}"),
            (op::JMP, c) => {
                let name = match c & 0xf0 {
                    op::JEQ => "jeq",
                    op::JGT => "jgt",
                    op::JGE => "jge",
                    op::JSET => "jset",
                    _ => "j??",
                };
                write!(f, "{name} {k:#x}, +{}, +{}", self.jt, self.jf)
            }
            _ => write!(f, "code={:#06x} jt={} jf={} k={k:#x}", self.code, self.jt, self.jf),
        }
    }
}

fn describe_ret(value: u32) -> String {
    match crate::Action::from_ret(value) {
        Some(action) => action.to_string(),
        None => format!("{value:#x}"),
    }
}

/// A position in a program under construction, counted from its end.
pub(crate) type Label = usize;

/// Builds a program backwards, so that every jump target already exists when
/// the jump is emitted. Jumps longer than a conditional's 8-bit offset go
/// through an unconditional `ja` placed next to them, or, when the target is
/// a return, through a fresh copy of the return (one instruction either way,
/// and the copy ends the path sooner).
#[derive(Default)]
pub(crate) struct Emitter {
    reversed: Vec<Insn>,
    /// The latest `ret` of each value: a handful, so a list beats a map.
    returns: Vec<(u32, Label)>,
}

impl Emitter {
    fn push(&mut self, insn: Insn) -> Label {
        self.reversed.push(insn);
        self.reversed.len() - 1
    }

    /// Emits (or reuses) `ret value`.
    pub(crate) fn ret(&mut self, value: u32) -> Label {
        if let Some(&(_, label)) = self.returns.iter().find(|&&(known, _)| known == value) {
            return label;
        }
        let label = self.push(Insn::stmt(op::RET | op::K, value));
        self.remember_return(value, label);
        label
    }

    /// Emits a `ret value` of its own, which no other jump reuses: one an
    /// installer changes (the probe's answers).
    pub(crate) fn private_ret(&mut self, value: u32) -> Label {
        self.push(Insn::stmt(op::RET | op::K, value))
    }

    fn remember_return(&mut self, value: u32, label: Label) {
        match self.returns.iter_mut().find(|(known, _)| *known == value) {
            Some(known) => known.1 = label,
            None => self.returns.push((value, label)),
        }
    }

    /// Emits a non-jump instruction followed by `next`.
    pub(crate) fn stmt(&mut self, code: u16, k: u32, next: Label) -> Label {
        if next + 1 != self.reversed.len() {
            self.step_towards(next);
        }
        self.push(Insn::stmt(code, k))
    }

    /// Emits a conditional jump on `A <op> k`.
    pub(crate) fn jump(&mut self, code: u16, k: u32, jt: Label, jf: Label) -> Label {
        let jt = self.within_reach(jt);
        let jf = self.within_reach(jf);
        let at = self.reversed.len();
        let offset = |target: Label| u8::try_from(at - target - 1).expect("target within reach");
        self.push(Insn::jump(op::JMP | code | op::K, k, offset(jt), offset(jf)))
    }

    /// A label for `target` that a jump emitted next can reach: `target`
    /// itself, or a one-instruction stepping stone towards it. Both
    /// branches of one jump may need one; the second stone sits one
    /// instruction further from the jump, which the 255 limit leaves room for.
    fn within_reach(&mut self, target: Label) -> Label {
        // Leave room for the other branch's stepping stone.
        if self.reversed.len() - target - 1 < u8::MAX as usize {
            return target;
        }
        self.step_towards(target)
    }

    /// Emits one instruction that leads to `target`: a copy of it if it is a
    /// return, else a jump to it.
    fn step_towards(&mut self, target: Label) -> Label {
        let insn = self.reversed[target];
        if insn.code == op::RET | op::K {
            let label = self.push(insn);
            self.remember_return(insn.k, label);
            label
        } else {
            let at = self.reversed.len();
            self.push(Insn::stmt(op::JMP | op::JA, (at - target - 1) as u32))
        }
    }

    /// The finished program, first instruction first.
    pub(crate) fn finish(mut self) -> Vec<Insn> {
        self.reversed.reverse();
        self.reversed
    }
}

/// The input a filter sees: `struct seccomp_data`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeccompData {
    /// System-call number.
    pub nr: u32,
    /// `AUDIT_ARCH_*` of the calling ABI.
    pub arch: u32,
    /// Address of the instruction after the system call.
    pub instruction_pointer: u64,
    /// The six arguments.
    pub args: [u64; 6],
}

impl SeccompData {
    fn word(&self, k: u32) -> Option<u32> {
        let half = |value: u64, high: bool| if high { (value >> 32) as u32 } else { value as u32 };
        match k {
            offset::NR => Some(self.nr),
            offset::ARCH => Some(self.arch),
            8 | 12 => Some(half(self.instruction_pointer, k == 12)),
            16..=63 if k.is_multiple_of(4) => Some(half(self.args[(k as usize - 16) / 8], k % 8 == 4)),
            _ => None,
        }
    }
}

/// Why a program could not be run to a return.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EvalError {
    /// Control left the program without a return.
    FellOff,
    /// An instruction the seccomp checker would have refused.
    Invalid {
        /// Its index.
        pc: usize,
        /// The instruction.
        insn: Insn,
    },
}

// By hand rather than with thiserror: see `crate::error`.
impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::FellOff => f.write_str("fell off the end of the program"),
            EvalError::Invalid { pc, insn } => write!(f, "instruction {pc} ({insn}) is not valid in a seccomp filter"),
        }
    }
}

/// The result of running a filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The value returned.
    pub ret: u32,
    /// How many instructions ran, the return included.
    pub steps: usize,
}

/// Runs a classic BPF program on `data` as the kernel would.
pub fn run(program: &[Insn], data: &SeccompData) -> Result<Verdict, EvalError> {
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; 16];
    let mut pc = 0usize;
    let mut steps = 0usize;
    loop {
        let insn = *program.get(pc).ok_or(EvalError::FellOff)?;
        let at = pc;
        let invalid = || EvalError::Invalid { pc: at, insn };
        steps += 1;
        pc += 1;
        let k = insn.k;
        let src = if insn.code & op::X != 0 { x } else { k };
        match insn.code & 0x07 {
            op::LD | op::LDX => {
                let value = match insn.code & 0xe0 {
                    op::ABS => data.word(k).ok_or_else(invalid)?,
                    op::IMM => k,
                    op::MEM => *mem.get(k as usize).ok_or_else(invalid)?,
                    op::LEN => 64,
                    _ => return Err(invalid()),
                };
                if insn.code & 0x07 == op::LD { a = value } else { x = value }
            }
            op::ST => *mem.get_mut(k as usize).ok_or_else(invalid)? = a,
            op::STX => *mem.get_mut(k as usize).ok_or_else(invalid)? = x,
            op::ALU => {
                a = match insn.code & 0xf0 {
                    op::ADD => a.wrapping_add(src),
                    op::SUB => a.wrapping_sub(src),
                    op::MUL => a.wrapping_mul(src),
                    op::DIV => a.checked_div(src).ok_or_else(invalid)?,
                    op::MOD => a.checked_rem(src).ok_or_else(invalid)?,
                    op::OR => a | src,
                    op::AND => a & src,
                    op::XOR => a ^ src,
                    op::LSH => a.checked_shl(src).unwrap_or(0),
                    op::RSH => a.checked_shr(src).unwrap_or(0),
                    op::NEG => a.wrapping_neg(),
                    _ => return Err(invalid()),
                }
            }
            op::JMP => {
                let taken = match insn.code & 0xf0 {
                    op::JA => {
                        pc += k as usize;
                        continue;
                    }
                    op::JEQ => a == src,
                    op::JGT => a > src,
                    op::JGE => a >= src,
                    op::JSET => a & src != 0,
                    _ => return Err(invalid()),
                };
                pc += if taken { insn.jt } else { insn.jf } as usize;
            }
            op::RET => {
                let value = match insn.code & 0x18 {
                    op::K => k,
                    op::A => a,
                    _ => return Err(invalid()),
                };
                return Ok(Verdict { ret: value, steps });
            }
            op::MISC => {
                if insn.code & 0xf8 == op::TXA {
                    a = x
                } else {
                    x = a
                }
            }
            _ => return Err(invalid()),
        }
    }
}

/// Whether the kernel will cache `nr` on `arch` as always allowed, so that the
/// filter never runs for it: the kernel's `seccomp_is_const_allow`, which
/// accepts a path only if it loads nothing but `nr` and `arch`, jumps only on
/// constants, and returns `SECCOMP_RET_ALLOW`.
pub fn is_cached_allow(program: &[Insn], arch: u32, nr: u32) -> bool {
    let mut a = 0u32;
    let mut pc = 0usize;
    while let Some(insn) = program.get(pc) {
        pc += 1;
        match insn.code {
            c if c == op::LD | op::W | op::ABS => match insn.k {
                offset::NR => a = nr,
                offset::ARCH => a = arch,
                _ => return false,
            },
            c if c == op::RET | op::K => return insn.k == ret::ALLOW,
            c if c == op::JMP | op::JA => pc += insn.k as usize,
            c if c == op::JMP | op::JEQ | op::K => pc += if a == insn.k { insn.jt } else { insn.jf } as usize,
            c if c == op::JMP | op::JGE | op::K => pc += if a >= insn.k { insn.jt } else { insn.jf } as usize,
            c if c == op::JMP | op::JGT | op::K => pc += if a > insn.k { insn.jt } else { insn.jf } as usize,
            c if c == op::JMP | op::JSET | op::K => pc += if a & insn.k != 0 { insn.jt } else { insn.jf } as usize,
            c if c == op::ALU | op::AND | op::K => a &= insn.k,
            _ => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn far_jumps_get_stepping_stones() {
        let mut emitter = Emitter::default();
        let kill = emitter.ret(ret::KILL_PROCESS);
        let mut next = emitter.ret(ret::ALLOW);
        for _ in 0..300 {
            next = emitter.stmt(op::LD | op::W | op::ABS, offset::NR, next);
        }
        let far_target = next;
        for _ in 0..300 {
            next = emitter.stmt(op::LD | op::W | op::ABS, offset::ARCH, next);
        }
        emitter.jump(op::JEQ, 7, far_target, kill);
        let program = emitter.finish();
        for (nr, expected) in [(7, ret::ALLOW), (8, ret::KILL_PROCESS)] {
            let data = SeccompData { nr, ..SeccompData::default() };
            // The jump tests A, which is 0 here: load nr into A first.
            let mut with_load = vec![Insn::stmt(op::LD | op::W | op::ABS, offset::NR)];
            with_load.extend_from_slice(&program);
            assert_eq!(run(&with_load, &data).unwrap().ret, expected);
        }
    }

    #[test]
    fn interpreter_reads_both_halves_of_arguments() {
        let data = SeccompData { args: [0, 0x1122_3344_5566_7788, 0, 0, 0, 0], ..SeccompData::default() };
        let low = [Insn::stmt(op::LD | op::W | op::ABS, offset::ARGS + 8), Insn::stmt(op::RET | op::A, 0)];
        let high = [Insn::stmt(op::LD | op::W | op::ABS, offset::ARGS + 12), Insn::stmt(op::RET | op::A, 0)];
        assert_eq!(run(&low, &data).unwrap().ret, 0x5566_7788);
        assert_eq!(run(&high, &data).unwrap().ret, 0x1122_3344);
    }

    #[test]
    fn argument_loads_are_not_cacheable() {
        let program = [Insn::stmt(op::LD | op::W | op::ABS, offset::ARGS), Insn::stmt(op::RET | op::K, ret::ALLOW)];
        assert!(!is_cached_allow(&program, 0, 0));
        let program = [Insn::stmt(op::LD | op::W | op::ABS, offset::NR), Insn::stmt(op::RET | op::K, ret::ALLOW)];
        assert!(is_cached_allow(&program, 0, 0));
    }
}
