/* accept_hang.c -- the `accept-hang` fault: new connections are accepted (over TLS the handshake
 * completes) and then never read or answered; the connection stays open and silent until the
 * client gives up. Nothing a client sends is served: a create does not create. */
#include <stddef.h>

#include "harness/fault.h"
#include "harness/faults/param.h"
#include "mockapi/http/conn.h"

static enum hook_verdict on_accept(struct fault_accept *fa)
{
    conn_pause_after_handshake(fa->conn);
    return HOOK_HANDLED;
}

const struct fault_type fault_type_accept_hang = {
    .name = "accept-hang",
    .layer = FAULT_LAYER_LISTENER,
    .summary = "accept new connections (TLS handshake included) and never read or answer on "
               "them; the connection stays open until the client gives up",
    .client_sees = "nothing: kubectl without --request-timeout waits for good; with "
                   "--request-timeout=2s, after 2 s: Unable to connect to the server: net/http: "
                   "request canceled (Client.Timeout exceeded while awaiting headers) (the wording "
                   "varies between runs: also ... context deadline exceeded)",
    .keys = param_no_keys,
    .parse = param_parse_none,
    .on_accept = on_accept,
};
