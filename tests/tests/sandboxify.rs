//! sandboxify on static (glibc, musl, busybox) and dynamic programs, as root
//! and as nobody.

use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use sandbox_tests::{Outcome, Run, USERS, User, artifact, compile, compile_with, fresh_dir, library, sandboxify};

/// What the static glibc `uname.c` calls from its first instruction on
/// Debian 12 (glibc 2.36): no execve, which is sandboxify's own.
const GLIBC_STATIC_MINIMAL: &str = "arch_prctl:brk:exit_group:getrandom:mprotect:newfstatat:prlimit64:readlink:rseq:set_robust_list:set_tid_address:uname:write";
/// The same for musl 1.2.3.
const MUSL_STATIC_MINIMAL: &str = "arch_prctl:exit_group:ioctl:set_tid_address:uname:writev";

fn run(args: &[&str], user: User) -> Outcome {
    Run::new(sandboxify(), args).user(user).run()
}

fn static_uname() -> PathBuf {
    compile("uname", &["-static"])
}

fn musl_uname() -> PathBuf {
    compile_with("musl-gcc", "uname", &["-static"])
}

#[test]
fn deny_list_kills_static_programs() {
    for program in [static_uname(), musl_uname()] {
        for user in USERS {
            let outcome = run(&["--deny", "uname", program.to_str().unwrap()], user);
            outcome.assert_killed();
            assert_eq!(outcome.stdout, "");
        }
    }
    for user in USERS {
        run(&["--deny", "uname", "/bin/busybox", "uname", "-s"], user).assert_killed();
        let outcome = run(&["--deny", "uname", "/bin/busybox", "echo", "hello"], user);
        outcome.assert_success();
        assert_eq!(outcome.stdout, "hello\n");
    }
}

#[test]
fn minimal_allow_lists_without_execve_run_static_programs() {
    for (program, list) in [(static_uname(), GLIBC_STATIC_MINIMAL), (musl_uname(), MUSL_STATIC_MINIMAL)] {
        assert!(!list.split(':').any(|name| name == "execve"));
        for user in USERS {
            let outcome = run(&["--allow", list, program.to_str().unwrap()], user);
            outcome.assert_success();
            assert_eq!(outcome.stdout, "Linux\n");
            assert_eq!(outcome.stderr, "");
        }
        // Every entry is needed: the list is minimal, so the filter is really in force.
        for left_out in list.split(':') {
            let fewer: Vec<&str> = list.split(':').filter(|&name| name != left_out).collect();
            run(&["--allow", &fewer.join(":"), program.to_str().unwrap()], User::Nobody).assert_killed();
        }
    }
}

#[test]
fn later_execs_get_the_policy() {
    let program = compile("exec-later", &["-static"]);
    let unconfined = Run::new(&program, &[]).run();
    assert_eq!(unconfined.stdout, "started\nexec happened\n");
    for user in USERS {
        for door in ["execve", "execveat"] {
            let outcome = run(&["--deny", "execve", program.to_str().unwrap(), door], user);
            outcome.assert_killed();
            assert_eq!(outcome.stdout, "started\n", "{door} {user:?}");
            let outcome = run(&["--deny", "execve=EPERM", program.to_str().unwrap(), door], user);
            outcome.assert_code(1);
            assert_eq!(outcome.stdout, "started\nexec failed: Operation not permitted\n", "{door} {user:?}");
        }
    }
}

#[test]
fn dynamic_programs_and_exit_statuses() {
    for user in USERS {
        run(&["--deny", "uname", compile("uname", &[]).to_str().unwrap()], user).assert_killed();
        run(&["sh", "-c", "exit 7"], user).assert_code(7);
        run(&["--deny", "uname", "sh", "-c", "exit 7"], user).assert_code(7);
        // 143 in a shell: killed by SIGTERM, passed through as is.
        for policy in [&[][..], &["--deny", "execve"][..]] {
            let args: Vec<&str> = policy.iter().copied().chain(["sh", "-c", "kill -TERM $$"]).collect();
            let outcome = run(&args, user);
            assert_eq!(outcome.signal(), Some(libc::SIGTERM), "{policy:?}: {outcome:#?}");
        }
    }
}

/// The CPUs this process may run on (PROGRAM inherits the mask).
fn our_cpu_count() -> i32 {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity fills it.
    unsafe {
        let mut cpus: libc::cpu_set_t = std::mem::zeroed();
        assert_eq!(libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut cpus), 0);
        libc::CPU_COUNT(&cpus)
    }
}

