//! The reporter: names what the kernel would do to a program's calls
//! unseen. Permissive mode's calls first: under a policy with `log` actions,
//! the calls that would have been violations are reported to the user who
//! ran the program, by name and with their integer arguments, without root
//! and without the audit log (which ordinary users and containers usually
//! cannot read). Besides, as [`Reported`] asks: the calls trap actions
//! trap, counted at exit (from the SIGSYS), the calls errno actions fail,
//! counted at exit (the reporter fails them as a seccomp listener: see
//! [`Answering`]), and sandboxify's kills, named as they happen.
//!
//! The filter stops the `log` calls for a tracer instead
//! ([`with_stops_for_reporter`]), which only a call the policy lets run
//! may be: a stopped call runs once its tracer is gone, or when a tracer
//! of the program's own lets it go on. The calls an errno action fails go
//! to the reporter's listener when they are counted, and stay the
//! kernel's otherwise. The kills stay the kernel's: the reporter reads a
//! killed call from the killed thread as it stops at its exit
//! ([`trace::killed_call`]), so that a kill never waits on the reporter,
//! nor needs it to happen.
//!
//! The reporter process is started before the filter from the confined
//! process by a double fork, so that it is not the program's child (unless
//! the program reaps orphans: PID 1 of a PID namespace, a child
//! subreaper). It traces every thread of the confined process and of the
//! processes it starts ([`crate::sys::trace`] says why a tracer), lets the
//! stopped calls run, fails the ones sent to its listener, counts them,
//! and as it takes the program's end (before the program's parent learns
//! of it) writes one deduplicated report: to stderr as it was when the
//! reporter started, or appended to the file named by
//! [`crate::text::variables::REPORT`]. With a JSON output, it also appends
//! each call as one JSON line as it answers it
//! ([`crate::text::variables::REPORT_JSON`]).

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::ffi::CString;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;
use core::sync::atomic::{AtomicI32, Ordering};

use crate::abi::Abi;
use crate::abi::offset;
use crate::action::ret;
use crate::compile::bpf::{Emitter, Insn, SeccompData, op};
use crate::compile::filter::Program;
use crate::sys::Errno;
use crate::sys::notify::{Listener, Notification};
use crate::sys::scope::{self, Scope};
use crate::sys::trace::{self, CLONE_UNTRACED, Call, I386_CLONE};
use crate::tables::syscalls::{ArgKind, Syscall};
use crate::text::variables::Counted;
use crate::violation::{Installed, Process, Violation, is_named_kill, is_tag};
use crate::{Action, Policy};

mod errno;

use errno::Fd;
pub use errno::{Answering, has_errno_answers, to_listener};

/// What a reporter names besides the calls `log` lets through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reported {
    /// What is counted at exit (`SANDBOX_REPORT_COUNTS`).
    pub counted: Counted,
    /// Kills, named as they happen: sandboxify's, with
    /// `SANDBOX_REPORT_KILLS=1` (the library names its own in the process).
    pub kills: bool,
}

/// The data of the reporter's `SECCOMP_RET_TRACE` returns, `log`: the call runs.
const LOG: u32 = 0;
/// The data of the exec gate's `SECCOMP_RET_TRACE` return (see sandboxify's
/// launch module): the call runs once, from sandboxify; from anywhere else
/// (a copy of the gate the program made at its address), the process is killed.
const GATE: u32 = 1;

/// Whether the reporter stops the calls a return of the filter decides:
/// those it lets run and names (`log`, and the exec gate's notification).
fn stops(k: u32) -> bool {
    matches!(k & ret::ACTION_FULL, ret::LOG | ret::USER_NOTIF)
}

/// `program` with the returns the reporter answers turned into stops for
/// it: every `log`, and the exec gate's notification (see sandboxify's
/// launch module). With `errno`, its errno returns go to the reporter's
/// listener instead (see [`Answering`]): one filter of a process at most, the
/// one [`Answering::install`] installs with the listener. Its kills stay
/// the kernel's, named at the killed thread's exit; other errno returns,
/// the kernel's, uncounted.
pub fn with_stops_for_reporter(program: &Program, errno: bool) -> Program {
    let mut stopped = program.clone();
    for insn in stopped.insns.iter_mut().filter(|insn| insn.code == op::RET | op::K) {
        match insn.k & ret::ACTION_FULL {
            ret::LOG => insn.k = ret::TRACE | LOG,
            ret::USER_NOTIF => insn.k = ret::TRACE | GATE,
            _ => {}
        }
    }
    if errno {
        stopped = errno::to_listener(&stopped);
    }
    keep_children_traced(&mut stopped, errno);
    stopped
}

/// Makes every call `program` lets run or stops for `log` pass a check
/// first, so that no process escapes the reporter: a child started with
/// `CLONE_UNTRACED` would not be traced, its stopped calls would fail with
/// ENOSYS instead of being answered and its kills go unnamed, so `clone` with
/// that flag fails with EPERM; `clone3`, whose flags the filter cannot
/// read, fails with ENOSYS (libc then uses `clone`). With `refuse_listeners`
/// (errno calls go to the reporter's listener), a filter with a listener of
/// its own fails with EBUSY, as the kernel fails it while the reporter's is
/// open: once that is closed (the program killed its reporter), a newer
/// filter's listener would get the calls sent to the reporter's (the kernel
/// sends a call to the newest of equal answers), and could let them run.
/// Only where the policy lets the call run: its own kill, errno or trap
/// stands. The check is appended, and the returns it guards jump to it
/// (`ja` reaches anywhere); it reads no argument but `clone`'s and
/// `seccomp`'s, so the kernel's cache of calls that are always allowed
/// still holds every other.
fn keep_children_traced(program: &mut Program, refuse_listeners: bool) {
    let answers = [ret::ALLOW, ret::TRACE | LOG];
    let checks = answers.map(|answer| reporter_check(answer, refuse_listeners));
    let base = program.insns.len();
    for (index, insn) in program.insns.iter_mut().enumerate() {
        if let Some(which) = answers.iter().position(|&answer| insn.code == op::RET | op::K && insn.k == answer) {
            let check = base + checks[..which].iter().map(Vec::len).sum::<usize>();
            *insn = Insn::stmt(op::JMP | op::JA, (check - (index + 1)) as u32);
        }
    }
    for check in checks {
        program.insns.extend(check);
    }
}

/// `seccomp()` on x86_64 and on i386.
const SECCOMP: [u32; 2] = [317, 354];

