//! The generated filter against a reference: for random policies (allow and
//! deny entries, groups, conditions on int and long arguments, actions,
//! default actions, exact mode and i386 refusal on and off), the action the BPF program
//! returns for every (arch, number, arguments) tried must be the one a
//! straightforward reading of the README's rules gives:
//!
//! - an arch other than x86_64 and i386 is killed, and i386 too when the
//!   policy refuses it (`refuse-i386`);
//! - on x86_64, a number with the x32 bit (≥ 0x40000000) is a violation;
//! - on x86_64, the first conditional rule of the call whose conditions all
//!   hold, else its unconditional rule, else the policy's default;
//! - on i386, a call with conditional rules gets the strictest of its
//!   actions (arguments are laid out differently there), the others their
//!   unconditional action or the default;
//! - on i386, `socketcall` and `ipc` give each operation (their first
//!   argument; for ipc its low 16 bits) the strictest action of the call it
//!   stands for, and of the multiplexer too when the policy has rules for it
//!   (by name or through a group); an unknown operation gets the
//!   multiplexer's own;
//! - on x86_64, `getpgrp(nonce, MARK)` is the installation probe: errno 3990
//!   (both answers until installed) for the program's nonce (0 until
//!   installed) or one with only its low word changed, 3991 for another.
//!
//! The policy is written as text and parsed, so the parser's reading of
//! conditions (widths, negative and hex values, masks) is part of what is
//! checked.

