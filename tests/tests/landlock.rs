//! Landlock rules (`SANDBOX_FS_*`, `SANDBOX_NET_*`) on a temporary tree, for
//! the library and for sandboxify, as root and as an ordinary user. The
//! tree is world-writable, so every denial seen comes from Landlock, not from
//! file permissions; each test also runs its operations unconfined to prove it.

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use sandbox_tests::{Outcome, Run, USERS, User, compile, fresh_dir, library, privileged_copy, sandboxify};

#[derive(Clone, Copy, Debug)]
enum Via {
    /// `LD_PRELOAD=libsandbox.so` on the dynamic probe.
    Library,
    /// `sandboxify` on the static probe.
    Sandboxify,
}

const VIAS: [Via; 2] = [Via::Library, Via::Sandboxify];

/// One operation of `fs-probe` and the result it must get: `ok` or an errno name.
struct Check {
    op: &'static str,
    arg: String,
    result: &'static str,
}

fn check(op: &'static str, arg: impl Into<String>, result: &'static str) -> Check {
    Check { op, arg: arg.into(), result }
}

/// The same operations, all expected to succeed: the unconfined control.
fn all_ok(checks: &[Check]) -> Vec<Check> {
    checks.iter().map(|c| check(c.op, c.arg.clone(), "ok")).collect()
}

fn probe(via: Via) -> PathBuf {
    match via {
        Via::Library => compile("fs-probe", &[]),
        Via::Sandboxify => compile("fs-probe", &["-static"]),
    }
}

/// Runs the probe with `args` under `env`, through `via` (`None`: unconfined).
fn run(via: Option<Via>, env: &[(&str, &str)], args: &[&str], user: User) -> Outcome {
    let probe = probe(via.unwrap_or(Via::Library));
    let mut run = match via {
        Some(Via::Sandboxify) => {
            let command: Vec<&str> = [probe.to_str().unwrap()].into_iter().chain(args.iter().copied()).collect();
            Run::new(sandboxify(), &command)
        }
        Some(Via::Library) => Run::new(&probe, args).preload(),
        None => Run::new(&probe, args),
    };
    for (key, value) in env {
        run = run.env(key, value);
    }
    run.user(user).run()
}

/// Runs `checks` and asserts each result, a clean exit and silence on stderr.
#[track_caller]
fn expect(via: Option<Via>, env: &[(&str, &str)], user: User, checks: &[Check]) {
    let args: Vec<&str> = checks.iter().flat_map(|c| [c.op, c.arg.as_str()]).collect();
    let outcome = run(via, env, &args, user);
    let wanted: Vec<String> = checks.iter().map(|c| format!("{} {} {}", c.op, c.arg, c.result)).collect();
    let got: Vec<&str> = outcome.stdout.lines().collect();
    assert_eq!(got, wanted, "via {via:?} as {user:?} with {env:?}: {outcome:#?}");
    outcome.assert_success();
    assert_eq!(outcome.stderr, "", "success is silent: {outcome:#?}");
}

/// A world-writable tree: ro/f, ro/sub/g, rw/h, rw/x, rw2/, secret/{s1,s2,t}.
struct Tree(PathBuf);

impl Tree {
    fn new(name: &str) -> Tree {
        let root = fresh_dir(name);
        for dir in ["ro/sub", "rw", "rw2", "secret"] {
            fs::create_dir_all(root.join(dir)).unwrap();
        }
        for file in ["ro/f", "ro/sub/g", "rw/h", "rw/x", "secret/s1", "secret/s2", "secret/t"] {
            fs::write(root.join(file), "data\n").unwrap();
        }
        for (entry, mode) in [("ro", 0o777), ("ro/sub", 0o777), ("rw", 0o777), ("rw2", 0o777), ("secret", 0o777)]
            .into_iter()
            .chain(["ro/f", "ro/sub/g", "rw/h", "rw/x", "secret/s1", "secret/s2", "secret/t"].map(|file| (file, 0o666)))
        {
            fs::set_permissions(root.join(entry), fs::Permissions::from_mode(mode)).unwrap();
        }
        Tree(root)
    }

    fn path(&self, relative: &str) -> String {
        self.0.join(relative).to_str().unwrap().to_owned()
    }
}

/// Runs `test` for every injection path and user, each on a fresh tree.
fn each(name: &str, test: impl Fn(Via, User, &Tree)) {
    for via in VIAS {
        for user in USERS {
            test(via, user, &Tree::new(&format!("landlock-{name}-{via:?}-{user:?}")));
        }
    }
}

#[test]
fn a_read_only_tree_can_be_read_and_nothing_else() {
    each("ro", |via, user, tree| {
        let checks = [
            check("read", tree.path("ro/f"), "ok"),
            check("read", tree.path("ro/sub/g"), "ok"),
            check("list", tree.path("ro"), "ok"),
            check("write", tree.path("ro/f"), "EACCES"),
            check("truncate", tree.path("ro/sub/g"), "EACCES"),
            check("create", tree.path("ro/new"), "EACCES"),
            check("mkdir", tree.path("ro/d"), "EACCES"),
            check("remove", tree.path("ro/f"), "EACCES"),
            check("read", tree.path("rw/h"), "EACCES"),
            check("exec", "/bin/true", "EACCES"),
        ];
        expect(None, &[], user, &all_ok(&checks[..3]));
        expect(Some(via), &[("SANDBOX_FS_RO", &tree.path("ro"))], user, &checks);
    });
}

