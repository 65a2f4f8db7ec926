/* fs-probe OP ARG [OP ARG...]: tries each operation and prints one line per
 * operation, "OP ARG ok" or "OP ARG ENAME". Operations: read FILE, write FILE
 * (append), create FILE (new), remove FILE, mkdir DIR, list DIR, truncate
 * FILE, rename FROM>TO, exec FILE, connect PORT, bind PORT (TCP, 127.0.0.1),
 * signal PID (SIGCONT, harmless), abstract NAME (connect to the abstract
 * UNIX socket NAME). */
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
