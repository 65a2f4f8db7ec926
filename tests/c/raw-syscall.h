/* raw-syscall.h: a system call made with the instruction itself, for code
 * that runs where libc cannot be used or must not be relied on. */
static long raw_syscall(long number, long a, long b, long c) {
    long result;
    __asm__ volatile("syscall" : "=a"(result) : "a"(number), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return result;
}
