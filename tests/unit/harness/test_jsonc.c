/* test_jsonc.c -- tests harness/jsonc.c: comments blanked in place, syntax errors with true
 * line:col, typed getters, strict keys with a did-you-mean, durations */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "harness/diag.h"
#include "harness/jsonc.h"

/* ---- helpers ---- */

/* The one syntax error jsonc_parse() reports for text. */
static void assert_syntax(const char *text, const char *want)
{
    struct diag d;
    cJSON *j;

    diag_init(&d, "t.json");
    j = jsonc_parse(text, strlen(text), &d);
    if (j || d.n != 1)
        print_error("input: %s\n", text);
    assert_null(j);
    assert_int_equal(d.n, 1);
    if (strcmp(d.msgs[0], want) != 0)
        print_error("input: %s\n", text);
    assert_string_equal(d.msgs[0], want);
    diag_release(&d);
}

static cJSON *parse_ok(const char *text)
{
    struct diag d;
    cJSON *j;

    diag_init(&d, "t.json");
    j = jsonc_parse(text, strlen(text), &d);
    if (d.n)
        print_error("%s\n", d.msgs[0]);
    assert_int_equal(d.n, 0);
    assert_non_null(j);
    diag_release(&d);
    return j;
}

/* The duration error for s. */
static void assert_bad_duration(const char *s, const char *want)
{
    char err[256];
    int64_t ms = -7;

    assert_int_equal(jsonc_parse_duration(s, &ms, err, sizeof err), -1);
    assert_string_equal(err, want);
    assert_int_equal(ms, -7);
}

static int64_t duration(const char *s)
{
    char err[256] = "";
    int64_t ms = -1;

    if (jsonc_parse_duration(s, &ms, err, sizeof err) < 0)
        print_error("%s: %s\n", s, err);
    assert_true(ms >= 0);
    return ms;
}

/* ---- comments ---- */

static void comments_are_blanked_in_place(void **state)
{
    char t[] = "{ // one\n \"a\": /* two\n lines */ 1 }";
    const char *want = "{       \n \"a\":       \n          1 }";

    (void)state;
    assert_int_equal(jsonc_blank_comments(t, strlen(t), NULL), 0);
    assert_string_equal(t, want);
}

static void comment_markers_inside_strings_stay(void **state)
{
    char t[] = "{\"url\": \"http://x/*y*/\", \"q\": \"a\\\"//b\"} // end";
    const char *want = "{\"url\": \"http://x/*y*/\", \"q\": \"a\\\"//b\"}       ";

    (void)state;
    assert_int_equal(jsonc_blank_comments(t, strlen(t), NULL), 0);
    assert_string_equal(t, want);
}

static void unterminated_block_comment(void **state)
{
    char t[] = "{\"a\": 1 /* never closed\n}";
    size_t off = 0;

    (void)state;
    assert_int_equal(jsonc_blank_comments(t, strlen(t), &off), -1);
    assert_int_equal(off, 8);
    assert_syntax("{\n  \"a\": 1 /* never closed\n}",
                  "t.json:2:10: unterminated comment: \"/*\" without \"*/\"");
}

static void parses_with_comments(void **state)
{
    cJSON *j = parse_ok("// a scenario\n{\n  /* the name */ \"name\": \"x\", // trailing\n"
                        "  \"url\": \"http://a//b\"\n}\n");

    (void)state;
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "name")->valuestring, "x");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "url")->valuestring, "http://a//b");
    cJSON_Delete(j);
}

static void byte_order_mark_is_ignored(void **state)
{
    cJSON *j = parse_ok("\xEF\xBB\xBF{\"a\": 1}");

    (void)state;
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(j, "a")->valueint, 1);
    cJSON_Delete(j);
}

/* ---- syntax errors ---- */

static void trailing_commas(void **state)
{
    (void)state;
    assert_syntax("{\"a\": 1,}",
                  "t.json:1:8: trailing comma before '}': JSON allows none, remove it");
    assert_syntax("{\n  \"a\": [1, 2,\n  ]\n}",
                  "t.json:2:13: trailing comma before ']': JSON allows none, remove it");
}

