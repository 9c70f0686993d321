/* wstate.h -- what the watch fault types share: per-watch counts kept in a rule's parsed
 * parameters, the chunk framing of a watch stream as an egress filter sees it, and ending a
 * connection from inside an egress filter.
 *
 * Why egress filters: the watch-event hook runs before watch.c serialises an event (a Table row for
 * kubectl, JSON otherwise), and a hook that ends the stream itself would leave watch.c holding a
 * freed watch. So a watch fault decides in the hook and acts on the event's bytes in an egress
 * filter it installs there: the filter runs inside watch.c's own write, and a connection it ends
 * is seen by watch.c as gone (conn_stream_write returns -1). */
#ifndef KF_WSTATE_H
#define KF_WSTATE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "harness/faults/shape.h"

struct conn;
struct evbuffer;
struct fault_watch;

/** Watches one rule keeps counts for at once; a watch past this is left alone (and logged). */
#define WSTATE_MAX_WATCHES 1024

/** One watch a rule fired on: the connection, the request (its journal sequence number; 0 when
 *  there is no engine), events seen so far, and what the type keeps. */
struct wstate_entry {
    uint64_t conn_id;
    uint64_t seq;
    uint64_t events; /**< events offered to the fault so far on this watch */
    int done;        /**< the fault has acted (types that act once) */
    int64_t last_rv; /**< resourceVersion of the last event let through; -1: none yet */
    int64_t now_rv;  /**< the store's resourceVersion when the fault acted (watch-expire) */
};

/** The watches of one rule. Zero-initialise; release with wstate_release(). */
struct wstate {
    struct wstate_entry *v;
    size_t n, cap;
    int warned; /**< the WSTATE_MAX_WATCHES warning was logged */
};

/** The entry of fw's watch, added (events 0, last_rv from the request's resourceVersion) when new.
 *  Entries of watches that ended are dropped first (the engine's journal says which requests are
 *  still being answered). NULL when WSTATE_MAX_WATCHES live watches are kept (the watch is then
 *  left alone) or out of memory. Borrowed: valid until the next wstate_get() on ws. */
struct wstate_entry *wstate_get(struct wstate *ws, const struct fault_watch *fw);

/** The newest entry of connection conn_id (for egress filters), or NULL. */
struct wstate_entry *wstate_find(struct wstate *ws, uint64_t conn_id);

/** Free the entries. */
void wstate_release(struct wstate *ws);

/** The rule's name for logs ("-" when the hook was called without a rule, as unit tests do). */
const char *wstate_rule_name(const struct fault_watch *fw);

/** metadata.resourceVersion of obj as a number, or -1. */
int64_t wstate_object_rv(const cJSON *obj);

/** The first chunk at the front of buf: *head gets the length of its size line ("1a3\r\n"), *len
 *  its payload. 1 when the whole chunk (size line, payload, CRLF) is in buf; 0 when more must come
 *  first; -1 when buf does not start with a chunk. */
int wstate_chunk(struct evbuffer *buf, size_t *head, size_t *len);

/** From inside an egress filter, after moving to the wire what is to leave: drop everything written
 *  on c from now on and end it, with a FIN once the wire bytes reached the kernel (SHAPE_FIN), or
 *  an RST once they did (SHAPE_RST). c may be freed when this returns (not from inside the filter:
 *  conn.c frees it when the filter returns). */
void wstate_end_conn(struct conn *c, enum shape_end end);

#endif
