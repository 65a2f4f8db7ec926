//! Exported profiles, built the way runc builds them (libseccomp: the
//! default action, the architectures, each rule for each name it knows),
//! must give every call, argument and ABI what our own filter gives it;
//! where the export said it could not (i386 left out), or the policy
//! refuses i386, the engine's bad-architecture action; the engine's own
//! calls it added, allowed.

mod support;

use libseccomp::{ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall};
use proptest::prelude::*;
use sandbox_policy::compile::bpf::{self, Insn, SeccompData};
use sandbox_policy::export::oci::{self, Profile};
use sandbox_policy::{Abi, Arch, Origin, Policy, Settings, Switches, Syscall, Text, compile, compile_for};

fn scmp_action(word: &str, errno: Option<u16>) -> ScmpAction {
    match word {
        "SCMP_ACT_KILL_PROCESS" => ScmpAction::KillProcess,
        "SCMP_ACT_TRAP" => ScmpAction::Trap,
        "SCMP_ACT_ERRNO" => ScmpAction::Errno(errno.expect("an errno").into()),
        "SCMP_ACT_LOG" => ScmpAction::Log,
        "SCMP_ACT_ALLOW" => ScmpAction::Allow,
        other => panic!("unexpected action {other}"),
    }
}

fn scmp_op(op: &str, value: u64) -> ScmpCompareOp {
    match op {
        "SCMP_CMP_NE" => ScmpCompareOp::NotEqual,
        "SCMP_CMP_LT" => ScmpCompareOp::Less,
        "SCMP_CMP_LE" => ScmpCompareOp::LessOrEqual,
        "SCMP_CMP_EQ" => ScmpCompareOp::Equal,
        "SCMP_CMP_GE" => ScmpCompareOp::GreaterEqual,
        "SCMP_CMP_GT" => ScmpCompareOp::Greater,
        "SCMP_CMP_MASKED_EQ" => ScmpCompareOp::MaskedEqual(value),
        other => panic!("unexpected op {other}"),
    }
}

/// The filter runc 1.1 makes of `profile` (libcontainer/seccomp): rules
/// for the default action skipped, names this libseccomp does not know
/// skipped, the bad-architecture action left as libseccomp's.
fn as_runc_builds_it(profile: &Profile) -> Vec<Insn> {
    let default = scmp_action(profile.default_action, profile.default_errno_ret);
    let mut filter = ScmpFilterContext::new(default).unwrap();
    for arch in &profile.architectures {
        match *arch {
            "SCMP_ARCH_X86_64" => {}
            "SCMP_ARCH_X86" => {
                filter.add_arch(ScmpArch::X86).unwrap();
            }
            "SCMP_ARCH_AARCH64" => {
                filter.add_arch(ScmpArch::Aarch64).unwrap();
            }
            other => panic!("unexpected architecture {other}"),
        }
    }
    for rule in &profile.syscalls {
        let action = scmp_action(rule.action, rule.errno_ret);
        if action == default {
            continue;
        }
        let comparisons: Vec<ScmpArgCompare> = rule
            .args
            .iter()
            .map(|arg| {
                let datum = if arg.op == "SCMP_CMP_MASKED_EQ" { arg.value_two } else { arg.value };
                ScmpArgCompare::new(arg.index.into(), scmp_op(arg.op, arg.value), datum)
            })
            .collect();
        for name in &rule.names {
            let Ok(syscall) = ScmpSyscall::from_name(name) else { continue };
            filter.add_rule_conditional(action, syscall, &comparisons).unwrap();
        }
    }
    support::libseccomp_program(&filter)
}

/// libseccomp's name for `abi`.
fn scmp_arch(abi: Abi) -> ScmpArch {
    match abi {
        Abi::X86_64 => ScmpArch::X8664,
        Abi::I386 => ScmpArch::X86,
        Abi::Aarch64 => ScmpArch::Aarch64,
    }
}

