//! Layout: where a rewritten .dynamic and a grown .dynstr go, and the bytes
//! of the patched file.
//!
//! Existing bytes stay where they are. In order of preference:
//! 1. entries are rewritten in place when .dynamic has enough DT_NULL slots;
//! 2. new data goes at the end of an existing PT_LOAD whose page padding (or
//!    the end of the file) has room, growing only that segment's sizes;
//! 3. otherwise one new PT_LOAD at the end of the file holds it. Its program
//!    header takes the slot right after the table, which keeps the table in
//!    place (moving it is what breaks `strip`); .interp and notes found there
//!    move into the new segment, and a section header table found there moves
//!    to the end of the file.
//!
//! Only DT_STRTAB, DT_STRSZ, PT_DYNAMIC, the sizes of an extended segment,
//! the segments and section headers of what moved, and `e_phnum`/`e_shoff`
//! are updated.

use std::fmt;
use std::ops::Range;

use goblin::elf::dynamic::{DT_STRSZ, DT_STRTAB, Dyn};
use goblin::elf::program_header::{
    PF_R, PF_W, PF_X, PT_GNU_PROPERTY, PT_INTERP, PT_LOAD, PT_NOTE, PT_PHDR, ProgramHeader,
};
use goblin::elf::section_header::SHT_NOBITS;
use scroll::Pwrite;

use crate::elf::{ElfFile, names_in, string_at};
use crate::error::{PatchError, Result};

/// Free DT_NULL slots a relocated .dynamic gets, so later additions fit in place.
const SPARE_SLOTS: usize = 4;

/// Where some new data was put.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// In the zero padding after an existing segment: the segment grows in
    /// memory, the file does not.
    SegmentPadding,
    /// At the end of the last segment, which ends the file: the file grows.
    SegmentEnd,
    /// In the new PT_LOAD at the end of the file.
    NewSegment,
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Placement::SegmentPadding => "page padding",
            Placement::SegmentEnd => "the last segment, extended",
            Placement::NewSegment => "a new PT_LOAD at end",
        })
    }
}

/// How a change is laid out: what `--check` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Whether the entries needed more slots than the existing .dynamic has
    /// free (`None`: rewritten in place).
    pub dynamic: Option<Placement>,
    /// Whether the entries used one more slot than before, in place.
    pub uses_spare_slot: bool,
    /// Where the grown string table went (`None`: existing strings reused).
    pub strings: Option<Placement>,
    /// What moved to make room for the new segment's program header.
    pub moved: Vec<&'static str>,
    /// How many bytes the file grows by.
    pub growth: u64,
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.dynamic, self.strings) {
            (Some(Placement::NewSegment), Some(Placement::NewSegment)) => {
                f.write_str("relocated .dynamic + string in a new PT_LOAD at end")?
            }
            (dynamic, strings) => {
                match dynamic {
                    None if self.uses_spare_slot => f.write_str("spare DT_NULL slot")?,
                    None => f.write_str(".dynamic rewritten in place")?,
                    Some(placement) => write!(f, ".dynamic relocated to {placement}")?,
                }
                match strings {
                    None => f.write_str(" + existing string")?,
                    Some(placement) => write!(f, " + string in {placement}")?,
                }
            }
        }
        if !self.moved.is_empty() {
            write!(f, " (moved {} to make room for its program header)", self.moved.join(" and "))?;
        }
        match self.growth {
            0 => f.write_str(", no growth"),
            growth => write!(f, ", +{growth} bytes"),
        }
    }
}

