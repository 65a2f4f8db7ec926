//! Named constants a condition may use as a value (`socket(arg0 == AF_INET)`),
//! taken from the `libc` crate so that they cannot drift from the kernel's.

/// Defines `NAMES` (space-separated), `VALUES` (same order) from
/// `libc::NAME` (or the value given) and `STARTS`, where each name begins in `NAMES` (computed
/// at compile time, so that a lookup is a binary search): strings and
/// integers only, so that the tables need no relocation when the library
/// is loaded.
macro_rules! constants {
    ($($name:ident $(= $value:expr)?),* $(,)?) => {
        const NAMES: &str = concat!($(stringify!($name), " "),*);
        const COUNT: usize = [$(stringify!($name)),*].len();
        static VALUES: [i128; COUNT] = [$(constants!(@value $name $(, $value)?)),*];
        static STARTS: [u16; COUNT + 1] = starts();
    };
    (@value $name:ident) => { libc::$name as i128 };
    (@value $name:ident, $value:expr) => { $value as i128 };
}

/// Where each name of `NAMES` begins, and one past the last.
const fn starts() -> [u16; COUNT + 1] {
    let bytes = NAMES.as_bytes();
    let mut starts = [0; COUNT + 1];
    let (mut at, mut name) = (0, 1);
    while at < bytes.len() {
        if bytes[at] == b' ' {
            starts[name] = (at + 1) as u16;
            name += 1;
        }
        at += 1;
    }
    starts
}

// Sorted by name (checked by a test).
constants![
    AF_ALG,
    AF_BLUETOOTH,
    AF_INET,
    AF_INET6,
    AF_KEY,
    AF_LOCAL,
    AF_NETLINK,
    AF_PACKET,
    AF_UNIX,
    AF_UNSPEC,
    AF_VSOCK,
    AF_XDP,
    AT_EMPTY_PATH,
    AT_FDCWD,
    AT_REMOVEDIR,
    AT_SYMLINK_FOLLOW,
    AT_SYMLINK_NOFOLLOW,
    CLONE_CHILD_CLEARTID,
    CLONE_CHILD_SETTID,
    CLONE_FILES,
    CLONE_FS,
    CLONE_IO,
    CLONE_NEWCGROUP,
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWTIME,
    CLONE_NEWUSER,
    CLONE_NEWUTS,
    CLONE_PARENT,
    CLONE_PARENT_SETTID,
    CLONE_PIDFD,
    CLONE_PTRACE,
    CLONE_SETTLS,
    CLONE_SIGHAND,
    CLONE_SYSVSEM,
    CLONE_THREAD,
    CLONE_UNTRACED,
    CLONE_VFORK,
    CLONE_VM,
    EFD_CLOEXEC,
    EFD_NONBLOCK,
    EFD_SEMAPHORE,
    FIOCLEX,
    FIONBIO,
    FIONCLEX,
    FIONREAD,
    F_DUPFD,
    F_DUPFD_CLOEXEC,
    F_GETFD,
    F_GETFL,
    F_GETLK,
    F_GETPIPE_SZ,
    F_OFD_GETLK,
    F_OFD_SETLK,
    F_OFD_SETLKW,
    F_SETFD,
    F_SETFL,
    F_SETLK,
    F_SETLKW,
    F_SETPIPE_SZ,
    GRND_NONBLOCK,
    GRND_RANDOM,
    IPPROTO_ICMP,
    IPPROTO_ICMPV6,
    IPPROTO_IP,
    IPPROTO_IPV6,
    IPPROTO_RAW,
    IPPROTO_TCP,
    IPPROTO_UDP,
    MADV_DODUMP,
    MADV_DONTDUMP,
    MADV_DONTFORK,
    MADV_DONTNEED,
    MADV_FREE,
    MADV_HUGEPAGE,
    MADV_NOHUGEPAGE,
    MADV_NORMAL,
    MADV_RANDOM,
    MADV_REMOVE,
    MADV_SEQUENTIAL,
    MADV_WILLNEED,
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_GROWSDOWN,
    MAP_HUGETLB,
    MAP_LOCKED,
    MAP_NORESERVE,
    MAP_POPULATE,
    MAP_PRIVATE,
    MAP_SHARED,
    MAP_SHARED_VALIDATE,
    MAP_STACK,
    MFD_ALLOW_SEALING,
    MFD_CLOEXEC,
    MFD_EXEC,
    MFD_HUGETLB,
    MFD_NOEXEC_SEAL,
    O_ACCMODE,
    O_APPEND,
    O_ASYNC,
    O_CLOEXEC,
    O_CREAT,
    O_DIRECT,
    O_DIRECTORY,
    O_DSYNC,
    O_EXCL,
    O_LARGEFILE,
    O_NOATIME,
    O_NOCTTY,
    O_NOFOLLOW,
    O_NONBLOCK,
    O_PATH,
    O_RDONLY,
    O_RDWR,
    O_SYNC,
    O_TMPFILE,
    O_TRUNC,
    O_WRONLY,
    PROT_EXEC,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    PR_CAPBSET_DROP,
    PR_CAPBSET_READ,
    PR_GET_DUMPABLE,
    PR_GET_NAME,
    PR_GET_NO_NEW_PRIVS,
    PR_GET_SECCOMP,
    PR_SET_DUMPABLE,
    PR_SET_NAME,
    PR_SET_NO_NEW_PRIVS,
    PR_SET_PDEATHSIG,
    PR_SET_PTRACER,
    PR_SET_SECCOMP,
    PTRACE_ATTACH,
    PTRACE_CONT,
    PTRACE_DETACH,
    // x86's (asm/ptrace-abi.h): arm64 has no such request, and the libc
    // crate none for it there; the language means the same number everywhere.
    PTRACE_GETREGS = 12,
    PTRACE_PEEKDATA,
    PTRACE_POKEDATA,
    PTRACE_SEIZE,
    PTRACE_TRACEME,
    SECCOMP_SET_MODE_FILTER,
    SECCOMP_SET_MODE_STRICT,
    SIGABRT,
    SIGALRM,
    SIGCHLD,
    SIGCONT,
    SIGHUP,
    SIGINT,
    SIGKILL,
    SIGPIPE,
    SIGQUIT,
    SIGSEGV,
    SIGSTOP,
    SIGSYS,
    SIGTERM,
    SIGTRAP,
    SIGTSTP,
    SIGUSR1,
    SIGUSR2,
    SOCK_CLOEXEC,
    SOCK_DGRAM,
    SOCK_NONBLOCK,
    SOCK_RAW,
    SOCK_RDM,
    SOCK_SEQPACKET,
    SOCK_STREAM,
    TIOCLINUX,
    TIOCSCTTY,
    TIOCSTI,
    WNOHANG,
    WUNTRACED,
];

