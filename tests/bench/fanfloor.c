/* fanfloor.c -- benchmark driver: what the kernel alone costs to send one small message to each of
 * N loopback TCP connections, with the readers waiting in epoll in another process */

/*
 * Built and run by scripts/bench/watch.sh (cc -O2, no dependencies); not part of the CMake build.
 *
 *   fanfloor N BYTES
 *
 * The floor under the watch fan-out benchmark: kubefault's fan-out writes one event to every
 * watcher's socket, and on loopback the kernel delivers each segment and wakes the reader inside
 * that write. Here one process holds the N server ends and does nothing but write(BYTES) to each,
 * in a loop, while a child process holds the N client ends, waits on them in epoll (as
 * tests/bench/watchfan.c does) and reads until every one has its bytes. Prints key=value lines:
 * write_loop_ms (the N writes), last_read_ms (from the first write until the reader has all N), and
 * error= when it could not open N connections. Every wait is bounded. Exit 0 measured, 1 not, 2
 * usage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_N 100000
#define READ_TIMEOUT_MS 30000 /* the reader gives up when nothing arrives for this long */

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* The child: open the N client ends, wait on them in epoll, read until each has had its bytes;
 * report the time (-1: not all arrived, or the connections could not be opened). */
static int reader(const struct sockaddr_in *a, int n, int ready_fd, int done_fd)
{
    int ep = epoll_create1(0);
    if (ep < 0)
        return 1;
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (const struct sockaddr *)a, sizeof *a) < 0) {
            fprintf(stderr, "fanfloor: client connection %d: %s\n", i + 1, strerror(errno));
            return 1;
        }
        struct epoll_event e = {.events = EPOLLIN, .data.fd = fd};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0)
            return 1;
    }
    if (write(ready_fd, "r", 1) != 1)
        return 1;
    int got = 0;
    char buf[4096];
    struct epoll_event ev[256];
    while (got < n) {
        int m = epoll_wait(ep, ev, 256, READ_TIMEOUT_MS);
        if (m <= 0)
            break;
        for (int j = 0; j < m; j++)
            if (read(ev[j].data.fd, buf, sizeof buf) > 0)
                got++;
    }
    double t = got < n ? -1 : now_ms();
    return write(done_fd, &t, sizeof t) == (ssize_t)sizeof t ? 0 : 1;
}

/* A decimal count, or -1 when s is not one. */
static long number(const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    return errno || end == s || *end ? -1 : v;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fanfloor N BYTES\n");
        return 2;
    }
    long ln = number(argv[1]), lb = number(argv[2]);
    if (ln < 1 || ln > MAX_N || lb < 1 || lb > 65536) {
        fprintf(stderr, "fanfloor: N is 1..%d, BYTES 1..65536\n", MAX_N);
        return 2;
    }
    int n = (int)ln, bytes = (int)lb;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 4096) < 0 ||
        getsockname(l, (struct sockaddr *)&a, &al) < 0) {
        printf("error=listen: %s\n", strerror(errno));
        return 1;
    }
    /* the child opens the client ends, this process accepts the server ends: N descriptors each */
    int *sv = calloc((size_t)n, sizeof *sv), ready[2], done[2];
    if (!sv || pipe(ready) < 0 || pipe(done) < 0)
        return 1;
    pid_t kid = fork();
    if (kid < 0)
        return 1;
    if (kid == 0) {
        close(l);
        _exit(reader(&a, n, ready[1], done[1]));
    }
    close(ready[1]);
    for (int i = 0; i < n; i++) {
        int one = 1;
        if ((sv[i] = accept(l, NULL, NULL)) < 0) {
            printf("connections=%d\nerror=accept %d: %s\n", i, i + 1, strerror(errno));
            kill(kid, SIGKILL);
            return 1;
        }
        setsockopt(sv[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    char c;
    if (read(ready[0], &c, 1) != 1) {
        printf("error=the reader did not start\n");
        return 1;
    }
    usleep(200 * 1000); /* let the reader settle into epoll_wait */
    char *msg = malloc((size_t)bytes);
    if (!msg)
        return 1;
    memset(msg, 'x', (size_t)bytes);
    msg[bytes - 1] = '\n';
    double t0 = now_ms();
    for (int i = 0; i < n; i++)
        if (write(sv[i], msg, (size_t)bytes) != bytes) {
            printf("error=write %d: %s\n", i + 1, strerror(errno));
            return 1;
        }
    double t1 = now_ms(), t2 = -1;
    if (read(done[0], &t2, sizeof t2) != (ssize_t)sizeof t2)
        t2 = -1;
    waitpid(kid, NULL, 0);
    printf("connections=%d\nbytes=%d\nwrite_loop_ms=%.1f\n", n, bytes, t1 - t0);
    if (t2 < 0) {
        printf("error=the reader did not get every message\n");
        return 1;
    }
    printf("last_read_ms=%.1f\n", t2 - t0);
    return 0;
}
