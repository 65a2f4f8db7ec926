//! A denied call's effect through another call that reaches it: the other
//! doors a deny entry shuts (copy_file_range, sendfile, splice,
//! open_by_handle_at, pkey_mprotect, mmap2), and every call of the denied
//! call's family in `data/families.txt`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use sandbox_tests::{Outcome, Run, USERS, User, fresh_dir};

use crate::common::Injection::{self, Attached, Patched, Preload, SandboxifyPreload};
use crate::common::{
    Attempt, EVERY_PATH, Policy, assert_escapes_unconfined, assert_held, child_killed, killed, marker, run_confined,
};

const DOORS: Attempt = Attempt::new("escape-doors");

/// The other doors `escape-doors` tries: the door, the call a deny list
/// names, who can use the door, and whether its marker is a file to write
/// into (else a directory to create).
const OTHER_DOORS: [(&str, &str, &[User], bool); 26] = [
    ("copy_file_range", "write", &USERS, true),
    ("sendfile", "write", &USERS, true),
    ("splice", "write", &USERS, true),
    ("open_by_handle_at", "open", &[User::Root], true),
    ("pkey_mprotect", "mprotect", &USERS, false),
    ("mmap2", "mmap", &USERS, false),
    ("sched_setattr", "sched_setparam", &USERS, false),
    ("sched_setscheduler", "sched_setparam", &USERS, false),
    ("sched_setattr", "sched_setscheduler", &USERS, false),
    ("mlock2", "mlock", &USERS, false),
    ("mlockall", "mlock", &USERS, false),
    ("mmap-locked", "mlock", &USERS, false),
    ("futex_wake", "futex", &USERS, false),
    ("process_madvise", "madvise", &USERS, false),
    ("open_by_handle_at-trunc", "truncate", &[User::Root], true),
    ("userfaultfd-dev", "userfaultfd", &[User::Root], false),
    ("mount-move", "umount", &[User::Root], false),
    ("pivot-root", "umount", &[User::Root], false),
    ("prlimit-cpu", "kill", &USERS, false),
    ("dnotify", "inotify_init", &USERS, false),
    ("fanotify", "inotify_init", &USERS, false),
    ("keyring", "add_key", &USERS, false),
    ("memfd-secret", "mlock", &USERS, false),
    ("winsize", "kill", &USERS, false),
    ("madv-remove", "fallocate", &USERS, false),
    ("whiteout", "mknod", &USERS, false),
];

/// Runs `escape-doors DOOR MARKER` (unconfined if `injection` is None) and
/// returns whether the door worked: the file was written or the directory made.
fn try_door(door: &str, denied: &'static str, file: bool, injection: Option<Injection>, user: User) -> (bool, Outcome) {
    let marker = marker();
    if file {
        fs::write(&marker, "").unwrap();
        fs::set_permissions(&marker, fs::Permissions::from_mode(0o666)).unwrap();
    }
    let args = [door, marker.to_str().unwrap()];
    let outcome = match injection {
        None => Run::new(DOORS.dynamic(), &args).user(user).run(),
        Some(injection) => run_confined(&DOORS.dynamic(), None, injection, Policy::deny(denied), &args, user),
    };
    let worked = if file { fs::read(&marker).is_ok_and(|bytes| !bytes.is_empty()) } else { marker.is_dir() };
    (worked, outcome)
}

/// The positive control of the doors below: unconfined, each one works.
#[test]
fn other_doors_work_unconfined() {
    for (door, denied, users, file) in OTHER_DOORS {
        for &user in users {
            let (worked, outcome) = try_door(door, denied, file, None, user);
            assert!(worked, "{door} as {user:?}: {outcome:#?}");
            outcome.assert_success();
        }
    }
}

