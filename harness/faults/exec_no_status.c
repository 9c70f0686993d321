/* exec_no_status.c -- the `exec-no-status` fault: the session's error stream closes with no Status,
 * whatever the program's exit code. client-go reads an empty error stream as success, so a failing
 * command "succeeds": GitLab Runner's issue #4119, "job marked successful midway", in legacy exec
 * mode. The session engine does it (rcs_faults.empty_status). */
#include <stdio.h>

#include "harness/fault.h"
#include "harness/faults/param.h"

static enum hook_verdict on_remotecmd(struct fault_stream *fs)
{
    fs->rc->faults->empty_status = 1;
    snprintf(fs->note, fs->note_len, "error stream closed with no Status");
    return HOOK_PASS;
}

const struct fault_type fault_type_exec_no_status = {
    .name = "exec-no-status",
    .layer = FAULT_LAYER_STREAM,
    .summary = "run the exec or attach as usual, then close its error stream with no Status: "
               "client-go reports success whatever the exit code (runner issue #4119, a job "
               "marked successful midway)",
    .client_sees = "kubectl exec prints the command's output and exits 0 with stderr empty, "
                   "whatever the exit code (kubectl exec r1 -- sh -c 'exit 3': nothing, exit "
                   "status 0), kubectl 1.27-1.33 over SPDY and WebSocket alike; GitLab Runner in "
                   "legacy exec mode marks the stage successful",
    .keys = param_no_keys,
    .parse = param_parse_none,
    .free = NULL,
    .on_remotecmd = on_remotecmd,
};
