//! [`Policy`] → an OCI runtime-spec seccomp profile (`linux.seccomp`), as
//! runc, crun, containerd and CRI-O read it.
//!
//! A profile has no order between rules: the engine's libseccomp builds
//! one tree per call, where an unconditional rule swallows the call's
//! conditional ones and two conditions on one argument are refused. Our
//! rules are tried in order, so each call is written in a form libseccomp
//! reads the same way:
//!
//! - rules for the policy's default are left out, every other rule is
//!   written as it is, provided rules with different actions cannot both
//!   match (else the export is refused, naming the call);
//! - a call whose own action is not the default but that has conditional
//!   rules (an allow list's `ioctl` with the terminal-injection rules) gets
//!   its own action as masked-equality blocks that cover every value but
//!   those the rules carve out; this needs the rules to test one argument
//!   for equality, and the export is refused otherwise.
//!
//! Arguments the kernel reads as 32 or 16 bits are compared through a mask,
//! as our filter does, so that a caller setting the bits the kernel ignores
//! cannot slip past an equality. Other comparisons on such arguments cover
//! all 64 bits in a profile: each is said in [`Exported::notes`].
//!
//! i386 is listed only where libseccomp decides its calls as we do: it
//! decides `socketcall` and `ipc` operations without the arguments behind
//! them and `ipc` without masking the version bits. Otherwise i386 calls
//! get the engine's bad-architecture action, said in the notes; and so they
//! do, without a note, for a policy that refuses i386. x32 is never listed,
//! so the same holds for it, as under our filter.

#![forbid(unsafe_code)]

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use serde::Serialize;

use crate::abi::{Abi, Arch};
use crate::action::Action;
use crate::condition::{Comparison, Condition, Field, Rule, disjoint};
use crate::resolve::{CallRules, Policy};
use crate::tables::syscalls::Syscall;

use super::{ExportError, I386Coverage};

/// An OCI seccomp profile (the runtime spec's `LinuxSeccomp`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// `SCMP_ACT_*` for calls no rule names.
    pub default_action: &'static str,
    /// The errno of a `SCMP_ACT_ERRNO` default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u16>,
    /// `SCMP_ARCH_*` the rules apply to.
    pub architectures: Vec<&'static str>,
    /// The rules.
    pub syscalls: Vec<SyscallRule>,
}

/// One entry of `syscalls`: an action for some calls, when every argument
/// comparison holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub struct SyscallRule {
    /// The calls.
    pub names: Vec<&'static str>,
    /// `SCMP_ACT_*`.
    pub action: &'static str,
    /// The errno of `SCMP_ACT_ERRNO`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u16>,
    /// All must hold.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<Argument>,
}

/// An argument comparison (`LinuxSeccompArg`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub struct Argument {
    /// Which argument, 0 to 5.
    pub index: u8,
    /// The value; the mask for `SCMP_CMP_MASKED_EQ`.
    pub value: u64,
    /// The value `SCMP_CMP_MASKED_EQ` compares the masked argument with.
    #[serde(skip_serializing_if = "is_zero")]
    pub value_two: u64,
    /// `SCMP_CMP_*`.
    pub op: &'static str,
}

/// The first call number shared by every architecture (Linux 5.1 on):
/// the calls newer than any a profile names are among these.
const UNIFIED_NUMBERS: u32 = 424;

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// A profile and what it cannot say exactly (one line each, for stderr).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exported {
    /// The profile.
    pub profile: Profile,
    /// Each way the profile is narrower or wider than the policy.
    pub notes: Vec<String>,
    /// The calls of [`ENGINE_CALLS`] the profile allows where the policy did not.
    pub added: Vec<&'static str>,
}

/// What a container engine's init does on the confined thread between
/// installing the filter and starting the program: runc 1.1 (Go) opens and
/// writes its exec FIFO, closes its descriptors, and its runtime schedules,
/// sleeps, maps and signals meanwhile; then it calls `execve`. Measured with
/// `strace -f runc run` on Debian's runc 1.1.5, completed with the calls the
/// Go runtime makes on those paths. A profile that refuses one of these
/// fails inside the engine, before the program runs.
pub const ENGINE_CALLS: &[&str] = &[
    "close",
    "epoll_ctl",
    "epoll_pwait",
    "execve",
    "exit",
    "exit_group",
    "fcntl",
    "fstatfs",
    "futex",
    "getdents64",
    "getpid",
    "gettid",
    "madvise",
    "mmap",
    "munmap",
    "nanosleep",
    "newfstatat",
    "openat",
    "prctl",
    "read",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sched_yield",
    "sigaltstack",
    "tgkill",
    "write",
];

