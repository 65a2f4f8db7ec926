//! libsandbox.so under LD_PRELOAD (and DT_NEEDED), on real programs and the
//! real kernel, as root and as nobody.

use std::process::Command;

use sandbox_tests::{Outcome, Run, USERS, User, compile, fresh_dir, library, privileged_copy};

/// The minimal allow list for `uname.c` from the library's apply point on
/// Debian 12: printf checks stdout with newfstatat and writes it with write.
const UNAME_MINIMAL: [&str; 4] = ["exit_group", "newfstatat", "uname", "write"];

fn uname() -> std::path::PathBuf {
    compile("uname", &[])
}

fn under_library(program: impl AsRef<std::ffi::OsStr>, args: &[&str], env: &[(&str, &str)], user: User) -> Outcome {
    let mut run = Run::new(program, args).preload().user(user);
    for (key, value) in env {
        run = run.env(key, value);
    }
    run.run()
}

#[test]
fn deny_list_kills_the_process() {
    for user in USERS {
        let outcome = under_library(uname(), &[], &[("SECCOMP_SYSCALL_DENY", "uname")], user);
        outcome.assert_killed();
        assert_eq!(outcome.stdout, "", "{user:?}");
        assert_eq!(outcome.stderr, "", "silent: {user:?}");
    }
}

#[test]
fn without_a_policy_the_library_does_nothing() {
    for user in USERS {
        let outcome = under_library(uname(), &[], &[], user);
        outcome.assert_success();
        assert_eq!(outcome.stdout, "Linux\n");
        assert_eq!(outcome.stderr, "");
        let probe = under_library(compile("env-probe", &[]), &[], &[], user);
        assert!(probe.stdout.contains("parent: Seccomp:\t0"), "{probe:#?}");
    }
}

#[test]
fn minimal_allow_list_runs_and_every_entry_is_needed() {
    for user in USERS {
        let outcome = under_library(uname(), &[], &[("SECCOMP_SYSCALL_ALLOW", &UNAME_MINIMAL.join(":"))], user);
        outcome.assert_success();
        assert_eq!(outcome.stdout, "Linux\n");
        for left_out in UNAME_MINIMAL {
            let fewer: Vec<&str> = UNAME_MINIMAL.iter().copied().filter(|&name| name != left_out).collect();
            let outcome = under_library(uname(), &[], &[("SECCOMP_SYSCALL_ALLOW", &fewer.join(":"))], user);
            outcome.assert_killed();
        }
    }
}

#[test]
fn allow_minus_deny() {
    let allow = UNAME_MINIMAL.join(":");
    let outcome = under_library(
        uname(),
        &[],
        &[("SECCOMP_SYSCALL_ALLOW", &allow), ("SECCOMP_SYSCALL_DENY", "uname")],
        User::Nobody,
    );
    outcome.assert_killed();
}

#[test]
fn errno_actions_fail_the_call_only() {
    let outcome = under_library(uname(), &[], &[("SECCOMP_SYSCALL_DENY", "uname=ENETDOWN")], User::Nobody);
    outcome.assert_code(1);
    assert_eq!(outcome.stdout, "uname: Network is down\n");
}

#[test]
fn exec_is_stopped_in_a_real_shell() {
    for user in USERS {
        let outcome = under_library(
            "/bin/bash",
            &["-c", "echo first; exec /usr/bin/echo second"],
            &[("SECCOMP_SYSCALL_DENY", "execve")],
            user,
        );
        outcome.assert_killed();
        assert_eq!(outcome.stdout, "first\n");
    }
}

#[test]
fn log_mode_lets_an_empty_allow_list_run() {
    for user in USERS {
        let env = [("SECCOMP_SYSCALL_ALLOW", ""), ("SECCOMP_DEFAULT_ACTION", "log")];
        let outcome = under_library(compile("env-probe", &[]), &[], &env, user);
        outcome.assert_success();
        assert!(outcome.stdout.contains("parent: Seccomp:\t2"), "{outcome:#?}");
        assert!(outcome.stdout.contains("child: Seccomp:\t2"), "{outcome:#?}");
        // Every call was a violation, reported by name (tests/tests/learn.rs checks the report).
        assert!(outcome.stderr.starts_with("libsandbox: permissive mode: "), "{}", outcome.stderr);
    }
}

