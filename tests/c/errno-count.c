/* errno-count HOW DIR: makes calls a policy of `mkdir=EPERM:uname=EACCES`
 * fails, and says what each got (say.h), to check that the reporter of
 * SANDBOX_REPORT_COUNTS=errno counts them and that none ever runs.
 * DIR/made is the directory mkdir would make.
 *   calls     mkdir three times and uname once;
 *   thread    uname from a second thread, mkdir from a child after fork;
 *   reach     tries every way to the reporter (its tracer, found in
 *             TracerPid): ptrace, pidfd_getfd, /proc/PID/mem, its
 *             descriptors in /proc/PID/fd, process_vm_writev; says how
 *             many worked; then kills it (if it may) and calls mkdir;
 *   stopped   stops the reporter, calls mkdir from a second thread and
 *             kills the reporter 0.2 s later, while the call waits;
 *   listener  installs a seccomp filter with a listener of its own;
 *   late-listener  the same once it has killed its reporter (a listener
 *             of its own would then get the calls sent to the reporter's);
 *   sigtrap   says whether SIGTRAP is ignored, then calls uname;
 *   outlive   leaves a child that closes its standard descriptors, waits
 *             up to 30 s for DIR/go and writes DIR/child: "flag seen" or
 *             "timed out"; calls uname;
 *   group     ignores SIGTERM, says "ready", sleeps 0.5 s (the time for a
 *             signal to its process group: process-group.c) and calls mkdir;
 *   limits    sets its reporter's descriptor limit to 1 (prlimit), waits
 *             0.2 s and calls mkdir, twice. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "say.h"

static char made[4096];

static int tracer(void) {
    FILE *status = fopen("/proc/self/status", "r");
    char line[256];
    int pid = 0;
    while (status && fgets(line, sizeof line, status))
        if (!strncmp(line, "TracerPid:", 10)) pid = atoi(line + 10);
    if (status) fclose(status);
    return pid;
}

static void *call_uname(void *unused) {
    struct utsname name;
    say("uname", uname(&name));
    return unused;
}

static void *call_mkdir(void *unused) {
    say("mkdir", mkdir(made, 0700));
    return unused;
}

static int go[2];

/* call_mkdir once a byte comes on `go`. */
static void *mkdir_when_told(void *unused) {
    char byte;
    if (read(go[0], &byte, 1) != 1) return unused;
    return call_mkdir(unused);
}

/* Whether any way to the reporter's memory or descriptors works. */
static int reach(int pid) {
    int reached = 0;
    if (ptrace(PTRACE_ATTACH, pid, 0, 0) == 0) reached++;
    int pidfd = syscall(SYS_pidfd_open, pid, 0);
    for (int fd = 0; pidfd >= 0 && fd < 256; fd++)
        if (syscall(SYS_pidfd_getfd, pidfd, fd, 0) >= 0) reached++;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", pid);
    if (open(path, O_RDWR) >= 0) reached++;
    for (int fd = 0; fd < 256; fd++) {
        snprintf(path, sizeof path, "/proc/%d/fd/%d", pid, fd);
        if (open(path, O_RDWR) >= 0) reached++;
    }
    char byte = 0;
    struct iovec local = {&byte, 1}, remote = {(void *)0x10000, 1};
    if (process_vm_writev(pid, &local, 1, &remote, 1, 0) >= 0 || errno == EFAULT) reached++;
    return reached;
}

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    const char *how = argv[1];
    snprintf(made, sizeof made, "%s/made", argv[2]);
    pthread_t thread;
    if (!strcmp(how, "calls")) {
        for (int i = 0; i < 3; i++) call_mkdir(NULL);
        call_uname(NULL);
    } else if (!strcmp(how, "thread")) {
        pthread_create(&thread, NULL, call_uname, NULL);
        pthread_join(thread, NULL);
        pid_t child = fork();
        if (child == 0) {
            call_mkdir(NULL);
            _exit(0);
        }
        waitpid(child, NULL, 0);
    } else if (!strcmp(how, "reach")) {
        int pid = tracer();
        printf("traced: %d\n", pid > 0);
        if (pid <= 0) return 2;
        printf("reached: %d\n", reach(pid));
        /* Landlock rules that scope signals may keep it out of reach too. */
        int killed = kill(pid, SIGKILL);
        say("kill", killed);
        while (killed == 0 && tracer() == pid) usleep(1000);
        call_mkdir(NULL);
    } else if (!strcmp(how, "stopped")) {
        int pid = tracer();
        printf("traced: %d\n", pid > 0);
        if (pid <= 0) return 2;
        fflush(stdout);
        if (pipe(go)) return 2;
        pthread_create(&thread, NULL, mkdir_when_told, NULL);
        kill(pid, SIGSTOP);
        if (write(go[1], "", 1) != 1) return 2;
        usleep(200000);
        kill(pid, SIGKILL);
        pthread_join(thread, NULL);
    } else if (!strcmp(how, "listener") || !strcmp(how, "late-listener")) {
        int pid = tracer();
        if (!strcmp(how, "late-listener") && pid > 0) {
            kill(pid, SIGKILL);
            while (tracer() == pid) usleep(1000);
        }
        struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        struct sock_fprog program = {1, &allow};
        say("no_new_privs", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
        say("listener", syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &program));
    } else if (!strcmp(how, "sigtrap")) {
        struct sigaction action;
        sigaction(SIGTRAP, NULL, &action);
        printf("sigtrap ignored: %d\n", action.sa_handler == SIG_IGN);
        call_uname(NULL);
    } else if (!strcmp(how, "outlive")) {
        if (fork() == 0) {
            close(0), close(1), close(2);
            char flag[4200], record[4200];
            snprintf(flag, sizeof flag, "%s/go", argv[2]);
            snprintf(record, sizeof record, "%s/child", argv[2]);
            int seen = 0;
            for (int i = 0; i < 3000 && !(seen = access(flag, F_OK) == 0); i++) usleep(10000);
            FILE *out = fopen(record, "w");
            if (out) fprintf(out, seen ? "flag seen\n" : "timed out\n"), fclose(out);
            _exit(0);
        }
        call_uname(NULL);
    } else if (!strcmp(how, "limits")) {
        int pid = tracer();
        struct rlimit one = {1, 1};
        say("prlimit", pid > 0 ? prlimit(pid, RLIMIT_NOFILE, &one, NULL) : -1);
        usleep(200000);
        call_mkdir(NULL);
        call_mkdir(NULL);
    } else if (!strcmp(how, "group")) {
        signal(SIGTERM, SIG_IGN);
        say("ready", 0);
        struct timespec rest = {0, 500000000};
        while (nanosleep(&rest, &rest) && errno == EINTR) continue;
        call_mkdir(NULL);
    } else {
        return 2;
    }
    struct stat made_stat;
    printf("made: %s\n", stat(made, &made_stat) == 0 ? "yes" : "no");
    return 0;
}
