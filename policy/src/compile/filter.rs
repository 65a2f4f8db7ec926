//! [`Policy`] → seccomp BPF.
//!
//! The program checks the audit arch, loads the number, and finds its action
//! by binary search over ranges of numbers that share an action, where a
//! run of single numbers inside one range is picked out by equality (see
//! `runs`). Every path loads only `arch` and `nr` and jumps only on
//! constants, so the kernel caches each allowed call and never runs the
//! filter for it; the longest path grows with the logarithm of the number of
//! ranges (≈ 15 instructions for a 250-entry allow list, where a linear
//! filter runs ≈ 255).

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use crate::abi::offset;
use crate::abi::{Abi, Arch, X32_SYSCALL_BIT};
use crate::action::Action;
use crate::compile::bpf::{self, Emitter, Insn, Label, op};
use crate::condition::{Comparison, Condition, Field, Rule, Width};
use crate::resolve::{CallRules, Policy};
use crate::tables::syscalls::{I386_MULTIPLEXERS, Multiplexer, NUMBERS, Syscall};

/// A compiled filter, ready to install.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    pub(crate) insns: Vec<Insn>,
    /// Where the probe's nonce and answers are, in programs that answer it.
    probe_at: Option<ProbeAt>,
}

/// Where a program's [`probe`] compares the nonce and returns its answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ProbeAt {
    /// The comparisons with the nonce's high and low word.
    nonce: [usize; 2],
    /// The returns of the two answers.
    answers: [usize; 2],
}

impl Program {
    /// The instructions (with a zero nonce and [`probe::CONFIRMED`] for both
    /// answers; [`crate::sys::install`] sets secret ones).
    pub fn insns(&self) -> &[Insn] {
        &self.insns
    }

    /// A program without the probe (learn mode's observer).
    pub(crate) fn from_insns(insns: Vec<Insn>) -> Program {
        Program { insns, probe_at: None }
    }

    /// Answers another filter's probe with `errno` instead of
    /// [`probe::OTHER`] (a filter whose kills are named says so: see
    /// [`crate::violation::REPORTS`]); a program without the probe is left
    /// as it is.
    pub(crate) fn answer_other_probes(&mut self, errno: u16) {
        if let Some(other) = self.other_probes_return() {
            self.insns[other].k = Action::Errno(errno).ret();
        }
    }

    /// The errno another filter's probe gets, if the program has the probe.
    pub(crate) fn other_probes_answer(&self) -> Option<u16> {
        self.other_probes_return().map(|other| (self.insns[other].k & crate::action::ret::DATA) as u16)
    }

    /// Where the probe returns: its two answers and another filter's.
    pub(crate) fn probe_returns(&self) -> Vec<usize> {
        let answers = self.probe_at.map_or(Vec::new(), |ProbeAt { answers, .. }| answers.to_vec());
        answers.into_iter().chain(self.other_probes_return()).collect()
    }

    /// Where the probe returns when the nonce is another filter's.
    fn other_probes_return(&self) -> Option<usize> {
        // The nonce's high word jumps there when it differs.
        self.probe_at.map(|ProbeAt { nonce: [high, _], .. }| high + 1 + usize::from(self.insns[high].jf))
    }

    /// The instructions with `nonce` and `answers` in the probe (see
    /// [`probe`]), and with [`probe::FILES`] in another filter's answer if
    /// `files_handled`; `None` for a program without the probe.
    pub(crate) fn with_probe(&self, nonce: u64, answers: [u16; 2], files_handled: bool) -> Option<Vec<Insn>> {
        let ProbeAt { nonce: [high, low], answers: returns } = self.probe_at?;
        let mut insns = self.insns.clone();
        insns[high].k = (nonce >> 32) as u32;
        insns[low].k = nonce as u32;
        for (at, answer) in returns.into_iter().zip(answers) {
            insns[at].k = Action::Errno(answer).ret();
        }
        if files_handled && let Some(other) = self.other_probes_return() {
            insns[other].k |= u32::from(probe::FILES);
        }
        Some(insns)
    }
}

/// How an installer proves that its filter is in force, and not faked by an
/// outer filter that answered `seccomp()` with `SECCOMP_RET_ERRNO | 0` (see
/// [`crate::sys::install`]). Before any rule of the policy, the filter answers
/// `getpgrp(nonce, MARK)` (`getpgid` on aarch64, see [`probe::syscall`])
/// with the first of two answers when `nonce` is its own, with the second
/// when only the nonce's low word differs, and with [`OTHER`](probe::OTHER)
/// when its high word does. The nonce and both answers are random, set when
/// the filter is installed and asked for right after, and ties between
/// stacked filters go to the newest: only the filter just installed can
/// give both answers. The answers travel in no argument, so an outer filter
/// that fakes the install cannot compute them from the question; it can
/// only guess (one chance in [`ANSWERS`](probe::ANSWERS) squared, some 16
/// million, and a wrong guess stops the program). Neither call reads a
/// second argument, so no real call carries the mark, and both are rare
/// enough that taking them off the kernel's cache costs nothing.
pub mod probe {
    use crate::abi::Abi;

    /// The call on x86_64: `getpgrp`.
    pub const SYSCALL: u32 = 111;
    /// The call on aarch64, which has no `getpgrp` (libc makes it
    /// `getpgid(0)`): `getpgid`, whose one argument the mark does not touch.
    pub const AARCH64_SYSCALL: u32 = 155;

    /// The call on `abi`'s native filter; `None` on a compat ABI, which a
    /// filter never answers it on.
    pub const fn syscall(abi: Abi) -> Option<u32> {
        match abi {
            Abi::X86_64 => Some(SYSCALL),
            Abi::Aarch64 => Some(AARCH64_SYSCALL),
            Abi::I386 => None,
        }
    }
    /// Its second argument.
    pub const MARK: u64 = 0x5ec0_9be0_5ec0_9be0;
    /// Both answers in a compiled program, before an installer sets its own.
    pub const CONFIRMED: u16 = 3990;
    /// The answers an installer sets are drawn from 1 to this, below
    /// [`CONFIRMED`], [`OTHER`] and the named kills' answers.
    pub const ANSWERS: u16 = 3989;
    /// The errno when it is another filter's.
    pub const OTHER: u16 = 3991;
    /// Set in the answer to another filter's probe ([`OTHER`], or a named-kill
    /// filter's `crate::violation::REPORTS`) by a filter installed in a
    /// Landlock domain that handles files: a sandbox started under it must
    /// then handle and grant reparenting in its own domain too, or every
    /// rename or link across directories would fail (see
    /// [`crate::sys::scope`]).
    pub const FILES: u16 = 0x40;
    /// The nonce that asks the filters in force what they say of
    /// themselves ([`FILES`], `crate::violation::REPORTS`): not one a filter
    /// has (an installed filter's is random, a compiled one's zero).
    pub const ASK: u64 = 0x5ec1_a5c0_5ec1_a5c0;