/// Lays out `entries` (with string offsets into `dynstr`) and, when strings
/// were added, the new string table `dynstr`; returns the patched file.
pub(crate) fn layout(file: &ElfFile, mut entries: Vec<Dyn>, dynstr: Option<Vec<u8>>) -> Result<(Vec<u8>, Plan)> {
    let mut builder = Builder::new(file);
    let relocate_dynamic = entries.len() + 1 > file.dynamic_capacity;
    let dynamic_slots = if relocate_dynamic { entries.len() + 1 + SPARE_SLOTS } else { file.dynamic_capacity };
    let dynamic_size = (dynamic_slots * file.dyn_size()) as u64;
    let word = if file.is_64() { 8 } else { 4 };

    let dynstr_size = dynstr.as_ref().map(|table| table.len() as u64);
    let mut dynstr_spot = dynstr_size.and_then(|size| builder.place_in_segment(size, 1, false));
    let mut dynamic_spot = if relocate_dynamic { builder.place_in_segment(dynamic_size, word, true) } else { None };
    let dynstr_missing = dynstr_size.filter(|_| dynstr_spot.is_none());
    let dynamic_missing = relocate_dynamic && dynamic_spot.is_none();
    if dynstr_missing.is_some() || dynamic_missing {
        let mut segment = builder.new_segment()?;
        if dynamic_missing {
            dynamic_spot = Some(segment.reserve(dynamic_size, word, true));
        }
        if let Some(size) = dynstr_missing {
            dynstr_spot = Some(segment.reserve(size, 1, false));
        }
        builder.add_segment(segment)?;
    }

    if let (Some(spot), Some(table)) = (dynstr_spot, &dynstr) {
        set_entry(&mut entries, DT_STRTAB, spot.vaddr);
        set_entry(&mut entries, DT_STRSZ, table.len() as u64);
        if let Some(index) = file.dynstr_section() {
            let section = &mut builder.shdrs[index];
            (section.sh_offset, section.sh_addr, section.sh_size) = (spot.offset, spot.vaddr, table.len() as u64);
        }
        builder.write(spot.offset, table);
    }
    let dynamic_offset = match dynamic_spot {
        Some(spot) => {
            if let Some(index) = file.dynamic_section() {
                let section = &mut builder.shdrs[index];
                (section.sh_offset, section.sh_addr, section.sh_size) = (spot.offset, spot.vaddr, dynamic_size);
            }
            let dynamic = &mut builder.phdrs[file.dynamic_phdr];
            (dynamic.p_offset, dynamic.p_vaddr, dynamic.p_paddr) = (spot.offset, spot.vaddr, spot.vaddr);
            (dynamic.p_filesz, dynamic.p_memsz) = (dynamic_size, dynamic_size);
            spot.offset
        }
        None => file.phdrs[file.dynamic_phdr].p_offset,
    };
    builder.write_dynamic(dynamic_offset, dynamic_slots, &entries)?;

    let plan = Plan {
        dynamic: dynamic_spot.map(|spot| spot.placement),
        uses_spare_slot: !relocate_dynamic && entries.len() > file.entries.len(),
        strings: dynstr_spot.map(|spot| spot.placement),
        moved: builder.moved.clone(),
        growth: builder.out.len() as u64 - file.data.len() as u64,
    };
    let bytes = builder.finish()?;
    // Whatever happens above, never hand out a file this tool cannot read
    // back with exactly the intended entries and names: in a malformed file
    // whose string table overlaps what the layout rewrites, a reused string
    // could be overwritten.
    let intended = match &dynstr {
        Some(table) => names_in(&entries, |offset| string_at(table, offset)),
        None => file.names(&entries),
    };
    match ElfFile::parse(&bytes) {
        Ok(patched) if patched.entries == entries && patched.names(&entries) == intended => Ok((bytes, plan)),
        Ok(_) => Err(PatchError::Unsafe("the patched file did not read back as intended".into())),
        Err(error) => Err(PatchError::Unsafe(format!("the patched file did not read back: {error}"))),
    }
}

fn set_entry(entries: &mut [Dyn], tag: u64, value: u64) {
    for entry in entries.iter_mut().filter(|e| e.d_tag == tag) {
        entry.d_val = value;
    }
}

/// `value` rounded up to a multiple of `align`; `None` on overflow.
fn align_up(value: u64, align: u64) -> Option<u64> {
    if align <= 1 { Some(value) } else { value.div_ceil(align).checked_mul(align) }
}

fn align_down(value: u64, align: u64) -> u64 {
    if align <= 1 { value } else { value / align * align }
}

fn overlaps(a: &Range<u64>, b: &Range<u64>) -> bool {
    a.start < b.end && b.start < a.end
}

