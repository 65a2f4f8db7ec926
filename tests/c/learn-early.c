/* learn-early: makes a call (sysinfo) from a DT_PREINIT_ARRAY function,
 * and links learn-early-lib, whose constructor makes another (statfs):
 * both run before libsandbox.so's constructor, under its early guard, so
 * a list learned for the library must hold them. */
#include <stdio.h>
#include <sys/sysinfo.h>

static void early(int argc, char **argv, char **envp) {
    (void)argc, (void)argv, (void)envp;
    struct sysinfo info;
    sysinfo(&info);
}

__attribute__((section(".preinit_array"), used)) static void (*const preinit)(int, char **, char **) = early;

void learn_early_linked(void);

int main(void) {
    learn_early_linked();
    printf("main ran\n");
    return 0;
}
