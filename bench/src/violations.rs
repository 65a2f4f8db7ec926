//! What a kill costs when it is named: the time from start to the end of a
//! program that breaks its policy at once (`uname`), killed by the kernel,
//! killed with its line on stderr, and with the JSON line too, under the
//! library (a handler in the process) and under sandboxify (a tracer),
//! interleaved; and what an errno call costs when
//! `SANDBOX_REPORT_COUNTS=errno` counts it (a round trip to the reporter,
//! which answers it as a seccomp listener) against the kernel's errno.
//! Allowed calls cost the same either way (the trap rules are on the kill
//! paths only, the listener on the errno paths): the `syscalls` section
//! measures those.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use sandbox_policy::text::variables::{DENY, REPORT_COUNTS, REPORT_JSON, REPORT_KILLS};

use crate::median;

/// How one variant runs `/bin/uname`.
struct Variant {
    label: &'static str,
    /// sandboxify's arguments before the program, or the library's deny list.
    via: Via,
    /// Environment variables besides.
    env: Vec<(&'static str, String)>,
}

enum Via {
    Library(&'static str),
    Sandboxify,
}

/// Spawns `/bin/uname` under the library and under sandboxify with a deny
/// list that kills it, each variant interleaved, and prints the medians,
/// each also as the difference from the kernel's kill on the same path.
pub fn kill_costs(library: &Path, sandboxify: &Path, json: &Path, rounds: usize) {
    let json_env = || (REPORT_JSON, json.to_string_lossy().into_owned());
    let variants = [
        Variant { label: "library: kernel's kill (deny uname)", via: Via::Library("uname"), env: vec![] },
        Variant { label: "library: named kill (deny uname:ptrace)", via: Via::Library("uname:ptrace"), env: vec![] },
        Variant { label: "library: named kill + JSON line", via: Via::Library("uname:ptrace"), env: vec![json_env()] },
        Variant { label: "sandboxify: kernel's kill", via: Via::Sandboxify, env: vec![] },
        Variant {
            label: "sandboxify: named kill (SANDBOX_REPORT_KILLS=1)",
            via: Via::Sandboxify,
            env: vec![(REPORT_KILLS, "1".to_owned())],
        },
        Variant {
            label: "sandboxify: named kill + JSON line",
            via: Via::Sandboxify,
            env: vec![(REPORT_KILLS, "1".to_owned()), json_env()],
        },
    ];
    let mut samples = vec![Vec::new(); variants.len()];
    for _ in 0..rounds {
        for (variant, samples) in variants.iter().zip(&mut samples) {
            let mut command = match variant.via {
                Via::Library(deny) => {
                    let mut command = Command::new("/bin/uname");
                    command.env("LD_PRELOAD", library).env(DENY, deny);
                    command
                }
                Via::Sandboxify => {
                    let mut command = Command::new(sandboxify);
                    command.args(["--deny", "uname", "/bin/uname"]);
                    command
                }
            };
            command
                .envs(variant.env.iter().map(|(key, value)| (key, value)))
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let start = Instant::now();
            let status = command.status().unwrap();
            samples.push(start.elapsed().as_secs_f64() * 1e6);
            assert_eq!(status.signal(), Some(libc::SIGSYS), "{}: {status:?}", variant.label);
        }
    }
    let _ = std::fs::remove_file(json);
    let medians: Vec<f64> = samples.iter_mut().map(|s| median(s)).collect();
    println!("A kill, from spawn to the end of /bin/uname: median of {rounds} interleaved rounds");
    println!("{:<52} {:>8} {:>10}", "variant", "µs", "vs kernel");
    for (index, (variant, &us)) in variants.iter().zip(&medians).enumerate() {
        // The kernel's kill on the same path: the first of each group of three.
        println!("{:<52} {us:>8.1} {:>+10.1}", variant.label, us - medians[index / 3 * 3]);
    }
}

/// Times `uname` failed by `uname=EPERM` in a loop (`getppid-loop`'s raw
/// call), with the kernel's errno and counted by the reporter, under the
/// library and sandboxify, interleaved, and prints the medians per call.
pub fn errno_costs(loop_program: &Path, library: &Path, sandboxify: &Path, rounds: usize, iterations: &str) {
    let uname = "63";
    let labels = [
        "library: kernel's errno",
        "library: counted (SANDBOX_REPORT_COUNTS=errno)",
        "sandboxify: kernel's errno",
        "sandboxify: counted",
    ];
    let mut samples = vec![Vec::new(); labels.len()];
    for _ in 0..rounds {
        for (index, samples) in samples.iter_mut().enumerate() {
            let mut command = match index / 2 {
                0 => {
                    let mut command = Command::new(loop_program);
                    command.env("LD_PRELOAD", library).env(DENY, "uname=EPERM");
                    command
                }
                _ => {
                    let mut command = Command::new(sandboxify);
                    command.args(["--deny", "uname=EPERM"]).arg(loop_program);
                    command
                }
            };
            if index % 2 == 1 {
                command.env(REPORT_COUNTS, "errno");
            }
            let output = command.args([iterations, "5", uname]).stderr(Stdio::null()).output().unwrap();
            let text = String::from_utf8_lossy(&output.stdout);
            assert!(output.status.success(), "{}: {:?}\n{text}", labels[index], output.status);
            let ns: f64 = text.lines().find_map(|l| l.strip_prefix("ns ")).and_then(|v| v.parse().ok()).unwrap();
            samples.push(ns / 1000.0);
        }
    }
    let medians: Vec<f64> = samples.iter_mut().map(|s| median(s)).collect();
    println!(
        "An errno call (uname=EPERM), counted or not: median of {rounds} interleaved rounds × 5 × {iterations} calls"
    );
    println!("{:<52} {:>8} {:>10}", "variant", "µs/call", "vs kernel");
    for (index, (label, &us)) in labels.iter().zip(&medians).enumerate() {
        println!("{label:<52} {us:>8.2} {:>+10.2}", us - medians[index / 2 * 2]);
    }
}