#[test]
fn read_write_trees_take_writes_creations_removals_renames_and_truncation() {
    each("rw", |via, user, tree| {
        let env = [
            ("SANDBOX_FS_RO", tree.path("ro")),
            ("SANDBOX_FS_RW", format!("{}:{}", tree.path("rw"), tree.path("rw2"))),
        ];
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let checks = [
            check("write", tree.path("rw/h"), "ok"),
            check("truncate", tree.path("rw/x"), "ok"),
            check("create", tree.path("rw/new"), "ok"),
            check("mkdir", tree.path("rw/d"), "ok"),
            check("remove", tree.path("rw/new"), "ok"),
            check("rename", format!("{}>{}", tree.path("rw/h"), tree.path("rw/h2")), "ok"),
            // Across trees: needs the refer right on both.
            check("rename", format!("{}>{}", tree.path("rw/h2"), tree.path("rw2/h")), "ok"),
            check("read", tree.path("rw2/h"), "ok"),
            // Out of a read-only tree: the source cannot be removed.
            check("rename", format!("{}>{}", tree.path("ro/f"), tree.path("rw/f")), "EACCES"),
            check("write", tree.path("ro/f"), "EACCES"),
            check("create", tree.path("secret/new"), "EACCES"),
        ];
        expect(Some(via), &env, user, &checks);
    });
}

/// `SANDBOX_FS_DENY=.../secret/s*` under a read-write grant of secret/: the
/// matching files are out of reach, the sibling keeps every right, and
/// nothing can be created directly in the carved directory (the README's
/// rule for files created later).
#[test]
fn a_glob_carve_out_denies_the_matches_and_keeps_the_siblings() {
    each("glob", |via, user, tree| {
        let deny = tree.path("secret/s*");
        let env = [("SANDBOX_FS_RW", tree.path("secret")), ("SANDBOX_FS_DENY", deny)];
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let checks = [
            check("read", tree.path("secret/s1"), "EACCES"),
            check("write", tree.path("secret/s2"), "EACCES"),
            check("truncate", tree.path("secret/s2"), "EACCES"),
            check("remove", tree.path("secret/s1"), "EACCES"),
            check("rename", format!("{}>{}", tree.path("secret/s1"), tree.path("secret/u")), "EACCES"),
            check("read", tree.path("secret/t"), "ok"),
            check("write", tree.path("secret/t"), "ok"),
            check("truncate", tree.path("secret/t"), "ok"),
            check("list", tree.path("secret"), "ok"),
            check("create", tree.path("secret/later"), "EACCES"),
        ];
        expect(None, &[], user, &all_ok(&checks[..3]));
        expect(Some(via), &env, user, &checks);
        assert_eq!(fs::read_to_string(tree.path("secret/s1")).unwrap(), "data\n");
    });
}

/// The probe confined through `via` as `user`, as a shell command's start
/// (to follow with the probe's arguments and the sandbox's variables before it).
fn in_shell(via: Via, user: User) -> String {
    let probe = probe(via);
    let confined = match via {
        Via::Library => format!("LD_PRELOAD={} {}", library().display(), probe.display()),
        Via::Sandboxify => format!("{} {}", sandboxify().display(), probe.display()),
    };
    match user {
        User::Root => format!("env {confined}"),
        User::Nobody => format!("setpriv --reuid=65534 --regid=65534 --clear-groups env {confined}"),
    }
}

/// Once a hole (fixed): Landlock's rules hold on to files, not names, and a
/// carve-out's siblings each got a rule, so a sibling that was another name
/// for the denied file (a hard link) or for its directory (a bind mount)
/// granted the denied file by its own path. Such a sibling is now left
/// out, and a tree asked for that is one is refused.
#[test]
fn another_name_for_a_carved_out_entry_never_grants_it() {
    each("alias", |via, user, tree| {
        fs::hard_link(tree.path("secret/s1"), tree.path("secret/k")).unwrap();
        let env = [("SANDBOX_FS_RW", tree.path("secret")), ("SANDBOX_FS_DENY", tree.path("secret/s1"))];
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let checks = [
            check("read", tree.path("secret/s1"), "EACCES"),
            check("write", tree.path("secret/s1"), "EACCES"),
            check("read", tree.path("secret/k"), "EACCES"),
            check("read", tree.path("secret/t"), "ok"),
        ];
        expect(None, &[], user, &all_ok(&checks));
        expect(Some(via), &env, user, &checks);
        // The hard link asked for as a tree of its own: refused.
        let asked = format!("{}:{}", tree.path("secret"), tree.path("secret/k"));
        let outcome = run(Some(via), &[("SANDBOX_FS_RW", &asked), env[1]], &["read", "/etc/hostname"], user);
        outcome.assert_code(125);
        assert_eq!(outcome.stdout, "", "{outcome:#?}");
        assert_eq!(outcome.stderr.lines().count(), 1, "{outcome:#?}");
        assert!(outcome.stderr.contains(&format!("{} is another name", tree.path("secret/k"))), "{outcome:#?}");
    });
}

/// A bind mount (made by root: here in the test's own mount namespace) of
/// the carved directory, among the siblings or asked for as a tree. (The
/// sibling `t` is granted: its rule reaches it by any name.)
#[test]
fn a_bind_mount_of_a_carved_directory_never_grants_it() {
    for via in VIAS {
        for user in USERS {
            let tree = Tree::new(&format!("landlock-bind-{via:?}-{user:?}"));
            fs::create_dir(tree.path("view")).unwrap();
            let (root, secret, view) = (tree.0.to_str().unwrap().to_owned(), tree.path("secret"), tree.path("view"));
            let confined = in_shell(via, user);
            let deny = tree.path("secret/s1");
            let script = format!(
                "mount --bind {secret} {view} || exit 99\n\
                 SANDBOX_FS_RW={root} SANDBOX_FS_DENY={deny} {confined} \
                   read {deny} read {view}/s1 read {view}/t read {root}/rw/h\n\
                 echo status $?\n\
                 SANDBOX_FS_RW={root}/rw:{view} SANDBOX_FS_DENY={deny} {confined} read {root}/rw/h\n\
                 echo status $?"
            );
            let outcome = Run::new("unshare", &["--mount", "--propagation", "private", "sh", "-c", &script]).run();
            let carved_out = format!("another name (a bind mount or a hard link) for {deny}, which is carved out");
            assert!(outcome.stdout.starts_with(&format!(
                "read {deny} EACCES\nread {view}/s1 EACCES\nread {view}/t ok\nread {root}/rw/h ok\nstatus 0\nstatus 125\n"
            )), "{via:?} {user:?}: {outcome:#?}");
            assert!(outcome.stderr.contains(&format!("{view} is {carved_out}")), "{via:?} {user:?}: {outcome:#?}");
        }
    }
}

