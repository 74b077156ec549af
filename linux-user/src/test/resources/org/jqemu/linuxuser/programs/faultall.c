/* Eight threads meet and then all write to address 0 at once: the process dies of SIGSEGV once, with one
 * "uncaught target signal" line and one status, however many of its threads faulted. */
#include <pthread.h>
#include <stdio.h>

#define THREADS 8

static volatile int arrived;

static void *crash(void *arg) {
    (void) arg;
    __atomic_fetch_add(&arrived, 1, __ATOMIC_SEQ_CST);
    while (arrived < THREADS) {
    }
    *(volatile int *) 0 = 1;
    return NULL;
}

int main(void) {
    pthread_t t[THREADS];
    printf("starting %d threads that fault together\n", THREADS);
    fflush(stdout);
    for (int i = 0; i < THREADS; i++) {
        pthread_create(&t[i], NULL, crash, NULL);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
    }
    printf("not reached\n");
    return 0;
}
