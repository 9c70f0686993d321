/* watch.c -- watch streams: one chunked JSON event per line, initial events, bookmarks, expiry,
 * selector transitions, Table rows, slow-reader cap */
#include "mockapi/kube/watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "mockapi/base/clock.h"
#include "mockapi/base/log.h"
#include "mockapi/hooks.h"
#include "mockapi/http/conn.h"
#include "mockapi/kube/kinds.h"
#include "mockapi/kube/selector.h"
#include "mockapi/kube/status.h"
#include "mockapi/kube/store.h"
#include "mockapi/kube/table.h"

struct watch {
    struct watch_hub *hub;
    struct conn *conn;
    struct watch_opts o;
    char namespace[256];
    uint64_t listener;
    struct event *timeout_ev;
    struct event *bookmark_ev;
    struct watch *prev, *next;
    int in_hook;       /* the event hook is running: ends are deferred until it returns */
    int end_requested; /* watch_end() was called from the hook */
    int gone;          /* the connection went away during the hook */
};

struct watch_hub {
    struct event_base *base;
    struct store *store;
    const struct mockapi_hooks *hooks;
    int64_t bookmark_ms;
    struct watch *head;
    size_t count;
};

struct watch_hub *watch_hub_new(struct event_base *base, struct store *store,
                                const struct mockapi_hooks *hooks)
{
    struct watch_hub *hub = calloc(1, sizeof *hub);
    if (!hub)
        return NULL;
    hub->base = base;
    hub->store = store;
    hub->hooks = hooks;
    hub->bookmark_ms = WATCH_DEFAULT_BOOKMARK_MS;
    return hub;
}

void watch_hub_set_bookmark_interval(struct watch_hub *hub, int64_t ms)
{
    hub->bookmark_ms = ms;
}

size_t watch_hub_count(const struct watch_hub *hub)
{
    return hub->count;
}

struct conn *watch_conn(const struct watch *w)
{
    return w->conn;
}

const struct kinds_info *watch_kind(const struct watch *w)
{
    return w->o.kind;
}

/* Unlink and free; the connection is not touched. */
static void watch_free(struct watch *w)
{
    struct watch_hub *hub = w->hub;
    store_unlisten(hub->store, w->listener);
    if (w->timeout_ev)
        event_free(w->timeout_ev);
    if (w->bookmark_ev)
        event_free(w->bookmark_ev);
    ksel_free(w->o.labels);
    ksel_free(w->o.fields);
    if (w->prev)
        w->prev->next = w->next;
    else
        hub->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    hub->count--;
    free(w);
}

static void on_conn_close(void *arg, struct conn *c)
{
    (void)c;
    struct watch *w = arg;
    if (w->in_hook)
        w->gone = 1; /* freed when the hook returns */
    else
        watch_free(w);
}

void watch_end(struct watch *w)
{
    if (w->in_hook) {
        w->end_requested = 1;
        return;
    }
    struct conn *c = w->conn;
    conn_set_close_cb(c, NULL, NULL);
    watch_free(w);
    conn_stream_end(c);
}

void watch_hub_free(struct watch_hub *hub)
{
    if (!hub)
        return;
    while (hub->head) {
        struct conn *c = hub->head->conn;
        conn_set_close_cb(c, NULL, NULL);
        watch_free(hub->head);
        conn_abort(c);
    }
    free(hub);
}

int watch_send_raw(struct watch *w, const void *data, size_t len)
{
    if (w->gone || w->end_requested)
        return -1;
    return conn_stream_write(w->conn, data, len);
}

static int matches(const struct watch *w, const cJSON *obj)
{
    if (!obj)
        return 0;
    if (w->namespace[0] && w->o.kind->namespaced &&
        strcmp(store_obj_namespace(obj), w->namespace) != 0)
        return 0;
    return ksel_match(w->o.labels, obj) && ksel_match(w->o.fields, obj);
}

/* Serialise and write one event; returns -1 when the watch was ended (slow reader). */
static int send_event(struct watch *w, const char *type, const cJSON *obj)
{
    struct watch_hub *hub = w->hub;
    if (hub->hooks && hub->hooks->on_watch_event) {
        w->in_hook = 1;
        enum hook_verdict v = hub->hooks->on_watch_event(hub->hooks->arg, w, type, obj);
        w->in_hook = 0;
        if (w->gone) { /* the hook reset the connection */
            watch_free(w);
            return -1;
        }
        if (w->end_requested) { /* the hook ended the stream */
            watch_end(w);
            return -1;
        }
        if (v == HOOK_DROP || v == HOOK_HANDLED)
            return 0; /* withheld, or the hook wrote what it wanted */
    }
    cJSON *table = NULL;
    if (w->o.table && strcmp(type, "BOOKMARK") != 0 && strcmp(type, "ERROR") != 0) {
        char rv[32];
        snprintf(rv, sizeof rv, "%lld", (long long)store_obj_rv(obj));
        table = table_from_object(w->o.kind, obj, rv, clock_wall_ns() / 1000000000, 1);
        if (table)
            obj = table;
    }
    cJSON *ev = cJSON_CreateObject();
    char *text = NULL;
    if (ev) {
        cJSON_AddStringToObject(ev, "type", type);
        cJSON_AddItemToObject(ev, "object", cJSON_CreateObjectReference(obj->child));
        text = cJSON_PrintUnformatted(ev);
    }
    int gone = 0;
    if (text) {
        size_t len = strlen(text);
        text[len] = '\n'; /* replaces the NUL: the chunk is the line */
        gone = conn_stream_write(w->conn, text, len + 1) < 0;
    }
    free(text);
    cJSON_Delete(ev);
    cJSON_Delete(table);
    if (gone)
        return -1; /* the connection went away while we wrote: w was freed by on_conn_close */
    if (conn_pending_bytes(w->conn) > WATCH_MAX_PENDING_BYTES) {
        log_warn("watch on %s from %s: client too slow (%zu bytes unsent), closing",
                 w->o.kind->resource, conn_peer(w->conn), conn_pending_bytes(w->conn));
        struct conn *c = w->conn;
        conn_set_close_cb(c, NULL, NULL);
        watch_free(w);
        conn_abort(c);
        return -1;
    }
    return 0;
}

