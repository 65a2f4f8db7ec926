//! Lists of entries → [`Policy`]: what each system call gets, and why.
//!
//! Besides the entries themselves, a policy adds what libc and the kernel
//! make necessary, unless it is *exact* (`SANDBOX_EXACT=1`, `--exact`):
//!
//! - **families** (deny entries): a denied call's other doors are denied
//!   alike (`execve` → `execveat`; `open` → `openat`, `openat2`, `creat`);
//! - **successors** (allow entries): an allowed call also allows the call
//!   that libc now makes in its place (`fstat` → `newfstatat`: glibc ≥ 2.33
//!   implements `fstat()` with it, so Cloudflare's own example list works);
//! - **fallbacks** (allow lists whose violations are not logged): a newer
//!   call that is not listed while its older equivalent is gets ENOSYS
//!   instead of the default action, so libc takes its fallback path
//!   (`clone3` → `clone`: glibc ≥ 2.34 treats any other answer to `clone3`
//!   as fatal);
//! - **io_uring**: `io_uring_setup`, `io_uring_enter` and `io_uring_register`
//!   get ENOSYS unless an entry names them directly: the operations a ring
//!   carries never pass through seccomp, so a ring would bypass any list;
//! - **terminal injection**: `ioctl(TIOCSTI)`, which pushes characters into
//!   a terminal's input (the caller's shell, after the program ends), gets
//!   EIO, as from a kernel without `legacy_tiocsti`, and `ioctl(TIOCLINUX)`,
//!   whose selection paste does the same on a console, EPERM
//!   ([`TERMINAL_INJECTION`]).

#![forbid(unsafe_code)]

pub mod families;

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use crate::action::Action;
use crate::condition::{Comparison, Condition, Field, Rule, Width};
use crate::error::{Origin, PolicyError};
use crate::tables::syscalls::{FALLBACK_PAIRS, SUCCESSOR_PAIRS, Syscall};
use crate::text::entry::{Entry, Target};
use crate::text::variables::DENY;
use crate::text::{Lists, Settings, Sourced, Switches, Text, parse_list};

// The tables of other doors (data/families.txt), successors
// (data/successors.tsv) and fallbacks (data/fallbacks.tsv) are compiled by
// build.rs into pairs of call indices, sorted, so that resolving a policy
// does no name lookups for them.

/// The io_uring calls: a ring's operations are never seen by seccomp.
pub const IO_URING: &str = "io_uring_setup io_uring_enter io_uring_register";

/// The rules that keep a confined program from typing into the terminal it
/// shares with its caller, as entries: added to every policy that is not
/// exact, and the whole policy where only other confinement is asked for
/// ([`Policy::guard`]).
pub const TERMINAL_INJECTION: &str = "ioctl(arg1 == TIOCSTI)=EIO:ioctl(arg1 == TIOCLINUX)=EPERM";

/// [`TERMINAL_INJECTION`]'s `ioctl` rules, built without parsing it: the
/// parser's code and tables are most of what resolving a short deny list
/// would touch at every start (a test checks that both are the same).
fn terminal_rules() -> [Rule; 2] {
    let request = |value: libc::c_ulong, errno: libc::c_int| Rule {
        conditions: vec![Condition { field: Field::Arg(1), comparison: Comparison::Eq, value, width: Width::Bits32 }],
        action: Action::Errno(errno as u16),
    };
    [request(libc::TIOCSTI, libc::EIO), request(libc::TIOCLINUX, libc::EPERM)]
}

fn lookup(name: &str) -> &'static Syscall {
    Syscall::by_name(name).expect("the policy tables name known calls")
}

