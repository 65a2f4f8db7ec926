//! Naming a kill: which call the policy stopped, with the arguments the
//! filter saw, which rule or default decided, and what to change; as one
//! line for people and as one JSON line for log pipelines ([`Violation`],
//! which also names the calls permissive mode's reporter lets through).
//!
//! The kernel's kill says nothing but "Bad system call". To say more, the
//! library's filter answers a kill with `SECCOMP_RET_TRAP` and [`TAG`]
//! instead ([`reporting_program`]): the kernel skips the call and sends
//! SIGSYS to the calling thread, whose handler (in `libsandbox`) writes one
//! line ([`Violation::line`]) and then calls [`END`], another reported kill, from
//! inside the handler, where SIGSYS is blocked. A trap into a blocked signal is forced
//! (the kernel restores the default action and unblocks it), and SIGSYS's
//! default ends the whole process with a core dump, as the kill would:
//! status 159 either way. When the handler cannot run (no stack left, its
//! own `write` forbidden by the policy), the forced signal still ends the
//! process, without the line.
//!
//! A trap must never be a survival. A tracer can swallow the signal at its
//! signal stop, so only a policy under which `ptrace` never runs reports
//! its kills (every allow list that does not name it; a deny list that
//! does). And a program must not be able to put a handler of its own in the
//! way. The filter answers every call that would
//! install a SIGSYS handler with success and does nothing
//! (`protecting_overrides`); one that only asks for the current handler
//! runs.
//!
//! A program the process execs keeps the filter but not the handler (exec
//! resets it), nor the policy (its variables were removed from the
//! environment, an attached one is in the program replaced). The library
//! loaded into the new image asks the filter ([`REPORTS`]), installs its
//! handler through the one opening the protection has ([`DOOR`]), and names
//! the kill from what the trap's data says of the filter ([`Inherited`]).

use core::fmt;

use alloc::vec;
use alloc::vec::Vec;

use crate::abi::{Abi, Arch};
use crate::action::{Action, ret};
use crate::compile::bpf::{SeccompData, op, run};
use crate::compile::filter::{FilterTooLong, Override, Program, compile_with, probe};
use crate::condition::{Comparison, Condition, Field, Rule, Width};
use crate::resolve::{Base, Explained, Policy};
use crate::tables::syscalls::Syscall;

/// The data of the trap that stands for a kill (`si_errno` of its SIGSYS),
/// telling it from the traps of other filters: this value, with what
/// [`Inherited`] says of the filter in the low three bits.
pub const TAG: u16 = 0x5ec8;

/// The bits of a trap's data that [`TAG`] fills.
const TAG_MASK: u16 = !0b111;

/// Whether a trap's data (`si_errno`) is a named kill's.
pub fn is_tag(data: u16) -> bool {
    data & TAG_MASK == TAG
}

/// Whether a filter's return value is a named kill.
pub fn is_named_kill(ret: u32) -> bool {
    ret & ret::ACTION_FULL == ret::TRAP && is_tag(ret as u16)
}

/// A named-kill filter's answer to the probe of another filter (instead of
/// [`probe::OTHER`]), where [`DOOR`]
/// is open, with an [`Answer`] in the low four bits (and maybe
/// [`probe::FILES`]): how the library in an image exec'd under it, which
/// asks with [`probe::ASK`], finds out that it should install its handler.
/// A process under no filter, or under filters whose kills are the
/// kernel's, gets another answer and keeps SIGSYS as it is.
pub const REPORTS: u16 = 4000;

/// Where the JSON lines' file stays open across exec, for an image exec'd
/// under a filter whose [`Answer`] says so: above the descriptors a program
/// expects to get (some assume the lowest free one).
pub const JSON_FD: i32 = 512;

/// What a named-kill filter's answer to [`probe::ASK`] says the library's handler
/// may do in an image exec'd under it, which does not know the policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    /// The JSON lines' file is open at [`JSON_FD`], and the calls that
    /// check it is (`fcntl`, `newfstatat`) run.
    pub json: bool,
    /// `getpid` runs (the JSON line's `pid`).
    pub getpid: bool,
    /// `gettid` runs (its `tid`).
    pub gettid: bool,
    /// `readlinkat` runs (its `executable`, from `/proc/self/exe`).
    pub readlink: bool,
}

impl Answer {
    const JSON: u16 = 1;
    const GETPID: u16 = 2;
    const GETTID: u16 = 4;
    const READLINK: u16 = 8;

    /// The errno that says it.
    fn errno(self) -> u16 {
        REPORTS
            | bit(self.json, Self::JSON)
            | bit(self.getpid, Self::GETPID)
            | bit(self.gettid, Self::GETTID)
            | bit(self.readlink, Self::READLINK)
    }

    /// What the errno of an answer to [`probe::ASK`] says; `None` where no
    /// filter names kills.
    pub fn from_errno(errno: u16) -> Option<Self> {
        (errno & !(0b1111 | probe::FILES) == REPORTS).then_some(Answer {
            json: errno & Self::JSON != 0,
            getpid: errno & Self::GETPID != 0,
            gettid: errno & Self::GETTID != 0,
            readlink: errno & Self::READLINK != 0,
        })
    }
}

