//! Kills named: a program the library's policy kills says which call it
//! made, with its arguments, the entry or default that decided and what to
//! change, on one stderr line, and still dies by SIGSYS, whatever it does to
//! keep the signal from killing it. As root and as nobody.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use std::path::{Path, PathBuf};

use serde_json::Value;

use sandbox_tests::{Outcome, Run, USERS, User, artifact, compile, fresh_dir, library, sandboxify};

fn violate(how: &str, env: &[(&str, &str)], user: User) -> Outcome {
    let mut run = Run::new(compile("violate", &["-pthread"]), &[how]).preload().user(user);
    for (key, value) in env {
        run = run.env(key, value);
    }
    run.run()
}

/// A deny list under which no confined process can trace another: a
/// tracer could swallow the trap's signal, so only such policies report.
const DENY: &str = "uname:ptrace";

const DENY_LINE: &str = "libsandbox: the policy killed this process at uname(";
const DENY_REASON: &str = ") [x86_64 63]: SECCOMP_SYSCALL_DENY: uname; to allow uname, remove that entry\n";

/// One line naming uname under a deny list, and death by SIGSYS.
#[track_caller]
fn assert_reported_kill(outcome: &Outcome, reason: &str) {
    outcome.assert_killed();
    assert!(outcome.stderr.starts_with(DENY_LINE), "{outcome:#?}");
    assert!(outcome.stderr.ends_with(reason), "{outcome:#?}");
    assert_eq!(outcome.stderr.lines().count(), 1, "{outcome:#?}");
    assert!(!outcome.stdout.contains("survived"), "{outcome:#?}");
}

#[test]
fn a_deny_list_kill_names_the_call_the_entry_and_the_change() {
    for user in USERS {
        for how in ["plain", "thread", "ignore"] {
            let outcome = violate(how, &[("SECCOMP_SYSCALL_DENY", DENY)], user);
            assert_reported_kill(&outcome, DENY_REASON);
        }
    }
}

#[test]
fn a_policy_that_lets_ptrace_run_keeps_the_kernels_kill() {
    // A tracer could swallow the trap's SIGSYS and keep the process alive
    // (the escape suite's `ptrace_cannot_get_a_call_past_the_filter`).
    for user in USERS {
        let unused = fresh_dir(&format!("violations-unreported-{user:?}")).join("kills.json");
        fs::set_permissions(unused.parent().unwrap(), fs::Permissions::from_mode(0o777)).unwrap();
        let env = [("SECCOMP_SYSCALL_DENY", "uname"), ("SANDBOX_REPORT_JSON", unused.to_str().unwrap())];
        let outcome = violate("plain", &env, user);
        outcome.assert_killed();
        assert_eq!(outcome.stderr, "", "{outcome:#?}");
        // Nothing to write there: the file is not even opened.
        assert!(!unused.exists(), "{outcome:#?}");
    }
}

#[test]
fn with_sigsys_blocked_the_kill_is_the_kernels_plain_one() {
    // The kernel forces a trapped signal that is blocked: it restores the
    // default action, and the handler never runs.
    for user in USERS {
        let outcome = violate("block", &[("SECCOMP_SYSCALL_DENY", DENY)], user);
        outcome.assert_killed();
        assert_eq!((outcome.stdout.as_str(), outcome.stderr.as_str()), ("", ""), "{outcome:#?}");
    }
}

#[test]
fn an_allow_list_kill_says_what_to_add() {
    let list = "read:write:exit_group:brk:mmap:munmap:mprotect:rt_sigaction:rt_sigprocmask:close:\
                newfstatat:fstat:openat:getrandom:set_robust_list:rseq:prlimit64";
    for user in USERS {
        let outcome = violate("plain", &[("SECCOMP_SYSCALL_ALLOW", list)], user);
        outcome.assert_killed();
        assert!(
            outcome
                .stderr
                .ends_with(") [x86_64 63]: no allow entry names it; to allow it, add uname to the allow list\n"),
            "{outcome:#?}"
        );
    }
}

#[test]
fn a_program_cannot_keep_the_signal_from_killing_it() {
    // Its own SIGSYS handler: sigaction says it worked, and nothing changed.
    for user in USERS {
        let outcome = violate("handler", &[("SECCOMP_SYSCALL_DENY", DENY)], user);
        assert_eq!(outcome.stdout, "sigaction: 0\n", "{outcome:#?}");
        assert_reported_kill(&outcome, DENY_REASON);
    }
}

#[test]
fn a_child_after_fork_is_named_and_killed_alone() {
    for user in USERS {
        let outcome = violate("fork", &[("SECCOMP_SYSCALL_DENY", DENY)], user);
        outcome.assert_success();
        assert_eq!(outcome.stdout, format!("child: signal {}\n", libc::SIGSYS), "{outcome:#?}");
        assert!(outcome.stderr.starts_with(DENY_LINE) && outcome.stderr.ends_with(DENY_REASON), "{outcome:#?}");
    }
}

#[test]
fn an_i386_call_is_named_with_its_abi() {
    for user in USERS {
        let outcome = violate("int80", &[("SECCOMP_SYSCALL_DENY", DENY)], user);
        outcome.assert_killed();
        assert!(outcome.stderr.contains("at uname(0x0) [i386 122]: SECCOMP_SYSCALL_DENY: uname"), "{outcome:#?}");
    }
}

/// A copy of violate.c's program with the library as a dependency and a
/// deny list recorded in it.
fn attached_violate(name: &str) -> PathBuf {
    let dir = fresh_dir(&format!("violations-{name}"));
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    let program = dir.join("violate");
    fs::copy(compile("violate", &["-pthread"]), &program).unwrap();
    let library = library();
    let args = ["--add-needed", library.to_str().unwrap(), "--policy", "deny uname:ptrace", program.to_str().unwrap()];
    Run::new(artifact("patchelf-helper"), &args).run().assert_success();
    program
}

#[test]
fn an_x32_call_is_named_by_its_number() {
    for user in USERS {
        let outcome = violate("x32", &[("SECCOMP_SYSCALL_DENY", DENY)], user);
        outcome.assert_killed();
        // Six arguments (the number is in no table), the first one set.
        let line = &outcome.stderr;
        assert!(
            line.starts_with("libsandbox: the policy killed this process at system call 1073741887(0x0, "),
            "{line}"
        );
        assert!(line.ends_with(") [x86_64 1073741887]: an ABI or number no policy allows\n"), "{line}");
        assert_eq!((line.matches(", ").count(), line.lines().count()), (5, 1), "{line}");
    }
}

#[test]
fn a_patched_binary_names_its_kills_with_no_environment() {
    let program = attached_violate("patched");
    for user in USERS {
        let outcome = Run::new(&program, &["plain"]).user(user).run();
        outcome.assert_killed();
        assert!(outcome.stderr.contains(") [x86_64 63]: attached policy: attached policy:1: uname"), "{outcome:#?}");
    }
}

/// The reason of a kill of [`DENY`] in an image exec'd under it, which
/// knows the filter but not its policy.
const INHERITED_DENY_REASON: &str =
    ") [x86_64 63]: inherited policy: a deny entry names uname; to allow uname, remove that entry\n";