/// A place for new data: where it is in the file and in memory.
#[derive(Debug, Clone, Copy)]
struct Spot {
    offset: u64,
    vaddr: u64,
    placement: Placement,
}

/// What owns a range of the original file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Header,
    ProgramTable,
    SectionTable,
    Segment(usize),
    Section(usize),
}

/// The new PT_LOAD being filled.
struct NewSegment {
    /// File offset where it starts.
    offset: u64,
    /// Bytes reserved so far.
    size: u64,
    /// Its address minus its file offset, modulo 2^64.
    bias: u64,
    /// Whether anything placed in it must be writable.
    writable: bool,
}

impl NewSegment {
    /// Reserves `size` bytes aligned to `align`.
    fn reserve(&mut self, size: u64, align: u64, writable: bool) -> Spot {
        // Offsets here are file sizes plus small amounts: no overflow.
        let offset = (self.offset + self.size).next_multiple_of(align);
        self.size = offset + size - self.offset;
        self.writable |= writable;
        Spot { offset, vaddr: offset.wrapping_add(self.bias), placement: Placement::NewSegment }
    }
}

/// The patched file under construction.
struct Builder<'f, 'a> {
    file: &'f ElfFile<'a>,
    out: Vec<u8>,
    phdrs: Vec<ProgramHeader>,
    shdrs: Vec<goblin::elf::SectionHeader>,
    shoff: u64,
    /// Everything that already uses file bytes, in the original file.
    owners: Vec<(Range<u64>, Owner)>,
    /// File ranges taken by earlier placements.
    taken: Vec<Range<u64>>,
    /// Largest PT_LOAD alignment: the page size new data must respect.
    page: u64,
    moved: Vec<&'static str>,
}

impl<'f, 'a> Builder<'f, 'a> {
    fn new(file: &'f ElfFile<'a>) -> Self {
        let mut owners = vec![(0..file.header.e_ehsize.max(1) as u64, Owner::Header)];
        let table = file.program_table();
        owners.push((table.start as u64..table.end as u64, Owner::ProgramTable));
        let sections = file.section_table();
        if !sections.is_empty() {
            owners.push((sections.start as u64..sections.end as u64, Owner::SectionTable));
        }
        for (index, phdr) in file.phdrs.iter().enumerate().filter(|(_, p)| p.p_filesz > 0) {
            owners.push((phdr.p_offset..phdr.p_offset + phdr.p_filesz, Owner::Segment(index)));
        }
        for (index, shdr) in file.shdrs.iter().enumerate().filter(|(_, s)| s.sh_type != SHT_NOBITS && s.sh_size > 0) {
            owners.push((shdr.sh_offset..shdr.sh_offset + shdr.sh_size, Owner::Section(index)));
        }
        let page = file.loads().map(|p| p.p_align).max().unwrap_or(1).max(1);
        Builder {
            file,
            out: file.data.to_vec(),
            phdrs: file.phdrs.clone(),
            shdrs: file.shdrs.clone(),
            shoff: file.header.e_shoff,
            owners,
            taken: Vec::new(),
            page,
            moved: Vec::new(),
        }
    }

    /// Whether `range` of the output file holds nothing: no owner, not taken,
    /// and zero where it lies inside the original file.
    fn is_free(&self, range: &Range<u64>) -> bool {
        let data = self.file.data;
        self.owners.iter().all(|(owned, _)| !overlaps(owned, range))
            && self.taken.iter().all(|taken| !overlaps(taken, range))
            && data[(range.start as usize).min(data.len())..(range.end as usize).min(data.len())]
                .iter()
                .all(|&b| b == 0)
    }

    fn address_limit(&self) -> u64 {
        if self.file.is_64() { u64::MAX } else { u64::from(u32::MAX) }
    }

    /// Tries to put `size` bytes right after the end of an existing PT_LOAD,
    /// read-only data segments first. Writable data only goes in writable ones.
    fn place_in_segment(&mut self, size: u64, align: u64, writable: bool) -> Option<Spot> {
        let preference = |p: &ProgramHeader| match (p.p_flags & PF_W != 0, p.p_flags & PF_X != 0) {
            (false, false) => 0,
            (false, true) => 1,
            (true, _) => 2,
        };
        let mut candidates: Vec<usize> = (0..self.phdrs.len())
            .filter(|&i| self.phdrs[i].p_type == PT_LOAD && (!writable || self.phdrs[i].p_flags & PF_W != 0))
            .collect();
        candidates.sort_by_key(|&i| preference(&self.phdrs[i]));
        candidates.into_iter().find_map(|index| self.extend_segment(index, size, align))
    }

