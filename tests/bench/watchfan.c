/* watchfan.c -- benchmark driver: N watchers on one watch URL, one change, time to each watcher's
 * event */

/*
 * Built and run by scripts/bench/watch.sh (cc -O2, no dependencies); not part of the CMake build.
 *
 *   watchfan PORT N WATCH_PATH POST_PATH BODY MARKER [SERVER_PID]
 *
 * Opens N keep-alive connections to 127.0.0.1:PORT (at most CONNECT_BATCH connects in flight, so
 * the listen backlog never overflows), sends `GET WATCH_PATH` on each and waits for every 200
 * header. Then it POSTs BODY to POST_PATH on one more connection and times, from just before that
 * request is written, until MARKER shows up on each watch stream. With SERVER_PID it reads that
 * process's VmRSS before the first watcher, with all watchers open, and after the event, and the
 * CPU time it ran during the fan-out. Prints key=value lines (watchers reached, connect time, RSS,
 * fan-out first/p50/p99/last in ms, client and server CPU ms) and, when it could not open all N,
 * `error=` with the reason. Every wait is bounded. Exit 0 when it measured something, 1 when it
 * could not, 2 for bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_BATCH 256     /* connects in flight at once (kubefault listens with backlog 511) */
#define CONNECT_TIMEOUT_S 120 /* to open and start every watch */
#define EVENT_TIMEOUT_S 30    /* from the change to the last watcher's event */
#define CONN_BUF 1024         /* bytes kept per watcher (headers, then a sliding window) */
#define KEEP_TAIL 128         /* bytes kept when the window slides (longer than MARKER) */
#define MAX_WATCHERS 100000

enum state { ST_CONNECTING, ST_HEADERS, ST_WATCHING, ST_DONE, ST_FAILED };

