//! The policy language end to end: conditions, errno actions, groups, other
//! doors, libc successors and fallbacks, io_uring, policy files, attached
//! policies and inspection, through the library and through sandboxify.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sandbox_tests::{Outcome, Run, USERS, User, artifact, compile, fresh_dir, library, privileged_copy, sandboxify};

fn probe() -> PathBuf {
    compile("errno-probe", &[])
}

fn static_probe() -> PathBuf {
    compile("errno-probe", &["-static"])
}

/// Runs the probe under the library with `env`, as `user`.
fn preloaded(env: &[(&str, &str)], operations: &[&str], user: User) -> Outcome {
    let mut run = Run::new(probe(), operations).preload().user(user);
    for (key, value) in env {
        run = run.env(key, value);
    }
    run.run()
}

/// Runs the static probe under sandboxify with `options`, as `user`.
fn launched(options: &[&str], operations: &[&str], user: User) -> Outcome {
    let program = static_probe();
    let args: Vec<&str> =
        options.iter().copied().chain([program.to_str().unwrap()]).chain(operations.iter().copied()).collect();
    Run::new(sandboxify(), &args).user(user).run()
}

#[test]
fn conditions_test_arguments_and_32_bit_ones_only_their_low_word() {
    let rule = "socket(arg0 == AF_INET)=EACCES";
    let operations = ["socket-unix", "socket-inet", "socket-inet-high"];
    let expected = "socket-unix: ok\nsocket-inet: EACCES\nsocket-inet-high: EACCES\n";
    for user in USERS {
        let outcome = preloaded(&[("SECCOMP_SYSCALL_DENY", rule)], &operations, user);
        outcome.assert_success();
        assert_eq!(outcome.stdout, expected, "library, {user:?}");
        let outcome = launched(&["--deny", rule], &operations, user);
        outcome.assert_success();
        assert_eq!(outcome.stdout, expected, "sandboxify, {user:?}");
    }
    // Several conditions must all hold; several entries are alternatives.
    let rules = "socket(arg0 == AF_INET, arg1 == SOCK_DGRAM)=EPERM:socket(arg0 == AF_UNIX)=EOPNOTSUPP";
    let outcome = preloaded(&[("SECCOMP_SYSCALL_DENY", rules)], &["socket-inet", "socket-unix"], User::Nobody);
    assert_eq!(outcome.stdout, "socket-inet: ok\nsocket-unix: EOPNOTSUPP\n");
    // An allow list entry with a condition: other calls of it are violations.
    let allow = "socket(arg0 == AF_UNIX):write:exit_group:newfstatat:brk";
    let outcome = preloaded(&[("SECCOMP_SYSCALL_ALLOW", allow)], &["socket-unix", "socket-inet"], User::Nobody);
    outcome.assert_killed();
    assert_eq!(outcome.stdout, "socket-unix: ok\n");
}

#[test]
fn errno_actions_and_groups() {
    for user in USERS {
        let env = [("SECCOMP_SYSCALL_DENY", "uname=ENETDOWN:ptrace=1:@setuid=EPERM")];
        let outcome = preloaded(&env, &["uname", "ptrace", "setuid", "getppid"], user);
        assert_eq!(outcome.stdout, "uname: ENETDOWN\nptrace: EPERM\nsetuid: EPERM\ngetppid: ok\n", "{user:?}");
        // The issue's example: a service allow list minus the privileged calls.
        let env = [("SECCOMP_SYSCALL_ALLOW", "@system-service"), ("SECCOMP_SYSCALL_DENY", "@privileged")];
        let outcome = preloaded(&env, &["uname", "getppid", "setuid"], user);
        outcome.assert_killed();
        assert_eq!(outcome.stdout, "uname: ok\ngetppid: ok\n", "{user:?}");
    }
}

