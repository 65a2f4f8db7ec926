//! Tests of the pure library on synthetic files of every class and byte
//! order, and on a real binary (this test executable).

use goblin::container::{Container, Ctx, Endian};
use goblin::elf::dynamic::{DT_NEEDED, DT_NULL, DT_STRSZ, DT_STRTAB, Dyn};
use goblin::elf::header::{
    EI_CLASS, EI_DATA, ELFCLASS32, ELFCLASS64, ELFDATA2LSB, ELFDATA2MSB, ELFMAG, ET_DYN, Header,
};
use goblin::elf::program_header::{PF_R, PF_W, PT_DYNAMIC, PT_INTERP, PT_LOAD, PT_PHDR, ProgramHeader};
use patchelf_helper::{
    Change, DynamicEditor, Entry, PatchError, Placement, Value, add_needed, attached_policy, needed, remove_needed,
};
use proptest::prelude::*;
use sandbox_policy::text::attached::DT_SANDBOX_POLICY;
use scroll::Pwrite;
use scroll::ctx::SizeWith;

const BASE: u64 = 0x10000;
const INTERP: &[u8] = b"/lib/ld-test.so.1\0";
const STRINGS: &[u8] = b"\0libc.so.6\0libfoo.so\0";

/// A minimal dynamic executable laid out like a GNU ld output: headers,
/// .interp and .dynstr in a read-only segment with page padding after it,
/// .dynamic with `spare` extra DT_NULL slots in a writable one.
fn synthetic(container: Container, endian: Endian, spare: usize) -> Vec<u8> {
    let ctx = Ctx::new(container, endian);
    let (ehsize, phsize) = (Header::size(ctx), ProgramHeader::size_with(&ctx));
    let dyn_size = Dyn::size_with(&ctx);
    let phnum = 5;
    let interp = (ehsize + phnum * phsize) as u64;
    // Room for one more program header between .interp and .dynstr.
    let dynstr = interp + INTERP.len() as u64 + 64;
    let ro_end = dynstr + STRINGS.len() as u64;
    let entries = [(DT_NEEDED, 1), (DT_STRTAB, BASE + dynstr), (DT_STRSZ, STRINGS.len() as u64)];
    let dynamic_off = 0x1000u64;
    let dynamic_size = ((entries.len() + 1 + spare) * dyn_size) as u64;
    let mut data = vec![0u8; (dynamic_off + dynamic_size) as usize];

    let mut header = Header::new(ctx);
    header.e_ident[..4].copy_from_slice(ELFMAG);
    header.e_ident[EI_CLASS] = if container == Container::Big { ELFCLASS64 } else { ELFCLASS32 };
    header.e_ident[EI_DATA] = if endian == Endian::Little { ELFDATA2LSB } else { ELFDATA2MSB };
    header.e_type = ET_DYN;
    header.e_machine = 62;
    header.e_phoff = ehsize as u64;
    header.e_phnum = phnum as u16;
    header.e_shoff = 0;
    header.e_shnum = 0;
    data.pwrite_with(header, 0, endian).unwrap();

    let segment = |p_type, p_flags, offset: u64, size: u64, align| ProgramHeader {
        p_type,
        p_flags,
        p_offset: offset,
        p_vaddr: BASE + offset,
        p_paddr: BASE + offset,
        p_filesz: size,
        p_memsz: size,
        p_align: align,
    };
    let phdrs = [
        segment(PT_PHDR, PF_R, ehsize as u64, (phnum * phsize) as u64, 8),
        segment(PT_INTERP, PF_R, interp, INTERP.len() as u64, 1),
        segment(PT_LOAD, PF_R, 0, ro_end, 0x1000),
        // With .bss, like real data segments: it cannot simply grow.
        ProgramHeader {
            p_memsz: dynamic_size + 0x100,
            ..segment(PT_LOAD, PF_R | PF_W, dynamic_off, dynamic_size, 0x1000)
        },
        segment(PT_DYNAMIC, PF_R | PF_W, dynamic_off, dynamic_size, 8),
    ];
    for (index, phdr) in phdrs.into_iter().enumerate() {
        data.pwrite_with(phdr, ehsize + index * phsize, ctx).unwrap();
    }
    data[interp as usize..interp as usize + INTERP.len()].copy_from_slice(INTERP);
    data[dynstr as usize..ro_end as usize].copy_from_slice(STRINGS);
    for (index, (tag, value)) in entries.into_iter().enumerate() {
        data.pwrite_with(Dyn { d_tag: tag, d_val: value }, dynamic_off as usize + index * dyn_size, ctx).unwrap();
    }
    data
}