#[test]
fn after_exec_the_kill_is_named_from_the_inherited_filter() {
    let allow = "read:write:exit_group:brk:mmap:munmap:mprotect:rt_sigaction:rt_sigprocmask:close:\
                 newfstatat:fstat:openat:getrandom:set_robust_list:rseq:prlimit64:execve:readlink:\
                 access:pread64:arch_prctl:set_tid_address";
    let deny = [("SECCOMP_SYSCALL_DENY", DENY)];
    for user in USERS {
        for how in ["exec:plain", "exec:thread", "exec:ignore"] {
            assert_reported_kill(&violate(how, &deny, user), INHERITED_DENY_REASON);
        }
        // The new image's own handler changes nothing either.
        let outcome = violate("exec:handler", &deny, user);
        assert_eq!(outcome.stdout, "sigaction: 0\n", "{outcome:#?}");
        assert_reported_kill(&outcome, INHERITED_DENY_REASON);
        let outcome = violate("exec:fork", &deny, user);
        outcome.assert_success();
        assert_eq!(outcome.stdout, format!("child: signal {}\n", libc::SIGSYS), "{outcome:#?}");
        assert!(outcome.stderr.starts_with(DENY_LINE) && outcome.stderr.ends_with(INHERITED_DENY_REASON));
        let outcome = violate("exec:int80", &deny, user);
        outcome.assert_killed();
        assert!(
            outcome.stderr.ends_with(
                "at uname(0x0) [i386 122]: inherited policy: a deny entry names uname; to allow uname, remove that entry\n"
            ),
            "{outcome:#?}"
        );
        let outcome = violate("exec:plain", &[("SECCOMP_SYSCALL_ALLOW", allow)], user);
        outcome.assert_killed();
        assert!(
            outcome.stderr.ends_with(
                ") [x86_64 63]: inherited policy: no allow entry names it; to allow it, add uname to the allow list\n"
            ),
            "{outcome:#?}"
        );
        // A shell's commands: exec'd, and forked then exec'd.
        let shell = |script: &str| {
            Run::new("/bin/sh", &["-c", script]).preload().env("SECCOMP_SYSCALL_DENY", DENY).user(user).run()
        };
        let outcome = shell("exec uname");
        assert_reported_kill(&outcome, INHERITED_DENY_REASON);
        let outcome = shell("uname; echo status $?");
        outcome.assert_success();
        assert_eq!(outcome.stdout, "status 159\n", "{outcome:#?}");
        // The named line, then what the shell says of its killed child.
        let (named, shell_said) = outcome.stderr.split_at(outcome.stderr.find('\n').map_or(0, |end| end + 1));
        assert!(named.starts_with(DENY_LINE) && named.ends_with(INHERITED_DENY_REASON), "{outcome:#?}");
        assert_eq!(shell_said, "Bad system call\n", "{outcome:#?}");
    }
}

#[test]
fn real_programs_children_are_named_when_killed() {
    // make's recipe, python's subprocess and a git alias run uname, which
    // the deny list inherited across their exec kills; the parent lives on
    // and says so its own way (git ends as its child did: 128 + SIGSYS).
    let dir = fresh_dir("violations-real-programs");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    let makefile = dir.join("Makefile");
    fs::write(&makefile, "all:\n\tuname\n").unwrap();
    fs::set_permissions(&makefile, fs::Permissions::from_mode(0o644)).unwrap();
    let makefile = makefile.to_str().unwrap();
    let python = "import subprocess; print(subprocess.run(['uname']).returncode)";
    for user in USERS {
        let run = |program: &str, args: &[&str]| {
            Run::new(program, args)
                .preload()
                .env("SECCOMP_SYSCALL_DENY", DENY)
                .env("HOME", "/nonexistent")
                .user(user)
                .run()
        };
        for (outcome, code, stdout, after) in [
            (run("/usr/bin/make", &["-s", "-f", makefile]), 2, "", "make: *** ["),
            (run("/usr/bin/python3", &["-c", python]), 0, "-31\n", ""),
            (run("/usr/bin/git", &["-c", "alias.u=!uname", "u"]), 159, "", "error: uname died of signal 31"),
        ] {
            outcome.assert_code(code);
            assert_eq!(outcome.stdout, stdout, "{outcome:#?}");
            let (named, rest) = outcome.stderr.split_at(outcome.stderr.find('\n').map_or(0, |end| end + 1));
            assert!(named.starts_with(DENY_LINE) && named.ends_with(INHERITED_DENY_REASON), "{outcome:#?}");
            assert!(rest.starts_with(after), "{outcome:#?}");
        }
    }
}

#[test]
fn after_exec_a_kill_is_a_json_line_too() {
    let program = compile("violate", &["-pthread"]);
    for user in USERS {
        let file = report_file(&format!("json-exec-{user:?}"));
        let json = file.to_str().unwrap();
        let env = [("SECCOMP_SYSCALL_DENY", DENY), ("SANDBOX_REPORT_JSON", json)];
        violate("exec:thread", &env, user).assert_killed();
        let shell = Run::new("/bin/sh", &["-c", "uname; exit 3"]).preload();
        let shell = env.iter().fold(shell, |run, (key, value)| run.env(key, value)).user(user).run();
        shell.assert_code(3);
        let lines = json_lines(&file);
        assert_eq!(lines.len(), 2, "{lines:#?}");
        for line in &lines {
            assert_eq!((line["call"].as_str(), line["action"].as_str()), (Some("uname"), Some("kill")), "{line}");
            assert_eq!(line["rule"].as_str(), Some("inherited policy: a deny entry names uname"), "{line}");
            assert_eq!(line["fix"].as_str(), Some("remove"), "{line}");
            assert!(line["pid"].is_u64() && line["tid"].is_u64(), "{line}");
        }
        assert_eq!(lines[0]["executable"].as_str(), program.to_str(), "{:#?}", lines[0]);
        assert_ne!(lines[0]["tid"], lines[0]["pid"], "the second thread's call");
        assert_eq!(lines[1]["executable"].as_str(), Some("/usr/bin/uname"), "{:#?}", lines[1]);
        // The summary names the call whose deny entry to remove; a kill
        // before the exec names the entry itself.
        let summary = |expected_removals: &[&str]| {
            let summary = Run::new(sandboxify(), &["--summary", json]).run();
            summary.assert_success();
            let removals: Vec<&str> = summary.stdout.lines().filter(|line| line.starts_with("remove ")).collect();
            assert_eq!(removals, expected_removals, "{summary:#?}");
        };
        let after_exec = "remove the deny entry that names uname (killed after an exec, where the entry is not \
                          known: it may be a group holding uname)";
        summary(&[after_exec]);
        violate("plain", &env, user).assert_killed();
        summary(&["remove the entry: SECCOMP_SYSCALL_DENY: uname", after_exec]);
    }
}

