/* empty_reply.c -- the `empty-reply` fault: read the request, then close the connection (FIN)
 * without a byte of answer. client-go retries a GET 10 times, 1 s apart; a POST is not retried. */
#include <stdio.h>

#include "harness/fault.h"
#include "harness/faults/param.h"
#include "mockapi/http/conn.h"

static enum hook_verdict on_request(struct fault_request *fr)
{
    snprintf(fr->note, fr->note_len, "empty reply");
    /* FIN once earlier answers on this connection are out (none of this one is staged); the
     * connection may be gone after this */
    conn_close(fr->conn);
    return HOOK_HANDLED;
}

const struct fault_type fault_type_empty_reply = {
    .name = "empty-reply",
    .layer = FAULT_LAYER_HTTP,
    .summary = "close the connection (FIN) without any response bytes",
    .client_sees = "Unable to connect to the server: EOF (a GET after 10 retries, 1 s apart; a "
                   "POST at once); curl: (52) Empty reply from server",
    .keys = param_no_keys,
    .parse = param_parse_none,
    .free = NULL,
    .on_request = on_request,
};