    /// Grows PT_LOAD `index` by `size` bytes (after padding to `align`) if the
    /// bytes after it are free in the file and the addresses after it are
    /// free up to the next segment's first page.
    fn extend_segment(&mut self, index: usize, size: u64, align: u64) -> Option<Spot> {
        let segment = &self.phdrs[index];
        if segment.p_filesz != segment.p_memsz {
            return None; // .bss follows: the bytes after the file part must read as zero.
        }
        let end_vaddr = segment.p_vaddr + segment.p_memsz;
        let vaddr = align_up(end_vaddr, align)?;
        let new_end_vaddr = vaddr.checked_add(size)?;
        let offset = segment.p_offset + segment.p_filesz + (vaddr - end_vaddr);
        let file_range = segment.p_offset + segment.p_filesz..offset + size;
        let memory = end_vaddr..new_end_vaddr;
        let next_page = self
            .phdrs
            .iter()
            .filter(|p| p.p_type == PT_LOAD && p.p_vaddr >= end_vaddr)
            .map(|p| align_down(p.p_vaddr, self.page))
            .min()
            .unwrap_or(self.address_limit());
        let others_clear = self
            .phdrs
            .iter()
            .enumerate()
            .all(|(i, p)| i == index || p.p_memsz == 0 || !overlaps(&(p.p_vaddr..p.p_vaddr + p.p_memsz), &memory));
        if new_end_vaddr > next_page || !others_clear || !self.is_free(&file_range) {
            return None;
        }
        let placement = if file_range.end > self.file.data.len() as u64 {
            Placement::SegmentEnd
        } else {
            Placement::SegmentPadding
        };
        let segment = &mut self.phdrs[index];
        segment.p_filesz += file_range.end - file_range.start;
        segment.p_memsz = segment.p_filesz;
        self.grow_to(file_range.end);
        self.taken.push(file_range);
        Some(Spot { offset, vaddr, placement })
    }

    fn grow_to(&mut self, len: u64) {
        if len > self.out.len() as u64 {
            self.out.resize(len as usize, 0);
        }
    }

    /// Makes room for one more program header and starts the new segment at
    /// the end of the file, above every existing segment.
    fn new_segment(&mut self) -> Result<NewSegment> {
        let file = self.file;
        let table = file.program_table();
        let slot = table.end as u64..(table.end + file.phdr_size()) as u64;
        let table_load =
            file.loads().find(|p| p.p_offset <= table.start as u64 && table.end as u64 <= p.p_offset + p.p_filesz);
        match table_load {
            Some(load) if slot.end > load.p_offset + load.p_filesz => {
                return Err(PatchError::Unsafe("no room for another program header in the first segment".into()));
            }
            None if file.phdrs.iter().any(|p| p.p_type == PT_PHDR) => {
                return Err(PatchError::Unsafe("the program header table is not in a loadable segment".into()));
            }
            _ => {}
        }

        let region = self.movable_region(&slot)?;
        let sections = file.section_table();
        let move_section_table = !sections.is_empty() && overlaps(&(sections.start as u64..sections.end as u64), &slot);
        let covered = |offset: u64| {
            region.as_ref().is_some_and(|r| r.contains(&offset))
                || (move_section_table && sections.contains(&(offset as usize)))
        };
        if (slot.start..slot.end)
            .any(|offset| !covered(offset) && file.data.get(offset as usize).is_some_and(|&b| b != 0))
        {
            return Err(PatchError::Unsafe("unidentified data follows the program header table".into()));
        }

        // At the end of the file: the moved section headers, then the segment.
        let mut end = self.out.len() as u64;
        if move_section_table {
            self.shoff = end.next_multiple_of(8);
            end = self.shoff + sections.len() as u64;
            self.grow_to(end);
            self.out[sections].fill(0);
            self.moved.push("the section header table");
        }
        let offset = end.next_multiple_of(16);
        let top = self.phdrs.iter().filter(|p| p.p_type == PT_LOAD).map(|p| p.p_vaddr + p.p_memsz).max().unwrap_or(0);
        let vaddr = align_up(top, self.page).and_then(|v| v.checked_add(offset % self.page));
        let vaddr = vaddr.filter(|&v| v < self.address_limit()).ok_or_else(no_address_space)?;
        let mut segment = NewSegment { offset, size: 0, bias: vaddr.wrapping_sub(offset), writable: false };
        if let Some(region) = region {
            // Keep the region's offset modulo 16 so the notes in it stay aligned.
            let shift = (region.start % 16 + 16 - offset % 16) % 16;
            let spot = segment.reserve(shift + region.end - region.start, 1, false);
            self.move_region(&region, spot.offset + shift, segment.bias);
        }
        Ok(segment)
    }

