/* exec_exit.c -- the `exec-exit` fault: the error stream's Status reports exit code "code" instead
 * of the program's (0 gives Success), as the kubelet words it. The session engine writes it
 * (rcs_faults.status_exit). */
#include <stdio.h>
#include <stdlib.h>

#include "harness/diag.h"
#include "harness/fault.h"
#include "harness/faults/param.h"

static const char *const keys[] = {"code", NULL};

static int parse(const cJSON *spec, const char *path, struct diag *d, void **ctx)
{
    long code = 0;
    if (param_check_keys(spec, path, keys, d) < 0 ||
        param_int(spec, path, "code", 1, 0, 255, &code, d) < 0)
        return -1;
    int *c = malloc(sizeof *c);
    if (!c) {
        diag_path(d, path, "out of memory");
        return -1;
    }
    *c = (int)code;
    *ctx = c;
    return 0;
}

static enum hook_verdict on_remotecmd(struct fault_stream *fs)
{
    int code = *(const int *)fs->ctx;
    fs->rc->faults->status_exit = code;
    snprintf(fs->note, fs->note_len, "exit code %d", code);
    return HOOK_PASS;
}

const struct fault_type fault_type_exec_exit = {
    .name = "exec-exit",
    .layer = FAULT_LAYER_STREAM,
    .summary = "the exec's Status reports exit code \"code\" (0 to 255, required; 0: Success) "
               "whatever the program's own",
    .client_sees = "command terminated with exit code <code> on stderr, and kubectl exits with "
                   "<code> (kubectl 1.27-1.33, SPDY and WebSocket alike); code 0: nothing, exit "
                   "status 0",
    .keys = keys,
    .parse = parse,
    .free = NULL,
    .on_remotecmd = on_remotecmd,
};
