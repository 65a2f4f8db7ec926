//! The command-line options of the container-style sandbox, and the parsers
//! of their values. Every bad value is refused by clap, so it is reported as
//! one line naming the option and the token, with status 125.

use std::ffi::OsString;
use std::fmt;
use std::path::{Component, Path, PathBuf};

use clap::error::ErrorKind;
use clap::{Arg, ArgAction, ArgMatches, Command, value_parser};

/// Namespaces, a new root and resource limits, flattened into sandboxify's
/// command line. None of them combines with `--learn`.
#[derive(Debug, Default)]
pub struct Options {
    /// The namespaces.
    pub namespaces: NamespaceOptions,
    /// The new root, and the working directory.
    pub root: RootOptions,
    /// The resource limits.
    pub limits: LimitOptions,
}

impl clap::Args for Options {
    fn augment_args(command: Command) -> Command {
        let before: Vec<clap::Id> = command.get_arguments().map(|arg| arg.get_id().clone()).collect();
        let command = NamespaceOptions::augment_args(command).next_help_heading("New root");
        // The options after these have no heading of their own.
        let command = LimitOptions::augment_args(RootOptions::augment_args(command)).next_help_heading(None);
        let added: Vec<clap::Id> =
            command.get_arguments().map(|arg| arg.get_id().clone()).filter(|id| !before.contains(id)).collect();
        // --learn observes an unconfined run: there is nothing to set up for it.
        added.into_iter().fold(command, |command, id| command.mut_arg(id, |arg| arg.conflicts_with("learn")))
    }

    fn augment_args_for_update(command: Command) -> Command {
        Self::augment_args(command)
    }
}