    /// The .interp and note segments that overlap `slot`, grown to cover
    /// every such segment they touch; refuses if anything else is in the way.
    fn movable_region(&self, slot: &Range<u64>) -> Result<Option<Range<u64>>> {
        let file = self.file;
        let movable = |i: usize| matches!(file.phdrs[i].p_type, PT_INTERP | PT_NOTE | PT_GNU_PROPERTY);
        let mut region: Option<Range<u64>> = None;
        loop {
            let probe = region.clone().unwrap_or(slot.clone());
            let grown = self.owners.iter().filter_map(|(range, owner)| match owner {
                Owner::Segment(i) if movable(*i) && overlaps(range, &probe) => Some(range.clone()),
                _ => None,
            });
            let next = grown.fold(region.clone(), |acc, r| match acc {
                None => Some(r),
                Some(acc) => Some(acc.start.min(r.start)..acc.end.max(r.end)),
            });
            if next == region {
                break;
            }
            region = next;
        }
        let probe = region.clone().map_or(slot.clone(), |r| r.start.min(slot.start)..r.end.max(slot.end));
        // A moved segment is described by its file bytes only.
        let odd = |p: &&ProgramHeader| {
            p.p_memsz != p.p_filesz
                && region.as_ref().is_some_and(|r| overlaps(r, &(p.p_offset..p.p_offset + p.p_filesz)))
        };
        if file.phdrs.iter().filter(|p| matches!(p.p_type, PT_INTERP | PT_NOTE | PT_GNU_PROPERTY)).any(|p| odd(&p)) {
            return Err(PatchError::Unsafe(
                "a note or interpreter segment has a memory size unlike its file size".into(),
            ));
        }
        for (range, owner) in &self.owners {
            if !overlaps(range, &probe) {
                continue;
            }
            let inside = region.as_ref().is_some_and(|r| r.start <= range.start && range.end <= r.end);
            let blocker = match *owner {
                Owner::Segment(i) if file.phdrs[i].p_type == PT_LOAD || movable(i) => None,
                Owner::Section(_) if inside => None,
                Owner::SectionTable if !overlaps(range, region.as_ref().unwrap_or(&(0..0))) => None,
                Owner::Section(i) => Some(file.section_name(i)),
                Owner::Segment(i) => Some(format!("a segment of type {:#x}", file.phdrs[i].p_type)),
                Owner::SectionTable => Some("the section header table".to_string()),
                Owner::Header | Owner::ProgramTable => Some("the ELF headers".to_string()),
            };
            if let Some(blocker) = blocker {
                return Err(PatchError::Unsafe(format!(
                    "no room for another program header: {blocker} follows the table"
                )));
            }
        }
        Ok(region)
    }

