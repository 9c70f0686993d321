/* watch.c -- watch streams: one chunked JSON event per line, initial events, bookmarks, expiry,
 * selector transitions, Table rows, slow-reader cap.
 *
 * A change reaches every watch on its kind, and each writes the same line for it (unless it asked
 * for Tables): the hub keeps the last line printed per event type, keyed by the object and the
 * store's resourceVersion, so 10k watchers cost one print and 10k copies, not 10k prints. The key
 * is sound because a stored object is freed or replaced only by a change, which moves the
 * resourceVersion first; objects made here (bookmarks, errors, Tables) are never cached.
 *
 * The hub is the store's one listener for all its watches (registered when the first starts, so
 * watches hear a change after the cluster and the containers do, as when each listened on its
 * own), and keeps them in a list per kind, oldest first: a change visits only the watches on its
 * kind, and a watch leaves in O(1). */
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
    int listening; /* past its initial events: changes reach it */
    struct event *timeout_ev;
    struct event *bookmark_ev;
    struct watch *prev, *next; /* in the hub's list for its kind */
    size_t allowance;  /* unsent bytes that cut the watcher (hub->max_pending, plus the initial
                          burst until the client has caught up with it) */
    int starting;      /* writing the initial or replayed events: never cut for these */
    int in_hook;       /* the event hook is running: ends are deferred until it returns */
    int end_requested; /* watch_end() was called from the hook */
    int gone;          /* the connection went away during the hook */
};

/* The line last printed for one event type: "{type, object}\n" */
struct line_cache {
    const cJSON *obj; /* a stored object (compared, never read through) */
    int64_t rv;       /* the store's resourceVersion when it was printed */
    char *text;       /* not NUL-terminated */
    size_t len;
};

enum { LINE_ADDED, LINE_MODIFIED, LINE_DELETED, LINE__COUNT };

struct watch_list {
    struct watch *first, *last;
};

/* A change being handed to the watches of its kind; a watch freed meanwhile moves `next` on. Nested
 * when a watch's hook changes the store. */
struct dispatch {
    struct watch *next;
    struct dispatch *outer;
};

struct watch_hub {
    struct event_base *base;
    struct store *store;
    const struct mockapi_hooks *hooks;
    int64_t bookmark_ms;
    size_t max_pending;
    struct watch_list kinds[KIND__COUNT];
    size_t count;
    uint64_t listener; /* 0 while there is no watch */
    struct dispatch *dispatching;
    struct line_cache lines[LINE__COUNT];
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
    hub->max_pending = WATCH_MAX_PENDING_BYTES;
    return hub;
}

void watch_hub_set_max_pending(struct watch_hub *hub, size_t bytes)
{
    hub->max_pending = bytes ? bytes : WATCH_MAX_PENDING_BYTES;
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
    struct watch_list *l = &hub->kinds[w->o.kind->id];
    if (w->timeout_ev)
        event_free(w->timeout_ev);
    if (w->bookmark_ev)
        event_free(w->bookmark_ev);
    ksel_free(w->o.labels);
    ksel_free(w->o.fields);
    for (struct dispatch *d = hub->dispatching; d; d = d->outer)
        if (d->next == w)
            d->next = w->next;
    if (w->prev)
        w->prev->next = w->next;
    else
        l->first = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        l->last = w->prev;
    if (--hub->count == 0 && hub->listener) {
        store_unlisten(hub->store, hub->listener);
        hub->listener = 0;
    }
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
    for (size_t k = 0; k < KIND__COUNT; k++)
        while (hub->kinds[k].first) {
            struct watch *w = hub->kinds[k].first;
            struct conn *c = w->conn;
            conn_set_close_cb(c, NULL, NULL);
            watch_free(w);
            conn_abort(c);
        }
    for (size_t i = 0; i < LINE__COUNT; i++)
        free(hub->lines[i].text);
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

/* The event's line, {"type":..,"object":..} and a newline, in *text (caller frees); -1 when
 * memory ran out */
static int print_line(const char *type, const cJSON *obj, char **text, size_t *len)
{
    cJSON *ev = cJSON_CreateObject();
    *text = NULL;
    if (ev) {
        cJSON_AddStringToObject(ev, "type", type);
        cJSON_AddItemToObject(ev, "object", cJSON_CreateObjectReference(obj->child));
        *text = cJSON_PrintUnformatted(ev);
        cJSON_Delete(ev);
    }
    if (!*text)
        return -1;
    *len = strlen(*text);
    (*text)[(*len)++] = '\n'; /* replaces the NUL: the chunk is the line */
    return 0;
}

/* The line for a stored object's event, from the hub's cache when this version of it was printed
 * with this type already (borrowed: valid until the next change), else printed and cached. */
static const char *shared_line(struct watch_hub *hub, const char *type, const cJSON *obj,
                               size_t *len)
{
    int slot = strcmp(type, "ADDED") == 0      ? LINE_ADDED
               : strcmp(type, "MODIFIED") == 0 ? LINE_MODIFIED
               : strcmp(type, "DELETED") == 0  ? LINE_DELETED
                                               : -1;
    if (slot < 0)
        return NULL;
    struct line_cache *lc = &hub->lines[slot];
    int64_t rv = store_resource_version(hub->store);
    if (!lc->text || lc->obj != obj || lc->rv != rv) {
        free(lc->text);
        lc->text = NULL;
        if (print_line(type, obj, &lc->text, &lc->len) < 0)
            return NULL;
        lc->obj = obj;
        lc->rv = rv;
    }
    *len = lc->len;
    return lc->text;
}

static int check_slow(struct watch *w);

/* Serialise and write one event; returns -1 when the watch was ended (slow reader). stored: obj is
 * an object of the store (its line may be shared with other watches). */
static int send_event(struct watch *w, const char *type, const cJSON *obj, int stored)
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
    char *own = NULL;
    size_t len = 0;
    const char *line = stored && !table ? shared_line(w->hub, type, obj, &len) : NULL;
    if (!line && print_line(type, obj, &own, &len) == 0)
        line = own;
    int gone = line && conn_stream_write(w->conn, line, len) < 0;
    free(own);
    cJSON_Delete(table);
    if (gone)
        return -1; /* the connection went away while we wrote: w was freed by on_conn_close */
    return w->starting ? 0 : check_slow(w);
}

