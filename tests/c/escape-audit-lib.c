/* escape-audit-lib: an audit library (a program's DT_AUDIT) that creates
 * the directory named by the program's first argument from la_version,
 * which ld.so calls as it loads audit libraries, before any preloaded
 * library. It makes its system calls itself, as libc may not be ready. */
#include <link.h>

#include "mkdir-first-argument.h"

unsigned int la_version(unsigned int version) {
    mkdir_first_argument();
    return version;
}
