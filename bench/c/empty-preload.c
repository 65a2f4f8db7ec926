/* The floor of any preload library: a constructor that does nothing.
 * Built -shared -fPIC; what it costs is ld.so finding, mapping and
 * relocating one more object. */
__attribute__((constructor)) static void nothing(void) {}
