/* test_faults_net.c -- the byte-level and listener fault types (reset, close, drip, refuse,
 * blackhole, accept-hang, accept-reset): the registry rows and every parse error a scenario author
 * can meet, word for word. Behaviour over real sockets is in
 * tests/integration/test_it_faults_net.c; what kubectl prints is in tests/kubectl/faults-net.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/diag.h"
#include "harness/fault.h"

#define PATH "rules[0].fault"

extern const struct fault_type fault_type_reset, fault_type_close, fault_type_drip,
    fault_type_refuse, fault_type_blackhole, fault_type_accept_hang, fault_type_accept_reset;

static char errors[4096];

/* Parse json with t: 0 (ctx freed again) or -1 with every message, one a line, in errors. */
static int try_parse(const struct fault_type *t, const char *json)
{
    struct diag d;
    void *ctx = NULL;
    cJSON *spec = cJSON_Parse(json);
    assert_non_null(spec);
    diag_init(&d, "s.json");
    int rc = t->parse(spec, PATH, &d, &ctx);
    size_t n = 0;
    errors[0] = '\0';
    for (size_t i = 0; i < d.n && n < sizeof errors; i++)
        n += (size_t)snprintf(errors + n, sizeof errors - n, "%s%s", i ? "\n" : "", d.msgs[i]);
    size_t nmsgs = d.n;
    diag_release(&d);
    cJSON_Delete(spec);
    (t->free ? t->free : free)(ctx);
    if (rc == 0 && nmsgs)
        fail_msg("%s: parsed with messages: %s", json, errors);
    if (rc < 0 && !nmsgs)
        fail_msg("%s: failed without a message", json);
    return rc;
}

static void parse_ok(const struct fault_type *t, const char *json)
{
    if (try_parse(t, json) < 0)
        fail_msg("%s: %s", json, errors);
}

static void parse_fails(const struct fault_type *t, const char *json, const char *want)
{
    if (try_parse(t, json) == 0)
        fail_msg("%s parsed", json);
    assert_string_equal(errors, want);
}

/* The parse fails and its messages contain each of the NULL-ended parts: for the wording that
 * param.c and jsonc.c own (types, ranges, durations). */
static void parse_fails_with(const struct fault_type *t, const char *json, ...)
{
    va_list ap;
    if (try_parse(t, json) == 0)
        fail_msg("%s parsed", json);
    va_start(ap, json);
    for (const char *part; (part = va_arg(ap, const char *));)
        if (!strstr(errors, part))
            fail_msg("%s: \"%s\" not in \"%s\"", json, part, errors);
    va_end(ap);
}

static void test_registry(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        enum fault_layer layer;
    } rows[] = {
        {"reset", FAULT_LAYER_HTTP},
        {"close", FAULT_LAYER_HTTP},
        {"drip", FAULT_LAYER_HTTP},
        {"refuse", FAULT_LAYER_LISTENER},
        {"blackhole", FAULT_LAYER_LISTENER},
        {"accept-hang", FAULT_LAYER_LISTENER},
        {"accept-reset", FAULT_LAYER_LISTENER},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct fault_type *t = fault_type_find(rows[i].name);
        assert_non_null(t);
        assert_string_equal(t->name, rows[i].name);
        assert_int_equal(t->layer, rows[i].layer);
        assert_non_null(t->summary);
        assert_non_null(t->client_sees);
        assert_non_null(t->keys);
        assert_non_null(t->parse);
        if (t->layer == FAULT_LAYER_HTTP)
            assert_non_null(t->on_request);
        else
            assert_true(t->on_accept || (t->on_enable && t->on_disable));
    }
    char names[2048];
    assert_non_null(strstr(fault_type_names(names, sizeof names), "accept-reset"));
}

static void test_reset_parse(void **state)
{
    (void)state;
    parse_ok(&fault_type_reset, "{\"type\":\"reset\"}");
    parse_ok(&fault_type_reset, "{\"type\":\"reset\",\"at\":\"before-response\"}");
    parse_ok(&fault_type_reset, "{\"type\":\"reset\",\"at\":\"after-headers\"}");
    parse_ok(&fault_type_reset, "{\"type\":\"reset\",\"at\":{\"afterBytes\":0}}");
    parse_ok(&fault_type_reset, "{\"type\":\"reset\",\"at\":{\"afterBytes\":100}}");
    parse_fails_with(&fault_type_reset, "{\"type\":\"reset\",\"after\":1}",
                     "s.json: rules[0].fault: unknown key \"after\" (accepted: ", "at", NULL);
    parse_fails(&fault_type_reset, "{\"type\":\"reset\",\"at\":\"mid-body\"}",
                "s.json: rules[0].fault.at: unknown value \"mid-body\" (accepted: "
                "\"before-response\", \"after-headers\" or {\"afterBytes\": N})");
    parse_fails(&fault_type_reset, "{\"type\":\"reset\",\"at\":12}",
                "s.json: rules[0].fault.at: expected \"before-response\", \"after-headers\" or "
                "{\"afterBytes\": N}");
    /* the object under "at" takes afterBytes only ("type" is not one of its keys) */
    parse_fails_with(&fault_type_reset, "{\"type\":\"reset\",\"at\":{\"type\":\"x\"}}",
                     "s.json: rules[0].fault.at: unknown key \"type\" (accepted: afterBytes)",
                     NULL);
    parse_fails_with(&fault_type_reset, "{\"type\":\"reset\",\"at\":{\"bytes\":12}}",
                     "s.json: rules[0].fault.at: unknown key \"bytes\" (accepted: afterBytes)",
                     NULL);
    parse_fails(&fault_type_reset, "{\"type\":\"reset\",\"at\":{}}",
                "s.json: rules[0].fault.at: missing key \"afterBytes\"");
    parse_fails_with(&fault_type_reset, "{\"type\":\"reset\",\"at\":{\"afterBytes\":-1}}",
                     "s.json: rules[0].fault.at.afterBytes: ", "-1", NULL);
    parse_fails_with(&fault_type_reset, "{\"type\":\"reset\",\"at\":{\"afterBytes\":\"10\"}}",
                     "s.json: rules[0].fault.at.afterBytes: ", "integer", NULL);
}

