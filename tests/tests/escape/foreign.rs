//! Programs the library is not built for: a 32-bit program, which makes
//! every call through the i386 ABI, and programs linked with musl, static
//! or with musl's dynamic loader. sandboxify confines them; the library
//! refuses them or they do not start, except that LD_PRELOAD does not reach
//! a 32-bit program at all.

use std::path::PathBuf;

use sandbox_tests::{Run, USERS, User, compile, compile_with, sandboxify};

use crate::common::Injection::{Attached, Patched, Preload, Sandboxify, SandboxifyPreload, SandboxifyStatic};
use crate::common::{DENY_MKDIR, marker, run_confined};

/// A 32-bit program makes every call through the i386 ABI. sandboxify
/// confines it (dynamic or static) with the policy's i386 rules; a patched
/// copy cannot load the 64-bit library and does not start; --preload
/// refuses it. LD_PRELOAD cannot reach it, as it cannot reach a static
/// program: ld.so prints an error, ignores the library and runs the program
/// unconfined. Kept as a test so that the documentation stays honest.
#[test]
fn a_32_bit_program_is_confined_by_sandboxify_and_out_of_reach_of_ld_preload() {
    let dynamic = compile("escape-prctl", &["-m32"]);
    let static_build = compile("escape-prctl", &["-m32", "-static"]);
    for program in [&dynamic, &static_build] {
        let marker = marker();
        Run::new(program, &["mkdir", marker.to_str().unwrap()]).user(User::Nobody).run().assert_success();
        assert!(marker.exists(), "control");
    }
    for user in USERS {
        for program in [&dynamic, &static_build] {
            let marker = marker();
            let args = ["--deny", "mkdir", program.to_str().unwrap(), "mkdir", marker.to_str().unwrap()];
            Run::new(sandboxify(), &args).user(user).run().assert_killed();
            assert!(!marker.exists(), "ESCAPED: {} under sandboxify as {user:?}", program.display());
        }
        let marker = marker();
        let outcome = run_confined(&dynamic, None, Patched, DENY_MKDIR, &["mkdir", marker.to_str().unwrap()], user);
        assert_eq!(outcome.code(), Some(127), "{outcome:#?}");
        assert!(outcome.stderr.contains("wrong ELF class: ELFCLASS64"), "{outcome:#?}");
        assert!(!marker.exists());
        let outcome =
            run_confined(&dynamic, None, SandboxifyPreload, DENY_MKDIR, &["mkdir", marker.to_str().unwrap()], user);
        outcome.assert_code(125);
        assert!(!marker.exists());
        // The documented limit of LD_PRELOAD.
        let outcome = run_confined(&dynamic, None, Preload, DENY_MKDIR, &["mkdir", marker.to_str().unwrap()], user);
        assert!(outcome.stderr.contains("cannot be preloaded (wrong ELF class: ELFCLASS64): ignored"), "{outcome:#?}");
        assert!(marker.exists(), "LD_PRELOAD now reaches 32-bit programs: update docs/escapes.md");
    }
}

/// `escape-mkdir` built with musl-gcc (musl-tools): dynamic (musl's own
/// loader, /lib/ld-musl-x86_64.so.1) unless `static_build`.
fn musl_mkdir(static_build: bool) -> PathBuf {
    compile_with("musl-gcc", "escape-mkdir", if static_build { &["-static"] } else { &[] })
}

/// A program linked with musl: sandboxify confines it whether it is static
/// or uses musl's dynamic loader; --preload refuses it (125), as musl's
/// loader cannot load libsandbox.so.
#[test]
fn a_musl_program_is_confined_by_sandboxify() {
    let (dynamic, static_build) = (musl_mkdir(false), musl_mkdir(true));
    for program in [&dynamic, &static_build] {
        let marker = marker();
        Run::new(program, &[marker.to_str().unwrap()]).user(User::Nobody).run().assert_success();
        assert!(marker.exists(), "control: {}", program.display());
    }
    for user in USERS {
        for injection in [Sandboxify, SandboxifyStatic, SandboxifyPreload] {
            let marker = marker();
            let outcome =
                run_confined(&dynamic, Some(&static_build), injection, DENY_MKDIR, &[marker.to_str().unwrap()], user);
            assert!(!marker.exists(), "ESCAPED: {injection:?} as {user:?}: {outcome:#?}");
            if injection == SandboxifyPreload {
                outcome.assert_code(125);
                assert!(outcome.stderr.contains("is not glibc's"), "{outcome:#?}");
            } else {
                outcome.assert_killed();
            }
        }
    }
}

/// Once a hole (fixed): the library deferred its filter to a hook that musl
/// calls before library constructors, so a program with musl's dynamic
/// loader ran unconfined, silently. Now the library installs its guard from
/// an IFUNC, which musl's loader refuses to relocate: such a program does
/// not start at all (127), under LD_PRELOAD and DT_NEEDED alike. Never
/// unconfined; sandboxify confines it (test above).
#[test]
fn a_musl_program_never_runs_unconfined_under_the_library() {
    let program = musl_mkdir(false);
    for injection in [Preload, Patched, Attached] {
        for user in USERS {
            let marker = marker();
            let outcome = run_confined(&program, None, injection, DENY_MKDIR, &[marker.to_str().unwrap()], user);
            assert!(!marker.exists(), "ESCAPED: {injection:?} as {user:?}: {outcome:#?}");
            outcome.assert_code(127);
            assert!(outcome.stderr.contains("libsandbox.so: unsupported relocation type 37"), "{outcome:#?}");
        }
    }
}
