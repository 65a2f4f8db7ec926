/* escape-siblings MODE MARKER: reaches the effect of a denied call through
 * another call of its family, and creates the directory MARKER only if the
 * effect happened (a signal delivered, an extended attribute set, a
 * namespace or a process made, a connection or a port had):
 *   signals to a child of its own (which makes MARKER when SIGUSR1 reaches
 *   it): tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo,
 *   pidfd_send_signal, fcntl-setown (SIGIO as SIGUSR1 through F_SETOWN and
 *   F_SETSIG), i386-tkill (int 0x80);
 *   extended attributes on a file: setxattr, lsetxattr, fsetxattr,
 *   setxattrat;
 *   namespaces: clone-newuser, clone3-newuser;
 *   processes: clone-fork, clone-fork-high (clone((1 << 32) | SIGCHLD)),
 *   clone3-fork, i386-clone-fork;
 *   network: fastopen (connect with sendto(MSG_FASTOPEN) to a listener of
 *   its own), listen-autobind (listen on a socket never bound), socketpair
 *   (a socket made at all);
 *   kernel AIO (io_setup, io_submit): aio-write (one byte written into a
 *   file), aio-send (one byte sent through a socket of a socketpair);
 *   fallocate: fallocate-punch (a file's data zeroed), fallocate-grow (a
 *   file made longer);
 *   hanging up the terminal (root): vhangup, tiocvhangup (ioctl
 *   TIOCVHANGUP), from a process of a session of its own, whose leader
 *   makes MARKER when SIGHUP reaches it.
 * A call the sandbox answers with an errno prints it (clone3 gets ENOSYS
 * so that libc falls back to clone), but for aio-write, which cannot print
 * when writing is denied: ENOSYS ends it with status 38. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/falloc.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

static const char *marker;

static void escaped(void) {
    if (mkdir(marker, 0755) != 0) perror("mkdir");
}

static void on_usr1(int signal) {
    (void)signal;
    escaped();
    _exit(0);
}

/* A child that waits (at most 3 s) for SIGUSR1. */
static pid_t waiting_child(void) {
    signal(SIGUSR1, on_usr1);
    pid_t child = fork();
    if (child == 0) {
        /* Not holding the output: the test reads it until every holder ends. */
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        alarm(3);
        for (;;) pause();
    }
    usleep(50000); /* let it reach pause() */
    return child;
}

/* int 0x80 with three arguments. */
static long i386_call(long number, long a, long b, long c) {
    long result;
    __asm__ volatile("int $0x80" : "=a"(result) : "a"(number), "b"(a), "c"(b), "d"(c) : "memory");
    return result;
}

static int report(long result, const char *what) {
    if (result < 0) {
        printf("%s: %s\n", what, strerrorname_np(errno));
        return 1;
    }
    return 0;
}

static int signal_child(const char *mode) {
    pid_t child = waiting_child();
    long result = 0;
    if (!strcmp(mode, "tkill")) {
        result = syscall(SYS_tkill, child, SIGUSR1);
    } else if (!strcmp(mode, "tgkill")) {
        result = syscall(SYS_tgkill, child, child, SIGUSR1);
    } else if (!strcmp(mode, "rt_sigqueueinfo") || !strcmp(mode, "rt_tgsigqueueinfo")) {
        siginfo_t info;
        memset(&info, 0, sizeof info);
        info.si_signo = SIGUSR1;
        info.si_code = SI_QUEUE;
        info.si_pid = getpid();
        info.si_uid = getuid();
        result = !strcmp(mode, "rt_sigqueueinfo") ? syscall(SYS_rt_sigqueueinfo, child, SIGUSR1, &info)
                                                   : syscall(SYS_rt_tgsigqueueinfo, child, child, SIGUSR1, &info);
    } else if (!strcmp(mode, "pidfd_send_signal")) {
        int pidfd = syscall(SYS_pidfd_open, child, 0);
        result = pidfd < 0 ? -1 : syscall(SYS_pidfd_send_signal, pidfd, SIGUSR1, NULL, 0);
    } else if (!strcmp(mode, "fcntl-setown")) {
        int fds[2];
        if (pipe(fds) != 0 || fcntl(fds[0], F_SETOWN, child) != 0 || fcntl(fds[0], F_SETSIG, SIGUSR1) != 0 ||
            fcntl(fds[0], F_SETFL, O_ASYNC) != 0)
            result = -1;
        else
            result = write(fds[1], "x", 1);
    } else if (!strcmp(mode, "i386-tkill")) {
        result = i386_call(238, child, SIGUSR1, 0);
        if (result < 0) errno = -result, result = -1;
    } else {
        return 2;
    }
    int status;
    waitpid(child, &status, 0);
    return report(result, mode);
}

