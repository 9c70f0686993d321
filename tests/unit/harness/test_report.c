/* test_report.c -- tests harness/report.c: JUnit XML read back by a real XML parser (libxml2, no
 * recovery) with hostile output (control bytes, ANSI colours, invalid UTF-8, markup), the XML
 * escaping byte by byte, the human table, the JSON document, a skipped scenario in all three, the
 * journal excerpt and JSON lines */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "harness/expect.h"
#include "harness/journal.h"
#include "harness/report.h"
#include "testutil.h"

/* ---- helpers ---- */

/* What f wrote, as a string (caller frees); f is closed. */
static char *take(FILE *f, char **buf, size_t *len)
{
    fclose(f);
    (void)len;
    return *buf;
}

static char *xml_text(const char *s, size_t len, int attr)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    assert_non_null(f);
    report_xml_text(f, s, len, attr);
    return take(f, &buf, &n);
}

static void item(struct expect_report *r, enum expect_verdict v, const char *kind,
                 const char *expected, const char *observed, const char *message)
{
    r->items = realloc(r->items, (r->n + 1) * sizeof *r->items);
    assert_non_null(r->items);
    struct expect_item *it = &r->items[r->n++];
    memset(it, 0, sizeof *it);
    snprintf(it->kind, sizeof it->kind, "%s", kind);
    it->verdict = v;
    it->subject = strdup(kind);
    it->expected = strdup(expected);
    it->observed = strdup(observed);
    it->message = strdup(message);
    if (v == EXPECT_FAIL)
        r->failed++;
    if (v == EXPECT_ERROR)
        r->errors++;
    r->verdict = r->errors ? EXPECT_ERROR : r->failed ? EXPECT_FAIL : EXPECT_PASS;
}

