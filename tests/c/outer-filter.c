/* outer-filter [--fake-probe=ANSWER] [--listener] ERRNO NR[,NR...] PROGRAM [ARGS...]:
 * runs PROGRAM under a seccomp filter that fails the listed x86_64 system
 * calls with ERRNO (as a container runtime, or a kernel without the feature,
 * would), to check that nothing then runs unconfined. With --fake-probe, it
 * also answers the sandbox's install probe, getpgrp(any, MARK), with errno
 * ANSWER, as a filter faking the install would. With --listener, the filter
 * has a notification listener, held by a child until PROGRAM ends, as a
 * supervisor answering calls would (it is sent none). */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int probe_answer = -1;
    if (argc > 1 && !strncmp(argv[1], "--fake-probe=", 13)) {
        probe_answer = atoi(argv[1] + 13);
        argv++, argc--;
    }
    int listener = 0;
    if (argc > 1 && !strcmp(argv[1], "--listener")) {
        listener = 1;
        argv++, argc--;
    }
    if (argc < 4) return 2;
    unsigned int error = (unsigned int)atoi(argv[1]);
    struct sock_filter code[64];
    int n = 0;
    if (probe_answer >= 0) {
        /* getpgrp (111) whose second argument is the mark, 0x5ec09be05ec09be0. */
        code[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
        code[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 111, 0, 4);
        code[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1]));
        code[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x5ec09be0, 0, 2);
        code[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1]) + 4);
        code[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x5ec09be0, 1, 0);
        code[n++] = (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, 1);
        code[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned int)probe_answer);
    }
    code[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    for (char *nr = strtok(argv[2], ","); nr && n < 60; nr = strtok(NULL, ",")) {
        code[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)atoi(nr), 0, 1);
        code[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | error);
    }
    code[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog program = {(unsigned short)n, code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
        perror("outer-filter");
        return 2;
    }
    if (listener) {
        int fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &program);
        if (fd < 0) {
            perror("outer-filter: listener");
            return 2;
        }
        pid_t parent = getpid();
        if (fork() == 0) {
            /* Holds the listener (a copy of the descriptor) until PROGRAM ends. */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent) _exit(0);
            close(0), close(1), close(2);
            for (;;) pause();
        }
        close(fd);
    } else if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program)) {
        perror("outer-filter");
        return 2;
    }
    execv(argv[3], argv + 3);
    perror("outer-filter: exec");
    return 2;
}
