/* watch_expire.c -- the `watch-expire` fault: after "afterEvents" events of a watch, the next event
 * is replaced by an ERROR event carrying a 410 Expired Status in the watch cache's words
 * (`too old resource version: <rv> (<now>)`), and the stream ends (last chunk, then FIN): every
 * client re-lists. The ERROR event and the end are written by an egress filter the hook installs,
 * in place of the event's bytes, so watch.c sees its connection go while it writes. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "harness/diag.h"
#include "harness/engine.h"
#include "harness/fault.h"
#include "harness/faults/param.h"
#include "harness/faults/wstate.h"
#include "mockapi/base/log.h"
#include "mockapi/http/conn.h"
#include "mockapi/kube/status.h"
#include "mockapi/kube/store.h"
#include "mockapi/kube/watch.h"
#include "mockapi/server.h"

#define EXPIRE_MAX_AFTER 1000000000L

static const char *const keys[] = {"afterEvents", "message", NULL};

struct expire {
    uint64_t after;
    char *message; /* NULL: the watch cache's words */
    struct wstate ws;
};

static int parse(const cJSON *spec, const char *path, struct diag *d, void **ctx)
{
    long after = 0;
    const char *message = NULL;
    int bad = param_check_keys(spec, path, keys, d) < 0;
    bad |= param_int(spec, path, "afterEvents", 0, 0, EXPIRE_MAX_AFTER, &after, d) < 0;
    bad |= param_string(spec, path, "message", 0, 0, &message, d) < 0;
    if (bad)
        return -1;
    struct expire *x = calloc(1, sizeof *x);
    if (!x || (message && !(x->message = strdup(message)))) {
        free(x);
        diag_path(d, path, "out of memory");
        return -1;
    }
    x->after = (uint64_t)after;
    *ctx = x;
    return 0;
}

static void free_ctx(void *ctx)
{
    struct expire *x = ctx;
    if (!x)
        return;
    wstate_release(&x->ws);
    free(x->message);
    free(x);
}

/* {"type":"ERROR","object":<410 Expired Status>}, newline-ended, for the watch e; NULL on OOM.
 * Caller frees. */
static char *error_line(const struct expire *x, const struct wstate_entry *e)
{
    char msg[96];
    snprintf(msg, sizeof msg, "too old resource version: %" PRId64 " (%" PRId64 ")",
             e->last_rv < 0 ? 0 : e->last_rv, e->now_rv);
    cJSON *ev = cJSON_CreateObject();
    cJSON *st = status_new(410, STATUS_REASON_EXPIRED, x->message ? x->message : msg);
    char *text = NULL;
    if (ev && st && cJSON_AddStringToObject(ev, "type", "ERROR") &&
        cJSON_AddItemToObject(ev, "object", st)) {
        st = NULL;
        text = cJSON_PrintUnformatted(ev);
    }
    cJSON_Delete(st);
    cJSON_Delete(ev);
    if (!text)
        return NULL;
    size_t len = strlen(text);
    char *line = realloc(text, len + 2);
    if (!line) {
        free(text);
        return NULL;
    }
    line[len] = '\n';
    line[len + 1] = '\0';
    return line;
}

/* The replaced event is staged: it goes, the ERROR event and the last chunk leave instead. */
static void on_egress(void *arg, struct conn *c, struct evbuffer *staged)
{
    struct expire *x = arg;
    size_t head, len;
    if (wstate_chunk(staged, &head, &len) == 0)
        return; /* not all of it yet */
    evbuffer_drain(staged, evbuffer_get_length(staged));
    const struct wstate_entry *e = wstate_find(&x->ws, conn_id(c));
    char *line = e ? error_line(x, e) : NULL;
    if (line) {
        struct evbuffer *wire = conn_wire(c);
        evbuffer_add_printf(wire, "%zx\r\n%s\r\n0\r\n\r\n", strlen(line), line);
        free(line);
    } else {
        log_warn("watch-expire on connection %llu: out of memory, the stream is cut instead",
                 (unsigned long long)conn_id(c));
    }
    wstate_end_conn(c, SHAPE_FIN);
}

static enum hook_verdict on_watch_event(struct fault_watch *fw)
{
    struct expire *x = fw->ctx;
    struct wstate_entry *e = wstate_get(&x->ws, fw);
    if (!e || e->done)
        return HOOK_PASS;
    if (e->events++ < x->after) {
        int64_t rv = wstate_object_rv(fw->object);
        if (rv >= 0)
            e->last_rv = rv;
        return HOOK_PASS;
    }
    e->done = 1;
    e->now_rv = fw->engine ? store_resource_version(mockapi_server_store(engine_server(fw->engine)))
                           : (e->last_rv < 0 ? 0 : e->last_rv);
    struct conn *c = watch_conn(fw->watch);
    log_info("rule %s: watch-expire on connection %llu: 410 Expired instead of event %llu (%s)",
             wstate_rule_name(fw), (unsigned long long)conn_id(c), (unsigned long long)e->events,
             fw->type);
    conn_set_egress(c, on_egress, x);
    return HOOK_PASS; /* watch.c writes the event into the filter, which replaces it */
}

const struct fault_type fault_type_watch_expire = {
    .name = "watch-expire",
    .layer = FAULT_LAYER_WATCH,
    .summary = "after \"afterEvents\" events (default 0), send instead of the next one an ERROR "
               "event with a 410 Expired Status, \"too old resource version: <rv> (<now>)\" (<rv>: "
               "the resourceVersion the client resumes from, <now>: the store's) or \"message\", "
               "then end the stream (last chunk, then FIN)",
    .client_sees = "kubectl get -w prints the ERROR as a table, STATUS REASON MESSAGE / Failure "
                   "Expired too old resource version: <rv> (<now>), then exits 0, stderr empty; an "
                   "informer (kubectl wait) re-lists about 1 s later and carries on, logging only "
                   "at -v=4: reflector.go:...] ...: watch of *unstructured.Unstructured closed "
                   "with: too old resource version: <rv> (<now>)",
    .keys = keys,
    .parse = parse,
    .free = free_ctx,
    .on_watch_event = on_watch_event,
};
