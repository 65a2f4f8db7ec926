/* escape-initfirst MARKER: linked with escape-initfirst-lib, which asks to
 * be initialised first and creates MARKER. */
#include <stdio.h>

void escape_initfirst_linked(void);

int main(void) {
    escape_initfirst_linked();
    printf("main ran\n");
    return 0;
}
