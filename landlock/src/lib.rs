//! Filesystem and TCP-port rules with Landlock, for `libsandbox.so` and
//! `sandboxify` alike: [`request`] parses what was asked, [`plan`] turns it
//! into grants (Landlock only grants, so carve-outs become grants of the
//! siblings), [`enforce`] applies them to the calling process.
//!
//! `no_std`, with raw system calls rather than the `landlock` crate (which
//! needs std): `libsandbox.so` applies the rules from its constructor, which
//! runs before libc's own initialisation and links no std. Loading a helper
//! library that did use std was tried and is a trap: `dlopen` at that point
//! makes ld.so run libc's initialisation early, with no arguments and no
//! environment, and the program then starts with none (`sh` crashes).

#![cfg_attr(not(test), no_std)]
#![warn(missing_docs)]

extern crate alloc;

pub mod enforce;
pub mod fs;
pub mod mounts;
pub mod path;
pub mod pattern;
pub mod plan;
pub mod request;
pub mod rights;

use alloc::format;
use alloc::string::String;
use core::fmt;

pub use enforce::{EnforceError, Enforced, Threads, enforce, kernel_abi};
pub use path::Path;
pub use plan::{Plan, PlanError, PlanErrorKind, Rights};
pub use request::{Request, RequestError, Setting, Settings};
use sandbox_policy::text::variables::LandlockVariables;

/// Anything that stops the rules from being enforced.
#[derive(Debug)]
pub enum Error {
    /// A bad value.
    Request(RequestError),
    /// A path that cannot be read while planning.
    Plan(PlanError),
    /// The kernel cannot enforce the rules.
    Enforce(EnforceError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Request(error) => error.fmt(f),
            Error::Plan(error) => error.fmt(f),
            Error::Enforce(error) => error.fmt(f),
        }
    }
}

impl core::error::Error for Error {}

impl From<RequestError> for Error {
    fn from(error: RequestError) -> Error {
        Error::Request(error)
    }
}

impl From<PlanError> for Error {
    fn from(error: PlanError) -> Error {
        Error::Plan(error)
    }
}

impl From<EnforceError> for Error {
    fn from(error: EnforceError) -> Error {
        Error::Enforce(error)
    }
}

/// Reads, plans and enforces the Landlock variables on the calling process
/// (every thread of it), expanding `~` to `home`, and granting the files of
/// `preloaded` (see [`Plan::grant_preloaded`]). `Ok(None)`: nothing asked.
pub fn enforce_variables(
    values: &LandlockVariables,
    home: Option<&Path>,
    preloaded: &[u8],
) -> Result<Option<(Plan, Enforced)>, Error> {
    let settings = Settings::from_variables(values)?;
    let Some(request) = Request::new(&settings, home)? else { return Ok(None) };
    let mut plan = Plan::new(request)?;
    plan.grant_preloaded(preloaded)?;
    let enforced = enforce(&plan, &Threads::count())?;
    Ok(Some((plan, enforced)))
}

/// The `--explain` text for `plan`: the kernel's ABI and every rule.
pub fn explain(plan: &Plan) -> String {
    let kernel = match kernel_abi() {
        Ok(abi) => format!("kernel ABI {abi}"),
        Err(reason) => format!("not available: {reason}"),
    };
    let mode = if plan.request.best_effort { ", best effort" } else { "" };
    format!("# Landlock ({kernel}{mode})\n{}", plan.describe())
}