#[test]
fn the_json_file_stays_open_across_exec_only_where_it_is_used() {
    let allow = "read:write:exit_group:brk:mmap:munmap:mprotect:rt_sigaction:rt_sigprocmask:close:\
                 newfstatat:fstat:openat:getrandom:set_robust_list:rseq:prlimit64:execve:readlink:\
                 access:pread64:arch_prctl:set_tid_address";
    for user in USERS {
        let file = report_file(&format!("json-fd-{user:?}"));
        let json = ("SANDBOX_REPORT_JSON", file.to_str().unwrap());
        let fd = |env: &[(&str, &str)]| {
            let outcome = violate("exec:fd512", env, user);
            outcome.assert_success();
            outcome.stdout
        };
        assert_eq!(fd(&[("SECCOMP_SYSCALL_DENY", DENY), json]), "fd 512: open\n");
        // No JSON file; kills the kernel's (the file is not even opened);
        // an allow list under which an exec'd image could not check the
        // file (no fcntl): closed on exec.
        assert_eq!(fd(&[("SECCOMP_SYSCALL_DENY", DENY)]), "fd 512: closed\n");
        assert_eq!(fd(&[("SECCOMP_SYSCALL_DENY", "uname"), json]), "fd 512: closed\n");
        assert_eq!(fd(&[("SECCOMP_SYSCALL_ALLOW", allow), json]), "fd 512: closed\n");
    }
}

#[test]
fn a_patched_binary_s_kills_are_named_after_exec() {
    // It execs a program with no policy of its own, which the library
    // (preloaded) starts in.
    let program = attached_violate("patched-exec");
    let plain = format!("execv:{},plain", compile("violate", &["-pthread"]).display());
    for user in USERS {
        let outcome = Run::new(&program, &[&plain]).preload().user(user).run();
        assert_reported_kill(
            &outcome,
            ") [x86_64 63]: inherited attached policy: a deny entry names uname; to allow uname, remove that entry\n",
        );
    }
}

#[test]
fn a_program_using_the_door_on_purpose_lives_on_but_the_call_never_runs() {
    // The documented limit of the library's named kills: the key is public,
    // and a program that passes it can put its own handler in the way, as
    // one that rewrites the library's handler could. The kill becomes its
    // signal; the call still does not run.
    for user in USERS {
        let outcome = violate("door", &[("SECCOMP_SYSCALL_DENY", DENY)], user);
        outcome.assert_success();
        assert_eq!(outcome.stdout, "door: 0\nuname did not run\n", "{outcome:#?}");
        assert_eq!(outcome.stderr, "", "{outcome:#?}");
    }
}

#[test]
fn sigsys_keeps_its_default_where_no_inherited_kill_is_named() {
    for user in USERS {
        let peek = |how: &str, env: &[(&str, &str)]| {
            let outcome = violate(how, env, user);
            outcome.assert_success();
            assert_eq!(outcome.stderr, "", "{outcome:#?}");
            outcome.stdout
        };
        // No filter; a filter whose kills are the kernel's (it lets ptrace
        // run); kills not named on request.
        assert_eq!(peek("peek", &[]), "SIGSYS: default\n");
        assert_eq!(peek("exec:peek", &[("SECCOMP_SYSCALL_DENY", "uname")]), "SIGSYS: default\n");
        assert_eq!(
            peek("exec:peek", &[("SECCOMP_SYSCALL_DENY", DENY), ("SANDBOX_REPORT_KILLS", "0")]),
            "SIGSYS: default\n"
        );
        // Where they are named, the library's handler, as before the exec.
        assert_eq!(peek("peek", &[("SECCOMP_SYSCALL_DENY", DENY)]), "SIGSYS: handled\n");
        assert_eq!(peek("exec:peek", &[("SECCOMP_SYSCALL_DENY", DENY)]), "SIGSYS: handled\n");
    }
}

/// A report file every user may append to (the library creates a missing
/// one with mode 0600, for the user who first writes to it).
fn report_file(name: &str) -> PathBuf {
    let dir = fresh_dir(&format!("violations-{name}"));
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    let file = dir.join("kills.json");
    fs::write(&file, "").unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o666)).unwrap();
    file
}

/// The report's lines, each parsed (a line that is not one JSON object fails).
fn json_lines(file: &Path) -> Vec<Value> {
    let text = fs::read_to_string(file).unwrap();
    assert!(text.ends_with('\n'), "{text:?}");
    text.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line:?}"))).collect()
}

#[test]
fn a_named_kill_is_a_json_line_on_every_path() {
    let attached = attached_violate("json-patched");
    let path = attached.to_str().unwrap();
    for user in USERS {
        let file = report_file(&format!("json-{user:?}"));
        let json = file.to_str().unwrap();
        let program = compile("violate", &["-pthread"]);
        violate("thread", &[("SECCOMP_SYSCALL_DENY", DENY), ("SANDBOX_REPORT_JSON", json)], user).assert_killed();
        Run::new(&attached, &["plain"]).env("SANDBOX_REPORT_JSON", json).user(user).run().assert_killed();
        let lines = json_lines(&file);
        assert_eq!(lines.len(), 2, "{lines:#?}");
        for (line, executable, rule) in [
            (&lines[0], program.to_str().unwrap(), "SECCOMP_SYSCALL_DENY: uname"),
            (&lines[1], path, "attached policy: attached policy:1: uname"),
        ] {
            assert_eq!(line["call"], "uname");
            assert_eq!((line["nr"].as_u64(), line["abi"].as_str()), (Some(63), Some("x86_64")));
            assert_eq!((line["action"].as_str(), line["fix"].as_str()), (Some("kill"), Some("remove")));
            assert_eq!((line["rule"].as_str(), line["executable"].as_str()), (Some(rule), Some(executable)));
            assert!(line["args"][0].as_str().unwrap().starts_with("0x"), "{line}");
            assert!(line["time"].as_f64().unwrap() > 1.7e9, "{line}");
        }
        // The second thread made the call: its id is not the process's.
        assert_ne!(lines[0]["tid"], lines[0]["pid"], "{:#?}", lines[0]);
        assert_eq!(lines[1]["tid"], lines[1]["pid"], "{:#?}", lines[1]);
    }
}

#[test]
fn a_hundred_processes_share_one_report_whole() {
    let file = report_file("hundred");
    let json = file.to_str().unwrap().to_owned();
    let program = compile("violate", &["-pthread"]);
    let runs: Vec<_> = (0..100)
        .map(|index| {
            let (json, program) = (json.clone(), program.clone());
            std::thread::spawn(move || {
                let user = USERS[index % 2];
                let run = Run::new(&program, &["plain"]).preload().user(user);
                run.env("SECCOMP_SYSCALL_DENY", DENY).env("SANDBOX_REPORT_JSON", &json).run()
            })
        })
        .collect();
    for run in runs {
        run.join().unwrap().assert_killed();
    }
    let lines = json_lines(&file);
    assert_eq!(lines.len(), 100);
    let pids: std::collections::BTreeSet<u64> = lines.iter().map(|line| line["pid"].as_u64().unwrap()).collect();
    assert_eq!(pids.len(), 100, "one line per process");
}

#[test]
fn the_summary_gives_the_list_that_runs_the_program() {
    // Under an allow list that lacks uname, the summary says to add it, and
    // the list with it runs the program as it runs free.
    let list = "read:write:exit_group:brk:mmap:munmap:mprotect:rt_sigaction:rt_sigprocmask:close:\
                newfstatat:fstat:openat:getrandom:set_robust_list:rseq:prlimit64";
    let file = report_file("summary");
    let json = file.to_str().unwrap();
    for user in USERS {
        violate("plain", &[("SECCOMP_SYSCALL_ALLOW", list), ("SANDBOX_REPORT_JSON", json)], user).assert_killed();
    }
    let summary = Run::new(sandboxify(), &["--summary", json]).run();
    summary.assert_success();
    let added = summary.stdout.lines().find_map(|line| line.strip_prefix("add to the allow list: ")).unwrap();
    assert_eq!(added, "uname", "{summary:#?}");
    assert!(
        summary.stdout.starts_with(
            "2 processes killed, 0 calls let through (log):\n  uname [x86_64] ×2: no allow entry names it\n"
        ),
        "{summary:#?}"
    );
    for user in USERS {
        let outcome = violate("plain", &[("SECCOMP_SYSCALL_ALLOW", &format!("{list}:{added}"))], user);
        outcome.assert_success();
        assert_eq!(outcome.stdout, "survived\n");
    }
}

