/* close.c -- the `close` fault: serve the request, let the first N bytes of the answer out (none by
 * default), then close the connection with a FIN. Covers "empty reply" (N = 0) and a truncated
 * answer (N inside the body); the client reads the bytes, then EOF. */
#include <stdio.h>
#include <stdlib.h>

#include "harness/diag.h"
#include "harness/fault.h"
#include "harness/faults/param.h"
#include "harness/faults/shape.h"

static const char *const keys[] = {"afterBytes", NULL};

static int parse(const cJSON *spec, const char *path, struct diag *d, void **ctx)
{
    long n = 0;
    if (param_check_keys(spec, path, keys, d) < 0 ||
        param_int(spec, path, "afterBytes", 0, 0, (long)(1L << 40), &n, d) < 0)
        return -1;
    struct shape_cut *cut = calloc(1, sizeof *cut);
    if (!cut) {
        diag_path(d, path, "out of memory");
        return -1;
    }
    cut->bytes = (uint64_t)n;
    cut->end = SHAPE_FIN;
    *ctx = cut;
    return 0;
}

static enum hook_verdict on_request(struct fault_request *fr)
{
    const struct shape_cut *cut = fr->ctx;
    char what[64];
    if (fr->note)
        snprintf(fr->note, fr->note_len, "close %s", shape_cut_describe(cut, what, sizeof what));
    return shape_cut_install(fr->conn, cut) < 0 ? HOOK_HANDLED : HOOK_PASS;
}

const struct fault_type fault_type_close = {
    .name = "close",
    .layer = FAULT_LAYER_HTTP,
    .summary = "serve the request, send the first \"afterBytes\" bytes of the answer (default 0), "
               "then close the connection (FIN): an empty reply or a truncated answer",
    .client_sees =
        "afterBytes 0: Unable to connect to the server: EOF (a GET after 10 retries, 1 s "
        "apart; a POST at once, its object created); inside the body (never retried): a "
        "klog line, then error: unexpected error when reading response body. Please "
        "retry. Original error: unexpected EOF (a list prints it without \"error: \")",
    .keys = keys,
    .parse = parse,
    .on_request = on_request,
};
