/* What a container runs: prints the kernel's name and its parent's pid
 * class; with "extra", first asks for sysinfo, which a list learned from a
 * plain run does not hold. Built static, for a bundle with nothing else. */
#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "extra") == 0) {
        struct sysinfo info;
        printf("sysinfo %d\n", sysinfo(&info));
        fflush(stdout);
    }
    struct utsname name;
    if (uname(&name) != 0)
        return 1;
    printf("%s %s\n", name.sysname, getppid() >= 0 ? "ok" : "no parent");
    return 0;
}
