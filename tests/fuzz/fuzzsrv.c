/* fuzzsrv.c -- one fuzz input as a client conversation with an in-process server over a
 * socketpair: chunks, settling loop turns, quiet logs (see fuzzsrv.h) */
#include "fuzzsrv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "mockapi/base/log.h"
#include "mockapi/server.h"

static int echo; /* KF_FUZZ_ECHO=1: copy the server's bytes to stderr (writing seeds) */

void fz_quiet(void)
{
    static int done;
    if (!done) {
        const char *e = getenv("KF_FUZZ_ECHO");
        echo = e && strcmp(e, "1") == 0;
        log_set_level(echo ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR);
        done = 1;
    }
}

/* Read and drop what the server wrote. The number of bytes read. */
static size_t drain(int fd)
{
    char buf[16384];
    size_t total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) {
            total += (size_t)n;
            if (echo)
                fwrite(buf, 1, (size_t)n, stderr);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return total;
    }
}

/* Turn the loop until FZ_IDLE_TURNS turns in a row moved no byte (or FZ_MAX_TURNS passed),
 * writing what is left of out (*off onwards) as the socket takes it. */
static void settle(struct event_base *base, int fd, const uint8_t *out, size_t len, size_t *off)
{
    int idle = 0;
    for (int turn = 0; turn < FZ_MAX_TURNS && idle < FZ_IDLE_TURNS; turn++) {
        size_t moved = 0;
        while (fd >= 0 && *off < len) {
            ssize_t n = send(fd, out + *off, len - *off, MSG_NOSIGNAL);
            if (n <= 0)
                break; /* full (EAGAIN) or the server went away (EPIPE): later, or never */
            *off += (size_t)n;
            moved += (size_t)n;
        }
        event_base_loop(base, EVLOOP_NONBLOCK);
        if (fd >= 0)
            moved += drain(fd);
        idle = moved ? 0 : idle + 1;
    }
}

/* The first FZ_PAUSE in p[0..n), or NULL (memmem is a GNU extension). */
static const uint8_t *find_pause(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + FZ_PAUSE_LEN <= n; i++)
        if (p[i] == FZ_PAUSE[0] && memcmp(p + i, FZ_PAUSE, FZ_PAUSE_LEN) == 0)
            return p + i;
    return NULL;
}

/* The next chunk of data[*pos..len): up to FZ_PAUSE (dropped), or everything when it is the last
 * chunk allowed. */
static size_t next_chunk(const uint8_t *data, size_t len, size_t *pos, int last)
{
    const uint8_t *start = data + *pos;
    size_t rest = len - *pos;
    const uint8_t *p = last ? NULL : find_pause(start, rest);
    size_t n = p ? (size_t)(p - start) : rest;
    *pos += p ? n + FZ_PAUSE_LEN : n;
    return n;
}

int fz_converse(struct event_base *base, fz_serve_fn serve, void *server, const uint8_t *data,
                size_t len, int pauses)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0 || serve(server, sv[1]) < 0) {
        close(sv[0]);
        return -1; /* serve closed sv[1] */
    }
    size_t pos = 0;
    for (int chunk = 0; chunk < FZ_MAX_CHUNKS && (chunk == 0 || pos < len); chunk++) {
        size_t start = pos;
        size_t n = next_chunk(data, len, &pos, !pauses || chunk == FZ_MAX_CHUNKS - 1);
        size_t off = 0;
        settle(base, sv[0], data + start, n, &off);
    }
    close(sv[0]);
    size_t none = 0;
    settle(base, -1, NULL, 0, &none); /* the server sees the client's close */
    return 0;
}

static int serve_kube(void *server, int fd)
{
    return mockapi_server_serve_fd(server, fd);
}

void fz_kube_converse(const char *target, const uint8_t *data, size_t len, int pauses)
{
    char err[256];
    struct event_base *base = event_base_new();
    struct mockapi_server_opts o = {
        .bind_addr = "127.0.0.1",
        .plain_http = 1,
        .seed = 1,
        .cluster = {.schedule_delay_ms = 0, .start_delay_ms = 0, .terminate_delay_ms = 0},
    };
    struct mockapi_server *s = base ? mockapi_server_new(base, &o, err, sizeof err) : NULL;
    if (!s) {
        fprintf(stderr, "%s: cannot start the server: %s\n", target, base ? err : "no event base");
        abort();
    }
    if (fz_converse(base, serve_kube, s, data, len, pauses) < 0) {
        fprintf(stderr, "%s: socketpair failed\n", target);
        abort();
    }
    mockapi_server_free(s);
    event_base_free(base);
}
