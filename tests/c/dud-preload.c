/* A stand-in for libsandbox.so that passes sandboxify's check (it carries
 * the library's ELF note) but applies nothing. With it, only sandboxify's
 * guard filter confines the program. */
struct note {
    unsigned int name_size, descriptor_size, type;
    char name[8];
};

__attribute__((section(".note.sandbox"), used, aligned(4))) static const struct note identity = {8, 0, 0x5ec0,
                                                                                                  "sandbox"};
