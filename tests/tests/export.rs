//! `sandboxify --export`: a policy's filter written out for another tool.
//! The compiled filter (`bpf`) confines a program under bubblewrap
//! (`bwrap --seccomp FD`) exactly as sandboxify does: same status, signal
//! and output, as root and as nobody (bwrap then builds a user namespace).
//! An OCI profile (`oci`) exported from a learned list runs the program
//! under runc, which refuses what the list does not hold as sandboxify
//! does (as root: runc needs it here).

use std::path::Path;

use sandbox_tests::{Outcome, Run, USERS, User, compile, fresh_dir, is_root, runc_run, sandboxify};

/// `sandboxify args... > file` through a shell, which opens `file`.
fn export_to(file: &Path, args: &[&str]) -> Outcome {
    let quoted: Vec<String> = args.iter().map(|arg| format!("'{arg}'")).collect();
    let command = format!("exec {} {} > {}", sandboxify().display(), quoted.join(" "), file.display());
    Run::new("/bin/sh", &["-c", &command]).run()
}

/// `program how` under bwrap with `filter` on descriptor 3.
fn under_bwrap(filter: &Path, program: &Path, how: &str, user: User) -> Outcome {
    let command =
        format!("exec bwrap --bind / / --dev /dev --seccomp 3 {} {how} 3< {}", program.display(), filter.display());
    Run::new("/bin/sh", &["-c", &command]).user(user).run()
}

#[test]
fn an_exported_filter_confines_under_bubblewrap_as_sandboxify_does() {
    let violate = compile("violate", &["-pthread"]);
    let uname = compile("uname", &[]);
    let dir = fresh_dir("export-bpf");
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    // A kill, an errno, an argument condition, an allow list; a second
    // thread and the i386 ABI, with its rules and refused.
    let allow = "read:write:exit_group:brk:mmap:munmap:mprotect:openat:close:newfstatat:pread64:arch_prctl:\
                 set_tid_address:set_robust_list:rseq:prlimit64:getrandom:access:execve:uname";
    let cases: [(&[&str], &Path, &str); 7] = [
        (&["--deny", "uname"], &violate, "plain"),
        (&["--deny", "uname"], &violate, "thread"),
        (&["--deny", "uname"], &violate, "int80"),
        (&["--refuse-i386", "--deny", "ptrace"], &violate, "int80"),
        (&["--deny", "uname=EACCES"], &uname, ""),
        (&["--deny", "uname(arg0 != 0)=ENOSYS"], &uname, ""),
        (&["--allow", allow], &uname, ""),
    ];
    for (index, (policy, program, how)) in cases.iter().enumerate() {
        let filter = dir.join(format!("{index}.bpf"));
        let mut args = policy.to_vec();
        args.extend(["--export", "bpf"]);
        let exported = export_to(&filter, &args);
        assert_eq!((exported.code(), exported.stderr.as_str()), (Some(0), ""), "{policy:?}: {exported:#?}");
        assert_eq!(std::fs::metadata(&filter).unwrap().len() % 8, 0);
        for user in USERS {
            let mut args = policy.to_vec();
            args.push(program.to_str().unwrap());
            args.extend((!how.is_empty()).then_some(*how));
            let ours = Run::new(sandboxify(), &args).user(user).run();
            // Each policy changes what the program does (but the allow list,
            // which lets it run): the comparison below is not of two no-ops.
            let plain_args: Vec<&str> = [*how].into_iter().filter(|how| !how.is_empty()).collect();
            let plain = Run::new(program, &plain_args).user(user).run();
            assert_eq!(
                policy[0] == "--allow",
                (plain.code(), &plain.stdout) == (ours.code(), &ours.stdout),
                "{policy:?} {how}: {ours:#?}"
            );
            let theirs = under_bwrap(&filter, program, how, user);
            // bwrap waits for PROGRAM, its child, and exits 128 + its signal, as a shell says it.
            let status = |outcome: &Outcome| outcome.code().or(outcome.signal().map(|signal| 128 + signal));
            assert_eq!(
                (status(&theirs), &theirs.stdout),
                (status(&ours), &ours.stdout),
                "{policy:?} {how} as {user:?}: bwrap {theirs:#?}, sandboxify {ours:#?}"
            );
        }
    }
}

