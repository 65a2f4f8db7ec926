/* escape-start MODE MARKER, built with -nostartfiles -fno-plt: a program
 * with its own _start that loads __libc_start_main from its GOT, as glibc's
 * _start does, so a preloaded library sees its hook there:
 *   never    never calls it: creates the directory MARKER and exits;
 *   before   creates MARKER first, then calls __libc_start_main and main. */
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int __libc_start_main(int (*main)(int, char **, char **), int argc, char **argv, void (*init)(void),
                      void (*fini)(void), void (*rtld_fini)(void), void *stack_end);

static int real_main(int argc, char **argv, char **envp) {
    (void)argc, (void)argv, (void)envp;
    printf("main ran\n");
    return 0;
}

__attribute__((used)) void start_c(long *stack) {
    int argc = (int)stack[0];
    char **argv = (char **)(stack + 1);
    if (argc != 3) syscall(SYS_exit_group, 2);
    syscall(SYS_mkdir, argv[2], 0755);
    if (strcmp(argv[1], "before") == 0) __libc_start_main(real_main, argc, argv, NULL, NULL, NULL, stack);
    syscall(SYS_exit_group, 0);
}

__asm__(".globl _start\n"
        "_start:\n"
        "    mov %rsp, %rdi\n"
        "    and $-16, %rsp\n"
        "    call start_c\n"
        "    hlt\n");
