/* watch_list_refused.c -- the `watch-list-refused` fault: answer a watch-list request (a watch with
 * sendInitialEvents=true) as a kube-apiserver without the WatchList feature gate does, 422 Invalid
 * `ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is
 * forbidden for watch unless the WatchList feature gate is enabled` (apimachinery's
 * validateWatchOptions), or with another Status; client-go then falls back to LIST + WATCH. Other
 * requests the rule matches are served normally. An HTTP-layer fault: it acts on the request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/diag.h"
#include "harness/fault.h"
#include "harness/faults/answer.h"
#include "harness/faults/param.h"
#include "harness/match.h"
#include "harness/scenario.h"
#include "mockapi/http/conn.h"
#include "mockapi/kube/status.h"

#define WLR_FIELD "sendInitialEvents"
#define WLR_DETAIL                                                                                 \
    "Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is "    \
    "enabled"

static const char *const keys[] = {"code", "reason", "message", NULL};

static int parse(const cJSON *spec, const char *path, struct diag *d, void **ctx)
{
    long code = 422;
    const char *reason = NULL, *message = NULL;
    struct answer *a = NULL;
    int bad = param_check_keys(spec, path, keys, d) < 0;
    bad |= param_int(spec, path, "code", 0, 400, 599, &code, d) < 0;
    bad |= param_string(spec, path, "reason", 0, 1, &reason, d) < 0;
    bad |= param_string(spec, path, "message", 0, 0, &message, d) < 0;
    if (bad)
        return -1;
    /* the apiserver's own answer, whose message and details the defaults keep */
    cJSON *st = status_invalid_kind("ListOptions", "meta.k8s.io", "", WLR_FIELD,
                                    "FieldValueForbidden", WLR_DETAIL);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(st, "message");
    if (st && cJSON_IsString(m)) {
        int as_is = code == 422 && !reason && !message;
        cJSON *details = as_is ? cJSON_DetachItemFromObjectCaseSensitive(st, "details") : NULL;
        if (!reason && code == 422)
            reason = STATUS_REASON_INVALID;
        a = answer_status((int)code, reason, message ? message : m->valuestring, details, -1, NULL);
    }
    cJSON_Delete(st);
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
    const char *sie = http_request_param(fr->req, WLR_FIELD);
    if (match_verb_of(fr->req, fr->route) != MATCH_WATCH || !sie || strcmp(sie, "true") != 0) {
        if (fr->note)
            snprintf(fr->note, fr->note_len, "not a watch-list request: served");
        return HOOK_PASS;
    }
    if (fr->note)
        snprintf(fr->note, fr->note_len, "watch-list refused: status %d", a->code);
    answer_send(fr->conn, a);
    return HOOK_HANDLED;
}

const struct fault_type fault_type_watch_list_refused = {
    .name = "watch-list-refused",
    .layer = FAULT_LAYER_HTTP,
    .summary = "answer a watch-list request (watch with sendInitialEvents=true) as an apiserver "
               "without the WatchList feature gate: 422 Invalid, ListOptions.meta.k8s.io \"\" is "
               "invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch "
               "unless the WatchList feature gate is enabled (or \"code\", \"reason\", "
               "\"message\"); other requests are served normally",
    .client_sees = "client-go falls back to LIST + WATCH and carries on (kubectl wait still "
                   "succeeds); kubectl 1.32 with KUBE_FEATURE_WatchListClient=true logs W... "
                   "reflector.go:362] The watchlist request ended with an error, falling back to "
                   "the standard LIST/WATCH semantics because making progress is better than "
                   "deadlocking, err = <message> and W... simple.go:262] The watchlist request for "
                   "/v1, Resource=pods ended with an error, falling back to the standard LIST "
                   "semantics, err = <message>; clients without watch-list never meet it",
    .keys = keys,
    .parse = parse,
    .free = free_ctx,
    .on_request = on_request,
};
