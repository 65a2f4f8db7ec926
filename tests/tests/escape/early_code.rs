//! Program code that runs before the library applies the policy: threads
//! started before the filter, code before `main` (a DT_PREINIT_ARRAY
//! function, library constructors, a library initialised first, a `_start`
//! of the program's own), IFUNC resolvers, the program's own audit library,
//! functions of its own that take the library's calls over, and such code
//! using the start-up calls that --preload's guard allows.

use std::path::PathBuf;

use sandbox_tests::{Outcome, Run, USERS, User, compile, library, sandboxify};

use crate::common::Injection::{self, Attached, Patched, Preload, Sandboxify, SandboxifyPreload};
use crate::common::{DENY_MKDIR, Policy, marker, run_confined};

/// A thread started by a linked library's constructor, on every path that
/// loads the library (the library's constructor runs first, so the thread
/// inherits the filter), and a thread a program starts before it loads the
/// library with dlopen (every thread is confined: TSYNC).
#[test]
fn a_thread_started_before_the_filter_is_confined() {
    let thread_library = compile("early-thread-lib", &["-shared", "-fPIC", "-pthread"]);
    let program = compile("early-thread", &[thread_library.to_str().unwrap(), "-pthread"]);
    let late_load = compile("late-load", &["-pthread"]);
    let library = library();
    for user in USERS {
        for injection in [Preload, Patched, Attached, Sandboxify, SandboxifyPreload] {
            let outcome = run_confined(&program, None, injection, Policy::deny("uname"), &[], user);
            outcome.assert_killed();
            assert_eq!(outcome.stdout, "", "{injection:?} {user:?}: the thread survived uname");
        }
        for policy in [Policy::deny("uname"), Policy::allow_all_but("uname")] {
            let variables: Vec<String> =
                policy.variables().iter().map(|(name, value)| format!("{name}={value}")).collect();
            let args: Vec<&str> =
                [library.to_str().unwrap()].into_iter().chain(variables.iter().map(String::as_str)).collect();
            let outcome = Run::new(&late_load, &args).user(user).run();
            outcome.assert_killed();
            assert_eq!(outcome.stdout, "loaded\n", "dlopen under {policy:?} as {user:?}: the thread survived uname");
        }
    }
}

/// Program code that runs before `main`, and before a library's constructor
/// when ld.so keeps its usual order: a DT_PREINIT_ARRAY function, a
/// constructor in a library the program links, one in a linked library that
/// asks to be initialised first (DF_1_INITFIRST), a `_start` of the
/// program's own. Each creates MARKER (its last argument) with mkdir.
struct Early {
    name: &'static str,
    program: PathBuf,
    args: Vec<&'static str>,
}

fn early_code() -> Vec<Early> {
    let lib = compile("escape-lib-ctor-lib", &["-shared", "-fPIC"]);
    let first = compile("escape-initfirst-lib", &["-shared", "-fPIC", "-Wl,-z,initfirst"]);
    vec![
        Early { name: "preinit_array", program: compile("escape-preinit", &[]), args: vec![] },
        Early {
            name: "constructor of a linked library",
            program: compile("escape-lib-ctor", &[lib.to_str().unwrap()]),
            args: vec![],
        },
        Early {
            name: "constructor of a linked library initialised first",
            program: compile("escape-initfirst", &[first.to_str().unwrap()]),
            args: vec![],
        },
        Early {
            name: "_start before __libc_start_main",
            program: compile("escape-start", &["-nostartfiles", "-fno-plt"]),
            args: vec!["before"],
        },
        Early {
            name: "_start that never calls __libc_start_main",
            program: compile("escape-start", &["-nostartfiles", "-fno-plt"]),
            args: vec!["never"],
        },
    ]
}

/// Runs one piece of early code through `injection` under `policy`, or
/// unconfined; returns the marker and the outcome.
fn run_early(early: &Early, injection: Option<Injection>, policy: Policy, user: User) -> (PathBuf, Outcome) {
    let marker = marker();
    let args: Vec<&str> = early.args.iter().copied().chain([marker.to_str().unwrap()]).collect();
    let outcome = match injection {
        Some(injection) => run_confined(&early.program, None, injection, policy, &args, user),
        None => Run::new(&early.program, &args).user(user).run(),
    };
    (marker, outcome)
}

