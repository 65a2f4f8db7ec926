//! From a [`Request`] to the rules Landlock gets.
//!
//! Landlock only grants: a rule gives rights on a whole hierarchy, and no
//! rule can take them back beneath it. A carve-out is therefore made by not
//! granting the tree that holds the denied entry, but its parts: along the
//! path from the granted root down to the denied entry's directory, every
//! directory gets only the right to list it, and every other entry of it
//! (file, directory, device...) gets the tree's rights. Symbolic links get
//! nothing: what they point to is governed by the rules of their target.
//!
//! The entries are listed when the sandbox starts, which decides what
//! happens to files created later: inside a granted sibling, they are
//! covered like any file of its tree; directly inside a carved directory
//! (the root, the directories on the way, the denied entry's directory),
//! nothing can be created, renamed or removed, and an entry that another
//! process creates there later cannot be opened by the program.
//!
//! With file rules, the devices nearly every program opens and that expose
//! nothing ([`DEVICES`], and the terminal the program was started on) are
//! granted too, unless a carve-out names them or the request leaves them
//! out: a shell redirecting to `/dev/null` must not fail because the rules
//! forgot it. So is a file the caller opened standard input, output or
//! error on (`program 2>log`), for what those descriptors already allow:
//! `echo x > /dev/stderr` reopens it.
//!
//! Landlock rules hold on to files, not names: a rule on another name for
//! a denied entry (a hard link, a bind mount), or for a directory above it,
//! grants the entry by its own path too. So no grant may be such a name:
//! one found among a carved directory's entries, a device or a file of the
//! standard streams is left out (`--explain` lists it as denied), and a tree
//! asked for is refused.

#![forbid(unsafe_code)]

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::fs::{self, Errno, Fd};
use crate::mounts;
use crate::path::Path;
use crate::request::{Denial, Request};

/// What a grant allows beneath its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rights {
    /// Read files, list directories, execute.
    ReadOnly,
    /// Also write, create, remove, rename, truncate, ioctl on devices.
    ReadWrite,
    /// List the directory (and those beneath it) only: a carved directory.
    ListOnly,
    /// Read and execute one file: what sandboxify's own exec of the program needs.
    Run,
    /// Open one file again as a descriptor the program inherits on it
    /// allows: for reading, for writing (and truncating), or both.
    Reopen {
        /// For reading.
        read: bool,
        /// For writing.
        write: bool,
    },
}

impl Rights {
    fn name(self) -> &'static str {
        match self {
            Rights::ReadOnly => "read-only",
            Rights::ReadWrite => "read-write",
            Rights::ListOnly => "list-only",
            Rights::Run => "run",
            Rights::Reopen { read: true, write: false } => "file-read",
            Rights::Reopen { read: false, write: true } => "file-write",
            Rights::Reopen { .. } => "file-rw",
        }
    }
}

/// The devices granted with file rules unless asked not to: they hold no
/// data and reach nothing, and programs open them all the time.
pub const DEVICES: [(&str, Rights); 6] = [
    ("/dev/null", Rights::ReadWrite),
    ("/dev/zero", Rights::ReadWrite),
    ("/dev/full", Rights::ReadWrite),
    ("/dev/random", Rights::ReadOnly),
    ("/dev/urandom", Rights::ReadOnly),
    // The calling process's controlling terminal, whichever it is.
    ("/dev/tty", Rights::ReadWrite),
];

/// Why a grant is in the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// A tree of the request, or a part of one around a carve-out.
    Asked,
    /// One of [`DEVICES`], or the terminal the program was started on.
    Device,
    /// A file standard input, output or error is open on.
    Standard,
    /// What sandboxify's exec of the program needs.
    Exec,
    /// A library `LD_PRELOAD` names, which ld.so loads into every program
    /// the sandboxed one runs.
    Preloaded,
}

/// One rule: `rights` beneath `path`.
#[derive(Debug)]
pub struct Grant {
    /// The file or directory, for explanations.
    pub path: Path,
    /// What is allowed beneath it.
    pub rights: Rights,
    /// Whether it is a directory (files take file rights only).
    pub directory: bool,
    /// Why it is granted.
    pub reason: Reason,
    /// Opened with `O_PATH | O_NOFOLLOW` when the plan was made, so that a
    /// path replaced by a symbolic link since cannot redirect the grant.
    pub(crate) fd: Fd,
}

