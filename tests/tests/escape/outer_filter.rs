//! An outer filter (a container runtime, or a hostile parent) that makes
//! the calls the sandbox needs fail, or fakes their success: the program
//! never runs.

use std::path::{Path, PathBuf};

use sandbox_tests::{Outcome, Run, USERS, User, compile, library, sandboxify};

use crate::common::Injection::{self, Attached, Patched, Preload, Sandboxify, SandboxifyPreload, SandboxifyStatic};
use crate::common::{marker, patched};

/// An outer filter (a container runtime, or a hostile parent) makes the
/// calls the sandbox needs fail: seccomp() with EPERM, EACCES or ENOSYS,
/// prctl(PR_SET_NO_NEW_PRIVS) with EPERM. The target, `mkdir MARKER` under a
/// deny list of mkdir, must never run: status 125, no marker.
#[test]
fn a_filter_that_cannot_be_installed_never_runs_the_program() {
    let wrapper = compile("outer-filter", &["-static"]);
    let seccomp = libc::SYS_seccomp.to_string();
    let prctl = libc::SYS_prctl.to_string();
    let refusals = [
        (libc::EPERM, seccomp.as_str()),
        (libc::EACCES, seccomp.as_str()),
        (libc::ENOSYS, seccomp.as_str()),
        (libc::EPERM, prctl.as_str()),
    ];
    let mkdir = Path::new("/usr/bin/mkdir");
    for (errno, calls) in refusals {
        for user in USERS {
            // The control: under the outer filter alone, the target runs.
            let marker = marker();
            let outcome = Run::new(&wrapper, &[&errno.to_string(), calls, "/usr/bin/mkdir", marker.to_str().unwrap()])
                .user(user)
                .run();
            assert!(marker.exists(), "control: {outcome:#?}");
            for injection in [Preload, Patched, Attached, Sandboxify, SandboxifyPreload] {
                let (marker, outcome) = outer_filtered(&wrapper, (errno, calls), None, injection, mkdir, user);
                assert!(!marker.exists(), "ESCAPED: {errno} on {calls} via {injection:?} as {user:?}: {outcome:#?}");
                assert_eq!(outcome.code(), Some(125), "{errno} on {calls} via {injection:?}: {outcome:#?}");
            }
        }
    }
}

/// Runs `target MARKER` under a deny list of mkdir through `injection`,
/// inside `outer-filter ERRNO CALLS` (answering the install probe with
/// `fake_probe`, if any).
fn outer_filtered(
    wrapper: &Path,
    outer: (i32, &str),
    fake_probe: Option<u16>,
    injection: Injection,
    target: &Path,
    user: User,
) -> (PathBuf, Outcome) {
    let marker = marker();
    let marker_arg = marker.to_str().unwrap().to_owned();
    let library = library();
    let sandboxify = sandboxify();
    let patched_target;
    let mut command: Vec<String> = Vec::new();
    let mut env: Vec<(&str, &str)> = vec![("SECCOMP_SYSCALL_DENY", "mkdir")];
    match injection {
        Preload => {
            env.push(("LD_PRELOAD", library.to_str().unwrap()));
            command.push(target.to_str().unwrap().to_owned());
        }
        Patched => {
            patched_target = patched(target, None);
            command.push(patched_target.to_str().unwrap().to_owned());
        }
        Attached => {
            env.clear();
            patched_target = patched(target, Some("deny mkdir"));
            command.push(patched_target.to_str().unwrap().to_owned());
        }
        Sandboxify | SandboxifyPreload => {
            env.clear();
            command.push(sandboxify.to_str().unwrap().to_owned());
            if injection == SandboxifyPreload {
                command.extend(["--preload".to_owned(), "--library".to_owned(), library.to_str().unwrap().to_owned()]);
            }
            command.extend(["--deny".to_owned(), "mkdir".to_owned(), target.to_str().unwrap().to_owned()]);
        }
        SandboxifyStatic => unreachable!("the target is dynamic"),
    }
    command.push(marker_arg);
    let probe = fake_probe.map(|answer| format!("--fake-probe={answer}"));
    let prefix = probe.into_iter().chain([outer.0.to_string(), outer.1.to_owned()]);
    let args: Vec<String> = prefix.chain(command).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut run = Run::new(wrapper, &args);
    for (key, value) in env {
        run = run.env(key, value);
    }
    (marker, run.user(user).run())
}

/// Runs `mkdir MARKER` under a deny list of mkdir on every path and for
/// every user, inside an outer filter that answers seccomp() with errno 0
/// (and the install probe with `fake_probe`, if any); returns every run
/// that did not stop with 125 or that made the marker.
fn runs_under_a_faked_install(fake_probe: Option<u16>) -> Vec<String> {
    let wrapper = compile("outer-filter", &["-static"]);
    let seccomp = libc::SYS_seccomp.to_string();
    let mkdir = Path::new("/usr/bin/mkdir");
    let mut escaped = Vec::new();
    for injection in [Preload, Patched, Attached, Sandboxify, SandboxifyPreload] {
        for user in USERS {
            let (marker, outcome) = outer_filtered(&wrapper, (0, &seccomp), fake_probe, injection, mkdir, user);
            if marker.exists() || outcome.code() != Some(125) {
                let (status, made) = (outcome.status, marker.exists());
                escaped.push(format!("{fake_probe:?} via {injection:?} as {user:?}: {status:?} marker {made}"));
            }
        }
    }
    escaped
}

/// Once a hole (fixed): an outer filter that answers seccomp() with SECCOMP_RET_ERRNO and
/// errno 0 makes the call return 0 without installing anything. The library
/// and sandboxify take that for success and run the program unconfined.
#[test]
fn a_faked_seccomp_success_never_runs_the_program() {
    let escaped = runs_under_a_faked_install(None);
    assert!(escaped.is_empty(), "ran unconfined:\n{}", escaped.join("\n"));
}

/// Once a hole (fixed): the same outer filter also answering the install
/// probe, `getpgrp(any, MARK)`, as the filter just installed would (3990,
/// when that answer was a constant), or with any other errno. The answers
/// are random now, set as the filter is installed: the fake cannot give
/// them, and the program never runs. Found by a red-team pass, whose
/// program installed such a filter from an IFUNC resolver under
/// `sandboxify --preload`'s guard.
#[test]
fn a_faked_probe_answer_never_runs_the_program() {
    let escaped: Vec<String> =
        [3990, 3991, 1, 4000].into_iter().flat_map(|answer| runs_under_a_faked_install(Some(answer))).collect();
    assert!(escaped.is_empty(), "ran unconfined:\n{}", escaped.join("\n"));
}
