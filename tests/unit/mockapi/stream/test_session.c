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

#include <event2/event.h>

#include "mockapi/stream/session.h"

#define MAX_CALLS 64
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

#define ABORTED (RCS_NSTREAMS + 1)

static int rec_abort(void *arg)
{
    struct rec *r = arg;
    assert_true(r->n < MAX_CALLS);
    r->stream[r->n++] = ABORTED;
    return 0;
}

/* A session on an event loop, for scripts that wait. */
struct loop {
    struct event_base *base;
    struct rec r;
    struct rcs_session *s;
};

static struct rcs_session *open_session(struct loop *l, const char *const *argv, size_t argc,
                                        int want_stdin, const struct rcs_script *script,
                                        const struct rcs_faults *faults, int tty)
{
    struct rcs_opts o;
    memset(&o, 0, sizeof o);
    o.argv = argv;
    o.argc = argc;
    o.want[RCS_STDIN] = want_stdin;
    o.want[RCS_STDOUT] = o.want[RCS_STDERR] = o.want[RCS_ERROR] = 1;
    o.tty = tty;
    o.base = l->base;
    struct rcs_sink sink = {rec_write, rec_end, rec_abort, &l->r};
    l->s = rcs_new(&o, &sink, NULL, script, faults);
    assert_non_null(l->s);
    return l->s;
}

/* Run the loop until the session wrote an end (or abort), bounded by ms. */
static void run_until_end(struct loop *l, int ms)
{
    struct timeval tv = {0, 10 * 1000};
    for (int i = 0; i < ms / 10; i++) {
        if (l->r.n && l->r.stream[l->r.n - 1] >= RCS_NSTREAMS)
            return;
        event_base_loopexit(l->base, &tv);
        event_base_dispatch(l->base);
    }
}

static void run(struct rec *r, int attach, const char *const *argv, size_t argc, int expect_rc)
{
    struct rcs_opts o;
    memset(&o, 0, sizeof o);
    o.attach = attach;
    o.argv = argv;
    o.argc = argc;
    o.want[RCS_STDOUT] = o.want[RCS_STDERR] = o.want[RCS_ERROR] = 1;
    struct rcs_sink sink = {rec_write, rec_end, NULL, r};
    struct rcs_session *s = rcs_new(&o, &sink, NULL, NULL, NULL);
    assert_non_null(s);
    assert_int_equal(rcs_start(s), expect_rc);
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
    assert_int_equal(rcs_script_exit(a3, 3), 2); /* dash: Illegal number */
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
    run(&r, 0, argv, 2, 0);
    assert_int_equal(r.n, 1); /* no status and no end after a failed write */
}

static void test_script_steps_and_sleep(void **state)
{
    (void)state;
    struct loop l = {.base = event_base_new()};
    struct rcs_script sc = {0};
    struct rcs_step w1 = {
        .kind = RCS_STEP_WRITE, .stream = RCS_STDOUT, .data = (char *)"a\n", .len = 2};
    struct rcs_step sl = {.kind = RCS_STEP_SLEEP, .ms = 30};
    struct rcs_step w2 = {
        .kind = RCS_STEP_WRITE, .stream = RCS_STDERR, .data = (char *)"b\n", .len = 2};
    struct rcs_step ex = {.kind = RCS_STEP_EXIT, .exit_code = 4};
    assert_int_equal(rcs_script_add(&sc, &w1), 0);
    assert_int_equal(rcs_script_add(&sc, &sl), 0);
    assert_int_equal(rcs_script_add(&sc, &w2), 0);
    assert_int_equal(rcs_script_add(&sc, &ex), 0);
    const char *argv[] = {"make", "test"};
    open_session(&l, argv, 2, 0, &sc, NULL, 0);
    rcs_script_clear(&sc);
    assert_int_equal(rcs_start(l.s), 0);
    assert_int_equal(l.r.n, 1); /* the first write, then the sleep */
    assert_false(rcs_finished(l.s));
    run_until_end(&l, 2000);
    assert_int_equal(l.r.n, 4);
    assert_int_equal(l.r.stream[1], RCS_STDERR);
    assert_string_equal(l.r.data[1], "b\n");
    assert_non_null(strstr(l.r.data[2], "error executing command [make test], exit code 4"));
    assert_int_equal(l.r.stream[3], RCS_NSTREAMS);
    rcs_free(l.s);
    event_base_free(l.base);
}

