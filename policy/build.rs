//! Turns the tables in `data/` into static Rust tables, so that nothing is
//! parsed at start-up (a name is found through a hash table built here, a
//! family's doors through sorted pairs), and a mistake in the data fails
//! the build.

use std::collections::BTreeMap;
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

#[path = "src/tables/name_hash.rs"]
mod name_hash;
// Shared with the crate, which reads what this packs; some of it is for
// reading only.
#[path = "src/tables/packing.rs"]
#[allow(dead_code)]
mod packing;

use packing::{ArgKind, ArgKinds, I386Registers};

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
    /// x86_64, i386, aarch64 (the order of `Abi`).
    numbers: [Option<u32>; 3],
    args: Option<Vec<ArgKind>>,
    /// For each argument as conditions name it, the i386 register that
    /// carries it alike (see `i386_layout`).
    i386: I386Registers,
}

fn syscalls() -> Vec<Row> {
    let source = "data/syscalls.tsv";
    let mut rows: Vec<Row> = lines(source)
        .into_iter()
        .map(|(line, text)| {
            let fields: Vec<&str> = text.split('\t').collect();
            assert!(fields.len() == 4, "{source}:{line}: expected 4 tab-separated fields");
            let number = |field: &str| -> Option<u32> {
                (field != "-").then(|| field.parse().unwrap_or_else(|_| panic!("{source}:{line}: bad number {field}")))
            };
            Row {
                name: fields[0].to_owned(),
                numbers: [number(fields[1]), number(fields[2]), number(fields[3])],
                args: None,
                i386: I386Registers::UNMAPPED,
            }
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
        let kinds: Vec<ArgKind> = kinds
            .split_whitespace()
            .map(|kind| ArgKind::from_word(kind).unwrap_or_else(|| panic!("{source}:{line}: unknown kind {kind}")))
            .collect();
        assert!(kinds.len() <= 6, "{source}:{line}: more than 6 arguments");
        row.args = Some(kinds);
    }
    for row in &rows {
        assert!(row.numbers[0].is_none() || row.args.is_some(), "{source}: no argument kinds for {}", row.name);
        // aarch64's conditions are read with x86_64's kinds (see `on_aarch64`).
        assert!(row.numbers[2].is_none() || row.numbers[0].is_some(), "{source}: {} only on aarch64", row.name);
    }
    i386_layout(&mut rows);
    rows
}

/// Reads `data/syscall-args-i386.tsv`: for each call, which i386 register
/// carries each argument as its conditions name it, 4 bits per argument
/// (15: none alike, so conditions on it are not tested there). A call that
/// x86_64 has too maps its x86_64 arguments where i386 holds the same bits
/// in one register (`=`); one that only i386 has names its own registers,
/// and takes its kinds from the table, so that conditions can be written
/// for it.
fn i386_layout(rows: &mut [Row]) {
    let source = "data/syscall-args-i386.tsv";
    for (line, text) in lines(source) {
        let fields: Vec<&str> = text.split('\t').collect();
        assert!(fields.len() == 7, "{source}:{line}: expected 7 tab-separated fields");
        let (name, kinds, map, widen) = (fields[0], fields[1], fields[2], fields[4]);
        let row =
            rows.iter_mut().find(|row| row.name == name).unwrap_or_else(|| panic!("{source}:{line}: unknown {name}"));
        assert!(row.numbers[1].is_some(), "{source}:{line}: {name} has no i386 number");
        let kinds: Vec<&str> = kinds.split_whitespace().collect();
        let mut registers = I386Registers::UNMAPPED;
        if row.numbers[0].is_some() {
            for (index, (register, widen)) in map.split_whitespace().zip(widen.split_whitespace()).enumerate() {
                if let (Ok(register), "=") = (register.parse::<u32>(), widen) {
                    registers = registers.with(index, register);
                }
            }
        } else {
            let mut args = Vec::new();
            for (index, kind) in kinds.iter().enumerate() {
                // `lo`, `hi`: half of a 64-bit value; `-`: no register alike.
                let (kind, mapped) = match *kind {
                    "lo" | "hi" | "-" => (ArgKind::Long, false),
                    word => (
                        ArgKind::from_word(word).unwrap_or_else(|| panic!("{source}:{line}: unknown kind {word}")),
                        true,
                    ),
                };
                args.push(kind);
                if mapped {
                    registers = registers.with(index, index as u32);
                }
            }
            row.args = Some(args);
        }
        row.i386 = registers;
    }
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

/// `data/families.txt` as tables: every door of every member (members are
/// doors of each other), sorted by member, each with its test and its
/// family; the leaks; and each family's source comment.
fn families(rows: &[Row], index_of: &dyn Fn(&str, &str) -> u16) -> String {
    let source = "data/families.txt";
    println!("cargo::rerun-if-changed={source}");
    let text = fs::read_to_string(source).unwrap();
    let (mut doors, mut leaks, mut sources) = (Vec::new(), Vec::new(), Vec::<String>::new());
    let mut comment = String::new();
    for (number, line) in text.lines().enumerate().map(|(index, line)| (index + 1, line.trim_end())) {
        if let Some(text) = line.strip_prefix('#') {
            comment = text.trim().to_owned();
            continue;
        }
        if line.is_empty() {
            continue;
        }
        assert!(!comment.is_empty(), "{source}:{number}: a family needs its source in a comment above it");
        let family = sources.len() as u16;
        sources.push(comment.clone());
        let (line, leaked) = line.split_once(" ~ ").unwrap_or((line, ""));
        let (members, one_way) = line.split_once(" > ").unwrap_or((line, ""));
        let members: Vec<u16> = members.split(' ').map(|name| index_of(source, name)).collect();
        let one_way: Vec<(u16, String)> =
            tokens(one_way).iter().map(|token| door(rows, index_of, &format!("{source}:{number}"), token)).collect();
        for &member in &members {
            let others = members.iter().filter(|&&other| other != member).map(|&other| (other, "Always".to_owned()));
            for (to, test) in others.chain(one_way.iter().cloned()) {
                doors.push(format!("Door {{ from: {member}, to: {to}, test: DoorTest::{test}, family: {family} }}"));
            }
            for leak in leaked.split(' ').filter(|name| !name.is_empty()) {
                leaks.push((member, index_of(source, leak), family));
            }
        }
    }
    // Sorted by member: a member's doors are one run, found by binary search.
    let member =
        |door: &String| -> u16 { door.split("from: ").nth(1).unwrap().split(',').next().unwrap().parse().unwrap() };
    doors.sort_by_key(member);
    leaks.sort();
    let mut text = String::new();
    let mut out = format!("pub(crate) static FAMILY_DOORS: [Door; {}] = [\n", doors.len());
    for door in &doors {
        writeln!(out, "    {door},").unwrap();
    }
    out.push_str("];\n");
    writeln!(out, "pub(crate) static FAMILY_LEAKS: [(u16, u16, u16); {}] = {leaks:?};", leaks.len()).unwrap();
    let mut spans = Vec::new();
    for comment in &sources {
        spans.push((text.len() as u32, comment.len() as u32));
        text.push_str(comment);
    }
    writeln!(out, "pub(crate) static FAMILY_SOURCES: [(u32, u32); {}] = {spans:?};", spans.len()).unwrap();
    writeln!(out, "const FAMILY_SOURCE_TEXT: &str = {text:?};").unwrap();
    out
}

/// The space-separated tokens of `text`, a space inside parentheses
/// belonging to its token.
fn tokens(text: &str) -> Vec<String> {
    let mut tokens = vec![String::new()];
    let mut depth = 0;
    for c in text.chars() {
        match c {
            ' ' if depth == 0 => tokens.push(String::new()),
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if c != ' ' || depth > 0 {
            tokens.last_mut().unwrap().push(c);
        }
    }
    tokens.retain(|token| !token.is_empty());
    tokens
}

/// One door, `name`, `name=ENOSYS` or `name(argN OP VALUE)` with OP `==`,
/// `!=` or `>`, or `name(argN & MASK == VALUE)`: its call and its test.
fn door(rows: &[Row], index_of: &dyn Fn(&str, &str) -> u16, at: &str, token: &str) -> (u16, String) {
    if let Some(name) = token.strip_suffix("=ENOSYS") {
        return (index_of(at, name), "Enosys".to_owned());
    }
    let Some((name, condition)) = token.split_once('(') else { return (index_of(at, token), "Always".to_owned()) };
    let call = index_of(at, name);
    let condition = condition.strip_suffix(')').unwrap_or_else(|| panic!("{at}: {token}: no )"));
    let number = |text: &str| -> u64 {
        let parsed = match text.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => text.parse(),
        };
        parsed.unwrap_or_else(|_| panic!("{at}: {token}: bad number {text}"))
    };
    let words: Vec<&str> = condition.split(' ').collect();
    let argument = words[0]
        .strip_prefix("arg")
        .and_then(|index| index.parse::<u8>().ok())
        .filter(|&index| index < 6)
        .unwrap_or_else(|| panic!("{at}: {token}: expected arg0 to arg5"));
    let row = &rows[usize::from(call)];
    // A pointer's value may only be told from NULL: what it points to is
    // read after the filter, but whether the kernel reads at all is not.
    let pointer = row.args.as_ref().and_then(|kinds| kinds.get(usize::from(argument))) == Some(&ArgKind::Pointer);
    assert!(!pointer || matches!(words[1..], ["==" | "!=", "0"]), "{at}: {token}: a condition on a pointer");
    let test = match words[1..] {
        ["==", value] => format!("Eq({argument}, {})", number(value)),
        ["!=", value] => format!("Ne({argument}, {})", number(value)),
        [">", value] => format!("Gt({argument}, {})", number(value)),
        ["&", mask, "==", value] => format!("Masked({argument}, {}, {})", number(mask), number(value)),
        _ => panic!("{at}: {token}: expected argN == V, argN != V, argN > V or argN & M == V"),
    };
    (call, test)
}

/// `data/i386-multiplexers.tsv` as `Multiplexer`s over one array of
/// (call, operation) pairs.
fn i386_multiplexers(rows: &[Row], index_of: &dyn Fn(&str, &str) -> u16) -> String {
    let source = "data/i386-multiplexers.tsv";
    let mut multiplexers = Vec::new();
    let mut members: Vec<(u16, u16)> = Vec::new();
    for (line, text) in lines(source) {
        let fields: Vec<&str> = text.split('\t').collect();
        assert!(fields.len() == 3, "{source}:{line}: expected 3 tab-separated fields");
        let mask = fields[1]
            .strip_prefix("0x")
            .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            .unwrap_or_else(|| panic!("{source}:{line}: bad mask {}", fields[1]));
        let call = index_of(source, fields[0]);
        assert!(rows[usize::from(call)].numbers[1].is_some(), "{source}:{line}: {} has no i386 number", fields[0]);
        let first = members.len();
        for member in fields[2].split(' ') {
            let (name, operation) =
                member.split_once(':').unwrap_or_else(|| panic!("{source}:{line}: expected call:operation"));
            let operation = operation.parse().unwrap_or_else(|_| panic!("{source}:{line}: bad operation {operation}"));
            members.push((index_of(source, name), operation));
        }
        multiplexers
            .push(format!("Multiplexer {{ call: {call}, mask: {mask:#x}, members: ({first}, {}) }}", members.len()));
    }
    format!(
        "pub(crate) static I386_MULTIPLEXERS: [Multiplexer; {}] = [{}];\n\
         static I386_MULTIPLEXED: [(u16, u16); {}] = {members:?};",
        multiplexers.len(),
        multiplexers.join(", "),
        members.len()
    )
}

/// Reads `data/aarch64-equivalents.tsv` into sorted pairs (an x86_64 call,
/// a call aarch64 makes in its place), checking that it covers every call
/// x86_64 has and aarch64 lacks, and only those.
fn aarch64_equivalents(rows: &[Row], index_of: &dyn Fn(&str, &str) -> u16) -> String {
    let source = "data/aarch64-equivalents.tsv";
    let mut pairs: Vec<(u16, u16)> = Vec::new();
    let mut covered = Vec::new();
    for (line, text) in lines(source) {
        let (name, equivalents) =
            text.split_once('\t').unwrap_or_else(|| panic!("{source}:{line}: expected a name, a tab, the calls"));
        let call = index_of(source, name);
        let numbers = rows[usize::from(call)].numbers;
        assert!(numbers[0].is_some() && numbers[2].is_none(), "{source}:{line}: {name} is not x86_64's alone");
        covered.push(call);
        for equivalent in equivalents.split(' ').filter(|&word| word != "-") {
            let other = index_of(source, equivalent);
            assert!(rows[usize::from(other)].numbers[2].is_some(), "{source}:{line}: {equivalent} is not aarch64's");
            pairs.push((call, other));
        }
    }
    for (index, row) in rows.iter().enumerate() {
        let x86_64_only = row.numbers[0].is_some() && row.numbers[2].is_none();
        assert!(!x86_64_only || covered.contains(&(index as u16)), "{source}: {} is missing", row.name);
    }
    pairs.sort();
    format!("pub(crate) static AARCH64_EQUIVALENTS: [(u16, u16); {}] = {pairs:?};", pairs.len())
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
            "    Syscall {{ name: ({}, {}), index: {index}, numbers: [{}, {}, {}], args: {}, i386: {:#x} }},",
            names.len(),
            row.name.len(),
            number(row.numbers[0]),
            number(row.numbers[1]),
            number(row.numbers[2]),
            row.args.as_deref().map_or(ArgKinds::UNKNOWN, ArgKinds::pack),
            row.i386.packed()
        )
        .unwrap();
        names.push_str(&row.name);
    }
    writeln!(out, "];").unwrap();
    writeln!(out, "const NAMES: &str = {names:?};").unwrap();

    // Reverse tables, indexed by number, holding an index into SYSCALLS.
    let mut longest = 0;
    for (abi, column) in [("X86_64", 0), ("I386", 1), ("AARCH64", 2)] {
        let numbered: Vec<(u32, usize)> =
            rows.iter().enumerate().filter_map(|(index, row)| row.numbers[column].map(|nr| (nr, index))).collect();
        let len = numbered.iter().map(|(nr, _)| nr + 1).max().unwrap_or(0) as usize;
        let mut by_number = vec![u16::MAX; len];
        for (nr, index) in numbered {
            assert!(by_number[nr as usize] == u16::MAX, "number {nr} used twice on {abi}");
            by_number[nr as usize] = index as u16;
        }
        writeln!(out, "pub(crate) static {abi}_BY_NUMBER: [u16; {len}] = {by_number:?};").unwrap();
        longest = longest.max(len);
    }
    writeln!(out, "/// How many numbers the longest of the ABIs' tables covers (from 0).").unwrap();
    writeln!(out, "pub const NUMBERS: usize = {longest};").unwrap();
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
    let family_table = families(&rows, &index_of);
    let pairs_of = |source: &str| -> Vec<(u16, u16)> {
        lines(source)
            .into_iter()
            .map(|(line, text)| {
                let (a, b) = text.split_once('\t').unwrap_or_else(|| panic!("{source}:{line}: expected two names"));
                (index_of(source, a), index_of(source, b))
            })
            .collect()
    };
    writeln!(out, "{}", aarch64_equivalents(&rows, &index_of)).unwrap();
    let mut successors = pairs_of("data/successors.tsv");
    successors.sort();
    let fallbacks = pairs_of("data/fallbacks.tsv");
    for (name, table) in [("SUCCESSOR_PAIRS", &successors), ("FALLBACK_PAIRS", &fallbacks)] {
        writeln!(out, "pub(crate) static {name}: [(u16, u16); {}] = {table:?};", table.len()).unwrap();
    }

    writeln!(out, "{}", i386_multiplexers(&rows, &index_of)).unwrap();

    let out_dir = env::var("OUT_DIR").unwrap();
    fs::write(Path::new(&out_dir).join("syscall_table.rs"), out).unwrap();
    fs::write(Path::new(&out_dir).join("group_table.rs"), groups(&rows)).unwrap();
    fs::write(Path::new(&out_dir).join("family_table.rs"), family_table).unwrap();
}
