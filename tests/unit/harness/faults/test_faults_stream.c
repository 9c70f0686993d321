/* test_faults_stream.c -- the stream fault types (exec-no-status, exec-abort, exec-stall,
 * exec-no-pong, exec-exit): the registry rows, every parse error a scenario author can meet, and
 * what each sets in the session's rcs_faults and says in the journal note. What the faults do to
 * real exec streams is in tests/integration/test_it_stages.c; what kubectl prints is in their
 * client_sees (scenarios/README.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/fault.h"
#include "mockapi/stream/session.h"
#include "../testutil.h"

extern const struct fault_type fault_type_exec_no_status, fault_type_exec_abort,
    fault_type_exec_stall, fault_type_exec_no_pong, fault_type_exec_exit;

static void test_registry(void **state)
{
    (void)state;
    static const char *const names[] = {"exec-no-status", "exec-abort", "exec-stall",
                                        "exec-no-pong", "exec-exit"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const struct fault_type *t = fault_type_find(names[i]);
        assert_non_null(t);
        assert_int_equal(t->layer, FAULT_LAYER_STREAM);
        assert_non_null(t->on_remotecmd);
        assert_null(t->on_request);
        assert_null(t->on_accept);
        assert_null(t->on_watch_event);
        assert_non_null(t->parse);
        assert_non_null(t->keys);
        assert_true(strlen(t->summary) > 10);
        assert_true(strlen(t->client_sees) > 10);
    }
    char list[2048];
    assert_non_null(strstr(fault_type_names(list, sizeof list),
                           "exec-no-status, exec-abort, exec-stall, exec-no-pong, exec-exit"));
}

/* What the fault does to an exec: its faults (all off before) and its note. */
static void apply(const struct fault_type *t, void *ctx, struct rcs_faults *f, char *note,
                  size_t len)
{
    struct rcs_script script = {0};
    struct hook_remotecmd rc = {.script = &script, .faults = f};
    struct fault_stream fs = {.ctx = ctx, .rc = &rc, .note = note, .note_len = len};
    rcs_faults_none(f);
    note[0] = '\0';
    assert_int_equal(t->on_remotecmd(&fs), HOOK_PASS);
    assert_false(rc.has_script);
}

static void test_no_status_and_no_pong(void **state)
{
    (void)state;
    struct rcs_faults f;
    char note[160];
    void *ctx = fault_ok(&fault_type_exec_no_status, "{\"type\":\"exec-no-status\"}");
    assert_null(ctx);
    apply(&fault_type_exec_no_status, ctx, &f, note, sizeof note);
    assert_true(f.empty_status);
    assert_int_equal(f.abort_ms, -1);
    assert_int_equal(f.stall_ms, -1);
    assert_false(f.no_pong);
    assert_int_equal(f.status_exit, -1);
    assert_string_equal(note, "error stream closed with no Status");
    fault_fails(&fault_type_exec_no_status, "{\"code\":1}",
                "s.json: rules[0].fault: unknown key \"code\" (accepted: type)");

    apply(&fault_type_exec_no_pong, NULL, &f, note, sizeof note);
    assert_true(f.no_pong);
    assert_false(f.empty_status);
    assert_string_equal(note, "pings unanswered");
    fault_fails(&fault_type_exec_no_pong, "{\"after\":\"1s\"}",
                "s.json: rules[0].fault: unknown key \"after\" (accepted: type)");
}

static void test_abort_and_stall(void **state)
{
    (void)state;
    struct rcs_faults f;
    char note[160];
    const struct fault_type *a = &fault_type_exec_abort, *s = &fault_type_exec_stall;
    void *ctx = fault_ok(a, "{}");
    apply(a, ctx, &f, note, sizeof note);
    assert_int_equal(f.abort_ms, 0);
    assert_int_equal(f.stall_ms, -1);
    assert_string_equal(note, "connection aborted after 0ms");
    free_ctx(a, ctx);
    ctx = fault_ok(a, "{\"after\":\"1.5s\"}");
    apply(a, ctx, &f, note, sizeof note);
    assert_int_equal(f.abort_ms, 1500);
    assert_string_equal(note, "connection aborted after 1.5s");
    free_ctx(a, ctx);

    ctx = fault_ok(s, "{\"after\":\"2m\"}");
    apply(s, ctx, &f, note, sizeof note);
    assert_int_equal(f.stall_ms, 120000);
    assert_int_equal(f.abort_ms, -1);
    assert_string_equal(note, "output stalled after 2m");
    free_ctx(s, ctx);

    for (int i = 0; i < 2; i++) {
        const struct fault_type *t = i ? s : a;
        fault_fails(t, "{\"afer\":\"1s\"}",
                    "s.json: rules[0].fault: unknown key \"afer\" (accepted: type, after); did "
                    "you mean \"after\"?");
        fault_fails_with(t, "{\"after\":1}", "s.json: rules[0].fault.after: ", NULL);
        fault_fails_with(t, "{\"after\":\"1\"}", "s.json: rules[0].fault.after: ", "unit", NULL);
        fault_fails_with(t, "{\"after\":\"-1s\"}", "s.json: rules[0].fault.after: ", NULL);
        fault_fails_with(t, "{\"after\":\"25h\"}", "s.json: rules[0].fault.after: ", NULL);
    }
}

static void test_exit(void **state)
{
    (void)state;
    struct rcs_faults f;
    char note[160];
    const struct fault_type *t = &fault_type_exec_exit;
    void *ctx = fault_ok(t, "{\"code\":3}");
    apply(t, ctx, &f, note, sizeof note);
    assert_int_equal(f.status_exit, 3);
    assert_false(f.empty_status);
    assert_string_equal(note, "exit code 3");
    free_ctx(t, ctx);
    ctx = fault_ok(t, "{\"code\":0}");
    apply(t, ctx, &f, note, sizeof note);
    assert_int_equal(f.status_exit, 0);
    free_ctx(t, ctx);
    ctx = fault_ok(t, "{\"code\":255}");
    free_ctx(t, ctx);
    fault_fails(t, "{}", "s.json: rules[0].fault: missing key \"code\"");
    fault_fails_with(t, "{\"code\":256}", "s.json: rules[0].fault.code: ", "256", NULL);
    fault_fails_with(t, "{\"code\":-1}", "s.json: rules[0].fault.code: ", NULL);
    fault_fails_with(t, "{\"code\":\"3\"}", "s.json: rules[0].fault.code: ", NULL);
    fault_fails_with(t, "{\"code\":1.5}", "s.json: rules[0].fault.code: ", NULL);
    fault_fails_with(t, "{\"cod\":1}", "did you mean \"code\"?", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_no_status_and_no_pong),
        cmocka_unit_test(test_abort_and_stall),
        cmocka_unit_test(test_exit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
