//! Permissive mode with names: under a policy with `log` actions, the calls
//! that would have been violations are reported to the user who ran the
//! program, by name and with their integer arguments, without root and
//! without the audit log (which ordinary users and containers usually
//! cannot read).
//!
//! The filter sends those calls to a listener instead of logging them
//! ([`with_log_as_notify`]). A *reporter* process, started before the filter
//! from the confined process by a double fork (so that it is nobody's child
//! but init's, and no `wait()` of the program ever sees it), takes the
//! listener, lets every call run as `log` would, counts them, and when no
//! confined process is left writes one deduplicated report: to stderr as it
//! was when the reporter started, or appended to the file named by
//! [`crate::text::variables::REPORT`]. With [`JsonLines`], it also appends
//! each call as one JSON line as it lets it through
//! ([`crate::text::variables::REPORT_JSON`]).

use alloc::collections::BTreeMap;
use alloc::ffi::CString;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;
use core::sync::atomic::{AtomicI32, Ordering};

use crate::abi::Abi;
use crate::action::ret;
use crate::compile::bpf::SeccompData;
use crate::compile::bpf::op;
use crate::compile::filter::Program;
use crate::sys::Errno;
use crate::sys::notify::Listener;
use crate::sys::notify::Notification;
use crate::tables::syscalls::{ArgKind, Syscall};
use crate::violation::{Installed, Process, Violation};
use crate::{Action, Policy};

/// `program` with every `log` return turned into a notification.
pub fn with_log_as_notify(program: &Program) -> Program {
    let mut program = program.clone();
    for insn in &mut program.insns {
        if insn.code == op::RET | op::K && insn.k == ret::LOG {
            insn.k = ret::USER_NOTIF;
        }
    }
    program
}

/// Whether `program` has any `log` return, and so needs a reporter.
pub fn logs(program: &Program) -> bool {
    program.insns().iter().any(|insn| insn.code == op::RET | op::K && insn.k == ret::LOG)
}

/// Shared between the confined process and its reporter.
#[repr(C)]
struct Handoff {
    /// The listener's number in the confined process; -1 until installed.
    listener: AtomicI32,
    /// Set by the reporter once it holds its own copy (1), or could not
    /// take it (minus the errno).
    taken: AtomicI32,
    /// Set by the reporter once it can reach the confined process (1), or
    /// cannot (minus the errno): before the filter goes in, so that a
    /// reporter that cannot work is found out while the program can still
    /// be stopped cleanly.
    ready: AtomicI32,
}

/// One exec the reporter lets through unrecorded: sandboxify's own, from its
/// exec gate (see sandboxify's launch module).
#[derive(Clone, Copy, Debug)]
pub struct Gate {
    /// The calling thread.
    pub pid: u32,
    /// The gate's instruction pointer.
    pub instruction_pointer: u64,
}

/// Where a report goes: a file opened before the program runs, or stderr.
#[derive(Debug)]
pub struct Output(libc::c_int);

impl Output {
    /// Opens `path` to append to, creating it (mode 0600), not through a
    /// symbolic link: opened once, before the program runs, so that it cannot
    /// point the report elsewhere later, nor be confined away from it.
    pub fn file(path: &str) -> Result<Output, Errno> {
        let path = CString::new(path).map_err(|_| Errno(libc::EINVAL))?;
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_APPEND | libc::O_CLOEXEC | libc::O_NOFOLLOW;
        // SAFETY: open(2) with a NUL-terminated path.
        let fd = unsafe { libc::open(path.as_ptr(), flags, 0o600) };
        if fd < 0 { Err(Errno::last()) } else { Ok(Output(fd)) }
    }

    /// Stderr as it is now.
    pub fn stderr() -> Result<Output, Errno> {
        // SAFETY: dup copies stderr.
        let fd = unsafe { libc::fcntl(libc::STDERR_FILENO, libc::F_DUPFD_CLOEXEC, 0) };
        if fd < 0 { Err(Errno::last()) } else { Ok(Output(fd)) }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        // SAFETY: closes the descriptor this value owns.
        unsafe { libc::close(self.0) };
    }
}

