//! `--preload`: the policy applied by libsandbox.so after start-up, with a
//! guard filter in force from the first instruction.
//!
//! ld.so only warns when a preload cannot be loaded, and runs the program
//! anyway. So before the exec sandboxify checks that the library and the
//! program fit (a 64-bit dynamic program, an x86_64 libsandbox.so), and it
//! installs a guard: the policy with the calls of the dynamic loader and
//! libc's start-up allowed (and those the library needs to install its
//! filter). If the library loads, the two filters stack and the result is
//! exactly the policy; if it somehow does not, the program still runs under
//! the guard, never unconfined.

use std::path::{Path, PathBuf};

use goblin::elf::Elf;
use goblin::elf::header::{EM_X86_64, ET_DYN};
use sandbox_policy::attached;
use sandbox_policy::entry::parse_entry;
use sandbox_policy::policy::Why;
use sandbox_policy::{Entry, Policy};

use crate::failure::Failure;
use crate::program::{Executable, inspect};

/// Where the package installs the library.
pub const INSTALLED_LIBRARY: &str = "/usr/lib/x86_64-linux-gnu/libsandbox.so";

/// What glibc's dynamic loader and start-up call before the library's apply
/// point, and what the library calls to install its filter (prctl, seccomp),
/// as policy entries. Measured with strace on Debian 12 (glibc 2.36), plus
/// the calls other glibc versions use for the same steps (fstat, statx,
/// readlink, lseek), and the three Landlock calls with which the library
/// keeps the program from tracing outside the sandbox (they only ever
/// restrict the caller). Conditions keep them to the way start-up uses them, as
/// program code can run before the apply point too (DT_PREINIT_ARRAY, other
/// libraries' constructors): files opened read-only (no O_WRONLY, O_RDWR,
/// O_CREAT, O_TRUNC or O_APPEND: mask 0x643), writes to stderr only, prctl
/// only for no_new_privs.
pub const START_UP_CALLS: &str = "access:arch_prctl:brk:close:exit_group:fstat:futex:getrandom:landlock_add_rule:\
landlock_create_ruleset:landlock_restrict_self:lseek:mmap:mprotect:\
munmap:newfstatat:openat(arg2 & 0x643 == 0):prctl(arg0 == PR_SET_NO_NEW_PRIVS):pread64:prlimit64:read:readlink:rseq:\
seccomp:set_robust_list:set_tid_address:statx:write(arg0 == 2):writev(arg0 == 2)";

/// The guard for `policy`: the same, with the start-up calls allowed.
pub fn guard(policy: &Policy) -> Policy {
    let start_up: Vec<Entry> =
        START_UP_CALLS.split(':').map(|item| parse_entry(item).expect("start-up calls are valid entries")).collect();
    policy.allowing(
        &start_up,
        &Why::Added("sandboxify --preload: a start-up call, until libsandbox.so applies the policy"),
    )
}

/// The library to preload: `--library`, else next to this executable, else
/// the installed one. Checked to be an x86_64 shared object that carries the
/// library's note.
pub fn library(requested: Option<&Path>) -> Result<PathBuf, Failure> {
    let path = match requested {
        Some(path) => path.to_path_buf(),
        None => {
            let beside = std::env::current_exe().ok().and_then(|exe| Some(exe.parent()?.join("libsandbox.so")));
            match beside.filter(|path| path.exists()) {
                Some(path) => path,
                None => PathBuf::from(INSTALLED_LIBRARY),
            }
        }
    };
    let fail = |reason: String| Failure::Preload(format!("{}: {reason}", path.display()));
    let bytes = std::fs::read(&path).map_err(|error| fail(error.to_string()))?;
    let elf = Elf::parse(&bytes).map_err(|error| fail(format!("not an ELF file ({error})")))?;
    if !elf.is_64 || elf.header.e_machine != EM_X86_64 || elf.header.e_type != ET_DYN {
        return Err(fail("not an x86_64 shared library".to_owned()));
    }
    let marked = elf.iter_note_headers(&bytes).into_iter().flatten().any(|note| {
        note.is_ok_and(|note| note.name == attached::LIBRARY_NOTE_OWNER && note.n_type == attached::LIBRARY_NOTE_TYPE)
    });
    if !marked {
        return Err(fail("not libsandbox.so (it lacks the library's ELF note)".to_owned()));
    }
    // Absolute, so that a change of directory by PROGRAM cannot matter.
    std::path::absolute(&path).map_err(|error| fail(error.to_string()))
}

/// Checks that ld.so will preload a 64-bit library into `program`: a 64-bit
/// x86_64 ELF with an interpreter, or a script (whose interpreter the kernel
/// runs with the same environment; the guard covers the rest).
pub fn check_program(program: &Path) -> Result<(), Failure> {
    let fail = |reason: &str| Failure::Preload(format!("{}: {reason}", program.display()));
    match inspect(program).map_err(|reason| fail(&reason))? {
        Executable::Script { .. } => Ok(()),
        Executable::Elf { x86_64: false, .. } => {
            Err(fail("not a 64-bit x86_64 program; libsandbox.so cannot be loaded into it"))
        }
        Executable::Elf { interpreter: None, .. } => {
            Err(fail("statically linked: nothing loads a preload library into it; run sandboxify without --preload"))
        }
        Executable::Elf { .. } => Ok(()),
    }
}