/// The same beneath a denied directory (found by a red-team pass): a bind
/// mount of a part of it, a hard link to a file in it, among the siblings
/// or asked for as a tree, granted that file by its own path.
#[test]
fn another_name_for_what_a_denied_directory_holds_never_grants_it() {
    for via in VIAS {
        for user in USERS {
            let tree = Tree::new(&format!("landlock-beneath-{via:?}-{user:?}"));
            for dir in ["secret/sub", "view", "outside/view"] {
                fs::create_dir_all(tree.path(dir)).unwrap();
            }
            fs::write(tree.path("secret/sub/data"), "data\n").unwrap();
            fs::set_permissions(tree.path("secret/sub/data"), fs::Permissions::from_mode(0o666)).unwrap();
            fs::hard_link(tree.path("secret/t"), tree.path("keep")).unwrap();
            let (root, denied) = (tree.0.to_str().unwrap().to_owned(), tree.path("secret"));
            let (sub, view, outside) = (tree.path("secret/sub"), tree.path("view"), tree.path("outside/view"));
            let confined = in_shell(via, user);
            let script = format!(
                "mount --bind {sub} {view} && mount --bind {sub} {outside} || exit 99\n\
                 SANDBOX_FS_RW={root} SANDBOX_FS_DENY={denied} {confined} \
                   read {denied}/sub/data write {denied}/sub/data read {denied}/t read {root}/keep read {root}/rw/h\n\
                 echo status $?\n\
                 SANDBOX_FS_RW={root}/rw:{outside} SANDBOX_FS_DENY={denied} {confined} read {root}/rw/h\n\
                 echo status $?"
            );
            let outcome = Run::new("unshare", &["--mount", "--propagation", "private", "sh", "-c", &script]).run();
            assert!(
                outcome.stdout.starts_with(&format!(
                    "read {denied}/sub/data EACCES\nwrite {denied}/sub/data EACCES\nread {denied}/t EACCES\n\
                     read {root}/keep EACCES\nread {root}/rw/h ok\nstatus 0\nstatus 125\n"
                )),
                "{via:?} {user:?}: {outcome:#?}"
            );
            assert!(outcome.stderr.contains(&format!("{outside} is another name")), "{via:?} {user:?}: {outcome:#?}");
        }
    }
}

/// With file rules, the devices every program expects stay usable (a shell
/// redirecting to /dev/null must not fail because the rules forgot it),
/// each with the rights it needs only, unless `SANDBOX_FS_DEVICES=0` (or
/// `--fs-no-devices`) leaves them out or a carve-out names one.
#[test]
fn the_devices_every_program_expects_come_with_file_rules() {
    each("devices", |via, user, tree| {
        let ro = tree.path("ro");
        let granted = [
            check("write", "/dev/null", "ok"),
            check("read", "/dev/zero", "ok"),
            // Opened: the write itself fails, as it always does there.
            check("write", "/dev/full", "ENOSPC"),
            check("read", "/dev/urandom", "ok"),
            check("read", "/dev/random", "ok"),
            check("write", "/dev/urandom", "EACCES"),
            check("read", "/dev/shm", "EACCES"),
        ];
        expect(Some(via), &[("SANDBOX_FS_RO", &ro)], user, &granted);
        let left_out = [check("write", "/dev/null", "EACCES"), check("read", "/dev/urandom", "EACCES")];
        expect(Some(via), &[("SANDBOX_FS_RO", &ro), ("SANDBOX_FS_DEVICES", "0")], user, &left_out);
        let carved = [check("write", "/dev/null", "EACCES"), check("read", "/dev/zero", "ok")];
        expect(Some(via), &[("SANDBOX_FS_RO", &ro), ("SANDBOX_FS_DENY", "/dev/null")], user, &carved);
        // Network rules alone restrict no file.
        expect(Some(via), &[("SANDBOX_NET_BIND", "")], user, &[check("read", tree.path("rw/h"), "ok")]);
    });
}

/// The terminal a program starts on is one of those devices: under a
/// read-only root it can still write to `/dev/tty` and to its terminal by
/// name (`script` gives it a pseudo-terminal of the user's own).
#[test]
fn the_terminal_the_program_starts_on_stays_writable() {
    let script = "echo a > \"$(tty)\" && echo b > /dev/tty && echo done";
    for via in VIAS {
        for user in USERS {
            let inner = match via {
                Via::Library => format!("env LD_PRELOAD={} SANDBOX_FS_RO=/ sh -c '{script}'", library().display()),
                Via::Sandboxify => format!("{} --fs-ro / sh -c '{script}'", sandboxify().display()),
            };
            let outcome = Run::new("script", &["-qec", &inner, "/dev/null"]).user(user).run();
            outcome.assert_success();
            assert_eq!(outcome.stdout.replace('\r', ""), "a\nb\ndone\n", "{via:?} {user:?}: {outcome:#?}");
            let outcome = Run::new(
                "script",
                &[
                    "-qec",
                    &inner
                        .replace("--fs-ro /", "--fs-ro / --fs-no-devices")
                        .replace("SANDBOX_FS_RO=/", "SANDBOX_FS_RO=/ SANDBOX_FS_DEVICES=0"),
                    "/dev/null",
                ],
            )
            .user(user)
            .run();
            assert!(outcome.stdout.contains("Permission denied"), "{via:?} {user:?}: {outcome:#?}");
        }
    }
}

