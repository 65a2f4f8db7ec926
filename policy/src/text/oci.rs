//! OCI runtime-spec seccomp profiles (`linux.seccomp`: Docker's, podman's
//! and CRI-O's defaults, Kubernetes `localhost` profiles) → [`Lists`], read
//! as runc reads them with libseccomp, and Docker's extensions (`archMap`,
//! `includes`/`excludes` by capability, architecture and kernel) evaluated
//! against this process and kernel, as the engine does.
//!
//! The profile becomes an exact policy (nothing added: runc adds nothing).
//! What runc does is kept: rules for the default action are ignored, a rule
//! with several comparisons on one argument is one rule per comparison,
//! names this table does not know are skipped (libseccomp skips names it
//! does not know), an absent errno is `EPERM`, of a call's unconditional
//! rules the first wins, and calls newer than any the profile names fail
//! with ENOSYS unless the default lets them run (runc's stub, for libc's
//! fallbacks). What runc does by the order
//! of the rules is refused, as is what cannot be honoured here: one line
//! naming the rule and the field. Two things differ, both stricter:
//! arguments are compared as wide as the kernel reads them (a caller cannot
//! slip past an `int` comparison with the high word set), and x32 calls are
//! always refused. Comparisons our own language refuses (of a pointer but
//! for NULL, of an argument the call does not take, of bits the kernel does
//! not read) are refused here too.

#![forbid(unsafe_code)]

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use serde::Deserialize;

use crate::abi::{Abi, Arch};
use crate::action::Action;
use crate::condition::{self, Comparison, Condition, Field, Width, disjoint};
use crate::error::{ErrorKind, Origin, PolicyError};
use crate::tables::syscalls::{ArgKind, Syscall};
use crate::text::entry::{Entry, Target};
use crate::text::{Lists, Sourced, Switches};

/// What the `includes`/`excludes` of a Docker profile test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Host {
    /// The kernel's major and minor version.
    pub kernel: (u32, u32),
    /// The effective capabilities of the process the profile is for.
    pub capabilities: u64,
}

/// `ENOSYS`, what runc's stub returns.
const ENOSYS: u16 = 38;

