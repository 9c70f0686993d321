/* exec_abort.c -- the `exec-abort` fault: "after" (default 0s) from the start of the session, the
 * connection ends abnormally: TCP closed with no WebSocket close frame (the client sees close
 * 1006) and no SPDY FIN or GOAWAY (the client sees EOF). Cut on GitLab Runner's read-logs stream
 * ({"verb": "exec", "query": {"command": "read-logs"}}) it is the "read-logs stream cut". The
 * session engine does it (rcs_faults.abort_ms). */
#include <stdio.h>

#include "harness/fault.h"
#include "harness/faults/param.h"

static enum hook_verdict on_remotecmd(struct fault_stream *fs)
{
    int64_t after = *(const int64_t *)fs->ctx;
    char b[32];
    fs->rc->faults->abort_ms = after;
    snprintf(fs->note, fs->note_len, "connection aborted after %s",
             param_format_duration(after, b, sizeof b));
    return HOOK_PASS;
}

const struct fault_type fault_type_exec_abort = {
    .name = "exec-abort",
    .layer = FAULT_LAYER_STREAM,
    .summary = "\"after\" (default 0s) from the start of an exec or attach, end its connection "
               "abnormally: no Status, no WebSocket close frame, no SPDY FIN or GOAWAY",
    .client_sees = "SPDY (kubectl 1.27-1.29 by default, 1.30-1.33 with "
                   "KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false): the output sent before the cut, then "
                   "exit status 0 with stderr empty (an error stream that ends with no Status "
                   "reads as success); WebSocket (1.30-1.33 by default, 1.29 with "
                   "KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true): the output before the cut, two klog "
                   "lines E... v2.go:150] \"Unhandled Error\" err=\"next reader: websocket: close "
                   "1006 (abnormal closure): unexpected EOF\" (1.29 and 1.30 without \"Unhandled "
                   "Error\": E... v2.go:167] next reader: websocket: close 1006 (abnormal "
                   "closure): unexpected EOF), then error: error reading from error stream: next "
                   "reader: websocket: close 1006 (abnormal closure): unexpected EOF, exit status "
                   "1",
    .keys = param_after_keys,
    .parse = param_parse_after,
    .free = NULL,
    .on_remotecmd = on_remotecmd,
};
