/* Reports what a program sees of its namespaces, root and limits, one
 * command per run (see usage below). Built static so that it runs in a new
 * root that holds nothing else. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static int compare(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prints the entries of `path` (only the numeric ones if `numeric`), sorted,
 * one line, separated by blanks. */
static int list(const char *path, int numeric) {
    DIR *dir = opendir(path);
    if (!dir) {
        printf("%s: %s\n", path, strerror(errno));
        return 2;
    }
    char *names[4096];
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) && count < 4096) {
        if (entry->d_name[0] == '.') continue;
        if (numeric && strspn(entry->d_name, "0123456789") != strlen(entry->d_name)) continue;
        names[count++] = strdup(entry->d_name);
    }
    closedir(dir);
    qsort(names, count, sizeof names[0], compare);
    for (int i = 0; i < count; i++) printf("%s%s", i ? " " : "", names[i]);
    printf("\n");
    return 0;
}

/* Each interface of /proc/net/dev with UP or DOWN. */
static int interfaces(void) {
    FILE *dev = fopen("/proc/net/dev", "r");
    int sock = socket(AF_INET, SOCK_DGRAM, 0);
    char line[512];
    if (!dev || sock < 0) return 2;
    for (int number = 0; fgets(line, sizeof line, dev); number++) {
        char *colon = strchr(line, ':');
        if (number < 2 || !colon) continue;
        *colon = 0;
        struct ifreq request = {0};
        snprintf(request.ifr_name, sizeof request.ifr_name, "%s", line + strspn(line, " "));
        if (ioctl(sock, SIOCGIFFLAGS, &request) < 0) return 2;
        printf("%s %s\n", request.ifr_name, request.ifr_flags & IFF_UP ? "UP" : "DOWN");
    }
    return 0;
}

static void caught(int signal) {
    (void)signal;
    static const char text[] = "caught\n";
    write(1, text, sizeof text - 1);
    _exit(7);
}

/* Forks children that wait forever until fork fails. */
static int fork_storm(void) {
    for (int children = 0; children < 100000; children++) {
        pid_t pid = fork();
        if (pid < 0) {
            printf("stopped after %d: %s\n", children, strerror(errno));
            return 0;
        }
        if (pid == 0) {
            /* Holding no pipe of the caller's: should it outlive us, the caller still sees the end. */
            close(1);
            close(2);
            pause();
            _exit(0);
        }
    }
    printf("not stopped\n");
    return 1;
}

/* Allocates and touches 1 MiB at a time, up to 4 GiB. */
static int hog(void) {
    for (int mebibytes = 0; mebibytes < 4096; mebibytes++) {
        char *block = malloc(1 << 20);
        if (!block) {
            printf("allocation failed after %d MiB\n", mebibytes);
            return 3;
        }
        memset(block, 1, 1 << 20);
    }
    printf("not stopped\n");
    return 1;
}

/* A grandchild orphaned by its parent: who adopts it, and is it reaped
 * (gone once it has exited: kill(pid, 0) fails with ESRCH only then). */
static int orphan(void) {
    int pipes[2];
    if (pipe(pipes) < 0) return 2;
    pid_t child = fork();
    if (child == 0) {
        pid_t parent = getpid();
        if (fork() == 0) {
            while (getppid() == parent) usleep(1000);
            dprintf(pipes[1], "%d %d", (int)getpid(), (int)getppid());
            _exit(0);
        }
        _exit(0);
    }
    close(pipes[1]);
    waitpid(child, NULL, 0);
    char answer[64] = "";
    if (read(pipes[0], answer, sizeof answer - 1) <= 0) return 2;
    int pid, adopter;
    if (sscanf(answer, "%d %d", &pid, &adopter) != 2) return 2;
    printf("adopted by %d\n", adopter);
    int tries = 0;
    while (kill(pid, 0) == 0 && tries++ < 2000) usleep(1000);
    printf("reaped %s\n", kill(pid, 0) != 0 && errno == ESRCH ? "yes" : "no");
    return 0;
}

int main(int argc, char **argv) {
    const char *command = argc > 1 ? argv[1] : "";
    const char *argument = argc > 2 ? argv[2] : "";
    if (!strcmp(command, "pids")) {
        printf("pid %d ppid %d\n", (int)getpid(), (int)getppid());
    } else if (!strcmp(command, "ids")) {
        printf("uid %d gid %d\n", (int)getuid(), (int)getgid());
    } else if (!strcmp(command, "procs")) {
        return list("/proc", 1);
    } else if (!strcmp(command, "ls")) {
        return list(argument, 0);
    } else if (!strcmp(command, "net")) {
        return interfaces();
    } else if (!strcmp(command, "hostname")) {
        struct utsname names;
        uname(&names);
        printf("%s\n", names.nodename);
    } else if (!strcmp(command, "write")) {
        int fd = open(argument, O_WRONLY | O_CREAT, 0644);
        printf("%s\n", fd < 0 ? strerror(errno) : "ok");
    } else if (!strcmp(command, "cwd")) {
        char cwd[4096];
        printf("%s\n", getcwd(cwd, sizeof cwd) ? cwd : strerror(errno));
    } else if (!strcmp(command, "exit")) {
        return atoi(argument);
    } else if (!strcmp(command, "wait-signal") || !strcmp(command, "handle-signal")) {
        if (!strcmp(command, "handle-signal")) signal(atoi(argument), caught);
        printf("ready\n");
        fflush(stdout);
        for (;;) pause();
    } else if (!strcmp(command, "cgroups")) {
        /* Its cgroups, then waits like wait-signal. */
        FILE *cgroups = fopen("/proc/self/cgroup", "r");
        char line[4096];
        if (!cgroups) return 2;
        while (fgets(line, sizeof line, cgroups)) fputs(line, stdout);
        fclose(cgroups);
        printf("ready\n");
        fflush(stdout);
        for (;;) pause();
    } else if (!strcmp(command, "fork-storm")) {
        return fork_storm();
    } else if (!strcmp(command, "hog")) {
        return hog();
    } else if (!strcmp(command, "orphan")) {
        return orphan();
    } else if (!strcmp(command, "raise")) {
        /* Ends itself by a signal it does not handle, as outside a namespace. */
        raise(atoi(argument));
        printf("survived\n");
    } else if (!strcmp(command, "abort")) {
        abort();
    } else {
        fprintf(stderr, "usage: ns-probe pids|ids|procs|net|hostname|cwd|cgroups|fork-storm|hog|orphan|abort\n"
                        "       ns-probe ls DIR|write PATH|exit N|wait-signal|handle-signal SIGNAL|raise SIGNAL\n");
        return 2;
    }
    return 0;
}