static char *dupmem(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    assert_non_null(p);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* Output a CI job log could hold: colours, a NUL, a bell, a form feed, invalid UTF-8, U+FFFF, a
 * CDATA end, markup, quotes. */
static const char HOSTILE[] =
    "\x1b[0;33mRunning with gitlab-runner 17.0\x1b[0;m\n"
    "a NUL \0 a bell \a a form feed \f\n"
    "bad UTF-8 \xff\xfe \xc3( \xed\xa0\x80 end\n"
    "U+FFFF \xef\xbf\xbf, e-acute \xc3\xa9, snowman \xe2\x98\x83\n"
    "]]> <b>&amp;</b> \"quoted\" 'single'\r\n"
    "ERROR: Job failed (system failure): prepare environment: etcdserver: leader changed\n";

/* Three cases: a pass, a failure with hostile output, an invalid scenario (error). */
static void make_cases(struct report_case c[3])
{
    memset(c, 0, 3 * sizeof *c);
    c[0].file = strdup("scenarios/context-deadline-exceeded.json");
    c[0].id = strdup("context-deadline-exceeded");
    c[0].name = strdup("etcd leader changed");
    c[0].anchor = strdup("context-deadline-exceeded");
    c[0].class_ = strdup("wire");
    c[0].expect_summary = strdup("exit 1, \"etcdserver: leader changed\"");
    c[0].status = REPORT_PASS;
    c[0].command = strdup("kubefault job --kubeconfig /tmp/k");
    c[0].duration_ms = 1234;
    c[0].started = c[0].exited = 1;
    c[0].exit_code = 1;
    c[0].requests = 12;
    item(&c[0].expect, EXPECT_PASS, "exitCode", "1", "1", "exitCode 1: the command exited 1");

    c[1].file = strdup("scenarios/context-deadline-exceeded-variant.json");
    c[1].id = strdup("context-deadline-exceeded-variant");
    c[1].name = strdup("etcd <timed out> & \"more\"");
    c[1].anchor = strdup("context-deadline-exceeded");
    c[1].class_ = strdup("wire");
    c[1].expect_summary = strdup("exit 1, \"etcdserver: request timed out\"");
    c[1].status = REPORT_FAIL;
    c[1].command = strdup("sh -c 'kubectl get pods'");
    c[1].duration_ms = 2500;
    c[1].started = c[1].exited = 1;
    c[1].exit_code = 0;
    c[1].output = dupmem(HOSTILE, sizeof HOSTILE - 1);
    c[1].output_len = sizeof HOSTILE - 1;
    c[1].requests = 2;
    c[1].journal_excerpt = strdup("#1 +0.010s GET /version -> 200 (300 bytes)\n"
                                  "#2 +0.020s POST /api/v1/namespaces/default/pods -> 500 (120 "
                                  "bytes) [rule etcd: error]\n");
    c[1].evidence = strdup("/tmp/kubefault-run-x/context-deadline-exceeded-variant");
    item(&c[1].expect, EXPECT_FAIL, "exitCode", "1", "0", "exitCode 1: the command exited 0");
    item(&c[1].expect, EXPECT_FAIL, "outputContains", "\"etcdserver: request timed out\"",
         "not found",
         "outputContains \"etcdserver: request timed out\": not found in the output (412 bytes; "
         "last line: \"ERROR: <x> & y\")");
    item(&c[1].expect, EXPECT_PASS, "outputLacks", "no \"panic:\"", "absent",
         "outputLacks \"panic:\": not in the output (412 bytes)");

    c[2].file = strdup("scenarios/bad.json");
    c[2].id = strdup("bad");
    c[2].status = REPORT_ERROR;
    c[2].invalid = 1;
    c[2].error = strdup("scenarios/bad.json:3:1: expected ',' or '}' after object member, got "
                        "'\"'\nscenarios/bad.json: name: missing key");
}

static void free_cases(struct report_case c[3])
{
    for (int i = 0; i < 3; i++)
        report_case_release(&c[i]);
}

static char *junit_of(struct report_case *c, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(report_junit(f, c, n, 3900, "2026-01-02T03:04:05"), 0);
    return take(f, &buf, &len);
}

/* The string value of an XPath expression on doc (caller frees with xmlFree). */
static char *xp(xmlDocPtr doc, const char *expr)
{
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    assert_non_null(ctx);
    char *wrapped = NULL;
    size_t n = strlen(expr) + 16;
    wrapped = malloc(n);
    assert_non_null(wrapped);
    snprintf(wrapped, n, "string(%s)", expr);
    xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)wrapped, ctx);
    free(wrapped);
    assert_non_null(o);
    char *s = (char *)xmlStrdup(o->stringval ? o->stringval : (const xmlChar *)"");
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(ctx);
    return s;
}

static void assert_xp(xmlDocPtr doc, const char *expr, const char *want)
{
    char *got = xp(doc, expr);
    if (strcmp(got, want) != 0)
        fail_msg("%s\ngot:  %s\nwant: %s", expr, got, want);
    xmlFree(got);
}

static void assert_xp_contains(xmlDocPtr doc, const char *expr, const char *part)
{
    char *got = xp(doc, expr);
    if (!strstr(got, part))
        fail_msg("%s: \"%s\" not in:\n%s", expr, part, got);
    xmlFree(got);
}

/* ---- XML ---- */

