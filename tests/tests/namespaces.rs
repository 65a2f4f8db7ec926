//! sandboxify's namespaces, new root and limits, on the real kernel, as root
//! and as nobody. Where the machine decides the mechanism (cgroup v2 or the
//! rlimit fallback), the test reads which one sandboxify reported and checks
//! that one; it never assumes.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sandbox_tests::{Outcome, Run, USERS, User, compile, fresh_dir, sandboxify};

/// What the static glibc `uname.c` calls from its first instruction (as in
/// tests/tests/sandboxify.rs): none of the setup's calls.
const GLIBC_STATIC_MINIMAL: &str = "arch_prctl:brk:exit_group:getrandom:mprotect:newfstatat:prlimit64:readlink:rseq:set_robust_list:set_tid_address:uname:write";

fn probe() -> String {
    compile("ns-probe", &["-static"]).to_str().unwrap().to_owned()
}

fn run(args: &[&str], user: User) -> Outcome {
    Run::new(sandboxify(), args).user(user).run()
}

/// Runs and checks exit 0 and an empty stderr; returns stdout.
#[track_caller]
fn output(args: &[&str], user: User) -> String {
    let outcome = run(args, user);
    outcome.assert_success();
    assert_eq!(outcome.stderr, "", "{args:?} {user:?}");
    outcome.stdout
}

/// A path in a fresh directory of `test`'s own for `user`, where `user` may create it.
fn fresh_file(test: &str, user: User) -> PathBuf {
    fresh_dir(&format!("{test}-{user:?}")).join("file")
}

/// Checks a refusal: status, nothing on stdout, one line naming `token`.
#[track_caller]
fn assert_refused(outcome: &Outcome, code: i32, token: &str) {
    outcome.assert_code(code);
    assert_eq!(outcome.stdout, "", "{outcome:#?}");
    assert_eq!(outcome.stderr.lines().count(), 1, "{outcome:#?}");
    assert!(outcome.stderr.starts_with("sandboxify: "), "{outcome:#?}");
    assert!(outcome.stderr.contains(token), "{token:?} not named: {outcome:#?}");
}

#[test]
fn only_loopback_up_in_a_new_network_namespace() {
    for user in USERS {
        assert_eq!(output(&["--unshare-net", &probe(), "net"], user), "lo UP\n", "{user:?}");
    }
}

#[test]
fn program_is_pid_1_and_sees_only_its_own_processes() {
    for user in USERS {
        assert_eq!(output(&["--unshare-pid", &probe(), "pids"], user), "pid 1 ppid 0\n");
        assert_eq!(output(&["--unshare-pid", &probe(), "procs"], user), "1\n", "{user:?}");
        // In a new root, with --proc.
        let args = ["--unshare-pid", "--ro-bind", "/", "/", "--proc", "/proc", &probe(), "procs"];
        assert_eq!(output(&args, user), "1\n", "{user:?}");
    }
}

#[test]
fn exit_statuses_and_seccomp_kills_pass_through_the_pid_namespace() {
    let uname = compile("uname", &["-static"]);
    for user in USERS {
        run(&["--unshare-pid", &probe(), "exit", "42"], user).assert_code(42);
        run(&["--unshare-pid", "--deny", "uname", uname.to_str().unwrap()], user).assert_killed();
    }
}

#[test]
fn orphans_are_adopted_and_reaped_by_program_as_pid_1() {
    for user in USERS {
        assert_eq!(output(&["--unshare-pid", &probe(), "orphan"], user), "adopted by 1\nreaped yes\n");
    }
}

#[test]
fn hostname_is_isolated() {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    for user in USERS {
        let args = ["--unshare-uts", "--hostname", "sandboxed", &probe(), "hostname"];
        assert_eq!(output(&args, user), "sandboxed\n");
        assert_eq!(std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap(), host);
    }
}

#[test]
fn tmpfs_hides_the_hosts_tmp() {
    assert!(Path::new(&probe()).starts_with("/tmp"), "the probe is under the host's /tmp");
    for user in USERS {
        let args = ["--ro-bind", "/", "/", "--tmpfs", "/tmp", "--ro-bind", &probe(), "/tmp/probe", "/tmp/probe"];
        let args: Vec<&str> = args.into_iter().chain(["ls", "/tmp"]).collect();
        assert_eq!(output(&args, user), "probe\n", "{user:?}");
    }
}

