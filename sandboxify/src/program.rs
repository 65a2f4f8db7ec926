//! Finding PROGRAM the way env(1) does, and reporting 126/127 before any
//! filter is installed.

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::failure::Failure;

/// PATH when the environment has none (glibc's execvp default).
const DEFAULT_PATH: &str = "/bin:/usr/bin";

/// Resolves `name`: as a path if it contains `/`, else through `path_variable`.
pub fn resolve(name: &OsStr, path_variable: Option<&OsStr>) -> Result<PathBuf, Failure> {
    let display = name.to_string_lossy().into_owned();
    if name.is_empty() {
        return Err(Failure::NotFound { program: display });
    }
    if name.as_bytes().contains(&b'/') {
        let path = PathBuf::from(name);
        return check(&path).map(|()| path).map_err(|problem| problem.into_failure(display));
    }
    let search = path_variable.map(OsStr::as_bytes).unwrap_or(DEFAULT_PATH.as_bytes());
    let mut first_problem = None;
    for directory in search.split(|&b| b == b':') {
        // An empty entry means the current directory, as for execvp.
        let directory = if directory.is_empty() { Path::new(".") } else { Path::new(OsStr::from_bytes(directory)) };
        let candidate = directory.join(name);
        match check(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(Problem::Missing) => {}
            Err(problem) => {
                first_problem.get_or_insert(problem);
            }
        }
    }
    Err(first_problem.unwrap_or(Problem::Missing).into_failure(display))
}

enum Problem {
    Missing,
    NotRunnable(String),
}

impl Problem {
    fn into_failure(self, program: String) -> Failure {
        match self {
            Problem::Missing => Failure::NotFound { program },
            Problem::NotRunnable(reason) => Failure::NotExecutable { program, reason },
        }
    }
}

fn check(path: &Path) -> Result<(), Problem> {
    let metadata = match path.metadata() {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Err(Problem::Missing),
        Err(error) => return Err(Problem::NotRunnable(error.to_string())),
    };
    if metadata.is_dir() {
        return Err(Problem::NotRunnable("is a directory".to_owned()));
    }
    let c_path = CString::new(path.as_os_str().as_bytes()).map_err(|_| Problem::Missing)?;
    // SAFETY: access(2) on a NUL-terminated path.
    let runnable = unsafe { libc::access(c_path.as_ptr(), libc::X_OK) } == 0;
    if !runnable || metadata.permissions().mode() & 0o111 == 0 {
        return Err(Problem::NotRunnable("permission denied".to_owned()));
    }
    Ok(())
}
