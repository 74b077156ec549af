/* Sockets from a guest: TCP client and server on 127.0.0.1 with the test at the other end, UDP echo,
 * AF_UNIX stream within the process (with a descriptor passed by SCM_RIGHTS), socket options, poll and
 * select on sockets, socketcall against direct calls, sockets as ordinary descriptors (fork, dup2, F_DUPFD,
 * close-on-exec, poll beside a pipe), blocking calls interrupted by signals. Prints what it saw; addresses and ports are printed
 * only as facts that do not vary between runs. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what) { printf("%s failed: %s\n", what, strerror(errno)); exit(1); }

static struct sockaddr_in loopback(int port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static void options(int s) {
    int one = 1, value = 0;
    socklen_t len = sizeof value;
    if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) die("setsockopt");
    if (getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &value, &len) < 0) die("getsockopt");
    printf("SO_REUSEADDR=%d len=%d\n", value != 0, (int) len);
    len = sizeof value;
    if (getsockopt(s, SOL_SOCKET, SO_TYPE, &value, &len) < 0) die("getsockopt SO_TYPE");
    printf("SO_TYPE=%d\n", value);
    struct timeval tv = {7, 250000}, back;
    len = sizeof back;
    if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) die("setsockopt SO_RCVTIMEO");
    if (getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &back, &len) < 0) die("getsockopt SO_RCVTIMEO");
    printf("SO_RCVTIMEO=%ld.%06ld len=%d\n", (long) back.tv_sec, (long) back.tv_usec, (int) len);
    int bad = getsockopt(s, SOL_SOCKET, 12345, &value, &len);
    printf("unknown option: %d %s\n", bad, bad < 0 ? strerror(errno) : "");
}

static void client(int port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) die("socket");
    options(s);
    int nodelay = 1;
    if (setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof nodelay) < 0) die("TCP_NODELAY");
    struct sockaddr_in a = loopback(port);
    if (connect(s, (struct sockaddr *) &a, sizeof a) < 0) die("connect");
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    if (getpeername(s, (struct sockaddr *) &peer, &len) < 0) die("getpeername");
    printf("peer family=%d loopback=%d port-matches=%d len=%d\n", peer.sin_family,
           peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK), ntohs(peer.sin_port) == port, (int) len);
    const char *hello = "hello from the guest\n";
    if (send(s, hello, strlen(hello), 0) != (ssize_t) strlen(hello)) die("send");
    struct pollfd p = {s, POLLIN, 0};
    int ready = poll(&p, 1, -1);
    printf("poll=%d revents-in=%d\n", ready, (p.revents & POLLIN) != 0);
    char buffer[256];
    size_t got = 0;
    ssize_t n;
    while ((n = recv(s, buffer + got, sizeof buffer - 1 - got, 0)) > 0) got += n;
    if (n < 0) die("recv");
    buffer[got] = 0;
    printf("client got: %s", buffer);
    if (shutdown(s, SHUT_RDWR) < 0) printf("shutdown after EOF: %s\n", strerror(errno));
    close(s);
}

/* TCP over IPv6 loopback: sockaddr_in6 in and out, and IPV6_V6ONLY */
static void client6(int port) {
    int s = socket(AF_INET6, SOCK_STREAM, 0);
    if (s < 0) die("socket6");
    int only = 1, back = 0;
    socklen_t len = sizeof back;
    if (setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &only, sizeof only) < 0) die("IPV6_V6ONLY");
    getsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &back, &len);
    printf("IPV6_V6ONLY=%d\n", back);
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    a.sin6_addr = in6addr_loopback;
    if (connect(s, (struct sockaddr *) &a, sizeof a) < 0) die("connect6");
    struct sockaddr_in6 me;
    len = sizeof me;
    if (getsockname(s, (struct sockaddr *) &me, &len) < 0) die("getsockname6");
    printf("local family=%d loopback=%d len=%d\n", me.sin6_family, memcmp(&me.sin6_addr, &in6addr_loopback, 16) == 0, (int) len);
    const char *hello = "hello over ipv6\n";
    write(s, hello, strlen(hello));
    char buffer[128] = {0};
    size_t got = 0;
    ssize_t n;
    while ((n = read(s, buffer + got, sizeof buffer - 1 - got)) > 0) got += n;
    printf("client6 got: %s", buffer);
    close(s);
}

