//! Names a kill before the process ends: the SIGSYS handler behind the
//! reported kills of [`sandbox_policy::violation`], and the filters it
//! explains.
//!
//! The handler is installed before the first filter that reports its kills,
//! or, in a program exec'd under such a filter, as the library starts
//! ([`adopt_inherited`]), and never returns to the program: it writes one
//! line to stderr (if the policy allows `write`), then calls
//! [`violation::END`], which the filter traps while SIGSYS is blocked, so
//! the kernel ends the process by SIGSYS.

use alloc::boxed::Box;
use alloc::ffi::CString;
use alloc::string::String;
use core::ffi::{c_int, c_void};
use core::fmt;
use core::mem::MaybeUninit;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicU16, Ordering};

use sandbox_policy::action::ret;
use sandbox_policy::compile::bpf::{SeccompData, run};
use sandbox_policy::compile::filter::{FilterTooLong, probe};
use sandbox_policy::sys::Errno;
use sandbox_policy::text::variables::REPORT_JSON;
use sandbox_policy::violation::{self, Answer, Installed, Process, Violation};
use sandbox_policy::{Abi, Action, Policy, Program, compile};
use syscalls::{Sysno, syscall};

use crate::fail::fail;

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

/// The descriptor `SANDBOX_REPORT_JSON` is open on; -1: none.
static JSON: AtomicI32 = AtomicI32::new(-1);

/// Whether [`JSON`] came with the filter this image was exec'd under.
static JSON_INHERITED: AtomicBool = AtomicBool::new(false);

/// The executable's path, for the JSON form.
static EXECUTABLE: AtomicPtr<String> = AtomicPtr::new(ptr::null_mut());

/// The answer of the filter this image was exec'd under ([`adopt_inherited`]).
static INHERITED: AtomicU16 = AtomicU16::new(0);

/// Appends the JSON form of every named kill to `path` from now on: opened
/// now (as [`sandbox_policy::sys::report::APPEND_FLAGS`] says), as the program could later be forbidden to open it. One `write`
/// per line keeps the lines of several processes whole. Closed on exec,
/// unless [`compile_reporting`] leaves it to the images exec'd under the
/// filter.
fn json_to(path: &str) -> Result<(), Errno> {
    if JSON.load(Ordering::Acquire) >= 0 && !JSON_INHERITED.load(Ordering::Acquire) {
        return Ok(());
    }
    let path = CString::new(path).map_err(|_| Errno(libc::EINVAL))?;
    let (flags, status) = (sandbox_policy::sys::report::APPEND_FLAGS, sandbox_policy::sys::report::APPEND_STATUS);
    // SAFETY: openat with a NUL-terminated path; F_SETFL on the descriptor
    // it opened, which is closed if that fails.
    let opened = unsafe {
        let opened = syscall!(Sysno::openat, libc::AT_FDCWD, path.as_ptr(), flags, 0o600)?;
        if let Err(error) = syscall!(Sysno::fcntl, opened, libc::F_SETFL, status) {
            let _ = syscall!(Sysno::close, opened);
            return Err(error.into());
        }
        opened
    };
    // SAFETY: duplicates the descriptor just opened, and closes the
    // original; where the limit on descriptors is below the floor, keeps it.
    let fd = unsafe {
        match syscall!(Sysno::fcntl, opened, libc::F_DUPFD_CLOEXEC, violation::JSON_FD) {
            Ok(high) => {
                let _ = syscall!(Sysno::close, opened);
                high
            }
            Err(_) => opened,
        }
    };
    EXECUTABLE.store(Box::leak(Box::new(executable())), Ordering::Release);
    JSON.store(fd as c_int, Ordering::Release);
    JSON_INHERITED.store(false, Ordering::Release);
    Ok(())
}

/// The executable's path (`/proc/self/exe`), or empty.
fn executable() -> String {
    let mut executable = alloc::vec![0u8; 4096];
    // SAFETY: readlinkat into a live buffer of the length given.
    let len = unsafe {
        syscall!(
            Sysno::readlinkat,
            libc::AT_FDCWD,
            c"/proc/self/exe".as_ptr(),
            executable.as_mut_ptr(),
            executable.len()
        )
    }
    .unwrap_or(0);
    executable.truncate(len);
    String::from_utf8_lossy(&executable).into_owned()
}

/// Whether and where the library names kills: `SANDBOX_REPORT_KILLS` and
/// `SANDBOX_REPORT_JSON`.
#[derive(Clone, Copy)]
pub struct Reporting<'a> {
    /// Kills are named where it is safe.
    pub kills: bool,
    /// The JSON lines' file, opened with the first reporting filter.
    pub json: Option<&'a str>,
}

