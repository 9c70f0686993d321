/* reset.c -- the `reset` fault: end the connection with an RST (SO_LINGER 0) before the answer (the
 * request is not served), after the answer's headers, or after its first N bytes */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/diag.h"
#include "harness/fault.h"
#include "harness/faults/param.h"
#include "harness/faults/shape.h"
#include "harness/jsonc.h"
#include "mockapi/http/conn.h"

#define RESET_AT_ACCEPTED "\"before-response\", \"after-headers\" or {\"afterBytes\": N}"

static const char *const keys[] = {"at", NULL};
static const char *const at_keys[] = {"afterBytes", NULL};

struct reset {
    int before_response;
    struct shape_cut cut;
};

static int parse(const cJSON *spec, const char *path, struct diag *d, void **ctx)
{
    struct reset r = {.before_response = 1, .cut = {.end = SHAPE_RST}};
    char p[PARAM_PATH_MAX];
    long n = 0;
    if (param_check_keys(spec, path, keys, d) < 0)
        return -1;
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(spec, "at");
    param_path(p, sizeof p, path, "at");
    if (cJSON_IsString(at) && strcmp(at->valuestring, "before-response") == 0) {
        r.before_response = 1;
    } else if (cJSON_IsString(at) && strcmp(at->valuestring, "after-headers") == 0) {
        r.before_response = 0;
        r.cut.after_headers = 1;
    } else if (cJSON_IsString(at)) {
        diag_path(d, p, "unknown value \"%s\" (accepted: %s)", at->valuestring, RESET_AT_ACCEPTED);
        return -1;
    } else if (cJSON_IsObject(at)) {
        if (jsonc_check_keys(at, p, at_keys, d) < 0 ||
            param_int(at, p, "afterBytes", 1, 0, (long)(1L << 40), &n, d) < 0)
            return -1;
        r.before_response = 0;
        r.cut.bytes = (uint64_t)n;
    } else if (at) {
        diag_path(d, p, "expected %s", RESET_AT_ACCEPTED);
        return -1;
    }
    struct reset *out = malloc(sizeof *out);
    if (!out) {
        diag_path(d, path, "out of memory");
        return -1;
    }
    *out = r;
    *ctx = out;
    return 0;
}

static enum hook_verdict on_request(struct fault_request *fr)
{
    const struct reset *r = fr->ctx;
    char what[64];
    if (r->before_response) {
        if (fr->note)
            snprintf(fr->note, fr->note_len, "reset before the response");
        conn_reset(fr->conn);
        return HOOK_HANDLED;
    }
    if (fr->note)
        snprintf(fr->note, fr->note_len, "reset %s",
                 shape_cut_describe(&r->cut, what, sizeof what));
    return shape_cut_install(fr->conn, &r->cut) < 0 ? HOOK_HANDLED : HOOK_PASS;
}

const struct fault_type fault_type_reset = {
    .name = "reset",
    .layer = FAULT_LAYER_HTTP,
    .summary = "reset the connection (RST) before the response (\"at\": \"before-response\", the "
               "default; the request is not served), after its headers (\"after-headers\") or "
               "after N bytes ({\"afterBytes\": N}; the request is served)",
    .client_sees =
        "before-response: a GET is retried 10 times, 1 s apart, then error: Get "
        "\"https://127.0.0.1:<port>/api/v1/namespaces/default/pods/p1\": read tcp "
        "127.0.0.1:<p>->127.0.0.1:<port>: read: connection reset by peer - error from a previous "
        "attempt: read tcp 127.0.0.1:<p>->127.0.0.1:<port>: read: connection reset by peer; a POST "
        "fails at once: Unable to connect to the server: read tcp 127.0.0.1:<p>->127.0.0.1:<port>: "
        "read: connection reset by peer. after-headers or mid-body (never retried): a klog line "
        "(E... request.go:1332] Unexpected error when reading response body: ...), then error: "
        "unexpected error when reading response body. Please retry. Original error: read tcp "
        "127.0.0.1:<p>->127.0.0.1:<port>: read: connection reset by peer (a list prints it "
        "without \"error: \")",
    .keys = keys,
    .parse = parse,
    .on_request = on_request,
};