/// sandboxify installs the filter before the exec, and --preload a guard
/// filter that denies mkdir as the policy does: program code that runs
/// before the library's constructor is confined all the same.
#[test]
fn code_before_the_apply_point_is_confined_by_sandboxify() {
    for early in early_code() {
        for user in USERS {
            let (marker, outcome) = run_early(&early, None, DENY_MKDIR, user);
            assert!(marker.exists(), "control: {}: {outcome:#?}", early.name);
            for injection in [Sandboxify, SandboxifyPreload] {
                for policy in [DENY_MKDIR, Policy::allow_all_but("mkdir")] {
                    let (marker, outcome) = run_early(&early, Some(injection), policy, user);
                    assert!(!marker.exists(), "ESCAPED: {} via {injection:?} as {user:?}: {outcome:#?}", early.name);
                    // The library refuses a library initialised first when its policy waits for the constructor.
                    let refused = injection == SandboxifyPreload && outcome.code() == Some(125);
                    assert!(outcome.killed_by_seccomp() || refused, "{}: {outcome:#?}", early.name);
                }
            }
        }
    }
}

/// Once a hole: the library deferred its filter to a `__libc_start_main`
/// hook, so a custom `_start` ran unconfined before calling it, and one that
/// never called it ran the whole program unconfined. The library now
/// installs in its constructor, which ld.so runs before jumping to `_start`.
#[test]
fn a_programs_own_start_is_confined_by_the_library() {
    for early in early_code().iter().filter(|early| early.name.starts_with("_start")) {
        for injection in [Preload, Patched, Attached] {
            for user in USERS {
                let (marker, outcome) = run_early(early, Some(injection), DENY_MKDIR, user);
                assert!(!marker.exists(), "ESCAPED: {} via {injection:?} as {user:?}: {outcome:#?}", early.name);
                outcome.assert_killed();
            }
        }
    }
}

/// Once a hole (fixed, hole 3): through the library (LD_PRELOAD, or a
/// DT_NEEDED-patched copy with the policy in the environment or recorded),
/// program code that ld.so runs before the constructor of a preloaded
/// library (DT_PREINIT_ARRAY functions, constructors of the program's own
/// libraries) ran unconfined: under any policy at first, then under allow
/// lists only. Now the library's constructor runs before any other
/// (DF_1_INITFIRST) and a deny list goes in even earlier; a library that
/// asks to be initialised first itself makes the library refuse (125)
/// before any constructor, unless the policy is in force already.
#[test]
fn code_before_the_apply_point_is_confined_by_the_library() {
    let mut escaped = Vec::new();
    for early in early_code() {
        for injection in [Preload, Patched, Attached] {
            for policy in [DENY_MKDIR, Policy::allow_all_but("mkdir")] {
                for user in USERS {
                    let (marker, outcome) = run_early(&early, Some(injection), policy, user);
                    let stopped = outcome.killed_by_seccomp() || outcome.code() == Some(125);
                    if marker.exists() || !stopped {
                        let status = outcome.status;
                        escaped
                            .push(format!("{} via {injection:?} under {policy:?} as {user:?}: {status:?}", early.name));
                    }
                }
            }
        }
    }
    assert!(escaped.is_empty(), "escaped:\n{}", escaped.join("\n"));
}

/// The one program code a preloaded library cannot precede: IFUNC
/// resolvers, which ld.so calls while it relocates the program and its
/// libraries, before any constructor. A deny list that allows the start-up
/// calls goes in while ld.so relocates the library, before the program
/// (relocated last); an allow list from the environment waits for the
/// constructor, and the program's resolver runs before it. sandboxify
/// confines it. Kept as a test so that docs/escapes.md stays honest.
#[test]
fn relocation_time_code_is_confined_by_sandboxify_and_by_early_deny_lists() {
    let early = Early { name: "IFUNC resolver", program: compile("escape-ifunc", &[]), args: vec![] };
    let allow = Policy::allow_all_but("mkdir");
    for user in USERS {
        let (marker, outcome) = run_early(&early, None, allow, user);
        assert!(marker.exists(), "control: {outcome:#?}");
        let run = |injection, policy| run_early(&early, Some(injection), policy, user);
        for injection in [Preload, Patched, Attached, Sandboxify, SandboxifyPreload] {
            let (marker, outcome) = run(injection, DENY_MKDIR);
            assert!(!marker.exists(), "ESCAPED: {injection:?} as {user:?}: {outcome:#?}");
            outcome.assert_killed();
        }
        for injection in [Sandboxify, SandboxifyPreload] {
            let (marker, outcome) = run(injection, allow);
            assert!(!marker.exists(), "ESCAPED: {injection:?} as {user:?}: {outcome:#?}");
            outcome.assert_killed();
        }
        for injection in [Preload, Patched] {
            let (marker, outcome) = run(injection, allow);
            assert!(marker.exists(), "the library now precedes IFUNC resolvers: update docs/escapes.md");
            outcome.assert_success();
        }
    }
}

