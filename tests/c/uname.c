/* Prints the kernel's name, as uname(1) -s does. */
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/utsname.h>

int main(void) {
    struct utsname name;
    if (uname(&name) != 0) {
        printf("uname: %s\n", strerror(errno));
        return 1;
    }
    printf("%s\n", name.sysname);
    return 0;
}
