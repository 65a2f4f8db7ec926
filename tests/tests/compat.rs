//! Real-program compatibility suite: Debian programs doing real work, run
//! plainly and then under every way of applying a policy, as root and (for
//! the programs marked so) as `nobody`. A cell passes when the program ends
//! the same way (exit status or signal), prints the same stdout and leaves
//! the same files in its work directory as the plain run; stderr is only
//! kept for the report.
//!
//!     cargo build --release --workspace
//!     cargo test --release -p sandbox-tests --test compat
//!
//! It has no libtest harness (`harness = false`): it prints a table (one row
//! per program and user, one column per mode: `ok`, `FAIL`, `forb`, `-`),
//! the legend of the `-` and `forb` cells, then for every FAIL what differed,
//! how to reproduce it and the tail of its stderr, and exits 1 if any cell
//! failed.
//!
//! The corpus is `tests/compat/programs` (its format is described at its
//! top). Environment variables narrow or change a run:
//!
//! | variable | effect |
//! |---|---|
//! | `COMPAT_CORPUS=FILE` | run FILE (same format) instead of `tests/compat/programs` |
//! | `COMPAT_ONLY=a,b` | only the programs named `a` and `b` |
//! | `COMPAT_MODES=lib,sfy-ns` | only these modes (`plain`, the reference, always runs) |
//! | `COMPAT_USERS=root` | only these users (`root`, `nobody`) |
//! | `COMPAT_REPEAT=N` | run the learned-list cells of `repeat:` programs N times instead |
//! | `COMPAT_JOBS=N` | programs run in parallel (default 2; each program's cells run in sequence) |
//! | `COMPAT_KEEP=1` | keep the work directories (in `/tmp/sandbox-tests-PID/compat`) |
//!
//! Arguments that do not start with `-` are taken as program names too (so
//! `cargo test --release --workspace NAME` runs only NAME here), and `--list`
//! lists the one test for tools that ask.
//!
//! The modes (columns):
//!
//! | mode | how the program runs |
//! |---|---|
//! | `plain` | `/bin/sh -c COMMAND`, twice: the reference, which must exit 0 and be the same both times |
//! | `lib` | `LD_PRELOAD=libsandbox.so`, no policy |
//! | `lib-deny` | `LD_PRELOAD`, `SECCOMP_SYSCALL_DENY=` the hardening list [`DENY`] |
//! | `lib-log` | `LD_PRELOAD`, `SECCOMP_SYSCALL_ALLOW=` (empty), `SECCOMP_DEFAULT_ACTION=log`, `SANDBOX_REPORT=` a file outside the work directory |
//! | `lib-learn` | `LD_PRELOAD`, `SECCOMP_SYSCALL_ALLOW=` the list learned once with `sandboxify --learn LIST --preload` |
//! | `lib-count` | `LD_PRELOAD`, `SECCOMP_SYSCALL_DENY=` [`DENY`] and [`COUNTED`], `SANDBOX_REPORT_COUNTS=errno:trap` (kills named; errno calls answered by the reporter's listener, after the start-up guard) |
//! | `patch-env` | the `program:` binaries replaced (first in PATH) by copies patched with `patchelf-helper --add-needed libsandbox.so`, [`DENY`] in the environment |
//! | `patch-attached` | the same copies with [`DENY`] and `refuse-i386` attached (`patchelf-helper --policy`), no policy variable |
//! | `sfy` | `sandboxify -- /bin/sh -c COMMAND`, no policy |
//! | `sfy-deny` | `sandboxify --deny` [`DENY`] |
//! | `sfy-report` | the same with `--refuse-i386` and its reporter: [`COUNTED`] too, `SANDBOX_REPORT_KILLS=1 SANDBOX_REPORT_COUNTS=errno:trap` (traced; kills named, errno and trap calls counted, errno calls answered by the reporter's listener) |
//! | `sfy-learn` | `sandboxify --allow` the list learned once with `sandboxify --learn LIST` |
//! | `sfy-preload` | `sandboxify --preload --refuse-i386 --allow` the list learned with `--learn --preload` |
//! | `lib-landlock` | `LD_PRELOAD`, [`DENY`], `SANDBOX_REFUSE_I386=1`, `SANDBOX_FS_RO=`[`FS_RO`], `SANDBOX_FS_RW=WORKDIR:/tmp:/dev/shm`, no TCP (`SANDBOX_NET_CONNECT= SANDBOX_NET_BIND=`) |
//! | `sfy-landlock` | the same with sandboxify options (`--fs-rw WORKDIR --fs-rw /tmp:/dev/shm`) |
//! | `sfy-ns` | `sandboxify --unshare-user --unshare-ipc --unshare-net --unshare-uts --hostname HOST --unshare-pid` (no `--unshare-pid` with `pid-namespace: no`) |
//! | `sfy-root` | `sandboxify --ro-bind / / --tmpfs /tmp --bind WORKDIR WORKDIR --dev /dev --proc /proc --unshare-pid --chdir WORKDIR` |
//!
//! Each program has a work directory of its own per user, emptied and
//! recreated (owned by the user, with `home/` in it) before every cell, at
//! the same path for all its cells; the environment is only `PATH=BIN:/usr/bin:/bin`
//! (BIN is empty but in the patch modes), `HOME=WORKDIR/home`, `LANG=C.UTF-8`,
//! `TZ=UTC` and the program's `env:` lines; stdin is `/dev/null`. Every run
//! has a timeout (60 s, or the program's `timeout:`), so a hang fails the
//! cell instead of blocking the suite. For `repeat: N` programs, the
//! learned-list cells (`lib-learn`, `sfy-learn`, `sfy-preload`) run N times
//! and pass only if every run matches; the list is learned only once per
//! program, user and kind (`lib-learn` and `sfy-preload` share the
//! `--preload` list; the learning run must match the plain run too), merged
//! from `learn-runs: N` learning runs into one file (default 1). When a
//! learned list gets the program killed (or hung), permissive reruns with
//! the same list name the calls it missed. The work directory's files are
//! compared by relative path, type, mode, owner, size, content hash and
//! symlink target (not times, not inode numbers); `volatile:` files by all
//! but their content. BIN sits beside links to /usr's `lib`, `share`...,
//! so that a copy finds its files relative to itself as from /usr/bin
//! (gcc's `cc1`).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs;
use std::hash::Hasher;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sandbox_tests::{Run, User, artifact, library, sandboxify, scratch_dir, workspace};

/// The hardening deny list of the `*-deny`, patch and Landlock modes: calls
/// no program of the corpus needs (a program that does is marked
/// `forbidden:` for those modes). It names ptrace, so the library names its
/// kills under it: every program runs with the kill reporter's SIGSYS
/// handler and protections in place.
const DENY: &str =
    "@mount:@module:@reboot:@swap:@raw-io:@clock:@cpu-emulation:@obsolete:kexec_load:bpf:perf_event_open:ptrace";

/// The errno entry of the counting modes (`lib-count`, `sfy-report`): every
/// program makes this call (glibc registers each thread with `rseq`, and
/// goes on without it when the kernel says ENOSYS, as under container
/// profiles that deny it), so each of its threads has a call answered by the
/// reporter's listener, and the run must still match the plain one.
const COUNTED: &str = "rseq=ENOSYS";

