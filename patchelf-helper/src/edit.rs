//! Editing the dynamic entries of a file in memory, then laying them out.

use goblin::elf::dynamic::{DT_NEEDED, Dyn};

use crate::elf::ElfFile;
use crate::error::{PatchError, Result};
use crate::layout::{Plan, layout};

/// The value of a dynamic entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A number or address, stored as is (for string tags: an offset into
    /// the file's existing .dynstr).
    Number(u64),
    /// A string, stored as an offset into .dynstr: an existing copy is
    /// reused, otherwise it is added.
    String(Vec<u8>),
}

/// One dynamic entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The DT_* tag.
    pub tag: u64,
    /// Its value.
    pub value: Value,
}

/// The result of applying an edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The entries already were as requested: the file stays byte-identical.
    Unchanged,
    /// The patched file and how it was laid out.
    Patched {
        /// The whole patched file.
        bytes: Vec<u8>,
        /// How the change was laid out.
        plan: Plan,
    },
}

/// An ELF file's dynamic entries, to be edited and then written into a copy
/// of the file without moving its existing bytes.
///
/// This is the general operation behind `--add-needed` and
/// `--remove-needed`: any entry can be inserted, replaced or removed, and
/// string values are placed in .dynstr as needed.
#[derive(Debug, Clone)]
pub struct DynamicEditor<'a> {
    file: ElfFile<'a>,
    entries: Vec<Entry>,
}

impl<'a> DynamicEditor<'a> {
    /// Parses `data`, refusing anything that cannot be patched (see
    /// [`PatchError`]).
    pub fn new(data: &'a [u8]) -> Result<Self> {
        let file = ElfFile::parse(data)?;
        let entries = file.entries.iter().map(|d| Entry { tag: d.d_tag, value: Value::Number(d.d_val) }).collect();
        Ok(DynamicEditor { file, entries })
    }

    /// The entries as edited so far, without the DT_NULL terminator.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The string an entry refers to, for tags whose value is a string.
    pub fn string<'e>(&'e self, entry: &'e Entry) -> Option<&'e [u8]> {
        match &entry.value {
            Value::Number(offset) => self.file.dynstr_at(*offset),
            Value::String(string) => Some(string),
        }
    }

    /// The DT_NEEDED names, in order.
    pub fn needed(&self) -> Vec<&[u8]> {
        self.entries.iter().filter(|e| e.tag == DT_NEEDED).filter_map(|e| self.string(e)).collect()
    }

    /// Inserts an entry at `index` (clamped to the end).
    pub fn insert(&mut self, index: usize, entry: Entry) -> Result<()> {
        if let Value::String(string) = &entry.value {
            check_name(string)?;
        }
        self.entries.insert(index.min(self.entries.len()), entry);
        Ok(())
    }

    /// Makes `name` the first DT_NEEDED entry unless it is needed already;
    /// returns whether anything changed.
    pub fn add_needed(&mut self, name: &str) -> Result<bool> {
        check_name(name.as_bytes())?;
        if self.needed().contains(&name.as_bytes()) {
            return Ok(false);
        }
        let first_needed = self.entries.iter().position(|e| e.tag == DT_NEEDED).unwrap_or(0);
        self.insert(first_needed, Entry { tag: DT_NEEDED, value: Value::String(name.as_bytes().to_vec()) })?;
        Ok(true)
    }

    /// Removes every DT_NEEDED entry for `name`; returns whether any existed.
    pub fn remove_needed(&mut self, name: &str) -> Result<bool> {
        check_name(name.as_bytes())?;
        let before = self.entries.len();
        let keep: Vec<bool> =
            self.entries.iter().map(|e| e.tag != DT_NEEDED || self.string(e) != Some(name.as_bytes())).collect();
        let mut keep = keep.into_iter();
        self.entries.retain(|_| keep.next().unwrap_or(true));
        Ok(self.entries.len() != before)
    }

    /// Sets the first entry with `tag` to the string `value`, or appends one;
    /// returns whether anything changed. For tags such as a policy string
    /// under an OS-specific tag.
    pub fn set_string(&mut self, tag: u64, value: &[u8]) -> Result<bool> {
        check_name(value)?;
        let new = Value::String(value.to_vec());
        match self.entries.iter().position(|e| e.tag == tag) {
            Some(index) if self.string(&self.entries[index]) == Some(value) => Ok(false),
            Some(index) => {
                self.entries[index].value = new;
                Ok(true)
            }
            None => {
                self.entries.push(Entry { tag, value: new });
                Ok(true)
            }
        }
    }

    /// Removes every entry with `tag`; returns whether any existed.
    pub fn remove_tag(&mut self, tag: u64) -> bool {
        let before = self.entries.len();
        self.entries.retain(|entry| entry.tag != tag);
        self.entries.len() != before
    }

    /// The string of the first entry with `tag`, if there is one.
    pub fn tag_string(&self, tag: u64) -> Option<&[u8]> {
        self.entries.iter().find(|entry| entry.tag == tag).and_then(|entry| self.string(entry))
    }

    /// Lays out the edited entries. Nothing is written anywhere: the patched
    /// file comes back as bytes.
    pub fn apply(&self) -> Result<Change> {
        let table = &self.file.data[self.file.dynstr.clone()];
        let mut added = Vec::new();
        let mut resolved = Vec::with_capacity(self.entries.len());
        for entry in &self.entries {
            let value = match &entry.value {
                Value::Number(value) => *value,
                Value::String(string) => match (find_string(table, string), find_string(&added, string)) {
                    (Some(offset), _) => offset as u64,
                    (None, Some(offset)) => (table.len() + offset) as u64,
                    (None, None) => {
                        let offset = table.len() + added.len();
                        added.extend_from_slice(string);
                        added.push(0);
                        offset as u64
                    }
                },
            };
            resolved.push(Dyn { d_tag: entry.tag, d_val: value });
        }
        if added.is_empty() && resolved == self.file.entries {
            return Ok(Change::Unchanged);
        }
        let dynstr = (!added.is_empty()).then(|| [table, &added].concat());
        let (bytes, plan) = layout(&self.file, resolved, dynstr)?;
        Ok(Change::Patched { bytes, plan })
    }
}

/// The offset of a NUL-terminated copy of `string` in `table`, possibly the
/// tail of a longer string.
fn find_string(table: &[u8], string: &[u8]) -> Option<usize> {
    let len = string.len();
    table.windows(len + 1).position(|window| &window[..len] == string && window[len] == 0)
}

fn check_name(name: &[u8]) -> Result<()> {
    if name.is_empty() || name.contains(&0) {
        return Err(PatchError::InvalidName(String::from_utf8_lossy(name).into_owned()));
    }
    Ok(())
}
