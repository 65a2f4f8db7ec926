/* exec-nolibc PROGRAM [ARGS...]: the floor of any launcher, a static program
 * without libc that only execs (raw system calls, no start-up code at all).
 * Built -static -nostdlib. With -DFILTER_HEADER='"..."' (an array of struct
 * sock_filter, FILTER), it first sets no_new_privs and installs that filter
 * with TSYNC, as sandboxify does: what the kernel alone charges a launcher
 * for the filter the benchmark compiled from sandboxify's policy. */
#include <sys/syscall.h>
#ifdef FILTER_HEADER
#include <linux/filter.h>
#include <linux/prctl.h>
#include <linux/seccomp.h>
#include FILTER_HEADER
#endif

__asm__(".globl _start\n"
        "_start:\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call launch\n"
        "  hlt\n");

static long raw(long nr, long a, long b, long c) {
    long rc;
    /* The fourth and fifth arguments (r10, r8) are zero: prctl requires it. */
    register long r10 __asm__("r10") = 0;
    register long r8 __asm__("r8") = 0;
    __asm__ volatile("syscall"
                     : "=a"(rc)
                     : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
                     : "rcx", "r11", "memory");
    return rc;
}

__attribute__((used)) void launch(long *stack) {
    long argc = stack[0];
    char **argv = (char **)(stack + 1);
    char **envp = argv + argc + 1;
#ifdef FILTER_HEADER
    struct sock_fprog program = {sizeof FILTER / sizeof FILTER[0], FILTER};
    if (raw(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0) ||
        raw(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, (long)&program))
        raw(SYS_exit_group, 125, 0, 0);
#endif
    if (argc >= 2) raw(SYS_execve, (long)argv[1], (long)(argv + 1), (long)envp);
    raw(SYS_exit_group, 127, 0, 0);
}