/// What the Landlock modes may read and execute.
const FS_RO: &str = "/usr:/etc:/lib:/lib64:/bin:/sbin:/proc:/sys:/dev";

/// What the Landlock modes may also write, besides the work directory.
/// (`/dev/shm` for POSIX semaphores and shared memory: Python's
/// multiprocessing needs it.)
const FS_RW_SYSTEM: &str = "/tmp:/dev/shm";

/// The directories of /usr linked beside the patched copies' BIN.
const USR_SIBLINGS: [&str; 5] = ["lib", "lib64", "libexec", "include", "share"];

/// How many permissive reruns look for the calls a learned list misses.
const DIAGNOSIS_RUNS: usize = 10;

const MODES: [&str; 17] = [
    "plain",
    "lib",
    "lib-deny",
    "lib-log",
    "lib-learn",
    "lib-count",
    "patch-env",
    "patch-attached",
    "sfy",
    "sfy-deny",
    "sfy-report",
    "sfy-learn",
    "sfy-preload",
    "lib-landlock",
    "sfy-landlock",
    "sfy-ns",
    "sfy-root",
];

/// Names that stand for several modes in `forbidden:` and `skip:` lines.
const ALIASES: [(&str, &[&str]); 6] = [
    (
        "@deny",
        &[
            "lib-deny",
            "lib-count",
            "patch-env",
            "patch-attached",
            "sfy-deny",
            "sfy-report",
            "lib-landlock",
            "sfy-landlock",
        ],
    ),
    ("@learn", &["lib-learn", "sfy-learn", "sfy-preload"]),
    ("@landlock", &["lib-landlock", "sfy-landlock"]),
    ("@patch", &["patch-env", "patch-attached"]),
    ("@lib", &["lib", "lib-deny", "lib-log", "lib-learn", "lib-count", "lib-landlock"]),
    ("@sfy", &["sfy", "sfy-deny", "sfy-report", "sfy-learn", "sfy-preload", "sfy-landlock", "sfy-ns", "sfy-root"]),
];

fn mode_index(name: &str) -> Option<usize> {
    MODES.iter().position(|mode| *mode == name)
}

// ---------------------------------------------------------------------------
// The corpus

/// How a forbidden cell must fail.
#[derive(Clone, Debug)]
enum Expect {
    /// Killed by SIGSYS (status 159 through the shell).
    Sigsys,
    /// A non-zero exit with this errno's message on stderr.
    Errno(String, String),
}

impl Expect {
    fn describe(&self) -> String {
        match self {
            Expect::Sigsys => "killed by SIGSYS (159)".to_owned(),
            Expect::Errno(name, text) => format!("{name} (\"{text}\" on stderr, non-zero exit)"),
        }
    }
}

#[derive(Debug)]
struct Program {
    name: String,
    line: usize,
    command: String,
    setup: Option<String>,
    programs: Vec<String>,
    nobody: bool,
    repeat: usize,
    learn_runs: usize,
    env: Vec<(String, String)>,
    volatile: Vec<String>,
    forbidden: BTreeMap<usize, Expect>,
    skip: BTreeMap<usize, String>,
    pid_namespace: bool,
    timeout: Duration,
}

fn errno_text(name: &str) -> Option<String> {
    const ERRNOS: [(&str, i32); 12] = [
        ("EPERM", libc::EPERM),
        ("ENOENT", libc::ENOENT),
        ("EACCES", libc::EACCES),
        ("EXDEV", libc::EXDEV),
        ("EROFS", libc::EROFS),
        ("ENOSYS", libc::ENOSYS),
        ("EINVAL", libc::EINVAL),
        ("ENETUNREACH", libc::ENETUNREACH),
        ("ECONNREFUSED", libc::ECONNREFUSED),
        ("EAFNOSUPPORT", libc::EAFNOSUPPORT),
        ("ENETDOWN", libc::ENETDOWN),
        ("EADDRNOTAVAIL", libc::EADDRNOTAVAIL),
    ];
    let number = ERRNOS.iter().find(|(known, _)| *known == name)?.1;
    Some(std::io::Error::from_raw_os_error(number).to_string().split(" (os error").next().unwrap().to_owned())
}

/// Mode names (and aliases) in `words`.
fn modes_of(words: &str, line: usize) -> Result<Vec<usize>, String> {
    let mut modes = Vec::new();
    for word in words.split(|c: char| c.is_whitespace() || c == ',').filter(|w| !w.is_empty()) {
        if let Some((_, members)) = ALIASES.iter().find(|(alias, _)| *alias == word) {
            modes.extend(members.iter().map(|m| mode_index(m).unwrap()));
        } else if word == "plain" {
            return Err(format!("line {line}: plain is the reference: it cannot be forbidden or skipped"));
        } else {
            modes.push(mode_index(word).ok_or_else(|| format!("line {line}: unknown mode {word:?}"))?);
        }
    }
    if modes.is_empty() {
        return Err(format!("line {line}: no mode named"));
    }
    Ok(modes)
}

fn parse_corpus(text: &str) -> Result<Vec<Program>, String> {
    let mut programs: Vec<Program> = Vec::new();
    let mut lines = text.lines().enumerate().map(|(i, line)| (i + 1, line));
    while let Some((number, line)) = lines.next() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (key, value) =
            trimmed.split_once(':').ok_or_else(|| format!("line {number}: expected KEY: VALUE, got {trimmed:?}"))?;
        let key = key.trim();
        let mut value = value.trim().to_owned();
        if let Some(tag) = value.strip_prefix("<<") {
            let tag = tag.trim().to_owned();
            if tag.is_empty() {
                return Err(format!("line {number}: <<TAG needs a TAG"));
            }
            let mut block = String::new();
            loop {
                let Some((_, raw)) = lines.next() else {
                    return Err(format!("line {number}: no line {tag:?} ends the block"));
                };
                if raw.trim_end() == tag {
                    break;
                }
                block.push_str(raw);
                block.push('\n');
            }
            value = block;
        }
        if key == "name" {
            if value.is_empty() || !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
            {
                return Err(format!("line {number}: a name is letters, digits, '-', '_' and '.': {value:?}"));
            }
            if programs.iter().any(|p| p.name == value) {
                return Err(format!("line {number}: {value} is named twice"));
            }
            programs.push(Program {
                name: value,
                line: number,
                command: String::new(),
                setup: None,
                programs: Vec::new(),
                nobody: false,
                repeat: 1,
                learn_runs: 1,
                env: Vec::new(),
                volatile: Vec::new(),
                forbidden: BTreeMap::new(),
                skip: BTreeMap::new(),
                pid_namespace: true,
                timeout: Duration::from_secs(60),
            });
            continue;
        }
        let program = programs.last_mut().ok_or_else(|| format!("line {number}: {key}: before any name:"))?;
        match key {
            "command" => program.command = value,
            "setup" => program.setup = Some(value),
            "program" => program.programs.extend(value.split_whitespace().map(str::to_owned)),
            "volatile" => program.volatile.extend(value.split_whitespace().map(str::to_owned)),
            "nobody" | "pid-namespace" => {
                let yes = match value.as_str() {
                    "yes" => true,
                    "no" => false,
                    _ => return Err(format!("line {number}: {key}: expected yes or no")),
                };
                if key == "nobody" {
                    program.nobody = yes;
                } else {
                    program.pid_namespace = yes;
                }
            }
            "repeat" | "learn-runs" => {
                let count = value
                    .parse()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| format!("line {number}: {key}: a number >= 1"))?;
                if key == "repeat" {
                    program.repeat = count;
                } else {
                    program.learn_runs = count;
                }
            }
            "timeout" => {
                program.timeout = Duration::from_secs(
                    value.parse().ok().filter(|n| *n >= 1).ok_or_else(|| format!("line {number}: timeout: seconds"))?,
                )
            }
            "env" => {
                let (k, v) = value.split_once('=').ok_or_else(|| format!("line {number}: env: expected KEY=VALUE"))?;
                program.env.push((k.trim().to_owned(), v.to_owned()));
            }
            "forbidden" => {
                let (modes, how) = match value.split_once('=') {
                    Some((modes, how)) => (modes, how.trim()),
                    None => (value.as_str(), "sigsys"),
                };
                let expect = if how.eq_ignore_ascii_case("sigsys") {
                    Expect::Sigsys
                } else {
                    let text = errno_text(how).ok_or_else(|| {
                        format!("line {number}: forbidden: expected sigsys or an errno name, got {how:?}")
                    })?;
                    Expect::Errno(how.to_owned(), text)
                };
                for mode in modes_of(modes, number)? {
                    program.forbidden.insert(mode, expect.clone());
                }
            }
            "skip" => {
                let (modes, reason) =
                    value.split_once('=').ok_or_else(|| format!("line {number}: skip: expected MODES = REASON"))?;
                for mode in modes_of(modes, number)? {
                    program.skip.insert(mode, reason.trim().to_owned());
                }
            }
            _ => return Err(format!("line {number}: unknown key {key:?}")),
        }
    }
    for program in &programs {
        if program.command.trim().is_empty() {
            return Err(format!("line {}: {} has no command:", program.line, program.name));
        }
    }
    Ok(programs)
}

