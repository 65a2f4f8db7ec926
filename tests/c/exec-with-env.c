/* exec-with-env PROGRAM [NAME=VALUE...]: runs PROGRAM with exactly these
 * environment strings, duplicates included (which env(1) cannot make). */
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    char *args[] = {argv[1], NULL};
    execve(argv[1], args, argv + 2);
    perror("exec-with-env");
    return 2;
}
