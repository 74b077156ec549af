/*
 * Self-modifying and generated code, the cases a translator must see: (1) an instruction patching the
 * immediate of the next instruction in .text, (2) a mini-JIT writing, running, rewriting and rerunning
 * code in an mmap'd buffer, (3) read(2) filling a buffer that holds code (no CPU store), (4) a file
 * mapped with mmap(MAP_FIXED) over code (no CPU store either), (5) munmap + mmap at the same address.
 * Each piece runs hot (many calls) before the code changes, so translated blocks exist when it does.
 * Prints one line per case; the test compares the output with qemu-i386's.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define ROUNDS 200

static int patch_next(int v) {
    int r;
    __asm__ volatile("movl %1, 1f + 1\n\t"
                     "1: movl $0, %0\n\t"
                     : "=a"(r) : "r"(v) : "memory");
    return r;
}

typedef int (*fn)(void);

/* mov eax, value ; [shl eax, 1 ;] ret */
static size_t emit(uint8_t *p, int value, int doubled) {
    size_t n = 0;
    p[n++] = 0xb8;
    memcpy(p + n, &value, 4);
    n += 4;
    if (doubled) {
        p[n++] = 0xd1;
        p[n++] = 0xe0;
    }
    p[n++] = 0xc3;
    return n;
}

static long run_hot(fn f) {
    long sum = 0;
    for (int i = 0; i < ROUNDS; i++) {
        sum += f();
    }
    return sum;
}

int main(void) {
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t text = (uintptr_t) patch_next & ~(uintptr_t) (page - 1);
    if (mprotect((void *) text, 2 * page, PROT_READ | PROT_WRITE | PROT_EXEC) != 0) {
        perror("mprotect");
        return 1;
    }
    long sum = 0;
    for (int i = 0; i < 1000; i++) {
        sum += patch_next(i);
    }
    printf("patched immediate: %ld\n", sum);

    uint8_t *buf = mmap(NULL, page, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    long jit = 0;
    for (int round = 1; round <= 20; round++) {
        emit(buf, round * 1000, round & 1);
        jit += run_hot((fn) buf);
    }
    printf("mini-jit: %ld\n", jit);

    /* read(2) into code: a file holds "mov eax, 4242 ; ret" */
    char path[] = "/tmp/jqemu-selfmod-XXXXXX";
    int fd = mkstemp(path);
    uint8_t code[16];
    size_t n = emit(code, 4242, 0);
    if (fd < 0 || write(fd, code, n) != (ssize_t) n) {
        perror("temporary file");
        return 1;
    }
    emit(buf, 7, 0);
    long before = run_hot((fn) buf);
    lseek(fd, 0, SEEK_SET);
    if (read(fd, buf, n) != (ssize_t) n) {
        perror("read");
        return 1;
    }
    printf("read into code: %ld then %ld\n", before, run_hot((fn) buf));

    /* mmap of the file over the code: fill a page-sized file with "mov eax, 5151 ; ret" at offset 0 */
    emit(code, 5151, 0);
    uint8_t filler[4096];
    memset(filler, 0xcc, sizeof filler);
    memcpy(filler, code, n);
    lseek(fd, 0, SEEK_SET);
    if (write(fd, filler, sizeof filler) != (ssize_t) sizeof filler) {
        perror("write");
        return 1;
    }
    emit(buf, 8, 0);
    before = run_hot((fn) buf);
    if (mmap(buf, page, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, fd, 0) != buf) {
        perror("mmap over code");
        return 1;
    }
    printf("mmap over code: %ld then %ld\n", before, run_hot((fn) buf));

    /* munmap, then a fresh anonymous mapping at the same address gets new code */
    munmap(buf, page);
    uint8_t *again = mmap(buf, page, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    emit(again, 6161, 1);
    printf("remapped: %ld\n", run_hot((fn) again));
    close(fd);
    unlink(path);
    return 0;
}
