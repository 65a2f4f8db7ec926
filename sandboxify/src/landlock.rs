//! Landlock rules for PROGRAM: the `SANDBOX_FS_*` and `SANDBOX_NET_*`
//! variables, or the options of the same meaning (each option replaces its
//! variable), enforced just before the exec, with the seccomp filter.

use std::path::{Path, PathBuf};

use sandbox_landlock::{Plan, Request, Setting, Settings};
use sandbox_policy::variables::Variables;

use crate::failure::Failure;
use crate::program::{Executable, inspect};

/// The Landlock options.
#[derive(Debug, Default, clap::Args)]
#[command(next_help_heading = "Files and network (Landlock)")]
pub struct LandlockArgs {
    /// Trees PROGRAM may read and execute beneath, ':'-separated (~ expands).
    /// Once any --fs-* option or SANDBOX_FS_* variable is set, every path not
    /// granted is denied
    #[arg(long, value_name = "PATHS")]
    pub fs_ro: Option<String>,

    /// Trees PROGRAM may also write, create, remove, rename and truncate beneath
    #[arg(long, value_name = "PATHS")]
    pub fs_rw: Option<String>,

    /// Paths, or globs in their last component (~/.ssh/id_rsa*), carved out of
    /// the granted trees
    #[arg(long, value_name = "PATHS")]
    pub fs_deny: Option<String>,

    /// TCP ports PROGRAM may connect to (80:443:8000-8080); others are denied
    #[arg(long, value_name = "PORTS")]
    pub net_connect: Option<String>,

    /// TCP ports PROGRAM may bind; others are denied
    #[arg(long, value_name = "PORTS")]
    pub net_bind: Option<String>,

    /// Enforce what this kernel's Landlock can and say what it cannot,
    /// instead of refusing to run
    #[arg(long)]
    pub landlock_best_effort: bool,
}

impl LandlockArgs {
    /// Whether any Landlock option is given.
    pub fn any(&self) -> bool {
        self.fs_ro.is_some()
            || self.fs_rw.is_some()
            || self.fs_deny.is_some()
            || self.net_connect.is_some()
            || self.net_bind.is_some()
    }
}

/// The Landlock settings asked for, each from its option or else its
/// variable, owned: with a new root they are planned only once it is built.
#[derive(Debug)]
pub struct Asked {
    /// Read-only, read-write, deny, connect, bind: origin and value.
    values: [Option<(&'static str, String)>; 5],
    best_effort: bool,
}

impl Asked {
    /// What the options and the environment ask for; `None`: nothing.
    pub fn new(args: &LandlockArgs, variables: &Variables) -> Result<Option<Asked>, Failure> {
        let from_variables = Settings::from_variables(&variables.landlock).map_err(sandbox_landlock::Error::from)?;
        let choose = |origin: &'static str, option: &Option<String>, variable: Option<Setting<'_>>| {
            option.clone().map(|value| (origin, value)).or(variable.map(|v| (v.origin, v.value.to_owned())))
        };
        let values = [
            choose("--fs-ro", &args.fs_ro, from_variables.read_only),
            choose("--fs-rw", &args.fs_rw, from_variables.read_write),
            choose("--fs-deny", &args.fs_deny, from_variables.deny),
            choose("--net-connect", &args.net_connect, from_variables.connect),
            choose("--net-bind", &args.net_bind, from_variables.bind),
        ];
        let best_effort = args.landlock_best_effort || from_variables.best_effort;
        Ok(values.iter().any(Option::is_some).then_some(Asked { values, best_effort }))
    }

    /// Resolves the paths (in the root sandboxify is in at the time),
    /// expands the carve-outs and, given `program`, grants what its exec
    /// needs.
    pub fn plan(&self, program: Option<&Path>) -> Result<Plan, Failure> {
        let setting =
            |index: usize| self.values[index].as_ref().map(|(origin, value)| Setting { origin, value: value.as_str() });
        let settings = Settings {
            read_only: setting(0),
            read_write: setting(1),
            deny: setting(2),
            connect: setting(3),
            bind: setting(4),
            best_effort: self.best_effort,
        };
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let request = Request::new(&settings, home.as_deref()).map_err(sandbox_landlock::Error::from)?;
        let request = request.expect("Asked holds at least one setting");
        let mut plan = Plan::new(request).map_err(sandbox_landlock::Error::from)?;
        if let Some(program) = program {
            grant_exec(&mut plan, program)?;
        }
        Ok(plan)
    }
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
        plan.grant_run(&file).map_err(sandbox_landlock::Error::from)?;
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
