//! Everything that touches the kernel, and the only place in this crate
//! with `unsafe`: installing a filter ([`install`]), the user-notification
//! listener ([`notify`]), the tracer's view of the calls a filter stops
//! ([`trace`]), the process that reports what a permissive policy lets
//! through ([`report`]), the Landlock domain that keeps tracing inside
//! the sandbox ([`scope`]), and what OCI profiles test of the host ([`host`]).

pub mod host;
pub mod install;
pub mod notify;
pub mod report;
pub mod scope;
pub mod trace;

use core::ffi::CStr;
use core::fmt;

use crate::action::Action;

/// The `errno` of a failed system call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    /// The calling thread's current `errno`.
    pub fn last() -> Errno {
        // SAFETY: __errno_location returns this thread's errno slot.
        Errno(unsafe { *libc::__errno_location() })
    }
}

/// Raw system calls return their error rather than set `errno`, which
/// lives in libc's thread-local storage: the launcher has none.
impl From<syscalls::Errno> for Errno {
    fn from(errno: syscalls::Errno) -> Errno {
        Errno(errno.into_raw())
    }
}

unsafe extern "C" {
    /// glibc's untranslated description of an errno (2.32 and later), or
    /// NULL. Not strerror: that reads the locale, which libc has not set up
    /// yet when libsandbox.so installs its guard (see its `early` module).
    fn strerrordesc_np(errnum: libc::c_int) -> *const libc::c_char;
}

/// `EPERM (Operation not permitted)`.
impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SAFETY: strerrordesc_np takes any number and returns NULL or a static string.
        let description = unsafe { strerrordesc_np(self.0) };
        match u16::try_from(self.0).map(Action::Errno) {
            Ok(name) if !description.is_null() => {
                // SAFETY: non-NULL, so a NUL-terminated string of glibc's table.
                let description = unsafe { CStr::from_ptr(description) };
                write!(f, "{name} ({})", description.to_string_lossy())
            }
            _ => write!(f, "errno {}", self.0),
        }
    }
}