/// The exec chain: PROGRAM is the process that was started as sandboxify,
/// with no helper thread or child left, whichever way the exec went.

#[test]
fn program_replaces_sandboxify_in_the_same_process() {
    let program = compile("process-report", &["-static"]);
    let policies: [&[&str]; 3] = [&[], &["--deny", "uname"], &["--deny", "execve"]];
    for policy in policies {
        for user in USERS {
            let mut command = Command::new(sandboxify());
            command.args(policy).arg(&program).env_clear().stdout(Stdio::piped()).process_group(0);
            if user == User::Nobody {
                command.uid(65534).gid(65534);
            }
            let child = command.spawn().unwrap();
            let pid = child.id() as i32;
            let output = child.wait_with_output().unwrap();
            assert!(output.status.success(), "{policy:?}: {output:?}");
            let text = String::from_utf8(output.stdout).unwrap();
            let report: HashMap<&str, &str> = text.lines().filter_map(|line| line.split_once([' ', '\t'])).collect();
            let ours = std::process::id() as i32;
            // SAFETY: getsid(0) has no preconditions.
            let our_session = unsafe { libc::getsid(0) };
            assert_eq!(report["pid"], pid.to_string(), "{policy:?}");
            assert_eq!(report["ppid"], ours.to_string(), "{policy:?}");
            assert_eq!(report["pgrp"], pid.to_string(), "{policy:?}");
            assert_eq!(report["sid"], our_session.to_string(), "{policy:?}");
            assert_eq!(report["threads"], "1", "{policy:?}: the exec gate's thread is gone");
            assert_eq!(report["children"], "[]", "{policy:?}: no helper process");
            assert_eq!(report["cpus"], our_cpu_count().to_string(), "{policy:?}: the CPU mask is PROGRAM's own");
            let expected_mode = if policy.is_empty() { "0" } else { "2" };
            assert_eq!(report["Seccomp:"].trim(), expected_mode, "{policy:?}");
        }
    }
}

#[test]
fn options_override_the_environment() {
    let program = static_uname();
    let outcome = Run::new(sandboxify(), &["--deny", "ptrace", program.to_str().unwrap()])
        .env("SECCOMP_SYSCALL_DENY", "uname")
        .run();
    outcome.assert_success();
    let outcome = Run::new(sandboxify(), &[program.to_str().unwrap()]).env("SECCOMP_SYSCALL_DENY", "uname").run();
    outcome.assert_killed();
    // The variables do not reach PROGRAM.
    let probe = compile("env-probe", &["-static"]);
    let outcome = Run::new(sandboxify(), &[probe.to_str().unwrap()]).env("SECCOMP_SYSCALL_DENY", "uname").run();
    outcome.assert_success();
    assert_eq!(outcome.stdout, "parent: Seccomp:\t2\nchild: Seccomp:\t2\n");
}

/// Once a bug (fixed): entries without "=" (which execve allows, and
/// env(1) and the library pass on) were dropped on the way to PROGRAM.
/// Every form hands PROGRAM its environment as given, in order; and an
/// entry without "=" named as a sandbox variable is refused, as the
/// library refuses it.
#[test]
fn program_gets_the_environment_exactly_as_given() {
    let exec_with_env = compile("exec-with-env", &["-static"]);
    let entries = ["NOEQUALS", "A=1", "A=2", "=weird", "", "PATH=/usr/bin:/bin", "Z=last"];
    let env_zero = |prefix: &[&str], user: User| {
        let args: Vec<&str> = prefix.iter().copied().chain(["/usr/bin/env", "-0", "--"]).chain(entries).collect();
        Run::new(&exec_with_env, &args).user(user).run()
    };
    let sandboxify = sandboxify();
    let sandboxify = sandboxify.to_str().unwrap();
    for user in USERS {
        let plain = env_zero(&[], user);
        plain.assert_success();
        assert_eq!(plain.stdout, "NOEQUALS\0A=1\0A=2\0=weird\0\0PATH=/usr/bin:/bin\0Z=last\0");
        for form in [&[sandboxify][..], &[sandboxify, "--deny", "uname"], &[sandboxify, "--unshare-pid"]] {
            let outcome = env_zero(form, user);
            outcome.assert_success();
            assert_eq!(outcome.stdout, plain.stdout, "{form:?} {user:?}");
        }
        let outcome =
            Run::new(&exec_with_env, &[sandboxify, "/usr/bin/true", "--", "SANDBOX_FS_RO/usr"]).user(user).run();
        outcome.assert_code(125);
        assert_eq!(outcome.stderr, "sandboxify: unknown variable SANDBOX_FS_RO/usr (did you mean SANDBOX_FS_RO?)\n");
    }
}

