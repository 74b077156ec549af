/*
 * A guest that produces N distinct translation blocks (argv[1], default 200000): a code generator fills
 * an mmap'd buffer with N small functions "mov eax, i ; ret" and calls each of them `calls` times
 * (argv[2], default 2), so every one is translated when the translator's hot threshold is below that.
 * Prints the sum of the results; the test compares it with qemu-i386's and checks that the emulator's
 * memory stays bounded (the translation cache is flushed as it fills).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define STUB 8

typedef int (*fn)(void);

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 200000;
    int calls = argc > 2 ? atoi(argv[2]) : 2;
    unsigned char *code = mmap(NULL, n * STUB, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    for (long i = 0; i < n; i++) {
        unsigned char *p = code + i * STUB;
        int value = (int) (i * 7 + 1);
        p[0] = 0xb8;
        memcpy(p + 1, &value, 4);
        p[5] = 0xc3;
        p[6] = 0xcc;
        p[7] = 0xcc;
    }
    long long sum = 0;
    for (int round = 0; round < calls; round++) {
        for (long i = 0; i < n; i++) {
            sum += ((fn) (code + i * STUB))();
        }
    }
    printf("%ld blocks, %d calls each: %lld\n", n, calls, sum);
    return 0;
}
