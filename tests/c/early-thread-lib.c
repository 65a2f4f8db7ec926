/* A library whose constructor starts a thread, before any preloaded
 * library's late hook runs: the thread must still end up confined. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

static int go[2];
static pthread_t thread;

static void *worker(void *unused) {
    (void)unused;
    char byte;
    if (read(go[0], &byte, 1) != 1) return NULL;
    struct utsname name;
    uname(&name);
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
