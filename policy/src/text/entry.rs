//! One entry of a list: `NAME[(CONDITION[, CONDITION...])][=ACTION]`.
//!
//! NAME is a system call or an `@group`; a CONDITION is `argN OP VALUE` with
//! OP one of `== != < <= > >=`, or `argN & MASK == VALUE`; a VALUE is a
//! number (decimal, `0x` hex, `0o` octal, `0b` binary, or negative) or a
//! named constant (`AF_INET`), or several joined by `|`.

use alloc::borrow::ToOwned;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::action::Action;
use crate::condition::{Comparison, Condition, Field, Width};
use crate::error::ErrorKind;
use crate::tables::constants;
use crate::tables::groups::Group;
use crate::tables::syscalls::{ArgKind, Syscall, edit_distance};

/// The longest entry accepted. The longest system-call name is 22 bytes and a
/// few conditions fit easily; far beyond that is a mistake, not a policy.
pub const MAX_ENTRY_BYTES: usize = 256;

/// What an entry names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// One system call.
    Syscall(&'static Syscall),
    /// A group of them.
    Group(&'static Group),
}

impl Target {
    /// The name of the call or group, as an entry writes it.
    pub fn name(&self) -> &'static str {
        match *self {
            Target::Syscall(syscall) => syscall.name(),
            Target::Group(group) => group.name(),
        }
    }

    /// The calls named.
    pub fn syscalls(&self) -> Vec<&'static Syscall> {
        match *self {
            Target::Syscall(syscall) => alloc::vec![syscall],
            Target::Group(group) => group.syscalls(),
        }
    }
}

/// One parsed entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// What it names.
    pub target: Target,
    /// All must hold for the entry to apply; none means always.
    pub conditions: Vec<Condition>,
    /// The action written after `=`, if any.
    pub action: Option<Action>,
    /// The entry as written, for explanations, when it is more than the
    /// target's name (see [`Entry::written`]). Most entries are a bare name,
    /// and not copying it spares an allocation per entry, which the library
    /// pays while the program starts.
    pub written: Option<Box<str>>,
}

impl Entry {
    /// The entry as written.
    pub fn written(&self) -> &str {
        self.written.as_deref().unwrap_or(self.target.name())
    }
}

/// Parses one entry (already trimmed and non-empty).
pub fn parse_entry(item: &str) -> Result<Entry, ErrorKind> {
    if item.len() > MAX_ENTRY_BYTES {
        let prefix: String = item.chars().take(32).collect();
        return Err(ErrorKind::EntryTooLong { prefix, len: item.len(), limit: MAX_ENTRY_BYTES });
    }
    let malformed = |reason| ErrorKind::Malformed { entry: item.to_owned(), reason };
    let (name, conditions, action) = match item.bytes().position(|byte| byte == b'(') {
        Some(open) => {
            let close = item[open..].find(')').map(|at| open + at).ok_or_else(|| malformed("no ) after ("))?;
            let rest = item[close + 1..].trim_start();
            let action = match rest {
                "" => None,
                _ => Some(rest.strip_prefix('=').ok_or_else(|| malformed("only =ACTION may follow the conditions"))?),
            };
            (item[..open].trim_end(), Some(&item[open + 1..close]), action)
        }
        None => match item.bytes().position(|byte| byte == b'=') {
            Some(equals) => (item[..equals].trim_end(), None, Some(&item[equals + 1..])),
            None => (item, None, None),
        },
    };
    if name.is_empty() {
        return Err(malformed("no system call or group name"));
    }
    let target = parse_target(item, name)?;
    let conditions = match (conditions, target) {
        (None, _) => Vec::new(),
        (Some(_), Target::Group(_)) => {
            return Err(malformed("conditions test one call's arguments; they cannot apply to a group"));
        }
        (Some(text), Target::Syscall(syscall)) => text
            .split(',')
            .map(|condition| parse_condition(condition.trim(), syscall))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|reason| ErrorKind::BadCondition { entry: item.to_owned(), reason })?,
    };
    let action = match action.map(str::trim) {
        None => None,
        Some("") => return Err(malformed("no action after =")),
        Some(word) => Some(Action::parse(word).ok_or_else(|| ErrorKind::UnknownAction { word: word.to_owned() })?),
    };
    // A bare name is its target's name: nothing to keep.
    let written = (name.len() != item.len()).then(|| item.into());
    Ok(Entry { target, conditions, action, written })
}

