//! A confined program drives an unconfined process of its own user (with
//! ptrace) into making a call the program may not make.

use std::fs;

use sandbox_tests::{Outcome, Run, USERS, User};

use crate::common::{Attempt, DENY_MKDIR, EVERY_PATH, Injection, Policy, marker, run_confined};

const PTRACE_OTHER: Attempt = Attempt::new("escape-ptrace-other");

/// Starts `sleep` as `user`, unconfined: a process the attempt may trace.
fn victim(user: User) -> std::process::Child {
    use std::os::unix::process::CommandExt;
    let mut command = std::process::Command::new("/usr/bin/sleep");
    command.arg("60").stdin(std::process::Stdio::null());
    if user == User::Nobody {
        command.uid(65534).gid(65534);
    }
    let child = command.spawn().unwrap();
    // Until sleep blocks in its call, its registers are not where the attempt expects.
    let stat = format!("/proc/{}/stat", child.id());
    for _ in 0..1000 {
        if fs::read_to_string(&stat).is_ok_and(|text| text.contains(") S ")) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child
}

/// Runs `escape-ptrace-other` against an unconfined victim of the same user.
fn drive_other(injection: Option<Injection>, policy: Policy, user: User) -> (bool, Outcome) {
    let mut victim = victim(user);
    let marker = marker();
    let pid = victim.id().to_string();
    let args = [pid.as_str(), marker.to_str().unwrap()];
    let outcome = match injection {
        None => Run::new(PTRACE_OTHER.dynamic(), &args).user(user).run(),
        Some(injection) => {
            let static_build = PTRACE_OTHER.static_build();
            run_confined(&PTRACE_OTHER.dynamic(), Some(&static_build), injection, policy, &args, user)
        }
    };
    let _ = victim.kill();
    let _ = victim.wait();
    (marker.exists(), outcome)
}

/// A confined program that may not ptrace cannot drive an unconfined
/// process of its user into doing what it may not: with ptrace denied, or
/// under an allow list that leaves it out, the attempt is killed. The
/// control: unconfined, the attempt makes the victim create the marker.
#[test]
fn an_unconfined_process_cannot_be_driven_without_ptrace() {
    for user in USERS {
        let (escaped, outcome) = drive_other(None, DENY_MKDIR, user);
        assert!(escaped, "control as {user:?}: {outcome:#?}");
        for policy in [Policy::deny("mkdir:ptrace"), Policy::allow_all_but("mkdir")] {
            for injection in EVERY_PATH {
                let (escaped, outcome) = drive_other(Some(injection), policy, user);
                assert!(!escaped, "ESCAPED via {injection:?} under {policy:?} as {user:?}: {outcome:#?}");
                outcome.assert_killed();
            }
        }
    }
}

/// Once a hole (fixed): under a deny list that does not name ptrace, the confined program
/// attaches to an unconfined process of the same user (no Yama on this
/// kernel) and makes it run the denied call: the filter binds only the
/// processes that inherit it.
#[test]
fn a_deny_list_does_not_let_the_program_drive_an_unconfined_process() {
    let mut escaped = Vec::new();
    for user in USERS {
        for injection in EVERY_PATH {
            let (made, outcome) = drive_other(Some(injection), DENY_MKDIR, user);
            if made {
                escaped.push(format!("{injection:?} as {user:?}: {:?}", outcome.stdout));
            }
        }
    }
    assert!(escaped.is_empty(), "escaped:\n{}", escaped.join("\n"));
}
