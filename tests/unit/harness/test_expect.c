/* test_expect.c -- tests harness/expect.c: every expectation kind passing and failing with its
 * exact message, the default without "expect", timeouts and signals, journal counts through
 * matches, rules, faults and listener rules, "before", what cannot be checked, durations as Go
 * prints them, another section (kubectl's) named in every message, and the fake GitLab's jobs
 * (state, failureReason, exitCode, traceContains, traceLacks, a job that does not exist) */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/diag.h"
#include "harness/expect.h"
#include "harness/journal.h"
#include "harness/scenario.h"
#include "testutil.h"

/* ---- helpers ---- */

/* A scenario from JSON written with ' for ". */
static struct scenario *scen(const char *text)
{
    struct diag d;
    char *t = dq(text);
    diag_init(&d, "s.json");
    struct scenario *s = scenario_parse("s.json", t, strlen(t), &d);
    if (!s)
        fail_msg("%s: %s", t, d.n ? d.msgs[0] : "?");
    diag_release(&d);
    free(t);
    return s;
}

/* A finished request in j. */
static void req(struct journal *j, uint64_t seq, const char *method, const char *path,
                const char *ua, const char *rule, const char *fault, int code)
{
    struct journal_entry *e = journal_begin(j);
    e->seq = seq;
    e->conn_id = seq;
    e->t_ms = (int64_t)seq * 10;
    snprintf(e->method, sizeof e->method, "%s", method);
    snprintf(e->path, sizeof e->path, "%s", path);
    snprintf(e->user_agent, sizeof e->user_agent, "%s", ua ? ua : "");
    snprintf(e->rule, sizeof e->rule, "%s", rule ? rule : "");
    snprintf(e->fault, sizeof e->fault, "%s", fault ? fault : "");
    journal_commit(j, e);
    journal_end(j, e, code, 100, 1, e->t_ms + 1);
}

/* An exit 0 after 1.5 s with output out. */
static struct expect_input ran(const char *out)
{
    struct expect_input in;
    memset(&in, 0, sizeof in);
    in.exited = 1;
    in.timeout_ms = 600000;
    in.output = out;
    in.output_len = out ? strlen(out) : 0;
    in.duration_ms = 1500;
    return in;
}

/* Check s against in; the report's messages, one a line with "PASS "/"FAIL "/"ERROR " before
 * each, must be want (' for "). */
static void check(const struct scenario *s, const struct expect_input *in, const char *want,
                  enum expect_verdict verdict)
{
    struct expect_report r;
    char got[8192] = "";
    size_t n = 0;
    static const char *const v[] = {"PASS ", "FAIL ", "ERROR "};
    assert_int_equal(expect_evaluate(s, in, &r), 0);
    for (size_t i = 0; i < r.n; i++)
        n += (size_t)snprintf(got + n, sizeof got - n, "%s%s%s", i ? "\n" : "",
                              v[r.items[i].verdict], r.items[i].message);
    char *w = dq(want);
    if (strcmp(got, w) != 0)
        fail_msg("\ngot:\n%s\nwant:\n%s", got, w);
    free(w);
    assert_int_equal(r.verdict, verdict);
    expect_report_release(&r);
}

/* The report's items' short columns: "kind|expected|observed" per item, one a line. */
static void check_short(const struct scenario *s, const struct expect_input *in, const char *want)
{
    struct expect_report r;
    char got[4096] = "";
    size_t n = 0;
    assert_int_equal(expect_evaluate(s, in, &r), 0);
    for (size_t i = 0; i < r.n; i++)
        n += (size_t)snprintf(got + n, sizeof got - n, "%s%s|%s|%s", i ? "\n" : "", r.items[i].kind,
                              r.items[i].expected, r.items[i].observed);
    char *w = dq(want);
    if (strcmp(got, w) != 0)
        fail_msg("\ngot:\n%s\nwant:\n%s", got, w);
    free(w);
    expect_report_release(&r);
}

/* ---- exit status and the default ---- */

static void test_default_without_expect(void **state)
{
    (void)state;
    struct scenario *s = scen("{'name': 'x'}");
    struct expect_input in = ran("");
    check(s, &in, "PASS exitCode 0 (the default without 'expect'): the command exited 0",
          EXPECT_PASS);
    in.exit_code = 3;
    check(s, &in, "FAIL exitCode 0 (the default without 'expect'): the command exited 3",
          EXPECT_FAIL);
    scenario_free(s);
}