static void missing_separators(void **state)
{
    (void)state;
    assert_syntax("{\n  \"a\": 1\n  \"b\": 2\n}",
                  "t.json:3:3: expected ',' or '}' after object member, got '\"'");
    assert_syntax("[1 2]", "t.json:1:4: expected ',' or ']' after array element, got '2'");
    assert_syntax("{\"a\" 1}", "t.json:1:6: expected ':' after key \"a\", got '1'");
    assert_syntax("{\"a\": }", "t.json:1:7: expected a value, got '}'");
}

static void keys_and_strings(void **state)
{
    (void)state;
    assert_syntax("{name: 1}", "t.json:1:2: keys need double quotes: write \"name\"");
    assert_syntax("{'name': 1}", "t.json:1:2: keys need double quotes, not single quotes");
    assert_syntax("{\"a\": 'x'}", "t.json:1:7: strings need double quotes, not single quotes");
    assert_syntax("{\"a\": \"abc}", "t.json:1:7: unterminated string");
    assert_syntax("{\"a\": \"abc\n}",
                  "t.json:1:7: unterminated string (a string cannot span lines; write a newline "
                  "as \\n)");
    assert_syntax("{\"a\": \"x\\qy\"}",
                  "t.json:1:9: invalid escape \"\\q\" in string (valid: \\\" \\\\ \\/ \\b \\f \\n "
                  "\\r \\t \\uXXXX)");
    assert_syntax("{\"a\": \"\\u12\"}", "t.json:1:8: invalid \\u escape: expected 4 hex digits");
    assert_syntax("{\"a\": \"a\tb\"}",
                  "t.json:1:9: byte 0x09 in a string: write it escaped (\\t, \\n, \\u00XX)");
    assert_syntax("{\"a\": 1, \"a\": 2}", "t.json:1:10: duplicate key \"a\" (first at 1:2)");
}

static void values(void **state)
{
    (void)state;
    assert_syntax("{\"a\": tru}",
                  "t.json:1:7: invalid value \"tru\" (expected a string in double quotes, a "
                  "number, an object, an array, true, false or null)");
    assert_syntax("{\"a\": 01}", "t.json:1:7: invalid number: no leading zeros allowed");
    assert_syntax("{\"a\": .5}",
                  "t.json:1:7: invalid number: write a digit before '.' (0.5, not .5)");
    assert_syntax("{\"a\": 1.}", "t.json:1:7: invalid number: expected a digit after '.'");
    assert_syntax("{\"a\": -}", "t.json:1:7: invalid number: expected a digit after '-'");
    assert_syntax("{\"at\": 250ms}",
                  "t.json:1:8: invalid value 250ms: a duration or other text is a string, write "
                  "\"250ms\"");
}

static void ends_and_extras(void **state)
{
    (void)state;
    assert_syntax("", "t.json:1:1: no JSON value in the file (expected an object)");
    assert_syntax("// only a comment\n",
                  "t.json:2:1: no JSON value in the file (expected an object)");
    assert_syntax("{\n  \"a\": {\n    \"b\": 1\n",
                  "t.json:4:1: unexpected end of file: expected ',' or '}' (the object opened at "
                  "2:8 is not closed)");
    assert_syntax("{\"a\": 1} x",
                  "t.json:1:10: unexpected 'x' after the end of the top-level value");
    assert_syntax("{\"a\": 1}}", "t.json:1:9: unexpected '}' after the end of the top-level value");
}

static void positions_stay_true_around_comments(void **state)
{
    (void)state;
    /* quotes in a comment do not open a string; the comma is where it is */
    assert_syntax("// it's \"quoted\"\n{\"a\": 1,}",
                  "t.json:2:8: trailing comma before '}': JSON allows none, remove it");
    /* a block comment spanning lines keeps them */
    assert_syntax("{ /* one\n two\n three */ \"a\" 1}",
                  "t.json:3:15: expected ':' after key \"a\", got '1'");
    /* "//" inside a string is text, and the error after it is counted right */
    assert_syntax("{\"url\": \"http://x\", \"b\": }", "t.json:1:26: expected a value, got '}'");
    /* columns count characters, not bytes */
    assert_syntax("{\"\xc3\xa4\": 1,}",
                  "t.json:1:8: trailing comma before '}': JSON allows none, remove it");
}