/// Where, besides the report, each let-through call goes as a JSON line
/// ([`crate::violation::Violation::json`]), and the filter that logs them.
pub struct JsonLines {
    /// The file (`SANDBOX_REPORT_JSON`).
    pub out: Output,
    /// Where the policy came from, as errors say it.
    pub source: &'static str,
    /// The policy.
    pub policy: Policy,
    /// Its program as compiled (with `log` returns, before
    /// [`with_log_as_notify`]).
    pub program: Program,
}

/// The confined process's end of a started reporter.
pub struct Reporter {
    handoff: *mut Handoff,
}

impl Reporter {
    /// Starts a reporter for the calling process, which is about to install
    /// a filter from [`with_log_as_notify`]. `prefix` starts every line
    /// (`libsandbox: `); the report goes to `out`.
    pub fn start(
        prefix: &'static str,
        out: Output,
        gate: Option<Gate>,
        json: Option<JsonLines>,
    ) -> Result<Reporter, Errno> {
        // SAFETY: an anonymous shared mapping of one page, zero-filled.
        let handoff = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if handoff == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        let handoff = handoff.cast::<Handoff>();
        // SAFETY: the mapping is live and large enough; atomics of zeroed memory are valid.
        unsafe { (*handoff).listener.store(-1, Ordering::Release) };
        // SAFETY: getpid has no preconditions.
        let target = unsafe { libc::getpid() };
        // SAFETY: fork; the children only run the code below and _exit.
        match unsafe { libc::fork() } {
            -1 => return Err(Errno::last()),
            0 => {
                // SAFETY: fork again so that the reporter is not the program's child.
                if unsafe { libc::fork() } == 0 {
                    // SAFETY: the handoff page is shared and outlives this process.
                    serve(unsafe { &*handoff }, target, out.0, prefix, gate, json.as_ref());
                }
                // SAFETY: the intermediate child ends at once.
                unsafe { libc::_exit(0) };
            }
            child => {
                let mut status = 0;
                // SAFETY: reaps the intermediate child (`out` is closed on return).
                unsafe { libc::waitpid(child, &mut status, 0) };
            }
        }
        // SAFETY: the mapping is live; the reporter sets `ready` either way.
        let handoff_ref = unsafe { &*handoff };
        loop {
            match handoff_ref.ready.load(Ordering::Acquire) {
                0 => core::hint::spin_loop(),
                1 => return Ok(Reporter { handoff }),
                failed => return Err(Errno(-failed)),
            }
        }
    }

    /// Hands the listener to the reporter and closes this process's copy.
    /// Called right after installing the filter: until the reporter holds
    /// the listener, a notified call would wait for it, so this waits
    /// without making any system call. If the reporter could not take it,
    /// the error: the caller must stop the program.
    pub fn hand_over(self, listener: libc::c_int) -> Result<(), Errno> {
        // SAFETY: the mapping stays live for the life of the process.
        let handoff = unsafe { &*self.handoff };
        handoff.listener.store(listener, Ordering::Release);
        let taken = loop {
            match handoff.taken.load(Ordering::Acquire) {
                0 => core::hint::spin_loop(),
                taken => break taken,
            }
        };
        // SAFETY: closes our copy; the reporter holds its own, if any.
        unsafe { libc::close(listener) };
        if taken < 0 { Err(Errno(-taken)) } else { Ok(()) }
    }
}

