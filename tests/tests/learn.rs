//! sandboxify --learn: the list it writes runs the program, is minimal, and
//! fits the injection point it was learned for.

use std::fs;
use std::path::{Path, PathBuf};

use sandbox_policy::learn::companions;
use sandbox_tests::{Outcome, Run, USERS, User, compile, fresh_dir, sandboxify};

/// Learns `program args` into `file` (with `--preload` when asked), as `user`.
fn learn(file: &Path, preload: bool, program: &Path, args: &[&str], user: User) -> Outcome {
    let mut argv = vec!["--learn", file.to_str().unwrap()];
    if preload {
        argv.push("--preload");
    }
    argv.push(program.to_str().unwrap());
    argv.extend_from_slice(args);
    Run::new(sandboxify(), &argv).user(user).run()
}

/// The entries in a learned file: names, and entries with conditions, which
/// make the value quoted.
fn names(file: &Path) -> Vec<String> {
    let text = fs::read_to_string(file).unwrap();
    assert!(text.ends_with('\n') && text.lines().count() == 1, "{text:?}");
    let value = text.trim_end().strip_prefix("SECCOMP_SYSCALL_ALLOW=").expect("one sourceable line");
    let list = value.strip_prefix('\'').and_then(|quoted| quoted.strip_suffix('\'')).unwrap_or(value);
    assert_eq!(list.contains('('), value.starts_with('\''), "quoted when an entry has conditions: {text}");
    list.split(':').map(str::to_owned).collect()
}

/// The entries every learned list gets, for paths one run rarely takes.
fn always_added() -> Vec<&'static str> {
    companions().into_iter().filter(|companion| companion.trigger.is_none()).map(|companion| companion.entry).collect()
}

fn list(file: &Path) -> String {
    names(file).join(":")
}

/// A scratch file for a learned list, readable and writable by nobody.
fn list_file(name: &str) -> PathBuf {
    fresh_dir(&format!("learn-{name}")).join("allow.list")
}

fn same_run(confined: &Outcome, free: &Outcome) {
    assert_eq!((confined.code(), &confined.stdout), (free.code(), &free.stdout), "{confined:#?}");
}

#[test]
fn a_static_program_learns_a_minimal_list_without_execve() {
    let program = compile("uname", &["-static"]);
    let free = Run::new(&program, &[]).run();
    for user in USERS {
        let file = list_file(&format!("static-{user:?}"));
        let outcome = learn(&file, false, &program, &[], user);
        same_run(&outcome, &free);
        let learned = names(&file);
        assert!(!learned.contains(&"execve".to_owned()), "{learned:?}");
        assert!(learned.contains(&"uname".to_owned()), "{learned:?}");
        let confined = Run::new(sandboxify(), &["--allow", &list(&file), program.to_str().unwrap()]).user(user).run();
        same_run(&confined, &free);
        for added in always_added() {
            assert!(learned.iter().any(|name| name == added), "{added} in {learned:?}");
        }
        for left_out in learned.iter().filter(|name| !always_added().contains(&name.as_str())) {
            let fewer: Vec<&str> = learned.iter().filter(|name| *name != left_out).map(String::as_str).collect();
            let outcome =
                Run::new(sandboxify(), &["--allow", &fewer.join(":"), program.to_str().unwrap()]).user(user).run();
            assert!(outcome.killed_by_seccomp(), "{left_out} is not needed: {outcome:#?}");
        }
    }
}

#[test]
fn preload_lists_start_at_the_librarys_apply_point() {
    let program = compile("uname", &[]);
    let free = Run::new(&program, &[]).run();
    for user in USERS {
        let file = list_file(&format!("dynamic-{user:?}"));
        same_run(&learn(&file, true, &program, &[], user), &free);
        let learned = names(&file);
        for loader_call in ["openat", "mmap", "execve"] {
            assert!(!learned.contains(&loader_call.to_owned()), "{loader_call} in {learned:?}");
        }
        let confined = Run::new(&program, &[]).preload().env("SECCOMP_SYSCALL_ALLOW", list(&file)).user(user).run();
        same_run(&confined, &free);
    }
}

