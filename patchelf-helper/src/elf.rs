//! Parsing: the headers, segments, sections and dynamic entries that adding a
//! dynamic entry touches, validated well enough that the layout code can do
//! plain arithmetic on them.
//!
//! goblin reads the structures (any class, any byte order); the dynamic
//! entries are read slot by slot here because goblin stops at the first
//! DT_NULL and we need to count the spare slots after it.

use std::ops::Range;

use goblin::container::{Container, Ctx};
use goblin::elf::dynamic::{
    DF_1_PIE, DT_FLAGS_1, DT_NEEDED, DT_NULL, DT_RPATH, DT_RUNPATH, DT_SONAME, DT_STRSZ, DT_STRTAB, Dyn,
};
use goblin::elf::header::{ET_DYN, ET_EXEC, Header};
use goblin::elf::program_header::{PT_DYNAMIC, PT_INTERP, PT_LOAD, ProgramHeader};
use goblin::elf::section_header::{SHF_ALLOC, SHT_DYNAMIC, SHT_NOBITS, SHT_STRTAB, SectionHeader};
use scroll::Pread;
use scroll::ctx::SizeWith;

use sandbox_policy::text::attached::DT_SANDBOX_POLICY;

use crate::error::{PatchError, Result};

/// `e_phnum` value meaning "the real count is elsewhere"; never produced by
/// the linkers we support.
const PN_XNUM: u16 = 0xffff;

/// DT_AUXILIARY and DT_FILTER, which goblin does not name.
const DT_AUXILIARY: u64 = 0x7fff_fffd;
const DT_FILTER: u64 = 0x7fff_ffff;

/// Dynamic tags whose value is an offset into .dynstr, the recorded policy
/// included.
const NAME_TAGS: [u64; 7] = [DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH, DT_AUXILIARY, DT_FILTER, DT_SANDBOX_POLICY];

/// A parsed, validated ELF file that has a dynamic section.
#[derive(Debug, Clone)]
pub(crate) struct ElfFile<'a> {
    /// The whole file.
    pub data: &'a [u8],
    /// The ELF header.
    pub header: Header,
    /// Class and byte order, for reading and writing structures.
    pub ctx: Ctx,
    /// The program header table, in file order.
    pub phdrs: Vec<ProgramHeader>,
    /// The section header table (empty when the file has none).
    pub shdrs: Vec<SectionHeader>,
    /// Index of PT_DYNAMIC in `phdrs`.
    pub dynamic_phdr: usize,
    /// The dynamic entries before the first DT_NULL.
    pub entries: Vec<Dyn>,
    /// How many entries (terminator included) fit where .dynamic is now:
    /// the used ones, the terminator and the all-zero slots after it.
    pub dynamic_capacity: usize,
    /// The file range of the dynamic string table (DT_STRTAB, DT_STRSZ).
    pub dynstr: Range<usize>,
}

impl<'a> ElfFile<'a> {
    /// Parses and validates `data`, refusing files that cannot load libraries.
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        if data.len() < 4 || &data[..4] != b"\x7fELF" {
            return Err(PatchError::NotElf);
        }
        let header = goblin::elf::Elf::parse_header(data)?;
        let ctx = Ctx::new(header.container()?, header.endianness()?);
        if header.e_type != ET_EXEC && header.e_type != ET_DYN {
            return Err(PatchError::UnsupportedType(header.e_type));
        }
        let phdrs = parse_program_headers(data, &header, ctx)?;
        let shdrs = parse_section_headers(data, &header, ctx)?;
        check_loads(&phdrs, data.len(), ctx)?;

        let mut dynamic_phdrs = phdrs.iter().enumerate().filter(|(_, p)| p.p_type == PT_DYNAMIC);
        let (dynamic_phdr, _) = dynamic_phdrs.next().ok_or(PatchError::Static)?;
        if dynamic_phdrs.next().is_some() {
            return Err(malformed("more than one PT_DYNAMIC"));
        }
        let (entries, dynamic_capacity) = read_dynamic(data, &phdrs[dynamic_phdr], ctx)?;