#[test]
fn ro_bind_of_root_makes_writes_fail_submounts_included() {
    for user in USERS {
        let path = fresh_file("ro-bind", user);
        let file = path.to_str().unwrap();
        for target in [file, "/dev/shm/sandboxify-ro-bind-test"] {
            let outcome = output(&["--ro-bind", "/", "/", &probe(), "write", target], user);
            assert_eq!(outcome, "Read-only file system\n", "{target} {user:?}");
        }
        assert!(!path.exists());
        // The same through --bind writes.
        assert_eq!(output(&["--bind", "/", "/", &probe(), "write", file], user), "ok\n");
        assert!(path.exists());
    }
}

#[test]
fn chdir_into_the_new_root() {
    for user in USERS {
        assert_eq!(output(&["--ro-bind", "/", "/", "--chdir", "/usr", &probe(), "cwd"], user), "/usr\n");
        // Without --chdir, the new root's /.
        assert_eq!(output(&["--ro-bind", "/", "/", &probe(), "cwd"], user), "/\n");
    }
}

#[test]
fn a_minimal_root_with_proc_and_dev() {
    for user in USERS {
        let root = ["--unshare-pid", "--ro-bind", &probe(), "/probe", "--proc", "/proc", "--dev", "/dev", "/probe"];
        let ls = |dir: &str| output(&root.iter().copied().chain(["ls", dir]).collect::<Vec<_>>(), user);
        assert_eq!(ls("/"), "dev probe proc\n", "{user:?}");
        assert_eq!(ls("/dev"), "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero\n");
        let write = |path: &str| output(&root.iter().copied().chain(["write", path]).collect::<Vec<_>>(), user);
        assert_eq!(write("/dev/null"), "ok\n");
        assert_eq!(write("/dev/shm/file"), "ok\n");
        // The root's own directory only holds mount points.
        assert_eq!(write("/file"), "Read-only file system\n");
    }
}

#[test]
fn user_namespace_maps_the_caller_to_itself_or_to_root() {
    for (user, id) in [(User::Root, "0"), (User::Nobody, "65534")] {
        assert_eq!(output(&["--unshare-user", &probe(), "ids"], user), format!("uid {id} gid {id}\n"));
        assert_eq!(output(&["--map-root", &probe(), "ids"], user), "uid 0 gid 0\n");
    }
}

/// Without --unshare-pid or a cgroup there is no supervisor: PROGRAM is the
/// process that was started as sandboxify.
#[test]
fn other_namespaces_keep_the_exec_chain() {
    let report = compile("process-report", &["-static"]);
    for user in USERS {
        let mut command = Command::new(sandboxify());
        command.args(["--unshare-net", "--unshare-uts", "--ro-bind", "/", "/"]).arg(&report);
        command.env_clear().stdout(Stdio::piped());
        if user == User::Nobody {
            command.uid(65534).gid(65534);
        }
        let child = command.spawn().unwrap();
        let pid = child.id();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{output:?}");
        let text = String::from_utf8(output.stdout).unwrap();
        let report: HashMap<&str, &str> = text.lines().filter_map(|line| line.split_once([' ', '\t'])).collect();
        assert_eq!(report["pid"], pid.to_string());
        assert_eq!(report["ppid"], std::process::id().to_string());
    }
}

#[test]
fn fork_storm_stopped_by_pids_max() {
    for user in USERS {
        let outcome =
            run(&["--unshare-pid", "--pids-max", "16", "--limits-fallback=rlimit", &probe(), "fork-storm"], user);
        if outcome.stderr.contains("does not enforce RLIMIT_NPROC") {
            // No cgroup v2 pids controller here, and root is exempt from RLIMIT_NPROC: refused, never unlimited.
            assert_eq!(user, User::Root, "{outcome:#?}");
            assert_refused(&outcome, 125, "--pids-max");
            continue;
        }
        outcome.assert_success();
        if outcome.stderr.contains("RLIMIT_NPROC=16") {
            assert_eq!(outcome.stderr.lines().count(), 1, "one line says which mechanism: {outcome:#?}");
        } else {
            assert_eq!(outcome.stderr, "", "cgroup v2: {outcome:#?}");
        }
        let stopped = outcome.stdout.strip_prefix("stopped after ").expect("stopped");
        let (children, error) = stopped.split_once(": ").unwrap();
        assert!(children.parse::<u32>().unwrap() < 16, "{outcome:#?}");
        assert_eq!(error, "Resource temporarily unavailable\n");
    }
}

