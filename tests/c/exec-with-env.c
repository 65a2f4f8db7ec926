/* exec-with-env PROGRAM [ARG... --] [ENTRY...]: runs PROGRAM with these
 * arguments (when a "--" ends them) and exactly these environment strings:
 * duplicates, and entries without "=", which env(1) cannot make. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    int end = 0;
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--")) {
            end = i;
            break;
        }
    char *alone[] = {argv[1], NULL};
    char **arguments = alone, **environment = argv + 2;
    if (end) {
        argv[end] = NULL;
        arguments = argv + 1;
        environment = argv + end + 1;
    }
    execve(argv[1], arguments, environment);
    perror("exec-with-env");
    return 2;
}
