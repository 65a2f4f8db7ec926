//! A confined program works on its own filters: it stacks a permissive
//! filter of its own, tries prctl and personality to switch the filters off
//! or change how its calls are seen, and traces a child of its own to
//! rewrite the child's calls or suspend its filters.

use sandbox_tests::{Run, sandboxify};

use crate::common::{
    Attempt, DENY_MKDIR, EVERY_PATH, Policy, assert_escapes_unconfined, assert_held, child_killed, killed, marker,
};

const OWN_FILTER: Attempt = Attempt { source: "escape-own-filter", flags: &["-pthread"] };
const PRCTL: Attempt = Attempt::new("escape-prctl");
const PTRACE: Attempt = Attempt::new("escape-ptrace");

/// A permissive filter of the program's own stacks on top and cannot loosen
/// anything; not even one that hands mkdir to the program's own listener,
/// which answers "continue": kill and errno take precedence over it.
#[test]
fn a_permissive_filter_of_its_own_changes_nothing() {
    for mode in ["allow", "allow-tsync", "notify"] {
        assert_escapes_unconfined(OWN_FILTER, Some(mode));
        assert_held(OWN_FILTER, Some(mode), &EVERY_PATH, &[DENY_MKDIR], |outcome| {
            killed(outcome) && outcome.stdout.starts_with("own filter: installed\n")
        });
        assert_held(OWN_FILTER, Some(mode), &EVERY_PATH, &[Policy::deny("mkdir=EPERM")], |outcome| {
            outcome.stdout == "own filter: installed\nmkdir: EPERM\n"
        });
    }
}

/// prctl and personality cannot switch the filter off or change how calls
/// are seen: no_new_privs cannot be unset, seccomp cannot be disabled or
/// switched to strict mode, a 32-bit personality changes no ABI.
#[test]
fn prctl_and_personality_tricks_change_nothing() {
    for (mode, says) in [
        ("no-new-privs-off", "prctl(PR_SET_NO_NEW_PRIVS, 0): EINVAL\nno_new_privs: 1\n"),
        ("seccomp-disabled", "prctl(PR_SET_SECCOMP, SECCOMP_MODE_DISABLED): EINVAL\n"),
        ("seccomp-strict", "prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT): EINVAL\n"),
        ("linux32", "personality(PER_LINUX32): ok\n"),
        ("personality-exec", "personality: ok\n"),
    ] {
        if mode != "seccomp-strict" {
            // Strict mode would kill mkdir itself: no control for it.
            assert_escapes_unconfined(PRCTL, Some(mode));
        }
        assert_held(PRCTL, Some(mode), &EVERY_PATH, &[DENY_MKDIR], |outcome| killed(outcome) && outcome.stdout == says);
    }
}

/// A tracer rewrites its child's allowed call into a denied one, at the
/// syscall-entry stop or at a seccomp stop the child asked for with a
/// SECCOMP_RET_TRACE filter of its own: the kernel checks the new call
/// against every filter. Suspending the filters (PTRACE_O_SUSPEND_SECCOMP)
/// is refused to a tracer that is itself confined, root included. With
/// ptrace denied as well, the child dies at PTRACE_TRACEME.
#[test]
fn ptrace_cannot_get_a_call_past_the_filter() {
    for mode in ["rewrite", "rewrite-seccomp", "suspend"] {
        assert_escapes_unconfined(PTRACE, Some(mode));
        assert_held(PTRACE, Some(mode), &EVERY_PATH, &[DENY_MKDIR], |outcome| {
            child_killed(outcome) && outcome.code() == Some(0)
        });
        assert_held(PTRACE, Some(mode), &EVERY_PATH, &[Policy::deny("mkdir:ptrace")], |outcome| {
            outcome.stdout == "child did not stop\n"
        });
    }
    let outcome =
        Run::new(sandboxify(), &["--deny", "mkdir", PTRACE.dynamic().to_str().unwrap(), "suspend", "/x"]).run();
    assert!(outcome.stdout.starts_with("PTRACE_SETOPTIONS(SUSPEND_SECCOMP): EPERM\n"), "{outcome:#?}");
    // Root, unconfined, may suspend: the refusal above is the filter's doing.
    let marker = marker();
    let outcome = Run::new(PTRACE.dynamic(), &["suspend", marker.to_str().unwrap()]).run();
    assert!(outcome.stdout.starts_with("PTRACE_SETOPTIONS(SUSPEND_SECCOMP): ok\n"), "{outcome:#?}");
}
