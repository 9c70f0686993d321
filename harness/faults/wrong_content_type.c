/* wrong_content_type.c -- the `wrong-content-type` fault: serve the request normally but label the
 * answer with another Content-Type (default text/html), which client-go has no decoder for. An
 * egress filter rewrites the head while engine_serve() writes it, then is removed: the body, its
 * length and everything after it pass untouched. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "harness/engine.h"
#include "harness/diag.h"
#include "harness/fault.h"
#include "harness/faults/answer.h"
#include "harness/faults/param.h"
#include "mockapi/base/log.h"
#include "mockapi/http/conn.h"

#define WCT_DEFAULT "text/html"
/* A longer head passes unchanged (ours are a few hundred bytes). */
#define WCT_HEAD_MAX (16 * 1024)
#define WCT_TYPE_MAX 256

static const char *const keys[] = {"contentType", NULL};

/* Lives on on_request's stack: engine_serve() writes the head before it returns. */
struct rewrite {
    const char *content_type;
    int done;
};

static int parse(const cJSON *spec, const char *path, struct diag *d, void **ctx)
{
    const char *ct = WCT_DEFAULT;
    char p[PARAM_PATH_MAX];
    if (param_check_keys(spec, path, keys, d) < 0 ||
        param_string(spec, path, "contentType", 0, 0, &ct, d) < 0)
        return -1;
    if (strlen(ct) > WCT_TYPE_MAX || strpbrk(ct, "\r\n")) {
        diag_path(d, param_path(p, sizeof p, path, "contentType"),
                  "a content type is one line of at most %d bytes", WCT_TYPE_MAX);
        return -1;
    }
    if (!(*ctx = strdup(ct))) {
        diag_path(d, path, "out of memory");
        return -1;
    }
    return 0;
}

/* Write head (len bytes, ending in the blank line) to wire with its Content-Type replaced, or
 * added when it had none. */
static void write_head(struct evbuffer *wire, const char *head, size_t len, const char *ct)
{
    const char *line = head, *end = head + len - 2; /* the final CRLF */
    int replaced = 0;
    while (line < end) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        size_t n = eol ? (size_t)(eol - line) + 1 : (size_t)(end - line);
        if (n > 13 && strncasecmp(line, "Content-Type:", 13) == 0) {
            evbuffer_add_printf(wire, "Content-Type: %s\r\n", ct);
            replaced = 1;
        } else {
            evbuffer_add(wire, line, n);
        }
        line += n;
    }
    if (!replaced)
        evbuffer_add_printf(wire, "Content-Type: %s\r\n", ct);
    evbuffer_add(wire, "\r\n", 2);
}

static void on_egress(void *arg, struct conn *c, struct evbuffer *staged)
{
    struct rewrite *rw = arg;
    struct evbuffer *wire = conn_wire(c);
    if (!rw->done) {
        struct evbuffer_ptr at = evbuffer_search(staged, "\r\n\r\n", 4, NULL);
        if (at.pos < 0 && evbuffer_get_length(staged) < WCT_HEAD_MAX)
            return; /* the rest of the head is still to come */
        if (at.pos >= 0 && (size_t)at.pos + 4 <= WCT_HEAD_MAX) {
            size_t len = (size_t)at.pos + 4;
            char *head = malloc(len);
            if (head && evbuffer_remove(staged, head, len) == (int)len)
                write_head(wire, head, len, rw->content_type);
            free(head);
        }
        rw->done = 1;
    }
    evbuffer_add_buffer(wire, staged);
}

static void free_ctx(void *ctx)
{
    free(ctx);
}

static enum hook_verdict on_request(struct fault_request *fr)
{
    struct rewrite rw = {fr->ctx, 0};
    snprintf(fr->note, fr->note_len, "content type %s", rw.content_type);
    if (conn_set_egress(fr->conn, on_egress, &rw) < 0)
        return HOOK_HANDLED; /* gone */
    answer_serve_now(fr);
    if (!rw.done)
        log_info("wrong-content-type: the answer to %s %s was not written at once; left as is",
                 fr->req->method, fr->req->url);
    /* still allocated: we are inside the connection's own read callback (conn.h frees later) */
    conn_set_egress(fr->conn, NULL, NULL);
    return HOOK_HANDLED;
}

const struct fault_type fault_type_wrong_content_type = {
    .name = "wrong-content-type",
    .layer = FAULT_LAYER_HTTP,
    .summary = "serve the request normally but with another Content-Type (default text/html)",
    .client_sees = "error: serializer for text/html doesn't exist (kubectl get pods, which asks "
                   "for a Table, prints the same without \"error: \")",
    .keys = keys,
    .parse = parse,
    .free = free_ctx,
    .on_request = on_request,
};
