//! Reading policy files with libc (the library has no std).

use alloc::ffi::CString;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use sandbox_policy::sys::Errno;
use sandbox_policy::text::file::{Files, MAX_FILE_BYTES, TOO_LARGE};
use sandbox_policy::text::oci;

/// Policy files, read with open(2) and read(2).
pub struct Libc;

impl Files for Libc {
    fn read(&mut self, path: &str) -> Result<String, String> {
        let c_path = CString::new(path).map_err(|_| "the path contains a NUL byte".to_string())?;
        // SAFETY: open(2) with a NUL-terminated path.
        let fd = unsafe { libc::open(c_path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(Errno::last().to_string());
        }
        let mut bytes = Vec::new();
        let mut chunk = [0u8; 4096];
        let result = loop {
            // SAFETY: read(2) into a live buffer of the given length.
            let n = unsafe { libc::read(fd, chunk.as_mut_ptr().cast(), chunk.len()) };
            match n {
                0 => break Ok(()),
                n if n > 0 => {
                    bytes.extend_from_slice(&chunk[..n as usize]);
                    if bytes.len() > MAX_FILE_BYTES {
                        break Err(TOO_LARGE.to_string());
                    }
                }
                _ if Errno::last().0 == libc::EINTR => {}
                _ => break Err(Errno::last().to_string()),
            }
        };
        // SAFETY: closes the descriptor opened above.
        unsafe { libc::close(fd) };
        result?;
        String::from_utf8(bytes).map_err(|_| "not valid UTF-8".to_string())
    }

    fn host(&mut self) -> Option<oci::Host> {
        sandbox_policy::sys::host::current()
    }
}