#[test]
fn bad_report_requests_are_refused_in_one_line() {
    let program = compile("violate", &["-pthread"]);
    let program = program.to_str().unwrap();
    // Without SANDBOX_REPORT_KILLS=1, sandboxify's kills are the kernel's
    // (with --preload, the library names them unless SANDBOX_REPORT_KILLS=0):
    // asking for a report that would stay empty is refused.
    for (args, kills) in
        [(&["--deny", DENY, program, "plain"][..], ""), (&["--preload", "--deny", DENY, program, "plain"], "0")]
    {
        let outcome =
            Run::new(sandboxify(), args).env("SANDBOX_REPORT_JSON", "/tmp/x").env("SANDBOX_REPORT_KILLS", kills).run();
        outcome.assert_code(125);
        assert_eq!(
            outcome.stderr,
            "sandboxify: SANDBOX_REPORT_JSON: nothing under this policy would be written: sandboxify names the \
             calls a `log` policy lets through, the trap and errno calls SANDBOX_REPORT_COUNTS asks for, and \
             kills with SANDBOX_REPORT_KILLS=1 (with --preload, unless SANDBOX_REPORT_KILLS=0)\n"
        );
    }
    let file = report_file("preload-json");
    let args = ["--preload", "--deny", DENY, program, "plain"];
    Run::new(sandboxify(), &args).env("SANDBOX_REPORT_JSON", &file).run().assert_killed();
    let lines = json_lines(&file);
    assert_eq!((lines.len(), lines[0]["call"].as_str()), (1, Some("uname")), "{lines:#?}");
    // An unknown count, on both paths.
    let outcome =
        Run::new(sandboxify(), &["--deny", DENY, program, "plain"]).env("SANDBOX_REPORT_COUNTS", "trap:kill").run();
    outcome.assert_code(125);
    assert!(outcome.stderr.starts_with("sandboxify: SANDBOX_REPORT_COUNTS: "), "{outcome:#?}");
    assert!(outcome.stderr.contains("kill") && outcome.stderr.lines().count() == 1, "{outcome:#?}");
    let outcome = violate("plain", &[("SECCOMP_SYSCALL_DENY", DENY), ("SANDBOX_REPORT_COUNTS", "traps")], User::Root);
    outcome.assert_code(125);
    assert!(outcome.stderr.starts_with("libsandbox: SANDBOX_REPORT_COUNTS: "), "{outcome:#?}");
    // A file the library cannot open: 125 before the program runs.
    let outcome = violate(
        "plain",
        &[("SECCOMP_SYSCALL_DENY", DENY), ("SANDBOX_REPORT_JSON", "/nonexistent/kills.json")],
        User::Root,
    );
    outcome.assert_code(125);
    assert_eq!(
        outcome.stderr,
        "libsandbox: cannot open the kill report /nonexistent/kills.json (SANDBOX_REPORT_JSON): ENOENT (No such file or directory)\n"
    );
    // Once a bug (fixed): a FIFO nobody reads kept the program from ever
    // starting. Refused at once (ENXIO); with a reader, the lines go there.
    let fifo = fresh_dir("violations-fifo").join("kills.fifo");
    let c_fifo = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_fifo.as_ptr(), 0o600) }, 0);
    let fifo_path = fifo.to_str().unwrap();
    let outcome = violate("plain", &[("SECCOMP_SYSCALL_DENY", DENY), ("SANDBOX_REPORT_JSON", fifo_path)], User::Root);
    outcome.assert_code(125);
    assert_eq!(
        outcome.stderr,
        format!(
            "libsandbox: cannot open the kill report {fifo_path} (SANDBOX_REPORT_JSON): ENXIO (No such device or address)\n"
        )
    );
    let reader = std::process::Command::new("cat").arg(&fifo).stdout(std::process::Stdio::piped()).spawn().unwrap();
    // The reader opens the FIFO in its own time: retry until it has.
    let mut outcome =
        violate("plain", &[("SECCOMP_SYSCALL_DENY", DENY), ("SANDBOX_REPORT_JSON", fifo_path)], User::Root);
    for _ in 0..100 {
        if outcome.code() != Some(125) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        outcome = violate("plain", &[("SECCOMP_SYSCALL_DENY", DENY), ("SANDBOX_REPORT_JSON", fifo_path)], User::Root);
    }
    outcome.assert_killed();
    let read = reader.wait_with_output().unwrap();
    assert!(String::from_utf8_lossy(&read.stdout).contains("\"call\":\"uname\""), "{read:?}");
    // A line that is not a named kill: refused with its place.
    let file = report_file("bad");
    fs::write(&file, "{\"action\":\"kill\",\"call\":\"uname\",\"rule\":\"x\"}\nnot json\n").unwrap();
    let outcome = Run::new(sandboxify(), &["--summary", file.to_str().unwrap()]).run();
    assert_ne!(outcome.code(), Some(0));
    assert!(
        outcome.stderr.starts_with(&format!("sandboxify: --summary: {}:2: not JSON", file.display())),
        "{outcome:#?}"
    );
}

#[test]
fn permissive_mode_writes_a_json_line_per_call_and_the_summary_list_runs_the_program() {
    let program = compile("uname", &[]);
    let free = Run::new(&program, &[]).run();
    for user in USERS {
        let file = report_file(&format!("log-{user:?}"));
        let json = file.to_str().unwrap();
        let logged = Run::new(&program, &[])
            .preload()
            .env("SECCOMP_SYSCALL_ALLOW", "")
            .env("SECCOMP_DEFAULT_ACTION", "log")
            .env("SANDBOX_REPORT_JSON", json)
            .user(user)
            .run();
        assert_eq!((logged.code(), &logged.stdout), (free.code(), &free.stdout), "{logged:#?}");
        let args = ["--allow", "", "--default-action", "log", program.to_str().unwrap()];
        let launched = Run::new(sandboxify(), &args).env("SANDBOX_REPORT_JSON", json).user(user).run();
        assert_eq!((launched.code(), &launched.stdout), (free.code(), &free.stdout), "{launched:#?}");
        // The reporters are processes of their own: wait till both are done.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let both = |lines: &[Value]| lines.iter().filter(|line| line["call"] == "exit_group").count() == 2;
        while !both(&json_lines(&file)) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let lines = json_lines(&file);
        assert!(both(&lines), "{lines:#?}");
        assert!(lines.iter().all(|line| line["action"] == "log" && line["fix"] == "add"), "{lines:#?}");
        assert!(lines.iter().any(|line| line["call"] == "uname" && line["executable"] == program.to_str().unwrap()));
        let summary = Run::new(sandboxify(), &["--summary", json]).run();
        summary.assert_success();
        let list = summary.stdout.lines().find_map(|line| line.strip_prefix("add to the allow list: ")).unwrap();
        let confined = Run::new(&program, &[]).preload().env("SECCOMP_SYSCALL_ALLOW", list).user(user).run();
        assert_eq!((confined.code(), &confined.stdout), (free.code(), &free.stdout), "{list}: {confined:#?}");
        let confined = Run::new(sandboxify(), &["--allow", list, program.to_str().unwrap()]).user(user).run();
        assert_eq!((confined.code(), &confined.stdout), (free.code(), &free.stdout), "{list}: {confined:#?}");
    }
}