/// How an entry came to apply to a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Via {
    /// The entry names the call.
    Named,
    /// Through this group.
    Group(&'static str),
    /// A deny entry for this other door of the same family.
    Family(&'static str),
    /// An allow entry for this older call, which libc now makes as this one.
    Successor(&'static str),
}

/// Why a call gets what it gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Why {
    /// An entry of a list (see [`Policy::entries`]).
    Entry {
        /// Its position in [`Policy::entries`].
        entry: usize,
        /// How it reaches this call.
        via: Via,
    },
    /// ENOSYS so that libc falls back to this allowed older call.
    Fallback(&'static str),
    /// ENOSYS because a ring's operations bypass seccomp.
    IoUring,
    /// Added by the tool for the reason given.
    Added(&'static str),
}

/// A rule with its reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explained {
    /// The rule; no conditions for an unconditional one.
    pub rule: Rule,
    /// Why.
    pub why: Why,
}

/// Everything a policy says about one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRules {
    /// The call.
    pub syscall: &'static Syscall,
    /// Rules with conditions, tried in order: deny entries' first.
    pub conditional: Vec<Explained>,
    /// The action when no conditional rule applies; `None`: the policy's default.
    pub always: Option<Explained>,
}

/// Whether the policy started from an allow list or from "everything runs".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    /// Only what is listed runs: unlisted calls are violations.
    AllowList,
    /// Everything runs except what the deny list names.
    AllowAll,
}

/// A resolved policy: the rules of every call it mentions, and the rest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    base: Base,
    violation: Action,
    switches: Switches,
    /// The entries, allow list first, for explanations.
    entries: Vec<Sourced>,
    /// How many of `entries` are allow entries.
    allow_entries: usize,
    /// Sorted by syscall index, one per call mentioned.
    calls: Vec<CallRules>,
}

/// What the entries say of one call so far: its rules as they stand, and
/// what resolving them still needs. Kept small, as the library resolves
/// while the program starts, where each page of fresh memory is a fault.
struct Collected {
    rules: CallRules,
    /// The unconditional rule is a deny entry's: it wins outright.
    always_denied: bool,
    /// How many conditional rules, at the front, are deny entries'.
    denied_conditional: usize,
    /// Whether an allow entry mentions the call.
    allowed: bool,
}

impl Collected {
    fn new(syscall: &'static Syscall) -> Collected {
        let rules = CallRules { syscall, conditional: Vec::new(), always: None };
        Collected { rules, always_denied: false, denied_conditional: 0, allowed: false }
    }

    fn add(&mut self, explained: Explained, denied: bool) {
        self.allowed |= !denied;
        if !explained.rule.conditions.is_empty() {
            // Deny entries' conditional rules are tried first, each kind in entry order.
            let at = if denied { self.denied_conditional } else { self.rules.conditional.len() };
            self.rules.conditional.insert(at, explained);
            self.denied_conditional += usize::from(denied);
        } else if denied || !self.always_denied {
            // A later entry of the same kind wins.
            self.rules.always = Some(explained);
            self.always_denied |= denied;
        }
    }

    fn allows_something(&self) -> bool {
        self.allowed
    }

    fn into_rules(mut self) -> CallRules {
        if self.always_denied {
            self.rules.conditional.clear();
        }
        self.rules
    }
}

/// What the entries say, call by call, in the order the calls come up.
struct Collector {
    /// For each call (by index), its place in `collected`; `u16::MAX`: none.
    place: Vec<u16>,
    collected: Vec<Collected>,
}

impl Collector {
    fn new(capacity: usize) -> Collector {
        Collector { place: vec![u16::MAX; Syscall::all().len()], collected: Vec::with_capacity(capacity) }
    }

    fn get(&self, syscall: &Syscall) -> Option<&Collected> {
        self.collected.get(usize::from(self.place[syscall.index()]))
    }

    /// Adds a family's deny rule: an unconditional one does not replace a
    /// stricter unconditional deny rule already there (two families can
    /// reach one call: `clone3` gets ENOSYS as a door of `fork`, and its
    /// deny entry's action as a member of `clone`'s).
    fn add_stricter(&mut self, syscall: &'static Syscall, explained: Explained) {
        let stricter_there = self.get(syscall).is_some_and(|collected| {
            collected.always_denied
                && explained.rule.conditions.is_empty()
                && collected
                    .rules
                    .always
                    .as_ref()
                    .is_some_and(|always| always.rule.action.precedence() >= explained.rule.action.precedence())
        });
        if !stricter_there {
            self.add(syscall, explained, true);
        }
    }

