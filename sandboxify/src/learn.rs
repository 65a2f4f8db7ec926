//! `sandboxify --learn FILE`: runs PROGRAM unconfined but observed, and
//! writes the allow list it needs.
//!
//! A child process installs an observer filter that stops every call of
//! every thread for its tracer, and execs PROGRAM; children of PROGRAM
//! inherit the filter, and become tracees too. sandboxify, the parent and
//! tracer ([`crate::tracer`]), records each call and lets it run, until no
//! observed process is left. (Learning ends when PROGRAM and every process
//! it started have ended; PROGRAM cannot itself use ptrace meanwhile.) The
//! exec chain is not preserved here (sandboxify has to outlive PROGRAM to
//! write FILE); PROGRAM's exit status is.
//!
//! What is recorded is what the same flags need without `--learn`:
//! - plain: everything from PROGRAM's first instruction on; sandboxify's own
//!   exec is not (sandboxify's exec gate does not need it);
//! - `--preload`: in PROGRAM's first process, only what libsandbox.so's
//!   filters, or --preload's guard, can see: after the library's early point
//!   ([`EARLY_POINT_MARKER`], made while ld.so relocates it) the calls the
//!   guard does not let through (it lets the start-up calls through in their
//!   start-up forms: [`start_up_form`]), and after its constructor's apply
//!   point ([`APPLY_POINT_MARKER`]) everything; in every other process,
//!   everything, because the filter a process installs applies to its
//!   children from their first instruction, loader included.
//!
//! The observed programs run without a vDSO (see [`crate::tracer`]), so that
//! the calls it would answer unseen are recorded when they are made. Added
//! to what was seen: the older call libc falls back to for each newer one,
//! and the companions of what was seen ([`companions`]): calls made only on
//! paths that one observed run rarely takes, which the observer's slowness
//! all but hides (races between threads).
//! A FILE that exists is merged into, so that several runs can exercise
//! several code paths.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use sandbox_policy::compile::bpf::{self, SeccompData};
use sandbox_policy::export::oci;
use sandbox_policy::learn::{APPLY_POINT_MARKER, Companion, EARLY_POINT_MARKER, companions, observer, start_up_form};
use sandbox_policy::resolve::fallback_of;
use sandbox_policy::sys::install::Threads;
use sandbox_policy::text::entry::parse_entry;
use sandbox_policy::text::variables::ALLOW;
use sandbox_policy::{Abi, Action, Arch, Origin, Program, Settings, Switches, Syscall, Text, install};

use crate::cli::LearnFormat;
use crate::failure::Failure;
use crate::launch::{Launch, confine_tracing};
use crate::tracer::{self, Answer, Tracer};
use sandbox_policy::sys::trace::Call;

/// Records calls as they arrive.
struct Recorder {
    /// PROGRAM's first process (its main thread's id).
    first: u32,
    /// How far PROGRAM's first process is.
    phase: Phase,
    preload: bool,
    /// What --preload's guard lets through (see [`start_up_form`]).
    start_up_form: Program,
    /// Whether sandboxify's own exec has been let through.
    exec_seen: bool,
    calls: BTreeSet<(Abi, u32)>,
    /// What may bring companions, and the companions brought.
    companions: Vec<Companion>,
    brought: BTreeSet<&'static str>,
}

/// Where PROGRAM's first process is, as the filters it will run under see it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before the exec, or with `--preload` before the library's early
    /// point: nothing of it is PROGRAM's.
    Loading,
    /// Between the library's early point and its constructor: the calls
    /// --preload's guard does not let through are.
    Early,
    /// Past the exec, or the library's apply point: everything is.
    Started,
}

