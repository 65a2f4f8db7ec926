/* open-close-loop FILE OUTSIDE ITERATIONS REPEATS: times open(FILE)+close
 * and prints the median ns per pair over REPEATS runs, after the result of
 * opening OUTSIDE, which proves whether the Landlock rules under test are
 * in place (EACCES) or not (ok). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "timing.h"
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 5) return 2;
    long iterations = atol(argv[3]);
    int repeats = atoi(argv[4]);
    int outside = open(argv[2], O_RDONLY);
    printf("outside %s\n", outside >= 0 ? "ok" : strerrorname_np(errno));
    double results[64];
    for (int r = 0; r < repeats && r < 64; r++) {
        double start = now_ns();
        for (long i = 0; i < iterations; i++) {
            int fd = open(argv[1], O_RDONLY);
            if (fd < 0) return perror(argv[1]), 1;
            close(fd);
        }
        results[r] = (now_ns() - start) / iterations;
    }
    printf("ns %.1f\n", median_of(results, repeats));
    return 0;
}
