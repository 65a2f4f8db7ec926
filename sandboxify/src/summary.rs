//! `sandboxify --summary FILE...`: the violations in JSON-lines reports
//! (`SANDBOX_REPORT_JSON`: the kills named, the calls a `log` policy lets
//! through, the errno and trap calls counted; see
//! `sandbox_policy::violation`), merged across
//! processes and files, as the changes to the policy that would let those
//! calls run.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

use sandbox_policy::{Action, violation};
use serde_json::Value;

use crate::failure::Failure;

/// What the violations of one call (by name and ABI) say.
#[derive(Default)]
struct Seen {
    count: u64,
    rules: BTreeSet<String>,
}

/// Reads every line of `files` and prints, per call, how many times it was
/// killed (a kill ends its process, which reports it once), let through,
/// failed or trapped, and by which rule; then the calls to add to the allow
/// list and the entries to remove (for a kill after an exec, the deny entry
/// naming the call: the inherited filter does not know which). A line that
/// is not a violation of the sandbox's is refused with its file and line
/// number.
pub fn summary(files: &[PathBuf]) -> Result<String, Failure> {
    let mut seen: BTreeMap<(String, String), Seen> = BTreeMap::new();
    let mut add = BTreeSet::new();
    let mut remove = BTreeSet::new();
    // Calls killed by a deny entry inherited across exec, which is not known.
    let mut remove_unknown = BTreeSet::new();
    let (mut kills, mut logged, mut failed, mut trapped) = (0u64, 0u64, 0u64, 0u64);
    for file in files {
        let text = fs::read_to_string(file)
            .map_err(|error| Failure::Usage(format!("--summary: cannot read {}: {error}", file.display())))?;
        for (index, line) in text.lines().enumerate().filter(|(_, line)| !line.trim().is_empty()) {
            let bad = |what: &str| Failure::Usage(format!("--summary: {}:{}: {what}", file.display(), index + 1));
            let event: Value = serde_json::from_str(line).map_err(|error| bad(&format!("not JSON: {error}")))?;
            let text_field = |name: &str| event.get(name).and_then(Value::as_str);
            match text_field("action").map(Action::parse) {
                Some(Some(Action::Kill)) => kills += 1,
                Some(Some(Action::Log)) => logged += 1,
                Some(Some(Action::Errno(_))) => failed += 1,
                Some(Some(Action::Trap)) => trapped += 1,
                _ => {
                    return Err(bad(
                        "not a violation the sandbox reported (\"action\" is not kill, log, trap or an errno)",
                    ));
                }
            }
            let call = match (text_field("call"), event.get("nr").and_then(Value::as_u64)) {
                (Some(call), _) => call.to_owned(),
                (None, Some(nr)) => format!("system call {nr}"),
                (None, None) => return Err(bad("no call and no number")),
            };
            let abi = text_field("abi").unwrap_or("unknown ABI").to_owned();
            let rule = text_field("rule").ok_or_else(|| bad("no rule"))?;
            match (text_field("fix"), text_field("call")) {
                (Some("add"), Some(name)) => {
                    add.insert(name.to_owned());
                }
                (Some("remove"), Some(name)) if violation::is_inherited_rule(rule) => {
                    remove_unknown.insert(name.to_owned());
                }
                (Some("remove"), _) => {
                    remove.insert(rule.to_owned());
                }
                _ => {}
            }
            let entry = seen.entry((call, abi)).or_default();
            entry.count += 1;
            entry.rules.insert(rule.to_owned());
        }
    }
    let mut out = String::new();
    let _ = write!(out, "{kills} processes killed, {logged} calls let through (log)");
    if failed + trapped > 0 {
        let _ = write!(out, ", {failed} failed by an errno action, {trapped} trapped");
    }
    out.push_str(":\n");
    for ((call, abi), seen) in &seen {
        let rules: Vec<&str> = seen.rules.iter().map(String::as_str).collect();
        let _ = writeln!(out, "  {call} [{abi}] ×{}: {}", seen.count, rules.join("; "));
    }
    if !add.is_empty() {
        let add: Vec<&str> = add.iter().map(String::as_str).collect();
        let _ = writeln!(out, "add to the allow list: {}", add.join(":"));
    }
    for rule in &remove {
        let _ = writeln!(out, "remove the entry: {rule}");
    }
    for call in &remove_unknown {
        let _ = writeln!(
            out,
            "remove the deny entry that names {call} (killed after an exec, where the entry is not known: it may \
             be a group holding {call})"
        );
    }
    Ok(out)
}