/// runc's stub in front of the filter: the newest call each architecture's
/// rules name (as this libseccomp knows them), unless the default lets
/// calls run; newer ones get ENOSYS.
fn runc_stub(profile: &Profile, abi: Abi) -> Option<u32> {
    if matches!(profile.default_action, "SCMP_ACT_ALLOW" | "SCMP_ACT_LOG") {
        return None;
    }
    let arch = scmp_arch(abi);
    let names = profile.syscalls.iter().flat_map(|rule| &rule.names);
    names.filter_map(|name| ScmpSyscall::from_name_by_arch(name, arch).ok()).map(|nr| i32::from(nr) as u32).max()
}

/// A kill of the thread (libseccomp's bad-architecture action) or of the
/// process: both end a one-thread program with SIGSYS.
fn kills(ret: u32) -> bool {
    ret & 0xffff_0000 == 0 || ret == 0x8000_0000
}

/// The argument values worth trying for a call: the profile's and the
/// policy's values, their neighbours, and each with the high word set
/// (which the kernel ignores for an `int`).
fn argument_sets(profile: &Profile, policy: &Policy, syscall: &Syscall) -> Vec<[u64; 6]> {
    let mut values: Vec<(usize, u64)> = Vec::new();
    for rule in profile.syscalls.iter().filter(|rule| rule.names.contains(&syscall.name())) {
        for arg in &rule.args {
            values.push((arg.index.into(), arg.value));
            values.push((arg.index.into(), arg.value_two));
        }
    }
    if let Some(call) = policy.call(syscall) {
        for rule in &call.conditional {
            for condition in &rule.rule.conditions {
                if let sandbox_policy::Field::Arg(index) = condition.field {
                    values.push((index.into(), condition.value));
                }
            }
        }
    }
    let mut sets = vec![[0u64; 6], [u64::MAX; 6]];
    // Every condition of a rule at once (each value, and one off), so that
    // rules testing several arguments are met, and just missed.
    for rule in policy.call(syscall).iter().flat_map(|call| &call.conditional) {
        for offset in [0u64, 1, u64::MAX] {
            let mut args = [0u64; 6];
            for condition in &rule.rule.conditions {
                if let sandbox_policy::Field::Arg(index) = condition.field {
                    args[usize::from(index)] = condition.value.wrapping_add(offset);
                }
            }
            sets.push(args);
        }
    }
    for (index, value) in values {
        for candidate in
            [value, value.wrapping_add(1), value.wrapping_sub(1), value | 0xffff_ffff_0000_0000, value ^ 0x1_0000_0000]
        {
            let mut args = [0u64; 6];
            args[index] = candidate;
            sets.push(args);
        }
    }
    sets
}

