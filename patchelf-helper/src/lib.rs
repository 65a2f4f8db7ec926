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

pub mod cli;
mod edit;
mod elf;
mod error;
mod layout;

pub use edit::{Change, DynamicEditor, Entry, Value};
pub use error::{PatchError, Result};
pub use layout::{Placement, Plan};

/// The DT_NEEDED names of `data`, in order.
pub fn needed(data: &[u8]) -> Result<Vec<String>> {
    let editor = DynamicEditor::new(data)?;
    Ok(editor.needed().into_iter().map(|name| String::from_utf8_lossy(name).into_owned()).collect())
}

/// Removes the DT_NEEDED entries for each name in `remove`, then puts the
/// names in `add` that are not needed yet first, in the given order.
pub fn edit_needed(data: &[u8], remove: &[&str], add: &[&str]) -> Result<Change> {
    let mut editor = DynamicEditor::new(data)?;
    for name in remove {
        editor.remove_needed(name)?;
    }
    // Each addition goes first, so add the last one first.
    for name in add.iter().rev() {
        editor.add_needed(name)?;
    }
    editor.apply()
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
