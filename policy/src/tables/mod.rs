//! The tables every stage reads, compiled from `policy/data/` by build.rs:
//! the system calls of each ABI and their argument kinds ([`syscalls`]),
//! the `@groups` ([`groups`]), and the named constants conditions may use
//! ([`constants`]).

#![forbid(unsafe_code)]

pub mod constants;
pub mod groups;
pub(crate) mod name_hash;
mod packing;
pub mod syscalls;
