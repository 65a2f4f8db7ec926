/* escape-exec DOOR MARKER: tries to run `/usr/bin/touch MARKER` through one
 * door into exec, with an empty environment (no LD_PRELOAD, no policy
 * variables). The marker exists afterwards only if the exec happened. Where
 * the exec is done by a child, prints how the child ended. Doors: execve,
 * execveat, fexecve (execveat of an O_PATH descriptor), thread (execve from a
 * second thread), fork, vfork, posix_spawn, system, clone3-vfork,
 * clone3-newuser, clone3-clear-sighand, clone3-pidfd. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char *args[3];
static char *empty_env[] = {NULL};

static void report(const char *door, pid_t pid) {
    int status;
    if (waitpid(pid, &status, __WALL) < 0) {
        printf("%s: waitpid: %s\n", door, strerrorname_np(errno));
    } else if (WIFSIGNALED(status)) {
        printf("%s: child killed by signal %d\n", door, WTERMSIG(status));
    } else {
        printf("%s: child exited %d\n", door, WEXITSTATUS(status));
    }
}

static void *exec_from_thread(void *unused) {
    (void)unused;
    execve(args[0], args, empty_env);
    printf("thread: execve failed: %s\n", strerrorname_np(errno));
    exit(1);
}

/* clone3 without CLONE_VM: the child gets a copy of this stack, as with fork. */
static void clone3_door(const char *door, uint64_t flags) {
    int pidfd = -1;
    struct clone_args clone_args;
    memset(&clone_args, 0, sizeof clone_args);
    clone_args.flags = flags;
    clone_args.exit_signal = SIGCHLD;
    if (flags & CLONE_PIDFD) clone_args.pidfd = (uint64_t)(uintptr_t)&pidfd;
    long pid = syscall(SYS_clone3, &clone_args, sizeof clone_args);
    if (pid == 0) {
        execve(args[0], args, empty_env);
        _exit(100);
    }
    if (pid < 0) {
        printf("%s: clone3 failed: %s\n", door, strerrorname_np(errno));
        return;
    }
    report(door, (pid_t)pid);
}

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    const char *door = argv[1];
    args[0] = "/usr/bin/touch";
    args[1] = argv[2];
    args[2] = NULL;
    setvbuf(stdout, NULL, _IONBF, 0);
    if (!strcmp(door, "execve")) {
        execve(args[0], args, empty_env);
    } else if (!strcmp(door, "execveat")) {
        syscall(SYS_execveat, AT_FDCWD, args[0], args, empty_env, 0);
    } else if (!strcmp(door, "fexecve")) {
        int fd = open(args[0], O_PATH | O_CLOEXEC);
        syscall(SYS_execveat, fd, "", args, empty_env, AT_EMPTY_PATH);
    } else if (!strcmp(door, "thread")) {
        pthread_t thread;
        pthread_create(&thread, NULL, exec_from_thread, NULL);
        pthread_join(thread, NULL);
    } else if (!strcmp(door, "fork")) {
        pid_t pid = fork();
        if (pid == 0) {
            execve(args[0], args, empty_env);
            _exit(100);
        }
        report(door, pid);
        return 0;
    } else if (!strcmp(door, "vfork")) {
        pid_t pid = vfork();
        if (pid == 0) {
            execve(args[0], args, empty_env);
            _exit(100);
        }
        report(door, pid);
        return 0;
    } else if (!strcmp(door, "posix_spawn")) {
        pid_t pid;
        int error = posix_spawn(&pid, args[0], NULL, NULL, args, empty_env);
        if (error) {
            printf("%s: %s\n", door, strerrorname_np(error));
            return 0;
        }
        report(door, pid);
        return 0;
    } else if (!strcmp(door, "system")) {
        char command[4200];
        snprintf(command, sizeof command, "/usr/bin/touch '%s'", args[1]);
        int status = system(command);
        if (status == -1)
            printf("%s: failed: %s\n", door, strerrorname_np(errno));
        else if (WIFSIGNALED(status))
            printf("%s: child killed by signal %d\n", door, WTERMSIG(status));
        else
            printf("%s: child exited %d\n", door, WEXITSTATUS(status));
        return 0;
    } else if (!strcmp(door, "clone3-vfork")) {
        clone3_door(door, CLONE_VFORK);
        return 0;
    } else if (!strcmp(door, "clone3-newuser")) {
        clone3_door(door, CLONE_NEWUSER | CLONE_NEWNS);
        return 0;
    } else if (!strcmp(door, "clone3-clear-sighand")) {
        clone3_door(door, CLONE_CLEAR_SIGHAND | CLONE_VFORK);
        return 0;
    } else if (!strcmp(door, "clone3-pidfd")) {
        clone3_door(door, CLONE_PIDFD | CLONE_PARENT_SETTID);
        return 0;
    } else {
        fprintf(stderr, "escape-exec: unknown door %s\n", door);
        return 2;
    }
    printf("%s: failed: %s\n", door, strerrorname_np(errno));
    return 1;
}
