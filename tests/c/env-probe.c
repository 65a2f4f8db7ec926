/* Reports what the program can see of the sandbox: its variables through
 * getenv and /proc/self/environ, and its seccomp mode; then runs itself again
 * (argument "child") to report the same from a child process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

static const char *names[] = {"SECCOMP_SYSCALL_ALLOW", "SECCOMP_SYSCALL_DENY", "SECCOMP_DEFAULT_ACTION",
                              "SANDBOX_VERBOSE"};

static void report(const char *who) {
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (getenv(names[i])) printf("%s: getenv sees %s\n", who, names[i]);
    FILE *environ_file = fopen("/proc/self/environ", "r");
    char buffer[65536];
    size_t len = environ_file ? fread(buffer, 1, sizeof buffer - 1, environ_file) : 0;
    buffer[len] = 0;
    for (size_t i = 0; i < len; i++)
        if (buffer[i] == 0) buffer[i] = '\n';
    if (strstr(buffer, "SECCOMP_") || strstr(buffer, "SANDBOX_")) printf("%s: /proc/self/environ shows the policy\n", who);
    FILE *status = fopen("/proc/self/status", "r");
    char line[256];
    while (status && fgets(line, sizeof line, status))
        if (strncmp(line, "Seccomp:", 8) == 0) printf("%s: %s", who, line);
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        report("child");
        return 0;
    }
    report("parent");
    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", argv[0], "child", (char *)NULL);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
