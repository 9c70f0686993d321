/* tls_stall.c -- the `tls-stall` fault: new connections are accepted at the TCP level and then
 * nothing more happens: the server never answers the TLS ClientHello, so the client's handshake
 * times out. Over plain HTTP it is the same silence before any request is read. */
#include <stddef.h>

#include "harness/fault.h"
#include "harness/faults/param.h"
#include "mockapi/http/conn.h"

static enum hook_verdict on_accept(struct fault_accept *fa)
{
    conn_pause(fa->conn); /* before the handshake: the ClientHello is never read */
    return HOOK_HANDLED;
}

const struct fault_type fault_type_tls_stall = {
    .name = "tls-stall",
    .layer = FAULT_LAYER_LISTENER,
    .summary = "accept new connections and never complete the TLS handshake (over plain HTTP: "
               "never read a request)",
    .client_sees = "after Go's 10 s TLS handshake timeout: Unable to connect to the server: "
                   "net/http: TLS handshake timeout",
    .keys = param_no_keys,
    .parse = param_parse_none,
    .on_accept = on_accept,
};
