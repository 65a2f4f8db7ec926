//! Hostile files given to patchelf-helper: it refuses them and writes nothing.

use std::fs;

use sandbox_tests::{Run, artifact, compile, library};

use crate::common::marker;

/// Hostile input to patchelf-helper: files it must refuse leave it with a
/// non-zero status, the file byte for byte as it was, and nothing else
/// written in its directory (no temporary file left behind).
#[test]
fn patchelf_helper_writes_nothing_on_bad_input() {
    let good = fs::read(compile("uname", &[])).unwrap();
    let mut past_the_end = good.clone();
    past_the_end[32..40].copy_from_slice(&(good.len() as u64 + 64).to_le_bytes()); // e_phoff
    let mut no_dynamic = good.clone();
    no_dynamic[16] = 1; // e_type ET_REL
    let inputs: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("text", b"#!/bin/sh\necho not elf\n".to_vec()),
        ("header only", good[..64].to_vec()),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("program headers past the end", past_the_end),
        ("relocatable", no_dynamic),
        ("static", fs::read(compile("uname", &["-static"])).unwrap()),
    ];
    let library = library();
    let operations: [&[&str]; 4] = [
        &["--add-needed", library.to_str().unwrap()],
        &["--remove-needed", "libc.so.6"],
        &["--policy", "deny uname"],
        &["--remove-policy"],
    ];
    for (name, bytes) in &inputs {
        for operation in operations {
            let dir = marker();
            fs::create_dir(&dir).unwrap();
            let file = dir.join("input");
            fs::write(&file, bytes).unwrap();
            let args: Vec<&str> = operation.iter().copied().chain([file.to_str().unwrap()]).collect();
            let outcome = Run::new(artifact("patchelf-helper"), &args).run();
            assert_ne!(outcome.code(), Some(0), "{name} {operation:?}: accepted: {outcome:#?}");
            assert_eq!(&fs::read(&file).unwrap(), bytes, "{name} {operation:?}: the file changed");
            let entries: Vec<_> = fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().file_name()).collect();
            assert_eq!(entries, ["input"], "{name} {operation:?}: something else was written");
        }
    }
}