static void server(int port) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) die("socket");
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = loopback(port);
    if (bind(s, (struct sockaddr *) &a, sizeof a) < 0) die("bind");
    if (listen(s, 4) < 0) die("listen");
    struct sockaddr_in me;
    socklen_t len = sizeof me;
    if (getsockname(s, (struct sockaddr *) &me, &len) < 0) die("getsockname");
    printf("listening port-matches=%d\n", ntohs(me.sin_port) == port);
    fflush(stdout);
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(s, &readable);
    int ready = select(s + 1, &readable, NULL, NULL, NULL);
    printf("select=%d isset=%d\n", ready, FD_ISSET(s, &readable) != 0);
    struct sockaddr_in from;
    len = sizeof from;
    int c = accept4(s, (struct sockaddr *) &from, &len, SOCK_CLOEXEC);
    if (c < 0) die("accept");
    printf("accepted family=%d loopback=%d len=%d\n", from.sin_family, from.sin_addr.s_addr == htonl(INADDR_LOOPBACK), (int) len);
    char buffer[256];
    ssize_t n = recv(c, buffer, sizeof buffer - 1, 0);
    if (n < 0) die("recv");
    buffer[n] = 0;
    printf("server got: %s", buffer);
    for (ssize_t i = 0; i < n; i++) if (buffer[i] >= 'a' && buffer[i] <= 'z') buffer[i] -= 32;
    if (write(c, buffer, n) != n) die("write");
    close(c);
    close(s);
}

static void udp(int port) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0) die("socket");
    struct sockaddr_in to = loopback(port);
    const char *ping = "ping over udp";
    if (sendto(s, ping, strlen(ping), 0, (struct sockaddr *) &to, sizeof to) != (ssize_t) strlen(ping)) die("sendto");
    char buffer[256];
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(s, buffer, sizeof buffer - 1, 0, (struct sockaddr *) &from, &len);
    if (n < 0) die("recvfrom");
    buffer[n] = 0;
    printf("udp reply: %s from-port-matches=%d\n", buffer, ntohs(from.sin_port) == port);
    /* sendmsg/recvmsg with two iovecs each way */
    struct iovec out[2] = {{"second ", 7}, {"datagram", 8}};
    struct msghdr m = {0};
    m.msg_name = &to;
    m.msg_namelen = sizeof to;
    m.msg_iov = out;
    m.msg_iovlen = 2;
    if (sendmsg(s, &m, 0) != 15) die("sendmsg");
    char a[5], b[64];
    struct iovec in[2] = {{a, 4}, {b, sizeof b - 1}};
    struct msghdr r = {0};
    r.msg_name = &from;
    r.msg_namelen = sizeof from;
    r.msg_iov = in;
    r.msg_iovlen = 2;
    n = recvmsg(s, &r, 0);
    if (n < 0) die("recvmsg");
    a[4] = 0;
    b[n > 4 ? n - 4 : 0] = 0;
    printf("recvmsg %zd: [%s][%s] namelen=%d\n", n, a, b, (int) r.msg_namelen);
    close(s);
}

