/* Tries calls a container profile decides (allowed, refused with an errno,
 * decided by an argument, left to the default) and prints, one line each,
 * the call and the errno it got (0: it ran). The arguments are invalid or
 * harmless, so that a call that runs fails or does nothing. Built static
 * for a runc bundle and dynamic for the library. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TRY(name, ...)                                                        \
    do {                                                                      \
        errno = 0;                                                            \
        long r = syscall(__VA_ARGS__);                                        \
        printf("%s %d\n", name, r < 0 ? errno : 0);                           \
    } while (0)

int main(void) {
    TRY("getpid", SYS_getpid);
    TRY("personality(0xffffffff)", SYS_personality, 0xffffffffUL);
    TRY("personality(0x1234)", SYS_personality, 0x1234UL);
    TRY("socket(inet)", SYS_socket, 2, 1, 0);
    TRY("socket(netlink,audit)", SYS_socket, 16, 3, 9);
    TRY("socket(netlink,route)", SYS_socket, 16, 3, 0);
    TRY("bpf", SYS_bpf, -1, 0, 0);
    TRY("clone3", SYS_clone3, 0, 0);
    TRY("chroot", SYS_chroot, "/nonexistent-profile-probe");
    TRY("setns", SYS_setns, -1, 0);
    TRY("unshare(0)", SYS_unshare, 0);
    TRY("mount", SYS_mount, 0, 0, 0, 0, 0);
    TRY("umount2", SYS_umount2, 0, 0);
    TRY("pivot_root", SYS_pivot_root, 0, 0);
    TRY("kexec_load", SYS_kexec_load, 0, 0, 0, 0);
    TRY("init_module", SYS_init_module, 0, 0, 0);
    TRY("acct", SYS_acct, "/nonexistent-profile-probe");
    TRY("swapon", SYS_swapon, "/nonexistent-profile-probe", 0);
    TRY("reboot", SYS_reboot, 0, 0, 0, 0);
    TRY("syslog", SYS_syslog, 10, 0, 0);
    TRY("perf_event_open", SYS_perf_event_open, 0, 0, -1, -1, 0);
    TRY("ptrace", SYS_ptrace, -1, 0, 0, 0);
    TRY("keyctl", SYS_keyctl, -1, 0, 0, 0, 0);
    TRY("add_key", SYS_add_key, 0, 0, 0, 0, 0);
    TRY("userfaultfd", SYS_userfaultfd, -1);
    TRY("open_by_handle_at", SYS_open_by_handle_at, -1, 0, 0);
    TRY("fanotify_init", SYS_fanotify_init, 0xffffffffU, 0);
    TRY("quotactl", SYS_quotactl, 0, 0, 0, 0);
    TRY("clock_settime", SYS_clock_settime, 0, 0);
    TRY("iopl(0)", SYS_iopl, 0);
    TRY("io_uring_setup", SYS_io_uring_setup, 0, 0);
    TRY("lookup_dcookie", SYS_lookup_dcookie, 0, 0, 0);
    TRY("uname", SYS_uname, 0);
    /* Newer than Docker 20.10's profile: runc fails them with ENOSYS for
     * libc's fallbacks (fchmodat2 is glibc's first try for fchmodat). */
    TRY("fchmodat2", 452, -1, "", 0, 0);
    TRY("mseal", 462, 0, 0, 0);
    return 0;
}