/// The check of [`keep_children_traced`], ending in `answer`.
fn reporter_check(answer: u32, refuse_listeners: bool) -> Vec<Insn> {
    let clone3 = libc::SYS_clone3 as u32; // 435 on both ABIs
    let load = |emitter: &mut Emitter, offset, next| emitter.stmt(op::LD | op::W | op::ABS, offset, next);
    let mut emitter = Emitter::default();
    let pass = emitter.ret(answer);
    let enosys = emitter.ret(ret::ERRNO | libc::ENOSYS as u32);
    let eperm = emitter.ret(ret::ERRNO | libc::EPERM as u32);
    let ebusy = emitter.ret(ret::ERRNO | libc::EBUSY as u32);
    // seccomp(SECCOMP_SET_MODE_FILTER, flags with NEW_LISTENER, ...); the
    // low words of the first two arguments.
    let listener = emitter.jump(op::JSET, libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32, ebusy, pass);
    let listener = load(&mut emitter, offset::ARGS + 8, listener);
    let listener = emitter.jump(op::JEQ, libc::SECCOMP_SET_MODE_FILTER, listener, pass);
    let listener = load(&mut emitter, offset::ARGS, listener);
    let untraced = emitter.jump(op::JSET, CLONE_UNTRACED, eperm, pass);
    let untraced = load(&mut emitter, offset::ARGS, untraced);
    let mut per_abi = |clone: u32, seccomp: u32| {
        let next = match refuse_listeners {
            true => emitter.jump(op::JEQ, seccomp, listener, pass),
            false => pass,
        };
        let next = emitter.jump(op::JEQ, clone, untraced, next);
        let next = emitter.jump(op::JEQ, clone3, enosys, next);
        load(&mut emitter, offset::NR, next)
    };
    let x86_64 = per_abi(libc::SYS_clone as u32, SECCOMP[0]);
    let i386 = per_abi(I386_CLONE, SECCOMP[1]);
    let arch = emitter.jump(op::JEQ, Abi::I386.audit_arch(), i386, pass);
    let arch = emitter.jump(op::JEQ, Abi::X86_64.audit_arch(), x86_64, arch);
    load(&mut emitter, offset::ARCH, arch);
    emitter.finish()
}

/// Whether `program` needs a reporter to name what `reported` asks for:
/// its `log` returns, and the trap, errno and kill returns asked for.
pub fn needs_reporter(program: &Program, reported: Reported) -> bool {
    // The exec gate's notification is answered by a reporter only when
    // there is one for something else.
    let answered =
        program.insns().iter().filter(|insn| insn.code == op::RET | op::K && insn.k != ret::USER_NOTIF).any(|insn| {
            stops(insn.k)
                || (reported.kills && insn.k == ret::KILL_PROCESS)
                || (reported.counted.traps && insn.k & ret::ACTION_FULL == ret::TRAP && !is_named_kill(insn.k))
        });
    answered || (reported.counted.errno && has_errno_answers(program))
}

/// Shared between the confined process and its reporter.
#[repr(C)]
struct Handoff {
    /// Set by the confined process once the reporter may trace it.
    permitted: AtomicI32,
    /// Set by the reporter once it traces every thread of the confined
    /// process (1), or cannot (minus the errno); by the process between
    /// them if the reporter ended first.
    ready: AtomicI32,
}

/// One exec the reporter lets through unrecorded: sandboxify's own, from its
/// exec gate (see sandboxify's launch module).
#[derive(Clone, Copy, Debug)]
pub struct Gate {
    /// The calling thread.
    pub pid: u32,
    /// The gate's instruction pointer.
    pub instruction_pointer: u64,
}

/// Where a report goes: a file opened before the program runs, or stderr.
#[derive(Debug)]
pub struct Output(libc::c_int);

/// How a report file is opened: to append to, created with mode 0600 if
/// missing, the file itself not a symbolic link, and without waiting for a
/// reader of a FIFO (ENXIO when there is none, rather than the program
/// never starting); the opener then clears `O_NONBLOCK`
/// ([`APPEND_STATUS`]), so that writes to a FIFO wait as they would.
pub const APPEND_FLAGS: libc::c_int =
    libc::O_WRONLY | libc::O_CREAT | libc::O_APPEND | libc::O_CLOEXEC | libc::O_NOFOLLOW | libc::O_NONBLOCK;
/// The status flags (`F_SETFL`) of a report file once open.
pub const APPEND_STATUS: libc::c_int = libc::O_APPEND;

impl Output {
    /// Opens `path` to append to ([`APPEND_FLAGS`]): opened once, before
    /// the program runs, so that it cannot point the report elsewhere later,
    /// nor be confined away from it.
    pub fn file(path: &str) -> Result<Output, Errno> {
        let path = CString::new(path).map_err(|_| Errno(libc::EINVAL))?;
        // SAFETY: open(2) with a NUL-terminated path.
        let fd = unsafe { libc::open(path.as_ptr(), APPEND_FLAGS, 0o600) };
        if fd < 0 {
            return Err(Errno::last());
        }
        let output = Output(fd);
        // SAFETY: F_SETFL on the descriptor just opened.
        if unsafe { libc::fcntl(fd, libc::F_SETFL, APPEND_STATUS) } != 0 {
            return Err(Errno::last());
        }
        Ok(output)
    }

    /// Stderr as it is now.
    pub fn stderr() -> Result<Output, Errno> {
        // SAFETY: dup copies stderr.
        let fd = unsafe { libc::fcntl(libc::STDERR_FILENO, libc::F_DUPFD_CLOEXEC, 0) };
        if fd < 0 { Err(Errno::last()) } else { Ok(Output(fd)) }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        // SAFETY: closes the descriptor this value owns.
        unsafe { libc::close(self.0) };
    }
}

/// A filter whose calls the reporter answers, as compiled (before
/// [`with_stops_for_reporter`]): what names the rule that decided.
pub struct Answered {
    /// Where the policy came from, as errors say it.
    pub source: &'static str,
    /// The policy.
    pub policy: Policy,
    /// Its program.
    pub program: Program,
}

/// A reporter to start.
pub struct Reporter {
    /// What starts every line (`libsandbox: `).
    pub prefix: &'static str,
    /// Where the report and the named kills go.
    pub out: Output,
    /// Where each call answered goes as a JSON line
    /// ([`crate::violation::Violation::json`]; `SANDBOX_REPORT_JSON`).
    pub json: Option<Output>,
    /// The filters answered, newest first.
    pub filters: Vec<Answered>,
    /// sandboxify's own exec, let through unreported.
    pub gate: Option<Gate>,
    /// What it names besides `log` calls.
    pub reported: Reported,
    /// Landlock rules that handle files will be enforced after the
    /// reporter starts (see [`scope::confine_tracing`]).
    pub file_rules_follow: bool,
}

/// Why a reporter could not start. The caller must stop the program.
#[derive(Debug)]
pub enum StartError {
    /// The reporter could not be started, or could not trace the process.
    Reporter(Errno),
    /// The fork that starts the reporter failed: a filter in force fails
    /// it, the policy's own where it fails process creation with an errno
    /// (under the library, the policy is in force from start-up on).
    Fork(Errno),
    /// The Landlock domain that keeps the program from the reporter
    /// answering its errno calls could not be made.
    Separate(Errno),
    /// The kernel's Landlock (none, or ABI 1) cannot keep the program from
    /// the reporter answering its errno calls.
    CannotSeparate,
    /// Other threads run, any of which could take the listener for errno
    /// calls as it is handed over.
    Threads(usize),
}

