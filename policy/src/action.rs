//! What the filter does with a system call.

#![forbid(unsafe_code)]

use core::fmt;

/// An action a rule can give a system call, in the kernel's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Kill the whole process with SIGSYS (`SECCOMP_RET_KILL_PROCESS`). Never
    /// the legacy thread kill, which leaves the rest of a program running.
    Kill,
    /// Send SIGSYS to the thread, which may catch it (`SECCOMP_RET_TRAP`).
    Trap,
    /// Fail the call with this errno without running it (`SECCOMP_RET_ERRNO`).
    Errno(u16),
    /// Hold the call and ask the process listening on the filter's
    /// notification descriptor what to do (`SECCOMP_RET_USER_NOTIF`); with no
    /// listener left, the call fails with ENOSYS. Not a policy word: the
    /// launcher uses it for its own exec.
    Notify,
    /// Run the call and write an audit record (`SECCOMP_RET_LOG`).
    Log,
    /// Run the call (`SECCOMP_RET_ALLOW`).
    Allow,
}

/// The `SECCOMP_RET_*` values the filter returns.
pub mod ret {
    /// `SECCOMP_RET_KILL_PROCESS`
    pub const KILL_PROCESS: u32 = 0x8000_0000;
    /// `SECCOMP_RET_TRAP`
    pub const TRAP: u32 = 0x0003_0000;
    /// `SECCOMP_RET_ERRNO`, ored with the errno.
    pub const ERRNO: u32 = 0x0005_0000;
    /// `SECCOMP_RET_USER_NOTIF`
    pub const USER_NOTIF: u32 = 0x7fc0_0000;
    /// `SECCOMP_RET_TRACE`: learn mode's observer only, never a policy's.
    pub const TRACE: u32 = 0x7ff0_0000;
    /// `SECCOMP_RET_LOG`
    pub const LOG: u32 = 0x7ffc_0000;
    /// `SECCOMP_RET_ALLOW`
    pub const ALLOW: u32 = 0x7fff_0000;
    /// `SECCOMP_RET_ACTION_FULL`: the action part of a return value.
    pub const ACTION_FULL: u32 = 0xffff_0000;
    /// `SECCOMP_RET_DATA`: the errno part of a return value.
    pub const DATA: u32 = 0x0000_ffff;
}

/// The largest errno the kernel passes through (`MAX_ERRNO`); it caps larger values.
pub const MAX_ERRNO: u16 = 4095;

impl Action {
    /// The filter's return value for this action.
    pub const fn ret(self) -> u32 {
        match self {
            Action::Kill => ret::KILL_PROCESS,
            Action::Trap => ret::TRAP,
            Action::Errno(errno) => ret::ERRNO | errno as u32,
            Action::Notify => ret::USER_NOTIF,
            Action::Log => ret::LOG,
            Action::Allow => ret::ALLOW,
        }
    }

    /// The action a filter return value stands for, if it is one of ours.
    pub fn from_ret(value: u32) -> Option<Action> {
        Some(match value & ret::ACTION_FULL {
            ret::KILL_PROCESS => Action::Kill,
            ret::TRAP => Action::Trap,
            ret::ERRNO => Action::Errno((value & ret::DATA) as u16),
            ret::USER_NOTIF => Action::Notify,
            ret::LOG => Action::Log,
            ret::ALLOW => Action::Allow,
            _ => return None,
        })
    }

    /// Orders actions as the kernel does when stacked filters disagree: the
    /// highest wins. Used where one call must stand for several (i386 socketcall).
    pub const fn precedence(self) -> u8 {
        match self {
            Action::Kill => 5,
            Action::Trap => 4,
            Action::Errno(_) => 3,
            Action::Notify => 2,
            Action::Log => 1,
            Action::Allow => 0,
        }
    }

    /// Parses an action word (`kill`, `trap`, `log`, `allow`), an errno name
    /// (`EPERM`) or an errno number (`1`). Case does not matter.
    pub fn parse(word: &str) -> Option<Action> {
        let action = match word.to_ascii_lowercase().as_str() {
            "kill" | "kill-process" | "kill_process" => Action::Kill,
            "trap" => Action::Trap,
            "log" => Action::Log,
            "allow" => Action::Allow,
            _ => return errno_by_name(word).or_else(|| errno_by_number(word)).map(Action::Errno),
        };
        Some(action)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Action::Kill => f.write_str("kill"),
            Action::Trap => f.write_str("trap"),
            Action::Notify => f.write_str("user-notif"),
            Action::Log => f.write_str("log"),
            Action::Allow => f.write_str("allow"),
            Action::Errno(errno) => match errno_names().find(|&(_, value)| value == errno as i32) {
                Some((name, _)) => f.write_str(name),
                None => write!(f, "{errno}"),
            },
        }
    }
}