fn compare(policy: &Policy) -> Result<(), TestCaseError> {
    let exported = oci::profile(policy, &Arch::ALL).map_err(|error| TestCaseError::reject(error.to_string()))?;
    let json = oci::to_json(&exported.profile);
    let theirs = as_runc_builds_it(&exported.profile);
    let i386_listed = exported.profile.architectures.contains(&"SCMP_ARCH_X86");
    let i386_noted = exported.notes.iter().any(|note| note.starts_with("i386"));
    prop_assert_eq!(i386_listed, !i386_noted && !policy.refuses_i386());
    let aarch64_listed = exported.profile.architectures.contains(&"SCMP_ARCH_AARCH64");
    let aarch64_noted = exported.notes.iter().any(|note| note.starts_with("aarch64"));
    prop_assert_eq!(aarch64_listed, !aarch64_noted);
    let listed = |abi| match abi {
        Abi::X86_64 => true,
        Abi::I386 => i386_listed,
        Abi::Aarch64 => aarch64_listed,
    };
    for abi in Abi::ALL {
        let arch = if abi == Abi::Aarch64 { Arch::Aarch64 } else { Arch::X86_64 };
        let ours = compile_for(policy, arch).unwrap();
        for nr in 0..Syscall::max_number(abi) + 1 {
            // Numbers libseccomp 2.5.4 does not know cannot be named in a profile.
            let Some(syscall) = Syscall::by_number(abi, nr) else { continue };
            let arch = scmp_arch(abi);
            if ScmpSyscall::from_name_by_arch(syscall.name(), arch).is_err() {
                continue;
            }
            let mut sets = argument_sets(&exported.profile, policy, syscall);
            if abi == Abi::I386 && (nr == 102 || nr == 117) {
                // socketcall and ipc: every operation, and ipc's version bits.
                sets.extend((0..25u64).flat_map(|op| [op, op | 0x1_0000]).map(|op| [op, 0, 0, 0, 0, 0]));
            }
            if exported.added.contains(&syscall.name()) {
                let data = SeccompData { nr, arch: abi.audit_arch(), ..SeccompData::default() };
                let allowed = bpf::run(&theirs, &data).unwrap().ret == 0x7fff_0000;
                prop_assert!(allowed || !listed(abi), "{} added but not allowed on {}", syscall.name(), abi);
                continue;
            }
            // The export said this call's comparisons cover the bits the kernel ignores.
            let noted = exported.notes.iter().any(|note| note.starts_with(&format!("{}(", syscall.name())));
            for args in sets {
                if noted && args.iter().any(|value| value >> 32 != 0) {
                    continue;
                }
                let data = SeccompData { nr, arch: abi.audit_arch(), args, ..SeccompData::default() };
                let expected = bpf::run(ours.insns(), &data).unwrap().ret;
                let stubbed = listed(abi) && runc_stub(&exported.profile, abi).is_some_and(|newest| nr > newest);
                let actual = if stubbed { 0x0005_0000 | 38 } else { bpf::run(&theirs, &data).unwrap().ret };
                if !listed(abi) {
                    prop_assert!(kills(actual), "{} {} not refused: {:#x}\n{}", abi, nr, actual, json);
                    prop_assert!(
                        abi != Abi::I386 || !policy.refuses_i386() || kills(expected),
                        "i386 {} runs under us",
                        nr
                    );
                } else if !(kills(expected) && kills(actual)) {
                    prop_assert_eq!(
                        actual,
                        expected,
                        "{} ({}) on {} with {:x?}\npolicy: {}\n{}",
                        syscall.name(),
                        nr,
                        abi,
                        args,
                        policy,
                        json
                    );
                }
            }
        }
    }
    // x32 is never listed: its calls are refused as under our filter.
    let x32 = SeccompData { nr: 0x4000_0000 | 39, arch: Abi::X86_64.audit_arch(), ..SeccompData::default() };
    prop_assert!(kills(bpf::run(&theirs, &x32).unwrap().ret));
    Ok(())
}

/// Import(export(P)) is P: the profile, read back as a policy, compiles to
/// a filter that gives every call, argument and ABI what P's does (but the
/// engine's calls the export added). Where the export had to leave i386
/// out (said in its notes), the profile read back refuses every i386 call,
/// as the engine does.
fn round_trip(policy: &Policy) -> Result<(), TestCaseError> {
    // Read on x86_64, a profile for both machines is the x86_64 policy.
    let exported = oci::profile(policy, &Arch::ALL).map_err(|error| TestCaseError::reject(error.to_string()))?;
    let narrowed = exported.notes.iter().any(|note| note.starts_with("i386"));
    let json = oci::to_json(&exported.profile);
    let origin = Origin::Option("--policy");
    let lists = sandbox_policy::text::oci::parse(&origin, "exported.json", &json, None)
        .map_err(|error| TestCaseError::fail(format!("{error}\n{json}")))?;
    let again = Policy::new(lists);
    prop_assert_eq!(again.refuses_i386(), policy.refuses_i386() || narrowed);
    let (before, after) = (compile(policy).unwrap(), compile(&again).unwrap());
    for &abi in Arch::X86_64.abis() {
        for nr in 0..Syscall::max_number(abi) + 1 {
            let Some(syscall) = Syscall::by_number(abi, nr) else { continue };
            if exported.added.contains(&syscall.name()) {
                continue;
            }
            for args in argument_sets(&exported.profile, policy, syscall) {
                let data = SeccompData { nr, arch: abi.audit_arch(), args, ..SeccompData::default() };
                let (expected, actual) =
                    (bpf::run(before.insns(), &data).unwrap().ret, bpf::run(after.insns(), &data).unwrap().ret);
                if abi == Abi::I386 && narrowed {
                    prop_assert!(kills(actual), "i386 {} not refused after the round trip", syscall.name());
                    continue;
                }
                prop_assert_eq!(
                    actual,
                    expected,
                    "{} on {} with {:x?}\n{}\n{}",
                    syscall.name(),
                    abi,
                    args,
                    policy,
                    json
                );
            }
        }
    }
    Ok(())
}