#[test]
fn report_kills_0_keeps_the_kernels_kill_and_the_programs_own_handler() {
    for user in USERS {
        let off = [("SECCOMP_SYSCALL_DENY", DENY), ("SANDBOX_REPORT_KILLS", "0")];
        let outcome = violate("plain", &off, user);
        outcome.assert_killed();
        assert_eq!(outcome.stderr, "", "{outcome:#?}");
        // Its own SIGSYS handler is its own again: the kernel's kill ignores it.
        let outcome = violate("handler", &off, user);
        assert_eq!(outcome.stdout, "sigaction: 0\n", "{outcome:#?}");
        outcome.assert_killed();
        let on = violate("plain", &[("SECCOMP_SYSCALL_DENY", DENY), ("SANDBOX_REPORT_KILLS", "1")], user);
        assert_reported_kill(&on, DENY_REASON);
    }
    let bad = violate("plain", &[("SECCOMP_SYSCALL_DENY", DENY), ("SANDBOX_REPORT_KILLS", "yes")], User::Root);
    bad.assert_code(125);
    assert_eq!(bad.stdout, "");
    assert!(bad.stderr.starts_with("libsandbox: SANDBOX_REPORT_KILLS: "), "{bad:#?}");
    assert!(bad.stderr.contains("expected 0 or 1") && bad.stderr.lines().count() == 1, "{bad:#?}");
    let program = compile("violate", &["-pthread"]);
    let args = ["--preload", "--deny", DENY, program.to_str().unwrap(), "plain"];
    let refused = Run::new(sandboxify(), &args).env("SANDBOX_REPORT_KILLS", "yes").run();
    refused.assert_code(125);
    assert!(refused.stderr.starts_with("sandboxify: SANDBOX_REPORT_KILLS: "), "{refused:#?}");
}

/// sandboxify with `SANDBOX_REPORT_KILLS=1`: a tracer names each kill,
/// from any thread, in a child after fork and after exec, through the i386
/// and x32 ABIs, and the kernel still kills the process by SIGSYS. A
/// program that kills its tracer dies with it (SIGKILL): a reporter that names kills never turns one into a
/// survival.
#[test]
fn sandboxify_names_kills_when_asked() {
    let program = compile("violate", &["-pthread"]);
    let program = program.to_str().unwrap();
    let line = "sandboxify: the policy killed this process at ";
    let reason = ": --deny: uname; to allow uname, remove that entry\n";
    let run =
        |args: &[&str], user: User| Run::new(sandboxify(), args).env("SANDBOX_REPORT_KILLS", "1").user(user).run();
    for user in USERS {
        for how in ["plain", "thread", "int80", "x32"] {
            let outcome = run(&["--deny", "uname", program, how], user);
            outcome.assert_killed();
            assert!(outcome.stderr.starts_with(line) && outcome.stderr.lines().count() == 1, "{how}: {outcome:#?}");
            let expected = match how {
                "int80" => "uname(0x0) [i386 122]: --deny: uname",
                "x32" => "[x86_64 1073741887]: an ABI or number no policy allows",
                _ => "[x86_64 63]: --deny: uname",
            };
            assert!(outcome.stderr.contains(expected), "{how}: {outcome:#?}");
        }
        let outcome = run(&["--deny", "uname", program, "fork"], user);
        outcome.assert_success();
        assert_eq!(outcome.stdout, format!("child: signal {}\n", libc::SIGSYS), "{outcome:#?}");
        assert!(outcome.stderr.starts_with(line) && outcome.stderr.ends_with(reason), "{outcome:#?}");
        let outcome = run(&["--deny", "uname", "/bin/sh", "-c", "exec uname"], user);
        outcome.assert_killed();
        assert!(outcome.stderr.starts_with(line) && outcome.stderr.ends_with(reason), "{outcome:#?}");
        // A program that kills its reporter still dies by SIGSYS at its next
        // forbidden call, the kernel's kill, unnamed; one that stops it dies
        // there too, named once the reporter goes on.
        let outcome = run(&["--deny", "uname", program, "untrace"], user);
        outcome.assert_killed();
        assert_eq!((outcome.stdout.as_str(), outcome.stderr.as_str()), ("tracer killed: 1\n", ""), "{outcome:#?}");
        let outcome = run(&["--deny", "uname", program, "stop"], user);
        outcome.assert_killed();
        assert_eq!(outcome.stdout, "tracer stopped: 1\n", "{outcome:#?}");
        assert!(outcome.stderr.starts_with(line) && outcome.stderr.ends_with(reason), "{outcome:#?}");
        // A child the reporter would not trace (CLONE_UNTRACED) is refused:
        // its kill would have been ENOSYS. Without the reporter, the kernel's kill.
        let outcome = run(&["--deny", "uname", program, "untraced"], user);
        assert_eq!((outcome.code(), outcome.stdout.as_str()), (Some(0), "clone: EPERM\n"), "{outcome:#?}");
        let outcome = Run::new(sandboxify(), &["--deny", "uname", program, "untraced"]).user(user).run();
        assert_eq!(outcome.stdout, format!("child: signal {}\n", libc::SIGSYS), "{outcome:#?}");
        // An allow list's kill says what to add: a list learned from the
        // program, less uname.
        let dir = fresh_dir(&format!("violations-sandboxify-learned-{user:?}"));
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let learned = dir.join("allow.list");
        Run::new(sandboxify(), &["--learn", learned.to_str().unwrap(), program, "plain"]).user(user).run();
        let list = fs::read_to_string(&learned).unwrap();
        let list: Vec<&str> = list.trim().trim_start_matches("SECCOMP_SYSCALL_ALLOW=").split(':').collect();
        assert!(list.contains(&"uname"), "{list:?}");
        let list = list.into_iter().filter(|entry| *entry != "uname").collect::<Vec<_>>().join(":");
        let outcome = run(&["--allow", &list, program, "plain"], user);
        outcome.assert_killed();
        assert!(
            outcome.stderr.starts_with(line)
                && outcome.stderr.ends_with(": no allow entry names it; to allow it, add uname to the allow list\n"),
            "{outcome:#?}"
        );
        // --report-json is SANDBOX_REPORT_JSON.
        let file = report_file(&format!("sandboxify-kill-{user:?}"));
        run(&["--report-json", file.to_str().unwrap(), "--deny", "uname", program, "thread"], user).assert_killed();
        let lines = json_lines(&file);
        assert_eq!(lines.len(), 1, "{lines:#?}");
        assert_eq!((lines[0]["call"].as_str(), lines[0]["action"].as_str()), (Some("uname"), Some("kill")));
        assert_eq!(
            (lines[0]["rule"].as_str(), lines[0]["executable"].as_str()),
            (Some("--deny: uname"), Some(program))
        );
        assert_ne!(lines[0]["tid"], lines[0]["pid"], "the second thread's call");
        // Unasked, the kill is the kernel's, unexplained.
        let outcome = Run::new(sandboxify(), &["--deny", "uname", program, "plain"]).user(user).run();
        outcome.assert_killed();
        assert_eq!(outcome.stderr, "", "{outcome:#?}");
        // --preload: the guard's kills are named by the library in the
        // program, also after exec, asked or not (as the library's own);
        // with SANDBOX_REPORT_KILLS=0 they are the kernel's.
        let library_line = "libsandbox: the policy killed this process at uname(";
        for (args, reason) in [
            (
                &["--preload", "--deny", "uname:ptrace", program, "plain"][..],
                ") [x86_64 63]: SECCOMP_SYSCALL_DENY: uname=kill; to allow uname, remove that entry\n",
            ),
            (
                &["--preload", "--deny", "uname:ptrace", program, "exec:thread"][..],
                ") [x86_64 63]: inherited policy: a deny entry names uname; to allow uname, remove that entry\n",
            ),
            (
                &["--preload", "--allow", "read:write:exit_group", program, "plain"][..],
                ") [x86_64 63]: no allow entry names it; to allow it, add uname to the allow list\n",
            ),
        ] {
            for outcome in [run(args, user), Run::new(sandboxify(), args).user(user).run()] {
                outcome.assert_killed();
                assert!(outcome.stderr.starts_with(library_line) && outcome.stderr.ends_with(reason), "{outcome:#?}");
                assert_eq!(outcome.stderr.lines().count(), 1, "{outcome:#?}");
            }
            let silent = Run::new(sandboxify(), args).env("SANDBOX_REPORT_KILLS", "0").user(user).run();
            silent.assert_killed();
            assert_eq!(silent.stderr, "", "{silent:#?}");
        }
    }
}