fn all_kinds() -> Vec<(Container, Endian)> {
    let mut kinds = Vec::new();
    for container in [Container::Little, Container::Big] {
        for endian in [Endian::Little, Endian::Big] {
            kinds.push((container, endian));
        }
    }
    kinds
}

fn patched(change: Change) -> (Vec<u8>, patchelf_helper::Plan) {
    match change {
        Change::Patched { bytes, plan } => (bytes, plan),
        Change::Unchanged => panic!("expected a change"),
    }
}

/// What goblin's own full parser makes of the file's DT_NEEDED entries.
fn goblin_needed(data: &[u8]) -> Vec<String> {
    let elf = goblin::elf::Elf::parse(data).expect("goblin parses the result");
    elf.libraries.iter().map(|s| s.to_string()).collect()
}

#[test]
fn spare_slot_and_padding_in_every_class_and_byte_order() {
    for (container, endian) in all_kinds() {
        let data = synthetic(container, endian, 3);
        let (bytes, plan) = patched(add_needed(&data, &["libsandbox.so"]).unwrap());
        assert_eq!(
            plan.to_string(),
            "spare DT_NULL slot + string in page padding, no growth",
            "{container:?} {endian:?}"
        );
        assert_eq!(bytes.len(), data.len());
        assert_eq!(needed(&bytes).unwrap(), ["libsandbox.so", "libc.so.6"]);
        assert_eq!(goblin_needed(&bytes), ["libsandbox.so", "libc.so.6"]);
        assert_eq!(add_needed(&bytes, &["libsandbox.so"]), Ok(Change::Unchanged));
        let (removed, _) = patched(remove_needed(&bytes, &["libsandbox.so"]).unwrap());
        assert_eq!(needed(&removed).unwrap(), ["libc.so.6"]);
    }
}

#[test]
fn existing_string_is_reused() {
    let data = synthetic(Container::Big, Endian::Little, 1);
    let (bytes, plan) = patched(add_needed(&data, &["libfoo.so"]).unwrap());
    assert_eq!((plan.strings, plan.growth), (None, 0));
    assert_eq!(needed(&bytes).unwrap(), ["libfoo.so", "libc.so.6"]);
    // A tail of an existing string works too.
    let (bytes, _) = patched(add_needed(&data, &["oo.so"]).unwrap());
    assert_eq!(needed(&bytes).unwrap(), ["oo.so", "libc.so.6"]);
}

#[test]
fn no_spare_slot_means_a_new_segment_in_every_class_and_byte_order() {
    for (container, endian) in all_kinds() {
        let data = synthetic(container, endian, 0);
        let (bytes, plan) = patched(add_needed(&data, &["libsandbox.so"]).unwrap());
        assert_eq!(plan.dynamic, Some(Placement::NewSegment), "{container:?} {endian:?}");
        assert_eq!(plan.strings, Some(Placement::SegmentPadding));
        assert_eq!(plan.moved, [".interp"]);
        assert!(plan.growth > 0);
        assert_eq!(needed(&bytes).unwrap(), ["libsandbox.so", "libc.so.6"]);
        assert_eq!(goblin_needed(&bytes), ["libsandbox.so", "libc.so.6"]);
        let elf = goblin::elf::Elf::parse(&bytes).unwrap();
        assert_eq!(elf.interpreter, Some("/lib/ld-test.so.1"));
        assert_eq!(elf.program_headers.len(), 6);
        let dynamic = elf.program_headers.iter().find(|p| p.p_type == PT_DYNAMIC).unwrap();
        let last = elf.program_headers.iter().rfind(|p| p.p_type == PT_LOAD).unwrap();
        assert!(last.is_write() && last.p_vaddr <= dynamic.p_vaddr, "{last:?} {dynamic:?}");
        assert_eq!(last.p_vaddr.wrapping_sub(last.p_offset) % last.p_align, 0);
        // The relocated .dynamic has spare slots: the next addition fits in place.
        let (again, plan) = patched(add_needed(&bytes, &["libother.so"]).unwrap());
        assert_eq!(plan.dynamic, None);
        assert_eq!(needed(&again).unwrap(), ["libother.so", "libsandbox.so", "libc.so.6"]);
    }
}

