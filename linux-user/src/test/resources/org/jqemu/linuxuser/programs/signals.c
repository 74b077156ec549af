/* Dies as argv[1] says: CPU exceptions and abort() end with the signal's default action. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    volatile int zero = 0;
    printf("before\n");
    fflush(stdout);
    if (argc < 2) return 0;
    if (!strcmp(argv[1], "abort")) abort();
    if (!strcmp(argv[1], "fpe")) return 10 / zero;
    if (!strcmp(argv[1], "segv")) return *(volatile int *) 16;
    if (!strcmp(argv[1], "ill")) __asm__ volatile("ud2");
    if (!strcmp(argv[1], "term")) raise(SIGTERM);
    if (!strcmp(argv[1], "ignored")) { signal(SIGTERM, SIG_IGN); raise(SIGTERM); printf("survived\n"); }
    if (!strcmp(argv[1], "exit")) exit(42);
    return 1;
}
