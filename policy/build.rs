//! Turns the tables in `data/` into sorted static Rust tables, so that
//! resolving a name at start-up is a binary search over constant data with
//! no parsing, and a mistake in the data fails the build.

use std::collections::BTreeMap;
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

/// Meaningful lines of a data file: (line number, text).
fn lines(path: &str) -> Vec<(usize, String)> {
    println!("cargo::rerun-if-changed={path}");
    let text = fs::read_to_string(path).unwrap_or_else(|error| panic!("{path}: {error}"));
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim_end().to_owned()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .collect()
}

struct Row {
    name: String,
    numbers: [Option<u32>; 2],
    args: Option<Vec<&'static str>>,
}

fn syscalls() -> Vec<Row> {
    let source = "data/syscalls.tsv";
    let mut rows: Vec<Row> = lines(source)
        .into_iter()
        .map(|(line, text)| {
            let fields: Vec<&str> = text.split('\t').collect();
            assert!(fields.len() == 3, "{source}:{line}: expected 3 tab-separated fields");
            let number = |field: &str| -> Option<u32> {
                (field != "-").then(|| field.parse().unwrap_or_else(|_| panic!("{source}:{line}: bad number {field}")))
            };
            Row { name: fields[0].to_owned(), numbers: [number(fields[1]), number(fields[2])], args: None }
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    for pair in rows.windows(2) {
        assert!(pair[0].name != pair[1].name, "{source}: duplicate name {}", pair[0].name);
    }

    let source = "data/syscall-args.tsv";
    for (line, text) in lines(source) {
        // A call without arguments has nothing after the tab (trimmed away).
        let (name, kinds) = text.split_once('\t').unwrap_or((&text, ""));
        let row = rows
            .iter_mut()
            .find(|row| row.name == name)
            .unwrap_or_else(|| panic!("{source}:{line}: unknown system call {name}"));
        assert!(row.args.is_none(), "{source}:{line}: {name} listed twice");
        let kinds: Vec<&'static str> = kinds
            .split_whitespace()
            .map(|kind| match kind {
                "int" => "Int",
                "long" => "Long",
                "ptr" => "Pointer",
                other => panic!("{source}:{line}: unknown kind {other}"),
            })
            .collect();
        assert!(kinds.len() <= 6, "{source}:{line}: more than 6 arguments");
        row.args = Some(kinds);
    }
    for row in &rows {
        assert!(row.numbers[0].is_none() || row.args.is_some(), "{source}: no argument kinds for {}", row.name);
    }
    rows
}

fn groups(rows: &[Row]) -> String {
    let source = "data/groups.tsv";
    let groups: BTreeMap<String, Vec<String>> = lines(source)
        .into_iter()
        .map(|(line, text)| {
            let (name, members) =
                text.split_once('\t').unwrap_or_else(|| panic!("{source}:{line}: expected @group<TAB>members"));
            assert!(name.starts_with('@'), "{source}:{line}: a group name starts with @");
            (name.to_owned(), members.split(' ').filter(|m| !m.is_empty()).map(str::to_owned).collect())
        })
        .collect();
    let group_index = |name: &str| groups.keys().position(|known| known == name);
    let mut out = format!("pub(crate) static GROUPS: [Group; {}] = [\n", groups.len());
    for (name, members) in &groups {
        let every = members == &["*"];
        let members: Vec<String> = if every {
            Vec::new()
        } else {
            members
                .iter()
                .map(|member| {
                    if member.starts_with('@') {
                        let index =
                            group_index(member).unwrap_or_else(|| panic!("{source}: {name}: unknown group {member}"));
                        format!("Member::Group({index})")
                    } else {
                        let index = rows
                            .iter()
                            .position(|row| &row.name == member)
                            .unwrap_or_else(|| panic!("{source}: {name}: unknown system call {member}"));
                        format!("Member::Syscall({index})")
                    }
                })
                .collect()
        };
        writeln!(out, "    Group {{ name: {name:?}, every: {every}, members: &[{}] }},", members.join(", ")).unwrap();
    }
    out.push_str("];\n");
    out
}

fn main() {
    let rows = syscalls();
    let mut out = String::new();
    writeln!(out, "pub(crate) static SYSCALLS: [Syscall; {}] = [", rows.len()).unwrap();
    for (index, row) in rows.iter().enumerate() {
        let args = match &row.args {
            Some(kinds) => {
                let kinds: Vec<String> = kinds.iter().map(|kind| format!("ArgKind::{kind}")).collect();
                format!("Some(&[{}])", kinds.join(", "))
            }
            None => "None".to_owned(),
        };
        writeln!(
            out,
            "    Syscall {{ name: {:?}, index: {index}, numbers: [{:?}, {:?}], args: {args} }},",
            row.name, row.numbers[0], row.numbers[1]
        )
        .unwrap();
    }
    writeln!(out, "];").unwrap();

    // Reverse tables, indexed by number, holding an index into SYSCALLS.
    for (abi, column) in [("X86_64", 0), ("I386", 1)] {
        let numbered: Vec<(u32, usize)> =
            rows.iter().enumerate().filter_map(|(index, row)| row.numbers[column].map(|nr| (nr, index))).collect();
        let len = numbered.iter().map(|(nr, _)| nr + 1).max().unwrap_or(0) as usize;
        let mut by_number = vec![u16::MAX; len];
        for (nr, index) in numbered {
            assert!(by_number[nr as usize] == u16::MAX, "number {nr} used twice on {abi}");
            by_number[nr as usize] = index as u16;
        }
        writeln!(out, "pub(crate) static {abi}_BY_NUMBER: [u16; {len}] = {by_number:?};").unwrap();
    }
    let out_dir = env::var("OUT_DIR").unwrap();
    fs::write(Path::new(&out_dir).join("syscall_table.rs"), out).unwrap();
    fs::write(Path::new(&out_dir).join("group_table.rs"), groups(&rows)).unwrap();
}