/// `names` without `left_out`.
fn without<'a>(names: &[&'a str], left_out: &str) -> Vec<&'a str> {
    names.iter().copied().filter(|&name| name != left_out).collect()
}

/// Code that ld.so runs before `main` and the program's constructors (a
/// DT_PREINIT_ARRAY function, a linked library's constructor) makes calls of
/// its own. The library's constructor runs before it, and --preload's guard
/// is in force from the exec: under either the list needs each of those
/// calls, and the learned list holds them.
#[test]
fn learned_lists_hold_what_runs_before_main() {
    let library = compile("learn-early-lib", &["-shared", "-fPIC"]);
    let program = compile("learn-early", &[library.to_str().unwrap()]);
    let free = Run::new(&program, &[]).run();
    for user in USERS {
        let file = list_file(&format!("early-{user:?}"));
        same_run(&learn(&file, true, &program, &[], user), &free);
        let learned = names(&file);
        let learned: Vec<&str> = learned.iter().map(String::as_str).collect();
        assert!(!learned.contains(&"mmap"), "a loader call in {learned:?}");
        let library_run = |names: &[&str]| {
            Run::new(&program, &[]).preload().env("SECCOMP_SYSCALL_ALLOW", names.join(":")).user(user).run()
        };
        let preload_run = |names: &[&str]| {
            let args = ["--preload", "--allow", &names.join(":"), program.to_str().unwrap()];
            Run::new(sandboxify(), &args).user(user).run()
        };
        same_run(&library_run(&learned), &free);
        same_run(&preload_run(&learned), &free);
        for early_call in ["sysinfo", "statfs"] {
            assert!(learned.contains(&early_call), "{early_call} not in {learned:?}");
            let outcome = preload_run(&without(&learned, early_call));
            assert!(outcome.killed_by_seccomp(), "{early_call} is needed under the guard: {outcome:#?}");
            let outcome = library_run(&without(&learned, early_call));
            assert!(outcome.killed_by_seccomp(), "{early_call} is needed under the library: {outcome:#?}");
        }
    }
}

/// Programs that start threads and children, and an interpreter: the
/// learned list runs each under the library exactly as it runs free.
#[test]
fn threads_children_and_interpreters() {
    let threads = compile("threads", &["-pthread"]);
    let cases: Vec<(PathBuf, Vec<&str>)> = vec![
        (threads, vec![]),
        ("/bin/sh".into(), vec!["-c", "echo hello | tr a-z A-Z; ls / >/dev/null"]),
        ("/usr/bin/python3".into(), vec!["-c", "import json, os; print(json.dumps([os.getpid() > 0, 2]))"]),
    ];
    for (program, args) in cases {
        let free = Run::new(&program, &args).user(User::Nobody).run();
        assert!(free.status.success(), "{free:#?}");
        let file = list_file(program.file_name().unwrap().to_str().unwrap());
        same_run(&learn(&file, true, &program, &args, User::Nobody), &free);
        let confined =
            Run::new(&program, &args).preload().env("SECCOMP_SYSCALL_ALLOW", list(&file)).user(User::Nobody).run();
        same_run(&confined, &free);
    }
}