static void unix_stream(const char *path) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0) die("socket");
    struct sockaddr_un a = {0};
    a.sun_family = AF_UNIX;
    strncpy(a.sun_path, path, sizeof a.sun_path - 1);
    unlink(path);
    if (bind(s, (struct sockaddr *) &a, sizeof a) < 0) die("bind");
    if (listen(s, 1) < 0) die("listen");
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *) &a, sizeof a) < 0) die("connect");
    int d = accept(s, NULL, NULL);
    if (d < 0) die("accept");
    if (write(c, "over unix", 9) != 9) die("write");
    char buffer[32] = {0};
    if (read(d, buffer, sizeof buffer - 1) != 9) die("read");
    printf("unix: %s\n", buffer);
    /* pass a descriptor: one end of a pipe */
    int fds[2];
    if (pipe(fds) < 0) die("pipe");
    char byte = 'x';
    struct iovec iov = {&byte, 1};
    union { struct cmsghdr h; char space[CMSG_SPACE(sizeof(int))]; } control;
    memset(&control, 0, sizeof control);
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control.space;
    m.msg_controllen = sizeof control.space;
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(h), &fds[1], sizeof(int));
    if (sendmsg(c, &m, 0) != 1) die("sendmsg SCM_RIGHTS");
    union { struct cmsghdr h; char space[CMSG_SPACE(sizeof(int))]; } received;
    struct msghdr r = {0};
    char got;
    struct iovec riov = {&got, 1};
    r.msg_iov = &riov;
    r.msg_iovlen = 1;
    r.msg_control = received.space;
    r.msg_controllen = sizeof received.space;
    if (recvmsg(d, &r, 0) != 1) die("recvmsg SCM_RIGHTS");
    struct cmsghdr *rh = CMSG_FIRSTHDR(&r);
    int passed = -1;
    if (rh && rh->cmsg_type == SCM_RIGHTS) memcpy(&passed, CMSG_DATA(rh), sizeof(int));
    printf("passed a descriptor: %d controllen=%d\n", passed >= 0 && passed != fds[1], (int) r.msg_controllen);
    if (passed >= 0 && write(passed, "via passed fd", 13) == 13) {
        char p[32] = {0};
        read(fds[0], p, sizeof p - 1);
        printf("pipe read: %s\n", p);
    }
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) < 0) die("socketpair");
    write(pair[0], "pair", 4);
    char q[8] = {0};
    read(pair[1], q, 4);
    printf("socketpair: %s\n", q);
    /* socketcall(2) directly, as older code does: SYS_SOCKET = 1 */
    unsigned long args[3] = {AF_INET, SOCK_DGRAM, 0};
    long viaSocketcall = syscall(SYS_socketcall, 1, args);
    printf("socketcall socket: %d\n", viaSocketcall >= 0);
    int bad = socket(12345, SOCK_STREAM, 0);
    printf("bad family: %d %s\n", bad, strerror(errno));
    char nothing;
    ssize_t onPipe = recv(fds[0], &nothing, 1, MSG_DONTWAIT);
    printf("recv on a pipe: %zd %s\n", onPipe, strerror(errno));
    unlink(path);
}

/* send on a stream whose peer has gone: EPIPE with MSG_NOSIGNAL, else death by SIGPIPE */
static void sigpipe(void) {
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) < 0) die("socketpair");
    close(pair[1]);
    ssize_t n = send(pair[0], "x", 1, MSG_NOSIGNAL);
    printf("MSG_NOSIGNAL: %zd %s\n", n, strerror(errno));
    send(pair[0], "x", 1, 0);
    printf("still alive\n");
}

/* socket descriptors are ordinary descriptors: SOCK_CLOEXEC is FD_CLOEXEC, dup2 and F_DUPFD copy them,
 * fork inherits them, poll sees a socket and a pipe together; the peer sees EOF after the last close */
