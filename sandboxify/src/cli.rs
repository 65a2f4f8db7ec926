//! The command line, defined once for parsing, `--help`, the man page and
//! shell completions.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{CommandFactory, Parser};

use sandbox_policy::Arch;

use crate::landlock::LandlockArgs;

/// `--arch`'s value.
fn parse_arch(name: &str) -> Result<Arch, String> {
    Arch::from_name(name).ok_or_else(|| format!("unknown machine {name:?}: x86_64 (amd64) or aarch64 (arm64)"))
}

const AFTER_HELP: &str = "\
Environment:
  SECCOMP_SYSCALL_ALLOW, SECCOMP_SYSCALL_DENY, SECCOMP_DEFAULT_ACTION,
  SECCOMP_POLICY_FILE, SANDBOX_EXACT, SANDBOX_REFUSE_I386 and SANDBOX_VERBOSE
  mean what they mean for libsandbox.so, and so do SANDBOX_FS_RO,
  SANDBOX_FS_RW, SANDBOX_FS_DENY,
  SANDBOX_FS_DEVICES, SANDBOX_NET_CONNECT, SANDBOX_NET_BIND and
  SANDBOX_LANDLOCK_BEST_EFFORT. Policy options replace the policy variables;
  each Landlock option replaces its variable (given several times, its
  values add up). SANDBOX_REPORT, SANDBOX_REPORT_JSON and
  SANDBOX_REPORT_COUNTS (trap, errno, errno:trap or 0; unset: trap) say
  where and what a reporter, which traces PROGRAM, names; errno calls cost
  it a round trip each. SANDBOX_REPORT_KILLS=1 has it name
  kills too (unset: the kernel's silent kill). With --preload the library in
  PROGRAM names kills unless SANDBOX_REPORT_KILLS=0. All are removed from
  PROGRAM's environment.

Exit status:
  125  sandboxify itself failed (bad option or policy, seccomp unavailable,
       a namespace, mount or limit that could not be set up)
  126  PROGRAM was found but could not be run
  127  PROGRAM was not found (in the new root, if there is one)
  else PROGRAM's own status (SIGSYS, a seccomp kill, shows as 159 in a shell)";

/// The formats `--learn` writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LearnFormat {
    /// `SECCOMP_SYSCALL_ALLOW=...`, for the library's environment or sandboxify's.
    #[default]
    Variables,
    /// An OCI runtime-spec seccomp profile, for container engines.
    Oci,
}

/// The formats `--export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// The compiled filter: an array of `struct sock_filter` (8 bytes each,
    /// native byte order), as `bwrap --seccomp FD` and `seccomp(2)` take it.
    Bpf,
    /// An OCI runtime-spec seccomp profile (JSON), as runc, crun, containerd
    /// and CRI-O read it; what it cannot say exactly is said on stderr.
    Oci,
    /// The `[Service]` lines of a systemd unit (SystemCallFilter= and its
    /// companions); what systemd cannot say (arguments, single errnos in an
    /// allow list) is said on stderr.
    Systemd,
}

