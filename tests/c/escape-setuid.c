/* escape-setuid MODE MARKER: a setuid-root program that drops to nobody
 * (65534) with setuid, setresuid or setreuid (MODE) and does not check the
 * result, like many careless ones. If it is still root afterwards (the drop
 * failed), it creates the directory MARKER as root: the privilege an errno
 * rule on the drop would have kept. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    printf("euid before %d\n", (int)geteuid());
    if (!strcmp(argv[1], "setuid"))
        (void)!setuid(65534);
    else if (!strcmp(argv[1], "setresuid"))
        (void)!setresuid(65534, 65534, 65534);
    else if (!strcmp(argv[1], "setreuid"))
        (void)!setreuid(65534, 65534);
    else
        return 2;
    printf("euid after %d\n", (int)geteuid());
    if (geteuid() == 0 || getuid() == 0) {
        mkdir(argv[2], 0755);
        printf("still root\n");
    }
    return 0;
}