static void test_stdin_wait_and_cat(void **state)
{
    (void)state;
    struct loop l = {.base = event_base_new()};
    const char *argv[] = {"cat"};
    open_session(&l, argv, 1, 1, NULL, NULL, 0);
    assert_int_equal(rcs_start(l.s), 0);
    assert_int_equal(l.r.n, 0);
    assert_int_equal(rcs_input(l.s, RCS_STDIN, "hello", 5), 0);
    assert_int_equal(l.r.n, 1);
    assert_string_equal(l.r.data[0], "hello");
    assert_false(rcs_finished(l.s));
    assert_int_equal(rcs_input(l.s, RCS_STDIN, NULL, 0), 0);
    assert_true(rcs_finished(l.s));
    assert_string_equal(l.r.data[1], success);
    rcs_free(l.s);
    event_base_free(l.base);
}

static void test_interactive_shell(void **state)
{
    (void)state;
    struct loop l = {.base = event_base_new()};
    const char *argv[] = {"sh"};
    open_session(&l, argv, 1, 1, NULL, NULL, 0);
    assert_int_equal(rcs_start(l.s), 0);
    static const char typed[] = "echo one; echo 'two  words'\nexit 7\n";
    assert_int_equal(rcs_input(l.s, RCS_STDIN, typed, sizeof typed - 1), 0);
    assert_true(rcs_finished(l.s));
    assert_string_equal(l.r.data[0], "one\n");
    assert_string_equal(l.r.data[1], "two  words\n");
    assert_non_null(strstr(l.r.data[2], "exit code 7"));
    rcs_free(l.s);
    event_base_free(l.base);
}

static void test_tty_shell_echoes_and_prompts(void **state)
{
    (void)state;
    struct loop l = {.base = event_base_new()};
    const char *argv[] = {"sh"};
    open_session(&l, argv, 1, 1, NULL, NULL, 1);
    assert_int_equal(rcs_start(l.s), 0);
    assert_string_equal(l.r.data[0], "# ");
    assert_int_equal(rcs_input(l.s, RCS_STDIN, "exit\r", 5), 0);
    assert_true(rcs_finished(l.s));
    /* e x i t echoed one byte at a time, then CR LF, then the Status */
    assert_string_equal(l.r.data[1], "e");
    assert_string_equal(l.r.data[5], "\r\n");
    assert_string_equal(l.r.data[6], success);
    rcs_free(l.s);
    event_base_free(l.base);
}

static void test_fault_empty_status_and_exit_override(void **state)
{
    (void)state;
    struct loop l = {.base = event_base_new()};
    struct rcs_faults f;
    rcs_faults_none(&f);
    f.empty_status = 1;
    const char *argv[] = {"sh", "-c", "exit 3"};
    open_session(&l, argv, 3, 0, NULL, &f, 0);
    assert_int_equal(rcs_start(l.s), 0);
    assert_int_equal(l.r.n, 1); /* no Status: only the end */
    assert_int_equal(l.r.stream[0], RCS_NSTREAMS);
    rcs_free(l.s);

    struct loop m = {.base = l.base};
    rcs_faults_none(&f);
    f.status_exit = 42;
    const char *ok[] = {"true"};
    open_session(&m, ok, 1, 0, NULL, &f, 0);
    assert_int_equal(rcs_start(m.s), 0);
    assert_non_null(strstr(m.r.data[0], "exit code 42"));
    rcs_free(m.s);
    event_base_free(l.base);
}

static void test_fault_stall_and_abort(void **state)
{
    (void)state;
    struct loop l = {.base = event_base_new()};
    struct rcs_faults f;
    rcs_faults_none(&f);
    f.stall_ms = 0;
    const char *argv[] = {"echo", "never"};
    open_session(&l, argv, 2, 0, NULL, &f, 0);
    assert_int_equal(rcs_start(l.s), 0);
    assert_int_equal(l.r.n, 0); /* nothing written, and no end */
    assert_false(rcs_finished(l.s));
    rcs_free(l.s);

    struct loop m = {.base = l.base};
    rcs_faults_none(&f);
    f.abort_ms = 20;
    const char *sl[] = {"sleep", "5"};
    open_session(&m, sl, 2, 0, NULL, &f, 0);
    assert_int_equal(rcs_start(m.s), 0);
    run_until_end(&m, 2000);
    assert_int_equal(m.r.n, 1);
    assert_int_equal(m.r.stream[0], ABORTED);
    assert_true(rcs_finished(m.s));
    rcs_free(m.s);
    event_base_free(l.base);
}

/* Freed inside rcs_enter/rcs_leave: the free waits for the leave, which reports it. */
static void test_free_inside_bracket(void **state)
{
    (void)state;
    struct loop l = {.base = event_base_new()};
    const char *argv[] = {"sleep", "1"};
    open_session(&l, argv, 2, 0, NULL, NULL, 0);
    assert_int_equal(rcs_start(l.s), 0);
    rcs_enter(l.s);
    rcs_free(l.s);
    assert_int_equal(rcs_write(l.s, RCS_STDOUT, "x", 1), -1);
    assert_int_equal(rcs_leave(l.s), -1);
    assert_int_equal(l.r.n, 0);
    event_base_free(l.base);
}