/// Under `--preload` the reporter that the library starts runs under
/// sandboxify's guard: an allow list with `wait4` used to give its calls
/// ENOSYS (a fallback), and the program spun forever; in permissive mode no
/// fallback is added now, and a policy that refuses the reporter's calls
/// (`ptrace`, which it traces the program with), or kills the reporter for
/// them, stops the program (125) instead of hanging it. The report goes
/// where `SANDBOX_REPORT` says on this path too.
#[test]
fn permissive_mode_under_preload_reports_or_stops() {
    for user in USERS {
        let report = fresh_dir(&format!("report-preload-{user:?}")).join("report");
        let args = ["--preload", "--allow", "wait4", "--default-action", "log", "/bin/sh", "-c", "echo hi"];
        let outcome = Run::new(sandboxify(), &args)
            .env("SANDBOX_REPORT", &report)
            .user(user)
            .timeout(std::time::Duration::from_secs(20))
            .run();
        outcome.assert_success();
        assert_eq!((outcome.stdout.as_str(), outcome.stderr.as_str()), ("hi\n", ""), "{outcome:#?}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while fs::read_to_string(&report).unwrap_or_default().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let text = fs::read_to_string(&report).unwrap();
        assert!(text.starts_with("libsandbox: permissive mode"), "{text}");
        for (refusal, error) in [
            ("ptrace=EPERM", "EPERM (Operation not permitted) (the report traces the program"),
            ("ptrace=kill", "ESRCH (No such process)"),
        ] {
            let args = ["--preload", "--allow", refusal, "--default-action", "log", "/bin/true"];
            let outcome = Run::new(sandboxify(), &args).user(user).timeout(std::time::Duration::from_secs(20)).run();
            outcome.assert_code(125);
            let expected = format!("cannot start the report: {error}");
            assert!(outcome.stderr.contains(&expected), "{refusal}: {outcome:#?}");
        }
    }
}

/// The report file is opened once, before the program runs, and never
/// through a symbolic link: one already there is refused (125), and one
/// the program puts in its place later changes nothing.
#[test]
fn the_report_file_cannot_be_redirected() {
    for user in USERS {
        let dir = fresh_dir(&format!("report-redirect-{user:?}"));
        let (report, target) = (dir.join("report"), dir.join("target"));
        std::os::unix::fs::symlink(&target, &report).unwrap();
        let library = Run::new("/bin/sh", &["-c", "uname > /dev/null"])
            .preload()
            .env("SECCOMP_SYSCALL_DENY", "uname=log")
            .env("SANDBOX_REPORT", &report)
            .user(user)
            .run();
        library.assert_code(125);
        assert_eq!(
            library.stderr,
            format!(
                "libsandbox: cannot open the report {} (SANDBOX_REPORT): ELOOP (Too many levels of symbolic links)\n",
                report.display()
            )
        );
        let args = ["--deny", "uname=log", "/bin/sh", "-c", "uname > /dev/null"];
        let launcher = Run::new(sandboxify(), &args).env("SANDBOX_REPORT", &report).user(user).run();
        launcher.assert_code(125);
        assert_eq!(
            launcher.stderr,
            format!(
                "sandboxify: cannot open the report {} (SANDBOX_REPORT): ELOOP (Too many levels of symbolic links)\n",
                report.display()
            )
        );
        assert!(!target.exists());
        fs::remove_file(&report).unwrap();
        let swap = "uname > /dev/null; mv report kept; ln -s target report";
        let outcome = Run::new("/bin/sh", &["-c", swap])
            .preload()
            .env("SECCOMP_SYSCALL_DENY", "uname=log")
            .env("SANDBOX_REPORT", &report)
            .dir(&dir)
            .user(user)
            .run();
        outcome.assert_success();
        // The reporter writes once the last confined process has ended.
        let kept = dir.join("kept");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while fs::read_to_string(&kept).unwrap_or_default().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(fs::read_to_string(&kept).unwrap().contains("uname() ×1"), "{outcome:#?}");
        assert!(!target.exists(), "the report followed the program's symbolic link");
    }
}

/// What a program does only sometimes (a race, a retry) is rarely seen in
/// one observed run: the observer slows every call, which all but hides
/// races between threads. The companions of what was seen are added
/// (`policy/data/companions.tsv`), so the list holds run after run:
/// node's exit yields (`sched_yield`) in 2 runs of 3 on two CPUs,
/// multiprocessing's `with Pool` ends workers with SIGTERM in 1 run of 3,
/// `mktemp` and `sed -i` call `getrandom` for 1 name in 22. The `kill` a
/// Pool brings is SIGTERM to one process only.
#[test]
fn learned_lists_hold_on_paths_one_run_rarely_takes() {
    let pool = "import multiprocessing as m\nwith m.Pool(4) as p: print(sum(p.map(abs, range(100))))";
    let cases: [(&str, &[&str]); 4] = [
        ("/usr/bin/node", &["-e", "console.log(1)"]),
        ("/usr/bin/python3", &["-c", pool]),
        ("/bin/sh", &["-c", "for i in 1 2 3 4 5 6 7 8; do rm \"$(mktemp -p \"$HOME\")\"; done; echo made"]),
        (
            "/bin/sh",
            &[
                "-c",
                "f=$(mktemp -p \"$HOME\"); echo a > $f; for i in 1 2 3 4 5 6 7 8; do sed -i s/a/a/ $f; done; cat $f; rm $f",
            ],
        ),
    ];
    let mut pool_list = None;
    for (index, (program, args)) in cases.iter().enumerate() {
        let home = fresh_dir(&format!("learn-rare-home-{index}"));
        let run = |run: Run| run.env("HOME", &home).user(User::Nobody).run();
        let free = run(Run::new(program, args));
        assert!(free.status.success(), "{free:#?}");
        for preload in [false, true] {
            let file = list_file(&format!("rare-{index}-{preload}"));
            let mut argv = vec!["--learn", file.to_str().unwrap()];
            argv.extend(preload.then_some("--preload"));
            argv.push(program);
            argv.extend(args.iter());
            same_run(&run(Run::new(sandboxify(), &argv)), &free);
            for _ in 0..10 {
                let confined = if preload {
                    run(Run::new(program, args).preload().env("SECCOMP_SYSCALL_ALLOW", list(&file)))
                } else {
                    let mut argv = vec!["--allow".to_owned(), list(&file), (*program).to_owned()];
                    argv.extend(args.iter().map(|arg| arg.to_string()));
                    run(Run::new(sandboxify(), &argv.iter().map(String::as_str).collect::<Vec<_>>()))
                };
                same_run(&confined, &free);
            }
            if *program == "/usr/bin/python3" && !preload {
                pool_list = Some(file);
            }
        }
    }
    // The Pool's list allows kill as its companion (or outright, when the
    // race happened while learning); the companion alone refuses the rest.
    let companion = "kill(arg0 >= 1, arg0 <= 0x7fffffff, arg1 == SIGTERM)";
    let entries = names(&pool_list.unwrap());
    assert!(entries.iter().any(|entry| entry == companion || entry == "kill"), "{entries:?}");
    let narrowed: Vec<&str> =
        entries.iter().map(String::as_str).filter(|entry| !entry.starts_with("kill")).chain([companion]).collect();
    let narrowed = narrowed.join(":");
    for (signal, target) in [("SIGKILL", "os.getpid()"), ("SIGTERM", "-1"), ("SIGTERM", "0")] {
        let script = format!("import os, signal\nos.kill({target}, signal.{signal})\nprint('sent')");
        let outcome =
            Run::new(sandboxify(), &["--allow", &narrowed, "/usr/bin/python3", "-c", &script]).user(User::Nobody).run();
        assert!(outcome.killed_by_seccomp(), "kill({target}, {signal}) under {entries:?}: {outcome:#?}");
    }
}

/// Learning happens under the Landlock rules of the run it is for, so the
/// path a program takes when a file is refused is the one learned: here a
/// fallback to `uname` that the unconfined run never takes.
#[test]
fn lists_are_learned_under_the_landlock_rules_given() {
    let dir = fresh_dir("learn-landlock");
    let secret = dir.join("secret");
    fs::write(&secret, "data\n").unwrap();
    let script = format!("cat {} 2>/dev/null || uname -s", secret.display());
    let rules = ["--fs-ro", "/", "--fs-deny", secret.to_str().unwrap()];
    for user in USERS {
        let file = list_file(&format!("landlock-{user:?}"));
        let mut argv = vec!["--learn", file.to_str().unwrap()];
        argv.extend(rules);
        argv.extend(["/bin/sh", "-c", &script]);
        let learned = Run::new(sandboxify(), &argv).user(user).run();
        learned.assert_success();
        assert_eq!(learned.stdout, "Linux\n");
        assert!(names(&file).contains(&"uname".to_owned()), "{:?}", names(&file));
        let list = list(&file);
        let mut argv = vec!["--allow", &list];
        argv.extend(rules);
        argv.extend(["/bin/sh", "-c", &script]);
        let confined = Run::new(sandboxify(), &argv).user(user).run();
        same_run(&confined, &learned);
    }
}

/// A second run merges into the file: two code paths, one list.
#[test]
fn learning_again_merges() {
    let file = list_file("merge");
    let uname = compile("uname", &["-static"]);
    let uses_time = compile("uses-time", &["-static"]);
    learn(&file, false, &uname, &[], User::Nobody).assert_success();
    let first = names(&file);
    assert!(!first.contains(&"time".to_owned()), "the vDSO call is not made: {first:?}");
    learn(&file, false, &uses_time, &[], User::Nobody).assert_success();
    let merged = names(&file);
    assert!(first.iter().all(|name| merged.contains(name)), "{first:?} ⊄ {merged:?}");
    // time() is answered by the vDSO here, yet learned: another host may not have one.
    assert!(merged.contains(&"time".to_owned()) && merged.contains(&"uname".to_owned()), "{merged:?}");
    let mut sorted = merged.clone();
    sorted.sort();
    assert_eq!(merged, sorted);
}

#[test]
fn newer_calls_bring_their_fallbacks() {
    let file = list_file("fallbacks");
    learn(&file, true, &compile("threads", &["-pthread"]), &[], User::Nobody).assert_success();
    let learned = names(&file);
    assert!(learned.contains(&"clone3".to_owned()) && learned.contains(&"clone".to_owned()), "{learned:?}");
}

#[test]
fn exit_status_and_signals_pass_through() {
    for user in USERS {
        let file = list_file(&format!("status-{user:?}"));
        let outcome = learn(&file, false, Path::new("/bin/sh"), &["-c", "exit 7"], user);
        outcome.assert_code(7);
        let outcome = learn(&file, false, Path::new("/bin/sh"), &["-c", "kill -TERM $$"], user);
        assert_eq!(outcome.signal(), Some(libc::SIGTERM), "{outcome:#?}");
    }
}

#[test]
fn a_file_that_is_not_a_learned_list_is_left_alone() {
    let file = list_file("foreign");
    fs::write(&file, "important notes\n").unwrap();
    let outcome = learn(&file, false, Path::new("/bin/true"), &[], User::Root);
    outcome.assert_code(125);
    assert!(outcome.stderr.contains("not a list written by --learn; refusing to overwrite it"), "{}", outcome.stderr);
    assert_eq!(fs::read_to_string(&file).unwrap(), "important notes\n");
    // A file that cannot be written is found out before PROGRAM runs.
    let marker = list_file("unwritable").with_file_name("ran");
    let outcome = learn(
        Path::new("/proc/allow.list"),
        false,
        Path::new("/usr/bin/touch"),
        &[marker.to_str().unwrap()],
        User::Nobody,
    );
    outcome.assert_code(125);
    assert!(!marker.exists(), "PROGRAM ran although its list could not be written");
}

/// Permissive mode names what would have been violations, to the user who
/// ran the program, without the audit log.
#[test]
fn permissive_mode_reports_violations_by_name() {
    let dynamic = compile("uname", &[]);
    let static_program = compile("uname", &["-static"]);
    for user in USERS {
        let outcome = Run::new(&dynamic, &[])
            .preload()
            .env("SECCOMP_SYSCALL_ALLOW", "")
            .env("SECCOMP_DEFAULT_ACTION", "log")
            .user(user)
            .run();
        outcome.assert_success();
        assert_eq!(outcome.stdout, "Linux\n");
        assert!(outcome.stderr.contains("libsandbox:   uname() ×1\n"), "{user:?}: {}", outcome.stderr);
        assert!(outcome.stderr.contains("libsandbox: to allow them, add to the allow list: "), "{}", outcome.stderr);
        let outcome =
            Run::new(sandboxify(), &["--allow", "", "--default-action", "log", static_program.to_str().unwrap()])
                .user(user)
                .run();
        outcome.assert_success();
        assert!(outcome.stderr.contains("sandboxify:   uname() ×1\n"), "{user:?}: {}", outcome.stderr);
        // The suggested list is a working one: the report of an empty allow list is the minimal list.
        let suggested = outcome.stderr.lines().last().unwrap().rsplit(' ').next().unwrap().to_owned();
        Run::new(sandboxify(), &["--allow", &suggested, static_program.to_str().unwrap()])
            .user(user)
            .run()
            .assert_success();
    }
    // Only the calls marked log are reported, with their integer arguments;
    // sandboxify's own exec is not one of them.
    let probe = compile("errno-probe", &["-static"]);
    let outcome =
        Run::new(sandboxify(), &["--deny", "execve=log:socket=log", probe.to_str().unwrap(), "socket-unix", "getppid"])
            .run();
    outcome.assert_success();
    assert_eq!(
        outcome.stderr,
        "sandboxify: permissive mode: these calls broke the policy and were let through:\n\
         sandboxify:   socket(arg0=0x1, arg1=0x1, arg2=0x0) ×1\n\
         sandboxify: to allow them, add to the allow list: socket\n"
    );
    // To a file instead of stderr.
    let report = fresh_dir("report").join("report.txt");
    let outcome = Run::new(&dynamic, &[])
        .preload()
        .env("SECCOMP_SYSCALL_DENY", "uname=log")
        .env("SANDBOX_REPORT", &report)
        .user(User::Nobody)
        .run();
    outcome.assert_success();
    assert_eq!(outcome.stderr, "");
    let text = fs::read_to_string(&report).unwrap();
    assert!(text.contains("libsandbox:   uname() ×1\n"), "{text}");
}

/// Observing a program never makes a call fail that cannot fail: calls made
/// while SIGCHLD arrives at a handler without SA_RESTART used to come back
/// with EINTR (fork, pipe, close) when learn mode or a permissive-mode
/// reporter held them for a listener. A call that does fail with EINTR
/// without observation (a read from an empty pipe, interrupted by a timer)
/// still does. On every path: learning (plain and `--preload`), and
/// permissive mode through the library, sandboxify, `--preload`, and a
/// library loaded with dlopen by a program that has a second thread.
#[test]
fn observed_calls_are_never_interrupted() {
    let storm = compile("signal-storm", &[]);
    let late = compile("late-load", &["-pthread"]);
    let library = sandbox_tests::library();
    let permissive = [("SECCOMP_SYSCALL_ALLOW", "read:write"), ("SECCOMP_DEFAULT_ACTION", "log")];
    for user in USERS {
        let free = Run::new(&storm, &["400"]).user(user).run();
        assert_eq!(free.stdout, "storm: ok\ninterrupted: EINTR\n", "{free:#?}");
        for preload in [false, true] {
            let file = list_file(&format!("storm-{user:?}-{preload}"));
            same_run(&learn(&file, preload, &storm, &["400"], user), &free);
        }
        let mut library_run = Run::new(&storm, &["400"]).preload().user(user);
        for (key, value) in permissive {
            library_run = library_run.env(key, value);
        }
        let sandboxify_run = |preload: bool| {
            let mut argv = vec!["--allow", "read:write", "--default-action", "log"];
            argv.extend(preload.then_some("--preload"));
            argv.extend([storm.to_str().unwrap(), "400"]);
            Run::new(sandboxify(), &argv).user(user).run()
        };
        for (path, outcome) in
            [("library", library_run.run()), ("sandboxify", sandboxify_run(false)), ("--preload", sandboxify_run(true))]
        {
            same_run(&outcome, &free);
            assert!(outcome.stderr.contains("permissive mode: these calls broke the policy"), "{path}: {outcome:#?}");
        }
        // The thread the program started before loading the library is
        // traced too: its uname is reported, and it runs.
        let args = [library.to_str().unwrap(), "SECCOMP_SYSCALL_DENY=uname=log"];
        let outcome = Run::new(&late, &args).user(user).run();
        outcome.assert_success();
        assert_eq!(outcome.stdout, "loaded\nthread survived uname\n", "{outcome:#?}");
        assert!(outcome.stderr.contains("libsandbox:   uname() ×1"), "{outcome:#?}");
    }
}
