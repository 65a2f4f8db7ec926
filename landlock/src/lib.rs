//! Filesystem and TCP-port rules with Landlock, for `libsandbox.so` and
//! `sandboxify` alike: [`request`] parses what was asked, [`plan`] turns it
//! into grants (Landlock only grants, so carve-outs become grants of the
//! siblings), [`enforce`] applies them to the calling process.
//!
//! `libsandbox.so` is `no_std` (see its documentation), so it cannot link
//! the `landlock` crate; it loads this crate's cdylib, `libsandbox_landlock.so`,
//! only when Landlock rules are asked for, and calls [`ffi`]'s entry point.

pub mod enforce;
pub mod ffi;
pub mod plan;
pub mod request;

pub use enforce::{EnforceError, Enforced, Threads, enforce, kernel_abi};
pub use plan::{Plan, PlanError, Rights};
pub use request::{Request, RequestError, Setting, Settings};

/// Anything that stops the rules from being enforced.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A bad value.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// A path that cannot be read while planning.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The kernel cannot enforce the rules.
    #[error(transparent)]
    Enforce(#[from] EnforceError),
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
