// -z now: ld.so binds every symbol of the library when it loads it, so that
// the early phase (src/early.rs), which runs from the last relocation, can
// call into libc.
// -z initfirst: ld.so runs the library's constructor before any other
// initialisation code, the program's DT_PREINIT_ARRAY and libc's own
// included (see src/lib.rs).
// -nostartfiles: no C start files (crti, crtbeginS, crtendS, crtn). Their
// _init and _fini, the C++ destructor and transactional-memory hooks serve
// C and C++ code, of which the library has none; each process paid for them
// in page faults: a 64 KiB window of text at each end of the library, and a
// third page of relocated data, which their pointers pushed past two pages.
fn main() {
    println!("cargo::rustc-cdylib-link-arg=-Wl,-z,now");
    println!("cargo::rustc-cdylib-link-arg=-Wl,-z,initfirst");
    println!("cargo::rustc-cdylib-link-arg=-nostartfiles");
}
