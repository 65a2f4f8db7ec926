/* A library of the program linked with -z initfirst (DF_1_INITFIRST), so
 * that the dynamic loader runs its constructor before any other
 * initialisation code; the constructor creates the directory argv[1]. libc
 * is not initialised yet: the arguments come from the loader's call. */
#include <sys/syscall.h>
#include <unistd.h>

static void early(int argc, char **argv, char **envp) {
    (void)envp;
    if (argc > 1) syscall(SYS_mkdir, argv[1], 0755);
}

__attribute__((section(".init_array"), used)) static void (*const init)(int, char **, char **) = early;

void escape_initfirst_linked(void) {}
