//! Landlock's access rights, as the kernel numbers them
//! (`include/uapi/linux/landlock.h`), each with the ABI that brought it.

#![forbid(unsafe_code)]

/// Execute a file.
pub const EXECUTE: u64 = 1 << 0;
/// Open a file for writing.
pub const WRITE_FILE: u64 = 1 << 1;
/// Open a file for reading.
pub const READ_FILE: u64 = 1 << 2;
/// List a directory.
pub const READ_DIR: u64 = 1 << 3;
/// Remove a directory, or rename one away.
pub const REMOVE_DIR: u64 = 1 << 4;
/// Unlink a file, or rename one away.
pub const REMOVE_FILE: u64 = 1 << 5;
/// Create a character device.
pub const MAKE_CHAR: u64 = 1 << 6;
/// Create a directory.
pub const MAKE_DIR: u64 = 1 << 7;
/// Create a regular file.
pub const MAKE_REG: u64 = 1 << 8;
/// Create a UNIX socket.
pub const MAKE_SOCK: u64 = 1 << 9;
/// Create a named pipe.
pub const MAKE_FIFO: u64 = 1 << 10;
/// Create a block device.
pub const MAKE_BLOCK: u64 = 1 << 11;
/// Create a symbolic link.
pub const MAKE_SYM: u64 = 1 << 12;
/// Link or rename a file into another directory (ABI 2).
pub const REFER: u64 = 1 << 13;
/// Truncate a file (ABI 3).
pub const TRUNCATE: u64 = 1 << 14;
/// `ioctl` on an opened device (ABI 5).
pub const IOCTL_DEV: u64 = 1 << 15;

/// Every filesystem right, its name as the kernel spells it, and the ABI
/// that brought it. Later rights (connecting to pathname UNIX sockets,
/// ABI 9) are left alone: nothing in a request speaks of them.
pub const FILESYSTEM: [(u64, &str, i32); 16] = [
    (EXECUTE, "execute", 1),
    (WRITE_FILE, "write_file", 1),
    (READ_FILE, "read_file", 1),
    (READ_DIR, "read_dir", 1),
    (REMOVE_DIR, "remove_dir", 1),
    (REMOVE_FILE, "remove_file", 1),
    (MAKE_CHAR, "make_char", 1),
    (MAKE_DIR, "make_dir", 1),
    (MAKE_REG, "make_reg", 1),
    (MAKE_SOCK, "make_sock", 1),
    (MAKE_FIFO, "make_fifo", 1),
    (MAKE_BLOCK, "make_block", 1),
    (MAKE_SYM, "make_sym", 1),
    (REFER, "refer", 2),
    (TRUNCATE, "truncate", 3),
    (IOCTL_DEV, "ioctl_dev", 5),
];

/// Every right of [`FILESYSTEM`]: what file rules handle.
pub const ALL: u64 = {
    let mut all = 0;
    let mut index = 0;
    while index < FILESYSTEM.len() {
        all |= FILESYSTEM[index].0;
        index += 1;
    }
    all
};

/// Reading: execute, read files, list directories.
pub const READ: u64 = EXECUTE | READ_FILE | READ_DIR;

/// The rights that mean something for a file that is not a directory: the
/// kernel refuses a rule on such a file with any other.
pub const FILE: u64 = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV;

/// The filesystem rights a kernel with Landlock ABI `abi` knows.
pub fn supported(abi: i32) -> u64 {
    FILESYSTEM.iter().filter(|(_, _, since)| *since <= abi).fold(0, |all, (right, _, _)| all | right)
}

/// Bind a TCP port (network rule, ABI 4).
pub const BIND_TCP: u64 = 1 << 0;
/// Connect to a TCP port (network rule, ABI 4).
pub const CONNECT_TCP: u64 = 1 << 1;
/// The ABI of TCP port rules.
pub const NETWORK_ABI: i32 = 4;

/// Connecting to an abstract UNIX socket made outside the domain (scope, ABI 6).
pub const SCOPE_ABSTRACT_UNIX_SOCKET: u64 = 1 << 0;
/// Signalling a process outside the domain (scope, ABI 6).
pub const SCOPE_SIGNAL: u64 = 1 << 1;
/// The ABI of the scopes.
pub const SCOPE_ABI: i32 = 6;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_abi_knows_the_rights_up_to_it() {
        assert_eq!(supported(1), (1 << 13) - 1);
        assert_eq!(supported(2), supported(1) | REFER);
        assert_eq!(supported(4), supported(3));
        assert_eq!(supported(7), ALL);
        assert_eq!(ALL, (1 << 16) - 1);
    }
}