        let file = ElfFile { data, header, ctx, phdrs, shdrs, dynamic_phdr, entries, dynamic_capacity, dynstr: 0..0 };
        file.check_dynamic_mapped()?;
        file.refuse_static()?;
        let file = ElfFile { dynstr: file.locate_dynstr()?, ..file };
        file.check_names()?;
        Ok(file)
    }

    /// Whether the file is 64-bit.
    pub fn is_64(&self) -> bool {
        self.ctx.container == Container::Big
    }

    /// Size of one dynamic entry.
    pub fn dyn_size(&self) -> usize {
        Dyn::size_with(&self.ctx)
    }

    /// Size of one program header.
    pub fn phdr_size(&self) -> usize {
        ProgramHeader::size_with(&self.ctx)
    }

    /// Size of one section header.
    pub fn shdr_size(&self) -> usize {
        SectionHeader::size_with(&self.ctx)
    }

    /// The first value of dynamic entry `tag`.
    pub fn entry(&self, tag: u64) -> Option<u64> {
        self.entries.iter().find(|d| d.d_tag == tag).map(|d| d.d_val)
    }

    /// The NUL-terminated string at `offset` in .dynstr.
    pub fn dynstr_at(&self, offset: u64) -> Option<&'a [u8]> {
        string_at(&self.data[self.dynstr.clone()], offset)
    }

    /// The strings of the name entries (DT_NEEDED, DT_SONAME, ..., the
    /// recorded policy) of `entries`, in order, as this file's .dynstr
    /// holds them.
    pub fn names(&self, entries: &[Dyn]) -> Vec<Option<&'a [u8]>> {
        names_in(entries, |offset| self.dynstr_at(offset))
    }

    /// The file offset of `len` bytes at virtual address `addr`, if one
    /// PT_LOAD maps all of them from the file.
    pub fn file_offset(&self, addr: u64, len: u64) -> Option<u64> {
        self.loads().find_map(|p| {
            let end = addr.checked_add(len)?;
            (addr >= p.p_vaddr && end <= p.p_vaddr + p.p_filesz).then(|| p.p_offset + (addr - p.p_vaddr))
        })
    }

    /// The PT_LOAD segments.
    pub fn loads(&self) -> impl Iterator<Item = &ProgramHeader> {
        self.phdrs.iter().filter(|p| p.p_type == PT_LOAD)
    }

    /// The index of the allocated section that starts at `addr` with type
    /// `sh_type`, if the file has section headers describing it.
    pub fn section_at(&self, sh_type: u32, addr: u64) -> Option<usize> {
        self.shdrs
            .iter()
            .position(|s| s.sh_type == sh_type && s.sh_flags & u64::from(SHF_ALLOC) != 0 && s.sh_addr == addr)
    }

    /// The .dynamic section header's index.
    pub fn dynamic_section(&self) -> Option<usize> {
        self.section_at(SHT_DYNAMIC, self.phdrs[self.dynamic_phdr].p_vaddr)
    }

    /// The .dynstr section header's index.
    pub fn dynstr_section(&self) -> Option<usize> {
        self.section_at(SHT_STRTAB, self.entry(DT_STRTAB)?)
    }

    /// The file range of the section header table (empty when absent).
    pub fn section_table(&self) -> Range<usize> {
        let start = self.header.e_shoff as usize;
        start..start + self.shdrs.len() * self.shdr_size()
    }

    /// The file range of the program header table.
    pub fn program_table(&self) -> Range<usize> {
        let start = self.header.e_phoff as usize;
        start..start + self.phdrs.len() * self.phdr_size()
    }

    /// The name of section `index` for messages, or a placeholder.
    pub fn section_name(&self, index: usize) -> String {
        let name = self.shdrs.get(usize::from(self.header.e_shstrndx)).and_then(|table| {
            let start = usize::try_from(table.sh_offset.checked_add(self.shdrs[index].sh_name as u64)?).ok()?;
            let end = usize::try_from(table.sh_offset.checked_add(table.sh_size)?).ok()?;
            let bytes = self.data.get(start..end.min(self.data.len()))?;
            let len = bytes.iter().position(|&b| b == 0)?;
            std::str::from_utf8(&bytes[..len]).ok().filter(|s| !s.is_empty()).map(str::to_string)
        });
        name.unwrap_or_else(|| format!("section {index}"))
    }

    /// PT_DYNAMIC must be mapped from the file where it says it is, or the
    /// loader and this tool would disagree about its contents.
    fn check_dynamic_mapped(&self) -> Result<()> {
        let dynamic = &self.phdrs[self.dynamic_phdr];
        match self.file_offset(dynamic.p_vaddr, dynamic.p_filesz) {
            Some(offset) if offset == dynamic.p_offset => Ok(()),
            _ => Err(PatchError::Unsafe("PT_DYNAMIC is not mapped by a PT_LOAD at its file offset".into())),
        }
    }

    /// Refuses files whose libraries nobody would load.
    fn refuse_static(&self) -> Result<()> {
        if self.phdrs.iter().any(|p| p.p_type == PT_INTERP) {
            return Ok(());
        }
        if self.header.e_type == ET_EXEC {
            return Err(PatchError::NoInterpreter);
        }
        let pie_flag = self.entry(DT_FLAGS_1).is_some_and(|flags| flags & DF_1_PIE != 0);
        let bare = self.entry(DT_NEEDED).is_none() && self.entry(DT_SONAME).is_none();
        if pie_flag || bare { Err(PatchError::StaticPie) } else { Ok(()) }
    }

    /// Every name entry must be a terminated string inside .dynstr: one that
    /// pointed past its end would silently change meaning when strings are
    /// appended.
    fn check_names(&self) -> Result<()> {
        let mut names = self.entries.iter().filter(|e| NAME_TAGS.contains(&e.d_tag));
        if names.all(|e| self.dynstr_at(e.d_val).is_some()) {
            Ok(())
        } else {
            Err(malformed("a name in .dynamic points outside .dynstr"))
        }
    }

    /// Finds the string table through DT_STRTAB/DT_STRSZ, as the loader does.
    fn locate_dynstr(&self) -> Result<Range<usize>> {
        let addr = self.entry(DT_STRTAB).ok_or_else(|| malformed("no DT_STRTAB"))?;
        let size = self.entry(DT_STRSZ).ok_or_else(|| malformed("no DT_STRSZ"))?;
        let offset = self.file_offset(addr, size).ok_or_else(|| malformed("DT_STRTAB is not mapped from the file"))?;
        Ok(offset as usize..(offset + size) as usize)
    }
}

