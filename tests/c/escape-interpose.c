/* escape-interpose MARKER: a program that exports its own syscall() and
 * prctl() (linked with -rdynamic), which a library preloaded into it binds
 * to as it would to libc's: seccomp() and landlock_restrict_self()
 * "succeed" without doing anything, and the probe that would show it is
 * answered as the filter would. Then it creates the directory MARKER with
 * a system call of its own. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/syscall.h>

#include "raw-syscall.h"

long syscall(long number, ...) {
    va_list arguments;
    va_start(arguments, number);
    long a = va_arg(arguments, long), b = va_arg(arguments, long), c = va_arg(arguments, long);
    va_end(arguments);
    /* Unprivileged, both need the no_new_privs that prctl() did not set. */
    if (number == SYS_seccomp || number == SYS_landlock_restrict_self) return 0;
    /* The library's probe: getpgrp(nonce, mark) answered by its own filter. */
    if (number == SYS_getpgrp && (unsigned long)b == 0x5ec09be05ec09be0UL) {
        errno = 3990;
        return -1;
    }
    long result = raw_syscall(number, a, b, c);
    if (result < 0 && result > -4096) {
        errno = (int)-result;
        return -1;
    }
    return result;
}

int prctl(int option, ...) {
    (void)option;
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1) printf("mkdir: %ld\n", raw_syscall(SYS_mkdir, (long)argv[1], 0755, 0));
    return 0;
}