/// The `SCMP_ACT_*` word and errno of an action.
fn scmp_action(action: Action) -> (&'static str, Option<u16>) {
    match action {
        Action::Kill => ("SCMP_ACT_KILL_PROCESS", None),
        Action::Trap => ("SCMP_ACT_TRAP", None),
        Action::Errno(errno) => ("SCMP_ACT_ERRNO", Some(errno)),
        Action::Notify => ("SCMP_ACT_NOTIFY", None),
        Action::Log => ("SCMP_ACT_LOG", None),
        Action::Allow => ("SCMP_ACT_ALLOW", None),
    }
}

/// `policy` as an OCI profile for `machines` (x86_64's by default: see
/// [`Arch::HOST`]): the rules are by name, so one profile serves an x86_64
/// and an arm64 node alike.
pub fn profile(policy: &Policy, machines: &[Arch]) -> Result<Exported, ExportError> {
    let default = policy.default_action();
    let mut notes = Vec::new();
    let mut rules: Vec<(Action, Vec<Argument>, &'static str)> = Vec::new();
    for call in policy.calls() {
        let name = call.syscall.name();
        let call_rules = call_rules(policy, call, &mut notes)?;
        if !libseccomp_builds_alike(&call_rules) {
            return Err(ExportError {
                format: "an OCI profile",
                call: name,
                reason: "several of its rules test several arguments, in a shape libseccomp 2.5.4 (runc's) builds \
                         into a filter that decides some calls otherwise; rules that differ in one argument only \
                         are written",
            });
        }
        for (action, arguments) in call_rules {
            rules.push((action, arguments, name));
        }
    }
    // The engine's own calls: allowed where the policy leaves them to its
    // default, said where it denies them on purpose.
    let mut added = Vec::new();
    let mut denied = Vec::new();
    for name in ENGINE_CALLS {
        let syscall = Syscall::by_name(name).expect("the engine's calls are in the table");
        if policy.always_allows(syscall) {
            continue;
        }
        if policy.call(syscall).is_some() {
            denied.push(*name);
        } else {
            added.push(*name);
            rules.push((Action::Allow, Vec::new(), name));
        }
    }
    if !added.is_empty() {
        notes.push(format!(
            "allowed for the container engine, which makes them between installing the filter and starting \
             the program: {}",
            added.join(" ")
        ));
    }
    if !denied.is_empty() {
        notes.push(format!(
            "the container engine makes {} between installing the filter and starting the program, which the \
             policy refuses: the container may not start",
            denied.join(" ")
        ));
    }
    // One entry per action and comparisons, naming every call that has it
    // (an action keyed by its return value, which holds its errno).
    let mut grouped: BTreeMap<(u32, Vec<Argument>), Vec<&'static str>> = BTreeMap::new();
    for (action, arguments, name) in rules {
        grouped.entry((action.ret(), arguments)).or_default().push(name);
    }
    // runc fails every call newer than the newest a profile names with
    // ENOSYS unless the default lets it run: naming the newest calls with
    // the default (a rule engines skip) keeps that stub to the calls the
    // engine's libseccomp does not know.
    if !matches!(default, Action::Allow | Action::Log) {
        let named: Vec<&str> = grouped.values().flatten().copied().collect();
        let pinned: Vec<&'static str> = Syscall::all()
            .iter()
            .filter(|syscall| syscall.number(Abi::X86_64).is_some_and(|nr| nr >= UNIFIED_NUMBERS))
            .map(Syscall::name)
            .filter(|name| !named.contains(name))
            .collect();
        if !pinned.is_empty() {
            grouped.entry((default.ret(), Vec::new())).or_default().extend(pinned);
        }
    }
    let mut syscalls: Vec<SyscallRule> = grouped
        .into_iter()
        .map(|((ret, args), names)| {
            let (action, errno_ret) = scmp_action(Action::from_ret(ret).expect("a policy's own action"));
            SyscallRule { names, action, errno_ret, args }
        })
        .collect();
    // Unconditional rules first, then by call: the order a person reads.
    syscalls.sort_by(|a, b| {
        (b.args.is_empty(), &a.names, &a.args, a.action).cmp(&(a.args.is_empty(), &b.names, &b.args, b.action))
    });
    let mut architectures = Vec::new();
    for machine in machines {
        match machine {
            Arch::X86_64 => {
                architectures.push("SCMP_ARCH_X86_64");
                match super::i386_coverage(policy) {
                    I386Coverage::Listed => architectures.push("SCMP_ARCH_X86"),
                    I386Coverage::Refused => {}
                    I386Coverage::Narrowed(reason) => notes.push(format!(
                        "i386 calls are refused (the engine's bad-architecture action) because {reason}: \
                         libseccomp would decide them otherwise"
                    )),
                }
            }
            Arch::Aarch64 => match super::aarch64_difference(policy) {
                None => architectures.push("SCMP_ARCH_AARCH64"),
                Some(reason) => notes.push(format!(
                    "aarch64 calls are refused (the engine's bad-architecture action) because {reason}: \
                     libseccomp would decide them otherwise"
                )),
            },
        }
    }
    // No architecture at all means the engine's native one, unfiltered by
    // what was left out: refused instead. Only aarch64 can be left out
    // (x86_64 is always listed), and only for clone (`aarch64_difference`).
    if architectures.is_empty() {
        return Err(ExportError {
            format: "an OCI profile",
            call: "clone",
            reason: "its tls and child_tid arguments are passed the other way round on aarch64, the only machine asked for",
        });
    }
    let (default_action, default_errno_ret) = scmp_action(default);
    Ok(Exported { profile: Profile { default_action, default_errno_ret, architectures, syscalls }, notes, added })
}

/// The rules that give `call` what the policy gives it, in a form
/// libseccomp reads without an order.
/// Whether libseccomp 2.5.4 builds a call's `rules` into a filter that
/// decides every call as they say. Not always, with several rules testing
/// several arguments: its program reuses a loaded argument on a path where
/// another was loaded since (`random_policies_agree` found i386 calls
/// allowed that the rules kill, and x86_64 calls killed that they allow;
/// the kernel ran libseccomp's program as the simulator did). The shape
/// the export itself makes of one rule, blocks of values of one argument
/// with the same tests of the others (learn mode's bounds), builds alike,
/// and so do rules that test one argument each.
fn libseccomp_builds_alike(rules: &[(Action, Vec<Argument>)]) -> bool {
    let testing: Vec<&Vec<Argument>> = rules.iter().map(|(_, arguments)| arguments).filter(|a| !a.is_empty()).collect();
    let indexes = |arguments: &Vec<Argument>| {
        let mut indexes: Vec<u8> = arguments.iter().map(|argument| argument.index).collect();
        indexes.sort_unstable();
        indexes.dedup();
        indexes
    };
    if testing.len() < 2 || testing.iter().all(|arguments| indexes(arguments).len() < 2) {
        return true;
    }
    let first = testing[0];
    let same_indexes = testing.iter().all(|arguments| indexes(arguments) == indexes(first));
    // The indexes whose tests differ from the first rule's, over all rules.
    let mut differing: Vec<u8> = testing
        .iter()
        .flat_map(|arguments| {
            arguments.iter().filter(|argument| !first.contains(argument)).map(|argument| argument.index)
        })
        .collect();
    differing.sort_unstable();
    differing.dedup();
    same_indexes && differing.len() <= 1
}

fn call_rules(
    policy: &Policy,
    call: &CallRules,
    notes: &mut Vec<String>,
) -> Result<Vec<(Action, Vec<Argument>)>, ExportError> {
    let name = call.syscall.name();
    let default = policy.default_action();
    let otherwise = policy.action_for(call.syscall);
    let refuse = |reason: &'static str| ExportError { format: "an OCI profile", call: name, reason };
    let conditional: Vec<&Rule> = call.conditional.iter().map(|explained| &explained.rule).collect();
    if conditional.iter().flat_map(|rule| &rule.conditions).any(|c| c.field == Field::InstructionPointer) {
        return Err(refuse("a profile cannot test the instruction pointer"));
    }
    if otherwise == default {
        for (i, a) in conditional.iter().enumerate() {
            if conditional[i + 1..].iter().any(|b| a.action != b.action && !disjoint(&a.conditions, &b.conditions)) {
                return Err(refuse(
                    "rules with different actions can match the same call, and a profile's rules have no order",
                ));
            }
        }
        let mut rules = Vec::new();
        for rule in conditional.into_iter().filter(|rule| rule.action != default) {
            for arguments in comparisons(name, &rule.conditions, notes).map_err(refuse)? {
                rules.push((rule.action, arguments));
            }
        }
        return Ok(rules);
    }
    if conditional.is_empty() {
        return Ok(vec![(otherwise, Vec::new())]);
    }
    // The call's own action as blocks around the values its rules carve out.
    let (index, patterns) = carved_patterns(&conditional).ok_or_else(|| {
        refuse(
            "its rules do not all test one argument for equality, and a profile cannot give the call its own \
             action everywhere else without an order",
        )
    })?;
    for (i, (a, action_a)) in patterns.iter().enumerate() {
        if patterns[i + 1..].iter().any(|(b, action_b)| action_a != action_b && a.overlaps(b)) {
            return Err(refuse(
                "rules with different actions can match the same call, and a profile's rules have no order",
            ));
        }
    }
    let mut rules: Vec<(Action, Vec<Argument>)> = patterns
        .iter()
        .filter(|(_, action)| *action != default)
        .map(|(pattern, action)| (*action, vec![masked(index, pattern.mask, pattern.value)]))
        .collect();
    let carved: Vec<Pattern> = patterns.iter().map(|(pattern, _)| *pattern).collect();
    // One whole 64-bit value carved out: everything else is `!=` it, one
    // rule (and the only form a pointer's NULL test can be read back in).
    if let [Pattern { mask: u64::MAX, value }] = carved[..] {
        rules.push((otherwise, vec![Argument { index, value, value_two: 0, op: "SCMP_CMP_NE" }]));
        return Ok(rules);
    }
    let mut blocks = Vec::new();
    cover(Pattern { mask: 0, value: 0 }, &carved, &mut blocks);
    rules.extend(blocks.into_iter().map(|block| {
        let arguments = if block.mask == 0 { Vec::new() } else { vec![masked(index, block.mask, block.value)] };
        (otherwise, arguments)
    }));
    Ok(rules)
}

/// The values of an argument whose bits under `mask` are `value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pattern {
    mask: u64,
    value: u64,
}

