/* Static glibc start-up and the system calls around it: arguments, environment, TLS, heap, files, time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>

static __thread int tls_counter = 5;

int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
    const char *v = getenv("JQEMU_TEST_VAR");
    printf("env=%s\n", v ? v : "(unset)");
    tls_counter += argc;
    printf("tls=%d\n", tls_counter);

    char *small = malloc(100);                 /* brk */
    char *big = malloc(4 << 20);               /* mmap2 */
    memset(big, 0x5a, 4 << 20);
    strcpy(small, "heap ok");
    printf("%s %d\n", small, big[(4 << 20) - 1]);
    free(big);
    free(small);

    void *m = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap %s\n", m == MAP_FAILED ? "failed" : "ok");
    ((char *) m)[8191] = 1;
    int protected = mprotect(m, 4096, PROT_READ);
    int unmapped = munmap(m, 8192);
    printf("mprotect %d munmap %d\n", protected, unmapped);

    if (argc > 1) {
        FILE *f = fopen(argv[1], "w");
        fprintf(f, "line one\nline two\n");
        fclose(f);
        struct stat st;
        stat(argv[1], &st);
        printf("size=%lld regular=%d\n", (long long) st.st_size, S_ISREG(st.st_mode));
        char line[64];
        f = fopen(argv[1], "r");
        while (fgets(line, sizeof line, f)) printf("read: %s", line);
        fclose(f);
        printf("missing: %s\n", fopen("/nonexistent/file", "r") ? "opened?" : "fopen failed");
    }

    struct utsname u;
    uname(&u);
    printf("sysname=%s\n", u.sysname);
    struct timespec ts;
    printf("clock %d %d\n", clock_gettime(CLOCK_MONOTONIC, &ts), ts.tv_sec >= 0);
    printf("time positive %d\n", time(0) > 1000000000);
    char exe[256];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe);
    printf("exe readable %d\n", n > 0 && exe[0] == '/');
    printf("isatty(1)=%d\n", isatty(1));
    char cwd[512];
    printf("cwd=%s\n", getcwd(cwd, sizeof cwd) ? cwd : "(failed)");
    printf("access %d %d\n", access("/", R_OK), access("/nonexistent/file", F_OK));
    struct timespec nap = {0, 1000000};
    printf("nanosleep %d\n", nanosleep(&nap, 0));
    fflush(stdout);
    return 7;
}
