/* Lets the thread that early-thread-lib started before main call uname. */
void early_thread_run(void);

int main(void) {
    early_thread_run();
    return 0;
}
