//! Feeds arbitrary bytes to every pure entry point of the patcher. The
//! library does no I/O (it maps bytes to bytes or to an error), so no input
//! can make it write a file; this target checks that none makes it panic or
//! hang, and that whatever it accepts it can read back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use patchelf_helper::{Change, add_needed, edit_needed, needed, remove_needed};

fuzz_target!(|data: &[u8]| {
    let listed = needed(data);
    let _ = remove_needed(data, &["libc.so.6"]);
    let _ = edit_needed(data, &["libm.so.6"], &["libsandbox.so", "libc.so.6"]);
    // The --check path is add_needed with the plan kept and the bytes dropped.
    if let Ok(Change::Patched { bytes, plan }) = add_needed(data, &["libsandbox.so"]) {
        let _ = plan.to_string();
        let after = needed(&bytes).expect("a patched file parses");
        assert_eq!(after[0], "libsandbox.so");
        assert_eq!(&after[1..], &listed.expect("an accepted file parsed before")[..]);
        assert_eq!(add_needed(&bytes, &["libsandbox.so"]), Ok(Change::Unchanged), "not idempotent");
    }
});
