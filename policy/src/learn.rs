//! Learn mode's pieces shared by sandboxify and libsandbox.so.
//!
//! `sandboxify --learn` observes a program through a filter that sends every
//! call to a listener ([`observer`]). For `--preload` the learned list must
//! fit where libsandbox.so installs a policy: sandboxify sets
//! [`crate::variables::LEARN`], and the library makes the
//! [`EARLY_POINT_MARKER`] call while ld.so relocates it (where it installs a
//! policy that allows every start-up call) and the [`APPLY_POINT_MARKER`]
//! call in its constructor (where it installs any other), instead of
//! installing anything. Calls of that process before the first marker are
//! the loader's; between the two, the start-up calls in the forms
//! `--preload`'s guard lets through ([`start_up_form`]) are too; everything
//! else is the program's, and in the list.

use alloc::vec::Vec;

use crate::abi::Abi;
use crate::action::Action;
use crate::bpf::{Emitter, offset, op};
use crate::filter::{Program, compile_with};
use crate::policy::{Lists, Policy};
use crate::start_up;

/// A system-call number no kernel uses (x86_64 stops below 0x200, i386
/// below 0x200 too, x32 starts at 0x40000000): the library's "apply point
/// reached" signal to the learning supervisor, which answers it ENOSYS, as
/// the kernel would without a filter.
pub const APPLY_POINT_MARKER: u32 = 0x5ec0;

/// The same for the library's early point, while ld.so relocates it (see
/// [`crate::start_up`]).
pub const EARLY_POINT_MARKER: u32 = 0x5ec1;

/// A filter that allows exactly the start-up calls in the forms the guard
/// lets through (whatever the policy), and kills everything else: what a
/// call made under the guard need not be learned for.
pub fn start_up_form() -> Program {
    let nothing = Policy::new(Lists { allow: Some(Vec::new()), deny: Vec::new(), default_action: None, exact: true });
    compile_with(&nothing, &start_up::guard_rules(&nothing))
}

/// The filter of learn mode: every call of both ABIs goes to the listener;
/// any other ABI is killed, as under every policy.
pub fn observer() -> Program {
    let mut emitter = Emitter::default();
    let kill = emitter.ret(Action::Kill.ret());
    let notify = emitter.ret(Action::Notify.ret());
    let mut otherwise = kill;
    for abi in Abi::ALL.into_iter().rev() {
        otherwise = emitter.jump(op::JEQ, abi.audit_arch(), notify, otherwise);
    }
    emitter.stmt(op::LD | op::W | op::ABS, offset::ARCH, otherwise);
    Program::from_insns(emitter.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Syscall;
    use crate::bpf::{SeccompData, run};

    #[test]
    fn start_up_form_allows_start_up_calls_as_start_up_makes_them() {
        let program = start_up_form();
        let decide = |name: &str, args: [u64; 6]| {
            let nr = Syscall::by_name(name).unwrap().number(Abi::X86_64).unwrap();
            let data = SeccompData { nr, arch: Abi::X86_64.audit_arch(), args, ..SeccompData::default() };
            Action::from_ret(run(program.insns(), &data).unwrap().ret).unwrap()
        };
        assert_eq!(decide("mmap", [0; 6]), Action::Allow);
        assert_eq!(decide("openat", [0, 0, 0, 0, 0, 0]), Action::Allow);
        assert_eq!(decide("openat", [0, 0, libc::O_CREAT as u64, 0, 0, 0]), Action::Kill);
        assert_eq!(decide("write", [2, 0, 0, 0, 0, 0]), Action::Allow);
        assert_eq!(decide("write", [1, 0, 0, 0, 0, 0]), Action::Kill);
        assert_eq!(decide("statfs", [0; 6]), Action::Kill);
    }

    #[test]
    fn the_observer_sends_both_abis_and_kills_the_rest() {
        let program = observer();
        for (arch, expected) in
            [(Abi::X86_64.audit_arch(), Action::Notify), (Abi::I386.audit_arch(), Action::Notify), (0, Action::Kill)]
        {
            for nr in [0, 59, 0x4000_0000, APPLY_POINT_MARKER] {
                let data = SeccompData { nr, arch, ..SeccompData::default() };
                assert_eq!(Action::from_ret(run(program.insns(), &data).unwrap().ret), Some(expected));
            }
        }
    }
}
