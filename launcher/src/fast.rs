//! The common forms, run without the full program: read the policy, find
//! PROGRAM, confine tracing, install the filter, exec. Each step that can
//! fail does so before anything changes, and then hands over to the full
//! program (by returning), which reads everything again and reports the
//! problem as it always has. An exec that fails once a filter that lets
//! execs through is in force hands over too: the full program runs under
//! it, fails the same way and reports it, unless the policy denies what it
//! needs for that, and SIGSYS says it instead. Past the exec gate, the
//! launcher reports it itself (see [`gated`]); the checks before make both
//! rare (PROGRAM exists, is executable, and a script's interpreter exists).

use alloc::vec::Vec;
use core::ffi::c_char;
use core::ptr;

use sandbox_launcher::gate;
use sandbox_policy::sys::install::Threads;
use sandbox_policy::sys::report::{self, Reported};
use sandbox_policy::sys::scope;
use sandbox_policy::text::file::NoFiles;
use sandbox_policy::text::variables::{self, ALLOW, Counted, DEFAULT_ACTION, DENY, EXACT, REFUSE_I386, Variables};
use sandbox_policy::{Action, Origin, Policy, Settings, Syscall, Text, compile_with, install};
use syscalls::{Errno, Sysno, syscall};

use crate::runtime::bytes;
use crate::{Stack, gated};

/// The variables the launcher reads itself; any other of the sandbox's
/// (Landlock rules, a policy file, verbose or report settings) is for the
/// full program.
const HANDLED: [&str; 5] = [ALLOW, DENY, DEFAULT_ACTION, EXACT, REFUSE_I386];

/// `AT_SECURE`: set for setuid, setgid and file-capability programs.
const AT_SECURE: usize = 23;

/// Runs PROGRAM if the command line and environment are in a common form
/// and everything checks out; returns, having changed nothing, otherwise.
pub fn run(stack: &Stack) {
    if stack.auxiliary(AT_SECURE).is_none_or(|secure| secure != 0) {
        return;
    }
    // SAFETY: argv holds argc NUL-terminated strings.
    let args: Vec<&[u8]> = (1..stack.argc).map(|at| unsafe { bytes(*stack.argv.add(at)) }).collect();
    let Some(form) = sandbox_launcher::common_form(&args) else { return };
    let Some((variables, passed_on)) = environment(stack) else { return };
    let Some(policy) = policy(&form, &variables) else { return };
    let name = args[form.program];
    // argv from PROGRAM on, NULL-terminated as the kernel's array is.
    // SAFETY: `form.program` < argc - 1, so the slot is in the array.
    let argv = unsafe { stack.argv.add(1 + form.program) };
    let mut envp = passed_on;
    envp.push(ptr::null());
    let Some(policy) = policy else {
        // No policy: nothing to install (as the full program does), so an
        // exec that fails leaves nothing behind, and the checks `find`
        // makes before a filter goes in would be system calls for nothing.
        exec_as_found(name, argv, &envp);
        return;
    };
    let Some(path) = find(name, &envp[..envp.len() - 1]) else { return };
    // execve's arguments are all pointers, which no condition may test, so
    // its unconditional action is what the filter gives this exec. Where it
    // is not allowed, the exec goes through the gate.
    let execve = Syscall::by_name("execve").expect("execve is in the table");
    let gated = policy.action_for(execve) != Action::Allow;
    let rules = if gated { alloc::vec![gate::rule()] } else { Vec::new() };
    let Ok(program) = compile_with(&policy, &rules) else { return };
    if report::needs_reporter(&program, Reported { counted: Counted::DEFAULT, kills: false }) {
        // Permissive mode, or traps to count: the reporter is the full program's.
        return;
    }
    if gated {
        gated::exec(stack, &program, args[form.program], &path, argv, &envp);
        return;
    }
    if scope::confine_tracing(false).is_err() || install(&program, Threads::All).is_err() {
        // Nothing the program can see has changed but no_new_privs and
        // perhaps a Landlock domain that confines nothing else; the full
        // program sets both again and says why it cannot install.
        return;
    }
    exec(&path, argv, &envp);
}

