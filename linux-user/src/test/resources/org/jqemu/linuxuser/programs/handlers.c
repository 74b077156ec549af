/* Signal handlers: faults caught with siginfo and longjmp, handlers that return (sigreturn), masks, SA_RESETHAND. */
#define _GNU_SOURCE
#include <signal.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>
static sigjmp_buf env;
static volatile int count;
static void info_handler(int sig, siginfo_t *si, void *uc_) {
    ucontext_t *uc = uc_;
    printf("handler sig=%d code=%d addr=%p err=%x\n", sig, si->si_code,
           (sig == SIGSEGV || sig == SIGBUS) ? si->si_addr : (void *) 0,
           (unsigned) uc->uc_mcontext.gregs[REG_ERR]);
    siglongjmp(env, 1);
}
static void plain_handler(int sig) { count += sig; }
static char alt[16384];
static void alt_handler(int sig) {
    char here;
    printf("alt handler %d on the alternate stack: %d\n", sig, &here >= alt && &here < alt + sizeof alt);
}
static void returning_handler(int sig, siginfo_t *si, void *uc) { count += 100; printf("in handler %d code=%d\n", sig, si->si_code); }
int main(void) {
    setvbuf(stdout, 0, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = info_handler;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, 0); sigaction(SIGFPE, &sa, 0); sigaction(SIGILL, &sa, 0); sigaction(SIGTRAP, &sa, 0);
    volatile int zero = 0;
    if (!sigsetjmp(env, 1)) *(volatile int *) 0x10 = 1;
    if (!sigsetjmp(env, 1)) printf("%d\n", 5 / zero);
    if (!sigsetjmp(env, 1)) __asm__ volatile("ud2");
    if (!sigsetjmp(env, 1)) __asm__ volatile("int3");
    if (!sigsetjmp(env, 1)) __asm__ volatile("int $0x42");
    if (!sigsetjmp(env, 1)) __asm__ volatile("hlt");
    if (!sigsetjmp(env, 1)) *(volatile char *) main = 1; /* write to text: SEGV_ACCERR */
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0};
    printf("sigaltstack %d\n", sigaltstack(&ss, 0));
    struct sigaction onstack;
    memset(&onstack, 0, sizeof onstack);
    onstack.sa_handler = alt_handler;
    onstack.sa_flags = SA_ONSTACK;
    sigaction(SIGHUP, &onstack, 0);
    raise(SIGHUP);
    stack_t old;
    sigaltstack(0, &old);
    printf("old stack ok %d flags %d\n", old.ss_sp == alt && old.ss_size == sizeof alt, old.ss_flags);
    ss.ss_size = 100;
    printf("tiny stack %d\n", sigaltstack(&ss, 0));
    signal(SIGUSR1, plain_handler);
    raise(SIGUSR1); raise(SIGUSR1);
    printf("count=%d\n", count);
    sa.sa_sigaction = returning_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
    sigaction(SIGUSR2, &sa, 0);
    int x = 7;
    raise(SIGUSR2);
    printf("count=%d x=%d\n", count, x);
    sigset_t set; sigemptyset(&set); sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, 0);
    raise(SIGUSR1);
    printf("blocked count=%d\n", count);
    sigprocmask(SIG_UNBLOCK, &set, 0);
    printf("unblocked count=%d\n", count);
    raise(SIGUSR2); /* reset to default by SA_RESETHAND: terminates */
    printf("not reached\n");
    return 0;
}
