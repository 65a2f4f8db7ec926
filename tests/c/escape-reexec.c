/* escape-reexec MODE MARKER: sheds the sandbox's environment and runs again,
 * then creates the directory MARKER:
 *   empty-env   execve of this program with an empty environment;
 *   env-i       the same through `/usr/bin/env -i`;
 *   unsetenv    unsets LD_PRELOAD and every SECCOMP_ variable, then execv;
 *   busybox     a static program (busybox mkdir) with an empty environment;
 *   mkdir       the last stage: mkdir MARKER, printing the result. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    const char *mode = argv[1];
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len < 0) return 2;
    self[len] = 0;
    char *again[] = {self, "mkdir", argv[2], NULL};
    char *empty_env[] = {NULL};
    if (!strcmp(mode, "mkdir")) {
        int result = mkdir(argv[2], 0755);
        printf("mkdir: %s\n", result == 0 ? "ok" : strerrorname_np(errno));
        return 0;
    } else if (!strcmp(mode, "empty-env")) {
        execve(self, again, empty_env);
    } else if (!strcmp(mode, "env-i")) {
        char *env_args[] = {"/usr/bin/env", "-i", self, "mkdir", argv[2], NULL};
        execve(env_args[0], env_args, empty_env);
    } else if (!strcmp(mode, "unsetenv")) {
        unsetenv("LD_PRELOAD");
        for (const char **name = (const char *[]){"SECCOMP_SYSCALL_ALLOW", "SECCOMP_SYSCALL_DENY",
                                                   "SECCOMP_DEFAULT_ACTION", "SECCOMP_POLICY_FILE", NULL};
             *name; name++)
            unsetenv(*name);
        execv(self, again);
    } else if (!strcmp(mode, "busybox")) {
        char *busybox[] = {"/bin/busybox", "mkdir", argv[2], NULL};
        execve(busybox[0], busybox, empty_env);
    } else {
        return 2;
    }
    printf("%s: exec failed: %s\n", mode, strerrorname_np(errno));
    return 1;
}
