/* A 64-bit program that runs /bin/echo through the i386 ABI (int 0x80, where
 * execve is number 11), the door a filter that only knows x86_64 numbers
 * leaves open. Prints "escaped" if the exec happened. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

int main(void) {
    /* int 0x80 takes 32-bit pointers: put everything below 4 GiB. */
    char *low = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (low == MAP_FAILED) {
        perror("mmap");
        return 2;
    }
    strcpy(low, "/bin/echo");
    strcpy(low + 64, "escaped");
    unsigned int *argv32 = (unsigned int *)(low + 128);
    argv32[0] = (unsigned int)(unsigned long)low;
    argv32[1] = (unsigned int)(unsigned long)(low + 64);
    argv32[2] = 0;
    long result;
    __asm__ volatile("int $0x80" : "=a"(result) : "a"(11), "b"(low), "c"(argv32), "d"(0) : "memory");
    printf("int 0x80 execve returned %ld\n", result);
    return 1;
}
