//! Counting the calls an errno action fails, without ever letting one run.
//!
//! The filter sends each such call to a user-notification listener
//! (`SECCOMP_RET_USER_NOTIF`: see [`super::with_stops_for_reporter`])
//! rather than fail it, and the reporter, which holds the listener, fails
//! it with the policy's errno, counts it and writes its JSON line. Unlike a
//! call stopped for a tracer, a call sent to a listener never runs on its
//! own: once the listener is closed (the program killed its reporter), the
//! kernel fails every call sent there with ENOSYS. Only an answer could let
//! one run (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`), which the reporter never
//! gives, so the listener must never reach the program:
//!
//! - the confined process creates it with the filter, alone (a process
//!   with other threads is refused: any could take the descriptor), hands
//!   it to the reporter without a system call (a trap the reporter, its
//!   tracer, answers by copying the descriptor: [`hand_over`]), and closes
//!   it before anything of the program runs;
//! - the reporter makes itself non-dumpable, and once it runs, the
//!   confined process enters a Landlock domain of its own
//!   ([`crate::sys::scope::nest`]): an ordinary user's program cannot
//!   trace the reporter, nor root's, and neither can read or write its
//!   memory or take its descriptors (`ptrace`, `process_vm_writev`,
//!   `/proc/PID/mem`, `/proc/PID/fd`, `pidfd_getfd` all ask Landlock). A
//!   kernel without a usable Landlock refuses the count, rather than leave
//!   root's program a way to the listener.
//!
//! A process has one listener at most among its filters: under the count,
//! the program's own filters cannot have one (EBUSY), and where a filter
//! around the sandbox has one, the count is refused.

use crate::action::ret;
use crate::compile::bpf::{SeccompData, op, run};
use crate::compile::filter::Program;
use crate::sys::Errno;
use crate::sys::install::{self, InstallError, Threads};
use crate::sys::trace;

/// The largest errno a filter can return (`MAX_ERRNO`): the kernel cuts a
/// larger one down to it.
const MAX_ERRNO: u32 = 4095;

/// Whether a return of the filter is an errno action the reporter answers:
/// not a fake success (errno 0: the library's protection of its SIGSYS
/// handler), and not at `probe`, the install probe's returns.
fn answers(program: &Program, index: usize, probe: &[usize]) -> bool {
    let insn = program.insns()[index];
    insn.code == op::RET | op::K
        && insn.k & ret::ACTION_FULL == ret::ERRNO
        && insn.k & ret::DATA != 0
        && !probe.contains(&index)
}

/// Whether `program` has errno returns the reporter can answer.
pub fn has_errno_answers(program: &Program) -> bool {
    let probe = program.probe_returns();
    (0..program.insns().len()).any(|index| answers(program, index, &probe))
}

/// `program` with the errno returns the reporter answers sent to a
/// listener instead. Under a filter without one (sandboxify's `--preload`
/// guard, once its exec gate is closed), they fail with ENOSYS; under a
/// newer filter sending them too (the library's, installed with the
/// reporter's listener), the newer one's listener answers.
pub fn to_listener(program: &Program) -> Program {
    let probe = program.probe_returns();
    let mut sent = program.clone();
    for (index, insn) in sent.insns.iter_mut().enumerate() {
        if answers(program, index, &probe) {
            insn.k = ret::USER_NOTIF;
        }
    }
    sent
}

/// Whether `program` sends calls to the reporter's listener.
fn sends_to_listener(program: &Program) -> bool {
    program.insns().iter().any(|insn| insn.code == op::RET | op::K && insn.k == ret::USER_NOTIF)
}

/// The errno `filters` (as compiled, newest first) fail a call with: the
/// first errno return, which is the one the kernel sent to the listener
/// (any other filter's errno, kill or trap would have been taken instead).
/// ENOSYS, as for a listener gone, if none says so.
pub(super) fn errno_for<'a>(filters: impl Iterator<Item = &'a Program>, data: &SeccompData) -> u16 {
    let mut filters = filters;
    let errno = filters.find_map(|program| {
        let verdict = run(program.insns(), data).ok()?.ret;
        (verdict & ret::ACTION_FULL == ret::ERRNO && verdict & ret::DATA != 0).then_some(verdict & ret::DATA)
    });
    errno.map_or(libc::ENOSYS as u16, |errno| errno.min(MAX_ERRNO) as u16)
}

/// A descriptor this value owns.
#[derive(Debug)]
pub(super) struct Fd(pub(super) libc::c_int);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: closes the descriptor this value owns.
        unsafe { libc::close(self.0) };
    }
}

/// What `rax` holds at the hand-over's trap: this, asking the reporter to
/// copy the descriptor in `rdi`; the reporter answers in `rax`, with 0 or
/// an errno.
const HAND_OVER: u64 = 0x5ec1_11c7_e4e4_0fd5;

