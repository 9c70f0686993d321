/* status.c -- the `status` fault: answer with a metav1.Status of any code, reason, message and
 * details, optionally with Retry-After (which makes client-go retry 429 and 5xx up to 10 times), or
 * with a raw body of any content type instead of a Status. The answer is built once, at parse. */
#include <stdio.h>
#include <string.h>

#include "harness/diag.h"
#include "harness/fault.h"
#include "harness/faults/answer.h"
#include "harness/faults/param.h"
#include "mockapi/http/http.h"

#define STATUS_MAX_RETRY_AFTER 3600 /* seconds */

static const char *const keys[] = {"code",       "reason", "message",     "details",
                                   "retryAfter", "body",   "contentType", NULL};

static int parse(const cJSON *spec, const char *path, struct diag *d, void **ctx)
{
    long code = 0, retry_after = -1;
    const char *reason = NULL, *message = NULL, *body = NULL, *ct = NULL;
    const cJSON *details = NULL;
    struct answer *a = NULL;
    int bad = param_check_keys(spec, path, keys, d) < 0;
    bad |= param_int(spec, path, "code", 1, 400, 599, &code, d) < 0;
    bad |= param_string(spec, path, "reason", 0, 1, &reason, d) < 0;
    bad |= param_string(spec, path, "message", 0, 1, &message, d) < 0;
    bad |= param_object(spec, path, "details", 0, &details, d) < 0;
    bad |= param_int(spec, path, "retryAfter", 0, 0, STATUS_MAX_RETRY_AFTER, &retry_after, d) < 0;
    bad |= param_string(spec, path, "body", 0, 1, &body, d) < 0;
    bad |= param_string(spec, path, "contentType", 0, 0, &ct, d) < 0;
    if (bad)
        return -1;
    if (body && (reason || message || details)) {
        diag_path(d, path, "\"body\" replaces the Status: drop \"%s\"",
                  reason    ? "reason"
                  : message ? "message"
                            : "details");
        return -1;
    }
    if (!body && !message) {
        diag_path(d, path, "missing key \"message\" (or \"body\" for a raw answer)");
        return -1;
    }
    if (body) {
        a = answer_new((int)code, ct ? ct : HTTP_CT_TEXT, body, strlen(body));
        if (a && retry_after >= 0) {
            char v[24];
            snprintf(v, sizeof v, "%ld", retry_after);
            if (answer_add_header(a, "Retry-After", v) < 0) {
                answer_free(a);
                a = NULL;
            }
        }
    } else {
        a = answer_status((int)code, reason, message, details ? cJSON_Duplicate(details, 1) : NULL,
                          retry_after, ct);
    }
    if (!a) {
        diag_path(d, path, "out of memory");
        return -1;
    }
    *ctx = a;
    return 0;
}

static void free_ctx(void *ctx)
{
    answer_free(ctx);
}

static enum hook_verdict on_request(struct fault_request *fr)
{
    const struct answer *a = fr->ctx;
    snprintf(fr->note, fr->note_len, "status %d", a->code);
    answer_send(fr->conn, a);
    return HOOK_HANDLED;
}

const struct fault_type fault_type_status = {
    .name = "status",
    .layer = FAULT_LAYER_HTTP,
    .summary = "answer with a Status {code, reason, message, details} (+ Retry-After), or a raw "
               "body of any content type",
    .client_sees = "Error from server (<reason>): <message>, e.g. Error from server "
                   "(InternalError): etcdserver: leader changed; without a reason: Error from "
                   "server: <message>; with retryAfter kubectl first retries a 429 or 5xx up to 10 "
                   "times, retryAfter seconds apart; a raw body gets client-go's words, e.g. 500 "
                   "\"boom\": Error from server (InternalError): an error on the server "
                   "(\"boom\") has prevented the request from succeeding (get pods p1)",
    .keys = keys,
    .parse = parse,
    .free = free_ctx,
    .on_request = on_request,
};
