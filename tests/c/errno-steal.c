/* errno-steal: looks for the seccomp listener of SANDBOX_REPORT_COUNTS=errno
 * from a signal handler that a timer, armed by an IFUNC resolver (before
 * any constructor), runs every 200 us while the library's constructor
 * installs its filter; says whether it ever saw one in its descriptors,
 * then calls uname, which the listener answers. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>

static volatile sig_atomic_t seen;

static void look(int signal) {
    (void)signal;
    char path[32], target[64];
    for (int fd = 3; fd < 32; fd++) {
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        ssize_t length = readlink(path, target, sizeof target - 1);
        if (length > 0) {
            target[length] = '\0';
            if (strstr(target, "seccomp")) seen = 1;
        }
    }
}

static int chosen(void) { return 0; }

static int (*resolve(void))(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = look;
    action.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &action, NULL);
    struct itimerval every = {{0, 200}, {0, 200}};
    setitimer(ITIMER_REAL, &every, NULL);
    return chosen;
}

int relocated(void) __attribute__((ifunc("resolve")));

int main(void) {
    struct itimerval stop = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &stop, NULL);
    struct utsname name;
    uname(&name); /* a call the listener answers: it was there */
    printf("listener seen: %d\n", (int)seen + relocated());
    return 0;
}
