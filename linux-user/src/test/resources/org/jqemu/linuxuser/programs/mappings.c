/* File-backed and remapped memory: MAP_PRIVATE copies a file, MAP_SHARED writes back on msync and
 * munmap, mremap grows in place and moves, madvise(MADV_DONTNEED) gives zero pages back, mprotect. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void die(const char *what) { printf("%s failed: %s\n", what, strerror(errno)); exit(1); }

/* lseek + read rather than pread: the file's bytes as another reader sees them */
static void read_at(int fd, void *buffer, size_t n, off_t offset) {
    if (lseek(fd, offset, SEEK_SET) != offset || read(fd, buffer, n) != (ssize_t) n) die("read_at");
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *path = argv[1];
    if (argc > 2) { /* "exit": a shared mapping written and left mapped when the process exits */
        int f = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        static char zeros[4096];
        if (f < 0 || write(f, zeros, sizeof zeros) != sizeof zeros) die("open for exit");
        char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
        if (m == MAP_FAILED) die("mmap for exit");
        strcpy(m, "written before exit");
        return 0;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) die("open");
    char page[8192];
    for (int i = 0; i < (int) sizeof page; i++) page[i] = 'a' + i % 26;
    if (write(fd, page, sizeof page) != sizeof page) die("write");
    if (write(fd, page, 100) != 100) die("write tail"); /* the file ends 100 bytes into its third page */

    char *priv = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 4096);
    if (priv == MAP_FAILED) die("mmap private");
    printf("private: %.10s\n", priv);
    priv[0] = '#';
    char check;
    read_at(fd, &check, 1, 4096);
    printf("private write stays private: %c\n", check);
    printf("last page: %c, past the end of the file: %d\n", priv[4096 + 99], priv[4096 + 100]);

    char *shared = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (shared == MAP_FAILED) die("mmap shared");
    memcpy(shared + 100, "SHARED", 6);
    if (msync(shared, 8192, MS_SYNC) < 0) die("msync");
    char back[7] = {0};
    read_at(fd, back, 6, 100);
    printf("after msync the file has: %s\n", back);
    memcpy(shared + 5000, "UNMAPPED", 8);
    if (munmap(shared, 8192) < 0) die("munmap");
    char back2[9] = {0};
    read_at(fd, back2, 8, 5000);
    printf("after munmap the file has: %s\n", back2);
    int bad = msync(priv, 4096, MS_SYNC | MS_ASYNC);
    printf("msync bad flags: %d %s\n", bad, strerror(errno));

    char *anon = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(anon, 7, 4096);
    char *grown = mremap(anon, 4096, 3 * 4096, MREMAP_MAYMOVE);
    if (grown == MAP_FAILED) die("mremap");
    printf("mremap kept data: %d %d, new part zero: %d\n", grown[0], grown[4095], grown[3 * 4096 - 1]);
    char *blocker = mmap(grown + 3 * 4096, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    char *moved = mremap(grown, 3 * 4096, 8 * 4096, 0);
    printf("mremap without MAYMOVE into a used range: %s\n", moved == MAP_FAILED ? strerror(errno) : "grew");
    moved = mremap(grown, 3 * 4096, 8 * 4096, MREMAP_MAYMOVE);
    if (moved == MAP_FAILED) die("mremap move");
    printf("moved: %d data: %d %d\n", moved != grown && blocker != MAP_FAILED, moved[0], moved[3 * 4096 - 1]);
    char *shrunk = mremap(moved, 8 * 4096, 4096, 0);
    printf("shrunk in place: %d\n", shrunk == moved);
    madvise(shrunk, 4096, MADV_DONTNEED);
    printf("after MADV_DONTNEED: %d\n", shrunk[0]);
    printf("mprotect: %d\n", mprotect(shrunk, 4096, PROT_READ));
    close(fd);
    unlink(path);
    return 0;
}
