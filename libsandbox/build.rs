// -z now: ld.so binds every symbol of the library when it loads it, so that
// the early phase (src/early.rs), which runs from the last relocation, can
// call into libc.
// -z initfirst: ld.so runs the library's constructor before any other
// initialisation code, the program's DT_PREINIT_ARRAY and libc's own
// included (see src/lib.rs).
fn main() {
    println!("cargo::rustc-cdylib-link-arg=-Wl,-z,now");
    println!("cargo::rustc-cdylib-link-arg=-Wl,-z,initfirst");
}
