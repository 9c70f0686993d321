/* accept_hang.c -- the `accept-hang` fault: new connections are accepted and never answered; the
 * connection stays open and silent until the client gives up.
 *
 * Not quite "never read": conn.h has no way to stop reading, so requests are still read and served,
 * and an egress filter drops every byte of the answers (a create still creates). Over TLS the
 * handshake completes (it does not go through the egress path). */
#include <stddef.h>

#include "harness/fault.h"
#include "harness/faults/param.h"
#include "harness/faults/shape.h"
#include "mockapi/http/conn.h"

static const char *const keys[] = {NULL};

static int parse(const cJSON *spec, const char *path, struct diag *d, void **ctx)
{
    *ctx = NULL;
    return param_check_keys(spec, path, keys, d);
}

static enum hook_verdict on_accept(struct fault_accept *fa)
{
    shape_silence(fa->conn);
    return HOOK_HANDLED;
}

const struct fault_type fault_type_accept_hang = {
    .name = "accept-hang",
    .layer = FAULT_LAYER_LISTENER,
    .summary = "accept new connections and never answer on them (answers are dropped; the "
               "connection stays open until the client gives up)",
    .client_sees = "nothing: kubectl without --request-timeout waits for good; with "
                   "--request-timeout=2s, after 2 s: Unable to connect to the server: net/http: "
                   "request canceled (Client.Timeout exceeded while awaiting headers) (the wording "
                   "varies between runs: also ... context deadline exceeded)",
    .keys = keys,
    .parse = parse,
    .on_accept = on_accept,
};
