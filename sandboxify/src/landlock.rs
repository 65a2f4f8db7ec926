//! Landlock rules for PROGRAM: the `SANDBOX_FS_*` and `SANDBOX_NET_*`
//! variables, or the options of the same meaning (an option replaces its
//! variable; an option given several times adds up), enforced just before
//! the exec, with the seccomp filter.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use sandbox_landlock::{Plan, Request, Setting, Settings};
use sandbox_policy::text::variables::Variables;

use crate::failure::Failure;
use crate::program::{Executable, inspect};

/// The Landlock options.
#[derive(Debug, Default, clap::Args)]
#[command(next_help_heading = "Files and network (Landlock)")]
pub struct LandlockArgs {
    /// Trees PROGRAM may read and execute beneath, ':'-separated (~ expands;
    /// repeatable). Once any --fs-* option or SANDBOX_FS_* variable is set,
    /// reading, writing, executing, creating, removing and renaming outside
    /// the granted trees are denied (not mode, owner, times or extended
    /// attributes: see the README's table)
    #[arg(long, value_name = "PATHS")]
    pub fs_ro: Vec<String>,

    /// Trees PROGRAM may also write, create, remove, rename and truncate beneath (repeatable)
    #[arg(long, value_name = "PATHS")]
    pub fs_rw: Vec<String>,

    /// Paths, or globs in their last component (~/.ssh/id_rsa*), carved out of
    /// the granted trees (repeatable)
    #[arg(long, value_name = "PATHS")]
    pub fs_deny: Vec<String>,

    /// With file rules, do not grant the devices every program expects
    /// (/dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom, /dev/tty and
    /// the terminal PROGRAM starts on)
    #[arg(long)]
    pub fs_no_devices: bool,

    /// TCP ports PROGRAM may connect to (80:443:8000-8080; repeatable); others are denied
    #[arg(long, value_name = "PORTS")]
    pub net_connect: Vec<String>,

    /// TCP ports PROGRAM may bind (repeatable); others are denied
    #[arg(long, value_name = "PORTS")]
    pub net_bind: Vec<String>,

    /// IP sockets are TCP only: UDP, raw, SCTP, MPTCP and packet sockets are
    /// refused (EACCES), which Landlock's port rules do not cover
    #[arg(long)]
    pub net_tcp_only: bool,

    /// Enforce what this kernel's Landlock can and say what it cannot,
    /// instead of refusing to run
    #[arg(long)]
    pub landlock_best_effort: bool,
}

/// A setting as asked: its origin (option or variable) and its value.
type Owned = Option<(&'static str, String)>;

/// The Landlock settings asked for, each from its option or else its
/// variable, owned: with a new root they are planned only once it is built.
#[derive(Debug)]
pub struct Asked {
    read_only: Owned,
    read_write: Owned,
    deny: Owned,
    connect: Owned,
    bind: Owned,
    devices: bool,
    best_effort: bool,
    /// Files sandboxify's exec needs besides PROGRAM's chain: the library
    /// `--preload` hands the policy to.
    also_run: Vec<PathBuf>,
}

impl Asked {
    /// What the options and the environment ask for; `None`: nothing.
    pub fn new(args: &LandlockArgs, variables: &Variables) -> Result<Option<Asked>, Failure> {
        let from_variables = Settings::from_variables(&variables.landlock).map_err(sandbox_landlock::Error::from)?;
        let choose = |origin: &'static str, option: &[String], variable: Option<Setting<'_>>| -> Owned {
            if option.is_empty() {
                variable.map(|variable| (variable.origin, variable.value.to_owned()))
            } else {
                Some((origin, option.join(":")))
            }
        };
        let asked = Asked {
            read_only: choose("--fs-ro", &args.fs_ro, from_variables.read_only),
            read_write: choose("--fs-rw", &args.fs_rw, from_variables.read_write),
            deny: choose("--fs-deny", &args.fs_deny, from_variables.deny),
            connect: choose("--net-connect", &args.net_connect, from_variables.connect),
            bind: choose("--net-bind", &args.net_bind, from_variables.bind),
            devices: from_variables.devices && !args.fs_no_devices,
            best_effort: args.landlock_best_effort || from_variables.best_effort,
            also_run: Vec::new(),
        };
        let any = [&asked.read_only, &asked.read_write, &asked.deny, &asked.connect, &asked.bind]
            .iter()
            .any(|setting| setting.is_some());
        Ok(any.then_some(asked))
    }

    /// Grants reading and executing `path` too when files are restricted
    /// (the library `--preload` loads: ld.so would skip it otherwise).
    pub fn also_run(&mut self, path: &Path) {
        self.also_run.push(path.to_path_buf());
    }

    /// Whether file rules are asked for.
    pub fn restricts_files(&self) -> bool {
        self.read_only.is_some() || self.read_write.is_some() || self.deny.is_some()
    }

    /// Resolves the paths (in the root sandboxify is in at the time),
    /// expands the carve-outs and, given `program`, grants what its exec
    /// needs.
    pub fn plan(&self, program: Option<&Path>) -> Result<Plan, Failure> {
        fn setting(owned: &Owned) -> Option<Setting<'_>> {
            owned.as_ref().map(|(origin, value)| Setting { origin, value: value.as_str() })
        }
        let settings = Settings {
            read_only: setting(&self.read_only),
            read_write: setting(&self.read_write),
            deny: setting(&self.deny),
            connect: setting(&self.connect),
            bind: setting(&self.bind),
            devices: self.devices,
            tcp_only: false,
            best_effort: self.best_effort,
        };
        let home = std::env::var_os("HOME").map(|home| sandbox_landlock::Path::new(home.as_bytes()));
        let request = Request::new(&settings, home.as_ref()).map_err(sandbox_landlock::Error::from)?;
        let request = request.expect("Asked holds at least one setting");
        let mut plan = Plan::new(request).map_err(sandbox_landlock::Error::from)?;
        if let Some(program) = program {
            grant_exec(&mut plan, program)?;
        }
        if plan.request.restricts_files {
            for path in &self.also_run {
                grant_run(&mut plan, path)?;
            }
        }
        Ok(plan)
    }
}

