//! The hash of the name table, shared by build.rs (which fills the table)
//! and the crate (which probes it), so that the two cannot disagree.

/// Slots in the name table: a power of two, about twice the number of names.
pub const SLOTS: usize = 1024;

/// FNV-1a, reduced to a slot.
pub fn slot(name: &str) -> usize {
    let hash = name.bytes().fold(0x811c_9dc5u32, |hash, byte| (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193));
    hash as usize & (SLOTS - 1)
}
