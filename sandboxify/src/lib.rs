//! `sandboxify`: runs a program, static ones included, under a seccomp
//! policy that is in force from its first instruction, in the same process
//! (see the `launch` module for how its own exec gets through the filter).

pub mod cli;
mod container;
mod failure;
mod landlock;
mod launch;
mod learn;
mod preload;
mod program;
mod summary;
mod tracer;

use std::ffi::{CString, OsStr, OsString};
use std::io::{IsTerminal, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use sandbox_policy::compile::start_up;
use sandbox_policy::export::{self, oci, systemd};
use sandbox_policy::resolve::Base;
use sandbox_policy::sys::report::{self, Answered, Gate, Reported, Reporter};
use sandbox_policy::text::file::{self, Files};
use sandbox_policy::text::variables::{self, Variables};
use sandbox_policy::violation;
use sandbox_policy::{
    Action, Arch, Lists, Origin, Policy, Settings, Switches, Syscall, Text, Threads, compile, compile_for,
    compile_with, explain, install,
};

use crate::cli::{Args, ExportFormat};
use crate::container::Sandbox;
use crate::failure::Failure;
use crate::launch::Launch;

/// Parses the command line, runs PROGRAM (never returning), prints the
/// report an inspection option asks for, or reports why not; returns the
/// exit status.
pub fn main() -> i32 {
    let args = match Args::parse_from(std::env::args_os().collect()) {
        Ok(args) => args,
        Err(error) => return usage_error(error),
    };
    let failure = match prepare(args) {
        Ok(Plan::Report(text)) => {
            print!("{text}");
            return 0;
        }
        Ok(Plan::Export(bytes)) => {
            match std::io::stdout().lock().write_all(&bytes).and_then(|()| std::io::stdout().flush()) {
                Ok(()) => return 0,
                Err(error) => Failure::System(format!("--export: cannot write to stdout: {error}")),
            }
        }
        Ok(Plan::Run(start)) => start(),
        Ok(Plan::Learn(learn)) => match learn() {
            Ok(status) => return pass_through(status),
            Err(failure) => failure,
        },
        Err(failure) => failure,
    };
    failure.say();
    failure.exit_status()
}

/// What is left to do once every check has passed.
enum Plan {
    /// Print this and exit 0.
    Report(String),
    /// Write these bytes to stdout and exit 0.
    Export(Vec<u8>),
    /// Install and exec; returns only on failure.
    Run(Box<dyn FnOnce() -> Failure>),
    /// Run PROGRAM observed; returns its wait status.
    Learn(Box<dyn FnOnce() -> Result<i32, Failure>>),
}

/// Ends sandboxify as PROGRAM ended: with its exit code, or by its signal.
fn pass_through(status: i32) -> i32 {
    if libc::WIFSIGNALED(status) {
        let signal = libc::WTERMSIG(status);
        // No core file for sandboxify: PROGRAM's own was already written, if any.
        let no_core = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: setrlimit reads one rlimit; the rest restores the default
        // action of one signal and raises it on ourselves.
        unsafe {
            libc::setrlimit(libc::RLIMIT_CORE, &no_core);
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
        return 128 + signal;
    }
    libc::WEXITSTATUS(status)
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
    failure.say();
    failure.exit_status()
}

const ALLOW_OPTION: Origin = Origin::Option("--allow");
const DENY_OPTION: Origin = Origin::Option("--deny");
const DEFAULT_ACTION_OPTION: Origin = Origin::Option("--default-action");

/// Policy files, read from the file system.
struct StdFiles;

impl Files for StdFiles {
    fn read(&mut self, path: &str) -> Result<String, String> {
        use std::io::Read;
        let file = std::fs::File::open(path).map_err(|error| error.to_string())?;
        let mut bytes = Vec::new();
        file.take(file::MAX_FILE_BYTES as u64 + 1).read_to_end(&mut bytes).map_err(|error| error.to_string())?;
        if bytes.len() > file::MAX_FILE_BYTES {
            return Err(file::TOO_LARGE.to_owned());
        }
        String::from_utf8(bytes).map_err(|_| "not valid UTF-8".to_owned())
    }

    fn host(&mut self) -> Option<sandbox_policy::text::oci::Host> {
        sandbox_policy::sys::host::current()
    }
}

/// The policy asked for: by the options if any is given (they replace the
/// environment's policy variables), else by the environment.
fn policy(args: &Args, variables: &Variables) -> Result<Option<Policy>, Failure> {
    let switches = Switches { exact: args.exact, refuse_i386: args.refuse_i386 }.union(variables.switches()?);
    let lists = if let Some(path) = &args.policy {
        let lists = file::parse_file(Origin::Option("--policy"), &path.to_string_lossy(), &mut StdFiles)?;
        (!lists.is_empty()).then_some(lists)
    } else if args.has_policy_options() {
        fn option<'a>(origin: &'a Origin, value: &'a Option<String>) -> Option<Text<'a>> {
            value.as_deref().map(|text| Text { origin, text })
        }
        let settings = Settings {
            allow: option(&ALLOW_OPTION, &args.allow),
            deny: option(&DENY_OPTION, &args.deny),
            default_action: option(&DEFAULT_ACTION_OPTION, &args.default_action),
            switches: Switches::default(),
        };
        settings.lists()?
    } else {
        variables.lists(&mut StdFiles)?
    };
    Ok(Lists::with_switches(lists, switches).map(Policy::new))
}

/// The report the inspection options ask for.
fn inspection(args: &Args, policy: Option<&Policy>, rules: Option<&sandbox_landlock::Plan>) -> Result<String, Failure> {
    let mut report = String::new();
    if args.list_syscalls {
        report.push_str(&explain::list_syscalls());
    }
    if args.list_groups {
        report.push_str(&explain::list_groups());
    }
    let nothing = || {
        Failure::Usage(
            "no policy to show: give --allow, --deny or --policy, Landlock options, or the matching variables"
                .to_owned(),
        )
    };
    let arch = args.arch.first().copied().unwrap_or(Arch::HOST);
    if args.dump_bpf {
        report.push_str(&explain::disassemble(compile_for(policy.ok_or_else(nothing)?, arch)?.insns()));
    }
    if args.explain {
        if policy.is_none() && rules.is_none() {
            return Err(nothing());
        }
        if let Some(policy) = policy {
            report.push_str(&explain::explain(policy, arch)?);
        }
        if let Some(rules) = rules {
            report.push_str(&sandbox_landlock::explain(rules));
        }
    }
    Ok(report)
}

/// `--export FORMAT`: the policy's filter for `machines` (one but for
/// OCI), as bytes for stdout.
fn export(format: ExportFormat, policy: Option<&Policy>, machines: &[Arch]) -> Result<Vec<u8>, Failure> {
    let policy =
        policy.ok_or_else(|| Failure::Usage("--export: no policy: give --allow, --deny or --policy".to_owned()))?;
    match format {
        ExportFormat::Bpf => {
            if std::io::stdout().is_terminal() {
                return Err(Failure::Usage(
                    "--export bpf writes a binary filter: redirect it to a file (> filter.bpf)".to_owned(),
                ));
            }
            let execve = Syscall::by_name("execve").expect("execve is in the table");
            if policy.action_for(execve) != Action::Allow {
                eprintln!(
                    "sandboxify: --export bpf: the policy does not allow execve, which bwrap makes under the \
                     filter to start PROGRAM: it will fail (sandboxify lets its own exec through its gate)"
                );
            }
            if policy.actions().any(|action| action == Action::Log) {
                eprintln!(
                    "sandboxify: --export bpf: `log` calls go to the kernel's audit log there, unnamed (no reporter)"
                );
            }
            let program = compile_for(policy, machines[0])?;
            Ok(program.insns().iter().flat_map(|insn| insn.to_raw()).collect())
        }
        ExportFormat::Oci => {
            let exported = oci::profile(policy, machines)?;
            for note in &exported.notes {
                eprintln!("sandboxify: --export oci: {note}");
            }
            Ok(oci::to_json(&exported.profile).into_bytes())
        }
        ExportFormat::Systemd => {
            let exported = systemd::unit_lines(policy)?;
            for note in &exported.notes {
                eprintln!("sandboxify: --export systemd: {note}");
            }
            Ok(exported.lines.iter().flat_map(|line| [line.as_str(), "\n"]).collect::<String>().into_bytes())
        }
    }
}

/// `--translate ARCH`: the policy, an allow list, as one for ARCH.
fn translate(policy: Option<&Policy>, arch: Arch) -> Result<String, Failure> {
    let plain = policy.filter(|policy| {
        let deny = (0..policy.entries().len()).any(|index| policy.is_deny_entry(index));
        policy.base() == Base::AllowList && !deny && policy.violation() == Action::Kill && !policy.exact()
    });
    let policy = plain.ok_or_else(|| {
        Failure::Usage(
            "--translate: give an allow list (--allow, --policy or SECCOMP_SYSCALL_ALLOW, as --learn writes it) \
             and nothing else: no deny list, default action or switch"
                .to_owned(),
        )
    })?;
    let translated = export::translate::allow_list(policy.entries(), arch);
    for why in &translated.untranslated {
        eprintln!("sandboxify: --translate {arch}: left out: {why}");
    }
    Ok(learn::allow_line(&translated.entries.join(":")))
}

/// The machines `--arch` names (this one if none), checked against what
/// is asked: a filter to run under is always this machine's, and only an
/// OCI profile serves several.
fn machines(args: &Args) -> Result<Vec<Arch>, Failure> {
    let mut machines = args.arch.clone();
    machines.sort();
    machines.dedup();
    let Some(first) = machines.first() else { return Ok(vec![Arch::HOST]) };
    let named = machines.iter().map(Arch::to_string).collect::<Vec<_>>().join(",");
    let one = args.explain || args.dump_bpf || args.export == Some(ExportFormat::Bpf);
    let several = args.export == Some(ExportFormat::Oci);
    if !(one || several) || !args.command.is_empty() {
        return Err(Failure::Usage(format!(
            "--arch {named}: only --explain, --dump-bpf and --export bpf or oci describe a filter for a machine \
             (without PROGRAM): a filter installed here is always for this one"
        )));
    }
    if one && machines.len() > 1 {
        return Err(Failure::Usage(format!(
            "--arch {named}: --explain, --dump-bpf and --export bpf describe one machine's filter: name one ({first}?)"
        )));
    }
    Ok(machines)
}

/// Does every check that can fail before anything changes in the process,
/// and returns what remains to do.
fn prepare(args: Args) -> Result<Plan, Failure> {
    if !args.summary.is_empty() {
        return summary::summary(&args.summary).map(Plan::Report);
    }
    let (mut variables, passed_on) = read_environment()?;
    if let Some(path) = &args.report_json {
        variables.report_json = Some(path.to_string_lossy().into_owned());
    }
    let policy = policy(&args, &variables)?;
    let asked = landlock::Asked::new(&args.landlock, &variables)?;
    let machines = machines(&args)?;
    if let Some(arch) = args.translate {
        return translate(policy.as_ref(), arch).map(Plan::Report);
    }
    if let Some(format) = args.export {
        return export(format, policy.as_ref(), &machines).map(Plan::Export);
    }
    if args.inspects() && args.command.is_empty() {
        let rules = asked.as_ref().map(|asked| asked.plan(None)).transpose()?;
        return inspection(&args, policy.as_ref(), rules.as_ref()).map(Plan::Report);
    }

    let (name, arguments) = args.command.split_first().expect("clap requires PROGRAM");
    // The library --preload loads, which Landlock file rules must grant.
    let library = args.preload.then(|| preload::library(args.library.as_deref())).transpose()?;
    let mut asked = asked;
    if let (Some(asked), Some(library)) = (&mut asked, &library) {
        asked.also_run(library);
    }
    let path_variable = value_of(&passed_on, "PATH");
    let sandbox = Sandbox::new(&args.container, name, path_variable, variables.verbose())?;
    // In a new root PROGRAM is looked up there, once it is built, and the
    // Landlock paths name what PROGRAM will see there (a fresh /proc too):
    // they wait till then.
    let path = if sandbox.has_new_root() { name.into() } else { program::resolve(name, path_variable)? };
    let rules = match &asked {
        Some(asked) if !sandbox.moves_paths() => Some(asked.plan(Some(&path))?),
        _ => None,
    };

    // Refused now, as the library would refuse them later.
    variables.report_kills()?;
    variables.report_counts()?;
    let mut environment = passed_on;
    if let Some(path) = &variables.report_json
        && args.preload
    {
        environment.push(entry(variables::REPORT_JSON, path));
    }
    if let Some(library) = &library {
        preload::check_program(&path)?;
        preload::check_environment(&environment)?;
        if args.learn.is_some() {
            prepend_preload(&mut environment, library);
            environment.push(entry(variables::LEARN, "1"));
        } else if let Some(policy) = &policy {
            hand_over_to_library(&mut environment, policy, library, &variables);
        }
    }
    if args.preload && asked.as_ref().is_some_and(landlock::Asked::restricts_files) {
        // The library's domain for tracing must then grant reparenting.
        environment.push(entry(variables::FS_DOMAIN, "1"));
    }

    let display = name.to_string_lossy().into_owned();
    let c_path = CString::new(path.into_os_string().into_vec()).map_err(|_| nul_in(&display))?;
    let argv = std::iter::once(name)
        .chain(arguments)
        .map(|arg| CString::new(arg.as_bytes()).map_err(|_| nul_in(&display)))
        .collect::<Result<Vec<_>, _>>()?;
    let envp = environment
        .into_iter()
        .map(|entry| CString::new(entry.into_vec()).map_err(|_| nul_in("the environment")))
        .collect::<Result<Vec<_>, _>>()?;
    let launch = Launch::new(display, c_path, argv, envp);
    if let Some(file) = args.learn {
        let (preload, format) = (args.preload, args.format);
        return Ok(Plan::Learn(Box::new(move || learn::learn(&file, preload, format, rules.as_ref(), launch))));
    }
    if args.inspects() {
        // PROGRAM was checked too: report without running it. With a new
        // root (or a fresh /proc) the rules are shown as the host's paths
        // resolve, since the sandbox is not set up for a report.
        let shown = match (&rules, &asked) {
            (None, Some(asked)) => Some(asked.plan(None)?),
            _ => None,
        };
        return inspection(&args, policy.as_ref(), rules.as_ref().or(shown.as_ref())).map(Plan::Report);
    }
    // Confined otherwise but given no policy, the program must still not
    // type into the terminal it shares with the caller; and seccomp closes
    // what the network rules leave open. A guard of its own, installed
    // before the policy, or the policy where there is none.
    let network = landlock::seccomp_entries(&args.landlock, &variables)?;
    let (policy, guard) = match policy {
        None if asked.is_some() || sandbox.confines() || !network.is_empty() => (Some(Policy::guard(&network)), None),
        policy => (policy, (!network.is_empty()).then(|| compile(&Policy::guard(&network))).transpose()?),
    };
    let exec = seccomp_step(policy, &args, &variables, &sandbox)?;
    let exec: Exec = match guard {
        None => exec,
        Some(guard) => Box::new(move |launch: Launch| match install(&guard, Threads::Calling) {
            Ok(()) => exec(launch),
            Err(error) => error.into(),
        }),
    };
    let exec = match asked {
        None => exec,
        Some(asked) => landlock_step(asked, rules, variables.verbose(), exec),
    };
    Ok(Plan::Run(Box::new(move || sandbox.enter(launch, exec))))
}

/// What sandboxify does last before its exec: install and exec.
type Exec = Box<dyn FnOnce(Launch) -> Failure>;

/// `exec`, preceded by the Landlock rules: `rules` as planned, or, with a
/// new root, planned there now.
fn landlock_step(asked: landlock::Asked, rules: Option<sandbox_landlock::Plan>, verbose: bool, exec: Exec) -> Exec {
    Box::new(move |launch: Launch| {
        let rules = match rules.map_or_else(|| asked.plan(Some(launch.path())), Ok) {
            Ok(rules) => rules,
            Err(failure) => return failure,
        };
        match landlock::enforce(&rules, verbose) {
            Ok(()) => exec(launch),
            Err(failure) => failure,
        }
    })
}

/// What installs the seccomp filter (if any) and execs PROGRAM.
fn seccomp_step(
    policy: Option<Policy>,
    args: &Args,
    variables: &Variables,
    sandbox: &Sandbox,
) -> Result<Exec, Failure> {
    let Some(policy) = policy else {
        return Ok(Box::new(|launch| launch.exec()));
    };
    // execve's arguments are all pointers, which no condition may test, so
    // its unconditional action is what the filter will give sandboxify's exec.
    let execve = Syscall::by_name("execve").expect("execve is in the table");
    let exec_allowed = matches!(policy.action_for(execve), Action::Allow | Action::Log);
    let gate = sandbox_launcher::gate::address();
    // With --preload, the guard: the start-up calls allowed until the library applies the policy.
    let mut rules = if args.preload { start_up::guard_rules(&policy) } else { Vec::new() };
    if !exec_allowed {
        rules.push(sandbox_launcher::gate::rule());
    }
    // --preload's guard names its kills through the library in PROGRAM, as
    // the library does unless SANDBOX_REPORT_KILLS=0: the library installs
    // its handler as it starts (see sandbox_policy::violation), and a named
    // kill is a trap, not the kernel's.
    let named_guard = if args.preload && variables.report_kills()? {
        violation::reporting_program_with(&policy, false, &rules)?
    } else {
        None
    };
    let names_kills = named_guard.is_some();
    let program = match named_guard {
        Some(program) => program,
        None => compile_with(&policy, &rules)?,
    };
    let reported = Reported { counted: variables.report_counts()?, kills: variables.report_kills_asked()? };
    // Who names what: with --preload, the library in PROGRAM (its kills,
    // and what its reporter names); otherwise sandboxify's reporter.
    let reporting = report::needs_reporter(&program, reported);
    let written = match args.preload {
        true => names_kills || report::needs_reporter(&program, Reported { kills: false, ..reported }),
        false => reporting,
    };
    // --preload's guard leaves the errno answers SANDBOX_REPORT_COUNTS=errno
    // asks for to the library's filter, which sends them to its reporter:
    // until it is in, they fail with ENOSYS, uncounted.
    let program = match args.preload && reported.counted.errno {
        true => report::to_listener(&program),
        false => program,
    };
    if variables.verbose() {
        let (role, start_up) = match args.preload {
            true => ("guard until libsandbox.so applies the policy: ", " with the start-up calls allowed"),
            false => ("", ""),
        };
        let how = if exec_allowed {
            String::new()
        } else {
            format!("; its own exec let through once by the exec gate at {gate:#x}")
        };
        eprintln!(
            "sandboxify: {role}{policy}{start_up} ({} BPF instructions, installed before exec{how})",
            program.insns().len()
        );
    }
    if variables.report_json.is_some() && !written {
        // Without a reporter, the kernel kills, fails and traps calls unseen.
        return Err(Failure::Environment(format!(
            "{}: nothing under this policy would be written: sandboxify names the calls a `log` policy lets \
             through, the trap and errno calls SANDBOX_REPORT_COUNTS asks for, and kills with \
             SANDBOX_REPORT_KILLS=1 (with --preload, unless SANDBOX_REPORT_KILLS=0)",
            variables::REPORT_JSON
        )));
    }
    if !args.preload && reporting {
        // A reporter traces the calls it names, and sandboxify's own exec
        // from the gate, which it does not report.
        sandbox.allows_reporter()?;
        // Opened now, in sandboxify's own root and before any Landlock rule.
        let out = match variables.report.as_deref() {
            Some(path) => report::Output::file(path).map_err(|error| {
                Failure::System(format!("cannot open the report {path} ({}): {error}", variables::REPORT))
            })?,
            None => report::Output::stderr()
                .map_err(|error| Failure::System(format!("cannot write the report to stderr: {error}")))?,
        };
        let json = match variables.report_json.as_deref() {
            Some(path) => Some(report::Output::file(path).map_err(|error| {
                Failure::System(format!("cannot open the report {path} ({}): {error}", variables::REPORT_JSON))
            })?),
            None => None,
        };
        let filters = vec![Answered { source: "", policy: policy.clone(), program: program.clone() }];
        let program = report::with_stops_for_reporter(&program, reported.counted.errno);
        return Ok(Box::new(move |launch| {
            // SAFETY: getpid has no preconditions.
            let gate = Gate { pid: unsafe { libc::getpid() } as u32, instruction_pointer: gate };
            // Any Landlock rules were enforced already.
            let reporter = Reporter {
                prefix: "sandboxify: ",
                out,
                json,
                filters,
                gate: Some(gate),
                reported,
                file_rules_follow: false,
            };
            match reporter.start() {
                Ok(answering) => launch.exec_reported(&program, answering),
                Err(error) => Failure::System(error.to_string()),
            }
        }));
    }
    Ok(if exec_allowed {
        Box::new(move |launch| launch.exec_filtered(&program))
    } else {
        Box::new(move |launch| launch.exec_gated(&program))
    })
}

/// Adds what libsandbox.so needs to apply `policy` in PROGRAM.
fn hand_over_to_library(
    environment: &mut Vec<OsString>,
    policy: &Policy,
    library: &std::path::Path,
    variables: &Variables,
) {
    prepend_preload(environment, library);
    environment.extend(policy.variables().into_iter().map(|(key, value)| entry(key, value)));
    if variables.verbose() {
        environment.push(entry(variables::VERBOSE, "1"));
    }
    if let Some(report) = &variables.report {
        environment.push(entry(variables::REPORT, report));
    }
    if let Some(report_counts) = &variables.report_counts {
        environment.push(entry(variables::REPORT_COUNTS, report_counts));
    }
    if let Some(report_kills) = &variables.report_kills {
        environment.push(entry(variables::REPORT_KILLS, report_kills));
    }
}

/// Puts `library` first in LD_PRELOAD.
fn prepend_preload(environment: &mut Vec<OsString>, library: &std::path::Path) {
    let mut preload = library.as_os_str().to_owned();
    if let Some(index) = environment.iter().position(|entry| split_entry(entry).0 == b"LD_PRELOAD") {
        let existing = environment.remove(index);
        preload.push(":");
        preload.push(OsStr::from_bytes(split_entry(&existing).1));
    }
    environment.push(entry("LD_PRELOAD", preload));
}

/// `NAME=VALUE`, for PROGRAM's environment.
fn entry(name: &str, value: impl AsRef<OsStr>) -> OsString {
    let mut entry = OsString::from(name);
    entry.push("=");
    entry.push(value);
    entry
}

/// An entry's name and value (see [`variables::split_entry`]).
pub(crate) fn split_entry(entry: &OsStr) -> (&[u8], &[u8]) {
    variables::split_entry(entry.as_bytes())
}

/// The value of the variable `name` in `environment`, if set.
fn value_of<'a>(environment: &'a [OsString], name: &str) -> Option<&'a OsStr> {
    let (_, value) = environment.iter().map(|entry| split_entry(entry)).find(|(key, _)| *key == name.as_bytes())?;
    Some(OsStr::from_bytes(value))
}

