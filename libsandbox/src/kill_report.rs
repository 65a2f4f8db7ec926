//! Names a kill before the process ends: the SIGSYS handler behind the
//! reported kills of [`sandbox_policy::violation`], and the filters it
//! explains.
//!
//! The handler is installed before the first filter that reports its kills,
//! and never returns to the program: it writes one line to stderr (if the
//! policy allows `write`), then calls [`violation::END`], which the filter
//! traps while SIGSYS is blocked, so the kernel ends the process by SIGSYS.

use alloc::boxed::Box;
use core::ffi::{c_int, c_void};
use core::fmt;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use sandbox_policy::compile::bpf::SeccompData;
use sandbox_policy::compile::filter::FilterTooLong;
use sandbox_policy::sys::Errno;
use sandbox_policy::violation::{self, Installed};
use sandbox_policy::{Policy, Program, compile};
use syscalls::{Sysno, syscall};

/// A filter whose kills are reported, and the older ones.
struct Node {
    source: &'static str,
    policy: Policy,
    program: Program,
    older: *const Node,
}

/// The newest reported filter; nodes are never freed.
static NEWEST: AtomicPtr<Node> = AtomicPtr::new(ptr::null_mut());

/// Set by the first thread that reports: one line per process.
static REPORTED: AtomicBool = AtomicBool::new(false);

/// `policy` compiled to report its kills where it can (see
/// [`violation::reporting_program`]), else as is. A reporting program is
/// registered, and the handler installed, before it is returned: the caller
/// installs it next.
pub fn compile_reporting(source: &'static str, policy: &Policy) -> Result<Program, FilterTooLong> {
    let Some(program) = violation::reporting_program(policy)? else { return compile(policy) };
    // Without the handler a trap would end the process unexplained, as the
    // kill does: then keep the kill.
    if NEWEST.load(Ordering::Acquire).is_null() && install_handler().is_err() {
        return compile(policy);
    }
    let node = Box::leak(Box::new(Node {
        source,
        policy: policy.clone(),
        program: program.clone(),
        older: NEWEST.load(Ordering::Acquire),
    }));
    NEWEST.store(node, Ordering::Release);
    Ok(program)
}

/// `struct kernel_sigaction` of x86_64.
#[repr(C)]
struct KernelSigaction {
    handler: usize,
    flags: u64,
    restorer: usize,
    mask: u64,
}

core::arch::global_asm!(
    ".pushsection .text.sandbox_restore_rt,\"ax\",@progbits",
    ".globl sandbox_restore_rt",
    ".hidden sandbox_restore_rt",
    "sandbox_restore_rt:",
    "mov eax, {rt_sigreturn}",
    "syscall",
    ".popsection",
    rt_sigreturn = const libc::SYS_rt_sigreturn,
);

unsafe extern "C" {
    /// Returns from a handler (`rt_sigreturn`): x86_64 handlers need one of
    /// their own (`SA_RESTORER`), which libc would otherwise provide.
    fn sandbox_restore_rt();
}

fn install_handler() -> Result<(), Errno> {
    let action = KernelSigaction {
        handler: on_sigsys as *const () as usize,
        // On the thread's alternate stack if it has one (a Go thread's).
        flags: (libc::SA_SIGINFO | libc::SA_ONSTACK) as u64 | SA_RESTORER,
        restorer: sandbox_restore_rt as *const () as usize,
        // Nothing interrupts the report.
        mask: !0,
    };
    // SAFETY: installs a handler that only reads what the kernel passes it
    // and the leaked nodes.
    unsafe { syscall!(Sysno::rt_sigaction, libc::SIGSYS, &raw const action, 0, 8) }?;
    Ok(())
}

/// `SA_RESTORER` (x86_64's kernel ABI; libc does not export it).
const SA_RESTORER: u64 = 0x0400_0000;

/// `si_code` of a SIGSYS sent by a seccomp trap.
const SYS_SECCOMP: c_int = 1;

extern "C" fn on_sigsys(_signal: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    // SAFETY: the kernel passes a siginfo_t and a ucontext_t to an SA_SIGINFO handler.
    let (info, context) = unsafe { (&*info, &*context.cast::<libc::ucontext_t>()) };
    if info.si_code == SYS_SECCOMP && info.si_errno == c_int::from(violation::TAG) {
        let call = trapped_call(info, context);
        if !violation::is_end(&call) && !REPORTED.swap(true, Ordering::AcqRel) {
            report(&call);
        }
    }
    end();
}

