//! The supervisor: where the exec chain differs.
//!
//! With `--unshare-pid` PROGRAM must be PID 1 of a new PID namespace, which
//! only a new process can be; with cgroups (one in cgroup v2, or one per
//! cgroup v1 hierarchy), someone must remove them when PROGRAM has ended. In both cases sandboxify starts the process that
//! becomes PROGRAM with clone(2), in the new namespaces at once (fork
//! semantics: a copy of this single-threaded process on the same stack),
//! and its own process stays outside as the supervisor:
//!
//! - the child waits until the supervisor has moved it into every cgroup,
//!   then sets up the rest and execs PROGRAM; it gets SIGKILL should the
//!   supervisor die (`PR_SET_PDEATHSIG`, which PROGRAM keeps);
//! - the supervisor forwards SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2,
//!   SIGALRM, SIGTERM and SIGWINCH to PROGRAM, waits for it, removes the
//!   cgroups, and ends as PROGRAM ended: with its exit status, or killed by
//!   the same signal (an OOM kill in a memory cgroup: SIGKILL).
//!
//! A PID namespace's init only receives the signals it handles, even from
//! the parent namespace (pid_namespaces(7)). So for a signal that PROGRAM
//! as PID 1 neither catches nor ignores (SigCgt, SigIgn in /proc/PID/status)
//! and whose default action ends a process, the supervisor sends SIGKILL
//! instead, and reports PROGRAM as killed by the original signal: PROGRAM
//! ends as it would have outside a namespace. (SIGWINCH's default is to do
//! nothing, so nothing is done.) The check and the kill are not atomic: a
//! handler installed in between is not run.
//!
//! Signals the kernel sends (si_code SI_KERNEL: a terminal's Ctrl-C, Ctrl-\,
//! hang-up, window change) go to the whole foreground process group, which
//! PROGRAM shares with sandboxify: PROGRAM has received its own, so they
//! are not sent again (only the SIGKILL above, for PID 1). A signal sent by
//! a process to the whole group (`kill -TERM -PGID`) reaches a PROGRAM that
//! handles it twice, once directly and once forwarded.
//!
//! Stop signals are not forwarded: Ctrl-Z stops sandboxify, not a PROGRAM
//! that is PID 1 (init cannot be stopped by a signal it does not handle).

use std::io::{Read, Write};

use nix::sched::CloneFlags;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal, sigaction, sigprocmask};
use nix::unistd::Pid;

use super::cgroup::Cgroups;
use super::{SetupError, failed, namespaces, status_mask};
use crate::failure::Failure;

/// The signals passed on to PROGRAM.
const FORWARDED: [Signal; 8] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGALRM,
    Signal::SIGTERM,
    Signal::SIGWINCH,
];

