//! The escape suite: programs that try to get a forbidden effect past the
//! sandbox, run as root and as nobody on every injection path where the
//! attempt applies (LD_PRELOAD, a DT_NEEDED-patched copy with the policy in
//! the environment, a patched copy with a recorded policy, sandboxify on a
//! dynamic and on a static build, sandboxify --preload).
//!
//! Each attempt (`tests/c/escape-*.c`) creates a marker (a directory, a file,
//! or another program's run) only if it got through; the tests assert that
//! the marker is absent and how the attempt was stopped, and each attempt has
//! a positive control: unconfined, the same program does create the marker.
//! `docs/escapes.md` lists every attempt with what the sandbox does and the
//! test here that proves it.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::{PermissionsExt, chown};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use sandbox_policy::abi::{AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use sandbox_policy::compile::bpf::{self, SeccompData};
use sandbox_policy::{Action, Settings, Text};
use sandbox_tests::{Outcome, Run, USERS, User, artifact, compile, compile_with, fresh_dir, library, sandboxify};

/// A policy as an operator writes it: an optional allow list and a deny list.
#[derive(Clone, Copy, Debug)]
struct Policy {
    allow: Option<&'static str>,
    deny: &'static str,
}

impl Policy {
    const fn deny(deny: &'static str) -> Policy {
        Policy { allow: None, deny }
    }

    /// A broad allow list with `deny` taken out of it.
    const fn allow_all_but(deny: &'static str) -> Policy {
        Policy { allow: Some("@system-service"), deny }
    }

    fn variables(&self) -> Vec<(&'static str, &'static str)> {
        let mut variables = vec![("SECCOMP_SYSCALL_DENY", self.deny)];
        if let Some(allow) = self.allow {
            variables.push(("SECCOMP_SYSCALL_ALLOW", allow));
        }
        variables
    }

    fn options(&self) -> Vec<&'static str> {
        let mut options = vec!["--deny", self.deny];
        if let Some(allow) = self.allow {
            options.extend(["--allow", allow]);
        }
        options
    }

    /// The policy in the file format, for `patchelf-helper --policy`.
    fn file_text(&self) -> String {
        let allow = self.allow.map(|allow| format!("allow {allow}\n")).unwrap_or_default();
        format!("{allow}deny {}\n", self.deny)
    }
}

/// How the sandbox is put around a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Injection {
    /// `LD_PRELOAD=libsandbox.so` and the policy in the environment.
    Preload,
    /// A copy patched with `patchelf-helper --add-needed`, policy in the environment.
    Patched,
    /// A patched copy with the policy recorded in it (`--policy`), no environment.
    Attached,
    /// `sandboxify --deny/--allow` on the dynamic build.
    Sandboxify,
    /// `sandboxify --deny/--allow` on a static build.
    SandboxifyStatic,
    /// `sandboxify --preload` on the dynamic build.
    SandboxifyPreload,
}

use Injection::*;

/// Every injection path.
const EVERY_PATH: [Injection; 6] = [Preload, Patched, Attached, Sandboxify, SandboxifyStatic, SandboxifyPreload];
/// The paths that apply the policy after the dynamic loader has started the
/// program, so that a deny list may name calls the loader needs.
const AFTER_START_UP: [Injection; 5] = [Preload, Patched, Attached, SandboxifyStatic, SandboxifyPreload];

/// An escape program: a C source in `tests/c` and the flags to build it.
#[derive(Clone, Copy, Debug)]
struct Attempt {
    source: &'static str,
    flags: &'static [&'static str],
}

impl Attempt {
    const fn new(source: &'static str) -> Attempt {
        Attempt { source, flags: &[] }
    }

    fn dynamic(&self) -> PathBuf {
        compile(self.source, self.flags)
    }

    fn static_build(&self) -> PathBuf {
        let flags: Vec<&str> = self.flags.iter().copied().chain(["-static"]).collect();
        compile(self.source, &flags)
    }
}

const EXEC: Attempt = Attempt { source: "escape-exec", flags: &["-pthread"] };
const INT80: Attempt = Attempt::new("escape-int80");
const X32: Attempt = Attempt::new("escape-x32");
const IO_URING: Attempt = Attempt::new("escape-io-uring");
const REEXEC: Attempt = Attempt::new("escape-reexec");
const OWN_FILTER: Attempt = Attempt { source: "escape-own-filter", flags: &["-pthread"] };
const PRCTL: Attempt = Attempt::new("escape-prctl");
const PTRACE: Attempt = Attempt::new("escape-ptrace");

