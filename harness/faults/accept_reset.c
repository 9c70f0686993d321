/* accept_reset.c -- the `accept-reset` fault: every new connection is reset (RST) as soon as it is
 * accepted, before TLS and before any request is read */
#include <stddef.h>

#include "harness/fault.h"
#include "harness/faults/param.h"
#include "mockapi/http/conn.h"

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
    .client_sees = "a POST at once: Unable to connect to the server: dial tcp 127.0.0.1:<port>: "
                   "connect: connection reset by peer; a GET after 10 retries, 1 s apart: error: "
                   "Get \"https://127.0.0.1:<port>/...\": <the same> - error from a previous "
                   "attempt: <the same>. The RST races the client, so the failing step varies "
                   "between runs: also read tcp 127.0.0.1:<p>->127.0.0.1:<port>: read: connection "
                   "reset by peer, or write: connection reset by peer / broken pipe",
    .keys = param_no_keys,
    .parse = param_parse_none,
    .on_accept = on_accept,
};
