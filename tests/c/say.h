/* say.h: how the escape programs report each step, one line each:
 * "WHAT: ok" or "WHAT: ERRNO_NAME". Needs _GNU_SOURCE (strerrorname_np). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

static void say(const char *what, long result) {
    printf("%s: %s\n", what, result >= 0 ? "ok" : strerrorname_np(errno));
    fflush(stdout);
}