static int xattr(const char *mode) {
    char file[4096];
    snprintf(file, sizeof file, "%s.file", marker);
    int fd = open(file, O_RDWR | O_CREAT, 0644);
    if (fd < 0) return perror("open"), 2;
    long result;
    if (!strcmp(mode, "setxattr"))
        result = setxattr(file, "user.escaped", "1", 1, 0);
    else if (!strcmp(mode, "lsetxattr"))
        result = lsetxattr(file, "user.escaped", "1", 1, 0);
    else if (!strcmp(mode, "fsetxattr"))
        result = fsetxattr(fd, "user.escaped", "1", 1, 0);
    else if (!strcmp(mode, "setxattrat")) {
        /* struct xattr_args { __aligned_u64 value; __u32 size; __u32 flags; } */
        struct { uint64_t value; uint32_t size, flags; } args = {(uintptr_t) "1", 1, 0};
        result = syscall(463, AT_FDCWD, file, 0, "user.escaped", &args, sizeof args);
    } else
        return 2;
    if (result == 0) escaped();
    unlink(file);
    return report(result, mode);
}

static int child_makes_marker(void) {
    escaped();
    _exit(0);
}

static int processes(const char *mode) {
    long result;
    if (!strcmp(mode, "clone-newuser") || !strcmp(mode, "clone-fork") || !strcmp(mode, "clone-fork-high")) {
        unsigned long flags = SIGCHLD;
        if (!strcmp(mode, "clone-newuser")) flags |= CLONE_NEWUSER;
        if (!strcmp(mode, "clone-fork-high")) flags |= 1UL << 32;
        result = syscall(SYS_clone, flags, 0, NULL, NULL, 0);
    } else if (!strcmp(mode, "clone3-newuser") || !strcmp(mode, "clone3-fork")) {
        struct clone_args args;
        memset(&args, 0, sizeof args);
        args.exit_signal = SIGCHLD;
        if (!strcmp(mode, "clone3-newuser")) args.flags = CLONE_NEWUSER;
        result = syscall(SYS_clone3, &args, sizeof args);
    } else if (!strcmp(mode, "i386-clone-fork")) {
        result = i386_call(120, SIGCHLD, 0, 0);
        if (result < 0) errno = -result, result = -1;
    } else {
        return 2;
    }
    if (result == 0) child_makes_marker();
    if (result > 0) waitpid(result, NULL, 0);
    return report(result, mode);
}

/* One IOCB_CMD_PWRITE of a byte into `fd` through kernel AIO (raw calls,
 * no libaio): 0 once it completed, else -1 with errno set. */
static long aio_write_byte(int fd) {
    aio_context_t context = 0;
    if (syscall(SYS_io_setup, 1, &context) != 0) return -1;
    struct iocb block;
    memset(&block, 0, sizeof block);
    block.aio_lio_opcode = IOCB_CMD_PWRITE;
    block.aio_fildes = fd;
    block.aio_buf = (uintptr_t) "x";
    block.aio_nbytes = 1;
    struct iocb *blocks[1] = {&block};
    struct io_event event;
    long result = syscall(SYS_io_submit, context, 1, blocks) == 1 &&
                          syscall(SYS_io_getevents, context, 1, 1, &event, NULL) == 1 && event.res == 1
                      ? 0
                      : -1;
    syscall(SYS_io_destroy, context);
    return result;
}

static int aio(const char *mode) {
    if (!strcmp(mode, "aio-write")) {
        char file[4096];
        snprintf(file, sizeof file, "%s.file", marker);
        int fd = open(file, O_RDWR | O_CREAT, 0644);
        if (fd < 0) return 2;
        long result = aio_write_byte(fd);
        struct stat st;
        if (fstat(fd, &st) == 0 && st.st_size > 0) escaped();
        unlink(file);
        return result < 0 && errno == ENOSYS ? 38 : result < 0;
    }
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) return perror("socketpair"), 2;
    long result = aio_write_byte(pair[0]);
    int error = errno;
    char byte;
    if (recv(pair[1], &byte, 1, MSG_DONTWAIT) == 1) escaped();
    errno = error;
    return report(result, mode);
}

