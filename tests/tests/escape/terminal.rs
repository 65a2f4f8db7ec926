//! A confined program types into the terminal it shares with its caller.

use std::path::{Path, PathBuf};

use sandbox_tests::{Run, USERS, library, sandboxify};

use crate::common::{Attempt, Policy, marker, patched};

const TIOCSTI: Attempt = Attempt::new("escape-tiocsti");

/// A confined program types a character into the terminal it shares with
/// its caller (`TIOCSTI`, which this kernel still allows: `legacy_tiocsti`
/// is 1), as it would type a command into the caller's shell after it
/// ends; also with the i386 call. Every policy refuses it with EIO, as a
/// kernel without legacy TIOCSTI would, and so does a sandbox asked only
/// for Landlock rules or namespaces. The terminal is a pseudo-terminal of
/// `script`'s.
#[test]
fn a_confined_program_cannot_type_into_its_callers_terminal() {
    let (dynamic, static_build) = (TIOCSTI.dynamic(), TIOCSTI.static_build());
    let library = library();
    let sandboxify = sandboxify();
    let (library, sandboxify) = (library.to_str().unwrap(), sandboxify.to_str().unwrap());
    let policy = Policy::deny("uname");
    let patched = patched(&dynamic, None);
    let attached = patched_attached(&dynamic, &policy);
    let (dynamic, static_build) = (dynamic.to_str().unwrap(), static_build.to_str().unwrap());
    for mode in ["ioctl", "i386"] {
        for user in USERS {
            let run = |command: &str| {
                let marker = marker();
                let command = format!("{command} {mode} {}", marker.display());
                let outcome = Run::new("script", &["-qec", &command, "/dev/null"]).user(user).run();
                (marker.exists(), outcome)
            };
            let (typed, outcome) = run(dynamic);
            assert!(typed, "the control did not type: {outcome:#?}");
            for command in [
                format!("env LD_PRELOAD={library} SECCOMP_SYSCALL_DENY=uname {dynamic}"),
                format!("env SECCOMP_SYSCALL_DENY=uname {}", patched.display()),
                attached.display().to_string(),
                format!("{sandboxify} --deny uname {dynamic}"),
                format!("{sandboxify} --deny uname {static_build}"),
                format!("{sandboxify} --preload --library {library} --deny uname {dynamic}"),
                format!("env LD_PRELOAD={library} SANDBOX_FS_RO=/ {dynamic}"),
                format!("{sandboxify} --fs-ro / {static_build}"),
                format!("{sandboxify} --unshare-net {static_build}"),
            ] {
                let (typed, outcome) = run(&command);
                assert!(!typed, "ESCAPED: {mode} via {command} as {user:?}: {outcome:#?}");
                assert_eq!(outcome.stdout.replace('\r', ""), "TIOCSTI: EIO\n", "{command} as {user:?}: {outcome:#?}");
            }
        }
    }
}

/// A patched copy of `program` with `policy` attached.
fn patched_attached(program: &Path, policy: &Policy) -> PathBuf {
    patched(program, Some(&policy.file_text()))
}