static void test_exit_code(void **state)
{
    (void)state;
    struct scenario *s = scen("{'name': 'x', 'expect': {'exitCode': 1}}");
    struct expect_input in = ran("");
    in.exit_code = 1;
    check(s, &in, "PASS exitCode 1: the command exited 1", EXPECT_PASS);
    in.exit_code = 0;
    check(s, &in, "FAIL exitCode 1: the command exited 0", EXPECT_FAIL);
    check_short(s, &in, "exitCode|1|0");
    in.exited = 0;
    in.signal = SIGSEGV;
    check(s, &in, "FAIL exitCode 1: the command was killed by SIGSEGV", EXPECT_FAIL);
    check_short(s, &in, "exitCode|1|SIGSEGV");
    in.signal = 40;
    check(s, &in, "FAIL exitCode 1: the command was killed by signal 40", EXPECT_FAIL);
    scenario_free(s);
}

static void test_timeout(void **state)
{
    (void)state;
    struct scenario *s = scen("{'name': 'x', 'expect': {'exitCode': 0}}");
    struct expect_input in = ran("");
    in.exited = 0;
    in.signal = SIGTERM;
    in.timed_out = 1;
    in.killed_by = SIGTERM;
    in.timeout_ms = 90000;
    check(s, &in,
          "FAIL timeout 1m30s: the command was still running after 1m30s; killed with SIGTERM\n"
          "FAIL exitCode 0: the command did not exit: it timed out after 1m30s and was killed",
          EXPECT_FAIL);
    in.killed_by = SIGKILL;
    in.signal = SIGKILL;
    check(s, &in,
          "FAIL timeout 1m30s: the command was still running after 1m30s; killed with SIGTERM, "
          "then SIGKILL\n"
          "FAIL exitCode 0: the command did not exit: it timed out after 1m30s and was killed",
          EXPECT_FAIL);
    check_short(s, &in, "timeout|exit within 1m30s|timed out\nexitCode|0|timed out");
    scenario_free(s);
    /* no "expect": the timeout still fails it, and the default says why */
    s = scen("{'name': 'x'}");
    check(s, &in,
          "FAIL timeout 1m30s: the command was still running after 1m30s; killed with SIGTERM, "
          "then SIGKILL\n"
          "FAIL exitCode 0 (the default without 'expect'): the command did not exit: it timed "
          "out after 1m30s and was killed",
          EXPECT_FAIL);
    scenario_free(s);
}

/* ---- output ---- */

static void test_output_contains(void **state)
{
    (void)state;
    struct scenario *s =
        scen("{'name': 'x', 'expect': {'outputContains': ['etcdserver: leader changed']}}");
    struct expect_input in = ran("Running\nError from server: etcdserver: leader changed\n");
    check(s, &in, "PASS outputContains 'etcdserver: leader changed': found on line 2", EXPECT_PASS);
    in = ran("Running\nWaiting for pod default/runner-1 to be running\n\n");
    check(s, &in,
          "FAIL outputContains 'etcdserver: leader changed': not found in the output (56 bytes; "
          "last line: 'Waiting for pod default/runner-1 to be running')",
          EXPECT_FAIL);
    check_short(s, &in, "outputContains|'etcdserver: leader changed'|not found");
    in.output_dropped = 10;
    check(s, &in,
          "FAIL outputContains 'etcdserver: leader changed': not found in the output (56 bytes, "
          "10 more bytes not kept; last line: 'Waiting for pod default/runner-1 to be running')",
          EXPECT_FAIL);
    in = ran("");
    check(s, &in,
          "FAIL outputContains 'etcdserver: leader changed': not found: the output is empty",
          EXPECT_FAIL);
    /* control bytes in the last line are shown as '.', a long line is cut */
    in = ran("a\n\x1b[31mred\x1b[0m\r\n");
    check(s, &in,
          "FAIL outputContains 'etcdserver: leader changed': not found in the output (16 bytes; "
          "last line: '.[31mred.[0m')",
          EXPECT_FAIL);
    char big[400];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    in = ran(big);
    struct expect_report r;
    assert_int_equal(expect_evaluate(s, &in, &r), 0);
    assert_non_null(strstr(r.items[0].message, "(399 bytes; last line: \"xxx"));
    assert_true(strlen(r.items[0].message) < 250);
    expect_report_release(&r);
    scenario_free(s);
}

