// A Rust program (linked by rustc's default linker, lld) for the
// patchelf-helper tests.
fn main() {
    println!("hello from rust with {} argument(s)", std::env::args().count() - 1);
    std::process::exit(3);
}
