//! Doors into exec: every call and every kind of child that can run another
//! program, a child in a new user namespace, and a program that sheds the
//! policy's environment and runs again. The filter follows every exec.

use crate::common::{
    Attempt, DENY_EXECVE, DENY_MKDIR, EVERY_PATH, Policy, assert_escapes_unconfined, assert_held, child_killed, killed,
};

const EXEC: Attempt = Attempt { source: "escape-exec", flags: &["-pthread"] };

const REEXEC: Attempt = Attempt::new("escape-reexec");

/// Every door into exec, with execve denied (which denies execveat too), or
/// left out of an allow list: nothing runs, whichever process makes the call.
#[test]
fn every_door_into_exec_is_shut() {
    let policies = [DENY_EXECVE, Policy::allow_all_but("execve")];
    for door in ["execve", "execveat", "fexecve", "thread"] {
        assert_escapes_unconfined(EXEC, Some(door));
        assert_held(EXEC, Some(door), &EVERY_PATH, &policies, killed);
    }
    for door in ["fork", "vfork", "posix_spawn", "system", "clone3-vfork", "clone3-clear-sighand", "clone3-pidfd"] {
        assert_escapes_unconfined(EXEC, Some(door));
        assert_held(EXEC, Some(door), &EVERY_PATH, &policies, child_killed);
    }
}

/// A child in a new user namespace has every capability there, and still
/// every filter of its parent.
#[test]
fn a_new_user_namespace_does_not_shed_the_filter() {
    assert_escapes_unconfined(EXEC, Some("clone3-newuser"));
    assert_held(EXEC, Some("clone3-newuser"), &EVERY_PATH, &[DENY_EXECVE], child_killed);
}

/// The program sheds the policy's environment (empty environment, `env -i`,
/// unsetenv, a static program that loads no library) and runs again: the
/// filter is inherited across exec, whatever the environment says.
#[test]
fn re_exec_without_the_environment_stays_confined() {
    let policies = [DENY_MKDIR, Policy::allow_all_but("mkdir")];
    for mode in ["empty-env", "env-i", "unsetenv", "busybox"] {
        assert_escapes_unconfined(REEXEC, Some(mode));
        assert_held(REEXEC, Some(mode), &EVERY_PATH, &policies, killed);
    }
}