/// The reporter process: takes the listener, lets every call run and counts
/// it, and reports when no confined process is left. Never returns.
fn serve(handoff: &Handoff, target: i32, out: i32, prefix: &str, gate: Option<Gate>, json: Option<&JsonLines>) -> ! {
    // Ctrl-C hits the program's whole process group: the report must survive it.
    // SAFETY: changes this process's dispositions only.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGQUIT, libc::SIG_IGN);
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
    }
    let Some(listener) = take_listener(handoff, target) else {
        // SAFETY: the program ended before installing its filter.
        unsafe { libc::_exit(0) }
    };
    // The confined process closes its copy of the listener right after the
    // hand-off: its own call, not the program's.
    let mut own_close = Some(handoff.listener.load(Ordering::Acquire));
    let mut counts: BTreeMap<(Abi, u32, [Option<u32>; 6]), u64> = BTreeMap::new();
    let mut gate = gate;
    while let Ok(true) = listener.wait() {
        let Ok(call) = listener.receive() else { continue };
        let _ = listener.run(call.id);
        if gate.is_some_and(|g| g.pid == call.pid && g.instruction_pointer == call.instruction_pointer) {
            gate = None; // sandboxify's own exec, once
            continue;
        }
        let closes_listener = call.abi == Some(Abi::X86_64)
            && call.nr == libc::SYS_close as u32
            && call.pid == target as u32
            && own_close == Some(call.args[0] as i32);
        if closes_listener {
            own_close = None;
            continue;
        }
        let Some(abi) = call.abi else { continue };
        if let Some(json) = json {
            write_json(json, abi, &call);
        }
        *counts.entry((abi, call.nr, integer_args(abi, call.nr, &call.args))).or_insert(0) += 1;
    }
    if !counts.is_empty() {
        let text = report(prefix, &counts);
        // SAFETY: writes a live buffer to the descriptor opened by `start`.
        unsafe { libc::write(out, text.as_ptr().cast(), text.len()) };
    }
    // SAFETY: the reporter is done.
    unsafe { libc::_exit(0) }
}

/// Appends `call` to the JSON lines, in one write.
fn write_json(json: &JsonLines, abi: Abi, call: &Notification) {
    let data = SeccompData {
        nr: call.nr,
        arch: abi.audit_arch(),
        instruction_pointer: call.instruction_pointer,
        args: call.args,
    };
    let installed = Installed { source: json.source, policy: &json.policy, program: &json.program };
    let mut time = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes only to `time`.
    let time = (unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut time) } == 0)
        .then_some((time.tv_sec as u64, time.tv_nsec as u32));
    let process = Process { time, pid: thread_group(call.pid), tid: Some(call.pid), executable: &executable(call.pid) };
    let mut line = String::new();
    let _ = Violation::new(Action::Log, [installed].into_iter(), &data).json(&mut line, &process);
    // SAFETY: writes a live buffer to the descriptor opened before the program ran.
    unsafe { libc::write(json.out.0, line.as_ptr().cast(), line.len()) };
}

/// The process of thread `tid` (`Tgid:` in its status), if it still runs.
fn thread_group(tid: u32) -> Option<u32> {
    let status = read_proc(tid, "status")?;
    let line = status.lines().find_map(|line| line.strip_prefix("Tgid:"))?;
    line.trim().parse().ok()
}

/// The executable of thread `tid`, or empty.
fn executable(tid: u32) -> String {
    let path = CString::new(format!("/proc/{tid}/exe")).expect("no NUL");
    let mut buffer = [0u8; 4096];
    // SAFETY: readlink into a live buffer of the length given.
    let len = unsafe { libc::readlink(path.as_ptr(), buffer.as_mut_ptr().cast(), buffer.len()) };
    usize::try_from(len).map_or_else(|_| String::new(), |len| String::from_utf8_lossy(&buffer[..len]).into_owned())
}

/// `/proc/TID/FILE`, if it can be read.
fn read_proc(tid: u32, file: &str) -> Option<String> {
    let path = CString::new(format!("/proc/{tid}/{file}")).ok()?;
    // SAFETY: open(2) with a NUL-terminated path.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    let mut text = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        // SAFETY: read into a live buffer of the length given.
        let read = unsafe { libc::read(fd, buffer.as_mut_ptr().cast(), buffer.len()) };
        match usize::try_from(read) {
            Ok(0) | Err(_) => break,
            Ok(read) => text.extend_from_slice(&buffer[..read]),
        }
    }
    // SAFETY: closes the descriptor opened above.
    unsafe { libc::close(fd) };
    String::from_utf8(text).ok()
}

