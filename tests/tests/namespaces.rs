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
fn program_runs_under_the_namespaces_init_and_sees_only_its_own_processes() {
    for user in USERS {
        assert_eq!(output(&["--unshare-pid", &probe(), "pids"], user), "pid 2 ppid 1\n");
        assert_eq!(output(&["--unshare-pid", &probe(), "procs"], user), "1 2\n", "{user:?}");
        // In a new root, with --proc.
        let args = ["--unshare-pid", "--ro-bind", "/", "/", "--proc", "/proc", &probe(), "procs"];
        assert_eq!(output(&args, user), "1 2\n", "{user:?}");
    }
}

/// Once a bug (fixed): a Landlock grant of /proc was opened on the host's
/// /proc, under the fresh one --unshare-pid mounts, so all of /proc was
/// refused (`ps` said "mount -t proc proc /proc").
#[test]
fn a_grant_of_proc_covers_the_fresh_proc_of_a_pid_namespace() {
    for user in USERS {
        assert_eq!(output(&["--unshare-pid", "--fs-ro", "/proc", &probe(), "procs"], user), "1 2\n", "{user:?}");
        let head =
            ["--unshare-pid", "--fs-ro", "/usr:/lib:/lib64:/bin:/etc:/proc", "head", "-c", "7", "/proc/self/stat"];
        assert_eq!(output(&head, user), "2 (head", "{user:?}");
    }
}