impl clap::FromArgMatches for Options {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(Options {
            namespaces: NamespaceOptions::from_arg_matches(matches)?,
            root: RootOptions::from_arg_matches(matches)?,
            limits: LimitOptions::from_arg_matches(matches)?,
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

/// The namespace options.
#[derive(Debug, Default, clap::Args)]
#[command(next_help_heading = "Namespaces")]
pub struct NamespaceOptions {
    /// New user namespace, mapping the caller to itself (to root with
    /// --map-root); implied for an ordinary user by any other namespace or
    /// new-root option
    #[arg(long)]
    pub unshare_user: bool,

    /// Map the caller to uid and gid 0 in the user namespace (implies --unshare-user)
    #[arg(long)]
    pub map_root: bool,

    /// New network namespace: only the loopback interface, brought up
    #[arg(long)]
    pub unshare_net: bool,

    /// New PID namespace: PROGRAM is PID 2 under a small init that reaps
    /// orphans, and sees a fresh /proc; sandboxify stays outside, forwards
    /// signals and passes on how PROGRAM ended
    #[arg(long)]
    pub unshare_pid: bool,

    /// New IPC namespace (System V IPC, POSIX message queues)
    #[arg(long)]
    pub unshare_ipc: bool,

    /// New UTS namespace (host name)
    #[arg(long)]
    pub unshare_uts: bool,

    /// The host name in the new UTS namespace
    #[arg(long, value_name = "NAME", requires = "unshare_uts", value_parser = parse_hostname)]
    pub hostname: Option<OsString>,

    /// Keep PROGRAM's capabilities. By default, with a namespace or a new
    /// root, PROGRAM has none, even as root (with --map-root it could
    /// otherwise remount a read-only bind read-write)
    #[arg(long)]
    pub keep_capabilities: bool,
}

/// The limit options.
#[derive(Debug, Default, clap::Args)]
#[command(next_help_heading = "Limits")]
pub struct LimitOptions {
    /// Memory limit, swap included (cgroup v2 memory.max with memory.swap.max
    /// 0, else cgroup v1 memory.limit_in_bytes and memory.memsw.limit_in_bytes),
    /// e.g. 64M (K, M, G, T: powers of 1024)
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub memory_max: Option<u64>,

    /// Limit on processes and threads (pids.max of cgroup v2, else of cgroup v1)
    #[arg(long, value_name = "N", value_parser = value_parser!(u64).range(1..))]
    pub pids_max: Option<u64>,

    /// CPU bandwidth (cgroup v2 cpu.max, else cgroup v1 cpu.cfs_quota_us and
    /// cpu.cfs_period_us): a number of CPUs such as 0.5, or "QUOTA PERIOD" in
    /// microseconds as cgroup v2 writes it
    #[arg(long, value_name = "CPUS", value_parser = parse_cpu_max)]
    pub cpu_max: Option<CpuMax>,

    /// When no cgroup (v2, or v1) can have a limit, use the rlimit
    /// equivalent instead of refusing to run (--memory-max: RLIMIT_AS,
    /// --pids-max: RLIMIT_NPROC; --cpu-max has none)
    #[arg(long, value_name = "MECHANISM", value_parser = ["rlimit"])]
    pub limits_fallback: Option<String>,

    /// RLIMIT_AS: address-space size, e.g. 1G
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub rlimit_as: Option<u64>,

    /// RLIMIT_NPROC: processes of the user (in a user namespace: of the sandbox); not enforced for root
    #[arg(long, value_name = "N")]
    pub rlimit_nproc: Option<u64>,

    /// RLIMIT_NOFILE: open file descriptors
    #[arg(long, value_name = "N")]
    pub rlimit_nofile: Option<u64>,

    /// RLIMIT_CPU: CPU time in seconds (SIGXCPU, then SIGKILL)
    #[arg(long, value_name = "SECONDS")]
    pub rlimit_cpu: Option<u64>,
}

/// One step of building the new root, in command-line order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mount {
    /// `--bind` or `--ro-bind`: SRC (absolute) onto DST, with what is mounted below SRC.
    Bind {
        /// The host path, made absolute against the working directory.
        source: PathBuf,
        /// Where it appears in the new root.
        destination: PathBuf,
        /// Read-only, submounts included.
        read_only: bool,
    },
    /// `--tmpfs DST`: an empty tmpfs.
    Tmpfs(PathBuf),
    /// `--proc DST`: a proc file system of PROGRAM's PID namespace.
    Proc(PathBuf),
    /// `--dev DST`: a minimal /dev.
    Dev(PathBuf),
}

/// The new-root options, kept in the order they were given (a later mount
/// goes on top of an earlier one), which clap's derive cannot do: this
/// implements [`clap::Args`] by hand and sorts by argument index.
#[derive(Clone, Debug, Default)]
pub struct RootOptions {
    /// The mounts, in order; empty: no new root.
    pub mounts: Vec<Mount>,
    /// `--chdir`.
    pub chdir: Option<PathBuf>,
}

/// The new-root options: id, long name, value names, help.
const ROOT_ARGS: [(&str, &[&str], &str); 5] = [
    ("bind", &["SRC", "DST"], "Bind SRC onto DST in a new root (recursively, submounts included)"),
    ("ro-bind", &["SRC", "DST"], "Bind SRC onto DST read-only in a new root, submounts included"),
    ("tmpfs", &["DST"], "Mount an empty tmpfs on DST in a new root"),
    ("proc", &["DST"], "Mount a proc file system on DST in a new root (needs --unshare-pid)"),
    ("dev", &["DST"], "Mount a minimal /dev on DST in a new root: null, zero, full, random, urandom, tty, shm, pts"),
];

impl clap::Args for RootOptions {
    fn augment_args(mut command: Command) -> Command {
        for (name, values, help) in ROOT_ARGS {
            command = command.arg(
                Arg::new(name)
                    .long(name)
                    .value_names(values)
                    .num_args(values.len())
                    .action(ArgAction::Append)
                    .value_parser(value_parser!(PathBuf))
                    .help(help)
                    .conflicts_with("preload"),
            );
        }
        command.arg(
            Arg::new("chdir").long("chdir").value_name("DIR").value_parser(value_parser!(PathBuf)).help(
                "The working directory for PROGRAM, in the new root if there is one [default: / with a new root]",
            ),
        )
    }

    fn augment_args_for_update(command: Command) -> Command {
        Self::augment_args(command)
    }
}

impl clap::FromArgMatches for RootOptions {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut indexed = Vec::new();
        for (name, values, _) in ROOT_ARGS {
            let (Some(paths), Some(indices)) = (matches.get_many::<PathBuf>(name), matches.indices_of(name)) else {
                continue;
            };
            let paths: Vec<&PathBuf> = paths.collect();
            let indices: Vec<usize> = indices.collect();
            for (occurrence, index) in paths.chunks(values.len()).zip(indices.into_iter().step_by(values.len())) {
                let destination = destination(name, values, occurrence.last().expect("num_args >= 1"))?;
                let mount = match (name, occurrence) {
                    ("bind" | "ro-bind", [source, _]) => Mount::Bind {
                        source: std::path::absolute(source).map_err(|error| {
                            bad_value(name, values, source, &format!("cannot make it absolute: {error}"))
                        })?,
                        destination,
                        read_only: name == "ro-bind",
                    },
                    ("tmpfs", _) => Mount::Tmpfs(destination),
                    ("proc", _) => Mount::Proc(destination),
                    _ => Mount::Dev(destination),
                };
                indexed.push((index, mount));
            }
        }
        indexed.sort_by_key(|(index, _)| *index);
        let mounts = indexed.into_iter().map(|(_, mount)| mount).collect();
        Ok(RootOptions { mounts, chdir: matches.get_one::<PathBuf>("chdir").cloned() })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

/// A DST: absolute, and without `..`, which could lead out of the new root
/// while it is built. `.` components are dropped.
fn destination(name: &str, values: &[&str], path: &Path) -> Result<PathBuf, clap::Error> {
    if !path.is_absolute() {
        return Err(bad_value(name, values, path, "DST must be an absolute path in the new root"));
    }
    if path.components().any(|component| component == Component::ParentDir) {
        return Err(bad_value(name, values, path, "DST may not contain .."));
    }
    Ok(path.components().collect())
}

/// clap's wording for a bad value, as its own parsers report it.
fn bad_value(name: &str, values: &[&str], value: &Path, reason: &str) -> clap::Error {
    let placeholders: Vec<String> = values.iter().map(|value| format!("<{value}>")).collect();
    clap::Error::raw(
        ErrorKind::ValueValidation,
        format!("invalid value '{}' for '--{name} {}': {reason}", value.display(), placeholders.join(" ")),
    )
}

/// A host name: 1 to 64 bytes (HOST_NAME_MAX).
fn parse_hostname(text: &str) -> Result<OsString, String> {
    match text.len() {
        1..=64 => Ok(text.into()),
        _ => Err("a host name has 1 to 64 bytes".to_owned()),
    }
}

/// A size in bytes: digits with an optional K, M, G or T (powers of 1024).
fn parse_size(text: &str) -> Result<u64, String> {
    let expected = || "expected a size in bytes with an optional K, M, G or T suffix (powers of 1024), such as 64M";
    let (digits, shift) = match text.as_bytes().last() {
        Some(b'K' | b'k') => (&text[..text.len() - 1], 10),
        Some(b'M' | b'm') => (&text[..text.len() - 1], 20),
        Some(b'G' | b'g') => (&text[..text.len() - 1], 30),
        Some(b'T' | b't') => (&text[..text.len() - 1], 40),
        _ => (text, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(expected().to_owned());
    }
    let number: u64 = digits.parse().map_err(|_| "too large".to_owned())?;
    match number.checked_mul(1 << shift) {
        Some(0) => Err("a size must be more than 0".to_owned()),
        Some(bytes) => Ok(bytes),
        None => Err("too large".to_owned()),
    }
}

/// A CPU bandwidth: `quota` microseconds of CPU time in each `period`, as
/// cgroup v2's `cpu.max` has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuMax {
    /// Microseconds of CPU time per period, at least 1000.
    pub quota: u64,
    /// Microseconds, 1000 to 1000000.
    pub period: u64,
}

impl fmt::Display for CpuMax {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.quota, self.period)
    }
}

/// The period a number of CPUs is expressed in: cgroup's default.
const DEFAULT_PERIOD: u64 = 100_000;

/// `CPUS` (a decimal number, up to 5 decimals) or `QUOTA PERIOD`.
fn parse_cpu_max(text: &str) -> Result<CpuMax, String> {
    let expected =
        "expected a number of CPUs such as 0.5, or \"QUOTA PERIOD\" in microseconds such as \"50000 100000\"";
    let words: Vec<&str> = text.split_whitespace().collect();
    let number =
        |word: &str| word.bytes().all(|byte| byte.is_ascii_digit()).then(|| word.parse::<u64>().ok()).flatten();
    let cpu_max = match words.as_slice() {
        [quota, period] => CpuMax { quota: number(quota).ok_or(expected)?, period: number(period).ok_or(expected)? },
        [cpus] => {
            let (whole, fraction) = cpus.split_once('.').unwrap_or((cpus, ""));
            if whole.is_empty() && fraction.is_empty() || fraction.len() > 5 {
                return Err(expected.to_owned());
            }
            // Five decimals are microseconds of the default period.
            let whole = if whole.is_empty() { Some(0) } else { number(whole) };
            let (Some(whole), Some(fraction)) = (whole, number(&format!("{fraction:0<5}"))) else {
                return Err(expected.to_owned());
            };
            let quota = whole.checked_mul(DEFAULT_PERIOD).and_then(|quota| quota.checked_add(fraction));
            CpuMax { quota: quota.ok_or("too large")?, period: DEFAULT_PERIOD }
        }
        _ => return Err(expected.to_owned()),
    };
    if !(1000..=1_000_000).contains(&cpu_max.period) {
        return Err("the period must be 1000 to 1000000 microseconds".to_owned());
    }
    if cpu_max.quota < 1000 {
        return Err("the quota must be at least 1000 microseconds (0.01 CPU)".to_owned());
    }
    Ok(cpu_max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("1k"), Ok(1024));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("2T"), Ok(2 << 40));
        for bad in ["", "M", "64Q", "-1", "1.5G", "0", "64 M", "99999999999999999999", "99999999999T"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cpu_bandwidths() {
        assert_eq!(parse_cpu_max("0.5"), Ok(CpuMax { quota: 50_000, period: 100_000 }));
        assert_eq!(parse_cpu_max("2"), Ok(CpuMax { quota: 200_000, period: 100_000 }));
        assert_eq!(parse_cpu_max(".25"), Ok(CpuMax { quota: 25_000, period: 100_000 }));
        assert_eq!(parse_cpu_max("1.00001"), Ok(CpuMax { quota: 100_001, period: 100_000 }));
        assert_eq!(parse_cpu_max("50000 100000"), Ok(CpuMax { quota: 50_000, period: 100_000 }));
        assert_eq!(parse_cpu_max("50000 100000").unwrap().to_string(), "50000 100000");
        for bad in
            ["", ".", "0", "0.001", "1.000001", "x", "1 2 3", "50000 x", "50000 100", "-1", "1e3", "50000 2000000"]
        {
            assert!(parse_cpu_max(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn host_names() {
        assert!(parse_hostname("sandbox").is_ok());
        assert!(parse_hostname("").is_err());
        assert!(parse_hostname(&"x".repeat(65)).is_err());
    }
}