static void test_output_lacks(void **state)
{
    (void)state;
    struct scenario *s =
        scen("{'name': 'x', 'expect': {'outputLacks': ['panic:', 'Job succeeded']}}");
    struct expect_input in = ran("one\ntwo\n");
    check(s, &in,
          "PASS outputLacks 'panic:': not in the output (8 bytes)\n"
          "PASS outputLacks 'Job succeeded': not in the output (8 bytes)",
          EXPECT_PASS);
    in = ran("one\ngoroutine 1: panic: nil map\nthree\n");
    check(s, &in,
          "FAIL outputLacks 'panic:': found on line 2: 'goroutine 1: panic: nil map'\n"
          "PASS outputLacks 'Job succeeded': not in the output (38 bytes)",
          EXPECT_FAIL);
    check_short(s, &in,
                "outputLacks|no 'panic:'|found on line 2\noutputLacks|no 'Job succeeded'|absent");
    scenario_free(s);
}

/* ---- duration ---- */

static void test_durations(void **state)
{
    (void)state;
    struct scenario *s =
        scen("{'name': 'x', 'expect': {'durationMin': '1s', 'durationMax': '1m30s'}}");
    struct expect_input in = ran("");
    check(s, &in, "PASS durationMin 1s: ran 1.5s\nPASS durationMax 1m30s: ran 1.5s", EXPECT_PASS);
    in.duration_ms = 420;
    check(s, &in, "FAIL durationMin 1s: ran 420ms, less than 1s\nPASS durationMax 1m30s: ran 420ms",
          EXPECT_FAIL);
    in.duration_ms = 362100;
    check(s, &in,
          "PASS durationMin 1s: ran 6m2.1s\nFAIL durationMax 1m30s: ran 6m2.1s, more than 1m30s",
          EXPECT_FAIL);
    check_short(s, &in, "durationMin|>= 1s|6m2.1s\ndurationMax|<= 1m30s|6m2.1s");
    scenario_free(s);
}

static void test_format_duration(void **state)
{
    (void)state;
    char b[48];
    assert_string_equal(expect_format_duration(b, sizeof b, 0), "0ms");
    assert_string_equal(expect_format_duration(b, sizeof b, 999), "999ms");
    assert_string_equal(expect_format_duration(b, sizeof b, 1000), "1s");
    assert_string_equal(expect_format_duration(b, sizeof b, 2350), "2.35s");
    assert_string_equal(expect_format_duration(b, sizeof b, 60000), "1m0s");
    assert_string_equal(expect_format_duration(b, sizeof b, 600000), "10m0s");
    assert_string_equal(expect_format_duration(b, sizeof b, 3723500), "1h2m3.5s");
    assert_string_equal(expect_format_duration(b, sizeof b, -5), "0ms");
}

/* ---- the journal ---- */

#define RULES                                                                                      \
    "'rules': [{'name': 'etcd', 'match': {'verb': 'create', 'resource': 'pods'}, "                 \
    "'trigger': {'first': 2}, 'fault': {'type': 'error', 'name': 'etcd-leader-changed'}}, "        \
    "{'name': 'down', 'enabled': false, 'fault': {'type': 'refuse'}}, "                            \
    "{'name': 'rst', 'fault': {'type': 'accept-reset'}}]"

/* A runner-like journal: discovery, a secret, two failed pod creates, one that passes, a watch,
 * a delete. */
static struct journal *runner_journal(void)
{
    struct journal *j = journal_new(16, NULL);
    assert_non_null(j);
    req(j, 1, "GET", "/version?timeout=32s", "kubectl/v1.32.0 (linux/amd64)", NULL, NULL, 200);
    req(j, 2, "POST", "/api/v1/namespaces/ci/secrets", "gitlab-runner 17.0", NULL, NULL, 201);
    req(j, 3, "POST", "/api/v1/namespaces/ci/pods", "gitlab-runner 17.0", "etcd", "error", 500);
    req(j, 4, "POST", "/api/v1/namespaces/ci/pods", "gitlab-runner 17.0", "etcd", "error", 500);
    req(j, 5, "POST", "/api/v1/namespaces/ci/pods", "gitlab-runner 17.0", NULL, NULL, 201);
    req(j, 6, "GET", "/api/v1/namespaces/ci/pods?fieldSelector=metadata.name%3Drunner-1&watch=1",
        "gitlab-runner 17.0", NULL, NULL, 200);
    req(j, 7, "DELETE", "/api/v1/namespaces/ci/pods/runner-1", "gitlab-runner 17.0", NULL, NULL,
        200);
    return j;
}

