/* test_dist.c -- tests harness/dist.c: every form and every error message (at its JSON path),
 * the draws of each distribution (range, median, the listed values only, the cap), the same seed
 * giving the same delays, the draws the delay fault and pod scripts made before dist.c (golden
 * values, so catalogue runs keep their timings), and the one-line descriptions */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/diag.h"
#include "harness/dist.h"
#include "harness/jsonc.h"
#include "mockapi/base/rng.h"
#include "testutil.h"

#define P "pods[0].schedule.delay"
#define LIMIT JSONC_DURATION_MAX_MS    /* a pod script's limit */
#define FAULT_LIMIT (10LL * 60 * 1000) /* the delay fault's */
#define WHICH "(fixed, uniform, lognormal or empirical)"
#define NEEDS_UNIT "a duration needs a unit, e.g. '250ms' or '2s'"

/* ---- helpers ---- */

static void parse_ok_limit(const char *spec, int64_t limit, struct dist *x)
{
    struct diag d;
    cJSON *v = json(spec);
    diag_init(&d, "s.json");
    if (dist_parse(v, P, limit, &d, x) != 0)
        fail_msg("%s: %s", spec, d.n ? d.msgs[0] : "-1 without a message");
    assert_int_equal(d.n, 0);
    diag_release(&d);
    cJSON_Delete(v);
}

static void parse_ok(const char *spec, struct dist *x)
{
    parse_ok_limit(spec, LIMIT, x);
}

/* The messages of a failed parse, "s.json: "-prefixed, joined by '\n', must be want (' for "). */
static void parse_fails_limit(const char *spec, int64_t limit, const char *want)
{
    struct diag d;
    struct dist x;
    char got[4096] = "", full[4096] = "";
    char *w = dq(want);
    size_t o = 0, f = 0;
    cJSON *v = json(spec);

    diag_init(&d, "s.json");
    assert_int_equal(dist_parse(v, P, limit, &d, &x), -1);
    for (size_t i = 0; i < d.n; i++)
        o += (size_t)snprintf(got + o, sizeof got - o, "%s%s", i ? "\n" : "", d.msgs[i]);
    for (const char *line = w; line;) {
        const char *nl = strchr(line, '\n');
        int len = nl ? (int)(nl - line) : (int)strlen(line);
        f +=
            (size_t)snprintf(full + f, sizeof full - f, "%ss.json: %.*s", f ? "\n" : "", len, line);
        line = nl ? nl + 1 : NULL;
    }
    if (strcmp(got, full) != 0)
        fail_msg("%s\ngot:  %s\nwant: %s", spec, got, full);
    /* a failed parse leaves nothing to free */
    assert_null(x.values);
    assert_int_equal(x.nvalues, 0);
    dist_release(&x);
    free(w);
    diag_release(&d);
    cJSON_Delete(v);
}

static void parse_fails(const char *spec, const char *want)
{
    parse_fails_limit(spec, LIMIT, want);
}

static void describes(const char *spec, const char *want)
{
    struct dist x;
    char buf[DIST_DESCRIBE_MAX];
    parse_ok(spec, &x);
    assert_string_equal(dist_describe(&x, buf, sizeof buf), want);
    dist_release(&x);
}

/* An empirical list of n durations, i-th "<i+1>ms", as JSON text (caller frees). */
static char *empirical_list(size_t n)
{
    size_t cap = 32 + n * 12, o = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    o += (size_t)snprintf(s + o, cap - o, "{'empirical': [");
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(s + o, cap - o, "%s'%zums'", i ? "," : "", i + 1);
    snprintf(s + o, cap - o, "]}");
    return s;
}

/* ---- parsing ---- */

