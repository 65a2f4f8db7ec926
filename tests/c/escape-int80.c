/* escape-int80 OPERATION MARKER: makes a forbidden call through the i386
 * ABI (int 0x80, whose numbers differ from x86_64's) from a 64-bit program:
 *   execve      runs /usr/bin/touch MARKER (i386 execve is 11);
 *   mkdir       creates the directory MARKER (i386 mkdir is 39);
 *   socketcall  makes a socket through the i386 multiplexer (socketcall 102,
 *               SYS_SOCKET), and creates MARKER (with the x86_64 mkdir) only
 *               if that worked;
 *   socket      the same through the i386 socket call itself (359);
 *   ipc         makes a System V shared memory segment through the i386
 *               multiplexer (ipc 117, SHMGET), and creates MARKER if that
 *               worked (the segment is removed again). 
 * Prints what the call returned if it returns. */
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>

static long int80(long nr, long a, long b, long c, long d) {
    long result;
    __asm__ volatile("int $0x80" : "=a"(result) : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d) : "memory");
    return result;
}

int main(int argc, char **argv) {
    if (argc != 3 || strlen(argv[2]) > 1000) return 2;
    /* int 0x80 takes 32-bit pointers: put everything below 4 GiB. */
    char *low = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (low == MAP_FAILED) return 2;
    char *path = low, *marker = low + 1024;
    unsigned int *argv32 = (unsigned int *)(low + 2048);
    strcpy(path, "/usr/bin/touch");
    strcpy(marker, argv[2]);
    const char *operation = argv[1];
    long result;
    if (!strcmp(operation, "execve")) {
        argv32[0] = (unsigned int)(unsigned long)path;
        argv32[1] = (unsigned int)(unsigned long)marker;
        argv32[2] = 0;
        result = int80(11, (long)path, (long)argv32, 0, 0);
    } else if (!strcmp(operation, "mkdir")) {
        result = int80(39, (long)marker, 0755, 0, 0);
    } else if (!strcmp(operation, "socketcall") || !strcmp(operation, "socket")) {
        if (!strcmp(operation, "socket")) {
            result = int80(359, AF_UNIX, SOCK_STREAM, 0, 0);
        } else {
            argv32[0] = AF_UNIX;
            argv32[1] = SOCK_STREAM;
            argv32[2] = 0;
            result = int80(102, 1 /* SYS_SOCKET */, (long)argv32, 0, 0);
        }
        if (result >= 0) mkdir(argv[2], 0755);
    } else if (!strcmp(operation, "ipc")) {
        result = int80(117, 23 /* SHMGET */, IPC_PRIVATE, 4096, IPC_CREAT | 0600);
        if (result >= 0) {
            shmctl((int)result, IPC_RMID, NULL);
            mkdir(argv[2], 0755);
        }
    } else {
        return 2;
    }
    printf("int 0x80 %s returned %ld\n", operation, result);
    return 0;
}
