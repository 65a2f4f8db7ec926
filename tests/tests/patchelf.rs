//! End-to-end tests of `patchelf-helper`: binaries built at test time by every
//! toolchain the issue lists are patched with a marker library, then run,
//! inspected with readelf, patched again, un-patched and stripped.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use sandbox_tests::{Outcome, Run, User, artifact, compile, fresh_dir, workspace};

/// Environment variable the marker (and patchelf-lib.c) log to.
const LOG: &str = "PATCHELF_MARKER_LOG";

fn helper(args: &[&str]) -> Outcome {
    Run::new(artifact("patchelf-helper"), args).run()
}

/// Runs a tool that must succeed and returns its stdout and stderr.
fn tool(program: &str, args: &[&str]) -> (String, String) {
    let output = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert!(output.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The marker library for 64-bit or (`-m32`) 32-bit programs.
fn marker(bits32: bool) -> PathBuf {
    let flags: &[&str] = if bits32 { &["-shared", "-fPIC", "-m32"] } else { &["-shared", "-fPIC"] };
    compile("patchelf-marker", flags)
}

/// DT_NEEDED entries as readelf shows them.
fn needed(path: &Path) -> Vec<String> {
    let (out, _) = tool("readelf", &["-dW", text(path)]);
    out.lines()
        .filter(|line| line.contains("(NEEDED)"))
        .map(|line| line.split('[').nth(1).unwrap().trim_end_matches(']').to_string())
        .collect()
}

/// readelf's warnings about a file (stderr of `readelf -aW`).
fn readelf_warnings(path: &Path) -> Vec<String> {
    let output = Command::new("readelf").args(["-aW", text(path)]).output().unwrap();
    String::from_utf8_lossy(&output.stderr).lines().map(str::to_string).collect()
}

/// A program header line of `readelf -lW`, split into fields.
#[derive(Debug)]
struct Segment {
    kind: String,
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
    flags: String,
    align: u64,
}

fn segments(path: &Path) -> Vec<Segment> {
    let (out, _) = tool("readelf", &["-lW", text(path)]);
    let hex = |field: &str| u64::from_str_radix(field.trim_start_matches("0x"), 16).unwrap();
    out.lines()
        .skip_while(|line| !line.contains("Program Headers:"))
        .skip(2)
        .take_while(|line| !line.trim().is_empty())
        .filter(|line| line.split_whitespace().nth(1).is_some_and(|f| f.starts_with("0x")))
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let flags_end = fields.len() - 1;
            Segment {
                kind: fields[0].to_string(),
                offset: hex(fields[1]),
                vaddr: hex(fields[2]),
                filesz: hex(fields[4]),
                memsz: hex(fields[5]),
                flags: fields[6..flags_end].concat(),
                align: hex(fields[flags_end]),
            }
        })
        .collect()
}

/// The layout invariants the issue lists.
fn check_invariants(original: &Path, patched: &Path) {
    let before = segments(original);
    let after = segments(patched);
    let loads: Vec<&Segment> = after.iter().filter(|s| s.kind == "LOAD").collect();
    assert!(loads.windows(2).all(|w| w[0].vaddr + w[0].memsz <= w[1].vaddr), "loads unsorted: {after:#?}");
    for load in &loads {
        assert_eq!((load.vaddr.wrapping_sub(load.offset)) % load.align.max(1), 0, "misaligned {load:?}");
    }
    let lowest = |segments: &[Segment]| segments.iter().filter(|s| s.kind == "LOAD").map(|s| s.vaddr).min();
    assert_eq!(lowest(&before), lowest(&after), "lowest address changed");
    let dynamic = after.iter().find(|s| s.kind == "DYNAMIC").unwrap();
    assert!(
        loads.iter().any(|l| l.flags.contains('W')
            && l.vaddr <= dynamic.vaddr
            && dynamic.vaddr + dynamic.memsz <= l.vaddr + l.memsz),
        "PT_DYNAMIC not in a writable PT_LOAD: {after:#?}"
    );
    let relro = |segments: &[Segment]| {
        segments.iter().filter(|s| s.kind == "GNU_RELRO").map(|s| (s.vaddr, s.memsz)).collect::<Vec<_>>()
    };
    assert_eq!(relro(&before), relro(&after), "RELRO changed");
}

