/* A CPU-bound static program for user-mode speed: a sieve, a CRC-32 over a buffer, and an integer sort. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned crc32(const unsigned char *p, size_t n) {
    unsigned c = 0xffffffffu;
    while (n--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & -(c & 1));
    }
    return ~c;
}

static int compare(const void *a, const void *b) { return *(const int *) a - *(const int *) b; }

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 2000000;
    char *sieve = calloc(n + 1, 1);
    int primes = 0;
    for (int i = 2; i <= n; i++) {
        if (!sieve[i]) {
            primes++;
            for (long long j = (long long) i * i; j <= n; j += i) sieve[j] = 1;
        }
    }
    unsigned crc = crc32((unsigned char *) sieve, n + 1);
    int *v = malloc(sizeof(int) * (n / 8));
    unsigned x = 12345;
    for (int i = 0; i < n / 8; i++) { x = x * 1103515245u + 12345u; v[i] = (int) (x >> 1); }
    qsort(v, n / 8, sizeof(int), compare);
    printf("primes=%d crc=%08x median=%d\n", primes, crc, v[n / 16]);
    return 0;
}