#[test]
fn deny_entries_cover_other_doors_unless_exact() {
    for user in USERS {
        let env = [("SECCOMP_SYSCALL_DENY", "open=EACCES")];
        let outcome = preloaded(&env, &["open-read", "openat-read"], user);
        assert_eq!(outcome.stdout, "open-read: EACCES\nopenat-read: EACCES\n", "{user:?}");
        let exact = [("SECCOMP_SYSCALL_DENY", "open=EACCES"), ("SANDBOX_EXACT", "1")];
        let outcome = preloaded(&exact, &["openat-read"], user);
        assert_eq!(outcome.stdout, "openat-read: ok\n", "{user:?}");
    }
}

/// Cloudflare's published example list names `fstat`, which glibc 2.33+
/// implements with `newfstatat`: it works here, and fails in exact mode.
#[test]
fn cloudflares_example_list_still_works() {
    let program = compile("uname", &[]);
    for user in USERS {
        let run = || {
            Run::new(&program, &[]).preload().user(user).env("SECCOMP_SYSCALL_ALLOW", "exit_group:fstat:uname:write")
        };
        let outcome = run().run();
        outcome.assert_success();
        assert_eq!(outcome.stdout, "Linux\n");
        run().env("SANDBOX_EXACT", "1").run().assert_killed();
    }
}

/// glibc creates threads with clone3 and falls back to clone only on
/// ENOSYS: an allow list naming clone alone works, thanks to the fallback.
#[test]
fn threads_run_under_a_list_naming_clone_but_not_clone3() {
    let program = compile("threads", &["-pthread"]);
    let allow = "clone:mmap:mprotect:rt_sigaction:rt_sigprocmask:set_robust_list:rseq:futex:madvise:munmap:exit:exit_group:write:newfstatat";
    for user in USERS {
        let run = || Run::new(&program, &[]).preload().user(user).env("SECCOMP_SYSCALL_ALLOW", allow);
        let outcome = run().run();
        outcome.assert_success();
        assert_eq!(outcome.stdout, "thread ok 7\n");
        run().env("SANDBOX_EXACT", "1").run().assert_killed();
    }
    let outcome =
        preloaded(&[("SECCOMP_SYSCALL_ALLOW", "clone:write:exit_group:newfstatat:brk")], &["clone3"], User::Nobody);
    assert_eq!(outcome.stdout, "clone3: ENOSYS\n");
}

/// io_uring's operations never pass seccomp: the ring itself is refused
/// (ENOSYS, so runtimes fall back) unless an entry names it.
#[test]
fn io_uring_needs_naming() {
    for user in USERS {
        let outcome = preloaded(&[("SECCOMP_SYSCALL_DENY", "uname")], &["io_uring_setup"], user);
        assert_eq!(outcome.stdout, "io_uring_setup: ENOSYS\n", "deny list, {user:?}");
        let env = [("SECCOMP_SYSCALL_ALLOW", "@system-service")];
        let outcome = preloaded(&env, &["io_uring_setup"], user);
        assert_eq!(outcome.stdout, "io_uring_setup: ENOSYS\n", "allowed only through @aio, {user:?}");
        let env = [("SECCOMP_SYSCALL_ALLOW", "@system-service:io_uring_setup")];
        let outcome = preloaded(&env, &["io_uring_setup"], user);
        assert_eq!(outcome.stdout, "io_uring_setup: ok\n", "named, {user:?}");
        let env = [("SECCOMP_SYSCALL_DENY", "uname"), ("SANDBOX_EXACT", "1")];
        let outcome = preloaded(&env, &["io_uring_setup"], user);
        assert_eq!(outcome.stdout, "io_uring_setup: ok\n", "exact, {user:?}");
    }
}

