/* dist.c -- delay distributions: fixed, uniform, lognormal and empirical (bootstrap from measured
 * values), with a cap; one parser for the delay fault and pod scripts, one seeded draw for both */
#include "harness/dist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/diag.h"
#include "harness/faults/param.h"
#include "harness/jsonc.h"
#include "mockapi/base/rng.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define WHICH "(fixed, uniform, lognormal or empirical)"

static const char *const dist_keys[] = {DIST_KEYS, NULL};
static const char *const uniform_keys[] = {"min", "max", NULL};
static const char *const lognormal_keys[] = {"median", "sigma", NULL};

/* The values of "empirical": an array of 1 to DIST_EMPIRICAL_MAX durations of at most limit_ms,
 * each error at its element's path. Fills x->values even when it fails (the caller frees). */
static int parse_empirical(const cJSON *obj, const char *path, int64_t limit_ms, struct diag *d,
                           struct dist *x)
{
    const cJSON *arr = NULL, *e;
    char p[JSONC_PATH_MAX], q[JSONC_PATH_MAX], lim[32];
    size_t n = 0, i = 0;
    int64_t ms;
    int bad = 0;

    if (jsonc_array(obj, "empirical", path, d, &arr) < 0)
        return -1;
    jsonc_path_key(p, sizeof p, path, "empirical");
    cJSON_ArrayForEach(e, arr)
    {
        n++;
    }
    if (n == 0) {
        diag_path(d, p, "an empirical delay needs at least one value, e.g. [\"12s\", \"31s\"]");
        return -1;
    }
    if (n > DIST_EMPIRICAL_MAX) {
        diag_path(d, p, "%zu values, more than the limit of %d", n, DIST_EMPIRICAL_MAX);
        return -1;
    }
    x->values = calloc(n, sizeof *x->values);
    if (!x->values) {
        diag_path(d, p, "out of memory");
        return -1;
    }
    x->nvalues = n;
    cJSON_ArrayForEach(e, arr)
    {
        jsonc_path_index(q, sizeof q, p, i);
        if (jsonc_as_duration(e, q, d, &ms) < 0) {
            bad = 1;
        } else if (ms > limit_ms) {
            diag_path(d, q, "\"%s\" is longer than the limit of %s", e->valuestring,
                      param_format_duration(limit_ms, lim, sizeof lim));
            bad = 1;
        } else {
            x->values[i] = ms;
        }
        i++;
    }
    return bad ? -1 : 0;
}

/* One of fixed, uniform, lognormal or empirical from obj into x (cap already set); -1 when
 * something was reported. */
static int parse_kind(const cJSON *obj, const char *path, int64_t limit_ms, struct diag *d,
                      struct dist *x)
{
    const cJSON *sub = NULL;
    char p[PARAM_PATH_MAX];
    int bad = 0;

    if (cJSON_HasObjectItem(obj, "fixed"))
        return param_duration_max(obj, path, "fixed", 1, limit_ms, &x->a_ms, d) < 0 ? -1 : 0;
    if (cJSON_HasObjectItem(obj, "empirical")) {
        x->kind = DIST_EMPIRICAL;
        return parse_empirical(obj, path, limit_ms, d, x);
    }
    if (cJSON_HasObjectItem(obj, "uniform")) {
        x->kind = DIST_UNIFORM;
        if (param_object(obj, path, "uniform", 1, &sub, d) < 0)
            return -1;
        param_path(p, sizeof p, path, "uniform");
        bad |= jsonc_check_keys(sub, p, uniform_keys, d) < 0;
        bad |= param_duration_max(sub, p, "min", 1, limit_ms, &x->a_ms, d) < 0;
        bad |= param_duration_max(sub, p, "max", 1, limit_ms, &x->b_ms, d) < 0;
        if (!bad && x->a_ms > x->b_ms) {
            diag_path(d, p, "\"max\" is below \"min\"");
            bad = 1;
        }
        return bad ? -1 : 0;
    }
    x->kind = DIST_LOGNORMAL;
    if (param_object(obj, path, "lognormal", 1, &sub, d) < 0)
        return -1;
    param_path(p, sizeof p, path, "lognormal");
    bad |= jsonc_check_keys(sub, p, lognormal_keys, d) < 0;
    bad |= param_duration_max(sub, p, "median", 1, limit_ms, &x->a_ms, d) < 0;
    bad |= param_double(sub, p, "sigma", 1, 0, DIST_SIGMA_MAX, &x->sigma, d) < 0;
    return bad ? -1 : 0;
}

static int parse_fields(const cJSON *obj, const char *path, int64_t limit_ms, struct diag *d,
                        struct dist *out)
{
    struct dist x = {.kind = DIST_FIXED, .cap_ms = limit_ms};
    char cap[32], v[32];
    int rc = -1;

    int given = cJSON_HasObjectItem(obj, "fixed") + cJSON_HasObjectItem(obj, "uniform") +
                cJSON_HasObjectItem(obj, "lognormal") + cJSON_HasObjectItem(obj, "empirical");
    if (given != 1) {
        diag_path(d, path, "%s " WHICH,
                  given ? "give one distribution only" : "missing the distribution");
        goto out;
    }
    int hcap = param_duration_max(obj, path, "max", 0, limit_ms, &x.cap_ms, d);
    x.has_cap = hcap == 1;
    if (parse_kind(obj, path, limit_ms, d, &x) < 0 || hcap < 0)
        goto out;
    /* The cap cuts the tail of a lognormal or a measured sample; a bound written above it is a
     * mistake. */
    param_format_duration(x.cap_ms, cap, sizeof cap);
    if (x.kind == DIST_FIXED && x.a_ms > x.cap_ms) {
        diag_path(d, path, "the delay is longer than \"max\" (%s)", cap);
        goto out;
    }
    if (x.kind == DIST_UNIFORM && x.b_ms > x.cap_ms) {
        diag_path(d, path, "the longest delay (%s) is longer than \"max\" (%s)",
                  param_format_duration(x.b_ms, v, sizeof v), cap);
        goto out;
    }
    if (x.kind == DIST_LOGNORMAL && x.a_ms > x.cap_ms) {
        diag_path(d, path, "the median (%s) is longer than \"max\" (%s)",
                  param_format_duration(x.a_ms, v, sizeof v), cap);
        goto out;
    }
    *out = x;
    x.values = NULL; /* out owns them now */
    rc = 0;
out:
    free(x.values);
    return rc;
}

