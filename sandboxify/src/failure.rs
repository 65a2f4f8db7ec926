//! Everything that stops sandboxify from running PROGRAM, with its exit status.

use nix::errno::Errno;
use sandbox_policy::export::ExportError;
use sandbox_policy::{FilterTooLong, InstallError, PolicyError};
use thiserror::Error;

/// A reason PROGRAM did not run. Each is reported as one line.
#[derive(Debug, Error)]
pub enum Failure {
    /// A bad command line.
    #[error("{0} (see sandboxify --help)")]
    Usage(String),
    /// A bad policy, from an option or the environment.
    #[error("{0}")]
    Policy(#[from] PolicyError),
    /// A policy whose filter the kernel would refuse.
    #[error("{0}")]
    FilterTooLong(#[from] FilterTooLong),
    /// A policy another format cannot express.
    #[error("--export: {0}")]
    Export(#[from] ExportError),
    /// An environment the sandbox will not guess about.
    #[error("{0}")]
    Environment(String),
    /// PROGRAM is nowhere to be found.
    #[error("{program}: not found")]
    NotFound {
        /// As given.
        program: String,
    },
    /// PROGRAM exists but cannot be run.
    #[error("{program}: {reason}")]
    NotExecutable {
        /// As given.
        program: String,
        /// Why.
        reason: String,
    },
    /// The filter could not be installed.
    #[error("{0}")]
    Install(#[from] InstallError),
    /// `--preload` cannot guarantee the policy.
    #[error("--preload: {0}")]
    Preload(String),
    /// Something the launcher needs from the kernel failed.
    #[error("{0}")]
    System(String),
    /// The Landlock rules cannot be enforced as asked.
    #[error(transparent)]
    Landlock(#[from] sandbox_landlock::Error),
    /// `--learn` cannot read or write its file.
    #[error("--learn: {0}")]
    Learn(String),
    /// The namespaces, the new root or a limit could not be set up.
    #[error("{0}")]
    Setup(#[from] SetupError),
    /// PROGRAM is not in the new root.
    #[error("{program}: not found in the new root (bind what holds it, e.g. --ro-bind /usr /usr)")]
    NotFoundInNewRoot {
        /// As given.
        program: String,
    },
}

impl Failure {
    /// Says this failure on stderr, as one line.
    pub fn say(&self) {
        eprintln!("sandboxify: {}", sandbox_policy::one_line(&self.to_string()));
    }

    /// The exit status, after the env(1)/timeout(1) convention.
    pub fn exit_status(&self) -> i32 {
        match self {
            Failure::NotFound { .. } | Failure::NotFoundInNewRoot { .. } => 127,
            Failure::NotExecutable { .. } => 126,
            _ => 125,
        }
    }
}

/// `strerror` text for an errno.
pub fn describe_errno(errno: i32) -> String {
    std::io::Error::from_raw_os_error(errno).to_string()
}

/// Why the sandbox could not be set up. Each is one line; sandboxify exits
/// 125 and PROGRAM never runs.
#[derive(Debug, Error)]
pub enum SetupError {
    /// A system call of the setup failed.
    #[error("{step}: {}{}", errno_text(*.errno), .hint.map(|hint| format!("; {hint}")).unwrap_or_default())]
    Call {
        /// What was being done, with the option it serves.
        step: String,
        /// How it failed.
        errno: Errno,
        /// What the user can do about it, when the errno alone does not say.
        hint: Option<&'static str>,
    },
    /// A limit that cannot be enforced as asked.
    #[error("{option}: {reason}")]
    Limit {
        /// The option, such as `--memory-max`.
        option: &'static str,
        /// Why, and what would work.
        reason: String,
    },
}

impl SetupError {
    /// Adds what the user can do about it.
    pub(crate) fn hint(self, text: &'static str) -> SetupError {
        match self {
            SetupError::Call { step, errno, .. } => SetupError::Call { step, errno, hint: Some(text) },
            other => other,
        }
    }
}

/// `EPERM (Operation not permitted)`.
pub(crate) fn errno_text(errno: Errno) -> String {
    format!("{errno:?} ({})", errno.desc())
}
