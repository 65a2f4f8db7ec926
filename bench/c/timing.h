/* Shared by the benchmark's loops: a monotonic clock in ns, and the median
 * of repeated measurements. */
#include <stdlib.h>
#include <time.h>

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts `results` and returns the middle one. */
static double median_of(double *results, int count) {
    qsort(results, count, sizeof results[0], compare);
    return results[count / 2];
}