static void test_journal_counts(void **state)
{
    (void)state;
    struct scenario *s =
        scen("{'name': 'x', " RULES ", 'expect': {'journal': ["
             "{'name': 'creates', 'match': {'verb': 'create', 'resource': 'pods'}, 'min': 1}, "
             "{'rule': 'etcd', 'fault': 'error', 'count': 2}, "
             "{'match': {'verb': 'delete', 'name': 'runner-*'}, 'max': 1}, "
             "{'match': {'verb': 'watch', 'query': {'fieldSelector': 'metadata.name=runner-*'}}}, "
             "{'match': {'headers': {'User-Agent': 'kubectl/*'}}, 'min': 1, 'max': 2}, "
             "{'match': {'verb': 'exec'}, 'count': 0}]}}");
    struct journal *j = runner_journal();
    struct expect_input in = ran("");
    in.journal = j;
    check(s, &in,
          "PASS journal[0] 'creates' (match {'verb':'create','resource':'pods'}) min 1: 3 "
          "requests (#3 POST /api/v1/namespaces/ci/pods, #4 POST /api/v1/namespaces/ci/pods, #5 "
          "POST /api/v1/namespaces/ci/pods)\n"
          "PASS journal[1] (rule etcd, fault error) count 2: 2 requests (#3 POST "
          "/api/v1/namespaces/ci/pods, #4 POST /api/v1/namespaces/ci/pods)\n"
          "PASS journal[2] (match {'verb':'delete','name':'runner-*'}) max 1: 1 request (#7 DELETE "
          "/api/v1/namespaces/ci/pods/runner-1)\n"
          "PASS journal[3] (match "
          "{'verb':'watch','query':{'fieldSelector':'metadata.name=runner-*'}}) (at least 1): 1 "
          "request (#6 GET "
          "/api/v1/namespaces/ci/pods?fieldSelector=metadata.name%3Drunner-1&watch=1)\n"
          "PASS journal[4] (match {'headers':{'User-Agent':'kubectl/*'}}) min 1, max 2: 1 request "
          "(#1 GET /version?timeout=32s)\n"
          "PASS journal[5] (match {'verb':'exec'}) count 0: no request matched (the journal "
          "holds 7 requests)",
          EXPECT_PASS);
    journal_free(j);
    scenario_free(s);
}

static void test_journal_failures(void **state)
{
    (void)state;
    struct scenario *s =
        scen("{'name': 'x', " RULES ", 'expect': {'journal': ["
             "{'rule': 'etcd', 'count': 1}, "
             "{'match': {'verb': 'create'}, 'count': 0}, "
             "{'match': {'verb': 'create', 'resource': 'secrets'}, 'min': 2}, "
             "{'match': {'verb': 'patch'}}, "
             "{'match': {'verb': 'create', 'resource': 'pods'}, 'min': 1, 'max': 2}]}}");
    struct journal *j = runner_journal();
    struct expect_input in = ran("");
    in.journal = j;
    check(s, &in,
          "FAIL journal[0] (rule etcd) count 1: 2 requests (#3 POST /api/v1/namespaces/ci/pods, "
          "#4 POST /api/v1/namespaces/ci/pods), expected exactly 1\n"
          "FAIL journal[1] (match {'verb':'create'}) count 0: 4 requests (#2 POST "
          "/api/v1/namespaces/ci/secrets, #3 POST /api/v1/namespaces/ci/pods, #4 POST "
          "/api/v1/namespaces/ci/pods, ...), expected none\n"
          "FAIL journal[2] (match {'verb':'create','resource':'secrets'}) min 2: 1 request (#2 "
          "POST /api/v1/namespaces/ci/secrets), expected at least 2\n"
          "FAIL journal[3] (match {'verb':'patch'}) (at least 1): no request matched, expected "
          "at least 1 (the journal holds 7 requests)\n"
          "FAIL journal[4] (match {'verb':'create','resource':'pods'}) min 1, max 2: 3 requests "
          "(#3 POST /api/v1/namespaces/ci/pods, #4 POST /api/v1/namespaces/ci/pods, #5 POST "
          "/api/v1/namespaces/ci/pods), expected 1 to 2",
          EXPECT_FAIL);
    check_short(s, &in,
                "journal|count 1|2 requests\njournal|count 0|4 requests\njournal|min 2|1 "
                "request\njournal|min 1|0 requests\njournal|min 1, max 2|3 requests");
    journal_free(j);
    /* an empty journal: nothing reached the server */
    in.journal = NULL;
    struct scenario *s2 =
        scen("{'name': 'x', 'expect': {'journal': [{'count': 0}, {'match': {'verb': 'get'}}]}}");
    check(s2, &in,
          "PASS journal[0] (every request) count 0: no request reached the server\n"
          "FAIL journal[1] (match {'verb':'get'}) (at least 1): no request reached the server, "
          "expected at least 1",
          EXPECT_FAIL);
    scenario_free(s2);
    scenario_free(s);
}