    // The bit is clear in every answer it is added to, and what it makes
    // is still an errno the kernel passes on (at most 4095).
    const _: () = assert!(OTHER & FILES == 0 && crate::violation::REPORTS & (0b1111 | FILES) == 0);
    const _: () = assert!(crate::violation::REPORTS + 0b1111 + FILES <= 4095);

    /// Whether the answer to [`ASK`] says that the filters in force were
    /// installed in a Landlock domain that handles files. Only the
    /// sandbox's answers are read so: another filter's errno is not one.
    pub fn files_handled(answer: u16) -> bool {
        let base = answer & !FILES;
        answer & FILES != 0 && (base == OTHER || crate::violation::Answer::from_errno(base).is_some())
    }
}

/// Whether `syscall` is an i386 multiplexer (its filter decides by operation).
pub(crate) fn is_i386_multiplexer(syscall: &Syscall) -> bool {
    I386_MULTIPLEXERS.iter().any(|multiplexer| multiplexer.call() == syscall)
}

/// The leaf of an i386 multiplexer (`socketcall`, `ipc`: a deny list of
/// `connect` must not be bypassed through `socketcall(SYS_CONNECT, ...)`).
/// Each operation gets the strictest action of the call it stands for
/// (whose own arguments sit behind a pointer the filter cannot read), and
/// of the multiplexer itself when an entry names it, so neither name can
/// loosen the other; an unknown operation gets the multiplexer's.
fn multiplexer_leaf(policy: &Policy, multiplexer: &Multiplexer) -> Leaf {
    let own = policy.strictest_for(multiplexer.call());
    let named = policy.call(multiplexer.call()).is_some();
    let mask = multiplexer.mask();
    let comparison = if mask == u32::MAX { Comparison::Eq } else { Comparison::MaskedEq(mask.into()) };
    let rules = multiplexer
        .members()
        .filter_map(|(member, operation)| {
            let member_action = policy.strictest_for(member);
            let action = if named && own.precedence() > member_action.precedence() { own } else { member_action };
            let condition =
                Condition { field: Field::Arg(0), comparison, value: operation.into(), width: Width::Bits32 };
            (action != own).then(|| Rule { conditions: vec![condition], action })
        })
        .collect();
    Leaf { rules, otherwise: own, probed: false }
}

/// What one system call gets: the first rule whose conditions all hold, or
/// `otherwise`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Leaf {
    rules: Vec<Rule>,
    otherwise: Action,
    /// The [`probe`] comes first: the leaf of [`probe::SYSCALL`] on x86_64.
    probed: bool,
}

impl Leaf {
    fn of(action: Action) -> Leaf {
        Leaf { rules: Vec::new(), otherwise: action, probed: false }
    }
}

/// A rule put in front of the policy's own for one call on one ABI. The
/// launcher uses one to let its own exec through (see sandboxify).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override {
    /// The ABI.
    pub abi: Abi,
    /// The call's number on that ABI.
    pub nr: u32,
    /// Checked before the policy's action for the call.
    pub rule: Rule,
}

/// A range of numbers sharing a leaf: from `start` to the next range's start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Range {
    start: u32,
    leaf: LeafRef,
}

/// A leaf as a range holds it: most are an action alone, and a range is
/// kept small (a long allow list has hundreds, and each page of fresh
/// memory costs a start-up more than the code that fills it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LeafRef {
    /// A leaf without checks: this action.
    Action(Action),
    /// The leaf with checks at this position in [`Ranges::checked`].
    Checked(u32),
}

/// One ABI's numbers as ranges of equal leaves, in order.
struct Ranges {
    ranges: Vec<Range>,
    /// The leaves with checks (rules or the probe) the ranges refer to.
    checked: Vec<Leaf>,
}

impl Ranges {
    /// Whether `a` and `b` are the same leaf.
    fn same(&self, a: LeafRef, b: LeafRef) -> bool {
        match (a, b) {
            (LeafRef::Checked(a), LeafRef::Checked(b)) => self.checked[a as usize] == self.checked[b as usize],
            _ => a == b,
        }
    }

    /// Adds the range from `start` with `leaf`, or extends the last one if
    /// it has the same leaf.
    fn push(&mut self, start: u32, leaf: Leaf) {
        let leaf = if leaf.rules.is_empty() && !leaf.probed {
            LeafRef::Action(leaf.otherwise)
        } else {
            self.checked.push(leaf);
            LeafRef::Checked(self.checked.len() as u32 - 1)
        };
        match self.ranges.last() {
            Some(last) if self.same(last.leaf, leaf) => {
                if let LeafRef::Checked(_) = leaf {
                    self.checked.pop();
                }
            }
            _ => self.ranges.push(Range { start, leaf }),
        }
    }
}

/// One ABI's numbers that get more than the policy's default, each with
/// its call's rules. Found by number, in order, where sorting the calls by
/// number cost more than the rest of compiling a long allow list; on the
/// stack, and skipped over a word of bits at a time, so that a short deny
/// list pays next to nothing for the many numbers it leaves alone.
struct Numbers {
    /// Bit `nr % 64` of word `nr / 64`: the numbers of the tables.
    marked: [u64; NUMBERS.div_ceil(64)],
    /// By number: the position of its call in [`Policy::calls`], plus one; 0: none.
    calls: [u16; NUMBERS],
    /// Numbers past the tables, in order (only an override can name one).
    beyond: Vec<u32>,
}

impl Numbers {
    fn new() -> Numbers {
        Numbers { marked: [0; NUMBERS.div_ceil(64)], calls: [0; NUMBERS], beyond: Vec::new() }
    }

    /// Adds `nr`, with the position of its call in [`Policy::calls`] if the
    /// policy has rules for it; past the tables, in order.
    fn insert(&mut self, nr: u32, call: Option<usize>) {
        let at = nr as usize;
        if at >= NUMBERS {
            if self.beyond.last() != Some(&nr) {
                self.beyond.push(nr);
            }
            return;
        }
        self.marked[at / 64] |= 1 << (at % 64);
        if let Some(position) = call {
            self.calls[at] = position as u16 + 1;
        }
    }

    /// The numbers in order, each with the position of its call.
    fn iter(&self) -> impl Iterator<Item = (u32, Option<usize>)> + '_ {
        let marked = self.marked.iter().enumerate().flat_map(|(at, &word)| {
            let mut rest = word;
            core::iter::from_fn(move || {
                (rest != 0).then(|| {
                    let bit = rest.trailing_zeros() as usize;
                    rest &= rest - 1;
                    at * 64 + bit
                })
            })
        });
        let call = |nr: usize| usize::from(self.calls[nr]).checked_sub(1);
        marked.map(move |nr| (nr as u32, call(nr))).chain(self.beyond.iter().map(|&nr| (nr, None)))
    }
}