/// A file the caller opened standard input, output or error on, outside
/// the granted trees (`program 2>log <input`), can be opened again by name
/// (`/dev/stderr`, `/dev/stdin`), as unconfined, for what its descriptor was
/// opened for: a shell's `echo x > /dev/stderr` works. A carve-out naming
/// the file still denies it.
#[test]
fn the_files_standard_streams_are_open_on_can_be_opened_again() {
    let script = "echo x > /dev/stderr && read line < /dev/stdin && echo \"got $line\"";
    for via in VIAS {
        for user in USERS {
            let tree = Tree::new(&format!("landlock-standard-{via:?}-{user:?}"));
            let (log, input) = (tree.path("secret/s1"), tree.path("secret/s2"));
            let confined = |carve_out: bool| match via {
                Via::Library => {
                    let deny = if carve_out { format!("SANDBOX_FS_DENY={log}") } else { String::new() };
                    format!("env LD_PRELOAD={} SANDBOX_FS_RO=/usr:/etc {deny} sh -c '{script}'", library().display())
                }
                Via::Sandboxify => {
                    let deny = if carve_out { format!("--fs-deny {log}") } else { String::new() };
                    format!("{} --fs-ro /usr:/etc {deny} sh -c '{script}'", sandboxify().display())
                }
            };
            let caller =
                |inner: &str| Run::new("sh", &["-c", &format!("exec 2>{log} <{input}; exec {inner}")]).user(user).run();
            for inner in [format!("sh -c '{script}'"), confined(false)] {
                let outcome = caller(&inner);
                let context = format!("{inner} as {user:?}: {outcome:#?}");
                outcome.assert_success();
                assert_eq!(outcome.stdout, "got data\n", "{context}");
                assert_eq!(fs::read_to_string(&log).unwrap(), "x\n", "{context}");
            }
            let outcome = caller(&confined(true));
            assert!(!outcome.status.success(), "{via:?} as {user:?}: {outcome:#?}");
            let written = fs::read_to_string(&log).unwrap();
            assert!(written.contains("/dev/stderr: Permission denied"), "{via:?} as {user:?}: {written:?}");
        }
    }
}

/// Once a bug (fixed): with network rules the library adds a seccomp guard
/// of its own, which it installed after the environment's allow list; the
/// install's own calls (prctl, seccomp) were then the list's to refuse, and
/// a program the list allows was killed as it started. The allow list now
/// goes in last: a list learned for `/bin/true` with the same rules runs it.
#[test]
fn an_allow_list_with_network_rules_runs_what_it_allows() {
    let list = fresh_dir("landlock-allow-net").join("true.list");
    let learn = ["--learn", list.to_str().unwrap(), "--preload", "--net-connect", "443", "--", "/bin/true"];
    Run::new(sandboxify(), &learn).run().assert_success();
    let learned = fs::read_to_string(&list).unwrap();
    let allow = learned.trim().strip_prefix("SECCOMP_SYSCALL_ALLOW=").expect("a learned list");
    for user in USERS {
        for (variable, value) in [("SANDBOX_NET_CONNECT", "443"), ("SANDBOX_NET_TCP_ONLY", "1")] {
            let run = Run::new("/bin/true", &[]).preload().env("SECCOMP_SYSCALL_ALLOW", allow).env(variable, value);
            let outcome = run.user(user).run();
            outcome.assert_success();
            assert_eq!(outcome.stderr, "", "{variable} as {user:?}: {outcome:#?}");
        }
    }
}

/// sandboxify's Landlock options add up when repeated, as bubblewrap's
/// binds do, and the `--fs-no-devices` switch is the variable's.
#[test]
fn repeated_options_add_up() {
    let probe = probe(Via::Sandboxify);
    for user in USERS {
        let tree = Tree::new(&format!("landlock-repeated-{user:?}"));
        let (rw, rw2) = (tree.path("rw"), tree.path("rw2"));
        let outcome = Run::new(
            sandboxify(),
            &[
                "--fs-rw",
                &rw,
                "--fs-rw",
                &rw2,
                "--fs-ro",
                &tree.path("ro"),
                "--fs-no-devices",
                probe.to_str().unwrap(),
                "write",
                &format!("{rw}/h"),
                "create",
                &format!("{rw2}/new"),
                "read",
                &tree.path("ro/f"),
                "write",
                "/dev/null",
                "read",
                &tree.path("secret/t"),
            ],
        )
        .user(user)
        .run();
        outcome.assert_success();
        assert_eq!(
            outcome.stdout,
            format!(
                "write {rw}/h ok\ncreate {rw2}/new ok\nread {}/ro/f ok\nwrite /dev/null EACCES\nread {}/secret/t EACCES\n",
                tree.0.display(),
                tree.0.display()
            )
        );
    }
}

/// Rules keep the program's signals and abstract UNIX sockets inside the
/// sandbox too (Landlock ABI 6's scopes), which no file or port rule
/// covers: a process started outside cannot be signalled, an abstract
/// socket made outside cannot be reached.
#[test]
fn with_rules_signals_and_abstract_sockets_stay_inside() {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("sandbox-tests-{}", std::process::id());
    let address = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let _listener = std::os::unix::net::UnixListener::bind_addr(&address).unwrap();
    for via in VIAS {
        for user in USERS {
            let mut outside = std::process::Command::new("sleep");
            outside.arg("30");
            if user == User::Nobody {
                std::os::unix::process::CommandExt::uid(&mut outside, 65534);
            }
            let mut outside = outside.spawn().unwrap();
            let pid = outside.id().to_string();
            let checks = [check("signal", pid.clone(), "EPERM"), check("abstract", name.clone(), "EPERM")];
            expect(None, &[], user, &all_ok(&checks));
            for env in [[("SANDBOX_FS_RO", "/")], [("SANDBOX_NET_BIND", "")]] {
                expect(Some(via), &env, user, &checks);
            }
            outside.kill().unwrap();
            outside.wait().unwrap();
        }
    }
}