/// A fresh marker path, in a directory every user may write to.
fn marker() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    fresh_dir(&format!("escape-{}", NEXT.fetch_add(1, Ordering::Relaxed))).join("escaped")
}

/// A copy of `program` with libsandbox.so added as a dependency, and with
/// `policy` recorded in it if given. Made once per program and policy.
fn patched(program: &Path, policy: Option<&str>) -> PathBuf {
    /// Patched copies by original and recorded policy.
    type Copies = HashMap<(PathBuf, Option<String>), PathBuf>;
    static MADE: Mutex<Option<Copies>> = Mutex::new(None);
    let key = (program.to_path_buf(), policy.map(str::to_owned));
    let mut made = MADE.lock().unwrap();
    let made = made.get_or_insert_with(HashMap::new);
    if let Some(copy) = made.get(&key) {
        return copy.clone();
    }
    let copy = fresh_dir(&format!("escape-patched-{}", made.len())).join(program.file_name().unwrap());
    fs::copy(program, &copy).unwrap();
    let library = library();
    let mut args = vec!["--add-needed", library.to_str().unwrap()];
    if let Some(policy) = policy {
        args.extend(["--policy", policy]);
    }
    args.push(copy.to_str().unwrap());
    let outcome = Run::new(artifact("patchelf-helper"), &args).run();
    assert_eq!(outcome.code(), Some(0), "patch {}: {outcome:#?}", program.display());
    made.insert(key, copy.clone());
    copy
}

/// Runs `program` (the dynamic build, or `static_build` for sandboxify's
/// static path) with `args` under `policy` through `injection`, as `user`.
fn run_confined(
    dynamic: &Path,
    static_build: Option<&Path>,
    injection: Injection,
    policy: Policy,
    args: &[&str],
    user: User,
) -> Outcome {
    let with_env = |mut run: Run| {
        for (key, value) in policy.variables() {
            run = run.env(key, value);
        }
        run
    };
    let launched = |prefix: &[&str], program: &Path| {
        let program = program.to_str().unwrap();
        let all: Vec<&str> =
            prefix.iter().copied().chain(policy.options()).chain([program]).chain(args.iter().copied()).collect();
        Run::new(sandboxify(), &all)
    };
    let library = library();
    let run = match injection {
        Preload => with_env(Run::new(dynamic, args).preload()),
        Patched => with_env(Run::new(patched(dynamic, None), args)),
        Attached => Run::new(patched(dynamic, Some(&policy.file_text())), args),
        Sandboxify => launched(&[], dynamic),
        SandboxifyStatic => launched(&[], static_build.expect("a static build")),
        SandboxifyPreload => launched(&["--preload", "--library", library.to_str().unwrap()], dynamic),
    };
    run.user(user).run()
}

/// Runs `attempt MODE MARKER` on every path in `paths`, under every policy,
/// as every user, and asserts that the marker never appears; `stopped` then
/// checks how the attempt was stopped.
fn assert_held(
    attempt: Attempt,
    mode: Option<&str>,
    paths: &[Injection],
    policies: &[Policy],
    stopped: impl Fn(&Outcome) -> bool,
) {
    let dynamic = attempt.dynamic();
    let static_build = paths.contains(&SandboxifyStatic).then(|| attempt.static_build());
    for &injection in paths {
        for &policy in policies {
            for user in USERS {
                let marker = marker();
                let args: Vec<&str> = mode.into_iter().chain([marker.to_str().unwrap()]).collect();
                let outcome = run_confined(&dynamic, static_build.as_deref(), injection, policy, &args, user);
                let context = format!("{} {mode:?} via {injection:?} under {policy:?} as {user:?}", attempt.source);
                assert!(!marker.exists(), "ESCAPED: {context}: {outcome:#?}");
                assert!(stopped(&outcome), "{context}: not stopped as expected: {outcome:#?}");
            }
        }
    }
}

