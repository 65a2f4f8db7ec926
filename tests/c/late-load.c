/* late-load LIBRARY [NAME=VALUE...]: starts a thread, sets the variables,
 * then loads LIBRARY with dlopen, as a program that loads the sandbox
 * itself would; then lets the thread call uname and report. The thread
 * runs before the library's filter and Landlock rules go in. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waiting-thread.h"

static void *worker(void *unused) {
    (void)unused;
    if (wait_then_uname() != 0) return NULL;
    printf("thread survived uname\n");
    fflush(stdout);
    return NULL;
}

int main(int argc, char **argv) {
    pthread_t thread;
    if (argc < 2 || pipe(go) != 0 || pthread_create(&thread, NULL, worker, NULL) != 0) return 2;
    for (int i = 2; i < argc; i++) {
        char *value = strchr(argv[i], '=');
        if (!value) return 2;
        *value++ = '\0';
        setenv(argv[i], value, 1);
    }
    if (!dlopen(argv[1], RTLD_NOW)) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 3;
    }
    printf("loaded\n");
    fflush(stdout);
    if (write(go[1], "x", 1) != 1) return 2;
    pthread_join(thread, NULL);
    return 0;
}
