/* exec-glibc PROGRAM [ARGS...]: a static glibc program that only execs, to
 * show what glibc's static start-up costs a launcher. Built -static. */
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    execv(argv[1], argv + 1);
    return 127;
}