    fn add(&mut self, syscall: &'static Syscall, explained: Explained, denied: bool) {
        let place = &mut self.place[syscall.index()];
        if *place == u16::MAX {
            *place = self.collected.len() as u16;
            self.collected.push(Collected::new(syscall));
        }
        self.collected[usize::from(*place)].add(explained, denied);
    }

    /// Replaces whatever the entries said of `syscall` with `explained`.
    fn replace(&mut self, syscall: &'static Syscall, explained: Explained, denied: bool) {
        let place = self.place[syscall.index()];
        if place != u16::MAX {
            self.collected[usize::from(place)] = Collected::new(syscall);
        }
        self.add(syscall, explained, denied);
    }

    /// The rules of every call, sorted by call. Each collected call is moved
    /// once, straight to its rank (a permutation applied in place), and the
    /// vector is then reused for the rules: sorting would move each several
    /// times, and a second vector would be fresh memory.
    fn into_rules(mut self) -> Vec<CallRules> {
        let mut rank = vec![0u16; self.collected.len()];
        for (next, &place) in self.place.iter().filter(|&&place| place != u16::MAX).enumerate() {
            rank[usize::from(place)] = next as u16;
        }
        for at in 0..rank.len() {
            while usize::from(rank[at]) != at {
                let to = usize::from(rank[at]);
                self.collected.swap(at, to);
                rank.swap(at, to);
            }
        }
        self.collected.into_iter().map(Collected::into_rules).collect()
    }
}

/// The older call libc falls back to when `newer` fails with ENOSYS, if any
/// (`clone3` → `clone`; `data/fallbacks.tsv`).
pub fn fallback_of(newer: &Syscall) -> Option<&'static Syscall> {
    FALLBACK_PAIRS
        .iter()
        .find(|&&(call, _)| usize::from(call) == newer.index())
        .map(|&(_, older)| &Syscall::all()[usize::from(older)])
}

/// The calls paired with `syscall` in a sorted table of index pairs.
fn paired(table: &'static [(u16, u16)], syscall: &Syscall) -> impl Iterator<Item = &'static Syscall> {
    let index = syscall.index() as u16;
    let start = table.partition_point(|&(call, _)| call < index);
    table[start..]
        .iter()
        .take_while(move |&&(call, _)| call == index)
        .map(|&(_, other)| &Syscall::all()[usize::from(other)])
}

impl Settings<'_> {
    /// Parses and resolves the settings; `Ok(None)` when there is nothing to enforce.
    pub fn policy(&self) -> Result<Option<Policy>, PolicyError> {
        Ok(self.lists()?.map(Policy::new))
    }
}

