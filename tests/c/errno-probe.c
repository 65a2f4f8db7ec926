/* errno-probe OPERATION...: makes each system call named, with harmless
 * arguments, and prints "OPERATION: ok" or "OPERATION: ERRNAME". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

static long run(const char *operation) {
    if (!strcmp(operation, "socket-inet")) return socket(AF_INET, SOCK_STREAM, 0);
    if (!strcmp(operation, "socket-unix")) return socket(AF_UNIX, SOCK_STREAM, 0);
    /* AF_INET with garbage in the high word, which the kernel ignores. */
    if (!strcmp(operation, "socket-inet-high")) return syscall(SYS_socket, (1UL << 32) | AF_INET, SOCK_STREAM, 0);
    if (!strcmp(operation, "uname")) {
        struct utsname name;
        return uname(&name);
    }
    if (!strcmp(operation, "getppid")) return syscall(SYS_getppid);
    if (!strcmp(operation, "setuid")) return syscall(SYS_setuid, getuid());
    if (!strcmp(operation, "open-read")) return open("/dev/null", O_RDONLY);
    if (!strcmp(operation, "openat-read")) return syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY);
    if (!strcmp(operation, "openat-write")) return syscall(SYS_openat, AT_FDCWD, "/dev/null", O_WRONLY);
    if (!strcmp(operation, "mmap-exec"))
        return (long)mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == -1 ? -1 : 0;
    if (!strcmp(operation, "io_uring_setup")) {
        struct io_uring_params params;
        memset(&params, 0, sizeof params);
        return syscall(SYS_io_uring_setup, 1, &params);
    }
    if (!strcmp(operation, "clone3")) return syscall(SYS_clone3, NULL, 0); /* EINVAL when it runs */
    if (!strcmp(operation, "kill-self-0")) return kill(getpid(), 0);
    if (!strcmp(operation, "ptrace")) return syscall(SYS_ptrace, -1L, 0, 0, 0); /* PTRACE_TRACEME is 0; -1 is invalid */
    fprintf(stderr, "errno-probe: unknown operation %s\n", operation);
    return -2;
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        errno = 0;
        long result = run(argv[i]);
        if (result == -2) return 2;
        if (result >= 0)
            printf("%s: ok\n", argv[i]);
        else
            printf("%s: %s\n", argv[i], strerrorname_np(errno));
        fflush(stdout);
    }
    return 0;
}