#[test]
fn bad_input_never_runs_the_program() {
    let program = static_uname();
    let program = program.to_str().unwrap();
    let not_executable = fresh_dir("bad-input").join("data");
    std::fs::write(&not_executable, "data").unwrap();
    let no_interpreter = not_executable.with_file_name("no-interpreter");
    std::fs::write(&no_interpreter, "#!/no/such/interpreter\n").unwrap();
    std::fs::set_permissions(&no_interpreter, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let missing_interpreter =
        format!("sandboxify: {}: its interpreter (ELF loader or #! program) was not found\n", no_interpreter.display());
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec![], 125, "sandboxify: missing PROGRAM (see sandboxify --help)\n"),
        (vec!["--deny", "uname"], 125, "sandboxify: missing PROGRAM (see sandboxify --help)\n"),
        (
            vec!["--frobnicate", program],
            125,
            "sandboxify: unexpected argument '--frobnicate' found (see sandboxify --help)\n",
        ),
        (vec!["no-such-program-anywhere"], 127, "sandboxify: no-such-program-anywhere: not found\n"),
        (vec!["./no/such/file"], 127, "sandboxify: ./no/such/file: not found\n"),
        (vec![not_executable.to_str().unwrap()], 126, "permission denied\n"),
        (vec!["/tmp"], 126, "sandboxify: /tmp: is a directory\n"),
        (vec![no_interpreter.to_str().unwrap()], 126, &missing_interpreter),
        (vec!["--deny", "uname", no_interpreter.to_str().unwrap()], 126, &missing_interpreter),
        (
            vec!["--deny", "unmae", program],
            125,
            "sandboxify: --deny: unknown system call \"unmae\" (did you mean \"uname\"?)\n",
        ),
        (vec!["--allow", "read=EFOO", program], 125, "sandboxify: --allow: unknown action \"EFOO\""),
        (
            vec!["--default-action", "allow", "--deny", "uname", program],
            125,
            "sandboxify: --default-action: \"allow\" would let every violation run",
        ),
        (
            vec!["--library", "/x", program],
            125,
            "sandboxify: the following required arguments were not provided: --preload (see sandboxify --help)",
        ),
        (vec!["--deny", "uname", "--", "--weird-name"], 127, "sandboxify: --weird-name: not found"),
        (vec!["--preload", "--deny", "uname", program], 125, "sandboxify: --preload: "),
        // Read up to the library's limit, not until memory runs out.
        (
            vec!["--policy", "/dev/zero", program],
            125,
            "sandboxify: --policy: cannot read \"/dev/zero\": larger than 1 MiB\n",
        ),
    ];
    for user in USERS {
        for (args, status, message) in &cases {
            let outcome = run(args, user);
            assert_eq!(outcome.code(), Some(*status), "{args:?}: {outcome:#?}");
            assert_eq!(outcome.stdout, "", "{args:?}");
            assert!(outcome.stderr.contains(message), "{args:?}: {}", outcome.stderr);
            assert_eq!(outcome.stderr.lines().count(), 1, "{args:?}: {}", outcome.stderr);
        }
        let outcome = Run::new(sandboxify(), &[program]).env("SECCOMP_SYSCALL_DENY", "unmae").user(user).run();
        outcome.assert_code(125);
        assert_eq!(
            outcome.stderr,
            "sandboxify: SECCOMP_SYSCALL_DENY: unknown system call \"unmae\" (did you mean \"uname\"?)\n"
        );
        let outcome = Run::new(sandboxify(), &[program]).env("SECCOMP_SYSCAL_DENY", "uname").user(user).run();
        outcome.assert_code(125);
        assert!(outcome.stderr.contains("unknown variable SECCOMP_SYSCAL_DENY"), "{}", outcome.stderr);
        let outcome = Run::new(sandboxify(), &[program]).env("SANDBOX_NETCONNECT", "443").user(user).run();
        outcome.assert_code(125);
        assert_eq!(
            outcome.stderr,
            "sandboxify: unknown variable SANDBOX_NETCONNECT (did you mean SANDBOX_NET_CONNECT?)\n"
        );
    }
}

