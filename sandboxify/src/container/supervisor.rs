//! The supervisor, and the init of a PID namespace: where the exec chain
//! differs.
//!
//! With `--unshare-pid` a new PID namespace needs its PID 1, which only a
//! new process can be; with cgroups (one in cgroup v2, or one per cgroup v1
//! hierarchy), someone must remove them when PROGRAM has ended. In both
//! cases sandboxify starts a process with clone(2), in the new namespaces
//! at once (fork semantics: a copy of this single-threaded process on the
//! same stack), and its own process stays outside as the supervisor:
//!
//! - the child waits until the supervisor has moved it into every cgroup,
//!   then sets up the rest; it gets SIGKILL should the supervisor die
//!   (`PR_SET_PDEATHSIG`). Without a PID namespace it execs PROGRAM, which
//!   keeps that. In one it becomes the namespace's init ([`become_init`])
//!   and PROGRAM runs in a child of it, PID 2;
//! - the supervisor forwards to its child every signal sent to it that a
//!   process can catch (real-time signals included) but SIGCHLD and job
//!   control's (stops, SIGCONT), waits for it, removes the cgroups, and
//!   ends as PROGRAM ended: with its exit status, or killed by the same
//!   signal (an OOM kill in a memory cgroup: SIGKILL).
//!
//! Why PROGRAM is not PID 1: a namespace's init only receives the signals it
//! has a handler for, from its own namespace as from its parent
//! (pid_namespaces(7)). As PID 1, a PROGRAM that ends itself with
//! `kill(getpid(), SIGTERM)` or `raise()` would run on, `abort()` would end
//! it with SIGSEGV instead of SIGABRT, and a forwarded SIGTERM would do
//! nothing. Under the init it is an ordinary process; the init blocks the
//! forwarded signals and passes on those that came from outside the
//! namespace (the supervisor's), reaps the orphans the namespace hands it,
//! and when PROGRAM ends hands its wait status to the supervisor through a
//! pipe (init cannot end by a signal of its own) and exits, which ends
//! every other process of the namespace.
//!
//! Signals the kernel sends (si_code SI_KERNEL: a terminal's Ctrl-C, Ctrl-\,
//! hang-up, window change) go to the whole foreground process group, which
//! PROGRAM shares with sandboxify: PROGRAM has received its own, so they
//! are not sent again. A signal sent by a process to the whole group (`kill
//! -TERM -PGID`) reaches a PROGRAM that handles it twice, once directly and
//! once forwarded. Stop signals are not forwarded: Ctrl-Z stops PROGRAM and
//! sandboxify, which share the group. When PROGRAM stops itself, the
//! supervisor stops too, with the same signal, so that the shell waiting
//! for it sees the job stop (the init, which cannot stop, writes the stop
//! to its pipe, whose data raises SIGIO in the supervisor).

use std::io::{PipeReader, PipeWriter, Read, Write};
use std::os::fd::{AsRawFd, RawFd};

use nix::sched::CloneFlags;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal, sigaction, sigprocmask};
use nix::unistd::Pid;

use super::cgroup::Cgroups;
use super::{SetupError, failed, namespaces};
use crate::failure::Failure;

/// The signals not passed on to PROGRAM: those no process can catch,
/// SIGCHLD (the supervisor's and the init's own), and job control's: the
/// stop signals, which stop the supervisor itself, and SIGCONT, which `fg`
/// and `bg` send to the whole process group, PROGRAM included (passed on
/// as well, it would come late and could undo a stop PROGRAM made since).
const NOT_FORWARDED: [libc::c_int; 7] =
    [libc::SIGKILL, libc::SIGSTOP, libc::SIGCHLD, libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU, libc::SIGCONT];

/// What the process [`start`] returns in keeps: where, as a PID
/// namespace's init, it hands PROGRAM's wait status to the supervisor.
pub struct Started {
    status: PipeWriter,
}

/// The forwarded signals and SIGCHLD: what the supervisor and the init wait for.
fn watched() -> SigSet {
    // SAFETY: a zeroed sigset_t is valid storage for sigemptyset to fill.
    let mut watched: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: sigemptyset and sigaddset only write the set; sigaddset
    // refuses (EINVAL) the two real-time signals glibc keeps for itself.
    unsafe {
        libc::sigemptyset(&mut watched);
        for signal in
            (1..=libc::SIGRTMAX()).filter(|&signal| signal == libc::SIGCHLD || !NOT_FORWARDED.contains(&signal))
        {
            libc::sigaddset(&mut watched, signal);
        }
    }
    // SAFETY: made by sigemptyset and sigaddset above.
    unsafe { SigSet::from_sigset_t_unchecked(watched) }
}