#[test]
fn policy_variables_are_invisible_to_the_program_and_its_children() {
    for user in USERS {
        let env = [
            ("SECCOMP_SYSCALL_DENY", "uname"),
            ("SECCOMP_SYSCALL_ALLOW", "uname:exit_group"),
            ("SECCOMP_DEFAULT_ACTION", "log"),
            ("SANDBOX_VERBOSE", "0"),
        ];
        let outcome = under_library(compile("env-probe", &[]), &[], &env, user);
        outcome.assert_success();
        assert_eq!(outcome.stdout, "parent: Seccomp:\t2\nchild: Seccomp:\t2\n", "{user:?}");
    }
}

#[test]
fn int80_execve_is_stopped() {
    let program = compile("int80-execve", &[]);
    // Without the sandbox the door is open: the test is meaningful.
    let open = Run::new(&program, &[]).run();
    assert_eq!(open.stdout, "escaped\n", "{open:#?}");
    for user in USERS {
        let outcome = under_library(&program, &[], &[("SECCOMP_SYSCALL_DENY", "execve")], user);
        outcome.assert_killed();
        assert_eq!(outcome.stdout, "");
    }
}

/// The library's constructor runs before any other (`DF_1_INITFIRST`), so
/// a thread that a linked library's constructor starts is confined from
/// its first instruction.
#[test]
fn a_thread_started_by_a_constructor_is_confined() {
    let thread_library = compile("early-thread-lib", &["-shared", "-fPIC", "-pthread"]);
    let program = compile("early-thread", &[thread_library.to_str().unwrap(), "-pthread"]);
    for user in USERS {
        let outcome = under_library(&program, &[], &[("SECCOMP_SYSCALL_DENY", "uname")], user);
        outcome.assert_killed();
        assert_eq!(outcome.stdout, "");
        let outcome = under_library(&program, &[], &[("SECCOMP_SYSCALL_DENY", "ptrace")], user);
        outcome.assert_success();
        assert_eq!(outcome.stdout, "thread Seccomp:\t2\nthread survived uname\n");
    }
}

/// Once a bug: loaded with dlopen, the library's early phase read the
/// environment on the initial stack, which libc leaves behind once a setenv
/// adds a variable, and installed the policy it found there (here a deny of
/// uname the program has replaced by a deny of ptrace) on top of the
/// current one. Only the current environment counts.
#[test]
fn a_library_loaded_later_reads_the_current_environment() {
    let program = compile("late-load", &["-pthread"]);
    let library = library();
    for user in USERS {
        let args = [library.to_str().unwrap(), "ADDED=1", "SECCOMP_SYSCALL_DENY=ptrace"];
        let outcome = Run::new(&program, &args).env("SECCOMP_SYSCALL_DENY", "uname").user(user).run();
        outcome.assert_success();
        assert_eq!(outcome.stdout, "loaded\nthread survived uname\n");
    }
}

/// Another object flagged DF_1_INITFIRST would run its constructor before
/// the library's: when the policy waits for the constructor (an allow
/// list), the library refuses before any constructor runs; a deny list,
/// in force before, lets the program run.
#[test]
fn another_object_initialised_first_is_refused_unless_the_policy_is_in_force() {
    let first = compile("escape-initfirst-lib", &["-shared", "-fPIC", "-Wl,-z,initfirst"]);
    let program = compile("escape-initfirst", &[first.to_str().unwrap()]);
    for user in USERS {
        let dir = fresh_dir(&format!("initfirst-{user:?}"));
        let marker = dir.join("marker");
        let marker_arg = [marker.to_str().unwrap()];
        let outcome = under_library(&program, &marker_arg, &[("SECCOMP_SYSCALL_ALLOW", "@system-service")], user);
        outcome.assert_code(125);
        assert_eq!(outcome.stdout, "");
        let expected = format!(
            "libsandbox: {} asks to be initialised first (DF_1_INITFIRST), so its code would run before the filter; \
             sandboxify without --preload confines it\n",
            first.display()
        );
        assert_eq!(outcome.stderr, expected);
        assert!(!marker.exists(), "its constructor ran");
        let outcome = under_library(&program, &marker_arg, &[("SECCOMP_SYSCALL_DENY", "uname")], user);
        outcome.assert_success();
        assert_eq!(outcome.stdout, "main ran\n");
        assert!(marker.exists());
    }
}

