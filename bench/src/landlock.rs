//! What Landlock rules cost: one open()+close() in a loop, and a build-like
//! workload (untar a C tree and compile it), with and without rules.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::median;

/// A tree of small C files, as a tarball, for the build-like workload.
fn c_tree(work: &Path) {
    let src = work.join("src");
    fs::create_dir_all(&src).unwrap();
    for file in 1..=30 {
        let mut text = String::from("#include <stdio.h>\n#include <string.h>\n");
        for function in 1..=20 {
            text.push_str(&format!(
                "int f{file}_{function}(int x) {{ char b[64]; snprintf(b, sizeof b, \"%d\", x * {function}); \
                 return (int)strlen(b) + x; }}\n"
            ));
        }
        fs::write(src.join(format!("f{file}.c")), text).unwrap();
    }
    fs::write(src.join("main.c"), "int main(void) { return 0; }\n").unwrap();
    let status = Command::new("tar").arg("cf").arg(work.join("src.tar")).arg("-C").arg(work).arg("src").status();
    assert!(status.is_ok_and(|s| s.success()), "tar failed");
    fs::remove_dir_all(&src).unwrap();
    fs::create_dir_all(work.join("tmp")).unwrap();
}

/// open()+close() of a file four directories deep, plain and under rules
/// of growing size (a carve-out adds a rule per sibling on the way down).
pub fn open_close(helper: &Path, library: &Path, work: &Path, rounds: usize, iterations: &str) {
    let deep = work.join("a/b/c/d");
    fs::create_dir_all(&deep).unwrap();
    let file = deep.join("file");
    fs::write(&file, "x").unwrap();
    for sibling in 0..50 {
        fs::write(work.join(format!("a/b/sibling-{sibling}")), "").unwrap();
    }
    let work_text = work.to_str().unwrap();
    let carve = format!("{work_text}/a/b/secret*");
    let variants: [(&str, Vec<(&str, String)>); 3] = [
        ("no rules", Vec::new()),
        ("read-only tree", vec![("SANDBOX_FS_RO", work_text.to_owned())]),
        ("tree with a carve-out (55 rules)", vec![("SANDBOX_FS_RO", work_text.to_owned()), ("SANDBOX_FS_DENY", carve)]),
    ];
    let mut samples = vec![Vec::new(); variants.len()];
    for _ in 0..rounds {
        for ((label, env), samples) in variants.iter().zip(&mut samples) {
            let mut command = Command::new(helper);
            command.args([file.to_str().unwrap(), "/etc/hostname", iterations, "5"]).env_clear();
            if !env.is_empty() {
                command.env("LD_PRELOAD", library).envs(env.iter().map(|(k, v)| (k, v)));
            }
            let output = command.stderr(Stdio::inherit()).output().unwrap();
            let text = String::from_utf8_lossy(&output.stdout);
            assert!(output.status.success(), "{label}: {:?}\n{text}", output.status);
            let confined = text.contains("outside EACCES");
            assert_eq!(confined, !env.is_empty(), "{label}: rules not as expected:\n{text}");
            samples.push(text.lines().find_map(|l| l.strip_prefix("ns ")).and_then(|v| v.parse::<f64>().ok()).unwrap());
        }
    }
    let medians: Vec<f64> = samples.iter_mut().map(|s| median(s)).collect();
    println!("open()+close() of a file 4 directories deep, median of {rounds} interleaved rounds");
    println!("{:<36} {:>9} {:>8}", "variant", "ns", "× plain");
    for ((label, _), ns) in variants.iter().zip(&medians) {
        println!("{label:<36} {ns:>9.1} {:>8.2}", ns / medians[0]);
    }
    println!();
}

/// Untar and compile a 31-file C tree: plain, under sandboxify without
/// rules, and under sandboxify with the rules a build needs.
pub fn build(sandboxify: &Path, work: &Path, rounds: usize) {
    c_tree(work);
    let w = work.to_str().unwrap();
    let script = format!(
        "rm -rf {w}/build && mkdir {w}/build && tar xf {w}/src.tar -C {w}/build && cd {w}/build/src && \
         cc -O1 -c *.c && cc -o prog *.o"
    );
    let sandboxify = sandboxify.to_str().unwrap();
    let shell = ["/bin/sh", "-c", script.as_str()];
    let variants: [(&str, Vec<&str>); 3] = [
        ("plain", shell.to_vec()),
        ("sandboxify, no rules", [sandboxify].iter().chain(&shell).copied().collect()),
        (
            "sandboxify --fs-ro /usr:/etc --fs-rw WORK",
            [sandboxify, "--fs-ro", "/usr:/etc", "--fs-rw", w].iter().chain(&shell).copied().collect(),
        ),
    ];
    let mut samples = vec![Vec::new(); variants.len()];
    for _ in 0..rounds {
        for ((label, argv), samples) in variants.iter().zip(&mut samples) {
            let start = Instant::now();
            let status =
                Command::new(argv[0]).args(&argv[1..]).env("TMPDIR", work.join("tmp")).stdout(Stdio::null()).status();
            samples.push(start.elapsed().as_secs_f64());
            assert!(status.is_ok_and(|s| s.success()), "{label} failed");
        }
    }
    let medians: Vec<f64> = samples.iter_mut().map(|s| median(s)).collect();
    println!("Build-like workload: untar and compile 31 C files, median of {rounds} interleaved rounds");
    println!("{:<44} {:>9} {:>8}", "variant", "s", "× plain");
    for ((label, _), seconds) in variants.iter().zip(&medians) {
        println!("{label:<44} {seconds:>9.3} {:>8.3}", seconds / medians[0]);
    }
    println!(
        "Landlock's share: ×{:.3} (with rules against without; target ≤ ×1.05, SandFS reported ×1.046–1.098)",
        medians[2] / medians[1]
    );
    println!();
}
