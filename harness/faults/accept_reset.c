/* accept_reset.c -- the `accept-reset` fault: every new connection is reset (RST) as soon as it is
 * accepted, before TLS and before any request is read */
#include <stddef.h>

#include "harness/fault.h"
#include "harness/faults/param.h"
#include "mockapi/http/conn.h"

static const char *const keys[] = {NULL};

static int parse(const cJSON *spec, const char *path, struct diag *d, void **ctx)
{
    *ctx = NULL;
    return param_check_keys(spec, path, keys, d);
}

static enum hook_verdict on_accept(struct fault_accept *fa)
{
    conn_reset(fa->conn);
    return HOOK_HANDLED;
}

const struct fault_type fault_type_accept_reset = {
    .name = "accept-reset",
    .layer = FAULT_LAYER_LISTENER,
    .summary = "reset every new connection (RST) as soon as it is accepted, before TLS and before "
               "any request",
    .client_sees = "connection reset by peer",
    .keys = keys,
    .parse = parse,
    .on_accept = on_accept,
};