static void test_shell_line(void **state)
{
    (void)state;
    struct rcs_script out = {0};
    static const char line[] = "echo a && echo \"b c\"; false || exit 5";
    assert_int_equal(rcs_shell_line(line, sizeof line - 1, &out), 0);
    assert_int_equal(out.nsteps, 3);
    assert_memory_equal(out.steps[0].data, "a\n", 2);
    assert_memory_equal(out.steps[1].data, "b c\n", 4);
    assert_int_equal(out.steps[2].kind, RCS_STEP_EXIT);
    assert_int_equal(out.steps[2].exit_code, 5);
    rcs_script_clear(&out);
}

/* A program that records what it is given, in order: "start", "stdin:<bytes>", "resize:<bytes>",
 * "eof"; it writes the bytes back and exits at end of stdin. */
struct prog_log {
    char ev[8][64];
    int n;
    int started_when_input; /* 1 once input came before start: the bug this guards against */
    int started;
};

static void prog_start(struct rcs_session *s, void *ctx)
{
    (void)s;
    struct prog_log *g = ctx;
    g->started = 1;
    snprintf(g->ev[g->n++], sizeof g->ev[0], "start");
}

static void prog_input(struct rcs_session *s, void *ctx, enum rcs_stream stream, const void *data,
                       size_t len)
{
    struct prog_log *g = ctx;
    if (!g->started)
        g->started_when_input = 1;
    assert_true(g->n < 8);
    if (!data) {
        snprintf(g->ev[g->n++], sizeof g->ev[0], "eof");
        rcs_exit(s, 0);
        return;
    }
    snprintf(g->ev[g->n++], sizeof g->ev[0], "%s:%.*s", stream == RCS_RESIZE ? "resize" : "stdin",
             (int)len, (const char *)data);
    if (stream == RCS_STDIN)
        rcs_write(s, RCS_STDOUT, data, len);
}

/* SPDY lets a client send (and close) stdin before its last stream is open: the program gets
 * it after start, in order, as the kubelet's process would read it. */
static void test_program_input_before_start(void **state)
{
    (void)state;
    struct rec r = {0};
    struct prog_log g = {0};
    struct rcs_opts o;
    memset(&o, 0, sizeof o);
    o.want[RCS_STDIN] = o.want[RCS_STDOUT] = o.want[RCS_ERROR] = 1;
    struct rcs_sink sink = {rec_write, rec_end, NULL, &r};
    struct rcs_program prog = {"test", prog_start, prog_input, NULL, &g};
    struct rcs_session *s = rcs_new(&o, &sink, &prog, NULL, NULL);
    assert_non_null(s);
    assert_int_equal(rcs_input(s, RCS_STDIN, "ab", 2), 0);
    assert_int_equal(rcs_input(s, RCS_RESIZE, "{\"Width\":80}", 12), 0);
    assert_int_equal(rcs_input(s, RCS_STDIN, "cd", 2), 0);
    assert_int_equal(rcs_input(s, RCS_STDIN, NULL, 0), 0);
    assert_int_equal(g.n, 0);
    assert_int_equal(r.n, 0);
    assert_false(rcs_finished(s));
    assert_int_equal(rcs_start(s), 0);
    assert_int_equal(g.started_when_input, 0);
    assert_int_equal(g.n, 4);
    assert_string_equal(g.ev[0], "start");
    assert_string_equal(g.ev[1], "resize:{\"Width\":80}");
    assert_string_equal(g.ev[2], "stdin:abcd");
    assert_string_equal(g.ev[3], "eof");
    assert_true(rcs_finished(s));
    assert_true(r.n >= 2);
    assert_int_equal(r.stream[0], RCS_STDOUT);
    assert_string_equal(r.data[0], "abcd");
    assert_int_equal(r.stream[r.n - 1], RCS_NSTREAMS);
    rcs_free(s);
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
        cmocka_unit_test(test_script_steps_and_sleep),
        cmocka_unit_test(test_stdin_wait_and_cat),
        cmocka_unit_test(test_interactive_shell),
        cmocka_unit_test(test_tty_shell_echoes_and_prompts),
        cmocka_unit_test(test_fault_empty_status_and_exit_override),
        cmocka_unit_test(test_fault_stall_and_abort),
        cmocka_unit_test(test_free_inside_bracket),
        cmocka_unit_test(test_shell_line),
        cmocka_unit_test(test_program_input_before_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
