//! What the launcher (`sandboxify`, see `main.rs`) and the full program
//! (`sandboxify-full`) share: the common forms of the command line, which
//! the launcher handles itself, and the exec gate's instruction and rule
//! (see [`gate`]).

#![no_std]
#![deny(unsafe_code)]

extern crate alloc;

pub mod gate;

/// A command line in a common form: PROGRAM alone, or after `--allow`,
/// `--deny` and `--default-action` (each at most once, with its value as
/// the next argument) and an optional `--`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommonForm<'a> {
    /// `--allow`'s value.
    pub allow: Option<&'a str>,
    /// `--deny`'s value.
    pub deny: Option<&'a str>,
    /// `--default-action`'s value.
    pub default_action: Option<&'a str>,
    /// Where PROGRAM is among the arguments (which do not include argv\[0\]).
    pub program: usize,
}

/// `args` (argv without argv\[0\]) in a common form, or `None`: anything
/// else (other options, a value that is not UTF-8 or starts with `-`, an
/// option given twice, no PROGRAM) is for the full program's parser.
pub fn common_form<'a>(args: &[&'a [u8]]) -> Option<CommonForm<'a>> {
    let mut form = CommonForm::default();
    let mut at = 0;
    loop {
        let first = *args.get(at)?;
        if first == b"--" {
            at += 1;
            break;
        }
        if !first.starts_with(b"-") {
            break;
        }
        let slot = match first {
            b"--allow" => &mut form.allow,
            b"--deny" => &mut form.deny,
            b"--default-action" => &mut form.default_action,
            _ => return None,
        };
        let value = core::str::from_utf8(args.get(at + 1)?).ok().filter(|value| !value.starts_with('-'))?;
        if slot.replace(value).is_some() {
            return None;
        }
        at += 2;
    }
    form.program = at;
    (at < args.len()).then_some(form)
}