/// Waits for the listener's number, then copies it from the target.
fn take_listener(handoff: &Handoff, target: i32) -> Option<Listener> {
    // The reporter runs under whatever filter the confined process already
    // has (sandboxify --preload's guard, an outer sandbox): a call of its
    // own that one refuses must stop the program, not hang it.
    // SAFETY: pidfd_open on the confined process, which outlives the hand-off.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, target, 0) } as i32;
    if pidfd < 0 {
        handoff.ready.store(-Errno::last().0, Ordering::Release);
        return None;
    }
    handoff.ready.store(1, Ordering::Release);
    loop {
        let number = handoff.listener.load(Ordering::Acquire);
        if number >= 0 {
            // SAFETY: copies a descriptor of the target, which is waiting for us.
            let fd = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd, number, 0) } as i32;
            let taken = if fd >= 0 { 1 } else { -Errno::last().0 };
            handoff.taken.store(taken, Ordering::Release);
            return (fd >= 0).then_some(Listener(fd));
        }
        // The target may end without a filter: then there is nothing to report.
        let mut poll = libc::pollfd { fd: pidfd, events: libc::POLLIN, revents: 0 };
        // SAFETY: poll on one live pollfd, with a short timeout.
        if unsafe { libc::poll(&mut poll, 1, 0) } > 0 {
            return None;
        }
        let pause = libc::timespec { tv_sec: 0, tv_nsec: 20_000 };
        // SAFETY: sleeps on a local timespec.
        unsafe { libc::nanosleep(&pause, core::ptr::null_mut()) };
    }
}

/// The integer arguments worth reporting (32-bit ones: flags, descriptors,
/// modes); sizes, addresses and pointers are left out, or every call would
/// be a line of its own.
fn integer_args(abi: Abi, nr: u32, args: &[u64; 6]) -> [Option<u32>; 6] {
    let kinds = Syscall::by_number(abi, nr).filter(|_| abi == Abi::X86_64).and_then(Syscall::arg_kinds);
    core::array::from_fn(|index| match kinds.and_then(|kinds| kinds.get(index)) {
        Some(ArgKind::Int | ArgKind::Short | ArgKind::Mode) => Some(args[index] as u32),
        _ => None,
    })
}

fn report(prefix: &str, counts: &BTreeMap<(Abi, u32, [Option<u32>; 6]), u64>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{prefix}permissive mode: these calls broke the policy and were let through:");
    let mut names: Vec<&str> = Vec::new();
    for (&(abi, nr, args), &count) in counts {
        let name = Syscall::by_number(abi, nr).map(Syscall::name);
        let shown = match name {
            Some(name) => {
                names.push(name);
                let args: Vec<String> = args
                    .iter()
                    .enumerate()
                    .filter_map(|(index, arg)| arg.map(|value| format!("arg{index}={value:#x}")))
                    .collect();
                format!("{name}({})", args.join(", "))
            }
            None => format!("system call {nr}"),
        };
        let abi = if abi == Abi::I386 { " [i386]" } else { "" };
        let _ = writeln!(out, "{prefix}  {shown}{abi} ×{count}");
    }
    names.sort_unstable();
    names.dedup();
    let _ = writeln!(out, "{prefix}to allow them, add to the allow list: {}", names.join(":"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_names_integer_arguments_and_counts() {
        let mut counts = BTreeMap::new();
        let socket = Syscall::by_name("socket").unwrap().number(Abi::X86_64).unwrap();
        let uname = Syscall::by_name("uname").unwrap().number(Abi::X86_64).unwrap();
        counts.insert((Abi::X86_64, uname, integer_args(Abi::X86_64, uname, &[0x1234; 6])), 2);
        counts.insert((Abi::X86_64, socket, integer_args(Abi::X86_64, socket, &[2, 1, 0, 0, 0, 0])), 1);
        let text = report("libsandbox: ", &counts);
        assert_eq!(
            text,
            "libsandbox: permissive mode: these calls broke the policy and were let through:\n\
             libsandbox:   socket(arg0=0x2, arg1=0x1, arg2=0x0) ×1\n\
             libsandbox:   uname() ×2\n\
             libsandbox: to allow them, add to the allow list: socket:uname\n"
        );
    }
}
