/* learn-early-lib: a library whose constructor makes a call that no
 * start-up makes (statfs), as libselinux's does: program code that runs
 * before libsandbox.so's constructor, under its early guard. */
#include <sys/statfs.h>

__attribute__((constructor)) static void probe_filesystem(void) {
    struct statfs info;
    statfs("/", &info);
}

/* Called by learn-early, so that the linker keeps this library. */
void learn_early_linked(void) {}