/// The sandbox's variables, and the rest of the environment (what PROGRAM
/// gets), if every sandbox variable is one the launcher handles and the
/// environment is one the full program would take (see
/// [`Variables::add`]); entries without `=`, which the full program
/// leaves out, are left to it too.
fn environment(stack: &Stack) -> Option<(Variables, Vec<*const c_char>)> {
    let mut variables = Variables::default();
    let mut passed_on = Vec::new();
    let mut entry = stack.envp;
    loop {
        // SAFETY: the environment is a NULL-terminated array of strings.
        let string = unsafe { *entry };
        if string.is_null() {
            return Some((variables, passed_on));
        }
        // SAFETY: not the terminator, so the next slot exists.
        entry = unsafe { entry.add(1) };
        // SAFETY: each entry is a NUL-terminated string on the initial stack.
        let text = unsafe { bytes(string) };
        if !text.contains(&b'=') {
            return None;
        }
        let (name, value) = variables::split_entry(text);
        match variables.add(name, value).ok()? {
            None => passed_on.push(string),
            Some(known) if HANDLED.contains(&known) => {}
            Some(_) => return None,
        }
    }
}

/// The policy the options ask for, else the variables; `Some(None)` for no
/// policy at all, `None` for an error (the full program reports it).
fn policy(form: &sandbox_launcher::CommonForm<'_>, variables: &Variables) -> Option<Option<Policy>> {
    let switches = variables.switches().ok()?;
    let lists = if form.allow.is_some() || form.deny.is_some() || form.default_action.is_some() {
        const ALLOW_OPTION: Origin = Origin::Option("--allow");
        const DENY_OPTION: Origin = Origin::Option("--deny");
        const DEFAULT_ACTION_OPTION: Origin = Origin::Option("--default-action");
        fn text<'a>(origin: &'a Origin, text: Option<&'a str>) -> Option<Text<'a>> {
            text.map(|text| Text { origin, text })
        }
        let settings = Settings {
            allow: text(&ALLOW_OPTION, form.allow),
            deny: text(&DENY_OPTION, form.deny),
            default_action: text(&DEFAULT_ACTION_OPTION, form.default_action),
            switches,
        };
        settings.lists().ok()?
    } else {
        variables.lists(&mut NoFiles).ok()?
    };
    Some(lists.map(Policy::new))
}

/// PROGRAM's path, NUL-terminated: `name` if it holds a `/`, else the first
/// runnable file of that name in PATH (glibc's default without one). `None`
/// if that is not a runnable program file, or anything is unclear: the full
/// program then reports 126 or 127, or finds what the launcher could not.
fn find(name: &[u8], environment: &[*const c_char]) -> Option<Vec<u8>> {
    for candidate in candidates(name, environment) {
        match runnable(&candidate) {
            Err(Errno::ENOENT) => continue,
            Ok(true) => return Some(candidate),
            _ => return None,
        }
    }
    None
}

/// Execs `name` where execvp would find it: on a path that is not found
/// the search goes on, on any other failure it stops and this returns.
/// For PROGRAM without a policy, where a failed exec changes nothing and the
/// full program, looking again, reports what went wrong.
fn exec_as_found(name: &[u8], argv: *const *const c_char, envp: &[*const c_char]) {
    for candidate in candidates(name, &envp[..envp.len() - 1]) {
        if !matches!(exec(&candidate, argv, envp), Errno::ENOENT | Errno::ENOTDIR) {
            return;
        }
    }
}