#[test]
fn help_and_version() {
    let outcome = run(&["--help"], User::Nobody);
    outcome.assert_success();
    assert!(outcome.stdout.contains("Usage: sandboxify [OPTIONS] [PROGRAM]..."), "{}", outcome.stdout);
    assert!(outcome.stdout.contains("127  PROGRAM was not found"));
    let outcome = run(&["--version"], User::Nobody);
    outcome.assert_success();
    assert!(outcome.stdout.starts_with("sandboxify "));
}

/// An outer filter that makes seccomp(2) fail, or forbids the helper thread
/// the exec gate needs: sandboxify stops with 125, PROGRAM never runs.
#[test]
fn a_hostile_outer_filter_stops_sandboxify_cleanly() {
    let wrapper = compile("outer-filter", &["-static"]);
    let program = static_uname();
    let seccomp = libc::SYS_seccomp.to_string();
    let threads = format!("{},{}", libc::SYS_clone, libc::SYS_clone3);
    let cases = [
        (libc::ENOSYS, seccomp.as_str(), "uname", "sandboxify: seccomp filtering is not available: ENOSYS"),
        (libc::EACCES, seccomp.as_str(), "uname", "sandboxify: the kernel refused the seccomp filter: EACCES"),
        (libc::EPERM, threads.as_str(), "execve", "sandboxify: cannot start the exec gate's helper thread"),
    ];
    for user in USERS {
        for (errno, calls, deny, message) in cases {
            let outcome = Run::new(
                &wrapper,
                &[&errno.to_string(), calls, sandboxify().to_str().unwrap(), "--deny", deny, program.to_str().unwrap()],
            )
            .user(user)
            .run();
            outcome.assert_code(125);
            assert_eq!(outcome.stdout, "");
            assert!(outcome.stderr.starts_with(message), "{user:?} {calls}: {}", outcome.stderr);
        }
    }
}

#[test]
fn preload_applies_the_policy_after_start_up() {
    let program = compile("uname", &[]);
    let program = program.to_str().unwrap();
    let library = library();
    let library = library.to_str().unwrap();
    // The library's minimal list: no loader calls, no execve.
    let minimal = "exit_group:newfstatat:uname:write";
    for user in USERS {
        let outcome = run(&["--preload", "--library", library, "--allow", minimal, program], user);
        outcome.assert_success();
        assert_eq!(outcome.stdout, "Linux\n");
        run(&["--preload", "--library", library, "--deny", "uname", program], user).assert_killed();
        // Without --preload the same list cannot even start the program.
        run(&["--allow", minimal, program], user).assert_killed();
    }
}

#[test]
fn preload_never_runs_a_program_unconfined() {
    let program = compile("uname", &[]);
    let program = program.to_str().unwrap();
    for user in USERS {
        // A missing library: refused before anything runs.
        let outcome = run(&["--preload", "--library", "/nonexistent/libsandbox.so", "--deny", "uname", program], user);
        outcome.assert_code(125);
        assert_eq!(outcome.stdout, "");
        assert!(
            outcome.stderr.starts_with("sandboxify: --preload: /nonexistent/libsandbox.so: "),
            "{}",
            outcome.stderr
        );
        // A static program cannot take a preload: refused.
        let outcome = run(&["--preload", "--deny", "uname", static_uname().to_str().unwrap()], user);
        outcome.assert_code(125);
        assert!(outcome.stderr.contains("statically linked"), "{}", outcome.stderr);
        // A library that loads but applies nothing: the guard still holds.
        let dud = compile("dud-preload", &["-shared", "-fPIC"]);
        run(&["--preload", "--library", dud.to_str().unwrap(), "--deny", "uname", program], user).assert_killed();
    }
}

#[test]
fn verbose_reports_once_and_success_is_silent() {
    let program = static_uname();
    let outcome = run(&["--deny", "execve", program.to_str().unwrap()], User::Nobody);
    assert_eq!(outcome.stderr, "");
    let outcome =
        Run::new(sandboxify(), &["--deny", "execve", program.to_str().unwrap()]).env("SANDBOX_VERBOSE", "1").run();
    outcome.assert_success();
    assert_eq!(outcome.stderr.lines().count(), 1, "{}", outcome.stderr);
    assert!(
        outcome.stderr.starts_with(
            "sandboxify: SECCOMP_SYSCALL_DENY=execve=kill:execveat=kill:io_uring_enter=ENOSYS:io_uring_register=ENOSYS:\
             io_uring_setup=ENOSYS:ioctl(arg1 == 0x5412)=EIO:ioctl(arg1 == 0x541c)=EPERM SECCOMP_DEFAULT_ACTION=kill \
             SANDBOX_EXACT=1 (44 BPF instructions, installed before exec; its own exec let through once by the exec \
             gate at 0x"
        ),
        "{}",
        outcome.stderr
    );
}

