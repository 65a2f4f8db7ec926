//! Feeds arbitrary bytes to every pure entry point of the patcher. The
//! library does no I/O (it maps bytes to bytes or to an error), so no input
//! can make it write a file; this target checks that none makes it panic or
//! hang, and that whatever it accepts it can read back: added names, and a
//! recorded policy (`--policy`, `--remove-policy`, `--print-policy`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use patchelf_helper::{
    Change, Edits, PatchError, PolicyEdit, add_needed, attached_policy, edit, edit_needed, needed, remove_needed,
};

/// A valid policy, and one long enough that it cannot fit where a short one might.
const POLICY: &str = "deny uname=ENETDOWN\ndeny ptrace=EPERM";
const LONG_POLICY: &str = "allow read write exit_group newfstatat brk mmap munmap mprotect rt_sigaction \
    rt_sigprocmask futex clone clone3 set_robust_list rseq prlimit64 getrandom openat close\ndeny uname=ENETDOWN";

fn no_edits() -> Edits<'static> {
    Edits { remove_needed: &[], add_needed: &[], policy: PolicyEdit::Keep }
}

fuzz_target!(|data: &[u8]| {
    let listed = needed(data);
    let recorded = attached_policy(data);
    let _ = remove_needed(data, &["libc.so.6"]);
    let _ = edit_needed(data, &["libm.so.6"], &["libsandbox.so", "libc.so.6"]);
    // The --check path is add_needed with the plan kept and the bytes dropped.
    if let Ok(Change::Patched { bytes, plan }) = add_needed(data, &["libsandbox.so"]) {
        let _ = plan.to_string();
        let after = needed(&bytes).expect("a patched file parses");
        assert_eq!(after[0], "libsandbox.so");
        assert_eq!(&after[1..], &listed.as_ref().expect("an accepted file parsed before")[..]);
        assert_eq!(add_needed(&bytes, &["libsandbox.so"]), Ok(Change::Unchanged), "not idempotent");
        assert_eq!(attached_policy(&bytes).ok(), recorded.clone().ok(), "adding a name changed the policy");
    }
    // An invalid policy is refused before anything else is looked at.
    let invalid = Edits { policy: PolicyEdit::Set("deny unmae"), ..no_edits() };
    match edit(data, &invalid) {
        Err(PatchError::Policy(_)) => {}
        Err(_) => assert!(listed.is_err(), "a file that parses was refused for something else"),
        Ok(_) => panic!("an invalid policy was recorded"),
    }
    for text in [POLICY, LONG_POLICY] {
        let set = Edits { add_needed: &["libsandbox.so"], policy: PolicyEdit::Set(text), ..no_edits() };
        let bytes = match edit(data, &set) {
            Ok(Change::Patched { bytes, .. }) => bytes,
            Ok(Change::Unchanged) => data.to_vec(),
            Err(_) => continue,
        };
        assert_eq!(attached_policy(&bytes), Ok(Some(text.to_owned())), "the recorded policy reads back");
        let after = needed(&bytes).expect("a patched file parses");
        assert_eq!(after[0], "libsandbox.so");
        // Removing it leaves no policy, and the names in place.
        let removed = match edit(&bytes, &Edits { policy: PolicyEdit::Remove, ..no_edits() }) {
            Ok(Change::Patched { bytes, .. }) => bytes,
            Ok(Change::Unchanged) => panic!("removing a recorded policy changed nothing"),
            Err(error) => panic!("a file with a recorded policy cannot have it removed: {error}"),
        };
        assert_eq!(attached_policy(&removed), Ok(None));
        assert_eq!(needed(&removed).expect("still parses"), after);
    }
    let _ = edit(data, &Edits { policy: PolicyEdit::Remove, ..no_edits() });
});
