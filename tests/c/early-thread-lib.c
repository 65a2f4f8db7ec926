/* A library whose constructor starts a thread: the thread must end up
 * confined, whichever constructor runs first. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "waiting-thread.h"

static pthread_t thread;

static void *worker(void *unused) {
    (void)unused;
    if (wait_then_uname() != 0) return NULL;
    FILE *status = fopen("/proc/thread-self/status", "r");
    char line[256];
    while (status && fgets(line, sizeof line, status))
        if (strncmp(line, "Seccomp:", 8) == 0) printf("thread %s", line);
    printf("thread survived uname\n");
    fflush(stdout);
    return NULL;
}

__attribute__((constructor)) static void start_early_thread(void) {
    if (pipe(go) == 0) pthread_create(&thread, NULL, worker, NULL);
}

void early_thread_run(void) {
    if (write(go[1], "x", 1) == 1) pthread_join(thread, NULL);
}