/// The positive control: unconfined, as nobody, the attempt does create
/// its marker (dynamic and static builds), so a test cannot pass because the
/// attempt itself is broken.
fn assert_escapes_unconfined(attempt: Attempt, mode: Option<&str>) {
    for program in [attempt.dynamic(), attempt.static_build()] {
        let marker = marker();
        let args: Vec<&str> = mode.into_iter().chain([marker.to_str().unwrap()]).collect();
        let outcome = Run::new(&program, &args).user(User::Nobody).run();
        assert!(marker.exists(), "the control did not escape: {} {mode:?}: {outcome:#?}", program.display());
    }
}

fn killed(outcome: &Outcome) -> bool {
    outcome.killed_by_seccomp()
}

/// The attempt's child was killed by the filter (the parent reports it).
fn child_killed(outcome: &Outcome) -> bool {
    outcome.stdout.contains(&format!("killed by signal {}", libc::SIGSYS))
}

const DENY_EXECVE: Policy = Policy::deny("execve");
const DENY_MKDIR: Policy = Policy::deny("mkdir");

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

/// The i386 ABI through `int 0x80`: other numbers for the same calls, and
/// the socketcall multiplexer, which stands for the strictest of its calls.
#[test]
fn int_0x80_does_not_bypass_the_policy() {
    for (operation, policies) in [
        ("execve", [DENY_EXECVE, Policy::allow_all_but("execve")]),
        ("mkdir", [DENY_MKDIR, Policy::allow_all_but("mkdir")]),
        ("socket", [Policy::deny("socket"), Policy::allow_all_but("socket")]),
        ("socketcall", [Policy::deny("socket"), Policy::allow_all_but("@network-io:socketcall")]),
        ("ipc", [Policy::deny("shmget"), Policy::allow_all_but("@ipc:ipc")]),
    ] {
        assert_escapes_unconfined(INT80, Some(operation));
        assert_held(INT80, Some(operation), &EVERY_PATH, &policies, killed);
    }
}

/// Once a hole (fixed): an allow list that takes in socketcall or ipc through a group
/// (`@network-io`, `@ipc`, `@system-service`) lets the i386 multiplexer run
/// every call it stands for, even one the deny list names: the generator
/// gives a multiplexer the strictest action of its calls only when no entry
/// mentions it at all, where the README says "unless an entry names it".
#[test]
fn int_0x80_multiplexers_honour_a_deny_under_a_group_allow_list() {
    for (operation, policy) in
        [("socketcall", Policy::allow_all_but("socket")), ("ipc", Policy::allow_all_but("shmget"))]
    {
        assert_held(INT80, Some(operation), &EVERY_PATH, &[policy], killed);
    }
}

/// x32 numbers (bit 30 set, x86_64 arch) are violations whatever the policy
/// says of the call: here a deny list that does not even name mkdir. This
/// kernel has x32 disabled, so unconfined the call fails with ENOSYS (no
/// positive control is possible); the filter kills before the kernel looks.
#[test]
fn x32_numbers_are_violations_live() {
    for operation in ["mkdir", "execve"] {
        let marker = marker();
        let outcome = Run::new(X32.dynamic(), &[operation, marker.to_str().unwrap()]).user(User::Nobody).run();
        assert!(outcome.stdout.contains("(ENOSYS)"), "x32 is enabled on this kernel: {outcome:#?}");
        assert_held(X32, Some(operation), &EVERY_PATH, &[Policy::deny("uname")], killed);
    }
}

/// x32 on the generated filter, for kernels that have it enabled: every
/// x32 number gets the violation action under deny and allow lists, even
/// for calls the policy allows by name.
#[test]
fn x32_numbers_are_violations_in_the_filter() {
    let origin = sandbox_policy::Origin::Variable("test");
    let text = |text| Some(Text { origin: &origin, text });
    let cases = [
        (Settings { deny: text("uname"), ..Settings::default() }, Action::Kill),
        (Settings { allow: text("mkdir:execve:read"), ..Settings::default() }, Action::Kill),
        (Settings { deny: text("uname"), default_action: text("EPERM"), ..Settings::default() }, Action::Errno(1)),
        (Settings { allow: text("@known"), default_action: text("log"), ..Settings::default() }, Action::Log),
    ];
    for (settings, violation) in cases {
        let policy = settings.policy().unwrap().unwrap();
        let program = sandbox_policy::compile(&policy).unwrap();
        for nr in [0, 59, 83, 520, 545, 0x3fff_ffff] {
            let data = SeccompData { nr: X32_SYSCALL_BIT | nr, arch: AUDIT_ARCH_X86_64, ..SeccompData::default() };
            let ret = bpf::run(program.insns(), &data).unwrap().ret;
            assert_eq!(Action::from_ret(ret), Some(violation), "x32 {nr} under {policy}");
        }
    }
}