use proptest::prelude::*;
use sandbox_policy::abi::{AUDIT_ARCH_ARM, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use sandbox_policy::compile::bpf::{self, SeccompData};
use sandbox_policy::compile::filter::probe;
use sandbox_policy::compile::start_up;
use sandbox_policy::condition::{Comparison, Field, Width};
use sandbox_policy::tables::groups::Group;
use sandbox_policy::tables::syscalls::ArgKind;
use sandbox_policy::violation;
use sandbox_policy::{Abi, Action, Arch, Origin, Policy, Settings, Switches, Syscall, Text, compile, compile_for};

/// The calls each i386 multiplexer stands for, by operation: socketcall's
/// from 1 in order, ipc's as listed in `IPC_OPERATIONS` (the kernel's
/// dispatch tables).
const SOCKETCALL: &[&str] = &[
    "socket",
    "bind",
    "connect",
    "listen",
    "accept",
    "getsockname",
    "getpeername",
    "socketpair",
    "send",
    "recv",
    "sendto",
    "recvfrom",
    "shutdown",
    "setsockopt",
    "getsockopt",
    "sendmsg",
    "recvmsg",
    "accept4",
    "recvmmsg",
    "sendmmsg",
];
const IPC: &[&str] = &[
    "semop",
    "semget",
    "semctl",
    "semtimedop",
    "msgsnd",
    "msgrcv",
    "msgget",
    "msgctl",
    "shmat",
    "shmdt",
    "shmget",
    "shmctl",
];
const IPC_OPERATIONS: [u64; 12] = [1, 2, 3, 4, 11, 12, 13, 14, 21, 22, 23, 24];

/// What the README says the filter for `arch` does with `data` under `policy`.
fn reference(policy: &Policy, arch: Arch, data: &SeccompData) -> Action {
    let Some(abi) = Abi::from_audit_arch(data.arch).filter(|abi| arch.abis().contains(abi)) else {
        return Action::Kill;
    };
    if abi == Abi::I386 && policy.refuses_i386() {
        return Action::Kill;
    }
    if abi == Abi::X86_64 && data.nr & X32_SYSCALL_BIT != 0 {
        return policy.violation();
    }
    let Some(syscall) = Syscall::by_number(abi, data.nr) else { return policy.default_action() };
    let probe_call = match abi {
        Abi::X86_64 => "getpgrp",
        _ => "getpgid",
    };
    if abi != Abi::I386 && syscall.name() == probe_call && data.args[1] == probe::MARK {
        // As compiled: nonce 0, both answers CONFIRMED (the second for
        // another low word).
        return Action::Errno(if data.args[0] >> 32 == 0 { probe::CONFIRMED } else { probe::OTHER });
    }
    let rules = policy.call(syscall);
    if abi == Abi::I386 {
        let own = policy.strictest_for(syscall);
        let operation = data.args[0] & 0xffff_ffff;
        let member = match syscall.name() {
            "socketcall" => operation.checked_sub(1).and_then(|index| SOCKETCALL.get(index as usize)),
            "ipc" => IPC_OPERATIONS.iter().position(|&op| op == operation & 0xffff).map(|index| &IPC[index]),
            _ => return i386_conditions(policy, syscall, data).unwrap_or(own),
        };
        return match member {
            Some(name) => {
                let action = policy.strictest_for(Syscall::by_name(name).unwrap());
                // A tie goes to the call the operation stands for.
                if rules.is_some() && own.precedence() > action.precedence() { own } else { action }
            }
            None => own,
        };
    }
    let Some(rules) = rules else { return policy.default_action() };
    // arm64 passes clone's tls before its child_tid (CONFIG_CLONE_BACKWARDS).
    let swapped = abi == Abi::Aarch64 && syscall.name() == "clone";
    let field = |field: Field| match field {
        Field::Arg(index @ (3 | 4)) if swapped => data.args[usize::from(7 - index)],
        Field::Arg(index) => data.args[usize::from(index)],
        Field::InstructionPointer => data.instruction_pointer,
    };
    let applies = rules
        .conditional
        .iter()
        .find(|explained| explained.rule.conditions.iter().all(|condition| condition.holds(field(condition.field))));
    match applies {
        Some(explained) => explained.rule.action,
        None => policy.action_for(syscall),
    }
}

/// The README on i386: a call's conditions are tested on the registers
/// that carry their arguments with the same bits, on the low words (the
/// kernel drops the rest); `None` when one cannot be (a 64-bit value split
/// over two registers, arguments in memory, a 64-bit value with high bits),
/// and the call then gets the strictest action of its rules.
fn i386_conditions(policy: &Policy, syscall: &Syscall, data: &SeccompData) -> Option<Action> {
    let Some(rules) = policy.call(syscall) else { return Some(policy.default_action()) };
    let mut applying = None;
    for explained in &rules.conditional {
        let mut holds = true;
        for condition in &explained.rule.conditions {
            let Field::Arg(index) = condition.field else { return None };
            let register = syscall.i386_register(index)?;
            let mask = match condition.comparison {
                Comparison::MaskedEq(mask) => mask,
                _ => 0,
            };
            if condition.width == Width::Bits64 && (condition.value >> 32 != 0 || mask >> 32 != 0) {
                return None;
            }
            let low = data.args[usize::from(register)] & 0xffff_ffff;
            holds &= condition.holds(low);
        }
        if holds && applying.is_none() {
            applying = Some(explained.rule.action);
        }
    }
    Some(applying.unwrap_or_else(|| policy.action_for(syscall)))
}

/// Values at the edges of 32- and 64-bit comparisons.
const EDGES: [u64; 14] = [
    0,
    1,
    2,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffe,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0001,
    0x1_ffff_ffff,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    0xffff_ffff_0000_0000,
    u64::MAX,
];

fn value() -> impl Strategy<Value = u64> {
    prop_oneof![3 => prop::sample::select(&EDGES[..]), 1 => any::<u64>(), 1 => 0u64..16]
}

fn action_word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("kill".to_owned()),
        Just("trap".to_owned()),
        Just("log".to_owned()),
        Just("allow".to_owned()),
        Just("EPERM".to_owned()),
        Just("ENOSYS".to_owned()),
        (1u16..=4095).prop_map(|errno| errno.to_string()),
    ]
}

