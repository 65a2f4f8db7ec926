//! The exec gate's helper, as the full program has it (sandboxify's
//! `launch` module and README, "How sandboxify's own exec gets through"),
//! without libc: a thread made with a raw clone(), not bound by the filter
//! (it goes on the calling thread only), answers the one notification of
//! the main thread's execve from the gate's instruction
//! ([`sandbox_launcher::gate`]) with "continue", and the exec ends it. Whatever goes wrong after the thread starts (a notification
//! that is not the gate's, an exec that fails) ends with the helper, which
//! is unconfined, exec'ing the full program: that ends the main thread, and
//! the full program reads everything again and reports.

use core::ffi::c_char;
use core::sync::atomic::{AtomicI32, AtomicPtr, AtomicU32, Ordering};

use sandbox_launcher::gate;
use sandbox_policy::sys::install::Threads;
use sandbox_policy::sys::notify::Listener;
use sandbox_policy::sys::scope;
use sandbox_policy::{Abi, Program, install_with_listener};
use syscalls::{Sysno, syscall};

use crate::Stack;
use crate::runtime::exec_full_program;

/// The listener, handed from the main thread to the helper; -1 until set.
static LISTENER: AtomicI32 = AtomicI32::new(-1);
/// The main thread's id: the only caller the gate lets through.
static MAIN_THREAD: AtomicU32 = AtomicU32::new(0);
/// The launcher's initial stack, for the hand-over.
static STACK: AtomicPtr<Stack> = AtomicPtr::new(core::ptr::null_mut());

/// The helper's stack: it makes a few system calls, or execs.
const HELPER_STACK: usize = 64 << 10;

/// Installs `program` (whose only way through for execve is the gate) and
/// execs PROGRAM through the gate. Returns, having changed nothing PROGRAM
/// could see, if the helper cannot start, tracing cannot be confined or
/// the filter cannot be installed: the caller hands over.
pub fn exec(
    stack: &Stack,
    program: &Program,
    name: &[u8],
    path: &[u8],
    argv: *const *const c_char,
    envp: &[*const c_char],
) {
    // Not zeroed: the arena's chunks come zeroed from the kernel, and
    // writing 64 KiB would fault in sixteen pages the helper never uses.
    let layout = core::alloc::Layout::from_size_align(HELPER_STACK, 16).expect("a valid layout");
    // SAFETY: a non-zero size; the block is never freed (the helper runs on it until the exec).
    let helper_stack = unsafe { alloc::alloc::alloc(layout) };
    if helper_stack.is_null() {
        return;
    }
    // SAFETY: getpid has no preconditions; the main thread's id is the pid.
    let Ok(main_thread) = (unsafe { syscall!(Sysno::getpid) }) else { return };
    MAIN_THREAD.store(main_thread as u32, Ordering::Release);
    STACK.store(core::ptr::from_ref(stack).cast_mut(), Ordering::Release);
    // Not pinned to this CPU as the full program's helper is: measured on
    // the CI machine, the helper then takes the CPU from the main thread at
    // every yield while the filter is installed, which costs more (+60 µs)
    // than the wake-up across CPUs saves.
    let top = (helper_stack as usize + HELPER_STACK) & !15;
    // SAFETY: `top` ends a stack no one else uses, which lives for the rest
    // of the process; `answer_gate` never returns.
    if !unsafe { spawn(top, answer_gate) } {
        return;
    }
    if scope::confine_tracing(false).is_err() {
        return;
    }
    let Ok(listener) = install_with_listener(program, Threads::Calling) else { return };
    // From here: no allocation, no system call but the exec.
    LISTENER.store(listener, Ordering::Release);
    // SAFETY: a NUL-terminated path and NULL-terminated arrays of strings,
    // alive across the call.
    let errno = unsafe { gate::gated_execve(path.as_ptr().cast(), argv, envp.as_ptr()) };
    // The helper is gone (or hands over, which ends this thread): report
    // under the filter, allocating nothing.
    let errno = sandbox_policy::Action::Errno(errno as u16);
    let mut line = [0u8; 512];
    let mut length = 0;
    let name = &name[..name.len().min(400)];
    for part in [b"sandboxify: ".as_slice(), name, b": the exec failed: "] {
        line[length..length + part.len()].copy_from_slice(part);
        length += part.len();
    }
    let end = line.len() - 1;
    length += write_display(&mut line[length..end], &errno);
    line[length] = b'\n';
    // SAFETY: writes bytes from a live buffer; exit_group does not return.
    unsafe {
        let _ = syscall!(Sysno::write, 2, line.as_ptr(), length + 1);
        let _ = syscall!(Sysno::exit_group, 126);
    }
    // A policy that fails exit_group with an errno: end by a fault, which
    // no filter can refuse and no signal disposition can ignore.
    // SAFETY: ud2 raises SIGILL and never returns.
    unsafe { core::arch::asm!("ud2", options(noreturn)) }
}

