//! Turns the tables in `data/` into sorted static Rust tables, so that
//! resolving a name at start-up is a binary search over constant data with
//! no parsing, and a mistake in the data fails the build.

use std::collections::BTreeMap;
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

#[path = "src/name_hash.rs"]
mod name_hash;

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
    let mut names = String::new();
    let mut members_table: Vec<u16> = Vec::new();
    let mut out = format!("pub(crate) static GROUPS: [Group; {}] = [\n", groups.len());
    for (name, members) in &groups {
        let every = members == &["*"];
        let start = members_table.len();
        if !every {
            for member in members {
                let code = if member.starts_with('@') {
                    let index =
                        group_index(member).unwrap_or_else(|| panic!("{source}: {name}: unknown group {member}"));
                    GROUP_BIT | index as u16
                } else {
                    rows.iter()
                        .position(|row| &row.name == member)
                        .unwrap_or_else(|| panic!("{source}: {name}: unknown system call {member}"))
                        as u16
                };
                members_table.push(code);
            }
        }
        writeln!(
            out,
            "    Group {{ name: ({}, {}), every: {every}, members: ({start}, {}) }},",
            names.len(),
            name.len(),
            members_table.len() - start
        )
        .unwrap();
        names.push_str(name);
    }
    out.push_str("];\n");
    writeln!(out, "const GROUP_NAMES: &str = {names:?};").unwrap();
    writeln!(out, "pub(crate) static GROUP_MEMBERS: [u16; {}] = {members_table:?};", members_table.len()).unwrap();
    writeln!(out, "/// Marks a group member that is a group.\npub(crate) const GROUP_BIT: u16 = {GROUP_BIT};").unwrap();
    out
}

/// In a group's member list, marks an index into GROUPS (else into SYSCALLS).
const GROUP_BIT: u16 = 0x8000;

/// Argument kinds packed in a u16: the count in the low 3 bits (7: unknown),
/// then 2 bits per argument (0 int, 1 long, 2 pointer).
fn packed_args(args: &Option<Vec<&'static str>>) -> u16 {
    let Some(kinds) = args else { return 7 };
    kinds.iter().enumerate().fold(kinds.len() as u16, |packed, (index, kind)| {
        let code = match *kind {
            "Int" => 0,
            "Long" => 1,
            _ => 2,
        };
        packed | code << (3 + 2 * index)
    })
}

fn main() {
    let rows = syscalls();
    // Plain integers only, no pointers: the tables need no relocation when
    // the library is loaded, and stay in read-only pages shared by every
    // process (a table of &str would be rewritten at every program start).
    let mut out = String::new();
    let mut names = String::new();
    writeln!(out, "pub(crate) static SYSCALLS: [Syscall; {}] = [", rows.len()).unwrap();
    for (index, row) in rows.iter().enumerate() {
        let number = |n: Option<u32>| n.map_or(u16::MAX, |n| u16::try_from(n).expect("numbers fit in u16"));
        writeln!(
            out,
            "    Syscall {{ name: ({}, {}), index: {index}, numbers: [{}, {}], args: {} }},",
            names.len(),
            row.name.len(),
            number(row.numbers[0]),
            number(row.numbers[1]),
            packed_args(&row.args)
        )
        .unwrap();
        names.push_str(&row.name);
    }
    writeln!(out, "];").unwrap();
    writeln!(out, "const NAMES: &str = {names:?};").unwrap();

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
    // Open addressing over the names, probed linearly from name_hash::slot.
    let mut slots = vec![u16::MAX; name_hash::SLOTS];
    for (index, row) in rows.iter().enumerate() {
        let mut slot = name_hash::slot(&row.name);
        while slots[slot] != u16::MAX {
            slot = (slot + 1) % name_hash::SLOTS;
        }
        slots[slot] = index as u16;
    }
    writeln!(out, "pub(crate) static NAME_SLOTS: [u16; {}] = {slots:?};", slots.len()).unwrap();

    let index_of = |source: &str, name: &str| -> u16 {
        rows.iter().position(|row| row.name == name).unwrap_or_else(|| panic!("{source}: unknown system call {name}"))
            as u16
    };
    let source = "data/families.txt";
    let mut families: Vec<(u16, u16)> = Vec::new();
    for (_, line) in lines(source) {
        // `MEMBERS > DOORS`: the doors are denied with any member, not the reverse.
        let (members, doors) = line.split_once(" > ").unwrap_or((line.as_str(), ""));
        let indices = |names: &str| -> Vec<u16> {
            names.split(' ').filter(|name| !name.is_empty()).map(|name| index_of(source, name)).collect()
        };
        let (members, doors) = (indices(members), indices(doors));
        for &a in &members {
            families.extend(members.iter().chain(&doors).filter(|&&b| b != a).map(|&b| (a, b)));
        }
    }
    families.sort();
    let pairs_of = |source: &str| -> Vec<(u16, u16)> {
        lines(source)
            .into_iter()
            .map(|(line, text)| {
                let (a, b) = text.split_once('\t').unwrap_or_else(|| panic!("{source}:{line}: expected two names"));
                (index_of(source, a), index_of(source, b))
            })
            .collect()
    };
    let mut successors = pairs_of("data/successors.tsv");
    successors.sort();
    let fallbacks = pairs_of("data/fallbacks.tsv");
    for (name, table) in [("FAMILY_PAIRS", &families), ("SUCCESSOR_PAIRS", &successors), ("FALLBACK_PAIRS", &fallbacks)]
    {
        writeln!(out, "pub(crate) static {name}: [(u16, u16); {}] = {table:?};", table.len()).unwrap();
    }

    let out_dir = env::var("OUT_DIR").unwrap();
    fs::write(Path::new(&out_dir).join("syscall_table.rs"), out).unwrap();
    fs::write(Path::new(&out_dir).join("group_table.rs"), groups(&rows)).unwrap();
}
