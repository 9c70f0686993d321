/* watch_stall.c -- the `watch-stall` fault: after "afterEvents" events of a watch, nothing more
 * arrives while the connection stays open: for good, or for "for" and then everything withheld
 * arrives at once, in order.
 *
 * For good, the stream's bytes are dropped from then on (shape_silence). For a while, they are
 * held where watch.c wrote them, in the connection's staged buffer, by an egress filter that moves
 * nothing until its timer fires; at most STALL_MAX_HELD bytes, past which the stream is cut. The
 * timer must not outlive the connection, and conn.h tells a filter nothing when its connection is
 * freed, so (as drip.c does) the held bytes begin with a reference chain we own: libevent calls
 * its cleanup when the chain is drained or the buffer freed. A cleanup we did not cause means the
 * connection dropped our bytes: the timer is cancelled and the hold freed when its chain goes.
 * The timer is armed only once that chain exists. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "harness/diag.h"
#include "harness/fault.h"
#include "harness/faults/param.h"
#include "harness/faults/shape.h"
#include "harness/faults/wstate.h"
#include "mockapi/base/log.h"
#include "mockapi/http/conn.h"
#include "mockapi/kube/watch.h"

#define STALL_MAX_AFTER 1000000000L
#define STALL_MAX_HELD (4u << 20) /* bytes withheld from one watch before it is cut; below */
                                  /* WATCH_MAX_PENDING_BYTES, so ours trips first */
#define STALL_COPY_CHUNK 16384

static const char *const keys[] = {"afterEvents", "for", NULL};

struct stall {
    uint64_t after;
    int64_t for_ms; /* -1: for good */
    struct wstate ws;
};

/* One watch's withheld bytes. */
struct hold {
    struct conn *c;
    struct event *timer;
    int64_t for_ms;
    int refs;    /* our reference chains alive in the connection's staged buffer (0 or 1) */
    int self;    /* we are draining our own chain */
    int retired; /* the connection dropped our chain: free when it goes */
    int armed;   /* the timer was set (once our chain was in staged) */
    int go;      /* the time is up: release on the next run of the filter */
    struct event_base *base;
};

static int parse(const cJSON *spec, const char *path, struct diag *d, void **ctx)
{
    long after = 0;
    int64_t for_ms = -1;
    int bad = param_check_keys(spec, path, keys, d) < 0;
    bad |= param_int(spec, path, "afterEvents", 0, 0, STALL_MAX_AFTER, &after, d) < 0;
    bad |= param_duration(spec, path, "for", 0, &for_ms, d) < 0;
    if (bad)
        return -1;
    struct stall *s = calloc(1, sizeof *s);
    if (!s) {
        diag_path(d, path, "out of memory");
        return -1;
    }
    s->after = (uint64_t)after;
    s->for_ms = for_ms;
    *ctx = s;
    return 0;
}

static void free_ctx(void *ctx)
{
    struct stall *s = ctx;
    if (!s)
        return;
    wstate_release(&s->ws);
    free(s);
}

static void hold_free(struct hold *h)
{
    if (h->timer)
        event_free(h->timer);
    free(h);
}

static void on_chain_gone(const void *data, size_t len, void *arg)
{
    (void)len;
    struct hold *h = arg;
    free((void *)data);
    h->refs--;
    if (!h->self && !h->retired) {
        /* the connection dropped our bytes: it is being freed (or another filter took over) */
        h->retired = 1;
        event_del(h->timer);
    }
    if (h->retired && h->refs == 0)
        hold_free(h);
}

/* Make the front of staged a reference chain of ours (a copy of all of staged), so the end of the
 * connection reaches us. 0, or -1 when out of memory. */
static int pin(struct hold *h, struct evbuffer *staged)
{
    size_t len = evbuffer_get_length(staged);
    unsigned char *block = NULL;
    if (h->refs > 0 || len == 0)
        return 0;
    if (!(block = malloc(len)))
        return -1;
    evbuffer_copyout(staged, block, len);
    if (evbuffer_add_reference(staged, block, len, on_chain_gone, h) < 0) {
        free(block);
        return -1;
    }
    h->refs++;
    evbuffer_drain(staged, len); /* the originals: our copy now follows them, then stands alone */
    return 0;
}

/* Everything withheld goes to the wire now, in order, and the stream passes untouched from then
 * on. Frees h. Copied out rather than moved, so our chain is drained (and cleaned up) here. */
