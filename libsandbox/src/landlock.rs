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
/// with the reason on stderr. `~` expands to `HOME` in `environment`.
pub fn apply(variables: &Variables, environment: *mut *mut c_char) {
    let home = environment::value(environment, b"HOME").map(Path::new);
    match sandbox_landlock::enforce_variables(&variables.landlock, home.as_ref()) {
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
