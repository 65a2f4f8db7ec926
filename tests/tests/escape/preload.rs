//! `sandboxify --preload` never leaves a program under its guard alone.

use std::fs;

use sandbox_tests::{Run, USERS, compile, fresh_dir, library, sandboxify};

/// `--preload` never leaves a program under its guard alone (the policy
/// with the start-up calls allowed as start-up makes them, looser than the
/// policy): every way ld.so would skip the library is refused before the
/// exec (125), or made to work. The evidence of the guard alone: under
/// `--deny openat` the guard lets read-only opens through, the library's
/// filter does not, so `cat` of a file after start-up is killed only if the
/// library is in force.
#[test]
fn preload_never_falls_back_to_its_guard() {
    let library = library();
    let file = fresh_dir("preload-fallback").join("file");
    fs::write(&file, "data\n").unwrap();
    let audit = compile("audit-refuse", &["-shared", "-fPIC"]);
    let audited = compile("uname", &[&format!("-Wl,--audit={}", audit.display())]);
    let sandboxify = sandboxify();
    let (sandboxify, library, file) = (sandboxify.to_str().unwrap(), library.to_str().unwrap(), file.to_str().unwrap());
    let preload = ["--preload", "--library", library, "--deny", "openat"];
    for user in USERS {
        // The control: the library in force, the open after start-up killed.
        let args: Vec<&str> = preload.iter().copied().chain(["/bin/cat", file]).collect();
        Run::new(sandboxify, &args).user(user).run().assert_killed();
        // An audit library that refuses the preload: the program's own, or LD_AUDIT.
        let args: Vec<&str> = preload.iter().copied().chain([audited.to_str().unwrap()]).collect();
        let outcome = Run::new(sandboxify, &args).user(user).run();
        outcome.assert_code(125);
        assert!(outcome.stderr.contains("it names audit libraries (DT_AUDIT)"), "{outcome:#?}");
        let args: Vec<&str> = preload.iter().copied().chain(["/bin/cat", file]).collect();
        let outcome = Run::new(sandboxify, &args).env("LD_AUDIT", &audit).user(user).run();
        outcome.assert_code(125);
        assert_eq!(outcome.stdout, "", "the program never runs");
        // Landlock file rules that do not cover the library's directory:
        // they grant its file, as they grant the program's.
        let args: Vec<&str> =
            preload.iter().copied().chain(["--fs-ro", "/usr:/etc:/lib:/lib64:/bin", "/bin/cat", file]).collect();
        Run::new(sandboxify, &args).user(user).run().assert_killed();
    }
}