/// PROGRAM replays sandboxify's exec from the gate's own address (found
/// with address randomisation off, which PROGRAM inherits): the listener is
/// gone, so the kernel fails it with ENOSYS, and nothing runs; under a
/// reporter, which answers the gate itself, the process is killed.
#[test]
fn an_exec_from_the_gate_address_fails_once_the_gate_is_gone() {
    // A static PIE, loaded far from sandboxify's fixed addresses.
    let program = compile("gate-replay", &["-static-pie"]);
    let full = artifact("sandboxify-full");
    let probe = Run::new("setarch", &["-R", full.to_str().unwrap(), "--deny", "execve", "/bin/true"])
        .env("SANDBOX_VERBOSE", "1")
        .run();
    probe.assert_success();
    let full_gate = probe.stderr.split("exec gate at ").nth(1).expect("verbose names the gate").trim_end_matches(")\n");
    // Both programs have a gate: the full program's, and the launcher's own.
    for (sandboxify, gate) in [(full, full_gate.to_owned()), (sandboxify(), format!("{:#x}", launcher_gate()))] {
        for user in USERS {
            let outcome = Run::new(
                "setarch",
                &["-R", sandboxify.to_str().unwrap(), "--deny", "execve", program.to_str().unwrap(), &gate],
            )
            .user(user)
            .run();
            outcome.assert_success();
            let expected = format!("execve from the gate returned {}\n", -libc::ENOSYS);
            assert_eq!(outcome.stdout, expected, "{} {user:?}", sandboxify.display());
        }
    }
    // Under a reporter, which answers the gate's exec itself (the full
    // program's), a second exec from the gate's address ends the process:
    // it must neither run nor live on.
    let launcher = sandboxify();
    for user in USERS {
        for (policy, report) in
            [("execve", ("SANDBOX_REPORT_KILLS", "1")), ("execve=EPERM", ("SANDBOX_REPORT_COUNTS", "errno"))]
        {
            let args = ["-R", launcher.to_str().unwrap(), "--deny", policy, program.to_str().unwrap(), full_gate];
            let outcome = Run::new("setarch", &args).env(report.0, report.1).user(user).run();
            assert_eq!((outcome.signal(), outcome.stdout.as_str()), (Some(libc::SIGKILL), ""), "{outcome:#?}");
            let line = "sandboxify: killed: the program called execve from a copy of sandboxify's exec gate";
            assert!(outcome.stderr.starts_with(line), "{outcome:#?}");
        }
    }
}

/// The launcher's gate address (it prints nothing, even verbose: that is
/// the full program's): the address after the only `mov eax, 59 (execve);
/// syscall; ret` in its file, translated through its LOAD segments.
fn launcher_gate() -> u64 {
    let launcher = sandboxify();
    let bytes = std::fs::read(&launcher).unwrap();
    let pattern = b"\xb8\x3b\x00\x00\x00\x0f\x05\xc3";
    let found: Vec<usize> =
        bytes.windows(pattern.len()).enumerate().filter(|(_, w)| w == pattern).map(|(at, _)| at).collect();
    assert_eq!(found.len(), 1, "the gate's instructions are not unique in the launcher");
    let output = Command::new("readelf").args(["-lW"]).arg(&launcher).output().unwrap();
    let headers = String::from_utf8(output.stdout).unwrap();
    for line in headers.lines().filter(|line| line.trim_start().starts_with("LOAD")) {
        let fields: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .take(5)
            .map(|f| u64::from_str_radix(f.trim_start_matches("0x"), 16).unwrap())
            .collect();
        let (offset, address, size) = (fields[0], fields[1], fields[3]);
        if (offset..offset + size).contains(&(found[0] as u64)) {
            return address + (found[0] as u64 - offset) + 7;
        }
    }
    panic!("the gate is in no LOAD segment:\n{headers}");
}