/// What port rules do not cover, seccomp closes: with TCP ports restricted,
/// an MPTCP socket (which would connect and bind on any port) gets
/// ENOPROTOOPT, as from a kernel with MPTCP off, and programs fall back to
/// TCP; `SANDBOX_NET_TCP_ONLY=1` (`--net-tcp-only`) also refuses UDP and
/// the other IP sockets but TCP, with EACCES.
#[test]
fn what_port_rules_do_not_cover_is_closed() {
    for via in VIAS {
        for user in USERS {
            let sockets = |tcp, udp, mptcp| {
                [
                    check("socket", "tcp", tcp),
                    check("socket", "udp", udp),
                    check("socket", "udp6", udp),
                    check("socket", "mptcp", mptcp),
                ]
            };
            expect(None, &[], user, &sockets("ok", "ok", "ok"));
            expect(Some(via), &[("SANDBOX_NET_CONNECT", "443")], user, &sockets("ok", "ok", "ENOPROTOOPT"));
            expect(Some(via), &[("SANDBOX_NET_TCP_ONLY", "1")], user, &sockets("ok", "EACCES", "ENOPROTOOPT"));
        }
    }
    let probe = probe(Via::Sandboxify);
    let outcome = Run::new(sandboxify(), &["--net-tcp-only", probe.to_str().unwrap(), "socket", "udp"]).run();
    assert_eq!(outcome.stdout, "socket udp EACCES\n", "{outcome:#?}");
}

/// What Landlock does not cover on this kernel (ABI 7), and the README says
/// so in its table: changing a file's mode, times or extended attributes
/// outside the granted trees, connecting to a pathname UNIX socket there
/// (ABI 9 covers it), and a port taken by `listen()` on a socket never
/// bound while binds are restricted. Each still works; this test keeps the
/// table honest, and fails the day a kernel covers one.
#[test]
fn what_rules_do_not_cover_still_works() {
    let path = fresh_dir("landlock-uncovered").join("socket");
    let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o777)).unwrap();
    each("uncovered", |via, user, tree| {
        // Only a file's owner may change its mode.
        let owner = if user == User::Nobody { 65534 } else { 0 };
        std::os::unix::fs::chown(tree.path("rw/x"), Some(owner), Some(owner)).unwrap();
        let checks = [
            check("chmod", tree.path("rw/x"), "ok"),
            check("utime", tree.path("rw/x"), "ok"),
            check("setxattr", tree.path("rw/x"), "ok"),
            check("unix", path.to_str().unwrap(), "ok"),
            check("write", tree.path("rw/h"), "EACCES"),
        ];
        expect(Some(via), &[("SANDBOX_FS_RO", &tree.path("ro"))], user, &checks);
        expect(Some(via), &[("SANDBOX_NET_BIND", "80")], user, &[check("listen", "-", "ok")]);
    });
}

/// Two loopback listeners; connect is allowed to one. Bind is allowed on
/// one free port, not on another.
#[test]
fn tcp_connect_and_bind_are_limited_to_the_listed_ports() {
    let allowed = TcpListener::bind("127.0.0.1:0").unwrap();
    let denied = TcpListener::bind("127.0.0.1:0").unwrap();
    let (allowed_port, denied_port) =
        (allowed.local_addr().unwrap().port().to_string(), denied.local_addr().unwrap().port().to_string());
    for via in VIAS {
        for user in USERS {
            let free = |_| TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
            let [bind_allowed, bind_denied] = [0, 1].map(free);
            let checks = [
                check("connect", allowed_port.clone(), "ok"),
                check("connect", denied_port.clone(), "EACCES"),
                check("bind", bind_allowed.clone(), "ok"),
                check("bind", bind_denied.clone(), "EACCES"),
            ];
            expect(None, &[], user, &all_ok(&checks));
            let env = [("SANDBOX_NET_CONNECT", allowed_port.as_str()), ("SANDBOX_NET_BIND", bind_allowed.as_str())];
            expect(Some(via), &env, user, &checks);
        }
    }
}

