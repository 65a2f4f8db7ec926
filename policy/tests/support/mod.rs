//! What the libseccomp tests share.

use std::io::Read;

use libseccomp::ScmpFilterContext;
use sandbox_policy::compile::bpf::Insn;

/// The program libseccomp generates for `filter`.
pub fn libseccomp_program(filter: &ScmpFilterContext) -> Vec<Insn> {
    let (mut reader, writer) = std::io::pipe().unwrap();
    filter.export_bpf(&writer).unwrap();
    drop(writer);
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).unwrap();
    Insn::from_raw(&bytes)
}