/// Once a bug (fixed): PROGRAM was PID 1, which the kernel spares every
/// signal it does not handle, its own included: `kill $$` and `raise()`
/// returned and it ran on, and `abort()` ended it with SIGSEGV. Under the
/// namespace's init it ends as it does outside.
#[test]
fn program_ends_by_its_own_signals_as_outside_a_namespace() {
    for user in USERS {
        for prefix in [&[][..], &["--unshare-pid"][..]] {
            for (args, signal) in [
                (vec![probe(), "raise".to_owned(), libc::SIGTERM.to_string()], libc::SIGTERM),
                (vec![probe(), "raise".to_owned(), libc::SIGINT.to_string()], libc::SIGINT),
                (vec![probe(), "abort".to_owned()], libc::SIGABRT),
                (["sh", "-c", "kill $$; echo survived"].map(str::to_owned).to_vec(), libc::SIGTERM),
            ] {
                let args: Vec<&str> = prefix.iter().copied().chain(args.iter().map(String::as_str)).collect();
                let mut command = Command::new(sandboxify());
                command.args(&args).stdin(Stdio::null()).stderr(Stdio::null());
                if user == User::Nobody {
                    command.uid(65534).gid(65534);
                }
                with_default_actions(&mut command);
                let output = command.output().unwrap();
                assert_eq!(output.status.signal(), Some(signal), "{args:?} as {user:?}: {output:?}");
                assert_eq!(output.stdout, b"", "{args:?} as {user:?}");
            }
        }
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

/// Once a bug (fixed): sandboxify outside and the init inside held
/// PROGRAM's descriptors, so a reader of its output saw the end only when
/// sandboxify exited, not when PROGRAM closed it, and a writer to its
/// input got no EPIPE when PROGRAM closed that. Both are seen while
/// PROGRAM still runs, as without a namespace.
#[test]
fn closing_its_standard_streams_is_seen_while_program_runs() {
    for user in USERS {
        for prefix in [&[][..], &["--unshare-pid"][..]] {
            let args: Vec<&str> = prefix.iter().copied().chain(["sh", "-c", "exec >&- <&-; sleep 10"]).collect();
            let mut command = Command::new(sandboxify());
            command.args(&args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null());
            if user == User::Nobody {
                command.uid(65534).gid(65534);
            }
            let mut child = command.spawn().unwrap();
            let mut output = String::new();
            std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut output).unwrap();
            let mut input = child.stdin.take().unwrap();
            let written = loop {
                match std::io::Write::write_all(&mut input, &[0; 4096]) {
                    Ok(()) => continue,
                    Err(error) => break error,
                }
            };
            let running = child.try_wait().unwrap().is_none();
            let _ = child.kill();
            let _ = child.wait();
            assert!(running, "{args:?} as {user:?}: the ends were seen only once sandboxify ended");
            assert_eq!(written.kind(), std::io::ErrorKind::BrokenPipe, "{args:?} as {user:?}");
        }
    }
}

#[test]
fn orphans_are_adopted_and_reaped_by_the_namespaces_init() {
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

/// How sandboxify enforces a cgroup limit, as it reports it with
/// SANDBOX_VERBOSE=1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mechanism {
    CgroupV2,
    CgroupV1,
    Rlimit,
    /// Status 125 and one line.
    Refused,
}

/// A run with SANDBOX_VERBOSE=1: its outcome, with the lines that report
/// the mechanisms moved from stderr to `report`.
#[derive(Debug)]
struct Limited {
    outcome: Outcome,
    report: Vec<String>,
}

impl Limited {
    /// The one mechanism reported (a run with one cgroup limit), or Refused.
    #[track_caller]
    fn mechanism(&self) -> Mechanism {
        let mechanisms: Vec<Mechanism> = self.report.iter().filter_map(|line| reported_mechanism(line)).collect();
        match mechanisms.as_slice() {
            [one] => *one,
            [] if self.outcome.code() == Some(125) => Mechanism::Refused,
            _ => panic!("one mechanism expected: {self:#?}"),
        }
    }
}

fn reported_mechanism(line: &str) -> Option<Mechanism> {
    if line.starts_with("sandboxify: limits in cgroup v2 ") {
        Some(Mechanism::CgroupV2)
    } else if line.starts_with("sandboxify: limits in cgroup v1: ") {
        Some(Mechanism::CgroupV1)
    } else if line.starts_with("sandboxify: --limits-fallback=rlimit: ") {
        Some(Mechanism::Rlimit)
    } else {
        None
    }
}

/// Whether a line of SANDBOX_VERBOSE shows the filter a sandbox installs by
/// itself (its terminal rules).
fn is_own_filter(line: &str) -> bool {
    line.starts_with("sandboxify: SECCOMP_SYSCALL_DENY=ioctl(arg1 == 0x5412)=EIO:ioctl(arg1 == 0x541c)=EPERM ")
}

fn run_limited(args: &[&str], user: User) -> Limited {
    let mut outcome = Run::new(sandboxify(), args).env("SANDBOX_VERBOSE", "1").user(user).run();
    let (report, rest): (Vec<&str>, Vec<&str>) =
        outcome.stderr.lines().partition(|line| reported_mechanism(line).is_some());
    let report = report.into_iter().map(str::to_owned).collect();
    outcome.stderr = rest.iter().filter(|line| !is_own_filter(line)).map(|line| format!("{line}\n")).collect();
    Limited { outcome, report }
}

/// A mounted cgroup file system.
struct CgroupMount {
    /// `cgroup2`, or `cgroup` for a v1 hierarchy.
    fstype: String,
    /// Its super options, which name a v1 hierarchy's controllers.
    options: String,
    dir: PathBuf,
}

fn cgroup_mounts() -> Vec<CgroupMount> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mounts = mountinfo.lines().filter_map(|line| {
        let (fields, after) = line.split_once(" - ")?;
        let after: Vec<&str> = after.split(' ').collect();
        let dir = PathBuf::from(fields.split(' ').nth(4)?);
        Some(CgroupMount { fstype: after[0].to_owned(), options: after.get(2)?.to_string(), dir })
    });
    mounts.filter(|mount| mount.fstype.starts_with("cgroup")).collect()
}

