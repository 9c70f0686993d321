/* answer.c -- what the HTTP fault types send: a prepared answer sent now or when a timer fires, or
 * a request handed back to the engine when a timer fires. Delays are timers on the loop, never
 * sleeps; a client that goes away first cancels the timer (the connection's close callback). */
#include "harness/faults/answer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "harness/engine.h"
#include "harness/fault.h"
#include "mockapi/base/log.h"
#include "mockapi/gitlab/proto.h"
#include "mockapi/http/conn.h"
#include "mockapi/http/http.h"
#include "mockapi/kube/status.h"
#include "mockapi/kube/route.h"

/* One request waiting for its timer. The answer (or the route, to serve it) is a copy: nothing here
 * points into the rule, so a rule removed meanwhile cannot leave it dangling. */
struct pending {
    struct event *timer;
    struct conn *conn;
    struct http_request *req;
    struct engine *engine;
    struct answer *answer; /* NULL: serve normally */
    struct route route;
    struct glproto_route glroute;
    int gitlab; /* serve glroute on the fake GitLab, not route */
};

struct answer *answer_new(int code, const char *content_type, const void *body, size_t len)
{
    struct answer *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->code = code;
    a->body = malloc(len + 1);
    if (!a->body || (content_type && !(a->content_type = strdup(content_type)))) {
        answer_free(a);
        return NULL;
    }
    if (len)
        memcpy(a->body, body, len);
    a->body[len] = '\0';
    a->len = len;
    return a;
}

int answer_add_header(struct answer *a, const char *name, const char *value)
{
    size_t i = 0;
    while (a->headers[i])
        i += 2;
    if (i >= 2 * ANSWER_MAX_HEADERS)
        return -1;
    if (!(a->headers[i] = strdup(name)))
        return -1;
    if (!(a->headers[i + 1] = strdup(value))) {
        free(a->headers[i]);
        a->headers[i] = NULL;
        return -1;
    }
    return 0;
}

struct answer *answer_status(int code, const char *reason, const char *message, cJSON *details,
                             long retry_after, const char *content_type)
{
    struct answer *a = NULL;
    char *text = NULL;
    cJSON *st = status_new(code, reason && *reason ? reason : NULL, message);
    if (!st)
        goto out;
    if (retry_after > 0 && !details)
        details = cJSON_CreateObject();
    if (details && retry_after > 0 &&
        !cJSON_GetObjectItemCaseSensitive(details, "retryAfterSeconds"))
        cJSON_AddNumberToObject(details, "retryAfterSeconds", (double)retry_after);
    if (details && !cJSON_AddItemToObject(st, "details", details))
        goto out;
    details = NULL; /* st owns it now */
    if (!(text = cJSON_PrintUnformatted(st)))
        goto out;
    size_t len = strlen(text);
    text[len] = '\n'; /* the apiserver's encoder ends every body with a newline */
    a = answer_new(code, content_type ? content_type : HTTP_CT_JSON, text, len + 1);
    if (a && retry_after >= 0) {
        char v[24];
        snprintf(v, sizeof v, "%ld", retry_after);
        if (answer_add_header(a, "Retry-After", v) < 0) {
            answer_free(a);
            a = NULL;
        }
    }
out:
    cJSON_free(text);
    cJSON_Delete(details);
    cJSON_Delete(st);
    return a;
}

struct answer *answer_dup(const struct answer *a)
{
    struct answer *b = answer_new(a->code, a->content_type, a->body, a->len);
    for (size_t i = 0; b && a->headers[i]; i += 2)
        if (answer_add_header(b, a->headers[i], a->headers[i + 1]) < 0) {
            answer_free(b);
            b = NULL;
        }
    return b;
}

void answer_free(struct answer *a)
{
    if (!a)
        return;
    for (size_t i = 0; a->headers[i]; i++)
        free(a->headers[i]);
    free(a->content_type);
    free(a->body);
    free(a);
}

int answer_send(struct conn *c, const struct answer *a)
{
    return conn_respond(c, a->code, a->content_type, (const char *const *)a->headers, a->body,
                        a->len);
}

static void pending_free(struct pending *p)
{
    if (p->timer)
        event_free(p->timer);
    answer_free(p->answer);
    free(p);
}

/* The client went away first: nothing will be sent. */
static void on_gone(void *arg, struct conn *c)
{
    struct pending *p = arg;
    log_debug("conn %llu: client left before the delayed answer", (unsigned long long)conn_id(c));
    pending_free(p);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct pending *p = arg;
    struct conn *c = p->conn;
    conn_set_close_cb(c, NULL, NULL); /* the stream owner (a watch, say) may want the slot */
    if (p->answer)
        answer_send(c, p->answer); /* may free c: not touched again */
    else if (p->gitlab)
        engine_serve_gitlab(p->engine, c, p->req, &p->glroute);
    else
        engine_serve(p->engine, c, p->req, &p->route);
    pending_free(p);
}

static const char oom_status[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
    "\"message\":\"out of memory\",\"reason\":\"InternalError\",\"code\":500}\n";

/* Arm a timer for p; on failure free p and return -1. */
static int arm(struct fault_request *fr, struct pending *p, int64_t ms)
{
    struct event_base *base = fr->base ? fr->base : engine_base(fr->engine);
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000)};
    p->conn = fr->conn;
    p->req = fr->req;
    p->engine = fr->engine;
    if (!(p->timer = evtimer_new(base, on_timer, p)) || evtimer_add(p->timer, &tv) < 0) {
        pending_free(p);
        return -1;
    }
    conn_set_close_cb(fr->conn, on_gone, p);
    return 0;
}

enum hook_verdict answer_after(struct fault_request *fr, int64_t ms, struct answer *a)
{
    if (!a) {
        conn_respond(fr->conn, 500, "application/json", NULL, oom_status, sizeof oom_status - 1);
        return HOOK_HANDLED;
    }
    if (ms <= 0) {
        answer_send(fr->conn, a);
        answer_free(a);
        return HOOK_HANDLED;
    }
    struct pending *p = calloc(1, sizeof *p);
    if (!p) {
        answer_send(fr->conn, a); /* better early than never */
        answer_free(a);
        return HOOK_HANDLED;
    }
    p->answer = a;
    if (arm(fr, p, ms) < 0)
        conn_respond(fr->conn, 500, "application/json", NULL, oom_status, sizeof oom_status - 1);
    return HOOK_HANDLED;
}

void answer_serve_now(struct fault_request *fr)
{
    if (fr->gitlab)
        engine_serve_gitlab(fr->engine, fr->conn, fr->req, fr->gitlab);
    else
        engine_serve(fr->engine, fr->conn, fr->req, fr->route);
}

enum hook_verdict answer_serve_after(struct fault_request *fr, int64_t ms)
{
    struct pending *p = ms > 0 ? calloc(1, sizeof *p) : NULL;
    if (!p) {
        answer_serve_now(fr);
        return HOOK_HANDLED;
    }
    p->route = *fr->route;
    if (fr->gitlab) {
        p->glroute = *fr->gitlab;
        p->gitlab = 1;
    }
    if (arm(fr, p, ms) < 0)
        answer_serve_now(fr);
    return HOOK_HANDLED;
}