static void test_journal_dropped(void **state)
{
    (void)state;
    struct scenario *s =
        scen("{'name': 'x', 'expect': {'journal': [{'match': {'verb': 'list'}, 'count': 1}]}}");
    struct journal *j = journal_new(2, NULL); /* keeps the last 2 of 3 */
    req(j, 1, "GET", "/api/v1/pods", NULL, NULL, NULL, 200);
    req(j, 2, "GET", "/api/v1/secrets", NULL, NULL, NULL, 200);
    req(j, 3, "GET", "/api/v1/namespaces/ci/pods", NULL, NULL, NULL, 200);
    struct expect_input in = ran("");
    in.journal = j;
    check(s, &in,
          "FAIL journal[0] (match {'verb':'list'}) count 1: 2 requests (#2 GET /api/v1/secrets, #3 "
          "GET /api/v1/namespaces/ci/pods), expected exactly 1 (the journal kept only the last 2 "
          "requests)",
          EXPECT_FAIL);
    journal_free(j);
    scenario_free(s);
}

static void test_journal_listener_rules(void **state)
{
    (void)state;
    struct scenario *s = scen("{'name': 'x', " RULES ", 'expect': {'journal': ["
                              "{'rule': 'rst', 'count': 3}, {'fault': 'accept-reset', 'min': 4}, "
                              "{'rule': 'down', 'count': 0}]}}");
    uint64_t fired[3] = {2, 0, 3};
    struct expect_input in = ran("");
    in.rule_fired = fired;
    check(s, &in,
          "PASS journal[0] (rule rst) count 3: the rule fired on 3 connections (listener faults "
          "act on connections, which the journal does not list)\n"
          "FAIL journal[1] (fault accept-reset) min 4: the rule fired on 3 connections, expected "
          "at least 4 (listener faults act on connections, which the journal does not list)\n"
          "PASS journal[2] (rule down) count 0: the rule fired on 0 connections (listener faults "
          "act on connections, which the journal does not list)",
          EXPECT_FAIL);
    check_short(s, &in,
                "journal|count 3|3 connections\njournal|min 4|3 connections\njournal|count 0|0 "
                "connections");
    scenario_free(s);
}

static void test_journal_cannot_check(void **state)
{
    (void)state;
    struct scenario *s =
        scen("{'name': 'x', " RULES ", 'expect': {'journal': ["
             "{'match': {'verb': 'create', 'body': [{'path': 'metadata.name', 'exists': true}]}}, "
             "{'match': {'headers': {'Content-Type': 'application/json'}}}, "
             "{'rule': 'rst', 'match': {'verb': 'get'}}, "
             "{'match': {'headers': {'user-agent': 'kubectl/*'}}}]}}");
    struct journal *j = runner_journal();
    struct expect_input in = ran("");
    in.journal = j;
    check(s, &in,
          "ERROR journal[0] (match "
          "{'verb':'create','body':[{'path':'metadata.name','exists':true}]}) (at least 1): "
          "cannot check 'match.body': the journal keeps no request bodies\n"
          "ERROR journal[1] (match {'headers':{'Content-Type':'application/json'}}) (at least 1): "
          "cannot check header 'Content-Type': the journal keeps only User-Agent\n"
          "ERROR journal[2] (match {'verb':'get'}, rule rst) (at least 1): cannot check 'match' "
          "with rule rst: listener faults act on connections, which the journal does not list "
          "(leave 'match' out to count them)\n"
          "PASS journal[3] (match {'headers':{'user-agent':'kubectl/*'}}) (at least 1): 1 "
          "request (#1 GET /version?timeout=32s)",
          EXPECT_ERROR);
    journal_free(j);
    scenario_free(s);
}