/// The seccomp entries the network options and variables need (see
/// `sandbox_landlock::Settings::seccomp_entries`): MPTCP refused when TCP
/// ports are restricted, the other IP sockets with `--net-tcp-only`.
pub fn seccomp_entries(args: &LandlockArgs, variables: &Variables) -> Result<Vec<&'static str>, Failure> {
    let from_variables = Settings::from_variables(&variables.landlock).map_err(sandbox_landlock::Error::from)?;
    let given = |option: &[String], variable: Option<Setting<'_>>| {
        (!option.is_empty() || variable.is_some()).then_some(Setting { origin: "", value: "" })
    };
    let settings = Settings {
        connect: given(&args.net_connect, from_variables.connect),
        bind: given(&args.net_bind, from_variables.bind),
        tcp_only: args.net_tcp_only || from_variables.tcp_only,
        ..Settings::default()
    };
    Ok(settings.seccomp_entries())
}

/// Enforces `rules` on sandboxify's single thread, saying on stderr what a
/// best-effort request could not enforce, and with `verbose` what is.
pub fn enforce(rules: &Plan, verbose: bool) -> Result<(), Failure> {
    let enforced =
        sandbox_landlock::enforce(rules, &sandbox_landlock::Threads::One).map_err(sandbox_landlock::Error::from)?;
    for dropped in enforced.dropped {
        eprintln!("sandboxify: Landlock best effort: not enforced: {dropped}");
    }
    if verbose {
        eprintln!("sandboxify: Landlock: {}", rules.summary());
    }
    Ok(())
}

/// Grants reading and executing `file`: what a symbolic link there leads
/// to (the link itself is only followed; Landlock checks the file the
/// kernel opens, as for Debian's ld.so, `/lib64/ld-linux-x86-64.so.2`).
/// A path that does not resolve is granted as it is: the exec reports it.
fn grant_run(plan: &mut Plan, file: &Path) -> Result<(), Failure> {
    let target = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    let path = sandbox_landlock::Path::new(target.as_os_str().as_bytes());
    plan.grant_run(&path).map_err(sandbox_landlock::Error::from)?;
    Ok(())
}

/// Grants what sandboxify's own exec of `program` needs when files are
/// restricted: the kernel opens the program, the interpreter of a script
/// (`#!`, up to the kernel's four levels), and the ELF interpreter (ld.so)
/// of the program it ends up loading. Everything the program opens after
/// that is its own business, to be granted by the rules.
fn grant_exec(plan: &mut Plan, program: &Path) -> Result<(), Failure> {
    if !plan.request.restricts_files {
        return Ok(());
    }
    let mut file = program.to_path_buf();
    for _ in 0..5 {
        grant_run(plan, &file)?;
        // What the kernel cannot read it will not exec either: the exec reports it.
        let (Ok(Executable::Script { interpreter: Some(next) }) | Ok(Executable::Elf { interpreter: Some(next), .. })) =
            inspect(&file)
        else {
            return Ok(());
        };
        file = next;
    }
    Ok(())
}
