//! Regressions found with everyday Debian programs: each runs plainly and
//! then under the sandbox on every path, and must end the same way, print
//! the same and leave the same files. (The wide matrix, about sixty
//! programs by every mode, is `tests/compat`; these are the programs and
//! combinations that once broke.)

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sandbox_tests::{Outcome, Run, USERS, User, artifact, fresh_dir, library, sandboxify};

/// How a shell command is put under the sandbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    /// `LD_PRELOAD=libsandbox.so`, the policy in the environment.
    Preload,
    /// A copy of `sh` patched with `patchelf-helper --add-needed`, the
    /// policy in the environment.
    Patched,
    /// A patched copy of `sh` with the policy recorded in it.
    Attached,
    /// `sandboxify` with the policy as variables.
    Sandboxify,
    /// `sandboxify --preload`.
    SandboxifyPreload,
}

const PATHS: [Via; 5] = [Via::Preload, Via::Patched, Via::Attached, Via::Sandboxify, Via::SandboxifyPreload];

/// A copy of `/bin/sh` that loads libsandbox.so, with `policy` recorded in
/// it if given; made once per policy.
fn patched_shell(policy: Option<&str>) -> PathBuf {
    static MADE: Mutex<Vec<(Option<String>, PathBuf)>> = Mutex::new(Vec::new());
    let mut made = MADE.lock().unwrap();
    if let Some((_, copy)) = made.iter().find(|(recorded, _)| recorded.as_deref() == policy) {
        return copy.clone();
    }
    let copy = fresh_dir(&format!("real-patched-{}", made.len())).join("sh");
    fs::copy("/bin/sh", &copy).unwrap();
    let library = library();
    let mut args = vec!["--add-needed", library.to_str().unwrap()];
    if let Some(policy) = policy {
        args.extend(["--policy", policy]);
    }
    args.push(copy.to_str().unwrap());
    Run::new(artifact("patchelf-helper"), &args).run().assert_success();
    made.push((policy.map(str::to_owned), copy.clone()));
    copy
}

/// Runs `script` with `sh -c` in `dir`, plainly (`via` is `None`) or
/// through `via` with the policy `variables` (the attached path records
/// the seccomp ones and passes the others), as `user`.
fn shell(via: Option<Via>, variables: &[(&str, &str)], script: &str, dir: &Path, user: User) -> Outcome {
    let seccomp = |(name, _): &&(&str, &str)| name.starts_with("SECCOMP_");
    let mut env: Vec<(&str, &str)> = variables.to_vec();
    let mut run = match via {
        None => Run::new("/bin/sh", &["-c", script]),
        Some(Via::Preload) => Run::new("/bin/sh", &["-c", script]).preload(),
        Some(Via::Patched) => Run::new(patched_shell(None), &["-c", script]),
        Some(Via::Attached) => {
            let recorded: Vec<String> = variables
                .iter()
                .filter(seccomp)
                .map(|(name, value)| match *name {
                    "SECCOMP_SYSCALL_DENY" => format!("deny {value}"),
                    "SECCOMP_SYSCALL_ALLOW" => format!("allow {value}"),
                    "SECCOMP_DEFAULT_ACTION" => format!("default-action {value}"),
                    other => panic!("{other} cannot be recorded"),
                })
                .collect();
            env.retain(|variable| !seccomp(&variable));
            // The attached path needs a seccomp policy to record.
            let recorded = if recorded.is_empty() { "deny kexec_load".to_owned() } else { recorded.join("\n") };
            Run::new(patched_shell(Some(&recorded)), &["-c", script])
        }
        Some(Via::Sandboxify) => Run::new(sandboxify(), &["/bin/sh", "-c", script]),
        Some(Via::SandboxifyPreload) => Run::new(sandboxify(), &["--preload", "/bin/sh", "-c", script]),
    };
    for (name, value) in env {
        run = run.env(name, value);
    }
    run.env("HOME", dir).env("FOO", "bar baz").dir(dir).user(user).run()
}

/// A fresh directory `user` can write to, holding `files`.
fn work_dir(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = fresh_dir(name);
    for (file, text) in files {
        let path = dir.join(file);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
    }
    let chmod = Run::new("chmod", &["-R", "a+rwX", dir.to_str().unwrap()]).run();
    chmod.assert_success();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o1777)).unwrap();
    dir
}