/// The NUL-terminated string at `offset` in the string table `table`.
pub(crate) fn string_at(table: &[u8], offset: u64) -> Option<&[u8]> {
    let rest = table.get(usize::try_from(offset).ok()?..)?;
    let end = rest.iter().position(|&b| b == 0)?;
    Some(&rest[..end])
}

/// The strings `string` finds for the name entries of `entries`, in order.
pub(crate) fn names_in<'t>(entries: &[Dyn], string: impl Fn(u64) -> Option<&'t [u8]>) -> Vec<Option<&'t [u8]>> {
    entries.iter().filter(|entry| NAME_TAGS.contains(&entry.d_tag)).map(|entry| string(entry.d_val)).collect()
}

fn malformed(what: &str) -> PatchError {
    PatchError::Malformed(what.to_string())
}

fn parse_program_headers(data: &[u8], header: &Header, ctx: Ctx) -> Result<Vec<ProgramHeader>> {
    if header.e_phnum == PN_XNUM {
        return Err(PatchError::Unsafe("extended program header numbering (PN_XNUM) is not supported".into()));
    }
    if usize::from(header.e_phentsize) != ProgramHeader::size_with(&ctx) {
        return Err(malformed("unexpected program header size"));
    }
    let count = usize::from(header.e_phnum);
    table_range(data, header.e_phoff, count, ProgramHeader::size_with(&ctx), "program header table")?;
    Ok(ProgramHeader::parse(data, header.e_phoff as usize, count, ctx)?)
}

