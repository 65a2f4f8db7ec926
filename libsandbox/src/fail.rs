//! The library's only output: one line on stderr.

use alloc::format;
use alloc::string::ToString;
use core::fmt::Display;

/// The exit status when the sandbox cannot be set up as asked.
pub const EXIT_STATUS: i32 = 125;

/// Writes `libsandbox: <message>` to stderr, as one line, without buffering
/// or allocation beyond the line itself (stdio may not be usable yet).
pub fn say(message: &str) {
    let line = format!("libsandbox: {}\n", sandbox_policy::one_line(message));
    // SAFETY: writes bytes from a live buffer; a closed stderr just fails.
    unsafe { libc::write(libc::STDERR_FILENO, line.as_ptr().cast(), line.len()) };
}

/// Reports `error` and ends the process before any of the program's code runs.
/// `_exit` skips atexit handlers and destructors, which are program code.
pub fn fail(error: &dyn Display) -> ! {
    say(&error.to_string());
    stop()
}

/// Ends the process with [`EXIT_STATUS`], once the reason has been reported.
pub fn stop() -> ! {
    // SAFETY: _exit never returns and touches no program state.
    unsafe { libc::_exit(EXIT_STATUS) }
}