impl core::fmt::Display for StartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StartError::Reporter(error) => {
                let hint = match error.0 {
                    libc::EPERM => {
                        " (the report traces the program, which cannot be traced already, by a debugger say)"
                    }
                    _ => "",
                };
                write!(f, "cannot start the report: {error}{hint}")
            }
            StartError::Fork(error) => {
                // ENOSYS is what the library's start-up guard answers calls
                // the policy fails with an errno.
                let hint = match error.0 {
                    libc::ENOSYS => {
                        " (a filter in force fails it: the policy, where it fails clone, clone3, fork or vfork \
                         with an errno, is in force from the library's start-up on; count under sandboxify \
                         without --preload, whose reporter starts before the policy)"
                    }
                    _ => "",
                };
                write!(f, "cannot start the report: its fork failed: {error}{hint}")
            }
            StartError::Separate(error) => write!(
                f,
                "cannot count errno answers: the Landlock domain that keeps the program from its reporter failed: {error}"
            ),
            StartError::Threads(threads) => write!(
                f,
                "cannot count errno answers: {threads} threads run already (started before the library's \
                 constructor), and any could take the listener the reporter answers them through"
            ),
            StartError::CannotSeparate => f.write_str(
                "cannot count errno answers: Landlock, which keeps the program from the reporter that answers \
                 them, is not available (Linux 5.19 or later, not hidden by a filter around the sandbox)",
            ),
        }
    }
}

impl Reporter {
    /// Starts the reporter for the calling process, which is about to
    /// install filters from [`with_stops_for_reporter`]: when this returns `Ok`, every
    /// thread of the calling process is traced by it. Fails if the process
    /// cannot be traced (it is traced already, by a debugger say, or an
    /// outer filter refuses the reporter's calls): the caller must then
    /// stop the program. Where errno answers are counted, the process is
    /// then in a Landlock domain the reporter is not in (see [`Answering`]),
    /// and installs its filters through the [`Answering`] returned.
    pub fn start(self) -> Result<Answering, StartError> {
        // It rewrites stopped calls in x86_64's registers (see `trace`):
        // elsewhere, what asks for it is refused rather than run unreported.
        if !cfg!(target_arch = "x86_64") {
            return Err(StartError::Reporter(Errno(libc::ENOSYS)));
        }
        // SAFETY: getpid has no preconditions.
        let target = unsafe { libc::getpid() };
        let counting = self.reported.counted.errno;
        if counting {
            let threads = threads(target).map_err(StartError::Reporter)?.len();
            if threads != 1 {
                return Err(StartError::Threads(threads));
            }
        }
        let file_rules_follow = self.file_rules_follow;
        // SAFETY: an anonymous shared mapping of one page, zero-filled.
        let page = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if page == libc::MAP_FAILED {
            return Err(StartError::Reporter(Errno::last()));
        }
        // SAFETY: the mapping is live, large enough and zeroed: valid atomics.
        let handoff = unsafe { &*page.cast::<Handoff>() };
        // SAFETY: fork; the children only run the code below and _exit.
        let between = unsafe { libc::fork() };
        if between == 0 {
            // SAFETY: fork again so that the reporter is not the program's child.
            match unsafe { libc::fork() } {
                0 => self.serve(handoff, target),
                -1 => handoff.ready.store(-Errno::last().0, Ordering::Release),
                reporter => wait_until_ready(handoff, reporter),
            }
            // SAFETY: the process between ends at once.
            unsafe { libc::_exit(0) };
        }
        let result = if between < 0 {
            Err(StartError::Fork(Errno::last()))
        } else {
            // Where Yama restricts ptrace to declared tracers, declare the
            // process between, whose descendant the reporter is (EINVAL
            // without Yama: there is nothing to declare).
            // SAFETY: prctl with integer arguments; waitpid reaps our own child.
            unsafe {
                libc::prctl(libc::PR_SET_PTRACER, between as libc::c_ulong, 0, 0, 0);
                handoff.permitted.store(1, Ordering::Release);
                let mut status = 0;
                libc::waitpid(between, &mut status, 0);
                libc::prctl(libc::PR_SET_PTRACER, 0, 0, 0, 0);
            }
            match handoff.ready.load(Ordering::Acquire) {
                1 => Ok(()),
                0 => Err(StartError::Reporter(Errno(libc::ECHILD))),
                failed => Err(StartError::Reporter(Errno(-failed))),
            }
        };
        // SAFETY: unmaps our view of the page; nothing refers to it past here.
        unsafe { libc::munmap(page, 4096) };
        result?;
        if counting {
            match scope::nest(file_rules_follow) {
                Ok(Scope::Confined) => {}
                Ok(Scope::Unavailable) => return Err(StartError::CannotSeparate),
                Err(error) => return Err(StartError::Separate(error)),
            }
        }
        Ok(Answering::new(counting))
    }

    /// The reporter process: traces the confined process, answers every
    /// stopped call as the policy says and counts it, and reports when no
    /// traced process is left. Counting errno answers, answers the calls
    /// sent to the listener it is handed too. Never returns.
    fn serve(self, handoff: &Handoff, target: i32) -> ! {
        // A session of its own: what is sent to the program's job (Ctrl-C,
        // Ctrl-Z, `kill -TERM -PGID`) must not end or stop the reporter,
        // which the program's stops and calls then wait for. (It is no
        // group leader, being a child's child: setsid cannot fail.) The
        // signals a terminal sends a session are ignored besides.
        // Non-dumpable: only root could trace it or read its memory (and,
        // with a listener, the program's domain keeps root out).
        // SAFETY: changes this process's session, dispositions and dumpable flag only.
        unsafe {
            libc::setsid();
            libc::signal(libc::SIGINT, libc::SIG_IGN);
            libc::signal(libc::SIGQUIT, libc::SIG_IGN);
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            // A report to a pipe whose reader has gone fails; it must not
            // end the reporter, which answers errno calls.
            libc::signal(libc::SIGPIPE, libc::SIG_IGN);
            libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        }
        // With a listener, the tracees' stops are read from a signalfd (see
        // `serve_listening`): SIGCHLD is blocked before the first of them.
        let stops = self.reported.counted.errno.then(child_signals);
        // None of the program's descriptors: a pipe whose reader waits for
        // the program's end (`$(...)`) must not wait for the reporter's.
        let stops_fd = match &stops {
            Some(Ok(fd)) => fd.0,
            _ => -1,
        };
        close_all_but(&[self.out.0, self.json.as_ref().map_or(-1, |json| json.0), stops_fd]);
        while handoff.permitted.load(Ordering::Acquire) == 0 {
            pause();
        }
        // Not PTRACE_O_EXITKILL: a reporter that ends (a program may kill
        // it) leaves its tracees to the filter alone, whose kills are the
        // kernel's and whose stops then fail with ENOSYS, unrun.
        let options = if self.reported.kills { TRACE_OPTIONS | libc::PTRACE_O_TRACEEXIT } else { TRACE_OPTIONS };
        let ready = match &stops {
            Some(Err(error)) => Err(*error),
            _ => Ok(()),
        };
        let seized = ready.and_then(|()| seize_threads(target, options));
        handoff.ready.store(seized.as_ref().map_or_else(|error| -error.0, |_| 1), Ordering::Release);
        let tracees = seized.as_ref().map_or_else(|_| BTreeSet::new(), |threads| threads.iter().copied().collect());
        // A hand-over comes only where a filter sends errno calls to the
        // listener: otherwise a trap of the program's is its own.
        let handed =
            self.reported.counted.errno && self.filters.iter().any(|filter| has_errno_answers(&filter.program));
        let listening = if handed { Listening::Awaited } else { Listening::Done };
        let mut state = State { counts: Counts::new(), gate: self.gate, tracees, reported: false, target, listening };
        match (seized, stops) {
            (Ok(_), Some(Ok(stops))) => self.serve_listening(&mut state, &stops),
            (Ok(_), _) => {
                while let Some(Some((tid, status))) = self.next_change(&mut state, true) {
                    self.on_stop(tid, status, &mut state);
                }
            }
            // The reporter has nothing to do.
            _ => {}
        }
        self.report(&mut state);
        // SAFETY: the reporter is done.
        unsafe { libc::_exit(0) }
    }