static void nesting_is_capped(void **state)
{
    char deep[2 * JSONC_MAX_DEPTH + 8];
    char want[128];
    size_t n = 0;

    (void)state;
    for (int i = 0; i <= JSONC_MAX_DEPTH; i++)
        deep[n++] = '[';
    for (int i = 0; i <= JSONC_MAX_DEPTH; i++)
        deep[n++] = ']';
    deep[n] = '\0';
    snprintf(want, sizeof want, "t.json:1:%d: nested too deeply (at most %d levels)",
             JSONC_MAX_DEPTH + 1, JSONC_MAX_DEPTH);
    assert_syntax(deep, want);
    deep[0] = ' ';
    deep[n - 1] = ' ';
    cJSON_Delete(parse_ok(deep));
}

static void text_need_not_end_in_nul(void **state)
{
    struct diag d;
    cJSON *j;
    const char text[] = "{\"a\": 1}garbage";

    (void)state;
    diag_init(&d, "t.json");
    j = jsonc_parse(text, 8, &d);
    assert_non_null(j);
    assert_int_equal(d.n, 0);
    cJSON_Delete(j);
    diag_release(&d);
}

/* ---- paths, types, getters ---- */

static void paths(void **state)
{
    char b[JSONC_PATH_MAX];

    (void)state;
    assert_string_equal(jsonc_path_key(b, sizeof b, "", "name"), "name");
    assert_string_equal(jsonc_path_key(b, sizeof b, "rules[0]", "fault"), "rules[0].fault");
    assert_string_equal(jsonc_path_key(b, sizeof b, "pods[0].containers", "svc-*"),
                        "pods[0].containers[\"svc-*\"]");
    assert_string_equal(jsonc_path_index(b, sizeof b, "rules", 12), "rules[12]");
}

static void typed_getters(void **state)
{
    cJSON *o = parse_ok("{\"s\": \"x\", \"n\": 3.5, \"i\": 300, \"b\": true, \"o\": {}, \"a\": [],"
                        " \"big\": 1e300, \"d\": \"1m30s\", \"dn\": 250}");
    struct diag d;
    const char *s = NULL;
    const cJSON *v = NULL;
    int64_t i = 0;
    double x = 0;
    int b = 0;

    (void)state;
    diag_init(&d, "t.json");
    assert_int_equal(jsonc_string(o, "s", "rules[0]", &d, &s), 1);
    assert_string_equal(s, "x");
    assert_int_equal(jsonc_string(o, "missing", "rules[0]", &d, &s), 0);
    assert_int_equal(jsonc_string(NULL, "s", "rules[0]", &d, &s), 0);
    assert_int_equal(jsonc_bool(o, "b", "", &d, &b), 1);
    assert_true(b);
    assert_int_equal(jsonc_object(o, "o", "", &d, &v), 1);
    assert_int_equal(jsonc_array(o, "a", "", &d, &v), 1);
    assert_int_equal(jsonc_number(o, "n", "", &d, 0, 10, &x), 1);
    assert_int_equal(jsonc_duration(o, "d", "", &d, &i), 1);
    assert_int_equal(i, 90000);
    assert_int_equal(d.n, 0);

    assert_int_equal(jsonc_string(o, "n", "rules[0]", &d, &s), -1);
    assert_int_equal(jsonc_int(o, "n", "x", &d, 0, 255, &i), -1);
    assert_int_equal(jsonc_int(o, "i", "x", &d, 0, 255, &i), -1);
    assert_int_equal(jsonc_int(o, "s", "x", &d, 1, INT64_MAX, &i), -1);
    assert_int_equal(jsonc_int(o, "big", "x", &d, 0, INT64_MAX, &i), -1);
    assert_int_equal(jsonc_bool(o, "s", "x", &d, &b), -1);
    assert_int_equal(jsonc_object(o, "a", "x", &d, &v), -1);
    assert_int_equal(jsonc_array(o, "o", "x", &d, &v), -1);
    assert_int_equal(jsonc_number(o, "i", "x", &d, 0, 1, &x), -1);
    assert_int_equal(jsonc_duration(o, "dn", "x", &d, &i), -1);
    assert_int_equal(jsonc_duration(o, "b", "x", &d, &i), -1);
    assert_int_equal(d.n, 11);
    assert_string_equal(d.msgs[0], "t.json: rules[0].n: expected a string, got number");
    assert_string_equal(d.msgs[1], "t.json: x.n: expected an integer from 0 to 255, got 3.5");
    assert_string_equal(d.msgs[2], "t.json: x.i: expected an integer from 0 to 255, got 300");
    assert_string_equal(d.msgs[3], "t.json: x.s: expected an integer of at least 1, got string");
    assert_string_equal(d.msgs[4], "t.json: x.big: expected an integer of at least 0, got 1e+300");
    assert_string_equal(d.msgs[5], "t.json: x.s: expected true or false, got string");
    assert_string_equal(d.msgs[6], "t.json: x.a: expected an object, got array");
    assert_string_equal(d.msgs[7], "t.json: x.o: expected an array, got object");
    assert_string_equal(d.msgs[8], "t.json: x.i: expected a number from 0 to 1, got 300");
    assert_string_equal(d.msgs[9],
                        "t.json: x.dn: a duration needs a unit, e.g. \"250ms\" or \"2s\"");
    assert_string_equal(d.msgs[10], "t.json: x.b: expected a duration such as \"2s\", got boolean");
    diag_release(&d);
    cJSON_Delete(o);
}

