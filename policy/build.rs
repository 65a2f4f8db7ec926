//! Turns `data/syscalls.tsv` into sorted static tables, so that resolving a
//! name at start-up is a binary search over constant data with no parsing.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

fn main() {
    let source = "data/syscalls.tsv";
    println!("cargo::rerun-if-changed={source}");
    let text = fs::read_to_string(source).expect("read data/syscalls.tsv");

    let mut rows: Vec<(String, Option<u32>, Option<u32>)> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        assert!(fields.len() == 3, "{source}:{}: expected 3 tab-separated fields", index + 1);
        let number = |field: &str| -> Option<u32> {
            (field != "-")
                .then(|| field.parse().unwrap_or_else(|_| panic!("{source}:{}: bad number {field}", index + 1)))
        };
        rows.push((fields[0].to_owned(), number(fields[1]), number(fields[2])));
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    for pair in rows.windows(2) {
        assert!(pair[0].0 != pair[1].0, "{source}: duplicate name {}", pair[0].0);
    }

    let mut out = String::new();
    writeln!(out, "pub(crate) static SYSCALLS: [Syscall; {}] = [", rows.len()).unwrap();
    for (index, (name, x86_64, i386)) in rows.iter().enumerate() {
        writeln!(out, "    Syscall {{ name: {name:?}, index: {index}, numbers: [{x86_64:?}, {i386:?}] }},").unwrap();
    }
    writeln!(out, "];").unwrap();

    // Reverse tables, indexed by number, holding an index into SYSCALLS.
    for (abi, column) in [("X86_64", 1), ("I386", 2)] {
        let numbered: Vec<(u32, usize)> = rows
            .iter()
            .enumerate()
            .filter_map(|(index, row)| if column == 1 { row.1 } else { row.2 }.map(|nr| (nr, index)))
            .collect();
        let len = numbered.iter().map(|(nr, _)| nr + 1).max().unwrap_or(0) as usize;
        let mut by_number = vec![u16::MAX; len];
        for (nr, index) in numbered {
            assert!(by_number[nr as usize] == u16::MAX, "{source}: number {nr} used twice on {abi}");
            by_number[nr as usize] = index as u16;
        }
        writeln!(out, "pub(crate) static {abi}_BY_NUMBER: [u16; {len}] = {by_number:?};").unwrap();
    }

    let dest = Path::new(&env::var("OUT_DIR").unwrap()).join("syscall_table.rs");
    fs::write(dest, out).unwrap();
}