#[test]
fn export_says_what_it_cannot_do() {
    // No policy: refused.
    let outcome = Run::new(sandboxify(), &["--export", "bpf"]).run();
    outcome.assert_code(125);
    assert!(outcome.stderr.contains("--export: no policy"), "{outcome:#?}");
    // An unknown format.
    let outcome = Run::new(sandboxify(), &["--deny", "uname", "--export", "json"]).run();
    assert_ne!(outcome.code(), Some(0));
    assert!(outcome.stderr.starts_with("sandboxify: invalid value 'json' for '--export <FORMAT>'"), "{outcome:#?}");
    // A policy bwrap cannot start a program under: said, and written anyway.
    let outcome = export_to(Path::new("/dev/null"), &["--deny", "execve", "--export", "bpf"]);
    outcome.assert_success();
    assert!(outcome.stderr.contains("does not allow execve"), "{outcome:#?}");
    // Rules an OCI profile cannot order: refused, naming the call, nothing on stdout.
    let outcome =
        Run::new(sandboxify(), &["--allow", "read:ioctl", "--deny", "ioctl(arg1 > 5)=EPERM", "--export", "oci"]).run();
    outcome.assert_code(125);
    assert!(outcome.stderr.starts_with("sandboxify: --export: cannot write ioctl as an OCI profile: "), "{outcome:#?}");
    assert_eq!((outcome.stdout.as_str(), outcome.stderr.lines().count()), ("", 1), "{outcome:#?}");
    // What the profile cannot say exactly is said once each: i386 left out
    // (ipc's version bits), and a comparison of an int argument.
    let outcome = Run::new(sandboxify(), &["--deny", "shmget:kill(arg1 != 9)=EPERM", "--export", "oci"]).run();
    outcome.assert_success();
    let notes: Vec<&str> = outcome.stderr.lines().collect();
    assert_eq!(notes.len(), 2, "{outcome:#?}");
    assert!(notes.iter().any(|note| note.contains("i386 calls are refused")), "{outcome:#?}");
    assert!(
        notes.iter().any(|note| note.contains("kill(arg1 != 0x9): a profile compares all 64 bits")),
        "{outcome:#?}"
    );
    let profile: serde_json::Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(profile["architectures"], serde_json::json!(["SCMP_ARCH_X86_64"]));
}

#[test]
fn runc_runs_a_program_under_the_profile_exported_from_its_learned_list() {
    if !is_root() {
        eprintln!("skipped: runc needs root here");
        return;
    }
    let probe = compile("oci-probe", &["-static"]);
    let dir = fresh_dir("export-oci");
    let list = dir.join("learned.list");
    Run::new(sandboxify(), &["--learn", list.to_str().unwrap(), probe.to_str().unwrap()]).run().assert_success();
    let learned = std::fs::read_to_string(&list).unwrap();
    let allow = learned.trim().strip_prefix("SECCOMP_SYSCALL_ALLOW=").unwrap().to_owned();
    let exported = Run::new(sandboxify(), &["--allow", &allow, "--export", "oci"]).run();
    assert_eq!(exported.code(), Some(0), "{exported:#?}");
    // The engine's own calls are added, and said.
    assert!(exported.stderr.contains("allowed for the container engine"), "{}", exported.stderr);
    assert!(exported.stderr.lines().all(|line| line.starts_with("sandboxify: --export oci: ")), "{}", exported.stderr);
    // `--learn FILE --format oci` writes the same profile straight away, and
    // will not merge into one.
    let learned_profile = dir.join("learned.json");
    let args = ["--learn", learned_profile.to_str().unwrap(), "--format", "oci", probe.to_str().unwrap()];
    let learning = Run::new(sandboxify(), &args).run();
    learning.assert_success();
    assert!(learning.stderr.contains("sandboxify: --learn: allowed for the container engine"), "{learning:#?}");
    assert_eq!(std::fs::read_to_string(&learned_profile).unwrap(), exported.stdout);
    let again = Run::new(sandboxify(), &args).run();
    again.assert_code(125);
    assert!(again.stderr.contains("does not merge"), "{again:#?}");
    assert_eq!(std::fs::read_to_string(&learned_profile).unwrap(), exported.stdout);
    for (name, args) in [("work", &[][..]), ("extra", &["extra"][..])] {
        let profile = serde_json::from_str(&exported.stdout).unwrap();
        let theirs = runc_run(&dir.join(name), &probe, args, profile, None);
        let mut ours_args = vec!["--allow", &allow, probe.to_str().unwrap()];
        ours_args.extend(args);
        let ours = Run::new(sandboxify(), &ours_args).run();
        assert_eq!(theirs.stdout, ours.stdout, "{name}: runc {theirs:#?}\nours {ours:#?}");
        if name == "work" {
            assert_eq!((theirs.code(), ours.code(), theirs.stdout.as_str()), (Some(0), Some(0), "Linux ok\n"));
        } else {
            // sysinfo is not in the learned list: killed before it prints,
            // by SIGSYS (runc reports a signal's death as 128 + its number).
            assert_eq!(theirs.code(), Some(128 + libc::SIGSYS), "{theirs:#?}");
            ours.assert_killed();
        }
    }
}

