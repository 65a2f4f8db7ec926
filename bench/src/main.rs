//! `sandbox-bench`: what the sandbox costs, measured side by side in one run.
//!
//! Variants are interleaved round by round and summarised by medians, so that
//! the noise of a shared machine hits every variant alike; only ratios and
//! differences within one run mean anything. Nothing here asserts a timing.
//!
//! Usage: `cargo build --release && target/release/sandbox-bench [--quick]
//! [--cloudflare DIR] [SECTION...]`, where a SECTION (`syscalls`, `start-up`,
//! `sandboxify`, `memory`, `learn`, `landlock`) limits the run to those
//! measurements, and DIR holds Cloudflare's `libsandbox.so` and `sandboxify`
//! to measure alongside.

#![forbid(unsafe_code)]

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

mod landlock;
mod start_up;
mod violations;

use sandbox_policy::compile::bpf;
use sandbox_policy::text::variables::{ALLOW, DENY, Variables};
use sandbox_policy::{Abi, Program, Syscall, compile};

/// What the measured programs need: the getppid loop (stdio,
/// /proc/self/status), /bin/true after the library's apply point, and a
/// static program from its first instruction.
const NEEDED: [&str; 17] = [
    "exit_group",
    "write",
    "newfstatat",
    "openat",
    "read",
    "close",
    "getppid",
    "lseek",
    "brk",
    "arch_prctl",
    "set_tid_address",
    "set_robust_list",
    "rseq",
    "prlimit64",
    "readlink",
    "getrandom",
    "mprotect",
];
/// Left out of generated allow lists, so that sandboxify must use its exec gate.
const NEVER: [&str; 2] = ["execve", "execveat"];
/// The highest x86_64 number in generated allow lists: libseccomp 2.5.4,
/// which Cloudflare's tool is built with, knows no call past it.
const NEWEST: u32 = 450;

/// An allow list of `size` entries: what the test programs need, then other
/// calls in alphabetical order, which scatters their numbers (the worst case
/// for the filter's search, unlike a run of neighbours), among the calls
/// any libseccomp knows, so that Cloudflare's library takes the same list.
fn allow_list(size: usize) -> String {
    let mut names: Vec<&str> = NEEDED.to_vec();
    for syscall in Syscall::all()
        .iter()
        .filter(|s| s.number(Abi::X86_64).is_some_and(|nr| nr <= NEWEST) && !NEVER.contains(&s.name()))
    {
        if names.len() == size {
            break;
        }
        if !names.contains(&syscall.name()) {
            names.push(syscall.name());
        }
    }
    names.join(":")
}

/// A measured configuration: extra environment, and an optional wrapper.
struct Variant {
    label: String,
    env: Vec<(String, String)>,
    wrapper: Option<PathBuf>,
    wrapper_args: Vec<String>,
    policy: Option<(Option<String>, Option<String>)>,
    /// The system call the per-call loop times.
    call: &'static str,
}

impl Variant {
    fn plain(label: &str) -> Variant {
        Variant {
            label: label.to_owned(),
            env: Vec::new(),
            wrapper: None,
            wrapper_args: Vec::new(),
            policy: None,
            call: "getppid",
        }
    }

    fn library(label: &str, library: &Path, allow: Option<String>, deny: Option<String>) -> Variant {
        let mut env = vec![("LD_PRELOAD".to_owned(), library.display().to_string())];
        env.extend(allow.clone().map(|value| (ALLOW.to_owned(), value)));
        env.extend(deny.clone().map(|value| (DENY.to_owned(), value)));
        let policy = (allow.is_some() || deny.is_some()).then_some((allow, deny));
        Variant { label: label.to_owned(), env, wrapper: None, wrapper_args: Vec::new(), policy, call: "getppid" }
    }

    fn sandboxify(label: &str, sandboxify: &Path, policy: &[&str]) -> Variant {
        let mut variant = Variant::plain(label);
        variant.wrapper = Some(sandboxify.to_path_buf());
        variant.wrapper_args = policy.iter().map(|s| s.to_string()).collect();
        variant
    }

    fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut command = match &self.wrapper {
            Some(wrapper) => {
                let mut command = Command::new(wrapper);
                command.args(&self.wrapper_args).arg(program);
                command
            }
            None => Command::new(program),
        };
        command.args(args).env_clear().env("PATH", "/usr/bin:/bin").envs(self.env.iter().cloned());
        command.stdin(Stdio::null());
        command
    }

    fn timing(mut self, call: &'static str) -> Variant {
        self.call = call;
        self
    }

    fn is_filtered(&self) -> bool {
        self.policy.is_some() || self.wrapper.is_some()
    }

    /// The filter compiled from this variant's policy (see [`compiled`]).
    fn program(&self) -> Option<Program> {
        let (allow, deny) = self.policy.clone()?;
        compiled(allow, deny)
    }

    /// BPF size and longest path (x86_64) of this variant's filter.
    fn filter_shape(&self) -> Option<(usize, usize)> {
        let program = self.program()?;
        let worst = (0..=Syscall::max_number(Abi::X86_64) + 1)
            .map(|nr| {
                let data = bpf::SeccompData { nr, arch: Abi::X86_64.audit_arch(), ..Default::default() };
                bpf::run(program.insns(), &data).expect("valid program").steps
            })
            .max()
            .unwrap_or(0);
        Some((program.insns().len(), worst))
    }
}

/// The filter compiled from an allow and a deny list, as the library and
/// sandboxify's launcher compile the lists the benchmark uses; `None`
/// without either.
fn compiled(allow: Option<String>, deny: Option<String>) -> Option<Program> {
    let variables = Variables { allow, deny, ..Variables::default() };
    let policy = variables.settings().and_then(|settings| settings.policy()).expect("benchmark policies are valid")?;
    Some(compile(&policy).expect("benchmark policies fit the kernel's limit"))
}

pub(crate) fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// The launcher floor's source, and how it is built (see `c/exec-nolibc.c`).
const EXEC_NOLIBC: &str = include_str!("../c/exec-nolibc.c");
const NOLIBC_FLAGS: [&str; 3] = ["-O2", "-static", "-nostdlib"];

/// Compiles the benchmark's C helpers into a scratch directory.
struct Helpers {
    dir: PathBuf,
}

