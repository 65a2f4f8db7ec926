/* violate HOW: calls uname(2), which the tests' policies kill, HOW:
 *   plain    from the main thread;
 *   thread   from a second thread (the main one waits);
 *   fork     from a child after fork (the parent prints how it ended);
 *   handler  after installing a SIGSYS handler of its own, which would let
 *            it live on (it prints whether sigaction said it worked);
 *   block    with SIGSYS blocked (the kernel then kills it unexplained);
 *   ignore   with SIGSYS ignored;
 *   int80    through the i386 ABI (int 0x80, uname is 122 there);
 *   x32      through the x32 ABI (uname's x86_64 number with bit 30);
 *   untrace  after killing its tracer, if it has one (TracerPid), as a
 *            program that found its reporter would;
 *   untraced from a child started with CLONE_UNTRACED, which a tracer
 *            does not follow (prints how clone failed, if it did).
 * Prints "survived" and exits 0 if it lives on. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static struct utsname name;

static void *call(void *unused) {
    (void)unused;
    uname(&name);
    return NULL;
}

static void ignore(int signal) { (void)signal; }

/* Waits for `child` and prints how it ended. */
static int report_child(pid_t child) {
    int status;
    if (waitpid(child, &status, 0) != child) return 2;
    printf("child: %s %d\n", WIFSIGNALED(status) ? "signal" : "exit",
           WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    return 0;
}

static int tracer(void) {
    char line[256];
    int pid = 0;
    FILE *status = fopen("/proc/self/status", "r");
    while (status && fgets(line, sizeof line, status))
        if (!strncmp(line, "TracerPid:", 10)) pid = atoi(line + 10);
    if (status) fclose(status);
    return pid;
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    const char *how = argv[1];
    if (!strcmp(how, "plain")) {
        call(NULL);
    } else if (!strcmp(how, "thread")) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, call, NULL)) return 2;
        pthread_join(thread, NULL);
    } else if (!strcmp(how, "fork")) {
        pid_t child = fork();
        if (child < 0) return 2;
        if (child == 0) {
            call(NULL);
            _exit(0);
        }
        return report_child(child);
    } else if (!strcmp(how, "handler")) {
        struct sigaction action = {.sa_handler = ignore};
        printf("sigaction: %d\n", sigaction(SIGSYS, &action, NULL));
        fflush(stdout);
        call(NULL);
    } else if (!strcmp(how, "block")) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGSYS);
        sigprocmask(SIG_BLOCK, &set, NULL);
        call(NULL);
    } else if (!strcmp(how, "ignore")) {
        signal(SIGSYS, SIG_IGN);
        call(NULL);
    } else if (!strcmp(how, "int80")) {
        long result;
        __asm__ volatile("int $0x80" : "=a"(result) : "a"(122L), "b"(0L) : "memory");
    } else if (!strcmp(how, "x32")) {
        long result;
        __asm__ volatile("syscall" : "=a"(result) : "a"(0x40000000L | 63), "D"(0L) : "rcx", "r11", "memory");
    } else if (!strcmp(how, "untraced")) {
        long child = syscall(SYS_clone, CLONE_UNTRACED | SIGCHLD, 0, 0, 0, 0);
        if (child < 0) {
            printf("clone: %s\n", strerrorname_np(errno));
            return 0;
        }
        if (child == 0) {
            call(NULL);
            _exit(0);
        }
        return report_child(child);
    } else if (!strcmp(how, "untrace")) {
        int pid = tracer();
        printf("tracer killed: %d\n", pid > 0 && kill(pid, SIGKILL) == 0);
        fflush(stdout);
        usleep(100000);
        call(NULL);
    } else {
        return 2;
    }
    printf("survived\n");
    return 0;
}
