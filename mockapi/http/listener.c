/* listener.c -- a listening TCP socket on the event loop, shared by the fake kube-apiserver and the
 * fake GitLab.
 *
 * libevent's evconnlistener does the accepting. What it does not do is survive a failing accept():
 * with EMFILE the connection stays in the kernel's queue, the socket stays readable, and the loop
 * would call accept() again at once, forever, at 100% CPU. Here a failure disables the listener for
 * LISTENER_PAUSE_MS (Go's net/http backs off the same way, from 5 ms to 1 s), logs once per run of
 * failures, and tries again; the clients wait in the kernel's accept queue meanwhile. */
#include "mockapi/http/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "mockapi/base/log.h"

struct listener {
    struct event_base *base;
    struct evconnlistener *lev; /* NULL unless LISTEN_NORMAL */
    struct event *rest;         /* re-enables the listener after a failed accept() */
    listener_accept_cb cb;
    void *arg;
    const char *name;
    struct sockaddr_in addr; /* with the bound port: a closed port reopens on the same number */
    int backlog;
    int port;
    int failing; /* accept() failed and nothing was accepted since: do not log again */
    unsigned long pauses;
    enum listen_mode mode;
    int hole_fd;      /* LISTEN_BLACKHOLE: the listening socket nobody accepts on */
    int hole_fill[2]; /* and our own connections that fill its accept queue */
};

static void on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    (void)lev;
    (void)salen;
    struct listener *l = arg;
    if (l->failing) {
        log_info("%s: accepting connections again", l->name);
        l->failing = 0;
    }
    l->cb(l->arg, fd, sa);
}

static void on_rest_over(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct listener *l = arg;
    if (l->lev)
        evconnlistener_enable(l->lev);
}

static void on_accept_error(struct evconnlistener *lev, void *arg)
{
    struct listener *l = arg;
    int err = errno;
    struct timeval tv = {0, LISTENER_PAUSE_MS * 1000};
    l->pauses++;
    evconnlistener_disable(lev);
    if (evtimer_add(l->rest, &tv) < 0)
        evconnlistener_enable(lev); /* cannot rest: keep trying rather than stop listening */
    if (l->failing)
        return;
    l->failing = 1;
    struct rlimit rl;
    char limit[64] = "";
    if ((err == EMFILE || err == ENFILE) && getrlimit(RLIMIT_NOFILE, &rl) == 0)
        snprintf(limit, sizeof limit, " (open-files limit %llu)", (unsigned long long)rl.rlim_cur);
    log_warn("%s: accept: %s%s: not accepting for %d ms at a time until a connection is accepted "
             "again; clients wait in the kernel's queue",
             l->name, strerror(err), limit, LISTENER_PAUSE_MS);
}

static int open_lev(struct listener *l, char *err, size_t errlen)
{
    l->lev =
        evconnlistener_new_bind(l->base, on_accept, l, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                l->backlog, (const struct sockaddr *)&l->addr, sizeof l->addr);
    if (!l->lev) {
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &l->addr.sin_addr, ip, sizeof ip);
        snprintf(err, errlen, "cannot listen on %s:%d: %s", ip, ntohs(l->addr.sin_port),
                 strerror(errno));
        return -1;
    }
    evconnlistener_set_error_cb(l->lev, on_accept_error);
    return 0;
}

static void close_hole(struct listener *l)
{
    for (int i = 0; i < 2; i++)
        if (l->hole_fill[i] >= 0) {
            close(l->hole_fill[i]);
            l->hole_fill[i] = -1;
        }
    if (l->hole_fd >= 0) {
        close(l->hole_fd);
        l->hole_fd = -1;
    }
}

/* A black hole without root: a socket listening with a backlog of 0 whose accept queue we fill with
 * our own connections and never drain. Linux then drops further SYNs, so clients' connect() times
 * out, as against an address whose packets vanish (failure-catalog.md §3). */
static int open_hole(struct listener *l, char *err, size_t errlen)
{
    int one = 1;
    l->hole_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l->hole_fd < 0 || setsockopt(l->hole_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(l->hole_fd, (struct sockaddr *)&l->addr, sizeof l->addr) < 0 ||
        listen(l->hole_fd, 0) < 0) {
        snprintf(err, errlen, "black-hole listener on port %d: %s", l->port, strerror(errno));
        close_hole(l);
        return -1;
    }
    /* backlog 0 admits one queued connection (two on some kernels); fill both places */
    for (int i = 0; i < 2; i++) {
        l->hole_fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (l->hole_fill[i] >= 0)
            (void)connect(l->hole_fill[i], (struct sockaddr *)&l->addr, sizeof l->addr);
    }
    return 0;
}

struct listener *listener_new(struct event_base *base, const struct sockaddr_in *addr, int backlog,
                              listener_accept_cb cb, void *arg, const char *name, char *err,
                              size_t errlen)
{
    struct listener *l = calloc(1, sizeof *l);
    if (l)
        l->hole_fd = l->hole_fill[0] = l->hole_fill[1] = -1;
    if (!l || !(l->rest = evtimer_new(base, on_rest_over, l))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    l->base = base;
    l->cb = cb;
    l->arg = arg;
    l->name = name;
    l->addr = *addr;
    l->backlog = backlog;
    if (open_lev(l, err, errlen) < 0)
        goto fail;
    struct sockaddr_in bound;
    socklen_t len = sizeof bound;
    if (getsockname(evconnlistener_get_fd(l->lev), (struct sockaddr *)&bound, &len) < 0) {
        snprintf(err, errlen, "getsockname: %s", strerror(errno));
        goto fail;
    }
    l->port = ntohs(bound.sin_port);
    l->addr.sin_port = bound.sin_port;
    return l;
fail:
    listener_free(l);
    return NULL;
}

void listener_free(struct listener *l)
{
    if (!l)
        return;
    if (l->lev)
        evconnlistener_free(l->lev);
    if (l->rest)
        event_free(l->rest);
    close_hole(l);
    free(l);
}

int listener_set_mode(struct listener *l, enum listen_mode mode, char *err, size_t errlen)
{
    if (mode == l->mode)
        return 0;
    if (l->lev) {
        evconnlistener_free(l->lev);
        l->lev = NULL;
    }
    evtimer_del(l->rest);
    l->failing = 0;
    close_hole(l);
    int rc = 0;
    if (mode == LISTEN_NORMAL)
        rc = open_lev(l, err, errlen);
    else if (mode == LISTEN_BLACKHOLE)
        rc = open_hole(l, err, errlen);
    l->mode = rc == 0 ? mode : LISTEN_REFUSE;
    log_info("%s: listener on port %d: %s", l->name, l->port,
             l->mode == LISTEN_NORMAL   ? "accepting"
             : l->mode == LISTEN_REFUSE ? "closed (connection refused)"
                                        : "black hole (connect times out)");
    return rc;
}

enum listen_mode listener_mode(const struct listener *l)
{
    return l->mode;
}

int listener_port(const struct listener *l)
{
    return l->port;
}

unsigned long listener_pauses(const struct listener *l)
{
    return l->pauses;
}

int listener_adopt(int fd, struct sockaddr_storage *peer)
{
    socklen_t len = sizeof *peer;
    memset(peer, 0, sizeof *peer);
    if (getpeername(fd, (struct sockaddr *)peer, &len) < 0)
        peer->ss_family = AF_UNSPEC;
    if (evutil_make_socket_nonblocking(fd) < 0) {
        evutil_closesocket(fd);
        return -1;
    }
    return 0;
}
