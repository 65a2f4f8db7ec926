//! `sandboxify --learn FILE`: runs PROGRAM unconfined but observed, and
//! writes the allow list it needs.
//!
//! A child process installs an observer filter that sends every call of
//! every thread to a listener, and execs PROGRAM; children of PROGRAM
//! inherit the filter. sandboxify, the parent, takes the listener from the
//! child (pidfd_getfd), records each call and lets it run, until no
//! observed process is left. (Learning ends when PROGRAM and every process
//! it started have ended; PROGRAM cannot itself use ptrace meanwhile.) The exec chain is not preserved here (sandboxify
//! has to outlive PROGRAM to write FILE); PROGRAM's exit status is.
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
use sandbox_policy::learn::{APPLY_POINT_MARKER, Companion, EARLY_POINT_MARKER, companions, observer, start_up_form};
use sandbox_policy::resolve::fallback_of;
use sandbox_policy::sys::install::Threads;
use sandbox_policy::sys::notify::{Listener, Notification};
use sandbox_policy::text::entry::parse_entry;
use sandbox_policy::text::variables::ALLOW;
use sandbox_policy::{Abi, Action, Program, Syscall, install_with_listener};

use crate::failure::Failure;
use crate::launch::{Launch, confine_tracing};
use crate::tracer::{self, Tracer};

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

/// How to answer a held call.
enum Answer {
    Run,
    Fail(i32),
}

impl Recorder {
    fn observe(&mut self, call: &Notification) -> Answer {
        let Some(abi) = call.abi else { return Answer::Run };
        let is_exec =
            abi == Abi::X86_64 && (call.nr == libc::SYS_execve as u32 || call.nr == libc::SYS_execveat as u32);
        if !self.exec_seen && call.pid == self.first && is_exec {
            // sandboxify's own exec of PROGRAM.
            self.exec_seen = true;
            self.phase = if self.preload { Phase::Loading } else { Phase::Started };
            return Answer::Run;
        }
        if call.nr == EARLY_POINT_MARKER || call.nr == APPLY_POINT_MARKER {
            if call.pid == self.first {
                self.phase = if call.nr == EARLY_POINT_MARKER { Phase::Early } else { Phase::Started };
            }
            return Answer::Fail(libc::ENOSYS);
        }
        let recorded = match self.phase {
            _ if call.pid != self.first => true,
            Phase::Loading => false,
            Phase::Early => !self.let_through_by_the_guard(abi, call),
            Phase::Started => true,
        };
        if recorded {
            self.calls.insert((abi, call.nr));
            let brought = self.companions.iter().filter(|companion| companion.brought_by(abi, call.nr, &call.args));
            self.brought.extend(brought.map(|companion| companion.entry));
        }
        Answer::Run
    }

    fn let_through_by_the_guard(&self, abi: Abi, call: &Notification) -> bool {
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

    /// Writes `entries` and renames the result over FILE. An entry with
    /// conditions is left out when the call is allowed outright, and makes
    /// the value quoted, so that the line can still be sourced.
    fn write(self, entries: &BTreeSet<String>) -> Result<(), Failure> {
        let outright = |entry: &String| entry.split_once('(').is_some_and(|(name, _)| entries.contains(name));
        let list = entries.iter().filter(|entry| !outright(entry)).cloned().collect::<Vec<_>>().join(":");
        let plain = list.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"_:".contains(&byte));
        let line = if plain { format!("{ALLOW}={list}\n") } else { format!("{ALLOW}='{list}'\n") };
        fs::write(&self.temporary, line)
            .and_then(|()| fs::rename(&self.temporary, &self.file))
            .map_err(|error| Failure::Learn(format!("cannot write {}: {error}", self.file.display())))
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.temporary);
    }
}

/// The lowest free descriptor, which is the one the child's listener will
/// get: the child starts with a copy of this process's table.
fn lowest_free_descriptor() -> Result<i32, Failure> {
    // SAFETY: open and close on a constant path.
    let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(Failure::System(format!("cannot open /dev/null: {}", std::io::Error::last_os_error())));
    }
    // SAFETY: closes the descriptor just opened.
    unsafe { libc::close(fd) };
    Ok(fd)
}