static void test_forms(void **state)
{
    (void)state;
    describes("'30s'", "fixed 30s");
    describes("{'fixed': '250ms'}", "fixed 250ms");
    describes("{'fixed': '1s', 'max': '2s'}", "fixed 1s, max 2s");
    describes("{'fixed': '0s'}", "fixed 0ms");
    describes("{'uniform': {'min': '10s', 'max': '200s'}}", "uniform 10s…3m20s");
    describes("{'lognormal': {'median': '40s', 'sigma': 0.8}, 'max': '10m'}",
              "lognormal median 40s sigma 0.8, max 10m");
    describes("{'empirical': ['12s', '31s', '2m5s', '3s', '40s', '4m10s', '1m', '15s', '20s', "
              "'18s', '9s', '1m1s']}",
              "empirical 12 values 3s…4m10s");
    describes("{'empirical': ['5s'], 'max': '1h'}", "empirical 1 value 5s, max 1h");

    struct dist x;
    char small[9];
    parse_ok("{'lognormal': {'median': '40s', 'sigma': 0.8}}", &x);
    assert_int_equal(x.kind, DIST_LOGNORMAL);
    assert_int_equal(x.a_ms, 40000);
    assert_int_equal(x.cap_ms, LIMIT); /* no "max": the limit caps it */
    assert_int_equal(x.has_cap, 0);
    assert_string_equal(dist_describe(&x, small, sizeof small), "lognorma");
    dist_release(&x);
    dist_release(&x); /* twice is harmless */
    dist_release(NULL);

    parse_ok("{'empirical': ['2s', '1s', '2s']}", &x);
    assert_int_equal(x.kind, DIST_EMPIRICAL);
    assert_int_equal(x.nvalues, 3);
    assert_int_equal(x.values[0], 2000);
    assert_int_equal(x.values[1], 1000);
    assert_int_equal(x.values[2], 2000);
    dist_release(&x);
    assert_null(x.values);

    /* the most values allowed */
    char *big = empirical_list(DIST_EMPIRICAL_MAX);
    parse_ok(big, &x);
    assert_int_equal(x.nvalues, DIST_EMPIRICAL_MAX);
    assert_int_equal(x.values[DIST_EMPIRICAL_MAX - 1], DIST_EMPIRICAL_MAX);
    dist_release(&x);
    free(big);
}

static void test_errors(void **state)
{
    (void)state;
    parse_fails("250", P ": " NEEDS_UNIT);
    parse_fails("'2x'", P ": unknown unit 'x' in duration '2x' (known: ms, s, m, h)");
    parse_fails("[]",
                P ": expected a duration or an object with fixed, uniform, lognormal or empirical, "
                  "got array");
    parse_fails("{}", P ": missing the distribution " WHICH);
    parse_fails("{'max': '1s'}", P ": missing the distribution " WHICH);
    parse_fails("{'fixed': '1s', 'empirical': ['1s']}", P ": give one distribution only " WHICH);
    parse_fails("{'fixd': '1s'}", P ": unknown key 'fixd' (accepted: fixed, uniform, lognormal, "
                                    "empirical, max); did you mean 'fixed'?");
    parse_fails("{'fixed': '5s', 'max': '2s'}", P ": the delay is longer than 'max' (2s)");
    parse_fails("{'fixed': '1s', 'max': '1x'}",
                P ".max: unknown unit 'x' in duration '1x' (known: ms, s, m, h)");
    parse_fails("{'fixed': 1, 'max': 2}", P ".max: " NEEDS_UNIT "\n" P ".fixed: " NEEDS_UNIT);

    parse_fails("{'uniform': '1s'}", P ".uniform: expected an object, got string");
    parse_fails("{'uniform': {'min': '2s'}}", P ".uniform: missing key 'max'");
    parse_fails("{'uniform': {'min': '3s', 'max': '1s'}}", P ".uniform: 'max' is below 'min'");
    parse_fails("{'uniform': {'min': '1s', 'max': '2s', 'mean': '1s'}}",
                P ".uniform: unknown key 'mean' (accepted: min, max); did you mean 'min'?");
    parse_fails("{'lognormal': {'median': '1s', 'sigma': 1, 'type': 'x'}}",
                P ".lognormal: unknown key 'type' (accepted: median, sigma)");
    parse_fails("{'uniform': {'min': '1s', 'max': '5s'}, 'max': '2s'}",
                P ": the longest delay (5s) is longer than 'max' (2s)");

    parse_fails("{'lognormal': {'median': '1s'}}", P ".lognormal: missing key 'sigma'");
    parse_fails("{'lognormal': {'median': '1s', 'sigma': 11}}",
                P ".lognormal.sigma: expected a number from 0 to 10, got 11");
    parse_fails("{'lognormal': {'median': '1s', 'sigma': -0.5}}",
                P ".lognormal.sigma: expected a number from 0 to 10, got -0.5");
    parse_fails("{'lognormal': {'median': '1m', 'sigma': 0.5}, 'max': '30s'}",
                P ": the median (1m) is longer than 'max' (30s)");

    parse_fails("{'empirical': []}", P ".empirical: an empirical delay needs at least one value, "
                                       "e.g. ['12s', '31s']");
    parse_fails("{'empirical': '1s'}", P ".empirical: expected an array, got string");
    parse_fails("{'empirical': ['1s', '2x', '3s', 4, null]}",
                P ".empirical[1]: unknown unit 'x' in duration '2x' (known: ms, s, m, h)\n" P
                  ".empirical[3]: " NEEDS_UNIT "\n" P
                  ".empirical[4]: expected a duration such as '2s', got null");
    parse_fails("{'empirical': ['1000h']}",
                P ".empirical[0]: duration '1000h' is too long (max 720h)");

    /* the delay fault's limit of 10m */
    parse_fails_limit("'11m'", FAULT_LIMIT, P ": '11m' is longer than the limit of 10m");
    parse_fails_limit("{'empirical': ['1s', '11m']}", FAULT_LIMIT,
                      P ".empirical[1]: '11m' is longer than the limit of 10m");
    parse_fails_limit("{'lognormal': {'median': '1s', 'sigma': 1}, 'max': '1h'}", FAULT_LIMIT,
                      P ".max: '1h' is longer than the limit of 10m");

    char *big = empirical_list(DIST_EMPIRICAL_MAX + 1);
    parse_fails(big, P ".empirical: 10001 values, more than the limit of 10000");
    free(big);
}

