/* process-group SIGNAL PROGRAM [ARG...]: runs PROGRAM in a process group
 * of its own, as a shell runs a job, passing its standard output on; once
 * PROGRAM has written its first line, and 0.1 s more (a child it started
 * then has run its exec: a process waiting for its vfork child cannot stop,
 * sandbox or not), sends SIGNAL (a number) to the whole group, as a
 * terminal's Ctrl-Z (SIGTSTP) or `kill -TERM -PGID` does. Says
 * "stopped by N" if PROGRAM stops, and continues the group; then how it
 * ended: "exit N" or "signal N". If that takes 20 s, says "timed out",
 * kills the group and exits 1. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t child;

static void timed_out(int signal) {
    (void)signal;
    static const char message[] = "timed out\n";
    if (write(1, message, sizeof message - 1) < 0) _exit(2);
    killpg(child, SIGKILL);
    kill(child, SIGCONT);
    _exit(1);
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    int out[2];
    if (pipe(out)) return 2;
    child = fork();
    if (child == 0) {
        setpgid(0, 0);
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execvp(argv[2], argv + 2);
        _exit(127);
    }
    setpgid(child, child);
    close(out[1]);
    FILE *from = fdopen(out[0], "r");
    char line[512];
    if (!fgets(line, sizeof line, from)) return 2;
    fputs(line, stdout);
    fflush(stdout);
    signal(SIGALRM, timed_out);
    alarm(20);
    usleep(100000);
    killpg(child, atoi(argv[1]));
    int status;
    if (waitpid(child, &status, WUNTRACED) < 0) return 2;
    if (WIFSTOPPED(status)) {
        printf("stopped by %d\n", WSTOPSIG(status));
        fflush(stdout);
        killpg(child, SIGCONT);
        if (waitpid(child, &status, 0) < 0) return 2;
    }
    while (fgets(line, sizeof line, from)) fputs(line, stdout);
    if (WIFEXITED(status))
        printf("exit %d\n", WEXITSTATUS(status));
    else
        printf("signal %d\n", WTERMSIG(status));
    return 0;
}