static void test_close_parse(void **state)
{
    (void)state;
    parse_ok(&fault_type_close, "{\"type\":\"close\"}");
    parse_ok(&fault_type_close, "{\"type\":\"close\",\"afterBytes\":250}");
    parse_fails_with(&fault_type_close, "{\"type\":\"close\",\"at\":\"after-headers\"}",
                     "s.json: rules[0].fault: unknown key \"at\" (accepted: ", "afterBytes", NULL);
    parse_fails_with(&fault_type_close, "{\"type\":\"close\",\"afterBytes\":1.5}",
                     "s.json: rules[0].fault.afterBytes: ", "integer", "1.5", NULL);
}

static void test_drip_parse(void **state)
{
    (void)state;
    parse_ok(&fault_type_drip, "{\"type\":\"drip\",\"bytes\":10,\"every\":\"100ms\"}");
    parse_ok(&fault_type_drip, "{\"type\":\"drip\",\"stallAfter\":\"headers\"}");
    parse_ok(&fault_type_drip, "{\"type\":\"drip\",\"stallAfter\":0,\"stallFor\":\"2s\"}");
    parse_ok(&fault_type_drip, "{\"type\":\"drip\",\"bytes\":1,\"every\":\"1ms\",\"stallAfter\":"
                               "100,\"stallFor\":\"1m30s\"}");
    parse_fails(&fault_type_drip, "{\"type\":\"drip\"}",
                "s.json: rules[0].fault: missing key \"bytes\" and \"every\" (or \"stallAfter\")");
    parse_fails(&fault_type_drip, "{\"type\":\"drip\",\"bytes\":10}",
                "s.json: rules[0].fault: \"bytes\" needs \"every\" (N bytes every T)");
    parse_fails(&fault_type_drip, "{\"type\":\"drip\",\"every\":\"1s\"}",
                "s.json: rules[0].fault: \"every\" needs \"bytes\" (N bytes every T)");
    parse_fails(&fault_type_drip,
                "{\"type\":\"drip\",\"bytes\":10,\"every\":\"1s\",\"stallFor\":\"1s\"}",
                "s.json: rules[0].fault: \"stallFor\" needs \"stallAfter\"");
    parse_fails_with(&fault_type_drip, "{\"type\":\"drip\",\"bytes\":0,\"every\":\"1s\"}",
                     "s.json: rules[0].fault.bytes: ", "1048576", NULL);
    parse_fails(&fault_type_drip, "{\"type\":\"drip\",\"bytes\":1,\"every\":\"0s\"}",
                "s.json: rules[0].fault.every: must be at least 1ms");
    parse_fails(&fault_type_drip, "{\"type\":\"drip\",\"stallAfter\":\"body\"}",
                "s.json: rules[0].fault.stallAfter: unknown value \"body\" (accepted: a number of "
                "bytes, or \"headers\")");
    parse_fails_with(&fault_type_drip, "{\"type\":\"drip\",\"byte\":1,\"every\":\"1s\"}",
                     "s.json: rules[0].fault: unknown key \"byte\" (accepted: ",
                     "bytes, every, stallAfter, stallFor", NULL);
    parse_fails_with(&fault_type_drip, "{\"type\":\"drip\",\"bytes\":1,\"every\":100}",
                     "s.json: rules[0].fault.every: ", NULL);
}

static void test_no_parameters(void **state)
{
    (void)state;
    const struct fault_type *types[] = {&fault_type_refuse, &fault_type_blackhole,
                                        &fault_type_accept_hang, &fault_type_accept_reset};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        char json[128];
        snprintf(json, sizeof json, "{\"type\":\"%s\"}", types[i]->name);
        parse_ok(types[i], json);
        assert_null(types[i]->keys[0]);
        snprintf(json, sizeof json, "{\"type\":\"%s\",\"for\":\"2s\"}", types[i]->name);
        parse_fails_with(types[i], json, "s.json: rules[0].fault: unknown key \"for\"", NULL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),      cmocka_unit_test(test_reset_parse),
        cmocka_unit_test(test_close_parse),   cmocka_unit_test(test_drip_parse),
        cmocka_unit_test(test_no_parameters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