/// The signal mask and SIGCHLD action this process was started with, set
/// aside while it waits for a child of its own.
struct Inherited {
    mask: SigSet,
    sigchld: SigAction,
}

impl Inherited {
    /// Blocks `watched`, for sigwaitinfo, and puts SIGCHLD at its default
    /// action: an inherited SIG_IGN would have the kernel reap the child
    /// before it could be waited for. (With valid arguments these calls
    /// cannot fail.)
    fn set_aside(watched: &SigSet) -> Inherited {
        let mut mask = SigSet::empty();
        sigprocmask(SigmaskHow::SIG_BLOCK, Some(watched), Some(&mut mask)).expect("a valid mask");
        let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
        // SAFETY: installs the default action, no handler.
        let sigchld = unsafe { sigaction(Signal::SIGCHLD, &default) }.expect("a valid action");
        Inherited { mask, sigchld }
    }

    /// Puts back what [`Inherited::set_aside`] replaced, as PROGRAM must get it.
    fn restore(&self) {
        // SAFETY: puts back the action this process was started with.
        let _ = unsafe { sigaction(Signal::SIGCHLD, &self.sigchld) };
        let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&self.mask), None);
    }
}

/// Starts the process that becomes PROGRAM (or, with `--unshare-pid`, the
/// namespace's init), in new namespaces `flags`, in `cgroups` (if any).
/// Returns in that process, ready for the rest of the setup; sandboxify's
/// own process supervises it and never returns.
pub fn start(flags: CloneFlags, cgroups: Cgroups) -> Result<Started, Failure> {
    let watched = watched();
    let pipes = std::io::pipe().and_then(|go| Ok((go, std::io::pipe()?)));
    let ((mut go_reader, mut go_writer), (mut status_reader, status_writer)) = match pipes {
        Ok(pipes) => pipes,
        Err(error) => return Err(abandon(cgroups, failed("cannot make a pipe")(error))),
    };
    // Blocked from before the clone, so none is lost: the supervisor takes
    // them with sigwaitinfo. The child restores what PROGRAM inherits.
    let inherited = Inherited::set_aside(&watched);
    // SIGIO to this process when the init writes (see `supervise`), from
    // before it can, and reads that never wait.
    // SAFETY: fcntl(2) on the pipe's reading end, which this process owns.
    unsafe {
        libc::fcntl(status_reader.as_raw_fd(), libc::F_SETOWN, libc::getpid());
        libc::fcntl(status_reader.as_raw_fd(), libc::F_SETFL, libc::O_ASYNC | libc::O_NONBLOCK);
    }

    // SAFETY: clone(2) without CLONE_VM or a new stack is fork(2) with
    // namespace flags: the child runs on a copy of this process, which has
    // a single thread here (the exec gate's starts later, in the child).
    let pid = unsafe {
        libc::syscall(libc::SYS_clone, flags.bits() as libc::c_ulong | libc::SIGCHLD as libc::c_ulong, 0, 0, 0, 0)
    };
    if pid < 0 {
        let error = namespaces::creation_failed(nix::errno::Errno::last());
        inherited.restore();
        return Err(abandon(cgroups, error));
    }
    if pid == 0 {
        inherited.restore();
        drop(go_writer);
        // SAFETY: prctl(PR_SET_PDEATHSIG) with a valid signal.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
        drop(status_reader);
        // EOF: the supervisor is gone or gave up (it reports why).
        let mut go = [0u8];
        return match go_reader.read(&mut go) {
            Ok(1) => Ok(Started { status: status_writer }),
            _ => Err(Failure::Setup(SetupError::Call {
                step: "the supervisor ended before the sandbox was set up".to_owned(),
                errno: nix::errno::Errno::ESRCH,
                hint: None,
            })),
        };
    }
    let child = Pid::from_raw(pid as libc::pid_t);
    drop(go_reader);
    drop(status_writer);
    if let Err(error) = cgroups.add(child.as_raw()) {
        let _ = nix::sys::signal::kill(child, Signal::SIGKILL);
        let _ = wait(child, 0);
        inherited.restore();
        return Err(abandon(cgroups, error));
    }
    // The child needs no answer if it has died meanwhile: waiting tells.
    let _ = go_writer.write_all(b"g");
    drop(go_writer);
    // Holding only stderr (where a cgroup it cannot remove is reported) of
    // what PROGRAM was given: a reader of PROGRAM's output sees the end
    // when PROGRAM closes it, a writer to its input when it stops reading.
    close_all_but(&[libc::STDERR_FILENO, status_reader.as_raw_fd()]);
    let status = supervise(child, &watched, &mut status_reader);
    cgroups.remove();
    // Unblocked so that passing on a signal ends this process by it; a
    // SIGIO the init's pipe raised (its end) is dropped first, as ignored.
    // SAFETY: signal(2) with SIG_IGN, no handler.
    unsafe { libc::signal(libc::SIGIO, libc::SIG_IGN) };
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
    std::process::exit(crate::pass_through(status))
}

