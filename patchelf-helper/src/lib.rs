//! Add or remove DT_NEEDED entries in ELF executables and shared libraries
//! without moving existing bytes, so that the result keeps working, also
//! after `strip`.
//!
//! Everything here is pure: functions take the file's bytes and return the
//! patched bytes, a [`Plan`] saying how the change was laid out, or a
//! [`PatchError`] saying why the file was refused. The `patchelf-helper`
//! binary does the file I/O.
//!
//! ```no_run
//! let data = std::fs::read("/usr/bin/true").unwrap();
//! match patchelf_helper::add_needed(&data, &["libsandbox.so"]) {
//!     Ok(patchelf_helper::Change::Patched { bytes, plan }) => println!("{plan}: {} bytes", bytes.len()),
//!     Ok(patchelf_helper::Change::Unchanged) => println!("already needed"),
//!     Err(reason) => println!("refused: {reason}"),
//! }
//! ```

#![forbid(unsafe_code)]

pub mod cli;
mod edit;
mod elf;
mod error;
mod layout;

pub use edit::{Change, DynamicEditor, Entry, Value};
pub use error::{PatchError, Result};
pub use layout::{Placement, Plan};
use sandbox_policy::text::attached::DT_SANDBOX_POLICY;

/// The DT_NEEDED names of `data`, in order.
pub fn needed(data: &[u8]) -> Result<Vec<String>> {
    let editor = DynamicEditor::new(data)?;
    Ok(editor.needed().into_iter().map(|name| String::from_utf8_lossy(name).into_owned()).collect())
}

/// Removes the DT_NEEDED entries for each name in `remove`, then puts the
/// names in `add` that are not needed yet first, in the given order.
pub fn edit_needed(data: &[u8], remove: &[&str], add: &[&str]) -> Result<Change> {
    edit(data, &Edits { remove_needed: remove, add_needed: add, policy: PolicyEdit::Keep })
}

/// What to do with a policy recorded in the file (see
/// [`sandbox_policy::text::attached`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyEdit<'a> {
    /// Leave it as it is.
    Keep,
    /// Record this policy text, replacing any other. It must be valid.
    Set(&'a str),
    /// Remove it.
    Remove,
}

/// Every edit one call makes to a file.
#[derive(Clone, Copy, Debug)]
pub struct Edits<'a> {
    /// DT_NEEDED names to remove (done first).
    pub remove_needed: &'a [&'a str],
    /// DT_NEEDED names to put first, in this order.
    pub add_needed: &'a [&'a str],
    /// The recorded policy.
    pub policy: PolicyEdit<'a>,
}

/// Applies `edits` to `data`.
pub fn edit(data: &[u8], edits: &Edits<'_>) -> Result<Change> {
    let mut editor = DynamicEditor::new(data)?;
    for name in edits.remove_needed {
        editor.remove_needed(name)?;
    }
    // Each addition goes first, so add the last one first.
    for name in edits.add_needed.iter().rev() {
        editor.add_needed(name)?;
    }
    match edits.policy {
        PolicyEdit::Keep => {}
        PolicyEdit::Set(text) => {
            // Refused now, not when the program starts: a policy that does
            // not parse, or whose filter the kernel would not take.
            let lists = sandbox_policy::text::file::parse_attached(text)
                .map_err(|error| PatchError::Policy(error.to_string()))?;
            sandbox_policy::compile(&sandbox_policy::Policy::new(lists))
                .map_err(|error| PatchError::Policy(error.to_string()))?;
            editor.set_string(DT_SANDBOX_POLICY, text.as_bytes())?;
        }
        PolicyEdit::Remove => {
            editor.remove_tag(DT_SANDBOX_POLICY);
        }
    }
    editor.apply()
}

/// `text`, read from `path`, as policy-file text to record: an OCI profile
/// becomes the lines of the same policy (Docker's conditions on the
/// process, which the patched program's callers decide, are refused); any
/// other text is kept as it is, to be checked when recorded.
pub fn from_profile(path: &str, text: String) -> std::result::Result<String, String> {
    use sandbox_policy::text::oci;
    if !oci::is_profile(&text) {
        return Ok(text);
    }
    let origin = sandbox_policy::Origin::Option("--policy");
    let lists = oci::parse(&origin, path, &text, None).map_err(|error| error.to_string())?;
    Ok(sandbox_policy::Policy::new(lists).file_text())
}

/// The policy text recorded in `data`, if any.
pub fn attached_policy(data: &[u8]) -> Result<Option<String>> {
    let editor = DynamicEditor::new(data)?;
    Ok(editor.tag_string(DT_SANDBOX_POLICY).map(|text| String::from_utf8_lossy(text).into_owned()))
}

/// Puts each of `names` that is not needed yet first among the DT_NEEDED
/// entries, in the given order.
pub fn add_needed(data: &[u8], names: &[&str]) -> Result<Change> {
    edit_needed(data, &[], names)
}

/// Removes the DT_NEEDED entries for each of `names`.
pub fn remove_needed(data: &[u8], names: &[&str]) -> Result<Change> {
    edit_needed(data, names, &[])
}
