/* Threads that keep writing while another thread forks: after each fork every private page is shared
 * copy-on-write with the child, and the running threads break the sharing of the same pages at the same
 * time. Each worker counts in its own slot of one shared page (read, add one, write back) and in an atomic
 * total; the child scribbles over that page before it exits. A write fault answered with SIGSEGV, a read
 * that sees the page as it was before another thread's copy (or the child's scribbles), or a lost increment
 * shows in the lines printed at the end. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORKERS 4
#define FORKS 60
#define ROUNDS 200000

/* One page, written by every worker: its own counter, and the total. */
static struct {
    volatile unsigned count[WORKERS];
    unsigned total;
} __attribute__((aligned(4096))) shared;

static volatile int forking = 1;
static int mismatches[WORKERS];
static unsigned done[WORKERS];

static void *worker(void *arg) {
    int id = (int) (long) arg;
    unsigned mine = 0;
    while (mine < ROUNDS || forking) {
        unsigned seen = shared.count[id];
        if (seen != mine) {
            mismatches[id]++; /* a stale or foreign page: not what this thread wrote last */
        }
        shared.count[id] = mine + 1;
        __atomic_fetch_add(&shared.total, 1, __ATOMIC_SEQ_CST);
        mine++;
    }
    done[id] = mine;
    return NULL;
}

int main(void) {
    pthread_t t[WORKERS];
    for (long i = 0; i < WORKERS; i++) {
        pthread_create(&t[i], NULL, worker, (void *) i);
    }
    int statuses = 0;
    for (int f = 0; f < FORKS; f++) {
        pid_t pid = fork();
        if (pid == 0) {
            memset((void *) &shared, 0xa5, sizeof shared); /* the child's own copy: never seen by the parent */
            _exit(7);
        }
        int status;
        waitpid(pid, &status, 0);
        statuses += WIFEXITED(status) && WEXITSTATUS(status) == 7;
    }
    forking = 0;
    unsigned sum = 0;
    for (int i = 0; i < WORKERS; i++) {
        pthread_join(t[i], NULL);
        sum += done[i];
    }
    printf("children exited with 7: %d of %d\n", statuses, FORKS);
    for (int i = 0; i < WORKERS; i++) {
        printf("worker %d: %s, %d stale reads\n", i, shared.count[i] == done[i] ? "count kept" : "count lost", mismatches[i]);
    }
    printf("total %s\n", shared.total == sum ? "kept" : "lost");
    return 0;
}