static void test_before(void **state)
{
    (void)state;
    struct scenario *s =
        scen("{'name': 'x', " RULES ", 'expect': {'journal': ["
             "{'name': 'secret', 'match': {'verb': 'create', 'resource': 'secrets'}, "
             "'before': 'pod'}, "
             "{'name': 'pod', 'match': {'verb': 'create', 'resource': 'pods'}, "
             "'before': 'delete'}, "
             "{'name': 'delete', 'match': {'verb': 'delete'}, 'before': 'secret'}, "
             "{'name': 'exec', 'match': {'verb': 'exec'}, 'count': 0, 'before': 'pod'}, "
             "{'name': 'log', 'match': {'verb': 'log'}, 'count': 0}, "
             "{'match': {'verb': 'watch'}, 'before': 'log'}]}}");
    struct journal *j = runner_journal();
    struct expect_input in = ran("");
    in.journal = j;
    struct expect_report r;
    assert_int_equal(expect_evaluate(s, &in, &r), 0);
    assert_int_equal(r.n, 11); /* 6 counts, 5 orders */
    char got[4096] = "";
    size_t n = 0;
    for (size_t i = 6; i < r.n; i++)
        n += (size_t)snprintf(got + n, sizeof got - n, "%s%s", i > 6 ? "\n" : "",
                              r.items[i].message);
    char *want = dq(
        "journal[0] 'secret' before 'pod': its first request #2 POST /api/v1/namespaces/ci/secrets "
        "comes before the first of 'pod', #3 POST /api/v1/namespaces/ci/pods\n"
        "journal[1] 'pod' before 'delete': its first request #3 POST /api/v1/namespaces/ci/pods "
        "comes before the first of 'delete', #7 DELETE /api/v1/namespaces/ci/pods/runner-1\n"
        "journal[2] 'delete' before 'secret': its first request #7 DELETE "
        "/api/v1/namespaces/ci/pods/runner-1 comes after the first of 'secret', #2 POST "
        "/api/v1/namespaces/ci/secrets\n"
        "journal[3] 'exec' before 'pod': journal[3] matched no request: it has no first request "
        "to order\n"
        "journal[5] before 'log': 'log' matched no request: there is nothing to come before");
    if (strcmp(got, want) != 0)
        fail_msg("\ngot:\n%s\nwant:\n%s", got, want);
    free(want);
    assert_int_equal(r.items[6].verdict, EXPECT_PASS);
    assert_int_equal(r.items[7].verdict, EXPECT_PASS);
    assert_int_equal(r.items[8].verdict, EXPECT_FAIL);
    assert_string_equal(r.items[8].kind, "before");
    assert_string_equal(r.items[8].expected, "before \"secret\"");
    assert_string_equal(r.items[8].observed, "#7 after #2");
    assert_int_equal(r.items[9].verdict, EXPECT_FAIL);
    assert_int_equal(r.items[10].verdict, EXPECT_FAIL);
    assert_int_equal(r.failed, 3); /* every count holds; three orders do not */
    assert_int_equal(r.verdict, EXPECT_FAIL);
    expect_report_release(&r);
    journal_free(j);
    scenario_free(s);
}

/* Every kind at once: the items come in the file's order of kinds, the verdict counts them. */
static void test_everything(void **state)
{
    (void)state;
    struct scenario *s =
        scen("{'name': 'x', " RULES ", 'expect': {'exitCode': 1, "
             "'outputContains': ['prepare environment: etcdserver: leader changed'], "
             "'outputLacks': ['Job succeeded'], 'durationMax': '5m', "
             "'journal': [{'rule': 'etcd', 'count': 2}]}}");
    struct journal *j = runner_journal();
    struct expect_input in = ran(
        "ERROR: Job failed (system failure): prepare environment: etcdserver: leader changed.\n");
    in.exit_code = 1;
    in.journal = j;
    struct expect_report r;
    assert_int_equal(expect_evaluate(s, &in, &r), 0);
    assert_int_equal(r.n, 5);
    assert_string_equal(r.items[0].kind, "exitCode");
    assert_string_equal(r.items[1].kind, "outputContains");
    assert_string_equal(r.items[2].kind, "outputLacks");
    assert_string_equal(r.items[3].kind, "durationMax");
    assert_string_equal(r.items[4].kind, "journal");
    assert_int_equal(r.failed, 0);
    assert_int_equal(r.errors, 0);
    assert_int_equal(r.verdict, EXPECT_PASS);
    expect_report_release(&r);
    journal_free(j);
    scenario_free(s);
}

/* ---- another section: kubectl's ---- */

