//! aarch64 filters on a real arm64 kernel: Debian 12's, booted under
//! `qemu-system-aarch64` (TCG emulation) with a tiny initramfs whose /init
//! (`tests/c/arm64-probe.c`, built with clang for aarch64) installs
//! each filter compiled here for aarch64 and makes calls under it, as root
//! and as nobody. Every outcome must be what the filter's own program says
//! on the host (the interpreter `--explain` reads it with), and for calls
//! without conditions what `--explain --arch aarch64` prints.
//!
//! The kernel comes from deb.debian.org (`tools/arm64-kernel`, checked as
//! apt checks it) into `target/arm64-kernel`; where it cannot be fetched the
//! test says so and passes. The boot takes about two seconds.

use std::fs;
use std::process::Command;
use std::time::Duration;

use sandbox_policy::abi::{AUDIT_ARCH_AARCH64, AUDIT_ARCH_ARM};
use sandbox_policy::compile::bpf::{self, SeccompData};
use sandbox_policy::compile::filter::probe;
use sandbox_policy::export::translate;
use sandbox_policy::text::variables;
use sandbox_policy::{Abi, Action, Arch, Origin, Policy, Settings, Switches, Syscall, Text, compile_for, explain};
use sandbox_tests::{Run, compile_with, fresh_dir, workspace};

/// What a call returns when its filter lets it run, which the kernel decides.
#[derive(Clone, Copy, Debug)]
enum Unfiltered {
    /// A result of zero or more (a descriptor, a pid).
    Success,
    /// This errno (the kernel refuses the arguments: a NULL path, a bad descriptor).
    Errno(i64),
    /// An exec'd program that exits with this code.
    Exits(i32),
}

/// One attempt: a call with its arguments, or a program exec'd under the
/// filter; what the policy means for it (the README's word, written here by
/// hand), and what the kernel does when the filter lets it run.
struct Attempt {
    what: &'static str,
    call: Call,
    means: Action,
    unfiltered: Unfiltered,
}