/// Runs `script` plainly and then on every path under each of `policies`,
/// as root and as nobody, each in a fresh copy of `files`, and asserts the
/// same status and output each time (and the same errors with `stderr`).
fn same_everywhere(name: &str, files: &[(&str, &str)], script: &str, policies: &[&[(&str, &str)]], stderr: bool) {
    for user in USERS {
        let plain = shell(None, &[], script, &work_dir(name, files), user);
        assert!(plain.code().is_some(), "{name} as {user:?}: {plain:#?}");
        for variables in policies {
            for via in PATHS {
                let dir = work_dir(name, files);
                let outcome = shell(Some(via), variables, script, &dir, user);
                let context = format!("{name} via {via:?} as {user:?} with {variables:?}");
                assert_eq!(outcome.status, plain.status, "{context}: {outcome:#?}\nplain: {plain:#?}");
                assert_eq!(outcome.stdout, plain.stdout, "{context}: {outcome:#?}");
                if stderr {
                    assert_eq!(outcome.stderr, plain.stderr, "{context}: {outcome:#?}");
                }
            }
        }
    }
}

/// Any Landlock variable used to make the library dlopen a helper from its
/// constructor, which runs before libc's initialisation: ld.so then ran
/// libc's with no arguments and no environment. `sh -c`, `env`, `make`,
/// `xargs`, `find -exec` and awk's ENVIRON crashed; bash, python3, perl and
/// git lost their environment (and their children LD_PRELOAD); error
/// messages lost the program's name.
#[test]
fn landlock_variables_leave_the_environment_and_the_arguments_alone() {
    let script = r#"
        echo "sh: $HOME $FOO"
        env | grep -E '^(FOO|HOME|LANG|PATH)=' | sort
        printenv FOO
        printf 'all:\n\t@echo "make: $$FOO"\n' > Makefile && make -s
        echo one two | xargs echo xargs:
        find . -name Makefile -exec echo find: {} \;
        awk 'BEGIN { print "awk: " ENVIRON["FOO"] }'
        bash -c 'echo "bash: $FOO $0"' named
        python3 -c 'import os, sys; print("python3:", os.environ["FOO"], sys.argv[1:])' a b
        perl -e 'print "perl: $ENV{FOO} @ARGV\n"' c d
        GIT_COMMITTER_NAME=Sandbox GIT_COMMITTER_EMAIL=s@example.invalid git var GIT_COMMITTER_IDENT | cut -d' ' -f1-2
        ls /nonexistent 2>&1
        printf 'int main(void) { return 3; }\n' > t.c && gcc -pipe -o t t.c && ./t; echo "gcc: $?"
    "#;
    let policies: &[&[(&str, &str)]] = &[
        &[("SANDBOX_NET_BIND", "80")],
        &[("SANDBOX_FS_RO", "/"), ("SANDBOX_FS_RW", "~:/tmp"), ("SANDBOX_FS_DENY", "")],
        &[("SANDBOX_FS_RO", "/"), ("SANDBOX_FS_RW", "~:/tmp"), ("SECCOMP_SYSCALL_DENY", "ptrace:kexec_load")],
    ];
    same_everywhere("landlock-env", &[], script, policies, true);
}

/// The domain that keeps tracing inside the sandbox used to handle one
/// Landlock right only, and a domain that does not handle and grant REFER
/// refuses every link or rename across directories: `ln a d/x`, `git mv`,
/// `os.replace` and `git clone --local` failed with EXDEV under every
/// policy, and `mv` quietly fell back to copying. Each move here must stay
/// a move (the inode is kept) on every path, under an empty deny list, a
/// deny list, log mode and Landlock rules.
#[test]
fn moves_across_directories_stay_moves() {
    let script = r#"
        set -e
        before=$(stat -c %i a)
        ln a d/linked && echo "links: $(stat -c %h a)"
        mv a d/moved && [ "$(stat -c %i d/moved)" = "$before" ] && echo "mv kept the inode"
        python3 -c 'import os; os.replace("b", "d/replaced"); print("os.replace:", sorted(os.listdir("d")))'
        export GIT_AUTHOR_NAME=a GIT_AUTHOR_EMAIL=a@a GIT_COMMITTER_NAME=a GIT_COMMITTER_EMAIL=a@a
        export GIT_AUTHOR_DATE=@0 GIT_COMMITTER_DATE=@0
        git init -q repo && cd repo && mkdir sub && echo x > f && git add f && git commit -qm one
        git mv f sub/f && git commit -qm two && git log --format=%s --name-status | tr '\n' ' ' && echo
        cd .. && git clone -q --local repo clone && git -C clone log --format=%H | wc -l
        object=$(find clone/.git/objects -type f -path '*/objects/??/*' | head -n 1)
        echo "clone shares objects: $(stat -c %h "$object")"
    "#;
    let files = [("a", "a\n"), ("b", "b\n"), ("d/.keep", "")];
    let policies: &[&[(&str, &str)]] = &[
        &[("SECCOMP_SYSCALL_DENY", "")],
        &[("SECCOMP_SYSCALL_DENY", "uname:ptrace")],
        &[("SECCOMP_SYSCALL_ALLOW", ""), ("SECCOMP_DEFAULT_ACTION", "log"), ("SANDBOX_REPORT", "/dev/null")],
        &[("SECCOMP_SYSCALL_DENY", "uname"), ("SANDBOX_FS_RO", "/"), ("SANDBOX_FS_RW", "~")],
    ];
    same_everywhere("moves", &files, script, policies, false);
}

