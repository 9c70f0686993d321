/* test_faults_watch.c -- the watch fault types (watch-stall, watch-cut, watch-expire,
 * watch-no-bookmarks, watch-duplicate, watch-list-refused): the registry rows, every parse error a
 * scenario author can meet, and the pieces that need no server: which BOOKMARK events
 * watch-no-bookmarks withholds, and wstate's chunk framing and resourceVersion reading. What the
 * faults do to real watch streams is in tests/integration/test_it_faults_watch.c; what kubectl
 * prints is in tests/kubectl/faults-watch.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <event2/buffer.h>

#include "harness/fault.h"
#include "harness/faults/wstate.h"
#include "../testutil.h"

extern const struct fault_type fault_type_watch_stall, fault_type_watch_cut,
    fault_type_watch_expire, fault_type_watch_no_bookmarks, fault_type_watch_duplicate,
    fault_type_watch_list_refused;

/* ---- parsing ---- */

/* Every watch fault type keeps a ctx. */
static void *parse_ok(const struct fault_type *t, const char *json)
{
    void *ctx = fault_ok(t, json);
    assert_non_null(ctx);
    return ctx;
}

static void test_registry(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        enum fault_layer layer;
    } rows[] = {{"watch-stall", FAULT_LAYER_WATCH},     {"watch-cut", FAULT_LAYER_WATCH},
                {"watch-expire", FAULT_LAYER_WATCH},    {"watch-no-bookmarks", FAULT_LAYER_WATCH},
                {"watch-duplicate", FAULT_LAYER_WATCH}, {"watch-list-refused", FAULT_LAYER_HTTP}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct fault_type *t = fault_type_find(rows[i].name);
        assert_non_null(t);
        assert_int_equal(t->layer, rows[i].layer);
        if (t->layer == FAULT_LAYER_WATCH)
            assert_non_null(t->on_watch_event);
        else
            assert_non_null(t->on_request);
        assert_non_null(t->parse);
        assert_non_null(t->keys);
        assert_true(strlen(t->summary) > 10);
        assert_true(strlen(t->client_sees) > 10);
    }
    char names[2048];
    assert_non_null(strstr(fault_type_names(names, sizeof names),
                           "watch-stall, watch-cut, watch-expire, watch-no-bookmarks, "
                           "watch-duplicate, watch-list-refused"));
}

static void test_parse_stall(void **state)
{
    (void)state;
    const struct fault_type *t = &fault_type_watch_stall;
    free_ctx(t, parse_ok(t, "{\"type\":\"watch-stall\"}"));
    free_ctx(t, parse_ok(t, "{\"afterEvents\":3}"));
    free_ctx(t, parse_ok(t, "{\"afterEvents\":0,\"for\":\"1m30s\"}"));
    fault_fails(t, "{\"after\":1}",
                "s.json: rules[0].fault: unknown key \"after\" (accepted: type, afterEvents, "
                "for)");
    fault_fails_with(t, "{\"afterEvent\":1}", "did you mean \"afterEvents\"?", NULL);
    fault_fails_with(t, "{\"afterEvents\":-1}", "s.json: rules[0].fault.afterEvents: ", "-1", NULL);
    fault_fails_with(t, "{\"afterEvents\":1.5}", "rules[0].fault.afterEvents: ", NULL);
    fault_fails_with(t, "{\"afterEvents\":\"1\"}", "rules[0].fault.afterEvents: ", NULL);
    fault_fails_with(t, "{\"for\":3}", "s.json: rules[0].fault.for: ", NULL);
    fault_fails_with(t, "{\"for\":\"3 s\"}", "s.json: rules[0].fault.for: ", NULL);
    fault_fails(t, "{\"for\":\"25h\"}",
                "s.json: rules[0].fault.for: \"25h\" is longer than the limit of 24h");
    /* every error at once, not just the first */
    fault_fails_with(t, "{\"afterEvents\":-1,\"for\":\"x\",\"nope\":1}", "unknown key \"nope\"",
                     "rules[0].fault.afterEvents: ", "rules[0].fault.for: ", NULL);
}

static void test_parse_cut(void **state)
{
    (void)state;
    const struct fault_type *t = &fault_type_watch_cut;
    free_ctx(t, parse_ok(t, "{\"type\":\"watch-cut\"}"));
    free_ctx(t, parse_ok(t, "{\"afterEvents\":2,\"bytes\":0,\"how\":\"close\"}"));
    free_ctx(t, parse_ok(t, "{\"bytes\":20,\"how\":\"reset\"}"));
    fault_fails(t, "{\"how\":\"rst\"}",
                "s.json: rules[0].fault.how: unknown value \"rst\" (accepted: reset, close)");
    fault_fails(t, "{\"how\":\"\"}", "s.json: rules[0].fault.how: must not be empty");
    fault_fails_with(t, "{\"how\":1}", "s.json: rules[0].fault.how: ", NULL);
    fault_fails_with(t, "{\"bytes\":-1}", "s.json: rules[0].fault.bytes: ", NULL);
    fault_fails_with(t, "{\"bytes\":1048577}", "s.json: rules[0].fault.bytes: ", "1048577", NULL);
    fault_fails_with(t, "{\"afterEvents\":-2}", "s.json: rules[0].fault.afterEvents: ", NULL);
    fault_fails(t, "{\"bytes\":1048577,\"how\":\"rst\"}",
                "s.json: rules[0].fault.bytes: expected an integer from 0 to 1048576, got 1048577\n"
                "s.json: rules[0].fault.how: unknown value \"rst\" (accepted: reset, close)");
    fault_fails(t, "{\"byte\":1}",
                "s.json: rules[0].fault: unknown key \"byte\" (accepted: type, afterEvents, bytes, "
                "how); did you mean \"bytes\"?");
}