fn policy(
    allow: Option<&'static str>,
    deny: Option<&'static str>,
    default_action: Option<&'static str>,
    refuse_i386: bool,
) -> Policy {
    let origin = Origin::Variable("test");
    let text = |text: Option<&'static str>| text.map(|text| Text { origin: &origin, text });
    let switches = Switches { refuse_i386, ..Switches::default() };
    Settings { allow: text(allow), deny: text(deny), default_action: text(default_action), switches }
        .policy()
        .unwrap()
        .unwrap()
}

#[test]
fn hand_written_policies_agree() {
    for (allow, deny, default_action) in [
        (None, Some("uname"), None),
        (Some("read:write:exit_group:ioctl:socket:shmget"), None, None),
        (Some("read:write:exit_group:ioctl"), Some("ioctl(arg1 == 0x5401)=ENOTTY"), Some("EPERM")),
        (None, Some("socket(arg0 == 16)=EAFNOSUPPORT:kill(arg1 == 9)=EPERM:@mount"), Some("log")),
        (Some("@default:@file-system:kill(arg1 == 15)"), Some("chmod(arg1 & 0o4000 == 0o4000)"), None),
        (None, Some("mprotect(arg2 > 3)=EACCES"), None),
        // Learn mode's companion: one argument bounded twice, which a
        // profile writes as one rule per block of values.
        (Some("read:write:exit_group:kill(arg0 >= 1, arg0 <= 0x7fffffff, arg1 == 15)"), None, None),
        // Bounds no value meets, and the widest: the rule matches nothing, or everything.
        (Some("read:write:exit_group:lseek(arg1 < 0, arg1 > 5)=EPERM:kill(arg0 > 0xffffffff)"), None, None),
        (None, Some("lseek(arg1 >= 0, arg1 <= 0xffffffffffffffff)=EPERM"), None),
        // fork's family tests clone's flags, the same register everywhere;
        // clone's tls (arg4 on x86_64) is arm64's arg3: aarch64 left out.
        (None, Some("fork:vfork"), None),
        (None, Some("clone(arg4 != 0)=EPERM"), None),
    ] {
        for refuse_i386 in [false, true] {
            let policy = policy(allow, deny, default_action, refuse_i386);
            compare(&policy).unwrap();
            if let Err(TestCaseError::Fail(why)) = round_trip(&policy) {
                panic!("{why}");
            }
        }
    }
    // Asked for aarch64 alone, a profile that cannot say it is refused:
    // without architectures the engine would apply it as it is.
    let clone = policy(None, Some("clone(arg4 != 0)=EPERM"), None, false);
    let exported = oci::profile(&clone, &[Arch::X86_64, Arch::Aarch64]).unwrap();
    // (i386 too: it passes clone's arguments otherwise.)
    assert_eq!(exported.profile.architectures, ["SCMP_ARCH_X86_64"]);
    assert!(exported.notes.iter().any(|note| note.starts_with("aarch64 calls are refused")), "{:?}", exported.notes);
    let refused = oci::profile(&clone, &[Arch::Aarch64]).unwrap_err();
    assert!(refused.to_string().contains("aarch64, the only machine asked for"), "{refused}");
    let forking = policy(None, Some("fork"), None, false);
    let exported = oci::profile(&forking, &[Arch::Aarch64]).unwrap();
    assert_eq!(exported.profile.architectures, ["SCMP_ARCH_AARCH64"]);
    // Once a fail-open (fixed): libseccomp 2.5.4 built these two rules into
    // a filter that let i386 keyctl(1, 2) run, which they kill (the kernel
    // ran both programs as the simulator did). Refused, naming the call;
    // the export's own blocks of one argument (learn mode's) are written.
    let keyctl = policy(None, Some("keyctl(arg1 == 0, arg0 != 0):keyctl(arg0 < 2, arg1 != 3)"), None, false);
    let refused = oci::profile(&keyctl, &Arch::ALL).unwrap_err();
    assert!(refused.to_string().contains("keyctl") && refused.to_string().contains("libseccomp 2.5.4"), "{refused}");
    // Nothing but i386 refused: a profile that lists only x86_64.
    let refusing = policy(None, None, None, true);
    compare(&refusing).unwrap();
    round_trip(&refusing).unwrap();
}

