/* Reports the process as PROGRAM sees it after sandboxify: its ids, its
 * threads and children (the exec gate's helper must be gone), the CPUs it
 * may run on (the gate narrows sandboxify's own mask for a moment) and its
 * seccomp mode. */
#define _GNU_SOURCE
#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int count_entries(const char *path) {
    DIR *dir = opendir(path);
    int count = 0;
    struct dirent *entry;
    while (dir && (entry = readdir(dir)))
        if (entry->d_name[0] != '.') count++;
    if (dir) closedir(dir);
    return count;
}

int main(void) {
    printf("pid %d\nppid %d\npgrp %d\nsid %d\n", (int)getpid(), (int)getppid(), (int)getpgrp(), (int)getsid(0));
    printf("threads %d\n", count_entries("/proc/self/task"));
    cpu_set_t cpus;
    printf("cpus %d\n", sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus) : -1);
    char path[64], children[256] = "";
    snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
    FILE *file = fopen(path, "r");
    if (file && fgets(children, sizeof children, file)) children[strcspn(children, "\n")] = 0;
    printf("children [%s]\n", children);
    FILE *status = fopen("/proc/self/status", "r");
    char line[256];
    while (status && fgets(line, sizeof line, status))
        if (strncmp(line, "Seccomp:", 8) == 0) fputs(line, stdout);
    return 0;
}
