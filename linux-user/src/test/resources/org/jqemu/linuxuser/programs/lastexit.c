/*
 * The last threads of a process leave with exit(2) at the same moment: the process's status is the code the
 * last of them passed (Linux), never a code nobody passed. Each of ROUNDS children starts two threads that meet
 * at a barrier and then exit with 3 and 4, while the main thread exits with 5 at once; the parent counts the
 * children whose status is none of those.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 100
static pthread_barrier_t together;

static void *leave(void *code) {
    pthread_barrier_wait(&together);
    syscall(SYS_exit, (int) (long) code);
    return 0;
}

static void child(void) {
    pthread_t t;
    pthread_barrier_init(&together, 0, 2);
    pthread_create(&t, 0, leave, (void *) 3L);
    pthread_create(&t, 0, leave, (void *) 4L);
    syscall(SYS_exit, 5);
}

int main(void) {
    int other = 0;
    alarm(100); // a child that never ends would otherwise hang the test
    for (int i = 0; i < ROUNDS; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            child();
        }
        int status;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) < 3 || WEXITSTATUS(status) > 5) {
            other++;
            printf("child %d: status 0x%x\n", i, status);
        }
    }
    printf("%d children, %d with a status none of their threads passed\n", ROUNDS, other);
    return 0;
}