#[test]
fn policy_files_with_includes() {
    let dir = fresh_dir("policy-files");
    fs::write(dir.join("common.policy"), "# shared\ndeny ptrace=EPERM\ndefault-action ENOSYS\n").unwrap();
    fs::write(
        dir.join("app.policy"),
        "@include common.policy\nallow uname write exit_group newfstatat brk   # the rest gets ENOSYS\nallow socket(arg0 == AF_UNIX)\n",
    )
    .unwrap();
    let path = dir.join("app.policy");
    let path = path.to_str().unwrap();
    let operations = ["uname", "ptrace", "getppid", "socket-unix", "socket-inet"];
    let expected = "uname: ok\nptrace: EPERM\ngetppid: ENOSYS\nsocket-unix: ok\nsocket-inet: ENOSYS\n";
    for user in USERS {
        let outcome = preloaded(&[("SECCOMP_POLICY_FILE", path)], &operations, user);
        assert_eq!(outcome.stdout, expected, "library, {user:?}");
        // The list suits the library's apply point: sandboxify --preload uses it.
        let program = probe();
        let args: Vec<&str> =
            ["--preload", "--policy", path, program.to_str().unwrap()].into_iter().chain(operations).collect();
        let outcome = Run::new(sandboxify(), &args).user(user).run();
        assert_eq!(outcome.stdout, expected, "sandboxify, {user:?}");
    }
    // Every mistake names its file and line, and nothing runs.
    fs::write(dir.join("bad.policy"), "allow uname\n@include common.policy\ndeny unmae\n").unwrap();
    let bad = dir.join("bad.policy");
    let outcome = preloaded(&[("SECCOMP_POLICY_FILE", bad.to_str().unwrap())], &["uname"], User::Nobody);
    outcome.assert_code(125);
    assert_eq!(outcome.stdout, "");
    assert_eq!(
        outcome.stderr,
        format!("libsandbox: {}:3: unknown system call \"unmae\" (did you mean \"uname\"?)\n", bad.display())
    );
    let outcome = launched(&["--policy", bad.to_str().unwrap()], &["uname"], User::Nobody);
    outcome.assert_code(125);
    assert!(outcome.stderr.starts_with(&format!("sandboxify: {}:3: unknown system call", bad.display())));
    // A file and the list variables together: refused rather than merged by guessing.
    let env = [("SECCOMP_POLICY_FILE", path), ("SECCOMP_SYSCALL_DENY", "uname")];
    let outcome = preloaded(&env, &["uname"], User::Nobody);
    outcome.assert_code(125);
    assert!(outcome.stderr.contains("SECCOMP_POLICY_FILE cannot be combined with"), "{}", outcome.stderr);
    let outcome = preloaded(&[("SECCOMP_POLICY_FILE", "/nonexistent.policy")], &["uname"], User::Nobody);
    outcome.assert_code(125);
    assert_eq!(
        outcome.stderr,
        "libsandbox: SECCOMP_POLICY_FILE: cannot read \"/nonexistent.policy\": ENOENT (No such file or directory)\n"
    );
}

#[test]
fn inspection_runs_nothing() {
    let rule = "socket(arg0 == AF_INET)=EACCES";
    let outcome = Run::new(sandboxify(), &["--explain", "--deny", rule]).run();
    outcome.assert_success();
    assert!(
        outcome.stdout.contains(
            "  41  socket                   EACCES     if arg0 == 0x2: --deny: socket(arg0 == AF_INET)=EACCES\n"
        ),
        "{}",
        outcome.stdout
    );
    let outcome = Run::new(sandboxify(), &["--dump-bpf"]).env("SECCOMP_SYSCALL_DENY", rule).run();
    outcome.assert_success();
    assert!(outcome.stdout.starts_with("   0: ld  arch\n"), "{}", outcome.stdout);
    assert!(outcome.stdout.contains("ld  [16]"), "the argument is loaded: {}", outcome.stdout);
    let outcome = Run::new(sandboxify(), &["--check", "--deny", rule]).run();
    outcome.assert_success();
    assert_eq!(outcome.stdout, "");
    let outcome = Run::new(sandboxify(), &["--check", "--deny", "socket(arg1 == 0)"]).run();
    outcome.assert_success();
    let outcome = Run::new(sandboxify(), &["--check", "--deny", "execve(arg0 == 4096)"]).run();
    outcome.assert_code(125);
    assert!(outcome.stderr.contains("arg0 of execve is a pointer"), "{}", outcome.stderr);
    // --check with PROGRAM checks PROGRAM too, and still runs nothing.
    let outcome = Run::new(sandboxify(), &["--check", "--deny", "uname", "no-such-program"]).run();
    outcome.assert_code(127);
    let marker = fresh_dir("inspection").join("ran");
    let outcome = Run::new(sandboxify(), &["--check", "--deny", "uname", "touch", marker.to_str().unwrap()]).run();
    outcome.assert_success();
    assert!(!marker.exists(), "--check ran PROGRAM");
    let outcome = Run::new(sandboxify(), &["--list-groups"]).run();
    assert!(
        outcome.stdout.lines().any(|line| line.starts_with("@system-service @aio @basic-io")),
        "{}",
        outcome.stdout
    );
    let outcome = Run::new(sandboxify(), &["--list-syscalls"]).run();
    assert!(outcome.stdout.contains("\nsocket                     41  359  198  int int int\n"), "{}", outcome.stdout);
    let outcome = Run::new(sandboxify(), &["--explain"]).run();
    outcome.assert_code(125);
    assert!(outcome.stderr.starts_with("sandboxify: no policy to show"), "{}", outcome.stderr);
}