/// The rules for a request.
#[derive(Debug)]
pub struct Plan {
    /// What was asked.
    pub request: Request,
    /// The filesystem rules.
    pub grants: Vec<Grant>,
    /// Entries left out: other names for what a carve-out denies, or for a
    /// directory above it.
    pub aliases: Vec<Path>,
    /// What no grant may be another name for, read once.
    guard: Guard,
}

/// What the carve-outs protect from other names (each with the index of
/// its denial): the identities of the denied entries and of every directory
/// above them, the denied directories, and the mount points that show one
/// of them (or a part of one) elsewhere.
#[derive(Debug, Default)]
struct Guard {
    identities: Vec<(fs::Identity, usize)>,
    directories: Vec<(Path, usize)>,
    shown_elsewhere: Vec<(Path, usize)>,
}

impl Guard {
    fn new(denials: &[Denial]) -> Result<Guard, PlanError> {
        let mut guard = Guard::default();
        for (index, denial) in denials.iter().enumerate() {
            let mut above = Some(denial.directory.clone());
            while let Some(directory) = above {
                guard.identities.push((fs::identity_of(&directory).map_err(unreadable(&directory))?, index));
                above = directory.split_last().map(|(parent, _)| parent);
            }
            let entries = fs::list(&denial.directory).map_err(unreadable(&denial.directory))?;
            for entry in entries.iter().filter(|entry| denial.pattern.matches(&entry.name)) {
                let path = denial.directory.join(&entry.name);
                let (fd, directory) = fs::open_path(&path).map_err(unreadable(&path))?;
                guard.identities.push((fs::identity(&fd).map_err(unreadable(&path))?, index));
                if directory {
                    guard.directories.push((path, index));
                }
            }
        }
        // What is beneath a denied directory has other names too: where a
        // bind mount shows it (or a part of it) elsewhere, and a file's hard
        // links. Without /proc the mounts cannot be read: none is known.
        if !guard.directories.is_empty() {
            let mounts = mounts::mounts().unwrap_or_default();
            for (directory, index) in &guard.directories {
                guard
                    .shown_elsewhere
                    .extend(mounts::elsewhere(&mounts, directory).into_iter().map(|point| (point, *index)));
            }
        }
        Ok(guard)
    }

    /// The denial that `grant` would undo, if any: it is another name for
    /// what the denial protects (or lies where a bind mount shows it).
    fn undone_by(&self, grant: &Grant) -> Result<Option<usize>, PlanError> {
        if self.identities.is_empty() || grant.rights == Rights::ListOnly {
            return Ok(None);
        }
        let identity = fs::identity(&grant.fd).map_err(unreadable(&grant.path))?;
        let by_identity = self.identities.iter().find(|(guarded, _)| *guarded == identity).map(|(_, index)| *index);
        let shown =
            || self.shown_elsewhere.iter().find(|(point, _)| grant.path.starts_with(point)).map(|(_, index)| *index);
        if let Some(index) = by_identity.or_else(shown) {
            return Ok(Some(index));
        }
        if grant.directory || fs::links(&grant.fd).map_err(unreadable(&grant.path))? < 2 {
            return Ok(None);
        }
        Ok(self.directories.iter().find(|(directory, _)| holds(directory, identity, 32)).map(|(_, index)| *index))
    }
}

/// A path the plan cannot be made for.
#[derive(Debug)]
pub struct PlanError {
    /// The path.
    pub path: Path,
    /// Why.
    pub kind: PlanErrorKind,
}

/// Why a path cannot be planned for.
#[derive(Debug)]
pub enum PlanErrorKind {
    /// It cannot be opened or listed.
    Unreadable(Errno),
    /// A tree asked for is another name (a bind mount, a hard link) for
    /// what this carve-out denies, or for a directory above it.
    Undoes(String),
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            PlanErrorKind::Unreadable(error) => write!(f, "{}: {error}", self.path),
            PlanErrorKind::Undoes(carve_out) => write!(
                f,
                "{} is another name (a bind mount or a hard link) for {carve_out}, which is carved out, or for a \
                 directory above it: granting it would grant the carve-out; grant a tree that does not reach it",
                self.path
            ),
        }
    }
}

fn unreadable(path: &Path) -> impl FnOnce(Errno) -> PlanError + '_ {
    |error| PlanError { path: path.clone(), kind: PlanErrorKind::Unreadable(error) }
}

impl core::error::Error for PlanError {}