/// The name at `index`.
fn name(index: usize) -> &'static str {
    &NAMES[usize::from(STARTS[index])..usize::from(STARTS[index + 1]) - 1]
}

fn names() -> impl Iterator<Item = &'static str> {
    (0..COUNT).map(name)
}

/// The value of a named constant.
pub fn lookup(wanted: &str) -> Option<i128> {
    let (mut low, mut high) = (0, COUNT);
    while low < high {
        let middle = (low + high) / 2;
        match name(middle).cmp(wanted) {
            core::cmp::Ordering::Less => low = middle + 1,
            core::cmp::Ordering::Greater => high = middle,
            core::cmp::Ordering::Equal => return Some(VALUES[middle]),
        }
    }
    None
}

/// Every named constant with its value, sorted by name.
pub fn all() -> impl Iterator<Item = (&'static str, i128)> {
    names().zip(VALUES.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_has_the_common_flags() {
        let names: alloc::vec::Vec<&str> = names().collect();
        assert!(names.windows(2).all(|pair| pair[0] < pair[1]), "keep the constants sorted");
        assert_eq!(names.len(), VALUES.len());
        assert_eq!(lookup("AF_INET"), Some(2));
        assert_eq!(lookup("AT_FDCWD"), Some(-100));
        assert_eq!(lookup("CLONE_NEWUSER"), Some(0x1000_0000));
        assert_eq!(lookup("O_WRONLY"), Some(1));
        assert_eq!(lookup("PROT_EXEC"), Some(4));
        assert_eq!(lookup("AF_INETX"), None);
        assert_eq!(lookup(""), None);
        assert!(all().all(|(name, value)| lookup(name) == Some(value)), "every name is found by the search");
    }
}