/// Runs PROGRAM observed, writes `file`, and returns PROGRAM's wait status.
/// PROGRAM runs as it will run confined, so that the paths it takes are
/// those: in the sandbox's Landlock domain, under `rules` if any.
pub fn learn(
    file: &Path,
    preload: bool,
    rules: Option<&sandbox_landlock::Plan>,
    launch: Launch,
) -> Result<i32, Failure> {
    let existing = read_existing(file)?;
    let output = Output::create(file)?;
    let observer = observer();
    // SIGCHLD is read from a descriptor, with the listener, in one poll.
    // SAFETY: sigset operations on a local set; sigprocmask on this thread.
    let (children, previous_mask) = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let mut previous: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        libc::sigprocmask(libc::SIG_BLOCK, &set, &mut previous);
        (libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK), previous)
    };
    if children < 0 {
        return Err(Failure::System(format!("--learn: signalfd: {}", std::io::Error::last_os_error())));
    }
    // The last descriptor opened before the fork: the child's table is a copy.
    let listener_fd = lowest_free_descriptor()?;
    // SAFETY: sandboxify is single-threaded here, so the child may go on
    // using anything it likes; it only installs a filter and execs.
    let child = unsafe { libc::fork() };
    if child < 0 {
        return Err(Failure::System(format!("cannot fork: {}", std::io::Error::last_os_error())));
    }
    if child == 0 {
        // SAFETY: restores the inherited signal mask for PROGRAM.
        unsafe { libc::sigprocmask(libc::SIG_SETMASK, &previous_mask, std::ptr::null_mut()) };
        let status = match tracer::become_traced()
            .map_err(|error| error.to_string())
            .and_then(|()| confine(rules).map_err(|failure| failure.to_string()))
            .and_then(|()| install_with_listener(&observer, Threads::Calling).map_err(|error| error.to_string()))
        {
            Ok(fd) if fd == listener_fd => {
                let failure = launch.exec_failure(launch.execve());
                eprintln!("sandboxify: {failure}");
                failure.exit_status()
            }
            Ok(_) => 125,
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
    let mut tracer = Tracer::attach(child)?;
    let recorder = supervise(&mut tracer, children, listener_fd, preload)?;
    while tracer.first_status.is_none() {
        let mut pending = libc::pollfd { fd: children, events: libc::POLLIN, revents: 0 };
        // SAFETY: poll on one live pollfd.
        unsafe { libc::poll(&mut pending, 1, 100) };
        drain(children);
        tracer.handle_stops();
    }
    let status = tracer.first_status.expect("loop ends when set");
    if !recorder.exec_seen {
        // The child failed before PROGRAM ran, and said why.
        return Ok(status);
    }
    let (mut entries, unknown) = recorder.entries();
    if !unknown.is_empty() {
        eprintln!("sandboxify: --learn: calls unknown to this version, left out of {}: {unknown:?}", file.display());
    }
    entries.extend(existing);
    output.write(&entries)?;
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

/// Whether `fd` is a seccomp user-notification listener.
fn is_listener(fd: i32) -> bool {
    fs::read_link(format!("/proc/self/fd/{fd}")).is_ok_and(|target| target.as_os_str() == "anon_inode:seccomp notify")
}

/// Empties the signalfd.
fn drain(children: i32) {
    let mut buffer = [0u8; 128 * 16];
    // SAFETY: reads into a live buffer; the descriptor is non-blocking.
    while unsafe { libc::read(children, buffer.as_mut_ptr().cast(), buffer.len()) } > 0 {}
}

/// Answers every held call and handles every ptrace stop until no observed
/// process is left.
fn supervise(tracer: &mut Tracer, children: i32, listener_fd: i32, preload: bool) -> Result<Recorder, Failure> {
    let system = |what: &str, error: &dyn std::fmt::Display| Failure::System(format!("--learn: {what}: {error}"));
    let child = tracer.first();
    // SAFETY: pidfd_open on our own child.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, child, 0) } as i32;
    if pidfd < 0 {
        return Err(system("pidfd_open", &std::io::Error::last_os_error()));
    }
    let mut recorder = Recorder::new(child as u32, preload);
    let listener = loop {
        // SAFETY: pidfd_getfd copies a descriptor of our own child.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd, listener_fd, 0) } as i32;
        if fd >= 0 {
            // Before the observer goes in, the child may hold something else
            // at that number for a moment (its Landlock ruleset).
            if is_listener(fd) {
                break Listener(fd);
            }
            // SAFETY: closes the copy just taken.
            unsafe { libc::close(fd) };
        }
        drain(children);
        tracer.handle_stops();
        if tracer.first_status.is_some() {
            // The child ended before installing the observer: nothing to record.
            return Ok(recorder);
        }
        std::thread::yield_now();
    };
    listener.prefer_sync_wake_up();
    loop {
        let mut fds = [
            libc::pollfd { fd: listener.0, events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: children, events: libc::POLLIN, revents: 0 },
        ];
        // SAFETY: poll on two live pollfds.
        if unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) } < 0 {
            let error = std::io::Error::last_os_error();
            if error.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(system("poll", &error));
        }
        if fds[1].revents != 0 {
            drain(children);
            tracer.handle_stops();
        }
        if fds[0].revents & libc::POLLIN != 0 {
            let call = match listener.receive() {
                Ok(call) => call,
                // The caller died between the wake-up and the receive.
                Err(error) if error.0 == libc::ENOENT => continue,
                Err(error) => return Err(system("receiving a call", &error)),
            };
            let answered = match recorder.observe(&call) {
                Answer::Run => listener.run(call.id),
                Answer::Fail(errno) => listener.fail(call.id, errno),
            };
            answered.map_err(|error| system("answering a call", &error))?;
        } else if fds[0].revents != 0 {
            // No observed process uses the filter any more.
            return Ok(recorder);
        }
    }
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
