//! `sandboxify`: runs a program, static ones included, under a seccomp
//! policy that is in force from its first instruction, in the same process
//! (see [`launch`] for how its own exec gets through the filter).

pub mod cli;
mod failure;
mod launch;
mod preload;
mod program;

use std::ffi::{CString, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use clap::Parser;
use sandbox_policy::bpf::{self, SeccompData};
use sandbox_policy::variables::{self, Name, Variables};
use sandbox_policy::{
    Action, Comparison, Condition, Field, Origin, Override, Policy, Program, Rule, Settings, Text, Width, abi, compile,
    compile_with,
};

use crate::cli::Args;
use crate::failure::Failure;
use crate::launch::Launch;

/// Parses the command line, runs PROGRAM (never returning) or reports why
/// not; returns the exit status for a failure.
pub fn main() -> i32 {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(error) => return usage_error(error),
    };
    let failure = run(args);
    eprintln!("sandboxify: {failure}");
    failure.exit_status()
}

fn usage_error(error: clap::Error) -> i32 {
    use clap::error::ErrorKind;
    if matches!(error.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = error.print();
        return 0;
    }
    // clap's messages span several lines (usage, tips): keep one.
    let rendered = error.render().to_string();
    let mut lines = rendered.lines();
    let first = lines.next().unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let message = match error.kind() {
        ErrorKind::MissingRequiredArgument => {
            let missing: Vec<&str> = lines.take_while(|line| !line.is_empty()).map(str::trim).collect();
            if missing == ["<PROGRAM>..."] {
                "missing PROGRAM".to_owned()
            } else {
                format!("{first} {}", missing.join(" "))
            }
        }
        _ => first.to_owned(),
    };
    let failure = Failure::Usage(message);
    eprintln!("sandboxify: {failure}");
    failure.exit_status()
}

const ALLOW_OPTION: Origin = Origin::Option("--allow");
const DENY_OPTION: Origin = Origin::Option("--deny");
const DEFAULT_ACTION_OPTION: Origin = Origin::Option("--default-action");

/// Runs PROGRAM as `args` say; returns only if it could not.
fn run(args: Args) -> Failure {
    match prepare(args) {
        Ok(start) => start(),
        Err(failure) => failure,
    }
}

