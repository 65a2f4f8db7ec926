//! The launcher (`sandboxify`, launcher/) runs the common forms without
//! libc and hands everything else to the full program (`sandboxify-full`):
//! both must behave alike, the launcher alone must confine exactly as the
//! full program does, and without the full program nothing may run
//! unconfined.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

use sandbox_tests::{Outcome, Run, USERS, User, artifact, compile, fresh_dir, sandboxify};

/// What the static glibc `uname.c` calls from its first instruction on
/// (no execve: the launcher's own goes through its gate).
const GLIBC_STATIC_MINIMAL: &str = "arch_prctl:brk:exit_group:getrandom:mprotect:newfstatat:prlimit64:readlink:rseq:set_robust_list:set_tid_address:uname:write";

/// A copy of the launcher alone in a directory of its own, with no
/// `sandboxify-full` beside it: what it runs, it runs by itself.
fn launcher_alone() -> PathBuf {
    let dir = fresh_dir("launcher-alone");
    let copy = dir.join("sandboxify");
    fs::copy(sandboxify(), &copy).unwrap();
    copy
}

/// Variables set for a run.
type Environment = Vec<(&'static str, &'static str)>;

/// The command lines both programs are compared on, with the environment
/// each is given: common forms (run by the launcher) and others (handed over).
fn cases() -> Vec<(Vec<&'static str>, Environment)> {
    // A script whose interpreter is missing: its exec fails once the filter is in.
    let script = fresh_dir("launcher-script").join("orphan");
    fs::write(&script, "#!/nonexistent/interpreter\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let script: &'static str = script.into_os_string().into_string().unwrap().leak();
    // Makes uname through int 0x80 and prints "survived" if it runs.
    let violate: &'static str =
        compile("violate", &["-static", "-pthread"]).into_os_string().into_string().unwrap().leak();
    vec![
        (vec![violate, "int80"], vec![("SANDBOX_REFUSE_I386", "1")]),
        (vec!["--deny", "ptrace", violate, "int80"], vec![("SANDBOX_REFUSE_I386", "1")]),
        (vec![violate, "int80"], vec![("SECCOMP_SYSCALL_DENY", "ptrace"), ("SANDBOX_REFUSE_I386", "0")]),
        (vec!["--refuse-i386", violate, "int80"], vec![]),
        (vec!["--deny", "uname", script], vec![]),
        (vec!["--allow", "read", script], vec![]),
        (vec!["--deny", "execve", "uname", "-s"], vec![]),
        (vec!["--deny", "execve", "sh", "-c", "exec true"], vec![]),
        (vec![script], vec![]),
        (vec!["true"], vec![]),
        (vec!["--deny", "uname", "uname"], vec![]),
        (vec!["--deny", "uname=EPERM", "uname"], vec![]),
        (vec!["--", "uname", "-s"], vec![("SECCOMP_SYSCALL_DENY", "uname=ENETDOWN")]),
        (vec!["env"], vec![("SECCOMP_SYSCALL_DENY", "uname"), ("SANDBOX_EXACT", "1")]),
        (vec!["--deny", "ptrace", "sh", "-c", "cat /proc/self/status | grep -E '^(Seccomp|NoNewPrivs)'"], vec![]),
        (vec!["--deny", "uname", "/bin/sh", "-c", "uname; echo survived"], vec![]),
        (vec!["--allow", "read", "true"], vec![]),
        (vec!["--deny", "nonsense", "true"], vec![]),
        (vec!["--deny", "uname", "no-such-program"], vec![]),
        (vec!["--deny", "uname", "/etc/passwd"], vec![]),
        (vec!["--deny", "uname", "/tmp"], vec![]),
        (vec!["no-such-program"], vec![]),
        (vec!["/etc/passwd"], vec![]),
        (vec!["/tmp"], vec![]),
        (vec!["true"], vec![("PATH", "/nonexistent:/etc/passwd:/tmp:/usr/bin:/bin")]),
        (vec!["--deny", "uname", "true"], vec![("SECCOMP_SYSCALL_DNEY", "uname")]),
        (vec!["--deny", "uname", "true"], vec![("SANDBOX_VERBOSE", "1")]),
        (vec!["--deny", "uname", "--deny", "read", "true"], vec![]),
        (vec!["--exact", "--deny", "uname", "uname"], vec![]),
        (vec!["true"], vec![("SECCOMP_SYSCALL_ALLOW", "read"), ("SECCOMP_POLICY_FILE", "/nonexistent")]),
    ]
}

fn run(program: &PathBuf, args: &[&str], env: &[(&str, &str)], user: User) -> Outcome {
    env.iter().fold(Run::new(program, args), |run, (key, value)| run.env(key, value)).user(user).run()
}

/// What is compared: how it ended and what it printed (the full program
/// names itself as the launcher does, `sandboxify`).
fn summary(outcome: &Outcome) -> (Option<i32>, Option<i32>, String, String) {
    (outcome.code(), outcome.signal(), outcome.stdout.clone(), outcome.stderr.clone())
}

#[test]
fn the_launcher_and_the_full_program_agree() {
    let full = artifact("sandboxify-full");
    for user in USERS {
        for (args, env) in cases() {
            let launched = run(&sandboxify(), &args, &env, user);
            let full_run = {
                // argv[0] as the launcher passes it on: the full program's messages say `sandboxify`.
                let mut run = Run::new(&full, &args);
                for (key, value) in &env {
                    run = run.env(key, value);
                }
                run.user(user).run()
            };
            assert_eq!(summary(&launched), summary(&full_run), "{user:?} {env:?} {args:?}");
        }
    }
}

#[test]
fn the_launcher_alone_confines_the_common_forms() {
    let launcher = launcher_alone();
    let static_uname = compile("uname", &["-static"]);
    let static_uname = static_uname.to_str().unwrap();
    for user in USERS {
        run(&launcher, &["--deny", "uname", "uname"], &[], user).assert_killed();
        run(&launcher, &["--deny", "uname", static_uname], &[], user).assert_killed();
        run(&launcher, &["uname"], &[("SECCOMP_SYSCALL_DENY", "uname")], user).assert_killed();
        run(&launcher, &["--deny", "ptrace:uname", "--", static_uname], &[], user).assert_killed();
        let outcome = run(&launcher, &["--deny", "uname=EPERM", "uname"], &[], user);
        outcome.assert_code(1);
        assert!(outcome.stderr.contains("Operation not permitted"), "{outcome:#?}");
        // An allow list that lets exec through (no gate needed): it runs,
        // and what it leaves out kills.
        let outcome = run(&launcher, &["--allow", "@system-service", "sh", "-c", "echo confined"], &[], user);
        outcome.assert_success();
        assert_eq!(outcome.stdout, "confined\n");
        let outcome = run(&launcher, &["--allow", "@system-service", "--deny", "uname", "uname"], &[], user);
        outcome.assert_killed();
        // i386 refused, by the variable alone or with a list.
        let violate = compile("violate", &["-static", "-pthread"]);
        let violate = violate.to_str().unwrap();
        run(&launcher, &[violate, "int80"], &[("SANDBOX_REFUSE_I386", "1")], user).assert_killed();
        run(&launcher, &["--deny", "ptrace", violate, "int80"], &[("SANDBOX_REFUSE_I386", "1")], user).assert_killed();
        let outcome = run(&launcher, &["--deny", "ptrace", violate, "int80"], &[], user);
        assert_eq!(outcome.stdout, "survived\n", "{user:?}");
        // A policy that stops exec: the launcher's own goes through its gate,
        // and no other does.
        let outcome = run(&launcher, &["--allow", GLIBC_STATIC_MINIMAL, static_uname], &[], user);
        outcome.assert_success();
        assert_eq!(outcome.stdout, "Linux\n");
        run(&launcher, &["--deny", "execve", "sh", "-c", "exec true"], &[], user).assert_killed();
        let outcome = run(&launcher, &["--deny", "execve", "uname", "-s"], &[], user);
        outcome.assert_success();
        assert_eq!(outcome.stdout, "Linux\n");
        // The filter is in force in PROGRAM, once, with no_new_privs, and
        // the policy's variables are gone from its environment.
        let status =
            "grep -E '^(Seccomp|Seccomp_filters|NoNewPrivs):' /proc/self/status; env | grep -c SECCOMP_ || true";
        let outcome = run(&launcher, &["sh", "-c", status], &[("SECCOMP_SYSCALL_DENY", "ptrace")], user);
        outcome.assert_success();
        assert_eq!(outcome.stdout, "NoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n0\n", "{user:?}");
        // No policy: PROGRAM runs as is, found in PATH (past a directory
        // that does not hold it) or by its path.
        let seccomp = "grep '^Seccomp:' /proc/self/status";
        let outcome = run(&launcher, &["sh", "-c", seccomp], &[("PATH", "/nonexistent:/usr/bin:/bin")], user);
        outcome.assert_success();
        assert_eq!(outcome.stdout, "Seccomp:\t0\n");
        let outcome = run(&launcher, &["/bin/sh", "-c", seccomp], &[], user);
        outcome.assert_success();
        assert_eq!(outcome.stdout, "Seccomp:\t0\n");
    }
}

/// An exec that fails once the gate has let it through (the gate's helper
/// is gone by then) is reported by the launcher under the filter: one line
/// naming the errno and status 126, or SIGSYS where the policy denies
/// `write`. A missing `#!` interpreter is found before and handed over.
#[test]
fn an_exec_that_fails_past_the_gate_is_reported_under_the_filter() {
    let dir = fresh_dir("launcher-late-failure");
    let script = dir.join("not-an-interpreter");
    fs::write(&script, "#!/etc/passwd\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let script = script.to_str().unwrap();
    for user in USERS {
        let outcome = run(&sandboxify(), &["--deny", "execve", script], &[], user);
        outcome.assert_code(126);
        assert_eq!(outcome.stderr, format!("sandboxify: {script}: the exec failed: EACCES\n"), "{user:?}");
        run(&sandboxify(), &["--allow", "read", script], &[], user).assert_killed();
    }
}

/// Whatever the launcher does not run itself, it hands over: without the
/// full program that fails with 125 and one line, and nothing runs.
#[test]
fn without_the_full_program_nothing_else_runs() {
    let launcher = launcher_alone();
    let marker = fresh_dir("launcher-marker").join("ran");
    let touch = format!("touch {}", marker.display());
    for user in USERS {
        for (args, env) in [
            (vec!["--deny", "nonsense", "sh", "-c", &touch], vec![]),
            (vec!["--deny", "uname", "sh", "-c", &touch], vec![("SANDBOX_FS_RO", "/")]),
            (vec!["--deny", "uname", "sh", "-c", &touch], vec![("SECCOMP_SYSCALL_DNEY", "uname")]),
            (vec!["--preload", "--deny", "uname", "sh", "-c", &touch], vec![]),
            (vec!["--deny", "uname", "--default-action", "log", "sh", "-c", &touch], vec![]),
            (vec!["--deny", "uname", "no-such-program"], vec![]),
            // Without a policy, an exec the kernel refuses is handed over too.
            (vec!["no-such-program"], vec![]),
            (vec!["/nonexistent/program"], vec![]),
            (vec!["/etc"], vec![]),
        ] {
            let outcome = run(&launcher, &args, &env, user);
            outcome.assert_code(125);
            let line = format!("sandboxify: cannot run the full program {}-full: ENOENT", launcher.display());
            assert_eq!(outcome.stderr.trim_end(), line, "{args:?}");
            assert!(!marker.exists(), "{args:?} ran PROGRAM");
        }
    }
}

/// The launcher is what keeps sandboxify's start-up short: a static
/// program with no libc (glibc's static start-up runs CPUID, which traps on
/// a VM); the full program is static too.
#[test]
fn the_launcher_has_no_libc_and_both_programs_are_static() {
    for program in [sandboxify(), artifact("sandboxify-full")] {
        let output = Command::new("readelf").args(["-lW"]).arg(&program).output().unwrap();
        let headers = String::from_utf8(output.stdout).unwrap();
        assert!(headers.contains("LOAD"), "{headers}");
        assert!(!headers.contains("INTERP"), "{} has a dynamic loader:\n{headers}", program.display());
        assert!(!headers.contains("DYNAMIC"), "{} has a dynamic section:\n{headers}", program.display());
    }
    let cpuid = |program: PathBuf| {
        let output = Command::new("objdump").args(["-d", "--no-show-raw-insn"]).arg(program).output().unwrap();
        String::from_utf8_lossy(&output.stdout).lines().filter(|line| line.trim_end().ends_with("cpuid")).count()
    };
    assert_eq!(cpuid(sandboxify()), 0, "the launcher runs CPUID: it has libc's start-up");
    assert!(cpuid(artifact("sandboxify-full")) > 0, "the check would not see glibc's start-up");
}
