/* escape-tiocsti MODE MARKER: types a character into its own terminal's
 * input with ioctl(TIOCSTI), as a program would type a command into its
 * caller's shell, and creates the directory MARKER if the character
 * arrived (read back from standard input). MODE: "ioctl", or "i386" for
 * the same call made with int 0x80. Run it on a pseudo-terminal (script).
 * Prints the errno when the ioctl fails. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    struct termios raw;
    if (tcgetattr(0, &raw) != 0) return perror("tcgetattr"), 2;
    raw.c_lflag &= ~(ICANON | ECHO);
    tcsetattr(0, TCSANOW, &raw);
    /* Below 4 GiB, so that an i386 call can pass its address. */
    char *c = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (c == MAP_FAILED) return perror("mmap"), 2;
    *c = 'q';
    long result;
    if (!strcmp(argv[1], "i386")) {
        __asm__ volatile("int $0x80" : "=a"(result) : "a"(54), "b"(0), "c"(TIOCSTI), "d"(c) : "memory");
        if (result < 0) errno = -result, result = -1;
    } else {
        result = ioctl(0, TIOCSTI, c);
    }
    if (result != 0) {
        printf("TIOCSTI: %s\n", strerrorname_np(errno));
        return 0;
    }
    struct pollfd input = {.fd = 0, .events = POLLIN};
    char got = 0;
    if (poll(&input, 1, 1000) == 1 && read(0, &got, 1) == 1 && got == 'q') mkdir(argv[2], 0755);
    printf("typed\n");
    return 0;
}
