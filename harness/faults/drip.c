/* drip.c -- the `drip` fault: one answer leaves "bytes" bytes every "every" (headers included), and
 * may stall after "stallAfter" bytes (or after the headers) for "stallFor" or for good; then the
 * rest follows (toxiproxy's slicer and bandwidth toxics, h2o's throttle_resp.c).
 *
 * Lifetime: a drip keeps per-connection state and a timer, and conn.h does not tell an egress
 * filter when its connection is freed. So whenever a timer is pending, the held bytes sit in the
 * connection's staged buffer as a reference chain we own (evbuffer_add_reference): libevent calls
 * its cleanup when the chain is drained or its buffer freed. A cleanup we did not cause means the
 * connection dropped our bytes (it is being freed): the timer is cancelled and the state freed when
 * its last chain goes. Timer pending => bytes held => a chain of ours alive in the connection. */
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
#include "mockapi/base/log.h"
#include "mockapi/http/conn.h"

#define DRIP_MAX_BYTES (1L << 20) /* largest slice */
#define DRIP_MAX_STALL_AFTER (1L << 40)
#define DRIP_COPY_CHUNK 16384

static const char *const keys[] = {"bytes", "every", "stallAfter", "stallFor", NULL};

struct drip_params {
    uint64_t bytes; /* slice; 0: no pacing (only the stall) */
    int64_t every_ms;
    int stall;               /* "stallAfter" given */
    int stall_after_headers; /* "stallAfter": "headers" */
    uint64_t stall_after;
    int64_t stall_for_ms; /* -1: for good */
};

enum stall_state { STALL_NONE, STALL_PENDING, STALL_ON, STALL_DONE };

struct drip {
    const struct drip_params *p;
    struct conn *c;
    struct event_base *base;
    struct event *timer;
    uint64_t sent;  /* bytes of the answer moved to the wire */
    uint64_t allow; /* bytes of it allowed out by now */
    uint64_t stall_at;
    int stall_resolved;
    enum stall_state stall;
    int refs;    /* our reference chains alive in the connection's buffers */
    int self;    /* we are draining our own chains */
    int retired; /* the filter is gone: free when the last chain goes */
};

static void drip_free(struct drip *d)
{
    if (d->timer)
        event_free(d->timer);
    free(d);
}

static void on_chain_gone(const void *data, size_t len, void *arg)
{
    (void)len;
    struct drip *d = arg;
    free((void *)data);
    d->refs--;
    if (!d->self && !d->retired) {
        /* the connection dropped our bytes: it is being freed (or another filter took over) */
        d->retired = 1;
        event_del(d->timer);
    }
    if (d->retired && d->refs == 0)
        drip_free(d);
}

/* Make sure a chain of ours is in staged, so the connection's end reaches us. Copies staged (all
 * of it, to keep the order) into one reference chain. 0, or -1 when out of memory. */
static int hold(struct drip *d, struct evbuffer *staged)
{
    size_t len = evbuffer_get_length(staged);
    unsigned char *block = NULL;
    if (d->refs > 0 || len == 0)
        return 0;
    if (!(block = malloc(len)))
        return -1;
    evbuffer_copyout(staged, block, len);
    d->self = 1;
    evbuffer_drain(staged, len);
    d->self = 0;
    if (evbuffer_add_reference(staged, block, len, on_chain_gone, d) < 0) {
        evbuffer_add(staged, block, len);
        free(block);
        return -1;
    }
    d->refs++;
    return 0;
}

/* Copy n bytes from the front of staged to the wire (never moving our chains out of staged). */
static void move_front(struct drip *d, struct evbuffer *staged, struct evbuffer *wire, size_t n)
{
    unsigned char buf[DRIP_COPY_CHUNK];
    while (n > 0) {
        size_t k = n < sizeof buf ? n : sizeof buf;
        d->self = 1;
        int got = evbuffer_remove(staged, buf, k);
        d->self = 0;
        if (got <= 0)
            return;
        evbuffer_add(wire, buf, (size_t)got);
        n -= (size_t)got;
    }
}

