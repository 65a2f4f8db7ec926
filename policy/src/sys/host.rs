//! What an OCI profile's Docker conditions test about the calling process:
//! the kernel's version and the process's effective capabilities.

use syscalls::{Sysno, syscall};

use crate::text::oci::Host;

/// `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// This process and kernel; `None` if the kernel will not say.
pub fn current() -> Option<Host> {
    Some(Host { kernel: kernel()?, capabilities: effective_capabilities()? })
}

fn kernel() -> Option<(u32, u32)> {
    let mut name = zeroed_utsname();
    // SAFETY: uname(2) fills the structure it is given.
    unsafe { syscall!(Sysno::uname, &raw mut name) }.ok()?;
    // c_char is i8 on x86_64 and u8 on aarch64: the bytes either way.
    let release: alloc::vec::Vec<u8> =
        name.release.iter().take_while(|&&c| c != 0).map(|&c| c.to_ne_bytes()[0]).collect();
    let release = core::str::from_utf8(&release).ok()?;
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

fn zeroed_utsname() -> libc::utsname {
    // SAFETY: utsname is plain bytes, for which zero is a valid value.
    unsafe { core::mem::zeroed() }
}

fn effective_capabilities() -> Option<u64> {
    let header = [CAPABILITY_VERSION_3, 0];
    // Two `struct __user_cap_data_struct` (effective, permitted, inheritable).
    let mut data = [0u32; 6];
    // SAFETY: capget(2) of this process (pid 0) into two data structures, as version 3 asks.
    unsafe { syscall!(Sysno::capget, &raw const header, &raw mut data) }.ok()?;
    Some(u64::from(data[0]) | (u64::from(data[3]) << 32))
}