/// Bad paths, globs and ports: status 125, one line naming the variable and
/// the token, and the program never runs.
#[test]
fn bad_paths_and_ports_fail_closed() {
    let tree = Tree::new("landlock-bad");
    let file_parent = format!("{}/x", tree.path("ro/f"));
    // Once fail-opens (fixed): a deny entry naming or matching a symbolic
    // link, which gets no rule, left its target reachable by the link's
    // path; a literal name that is not there (a typo) left what was meant.
    std::os::unix::fs::symlink(tree.path("secret"), tree.path("rw2/keys")).unwrap();
    let (link, glob, missing) = (tree.path("rw2/keys"), tree.path("rw2/k*"), tree.path("secret/s3"));
    let denies_link = |written: &str| {
        format!(
            "SANDBOX_FS_DENY: \"{written}\" denies the symbolic link {link}, which would deny nothing (what it \
             points to stays reachable by its own path): deny the link's target"
        )
    };
    let (denies_link, denies_glob) = (denies_link(&link), denies_link(&glob));
    let not_there = format!("SANDBOX_FS_DENY: {missing}: ENOENT (No such file or directory)");
    let cases = [
        ("SANDBOX_FS_DENY", link.as_str(), denies_link.as_str()),
        ("SANDBOX_FS_DENY", glob.as_str(), denies_glob.as_str()),
        ("SANDBOX_FS_DENY", missing.as_str(), not_there.as_str()),
        (
            "SANDBOX_FS_RO",
            "relative/path",
            "SANDBOX_FS_RO: \"relative/path\" is not an absolute path (start it with / or ~)",
        ),
        ("SANDBOX_FS_RW", "/nonexistent/tree", "SANDBOX_FS_RW: /nonexistent/tree: ENOENT (No such file or directory)"),
        ("SANDBOX_FS_DENY", "/nonexistent/s*", "SANDBOX_FS_DENY: /nonexistent: ENOENT (No such file or directory)"),
        ("SANDBOX_FS_DENY", "/tm*/x", "SANDBOX_FS_DENY: \"/tm*/x\": wildcards are only allowed in the last component"),
        ("SANDBOX_FS_DENY", "/tmp/[x", "SANDBOX_FS_DENY: \"/tmp/[x\": a [ without its ] (write [[] for a literal [)"),
        (
            "SANDBOX_FS_DENY",
            &file_parent,
            &format!("SANDBOX_FS_DENY: {file_parent}: the parent of a denied entry must be a directory"),
        ),
        (
            "SANDBOX_NET_CONNECT",
            "80:http",
            "SANDBOX_NET_CONNECT: bad port \"http\": expected a number from 0 to 65535 or a range A-B",
        ),
        (
            "SANDBOX_NET_BIND",
            "70000",
            "SANDBOX_NET_BIND: bad port \"70000\": expected a number from 0 to 65535 or a range A-B",
        ),
        (
            "SANDBOX_NET_BIND",
            "90-80",
            "SANDBOX_NET_BIND: bad port \"90-80\": expected a number from 0 to 65535 or a range A-B",
        ),
        ("SANDBOX_LANDLOCK_BEST_EFFORT", "yes", "SANDBOX_LANDLOCK_BEST_EFFORT: \"yes\": expected 0 or 1"),
        ("SANDBOX_FS_DEVICES", "no", "SANDBOX_FS_DEVICES: \"no\": expected 0 or 1"),
        ("SANDBOX_FS_ROO", "/usr", "unknown variable SANDBOX_FS_ROO (did you mean SANDBOX_FS_RO?)"),
    ];
    for via in VIAS {
        for user in USERS {
            for (variable, value, message) in &cases {
                let outcome = run(Some(via), &[(variable, value)], &["read", "/etc/hostname"], user);
                let prefix = match via {
                    Via::Library => "libsandbox",
                    Via::Sandboxify => "sandboxify",
                };
                assert_eq!(
                    outcome.stderr,
                    format!("{prefix}: {message}\n"),
                    "{via:?} {variable}={value}: {outcome:#?}"
                );
                outcome.assert_code(125);
                assert_eq!(outcome.stdout, "", "the program never runs");
            }
        }
    }
}

/// An error is one line, whatever the path in it holds (once, a newline
/// in a path gave two); and `~` needs an absolute HOME (once, an empty one
/// made `~/etc` mean `/etc`).
#[test]
fn errors_stay_one_line_and_tilde_needs_an_absolute_home() {
    for via in VIAS {
        let prefix = match via {
            Via::Library => "libsandbox",
            Via::Sandboxify => "sandboxify",
        };
        let outcome = run(Some(via), &[("SANDBOX_FS_RO", "/usr\n/etc")], &["read", "/etc/hostname"], User::Root);
        outcome.assert_code(125);
        assert_eq!(
            outcome.stderr,
            format!("{prefix}: SANDBOX_FS_RO: /usr\\n/etc: ENOENT (No such file or directory)\n"),
            "{via:?}"
        );
        for home in ["", "relative"] {
            let outcome =
                run(Some(via), &[("HOME", home), ("SANDBOX_FS_RW", "~/etc")], &["read", "/etc/hostname"], User::Root);
            outcome.assert_code(125);
            assert_eq!(
                outcome.stderr,
                format!("{prefix}: SANDBOX_FS_RW: cannot expand \"~/etc\": HOME is not set, or not an absolute path\n"),
                "{via:?} HOME={home:?}"
            );
            assert_eq!(outcome.stdout, "", "the program never runs");
        }
    }
}

/// sandboxify's options mean what the variables mean, and replace them.
#[test]
fn sandboxify_options_replace_the_variables() {
    let tree = Tree::new("landlock-options");
    let probe = probe(Via::Sandboxify);
    for user in USERS {
        let outcome = Run::new(
            sandboxify(),
            &[
                "--fs-ro",
                &tree.path("ro"),
                probe.to_str().unwrap(),
                "read",
                &tree.path("ro/f"),
                "read",
                &tree.path("rw/h"),
            ],
        )
        .env("SANDBOX_FS_RO", tree.path("rw"))
        .user(user)
        .run();
        outcome.assert_success();
        assert_eq!(outcome.stdout, format!("read {} ok\nread {} EACCES\n", tree.path("ro/f"), tree.path("rw/h")));
    }
}

/// With a new root, the rules' paths are those PROGRAM sees: here a fresh
/// tmpfs the host does not have, granted read-write.
#[test]
fn landlock_paths_name_the_new_root() {
    let probe = probe(Via::Sandboxify);
    for user in USERS {
        let args = ["--ro-bind", "/", "/", "--tmpfs", "/var/tmp", "--fs-ro", "/usr", "--fs-rw", "/var/tmp"];
        let command: Vec<&str> = args
            .into_iter()
            .chain([probe.to_str().unwrap(), "create", "/var/tmp/new", "read", "/etc/hostname", "list", "/var/tmp"])
            .collect();
        let outcome = Run::new(sandboxify(), &command).user(user).run();
        outcome.assert_success();
        assert_eq!(outcome.stdout, "create /var/tmp/new ok\nread /etc/hostname EACCES\nlist /var/tmp ok\n");
        assert!(!std::path::Path::new("/var/tmp/new").exists(), "the tmpfs, not the host's /var/tmp");
    }
}

/// `--explain` shows the kernel's ABI and every rule, carve-outs expanded.
#[test]
fn explain_shows_the_abi_and_the_rules() {
    let tree = Tree::new("landlock-explain");
    let outcome = Run::new(
        sandboxify(),
        &[
            "--fs-rw",
            &tree.path("secret"),
            "--fs-deny",
            &tree.path("secret/s*"),
            "--net-connect",
            "443:80",
            "--fs-no-devices",
            "--explain",
        ],
    )
    .run();
    outcome.assert_success();
    let expected = format!(
        "# Landlock (kernel ABI 7)\nfiles: everything not granted below is denied\n  list-only  {secret}\n  \
         read-write {secret}/t\n  denied     {secret}/s* (carved out)\ntcp connect: 80,443 (other ports denied)\n\
         tcp bind: not restricted\n",
        secret = tree.path("secret")
    );
    assert_eq!(outcome.stdout, expected);
}

