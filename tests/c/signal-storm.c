/* signal-storm.c: calls that never fail with EINTR on Linux, made while
 * SIGCHLD arrives at a handler without SA_RESTART (as dash installs it),
 * then a call that must: a read from an empty pipe, interrupted by a timer.
 * Prints "storm: ok" and "interrupted: EINTR" in a plain run; an observer
 * or reporter that holds calls where signals can interrupt them makes the
 * first line name the call that failed. Argument: the number of rounds. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_signal(int signal) { (void)signal; }

static int failed(const char *call, int round) {
    printf("storm: %s failed in round %d: %s\n", call, round, strerrorname_np(errno));
    return 1;
}

static int storm(int rounds) {
    for (int round = 0; round < rounds; round++) {
        int ends[2];
        struct stat status;
        if (pipe(ends) != 0) return failed("pipe", round);
        pid_t child = fork();
        if (child < 0) return failed("fork", round);
        if (child == 0) _exit(0);
        if (close(ends[0]) != 0 || close(ends[1]) != 0) return failed("close", round);
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0) return failed("open", round);
        if (fstat(fd, &status) != 0) return failed("fstat", round);
        if (close(fd) != 0) return failed("close", round);
    }
    printf("storm: ok\n");
    return 0;
}

int main(int argc, char **argv) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    if (sigaction(SIGCHLD, &action, NULL) != 0 || sigaction(SIGALRM, &action, NULL) != 0) return 2;
    int status = storm(argc > 1 ? atoi(argv[1]) : 300);
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {
    }
    int ends[2];
    char byte;
    struct itimerval timer = {.it_value = {.tv_usec = 50000}};
    if (pipe(ends) != 0 || setitimer(ITIMER_REAL, &timer, NULL) != 0) return 2;
    long got = read(ends[0], &byte, 1);
    printf("interrupted: %s\n", got < 0 ? strerrorname_np(errno) : "no");
    fflush(stdout);
    return status;
}