/// Calls a trap action sends to the program's handler are counted at exit,
/// unasked, on the library's path and sandboxify's, never in the program's
/// own output.
#[test]
fn trap_calls_are_counted_at_exit() {
    let violate = compile("violate", &["-pthread"]);
    for user in USERS {
        let library = |program: &Path, args: &[&str], env: &[(&str, &str)]| {
            let mut run = Run::new(program, args).preload().user(user);
            for (key, value) in env {
                run = run.env(key, value);
            }
            run.run()
        };
        // A trap: the program's handler lets it live on; counted unasked.
        let trap = [("SECCOMP_SYSCALL_DENY", "uname=trap")];
        let outcome = library(&violate, &["handler"], &trap);
        let sandboxified =
            Run::new(sandboxify(), &["--deny", "uname=trap", violate.to_str().unwrap(), "handler"]).user(user).run();
        for (prefix, outcome) in [("libsandbox", &outcome), ("sandboxify", &sandboxified)] {
            outcome.assert_success();
            assert_eq!(outcome.stdout, "sigaction: 0\nsurvived\n", "{outcome:#?}");
            let expected = format!(
                "{prefix}: these calls were trapped (SIGSYS to the program's handler):\n{prefix}:   uname() ×1\n"
            );
            assert_eq!(outcome.stderr, expected, "{outcome:#?}");
        }
        let off = library(&violate, &["handler"], &[trap.as_slice(), &[("SANDBOX_REPORT_COUNTS", "0")]].concat());
        assert_eq!((off.stdout.as_str(), off.stderr.as_str()), ("sigaction: 0\nsurvived\n", ""), "{off:#?}");
    }
}

/// The deny list errno-count.c's calls break.
const ERRNO_DENY: &str = "mkdir=EPERM:uname=EACCES";

/// errno-count.c's program under [`ERRNO_DENY`] on every path, with
/// `env`: the library, sandboxify, sandboxify `--preload`, and a copy
/// with the library and the list attached.
fn errno_count_runs(how: &str, dir: &Path, env: &[(&str, &str)], user: User) -> Vec<(&'static str, Outcome)> {
    static ATTACHED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let program = compile("errno-count", &["-pthread"]);
    let attached = ATTACHED.get_or_init(|| {
        let attached = fresh_dir("violations-errno-count-attached").join("errno-count");
        fs::copy(&program, &attached).unwrap();
        let policy = format!("deny {ERRNO_DENY}");
        let library = library();
        let args = ["--add-needed", library.to_str().unwrap(), "--policy", &policy, attached.to_str().unwrap()];
        Run::new(artifact("patchelf-helper"), &args).run().assert_success();
        attached
    });
    let (program, dir) = (program.to_str().unwrap(), dir.to_str().unwrap());
    let with_env = |mut run: Run| {
        for (key, value) in env {
            run = run.env(key, value);
        }
        run.user(user).run()
    };
    vec![
        ("libsandbox", with_env(Run::new(program, &[how, dir]).preload().env("SECCOMP_SYSCALL_DENY", ERRNO_DENY))),
        ("sandboxify", with_env(Run::new(sandboxify(), &["--deny", ERRNO_DENY, program, how, dir]))),
        ("libsandbox", with_env(Run::new(sandboxify(), &["--preload", "--deny", ERRNO_DENY, program, how, dir]))),
        ("libsandbox", with_env(Run::new(attached, &[how, dir]))),
    ]
}

/// errno-count.c's `how` counted under [`ERRNO_DENY`], run by `sh -c
/// SCRIPT` as its arguments, through sandboxify and through the library.
fn errno_count_in_shell(script: &str, how: &str, dir: &Path, user: User) -> Vec<(&'static str, Outcome)> {
    let program = compile("errno-count", &["-pthread"]);
    let (sandboxify, preload) = (sandboxify(), format!("LD_PRELOAD={}", library().display()));
    let (program, dir) = (program.to_str().unwrap(), dir.to_str().unwrap());
    [
        ("sandboxify", vec![sandboxify.to_str().unwrap(), "--deny", ERRNO_DENY, program, how, dir]),
        ("libsandbox", vec!["/usr/bin/env", &preload, program, how, dir]),
    ]
    .into_iter()
    .map(|(prefix, command)| {
        let args: Vec<&str> = ["-c", script, "sh"].into_iter().chain(command).collect();
        let run = Run::new("/bin/sh", &args).env("SANDBOX_REPORT_COUNTS", "errno");
        (prefix, run.env("SECCOMP_SYSCALL_DENY", ERRNO_DENY).user(user).run())
    })
    .collect()
}