/// `--arch aarch64` describes the filter an arm64 machine would get: its
/// own numbers, the names it lacks reached through their families, AArch32
/// and x86_64 killed; a filter installed here stays this machine's.
#[test]
fn arch_describes_a_filter_for_another_machine() {
    let outcome = Run::new(sandboxify(), &["--explain", "--arch", "aarch64", "--deny", "open:fork:uname"]).run();
    outcome.assert_success();
    for line in [
        "# aarch64: number, call, action, and why",
        "  56  openat                   kill       --deny: open (another door to open)\n",
        " 160  uname                    kill       --deny: uname\n",
        " 220  clone                    kill       if arg0 & 0x10000 == 0x0: --deny: fork (another door to fork)\n",
        "   *  (any ABI but aarch64: AArch32 programs included) kill\n",
    ] {
        assert!(outcome.stdout.contains(line), "{line:?} in {}", outcome.stdout);
    }
    assert!(!outcome.stdout.contains("# i386"), "no i386 section: {}", outcome.stdout);
    let outcome = Run::new(sandboxify(), &["--dump-bpf", "--arch", "arm64", "--deny", "uname"]).run();
    outcome.assert_success();
    assert!(outcome.stdout.starts_with("   0: ld  arch\n   1: jeq 0xc00000b7,"), "{}", outcome.stdout);
    assert!(outcome.stdout.contains("jge 0xa0,") || outcome.stdout.contains("jeq 0xa0,"), "{}", outcome.stdout);
    assert!(!outcome.stdout.contains("0xc000003e"), "no x86_64 section: {}", outcome.stdout);
    // The same policy, x86_64's by default and by name.
    let here = Run::new(sandboxify(), &["--dump-bpf", "--deny", "uname"]).run();
    let named = Run::new(sandboxify(), &["--dump-bpf", "--arch", "x86_64", "--deny", "uname"]).run();
    assert_eq!(here.stdout, named.stdout);
    assert!(here.stdout.contains("jeq 0xc000003e,"), "{}", here.stdout);
    // One OCI profile for both kinds of node: the rules are by name.
    let outcome = Run::new(sandboxify(), &["--export", "oci", "--arch", "x86_64,arm64", "--deny", "uname:fork"]).run();
    outcome.assert_success();
    assert!(
        outcome.stdout.contains(
            r#""SCMP_ARCH_X86_64",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_AARCH64""#
        ),
        "{}",
        outcome.stdout
    );
    // A list learned here, for an arm64 node: what glibc calls there instead.
    let outcome = Run::new(sandboxify(), &["--translate", "aarch64"])
        .env("SECCOMP_SYSCALL_ALLOW", "read:open:fork:dup2:arch_prctl:kill(arg1 == 9)")
        .run();
    outcome.assert_success();
    assert_eq!(outcome.stdout, "SECCOMP_SYSCALL_ALLOW='clone:dup3:fcntl:kill(arg1 == 9):openat:read'\n");
    assert_eq!(
        outcome.stderr,
        "sandboxify: --translate aarch64: left out: arch_prctl: aarch64 has no such call, and nothing takes its place\n"
    );
    let outcome = Run::new(sandboxify(), &["--translate", "aarch64", "--deny", "uname"]).run();
    outcome.assert_code(125);
    assert!(outcome.stderr.contains("--translate: give an allow list"), "{}", outcome.stderr);
    // Refused: an unknown machine, a run, an export that cannot say it.
    for (args, message) in [
        (&["--explain", "--arch", "sparc", "--deny", "uname"][..], "unknown machine \"sparc\""),
        (&["--arch", "aarch64", "--deny", "uname", "true"][..], "--arch aarch64: only --explain"),
        (&["--arch", "aarch64", "--deny", "uname", "--export", "systemd"][..], "--arch aarch64: only --explain"),
        (&["--arch", "x86_64,aarch64", "--deny", "uname", "--dump-bpf"][..], "describe one machine's filter"),
        (&["--translate", "aarch64", "--explain", "--allow", "open"][..], "cannot be used with '--explain'"),
        (&["--arch", "aarch64", "--deny", "clone(arg4 != 0)", "--export", "oci"][..], "the only machine asked for"),
    ] {
        let outcome = Run::new(sandboxify(), args).run();
        outcome.assert_code(125);
        assert!(outcome.stderr.contains(message), "{args:?}: {}", outcome.stderr);
        assert_eq!(outcome.stdout, "", "{args:?}");
    }
}

