//! `patchelf-helper`: the file I/O around the pure patching library.

use std::fs::{self, File, Metadata, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use patchelf_helper::cli::{Cli, DEFAULT_PROBE};
use patchelf_helper::{Change, Edits, PatchError, PolicyEdit, attached_policy, edit, needed};
use thiserror::Error;

/// Why one file failed.
#[derive(Debug, Error)]
enum FileError {
    #[error("{0}")]
    Refused(#[from] PatchError),
    #[error("cannot read: {0}")]
    Read(std::io::Error),
    #[error("{0}")]
    Profile(String),
    #[error("cannot read the policy {path}: {source}")]
    PolicyFile { path: String, source: std::io::Error },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error(
        "a setuid, setgid or file-capability program must load {name} from a system directory, and none of {} has it: \
         give its absolute path",
        TRUSTED_DIRECTORIES.join(", ")
    )]
    Untrusted { name: String },
}

/// Where a bare library name is looked up for a privileged program: the
/// directories ld.so searches by default, which only root can write to.
const TRUSTED_DIRECTORIES: [&str; 4] = ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64"];

fn main() -> ExitCode {
    let cli = Cli::parse_args();
    let policy = match policy_text(&cli) {
        Ok(policy) => policy,
        Err(error) => {
            eprintln!("patchelf-helper: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut failed = false;
    for path in &cli.files {
        if let Err(error) = process(&cli, policy.as_deref(), path) {
            eprintln!("patchelf-helper: {}: {error}", path.display());
            failed = true;
        }
    }
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

/// The text `--policy` names: the contents of the file if one exists at that
/// path, else the argument itself (which must then parse as a policy, so a
/// mistyped file name is refused, not recorded).
fn policy_text(cli: &Cli) -> Result<Option<String>, FileError> {
    let Some(argument) = &cli.policy else { return Ok(None) };
    if Path::new(argument).is_file() {
        let text =
            fs::read_to_string(argument).map_err(|source| FileError::PolicyFile { path: argument.clone(), source })?;
        return patchelf_helper::from_profile(argument, text).map(Some).map_err(FileError::Profile);
    }
    Ok(Some(argument.clone()))
}

/// Does everything asked for one file.
fn process(cli: &Cli, policy: Option<&str>, path: &Path) -> Result<(), FileError> {
    let data = fs::read(path).map_err(FileError::Read)?;
    let remove: Vec<&str> = cli.remove_needed.iter().map(String::as_str).collect();
    let add = if privileged(path)? { resolved(&cli.add_needed)? } else { cli.add_needed.clone() };
    let add: Vec<&str> = add.iter().map(String::as_str).collect();
    let policy = match (policy, cli.remove_policy) {
        (Some(text), _) => PolicyEdit::Set(text),
        (None, true) => PolicyEdit::Remove,
        (None, false) => PolicyEdit::Keep,
    };
    let edits = Edits { remove_needed: &remove, add_needed: &add, policy };
    let edits_anything = !add.is_empty() || !remove.is_empty() || policy != PolicyEdit::Keep;
    if cli.check {
        let probe = if edits_anything { add.clone() } else { vec![DEFAULT_PROBE] };
        let verdict = match edit(&data, &Edits { add_needed: &probe, ..edits })? {
            Change::Unchanged => "nothing to do: already as requested".to_string(),
            Change::Patched { plan, .. } => format!("can patch: {plan}"),
        };
        println!("{}: {verdict}", path.display());
    }
    let mut result = data;
    if !cli.check && edits_anything {
        let change = edit(&result, &edits)?;
        if let Change::Patched { bytes, .. } = change {
            result = bytes;
            write_replacing(cli.output.as_deref().unwrap_or(path), path, &result)?;
        } else if let Some(output) = &cli.output {
            write_replacing(output, path, &result)?;
        }
    }
    let prefix = if cli.files.len() == 1 { String::new() } else { format!("{}: ", path.display()) };
    if cli.print_needed {
        for name in needed(&result)? {
            println!("{prefix}{name}");
        }
    }
    if cli.print_policy {
        for line in attached_policy(&result)?.unwrap_or_default().lines() {
            println!("{prefix}{line}");
        }
    }
    Ok(())
}

/// Whether `path` gains privileges when run: setuid, setgid, or file
/// capabilities.
fn privileged(path: &Path) -> Result<bool, FileError> {
    let mode = fs::metadata(path).map_err(FileError::Read)?.mode();
    if mode & 0o6000 != 0 {
        return Ok(true);
    }
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| FileError::Read(std::io::Error::from(std::io::ErrorKind::InvalidInput)))?;
    // SAFETY: getxattr with a NUL-terminated path and name, and a zero-sized
    // buffer: it only returns the value's size, or -1.
    let size = unsafe { libc::getxattr(c_path.as_ptr(), c"security.capability".as_ptr(), std::ptr::null_mut(), 0) };
    Ok(size >= 0)
}

/// `names`, each bare name (no `/`) replaced with its absolute path in the
/// first of [`TRUSTED_DIRECTORIES`] that holds it. A privileged program
/// ignores LD_LIBRARY_PATH, but a bare name is still found through the
/// program's RUNPATH or RPATH, which may name a directory its caller
/// controls: an absolute path leaves no search.
fn resolved(names: &[String]) -> Result<Vec<String>, FileError> {
    names
        .iter()
        .map(|name| {
            if name.contains('/') {
                return Ok(name.clone());
            }
            TRUSTED_DIRECTORIES
                .iter()
                .map(|directory| Path::new(directory).join(name))
                .find(|candidate| candidate.is_file())
                .map(|found| found.display().to_string())
                .ok_or_else(|| FileError::Untrusted { name: name.clone() })
        })
        .collect()
}

/// Replaces `target` with `bytes` atomically, with the mode, owner and group
/// of `original`: a temporary file in the same directory, fsync, rename.
/// On failure `target` is untouched and the temporary file is removed.
fn write_replacing(target: &Path, original: &Path, bytes: &[u8]) -> Result<(), FileError> {
    // Replace what a symlink points to, not the link.
    let target = match fs::canonicalize(target) {
        Ok(resolved) => resolved,
        Err(_) => target.to_path_buf(),
    };
    let fail = |source| FileError::Write { path: target.clone(), source };
    let metadata = fs::metadata(original).map_err(FileError::Read)?;
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dir.join(format!(".{name}.patchelf-helper.{}", std::process::id()));
    let written = write_temp(&temp, bytes, &metadata, original).and_then(|()| fs::rename(&temp, &target));
    if let Err(error) = written {
        let _ = fs::remove_file(&temp);
        return Err(fail(error));
    }
    // Make the rename itself durable.
    File::open(&dir).and_then(|d| d.sync_all()).map_err(fail)
}

/// Creates `temp` with `bytes`, the ownership and mode in `metadata`, and
/// the extended attributes of `original` (file capabilities, security
/// labels): a patched file keeps what it was allowed to do.
fn write_temp(temp: &Path, bytes: &[u8], metadata: &Metadata, original: &Path) -> std::io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(temp)?;
    file.write_all(bytes)?;
    let mine = file.metadata()?;
    if (mine.uid(), mine.gid()) != (metadata.uid(), metadata.gid()) {
        std::os::unix::fs::fchown(&file, Some(metadata.uid()), Some(metadata.gid()))?;
    }
    // After chown, which clears the setuid and setgid bits and capabilities.
    file.set_permissions(fs::Permissions::from_mode(metadata.mode() & 0o7777))?;
    copy_extended_attributes(original, &file)?;
    file.sync_all()
}

/// Copies every extended attribute of `original` to `file`; one that cannot
/// be copied (a capability, without CAP_SETFCAP) fails the write rather
/// than leave a program that silently lost it.
fn copy_extended_attributes(original: &Path, file: &File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let c_path = std::ffi::CString::new(original.as_os_str().as_encoded_bytes())?;
    let mut names = vec![0u8; 4096];
    // SAFETY: listxattr writes at most `names.len()` bytes of NUL-separated names.
    let size = unsafe { libc::listxattr(c_path.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    if size < 0 {
        let error = std::io::Error::last_os_error();
        // A file system without extended attributes has none to copy.
        return if error.raw_os_error() == Some(libc::ENOTSUP) { Ok(()) } else { Err(error) };
    }
    names.truncate(size as usize);
    for name in names.split(|&byte| byte == 0).filter(|name| !name.is_empty()) {
        let name = std::ffi::CString::new(name)?;
        let mut value = vec![0u8; 65536];
        // SAFETY: getxattr writes at most `value.len()` bytes into `value`.
        let length = unsafe { libc::getxattr(c_path.as_ptr(), name.as_ptr(), value.as_mut_ptr().cast(), value.len()) };
        if length < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: fsetxattr reads `length` bytes of `value` for an open file.
        let set =
            unsafe { libc::fsetxattr(file.as_raw_fd(), name.as_ptr(), value.as_ptr().cast(), length as usize, 0) };
        if set != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
