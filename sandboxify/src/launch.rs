//! Replacing sandboxify with PROGRAM, in the same process, under a filter.
//!
//! The filter is installed before the exec, so it is in force from PROGRAM's
//! first instruction. When the policy would not let sandboxify's own execve
//! through, that one call is let through by a one-time *exec gate*:
//!
//! - the filter sends execve to a user-notification listener, but only when
//!   it comes from one instruction address: the `syscall` in
//!   [`gate::gated_execve`] (shared with the launcher); from anywhere else
//!   execve gets the policy's own action (kill, errno...);
//! - a helper *thread* of sandboxify, started before the filter and not
//!   confined by it (the filter goes on the calling thread only), holds the
//!   listener. It answers exactly one notification, after checking that it
//!   is sandboxify's execve from the gate's address, with "continue";
//! - the exec then kills every other thread of the process, the helper
//!   included, before PROGRAM's first instruction; the listener is
//!   close-on-exec. PROGRAM thus starts single-threaded, with no helper
//!   process or thread anywhere, and no listener.
//!
//! What PROGRAM can do about it: nothing. An execve of its own from another
//! address gets the policy's action. One from the very same address (it
//! would have to map code there) is sent to the listener, which no longer
//! exists, so the kernel fails it with ENOSYS: it never runs either way.

use std::ffi::{CString, OsStr, c_char};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use sandbox_launcher::gate;
use sandbox_policy::sys::install::Threads;
use sandbox_policy::sys::notify::Listener;
use sandbox_policy::sys::report::Answering;
use sandbox_policy::sys::scope;
use sandbox_policy::{Abi, Program, install, install_with_listener};

use crate::failure::{Failure, describe_errno};

/// PROGRAM, its arguments and its environment, ready for execve: everything
/// is allocated before the filter goes in, because afterwards the calling
/// thread may make no system call but the exec.
pub struct Launch {
    display: String,
    path: CString,
    _strings: Vec<CString>,
    argv: Vec<*const c_char>,
    envp: Vec<*const c_char>,
}

impl Launch {
    /// Prepares the exec of `path` with `args` (argv\[0\] included) and `env`.
    pub fn new(display: String, path: CString, args: Vec<CString>, env: Vec<CString>) -> Launch {
        let argv: Vec<*const c_char> = args.iter().map(|s| s.as_ptr()).chain([std::ptr::null()]).collect();
        let envp: Vec<*const c_char> = env.iter().map(|s| s.as_ptr()).chain([std::ptr::null()]).collect();
        let strings = args.into_iter().chain(env).collect();
        Launch { display, path, _strings: strings, argv, envp }
    }

    /// Execs `path` instead: PROGRAM as found in a new root.
    pub fn set_path(&mut self, path: CString) {
        self.path = path;
    }

    /// The path that will be exec'd.
    pub fn path(&self) -> &Path {
        Path::new(OsStr::from_bytes(self.path.to_bytes()))
    }

    /// Execs with no filter.
    pub fn exec(self) -> Failure {
        self.exec_failure(self.execve())
    }

    /// Installs `program`, which lets this execve through, and execs.
    pub fn exec_filtered(self, program: &Program) -> Failure {
        if let Err(failure) = confine_tracing() {
            return failure;
        }
        if let Err(error) = install(program, Threads::All) {
            return error.into();
        }
        // Should the exec fail now, reporting it needs write and exit_group,
        // which the policy may forbid: then SIGSYS reports it instead.
        self.exec_failure(self.execve())
    }

    /// Installs `program`, whose only way through for this execve is the
    /// gate, and execs through the gate (see the module documentation).
    pub fn exec_gated(self, program: &Program) -> Failure {
        // SAFETY: getpid has no preconditions; the main thread's id is the pid.
        let main_thread = unsafe { libc::getpid() } as u32;
        let (display, path) = (self.display.clone(), self.path().to_path_buf());
        // A new thread's first malloc (glibc's, from std's thread-local
        // bookkeeping) would create a whole new arena: share the main one.
        // SAFETY: mallopt only changes allocator settings of this process,
        // which PROGRAM does not inherit through exec.
        unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
        let spawn = || {
            std::thread::Builder::new().spawn(move || {
                let failure = answer_gate(main_thread, &display, &path);
                report_and_exit(&failure);
            })
        };
        if let Err(failure) = on_this_cpu(spawn) {
            return failure;
        }
        if let Err(failure) = confine_tracing() {
            return failure;
        }
        let listener = match install_with_listener(program, Threads::Calling) {
            Ok(listener) => listener,
            Err(error) => return error.into(),
        };
        // From here: no allocation, no system call but the exec.
        GATE_LISTENER.store(listener, Ordering::Release);
        // SAFETY: the pointers are NUL-terminated strings and NULL-terminated
        // arrays owned by `self`, alive across the call.
        let errno = unsafe { gate::gated_execve(self.path.as_ptr(), self.argv.as_ptr(), self.envp.as_ptr()) };
        GATE_EXEC_ERRNO.store(errno, Ordering::Release);
        // The helper reports the failure and ends the process.
        loop {
            std::hint::spin_loop();
        }
    }

