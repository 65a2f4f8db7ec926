/* exec-nolibc PROGRAM [ARGS...]: the floor of any launcher, a static program
 * without libc that only execs (raw system calls, no start-up code at all).
 * Built -static -nostdlib. */
#include <sys/syscall.h>

__asm__(".globl _start\n"
        "_start:\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call launch\n"
        "  hlt\n");

static long raw(long nr, long a, long b, long c) {
    long rc;
    __asm__ volatile("syscall" : "=a"(rc) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return rc;
}

__attribute__((used)) void launch(long *stack) {
    long argc = stack[0];
    char **argv = (char **)(stack + 1);
    char **envp = argv + argc + 1;
    if (argc >= 2) raw(SYS_execve, (long)argv[1], (long)(argv + 1), (long)envp);
    raw(SYS_exit_group, 127, 0, 0);
}