fn parse_section_headers(data: &[u8], header: &Header, ctx: Ctx) -> Result<Vec<SectionHeader>> {
    if header.e_shoff == 0 {
        return Ok(Vec::new());
    }
    let size = SectionHeader::size_with(&ctx);
    if usize::from(header.e_shentsize) != size {
        return Err(malformed("unexpected section header size"));
    }
    table_range(data, header.e_shoff, 1, size, "section header table")?;
    let offset = header.e_shoff as usize;
    let count = match header.e_shnum {
        // Zero means the count did not fit and is in the first header.
        0 => data.pread_with::<SectionHeader>(offset, ctx)?.sh_size,
        count => u64::from(count),
    };
    let count = usize::try_from(count).map_err(|_| malformed("section header count"))?;
    table_range(data, header.e_shoff, count, size, "section header table")?;
    let shdrs = SectionHeader::parse(data, offset, count.max(1), ctx)?;
    for shdr in &shdrs {
        let end = shdr.sh_offset.checked_add(shdr.sh_size);
        if shdr.sh_type != SHT_NOBITS && end.is_none_or(|end| end > data.len() as u64) {
            return Err(malformed("a section extends past the end of the file"));
        }
        if shdr.sh_addr.checked_add(shdr.sh_size).is_none() {
            return Err(malformed("a section's address range overflows"));
        }
    }
    Ok(shdrs)
}

/// Checks that `count` entries of `size` bytes at `offset` lie in the file.
fn table_range(data: &[u8], offset: u64, count: usize, size: usize, what: &str) -> Result<()> {
    let end = (count as u64).checked_mul(size as u64).and_then(|len| len.checked_add(offset));
    match end {
        Some(end) if end <= data.len() as u64 => Ok(()),
        _ => Err(PatchError::Malformed(format!("{what} extends past the end of the file"))),
    }
}

/// Checks the invariants the layout code relies on and must keep: every
/// segment inside the file, loadable segments sorted and disjoint, sane
/// alignments.
fn check_loads(phdrs: &[ProgramHeader], file_len: usize, ctx: Ctx) -> Result<()> {
    let address_limit = if ctx.container == Container::Big { u64::MAX } else { u64::from(u32::MAX) };
    for phdr in phdrs {
        let file_end = phdr.p_offset.checked_add(phdr.p_filesz);
        let memory_end = phdr.p_vaddr.checked_add(phdr.p_memsz);
        if file_end.is_none_or(|end| end > file_len as u64) {
            return Err(malformed("a segment extends past the end of the file"));
        }
        if memory_end.is_none_or(|end| end > address_limit) {
            return Err(malformed("a segment's address range overflows"));
        }
    }
    let mut previous_end = 0;
    for load in phdrs.iter().filter(|p| p.p_type == PT_LOAD) {
        if load.p_filesz > load.p_memsz {
            return Err(malformed("a PT_LOAD has more file bytes than memory bytes"));
        }
        if load.p_align > 1
            && (!load.p_align.is_power_of_two() || load.p_vaddr.wrapping_sub(load.p_offset) % load.p_align != 0)
        {
            return Err(malformed("a PT_LOAD is misaligned"));
        }
        if load.p_vaddr < previous_end {
            return Err(PatchError::Unsafe("loadable segments are not sorted or overlap".into()));
        }
        previous_end = load.p_vaddr + load.p_memsz;
    }
    Ok(())
}

/// Reads the dynamic entries up to the first DT_NULL and counts how many
/// slots the section offers in place.
fn read_dynamic(data: &[u8], dynamic: &ProgramHeader, ctx: Ctx) -> Result<(Vec<Dyn>, usize)> {
    let size = Dyn::size_with(&ctx);
    let slots = (dynamic.p_filesz as usize) / size;
    let start = dynamic.p_offset as usize;
    let read = |slot: usize| data.pread_with::<Dyn>(start + slot * size, ctx);
    let mut entries = Vec::new();
    for slot in 0..slots {
        let entry = read(slot)?;
        if entry.d_tag == DT_NULL {
            // The terminator, then every all-zero slot after it, can be reused.
            let spare = (slot + 1..slots)
                .take_while(|&s| data[start + s * size..start + (s + 1) * size].iter().all(|&b| b == 0));
            return Ok((entries, slot + 1 + spare.count()));
        }
        entries.push(entry);
    }
    Err(PatchError::NoTerminator)
}
