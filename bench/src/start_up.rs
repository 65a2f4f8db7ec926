//! What starting a confined process costs, next to the least any preload
//! library or launcher can cost: floors built by the benchmark from small C
//! programs and measured in the same run, interleaved, so that a noisy
//! machine moves both sides together. With `--cloudflare DIR`, Cloudflare's
//! `libsandbox.so` and `sandboxify` from DIR are measured alongside.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use sandbox_policy::text::variables::{ALLOW, DENY};

use crate::{EXEC_NOLIBC, Helpers, NOLIBC_FLAGS, Variant, allow_list, artifact, compiled, median};

/// A preload that installs a given filter and does nothing else.
const FILTER_PRELOAD: &str = include_str!("../c/filter-preload.c");

/// A variant and the floor it is compared with (an index into the variants).
struct Measured {
    variant: Variant,
    floor: Option<usize>,
    /// Allowed difference from the floor, in µs.
    target: Option<f64>,
    /// The variant that installs the same filter as this one and does
    /// nothing else: what this one costs over it is the sandbox's own work,
    /// the rest is the kernel's charge for the filter.
    same_filter: Option<usize>,
}

impl Measured {
    fn floor(variant: Variant) -> Measured {
        Measured { variant, floor: None, target: None, same_filter: None }
    }

    fn against(variant: Variant, floor: usize, target: Option<f64>) -> Measured {
        Measured { variant, floor: Some(floor), target, same_filter: None }
    }

    fn with_same_filter(self, same_filter: usize) -> Measured {
        Measured { same_filter: Some(same_filter), ..self }
    }
}

/// Spawns `program` under each variant, interleaved, and prints each median
/// as µs, as the difference from the first variant (the program alone) and
/// as the difference from its floor, with the target where there is one.
fn spawn_costs(title: &str, program: &Path, measured: &[Measured], rounds: usize) {
    let mut samples = vec![Vec::new(); measured.len()];
    for _ in 0..rounds {
        for (measured, samples) in measured.iter().zip(&mut samples) {
            let mut command = measured.variant.command(program, &[]);
            command.stdout(Stdio::null()).stderr(Stdio::null());
            let start = Instant::now();
            let status = command.status().unwrap();
            samples.push(start.elapsed().as_secs_f64() * 1e6);
            assert!(status.success(), "{}: {} failed: {status:?}", measured.variant.label, program.display());
        }
    }
    let medians: Vec<f64> = samples.iter_mut().map(|s| median(s)).collect();
    println!("{title}: spawn + wait, median of {rounds} interleaved rounds");
    println!(
        "{:<54} {:>8} {:>9} {:>14} {:>8}  {:<3}  {:>14}",
        "variant", "µs", "+µs", "over floor", "target", "met", "over filter"
    );
    for (index, (measured, &us)) in measured.iter().zip(&medians).enumerate() {
        let added = if index == 0 { "-".to_owned() } else { format!("{:+.1}", us - medians[0]) };
        let (over, target, met) = match measured.floor {
            Some(floor) => {
                let over = us - medians[floor];
                let (target, met) = match measured.target {
                    Some(target) => (format!("≤ {target:+.0}"), if over <= target { "yes" } else { "NO" }),
                    None => ("".to_owned(), ""),
                };
                (format!("{over:+.1} ({})", floor_mark(floor)), target, met)
            }
            None if index == 0 => ("".to_owned(), "".to_owned(), ""),
            None => (format!("floor ({})", floor_mark(index)), "".to_owned(), ""),
        };
        let over_filter = measured
            .same_filter
            .map_or_else(String::new, |same| format!("{:+.1} ({})", us - medians[same], floor_mark(same)));
        println!(
            "{:<54} {us:>8.1} {added:>9} {over:>14} {target:>8}  {met:<3}  {over_filter:>14}",
            measured.variant.label
        );
    }
    println!(
        "over filter: over the helper that installs the same filter and does nothing else (the kernel's charge for it)"
    );
    println!();
}

/// The mark a floor's row and the rows measured against it share.
fn floor_mark(index: usize) -> char {
    char::from(b'a' + index as u8)
}

/// Cloudflare's library and launcher, if asked for.
pub struct Cloudflare {
    library: PathBuf,
    sandboxify: PathBuf,
}

impl Cloudflare {
    /// `libsandbox.so` and `sandboxify` from `dir`, as its Makefile builds them.
    pub fn new(dir: &Path) -> Result<Cloudflare, String> {
        let cloudflare = Cloudflare { library: dir.join("libsandbox.so"), sandboxify: dir.join("sandboxify") };
        for path in [&cloudflare.library, &cloudflare.sandboxify] {
            if !path.is_file() {
                return Err(format!("--cloudflare: {} does not exist", path.display()));
            }
        }
        Ok(cloudflare)
    }
}

