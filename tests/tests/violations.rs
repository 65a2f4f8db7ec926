//! Kills named: a program the library's policy kills says which call it
//! made, with its arguments, the entry or default that decided and what to
//! change, on one stderr line, and still dies by SIGSYS, whatever it does to
//! keep the signal from killing it. As root and as nobody.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use sandbox_tests::{Outcome, Run, USERS, User, artifact, compile, fresh_dir, library};

fn violate(how: &str, env: &[(&str, &str)], user: User) -> Outcome {
    let mut run = Run::new(compile("violate", &["-pthread"]), &[how]).preload().user(user);
    for (key, value) in env {
        run = run.env(key, value);
    }
    run.run()
}

/// A deny list under which no confined process can trace another: a
/// tracer could swallow the trap's signal, so only such policies report.
const DENY: &str = "uname:ptrace";

const DENY_LINE: &str = "libsandbox: the policy killed this process at uname(";
const DENY_REASON: &str = ") [x86_64 63]: SECCOMP_SYSCALL_DENY: uname; to allow uname, remove that entry\n";

/// One line naming uname under a deny list, and death by SIGSYS.
#[track_caller]
fn assert_reported_kill(outcome: &Outcome, reason: &str) {
    outcome.assert_killed();
    assert!(outcome.stderr.starts_with(DENY_LINE), "{outcome:#?}");
    assert!(outcome.stderr.ends_with(reason), "{outcome:#?}");
    assert_eq!(outcome.stderr.lines().count(), 1, "{outcome:#?}");
    assert!(!outcome.stdout.contains("survived"), "{outcome:#?}");
}

#[test]
fn a_deny_list_kill_names_the_call_the_entry_and_the_change() {
    for user in USERS {
        for how in ["plain", "thread", "ignore"] {
            let outcome = violate(how, &[("SECCOMP_SYSCALL_DENY", DENY)], user);
            assert_reported_kill(&outcome, DENY_REASON);
        }
    }
}

#[test]
fn a_policy_that_lets_ptrace_run_keeps_the_kernels_kill() {
    // A tracer could swallow the trap's SIGSYS and keep the process alive
    // (the escape suite's `ptrace_cannot_get_a_call_past_the_filter`).
    for user in USERS {
        let outcome = violate("plain", &[("SECCOMP_SYSCALL_DENY", "uname")], user);
        outcome.assert_killed();
        assert_eq!(outcome.stderr, "", "{outcome:#?}");
    }
}

#[test]
fn with_sigsys_blocked_the_kill_is_the_kernels_plain_one() {
    // The kernel forces a trapped signal that is blocked: it restores the
    // default action, and the handler never runs.
    for user in USERS {
        let outcome = violate("block", &[("SECCOMP_SYSCALL_DENY", DENY)], user);
        outcome.assert_killed();
        assert_eq!((outcome.stdout.as_str(), outcome.stderr.as_str()), ("", ""), "{outcome:#?}");
    }
}

#[test]
fn an_allow_list_kill_says_what_to_add() {
    let list = "read:write:exit_group:brk:mmap:munmap:mprotect:rt_sigaction:rt_sigprocmask:close:\
                newfstatat:fstat:openat:getrandom:set_robust_list:rseq:prlimit64";
    for user in USERS {
        let outcome = violate("plain", &[("SECCOMP_SYSCALL_ALLOW", list)], user);
        outcome.assert_killed();
        assert!(
            outcome
                .stderr
                .ends_with(") [x86_64 63]: no allow entry names it; to allow it, add uname to the allow list\n"),
            "{outcome:#?}"
        );
    }
}

#[test]
fn a_program_cannot_keep_the_signal_from_killing_it() {
    // Its own SIGSYS handler: sigaction says it worked, and nothing changed.
    for user in USERS {
        let outcome = violate("handler", &[("SECCOMP_SYSCALL_DENY", DENY)], user);
        assert_eq!(outcome.stdout, "sigaction: 0\n", "{outcome:#?}");
        assert_reported_kill(&outcome, DENY_REASON);
    }
}

#[test]
fn a_child_after_fork_is_named_and_killed_alone() {
    for user in USERS {
        let outcome = violate("fork", &[("SECCOMP_SYSCALL_DENY", DENY)], user);
        outcome.assert_success();
        assert_eq!(outcome.stdout, format!("child: signal {}\n", libc::SIGSYS), "{outcome:#?}");
        assert!(outcome.stderr.starts_with(DENY_LINE) && outcome.stderr.ends_with(DENY_REASON), "{outcome:#?}");
    }
}

#[test]
fn an_i386_call_is_named_with_its_abi() {
    for user in USERS {
        let outcome = violate("int80", &[("SECCOMP_SYSCALL_DENY", DENY)], user);
        outcome.assert_killed();
        assert!(outcome.stderr.contains("at uname(0x0) [i386 122]: SECCOMP_SYSCALL_DENY: uname"), "{outcome:#?}");
    }
}

#[test]
fn a_patched_binary_names_its_kills_with_no_environment() {
    let dir = fresh_dir("violations-patched");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    let program = dir.join("violate");
    fs::copy(compile("violate", &["-pthread"]), &program).unwrap();
    let library = library();
    let helper = |args: &[&str]| Run::new(artifact("patchelf-helper"), args).run().assert_success().stdout.clone();
    let path = program.to_str().unwrap();
    helper(&["--add-needed", library.to_str().unwrap(), "--policy", "deny uname:ptrace", path]);
    for user in USERS {
        let outcome = Run::new(&program, &["plain"]).user(user).run();
        outcome.assert_killed();
        assert!(outcome.stderr.contains(") [x86_64 63]: attached policy: attached policy:1: uname"), "{outcome:#?}");
    }
}

#[test]
fn after_exec_the_kill_is_the_kernels_plain_one() {
    // The exec'd image has no handler: the trap ends it by SIGSYS unexplained.
    for user in USERS {
        let outcome =
            Run::new("/bin/sh", &["-c", "exec uname"]).preload().env("SECCOMP_SYSCALL_DENY", DENY).user(user).run();
        outcome.assert_killed();
        assert_eq!(outcome.stderr, "", "{outcome:#?}");
    }
}