/// The leaves of one ABI's numbers, as ranges of equal leaves: each number
/// gets its multiplexer's leaf (on i386), else its call's, else the
/// policy's default, with the overrides for it in front.
fn ranges(policy: &Policy, abi: Abi, overrides: &[Override]) -> Ranges {
    let default = policy.default_action();
    // The numbers that get more than the default; the many others fill
    // the gaps between them.
    let mut numbers = Numbers::new();
    for (position, call) in policy.calls().iter().enumerate() {
        if let Some(nr) = call.syscall.number(abi) {
            numbers.insert(nr, Some(position));
        }
    }
    if abi == Abi::I386 {
        for multiplexer in &I386_MULTIPLEXERS {
            let nr = multiplexer.call().number(abi).expect("build.rs checks that multiplexers exist on i386");
            numbers.insert(nr, None);
        }
    }
    // This ABI's overrides, each in front of the rules before it: for one
    // number, in the order given (stable sort).
    let mut pending: Vec<&Override> = overrides.iter().filter(|over| over.abi == abi).collect();
    pending.sort_by_key(|over| over.nr);
    for nr in pending.iter().map(|over| over.nr).chain(probe::syscall(abi)) {
        numbers.insert(nr, None);
    }
    let mut pending = pending.as_slice();

    let mut ranges =
        Ranges { ranges: Vec::with_capacity(2 * (policy.calls().len() + pending.len()) + 8), checked: Vec::new() };
    let mut next = 0;
    for (nr, call) in numbers.iter() {
        let multiplexer = match abi {
            Abi::I386 => I386_MULTIPLEXERS.iter().find(|multiplexer| multiplexer.call().number(abi) == Some(nr)),
            _ => None,
        };
        let mut leaf = match (multiplexer, call) {
            (Some(multiplexer), _) => multiplexer_leaf(policy, multiplexer),
            (None, Some(position)) => call_leaf(policy, abi, &policy.calls()[position]),
            (None, None) => Leaf::of(default),
        };
        while let [over, rest @ ..] = pending
            && over.nr == nr
        {
            leaf.rules.insert(0, over.rule.clone());
            pending = rest;
        }
        // In the call's own leaf, the probe costs the other calls' paths nothing.
        leaf.probed = probe::syscall(abi) == Some(nr);
        if nr > next {
            ranges.push(next, Leaf::of(default));
        }
        ranges.push(nr, leaf);
        next = nr + 1;
    }
    ranges.push(next, Leaf::of(default));
    if abi == Abi::X86_64 {
        // x32 numbers: an x32 process cannot load this library, and kernels
        // with x32 enabled would otherwise run them under the x86_64 arch.
        ranges.push(X32_SYSCALL_BIT, Leaf::of(policy.violation()));
    }
    ranges
}

/// The leaf of a call the policy has rules for.
fn call_leaf(policy: &Policy, abi: Abi, call: &CallRules) -> Leaf {
    let rules: Option<Vec<Rule>> = match abi {
        Abi::X86_64 => Some(call.conditional.iter().map(|explained| explained.rule.clone()).collect()),
        Abi::I386 => call.conditional.iter().map(|explained| on_i386(call.syscall, &explained.rule)).collect(),
        Abi::Aarch64 => {
            Some(call.conditional.iter().map(|explained| on_aarch64(call.syscall, &explained.rule)).collect())
        }
    };
    let Some(rules) = rules else {
        // A condition i386 cannot be asked the same way (a 64-bit value
        // split over two registers, arguments in memory): the strictest
        // action of the call's rules.
        return Leaf::of(policy.strictest_for(call.syscall));
    };
    let otherwise = call.always.as_ref().map_or(policy.default_action(), |always| always.rule.action);
    Leaf { rules, otherwise, probed: false }
}

/// `rule` for the aarch64 call: its arguments are x86_64's, in the same
/// registers and with the same widths (both LP64), except `clone`'s last two,
/// which arm64 takes the other way round (`CONFIG_CLONE_BACKWARDS`: `tls`
/// before `child_tid`).
pub(crate) fn on_aarch64(syscall: &Syscall, rule: &Rule) -> Rule {
    if syscall.name() != "clone" {
        return rule.clone();
    }
    let swapped = |field| match field {
        Field::Arg(3) => Field::Arg(4),
        Field::Arg(4) => Field::Arg(3),
        other => other,
    };
    let conditions =
        rule.conditions.iter().map(|condition| Condition { field: swapped(condition.field), ..*condition });
    Rule { conditions: conditions.collect(), action: rule.action }
}

/// Whether the i386 filter tests `call`'s conditions (on the registers that
/// carry their arguments) rather than giving it its strictest action.
pub fn conditions_hold_on_i386(call: &CallRules) -> bool {
    call.conditional.iter().all(|explained| on_i386(call.syscall, &explained.rule).is_some())
}

/// `rule` for the i386 call, its conditions moved to the registers that
/// carry their arguments there (`data/syscall-args-i386.tsv`); `None` if
/// one cannot be. Every i386 register is 32 bits, and a 64-bit program
/// making an i386 call (`int 0x80`) can leave anything in the high halves,
/// which the kernel drops: only low words are compared.
pub(crate) fn on_i386(syscall: &Syscall, rule: &Rule) -> Option<Rule> {
    let conditions = rule
        .conditions
        .iter()
        .map(|condition| {
            let Field::Arg(index) = condition.field else { return None };
            let register = syscall.i386_register(index)?;
            let high_bits = |value: u64| value >> 32 != 0;
            let mask = match condition.comparison {
                Comparison::MaskedEq(mask) => mask,
                _ => 0,
            };
            // A 64-bit value with high bits cannot be in a 32-bit register.
            if condition.width == Width::Bits64 && (high_bits(condition.value) || high_bits(mask)) {
                return None;
            }
            let width = if condition.width == Width::Bits64 { Width::Bits32 } else { condition.width };
            Some(Condition { field: Field::Arg(register), width, ..*condition })
        })
        .collect::<Option<Vec<Condition>>>()?;
    Some(Rule { conditions, action: rule.action })
}

/// The program being emitted, with what is shared within it.
#[derive(Default)]
struct Emission {
    emitter: Emitter,
    /// The leaves with checks emitted so far: another ABI's call with the
    /// same rules (the terminal rules' `ioctl`, say) jumps to the same code.
    leaves: Vec<(Leaf, Label)>,
    /// Where the probe compares the nonce and returns its answers.
    probe: Option<ProbeLabels>,
}

