//! What a kill costs when the library names it: the time from start to
//! the end of a program that breaks its policy at once (`uname`), killed by
//! the kernel, killed with its line on stderr, and with the JSON line too,
//! interleaved. Allowed calls cost the same either way (the trap rules are
//! on the kill paths only): the `syscalls` section measures those.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use sandbox_policy::text::variables::{DENY, REPORT_JSON};

use crate::median;

/// Spawns `/bin/uname` under the library with each deny list, interleaved,
/// and prints the medians, each also as the difference from the kernel's
/// kill.
pub fn kill_costs(library: &Path, json: &Path, rounds: usize) {
    let variants: [(&str, &str, bool); 3] = [
        ("kernel's kill (deny uname)", "uname", false),
        ("named kill (deny uname:ptrace)", "uname:ptrace", false),
        ("named kill + JSON line", "uname:ptrace", true),
    ];
    let mut samples = vec![Vec::new(); variants.len()];
    for _ in 0..rounds {
        for ((_, deny, with_json), samples) in variants.iter().zip(&mut samples) {
            let mut command = Command::new("/bin/uname");
            command.env("LD_PRELOAD", library).env(DENY, deny).stdout(Stdio::null()).stderr(Stdio::null());
            if *with_json {
                command.env(REPORT_JSON, json);
            }
            let start = Instant::now();
            let status = command.status().unwrap();
            samples.push(start.elapsed().as_secs_f64() * 1e6);
            assert_eq!(status.signal(), Some(libc::SIGSYS), "deny {deny}: {status:?}");
        }
    }
    let _ = std::fs::remove_file(json);
    let medians: Vec<f64> = samples.iter_mut().map(|s| median(s)).collect();
    println!("A kill, from spawn to the end of /bin/uname: median of {rounds} interleaved rounds");
    println!("{:<44} {:>8} {:>10}", "variant", "µs", "vs kernel");
    for ((label, _, _), &us) in variants.iter().zip(&medians) {
        println!("{label:<44} {us:>8.1} {:>+10.1}", us - medians[0]);
    }
}
