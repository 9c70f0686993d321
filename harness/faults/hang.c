/* hang.c -- the `hang` fault: read the request and never answer. The client waits until its own
 * timeout (kubectl without --request-timeout waits forever). Nothing is allocated per request: when
 * the client gives up and closes, conn.c frees the connection (and the engine journals the request
 * as unanswered); at shutdown the server aborts it with the others. */
#include <stdio.h>

#include "harness/fault.h"
#include "harness/faults/param.h"

static enum hook_verdict on_request(struct fault_request *fr)
{
    snprintf(fr->note, fr->note_len, "hang");
    return HOOK_HANDLED;
}

const struct fault_type fault_type_hang = {
    .name = "hang",
    .layer = FAULT_LAYER_HTTP,
    .summary = "read the request and never answer, until the client gives up",
    .client_sees =
        "nothing: kubectl waits until it is killed; with --request-timeout=2s, after 2 s: "
        "Unable to connect to the server: context deadline exceeded (the wording "
        "varies between runs: also ... context deadline exceeded (Client.Timeout "
        "exceeded while awaiting headers) or ... net/http: request canceled "
        "(Client.Timeout exceeded while awaiting headers))",
    .keys = param_no_keys,
    .parse = param_parse_none,
    .free = NULL,
    .on_request = on_request,
};