static void arm(struct drip *d, int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    /* libevent measures timeouts from the time cached when the loop woke up, which may be
     * milliseconds old by now: a pause must never be shorter than asked */
    event_base_update_cache_time(d->base);
    evtimer_add(d->timer, &tv);
}

/* The answer is all out: later answers pass untouched. Frees d unless chains of ours remain (they
 * then ride to the wire and free d when sent). */
static void finish(struct drip *d, struct conn *c)
{
    event_del(d->timer);
    d->retired = 1;
    conn_set_egress(c, NULL, NULL);
    if (d->refs == 0)
        drip_free(d);
}

static void on_egress(void *arg, struct conn *c, struct evbuffer *staged)
{
    struct drip *d = arg;
    const struct drip_params *p = d->p;
    int ends = 0;
    size_t avail = conn_egress_current(c, &ends);
    if (avail == 0)
        return;
    if (d->stall == STALL_PENDING && !d->stall_resolved) {
        size_t head = p->stall_after_headers ? shape_head_len(staged, avail) : 0;
        if (p->stall_after_headers && head == 0 && !ends)
            return; /* the head is not all written yet */
        d->stall_at = p->stall_after_headers ? (head ? head : avail) : p->stall_after;
        d->stall_resolved = 1;
    }
    uint64_t limit = p->bytes ? d->allow : UINT64_MAX;
    if (d->stall == STALL_PENDING && d->stall_at < limit)
        limit = d->stall_at;
    if (d->stall == STALL_ON)
        limit = d->sent;
    size_t n = limit > d->sent ? (limit - d->sent < avail ? (size_t)(limit - d->sent) : avail) : 0;
    move_front(d, staged, conn_wire(c), n);
    d->sent += n;
    if (ends && n == avail) {
        finish(d, c);
        return;
    }
    if (n == avail)
        return; /* a stream that caught up: no timer until more of it is written */
    if (hold(d, staged) < 0) {
        log_warn("drip on connection %llu: out of memory, the answer leaves unpaced",
                 (unsigned long long)conn_id(c));
        move_front(d, staged, conn_wire(c), avail - n);
        d->sent += avail - n;
        finish(d, c);
        return;
    }
    if (evtimer_pending(d->timer, NULL))
        return;
    if (d->stall == STALL_PENDING && d->sent == d->stall_at) {
        d->stall = STALL_ON;
        if (p->stall_for_ms >= 0)
            arm(d, p->stall_for_ms);
    } else if (d->stall != STALL_ON) {
        arm(d, p->every_ms);
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct drip *d = arg;
    if (d->stall == STALL_ON) {
        d->stall = STALL_DONE;
        d->allow = d->p->bytes ? d->sent + d->p->bytes : UINT64_MAX;
    } else {
        d->allow = d->sent + d->p->bytes;
    }
    conn_egress_kick(d->c); /* may free d (finish, or the connection went): not touched after */
}

static int parse(const cJSON *spec, const char *path, struct diag *d, void **ctx)
{
    struct drip_params dp = {.stall_for_ms = -1};
    long bytes = 0, after = 0;
    int has_bytes, has_every, has_after = 0, has_for;
    char p[PARAM_PATH_MAX];
    if (param_check_keys(spec, path, keys, d) < 0)
        return -1;
    int bad = (has_bytes = param_int(spec, path, "bytes", 0, 1, DRIP_MAX_BYTES, &bytes, d)) < 0;
    bad |= (has_every = param_duration(spec, path, "every", 0, &dp.every_ms, d)) < 0;
    bad |= (has_for = param_duration(spec, path, "stallFor", 0, &dp.stall_for_ms, d)) < 0;
    const cJSON *sa = cJSON_GetObjectItemCaseSensitive(spec, "stallAfter");
    param_path(p, sizeof p, path, "stallAfter");
    if (cJSON_IsString(sa) && strcmp(sa->valuestring, "headers") == 0) {
        dp.stall_after_headers = 1;
        has_after = 1;
    } else if (cJSON_IsString(sa)) {
        diag_path(d, p, "unknown value \"%s\" (accepted: a number of bytes, or \"headers\")",
                  sa->valuestring);
        bad = 1;
    } else {
        bad |= (has_after =
                    param_int(spec, path, "stallAfter", 0, 0, DRIP_MAX_STALL_AFTER, &after, d)) < 0;
    }
    if (bad)
        return -1;
    if (has_bytes != has_every) {
        diag_path(d, path, "\"%s\" needs \"%s\" (N bytes every T)", has_bytes ? "bytes" : "every",
                  has_bytes ? "every" : "bytes");
        return -1;
    }
    if (has_for && !has_after) {
        diag_path(d, path, "\"stallFor\" needs \"stallAfter\"");
        return -1;
    }
    if (!has_bytes && !has_after) {
        diag_path(d, path, "missing key \"bytes\" and \"every\" (or \"stallAfter\")");
        return -1;
    }
    if (has_every && dp.every_ms <= 0) {
        param_path(p, sizeof p, path, "every");
        diag_path(d, p, "must be at least 1ms");
        return -1;
    }
    dp.bytes = has_bytes ? (uint64_t)bytes : 0;
    dp.stall = has_after;
    dp.stall_after = (uint64_t)after;
    struct drip_params *out = malloc(sizeof *out);
    if (!out) {
        diag_path(d, path, "out of memory");
        return -1;
    }
    *out = dp;
    *ctx = out;
    return 0;
}

static void describe(const struct drip_params *p, char *buf, size_t len)
{
    char t[32];
    int n = 0;
    if (p->bytes)
        n = snprintf(buf, len, "drip %" PRIu64 " bytes every %s", p->bytes,
                     param_format_duration(p->every_ms, t, sizeof t));
    else
        n = snprintf(buf, len, "drip");
    if (n < 0 || (size_t)n >= len || !p->stall)
        return;
    if (p->stall_after_headers)
        snprintf(buf + n, len - (size_t)n, ", stall after the headers");
    else
        snprintf(buf + n, len - (size_t)n, ", stall after %" PRIu64 " bytes", p->stall_after);
    n = (int)strlen(buf);
    if (p->stall_for_ms >= 0)
        snprintf(buf + n, len - (size_t)n, " for %s",
                 param_format_duration(p->stall_for_ms, t, sizeof t));
    else
        snprintf(buf + n, len - (size_t)n, " for good");
}

static enum hook_verdict on_request(struct fault_request *fr)
{
    const struct drip_params *p = fr->ctx;
    struct drip *d = calloc(1, sizeof *d);
    if (!d || !(d->timer = evtimer_new(fr->base, on_timer, d))) {
        free(d);
        log_warn("drip: out of memory, the answer leaves unpaced");
        return HOOK_PASS;
    }
    d->p = p;
    d->c = fr->conn;
    d->base = fr->base;
    d->allow = p->bytes;
    d->stall = p->stall ? STALL_PENDING : STALL_NONE;
    if (fr->note)
        describe(p, fr->note, fr->note_len);
    if (conn_set_egress(fr->conn, on_egress, d) < 0) {
        drip_free(d);
        return HOOK_HANDLED;
    }
    return HOOK_PASS;
}

const struct fault_type fault_type_drip = {
    .name = "drip",
    .layer = FAULT_LAYER_HTTP,
    .summary = "send the answer \"bytes\" bytes every \"every\" (headers included); optionally "
               "stall after \"stallAfter\" bytes (or \"headers\") for \"stallFor\" (default: for "
               "good), then send the rest",
    .client_sees = "the same answers, later (a 290-byte answer at 20 bytes every 100ms takes 1.4 "
                   "s); a stall after the headers with --request-timeout=2s: a klog line, then "
                   "error: unexpected error when reading response body. Please retry. Original "
                   "error: net/http: request canceled (Client.Timeout or context cancellation "
                   "while reading body) (the wording varies between runs: also context deadline "
                   "exceeded, with or without the parenthesis)",
    .keys = keys,
    .parse = parse,
    .on_request = on_request,
};
