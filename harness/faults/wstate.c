/* wstate.c -- what the watch fault types share: per-watch counts in a rule's parameters, chunk
 * framing as an egress filter sees it, ending a connection from inside an egress filter.
 *
 * The counts live in the rule (not with the watch, which tells nobody when it goes): an entry is
 * keyed by connection and request, and dropped once the engine's journal no longer has that request
 * open, i.e. once its answer ended or its connection died. Nothing here holds a timer or a
 * connection, so an entry may outlive its watch without harm. */
#include "harness/faults/wstate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "harness/engine.h"
#include "harness/fault.h"
#include "harness/journal.h"
#include "harness/scenario.h"
#include "mockapi/base/log.h"
#include "mockapi/http/conn.h"
#include "mockapi/kube/watch.h"

#define CHUNK_LINE_MAX 20 /* "ffffffffffffffff\r\n" and a little */

/* The open journal entry of conn_id, or NULL (no engine, or the answer is over). */
static const struct journal_entry *open_entry(const struct fault_watch *fw, uint64_t conn_id)
{
    return fw->engine ? journal_open_entry(engine_journal(fw->engine), conn_id) : NULL;
}

/* resourceVersion=N in a raw request target, or -1. */
static int64_t query_rv(const char *url)
{
    const char *q = strchr(url, '?');
    while (q && *q) {
        q++;
        if (strncmp(q, "resourceVersion=", 16) == 0) {
            char *end;
            errno = 0;
            long long v = strtoll(q + 16, &end, 10);
            if (!errno && end != q + 16 && (*end == '&' || *end == '\0') && v >= 0)
                return v;
            return -1;
        }
        q = strchr(q, '&');
    }
    return -1;
}

/* Drop the entries whose request is no longer being answered. */
static void collect(struct wstate *ws, const struct fault_watch *fw)
{
    if (!fw->engine)
        return;
    for (size_t i = 0; i < ws->n;) {
        const struct journal_entry *je = open_entry(fw, ws->v[i].conn_id);
        if (!je || je->seq != ws->v[i].seq)
            ws->v[i] = ws->v[--ws->n];
        else
            i++;
    }
}

struct wstate_entry *wstate_get(struct wstate *ws, const struct fault_watch *fw)
{
    uint64_t id = conn_id(watch_conn(fw->watch));
    const struct journal_entry *je = open_entry(fw, id);
    uint64_t seq = je ? je->seq : 0;
    for (size_t i = 0; i < ws->n; i++)
        if (ws->v[i].conn_id == id && ws->v[i].seq == seq)
            return &ws->v[i];
    collect(ws, fw);
    if (ws->n == WSTATE_MAX_WATCHES) {
        if (!ws->warned)
            log_warn("rule %s: %s keeps %d watches already; further watches are left alone",
                     wstate_rule_name(fw), fw->rule ? fw->rule->fault->name : "watch fault",
                     WSTATE_MAX_WATCHES);
        ws->warned = 1;
        return NULL;
    }
    if (ws->n == ws->cap) {
        size_t cap = ws->cap ? ws->cap * 2 : 8;
        struct wstate_entry *v = realloc(ws->v, cap * sizeof *v);
        if (!v)
            return NULL;
        ws->v = v;
        ws->cap = cap;
    }
    struct wstate_entry *e = &ws->v[ws->n++];
    memset(e, 0, sizeof *e);
    e->conn_id = id;
    e->seq = seq;
    e->last_rv = je ? query_rv(je->path) : -1;
    return e;
}

struct wstate_entry *wstate_find(struct wstate *ws, uint64_t conn_id)
{
    struct wstate_entry *found = NULL;
    for (size_t i = 0; i < ws->n; i++)
        if (ws->v[i].conn_id == conn_id && (!found || ws->v[i].seq > found->seq))
            found = &ws->v[i];
    return found;
}

void wstate_release(struct wstate *ws)
{
    free(ws->v);
    memset(ws, 0, sizeof *ws);
}

const char *wstate_rule_name(const struct fault_watch *fw)
{
    return fw->rule ? fw->rule->name : "-";
}

int64_t wstate_object_rv(const cJSON *obj)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *rv = cJSON_GetObjectItemCaseSensitive(m, "resourceVersion");
    if (!cJSON_IsString(rv) || !rv->valuestring[0])
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(rv->valuestring, &end, 10);
    return errno || *end || v < 0 ? -1 : v;
}

int wstate_chunk(struct evbuffer *buf, size_t *head, size_t *len)
{
    char line[CHUNK_LINE_MAX + 1];
    size_t have = evbuffer_get_length(buf);
    ev_ssize_t n = evbuffer_copyout(buf, line, have < CHUNK_LINE_MAX ? have : CHUNK_LINE_MAX);
    if (n <= 0)
        return 0;
    line[n] = '\0';
    char *crlf = strstr(line, "\r\n");
    if (!crlf)
        return (size_t)n < CHUNK_LINE_MAX ? 0 : -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(line, &end, 16);
    if (errno || end == line || end != crlf || v > SIZE_MAX / 2)
        return -1;
    *head = (size_t)(crlf - line) + 2;
    *len = (size_t)v;
    return have >= *head + *len + 2 ? 1 : 0;
}

/* The kept bytes left the wire buffer for the kernel: now the RST (as shape.c does; SO_LINGER 0
 * with bytes still in the wire buffer would drop them). */
static void on_wire_drained(struct evbuffer *wire, const struct evbuffer_cb_info *info, void *arg)
{
    if (info->n_deleted == 0 || evbuffer_get_length(wire) > 0)
        return;
    evbuffer_remove_cb(wire, on_wire_drained, arg);
    conn_reset(arg);
}

void wstate_end_conn(struct conn *c, enum shape_end end)
{
    if (shape_silence(c) < 0)
        return;
    if (end == SHAPE_FIN) {
        conn_close(c);
        return;
    }
    struct evbuffer *wire = conn_wire(c);
    if (evbuffer_get_length(wire) == 0)
        conn_reset(c);
    else if (evbuffer_add_cb(wire, on_wire_drained, c) == NULL)
        conn_reset(c); /* out of memory: reset now rather than never */
}
