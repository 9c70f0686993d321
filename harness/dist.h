/* dist.h -- delay distributions: a duration, or a seeded draw from fixed, uniform, lognormal or
 * empirical (a measured sample, bootstrapped), with a cap; parsed from scenario JSON, drawn from
 * the scenario's generator, described in one line */
#ifndef KF_DIST_H
#define KF_DIST_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct diag;
struct rng;

#define DIST_EMPIRICAL_MAX 10000 /**< values in an "empirical" list */
#define DIST_SIGMA_MAX 10.0      /**< a lognormal's largest sigma */
#define DIST_DESCRIBE_MAX 96     /**< a buffer that holds any dist_describe() line */

/** The keys of a distribution object, for a caller that takes them among its own (the delay
 *  fault's accepted keys): `static const char *const keys[] = {DIST_KEYS, NULL};` */
#define DIST_KEYS "fixed", "uniform", "lognormal", "empirical", "max"

enum dist_kind {
    DIST_FIXED,     /**< always a_ms */
    DIST_UNIFORM,   /**< an integer number of ms in [a_ms, b_ms] */
    DIST_LOGNORMAL, /**< median a_ms, sigma */
    DIST_EMPIRICAL, /**< one of values[0..nvalues), each as likely */
};

/** A parsed distribution; fill with dist_parse(), release with dist_release(). */
struct dist {
    enum dist_kind kind;
    int64_t a_ms, b_ms; /**< fixed: a; uniform: [a, b]; lognormal: the median a */
    double sigma;       /**< lognormal */
    int64_t *values;    /**< empirical: owned */
    size_t nvalues;
    int64_t cap_ms; /**< no draw is longer: "max", else the caller's limit */
    int has_cap;    /**< "max" was written */
};

/** Parse a delay v (borrowed) named path in messages: a duration string ("30s": fixed), or an
 *  object with exactly one of {"fixed": D}, {"uniform": {"min": D, "max": D}},
 *  {"lognormal": {"median": D, "sigma": 0..10}}, {"empirical": [D, ...]} (1 to DIST_EMPIRICAL_MAX
 *  durations) and an optional cap "max". No duration may be longer than limit_ms, which is also
 *  the cap when "max" is absent. Fixed, a uniform's bounds and a lognormal's median must not be
 *  longer than "max"; empirical values may (their draws are cut to it).
 *  0 with *out filled (release it with dist_release()), or -1 with every error in d (out is left
 *  empty: releasing it is a no-op). d may be NULL when v was checked before: errors are dropped. */
int dist_parse(const cJSON *v, const char *path, int64_t limit_ms, struct diag *d,
               struct dist *out);

/** The same for an object that also holds its own keys (a fault's "type"): reads only DIST_KEYS
 *  from obj and does not check its other keys (the caller does). */
int dist_parse_fields(const cJSON *obj, const char *path, int64_t limit_ms, struct diag *d,
                      struct dist *out);

/** One delay in ms, drawn from r (borrowed). The same seed gives the same delays: fixed draws
 *  nothing, uniform one rng_below(), lognormal two rng_double() (Box-Muller), empirical one
 *  rng_below(). Never longer than x->cap_ms. */
int64_t dist_draw(const struct dist *x, struct rng *r);

/** Free what dist_parse() allocated and empty x. NULL is a no-op. */
void dist_release(struct dist *x);

/** x in one line into buf, cut at len - 1 bytes: "fixed 30s", "uniform 10s…3m20s",
 *  "lognormal median 40s sigma 0.8, max 10m", "empirical 12 values 3s…4m10s" (", max D" only when
 *  "max" was written). Returns buf. */
const char *dist_describe(const struct dist *x, char *buf, size_t len);

#endif
