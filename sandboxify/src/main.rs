fn main() {
    std::process::exit(sandboxify::main());
}
