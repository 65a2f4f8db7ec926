//! Permissive mode with names: under a policy with `log` actions, the calls
//! that would have been violations are reported to the user who ran the
//! program, by name and with their integer arguments, without root and
//! without the audit log (which ordinary users and containers usually
//! cannot read).
//!
//! The filter stops those calls for a tracer instead of logging them
//! ([`with_stops_for_reporter`]). A *reporter* process, started before the
//! filter from the confined process by a double fork (so that it is
//! nobody's child but init's, and no `wait()` of the program ever sees it),
//! traces every thread of the confined process and of the processes it
//! starts ([`crate::sys::trace`] says why a tracer), lets every stopped call
//! run as `log` would, counts them, and when no confined process is left
//! writes one deduplicated report: to stderr as it was when the reporter
//! started, or appended to the file named by
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
use crate::sys::trace::{self, Call};
use crate::tables::syscalls::{ArgKind, Syscall};
use crate::violation::{Installed, Process, Violation};
use crate::{Action, Policy};

/// `program` with every `log` return, and the exec gate's notification
/// (see sandboxify's launch module), turned into a stop for the reporter.
pub fn with_stops_for_reporter(program: &Program) -> Program {
    let mut program = program.clone();
    for insn in &mut program.insns {
        if insn.code == op::RET | op::K && matches!(insn.k, ret::LOG | ret::USER_NOTIF) {
            insn.k = ret::TRACE;
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
    /// Set by the confined process once the reporter may trace it.
    permitted: AtomicI32,
    /// Set by the reporter once it traces every thread of the confined
    /// process (1), or cannot (minus the errno); by the process between
    /// them if the reporter ended first.
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

/// A filter whose `log` returns the reporter answers.
pub struct Logged {
    /// Where the policy came from, as errors say it.
    pub source: &'static str,
    /// The policy.
    pub policy: Policy,
    /// Its program as compiled (with `log` returns, before
    /// [`with_stops_for_reporter`]).
    pub program: Program,
}

/// Where, besides the report, each let-through call goes as a JSON line
/// ([`crate::violation::Violation::json`]), and the filters that log them.
pub struct JsonLines {
    /// The file (`SANDBOX_REPORT_JSON`).
    pub out: Output,
    /// The filters, newest first.
    pub filters: Vec<Logged>,
}

/// The `ptrace` options of the reporter's tracees: the calls the filter
/// stops, and every process and thread they start, traced from its first
/// instruction.
const TRACE_OPTIONS: libc::c_int =
    libc::PTRACE_O_TRACESECCOMP | libc::PTRACE_O_TRACECLONE | libc::PTRACE_O_TRACEFORK | libc::PTRACE_O_TRACEVFORK;

/// Starts a reporter for the calling process, which is about to install a
/// filter from [`with_stops_for_reporter`]: when this returns `Ok`, every
/// thread of the calling process is traced by it. `prefix` starts every
/// line (`libsandbox: `); the report goes to `out`. Fails if the process
/// cannot be traced (it is traced already, by a debugger say, or an outer
/// filter refuses the reporter's calls): the caller must then stop the
/// program.
pub fn start_reporter(
    prefix: &'static str,
    out: Output,
    gate: Option<Gate>,
    json: Option<JsonLines>,
) -> Result<(), Errno> {
    // SAFETY: an anonymous shared mapping of one page, zero-filled.
    let page = unsafe {
        libc::mmap(
            core::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if page == libc::MAP_FAILED {
        return Err(Errno::last());
    }
    // SAFETY: the mapping is live, large enough and zeroed: valid atomics.
    let handoff = unsafe { &*page.cast::<Handoff>() };
    // SAFETY: getpid has no preconditions.
    let target = unsafe { libc::getpid() };
    // SAFETY: fork; the children only run the code below and _exit.
    let between = unsafe { libc::fork() };
    if between == 0 {
        // SAFETY: fork again so that the reporter is not the program's child.
        match unsafe { libc::fork() } {
            0 => serve(handoff, target, out.0, prefix, gate, json.as_ref()),
            -1 => handoff.ready.store(-Errno::last().0, Ordering::Release),
            reporter => wait_until_ready(handoff, reporter),
        }
        // SAFETY: the process between ends at once.
        unsafe { libc::_exit(0) };
    }
    let result = if between < 0 {
        Err(Errno::last())
    } else {
        // Where Yama restricts ptrace to declared tracers, declare the
        // process between, whose descendant the reporter is (EINVAL without
        // Yama: there is nothing to declare).
        // SAFETY: prctl with integer arguments; waitpid reaps our own child.
        unsafe {
            libc::prctl(libc::PR_SET_PTRACER, between as libc::c_ulong, 0, 0, 0);
            handoff.permitted.store(1, Ordering::Release);
            let mut status = 0;
            libc::waitpid(between, &mut status, 0);
            libc::prctl(libc::PR_SET_PTRACER, 0, 0, 0, 0);
        }
        match handoff.ready.load(Ordering::Acquire) {
            1 => Ok(()),
            0 => Err(Errno(libc::ECHILD)),
            failed => Err(Errno(-failed)),
        }
    };
    // SAFETY: unmaps our view of the page; nothing refers to it past here.
    unsafe { libc::munmap(page, 4096) };
    result
}

/// What to say when [`start_reporter`] fails with `error`.
pub fn start_failure(error: Errno) -> String {
    let hint = match error.0 {
        libc::EPERM => " (the report traces the program, which cannot be traced already, by a debugger say)",
        _ => "",
    };
    format!("cannot start the permissive-mode report: {error}{hint}")
}

/// In the process between: waits until the reporter is ready or has ended.
fn wait_until_ready(handoff: &Handoff, reporter: libc::pid_t) {
    while handoff.ready.load(Ordering::Acquire) == 0 {
        let mut status = 0;
        // SAFETY: checks on our own child without blocking.
        if unsafe { libc::waitpid(reporter, &mut status, libc::WNOHANG) } == reporter {
            // It ended (killed by an outer filter, say) before saying.
            let _ = handoff.ready.compare_exchange(0, -libc::ESRCH, Ordering::AcqRel, Ordering::Acquire);
            return;
        }
        pause();
    }
}

fn pause() {
    let pause = libc::timespec { tv_sec: 0, tv_nsec: 20_000 };
    // SAFETY: sleeps on a local timespec.
    unsafe { libc::nanosleep(&pause, core::ptr::null_mut()) };
}

/// The reporter process: traces the confined process, lets every stopped
/// call run and counts it, and reports when no traced process is left.
/// Never returns.
fn serve(handoff: &Handoff, target: i32, out: i32, prefix: &str, gate: Option<Gate>, json: Option<&JsonLines>) -> ! {
    // Ctrl-C hits the program's whole process group: the report must survive it.
    // SAFETY: changes this process's dispositions only.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGQUIT, libc::SIG_IGN);
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
    }
    while handoff.permitted.load(Ordering::Acquire) == 0 {
        pause();
    }
    let seized = seize_threads(target);
    handoff.ready.store(seized.map_or_else(|error| -error.0, |()| 1), Ordering::Release);
    if seized.is_err() {
        // SAFETY: the reporter has nothing to do.
        unsafe { libc::_exit(0) }
    }
    let mut counts: BTreeMap<(Abi, u32, [Option<u32>; 6]), u64> = BTreeMap::new();
    let mut gate = gate;
    loop {
        let mut status = 0;
        // SAFETY: waits for any of our tracees (the reporter has no children).
        let tid = unsafe { libc::waitpid(-1, &mut status, libc::__WALL) };
        if tid < 0 {
            if Errno::last().0 == libc::EINTR {
                continue;
            }
            break; // ECHILD: no traced process is left
        }
        if !libc::WIFSTOPPED(status) {
            continue;
        }
        let signal = libc::WSTOPSIG(status);
        let inject = match status >> 16 {
            libc::PTRACE_EVENT_SECCOMP => {
                if let Some(call) = trace::stopped_call(tid) {
                    if gate.is_some_and(|g| g.pid == call.tid && g.instruction_pointer == call.instruction_pointer) {
                        gate = None; // sandboxify's own exec, once
                    } else if let Some(abi) = call.abi {
                        if let Some(json) = json {
                            write_json(json, abi, &call);
                        }
                        *counts.entry((abi, call.nr, integer_args(abi, call.nr, &call.args))).or_insert(0) += 1;
                    }
                }
                0
            }
            libc::PTRACE_EVENT_STOP => {
                if matches!(signal, libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU) {
                    // A group-stop: the tracee stays stopped until SIGCONT,
                    // as job control expects.
                    // SAFETY: LISTEN on a tracee of ours in group-stop.
                    unsafe { libc::ptrace(libc::PTRACE_LISTEN, tid, 0, 0) };
                    continue;
                }
                0 // a new tracee's first stop
            }
            0 => signal, // a signal to deliver
            _ => 0,      // fork, vfork, clone
        };
        // SAFETY: continues a stopped tracee of ours.
        unsafe { libc::ptrace(libc::PTRACE_CONT, tid, 0, inject) };
    }
    if !counts.is_empty() {
        let text = report(prefix, &counts);
        // SAFETY: writes a live buffer to the descriptor opened by `start_reporter`.
        unsafe { libc::write(out, text.as_ptr().cast(), text.len()) };
    }
    // SAFETY: the reporter is done.
    unsafe { libc::_exit(0) }
}

/// Traces every thread of `target`, until a pass over its threads finds
/// none untraced: threads started meanwhile by traced ones are traced from
/// their start (`PTRACE_O_TRACECLONE`).
fn seize_threads(target: i32) -> Result<(), Errno> {
    let mut traced = Vec::new();
    loop {
        let mut found = false;
        for tid in threads(target)? {
            if traced.contains(&tid) {
                continue;
            }
            // SAFETY: SEIZE takes integer arguments; it does not stop the thread.
            if unsafe { libc::ptrace(libc::PTRACE_SEIZE, tid, 0, TRACE_OPTIONS) } == 0 {
                found = true;
            } else {
                match Errno::last().0 {
                    libc::ESRCH => continue, // it ended
                    libc::EPERM if traced_by_us(tid) => {}
                    errno => return Err(Errno(errno)),
                }
            }
            traced.push(tid);
        }
        if !found {
            return Ok(());
        }
    }
}

/// The threads of process `pid`.
fn threads(pid: i32) -> Result<Vec<i32>, Errno> {
    let path = CString::new(format!("/proc/{pid}/task")).expect("no NUL");
    // SAFETY: open(2) with a NUL-terminated path.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(Errno::last());
    }
    let mut tids = Vec::new();
    let mut buffer = [0u8; 4096];
    let result = loop {
        // SAFETY: getdents64 fills at most the buffer's length.
        let len = unsafe { libc::syscall(libc::SYS_getdents64, fd, buffer.as_mut_ptr(), buffer.len()) };
        let Ok(len) = usize::try_from(len) else { break Err(Errno::last()) };
        if len == 0 {
            break Ok(tids);
        }
        // Each record: inode (8), offset (8), length (2), type (1), name.
        let mut at = 0;
        while at + 19 < len {
            let record = usize::from(u16::from_ne_bytes([buffer[at + 16], buffer[at + 17]]));
            let name = &buffer[at + 19..(at + record).min(len)];
            let name = &name[..name.iter().position(|&byte| byte == 0).unwrap_or(name.len())];
            if let Some(tid) = core::str::from_utf8(name).ok().and_then(|name| name.parse().ok()) {
                tids.push(tid);
            }
            at += record.max(1);
        }
    };
    // SAFETY: closes the descriptor opened above.
    unsafe { libc::close(fd) };
    result
}

/// Whether thread `tid` is traced by this process already.
fn traced_by_us(tid: i32) -> bool {
    // SAFETY: getpid has no preconditions.
    let us = unsafe { libc::getpid() };
    read_proc(tid as u32, "status").is_some_and(|status| {
        status.lines().any(|line| line.strip_prefix("TracerPid:").is_some_and(|pid| pid.trim() == format!("{us}")))
    })
}

/// Appends `call` to the JSON lines, in one write.
fn write_json(json: &JsonLines, abi: Abi, call: &Call) {
    let data = SeccompData {
        nr: call.nr,
        arch: abi.audit_arch(),
        instruction_pointer: call.instruction_pointer,
        args: call.args,
    };
    let installed = json.filters.iter().map(|logged| Installed {
        source: logged.source,
        policy: &logged.policy,
        program: &logged.program,
    });
    let mut time = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes only to `time`.
    let time = (unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut time) } == 0)
        .then_some((time.tv_sec as u64, time.tv_nsec as u32));
    let process = Process { time, pid: thread_group(call.tid), tid: Some(call.tid), executable: &executable(call.tid) };
    let mut line = String::new();
    let _ = Violation::new(Action::Log, installed, &data).json(&mut line, &process);
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
