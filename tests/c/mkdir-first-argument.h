/* mkdir-first-argument.h: creates the directory named by the process's
 * first argument, found in /proc/self/cmdline, with system calls made
 * directly: for code that runs before libc is usable (an IFUNC resolver,
 * an audit library's la_version). */
#include <fcntl.h>
#include <sys/syscall.h>

#include "raw-syscall.h"

static char command_line[4096];

static void mkdir_first_argument(void) {
    long fd = raw_syscall(SYS_open, (long)"/proc/self/cmdline", O_RDONLY, 0);
    long size = fd < 0 ? -1 : raw_syscall(SYS_read, fd, (long)command_line, sizeof command_line - 1);
    if (size > 0) {
        long first_end = 0;
        while (first_end < size && command_line[first_end]) first_end++;
        if (first_end + 1 < size) raw_syscall(SYS_mkdir, (long)&command_line[first_end + 1], 0755, 0);
    }
}