/// A condition on a non-pointer argument of `syscall`, as text.
fn condition(syscall: &'static Syscall) -> impl Strategy<Value = Option<String>> {
    let arguments: Vec<(usize, ArgKind)> = syscall
        .arg_kinds()
        .map(|kinds| kinds.iter().enumerate().filter(|(_, kind)| *kind != ArgKind::Pointer).collect())
        .unwrap_or_default();
    let operator = prop::sample::select(&["==", "!=", "<", "<=", ">", ">=", "&"][..]);
    (Just(arguments), any::<prop::sample::Index>(), operator, value(), value(), any::<bool>()).prop_map(
        |(arguments, pick, operator, value, mask, negative)| {
            if arguments.is_empty() {
                return None;
            }
            let (index, kind) = arguments[pick.index(arguments.len())];
            // An int argument takes 32-bit values, or negative ones down to
            // i32::MIN; a short 16-bit ones; a mode the 12 permission bits.
            let number = |value: u64| match kind {
                ArgKind::Int if negative && value as u32 >= 0x8000_0000 => {
                    format!("-{}", (value as u32).wrapping_neg())
                }
                ArgKind::Int => format!("{:#x}", value as u32),
                ArgKind::Short if negative && value as u16 >= 0x8000 => format!("-{}", (value as u16).wrapping_neg()),
                ArgKind::Short => format!("{:#x}", value as u16),
                ArgKind::Mode => format!("{:#o}", value & 0o7777),
                _ if negative && value >= 1 << 63 => format!("-{}", value.wrapping_neg()),
                _ => format!("{value:#x}"),
            };
            Some(match operator {
                "&" => format!("arg{index} & {} == {}", number(mask), number(value & mask)),
                _ => format!("arg{index} {operator} {}", number(value)),
            })
        },
    )
}

/// One entry of a list, as text: a call (maybe with conditions) or a group,
/// maybe with an action.
fn entry() -> impl Strategy<Value = String> {
    let calls = Syscall::all().len();
    let groups = Group::all().len();
    let call = (0..calls).prop_flat_map(move |index| {
        let syscall = &Syscall::all()[index];
        let action = prop::option::weighted(0.4, action_word());
        (Just(syscall.name()), prop::collection::vec(condition(syscall), 0..3), action).prop_map(
            |(name, conditions, action)| {
                let conditions: Vec<String> = conditions.into_iter().flatten().collect();
                let conditions =
                    if conditions.is_empty() { String::new() } else { format!("({})", conditions.join(", ")) };
                let action = action.map(|action| format!("={action}")).unwrap_or_default();
                format!("{name}{conditions}{action}")
            },
        )
    });
    let group = (0..groups, prop::option::weighted(0.3, action_word())).prop_map(|(index, action)| {
        let action = action.map(|action| format!("={action}")).unwrap_or_default();
        format!("{}{action}", Group::all()[index].name())
    });
    // Calls often, with an eye on the ones whose rules differ by ABI.
    let chosen = prop::sample::select(&["socket", "connect", "shmat", "socketcall", "ipc", "execve", "clone"][..]);
    let special = (chosen, prop::option::weighted(0.4, action_word())).prop_map(|(name, action)| match action {
        Some(action) => format!("{name}={action}"),
        None => name.to_owned(),
    });
    prop_oneof![6 => call, 2 => group, 1 => special]
}

#[derive(Clone, Debug)]
struct Written {
    allow: Option<String>,
    deny: Option<String>,
    default_action: Option<String>,
    switches: Switches,
}

fn written() -> impl Strategy<Value = Written> {
    let list = |max| prop::collection::vec(entry(), 0..max).prop_map(|entries| entries.join(":"));
    let default_action = prop::option::of(prop_oneof![
        Just("kill".to_owned()),
        Just("trap".to_owned()),
        Just("log".to_owned()),
        Just("EPERM".to_owned()),
        Just("ENOSYS".to_owned()),
        Just("13".to_owned()),
    ]);
    let switches =
        (any::<bool>(), prop::bool::weighted(0.2)).prop_map(|(exact, refuse_i386)| Switches { exact, refuse_i386 });
    (prop::option::of(list(40)), prop::option::of(list(12)), default_action, switches)
        .prop_filter("some list", |(allow, deny, _, _)| allow.is_some() || deny.is_some())
        .prop_map(|(allow, deny, default_action, switches)| Written { allow, deny, default_action, switches })
}

fn parse<'a>(written: &'a Written) -> Policy {
    let origin = Origin::Variable("test");
    let text = |text: Option<&'a str>| text.map(|text| Text { origin: &origin, text });
    Settings {
        allow: text(written.allow.as_deref()),
        deny: text(written.deny.as_deref()),
        default_action: text(written.default_action.as_deref()),
        switches: written.switches,
    }
    .policy()
    .unwrap_or_else(|error| panic!("{written:?}: {error}"))
    .expect("a list is set")
}

