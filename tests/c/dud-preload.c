/* A stand-in for libsandbox.so that passes sandboxify's checks but applies
 * nothing: it defines __libc_start_main and forwards it. With it, only
 * sandboxify's guard filter confines the program. */
#define _GNU_SOURCE
#include <dlfcn.h>

typedef int (*start_main)(void *, int, char **, void *, void *, void *, void *);

int __libc_start_main(void *main, int argc, char **argv, void *init, void *fini, void *rtld_fini, void *stack_end) {
    start_main next = (start_main)dlsym(RTLD_NEXT, "__libc_start_main");
    return next(main, argc, argv, init, fini, rtld_fini, stack_end);
}