/// Counting errno answers (`SANDBOX_REPORT_COUNTS=errno`, whose reporter
/// starts in the constructor) does not open the window before it: a deny
/// list goes in as early as without the count, as a guard that fails its
/// errno calls with ENOSYS until the constructor installs it whole with the
/// reporter's listener. Once a hole of the count: the policy waited for the
/// constructor, and a resolver of the program made its denied call.
#[test]
fn counting_errno_answers_keeps_the_early_filter() {
    let program = compile("escape-ifunc", &[]);
    let patched = crate::common::patched(&program, None);
    for user in USERS {
        for program in [&program, &patched] {
            let marker = marker();
            let mut run = Run::new(program, &[marker.to_str().unwrap()]);
            if *program != patched {
                run = run.preload();
            }
            let outcome =
                run.env("SECCOMP_SYSCALL_DENY", "mkdir=EPERM").env("SANDBOX_REPORT_COUNTS", "errno").user(user).run();
            assert!(!marker.exists(), "ESCAPED: {} as {user:?}: {outcome:#?}", program.display());
            assert_eq!((outcome.code(), outcome.stdout.as_str()), (Some(0), "main ran\n"), "{outcome:#?}");
        }
    }
}

/// A program that names its own audit library (DT_AUDIT): ld.so loads it,
/// and calls its `la_version`, before any preloaded library, so its code
/// runs before the library's policy under any policy. sandboxify confines
/// it; --preload refuses such a program (`preload_never_falls_back_to_its_guard`).
/// Kept as a test so that docs/escapes.md stays honest.
#[test]
fn a_programs_own_audit_library_is_confined_by_sandboxify() {
    let audit = compile("escape-audit-lib", &["-shared", "-fPIC"]);
    let early = Early {
        name: "audit library",
        program: compile("uname", &[&format!("-Wl,--audit={}", audit.display())]),
        args: vec![],
    };
    for user in USERS {
        let (marker, outcome) = run_early(&early, None, DENY_MKDIR, user);
        assert!(marker.exists(), "control: {outcome:#?}");
        let (marker, outcome) = run_early(&early, Some(Sandboxify), DENY_MKDIR, user);
        assert!(!marker.exists(), "ESCAPED: sandboxify as {user:?}: {outcome:#?}");
        outcome.assert_killed();
        let (marker, outcome) = run_early(&early, Some(SandboxifyPreload), DENY_MKDIR, user);
        assert!(!marker.exists() && outcome.code() == Some(125), "--preload as {user:?}: {outcome:#?}");
        for injection in [Preload, Patched, Attached] {
            let (marker, outcome) = run_early(&early, Some(injection), DENY_MKDIR, user);
            assert!(marker.exists(), "the library now precedes audit libraries: update docs/escapes.md ({outcome:#?})");
        }
    }
}

/// A program that defines the functions a preloaded library used to call
/// for its filter (`syscall`, `prctl`) and exports them (`-rdynamic`), so
/// that ld.so binds the library's calls to the program's definitions,
/// which fake seccomp(), landlock_restrict_self() and the probe's answer.
/// Once a hole of the library paths (sandboxify was the answer): the
/// library now sets no_new_privs, confines tracing, installs the filter and
/// probes it with raw system calls, through no function anyone can
/// interpose, on every path.
#[test]
fn a_program_that_exports_syscall_and_prctl_cannot_fake_the_filter() {
    let early =
        Early { name: "functions of its own", program: compile("escape-interpose", &["-rdynamic"]), args: vec![] };
    let allow = Policy::allow_all_but("mkdir");
    for user in USERS {
        let (marker, outcome) = run_early(&early, None, allow, user);
        assert!(marker.exists(), "control: {outcome:#?}");
        for injection in [Sandboxify, SandboxifyPreload, Preload, Patched] {
            for policy in [DENY_MKDIR, allow] {
                let (marker, outcome) = run_early(&early, Some(injection), policy, user);
                assert!(!marker.exists(), "ESCAPED: {injection:?} under {policy:?} as {user:?}: {outcome:#?}");
                outcome.assert_killed();
                assert!(outcome.stdout.is_empty(), "{outcome:#?}");
            }
        }
    }
}

/// Once a hole (fixed): --preload's guard allows the start-up calls (openat, write, mmap,
/// mprotect...) until the library applies the policy, whatever the policy
/// says of them; program code that runs before that point (here a
/// DT_PREINIT_ARRAY function) can use them: under a deny list of `open` it
/// creates a file with openat(O_CREAT).
#[test]
fn code_before_the_apply_point_cannot_use_the_guards_start_up_calls() {
    let program = compile("escape-preinit", &[]);
    let library = library();
    for policy in [Policy::deny("open"), Policy::allow_all_but("open")] {
        for user in USERS {
            let marker = marker();
            let args: Vec<&str> = ["--preload", "--library", library.to_str().unwrap()]
                .into_iter()
                .chain(policy.options())
                .chain([program.to_str().unwrap(), marker.to_str().unwrap(), "open"])
                .collect();
            let outcome = Run::new(sandboxify(), &args).user(user).run();
            assert!(!marker.exists(), "ESCAPED: {policy:?} as {user:?}: {outcome:#?}");
        }
    }
}
