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
 *   stop     after stopping its tracer (SIGSTOP), which a child of its
 *            continues 0.3 s later (exits 2 untraced);
 *   untraced from a child started with CLONE_UNTRACED, which a tracer
 *            does not follow (prints how clone failed, if it did);
 *   exec:HOW after exec'ing itself with HOW;
 *   execv:PATH,HOW
 *            after exec'ing PATH with HOW;
 *   peek     prints whether SIGSYS has a handler, and makes no call the
 *            policies kill;
 *   fd512    prints whether descriptor 512 is open (where the library
 *            leaves its JSON file across exec);
 *   door     installs a SIGSYS handler of its own with the key of the
 *            library's door (as a hostile program could), then calls
 *            uname and prints whether it ran.
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

/* rt_sigreturn, which a handler installed without libc returns through. */
extern void restore_rt(void);
__asm__(".text\nrestore_rt:\n\tmov $15, %eax\n\tsyscall\n");

/* The kernel's struct sigaction on x86_64. */
struct kernel_sigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    unsigned long mask;
};

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
    if (!strncmp(how, "exec:", 5)) {
        char *again[] = {argv[0], (char *)how + 5, NULL};
        execv("/proc/self/exe", again);
        return 2;
    }
    if (!strncmp(how, "execv:", 6)) {
        char *path = strdup(how + 6), *comma = strchr(path, ',');
        if (!comma) return 2;
        *comma = '\0';
        char *again[] = {path, comma + 1, NULL};
        execv(path, again);
        return 2;
    }
    if (!strcmp(how, "peek")) {
        struct sigaction old;
        if (sigaction(SIGSYS, NULL, &old)) return 2;
        printf("SIGSYS: %s\n", old.sa_handler == SIG_DFL ? "default" : "handled");
        return 0;
    }
    if (!strcmp(how, "fd512")) {
        printf("fd 512: %s\n", access("/proc/self/fd/512", F_OK) ? "closed" : "open");
        return 0;
    }
    if (!strcmp(how, "door")) {
        struct kernel_sigaction action = {.handler = ignore, .flags = 0x04000000 /* SA_RESTORER */,
                                          .restorer = restore_rt};
        long installed = syscall(SYS_rt_sigaction, SIGSYS, &action, NULL, 8, 0x5ec1d00e0a110e5dUL,
                                 0x5ec1d00e1a110e5dUL);
        printf("door: %ld\n", installed);
        fflush(stdout);
        syscall(SYS_uname, &name);
        printf("uname %s\n", name.sysname[0] ? "ran" : "did not run");
        return 0;
    }
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
    } else if (!strcmp(how, "stop")) {
        /* The helper runs before the tracer stops (a new child waits for
         * its tracer to let it start), and continues it only after. */
        int pid = tracer(), ready[2], go[2];
        char byte = 0;
        if (pid <= 0 || pipe(ready) || pipe(go)) return 2;
        if (fork() == 0) {
            if (write(ready[1], &byte, 1) != 1 || read(go[0], &byte, 1) != 1) _exit(2);
            usleep(300000);
            kill(pid, SIGCONT);
            _exit(0);
        }
        if (read(ready[0], &byte, 1) != 1) return 2;
        printf("tracer stopped: %d\n", kill(pid, SIGSTOP) == 0);
        fflush(stdout);
        if (write(go[1], &byte, 1) != 1) return 2;
        usleep(100000);
        call(NULL);
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
