/* A setuid-root program that drops to its caller's uid and reports whether
 * it still has root: the case where an errno rule on setuid() would be an
 * attack on a program that does not check for errors. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
    printf("euid before %d\n", (int)geteuid());
    setuid(getuid());
    printf("euid after %d\n", (int)geteuid());
    return 0;
}
