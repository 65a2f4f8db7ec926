/* escape-preinit MARKER [open]: creates the directory MARKER (or with
 * `open`, the file MARKER, through openat) from a DT_PREINIT_ARRAY function,
 * which the dynamic loader runs before every library constructor, so before
 * any preloaded library can act; then main says so. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void early(int argc, char **argv, char **envp) {
    (void)envp;
    if (argc > 2 && strcmp(argv[2], "open") == 0)
        syscall(SYS_openat, AT_FDCWD, argv[1], O_CREAT | O_WRONLY, 0644);
    else if (argc > 1)
        syscall(SYS_mkdir, argv[1], 0755);
}

__attribute__((section(".preinit_array"), used)) static void (*const preinit)(int, char **, char **) = early;

int main(void) {
    printf("main ran\n");
    return 0;
}