/// Removes the cgroups nothing will run in, and reports `error`.
fn abandon(cgroups: Cgroups, error: SetupError) -> Failure {
    cgroups.remove();
    error.into()
}

/// Waits for PROGRAM, forwarding to `child` (PROGRAM, or the init) the
/// signals sent to sandboxify, and stopping as PROGRAM stops, so that the
/// shell waiting for sandboxify sees the job stop; returns PROGRAM's wait
/// status. The init (which cannot stop itself) says PROGRAM's stops and
/// end through `init`, whose data raises SIGIO here.
fn supervise(child: Pid, watched: &SigSet, init: &mut PipeReader) -> i32 {
    let mut ended = None;
    loop {
        let (signal, info) = wait_signal(watched);
        if signal == libc::SIGCHLD {
            match wait(child, libc::WNOHANG | libc::WUNTRACED) {
                Some(status) if libc::WIFSTOPPED(status) => stop_as(status),
                // PROGRAM's end from the init; else the child was PROGRAM
                // (or the init died before it could say).
                Some(status) => return read_init(init, child).or(ended).unwrap_or(status),
                None => {}
            }
            continue;
        }
        if signal == libc::SIGIO && info.si_code > 0 {
            // The kernel's, for the pipe (si_code POLL_IN, POLL_HUP).
            ended = read_init(init, child).or(ended);
            continue;
        }
        if info.si_code != libc::SI_KERNEL {
            // SAFETY: kill(2) of our own child.
            unsafe { libc::kill(child.as_raw(), signal) };
        }
    }
}

/// Stops this process as a stop signal stopped PROGRAM (`status`).
fn stop_as(status: i32) {
    // SAFETY: raise(3) of a stop signal (job control's are not blocked
    // here: see `NOT_FORWARDED`): this process stops until continued.
    unsafe { libc::raise(libc::WSTOPSIG(status)) };
}

/// Reads what the init (`child`) has written: stops PROGRAM has made
/// since, mirrored (see [`stop_as`]) if PROGRAM is still stopped (a job
/// stopped with Ctrl-Z and continued since stopped this process and
/// continued it too), then its end, if written (a status that is not a stop).
fn read_init(init: &mut PipeReader, child: Pid) -> Option<i32> {
    let mut message = [0u8; 4];
    while init.read_exact(&mut message).is_ok() {
        let status = i32::from_ne_bytes(message);
        if !libc::WIFSTOPPED(status) {
            return Some(status);
        }
        // PROGRAM is the init's child: its first, by the host's numbers.
        let children = std::fs::read_to_string(format!("/proc/{child}/task/{child}/children")).unwrap_or_default();
        let program = children.split_whitespace().next().and_then(|pid| pid.parse().ok()).map(Pid::from_raw);
        if program.is_none_or(still_stopped) {
            stop_as(status);
        }
    }
    None
}

/// The next of `watched` (all blocked), with what the kernel says of it.
fn wait_signal(watched: &SigSet) -> (libc::c_int, libc::siginfo_t) {
    loop {
        // SAFETY: siginfo_t is plain old data, valid when zeroed.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: sigwaitinfo(2) with a valid set and a siginfo_t to fill.
        let number = unsafe { libc::sigwaitinfo(watched.as_ref(), &mut info) };
        if number > 0 {
            return (number, info);
        }
    }
}

