/*
 * Job control between processes: SIGSTOP, SIGTSTP, SIGTTIN stop a child (default action), SIGCONT continues
 * it, wait4 reports both with WUNTRACED and WCONTINUED (and waitid with WSTOPPED/WCONTINUED), the parent's
 * SIGCHLD carries CLD_STOPPED/CLD_CONTINUED unless SA_NOCLDSTOP, a stopped child does not run, a read
 * interrupted by a stop carries on after SIGCONT; the x87 state survives fork. The oracle is the host
 * kernel: the same source built for x86_64 and run natively (qemu-i386 reports stops to a parent that asked
 * for none with SA_NOCLDSTOP, its host handler's flags not being the guest's).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void on_chld(int sig, siginfo_t *info, void *context)
{
    (void) sig;
    (void) info;
    (void) context;
}

static void nap(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static void describe(const char *what, int status)
{
    if (WIFSTOPPED(status)) {
        printf("%s: stopped by %d\n", what, WSTOPSIG(status));
    } else if (WIFCONTINUED(status)) {
        printf("%s: continued\n", what);
    } else if (WIFSIGNALED(status)) {
        printf("%s: killed by %d\n", what, WTERMSIG(status));
    } else {
        printf("%s: exited %d\n", what, WEXITSTATUS(status));
    }
}

static void wait_and_describe(pid_t pid, int options, const char *what)
{
    int status;
    pid_t r = waitpid(pid, &status, options);
    if (r != pid) {
        printf("%s: waitpid returned %d (%s)\n", what, (int) r, r < 0 ? strerror(errno) : "none");
        return;
    }
    describe(what, status);
}

static void stop_and_continue(void)
{
    volatile unsigned *counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t pid = fork();
    if (pid == 0) {
        for (;;) {
            (*counter)++;
        }
    }
    while (*counter == 0) {
        nap(1);
    }
    kill(pid, SIGSTOP);
    wait_and_describe(pid, WUNTRACED, "SIGSTOP");
    unsigned before = *counter;
    nap(200);
    printf("a stopped child does not run: %d\n", *counter == before);
    int status;
    printf("stop reported once: %d\n", waitpid(pid, &status, WUNTRACED | WNOHANG));
    kill(pid, SIGCONT);
    wait_and_describe(pid, WCONTINUED, "SIGCONT");
    before = *counter;
    nap(200);
    printf("it runs again: %d\n", *counter != before);
    kill(pid, SIGSTOP);
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    waitid(P_PID, pid, &info, WSTOPPED);
    printf("waitid: code %s status %d pid ok %d\n", info.si_code == CLD_STOPPED ? "CLD_STOPPED" : "other",
           info.si_status, info.si_pid == pid);
    kill(pid, SIGCONT);
    memset(&info, 0, sizeof(info));
    waitid(P_PID, pid, &info, WCONTINUED);
    printf("waitid: code %s status %d\n", info.si_code == CLD_CONTINUED ? "CLD_CONTINUED" : "other", info.si_status);
    kill(pid, SIGSTOP);
    wait_and_describe(pid, WUNTRACED, "stopped again");
    kill(pid, SIGKILL);
    wait_and_describe(pid, 0, "SIGKILL while stopped");
    munmap((void *) counter, 4096);
}

static void self_stop(int sig)
{
    int fds[2];
    pipe(fds);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        setpgid(0, 0); /* not an orphaned process group, where the kernel would discard SIGTSTP and SIGTTIN */
        raise(sig);
        write(fds[1], "resumed", 7);
        _exit(3);
    }
    close(fds[1]);
    char what[32];
    snprintf(what, sizeof(what), "raise(%d)", sig);
    wait_and_describe(pid, WUNTRACED, what);
    kill(pid, SIGCONT);
    char buf[16] = {0};
    read(fds[0], buf, sizeof(buf) - 1);
    printf("child says %s\n", buf);
    wait_and_describe(pid, 0, "then");
    close(fds[0]);
}

static int cont_pipe;

static void on_cont(int sig)
{
    (void) sig;
    write(cont_pipe, "H", 1);
}

