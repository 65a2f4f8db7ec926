/* escape-own-filter MODE MARKER: installs a seccomp filter of its own that
 * would let everything run, then creates the directory MARKER. Stacked
 * filters all run and the strictest answer wins, so an outer policy that
 * forbids mkdir must still stop it.
 *   allow         a filter that is one `ret ALLOW`;
 *   allow-tsync   the same on every thread (SECCOMP_FILTER_FLAG_TSYNC);
 *   notify        mkdir sent to this program's own listener, which a thread
 *                 answers with SECCOMP_USER_NOTIF_FLAG_CONTINUE ("run it"). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int listener = -1;

/* Answers every notification with "continue": run the call as asked. */
static void *answer(void *unused) {
    (void)unused;
    for (;;) {
        struct seccomp_notif request;
        struct seccomp_notif_resp response;
        memset(&request, 0, sizeof request);
        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &request) != 0) return NULL;
        memset(&response, 0, sizeof response);
        response.id = request.id;
        response.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &response);
    }
}

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    const char *mode = argv[1];
    struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    struct sock_filter notify[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mkdir, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog program = {1, allow};
    unsigned long flags = 0;
    if (!strcmp(mode, "allow-tsync")) {
        flags = SECCOMP_FILTER_FLAG_TSYNC;
    } else if (!strcmp(mode, "notify")) {
        program = (struct sock_fprog){4, notify};
        flags = SECCOMP_FILTER_FLAG_NEW_LISTENER;
    } else if (strcmp(mode, "allow") != 0) {
        return 2;
    }
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    long result = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &program);
    printf("own filter: %s\n", result >= 0 ? "installed" : strerrorname_np(errno));
    fflush(stdout);
    if (!strcmp(mode, "notify") && result >= 0) {
        listener = (int)result;
        pthread_t thread;
        pthread_create(&thread, NULL, answer, NULL);
    }
    /* The raw call: glibc's mkdir() would use mkdirat, another number. */
    result = syscall(SYS_mkdir, argv[2], 0755);
    printf("mkdir: %s\n", result == 0 ? "ok" : strerrorname_np(errno));
    return 0;
}
