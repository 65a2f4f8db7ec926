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
//! - the confined process creates it with the filter, hands it to the
//!   reporter over a socket pair made before the reporter was forked, and
//!   closes both before anything of the program runs;
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
use crate::sys::notify::Notification;

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

/// The answered call's data, as its filter saw it.
pub(super) fn data(notification: &Notification) -> Option<SeccompData> {
    let abi = notification.abi?;
    Some(SeccompData {
        nr: notification.nr,
        arch: abi.audit_arch(),
        instruction_pointer: notification.instruction_pointer,
        args: notification.args,
    })
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

/// A connected pair of sockets for handing the listener over, closed on exec.
pub(super) fn socket_pair() -> Result<(Fd, Fd), Errno> {
    let mut fds = [-1; 2];
    // SAFETY: socketpair writes two descriptors into `fds`.
    if unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr()) } != 0 {
        return Err(Errno::last());
    }
    Ok((Fd(fds[0]), Fd(fds[1])))
}

/// The space of a control message holding one descriptor (`CMSG_SPACE`
/// of an int on 64-bit Linux), aligned for its header.
#[repr(C, align(8))]
struct OneFd([u8; 24]);

/// A message of the one byte in `data`, with `control` for a descriptor.
fn message(data: &mut libc::iovec, control: &mut OneFd) -> libc::msghdr {
    // SAFETY: msghdr is plain data; zero is a valid empty value.
    let mut message: libc::msghdr = unsafe { core::mem::zeroed() };
    message.msg_iov = data;
    message.msg_iovlen = 1;
    message.msg_control = control.0.as_mut_ptr().cast();
    message.msg_controllen = control.0.len();
    message
}

/// Sends `fd` over `socket`.
fn send_fd(socket: &Fd, fd: &Fd) -> Result<(), Errno> {
    let mut byte = [0u8; 1];
    let mut data = libc::iovec { iov_base: byte.as_mut_ptr().cast(), iov_len: 1 };
    let mut control = OneFd([0; 24]);
    let message = message(&mut data, &mut control);
    // SAFETY: the control buffer holds one header and one descriptor, so
    // the first header and its data are inside it.
    unsafe {
        let header = libc::CMSG_FIRSTHDR(&raw const message);
        (*header).cmsg_level = libc::SOL_SOCKET;
        (*header).cmsg_type = libc::SCM_RIGHTS;
        (*header).cmsg_len = libc::CMSG_LEN(size_of::<libc::c_int>() as u32) as usize;
        libc::CMSG_DATA(header).cast::<libc::c_int>().write_unaligned(fd.0);
    }
    // SAFETY: sendmsg reads the message built above, whose buffers live across the call.
    if unsafe { libc::sendmsg(socket.0, &raw const message, libc::MSG_NOSIGNAL) } != 1 {
        return Err(Errno::last());
    }
    Ok(())
}

/// Receives the descriptor sent over `socket`, close-on-exec; `None` if the
/// other side closed without sending one.
pub(super) fn receive_fd(socket: &Fd) -> Option<Fd> {
    let mut byte = [0u8; 1];
    let mut data = libc::iovec { iov_base: byte.as_mut_ptr().cast(), iov_len: 1 };
    let mut control = OneFd([0; 24]);
    let mut message = message(&mut data, &mut control);
    // SAFETY: recvmsg fills the buffers of the message, which live across the call.
    if unsafe { libc::recvmsg(socket.0, &raw mut message, libc::MSG_CMSG_CLOEXEC) } != 1 {
        return None;
    }
    // SAFETY: the kernel filled the control buffer; CMSG_FIRSTHDR checks
    // its length, and a header of SCM_RIGHTS carries a descriptor.
    unsafe {
        let header = libc::CMSG_FIRSTHDR(&raw const message);
        if header.is_null() || (*header).cmsg_level != libc::SOL_SOCKET || (*header).cmsg_type != libc::SCM_RIGHTS {
            return None;
        }
        Some(Fd(libc::CMSG_DATA(header).cast::<libc::c_int>().read_unaligned()))
    }
}

/// What the confined process keeps of a started reporter: where the
/// listener of a filter with errno answers goes. Installs the filters.
#[derive(Debug)]
pub struct Answering {
    /// The socket to the reporter, until the listener is sent; `None`
    /// where no errno answer is counted.
    to_reporter: Option<Fd>,
}

impl Answering {
    pub(super) fn new(to_reporter: Option<Fd>) -> Answering {
        Answering { to_reporter }
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
        let Some(socket) = self.to_reporter.take() else { return Err(InstallError::ListenerTaken) };
        let listener = Fd(install::install_with_killable_listener(program, threads)?);
        // Were it not sent, the filter's errno answers would be ENOSYS: the
        // program must not run.
        send_fd(&socket, &listener).map_err(InstallError::Refused)
    }
}

/// The reporter's side of the listener: first the socket it comes over,
/// then the listener itself.
pub(super) enum Listening {
    /// Waiting for the listener.
    Socket(Fd),
    /// Answering.
    Listener(Fd),
    /// The filter has no process left, or the listener never came.
    Done,
}

impl Listening {
    /// The descriptor to wait on, if any.
    pub(super) fn fd(&self) -> Option<libc::c_int> {
        match self {
            Listening::Socket(fd) | Listening::Listener(fd) => Some(fd.0),
            Listening::Done => None,
        }
    }
}
