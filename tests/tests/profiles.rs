//! OCI profiles read as policies (`SECCOMP_POLICY_FILE`, `sandboxify
//! --policy`): containers-common's `seccomp.json` (podman's and CRI-O's
//! default) and Docker's `default.json` give each call a probe tries the
//! same result under Debian's runc (given the profile as podman and Docker
//! hand it over: their conditions evaluated for the bundle's capabilities)
//! as under sandboxify and the library with the same capabilities; what cannot be honoured is refused,
//! one line naming the rule and the field, before anything runs.

use std::path::Path;

use sandbox_tests::{Outcome, Run, USERS, compile, fresh_dir, is_root, library, runc_run, sandboxify};
use serde_json::Value;

const CONTAINERS_COMMON: &str = "/usr/share/containers/seccomp.json";
/// Docker's default profile, as Debian ships Docker's sources.
const DOCKER_DEFAULT: &str = "/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json";

/// runc's default capabilities, which its bundles get.
const BUNDLE_CAPABILITIES: [&str; 3] = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

/// The profile as podman hands it to runc: Docker's `includes`/`excludes`
/// decided for `capabilities` on amd64 (this kernel is newer than any
/// `minKernel`), then dropped with the fields runc does not read.
fn as_podman_hands_it_over(profile: &Value, capabilities: &[&str]) -> Value {
    fn has(caps: &Value) -> impl Iterator<Item = &str> {
        caps.as_array().into_iter().flatten().map(|cap| cap.as_str().unwrap())
    }
    let applies = |rule: &Value| {
        let (includes, excludes) = (&rule["includes"], &rule["excludes"]);
        let arch = |arches: &Value| arches.as_array().into_iter().flatten().any(|arch| arch == "amd64");
        let excluded = arch(&excludes["arches"]) || has(&excludes["caps"]).any(|cap| capabilities.contains(&cap));
        let arches_listed = includes["arches"].as_array().is_some_and(|arches| !arches.is_empty());
        let included = (!arches_listed || arch(&includes["arches"]))
            && has(&includes["caps"]).all(|cap| capabilities.contains(&cap));
        !excluded && included
    };
    let syscalls: Vec<Value> = profile["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|rule| applies(rule))
        .map(|rule| {
            let mut rule = rule.clone();
            let object = rule.as_object_mut().unwrap();
            for field in ["includes", "excludes", "comment", "errno"] {
                object.remove(field);
            }
            rule
        })
        .collect();
    let architectures: Vec<Value> = profile["archMap"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|map| map["architecture"] == "SCMP_ARCH_X86_64")
        .flat_map(|map| {
            std::iter::once(map["architecture"].clone()).chain(map["subArchitectures"].as_array().unwrap().clone())
        })
        .collect();
    serde_json::json!({
        "defaultAction": profile["defaultAction"],
        "defaultErrnoRet": profile["defaultErrnoRet"],
        "architectures": architectures,
        "syscalls": syscalls,
    })
}

/// `setpriv` keeping only `capabilities` (lower-case, without `CAP_`) in the bounding set.
fn with_capabilities(capabilities: &[&str]) -> String {
    let kept = capabilities.iter().map(|cap| format!("+{}", cap.trim_start_matches("CAP_").to_lowercase()));
    std::iter::once("-all".to_owned()).chain(kept).collect::<Vec<_>>().join(",")
}

#[test]
fn containers_common_profile_decides_each_call_as_under_runc() {
    decides_each_call_as_under_runc(CONTAINERS_COMMON, "containers-common");
}

#[test]
fn docker_default_profile_decides_each_call_as_under_runc() {
    decides_each_call_as_under_runc(DOCKER_DEFAULT, "docker");
}

fn decides_each_call_as_under_runc(path: &str, label: &str) {
    if !is_root() {
        eprintln!("skipped: runc needs root here");
        return;
    }
    let profile: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let static_probe = compile("profile-probe", &["-static"]);
    let dynamic_probe = compile("profile-probe", &[]);
    let dir = fresh_dir(&format!("profiles-runc-{label}"));
    let sandboxify = sandboxify();
    // runc's own three capabilities, and none.
    for (name, capabilities) in [("bundle", &BUNDLE_CAPABILITIES[..]), ("none", &[][..])] {
        let handed_over = as_podman_hands_it_over(&profile, capabilities);
        let theirs = runc_run(&dir.join(name), &static_probe, &[], handed_over, Some(capabilities));
        theirs.assert_success();
        assert!(theirs.stdout.lines().count() > 30, "{theirs:#?}");
        let bounding = with_capabilities(capabilities);
        let setpriv = ["--bounding-set", bounding.as_str()];
        let mut args = setpriv.to_vec();
        args.extend([sandboxify.to_str().unwrap(), "--policy", path, static_probe.to_str().unwrap()]);
        let ours = Run::new("setpriv", &args).run();
        assert_eq!(ours.stdout, theirs.stdout, "{name}: sandboxify {ours:#?}");
        // The variables past setpriv, which would take them (and the policy) for itself.
        let (preload, policy_file) =
            (format!("LD_PRELOAD={}", library().display()), format!("SECCOMP_POLICY_FILE={path}"));
        let mut args = setpriv.to_vec();
        args.extend(["/usr/bin/env", preload.as_str(), policy_file.as_str(), dynamic_probe.to_str().unwrap()]);
        let preloaded = Run::new("setpriv", &args).run();
        assert_eq!(preloaded.stdout, theirs.stdout, "{name}: library {preloaded:#?}");
        // The profile changes what the probe gets: not a comparison of two no-ops.
        let plain = Run::new("setpriv", &[&setpriv[..], &[dynamic_probe.to_str().unwrap()]].concat()).run();
        assert_ne!(plain.stdout, theirs.stdout);
    }
}

/// libseccomp adds the native architecture to a filter and kills the calls
/// of every other: under runc, a profile that does not list
/// `SCMP_ARCH_X86` (or lists no architecture at all) has every i386 call
/// killed, even under an allow-all default with no rules.
#[test]
fn i386_calls_are_killed_unless_the_profile_lists_i386_as_under_runc() {
    let static_violate = compile("violate", &["-static", "-pthread"]);
    let dynamic_violate = compile("violate", &["-pthread"]);
    let dir = fresh_dir("profiles-i386");
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let rules = r#""syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_ERRNO"}]"#;
    let status = |outcome: &Outcome| outcome.code().or(outcome.signal().map(|signal| 128 + signal));
    for (name, profile, i386_runs) in [
        ("unlisted", r#"{"defaultAction": "SCMP_ACT_ALLOW"}"#.to_owned(), false),
        (
            "native",
            format!(r#"{{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], {rules}}}"#),
            false,
        ),
        (
            "listed",
            format!(
                r#"{{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], {rules}}}"#
            ),
            true,
        ),
        (
            "docker",
            format!(
                r#"{{"defaultAction": "SCMP_ACT_ALLOW", "archMap": [{{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}}], {rules}}}"#
            ),
            true,
        ),
    ] {
        // `violate int80` makes uname through int 0x80 and prints "survived" if it runs.
        let expected = if i386_runs { (Some(0), "survived\n") } else { (Some(128 + libc::SIGSYS), "") };
        if is_root() && name != "docker" {
            // runc reads architectures, not Docker's archMap.
            let spec: Value = serde_json::from_str(&profile).unwrap();
            let theirs = runc_run(&dir.join(name), &static_violate, &["int80"], spec, None);
            assert_eq!((status(&theirs), theirs.stdout.as_str()), expected, "{name}: runc {theirs:#?}");
        }
        let file = dir.join(format!("{name}.json"));
        std::fs::write(&file, &profile).unwrap();
        for user in USERS {
            let args = ["--policy", file.to_str().unwrap(), static_violate.to_str().unwrap(), "int80"];
            let ours = Run::new(sandboxify(), &args).user(user).run();
            assert_eq!((status(&ours), ours.stdout.as_str()), expected, "{name}: sandboxify {ours:#?}");
            let preloaded = Run::new(&dynamic_violate, &["int80"])
                .env("LD_PRELOAD", library())
                .env("SECCOMP_POLICY_FILE", &file)
                .user(user)
                .run();
            assert_eq!((status(&preloaded), preloaded.stdout.as_str()), expected, "{name}: library {preloaded:#?}");
            // The x86_64 calls follow the rules either way.
            let native =
                Run::new(sandboxify(), &["--policy", file.to_str().unwrap(), "/bin/echo", "ran"]).user(user).run();
            assert_eq!((native.code(), native.stdout.as_str()), (Some(0), "ran\n"), "{name}: {native:#?}");
        }
    }
}

/// `sandboxify --policy FILE /bin/true` for a profile written to FILE.
fn with_profile(dir: &Path, name: &str, profile: &str) -> sandbox_tests::Outcome {
    let file = dir.join(format!("{name}.json"));
    std::fs::write(&file, profile).unwrap();
    Run::new(sandboxify(), &["--policy", file.to_str().unwrap(), "/bin/true"]).run()
}

#[test]
fn what_cannot_be_honoured_is_refused_naming_the_field() {
    let dir = fresh_dir("profiles-refused");
    let allow = r#""defaultAction": "SCMP_ACT_ALLOW""#;
    // One refusal a row: what it is called, the profile, what the line says.
    #[rustfmt::skip]
    let refusals = [
        ("trace", format!(r#"{{{allow}, "syscalls": [{{"names": ["uname"], "action": "SCMP_ACT_TRACE"}}]}}"#), "syscalls[0]: SCMP_ACT_TRACE"),
        ("notify", format!(r#"{{{allow}, "syscalls": [{{"names": ["uname"], "action": "SCMP_ACT_NOTIFY"}}]}}"#), "syscalls[0]: SCMP_ACT_NOTIFY"),
        ("listener", format!(r#"{{{allow}, "listenerPath": "/run/agent.sock", "syscalls": [{{"names": ["uname"], "action": "SCMP_ACT_ERRNO"}}]}}"#), "listenerPath"),
        ("op", format!(r#"{{{allow}, "syscalls": [{{"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [{{"index": 1, "value": 9, "op": "SCMP_CMP_SOMETIMES"}}]}}]}}"#), "unknown op \"SCMP_CMP_SOMETIMES\""),
        ("index", format!(r#"{{{allow}, "syscalls": [{{"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [{{"index": 6, "value": 9, "op": "SCMP_CMP_EQ"}}]}}]}}"#), "index 6"),
        ("action", format!(r#"{{{allow}, "syscalls": [{{"names": ["uname"], "action": "SCMP_ACT_MAYBE"}}]}}"#), "unknown action \"SCMP_ACT_MAYBE\""),
        ("field", format!(r#"{{{allow}, "syscalls": [{{"names": ["uname"], "action": "SCMP_ACT_ERRNO", "errnoReturn": 1}}]}}"#), "unknown field `errnoReturn`"),
        ("flag", format!(r#"{{{allow}, "flags": ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"], "syscalls": [{{"names": ["uname"], "action": "SCMP_ACT_ERRNO"}}]}}"#), "flags: SECCOMP_FILTER_FLAG_SPEC_ALLOW"),
        ("order", format!(r#"{{{allow}, "syscalls": [{{"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [{{"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}}]}}, {{"names": ["kill"], "action": "SCMP_ACT_KILL_PROCESS"}}]}}"#), "kill: an unconditional rule after conditional rules"),
        ("overlap", format!(r#"{{{allow}, "syscalls": [{{"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [{{"index": 1, "value": 9, "op": "SCMP_CMP_GT"}}]}}, {{"names": ["kill"], "action": "SCMP_ACT_KILL_PROCESS", "args": [{{"index": 1, "value": 15, "op": "SCMP_CMP_LT"}}]}}]}}"#), "kill: rules with different actions"),
        ("errno", format!(r#"{{{allow}, "syscalls": [{{"names": ["uname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "errno": "EACCES"}}]}}"#), "errnoRet 1 and errno \"EACCES\" disagree"),
        ("json", "{\"defaultAction\": ".to_owned(), "EOF while parsing"),
        // Comparisons the policy language refuses (found by fuzz/run: they
        // could not be handed on to the library as variables).
        ("missing", format!(r#"{{{allow}, "syscalls": [{{"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [{{"index": 1, "value": 8, "op": "SCMP_CMP_EQ"}}]}}]}}"#), "personality takes 1 arguments: there is no arg1"),
        ("pointer", format!(r#"{{{allow}, "syscalls": [{{"names": ["openat"], "action": "SCMP_ACT_ERRNO", "args": [{{"index": 1, "value": 4096, "op": "SCMP_CMP_GT"}}]}}]}}"#), "arg1 of openat is a pointer"),
        ("wide", format!(r#"{{{allow}, "syscalls": [{{"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [{{"index": 1, "value": 4294967305, "op": "SCMP_CMP_EQ"}}]}}]}}"#), "is wider than the 32 bits of arg1 of kill"),
        // A field quoted back with a newline in it stays one line (found by fuzz/run).
        ("newline", format!(r#"{{{allow}, "syscalls": [{{"come\nt": 1}}]}}"#), "unknown field `come\\nt`"),
    ];
    for (name, profile, said) in refusals {
        let outcome = with_profile(&dir, name, &profile);
        outcome.assert_code(125);
        let line = outcome.stderr.trim_end();
        assert!(!line.contains('\n') && line.starts_with("sandboxify: --policy: OCI profile "), "{name}: {outcome:#?}");
        assert!(line.contains(said), "{name}: {said:?} not in {line:?}");
        // The library refuses it the same way, before the program runs.
        let file = dir.join(format!("{name}.json"));
        let preloaded =
            Run::new("/bin/echo", &["ran"]).env("LD_PRELOAD", library()).env("SECCOMP_POLICY_FILE", &file).run();
        preloaded.assert_code(125);
        assert_eq!(preloaded.stdout, "", "{name}");
        assert!(preloaded.stderr.contains(said), "{name}: {preloaded:#?}");
    }
}

#[test]
fn a_profile_confines_every_path_as_runc_would() {
    // An errno rule, an argument rule, a kill, an allow list's default.
    let dir = fresh_dir("profiles-paths");
    let file = dir.join("profile.json");
    std::fs::write(
        &file,
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["uname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}]}
        ]}"#,
    )
    .unwrap();
    let uname = compile("uname", &[]);
    let ours = Run::new(sandboxify(), &["--policy", file.to_str().unwrap(), uname.to_str().unwrap()]).run();
    assert_eq!((ours.code(), ours.stdout.as_str()), (Some(1), "uname: Permission denied\n"), "{ours:#?}");
    let preloaded = Run::new(&uname, &[]).env("LD_PRELOAD", library()).env("SECCOMP_POLICY_FILE", &file).run();
    assert_eq!((preloaded.code(), preloaded.stdout.as_str()), (Some(1), "uname: Permission denied\n"));
    // Recorded in a patched copy: the same policy, with no environment.
    let patched = dir.join("uname-patched");
    std::fs::copy(&uname, &patched).unwrap();
    let patcher = sandbox_tests::artifact("patchelf-helper");
    let library_path = library();
    let args =
        ["--add-needed", library_path.to_str().unwrap(), "--policy", file.to_str().unwrap(), patched.to_str().unwrap()];
    Run::new(&patcher, &args).run().assert_success();
    let attached = Run::new(&patched, &[]).run();
    assert_eq!((attached.code(), attached.stdout.as_str()), (Some(1), "uname: Permission denied\n"), "{attached:#?}");
    // A profile with Docker's conditions cannot be recorded: the patched
    // program's callers, not the patcher, have the capabilities they test.
    let args = ["--policy", CONTAINERS_COMMON, patched.to_str().unwrap()];
    let refused = Run::new(&patcher, &args).run();
    assert_ne!(refused.code(), Some(0));
    assert!(refused.stderr.contains("includes/excludes"), "{refused:#?}");
    // kill(pid, SIGKILL) fails with EPERM (the default errno), SIGTERM runs.
    let shell = "sleep 5 & kill -9 $! 2>/dev/null; echo \"KILL $?\"; kill -15 $!; echo \"TERM $?\"";
    let outcome =
        Run::new("/bin/sh", &["-c", shell]).env("LD_PRELOAD", library()).env("SECCOMP_POLICY_FILE", &file).run();
    assert_eq!(outcome.stdout, "KILL 1\nTERM 0\n", "{outcome:#?}");
}
