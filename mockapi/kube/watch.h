/* watch.h -- watch streams: one chunked JSON event per line, initial events, bookmarks, expiry,
 * selector transitions, Table rows, slow-reader cap */
#ifndef KF_WATCH_H
#define KF_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct conn;
struct event_base;
struct kinds_info;
struct ksel;
struct mockapi_hooks;
struct store;
struct watch;
struct watch_hub;

/** Bytes written toward a watcher and not yet taken by the kernel past which the watcher is cut:
 *  its connection is closed (the unsent bytes dropped) and it must watch again from its last
 *  resourceVersion, as kube-apiserver's cacher ends a watcher whose buffer stays full. */
#define WATCH_MAX_PENDING_BYTES (8 * 1024 * 1024)
#define WATCH_DEFAULT_BOOKMARK_MS 60000 /**< periodic bookmark interval (apiserver: ~1 min) */
#define WATCH_INITIAL_EVENTS_END "k8s.io/initial-events-end"

struct watch_opts {
    const struct kinds_info *kind;
    const char *namespace; /**< "" for all namespaces */
    struct ksel *labels;   /**< NULL for all; the watch takes ownership */
    struct ksel *fields;   /**< NULL for all; the watch takes ownership */
    int64_t since_rv;      /**< resume after this resourceVersion; 0 with initial = 1 for "any" */
    int initial;           /**< send synthetic ADDED events for current objects first */
    int initial_end_bookmark; /**< sendInitialEvents=true: end the initial events with the bookmark
                               */
    int bookmarks;            /**< allowWatchBookmarks=true */
    int table;                /**< objects as one-row meta.k8s.io/v1 Tables */
    int64_t timeout_ms;       /**< end the stream after this long; 0: never */
};

/** The set of live watches of one server. hooks borrowed (may be NULL). */
struct watch_hub *watch_hub_new(struct event_base *base, struct store *store,
                                const struct mockapi_hooks *hooks);

/** End every watch (their connections close) and free the hub. NULL is a no-op. */
void watch_hub_free(struct watch_hub *hub);

/** Change the periodic bookmark interval (ms; 0 turns periodic bookmarks off). */
void watch_hub_set_bookmark_interval(struct watch_hub *hub, int64_t ms);

/** Change the unsent bytes that cut a watcher (0: WATCH_MAX_PENDING_BYTES). Tests lower it. */
void watch_hub_set_max_pending(struct watch_hub *hub, size_t bytes);

/** Number of live watches. */
size_t watch_hub_count(const struct watch_hub *hub);

/** Answer the connection's current request with a watch stream (200, chunked) and keep it until
 *  the client leaves, the timeout passes or the hub ends. Takes ownership of opts->labels/fields.
 *  Returns the watch (owned by the hub), or NULL when it could not start (the request was
 *  answered with a Status then). */
struct watch *watch_start(struct watch_hub *hub, struct conn *c, const struct watch_opts *opts);

/** The connection a watch writes to. */
struct conn *watch_conn(const struct watch *w);

/** The resource kind a watch is on. */
const struct kinds_info *watch_kind(const struct watch *w);

/** Write raw bytes into the stream as one chunk (for hooks: duplicates, junk, cut events).
 *  0, or -1 when the stream is gone or ending (then write nothing more). */
int watch_send_raw(struct watch *w, const void *data, size_t len);

/** End the stream cleanly (last chunk) and free the watch. Called from the event hook, the end
 *  happens when the hook returns (the watch stays valid until then). */
void watch_end(struct watch *w);

#endif