fn patch(arguments: &[&str], file: &Path) -> Outcome {
    let args: Vec<&str> = arguments.iter().copied().chain([file.to_str().unwrap()]).collect();
    Run::new(artifact("patchelf-helper"), &args).run()
}

/// A policy recorded in the binary travels with it: no environment needed,
/// the environment can only add to it, and setuid programs honour it alone.
#[test]
fn attached_policies() {
    let dir = fresh_dir("attached");
    let program = dir.join("probe");
    fs::copy(probe(), &program).unwrap();
    let library = library();
    patch(&["--add-needed", library.to_str().unwrap(), "--policy", "deny uname=ENETDOWN\ndeny ptrace=EPERM"], &program)
        .assert_success();
    assert_eq!(patch(&["--print-policy"], &program).stdout, "deny uname=ENETDOWN\ndeny ptrace=EPERM\n");
    for user in USERS {
        let outcome = Run::new(&program, &["uname", "ptrace", "getppid"]).user(user).run();
        assert_eq!(outcome.stdout, "uname: ENETDOWN\nptrace: EPERM\ngetppid: ok\n", "{user:?}");
        // The environment adds a restriction...
        let outcome =
            Run::new(&program, &["getppid", "uname"]).env("SECCOMP_SYSCALL_DENY", "getppid=ENOSYS").user(user).run();
        assert_eq!(outcome.stdout, "getppid: ENOSYS\nuname: ENETDOWN\n", "{user:?}");
        // ...and cannot remove one.
        let outcome = Run::new(&program, &["uname"]).env("SECCOMP_SYSCALL_DENY", "uname=allow").user(user).run();
        assert_eq!(outcome.stdout, "uname: ENETDOWN\n", "{user:?}");
    }
    // A setuid program honours its attached policy and nothing from the caller.
    let setuid = privileged_copy(&program, "probe-setuid", 0o4755);
    let outcome =
        Run::new(&setuid, &["uname", "getppid"]).env("SECCOMP_SYSCALL_DENY", "getppid=ENOSYS").user(User::Nobody).run();
    outcome.assert_success();
    assert_eq!(outcome.stdout, "uname: ENETDOWN\ngetppid: ok\n");
    // Invalid policies are refused before anything is written.
    let before = fs::read(&program).unwrap();
    let outcome = patch(&["--policy", "deny unmae"], &program);
    outcome.assert_code(1);
    assert!(
        outcome.stderr.contains("invalid policy: attached policy:1: unknown system call \"unmae\""),
        "{}",
        outcome.stderr
    );
    assert_eq!(fs::read(&program).unwrap(), before);
    // A policy file works too, and removal leaves the library without a policy.
    let file = dir.join("p.policy");
    fs::write(&file, "deny getppid=EPERM\n").unwrap();
    patch(&["--policy", file.to_str().unwrap()], &program).assert_success();
    assert_eq!(Run::new(&program, &["getppid", "uname"]).run().stdout, "getppid: EPERM\nuname: ok\n");
    patch(&["--remove-policy"], &program).assert_success();
    assert_eq!(patch(&["--print-policy"], &program).stdout, "");
    assert_eq!(Run::new(&program, &["getppid"]).run().stdout, "getppid: ok\n");
}

