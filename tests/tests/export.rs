//! `sandboxify --export`: a policy's filter written out for another tool.
//! The compiled filter (`bpf`) confines a program under bubblewrap
//! (`bwrap --seccomp FD`) exactly as sandboxify does: same status, signal
//! and output, as root and as nobody (bwrap then builds a user namespace).

use std::path::Path;

use sandbox_tests::{Outcome, Run, USERS, User, compile, fresh_dir, sandboxify};

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
    // thread and the i386 ABI.
    let allow = "read:write:exit_group:brk:mmap:munmap:mprotect:openat:close:newfstatat:pread64:arch_prctl:\
                 set_tid_address:set_robust_list:rseq:prlimit64:getrandom:access:execve:uname";
    let cases: [(&[&str], &Path, &str); 6] = [
        (&["--deny", "uname"], &violate, "plain"),
        (&["--deny", "uname"], &violate, "thread"),
        (&["--deny", "uname"], &violate, "int80"),
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
}