/// io_uring: an openat submitted through a ring never passes seccomp, so the
/// ring itself gets ENOSYS unless the policy names it (a deny list of open,
/// an allow list without it). The dynamic build under plain sandboxify is
/// left out: the loader needs openat before the program runs.
#[test]
fn io_uring_cannot_carry_a_denied_call() {
    assert_escapes_unconfined(IO_URING, None);
    let policies = [Policy::deny("open"), Policy::allow_all_but("open")];
    assert_held(IO_URING, None, &AFTER_START_UP, &policies, |outcome| {
        outcome.code() == Some(0) && outcome.stdout == "io_uring_setup: ENOSYS\n"
    });
}

/// Why the ring must be named to run: once it is, or once exact mode turns
/// the rule off, its openat goes through whatever the list says of openat.
/// This documents the rule; both are the operator's explicit choice.
#[test]
fn a_named_io_uring_is_the_operators_choice() {
    for env in [
        [("SECCOMP_SYSCALL_DENY", "open:io_uring_setup=allow:io_uring_enter=allow"), ("SANDBOX_EXACT", "0")],
        [("SECCOMP_SYSCALL_DENY", "open"), ("SANDBOX_EXACT", "1")],
    ] {
        let marker = marker();
        let mut run = Run::new(IO_URING.dynamic(), &[marker.to_str().unwrap()]).preload().user(User::Nobody);
        for (key, value) in env {
            run = run.env(key, value);
        }
        let outcome = run.run();
        assert_eq!(outcome.stdout, "openat through the ring returned a descriptor\n", "{env:?}: {outcome:#?}");
        assert!(marker.exists());
    }
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

/// The setuid-root program that drops to nobody, patched to load the
/// library, made setuid root, owned by root.
fn setuid_copy(attached: Option<&str>) -> PathBuf {
    let built = patched(&compile("escape-setuid", &[]), attached);
    let program =
        built.with_file_name(format!("escape-setuid-root{}", if attached.is_some() { "-attached" } else { "" }));
    fs::copy(&built, &program).unwrap();
    chown(&program, Some(0), Some(0)).unwrap();
    fs::set_permissions(&program, fs::Permissions::from_mode(0o4755)).unwrap();
    program
}

/// Under secure execution nothing in the caller's environment steers the
/// library: an ordinary user runs a setuid-root program with an attached
/// `log` policy and names a root-only file as the report. Root would append
/// to (or create) any file so named: the report goes to stderr instead, and
/// nothing appears there.
#[test]
fn the_caller_of_a_setuid_program_cannot_choose_where_root_writes() {
    let built = patched(&compile("escape-setuid", &[]), Some("deny geteuid=log"));
    let program = built.with_file_name("escape-setuid-root-report");
    fs::copy(&built, &program).unwrap();
    chown(&program, Some(0), Some(0)).unwrap();
    fs::set_permissions(&program, fs::Permissions::from_mode(0o4755)).unwrap();
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
    let program = setuid_copy(None);
    let with_attached = setuid_copy(Some("deny uname"));
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
                let (marker, outcome) = outer_filtered(&wrapper, (errno, calls), injection, mkdir, user);
                assert!(!marker.exists(), "ESCAPED: {errno} on {calls} via {injection:?} as {user:?}: {outcome:#?}");
                assert_eq!(outcome.code(), Some(125), "{errno} on {calls} via {injection:?}: {outcome:#?}");
            }
        }
    }
}

/// Runs `target MARKER` under a deny list of mkdir through `injection`,
/// inside `outer-filter ERRNO CALLS`.
fn outer_filtered(
    wrapper: &Path,
    outer: (i32, &str),
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
    let prefix = [outer.0.to_string(), outer.1.to_owned()];
    let args: Vec<&str> = prefix.iter().chain(&command).map(String::as_str).collect();
    let mut run = Run::new(wrapper, &args);
    for (key, value) in env {
        run = run.env(key, value);
    }
    (marker, run.user(user).run())
}