/// What is patched and how it is run.
struct Subject {
    /// The file to patch.
    file: PathBuf,
    /// The marker library to add.
    marker: PathBuf,
    /// `Some(program)` when `file` is a shared library used by `program`.
    user_program: Option<PathBuf>,
}

impl Subject {
    fn executable(file: PathBuf) -> Subject {
        Subject { file, marker: marker(false), user_program: None }
    }

    /// Runs the variant of the subject in `dir` as `nobody`, logging to `log`.
    fn run(&self, dir: &Path, log: &Path) -> Outcome {
        let name = self.file.file_name().unwrap();
        let run = match &self.user_program {
            None => Run::new(dir.join(name), &["one", "two"]),
            Some(program) => Run::new(program, &[]).env("LD_LIBRARY_PATH", dir),
        };
        run.env(LOG, log).user(User::Nobody).run()
    }

    /// A copy of `from` in a directory of its own under `root`.
    fn copy(&self, root: &Path, variant: &str, from: &Path) -> PathBuf {
        let dir = root.join(variant);
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let copy = dir.join(self.file.file_name().unwrap());
        fs::copy(from, &copy).unwrap();
        copy
    }
}

/// Whether the marker wrote to `log`.
fn marker_ran(log: &Path) -> bool {
    fs::read_to_string(log).is_ok_and(|text| text.lines().any(|line| line == "marker"))
}

/// Asserts that the marker ran first: before the executable's other
/// libraries, or (for a library) before the library's constructor.
fn assert_marker_first(subject: &Subject, log: &Path) {
    let log_text = fs::read_to_string(log).unwrap_or_else(|_| panic!("the marker did not run ({})", log.display()));
    let marker_name = subject.marker.file_name().unwrap().to_str().unwrap();
    let lines: Vec<&str> = log_text.lines().collect();
    assert_eq!(lines.iter().filter(|l| **l == "marker").count(), 1, "{log_text}");
    match subject.user_program {
        None => {
            let first_library = lines
                .iter()
                .filter_map(|l| l.strip_prefix("object "))
                .find(|name| !name.is_empty() && !name.starts_with("linux-vdso") && !name.starts_with("linux-gate"));
            assert_eq!(first_library, Some(marker_name), "marker not loaded first:\n{log_text}");
        }
        Some(_) => {
            let position = |what: &str| lines.iter().position(|l| *l == what);
            assert!(position("marker") < position("library") && position("library").is_some(), "{log_text}");
        }
    }
}

