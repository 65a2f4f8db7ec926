/* audit-refuse: an audit library (LD_AUDIT, or a program's DT_AUDIT) that
 * refuses to let ld.so load any object whose name contains "libsandbox". */
#define _GNU_SOURCE
#include <link.h>
#include <stddef.h>
#include <string.h>

unsigned int la_version(unsigned int version) {
    return version;
}

char *la_objsearch(const char *name, uintptr_t *cookie, unsigned int flag) {
    (void)cookie;
    (void)flag;
    return strstr(name, "libsandbox") ? NULL : (char *)name;
}