fn errno_by_name(word: &str) -> Option<u16> {
    errno_names().find(|(name, _)| name.eq_ignore_ascii_case(word)).map(|(_, value)| value as u16)
}

fn errno_by_number(word: &str) -> Option<u16> {
    // Leading zeros, signs and blanks are refused: "01" is more likely a typo than an errno.
    if word.starts_with('0') || !word.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    word.parse::<u16>().ok().filter(|errno| (1..=MAX_ERRNO).contains(errno))
}

/// Defines `ERRNO_NAMES` (space-separated) and `ERRNO_VALUES` (same order)
/// from `libc::NAME`: no table of pointers, so nothing to relocate at load.
macro_rules! errnos {
    ($($name:ident),* $(,)?) => {
        const ERRNO_NAMES: &str = concat!($(stringify!($name), " "),*);
        static ERRNO_VALUES: [i32; [$(stringify!($name)),*].len()] = [$(libc::$name),*];
    };
}

// Errno names a policy may use. The first name of a value is the one shown.
errnos![
    EPERM,
    ENOENT,
    ESRCH,
    EINTR,
    EIO,
    ENXIO,
    E2BIG,
    ENOEXEC,
    EBADF,
    ECHILD,
    EAGAIN,
    ENOMEM,
    EACCES,
    EFAULT,
    EBUSY,
    EEXIST,
    EXDEV,
    ENODEV,
    ENOTDIR,
    EISDIR,
    EINVAL,
    ENFILE,
    EMFILE,
    ENOTTY,
    ETXTBSY,
    EFBIG,
    ENOSPC,
    ESPIPE,
    EROFS,
    EMLINK,
    EPIPE,
    EDOM,
    ERANGE,
    EDEADLK,
    ENAMETOOLONG,
    ENOLCK,
    ENOSYS,
    ENOTEMPTY,
    ELOOP,
    ENOMSG,
    ENODATA,
    ETIME,
    EPROTO,
    EOVERFLOW,
    EILSEQ,
    EUSERS,
    ENOTSOCK,
    EDESTADDRREQ,
    EMSGSIZE,
    EPROTOTYPE,
    ENOPROTOOPT,
    EPROTONOSUPPORT,
    ESOCKTNOSUPPORT,
    EOPNOTSUPP,
    ENOTSUP,
    EPFNOSUPPORT,
    EAFNOSUPPORT,
    EADDRINUSE,
    EADDRNOTAVAIL,
    ENETDOWN,
    ENETUNREACH,
    ENETRESET,
    ECONNABORTED,
    ECONNRESET,
    ENOBUFS,
    EISCONN,
    ENOTCONN,
    ETIMEDOUT,
    ECONNREFUSED,
    EHOSTDOWN,
    EHOSTUNREACH,
    EALREADY,
    EINPROGRESS,
    ESTALE,
    EDQUOT,
    ECANCELED,
    EOWNERDEAD,
    ENOTRECOVERABLE,
];

fn errno_names() -> impl Iterator<Item = (&'static str, i32)> {
    ERRNO_NAMES.split_terminator(' ').zip(ERRNO_VALUES.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_words_names_and_numbers() {
        assert_eq!(Action::parse("kill"), Some(Action::Kill));
        assert_eq!(Action::parse("LOG"), Some(Action::Log));
        assert_eq!(Action::parse("EPERM"), Some(Action::Errno(1)));
        assert_eq!(Action::parse("enetdown"), Some(Action::Errno(libc::ENETDOWN as u16)));
        assert_eq!(Action::parse("1"), Some(Action::Errno(1)));
        assert_eq!(Action::parse("4095"), Some(Action::Errno(4095)));
    }

    #[test]
    fn refuses_what_is_not_an_action() {
        for word in ["", "0", "01", "4096", "-1", "+1", " 1", "EFOO", "kil", "allow-all"] {
            assert_eq!(Action::parse(word), None, "{word:?}");
        }
    }

    #[test]
    fn return_values_round_trip() {
        for action in [Action::Kill, Action::Trap, Action::Errno(13), Action::Notify, Action::Log, Action::Allow] {
            assert_eq!(Action::from_ret(action.ret()), Some(action));
        }
        assert_eq!(Action::Errno(libc::EACCES as u16).to_string(), "EACCES");
        assert_eq!(Action::Errno(999).to_string(), "999");
    }
}
