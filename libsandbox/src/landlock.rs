//! Landlock rules, applied by `libsandbox_landlock.so` (the `sandbox-landlock`
//! crate's cdylib): the `landlock` crate needs std, which this library does
//! without, so it is loaded only when a `SANDBOX_FS_*` or `SANDBOX_NET_*`
//! variable asks for rules, and costs nothing otherwise.

use alloc::ffi::CString;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::{CStr, c_char, c_int};

use sandbox_policy::variables::Variables;

use crate::fail::{fail, stop};

/// The helper library's file name; it is installed next to this library.
const HELPER: &str = "libsandbox_landlock.so";

type Apply = unsafe extern "C" fn(values: *const *const c_char) -> c_int;

/// Applies the Landlock variables to this process, or ends it (status 125)
/// with the reason on stderr.
pub fn apply(variables: &Variables) {
    if let Err(reason) = load_and_apply(variables) {
        fail(&reason);
    }
}

/// Loads the helper and calls it; the helper reports its own failures.
fn load_and_apply(variables: &Variables) -> Result<(), String> {
    let path = helper_path().ok_or_else(|| String::from("cannot find where libsandbox.so was loaded from"))?;
    let c_path = CString::new(path.as_bytes()).map_err(|_| format!("{path}: contains a NUL byte"))?;
    // SAFETY: dlopen with a NUL-terminated path; RTLD_NOW reports missing
    // symbols here rather than at the call.
    let handle = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        return Err(format!("Landlock rules need {path}: {}", dlerror()));
    }
    // SAFETY: dlsym on a live handle with a NUL-terminated name.
    let symbol = unsafe { libc::dlsym(handle, c"sandbox_landlock_apply".as_ptr()) };
    if symbol.is_null() {
        return Err(format!("{path}: {}", dlerror()));
    }
    // SAFETY: the helper defines the symbol with exactly this signature.
    let apply: Apply = unsafe { core::mem::transmute(symbol) };
    let strings: Vec<Option<CString>> = variables
        .landlock
        .iter()
        .chain([&variables.verbose])
        .map(|value| value.as_deref().map(|value| CString::new(value).expect("environment values have no NUL")))
        .collect();
    let pointers: Vec<*const c_char> =
        strings.iter().map(|value| value.as_ref().map_or(core::ptr::null(), |value| value.as_ptr())).collect();
    // SAFETY: seven pointers, each NULL or a C string owned by `strings`,
    // alive across the call.
    if unsafe { apply(pointers.as_ptr()) } != 0 {
        stop();
    }
    Ok(())
}

/// `libsandbox_landlock.so` in the directory this library was loaded from.
fn helper_path() -> Option<String> {
    // SAFETY: Dl_info is plain pointers, valid when zeroed.
    let mut info: libc::Dl_info = unsafe { core::mem::zeroed() };
    // SAFETY: dladdr fills `info` for an address inside this library.
    if unsafe { libc::dladdr(helper_path as *const () as *const _, &mut info) } == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dli_fname is the NUL-terminated name ld.so loaded us by.
    let own = unsafe { CStr::from_ptr(info.dli_fname) }.to_str().ok()?;
    let directory = own.rsplit_once('/').map_or(".", |(directory, _)| directory);
    Some(format!("{directory}/{HELPER}"))
}

fn dlerror() -> String {
    // SAFETY: dlerror returns NULL or a NUL-terminated message.
    let message = unsafe { libc::dlerror() };
    if message.is_null() {
        return String::from("unknown error");
    }
    // SAFETY: non-NULL, so a C string valid until the next dl call.
    String::from(unsafe { CStr::from_ptr(message) }.to_string_lossy())
}
