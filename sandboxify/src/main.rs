// No std runtime set-up: sandboxify execs PROGRAM at once, and std's
// start-up (stack-guard probing through /proc/self/maps, a signal stack,
// SIGPIPE ignored) would cost time and change what PROGRAM inherits.
#![no_main]

#[unsafe(no_mangle)]
extern "C" fn main(_argc: std::ffi::c_int, _argv: *const *const std::ffi::c_char) -> std::ffi::c_int {
    sandboxify::main()
}
