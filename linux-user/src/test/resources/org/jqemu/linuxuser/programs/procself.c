/* /proc/self as a guest sees it: exe, cmdline, maps (the line holding main), auxv. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    if (!strcmp(argv[1], "exe")) {
        char target[4096];
        ssize_t n = readlink("/proc/self/exe", target, sizeof target - 1);
        if (n < 0) { perror("readlink"); return 1; }
        target[n] = 0;
        printf("exe=%s\n", target);
        FILE *f = fopen("/proc/self/exe", "rb");
        unsigned char magic[4] = {0};
        if (!f || fread(magic, 1, 4, f) != 4) { perror("open exe"); return 1; }
        printf("exe starts with %02x %c%c%c\n", magic[0], magic[1], magic[2], magic[3]);
        fclose(f);
        f = fopen("/proc/self/cmdline", "rb");
        char cmdline[4096];
        size_t len = fread(cmdline, 1, sizeof cmdline, f);
        fclose(f);
        printf("cmdline:");
        for (size_t i = 0; i < len; i++) putchar(cmdline[i] ? cmdline[i] : '|');
        putchar('\n');
    } else if (!strcmp(argv[1], "maps")) {
        unsigned long main_address = (unsigned long) &main;
        printf("main=%lx\n", main_address);
        FILE *f = fopen("/proc/self/maps", "r");
        char line[512];
        while (fgets(line, sizeof line, f)) {
            unsigned long start, end;
            if (sscanf(line, "%lx-%lx", &start, &end) == 2 && start <= main_address && main_address < end) printf("line=%s", line);
        }
        rewind(f);
        while (fgets(line, sizeof line, f)) if (strstr(line, "[stack]")) printf("%s", line);
        fclose(f);
    } else if (!strcmp(argv[1], "auxv")) {
        FILE *f = fopen("/proc/self/auxv", "rb");
        unsigned int pair[2];
        while (fread(pair, sizeof pair, 1, f) == 1 && pair[0] != 0) printf("%u=%x\n", pair[0], pair[1]);
        fclose(f);
        rewind(stdin);
        f = fopen("/proc/self/auxv", "rb");
        unsigned long entry = 0;
        while (fread(pair, sizeof pair, 1, f) == 1 && pair[0] != 0) if (pair[0] == AT_ENTRY) entry = pair[1];
        fclose(f);
        printf("getauxval(AT_ENTRY) %s\n", getauxval(AT_ENTRY) == entry ? "agrees" : "differs");
    }
    return 0;
}