    /// Writes the report, once, if anything was counted; then lets go of
    /// the output where processes the program started live on (see
    /// [`release`]).
    fn report(&self, state: &mut State) {
        if state.reported {
            return;
        }
        state.reported = true;
        if !state.counts.is_empty() {
            let text = report(self.prefix, &state.counts);
            // SAFETY: writes a live buffer to the descriptor opened before the program ran.
            unsafe { libc::write(self.out.0, text.as_ptr().cast(), text.len()) };
        }
        if !state.tracees.is_empty() {
            release(&self.out);
        }
    }

    /// Takes the next change of a tracee (its thread ID and wait status),
    /// waiting for one if `block`; `Some(None)` if there is none yet, `None`
    /// once no tracee is left. A traced process's end reaches its parent
    /// only when its tracer has taken it (the kernel cascades the zombie),
    /// so the report goes out first when the change is the end of the
    /// program's process or of the last tracee: the shell that ran the
    /// program gets its prompt back after it.
    fn next_change(&self, state: &mut State, block: bool) -> Option<Option<(i32, i32)>> {
        let flags = libc::WEXITED | libc::WSTOPPED | libc::__WALL | libc::WNOWAIT;
        let flags = if block { flags } else { flags | libc::WNOHANG };
        loop {
            // SAFETY: siginfo_t is plain data; zero is what WNOHANG leaves when nothing changed.
            let mut info: libc::siginfo_t = unsafe { core::mem::zeroed() };
            // SAFETY: waitid fills `info` for any of our tracees, and leaves it to be taken (WNOWAIT).
            if unsafe { libc::waitid(libc::P_ALL, 0, &mut info, flags) } != 0 {
                if Errno::last().0 == libc::EINTR {
                    continue;
                }
                return None; // ECHILD
            }
            // SAFETY: waitid filled a SIGCHLD siginfo, or left it zeroed.
            let tid = unsafe { info.si_pid() };
            if tid == 0 {
                return Some(None);
            }
            let ended = matches!(info.si_code, libc::CLD_EXITED | libc::CLD_KILLED | libc::CLD_DUMPED);
            if ended && (state.tracees.remove(&tid) && state.tracees.is_empty() || tid == state.target) {
                self.report(state);
            }
            let mut status = 0;
            // SAFETY: takes the change just seen, of our tracee.
            if unsafe { libc::waitpid(tid, &mut status, libc::__WALL) } == tid {
                return Some(Some((tid, status)));
            }
        }
    }

    /// The reporter's loop with a listener: waits for a tracee's stop
    /// (SIGCHLD, read from `stops`; one hands the listener over) and for
    /// the calls sent to the listener, until no traced process is left.
    fn serve_listening(&self, state: &mut State, stops: &Fd) {
        loop {
            // Every change already there, then wait: one after the last
            // look leaves SIGCHLD pending, which wakes the poll.
            loop {
                match self.next_change(state, false) {
                    Some(Some((tid, status))) => self.on_stop(tid, status, state),
                    Some(None) => break,
                    None => return, // no traced process is left
                }
            }
            let listener = match &state.listening {
                Listening::Listener(listener) => listener.0,
                _ => -1,
            };
            let mut polled = [
                libc::pollfd { fd: stops.0, events: libc::POLLIN, revents: 0 },
                libc::pollfd { fd: listener, events: libc::POLLIN, revents: 0 },
            ];
            // SAFETY: poll on two live pollfds (a negative descriptor is skipped).
            if unsafe { libc::poll(polled.as_mut_ptr(), 2, -1) } <= 0 {
                if Errno::last().0 == libc::EINTR {
                    continue;
                }
                // The program may set the reporter's limits (prlimit: the
                // same user): with too few descriptors to poll (EINVAL),
                // the listener goes, its calls then fail with ENOSYS, unrun,
                // as when the reporter is gone, and the stops are waited
                // for alone, rather than spin.
                state.listening = Listening::Done;
                while let Some(Some((tid, status))) = self.next_change(state, true) {
                    self.on_stop(tid, status, state);
                }
                return;
            }
            if polled[0].revents != 0 {
                drain(stops);
            }
            let ready = polled[1].revents;
            if ready & libc::POLLIN != 0 {
                match Listener(listener).receive() {
                    Ok(notification) => self.answer_errno(Listener(listener), &notification, &mut state.counts),
                    Err(Errno(libc::ENOENT)) => {} // the caller was interrupted or died
                    Err(_) => state.listening = Listening::Done, // not a listener: let it go
                }
            } else if ready != 0 {
                state.listening = Listening::Done; // no process uses the filter any more
            }
        }
    }