static void test_parse_expire(void **state)
{
    (void)state;
    const struct fault_type *t = &fault_type_watch_expire;
    free_ctx(t, parse_ok(t, "{\"type\":\"watch-expire\"}"));
    free_ctx(t, parse_ok(t, "{\"afterEvents\":5,\"message\":\"The resourceVersion for the "
                            "provided watch is too old.\"}"));
    fault_fails(t, "{\"message\":\"\"}", "s.json: rules[0].fault.message: must not be empty");
    fault_fails_with(t, "{\"message\":{}}", "s.json: rules[0].fault.message: ", NULL);
    fault_fails_with(t, "{\"afterEvents\":true}", "s.json: rules[0].fault.afterEvents: ", NULL);
    fault_fails(t, "{\"code\":410}",
                "s.json: rules[0].fault: unknown key \"code\" (accepted: type, afterEvents, "
                "message)");
}

static void test_parse_no_bookmarks(void **state)
{
    (void)state;
    const struct fault_type *t = &fault_type_watch_no_bookmarks;
    free_ctx(t, parse_ok(t, "{\"type\":\"watch-no-bookmarks\"}"));
    free_ctx(t, parse_ok(t, "{\"which\":\"all\"}"));
    free_ctx(t, parse_ok(t, "{\"which\":\"initial-events-end\"}"));
    free_ctx(t, parse_ok(t, "{\"which\":\"periodic\"}"));
    fault_fails(t, "{\"which\":\"initial\"}",
                "s.json: rules[0].fault.which: unknown value \"initial\" (accepted: all, "
                "initial-events-end, periodic)");
    fault_fails_with(t, "{\"which\":[]}", "s.json: rules[0].fault.which: ", NULL);
    fault_fails_with(t, "{\"whch\":\"all\"}", "unknown key \"whch\"", "did you mean \"which\"?",
                     NULL);
}

static void test_parse_duplicate(void **state)
{
    (void)state;
    const struct fault_type *t = &fault_type_watch_duplicate;
    free_ctx(t, parse_ok(t, "{\"type\":\"watch-duplicate\"}"));
    free_ctx(t, parse_ok(t, "{\"every\":3}"));
    fault_fails_with(t, "{\"every\":0}", "s.json: rules[0].fault.every: ", "0", NULL);
    fault_fails_with(t, "{\"every\":\"2\"}", "s.json: rules[0].fault.every: ", NULL);
    fault_fails(t, "{\"afterEvents\":1}",
                "s.json: rules[0].fault: unknown key \"afterEvents\" (accepted: type, every)");
}

static void test_parse_list_refused(void **state)
{
    (void)state;
    const struct fault_type *t = &fault_type_watch_list_refused;
    free_ctx(t, parse_ok(t, "{\"type\":\"watch-list-refused\"}"));
    free_ctx(t, parse_ok(t, "{\"code\":400,\"reason\":\"BadRequest\",\"message\":\"no\"}"));
    free_ctx(t, parse_ok(t, "{\"code\":500,\"reason\":\"\"}"));
    fault_fails_with(t, "{\"code\":200}", "s.json: rules[0].fault.code: ", "200", NULL);
    fault_fails_with(t, "{\"code\":600}", "s.json: rules[0].fault.code: ", NULL);
    fault_fails(t, "{\"message\":\"\"}", "s.json: rules[0].fault.message: must not be empty");
    fault_fails(t, "{\"retryAfter\":1}",
                "s.json: rules[0].fault: unknown key \"retryAfter\" (accepted: type, code, "
                "reason, message)");
}

/* Every type refuses a fault object that is not an object. */
static void test_parse_not_object(void **state)
{
    (void)state;
    const struct fault_type *types[] = {
        &fault_type_watch_stall,     &fault_type_watch_cut,
        &fault_type_watch_expire,    &fault_type_watch_no_bookmarks,
        &fault_type_watch_duplicate, &fault_type_watch_list_refused};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        fault_fails_with(types[i], "[1]", "s.json: rules[0].fault: ", NULL);
}

/* ---- watch-no-bookmarks: which bookmarks it withholds ---- */

static enum hook_verdict offer(void *ctx, const char *type, const char *object_json)
{
    cJSON *obj = cJSON_Parse(object_json);
    assert_non_null(obj);
    struct fault_watch fw = {.ctx = ctx, .type = type, .object = obj};
    enum hook_verdict v = fault_type_watch_no_bookmarks.on_watch_event(&fw);
    cJSON_Delete(obj);
    return v;
}

