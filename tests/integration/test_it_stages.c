/* test_it_stages.c -- the "commands" and "stages" sections and the stream faults through a real
 * engine (itest_start_scenario) and real exec sessions (rcclient.h, SPDY/3.1 and WebSocket v5):
 * a scripted command's output on stdout and stderr, its waits and exit code, echoStdin until
 * stdin ends; commands that match nothing run the built-ins; the stream faults (no Status, abort,
 * exit code) on rules that select execs by a repeated command= parameter, each exec counted once
 * by the triggers and journalled with the rule, the fault and its note; a legacy-mode build stage
 * (gitlab-runner-build with the stage script on stdin) that follows a "stages" entry chosen by a
 * [name=c] selector and "matches", the stage-started event reaching the timeline, and a pod
 * disruption that waits for that stage. Every case runs against its own server with one Running
 * pod "p" (container "c", image busybox). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/engine.h"
#include "harness/journal.h"
#include "harness/scenario.h"
#include "itest.h"
#include "rcclient.h"

#define PODS "/api/v1/namespaces/default/pods"
#define WAIT_MS ITEST_WAIT_MS

static const char SCENARIO[] =
    "{'name': 'stages it',"
    " 'rules': ["
    "  {'name': 'no-status', 'match': {'verb': 'exec', 'query': {'command': 'exit 3'}},"
    "   'trigger': {'first': 1}, 'fault': {'type': 'exec-no-status'}},"
    "  {'name': 'abort', 'match': {'verb': 'exec', 'query': {'command': 'abort-me'}},"
    "   'fault': {'type': 'exec-abort'}},"
    "  {'name': 'exit-9', 'match': {'verb': 'exec', 'query': {'command': 'exit-9'}},"
    "   'fault': {'type': 'exec-exit', 'code': 9}}],"
    " 'timeline': [{'on': {'event': 'stage-started:step_*', 'name': 'p'}, 'setState': 'staged'}],"
    " 'commands': ["
    "  {'name': 'deploy', 'match': {'command': ['deploy', '*'], 'container': 'c'},"
    "   'steps': [{'stdout': 'deploying\\n'}, {'stderr': 'careful\\n'}, {'sleep': '50ms'},"
    "             {'stdout': 'done\\n'}, {'exit': 3}]},"
    "  {'name': 'cat', 'match': {'command': 'cat'}, 'echoStdin': true,"
    "   'steps': [{'stdin': true}, {'stdout': 'bye\\n'}, {'exit': 0}]}],"
    " 'stages': ["
    "  {'stage': 'step_script', 'container': 'c',"
    "   'when': [{'path': 'spec.containers[name=c].image', 'matches': 'busy*'}],"
    "   'output': ['scripted 1', 'scripted 2'], 'duration': '100ms', 'exit': 4}],"
    " 'pods': [{'match': {'name': 'p'},"
    "   'disrupt': {'on': 'stage:step_*', 'at': '300ms', 'steps': [{'delete': true}]}}]}";

static const char *tname(enum rcc_transport tr)
{
    return tr == RCC_SPDY ? "spdy" : "ws";
}

static struct itest *start(void **state)
{
    struct itest_opts o = {.single_quoted = 1};
    struct itest *t = itest_start_scenario(state, SCENARIO, &o);
    long code;
    cJSON *p =
        itest_json(t, "POST", PODS,
                   "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\","
                   "\"image\":\"busybox\",\"command\":[\"sleep\",\"3600\"]}]}}",
                   &code);
    assert_int_equal(code, 201);
    cJSON_Delete(p);
    p = itest_wait_field(t, PODS "/p", "status.phase", "Running", WAIT_MS);
    if (!p)
        fail_msg("pod p did not reach Running");
    cJSON_Delete(p);
    return t;
}

/* An exec of argv into default/p container c (stdout and stderr; stdin when in). */
static struct rcc *must_open(struct itest *t, enum rcc_transport tr, int in,
                             const char *const *argv)
{
    char path[1024], err[RCC_ERR_MAX];
    int code;
    struct rcc_opts o = {.transport = tr, .stdin_ = in, .stdout_ = 1, .stderr_ = 1};
    assert_non_null(rcc_path(path, sizeof path, "default", "p", "c", argv, &o));
    o.path_and_query = path;
    struct rcc *c = rcc_open(itest_port(t), &o, WAIT_MS, err, sizeof err, &code, NULL, 0);
    if (!c)
        fail_msg("%s %s: %s (HTTP %d)", tname(tr), path, err, code);
    itest_rcc_keep(c);
    return c;
}

