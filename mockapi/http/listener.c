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

#include <event2/event.h>
#include <event2/listener.h>

#include "mockapi/base/log.h"

struct listener {
    struct evconnlistener *lev;
    struct event *rest; /* re-enables the listener after a failed accept() */
    listener_accept_cb cb;
    void *arg;
    const char *name;
    int port;
    int failing; /* accept() failed and nothing was accepted since: do not log again */
    unsigned long pauses;
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

struct listener *listener_new(struct event_base *base, const struct sockaddr_in *addr, int backlog,
                              listener_accept_cb cb, void *arg, const char *name, char *err,
                              size_t errlen)
{
    struct listener *l = calloc(1, sizeof *l);
    if (!l || !(l->rest = evtimer_new(base, on_rest_over, l))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    l->cb = cb;
    l->arg = arg;
    l->name = name;
    l->lev = evconnlistener_new_bind(base, on_accept, l, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                     backlog, (const struct sockaddr *)addr, sizeof *addr);
    if (!l->lev) {
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &addr->sin_addr, ip, sizeof ip);
        snprintf(err, errlen, "cannot listen on %s:%d: %s", ip, ntohs(addr->sin_port),
                 strerror(errno));
        goto fail;
    }
    evconnlistener_set_error_cb(l->lev, on_accept_error);
    struct sockaddr_in bound;
    socklen_t len = sizeof bound;
    if (getsockname(evconnlistener_get_fd(l->lev), (struct sockaddr *)&bound, &len) < 0) {
        snprintf(err, errlen, "getsockname: %s", strerror(errno));
        goto fail;
    }
    l->port = ntohs(bound.sin_port);
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
    free(l);
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
