//! Helpers for the end-to-end tests: compile the C programs in `tests/c` at
//! test time, find the built artifacts, and run programs as root or as an
//! ordinary user with a controlled environment, capturing status and output.
//!
//! The tests need the release artifacts: `cargo build --release` first (the
//! README's test command does).

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Who a program runs as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum User {
    /// The test runner's own identity (root on CI).
    Root,
    /// `nobody` (65534:65534, no supplementary groups), as
    /// `setpriv --reuid=65534 --regid=65534 --clear-groups` would run it.
    Nobody,
}

/// Both identities, for tests that must hold for each.
pub const USERS: [User; 2] = [User::Root, User::Nobody];

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A release artifact such as `libsandbox.so` or `sandboxify`.
pub fn artifact(name: &str) -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace().join("target"));
    let path = dir.join("release").join(name);
    assert!(path.exists(), "{} is missing: run `cargo build --release` before the tests", path.display());
    path
}

/// `target/release/libsandbox.so`.
pub fn library() -> PathBuf {
    artifact("libsandbox.so")
}

/// `target/release/sandboxify`.
pub fn sandboxify() -> PathBuf {
    artifact("sandboxify")
}

/// A directory for test files that `nobody` can read and execute.
pub fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("sandbox-tests-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        dir
    })
}

/// A fresh, empty, world-writable directory under [`scratch_dir`].
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = scratch_dir().join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o1777)).unwrap();
    dir
}

/// A copy of `program` named `name` beside it, owned by root with `mode`
/// (0o4755 for setuid-root, 0o2755 for setgid-root).
pub fn privileged_copy(program: &Path, name: &str, mode: u32) -> PathBuf {
    let copy = program.with_file_name(name);
    fs::copy(program, &copy).unwrap();
    std::os::unix::fs::chown(&copy, Some(0), Some(0)).unwrap();
    fs::set_permissions(&copy, fs::Permissions::from_mode(mode)).unwrap();
    copy
}

/// Compiles `tests/c/<name>.c` with `cc` and `flags`, once per test process,
/// and returns the executable's path.
pub fn compile(name: &str, flags: &[&str]) -> PathBuf {
    compile_with("cc", name, flags)
}

/// [`compile`] with another compiler driver (`musl-gcc`, from musl-tools).
pub fn compile_with(compiler: &str, name: &str, flags: &[&str]) -> PathBuf {
    static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);
    let key = format!("{compiler} {name} {}", flags.join(" "));
    let mut built = BUILT.lock().unwrap();
    let built = built.get_or_insert_with(HashMap::new);
    if let Some(path) = built.get(&key) {
        return path.clone();
    }
    let source = workspace().join("tests/c").join(format!("{name}.c"));
    let output = scratch_dir().join(format!("{name}-{}", built.len()));
    let result = Command::new(compiler)
        .args(["-O1", "-Wall", "-Werror", "-o"])
        .arg(&output)
        .arg(&source)
        .args(flags)
        .output()
        .unwrap_or_else(|error| panic!("run {compiler}: {error}"));
    assert!(
        result.status.success(),
        "{compiler} {} {}: {}",
        source.display(),
        flags.join(" "),
        String::from_utf8_lossy(&result.stderr)
    );
    built.insert(key, output.clone());
    output
}

/// How a program ended, and what it printed.
#[derive(Debug)]
pub struct Outcome {
    /// Its process ID (sandboxify names its cgroups after it).
    pub pid: u32,
    /// The wait status.
    pub status: ExitStatus,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Outcome {
    /// The exit code, if it exited.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// The signal that killed it, if one did.
    pub fn signal(&self) -> Option<i32> {
        self.status.signal()
    }

    /// Whether it was killed by SIGSYS, as a seccomp kill does.
    pub fn killed_by_seccomp(&self) -> bool {
        self.signal() == Some(libc::SIGSYS)
    }

    /// Panics with everything known unless it exited with `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code(), Some(code), "expected exit {code}: {self:#?}");
        self
    }

    /// Panics with everything known unless seccomp killed it.
    #[track_caller]
    pub fn assert_killed(&self) -> &Self {
        assert!(self.killed_by_seccomp(), "expected SIGSYS: {self:#?}");
        self
    }

    /// Panics unless it exited 0.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        self.assert_code(0)
    }
}

/// A program to run, with a clean environment (only `PATH` and `LANG` are
/// passed on unless [`Run::env`] adds more).
pub struct Run {
    command: Command,
    user: User,
    timeout: Duration,
}

impl Run {
    /// Prepares `program` with `args`.
    pub fn new(program: impl AsRef<OsStr>, args: &[&str]) -> Run {
        let mut command = Command::new(program);
        command.args(args).env_clear().env("PATH", "/usr/local/bin:/usr/bin:/bin").env("LANG", "C");
        command.stdin(Stdio::null()).current_dir(scratch_dir());
        Run { command, user: User::Root, timeout: Duration::from_secs(60) }
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Run {
        self.command.env(key, value);
        self
    }

    /// Preloads the built `libsandbox.so`.
    pub fn preload(self) -> Run {
        let library = library();
        self.env("LD_PRELOAD", library)
    }

    /// Runs as `user`.
    pub fn user(mut self, user: User) -> Run {
        self.user = user;
        self
    }

    /// Gives up (and fails the test) after `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Run {
        self.timeout = timeout;
        self
    }

