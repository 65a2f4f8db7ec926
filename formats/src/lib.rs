//! A [`Policy`](sandbox_policy::Policy) in other tools' formats, for
//! `sandboxify --export`: OCI runtime-spec seccomp profiles ([`oci`]), as
//! container engines read them.
//!
//! Beside the policy crate rather than in it: the policy crate is `no_std`
//! for the preload library and the launcher, and JSON wants `std`.

#![warn(missing_docs)]

pub mod oci;