/// Whether only cgroup v1 has `controller` for the tests' process (this
/// machine's kind): its cgroup v2 cgroup does not offer it, and a v1
/// hierarchy of it is mounted. Then sandboxify must use v1 for root, and
/// cannot for nobody. (No cgroup namespace assumed: mount roots are `/`.)
fn only_cgroup_v1_has(controller: &str) -> bool {
    let names = |list: &str| list.split(',').any(|name| name == controller);
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let mounts = cgroup_mounts();
    let v2_offers = own.lines().find_map(|line| line.strip_prefix("0::")).is_some_and(|path| {
        mounts.iter().filter(|mount| mount.fstype == "cgroup2").any(|mount| {
            let offered = mount.dir.join(path.trim_start_matches('/')).join("cgroup.controllers");
            std::fs::read_to_string(offered)
                .is_ok_and(|offered| offered.split_whitespace().any(|name| name == controller))
        })
    });
    let v1_member = own.lines().any(|line| line.split(':').nth(1).is_some_and(names));
    let v1_mounted = mounts.iter().any(|mount| mount.fstype == "cgroup" && names(&mount.options));
    !v2_offers && v1_member && v1_mounted
}

/// The cgroups `sandboxify-PID` of sandboxify's process `pid` that exist,
/// in any cgroup file system.
fn cgroups_of(pid: u32) -> Vec<PathBuf> {
    let name = format!("sandboxify-{pid}");
    let mut found = Vec::new();
    let mut dirs: Vec<PathBuf> = cgroup_mounts().into_iter().map(|mount| mount.dir).collect();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                if entry.file_name() == name.as_str() {
                    found.push(entry.path());
                }
                dirs.push(entry.path());
            }
        }
    }
    found
}

/// The mechanism root must get where only cgroup v1 has the controller,
/// and the one nobody must get there (with or without the fallback).
fn expected_where_only_v1(user: User, fallback: bool) -> Mechanism {
    match (user, fallback) {
        (User::Root, _) => Mechanism::CgroupV1,
        (User::Nobody, true) => Mechanism::Rlimit,
        (User::Nobody, false) => Mechanism::Refused,
    }
}

#[test]
fn fork_storm_stopped_by_pids_max() {
    let probe = probe();
    let only_v1 = only_cgroup_v1_has("pids");
    for user in USERS {
        let storm = |fallback: bool| {
            let mut args = vec!["--unshare-pid", "--pids-max", "16"];
            args.extend(fallback.then_some("--limits-fallback=rlimit"));
            run_limited(&[args, vec![probe.as_str(), "fork-storm"]].concat(), user)
        };
        let limited = storm(true);
        let (outcome, mechanism) = (&limited.outcome, limited.mechanism());
        if only_v1 {
            assert_eq!(mechanism, expected_where_only_v1(user, true), "{limited:#?}");
        }
        match mechanism {
            Mechanism::Refused => {
                // No cgroup has pids, and root is exempt from RLIMIT_NPROC: refused, never unlimited.
                assert_eq!(user, User::Root, "{limited:#?}");
                assert_refused(outcome, 125, "does not enforce RLIMIT_NPROC");
                continue;
            }
            Mechanism::Rlimit => assert!(
                limited.report[0].ends_with(
                    "--pids-max as RLIMIT_NPROC=16 (counts all the processes of the user, not only the sandbox's, \
                     unless it has a user namespace of its own)"
                ),
                "{limited:#?}"
            ),
            _ => assert!(limited.report[0].contains(" pids.max=16"), "{limited:#?}"),
        }
        outcome.assert_success();
        assert_eq!(outcome.stderr, "", "{limited:#?}");
        let stopped = outcome.stdout.strip_prefix("stopped after ").expect("stopped");
        let (children, error) = stopped.split_once(": ").unwrap();
        assert!(children.parse::<u32>().unwrap() < 16, "{limited:#?}");
        assert_eq!(error, "Resource temporarily unavailable\n");

        // Without the fallback: the same cgroup, or refused where only the rlimit would do.
        let without = storm(false);
        if mechanism == Mechanism::Rlimit {
            assert_eq!(without.mechanism(), Mechanism::Refused, "{without:#?}");
            assert_refused(&without.outcome, 125, "--pids-max: no cgroup can limit it here");
            assert!(without.outcome.stderr.contains("--limits-fallback=rlimit would use RLIMIT_NPROC instead"));
        } else {
            assert_eq!(without.mechanism(), mechanism, "{without:#?}");
            without.outcome.assert_success();
        }
    }
}

