//! The entry point `libsandbox.so` calls after loading this crate as
//! `libsandbox_landlock.so`.

use std::ffi::{CStr, c_char, c_int};
use std::path::PathBuf;

use crate::{Error, Plan, Request, Settings, Threads, enforce};

/// Applies the Landlock variables to the calling process. `values` holds
/// seven pointers, each NULL (unset) or a NUL-terminated string: the six
/// variables of `sandbox_policy::variables::LANDLOCK`, in that order, then
/// `SANDBOX_VERBOSE`. Returns 0 when the rules are in force; otherwise
/// prints why on stderr, prefixed with `libsandbox: `, and returns 1.
///
/// # Safety
/// `values` points to seven pointers as described, valid for the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sandbox_landlock_apply(values: *const *const c_char) -> c_int {
    // SAFETY: the caller passes seven pointers, each NULL or a C string.
    let values: Vec<Option<String>> = (0..7)
        .map(|index| unsafe { *values.add(index) })
        .map(|value| (!value.is_null()).then(|| unsafe { CStr::from_ptr(value) }.to_string_lossy().into_owned()))
        .collect();
    let (landlock, verbose) = values.split_at(6);
    let landlock: [Option<String>; 6] = landlock.to_vec().try_into().expect("six values");
    let verbose = verbose[0].as_deref().is_some_and(|value| !value.is_empty() && value != "0");
    match apply(&landlock) {
        Ok(summary) => {
            if verbose {
                eprintln!("libsandbox: Landlock: {summary}");
            }
            0
        }
        Err(error) => {
            eprintln!("libsandbox: {error}");
            1
        }
    }
}

fn apply(values: &[Option<String>; 6]) -> Result<String, Error> {
    let settings = Settings::from_variables(values)?;
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let Some(request) = Request::new(&settings, home.as_deref())? else { return Ok("nothing asked".to_owned()) };
    let plan = Plan::new(request)?;
    let enforced = enforce(&plan, &Threads::count())?;
    for dropped in &enforced.dropped {
        eprintln!("libsandbox: Landlock best effort: not enforced: {dropped}");
    }
    Ok(plan.summary())
}
