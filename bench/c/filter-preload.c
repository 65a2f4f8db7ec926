/* A preload whose constructor installs one given filter as the library
 * does (no_new_privs, then TSYNC) and does nothing else: no reading, no
 * parsing, no compiling, no check. The filter is the one the benchmark
 * compiled from the same policy as the library's row, written to the
 * header named by FILTER_HEADER (an array of struct sock_filter, FILTER).
 * Measured next to the library, it shows what the kernel alone charges for
 * the library's filter. Built -shared -fPIC -DFILTER_HEADER='"..."'. */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include FILTER_HEADER

__attribute__((constructor)) static void install(void) {
    struct sock_fprog program = {sizeof FILTER / sizeof FILTER[0], FILTER};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &program))
        _exit(125);
}
