//! Tracing the calls a filter stops for a tracer (`SECCOMP_RET_TRACE`):
//! learn mode's observer and the permissive-mode reporter.
//!
//! Why a tracer rather than a user-notification listener, which is
//! cheaper: a call held for a listener is interrupted by any signal that
//! arrives before the listener has taken it, and comes back with `EINTR`
//! when the program's handler lacks `SA_RESTART` (as dash's SIGCHLD handler
//! does), so `fork`, `pipe` or `close` failed under observation in busy
//! shell scripts where they never fail otherwise. A call stopped for a
//! tracer is not interrupted: signals wait until it has run, as they would
//! without the tracer. The price: a traced program can see that it is
//! traced (`TracerPid` in `/proc/self/status`), and cannot itself be
//! traced by a debugger meanwhile.

use crate::abi::Abi;

/// A call stopped for the tracer (`PTRACE_EVENT_SECCOMP`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    /// The calling thread, in the tracer's PID namespace.
    pub tid: u32,
    /// The calling ABI, if known.
    pub abi: Option<Abi>,
    /// The call's number.
    pub nr: u32,
    /// The address after the calling `syscall` instruction.
    pub instruction_pointer: u64,
    /// The arguments.
    pub args: [u64; 6],
    /// The data of the filter's `SECCOMP_RET_TRACE` return (what it
    /// stopped the call for); 0 for a trapped call.
    pub ret_data: u32,
}

/// `CLONE_UNTRACED`: a child the tracer does not trace, whatever its
/// options; its stopped calls would fail with ENOSYS, unanswered.
pub const CLONE_UNTRACED: u32 = 0x0080_0000;

/// `clone` on i386 (arch/x86/entry/syscalls/syscall_32.tbl).
pub const I386_CLONE: u32 = 120;

impl Call {
    /// Whether this is a `clone` that would start a child the tracer does
    /// not follow (`CLONE_UNTRACED`).
    pub fn starts_untraced(&self) -> bool {
        let clone = match self.abi {
            Some(Abi::X86_64) => libc::SYS_clone as u32,
            Some(Abi::I386) => I386_CLONE,
            _ => return false,
        };
        self.nr == clone && self.args[0] & u64::from(CLONE_UNTRACED) != 0
    }
}

/// The call thread `tid`, a tracee of the caller, is stopped in at a
/// `PTRACE_EVENT_SECCOMP` stop; `None` if it cannot be read (the tracee was
/// killed meanwhile).
pub fn stopped_call(tid: libc::pid_t) -> Option<Call> {
    // SAFETY: plain data, filled by the kernel below.
    let mut info: libc::ptrace_syscall_info = unsafe { core::mem::zeroed() };
    let size = core::mem::size_of::<libc::ptrace_syscall_info>();
    // SAFETY: GET_SYSCALL_INFO writes at most `size` bytes to `info`.
    let filled = unsafe { libc::ptrace(libc::PTRACE_GET_SYSCALL_INFO, tid, size, &raw mut info) };
    if filled <= 0 || info.op != libc::PTRACE_SYSCALL_INFO_SECCOMP {
        return None;
    }
    // SAFETY: the kernel filled the seccomp member, as `op` says.
    let seccomp = unsafe { info.u.seccomp };
    Some(Call {
        tid: tid as u32,
        abi: Abi::from_audit_arch(info.arch),
        nr: seccomp.nr as u32,
        instruction_pointer: info.instruction_pointer,
        args: seccomp.args,
        ret_data: seccomp.ret_data,
    })
}

/// `SYS_SECCOMP`: the `si_code` of a SIGSYS sent by a filter's trap action.
#[cfg(target_arch = "x86_64")]
const SYS_SECCOMP: i32 = 1;

