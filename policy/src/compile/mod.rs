//! [`Policy`](crate::resolve::Policy) → BPF: the third stage, pure.
//!
//! [`bpf`] holds the instructions, an emitter that builds a program
//! backwards (so every jump is forward and fits its 8 bits), and an
//! interpreter the tests and [`crate::explain`] run filters on. [`filter`]
//! compiles a policy into one program for every ABI: the arch check, a
//! binary search over number ranges, the argument conditions. [`start_up`]
//! adds the rules of `sandboxify --preload`'s guard.

#![forbid(unsafe_code)]

pub mod bpf;
pub mod filter;
pub mod start_up;
