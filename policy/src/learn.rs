//! Learn mode's pieces shared by sandboxify and libsandbox.so.
//!
//! `sandboxify --learn` observes a program through a filter that sends every
//! call to a listener ([`observer`]). For `--preload` the learned list must
//! start where libsandbox.so would install its filter: sandboxify sets
//! [`crate::variables::LEARN`], and the library, at its apply point, makes
//! the [`APPLY_POINT_MARKER`] call instead of installing anything. Calls of
//! that process before the marker are the loader's and libc's, not the
//! program's.

use crate::abi::Abi;
use crate::action::Action;
use crate::bpf::{Emitter, offset, op};
use crate::filter::Program;

/// A system-call number no kernel uses (x86_64 stops below 0x200, i386
/// below 0x200 too, x32 starts at 0x40000000): the library's "apply point
/// reached" signal to the learning supervisor, which answers it ENOSYS, as
/// the kernel would without a filter.
pub const APPLY_POINT_MARKER: u32 = 0x5ec0;

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
    use crate::bpf::{SeccompData, run};

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