    /// Moves the bytes of `region` to `new_offset` in the new segment (whose
    /// addresses are its offsets plus `bias`) and re-points the segments and
    /// sections inside it.
    fn move_region(&mut self, region: &Range<u64>, new_offset: u64, bias: u64) {
        let (start, end) = (region.start as usize, region.end as usize);
        self.grow_to(new_offset + region.end - region.start);
        self.out.copy_within(start..end, new_offset as usize);
        self.out[start..end].fill(0);
        let delta = new_offset - region.start;
        let inside = |offset: u64, size: u64| size > 0 && region.start <= offset && offset + size <= region.end;
        for phdr in self.phdrs.iter_mut().filter(|p| p.p_type != PT_LOAD && inside(p.p_offset, p.p_filesz)) {
            phdr.p_offset += delta;
            phdr.p_vaddr = phdr.p_offset.wrapping_add(bias);
            phdr.p_paddr = phdr.p_vaddr;
        }
        for shdr in self.shdrs.iter_mut().filter(|s| s.sh_type != SHT_NOBITS && inside(s.sh_offset, s.sh_size)) {
            shdr.sh_offset += delta;
            shdr.sh_addr = shdr.sh_offset.wrapping_add(bias);
        }
        if self.file.phdrs.iter().any(|p| p.p_type == PT_INTERP && inside(p.p_offset, p.p_filesz)) {
            self.moved.push(".interp");
        }
        if self.file.phdrs.iter().any(|p| p.p_type == PT_NOTE && inside(p.p_offset, p.p_filesz)) {
            self.moved.push("notes");
        }
    }

    /// Adds the new PT_LOAD's program header after the existing ones.
    fn add_segment(&mut self, segment: NewSegment) -> Result<()> {
        let start = segment.offset.wrapping_add(segment.bias);
        if start.checked_add(segment.size).is_none_or(|end| end > self.address_limit()) {
            return Err(no_address_space());
        }
        self.phdrs.push(ProgramHeader {
            p_type: PT_LOAD,
            p_flags: PF_R | if segment.writable { PF_W } else { 0 },
            p_offset: segment.offset,
            p_vaddr: start,
            p_paddr: start,
            p_filesz: segment.size,
            p_memsz: segment.size,
            p_align: self.page,
        });
        let phdr_size = self.file.phdr_size() as u64;
        if let Some(phdr) = self.phdrs.iter_mut().find(|p| p.p_type == PT_PHDR) {
            phdr.p_filesz += phdr_size;
            phdr.p_memsz += phdr_size;
        }
        self.grow_to(segment.offset + segment.size);
        Ok(())
    }

    /// Copies `bytes` to `offset` of the output.
    fn write(&mut self, offset: u64, bytes: &[u8]) {
        let start = offset as usize;
        self.grow_to(offset + bytes.len() as u64);
        self.out[start..start + bytes.len()].copy_from_slice(bytes);
    }

    /// Writes `entries`, a DT_NULL terminator and zeroed spare slots, `slots`
    /// entries in all, at `offset`.
    fn write_dynamic(&mut self, offset: u64, slots: usize, entries: &[Dyn]) -> Result<()> {
        let size = self.file.dyn_size();
        let start = offset as usize;
        self.grow_to(offset + (slots * size) as u64);
        self.out[start..start + slots * size].fill(0);
        for (index, entry) in entries.iter().enumerate() {
            self.out.pwrite_with(entry.clone(), start + index * size, self.file.ctx)?;
        }
        Ok(())
    }

    /// Writes the changed headers and returns the patched file.
    fn finish(mut self) -> Result<Vec<u8>> {
        let file = self.file;
        let ctx = file.ctx;
        let phoff = file.header.e_phoff as usize;
        for (index, phdr) in self.phdrs.iter().enumerate() {
            if file.phdrs.get(index) != Some(phdr) {
                self.out.pwrite_with(phdr.clone(), phoff + index * file.phdr_size(), ctx)?;
            }
        }
        let moved_table = self.shoff != file.header.e_shoff;
        for (index, shdr) in self.shdrs.iter().enumerate() {
            if moved_table || file.shdrs[index] != *shdr {
                self.out.pwrite_with(shdr.clone(), self.shoff as usize + index * file.shdr_size(), ctx)?;
            }
        }
        let mut header = file.header;
        header.e_phnum = self.phdrs.len() as u16;
        header.e_shoff = self.shoff;
        if header != file.header {
            self.out.pwrite_with(header, 0, ctx.le)?;
        }
        Ok(self.out)
    }
}

fn no_address_space() -> PatchError {
    PatchError::Unsafe("no address space left for a new segment".into())
}
