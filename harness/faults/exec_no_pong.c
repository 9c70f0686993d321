/* exec_no_pong.c -- the `exec-no-pong` fault: the session never answers the client's pings (SPDY
 * PING frames, WebSocket pings), as a proxy that swallows them. client-go only logs a failed ping
 * over SPDY; over WebSocket it sends pings and reads pongs as keep-alives. The session engine does
 * it (rcs_faults.no_pong). */
#include <stdio.h>

#include "harness/fault.h"
#include "harness/faults/param.h"

static enum hook_verdict on_remotecmd(struct fault_stream *fs)
{
    fs->rc->faults->no_pong = 1;
    snprintf(fs->note, fs->note_len, "pings unanswered");
    return HOOK_PASS;
}

const struct fault_type fault_type_exec_no_pong = {
    .name = "exec-no-pong",
    .layer = FAULT_LAYER_STREAM,
    .summary = "never answer the client's pings on an exec or attach stream (SPDY PING, "
               "WebSocket ping); everything else runs as usual",
    .client_sees = "SPDY: nothing (the command ends as usual; nothing is logged, even at -v=9); "
                   "WebSocket: a command that outlasts the read deadline (61 s in kubectl "
                   "1.30-1.33, 16 s in 1.29 with KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true) is cut: "
                   "its output so far, two klog lines E... v2.go:150] \"Unhandled Error\" "
                   "err=\"next reader: read tcp 127.0.0.1:<p>->127.0.0.1:<port>: i/o timeout\" "
                   "(1.29 and 1.30 without \"Unhandled Error\"), then error: error reading from "
                   "error stream: next reader: read tcp 127.0.0.1:<p>->127.0.0.1:<port>: i/o "
                   "timeout, exit status 1",
    .keys = param_no_keys,
    .parse = param_parse_none,
    .free = NULL,
    .on_remotecmd = on_remotecmd,
};
