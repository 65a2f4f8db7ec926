//! Installing a compiled filter on the calling process.

use core::fmt;

use syscalls::{Sysno, syscall};

use super::{Errno, scope};
use crate::compile::filter::{Program, probe};

/// Which threads a filter is installed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threads {
    /// Every thread of the process (`SECCOMP_FILTER_FLAG_TSYNC`): a thread
    /// started earlier, by a program that loads libsandbox.so with dlopen
    /// say, is confined too.
    All,
    /// The calling thread only (its future children inherit the filter).
    Calling,
}

/// Why a filter could not be installed. Each leaves the process unconfined,
/// so callers must not go on to run the program.
#[derive(Debug)]
pub enum InstallError {
    /// `prctl(PR_SET_NO_NEW_PRIVS)` failed; without it an unprivileged process
    /// may not install a filter.
    NoNewPrivs(Errno),
    /// The kernel has no seccomp filtering, or something hides it.
    Unavailable(Errno),
    /// The kernel (or an outer seccomp filter) refused the filter.
    Refused(Errno),
    /// `seccomp()` reported success, yet the filter does not answer its
    /// probe: something (an outer filter returning errno 0) faked the call.
    NotInForce,
    /// Another thread could not take the filter (it has a different filter of
    /// its own), so the process cannot be confined as a whole.
    ThreadSync(Option<libc::c_long>),
    /// The filter needs a listener, and a filter the process already runs
    /// under has the one a process may have (EBUSY).
    ListenerTaken,
    /// The reporter could not take the filter's listener.
    ListenerNotTaken(Errno),
    /// The filter refused to let the listener be closed after the hand-over.
    ListenerKept(Errno),
}

/// Sets `no_new_privs` and installs `program`. Setting `no_new_privs` also
/// means that no program the confined process runs can gain privileges
/// through setuid bits or file capabilities.
pub fn install(program: &Program, threads: Threads) -> Result<(), InstallError> {
    let flags = match threads {
        Threads::All => libc::SECCOMP_FILTER_FLAG_TSYNC,
        Threads::Calling => 0,
    };
    load(program, flags).map(drop)
}

/// `SECCOMP_FILTER_FLAG_TSYNC_ESRCH` (Linux 5.7): TSYNC that reports a
/// failed thread as ESRCH, which is what lets it combine with a listener.
const TSYNC_ESRCH: libc::c_ulong = 1 << 4;

/// Like [`install`], and returns the new notification listener
/// (`SECCOMP_FILTER_FLAG_NEW_LISTENER`), through which another thread or
/// process answers the calls the filter sends there
/// ([`crate::Action::Notify`]). The descriptor is close-on-exec.
pub fn install_with_listener(program: &Program, threads: Threads) -> Result<libc::c_int, InstallError> {
    let threads = match threads {
        Threads::All => libc::SECCOMP_FILTER_FLAG_TSYNC | TSYNC_ESRCH,
        Threads::Calling => 0,
    };
    let fd = load(program, libc::SECCOMP_FILTER_FLAG_NEW_LISTENER | threads)?;
    Ok(fd as libc::c_int)
}

/// Like [`install_with_listener`], and a caller whose call the listener has
/// received waits for the answer through any signal but a fatal one
/// (`SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`, Linux 5.19): a handler that
/// runs meanwhile does not turn the answer into EINTR. An older kernel
/// refuses the flag; the filter then goes in without it, which only
/// widens that window.
pub fn install_with_killable_listener(program: &Program, threads: Threads) -> Result<libc::c_int, InstallError> {
    let threads = match threads {
        Threads::All => libc::SECCOMP_FILTER_FLAG_TSYNC | TSYNC_ESRCH,
        Threads::Calling => 0,
    };
    let flags = libc::SECCOMP_FILTER_FLAG_NEW_LISTENER | threads;
    let loaded = match load(program, flags | libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) {
        Err(InstallError::Unavailable(Errno(libc::EINVAL))) => load(program, flags),
        loaded => loaded,
    };
    match loaded {
        Ok(fd) => Ok(fd as libc::c_int),
        Err(InstallError::Refused(Errno(libc::EBUSY))) => Err(InstallError::ListenerTaken),
        Err(error) => Err(error),
    }
}

// By hand rather than with thiserror: see `crate::error`.
impl fmt::Display for InstallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstallError::NoNewPrivs(errno) => write!(f, "cannot set no_new_privs: {errno}"),
            InstallError::Unavailable(errno) => write!(f, "seccomp filtering is not available: {errno}"),
            InstallError::Refused(errno) => write!(f, "the kernel refused the seccomp filter: {errno}"),
            InstallError::NotInForce => f.write_str(
                "seccomp() reported success but the filter is not in force (an outer seccomp filter fakes the call)",
            ),
            InstallError::ListenerTaken => f.write_str(
                "counting errno answers needs the one seccomp listener a process may have, and a filter around \
                 this sandbox already has it (an outer sandbox counting them, or a supervisor answering calls)",
            ),
            InstallError::ListenerNotTaken(errno) => {
                write!(f, "the reporter could not take the listener it answers errno calls through: {errno}")
            }
            InstallError::ListenerKept(errno) => {
                write!(f, "the policy keeps the listener for errno calls from being closed (close: {errno})")
            }
            InstallError::ThreadSync(thread) => write!(
                f,
                "a thread ({}) could not be confined: it already runs a different seccomp filter",
                thread_name(thread)
            ),
        }
    }
}

