/* delay.c -- the `delay` fault: hold a request, then serve it normally. The wait is fixed, uniform,
 * lognormal or empirical (harness/dist.h; drawn from the scenario's seeded generator, so the same
 * seed and the same requests give the same waits); it is a timer on the loop, and a client that
 * leaves first cancels it. */
#include <stdio.h>
#include <stdlib.h>

#include "harness/diag.h"
#include "harness/dist.h"
#include "harness/fault.h"
#include "harness/faults/answer.h"
#include "harness/faults/param.h"

#define DELAY_CAP_MS (10LL * 60 * 1000) /* no delay is longer, whatever the distribution draws */

static const char *const keys[] = {DIST_KEYS, NULL};

static int parse(const cJSON *spec, const char *path, struct diag *d, void **out)
{
    struct dist *x = NULL;
    if (param_check_keys(spec, path, keys, d) < 0)
        return -1;
    x = malloc(sizeof *x);
    if (!x) {
        diag_path(d, path, "out of memory");
        return -1;
    }
    if (dist_parse_fields(spec, path, DELAY_CAP_MS, d, x) < 0) {
        free(x);
        return -1;
    }
    *out = x;
    return 0;
}

static void free_ctx(void *ctx)
{
    dist_release(ctx);
    free(ctx);
}

static enum hook_verdict on_request(struct fault_request *fr)
{
    char buf[32];
    int64_t ms = dist_draw(fr->ctx, fr->rng);
    snprintf(fr->note, fr->note_len, "delay %s", param_format_duration(ms, buf, sizeof buf));
    return answer_serve_after(fr, ms);
}

const struct fault_type fault_type_delay = {
    .name = "delay",
    .layer = FAULT_LAYER_HTTP,
    .summary = "hold the request, then serve it normally: fixed, uniform {min, max}, lognormal "
               "{median, sigma} or empirical [a list of measured delays, one picked at random] "
               "(all seeded), capped at max (at most 10m)",
    .client_sees = "the normal answer, later; past --request-timeout: Unable to connect to the "
                   "server: net/http: request canceled (Client.Timeout exceeded while awaiting "
                   "headers) (the wording varies between runs: also context deadline exceeded, "
                   "with or without the parenthesis)",
    .keys = keys,
    .parse = parse,
    .free = free_ctx,
    .on_request = on_request,
};
