/* exec_stall.c -- the `exec-stall` fault: "after" (default 0s) from the start of the session,
 * nothing more is written (output, Status, close) and the session never ends, while the
 * connection stays open: the client waits until it gives up. The session engine does it
 * (rcs_faults.stall_ms). */
#include <stdio.h>

#include "harness/fault.h"
#include "harness/faults/param.h"

static enum hook_verdict on_remotecmd(struct fault_stream *fs)
{
    int64_t after = *(const int64_t *)fs->ctx;
    char b[32];
    fs->rc->faults->stall_ms = after;
    snprintf(fs->note, fs->note_len, "output stalled after %s",
             param_format_duration(after, b, sizeof b));
    return HOOK_PASS;
}

const struct fault_type fault_type_exec_stall = {
    .name = "exec-stall",
    .layer = FAULT_LAYER_STREAM,
    .summary = "\"after\" (default 0s) from the start of an exec or attach, write nothing more "
               "(output, Status, close) while the connection stays open: the stream never ends",
    .client_sees = "the output sent before the stall, then nothing: kubectl exec waits until it is "
                   "killed, over SPDY and WebSocket alike (kubectl 1.27-1.33; --request-timeout "
                   "does not bound an exec stream, and WebSocket pings are still answered, so no "
                   "read deadline passes)",
    .keys = param_after_keys,
    .parse = param_parse_after,
    .free = NULL,
    .on_remotecmd = on_remotecmd,
};