/// Once a hole (fixed): an outer filter that answers seccomp() with SECCOMP_RET_ERRNO and
/// errno 0 makes the call return 0 without installing anything. The library
/// and sandboxify take that for success and run the program unconfined.
#[test]
fn a_faked_seccomp_success_never_runs_the_program() {
    let wrapper = compile("outer-filter", &["-static"]);
    let seccomp = libc::SYS_seccomp.to_string();
    let mkdir = Path::new("/usr/bin/mkdir");
    let mut escaped = Vec::new();
    for injection in [Preload, Patched, Attached, Sandboxify, SandboxifyPreload] {
        for user in USERS {
            let (marker, outcome) = outer_filtered(&wrapper, (0, &seccomp), injection, mkdir, user);
            if marker.exists() || outcome.code() != Some(125) {
                escaped.push(format!("{injection:?} as {user:?}: {:?} marker {}", outcome.status, marker.exists()));
            }
        }
    }
    assert!(escaped.is_empty(), "ran unconfined:\n{}", escaped.join("\n"));
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

/// A program that defines the functions a preloaded library calls
/// (`syscall`, `prctl`) and exports them (`-rdynamic`) takes the library's
/// calls over: ld.so binds them to the program's definitions, which fake
/// seccomp() and its probe. That is the program's own loading, out of reach
/// of any preloaded library (as a libc.so.6 of its own through RUNPATH
/// would be); sandboxify's filter and --preload's guard go in before the
/// exec, through no function of the program's. Kept as a test so that
/// docs/escapes.md stays honest.
#[test]
fn a_program_that_takes_over_the_librarys_calls_is_confined_by_sandboxify() {
    let early =
        Early { name: "functions of its own", program: compile("escape-interpose", &["-rdynamic"]), args: vec![] };
    let allow = Policy::allow_all_but("mkdir");
    for user in USERS {
        let (marker, outcome) = run_early(&early, None, allow, user);
        assert!(marker.exists(), "control: {outcome:#?}");
        for injection in [Sandboxify, SandboxifyPreload] {
            for policy in [DENY_MKDIR, allow] {
                let (marker, outcome) = run_early(&early, Some(injection), policy, user);
                assert!(!marker.exists(), "ESCAPED: {injection:?} under {policy:?} as {user:?}: {outcome:#?}");
                // Under a deny list the library's early phase calls the
                // program's syscall() before ld.so has relocated it: SIGSEGV.
                assert!(outcome.status.signal().is_some() && outcome.stdout.is_empty(), "{outcome:#?}");
            }
        }
        for injection in [Preload, Patched] {
            let (marker, outcome) = run_early(&early, Some(injection), allow, user);
            assert!(marker.exists(), "the library now resists its program's functions: update docs/escapes.md");
            outcome.assert_success();
        }
    }
}

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

/// Hostile input to patchelf-helper: files it must refuse leave it with a
/// non-zero status, the file byte for byte as it was, and nothing else
/// written in its directory (no temporary file left behind).
#[test]
fn patchelf_helper_writes_nothing_on_bad_input() {
    let good = fs::read(compile("uname", &[])).unwrap();
    let mut past_the_end = good.clone();
    past_the_end[32..40].copy_from_slice(&(good.len() as u64 + 64).to_le_bytes()); // e_phoff
    let mut no_dynamic = good.clone();
    no_dynamic[16] = 1; // e_type ET_REL
    let inputs: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("text", b"#!/bin/sh\necho not elf\n".to_vec()),
        ("header only", good[..64].to_vec()),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("program headers past the end", past_the_end),
        ("relocatable", no_dynamic),
        ("static", fs::read(compile("uname", &["-static"])).unwrap()),
    ];
    let library = library();
    let operations: [&[&str]; 4] = [
        &["--add-needed", library.to_str().unwrap()],
        &["--remove-needed", "libc.so.6"],
        &["--policy", "deny uname"],
        &["--remove-policy"],
    ];
    for (name, bytes) in &inputs {
        for operation in operations {
            let dir = marker();
            fs::create_dir(&dir).unwrap();
            let file = dir.join("input");
            fs::write(&file, bytes).unwrap();
            let args: Vec<&str> = operation.iter().copied().chain([file.to_str().unwrap()]).collect();
            let outcome = Run::new(artifact("patchelf-helper"), &args).run();
            assert_ne!(outcome.code(), Some(0), "{name} {operation:?}: accepted: {outcome:#?}");
            assert_eq!(&fs::read(&file).unwrap(), bytes, "{name} {operation:?}: the file changed");
            let entries: Vec<_> = fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().file_name()).collect();
            assert_eq!(entries, ["input"], "{name} {operation:?}: something else was written");
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

const DOORS: Attempt = Attempt::new("escape-doors");

/// The other doors `escape-doors` tries: the door, the call a deny list
/// names, who can use the door, and whether its marker is a file to write
/// into (else a directory to create).
const OTHER_DOORS: [(&str, &str, &[User], bool); 6] = [
    ("copy_file_range", "write", &USERS, true),
    ("sendfile", "write", &USERS, true),
    ("splice", "write", &USERS, true),
    ("open_by_handle_at", "open", &[User::Root], true),
    ("pkey_mprotect", "mprotect", &USERS, false),
    ("mmap2", "mmap", &USERS, false),
];

/// Runs `escape-doors DOOR MARKER` (unconfined if `injection` is None) and
/// returns whether the door worked: the file was written or the directory made.
fn try_door(door: &str, denied: &'static str, file: bool, injection: Option<Injection>, user: User) -> (bool, Outcome) {
    let marker = marker();
    if file {
        fs::write(&marker, "").unwrap();
        fs::set_permissions(&marker, fs::Permissions::from_mode(0o666)).unwrap();
    }
    let args = [door, marker.to_str().unwrap()];
    let outcome = match injection {
        None => Run::new(DOORS.dynamic(), &args).user(user).run(),
        Some(injection) => run_confined(&DOORS.dynamic(), None, injection, Policy::deny(denied), &args, user),
    };
    let worked = if file { fs::read(&marker).is_ok_and(|bytes| !bytes.is_empty()) } else { marker.is_dir() };
    (worked, outcome)
}

/// The positive control of the doors below: unconfined, each one works.
#[test]
fn other_doors_work_unconfined() {
    for (door, denied, users, file) in OTHER_DOORS {
        for &user in users {
            let (worked, outcome) = try_door(door, denied, file, None, user);
            assert!(worked, "{door} as {user:?}: {outcome:#?}");
            outcome.assert_success();
        }
    }
}

/// Once a hole (fixed): a deny entry denies the call's other doors (data/families.txt),
/// but these do the same thing and are not in the table: copy_file_range,
/// sendfile and splice write into a file under a deny of `write`;
/// open_by_handle_at opens a file for writing under a deny of `open` (root,
/// which has CAP_DAC_READ_SEARCH); pkey_mprotect changes a page's protection
/// under a deny of `mprotect`; the i386 mmap2 (int 0x80) maps memory under a
/// deny of `mmap`.
#[test]
fn a_deny_entry_shuts_every_door_to_its_call() {
    let mut escaped = Vec::new();
    for (door, denied, users, file) in OTHER_DOORS {
        for injection in [Preload, Patched, Attached, SandboxifyPreload] {
            for &user in users {
                let (worked, outcome) = try_door(door, denied, file, Some(injection), user);
                if worked {
                    escaped.push(format!(
                        "{door} under a deny of {denied} via {injection:?} as {user:?}: {:?}",
                        outcome.status
                    ));
                }
            }
        }
    }
    assert!(escaped.is_empty(), "escaped:\n{}", escaped.join("\n"));
}

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

/// The other ways a program gets privilege at exec, setgid and a file
/// capability (`setcap cap_setuid+ep`), put the loader in secure mode too:
/// patched with the library, such a program refuses a policy from its
/// unprivileged caller, and without one runs as designed.
#[test]
fn setgid_and_file_capability_programs_refuse_a_callers_policy() {
    let built = patched(&compile("escape-setuid", &[]), None);
    let setgid = built.with_file_name("escape-setgid-root");
    fs::copy(&built, &setgid).unwrap();
    chown(&setgid, Some(0), Some(0)).unwrap();
    fs::set_permissions(&setgid, fs::Permissions::from_mode(0o2755)).unwrap();
    let capable = built.with_file_name("escape-cap-setuid");
    fs::copy(&built, &capable).unwrap();
    fs::set_permissions(&capable, fs::Permissions::from_mode(0o755)).unwrap();
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

const SIBLINGS: Attempt = Attempt::new("escape-siblings");

/// A denied call's effect through every other call that reaches it (its
/// family in `data/families.txt`, derived from the kernel's sources), on
/// every path, under a deny list and under an allow list without it: the
/// effect never happens. Calls whose arguments decide are denied with those
/// arguments only; `clone3`, whose flags the filter cannot read, gets
/// ENOSYS so that libc falls back to `clone`.
#[test]
fn a_deny_entry_denies_every_call_that_reaches_its_effect() {
    let families: [(&str, &[&str], &[&str]); 6] = [
        (
            "kill",
            &[
                "tkill",
                "tgkill",
                "rt_sigqueueinfo",
                "rt_tgsigqueueinfo",
                "pidfd_send_signal",
                "fcntl-setown",
                "i386-tkill",
            ],
            &[],
        ),
        ("setxattr", &["lsetxattr", "fsetxattr", "setxattrat"], &[]),
        ("unshare", &["clone-newuser"], &["clone3-newuser"]),
        ("fork", &["clone-fork", "clone-fork-high", "i386-clone-fork"], &["clone3-fork"]),
        ("connect", &["fastopen"], &[]),
        ("bind", &["listen-autobind"], &[]),
    ];
    for (denied, killed_doors, enosys_doors) in families {
        let policies = [Policy::deny(denied), Policy::allow_all_but(denied)];
        for &door in killed_doors {
            assert_escapes_unconfined(SIBLINGS, Some(door));
            assert_held(SIBLINGS, Some(door), &EVERY_PATH, &policies, killed);
        }
        for &door in enosys_doors {
            assert_escapes_unconfined(SIBLINGS, Some(door));
            assert_held(SIBLINGS, Some(door), &EVERY_PATH, &policies, |outcome| {
                outcome.stdout == format!("{door}: ENOSYS\n")
            });
        }
    }
    // clone's flags are compared on the 32 bits the kernel reads: a high
    // bit does not slip `clone((1 << 32) | SIGCHLD)` past `== SIGCHLD`.
    let high = Policy::deny("clone(arg0 == SIGCHLD)");
    assert_held(SIBLINGS, Some("clone-fork-high"), &EVERY_PATH, &[high], killed);
}

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

/// `--preload` never leaves a program under its guard alone (the policy
/// with the start-up calls allowed as start-up makes them, looser than the
/// policy): every way ld.so would skip the library is refused before the
/// exec (125), or made to work. The evidence of the guard alone: under
/// `--deny openat` the guard lets read-only opens through, the library's
/// filter does not, so `cat` of a file after start-up is killed only if the
/// library is in force.
#[test]
fn preload_never_falls_back_to_its_guard() {
    let library = library();
    let file = fresh_dir("preload-fallback").join("file");
    fs::write(&file, "data\n").unwrap();
    let audit = compile("audit-refuse", &["-shared", "-fPIC"]);
    let audited = compile("uname", &[&format!("-Wl,--audit={}", audit.display())]);
    let sandboxify = sandboxify();
    let (sandboxify, library, file) = (sandboxify.to_str().unwrap(), library.to_str().unwrap(), file.to_str().unwrap());
    let preload = ["--preload", "--library", library, "--deny", "openat"];
    for user in USERS {
        // The control: the library in force, the open after start-up killed.
        let args: Vec<&str> = preload.iter().copied().chain(["/bin/cat", file]).collect();
        Run::new(sandboxify, &args).user(user).run().assert_killed();
        // An audit library that refuses the preload: the program's own, or LD_AUDIT.
        let args: Vec<&str> = preload.iter().copied().chain([audited.to_str().unwrap()]).collect();
        let outcome = Run::new(sandboxify, &args).user(user).run();
        outcome.assert_code(125);
        assert!(outcome.stderr.contains("it names audit libraries (DT_AUDIT)"), "{outcome:#?}");
        let args: Vec<&str> = preload.iter().copied().chain(["/bin/cat", file]).collect();
        let outcome = Run::new(sandboxify, &args).env("LD_AUDIT", &audit).user(user).run();
        outcome.assert_code(125);
        assert_eq!(outcome.stdout, "", "the program never runs");
        // Landlock file rules that do not cover the library's directory:
        // they grant its file, as they grant the program's.
        let args: Vec<&str> =
            preload.iter().copied().chain(["--fs-ro", "/usr:/etc:/lib:/lib64:/bin", "/bin/cat", file]).collect();
        Run::new(sandboxify, &args).user(user).run().assert_killed();
    }
}
