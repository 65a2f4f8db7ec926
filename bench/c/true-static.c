/* The smallest real program: exits 0. Built -static for sandboxify. */
int main(void) { return 0; }