#[test]
fn memory_hog_stopped_by_memory_max() {
    let only_v1 = only_cgroup_v1_has("memory");
    for user in USERS {
        let limited = run_limited(&["--memory-max", "64M", "--limits-fallback=rlimit", &probe(), "hog"], user);
        let (outcome, report) = (&limited.outcome, limited.report.join("\n"));
        if only_v1 {
            assert_eq!(limited.mechanism(), expected_where_only_v1(user, true), "{limited:#?}");
        }
        assert_eq!(outcome.stderr, "", "{limited:#?}");
        match limited.mechanism() {
            Mechanism::Rlimit => {
                // What the fallback leaves out is said where it is chosen.
                assert!(
                    report.ends_with(
                        "--memory-max as RLIMIT_AS=67108864 (per process, not for the processes together; and \
                         memfd or shared memory no longer mapped is not counted)"
                    ),
                    "{limited:#?}"
                );
                outcome.assert_code(3);
                let mebibytes = outcome.stdout.strip_prefix("allocation failed after ").expect("stopped");
                assert!(mebibytes.trim_end_matches(" MiB\n").parse::<u32>().unwrap() < 64);
            }
            mechanism => {
                if mechanism == Mechanism::CgroupV1 {
                    // Swap cannot extend the limit, or the report says it can.
                    assert!(report.contains(" memory.limit_in_bytes=67108864"), "{limited:#?}");
                    let swap = ["memory.memsw.limit_in_bytes=67108864", "(no memory.memsw.limit_in_bytes"];
                    assert!(swap.iter().any(|text| report.contains(text)), "{limited:#?}");
                } else {
                    assert!(report.contains(" memory.max=67108864"), "{limited:#?}");
                }
                // The OOM killer's SIGKILL, passed on by the supervisor; the
                // allocations themselves never failed.
                assert_eq!(outcome.signal(), Some(libc::SIGKILL), "{limited:#?}");
                assert_eq!(outcome.stdout, "");
            }
        }
    }
}

/// Without --limits-fallback a cgroup limit that no cgroup can have is
/// refused; where one can (here: root, through cgroup v1), PROGRAM runs.
#[test]
fn cgroup_limits_fail_closed_without_the_fallback() {
    for user in USERS {
        for (option, value, controller, rlimit) in [
            ("--memory-max", "64M", "memory", "RLIMIT_AS"),
            ("--pids-max", "16", "pids", "RLIMIT_NPROC"),
            ("--cpu-max", "0.5", "cpu", ""),
        ] {
            let limited = run_limited(&[option, value, &probe(), "exit", "0"], user);
            if only_cgroup_v1_has(controller) {
                assert_eq!(limited.mechanism(), expected_where_only_v1(user, false), "{limited:#?}");
            }
            match limited.mechanism() {
                Mechanism::Refused => {
                    assert_refused(&limited.outcome, 125, &format!("{option}: no cgroup can limit it here"));
                    assert!(limited.outcome.stderr.contains(rlimit), "{limited:#?}");
                }
                Mechanism::Rlimit => panic!("no fallback was asked for: {limited:#?}"),
                _ => {
                    limited.outcome.assert_success();
                    assert_eq!(limited.outcome.stderr, "", "{limited:#?}");
                }
            }
        }
        // --cpu-max has no rlimit to fall back to.
        let limited = run_limited(&["--cpu-max", "0.5", "--limits-fallback=rlimit", &probe(), "exit", "0"], user);
        match limited.mechanism() {
            Mechanism::Refused => assert_refused(&limited.outcome, 125, "no rlimit replaces it"),
            Mechanism::Rlimit => panic!("--cpu-max has no rlimit: {limited:#?}"),
            _ => {
                limited.outcome.assert_success();
            }
        }
    }
}

