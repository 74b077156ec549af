/* A freestanding workload for the translator: compiled with gcc -m32 -O2 and run in jqemu, and compiled
   for the host (-DHOST) as the oracle of its result. */
typedef unsigned int u32;
static u32 seed = 12345;
static u32 rnd(void) { seed = seed * 1103515245u + 12345u; return seed >> 8; }
static int arr[300];
static unsigned char sieve[5000];
static const char *words[] = {"translation", "block", "chaining", "self-modifying", "lazy flags", "x86"};

static u32 crc32(const unsigned char *p, int n) {
    u32 c = 0xffffffffu;
    for (int i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & -(c & 1));
    }
    return ~c;
}

static int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static void sort(int *a, int n) {
    for (int i = 1; i < n; i++) {
        int v = a[i], j = i - 1;
        while (j >= 0 && a[j] > v) { a[j + 1] = a[j]; j--; }
        a[j + 1] = v;
    }
}

static u32 hash(const char *s) { u32 h = 5381; while (*s) h = h * 33 + (unsigned char)*s++; return h; }

u32 compute(void) {
    u32 sum = 0;
    for (int i = 0; i < 300; i++) arr[i] = (int)(rnd() % 20001) - 10000;
    sort(arr, 300);
    for (int i = 0; i < 300; i++) sum = sum * 31 + (u32)arr[i];
    for (int i = 2; i < 5000; i++) if (!sieve[i]) { sum += i; for (int j = 2 * i; j < 5000; j += i) sieve[j] = 1; }
    sum ^= crc32((const unsigned char *)arr, sizeof arr);
    sum += fib(20);
    for (unsigned i = 0; i < sizeof words / sizeof *words; i++) sum = (sum << 3 | sum >> 29) ^ hash(words[i]);
    long long wide = (long long)(int)sum * -7;
    sum += (u32)(wide >> 17);
    sum += (u32)((int)sum / 1000) + (sum % 977);
    return sum;
}

#ifdef HOST
#include <stdio.h>
int main(void) { printf("%u\n", compute()); return 0; }
#else
__attribute__((section(".text.start"))) void _start(void) {
    u32 r = compute();
    __asm__ volatile("int $0x80" :: "a"(1), "b"(r));
    for (;;) { }
}
#endif