/// A copy of the probe at `path` with the library and `policy` recorded
/// as they are, unchecked: as something other than patchelf-helper might.
fn with_attached_policy(policy: &[u8], path: &Path) -> PathBuf {
    use patchelf_helper::{Change, DynamicEditor};
    use sandbox_policy::text::attached::DT_SANDBOX_POLICY;
    let original = fs::read(probe()).unwrap();
    let mut editor = DynamicEditor::new(&original).unwrap();
    editor.add_needed(library().to_str().unwrap()).unwrap();
    editor.set_string(DT_SANDBOX_POLICY, policy).unwrap();
    let Change::Patched { bytes, .. } = editor.apply().unwrap() else { panic!("nothing patched") };
    fs::write(path, bytes).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
    path.to_owned()
}

/// A recorded policy that does not parse (written by something other than
/// patchelf-helper, which checks) stops the program.
#[test]
fn a_broken_attached_policy_stops_the_program() {
    let program = with_attached_policy(b"deny uname\nallow frob", &fresh_dir("broken-attached").join("probe"));
    for user in USERS {
        let outcome = Run::new(&program, &["uname"]).user(user).run();
        outcome.assert_code(125);
        assert_eq!(outcome.stdout, "");
        assert_eq!(outcome.stderr, "libsandbox: attached policy:2: unknown system call \"frob\"\n");
    }
}

