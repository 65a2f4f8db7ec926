/* Prints the time as a number: time() is answered by the vDSO, unseen by
 * seccomp, unless learn mode takes the vDSO away. */
#include <stdio.h>
#include <time.h>

int main(void) {
    printf("%d\n", time(NULL) > 0);
    return 0;
}
