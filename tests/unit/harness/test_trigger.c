/* test_trigger.c -- tests harness/trigger.c: count patterns over 20 matches, every combination
 * against a model, seeded probability, windows and events, durations, every error message */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/diag.h"
#include "harness/trigger.h"
#include "mockapi/base/rng.h"
#include "testutil.h"

#define P "rules[0].trigger"
#define ACCEPTED_KEYS "nth, first, after, every, probability, window"
#define COUNT "an integer from 1 to 9007199254740991"
#define ONES10 "1111111111"
#define DUR_EXAMPLES "e.g. '250ms', '2s', '1m30s' or '1.5s'"
#define NEEDS_UNIT "a duration needs a unit, e.g. '250ms' or '2s'"
#define N 20 /* matches in a count pattern */
#define ON "timeline[0].on"
#define KNOWN_EVENTS                                                                               \
    "start, pod-created, pod-scheduled, pod-running, pod-deleted, stage-started, "                 \
    "stage-started:<stage>, rule-fired:<rule>"
#define POD_EVENTS "pod-created, pod-scheduled, pod-running, pod-deleted, stage-started[:<stage>]"

/* ---- helpers ---- */

static void parse_ok(const char *spec, struct trigger *t)
{
    struct diag d;
    cJSON *v = json(spec);
    diag_init(&d, "s.json");
    if (trigger_parse(v, P, &d, t) != 0)
        fail_msg("%s: %s", spec, d.n ? d.msgs[0] : "-1 without a message");
    assert_int_equal(d.n, 0);
    diag_release(&d);
    cJSON_Delete(v);
}

/* The messages of a failed parse, "s.json: "-prefixed, joined by '\n', must be want (' for "). */
static void expect_errors(struct diag *d, const char *spec, const char *want)
{
    char got[4096] = "", *w = dq(want), full[4096] = "";
    size_t o = 0, f = 0;
    for (size_t i = 0; i < d->n; i++)
        o += (size_t)snprintf(got + o, sizeof got - o, "%s%s", i ? "\n" : "", d->msgs[i]);
    for (const char *line = w; line;) {
        const char *nl = strchr(line, '\n');
        int len = nl ? (int)(nl - line) : (int)strlen(line);
        f +=
            (size_t)snprintf(full + f, sizeof full - f, "%ss.json: %.*s", f ? "\n" : "", len, line);
        line = nl ? nl + 1 : NULL;
    }
    if (strcmp(got, full) != 0)
        fail_msg("%s\ngot:  %s\nwant: %s", spec, got, full);
    free(w);
}

static void parse_fails(const char *spec, const char *want)
{
    struct diag d;
    struct trigger t;
    cJSON *v = json(spec);
    diag_init(&d, "s.json");
    assert_int_equal(trigger_parse(v, P, &d, &t), -1);
    expect_errors(&d, spec, want);
    /* A failed parse leaves the "no trigger" state, nothing to free. */
    assert_null(t.since.name_glob);
    assert_string_equal(t.since.name, "start");
    assert_int_equal(t.has_window, 0);
    diag_release(&d);
    cJSON_Delete(v);
}

static void event_ok(const char *spec, const char *name, const char *glob)
{
    struct diag d;
    struct trigger_event ev;
    cJSON *v = json(spec);
    diag_init(&d, "s.json");
    if (trigger_parse_event(v, "timeline[0].on", &d, &ev) != 0)
        fail_msg("%s: %s", spec, d.n ? d.msgs[0] : "-1 without a message");
    assert_string_equal(ev.name, name);
    if (glob)
        assert_string_equal(ev.name_glob, glob);
    else
        assert_null(ev.name_glob);
    trigger_event_release(&ev);
    diag_release(&d);
    cJSON_Delete(v);
}

static void event_fails(const char *spec, const char *want)
{
    struct diag d;
    struct trigger_event ev;
    cJSON *v = json(spec);
    diag_init(&d, "s.json");
    assert_int_equal(trigger_parse_event(v, "timeline[0].on", &d, &ev), -1);
    expect_errors(&d, spec, want);
    assert_null(ev.name_glob);
    diag_release(&d);
    cJSON_Delete(v);
}

/* 'x' where match count (1..N) fires, '.' where not; no window, no probability. */
static void pattern(const struct trigger *t, char out[N + 1])
{
    for (uint64_t c = 1; c <= N; c++)
        out[c - 1] = trigger_fires(t, c, 0, -1, NULL) ? 'x' : '.';
    out[N] = '\0';
}

/* ---- counts ---- */