#[test]
fn several_additions_keep_their_order() {
    let data = synthetic(Container::Big, Endian::Little, 4);
    let (bytes, _) = patched(add_needed(&data, &["liba.so", "libb.so"]).unwrap());
    assert_eq!(needed(&bytes).unwrap(), ["liba.so", "libb.so", "libc.so.6"]);
}

#[test]
fn general_string_entry_for_later_policies() {
    const DT_POLICY: u64 = 0x6000_0123;
    let data = synthetic(Container::Little, Endian::Big, 2);
    let mut editor = DynamicEditor::new(&data).unwrap();
    assert!(editor.set_string(DT_POLICY, b"read write exit").unwrap());
    let (bytes, _) = patched(editor.apply().unwrap());
    let editor = DynamicEditor::new(&bytes).unwrap();
    let entry = editor.entries().iter().find(|e| e.tag == DT_POLICY).unwrap();
    assert_eq!(editor.string(entry), Some(&b"read write exit"[..]));
    // Setting the same string again changes nothing.
    let mut same = DynamicEditor::new(&bytes).unwrap();
    assert!(!same.set_string(DT_POLICY, b"read write exit").unwrap());
    assert_eq!(same.apply(), Ok(Change::Unchanged));
    // Raw entries can be inserted anywhere before the terminator.
    let mut raw = DynamicEditor::new(&bytes).unwrap();
    raw.insert(0, Entry { tag: 0x6000_0124, value: Value::Number(7) }).unwrap();
    let (bytes, _) = patched(raw.apply().unwrap());
    assert_eq!(DynamicEditor::new(&bytes).unwrap().entries()[0], Entry { tag: 0x6000_0124, value: Value::Number(7) });
}

#[test]
fn refusals() {
    assert_eq!(needed(b"#!/bin/sh\n"), Err(PatchError::NotElf));
    assert!(matches!(needed(b"\x7fELF\x02\x01\x01"), Err(PatchError::Malformed(_))));
    let data = synthetic(Container::Big, Endian::Little, 1);
    assert!(matches!(needed(&data[..100]), Err(PatchError::Malformed(_))));
    assert_eq!(add_needed(&data, &["bad\0name"]), Err(PatchError::InvalidName("bad\0name".into())));
    assert_eq!(add_needed(&data, &[""]), Err(PatchError::InvalidName(String::new())));
    // Overwrite the terminator and the spare slot with DT_NEEDED entries.
    let mut unterminated = data.clone();
    for slot in 3..5 {
        unterminated
            .pwrite_with(
                Dyn { d_tag: DT_NEEDED, d_val: 1 },
                0x1000 + slot * 16,
                Ctx::new(Container::Big, Endian::Little),
            )
            .unwrap();
    }
    assert_eq!(needed(&unterminated), Err(PatchError::NoTerminator));
    let mut terminated = unterminated;
    terminated
        .pwrite_with(Dyn { d_tag: DT_NULL, d_val: 0 }, 0x1000 + 4 * 16, Ctx::new(Container::Big, Endian::Little))
        .unwrap();
    assert!(needed(&terminated).is_ok());
}

#[test]
fn this_test_binary() {
    let data = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    let before = needed(&data).unwrap();
    let (bytes, _) = patched(add_needed(&data, &["libsandbox.so"]).unwrap());
    let mut expected = vec!["libsandbox.so".to_string()];
    expected.extend(before.iter().cloned());
    assert_eq!(needed(&bytes).unwrap(), expected);
    assert_eq!(goblin_needed(&bytes), expected);
    assert_eq!(add_needed(&bytes, &["libsandbox.so"]), Ok(Change::Unchanged));
    let (removed, _) = patched(remove_needed(&bytes, &["libsandbox.so"]).unwrap());
    assert_eq!(needed(&removed).unwrap(), before);
}

/// One step of a random edit sequence.
#[derive(Debug, Clone)]
enum Step {
    Add(usize),
    Remove(usize),
}

