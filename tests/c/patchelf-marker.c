/* A library that proves it was loaded, and where: when PATCHELF_MARKER_LOG
 * names a file, its constructor appends "marker" and then the loaded objects
 * in load order (from dl_iterate_phdr), one base name per line. Without the
 * variable it does nothing, so the program's output is unchanged. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void put(int fd, const char *text) {
    if (write(fd, text, strlen(text)) < 0) {
        /* Nothing useful to do: the test notices the missing line. */
    }
}

static int record(struct dl_phdr_info *info, size_t size, void *data) {
    int fd = *(int *)data;
    const char *slash = strrchr(info->dlpi_name, '/');
    put(fd, "object ");
    put(fd, slash ? slash + 1 : info->dlpi_name);
    put(fd, "\n");
    (void)size;
    return 0;
}

__attribute__((constructor)) static void marker(void) {
    const char *log = getenv("PATCHELF_MARKER_LOG");
    if (!log) return;
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0) return;
    put(fd, "marker\n");
    dl_iterate_phdr(record, &fd);
    close(fd);
}
