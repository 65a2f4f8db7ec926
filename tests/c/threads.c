/* Starts a thread and waits for it: glibc >= 2.34 tries clone3 first and
 * falls back to clone only when clone3 fails with ENOSYS. */
#include <pthread.h>
#include <stdio.h>

static void *work(void *argument) {
    return argument;
}

int main(void) {
    pthread_t thread;
    int value = 7;
    void *result = NULL;
    if (pthread_create(&thread, NULL, work, &value) != 0 || pthread_join(thread, &result) != 0) {
        printf("thread failed\n");
        return 1;
    }
    printf("thread ok %d\n", *(int *)result);
    return 0;
}
