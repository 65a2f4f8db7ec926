/* gate-replay ADDRESS: makes an execve from the very instruction address of
 * sandboxify's exec gate (given in hex), the one address from which the
 * filter sends execve to the gate's listener. The listener died with the
 * exec, so this must fail with ENOSYS and run nothing. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    unsigned long gate = strtoul(argv[1], NULL, 16);
    unsigned long page = (gate & ~0xfffUL) - 0x1000;
    void *mapped = mmap((void *)page, 0x3000, PROT_READ | PROT_WRITE | PROT_EXEC,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (mapped == MAP_FAILED) {
        perror("mmap at the gate");
        return 2;
    }
    /* mov eax, 59 (execve); syscall; ret -- the syscall ends at `gate`. */
    unsigned char *entry = (unsigned char *)gate - 7;
    memcpy(entry, "\xb8\x3b\x00\x00\x00\x0f\x05\xc3", 8);
    long (*gated_execve)(const char *, char **, char **) = (long (*)(const char *, char **, char **))entry;
    char *args[] = {"/bin/echo", "exec happened", NULL};
    char *env[] = {NULL};
    long result = gated_execve("/bin/echo", args, env);
    printf("execve from the gate returned %ld\n", result);
    return 0;
}