/// Starts the process that becomes PROGRAM, in new namespaces `flags`, in
/// `cgroups` (if any). Returns in that process, ready for the rest of the
/// setup; sandboxify's own process supervises it and never returns.
pub fn start(flags: CloneFlags, pid_namespace: bool, cgroups: Cgroups) -> Result<(), Failure> {
    let mut watched = SigSet::empty();
    for signal in FORWARDED.into_iter().chain([Signal::SIGCHLD]) {
        watched.add(signal);
    }
    let (mut go_reader, mut go_writer) = match std::io::pipe() {
        Ok(pipe) => pipe,
        Err(error) => return Err(abandon(cgroups, failed("cannot make a pipe")(error))),
    };
    // Blocked from before the clone, so none is lost: the supervisor takes
    // them with sigwaitinfo. The child restores what PROGRAM inherits.
    // (With valid arguments these calls cannot fail.)
    let mut inherited_mask = SigSet::empty();
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&watched), Some(&mut inherited_mask)).expect("a valid mask");
    // An inherited SIG_IGN for SIGCHLD would reap PROGRAM before we could wait for it.
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    // SAFETY: installs the default action, no handler.
    let inherited_sigchld = unsafe { sigaction(Signal::SIGCHLD, &default) }.expect("a valid action");
    let restore = || {
        // SAFETY: puts back the action this process was started with.
        let _ = unsafe { sigaction(Signal::SIGCHLD, &inherited_sigchld) };
        let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&inherited_mask), None);
    };

    // SAFETY: clone(2) without CLONE_VM or a new stack is fork(2) with
    // namespace flags: the child runs on a copy of this process, which has
    // a single thread here (the exec gate's starts later, in the child).
    let pid = unsafe {
        libc::syscall(libc::SYS_clone, flags.bits() as libc::c_ulong | libc::SIGCHLD as libc::c_ulong, 0, 0, 0, 0)
    };
    if pid < 0 {
        let error = namespaces::creation_failed(nix::errno::Errno::last());
        restore();
        return Err(abandon(cgroups, error));
    }
    if pid == 0 {
        restore();
        drop(go_writer);
        // SAFETY: prctl(PR_SET_PDEATHSIG) with a valid signal.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
        // EOF: the supervisor is gone or gave up (it reports why).
        let mut go = [0u8];
        return match go_reader.read(&mut go) {
            Ok(1) => Ok(()),
            _ => Err(Failure::Setup(SetupError::Call {
                step: "the supervisor ended before the sandbox was set up".to_owned(),
                errno: nix::errno::Errno::ESRCH,
                hint: None,
            })),
        };
    }
    let child = Pid::from_raw(pid as libc::pid_t);
    drop(go_reader);
    if let Err(error) = cgroups.add(child.as_raw()) {
        let _ = nix::sys::signal::kill(child, Signal::SIGKILL);
        let _ = wait(child, 0);
        restore();
        return Err(abandon(cgroups, error));
    }
    // The child needs no answer if it has died meanwhile: waiting tells.
    let _ = go_writer.write_all(b"g");
    drop(go_writer);
    supervise(child, &watched, pid_namespace, cgroups)
}

/// Removes the cgroups nothing will run in, and reports `error`.
fn abandon(cgroups: Cgroups, error: SetupError) -> Failure {
    cgroups.remove();
    error.into()
}

/// Waits for PROGRAM, forwarding signals; then removes the cgroups and ends
/// as PROGRAM ended.
fn supervise(child: Pid, watched: &SigSet, pid_namespace: bool, cgroups: Cgroups) -> ! {
    // A signal for which PROGRAM got SIGKILL in its place.
    let mut replaced = None;
    let status = loop {
        // SAFETY: siginfo_t is plain old data, valid when zeroed.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: sigwaitinfo(2) with a valid set and a siginfo_t to fill.
        let number = unsafe { libc::sigwaitinfo(watched.as_ref(), &mut info) };
        let Ok(signal) = Signal::try_from(number) else { continue };
        if signal == Signal::SIGCHLD {
            match wait(child, libc::WNOHANG) {
                Some(status) => break status,
                None => continue,
            }
        }
        let from_kernel = info.si_code == libc::SI_KERNEL;
        if !pid_namespace {
            if !from_kernel {
                let _ = nix::sys::signal::kill(child, signal);
            }
            continue;
        }
        match disposition(child, signal) {
            Disposition::Caught if !from_kernel => {
                let _ = nix::sys::signal::kill(child, signal);
            }
            Disposition::Default if signal != Signal::SIGWINCH => {
                replaced = Some(signal);
                let _ = nix::sys::signal::kill(child, Signal::SIGKILL);
            }
            _ => {}
        }
    };
    cgroups.remove();
    let status = match replaced {
        Some(signal) if libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGKILL => signal as i32,
        _ => status,
    };
    // Unblocked so that passing on a signal ends this process by it.
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
    std::process::exit(crate::pass_through(status))
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

/// What a process does with a signal.
enum Disposition {
    Caught,
    Ignored,
    Default,
}

fn disposition(pid: Pid, signal: Signal) -> Disposition {
    let bit = 1u64 << (signal as i32 - 1);
    let pid = pid.to_string();
    if status_mask(&pid, "SigCgt").is_some_and(|mask| mask & bit != 0) {
        Disposition::Caught
    } else if status_mask(&pid, "SigIgn").is_some_and(|mask| mask & bit != 0) {
        Disposition::Ignored
    } else {
        Disposition::Default
    }
}
