/* A shared library that records its own constructor in PATCHELF_MARKER_LOG,
 * so a test can see that a marker it needs ran before it. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((constructor)) static void library_constructor(void) {
    const char *log = getenv("PATCHELF_MARKER_LOG");
    if (!log) return;
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0) return;
    if (write(fd, "library\n", 8) < 0) {
        /* The test notices the missing line. */
    }
    close(fd);
}

int patchelf_lib_answer(void) { return 42; }
