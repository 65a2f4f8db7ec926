/* escape-x32 OPERATION MARKER: makes a call with an x32 number (the x86_64
 * arch with bit 30 set in the number): mkdir creates the directory MARKER
 * (x32 mkdir is 83), execve runs /usr/bin/touch MARKER (x32 execve is 520).
 * Prints the result if the call returns: on a kernel without x32, ENOSYS. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define X32_SYSCALL_BIT 0x40000000L

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    char *args[] = {"/usr/bin/touch", argv[2], NULL};
    char *env[] = {NULL};
    long result;
    if (!strcmp(argv[1], "mkdir"))
        result = syscall(X32_SYSCALL_BIT | 83, argv[2], 0755);
    else if (!strcmp(argv[1], "execve"))
        result = syscall(X32_SYSCALL_BIT | 520, args[0], args, env);
    else
        return 2;
    printf("x32 %s returned %ld (%s)\n", argv[1], result, result < 0 ? strerrorname_np(errno) : "ok");
    return 0;
}