/// Once a hole (fixed): a deny entry denies the call's other doors (data/families.txt),
/// but these do the same thing and are not in the table: copy_file_range,
/// sendfile and splice write into a file under a deny of `write`;
/// open_by_handle_at opens a file for writing under a deny of `open` (root,
/// which has CAP_DAC_READ_SEARCH); pkey_mprotect changes a page's protection
/// under a deny of `mprotect`; the i386 mmap2 (int 0x80) maps memory under a
/// deny of `mmap`. And, found by a later red-team pass (2026-12-06):
/// sched_setattr and sched_setscheduler set the scheduling policy under a
/// deny of `sched_setparam` (or `sched_setscheduler`); mlock2, mlockall and
/// mmap(MAP_LOCKED) lock memory under a deny of `mlock`; futex_wake wakes
/// under a deny of `futex`; process_madvise advises under a deny of
/// `madvise`; open_by_handle_at(O_TRUNC) empties a file under a deny of
/// `truncate` (root); /dev/userfaultfd's ioctl makes a userfaultfd under a
/// deny of `userfaultfd` (root); mount(MS_MOVE) and pivot_root take a
/// mount away from where it hid a file under a deny of `umount` (root).
/// And by another (2026-12-06, later): prlimit64 of another process kills
/// it (a CPU limit of 0) under a deny of `kill`; fcntl(F_NOTIFY) and
/// fanotify watch a directory under a deny of `inotify_init`;
/// keyctl(KEYCTL_JOIN_SESSION_KEYRING) makes a keyring under a deny of
/// `add_key`; memfd_secret locks memory under a deny of `mlock`; and by a
/// survey of the kernel's ioctls: TIOCSWINSZ sends SIGWINCH to a terminal's
/// foreground under a deny of `kill`, madvise(MADV_REMOVE) punches a hole
/// under a deny of `fallocate`, renameat2(RENAME_WHITEOUT) makes a device
/// node under a deny of `mknod`.
#[test]
fn a_deny_entry_shuts_every_door_to_its_call() {
    let mut escaped = Vec::new();
    for (door, denied, users, file) in OTHER_DOORS {
        for injection in [Preload, Patched, Attached, SandboxifyPreload] {
            for &user in users {
                let (worked, outcome) = try_door(door, denied, file, Some(injection), user);
                if worked {
                    escaped.push(format!(
                        "{door} under a deny of {denied} via {injection:?} as {user:?}: {:?}",
                        outcome.status
                    ));
                }
            }
        }
    }
    assert!(escaped.is_empty(), "escaped:\n{}", escaped.join("\n"));
}

/// A btrfs file system of the test's own in a loop-mounted image (root
/// only), writable by everyone, unmounted when dropped.
struct Btrfs {
    dir: PathBuf,
}

impl Btrfs {
    fn new() -> Btrfs {
        let base = fresh_dir("escape-btrfs");
        let (image, dir) = (base.join("image"), base.join("mount"));
        fs::File::create(&image).unwrap().set_len(160 << 20).unwrap();
        fs::create_dir(&dir).unwrap();
        Run::new("/usr/sbin/mkfs.btrfs", &["-q", image.to_str().unwrap()]).run().assert_success();
        let options = "loop,user_subvol_rm_allowed";
        Run::new("mount", &["-o", options, image.to_str().unwrap(), dir.to_str().unwrap()]).run().assert_success();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o1777)).unwrap();
        Btrfs { dir }
    }
}

impl Drop for Btrfs {
    fn drop(&mut self) {
        let _ = Run::new("umount", &[self.dir.to_str().unwrap()]).run();
    }
}