/// Everything the issue asks of an accepted file.
fn check_accepted(name: &str, subject: &Subject) {
    let root = fresh_dir(&format!("patchelf-check-{name}"));
    let marker = text(&subject.marker).to_string();

    let original = subject.copy(&root, "original", &subject.file);
    let baseline = subject.run(original.parent().unwrap(), &root.join("original.log"));
    assert!(!marker_ran(&root.join("original.log")), "marker present before patching");
    let needed_before = needed(&original);

    let patched = subject.copy(&root, "patched", &original);
    helper(&["--add-needed", &marker, text(&patched)]).assert_success();
    let log = root.join("patched.log");
    let outcome = subject.run(patched.parent().unwrap(), &log);
    assert_eq!(
        (outcome.status, &outcome.stdout, &outcome.stderr),
        (baseline.status, &baseline.stdout, &baseline.stderr),
        "{name}: output changed"
    );
    assert_marker_first(subject, &log);
    let mut expected = vec![marker.clone()];
    expected.extend(needed_before.iter().cloned());
    assert_eq!(needed(&patched), expected, "{name}: DT_NEEDED order");
    let old_warnings = readelf_warnings(&original);
    let new_warnings: Vec<String> =
        readelf_warnings(&patched).into_iter().filter(|w| !old_warnings.contains(w)).collect();
    assert!(new_warnings.is_empty(), "{name}: new readelf warnings: {new_warnings:#?}");
    for flag in ["-n", "-V"] {
        assert_eq!(
            tool("readelf", &[flag, text(&original)]).0,
            tool("readelf", &[flag, text(&patched)]).0,
            "{name}: readelf {flag}"
        );
    }
    check_invariants(&original, &patched);

    let again = subject.copy(&root, "again", &patched);
    helper(&["--add-needed", &marker, text(&again)]).assert_success();
    assert!(fs::read(&again).unwrap() == fs::read(&patched).unwrap(), "{name}: second run changed the file");

    let removed = subject.copy(&root, "removed", &patched);
    helper(&["--remove-needed", &marker, text(&removed)]).assert_success();
    let log = root.join("removed.log");
    let outcome = subject.run(removed.parent().unwrap(), &log);
    assert_eq!((outcome.status, &outcome.stdout), (baseline.status, &baseline.stdout), "{name}: after removal");
    assert!(!marker_ran(&log), "{name}: marker still loaded after removal");
    assert_eq!(needed(&removed), needed_before, "{name}: DT_NEEDED after removal");

    for strip in [&["--strip-all"][..], &["--strip-debug"][..]] {
        let stripped = subject.copy(&root, &format!("stripped{}", strip[0]), &patched);
        let mut args = strip.to_vec();
        args.push(text(&stripped));
        tool("strip", &args);
        let log = root.join(format!("stripped{}.log", strip[0]));
        let outcome = subject.run(stripped.parent().unwrap(), &log);
        assert_eq!(
            (outcome.status, &outcome.stdout),
            (baseline.status, &baseline.stdout),
            "{name}: after strip {strip:?}"
        );
        assert_marker_first(subject, &log);
    }
}

/// `patchelf-hello.c` built with `flags`; it needs libm and libc.
fn hello(flags: &[&str]) -> PathBuf {
    let mut all = vec!["-Wl,--no-as-needed", "-lm"];
    all.extend_from_slice(flags);
    compile("patchelf-hello", &all)
}

fn check_hello(name: &str, flags: &[&str]) {
    let subject = Subject::executable(hello(flags));
    assert_eq!(needed(&subject.file), ["libm.so.6", "libc.so.6"]);
    check_accepted(name, &subject);
}

#[test]
fn pie() {
    check_hello("pie", &["-fPIE", "-pie"]);
}

#[test]
fn no_pie() {
    check_hello("no-pie", &["-fno-PIE", "-no-pie"]);
}

#[test]
fn bind_now() {
    check_hello("now", &["-Wl,-z,now"]);
}

#[test]
fn no_relro() {
    check_hello("norelro", &["-Wl,-z,norelro"]);
}

#[test]
fn gnu_hash() {
    check_hello("gnu-hash", &["-Wl,--hash-style=gnu"]);
}

#[test]
fn sysv_hash() {
    check_hello("sysv-hash", &["-Wl,--hash-style=sysv"]);
}

#[test]
fn max_page_size_64k() {
    check_hello("64k", &["-Wl,-z,max-page-size=0x10000"]);
}

#[test]
fn stripped_input() {
    let dir = fresh_dir("patchelf-stripped-input");
    let file = dir.join("hello-stripped");
    fs::copy(hello(&[]), &file).unwrap();
    tool("strip", &[text(&file)]);
    check_accepted("stripped-input", &Subject::executable(file));
}

