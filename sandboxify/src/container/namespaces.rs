//! Which namespaces to create, and their configuration from inside: the
//! user namespace's maps, private mounts, the loopback interface, the host
//! name.
//!
//! An ordinary user may create the other namespaces only from inside a user
//! namespace that it owns, so any of them (or a new root) implies one. Root
//! (CAP_SYS_ADMIN) needs none unless `--unshare-user` asks for it. The user
//! namespace is created with the others in one call; the kernel creates it
//! first and makes it their owner.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use nix::errno::Errno;
use nix::mount::{MsFlags, mount};
use nix::sched::CloneFlags;

use super::{Caller, NamespaceOptions, SetupError, failed};

/// The namespaces to create.
#[derive(Debug, Default)]
pub struct Namespaces {
    /// The user namespace's map; None: no user namespace.
    user: Option<Mapping>,
    mount: bool,
    net: bool,
    pid: bool,
    ipc: bool,
    uts: bool,
    hostname: Option<OsString>,
    /// Whether PROGRAM keeps its capabilities.
    keep_capabilities: bool,
}

/// One id mapped to one id: all an ordinary user may map.
#[derive(Clone, Copy, Debug)]
struct Mapping {
    /// The uid and gid inside: the caller's own, or 0 with `--map-root`.
    uid_inside: u32,
    gid_inside: u32,
    uid_outside: u32,
    gid_outside: u32,
}

impl Namespaces {
    /// What `options` (and a new root, if `new_root`) ask of `caller`.
    pub fn new(options: &NamespaceOptions, new_root: bool, caller: Caller) -> Namespaces {
        let mount = options.unshare_pid || new_root;
        let others = mount || options.unshare_net || options.unshare_ipc || options.unshare_uts;
        let user = options.unshare_user || options.map_root || (others && !caller.privileged());
        let user = user.then_some(Mapping {
            uid_inside: if options.map_root { 0 } else { caller.euid },
            gid_inside: if options.map_root { 0 } else { caller.egid },
            uid_outside: caller.euid,
            gid_outside: caller.egid,
        });
        Namespaces {
            user,
            mount,
            net: options.unshare_net,
            pid: options.unshare_pid,
            ipc: options.unshare_ipc,
            uts: options.unshare_uts,
            hostname: options.hostname.clone(),
            keep_capabilities: options.keep_capabilities,
        }
    }

    /// Takes every capability away from PROGRAM, where a namespace or a new
    /// root is set up and `--keep-capabilities` is not given, as bubblewrap
    /// does: root in a user namespace of its own holds CAP_SYS_ADMIN over the
    /// mounts made there, and could remount a read-only bind read-write.
    /// Called last before the exec: the bounding set emptied, so that exec
    /// grants none even to uid 0, the ambient and inheritable sets cleared.
    pub fn drop_capabilities(&self) -> Result<(), SetupError> {
        if self.keep_capabilities || self.flags().is_empty() {
            return Ok(());
        }
        // Up to the kernel's last capability, which refuses the next with
        // EINVAL (/proc, which says which is last, may be gone by now).
        for capability in 0..64 {
            // SAFETY: prctl(PR_CAPBSET_DROP) with an integer argument.
            if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, capability as libc::c_ulong, 0, 0, 0) } != 0 {
                match Errno::last() {
                    Errno::EINVAL if capability > 0 => break,
                    errno => {
                        return Err(failed(format!("cannot drop capability {capability} from the bounding set"))(
                            errno,
                        )
                        .hint("--keep-capabilities keeps them all"));
                    }
                }
            }
        }
        // SAFETY: prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL) takes integers only.
        if unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) } != 0 {
            return Err(failed("cannot clear the ambient capabilities")(Errno::last()));
        }
        clear_inheritable()
    }

    /// Whether PROGRAM gets a PID namespace.
    pub fn pid(&self) -> bool {
        self.pid
    }

    /// The flags for clone(2) or unshare(2).
    pub fn flags(&self) -> CloneFlags {
        let mut flags = CloneFlags::empty();
        for (wanted, flag) in [
            (self.user.is_some(), CloneFlags::CLONE_NEWUSER),
            (self.mount, CloneFlags::CLONE_NEWNS),
            (self.net, CloneFlags::CLONE_NEWNET),
            (self.pid, CloneFlags::CLONE_NEWPID),
            (self.ipc, CloneFlags::CLONE_NEWIPC),
            (self.uts, CloneFlags::CLONE_NEWUTS),
        ] {
            flags.set(flag, wanted);
        }
        flags
    }

    /// Configures the namespaces from inside, once the process is in them.
    pub fn configure(&self) -> Result<(), SetupError> {
        if let Some(mapping) = &self.user {
            mapping.write()?;
        }
        if self.mount {
            // Nothing mounted from here on may reach the host, and nothing
            // the host mounts later appears inside.
            mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None::<&str>)
                .map_err(failed("cannot make the mounts private"))?;
        }
        if self.net {
            bring_up_loopback()?;
        }
        if let Some(name) = &self.hostname {
            nix::unistd::sethostname(name).map_err(failed(format!("--hostname {}", name.to_string_lossy())))?;
        }
        Ok(())
    }
}