struct watcher {
    int fd;
    enum state st;
    size_t len;
    char buf[CONN_BUF];
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(long pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    if (pid <= 0)
        return -1;
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    if (!(f = fopen(path, "r")))
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

/* The CPU time the process has run, in ms (/proc/PID/schedstat, nanoseconds), or -1: how much of
 * the fan-out the server spent on a CPU, whatever else the machine was running meanwhile. */
static double cpu_ms_of(long pid)
{
    char path[64];
    unsigned long long ns;
    FILE *f;
    int ok;

    if (pid <= 0)
        return -1;
    snprintf(path, sizeof path, "/proc/%ld/schedstat", pid);
    if (!(f = fopen(path, "r")))
        return -1;
    ok = fscanf(f, "%llu", &ns) == 1;
    fclose(f);
    return ok ? ns / 1e6 : -1;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int open_nonblocking(const struct sockaddr_in *sa, int *err)
{
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        *err = errno;
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) < 0 && errno != EINPROGRESS) {
        *err = errno;
        close(fd);
        return -1;
    }
    return fd;
}

/* CPU seconds (user + system) this process has used */
static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* append what is readable to w's window; returns bytes read, 0 on EOF, -1 on error/EAGAIN */
static ssize_t fill(struct watcher *w)
{
    ssize_t r;

    if (w->len + 1 >= CONN_BUF) {
        memmove(w->buf, w->buf + w->len - KEEP_TAIL, KEEP_TAIL);
        w->len = KEEP_TAIL;
    }
    r = read(w->fd, w->buf + w->len, CONN_BUF - 1 - w->len);
    if (r > 0) {
        w->len += (size_t)r;
        w->buf[w->len] = '\0';
    }
    return r;
}

int main(int argc, char **argv)
{
    struct sockaddr_in sa;
    struct watcher *ws = NULL;
    struct epoll_event ev, evs[512];
    struct rlimit rl;
    char req[2048], post[8192];
    const char *marker, *why = NULL;
    long port, n, pid = 0, started = 0, established = 0, failed = 0, done = 0;
    long rss0, rss1 = -1, rss2 = -1;
    double t_start, t_open = 0, t0 = 0, cpu0 = 0, cpu1 = 0, *lat = NULL;
    double server_cpu0 = -1, server_cpu1 = -1;
    int ep = -1, pfd = -1, rc = 1, post_status = 0, err = 0;
    size_t plen = 0;
    char pbuf[4096];

    if (argc < 7 || argc > 8) {
        fprintf(stderr, "usage: watchfan PORT N WATCH_PATH POST_PATH BODY MARKER [SERVER_PID]\n");
        return 2;
    }
    port = strtol(argv[1], NULL, 10);
    n = strtol(argv[2], NULL, 10);
    marker = argv[6];
    if (argc == 8)
        pid = strtol(argv[7], NULL, 10);
    if (port <= 0 || port > 65535 || n <= 0 || n > MAX_WATCHERS || !*marker) {
        fprintf(stderr, "watchfan: bad PORT or N (1..%d) or empty MARKER\n", MAX_WATCHERS);
        return 2;
    }

    /* every watcher is one descriptor: raise the soft limit to the hard one, and say so when
     * even that is too low */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)n + 32 > rl.rlim_cur) {
            n = (long)rl.rlim_cur - 32;
            why = "open-files limit (ulimit -n) of this client";
        }
    }

    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    snprintf(req, sizeof req,
             "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%ld\r\nAccept: application/json\r\n\r\n", argv[3],
             port);
    snprintf(post, sizeof post,
             "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%ld\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             argv[4], port, strlen(argv[5]), argv[5]);

    if (!(ws = calloc((size_t)n, sizeof *ws)) || !(lat = calloc((size_t)n, sizeof *lat)) ||
        (ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        fprintf(stderr, "watchfan: out of memory or epoll: %s\n", strerror(errno));
        goto out;
    }
    rss0 = rss_kb(pid);

    /* phase 1: open every watch, CONNECT_BATCH at a time */
    t_start = now_s();
    while (established + failed < started || started < n) {
        int k;
        while (started < n && started - established - failed < CONNECT_BATCH && !err) {
            struct watcher *w = &ws[started];
            if ((w->fd = open_nonblocking(&sa, &err)) < 0)
                break;
            w->st = ST_CONNECTING;
            ev.events = EPOLLOUT;
            ev.data.ptr = w;
            epoll_ctl(ep, EPOLL_CTL_ADD, w->fd, &ev);
            started++;
        }
        if (err && established + failed == started)
            break;
        if (now_s() - t_start > CONNECT_TIMEOUT_S) {
            why = "timed out opening the watches";
            break;
        }
        k = epoll_wait(ep, evs, 512, 1000);
        for (int i = 0; i < k; i++) {
            struct watcher *w = evs[i].data.ptr;
            if (w->st == ST_CONNECTING) {
                int soerr = 0;
                socklen_t sl = sizeof soerr;
                getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
                if (soerr || write_all(w->fd, req, strlen(req)) < 0) {
                    w->st = ST_FAILED;
                    failed++;
                    epoll_ctl(ep, EPOLL_CTL_DEL, w->fd, NULL);
                    continue;
                }
                w->st = ST_HEADERS;
                ev.events = EPOLLIN;
                ev.data.ptr = w;
                epoll_ctl(ep, EPOLL_CTL_MOD, w->fd, &ev);
            } else if (w->st == ST_HEADERS) {
                ssize_t r = fill(w);
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                    w->st = ST_FAILED;
                    failed++;
                    epoll_ctl(ep, EPOLL_CTL_DEL, w->fd, NULL);
                } else if (strstr(w->buf, "\r\n\r\n")) {
                    if (strncmp(w->buf, "HTTP/1.1 200", 12) != 0) {
                        w->st = ST_FAILED;
                        failed++;
                        epoll_ctl(ep, EPOLL_CTL_DEL, w->fd, NULL);
                        continue;
                    }
                    w->st = ST_WATCHING;
                    established++;
                }
            } else if (w->st == ST_WATCHING) {
                (void)fill(w); /* nothing is expected before the change; keep epoll quiet */
            }
        }
    }
    t_open = now_s() - t_start;
    if (err && !why)
        why = strerror(err);
    if (failed && !why)
        why = "some watches were refused or closed";
    if (established == 0) {
        printf("watchers=0\nerror=%s\n", why ? why : "no watch opened");
        goto out;
    }
    {
        /* let the server settle (its replies are out) before reading its memory */
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    rss1 = rss_kb(pid);

    /* phase 2: one change; time until MARKER reached every open watch */
    /* a blocking connect (loopback: at once), then non-blocking like the watchers */
    if ((pfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        connect(pfd, (const struct sockaddr *)&sa, sizeof sa) < 0 ||
        fcntl(pfd, F_SETFL, O_NONBLOCK) < 0) {
        printf("watchers=%ld\nerror=cannot connect for the change: %s\n", established,
               strerror(errno));
        goto out;
    }
    ev.events = EPOLLIN;
    ev.data.ptr = NULL;
    epoll_ctl(ep, EPOLL_CTL_ADD, pfd, &ev);
    cpu0 = cpu_s();
    server_cpu0 = cpu_ms_of(pid);
    t0 = now_s();
    if (write_all(pfd, post, strlen(post)) < 0) {
        printf("watchers=%ld\nerror=cannot send the change\n", established);
        goto out;
    }
    while (done < established && now_s() - t0 < EVENT_TIMEOUT_S) {
        int k = epoll_wait(ep, evs, 512, 1000);
        double t = now_s() - t0;
        for (int i = 0; i < k; i++) {
            struct watcher *w = evs[i].data.ptr;
            if (!w) {
                ssize_t r = read(pfd, pbuf + plen, sizeof pbuf - 1 - plen);
                if (r > 0) {
                    plen += (size_t)r;
                    pbuf[plen] = '\0';
                    if (!post_status && plen >= 12)
                        post_status = (int)strtol(pbuf + 9, NULL, 10);
                }
                if (r == 0 || plen + 1 >= sizeof pbuf)
                    epoll_ctl(ep, EPOLL_CTL_DEL, pfd, NULL);
                continue;
            }
            if (w->st != ST_WATCHING)
                continue;
            ssize_t r = fill(w);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                w->st = ST_FAILED;
                epoll_ctl(ep, EPOLL_CTL_DEL, w->fd, NULL);
                continue;
            }
            if (strstr(w->buf, marker)) {
                w->st = ST_DONE;
                lat[done++] = t * 1000.0;
                epoll_ctl(ep, EPOLL_CTL_DEL, w->fd, NULL);
            }
        }
    }
    cpu1 = cpu_s();
    server_cpu1 = cpu_ms_of(pid);
    rss2 = rss_kb(pid);

    qsort(lat, (size_t)done, sizeof *lat, cmp_double);
    printf("watchers=%ld\nrequested=%s\nconnect_s=%.3f\n", established, argv[2], t_open);
    printf("rss_before_kb=%ld\nrss_watching_kb=%ld\nrss_after_kb=%ld\n", rss0, rss1, rss2);
    printf("change_status=%d\nevents=%ld\n", post_status, done);
    /* how much of the fan-out this client spent on its own CPU (reading the events) */
    printf("client_cpu_ms=%.1f\n", (cpu1 - cpu0) * 1000.0);
    /* and the server on its own (from the change sent to the last event read) */
    if (server_cpu0 >= 0 && server_cpu1 >= 0)
        printf("server_cpu_ms=%.1f\n", server_cpu1 - server_cpu0);
    if (done > 0)
        printf(
            "fanout_first_ms=%.3f\nfanout_p50_ms=%.3f\nfanout_p99_ms=%.3f\nfanout_last_ms=%.3f\n",
            lat[0], lat[(done - 1) / 2], lat[(done - 1) * 99 / 100], lat[done - 1]);
    if (done < established)
        printf("error=%ld of %ld watchers got no event within %d s\n", established - done,
               established, EVENT_TIMEOUT_S);
    else if (why)
        printf("error=%s\n", why);
    rc = done > 0 ? 0 : 1;
out:
    fflush(stdout);
    /* the descriptors close at exit */
    free(ws);
    free(lat);
    return rc;
}