fn parse_target(item: &str, name: &str) -> Result<Target, ErrorKind> {
    if let Some(group) = name.strip_prefix('@') {
        if group.is_empty() || !group.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            let reason = "a group name is @ and lowercase letters, digits and -";
            return Err(ErrorKind::Malformed { entry: item.to_owned(), reason });
        }
        return Group::by_name(name)
            .map(Target::Group)
            .ok_or_else(|| ErrorKind::UnknownGroup { name: name.to_owned(), suggestions: Group::suggestions(name) });
    }
    // Looked up first: a known name is well-formed, so only a miss needs
    // the check that tells a malformed name from an unknown one.
    if let Some(syscall) = Syscall::by_name(name) {
        return Ok(Target::Syscall(syscall));
    }
    if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        let reason = "a system call name has only lowercase letters, digits and _";
        return Err(ErrorKind::Malformed { entry: item.to_owned(), reason });
    }
    Err(ErrorKind::UnknownSyscall { name: name.to_owned(), suggestions: Syscall::suggestions(name) })
}

/// A token of a condition.
#[derive(Debug, PartialEq, Eq)]
enum Token<'a> {
    Word(&'a str),
    Operator(&'a str),
}

fn tokens(text: &str) -> Result<Vec<Token<'_>>, String> {
    let unexpected = |c: char| format!("{text:?}: unexpected {c:?}; {SHAPE}");
    let mut tokens = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let operator = ["==", "!=", "<=", ">=", "<", ">", "&"].into_iter().find(|op| rest.starts_with(op));
        let len = match operator {
            Some(op) => {
                tokens.push(Token::Operator(op));
                op.len()
            }
            None => {
                let len = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '|' || c == '-'))
                    .unwrap_or(rest.len());
                if len == 0 {
                    return Err(unexpected(rest.chars().next().unwrap_or_default()));
                }
                tokens.push(Token::Word(&rest[..len]));
                len
            }
        };
        rest = rest[len..].trim_start();
    }
    Ok(tokens)
}

const SHAPE: &str = "expected argN OP VALUE or argN & MASK == VALUE";

fn parse_condition(text: &str, syscall: &'static Syscall) -> Result<Condition, String> {
    let tokens = tokens(text)?;
    let (argument, comparison, value) = match tokens.as_slice() {
        [Token::Word(argument), Token::Operator("&"), Token::Word(mask), Token::Operator("=="), Token::Word(value)] => {
            (*argument, Some(*mask), *value)
        }
        [Token::Word(argument), Token::Operator(op), Token::Word(value)] if *op != "&" => (*argument, None, *value),
        _ => return Err(format!("{text:?}: {SHAPE}")),
    };
    let operator = match tokens.as_slice() {
        [_, Token::Operator(op), _] => *op,
        _ => "==",
    };
    let index = argument
        .strip_prefix("arg")
        .and_then(|digit| digit.parse::<u8>().ok())
        .filter(|&index| index < 6 && argument.len() == 4)
        .ok_or_else(|| format!("{argument:?}: expected arg0 to arg5"))?;
    let kinds = syscall.arg_kinds().ok_or_else(|| {
        format!("{} exists neither on x86_64 nor on i386, so its arguments are unknown", syscall.name())
    })?;
    let width = match kinds.get(usize::from(index)) {
        None => return Err(format!("{} takes {} arguments: there is no {argument}", syscall.name(), kinds.len())),
        // Whether the kernel reads through a pointer at all is decided by
        // the pointer's value, NULL or not: that much can be tested, however
        // 0 is written (the variables that hand a policy on write `0x0`).
        Some(ArgKind::Pointer)
            if comparison.is_none()
                && matches!(operator, "==" | "!=")
                && parse_value(value, Width::Bits64) == Ok(0) =>
        {
            Width::Bits64
        }
        Some(ArgKind::Pointer) => {
            return Err(format!(
                "{argument} of {} is a pointer: the kernel reads the memory it points to after the filter has run, \
                 so no condition on it can be trusted (but whether it is NULL: == 0, != 0)",
                syscall.name()
            ));
        }
        Some(kind) => Width::of(kind),
    };
    let value = parse_value(value, width)?;
    let comparison = match (comparison, operator) {
        (Some(mask), _) => Comparison::MaskedEq(parse_value(mask, width)?),
        (None, "==") => Comparison::Eq,
        (None, "!=") => Comparison::Ne,
        (None, "<") => Comparison::Lt,
        (None, "<=") => Comparison::Le,
        (None, ">") => Comparison::Gt,
        (None, ">=") => Comparison::Ge,
        _ => return Err(format!("{text:?}: {SHAPE}")),
    };
    Ok(Condition { field: Field::Arg(index), comparison, value, width })
}