/// A policy within every byte limit whose filter is longer than the kernel
/// takes (3,000 conditions on one call: about 12,000 instructions, where the
/// limit is 4,096) is refused with one line and status 125 on every path,
/// before the program runs; patchelf-helper refuses to record it.
#[test]
fn a_policy_too_long_for_the_kernel_is_refused_on_every_path() {
    let entries: Vec<String> = (0..3000).map(|value| format!("read(arg0 == {value})")).collect();
    let deny = entries.join(":");
    let dir = fresh_dir("too-long");
    let policy_file = dir.join("long.policy");
    fs::write(&policy_file, format!("deny {}\n", entries.join(" "))).unwrap();
    let refused = |outcome: &Outcome, prefix: &str, path: &str| {
        outcome.assert_code(125);
        assert_eq!(outcome.stdout, "", "{path}: the program never runs");
        let line = outcome.stderr.strip_prefix(prefix).unwrap_or_else(|| panic!("{path}: {}", outcome.stderr));
        assert!(
            line.starts_with("the policy compiles to ") && line.contains("more than the kernel's limit of 4096"),
            "{path}: {line}"
        );
        assert_eq!(line.lines().count(), 1, "{path}: one line: {line}");
    };
    let patched = dir.join("probe");
    fs::copy(probe(), &patched).unwrap();
    patch(&["--add-needed", library().to_str().unwrap()], &patched).assert_success();
    let dynamic = probe();
    let (dynamic, policy_file) = (dynamic.to_str().unwrap(), policy_file.to_str().unwrap());
    for user in USERS {
        refused(&preloaded(&[("SECCOMP_SYSCALL_DENY", &deny)], &["getppid"], user), "libsandbox: ", "deny list");
        let allow = format!("{deny}:exit_group:write");
        refused(&preloaded(&[("SECCOMP_SYSCALL_ALLOW", &allow)], &["getppid"], user), "libsandbox: ", "allow list");
        let outcome = Run::new(&patched, &["getppid"]).env("SECCOMP_SYSCALL_DENY", &deny).user(user).run();
        refused(&outcome, "libsandbox: ", "patched");
        refused(&launched(&["--deny", &deny], &["getppid"], user), "sandboxify: ", "sandboxify static");
        refused(&launched(&["--policy", policy_file], &["getppid"], user), "sandboxify: ", "sandboxify --policy");
        for args in [
            &["--deny", &deny, dynamic, "getppid"][..],
            &["--preload", "--deny", &deny, dynamic, "getppid"],
            &["--explain", "--deny", &deny],
            &["--dump-bpf", "--deny", &deny],
        ] {
            refused(&Run::new(sandboxify(), args).user(user).run(), "sandboxify: ", args[0]);
        }
    }
    // Recorded in the program: patchelf-helper refuses it, and one recorded
    // by other means stops the program.
    let before = fs::read(&patched).unwrap();
    let outcome = patch(&["--policy", &fs::read_to_string(policy_file).unwrap()], &patched);
    outcome.assert_code(1);
    assert!(outcome.stderr.contains("invalid policy: the policy compiles to "), "{}", outcome.stderr);
    assert_eq!(fs::read(&patched).unwrap(), before, "nothing written");
    let attached = with_attached_policy(fs::read_to_string(policy_file).unwrap().as_bytes(), &dir.join("attached"));
    for user in USERS {
        refused(&Run::new(&attached, &["getppid"]).user(user).run(), "libsandbox: attached policy: ", "attached");
    }
}

/// Runs `violate HOW` one way.
type RunHow<'a> = dyn Fn(&str) -> Outcome + 'a;

