//! The escape suite: programs that try to get a forbidden effect past the
//! sandbox, run as root and as nobody on every injection path where the
//! attempt applies (LD_PRELOAD, a DT_NEEDED-patched copy with the policy in
//! the environment, a patched copy with a recorded policy, sandboxify on a
//! dynamic and on a static build, sandboxify --preload).
//!
//! Each attempt (`tests/c/escape-*.c`) creates a marker (a directory, a file,
//! or another program's run) only if it got through; the tests assert that
//! the marker is absent and how the attempt was stopped, and each attempt has
//! a positive control: unconfined, the same program does create the marker.
//! `docs/escapes.md` lists every attempt with what the sandbox does and the
//! test here that proves it.
//!
//! `common` holds what every test shares (policies, injection paths,
//! attempts, markers, `run_confined`, `assert_held`); each other module holds
//! one kind of attempt.

mod abi;
mod common;
mod early_code;
mod exec;
mod families;
mod foreign;
mod other_processes;
mod outer_filter;
mod own_filters;
mod patcher;
mod preload;
mod privilege;
mod terminal;