fn nul_in(what: &str) -> Failure {
    Failure::Usage(format!("{what} contains a NUL byte"))
}

/// Splits the environment into the sandbox's variables and the rest, which
/// PROGRAM gets as they are, in their order: entries without `=` too,
/// which `std::env::vars_os` would drop. Refuses what the library refuses
/// (see [`Variables::add`]), an entry without `=` named as ours included.
fn read_environment() -> Result<(Variables, Vec<OsString>), Failure> {
    let mut variables = Variables::default();
    let mut passed_on = Vec::new();
    for entry in raw_environment() {
        let (name, value) = split_entry(&entry);
        match variables.add(name, value).map_err(|error| Failure::Environment(error.to_string()))? {
            Some(_) => {}
            None => passed_on.push(entry),
        }
    }
    Ok((variables, passed_on))
}

/// The entries of this process's environment, exactly as it got them.
fn raw_environment() -> Vec<OsString> {
    let mut entries = Vec::new();
    // SAFETY: `environ` is the NULL-terminated array of NUL-terminated
    // entries libc set up before main; nothing in sandboxify changes its
    // environment (no setenv), and no other thread runs yet.
    unsafe {
        let mut at = libc::environ;
        while !at.is_null() && !(*at).is_null() {
            entries.push(OsString::from_vec(std::ffi::CStr::from_ptr(*at).to_bytes().to_vec()));
            at = at.add(1);
        }
    }
    entries
}