static void must_end(struct rcc *c)
{
    if (rcc_wait_end(c, WAIT_MS) < 0)
        fail_msg("session did not end: %s (closed %d, stdout \"%s\")", rcc_error(c),
                 rcc_conn_closed(c), rcc_stdout(c, NULL));
}

/* ---- what the engine recorded (read on the server thread) ---- */

struct seen {
    char rule[64], fault[32], note[160], matched[256]; /* the nth exec's journal entry */
    size_t nth;                                        /* which exec (from 1) */
    int found;
    uint64_t matched_no_status, fired_no_status;
    char state[SCENARIO_NAME_MAX];
};

static struct itest *cur; /* the test's server, for on_read (itest_run passes the server only) */

static void on_read(void *arg, struct mockapi_server *s)
{
    (void)s;
    struct seen *w = arg;
    struct engine *e = itest_engine(cur);
    struct journal *j = engine_journal(e);
    size_t k = 0;
    for (size_t i = 0; i < journal_count(j); i++) {
        const struct journal_entry *je = journal_get(j, i);
        if (strcmp(je->verb, "exec") != 0 || ++k != w->nth)
            continue;
        w->found = 1;
        snprintf(w->rule, sizeof w->rule, "%s", je->rule);
        snprintf(w->fault, sizeof w->fault, "%s", je->fault);
        snprintf(w->note, sizeof w->note, "%s", je->note);
        snprintf(w->matched, sizeof w->matched, "%s", je->rules_matched);
        break;
    }
    struct rule *r = scenario_rule(engine_scenario(e), "no-status");
    w->matched_no_status = engine_rule_matched(e, r);
    w->fired_no_status = engine_rule_fired(e, r);
    snprintf(w->state, sizeof w->state, "%s", engine_state(e));
}

static struct seen look(struct itest *t, size_t nth)
{
    struct seen w = {.nth = nth};
    cur = t;
    itest_run(t, on_read, &w);
    if (nth && !w.found)
        fail_msg("no journal entry for exec %zu", nth);
    return w;
}

/* ---- commands ---- */

static void command(void **state, enum rcc_transport tr)
{
    struct itest *t = start(state);
    static const char *const deploy[] = {"deploy", "prod", NULL};
    int64_t t0 = itest_now_ms();
    struct rcc *c = must_open(t, tr, 0, deploy);
    must_end(c);
    assert_true(itest_now_ms() - t0 >= 50); /* the sleep step */
    assert_string_equal(rcc_stdout(c, NULL), "deploying\ndone\n");
    assert_string_equal(rcc_stderr(c, NULL), "careful\n");
    assert_int_equal(rcc_exit_code(c), 3);
    itest_rcc_free(c);
    struct seen w = look(t, 1);
    assert_string_equal(w.note, "command deploy");
    assert_string_equal(w.rule, "");

    /* echoStdin: what comes in goes out until stdin ends, then the rest of the steps */
    static const char *const cat[] = {"cat", NULL};
    c = must_open(t, tr, 1, cat);
    assert_int_equal(rcc_write_stdin(c, "abc\n", 4), 0);
    assert_int_equal(rcc_wait_output(c, "abc\n", WAIT_MS), 0);
    assert_int_equal(rcc_close_stdin(c), 0);
    must_end(c);
    assert_string_equal(rcc_stdout(c, NULL), "abc\nbye\n");
    assert_int_equal(rcc_exit_code(c), 0);
    itest_rcc_free(c);

    /* no entry matches (a word too many for the array): the built-in commands */
    static const char *const other[] = {"deploy", "prod", "now", NULL};
    c = must_open(t, tr, 0, other);
    must_end(c);
    assert_string_equal(rcc_stdout(c, NULL), "");
    assert_int_equal(rcc_exit_code(c), 0);
    itest_rcc_free(c);
    static const char *const echo[] = {"echo", "plain", NULL};
    c = must_open(t, tr, 0, echo);
    must_end(c);
    assert_string_equal(rcc_stdout(c, NULL), "plain\n");
    itest_rcc_free(c);
    assert_string_equal(look(t, 3).note, "");
}