static void test_junit_parses_strictly(void **state)
{
    (void)state;
    struct report_case c[3];
    make_cases(c);
    char *x = junit_of(c, 3);
    /* strict: no recovery, no network, errors are failures */
    xmlDocPtr doc = xmlReadMemory(x, (int)strlen(x), "junit.xml", "UTF-8",
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        fail_msg("libxml2 rejects the JUnit report:\n%s", x);

    assert_xp(doc, "count(/testsuites/testsuite)", "1");
    assert_xp(doc, "/testsuites/@tests", "3");
    assert_xp(doc, "/testsuites/testsuite/@name", "kubefault run");
    assert_xp(doc, "/testsuites/testsuite/@tests", "3");
    assert_xp(doc, "/testsuites/testsuite/@failures", "1");
    assert_xp(doc, "/testsuites/testsuite/@errors", "1");
    assert_xp(doc, "/testsuites/testsuite/@time", "3.900");
    assert_xp(doc, "/testsuites/testsuite/@timestamp", "2026-01-02T03:04:05");
    assert_xp(doc, "count(//testcase)", "3");

    /* a pass: classname = class, name = anchor (two cases share it: the file tells them apart) */
    assert_xp(doc, "//testcase[1]/@classname", "wire");
    assert_xp(doc, "//testcase[1]/@name", "context-deadline-exceeded (context-deadline-exceeded)");
    assert_xp(doc, "//testcase[1]/@time", "1.234");
    assert_xp(doc, "count(//testcase[1]/*)", "0");

    /* a failure: message = the first failing expectation, and how many more */
    assert_xp(doc, "//testcase[2]/@name",
              "context-deadline-exceeded (context-deadline-exceeded-variant)");
    assert_xp(doc, "//testcase[2]/@file", "scenarios/context-deadline-exceeded-variant.json");
    assert_xp(doc, "//testcase[2]/failure/@message",
              "exitCode 1: the command exited 0 (and 1 more)");
    assert_xp(doc, "//testcase[2]/failure/@type", "expectation");
    assert_xp(doc, "//testcase[2]/failure",
              "exitCode 1: the command exited 0\noutputContains \"etcdserver: request timed "
              "out\": not found in the output (412 bytes; last line: \"ERROR: <x> & y\")\n");
    /* system-out: the command, every result, the output escaped, the journal */
    assert_xp_contains(doc, "//testcase[2]/system-out", "command: sh -c 'kubectl get pods'\n");
    assert_xp_contains(doc, "//testcase[2]/system-out", "ended: exit 0 after 2.5s\n");
    assert_xp_contains(doc, "//testcase[2]/system-out",
                       "pass  outputLacks \"panic:\": not in the output (412 bytes)\n");
    assert_xp_contains(doc, "//testcase[2]/system-out", "--- output (");
    assert_xp_contains(doc, "//testcase[2]/system-out", "Running with gitlab-runner 17.0\n");
    assert_xp_contains(doc, "//testcase[2]/system-out",
                       "a NUL \\x00 a bell \\x07 a form feed \\x0c\n");
    assert_xp_contains(doc, "//testcase[2]/system-out",
                       "bad UTF-8 \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd( "
                       "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd end\n");
    assert_xp_contains(doc, "//testcase[2]/system-out",
                       "U+FFFF \xef\xbf\xbd, e-acute \xc3\xa9, snowman \xe2\x98\x83\n");
    assert_xp_contains(doc, "//testcase[2]/system-out", "]]> <b>&amp;</b> \"quoted\" 'single'\r\n");
    assert_xp_contains(doc, "//testcase[2]/system-out",
                       "--- journal: 2 requests ---\n#1 +0.010s GET /version -> 200 (300 bytes)\n");
    char *so = xp(doc, "//testcase[2]/system-out");
    assert_null(strstr(so, "\x1b")); /* colours dropped */
    xmlFree(so);

    /* an error: the scenario's first message as the attribute, all of them inside */
    assert_xp(doc, "//testcase[3]/@classname", "scenario");
    assert_xp(doc, "//testcase[3]/@name", "bad");
    assert_xp(doc, "//testcase[3]/error/@message",
              "scenarios/bad.json:3:1: expected ',' or '}' after object member, got '\"'");
    assert_xp_contains(doc, "//testcase[3]/error", "scenarios/bad.json: name: missing key\n");
    xmlFreeDoc(doc);
    free(x);
    free_cases(c);
}

static void test_junit_long_output_keeps_the_end(void **state)
{
    (void)state;
    struct report_case c[3];
    make_cases(c);
    size_t n = 3 * REPORT_XML_OUTPUT_MAX;
    char *big = malloc(n);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = i % 64 == 63 ? '\n' : 'a' + (char)(i / 64 % 26);
    memcpy(big + n - 6, "last!\n", 6);
    free(c[1].output);
    c[1].output = big;
    c[1].output_len = n;
    c[1].output_dropped = 7;
    char *x = junit_of(c, 3);
    xmlDocPtr doc = xmlReadMemory(x, (int)strlen(x), "junit.xml", "UTF-8",
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    assert_non_null(doc);
    assert_xp_contains(doc, "//testcase[2]/system-out",
                       "--- output: its last 65536 of 196615 bytes (the evidence folder has all) "
                       "---\n");
    assert_xp_contains(doc, "//testcase[2]/system-out", "last!\n");
    assert_true(strlen(x) < 2 * REPORT_XML_OUTPUT_MAX);
    xmlFreeDoc(doc);
    free(x);
    free_cases(c);
}

/* A string literal and its length (NULs inside included). */
#define T(s) s, sizeof s - 1

static void test_xml_text(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len;
        int attr;
        const char *out;
    } cases[] = {
        {T("a<b>&c\"d'e"), 0, "a&lt;b&gt;&amp;c\"d'e"},
        {T("a<b>&c\"d'e"), 1, "a&lt;b&gt;&amp;c&quot;d'e"},
        {T("l1\nl2\tx\ry"), 0, "l1\nl2\tx&#13;y"},
        {T("l1\nl2\tx\ry"), 1, "l1&#10;l2&#9;x&#13;y"},
        {T("\x01\x08\x0b\x1f\x7f"), 0, "\\x01\\x08\\x0b\\x1f\x7f"},
        {T("nul\0end"), 0, "nul\\x00end"},
        {T("\x1b[1;31mred\x1b[0m \x1b[K."), 0, "red ."},
        {T("\x1b(B esc"), 0, "\\x1b(B esc"},
        {T("\x1b[31"), 0, "\\x1b[31"},
        {T("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), 0, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"},
        {T("\xc0\xaf"), 0, "\xef\xbf\xbd\xef\xbf\xbd"},                 /* overlong '/' */
        {T("\xed\xa0\x80"), 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* a surrogate */
        {T("\xf4\x90\x80\x80"), 0,
         "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},             /* > U+10FFFF */
        {T("\xef\xbf\xbe|\xef\xbf\xbf"), 0, "\xef\xbf\xbd|\xef\xbf\xbd"}, /* U+FFFE, U+FFFF */
        {T("cut \xe2\x98"), 0, "cut \xef\xbf\xbd\xef\xbf\xbd"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = xml_text(cases[i].in, cases[i].len, cases[i].attr);
        if (strcmp(got, cases[i].out) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, got, cases[i].out);
        free(got);
    }
}

static void test_utf8_clean(void **state)
{
    (void)state;
    char *s = report_utf8_clean("ok \xc3\xa9 \xff x", 9);
    assert_string_equal(s, "ok \xc3\xa9 \xef\xbf\xbd x");
    free(s);
}

/* ---- the table ---- */

static char *table_of(struct report_case *c, size_t n, int width, int color)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    report_table(f, c, n, width, color, 3900);
    return take(f, &buf, &len);
}

static void test_table(void **state)
{
    (void)state;
    struct report_case c[3];
    make_cases(c);
    char *t = table_of(c, 3, 120, 0);
    const char *want =
        "SCENARIO                           EXPECTED                               OBSERVED       "
        "                         RESULT\n"
        "context-deadline-exceeded          exit 1, \"etcdserver: leader changed\"   exit 1 in "
        "1.234s, 12 requests           PASS\n"
        "context-deadline-exceeded-variant  exit 1, \"etcdserver: request timed...  exitCode: 0 "
        "(+1 more)                   FAIL\n"
        "bad                                -                                      "
        "scenarios/bad.json:3:1: expected ',...  ERROR\n"
        "\n"
        "FAIL context-deadline-exceeded-variant "
        "(scenarios/context-deadline-exceeded-variant.json, 2.5s)\n"
        "  exitCode 1: the command exited 0\n"
        "  outputContains \"etcdserver: request timed out\": not found in the output (412 "
        "bytes; last line: \"ERROR: <x> & y\")\n"
        "  evidence: /tmp/kubefault-run-x/context-deadline-exceeded-variant\n"
        "\n"
        "ERROR bad (scenarios/bad.json, 0ms)\n"
        "  scenarios/bad.json:3:1: expected ',' or '}' after object member, got '\"'\n"
        "  scenarios/bad.json: name: missing key\n"
        "\n"
        "3 scenarios in 3.9s: 1 passed, 1 failed, 1 error\n";
    if (strcmp(t, want) != 0)
        fail_msg("got:\n%s\nwant:\n%s", t, want);
    free(t);

    /* narrow: cells are cut with "...", never wider than asked (but 12 characters at least) */
    t = table_of(c, 3, 60, 0);
    for (const char *line = t; *line;) {
        size_t len = strcspn(line, "\n");
        if (len == 0 || strncmp(line, "  ", 2) == 0 || strncmp(line, "FAIL ", 5) == 0 ||
            strncmp(line, "ERROR ", 6) == 0 || strncmp(line, "3 scenarios", 11) == 0) {
            line += len + (line[len] == '\n');
            continue;
        }
        if (len > 33 + 2 + 12 + 2 + 12 + 2 + 6)
            fail_msg("line too wide (%zu): %.*s", len, (int)len, line);
        line += len + (line[len] == '\n');
    }
    assert_non_null(strstr(t, "exit 1, \"..."));
    free(t);

    /* colours on request only: the result column and the headings of the details */
    t = table_of(c, 3, 120, 1);
    assert_non_null(strstr(t, "\033[32mPASS\033[0m\n"));
    assert_non_null(strstr(t, "\033[31mFAIL\033[0m\n"));
    assert_non_null(strstr(t, "\033[33mERROR\033[0m\n"));
    assert_non_null(strstr(t, "\n\033[31mFAIL\033[0m context-deadline-exceeded-variant ("));
    free(t);
    free_cases(c);
}

static void test_use_color(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(report_use_color(f), 0); /* not a terminal */
    fclose(f);
    setenv("NO_COLOR", "1", 1);
    assert_int_equal(report_use_color(stdout), 0); /* whatever stdout is */
    unsetenv("NO_COLOR");
}

/* ---- JSON ---- */

static void test_json(void **state)
{
    (void)state;
    struct report_case c[3];
    make_cases(c);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(report_json(f, c, 3, 3900, "2026-01-02T03:04:05"), 0);
    take(f, &buf, &len);
    cJSON *doc = cJSON_Parse(buf);
    assert_non_null(doc);
    cJSON *sum = cJSON_GetObjectItemCaseSensitive(doc, "summary");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(sum, "total")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(sum, "passed")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(sum, "failed")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(sum, "errors")->valueint, 1);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(doc, "timestamp")->valuestring,
                        "2026-01-02T03:04:05");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(doc, "durationMs")->valueint, 3900);
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, "scenarios");
    assert_int_equal(cJSON_GetArraySize(arr), 3);
    cJSON *s1 = cJSON_GetArrayItem(arr, 1);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(s1, "result")->valuestring, "fail");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(s1, "name")->valuestring,
                        "etcd <timed out> & \"more\"");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(s1, "class")->valuestring, "wire");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(s1, "durationMs")->valueint, 2500);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(s1, "outputBytes")->valueint,
                     (int)(sizeof HOSTILE - 1));
    cJSON *ex = cJSON_GetObjectItemCaseSensitive(s1, "exit");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ex, "exited")));
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(ex, "code")->valueint, 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(ex, "signal")));
    cJSON *items = cJSON_GetObjectItemCaseSensitive(s1, "expectations");
    assert_int_equal(cJSON_GetArraySize(items), 3);
    cJSON *it = cJSON_GetArrayItem(items, 1);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(it, "kind")->valuestring,
                        "outputContains");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(it, "result")->valuestring, "fail");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(it, "observed")->valuestring, "not found");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(it, "expected")->valuestring,
                        "\"etcdserver: request timed out\"");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(s1, "evidence")->valuestring,
                        "/tmp/kubefault-run-x/context-deadline-exceeded-variant");
    cJSON *s2 = cJSON_GetArrayItem(arr, 2);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(s2, "result")->valuestring, "error");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(s2, "name")));
    assert_non_null(
        strstr(cJSON_GetObjectItemCaseSensitive(s2, "error")->valuestring, "name: missing key"));
    cJSON_Delete(doc);
    free(buf);
    free_cases(c);
}