/// The call as the filter saw it, from the trap's siginfo (number, arch) and
/// the registers it left (arguments).
fn trapped_call(info: &libc::siginfo_t, context: &libc::ucontext_t) -> SeccompData {
    // The SIGSYS fields of siginfo_t, after si_signo, si_errno, si_code and
    // padding: _call_addr (8 bytes), _syscall, _arch (4 each).
    let fields = ptr::from_ref(info).cast::<u8>();
    // SAFETY: reads inside the 128-byte siginfo_t, at the kernel's offsets.
    let (nr, arch) =
        unsafe { (fields.add(24).cast::<u32>().read_unaligned(), fields.add(28).cast::<u32>().read_unaligned()) };
    let registers = &context.uc_mcontext.gregs;
    let register = |index: c_int| registers[index as usize] as u64;
    let order = if arch == sandbox_policy::Abi::I386.audit_arch() {
        [libc::REG_RBX, libc::REG_RCX, libc::REG_RDX, libc::REG_RSI, libc::REG_RDI, libc::REG_RBP]
    } else {
        [libc::REG_RDI, libc::REG_RSI, libc::REG_RDX, libc::REG_R10, libc::REG_R8, libc::REG_R9]
    };
    SeccompData { nr, arch, instruction_pointer: register(libc::REG_RIP), args: order.map(register) }
}

/// A line on the stack: the handler allocates nothing.
struct Line {
    bytes: [u8; 1024],
    len: usize,
}

impl fmt::Write for Line {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let room = self.bytes.len() - self.len;
        let taken = text.len().min(room);
        self.bytes[self.len..self.len + taken].copy_from_slice(&text.as_bytes()[..taken]);
        self.len += taken;
        Ok(())
    }
}

fn report(call: &SeccompData) {
    let mut line = Line { bytes: [0; 1024], len: 0 };
    let installed = core::iter::successors(
        // SAFETY: nodes are leaked, never freed nor changed once published.
        unsafe { NEWEST.load(Ordering::Acquire).as_ref() },
        // SAFETY: as above.
        |node| unsafe { node.older.as_ref() },
    )
    .map(|node| Installed { source: node.source, policy: &node.policy, program: &node.program });
    let _ = violation::describe(&mut line, "libsandbox: ", installed, call);
    if line.len == line.bytes.len() {
        line.bytes[line.len - 1] = b'\n';
    }
    // SAFETY: writes from a live buffer; a forbidden or failing write ends
    // the process (a trap while SIGSYS is blocked) or is ignored.
    let _ = unsafe { syscall!(Sysno::write, libc::STDERR_FILENO, line.bytes.as_ptr(), line.len) };
}

/// Ends the process by SIGSYS.
fn end() -> ! {
    // SAFETY: a reported kill in every filter of this library; SIGSYS is
    // blocked here, so the kernel forces its default action.
    let _ = unsafe { syscall!(Sysno::getpgrp, violation::END) };
    // No filter yet (a SIGSYS sent by hand before the first one went in):
    // the default action, as the signal would have had.
    let default = KernelSigaction { handler: 0, flags: SA_RESTORER, restorer: 0, mask: 0 };
    // SAFETY: restores SIGSYS's default action and sends it to this thread,
    // where it is delivered once unblocked.
    unsafe {
        let _ = syscall!(Sysno::rt_sigaction, libc::SIGSYS, &raw const default, 0, 8);
        let _ = syscall!(
            Sysno::tgkill,
            syscall!(Sysno::getpid).unwrap_or(0),
            syscall!(Sysno::gettid).unwrap_or(0),
            libc::SIGSYS
        );
        let _ = syscall!(Sysno::rt_sigprocmask, libc::SIG_UNBLOCK, &raw const SIGSYS_SET, 0, 8);
    }
    // SAFETY: the signal ends the process before this; if not, stop anyway.
    unsafe { core::arch::asm!("ud2", options(noreturn)) }
}

/// The signal set holding SIGSYS alone.
static SIGSYS_SET: u64 = 1 << (libc::SIGSYS - 1);