    /// Runs in `dir` instead of [`scratch_dir`].
    pub fn dir(mut self, dir: impl AsRef<Path>) -> Run {
        self.command.current_dir(dir);
        self
    }

    /// Runs to completion; panics if it does not finish within the timeout.
    pub fn run(self) -> Outcome {
        self.try_run().unwrap_or_else(|error| panic!("{error}"))
    }

    /// Runs to completion, or returns why not: the program could not be
    /// started, or it (or a process it left holding its output) was still
    /// running at the timeout, when its whole process group was killed.
    pub fn try_run(mut self) -> Result<Outcome, String> {
        if self.user == User::Nobody {
            // std clears the supplementary groups when root sets a uid.
            self.command.uid(65534).gid(65534);
        }
        self.command.stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
        // A program written by this test process can be busy for a moment
        // (ETXTBSY): another test's fork may still hold its write descriptor.
        let mut attempts = 0;
        let mut child = loop {
            match self.command.spawn() {
                Err(error) if error.raw_os_error() == Some(libc::ETXTBSY) && attempts < 100 => {
                    attempts += 1;
                    std::thread::sleep(Duration::from_millis(10));
                }
                spawned => break spawned.map_err(|e| format!("spawn {:?}: {e}", self.command.get_program()))?,
            }
        };
        let pid = child.id();
        let pipes: [OwnedFd; 2] = [child.stdout.take().unwrap().into(), child.stderr.take().unwrap().into()];
        let readers = pipes.map(|pipe| {
            let mut pipe = fs::File::from(pipe);
            std::thread::spawn(move || {
                let mut text = Vec::new();
                std::io::Read::read_to_end(&mut pipe, &mut text).unwrap();
                String::from_utf8_lossy(&text).into_owned()
            })
        });
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                // SAFETY: kill(2) on the child's process group, which we created.
                unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
                let _ = child.wait();
                return Err(format!("{:?} did not finish within {:?}", self.command.get_program(), self.timeout));
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        // A process the program left behind may still hold the pipes (a
        // permissive-mode reporter writes after the program ends): wait for
        // the output until the deadline, then end the process group.
        while readers.iter().any(|reader| !reader.is_finished()) {
            if Instant::now() > deadline {
                // SAFETY: kill(2) on the child's process group, which we created.
                unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
                return Err(format!(
                    "{:?} left a process holding its output past {:?}",
                    self.command.get_program(),
                    self.timeout
                ));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let [stdout, stderr] = readers.map(|reader| reader.join().unwrap());
        Ok(Outcome { pid, status, stdout, stderr })
    }
}

/// Whether the tests run as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid reads the caller's effective user ID.
    unsafe { libc::geteuid() == 0 }
}

/// `runc run` of the static `program args...` in a bundle made at `bundle`
/// (`program` as its whole root), under the OCI seccomp profile `seccomp`,
/// with runc's default configuration otherwise; with `capabilities`
/// (`CAP_*` names), those in every set instead of runc's three.
pub fn runc_run(
    bundle: &Path,
    program: &Path,
    args: &[&str],
    seccomp: serde_json::Value,
    capabilities: Option<&[&str]>,
) -> Outcome {
    let rootfs = bundle.join("rootfs");
    fs::create_dir_all(&rootfs).unwrap();
    fs::copy(program, rootfs.join("probe")).unwrap();
    Run::new("runc", &["spec", "--bundle", bundle.to_str().unwrap()]).run().assert_success();
    let config = bundle.join("config.json");
    let mut spec: serde_json::Value = serde_json::from_slice(&fs::read(&config).unwrap()).unwrap();
    let mut command = vec!["/probe".to_owned()];
    command.extend(args.iter().map(|arg| arg.to_string()));
    spec["process"]["args"] = serde_json::json!(command);
    spec["process"]["terminal"] = serde_json::json!(false);
    if let Some(capabilities) = capabilities {
        for set in ["bounding", "effective", "permitted", "ambient"] {
            spec["process"]["capabilities"][set] = serde_json::json!(capabilities);
        }
    }
    spec["linux"]["seccomp"] = seccomp;
    fs::write(&config, serde_json::to_vec_pretty(&spec).unwrap()).unwrap();
    // Unique among the bundles of this process: its last two path components.
    let tail: Vec<String> =
        bundle.iter().rev().take(2).map(|part| part.to_string_lossy().into_owned()).collect::<Vec<_>>();
    let id = format!("sandbox-test-{}-{}-{}", std::process::id(), tail[1], tail[0]);
    Run::new("runc", &["run", "--bundle", bundle.to_str().unwrap(), &id]).run()
}
