//! `libsandbox.so`: confines a dynamically linked program with a seccomp
//! filter, with no change to the program.
//!
//! ```text
//! LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libsandbox.so SECCOMP_SYSCALL_DENY=uname ./app
//! ```
//!
//! The constructor gathers up to two policies: one recorded in the program's
//! own ELF file by `patchelf-helper --policy` (see [`objects`]), and one
//! from the environment, whose variables it removes. Each becomes a filter;
//! stacked, the second can only add restrictions to the first. It installs
//! them at once, in the constructor, which ld.so runs before any other
//! initialisation code (the library is linked with `-z initfirst`): ld.so
//! has loaded and relocated every object, and no constructor of the
//! program's or its libraries', no `DT_PREINIT_ARRAY` function, not even
//! libc's initialisation has run. Some policies go in earlier still, while
//! ld.so relocates the library (see [`early`]).
//!
//! Not later: interposing `__libc_start_main` (minijail's point) saves no
//! system call on the programs we measured (the learned lists are the same),
//! and it is not reliable: a program with its own `_start`, or musl, which
//! calls it before library constructors, would run unconfined.
//!
//! Any failure ends the process with status 125 and one line on stderr before
//! the program's code runs: a program is never started unconfined after a
//! policy was asked for.
//!
//! The library is `no_std`: linking std would pull in libgcc_s, whose loading
//! alone costs more start-up time than everything the sandbox does.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

mod early;
mod environment;
mod fail;
mod files;
mod kill_report;
mod landlock;
mod objects;
mod runtime;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::{c_char, c_int};

use sandbox_landlock::Settings;
use sandbox_policy::learn::APPLY_POINT_MARKER;
use sandbox_policy::resolve::Base;
use sandbox_policy::sys::install::Threads;
use sandbox_policy::sys::report::{self, Answered, Answering, Reported, Reporter};
use sandbox_policy::sys::scope;
use sandbox_policy::text::attached;
use sandbox_policy::text::file;
use sandbox_policy::text::variables::{self, Counted, Variables};
use sandbox_policy::{Policy, Program, install};

use crate::fail::fail;

/// An ELF note header and its owner's name (see [`attached::LIBRARY_NOTE_OWNER`]).
#[repr(C, align(4))]
struct Note {
    name_size: u32,
    descriptor_size: u32,
    kind: u32,
    name: [u8; 8],
}

// The linker gives `.note.*` sections a PT_NOTE segment, where tools find it.
#[used]
#[unsafe(link_section = ".note.sandbox")]
static IDENTITY: Note = Note {
    name_size: attached::LIBRARY_NOTE_OWNER.len() as u32 + 1,
    descriptor_size: 0,
    kind: attached::LIBRARY_NOTE_TYPE,
    name: *b"sandbox\0",
};

/// A filter to install (none where the early phase installed the policy),
/// with the line to print once it is.
struct Filter {
    program: Option<Program>,
    announcement: Option<String>,
    /// Its policy is an allow list, which may forbid the calls that
    /// install another filter.
    allow_list: bool,
}

// By hand rather than with the `ctor` crate: glibc calls the functions of
// `.init_array` with argc, argv and the environment, and before libc's own
// initialisation that argument is the only way to the environment.
#[used]
#[unsafe(link_section = ".init_array")]
static ON_LOAD: extern "C" fn(c_int, *mut *mut c_char, *mut *mut c_char) = on_load;

