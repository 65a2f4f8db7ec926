//! `--preload`: the policy applied by libsandbox.so after start-up, with a
//! guard filter in force from the first instruction.
//!
//! ld.so only warns when a preload cannot be loaded, and runs the program
//! anyway, under the guard alone: looser than the policy. So before the exec
//! sandboxify refuses (125) every case it knows of where ld.so would not
//! load the library: a program that is not a 64-bit dynamic glibc program,
//! a library that is not libsandbox.so, audit libraries (the program's
//! `DT_AUDIT`, or `LD_AUDIT`), which ld.so loads first and which may refuse
//! a preload (a new root, where the library could be missing, cannot be
//! combined with `--preload`); and Landlock file rules grant the library's
//! file, as they grant the program's. It installs a
//! guard: the policy with the calls of the dynamic loader and libc's
//! start-up allowed in the forms start-up makes them (and those the library
//! needs to install its filter). The library's filter stacked on it gives
//! exactly the policy.

use std::path::{Path, PathBuf};

use goblin::elf::Elf;
use goblin::elf::header::{EM_X86_64, ET_DYN};
use sandbox_policy::text::attached;

use crate::failure::Failure;
use crate::program::{Executable, inspect, names_audit_libraries};

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
        Executable::Elf { .. } => match names_audit_libraries(program) {
            Ok(false) => Ok(()),
            Ok(true) => Err(fail(
                "it names audit libraries (DT_AUDIT), which ld.so loads before any preload and which may refuse \
                 libsandbox.so; run sandboxify without --preload",
            )),
            Err(reason) => Err(fail(&reason)),
        },
    }
}

/// Refuses an environment that names audit libraries (`LD_AUDIT`), which
/// ld.so loads before any preload and which may refuse libsandbox.so.
pub fn check_environment(environment: &[std::ffi::OsString]) -> Result<(), Failure> {
    let audit =
        |entry: &&std::ffi::OsString| matches!(crate::split_entry(entry), (b"LD_AUDIT", value) if !value.is_empty());
    match environment.iter().find(audit) {
        Some(_) => Err(Failure::Preload(
            "LD_AUDIT names audit libraries, which ld.so loads before any preload and which may refuse \
             libsandbox.so: unset it, or run sandboxify without --preload"
                .to_owned(),
        )),
        None => Ok(()),
    }
}
