/* exec-later execve|execveat: after starting normally, tries to run
 * /bin/echo; prints "exec failed: ..." if the call returns. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    char *args[] = {"/bin/echo", "exec happened", NULL};
    char *env[] = {NULL};
    printf("started\n");
    fflush(stdout);
    if (argc > 1 && strcmp(argv[1], "execveat") == 0)
        syscall(SYS_execveat, AT_FDCWD, "/bin/echo", args, env, 0);
    else
        execve("/bin/echo", args, env);
    printf("exec failed: %s\n", strerror(errno));
    return 1;
}