/// `policy` compiled to report its kills where it can (see
/// [`violation::reporting_program`]) and `reporting` asks for it, else as
/// is. A reporting program is registered, the handler installed and the
/// JSON file opened (a file that cannot be opened ends the process, 125)
/// before it is returned: the caller installs it next.
pub fn compile_reporting(
    source: &'static str,
    policy: &Policy,
    reporting: Reporting,
) -> Result<Program, FilterTooLong> {
    if !reporting.kills {
        return compile(policy);
    }
    let attached = source == crate::ATTACHED_SOURCE;
    let Some(mut program) = violation::reporting_program(policy, attached)? else { return compile(policy) };
    if let Some(path) = reporting.json
        && let Err(error) = json_to(path)
    {
        fail(&alloc::format!("cannot open the kill report {path} ({REPORT_JSON}): {error}"));
    }
    let answer = answer(policy);
    violation::answer_with(&mut program, answer);
    // Without the handler a trap would end the process unexplained, as the
    // kill does: then keep the kill.
    if NEWEST.load(Ordering::Acquire).is_null() && !HANDLED.load(Ordering::Acquire) && install_handler().is_err() {
        return compile(policy);
    }
    if JSON.load(Ordering::Acquire) == violation::JSON_FD {
        // Open across exec where the images exec'd under the filter are
        // told to use it, and only there.
        let on_exec = if answer.json { 0 } else { libc::FD_CLOEXEC };
        // SAFETY: sets the JSON file's descriptor flags.
        let _ = unsafe { syscall!(Sysno::fcntl, violation::JSON_FD, libc::F_SETFD, on_exec) };
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

/// What a filter of `policy`, installed over the library's others, tells
/// the library in an image exec'd under it: what runs under every filter
/// the library knows of, and where the JSON file is.
fn answer(policy: &Policy) -> Answer {
    let runs_everywhere = |call: Sysno| {
        let syscall = sandbox_policy::Syscall::by_number(Abi::X86_64, call as u32);
        syscall.is_some_and(|syscall| policy.always_allows(syscall)) && runs(call)
    };
    let inherited = inherited();
    Answer {
        json: JSON.load(Ordering::Acquire) == violation::JSON_FD
            && runs_everywhere(Sysno::fcntl)
            && runs_everywhere(Sysno::newfstatat)
            && inherited.is_none_or(|inherited| inherited.json),
        getpid: runs_everywhere(Sysno::getpid) && inherited.is_none_or(|inherited| inherited.getpid),
        gettid: runs_everywhere(Sysno::gettid) && inherited.is_none_or(|inherited| inherited.gettid),
        readlink: runs_everywhere(Sysno::readlinkat) && inherited.is_none_or(|inherited| inherited.readlink),
    }
}

/// The answer of the filter this image was exec'd under, if it names kills.
fn inherited() -> Option<Answer> {
    Answer::from_errno(INHERITED.load(Ordering::Acquire))
}

/// Whether the handler is in, for the filter this image was exec'd under.
static HANDLED: AtomicBool = AtomicBool::new(false);

/// Whether [`adopt_inherited`] has asked.
static ASKED: AtomicBool = AtomicBool::new(false);

/// In an image exec'd under a filter whose kills are named (its handler
/// gone with the old image), installs the handler again, so that those
/// kills are named too: from what the trap's data says of the filter, since
/// its policy did not come along. Elsewhere (no filter, or filters whose
/// kills are the kernel's) nothing changes: one `getpgrp` that every filter
/// of the sandbox answers before its policy.
///
/// Every call made here runs under any such filter: the question is
/// answered before the policy, the handler goes in through the door, and
/// the JSON file is checked only where the answer says the checks run.
pub fn adopt_inherited() {
    // Once per image: the early phase asks when it reads a policy, and the
    // constructor need not ask again (by then its own filter may answer).
    if ASKED.swap(true, Ordering::AcqRel) {
        return;
    }
    // SAFETY: the probe (getpgrp on x86_64, the library's one machine)
    // with a nonce no filter has; it has no effect.
    let Err(errno) = (unsafe { syscall!(Sysno::getpgrp, probe::ASK, probe::MARK) }) else { return };
    let errno = u16::try_from(errno.into_raw()).unwrap_or(0);
    let Some(answer) = Answer::from_errno(errno) else { return };
    if install_handler().is_err() {
        return;
    }
    INHERITED.store(errno, Ordering::Release);
    HANDLED.store(true, Ordering::Release);
    if answer.json && is_json_file(violation::JSON_FD) {
        let executable = if answer.readlink { executable() } else { String::new() };
        EXECUTABLE.store(Box::leak(Box::new(executable)), Ordering::Release);
        JSON.store(violation::JSON_FD, Ordering::Release);
        JSON_INHERITED.store(true, Ordering::Release);
    }
}

/// Whether `fd` is still the JSON file an older image left there: a
/// regular file open for appending only. A program may have closed it and
/// put something else there; appending a line to that would corrupt it.
fn is_json_file(fd: c_int) -> bool {
    // SAFETY: F_GETFL reads the descriptor's flags.
    let flags = unsafe { syscall!(Sysno::fcntl, fd, libc::F_GETFL) }.unwrap_or(0) as c_int;
    let mut stat = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: newfstatat of the descriptor itself (AT_EMPTY_PATH) fills `stat`.
    let stated = unsafe { syscall!(Sysno::newfstatat, fd, c"".as_ptr(), stat.as_mut_ptr(), libc::AT_EMPTY_PATH) };
    // SAFETY: filled by the kernel where the call succeeded.
    let regular = stated.is_ok() && unsafe { stat.assume_init() }.st_mode & libc::S_IFMT == libc::S_IFREG;
    regular && flags & (libc::O_ACCMODE | libc::O_APPEND) == libc::O_WRONLY | libc::O_APPEND
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
    // The door's key lets it through the protection of a filter this image
    // was exec'd under; the kernel ignores it.
    let [key, lock] = violation::DOOR;
    // SAFETY: installs a handler that only reads what the kernel passes it
    // and the leaked nodes.
    unsafe { syscall!(Sysno::rt_sigaction, libc::SIGSYS, &raw const action, 0, 8, key, lock) }?;
    Ok(())
}

/// `SA_RESTORER` (x86_64's kernel ABI; libc does not export it).
const SA_RESTORER: u64 = 0x0400_0000;

/// `si_code` of a SIGSYS sent by a seccomp trap.
const SYS_SECCOMP: c_int = 1;

extern "C" fn on_sigsys(_signal: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    // SAFETY: the kernel passes a siginfo_t and a ucontext_t to an SA_SIGINFO handler.
    let (info, context) = unsafe { (&*info, &*context.cast::<libc::ucontext_t>()) };
    if info.si_code == SYS_SECCOMP && u16::try_from(info.si_errno).is_ok_and(violation::is_tag) {
        let call = trapped_call(info, context);
        if !violation::is_end(&call) && !REPORTED.swap(true, Ordering::AcqRel) {
            report(&call, info.si_errno as u16);
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
    bytes: [u8; 2048],
    len: usize,
}

impl Line {
    /// Writes the line, newline-ended even if it was cut, in one `write`.
    fn write_to(mut self, fd: c_int) {
        if self.len == self.bytes.len() {
            self.bytes[self.len - 1] = b'\n';
        }
        // SAFETY: writes from a live buffer; a forbidden write ends the
        // process (a trap while SIGSYS is blocked), a failing one is ignored.
        let _ = unsafe { syscall!(Sysno::write, fd, self.bytes.as_ptr(), self.len) };
    }
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

/// Names the kill of `call`, whose trap carried `data`.
fn report(call: &SeccompData, data: u16) {
    let installed = core::iter::successors(
        // SAFETY: nodes are leaked, never freed nor changed once published.
        unsafe { NEWEST.load(Ordering::Acquire).as_ref() },
        // SAFETY: as above.
        |node| unsafe { node.older.as_ref() },
    )
    .map(|node| Installed { source: node.source, policy: &node.policy, program: &node.program });
    let kill = Violation::new(Action::Kill, installed, call).or_inherited(data);
    let mut line = Line { bytes: [0; 2048], len: 0 };
    let _ = kill.line(&mut line, "libsandbox: ");
    line.write_to(libc::STDERR_FILENO);
    let json = JSON.load(Ordering::Acquire);
    if json < 0 {
        return;
    }
    // A call the policy forbids would end the process here, the JSON line
    // lost: each is made only where every filter of the library lets it run.
    let mut time = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: writes only to `time`. libc's clock_gettime reads the vDSO,
    // making no system call (it falls back to one only where the kernel's
    // clock cannot be read from user space).
    let time = (unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &raw mut time) } == 0)
        .then_some((time.tv_sec as u64, time.tv_nsec as u32));
    let inherited = inherited();
    let getpid = runs(Sysno::getpid) && inherited.is_none_or(|inherited| inherited.getpid);
    let gettid = runs(Sysno::gettid) && inherited.is_none_or(|inherited| inherited.gettid);
    // SAFETY: system calls without arguments or effects.
    let pid = getpid.then(|| unsafe { syscall!(Sysno::getpid) }.ok()).flatten();
    // SAFETY: as above.
    let tid = gettid.then(|| unsafe { syscall!(Sysno::gettid) }.ok()).flatten();
    // SAFETY: published once, never freed.
    let executable = unsafe { EXECUTABLE.load(Ordering::Acquire).as_ref() }.map_or("", String::as_str);
    let (pid, tid) = (pid.map(|pid| pid as u32), tid.map(|tid| tid as u32));
    let process = Process { time, pid, tid, executable };
    let mut line = Line { bytes: [0; 2048], len: 0 };
    let _ = kill.json(&mut line, &process);
    line.write_to(json);
}

/// Whether every reported filter lets `call` (x86_64, no arguments) run.
fn runs(call: Sysno) -> bool {
    let data = SeccompData { nr: call as u32, arch: Abi::X86_64.audit_arch(), instruction_pointer: 0, args: [0; 6] };
    let mut node = NEWEST.load(Ordering::Acquire).cast_const();
    // SAFETY: nodes are leaked, never freed nor changed once published.
    while let Some(filter) = unsafe { node.as_ref() } {
        if !run(filter.program.insns(), &data).is_ok_and(|verdict| verdict.ret == ret::ALLOW) {
            return false;
        }
        node = filter.older;
    }
    true
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
