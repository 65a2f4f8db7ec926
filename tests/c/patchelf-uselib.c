/* A program that uses patchelf-lib.c's library. */
#include <stdio.h>

int patchelf_lib_answer(void);

int main(void) {
    printf("the library says %d\n", patchelf_lib_answer());
    return 0;
}