extern "C" fn on_load(_argc: c_int, _argv: *mut *mut c_char, environment: *mut *mut c_char) {
    let early = early::take();
    // Where the early phase installed every policy, the constructor only
    // checks that nothing changed since: its few allocations fit the early
    // phase's arena, whose pages are in already, where malloc's first use
    // would cost a getrandom, two brk calls and fresh pages. Not for more
    // (the arena takes back only its top block: a policy compiled here
    // would leave more pages behind than malloc), and only until a
    // reporter could start a thread (the arena is single-threaded).
    let installed_all = |early: &early::Early| early.policies.iter().all(|(_, _, installed)| installed.is_some());
    let arena = early.as_ref().filter(|early| installed_all(early)).map(|_| runtime::ArenaScope::enter());
    // Before anything that could end the process: a kill of the filter this
    // image was exec'd under is named too.
    kill_report::adopt_inherited();
    let variables = environment::take(environment).unwrap_or_else(|error| fail(&error));
    // What the early phase read, unless the environment has changed since
    // (program code ran in between: IFUNC resolvers).
    let policies = match early {
        Some(early) if early.variables == variables => early.policies,
        _ => match requested_policies(&variables) {
            Some(policies) => policies.into_iter().map(|(source, policy)| (source, policy, None)).collect(),
            None => return,
        },
    };
    let installed_early = policies.iter().any(|(_, _, installed)| installed.is_some());
    let secure = is_secure();
    // The caller of a setuid, setgid or file-capability program steers
    // nothing: not where a report is written (root would append to any
    // file), not what is printed, not Landlock, not learning. Its variables
    // were still removed; a policy it asked for was refused above.
    let variables = if secure { Variables::default() } else { variables };
    let reporting = kill_report::Reporting {
        kills: variables.report_kills().unwrap_or_else(|error| fail(&error)),
        json: variables.report_json.as_deref(),
    };
    // The filters with calls to name at exit (`log`, and the errno and trap
    // actions asked for), which one reporter answers. Kills are named here.
    let counted =
        if secure { Counted::NOTHING } else { variables.report_counts().unwrap_or_else(|error| fail(&error)) };
    let reported = Reported { counted, kills: false };
    let compiled: Vec<_> = policies
        .into_iter()
        .map(|(source, policy, installed)| {
            let compiled =
                installed.is_none().then(|| kill_report::compile_reporting(source, &policy, reporting)).transpose();
            let program = compiled.unwrap_or_else(|error| fail(&format!("{source}{error}")));
            (source, policy, installed, program)
        })
        .collect();
    // One filter of a process can send its errno answers to the reporter
    // (see sandbox_policy::sys::report): the environment's, which comes
    // last, before the program's attached one.
    let errno_counted = counted.errno.then(|| {
        compiled.iter().rposition(|(_, _, _, program)| program.as_ref().is_some_and(report::has_errno_answers))
    });
    let mut answered = Vec::new();
    let filters: Vec<Filter> = compiled
        .into_iter()
        .enumerate()
        .map(|(index, (source, policy, installed, mut program))| {
            let announcement = variables.verbose().then(|| {
                let (size, when) = match (installed, &program) {
                    (Some(size), _) => (size, " as ld.so loaded the library"),
                    (None, program) => (program.as_ref().map_or(0, |program| program.insns().len()), ""),
                };
                format!("{source}{policy} ({size} BPF instructions installed{when}, before any constructor)")
            });
            if let Some(reporting) = program.as_mut().filter(|program| report::needs_reporter(program, reported)) {
                answered.push(Answered { source, policy: policy.clone(), program: reporting.clone() });
                *reporting = report::with_stops_for_reporter(reporting, errno_counted == Some(Some(index)));
            }
            Filter { program, announcement, allow_list: policy.base() == Base::AllowList }
        })
        .collect();
    drop(arena);
    let answering = match answered.is_empty() {
        true => None,
        false => Some(start_reporter(&variables, answered, reported)),
    };
    // Landlock first: its calls need not be in the seccomp policy.
    if variables.asks_for_landlock() {
        landlock::apply(&variables, environment);
    }
    // Learning, the early phase installed nothing, so the mark cannot meet a filter.
    let file_rules = variables.file_rules();
    apply(filters, answering, variables.learning() && !installed_early, !installed_early, file_rules);
}

/// Starts the reporter of the `answered` filters (in the order they are
/// installed), which traces this process from now on; they are installed
/// through what it returns.
fn start_reporter(variables: &Variables, mut answered: Vec<Answered>, reported: Reported) -> Answering {
    answered.reverse();
    let json = variables.report_json.as_deref().map(|path| {
        report::Output::file(path).unwrap_or_else(|error| {
            fail(&format!("cannot open the report {path} ({}): {error}", variables::REPORT_JSON))
        })
    });
    let out = match variables.report.as_deref() {
        Some(path) => report::Output::file(path)
            .unwrap_or_else(|error| fail(&format!("cannot open the report {path} ({}): {error}", variables::REPORT))),
        None => report::Output::stderr()
            .unwrap_or_else(|error| fail(&format!("cannot write the report to stderr: {error}"))),
    };
    let file_rules_follow = variables.file_rules();
    let reporter =
        Reporter { prefix: "libsandbox: ", out, json, filters: answered, gate: None, reported, file_rules_follow };
    reporter.start().unwrap_or_else(|error| fail(&error))
}

