/* escape-lib-ctor MARKER: linked with escape-lib-ctor-lib, whose
 * constructor runs first and creates MARKER. */
#include <stdio.h>

void escape_lib_ctor_linked(void);

int main(void) {
    escape_lib_ctor_linked();
    printf("main ran\n");
    return 0;
}
