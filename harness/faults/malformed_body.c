/* malformed_body.c -- the `malformed-body` fault: answer 200 application/json with a body that is
 * not JSON (default `{not json`), so the client's decoder fails. */
#include <stdio.h>
#include <string.h>

#include "harness/diag.h"
#include "harness/fault.h"
#include "harness/faults/answer.h"
#include "harness/faults/param.h"
#include "mockapi/http/http.h"

#define MALFORMED_DEFAULT "{not json"

static const char *const keys[] = {"body", NULL};

static int parse(const cJSON *spec, const char *path, struct diag *d, void **ctx)
{
    const char *body = MALFORMED_DEFAULT;
    if (param_check_keys(spec, path, keys, d) < 0 ||
        param_string(spec, path, "body", 0, 1, &body, d) < 0)
        return -1;
    if (!(*ctx = answer_new(HTTP_OK, HTTP_CT_JSON, body, strlen(body)))) {
        diag_path(d, path, "out of memory");
        return -1;
    }
    return 0;
}

static void free_ctx(void *ctx)
{
    answer_free(ctx);
}

static enum hook_verdict on_request(struct fault_request *fr)
{
    const struct answer *a = fr->ctx;
    snprintf(fr->note, fr->note_len, "malformed body (%zu bytes)", a->len);
    answer_send(fr->conn, a);
    return HOOK_HANDLED;
}

const struct fault_type fault_type_malformed_body = {
    .name = "malformed-body",
    .layer = FAULT_LAYER_HTTP,
    .summary = "answer 200 application/json with a body that is not JSON (default `{not json`)",
    .client_sees = "error: invalid character 'n' looking for beginning of object key string",
    .keys = keys,
    .parse = parse,
    .free = free_ctx,
    .on_request = on_request,
};