static void test_spdy_command(void **state)
{
    command(state, RCC_SPDY);
}

static void test_ws_command(void **state)
{
    command(state, RCC_WS);
}

/* ---- stream faults ---- */

static void stream_faults(void **state, enum rcc_transport tr)
{
    struct itest *t = start(state);
    /* exec-no-status on the first "sh -c 'exit 3'" only: an empty error stream reads as 0 */
    static const char *const exit3[] = {"sh", "-c", "exit 3", NULL};
    struct rcc *c = must_open(t, tr, 0, exit3);
    must_end(c);
    assert_string_equal(rcc_status(c), "");
    assert_int_equal(rcc_exit_code(c), 0);
    itest_rcc_free(c);
    c = must_open(t, tr, 0, exit3);
    must_end(c);
    assert_int_equal(rcc_exit_code(c), 3);
    itest_rcc_free(c);
    struct seen w = look(t, 1);
    assert_string_equal(w.rule, "no-status");
    assert_string_equal(w.fault, "exec-no-status");
    assert_string_equal(w.note, "error stream closed with no Status");
    assert_string_equal(w.matched, "no-status(1)");
    w = look(t, 2);
    assert_string_equal(w.rule, "");
    assert_string_equal(w.matched, "no-status(2)");
    /* counted once per exec (on_remotecmd), not again by on_request */
    assert_int_equal(w.matched_no_status, 2);
    assert_int_equal(w.fired_no_status, 1);

    /* exec-exit: the Status says 9 although echo exits 0 */
    static const char *const echo9[] = {"echo", "exit-9", NULL};
    c = must_open(t, tr, 0, echo9);
    must_end(c);
    assert_string_equal(rcc_stdout(c, NULL), "exit-9\n");
    assert_int_equal(rcc_exit_code(c), 9);
    itest_rcc_free(c);
    assert_string_equal(look(t, 3).note, "exit code 9");

    /* exec-abort: the connection ends with no Status, no close frame, no GOAWAY */
    static const char *const abort_me[] = {"echo", "abort-me", NULL};
    c = must_open(t, tr, 0, abort_me);
    assert_int_equal(rcc_wait_end(c, WAIT_MS), -1);
    assert_int_equal(rcc_conn_closed(c), 1);
    assert_null(rcc_status(c));
    assert_int_equal(rcc_close_code(c), 0);
    itest_rcc_free(c);
    w = look(t, 4);
    assert_string_equal(w.fault, "exec-abort");
    assert_string_equal(w.note, "connection aborted after 0ms");
}

static void test_spdy_stream_faults(void **state)
{
    stream_faults(state, RCC_SPDY);
}

static void test_ws_stream_faults(void **state)
{
    stream_faults(state, RCC_WS);
}

/* ---- a build stage (legacy exec mode: the stage script on the exec's stdin) ---- */

static void test_spdy_legacy_stage(void **state)
{
    struct itest *t = start(state);
    assert_string_equal(look(t, 0).state, "Started");
    static const char *const build[] = {"gitlab-runner-build", NULL};
    static const char script[] = ": | eval 'echo hello'\n";
    int64_t t0 = itest_now_ms();
    struct rcc *c = must_open(t, RCC_SPDY, 1, build);
    assert_int_equal(rcc_write_stdin(c, script, sizeof script - 1), 0);
    assert_int_equal(rcc_close_stdin(c), 0);
    must_end(c);
    assert_true(itest_now_ms() - t0 >= 100); /* "duration" */
    assert_string_equal(rcc_stdout(c, NULL), "scripted 1\nscripted 2\n");
    assert_int_equal(rcc_exit_code(c), 4);
    itest_rcc_free(c);
    /* the stage-started event moved the timeline; the disruption waiting for it deletes p */
    assert_string_equal(look(t, 0).state, "staged");
    if (!itest_wait_code(t, PODS "/p", 404, WAIT_MS))
        fail_msg("pod p was not deleted after its step_script started");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_spdy_command, itest_teardown),
        cmocka_unit_test_teardown(test_ws_command, itest_teardown),
        cmocka_unit_test_teardown(test_spdy_stream_faults, itest_teardown),
        cmocka_unit_test_teardown(test_ws_stream_faults, itest_teardown),
        cmocka_unit_test_teardown(test_spdy_legacy_stage, itest_teardown),
    };
    itest_filter_from_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
