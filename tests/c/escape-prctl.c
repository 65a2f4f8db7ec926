/* escape-prctl MODE MARKER: tries to switch the filter off or change how
 * calls are seen, then creates the directory MARKER (the raw mkdir call).
 *   no-new-privs-off   prctl(PR_SET_NO_NEW_PRIVS, 0): it cannot be unset;
 *   seccomp-disabled   prctl(PR_SET_SECCOMP, SECCOMP_MODE_DISABLED);
 *   seccomp-strict     prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT);
 *   linux32            personality(PER_LINUX32): a 32-bit personality;
 *   personality-exec   personality(PER_LINUX32 | READ_IMPLIES_EXEC |
 *                      ADDR_NO_RANDOMIZE), then runs itself again (mkdir). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "say.h"

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    const char *mode = argv[1];
    if (!strcmp(mode, "no-new-privs-off")) {
        say("prctl(PR_SET_NO_NEW_PRIVS, 0)", prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0));
        printf("no_new_privs: %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
        fflush(stdout);
    } else if (!strcmp(mode, "seccomp-disabled")) {
        say("prctl(PR_SET_SECCOMP, SECCOMP_MODE_DISABLED)", prctl(PR_SET_SECCOMP, SECCOMP_MODE_DISABLED, 0, 0, 0));
    } else if (!strcmp(mode, "seccomp-strict")) {
        /* Strict mode allows only read, write, _exit and sigreturn: if it
         * took, report with write(2) alone and leave through _exit. */
        long result = prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0);
        if (result == 0) {
            long made = syscall(SYS_mkdir, argv[2], 0755);
            (void)made;
            syscall(SYS_exit, 0);
        }
        say("prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT)", result);
    } else if (!strcmp(mode, "linux32")) {
        say("personality(PER_LINUX32)", personality(PER_LINUX32));
    } else if (!strcmp(mode, "personality-exec")) {
        say("personality", personality(PER_LINUX32 | READ_IMPLIES_EXEC | ADDR_NO_RANDOMIZE));
        char *again[] = {"/proc/self/exe", "mkdir", argv[2], NULL};
        execv(again[0], again);
        say("execv", -1);
        return 1;
    } else if (strcmp(mode, "mkdir") != 0) {
        return 2;
    }
    say("mkdir", syscall(SYS_mkdir, argv[2], 0755));
    return 0;
}