/// `flag` if `set`: packing flags into a filter's 16 bits of data.
fn bit(set: bool, flag: u16) -> u16 {
    if set { flag } else { 0 }
}

/// `rt_sigaction`'s fifth and sixth arguments, which the kernel ignores:
/// with them, a named-kill filter lets a SIGSYS handler be installed (x86_64
/// only, where the library runs). The library always passes them; no
/// program does by accident (libc leaves whatever its caller had in those
/// registers). A program that passes them on purpose can put a handler of
/// its own in the way and live on after a kill (the call still never
/// runs), as one that rewrites the library's handler in memory can: the
/// library's kills are for programs that are not hostile, sandboxify's
/// (the kernel's) for those that may be.
pub const DOOR: [u64; 2] = [0x5ec1_d00e_0a11_0e5d, 0x5ec1_d00e_1a11_0e5d];

/// `getpgrp(END)` is always a reported kill: how the handler ends the
/// process once it has reported, from inside the handler (getpgrp takes no
/// arguments, so no real call carries the mark).
pub const END: u64 = 0x5ec1_e0d5_5ec1_e0d5;

/// Whether `call` is the handler's own [`END`].
pub fn is_end(call: &SeccompData) -> bool {
    call.arch == Abi::X86_64.audit_arch() && call.nr == probe::SYSCALL && call.args[0] == END
}

/// The calls that set a signal's handler, with the ABIs they exist on.
const HANDLER_SETTERS: [(&str, Abi); 4] =
    [("rt_sigaction", Abi::X86_64), ("rt_sigaction", Abi::I386), ("sigaction", Abi::I386), ("signal", Abi::I386)];

/// `policy` compiled with its kills reported: each kill a trap with [`TAG`],
/// behind `protecting_overrides`. `None` when a kill must stay the
/// kernel's own: a policy that lets `ptrace` run (a tracer can swallow the
/// trap's SIGSYS at its signal stop, and the traced process lives on, where
/// the kill cannot be stopped), with `trap` actions (whose SIGSYS belongs to
/// the program's handler), with `log` actions (permissive mode), or that
/// tests the arguments of a handler-setting call (the overrides would go in
/// front of its rules).
/// `attached`: the policy came from the program's ELF file, as the kills
/// of an image exec'd under the filter say ([`Inherited`]). Where its door
/// is open it answers [`probe::ASK`] with the default [`Answer`] (see
/// [`answer_with`]).
pub fn reporting_program(policy: &Policy, attached: bool) -> Result<Option<Program>, FilterTooLong> {
    reporting_program_with(policy, attached, &[])
}

/// [`reporting_program`] with `rules` in front of the policy's, behind the
/// protection: `sandbox --preload`'s guard, whose kills the library in the
/// program then names.
pub fn reporting_program_with(
    policy: &Policy,
    attached: bool,
    rules: &[Override],
) -> Result<Option<Program>, FilterTooLong> {
    let ptrace = Syscall::by_name("ptrace").expect("ptrace is in the table");
    let signals_or_notifies = |action| matches!(action, Action::Trap | Action::Log | Action::Notify);
    if !never_runs(policy, ptrace) || policy.actions().any(signals_or_notifies) {
        return Ok(None);
    }
    let Some(protection) = protecting_overrides(policy) else { return Ok(None) };
    // The later an override, the earlier it is checked.
    let overrides: Vec<Override> = rules.iter().cloned().chain(protection).collect();
    let mut program = compile_with(policy, &overrides)?;
    let tag = Inherited::of(policy, attached).data();
    for insn in &mut program.insns {
        if insn.code == op::RET | op::K && insn.k == ret::KILL_PROCESS {
            insn.k = Action::Trap.ret() | u32::from(tag);
        }
    }
    if has_door(policy) {
        program.answer_other_probes(Answer::default().errno());
    }
    Ok(Some(program))
}

/// Makes a [`reporting_program`] answer [`probe::ASK`] with `answer`, where its
/// door is open (elsewhere it answers as any filter).
pub fn answer_with(program: &mut Program, answer: Answer) {
    if program.other_probes_answer().is_some_and(|errno| Answer::from_errno(errno).is_some()) {
        program.answer_other_probes(answer.errno());
    }
}

/// Whether `policy`'s named-kill filter opens [`DOOR`]: where it always
/// allows x86_64's `rt_sigaction`. Where it does not, neither the program
/// nor the library can install a handler anyway.
fn has_door(policy: &Policy) -> bool {
    policy.always_allows(Syscall::by_name("rt_sigaction").expect("rt_sigaction is in the table"))
}

/// Whether no rule of `policy` lets `syscall` run, whatever its arguments.
fn never_runs(policy: &Policy, syscall: &Syscall) -> bool {
    let runs = |action: Action| matches!(action, Action::Allow | Action::Log | Action::Notify | Action::Trap);
    let conditional = policy.call(syscall).map_or(&[][..], |call| &call.conditional[..]);
    !runs(policy.action_for(syscall)) && conditional.iter().all(|explained| !runs(explained.rule.action))
}

