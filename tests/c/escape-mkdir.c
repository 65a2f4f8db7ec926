/* escape-mkdir MARKER: creates the directory MARKER and prints the result.
 * Plain libc only, so that any libc can build it (musl-gcc). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    int result = mkdir(argv[1], 0755);
    printf("mkdir: %s\n", result == 0 ? "ok" : strerror(errno));
    return 0;
}