/// Calls with argument kinds, to write conditions on.
fn call_with_arguments() -> impl Strategy<Value = &'static str> {
    let names: Vec<&'static str> =
        Syscall::all().iter().filter(|s| s.arg_kinds().is_some()).map(|s| s.name()).collect();
    prop::sample::select(names)
}

fn entry() -> impl Strategy<Value = String> {
    let action = prop_oneof![
        Just(String::new()),
        Just("=EPERM".to_owned()),
        Just("=kill".to_owned()),
        Just("=allow".to_owned())
    ];
    let comparison = || {
        (0u8..2, prop_oneof![Just("=="), Just("!="), Just("<"), Just(">=")], 0u64..20)
            .prop_map(|(index, op, value)| format!("arg{index} {op} {value}"))
    };
    let condition = prop_oneof![
        Just(String::new()),
        comparison().prop_map(|comparison| format!("({comparison})")),
        (0u8..2, 0u64..20).prop_map(|(index, value)| format!("(arg{index} == {value})")),
        // Two at once: on two arguments, or one argument bounded twice.
        (comparison(), comparison()).prop_map(|(first, second)| format!("({first}, {second})")),
        (0u8..2, 0u64..20, 0u64..20)
            .prop_map(|(index, low, high)| format!("(arg{index} >= {low}, arg{index} <= {})", low + high)),
    ];
    (call_with_arguments(), condition, action)
        .prop_map(|(name, condition, action)| format!("{name}{condition}{action}"))
}

/// The policy the generated entries make; entries a policy refuses (a
/// condition on a call's missing argument) are not the point here.
fn random_policy(
    allow: Option<Vec<String>>,
    deny: &[String],
    default_action: &str,
    refuse_i386: bool,
) -> Result<Policy, TestCaseError> {
    let origin = Origin::Variable("test");
    let (allow, deny) = (allow.map(|entries| entries.join(":")), deny.join(":"));
    let settings = Settings {
        allow: allow.as_deref().map(|text| Text { origin: &origin, text }),
        deny: Some(Text { origin: &origin, text: &deny }),
        default_action: Some(Text { origin: &origin, text: default_action }),
        switches: Switches { refuse_i386, ..Switches::default() },
    };
    match settings.policy() {
        Ok(Some(policy)) => Ok(policy),
        _ => Err(TestCaseError::reject("not a policy")),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, max_global_rejects: 8192, ..ProptestConfig::default() })]

    #[test]
    fn random_policies_agree(
        allow in prop::option::of(prop::collection::vec(entry(), 0..40)),
        deny in prop::collection::vec(entry(), 0..8),
        default_action in prop_oneof![Just("kill"), Just("EPERM"), Just("log"), Just("trap")],
        refuse_i386 in prop::bool::weighted(0.2),
    ) {
        compare(&random_policy(allow, &deny, default_action, refuse_i386)?)?;
    }

    #[test]
    fn export_then_import_is_the_same_policy(
        allow in prop::option::of(prop::collection::vec(entry(), 0..40)),
        deny in prop::collection::vec(entry(), 0..8),
        default_action in prop_oneof![Just("kill"), Just("EPERM"), Just("log"), Just("trap")],
        refuse_i386 in prop::bool::weighted(0.2),
    ) {
        round_trip(&random_policy(allow, &deny, default_action, refuse_i386)?)?;
    }
}