static void show_is_bounded_and_escaped(void **state)
{
    char b[JSONC_SHOW_BUF], big[200];

    (void)state;
    assert_string_equal(jsonc_show(b, sizeof b, "a\"b\\c\nd"), "a\\\"b\\\\c.d");
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    jsonc_show(b, sizeof b, big);
    assert_int_equal(strlen(b), JSONC_SHOW_MAX + 3);
    assert_string_equal(b + JSONC_SHOW_MAX, "...");
    assert_string_equal(jsonc_show(b, 8, "abcdefghij"), "ab...");
}

/* ---- strict keys ---- */

static const char *const RULE_KEYS[] = {"name",     "match",   "trigger", "requireState",
                                        "setState", "enabled", "fault",   NULL};

static void unknown_keys(void **state)
{
    cJSON *o = parse_ok("{\"fualt\": 1, \"match\": 2, \"zzzzzz\": 3, \"Match\": 4}");
    struct diag d;

    (void)state;
    diag_init(&d, "t.json");
    assert_int_equal(jsonc_check_keys(o, "rules[2]", RULE_KEYS, &d), -1);
    assert_int_equal(d.n, 3);
    assert_string_equal(d.msgs[0],
                        "t.json: rules[2]: unknown key \"fualt\" (accepted: name, match, trigger, "
                        "requireState, setState, enabled, fault); did you mean \"fault\"?");
    assert_string_equal(d.msgs[1],
                        "t.json: rules[2]: unknown key \"zzzzzz\" (accepted: name, match, "
                        "trigger, requireState, setState, enabled, fault)");
    assert_string_equal(d.msgs[2],
                        "t.json: rules[2]: unknown key \"Match\" (accepted: name, match, trigger, "
                        "requireState, setState, enabled, fault); did you mean \"match\"?");
    diag_release(&d);

    static const char *const none[] = {NULL};
    diag_init(&d, "t.json");
    assert_int_equal(jsonc_check_keys(o, "x", none, &d), -1);
    assert_string_equal(d.msgs[0], "t.json: x: unknown key \"fualt\" (this object takes no keys)");
    diag_release(&d);

    static const char *const all[] = {"fualt", "match", "zzzzzz", "Match", NULL};
    diag_init(&d, "t.json");
    assert_int_equal(jsonc_check_keys(o, "x", all, &d), 0);
    assert_int_equal(d.n, 0);
    diag_release(&d);
    cJSON_Delete(o);
}

