/* A static 32-bit ARM (AArch32) program for the arm64 test: run on an arm64
 * kernel, its calls arrive with AUDIT_ARCH_ARM, which no aarch64 filter lets
 * through. Unconfined it exits with 7. */
#include <unistd.h>
int main(void) {
    return getpid() > 0 ? 7 : 1;
}