/// Argument sets worth trying for `policy`: the edges, `extra`, and for every
/// condition its value and both neighbours in every argument.
fn argument_sets(policy: &Policy, extra: &[[u64; 6]]) -> Vec<[u64; 6]> {
    let mut sets: Vec<[u64; 6]> = EDGES.iter().map(|&value| [value; 6]).collect();
    sets.extend_from_slice(extra);
    // Every multiplexed operation, one past them, ipc's version bits, the probe.
    sets.extend((0..=25).map(|operation| [operation, 0, 0, 0, 0, 0]));
    sets.extend([[23 | 1 << 16, 0, 0, 0, 0, 0], [0, probe::MARK, 0, 0, 0, 0], [1, probe::MARK, 0, 0, 0, 0]]);
    for call in policy.calls() {
        for explained in &call.conditional {
            for condition in &explained.rule.conditions {
                for value in [condition.value.wrapping_sub(1), condition.value, condition.value.wrapping_add(1)] {
                    sets.push([value; 6]);
                    // The high word set, which an int argument must ignore.
                    sets.push([value | 0xdead_beef_0000_0000; 6]);
                }
            }
        }
    }
    sets.sort_unstable();
    sets.dedup();
    sets
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn filters_do_what_the_readme_says(
        written in written(),
        extra in prop::collection::vec(prop::array::uniform6(value()), 4),
    ) {
        let policy = parse(&written);
        let sets = argument_sets(&policy, &extra);
        for arch in Arch::ALL {
            let program = compile_for(&policy, arch).unwrap();
            for &abi in arch.abis() {
                let numbers = (0..=Syscall::max_number(abi) + 3).chain([1000, 0x3fff_ffff, 0x4000_0000, 0x4000_003b, u32::MAX]);
                for nr in numbers {
                    // Arguments only matter where a call has conditions, for the
                    // multiplexers and for the probe.
                    let syscall = Syscall::by_number(abi, nr);
                    let conditional = syscall.and_then(|syscall| policy.call(syscall)).is_some_and(|call| !call.conditional.is_empty())
                        || syscall.is_some_and(|s| matches!((abi, s.name()), (Abi::I386, "socketcall" | "ipc") | (Abi::X86_64, "getpgrp") | (Abi::Aarch64, "getpgid")));
                    let tried = if conditional { &sets[..] } else { &sets[..1] };
                    for args in tried {
                        let data = SeccompData { nr, arch: abi.audit_arch(), instruction_pointer: 0x7fff_0000_1000, args: *args };
                        let ret = bpf::run(program.insns(), &data).unwrap().ret;
                        let expected = reference(&policy, arch, &data);
                        prop_assert_eq!(Action::from_ret(ret), Some(expected), "{:?} {:x?} under {:?}", abi, data, written);
                    }
                }
            }
            // Every other arch: unknown numbers, the other machine's ABIs, AArch32.
            let others = [0, 0x4000_003e, AUDIT_ARCH_X86_64 + 1, AUDIT_ARCH_ARM]
                .into_iter()
                .chain(Abi::ALL.into_iter().filter(|abi| !arch.abis().contains(abi)).map(Abi::audit_arch));
            for other in others {
                let data = SeccompData { nr: 59, arch: other, ..SeccompData::default() };
                prop_assert_eq!(bpf::run(program.insns(), &data).unwrap().ret, Action::Kill.ret(), "{} on {:#x}", arch, other);
            }
        }
    }
}