impl Policy {
    /// Resolves lists into rules per call: allow entries run (or get their
    /// own action), deny entries are violations (or get their own action)
    /// and are tried first; among entries without conditions a later one
    /// wins, and an unconditional deny entry wins outright.
    pub fn new(lists: Lists) -> Policy {
        let base = if lists.allow.is_some() { Base::AllowList } else { Base::AllowAll };
        let violation = lists.default_action.unwrap_or(Action::Kill);
        let allow_entries = lists.allow.as_ref().map_or(0, Vec::len);
        // Appended in place rather than collected into a copy (see parse_list).
        let mut entries: Vec<Sourced> = lists.allow.unwrap_or_default();
        entries.extend(lists.deny);
        let action_of = |index: usize, entry: &Entry| {
            let denied = index >= allow_entries;
            entry.action.unwrap_or(if denied { violation } else { Action::Allow })
        };

        // Twice the entries: room for the calls that families and successors add.
        let mut calls = Collector::new(2 * entries.len());
        // Calls named by an entry: by an allow entry, which keeps a successor
        // from being added; by a deny entry, which keeps a family's rule from
        // being added (that entry says what the call gets).
        let mut named = vec![false; Syscall::all().len()];
        let mut named_denied = vec![false; Syscall::all().len()];
        for (index, sourced) in entries.iter().enumerate() {
            let entry = &sourced.entry;
            let denied = index >= allow_entries;
            let rule = Rule { conditions: entry.conditions.clone(), action: action_of(index, entry) };
            match entry.target {
                Target::Syscall(syscall) => {
                    named[syscall.index()] = true;
                    named_denied[syscall.index()] |= denied;
                    calls.add(syscall, Explained { rule, why: Why::Entry { entry: index, via: Via::Named } }, denied);
                }
                Target::Group(group) => {
                    for syscall in group.syscalls() {
                        let why = Why::Entry { entry: index, via: Via::Group(group.name()) };
                        calls.add(syscall, Explained { rule: rule.clone(), why }, denied);
                    }
                }
            }
        }
        // After every entry's own calls: within a call, named and group
        // rules come before those of families and successors.
        if !lists.switches.exact {
            for (index, sourced) in entries.iter().enumerate() {
                let entry = &sourced.entry;
                let (Target::Syscall(syscall), true) = (entry.target, entry.conditions.is_empty()) else { continue };
                let why = Why::Entry {
                    entry: index,
                    via: if index >= allow_entries {
                        Via::Family(syscall.name())
                    } else {
                        Via::Successor(syscall.name())
                    },
                };
                if index < allow_entries {
                    let rule = Rule { conditions: Vec::new(), action: action_of(index, entry) };
                    for other in paired(&SUCCESSOR_PAIRS, syscall).filter(|other| !named[other.index()]) {
                        calls.add(other, Explained { rule: rule.clone(), why: why.clone() }, false);
                    }
                    continue;
                }
                // A deny entry: what reaches the same effect is denied too,
                // whatever an allow entry says (allowed = allow minus deny).
                for door in families::doors(syscall).filter(|door| !named_denied[door.syscall.index()]) {
                    let action = if door.enosys { Action::Errno(libc::ENOSYS as u16) } else { action_of(index, entry) };
                    let rule = Rule { conditions: door.conditions, action };
                    calls.add_stricter(door.syscall, Explained { rule, why: why.clone() });
                }
            }
        }

        if !lists.switches.exact {
            let mut enosys = Vec::new();
            // In permissive mode a newer call is logged and runs: ENOSYS
            // would send the program down another path than it takes
            // unconfined, which is what permissive mode must not do.
            if base == Base::AllowList && violation != Action::Log {
                for &(newer, older) in &FALLBACK_PAIRS {
                    let (newer, older) = (&Syscall::all()[usize::from(newer)], &Syscall::all()[usize::from(older)]);
                    let older_allowed = calls.get(older).is_some_and(Collected::allows_something);
                    if calls.get(newer).is_none() && older_allowed {
                        enosys.push((newer, Why::Fallback(older.name())));
                    }
                }
            }
            for name in IO_URING.split(' ') {
                let syscall = lookup(name);
                if !named[syscall.index()] {
                    enosys.push((syscall, Why::IoUring));
                }
            }
            let rule = Rule { conditions: Vec::new(), action: Action::Errno(libc::ENOSYS as u16) };
            for (syscall, why) in enosys {
                calls.replace(syscall, Explained { rule: rule.clone(), why }, true);
            }
            let ioctl = lookup("ioctl");
            for rule in terminal_rules() {
                let why = Why::Added("terminal injection: it would type into the terminal after the program ends");
                calls.add(ioctl, Explained { rule, why }, true);
            }
        }
        let calls = calls.into_rules();
        Policy { base, violation, switches: lists.switches, entries, allow_entries, calls }
    }

    /// The filter a sandbox adds to whatever policy it was given: the
    /// [`TERMINAL_INJECTION`] rules (the whole policy of a sandbox asked only
    /// for Landlock rules, namespaces or limits), and `entries`, what other
    /// confinement needs seccomp to close (the network rules'
    /// `sandbox_landlock::Settings::seccomp_entries`).
    pub fn guard(entries: &[&str]) -> Policy {
        let text: String = [TERMINAL_INJECTION].iter().chain(entries).copied().collect::<Vec<_>>().join(":");
        let deny = parse_list(Text { origin: &Origin::Variable(DENY), text: &text }).expect("the guard's rules parse");
        Policy::new(Lists { allow: None, deny, default_action: None, switches: Switches::EXACT })
    }