impl core::error::Error for InstallError {}

fn thread_name(thread: &Option<libc::c_long>) -> alloc::string::String {
    match thread {
        Some(id) => alloc::format!("thread {id}"),
        None => "another thread".into(),
    }
}

/// The probe's call on this machine (see [`probe::syscall`]).
#[cfg(target_arch = "aarch64")]
pub(crate) const PROBE: Sysno = Sysno::getpgid;
#[cfg(not(target_arch = "aarch64"))]
pub(crate) const PROBE: Sysno = Sysno::getpgrp;

/// What a filter is installed with for its [`probe`]: the nonce that asks
/// it, and the two answers only it gives.
struct Secret {
    nonce: u64,
    answers: [u16; 2],
}

impl Secret {
    /// New values for every filter of the process: from the kernel's random
    /// pool, or, if an outer filter denies that, the clock (stacked filters
    /// are installed microseconds apart, and a filter, which cannot read
    /// the clock, cannot foresee it).
    fn new() -> Secret {
        let mut random = [0u64; 2];
        // SAFETY: getrandom writes at most the 16 bytes it is given.
        let read = unsafe { syscall!(Sysno::getrandom, random.as_mut_ptr(), 16, libc::GRND_NONBLOCK) };
        if read != Ok(16) {
            let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
            // SAFETY: clock_gettime writes one timespec.
            let _ = unsafe { syscall!(Sysno::clock_gettime, libc::CLOCK_MONOTONIC, &raw mut now) };
            let clock = (now.tv_sec as u64).wrapping_mul(1_000_000_000).wrapping_add(now.tv_nsec as u64);
            // Spread the nanoseconds over every bit (a multiplicative hash).
            random = [clock, clock.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29)];
        }
        let answer = |bits: u64| 1 + (bits % u64::from(probe::ANSWERS)) as u16;
        Secret { nonce: random[0], answers: [answer(random[1]), answer(random[1] >> 32)] }
    }

    /// Whether the filter just installed gives both answers (see [`probe`]):
    /// the first to the nonce, the second to the nonce with its low word
    /// changed.
    fn confirmed(&self) -> bool {
        let asks = [(self.nonce, self.answers[0]), (self.nonce ^ 1, self.answers[1])];
        asks.into_iter().all(|(nonce, answer)| {
            // SAFETY: getpgrp ignores its arguments; the filter answers this call itself.
            let got = unsafe { syscall!(PROBE, nonce, probe::MARK) };
            got == Err(syscalls::Errno::new(i32::from(answer)))
        })
    }
}

// Raw system calls: the launcher has no libc (see `Errno`'s `From`).
fn load(program: &Program, flags: libc::c_ulong) -> Result<libc::c_long, InstallError> {
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only.
    if let Err(error) = unsafe { syscall!(Sysno::prctl, libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } {
        return Err(InstallError::NoNewPrivs(error.into()));
    }
    let secret = Secret::new();
    let probed = program.with_probe(secret.nonce, secret.answers, scope::files_handled());
    let insns = probed.as_deref().unwrap_or(program.insns());
    // compile() never makes a program longer than the kernel takes; were one
    // longer still than the length field holds, the kernel's own answer.
    let len = libc::c_ushort::try_from(insns.len()).map_err(|_| InstallError::Refused(Errno(libc::EINVAL)))?;
    let fprog = libc::sock_fprog {
        len,
        // `Insn` is `#[repr(C)]` with the fields of `struct sock_filter`.
        filter: insns.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `fprog` points to `insns`, which outlives the call; the kernel
    // copies the program before returning.
    let rc = unsafe { syscall!(Sysno::seccomp, libc::SECCOMP_SET_MODE_FILTER, flags, &raw const fprog) };
    match rc.map(|value| value as libc::c_long).map_err(Errno::from) {
        // TSYNC reports the thread it could not synchronise as a positive id;
        // NEW_LISTENER returns the new descriptor.
        Ok(tid) if tid > 0 && flags & libc::SECCOMP_FILTER_FLAG_TSYNC != 0 && flags & TSYNC_ESRCH == 0 => {
            Err(InstallError::ThreadSync(Some(tid)))
        }
        Ok(ok) if probed.is_none() || secret.confirmed() => Ok(ok),
        Ok(_) => Err(InstallError::NotInForce),
        Err(Errno(libc::ESRCH)) if flags & TSYNC_ESRCH != 0 => Err(InstallError::ThreadSync(None)),
        Err(error) => Err(match error.0 {
            libc::ENOSYS | libc::EINVAL => InstallError::Unavailable(error),
            _ => InstallError::Refused(error),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::Arch;

    #[test]
    fn the_probe_is_the_call_the_compiler_answers() {
        assert_eq!(Some(PROBE as u32), probe::syscall(Arch::HOST.native()));
    }
}
