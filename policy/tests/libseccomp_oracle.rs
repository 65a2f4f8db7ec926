//! libseccomp as the oracle: our syscall table and our generated filters must
//! agree with what libseccomp resolves and generates for the same policy.

mod support;

use libseccomp::{ScmpAction, ScmpArch, ScmpFilterContext, ScmpSyscall};
use proptest::prelude::*;
use sandbox_policy::compile::bpf::{self, Insn, SeccompData};
use sandbox_policy::text::Sourced;
use sandbox_policy::text::entry::Target;
use sandbox_policy::{Abi, Action, Arch, Entry, Lists, Origin, Policy, Switches, Syscall, compile_for};

fn scmp_arch(abi: Abi) -> ScmpArch {
    match abi {
        Abi::X86_64 => ScmpArch::X8664,
        Abi::I386 => ScmpArch::X86,
        Abi::Aarch64 => ScmpArch::Aarch64,
    }
}

fn libseccomp_number(name: &str, abi: Abi) -> Option<u32> {
    let nr = i32::from(ScmpSyscall::from_name_by_arch(name, scmp_arch(abi)).ok()?);
    (nr >= 0).then_some(nr as u32)
}

#[test]
fn table_agrees_with_libseccomp() {
    let mut checked = 0;
    for syscall in Syscall::all() {
        for abi in Abi::ALL {
            if let Some(theirs) = libseccomp_number(syscall.name(), abi) {
                assert_eq!(syscall.number(abi), Some(theirs), "{} on {abi}", syscall.name());
                checked += 1;
            }
        }
    }
    assert!(checked > 1090, "only {checked} names checked");
    for abi in Abi::ALL {
        for nr in 0..1024 {
            if let Ok(name) = ScmpSyscall::from(nr as i32).get_name_by_arch(scmp_arch(abi)) {
                let ours = Syscall::by_number(abi, nr).map(Syscall::name);
                assert_eq!(ours, Some(name.as_str()), "{nr} on {abi}");
            }
        }
    }
}

fn scmp_action(action: Action) -> ScmpAction {
    match action {
        Action::Kill => ScmpAction::KillProcess,
        Action::Trap => ScmpAction::Trap,
        Action::Errno(errno) => ScmpAction::Errno(errno.into()),
        Action::Notify => ScmpAction::Notify,
        Action::Log => ScmpAction::Log,
        Action::Allow => ScmpAction::Allow,
    }
}

fn libseccomp_program(policy: &Policy, arch: Arch) -> Vec<Insn> {
    let mut filter = ScmpFilterContext::new(scmp_action(policy.default_action())).unwrap();
    filter.set_act_badarch(ScmpAction::KillProcess).unwrap();
    match arch {
        Arch::X86_64 if !policy.refuses_i386() => {
            filter.add_arch(ScmpArch::X86).unwrap();
        }
        Arch::X86_64 => {}
        Arch::Aarch64 => {
            filter.add_arch(ScmpArch::Aarch64).unwrap();
            filter.remove_arch(ScmpArch::Native).unwrap();
        }
    }
    // Calls with conditions (the strategies write none, but families add
    // them) are left to tests/reference.rs: the comparison skips them.
    for call in policy.calls().iter().filter(|call| call.conditional.is_empty()) {
        let action = policy.action_for(call.syscall);
        if action == policy.default_action() {
            continue;
        }
        if let Ok(known) = ScmpSyscall::from_name(call.syscall.name()) {
            filter.add_rule(scmp_action(action), known).unwrap();
        }
    }
    support::libseccomp_program(&filter)
}

fn action_strategy() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::Kill),
        Just(Action::Trap),
        Just(Action::Log),
        Just(Action::Allow),
        (1u16..200).prop_map(Action::Errno),
    ]
}

fn entries_strategy(max: usize) -> impl Strategy<Value = Vec<Sourced>> {
    let count = Syscall::all().len();
    prop::collection::vec((0..count, prop::option::weighted(0.3, action_strategy())), 0..max).prop_map(|picks| {
        picks
            .into_iter()
            .map(|(index, action)| {
                let syscall = &Syscall::all()[index];
                let entry = Entry {
                    target: Target::Syscall(syscall),
                    conditions: Vec::new(),
                    action,
                    written: action.map(|action| format!("{}={action}", syscall.name()).into()),
                };
                Sourced { origin: Origin::Variable("test"), entry }
            })
            .collect()
    })
}

