//! The observed processes' tracer.
//!
//! Learn mode ptraces every observed process and thread: the observer
//! filter ([`sandbox_policy::learn::observer`]) stops each of their calls
//! for the tracer (`SECCOMP_RET_TRACE`), which records it and lets it run;
//! exec, fork, vfork and clone stops make every new process and thread a
//! tracee from its first instruction.
//!
//! (Why a tracer and not a listener: see [`sandbox_policy::sys::trace`].)
//!
//! The vDSO is hidden from observed programs. `clock_gettime`,
//! `gettimeofday`, `time` and `getcpu` usually never reach the kernel: the
//! vDSO answers them in user space, so seccomp never sees them. On a host
//! without a vDSO (some VMs, old kernels) they do, and a list learned
//! without them would kill the program there. So at each exec stop, before
//! the program's first instruction, the tracer turns the auxiliary vector's
//! `AT_SYSINFO_EHDR` (and i386's `AT_SYSINFO`) into `AT_IGNORE`, and libc
//! falls back to the real system calls, which are then recorded when, and
//! only when, the program makes them.

use std::collections::BTreeSet;
use std::fs::{self, OpenOptions};
use std::os::unix::fs::FileExt;

use sandbox_policy::sys::trace::{self, Call};

use crate::failure::Failure;

const AT_NULL: u64 = 0;
const AT_IGNORE: u64 = 1;
const AT_SYSINFO: u64 = 32;
const AT_SYSINFO_EHDR: u64 = 33;

/// What to do with a stopped call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Let it run.
    Run,
    /// Fail it with this errno without running it.
    Fail(i32),
}

/// The observed processes' tracer.
pub struct Tracer {
    first: libc::pid_t,
    /// Tracees past their initial SIGSTOP (which is ptrace's, not theirs).
    started: BTreeSet<libc::pid_t>,
}

/// In the child: lets the parent trace it, and waits until it has.
pub fn become_traced() -> std::io::Result<()> {
    // SAFETY: PTRACE_TRACEME takes no pointer; raise stops this process.
    unsafe {
        if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        libc::raise(libc::SIGSTOP);
    }
    Ok(())
}

fn ptrace_failure(what: &str) -> Failure {
    Failure::System(format!("--learn: {what}: {}", std::io::Error::last_os_error()))
}

impl Tracer {
    /// The first process traced.
    pub fn first(&self) -> libc::pid_t {
        self.first
    }

    /// In the parent: takes the child stopped by [`become_traced`], asks for
    /// the observer's stops and to follow its execs and every process and
    /// thread it starts, and lets it go.
    pub fn attach(child: libc::pid_t) -> Result<Tracer, Failure> {
        let mut status = 0;
        // SAFETY: waits for our own child.
        if unsafe { libc::waitpid(child, &mut status, libc::__WALL) } != child || !libc::WIFSTOPPED(status) {
            return Err(Failure::System("--learn: the observed child did not stop for tracing".to_owned()));
        }
        let options = libc::PTRACE_O_TRACESECCOMP
            | libc::PTRACE_O_TRACEEXEC
            | libc::PTRACE_O_TRACEFORK
            | libc::PTRACE_O_TRACEVFORK
            | libc::PTRACE_O_TRACECLONE
            | libc::PTRACE_O_EXITKILL;
        // SAFETY: SETOPTIONS and CONT on our stopped tracee take integer arguments.
        unsafe {
            if libc::ptrace(libc::PTRACE_SETOPTIONS, child, 0, options) != 0 {
                return Err(ptrace_failure("PTRACE_SETOPTIONS"));
            }
            if libc::ptrace(libc::PTRACE_CONT, child, 0, 0) != 0 {
                return Err(ptrace_failure("PTRACE_CONT"));
            }
        }
        Ok(Tracer { first: child, started: BTreeSet::from([child]) })
    }

    /// Handles every stop, passing each call the observer stops to
    /// `observe`, until no tracee is left; returns the first process's wait
    /// status.
    pub fn run(mut self, mut observe: impl FnMut(&Call) -> Answer) -> Result<i32, Failure> {
        let mut first_status = None;
        loop {
            let mut status = 0;
            // SAFETY: reaps or inspects any of our tracees.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::__WALL) };
            if pid < 0 {
                match std::io::Error::last_os_error().raw_os_error() {
                    Some(libc::EINTR) => continue,
                    Some(libc::ECHILD) => break,
                    _ => return Err(ptrace_failure("waitpid")),
                }
            }
            if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
                self.started.remove(&pid);
                if pid == self.first {
                    first_status = Some(status);
                }
                continue;
            }
            if !libc::WIFSTOPPED(status) {
                continue;
            }
            let signal = libc::WSTOPSIG(status);
            let event = status >> 16;
            match event {
                libc::PTRACE_EVENT_SECCOMP => {
                    if let Some(call) = trace::stopped_call(pid)
                        && let Answer::Fail(errno) = observe(&call)
                    {
                        trace::skip(pid, errno);
                    }
                }
                libc::PTRACE_EVENT_EXEC => hide_vdso(pid),
                _ => {}
            }
            // Event stops (the new tracee of fork, vfork and clone reports
            // itself) and a new tracee's initial SIGSTOP are ptrace's own;
            // any other stop is a signal to deliver.
            let own = event != 0 || (signal == libc::SIGSTOP && self.started.insert(pid));
            let inject = if own { 0 } else { signal };
            // SAFETY: continues a stopped tracee of ours.
            unsafe { libc::ptrace(libc::PTRACE_CONT, pid, 0, inject) };
        }
        first_status.ok_or_else(|| Failure::System("--learn: the observed child vanished".to_owned()))
    }
}

/// Turns the vDSO entries of `pid`'s auxiliary vector into `AT_IGNORE`.
/// Called at the exec stop, before the new program's first instruction. A
/// process whose vector cannot be read keeps its vDSO: nothing breaks, only
/// what the vDSO serves goes unseen.
fn hide_vdso(pid: libc::pid_t) {
    let _ = try_hide_vdso(pid);
}

fn try_hide_vdso(pid: libc::pid_t) -> Option<()> {
    // The 64-bit or 32-bit layout, from the new program's ELF class.
    let exe = fs::read(format!("/proc/{pid}/exe")).ok()?;
    let word: u64 = match exe.get(4)? {
        2 => 8,
        1 => 4,
        _ => return None,
    };
    // Field 28 of stat is the start of the stack, where argc is.
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let start: u64 = fields.get(25)?.parse().ok()?;
    let memory = OpenOptions::new().read(true).write(true).open(format!("/proc/{pid}/mem")).ok()?;
    let read = |at: u64| -> Option<u64> {
        let mut bytes = [0u8; 8];
        memory.read_exact_at(&mut bytes[..word as usize], at).ok()?;
        Some(u64::from_le_bytes(bytes))
    };
    let argc = read(start)?;
    // Past argc, argv and its NULL, then past envp and its NULL.
    let mut at = start + word * (argc + 2);
    while read(at)? != 0 {
        at += word;
    }
    at += word;
    loop {
        let kind = read(at)?;
        if kind == AT_NULL {
            return Some(());
        }
        if kind == AT_SYSINFO_EHDR || kind == AT_SYSINFO {
            memory.write_all_at(&AT_IGNORE.to_le_bytes()[..word as usize], at).ok()?;
        }
        at += 2 * word;
    }
}