static int allocate(const char *mode) {
    char file[4096], data[8192];
    snprintf(file, sizeof file, "%s.file", marker);
    int fd = open(file, O_RDWR | O_CREAT, 0644);
    if (fd < 0) return perror(file), 2;
    /* The data goes in by a call the mode's policy leaves alone: through a
     * shared mapping where writing is denied, else by write. */
    if (!strcmp(mode, "fallocate-punch")) {
        char *map = ftruncate(fd, sizeof data) == 0
                        ? mmap(NULL, sizeof data, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                        : MAP_FAILED;
        if (map == MAP_FAILED) return perror("mmap"), 2;
        memset(map, 'd', sizeof data);
        munmap(map, sizeof data);
    } else {
        memset(data, 'd', sizeof data);
        if (write(fd, data, sizeof data) != sizeof data) return perror(file), 2;
    }
    long result = !strcmp(mode, "fallocate-punch")
                      ? fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, sizeof data)
                      : fallocate(fd, 0, 0, 2 * sizeof data);
    int error = errno;
    struct stat st;
    if (pread(fd, data, 1, 0) == 1 && data[0] != 'd') escaped();
    if (fstat(fd, &st) == 0 && st.st_size != sizeof data) escaped();
    unlink(file);
    errno = error;
    return report(result, mode);
}

static void on_hangup(int signal) {
    (void)signal;
    escaped();
    _exit(0);
}

/* A session of its own on a new pseudo-terminal: its leader waits for
 * SIGHUP while another of its processes hangs the terminal up. Prints how
 * that process ended. */
static int hang_up(const char *mode) {
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) return perror("pty"), 2;
    const char *name = ptsname(master);
    pid_t leader = fork();
    if (leader == 0) {
        signal(SIGHUP, on_hangup);
        int terminal = setsid() < 0 ? -1 : open(name, O_RDWR); /* the session's controlling terminal */
        if (terminal < 0) _exit(2);
        pid_t member = fork();
        if (member == 0) {
            signal(SIGHUP, SIG_IGN);
            long result = !strcmp(mode, "vhangup") ? syscall(SYS_vhangup) : ioctl(terminal, TIOCVHANGUP);
            _exit(result == 0 ? 0 : 1);
        }
        int status;
        waitpid(member, &status, 0);
        usleep(100000); /* a SIGHUP sent ends this process before */
        _exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status));
    }
    int status;
    waitpid(leader, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) > 128) printf("%s: killed by signal %d\n", mode, WEXITSTATUS(status) - 128);
    return 0;
}

static int network(const char *mode) {
    struct sockaddr_in address = {.sin_family = AF_INET};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (!strcmp(mode, "listen-autobind")) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        long result = listen(fd, 1);
        if (result == 0 && getsockname(fd, (struct sockaddr *)&address, &length) == 0 && address.sin_port != 0)
            escaped();
        return report(result, mode);
    }
    if (!strcmp(mode, "socketpair")) {
        int pair[2];
        long result = socketpair(AF_UNIX, SOCK_DGRAM, 0, pair);
        if (result == 0) escaped();
        return report(result, mode);
    }
    if (strcmp(mode, "fastopen")) return 2;
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 1) != 0 ||
        getsockname(listener, (struct sockaddr *)&address, &length) != 0)
        return perror("listener"), 2;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    long result = sendto(fd, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&address, sizeof address);
    if (result >= 0 || errno == EINPROGRESS) {
        int accepted = accept(listener, NULL, NULL);
        if (accepted >= 0) escaped();
        result = 0;
    }
    return report(result, mode);
}

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    const char *mode = argv[1];
    marker = argv[2];
    setvbuf(stdout, NULL, _IONBF, 0);
    if (strstr(mode, "kill") || strstr(mode, "sigqueueinfo") || strstr(mode, "signal") || strstr(mode, "setown"))
        return signal_child(mode);
    if (strstr(mode, "xattr")) return xattr(mode);
    if (strstr(mode, "clone")) return processes(mode);
    if (strstr(mode, "aio")) return aio(mode);
    if (strstr(mode, "fallocate")) return allocate(mode);
    if (strstr(mode, "hangup")) return hang_up(mode);
    return network(mode);
}
