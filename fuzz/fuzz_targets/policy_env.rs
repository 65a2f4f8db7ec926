//! The environment interface: arbitrary values for the sandbox's variables
//! (and arbitrary names, as a typo would give), with `SECCOMP_POLICY_FILE`
//! read from memory. No input may panic or hang; every policy that parses
//! must compile to a filter that runs (see `common`).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use sandbox_policy::text::file::Files;
use sandbox_policy::text::variables::{self, Name, Variables};
use sandbox_policy::{Policy, PolicyError};

/// Files whose contents the fuzzer chose, handed out in the order read.
struct Chosen<'a>(std::slice::Iter<'a, &'a str>);

impl Files for Chosen<'_> {
    fn read(&mut self, _path: &str) -> Result<String, String> {
        self.0.next().map(|text| (*text).to_owned()).ok_or_else(|| "No such file or directory".to_owned())
    }

    fn host(&mut self) -> Option<sandbox_policy::text::oci::Host> {
        common::root_host()
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks which variables are set; NUL-separated fields
    // give their values in order, then the contents of files.
    let Some((&mask, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let mut fields = text.split('\0');
    let mut vars = Variables::default();
    for (bit, name) in variables::ALL.iter().enumerate() {
        if mask & (1 << bit) != 0 {
            let value = fields.next().unwrap_or_default();
            vars.add(name.as_bytes(), value.as_bytes()).expect("each known name once, in UTF-8");
        }
    }
    // A name the library would classify: typos must be caught, not ignored.
    if mask & 0x40 != 0 {
        let name = fields.next().unwrap_or_default();
        match variables::classify(name.as_bytes()) {
            Name::Unknown => {
                let _ = variables::closest(name);
            }
            Name::Known(known) => assert_eq!(known, name),
            Name::Unrelated => assert!(!name.starts_with("SECCOMP_")),
        }
    }
    let files: Vec<&str> = fields.collect();
    let _ = vars.verbose();
    let result: Result<_, PolicyError> = vars.lists(&mut Chosen(files.iter()));
    match result {
        Ok(Some(lists)) => common::check(&Policy::new(lists), rest),
        Ok(None) => assert!(vars.policy_file.is_some() || !vars.asks_for_policy()),
        // The message quotes the offending token escaped; only a file's own
        // path (the operator's choice) is shown as it is.
        Err(error) => assert!(!error.kind.to_string().contains('\n'), "an error is one line: {error}"),
    }
});
