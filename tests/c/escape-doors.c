/* escape-doors DOOR MARKER: does what a denied call does through another
 * call, and creates the marker only through that other door:
 *   copy_file_range, sendfile, splice   write into the existing file MARKER
 *                                       without write(2) (under a deny of write);
 *   open_by_handle_at                   opens the existing file MARKER for
 *                                       writing without open/openat (root:
 *                                       it needs CAP_DAC_READ_SEARCH), then
 *                                       writes into it (MARKER must be on
 *                                       the working directory's mount);
 *   pkey_mprotect                       makes a page executable without
 *                                       mprotect(2), then creates the
 *                                       directory MARKER;
 *   mmap2                               maps a page with the i386 mmap2
 *                                       (int 0x80, 192) under a deny of mmap,
 *                                       then creates the directory MARKER;
 *   sched_setattr, sched_setscheduler   set this process's scheduling policy
 *                                       (SCHED_BATCH) under a deny of
 *                                       sched_setparam or sched_setscheduler;
 *   mlock2, mlockall, mmap-locked       lock memory (MAP_LOCKED) under a
 *                                       deny of mlock;
 *   futex_wake                          wakes a futex under a deny of futex;
 *   process_madvise                     advises on its own memory through a
 *                                       pidfd under a deny of madvise;
 *   open_by_handle_at-trunc             empties the existing file MARKER
 *                                       (O_TRUNC) without truncate (root),
 *                                       then writes into it;
 *   userfaultfd-dev                     makes a userfaultfd through
 *                                       /dev/userfaultfd (root);
 *   mount-move, pivot-root              in a mount namespace of its own,
 *                                       moves a mount away from where it hid
 *                                       a file (MS_MOVE; pivot_root, which
 *                                       moves the old root) under a deny of
 *                                       umount (root);
 *   setns-mnt                           in a user and mount namespace of its
 *                                       own, with a directory bound over /,
 *                                       enters the namespace again (setns),
 *                                       which makes that directory its root,
 *                                       under a deny of chroot;
 *   btrfs-subvol, btrfs-subvol-v2       make the directory MARKER, on btrfs,
 *                                       as a subvolume (BTRFS_IOC_SUBVOL_CREATE
 *                                       and _V2) under a deny of mkdir;
 *   btrfs-destroy                       removes the subvolume MARKER
 *                                       (BTRFS_IOC_SNAP_DESTROY) under a deny
 *                                       of unlink, then makes MARKER-gone;
 *   ficlone, ficlonerange               on a file system that shares data
 *                                       (btrfs), put the data of the file
 *                                       MARKER.src (4096 bytes) into the
 *                                       existing file MARKER (FICLONE,
 *                                       FICLONERANGE) under a deny of write;
 *   zero-range, unresvsp                fill MARKER.data (8192 bytes) through a
 *                                       shared mapping, then zero its first
 *                                       block (FS_IOC_ZERO_RANGE,
 *                                       FS_IOC_UNRESVSP) under a deny of write;
 *   resvsp                              allocates 1 MiB to the empty file
 *                                       MARKER.data (FS_IOC_RESVSP) under a
 *                                       deny of fallocate;
 *   prlimit-cpu                         sets its child's CPU limit to 0
 *                                       (prlimit64), and the kernel kills it,
 *                                       under a deny of kill;
 *   dnotify, fanotify                   watch MARKER's directory (fcntl
 *                                       F_NOTIFY, fanotify) and see a file
 *                                       made there, under a deny of
 *                                       inotify_init;
 *   keyring                             makes a keyring (keyctl
 *                                       JOIN_SESSION_KEYRING) under a deny of
 *                                       add_key;
 *   memfd-secret                        maps secret memory, which is locked
 *                                       (VmLck), under a deny of mlock;
 *   winsize                             resizes a terminal (TIOCSWINSZ on a
 *                                       pty's master), which sends SIGWINCH
 *                                       to a child in its foreground, under a
 *                                       deny of kill;
 *   madv-remove                         punches a hole in MARKER.data through
 *                                       a shared mapping (MADV_REMOVE) under a
 *                                       deny of fallocate;
 *   whiteout                            leaves a whiteout (a 0:0 character
 *                                       device) where MARKER.data was
 *                                       (RENAME_WHITEOUT, root) under a deny
 *                                       of mknod.
 * Each creates the directory MARKER when the effect happened.
 * Exits 0 if the door worked, 1 if not; prints nothing (write may be denied). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/btrfs.h>
#include <linux/fs.h>
#include <sys/fanotify.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* Splits MARKER into its directory, copied into PARENT, and its last
 * name, returned (NULL if MARKER has no slash). */
