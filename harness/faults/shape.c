/* shape.c -- helpers shared by the byte-level and listener faults: the head's length, cutting one
 * response short and ending the connection with a FIN or an RST, silencing a connection, switching
 * the port.
 *
 * The cut filter keeps no per-connection state (its argument is the rule's parsed parameters), so
 * nothing of ours can outlive the connection: conn.h tells a filter nothing when its connection is
 * freed. It moves no byte until the cut can be placed, then moves the kept bytes, silences the
 * connection for good (conn_silence: no later fault can put bytes after the cut), and ends it. */
#include "harness/faults/shape.h"

#include <inttypes.h>
#include <stdio.h>

#include <event2/buffer.h>

#include "harness/engine.h"
#include "harness/scenario.h"
#include "mockapi/base/log.h"
#include "mockapi/http/conn.h"
#include "mockapi/gitlab/gitlab.h"
#include "mockapi/server.h"

size_t shape_head_len(struct evbuffer *buf, size_t avail)
{
    struct evbuffer_ptr end, p;
    if (avail > evbuffer_get_length(buf) ||
        evbuffer_ptr_set(buf, &end, avail, EVBUFFER_PTR_SET) < 0)
        return 0;
    p = evbuffer_search_range(buf, "\r\n\r\n", 4, NULL, &end);
    return p.pos < 0 ? 0 : (size_t)p.pos + 4;
}

int shape_silence(struct conn *c)
{
    return conn_silence(c);
}

/* The kept bytes have left the wire buffer for the kernel: now the RST. Closing with SO_LINGER 0
 * while they still sat in the wire buffer would drop them (conn_reset drops what is unsent). */
static void on_wire_drained(struct evbuffer *wire, const struct evbuffer_cb_info *info, void *arg)
{
    if (info->n_deleted == 0 || evbuffer_get_length(wire) > 0)
        return;
    evbuffer_remove_cb(wire, on_wire_drained, arg);
    /* Called from libevent's write path, which holds a reference on the bufferevent: conn_reset
     * may free the connection here; the bufferevent itself goes when that path returns. */
    conn_reset(arg);
}

static void cut_filter(void *arg, struct conn *c, struct evbuffer *staged)
{
    const struct shape_cut *cut = arg;
    int ends = 0;
    size_t avail = conn_egress_current(c, &ends);
    size_t keep;
    if (avail == 0)
        return; /* installed before the answer began */
    if (cut->after_headers) {
        keep = shape_head_len(staged, avail);
        if (keep == 0 && !ends)
            return; /* the head is not all written yet */
        if (keep == 0)
            keep = avail;
    } else if (avail >= cut->bytes) {
        keep = (size_t)cut->bytes;
    } else if (ends) {
        keep = avail;
    } else {
        return; /* a stream: wait until the cut point was written */
    }
    struct evbuffer *wire = conn_wire(c);
    evbuffer_remove_buffer(staged, wire, keep);
    if (conn_silence(c) < 0)
        return;
    if (cut->end == SHAPE_FIN) {
        conn_close(c);
        return;
    }
    if (evbuffer_get_length(wire) == 0)
        conn_reset(c);
    else if (evbuffer_add_cb(wire, on_wire_drained, c) == NULL)
        conn_reset(c); /* out of memory: reset now rather than never */
}

int shape_cut_install(struct conn *c, const struct shape_cut *cut)
{
    return conn_set_egress(c, cut_filter, (void *)cut);
}

const char *shape_cut_describe(const struct shape_cut *cut, char *buf, size_t len)
{
    if (cut->after_headers)
        snprintf(buf, len, "after the headers");
    else
        snprintf(buf, len, "after %" PRIu64 " bytes", cut->bytes);
    return buf;
}

void shape_listen(struct engine *e, struct rule *r, int mode, int on)
{
    char err[256];
    struct mockapi_server *s = NULL;
    struct gitlab_server *g = NULL;
    if (r->match.server == MATCH_SERVER_GITLAB)
        g = engine_gitlab(e);
    else
        s = engine_server(e);
    if (!s && !g)
        return;
    enum listen_mode now = s ? mockapi_server_get_listen_mode(s) : gitlab_server_get_listen_mode(g);
    enum listen_mode to = on ? (enum listen_mode)mode : LISTEN_NORMAL;
    if (!on && (int)now != mode)
        return; /* another listener fault switched it since: that one stays */
    int rc = s ? mockapi_server_listen_mode(s, to, err, sizeof err)
               : gitlab_server_listen_mode(g, to, err, sizeof err);
    if (rc < 0)
        log_warn("rule %s: %s%s", r->name, on ? "" : "reopening the port: ", err);
}
