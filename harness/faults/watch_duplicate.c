/* watch_duplicate.c -- the `watch-duplicate` fault: every event of a watch (or, with "every": k,
 * the k-th, 2k-th, ...) goes out twice, byte for byte, as a replaying proxy or a re-sent buffer
 * would send it. The event is copied on the wire by an egress filter that lives for one chunk, so
 * it is doubled in whatever form watch.c wrote it: JSON, or a Table row for kubectl. */
#include <stdint.h>
#include <stdlib.h>

#include <event2/buffer.h>

#include "harness/diag.h"
#include "harness/fault.h"
#include "harness/faults/param.h"
#include "harness/faults/wstate.h"
#include "mockapi/http/conn.h"
#include "mockapi/kube/watch.h"

#define DUPLICATE_MAX_EVERY 1000000L

static const char *const keys[] = {"every", NULL};

struct duplicate {
    uint64_t every;
    struct wstate ws;
};

static int parse(const cJSON *spec, const char *path, struct diag *d, void **ctx)
{
    long every = 1;
    if (param_check_keys(spec, path, keys, d) < 0 ||
        param_int(spec, path, "every", 0, 1, DUPLICATE_MAX_EVERY, &every, d) < 0)
        return -1;
    struct duplicate *dup = calloc(1, sizeof *dup);
    if (!dup) {
        diag_path(d, path, "out of memory");
        return -1;
    }
    dup->every = (uint64_t)every;
    *ctx = dup;
    return 0;
}

static void free_ctx(void *ctx)
{
    struct duplicate *dup = ctx;
    if (!dup)
        return;
    wstate_release(&dup->ws);
    free(dup);
}

/* One event's chunk is staged: put it on the wire twice, then step aside. Anything staged after it
 * (nothing, normally) passes as it is. */
static void on_egress(void *arg, struct conn *c, struct evbuffer *staged)
{
    (void)arg;
    size_t head, len;
    int r = wstate_chunk(staged, &head, &len);
    if (r == 0)
        return;              /* not all of it yet */
    if (r == 1 && len > 0) { /* (the last chunk, length 0, ends the stream: once) */
        size_t n = head + len + 2;
        const unsigned char *p = evbuffer_pullup(staged, (ev_ssize_t)n);
        if (p) { /* out of memory: it goes out once, as staged */
            struct evbuffer *wire = conn_wire(c);
            evbuffer_add(wire, p, n);
            evbuffer_add(wire, p, n);
            evbuffer_drain(staged, n);
        }
    }
    conn_set_egress(c, NULL, NULL); /* may free c (see conn.h): not touched after */
}

static enum hook_verdict on_watch_event(struct fault_watch *fw)
{
    struct duplicate *dup = fw->ctx;
    struct wstate_entry *e = wstate_get(&dup->ws, fw);
    if (!e || ++e->events % dup->every != 0)
        return HOOK_PASS;
    conn_set_egress(watch_conn(fw->watch), on_egress, NULL);
    return HOOK_PASS;
}

const struct fault_type fault_type_watch_duplicate = {
    .name = "watch-duplicate",
    .layer = FAULT_LAYER_WATCH,
    .summary = "send every watch event twice, byte for byte, bookmarks included; with \"every\": "
               "k, only the k-th, 2k-th, ... event of each watch",
    .client_sees = "kubectl get -w prints each changed row twice (p1   0/1   ContainerCreating "
                   "  0   2s, then the same line again); informers (kubectl wait) take the copy as "
                   "an update and carry on, stderr empty",
    .keys = keys,
    .parse = parse,
    .free = free_ctx,
    .on_watch_event = on_watch_event,
};
