/* watch_cut.c -- the `watch-cut` fault: after "afterEvents" events of a watch, the next event
 * leaves only in part ("bytes" of its JSON line, behind its chunk-size line: the cut falls inside
 * the chunk, as a dying proxy or apiserver leaves it) and the connection is reset (RST) or closed
 * (FIN). The cut is made on the event's bytes by an egress filter the hook installs; the filter
 * keeps no state of its own (its argument is the rule's parameters). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "harness/diag.h"
#include "harness/fault.h"
#include "harness/faults/param.h"
#include "harness/faults/wstate.h"
#include "mockapi/base/log.h"
#include "mockapi/http/conn.h"
#include "mockapi/kube/watch.h"

#define CUT_MAX_AFTER 1000000000L
#define CUT_MAX_BYTES (1L << 20)

static const char *const keys[] = {"afterEvents", "bytes", "how", NULL};

struct cut {
    uint64_t after;
    long bytes; /* of the event's JSON line; -1: half of it */
    enum shape_end how;
    struct wstate ws;
};

static int parse(const cJSON *spec, const char *path, struct diag *d, void **ctx)
{
    long after = 0, bytes = -1;
    const char *how = NULL;
    char p[PARAM_PATH_MAX];
    int bad = param_check_keys(spec, path, keys, d) < 0;
    bad |= param_int(spec, path, "afterEvents", 0, 0, CUT_MAX_AFTER, &after, d) < 0;
    bad |= param_int(spec, path, "bytes", 0, 0, CUT_MAX_BYTES, &bytes, d) < 0;
    bad |= param_string(spec, path, "how", 0, 0, &how, d) < 0;
    if (how && strcmp(how, "reset") != 0 && strcmp(how, "close") != 0) {
        diag_path(d, param_path(p, sizeof p, path, "how"),
                  "unknown value \"%s\" (accepted: reset, close)", how);
        bad = 1;
    }
    if (bad)
        return -1;
    struct cut *cut = calloc(1, sizeof *cut);
    if (!cut) {
        diag_path(d, path, "out of memory");
        return -1;
    }
    cut->after = (uint64_t)after;
    cut->bytes = bytes;
    cut->how = how && strcmp(how, "close") == 0 ? SHAPE_FIN : SHAPE_RST;
    *ctx = cut;
    return 0;
}

static void free_ctx(void *ctx)
{
    struct cut *cut = ctx;
    if (!cut)
        return;
    wstate_release(&cut->ws);
    free(cut);
}

/* The event's chunk is staged: its size line and the first bytes of its line leave, then the end.
 */
static void on_egress(void *arg, struct conn *c, struct evbuffer *staged)
{
    const struct cut *cut = arg;
    size_t head = 0, len = 0, keep = 0;
    int r = wstate_chunk(staged, &head, &len);
    if (r == 0)
        return; /* not all of it yet */
    if (r == 1) {
        size_t part = len / 2;
        if (cut->bytes >= 0)
            part = (size_t)cut->bytes < len ? (size_t)cut->bytes : len;
        keep = part ? head + part : 0;
    }
    evbuffer_remove_buffer(staged, conn_wire(c), keep);
    wstate_end_conn(c, cut->how);
}

static enum hook_verdict on_watch_event(struct fault_watch *fw)
{
    struct cut *cut = fw->ctx;
    struct wstate_entry *e = wstate_get(&cut->ws, fw);
    if (!e || e->done || e->events++ < cut->after)
        return HOOK_PASS;
    e->done = 1;
    struct conn *c = watch_conn(fw->watch);
    log_info("rule %s: watch-cut on connection %llu: %s inside event %llu (%s)",
             wstate_rule_name(fw), (unsigned long long)conn_id(c),
             cut->how == SHAPE_FIN ? "close" : "reset", (unsigned long long)e->events, fw->type);
    conn_set_egress(c, on_egress, cut);
    return HOOK_PASS; /* watch.c writes the event into the filter, which cuts it */
}

const struct fault_type fault_type_watch_cut = {
    .name = "watch-cut",
    .layer = FAULT_LAYER_WATCH,
    .summary =
        "after \"afterEvents\" events (default 0), send the next event's chunk-size line and "
        "the first \"bytes\" bytes of its JSON line (default: half of it; 0: none of the "
        "event), then end the connection: \"how\": \"reset\" (RST, the default) or "
        "\"close\" (FIN)",
    .client_sees = "kubectl get -w prints the rows before the cut and exits 0, stderr empty "
                   "(client-go ends a watch quietly on a reset or an unexpected EOF: -v=5 shows "
                   "streamwatcher.go:...] Unable to decode an event from the watch stream: read "
                   "tcp 127.0.0.1:<p>->127.0.0.1:<port>: read: connection reset by peer; with "
                   "\"close\", -v=1 shows streamwatcher.go:...] Unexpected EOF during watch "
                   "stream event decoding: unexpected EOF); an informer (kubectl wait) re-watches "
                   "at once from the last resourceVersion it got, logging only at -v=4: "
                   "reflector.go:...] ...: Watch close - *unstructured.Unstructured total N items "
                   "received",
    .keys = keys,
    .parse = parse,
    .free = free_ctx,
    .on_watch_event = on_watch_event,
};