    /// The entries the policy was made from, allow list first.
    pub fn entries(&self) -> &[Sourced] {
        &self.entries
    }

    /// Whether entry `index` is a deny entry.
    pub fn is_deny_entry(&self, index: usize) -> bool {
        index >= self.allow_entries
    }

    /// `why` in words: where the rule came from.
    pub fn describe<'a>(&'a self, why: &'a Why) -> impl fmt::Display + 'a {
        Described { policy: self, why }
    }

    /// What a violation gets.
    pub fn violation(&self) -> Action {
        self.violation
    }

    /// What a call that no entry names gets.
    pub fn default_action(&self) -> Action {
        match self.base {
            Base::AllowList => self.violation,
            Base::AllowAll => Action::Allow,
        }
    }

    /// Whether the policy started from an allow list.
    pub fn base(&self) -> Base {
        self.base
    }

    /// Every action the policy gives some call: its default, its
    /// violations', and its rules'.
    pub fn actions(&self) -> impl Iterator<Item = Action> + '_ {
        let rules = self.calls.iter().flat_map(|call| call.always.iter().chain(&call.conditional));
        [self.default_action(), self.violation].into_iter().chain(rules.map(|explained| explained.rule.action))
    }

    /// Every call the policy mentions, sorted by name.
    pub fn calls(&self) -> &[CallRules] {
        &self.calls
    }

    /// What the policy says of `syscall`, if anything.
    pub fn call(&self, syscall: &Syscall) -> Option<&CallRules> {
        self.calls.binary_search_by(|call| call.syscall.index().cmp(&syscall.index())).ok().map(|i| &self.calls[i])
    }

    /// The action `syscall` gets when no condition applies.
    pub fn action_for(&self, syscall: &Syscall) -> Action {
        self.call(syscall).and_then(|call| call.always.as_ref()).map_or(self.default_action(), |e| e.rule.action)
    }

    /// Whether `syscall` runs whatever its arguments.
    pub fn always_allows(&self, syscall: &Syscall) -> bool {
        let conditional = self.call(syscall).map_or(&[][..], |call| &call.conditional[..]);
        self.action_for(syscall) == Action::Allow && conditional.iter().all(|rule| rule.rule.action == Action::Allow)
    }

    /// The strictest action any rule gives `syscall`, conditions ignored:
    /// what a call gets where its arguments cannot be tested.
    pub fn strictest_for(&self, syscall: &Syscall) -> Action {
        let conditional = self.call(syscall).into_iter().flat_map(|call| call.conditional.iter());
        conditional
            .map(|explained| explained.rule.action)
            .chain([self.action_for(syscall)])
            .max_by_key(|action| action.precedence())
            .expect("at least the unconditional action")
    }

    /// Whether entries meant exactly the calls they named.
    pub fn exact(&self) -> bool {
        self.switches.exact
    }

    /// Whether every i386 call kills the process (see [`Switches::refuse_i386`]).
    pub fn refuses_i386(&self) -> bool {
        self.switches.refuse_i386
    }
}

/// `why` in words.
struct Described<'a> {
    policy: &'a Policy,
    why: &'a Why,
}

impl fmt::Display for Described<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.why {
            Why::Entry { entry, via } => {
                let sourced = &self.policy.entries[*entry];
                write!(f, "{}: {}", sourced.origin, sourced.entry.written())?;
                match via {
                    Via::Named => Ok(()),
                    Via::Group(group) => write!(f, " (in {group})"),
                    Via::Family(door) => write!(f, " (another door to {door})"),
                    Via::Successor(older) => write!(f, " (libc calls it for {older})"),
                }
            }
            Why::Fallback(older) => write!(f, "fallback: ENOSYS so that libc uses {older}, which is allowed"),
            Why::IoUring => f.write_str("io_uring: its operations bypass seccomp; name it to allow it"),
            Why::Added(reason) => f.write_str(reason),
        }
    }
}

