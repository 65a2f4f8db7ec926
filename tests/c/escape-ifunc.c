/* escape-ifunc MARKER: creates the directory MARKER from an IFUNC resolver
 * of the program, which the dynamic loader calls while it relocates the
 * program, before any constructor runs. libc is not usable yet, so the
 * resolver makes its system calls itself and finds MARKER in
 * /proc/self/cmdline. */
#include <stdio.h>

#include "mkdir-first-argument.h"

static void chosen(void) {}

static void (*resolve(void))(void) {
    mkdir_first_argument();
    return chosen;
}

void relocated(void) __attribute__((ifunc("resolve")));

int main(void) {
    relocated();
    printf("main ran\n");
    return 0;
}
