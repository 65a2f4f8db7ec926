//! A policy recorded in a program's own ELF file.
//!
//! `patchelf-helper --policy` stores policy text (the policy-file format of
//! [`crate::text::file`], without `@include`) as a string in the program's
//! `.dynstr`, under the dynamic tag [`DT_SANDBOX_POLICY`]. libsandbox.so
//! finds it through the program's own dynamic section, already in memory,
//! so the policy travels with the binary and costs no file I/O.

/// The dynamic tag of a recorded policy: a `.dynstr` offset, like
/// DT_NEEDED. It lies in the OS-specific range (DT_LOOS 0x6000000d to DT_HIOS
/// 0x6ffff000), far from GNU's tags (0x6ffffd00 and up), so that ld.so and
/// other tools ignore it.
pub const DT_SANDBOX_POLICY: u64 = 0x6000_5ec0;

/// The ELF note that marks a file as libsandbox.so, for `sandboxify
/// --preload`'s check of the library it is given: owner [`LIBRARY_NOTE_OWNER`]
/// (with its NUL), type [`LIBRARY_NOTE_TYPE`], no descriptor. A note rather
/// than an exported symbol, which could clash with the program's own.
pub const LIBRARY_NOTE_OWNER: &str = "sandbox";
/// See [`LIBRARY_NOTE_OWNER`].
pub const LIBRARY_NOTE_TYPE: u32 = 0x5ec0;