#[test]
fn lld_without_spare_slots() {
    let subject = Subject::executable(hello(&["-fuse-ld=lld"]));
    let check = helper(&["--check", "--add-needed", text(&subject.marker), text(&subject.file)]);
    check.assert_success();
    assert!(check.stdout.contains("new PT_LOAD at end"), "{}", check.stdout);
    check_accepted("lld", &subject);
}

#[test]
fn bits32() {
    let subject = Subject { file: hello(&["-m32"]), marker: marker(true), user_program: None };
    check_accepted("32", &subject);
}

#[test]
fn shared_library() {
    let dir = fresh_dir("patchelf-shared-library");
    let library = dir.join("libpatchelf-lib.so");
    fs::copy(compile("patchelf-lib", &["-shared", "-fPIC", "-Wl,-soname,libpatchelf-lib.so"]), &library).unwrap();
    let program = compile("patchelf-uselib", &[&format!("-L{}", dir.display()), "-lpatchelf-lib"]);
    let subject = Subject { file: library, marker: marker(false), user_program: Some(program) };
    check_accepted("shared-library", &subject);
}

/// Builds `tests/c/patchelf-hello.go` with cgo and the given link mode.
fn go_binary(link_mode: &str) -> PathBuf {
    let dir = fresh_dir(&format!("patchelf-go-{link_mode}"));
    let output = dir.join(format!("hello-go-{link_mode}"));
    let source = workspace().join("tests/c/patchelf-hello.go");
    let result = Command::new("go")
        .args(["build", &format!("-ldflags=-linkmode={link_mode}"), "-o", text(&output), text(&source)])
        .env("HOME", &dir)
        .env("GOCACHE", dir.join("cache"))
        .env("GOPATH", dir.join("gopath"))
        .env("GO111MODULE", "off")
        .env("CGO_ENABLED", "1")
        .output()
        .expect("run go (apt-get install golang-go)");
    assert!(result.status.success(), "go build: {}", String::from_utf8_lossy(&result.stderr));
    output
}

#[test]
fn go_internal_linking() {
    check_accepted("go-internal", &Subject::executable(go_binary("internal")));
}

#[test]
fn go_external_linking() {
    check_accepted("go-external", &Subject::executable(go_binary("external")));
}

#[test]
fn rust_binary() {
    let dir = fresh_dir("patchelf-rust");
    let output = dir.join("hello-rust");
    let source = workspace().join("tests/c/patchelf-hello.rs");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let result = Command::new(rustc).arg("-o").arg(&output).arg(&source).output().expect("run rustc");
    assert!(result.status.success(), "rustc: {}", String::from_utf8_lossy(&result.stderr));
    check_accepted("rust", &Subject::executable(output));
}

/// Asserts that patching `file` is refused with `reason` and leaves it untouched.
fn assert_refused(file: &Path, reason: &str) {
    let before = fs::read(file).unwrap();
    let outcome = helper(&["--add-needed", text(&marker(false)), text(file)]);
    outcome.assert_code(1);
    let line = format!("patchelf-helper: {}: {reason}", file.display());
    assert_eq!(outcome.stderr.lines().collect::<Vec<_>>(), [line.as_str()], "{outcome:#?}");
    assert!(fs::read(file).unwrap() == before, "refused file was modified");
    let check = helper(&["--check", text(file)]);
    check.assert_code(1);
    assert!(check.stderr.contains(reason), "{check:#?}");
}

#[test]
fn refuses_static_executable() {
    assert_refused(
        &hello(&["-static"]),
        "static executable (no PT_DYNAMIC): nothing loads libraries; use sandboxify to confine it",
    );
}

#[test]
fn refuses_static_pie() {
    assert_refused(
        &hello(&["-static-pie"]),
        "static-PIE executable: it relocates itself and loads no libraries; use sandboxify to confine it",
    );
}

#[test]
fn refuses_non_elf() {
    let file = fresh_dir("patchelf-non-elf").join("script");
    fs::write(&file, "#!/bin/sh\necho hi\n").unwrap();
    assert_refused(&file, "not an ELF file");
}