impl Recorder {
    fn observe(&mut self, call: &Call) -> Answer {
        let Some(abi) = call.abi else { return Answer::Run };
        let is_exec =
            abi == Abi::X86_64 && (call.nr == libc::SYS_execve as u32 || call.nr == libc::SYS_execveat as u32);
        if !self.exec_seen && call.tid == self.first && is_exec {
            // sandboxify's own exec of PROGRAM.
            self.exec_seen = true;
            self.phase = if self.preload { Phase::Loading } else { Phase::Started };
            return Answer::Run;
        }
        if call.nr == EARLY_POINT_MARKER || call.nr == APPLY_POINT_MARKER {
            if call.tid == self.first {
                self.phase = if call.nr == EARLY_POINT_MARKER { Phase::Early } else { Phase::Started };
            }
            return Answer::Fail(libc::ENOSYS);
        }
        let recorded = match self.phase {
            _ if call.tid != self.first => true,
            Phase::Loading => false,
            Phase::Early => !self.let_through_by_the_guard(abi, call),
            Phase::Started => true,
        };
        if recorded {
            self.calls.insert((abi, call.nr));
            let brought = self.companions.iter().filter(|companion| companion.brought_by(abi, call.nr, &call.args));
            self.brought.extend(brought.map(|companion| companion.entry));
        }
        if call.starts_untraced() {
            // Its child would go unobserved, every call of it failing.
            return Answer::Fail(libc::EPERM);
        }
        Answer::Run
    }

    fn let_through_by_the_guard(&self, abi: Abi, call: &Call) -> bool {
        let data = SeccompData {
            nr: call.nr,
            arch: abi.audit_arch(),
            instruction_pointer: call.instruction_pointer,
            args: call.args,
        };
        let verdict = bpf::run(self.start_up_form.insns(), &data).map(|verdict| Action::from_ret(verdict.ret));
        verdict == Ok(Some(Action::Allow))
    }

    /// The entries for what was recorded: names, with the older calls libc
    /// falls back to, and the companions; and the numbers of unknown calls.
    fn entries(&self) -> (BTreeSet<String>, Vec<u32>) {
        let mut names = BTreeSet::new();
        let mut unknown = Vec::new();
        for &(abi, nr) in &self.calls {
            match Syscall::by_number(abi, nr) {
                Some(syscall) => {
                    names.insert(syscall.name());
                    names.extend(fallback_of(syscall).map(Syscall::name));
                }
                None => unknown.push(nr),
            }
        }
        let always = self.companions.iter().filter(|companion| companion.trigger.is_none());
        let companions = always.map(|companion| companion.entry).chain(self.brought.iter().copied());
        let entries = names.into_iter().chain(companions).map(str::to_owned).collect();
        (entries, unknown)
    }
}

/// The entries an existing learned FILE holds: one `SECCOMP_SYSCALL_ALLOW=`
/// line, its value quoted when an entry has conditions, as written by an
/// earlier run.
fn read_existing(file: &Path) -> Result<BTreeSet<String>, Failure> {
    let text = match fs::read_to_string(file) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(error) => return Err(Failure::Learn(format!("{}: {error}", file.display()))),
    };
    let not_ours =
        || Failure::Learn(format!("{}: not a list written by --learn; refusing to overwrite it", file.display()));
    let value = text.strip_suffix('\n').unwrap_or(&text).strip_prefix(&format!("{ALLOW}=")).ok_or_else(not_ours)?;
    let list = match value.strip_prefix('\'') {
        Some(quoted) => quoted.strip_suffix('\'').ok_or_else(not_ours)?,
        None => value,
    };
    if list.contains(['\n', '\'']) {
        return Err(not_ours());
    }
    list.split(':')
        .filter(|entry| !entry.is_empty())
        .map(|entry| parse_entry(entry).map(|_| entry.to_owned()).map_err(|_| not_ours()))
        .collect()
}

/// `SECCOMP_SYSCALL_ALLOW=list` as a line a shell can source: quoted when
/// an entry has conditions.
pub fn allow_line(list: &str) -> String {
    let plain = list.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"_:".contains(&byte));
    if plain { format!("{ALLOW}={list}\n") } else { format!("{ALLOW}='{list}'\n") }
}

/// Where the list is written before it is renamed over FILE: created before
/// PROGRAM runs, so that a FILE that cannot be written is found out then.
struct Output {
    file: PathBuf,
    temporary: PathBuf,
}