/// The cgroups and `FILE=VALUE` settings of the lines reporting them
/// (`limits in cgroup v2 DIR: FILE=VALUE...`, `limits in cgroup v1:
/// CONTROLLERS DIR FILE=VALUE...; ...`). A value may hold a blank
/// (`cpu.max=50000 100000`); `(no FILE: ...)` notes are skipped.
fn reported_cgroups(report: &[String]) -> Vec<(PathBuf, Vec<(String, String)>)> {
    let mut cgroups = Vec::new();
    for line in report {
        let parts: Vec<(&str, &str)> = if let Some(v2) = line.strip_prefix("sandboxify: limits in cgroup v2 ") {
            vec![v2.split_once(": ").unwrap()]
        } else if let Some(v1) = line.strip_prefix("sandboxify: limits in cgroup v1: ") {
            // CONTROLLERS DIR SETTINGS
            v1.split("; ").map(|part| part.split_once(' ').unwrap().1.split_once(' ').unwrap()).collect()
        } else {
            continue;
        };
        for (dir, text) in parts {
            let mut settings: Vec<(String, String)> = Vec::new();
            let mut in_note = false;
            for word in text.split(' ') {
                if in_note || word.starts_with('(') {
                    in_note = !word.ends_with(')');
                } else if let Some((file, value)) = word.split_once('=') {
                    settings.push((file.to_owned(), value.to_owned()));
                } else {
                    let (_, value) = settings.last_mut().expect("a setting first");
                    value.push(' ');
                    value.push_str(word);
                }
            }
            cgroups.push((PathBuf::from(dir), settings));
        }
    }
    cgroups
}

/// Sets `pipe` non-blocking and returns what is in it now.
fn read_available(pipe: std::process::ChildStderr) -> String {
    use std::os::fd::AsRawFd;
    // SAFETY: fcntl(2) on a descriptor we own, setting a status flag.
    unsafe { libc::fcntl(pipe.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
    let mut bytes = Vec::new();
    // Ends with EAGAIN once the pipe is empty; what was read is kept.
    let _ = std::io::Read::read_to_end(&mut std::fs::File::from(std::os::fd::OwnedFd::from(pipe)), &mut bytes);
    String::from_utf8(bytes).unwrap()
}

/// The three cgroup limits at once.
const ALL_LIMITS: [&str; 6] = ["--memory-max", "64M", "--pids-max", "16", "--cpu-max", "0.5"];

/// Whether only cgroup v1 has each controller of [`ALL_LIMITS`].
fn only_cgroup_v1_has_all() -> bool {
    ["memory", "pids", "cpu"].into_iter().all(only_cgroup_v1_has)
}

/// While PROGRAM runs it is in every cgroup sandboxify reported, and their
/// files hold the values reported (here, for root: cgroup v1's
/// memory.limit_in_bytes and memory.memsw.limit_in_bytes, pids.max,
/// cpu.cfs_period_us and cpu.cfs_quota_us); once it has ended they are gone.
#[test]
fn cgroup_files_hold_the_limits_while_program_runs() {
    let probe = probe();
    let (limits, only_v1) = (ALL_LIMITS, only_cgroup_v1_has_all());
    for user in USERS {
        // Only where a cgroup can have them all (here: root).
        let limited = run_limited(&[&limits[..], &[&probe, "exit", "0"]].concat(), user);
        if limited.outcome.code() == Some(125) {
            assert!(!only_v1 || user == User::Nobody, "{limited:#?}");
            continue;
        }
        let args = [&limits[..], &[&probe, "cgroups"]].concat();
        let (mut child, _, memberships) = start_ready(&args, &[("SANDBOX_VERBOSE", "1")], user);
        let stderr = read_available(child.stderr.take().unwrap());
        let report: Vec<String> = stderr.lines().filter(|line| !is_own_filter(line)).map(str::to_owned).collect();
        if only_v1 {
            assert!(report.len() == 1 && report[0].starts_with("sandboxify: limits in cgroup v1: "), "{report:?}");
        }
        let cgroups = reported_cgroups(&report);
        let files: Vec<&str> =
            cgroups.iter().flat_map(|(_, settings)| settings.iter().map(|(file, _)| file.as_str())).collect();
        // Each limit in cgroup v2 or v1 (only v1 here).
        for [v2, v1] in [["memory.max", "memory.limit_in_bytes"], ["pids.max"; 2], ["cpu.max", "cpu.cfs_quota_us"]] {
            let wanted = if only_v1 { &[v1][..] } else { &[v2, v1][..] };
            assert!(wanted.iter().any(|file| files.contains(file)), "{wanted:?} not reported: {report:?}");
        }
        let own = format!("sandboxify-{}", child.id());
        for (dir, settings) in &cgroups {
            assert!(dir.ends_with(&own), "{report:?}");
            // PROGRAM is in it: a line of its /proc/self/cgroup names this cgroup.
            let member = memberships
                .lines()
                .filter_map(|line| line.splitn(3, ':').nth(2))
                .any(|path| path.ends_with(&format!("/{own}")) && dir.to_str().unwrap().ends_with(path));
            assert!(member, "{} not in {memberships}", dir.display());
            for (file, value) in settings {
                assert_eq!(std::fs::read_to_string(dir.join(file)).unwrap().trim(), value, "{}", dir.display());
            }
        }
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGTERM));
        for (dir, _) in &cgroups {
            assert!(!dir.exists(), "{} left behind", dir.display());
        }
    }
}