/// Shows the policy as the variables that reproduce it.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{policy, settings};
    use crate::text::MAX_LIST_BYTES;
    use crate::text::variables::Variables;

    #[test]
    fn the_terminal_rules_are_the_text_parsed() {
        let parsed: Vec<(&Syscall, Rule)> = TERMINAL_INJECTION
            .split(':')
            .map(|item| {
                let entry = crate::text::entry::parse_entry(item).unwrap();
                let Target::Syscall(syscall) = entry.target else { panic!("{item} names a group") };
                (syscall, Rule { conditions: entry.conditions, action: entry.action.unwrap() })
            })
            .collect();
        let built: Vec<(&Syscall, Rule)> = terminal_rules().into_iter().map(|rule| (lookup("ioctl"), rule)).collect();
        assert_eq!(built, parsed);
    }

    fn exact(allow: Option<&str>, deny: Option<&str>) -> Policy {
        Settings { switches: Switches::EXACT, ..settings(allow, deny, None) }.policy().unwrap().unwrap()
    }

    fn refusing_i386(allow: Option<&str>, deny: Option<&str>) -> Policy {
        let switches = Switches { refuse_i386: true, ..Switches::default() };
        Settings { switches, ..settings(allow, deny, None) }.policy().unwrap().unwrap()
    }

    fn error(allow: Option<&str>, deny: Option<&str>, default: Option<&str>) -> String {
        settings(allow, deny, default).policy().unwrap_err().to_string()
    }

    fn action(policy: &Policy, name: &str) -> Action {
        policy.action_for(Syscall::by_name(name).unwrap())
    }

    const ENOSYS: Action = Action::Errno(libc::ENOSYS as u16);

    #[test]
    fn nothing_set_means_no_policy() {
        assert_eq!(settings(None, None, None).policy(), Ok(None));
        assert_eq!(settings(None, None, Some("log")).policy(), Ok(None));
    }

    #[test]
    fn allow_list_kills_the_rest() {
        let p = policy(Some("read:write"), None, None);
        assert_eq!(action(&p, "read"), Action::Allow);
        assert_eq!(action(&p, "uname"), Action::Kill);
    }

    #[test]
    fn deny_list_allows_the_rest() {
        let p = policy(None, Some("uname"), None);
        assert_eq!(action(&p, "uname"), Action::Kill);
        assert_eq!(action(&p, "read"), Action::Allow);
    }

    #[test]
    fn both_lists_mean_allow_minus_deny() {
        let p = policy(Some("read:write:uname"), Some("uname"), None);
        assert_eq!(action(&p, "uname"), Action::Kill);
        assert_eq!(action(&p, "write"), Action::Allow);
        assert_eq!(action(&p, "getpid"), Action::Kill);
    }

    #[test]
    fn log_mode_turns_violations_into_log() {
        let p = policy(Some(""), None, Some("log"));
        assert_eq!(action(&p, "read"), Action::Log);
        let p = policy(None, Some("uname"), Some("log"));
        assert_eq!(action(&p, "uname"), Action::Log);
        assert_eq!(action(&p, "read"), Action::Allow);
    }

    #[test]
    fn entries_carry_their_own_actions() {
        let p = policy(None, Some("uname=ENETDOWN:ptrace=1:kill"), None);
        assert_eq!(action(&p, "uname"), Action::Errno(libc::ENETDOWN as u16));
        assert_eq!(action(&p, "ptrace"), Action::Errno(1));
        assert_eq!(action(&p, "kill"), Action::Kill);
    }

    #[test]
    fn blanks_and_empty_items_are_ignored() {
        let p = policy(Some(" read :: write\t: "), None, Some(" kill "));
        assert_eq!(action(&p, "read"), Action::Allow);
        assert_eq!(action(&p, "write"), Action::Allow);
        let p = policy(Some(""), None, None);
        assert_eq!(action(&p, "read"), Action::Kill);
    }

    #[test]
    fn later_entries_win_within_a_list_and_deny_wins_across() {
        let p = policy(None, Some("uname=EPERM:uname=ENOSYS"), None);
        assert_eq!(action(&p, "uname"), ENOSYS);
        let p = policy(Some("uname=EPERM"), Some("uname"), None);
        assert_eq!(action(&p, "uname"), Action::Kill);
    }

    #[test]
    fn groups_expand_and_deny_removes_from_them() {
        let p = policy(Some("@system-service"), Some("@privileged"), None);
        assert_eq!(action(&p, "read"), Action::Allow);
        assert_eq!(action(&p, "setuid"), Action::Kill);
        assert_eq!(action(&p, "reboot"), Action::Kill);
        let p = policy(None, Some("@privileged=EPERM"), None);
        assert_eq!(action(&p, "setuid"), Action::Errno(1));
    }

    #[test]
    fn conditions_make_alternatives_tried_deny_first() {
        let p = policy(Some("socket(arg0 == AF_UNIX):read"), Some("socket(arg0 == AF_INET)=EACCES"), None);
        let socket = p.call(Syscall::by_name("socket").unwrap()).unwrap();
        let actions: Vec<Action> = socket.conditional.iter().map(|e| e.rule.action).collect();
        assert_eq!(actions, [Action::Errno(libc::EACCES as u16), Action::Allow]);
        assert_eq!(socket.always, None);
        assert_eq!(p.strictest_for(Syscall::by_name("socket").unwrap()), Action::Kill);
    }

    #[test]
    fn deny_entries_cover_the_other_doors() {
        let p = policy(None, Some("execve:open=EACCES"), None);
        assert_eq!(action(&p, "execveat"), Action::Kill);
        for door in ["openat", "openat2", "creat"] {
            assert_eq!(action(&p, door), Action::Errno(libc::EACCES as u16), "{door}");
        }
        let p = policy(None, Some("execve:execveat=allow"), None);
        assert_eq!(action(&p, "execveat"), Action::Allow, "a door named itself keeps its own entry");
        let p = exact(None, Some("execve"));
        assert_eq!(action(&p, "execveat"), Action::Allow, "exact mode adds nothing");
        let p = policy(Some("execve"), None, None);
        assert_eq!(action(&p, "execveat"), Action::Kill, "allow entries do not open other doors");
    }

    #[test]
    fn allow_entries_take_libcs_successor_along() {
        let p = policy(Some("exit_group:fstat:uname:write"), None, None);
        assert_eq!(action(&p, "newfstatat"), Action::Allow);
        assert_eq!(action(&exact(Some("exit_group:fstat:uname:write"), None), "newfstatat"), Action::Kill);
    }

    #[test]
    fn unlisted_newer_calls_get_enosys_when_the_older_is_allowed() {
        let p = policy(Some("clone:read"), None, None);
        assert_eq!(action(&p, "clone3"), ENOSYS);
        assert_eq!(action(&p, "openat2"), Action::Kill, "openat is not allowed");
        let p = policy(Some("clone:clone3=EPERM"), None, None);
        assert_eq!(action(&p, "clone3"), Action::Errno(1), "listed calls keep their entry");
        assert_eq!(action(&exact(Some("clone"), None), "clone3"), Action::Kill);
        // A deny entry for clone denies its family, clone3 included: no
        // fallback brings back what the deny list takes away.
        let p = policy(Some("clone"), Some("clone"), None);
        assert_eq!((action(&p, "clone"), action(&p, "clone3")), (Action::Kill, Action::Kill));
    }

    #[test]
    fn io_uring_needs_naming() {
        for p in [policy(None, Some("uname"), None), policy(Some("@system-service"), None, None)] {
            for name in IO_URING.split(' ') {
                assert_eq!(action(&p, name), ENOSYS, "{name}");
            }
        }
        let p = policy(Some("io_uring_setup:io_uring_enter"), None, None);
        assert_eq!(action(&p, "io_uring_setup"), Action::Allow);
        assert_eq!(action(&p, "io_uring_register"), ENOSYS);
        assert_eq!(action(&exact(None, Some("uname")), "io_uring_setup"), Action::Allow);
    }

    #[test]
    fn variables_reproduce_the_policy() {
        let cases = [
            policy(Some("write:read:uname"), Some("uname:ptrace=EPERM"), None),
            policy(None, Some("uname"), Some("log")),
            policy(Some("read=EPERM:write:@basic-io"), Some("kill=allow:uname"), Some("trap")),
            policy(Some("socket(arg0 == AF_UNIX):clone"), Some("socket(arg0 == AF_INET, arg1 != 3)=EACCES"), None),
            // Found by fuzzing: a conditional allow entry and an errno for the rest of the call.
            policy(Some("@system-service=1:kill(arg1 <= 0x9a)"), None, Some("log")),
            refusing_i386(Some("read:write"), None),
            refusing_i386(None, None),
        ];
        for original in cases {
            let vars = original.variables();
            let mut variables = Variables::default();
            for (name, value) in &vars {
                variables.add(name.as_bytes(), value.as_bytes()).unwrap();
            }
            let again = variables.settings().unwrap().policy().unwrap().unwrap();
            assert_eq!(again.refuses_i386(), original.refuses_i386(), "{original}");
            for syscall in Syscall::all() {
                let rules = |p: &Policy| {
                    p.call(syscall).map(|call| {
                        let conditional: Vec<Rule> = call.conditional.iter().map(|e| e.rule.clone()).collect();
                        (conditional, call.always.as_ref().map(|e| e.rule.action))
                    })
                };
                assert_eq!(rules(&again), rules(&original), "{} in {original}", syscall.name());
            }
            assert_eq!(again.default_action(), original.default_action());
        }
    }

    #[test]
    fn unknown_names_suggest_near_ones() {
        assert_eq!(
            error(Some("read:unmae"), None, None),
            r#"SECCOMP_SYSCALL_ALLOW: unknown system call "unmae" (did you mean "uname"?)"#
        );
        assert_eq!(error(None, Some("frobnicate"), None), r#"SECCOMP_SYSCALL_DENY: unknown system call "frobnicate""#);
        assert_eq!(
            error(None, Some("@system-servce"), None),
            r#"SECCOMP_SYSCALL_DENY: unknown group "@system-servce" (did you mean "@system-service"?)"#
        );
    }

    #[test]
    fn names_of_other_architectures_are_accepted() {
        let p = policy(None, Some("arm_fadvise64_64"), None);
        assert_eq!(action(&p, "arm_fadvise64_64"), Action::Kill);
    }

    #[test]
    fn bad_actions_are_refused() {
        assert!(error(None, Some("uname=EFOO"), None).contains(r#"unknown action "EFOO""#));
        assert!(error(None, Some("uname="), None).contains("no action after ="));
        assert!(error(None, Some("=EPERM"), None).contains("no system call or group name"));
        assert_eq!(
            error(None, Some("uname"), Some("die")),
            r#"SECCOMP_DEFAULT_ACTION: unknown action "die" (expected kill, trap, log, allow, an errno name such as EPERM, or an errno number from 1 to 4095)"#
        );
        assert!(error(None, None, Some("bogus")).starts_with("SECCOMP_DEFAULT_ACTION: unknown action"));
        assert!(error(None, Some("uname"), Some("allow")).contains("would let every violation run"));
    }

    #[test]
    fn malformed_and_overlong_entries_are_refused() {
        assert!(error(Some("Read"), None, None).contains(r#"malformed entry "Read""#));
        assert!(error(Some("read write"), None, None).contains("malformed entry"));
        let long = "a".repeat(crate::text::entry::MAX_ENTRY_BYTES + 1);
        assert!(error(Some(&long), None, None).contains("longer than the limit of 256"));
        let huge = "read:".repeat(MAX_LIST_BYTES / 5 + 1);
        assert!(error(Some(&huge), None, None).contains("value of"));
        assert!(error(None, Some("socket(arg0 == AF_INETT)"), None).contains("did you mean \"AF_INET\""));
    }

    #[test]
    fn door_tables_pair_the_right_calls() {
        let names =
            |table, name| -> Vec<&str> { paired(table, Syscall::by_name(name).unwrap()).map(Syscall::name).collect() };
        assert_eq!(names(&SUCCESSOR_PAIRS, "fstat"), ["newfstatat"]);
        assert!(FALLBACK_PAIRS.len() > 10);
    }
}
