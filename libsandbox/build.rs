// -z now: ld.so binds every symbol of the library when it loads it, so that
// the early phase (src/early.rs), which runs from the last relocation, can
// call into libc.
fn main() {
    println!("cargo::rustc-cdylib-link-arg=-Wl,-z,now");
}