    /// Handles one stop of tracee `tid` and lets it go on.
    fn on_stop(&self, tid: i32, status: i32, state: &mut State) {
        if !libc::WIFSTOPPED(status) {
            return;
        }
        let signal = libc::WSTOPSIG(status);
        let inject = match status >> 16 {
            libc::PTRACE_EVENT_SECCOMP => {
                match trace::stopped_call(tid) {
                    // sandboxify's own exec, once: from the gate, or, where
                    // the policy logs execve, from the same instruction.
                    Some(call)
                        if state.gate.is_some_and(|gate| {
                            gate.pid == call.tid && gate.instruction_pointer == call.instruction_pointer
                        }) =>
                    {
                        state.gate = None;
                    }
                    Some(call) if call.ret_data & ret::DATA == GATE => self.end_forged_gate(tid, &call),
                    Some(call) => self.answer(&call, &mut state.counts),
                    None => {}
                }
                0
            }
            libc::PTRACE_EVENT_STOP => {
                if matches!(signal, libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU) {
                    // A group-stop: the tracee stays stopped until SIGCONT,
                    // as job control expects.
                    // SAFETY: LISTEN on a tracee of ours in group-stop.
                    unsafe { libc::ptrace(libc::PTRACE_LISTEN, tid, 0, 0) };
                    return;
                }
                0 // a new tracee's first stop
            }
            libc::PTRACE_EVENT_EXIT => {
                if let Some(call) = trace::killed_call(tid) {
                    self.name_kill(&call);
                }
                0
            }
            0 => {
                if signal == libc::SIGSYS && self.reported.counted.traps {
                    self.count_trap(tid, &mut state.counts);
                }
                match (signal, &state.listening) {
                    (libc::SIGTRAP, Listening::Awaited) => match errno::take_listener(tid) {
                        Some(taken) => {
                            state.listening = taken.map_or(Listening::Done, Listening::Listener);
                            0 // the hand-over's own trap
                        }
                        None => signal,
                    },
                    _ => signal, // a signal to deliver
                }
            }
            libc::PTRACE_EVENT_FORK | libc::PTRACE_EVENT_VFORK | libc::PTRACE_EVENT_CLONE => {
                if let Some(new) = event_message(tid) {
                    state.tracees.insert(new as i32);
                }
                0
            }
            libc::PTRACE_EVENT_EXEC => {
                // A thread that execs takes its process's ID: its own is gone.
                if let Some(former) = event_message(tid).filter(|&former| former as i32 != tid) {
                    state.tracees.remove(&(former as i32));
                }
                0
            }
            _ => 0,
        };
        // SAFETY: continues a stopped tracee of ours.
        unsafe { libc::ptrace(libc::PTRACE_CONT, tid, 0, inject) };
    }

    /// Ends the process of tracee `tid`, stopped at an exec from an
    /// instruction at the address of sandboxify's exec gate once that was
    /// used: a copy the program made to get past the policy. The call is
    /// skipped and the process killed (SIGKILL), as neither may run.
    fn end_forged_gate(&self, tid: i32, call: &Call) {
        trace::skip(tid, libc::EPERM);
        // SAFETY: kill takes integers; SIGKILL ends the whole process of `tid`.
        unsafe { libc::kill(tid, libc::SIGKILL) };
        let line = format!(
            "{}killed: the program called execve from a copy of sandboxify's exec gate (at {:#x})\n",
            self.prefix, call.instruction_pointer
        );
        // SAFETY: writes a live buffer to the descriptor opened before the program ran.
        unsafe { libc::write(self.out.0, line.as_ptr().cast(), line.len()) };
    }

    /// Fails a call sent to the listener with the policy's errno, having
    /// counted and named it; never lets it run.
    fn answer_errno(&self, listener: Listener, notification: &Notification, counts: &mut Counts) {
        let Some(abi) = notification.abi else {
            let _ = listener.fail(notification.id, libc::ENOSYS);
            return;
        };
        let call = Call {
            tid: notification.pid,
            abi: Some(abi),
            nr: notification.nr,
            instruction_pointer: notification.instruction_pointer,
            args: notification.args,
            ret_data: 0,
        };
        let errno = errno::errno_for(self.filters.iter().map(|filter| &filter.program), &seccomp_data(abi, &call));
        self.write_json(Action::Errno(errno), abi, &call);
        counts.add(Outcome::Errno(errno), abi, &call);
        let _ = listener.fail(notification.id, i32::from(errno));
    }

    /// Names and counts a stopped call, which then runs: the filter lets
    /// it run (`log`).
    fn answer(&self, call: &Call, counts: &mut Counts) {
        let Some(abi) = call.abi else { return };
        self.write_json(Action::Log, abi, call);
        counts.add(Outcome::Log, abi, call);
    }

    /// Names a call the filter killed, as the killed thread exits.
    fn name_kill(&self, call: &Call) {
        let Some(abi) = call.abi else { return };
        let mut line = String::new();
        let data = seccomp_data(abi, call);
        let _ = Violation::new(Action::Kill, self.installed(), &data).line(&mut line, self.prefix);
        // SAFETY: writes a live buffer to the descriptor opened before the program ran.
        unsafe { libc::write(self.out.0, line.as_ptr().cast(), line.len()) };
        self.write_json(Action::Kill, abi, call);
    }

    /// Counts a SIGSYS that a filter's trap sent (not the library's own,
    /// which names a kill).
    fn count_trap(&self, tid: i32, counts: &mut Counts) {
        if let Some((call, data)) = trace::trapped_call(tid)
            && let (Some(abi), false) = (call.abi, is_tag(data))
        {
            self.write_json(Action::Trap, abi, &call);
            counts.add(Outcome::Trap, abi, &call);
        }
    }

    fn installed(&self) -> impl Iterator<Item = Installed<'_>> {
        self.filters.iter().map(|filter| Installed {
            source: filter.source,
            policy: &filter.policy,
            program: &filter.program,
        })
    }

    /// Appends `call` to the JSON lines, if asked, in one write.
    fn write_json(&self, action: Action, abi: Abi, call: &Call) {
        let Some(json) = &self.json else { return };
        let data = seccomp_data(abi, call);
        let mut time = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: clock_gettime writes only to `time`.
        let time = (unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut time) } == 0)
            .then_some((time.tv_sec as u64, time.tv_nsec as u32));
        let process =
            Process { time, pid: thread_group(call.tid), tid: Some(call.tid), executable: &executable(call.tid) };
        let mut line = String::new();
        let _ = Violation::new(action, self.installed(), &data).json(&mut line, &process);
        // SAFETY: writes a live buffer to the descriptor opened before the program ran.
        unsafe { libc::write(json.0, line.as_ptr().cast(), line.len()) };
    }
}

fn seccomp_data(abi: Abi, call: &Call) -> SeccompData {
    SeccompData { nr: call.nr, arch: abi.audit_arch(), instruction_pointer: call.instruction_pointer, args: call.args }
}

/// The `ptrace` options of the reporter's tracees: the calls the filter
/// stops, every process and thread they start, traced from its first
/// instruction, and their execs (a thread that execs loses its ID).
const TRACE_OPTIONS: libc::c_int = libc::PTRACE_O_TRACESECCOMP
    | libc::PTRACE_O_TRACECLONE
    | libc::PTRACE_O_TRACEFORK
    | libc::PTRACE_O_TRACEVFORK
    | libc::PTRACE_O_TRACEEXEC;

/// In the process between: waits until the reporter is ready or has ended.
fn wait_until_ready(handoff: &Handoff, reporter: libc::pid_t) {
    while handoff.ready.load(Ordering::Acquire) == 0 {
        let mut status = 0;
        // SAFETY: checks on our own child without blocking.
        if unsafe { libc::waitpid(reporter, &mut status, libc::WNOHANG) } == reporter {
            // It ended (killed by an outer filter, say) before saying.
            let _ = handoff.ready.compare_exchange(0, -libc::ESRCH, Ordering::AcqRel, Ordering::Acquire);
            return;
        }
        pause();
    }
}

