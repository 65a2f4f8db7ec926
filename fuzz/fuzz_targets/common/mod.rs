//! What the policy targets check on every policy that parsed: it compiles,
//! its filter runs to one of our returns for every ABI and a spread of
//! numbers and arguments, and the variables that hand it on (`sandboxify
//! --preload` gives them to the library) compile to a filter that decides
//! every one of those calls the same way.

use sandbox_policy::abi::{AUDIT_ARCH_AARCH64, AUDIT_ARCH_ARM, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use sandbox_policy::compile::bpf::{self, SeccompData};
use sandbox_policy::text::file::NoFiles;
use sandbox_policy::text::variables::Variables;
use sandbox_policy::{Abi, Action, Arch, ErrorKind, Policy, Program, Syscall, compile, compile_for};

/// Arguments that sit on the edges a two-word comparison can get wrong.
const ARGS: [u64; 6] = [0, 1, 0xffff_ffff, 0x1_0000_0000, u64::MAX, 0x8000_0000_0000_0000];

/// Some inputs the filter must decide: each ABI's numbers and beyond, x32
/// numbers, foreign arches; arguments from `seed` and from the edges.
fn inputs(seed: &[u8]) -> Vec<SeccompData> {
    let mut words = seed.chunks(8).map(|chunk| {
        let mut bytes = [0u8; 8];
        bytes[..chunk.len()].copy_from_slice(chunk);
        u64::from_le_bytes(bytes)
    });
    let mut argument_sets: Vec<[u64; 6]> = ARGS.iter().map(|&value| [value; 6]).collect();
    argument_sets.push(std::array::from_fn(|_| words.next().unwrap_or(7)));
    argument_sets.push(std::array::from_fn(|index| ARGS[index]));
    let mut inputs = Vec::new();
    for &abi in Arch::X86_64.abis() {
        for nr in (0..=Syscall::max_number(abi) + 2).chain([1000, u32::MAX]) {
            for args in &argument_sets {
                inputs.push(SeccompData { nr, arch: abi.audit_arch(), instruction_pointer: 0, args: *args });
            }
        }
    }
    for nr in [X32_SYSCALL_BIT, X32_SYSCALL_BIT | 59, X32_SYSCALL_BIT | 0x3fff_ffff] {
        inputs.push(SeccompData { nr, arch: AUDIT_ARCH_X86_64, ..SeccompData::default() });
    }
    for arch in [0, AUDIT_ARCH_I386 + 1, 0xc000_00b7, 0x4000_003e] {
        inputs.push(SeccompData { nr: 59, arch, ..SeccompData::default() });
    }
    inputs
}

fn verdicts(program: &Program, inputs: &[SeccompData]) -> Vec<u32> {
    inputs
        .iter()
        .map(|data| {
            let verdict = bpf::run(program.insns(), data).expect("the generated filter runs to a return");
            assert!(Action::from_ret(verdict.ret).is_some(), "unknown return {:#x}", verdict.ret);
            verdict.ret
        })
        .collect()
}

/// Compiles `policy`, runs its filter, and checks that its variables
/// reproduce it. A policy too long for the kernel is refused with its
/// length, never more than the limit.
/// A root process on this kernel, for the Docker conditions of a file that
/// is an OCI profile (one starting with `{`).
pub fn root_host() -> Option<sandbox_policy::text::oci::Host> {
    Some(sandbox_policy::text::oci::Host { kernel: (6, 18), capabilities: (1 << 41) - 1 })
}

pub fn check(policy: &Policy, seed: &[u8]) {
    let program = match compile(policy) {
        Ok(program) => program,
        Err(error) => {
            assert!(error.instructions > error.limit, "refused within the limit: {error}");
            return;
        }
    };
    let inputs = inputs(seed);
    let original = verdicts(&program, &inputs);
    // Other arches are always killed, x32 always a violation.
    let last = original.len();
    assert!(original[last - 4..].iter().all(|&ret| ret == Action::Kill.ret()), "a foreign arch is not killed");
    assert!(original[last - 7..last - 4].iter().all(|&ret| ret == policy.violation().ret()), "x32 is not a violation");

    let mut variables = Variables::default();
    for (name, value) in policy.variables() {
        variables.add(name.as_bytes(), value.as_bytes()).expect("a policy's variables are known names, each once");
    }
    match variables.lists(&mut NoFiles) {
        Ok(Some(lists)) => {
            let again = Policy::new(lists);
            let replayed = verdicts(&compile(&again).expect("the same rules compile to the same length"), &inputs);
            for ((data, ours), theirs) in inputs.iter().zip(&original).zip(&replayed) {
                assert_eq!(ours, theirs, "the variables decide {data:?} differently: {policy}");
            }
        }
        Ok(None) => panic!("the variables of a policy hold no policy: {policy}"),
        // Spelling every rule out can make an entry or a list longer than
        // the limits: the library then refuses it (status 125), which fails
        // closed. Anything else is a bug.
        Err(error) if matches!(error.kind, ErrorKind::EntryTooLong { .. } | ErrorKind::ValueTooLong { .. }) => {}
        Err(error) => panic!("the variables of a policy do not parse: {error}: {policy}"),
    }
    check_aarch64(policy);
}

/// The same policy for arm64: it compiles (or is refused with its length),
/// decides every aarch64 number with one of our returns, each call named
/// by an entry as on x86_64 when the call has no conditions, and kills
/// every other arch, AArch32 among them.
fn check_aarch64(policy: &Policy) {
    let program = match compile_for(policy, Arch::Aarch64) {
        Ok(program) => program,
        Err(error) => {
            assert!(error.instructions > error.limit, "refused within the limit: {error}");
            return;
        }
    };
    let on = |abi: Abi, nr| SeccompData { nr, arch: abi.audit_arch(), ..SeccompData::default() };
    for nr in 0..=Syscall::max_number(Abi::Aarch64) + 2 {
        let ret = bpf::run(program.insns(), &on(Abi::Aarch64, nr)).expect("the generated filter runs").ret;
        let action = Action::from_ret(ret).unwrap_or_else(|| panic!("unknown return {ret:#x}"));
        let unconditional = Syscall::by_number(Abi::Aarch64, nr)
            .filter(|syscall| policy.call(syscall).is_none_or(|call| call.conditional.is_empty()));
        if let Some(syscall) = unconditional.filter(|syscall| syscall.name() != "getpgid") {
            assert_eq!(action, policy.action_for(syscall), "{} on aarch64: {policy}", syscall.name());
        }
    }
    for arch in [0, AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, AUDIT_ARCH_ARM, AUDIT_ARCH_AARCH64 + 1] {
        let data = SeccompData { nr: 59, arch, ..SeccompData::default() };
        assert_eq!(bpf::run(program.insns(), &data).unwrap().ret, Action::Kill.ret(), "arch {arch:#x} on aarch64");
    }
}