impl Pattern {
    /// Whether some value is in both.
    fn overlaps(&self, other: &Pattern) -> bool {
        (self.value ^ other.value) & self.mask & other.mask == 0
    }
}

/// Splits the values of `block` into blocks (patterns fixing more of the
/// bits the `carved` patterns look at) that hold no carved value, leaving
/// out those wholly carved.
fn cover(block: Pattern, carved: &[Pattern], blocks: &mut Vec<Pattern>) {
    let meeting: Vec<&Pattern> = carved.iter().filter(|pattern| pattern.overlaps(&block)).collect();
    if meeting.is_empty() {
        blocks.push(block);
        return;
    }
    if meeting.iter().any(|pattern| pattern.mask & !block.mask == 0) {
        return;
    }
    let looked_at = meeting.iter().fold(0, |bits, pattern| bits | pattern.mask) & !block.mask;
    let bit = 1u64 << (63 - looked_at.leading_zeros());
    let mask = block.mask | bit;
    cover(Pattern { mask, value: block.value }, carved, blocks);
    cover(Pattern { mask, value: block.value | bit }, carved, blocks);
}

/// Where every rule tests one and the same argument for (masked) equality,
/// the argument and each rule's values, with its action, in order.
fn carved_patterns(rules: &[&Rule]) -> Option<(u8, Vec<(Pattern, Action)>)> {
    let mut argument = None;
    let mut patterns = Vec::new();
    for rule in rules {
        let [condition] = rule.conditions.as_slice() else { return None };
        let Field::Arg(index) = condition.field else { return None };
        if argument.is_some_and(|seen| seen != index) {
            return None;
        }
        argument = Some(index);
        let (mask, value) = condition.equality()?;
        patterns.push((Pattern { mask, value }, rule.action));
    }
    argument.map(|index| (index, patterns))
}