/// Found by a red-team pass (2026-12-06): on btrfs, an `ioctl` on a
/// directory makes a subvolume, which is a new directory, without `mkdir`
/// (and without Landlock's check), and removes one without `rmdir`. A deny
/// of `mkdir` denies making one (`BTRFS_IOC_SUBVOL_CREATE`, `SNAP_CREATE`
/// and their `_V2`), a deny of `unlink` removing one (`SNAP_DESTROY`, `_V2`),
/// on every path; unconfined, each works. And, looked for after it, the
/// VFS's own `FICLONE` and `FICLONERANGE`, which put a file's data into
/// another where file systems share data, are doors of `write`; and, found
/// by a later pass, its `FS_IOC_ZERO_RANGE` and `FS_IOC_UNRESVSP`, which
/// zero a file's data, of `write`, and `FS_IOC_RESVSP`, which allocates,
/// of `fallocate` (here on btrfs, which has them all).
#[test]
fn a_btrfs_subvolume_is_a_directory_to_deny_entries() {
    let btrfs = Btrfs::new();
    let doors: [(&str, &str, &[User]); 8] = [
        ("btrfs-subvol", "mkdir", &USERS),
        ("btrfs-subvol-v2", "mkdir", &USERS),
        ("btrfs-destroy", "unlink", &[User::Root]),
        ("ficlone", "write", &USERS),
        ("ficlonerange", "write", &USERS),
        ("zero-range", "write", &USERS),
        ("unresvsp", "write", &USERS),
        ("resvsp", "fallocate", &USERS),
    ];
    let (dynamic, static_build) = (DOORS.dynamic(), DOORS.static_build());
    let mut escaped = Vec::new();
    let mut next = 0;
    for (door, denied, users) in doors {
        for &user in users {
            for injection in [None].into_iter().chain(EVERY_PATH.map(Some)) {
                next += 1;
                let marker = btrfs.dir.join(format!("m{next}"));
                let cloned = door.starts_with("ficlone");
                let done = if door == "btrfs-destroy" {
                    let args = ["btrfs-subvol", marker.to_str().unwrap()];
                    Run::new(&dynamic, &args).run().assert_success();
                    btrfs.dir.join(format!("m{next}-gone"))
                } else {
                    marker.clone()
                };
                if cloned {
                    fs::write(btrfs.dir.join(format!("m{next}.src")), [b'x'; 4096]).unwrap();
                    fs::write(&marker, "").unwrap();
                    fs::set_permissions(&marker, fs::Permissions::from_mode(0o666)).unwrap();
                }
                let args = [door, marker.to_str().unwrap()];
                let outcome = match injection {
                    None => Run::new(&dynamic, &args).user(user).run(),
                    Some(injection) => {
                        run_confined(&dynamic, Some(&static_build), injection, Policy::deny(denied), &args, user)
                    }
                };
                let happened = if cloned { fs::metadata(&done).unwrap().len() > 0 } else { done.is_dir() };
                match (injection, happened) {
                    (None, false) => panic!("{door} as {user:?} does not work unconfined: {outcome:#?}"),
                    (Some(injection), true) => {
                        escaped.push(format!("{door} under a deny of {denied} via {injection:?} as {user:?}"))
                    }
                    _ => {}
                }
            }
        }
    }
    assert!(escaped.is_empty(), "escaped:\n{}", escaped.join("\n"));
}

const SIBLINGS: Attempt = Attempt::new("escape-siblings");