impl Helpers {
    fn build() -> Helpers {
        let dir = env::temp_dir().join(format!("sandbox-bench-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("timing.h"), include_str!("../c/timing.h")).unwrap();
        let sources = [
            ("getppid-loop", include_str!("../c/getppid-loop.c"), &["-O2"][..]),
            ("one-insn-filter", include_str!("../c/one-insn-filter.c"), &["-O2", "-static"][..]),
            ("true-static", include_str!("../c/true-static.c"), &["-O2", "-static"][..]),
            ("open-close-loop", include_str!("../c/open-close-loop.c"), &["-O2"][..]),
            ("memory", include_str!("../c/memory.c"), &["-O2"][..]),
            ("empty-preload.so", include_str!("../c/empty-preload.c"), &["-O2", "-shared", "-fPIC"][..]),
            ("deny-preload.so", include_str!("../c/deny-preload.c"), &["-O2", "-shared", "-fPIC"][..]),
            ("exec-nolibc", EXEC_NOLIBC, &NOLIBC_FLAGS[..]),
            ("exec-glibc", include_str!("../c/exec-glibc.c"), &["-O2", "-static"][..]),
        ];
        let helpers = Helpers { dir };
        for (name, source, flags) in sources {
            helpers.compile(name, source, flags);
        }
        helpers
    }

    /// Builds the helper `name` from C `source` with `flags`, and installs it.
    fn compile(&self, name: &str, source: &str, flags: &[&str]) -> PathBuf {
        let source_path = self.path(&format!("{}.c", name.trim_end_matches(".so")));
        fs::write(&source_path, source).unwrap();
        let built = self.path(&format!("{name}.built"));
        let status = Command::new("cc").args(flags).arg("-o").arg(&built).arg(&source_path).status();
        assert!(status.is_ok_and(|s| s.success()), "cc {name}.c failed (is build-essential installed?)");
        let installed = self.path(name);
        Helpers::install(&built, &installed);
        installed
    }

    /// Builds the helper `name` from C `source` (see `c/filter-preload.c`)
    /// with `program` as its `FILTER`.
    fn with_filter(&self, name: &str, source: &str, flags: &[&str], program: &Program) -> PathBuf {
        let insns: Vec<String> =
            program.insns().iter().map(|i| format!("{{{:#x}, {}, {}, {:#x}}}", i.code, i.jt, i.jf, i.k)).collect();
        let header = self.path(&format!("{name}.h"));
        fs::write(&header, format!("static struct sock_filter FILTER[] = {{{}}};\n", insns.join(", "))).unwrap();
        let define = format!("-DFILTER_HEADER=\"{}\"", header.display());
        self.compile(name, source, &[flags, &[define.as_str()]].concat())
    }

    /// Copies `from` to `to` as an installer does, in one pass. How a
    /// file was written shapes its page cache, and so what mapping it
    /// costs every process: a library as the linker wrote it starts 10 to
    /// 30 µs slower than the same bytes copied (measured on this machine),
    /// so every preload and launcher is measured as a copy.
    fn install(from: &Path, to: &Path) {
        fs::copy(from, to).unwrap_or_else(|error| panic!("copying {} to {}: {error}", from.display(), to.display()));
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Helpers {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn artifact(name: &str) -> PathBuf {
    let exe = env::current_exe().unwrap();
    let path = exe.parent().unwrap().join(name);
    assert!(path.exists(), "{} is missing: run `cargo build --release` first", path.display());
    path
}

fn syscall_costs(helpers: &Helpers, library: &Path, rounds: usize, iterations: &str) {
    let mut one_insn = Variant::plain("1-instruction filter");
    one_insn.wrapper = Some(helpers.path("one-insn-filter"));
    let variants = [
        Variant::plain("no filter"),
        one_insn,
        Variant::library("deny list (uname)", library, None, Some("uname".to_owned())),
        Variant::library("allow list, 60 entries", library, Some(allow_list(60)), None),
        Variant::library("allow list, 250 entries", library, Some(allow_list(250)), None),
        // A call with an argument condition is not cached: the filter runs.
        Variant::plain("no filter").timing("getpgid"),
        Variant::library(
            "250 entries, getpgid(arg0 == 0)",
            library,
            Some(format!("{}:getpgid(arg0 == 0)", allow_list(249))),
            None,
        )
        .timing("getpgid"),
    ];
    let program = helpers.path("getppid-loop");
    let mut samples = vec![Vec::new(); variants.len()];
    for _ in 0..rounds {
        for (variant, samples) in variants.iter().zip(&mut samples) {
            let nr = Syscall::by_name(variant.call).and_then(|s| s.number(Abi::X86_64)).expect("known call");
            let output = variant.command(&program, &[iterations, "5", &nr.to_string()]).output().unwrap();
            let text = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success(),
                "{}: {:?}\n{text}{}",
                variant.label,
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
            let filtered = text.contains("Seccomp:\t2");
            assert_eq!(filtered, variant.is_filtered(), "{}: wrong seccomp state:\n{text}", variant.label);
            let ns: f64 = text.lines().find_map(|l| l.strip_prefix("ns ")).and_then(|v| v.parse().ok()).unwrap();
            samples.push(ns);
        }
    }
    println!(
        "Per allowed system call: a raw syscall in a loop, median of {rounds} interleaved rounds × 5 × {iterations} calls"
    );
    println!(
        "{:<42} {:>9} {:>8} {:>9} {:>8} {:>8}",
        "variant (call timed)", "ns/call", "× none", "× 1-insn", "insns", "worst"
    );
    let medians: Vec<f64> = samples.iter_mut().map(|s| median(s)).collect();
    for (variant, &ns) in variants.iter().zip(&medians) {
        let (insns, worst) = match variant.filter_shape() {
            Some((insns, worst)) => (insns.to_string(), worst.to_string()),
            None if variant.wrapper.is_some() => ("1".to_owned(), "1".to_owned()),
            None => ("-".to_owned(), "-".to_owned()),
        };
        // Ratios against the unfiltered and 1-instruction runs of the same call.
        let baseline = |filtered: bool| {
            variants
                .iter()
                .zip(&medians)
                .find(|(other, _)| {
                    other.call == variant.call && other.is_filtered() == filtered && other.policy.is_none()
                })
                .map(|(_, &baseline)| format!("{:.2}", ns / baseline))
                .unwrap_or_else(|| "-".to_owned())
        };
        let label = format!("{} ({})", variant.label, variant.call);
        println!("{label:<42} {ns:>9.1} {:>8} {:>9} {insns:>8} {worst:>8}", baseline(false), baseline(true));
    }
    println!(
        "(worst = longest path through the filter, any x86_64 number; targets: allowed calls at the 1-insn floor,\n \
         worst ≤ 20, and ≤ 1.6 × none for a call with an argument condition, for which the filter runs)"
    );
    println!();
}

/// Learning is a one-off, but on real workloads: sandboxify --learn against
/// `strace -f -c` on a syscall-heavy one, interleaved.
fn learning_costs(rounds: usize) {
    let workload = ["/usr/bin/find", "/usr", "-name", "*.so"];
    let sandboxify = artifact("sandboxify");
    let list = env::temp_dir().join(format!("sandbox-bench-learn-{}", std::process::id()));
    let strace = Path::new("/usr/bin/strace");
    let mut variants: Vec<(&str, Vec<String>)> = vec![("plain", workload.iter().map(|s| s.to_string()).collect())];
    let learn = [sandboxify.to_str().unwrap(), "--learn", list.to_str().unwrap()];
    variants.push(("sandboxify --learn", learn.iter().chain(&workload).map(|s| s.to_string()).collect()));
    if strace.exists() {
        let traced = ["/usr/bin/strace", "-f", "-c", "-o", "/dev/null"];
        variants.push(("strace -f -c", traced.iter().chain(&workload).map(|s| s.to_string()).collect()));
    }
    let mut samples = vec![Vec::new(); variants.len()];
    for _ in 0..rounds {
        for ((_, argv), samples) in variants.iter().zip(&mut samples) {
            let _ = fs::remove_file(&list);
            let start = Instant::now();
            let status = Command::new(&argv[0]).args(&argv[1..]).stdout(Stdio::null()).stderr(Stdio::null()).status();
            samples.push(start.elapsed().as_secs_f64());
            assert!(status.is_ok_and(|s| s.success()), "{argv:?} failed");
        }
    }
    let _ = fs::remove_file(&list);
    let medians: Vec<f64> = samples.iter_mut().map(|s| median(s)).collect();
    println!("Learning a syscall-heavy workload: `{}`, median of {rounds} interleaved rounds", workload.join(" "));
    println!("{:<28} {:>9} {:>8}", "variant", "s", "× plain");
    for ((label, _), &seconds) in variants.iter().zip(&medians) {
        println!("{label:<28} {seconds:>9.2} {:>8.1}", seconds / medians[0]);
    }
    if !strace.exists() {
        println!("(strace is not installed: apt-get install strace to compare)");
    }
    println!("(target: --learn faster than strace -f -c)");
    println!();
}

/// The measurements one can ask for by name.
const SECTIONS: [&str; 7] = ["syscalls", "start-up", "sandboxify", "memory", "violations", "learn", "landlock"];

fn usage(problem: &str) -> ! {
    eprintln!(
        "sandbox-bench: {problem}; usage: sandbox-bench [--quick] [--cloudflare DIR] [{}]...",
        SECTIONS.join("|")
    );
    std::process::exit(2);
}

fn main() {
    let mut quick = false;
    let mut cloudflare = None;
    let mut chosen = Vec::new();
    let mut args = env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--cloudflare" => {
                let dir = args.next().unwrap_or_else(|| usage("--cloudflare needs a directory"));
                cloudflare = Some(start_up::Cloudflare::new(Path::new(&dir)).unwrap_or_else(|error| usage(&error)));
            }
            section if SECTIONS.contains(&section) => chosen.push(arg),
            _ => usage(&format!("unknown argument {arg:?}")),
        }
    }
    let runs = |section: &str| chosen.is_empty() || chosen.iter().any(|c| c == section);
    let helpers = Helpers::build();
    let library = helpers.path("libsandbox.so");
    Helpers::install(&artifact("libsandbox.so"), &library);
    let (rounds, iterations, spawns) = if quick { (3, "200000", 50) } else { (7, "1000000", 300) };
    if runs("syscalls") {
        syscall_costs(&helpers, &library, rounds, iterations);
    }
    if runs("start-up") {
        start_up::library(&helpers, &library, cloudflare.as_ref(), spawns);
    }
    if runs("sandboxify") {
        start_up::sandboxify(&helpers, cloudflare.as_ref(), spawns);
    }
    if runs("memory") {
        start_up::memory(&helpers, &library);
    }
    if runs("violations") {
        violations::kill_costs(&library, &artifact("sandboxify"), &helpers.path("kills.json"), spawns);
        let errno_calls = if quick { "500" } else { "2000" };
        violations::errno_costs(&helpers.path("getppid-loop"), &library, &artifact("sandboxify"), rounds, errno_calls);
    }
    if runs("learn") {
        learning_costs(if quick { 1 } else { 3 });
    }
    if runs("landlock") {
        let work = helpers.path("landlock");
        let iterations = if quick { "20000" } else { "100000" };
        landlock::open_close(&helpers.path("open-close-loop"), &library, &work, rounds, iterations);
        landlock::build(&artifact("sandboxify"), &helpers.path("landlock-build"), if quick { 3 } else { 7 });
    }
}