/* The kubectl section of s checked against in: every message, one a line, as check() gives them. */
static void check_kubectl(const struct scenario *s, const struct expect_input *in, const char *want,
                          enum expect_verdict verdict)
{
    struct expect_report r;
    char got[8192] = "";
    size_t n = 0;
    static const char *const v[] = {"PASS ", "FAIL ", "ERROR "};
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(s->kubectl, "expect");
    assert_int_equal(expect_evaluate_section(s, ex, "kubectl.expect", in, &r), 0);
    for (size_t i = 0; i < r.n; i++)
        n += (size_t)snprintf(got + n, sizeof got - n, "%s%s%s", i ? "\n" : "",
                              v[r.items[i].verdict], r.items[i].message);
    char *w = dq(want);
    if (strcmp(got, w) != 0)
        fail_msg("\ngot:\n%s\nwant:\n%s", got, w);
    free(w);
    assert_int_equal(r.verdict, verdict);
    expect_report_release(&r);
}

static void test_kubectl_section(void **state)
{
    (void)state;
    struct scenario *s =
        scen("{'name': 'x', " RULES ", 'expect': {'exitCode': 1}, "
             "'kubectl': {'args': ['run', 'p1'], 'expect': {'exitCode': 1, "
             "'outputContains': ['Error from server: etcdserver: leader changed'], "
             "'journal': [{'rule': 'etcd', 'count': 1}]}}}");
    struct journal *j = runner_journal();
    struct expect_input in = ran("Error from server: etcdserver: leader changd\n");
    in.exit_code = 1;
    in.journal = j;
    /* the top-level "expect" is untouched by the kubectl section, and the other way round */
    check(s, &in, "PASS exitCode 1: the command exited 1", EXPECT_PASS);
    check_kubectl(s, &in,
                  "PASS kubectl.expect.exitCode 1: the command exited 1\n"
                  "FAIL kubectl.expect.outputContains 'Error from server: etcdserver: leader "
                  "changed': not found in the output (45 bytes; last line: 'Error from server: "
                  "etcdserver: leader changd')\n"
                  "FAIL kubectl.expect.journal[0] (rule etcd) count 1: 2 requests (#3 POST "
                  "/api/v1/namespaces/ci/pods, #4 POST /api/v1/namespaces/ci/pods), expected "
                  "exactly 1",
                  EXPECT_FAIL);
    journal_free(j);
    scenario_free(s);

    /* a kubectl section without "expect": exit 0, said as such; a timeout is the run's */
    s = scen("{'name': 'x', 'kubectl': {'args': ['get', 'pods']}}");
    in = ran("");
    in.exit_code = 1;
    check_kubectl(s, &in,
                  "FAIL kubectl.expect.exitCode 0 (the default without 'kubectl.expect'): the "
                  "command exited 1",
                  EXPECT_FAIL);
    in.exited = 0;
    in.signal = SIGTERM;
    in.timed_out = 1;
    in.killed_by = SIGTERM;
    in.timeout_ms = 2000;
    check_kubectl(s, &in,
                  "FAIL timeout 2s: the command was still running after 2s; killed with SIGTERM\n"
                  "FAIL kubectl.expect.exitCode 0 (the default without 'kubectl.expect'): the "
                  "command did not exit: it timed out after 2s and was killed",
                  EXPECT_FAIL);
    scenario_free(s);
}

/* ---- the fake GitLab's jobs ---- */

#define GL_JOBS "'gitlab': {'jobs': [{'name': 'build'}, {'name': 'deploy'}]}"

/* What glrun_jobs_json() gives after a run: build failed with a trace, deploy never ran. */
static cJSON *gl_jobs(void)
{
    char *t = dq("[{'id': 1, 'name': 'build', 'state': 'failed', 'failure_reason': "
                 "'script_failure', 'exit_code': 1, 'trace_length': 24, 'patches': 2, "
                 "'updates': 1, 'trace': '$ make test\\nboom: error\\n'},"
                 " {'id': 2, 'name': 'deploy', 'state': 'pending', 'failure_reason': '', "
                 "'trace_length': 0, 'patches': 0, 'updates': 0, 'trace': ''}]");
    cJSON *j = cJSON_Parse(t);
    free(t);
    assert_non_null(j);
    return j;
}

