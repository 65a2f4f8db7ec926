/* one-insn-filter PROGRAM [ARGS...]: runs PROGRAM under the smallest filter
 * there is (ret ALLOW), the floor any seccomp filter costs. */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    struct sock_filter code[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    struct sock_fprog program = {1, code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program)) {
        perror("one-insn-filter");
        return 2;
    }
    execv(argv[1], argv + 1);
    perror("one-insn-filter: exec");
    return 2;
}
