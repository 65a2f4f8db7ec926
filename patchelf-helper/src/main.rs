//! `patchelf-helper`: the file I/O around the pure patching library.

use std::fs::{self, File, Metadata, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use patchelf_helper::cli::{Cli, DEFAULT_PROBE};
use patchelf_helper::{Change, PatchError, edit_needed, needed};
use thiserror::Error;

/// Why one file failed.
#[derive(Debug, Error)]
enum FileError {
    #[error("{0}")]
    Refused(#[from] PatchError),
    #[error("cannot read: {0}")]
    Read(std::io::Error),
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

fn main() -> ExitCode {
    let cli = Cli::parse_args();
    let mut failed = false;
    for path in &cli.files {
        if let Err(error) = process(&cli, path) {
            eprintln!("patchelf-helper: {}: {error}", path.display());
            failed = true;
        }
    }
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

/// Does everything asked for one file.
fn process(cli: &Cli, path: &Path) -> Result<(), FileError> {
    let data = fs::read(path).map_err(FileError::Read)?;
    let remove: Vec<&str> = cli.remove_needed.iter().map(String::as_str).collect();
    let add: Vec<&str> = cli.add_needed.iter().map(String::as_str).collect();
    if cli.check {
        let probe = if add.is_empty() && remove.is_empty() { vec![DEFAULT_PROBE] } else { add.clone() };
        let verdict = match edit_needed(&data, &remove, &probe)? {
            Change::Unchanged => "nothing to do: already as requested".to_string(),
            Change::Patched { plan, .. } => format!("can patch: {plan}"),
        };
        println!("{}: {verdict}", path.display());
    }
    let mut result = data;
    if !cli.check && (!add.is_empty() || !remove.is_empty()) {
        let change = edit_needed(&result, &remove, &add)?;
        if let Change::Patched { bytes, .. } = change {
            result = bytes;
            write_replacing(cli.output.as_deref().unwrap_or(path), path, &result)?;
        } else if let Some(output) = &cli.output {
            write_replacing(output, path, &result)?;
        }
    }
    if cli.print_needed {
        for name in needed(&result)? {
            match cli.files.len() {
                1 => println!("{name}"),
                _ => println!("{}: {name}", path.display()),
            }
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