static void suggestions(void **state)
{
    static const char *const verbs[] = {"get", "list", "watch", "create", NULL};

    (void)state;
    assert_int_equal(jsonc_edit_distance("fualt", "fault"), 1); /* a swap counts once */
    assert_int_equal(jsonc_edit_distance("", "abc"), 3);
    assert_int_equal(jsonc_edit_distance("kitten", "sitting"), 3);
    assert_string_equal(jsonc_suggest("lsit", verbs), "list");
    assert_string_equal(jsonc_suggest("creat", verbs), "create");
    assert_string_equal(jsonc_suggest("wtach", verbs), "watch");
    assert_null(jsonc_suggest("delete", verbs));
    assert_null(jsonc_suggest("x", verbs));   /* "x" -> "get" is no resemblance */
    assert_null(jsonc_suggest("get", verbs)); /* an exact match needs no suggestion */
}

/* ---- durations ---- */

static void durations(void **state)
{
    (void)state;
    assert_int_equal(duration("250ms"), 250);
    assert_int_equal(duration("2s"), 2000);
    assert_int_equal(duration("1m30s"), 90000);
    assert_int_equal(duration("1h"), 3600000);
    assert_int_equal(duration("1.5s"), 1500);
    assert_int_equal(duration("0.25s"), 250);
    assert_int_equal(duration("0s"), 0);
    assert_int_equal(duration("1h1m1s1ms"), 3661001);
    assert_int_equal(duration("720h"), JSONC_DURATION_MAX_MS);
}

static void bad_durations(void **state)
{
    (void)state;
    assert_bad_duration("250", "a duration needs a unit, e.g. \"250ms\" or \"2s\"");
    assert_bad_duration("1.5", "a duration needs a unit, e.g. \"250ms\" or \"2s\"");
    assert_bad_duration("", "empty duration: write e.g. \"250ms\" or \"2s\"");
    assert_bad_duration("2sec", "unknown unit \"sec\" in duration \"2sec\" (known: ms, s, m, h)");
    assert_bad_duration("10us", "unknown unit \"us\" in duration \"10us\" (known: ms, s, m, h)");
    assert_bad_duration("1m30", "duration \"1m30\": the last number has no unit (ms, s, m or h)");
    assert_bad_duration("-1s", "duration \"-1s\": a duration cannot be negative");
    assert_bad_duration("+1s", "duration \"+1s\": write it without a sign");
    assert_bad_duration("1.5ms", "duration \"1.5ms\" is not a whole number of milliseconds");
    assert_bad_duration("721h", "duration \"721h\" is too long (max 720h)");
    assert_bad_duration("99999999999999999999s",
                        "duration \"99999999999999999999s\" is too long (max 720h)");
    assert_bad_duration(
        "2 s", "invalid duration \"2 s\" (expected e.g. \"250ms\", \"2s\", \"1m30s\" or \"1.5s\")");
    assert_bad_duration(
        "s", "invalid duration \"s\" (expected e.g. \"250ms\", \"2s\", \"1m30s\" or \"1.5s\")");
    assert_bad_duration("0.0000000001s", "duration \"0.0000000001s\": too many decimals");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(comments_are_blanked_in_place),
        cmocka_unit_test(comment_markers_inside_strings_stay),
        cmocka_unit_test(unterminated_block_comment),
        cmocka_unit_test(parses_with_comments),
        cmocka_unit_test(byte_order_mark_is_ignored),
        cmocka_unit_test(trailing_commas),
        cmocka_unit_test(missing_separators),
        cmocka_unit_test(keys_and_strings),
        cmocka_unit_test(values),
        cmocka_unit_test(ends_and_extras),
        cmocka_unit_test(positions_stay_true_around_comments),
        cmocka_unit_test(nesting_is_capped),
        cmocka_unit_test(text_need_not_end_in_nul),
        cmocka_unit_test(paths),
        cmocka_unit_test(typed_getters),
        cmocka_unit_test(show_is_bounded_and_escaped),
        cmocka_unit_test(unknown_keys),
        cmocka_unit_test(suggestions),
        cmocka_unit_test(durations),
        cmocka_unit_test(bad_durations),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