enum Call {
    /// An aarch64 call: its name and arguments.
    Native(&'static str, [u64; 6]),
    /// `tests/c/arm32-exit.c`, a 32-bit ARM program: its first call has
    /// `AUDIT_ARCH_ARM`.
    Arm32,
}

fn call(name: &'static str, args: [u64; 6], means: Action, unfiltered: Unfiltered) -> Attempt {
    Attempt { what: name, call: Call::Native(name, args), means, unfiltered }
}

const AT_FDCWD: u64 = -100i64 as u64;
const CLONE_THREAD: u64 = 0x10000;
const SIGCHLD: u64 = 17;
const NO_SUCH_PID: u64 = 0x7fff_fff0;
const EBADF: i64 = 9;
const EFAULT: i64 = 14;
const EINVAL: i64 = 22;
const ESRCH: i64 = 3;

fn arm32() -> Attempt {
    Attempt { what: "a 32-bit ARM program", call: Call::Arm32, means: Action::Kill, unfiltered: Unfiltered::Exits(7) }
}

const ALLOW: Action = Action::Allow;
const KILL: Action = Action::Kill;
const fn errno(value: i32) -> Action {
    Action::Errno(value as u16)
}

/// The policies, each with its attempts.
fn cases() -> Vec<(&'static str, Policy, Vec<Attempt>)> {
    let policy = |allow: Option<&str>, deny: Option<&str>, default: Option<&str>| {
        let (allow_origin, deny_origin, default_origin) = (
            Origin::Variable(variables::ALLOW),
            Origin::Variable(variables::DENY),
            Origin::Variable(variables::DEFAULT_ACTION),
        );
        Settings {
            allow: allow.map(|text| Text { origin: &allow_origin, text }),
            deny: deny.map(|text| Text { origin: &deny_origin, text }),
            default_action: default.map(|text| Text { origin: &default_origin, text }),
            switches: Switches::default(),
        }
        .policy()
        .unwrap()
        .unwrap()
    };
    let learned = "exit_group:execve:read:write:open:fork:dup2:fcntl:getpid";
    let origin = Origin::Variable(variables::ALLOW);
    let entries = sandbox_policy::text::parse_list(Text { origin: &origin, text: learned }).unwrap();
    let translated = translate::allow_list(&entries, Arch::Aarch64);
    assert!(translated.untranslated.is_empty(), "{:?}", translated.untranslated);
    let translated = translated.entries.join(":");
    vec![
        (
            "deny-list",
            policy(None, Some("uname"), None),
            vec![
                call("uname", [0; 6], KILL, Unfiltered::Errno(EFAULT)),
                call("getpid", [0; 6], ALLOW, Unfiltered::Success),
                // The terminal rules, io_uring, a harmless ioctl.
                call("ioctl", [0, libc::TIOCSTI, 0, 0, 0, 0], errno(libc::EIO), Unfiltered::Errno(EBADF)),
                call("ioctl", [0, libc::TIOCLINUX, 0, 0, 0, 0], errno(libc::EPERM), Unfiltered::Errno(EBADF)),
                call("ioctl", [u64::MAX, libc::TCGETS, 0, 0, 0, 0], ALLOW, Unfiltered::Errno(EBADF)),
                call("io_uring_setup", [1, 0, 0, 0, 0, 0], errno(libc::ENOSYS), Unfiltered::Errno(EFAULT)),
                // The install probe (the nonce left 0 here), and getpgid itself.
                call("getpgid", [0, probe::MARK, 0, 0, 0, 0], errno(i32::from(probe::CONFIRMED)), Unfiltered::Success),
                call(
                    "getpgid",
                    [1 << 32, probe::MARK, 0, 0, 0, 0],
                    errno(i32::from(probe::OTHER)),
                    Unfiltered::Success,
                ),
                call("getpgid", [0; 6], ALLOW, Unfiltered::Success),
                arm32(),
            ],
        ),
        (
            "errno-actions",
            policy(None, Some("uname=ENETDOWN:getppid=EPERM"), None),
            vec![
                call("uname", [0; 6], errno(libc::ENETDOWN), Unfiltered::Errno(EFAULT)),
                call("getppid", [0; 6], errno(libc::EPERM), Unfiltered::Success),
                call("getpid", [0; 6], ALLOW, Unfiltered::Success),
            ],
        ),
        (
            "allow-list",
            policy(Some("getpid:exit_group:execve"), None, None),
            vec![
                call("getpid", [0; 6], ALLOW, Unfiltered::Success),
                call("getppid", [0; 6], KILL, Unfiltered::Success),
                call("uname", [0; 6], KILL, Unfiltered::Errno(EFAULT)),
                arm32(),
            ],
        ),
        (
            "conditions",
            policy(None, Some("socket(arg0 == AF_INET)=EACCES:kill(arg1 == 9)=EPERM:clone(arg3 != 0)=EPERM"), None),
            vec![
                call("socket", [2, 1, 0, 0, 0, 0], errno(libc::EACCES), Unfiltered::Success),
                call("socket", [1, 1, 0, 0, 0, 0], ALLOW, Unfiltered::Success),
                // The high word of an int is ignored, as the kernel ignores it.
                call("socket", [0xdead_0000_0000_0002, 1, 0, 0, 0, 0], errno(libc::EACCES), Unfiltered::Success),
                call("kill", [NO_SUCH_PID, 9, 0, 0, 0, 0], errno(libc::EPERM), Unfiltered::Errno(ESRCH)),
                call("kill", [NO_SUCH_PID, 0, 0, 0, 0, 0], ALLOW, Unfiltered::Errno(ESRCH)),
                // clone's child_tid is arm64's fifth argument, tls its fourth.
                call("clone", [CLONE_THREAD, 0, 0, 0, 1, 0], errno(libc::EPERM), Unfiltered::Errno(EINVAL)),
                call("clone", [CLONE_THREAD, 0, 0, 1, 0, 0], ALLOW, Unfiltered::Errno(EINVAL)),
            ],
        ),
        (
            "families",
            policy(None, Some("open:fork:stat"), None),
            vec![
                call("openat", [AT_FDCWD, 0, 0, 0, 0, 0], KILL, Unfiltered::Errno(EFAULT)),
                call("clone", [SIGCHLD, 0, 0, 0, 0, 0], KILL, Unfiltered::Success),
                call("clone", [CLONE_THREAD, 0, 0, 0, 0, 0], ALLOW, Unfiltered::Errno(EINVAL)),
                call("newfstatat", [AT_FDCWD, 0, 0, 0, 0, 0], KILL, Unfiltered::Errno(EFAULT)),
                call("fstat", [u64::MAX, 0, 0, 0, 0, 0], ALLOW, Unfiltered::Errno(EBADF)),
            ],
        ),
        (
            "translated-learned-list",
            policy(Some(&translated), None, None),
            vec![
                call("openat", [AT_FDCWD, 0, 0, 0, 0, 0], ALLOW, Unfiltered::Errno(EFAULT)),
                call("dup3", [0, 0, 0, 0, 0, 0], ALLOW, Unfiltered::Errno(EINVAL)),
                call("clone", [CLONE_THREAD, 0, 0, 0, 0, 0], ALLOW, Unfiltered::Errno(EINVAL)),
                call("fcntl", [u64::MAX, 1, 0, 0, 0, 0], ALLOW, Unfiltered::Errno(EBADF)),
                call("getppid", [0; 6], KILL, Unfiltered::Success),
            ],
        ),
        (
            "log-and-trap",
            policy(Some("getpid:exit_group:uname=trap"), None, Some("log")),
            vec![
                call("getppid", [0; 6], Action::Log, Unfiltered::Success),
                call("uname", [0; 6], Action::Trap, Unfiltered::Errno(EFAULT)),
                call("getpid", [0; 6], ALLOW, Unfiltered::Success),
            ],
        ),
    ]
}

/// What the probe printed for one attempt.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Returned(i64),
    Signal(i32),
    Exit(i32),
    Other(String),
}