/* dist_parse_fields reads the distribution from a larger object (the delay fault's), leaving its
 * other keys to the caller; a NULL diag drops the messages. */
static void test_fields_and_null_diag(void **state)
{
    (void)state;
    struct dist x;
    struct diag d;
    cJSON *v = json("{'type': 'delay', 'empirical': ['1s', '2s'], 'max': '1500ms'}");
    diag_init(&d, "s.json");
    assert_int_equal(dist_parse_fields(v, "rules[0].fault", FAULT_LIMIT, &d, &x), 0);
    assert_int_equal(d.n, 0);
    assert_int_equal(x.cap_ms, 1500);
    assert_int_equal(x.has_cap, 1);
    dist_release(&x);
    /* as a value, "type" is an unknown key */
    assert_int_equal(dist_parse(v, "rules[0].fault", FAULT_LIMIT, &d, &x), -1);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.msgs[0], "s.json: rules[0].fault: unknown key \"type\" (accepted: "
                                   "fixed, uniform, lognormal, empirical, max)");
    diag_release(&d);
    cJSON_Delete(v);

    v = json("{'empirical': ['1s', 'x']}");
    assert_int_equal(dist_parse(v, NULL, LIMIT, NULL, &x), -1);
    assert_null(x.values);
    cJSON_Delete(v);
    v = json("{'empirical': ['1s', '3s']}");
    assert_int_equal(dist_parse(v, NULL, LIMIT, NULL, &x), 0);
    assert_int_equal(x.nvalues, 2);
    dist_release(&x);
    cJSON_Delete(v);
}

/* ---- draws ---- */

static void test_fixed_draws_nothing(void **state)
{
    (void)state;
    struct dist x;
    struct rng r, copy;
    parse_ok("'1m30s'", &x);
    rng_init(&r, 9);
    copy = r;
    for (int i = 0; i < 5; i++)
        assert_int_equal(dist_draw(&x, &r), 90000);
    assert_memory_equal(&r, &copy, sizeof r);
    dist_release(&x);
}

