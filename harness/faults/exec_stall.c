/* exec_stall.c -- the `exec-stall` fault: "after" (default 0s) from the start of the session,
 * nothing more is written (output, Status, close) and the session never ends, while the
 * connection stays open: the client waits until it gives up. The session engine does it
 * (rcs_faults.stall_ms). */
#include <stdio.h>
#include <stdlib.h>

#include "harness/diag.h"
#include "harness/fault.h"
#include "harness/faults/param.h"

static const char *const keys[] = {"after", NULL};

static int parse(const cJSON *spec, const char *path, struct diag *d, void **ctx)
{
    int64_t after = 0;
    if (param_check_keys(spec, path, keys, d) < 0 ||
        param_duration(spec, path, "after", 0, &after, d) < 0)
        return -1;
    int64_t *a = malloc(sizeof *a);
    if (!a) {
        diag_path(d, path, "out of memory");
        return -1;
    }
    *a = after;
    *ctx = a;
    return 0;
}

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
    .keys = keys,
    .parse = parse,
    .free = NULL,
    .on_remotecmd = on_remotecmd,
};
