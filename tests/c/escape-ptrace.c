/* escape-ptrace MODE MARKER: a parent traces its child and tries to get the
 * directory MARKER created past the child's filter. The child asks for an
 * allowed call (getppid, with MARKER as its first argument); the tracer
 * turns it into mkdir(MARKER):
 *   rewrite           at the syscall-entry stop (PTRACE_SYSCALL);
 *   rewrite-seccomp   at a PTRACE_EVENT_SECCOMP stop, which the child asks
 *                     for with a SECCOMP_RET_TRACE filter of its own (the
 *                     kernel runs the filters again on the new call);
 *   suspend           asks the kernel to suspend the child's filters
 *                     (PTRACE_O_SUSPEND_SECCOMP), then the child calls mkdir.
 * Prints every step and how the child ended. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "say.h"

static void child(const char *mode, const char *marker) {
    if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0) _exit(3);
    if (!strcmp(mode, "rewrite-seccomp")) {
        struct sock_filter trace_getppid[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog program = {4, trace_getppid};
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0) _exit(4);
    }
    raise(SIGSTOP);
    if (!strcmp(mode, "suspend"))
        syscall(SYS_mkdir, marker, 0755);
    else
        syscall(SYS_getppid, marker, 0755);
    _exit(0);
}

/* Turns the child's current call into mkdir. */
static void rewrite(pid_t pid) {
    struct user_regs_struct regs;
    say("PTRACE_GETREGS", ptrace(PTRACE_GETREGS, pid, 0, &regs));
    regs.orig_rax = SYS_mkdir;
    say("PTRACE_SETREGS", ptrace(PTRACE_SETREGS, pid, 0, &regs));
}

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    const char *mode = argv[1];
    if (strcmp(mode, "rewrite") && strcmp(mode, "rewrite-seccomp") && strcmp(mode, "suspend")) return 2;
    pid_t pid = fork();
    if (pid == 0) child(mode, argv[2]);
    int status;
    waitpid(pid, &status, 0); /* the child's SIGSTOP */
    if (!WIFSTOPPED(status)) {
        printf("child did not stop\n");
        return 1;
    }
    if (!strcmp(mode, "rewrite")) {
        say("PTRACE_SYSCALL", ptrace(PTRACE_SYSCALL, pid, 0, 0));
        waitpid(pid, &status, 0); /* entry to getppid */
        if (WIFSTOPPED(status)) rewrite(pid);
        ptrace(PTRACE_CONT, pid, 0, 0);
    } else if (!strcmp(mode, "rewrite-seccomp")) {
        say("PTRACE_SETOPTIONS(TRACESECCOMP)", ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESECCOMP));
        ptrace(PTRACE_CONT, pid, 0, 0);
        waitpid(pid, &status, 0);
        if (WIFSTOPPED(status) && status >> 8 == (SIGTRAP | (PTRACE_EVENT_SECCOMP << 8))) {
            printf("seccomp stop\n");
            rewrite(pid);
        }
        ptrace(PTRACE_CONT, pid, 0, 0);
    } else {
        say("PTRACE_SETOPTIONS(SUSPEND_SECCOMP)", ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_SUSPEND_SECCOMP));
        ptrace(PTRACE_CONT, pid, 0, 0);
    }
    while (waitpid(pid, &status, 0) == pid && WIFSTOPPED(status)) ptrace(PTRACE_CONT, pid, 0, 0);
    if (WIFSIGNALED(status))
        printf("child killed by signal %d\n", WTERMSIG(status));
    else
        printf("child exited %d\n", WEXITSTATUS(status));
    return 0;
}