static void test_no_trigger_fires_always(void **state)
{
    (void)state;
    struct trigger t;
    char got[N + 1];
    struct diag d;
    diag_init(&d, "s.json");
    assert_int_equal(trigger_parse(NULL, P, &d, &t), 0);
    assert_string_equal(t.since.name, "start");
    assert_int_equal(t.has_window, 0);
    assert_int_equal(t.has_probability, 0);
    pattern(&t, got);
    assert_string_equal(got, "xxxxxxxxxxxxxxxxxxxx");
    trigger_release(&t);
    assert_int_equal(trigger_fires(NULL, 7, 0, -1, NULL), 1);
    trigger_release(NULL);
    parse_ok("{}", &t);
    pattern(&t, got);
    assert_string_equal(got, "xxxxxxxxxxxxxxxxxxxx");
    trigger_release(&t);
}

static void test_count_patterns(void **state)
{
    (void)state;
    static const struct {
        const char *spec, *want;
    } cases[] = {
        {"{'nth': 1}", "x..................."},
        {"{'nth': 5}", "....x..............."},
        {"{'nth': 20}", "...................x"},
        {"{'nth': 21}", "...................."},
        {"{'first': 1}", "x..................."},
        {"{'first': 3}", "xxx................."},
        {"{'first': 20}", "xxxxxxxxxxxxxxxxxxxx"},
        {"{'first': 25}", "xxxxxxxxxxxxxxxxxxxx"},
        {"{'after': 1}", ".xxxxxxxxxxxxxxxxxxx"},
        {"{'after': 3}", "...xxxxxxxxxxxxxxxxx"},
        {"{'after': 19}", "...................x"},
        {"{'after': 20}", "...................."},
        {"{'every': 1}", "xxxxxxxxxxxxxxxxxxxx"},
        {"{'every': 2}", ".x.x.x.x.x.x.x.x.x.x"},
        {"{'every': 3}", "..x..x..x..x..x..x.."},
        {"{'every': 7}", "......x......x......"},
        {"{'every': 20}", "...................x"},
        {"{'every': 21}", "...................."},
        /* "every 3rd after the first 2": the 3rd, 6th, ... match once 2 have passed */
        {"{'every': 3, 'after': 2}", "....x..x..x..x..x..x"},
        {"{'every': 2, 'after': 1}", "..x.x.x.x.x.x.x.x.x."},
        {"{'every': 1, 'after': 5}", ".....xxxxxxxxxxxxxxx"},
        {"{'every': 4, 'after': 4}", ".......x...x...x...x"},
        {"{'every': 10, 'after': 15}", "...................."},
        {"{'after': 2, 'first': 5}", "..xxx..............."},
        {"{'after': 4, 'first': 5}", "....x..............."},
        {"{'after': 17, 'first': 30}", ".................xxx"},
        {"{'every': 2, 'first': 6}", ".x.x.x.............."},
        {"{'every': 5, 'first': 5}", "....x..............."},
        {"{'every': 3, 'after': 2, 'first': 12}", "....x..x..x........."},
        {"{'every': 4, 'after': 4, 'first': 20}", ".......x...x...x...x"},
        {"{'first': 3, 'probability': 1}", "xxx................."},
        {"{'nth': 4, 'probability': 1}", "...x................"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct trigger t;
        char got[N + 1];
        struct rng rng;
        rng_init(&rng, 1);
        parse_ok(cases[i].spec, &t);
        for (uint64_t c = 1; c <= N; c++)
            got[c - 1] = trigger_fires(&t, c, 0, -1, &rng) ? 'x' : '.';
        got[N] = '\0';
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("%s: got %s, want %s", cases[i].spec, got, cases[i].want);
        assert_int_equal(trigger_fires(&t, 0, 0, -1, &rng), 0); /* count 0 is not a match */
        trigger_release(&t);
    }
}

/* Every combination of first, after and every in 0..7 (0: not given): parse and fire pattern
 * against a model written differently (as sets of counts); a combination whose set is empty must
 * be refused at parse time. */
static void test_every_count_combination(void **state)
{
    (void)state;
    for (int first = 0; first <= 7; first++)
        for (int after = 0; after <= 7; after++)
            for (int every = 0; every <= 7; every++) {
                char spec[128] = "{", want[N + 1], got[N + 1];
                size_t o = 1;
                if (first)
                    o += (size_t)snprintf(spec + o, sizeof spec - o, "'first': %d,", first);
                if (after)
                    o += (size_t)snprintf(spec + o, sizeof spec - o, "'after': %d,", after);
                if (every)
                    o += (size_t)snprintf(spec + o, sizeof spec - o, "'every': %d,", every);
                if (o > 1)
                    o--; /* the last comma */
                snprintf(spec + o, sizeof spec - o, "}");

                int in[N + 1] = {0}, any = 0;
                for (int c = 1; c <= N; c++)
                    in[c] = 1;
                if (every) {
                    int sel[N + 1] = {0};
                    for (int c = after + every; c <= N; c += every)
                        sel[c] = 1;
                    for (int c = 1; c <= N; c++)
                        in[c] &= sel[c];
                }
                for (int c = 1; c <= after && c <= N; c++)
                    in[c] = 0;
                for (int c = first + 1; first && c <= N; c++)
                    in[c] = 0;
                for (int c = 1; c <= N; c++) {
                    want[c - 1] = in[c] ? 'x' : '.';
                    any |= in[c];
                }
                want[N] = '\0';

                struct trigger t;
                struct diag d;
                cJSON *v = json(spec);
                diag_init(&d, "s.json");
                int rc = trigger_parse(v, P, &d, &t);
                /* With first <= 7 every firing would fall within 20, so "never in 20" is
                 * "never". */
                if (!any && first) {
                    if (rc != -1 || d.n != 1 || !strstr(d.msgs[0], "impossible combination"))
                        fail_msg("%s: accepted, but never fires", spec);
                } else {
                    if (rc != 0)
                        fail_msg("%s: %s", spec, d.msgs[0]);
                    pattern(&t, got);
                    if (strcmp(got, want) != 0)
                        fail_msg("%s: got %s, want %s", spec, got, want);
                }
                trigger_release(&t);
                diag_release(&d);
                cJSON_Delete(v);
            }
}

static void test_nth_alone(void **state)
{
    (void)state;
    struct trigger t;
    char spec[64];
    for (int nth = 1; nth <= N; nth++) {
        char got[N + 1], want[N + 1];
        snprintf(spec, sizeof spec, "{'nth': %d}", nth);
        parse_ok(spec, &t);
        memset(want, '.', N);
        want[nth - 1] = 'x';
        want[N] = '\0';
        pattern(&t, got);
        assert_string_equal(got, want);
        trigger_release(&t);
    }
    /* The largest count a JSON number holds exactly. */
    parse_ok("{'nth': 9007199254740991}", &t);
    assert_true(t.nth == 9007199254740991ull);
    assert_int_equal(trigger_fires(&t, 9007199254740991ull, 0, -1, NULL), 1);
    assert_int_equal(trigger_fires(&t, 9007199254740990ull, 0, -1, NULL), 0);
    trigger_release(&t);
}

/* ---- probability ---- */

static uint64_t fire_count(const struct trigger *t, uint64_t seed, int n, char *pat)
{
    struct rng rng;
    uint64_t fired = 0;
    rng_init(&rng, seed);
    for (int c = 1; c <= n; c++) {
        int f = trigger_fires(t, (uint64_t)c, 0, -1, &rng);
        fired += (uint64_t)f;
        if (pat)
            pat[c - 1] = f ? 'x' : '.';
    }
    if (pat)
        pat[n] = '\0';
    return fired;
}

static void test_probability(void **state)
{
    (void)state;
    struct trigger t;
    char a[1001], b[1001], c[1001];

    parse_ok("{'probability': 0.5}", &t);
    assert_int_equal(t.has_probability, 1);
    /* Same seed, same decisions; another seed, others. */
    fire_count(&t, 42, 1000, a);
    fire_count(&t, 42, 1000, b);
    fire_count(&t, 43, 1000, c);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    trigger_release(&t);

    parse_ok("{'probability': 0}", &t);
    assert_int_equal(fire_count(&t, 7, 10000, NULL), 0);
    trigger_release(&t);
    parse_ok("{'probability': 1}", &t);
    assert_int_equal(fire_count(&t, 7, 10000, NULL), 10000);
    trigger_release(&t);

    /* About p of 10000 (binomial sd about 46 at p = 0.3: 250 is more than five of them). */
    static const double ps[] = {0.01, 0.1, 0.3, 0.5, 0.9, 0.99};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        char spec[64];
        snprintf(spec, sizeof spec, "{'probability': %g}", ps[i]);
        parse_ok(spec, &t);
        for (uint64_t seed = 1; seed <= 3; seed++) {
            uint64_t n = fire_count(&t, seed, 10000, NULL);
            double want = ps[i] * 10000;
            if ((double)n < want - 250 || (double)n > want + 250)
                fail_msg("p=%g seed %llu: %llu of 10000 fired", ps[i], (unsigned long long)seed,
                         (unsigned long long)n);
        }
        trigger_release(&t);
    }

    /* Counts first, then the draw: "first 10" at p = 0.5 fires only among the first 10, and the
     * same seed gives the same ones. */
    parse_ok("{'first': 10, 'probability': 0.5}", &t);
    fire_count(&t, 9, 20, a);
    fire_count(&t, 9, 20, b);
    assert_string_equal(a, b);
    assert_string_equal(a + 10, "..........");
    assert_non_null(strchr(a, 'x'));
    trigger_release(&t);
}