#[test]
fn refuses_dynamic_without_terminator() {
    let file = fresh_dir("patchelf-no-null").join("hello");
    fs::copy(hello(&[]), &file).unwrap();
    // Turn every DT_NULL slot of PT_DYNAMIC into DT_DEBUG (tag 21).
    let dynamic = segments(&file).into_iter().find(|s| s.kind == "DYNAMIC").unwrap();
    let mut data = fs::read(&file).unwrap();
    for slot in (dynamic.offset..dynamic.offset + dynamic.filesz).step_by(16) {
        let tag = &mut data[slot as usize..slot as usize + 8];
        if tag.iter().all(|&b| b == 0) {
            tag[0] = 21;
        }
    }
    fs::write(&file, &data).unwrap();
    assert_refused(&file, ".dynamic has no DT_NULL terminator");
}

#[test]
fn several_files_one_failure() {
    let dir = fresh_dir("patchelf-several");
    let good = [dir.join("a"), dir.join("b")];
    let bad = dir.join("static");
    fs::copy(hello(&[]), &good[0]).unwrap();
    fs::copy(hello(&["-static"]), &bad).unwrap();
    fs::copy(hello(&[]), &good[1]).unwrap();
    let bad_before = fs::read(&bad).unwrap();
    let marker = marker(false);
    let outcome = helper(&["--add-needed", text(&marker), text(&good[0]), text(&bad), text(&good[1])]);
    outcome.assert_code(1);
    assert_eq!(outcome.stderr.lines().count(), 1, "{outcome:#?}");
    assert!(outcome.stderr.contains("static executable"), "{outcome:#?}");
    assert!(fs::read(&bad).unwrap() == bad_before);
    for file in &good {
        assert_eq!(needed(file)[0], text(&marker));
    }
    let listing = helper(&["--print-needed", text(&good[0]), text(&good[1])]);
    listing.assert_success();
    let expected: Vec<String> =
        good.iter().flat_map(|f| needed(f).into_iter().map(move |n| format!("{}: {n}", f.display()))).collect();
    assert_eq!(listing.stdout.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn keeps_mode_owner_and_group() {
    let dir = fresh_dir("patchelf-mode");
    let file = dir.join("setuid-hello");
    fs::copy(hello(&[]), &file).unwrap();
    std::os::unix::fs::chown(&file, Some(65534), Some(65534)).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o6751)).unwrap();
    helper(&["--add-needed", text(&marker(false)), text(&file)]).assert_success();
    let metadata = fs::metadata(&file).unwrap();
    assert_eq!((metadata.mode() & 0o7777, metadata.uid(), metadata.gid()), (0o6751, 65534, 65534));
    let leftovers: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers, ["setuid-hello"], "temporary files left behind");
}

/// A setuid, setgid or file-capability program never gets a bare library
/// name: found in a system directory, the name is recorded as that
/// absolute path; found in none, the file is refused and left alone. An
/// ordinary program keeps the name as given. Patching keeps the mode and
/// the file capabilities (a rewritten file would otherwise lose them).
#[test]
fn privileged_programs_get_absolute_library_paths() {
    let dir = fresh_dir("patchelf-privileged");
    for (name, mode, capability) in [("setuid", 0o4755, false), ("setgid", 0o2755, false), ("cap", 0o755, true)] {
        let file = dir.join(name);
        fs::copy(hello(&[]), &file).unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(mode)).unwrap();
        if capability {
            tool("setcap", &["cap_net_bind_service+ep", text(&file)]);
        }
        helper(&["--add-needed", "libdl.so.2", text(&file)]).assert_success();
        assert_eq!(needed(&file)[0], "/lib/x86_64-linux-gnu/libdl.so.2", "{name}");
        assert_eq!(fs::metadata(&file).unwrap().mode() & 0o7777, mode, "{name}: the mode survives patching");
        if capability {
            let (caps, _) = tool("getcap", &[text(&file)]);
            assert!(caps.contains("cap_net_bind_service=ep"), "the capability survives patching: {caps}");
        }
        let before = fs::read(&file).unwrap();
        let refused = helper(&["--add-needed", "libnowhere-sandbox.so", text(&file)]);
        refused.assert_code(1);
        assert!(
            refused.stderr.contains("must load libnowhere-sandbox.so from a system directory"),
            "{name}: {refused:#?}"
        );
        assert!(fs::read(&file).unwrap() == before, "{name}: a refused file is untouched");
    }
    let plain = dir.join("plain");
    fs::copy(hello(&[]), &plain).unwrap();
    helper(&["--add-needed", "libdl.so.2", text(&plain)]).assert_success();
    assert_eq!(needed(&plain)[0], "libdl.so.2");
}