const NAMES: [&str; 4] = ["liba.so", "libb.so.1", "libc.so.6", "libsandbox.so"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random add/remove sequences agree with a model list, whatever the
    /// class, byte order and number of spare slots.
    #[test]
    fn random_edits_match_a_model(
        kind in 0usize..4,
        spare in 0usize..3,
        steps in prop::collection::vec(prop_oneof![(0usize..4).prop_map(Step::Add), (0usize..4).prop_map(Step::Remove)], 1..12),
    ) {
        let (container, endian) = all_kinds()[kind];
        let mut data = synthetic(container, endian, spare);
        let mut model = vec!["libc.so.6".to_string()];
        for step in steps {
            let change = match step {
                Step::Add(i) => {
                    if !model.iter().any(|n| n == NAMES[i]) {
                        model.insert(0, NAMES[i].to_string());
                    }
                    add_needed(&data, &[NAMES[i]])
                }
                Step::Remove(i) => {
                    model.retain(|n| n != NAMES[i]);
                    remove_needed(&data, &[NAMES[i]])
                }
            };
            if let Change::Patched { bytes, .. } = change.unwrap() {
                data = bytes;
            }
            prop_assert_eq!(needed(&data).unwrap(), model.clone());
            prop_assert_eq!(goblin_needed(&data), model.clone());
        }
    }

    /// Corrupted files never panic; whatever is accepted reads back.
    #[test]
    fn corrupted_files_never_panic(
        spare in 0usize..3,
        flips in prop::collection::vec((0usize..0x1100, any::<u8>()), 1..8),
    ) {
        let mut data = synthetic(Container::Big, Endian::Little, spare);
        for (offset, byte) in flips {
            if offset < data.len() {
                data[offset] = byte;
            }
        }
        if let Ok(Change::Patched { bytes, .. }) = add_needed(&data, &["libsandbox.so"]) {
            prop_assert_eq!(&needed(&bytes).unwrap()[0], "libsandbox.so");
        }
    }
}

/// Found by fuzzing: a note or .interp segment whose memory size differs from
/// its file size cannot be moved (its end address could overflow).
#[test]
fn odd_segment_in_the_way_is_refused() {
    let ctx = Ctx::new(Container::Big, Endian::Little);
    let mut data = synthetic(Container::Big, Endian::Little, 0);
    let phsize = ProgramHeader::size_with(&ctx);
    let offset = Header::size(ctx) + phsize; // the PT_INTERP entry
    let mut interp: ProgramHeader = scroll::Pread::pread_with(&data[..], offset, ctx).unwrap();
    interp.p_memsz = 0x1000;
    data.pwrite_with(interp, offset, ctx).unwrap();
    assert!(matches!(add_needed(&data, &["libsandbox.so"]), Err(PatchError::Unsafe(_))));
}

/// Found by fuzzing, twice: a DT_NEEDED offset past the end of .dynstr
/// would start naming the appended string, and a recorded policy would
/// appear out of nowhere, so such files are refused.
/// A fuzzer's input (a /bin/true with "libsandbox.so" written over its
/// .interp, inside the range its DT_STRTAB and DT_STRSZ give the string
/// table): the name was reused there, then overwritten by the grown
/// program header table, and the patched file read back "" as its first
/// library. The read-back check now compares the names too, and refuses.
#[test]
fn a_reused_string_the_layout_overwrites_is_refused() {
    let data =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/regressions/string-table-under-the-headers.elf"))
            .unwrap();
    match add_needed(&data, &["libsandbox.so"]) {
        Err(PatchError::Unsafe(message)) => assert!(message.contains("did not read back"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn string_outside_dynstr_is_refused() {
    let ctx = Ctx::new(Container::Big, Endian::Little);
    for tag in [DT_NEEDED, DT_SANDBOX_POLICY] {
        let mut data = synthetic(Container::Big, Endian::Little, 2);
        data.pwrite_with(Dyn { d_tag: tag, d_val: STRINGS.len() as u64 }, 0x1000, ctx).unwrap();
        let refusal = Err(PatchError::Malformed("a name in .dynamic points outside .dynstr".into()));
        assert_eq!(add_needed(&data, &["libsandbox.so"]), refusal, "tag {tag:#x}");
        assert!(attached_policy(&data).is_err(), "tag {tag:#x}");
    }
}

/// The clap definition that packaging turns into a man page is consistent.
#[test]
fn command_line_definition() {
    let mut command = patchelf_helper::cli::command();
    command.clone().debug_assert();
    assert_eq!(command.get_name(), "patchelf-helper");
    assert!(command.render_long_help().to_string().contains("Exit status:"));
}