// ---------------------------------------------------------------------------
// Runs and what they leave behind

/// One file in the work directory after a run.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    kind: char,
    mode: u32,
    owner: (u32, u32),
    size: u64,
    hash: u64,
    target: String,
}

impl Entry {
    fn describe(&self) -> String {
        match self.kind {
            'f' => format!(
                "file {:04o} {}:{} {} bytes #{:016x}",
                self.mode, self.owner.0, self.owner.1, self.size, self.hash
            ),
            'l' => format!("symlink -> {}", self.target),
            'd' => format!("dir {:04o} {}:{}", self.mode, self.owner.0, self.owner.1),
            other => format!("{other} {:04o} {}:{}", self.mode, self.owner.0, self.owner.1),
        }
    }
}

type Files = BTreeMap<String, Entry>;

fn content_hash(path: &Path) -> std::io::Result<u64> {
    // SipHash with fixed keys: stable within this process, which is all the
    // comparison needs.
    #[allow(deprecated)]
    let mut hasher = std::hash::SipHasher::new();
    let mut file = fs::File::open(path)?;
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.write(&buffer[..n]);
    }
    Ok(hasher.finish())
}

fn snapshot(root: &Path) -> Result<Files, String> {
    fn walk(root: &Path, dir: &Path, files: &mut Files) -> std::io::Result<()> {
        let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let meta = fs::symlink_metadata(&path)?;
            let kind = meta.file_type();
            let relative = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let mut record = Entry {
                kind: '?',
                mode: meta.mode() & 0o7777,
                owner: (meta.uid(), meta.gid()),
                size: 0,
                hash: 0,
                target: String::new(),
            };
            if kind.is_file() {
                record.kind = 'f';
                record.size = meta.len();
                record.hash = content_hash(&path)?;
            } else if kind.is_dir() {
                record.kind = 'd';
            } else if kind.is_symlink() {
                record.kind = 'l';
                record.mode = 0;
                record.target = fs::read_link(&path)?.to_string_lossy().into_owned();
            } else {
                use std::os::unix::fs::FileTypeExt;
                record.kind = if kind.is_fifo() {
                    'p'
                } else if kind.is_socket() {
                    's'
                } else {
                    'c'
                };
            }
            let is_dir = record.kind == 'd';
            files.insert(relative, record);
            if is_dir {
                walk(root, &path, files)?;
            }
        }
        Ok(())
    }
    let mut files = Files::new();
    walk(root, root, &mut files).map_err(|error| format!("cannot read the work directory: {error}"))?;
    Ok(files)
}

/// Whether `path` matches `pattern`, where `*` matches any characters but `/`.
fn glob_match(pattern: &[u8], path: &[u8]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((b'*', rest)) => {
            (0..=path.len()).take_while(|&i| i == 0 || path[i - 1] != b'/').any(|i| glob_match(rest, &path[i..]))
        }
        Some((c, rest)) => path.first() == Some(c) && glob_match(rest, &path[1..]),
    }
}

/// How a run ended and what it left.
struct Observed {
    /// `exit N`, `signal N (NAME)`, or why it could not be judged.
    status: String,
    code: Option<i32>,
    signal: Option<i32>,
    stdout: String,
    stderr: String,
    files: Result<Files, String>,
    seconds: f64,
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGSYS => "SIGSYS",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGKILL => "SIGKILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGTERM => "SIGTERM",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        _ => "?",
    }
}

fn describe_status(code: Option<i32>, signal: Option<i32>) -> String {
    match (code, signal) {
        (Some(code), _) if code > 128 && code < 160 => {
            format!("exit {code} (signal {} {} in the shell)", code - 128, signal_name(code - 128))
        }
        (Some(code), _) => format!("exit {code}"),
        (None, Some(signal)) => format!("signal {signal} ({})", signal_name(signal)),
        _ => "unknown".to_owned(),
    }
}

/// An invocation: program, arguments and the variables added to the base
/// environment.
struct Invocation {
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

fn quote(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c)) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

// ---------------------------------------------------------------------------
// The tools and the patched copies

/// A patched copy, or why the program cannot have one.
type Patched = Result<PathBuf, String>;

