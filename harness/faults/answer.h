/* answer.h -- what the HTTP fault types send: a prepared answer (code, content type, headers, body)
 * sent now or when a timer fires, or a request handed back to the engine when a timer fires. A
 * client that goes away first cancels the timer and frees what was waiting (conn_set_close_cb). */
#ifndef KF_ANSWER_H
#define KF_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "mockapi/hooks.h"

struct conn;
struct fault_request;

#define ANSWER_MAX_HEADERS 4 /**< extra headers one answer carries */

struct answer {
    int code;
    char *content_type;                        /**< NULL: no Content-Type header */
    char *headers[2 * ANSWER_MAX_HEADERS + 1]; /**< name, value pairs, NULL-ended */
    char *body;
    size_t len;
};

/** A new answer with a copy of body (len bytes) and content_type (may be NULL). NULL on OOM.
 *  Caller frees with answer_free() unless it hands it to answer_after(). */
struct answer *answer_new(int code, const char *content_type, const void *body, size_t len);

/** A Failure Status answer as kube-apiserver writes one (responsewriters.ErrorNegotiated): the
 *  JSON of status_new(code, reason, message) plus details, ending in a newline. reason NULL or ""
 *  omits it. details: takes ownership (NULL: none). retry_after >= 0 adds a Retry-After header and,
 *  when > 0, details.retryAfterSeconds (the apiserver derives the header from it). content_type
 *  NULL: application/json. NULL on OOM. */
struct answer *answer_status(int code, const char *reason, const char *message, cJSON *details,
                             long retry_after, const char *content_type);

/** Add a header (copied). 0, or -1 when full or out of memory. */
int answer_add_header(struct answer *a, const char *name, const char *value);

/** A copy of a (headers included), or NULL on OOM. */
struct answer *answer_dup(const struct answer *a);

/** Free. NULL is a no-op. */
void answer_free(struct answer *a);

/** Send a now. 0, or -1 when the connection is gone (see conn.h). */
int answer_send(struct conn *c, const struct answer *a);

/** Send a after ms milliseconds (now when ms <= 0) on fr's connection. Takes ownership of a
 *  (NULL: answers 500 "out of memory" at once). Returns HOOK_HANDLED. */
enum hook_verdict answer_after(struct fault_request *fr, int64_t ms, struct answer *a);

/** Serve fr's request normally now: engine_serve(), or engine_serve_gitlab() for a request to the
 *  fake GitLab. */
void answer_serve_now(struct fault_request *fr);

/** Serve fr's request normally (answer_serve_now) after ms milliseconds (now when ms <= 0).
 *  Returns HOOK_HANDLED. */
enum hook_verdict answer_serve_after(struct fault_request *fr, int64_t ms);

#endif