/// Where the reporter is with the listener errno calls are sent to.
enum Listening {
    /// It counts them, and waits for the listener to be handed over.
    Awaited,
    /// It answers the calls sent to it.
    Listener(Fd),
    /// It counts none, or the filter has no process left, or the listener
    /// could not be taken.
    Done,
}

/// What the reporter keeps while it serves.
struct State {
    /// The calls answered.
    counts: Counts,
    /// sandboxify's own exec, until it is let through.
    gate: Option<Gate>,
    /// The threads traced, until each is taken at its end: when the last
    /// ends, the report goes out.
    tracees: BTreeSet<i32>,
    /// Whether it has.
    reported: bool,
    /// The program's process: the report goes out at its end, even while
    /// processes it started live on (a daemon).
    target: i32,
    /// The listener errno calls are sent to.
    listening: Listening,
}

/// `PTRACE_GETEVENTMSG` of tracee `tid`, stopped at an event.
fn event_message(tid: i32) -> Option<u64> {
    let mut message: libc::c_ulong = 0;
    // SAFETY: GETEVENTMSG writes one unsigned long to `message`.
    (unsafe { libc::ptrace(libc::PTRACE_GETEVENTMSG, tid, 0, &raw mut message) } == 0).then_some(message)
}

/// Blocks SIGCHLD, which tracees' stops raise in their tracer, and opens a
/// signalfd that reads it, without blocking.
fn child_signals() -> Result<Fd, Errno> {
    // SAFETY: sigset_t is plain data, filled by sigemptyset.
    let mut set: libc::sigset_t = unsafe { core::mem::zeroed() };
    // SAFETY: sets up and applies a local signal set; signalfd reads it.
    let fd = unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        libc::sigprocmask(libc::SIG_BLOCK, &set, core::ptr::null_mut());
        libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC)
    };
    if fd < 0 { Err(Errno::last()) } else { Ok(Fd(fd)) }
}

/// Points `out` at a pipe nobody reads, unless it is a regular file (the
/// report file): its reader (a `$(...)`, a pipe after `2>&1`) must not
/// wait for the reporter once the program has ended and only processes it
/// started live on. What is written to it then fails (EPIPE, SIGPIPE
/// ignored). If no pipe can be made, it stays as it is.
fn release(out: &Output) {
    // SAFETY: stat is plain data; fstat fills it for a descriptor we own.
    let mut stat: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::fstat(out.0, &mut stat) } == 0 && stat.st_mode & libc::S_IFMT == libc::S_IFREG {
        return;
    }
    let mut ends = [-1; 2];
    // SAFETY: pipe2 writes two descriptors; dup2 replaces `out` with the
    // write end, which the reporter owns; the two ends are closed after.
    unsafe {
        if libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC) == 0 {
            libc::dup2(ends[1], out.0);
            libc::close(ends[0]);
            libc::close(ends[1]);
        }
    }
}

/// Closes every descriptor of the calling process but those in `keep`
/// (negative ones are ignored). A kernel without `close_range` (before
/// Linux 5.9) leaves them open, which only keeps their readers waiting.
fn close_all_but(keep: &[libc::c_int]) {
    let mut keep: Vec<u32> = keep.iter().filter_map(|&fd| u32::try_from(fd).ok()).collect();
    keep.sort_unstable();
    let mut first = 0u32;
    for fd in keep.into_iter().chain([u32::MAX]) {
        if fd > first {
            // SAFETY: close_range closes descriptors of this process only;
            // none of those it closes is used past here.
            unsafe { libc::syscall(libc::SYS_close_range, first, fd - 1, 0) };
        }
        first = fd.saturating_add(1);
    }
}

/// Reads every pending signal from a non-blocking signalfd.
fn drain(signals: &Fd) {
    let mut info = [0u8; size_of::<libc::signalfd_siginfo>()];
    // SAFETY: read into a live buffer of the length given.
    while unsafe { libc::read(signals.0, info.as_mut_ptr().cast(), info.len()) } > 0 {}
}

fn pause() {
    let pause = libc::timespec { tv_sec: 0, tv_nsec: 20_000 };
    // SAFETY: sleeps on a local timespec.
    unsafe { libc::nanosleep(&pause, core::ptr::null_mut()) };
}

/// Traces every thread of `target`, until a pass over its threads finds
/// none untraced (threads started meanwhile by traced ones are traced from
/// their start: `PTRACE_O_TRACECLONE`); returns them.
fn seize_threads(target: i32, options: libc::c_int) -> Result<Vec<i32>, Errno> {
    let mut traced = Vec::new();
    loop {
        let mut found = false;
        for tid in threads(target)? {
            if traced.contains(&tid) {
                continue;
            }
            // SAFETY: SEIZE takes integer arguments; it does not stop the thread.
            if unsafe { libc::ptrace(libc::PTRACE_SEIZE, tid, 0, options) } == 0 {
                found = true;
            } else {
                match Errno::last().0 {
                    libc::ESRCH => continue, // it ended
                    libc::EPERM if traced_by_us(tid) => {}
                    errno => return Err(Errno(errno)),
                }
            }
            traced.push(tid);
        }
        if !found {
            return Ok(traced);
        }
    }
}

/// The threads of process `pid`.
fn threads(pid: i32) -> Result<Vec<i32>, Errno> {
    let path = CString::new(format!("/proc/{pid}/task")).expect("no NUL");
    // SAFETY: open(2) with a NUL-terminated path.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(Errno::last());
    }
    let mut tids = Vec::new();
    let mut buffer = [0u8; 4096];
    let result = loop {
        // SAFETY: getdents64 fills at most the buffer's length.
        let len = unsafe { libc::syscall(libc::SYS_getdents64, fd, buffer.as_mut_ptr(), buffer.len()) };
        let Ok(len) = usize::try_from(len) else { break Err(Errno::last()) };
        if len == 0 {
            break Ok(tids);
        }
        // Each record: inode (8), offset (8), length (2), type (1), name.
        let mut at = 0;
        while at + 19 < len {
            let record = usize::from(u16::from_ne_bytes([buffer[at + 16], buffer[at + 17]]));
            let name = &buffer[at + 19..(at + record).min(len)];
            let name = &name[..name.iter().position(|&byte| byte == 0).unwrap_or(name.len())];
            if let Some(tid) = core::str::from_utf8(name).ok().and_then(|name| name.parse().ok()) {
                tids.push(tid);
            }
            at += record.max(1);
        }
    };
    // SAFETY: closes the descriptor opened above.
    unsafe { libc::close(fd) };
    result
}

/// Whether thread `tid` is traced by this process already.
fn traced_by_us(tid: i32) -> bool {
    // SAFETY: getpid has no preconditions.
    let us = unsafe { libc::getpid() };
    read_proc(tid as u32, "status").is_some_and(|status| {
        status.lines().any(|line| line.strip_prefix("TracerPid:").is_some_and(|pid| pid.trim() == format!("{us}")))
    })
}