/// The lines of `sandboxify args... --export systemd` in a unit that
/// `systemd-analyze verify` reads: its complaints, but those about names
/// newer than its libseccomp (which it ignores, and README says so).
fn systemd_complaints(dir: &Path, name: &str, lines: &str) -> Vec<String> {
    let unit = dir.join(format!("{name}.service"));
    std::fs::write(&unit, format!("[Service]\nExecStart=/bin/true\n{lines}")).unwrap();
    let verified = Run::new("systemd-analyze", &["verify", unit.to_str().unwrap()]).run();
    verified
        .stderr
        .lines()
        .filter(|line| {
            let unknown = line.split_once("Failed to parse system call, ignoring: ").map(|(_, name)| name);
            unknown.is_none_or(|name| libseccomp::ScmpSyscall::from_name(name).is_ok())
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn systemd_reads_the_exported_lines_and_stderr_says_what_they_cannot() {
    let dir = fresh_dir("export-systemd");
    // A deny list: each call with its errno, kills bare; the arguments it
    // tests (ioctl's terminal injection) said.
    let deny =
        Run::new(sandboxify(), &["--deny", "uname=EACCES:ptrace:kill(arg1 == 9)=EPERM", "--export", "systemd"]).run();
    deny.assert_success();
    let filter = deny.stdout.lines().find(|line| line.starts_with("SystemCallFilter=~")).unwrap();
    let words: Vec<&str> = filter.trim_start_matches("SystemCallFilter=~").split(' ').collect();
    assert!(
        words.contains(&"uname:EACCES") && words.contains(&"ptrace") && !words.iter().any(|w| w.starts_with("kill")),
        "{deny:#?}"
    );
    assert!(deny.stdout.contains("SystemCallArchitectures=native x86\n"), "{deny:#?}");
    assert!(
        deny.stderr.contains(
            "allowed whatever their arguments (systemd cannot test arguments; the policy refuses some): ioctl kill"
        ),
        "{deny:#?}"
    );
    assert_eq!(systemd_complaints(&dir, "deny", &deny.stdout), Vec::<String>::new());
    // An allow list: systemd's @default and libc's fallbacks said.
    let allow = Run::new(
        sandboxify(),
        &["--allow", "read:write:exit_group:clone:execve:ioctl", "--default-action", "EPERM", "--export", "systemd"],
    )
    .run();
    allow.assert_success();
    assert!(allow.stdout.starts_with("SystemCallFilter=clone clone3 "), "{allow:#?}");
    assert!(allow.stdout.contains("SystemCallErrorNumber=EPERM\n"), "{allow:#?}");
    for said in
        ["systemd always allows its @default set", "fall back to an allowed older call", "io_uring_setup (ENOSYS)"]
    {
        assert!(allow.stderr.contains(said), "{said}: {allow:#?}");
    }
    assert_eq!(systemd_complaints(&dir, "allow", &allow.stdout), Vec::<String>::new());
    // What systemd has no word for: refused in one line.
    let log = Run::new(sandboxify(), &["--allow", "read", "--default-action", "log", "--export", "systemd"]).run();
    log.assert_code(125);
    assert!(log.stderr.starts_with("sandboxify: --export: cannot write the default as systemd unit lines"), "{log:#?}");
    assert_eq!((log.stdout.as_str(), log.stderr.lines().count()), ("", 1));
}