/// The reporter is in no process group of the program's: a signal to the
/// program's job (a terminal's Ctrl-Z, `kill -TERM -PGID`) reaches the
/// program as without it. Once, the reporter shared the job's group: a
/// SIGTSTP stopped it too, and the program, stopped for it, never told its
/// parent (the shell hung, 3 runs in 3); a SIGTERM the program ignores
/// ended the reporter, and the program's errno calls then got ENOSYS,
/// uncounted.
#[test]
fn a_signal_to_the_programs_job_does_not_reach_its_reporter() {
    let harness = compile("process-group", &[]);
    let script = format!("exec {} \"$SIGNAL\" \"$@\"", harness.display());
    for user in USERS {
        let dir = fresh_dir(&format!("violations-process-group-{user:?}"));
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        for (signal, stop) in [(libc::SIGTSTP, "stopped by 20\n"), (libc::SIGTERM, "")] {
            let script = script.replace("$SIGNAL", &signal.to_string());
            for (prefix, outcome) in errno_count_in_shell(&script, "group", &dir, user) {
                outcome.assert_success();
                assert_eq!(
                    outcome.stdout,
                    format!("ready: ok\n{stop}mkdir: EPERM\nmade: no\nexit 0\n"),
                    "{outcome:#?}"
                );
                assert!(
                    outcome.stderr.ends_with(&format!("{prefix}:   mkdir(arg1=0x1c0): EPERM ×1\n")),
                    "{outcome:#?}"
                );
            }
        }
        // Permissive mode's reporter, with the shell's child running at the stop.
        let script = "echo ready; sleep .5; uname -s";
        let preload = format!("LD_PRELOAD={}", library().display());
        let sandboxify = sandboxify();
        for (prefix, command) in [
            ("sandboxify", [sandboxify.to_str().unwrap(), "--deny", "uname=log", "--"]),
            ("libsandbox", ["/usr/bin/env", &preload, "SECCOMP_SYSCALL_DENY=uname=log", "SECCOMP_DEFAULT_ACTION=kill"]),
        ] {
            let signal = libc::SIGTSTP.to_string();
            let args: Vec<&str> =
                [signal.as_str()].into_iter().chain(command).chain(["/bin/sh", "-c", script]).collect();
            let outcome = Run::new(&harness, &args).user(user).run();
            outcome.assert_success();
            assert_eq!(outcome.stdout, "ready\nstopped by 20\nLinux\nexit 0\n", "{outcome:#?}");
            assert!(outcome.stderr.contains(&format!("{prefix}: permissive mode")), "{outcome:#?}");
        }
    }
}

/// `SANDBOX_REPORT_COUNTS=errno`: the calls an errno action fails are
/// counted at exit on every path, from any thread and process, after the
/// program's own output and never in it, which is the same as without the
/// count; each is a JSON line too. And none ever runs: the reporter answers
/// them as a seccomp listener, which a program cannot reach, as root or as
/// nobody, and whose end fails them with ENOSYS (a program that kills its
/// reporter, or stops it and kills it while a call waits).
#[test]
fn errno_calls_are_counted_at_exit_and_none_ever_runs() {
    let counted = [("SANDBOX_REPORT_COUNTS", "errno")];
    for user in USERS {
        let dir = fresh_dir(&format!("violations-errno-count-{user:?}"));
        for (how, stdout, lines) in [
            (
                "calls",
                "mkdir: EPERM\nmkdir: EPERM\nmkdir: EPERM\nuname: EACCES\nmade: no\n",
                "  mkdir(arg1=0x1c0): EPERM ×3\n  uname(): EACCES ×1\n",
            ),
            (
                "thread",
                "uname: EACCES\nmkdir: EPERM\nmade: no\n",
                "  mkdir(arg1=0x1c0): EPERM ×1\n  uname(): EACCES ×1\n",
            ),
        ] {
            for (prefix, outcome) in errno_count_runs(how, &dir, &counted, user) {
                outcome.assert_success();
                assert_eq!(outcome.stdout, stdout, "{how}: {outcome:#?}");
                let report: String = lines.lines().map(|line| format!("{prefix}: {line}\n")).collect();
                let expected = format!("{prefix}: these calls failed with the policy's errno:\n{report}");
                assert_eq!(outcome.stderr, expected, "{how}: {outcome:#?}");
            }
            for (_, unasked) in errno_count_runs(how, &dir, &[], user) {
                assert_eq!((unasked.stdout.as_str(), unasked.stderr.as_str()), (stdout, ""), "{how}: {unasked:#?}");
            }
        }
        // Each call a JSON line, with the rule that failed it.
        let file = report_file(&format!("errno-count-{user:?}"));
        let json = [counted[0], ("SANDBOX_REPORT_JSON", file.to_str().unwrap())];
        for (_, outcome) in errno_count_runs("calls", &dir, &json, user) {
            outcome.assert_success();
        }
        let lines = json_lines(&file);
        assert_eq!(lines.len(), 16, "{lines:#?}");
        for line in &lines {
            let (call, action) = (line["call"].as_str().unwrap(), line["action"].as_str().unwrap());
            assert!(matches!((call, action), ("mkdir", "EPERM") | ("uname", "EACCES")), "{line}");
            assert_eq!(line["fix"], "remove", "{line}");
        }
        // None runs once the reporter is gone, however it went; with file
        // rules too, which sandboxify enforces before its reporter starts
        // (the library, after: they keep the program from signalling it,
        // and the reporter fails the call).
        let with_file_rules = [counted[0], ("SANDBOX_FS_RW", "/")];
        for (how, env) in [("reach", &counted[..]), ("reach", &with_file_rules), ("stopped", &counted)] {
            for (prefix, outcome) in errno_count_runs(how, &dir, env, user) {
                outcome.assert_success();
                let killed = "traced: 1\nreached: 0\nkill: ok\nmkdir: ENOSYS\nmade: no\n";
                let out_of_reach = "traced: 1\nreached: 0\nkill: EPERM\nmkdir: EPERM\nmade: no\n";
                let stdout = outcome.stdout.as_str();
                match how {
                    "reach" => assert!(stdout == killed || stdout == out_of_reach, "{prefix} {env:?}: {outcome:#?}"),
                    _ => assert_eq!(stdout, "traced: 1\nmkdir: ENOSYS\nmade: no\n", "{prefix}: {outcome:#?}"),
                }
                assert!(!dir.join("made").exists(), "{prefix} {how}");
            }
        }
        // Nor when the program takes its reporter's descriptors (prlimit, as
        // the same user): the reporter, unable to poll again, lets the
        // listener go, and the calls fail unrun, answered (if it was
        // polling already) or with ENOSYS (once, it spun, and the second
        // call waited for good).
        for (prefix, outcome) in errno_count_runs("limits", &dir, &counted, user) {
            outcome.assert_success();
            let mut lines = outcome.stdout.lines();
            assert_eq!(lines.next(), Some("prlimit: ok"), "{prefix}: {outcome:#?}");
            let calls: Vec<&str> = lines.by_ref().take(2).collect();
            assert!(calls.iter().all(|call| matches!(*call, "mkdir: EPERM" | "mkdir: ENOSYS")), "{outcome:#?}");
            assert_eq!(lines.collect::<Vec<_>>(), ["made: no"], "{prefix}: {outcome:#?}");
        }
        // A process has one listener among its filters: the reporter's.
        // And none of its own once it has killed its reporter: the calls sent
        // to the reporter's would go to the newest listener.
        for how in ["listener", "late-listener"] {
            for (_, outcome) in errno_count_runs(how, &dir, &counted, user) {
                assert_eq!(outcome.stdout, "no_new_privs: ok\nlistener: EBUSY\nmade: no\n", "{how}: {outcome:#?}");
            }
        }
        // Nor does a signal handler armed before the constructor see the
        // listener while the library hands it over (signals are blocked).
        let steal = compile("errno-steal", &[]);
        for _ in 0..5 {
            let outcome = Run::new(&steal, &[])
                .preload()
                .env("SECCOMP_SYSCALL_DENY", ERRNO_DENY)
                .env("SANDBOX_REPORT_COUNTS", "errno")
                .user(user)
                .run();
            assert_eq!(outcome.stdout, "listener seen: 0\n", "{outcome:#?}");
            assert!(outcome.stderr.ends_with("libsandbox:   uname(): EACCES ×1\n"), "counted: {outcome:#?}");
        }
        for (_, outcome) in errno_count_runs("listener", &dir, &[], user) {
            assert_eq!(outcome.stdout, "no_new_privs: ok\nlistener: ok\nmade: no\n", "{outcome:#?}");
        }
        // The listener's hand-over (a trap) leaves SIGTRAP as the program got it.
        for (prefix, outcome) in errno_count_in_shell("trap '' TRAP; exec \"$@\"", "sigtrap", &dir, user) {
            assert_eq!(outcome.stdout, "sigtrap ignored: 1\nuname: EACCES\nmade: no\n", "{prefix}: {outcome:#?}");
            assert!(outcome.stderr.ends_with(&format!("{prefix}:   uname(): EACCES ×1\n")), "{outcome:#?}");
        }
    }
}