#[test]
fn output_option_leaves_input_alone() {
    let dir = fresh_dir("patchelf-output");
    let input = dir.join("hello");
    let output = dir.join("hello-patched");
    fs::copy(hello(&[]), &input).unwrap();
    let before = fs::read(&input).unwrap();
    let marker = marker(false);
    helper(&["--add-needed", text(&marker), "--output", text(&output), text(&input)]).assert_success();
    assert!(fs::read(&input).unwrap() == before);
    assert_eq!(needed(&output), [text(&marker), "libm.so.6", "libc.so.6"]);
    // Already present: the output is a byte-identical copy.
    let copy = dir.join("hello-copy");
    helper(&["--add-needed", text(&marker), "--output", text(&copy), text(&output)]).assert_success();
    assert!(fs::read(&copy).unwrap() == fs::read(&output).unwrap());
}

#[test]
fn check_and_print_write_nothing() {
    let dir = fresh_dir("patchelf-check");
    let file = dir.join("hello");
    fs::copy(hello(&[]), &file).unwrap();
    let before = fs::read(&file).unwrap();
    let modified = fs::metadata(&file).unwrap().modified().unwrap();
    let check = helper(&["--check", text(&file)]);
    check.assert_success();
    assert_eq!(
        check.stdout,
        format!("{}: can patch: spare DT_NULL slot + string in page padding, no growth\n", file.display())
    );
    let listing = helper(&["--print-needed", text(&file)]);
    listing.assert_success();
    assert_eq!(listing.stdout, "libm.so.6\nlibc.so.6\n");
    let present = helper(&["--check", "--add-needed", "libm.so.6", text(&file)]);
    present.assert_success();
    assert!(present.stdout.contains("nothing to do"), "{present:#?}");
    assert!(fs::read(&file).unwrap() == before);
    assert_eq!(fs::metadata(&file).unwrap().modified().unwrap(), modified);
}

#[test]
fn usage_errors_and_help() {
    helper(&[]).assert_code(2);
    helper(&["--add-needed", "x.so"]).assert_code(2);
    helper(&["--print-needed", "--output", "out", "a", "b"]).assert_code(2);
    let help = helper(&["--help"]);
    help.assert_success();
    assert!(help.stdout.contains("Exit status:"), "{}", help.stdout);
}

/// The corpus test: every dynamic executable in /usr/bin, patched by us and
/// by Debian's patchelf, must answer `--version` as before, also after
/// `strip` (ours only; patchelf's counts are reported alongside). About half
/// a minute on two cores; run `tests/corpus/patch-usr-bin` to see the table.
#[test]
fn corpus_usr_bin() {
    let script = workspace().join("tests/corpus/patch-usr-bin");
    let output = Command::new(&script).output().expect("run tests/corpus/patch-usr-bin");
    let report = String::from_utf8_lossy(&output.stdout);
    eprintln!("{report}{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "binaries broken by patchelf-helper:\n{report}");
    assert!(report.contains("broken by patchelf-helper (patch or patch + strip): none"), "{report}");
}