/// How errors and named kills introduce the program's attached policy.
const ATTACHED_SOURCE: &str = "attached policy: ";

/// Whether the program runs in secure-execution mode (setuid, setgid, file
/// capabilities).
fn is_secure() -> bool {
    // SAFETY: getauxval only reads the auxiliary vector.
    unsafe { libc::getauxval(libc::AT_SECURE) != 0 }
}

/// The policies `variables` and the program's own ELF file ask for, in the
/// order they stack: the attached one, then the environment's. `None` when
/// neither says anything; a refusal ends the process (125).
pub(crate) fn requested_policies(variables: &Variables) -> Option<Vec<(&'static str, Policy)>> {
    let attached = objects::attached_policy();
    if attached.is_none() && variables.is_empty() {
        return None;
    }
    let secure = is_secure();
    let mut policies: Vec<(&str, Policy)> = Vec::new();
    if let Some(text) = attached {
        let text = core::str::from_utf8(text).unwrap_or_else(|_| fail(&"attached policy: not valid UTF-8"));
        let lists = file::parse_attached(text).unwrap_or_else(|error| fail(&error));
        policies.push((ATTACHED_SOURCE, Policy::new(lists)));
    }
    if secure && (variables.asks_for_policy() || variables.asks_for_landlock()) && attached.is_none() {
        // The caller of a setuid/setgid/capability program is not trusted to
        // choose its policy: an errno rule on setuid() could keep it root.
        fail(&"refusing a policy from the environment of a setuid, setgid or file-capability program");
    }
    // With an attached policy, a secure program honours only that one.
    if !secure {
        match variables.lists(&mut files::Libc) {
            Ok(Some(lists)) => policies.push(("", Policy::new(lists))),
            Ok(None) => {}
            Err(error) => fail(&error),
        }
        // With Landlock rules and no policy, the program must still not type
        // into the terminal it shares with the caller; and seccomp closes
        // what the network rules leave open: a guard of its own.
        if variables.asks_for_landlock() {
            let settings = Settings::from_variables(&variables.landlock).unwrap_or_else(|error| fail(&error));
            let network = settings.seccomp_entries();
            if policies.is_empty() || !network.is_empty() {
                policies.push(("", Policy::guard(&network)));
            }
        }
    }
    Some(policies)
}

/// Marks a point of the library's start-up for sandboxify's learn mode (see
/// [`sandbox_policy::learn`]). Under learn mode's observer the tracer
/// records the call and fails it with ENOSYS, as the kernel does without
/// one. Either way nothing happens.
fn mark_point(marker: u32) {
    // SAFETY: a system call with no arguments and no effect.
    unsafe { libc::syscall(libc::c_long::from(marker)) };
}

/// Installs `filters`; with `mark` (sandboxify's learn mode), marks the
/// apply point first (see [`sandbox_policy::learn`]); with `confine`, keeps
/// the program from tracing outside the sandbox first, unless the early
/// phase did (`file_rules`: Landlock rules that handle files are in force).
fn apply(filters: Vec<Filter>, answering: Option<Answering>, mark: bool, confine: bool, file_rules: bool) {
    if confine && !filters.is_empty() {
        // Its calls come before the filters, so no policy needs to list them.
        if let Err(error) = scope::confine_tracing(file_rules) {
            fail(&format!("cannot confine tracing to the sandbox (Landlock): {error}"));
        }
    }
    if mark {
        mark_point(APPLY_POINT_MARKER);
    }
    // Stacked filters make the same policy in any order, but installing one
    // takes prctl, getrandom, seccomp and the probe's getpgrp, which an
    // allow list installed before may forbid: allow lists go last.
    let (mut filters, mut answering) = (filters, answering);
    filters.sort_by_key(|filter| filter.allow_list);
    for filter in filters {
        let installed = match (&filter.program, &mut answering) {
            (None, _) => Ok(()),
            (Some(program), Some(answering)) => answering.install(program, Threads::All),
            (Some(program), None) => install(program, Threads::All),
        };
        if let Err(error) = installed {
            fail(&error);
        }
        if let Some(line) = filter.announcement {
            fail::say(&line);
        }
    }
}
