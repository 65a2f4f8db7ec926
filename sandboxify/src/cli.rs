//! The command line, defined once for parsing, `--help`, the man page and
//! shell completions.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{CommandFactory, Parser};

const AFTER_HELP: &str = "\
Environment:
  SECCOMP_SYSCALL_ALLOW, SECCOMP_SYSCALL_DENY, SECCOMP_DEFAULT_ACTION and
  SANDBOX_VERBOSE mean what they mean for libsandbox.so; the options above
  override them. They are removed from PROGRAM's environment.

Exit status:
  125  sandboxify itself failed (bad option or policy, seccomp unavailable)
  126  PROGRAM was found but could not be run
  127  PROGRAM was not found
  else PROGRAM's own status (SIGSYS, a seccomp kill, shows as 159 in a shell)";

/// Run PROGRAM under a seccomp policy, in force from its first instruction.
///
/// PROGRAM replaces sandboxify in the same process (same PID, parent, session
/// and terminal), so exit status and signals are PROGRAM's own. Works for
/// static programs and for ordinary users.
#[derive(Debug, Parser)]
#[command(name = "sandboxify", version, after_help = AFTER_HELP)]
pub struct Args {
    /// Only these system calls may run: NAME[=ACTION] entries separated by ':'
    #[arg(long, value_name = "LIST")]
    pub allow: Option<String>,

    /// These system calls may not run: NAME[=ACTION] entries separated by ':'
    #[arg(long, value_name = "LIST")]
    pub deny: Option<String>,

    /// What a violation gets: kill (default), log, trap, or an errno such as EPERM
    #[arg(long, value_name = "ACTION")]
    pub default_action: Option<String>,

    /// Apply the policy after the dynamic loader and libc have started, by
    /// preloading libsandbox.so (dynamic programs only); a looser guard
    /// filter is in force from the first instruction in case it fails to load
    #[arg(long)]
    pub preload: bool,

    /// The library for --preload [default: libsandbox.so next to sandboxify,
    /// then /usr/lib/x86_64-linux-gnu/libsandbox.so]
    #[arg(long, value_name = "PATH", requires = "preload")]
    pub library: Option<PathBuf>,

    /// The program to run, searched in PATH as env(1) does, and its arguments
    #[arg(value_name = "PROGRAM", required = true, trailing_var_arg = true)]
    pub command: Vec<OsString>,
}

/// The command definition, for man pages and completions.
pub fn command() -> clap::Command {
    Args::command()
}