static void descriptors(void) {
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) die("socketpair");
    printf("SOCK_CLOEXEC: %d %d\n", fcntl(pair[0], F_GETFD) & FD_CLOEXEC, fcntl(pair[1], F_GETFD) & FD_CLOEXEC);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    printf("plain socket cloexec: %d\n", fcntl(s, F_GETFD) & FD_CLOEXEC);
    close(s);
    int copy = dup2(pair[0], 20);
    printf("dup2: %d cloexec=%d\n", copy, fcntl(copy, F_GETFD) & FD_CLOEXEC);
    close(pair[0]);
    int p[2];
    if (pipe(p) < 0) die("pipe");
    write(p[1], "x", 1);
    struct pollfd two[2] = {{pair[1], POLLIN, 0}, {p[0], POLLIN, 0}};
    int ready = poll(two, 2, 1000);
    printf("poll socket+pipe: %d revents=%d,%d\n", ready, two[0].revents, two[1].revents);
    pid_t child = fork();
    if (child == 0) {
        const char *m = "from child";
        _exit(send(copy, m, strlen(m), 0) == (ssize_t) strlen(m) ? 0 : 1);
    }
    int status;
    waitpid(child, &status, 0);
    char buffer[32] = {0};
    ssize_t n = recv(pair[1], buffer, sizeof buffer - 1, 0);
    printf("child exit=%d parent got %zd: %s\n", WEXITSTATUS(status), n, buffer);
    ready = poll(two, 2, 0);
    printf("poll again: %d revents=%d,%d\n", ready, two[0].revents, two[1].revents);
    int third = fcntl(pair[1], F_DUPFD, 30);
    printf("F_DUPFD: %d\n", third);
    close(copy);
    n = recv(third, buffer, sizeof buffer, 0);
    printf("after the last close of the peer: %zd\n", n);
}

static void on_alarm(int sig) { (void) sig; }

static void alarm_handler(int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = flags;
    sigaction(SIGALRM, &sa, NULL);
}

/* blocking accept, recv, recvfrom, recvmsg and read on sockets end with EINTR when a signal's handler has no
 * SA_RESTART, and carry on (restarted) when it has */
static void interrupted(void) {
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) < 0) die("socketpair");
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(listener, (struct sockaddr *) &a, sizeof a) < 0 || listen(listener, 1) < 0) die("listen");
    alarm_handler(0);
    char buffer[16];
    struct itimerval quick = {{0, 0}, {0, 200000}};
    setitimer(ITIMER_REAL, &quick, NULL);
    int r = accept(listener, NULL, NULL);
    printf("accept: %d %s\n", r, strerror(errno));
    setitimer(ITIMER_REAL, &quick, NULL);
    r = recv(pair[0], buffer, sizeof buffer, 0);
    printf("recv: %d %s\n", r, strerror(errno));
    setitimer(ITIMER_REAL, &quick, NULL);
    r = recvfrom(pair[0], buffer, sizeof buffer, 0, NULL, NULL);
    printf("recvfrom: %d %s\n", r, strerror(errno));
    struct iovec v = {buffer, sizeof buffer};
    struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1};
    setitimer(ITIMER_REAL, &quick, NULL);
    r = recvmsg(pair[0], &m, 0);
    printf("recvmsg: %d %s\n", r, strerror(errno));
    setitimer(ITIMER_REAL, &quick, NULL);
    r = read(pair[0], buffer, sizeof buffer);
    printf("read: %d %s\n", r, strerror(errno));

    alarm_handler(SA_RESTART);
    pid_t child = fork();
    if (child == 0) {
        usleep(500000); /* after the parent's alarm has interrupted its recv */
        send(pair[1], "late", 4, 0);
        _exit(0);
    }
    setitimer(ITIMER_REAL, &quick, NULL);
    memset(buffer, 0, sizeof buffer);
    r = recv(pair[0], buffer, sizeof buffer - 1, 0);
    printf("recv with SA_RESTART: %d %s\n", r, buffer);
    waitpid(child, NULL, 0);
    signal(SIGALRM, SIG_DFL);
}

int main(int argc, char **argv) {
    if (argc < 3) { printf("usage: sockets client|server|udp PORT | unix PATH\n"); return 2; }
    setvbuf(stdout, NULL, _IONBF, 0);
    if (!strcmp(argv[1], "client")) client(atoi(argv[2]));
    else if (!strcmp(argv[1], "server")) server(atoi(argv[2]));
    else if (!strcmp(argv[1], "client6")) client6(atoi(argv[2]));
    else if (!strcmp(argv[1], "udp")) udp(atoi(argv[2]));
    else if (!strcmp(argv[1], "unix")) unix_stream(argv[2]);
    else if (!strcmp(argv[1], "sigpipe")) sigpipe();
    else if (!strcmp(argv[1], "descriptors")) descriptors();
    else if (!strcmp(argv[1], "interrupted")) interrupted();
    return 0;
}
