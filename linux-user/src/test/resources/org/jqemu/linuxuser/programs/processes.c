/* Process, thread, pipe and futex semantics, printed step by step; compared with qemu-i386 (binfmt oracle). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t sigchld_count, sigpipe_count, usr1_count;
static void on_chld(int s) { (void) s; sigchld_count++; }
static void on_pipe(int s) { (void) s; sigpipe_count++; }
static void on_usr1(int s) { (void) s; usr1_count++; }

static void status(const char *what, int st) {
    if (WIFEXITED(st)) printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) printf("%s: killed by %d\n", what, WTERMSIG(st));
    else printf("%s: other 0x%x\n", what, st);
}

static int futex_word;
static void *futex_waker(void *arg) {
    (void) arg;
    usleep(50000);
    __atomic_store_n(&futex_word, 1, __ATOMIC_SEQ_CST);
    long woken = syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    return (void *) woken;
}

static void *outlive_main(void *arg) {
    (void) arg;
    usleep(50000);
    printf("thread outlives main, ends the process with exit(5)\n");
    exit(5);
}

static __thread int tls_value = 7;
static void *thread_tls(void *arg) {
    tls_value = (int) (long) arg;
    return (void *) (long) (tls_value * 2);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "fdcheck") == 0) {
        /* after exec: descriptor 5 was close-on-exec, 6 was not */
        printf("exec child: fd5 %s, fd6 %s\n", fcntl(5, F_GETFD) < 0 ? "closed" : "open",
               fcntl(6, F_GETFD) < 0 ? "closed" : "open");
        return 3;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    int st;

    /* exit statuses and signals through wait4 */
    pid_t p = fork();
    if (p == 0) _exit(42);
    waitpid(p, &st, 0); status("exit 42", st);
    p = fork();
    if (p == 0) { pause(); _exit(0); }
    kill(p, SIGTERM); waitpid(p, &st, 0); status("SIGTERM", st);
    p = fork();
    if (p == 0) { *(volatile int *) 0 = 1; _exit(0); }
    waitpid(p, &st, 0); status("NULL write", st);
    int r0 = waitpid(-1, &st, WNOHANG), e0 = errno;
    printf("WNOHANG without children: %d errno %d\n", r0, e0);
    p = fork();
    if (p == 0) { usleep(100000); _exit(1); }
    printf("WNOHANG before exit: %d\n", waitpid(p, &st, WNOHANG));
    siginfo_t si; memset(&si, 0, sizeof si);
    waitid(P_PID, p, &si, WEXITED);
    printf("waitid: code %d status %d pid ok %d\n", si.si_code, si.si_status, si.si_pid == p);

    /* SIGCHLD */
    signal(SIGCHLD, on_chld);
    p = fork();
    if (p == 0) _exit(0);
    while (waitpid(p, &st, 0) < 0 && errno == EINTR) { }
    printf("SIGCHLD seen: %d\n", sigchld_count > 0);
    signal(SIGCHLD, SIG_DFL);

    /* pipes: EOF, EPIPE + SIGPIPE, O_NONBLOCK, dup2 across fork */
    int fds[2];
    pipe(fds);
    p = fork();
    if (p == 0) {
        close(fds[0]);
        dup2(fds[1], 1);
        close(fds[1]);
        printf("through the pipe\n");
        _exit(0);
    }
    close(fds[1]);
    char buf[256]; int n, total = 0;
    while ((n = read(fds[0], buf + total, sizeof buf - total - 1)) > 0) total += n;
    buf[total] = 0;
    printf("read %d bytes then %d: %s", total, n, buf);
    close(fds[0]);
    waitpid(p, &st, 0);

    signal(SIGPIPE, on_pipe);
    pipe(fds); close(fds[0]);
    n = write(fds[1], "x", 1);
    int e1 = errno;
    printf("write to reader-less pipe: %d errno %d sigpipe %d\n", n, e1, sigpipe_count);
    close(fds[1]);

    pipe2(fds, O_NONBLOCK);
    n = read(fds[0], buf, 1);
    int e2 = errno;
    printf("empty nonblocking read: %d errno %d\n", n, e2);
    int written = 0;
    while ((n = write(fds[1], buf, sizeof buf)) > 0) written += n;
    printf("nonblocking pipe filled with %d bytes, then errno %d\n", written, errno);
    struct pollfd pf[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLOUT, 0}};
    int polled = poll(pf, 2, 0);
    printf("poll: %d revents %x %x\n", polled, pf[0].revents, pf[1].revents);
    close(fds[0]); close(fds[1]);

    pipe(fds);
    fd_set rs; FD_ZERO(&rs); FD_SET(fds[0], &rs);
    struct timeval tv = {0, 20000};
    printf("select on empty pipe: %d\n", select(fds[0] + 1, &rs, NULL, NULL, &tv));
    p = fork();
    if (p == 0) { usleep(30000); write(fds[1], "y", 1); _exit(0); }
    FD_ZERO(&rs); FD_SET(fds[0], &rs);
    int selected = select(fds[0] + 1, &rs, NULL, NULL, NULL);
    printf("select after child write: %d ready %d\n", selected, FD_ISSET(fds[0], &rs));
    waitpid(p, &st, 0);
    close(fds[0]); close(fds[1]);

    /* close-on-exec across execve, vfork */
    int a = open("/dev/null", O_RDONLY | O_CLOEXEC), b = open("/dev/null", O_RDONLY);
    dup2(a, 5); fcntl(5, F_SETFD, FD_CLOEXEC); dup2(b, 6);
    p = vfork();
    if (p == 0) { execl("/proc/self/exe", argv[0], "fdcheck", (char *) NULL); _exit(127); }
    waitpid(p, &st, 0); status("exec child", st);

    /* process groups and sessions */
    p = fork();
    if (p == 0) {
        pid_t me = getpid();
        int sp = setpgid(0, 0);
        printf("child: setpgid %d, pgid is self %d\n", sp, getpgid(0) == me);
        int ss = setsid(), e3 = errno;
        printf("child: setsid as group leader %d errno %d\n", ss, e3);
        _exit(0);
    }
    waitpid(p, &st, 0);
    p = fork();
    if (p == 0) {
        pid_t s = setsid();
        int sid_self = getsid(0) == getpid(), pgrp_self = getpgrp() == getpid();
        printf("child: setsid ok %d, sid is self %d, pgid is self %d\n", s == getpid(), sid_self, pgrp_self);
        _exit(0);
    }
    waitpid(p, &st, 0);

    /* kill between processes, tgkill to a thread */
    signal(SIGUSR1, on_usr1);
    p = fork();
    if (p == 0) { kill(getppid(), SIGUSR1); _exit(0); }
    waitpid(p, &st, 0);
    printf("USR1 from child: %d\n", usr1_count);
    int k = kill(999999, 0), e4 = errno;
    printf("kill(nonexistent): %d errno %d\n", k, e4);

    /* sigtimedwait on a blocked signal sent by a child; then a time-out */
    sigset_t set; sigemptyset(&set); sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    p = fork();
    if (p == 0) { kill(getppid(), SIGUSR2); _exit(0); }
    siginfo_t wi;
    int got = sigwaitinfo(&set, &wi);
    printf("sigwaitinfo: %d from child %d code %d\n", got, wi.si_pid == p, wi.si_code);
    waitpid(p, &st, 0);
    struct timespec short_wait = {0, 20000000};
    got = sigtimedwait(&set, &wi, &short_wait);
    int e7 = errno;
    printf("sigtimedwait time-out: %d errno %d\n", got, e7);

    /* threads: futex wait/wake, TLS, join through CLONE_CHILD_CLEARTID */
    pthread_t t;
    pthread_create(&t, NULL, futex_waker, NULL);
    long r = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    void *woken;
    pthread_join(t, &woken);
    printf("futex wait: %ld (or EAGAIN if late), waker woke %ld\n", r == -1 && errno == EAGAIN ? 0 : r, (long) woken >= 0 ? 1L : -1L);
    struct timespec ts = {0, 30000000};
    r = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 1, &ts, NULL, 0);
    int e5 = errno;
    printf("futex timeout: %ld errno %d\n", r, e5);
    r = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 5, &ts, NULL, 0);
    int e6 = errno;
    printf("futex wrong value: %ld errno %d\n", r, e6);
    void *res;
    pthread_create(&t, NULL, thread_tls, (void *) 21L);
    pthread_join(t, &res);
    printf("thread TLS: result %ld, main's TLS still %d\n", (long) res, tls_value);

    /* exit vs exit_group: main's pthread_exit (exit) leaves the process to the other thread, whose exit() (exit_group) ends it */
    printf("done\n");
    pthread_create(&t, NULL, outlive_main, NULL);
    pthread_exit(NULL);
}