/// Does every check that can fail before anything changes in the process,
/// and returns what remains to do: install and exec.
fn prepare(args: Args) -> Result<Box<dyn FnOnce() -> Failure>, Failure> {
    let (variables, passed_on) = read_environment()?;
    let from_env = variables.settings();
    fn option<'a>(origin: &'a Origin, value: &'a Option<String>) -> Option<Text<'a>> {
        value.as_deref().map(|text| Text { origin, text })
    }
    let settings = Settings {
        allow: option(&ALLOW_OPTION, &args.allow).or(from_env.allow),
        deny: option(&DENY_OPTION, &args.deny).or(from_env.deny),
        default_action: option(&DEFAULT_ACTION_OPTION, &args.default_action).or(from_env.default_action),
    };
    let policy = settings.policy()?;

    let (name, arguments) = args.command.split_first().expect("clap requires PROGRAM");
    let path_variable = passed_on.iter().find(|(key, _)| key == "PATH").map(|(_, value)| value.as_os_str());
    let path = program::resolve(name, path_variable)?;

    let mut environment = passed_on;
    let filter_policy = match (&policy, args.preload) {
        (Some(policy), true) => {
            let library = preload::library(args.library.as_deref())?;
            preload::check_program(&path)?;
            hand_over_to_library(&mut environment, policy, &library, variables.verbose());
            Some(preload::guard(policy))
        }
        (policy, _) => policy.clone(),
    };

    let display = name.to_string_lossy().into_owned();
    let c_path = CString::new(path.into_os_string().into_vec()).map_err(|_| nul_in(&display))?;
    let argv = std::iter::once(name)
        .chain(arguments)
        .map(|arg| CString::new(arg.as_bytes()).map_err(|_| nul_in(&display)))
        .collect::<Result<Vec<_>, _>>()?;
    let envp = environment
        .into_iter()
        .map(|(key, value)| {
            let mut entry = key.into_vec();
            entry.push(b'=');
            entry.extend(value.into_vec());
            CString::new(entry).map_err(|_| nul_in("the environment"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let launch = Launch::new(display, c_path, argv, envp);

    let Some(filter_policy) = filter_policy else {
        return Ok(Box::new(move || launch.exec()));
    };
    let plain = compile(&filter_policy);
    let gate = launch::gate_address();
    let exec_allowed = matches!(own_exec_action(&plain, gate), Action::Allow | Action::Log);
    let program = if exec_allowed { plain } else { compile_with(&filter_policy, &[exec_gate(gate)]) };
    if variables.verbose() {
        let role = if args.preload { "guard until libsandbox.so applies the policy: " } else { "" };
        let how = if exec_allowed {
            String::new()
        } else {
            format!("; its own exec let through once by the exec gate at {gate:#x}")
        };
        eprintln!(
            "sandboxify: {role}{filter_policy} ({} BPF instructions, installed before exec{how})",
            program.insns().len()
        );
    }
    Ok(if exec_allowed {
        Box::new(move || launch.exec_filtered(&program))
    } else {
        Box::new(move || launch.exec_gated(&program))
    })
}

/// What `program` does with sandboxify's own execve from the gate.
fn own_exec_action(program: &Program, gate: u64) -> Action {
    let data = SeccompData {
        nr: libc::SYS_execve as u32,
        arch: abi::AUDIT_ARCH_X86_64,
        instruction_pointer: gate,
        ..SeccompData::default()
    };
    let verdict = bpf::run(program.insns(), &data).expect("compiled filters run to a return");
    Action::from_ret(verdict.ret).expect("compiled filters return known actions")
}

/// The rule that sends execve from the gate's address to the listener.
fn exec_gate(gate: u64) -> Override {
    let from_gate =
        Condition { field: Field::InstructionPointer, comparison: Comparison::Eq, value: gate, width: Width::Bits64 };
    Override {
        abi: sandbox_policy::Abi::X86_64,
        nr: libc::SYS_execve as u32,
        rule: Rule { conditions: vec![from_gate], action: Action::Notify },
    }
}

/// Adds what libsandbox.so needs to apply `policy` in PROGRAM.
fn hand_over_to_library(
    environment: &mut Vec<(OsString, OsString)>,
    policy: &Policy,
    library: &std::path::Path,
    verbose: bool,
) {
    let mut preload = library.as_os_str().to_owned();
    if let Some(index) = environment.iter().position(|(key, _)| key == "LD_PRELOAD") {
        let (_, existing) = environment.remove(index);
        preload.push(":");
        preload.push(existing);
    }
    environment.push(("LD_PRELOAD".into(), preload));
    environment.extend(policy.variables().into_iter().map(|(key, value)| (key.into(), value.into())));
    if verbose {
        environment.push((variables::VERBOSE.into(), "1".into()));
    }
}

fn nul_in(what: &str) -> Failure {
    Failure::Usage(format!("{what} contains a NUL byte"))
}

/// Splits the environment into the sandbox's variables and the rest, which
/// PROGRAM gets. Refuses what the library refuses: typos, duplicates, values
/// that are not UTF-8.
fn read_environment() -> Result<(Variables, Vec<(OsString, OsString)>), Failure> {
    let mut variables = Variables::default();
    let mut seen: Vec<&str> = Vec::new();
    let mut passed_on = Vec::new();
    for (key, value) in std::env::vars_os() {
        match variables::classify(key.as_bytes()) {
            Name::Known(known) => {
                if seen.contains(&known) {
                    return Err(Failure::Environment(format!("{known} is set twice in the environment")));
                }
                seen.push(known);
                let value = value
                    .into_string()
                    .map_err(|_| Failure::Environment(format!("{known}: value is not valid UTF-8")))?;
                variables.set(known, value);
            }
            Name::Unknown => {
                let name = key.to_string_lossy();
                let closest = variables::closest(&name);
                return Err(Failure::Environment(format!("unknown variable {name} (did you mean {closest}?)")));
            }
            Name::Unrelated => passed_on.push((key, value)),
        }
    }
    Ok((variables, passed_on))
}
