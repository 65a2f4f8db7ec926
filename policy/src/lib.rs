//! Seccomp policies for `libsandbox.so` and `sandboxify`.
//!
//! One crate holds what a policy means, so that the preload library and the
//! launcher can never disagree: text is parsed into a [`Policy`]
//! ([`Settings::policy`]), compiled into a BPF [`Program`] ([`compile`]) and
//! installed ([`install`]). Parsing and compiling are pure; only
//! [`install`] touches the process.

#![cfg_attr(not(test), no_std)]
#![warn(missing_docs)]

// no_std with `alloc`: the preload library links no std, and so no libgcc_s,
// which alone would add more to every program's start-up than the whole
// sandbox costs.
extern crate alloc;

pub mod abi;
pub mod action;
pub mod attached;
pub mod bpf;
pub mod condition;
pub mod constants;
pub mod entry;
mod error;
pub mod explain;
pub mod families;
pub mod file;
pub mod filter;
pub mod groups;
pub mod install;
pub mod learn;
mod name_hash;
pub mod notify;
pub mod policy;
pub mod report;
pub mod scope;
pub mod start_up;
pub mod syscalls;
pub mod variables;

pub use abi::Abi;
pub use action::Action;
pub use condition::{Comparison, Condition, Field, Rule, Width};
pub use entry::Entry;
pub use error::{ErrorKind, Origin, PolicyError};
pub use filter::{Override, Program, compile, compile_with};
pub use install::{InstallError, Threads, install, install_with_listener};
pub use policy::{Lists, Policy, Settings, Text};
pub use syscalls::Syscall;