/// What the kernel returns for two stacked filters: the action of higher
/// precedence, the newer filter's on a tie.
fn stacked(older: u32, newer: u32) -> Action {
    let (older, newer) = (Action::from_ret(older).unwrap(), Action::from_ret(newer).unwrap());
    if older.precedence() > newer.precedence() { older } else { newer }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// sandboxify --preload's guard (the policy with the start-up calls
    /// allowed), stacked with the policy the library installs later, decides
    /// every call as the policy alone does; and for a policy that allows
    /// every start-up call, which the library installs before start-up ends,
    /// the guard is the policy.
    #[test]
    fn the_guard_stacked_with_the_policy_is_the_policy(written in written()) {
        let policy = parse(&written);
        let exact = compile(&policy).unwrap();
        let rules = start_up::guard_rules(&policy);
        let guard = sandbox_policy::compile_with(&policy, &rules).unwrap();
        let whole = start_up::allows_start_up(&policy);
        // Where kills are named, the named guard with the library's named
        // filter, the same way.
        let named = violation::reporting_program(&policy, false).unwrap();
        let named_guard = violation::reporting_program_with(&policy, false, &rules).unwrap();
        prop_assert_eq!(named.is_some(), named_guard.is_some());
        let sets = argument_sets(&policy, &[]);
        for &abi in Arch::X86_64.abis() {
            for nr in (0..=Syscall::max_number(abi) + 3).chain([0x4000_0000, 0x4000_003b]) {
                for args in &sets {
                    let data = SeccompData { nr, arch: abi.audit_arch(), instruction_pointer: 0x7fff_0000_1000, args: *args };
                    let run = |program: &sandbox_policy::Program| bpf::run(program.insns(), &data).unwrap().ret;
                    let alone = run(&exact);
                    prop_assert_eq!(stacked(run(&guard), alone), Action::from_ret(alone).unwrap(), "{:?} {:x?} under {:?}", abi, data, written);
                    if whole {
                        prop_assert_eq!(run(&guard), alone, "{:?} {:x?} under {:?}", abi, data, written);
                    }
                    if let (Some(named), Some(named_guard)) = (&named, &named_guard) {
                        let alone = run(named);
                        prop_assert_eq!(stacked(run(named_guard), alone), Action::from_ret(alone).unwrap(), "named: {:?} {:x?} under {:?}", abi, data, written);
                    }
                }
            }
        }
    }
}

/// Once a hole: allowing socketcall or ipc through a group let a denied call
/// run through `int 0x80` (see tests/tests/escape/abi.rs).
#[test]
fn a_multiplexer_allowed_through_a_group_still_honours_a_deny() {
    let written = Written {
        allow: Some("@network-io:@ipc".to_owned()),
        deny: Some("socket:shmget".to_owned()),
        default_action: None,
        switches: Switches::default(),
    };
    let policy = parse(&written);
    let program = compile(&policy).unwrap();
    const SYS_SOCKET: u64 = 1;
    const SHMGET: u64 = 23;
    for (nr, operation) in [(102, SYS_SOCKET), (117, SHMGET)] {
        let data = SeccompData {
            nr,
            arch: Abi::I386.audit_arch(),
            args: [operation, 0, 0, 0, 0, 0],
            ..SeccompData::default()
        };
        let ret = bpf::run(program.insns(), &data).unwrap().ret;
        assert_eq!(Action::from_ret(ret), Some(Action::Kill), "i386 {nr}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Lists up to and past the byte limit, most of their entries with
    /// conditions: every one is parsed into a policy or refused with an
    /// error, and every policy compiles (alone, as `--preload`'s guard,
    /// and for `--explain`) within the kernel's limit or is refused with
    /// its length; nothing panics.
    #[test]
    fn long_lists_compile_or_are_refused_with_their_length(
        entries in prop::collection::vec(entry(), 1000..3500),
        allow in any::<bool>(),
    ) {
        let list = entries.join(":");
        let origin = Origin::Variable("test");
        let text = Some(Text { origin: &origin, text: &list });
        let settings = if allow { Settings { allow: text, ..Settings::default() } } else { Settings { deny: text, ..Settings::default() } };
        let policy = match settings.policy() {
            Ok(policy) => policy.expect("a list is set"),
            Err(error) => {
                prop_assert_eq!(error.to_string().lines().count(), 1);
                return Ok(());
            }
        };
        for compiled in [compile(&policy), sandbox_policy::compile_with(&policy, &start_up::guard_rules(&policy))] {
            match compiled {
                Ok(program) => prop_assert!(program.insns().len() <= bpf::MAX_INSNS),
                Err(error) => prop_assert!(error.instructions > error.limit && error.limit == bpf::MAX_INSNS),
            }
        }
        prop_assert_eq!(sandbox_policy::explain::explain(&policy, Arch::HOST).is_ok(), compile(&policy).is_ok());
    }
}