pub fn library(helpers: &Helpers, library: &Path, cloudflare: Option<&Cloudflare>, rounds: usize) {
    let deny = || Some("uname".to_owned());
    let empty = helpers.path("empty-preload.so");
    let deny_floor = helpers.path("deny-preload.so");
    let denying = Variant::library("library, deny list", library, None, deny());
    let allowing = Variant::library("library, 250-entry allow", library, Some(allow_list(250)), None);
    let same_filter = |name: &str, variant: &Variant| {
        let program = variant.program().expect("a policy");
        let helper = helpers.with_filter(name, FILTER_PRELOAD, &["-O2", "-shared", "-fPIC"], &program);
        let label = format!(
            "C preload, the library's {} ({} insns)",
            variant.label.trim_start_matches("library, "),
            program.insns().len()
        );
        Measured::against(Variant::library(&label, &helper, None, None), 2, None)
    };
    let mut measured = vec![
        Measured::floor(Variant::plain("plain /bin/true")),
        Measured::floor(Variant::library("empty C preload", &empty, None, None)),
        Measured::floor(Variant::library("C preload, 7-instruction deny filter", &deny_floor, None, None)),
        same_filter("deny-filter-preload.so", &denying),
        same_filter("allow-filter-preload.so", &allowing),
        Measured::against(Variant::library("library, no policy", library, None, None), 1, Some(10.0)),
        Measured::against(denying, 2, Some(25.0)).with_same_filter(3),
        Measured::against(Variant::library("library, 60-entry allow", library, Some(allow_list(60)), None), 2, None),
        Measured::against(allowing, 2, Some(120.0)).with_same_filter(4),
    ];
    if let Some(cloudflare) = cloudflare {
        let library = &cloudflare.library;
        measured.extend([
            Measured::against(Variant::library("Cloudflare's library, no policy", library, None, None), 1, None),
            Measured::against(Variant::library("Cloudflare's library, deny list", library, None, deny()), 2, None),
            Measured::against(
                Variant::library("Cloudflare's library, 250-entry allow", library, Some(allow_list(250)), None),
                2,
                None,
            ),
        ]);
    }
    spawn_costs("Start-up of /bin/true with a preload library", Path::new("/bin/true"), &measured, rounds);
}

pub fn sandboxify(helpers: &Helpers, cloudflare: Option<&Cloudflare>, rounds: usize) {
    let ours = helpers.path("sandboxify");
    Helpers::install(&artifact("sandboxify"), &ours);
    let allow = allow_list(250);
    let launcher = |label: &str, path: PathBuf, args: &[&str]| Variant::sandboxify(label, &path, args);
    // The launcher compiles a deny list as the library does.
    let deny_filter = compiled(None, Some("uname".to_owned())).expect("a policy");
    let same_filter = helpers.with_filter("exec-nolibc-filter", EXEC_NOLIBC, &NOLIBC_FLAGS, &deny_filter);
    let mut measured = vec![
        Measured::floor(Variant::plain("static program, direct")),
        Measured::floor(launcher("static launcher without libc (exec only)", helpers.path("exec-nolibc"), &[])),
        Measured::against(launcher("static glibc launcher (exec only)", helpers.path("exec-glibc"), &[]), 1, None),
        Measured::against(
            launcher(
                &format!("launcher without libc + sandboxify's filter ({} insns)", deny_filter.insns().len()),
                same_filter,
                &[],
            ),
            1,
            None,
        ),
        Measured::against(launcher("sandboxify, no policy", ours.clone(), &[]), 1, Some(40.0)),
        Measured::against(launcher("sandboxify, deny list", ours.clone(), &["--deny", "uname"]), 1, Some(100.0))
            .with_same_filter(3),
        Measured::against(launcher("sandboxify, 250-entry allow (gate)", ours, &["--allow", &allow]), 1, Some(250.0)),
    ];
    if let Some(cloudflare) = cloudflare {
        let theirs = |label: &str, variable: Option<(&str, String)>| {
            let mut variant = launcher(label, cloudflare.sandboxify.clone(), &[]);
            variant.env.extend(variable.map(|(name, value)| (name.to_owned(), value)));
            Measured::against(variant, 1, None)
        };
        measured.extend([
            theirs("Cloudflare's sandboxify, no policy", None),
            theirs("Cloudflare's sandboxify, deny list", Some((DENY, "uname".to_owned()))),
            theirs("Cloudflare's sandboxify, 250-entry allow", Some((ALLOW, allow_list(250)))),
        ]);
    }
    spawn_costs("Start-up of a static program under a launcher", &helpers.path("true-static"), &measured, rounds);
}

/// What the library adds to a process's mapped and resident memory, next
/// to the empty preload.
pub fn memory(helpers: &Helpers, library: &Path) {
    let empty = helpers.path("empty-preload.so");
    let variants = [
        Variant::plain("plain"),
        Variant::library("empty C preload", &empty, None, None),
        Variant::library("library, no policy", library, None, None),
        Variant::library("library, deny list", library, None, Some("uname".to_owned())),
        Variant::library("library, 250-entry allow", library, Some(allow_list(250)), None),
    ];
    println!("Memory of a small dynamic program (/proc/self/status at main)");
    println!("{:<32} {:>12} {:>12} {:>12} {:>12}", "variant", "mapped kB", "+kB", "resident kB", "+kB");
    let mut first = None;
    for variant in &variants {
        let output = variant.command(&helpers.path("memory"), &[]).output().unwrap();
        assert!(output.status.success(), "{}: {:?}", variant.label, output.status);
        let text = String::from_utf8_lossy(&output.stdout);
        let field = |name: &str| -> u64 {
            let line = text.lines().find(|line| line.starts_with(name)).expect("field in /proc/self/status");
            line.split_whitespace().nth(1).and_then(|kb| kb.parse().ok()).expect("a size in kB")
        };
        let (mapped, resident) = (field("VmSize:"), field("VmRSS:"));
        let (base_mapped, base_resident) = *first.get_or_insert((mapped, resident));
        println!(
            "{:<32} {mapped:>12} {:>+12} {resident:>12} {:>+12}",
            variant.label,
            mapped as i64 - base_mapped as i64,
            resident as i64 - base_resident as i64
        );
    }
    println!("(target: the library maps no more than it needs: no multi-megabyte reservation)");
    println!();
}