/// The library keeps the libraries of `LD_PRELOAD` readable, itself
/// included: once a bug (fixed), under file rules that did not grant its
/// directory, ld.so refused it in every program the sandboxed one ran
/// (`ERROR: ld.so: object ... cannot be preloaded`), which then ran
/// without it and had its kills go unnamed.
#[test]
fn the_library_stays_loadable_in_the_programs_it_runs() {
    for user in USERS {
        let outcome = Run::new("/bin/sh", &["-c", "uname"])
            .preload()
            .env("SANDBOX_FS_RO", "/usr:/etc:/bin:/lib:/lib64")
            .env("SECCOMP_SYSCALL_DENY", "uname:ptrace")
            .user(user)
            .run();
        outcome.assert_code(159);
        assert!(
            outcome.stderr.starts_with("libsandbox: the policy killed this process at uname("),
            "{user:?}: {outcome:#?}"
        );
        assert!(!outcome.stderr.contains("ld.so"), "{user:?}: {outcome:#?}");
        // Only regular files: a directory (`/` at worst) in LD_PRELOAD
        // grants nothing (ld.so refuses it itself).
        let secret = fresh_dir(&format!("landlock-preload-dir-{user:?}"));
        fs::write(secret.join("s"), "secret\n").unwrap();
        fs::set_permissions(&secret, fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(secret.join("s"), fs::Permissions::from_mode(0o644)).unwrap();
        for named in ["/", secret.to_str().unwrap()] {
            let preload = format!("{}:{named}", library().display());
            let outcome = Run::new("/bin/cat", &[secret.join("s").to_str().unwrap()])
                .env("LD_PRELOAD", &preload)
                .env("SANDBOX_FS_RO", "/usr:/etc:/bin:/lib:/lib64")
                .user(user)
                .run();
            assert_eq!(outcome.stdout, "", "{named} in LD_PRELOAD granted it: {user:?}: {outcome:#?}");
            assert!(outcome.stderr.contains("Permission denied"), "{user:?}: {outcome:#?}");
        }
    }
}

/// Nested sandboxes. Where the outer one has file rules and the inner one
/// none, the inner one learns it from the outer one's filter (its answer
/// to the probe) and grants reparenting in its own layer: moves across
/// directories stay moves, under the library, sandboxify, and errno counts'
/// nested domain, started by sandboxify or by the library. Where only the
/// inner one has file rules, the outer one's scope-only layer, made before,
/// refuses them (EXDEV), as the README says; with file rules on both
/// (`--fs-rw /` on the outer one), moves stay moves: its workaround, held.
#[test]
fn nested_sandboxes_keep_moves_unless_only_the_inner_one_has_file_rules() {
    for user in USERS {
        let tree = Tree::new(&format!("landlock-nested-{user:?}"));
        let (library, dynamic, fixed, sandboxify) =
            (library(), probe(Via::Library), probe(Via::Sandboxify), sandboxify());
        let granted = [&library, &dynamic, &fixed, &sandboxify]
            .iter()
            .fold("/usr:/lib:/lib64:/etc:/proc".to_owned(), |granted, file| {
                format!("{granted}:{}", file.parent().unwrap().display())
            });
        let preload = format!("LD_PRELOAD={}", library.display());
        let root = tree.0.to_str().unwrap().to_owned();
        let (from, to) = (tree.path("rw/h"), tree.path("rw2/h"));
        let rename = format!("{from}>{to}");
        let sandboxify = sandboxify.to_str().unwrap();
        let run = |outer_env: &[(&str, &str)], command: &[&str]| {
            let program = ["rename", rename.as_str()];
            let args: Vec<&str> = command.iter().copied().chain(program).collect();
            let mut run = Run::new(args[0], &args[1..]);
            for (key, value) in outer_env {
                run = run.env(key, value);
            }
            let outcome = run.user(user).run();
            outcome.assert_success();
            let _ = fs::rename(&to, &from);
            outcome.stdout
        };
        let (moved, refused) = (format!("rename {rename} ok\n"), format!("rename {rename} EXDEV\n"));
        let outer_files = [sandboxify, "--fs-ro", &granted, "--fs-rw", &root, "--", "/usr/bin/env"];
        let inner_library = [preload.as_str(), "SECCOMP_SYSCALL_DENY=ptrace", dynamic.to_str().unwrap()];
        let inner_sandboxify = [sandboxify, "--deny", "uname", "--", fixed.to_str().unwrap()];
        let counted =
            ["SANDBOX_REPORT_COUNTS=errno", sandboxify, "--deny", "mkdir=EPERM", "--", fixed.to_str().unwrap()];
        let inner_library_with_rules = ["SANDBOX_FS_RW=/", inner_library[0], inner_library[1], inner_library[2]];
        for inner in [&inner_library[..], &inner_sandboxify, &counted, &inner_library_with_rules] {
            let command: Vec<&str> = outer_files.iter().chain(inner).copied().collect();
            assert_eq!(run(&[], &command), moved, "{user:?}: {command:?}");
        }
        // The library with file rules around sandboxify without.
        let outer_library =
            [("LD_PRELOAD", library.to_str().unwrap()), ("SANDBOX_FS_RO", &granted), ("SANDBOX_FS_RW", &root)];
        assert_eq!(run(&outer_library, &inner_sandboxify), moved, "{user:?}");
        // Only the inner one with file rules, and the workaround.
        let inner_files = [sandboxify, "--fs-ro", &granted, "--fs-rw", &root, "--", fixed.to_str().unwrap()];
        for (outer, result) in
            [(&[sandboxify, "--deny", "uname", "--"][..], &refused), (&[sandboxify, "--fs-rw", "/", "--"], &moved)]
        {
            let command: Vec<&str> = outer.iter().chain(&inner_files).copied().collect();
            assert_eq!(&run(&[], &command), result, "{user:?}: {command:?}");
        }
    }
}

/// What sandboxify grants itself to start the program is the file the
/// kernel opens: once a bug (fixed), a program given through a symbolic
/// link, or Debian's ld.so (`/lib64/ld-linux-x86-64.so.2`, a link), got
/// the grant on the link, and the exec failed with EACCES (126).
#[test]
fn sandboxify_grants_the_files_it_starts_through_their_links() {
    let tree = Tree::new("landlock-run-link");
    let link = tree.path("probe-link");
    std::os::unix::fs::symlink(probe(Via::Sandboxify), &link).unwrap();
    for user in USERS {
        let outcome =
            Run::new(sandboxify(), &["--fs-ro", &tree.path("ro"), &link, "read", &tree.path("ro/f")]).user(user).run();
        outcome.assert_success();
        assert_eq!(outcome.stdout, format!("read {} ok\n", tree.path("ro/f")), "{user:?}: {outcome:#?}");
    }
    let dynamic = probe(Via::Library);
    let explained =
        Run::new(sandboxify(), &["--fs-ro", &tree.path("ro"), "--explain", dynamic.to_str().unwrap()]).run();
    explained.assert_success();
    let loader = fs::canonicalize("/lib64/ld-linux-x86-64.so.2").unwrap();
    assert!(
        explained.stdout.contains(&format!("  run        {} (to start the program)\n", loader.display())),
        "{explained:#?}"
    );
}

/// A kernel without Landlock (here: an outer seccomp filter failing
/// landlock_create_ruleset with ENOSYS) stops the program, unless best
/// effort is asked for, which says what is not enforced.
#[test]
fn without_landlock_the_program_does_not_run_unless_best_effort_is_asked_for() {
    let wrapper = compile("outer-filter", &["-static"]);
    let create_ruleset = libc::SYS_landlock_create_ruleset.to_string();
    let tree = Tree::new("landlock-unavailable");
    for via in VIAS {
        let target = probe(via);
        for user in USERS {
            let outer = |best_effort: &str| {
                let mut args = vec!["38", create_ruleset.as_str()];
                let sandboxify = sandboxify();
                if let Via::Sandboxify = via {
                    args.push(sandboxify.to_str().unwrap());
                }
                let target = target.to_str().unwrap().to_owned();
                args.push(&target);
                args.extend(["read", "/etc/hostname"]);
                let mut run = Run::new(&wrapper, &args)
                    .env("SANDBOX_FS_RO", tree.path("ro"))
                    .env("SANDBOX_LANDLOCK_BEST_EFFORT", best_effort)
                    .user(user);
                if let Via::Library = via {
                    run = run.env("LD_PRELOAD", library());
                }
                run.run()
            };
            let prefix = match via {
                Via::Library => "libsandbox",
                Via::Sandboxify => "sandboxify",
            };
            let outcome = outer("0");
            outcome.assert_code(125);
            assert_eq!(outcome.stdout, "");
            assert_eq!(
                outcome.stderr,
                format!(
                    "{prefix}: Landlock is not available on this kernel (not built in), so the filesystem and \
                     network rules cannot be enforced\n"
                )
            );
            let outcome = outer("1");
            outcome.assert_success();
            assert_eq!(outcome.stdout, "read /etc/hostname ok\n");
            assert_eq!(
                outcome.stderr,
                format!("{prefix}: Landlock best effort: not enforced: every rule (Landlock is not built in)\n")
            );
        }
    }
}

/// Landlock on this kernel restricts the calling thread only: a thread
/// already running when a program loads the library with dlopen would
/// escape, so the library refuses. (At start-up no other thread can run
/// yet: the library's constructor runs before any other.)
#[test]
fn the_library_refuses_when_other_threads_already_run() {
    let program = compile("late-load", &["-pthread"]);
    let library = library();
    for user in USERS {
        let outcome = Run::new(&program, &[library.to_str().unwrap(), "SANDBOX_FS_RO=/usr"]).user(user).run();
        outcome.assert_code(125);
        assert_eq!(outcome.stdout, "");
        assert!(
            outcome.stderr.starts_with(
                "libsandbox: this kernel's Landlock (ABI 7) cannot enforce the other threads: 2 threads run"
            ),
            "{outcome:#?}"
        );
    }
}

/// The seccomp policy and the Landlock rules hold together.
#[test]
fn seccomp_and_landlock_apply_together() {
    let tree = Tree::new("landlock-seccomp");
    for via in VIAS {
        for user in USERS {
            let env = [("SANDBOX_FS_RO", tree.path("ro")), ("SECCOMP_SYSCALL_DENY", "rename".to_owned())];
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            expect(
                Some(via),
                &env,
                user,
                &[check("read", tree.path("ro/f"), "ok"), check("read", tree.path("rw/h"), "EACCES")],
            );
            let outcome =
                run(Some(via), &env, &["rename", &format!("{}>{}", tree.path("rw/h"), tree.path("rw/i"))], user);
            outcome.assert_killed();
        }
    }
}

/// The caller of a setuid program cannot choose its Landlock rules (a
/// rule could make it fail half-way through a privileged operation).
#[test]
fn a_setuid_program_refuses_landlock_rules_from_its_caller() {
    let built = compile("setuid-drop", &["-Wl,--no-as-needed", library().to_str().unwrap()]);
    let program = privileged_copy(&built, "setuid-drop-landlock", 0o4755);
    let outcome = Run::new(&program, &[]).env("SANDBOX_FS_RO", "/usr").user(User::Nobody).run();
    outcome.assert_code(125);
    assert_eq!(outcome.stdout, "");
    assert!(outcome.stderr.contains("refusing a policy from the environment of a setuid"), "{outcome:#?}");
}