/// Rules that make every call installing a SIGSYS handler succeed without
/// effect, for the calls `policy` always allows (one it always refuses
/// needs none), and [`END`]; `None` if it tests the arguments of one.
fn protecting_overrides(policy: &Policy) -> Option<Vec<Override>> {
    let end = Condition { field: Field::Arg(0), comparison: Comparison::Eq, value: END, width: Width::Bits64 };
    let end = Rule { conditions: vec![end], action: Action::Kill };
    let mut overrides = vec![Override { abi: Abi::X86_64, nr: probe::SYSCALL, rule: end }];
    for (name, abi) in HANDLER_SETTERS {
        let syscall = Syscall::by_name(name).expect("the handler setters are in the table");
        let nr = syscall.number(abi).expect("the handler setters exist on their ABI");
        if policy.call(syscall).is_some_and(|call| !call.conditional.is_empty()) {
            return None;
        }
        if !policy.always_allows(syscall) {
            continue;
        }
        let width = if abi == Abi::X86_64 { Width::Bits64 } else { Width::Bits32 };
        let signal = Condition {
            field: Field::Arg(0),
            comparison: Comparison::Eq,
            value: libc::SIGSYS as u64,
            width: Width::Bits32,
        };
        let handler = Condition { field: Field::Arg(1), comparison: Comparison::Ne, value: 0, width };
        overrides.push(Override {
            abi,
            nr,
            rule: Rule { conditions: vec![signal, handler], action: Action::Errno(0) },
        });
        if abi == Abi::X86_64 {
            // Pushed after the protection, so checked before it.
            let key = |index, value| Condition {
                field: Field::Arg(index),
                comparison: Comparison::Eq,
                value,
                width: Width::Bits64,
            };
            let conditions = vec![signal, key(4, DOOR[0]), key(5, DOOR[1])];
            overrides.push(Override { abi, nr, rule: Rule { conditions, action: Action::Allow } });
        }
    }
    Some(overrides)
}

/// What a named kill's trap data says of the filter that made it: all the
/// library in an image exec'd under the filter can know of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inherited {
    /// It kills the calls it does not list (an allow list); otherwise its
    /// kills are deny entries'.
    pub allow_list: bool,
    /// It kills every i386 call (`refuse-i386`).
    pub refuses_i386: bool,
    /// It came from a program's attached policy, not from the environment.
    pub attached: bool,
}

impl Inherited {
    const ALLOW_LIST: u16 = 1;
    const REFUSES_I386: u16 = 2;
    const ATTACHED: u16 = 4;

    fn of(policy: &Policy, attached: bool) -> Self {
        Inherited { allow_list: policy.base() == Base::AllowList, refuses_i386: policy.refuses_i386(), attached }
    }

    /// The trap's data.
    fn data(self) -> u16 {
        TAG | bit(self.allow_list, Self::ALLOW_LIST)
            | bit(self.refuses_i386, Self::REFUSES_I386)
            | bit(self.attached, Self::ATTACHED)
    }

    /// What a named kill's trap data says; `None` for another trap's.
    pub fn from_data(data: u16) -> Option<Self> {
        is_tag(data).then_some(Inherited {
            allow_list: data & Self::ALLOW_LIST != 0,
            refuses_i386: data & Self::REFUSES_I386 != 0,
            attached: data & Self::ATTACHED != 0,
        })
    }

    /// Where the policy came from, as the line says it.
    fn source(self) -> &'static str {
        if self.attached { INHERITED_SOURCES[1] } else { INHERITED_SOURCES[0] }
    }
}

/// How a rule from a filter inherited across exec begins: its policy, and
/// so the entry that decided, is not known there.
const INHERITED_SOURCES: [&str; 2] = ["inherited policy: ", "inherited attached policy: "];

/// Whether a violation's `rule` (as [`Violation::json`] writes it) is an
/// inherited filter's, which names the call but not the entry.
pub fn is_inherited_rule(rule: &str) -> bool {
    INHERITED_SOURCES.iter().any(|source| rule.starts_with(source))
}

/// One installed filter, as [`Violation::new`] needs it.
#[derive(Clone, Copy)]
pub struct Installed<'a> {
    /// Where the policy came from, as errors say it (`attached policy: `, or empty).
    pub source: &'a str,
    /// The policy.
    pub policy: &'a Policy,
    /// Its program as compiled, with kills.
    pub program: &'a Program,
}

/// A violation, named: what [`Violation::line`] and [`Violation::json`]
/// show. Allocates nothing: a kill's is made in a signal handler.
pub struct Violation<'a> {
    /// What the policy does with the call: `kill`, or `log` (permissive mode).
    action: Action,
    call: &'a SeccompData,
    abi: Option<Abi>,
    syscall: Option<&'static Syscall>,
    /// The newest filter that kills the call, and what decided there.
    decided: Option<(Installed<'a>, Decision<'a>)>,
    /// Where none of `installed` did: the inherited filter that did.
    inherited: Option<Inherited>,
}

