//! The early phase, run while ld.so relocates this library.
//!
//! The constructor runs before any other initialisation code (the library
//! asks for that with `DF_1_INITFIRST`), but ld.so runs code before any
//! constructor too: the IFUNC resolvers of the objects it relocates after
//! this library (the program among them). A deny list that allows every
//! start-up call ([`sandbox_policy::compile::start_up::allows_start_up`]) goes in
//! earlier, whole: from the resolver of an IFUNC of this library, which
//! ld.so calls when it relocates the library. Any other policy, and any
//! policy when the environment holds an allow list or a policy file, waits
//! for the constructor (see `start_up` for why). When one waits, the early
//! phase makes sure no other object asks to be initialised first.
//!
//! The resolver runs before libc's own initialisation: `environ` is not set
//! yet (the environment is read from the initial stack), and it must not
//! unwind. The library is linked with `-z now` (see `build.rs`), so its
//! other relocations, the calls into libc included, are done by then: the
//! linker puts an IFUNC's relocation last.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};

use sandbox_policy::compile::start_up;
use sandbox_policy::learn::EARLY_POINT_MARKER;
use sandbox_policy::sys::install::Threads;
use sandbox_policy::sys::report::{self, Reported};
use sandbox_policy::sys::scope;
use sandbox_policy::text::variables::{Counted, Variables};
use sandbox_policy::{Policy, Program, install};

use crate::fail::fail;
use crate::{environment, is_secure, kill_report, mark_point, objects, requested_policies, runtime};

core::arch::global_asm!(
    ".globl sandbox_early_hook",
    ".hidden sandbox_early_hook",
    ".type sandbox_early_hook, @gnu_indirect_function",
    ".set sandbox_early_hook, {resolver}",
    resolver = sym resolve_early_hook,
);

unsafe extern "C" {
    /// An IFUNC: calling it once makes the linker give it the relocation
    /// whose resolution is the early phase. It does nothing.
    fn sandbox_early_hook();
}

/// What the early phase leaves for the constructor.
pub struct Early {
    /// The variables it read.
    pub variables: Variables,
    /// The policies, each with the size of its filter if it went in early;
    /// `None` when the constructor installs it: one that does not allow
    /// every start-up call, one with `log` actions (permissive mode is no
    /// boundary, and its reporter cannot start this early), or one whose
    /// errno answers are counted (in force early as a guard).
    pub policies: Vec<(&'static str, Policy, Option<usize>)>,
}

/// How a policy went in early.
enum Installed {
    /// Whole: the constructor checks it is unchanged.
    Whole,
    /// As a guard until the constructor installs it whole.
    Guard,
}

/// Set by the resolver, taken by the constructor.
static EARLY: AtomicPtr<Early> = AtomicPtr::new(ptr::null_mut());

extern "C" fn nothing() {}

extern "C" fn resolve_early_hook() -> extern "C" fn() {
    // libc's malloc is not ready before libc's initialisation.
    let arena = runtime::ArenaScope::enter();
    if let Some(early) = guard() {
        EARLY.store(Box::into_raw(Box::new(early)), Ordering::Release);
    }
    drop(arena);
    nothing
}

/// Ends the process (125) if another object asks ld.so to initialise it
/// first: its code, and the program's `DT_PREINIT_ARRAY`, would run before
/// the constructor installs the policy. Nothing has been initialised yet.
fn ensure_initialised_first() {
    if let Some(name) = objects::other_object_initialised_first() {
        fail(&alloc::format!(
            "{name} asks to be initialised first (DF_1_INITFIRST), so its code would run before the filter; \
             sandboxify without --preload confines it"
        ));
    }
}

/// What the early phase did, if anything (see [`Early`]).
pub fn take() -> Option<Early> {
    // SAFETY: the IFUNC resolved to `nothing`, which takes no arguments.
    unsafe { sandbox_early_hook() };
    let early = EARLY.swap(ptr::null_mut(), Ordering::Acquire);
    // SAFETY: the pointer came from Box::into_raw and the swap hands it out once.
    (!early.is_null()).then(|| *unsafe { Box::from_raw(early) })
}

/// Reads the policies as the constructor would, and installs those that
/// can be in force before start-up ends. A refusal ends the process (125)
/// here, before any program code. Only at start-up: loaded later with
/// dlopen, the library confines the program from then on, whatever ran
/// before, and the environment on the initial stack may be stale (libc
/// copies it on the first setenv that adds a variable).
fn guard() -> Option<Early> {
    if environment::libc_started() {
        return None;
    }
    let variables = environment::initial()?.unwrap_or_else(|error| fail(&error));
    if variables.learning() && !is_secure() {
        mark_point(EARLY_POINT_MARKER);
    }
    // An allow list rarely allows every start-up call, and reading it here,
    // with no malloc yet, costs more than in the constructor: it waits.
    if variables.allow.is_some() || variables.policy_file.is_some() {
        ensure_initialised_first();
        return None;
    }
    let policies = requested_policies(&variables)?;
    // The caller of a setuid program steers none of this (as in the constructor).
    let secure = is_secure();
    let reporting = kill_report::Reporting {
        kills: secure || variables.report_kills().unwrap_or_else(|error| fail(&error)),
        json: variables.report_json.as_deref().filter(|_| !secure),
    };
    // A policy with calls to name at exit waits for the constructor, which
    // starts their reporter; one whose errno answers it counts goes in now
    // as a guard that fails them with ENOSYS until then (the constructor
    // installs it whole over the guard, which sends them on to its
    // listener: see sandbox_policy::sys::report::to_listener).
    let counted =
        if secure { Counted::NOTHING } else { variables.report_counts().unwrap_or_else(|error| fail(&error)) };
    let reported = Reported { counted, kills: false };
    // What a filter this image was exec'd under allows shapes what these
    // filters tell the images exec'd under them.
    kill_report::adopt_inherited();
    let early: Vec<Option<(Program, Installed)>> = policies
        .iter()
        .map(|(source, policy)| {
            let compiled = start_up::allows_start_up(policy)
                .then(|| kill_report::compile_reporting(source, policy, reporting))
                .transpose();
            compiled.unwrap_or_else(|error| fail(&alloc::format!("{source}{error}")))
        })
        .map(|program| {
            program.and_then(|program| match report::needs_reporter(&program, reported) {
                false => Some((program, Installed::Whole)),
                true if counted.errno => Some((report::to_listener(&program), Installed::Guard)),
                true => None,
            })
        })
        .collect();
    if early.iter().any(Option::is_some) {
        // Landlock rules that handle files are in force, or the constructor
        // enforces them after this.
        if let Err(error) = scope::confine_tracing(variables.file_rules()) {
            fail(&alloc::format!("cannot confine tracing to the sandbox (Landlock): {error}"));
        }
    }
    for (program, _) in early.iter().flatten() {
        install(program, Threads::All).unwrap_or_else(|error| fail(&error));
    }
    if early.iter().any(Option::is_none) {
        ensure_initialised_first();
    }
    let sizes = early.iter().map(|installed| match installed {
        Some((program, Installed::Whole)) => Some(program.insns().len()),
        Some((_, Installed::Guard)) | None => None,
    });
    let policies = policies.into_iter().zip(sizes).map(|((source, policy), size)| (source, policy, size)).collect();
    Some(Early { variables, policies })
}