static int send_bookmark(struct watch *w, int initial_end)
{
    char rv[32], av[64];
    snprintf(rv, sizeof rv, "%lld", (long long)store_resource_version(w->hub->store));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", w->o.kind->kind);
    cJSON_AddStringToObject(o, "apiVersion", kinds_api_version(w->o.kind, av, sizeof av));
    cJSON *m = cJSON_AddObjectToObject(o, "metadata");
    cJSON_AddStringToObject(m, "resourceVersion", rv);
    if (initial_end)
        cJSON_AddStringToObject(cJSON_AddObjectToObject(m, "annotations"), WATCH_INITIAL_EVENTS_END,
                                "true");
    int r = send_event(w, "BOOKMARK", o);
    cJSON_Delete(o);
    return r;
}

/* One change, seen through the watch's namespace and selectors. */
static int deliver(struct watch *w, enum store_event_type type, const cJSON *old, const cJSON *obj)
{
    int now = matches(w, obj);
    switch (type) {
    case STORE_ADDED:
        return now ? send_event(w, "ADDED", obj) : 0;
    case STORE_MODIFIED: {
        int before = old ? matches(w, old) : now;
        if (now && before)
            return send_event(w, "MODIFIED", obj);
        if (now)
            return send_event(w, "ADDED", obj);
        if (before)
            return send_event(w, "DELETED", obj);
        return 0;
    }
    case STORE_DELETED:
        return (now || (old && matches(w, old))) ? send_event(w, "DELETED", obj) : 0;
    }
    return 0;
}

static void on_change(void *arg, enum store_event_type type, const struct kinds_info *k,
                      const cJSON *old, const cJSON *obj)
{
    struct watch *w = arg;
    if (k == w->o.kind)
        deliver(w, type, old, obj);
}

struct replay_ctx {
    struct watch *w;
    int ended;
};

static void on_replay(void *arg, enum store_event_type type, const cJSON *old, const cJSON *obj)
{
    struct replay_ctx *rc = arg;
    if (!rc->ended && deliver(rc->w, type, old, obj) < 0)
        rc->ended = 1;
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    watch_end(arg);
}

static void on_bookmark_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    send_bookmark(arg, 0);
}

static struct timeval ms_to_tv(int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    return tv;
}

static int expired(struct watch *w, int64_t since)
{
    char msg[128];
    snprintf(msg, sizeof msg, "too old resource version: %lld (%lld)", (long long)since,
             (long long)store_oldest_resource_version(w->hub->store));
    cJSON *st = status_new(410, STATUS_REASON_EXPIRED, msg);
    int r = send_event(w, "ERROR", st);
    cJSON_Delete(st);
    return r;
}

struct watch *watch_start(struct watch_hub *hub, struct conn *c, const struct watch_opts *opts)
{
    struct watch *w = calloc(1, sizeof *w);
    if (!w) {
        ksel_free(opts->labels);
        ksel_free(opts->fields);
        conn_abort(c);
        return NULL;
    }
    w->hub = hub;
    w->conn = c;
    w->o = *opts;
    snprintf(w->namespace, sizeof w->namespace, "%s", opts->namespace ? opts->namespace : "");
    w->o.namespace = w->namespace;
    w->next = hub->head;
    if (hub->head)
        hub->head->prev = w;
    hub->head = w;
    hub->count++;
    conn_set_close_cb(c, on_conn_close, w);

    if (conn_stream_begin(c, 200, w->o.table ? TABLE_CONTENT_TYPE : "application/json", NULL) < 0)
        return NULL; /* reset by an egress filter; on_conn_close freed w */

    if (w->o.initial) {
        size_t n;
        const cJSON **items = store_list(hub->store, w->o.kind, w->namespace, &n);
        for (size_t i = 0; i < n; i++)
            if (matches(w, items[i]) && send_event(w, "ADDED", items[i]) < 0) {
                free(items);
                return NULL;
            }
        free(items);
        if (w->o.initial_end_bookmark && send_bookmark(w, 1) < 0)
            return NULL;
    } else {
        struct replay_ctx rc = {w, 0};
        if (store_replay(hub->store, w->o.kind, w->o.since_rv, on_replay, &rc) < 0) {
            /* As the watch cache does: 200, then an ERROR event, then the end of the stream. */
            if (expired(w, w->o.since_rv) == 0)
                watch_end(w);
            return NULL;
        }
        if (rc.ended)
            return NULL;
    }
    if (!(w->listener = store_listen(hub->store, on_change, w)))
        goto fail;
    if (w->o.timeout_ms > 0) {
        struct timeval tv = ms_to_tv(w->o.timeout_ms);
        if (!(w->timeout_ev = evtimer_new(hub->base, on_timeout, w)) ||
            evtimer_add(w->timeout_ev, &tv) < 0)
            goto fail;
    }
    if (w->o.bookmarks && hub->bookmark_ms > 0) {
        struct timeval tv = ms_to_tv(hub->bookmark_ms);
        if (!(w->bookmark_ev = event_new(hub->base, -1, EV_PERSIST, on_bookmark_timer, w)) ||
            event_add(w->bookmark_ev, &tv) < 0)
            goto fail;
    }
    return w;
fail:
    conn_set_close_cb(c, NULL, NULL);
    watch_free(w);
    conn_abort(c);
    return NULL;
}
