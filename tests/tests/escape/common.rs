//! The plumbing every escape test shares: the policy as an operator writes
//! it, the injection paths, the attempt programs and how to build them,
//! fresh markers, patched copies, and running an attempt confined
//! (`run_confined`), on every path where it applies (`assert_held`) and
//! unconfined as its positive control (`assert_escapes_unconfined`).

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use sandbox_tests::{Outcome, Run, USERS, User, artifact, compile, fresh_dir, library, sandboxify};

/// A policy as an operator writes it: an optional allow list and a deny list.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Policy {
    allow: Option<&'static str>,
    deny: &'static str,
}

impl Policy {
    pub(crate) const fn deny(deny: &'static str) -> Policy {
        Policy { allow: None, deny }
    }

    /// A broad allow list with `deny` taken out of it.
    pub(crate) const fn allow_all_but(deny: &'static str) -> Policy {
        Policy { allow: Some("@system-service"), deny }
    }

    pub(crate) fn variables(&self) -> Vec<(&'static str, &'static str)> {
        let mut variables = vec![("SECCOMP_SYSCALL_DENY", self.deny)];
        if let Some(allow) = self.allow {
            variables.push(("SECCOMP_SYSCALL_ALLOW", allow));
        }
        variables
    }

    pub(crate) fn options(&self) -> Vec<&'static str> {
        let mut options = vec!["--deny", self.deny];
        if let Some(allow) = self.allow {
            options.extend(["--allow", allow]);
        }
        options
    }

    /// The policy in the file format, for `patchelf-helper --policy`.
    pub(crate) fn file_text(&self) -> String {
        let allow = self.allow.map(|allow| format!("allow {allow}\n")).unwrap_or_default();
        format!("{allow}deny {}\n", self.deny)
    }
}

/// How the sandbox is put around a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Injection {
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
pub(crate) const EVERY_PATH: [Injection; 6] =
    [Preload, Patched, Attached, Sandboxify, SandboxifyStatic, SandboxifyPreload];
/// The paths that apply the policy after the dynamic loader has started the
/// program, so that a deny list may name calls the loader needs.
pub(crate) const AFTER_START_UP: [Injection; 5] = [Preload, Patched, Attached, SandboxifyStatic, SandboxifyPreload];

/// An escape program: a C source in `tests/c` and the flags to build it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Attempt {
    pub(crate) source: &'static str,
    pub(crate) flags: &'static [&'static str],
}

impl Attempt {
    pub(crate) const fn new(source: &'static str) -> Attempt {
        Attempt { source, flags: &[] }
    }

    pub(crate) fn dynamic(&self) -> PathBuf {
        compile(self.source, self.flags)
    }

    pub(crate) fn static_build(&self) -> PathBuf {
        let flags: Vec<&str> = self.flags.iter().copied().chain(["-static"]).collect();
        compile(self.source, &flags)
    }
}

/// A fresh marker path, in a directory every user may write to.
pub(crate) fn marker() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    fresh_dir(&format!("escape-{}", NEXT.fetch_add(1, Ordering::Relaxed))).join("escaped")
}

/// A copy of `program` with libsandbox.so added as a dependency, and with
/// `policy` recorded in it if given. Made once per program and policy.
pub(crate) fn patched(program: &Path, policy: Option<&str>) -> PathBuf {
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
pub(crate) fn run_confined(
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
pub(crate) fn assert_held(
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
pub(crate) fn assert_escapes_unconfined(attempt: Attempt, mode: Option<&str>) {
    for program in [attempt.dynamic(), attempt.static_build()] {
        let marker = marker();
        let args: Vec<&str> = mode.into_iter().chain([marker.to_str().unwrap()]).collect();
        let outcome = Run::new(&program, &args).user(User::Nobody).run();
        assert!(marker.exists(), "the control did not escape: {} {mode:?}: {outcome:#?}", program.display());
    }
}

pub(crate) fn killed(outcome: &Outcome) -> bool {
    outcome.killed_by_seccomp()
}

/// The attempt's child was killed by the filter (the parent reports it).
pub(crate) fn child_killed(outcome: &Outcome) -> bool {
    outcome.stdout.contains(&format!("killed by signal {}", libc::SIGSYS))
}

pub(crate) const DENY_EXECVE: Policy = Policy::deny("execve");
pub(crate) const DENY_MKDIR: Policy = Policy::deny("mkdir");