impl Plan {
    /// Expands the carve-outs of `request` into grants, reading the
    /// directories on the way, and adds the devices.
    pub fn new(request: Request) -> Result<Plan, PlanError> {
        let mut grants = Vec::new();
        let trees = request.read_only.iter().map(|path| (path, Rights::ReadOnly));
        let trees = trees.chain(request.read_write.iter().map(|path| (path, Rights::ReadWrite)));
        for (root, rights) in trees {
            if !request.deny.iter().any(|denial| denial.covers(root)) {
                grant_tree(root, rights, &request.deny, &mut grants)?;
            }
        }
        if request.restricts_files && request.devices {
            grant_devices(&request.deny, &mut grants)?;
        }
        let guard = Guard::new(&request.deny)?;
        let mut plan = Plan { request, grants: Vec::with_capacity(grants.len()), aliases: Vec::new(), guard };
        for grant in grants {
            plan.add(grant)?;
        }
        Ok(plan)
    }

    /// With file rules, grants reading the libraries of `preload` (an
    /// `LD_PRELOAD` value: names separated by `:` or spaces), those named by
    /// a path to a regular file that no carve-out covers: ld.so loads them
    /// into every program the sandboxed one runs, and where it cannot, it
    /// says so on stderr and runs the program without them (the library
    /// itself, whose kills would then go unnamed). Not a directory: `/` in
    /// `LD_PRELOAD` must not grant everything.
    pub fn grant_preloaded(&mut self, preload: &[u8]) -> Result<(), PlanError> {
        if !self.request.restricts_files {
            return Ok(());
        }
        for name in preload.split(|&byte| byte == b':' || byte == b' ').filter(|name| name.contains(&b'/')) {
            let Ok(file) = fs::canonicalize(&Path::new(name)) else { continue };
            let covered = self.request.deny.iter().any(|denial| denial.covers(&file));
            if covered || self.grants.iter().any(|grant| grant.path == file) {
                continue;
            }
            let grant = open(&file, Rights::ReadOnly, Reason::Preloaded)?;
            if fs::is_regular(&grant.fd).map_err(unreadable(&file))? {
                self.add(grant)?;
            }
        }
        Ok(())
    }

    /// Adds the right to read and execute the file at `path`.
    pub fn grant_run(&mut self, path: &Path) -> Result<(), PlanError> {
        let grant = open(path, Rights::Run, Reason::Exec)?;
        self.add(grant)
    }

    /// Adds `grant`, unless it is another name for what a carve-out denies
    /// or for a directory above it: then it is left out, or, a tree asked
    /// for, refused.
    fn add(&mut self, grant: Grant) -> Result<(), PlanError> {
        let Some(index) = self.guard.undone_by(&grant)? else {
            self.grants.push(grant);
            return Ok(());
        };
        if self.request.read_only.contains(&grant.path) || self.request.read_write.contains(&grant.path) {
            let written = self.request.deny[index].written.clone();
            return Err(PlanError { path: grant.path, kind: PlanErrorKind::Undoes(written) });
        }
        self.aliases.push(grant.path);
        Ok(())
    }

    /// One line per rule, for `--explain`.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        if self.request.restricts_files {
            out.push_str("files: everything not granted below is denied\n");
            for grant in &self.grants {
                let why = match grant.reason {
                    Reason::Asked => "",
                    Reason::Device => " (device every program expects)",
                    Reason::Standard => " (standard input, output or error is open on it)",
                    Reason::Exec => " (to start the program)",
                    Reason::Preloaded => " (LD_PRELOAD: for the programs it runs)",
                };
                out.push_str(&format!("  {:<10} {}{why}\n", grant.rights.name(), grant.path));
            }
            for denial in &self.request.deny {
                out.push_str(&format!("  {:<10} {} (carved out)\n", "denied", denial.written));
            }
            for alias in &self.aliases {
                out.push_str(&format!("  {:<10} {alias} (another name for what is carved out)\n", "denied"));
            }
        } else {
            out.push_str("files: not restricted\n");
        }
        for (what, ports) in [("connect", &self.request.connect), ("bind", &self.request.bind)] {
            match ports {
                Some(ports) => out.push_str(&format!("tcp {what}: {} (other ports denied)\n", list_ports(ports))),
                None => out.push_str(&format!("tcp {what}: not restricted\n")),
            }
        }
        out
    }

    /// One line for `SANDBOX_VERBOSE`.
    pub fn summary(&self) -> String {
        let files = if self.request.restricts_files {
            format!("{} filesystem rules", self.grants.len())
        } else {
            "files not restricted".to_owned()
        };
        let ports = |ports: &Option<Vec<u16>>| ports.as_ref().map_or("any".to_owned(), |ports| list_ports(ports));
        format!("{files}, tcp connect: {}, tcp bind: {}", ports(&self.request.connect), ports(&self.request.bind))
    }
}