/// What decided a violation in the filter that made it.
#[derive(Clone, Copy)]
enum Decision<'a> {
    /// A rule of the policy.
    Rule(&'a Explained),
    /// The policy's default.
    Default,
    /// The policy refuses every i386 call.
    RefusedI386,
}

impl<'a> Violation<'a> {
    /// Names what `action` (`kill` or `log`) the filters `installed`
    /// (newest first, with their programs as compiled) did to `call`.
    pub fn new(action: Action, mut installed: impl Iterator<Item = Installed<'a>>, call: &'a SeccompData) -> Self {
        let abi = Abi::from_audit_arch(call.arch).filter(|abi| Arch::HOST.abis().contains(abi));
        let syscall = abi.and_then(|abi| Syscall::by_number(abi, call.nr));
        let decides = |filter: &Installed| {
            run(filter.program.insns(), call).is_ok_and(|verdict| {
                verdict.ret == action.ret() || (action == Action::Kill && is_named_kill(verdict.ret))
            })
        };
        let decided = match (installed.find(decides), syscall) {
            (Some(filter), _) if abi == Some(Abi::I386) && filter.policy.refuses_i386() => {
                Some((filter, Decision::RefusedI386))
            }
            (Some(filter), Some(syscall)) => {
                let rule = deciding_rule(filter.policy, action, syscall, abi, call);
                Some((filter, rule.map_or(Decision::Default, Decision::Rule)))
            }
            _ => None,
        };
        Violation { action, call, abi, syscall, decided, inherited: None }
    }

    /// Where no filter given to [`Violation::new`] decided, the one a named
    /// kill's trap `data` describes: a filter inherited across exec.
    pub fn or_inherited(mut self, data: u16) -> Self {
        if self.decided.is_none() && self.abi.is_some() {
            self.inherited = Inherited::from_data(data);
        }
        self
    }

    /// Whether an inherited filter refuses this call for being i386's.
    fn refused_as_i386(&self) -> bool {
        matches!(self.decided, Some((_, Decision::RefusedI386)))
            || self.inherited.is_some_and(|inherited| inherited.refuses_i386 && self.abi == Some(Abi::I386))
    }