/// The call a filter trapped, when thread `tid`, a tracee of the caller,
/// is stopped delivering the SIGSYS that says so; `None` for any other
/// signal. Returns the trap's data (`si_errno`) too.
#[cfg(target_arch = "x86_64")]
pub fn trapped_call(tid: libc::pid_t) -> Option<(Call, u16)> {
    // SAFETY: plain data, filled by the kernel below.
    let mut info: libc::siginfo_t = unsafe { core::mem::zeroed() };
    // SAFETY: GETSIGINFO writes one siginfo_t to `info`.
    if unsafe { libc::ptrace(libc::PTRACE_GETSIGINFO, tid, 0, &raw mut info) } != 0
        || info.si_signo != libc::SIGSYS
        || info.si_code != SYS_SECCOMP
    {
        return None;
    }
    // `_sigsys` (asm-generic/siginfo.h): the call's address, number and
    // audit arch, after the three ints and their padding. No accessor in `libc`.
    // SAFETY: siginfo_t is 128 bytes; the fields read are within it.
    let (nr, arch) = unsafe {
        let base = (&raw const info).cast::<u8>();
        (base.add(24).cast::<i32>().read_unaligned(), base.add(28).cast::<u32>().read_unaligned())
    };
    let call = call_in_registers(tid, arch)?;
    Some((Call { nr: nr as u32, ..call }, info.si_errno as u16))
}

/// The call thread `tid`, a stopped tracee of the caller, made through
/// the ABI of `arch`, as its registers hold it (the number from `orig_rax`).
#[cfg(target_arch = "x86_64")]
fn call_in_registers(tid: libc::pid_t, arch: u32) -> Option<Call> {
    // SAFETY: plain data, filled by the kernel below.
    let mut regs: libc::user_regs_struct = unsafe { core::mem::zeroed() };
    // SAFETY: GETREGS writes one user_regs_struct to `regs`.
    if unsafe { libc::ptrace(libc::PTRACE_GETREGS, tid, 0, &raw mut regs) } != 0 {
        return None;
    }
    let abi = Abi::from_audit_arch(arch);
    let args = match abi {
        Some(Abi::I386) => [regs.rbx, regs.rcx, regs.rdx, regs.rsi, regs.rdi, regs.rbp],
        _ => [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9],
    };
    Some(Call { tid: tid as u32, abi, nr: regs.orig_rax as u32, instruction_pointer: regs.rip, args, ret_data: 0 })
}

/// The call a filter killed, when thread `tid`, a tracee of the caller, is
/// stopped at its exit (`PTRACE_EVENT_EXIT`); `None` for any other exit.
///
/// A filter's kill ends the process by SIGSYS from the calling thread with
/// its registers rolled back to the call, and marks that thread's seccomp
/// mode dead (`Seccomp: 3` in its status); the other threads, ended by the
/// SIGKILL that follows, do not stop at their exit. A SIGSYS sent by hand
/// ends the process the same way, from a thread whose mode is still 2.
#[cfg(target_arch = "x86_64")]
pub fn killed_call(tid: libc::pid_t) -> Option<Call> {
    let mut code: libc::c_ulong = 0;
    // SAFETY: GETEVENTMSG writes one unsigned long to `code`.
    if unsafe { libc::ptrace(libc::PTRACE_GETEVENTMSG, tid, 0, &raw mut code) } != 0
        || code & 0x7f != libc::SIGSYS as libc::c_ulong
        || !killed_by_filter(tid)
    {
        return None;
    }
    // SAFETY: plain data, filled by the kernel below.
    let mut info: libc::ptrace_syscall_info = unsafe { core::mem::zeroed() };
    let size = core::mem::size_of::<libc::ptrace_syscall_info>();
    // SAFETY: GET_SYSCALL_INFO writes at most `size` bytes to `info`; at an
    // event stop it fills the arch the thread's call was made through.
    if unsafe { libc::ptrace(libc::PTRACE_GET_SYSCALL_INFO, tid, size, &raw mut info) } <= 0 {
        return None;
    }
    call_in_registers(tid, info.arch)
}