impl Mapping {
    fn write(&self) -> Result<(), SetupError> {
        // The maps are written from inside, where even root has no
        // CAP_SETGID in the parent namespace: the kernel then requires
        // setgroups(2) to be disabled for good before the gid map.
        write_proc("/proc/self/setgroups", "deny")?;
        write_proc("/proc/self/uid_map", &format!("{} {} 1\n", self.uid_inside, self.uid_outside))?;
        write_proc("/proc/self/gid_map", &format!("{} {} 1\n", self.gid_inside, self.gid_outside))
    }
}

/// `struct __user_cap_header_struct`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

/// `struct __user_cap_data_struct`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// `_LINUX_CAPABILITY_VERSION_3`: two data structs, 64 capabilities.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Clears this process's inheritable capabilities, which exec would pass
/// on despite an empty bounding set; the others stay until the exec.
/// Gives up every capability this process has (effective, permitted,
/// inheritable): for the PID namespace's init, which never execs, where
/// PROGRAM loses its own.
pub fn drop_own_capabilities() -> Result<(), Errno> {
    let header = CapHeader { version: CAPABILITY_VERSION_3, pid: 0 };
    let none = [CapData::default(); 2];
    // SAFETY: capset reads two data structs for version 3.
    if unsafe { libc::syscall(libc::SYS_capset, &header, none.as_ptr()) } != 0 {
        return Err(Errno::last());
    }
    Ok(())
}

fn clear_inheritable() -> Result<(), SetupError> {
    let mut header = CapHeader { version: CAPABILITY_VERSION_3, pid: 0 };
    let mut data = [CapData::default(); 2];
    // SAFETY: capget fills two data structs for version 3.
    if unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) } != 0 {
        return Err(failed("cannot read the capabilities")(Errno::last()));
    }
    for half in &mut data {
        half.inheritable = 0;
    }
    // SAFETY: capset reads two data structs for version 3.
    if unsafe { libc::syscall(libc::SYS_capset, &header, data.as_ptr()) } != 0 {
        return Err(failed("cannot clear the inheritable capabilities")(Errno::last()));
    }
    Ok(())
}

fn write_proc(path: &str, text: &str) -> Result<(), SetupError> {
    std::fs::write(path, text).map_err(failed(format!("--unshare-user: cannot write {path}")))
}

/// The error for a failed clone(2) or unshare(2) of namespaces.
pub fn creation_failed(errno: Errno) -> SetupError {
    let error = failed("cannot create the namespaces")(errno);
    match errno {
        Errno::EPERM | Errno::ENOSPC | Errno::EINVAL => error.hint(
            "user namespaces may be disabled for ordinary users (sysctl user.max_user_namespaces, \
             kernel.unprivileged_userns_clone) or forbidden by an outer sandbox",
        ),
        _ => error,
    }
}

/// Sets IFF_UP on `lo`, the only interface of a new network namespace.
fn bring_up_loopback() -> Result<(), SetupError> {
    let step = "--unshare-net: cannot bring lo up";
    // SAFETY: socket(2) with constant arguments.
    let socket = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if socket < 0 {
        return Err(failed(step)(Errno::last()));
    }
    // SAFETY: a new descriptor, owned by nothing else.
    let socket = unsafe { OwnedFd::from_raw_fd(socket) };
    // SAFETY: ifreq is plain old data, valid when zeroed.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (to, from) in request.ifr_name.iter_mut().zip(c"lo".to_bytes_with_nul()) {
        *to = *from as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS and SIOCSIFFLAGS read and write `request`, a
    // valid ifreq naming "lo", on a socket of the new namespace.
    unsafe {
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFFLAGS, &mut request) < 0 {
            return Err(failed(step)(Errno::last()));
        }
        request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCSIFFLAGS, &request) < 0 {
            return Err(failed(step)(Errno::last()));
        }
    }
    Ok(())
}