/// Emits the checks of one leaf, or finds them emitted, returning the
/// label of its first instruction.
fn leaf(emission: &mut Emission, leaf: &Leaf) -> Label {
    if leaf.rules.is_empty() && !leaf.probed {
        return emission.emitter.ret(leaf.otherwise.ret());
    }
    if let Some(&(_, label)) = emission.leaves.iter().find(|(known, _)| known == leaf) {
        return label;
    }
    let emitter = &mut emission.emitter;
    let mut next = emitter.ret(leaf.otherwise.ret());
    for rule in leaf.rules.iter().rev() {
        let mut entry = emitter.ret(rule.action.ret());
        for condition in rule.conditions.iter().rev() {
            entry = condition_check(emitter, condition, entry, next);
        }
        next = entry;
    }
    if leaf.probed {
        let (probed, labels) = probe(emitter, next);
        next = probed;
        emission.probe = Some(labels);
    }
    // Bounded, so that a policy of many conditional calls is not compiled
    // in quadratic time; the shared leaves are most often few.
    if emission.leaves.len() < SHARED_LEAVES {
        emission.leaves.push((leaf.clone(), next));
    }
    next
}

/// The most leaves with checks that later identical ones jump to.
const SHARED_LEAVES: usize = 64;

/// Emits a comparison: for 64 bits a test on the high word, then the low
/// word; for 32 bits the low word alone.
fn condition_check(emitter: &mut Emitter, condition: &Condition, holds: Label, fails: Label) -> Label {
    if let Some(mask) = condition.width.low_mask() {
        return low_word_check(emitter, condition, mask, holds, fails);
    }
    let (high, low) = ((condition.value >> 32) as u32, condition.value as u32);
    let field = condition.field;
    let load = |emitter: &mut Emitter, offset: u32, next: Label| emitter.stmt(op::LD | op::W | op::ABS, offset, next);
    // `greater` is JGT for >, JGE for >=; the high word decides unless equal.
    let ordered = |emitter: &mut Emitter, greater: u16, holds: Label, fails: Label| {
        let on_low = emitter.jump(greater, low, holds, fails);
        let on_low = load(emitter, field.low(), on_low);
        let high_equal = emitter.jump(op::JEQ, high, on_low, fails);
        let high_greater = emitter.jump(op::JGT, high, holds, high_equal);
        load(emitter, field.high(), high_greater)
    };
    // An `and` with all ones changes nothing: left out.
    let and = |emitter: &mut Emitter, mask: u32, next: Label| {
        if mask == u32::MAX { next } else { emitter.stmt(op::ALU | op::AND | op::K, mask, next) }
    };
    let masked_equal = |emitter: &mut Emitter, mask: u64, holds: Label, fails: Label| {
        let on_low = emitter.jump(op::JEQ, low, holds, fails);
        let on_low = and(emitter, mask as u32, on_low);
        let on_low = load(emitter, field.low(), on_low);
        let on_high = emitter.jump(op::JEQ, high, on_low, fails);
        let on_high = and(emitter, (mask >> 32) as u32, on_high);
        load(emitter, field.high(), on_high)
    };
    match condition.comparison {
        Comparison::Eq => masked_equal(emitter, u64::MAX, holds, fails),
        Comparison::Ne => masked_equal(emitter, u64::MAX, fails, holds),
        Comparison::MaskedEq(mask) => masked_equal(emitter, mask, holds, fails),
        Comparison::Gt => ordered(emitter, op::JGT, holds, fails),
        Comparison::Ge => ordered(emitter, op::JGE, holds, fails),
        Comparison::Le => ordered(emitter, op::JGT, fails, holds),
        Comparison::Lt => ordered(emitter, op::JGE, fails, holds),
    }
}

/// A comparison of the bits `width_mask` of the low word: the word is
/// masked first when the kernel reads fewer than 32 bits of it.
fn low_word_check(emitter: &mut Emitter, condition: &Condition, width_mask: u32, holds: Label, fails: Label) -> Label {
    let value = condition.value as u32;
    let load = |emitter: &mut Emitter, next: Label| {
        let next =
            if width_mask == u32::MAX { next } else { emitter.stmt(op::ALU | op::AND | op::K, width_mask, next) };
        emitter.stmt(op::LD | op::W | op::ABS, condition.field.low(), next)
    };
    let (code, holds, fails) = match condition.comparison {
        Comparison::Eq => (op::JEQ, holds, fails),
        Comparison::Ne => (op::JEQ, fails, holds),
        Comparison::Gt => (op::JGT, holds, fails),
        Comparison::Ge => (op::JGE, holds, fails),
        Comparison::Le => (op::JGT, fails, holds),
        Comparison::Lt => (op::JGE, fails, holds),
        Comparison::MaskedEq(mask) => {
            let test = emitter.jump(op::JEQ, value, holds, fails);
            let test = emitter.stmt(op::ALU | op::AND | op::K, mask as u32 & width_mask, test);
            return emitter.stmt(op::LD | op::W | op::ABS, condition.field.low(), test);
        }
    };
    let test = emitter.jump(code, value, holds, fails);
    load(emitter, test)
}

/// The most single numbers one run of the search tells apart (see [`runs`]).
const POINTS_PER_RUN: usize = 2;

/// Groups `ranges` into the runs the search tells apart: a range alone, or
/// a *background* range with up to [`POINTS_PER_RUN`] single numbers in it,
/// each followed by the background again. Allow lists are mostly such
/// isolated numbers, and `jeq` picks one out in one instruction where
/// bounding it with `jge` takes two: programs are about a quarter shorter,
/// and the kernel's cost of installing one grows with its length.
fn runs(ranges: &Ranges) -> Vec<&[Range]> {
    let mut runs = Vec::with_capacity(ranges.ranges.len());
    let mut rest = &ranges.ranges[..];
    while let Some(background) = rest.first() {
        let mut end = 1;
        let is_point = |at: usize| rest.get(at + 1).is_some_and(|next| next.start == rest[at].start + 1);
        while end < 2 * POINTS_PER_RUN + 1
            && is_point(end)
            && rest.get(end + 1).is_some_and(|after| ranges.same(after.leaf, background.leaf))
        {
            end += 2;
        }
        let (run, after) = rest.split_at(end);
        runs.push(run);
        rest = after;
    }
    runs
}

/// Emits a binary search over `runs` (with their leaves with checks in
/// `checked`), returning the label of its root.
fn search(emission: &mut Emission, runs: &[&[Range]], checked: &[Leaf]) -> Label {
    if let [only] = runs {
        return run(emission, only, checked);
    }
    let middle = runs.len() / 2;
    // Emitted backwards: the upper half ends up after the lower one.
    let upper = search(emission, &runs[middle..], checked);
    let lower = search(emission, &runs[..middle], checked);
    emission.emitter.jump(op::JGE, runs[middle][0].start, upper, lower)
}

