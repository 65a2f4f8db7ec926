/* getppid-loop ITERATIONS REPEATS [NR]: times a raw system call (the syscall
 * instruction itself, no libc wrapper; getppid by default, else NR with all
 * arguments 0) and prints the median ns per call over REPEATS runs, after
 * the process's seccomp state, which proves that the filter under test is
 * in place. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "timing.h"

int main(int argc, char **argv) {
    long iterations = argc > 1 ? atol(argv[1]) : 1000000;
    int repeats = argc > 2 ? atoi(argv[2]) : 5;
    long number = argc > 3 ? atol(argv[3]) : 110; /* getppid */
    FILE *status = fopen("/proc/self/status", "r");
    char line[256];
    while (status && fgets(line, sizeof line, status))
        if (strncmp(line, "Seccomp", 7) == 0) fputs(line, stdout);
    double results[64];
    if (repeats > 64) repeats = 64;
    for (int r = 0; r < repeats; r++) {
        double start = now_ns();
        for (long i = 0; i < iterations; i++) {
            long nr = number;
            __asm__ volatile("syscall" : "+a"(nr) : "D"(0), "S"(0), "d"(0) : "rcx", "r11", "memory");
        }
        results[r] = (now_ns() - start) / iterations;
    }
    printf("ns %.2f\n", median_of(results, repeats));
    return 0;
}