/// `refuse-i386` (`--refuse-i386`, `SANDBOX_REFUSE_I386=1`, a policy file's
/// or an attached policy's `refuse-i386` line) kills every i386 call, on
/// its own or with lists, whatever the default action; x86_64 calls follow
/// the lists as before. `violate int80` makes uname through int 0x80 and
/// prints "survived" if it runs.
#[test]
fn refuse_i386_kills_every_i386_call_on_every_path() {
    let dir = fresh_dir("refuse-i386");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    let dynamic = compile("violate", &["-pthread"]);
    let static_violate = compile("violate", &["-static", "-pthread"]);
    let file = dir.join("refusing.policy");
    fs::write(&file, "deny ptrace=EPERM\ndefault-action EPERM\nrefuse-i386\n").unwrap();
    let patched = dir.join("violate-patched");
    fs::copy(&dynamic, &patched).unwrap();
    let library = library();
    patch(&["--add-needed", library.to_str().unwrap(), "--policy", "deny ptrace\nrefuse-i386"], &patched)
        .assert_success();
    assert_eq!(patch(&["--print-policy"], &patched).stdout, "deny ptrace\nrefuse-i386\n");
    let (file, sandboxify) = (file.to_str().unwrap(), sandboxify());
    let (dynamic, static_violate) = (dynamic.to_str().unwrap(), static_violate.to_str().unwrap());
    let preloaded = |env: &[(&str, &str)], how: &str, user: User| {
        env.iter().fold(Run::new(dynamic, &[how]).preload().user(user), |run, (key, value)| run.env(key, value)).run()
    };
    let launched = |options: &[&str], env: &[(&str, &str)], program: &str, how: &str, user: User| {
        let args: Vec<&str> = options.iter().copied().chain([program, how]).collect();
        env.iter().fold(Run::new(&sandboxify, &args).user(user), |run, (key, value)| run.env(key, value)).run()
    };
    for user in USERS {
        let runs: Vec<(&str, Box<RunHow>)> = vec![
            ("variable alone", Box::new(|how| preloaded(&[("SANDBOX_REFUSE_I386", "1")], how, user))),
            (
                "variable with a deny list and an errno default",
                Box::new(|how| {
                    let env = [
                        ("SANDBOX_REFUSE_I386", "1"),
                        ("SECCOMP_SYSCALL_DENY", "ptrace"),
                        ("SECCOMP_DEFAULT_ACTION", "EPERM"),
                    ];
                    preloaded(&env, how, user)
                }),
            ),
            ("policy file", Box::new(|how| preloaded(&[("SECCOMP_POLICY_FILE", file)], how, user))),
            ("patched", Box::new(|how| Run::new(&patched, &[how]).user(user).run())),
            ("--refuse-i386", Box::new(|how| launched(&["--refuse-i386"], &[], static_violate, how, user))),
            (
                "--refuse-i386 with a log default",
                Box::new(|how| {
                    launched(
                        &["--refuse-i386", "--deny", "ptrace", "--default-action", "log"],
                        &[],
                        static_violate,
                        how,
                        user,
                    )
                }),
            ),
            (
                "sandboxify's variable",
                Box::new(|how| launched(&[], &[("SANDBOX_REFUSE_I386", "1")], static_violate, how, user)),
            ),
            ("sandboxify --policy", Box::new(|how| launched(&["--policy", file], &[], static_violate, how, user))),
            (
                "--preload",
                Box::new(|how| launched(&["--refuse-i386", "--deny", "ptrace", "--preload"], &[], dynamic, how, user)),
            ),
        ];
        for (path, run) in &runs {
            let outcome = run("int80");
            assert!(outcome.killed_by_seccomp() && outcome.stdout.is_empty(), "{path} as {user:?}: {outcome:#?}");
            let outcome = run("plain");
            assert_eq!((outcome.code(), outcome.stdout.as_str()), (Some(0), "survived\n"), "{path} as {user:?}");
        }
        // Without the switch, the same i386 call runs.
        let outcome = preloaded(&[("SECCOMP_SYSCALL_DENY", "ptrace"), ("SANDBOX_REFUSE_I386", "0")], "int80", user);
        assert_eq!(outcome.stdout, "survived\n", "{user:?}");
        // A malformed switch or line is refused before the program runs.
        let outcome = preloaded(&[("SANDBOX_REFUSE_I386", "yes")], "plain", user);
        outcome.assert_code(125);
        assert_eq!(outcome.stderr, "libsandbox: SANDBOX_REFUSE_I386: malformed entry \"yes\": expected 0 or 1\n");
        let outcome = launched(&[], &[("SANDBOX_REFUSE_I386", "true")], static_violate, "plain", user);
        outcome.assert_code(125);
        assert!(
            outcome.stderr.starts_with("sandboxify: SANDBOX_REFUSE_I386: malformed entry \"true\""),
            "{outcome:#?}"
        );
        assert!(outcome.stdout.is_empty());
    }
    let outcome = patch(&["--policy", "refuse-i386 please"], &patched);
    assert_ne!(outcome.code(), Some(0));
    assert!(outcome.stderr.contains("refuse-i386 takes no argument"), "{outcome:#?}");
    // --explain says it in one line; learning cannot be asked to refuse.
    let outcome = Run::new(&sandboxify, &["--refuse-i386", "--deny", "uname", "--explain"]).run();
    assert!(
        outcome.stdout.contains("\n# i386 (int 0x80, 32-bit programs): refused, every call gets kill (refuse-i386)\n")
    );
    let learn = dir.join("learned");
    let outcome = Run::new(&sandboxify, &["--learn", learn.to_str().unwrap(), "--refuse-i386", "/bin/true"]).run();
    assert_ne!(outcome.code(), Some(0));
    assert!(outcome.stderr.contains("--refuse-i386"), "{outcome:#?}");
}
