/* delay.c -- the `delay` fault: hold a request, then serve it normally. The wait is fixed, uniform
 * or lognormal (drawn from the scenario's seeded generator, so the same seed and the same requests
 * give the same waits); it is a timer on the loop, and a client that leaves first cancels it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/diag.h"
#include "harness/fault.h"
#include "harness/faults/answer.h"
#include "harness/faults/param.h"
#include "mockapi/base/rng.h"

#define DELAY_CAP_MS (10LL * 60 * 1000) /* no delay is longer, whatever the distribution draws */
#define DELAY_MAX_SIGMA 10.0

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

enum dist { FIXED, UNIFORM, LOGNORMAL };

struct ctx {
    enum dist dist;
    int64_t a_ms, b_ms; /* fixed: a; uniform: [a, b]; lognormal: median a */
    double sigma;
    int64_t cap_ms;
};

static const char *const keys[] = {"fixed", "uniform", "lognormal", "max", NULL};
static const char *const uniform_keys[] = {"min", "max", NULL};
static const char *const lognormal_keys[] = {"median", "sigma", NULL};

static int parse(const cJSON *spec, const char *path, struct diag *d, void **out)
{
    struct ctx x = {FIXED, 0, 0, 0, DELAY_CAP_MS};
    const cJSON *u = NULL, *l = NULL;
    char p[PARAM_PATH_MAX], cap[32];
    if (param_check_keys(spec, path, keys, d) < 0)
        return -1;
    int given = cJSON_HasObjectItem(spec, "fixed") + cJSON_HasObjectItem(spec, "uniform") +
                cJSON_HasObjectItem(spec, "lognormal");
    if (given != 1) {
        diag_path(d, path, "%s (fixed, uniform or lognormal)",
                  given ? "give one distribution only" : "missing the distribution");
        return -1;
    }
    int bad = param_duration_max(spec, path, "max", 0, DELAY_CAP_MS, &x.cap_ms, d) < 0;
    if (cJSON_HasObjectItem(spec, "fixed")) {
        bad |= param_duration_max(spec, path, "fixed", 1, DELAY_CAP_MS, &x.a_ms, d) < 0;
    } else if (cJSON_HasObjectItem(spec, "uniform")) {
        if (param_object(spec, path, "uniform", 1, &u, d) < 0)
            return -1;
        param_path(p, sizeof p, path, "uniform");
        x.dist = UNIFORM;
        bad |= param_check_keys(u, p, uniform_keys, d) < 0;
        bad |= param_duration_max(u, p, "min", 1, DELAY_CAP_MS, &x.a_ms, d) < 0;
        bad |= param_duration_max(u, p, "max", 1, DELAY_CAP_MS, &x.b_ms, d) < 0;
        if (!bad && x.a_ms > x.b_ms) {
            diag_path(d, p, "min is larger than max");
            return -1;
        }
    } else {
        if (param_object(spec, path, "lognormal", 1, &l, d) < 0)
            return -1;
        param_path(p, sizeof p, path, "lognormal");
        x.dist = LOGNORMAL;
        bad |= param_check_keys(l, p, lognormal_keys, d) < 0;
        bad |= param_duration_max(l, p, "median", 1, DELAY_CAP_MS, &x.a_ms, d) < 0;
        bad |= param_double(l, p, "sigma", 1, 0, DELAY_MAX_SIGMA, &x.sigma, d) < 0;
    }
    if (bad)
        return -1;
    if (x.a_ms > x.cap_ms || x.b_ms > x.cap_ms) {
        diag_path(d, path, "the delay is longer than \"max\" (%s)",
                  param_format_duration(x.cap_ms, cap, sizeof cap));
        return -1;
    }
    struct ctx *c = malloc(sizeof *c);
    if (!c) {
        diag_path(d, path, "out of memory");
        return -1;
    }
    *c = x;
    *out = c;
    return 0;
}

/* One standard normal draw (Box-Muller); 1 - u keeps log() away from 0. */
static double normal(struct rng *r)
{
    double u1 = 1.0 - rng_double(r), u2 = rng_double(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static int64_t draw(const struct ctx *x, struct rng *r)
{
    double ms;
    switch (x->dist) {
    case UNIFORM:
        return x->a_ms + (int64_t)rng_below(r, (uint64_t)(x->b_ms - x->a_ms) + 1);
    case LOGNORMAL:
        ms = (double)x->a_ms * exp(x->sigma * normal(r));
        return ms >= (double)x->cap_ms ? x->cap_ms : (int64_t)llround(ms);
    case FIXED:
        break;
    }
    return x->a_ms;
}

static enum hook_verdict on_request(struct fault_request *fr)
{
    char buf[32];
    int64_t ms = draw(fr->ctx, fr->rng);
    snprintf(fr->note, fr->note_len, "delay %s", param_format_duration(ms, buf, sizeof buf));
    return answer_serve_after(fr, ms);
}

const struct fault_type fault_type_delay = {
    .name = "delay",
    .layer = FAULT_LAYER_HTTP,
    .summary = "hold the request, then serve it normally: fixed, uniform {min, max} or lognormal "
               "{median, sigma} (seeded), capped at max (at most 10m)",
    .client_sees = "the normal answer, later; past --request-timeout: Unable to connect to the "
                   "server: net/http: request canceled (Client.Timeout exceeded while awaiting "
                   "headers) (the wording varies between runs: also context deadline exceeded, "
                   "with or without the parenthesis)",
    .keys = keys,
    .parse = parse,
    .free = NULL,
    .on_request = on_request,
};