/* ---- a skipped scenario (kubefault run --kubectl, no kubectl form) ---- */

static void test_skipped(void **state)
{
    (void)state;
    struct report_case c[3];
    make_cases(c);
    report_case_release(&c[1]); /* c[1]: skipped, nothing ran */
    c[1].file = strdup("scenarios/dial-tcp-xxxxxxxxxx-io-timeout.json");
    c[1].id = strdup("dial-tcp-xxxxxxxxxx-io-timeout");
    c[1].anchor = strdup("dial-tcp-xxxxxxxxxx-io-timeout");
    c[1].class_ = strdup("wire");
    c[1].status = REPORT_SKIP;
    c[1].skip_reason = strdup("no kubectl form");
    assert_string_equal(report_status_name(REPORT_SKIP), "SKIP");

    /* JUnit: counted, and only <skipped message="why"/> inside its testcase */
    char *x = junit_of(c, 2);
    xmlDocPtr doc = xmlReadMemory(x, (int)strlen(x), "junit.xml", "UTF-8",
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        fail_msg("libxml2 rejects the JUnit report:\n%s", x);
    assert_xp(doc, "/testsuites/testsuite/@tests", "2");
    assert_xp(doc, "/testsuites/testsuite/@failures", "0");
    assert_xp(doc, "/testsuites/testsuite/@errors", "0");
    assert_xp(doc, "/testsuites/testsuite/@skipped", "1");
    assert_xp(doc, "//testcase[2]/@name", "dial-tcp-xxxxxxxxxx-io-timeout");
    assert_xp(doc, "//testcase[2]/skipped/@message", "no kubectl form");
    assert_xp(doc, "count(//testcase[2]/*)", "1");
    xmlFreeDoc(doc);
    free(x);

    /* the table: a row that says why, no details heading, the summary counts it */
    char *t = table_of(c, 3, 120, 0);
    const char *row = "dial-tcp-xxxxxxxxxx-io-timeout  -                                        "
                      "skipped: no kubectl form                 SKIP\n";
    if (!strstr(t, row))
        fail_msg("no row\n%s\nin:\n%s", row, t);
    assert_null(strstr(t, "\nSKIP "));
    assert_non_null(strstr(t, "\n3 scenarios in 3.9s: 1 passed, 0 failed, 1 error, 1 skipped\n"));
    free(t);
    t = table_of(c, 3, 120, 1);
    assert_non_null(strstr(t, "\033[36mSKIP\033[0m\n"));
    free(t);
    /* without a skip the summary line is as it always was */
    t = table_of(c, 1, 120, 0);
    assert_non_null(strstr(t, "\n1 scenario in 3.9s: 1 passed, 0 failed, 0 errors\n"));
    free(t);

    /* JSON: "skip", its reason, and the summary's count */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(report_json(f, c, 3, 3900, "2026-01-02T03:04:05"), 0);
    take(f, &buf, &len);
    cJSON *jd = cJSON_Parse(buf);
    assert_non_null(jd);
    cJSON *sum = cJSON_GetObjectItemCaseSensitive(jd, "summary");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(sum, "skipped")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(sum, "passed")->valueint, 1);
    cJSON *s1 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(jd, "scenarios"), 1);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(s1, "result")->valuestring, "skip");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(s1, "skipReason")->valuestring,
                        "no kubectl form");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(s1, "command")));
    cJSON *s0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(jd, "scenarios"), 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(s0, "skipReason")));
    cJSON_Delete(jd);
    free(buf);
    free_cases(c);
}

