/* Threads that change the address space at the same time: each maps, fills, checks and unmaps its own
 * regions (glibc's arena pattern: a PROT_NONE reservation trimmed to alignment and opened by mprotect; plain
 * anonymous mappings; mremap growth). A mapping handed to two threads at once shows as another thread's
 * pattern in a region, or as a fault. Prints one line per thread with what it found. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define THREADS 4
#define ROUNDS 100
#define RESERVE (1u << 20)

static int bad[THREADS];
static int failed[THREADS];

static int check(const uint32_t *p, size_t words, uint32_t tag) {
    for (size_t i = 0; i < words; i += 97) {
        if (p[i] != tag) return 1;
    }
    return 0;
}

static void fill(uint32_t *p, size_t words, uint32_t tag) {
    for (size_t i = 0; i < words; i += 97) p[i] = tag;
}

/* A 1 MiB region aligned to 1 MiB, carved out of a 2 MiB PROT_NONE reservation, as glibc's new_heap does. */
static char *aligned_region(void) {
    char *r = mmap(NULL, 2 * RESERVE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED) return NULL;
    char *aligned = (char *) (((uintptr_t) r + RESERVE - 1) & ~(uintptr_t) (RESERVE - 1));
    if (aligned > r) munmap(r, aligned - r);
    munmap(aligned + RESERVE, r + RESERVE - aligned);
    if (mprotect(aligned, RESERVE, PROT_READ | PROT_WRITE) != 0) return NULL;
    return aligned;
}

static void *worker(void *arg) {
    int id = (int) (intptr_t) arg;
    for (int round = 0; round < ROUNDS; round++) {
        uint32_t tag = (uint32_t) (id + 1) << 16 | (uint32_t) round;
        char *heap = aligned_region();
        size_t small = 4096u * (1 + (round + id) % 16);
        uint32_t *plain = mmap(NULL, small, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (heap == NULL || plain == MAP_FAILED) { failed[id]++; continue; }
        fill((uint32_t *) heap, RESERVE / 4, tag);
        fill(plain, small / 4, tag);
        sched_yield();
        uint32_t *grown = mremap(plain, small, 2 * small, MREMAP_MAYMOVE);
        if (grown == MAP_FAILED) { failed[id]++; grown = plain; small /= 2; }
        bad[id] += check((uint32_t *) heap, RESERVE / 4, tag) + check(grown, small / 4, tag);
        munmap(heap, RESERVE);
        munmap(grown, 2 * small);
    }
    return NULL;
}

int main(void) {
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) pthread_create(&threads[i], NULL, worker, (void *) (intptr_t) i);
    for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
    for (int i = 0; i < THREADS; i++) {
        printf("thread %d: %d rounds, %d regions overwritten by another thread, %d calls failed\n", i, ROUNDS, bad[i], failed[i]);
    }
    return 0;
}