/// The Go name of this architecture, which Docker's `arches` use.
const GO_ARCH: &str = "amd64";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Profile {
    default_action: String,
    default_errno_ret: Option<u32>,
    /// containers-common's spelling of the same, by name.
    default_errno: Option<String>,
    architectures: Option<Vec<String>>,
    arch_map: Option<Vec<ArchMap>>,
    flags: Option<Vec<String>>,
    listener_path: Option<String>,
    listener_metadata: Option<String>,
    syscalls: Option<Vec<Rule>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ArchMap {
    architecture: String,
    sub_architectures: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Rule {
    names: Option<Vec<String>>,
    /// Docker's older spelling: one name.
    name: Option<String>,
    action: String,
    errno_ret: Option<u32>,
    /// containers-common's spelling, by name.
    errno: Option<String>,
    args: Option<Vec<Argument>>,
    /// Accepted, and nothing to enforce.
    #[serde(rename = "comment")]
    _comment: Option<serde::de::IgnoredAny>,
    includes: Option<Filter>,
    excludes: Option<Filter>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Argument {
    index: u32,
    value: u64,
    value_two: Option<u64>,
    op: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Filter {
    caps: Option<Vec<String>>,
    arches: Option<Vec<String>>,
    min_kernel: Option<String>,
}

/// An action when all of its conditions hold (none: always).
type Decided = (Action, Vec<Condition>);

/// Whether `text` looks like a profile rather than a policy file.
pub fn is_profile(text: &str) -> bool {
    text.trim_start().starts_with('{')
}

/// The lists the profile at `path` (its `text`) asks for; `host` answers
/// Docker's conditions (`None`: a profile that has some is refused).
pub fn parse(origin: &Origin, path: &str, text: &str, host: Option<&Host>) -> Result<Lists, PolicyError> {
    let refuse = |message: String| PolicyError {
        origin: origin.clone(),
        kind: ErrorKind::Profile(format!("{path}: {message}")),
    };
    let profile: Profile = serde_json::from_str(text).map_err(|error| refuse(error.to_string()))?;
    let default = action(&profile.default_action, profile.default_errno_ret, profile.default_errno.as_deref())
        .map_err(|message| refuse(format!("defaultAction: {message}")))?;
    let switches = Switches { exact: true, refuse_i386: !covers_i386(&profile) };
    if default == Action::Allow && profile.syscalls.as_ref().is_none_or(|rules| rules.is_empty()) {
        return Ok(Lists { switches, ..Lists::default() });
    }
    for flag in profile.flags.iter().flatten() {
        // TSYNC is what every filter here gets; LOG only sends `log` calls to the audit log.
        if !matches!(flag.as_str(), "SECCOMP_FILTER_FLAG_TSYNC" | "SECCOMP_FILTER_FLAG_LOG") {
            return Err(refuse(format!("flags: {flag} cannot be honoured here")));
        }
    }
    if profile.listener_path.as_deref().is_some_and(|path| !path.is_empty()) || profile.listener_metadata.is_some() {
        return Err(refuse(
            "listenerPath: a user-notification listener (SCMP_ACT_NOTIFY) cannot be honoured here".to_owned(),
        ));
    }
    // Per call (by table index), every rule that applies. Indexed rather
    // than searched: the library reads a profile while the program starts.
    let mut calls: Vec<Vec<Decided>> = vec![Vec::new(); Syscall::all().len()];
    // Per ABI, the newest call a rule names, whatever its action (runc's stub).
    let mut newest: [Option<u32>; 2] = [None; 2];
    for (index, rule) in profile.syscalls.iter().flatten().enumerate() {
        let at = |message: String| refuse(format!("syscalls[{index}]: {message}"));
        if !applies(rule, host).map_err(at)? {
            continue;
        }
        let action = action(&rule.action, rule.errno_ret, rule.errno.as_deref()).map_err(at)?;
        let names = rule.names.iter().flatten().chain(rule.name.as_ref());
        let known: Vec<&'static Syscall> = names.filter_map(|name| Syscall::by_name(name)).collect();
        for (abi, newest) in Arch::X86_64.abis().iter().zip(&mut newest) {
            *newest = known.iter().filter_map(|syscall| syscall.number(*abi)).chain(*newest).max();
        }
        if action == default {
            continue;
        }
        for syscall in known {
            let alternatives = conditions(syscall, rule.args.as_deref().unwrap_or(&[])).map_err(at)?;
            calls[syscall.index()].extend(alternatives.into_iter().map(|conditions| (action, conditions)));
        }
    }
    // runc fails the calls newer than any the profile names with ENOSYS, so
    // that libc falls back to older ones, unless the default lets them run.
    if !matches!(default, Action::Allow | Action::Log) {
        for syscall in Syscall::all() {
            // Decided by the native number where there is one: runc's stub
            // decides each architecture by its own newest, and where the two
            // disagree (a call older than the newest on one only) the call is
            // refused either way, by ENOSYS or by the default.
            let (abi, nr) = match (syscall.number(Abi::X86_64), syscall.number(Abi::I386)) {
                (Some(nr), _) => (0, nr),
                (None, Some(nr)) => (1, nr),
                (None, None) => continue,
            };
            if newest[abi].is_some_and(|newest| nr > newest) {
                calls[syscall.index()].push((Action::Errno(ENOSYS), Vec::new()));
            }
        }
    }
    let limited = default != Action::Allow;
    let mut lists =
        Lists { allow: limited.then(Vec::new), deny: Vec::new(), default_action: limited.then_some(default), switches };
    for (syscall, rules) in Syscall::all().iter().zip(calls).filter(|(_, rules)| !rules.is_empty()) {
        for (action, conditions) in settle(syscall, rules).map_err(&refuse)? {
            // As our language spells it, for explanations.
            let rule = condition::Rule { conditions, action };
            let written = Some(format!("{} (OCI profile)", rule.entry(syscall.name())).into_boxed_str());
            let entry =
                Entry { target: Target::Syscall(syscall), conditions: rule.conditions, action: Some(action), written };
            let sourced = Sourced { origin: origin.clone(), entry };
            match (&mut lists.allow, action) {
                (Some(allow), Action::Allow) => allow.push(sourced),
                _ => lists.deny.push(sourced),
            }
        }
    }
    Ok(lists)
}

/// The rules of one call as libseccomp keeps them, in the profile's order:
/// the first unconditional rule wins and the rules after it are ignored;
/// or why they depend on an order libseccomp does not keep.
fn settle(syscall: &'static Syscall, rules: Vec<Decided>) -> Result<Vec<Decided>, String> {
    let name = syscall.name();
    let mut kept: Vec<Decided> = Vec::new();
    for (action, conditions) in rules {
        if conditions.is_empty() {
            if kept.iter().any(|(earlier, _)| *earlier != action) {
                return Err(format!(
                    "{name}: an unconditional rule after conditional rules with other actions (libseccomp \
                     refuses the profile)"
                ));
            }
            return Ok(vec![(action, conditions)]);
        }
        // A rule given twice (several entries name the call) is one rule.
        if !kept.iter().any(|(earlier, seen)| *earlier == action && *seen == conditions) {
            kept.push((action, conditions));
        }
    }
    for (i, (action_a, a)) in kept.iter().enumerate() {
        if kept[i + 1..].iter().any(|(action_b, b)| action_a != action_b && !disjoint(a, b)) {
            return Err(format!(
                "{name}: rules with different actions can match the same call (libseccomp decides by their order)"
            ));
        }
    }
    Ok(kept)
}

/// Whether the engine's filter gives i386 calls the profile's rules:
/// only if `SCMP_ARCH_X86` is among its architectures (Docker: without
/// `architectures`, the native one's `archMap` entry and its
/// sub-architectures). libseccomp adds the native architecture itself, and
/// kills calls of any other, i386 included, even under an allow-all default.
fn covers_i386(profile: &Profile) -> bool {
    let i386 = |name: &String| name == "SCMP_ARCH_X86";
    match &profile.architectures {
        Some(architectures) if !architectures.is_empty() => architectures.iter().any(i386),
        _ => profile
            .arch_map
            .iter()
            .flatten()
            .filter(|map| map.architecture == "SCMP_ARCH_X86_64")
            .any(|map| map.sub_architectures.iter().flatten().any(i386)),
    }
}

/// Whether Docker's `includes` and `excludes` let the rule apply here.
fn applies(rule: &Rule, host: Option<&Host>) -> Result<bool, String> {
    let empty = Filter::default();
    let (includes, excludes) = (rule.includes.as_ref().unwrap_or(&empty), rule.excludes.as_ref().unwrap_or(&empty));
    let tests = |filter: &Filter| {
        filter.caps.as_ref().is_some_and(|caps| !caps.is_empty())
            || filter.arches.as_ref().is_some_and(|arches| !arches.is_empty())
            || filter.min_kernel.is_some()
    };
    if !tests(includes) && !tests(excludes) {
        return Ok(true);
    }
    let host = host.ok_or("includes/excludes: no process to test them against here")?;
    let has = |name: &String| -> Result<bool, String> {
        let bit = capability(name).ok_or_else(|| format!("unknown capability {name:?}"))?;
        Ok(host.capabilities & (1 << bit) != 0)
    };
    let at_least = |version: &str| -> Result<bool, String> {
        let mut parts = version.split('.').map(|part| part.parse::<u32>());
        match (parts.next(), parts.next(), parts.next()) {
            (Some(Ok(major)), Some(Ok(minor)), None) => Ok(host.kernel >= (major, minor)),
            _ => Err(format!("minKernel: {version:?} is not MAJOR.MINOR")),
        }
    };
    let arch = |arches: &Option<Vec<String>>| arches.iter().flatten().any(|arch| arch == GO_ARCH);
    if arch(&excludes.arches) {
        return Ok(false);
    }
    for cap in excludes.caps.iter().flatten() {
        if has(cap)? {
            return Ok(false);
        }
    }
    if let Some(version) = &excludes.min_kernel
        && at_least(version)?
    {
        return Ok(false);
    }
    if includes.arches.as_ref().is_some_and(|arches| !arches.is_empty()) && !arch(&includes.arches) {
        return Ok(false);
    }
    for cap in includes.caps.iter().flatten() {
        if !has(cap)? {
            return Ok(false);
        }
    }
    if let Some(version) = &includes.min_kernel
        && !at_least(version)?
    {
        return Ok(false);
    }
    Ok(true)
}

/// An `SCMP_ACT_*` word, with its errno as a number or a name (runc's
/// default: `EPERM`).
fn action(word: &str, errno_ret: Option<u32>, errno: Option<&str>) -> Result<Action, String> {
    let errno = || -> Result<u16, String> {
        let by_number = errno_ret
            .map(|number| {
                u16::try_from(number)
                    .ok()
                    .filter(|n| (1..=crate::action::MAX_ERRNO).contains(n))
                    .ok_or_else(|| format!("errnoRet: {number} is not an errno from 1 to 4095"))
            })
            .transpose()?;
        let by_name = errno
            .map(|name| match Action::parse(name) {
                Some(Action::Errno(number)) => Ok(number),
                _ => Err(format!("errno: {name:?} is not an errno name")),
            })
            .transpose()?;
        match (by_number, by_name) {
            (Some(number), Some(named)) if number != named => {
                Err(format!("errnoRet {number} and errno {:?} disagree", errno.unwrap_or_default()))
            }
            (Some(number), _) | (None, Some(number)) => Ok(number),
            (None, None) => Ok(1),
        }
    };
    Ok(match word {
        // runc's SCMP_ACT_KILL kills the thread; the whole process dies here.
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" | "SCMP_ACT_KILL_PROCESS" => Action::Kill,
        "SCMP_ACT_TRAP" => Action::Trap,
        "SCMP_ACT_ERRNO" => Action::Errno(errno()?),
        "SCMP_ACT_LOG" => Action::Log,
        "SCMP_ACT_ALLOW" => Action::Allow,
        "SCMP_ACT_TRACE" => return Err("SCMP_ACT_TRACE: there is no tracer to hand calls to here".to_owned()),
        "SCMP_ACT_NOTIFY" => {
            return Err("SCMP_ACT_NOTIFY: a user-notification listener cannot be honoured here".to_owned());
        }
        other => return Err(format!("unknown action {other:?}")),
    })
}

/// A rule's comparisons as conditions: one set when each argument is
/// compared once, else one set per comparison (runc's reading).
fn conditions(syscall: &'static Syscall, arguments: &[Argument]) -> Result<Vec<Vec<Condition>>, String> {
    let converted = arguments.iter().map(|argument| condition(syscall, argument)).collect::<Result<Vec<_>, _>>()?;
    let repeated = converted.iter().enumerate().any(|(i, a)| converted[i + 1..].iter().any(|b| a.field == b.field));
    Ok(if repeated { converted.into_iter().map(|condition| vec![condition]).collect() } else { vec![converted] })
}

/// One comparison as a condition, as wide as the kernel reads the argument
/// (a comparison our own language could not write is refused: the policy
/// must survive being handed on as variables, `--preload`'s way).
fn condition(syscall: &'static Syscall, argument: &Argument) -> Result<Condition, String> {
    let name = syscall.name();
    let index = u8::try_from(argument.index)
        .ok()
        .filter(|&index| index < 6)
        .ok_or_else(|| format!("args: index {} (a system call has arguments 0 to 5)", argument.index))?;
    let kinds = syscall.arg_kinds().ok_or_else(|| format!("args: the arguments of {name} are unknown here"))?;
    let kind = kinds
        .get(usize::from(index))
        .ok_or_else(|| format!("args: {name} takes {} arguments: there is no arg{index}", kinds.len()))?;
    let (comparison, value) = match argument.op.as_str() {
        "SCMP_CMP_NE" => (Comparison::Ne, argument.value),
        "SCMP_CMP_LT" => (Comparison::Lt, argument.value),
        "SCMP_CMP_LE" => (Comparison::Le, argument.value),
        "SCMP_CMP_EQ" => (Comparison::Eq, argument.value),
        "SCMP_CMP_GE" => (Comparison::Ge, argument.value),
        "SCMP_CMP_GT" => (Comparison::Gt, argument.value),
        "SCMP_CMP_MASKED_EQ" => (Comparison::MaskedEq(argument.value), argument.value_two.unwrap_or(0)),
        other => return Err(format!("args: unknown op {other:?}")),
    };
    let width = Width::of(kind);
    let within = width.bits();
    // A mask over every bit read is equality (which the i386 filter can test).
    let comparison = if comparison == Comparison::MaskedEq(within) { Comparison::Eq } else { comparison };
    if kind == ArgKind::Pointer && !(matches!(comparison, Comparison::Eq | Comparison::Ne) && value == 0) {
        return Err(format!(
            "args: arg{index} of {name} is a pointer: the kernel reads what it points to after the filter has run, \
             so only whether it is NULL can be tested"
        ));
    }
    let mask = if let Comparison::MaskedEq(mask) = comparison { mask } else { 0 };
    if (value | mask) & !within != 0 {
        return Err(format!(
            "args: {value:#x} (mask {mask:#x}) is wider than the {} bits of arg{index} of {name} the kernel reads",
            within.count_ones()
        ));
    }
    Ok(Condition { field: Field::Arg(index), comparison, value, width })
}

/// `CAP_*` names and their numbers (`linux/capability.h`).
fn capability(name: &str) -> Option<u32> {
    const NAMES: [&str; 41] = [
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
        "CAP_PERFMON",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    ];
    NAMES.iter().position(|known| known.eq_ignore_ascii_case(name)).map(|bit| bit as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::Policy;

    fn policy(text: &str) -> Policy {
        Policy::new(parse(&Origin::Option("--policy"), "p.json", text, None).unwrap())
    }

    #[test]
    fn a_rule_given_twice_is_one_rule() {
        let rule = r#"{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}"#;
        let once = policy(&format!(r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{rule}]}}"#));
        let twice = policy(&format!(r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{rule}, {rule}]}}"#));
        let personality = Syscall::by_name("personality").unwrap();
        assert_eq!(twice.call(personality).unwrap().conditional.len(), 1);
        assert_eq!(crate::compile(&once).unwrap().insns().len(), crate::compile(&twice).unwrap().insns().len());
    }

    #[test]
    fn the_first_unconditional_rule_wins() {
        // containers-common names setns in its allow list, then fails it
        // with EPERM without CAP_SYS_ADMIN: libseccomp keeps the first.
        let profile = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["setns"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["setns"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}"#;
        assert_eq!(policy(profile).action_for(Syscall::by_name("setns").unwrap()), Action::Allow);
    }

    #[test]
    fn i386_follows_the_rules_only_where_the_profile_lists_it() {
        let with = |architectures: &str| {
            let text = format!(r#"{{"defaultAction": "SCMP_ACT_ALLOW", {architectures} "syscalls": []}}"#);
            policy(&text).refuses_i386()
        };
        // libseccomp adds the native architecture and kills every other,
        // even under an allow-all default with no rules (checked with runc).
        assert!(with(""));
        assert!(with(r#""architectures": [],"#));
        assert!(with(r#""architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"],"#));
        assert!(!with(r#""architectures": ["SCMP_ARCH_X86"],"#));
        assert!(!with(r#""architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],"#));
        let docker = |subs: &str| {
            format!(
                r#""archMap": [{{"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM", "SCMP_ARCH_X86"]}},
                {{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": [{subs}]}}],"#
            )
        };
        assert!(!with(&docker(r#""SCMP_ARCH_X86", "SCMP_ARCH_X32""#)));
        assert!(with(&docker(r#""SCMP_ARCH_X32""#)));
        // Docker reads archMap only without architectures.
        assert!(with(&format!(r#""architectures": ["SCMP_ARCH_X86_64"], {}"#, docker(r#""SCMP_ARCH_X86""#))));
    }
}
