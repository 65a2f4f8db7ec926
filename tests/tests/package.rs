//! The Debian package end to end: `packaging/build-deb` builds it, its file
//! list, control fields and lintian are checked, `dpkg -i` installs it
//! system-wide (replacing any installed version), the README's examples run
//! from the installed paths as root and as nobody, `man -w` finds the pages,
//! and `dpkg -r` removes every file. Needs root, as the whole suite does.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sandbox_tests::{Run, USERS, artifact, compile, fresh_dir, workspace};

const PACKAGE: &str = "sandbox-seccomp";
const LIBRARY: &str = "/usr/lib/x86_64-linux-gnu/libsandbox.so";
const SANDBOXIFY: &str = "/usr/bin/sandboxify";
const PATCHELF_HELPER: &str = "/usr/bin/patchelf-helper";
const EXECUTABLE: &str = "-rwxr-xr-x";
const DATA: &str = "-rw-r--r--";

/// Every file in the package, with its mode (all are owned by root:root).
const FILES: [(&str, &str); 17] = [
    ("/usr/bin/patchelf-helper", EXECUTABLE),
    ("/usr/bin/sandboxify", EXECUTABLE),
    ("/usr/bin/sandboxify-full", EXECUTABLE),
    ("/usr/lib/x86_64-linux-gnu/libsandbox.so", DATA),
    ("/usr/share/bash-completion/completions/patchelf-helper", DATA),
    ("/usr/share/bash-completion/completions/sandboxify", DATA),
    ("/usr/share/doc/sandbox-seccomp/README.md.gz", DATA),
    ("/usr/share/doc/sandbox-seccomp/changelog.Debian.gz", DATA),
    ("/usr/share/doc/sandbox-seccomp/copyright", DATA),
    ("/usr/share/fish/vendor_completions.d/patchelf-helper.fish", DATA),
    ("/usr/share/fish/vendor_completions.d/sandboxify.fish", DATA),
    ("/usr/share/lintian/overrides/sandbox-seccomp", DATA),
    ("/usr/share/man/man1/patchelf-helper.1.gz", DATA),
    ("/usr/share/man/man1/sandboxify.1.gz", DATA),
    ("/usr/share/man/man7/libsandbox.7.gz", DATA),
    ("/usr/share/zsh/vendor-completions/_patchelf-helper", DATA),
    ("/usr/share/zsh/vendor-completions/_sandboxify", DATA),
];

/// What the static glibc `uname.c` calls from its first instruction on
/// Debian 12 (the README's `sandboxify --allow` example).
const GLIBC_STATIC_MINIMAL: &str = "arch_prctl:brk:exit_group:getrandom:mprotect:newfstatat:prlimit64:readlink:rseq:set_robust_list:set_tid_address:uname:write";

