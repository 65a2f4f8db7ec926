//! Runs the test vectors in `vectors.txt` through the compiled filters.

use sandbox_policy::compile::bpf::{self, SeccompData};
use sandbox_policy::text::file;
use sandbox_policy::{Abi, Action, Policy, Syscall, compile};

fn number(text: &str) -> u64 {
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
        None => text.parse().unwrap(),
    }
}

#[test]
fn vectors() {
    let text = include_str!("vectors.txt");
    let mut program = None;
    let mut checked = 0;
    for (index, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap().trim();
        if line.is_empty() {
            continue;
        }
        let at = format!("vectors.txt:{}", index + 1);
        if let Some(directives) = line.strip_prefix("policy ") {
            let lists = file::parse_attached(&directives.replace(';', "\n")).unwrap_or_else(|e| panic!("{at}: {e}"));
            program = Some(compile(&Policy::new(lists)).unwrap());
            continue;
        }
        let (call, expected) = line.split_once(" -> ").unwrap_or_else(|| panic!("{at}: no ->"));
        let fields: Vec<&str> = call.split_whitespace().collect();
        let abi = match fields[0] {
            "x86_64" => Abi::X86_64,
            "i386" => Abi::I386,
            other => panic!("{at}: unknown ABI {other}"),
        };
        let nr =
            Syscall::by_name(fields[1]).and_then(|s| s.number(abi)).unwrap_or_else(|| panic!("{at}: no such call"));
        let args: [u64; 6] = core::array::from_fn(|i| number(fields[2 + i]));
        let data = SeccompData { nr, arch: abi.audit_arch(), instruction_pointer: 0, args };
        let program = program.as_ref().unwrap_or_else(|| panic!("{at}: no policy yet"));
        let actual = Action::from_ret(bpf::run(program.insns(), &data).unwrap().ret).unwrap();
        assert_eq!(actual, Action::parse(expected.trim()).unwrap(), "{at}: {line}");
        checked += 1;
    }
    assert!(checked > 40, "only {checked} vectors");
}

/// For every argument the kernel reads fewer than 64 bits of, a deny rule
/// written for a value still catches that value with the bits the kernel
/// ignores set (`clone((1 << 32) | SIGCHLD)`), and a 64-bit argument is
/// told apart by its high word.
#[test]
fn every_argument_is_compared_as_wide_as_the_kernel_reads_it() {
    use sandbox_policy::tables::syscalls::ArgKind;
    let mut checked = 0;
    for syscall in Syscall::all() {
        let (Some(kinds), Some(nr)) = (syscall.arg_kinds(), syscall.number(Abi::X86_64)) else { continue };
        for (index, kind) in kinds.iter().enumerate() {
            let ignored: u64 = match kind {
                ArgKind::Int => 1 << 32,
                ArgKind::Short => 1 << 16 | 1 << 32,
                ArgKind::Mode => 0o10000 | 1 << 32,
                ArgKind::Long => 1 << 32,
                ArgKind::Pointer => continue,
            };
            let policy = format!("deny {}(arg{index} == 5)=EPERM", syscall.name());
            let program = compile(&Policy::new(file::parse_attached(&policy).unwrap())).unwrap();
            let verdict = |value: u64| {
                let mut args = [0; 6];
                args[index] = value;
                let data = SeccompData { nr, arch: Abi::X86_64.audit_arch(), instruction_pointer: 0, args };
                Action::from_ret(bpf::run(program.insns(), &data).unwrap().ret).unwrap()
            };
            assert_eq!(verdict(5), Action::Errno(libc::EPERM as u16), "{policy}");
            let expected = if kind == ArgKind::Long { Action::Allow } else { Action::Errno(libc::EPERM as u16) };
            assert_eq!(verdict(5 | ignored), expected, "{policy} with {:#x}", 5 | ignored);
            checked += 1;
        }
    }
    assert!(checked > 500, "{checked} arguments checked");
}