/* ---- the journal ---- */

static void entry(struct journal *j, uint64_t seq, const char *method, const char *path, int code,
                  int complete, const char *rule, const char *note)
{
    struct journal_entry *e = journal_begin(j);
    e->seq = seq;
    e->conn_id = seq;
    e->t_ms = (int64_t)seq * 1001;
    snprintf(e->method, sizeof e->method, "%s", method);
    snprintf(e->path, sizeof e->path, "%s", path);
    snprintf(e->verb, sizeof e->verb, "get");
    if (rule) {
        snprintf(e->rule, sizeof e->rule, "%s", rule);
        snprintf(e->fault, sizeof e->fault, "error");
    }
    if (note)
        snprintf(e->note, sizeof e->note, "%s", note);
    journal_commit(j, e);
    if (code >= 0)
        journal_end(j, e, code, 42, complete, e->t_ms + 5);
}

static void test_journal_excerpt(void **state)
{
    (void)state;
    struct journal *j = journal_new(100, NULL);
    assert_non_null(j);
    for (uint64_t i = 1; i <= 60; i++)
        entry(j, i, "GET", "/api/v1/pods", 200, 1, NULL, NULL);
    entry(j, 61, "POST", "/api/v1/namespaces/ci/pods", 500, 1, "etcd", "etcd-leader-changed");
    entry(j, 62, "GET", "/api/v1/pods?watch=1", 200, 0, NULL, NULL);
    entry(j, 63, "GET", "/api/v1/pods?watch=1", -1, 0, NULL, NULL);
    char *x = report_journal_excerpt(j, REPORT_JOURNAL_EXCERPT);
    assert_non_null(x);
    size_t lines = 0;
    for (const char *p = x; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, REPORT_JOURNAL_EXCERPT);
    assert_true(strncmp(x, "#14 +14.014s GET /api/v1/pods -> 200 (42 bytes)\n", 48) == 0);
    assert_non_null(strstr(x, "#61 +61.061s POST /api/v1/namespaces/ci/pods -> 500 (42 bytes) "
                              "[rule etcd: error] etcd-leader-changed\n"));
    assert_non_null(strstr(x, "#62 +62.062s GET /api/v1/pods?watch=1 -> 200 (42 bytes, cut "
                              "short)\n"));
    assert_non_null(strstr(x, "#63 +63.063s GET /api/v1/pods?watch=1 -> open\n"));
    free(x);
    x = report_journal_excerpt(NULL, 50);
    assert_string_equal(x, "");
    free(x);

    /* every entry as a JSON line */
    char path[] = "/tmp/test_report_XXXXXX", err[256];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(report_journal_jsonl(j, path, err, sizeof err), 0);
    FILE *f = fopen(path, "r");
    char line[2048];
    size_t n = 0;
    while (fgets(line, sizeof line, f)) {
        cJSON *o = cJSON_Parse(line);
        assert_non_null(o);
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(o, "seq")->valueint, (int)n + 1);
        cJSON_Delete(o);
        n++;
    }
    fclose(f);
    assert_int_equal(n, 63);
    unlink(path);
    assert_int_equal(report_journal_jsonl(j, "/nonexistent/dir/j.jsonl", err, sizeof err), -1);
    assert_string_equal(err,
                        "cannot write \"/nonexistent/dir/j.jsonl\": No such file or directory");
    journal_free(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_junit_parses_strictly),
        cmocka_unit_test(test_junit_long_output_keeps_the_end),
        cmocka_unit_test(test_xml_text),
        cmocka_unit_test(test_utf8_clean),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_use_color),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_skipped),
        cmocka_unit_test(test_journal_excerpt),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    return rc;
}