fn policy_strategy() -> impl Strategy<Value = Policy> {
    (
        prop::option::of(entries_strategy(300)),
        entries_strategy(40),
        prop_oneof![Just(Action::Kill), Just(Action::Log), Just(Action::Trap), Just(Action::Errno(1))],
        any::<bool>(),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(allow, deny, violation, exact, refuse_i386)| {
            let switches = Switches { exact, refuse_i386 };
            Policy::new(Lists { allow, deny, default_action: Some(violation), switches })
        })
}

/// The i386 calls that multiplex others (socketcall, ipc), which we decide
/// by their operation argument (see `filter::I386_MULTIPLEXERS`) and
/// libseccomp by number alone.
fn multiplexer(abi: Abi, nr: u32) -> bool {
    abi == Abi::I386 && (nr == 102 || nr == 117)
}

/// Numbers the comparison skips: the multiplexers, calls newer than
/// libseccomp 2.5.4, and calls whose verdict depends on their arguments.
fn not_comparable(policy: &Policy, abi: Abi, nr: u32) -> bool {
    let syscall = Syscall::by_number(abi, nr);
    let unknown = syscall.is_some_and(|s| libseccomp_number(s.name(), abi).is_none());
    multiplexer(abi, nr) || unknown || conditional(policy, abi, nr)
}

/// Whether the policy has conditional rules for `nr` on `abi`.
fn conditional(policy: &Policy, abi: Abi, nr: u32) -> bool {
    let syscall = Syscall::by_number(abi, nr);
    syscall.and_then(|syscall| policy.call(syscall)).is_some_and(|call| !call.conditional.is_empty())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn filters_agree_with_libseccomp(policy in policy_strategy(), arch in prop_oneof![Just(Arch::X86_64), Just(Arch::Aarch64)]) {
        let ours = compile_for(&policy, arch).unwrap();
        let theirs = libseccomp_program(&policy, arch);
        for &abi in arch.abis() {
            for nr in (0..600).chain([1000, 4096, 0x3fff_ffff]) {
                if not_comparable(&policy, abi, nr) {
                    continue;
                }
                let data = SeccompData { nr, arch: abi.audit_arch(), ..SeccompData::default() };
                let expected = bpf::run(&theirs, &data).unwrap().ret;
                let actual = bpf::run(ours.insns(), &data).unwrap();
                prop_assert_eq!(actual.ret, expected, "nr {} on {} for {}", nr, abi, policy);
                prop_assert!(actual.steps <= 24, "nr {} on {}: {} steps", nr, abi, actual.steps);
            }
        }
        // Both kill the other arches: unknown ones, the other machine's, AArch32.
        for other in [0, 0xc000_00b7, 0xc000_003e, 0x4000_0003, 0x4000_0028] {
            if arch.abis().iter().any(|abi| abi.audit_arch() == other) {
                continue;
            }
            let data = SeccompData { nr: 59, arch: other, ..SeccompData::default() };
            prop_assert_eq!(bpf::run(ours.insns(), &data).unwrap().ret, bpf::run(&theirs, &data).unwrap().ret);
        }
    }

    #[test]
    fn allowed_calls_stay_cacheable(policy in policy_strategy(), arch in prop_oneof![Just(Arch::X86_64), Just(Arch::Aarch64)]) {
        let program = compile_for(&policy, arch).unwrap();
        for &abi in arch.abis() {
            // A multiplexer's verdict depends on its operation argument, the
            // probe's on its arguments.
            let probe = |nr| sandbox_policy::compile::filter::probe::syscall(abi) == Some(nr);
            for nr in (0..600).filter(|&nr| !multiplexer(abi, nr) && !probe(nr) && !conditional(&policy, abi, nr)) {
                let data = SeccompData { nr, arch: abi.audit_arch(), ..SeccompData::default() };
                let allowed = bpf::run(program.insns(), &data).unwrap().ret == Action::Allow.ret();
                prop_assert_eq!(allowed, bpf::is_cached_allow(program.insns(), abi.audit_arch(), nr));
            }
        }
    }
}