    /// The arguments worth showing: as many as the call takes (six if
    /// unknown), i386's as the 32-bit registers they are.
    fn args(&self) -> impl Iterator<Item = u64> + '_ {
        let shown = self.syscall.and_then(Syscall::arg_kinds).map_or(6, |kinds| kinds.len());
        let i386 = self.abi == Some(Abi::I386);
        self.call.args.iter().take(shown).map(move |&arg| if i386 { arg & 0xffff_ffff } else { arg })
    }

    /// The one line for people: `PREFIXthe policy killed this process at
    /// uname(0x7ffd...) [x86_64 63]: SECCOMP_SYSCALL_DENY: uname; to allow
    /// uname, remove that entry`, and a newline.
    pub fn line(&self, out: &mut dyn fmt::Write, prefix: &str) -> fmt::Result {
        write!(out, "{prefix}the policy killed this process at ")?;
        match self.syscall {
            Some(syscall) => write!(out, "{}", syscall.name())?,
            None => write!(out, "system call {}", self.call.nr)?,
        }
        out.write_char('(')?;
        for (index, arg) in self.args().enumerate() {
            write!(out, "{}{arg:#x}", if index == 0 { "" } else { ", " })?;
        }
        match self.abi {
            Some(abi) => write!(out, ") [{abi} {}]: ", self.call.nr)?,
            None => write!(out, ") [audit arch {:#x}]: ", self.call.arch)?,
        }
        self.rule(out)?;
        self.change(out, "; ")?;
        out.write_char('\n')
    }

    /// One JSON object on one line, for log pipelines: `time` (seconds since
    /// the epoch, with the fraction), `pid`, `tid` (each null where the
    /// policy forbids the call that reads it), `executable`, `call`
    /// (null if unknown), `nr`, `abi` (null for an unknown arch, then
    /// `arch` holds its number), `args` (as hex strings: 64-bit values do
    /// not survive JSON's doubles), `action` (`kill`), `rule` and `change`
    /// (as the line says them), and `fix`: `add` (the call to the allow
    /// list), `remove` (the entry in `rule`), or null.
    pub fn json(&self, out: &mut dyn fmt::Write, process: &Process) -> fmt::Result {
        out.write_str("{\"time\":")?;
        match process.time {
            Some((seconds, nanoseconds)) => write!(out, "{seconds}.{:06}", nanoseconds / 1000)?,
            None => out.write_str("null")?,
        }
        out.write_str(",\"pid\":")?;
        json_number(out, process.pid)?;
        out.write_str(",\"tid\":")?;
        json_number(out, process.tid)?;
        out.write_str(",\"executable\":")?;
        json_string(out, &DisplayStr(process.executable))?;
        out.write_str(",\"call\":")?;
        match self.syscall {
            Some(syscall) => json_string(out, &DisplayStr(syscall.name()))?,
            None => out.write_str("null")?,
        }
        write!(out, ",\"nr\":{},\"abi\":", self.call.nr)?;
        match self.abi {
            Some(abi) => write!(out, "\"{abi}\"")?,
            None => write!(out, "null,\"arch\":{}", self.call.arch)?,
        }
        out.write_str(",\"args\":[")?;
        for (index, arg) in self.args().enumerate() {
            write!(out, "{}\"{arg:#x}\"", if index == 0 { "" } else { "," })?;
        }
        write!(out, "],\"action\":\"{}\",\"rule\":", self.action)?;
        json_string(out, &Shown(|out: &mut dyn fmt::Write| self.rule(out)))?;
        out.write_str(",\"change\":")?;
        json_string(out, &Shown(|out: &mut dyn fmt::Write| self.change(out, "")))?;
        out.write_str(",\"fix\":")?;
        out.write_str(match (self.syscall, self.decided, self.inherited) {
            _ if self.refused_as_i386() => "null",
            (Some(_), Some((_, Decision::Rule(_))), _) => "\"remove\"",
            (Some(_), Some((filter, Decision::Default)), _) if filter.policy.base() == Base::AllowList => "\"add\"",
            (Some(_), None, Some(inherited)) => {
                if inherited.allow_list {
                    "\"add\""
                } else {
                    "\"remove\""
                }
            }
            _ => "null",
        })?;
        out.write_str("}\n")
    }

    /// The rule or default that decided, as the line says it.
    fn rule(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        if let Some(inherited) = self.inherited {
            let source = inherited.source();
            return match self.syscall {
                _ if self.refused_as_i386() => write!(out, "{source}every i386 call is refused"),
                None => out.write_str("an ABI or number no policy allows"),
                Some(_) if inherited.allow_list => write!(out, "{source}no allow entry names it"),
                Some(syscall) => write!(out, "{source}a deny entry names {}", syscall.name()),
            };
        }
        match self.decided {
            None => out.write_str("an ABI or number no policy allows"),
            Some((filter, Decision::Rule(explained))) => {
                write!(out, "{}{}", filter.source, filter.policy.describe(&explained.why))
            }
            Some((filter, Decision::RefusedI386)) => write!(out, "{}every i386 call is refused", filter.source),
            Some((filter, Decision::Default)) if filter.policy.base() == Base::AllowList => {
                write!(out, "{}no allow entry names it", filter.source)
            }
            Some((filter, Decision::Default)) => write!(out, "{}the default action", filter.source),
        }
    }

    /// What to change to allow the call, after `separator`; nothing if the
    /// call cannot be allowed by name.
    fn change(&self, out: &mut dyn fmt::Write, separator: &str) -> fmt::Result {
        if self.refused_as_i386() {
            return write!(
                out,
                "{separator}to give i386 calls the rules by name, drop refuse-i386 (SANDBOX_REFUSE_I386; \
                 a profile: list SCMP_ARCH_X86)"
            );
        }
        let Some(name) = self.syscall.map(Syscall::name) else { return Ok(()) };
        match self.decided {
            Some((_, Decision::Rule(_))) => write!(out, "{separator}to allow {name}, remove that entry"),
            Some((filter, Decision::Default)) if filter.policy.base() == Base::AllowList => {
                write!(out, "{separator}to allow it, add {name} to the allow list")
            }
            Some(_) => Ok(()),
            None => match self.inherited {
                Some(inherited) if inherited.allow_list => {
                    write!(out, "{separator}to allow it, add {name} to the allow list")
                }
                Some(_) => write!(out, "{separator}to allow {name}, remove that entry"),
                None => Ok(()),
            },
        }
    }
}

/// The first rule of `policy` that kills `call` of `syscall`: a conditional
/// one whose conditions hold (on i386, where conditions move to other
/// registers, the first conditional kill), else the unconditional one;
/// `None` when the policy's default decided.
fn deciding_rule<'a>(
    policy: &'a Policy,
    action: Action,
    syscall: &Syscall,
    abi: Option<Abi>,
    call: &SeccompData,
) -> Option<&'a Explained> {
    let rules = policy.call(syscall)?;
    let holds = |rule: &Rule| {
        abi == Some(Abi::I386)
            || rule.conditions.iter().all(|condition| match condition.field {
                Field::Arg(index) => condition.holds(call.args[usize::from(index)]),
                Field::InstructionPointer => condition.holds(call.instruction_pointer),
            })
    };
    let conditional = rules.conditional.iter().find(|explained| explained.rule.action == action);
    conditional
        .filter(|explained| holds(&explained.rule))
        .or(rules.always.as_ref().filter(|explained| explained.rule.action == action))
}

/// What the JSON form says of the process, read by the caller; `None`
/// (null) where the policy forbids the call that would read it.
pub struct Process<'a> {
    /// `CLOCK_REALTIME`: seconds and nanoseconds.
    pub time: Option<(u64, u32)>,
    /// The process.
    pub pid: Option<u32>,
    /// The thread that made the call.
    pub tid: Option<u32>,
    /// Its executable's path (empty if unknown).
    pub executable: &'a str,
}