struct Tools {
    library: PathBuf,
    sandboxify: PathBuf,
    helper: PathBuf,
    hostname: String,
    root: PathBuf,
    patched: Mutex<HashMap<(String, &'static str), Patched>>,
}

impl Tools {
    /// The copy of `name` patched for `mode` (`patch-env`: the library as a
    /// dependency; `patch-attached`: also [`DENY`] attached), made once.
    fn patched(&self, name: &str, mode: &'static str) -> Result<PathBuf, String> {
        let mut cache = self.patched.lock().unwrap();
        if let Some(result) = cache.get(&(name.to_owned(), mode)) {
            return result.clone();
        }
        let result = (|| {
            let original = if name.contains('/') {
                PathBuf::from(name)
            } else {
                ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
                    .iter()
                    .map(|dir| Path::new(dir).join(name))
                    .find(|path| path.exists())
                    .ok_or_else(|| format!("{name} not found in /usr/bin:/bin:/usr/sbin:/sbin"))?
            };
            let dir = self.root.join("patched").join(mode);
            fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
            let output = dir.join(Path::new(name).file_name().unwrap());
            let library = self.library.to_str().unwrap();
            let output_arg = output.to_str().unwrap();
            let original_arg = original.to_str().unwrap();
            let policy = format!("deny {DENY}\nrefuse-i386");
            let mut args = vec!["--add-needed", library];
            if mode == "patch-attached" {
                args.extend(["--policy", &policy]);
            }
            args.extend(["--output", output_arg, original_arg]);
            let outcome = Run::new(&self.helper, &args).try_run()?;
            if outcome.code() != Some(0) {
                return Err(format!(
                    "patchelf-helper refuses {}: {}",
                    original.display(),
                    outcome.stderr.lines().next().unwrap_or("").trim().trim_start_matches("patchelf-helper: ")
                ));
            }
            Ok(output)
        })();
        cache.insert((name.to_owned(), mode), result.clone());
        result
    }
}

// ---------------------------------------------------------------------------
// One row: a program as one user

#[derive(Clone, Debug)]
enum Verdict {
    Ok,
    /// What differed, and the symptom (how it ended, the last line of
    /// stderr) that groups failures of one cause in the summary.
    Fail(String, String),
    Forbidden,
    NotApplicable(String),
    NotRun,
}

impl Verdict {
    /// A failure whose symptom is the first line of its text.
    fn fail(text: String) -> Verdict {
        let symptom = text.lines().next().unwrap_or("").chars().take(100).collect();
        Verdict::Fail(text, symptom)
    }

    fn short(&self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Fail(..) => "FAIL",
            Verdict::Forbidden => "forb",
            Verdict::NotApplicable(_) => "-",
            Verdict::NotRun => ".",
        }
    }
}

struct Row<'a> {
    program: &'a Program,
    user: User,
    tools: &'a Tools,
    dir: PathBuf,
    work: PathBuf,
    bin: PathBuf,
    learned: HashMap<bool, Result<String, String>>,
}

struct RowResult {
    cells: Vec<Verdict>,
    seconds: f64,
    runs: usize,
}

fn user_name(user: User) -> &'static str {
    match user {
        User::Root => "root",
        User::Nobody => "nobody",
    }
}

fn ids(user: User) -> (u32, u32) {
    match user {
        User::Root => (0, 0),
        User::Nobody => (65534, 65534),
    }
}

fn make_dir(path: &Path, user: User) -> Result<(), String> {
    fs::create_dir_all(path).map_err(|e| format!("mkdir {}: {e}", path.display()))?;
    let (uid, gid) = ids(user);
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(|e| format!("chown {}: {e}", path.display()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())
}

fn remove_all(path: &Path) {
    fn open_up(dir: &Path) {
        let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                open_up(&entry.path());
            }
        }
    }
    if fs::symlink_metadata(path).is_ok() && fs::remove_dir_all(path).is_err() {
        // A program may leave directories without write permission.
        open_up(path);
        let _ = fs::remove_dir_all(path);
    }
}

