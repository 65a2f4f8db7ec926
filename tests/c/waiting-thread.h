/* waiting-thread.h: a thread started early that makes its call (uname)
 * only once it is let go, after the sandbox is in place. */
#include <sys/utsname.h>
#include <unistd.h>

static int go[2];

/* Waits for the byte on `go`, then calls uname; 0 once it has. */
static int wait_then_uname(void) {
    char byte;
    if (read(go[0], &byte, 1) != 1) return -1;
    struct utsname name;
    uname(&name);
    return 0;
}
