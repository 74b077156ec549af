/*
 * Reads and writes that wait on a pipe while another thread changes the mapping of their buffer: Linux copies
 * the bytes only when they move, so the call sees the mapping of that moment (EFAULT for a page that is gone
 * or read-only, the new page for one mapped again), never the page it was given at the start. Each case prints
 * what the call returned and what the other mappings hold. The main thread sleeps a moment so that the other
 * thread is blocked when the mapping changes; the outcome is the same if it is not.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#define PAGE 4096
static int p[2];
static char *buf;
static ssize_t got;
static int err;
static int vector;

static void *reader(void *arg) {
    (void) arg;
    if (vector) {
        struct iovec v[2] = {{buf, PAGE / 2}, {buf + PAGE / 2, PAGE / 2}};
        got = readv(p[0], v, 2);
    } else {
        got = read(p[0], buf, PAGE);
    }
    err = errno;
    return 0;
}

static void *writer(void *arg) {
    (void) arg;
    got = write(p[1], buf, PAGE);
    err = errno;
    return 0;
}

/**
 * The buffer, touched, and after it a page without access that {@link #fresh} opens once the buffer is gone: a
 * page first touched then, which is where a reused frame would show, at an address the buffer never had.
 */
static char *bufferAndSpare(int fill) {
    char *area = mmap(0, 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(area, PAGE, PROT_READ | PROT_WRITE);
    memset(area, fill, PAGE);
    return area;
}

static char *fresh(char *buffer) {
    char *spare = buffer + PAGE;
    mprotect(spare, PAGE, PROT_READ | PROT_WRITE);
    memset(spare, 'o', PAGE);
    return spare;
}

/** Bytes of [m, m+n) that are not {@code fill}. */
static int changed(const char *m, int n, int fill) {
    int c = 0;
    for (int i = 0; i < n; i++) {
        c += m[i] != fill;
    }
    return c;
}

static void result(const char *what) {
    printf("%s: %zd%s%s\n", what, got, got < 0 ? " " : "", got < 0 ? strerror(err) : "");
}

/** What is left in the pipe. */
static void left(void) {
    char b[PAGE];
    int flags = fcntl(p[0], F_GETFL);
    fcntl(p[0], F_SETFL, flags | O_NONBLOCK);
    ssize_t n = read(p[0], b, sizeof b);
    fcntl(p[0], F_SETFL, flags);
    printf("  left in the pipe: %zd\n", n < 0 ? 0 : n);
}

static void blockedRead(const char *what, int change) {
    pthread_t t;
    buf = bufferAndSpare('b');
    pthread_create(&t, 0, reader, 0);
    usleep(100000);
    char *other = 0;
    if (change == 0) {
        munmap(buf, PAGE);
        other = fresh(buf);
    } else if (change == 1) {
        munmap(buf, PAGE);
        mmap(buf, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        memset(buf, 'n', PAGE);
    } else {
        mprotect(buf, PAGE, PROT_READ);
    }
    write(p[1], "hello", 5);
    pthread_join(t, 0);
    result(what);
    if (other) {
        printf("  bytes changed in a new mapping: %d\n", changed(other, PAGE, 'o'));
        munmap(other, PAGE);
    } else {
        printf("  buffer now: %.8s\n", buf);
        munmap(buf, 2 * PAGE);
    }
    left();
}

static void blockedWrite(void) {
    pthread_t t;
    static char full[65536];
    buf = bufferAndSpare('w');
    int n = 0;
    ssize_t w;
    while ((w = write(p[1], full, sizeof full - n)) > 0) {
        n += w; // fills the pipe (non-blocking) so that the writer waits
    }
    fcntl(p[1], F_SETFL, 0);
    pthread_create(&t, 0, writer, 0);
    usleep(100000);
    munmap(buf, PAGE);
    char *other = fresh(buf);
    char drain[65536];
    int drained = 0;
    while (drained < n) {
        ssize_t r = read(p[0], drain, sizeof drain);
        if (r > 0) {
            drained += r;
        }
    }
    pthread_join(t, 0);
    result("write from a buffer unmapped while it waited");
    printf("  drained %d, bytes changed in a new mapping: %d\n", drained, changed(other, PAGE, 'o'));
    left();
    munmap(other, PAGE);
}

int main(void) {
    alarm(30); // a read that never returns would otherwise hang the test
    setvbuf(stdout, 0, _IONBF, 0);
    pipe2(p, 0);
    blockedRead("read into a buffer unmapped while it waited", 0);
    blockedRead("read into a buffer mapped again while it waited", 1);
    blockedRead("read into a buffer made read-only while it waited", 2);
    vector = 1;
    blockedRead("readv into a buffer unmapped while it waited", 0);
    vector = 0;
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    blockedWrite();

    // a read returns what is there, even when it does not fill the first page of the buffer
    char *two = mmap(0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    static char bytes[PAGE];
    write(p[1], bytes, PAGE);
    printf("read of 2 pages with 1 in the pipe: %zd\n", read(p[0], two, 2 * PAGE));
    write(p[1], bytes, PAGE);
    struct iovec v[2] = {{two, PAGE}, {two + PAGE, PAGE}};
    printf("readv of 2 pages with 1 in the pipe: %zd\n", readv(p[0], v, 2));
    return 0;
}