/// Runs a tool with the test's own environment; panics with its output
/// unless it succeeds, otherwise returns its stdout.
fn succeed(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> String {
    let program = program.as_ref();
    let output = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("run {program:?}: {e}"));
    assert!(
        output.status.success(),
        "{program:?} {args:?}: {}\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Runs `packaging/build-deb` and returns the package it made.
fn build_package() -> PathBuf {
    succeed(workspace().join("packaging/build-deb"), &[]);
    let target = artifact("sandboxify").parent().unwrap().parent().unwrap().to_path_buf();
    let deb = target.join("debian").join(format!("{PACKAGE}_{}-1_amd64.deb", env!("CARGO_PKG_VERSION")));
    assert!(deb.exists(), "packaging/build-deb did not make {}", deb.display());
    deb
}

/// The package installed system-wide. Dropping it purges the package, so that
/// a failed assertion leaves nothing installed.
struct Installed;

impl Installed {
    fn install(deb: &Path) -> Installed {
        let installed = Installed;
        // Docker-style images keep man pages and documentation out with
        // path-exclude in /etc/dpkg/dpkg.cfg.d/; this test checks the whole
        // package, so it includes every path for this one install (the last
        // matching filter wins, and the command line comes after the
        // configuration files).
        succeed("dpkg", &["--path-include=/*", "-i", text(deb)]);
        installed
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").args(["--purge", PACKAGE]).output();
    }
}

#[test]
fn the_package_installs_runs_the_readme_examples_and_removes_cleanly() {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(euid, 0, "the package test installs system-wide: run it as root (tools/test)");
    let deb = build_package();
    check_contents(&deb);
    check_control_fields(&deb);
    let lint = Command::new("lintian").args(["--fail-on", "error,warning", text(&deb)]).output().expect("run lintian");
    assert!(lint.status.success(), "lintian:\n{}", String::from_utf8_lossy(&lint.stdout));

    let installed = Installed::install(&deb);
    for (path, _) in FILES {
        assert!(Path::new(path).is_file(), "{path} is not installed");
    }
    run_library_examples();
    run_sandboxify_examples();
    run_patchelf_helper_examples();
    let pages = succeed("man", &["-w", "sandboxify", "patchelf-helper", "libsandbox"]);
    assert_eq!(
        pages.lines().collect::<Vec<_>>(),
        [
            "/usr/share/man/man1/sandboxify.1.gz",
            "/usr/share/man/man1/patchelf-helper.1.gz",
            "/usr/share/man/man7/libsandbox.7.gz"
        ]
    );
    for tool in ["sandboxify", "patchelf-helper"] {
        let script = format!(". /usr/share/bash-completion/completions/{tool} && complete -p {tool}");
        let completion = succeed("bash", &["-c", &script]);
        assert!(completion.contains(&format!("-F _{} ", tool.replace('-', "__"))), "{completion}");
    }

    succeed("dpkg", &["-r", PACKAGE]);
    for (path, _) in FILES {
        assert!(!Path::new(path).exists(), "{path} is still there after dpkg -r");
    }
    assert!(!Path::new("/usr/share/doc/sandbox-seccomp").exists());
    // Without conffiles, nothing of the package is left for dpkg to know.
    let query = Command::new("dpkg-query").args(["-W", PACKAGE]).output().expect("run dpkg-query");
    assert!(!query.status.success(), "dpkg still knows {PACKAGE}: {}", String::from_utf8_lossy(&query.stdout));
    drop(installed);
}

/// `dpkg-deb -c`: exactly the expected files, modes and owner.
fn check_contents(deb: &Path) {
    let listing = succeed("dpkg-deb", &["-c", text(deb)]);
    let mut found: Vec<(String, String)> = Vec::new();
    for line in listing.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [mode, owner, _size, _date, _time, path] = fields[..] else {
            panic!("unexpected dpkg-deb -c line: {line}")
        };
        assert_eq!(owner, "root/root", "{line}");
        if mode.starts_with('d') {
            assert_eq!(mode, "drwxr-xr-x", "{line}");
        } else {
            found.push((path.trim_start_matches('.').to_string(), mode.to_string()));
        }
    }
    found.sort();
    let expected: Vec<(String, String)> = FILES.map(|(path, mode)| (path.to_string(), mode.to_string())).into();
    assert_eq!(found, expected);
}

/// Depends comes from the binaries: libsandbox.so needs libc.so.6,
/// patchelf-helper libc.so.6 and libgcc_s.so.1, and the static sandboxify
/// nothing; Built-Using names the glibc sandboxify contains.
fn check_control_fields(deb: &Path) {
    let depends = succeed("dpkg-deb", &["-f", text(deb), "Depends"]);
    let names: Vec<&str> = depends.split(',').map(|item| item.split_whitespace().next().unwrap()).collect();
    assert_eq!(names, ["libc6", "libgcc-s1"], "Depends: {depends}");
    let built_using = succeed("dpkg-deb", &["-f", text(deb), "Built-Using"]);
    assert!(built_using.starts_with("glibc (= "), "Built-Using: {built_using}");
    let version = succeed("dpkg-deb", &["-f", text(deb), "Version"]);
    assert_eq!(version.trim(), format!("{}-1", env!("CARGO_PKG_VERSION")));
}

/// The README's library examples, with the library's installed path.
fn run_library_examples() {
    let uname = compile("uname", &[]);
    for user in USERS {
        let run = |variables: &[(&str, &str)]| {
            let mut run = Run::new(&uname, &[]).env("LD_PRELOAD", LIBRARY).user(user);
            for (name, value) in variables {
                run = run.env(name, value);
            }
            run.run()
        };
        run(&[("SECCOMP_SYSCALL_DENY", "uname")]).assert_killed();
        assert_eq!(
            run(&[("SECCOMP_SYSCALL_ALLOW", "exit_group:newfstatat:uname:write")]).assert_success().stdout,
            "Linux\n"
        );
        let errno = run(&[("SECCOMP_SYSCALL_DENY", "uname=ENETDOWN")]);
        assert_eq!(errno.assert_code(1).stdout, "uname: Network is down\n");
        let log = run(&[("SECCOMP_SYSCALL_ALLOW", ""), ("SECCOMP_DEFAULT_ACTION", "log")]);
        assert_eq!(log.assert_success().stdout, "Linux\n");
        // Landlock rules: the installed library finds its helper beside it.
        let cat = |read_only: &str| {
            Run::new("/bin/cat", &["/etc/hostname"])
                .env("LD_PRELOAD", LIBRARY)
                .env("SANDBOX_FS_RO", read_only)
                .user(user)
                .run()
        };
        cat("/etc").assert_success();
        let denied = cat("/usr");
        assert_eq!(denied.assert_code(1).stderr, "/bin/cat: /etc/hostname: Permission denied\n");
    }
}

/// The README's sandboxify examples, and its version.
fn run_sandboxify_examples() {
    let static_uname = compile("uname", &["-static"]);
    let dynamic_uname = compile("uname", &[]);
    for user in USERS {
        let run = |args: &[&str], program: &Path| {
            let args: Vec<&str> = args.iter().copied().chain([text(program)]).collect();
            Run::new(SANDBOXIFY, &args).user(user).run()
        };
        run(&["--deny", "uname"], &static_uname).assert_killed();
        assert_eq!(run(&["--allow", GLIBC_STATIC_MINIMAL], &static_uname).assert_success().stdout, "Linux\n");
        // --preload finds the library at its installed path by default.
        let preload = run(&["--preload", "--allow", "exit_group:newfstatat:uname:write"], &dynamic_uname);
        assert_eq!(preload.assert_success().stdout, "Linux\n");
    }
    let version = Run::new(SANDBOXIFY, &["--version"]).run();
    assert_eq!(version.assert_success().stdout, format!("sandboxify {}\n", env!("CARGO_PKG_VERSION")));
}

/// The library made a dependency of a copy of a dynamic program: confined
/// by a policy in the environment, then by one recorded in the file.
fn run_patchelf_helper_examples() {
    let dir = fresh_dir("package");
    let uname = compile("uname", &[]);
    let (patched, attached) = (dir.join("uname-patched"), dir.join("uname-attached"));
    fs::copy(&uname, &patched).unwrap();
    fs::copy(&uname, &attached).unwrap();
    succeed(PATCHELF_HELPER, &["--add-needed", LIBRARY, text(&patched)]);
    succeed(PATCHELF_HELPER, &["--add-needed", LIBRARY, "--policy", "deny uname", text(&attached)]);
    for user in USERS {
        assert_eq!(Run::new(&patched, &[]).user(user).run().assert_success().stdout, "Linux\n");
        Run::new(&patched, &[]).env("SECCOMP_SYSCALL_DENY", "uname").user(user).run().assert_killed();
        Run::new(&attached, &[]).user(user).run().assert_killed();
    }
    let version = Run::new(PATCHELF_HELPER, &["--version"]).run();
    assert_eq!(version.assert_success().stdout, format!("patchelf-helper {}\n", env!("CARGO_PKG_VERSION")));
}