static const char *split(const char *marker, char *parent, size_t size) {
    snprintf(parent, size, "%s", marker);
    char *slash = strrchr(parent, '/');
    if (!slash) return NULL;
    *slash = 0;
    return slash + 1;
}

/* MARKER.data, opened for reading and writing, made if missing. */
static int open_data(const char *marker) {
    char data[4200];
    snprintf(data, sizeof data, "%s.data", marker);
    return open(data, O_RDWR | O_CREAT, 0644);
}

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    const char *door = argv[1], *marker = argv[2];
    if (!strcmp(door, "copy_file_range") || !strcmp(door, "sendfile") || !strcmp(door, "splice")) {
        int out = open(marker, O_WRONLY);
        int in = open("/proc/self/exe", O_RDONLY);
        if (out < 0 || in < 0) return 1;
        if (!strcmp(door, "copy_file_range")) return copy_file_range(in, NULL, out, NULL, 4, 0) == 4 ? 0 : 1;
        if (!strcmp(door, "sendfile")) return sendfile(out, in, NULL, 4) == 4 ? 0 : 1;
        int pipe_fds[2];
        struct iovec text = {"escaped\n", 8};
        if (pipe(pipe_fds) != 0 || vmsplice(pipe_fds[1], &text, 1, 0) != 8) return 1;
        return splice(pipe_fds[0], NULL, out, NULL, 8, 0) == 8 ? 0 : 1;
    }
    if (!strcmp(door, "open_by_handle_at")) {
        struct file_handle *handle = malloc(sizeof *handle + MAX_HANDLE_SZ);
        handle->handle_bytes = MAX_HANDLE_SZ;
        int mount_id;
        if (name_to_handle_at(AT_FDCWD, marker, handle, &mount_id, 0) != 0) return 1;
        /* AT_FDCWD: the handle is looked up on the mount of the working directory. */
        int fd = (int)syscall(SYS_open_by_handle_at, AT_FDCWD, handle, O_WRONLY);
        if (fd < 0) return 1;
        return write(fd, "escaped\n", 8) == 8 ? 0 : 1;
    }
    if (!strcmp(door, "pkey_mprotect")) {
        void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (page == MAP_FAILED || syscall(SYS_pkey_mprotect, page, 4096, PROT_READ | PROT_EXEC, -1) != 0) return 1;
        return mkdir(marker, 0755) == 0 ? 0 : 1;
    }
    if (!strcmp(door, "mmap2")) {
        long result;
        __asm__ volatile("push %%rbp\n\tmov %[pgoff], %%rbp\n\tint $0x80\n\tpop %%rbp"
                         : "=a"(result)
                         : "a"(192L), "b"(0L), "c"(4096L), "d"((long)(PROT_READ | PROT_WRITE)),
                           "S"((long)(MAP_PRIVATE | MAP_ANONYMOUS)), "D"(-1L), [pgoff] "r"(0L)
                         : "memory");
        if (result < 0 && result > -4096) return 1;
        return mkdir(marker, 0755) == 0 ? 0 : 1;
    }
    if (!strcmp(door, "sched_setattr") || !strcmp(door, "sched_setscheduler")) {
        struct { uint32_t size, policy; uint64_t flags; int32_t nice; uint32_t priority; uint64_t runtime, deadline, period; } attr = {sizeof attr, SCHED_BATCH};
        struct sched_param param = {0};
        long set = !strcmp(door, "sched_setattr") ? syscall(SYS_sched_setattr, 0, &attr, 0)
                                                  : syscall(SYS_sched_setscheduler, 0, SCHED_BATCH, &param);
        if (set != 0 || sched_getscheduler(0) != SCHED_BATCH) return 1;
        return mkdir(marker, 0755) == 0 ? 0 : 1;
    }
    if (!strcmp(door, "mlock2") || !strcmp(door, "mlockall") || !strcmp(door, "mmap-locked")) {
        void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | (!strcmp(door, "mmap-locked") ? MAP_LOCKED : 0), -1, 0);
        if (page == MAP_FAILED) return 1;
        if (!strcmp(door, "mlock2") && syscall(SYS_mlock2, page, 4096, 0) != 0) return 1;
        if (!strcmp(door, "mlockall") && mlockall(MCL_CURRENT) != 0) return 1;
        /* The effect: pages locked (VmLck in /proc/self/status). */
        FILE *status = fopen("/proc/self/status", "r");
        char line[256];
        long locked = 0;
        while (status && fgets(line, sizeof line, status))
            if (!strncmp(line, "VmLck:", 6)) locked = atol(line + 6);
        if (locked == 0) return 1;
        return mkdir(marker, 0755) == 0 ? 0 : 1;
    }
    if (!strcmp(door, "futex_wake")) {
        static uint32_t word;
        /* FUTEX2_SIZE_U32 | FUTEX2_PRIVATE: no waiter, 0 woken; it ran. */
        if (syscall(454, &word, 0xffffffffUL, 1, 0x02 | 128) != 0) return 1;
        return mkdir(marker, 0755) == 0 ? 0 : 1;
    }
    if (!strcmp(door, "process_madvise")) {
        void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        int self = (int)syscall(SYS_pidfd_open, getpid(), 0);
        struct iovec range = {page, 4096};
        if (page == MAP_FAILED || self < 0 || syscall(SYS_process_madvise, self, &range, 1, MADV_COLD, 0) != 4096) return 1;
        return mkdir(marker, 0755) == 0 ? 0 : 1;
    }
    if (!strcmp(door, "open_by_handle_at-trunc")) {
        struct file_handle *handle = malloc(sizeof *handle + MAX_HANDLE_SZ);
        handle->handle_bytes = MAX_HANDLE_SZ;
        int mount_id;
        if (name_to_handle_at(AT_FDCWD, marker, handle, &mount_id, 0) != 0) return 1;
        int fd = (int)syscall(SYS_open_by_handle_at, AT_FDCWD, handle, O_WRONLY | O_TRUNC);
        if (fd < 0) return 1;
        return write(fd, "escaped\n", 8) == 8 ? 0 : 1;
    }
    if (!strcmp(door, "userfaultfd-dev")) {
        int device = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
        if (device < 0 || ioctl(device, _IO(0xAA, 0x00), O_CLOEXEC) < 0) return 1;
        return mkdir(marker, 0755) == 0 ? 0 : 1;
    }
    if (!strcmp(door, "mount-move")) {
        char hidden[] = "/tmp/escape-doors-XXXXXX", away[] = "/tmp/escape-doors-XXXXXX", file[64];
        if (!mkdtemp(hidden) || !mkdtemp(away)) return 1;
        snprintf(file, sizeof file, "%s/hidden", hidden);
        if (mkdir(file, 0755) != 0 || unshare(CLONE_NEWNS) != 0) return 1;
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) return 1;
        if (mount("tmpfs", hidden, "tmpfs", 0, NULL) != 0 || access(file, F_OK) == 0) return 1;
        /* The tmpfs hides FILE; moved away, it no longer does. */
        if (mount(hidden, away, NULL, MS_MOVE, NULL) != 0 || access(file, F_OK) != 0) return 1;
        return mkdir(marker, 0755) == 0 ? 0 : 1;
    }
    if (!strcmp(door, "pivot-root")) {
        /* A tmpfs becomes the root; the old root, moved beneath it, no
         * longer covers the new root's mount point. */
        char top[] = "/tmp/escape-doors-XXXXXX", old[64];
        if (!mkdtemp(top) || unshare(CLONE_NEWNS) != 0) return 1;
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) return 1;
        if (mount("tmpfs", top, "tmpfs", 0, NULL) != 0) return 1;
        snprintf(old, sizeof old, "%s/old", top);
        char parent[4096];
        const char *name = split(marker, parent, sizeof parent);
        if (!name) return 2;
        int dir = open(parent, O_PATH | O_DIRECTORY);
        if (dir < 0 || mkdir(old, 0755) != 0 || syscall(SYS_pivot_root, top, old) != 0) return 1;
        return mkdirat(dir, name, 0755) == 0 ? 0 : 1;
    }
    if (!strcmp(door, "setns-mnt")) {
        char jail[] = "/tmp/escape-doors-XXXXXX", inside[64];
        if (!mkdtemp(jail)) return 1;
        snprintf(inside, sizeof inside, "%s/inside-jail", jail);
        if (mkdir(inside, 0755) != 0) return 1;
        /* MARKER's directory, to reach it from the new root. */
        char parent[4096];
        const char *name = split(marker, parent, sizeof parent);
        if (!name) return 2;
        int outside = open(parent, O_PATH | O_DIRECTORY);
        if (outside < 0 || unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return 1;
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) return 1;
        if (mount(jail, "/", NULL, MS_BIND, NULL) != 0) return 1;
        int self = open("/proc/self/ns/mnt", O_RDONLY);
        if (self < 0 || syscall(SYS_setns, self, CLONE_NEWNS) != 0 || access("/inside-jail", F_OK) != 0) return 1;
        return mkdirat(outside, name, 0755) == 0 ? 0 : 1;
    }
    if (!strcmp(door, "ficlone") || !strcmp(door, "ficlonerange")) {
        char source[4200];
        snprintf(source, sizeof source, "%s.src", marker);
        int in = open(source, O_RDONLY), out = open(marker, O_WRONLY);
        if (in < 0 || out < 0) return 1;
        if (!strcmp(door, "ficlone")) return ioctl(out, FICLONE, in) == 0 ? 0 : 1;
        struct file_clone_range range = {.src_fd = in, .src_length = 4096};
        return ioctl(out, FICLONERANGE, &range) == 0 ? 0 : 1;
    }
    if (!strcmp(door, "zero-range") || !strcmp(door, "unresvsp") || !strcmp(door, "resvsp")) {
        struct space_resv {
            int16_t l_type, l_whence;
            int64_t l_start, l_len;
            int32_t l_sysid;
            uint32_t l_pid;
            int32_t l_pad[4];
        };
        int fd = open_data(marker);
        if (fd < 0) return 1;
        struct space_resv range = {.l_len = 4096};
        if (!strcmp(door, "resvsp")) {
            struct stat before, after;
            range.l_len = 1 << 20;
            if (fstat(fd, &before) || ioctl(fd, _IOW('X', 40, struct space_resv), &range)) return 1;
            if (fstat(fd, &after) || after.st_blocks < before.st_blocks + 2048) return 1;
            return mkdir(marker, 0755) == 0 ? 0 : 1;
        }
        char *map;
        if (ftruncate(fd, 8192) != 0) return 1;
        map = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED) return 1;
        memset(map, 'A', 8192);
        munmap(map, 8192);
        unsigned long request =
            !strcmp(door, "zero-range") ? _IOW('X', 57, struct space_resv) : _IOW('X', 41, struct space_resv);
        char first = 'A';
        if (ioctl(fd, request, &range) != 0 || pread(fd, &first, 1, 0) != 1 || first != 0) return 1;
        return mkdir(marker, 0755) == 0 ? 0 : 1;
    }
    if (!strcmp(door, "winsize")) {
        int master = posix_openpt(O_RDWR | O_NOCTTY);
        if (master < 0 || grantpt(master) || unlockpt(master)) return 1;
        const char *slave = ptsname(master);
        int ready[2];
        if (!slave || pipe(ready)) return 1;
        pid_t child = fork();
        if (child == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            alarm(10);
            sigset_t winch;
            sigemptyset(&winch);
            sigaddset(&winch, SIGWINCH);
            sigprocmask(SIG_BLOCK, &winch, NULL);
            /* Its own session, the pty its controlling terminal, itself in the foreground. */
            if (setsid() < 0 || open(slave, O_RDWR) < 0) _exit(1);
            if (write(ready[1], "", 1) != 1) _exit(1);
            int got;
            _exit(sigwait(&winch, &got) == 0 ? 0 : 1);
        }
        char byte;
        struct winsize size = {.ws_row = 42, .ws_col = 42};
        if (read(ready[0], &byte, 1) != 1 || ioctl(master, TIOCSWINSZ, &size) != 0) return 1;
        int status;
        if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
        return mkdir(marker, 0755) == 0 ? 0 : 1;
    }
    if (!strcmp(door, "whiteout")) {
        char data[4200], moved[4200];
        snprintf(data, sizeof data, "%s.data", marker);
        snprintf(moved, sizeof moved, "%s.moved", marker);
        struct stat left;
        if (close(open_data(marker)) != 0) return 1;
        if (syscall(SYS_renameat2, AT_FDCWD, data, AT_FDCWD, moved, RENAME_WHITEOUT) != 0) return 1;
        if (lstat(data, &left) != 0 || !S_ISCHR(left.st_mode)) return 1;
        return mkdir(marker, 0755) == 0 ? 0 : 1;
    }
    if (!strcmp(door, "madv-remove")) {
        int fd = open_data(marker);
        if (fd < 0) return 1;
        struct stat before, after;
        char *map;
        if (ftruncate(fd, 1 << 20) != 0) return 1;
        map = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED) return 1;
        memset(map, 'A', 1 << 20);
        if (msync(map, 1 << 20, MS_ASYNC) || fsync(fd) || fstat(fd, &before)) return 1;
        if (madvise(map, 1 << 20, MADV_REMOVE) != 0 || fstat(fd, &after)) return 1;
        if (after.st_blocks >= before.st_blocks || map[0] != 0) return 1;
        return mkdir(marker, 0755) == 0 ? 0 : 1;
    }
    if (!strcmp(door, "prlimit-cpu")) {
        pid_t child = fork();
        if (child == 0) {
            /* Not past its parent, killed by the policy, nor for long. */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            alarm(10);
            for (;;) continue;
        }
        struct rlimit none = {0, 0};
        int status;
        if (syscall(SYS_prlimit64, child, RLIMIT_CPU, &none, NULL) != 0) {
            kill(child, SIGKILL);
            return 1;
        }
        if (waitpid(child, &status, 0) != child || !WIFSIGNALED(status)) return 1;
        return mkdir(marker, 0755) == 0 ? 0 : 1;
    }
    if (!strcmp(door, "dnotify") || !strcmp(door, "fanotify")) {
        char parent[4096], made[4200];
        if (!split(marker, parent, sizeof parent)) return 2;
        snprintf(made, sizeof made, "%s.made", marker);
        int seen = 0;
        if (!strcmp(door, "dnotify")) {
            sigset_t io;
            sigemptyset(&io);
            sigaddset(&io, SIGIO);
            sigprocmask(SIG_BLOCK, &io, NULL);
            int dir = open(parent, O_RDONLY | O_DIRECTORY);
            if (dir < 0 || fcntl(dir, F_NOTIFY, DN_CREATE) != 0) return 1;
            if (close(open(made, O_CREAT | O_RDONLY, 0644)) != 0) return 1;
            struct timespec wait = {2, 0};
            seen = sigtimedwait(&io, NULL, &wait) == SIGIO;
        } else {
            int group = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME, O_RDONLY);
            if (group < 0 || fanotify_mark(group, FAN_MARK_ADD, FAN_CREATE, AT_FDCWD, parent) != 0) return 1;
            if (close(open(made, O_CREAT | O_RDONLY, 0644)) != 0) return 1;
            char events[4096];
            seen = read(group, events, sizeof events) > 0;
        }
        return seen && mkdir(marker, 0755) == 0 ? 0 : 1;
    }
    if (!strcmp(door, "keyring")) {
        if (syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, "escape-doors") < 0) return 1;
        return mkdir(marker, 0755) == 0 ? 0 : 1;
    }
    if (!strcmp(door, "memfd-secret")) {
        int fd = (int)syscall(SYS_memfd_secret, 0);
        if (fd < 0 || ftruncate(fd, 4096) != 0) return 1;
        char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (page == MAP_FAILED) return 1;
        page[0] = 1;
        FILE *status = fopen("/proc/self/status", "r");
        char line[256];
        long locked = 0;
        while (status && fgets(line, sizeof line, status))
            if (!strncmp(line, "VmLck:", 6)) locked = atol(line + 6);
        return locked > 0 && mkdir(marker, 0755) == 0 ? 0 : 1;
    }
    if (!strncmp(door, "btrfs-", 6)) {
        char parent[4096];
        const char *name = split(marker, parent, sizeof parent);
        if (!name) return 2;
        int dir = open(parent, O_RDONLY | O_DIRECTORY);
        if (dir < 0) return 1;
        if (!strcmp(door, "btrfs-subvol-v2")) {
            struct btrfs_ioctl_vol_args_v2 args = {0};
            snprintf(args.name, sizeof args.name, "%s", name);
            return ioctl(dir, BTRFS_IOC_SUBVOL_CREATE_V2, &args) == 0 ? 0 : 1;
        }
        struct btrfs_ioctl_vol_args args = {0};
        snprintf(args.name, sizeof args.name, "%s", name);
        if (!strcmp(door, "btrfs-subvol")) return ioctl(dir, BTRFS_IOC_SUBVOL_CREATE, &args) == 0 ? 0 : 1;
        if (!strcmp(door, "btrfs-destroy")) {
            char gone[4200];
            snprintf(gone, sizeof gone, "%s-gone", marker);
            return ioctl(dir, BTRFS_IOC_SNAP_DESTROY, &args) == 0 && mkdir(gone, 0755) == 0 ? 0 : 1;
        }
    }
    return 2;
}