/// Emits one run: each single number by equality, then the background,
/// which has every other number of the run.
fn run(emission: &mut Emission, ranges: &[Range], checked: &[Leaf]) -> Label {
    let emit = |emission: &mut Emission, leaf_ref| match leaf_ref {
        LeafRef::Action(action) => emission.emitter.ret(action.ret()),
        LeafRef::Checked(at) => leaf(emission, &checked[at as usize]),
    };
    let mut next = emit(emission, ranges[0].leaf);
    for point in ranges[1..].iter().step_by(2).rev() {
        let target = emit(emission, point.leaf);
        next = emission.emitter.jump(op::JEQ, point.start, target, next);
    }
    next
}

/// A policy whose filter is longer than the kernel accepts: the lists fit
/// their byte limits, but their conditions compile to too many instructions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FilterTooLong {
    /// The length of the compiled filter.
    pub instructions: usize,
    /// The kernel's limit (`BPF_MAXINSNS`).
    pub limit: usize,
}

impl fmt::Display for FilterTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the policy compiles to {} BPF instructions, more than the kernel's limit of {}: name fewer calls \
             with conditions, or allow or deny a call whole instead of value by value",
            self.instructions, self.limit
        )
    }
}

impl core::error::Error for FilterTooLong {}

/// Compiles `policy` for this machine's every ABI it does not refuse; any
/// other arch kills the process.
pub fn compile(policy: &Policy) -> Result<Program, FilterTooLong> {
    compile_with(policy, &[])
}

/// Compiles `policy` for `arch`'s ABIs (to explain, show or export it: a
/// filter for another machine is never installed here).
pub fn compile_for(policy: &Policy, arch: Arch) -> Result<Program, FilterTooLong> {
    compile_arch(policy, arch, &[])
}

/// Compiles `policy` for this machine with `overrides` checked first for their calls.
pub fn compile_with(policy: &Policy, overrides: &[Override]) -> Result<Program, FilterTooLong> {
    compile_arch(policy, Arch::HOST, overrides)
}

fn compile_arch(policy: &Policy, arch: Arch, overrides: &[Override]) -> Result<Program, FilterTooLong> {
    let mut emission = Emission::default();
    let unknown_arch = emission.emitter.ret(Action::Kill.ret());
    let mut otherwise = unknown_arch;
    // Backwards again: the last ABI's code is emitted first, and the native
    // one ends up straight after the arch check, with no jump on its path.
    // A refused ABI gets no section: its calls reach the unknown arch's kill.
    let compiled = arch.abis().iter().copied().filter(|&abi| !(abi == Abi::I386 && policy.refuses_i386()));
    for abi in compiled.rev() {
        let ranges = ranges(policy, abi, overrides);
        let root = search(&mut emission, &runs(&ranges), &ranges.checked);
        let emitter = &mut emission.emitter;
        let body = emitter.stmt(op::LD | op::W | op::ABS, offset::NR, root);
        otherwise = emitter.jump(op::JEQ, abi.audit_arch(), body, otherwise);
    }
    let Emission { mut emitter, probe: probe_labels, .. } = emission;
    emitter.stmt(op::LD | op::W | op::ABS, offset::ARCH, otherwise);
    let insns = emitter.finish();
    if insns.len() > bpf::MAX_INSNS {
        return Err(FilterTooLong { instructions: insns.len(), limit: bpf::MAX_INSNS });
    }
    let at = |label: Label| insns.len() - 1 - label;
    let probe_at =
        probe_labels.map(|ProbeLabels { nonce, answers }| ProbeAt { nonce: nonce.map(at), answers: answers.map(at) });
    Ok(Program { insns, probe_at })
}

/// Where [`probe`] put the nonce's comparisons and the answers' returns.
struct ProbeLabels {
    nonce: [Label; 2],
    answers: [Label; 2],
}

