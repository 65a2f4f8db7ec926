//! Why a file cannot be read or patched.

use thiserror::Error;

/// A refusal or failure. Each message is one line that tells the user what is
/// wrong with the input; the CLI prefixes it with the file name.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PatchError {
    /// The input does not start with the ELF magic.
    #[error("not an ELF file")]
    NotElf,
    /// The input is ELF but a header or table is cut off or inconsistent.
    #[error("malformed ELF: {0}")]
    Malformed(String),
    /// Relocatable objects, core dumps and the like.
    #[error("ELF type {0} is not an executable or shared library")]
    UnsupportedType(u16),
    /// No PT_DYNAMIC: the kernel runs it without a dynamic loader.
    #[error("static executable (no PT_DYNAMIC): nothing loads libraries; use sandboxify to confine it")]
    Static,
    /// A static-PIE relocates itself and never loads libraries.
    #[error("static-PIE executable: it relocates itself and loads no libraries; use sandboxify to confine it")]
    StaticPie,
    /// An executable with a dynamic section but no PT_INTERP.
    #[error(
        "executable without a program interpreter (PT_INTERP): nothing loads libraries; use sandboxify to confine it"
    )]
    NoInterpreter,
    /// The dynamic section never ends, so the loader would read past it.
    #[error(".dynamic has no DT_NULL terminator")]
    NoTerminator,
    /// The file is valid but its layout leaves no safe place for the change.
    #[error("cannot patch safely: {0}")]
    Unsafe(String),
    /// A library or string argument that cannot be stored in .dynstr.
    #[error("invalid name {0:?}: must be non-empty and contain no NUL byte")]
    InvalidName(String),
    /// A policy to record that libsandbox.so would refuse.
    #[error("invalid policy: {0}")]
    Policy(String),
}

impl From<goblin::error::Error> for PatchError {
    fn from(error: goblin::error::Error) -> Self {
        PatchError::Malformed(error.to_string().lines().next().unwrap_or("unreadable header").to_string())
    }
}

impl From<scroll::Error> for PatchError {
    fn from(error: scroll::Error) -> Self {
        PatchError::Malformed(error.to_string())
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = PatchError> = std::result::Result<T, E>;
