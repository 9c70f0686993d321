/* test_session.c -- tests mockapi/stream/session.c: the built-in script (echo, sh -c 'exit N',
 * unknown commands, attach), the error-stream Status bytes as the kubelet writes them, and the
 * order of sink calls */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mockapi/stream/session.h"

#define MAX_CALLS 8
#define CALL_BYTES 512

/* A sink that records every call: stream, bytes; RCS_NSTREAMS marks end(). */
struct rec {
    int stream[MAX_CALLS];
    char data[MAX_CALLS][CALL_BYTES];
    size_t n;
    int fail_at; /* write number that returns -1 (0: none) */
};

static int rec_write(void *arg, enum rcs_stream stream, const void *data, size_t len)
{
    struct rec *r = arg;
    assert_true(r->n < MAX_CALLS);
    assert_true(len < CALL_BYTES);
    r->stream[r->n] = (int)stream;
    memcpy(r->data[r->n], data, len);
    r->data[r->n][len] = '\0';
    r->n++;
    return r->fail_at && (int)r->n == r->fail_at ? -1 : 0;
}

static int rec_end(void *arg)
{
    struct rec *r = arg;
    assert_true(r->n < MAX_CALLS);
    r->stream[r->n++] = RCS_NSTREAMS;
    return 0;
}

static void run(struct rec *r, int attach, const char *const *argv, size_t argc, int expect_rc)
{
    struct rcs_opts o;
    memset(&o, 0, sizeof o);
    o.attach = attach;
    o.argv = argv;
    o.argc = argc;
    o.want[RCS_STDOUT] = o.want[RCS_STDERR] = o.want[RCS_ERROR] = 1;
    struct rcs_sink sink = {rec_write, rec_end, r};
    struct rcs_session *s = rcs_new(&o, &sink);
    assert_non_null(s);
    assert_int_equal(rcs_start(s), expect_rc);
    if (expect_rc == 0)
        assert_true(rcs_finished(s));
    rcs_free(s);
}

static const char success[] = "{\"metadata\":{},\"status\":\"Success\"}";

static void test_echo(void **state)
{
    (void)state;
    struct rec r = {0};
    const char *argv[] = {"echo", "hi", "there"};
    run(&r, 0, argv, 3, 0);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.stream[0], RCS_STDOUT);
    assert_string_equal(r.data[0], "hi there\n");
    assert_int_equal(r.stream[1], RCS_ERROR);
    assert_string_equal(r.data[1], success);
    assert_int_equal(r.stream[2], RCS_NSTREAMS);
}

static void test_exit_code(void **state)
{
    (void)state;
    struct rec r = {0};
    const char *argv[] = {"sh", "-c", "exit 3"};
    run(&r, 0, argv, 3, 0);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.stream[0], RCS_ERROR);
    assert_string_equal(
        r.data[0],
        "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated with non-zero "
        "exit code: error executing command [sh -c exit 3], exit code 3\",\"reason\":"
        "\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"3\"}]}"
        "}");
    assert_int_equal(r.stream[1], RCS_NSTREAMS);
}

static void test_unknown_and_attach(void **state)
{
    (void)state;
    struct rec r = {0};
    const char *argv[] = {"gitlab-runner-helper", "read-logs"};
    run(&r, 0, argv, 2, 0);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.data[0], success);
    struct rec a = {0};
    run(&a, 1, NULL, 0, 0);
    assert_int_equal(a.n, 2);
    assert_int_equal(a.stream[0], RCS_ERROR);
    assert_string_equal(a.data[0], success);
}

static void test_script_exit(void **state)
{
    (void)state;
    const char *a1[] = {"sh", "-c", "exit 127"};
    const char *a2[] = {"sh", "-c", "exit"};
    const char *a3[] = {"sh", "-c", "exit x"};
    const char *a4[] = {"/bin/sh", "-c", "exit 256"};
    assert_int_equal(rcs_script_exit(a1, 3), 127);
    assert_int_equal(rcs_script_exit(a2, 3), 0);
    assert_int_equal(rcs_script_exit(a3, 3), 0);
    assert_int_equal(rcs_script_exit(a4, 3), 0);
}

static void test_json_escaping_and_small_buffer(void **state)
{
    (void)state;
    const char *argv[] = {"sh", "-c", "echo \"q\"; exit 2"};
    char buf[RCS_MAX_STATUS_BYTES];
    int n = rcs_status_json(2, argv, 3, buf, sizeof buf);
    assert_true(n > 0);
    assert_non_null(strstr(buf, "[sh -c echo \\\"q\\\"; exit 2], exit code 2"));
    char tiny[8];
    assert_int_equal(rcs_status_json(0, NULL, 0, tiny, sizeof tiny), -1);
}

static void test_write_failure_stops(void **state)
{
    (void)state;
    struct rec r = {0};
    r.fail_at = 1;
    const char *argv[] = {"echo", "x"};
    run(&r, 0, argv, 2, -1);
    assert_int_equal(r.n, 1); /* no status and no end after a failed write */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo),
        cmocka_unit_test(test_exit_code),
        cmocka_unit_test(test_unknown_and_attach),
        cmocka_unit_test(test_script_exit),
        cmocka_unit_test(test_json_escaping_and_small_buffer),
        cmocka_unit_test(test_write_failure_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