/// Where the reporter cannot hold the listener apart from the program, the
/// count is refused (125) and the program never runs: a filter around the
/// sandbox has the one listener a process may have, Landlock, which keeps
/// root's program from the reporter, is hidden, the reporter cannot take
/// the listener, or threads that could take it run already.
#[test]
fn errno_counts_are_refused_where_the_listener_cannot_be_kept_apart() {
    let outer = compile("outer-filter", &[]);
    let program = compile("errno-count", &["-pthread"]);
    let taken = "counting errno answers needs the one seccomp listener a process may have";
    let no_landlock = "cannot count errno answers: Landlock, which keeps the program from the reporter";
    for user in USERS {
        let dir = fresh_dir(&format!("violations-errno-refused-{user:?}"));
        let (program, dir) = (program.to_str().unwrap(), dir.to_str().unwrap());
        let sandboxify = sandboxify();
        let sandboxify = sandboxify.to_str().unwrap();
        let library = library();
        let preload = format!("LD_PRELOAD={}", library.display());
        let landlock_create_ruleset = "444";
        let pidfd_getfd = "438";
        let not_taken = "the reporter could not take the listener it answers errno calls through: EPERM";
        for (outer_args, message) in [
            (&["--listener", "1", "9999"][..], taken),
            (&["38", landlock_create_ruleset][..], no_landlock),
            (&["1", pidfd_getfd][..], not_taken),
        ] {
            for (prefix, inner) in [
                ("sandboxify", vec![sandboxify, "--deny", ERRNO_DENY, program, "calls", dir]),
                ("libsandbox", vec![sandboxify, "--preload", "--deny", ERRNO_DENY, program, "calls", dir]),
                ("libsandbox", vec!["/usr/bin/env", &preload, program, "calls", dir]),
            ] {
                let args: Vec<&str> = outer_args.iter().copied().chain(inner).collect();
                let outcome = Run::new(&outer, &args)
                    .env("SANDBOX_REPORT_COUNTS", "errno")
                    .env("SECCOMP_SYSCALL_DENY", ERRNO_DENY)
                    .user(user)
                    .run();
                outcome.assert_code(125);
                assert_eq!(outcome.stdout, "", "{outcome:#?}");
                assert!(outcome.stderr.starts_with(&format!("{prefix}: {message}")), "{outcome:#?}");
                assert_eq!(outcome.stderr.lines().count(), 1, "{outcome:#?}");
            }
        }
        // A program that loads the library itself, its threads running.
        let late = compile("late-load", &["-pthread"]);
        let variables = ["SECCOMP_SYSCALL_DENY=uname=EPERM", "SANDBOX_REPORT_COUNTS=errno"];
        let args: Vec<&str> = [library.to_str().unwrap()].into_iter().chain(variables).collect();
        let outcome = Run::new(&late, &args).user(user).run();
        outcome.assert_code(125);
        assert_eq!(outcome.stdout, "", "{outcome:#?}");
        let threads = "libsandbox: cannot count errno answers: 2 threads run already";
        assert!(outcome.stderr.starts_with(threads) && outcome.stderr.lines().count() == 1, "{outcome:#?}");
        // A policy failing process creation with an errno fails the fork
        // that starts the reporter under the library, where it is in force
        // from start-up on: refused, saying so; sandboxify starts the
        // reporter before it, and counts.
        let deny = format!("{ERRNO_DENY}:clone=EAGAIN");
        for (prefix, command) in [
            ("libsandbox", vec!["/usr/bin/env", &preload, program, "thread", dir]),
            ("libsandbox", vec![sandboxify, "--preload", "--deny", &deny, program, "thread", dir]),
            ("sandboxify", vec![sandboxify, "--deny", &deny, program, "thread", dir]),
        ] {
            let outcome = Run::new(command[0], &command[1..])
                .env("SANDBOX_REPORT_COUNTS", "errno")
                .env("SECCOMP_SYSCALL_DENY", &deny)
                .user(user)
                .run();
            if prefix == "sandboxify" {
                outcome.assert_success();
                assert!(outcome.stderr.contains("sandboxify:   clone("), "{outcome:#?}");
                continue;
            }
            outcome.assert_code(125);
            assert_eq!(outcome.stdout, "", "{outcome:#?}");
            let refused = "libsandbox: cannot start the report: its fork failed: ENOSYS";
            assert!(outcome.stderr.starts_with(refused) && outcome.stderr.lines().count() == 1, "{outcome:#?}");
        }
    }
}

/// The reporter holds none of the program's descriptors, and lets go of
/// its copy of stderr (where the report goes) once the program has ended:
/// a child that outlives the program, its standard descriptors closed,
/// does not keep `$(... 2>&1)` waiting, under the library or sandboxify.
#[test]
fn the_reporter_keeps_no_pipe_of_the_program_open() {
    for user in USERS {
        let dir = fresh_dir(&format!("violations-outlive-{user:?}"));
        // The child waits up to 30 s for the flag the shell sets once
        // `$(...)` is back, then says whether it saw it.
        let script = format!(
            "x=$(\"$@\" 2>&1); echo \"$x\"; cd {}; touch go; while [ ! -e child ]; do sleep 0.05; done; \
             cat child; rm child go",
            dir.display()
        );
        for (prefix, outcome) in errno_count_in_shell(&script, "outlive", &dir, user) {
            // The report, through the same pipe, shows the reporter was there.
            let expected = format!(
                "uname: EACCES\nmade: no\n{prefix}: these calls failed with the policy's errno:\n\
                 {prefix}:   uname(): EACCES ×1\nflag seen\n"
            );
            assert_eq!((outcome.code(), outcome.stdout.as_str()), (Some(0), expected.as_str()), "{outcome:#?}");
        }
    }
}

/// The report at exit is out before the program's end reaches the shell
/// that ran it: what the shell runs next (a prompt, `cat` of the report
/// file) comes after it. The reporter writes it as it takes the program's
/// end, which the kernel passes on to the parent only then.
#[test]
fn the_report_at_exit_comes_before_the_shell_goes_on() {
    for user in USERS {
        let dir = fresh_dir(&format!("violations-report-order-{user:?}"));
        for _ in 0..10 {
            // The shell's own output after the program's, in one pipe.
            for (prefix, outcome) in errno_count_in_shell("\"$@\" 2>&1; echo DONE", "thread", &dir, user) {
                outcome.assert_success();
                let end = format!("{prefix}:   uname(): EACCES ×1\nDONE\n");
                assert!(outcome.stdout.ends_with(&end), "{outcome:#?}");
            }
        }
    }
}