/* The generator is drawn from only when the counts and the window allow firing, once each time,
 * whatever p is: the draws depend on the request sequence only. */
static void test_probability_draws(void **state)
{
    (void)state;
    static const struct {
        const char *spec;
        int draws; /* over 20 matches at now 0..19 s, since 0 */
    } cases[] = {
        {"{'probability': 0.5}", 20},
        {"{'probability': 0}", 20},
        {"{'probability': 1}", 20},
        {"{'first': 3, 'probability': 0.5}", 3},
        {"{'nth': 7, 'probability': 0.5}", 1},
        {"{'every': 5, 'probability': 0.5}", 4},
        {"{'after': 15, 'probability': 0.5}", 5},
        {"{'window': {'from': '5s', 'until': '8s'}, 'probability': 0.5}", 3},
        {"{'window': {'from': '30s'}, 'probability': 0.5}", 0},
        {"{'window': {'since': 'pod-running'}, 'probability': 0.5}", 20},
        {"{'first': 2}", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct trigger t;
        struct rng used, ref;
        parse_ok(cases[i].spec, &t);
        rng_init(&used, 5);
        rng_init(&ref, 5);
        for (uint64_t c = 1; c <= N; c++)
            trigger_fires(&t, c, (int64_t)(c - 1) * 1000, 0, &used);
        for (int k = 0; k < cases[i].draws; k++)
            rng_next(&ref);
        if (memcmp(&used, &ref, sizeof used) != 0)
            fail_msg("%s: not exactly %d draws", cases[i].spec, cases[i].draws);
        trigger_release(&t);
    }

    /* An event that has not happened: no draws either. */
    struct trigger t;
    struct rng used, ref;
    parse_ok("{'window': {'since': 'pod-running'}, 'probability': 0.5}", &t);
    rng_init(&used, 5);
    rng_init(&ref, 5);
    for (uint64_t c = 1; c <= N; c++)
        assert_int_equal(trigger_fires(&t, c, 1000, -1, &used), 0);
    assert_memory_equal(&used, &ref, sizeof used);
    trigger_release(&t);
}

/* ---- windows ---- */

static void test_window_from_start(void **state)
{
    (void)state;
    struct trigger t;
    parse_ok("{'window': {'from': '2s', 'until': '5s'}}", &t);
    assert_int_equal(t.has_window, 1);
    assert_int_equal(t.from_ms, 2000);
    assert_int_equal(t.until_ms, 5000);
    assert_string_equal(t.since.name, "start");
    assert_int_equal(trigger_fires(&t, 1, 0, 0, NULL), 0);     /* before */
    assert_int_equal(trigger_fires(&t, 1, 1999, 0, NULL), 0);  /* before */
    assert_int_equal(trigger_fires(&t, 1, 2000, 0, NULL), 1);  /* from is inside */
    assert_int_equal(trigger_fires(&t, 2, 3500, 0, NULL), 1);  /* inside */
    assert_int_equal(trigger_fires(&t, 3, 4999, 0, NULL), 1);  /* inside */
    assert_int_equal(trigger_fires(&t, 4, 5000, 0, NULL), 0);  /* until is outside */
    assert_int_equal(trigger_fires(&t, 5, 60000, 0, NULL), 0); /* after */
    assert_int_equal(trigger_fires(&t, 5, 3000, -1, NULL), 0); /* start never recorded */
    trigger_release(&t);

    /* Open-ended: from on, forever. */
    parse_ok("{'window': {'from': '1m30s'}}", &t);
    assert_int_equal(t.from_ms, 90000);
    assert_true(t.until_ms < 0);
    assert_int_equal(trigger_fires(&t, 1, 89999, 0, NULL), 0);
    assert_int_equal(trigger_fires(&t, 1, 90000, 0, NULL), 1);
    assert_int_equal(trigger_fires(&t, 1, INT64_C(1) << 40, 0, NULL), 1);
    trigger_release(&t);

    /* Until alone: from the start to until. */
    parse_ok("{'window': {'until': '250ms'}}", &t);
    assert_int_equal(t.from_ms, 0);
    assert_int_equal(t.until_ms, 250);
    assert_int_equal(trigger_fires(&t, 1, 0, 0, NULL), 1);
    assert_int_equal(trigger_fires(&t, 1, 249, 0, NULL), 1);
    assert_int_equal(trigger_fires(&t, 1, 250, 0, NULL), 0);
    trigger_release(&t);

    /* An empty window: always, once since has happened. */
    parse_ok("{'window': {}}", &t);
    assert_int_equal(t.has_window, 1);
    assert_int_equal(trigger_fires(&t, 1, 0, 0, NULL), 1);
    assert_int_equal(trigger_fires(&t, 1, 0, -1, NULL), 0);
    trigger_release(&t);

    /* No window: since does not matter. */
    parse_ok("{'first': 1}", &t);
    assert_int_equal(t.has_window, 0);
    assert_int_equal(trigger_fires(&t, 1, 123, -1, NULL), 1);
    trigger_release(&t);
}

static void test_window_since_event(void **state)
{
    (void)state;
    struct trigger t;
    parse_ok("{'window': {'since': 'pod-running', 'from': '500ms', 'until': '1s'}}", &t);
    assert_string_equal(t.since.name, "pod-running");
    assert_null(t.since.name_glob);
    /* The event has not happened: never, whatever the time. */
    for (int64_t now = 0; now <= 20000; now += 250)
        assert_int_equal(trigger_fires(&t, 1, now, -1, NULL), 0);
    /* It happened at 10 s. */
    assert_int_equal(trigger_fires(&t, 1, 5000, 10000, NULL), 0);  /* before the event */
    assert_int_equal(trigger_fires(&t, 1, 10000, 10000, NULL), 0); /* at it: before from */
    assert_int_equal(trigger_fires(&t, 1, 10499, 10000, NULL), 0);
    assert_int_equal(trigger_fires(&t, 1, 10500, 10000, NULL), 1);
    assert_int_equal(trigger_fires(&t, 1, 10999, 10000, NULL), 1);
    assert_int_equal(trigger_fires(&t, 1, 11000, 10000, NULL), 0);
    trigger_release(&t);

    /* Since alone: from the event on. */
    parse_ok("{'window': {'since': {'event': 'pod-created', 'name': 'runner-*'}}}", &t);
    assert_string_equal(t.since.name, "pod-created");
    assert_string_equal(t.since.name_glob, "runner-*");
    assert_int_equal(trigger_fires(&t, 1, 99, 100, NULL), 0);
    assert_int_equal(trigger_fires(&t, 1, 100, 100, NULL), 1);
    assert_int_equal(trigger_fires(&t, 1, 100000, 100, NULL), 1);
    trigger_release(&t);

    /* Counts and window both hold: nth 2 inside the window only. */
    parse_ok("{'nth': 2, 'window': {'since': 'rule-fired:etcd-flap', 'until': '2s'}}", &t);
    assert_string_equal(t.since.name, "rule-fired:etcd-flap");
    assert_int_equal(trigger_fires(&t, 2, 1500, 0, NULL), 1);
    assert_int_equal(trigger_fires(&t, 2, 2500, 0, NULL), 0);
    assert_int_equal(trigger_fires(&t, 1, 1500, 0, NULL), 0);
    assert_int_equal(trigger_fires(&t, 3, 1500, 0, NULL), 0);
    trigger_release(&t);
}

/* ---- durations (through window.from: jsonc_parse_duration(), as every duration of a scenario)
 * ----
 */

static void test_durations(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t ms;
    } good[] = {
        {"250ms", 250},
        {"2s", 2000},
        {"1m30s", 90000},
        {"1.5s", 1500},
        {"1h", 3600000},
        {"0s", 0},
        {"0ms", 0},
        {"1h2m3s4ms", 3723004},
        {"30s1m", 90000},
        {"0.001s", 1},
        {"1.25m", 75000},
        {"2.5h", 9000000},
        {"007s", 7000},
        {"1.500s", 1500},
        {"720h", 2592000000},
        {"1.0ms", 1},
        {"000000000001h", 3600000},
        {".5s", 500}, /* as Go */
        {"1.s", 1000},
        {"1.000000000s", 1000}, /* 9 decimals, the most */
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char spec[128];
        struct trigger t;
        snprintf(spec, sizeof spec, "{'window': {'from': '%s'}}", good[i].text);
        parse_ok(spec, &t);
        if (t.from_ms != good[i].ms)
            fail_msg("%s: %lld ms, want %lld", good[i].text, (long long)t.from_ms,
                     (long long)good[i].ms);
        trigger_release(&t);
    }

    static const struct {
        const char *text, *why;
    } bad[] = {
        {"250", NEEDS_UNIT},
        {"1.5", NEEDS_UNIT},
        {"0", NEEDS_UNIT},
        {"1m30", "duration '1m30': the last number has no unit (ms, s, m or h)"},
        {"5sec", "unknown unit 'sec' in duration '5sec' (known: ms, s, m, h)"},
        {"5us", "unknown unit 'us' in duration '5us' (known: ms, s, m, h)"},
        {"5\xc2\xb5s", "unknown unit '\xc2\xb5s' in duration '5\xc2\xb5s' (known: ms, s, m, h)"},
        {"1S", "unknown unit 'S' in duration '1S' (known: ms, s, m, h)"},
        {"1.5ms", "duration '1.5ms' is not a whole number of milliseconds"},
        {"0.0001s", "duration '0.0001s' is not a whole number of milliseconds"},
        {"0.000000001h", "duration '0.000000001h' is not a whole number of milliseconds"},
        {"0.0000000001s", "duration '0.0000000001s': too many decimals"},
        {"", "empty duration: write e.g. '250ms' or '2s'"},
        {"-1s", "duration '-1s': a duration cannot be negative"},
        {"+1s", "duration '+1s': write it without a sign"},
        {" 1s", "invalid duration ' 1s' (expected " DUR_EXAMPLES ")"},
        {"1s ", "invalid duration '1s ' (expected " DUR_EXAMPLES ")"},
        {".", "invalid duration '.' (expected " DUR_EXAMPLES ")"},
        {"1..5s", "invalid duration '1..5s' (expected " DUR_EXAMPLES ")"},
        {"s", "invalid duration 's' (expected " DUR_EXAMPLES ")"},
        {"1s,2s", "invalid duration '1s,2s' (expected " DUR_EXAMPLES ")"},
        {"720h1ms", "duration '720h1ms' is too long (max 720h)"},
        {"721h", "duration '721h' is too long (max 720h)"},
        {"999999999999ms", "duration '999999999999ms' is too long (max 720h)"},
        {"99999999999999999999999ms",
         "duration '99999999999999999999999ms' is too long (max 720h)"},
        {"1111111111111111111111111111111111111111111111s",
         "duration '1111111111111111111111111111111111111111111111s' is too long (max 720h)"},
        /* Quoted durations are cut at 80 characters (JSONC_SHOW_MAX). */
        {ONES10 ONES10 ONES10 ONES10 ONES10 ONES10 ONES10 ONES10 ONES10 "s",
         "duration '" ONES10 ONES10 ONES10 ONES10 ONES10 ONES10 ONES10 ONES10
         "...' is too long (max 720h)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char spec[128], want[256];
        snprintf(spec, sizeof spec, "{'window': {'from': '%s'}}", bad[i].text);
        snprintf(want, sizeof want, P ".window.from: %s", bad[i].why);
        parse_fails(spec, want);
    }
    /* A JSON number is a bare number too; other types say what is expected. */
    parse_fails("{'window': {'from': 250}}", P ".window.from: " NEEDS_UNIT);
    parse_fails("{'window': {'until': 2.5}}", P ".window.until: " NEEDS_UNIT);
    parse_fails("{'window': {'from': true}}",
                P ".window.from: expected a duration such as '2s', got boolean");
    parse_fails("{'window': {'until': ['1s']}}",
                P ".window.until: expected a duration such as '2s', got array");
}

/* ---- events ---- */

static void test_events(void **state)
{
    (void)state;
    event_ok("'start'", "start", NULL);
    event_ok("'pod-created'", "pod-created", NULL);
    event_ok("'pod-scheduled'", "pod-scheduled", NULL);
    event_ok("'pod-running'", "pod-running", NULL);
    event_ok("'pod-deleted'", "pod-deleted", NULL);
    event_ok("'rule-fired:etcd-flap'", "rule-fired:etcd-flap", NULL);
    event_ok("{'event': 'pod-running'}", "pod-running", NULL);
    event_ok("{'event': 'pod-running', 'name': 'runner-*'}", "pod-running", "runner-*");
    event_ok("{'name': 'runner-*', 'event': 'pod-deleted'}", "pod-deleted", "runner-*");
    event_ok("{'event': 'rule-fired:a'}", "rule-fired:a", NULL);
    /* a stage start: any stage, or stages whose name matches a pattern, narrowed by pod */
    event_ok("'stage-started'", "stage-started", NULL);
    event_ok("'stage-started:step_script'", "stage-started:step_script", NULL);
    event_ok("{'event': 'stage-started:archive_cache*', 'name': 'runner-*'}",
             "stage-started:archive_cache*", "runner-*");
    event_ok("{'event': 'stage-started', 'name': 'runner-*'}", "stage-started", "runner-*");

    /* A rule name fills what ev.name leaves after "rule-fired:". */
    char spec[160], want[400], rule[64];
    size_t room = SCENARIO_NAME_MAX - 1 - strlen("rule-fired:");
    memset(rule, 'r', room);
    rule[room] = '\0';
    snprintf(spec, sizeof spec, "'rule-fired:%s'", rule);
    snprintf(want, sizeof want, "rule-fired:%s", rule);
    event_ok(spec, want, NULL);
    snprintf(spec, sizeof spec, "'rule-fired:%sr'", rule);
    snprintf(want, sizeof want,
             "timeline[0].on: event 'rule-fired:%sr' is too long (rule names here: at most %zu "
             "characters)",
             rule, room);
    event_fails(spec, want);
}

static void test_event_errors(void **state)
{
    (void)state;
    event_fails("'pod-ready'", ON ": unknown event 'pod-ready' (known: " KNOWN_EVENTS ")");
    event_fails("'Start'",
                ON ": unknown event 'Start' (known: " KNOWN_EVENTS "); did you mean 'start'?");
    event_fails("'pod-runing'", ON ": unknown event 'pod-runing' (known: " KNOWN_EVENTS
                                   "); did you mean 'pod-running'?");
    event_fails("''", ON ": unknown event '' (known: " KNOWN_EVENTS ")");
    event_fails("'rule-fired:'",
                ON ": 'rule-fired:' needs a rule name, e.g. 'rule-fired:etcd-flap'");
    event_fails("'rule-fired'",
                ON ": 'rule-fired:' needs a rule name, e.g. 'rule-fired:etcd-flap'");
    event_fails("'stage-started:'",
                ON ": 'stage-started:' needs a stage name or pattern, e.g. "
                   "'stage-started:step_script' (or 'stage-started' for any stage)");
    event_fails("'stage-start'", ON ": unknown event 'stage-start' (known: " KNOWN_EVENTS
                                    "); did you mean 'stage-started'?");
    event_fails("'stage-started-x'", ON ": unknown event 'stage-started-x' (known: " KNOWN_EVENTS
                                        "); did you mean 'stage-started'?");
    event_fails("'stage-started:0123456789012345678901234567890123456789012345678901234'", ON
                ": event 'stage-started:0123456789012345678901234567890123456789012345678901234' "
                "is too long (stage patterns here: at most 49 characters)");
    event_fails("3", ON ": expected an event name or {'event': ..., 'name': ...}, got number");
    event_fails("['start']",
                ON ": expected an event name or {'event': ..., 'name': ...}, got array");
    event_fails("{'name': 'x'}", ON ": missing key 'event' (known: " KNOWN_EVENTS ")");
    event_fails("{'event': 1}",
                ON ".event: expected an event name (known: " KNOWN_EVENTS "), got number");
    event_fails("{'event': 'pod-up'}",
                ON ".event: unknown event 'pod-up' (known: " KNOWN_EVENTS ")");
    event_fails("{'event': 'start', 'name': 'x'}", ON
                ".name: 'name' applies only to pod and stage events (" POD_EVENTS "), not 'start'");
    event_fails("{'event': 'rule-fired:a', 'name': 'x'}",
                ON ".name: 'name' applies only to pod and stage events (" POD_EVENTS
                   "), not 'rule-fired:a'");
    event_fails("{'event': 'pod-running', 'name': 3}",
                ON ".name: expected a pod name pattern, got number");
    event_fails("{'event': 'pod-running', 'pod': 'x'}",
                ON ": unknown key 'pod' (accepted: event, name)");
    event_fails("{'evnet': 'pod-running'}",
                ON ": unknown key 'evnet' (accepted: event, name); did you mean 'event'?\n" ON
                   ": missing key 'event' (known: " KNOWN_EVENTS ")");
    event_fails("{'event': 'pod-running', 'event': 'start'}", ON ".event: duplicate key 'event'");
    event_fails("{'event': 'pod-up', 'name': 3, 'x': 1}",
                ON ": unknown key 'x' (accepted: event, name)\n" ON
                   ".event: unknown event 'pod-up' (known: " KNOWN_EVENTS ")\n" ON
                   ".name: expected a pod name pattern, got number");

    struct diag d;
    struct trigger_event ev;
    diag_init(&d, "s.json");
    assert_int_equal(trigger_parse_event(NULL, ON, &d, &ev), -1);
    assert_int_equal(d.n, 1);
    diag_release(&d);
    trigger_event_release(NULL);
}

/* ---- trigger errors ---- */

static void test_trigger_errors(void **state)
{
    (void)state;
    static const struct {
        const char *spec, *want;
    } cases[] = {
        {"[]", P ": expected an object, got array"},
        {"1", P ": expected an object, got number"},
        {"{'nht': 1}", P ": unknown key 'nht' (accepted: " ACCEPTED_KEYS "); did you mean 'nth'?"},
        {"{'colour': 1}", P ": unknown key 'colour' (accepted: " ACCEPTED_KEYS ")"},
        {"{'nth': 1, 'nth': 2}", P ".nth: duplicate key 'nth'"},
        {"{'nth': 0}", P ".nth: expected " COUNT ", got 0"},
        {"{'first': -2}", P ".first: expected " COUNT ", got -2"},
        {"{'after': 1.5}", P ".after: expected " COUNT ", got 1.5"},
        {"{'every': 0.5}", P ".every: expected " COUNT ", got 0.5"},
        {"{'every': '3'}", P ".every: expected " COUNT ", got string"},
        {"{'first': null}", P ".first: expected " COUNT ", got null"},
        {"{'nth': 1e20}", P ".nth: expected " COUNT ", got 1e+20"},
        /* 2^53: the first count a JSON number cannot hold exactly (%.15g, as jsonc shows it) */
        {"{'nth': 9007199254740992}", P ".nth: expected " COUNT ", got 9.00719925474099e+15"},
        {"{'nth': 2, 'first': 3}", P ": 'nth' cannot be combined with 'first'"},
        {"{'after': 1, 'nth': 2}", P ": 'nth' cannot be combined with 'after'"},
        {"{'nth': 2, 'after': 1, 'every': 2}",
         P ": 'nth' cannot be combined with 'after'\n" P ": 'nth' cannot be combined with 'every'"},
        {"{'first': 2, 'after': 2}",
         P ": impossible combination: 'after': 2 skips all of 'first': 2, so the rule never fires"},
        {"{'first': 2, 'after': 9}",
         P ": impossible combination: 'after': 9 skips all of 'first': 2, so the rule never fires"},
        {"{'first': 3, 'every': 5}",
         P ": impossible combination: 'every': 5 first fires on match 5, past 'first': 3, so the "
           "rule never fires"},
        {"{'first': 6, 'after': 2, 'every': 5}",
         P ": impossible combination: 'every': 5 with 'after': 2 first fires on match 7, past "
           "'first': 6, so the rule never fires"},
        {"{'probability': 1.5}", P ".probability: expected a number from 0 to 1, got 1.5"},
        {"{'probability': -0.1}", P ".probability: expected a number from 0 to 1, got -0.1"},
        {"{'probability': '50%'}", P ".probability: expected a number, got string"},
        {"{'window': []}", P ".window: expected an object, got array"},
        {"{'window': '2s'}", P ".window: expected an object, got string"},
        {"{'window': {'to': '1s'}}", P ".window: unknown key 'to' (accepted: from, until, since)"},
        {"{'window': {'untill': '1s'}}",
         P ".window: unknown key 'untill' (accepted: from, until, since); did you mean 'until'?"},
        {"{'window': {'from': '1s', 'from': '2s'}}", P ".window.from: duplicate key 'from'"},
        {"{'window': {'from': '2s', 'until': '1s'}}",
         P ".window: 'until' (1s) must be later than 'from' (2s)"},
        {"{'window': {'from': '2s', 'until': '2000ms'}}",
         P ".window: 'until' (2000ms) must be later than 'from' (2s)"},
        {"{'window': {'until': '0s'}}",
         P ".window: 'until' (0s) must be later than 'from' (0s when not given)"},
        {"{'window': {'since': 'pod-ready'}}",
         P ".window.since: unknown event 'pod-ready' (known: start, pod-created, pod-scheduled, "
           "pod-running, pod-deleted, stage-started, stage-started:<stage>, rule-fired:<rule>)"},
        {"{'window': {'since': {'event': 'start', 'name': 'x'}}}",
         P ".window.since.name: 'name' applies only to pod and stage events (pod-created, "
           "pod-scheduled, pod-running, pod-deleted, stage-started[:<stage>]), not 'start'"},
        /* Every error at once: unknown keys first (jsonc_check_keys(), as scenario.c checks every
         * object), then each value in order; the combination check waits for clean counts. */
        {"{'nth': 0, 'first': 2, 'probability': 2, 'colour': 'red', 'window': {'from': 5}}",
         P ": unknown key 'colour' (accepted: " ACCEPTED_KEYS ")\n" P ".nth: expected " COUNT
           ", got 0\n" P ".probability: expected a number from 0 to 1, got 2\n" P
           ".window.from: " NEEDS_UNIT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        parse_fails(cases[i].spec, cases[i].want);

    /* Probability bounds are inclusive. */
    struct trigger t;
    parse_ok("{'probability': 0}", &t);
    assert_int_equal(t.has_probability, 1);
    assert_true(t.probability == 0);
    trigger_release(&t);
    parse_ok("{'probability': 1}", &t);
    assert_true(t.probability == 1);
    trigger_release(&t);
}

static void test_messages_are_bounded_and_clean(void **state)
{
    (void)state;
    char spec[512], want[512], longkey[201];
    memset(longkey, 'k', 200);
    longkey[200] = '\0';
    snprintf(spec, sizeof spec, "{'%s': 1}", longkey);
    /* The quoted key is cut at 80 characters. */
    snprintf(want, sizeof want, P ": unknown key '%.80s...' (accepted: " ACCEPTED_KEYS ")",
             longkey);
    parse_fails(spec, want);

    cJSON *v = cJSON_Parse("\"pod\\nrunning\\\"\"");
    struct diag d;
    struct trigger_event ev;
    diag_init(&d, "s.json");
    assert_int_equal(trigger_parse_event(v, "on", &d, &ev), -1);
    assert_string_equal(d.msgs[0],
                        "s.json: on: unknown event \"pod.running\\\"\" (known: " KNOWN_EVENTS
                        "); did you mean \"pod-running\"?");
    diag_release(&d);
    cJSON_Delete(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_trigger_fires_always),
        cmocka_unit_test(test_count_patterns),
        cmocka_unit_test(test_every_count_combination),
        cmocka_unit_test(test_nth_alone),
        cmocka_unit_test(test_probability),
        cmocka_unit_test(test_probability_draws),
        cmocka_unit_test(test_window_from_start),
        cmocka_unit_test(test_window_since_event),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_event_errors),
        cmocka_unit_test(test_trigger_errors),
        cmocka_unit_test(test_messages_are_bounded_and_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