/// Writes `number`, or null.
fn json_number(out: &mut dyn fmt::Write, number: Option<u32>) -> fmt::Result {
    match number {
        Some(number) => write!(out, "{number}"),
        None => out.write_str("null"),
    }
}

/// Writes what `text` displays as a JSON string, escaped as it goes.
fn json_string(out: &mut dyn fmt::Write, text: &dyn fmt::Display) -> fmt::Result {
    out.write_char('"')?;
    write!(&mut JsonEscaped(&mut *out) as &mut dyn fmt::Write, "{text}")?;
    out.write_char('"')
}

/// Escapes for a JSON string what is written through it.
struct JsonEscaped<'a>(&'a mut dyn fmt::Write);

impl fmt::Write for JsonEscaped<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for c in text.chars() {
            match c {
                '"' => self.0.write_str("\\\"")?,
                '\\' => self.0.write_str("\\\\")?,
                c if (c as u32) < 0x20 => write!(self.0, "\\u{:04x}", c as u32)?,
                c => self.0.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// A `&str` as a Display.
struct DisplayStr<'a>(&'a str);

impl fmt::Display for DisplayStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// What a writing function writes, as a Display.
struct Shown<F>(F);

impl<F: Fn(&mut dyn fmt::Write) -> fmt::Result> fmt::Display for Shown<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.0)(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::filter::compile;
    use crate::test_support::{policy, settings};
    use crate::text::{Settings, Switches};

    fn data(abi: Abi, name: &str, args: [u64; 6]) -> SeccompData {
        let nr = Syscall::by_name(name).unwrap().number(abi).unwrap();
        SeccompData { nr, arch: abi.audit_arch(), instruction_pointer: 0, args }
    }

    fn line(policy: &Policy, call: &SeccompData) -> alloc::string::String {
        let program = compile(policy).unwrap();
        let mut out = alloc::string::String::new();
        let installed = Installed { source: "", policy, program: &program };
        Violation::new(Action::Kill, [installed].into_iter(), call).line(&mut out, "libsandbox: ").unwrap();
        out
    }

    #[test]
    fn kills_become_tagged_traps_and_handler_setters_are_protected() {
        let deny = policy(None, Some("uname:ptrace"), None);
        let program = reporting_program(&deny, false).unwrap().unwrap();
        let verdict = |call: &SeccompData| run(program.insns(), call).unwrap().ret;
        let trap = ret::TRAP | u32::from(TAG);
        assert_eq!(verdict(&data(Abi::X86_64, "uname", [0; 6])), trap);
        assert_eq!(verdict(&data(Abi::X86_64, "getpid", [0; 6])), ret::ALLOW);
        let sigsys = libc::SIGSYS as u64;
        // Installing a SIGSYS handler succeeds and does nothing; asking for
        // it, or setting another signal's, runs.
        assert_eq!(verdict(&data(Abi::X86_64, "rt_sigaction", [sigsys, 0x1000, 0, 8, 0, 0])), ret::ERRNO);
        assert_eq!(verdict(&data(Abi::X86_64, "rt_sigaction", [sigsys, 0, 0x1000, 8, 0, 0])), ret::ALLOW);
        assert_eq!(verdict(&data(Abi::X86_64, "rt_sigaction", [2, 0x1000, 0, 8, 0, 0])), ret::ALLOW);
        for name in ["rt_sigaction", "sigaction", "signal"] {
            assert_eq!(verdict(&data(Abi::I386, name, [sigsys, 0x1000, 0, 0, 0, 0])), ret::ERRNO, "{name}");
        }
        assert_eq!(verdict(&data(Abi::X86_64, "getpgrp", [END, 0, 0, 0, 0, 0])), trap);
        assert_eq!(verdict(&data(Abi::X86_64, "getpgrp", [0; 6])), ret::ALLOW);
        // Outside the x86_64 and i386 tables: still a kill, reported.
        let x32 = SeccompData { nr: 0x4000_0000, arch: Abi::X86_64.audit_arch(), instruction_pointer: 0, args: [0; 6] };
        assert_eq!(verdict(&x32), trap);
    }

    #[test]
    fn the_door_lets_a_handler_in_and_the_probe_says_where_it_is() {
        use crate::compile::filter::probe;
        let deny = policy(None, Some("uname:ptrace"), None);
        let program = reporting_program(&deny, false).unwrap().unwrap();
        let verdict = |args| run(program.insns(), &data(Abi::X86_64, "rt_sigaction", args)).unwrap().ret;
        let sigsys = libc::SIGSYS as u64;
        assert_eq!(verdict([sigsys, 0x1000, 0, 8, DOOR[0], DOOR[1]]), ret::ALLOW);
        // Half the key, or the key in the other order, is no key.
        assert_eq!(verdict([sigsys, 0x1000, 0, 8, DOOR[0], 0]), ret::ERRNO);
        assert_eq!(verdict([sigsys, 0x1000, 0, 8, DOOR[1], DOOR[0]]), ret::ERRNO);
        assert_eq!(verdict([sigsys, 0x1000, 0, 8, 0, DOOR[1]]), ret::ERRNO);
        // Nothing opens i386's setters: the library has no i386 build.
        let i386 = data(Abi::I386, "rt_sigaction", [sigsys, 0x1000, 0, 8, DOOR[0], DOOR[1]]);
        assert_eq!(run(program.insns(), &i386).unwrap().ret, ret::ERRNO);
        let asked = data(Abi::X86_64, "getpgrp", [probe::ASK, probe::MARK, 0, 0, 0, 0]);
        assert_eq!(run(program.insns(), &asked).unwrap().ret, ret::ERRNO | u32::from(REPORTS));
        assert_eq!(Answer::from_errno(REPORTS), Some(Answer::default()));
        for answer in [
            Answer { json: true, getpid: false, gettid: true, readlink: false },
            Answer { json: false, getpid: true, gettid: false, readlink: true },
        ] {
            let mut program = reporting_program(&deny, false).unwrap().unwrap();
            answer_with(&mut program, answer);
            let errno = run(program.insns(), &asked).unwrap().ret & ret::DATA;
            assert_eq!(Answer::from_errno(errno as u16), Some(answer));
        }
        assert_eq!(Answer::from_errno(probe::OTHER), None);
        assert_eq!(Answer::from_errno(probe::CONFIRMED), None);
        assert_eq!(run(compile(&deny).unwrap().insns(), &asked).unwrap().ret, ret::ERRNO | u32::from(probe::OTHER));
        // Where rt_sigaction does not always run, there is no door, and no
        // library is told to use one.
        let refusing = policy(Some("read:write:exit_group"), None, None);
        let mut program = reporting_program(&refusing, false).unwrap().unwrap();
        answer_with(&mut program, Answer { json: true, getpid: true, gettid: true, readlink: true });
        assert_eq!(run(program.insns(), &asked).unwrap().ret, ret::ERRNO | u32::from(probe::OTHER));
    }

    #[test]
    fn the_trap_data_says_what_an_exec_d_image_needs_to_name_the_kill() {
        let uname = data(Abi::X86_64, "uname", [0x10, 0, 0, 0, 0, 0]);
        let cases = [
            (
                policy(None, Some("uname:ptrace"), None),
                false,
                "inherited policy: a deny entry names uname; to allow uname, remove that entry",
                "remove",
            ),
            (
                policy(None, Some("uname:ptrace"), None),
                true,
                "inherited attached policy: a deny entry names uname; to allow uname, remove that entry",
                "remove",
            ),
            (
                policy(Some("read:write:exit_group"), None, None),
                false,
                "inherited policy: no allow entry names it; to allow it, add uname to the allow list",
                "add",
            ),
        ];
        for (policy, attached, reason, fix) in cases {
            let program = reporting_program(&policy, attached).unwrap().unwrap();
            let verdict = run(program.insns(), &uname).unwrap().ret;
            assert!(is_named_kill(verdict), "{verdict:#x}");
            // The new image's handler has no filter of its own to ask.
            let violation = Violation::new(Action::Kill, core::iter::empty(), &uname).or_inherited(verdict as u16);
            let mut line = alloc::string::String::new();
            violation.line(&mut line, "").unwrap();
            assert_eq!(line, alloc::format!("the policy killed this process at uname(0x10) [x86_64 63]: {reason}\n"));
            let mut json = alloc::string::String::new();
            violation.json(&mut json, &Process { time: None, pid: None, tid: None, executable: "" }).unwrap();
            assert!(json.contains(&alloc::format!("\"fix\":\"{fix}\"")), "{json}");
            let rule = reason.split(';').next().unwrap();
            assert!(json.contains(&alloc::format!("\"rule\":\"{rule}\"")) && is_inherited_rule(rule), "{json}");
        }
        assert!(!is_inherited_rule("SECCOMP_SYSCALL_DENY: uname") && !is_inherited_rule("attached policy: uname"));
        let switches = Switches { refuse_i386: true, ..Switches::default() };
        let refusing = Settings { switches, ..settings(None, Some("uname:ptrace"), None) }.policy().unwrap().unwrap();
        let program = reporting_program(&refusing, false).unwrap().unwrap();
        let i386 = data(Abi::I386, "getpid", [0; 6]);
        let verdict = run(program.insns(), &i386).unwrap().ret;
        let mut line = alloc::string::String::new();
        Violation::new(Action::Kill, core::iter::empty(), &i386)
            .or_inherited(verdict as u16)
            .line(&mut line, "")
            .unwrap();
        assert!(line.ends_with("[i386 20]: inherited policy: every i386 call is refused; to give i386 calls the rules by name, drop refuse-i386 (SANDBOX_REFUSE_I386; a profile: list SCMP_ARCH_X86)\n"), "{line}");
        // Another trap's data names nothing.
        let mut line = alloc::string::String::new();
        Violation::new(Action::Kill, core::iter::empty(), &uname).or_inherited(0x5ec0).line(&mut line, "").unwrap();
        assert!(line.ends_with("[x86_64 63]: an ABI or number no policy allows\n"), "{line}");
    }

    #[test]
    fn a_policy_refusing_the_handler_setters_needs_no_protection() {
        let allow = policy(Some("read:write:exit_group"), None, None);
        let program = reporting_program(&allow, false).unwrap().unwrap();
        let call = data(Abi::X86_64, "rt_sigaction", [libc::SIGSYS as u64, 0x1000, 0, 8, 0, 0]);
        assert_eq!(run(program.insns(), &call).unwrap().ret, ret::TRAP | u32::from(TAG | Inherited::ALLOW_LIST));
    }

    #[test]
    fn kills_stay_the_kernels_where_a_trap_would_change_them() {
        for (allow, deny) in [
            (None, Some("uname")),
            (None, Some("uname:ptrace(arg0 == 0)")),
            (Some("read:ptrace(arg0 == 0)"), None),
            (None, Some("uname:ptrace=trap")),
            (None, Some("uname:ptrace=log")),
            (None, Some("uname:ptrace:rt_sigaction(arg0 == 31)")),
            (Some("read:rt_sigaction(arg0 == 2)"), None),
        ] {
            assert!(reporting_program(&policy(allow, deny, None), false).unwrap().is_none(), "{allow:?} {deny:?}");
        }
    }

    #[test]
    fn the_line_names_the_call_its_arguments_the_rule_and_the_change() {
        let deny = policy(None, Some("uname"), None);
        assert_eq!(
            line(&deny, &data(Abi::X86_64, "uname", [0x7ffd_1000, 0, 0, 0, 0, 0])),
            "libsandbox: the policy killed this process at uname(0x7ffd1000) [x86_64 63]: \
             SECCOMP_SYSCALL_DENY: uname; to allow uname, remove that entry\n"
        );
        let allow = policy(Some("read:write:exit_group"), None, None);
        assert_eq!(
            line(&allow, &data(Abi::X86_64, "socket", [2, 1, 0, 0, 0, 0])),
            "libsandbox: the policy killed this process at socket(0x2, 0x1, 0x0) [x86_64 41]: \
             no allow entry names it; to allow it, add socket to the allow list\n"
        );
        let conditional = policy(None, Some("socket(arg0 == AF_INET)"), None);
        assert!(
            line(&conditional, &data(Abi::X86_64, "socket", [2, 1, 0, 0, 0, 0]))
                .contains(": SECCOMP_SYSCALL_DENY: socket(arg0 == AF_INET); to allow socket")
        );
        assert!(
            line(&deny, &data(Abi::I386, "uname", [0xdead_beef_0000_1000, 0, 0, 0, 0, 0]))
                .contains("uname(0x1000) [i386 122]")
        );
    }

    #[test]
    fn an_i386_call_of_a_policy_refusing_i386_names_the_refusal() {
        let switches = Switches { refuse_i386: true, ..Switches::default() };
        let refusing = Settings { switches, ..settings(None, Some("uname"), None) }.policy().unwrap().unwrap();
        assert_eq!(
            line(&refusing, &data(Abi::I386, "uname", [0x1000, 0, 0, 0, 0, 0])),
            "libsandbox: the policy killed this process at uname(0x1000) [i386 122]: every i386 call is refused; \
             to give i386 calls the rules by name, drop refuse-i386 (SANDBOX_REFUSE_I386; a profile: list \
             SCMP_ARCH_X86)\n"
        );
        assert!(line(&refusing, &data(Abi::X86_64, "uname", [0; 6])).contains(": SECCOMP_SYSCALL_DENY: uname;"));
    }

    #[test]
    fn the_json_form_is_one_escaped_object_per_line() {
        let deny = policy(None, Some("uname"), None);
        let program = compile(&deny).unwrap();
        let installed = Installed { source: "", policy: &deny, program: &program };
        let call = data(Abi::X86_64, "uname", [0x10, 0, 0, 0, 0, 0]);
        let process = Process {
            time: Some((1_700_000_000, 123_456_789)),
            pid: Some(7),
            tid: None,
            executable: "/tmp/a \"b\"\\\n",
        };
        let mut json = alloc::string::String::new();
        Violation::new(Action::Kill, [installed].into_iter(), &call).json(&mut json, &process).unwrap();
        assert_eq!(
            json,
            "{\"time\":1700000000.123456,\"pid\":7,\"tid\":null,\"executable\":\"/tmp/a \\\"b\\\"\\\\\\u000a\",\
             \"call\":\"uname\",\"nr\":63,\"abi\":\"x86_64\",\"args\":[\"0x10\"],\"action\":\"kill\",\
             \"rule\":\"SECCOMP_SYSCALL_DENY: uname\",\"change\":\"to allow uname, remove that entry\",\"fix\":\"remove\"}\n"
        );
    }
}