/// Whether thread `tid`'s seccomp mode is dead: a filter killed it.
#[cfg(target_arch = "x86_64")]
fn killed_by_filter(tid: libc::pid_t) -> bool {
    let path = alloc::format!("/proc/{tid}/status\0");
    // SAFETY: open(2) with a NUL-terminated path.
    let fd = unsafe { libc::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return false;
    }
    let mut status = [0u8; 4096];
    // SAFETY: reads at most the buffer's length; closes the descriptor opened above.
    let len = unsafe {
        let len = libc::read(fd, status.as_mut_ptr().cast(), status.len());
        libc::close(fd);
        len
    };
    let status = &status[..usize::try_from(len).unwrap_or(0)];
    status.windows(11).any(|line| line == b"\nSeccomp:\t3")
}

/// Where `orig_rax` and `rax` are in the registers `PTRACE_POKEUSER`
/// writes (`struct user_regs_struct`): a tracer skips a stopped call by
/// setting `orig_rax` to -1, and the call returns what `rax` holds.
#[cfg(target_arch = "x86_64")]
const ORIG_RAX: usize = 15 * 8;
#[cfg(target_arch = "x86_64")]
const RAX: usize = 10 * 8;

/// Makes the call thread `tid` is stopped in fail with `errno`, unrun.
#[cfg(target_arch = "x86_64")]
pub fn skip(tid: libc::pid_t, errno: i32) {
    // SAFETY: POKEUSER writes one register of a stopped tracee of ours.
    unsafe {
        libc::ptrace(libc::PTRACE_POKEUSER, tid, RAX, -libc::c_long::from(errno));
        libc::ptrace(libc::PTRACE_POKEUSER, tid, ORIG_RAX, -1 as libc::c_long);
    }
}

/// The trapped call (x86_64 only: elsewhere the reporter, its one user,
/// does not start; see `report::Reporter::start`).
#[cfg(not(target_arch = "x86_64"))]
pub fn trapped_call(_tid: libc::pid_t) -> Option<(Call, u16)> {
    unreachable!("the reporter runs on x86_64 only")
}

/// The call a filter killed (x86_64 only, as [`trapped_call`]).
#[cfg(not(target_arch = "x86_64"))]
pub fn killed_call(_tid: libc::pid_t) -> Option<Call> {
    unreachable!("the reporter runs on x86_64 only")
}

/// Skips a stopped call (x86_64 only, as [`trapped_call`]).
#[cfg(not(target_arch = "x86_64"))]
pub fn skip(_tid: libc::pid_t, _errno: i32) {
    unreachable!("the reporter runs on x86_64 only")
}

/// `rdi` in `struct user_regs_struct`.
#[cfg(target_arch = "x86_64")]
const RDI: usize = 14 * 8;

/// The `rax` and `rdi` of stopped tracee `tid`.
#[cfg(target_arch = "x86_64")]
pub fn rax_rdi(tid: libc::pid_t) -> Option<(u64, u64)> {
    let peek = |offset: usize| {
        // SAFETY: PEEKUSER reads one register of a stopped tracee of ours;
        // a register can hold -1, so errno tells a failure.
        unsafe {
            *libc::__errno_location() = 0;
            let value = libc::ptrace(libc::PTRACE_PEEKUSER, tid, offset, 0);
            (*libc::__errno_location() == 0).then_some(value as u64)
        }
    };
    Some((peek(RAX)?, peek(RDI)?))
}

/// Sets the `rax` of stopped tracee `tid`.
#[cfg(target_arch = "x86_64")]
pub fn set_rax(tid: libc::pid_t, value: u64) {
    // SAFETY: POKEUSER writes one register of a stopped tracee of ours.
    unsafe { libc::ptrace(libc::PTRACE_POKEUSER, tid, RAX, value) };
}

/// A tracee's registers (x86_64 only, as [`trapped_call`]).
#[cfg(not(target_arch = "x86_64"))]
pub fn rax_rdi(_tid: libc::pid_t) -> Option<(u64, u64)> {
    unreachable!("the reporter runs on x86_64 only")
}

/// Sets a tracee's register (x86_64 only, as [`trapped_call`]).
#[cfg(not(target_arch = "x86_64"))]
pub fn set_rax(_tid: libc::pid_t, _value: u64) {
    unreachable!("the reporter runs on x86_64 only")
}
