/* escape-doors DOOR MARKER: does what a denied call does through another
 * call, and creates the marker only through that other door:
 *   copy_file_range, sendfile, splice   write into the existing file MARKER
 *                                       without write(2) (under a deny of write);
 *   open_by_handle_at                   opens the existing file MARKER for
 *                                       writing without open/openat (root:
 *                                       it needs CAP_DAC_READ_SEARCH), then
 *                                       writes into it (MARKER must be on
 *                                       the working directory's mount);
 *   pkey_mprotect                       makes a page executable without
 *                                       mprotect(2), then creates the
 *                                       directory MARKER;
 *   mmap2                               maps a page with the i386 mmap2
 *                                       (int 0x80, 192) under a deny of mmap,
 *                                       then creates the directory MARKER.
 * Exits 0 if the door worked, 1 if not; prints nothing (write may be denied). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    const char *door = argv[1], *marker = argv[2];
    if (!strcmp(door, "copy_file_range") || !strcmp(door, "sendfile") || !strcmp(door, "splice")) {
        int out = open(marker, O_WRONLY);
        int in = open("/proc/self/exe", O_RDONLY);
        if (out < 0 || in < 0) return 1;
        if (!strcmp(door, "copy_file_range")) return copy_file_range(in, NULL, out, NULL, 4, 0) == 4 ? 0 : 1;
        if (!strcmp(door, "sendfile")) return sendfile(out, in, NULL, 4) == 4 ? 0 : 1;
        int pipe_fds[2];
        struct iovec text = {"escaped\n", 8};
        if (pipe(pipe_fds) != 0 || vmsplice(pipe_fds[1], &text, 1, 0) != 8) return 1;
        return splice(pipe_fds[0], NULL, out, NULL, 8, 0) == 8 ? 0 : 1;
    }
    if (!strcmp(door, "open_by_handle_at")) {
        struct file_handle *handle = malloc(sizeof *handle + MAX_HANDLE_SZ);
        handle->handle_bytes = MAX_HANDLE_SZ;
        int mount_id;
        if (name_to_handle_at(AT_FDCWD, marker, handle, &mount_id, 0) != 0) return 1;
        /* AT_FDCWD: the handle is looked up on the mount of the working directory. */
        int fd = (int)syscall(SYS_open_by_handle_at, AT_FDCWD, handle, O_WRONLY);
        if (fd < 0) return 1;
        return write(fd, "escaped\n", 8) == 8 ? 0 : 1;
    }
    if (!strcmp(door, "pkey_mprotect")) {
        void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (page == MAP_FAILED || syscall(SYS_pkey_mprotect, page, 4096, PROT_READ | PROT_EXEC, -1) != 0) return 1;
        return mkdir(marker, 0755) == 0 ? 0 : 1;
    }
    if (!strcmp(door, "mmap2")) {
        long result;
        __asm__ volatile("push %%rbp\n\tmov %[pgoff], %%rbp\n\tint $0x80\n\tpop %%rbp"
                         : "=a"(result)
                         : "a"(192L), "b"(0L), "c"(4096L), "d"((long)(PROT_READ | PROT_WRITE)),
                           "S"((long)(MAP_PRIVATE | MAP_ANONYMOUS)), "D"(-1L), [pgoff] "r"(0L)
                         : "memory");
        if (result < 0 && result > -4096) return 1;
        return mkdir(marker, 0755) == 0 ? 0 : 1;
    }
    return 2;
}