static void release(struct hold *h, struct conn *c, struct evbuffer *staged)
{
    unsigned char buf[STALL_COPY_CHUNK];
    struct evbuffer *wire = conn_wire(c);
    event_del(h->timer);
    h->self = 1;
    for (int got; (got = evbuffer_remove(staged, buf, sizeof buf)) > 0;)
        evbuffer_add(wire, buf, (size_t)got);
    h->self = 0;
    h->retired = 1;
    if (h->refs == 0)
        hold_free(h);
    conn_set_egress(c, NULL, NULL); /* may free c (see conn.h): not touched after */
}

static void on_egress(void *arg, struct conn *c, struct evbuffer *staged)
{
    struct hold *h = arg;
    size_t len = evbuffer_get_length(staged);
    if (h->go) {
        release(h, c, staged);
        return;
    }
    if (len == 0)
        return;
    if (len > STALL_MAX_HELD) {
        log_warn("watch-stall on connection %llu: %zu bytes withheld, more than the limit of %u: "
                 "the stream is cut",
                 (unsigned long long)conn_id(c), len, STALL_MAX_HELD);
        conn_abort(c); /* our chain's cleanup frees h when the connection goes */
        return;
    }
    if (pin(h, staged) < 0) {
        log_warn("watch-stall on connection %llu: out of memory, the stream resumes now",
                 (unsigned long long)conn_id(c));
        release(h, c, staged);
        return;
    }
    if (!h->armed) {
        struct timeval tv = {(time_t)(h->for_ms / 1000), (suseconds_t)(h->for_ms % 1000 * 1000)};
        event_base_update_cache_time(h->base); /* a stall is never shorter than asked */
        evtimer_add(h->timer, &tv);
        h->armed = 1;
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct hold *h = arg; /* armed => our chain is in staged => the connection is alive */
    h->go = 1;
    conn_egress_kick(h->c); /* runs on_egress, which frees h (and may free the connection) */
}

static enum hook_verdict on_watch_event(struct fault_watch *fw)
{
    struct stall *s = fw->ctx;
    struct wstate_entry *e = wstate_get(&s->ws, fw);
    if (!e || e->done || e->events++ < s->after)
        return HOOK_PASS;
    e->done = 1;
    struct conn *c = watch_conn(fw->watch);
    char t[32];
    log_info("rule %s: watch-stall on connection %llu from event %llu (%s) %s%s",
             wstate_rule_name(fw), (unsigned long long)conn_id(c), (unsigned long long)e->events,
             fw->type, s->for_ms < 0 ? "for good" : "for ",
             s->for_ms < 0 ? "" : param_format_duration(s->for_ms, t, sizeof t));
    if (s->for_ms < 0) {
        shape_silence(c);
        return HOOK_DROP;
    }
    struct hold *h = calloc(1, sizeof *h);
    if (!h || !(h->timer = evtimer_new(fw->base, on_timer, h))) {
        free(h);
        log_warn("watch-stall: out of memory, the watch is not stalled");
        return HOOK_PASS;
    }
    h->c = c;
    h->base = fw->base;
    h->for_ms = s->for_ms;
    if (conn_set_egress(c, on_egress, h) < 0) {
        hold_free(h);
        return HOOK_DROP;
    }
    return HOOK_PASS; /* watch.c writes the event into the filter, which holds it */
}

const struct fault_type fault_type_watch_stall = {
    .name = "watch-stall",
    .layer = FAULT_LAYER_WATCH,
    .summary = "after \"afterEvents\" events (default 0), withhold everything the watch sends "
               "while the connection stays open: for good, or for \"for\" and then all of it at "
               "once, in order (at most 4 MiB withheld; past that the stream is cut)",
    .client_sees = "nothing more: kubectl get -w prints no further rows and ends only at its own "
                   "--request-timeout (with \"for\", the withheld rows come late, all at once); "
                   "kubectl wait misses the change: error: timed out waiting for the condition on "
                   "pods/p1; a watch-list stalled from its first event (kubectl 1.32 with "
                   "KUBE_FEATURE_WatchListClient=true) also logs W... reflector.go:...] ...: "
                   "awaiting required bookmark event for initial events stream, no events "
                   "received for 10.0...s",
    .keys = keys,
    .parse = parse,
    .free = free_ctx,
    .on_watch_event = on_watch_event,
};
