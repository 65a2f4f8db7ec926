/* fs-probe OP ARG [OP ARG...]: tries each operation and prints one line per
 * operation, "OP ARG ok" or "OP ARG ENAME". Operations: read FILE, write FILE
 * (append), create FILE (new), remove FILE, mkdir DIR, list DIR, truncate
 * FILE, rename FROM>TO, exec FILE, connect PORT, bind PORT (TCP, 127.0.0.1),
 * signal PID (SIGCONT, harmless), abstract NAME (connect to the abstract
 * UNIX socket NAME), socket KIND (tcp, udp, mptcp, sctp, udp6: make one),
 * chmod FILE (0644), utime FILE, setxattr FILE (user.probe), unix PATH
 * (connect to the UNIX socket PATH), listen - (on a TCP socket never bound). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <sys/wait.h>
#include <unistd.h>

static int tcp(const char *port, int do_bind) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(atoi(port))};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = do_bind ? bind(fd, (struct sockaddr *)&address, sizeof address)
                     : connect(fd, (struct sockaddr *)&address, sizeof address);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

static int run(const char *op, char *arg) {
    int fd;
    if (!strcmp(op, "read")) {
        char buffer[64];
        if ((fd = open(arg, O_RDONLY)) < 0 || read(fd, buffer, sizeof buffer) < 0) return -1;
        return close(fd);
    }
    if (!strcmp(op, "write")) {
        if ((fd = open(arg, O_WRONLY | O_APPEND)) < 0 || write(fd, "x", 1) != 1) return -1;
        return close(fd);
    }
    if (!strcmp(op, "create")) return (fd = open(arg, O_WRONLY | O_CREAT | O_EXCL, 0666)) < 0 ? -1 : close(fd);
    if (!strcmp(op, "remove")) return unlink(arg);
    if (!strcmp(op, "mkdir")) return mkdir(arg, 0777);
    if (!strcmp(op, "truncate")) return truncate(arg, 0);
    if (!strcmp(op, "list")) {
        DIR *dir = opendir(arg);
        if (!dir) return -1;
        while (readdir(dir)) {}
        return closedir(dir);
    }
    if (!strcmp(op, "rename")) {
        char *to = strchr(arg, '>');
        if (!to) return errno = EINVAL, -1;
        *to = 0;
        int rc = rename(arg, to + 1);
        *to = '>';
        return rc;
    }
    if (!strcmp(op, "exec")) {
        pid_t child = fork();
        if (child == 0) {
            char *argv[] = {arg, NULL};
            execv(arg, argv);
            _exit(errno);
        }
        int status;
        waitpid(child, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) != 0) return errno = WEXITSTATUS(status), -1;
        return 0;
    }
    if (!strcmp(op, "signal")) return kill(atoi(arg), SIGCONT);
    if (!strcmp(op, "chmod")) return chmod(arg, 0644);
    if (!strcmp(op, "utime")) return utimes(arg, NULL);
    if (!strcmp(op, "setxattr")) return setxattr(arg, "user.probe", "1", 1, 0);
    if (!strcmp(op, "listen")) {
        if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0) return -1;
        int rc = listen(fd, 1);
        int saved = errno;
        close(fd);
        errno = saved;
        return rc;
    }
    if (!strcmp(op, "unix")) {
        struct sockaddr_un address = {.sun_family = AF_UNIX};
        if (strlen(arg) >= sizeof address.sun_path) return errno = ENAMETOOLONG, -1;
        strcpy(address.sun_path, arg);
        if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0) return -1;
        int rc = connect(fd, (struct sockaddr *)&address, sizeof address);
        int saved = errno;
        close(fd);
        errno = saved;
        return rc;
    }
    if (!strcmp(op, "socket")) {
        int family = strchr(arg, '6') ? AF_INET6 : AF_INET;
        int type = strncmp(arg, "udp", 3) ? SOCK_STREAM : SOCK_DGRAM;
        int protocol = !strcmp(arg, "mptcp") ? 262 : !strcmp(arg, "sctp") ? 132 : 0;
        if (!strcmp(arg, "sctp")) type = SOCK_SEQPACKET;
        return (fd = socket(family, type, protocol)) < 0 ? -1 : close(fd);
    }
    if (!strcmp(op, "abstract")) {
        struct sockaddr_un address = {.sun_family = AF_UNIX};
        size_t length = strlen(arg);
        if (length + 1 > sizeof address.sun_path) return errno = ENAMETOOLONG, -1;
        memcpy(address.sun_path + 1, arg, length);
        if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0) return -1;
        int rc = connect(fd, (struct sockaddr *)&address, offsetof(struct sockaddr_un, sun_path) + 1 + length);
        int saved = errno;
        close(fd);
        errno = saved;
        return rc;
    }
    if (!strcmp(op, "connect")) return tcp(arg, 0);
    if (!strcmp(op, "bind")) return tcp(arg, 1);
    return errno = ENOTSUP, -1;
}

int main(int argc, char **argv) {
    for (int i = 1; i + 1 < argc; i += 2) {
        int rc = run(argv[i], argv[i + 1]);
        printf("%s %s %s\n", argv[i], argv[i + 1], rc == 0 ? "ok" : strerrorname_np(errno));
    }
    return 0;
}