/// Emits the [`probe`] in front of `call`, the checks of its call's leaf,
/// returning the new entry and where the installer sets its values.
fn probe(emitter: &mut Emitter, call: Label) -> (Label, ProbeLabels) {
    let load = |emitter: &mut Emitter, offset: u32, next: Label| emitter.stmt(op::LD | op::W | op::ABS, offset, next);
    let (nonce, mark) = (Field::Arg(0), Field::Arg(1));
    let not_probe = call;
    // Returns of their own: the installer sets the answers, and a named-kill
    // filter `other`'s (see `Program::answer_other_probes`).
    let first = emitter.private_ret(Action::Errno(probe::CONFIRMED).ret());
    let second = emitter.private_ret(Action::Errno(probe::CONFIRMED).ret());
    let other = emitter.private_ret(Action::Errno(probe::OTHER).ret());
    let nonce_low = emitter.jump(op::JEQ, 0, first, second);
    let next = load(emitter, nonce.low(), nonce_low);
    let nonce_high = emitter.jump(op::JEQ, 0, next, other);
    let next = load(emitter, nonce.high(), nonce_high);
    let next = emitter.jump(op::JEQ, probe::MARK as u32, next, not_probe);
    let next = load(emitter, mark.low(), next);
    let next = emitter.jump(op::JEQ, (probe::MARK >> 32) as u32, next, not_probe);
    (load(emitter, mark.high(), next), ProbeLabels { nonce: [nonce_high, nonce_low], answers: [first, second] })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::AUDIT_ARCH_X86_64;
    use crate::compile::bpf::{SeccompData, run};
    use crate::error::Origin;
    use crate::text::{Settings, Switches, Text};

    fn policy(allow: Option<&str>, deny: Option<&str>, default: Option<&str>) -> Policy {
        let origin = Origin::Variable("test");
        let text = |text| Text { origin: &origin, text };
        Settings {
            allow: allow.map(text),
            deny: deny.map(text),
            default_action: default.map(text),
            switches: Switches::default(),
        }
        .policy()
        .unwrap()
        .unwrap()
    }

    fn verdict(program: &Program, abi: Abi, nr: u32) -> (Action, usize) {
        let data = SeccompData { nr, arch: abi.audit_arch(), ..SeccompData::default() };
        let verdict = run(program.insns(), &data).unwrap();
        (Action::from_ret(verdict.ret).unwrap(), verdict.steps)
    }

    fn nr(name: &str, abi: Abi) -> u32 {
        Syscall::by_name(name).unwrap().number(abi).unwrap()
    }

    #[test]
    fn isolated_numbers_are_picked_out_by_equality() {
        // close (3) and stat (4) are a range of two; getpid (39) and uname
        // (63) single numbers inside the denied range from 5. Exact: no
        // addition breaks the ranges up.
        let origin = Origin::Variable("test");
        let text = Text { origin: &origin, text: "close:stat:getpid:uname" };
        let exact = Settings { allow: Some(text), deny: None, default_action: None, switches: Switches::EXACT };
        let program = compile(&exact.policy().unwrap().unwrap()).unwrap();
        let expected =
            [(2, Action::Kill), (3, Action::Allow), (4, Action::Allow), (5, Action::Kill), (38, Action::Kill)]
                .into_iter()
                .chain([
                    (39, Action::Allow),
                    (40, Action::Kill),
                    (62, Action::Kill),
                    (63, Action::Allow),
                    (64, Action::Kill),
                ]);
        for (nr, action) in expected {
            assert_eq!(verdict(&program, Abi::X86_64, nr).0, action, "{nr}");
        }
        let picked: Vec<u32> =
            program.insns().iter().filter(|insn| insn.code == op::JMP | op::JEQ | op::K).map(|insn| insn.k).collect();
        assert!(picked.contains(&39) && picked.contains(&63), "getpid and uname are picked out by jeq: {picked:?}");
        assert!(!picked.contains(&3) && !picked.contains(&4), "a range of two is bounded: {picked:?}");
    }

    #[test]
    fn overrides_apply_to_their_numbers_in_and_past_the_tables() {
        let policy = policy(None, Some("uname"), None);
        let rule = |errno| Rule { conditions: Vec::new(), action: Action::Errno(errno) };
        // Numbers past the tables, with a gap between them.
        let (past, far) = (NUMBERS as u32 + 1, NUMBERS as u32 + 3);
        let overrides = [
            Override { abi: Abi::X86_64, nr: far, rule: rule(4) },
            Override { abi: Abi::X86_64, nr: past, rule: rule(5) },
            Override { abi: Abi::X86_64, nr: nr("getppid", Abi::X86_64), rule: rule(6) },
            Override { abi: Abi::I386, nr: nr("getppid", Abi::I386), rule: rule(7) },
        ];
        let program = compile_with(&policy, &overrides).unwrap();
        assert_eq!(verdict(&program, Abi::X86_64, far).0, Action::Errno(4));
        assert_eq!(verdict(&program, Abi::X86_64, far - 1).0, Action::Allow);
        assert_eq!(verdict(&program, Abi::X86_64, past).0, Action::Errno(5));
        assert_eq!(verdict(&program, Abi::X86_64, past - 1).0, Action::Allow);
        assert_eq!(verdict(&program, Abi::X86_64, past + 1).0, Action::Allow);
        assert_eq!(verdict(&program, Abi::X86_64, nr("getppid", Abi::X86_64)).0, Action::Errno(6));
        assert_eq!(verdict(&program, Abi::I386, nr("getppid", Abi::I386)).0, Action::Errno(7));
        assert_eq!(verdict(&program, Abi::X86_64, nr("uname", Abi::X86_64)).0, Action::Kill);
    }

    #[test]
    fn deny_list_covers_every_abi_of_each_machine() {
        for arch in Arch::ALL {
            let program = compile_for(&policy(None, Some("execve:uname"), None), arch).unwrap();
            for &abi in arch.abis() {
                assert_eq!(verdict(&program, abi, nr("execve", abi)).0, Action::Kill, "{abi}");
                assert_eq!(verdict(&program, abi, nr("uname", abi)).0, Action::Kill, "{abi}");
                assert_eq!(verdict(&program, abi, nr("getppid", abi)).0, Action::Allow, "{abi}");
            }
            // The other machine's ABIs, AArch32 among them, reach the unknown arch's kill.
            for abi in Abi::ALL.into_iter().filter(|abi| !arch.abis().contains(abi)) {
                assert_eq!(verdict(&program, abi, nr("getppid", abi)).0, Action::Kill, "{arch}: {abi}");
            }
            let arm = SeccompData { nr: 20, arch: crate::abi::AUDIT_ARCH_ARM, ..SeccompData::default() };
            assert_eq!(run(program.insns(), &arm).unwrap().ret, Action::Kill.ret(), "{arch}: AArch32");
        }
    }

    #[test]
    fn clone_tests_tls_and_child_tid_where_each_machine_passes_them() {
        // x86_64: clone(flags, stack, parent_tid, child_tid, tls); arm64
        // (CONFIG_CLONE_BACKWARDS): clone(flags, stack, parent_tid, tls, child_tid).
        let policy = policy(None, Some("clone(arg3 != 0)=EPERM"), None);
        for (arch, register) in [(Arch::X86_64, 3), (Arch::Aarch64, 4)] {
            let program = compile_for(&policy, arch).unwrap();
            let abi = arch.native();
            let mut args = [0; 6];
            args[register] = 7;
            let data = SeccompData { nr: nr("clone", abi), arch: abi.audit_arch(), args, ..SeccompData::default() };
            assert_eq!(run(program.insns(), &data).unwrap().ret, Action::Errno(1).ret(), "{arch}");
            args.swap(3, 4);
            let data = SeccompData { args, ..data };
            assert_eq!(run(program.insns(), &data).unwrap().ret, Action::Allow.ret(), "{arch}");
        }
    }

    #[test]
    fn a_refused_i386_kills_whatever_the_lists_and_default_say() {
        let origin = Origin::Variable("test");
        let text = |text| Text { origin: &origin, text };
        let switches = Switches { refuse_i386: true, ..Switches::default() };
        for (allow, deny, default) in
            [(None, None, None), (Some("getppid:uname"), None, Some("log")), (None, Some("uname"), Some("EPERM"))]
        {
            let settings =
                Settings { allow: allow.map(text), deny: deny.map(text), default_action: default.map(text), switches };
            let program = compile(&settings.policy().unwrap().unwrap()).unwrap();
            for nr in [0, nr("getppid", Abi::I386), nr("uname", Abi::I386), nr("socketcall", Abi::I386), 5000] {
                assert_eq!(verdict(&program, Abi::I386, nr).0, Action::Kill, "i386 {nr} under {allow:?} {deny:?}");
            }
            assert_eq!(verdict(&program, Abi::X86_64, nr("getppid", Abi::X86_64)).0, Action::Allow);
        }
    }

    #[test]
    fn x32_numbers_are_violations_even_under_a_deny_list() {
        let program = compile(&policy(None, Some("uname"), None)).unwrap();
        for nr in [X32_SYSCALL_BIT, X32_SYSCALL_BIT | 59, X32_SYSCALL_BIT | 520, u32::MAX] {
            assert_eq!(verdict(&program, Abi::X86_64, nr).0, Action::Kill, "{nr:#x}");
        }
        assert_eq!(verdict(&program, Abi::X86_64, X32_SYSCALL_BIT - 1).0, Action::Allow);
        let logged = compile(&policy(None, Some("uname"), Some("log"))).unwrap();
        assert_eq!(verdict(&logged, Abi::X86_64, X32_SYSCALL_BIT | 59).0, Action::Log);
    }

    #[test]
    fn other_arches_are_killed() {
        let program = compile(&policy(None, Some(""), Some("log"))).unwrap();
        for arch in [0, 0xc000_00b7 /* aarch64 */, 0x4000_003e /* x86_64 without 64-bit flag */] {
            let data = SeccompData { nr: 39, arch, ..SeccompData::default() };
            assert_eq!(run(program.insns(), &data).unwrap().ret, Action::Kill.ret(), "{arch:#x}");
        }
    }

    /// The verdict for i386 `multiplexer(operation, ...)`.
    fn multiplexed(program: &Program, multiplexer: &str, operation: u64) -> Action {
        let data = SeccompData {
            nr: nr(multiplexer, Abi::I386),
            arch: Abi::I386.audit_arch(),
            args: [operation, 0, 0, 0, 0, 0],
            ..SeccompData::default()
        };
        Action::from_ret(run(program.insns(), &data).unwrap().ret).unwrap()
    }

    const SYS_SOCKET: u64 = 1;
    const SYS_CONNECT: u64 = 3;
    const SHMAT: u64 = 21;
    const SHMGET: u64 = 23;

    #[test]
    fn each_multiplexed_operation_gets_the_action_of_its_call() {
        let program = compile(&policy(None, Some("connect=EACCES"), None)).unwrap();
        assert_eq!(multiplexed(&program, "socketcall", SYS_CONNECT), Action::Errno(libc::EACCES as u16));
        assert_eq!(multiplexed(&program, "socketcall", SYS_SOCKET), Action::Allow);
        // The kernel reads only ipc's low 16 bits as the operation.
        let program = compile(&policy(None, Some("shmat"), None)).unwrap();
        for version in [0, 1 << 16, 0xffff << 16] {
            assert_eq!(multiplexed(&program, "ipc", SHMAT | version), Action::Kill);
        }
        assert_eq!(multiplexed(&program, "ipc", SHMGET), Action::Allow);
        // Naming the call is enough under an allow list; others stay killed.
        let program = compile(&policy(Some("socket:connect"), None, None)).unwrap();
        assert_eq!(multiplexed(&program, "socketcall", SYS_SOCKET), Action::Allow);
        assert_eq!(multiplexed(&program, "socketcall", SYS_CONNECT), Action::Allow);
        assert_eq!(multiplexed(&program, "socketcall", 5), Action::Kill);
        assert_eq!(multiplexed(&program, "socketcall", SYS_SOCKET | 1 << 32), Action::Allow, "high word ignored");
    }

    /// Allowing the multiplexer, by name or through a group, cannot loosen a
    /// call the policy denies, nor the other way round.
    #[test]
    fn a_named_multiplexer_and_its_calls_take_the_stricter_action() {
        let program = compile(&policy(Some("@system-service"), Some("socket:shmget"), None)).unwrap();
        assert_eq!(multiplexed(&program, "socketcall", SYS_SOCKET), Action::Kill);
        assert_eq!(multiplexed(&program, "socketcall", SYS_CONNECT), Action::Allow);
        assert_eq!(multiplexed(&program, "ipc", SHMGET), Action::Kill);
        assert_eq!(multiplexed(&program, "ipc", SHMAT), Action::Allow);
        let program = compile(&policy(Some("socketcall"), None, None)).unwrap();
        assert_eq!(multiplexed(&program, "socketcall", SYS_SOCKET), Action::Kill);
        let program = compile(&policy(None, Some("socketcall"), None)).unwrap();
        assert_eq!(multiplexed(&program, "socketcall", SYS_SOCKET), Action::Kill);
        assert_eq!(multiplexed(&program, "ipc", SHMAT), Action::Allow);
    }

    #[test]
    fn empty_allow_list_in_log_mode_logs_everything_but_io_uring() {
        let program = compile(&policy(Some(""), None, Some("log"))).unwrap();
        for nr in 0..=Syscall::max_number(Abi::X86_64) + 5 {
            let io_uring = Syscall::by_number(Abi::X86_64, nr).is_some_and(|s| s.name().starts_with("io_uring_"));
            let expected = if io_uring { Action::Errno(libc::ENOSYS as u16) } else { Action::Log };
            assert_eq!(verdict(&program, Abi::X86_64, nr).0, expected, "{nr}");
        }
    }

    mod conditions {
        use proptest::prelude::*;

        use super::*;
        use crate::condition::{Field, Width};

        /// Values around the 32-bit boundaries, where a 64-bit comparison on
        /// two words goes wrong if either word is mishandled.
        fn edge_value() -> impl Strategy<Value = u64> {
            prop_oneof![
                Just(0u64),
                Just(1),
                Just(0xffff_ffff),
                Just(0x1_0000_0000),
                Just(0x1_0000_0001),
                Just(0xffff_ffff_0000_0000),
                Just(u64::MAX),
                Just(u64::MAX - 1),
                any::<u64>(),
                (0u64..4, 0u64..4).prop_map(|(high, low)| high << 32 | low),
            ]
        }

        fn comparison() -> impl Strategy<Value = Comparison> {
            prop_oneof![
                Just(Comparison::Eq),
                Just(Comparison::Ne),
                Just(Comparison::Lt),
                Just(Comparison::Le),
                Just(Comparison::Gt),
                Just(Comparison::Ge),
                edge_value().prop_map(Comparison::MaskedEq),
            ]
        }

        fn condition() -> impl Strategy<Value = Condition> {
            let field = prop_oneof![(0u8..6).prop_map(Field::Arg), Just(Field::InstructionPointer)];
            let width = prop_oneof![Just(Width::Bits32), Just(Width::Bits64)];
            (field, comparison(), edge_value(), width).prop_map(|(field, comparison, value, width)| {
                // A 32-bit condition's value and mask fit in 32 bits by construction.
                let narrow = |v: u64| if width == Width::Bits32 { v & 0xffff_ffff } else { v };
                let comparison = match comparison {
                    Comparison::MaskedEq(mask) => Comparison::MaskedEq(narrow(mask)),
                    other => other,
                };
                Condition { field, comparison, value: narrow(value), width }
            })
        }

        fn field_value(data: &SeccompData, field: Field) -> u64 {
            match field {
                Field::Arg(index) => data.args[index as usize],
                Field::InstructionPointer => data.instruction_pointer,
            }
        }

        proptest! {
            #[test]
            fn conditions_compare_64_bit_values(
                conditions in prop::collection::vec(condition(), 1..4),
                args in prop::array::uniform6(edge_value()),
                instruction_pointer in edge_value(),
            ) {
                let policy = policy(None, Some("uname"), None);
                let getppid = nr("getppid", Abi::X86_64);
                let rule = Rule { conditions: conditions.clone(), action: Action::Errno(7) };
                let program = compile_with(&policy, &[Override { abi: Abi::X86_64, nr: getppid, rule }]).unwrap();
                let data = SeccompData { nr: getppid, arch: Abi::X86_64.audit_arch(), instruction_pointer, args };
                let all_hold = conditions.iter().all(|c| c.holds(field_value(&data, c.field)));
                let expected = if all_hold { Action::Errno(7) } else { Action::Allow };
                prop_assert_eq!(run(program.insns(), &data).unwrap().ret, expected.ret());
                // The other calls and the other ABI are untouched.
                let other = SeccompData { nr: nr("uname", Abi::X86_64), ..data };
                prop_assert_eq!(run(program.insns(), &other).unwrap().ret, Action::Kill.ret());
                let i386 = SeccompData { arch: Abi::I386.audit_arch(), nr: getppid, ..data };
                prop_assert_eq!(run(program.insns(), &i386).unwrap().ret, Action::Allow.ret());
            }
        }
    }

    #[test]
    fn every_allowed_path_is_cacheable_and_short() {
        let names: Vec<&str> = Syscall::all()
            .iter()
            .filter(|s| s.number(Abi::X86_64).is_some())
            .map(|s| s.name())
            .step_by(1)
            .take(250)
            .collect();
        let policy = policy(Some(&names.join(":")), None, None);
        let program = compile(&policy).unwrap();
        for nr in 0..=Syscall::max_number(Abi::X86_64) {
            let (action, steps) = verdict(&program, Abi::X86_64, nr);
            assert!(steps <= 20, "nr {nr}: {steps} steps");
            // The probe's call and calls with conditions (ioctl's terminal
            // rules) depend on their arguments.
            let conditional = Syscall::by_number(Abi::X86_64, nr)
                .and_then(|syscall| policy.call(syscall))
                .is_some_and(|call| !call.conditional.is_empty());
            let cacheable = action == Action::Allow && nr != probe::SYSCALL && !conditional;
            assert_eq!(cacheable, bpf::is_cached_allow(program.insns(), AUDIT_ARCH_X86_64, nr), "nr {nr}");
        }
    }

    #[test]
    fn a_short_deny_list_is_a_short_filter() {
        // The kernel's cost of installing a filter grows with its length
        // and with its paths: the probe sits in getpgrp's leaf, off every
        // other call's path, and the terminal rules' ioctl checks are
        // emitted once for both ABIs.
        let program = compile(&policy(None, Some("uname"), None)).unwrap();
        assert!(program.insns().len() <= 39, "{} instructions", program.insns().len());
        let tiocsti = program.insns().iter().filter(|insn| insn.k == libc::TIOCSTI as u32).count();
        assert_eq!(tiocsti, 1, "the ioctl leaf is shared");
        for &abi in Arch::HOST.abis() {
            let longest = (0..=Syscall::max_number(abi))
                // The calls whose arguments are checked: the probe's and ioctl.
                .filter(|&nr| !(abi == Abi::X86_64 && nr == probe::SYSCALL) && nr != self::nr("ioctl", abi))
                .map(|nr| verdict(&program, abi, nr).1)
                .max()
                .unwrap();
            assert!(longest <= 9, "{abi}: {longest} steps");
        }
        assert_eq!(verdict(&program, Abi::X86_64, probe::SYSCALL).0, Action::Allow);
    }

    #[test]
    fn only_the_nonce_set_at_install_confirms_the_probe() {
        for program in [
            compile(&policy(Some("read"), None, None)).unwrap(),
            compile(&policy(None, Some("getpgrp"), None)).unwrap(),
        ] {
            let installed = program.with_probe(0x1234_5678_9abc_def0, [17, 2345], false).unwrap();
            let probe = |nonce: u64, mark: u64| {
                let data = SeccompData {
                    nr: probe::SYSCALL,
                    arch: AUDIT_ARCH_X86_64,
                    args: [nonce, mark, 0, 0, 0, 0],
                    ..SeccompData::default()
                };
                Action::from_ret(run(&installed, &data).unwrap().ret).unwrap()
            };
            assert_eq!(probe(0x1234_5678_9abc_def0, probe::MARK), Action::Errno(17));
            // The nonce's low word another: the second answer.
            for nonce in [0x1234_5678_9abc_def1, 0x1234_5678_0000_0000] {
                assert_eq!(probe(nonce, probe::MARK), Action::Errno(2345), "{nonce:#x}");
            }
            for nonce in [0, 0x9abc_def0, 0x1234_5679_9abc_def0] {
                assert_eq!(probe(nonce, probe::MARK), Action::Errno(probe::OTHER), "{nonce:#x}");
            }
            // Without the mark, getpgrp is the policy's.
            for mark in [0, probe::MARK as u32 as u64, probe::MARK & !0xffff_ffff] {
                assert_eq!(probe(0x1234_5678_9abc_def0, mark), Action::Kill, "{mark:#x}");
            }
        }
    }

    #[test]
    fn a_filter_installed_where_files_are_handled_says_so_to_other_probes_only() {
        let program = compile(&policy(None, Some("uname"), None)).unwrap();
        let nonce = 0x1234_5678_9abc_def0;
        let answer = |files_handled: bool, asked: u64| {
            let installed = program.with_probe(nonce, [17, 2345], files_handled).unwrap();
            let data = SeccompData {
                nr: probe::SYSCALL,
                arch: AUDIT_ARCH_X86_64,
                args: [asked, probe::MARK, 0, 0, 0, 0],
                ..SeccompData::default()
            };
            (run(&installed, &data).unwrap().ret & crate::action::ret::DATA) as u16
        };
        assert_eq!(answer(false, probe::ASK), probe::OTHER);
        assert_eq!(answer(true, probe::ASK), probe::OTHER | probe::FILES);
        // The installer's own answers are untouched.
        assert_eq!([answer(true, nonce), answer(true, nonce ^ 1)], [17, 2345]);
        assert!(probe::files_handled(answer(true, probe::ASK)));
        assert!(!probe::files_handled(answer(false, probe::ASK)));
        // A named-kill filter's answer keeps what it says, with the bit.
        let reports = crate::violation::REPORTS | 0b1010;
        assert!(probe::files_handled(reports | probe::FILES));
        assert!(!probe::files_handled(reports));
        let told = crate::violation::Answer::from_errno(reports | probe::FILES);
        assert!(told.is_some() && told == crate::violation::Answer::from_errno(reports));
        // Another filter's errno with the bit set is not an answer.
        for errno in [libc::ENOTSUP as u16, probe::CONFIRMED | probe::FILES, probe::ANSWERS | probe::FILES, 4095] {
            assert!(!probe::files_handled(errno), "{errno}");
        }
    }
}