static void test_uniform_range(void **state)
{
    (void)state;
    struct dist x;
    struct rng r;
    int lo = 0, hi = 0;
    parse_ok("{'uniform': {'min': '100ms', 'max': '200ms'}}", &x);
    rng_init(&r, 11);
    for (int i = 0; i < 2000; i++) {
        int64_t ms = dist_draw(&x, &r);
        assert_in_range(ms, 100, 200);
        lo |= ms == 100;
        hi |= ms == 200;
    }
    assert_true(lo && hi); /* both ends are reached */
    dist_release(&x);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void test_lognormal_median(void **state)
{
    (void)state;
    enum { N = 10001 };
    static int64_t v[N];
    struct dist x;
    struct rng r;
    parse_ok("{'lognormal': {'median': '1s', 'sigma': 0.8}}", &x);
    rng_init(&r, 5);
    for (int i = 0; i < N; i++)
        v[i] = dist_draw(&x, &r);
    qsort(v, N, sizeof v[0], cmp_i64);
    /* the sample median's standard error is about 1% here: 5% is far outside chance */
    assert_in_range(v[N / 2], 950, 1050);
    /* about 16% of draws lie beyond e^sigma medians (one sigma): 2225ms */
    assert_in_range(v[N - N / 6], 1900, 2600);
    assert_true(v[0] > 0);
    dist_release(&x);
}

static void test_empirical_bootstrap(void **state)
{
    (void)state;
    static const int64_t listed[] = {12000, 31000, 125000, 3000, 250000};
    int count[5] = {0};
    struct dist x;
    struct rng r, mirror;
    parse_ok("{'empirical': ['12s', '31s', '2m5s', '3s', '4m10s']}", &x);
    rng_init(&r, 21);
    rng_init(&mirror, 21);
    for (int i = 0; i < 1000; i++) {
        int64_t ms = dist_draw(&x, &r);
        int k = 0;
        while (k < 5 && listed[k] != ms)
            k++;
        assert_true(k < 5); /* only the listed values */
        count[k]++;
        /* one rng_below(n) per draw, the value at that index */
        assert_int_equal(ms, listed[rng_below(&mirror, 5)]);
    }
    for (int k = 0; k < 5; k++)
        assert_in_range(count[k], 150, 250); /* each about 200 times: picked uniformly */
    dist_release(&x);

    /* a value listed three times is drawn about three times as often */
    parse_ok("{'empirical': ['1s', '1s', '1s', '9s']}", &x);
    int ones = 0;
    for (int i = 0; i < 1000; i++)
        ones += dist_draw(&x, &r) == 1000;
    assert_in_range(ones, 700, 800);
    dist_release(&x);
}

static void test_cap(void **state)
{
    (void)state;
    struct dist x;
    struct rng r;
    int capped = 0, below = 0;
    parse_ok("{'empirical': ['150ms', '2s', '5s', '1h'], 'max': '3s'}", &x);
    rng_init(&r, 3);
    for (int i = 0; i < 200; i++) {
        int64_t ms = dist_draw(&x, &r);
        assert_true(ms == 150 || ms == 2000 || ms == 3000);
        capped += ms == 3000;
    }
    assert_in_range(capped, 60, 140); /* 5s and 1h, about half of the draws */
    dist_release(&x);

    parse_ok("{'lognormal': {'median': '1s', 'sigma': 1}, 'max': '3s'}", &x);
    capped = 0;
    for (int i = 0; i < 400; i++) {
        int64_t ms = dist_draw(&x, &r);
        assert_in_range(ms, 0, 3000);
        capped |= ms == 3000;
        below |= ms < 3000;
    }
    assert_true(capped && below);
    dist_release(&x);

    /* no "max": the caller's limit caps a draw (the delay fault's 10m) */
    parse_ok_limit("{'lognormal': {'median': '5m', 'sigma': 10}}", FAULT_LIMIT, &x);
    capped = 0;
    for (int i = 0; i < 100; i++) {
        int64_t ms = dist_draw(&x, &r);
        assert_in_range(ms, 0, FAULT_LIMIT);
        capped |= ms == FAULT_LIMIT;
    }
    assert_true(capped);
    dist_release(&x);
}

/* The same seed, the same delays, whatever mix of distributions draws from one generator. */
static void test_same_seed_same_delays(void **state)
{
    (void)state;
    struct dist d[4];
    int64_t a[200], b[200];
    struct rng r;
    parse_ok("'2s'", &d[0]);
    parse_ok("{'uniform': {'min': '1s', 'max': '1m'}}", &d[1]);
    parse_ok("{'lognormal': {'median': '30s', 'sigma': 1.5}, 'max': '5m'}", &d[2]);
    parse_ok("{'empirical': ['1s', '2s', '3s', '5s', '8s', '13s', '21s']}", &d[3]);
    for (int round = 0; round < 2; round++) {
        rng_init(&r, 1234);
        for (int i = 0; i < 200; i++)
            (round ? b : a)[i] = dist_draw(&d[(i * 7) % 4], &r);
    }
    assert_memory_equal(a, b, sizeof a);
    rng_init(&r, 1235);
    int differ = 0;
    for (int i = 0; i < 200; i++)
        differ |= dist_draw(&d[(i * 7) % 4], &r) != a[i];
    assert_true(differ);
    for (int i = 0; i < 4; i++)
        dist_release(&d[i]);
}

/* The delays the delay fault and pod scripts drew before dist.c, computed with that code (the
 * fault's draw() and podscript_schedule_delay()) for these seeds: scenarios keep their timings. */
static void test_same_draws_as_before(void **state)
{
    (void)state;
    static const int64_t mixed42[] = {158, 660, 150, 1467, 144, 1149,
                                      119, 682, 134, 808,  109, 2279};
    static const int64_t logn2024[] = {31036, 33285, 30845, 29346, 54981, 61996, 15047, 41216};
    static const int64_t uni2024[] = {1872, 1315, 2899, 2061, 2259, 1086, 2750, 2779};
    static const int64_t logn7[] = {5723, 446805, 717087, 17525, 32432, 7527, 319796, 1309};
    struct dist uni, logn, logn_pod, uni_pod, logn_wide, logn_fault;
    struct rng r;

    /* the delay fault (limit 10m): uniform and lognormal drawing in turn from one generator */
    parse_ok_limit("{'uniform': {'min': '100ms', 'max': '200ms'}}", FAULT_LIMIT, &uni);
    parse_ok_limit("{'lognormal': {'median': '1s', 'sigma': 1}, 'max': '3s'}", FAULT_LIMIT, &logn);
    rng_init(&r, 42);
    for (int i = 0; i < 12; i++)
        assert_int_equal(dist_draw(i % 2 ? &logn : &uni, &r), mixed42[i]);

    /* pod scripts (limit 720h) */
    parse_ok("{'lognormal': {'median': '30s', 'sigma': 0.5}, 'max': '5m'}", &logn_pod);
    parse_ok("{'uniform': {'min': '1s', 'max': '3s'}}", &uni_pod);
    rng_init(&r, 2024);
    for (int i = 0; i < 8; i++)
        assert_int_equal(dist_draw(&logn_pod, &r), logn2024[i]);
    for (int i = 0; i < 8; i++)
        assert_int_equal(dist_draw(&uni_pod, &r), uni2024[i]);

    /* without "max": the pod limit (720h) cuts nothing here; the fault's 10m cuts 717087 */
    parse_ok("{'lognormal': {'median': '10s', 'sigma': 2}}", &logn_wide);
    parse_ok_limit("{'lognormal': {'median': '10s', 'sigma': 2}}", FAULT_LIMIT, &logn_fault);
    rng_init(&r, 7);
    for (int i = 0; i < 8; i++)
        assert_int_equal(dist_draw(&logn_wide, &r), logn7[i]);
    rng_init(&r, 7);
    for (int i = 0; i < 8; i++)
        assert_int_equal(dist_draw(&logn_fault, &r),
                         logn7[i] > FAULT_LIMIT ? FAULT_LIMIT : logn7[i]);

    dist_release(&uni);
    dist_release(&logn);
    dist_release(&logn_pod);
    dist_release(&uni_pod);
    dist_release(&logn_wide);
    dist_release(&logn_fault);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_fields_and_null_diag),
        cmocka_unit_test(test_fixed_draws_nothing),
        cmocka_unit_test(test_uniform_range),
        cmocka_unit_test(test_lognormal_median),
        cmocka_unit_test(test_empirical_bootstrap),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_same_seed_same_delays),
        cmocka_unit_test(test_same_draws_as_before),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