#[test]
fn memory_hog_stopped_by_memory_max() {
    for user in USERS {
        let outcome = run(&["--memory-max", "64M", "--limits-fallback=rlimit", &probe(), "hog"], user);
        if outcome.stderr.contains("RLIMIT_AS=67108864") {
            assert_eq!(outcome.stderr.lines().count(), 1, "one line says which mechanism: {outcome:#?}");
            outcome.assert_code(3);
            let mebibytes = outcome.stdout.strip_prefix("allocation failed after ").expect("stopped");
            assert!(mebibytes.trim_end_matches(" MiB\n").parse::<u32>().unwrap() < 64);
        } else {
            // cgroup v2: the OOM killer.
            assert_eq!(outcome.signal(), Some(libc::SIGKILL), "{outcome:#?}");
            assert_eq!(outcome.stderr, "");
        }
    }
}

/// Without --limits-fallback a cgroup limit that cannot be set is refused
/// (where cgroup v2 has the controller, the program runs instead).
#[test]
fn cgroup_limits_fail_closed_without_the_fallback() {
    for user in USERS {
        for (option, value, rlimit) in
            [("--memory-max", "64M", "RLIMIT_AS"), ("--pids-max", "16", "RLIMIT_NPROC"), ("--cpu-max", "0.5", "")]
        {
            let outcome = run(&[option, value, &probe(), "exit", "0"], user);
            if outcome.code() == Some(0) {
                assert_eq!(outcome.stderr, "", "cgroup v2 has it: {outcome:#?}");
                continue;
            }
            assert_refused(&outcome, 125, option);
            assert!(outcome.stderr.contains("no cgroup can limit it here"), "{outcome:#?}");
            assert!(outcome.stderr.contains(rlimit), "{outcome:#?}");
        }
        // --cpu-max has no rlimit to fall back to.
        let outcome = run(&["--cpu-max", "0.5", "--limits-fallback=rlimit", &probe(), "exit", "0"], user);
        if outcome.code() != Some(0) {
            assert_refused(&outcome, 125, "no rlimit replaces it");
        }
    }
}

#[test]
fn rlimits_reach_the_program() {
    for user in USERS {
        let outcome = output(&["--rlimit-nofile", "5", &probe(), "write", "/dev/null"], user);
        assert_eq!(outcome, "ok\n");
        let outcome = output(&["--rlimit-nofile", "3", &probe(), "write", "/dev/null"], user);
        assert_eq!(outcome, "Too many open files\n");
    }
    // Root is exempt from RLIMIT_NPROC: asking for it is refused, not ignored.
    assert_refused(&run(&["--rlimit-nproc", "5", &probe(), "exit", "0"], User::Root), 125, "--rlimit-nproc");
}

#[test]
fn seccomp_policy_still_applies_inside_all_of_it() {
    let uname = compile("uname", &["-static"]);
    let uname = uname.to_str().unwrap();
    let everything = [
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--hostname",
        "box",
        "--ro-bind",
        "/",
        "/",
        "--tmpfs",
        "/tmp",
        "--ro-bind",
        uname,
        "/tmp/uname",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--rlimit-nofile",
        "64",
    ];
    for user in USERS {
        let with = |policy: &[&str]| {
            let args: Vec<&str> = everything.iter().chain(policy).copied().chain(["/tmp/uname"]).collect();
            run(&args, user)
        };
        with(&["--deny", "uname"]).assert_killed();
        // A minimal allow list, without execve or any setup call, runs it.
        let outcome = with(&["--allow", GLIBC_STATIC_MINIMAL]);
        outcome.assert_success();
        assert_eq!(outcome.stdout, "Linux\n");
        // One entry less is a kill: the filter is in force.
        with(&["--allow", &GLIBC_STATIC_MINIMAL.replace(":uname", "")]).assert_killed();
    }
}

/// Starts `sandboxify ARGS` and returns it once PROGRAM has said "ready".
fn start_ready(args: &[&str], user: User) -> (std::process::Child, BufReader<std::process::ChildStdout>) {
    let mut command = Command::new(sandboxify());
    command.args(args).env_clear().stdin(Stdio::null()).stdout(Stdio::piped()).process_group(0);
    if user == User::Nobody {
        command.uid(65534).gid(65534);
    }
    let mut child = command.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    (child, stdout)
}

