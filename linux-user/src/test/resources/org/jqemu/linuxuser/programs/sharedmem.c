/*
 * Shared memory across fork: MAP_SHARED|MAP_ANONYMOUS pages stay shared, MAP_PRIVATE ones are the child's own
 * copy, and System V segments (shmget/shmat/shmdt/shmctl through glibc, which uses the ipc multiplexer on
 * i386, and through the direct i386 system calls) keep their attach counts, IPC_STAT fields, keys and
 * IPC_RMID semantics. Prints what it sees; compared with qemu-i386.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static key_t my_key;

static void show_stat(const char *what, int id)
{
    struct shmid_ds ds;
    if (shmctl(id, IPC_STAT, &ds) < 0) {
        printf("%s: IPC_STAT: %s\n", what, strerror(errno));
        return;
    }
    printf("%s: key=%s size=%zu nattch=%lu mode=%#o cpid_is_me=%d uid_ok=%d lpid_set=%d ctime_set=%d\n", what,
           ds.shm_perm.__key == 0 ? "0" : ds.shm_perm.__key == my_key ? "mine" : "other", ds.shm_segsz, (unsigned long) ds.shm_nattch,
           (unsigned) ds.shm_perm.mode, ds.shm_cpid == getpid(), ds.shm_perm.uid == geteuid(),
           ds.shm_lpid != 0, ds.shm_ctime != 0);
}

static int child_status(pid_t pid)
{
    int status;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status)) {
        return 1000 + WTERMSIG(status);
    }
    return WEXITSTATUS(status);
}

static void anonymous(void)
{
    volatile int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    volatile int *private = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    shared[0] = 1;
    private[0] = 1;
    pid_t pid = fork();
    if (pid == 0) {
        printf("child sees shared=%d private=%d\n", shared[0], private[0]);
        fflush(stdout);
        shared[0] = 42;
        shared[1000] = 7;
        private[0] = 43;
        _exit(0);
    }
    int st = child_status(pid);
    printf("child status %d; parent sees shared=%d,%d private=%d\n", st, shared[0], shared[1000], private[0]);
    /* the other direction: a child waits for the parent's write through the shared page */
    shared[2] = 0;
    pid = fork();
    if (pid == 0) {
        while (shared[2] == 0) {
            sched_yield();
        }
        _exit(shared[2]);
    }
    shared[2] = 9;
    printf("child saw the parent's write: status %d\n", child_status(pid));
    munmap((void *) shared, 4096);
    munmap((void *) private, 4096);
}

static void sysv(void)
{
    int id = shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0600);
    printf("shmget private: %s\n", id >= 0 ? "ok" : strerror(errno));
    show_stat("fresh", id);
    char *p = shmat(id, NULL, 0);
    printf("shmat: %s, page aligned %d, zeroed %d\n", p == (void *) -1 ? strerror(errno) : "ok",
           ((unsigned long) p & 4095) == 0, p[0] == 0 && p[9999] == 0);
    show_stat("attached", id);
    pid_t pid = fork();
    if (pid == 0) {
        show_stat("in child", id);
        strcpy(p, "written by the child");
        p[9999] = 'z';
        _exit(shmdt(p) == 0 ? 0 : 1);
    }
    printf("child status %d\n", child_status(pid));
    printf("parent reads \"%s\" and %c\n", p, p[9999]);
    show_stat("after child", id);

    char *q = shmat(id, NULL, SHM_RDONLY);
    printf("second attach sees \"%s\"\n", q);
    show_stat("twice", id);
    pid = fork();
    if (pid == 0) {
        q[0] = 'x'; /* read-only attachment: SIGSEGV */
        _exit(0);
    }
    printf("write to a read-only attachment: status %d\n", child_status(pid));
    int first = shmdt(q);
    int second = shmdt(q);
    printf("shmdt twice: %d %d %s\n", first, second, strerror(errno));

    printf("IPC_RMID while attached: %d\n", shmctl(id, IPC_RMID, NULL));
    show_stat("removed", id);
    strcpy(p, "still usable");
    printf("after IPC_RMID: \"%s\"\n", p);
    printf("shmdt: %d\n", shmdt(p));
    show_stat("gone", id);

    /* a key of this process's own: a run of the oracle that died half way leaves its segment in the host */
    key_t key = my_key = 0x4a510000 | (getpid() & 0xffff);
    int k = shmget(key, 8192, IPC_CREAT | IPC_EXCL | 0640);
    printf("keyed create: %s\n", k >= 0 ? "ok" : strerror(errno));
    printf("again with IPC_EXCL: %s\n", shmget(key, 8192, IPC_CREAT | IPC_EXCL | 0640) < 0 ? strerror(errno) : "ok");
    printf("same key finds it: %d\n", shmget(key, 100, 0) == k);
    printf("bigger than it: %s\n", shmget(key, 100000, 0) < 0 ? strerror(errno) : "ok");
    printf("unknown key: %s\n", shmget(key + 1, 100, 0) < 0 ? strerror(errno) : "ok");
    printf("size 0: %s\n", shmget(IPC_PRIVATE, 0, IPC_CREAT) < 0 ? strerror(errno) : "ok");
    show_stat("keyed", k);
    printf("unaligned attach: %s\n", shmat(k, (void *) 0x10001, 0) == (void *) -1 ? strerror(errno) : "ok");
    char *r = shmat(k, NULL, 0);
    char *s = shmat(k, NULL, 0);
    r[100] = 'k';
    printf("two attachments alias: %c\n", s[100]);
    struct shmid_ds ds;
    shmctl(k, IPC_STAT, &ds);
    ds.shm_perm.mode = 0604;
    printf("IPC_SET: %d\n", shmctl(k, IPC_SET, &ds));
    show_stat("set", k);
    printf("unknown id: %s\n", shmctl(k + 1000, IPC_STAT, &ds) < 0 ? strerror(errno) : "ok");
    shmdt(r);
    shmdt(s);
    shmctl(k, IPC_RMID, NULL);
    printf("key after IPC_RMID: %s\n", shmget(key, 100, 0) < 0 ? strerror(errno) : "ok");

    /* the direct i386 system calls (shmget 395, shmctl 396, shmat 397, shmdt 398) */
    long d = syscall(395, IPC_PRIVATE, 4096L, IPC_CREAT | 0600);
    long at = syscall(397, d, 0L, 0L);
    printf("direct: get %s, at %s", d >= 0 ? "ok" : strerror(errno), at != -1 ? "ok" : strerror(errno));
    ((char *) at)[0] = 'd';
    long dt = syscall(398, at);
    long rmid = syscall(396, d, IPC_RMID, 0L);
    printf(", dt %ld, rmid %ld\n", dt, rmid);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    anonymous();
    sysv();
    return 0;
}
