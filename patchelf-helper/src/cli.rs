//! The command line, as a clap definition that packaging can also turn into a
//! man page and shell completions (see [`command`]).

use std::path::PathBuf;

use clap::{ArgGroup, CommandFactory, Parser};

/// The library `--check` probes for when no edit is given.
pub const DEFAULT_PROBE: &str = "libsandbox.so";

const EXIT_STATUS: &str = "\
Exit status:
  0  success: every file was patched, already as requested, or (--check) can be patched
  1  at least one file was refused or could not be read or written; the others were still processed
  2  usage error

A refused or failed file is left byte-for-byte untouched.";

/// Add or remove DT_NEEDED entries in ELF files, safely.
///
/// Makes a library such as libsandbox.so a permanent dependency of a dynamic
/// executable or shared library. Existing bytes are never moved: a spare
/// DT_NULL slot in .dynamic and page padding are used when possible,
/// otherwise one new PT_LOAD at the end of the file. Files are replaced
/// atomically (temporary file, fsync, rename) keeping mode, owner and group.
/// Files that cannot be patched safely are refused with a one-line reason.
#[derive(Debug, Parser)]
#[command(name = "patchelf-helper", version, after_help = EXIT_STATUS)]
#[command(group(ArgGroup::new("action").required(true).multiple(true)
    .args(["add_needed", "remove_needed", "print_needed", "check", "policy", "remove_policy", "print_policy"])))]
pub struct Cli {
    /// Make LIB the first DT_NEEDED entry unless it is already needed (repeatable; kept in the given order)
    #[arg(long, value_name = "LIB")]
    pub add_needed: Vec<String>,

    /// Remove the DT_NEEDED entries for LIB (repeatable; done before additions)
    #[arg(long, value_name = "LIB")]
    pub remove_needed: Vec<String>,

    /// Print the DT_NEEDED entries, one per line, after any edits (prefixed with "FILE: " when several files are given)
    #[arg(long)]
    pub print_needed: bool,

    /// Record a policy in the file for libsandbox.so to apply with no environment: POLICY is a policy file, an OCI seccomp profile (recorded as the same policy; Docker's includes/excludes refused), or policy text (allow/deny/default-action/exact lines; no @include)
    #[arg(long, value_name = "POLICY", conflicts_with = "remove_policy")]
    pub policy: Option<String>,

    /// Remove a recorded policy
    #[arg(long)]
    pub remove_policy: bool,

    /// Print the recorded policy, after any edits
    #[arg(long)]
    pub print_policy: bool,

    /// Say whether and how each file can be patched with the given edits (default: --add-needed libsandbox.so), writing nothing
    #[arg(long, conflicts_with = "output")]
    pub check: bool,

    /// Write the result to FILE instead of replacing the input (one input only)
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// The ELF files to read or patch
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// The command-line definition, for parsing and for generating documentation.
pub fn command() -> clap::Command {
    Cli::command()
}

impl Cli {
    /// Parses the process arguments; exits with status 2 on usage errors.
    pub fn parse_args() -> Cli {
        let cli = Cli::parse();
        if cli.output.is_some() && cli.files.len() > 1 {
            command().error(clap::error::ErrorKind::ArgumentConflict, "--output takes exactly one input FILE").exit();
        }
        cli
    }
}