/// A denied call's effect through every other call that reaches it (its
/// family in `data/families.txt`, derived from the kernel's sources), on
/// every path, under a deny list and under an allow list without it: the
/// effect never happens. Calls whose arguments decide are denied with those
/// arguments only; `clone3`, whose flags the filter cannot read, gets
/// ENOSYS so that libc falls back to `clone`, and so do `io_setup` and
/// `io_submit`, whose operations (kernel AIO) are in memory the filter
/// cannot read either.
///
/// Once holes (fixed): kernel AIO wrote and sent under a deny of `write`
/// or `sendto`, `fallocate` zeroed a file's data under a deny of `write`
/// and made a file longer under a deny of `truncate`, and `socketpair` made
/// a socket (which can reach any unix socket) under a deny of `socket`.
#[test]
fn a_deny_entry_denies_every_call_that_reaches_its_effect() {
    let families: [(&str, &[&str], &[&str]); 10] = [
        (
            "kill",
            &[
                "tkill",
                "tgkill",
                "rt_sigqueueinfo",
                "rt_tgsigqueueinfo",
                "pidfd_send_signal",
                "fcntl-setown",
                "i386-tkill",
            ],
            &[],
        ),
        ("setxattr", &["lsetxattr", "fsetxattr", "setxattrat"], &[]),
        ("unshare", &["clone-newuser"], &["clone3-newuser"]),
        ("fork", &["clone-fork", "clone-fork-high", "i386-clone-fork"], &["clone3-fork"]),
        ("connect", &["fastopen"], &[]),
        ("bind", &["listen-autobind"], &[]),
        ("socket", &["socketpair"], &[]),
        ("write", &["fallocate-punch"], &[]),
        ("truncate", &["fallocate-grow"], &[]),
        ("sendto", &[], &["aio-send"]),
    ];
    for (denied, killed_doors, enosys_doors) in families {
        let policies = [Policy::deny(denied), Policy::allow_all_but(denied)];
        for &door in killed_doors {
            assert_escapes_unconfined(SIBLINGS, Some(door));
            assert_held(SIBLINGS, Some(door), &EVERY_PATH, &policies, killed);
        }
        for &door in enosys_doors {
            assert_escapes_unconfined(SIBLINGS, Some(door));
            assert_held(SIBLINGS, Some(door), &EVERY_PATH, &policies, |outcome| {
                outcome.stdout == format!("{door}: ENOSYS\n")
            });
        }
    }
    // Where writing is denied the attempt cannot print: ENOSYS ends it with 38.
    assert_escapes_unconfined(SIBLINGS, Some("aio-write"));
    let policies = [Policy::deny("write"), Policy::allow_all_but("write")];
    assert_held(SIBLINGS, Some("aio-write"), &EVERY_PATH, &policies, |outcome| outcome.code() == Some(38));
    // clone's flags are compared on the 32 bits the kernel reads: a high
    // bit does not slip `clone((1 << 32) | SIGCHLD)` past `== SIGCHLD`.
    let high = Policy::deny("clone(arg0 == SIGCHLD)");
    assert_held(SIBLINGS, Some("clone-fork-high"), &EVERY_PATH, &[high], killed);
}

/// Once a hole (found by a red-team pass, 2026-12-06): in a user and
/// mount namespace of its own (unshare is not chroot), a program bound a
/// directory over / and entered its namespace again with setns, which
/// made that directory its root, under a deny of `chroot`. setns of a
/// mount namespace (or of an unnamed type) is now a door of `chroot`.
#[test]
fn a_deny_of_chroot_denies_entering_a_mount_namespace() {
    for user in USERS {
        let (worked, outcome) = try_door("setns-mnt", "chroot", false, None, user);
        assert!(worked, "the control did not change its root as {user:?}: {outcome:#?}");
        for injection in [Preload, Patched, Attached, SandboxifyPreload] {
            let (worked, outcome) = try_door("setns-mnt", "chroot", false, Some(injection), user);
            assert!(!worked, "ESCAPED via {injection:?} as {user:?}: {outcome:#?}");
            assert!(killed(&outcome), "not killed via {injection:?} as {user:?}: {outcome:#?}");
        }
    }
}

/// Once a hole (fixed): root hangs up its terminal with `vhangup()` or
/// `ioctl(TIOCVHANGUP)` (CAP_SYS_ADMIN), and the kernel sends SIGHUP to the
/// terminal's whole session, outside the sandbox too, under a deny of
/// `kill`. Root only, so the control runs as root.
#[test]
fn a_deny_of_kill_denies_hanging_up_the_terminal() {
    for door in ["vhangup", "tiocvhangup"] {
        for program in [SIBLINGS.dynamic(), SIBLINGS.static_build()] {
            let marker = marker();
            let outcome = Run::new(&program, &[door, marker.to_str().unwrap()]).user(User::Root).run();
            assert!(marker.exists(), "the control did not hang up: {door}: {outcome:#?}");
        }
        let static_build = SIBLINGS.static_build();
        for injection in EVERY_PATH {
            for policy in [Policy::deny("kill"), Policy::allow_all_but("kill")] {
                let marker = marker();
                let args = [door, marker.to_str().unwrap()];
                let outcome =
                    run_confined(&SIBLINGS.dynamic(), Some(&static_build), injection, policy, &args, User::Root);
                let context = format!("{door} via {injection:?} under {policy:?}");
                assert!(!marker.exists(), "ESCAPED: {context}: {outcome:#?}");
                assert!(child_killed(&outcome), "{context}: not killed: {outcome:#?}");
            }
        }
    }
}
