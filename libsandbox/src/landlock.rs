//! Landlock rules from the `SANDBOX_FS_*` and `SANDBOX_NET_*` variables,
//! applied in the constructor by the `sandbox-landlock` crate, which is
//! `no_std` like this library, so it loads nothing (see that crate for why
//! loading anything here is a trap).

use alloc::format;
use core::ffi::c_char;

use sandbox_landlock::Path;
use sandbox_policy::text::variables::Variables;

use crate::environment;
use crate::fail::{fail, say};

/// Applies the Landlock variables to this process, or ends it (status 125)
/// with the reason on stderr. `~` expands to `HOME` in `environment`; the
/// libraries of its `LD_PRELOAD` (this one, usually) stay readable, for
/// the programs this one runs.
pub fn apply(variables: &Variables, environment: *mut *mut c_char) {
    let home = environment::value(environment, b"HOME").map(Path::new);
    let preload = environment::value(environment, b"LD_PRELOAD").unwrap_or_default();
    match sandbox_landlock::enforce_variables(&variables.landlock, home.as_ref(), &preload) {
        Ok(Some((plan, enforced))) => {
            for dropped in &enforced.dropped {
                say(&format!("Landlock best effort: not enforced: {dropped}"));
            }
            if variables.verbose() {
                say(&format!("Landlock: {}", plan.summary()));
            }
        }
        Ok(None) => {}
        Err(error) => fail(&error),
    }
}
