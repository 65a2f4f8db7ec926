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
    #[error("cannot read the policy {path}: {source}")]
    PolicyFile { path: String, source: std::io::Error },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

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
        return Ok(Some(text));
    }
    Ok(Some(argument.clone()))
}

/// Does everything asked for one file.
fn process(cli: &Cli, policy: Option<&str>, path: &Path) -> Result<(), FileError> {
    let data = fs::read(path).map_err(FileError::Read)?;
    let remove: Vec<&str> = cli.remove_needed.iter().map(String::as_str).collect();
    let add: Vec<&str> = cli.add_needed.iter().map(String::as_str).collect();
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
    let written = write_temp(&temp, bytes, &metadata).and_then(|()| fs::rename(&temp, &target));
    if let Err(error) = written {
        let _ = fs::remove_file(&temp);
        return Err(fail(error));
    }
    // Make the rename itself durable.
    File::open(&dir).and_then(|d| d.sync_all()).map_err(fail)
}

/// Creates `temp` with `bytes` and the ownership and mode in `metadata`.
fn write_temp(temp: &Path, bytes: &[u8], metadata: &Metadata) -> std::io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(temp)?;
    file.write_all(bytes)?;
    let mine = file.metadata()?;
    if (mine.uid(), mine.gid()) != (metadata.uid(), metadata.gid()) {
        std::os::unix::fs::fchown(&file, Some(metadata.uid()), Some(metadata.gid()))?;
    }
    // After chown, which clears the setuid and setgid bits.
    file.set_permissions(fs::Permissions::from_mode(metadata.mode() & 0o7777))?;
    file.sync_all()
}