/// Hands `listener` to the reporter, which traces the calling thread,
/// without a system call the new filter could answer: `int3` stops the
/// thread for its tracer, which copies the descriptor (`pidfd_getfd`),
/// answers in `rax` and swallows the SIGTRAP. Without a tracer the SIGTRAP
/// ends the process.
#[cfg(target_arch = "x86_64")]
fn hand_over(listener: libc::c_int) -> Result<(), Errno> {
    let mut answer = HAND_OVER;
    // SAFETY: int3 raises SIGTRAP, which the reporter answers by setting
    // rax; nothing else changes, and no memory is touched.
    unsafe { core::arch::asm!("int3", inout("rax") answer, in("rdi") listener as u64, options(nostack)) };
    match answer {
        0 => Ok(()),
        HAND_OVER => Err(Errno(libc::ESRCH)), // no reporter answered
        errno => Err(Errno(errno as i32)),
    }
}

/// The reporter runs on x86_64 only (see [`super::Reporter::start`]).
#[cfg(not(target_arch = "x86_64"))]
fn hand_over(_listener: libc::c_int) -> Result<(), Errno> {
    Err(Errno(libc::ENOSYS))
}

/// In the reporter, at a SIGTRAP stop of tracee `tid`: the listener, if the
/// stop is its hand-over ([`hand_over`]), copied from `tid`'s process, or
/// why not (which `tid` is told); `None` for any other SIGTRAP.
pub(super) fn take_listener(tid: libc::pid_t) -> Option<Result<Fd, Errno>> {
    let (rax, rdi) = trace::rax_rdi(tid)?;
    if rax != HAND_OVER {
        return None;
    }
    // SAFETY: pidfd_open and pidfd_getfd take integers; the descriptors
    // returned are owned here.
    let taken = unsafe {
        let process = libc::syscall(libc::SYS_pidfd_open, tid, 0);
        if process < 0 {
            Err(Errno::last())
        } else {
            let process = Fd(process as libc::c_int);
            let listener = libc::syscall(libc::SYS_pidfd_getfd, process.0, rdi as libc::c_int, 0);
            if listener < 0 { Err(Errno::last()) } else { Ok(Fd(listener as libc::c_int)) }
        }
    };
    trace::set_rax(tid, taken.as_ref().map_or_else(|error| error.0 as u64, |_| 0));
    Some(taken)
}

/// What the confined process keeps of a started reporter: whether it takes
/// the listener of a filter with errno answers. Installs the filters.
#[derive(Debug)]
pub struct Answering {
    /// The reporter counts errno answers and has no listener yet.
    takes_listener: bool,
}

impl Answering {
    pub(super) fn new(takes_listener: bool) -> Answering {
        Answering { takes_listener }
    }

    /// Installs `program` (see [`install::install`]); one that sends its
    /// errno answers to the reporter ([`super::with_stops_for_reporter`])
    /// with a listener, which goes to the reporter and is closed here.
    /// Only one filter may: a second, or one without a reporter counting
    /// errno answers, is refused.
    pub fn install(&mut self, program: &Program, threads: Threads) -> Result<(), InstallError> {
        if !sends_to_listener(program) {
            return install::install(program, threads);
        }
        // Callers send one filter's errno answers to the reporter, and only
        // where it counts them: a second could not have a listener either.
        if !core::mem::take(&mut self.takes_listener) {
            return Err(InstallError::ListenerTaken);
        }
        // No handler may run while the listener is in this process's table
        // (one the program armed earlier, a timer's, would find it).
        let signals = Signals::block();
        let listener = install::install_with_killable_listener(program, threads)?;
        let handed = hand_over(listener);
        // Under the filter now: a close it fails leaves the listener here,
        // and the program must not run with it.
        // SAFETY: closes the descriptor the filter's installation returned.
        if unsafe { libc::close(listener) } != 0 {
            return Err(InstallError::ListenerKept(Errno::last()));
        }
        handed.map_err(InstallError::ListenerNotTaken)?;
        signals.restore().map_err(InstallError::ListenerNotTaken)
    }
}

/// The signal mask and SIGTRAP's disposition before the hand-over, which
/// blocks every signal; its trap, forced through the blocked SIGTRAP,
/// resets that one's disposition (the kernel does so for every signal it
/// forces that is blocked or ignored): both are put back.
struct Signals {
    mask: libc::sigset_t,
    trap: libc::sigaction,
}

impl Signals {
    /// Saves both and blocks every signal.
    fn block() -> Signals {
        // SAFETY: sigset_t and sigaction are plain data; the calls fill
        // them with the current mask and disposition, and block all.
        unsafe {
            let mut all: libc::sigset_t = core::mem::zeroed();
            libc::sigfillset(&mut all);
            let mut mask: libc::sigset_t = core::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut mask);
            let mut trap: libc::sigaction = core::mem::zeroed();
            libc::sigaction(libc::SIGTRAP, core::ptr::null(), &mut trap);
            Signals { mask, trap }
        }
    }

    /// Puts both back (calls under the new filter).
    fn restore(&self) -> Result<(), Errno> {
        // SAFETY: sets SIGTRAP's disposition and the mask to the saved ones.
        unsafe {
            if libc::sigaction(libc::SIGTRAP, &self.trap, core::ptr::null_mut()) != 0 {
                return Err(Errno::last());
            }
            match libc::pthread_sigmask(libc::SIG_SETMASK, &self.mask, core::ptr::null_mut()) {
                0 => Ok(()),
                error => Err(Errno(error)),
            }
        }
    }
}