impl<'a> Row<'a> {
    fn new(program: &'a Program, user: User, tools: &'a Tools) -> Result<Row<'a>, String> {
        let dir = tools.root.join(format!("{}-{}", program.name, user_name(user)));
        remove_all(&dir);
        make_dir(&dir, user)?;
        let work = dir.join("work");
        let bin = dir.join("bin");
        make_dir(&bin, User::Root)?;
        // Laid out like /usr, so that a program that finds its own files
        // relative to where it runs from (gcc's cc1, in ../lib/gcc) finds
        // Debian's from a copy in BIN, as from /usr/bin.
        for sibling in USR_SIBLINGS {
            let target = Path::new("/usr").join(sibling);
            std::os::unix::fs::symlink(&target, dir.join(sibling))
                .map_err(|e| format!("symlink {}: {e}", dir.join(sibling).display()))?;
        }
        Ok(Row { program, user, tools, dir, work, bin, learned: HashMap::new() })
    }

    fn base_env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("PATH".to_owned(), format!("{}:/usr/bin:/bin", self.bin.display())),
            ("HOME".to_owned(), self.work.join("home").display().to_string()),
            ("LANG".to_owned(), "C.UTF-8".to_owned()),
            ("TZ".to_owned(), "UTC".to_owned()),
        ];
        env.extend(self.program.env.iter().cloned());
        env
    }

    fn shell(&self) -> Vec<String> {
        vec!["/bin/sh".to_owned(), "-c".to_owned(), self.program.command.clone()]
    }

    fn fresh_work(&self) -> Result<(), String> {
        remove_all(&self.work);
        make_dir(&self.work, self.user)?;
        make_dir(&self.work.join("home"), self.user)?;
        if let Some(setup) = &self.program.setup {
            let mut run =
                Run::new("/bin/sh", &["-c", setup]).dir(&self.work).user(self.user).timeout(self.program.timeout);
            for (key, value) in self.base_env() {
                run = run.env(key, value);
            }
            let outcome = run.try_run()?;
            if outcome.code() != Some(0) {
                return Err(format!(
                    "setup failed: {}: {}",
                    describe_status(outcome.code(), outcome.signal()),
                    tail(&outcome.stderr, 5)
                ));
            }
        }
        Ok(())
    }

    /// Runs `invocation` once in a fresh work directory.
    fn observe(&self, invocation: &Invocation) -> Observed {
        let start = Instant::now();
        if let Err(error) = self.fresh_work() {
            return Observed {
                status: error,
                code: None,
                signal: None,
                stdout: String::new(),
                stderr: String::new(),
                files: Err(String::new()),
                seconds: 0.0,
            };
        }
        let mut run = Run::new(&invocation.program, &invocation.args.iter().map(String::as_str).collect::<Vec<_>>())
            .dir(&self.work)
            .user(self.user)
            .timeout(self.program.timeout);
        for (key, value) in self.base_env().into_iter().chain(invocation.env.iter().cloned()) {
            run = run.env(key, value);
        }
        let result = run.try_run();
        let seconds = start.elapsed().as_secs_f64();
        match result {
            Ok(outcome) => Observed {
                status: describe_status(outcome.code(), outcome.signal()),
                code: outcome.code(),
                signal: outcome.signal(),
                stdout: outcome.stdout,
                stderr: outcome.stderr,
                files: self.snapshot(),
                seconds,
            },
            Err(error) => Observed {
                status: error,
                code: None,
                signal: None,
                stdout: String::new(),
                stderr: String::new(),
                files: self.snapshot(),
                seconds,
            },
        }
    }

    /// The work directory's files, without the content of the volatile ones.
    fn snapshot(&self) -> Result<Files, String> {
        let mut files = snapshot(&self.work)?;
        for (path, entry) in files.iter_mut() {
            if self.program.volatile.iter().any(|pattern| glob_match(pattern.as_bytes(), path.as_bytes())) {
                entry.hash = 0;
            }
        }
        Ok(files)
    }

    fn reproduce(&self, invocation: &Invocation, mode: &str) -> String {
        let mut line = format!("cd {} && env -i", self.work.display());
        for (key, value) in self.base_env().iter().chain(invocation.env.iter()) {
            let _ = write!(line, " {}={}", key, quote(value));
        }
        if self.user == User::Nobody {
            line = line.replacen("env -i", "setpriv --reuid=65534 --regid=65534 --clear-groups env -i", 1);
        }
        let _ = write!(line, " {}", quote(&invocation.program.display().to_string()));
        let count = invocation.args.len();
        for (i, arg) in invocation.args.iter().enumerate() {
            if i == count - 1 && *arg == self.program.command {
                line.push_str(" \"$CMD\"");
            } else {
                let _ = write!(line, " {}", quote(arg));
            }
        }
        let line = line
            .replace(&self.tools.library.display().to_string(), "\"$LIB\"")
            .replace(&self.tools.sandboxify.display().to_string(), "\"$SFY\"")
            .replace(DENY, "\"$DENY\"");
        let mut note = format!(
            "{line}\n      (fresh work dir with home/{}; CMD: the command of {} in the corpus",
            if self.program.setup.is_some() { ", after setup:" } else { "" },
            self.program.name
        );
        if mode.starts_with("patch-") {
            let _ = write!(
                note,
                "; BIN/NAME for each NAME of program: made with patchelf-helper --add-needed \"$LIB\"{} --output BIN/NAME /usr/bin/NAME",
                if mode == "patch-attached" { " --policy \"$(printf 'deny %s\\nrefuse-i386' \"$DENY\")\"" } else { "" }
            );
        }
        note.push(')');
        note
    }

    fn sandboxify(&self, options: &[&str]) -> Invocation {
        let mut args: Vec<String> = options.iter().map(|s| s.to_string()).collect();
        args.push("--".to_owned());
        args.extend(self.shell());
        Invocation { program: self.tools.sandboxify.clone(), args, env: Vec::new() }
    }

    fn preloaded(&self, policy: &[(&str, &str)]) -> Invocation {
        let mut shell = self.shell();
        let program = PathBuf::from(shell.remove(0));
        let mut env = vec![("LD_PRELOAD".to_owned(), self.tools.library.display().to_string())];
        env.extend(policy.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Invocation { program, args: shell, env }
    }

    fn plain(&self) -> Invocation {
        let mut shell = self.shell();
        let program = PathBuf::from(shell.remove(0));
        Invocation { program, args: shell, env: Vec::new() }
    }

    /// Learns a list once (`preload`: with `--preload`); the learning run
    /// must match the reference too.
    fn learn(&mut self, preload: bool, reference: &Observed) -> Result<String, String> {
        if let Some(result) = self.learned.get(&preload) {
            return result.clone();
        }
        let file = self.dir.join(if preload { "learned-preload.list" } else { "learned.list" });
        let _ = fs::remove_file(&file);
        let mut options = vec!["--learn", file.to_str().unwrap()];
        if preload {
            options.push("--preload");
        }
        let invocation = self.sandboxify(&options);
        // Each run merges into the same FILE, as an operator learns a program whose paths vary.
        let mut failure = None;
        for run in 1..=self.program.learn_runs {
            let observed = self.observe(&invocation);
            let differences = compare(reference, &observed);
            if !differences.is_empty() {
                failure = Some(format!(
                    "the learning run ({}, run {run} of {}) differs from plain: {}\n    how: {}\n    stderr: {}",
                    if preload { "--learn --preload" } else { "--learn" },
                    self.program.learn_runs,
                    differences.join("; "),
                    self.reproduce(&invocation, "learn"),
                    tail(&observed.stderr, 8)
                ));
                break;
            }
        }
        let result = if let Some(failure) = failure {
            Err(failure)
        } else {
            match fs::read_to_string(&file) {
                // The value is quoted when an entry has conditions (a companion).
                Ok(text) => match text.trim_end().strip_prefix("SECCOMP_SYSCALL_ALLOW=") {
                    Some(list) if !text.trim_end().contains('\n') => {
                        Ok(list.strip_prefix('\'').and_then(|list| list.strip_suffix('\'')).unwrap_or(list).to_owned())
                    }
                    _ => Err(format!("{} is not one SECCOMP_SYSCALL_ALLOW= line: {text:?}", file.display())),
                },
                Err(error) => Err(format!("no learned list {}: {error}", file.display())),
            }
        };
        self.learned.insert(preload, result.clone());
        result
    }

    fn invocation(&mut self, mode: &str, reference: &Observed) -> Result<Invocation, Verdict> {
        let landlock_rw = format!("{}:{FS_RW_SYSTEM}", self.work.display());
        let work = self.work.display().to_string();
        Ok(match mode {
            "plain" => self.plain(),
            "lib" => self.preloaded(&[]),
            "lib-deny" => self.preloaded(&[("SECCOMP_SYSCALL_DENY", DENY)]),
            "lib-log" => {
                let report = self.dir.join("report");
                let _ = fs::remove_file(&report);
                self.preloaded(&[
                    ("SECCOMP_SYSCALL_ALLOW", ""),
                    ("SECCOMP_DEFAULT_ACTION", "log"),
                    ("SANDBOX_REPORT", report.to_str().unwrap()),
                ])
            }
            "lib-learn" => {
                let list = self.learn(true, reference).map_err(Verdict::fail)?;
                self.preloaded(&[("SECCOMP_SYSCALL_ALLOW", &list)])
            }
            "lib-count" => self.preloaded(&[
                ("SECCOMP_SYSCALL_DENY", &format!("{DENY}:{COUNTED}")),
                ("SANDBOX_REPORT_COUNTS", "errno:trap"),
            ]),
            "patch-env" | "patch-attached" => {
                let mode: &'static str = if mode == "patch-env" { "patch-env" } else { "patch-attached" };
                if self.program.programs.is_empty() {
                    return Err(Verdict::NotApplicable("no program: to patch".to_owned()));
                }
                for name in &self.program.programs {
                    let copy = self.tools.patched(name, mode).map_err(Verdict::NotApplicable)?;
                    let link = self.bin.join(copy.file_name().unwrap());
                    let _ = fs::remove_file(&link);
                    if fs::hard_link(&copy, &link).is_err() {
                        fs::copy(&copy, &link).map_err(|e| Verdict::fail(format!("copy {}: {e}", copy.display())))?;
                    }
                }
                let mut invocation = self.plain();
                if mode == "patch-env" {
                    invocation.env.push(("SECCOMP_SYSCALL_DENY".to_owned(), DENY.to_owned()));
                }
                invocation
            }
            "sfy" => self.sandboxify(&[]),
            "sfy-deny" => self.sandboxify(&["--deny", DENY]),
            "sfy-report" => {
                // The deny list with its reporter: traced, kills named, errno and trap calls counted.
                let mut invocation = self.sandboxify(&["--refuse-i386", "--deny", &format!("{DENY}:{COUNTED}")]);
                invocation.env.push(("SANDBOX_REPORT_KILLS".to_owned(), "1".to_owned()));
                invocation.env.push(("SANDBOX_REPORT_COUNTS".to_owned(), "errno:trap".to_owned()));
                invocation
            }
            "sfy-learn" => {
                let list = self.learn(false, reference).map_err(Verdict::fail)?;
                self.sandboxify(&["--allow", &list])
            }
            "sfy-preload" => {
                let list = self.learn(true, reference).map_err(Verdict::fail)?;
                self.sandboxify(&["--preload", "--refuse-i386", "--allow", &list])
            }
            "lib-landlock" => self.preloaded(&[
                ("SECCOMP_SYSCALL_DENY", DENY),
                ("SANDBOX_REFUSE_I386", "1"),
                ("SANDBOX_FS_RO", FS_RO),
                ("SANDBOX_FS_RW", &landlock_rw),
                ("SANDBOX_NET_CONNECT", ""),
                ("SANDBOX_NET_BIND", ""),
            ]),
            "sfy-landlock" => self.sandboxify(&[
                "--fs-ro",
                FS_RO,
                "--fs-rw",
                &work,
                "--fs-rw",
                FS_RW_SYSTEM,
                "--net-connect",
                "",
                "--net-bind",
                "",
                "--deny",
                DENY,
            ]),
            "sfy-ns" => {
                let hostname = self.tools.hostname.clone();
                let mut options =
                    vec!["--unshare-user", "--unshare-ipc", "--unshare-net", "--unshare-uts", "--hostname", &hostname];
                if self.program.pid_namespace {
                    options.push("--unshare-pid");
                }
                self.sandboxify(&options)
            }
            "sfy-root" => self.sandboxify(&[
                "--ro-bind",
                "/",
                "/",
                "--tmpfs",
                "/tmp",
                "--bind",
                &work,
                &work,
                "--dev",
                "/dev",
                "--proc",
                "/proc",
                "--unshare-pid",
                "--chdir",
                &work,
            ]),
            other => unreachable!("mode {other}"),
        })
    }

    /// After a learned-list cell failed: which calls outside the list the
    /// program makes, from reruns in permissive mode with the same list
    /// (`SECCOMP_DEFAULT_ACTION=log`, `--default-action log`), until one
    /// names some (at most [`DIAGNOSIS_RUNS`]). The `--preload` list is
    /// rerun under LD_PRELOAD, which applies it at the same point:
    /// `sandboxify --preload` in permissive mode spins forever when the list
    /// allows `wait4`, and writes its report to stderr whatever
    /// `SANDBOX_REPORT` says.
    fn diagnose(&mut self, mode: &str, runs: &mut usize) -> String {
        let preload = mode != "sfy-learn";
        let Some(Ok(list)) = self.learned.get(&preload).cloned() else {
            return "no learned list to diagnose".to_owned();
        };
        let report = self.dir.join("diagnosis.report");
        let report_path = report.display().to_string();
        let mut invocation = match mode {
            "sfy-learn" => self.sandboxify(&["--allow", &list, "--default-action", "log"]),
            _ => self.preloaded(&[("SECCOMP_SYSCALL_ALLOW", &list), ("SECCOMP_DEFAULT_ACTION", "log")]),
        };
        invocation.env.push(("SANDBOX_REPORT".to_owned(), report_path));
        for attempt in 1..=DIAGNOSIS_RUNS {
            let _ = fs::remove_file(&report);
            *runs += 1;
            self.observe(&invocation);
            // The reporter writes once the program has ended (if anything
            // broke the policy).
            let deadline = Instant::now() + Duration::from_millis(500);
            let mut text = String::new();
            while Instant::now() < deadline {
                text = fs::read_to_string(&report).unwrap_or_default();
                if text.contains("add to the allow list: ") {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let mut missing: Vec<&str> = text
                .lines()
                .filter_map(|line| line.split_once("add to the allow list: ").map(|(_, calls)| calls.trim()))
                .flat_map(|calls| calls.split(':'))
                .filter(|call| !call.is_empty())
                .collect();
            missing.sort_unstable();
            missing.dedup();
            if !missing.is_empty() {
                return format!(
                    "calls outside the learned list, seen in a permissive rerun with it ({}, {attempt} of at most {DIAGNOSIS_RUNS}): {}",
                    if mode == "sfy-learn" { "sandboxify" } else { "LD_PRELOAD" },
                    missing.join(":")
                );
            }
        }
        format!("{DIAGNOSIS_RUNS} permissive reruns with the learned list made no call outside it")
    }

    fn clear_bin(&self) {
        if let Ok(entries) = fs::read_dir(&self.bin) {
            for entry in entries.flatten() {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    fn cell(&mut self, mode: &str, reference: &Observed, runs: &mut usize) -> Verdict {
        let index = mode_index(mode).unwrap();
        if let Some(reason) = self.program.skip.get(&index) {
            return Verdict::NotApplicable(reason.clone());
        }
        let invocation = match self.invocation(mode, reference) {
            Ok(invocation) => invocation,
            Err(Verdict::Fail(text, symptom)) => return Verdict::Fail(text, format!("{mode}: {symptom}")),
            Err(verdict) => return verdict,
        };
        let learned = matches!(mode, "lib-learn" | "sfy-learn" | "sfy-preload");
        let count = if learned { self.program.repeat } else { 1 };
        let mut verdict = Verdict::Ok;
        for attempt in 1..=count {
            *runs += 1;
            let observed = self.observe(&invocation);
            let problem = match self.program.forbidden.get(&index) {
                Some(expect) => {
                    let satisfied = match expect {
                        Expect::Sigsys => observed.code == Some(159) || observed.signal == Some(libc::SIGSYS),
                        Expect::Errno(_, text) => {
                            observed.code.is_some_and(|code| code != 0) && observed.stderr.contains(text.as_str())
                        }
                    };
                    if satisfied {
                        verdict = Verdict::Forbidden;
                        None
                    } else {
                        Some(format!(
                            "forbidden: expected {}, got {}{}",
                            expect.describe(),
                            observed.status,
                            if compare(reference, &observed).is_empty() { " and the same output as plain" } else { "" }
                        ))
                    }
                }
                None => {
                    let differences = compare(reference, &observed);
                    if differences.is_empty() { None } else { Some(differences.join("\n    ")) }
                }
            };
            if let Some(problem) = problem {
                let run = if count > 1 { format!(" (run {attempt} of {count})") } else { String::new() };
                let mut text = format!("{}{run}: {problem}", observed_summary(&observed));
                let _ = write!(text, "\n    how: {}", self.reproduce(&invocation, mode));
                if mode == "lib-log"
                    && let Ok(report) = fs::read_to_string(self.dir.join("report"))
                {
                    let _ = write!(text, "\n    report: {}", tail(&report, 4));
                }
                let _ = write!(text, "\n    stderr: {}", tail(&observed.stderr, 10));
                // A seccomp kill (of the program or of a child it ran), or a
                // hang (a pool waiting for a killed worker): name the calls.
                let killed = observed.code == Some(159)
                    || observed.signal == Some(libc::SIGSYS)
                    || observed.stderr.contains("Bad system call")
                    || observed.code.is_none() && observed.signal.is_none();
                if learned && killed {
                    let _ = write!(text, "\n    {}", self.diagnose(mode, runs));
                }
                // The first line that says what went wrong, else the last.
                const TELLING: [&str; 9] = [
                    "rror",
                    "fatal",
                    "denied",
                    "not permitted",
                    "Invalid",
                    "Bad system call",
                    "cannot",
                    "failed",
                    "EXDEV",
                ];
                let lines = || observed.stderr.lines().filter(|line| !line.trim().is_empty());
                let last = lines()
                    .find(|line| TELLING.iter().any(|word| line.contains(word)))
                    .or_else(|| lines().next_back())
                    .unwrap_or("(no stderr)");
                let last: String =
                    last.replace(&self.work.display().to_string(), "WORKDIR").chars().take(110).collect();
                let status = observed.status.split(" (signal").next().unwrap_or("");
                verdict = Verdict::Fail(text, format!("{mode}: {status}: {last}"));
                break;
            }
        }
        self.clear_bin();
        verdict
    }

    fn run(&mut self, selected: &[bool]) -> RowResult {
        let start = Instant::now();
        let mut runs = 2;
        let mut cells = vec![Verdict::NotRun; MODES.len()];
        let plain = self.plain();
        let reference = self.observe(&plain);
        let again = self.observe(&plain);
        let mut problems = Vec::new();
        if reference.code != Some(0) {
            problems.push(format!("the plain run must exit 0, got {}", reference.status));
        }
        if let Err(error) = &reference.files {
            problems.push(error.clone());
        }
        let differences = compare(&reference, &again);
        if !differences.is_empty() {
            problems.push(format!(
                "a second plain run differs (the command is not deterministic): {}",
                differences.join("; ")
            ));
        }
        if problems.is_empty() {
            cells[0] = Verdict::Ok;
            for (index, mode) in MODES.iter().enumerate().skip(1) {
                if selected[index] {
                    cells[index] = self.cell(mode, &reference, &mut runs);
                }
            }
        } else {
            cells[0] = Verdict::fail(format!(
                "{}\n    how: {}\n    stdout: {}\n    stderr: {}",
                problems.join("\n    "),
                self.reproduce(&plain, "plain"),
                tail(&reference.stdout, 6),
                tail(&reference.stderr, 10)
            ));
            for (index, cell) in cells.iter_mut().enumerate().skip(1) {
                if selected[index] {
                    *cell = Verdict::NotApplicable("the plain run failed: no reference".to_owned());
                }
            }
        }
        if std::env::var_os("COMPAT_KEEP").is_none() {
            remove_all(&self.dir);
        }
        RowResult { cells, seconds: start.elapsed().as_secs_f64(), runs }
    }
}

fn observed_summary(observed: &Observed) -> String {
    format!("{} in {:.2} s", observed.status, observed.seconds)
}

/// The last `lines` lines of `text`, indented for the report.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    if all.is_empty() {
        return "(empty)".to_owned();
    }
    let start = all.len().saturating_sub(lines);
    let mut out = String::new();
    if start > 0 {
        let _ = write!(out, "[{} lines before] ", start);
    }
    for (i, line) in all[start..].iter().enumerate() {
        if i > 0 || start > 0 {
            out.push_str("\n      | ");
        }
        let line: String = line.chars().take(240).collect();
        out.push_str(&line);
    }
    out
}

/// The first lines where `expected` and `got` differ.
fn text_diff(expected: &str, got: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = got.lines().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..].iter().rev().zip(b[prefix..].iter().rev()).take_while(|(x, y)| x == y).count();
    let mut out = format!("from line {}:", prefix + 1);
    for line in a[prefix..a.len() - suffix].iter().take(6) {
        let _ = write!(out, "\n      -{}", line.chars().take(200).collect::<String>());
    }
    if a.len() - suffix - prefix > 6 {
        let _ = write!(out, "\n      -... ({} lines in all)", a.len() - suffix - prefix);
    }
    for line in b[prefix..b.len() - suffix].iter().take(6) {
        let _ = write!(out, "\n      +{}", line.chars().take(200).collect::<String>());
    }
    if b.len() - suffix - prefix > 6 {
        let _ = write!(out, "\n      +... ({} lines in all)", b.len() - suffix - prefix);
    }
    if a.len() == b.len() && prefix == a.len() {
        out = "only in the final newline or invalid UTF-8".to_owned();
    }
    out
}

fn compare(reference: &Observed, observed: &Observed) -> Vec<String> {
    let mut differences = Vec::new();
    if reference.status != observed.status {
        differences.push(format!("status: {} instead of {}", observed.status, reference.status));
    }
    if reference.stdout != observed.stdout {
        differences.push(format!("stdout differs {}", text_diff(&reference.stdout, &observed.stdout)));
    }
    match (&reference.files, &observed.files) {
        (Ok(expected), Ok(got)) if expected != got => {
            let mut lines = Vec::new();
            for (path, entry) in expected {
                match got.get(path) {
                    None => lines.push(format!("missing {path} ({})", entry.describe())),
                    Some(other) if other != entry => {
                        lines.push(format!("{path}: {} instead of {}", other.describe(), entry.describe()))
                    }
                    _ => {}
                }
            }
            for (path, entry) in got {
                if !expected.contains_key(path) {
                    lines.push(format!("extra {path} ({})", entry.describe()));
                }
            }
            let count = lines.len();
            lines.truncate(8);
            if count > 8 {
                lines.push(format!("... ({count} differences in all)"));
            }
            differences.push(format!("files differ:\n      {}", lines.join("\n      ")));
        }
        (Ok(_), Err(error)) => differences.push(error.clone()),
        _ => {}
    }
    differences
}

// ---------------------------------------------------------------------------
// Main

fn list_from_env(name: &str) -> Option<Vec<String>> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty()).map(|value| {
        value.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty()).map(str::to_owned).collect()
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "--list") {
        println!("compat: test");
        return ExitCode::SUCCESS;
    }
    let started = Instant::now();
    let corpus_path = std::env::var_os("COMPAT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("tests/compat/programs"));
    let text = match fs::read_to_string(&corpus_path) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("compat: cannot read {}: {error}", corpus_path.display());
            return ExitCode::FAILURE;
        }
    };
    let mut programs = match parse_corpus(&text) {
        Ok(programs) => programs,
        Err(error) => {
            eprintln!("compat: {}: {error}", corpus_path.display());
            return ExitCode::FAILURE;
        }
    };
    let mut only = list_from_env("COMPAT_ONLY").unwrap_or_default();
    only.extend(args.iter().filter(|arg| !arg.starts_with('-')).cloned());
    if !only.is_empty() {
        for name in &only {
            if !programs.iter().any(|p| &p.name == name) {
                println!("compat: no program named {name} in {}", corpus_path.display());
            }
        }
        programs.retain(|p| only.contains(&p.name));
    }
    let mut selected = vec![true; MODES.len()];
    if let Some(modes) = list_from_env("COMPAT_MODES") {
        selected = vec![false; MODES.len()];
        selected[0] = true;
        for mode in modes {
            match modes_of(&mode, 0) {
                Ok(indices) => indices.into_iter().for_each(|i| selected[i] = true),
                Err(_) if mode == "plain" => {}
                Err(error) => {
                    eprintln!("compat: COMPAT_MODES: {error}");
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    let users: Vec<User> = match list_from_env("COMPAT_USERS") {
        Some(names) => {
            let mut users = Vec::new();
            for name in names {
                match name.as_str() {
                    "root" => users.push(User::Root),
                    "nobody" => users.push(User::Nobody),
                    other => {
                        eprintln!("compat: COMPAT_USERS: unknown user {other:?} (root, nobody)");
                        return ExitCode::FAILURE;
                    }
                }
            }
            users
        }
        None => vec![User::Root, User::Nobody],
    };
    if let Some(repeat) = std::env::var("COMPAT_REPEAT").ok().and_then(|v| v.parse::<usize>().ok()) {
        for program in &mut programs {
            if program.repeat > 1 {
                program.repeat = repeat.max(1);
            }
        }
    }
    let jobs_wanted: usize =
        std::env::var("COMPAT_JOBS").ok().and_then(|v| v.parse().ok()).filter(|n| *n >= 1).unwrap_or(2);
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("compat: must run as root (cells run as root and as nobody)");
        return ExitCode::FAILURE;
    }

    let root = scratch_dir().join("compat");
    remove_all(&root);
    fs::create_dir_all(&root).unwrap();
    fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
    let tools = Tools {
        library: library(),
        sandboxify: sandboxify(),
        helper: artifact("patchelf-helper"),
        hostname: fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_owned(),
        root: root.clone(),
        patched: Mutex::new(HashMap::new()),
    };

    // Rows: every program as root, the `nobody: yes` ones as nobody too.
    let mut rows: Vec<(usize, User)> = Vec::new();
    for (index, program) in programs.iter().enumerate() {
        for user in &users {
            if *user == User::Root || program.nobody {
                rows.push((index, *user));
            }
        }
    }
    // Longest first (repeated programs), so that two workers finish together.
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(programs[rows[i].0].repeat));
    println!(
        "compat: {} programs, {} rows, {} modes, {} workers; corpus {}",
        programs.len(),
        rows.len(),
        selected.iter().filter(|s| **s).count(),
        jobs_wanted,
        corpus_path.display()
    );
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<RowResult>>> = Mutex::new((0..rows.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs_wanted.min(rows.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&row_index) = order.get(n) else { break };
                    let (program_index, user) = rows[row_index];
                    let program = &programs[program_index];
                    let result = match Row::new(program, user, &tools) {
                        Ok(mut row) => row.run(&selected),
                        Err(error) => {
                            let mut cells = vec![Verdict::NotRun; MODES.len()];
                            cells[0] = Verdict::fail(format!("cannot prepare the row: {error}"));
                            RowResult { cells, seconds: 0.0, runs: 0 }
                        }
                    };
                    let failed = result.cells.iter().filter(|c| matches!(c, Verdict::Fail(..))).count();
                    println!(
                        "compat: {:>3}/{} {:<24} {:>6.1} s {:>4} runs {}",
                        n + 1,
                        rows.len(),
                        format!("{}{}", program.name, if user == User::Nobody { " (nobody)" } else { "" }),
                        result.seconds,
                        result.runs,
                        if failed > 0 { format!("{failed} FAIL") } else { "ok".to_owned() }
                    );
                    results.lock().unwrap()[row_index] = Some(result);
                }
            });
        }
    });
    let results: Vec<RowResult> = results.into_inner().unwrap().into_iter().map(Option::unwrap).collect();
    if std::env::var_os("COMPAT_KEEP").is_none() {
        remove_all(&root);
    }

    // The table.
    let label = |(program_index, user): (usize, User)| {
        format!("{}{}", programs[program_index].name, if user == User::Nobody { " (nobody)" } else { "" })
    };
    let width = rows.iter().map(|row| label(*row).len()).max().unwrap_or(4).max(7);
    let columns: Vec<usize> = (0..MODES.len()).filter(|i| selected[*i]).collect();
    let mut table = format!("\n{:<width$}", "program");
    for &c in &columns {
        let _ = write!(table, " {}", MODES[c]);
    }
    table.push('\n');
    let mut failures = Vec::new();
    let mut symptoms: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut not_applicable: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut forbidden: BTreeMap<String, std::collections::BTreeSet<usize>> = BTreeMap::new();
    let (mut ok, mut failed, mut forb, mut na) = (0, 0, 0, 0);
    for (row, result) in rows.iter().zip(&results) {
        let name = label(*row);
        let _ = write!(table, "{name:<width$}");
        for &c in &columns {
            let cell = &result.cells[c];
            let _ = write!(table, " {:<w$}", cell.short(), w = MODES[c].len());
            match cell {
                Verdict::Ok => ok += 1,
                Verdict::Fail(text, symptom) => {
                    failed += 1;
                    failures.push(format!("FAIL {name} [{}] {text}", MODES[c]));
                    symptoms.entry(symptom.clone()).or_default().push(name.clone());
                }
                Verdict::Forbidden => {
                    forb += 1;
                    let expect = programs[row.0].forbidden.get(&c).unwrap().describe();
                    forbidden.entry(format!("{}: {expect}", programs[row.0].name)).or_default().insert(c);
                }
                Verdict::NotApplicable(reason) => {
                    na += 1;
                    not_applicable.entry(reason.clone()).or_default().push(format!("{name} [{}]", MODES[c]));
                }
                Verdict::NotRun => {}
            }
        }
        table.push('\n');
    }
    print!("{table}");
    println!(
        "\nok: same status, stdout and files as plain; FAIL: different; forb: the policy forbids what the program does, and it failed as the policy says; -: does not apply:"
    );
    for (reason, cells) in &not_applicable {
        let shown: Vec<&str> = cells.iter().take(6).map(String::as_str).collect();
        let more = if cells.len() > 6 { format!(" and {} more", cells.len() - 6) } else { String::new() };
        println!("  - {reason}: {}{more}", shown.join(", "));
    }
    for (what, modes) in &forbidden {
        let modes: Vec<&str> = modes.iter().map(|&c| MODES[c]).collect();
        println!("  forb {what}: {}", modes.join(" "));
    }
    if !failures.is_empty() {
        println!(
            "\nEach failure says how to reproduce it (cd WORKDIR: kept with COMPAT_KEEP=1), with\n  LIB={} SFY={} DENY='{DENY}'",
            tools.library.display(),
            tools.sandboxify.display()
        );
    }
    for failure in &failures {
        println!("\n{failure}");
    }
    if !symptoms.is_empty() {
        println!("\nThe FAIL cells by symptom (mode: how it ended: the telling line of stderr):");
        let mut symptoms: Vec<(String, Vec<String>)> = symptoms.into_iter().collect();
        symptoms.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
        for (symptom, cells) in &symptoms {
            let shown: Vec<&str> = cells.iter().take(4).map(String::as_str).collect();
            let more = if cells.len() > 4 { format!(" and {} more", cells.len() - 4) } else { String::new() };
            println!("  {:>3} {symptom}\n        {}{more}", cells.len(), shown.join(", "));
        }
    }
    let runs: usize = results.iter().map(|r| r.runs).sum();
    let mut slowest: Vec<(f64, String)> = rows.iter().zip(&results).map(|(row, r)| (r.seconds, label(*row))).collect();
    slowest.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap());
    let slowest: Vec<String> = slowest.iter().take(5).map(|(s, name)| format!("{name} {s:.1} s")).collect();
    println!(
        "\ncompat: {ok} ok, {failed} FAIL, {forb} forb, {na} -, in {} rows; {runs} runs in {:.0} s (slowest: {})",
        rows.len(),
        started.elapsed().as_secs_f64(),
        slowest.join(", ")
    );
    if failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