fn parse(word: &str) -> Outcome {
    let number = |value: &str| value.parse::<i64>().unwrap_or_else(|_| panic!("a number: {word}"));
    match word.split_once('=') {
        Some(("ret", value)) => Outcome::Returned(number(value)),
        Some(("signal", value)) => Outcome::Signal(number(value) as i32),
        Some(("exit", value)) => Outcome::Exit(number(value) as i32),
        _ => Outcome::Other(word.to_owned()),
    }
}

/// Whether `outcome` is what `action` makes of the attempt.
fn agrees(action: Action, unfiltered: Unfiltered, outcome: &Outcome) -> bool {
    match (action, outcome) {
        // A trap with no handler ends the process by SIGSYS, as a kill does.
        (Action::Kill | Action::Trap, Outcome::Signal(signal)) => *signal == libc::SIGSYS,
        (Action::Errno(errno), Outcome::Returned(value)) => *value == -i64::from(errno),
        (Action::Allow | Action::Log, outcome) => match (unfiltered, outcome) {
            (Unfiltered::Success, Outcome::Returned(value)) => *value >= 0,
            (Unfiltered::Errno(errno), Outcome::Returned(value)) => *value == -errno,
            (Unfiltered::Exits(code), Outcome::Exit(exit)) => code == *exit,
            _ => false,
        },
        _ => false,
    }
}

/// The action `--explain --arch aarch64` prints for the call numbered `nr`
/// when the policy has no conditions for it.
fn explained(text: &str, nr: u32, name: &str) -> Option<String> {
    let prefix = format!("{nr:>4}  {name:<24} ");
    let line = text.lines().find(|line| line.starts_with(&prefix))?;
    line[prefix.len()..].split_whitespace().next().map(str::to_owned)
}