/// The process of thread `tid` (`Tgid:` in its status), if it still runs.
fn thread_group(tid: u32) -> Option<u32> {
    let status = read_proc(tid, "status")?;
    let line = status.lines().find_map(|line| line.strip_prefix("Tgid:"))?;
    line.trim().parse().ok()
}

/// The executable of thread `tid`, or empty.
fn executable(tid: u32) -> String {
    let path = CString::new(format!("/proc/{tid}/exe")).expect("no NUL");
    let mut buffer = [0u8; 4096];
    // SAFETY: readlink into a live buffer of the length given.
    let len = unsafe { libc::readlink(path.as_ptr(), buffer.as_mut_ptr().cast(), buffer.len()) };
    usize::try_from(len).map_or_else(|_| String::new(), |len| String::from_utf8_lossy(&buffer[..len]).into_owned())
}

/// `/proc/TID/FILE`, if it can be read.
fn read_proc(tid: u32, file: &str) -> Option<String> {
    let path = CString::new(format!("/proc/{tid}/{file}")).ok()?;
    // SAFETY: open(2) with a NUL-terminated path.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    let mut text = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        // SAFETY: read into a live buffer of the length given.
        let read = unsafe { libc::read(fd, buffer.as_mut_ptr().cast(), buffer.len()) };
        match usize::try_from(read) {
            Ok(0) | Err(_) => break,
            Ok(read) => text.extend_from_slice(&buffer[..read]),
        }
    }
    // SAFETY: closes the descriptor opened above.
    unsafe { libc::close(fd) };
    String::from_utf8(text).ok()
}

/// The integer arguments worth reporting (32-bit ones: flags, descriptors,
/// modes); sizes, addresses and pointers are left out, or every call would
/// be a line of its own.
fn integer_args(abi: Abi, nr: u32, args: &[u64; 6]) -> [Option<u32>; 6] {
    let kinds = Syscall::by_number(abi, nr).filter(|_| abi == Abi::X86_64).and_then(Syscall::arg_kinds);
    core::array::from_fn(|index| match kinds.and_then(|kinds| kinds.get(index)) {
        Some(ArgKind::Int | ArgKind::Short | ArgKind::Mode) => Some(args[index] as u32),
        _ => None,
    })
}

/// A counted call: what it got, its ABI, number and integer arguments.
type CountedCall = (Outcome, Abi, u32, [Option<u32>; 6]);

/// The calls answered, counted.
struct Counts(BTreeMap<CountedCall, u64>);

/// What a counted call got, in the order the report lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Log,
    Errno(u16),
    Trap,
}

impl Counts {
    fn new() -> Counts {
        Counts(BTreeMap::new())
    }

