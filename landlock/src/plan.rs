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

use std::fs;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use thiserror::Error;

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
}

impl Rights {
    fn name(self) -> &'static str {
        match self {
            Rights::ReadOnly => "read-only",
            Rights::ReadWrite => "read-write",
            Rights::ListOnly => "list-only",
            Rights::Run => "run",
        }
    }
}

/// One rule: `rights` beneath `path`.
#[derive(Debug)]
pub struct Grant {
    /// The file or directory, for explanations.
    pub path: PathBuf,
    /// What is allowed beneath it.
    pub rights: Rights,
    /// Whether it is a directory (files take file rights only).
    pub directory: bool,
    /// Opened with `O_PATH | O_NOFOLLOW` when the plan was made, so that a
    /// path replaced by a symbolic link since cannot redirect the grant.
    pub(crate) fd: OwnedFd,
}

/// The rules for a request.
#[derive(Debug)]
pub struct Plan {
    /// What was asked.
    pub request: Request,
    /// The filesystem rules.
    pub grants: Vec<Grant>,
}

/// A path the plan cannot be made for.
#[derive(Debug, Error)]
#[error("{path}: {error}")]
pub struct PlanError {
    /// The path.
    pub path: PathBuf,
    /// Why.
    pub error: io::Error,
}

impl Plan {
    /// Expands the carve-outs of `request` into grants, reading the
    /// directories on the way.
    pub fn new(request: Request) -> Result<Plan, PlanError> {
        let mut grants = Vec::new();
        let trees = request.read_only.iter().map(|path| (path, Rights::ReadOnly));
        let trees = trees.chain(request.read_write.iter().map(|path| (path, Rights::ReadWrite)));
        for (root, rights) in trees {
            if !request.deny.iter().any(|denial| denial.covers(root)) {
                grant_tree(root, rights, &request.deny, &mut grants)?;
            }
        }
        Ok(Plan { request, grants })
    }

    /// Adds the right to read and execute the file at `path`.
    pub fn grant_run(&mut self, path: &Path) -> Result<(), PlanError> {
        self.grants.push(open(path, Rights::Run)?);
        Ok(())
    }

    /// One line per rule, for `--explain`.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        if self.request.restricts_files {
            out.push_str("files: everything not granted below is denied\n");
            for grant in &self.grants {
                out.push_str(&format!("  {:<10} {}\n", grant.rights.name(), grant.path.display()));
            }
            for denial in &self.request.deny {
                out.push_str(&format!("  {:<10} {} (carved out)\n", "denied", denial.written));
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
        grants.push(open(path, rights)?);
        return Ok(());
    }
    grants.push(open(path, Rights::ListOnly)?);
    let error = |error| PlanError { path: path.to_path_buf(), error };
    let mut entries = fs::read_dir(path).map_err(error)?.collect::<Result<Vec<_>, _>>().map_err(error)?;
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name();
        let denied = denials.iter().any(|denial| denial.denies(path, &name.to_string_lossy()));
        if denied || entry.file_type().map_err(error)?.is_symlink() {
            continue;
        }
        grant_tree(&entry.path(), rights, denials, grants)?;
    }
    Ok(())
}

fn open(path: &Path, rights: Rights) -> Result<Grant, PlanError> {
    let error = |error| PlanError { path: path.to_path_buf(), error };
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(error)?;
    let directory = file.metadata().map_err(error)?.is_dir();
    Ok(Grant { path: path.to_path_buf(), rights, directory, fd: file.into() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Setting, Settings};

    fn tree(test: &str) -> PathBuf {
        let root = std::env::temp_dir().join(format!("sandbox-landlock-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        for dir in ["home/.ssh", "home/docs", "other"] {
            fs::create_dir_all(root.join(dir)).unwrap();
        }
        for file in ["home/.ssh/id_rsa", "home/.ssh/id_rsa.pub", "home/.ssh/config", "home/notes", "other/x"] {
            fs::write(root.join(file), "").unwrap();
        }
        std::os::unix::fs::symlink("/etc", root.join("home/link")).unwrap();
        root
    }

    fn plan(root: &Path, read_write: &str, deny: &str) -> Plan {
        let settings = Settings {
            read_write: Some(Setting { origin: "RW", value: read_write }),
            deny: Some(Setting { origin: "DENY", value: deny }),
            ..Settings::default()
        };
        Plan::new(Request::new(&settings, Some(root)).unwrap().unwrap()).unwrap()
    }

    fn grants(plan: &Plan, root: &Path) -> Vec<String> {
        let root = root.canonicalize().unwrap();
        let relative = |grant: &Grant| grant.path.strip_prefix(&root).unwrap().display().to_string();
        plan.grants.iter().map(|grant| format!("{} {}", grant.rights.name(), relative(grant))).collect()
    }

    #[test]
    fn a_carve_out_grants_the_siblings_on_the_way_down() {
        let root = tree("siblings");
        let plan = plan(&root, "~/home:~/other", "~/home/.ssh/id_rsa*");
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
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_denied_root_is_not_granted_at_all() {
        let root = tree("denied-root");
        let plan = plan(&root, "~/home/docs:~/other", "~/home/d*");
        assert_eq!(grants(&plan, &root), ["read-write other"]);
        fs::remove_dir_all(root).unwrap();
    }
}
