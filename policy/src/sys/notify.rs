//! Seccomp user notifications: the side of a listener descriptor that
//! receives the calls a filter sends it ([`crate::Action::Notify`]) and
//! answers them. Used by sandboxify's exec gate, its learn mode and the
//! permissive-mode report; with raw system calls, for the launcher, which
//! has no libc.

use syscalls::{Sysno, syscall};

use crate::abi::Abi;
use crate::sys::Errno;

/// A call held by the kernel until answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notification {
    /// The kernel's cookie for the answer.
    pub id: u64,
    /// The calling thread, in the listener's PID namespace.
    pub pid: u32,
    /// The calling ABI, if the filter knows it.
    pub abi: Option<Abi>,
    /// The call's number.
    pub nr: u32,
    /// The address after the calling `syscall` instruction.
    pub instruction_pointer: u64,
    /// The arguments.
    pub args: [u64; 6],
}

/// `SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP` (linux/seccomp.h; not in `libc`).
const SYNC_WAKE_UP: libc::c_ulong = 1;

/// A listener descriptor, borrowed (it is closed by its owner).
#[derive(Clone, Copy, Debug)]
pub struct Listener(pub libc::c_int);

impl Listener {
    /// Asks the kernel to wake the caller on the answering CPU, which halves
    /// a round trip (Linux 6.6+; older kernels refuse, which costs only time).
    pub fn prefer_sync_wake_up(self) {
        // SAFETY: SET_FLAGS takes an integer flag.
        let _ = unsafe { syscall!(Sysno::ioctl, self.0, libc::SECCOMP_IOCTL_NOTIF_SET_FLAGS, SYNC_WAKE_UP) };
    }

    /// Waits for the next held call.
    pub fn receive(self) -> Result<Notification, Errno> {
        // SAFETY: seccomp_notif is plain data; the kernel requires it zeroed.
        let mut raw: libc::seccomp_notif = unsafe { core::mem::zeroed() };
        loop {
            // SAFETY: RECV fills `raw`, a live seccomp_notif.
            match unsafe { syscall!(Sysno::ioctl, self.0, libc::SECCOMP_IOCTL_NOTIF_RECV, &raw mut raw) } {
                Ok(_) => break,
                Err(syscalls::Errno::EINTR) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        let data = raw.data;
        Ok(Notification {
            id: raw.id,
            pid: raw.pid,
            abi: Abi::from_audit_arch(data.arch),
            nr: data.nr as u32,
            instruction_pointer: data.instruction_pointer,
            args: data.args,
        })
    }

    /// Lets the held call run as if there were no filter.
    pub fn run(self, id: u64) -> Result<(), Errno> {
        self.respond(id, 0, libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32)
    }

    /// Fails the held call with `errno` without running it.
    pub fn fail(self, id: u64, errno: i32) -> Result<(), Errno> {
        self.respond(id, -errno, 0)
    }

    fn respond(self, id: u64, error: i32, flags: u32) -> Result<(), Errno> {
        let response = libc::seccomp_notif_resp { id, val: 0, error, flags };
        // SAFETY: SEND reads `response`, a live seccomp_notif_resp.
        match unsafe { syscall!(Sysno::ioctl, self.0, libc::SECCOMP_IOCTL_NOTIF_SEND, &raw const response) } {
            // The caller died meanwhile: nothing left to answer.
            Ok(_) | Err(syscalls::Errno::ENOENT) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// Waits until a call is held (`true`) or no process uses the filter any
    /// more (`false`).
    pub fn wait(self) -> Result<bool, Errno> {
        let mut poll = libc::pollfd { fd: self.0, events: libc::POLLIN, revents: 0 };
        loop {
            // SAFETY: poll on one live pollfd.
            match unsafe { wait_readable(&raw mut poll) } {
                Ok(n) if n > 0 && poll.revents & libc::POLLIN != 0 => return Ok(true),
                Ok(n) if n > 0 => return Ok(false),
                Ok(_) | Err(syscalls::Errno::EINTR) => continue,
                Err(error) => return Err(error.into()),
            }
        }
    }
}

/// `poll(fd, 1, -1)` on one descriptor; aarch64 has only `ppoll`.
///
/// # Safety
///
/// `poll` points to a live `pollfd`.
unsafe fn wait_readable(poll: *mut libc::pollfd) -> Result<usize, syscalls::Errno> {
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as the caller promises; no timeout, no signal mask.
    return unsafe { syscall!(Sysno::ppoll, poll, 1, 0, 0, 8) };
    #[cfg(not(target_arch = "aarch64"))]
    // SAFETY: as the caller promises.
    return unsafe { syscall!(Sysno::poll, poll, 1, -1isize) };
}