static int parse_value(const cJSON *v, const char *path, int64_t limit_ms, struct diag *d,
                       struct dist *out)
{
    int64_t ms;
    char lim[32];

    if (cJSON_IsString(v) || cJSON_IsNumber(v)) {
        if (jsonc_as_duration(v, path, d, &ms) < 0)
            return -1;
        if (ms > limit_ms) {
            diag_path(d, path, "\"%s\" is longer than the limit of %s", v->valuestring,
                      param_format_duration(limit_ms, lim, sizeof lim));
            return -1;
        }
        out->a_ms = ms;
        return 0;
    }
    if (!cJSON_IsObject(v)) {
        jsonc_type_error(d, path,
                         "a duration or an object with fixed, uniform, lognormal or empirical", v);
        return -1;
    }
    if (jsonc_check_keys(v, path, dist_keys, d) < 0)
        return -1;
    return parse_fields(v, path, limit_ms, d, out);
}

/* Run one parse into out, emptied first; with d NULL, into a scratch diag thrown away. */
static int parse(int (*fn)(const cJSON *, const char *, int64_t, struct diag *, struct dist *),
                 const cJSON *v, const char *path, int64_t limit_ms, struct diag *d,
                 struct dist *out)
{
    struct diag scratch;
    int rc;

    *out = (struct dist){.kind = DIST_FIXED, .cap_ms = limit_ms};
    if (d)
        return fn(v, path ? path : "", limit_ms, d, out);
    diag_init(&scratch, "");
    rc = fn(v, path ? path : "", limit_ms, &scratch, out);
    diag_release(&scratch);
    return rc;
}

int dist_parse(const cJSON *v, const char *path, int64_t limit_ms, struct diag *d, struct dist *out)
{
    return parse(parse_value, v, path, limit_ms, d, out);
}

int dist_parse_fields(const cJSON *obj, const char *path, int64_t limit_ms, struct diag *d,
                      struct dist *out)
{
    return parse(parse_fields, obj, path, limit_ms, d, out);
}

/* One standard normal draw (Box-Muller); 1 - u keeps log() away from 0. */
static double normal(struct rng *r)
{
    double u1 = 1.0 - rng_double(r), u2 = rng_double(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

int64_t dist_draw(const struct dist *x, struct rng *r)
{
    int64_t ms = x->a_ms;
    double v;

    switch (x->kind) {
    case DIST_UNIFORM:
        ms = x->a_ms + (int64_t)rng_below(r, (uint64_t)(x->b_ms - x->a_ms) + 1);
        break;
    case DIST_LOGNORMAL:
        /* compared as a double: exp() may overflow to inf, which no int64_t holds */
        v = (double)x->a_ms * exp(x->sigma * normal(r));
        if (v >= (double)x->cap_ms)
            return x->cap_ms;
        ms = (int64_t)llround(v);
        break;
    case DIST_EMPIRICAL:
        ms = x->nvalues ? x->values[rng_below(r, x->nvalues)] : 0;
        break;
    case DIST_FIXED:
        break;
    }
    if (ms < 0)
        ms = 0;
    return ms > x->cap_ms ? x->cap_ms : ms;
}

void dist_release(struct dist *x)
{
    if (!x)
        return;
    free(x->values);
    x->values = NULL;
    x->nvalues = 0;
}

const char *dist_describe(const struct dist *x, char *buf, size_t len)
{
    char a[32], b[32], cap[32];
    int64_t lo, hi;
    int n = 0;

    if (!len)
        return buf;
    buf[0] = '\0';
    switch (x->kind) {
    case DIST_FIXED:
        n = snprintf(buf, len, "fixed %s", param_format_duration(x->a_ms, a, sizeof a));
        break;
    case DIST_UNIFORM:
        n = snprintf(buf, len, "uniform %s…%s", param_format_duration(x->a_ms, a, sizeof a),
                     param_format_duration(x->b_ms, b, sizeof b));
        break;
    case DIST_LOGNORMAL:
        n = snprintf(buf, len, "lognormal median %s sigma %g",
                     param_format_duration(x->a_ms, a, sizeof a), x->sigma);
        break;
    case DIST_EMPIRICAL:
        lo = hi = x->nvalues ? x->values[0] : 0;
        for (size_t i = 1; i < x->nvalues; i++) {
            lo = x->values[i] < lo ? x->values[i] : lo;
            hi = x->values[i] > hi ? x->values[i] : hi;
        }
        param_format_duration(lo, a, sizeof a);
        param_format_duration(hi, b, sizeof b);
        if (x->nvalues == 1)
            n = snprintf(buf, len, "empirical 1 value %s", a);
        else
            n = snprintf(buf, len, "empirical %zu values %s…%s", x->nvalues, a, b);
        break;
    }
    if (x->has_cap && n >= 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, ", max %s",
                 param_format_duration(x->cap_ms, cap, sizeof cap));
    return buf;
}