    /// Installs `program`, whose stopped calls the reporter tracing this
    /// process answers (its errno answers through the listener `answering`
    /// hands it), and execs through the gate (which the reporter lets
    /// through without reporting it).
    pub fn exec_reported(self, program: &Program, mut answering: Answering) -> Failure {
        if let Err(failure) = confine_tracing() {
            return failure;
        }
        if let Err(error) = answering.install(program, Threads::Calling) {
            return error.into();
        }
        // SAFETY: as in exec_gated.
        let errno = unsafe { gate::gated_execve(self.path.as_ptr(), self.argv.as_ptr(), self.envp.as_ptr()) };
        self.exec_failure(errno)
    }

    pub(crate) fn execve(&self) -> i32 {
        // SAFETY: as in exec_gated.
        unsafe { libc::execve(self.path.as_ptr(), self.argv.as_ptr(), self.envp.as_ptr()) };
        std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EINVAL)
    }

    pub(crate) fn exec_failure(&self, errno: i32) -> Failure {
        exec_failure(&self.display, self.path(), errno)
    }
}

/// Runs `spawn` with the calling thread's CPU mask narrowed to the CPU it
/// is on, so that the thread it starts, which inherits the mask, runs
/// beside it: across CPUs, the gate's wake-ups and the exec's ending of
/// the helper cost inter-processor interrupts, some 50 µs on a VM. The mask
/// is restored before returning, as PROGRAM inherits it (if that fails,
/// PROGRAM does not run); if it cannot be narrowed, `spawn` runs as is
/// (only time is lost).
fn on_this_cpu<T>(spawn: impl FnOnce() -> std::io::Result<T>) -> Result<T, Failure> {
    use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
    use nix::unistd::Pid;
    let started = |spawned: std::io::Result<T>| {
        spawned.map_err(|error| Failure::System(format!("cannot start the exec gate's helper thread: {error}")))
    };
    // SAFETY: sched_getcpu has no preconditions.
    let cpu = unsafe { libc::sched_getcpu() };
    let mut here = CpuSet::new();
    let saved = match (sched_getaffinity(Pid::from_raw(0)), usize::try_from(cpu)) {
        (Ok(saved), Ok(cpu)) if here.set(cpu).is_ok() => saved,
        _ => return started(spawn()),
    };
    if sched_setaffinity(Pid::from_raw(0), &here).is_err() {
        return started(spawn());
    }
    let spawned = spawn();
    if let Err(error) = sched_setaffinity(Pid::from_raw(0), &saved) {
        return Err(Failure::System(format!(
            "cannot restore the CPU mask after starting the exec gate's helper: {error}"
        )));
    }
    started(spawned)
}

/// Keeps PROGRAM from tracing processes outside the sandbox (see
/// [`sandbox_policy::sys::scope`]); a kernel without Landlock leaves it as is.
pub(crate) fn confine_tracing() -> Result<(), Failure> {
    // Any Landlock rules were enforced already.
    scope::confine_tracing(false)
        .map(drop)
        .map_err(|error| Failure::System(format!("cannot confine tracing to the sandbox (Landlock): {error}")))
}

fn exec_failure(display: &str, path: &Path, errno: i32) -> Failure {
    let program = display.to_owned();
    match errno {
        // PROGRAM is there: what the kernel did not find is its interpreter.
        libc::ENOENT if path.exists() => Failure::NotExecutable {
            program,
            reason: "its interpreter (ELF loader or #! program) was not found".to_owned(),
        },
        libc::ENOENT => Failure::NotFound { program },
        _ => Failure::NotExecutable { program, reason: describe_errno(errno) },
    }
}

/// The listener, handed from the main thread to the helper; -1 until set.
static GATE_LISTENER: AtomicI32 = AtomicI32::new(-1);
/// The errno of a failed gated exec; 0 until then.
static GATE_EXEC_ERRNO: AtomicI32 = AtomicI32::new(0);

/// The helper thread: lets the main thread's execve through the gate, once,
/// then waits to be ended by that exec. Returns only to report a failure.
fn answer_gate(main_thread: u32, display: &str, path: &Path) -> Failure {
    let listener = loop {
        let listener = GATE_LISTENER.load(Ordering::Acquire);
        if listener >= 0 {
            break Listener(listener);
        }
        std::thread::yield_now();
    };
    listener.prefer_sync_wake_up();
    let notification = match listener.receive() {
        Ok(notification) => notification,
        Err(error) => return Failure::System(format!("exec gate: cannot receive the notification: {error}")),
    };
    let genuine = notification.pid == main_thread
        && notification.nr == libc::SYS_execve as u32
        && notification.abi == Some(Abi::X86_64)
        && notification.instruction_pointer == gate::address();
    let answered = if genuine { listener.run(notification.id) } else { listener.fail(notification.id, libc::EPERM) };
    if let Err(error) = answered {
        return Failure::System(format!("exec gate: cannot answer the notification: {error}"));
    }
    if !genuine {
        return Failure::System(format!(
            "exec gate: refused an unexpected notification (pid {}, nr {})",
            notification.pid, notification.nr
        ));
    }
    // The exec ends this thread; it returns to the main thread only on failure.
    loop {
        let errno = GATE_EXEC_ERRNO.load(Ordering::Acquire);
        if errno != 0 {
            return exec_failure(display, path, errno);
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Reports from the unconfined helper thread and ends the whole process,
/// main thread included.
fn report_and_exit(failure: &Failure) -> ! {
    failure.say();
    // SAFETY: _exit ends the process; nothing needs flushing (stderr is unbuffered).
    unsafe { libc::_exit(failure.exit_status()) }
}