/// Parses `term|term|...` into the argument's width; negative numbers are
/// two's complement in that width.
fn parse_value(text: &str, width: Width) -> Result<u64, String> {
    let (low, high, bits): (i128, i128, &str) = match width {
        Width::Bits32 => (i128::from(i32::MIN), i128::from(u32::MAX), "a 32-bit argument"),
        Width::Bits16 => (i128::from(i16::MIN), i128::from(u16::MAX), "a 16-bit argument"),
        // The kernel drops the file-type bits: a value with them could never match.
        Width::Mode => (0, 0o7777, "a permission mode (0 to 07777: the kernel ignores the other bits)"),
        Width::Bits64 => (i128::from(i64::MIN), i128::from(u64::MAX), "a 64-bit argument"),
    };
    let mut value = 0u64;
    for term in text.split('|') {
        let number = parse_term(term)?;
        if number < low || number > high {
            return Err(format!("{term} does not fit {bits}"));
        }
        let bits = number as u64; // two's complement for negatives
        value |= width.low_mask().map_or(bits, |mask| bits & u64::from(mask));
    }
    Ok(value)
}

fn parse_term(term: &str) -> Result<i128, String> {
    if term.is_empty() {
        return Err("empty value".to_owned());
    }
    if term.starts_with(|c: char| c.is_ascii_uppercase() || c == '_') {
        return constants::lookup(term).ok_or_else(|| {
            let nearest = constants::all()
                .map(|(name, _)| (edit_distance(term, name), name))
                .min()
                .filter(|(distance, name)| *distance <= name.len() / 3);
            match nearest {
                Some((_, name)) => format!("unknown constant {term:?} (did you mean {name:?}?)"),
                None => format!("unknown constant {term:?}"),
            }
        });
    }
    let (negative, digits) = match term.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, term),
    };
    let (radix, digits) = match digits.get(..2) {
        Some("0x") | Some("0X") => (16, &digits[2..]),
        Some("0o") => (8, &digits[2..]),
        Some("0b") => (2, &digits[2..]),
        _ => (10, digits),
    };
    // 04000 is octal to a C programmer and to chmod(1): read as decimal it
    // would be another number, and a condition that never holds.
    if radix == 10 && digits.len() > 1 && digits.starts_with('0') {
        let rest = digits.trim_start_matches('0');
        let decimal = if rest.is_empty() { "0" } else { rest };
        return Err(format!(
            "{term:?} is ambiguous: a leading 0 means octal in C, not here; write 0o{decimal} for octal, or {decimal}"
        ));
    }
    let magnitude =
        u64::from_str_radix(digits, radix).map_err(|_| format!("{term:?} is not a number or a constant"))?;
    Ok(if negative { -i128::from(magnitude) } else { i128::from(magnitude) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn condition(entry: &str) -> Condition {
        let parsed = parse_entry(entry).unwrap();
        assert_eq!(parsed.conditions.len(), 1, "{entry}");
        parsed.conditions[0]
    }

    fn error(entry: &str) -> String {
        parse_entry(entry).unwrap_err().to_string()
    }

    /// Once a fail-open (fixed): `chmod(arg1 & 04000 == 04000)` read 04000
    /// as decimal (0o7640), and the deny entry never held for setuid modes.
    #[test]
    fn a_leading_zero_is_refused_not_read_as_decimal() {
        let message = error("chmod(arg1 & 04000 == 04000)");
        assert!(message.contains("\"04000\" is ambiguous") && message.contains("write 0o4000 for octal"), "{message}");
        assert!(error("kill(arg1 == -09)").contains("ambiguous"));
        assert!(error("kill(arg1 == 00)").contains("write 0o0 for octal, or 0"));
        assert_eq!(condition("chmod(arg1 & 0o4000 == 0o4000)").value, 0o4000);
        assert_eq!(condition("kill(arg1 == 0)").value, 0);
        assert_eq!(condition("kill(arg1 == 10)").value, 10);
    }

    #[test]
    fn plain_names_and_actions() {
        let entry = parse_entry("uname=ENETDOWN").unwrap();
        assert_eq!(entry.target, Target::Syscall(Syscall::by_name("uname").unwrap()));
        assert_eq!(entry.action, Some(Action::Errno(libc::ENETDOWN as u16)));
        assert!(entry.conditions.is_empty());
        let entry = parse_entry("@privileged=EPERM").unwrap();
        assert_eq!(entry.target, Target::Group(Group::by_name("@privileged").unwrap()));
    }

    #[test]
    fn conditions_with_constants_and_widths() {
        let c = condition("socket(arg0 == AF_INET)=EACCES");
        assert_eq!((c.field, c.comparison, c.value, c.width), (Field::Arg(0), Comparison::Eq, 2, Width::Bits32));
        let c = condition("clone(arg0 & CLONE_NEWUSER == CLONE_NEWUSER)");
        assert_eq!(c.comparison, Comparison::MaskedEq(0x1000_0000));
        // The kernel reads clone's flags with lower_32_bits.
        assert_eq!((c.value, c.width), (0x1000_0000, Width::Bits32));
        let c = condition("mprotect(arg2 == PROT_EXEC)");
        assert_eq!(c.width, Width::Bits64);
        let c = condition("mknod(arg1 & 0xf000 == 0x8000)");
        assert_eq!((c.value, c.width), (0x8000, Width::Bits16));
        let c = condition("chmod(arg1 & 0o4000 == 0o4000)");
        assert_eq!((c.value, c.width), (0o4000, Width::Mode));
        assert!(c.holds(0o14755), "the kernel ignores the file-type bits");
        assert_eq!(
            parse_entry("chmod(arg1 == 0o14755)").unwrap_err().to_string(),
            "bad condition in \"chmod(arg1 == 0o14755)\": 0o14755 does not fit a permission mode (0 to 07777: \
             the kernel ignores the other bits)"
        );
        let c = condition("mmap(arg2 & PROT_WRITE|PROT_EXEC == PROT_WRITE|PROT_EXEC)");
        assert_eq!((c.comparison, c.value), (Comparison::MaskedEq(6), 6));
        let c = condition("openat(arg0 == AT_FDCWD)");
        assert_eq!((c.value, c.width), (0xffff_ff9c, Width::Bits32));
        let c = condition("lseek(arg1 >= -1)");
        assert_eq!((c.comparison, c.value, c.width), (Comparison::Ge, u64::MAX, Width::Bits64));
        for (text, value) in
            [("kill(arg1==9)", 9), ("kill(arg1 == 0x9)", 9), ("kill(arg1 == 0o11)", 9), ("kill(arg1 == 0b1001)", 9)]
        {
            assert_eq!(condition(text).value, value, "{text}");
        }
        // A pointer may be tested for NULL, in any spelling of 0 (the
        // variables that hand a policy on to the library write 0x0).
        for text in ["clone(arg2 == 0)", "clone(arg2 == 0x0)", "execve(arg1 != 0o0)"] {
            assert_eq!((condition(text).value, condition(text).width), (0, Width::Bits64), "{text}");
        }
        let entry = parse_entry("socket(arg0 == AF_INET, arg1 != SOCK_RAW)").unwrap();
        assert_eq!(entry.conditions.len(), 2);
        assert_eq!(entry.conditions[1].comparison, Comparison::Ne);
    }

    #[test]
    fn condition_errors_say_what_is_wrong() {
        let cases = [
            ("execve(arg0 == 4096)", "arg0 of execve is a pointer"),
            ("socket(arg3 == 1)", "socket takes 3 arguments: there is no arg3"),
            ("socket(arg6 == 1)", "\"arg6\": expected arg0 to arg5"),
            ("socket(foo == 1)", "\"foo\": expected arg0 to arg5"),
            ("socket(arg0 = 1)", "expected argN OP VALUE"),
            ("socket(arg0 == AF_INETT)", "unknown constant \"AF_INETT\" (did you mean \"AF_INET\"?)"),
            ("socket(arg0 == 0x100000000)", "0x100000000 does not fit a 32-bit argument"),
            ("socket(arg0 == 12abc)", "\"12abc\" is not a number or a constant"),
            ("socket(arg0 == AF_INET", "no ) after ("),
            ("socket(arg0 == 1)x", "only =ACTION may follow"),
            ("@network-io(arg0 == 1)", "cannot apply to a group"),
            ("arm_fadvise64_64(arg0 == 1)", "exists neither on x86_64 nor on i386"),
            ("prlimit64(arg2 == 1)", "arg2 of prlimit64 is a pointer"),
            ("@network-iox", "unknown group \"@network-iox\""),
            ("@Bad", "a group name is @ and lowercase"),
        ];
        for (entry, message) in cases {
            let error = error(entry);
            assert!(error.contains(message), "{entry}: {error}");
        }
    }
}
