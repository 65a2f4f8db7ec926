//! Policy files and attached policies: arbitrary text for the main file and
//! for every file it includes (handed out in the order read, whatever the
//! path, so that nested and cyclic includes are exercised), and the same
//! text as a policy recorded in a binary; a text that starts with `{` is
//! read as an OCI profile. No input may panic or hang; every
//! policy that parses must compile to a filter that runs (see `common`).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use sandbox_policy::Policy;
use sandbox_policy::text::file::{self, Files};
use sandbox_policy::text::oci;

/// Files whose contents the fuzzer chose, handed out in the order read.
struct Chosen<'a> {
    texts: std::slice::Iter<'a, &'a str>,
    reads: usize,
}

impl Files for Chosen<'_> {
    fn read(&mut self, path: &str) -> Result<String, String> {
        assert!(!path.is_empty(), "an include resolved to an empty path");
        self.reads += 1;
        self.texts.next().map(|text| (*text).to_owned()).ok_or_else(|| "No such file or directory".to_owned())
    }

    fn host(&mut self) -> Option<oci::Host> {
        common::root_host()
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let texts: Vec<&str> = text.split('\0').collect();
    let mut files = Chosen { texts: texts.iter(), reads: 0 };
    let parsed = file::parse_file(sandbox_policy::Origin::Variable("SECCOMP_POLICY_FILE"), "/etc/sandbox/app.policy", &mut files);
    // Each read is the main file or one level of include.
    assert!(files.reads <= texts.len() + 1);
    match parsed {
        Ok(lists) if !lists.is_empty() => common::check(&Policy::new(lists), data),
        Ok(_) => {}
        Err(error) => assert!(!error.kind.to_string().contains('\n'), "an error is one line: {error}"),
    }
    match file::parse_attached(texts[0]) {
        Ok(lists) if !lists.is_empty() => common::check(&Policy::new(lists), data),
        Ok(_) => {}
        // The message quotes the offending token escaped; only a file's own
        // path (the operator's choice) is shown as it is.
        Err(error) => assert!(!error.kind.to_string().contains('\n'), "an error is one line: {error}"),
    }
});
