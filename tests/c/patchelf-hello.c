/* A program with two libraries (libm, then libc) whose output does not
 * depend on the environment. */
#include <math.h>
#include <stdio.h>

int main(int argc, char **argv) {
    volatile double two = 2.0;
    printf("hello from %s with %d argument(s), sqrt(2) = %.6f\n", argc > 0 ? "patchelf-hello" : "?", argc - 1, sqrt(two));
    (void)argv;
    return 3;
}
