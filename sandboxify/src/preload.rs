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

use crate::failure::Failure;
use crate::program::{Executable, inspect};

/// Where the package installs the library.
pub const INSTALLED_LIBRARY: &str = "/usr/lib/x86_64-linux-gnu/libsandbox.so";

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
        // libsandbox.so installs its guard from an IFUNC, which only glibc's loader runs.
        Executable::Elf { interpreter: Some(loader), .. }
            if !loader.file_name().is_some_and(|name| name.to_string_lossy().starts_with("ld-linux")) =>
        {
            Err(fail(&format!(
                "its loader {} is not glibc's, and cannot load libsandbox.so; run sandboxify without --preload",
                loader.display()
            )))
        }
        Executable::Elf { .. } => Ok(()),
    }
}
