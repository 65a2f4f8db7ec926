/* escape-audit-lib: an audit library (a program's DT_AUDIT) that creates
 * the directory named by the program's first argument from la_version,
 * which ld.so calls as it loads audit libraries, before any preloaded
 * library. It makes its system calls itself, as libc may not be ready. */
#include <fcntl.h>
#include <link.h>
#include <sys/syscall.h>

#include "raw-syscall.h"

static char command_line[4096];

unsigned int la_version(unsigned int version) {
    long fd = raw_syscall(SYS_open, (long)"/proc/self/cmdline", O_RDONLY, 0);
    long size = fd < 0 ? -1 : raw_syscall(SYS_read, fd, (long)command_line, sizeof command_line - 1);
    if (size > 0) {
        long first_end = 0;
        while (first_end < size && command_line[first_end]) first_end++;
        if (first_end + 1 < size) raw_syscall(SYS_mkdir, (long)&command_line[first_end + 1], 0755, 0);
    }
    return version;
}