/// Whether `identity` is beneath `directory`: a hard link there. What
/// cannot be read, or lies deeper than `depth` levels, is taken as holding it.
fn holds(directory: &Path, identity: fs::Identity, depth: u32) -> bool {
    let Ok(entries) = fs::list(directory) else { return true };
    entries.iter().filter(|entry| !entry.symlink).any(|entry| {
        let path = directory.join(&entry.name);
        match fs::open_path(&path) {
            Ok((fd, inner)) => {
                fs::identity(&fd).map_or(true, |found| found == identity)
                    || (inner && (depth == 0 || holds(&path, identity, depth - 1)))
            }
            Err(_) => true,
        }
    })
}

/// `80,443` or `none`.
fn list_ports(ports: &[u16]) -> String {
    if ports.is_empty() {
        return "none".to_owned();
    }
    ports.iter().map(u16::to_string).collect::<Vec<_>>().join(",")
}

fn grant_tree(path: &Path, rights: Rights, denials: &[Denial], grants: &mut Vec<Grant>) -> Result<(), PlanError> {
    let carved = denials.iter().any(|denial| denial.directory.starts_with(path));
    if !carved {
        grants.push(open(path, rights, Reason::Asked)?);
        return Ok(());
    }
    grants.push(open(path, Rights::ListOnly, Reason::Asked)?);
    let entries = fs::list(path).map_err(unreadable(path))?;
    for entry in entries {
        if entry.symlink || denials.iter().any(|denial| denial.denies(path, &entry.name)) {
            continue;
        }
        grant_tree(&path.join(&entry.name), rights, denials, grants)?;
    }
    Ok(())
}

/// Grants [`DEVICES`], the terminals of standard input, output and error,
/// and the files they are open on, those that exist and that no carve-out
/// names.
fn grant_devices(denials: &[Denial], grants: &mut Vec<Grant>) -> Result<(), PlanError> {
    let terminals = fs::standard_terminals().into_iter().map(|path| (path, Rights::ReadWrite));
    let devices = DEVICES.iter().map(|(path, rights)| (Path::from(*path), *rights)).chain(terminals);
    for (device, rights) in devices {
        // Absent (a minimal /dev in a new root): nothing to grant.
        let Ok(device) = fs::canonicalize(&device) else { continue };
        if denials.iter().any(|denial| denial.covers(&device)) || grants.iter().any(|grant| grant.path == device) {
            continue;
        }
        grants.push(open(&device, rights, Reason::Device)?);
    }
    for file in fs::standard_files() {
        if !denials.iter().any(|denial| denial.covers(&file.path)) {
            grants.push(open(&file.path, Rights::Reopen { read: file.read, write: file.write }, Reason::Standard)?);
        }
    }
    Ok(())
}