/// Writes `value`'s text into `buffer`, as much as fits; returns its length.
fn write_display(buffer: &mut [u8], value: &dyn core::fmt::Display) -> usize {
    struct Into<'a>(&'a mut [u8], usize);
    impl core::fmt::Write for Into<'_> {
        fn write_str(&mut self, text: &str) -> core::fmt::Result {
            let room = self.0.len() - self.1;
            let take = text.len().min(room);
            self.0[self.1..self.1 + take].copy_from_slice(&text.as_bytes()[..take]);
            self.1 += take;
            Ok(())
        }
    }
    let mut into = Into(buffer, 0);
    let _ = core::fmt::write(&mut into, format_args!("{value}"));
    into.1
}

/// The clone() flags of a thread: the same memory, files, filesystem
/// information, signal handlers and thread group.
const THREAD: usize = 0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000;

/// Starts `helper` on a new thread of this process with the stack ending at
/// `top`; whether it started.
///
/// # Safety
///
/// `top` must be 16-byte aligned and end memory that only the new thread
/// uses, for as long as it runs; `helper` must not return.
unsafe fn spawn(top: usize, helper: extern "C" fn() -> !) -> bool {
    let result: isize;
    // SAFETY: clone() with a thread's flags and a fresh stack; in the new
    // thread (rax = 0) only `helper` runs, on that stack, and never
    // returns; the caller's thread goes on with rax = the new thread's id.
    unsafe {
        core::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "xor ebp, ebp",
            "call r12",
            "ud2",
            "2:",
            inlateout("rax") Sysno::clone as isize => result,
            in("rdi") THREAD,
            in("rsi") top,
            in("rdx") 0,
            in("r10") 0,
            in("r8") 0,
            in("r12") helper,
            lateout("rcx") _,
            lateout("r11") _,
        );
    }
    result > 0
}

/// The helper thread: lets the main thread's execve through the gate, once,
/// and is ended by that exec; on anything else it hands over.
extern "C" fn answer_gate() -> ! {
    let listener = loop {
        let listener = LISTENER.load(Ordering::Acquire);
        if listener >= 0 {
            break Listener(listener);
        }
        // SAFETY: sched_yield has no arguments.
        let _ = unsafe { syscall!(Sysno::sched_yield) };
    };
    listener.prefer_sync_wake_up();
    let answered = listener.receive().is_ok_and(|notification| {
        let genuine = notification.pid == MAIN_THREAD.load(Ordering::Acquire)
            && notification.nr == Sysno::execve as u32
            && notification.abi == Some(Abi::X86_64)
            && notification.instruction_pointer == gate::address();
        let answer = if genuine { listener.run(notification.id) } else { listener.fail(notification.id, 1) };
        genuine && answer.is_ok()
    });
    if answered {
        // SAFETY: ends this thread only; its stack is never reused.
        let _ = unsafe { syscall!(Sysno::exit, 0) };
    }
    // SAFETY: set before this thread started, and the stack lives as long as the process.
    exec_full_program(unsafe { &*STACK.load(Ordering::Acquire) })
}