/// A rule's conditions as the comparisons of one or more profile rules
/// that together match what it matches. A profile compares an argument
/// once per rule (runc splits a rule comparing one twice into rules that
/// each compare it once, which would match more), so the bounds of one
/// argument (`kill(arg0 >= 1, arg0 <= 0x7fffffff, ...)`) become one rule
/// per block of values within them.
fn comparisons(
    name: &str,
    conditions: &[Condition],
    notes: &mut Vec<String>,
) -> Result<Vec<Vec<Argument>>, &'static str> {
    let mut alternatives = vec![Vec::new()];
    let mut done: Vec<Field> = Vec::new();
    for condition in conditions {
        if done.contains(&condition.field) {
            continue;
        }
        done.push(condition.field);
        let same: Vec<&Condition> = conditions.iter().filter(|other| other.field == condition.field).collect();
        let choices = match same[..] {
            [only] => vec![argument(name, only, notes)],
            _ => {
                let Field::Arg(index) = condition.field else { unreachable!("refused before") };
                let (low, high) = bounds(&same).ok_or(
                    "it tests one argument twice other than by bounds, and a profile compares an argument once \
                     per rule",
                )?;
                range_blocks(low, high, condition.width.bits())
                    .into_iter()
                    .map(|(mask, value)| masked(index, mask, value))
                    .collect()
            }
        };
        alternatives = alternatives
            .into_iter()
            .flat_map(|arguments| {
                choices.iter().map(move |choice| {
                    let mut arguments = arguments.clone();
                    arguments.push(*choice);
                    arguments
                })
            })
            .collect();
    }
    Ok(alternatives)
}

