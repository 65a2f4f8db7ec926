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
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

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
    qsort(results, repeats, sizeof results[0], compare);
    printf("ns %.1f\n", results[repeats / 2]);
    return 0;
}
