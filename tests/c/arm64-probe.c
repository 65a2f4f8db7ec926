/* /init of the arm64 test's initramfs (tests/tests/arm64.rs), static aarch64
 * (clang --target=aarch64-linux-gnu -static -fuse-ld=lld).
 *
 * For each /f/NAME.bpf (struct sock_filter[], as `--export bpf` writes it) and
 * /f/NAME.calls (one line per attempt: "NR A0 A1 A2 A3 A4 A5", numbers in
 * decimal or 0x hex, or "exec PATH"), every attempt runs in a fresh process
 * that sets no_new_privs, installs the filter and makes the call with `svc #0`
 * (or execs PATH); the result travels back through shared memory, so that the
 * filter never judges this process's own calls. Each attempt is made as root,
 * then as nobody (uid and gid 65534, no groups). On the console:
 *
 *   FILTER NAME load=ok | load=fail errno=E
 *   RESULT NAME INDEX USER ret=X0      the call returned X0 (-errno on failure)
 *   RESULT NAME INDEX USER signal=S    the process was killed by signal S
 *   RESULT NAME INDEX USER exit=C      it exited with C (an exec'd program)
 *   PROBE DONE
 * then it powers the machine off. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct result { int returned; long x0; };

static long svc(long nr, const long a[6]) {
    register long x8 __asm__("x8") = nr;
    register long x0 __asm__("x0") = a[0];
    register long x1 __asm__("x1") = a[1];
    register long x2 __asm__("x2") = a[2];
    register long x3 __asm__("x3") = a[3];
    register long x4 __asm__("x4") = a[4];
    register long x5 __asm__("x5") = a[5];
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory", "cc");
    return x0;
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    int c;
    while ((c = fgetc(f)) != EOF) fputc(c, out);
    fclose(f);
    fclose(out);
    *len = size;
    return text;
}

static int install(struct sock_fprog *program) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) return errno;
    const long args[6] = {SECCOMP_SET_MODE_FILTER, 0, (long)program};
    long rc = svc(__NR_seccomp, args);
    return rc < 0 ? (int)-rc : 0;
}

/* Waits for `pid` at most 10 s; 0 when it had to be killed. */
static int await(pid_t pid, int *status) {
    for (int waited = 0; waited < 10000; waited++) {
        if (waitpid(pid, status, WNOHANG) == pid) return 1;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, status, 0);
    return 0;
}

static void attempt(const char *name, int index, const char *user, char *line, struct sock_fprog *program,
                    struct result *shared) {
    long a[7] = {0};
    char *path = NULL;
    if (strncmp(line, "exec ", 5) == 0) {
        path = line + 5;
    } else {
        char *cursor = line;
        for (int i = 0; i < 7 && *cursor; i++) a[i] = (long)strtoull(cursor, &cursor, 0);
    }
    memset(shared, 0, sizeof *shared);
    pid_t pid = fork();
    if (pid == 0) {
        if (strcmp(user, "nobody") == 0 && (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
                                            setresuid(65534, 65534, 65534)))
            _exit(124);
        if (install(program)) _exit(125);
        if (path) {
            char *argv[] = {path, NULL}, *envp[] = {NULL};
            const long args[6] = {(long)path, (long)argv, (long)envp};
            svc(__NR_execve, args);
            _exit(126);
        }
        shared->x0 = svc(a[0], a + 1);
        __atomic_store_n(&shared->returned, 1, __ATOMIC_RELEASE);
        const long code[6] = {0};
        svc(__NR_exit_group, code); /* a filter may kill even this: the result is in */
        for (;;) {}
    }
    int status = 0;
    int ended = await(pid, &status);
    printf("RESULT %s %d %s ", name, index, user);
    if (__atomic_load_n(&shared->returned, __ATOMIC_ACQUIRE)) printf("ret=%ld\n", shared->x0);
    else if (ended && WIFSIGNALED(status)) printf("signal=%d\n", WTERMSIG(status));
    else if (ended) printf("exit=%d\n", WEXITSTATUS(status));
    else printf("timeout\n");
    fflush(stdout);
}

static int is_filter(const struct dirent *entry) {
    size_t len = strlen(entry->d_name);
    return len > 4 && strcmp(entry->d_name + len - 4, ".bpf") == 0;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct result *shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    struct dirent **entries;
    int count = scandir("/f", &entries, is_filter, alphasort);
    for (int i = 0; i < count; i++) {
        char name[256], path[300];
        snprintf(name, sizeof name, "%.*s", (int)strlen(entries[i]->d_name) - 4, entries[i]->d_name);
        size_t len, calls_len;
        snprintf(path, sizeof path, "/f/%s.bpf", name);
        char *code = slurp(path, &len);
        snprintf(path, sizeof path, "/f/%s.calls", name);
        char *calls = slurp(path, &calls_len);
        struct sock_fprog program = {(unsigned short)(len / sizeof(struct sock_filter)), (struct sock_filter *)code};
        /* Whether the kernel takes it, in a process of its own. */
        pid_t pid = fork();
        if (pid == 0) _exit(install(&program));
        int status = 0;
        await(pid, &status);
        if (!code || !calls || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            printf("FILTER %s load=fail errno=%d\n", name, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
            continue;
        }
        printf("FILTER %s load=ok\n", name);
        int index = 0;
        for (char *save, *line = strtok_r(calls, "\n", &save); line; line = strtok_r(NULL, "\n", &save), index++) {
            attempt(name, index, "root", line, &program, shared);
            attempt(name, index, "nobody", line, &program, shared);
        }
        free(code);
        free(calls);
    }
    printf("PROBE DONE\n");
    sync();
    reboot(RB_POWER_OFF);
    return 0;
}
