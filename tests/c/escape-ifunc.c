/* escape-ifunc MARKER: creates the directory MARKER from an IFUNC resolver
 * of the program, which the dynamic loader calls while it relocates the
 * program, before any constructor runs. libc is not usable yet, so the
 * resolver makes its system calls itself and finds MARKER in
 * /proc/self/cmdline. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>

#include "raw-syscall.h"

static char command_line[4096];

static void chosen(void) {}

static void (*resolve(void))(void) {
    long fd = raw_syscall(SYS_open, (long)"/proc/self/cmdline", O_RDONLY, 0);
    long size = fd < 0 ? -1 : raw_syscall(SYS_read, fd, (long)command_line, sizeof command_line - 1);
    if (size > 0) {
        long first_end = 0;
        while (first_end < size && command_line[first_end]) first_end++;
        if (first_end + 1 < size) raw_syscall(SYS_mkdir, (long)&command_line[first_end + 1], 0755, 0);
    }
    return chosen;
}

void relocated(void) __attribute__((ifunc("resolve")));

int main(void) {
    relocated();
    printf("main ran\n");
    return 0;
}
