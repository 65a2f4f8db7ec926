/* A library of the program itself whose constructor creates the directory
 * named by ESCAPE_MARKER: code the program brings along, run by the dynamic
 * loader before the program's own. */
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

__attribute__((constructor)) static void early(void) {
    const char *marker = getenv("ESCAPE_MARKER");
    if (marker) syscall(SYS_mkdir, marker, 0755);
}

void escape_lib_ctor_linked(void) {}