    fn add(&mut self, outcome: Outcome, abi: Abi, call: &Call) {
        *self.0.entry((outcome, abi, call.nr, integer_args(abi, call.nr, &call.args))).or_insert(0) += 1;
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The report: for each kind of outcome, a heading, a line per call with
/// its count, and for permissive mode the entries to add.
fn report(prefix: &str, counts: &Counts) -> String {
    let mut out = String::new();
    let mut allow: Vec<&str> = Vec::new();
    let mut heading = None;
    for (&(outcome, abi, nr, args), &count) in &counts.0 {
        let kind = core::mem::discriminant(&outcome);
        if heading != Some(kind) {
            if heading.is_some() {
                finish(&mut out, prefix, &mut allow);
            }
            heading = Some(kind);
            let _ = writeln!(
                out,
                "{prefix}{}",
                match outcome {
                    Outcome::Log => "permissive mode: these calls broke the policy and were let through:",
                    Outcome::Errno(_) => "these calls failed with the policy's errno:",
                    Outcome::Trap => "these calls were trapped (SIGSYS to the program's handler):",
                }
            );
        }
        let name = Syscall::by_number(abi, nr).map(Syscall::name);
        let shown = match name {
            Some(name) => {
                if outcome == Outcome::Log {
                    allow.push(name);
                }
                let args: Vec<String> = args
                    .iter()
                    .enumerate()
                    .filter_map(|(index, arg)| arg.map(|value| format!("arg{index}={value:#x}")))
                    .collect();
                format!("{name}({})", args.join(", "))
            }
            None => format!("system call {nr}"),
        };
        let abi = if abi == Abi::I386 { " [i386]" } else { "" };
        let errno = match outcome {
            Outcome::Errno(errno) => format!(": {}", Action::Errno(errno)),
            _ => String::new(),
        };
        let _ = writeln!(out, "{prefix}  {shown}{abi}{errno} ×{count}");
    }
    finish(&mut out, prefix, &mut allow);
    out
}

/// Ends permissive mode's part of the report with the entries to add.
fn finish(out: &mut String, prefix: &str, allow: &mut Vec<&str>) {
    if allow.is_empty() {
        return;
    }
    allow.sort_unstable();
    allow.dedup();
    let _ = writeln!(out, "{prefix}to allow them, add to the allow list: {}", allow.join(":"));
    allow.clear();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::bpf::run;

    fn call(name: &str, args: [u64; 6]) -> Call {
        let nr = Syscall::by_name(name).unwrap().number(Abi::X86_64).unwrap();
        Call { tid: 1, abi: Some(Abi::X86_64), nr, instruction_pointer: 0, args, ret_data: 0 }
    }

    #[test]
    fn reports_names_integer_arguments_and_counts_by_outcome() {
        let mut counts = Counts::new();
        for _ in 0..2 {
            counts.add(Outcome::Log, Abi::X86_64, &call("uname", [0x1234; 6]));
        }
        counts.add(Outcome::Log, Abi::X86_64, &call("socket", [2, 1, 0, 0, 0, 0]));
        counts.add(Outcome::Errno(13), Abi::X86_64, &call("uname", [0; 6]));
        counts.add(Outcome::Errno(1), Abi::X86_64, &call("socket", [2, 1, 0, 0, 0, 0]));
        counts.add(Outcome::Errno(1), Abi::X86_64, &call("socket", [2, 1, 0, 0, 0, 0]));
        counts.add(Outcome::Trap, Abi::X86_64, &call("uname", [0; 6]));
        let text = report("libsandbox: ", &counts);
        assert_eq!(
            text,
            "libsandbox: permissive mode: these calls broke the policy and were let through:\n\
             libsandbox:   socket(arg0=0x2, arg1=0x1, arg2=0x0) ×1\n\
             libsandbox:   uname() ×2\n\
             libsandbox: to allow them, add to the allow list: socket:uname\n\
             libsandbox: these calls failed with the policy's errno:\n\
             libsandbox:   socket(arg0=0x2, arg1=0x1, arg2=0x0): EPERM ×2\n\
             libsandbox:   uname(): EACCES ×1\n\
             libsandbox: these calls were trapped (SIGSYS to the program's handler):\n\
             libsandbox:   uname() ×1\n"
        );
    }

    #[test]
    fn the_reporter_stops_only_what_it_answers() {
        use crate::compile::bpf::run;
        let policy = crate::test_support::policy(None, Some("uname:socket=EPERM:getpid=log:kill=trap"), None);
        let program = crate::compile::filter::compile(&policy).unwrap();
        let verdict = |program: &Program, name: &str| {
            let nr = Syscall::by_name(name).unwrap().number(Abi::X86_64).unwrap();
            let data = SeccompData { nr, arch: Abi::X86_64.audit_arch(), ..SeccompData::default() };
            run(program.insns(), &data).unwrap().ret
        };
        let none = Reported { counted: Counted::NOTHING, kills: false };
        let stopped = with_stops_for_reporter(&program, false);
        assert_eq!(verdict(&stopped, "getpid"), ret::TRACE | LOG);
        // Kills stay the kernel's: named at the killed thread's exit.
        assert_eq!(verdict(&stopped, "uname"), ret::KILL_PROCESS);
        // Errno returns are never stopped for a tracer (a stopped call runs
        // once the tracer is gone, or when a tracer of the program's lets
        // it go on); counted, they go to the listener, which fails them.
        assert_eq!(verdict(&stopped, "socket"), ret::ERRNO | 1);
        let counting = with_stops_for_reporter(&program, true);
        assert_eq!(verdict(&counting, "socket"), ret::USER_NOTIF);
        assert_eq!(verdict(&counting, "getpid"), ret::TRACE | LOG);
        assert_eq!(verdict(&counting, "uname"), ret::KILL_PROCESS);
        assert_eq!(verdict(&stopped, "kill"), ret::TRAP, "traps are counted from the signal");
        assert_eq!(verdict(&stopped, "read"), ret::ALLOW);
        let kill_only =
            crate::compile::filter::compile(&crate::test_support::policy(None, Some("uname"), None)).unwrap();
        assert!(!needs_reporter(&kill_only, none));
        assert!(needs_reporter(&kill_only, Reported { kills: true, ..none }));
        assert!(needs_reporter(&program, none), "log");
        // Every policy has errno returns of its own (ENOSYS for calls newer
        // than a fallback, refused terminal injection): counted when asked.
        assert!(needs_reporter(&kill_only, Reported { counted: Counted { errno: true, traps: false }, ..none }));
        let killing = with_stops_for_reporter(&kill_only, true);
        assert_eq!(verdict(&killing, "uname"), ret::KILL_PROCESS);
        assert_eq!(verdict(&killing, "read"), ret::ALLOW);
        // No child escapes the reporter, where the policy lets clone run;
        // where it kills clone, the kill stands.
        let clone = |program: &Program, abi: Abi, nr: u32, flags: u64| {
            let data =
                SeccompData { nr, arch: abi.audit_arch(), args: [flags, 0, 0, 0, 0, 0], ..SeccompData::default() };
            run(program.insns(), &data).unwrap().ret
        };
        let untraced = u64::from(CLONE_UNTRACED) | libc::SIGCHLD as u64;
        for (abi, nr) in [(Abi::X86_64, libc::SYS_clone as u32), (Abi::I386, I386_CLONE)] {
            assert_eq!(clone(&killing, abi, nr, untraced), ret::ERRNO | libc::EPERM as u32, "{abi}");
            assert_eq!(clone(&killing, abi, nr, libc::SIGCHLD as u64), ret::ALLOW, "{abi}");
            assert_eq!(clone(&killing, abi, 435, 0), ret::ERRNO | libc::ENOSYS as u32, "{abi}");
        }
        let kills_clone =
            crate::compile::filter::compile(&crate::test_support::policy(None, Some("clone:clone3"), None)).unwrap();
        let kills_clone = with_stops_for_reporter(&kills_clone, false);
        assert_eq!(clone(&kills_clone, Abi::X86_64, libc::SYS_clone as u32, untraced), ret::KILL_PROCESS);
        assert_eq!(clone(&kills_clone, Abi::X86_64, 435, 0), ret::KILL_PROCESS);
        let logs_clone =
            crate::compile::filter::compile(&crate::test_support::policy(None, Some("clone=log"), None)).unwrap();
        let logs_clone = with_stops_for_reporter(&logs_clone, false);
        assert_eq!(clone(&logs_clone, Abi::X86_64, libc::SYS_clone as u32, untraced), ret::ERRNO | libc::EPERM as u32);
        assert_eq!(clone(&logs_clone, Abi::X86_64, libc::SYS_clone as u32, 0), ret::TRACE | LOG);
        // The probe still answers.
        let nonce = 0x1234_5678_9abc_def0;
        let probe = SeccompData {
            nr: crate::compile::filter::probe::SYSCALL,
            arch: Abi::X86_64.audit_arch(),
            args: [nonce, crate::compile::filter::probe::MARK, 0, 0, 0, 0],
            ..SeccompData::default()
        };
        assert_eq!(run(&killing.with_probe(nonce, [21, 22], false).unwrap(), &probe).unwrap().ret, ret::ERRNO | 21);
    }

    #[test]
    fn errno_answers_go_to_the_listener_but_not_the_probes_nor_fake_successes() {
        use crate::compile::filter::probe;
        let policy = crate::test_support::policy(None, Some("uname=EACCES:socket=EPERM"), None);
        let program = crate::compile::filter::compile(&policy).unwrap();
        assert!(has_errno_answers(&program));
        let sent = to_listener(&program);
        let data = |name: &str| {
            let nr = Syscall::by_name(name).unwrap().number(Abi::X86_64).unwrap();
            SeccompData { nr, arch: Abi::X86_64.audit_arch(), ..SeccompData::default() }
        };
        for (name, errno) in [("uname", libc::EACCES), ("socket", libc::EPERM)] {
            assert_eq!(run(sent.insns(), &data(name)).unwrap().ret, ret::USER_NOTIF, "{name}");
            // The reporter answers with what the filter, as compiled, says.
            assert_eq!(errno::errno_for([&program].into_iter(), &data(name)), errno as u16, "{name}");
        }
        assert_eq!(errno::errno_for([&program].into_iter(), &data("read")), libc::ENOSYS as u16, "not an errno call");
        assert!(!has_errno_answers(&sent));
        // The install probe's answers stay the kernel's, as set at install.
        let nonce = 0x1234_5678_9abc_def0;
        let mut ask = SeccompData { nr: probe::SYSCALL, arch: Abi::X86_64.audit_arch(), ..SeccompData::default() };
        ask.args = [nonce, probe::MARK, 0, 0, 0, 0];
        assert_eq!(run(&sent.with_probe(nonce, [21, 22], false).unwrap(), &ask).unwrap().ret, ret::ERRNO | 21);
        ask.args[0] = nonce + 1;
        let other = run(&sent.with_probe(nonce, [21, 22], false).unwrap(), &ask).unwrap().ret;
        assert_eq!(other & ret::ACTION_FULL, ret::ERRNO, "another nonce: {other:#x}");
        // A fake success (errno 0, the library's protection of its handler) too.
        let fake = Program::from_insns(alloc::vec![Insn::stmt(op::RET | op::K, ret::ERRNO)]);
        assert!(!has_errno_answers(&fake));
        assert_eq!(to_listener(&fake).insns(), fake.insns());
    }
}