fn tool(name: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {name}")]).output().is_ok_and(|out| out.status.success())
}

#[test]
fn aarch64_filters_behave_on_an_arm64_kernel_as_explained() {
    for needed in ["qemu-system-aarch64", "clang", "ld.lld", "cpio"] {
        assert!(tool(needed), "{needed} is missing: tools/test installs it (tools/test-packages)");
    }
    let kernel_dir = workspace().join("target/arm64-kernel");
    let fetched = Command::new(workspace().join("tools/arm64-kernel")).arg(&kernel_dir).output().unwrap();
    if !fetched.status.success() {
        // CI has the network its packages came through: there, a kernel that
        // cannot be fetched is a failure, not a reason to skip.
        assert!(std::env::var_os("CI").is_none(), "tools/arm64-kernel: {}", String::from_utf8_lossy(&fetched.stderr));
        eprintln!(
            "SKIPPED: no arm64 kernel to boot (tools/arm64-kernel: {}): the aarch64 filters were not run on a kernel",
            String::from_utf8_lossy(&fetched.stderr).trim()
        );
        return;
    }
    let root = fresh_dir("arm64-initramfs");
    fs::create_dir(root.join("f")).unwrap();
    // clang and lld rather than Debian's cross gcc, which conflicts with gcc-multilib.
    let cross = |target| [target, "-static", "-fuse-ld=lld", "-Wextra"];
    fs::copy(compile_with("clang", "arm64-probe", &cross("--target=aarch64-linux-gnu")), root.join("init")).unwrap();
    fs::copy(compile_with("clang", "arm32-exit", &cross("--target=arm-linux-gnueabihf")), root.join("arm32-exit"))
        .unwrap();

    // Each filter, its attempts, and the action the program itself gives each.
    let cases = cases();
    let mut expected: Vec<(String, usize, Action, Unfiltered, String)> = Vec::new();
    for (index, (name, policy, attempts)) in cases.iter().enumerate() {
        let program = compile_for(policy, Arch::Aarch64).unwrap();
        let file = format!("{index:02}-{name}");
        let bytes: Vec<u8> = program.insns().iter().flat_map(|insn| insn.to_raw()).collect();
        fs::write(root.join("f").join(format!("{file}.bpf")), bytes).unwrap();
        let explanation = explain::explain(policy, Arch::Aarch64).unwrap();
        let mut lines = String::new();
        for (number, attempt) in attempts.iter().enumerate() {
            let (data, line) = match attempt.call {
                Call::Native(call, args) => {
                    let syscall = Syscall::by_name(call).unwrap();
                    let nr = syscall.number(Abi::Aarch64).unwrap_or_else(|| panic!("{call} on aarch64"));
                    let words: Vec<String> = args.iter().map(|arg| format!("{arg:#x}")).collect();
                    let data = SeccompData { nr, arch: AUDIT_ARCH_AARCH64, args, ..SeccompData::default() };
                    // Calls without conditions: --explain says the same.
                    let conditional = policy.call(syscall).is_some_and(|rules| !rules.conditional.is_empty());
                    let probing = call == "getpgid" && args[1] == probe::MARK;
                    if !(conditional || probing) {
                        let action = Action::from_ret(bpf::run(program.insns(), &data).unwrap().ret).unwrap();
                        assert_eq!(explained(&explanation, nr, call), Some(action.to_string()), "{name}: {call}");
                    }
                    (data, format!("{nr} {}", words.join(" ")))
                }
                // Any AArch32 number: every one gets the unknown arch's kill.
                Call::Arm32 => {
                    for nr in 0..500 {
                        let data = SeccompData { nr, arch: AUDIT_ARCH_ARM, ..SeccompData::default() };
                        assert_eq!(bpf::run(program.insns(), &data).unwrap().ret, Action::Kill.ret(), "{name}: {nr}");
                    }
                    let execve = Syscall::by_name("execve").unwrap().number(Abi::Aarch64).unwrap();
                    let exec = SeccompData { nr: execve, arch: AUDIT_ARCH_AARCH64, ..SeccompData::default() };
                    assert_eq!(bpf::run(program.insns(), &exec).unwrap().ret, Action::Allow.ret(), "{name}: execve");
                    (SeccompData { nr: 20, arch: AUDIT_ARCH_ARM, ..SeccompData::default() }, "exec /arm32-exit".into())
                }
            };
            let action = Action::from_ret(bpf::run(program.insns(), &data).unwrap().ret).unwrap();
            assert_eq!(action, attempt.means, "{name}: {}: the filter is not what the policy means", attempt.what);
            expected.push((file.clone(), number, action, attempt.unfiltered, format!("{name}: {}", attempt.what)));
            lines.push_str(&line);
            lines.push('\n');
        }
        fs::write(root.join("f").join(format!("{file}.calls")), lines).unwrap();
    }
    // A control, outside any policy: the 32-bit program runs on this kernel.
    let allow_all = bpf::Insn::stmt(bpf::op::RET | bpf::op::K, Action::Allow.ret()).to_raw();
    fs::write(root.join("f/99-control.bpf"), allow_all).unwrap();
    fs::write(root.join("f/99-control.calls"), "exec /arm32-exit\n").unwrap();
    expected.push((
        "99-control".into(),
        0,
        Action::Allow,
        Unfiltered::Exits(7),
        "control: a 32-bit ARM program".into(),
    ));

    let initramfs = root.parent().unwrap().join("arm64-initramfs.cpio");
    let packed = Command::new("sh")
        .args(["-c", "find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet > \"$0\""])
        .arg(&initramfs)
        .current_dir(&root)
        .status()
        .unwrap();
    assert!(packed.success(), "cpio");
    let (vmlinuz, initrd) = (kernel_dir.join("vmlinuz"), initramfs);
    #[rustfmt::skip]
    let arguments = [
        "-M", "virt", "-accel", "tcg", "-cpu", "cortex-a57", "-smp", "2", "-m", "512",
        "-nographic", "-nic", "none", "-no-reboot",
        "-kernel", vmlinuz.to_str().unwrap(), "-initrd", initrd.to_str().unwrap(),
        "-append", "console=ttyAMA0 panic=-1 quiet",
    ];
    let outcome = Run::new("qemu-system-aarch64", &arguments).timeout(Duration::from_secs(300)).run();
    let console = outcome.stdout.replace('\r', "");
    assert!(console.contains("PROBE DONE"), "the probe did not finish:\n{console}\n{}", outcome.stderr);
    for name in cases.iter().enumerate().map(|(index, (name, _, _))| format!("{index:02}-{name}")) {
        assert!(console.contains(&format!("FILTER {name} load=ok\n")), "{name} not loaded:\n{console}");
    }
    let results: Vec<(&str, usize, &str, Outcome)> = console
        .lines()
        .filter_map(|line| line.strip_prefix("RESULT "))
        .map(|line| {
            let words: Vec<&str> = line.split(' ').collect();
            (words[0], words[1].parse().unwrap(), words[2], parse(words[3]))
        })
        .collect();
    for (file, number, action, unfiltered, what) in &expected {
        for user in ["root", "nobody"] {
            let got = results.iter().find(|(f, n, u, _)| f == file && n == number && *u == user);
            let Some((.., outcome)) = got else { panic!("no result for {what} as {user}:\n{console}") };
            assert!(
                agrees(*action, *unfiltered, outcome),
                "{what} as {user}: the filter says {action}, the kernel did {outcome:?}\n{console}"
            );
        }
    }
}