static void read_survives_stop(void)
{
    int data[2], notes[2];
    pipe(data);
    pipe(notes);
    pid_t pid = fork();
    if (pid == 0) {
        cont_pipe = notes[1];
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_cont;
        sa.sa_flags = SA_RESTART;
        sigaction(SIGCONT, &sa, NULL);
        char buf[16] = {0};
        ssize_t n = read(data[0], buf, sizeof(buf) - 1);
        char line[64];
        int len = snprintf(line, sizeof(line), "R%d:%s", (int) n, n < 0 ? strerror(errno) : buf);
        write(notes[1], line, len);
        _exit(0);
    }
    nap(100);
    kill(pid, SIGSTOP);
    wait_and_describe(pid, WUNTRACED, "reader");
    kill(pid, SIGCONT);
    wait_and_describe(pid, WCONTINUED, "reader");
    nap(100);
    write(data[1], "data", 4);
    wait_and_describe(pid, 0, "reader");
    char buf[64] = {0};
    read(notes[0], buf, sizeof(buf) - 1);
    printf("reader notes: %s\n", buf);
}

/* The SIGCHLD that came (blocked, so each is taken in turn): its si_code, or 0 when none came in time. */
static int next_sigchld(int ms)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    struct timespec timeout = {ms / 1000, (ms % 1000) * 1000000L};
    siginfo_t info;
    return sigtimedwait(&set, &info, &timeout) == SIGCHLD ? info.si_code : 0;
}

static void sigchld_codes(int flags, const char *what)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | flags;
    sigaction(SIGCHLD, &sa, NULL);
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, &old);
    int expect_ms = flags ? 100 : 2000;
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0); /* not an orphaned process group, where the kernel would discard SIGTTIN */
        for (;;) {
            pause();
        }
    }
    setpgid(pid, pid);
    kill(pid, SIGTTIN);
    wait_and_describe(pid, WUNTRACED, what);
    int stopped = next_sigchld(expect_ms);
    kill(pid, SIGCONT);
    wait_and_describe(pid, WCONTINUED, what);
    int continued = next_sigchld(expect_ms);
    kill(pid, SIGTERM);
    wait_and_describe(pid, 0, what);
    int killed = next_sigchld(2000);
    printf("%s: SIGCHLD codes %d %d %d\n", what, stopped, continued, killed);
    sigprocmask(SIG_SETMASK, &old, NULL);
    signal(SIGCHLD, SIG_DFL);
}

static void fpu_across_fork(void)
{
    volatile double x = 1.0 / 3.0;
    double y;
    unsigned short cw = 0x0c7f, cw_after = 0; /* round toward zero, all exceptions masked */
    /* leave a value in x87 ST0 and a changed control word across the fork system call itself (built for
       x86_64 as well, the oracle) */
#ifdef __i386__
    __asm__ volatile("fldcw %3\n\t"
                     "fldl %1\n\t"
                     "movl $2, %%eax\n\t"   /* fork */
                     "int $0x80\n\t"
                     "fstpl %0\n\t"
                     "fnstcw %2\n\t"
                     : "=m"(y), "+m"(x), "=m"(cw_after)
                     : "m"(cw)
                     : "eax", "memory");
#else
    __asm__ volatile("fldcw %3\n\t"
                     "fldl %1\n\t"
                     "movl $57, %%eax\n\t"  /* fork */
                     "syscall\n\t"
                     "fstpl %0\n\t"
                     "fnstcw %2\n\t"
                     : "=m"(y), "+m"(x), "=m"(cw_after)
                     : "m"(cw)
                     : "rax", "rcx", "r11", "memory");
#endif
    printf("x87 register and control word kept: %d %d\n", y == x, cw_after == cw);
    fflush(stdout);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    stop_and_continue();
    self_stop(SIGTSTP);
    self_stop(SIGSTOP);
    read_survives_stop();
    sigchld_codes(0, "SIGTTIN");
    sigchld_codes(SA_NOCLDSTOP, "with SA_NOCLDSTOP");
    pid_t parent = getpid();
    fpu_across_fork();
    if (getpid() != parent) {
        _exit(0);
    }
    wait(NULL);
    return 0;
}