#define POD "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"p1\"}}"
#define PERIODIC "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"7\"}}"
#define INITIAL_END                                                                                \
    "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"7\","             \
    "\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}}}"

static void test_no_bookmarks_verdicts(void **state)
{
    (void)state;
    const struct fault_type *t = &fault_type_watch_no_bookmarks;
    static const struct {
        const char *spec;
        enum hook_verdict periodic, initial_end;
    } rows[] = {{"{}", HOOK_DROP, HOOK_DROP},
                {"{\"which\":\"initial-events-end\"}", HOOK_PASS, HOOK_DROP},
                {"{\"which\":\"periodic\"}", HOOK_DROP, HOOK_PASS}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        void *ctx = parse_ok(t, rows[i].spec);
        assert_int_equal(offer(ctx, "ADDED", POD), HOOK_PASS);
        assert_int_equal(offer(ctx, "MODIFIED", POD), HOOK_PASS);
        assert_int_equal(offer(ctx, "DELETED", POD), HOOK_PASS);
        assert_int_equal(offer(ctx, "ERROR", "{\"kind\":\"Status\"}"), HOOK_PASS);
        assert_int_equal(offer(ctx, "BOOKMARK", PERIODIC), rows[i].periodic);
        assert_int_equal(offer(ctx, "BOOKMARK", INITIAL_END), rows[i].initial_end);
        /* the annotation must say "true" */
        assert_int_equal(offer(ctx, "BOOKMARK",
                               "{\"metadata\":{\"annotations\":{\"k8s.io/initial-events-end\":"
                               "\"false\"}}}"),
                         rows[i].periodic);
        free_ctx(t, ctx);
    }
}

/* ---- wstate ---- */

static int chunk_of(const char *bytes, size_t *head, size_t *len)
{
    struct evbuffer *b = evbuffer_new();
    assert_non_null(b);
    evbuffer_add(b, bytes, strlen(bytes));
    int r = wstate_chunk(b, head, len);
    evbuffer_free(b);
    return r;
}

static void test_wstate_chunk(void **state)
{
    (void)state;
    size_t head = 0, len = 0;
    assert_int_equal(chunk_of("5\r\nhello\r\n", &head, &len), 1);
    assert_int_equal(head, 3);
    assert_int_equal(len, 5);
    assert_int_equal(chunk_of("1a\r\n{\"type\":\"ADDED\",\"o\":1}\n\r\nmore", &head, &len), 1);
    assert_int_equal(head, 4);
    assert_int_equal(len, 26);
    assert_int_equal(chunk_of("0\r\n\r\n", &head, &len), 1);
    assert_int_equal(len, 0);
    /* not all there yet */
    assert_int_equal(chunk_of("", &head, &len), 0);
    assert_int_equal(chunk_of("1a", &head, &len), 0);
    assert_int_equal(chunk_of("5\r\nhell", &head, &len), 0);
    assert_int_equal(chunk_of("5\r\nhello\r", &head, &len), 0);
    /* not a chunk */
    assert_int_equal(chunk_of("HTTP/1.1 200 OK\r\n", &head, &len), -1);
    assert_int_equal(chunk_of("\r\n", &head, &len), -1);
    assert_int_equal(chunk_of("5x\r\nhello\r\n", &head, &len), -1);
    assert_int_equal(chunk_of("fffffffffffffffffffff", &head, &len), -1);
    assert_int_equal(chunk_of("ffffffffffffffff\r\n", &head, &len), -1);
}

static void test_wstate_object_rv(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int64_t rv;
    } rows[] = {{"{\"metadata\":{\"resourceVersion\":\"102\"}}", 102},
                {"{\"metadata\":{\"resourceVersion\":\"0\"}}", 0},
                {"{\"metadata\":{\"resourceVersion\":\"\"}}", -1},
                {"{\"metadata\":{\"resourceVersion\":\"12a\"}}", -1},
                {"{\"metadata\":{\"resourceVersion\":\"-3\"}}", -1},
                {"{\"metadata\":{\"resourceVersion\":102}}", -1},
                {"{\"metadata\":{}}", -1},
                {"{}", -1}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        cJSON *o = cJSON_Parse(rows[i].json);
        assert_non_null(o);
        assert_int_equal(wstate_object_rv(o), rows[i].rv);
        cJSON_Delete(o);
    }
    assert_int_equal(wstate_object_rv(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_parse_stall),
        cmocka_unit_test(test_parse_cut),
        cmocka_unit_test(test_parse_expire),
        cmocka_unit_test(test_parse_no_bookmarks),
        cmocka_unit_test(test_parse_duplicate),
        cmocka_unit_test(test_parse_list_refused),
        cmocka_unit_test(test_parse_not_object),
        cmocka_unit_test(test_no_bookmarks_verdicts),
        cmocka_unit_test(test_wstate_chunk),
        cmocka_unit_test(test_wstate_object_rv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
