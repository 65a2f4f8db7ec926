/* A library of the program itself whose constructor creates the directory
 * argv[1]: code the program brings along, run by the dynamic loader before
 * the program's own. The arguments come from the loader's call. */
#include <sys/syscall.h>
#include <unistd.h>

static void early(int argc, char **argv, char **envp) {
    (void)envp;
    if (argc > 1) syscall(SYS_mkdir, argv[1], 0755);
}

__attribute__((section(".init_array"), used)) static void (*const init)(int, char **, char **) = early;

void escape_lib_ctor_linked(void) {}