/// The values between the bounds that `conditions` (on one field, all
/// `<`, `<=`, `>`, `>=` or `==`) set, within the bits the kernel reads
/// (`low > high` when none is); `None` for any other comparison.
fn bounds(conditions: &[&Condition]) -> Option<(u64, u64)> {
    const NOTHING: (u64, u64) = (1, 0);
    let within = conditions.first()?.width.bits();
    let (mut low, mut high) = (0u64, within);
    let mut empty = false;
    for condition in conditions {
        let value = condition.value & within;
        match condition.comparison {
            Comparison::Ge => low = low.max(value),
            Comparison::Gt => match value.checked_add(1) {
                Some(above) => low = low.max(above),
                None => empty = true,
            },
            Comparison::Le => high = high.min(value),
            Comparison::Lt => match value.checked_sub(1) {
                Some(below) => high = high.min(below),
                None => empty = true,
            },
            Comparison::Eq => (low, high) = (low.max(value), high.min(value)),
            _ => return None,
        }
    }
    Some(if empty { NOTHING } else { (low, high) })
}

/// `low..=high` as blocks that share their high bits (mask, value), the
/// mask within `within`; none when the range is empty.
fn range_blocks(mut low: u64, high: u64, within: u64) -> Vec<(u64, u64)> {
    let mut blocks = Vec::new();
    while low <= high {
        // The largest aligned block at `low` that stays within the range.
        // At most 2^63 values: an aligned block then never wraps past u64::MAX.
        let mut size_bits = low.trailing_zeros().min(64 - within.leading_zeros()).min(63);
        while size_bits > 0 && low + ((1u64 << size_bits) - 1) > high {
            size_bits -= 1;
        }
        let span = (1u64 << size_bits) - 1;
        blocks.push((within & !span, low));
        match (low + span).checked_add(1) {
            Some(next) => low = next,
            None => break,
        }
    }
    blocks
}

/// `SCMP_CMP_MASKED_EQ`: `arg & mask == value`.
fn masked(index: u8, mask: u64, value: u64) -> Argument {
    Argument { index, value: mask, value_two: value & mask, op: "SCMP_CMP_MASKED_EQ" }
}

/// One condition as a comparison, noting where a profile compares more
/// bits than the kernel reads.
fn argument(name: &str, condition: &Condition, notes: &mut Vec<String>) -> Argument {
    let Field::Arg(index) = condition.field else { unreachable!("refused before") };
    let within = condition.width.bits();
    let op = match condition.comparison {
        Comparison::Eq => return masked(index, within, condition.value),
        Comparison::MaskedEq(mask) => return masked(index, mask & within, condition.value),
        Comparison::Ne => "SCMP_CMP_NE",
        Comparison::Lt => "SCMP_CMP_LT",
        Comparison::Le => "SCMP_CMP_LE",
        Comparison::Gt => "SCMP_CMP_GT",
        Comparison::Ge => "SCMP_CMP_GE",
    };
    if within != u64::MAX {
        let note = format!(
            "{name}({condition}): a profile compares all 64 bits of arg{index} where the kernel reads {}: \
             a caller that sets the others gets the rule's outcome reversed",
            within.count_ones()
        );
        if !notes.contains(&note) {
            notes.push(note);
        }
    }
    Argument { index, value: condition.value, value_two: 0, op }
}

/// The profile as JSON, with a final newline.
pub fn to_json(profile: &Profile) -> String {
    let mut text = serde_json::to_string_pretty(profile).expect("a profile is plain data");
    text.push('\n');
    text
}