impl Output {
    fn create(file: &Path) -> Result<Output, Failure> {
        let name = file.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let temporary = file.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temporary)
            .map_err(|error| Failure::Learn(format!("cannot write {}: {error}", file.display())))?;
        Ok(Output { file: file.to_path_buf(), temporary })
    }

    /// Writes `entries` as `format` and renames the result over FILE. An
    /// entry with conditions is left out when the call is allowed outright,
    /// and makes the value quoted, so that the line can still be sourced.
    fn write(self, entries: &BTreeSet<String>, format: LearnFormat) -> Result<(), Failure> {
        let outright = |entry: &String| entry.split_once('(').is_some_and(|(name, _)| entries.contains(name));
        let list = entries.iter().filter(|entry| !outright(entry)).cloned().collect::<Vec<_>>().join(":");
        let text = match format {
            LearnFormat::Variables => allow_line(&list),
            // The policy the list makes as SECCOMP_SYSCALL_ALLOW, as a profile.
            LearnFormat::Oci => {
                let origin = Origin::Option("--learn");
                let allow = Some(Text { origin: &origin, text: &list });
                let policy =
                    Settings { allow, deny: None, default_action: None, switches: Switches::default() }.policy()?;
                let exported = oci::profile(&policy.expect("an allow list is a policy"), &[Arch::HOST])?;
                for note in &exported.notes {
                    eprintln!("sandboxify: --learn: {note}");
                }
                oci::to_json(&exported.profile)
            }
        };
        fs::write(&self.temporary, text)
            .and_then(|()| fs::rename(&self.temporary, &self.file))
            .map_err(|error| Failure::Learn(format!("cannot write {}: {error}", self.file.display())))
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.temporary);
    }
}

/// Runs PROGRAM observed, writes `file`, and returns PROGRAM's wait status.
/// PROGRAM runs as it will run confined, so that the paths it takes are
/// those: in the sandbox's Landlock domain, under `rules` if any.
pub fn learn(
    file: &Path,
    preload: bool,
    format: LearnFormat,
    rules: Option<&sandbox_landlock::Plan>,
    launch: Launch,
) -> Result<i32, Failure> {
    if format == LearnFormat::Oci && file.exists() {
        return Err(Failure::Learn(format!(
            "{}: exists, and --format oci does not merge into a profile: learn into a list (--format variables) \
             to merge runs, then --export oci",
            file.display()
        )));
    }
    let existing = read_existing(file)?;
    let output = Output::create(file)?;
    let observer = observer();
    // SAFETY: sandboxify is single-threaded here, so the child may go on
    // using anything it likes; it only installs a filter and execs.
    let child = unsafe { libc::fork() };
    if child < 0 {
        return Err(Failure::System(format!("cannot fork: {}", std::io::Error::last_os_error())));
    }
    if child == 0 {
        let status = match tracer::become_traced()
            .map_err(|error| error.to_string())
            .and_then(|()| confine(rules).map_err(|failure| failure.to_string()))
            .and_then(|()| install(&observer, Threads::Calling).map_err(|error| error.to_string()))
        {
            Ok(()) => {
                let failure = launch.exec_failure(launch.execve());
                failure.say();
                failure.exit_status()
            }
            Err(error) => {
                eprintln!("sandboxify: --learn: {error}");
                125
            }
        };
        // SAFETY: ends the child without running the parent's exit handlers.
        unsafe { libc::_exit(status) };
    }
    // Ctrl-C reaches PROGRAM too; sandboxify must live on to write FILE.
    // SAFETY: changes this process's dispositions only.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGQUIT, libc::SIG_IGN);
    }
    let tracer = Tracer::attach(child)?;
    let mut recorder = Recorder::new(tracer.first() as u32, preload);
    let status = tracer.run(|call| recorder.observe(call))?;
    if !recorder.exec_seen {
        // The child failed before PROGRAM ran, and said why.
        return Ok(status);
    }
    let (mut entries, unknown) = recorder.entries();
    if !unknown.is_empty() {
        eprintln!("sandboxify: --learn: calls unknown to this version, left out of {}: {unknown:?}", file.display());
    }
    entries.extend(existing);
    output.write(&entries, format)?;
    Ok(status)
}

/// Puts the calling process where PROGRAM runs when confined: the
/// sandbox's Landlock domain ([`confine_tracing`]) and `rules`.
fn confine(rules: Option<&sandbox_landlock::Plan>) -> Result<(), Failure> {
    if let Some(rules) = rules {
        crate::landlock::enforce(rules, false)?;
    }
    confine_tracing()
}

impl Recorder {
    fn new(first: u32, preload: bool) -> Recorder {
        Recorder {
            first,
            phase: Phase::Loading,
            preload,
            start_up_form: start_up_form(),
            exec_seen: false,
            calls: BTreeSet::new(),
            companions: companions(),
            brought: BTreeSet::new(),
        }
    }
}