/// The NUL-terminated paths where PROGRAM `name` may be, in order: `name`
/// itself if it holds a `/`, else `name` in each directory of PATH (glibc's
/// default without one); none for an empty name.
fn candidates<'a>(name: &'a [u8], environment: &[*const c_char]) -> impl Iterator<Item = Vec<u8>> + 'a {
    let (itself, path): (Option<Vec<u8>>, Option<&[u8]>) = match name {
        [] => (None, None),
        _ if name.contains(&b'/') => (Some(with_nul(&[name])), None),
        _ => {
            let path = environment
                .iter()
                // SAFETY: the environment's entries are NUL-terminated strings
                // on the initial stack, which lives as long as the process.
                .map(|&entry| unsafe { bytes::<'static>(entry) })
                .find_map(|entry| entry.strip_prefix(b"PATH="))
                .unwrap_or(b"/bin:/usr/bin");
            (None, Some(path))
        }
    };
    let searched = path.into_iter().flat_map(|path| path.split(|&byte| byte == b':')).map(move |directory| {
        // An empty entry means the current directory, as for execvp.
        let directory: &[u8] = if directory.is_empty() { b"." } else { directory };
        with_nul(&[directory, b"/", name])
    });
    itself.into_iter().chain(searched)
}

/// `parts` joined, with a NUL at the end.
fn with_nul(parts: &[&[u8]]) -> Vec<u8> {
    let mut joined: Vec<u8> = parts.concat();
    joined.push(0);
    joined
}

/// `struct stat`'s `st_mode` (x86_64 layout: at byte 24 of 144).
fn status(path: &[u8]) -> Result<u32, Errno> {
    let mut stat = [0u64; 18];
    // SAFETY: newfstatat writes one struct stat (144 bytes) for a NUL-terminated path.
    unsafe { syscall!(Sysno::newfstatat, -100isize, path.as_ptr(), stat.as_mut_ptr(), 0) }?;
    Ok(stat[3] as u32)
}

/// Whether `path` (NUL-terminated) is a file this process may execute and
/// the kernel can: not a directory, executable, and an ELF file or a
/// script whose interpreter exists. Else execve could fail after the
/// filter is in, where the launcher can report less than the full program
/// (see [`gated`]). The error of `stat` if it has none (ENOENT: look on).
fn runnable(path: &[u8]) -> Result<bool, Errno> {
    const S_IFMT: u32 = 0o170000;
    const S_IFDIR: u32 = 0o040000;
    let mode = status(path)?;
    Ok(mode & S_IFMT != S_IFDIR && mode & 0o111 != 0 && kernel_can_run(path))
}

/// Whether this process may execute `path` (NUL-terminated), an ELF file
/// or a script whose interpreter exists.
fn kernel_can_run(path: &[u8]) -> bool {
    const X_OK: usize = 1;
    // SAFETY: faccessat with a NUL-terminated path.
    if unsafe { syscall!(Sysno::faccessat, -100isize, path.as_ptr(), X_OK) }.is_err() {
        return false;
    }
    const O_RDONLY_CLOEXEC: usize = 0o2000000;
    // SAFETY: openat with a NUL-terminated path.
    let Ok(file) = (unsafe { syscall!(Sysno::openat, -100isize, path.as_ptr(), O_RDONLY_CLOEXEC) }) else {
        // Executable but not readable: the kernel can still run an ELF file.
        return true;
    };
    // The kernel reads at most 256 bytes of a `#!` line.
    let mut start = [0u8; 256];
    // SAFETY: reads at most the buffer's length.
    let read = unsafe { syscall!(Sysno::read, file, start.as_mut_ptr(), start.len()) };
    // SAFETY: closes the descriptor opened above.
    let _ = unsafe { syscall!(Sysno::close, file) };
    let start = match read {
        Ok(length) => &start[..length],
        Err(_) => return false,
    };
    if start.starts_with(b"\x7fELF") {
        return true;
    }
    let Some(line) = start.strip_prefix(b"#!") else { return false };
    // The interpreter: the first word, up to a blank or the end of the line.
    let line = line.iter().position(|&byte| byte != b' ' && byte != b'\t').map_or(&line[..0], |at| &line[at..]);
    let end = line.iter().position(|&byte| matches!(byte, b' ' | b'\t' | b'\n' | 0)).unwrap_or(line.len());
    !line[..end].is_empty() && status(&with_nul(&[&line[..end]])).is_ok()
}

/// Replaces the launcher with PROGRAM; returns the kernel's refusal.
fn exec(path: &[u8], argv: *const *const c_char, envp: &[*const c_char]) -> Errno {
    // SAFETY: a NUL-terminated path and NULL-terminated arrays of strings,
    // alive across the call.
    match unsafe { syscall!(Sysno::execve, path.as_ptr(), argv, envp.as_ptr()) } {
        Err(errno) => errno,
        Ok(_) => unreachable!("execve returns only on failure"),
    }
}