static void test_gitlab_jobs_pass(void **state)
{
    (void)state;
    struct scenario *s =
        scen("{'name': 'x', " GL_JOBS ", 'expect': {'gitlab': {'jobs': ["
             "{'name': 'build', 'state': 'failed', 'failureReason': 'script_failure', "
             "'exitCode': 1, 'traceContains': ['$ make test', 'boom'], 'traceLacks': ['panic']},"
             " {'job': 2, 'state': 'pending'}, {'name': 'deploy'}]}}}");
    cJSON *jobs = gl_jobs();
    struct expect_input in = ran("");
    in.gitlab_jobs = jobs;
    check(s, &in,
          "PASS gitlab.jobs[0] (job 'build'): failed (script_failure), exit 1\n"
          "PASS gitlab.jobs[1] (job 2): pending\n"
          "PASS gitlab.jobs[2] (job 'deploy'): pending",
          EXPECT_PASS);
    /* what each checked, in the report's expected column */
    check_short(s, &in,
                "gitlabJob|state failed, failureReason 'script_failure', exitCode 1, trace has "
                "'$ make test', trace has 'boom', trace lacks 'panic'|failed (script_failure), "
                "exit 1\n"
                "gitlabJob|state pending|pending\n"
                "gitlabJob|exists|pending");
    cJSON_Delete(jobs);
    scenario_free(s);
}

static void test_gitlab_jobs_fail(void **state)
{
    (void)state;
    /* one expectation per way to fail, each against the same jobs */
    static const struct {
        const char *x;    /* one gitlab.jobs expectation */
        const char *want; /* its line */
    } cases[] = {
        {"{'name': 'build', 'state': 'success'}",
         "FAIL gitlab.jobs[0] (job 'build'): the job is failed, expected success"},
        {"{'name': 'build', 'failureReason': 'job_canceled'}",
         "FAIL gitlab.jobs[0] (job 'build'): failure_reason is "
         "'script_failure', expected 'job_canceled'"},
        {"{'name': 'build', 'exitCode': 2}",
         "FAIL gitlab.jobs[0] (job 'build'): the exit code is 1, expected 2"},
        {"{'name': 'deploy', 'exitCode': 0}",
         "FAIL gitlab.jobs[0] (job 'deploy'): the runner sent no exit code, expected 0"},
        {"{'name': 'build', 'traceContains': ['$ make test', 'all passed']}",
         "FAIL gitlab.jobs[0] (job 'build'): the "
         "trace (24 bytes) lacks 'all passed'"},
        {"{'name': 'build', 'traceLacks': ['boom']}",
         "FAIL gitlab.jobs[0] (job 'build'): the trace (24 bytes) contains "
         "'boom'"},
        {"{'job': 9, 'state': 'success'}",
         "FAIL gitlab.jobs[0] (job 9): the fake GitLab has no job 9"},
        /* the first mismatch is the one told: state before the trace */
        {"{'name': 'build', 'state': 'success', 'traceLacks': ['boom']}",
         "FAIL gitlab.jobs[0] (job 'build'): the job is failed, "
         "expected success"},
    };
    cJSON *jobs = gl_jobs();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[1024], want[1024];
        snprintf(text, sizeof text,
                 "{'name': 'x', " GL_JOBS ", 'expect': {'gitlab': {'jobs': [%s]}}}", cases[i].x);
        snprintf(want, sizeof want, "%s", cases[i].want);
        struct scenario *s = scen(text);
        struct expect_input in = ran("");
        in.gitlab_jobs = jobs;
        check(s, &in, want, EXPECT_FAIL);
        scenario_free(s);
    }
    cJSON_Delete(jobs);

    /* the fake GitLab did not run at all (kubefault run without it): every job is missing */
    struct scenario *s = scen("{'name': 'x', " GL_JOBS ", 'expect': {'gitlab': {'jobs': ["
                              "{'name': 'build', 'state': 'success'}]}}}");
    struct expect_input in = ran("");
    check(s, &in,
          "FAIL gitlab.jobs[0] (job 'build'): the fake GitLab has no job 'build' "
          "(it did not run)",
          EXPECT_FAIL);
    check_short(s, &in, "gitlabJob|state success|no such job");
    scenario_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_without_expect),
        cmocka_unit_test(test_exit_code),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_output_contains),
        cmocka_unit_test(test_output_lacks),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_format_duration),
        cmocka_unit_test(test_journal_counts),
        cmocka_unit_test(test_journal_failures),
        cmocka_unit_test(test_journal_dropped),
        cmocka_unit_test(test_journal_listener_rules),
        cmocka_unit_test(test_journal_cannot_check),
        cmocka_unit_test(test_before),
        cmocka_unit_test(test_everything),
        cmocka_unit_test(test_kubectl_section),
        cmocka_unit_test(test_gitlab_jobs_pass),
        cmocka_unit_test(test_gitlab_jobs_fail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