/// Run PROGRAM under a seccomp policy, in force from its first instruction.
///
/// PROGRAM replaces sandboxify in the same process (same PID, parent, session
/// and terminal), so exit status and signals are PROGRAM's own. Works for
/// static programs and for ordinary users. With --unshare-pid or a cgroup
/// limit, PROGRAM runs in a child process and sandboxify stays outside:
/// it forwards signals and ends as PROGRAM ends.
#[derive(Debug, Default, Parser)]
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

    /// Read the policy from a file (allow/deny/default-action/exact/refuse-i386/@include lines)
    #[arg(long, value_name = "PATH", conflicts_with_all = ["allow", "deny", "default_action"])]
    pub policy: Option<PathBuf>,

    /// Entries mean exactly the calls they name: no other doors, no libc
    /// successors or fallbacks, no io_uring guard
    #[arg(long)]
    pub exact: bool,

    /// Every i386 call (int 0x80, 32-bit programs) kills the process,
    /// whatever the lists and the default action say, as SANDBOX_REFUSE_I386=1
    #[arg(long)]
    pub refuse_i386: bool,

    /// Append one JSON line per call the reporter names to PATH, as
    /// SANDBOX_REPORT_JSON (which it replaces) does
    #[arg(long, value_name = "PATH")]
    pub report_json: Option<PathBuf>,

    /// Run PROGRAM unconfined but observed (every thread and child), and write
    /// to FILE the allow list it needs, as SECCOMP_SYSCALL_ALLOW=...; with
    /// --preload, from libsandbox.so's apply point on. An existing FILE is merged into
    #[arg(long, value_name = "FILE", conflicts_with_all = ["allow", "deny", "default_action", "policy", "exact", "refuse_i386"])]
    pub learn: Option<PathBuf>,

    /// How --learn writes FILE: `variables` (SECCOMP_SYSCALL_ALLOW=..., merged
    /// into) or `oci` (an OCI seccomp profile of the same policy, as --export
    /// oci writes it; FILE must not exist)
    #[arg(long, value_name = "FORMAT", requires = "learn", default_value = "variables")]
    pub format: LearnFormat,

    /// Apply the policy once the dynamic loader has loaded PROGRAM, by
    /// preloading libsandbox.so (dynamic programs only); a looser guard
    /// filter is in force from the first instruction in case it fails to load
    #[arg(long)]
    pub preload: bool,

    /// The library for --preload [default: libsandbox.so next to sandboxify,
    /// then /usr/lib/x86_64-linux-gnu/libsandbox.so]
    #[arg(long, value_name = "PATH", requires = "preload")]
    pub library: Option<PathBuf>,

    #[command(flatten)]
    pub landlock: LandlockArgs,

    #[command(flatten)]
    pub container: crate::container::Options,

    /// Validate the policy (and PROGRAM, if given) and exit without running anything
    #[arg(long, help_heading = "Inspection")]
    pub check: bool,

    /// Show every system call's action and the rule it comes from, and exit
    #[arg(long, help_heading = "Inspection")]
    pub explain: bool,

    /// Show the generated BPF program, disassembled, and exit
    #[arg(long, help_heading = "Inspection")]
    pub dump_bpf: bool,

    /// The machine --explain, --dump-bpf and --export describe the filter
    /// for: x86_64 (or amd64) or aarch64 (or arm64); this one's by default.
    /// --export oci takes several, comma-separated (x86_64,aarch64): one
    /// profile for both kinds of node
    #[arg(long, value_name = "ARCH", value_parser = parse_arch, value_delimiter = ',', help_heading = "Inspection")]
    pub arch: Vec<Arch>,

    /// Write the policy's filter to standard output in FORMAT, and exit:
    /// bpf, the compiled filter as `bwrap --seccomp FD` reads it
    #[arg(long, value_enum, value_name = "FORMAT", conflicts_with = "command", help_heading = "Inspection")]
    pub export: Option<ExportFormat>,

    /// Write the allow list (--allow, --policy or SECCOMP_SYSCALL_ALLOW; a
    /// learned one) for ARCH, and exit: one SECCOMP_SYSCALL_ALLOW=... line,
    /// with the calls ARCH's libc makes in place of those it lacks (open:
    /// openat, fork: clone); what cannot be carried over is said on stderr
    #[arg(
        long,
        value_name = "ARCH",
        value_parser = parse_arch,
        conflicts_with_all = ["command", "explain", "dump_bpf", "export", "arch"],
        help_heading = "Inspection"
    )]
    pub translate: Option<Arch>,

    /// List the @groups and their members, and exit
    #[arg(long, help_heading = "Inspection")]
    pub list_groups: bool,

    /// List the known system calls with their numbers and argument kinds, and exit
    #[arg(long, help_heading = "Inspection")]
    pub list_syscalls: bool,

    /// Read SANDBOX_REPORT_JSON files (the kills named, the calls a log
    /// policy lets through, the errno and trap calls counted; from any
    /// number of processes and runs), and print what to add to the allow
    /// list and which entries to remove so that those calls run; exit
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with = "command", help_heading = "Inspection")]
    pub summary: Vec<PathBuf>,

    /// The program to run, searched in PATH as env(1) does, and its arguments
    #[arg(
        value_name = "PROGRAM",
        trailing_var_arg = true,
        required_unless_present_any = ["check", "explain", "dump_bpf", "export", "translate", "list_groups", "list_syscalls", "summary"]
    )]
    pub command: Vec<OsString>,
}

