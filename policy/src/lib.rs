//! Seccomp policies for `libsandbox.so` and `sandboxify`.
//!
//! One crate holds what a policy means, so that the preload library and the
//! launcher can never disagree. A policy goes through four stages, one
//! module each, every stage importing only those before it:
//!
//! 1. [`text`]: policy text (variables, options, a policy file, an attached
//!    policy) → [`Lists`] of [`Entry`]s;
//! 2. [`resolve`]: [`Lists`] → [`Policy`], what each system call gets and
//!    why (families, successors, fallbacks);
//! 3. [`compile`](mod@compile): [`Policy`] → a BPF [`Program`] for every ABI;
//! 4. [`sys`]: the program installed on the process ([`install`]).
//!
//! The first three are pure and forbid `unsafe`; they share the vocabulary
//! ([`abi`], [`action`], [`condition`], `error`) and the [`tables`]
//! compiled from `policy/data/`. Beside the pipeline: [`explain`] reads a
//! compiled filter back into words, [`learn`] holds learn mode's filters,
//! and [`export`] turns a policy back into the variables that reproduce it,
//! or into an OCI profile.

#![cfg_attr(not(test), no_std)]
#![warn(missing_docs)]

// no_std with `alloc`: the preload library links no std, and so no libgcc_s,
// which alone would add more to every program's start-up than the whole
// sandbox costs.
extern crate alloc;

pub mod abi;
pub mod action;
pub mod compile;
pub mod condition;
mod error;
pub mod explain;
pub mod export;
pub mod learn;
pub mod resolve;
pub mod sys;
pub mod tables;
pub mod text;
pub mod violation;

#[cfg(test)]
mod test_support;

pub use abi::{Abi, Arch};
pub use action::Action;
pub use compile::filter::{FilterTooLong, Override, Program, compile, compile_for, compile_with};
pub use condition::{Comparison, Condition, Field, Rule, Width};
pub use error::{ErrorKind, Origin, PolicyError, one_line};
pub use resolve::Policy;
pub use sys::install::{InstallError, Threads, install, install_with_listener};
pub use tables::syscalls::Syscall;
pub use text::entry::Entry;
pub use text::{Lists, Settings, Switches, Text};