/// A program that loads the library itself with dlopen has threads running
/// before the filter: every one is confined (TSYNC).
#[test]
fn a_thread_started_before_the_filter_is_confined() {
    let program = compile("late-load", &["-pthread"]);
    let library = library();
    for user in USERS {
        let run = |variable: &str| Run::new(&program, &[library.to_str().unwrap(), variable]).user(user).run();
        let outcome = run("SECCOMP_SYSCALL_DENY=uname");
        outcome.assert_killed();
        assert_eq!(outcome.stdout, "loaded\n", "{outcome:#?}");
        let outcome = run("SECCOMP_SYSCALL_DENY=ptrace");
        outcome.assert_success();
        assert_eq!(outcome.stdout, "loaded\nthread survived uname\n");
    }
}

#[test]
fn a_program_that_never_calls_libc_start_main_is_confined_by_the_constructor() {
    let program = compile("custom-start", &["-nostartfiles"]);
    assert_eq!(Run::new(&program, &[]).run().stdout, "uname worked\n");
    for user in USERS {
        under_library(&program, &[], &[("SECCOMP_SYSCALL_DENY", "uname")], user).assert_killed();
    }
}

#[test]
fn verbose_prints_the_installed_policy_once() {
    let env = [("SECCOMP_SYSCALL_DENY", "uname=EPERM:ptrace"), ("SANDBOX_VERBOSE", "1")];
    let outcome = under_library(compile("env-probe", &[]), &[], &env, User::Nobody);
    outcome.assert_success();
    let lines: Vec<&str> = outcome.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{outcome:#?}");
    assert!(
        lines[0].starts_with(
            "libsandbox: SECCOMP_SYSCALL_DENY=io_uring_enter=ENOSYS:io_uring_register=ENOSYS:io_uring_setup=ENOSYS:\
             ioctl(arg1 == 0x5412)=EIO:ioctl(arg1 == 0x541c)=EPERM:oldolduname=EPERM:olduname=EPERM:pidfd_getfd=kill:process_vm_readv=kill:process_vm_writev=kill:\
             ptrace=kill:uname=EPERM SECCOMP_DEFAULT_ACTION=kill SANDBOX_EXACT=1 ("
        ),
        "{}",
        lines[0]
    );
    // A deny list allows every start-up call: it goes in while ld.so loads the library.
    assert!(
        lines[0].ends_with("BPF instructions installed as ld.so loaded the library, before any constructor)"),
        "{}",
        lines[0]
    );
}

/// Every row of the README's table of bad input: status 125, nothing on
/// stdout (the program never ran), one line on stderr naming the variable
/// and the offending token.
#[test]
fn bad_input_stops_the_program_before_it_runs() {
    let long_entry = "x".repeat(300);
    let long_list = "read:".repeat(14000);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("SECCOMP_SYSCALL_ALLOW", "read:unmae")],
            r#"SECCOMP_SYSCALL_ALLOW: unknown system call "unmae" (did you mean "uname"?)"#,
        ),
        (vec![("SECCOMP_SYSCALL_DENY", "frobnicate")], r#"SECCOMP_SYSCALL_DENY: unknown system call "frobnicate""#),
        (
            vec![("SECCOMP_SYSCALL_DENY", "uname"), ("SECCOMP_DEFAULT_ACTION", "kil")],
            r#"SECCOMP_DEFAULT_ACTION: unknown action "kil""#,
        ),
        (
            vec![("SECCOMP_SYSCALL_DENY", "uname"), ("SECCOMP_DEFAULT_ACTION", "allow")],
            r#"SECCOMP_DEFAULT_ACTION: "allow" would let every violation run"#,
        ),
        (vec![("SECCOMP_SYSCALL_DENY", "uname=EFOO")], r#"SECCOMP_SYSCALL_DENY: unknown action "EFOO""#),
        (
            vec![("SECCOMP_SYSCALL_DENY", "uname=")],
            r#"SECCOMP_SYSCALL_DENY: malformed entry "uname=": no action after ="#,
        ),
        (vec![("SECCOMP_SYSCALL_DENY", "Uname")], r#"SECCOMP_SYSCALL_DENY: malformed entry "Uname""#),
        (vec![("SECCOMP_SYSCALL_ALLOW", "read write")], r#"SECCOMP_SYSCALL_ALLOW: malformed entry "read write""#),
        (
            vec![("SECCOMP_SYSCALL_ALLOW", &long_entry)],
            "SECCOMP_SYSCALL_ALLOW: entry of 300 bytes is longer than the limit of 256",
        ),
        (
            vec![("SECCOMP_SYSCALL_ALLOW", &long_list)],
            "SECCOMP_SYSCALL_ALLOW: value of 70000 bytes is longer than the limit of 65536",
        ),
        (
            vec![("SECCOMP_SYSCALL_DENNY", "uname")],
            "unknown variable SECCOMP_SYSCALL_DENNY (did you mean SECCOMP_SYSCALL_DENY?)",
        ),
        (
            vec![("SANDBOX_NETCONNECT", "443")],
            "unknown variable SANDBOX_NETCONNECT (did you mean SANDBOX_NET_CONNECT?)",
        ),
        (vec![("SECCOMP_DEFAULT_ACTION", "bogus")], r#"SECCOMP_DEFAULT_ACTION: unknown action "bogus""#),
        (
            vec![("SECCOMP_SYSCALL_ALLOW", "@system-servce")],
            r#"SECCOMP_SYSCALL_ALLOW: unknown group "@system-servce" (did you mean "@system-service"?)"#,
        ),
        (
            vec![("SECCOMP_SYSCALL_DENY", "execve(arg0 == 4096)")],
            r#"SECCOMP_SYSCALL_DENY: bad condition in "execve(arg0 == 4096)": arg0 of execve is a pointer"#,
        ),
        (
            vec![("SECCOMP_SYSCALL_DENY", "socket(arg0 == AF_INETT)")],
            r#"SECCOMP_SYSCALL_DENY: bad condition in "socket(arg0 == AF_INETT)": unknown constant "AF_INETT" (did you mean "AF_INET"?)"#,
        ),
        (vec![("SECCOMP_SYSCALL_DENY", "socket(arg3 == 1)")], "socket takes 3 arguments: there is no arg3"),
        (vec![("SECCOMP_SYSCALL_DENY", "socket(arg0 = 1)")], "expected argN OP VALUE or argN & MASK == VALUE"),
        (
            vec![("SECCOMP_SYSCALL_DENY", "uname"), ("SANDBOX_EXACT", "yes")],
            r#"SANDBOX_EXACT: malformed entry "yes": expected 0 or 1"#,
        ),
    ];
    for user in USERS {
        for (env, message) in &cases {
            let outcome = under_library(uname(), &[], env, user);
            assert_eq!(outcome.code(), Some(125), "{env:?}: {outcome:#?}");
            assert_eq!(outcome.stdout, "", "{env:?}");
            assert_eq!(outcome.stderr.lines().count(), 1, "{env:?}: {}", outcome.stderr);
            let line = outcome.stderr.trim_end();
            assert!(line.starts_with("libsandbox: ") && line.contains(message), "{env:?}: {}", outcome.stderr);
        }
    }
}

#[test]
fn non_utf8_and_duplicate_variables_are_refused() {
    use std::os::unix::ffi::OsStrExt;
    let value = std::ffi::OsStr::from_bytes(b"una\xffme");
    let outcome = Run::new(uname(), &[]).preload().env("SECCOMP_SYSCALL_DENY", value).run();
    outcome.assert_code(125);
    assert_eq!(outcome.stderr, "libsandbox: SECCOMP_SYSCALL_DENY: value is not valid UTF-8\n");
    // Static, so that the preload applies to the program only.
    let exec_with_env = compile("exec-with-env", &["-static"]);
    let preload = format!("LD_PRELOAD={}", library().display());
    let program = uname();
    let outcome = Run::new(
        &exec_with_env,
        &[program.to_str().unwrap(), &preload, "SECCOMP_SYSCALL_DENY=ptrace", "SECCOMP_SYSCALL_DENY=uname"],
    )
    .run();
    outcome.assert_code(125);
    assert_eq!(outcome.stderr, "libsandbox: SECCOMP_SYSCALL_DENY is set twice in the environment\n");
}

#[test]
fn seccomp_refused_or_unavailable_stops_the_program() {
    // Static, so that the preload applies to the program only.
    let wrapper = compile("outer-filter", &["-static"]);
    for (errno, message) in [
        (libc::EACCES, "libsandbox: the kernel refused the seccomp filter: EACCES (Permission denied)\n"),
        (libc::ENOSYS, "libsandbox: seccomp filtering is not available: ENOSYS (Function not implemented)\n"),
    ] {
        for user in USERS {
            let seccomp = libc::SYS_seccomp.to_string();
            let outcome = Run::new(&wrapper, &[&errno.to_string(), &seccomp, uname().to_str().unwrap()])
                .preload()
                .env("SECCOMP_SYSCALL_DENY", "uname")
                .user(user)
                .run();
            outcome.assert_code(125);
            assert_eq!(outcome.stdout, "");
            assert_eq!(outcome.stderr, message);
        }
    }
}

#[test]
fn a_setuid_program_refuses_a_policy_from_its_unprivileged_caller() {
    // The library exports nothing, so only --no-as-needed keeps it linked.
    let built = compile("setuid-drop", &["-Wl,--no-as-needed", library().to_str().unwrap()]);
    let program = privileged_copy(&built, "setuid-drop-root", 0o4755);
    // Without a policy the program runs as designed: root, then dropped.
    let outcome = Run::new(&program, &[]).user(User::Nobody).run();
    outcome.assert_success();
    assert_eq!(outcome.stdout, "euid before 0\neuid after 65534\n");
    // A policy from the unprivileged caller is refused outright.
    for env in [
        ("SECCOMP_SYSCALL_DENY", "setuid=EPERM"),
        ("SECCOMP_SYSCALL_DENY", "uname"),
        ("SANDBOX_REFUSE_I386", "1"),
        ("SANDBOX_REFUSE_I386", "yes"),
    ] {
        let outcome = Run::new(&program, &[]).env(env.0, env.1).user(User::Nobody).run();
        outcome.assert_code(125);
        assert_eq!(outcome.stdout, "");
        assert!(outcome.stderr.contains("refusing a policy from the environment of a setuid"), "{outcome:#?}");
    }
    // A switch set off asks for nothing: the program runs as designed.
    let outcome = Run::new(&program, &[]).env("SANDBOX_REFUSE_I386", "0").user(User::Nobody).run();
    outcome.assert_success();
    assert_eq!(outcome.stdout, "euid before 0\neuid after 65534\n");
}

/// LD_PRELOAD cannot reach a static program: it runs unconfined, which is
/// why sandboxify exists. Kept as a test so the documentation stays honest.
#[test]
fn static_programs_are_out_of_reach_of_ld_preload() {
    let program = compile("uname", &["-static"]);
    let outcome = under_library(&program, &[], &[("SECCOMP_SYSCALL_DENY", "uname")], User::Nobody);
    outcome.assert_success();
    assert_eq!(outcome.stdout, "Linux\n");
}

/// The early phase runs from the library's IFUNC relocation, which must be
/// the last one ld.so applies, after every call into libc is bound.
#[test]
fn the_early_hook_is_the_last_relocation_and_everything_is_bound_first() {
    let output = Command::new("readelf").args(["-rW", "-d"]).arg(library()).output().unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("(FLAGS)              BIND_NOW"), "{text}");
    let relocations: Vec<&str> = text.lines().filter(|line| line.contains("R_X86_64_")).collect();
    let irelative: Vec<&&str> = relocations.iter().filter(|line| line.contains("R_X86_64_IRELATIVE")).collect();
    assert_eq!(irelative.len(), 1, "{text}");
    assert!(relocations.last().unwrap().contains("R_X86_64_IRELATIVE"), "{text}");
}

#[test]
fn the_library_exports_nothing() {
    let output = Command::new("nm").args(["-D", "--defined-only"]).arg(library()).output().unwrap();
    let names: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| line.split_whitespace().nth(2).map(str::to_owned))
        .collect();
    assert_eq!(names, [] as [String; 0]);
    let output = Command::new("readelf").arg("-d").arg(library()).output().unwrap();
    let dynamic = String::from_utf8(output.stdout).unwrap();
    let needed: Vec<&str> = dynamic.lines().filter(|line| line.contains("(NEEDED)")).collect();
    assert_eq!(needed.len(), 1, "{dynamic}");
    assert!(needed[0].contains("[libc.so.6]"), "{dynamic}");
}
