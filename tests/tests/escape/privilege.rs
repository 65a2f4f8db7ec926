//! Programs that gain privilege at exec (setuid root, setgid root, a file
//! capability), patched with the library and run by an ordinary user: the
//! caller's environment steers nothing, and no policy of the caller's keeps
//! the program privileged.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use sandbox_tests::{Run, User, compile, fresh_dir, privileged_copy, sandboxify};

use crate::common::{marker, patched};

/// The setuid-root program that drops to nobody, patched to load the
/// library, made setuid root, owned by root.
fn setuid_copy(attached: Option<&str>, name: &str) -> PathBuf {
    privileged_copy(&patched(&compile("escape-setuid", &[]), attached), name, 0o4755)
}

/// Under secure execution nothing in the caller's environment steers the
/// library: an ordinary user runs a setuid-root program with an attached
/// `log` policy and names a root-only file as the report. Root would append
/// to (or create) any file so named: the report goes to stderr instead, and
/// nothing appears there.
#[test]
fn the_caller_of_a_setuid_program_cannot_choose_where_root_writes() {
    let program = setuid_copy(Some("deny geteuid=log"), "escape-setuid-root-report");
    let root_only = fresh_dir("escape-root-only");
    fs::set_permissions(&root_only, fs::Permissions::from_mode(0o700)).unwrap();
    let existing = root_only.join("existing");
    fs::write(&existing, "root's\n").unwrap();
    for target in [root_only.join("new"), existing.clone()] {
        let outcome = Run::new(&program, &["setuid", marker().to_str().unwrap()])
            .env("SANDBOX_REPORT", &target)
            .env("SANDBOX_VERBOSE", "1")
            .user(User::Nobody)
            .run();
        assert_eq!(outcome.stdout, "euid before 0\neuid after 65534\n", "{outcome:#?}");
        assert!(outcome.stderr.contains("libsandbox:   geteuid() ×"), "the report on stderr: {outcome:#?}");
        assert!(!outcome.stderr.contains("BPF instructions"), "SANDBOX_VERBOSE steered it: {outcome:#?}");
    }
    assert!(!root_only.join("new").exists(), "root created the caller's file");
    assert_eq!(fs::read_to_string(&existing).unwrap(), "root's\n", "root appended to the caller's file");
}

/// An ordinary user runs a setuid-root program patched with the library and
/// sets a policy meant to make its privilege drop fail (which would leave it
/// root): the library refuses the policy and the program never runs. With an
/// attached policy, that one alone applies. Through LD_PRELOAD (ignored by
/// the loader for setuid programs) and sandboxify (no_new_privs: the setuid
/// bit is ignored), the program never gets root to keep.
#[test]
fn a_setuid_program_cannot_be_made_to_keep_root() {
    let drops = ["setuid", "setresuid", "setreuid"];
    let policies = ["setuid=EPERM", "@setuid=EPERM", "setresuid=EPERM:setreuid=EPERM:setuid=EPERM"];
    let plain = compile("escape-setuid", &[]);
    // The control: as root, such a rule does keep root, and the marker appears.
    for drop in drops {
        let marker = marker();
        let outcome = Run::new(&plain, &[drop, marker.to_str().unwrap()])
            .preload()
            .env("SECCOMP_SYSCALL_DENY", "@setuid=EPERM")
            .run();
        assert!(marker.exists(), "control: {outcome:#?}");
    }
    let program = setuid_copy(None, "escape-setuid-root");
    let with_attached = setuid_copy(Some("deny uname"), "escape-setuid-root-attached");
    for drop in drops {
        // Without a policy it runs as designed: root, then nobody.
        let not_made = marker();
        let outcome = Run::new(&program, &[drop, not_made.to_str().unwrap()]).user(User::Nobody).run();
        assert_eq!(outcome.stdout, "euid before 0\neuid after 65534\n", "{outcome:#?}");
        assert!(!not_made.exists());
        for policy in policies {
            let marker = marker();
            let arguments = [drop, marker.to_str().unwrap()];
            let outcome = Run::new(&program, &arguments).env("SECCOMP_SYSCALL_DENY", policy).user(User::Nobody).run();
            outcome.assert_code(125);
            assert_eq!(outcome.stdout, "", "{policy}: the program ran");
            assert!(!marker.exists(), "ESCAPED: {policy}");
            // The attached policy alone applies: the drop works.
            let outcome =
                Run::new(&with_attached, &arguments).env("SECCOMP_SYSCALL_DENY", policy).user(User::Nobody).run();
            assert_eq!(outcome.stdout, "euid before 0\neuid after 65534\n", "{policy}: {outcome:#?}");
            // LD_PRELOAD on the setuid program: the loader ignores it.
            let outcome =
                Run::new(&program, &arguments).preload().env("SECCOMP_SYSCALL_DENY", policy).user(User::Nobody).run();
            assert_eq!(outcome.code(), Some(125), "{policy}: {outcome:#?}");
            // sandboxify: no_new_privs, so the program never becomes root.
            for prefix in [&[][..], &["--preload"][..]] {
                let args: Vec<&str> = prefix
                    .iter()
                    .copied()
                    .chain(["--deny", policy, program.to_str().unwrap()])
                    .chain(arguments)
                    .collect();
                let outcome = Run::new(sandboxify(), &args).user(User::Nobody).run();
                assert!(outcome.stdout.starts_with("euid before 65534\n"), "{prefix:?} {policy}: {outcome:#?}");
            }
            assert!(!marker.exists(), "ESCAPED: {policy}");
        }
    }
}

/// The other ways a program gets privilege at exec, setgid and a file
/// capability (`setcap cap_setuid+ep`), put the loader in secure mode too:
/// patched with the library, such a program refuses a policy from its
/// unprivileged caller, and without one runs as designed.
#[test]
fn setgid_and_file_capability_programs_refuse_a_callers_policy() {
    let built = patched(&compile("escape-setuid", &[]), None);
    let setgid = privileged_copy(&built, "escape-setgid-root", 0o2755);
    let capable = privileged_copy(&built, "escape-cap-setuid", 0o755);
    let setcap = std::process::Command::new("setcap").arg("cap_setuid+ep").arg(&capable).status();
    assert!(setcap.expect("setcap (libcap2-bin) is installed").success());
    for program in [&setgid, &capable] {
        let marker = marker();
        let args = ["setresuid", marker.to_str().unwrap()];
        Run::new(program, &args).user(User::Nobody).run().assert_success();
        let outcome = Run::new(program, &args).env("SECCOMP_SYSCALL_DENY", "@setuid=EPERM").user(User::Nobody).run();
        outcome.assert_code(125);
        assert_eq!(outcome.stdout, "", "{}: the program ran", program.display());
        assert!(outcome.stderr.contains("refusing a policy from the environment"), "{outcome:#?}");
        assert!(!marker.exists());
    }
}