/// Makes this process, PID 1 of a new PID namespace, the namespace's init
/// (see the module's documentation), and returns in its child, PID 2,
/// which goes on to become PROGRAM.
pub fn become_init(started: Started) -> Result<(), Failure> {
    let watched = watched();
    // Blocked before the fork, so that none sent meanwhile is lost (PID 1
    // drops a signal it neither handles nor blocks); PROGRAM gets back what
    // it inherited.
    let inherited = Inherited::set_aside(&watched);
    // SAFETY: fork(2) in a process with a single thread.
    match unsafe { nix::unistd::fork() } {
        Err(error) => {
            inherited.restore();
            Err(failed("cannot start PROGRAM's process under the PID namespace's init")(error).into())
        }
        Ok(nix::unistd::ForkResult::Child) => {
            inherited.restore();
            drop(started);
            Ok(())
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => run_init(child, &watched, started.status),
    }
}

/// The init's life: passes on to `program` the signals from outside the
/// namespace, reaps every child, writes to `status` each stop of `program`
/// (for the supervisor to stop as it did) and, once `program` has ended,
/// its wait status, and exits.
fn run_init(program: Pid, watched: &SigSet, mut status: PipeWriter) -> ! {
    // What `ps` shows for PID 1: not the supervisor's name.
    // SAFETY: PR_SET_NAME reads a NUL-terminated name of at most 16 bytes.
    unsafe { libc::prctl(libc::PR_SET_NAME, c"sandboxify-init".as_ptr()) };
    // Holding nothing PROGRAM was given (see `start`).
    close_all_but(&[status.as_raw_fd()]);
    // It needs none of the capabilities it may still have; lowering one's
    // own cannot fail.
    let _ = namespaces::drop_own_capabilities();
    loop {
        let (signal, info) = wait_signal(watched);
        if signal == libc::SIGCHLD {
            // PROGRAM, and the orphans the namespace hands its init.
            while let Some((pid, wait_status)) = wait_any() {
                // A stop continued since is not said: it would stop the
                // supervisor after the job went on.
                if pid == program && (!libc::WIFSTOPPED(wait_status) || still_stopped(program)) {
                    let _ = status.write_all(&wait_status.to_ne_bytes());
                    if !libc::WIFSTOPPED(wait_status) {
                        std::process::exit(0);
                    }
                }
            }
            continue;
        }
        // SAFETY: reading the sender's pid of a signal sent by kill(2).
        let from_outside = info.si_code != libc::SI_KERNEL && unsafe { info.si_pid() } == 0;
        if from_outside {
            // SAFETY: kill(2) of our own child.
            unsafe { libc::kill(program.as_raw(), signal) };
        }
    }
}

/// Closes every descriptor of this process but `kept`.
fn close_all_but(kept: &[RawFd]) {
    let mut kept: Vec<libc::c_uint> = kept.iter().filter_map(|&fd| libc::c_uint::try_from(fd).ok()).collect();
    kept.sort_unstable();
    let mut first = 0;
    for fd in kept.into_iter().chain([libc::c_uint::MAX]) {
        if fd > first {
            // SAFETY: close_range(2) closes descriptors of this process only,
            // none that `kept` names; the std handles that own some of them
            // are not used again.
            unsafe { libc::syscall(libc::SYS_close_range, first, fd - 1, 0) };
        }
        first = fd.saturating_add(1);
    }
}

/// A child of this process that has ended (reaped) or stopped, with its wait status.
fn wait_any() -> Option<(Pid, i32)> {
    let mut status = 0;
    // SAFETY: waitpid on any child, with a status to fill.
    let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG | libc::WUNTRACED) };
    (pid > 0).then(|| (Pid::from_raw(pid), status))
}

/// Whether `pid` is stopped now (state `T` in this process's /proc), not
/// continued since its stop was reported. Unreadable (a new root without
/// /proc): taken as stopped.
fn still_stopped(pid: Pid) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return true };
    stat.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next()).is_none_or(|state| state == 'T')
}

/// waitpid(2) for `child` with `options`; its wait status once it has ended.
fn wait(child: Pid, options: libc::c_int) -> Option<i32> {
    let mut status = 0;
    loop {
        // SAFETY: waitpid on our own child, with a status to fill.
        let result = unsafe { libc::waitpid(child.as_raw(), &mut status, options) };
        match result {
            -1 if nix::errno::Errno::last() == nix::errno::Errno::EINTR => continue,
            result if result == child.as_raw() => return Some(status),
            _ => return None,
        }
    }
}