#[test]
fn signals_are_forwarded_to_program_as_pid_1() {
    for user in USERS {
        for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGUSR1] {
            // No handler: PID 1 would ignore it; it ends PROGRAM, reported as that signal.
            let (mut child, _) = start_ready(&["--unshare-pid", &probe(), "wait-signal"], user);
            // SAFETY: kill(2) on our own child.
            unsafe { libc::kill(child.id() as i32, signal) };
            let status = child.wait().unwrap();
            assert_eq!(status.signal(), Some(signal), "{user:?} {signal}: {status:?}");
            // A handler: PROGRAM gets the signal itself.
            let number = signal.to_string();
            let (mut child, mut stdout) = start_ready(&["--unshare-pid", &probe(), "handle-signal", &number], user);
            // SAFETY: as above.
            unsafe { libc::kill(child.id() as i32, signal) };
            let status = child.wait().unwrap();
            assert_eq!(status.code(), Some(7), "{user:?} {signal}: {status:?}");
            let mut rest = String::new();
            std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
            assert_eq!(rest, "caught\n");
        }
    }
}

#[test]
fn setup_failures_never_run_program() {
    for user in USERS {
        let path = fresh_file("setup-failure", user);
        let marker = path.to_str().unwrap();
        let failing: [&[&str]; 4] = [
            &["--bind", "/nonexistent-source", "/x"],
            &["--ro-bind", "/", "/", "--bind", "/tmp", "/nonexistent-mount-point"],
            &["--unshare-net", "--chdir", "/nonexistent-directory"],
            &["--unshare-pid", "--rlimit-nofile", "1000000000"],
        ];
        let tokens = ["/nonexistent-source", "/nonexistent-mount-point", "/nonexistent-directory", "RLIMIT_NOFILE"];
        for (args, token) in failing.into_iter().zip(tokens) {
            let probe = probe();
            let args: Vec<&str> = args.iter().copied().chain([probe.as_str(), "write", marker]).collect();
            assert_refused(&run(&args, user), 125, token);
            assert!(!path.exists(), "{args:?} ran PROGRAM");
        }
        let outcome = run(&["--tmpfs", "/empty", "no-such-program"], user);
        assert_refused(&outcome, 127, "no-such-program: not found in the new root");
    }
}

#[test]
fn bad_values_are_refused_with_one_line() {
    let cases: [(&[&str], &str); 19] = [
        (&["--memory-max", "64Q"], "'64Q' for '--memory-max <SIZE>'"),
        (&["--memory-max", "0"], "'0' for '--memory-max <SIZE>'"),
        (&["--rlimit-as", "1.5G"], "'1.5G' for '--rlimit-as <SIZE>'"),
        (&["--pids-max", "0"], "'0' for '--pids-max <N>'"),
        (&["--pids-max", "many"], "'many' for '--pids-max <N>'"),
        (&["--cpu-max", "half"], "'half' for '--cpu-max <CPUS>'"),
        (&["--cpu-max", "50000 10"], "'50000 10' for '--cpu-max <CPUS>'"),
        (&["--rlimit-nproc", "-1"], "-1"),
        (&["--rlimit-nofile", "x"], "'x' for '--rlimit-nofile <N>'"),
        (&["--rlimit-cpu", "1s"], "'1s' for '--rlimit-cpu <SECONDS>'"),
        (&["--limits-fallback", "none"], "'none' for '--limits-fallback <MECHANISM>'"),
        (&["--unshare-uts", "--hostname", ""], "'' for '--hostname <NAME>'"),
        (&["--hostname", "box"], "--unshare-uts"),
        (&["--tmpfs", "relative"], "'relative' for '--tmpfs <DST>'"),
        (&["--bind", "/", "/a/../b"], "'/a/../b' for '--bind <SRC> <DST>'"),
        (&["--ro-bind", "/", "dst"], "'dst' for '--ro-bind <SRC> <DST>'"),
        (&["--proc", "/proc"], "--proc needs --unshare-pid"),
        (&["--learn", "/dev/null", "--unshare-pid"], "--unshare-pid"),
        (&["--preload", "--tmpfs", "/tmp"], "--tmpfs <DST>"),
    ];
    for (args, token) in cases {
        let args: Vec<&str> = args.iter().copied().chain(["true"]).collect();
        assert_refused(&run(&args, User::Nobody), 125, token);
    }
}