/* Cut a watcher whose client leaves more than its allowance unread. -1 when it was cut. The
 * allowance covers the events sent at the start (a replay from an old resourceVersion goes out in
 * one piece, however fast the client reads) until the client has caught up with them. */
static int check_slow(struct watch *w)
{
    struct watch_hub *hub = w->hub;
    size_t pending = conn_pending_bytes(w->conn);
    if (pending <= hub->max_pending)
        w->allowance = hub->max_pending;
    if (pending > w->allowance) {
        /* kube-apiserver's cacher: "Forcing ... watcher close due to unresponsiveness"; the
         * client's reflector then watches again from its last resourceVersion */
        log_warn("watch on %s from %s: client too slow (%zu bytes unsent, the limit is %zu): "
                 "closing its connection",
                 w->o.kind->resource, conn_peer(w->conn), pending, hub->max_pending);
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
    int r = send_event(w, "BOOKMARK", o, 0);
    cJSON_Delete(o);
    return r;
}

/* One change, seen through the watch's namespace and selectors. */
static int deliver(struct watch *w, enum store_event_type type, const cJSON *old, const cJSON *obj)
{
    int now = matches(w, obj);
    switch (type) {
    case STORE_ADDED:
        return now ? send_event(w, "ADDED", obj, 1) : 0;
    case STORE_MODIFIED: {
        int before = old ? matches(w, old) : now;
        if (now && before)
            return send_event(w, "MODIFIED", obj, 1);
        if (now)
            return send_event(w, "ADDED", obj, 1);
        if (before)
            return send_event(w, "DELETED", obj, 1);
        return 0;
    }
    case STORE_DELETED:
        return (now || (old && matches(w, old))) ? send_event(w, "DELETED", obj, 1) : 0;
    }
    return 0;
}

/* The store's listener: the change to every listening watch on its kind, oldest first. */
static void on_change(void *arg, enum store_event_type type, const struct kinds_info *k,
                      const cJSON *old, const cJSON *obj)
{
    struct watch_hub *hub = arg;
    struct dispatch d = {hub->kinds[k->id].first, hub->dispatching};
    hub->dispatching = &d;
    while (d.next) {
        struct watch *w = d.next;
        d.next = w->next;
        if (w->listening)
            deliver(w, type, old, obj); /* may free w, or others: watch_free moves d.next */
    }
    hub->dispatching = d.outer;
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
    int r = send_event(w, "ERROR", st, 0);
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
    w->starting = 1;
    struct watch_list *l = &hub->kinds[w->o.kind->id];
    w->prev = l->last;
    if (l->last)
        l->last->next = w;
    else
        l->first = w;
    l->last = w;
    hub->count++;
    conn_set_close_cb(c, on_conn_close, w);

    if (conn_stream_begin(c, 200, w->o.table ? TABLE_CONTENT_TYPE : "application/json", NULL) < 0)
        return NULL; /* reset by an egress filter; on_conn_close freed w */

    if (w->o.initial) {
        size_t n;
        const cJSON **items = store_list(hub->store, w->o.kind, w->namespace, &n);
        for (size_t i = 0; i < n; i++)
            if (matches(w, items[i]) && send_event(w, "ADDED", items[i], 1) < 0) {
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
    w->starting = 0;
    w->allowance = hub->max_pending + conn_pending_bytes(c);
    if (!hub->listener && !(hub->listener = store_listen(hub->store, on_change, hub)))
        goto fail;
    w->listening = 1;
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