/// The domain that keeps tracing inside the sandbox also keeps the program
/// from reading the `/proc` entries of outside processes that the kernel
/// guards as it guards tracing (the README says which, and why this is
/// kept): `lsof` on an outside process says "Permission denied", `ps`
/// works, and so does everything about the sandbox's own processes.
#[test]
fn proc_entries_of_outside_processes_that_tracing_protects_are_refused() {
    let script = r#"
        outside=$1
        readlink /proc/$outside/exe > /dev/null 2>&1 && echo "outside exe: read" || echo "outside exe: refused"
        readlink /proc/$outside/cwd > /dev/null 2>&1 && echo "outside cwd: read" || echo "outside cwd: refused"
        echo "outside comm: $(ps -o comm= -p "$outside")"
        sleep 5 & inside=$!
        # Until the child has exec'd sleep.
        for i in $(seq 500); do [ "$(readlink /proc/$inside/exe)" = /usr/bin/sleep ] && break; done
        echo "inside exe: $(readlink /proc/$inside/exe)"
        kill $inside
    "#;
    let dir = work_dir("proc-entries", &[]);
    for user in USERS {
        let mut outside = std::process::Command::new("sleep");
        outside.arg("30");
        if user == User::Nobody {
            outside.uid(65534).gid(65534);
        }
        let mut outside = outside.spawn().unwrap();
        let pid = outside.id().to_string();
        for via in PATHS {
            let script = format!("set -- {pid}\n{script}");
            let outcome = shell(Some(via), &[("SECCOMP_SYSCALL_DENY", "kexec_load")], &script, &dir, user);
            outcome.assert_success();
            assert_eq!(
                outcome.stdout,
                "outside exe: refused\noutside cwd: refused\noutside comm: sleep\ninside exe: /usr/bin/sleep\n",
                "{via:?} as {user:?}: {outcome:#?}"
            );
        }
        let plain = shell(None, &[], &format!("set -- {pid}\n{script}"), &dir, user);
        assert!(plain.stdout.starts_with("outside exe: read\noutside cwd: read\n"), "{plain:#?}");
        outside.kill().unwrap();
        outside.wait().unwrap();
    }
}

/// A domain that handles any filesystem right refuses every mount, even in
/// a mount namespace the program owns: with the domain that keeps tracing
/// inside the sandbox, `unshare -m` (and every container tool) failed under
/// every policy. The domain handles a scope alone now (Landlock ABI 6).
#[test]
fn mounts_in_a_namespace_of_its_own_still_work() {
    let script =
        "unshare -r -m sh -c 'mount -t tmpfs tmpfs /mnt && touch /mnt/x && ls /mnt && umount /mnt && echo done'";
    let policies: &[&[(&str, &str)]] = &[&[("SECCOMP_SYSCALL_DENY", "")], &[("SECCOMP_SYSCALL_DENY", "uname:ptrace")]];
    same_everywhere("mounts", &[], script, policies, true);
}

/// The other thing the tracing domain changes, its scope: an abstract UNIX
/// socket made outside the sandbox cannot be connected to (EPERM), on
/// every path; one made inside can.
#[test]
fn an_abstract_socket_made_outside_is_out_of_reach() {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("sandbox-real-{}", std::process::id());
    let address = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let _outside = std::os::unix::net::UnixListener::bind_addr(&address).unwrap();
    let script = format!(
        r#"python3 -c '
import socket
def reach(name):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect("\0" + name); return "reached"
    except OSError as error:
        return error.strerror
inside = socket.socket(socket.AF_UNIX); inside.bind("\0{name}-inside"); inside.listen()
print("outside:", reach("{name}")); print("inside:", reach("{name}-inside"))'"#
    );
    let dir = work_dir("abstract", &[]);
    for user in USERS {
        let plain = shell(None, &[], &script, &dir, user);
        assert_eq!(plain.stdout, "outside: reached\ninside: reached\n", "{plain:#?}");
        for via in PATHS {
            let outcome = shell(Some(via), &[("SECCOMP_SYSCALL_DENY", "kexec_load")], &script, &dir, user);
            assert_eq!(
                outcome.stdout, "outside: Operation not permitted\ninside: reached\n",
                "{via:?} {user:?}: {outcome:#?}"
            );
        }
    }
}