impl Args {
    /// Parses a command line, `argv[0]` first. The common forms (see
    /// [`sandbox_launcher::common_form`]), which the launcher hands over
    /// only when it cannot run PROGRAM itself, are read without clap:
    /// building clap's command, some sixty options with their help, costs
    /// about 100 µs. Anything else, errors included, goes to clap, which
    /// reads these forms alike (tested).
    pub fn parse_from(argv: Vec<OsString>) -> Result<Args, clap::Error> {
        match Args::common_form(&argv) {
            Some(args) => Ok(args),
            None => Args::try_parse_from(argv),
        }
    }

    /// `argv` in a common form, or `None`.
    fn common_form(argv: &[OsString]) -> Option<Args> {
        let words: Vec<&[u8]> = argv.get(1..)?.iter().map(|word| word.as_encoded_bytes()).collect();
        let form = sandbox_launcher::common_form(&words)?;
        Some(Args {
            allow: form.allow.map(str::to_owned),
            deny: form.deny.map(str::to_owned),
            default_action: form.default_action.map(str::to_owned),
            command: argv[1 + form.program..].to_vec(),
            ..Args::default()
        })
    }

    /// Whether an inspection option asks for a report instead of a run.
    pub fn inspects(&self) -> bool {
        self.check || self.explain || self.dump_bpf || self.export.is_some() || self.list_groups || self.list_syscalls
    }

    /// Whether a policy option is given (they replace the environment's).
    pub fn has_policy_options(&self) -> bool {
        self.allow.is_some() || self.deny.is_some() || self.default_action.is_some() || self.policy.is_some()
    }
}

/// The command definition, for man pages and completions.
pub fn command() -> clap::Command {
    Args::command()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn argv(words: &[&str]) -> Vec<OsString> {
        std::iter::once("sandboxify").chain(words.iter().copied()).map(OsString::from).collect()
    }

    /// Whatever the common-form reader accepts, clap reads alike.
    fn agrees(argv: Vec<OsString>) -> Result<bool, TestCaseError> {
        let Some(common) = Args::common_form(&argv) else { return Ok(false) };
        let clap = Args::try_parse_from(argv.clone());
        prop_assert!(clap.is_ok(), "{argv:?}: clap refuses what the common form reads: {clap:?}");
        prop_assert_eq!(format!("{common:?}"), format!("{:?}", clap.unwrap()), "{:?}", argv);
        Ok(true)
    }

    #[test]
    fn common_forms_are_read_without_clap() {
        for words in [
            &["prog"][..],
            &["prog", "--allow", "x", "-v", "--", "y"],
            &["--", "prog"],
            &["--", "--allow"],
            &["--", "-"],
            &["--allow", "read:write", "prog"],
            &["--deny", "uname", "--default-action", "EPERM", "--", "prog", "arg"],
            &["--allow", "", "prog"],
            &["--deny", "a", "--allow", "b", "--default-action", "log", "prog"],
            &[""],
        ] {
            assert!(agrees(argv(words)).unwrap(), "{words:?} is a common form");
        }
    }

    #[test]
    fn other_forms_go_to_clap() {
        for words in [
            &[][..],
            &["--"],
            &["--allow", "x"],
            &["--allow"],
            &["--allow=x", "prog"],
            &["--allow", "x", "--allow", "y", "prog"],
            &["--deny", "-x", "prog"],
            &["--exact", "prog"],
            &["-", "prog"],
            &["--help"],
        ] {
            assert!(Args::common_form(&argv(words)).is_none(), "{words:?}");
        }
    }

    proptest! {
        #[test]
        fn clap_agrees_with_every_common_form(words in prop::collection::vec(
            prop::sample::select(vec![
                "--allow", "--deny", "--default-action", "--", "-", "-x", "--exact", "--preload",
                "--allow=read", "read:write", "EPERM", "prog", "", " ", "--check",
            ]),
            0..7,
        )) {
            agrees(argv(&words))?;
        }
    }
}