fn open(path: &Path, rights: Rights, reason: Reason) -> Result<Grant, PlanError> {
    let (fd, directory) = fs::open_path(path).map_err(unreadable(path))?;
    Ok(Grant { path: path.clone(), rights, directory, reason, fd })
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::fs as stdfs;
    use std::os::unix::ffi::OsStrExt;
    use std::path::PathBuf;

    use super::*;
    use crate::request::{Setting, Settings};

    fn tree(test: &str) -> PathBuf {
        let root = std::env::temp_dir().join(format!("sandbox-landlock-{test}-{}", std::process::id()));
        let _ = stdfs::remove_dir_all(&root);
        for dir in ["home/.ssh", "home/docs", "other"] {
            stdfs::create_dir_all(root.join(dir)).unwrap();
        }
        for file in ["home/.ssh/id_rsa", "home/.ssh/id_rsa.pub", "home/.ssh/config", "home/notes", "other/x"] {
            stdfs::write(root.join(file), "").unwrap();
        }
        std::os::unix::fs::symlink("/etc", root.join("home/link")).unwrap();
        root
    }

    fn plan(root: &std::path::Path, read_write: &str, deny: &str, devices: bool) -> Plan {
        let settings = Settings {
            read_write: Some(Setting { origin: "RW", value: read_write }),
            deny: Some(Setting { origin: "DENY", value: deny }),
            devices,
            ..Settings::default()
        };
        let home = Path::new(root.as_os_str().as_bytes());
        Plan::new(Request::new(&settings, Some(&home)).unwrap().unwrap()).unwrap()
    }

    fn grants(plan: &Plan, root: &std::path::Path) -> Vec<String> {
        let root = Path::new(root.canonicalize().unwrap().as_os_str().as_bytes());
        let relative = |grant: &Grant| {
            let path = grant.path.lossy();
            path.strip_prefix(&*root.lossy()).map_or(path.to_string(), |rest| rest.trim_start_matches('/').to_owned())
        };
        plan.grants.iter().map(|grant| format!("{} {}", grant.rights.name(), relative(grant))).collect()
    }

    #[test]
    fn a_carve_out_grants_the_siblings_on_the_way_down() {
        let root = tree("siblings");
        let plan = plan(&root, "~/home:~/other", "~/home/.ssh/id_rsa*", false);
        assert_eq!(
            grants(&plan, &root),
            [
                "list-only home",
                "list-only home/.ssh",
                "read-write home/.ssh/config",
                "read-write home/docs",
                "read-write home/notes",
                "read-write other",
            ]
        );
        assert!(!plan.grants[2].directory);
        stdfs::remove_dir_all(root).unwrap();
    }

    /// Once a bug (fixed): a rule on another name for a denied file (a hard
    /// link among the siblings, here) granted the file by its own path.
    #[test]
    fn another_name_for_a_denied_entry_is_never_granted() {
        let root = tree("aliases");
        stdfs::hard_link(root.join("home/.ssh/id_rsa"), root.join("home/keep")).unwrap();
        let plan = plan(&root, "~/home", "~/home/.ssh/id_rsa", false);
        assert_eq!(
            grants(&plan, &root),
            [
                "list-only home",
                "list-only home/.ssh",
                "read-write home/.ssh/config",
                "read-write home/.ssh/id_rsa.pub",
                "read-write home/docs",
                "read-write home/notes",
            ]
        );
        assert_eq!(plan.aliases.len(), 1);
        assert!(plan.aliases[0].lossy().ends_with("home/keep"), "{:?}", plan.aliases);
        assert!(plan.describe().contains("home/keep (another name for what is carved out)"), "{}", plan.describe());
        // Asked for as a tree of its own: refused, naming both.
        let settings = Settings {
            read_write: Some(Setting { origin: "RW", value: "~/other:~/home/keep" }),
            deny: Some(Setting { origin: "DENY", value: "~/home/.ssh/id_rsa" }),
            ..Settings::default()
        };
        let home = Path::new(root.as_os_str().as_bytes());
        let error = Plan::new(Request::new(&settings, Some(&home)).unwrap().unwrap()).unwrap_err();
        assert!(matches!(error.kind, PlanErrorKind::Undoes(_)), "{error:?}");
        assert!(error.to_string().contains("home/keep is another name"), "{error}");
        assert!(error.to_string().contains("~/home/.ssh/id_rsa, which is carved out"), "{error}");
        stdfs::remove_dir_all(root).unwrap();
    }

    /// The same for a file beneath a denied directory: its hard link among
    /// the carved directory's entries.
    #[test]
    fn another_name_for_a_file_beneath_a_denied_directory_is_never_granted() {
        let root = tree("aliases-beneath");
        stdfs::create_dir(root.join("home/.ssh/sub")).unwrap();
        stdfs::write(root.join("home/.ssh/sub/key"), "").unwrap();
        stdfs::hard_link(root.join("home/.ssh/sub/key"), root.join("home/keep")).unwrap();
        let plan = plan(&root, "~/home", "~/home/.ssh", false);
        assert_eq!(grants(&plan, &root), ["list-only home", "read-write home/docs", "read-write home/notes"]);
        assert!(plan.aliases[0].lossy().ends_with("home/keep"), "{:?}", plan.aliases);
        stdfs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_denied_root_is_not_granted_at_all() {
        let root = tree("denied-root");
        let plan = plan(&root, "~/home/docs:~/other", "~/home/d*", false);
        assert_eq!(grants(&plan, &root), ["read-write other"]);
        stdfs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn devices_are_granted_unless_carved_out_or_left_out() {
        let root = tree("devices");
        let with = plan(&root, "~/other", "/dev/zero", true);
        let granted = grants(&with, &root);
        for device in ["read-write /dev/null", "read-write /dev/full", "read-only /dev/urandom", "read-write /dev/tty"]
        {
            assert!(granted.iter().any(|grant| grant == device), "{device} in {granted:?}");
        }
        assert!(!granted.iter().any(|grant| grant.contains("/dev/zero")), "{granted:?}");
        assert!(with.grants.iter().filter(|grant| grant.reason == Reason::Device).all(|grant| !grant.directory));
        let without = plan(&root, "~/other", "", false);
        assert_eq!(grants(&without, &root), ["read-write other"]);
        stdfs::remove_dir_all(root).unwrap();
    }
}