/// Checks that sandboxify's process `pid` left no cgroup; if it did, kills
/// what is in them and removes them first.
#[track_caller]
fn assert_no_cgroup_left(pid: u32, context: &str) {
    let left = cgroups_of(pid);
    for dir in &left {
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        for process in procs.lines().filter_map(|line| line.parse::<i32>().ok()) {
            // SAFETY: kill(2); these are the test's own sandboxed processes.
            unsafe { libc::kill(process, libc::SIGKILL) };
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        let _ = std::fs::remove_dir(dir);
    }
    assert!(left.is_empty(), "{left:?} left behind: {context}");
}

/// No `sandboxify-PID` cgroup outlives sandboxify: not after PROGRAM has
/// ended leaving processes behind (cgroup v1 has no cgroup.kill: each is
/// killed), nor after a setup failure once the cgroups exist, nor when one
/// of several limits is refused after the others' cgroups were made.
#[test]
fn no_cgroup_is_left_behind() {
    let probe = probe();
    let (limits, only_v1) = (ALL_LIMITS, only_cgroup_v1_has_all());
    for user in USERS {
        // Without --unshare-pid the storm's 15 paused children outlive PROGRAM.
        let storm = ["--pids-max", "16", &probe, "fork-storm"];
        let bad_bind = [&limits[..], &["--bind", "/nonexistent-source", "/x", &probe, "exit", "0"]].concat();
        // pids.max is at most 4194304: its cgroup refuses it, after the memory one was made.
        let too_many = ["--memory-max", "64M", "--pids-max", "5000000", &probe, "exit", "0"];
        let all = [&limits[..], &[&probe, "exit", "0"]].concat();
        for (args, runs) in [(&storm[..], true), (&bad_bind, false), (&too_many, false), (&all, true)] {
            let outcome = run(args, user);
            assert_no_cgroup_left(outcome.pid, &format!("{args:?}: {outcome:#?}"));
            if runs && only_v1 && user == User::Root {
                outcome.assert_success();
            } else if !runs {
                outcome.assert_code(125);
            }
            if outcome.code() == Some(125) {
                assert_eq!(outcome.stderr.lines().count(), 1, "{outcome:#?}");
            } else {
                assert_eq!(outcome.stderr, "", "{args:?}: {outcome:#?}");
            }
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

/// Has `command` start with the default actions of the signals the tests
/// send, which a suite run under nohup(1) or in a shell's background would
/// not pass on: SIGHUP (nohup), SIGINT and SIGQUIT (`&`) would stay ignored,
/// and PROGRAM with them, as sandboxify rightly keeps them.
fn with_default_actions(command: &mut Command) {
    // SAFETY: signal(2) is async-signal-safe; the child only resets actions.
    unsafe {
        command.pre_exec(|| {
            for signal in (1..=libc::SIGRTMAX()).filter(|&signal| signal != libc::SIGKILL && signal != libc::SIGSTOP) {
                libc::signal(signal, libc::SIG_DFL);
            }
            Ok(())
        });
    }
}

/// Starts `sandboxify ARGS` with the variables `env` and returns it, with
/// its stdout and what PROGRAM printed before, once PROGRAM has said "ready".
fn start_ready(
    args: &[&str],
    env: &[(&str, &str)],
    user: User,
) -> (std::process::Child, BufReader<std::process::ChildStdout>, String) {
    let mut command = Command::new(sandboxify());
    command.args(args).env_clear().envs(env.iter().copied()).stdin(Stdio::null()).process_group(0);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    if user == User::Nobody {
        command.uid(65534).gid(65534);
    }
    with_default_actions(&mut command);
    let mut child = command.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut before = String::new();
    loop {
        let mut line = String::new();
        assert_ne!(stdout.read_line(&mut line).unwrap(), 0, "no ready after {before:?}");
        if line == "ready\n" {
            break;
        }
        before.push_str(&line);
    }
    (child, stdout, before)
}

/// Once a bug (fixed): a PROGRAM that stopped itself (`kill -STOP $$`,
/// `raise(SIGTSTP)`) under the init stopped alone, and the shell waiting
/// for sandboxify never got its prompt back. sandboxify now stops with the
/// same signal, and goes on when the job is continued; under a cgroup limit too
/// (where the machine gives one: else sandboxify is not there to stop).
#[test]
fn program_that_stops_itself_stops_sandboxify_with_it() {
    for user in USERS {
        for (option, signal) in
            [("--unshare-pid", libc::SIGSTOP), ("--unshare-pid", libc::SIGTSTP), ("--pids-max=64", libc::SIGSTOP)]
        {
            let number = signal.to_string();
            let mut command = Command::new(sandboxify());
            command.args([option, "--limits-fallback=rlimit", &probe(), "raise", &number]).env_clear().process_group(0);
            command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null());
            if user == User::Nobody {
                command.uid(65534).gid(65534);
            }
            with_default_actions(&mut command);
            let mut child = command.spawn().unwrap();
            let pid = child.id() as libc::pid_t;
            // A stop that never comes must fail the test, not hang it: the
            // child is killed, unless its stop (or end) was seen first.
            let seen = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let watchdog = {
                let seen = seen.clone();
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        std::thread::sleep(std::time::Duration::from_millis(100));
                        if seen.load(std::sync::atomic::Ordering::SeqCst) {
                            return;
                        }
                    }
                    // SAFETY: kill(2) of our own child, not yet waited for.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                })
            };
            let mut status = 0;
            // SAFETY: waitpid on our own child, with a status to fill.
            assert_eq!(unsafe { libc::waitpid(pid, &mut status, libc::WUNTRACED) }, pid);
            seen.store(true, std::sync::atomic::Ordering::SeqCst);
            watchdog.join().unwrap();
            assert!(libc::WIFSTOPPED(status), "{option} {signal} {user:?}: not stopped: {status:#x}");
            assert_eq!(libc::WSTOPSIG(status), signal, "{option} {user:?}");
            // As `fg` does: to the job's process group (sandboxify's, which
            // PROGRAM shares).
            // SAFETY: kill(2) of our own child's process group.
            unsafe { libc::kill(-pid, libc::SIGCONT) };
            let ended = child.wait().unwrap();
            let mut stdout = String::new();
            std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
            assert_eq!((ended.code(), stdout.as_str()), (Some(0), "survived\n"), "{option} {signal} {user:?}");
        }
    }
}

#[test]
fn signals_are_forwarded_to_program() {
    // Once a bug (fixed): only eight were forwarded; SIGPWR, SIGXCPU,
    // SIGPIPE and real-time signals ended sandboxify itself, and SIGURG
    // never reached PROGRAM.
    let catchable = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGUSR1, libc::SIGPWR, libc::SIGXCPU];
    let ending = catchable.into_iter().chain([libc::SIGPIPE, libc::SIGRTMIN() + 2]);
    for user in USERS {
        for signal in ending.clone() {
            // No handler: it ends PROGRAM, reported as that signal.
            let (mut child, _, _) = start_ready(&["--unshare-pid", &probe(), "wait-signal"], &[], user);
            // SAFETY: kill(2) on our own child.
            unsafe { libc::kill(child.id() as i32, signal) };
            let status = child.wait().unwrap();
            assert_eq!(status.signal(), Some(signal), "{user:?} {signal}: {status:?}");
        }
        for signal in catchable.into_iter().chain([libc::SIGURG, libc::SIGRTMIN() + 2]) {
            // A handler: PROGRAM gets the signal itself.
            let number = signal.to_string();
            let (mut child, mut stdout, _) =
                start_ready(&["--unshare-pid", &probe(), "handle-signal", &number], &[], user);
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

/// PROGRAM has no capability with a namespace or a new root, even as root
/// of its own user namespace (`--map-root`), which would let it remount a
/// read-only bind read-write: the remount is refused, the root stays
/// read-only. `--keep-capabilities` keeps them (the control).
#[test]
fn a_read_only_root_cannot_be_remounted_read_write() {
    let remount =
        "grep CapEff /proc/self/status; mount -o remount,bind,rw / 2>/dev/null && echo remounted || echo refused";
    for user in USERS {
        let base = ["--map-root", "--ro-bind", "/", "/", "--unshare-pid", "--proc", "/proc"];
        let args: Vec<&str> = base.iter().copied().chain(["/bin/sh", "-c", remount]).collect();
        assert_eq!(output(&args, user), "CapEff:\t0000000000000000\nrefused\n", "{user:?}");
        let args: Vec<&str> = base.iter().copied().chain(["--keep-capabilities", "/bin/sh", "-c", remount]).collect();
        let kept = output(&args, user);
        assert!(kept.ends_with("remounted\n") && !kept.contains("0000000000000000"), "{user:?}: {kept}");
    }
}

/// The host's /proc never shows in a new root: bound with the tree that
/// holds it (`--ro-bind / /`), it is covered (its `/proc/PID/root` of host
/// processes would reach around the read-only root); bound by itself, it is
/// refused; `--proc` with `--unshare-pid` gives a fresh one.
#[test]
fn the_hosts_proc_never_shows_in_a_new_root() {
    for user in USERS {
        let count = "ls /proc | wc -l; ls -d /proc/1/root 2>/dev/null || echo no-host-root";
        assert_eq!(output(&["--ro-bind", "/", "/", "/bin/sh", "-c", count], user), "0\nno-host-root\n", "{user:?}");
        let outcome = run(&["--bind", "/proc", "/proc", "/bin/true"], user);
        assert_refused(&outcome, 125, "the host's proc would reach around the new root");
        let fresh = output(
            &[
                "--ro-bind",
                "/",
                "/",
                "--unshare-pid",
                "--proc",
                "/proc",
                "/bin/sh",
                "-c",
                "cat /proc/1/comm /proc/2/comm",
            ],
            user,
        );
        assert_eq!(fresh, "sandboxify-init\nsh\n", "{user:?}");
    }
}
