/* test_patch.c -- merge, JSON and strategic merge patches: kubectl's shapes, kube's errors, fuzz */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "mockapi/kube/patch.h"

enum which { MERGE, JSONP, SMP };

static cJSON *parse_json(const char *text)
{
    cJSON *j = cJSON_Parse(text);

    if (!j)
        fail_msg("bad test JSON: %s", text);
    return j;
}

static int run(enum which w, cJSON *target, const cJSON *patch, const char *kind, char *err,
               size_t errlen)
{
    switch (w) {
    case MERGE:
        return kpatch_merge(target, patch, err, errlen);
    case JSONP:
        return kpatch_json(target, patch, err, errlen);
    default:
        return kpatch_strategic(target, patch, kind, err, errlen);
    }
}

/* Apply and compare with want (object key order ignored, list order significant). */
static void check_ok(enum which w, const char *kind, const char *target, const char *patch,
                     const char *want)
{
    cJSON *t = parse_json(target), *p = parse_json(patch), *e = parse_json(want);
    char err[1024] = "";
    int rc = run(w, t, p, kind, err, sizeof(err));

    if (rc != 0)
        fail_msg("patch %s failed (%d): %s", patch, rc, err);
    if (!cJSON_Compare(t, e, 1)) {
        char *got = cJSON_PrintUnformatted(t);
        print_error("target: %s\npatch:  %s\nwant:   %s\ngot:    %s\n", target, patch, want, got);
        free(got);
        fail();
    }
    cJSON_Delete(t);
    cJSON_Delete(p);
    cJSON_Delete(e);
}

/* Apply, expect failure with exactly this status and text, and an untouched target. */
static void check_err(enum which w, const char *kind, const char *target, const char *patch,
                      int want_rc, const char *want_err)
{
    cJSON *t = parse_json(target), *p = parse_json(patch), *orig = parse_json(target);
    char err[2048] = "";
    int rc = run(w, t, p, kind, err, sizeof(err));

    if (rc != want_rc)
        fail_msg("patch %s: rc %d, want %d (err: %s)", patch, rc, want_rc, err);
    assert_string_equal(err, want_err);
    assert_true(cJSON_Compare(t, orig, 1));
    cJSON_Delete(t);
    cJSON_Delete(p);
    cJSON_Delete(orig);
}

#define POD                                                                                        \
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p1\",\"namespace\":"         \
    "\"default\",\"labels\":{\"run\":\"p1\"},\"annotations\":{\"x\":\"1\",\"y\":\"2\"}},"          \
    "\"spec\":{\"containers\":[{\"name\":\"c1\",\"image\":\"nginx:1.25\",\"ports\":[{"             \
    "\"containerPort\":80,\"protocol\":\"TCP\"}],\"env\":[{\"name\":\"A\",\"value\":\"1\"}]},"     \
    "{\"name\":\"c2\",\"image\":\"busybox\",\"args\":[\"sleep\",\"1\"]}],\"restartPolicy\":"       \
    "\"Never\"},\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\","            \
    "\"status\":\"True\"},{\"type\":\"PodScheduled\",\"status\":\"True\"}]}}"

/* ---- JSON merge patch (RFC 7386) ---------------------------------------------------------------
 */

static void test_merge_kubectl_label_annotate(void **state)
{
    (void)state;
    /* kubectl label pod p1 a=b */
    check_ok(MERGE, NULL, "{\"metadata\":{\"name\":\"p1\"}}",
             "{\"metadata\":{\"labels\":{\"a\":\"b\"}}}",
             "{\"metadata\":{\"name\":\"p1\",\"labels\":{\"a\":\"b\"}}}");
    check_ok(MERGE, NULL, "{\"metadata\":{\"labels\":{\"run\":\"p1\"}}}",
             "{\"metadata\":{\"labels\":{\"a\":\"b\"}}}",
             "{\"metadata\":{\"labels\":{\"run\":\"p1\",\"a\":\"b\"}}}");
    /* kubectl annotate pod p1 x- */
    check_ok(MERGE, NULL, "{\"metadata\":{\"annotations\":{\"x\":\"1\",\"y\":\"2\"}}}",
             "{\"metadata\":{\"annotations\":{\"x\":null}}}",
             "{\"metadata\":{\"annotations\":{\"y\":\"2\"}}}");
    /* removing what is not there is fine */
    check_ok(MERGE, NULL, "{\"metadata\":{}}", "{\"metadata\":{\"annotations\":{\"x\":null}}}",
             "{\"metadata\":{\"annotations\":{}}}");
}

static void test_merge_rfc7386_vectors(void **state)
{
    /* RFC 7386 appendix A, each wrapped in {"v": ...} so non-object documents can take part */
    static const char *const v[][3] = {
        {"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
        {"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
        {"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
        {"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
        {"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
        {"{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
        {"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}"},
        {"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
        {"[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"},
        {"{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"},
        {"{\"a\":\"foo\"}", "\"bar\"", "\"bar\""},
        {"{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"},
        {"[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"},
        {"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
        /* arrays are replaced whole, nulls inside them kept */
        {"{\"a\":[1,2]}", "{\"a\":[null,{\"b\":null}]}", "{\"a\":[null,{\"b\":null}]}"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char t[256], p[256], w[256];
        snprintf(t, sizeof(t), "{\"v\":%s}", v[i][0]);
        snprintf(p, sizeof(p), "{\"v\":%s}", v[i][1]);
        snprintf(w, sizeof(w), "{\"v\":%s}", v[i][2]);
        check_ok(MERGE, NULL, t, p, w);
    }
    /* the null patch deletes the member */
    check_ok(MERGE, NULL, "{\"v\":{\"a\":\"foo\"},\"w\":1}", "{\"v\":null}", "{\"w\":1}");
}

static void test_merge_errors(void **state)
{
    char deep[4096];
    size_t n = 0;
    (void)state;

    check_err(MERGE, NULL, POD, "null", KPATCH_EBADREQUEST, "Invalid JSON Patch");
    check_err(MERGE, NULL, POD, "[1]", KPATCH_EBADREQUEST, "Invalid JSON Patch");
    check_err(MERGE, NULL, POD, "\"x\"", KPATCH_EBADREQUEST, "Invalid JSON Patch");
    for (int i = 0; i <= KPATCH_MAX_DEPTH + 1; i++)
        n += (size_t)snprintf(deep + n, sizeof(deep) - n, "{\"a\":");
    n += (size_t)snprintf(deep + n, sizeof(deep) - n, "1");
    for (int i = 0; i <= KPATCH_MAX_DEPTH + 1; i++)
        n += (size_t)snprintf(deep + n, sizeof(deep) - n, "}");
    check_err(MERGE, NULL, POD, deep, KPATCH_EBADREQUEST,
              "patch is nested too deeply (max 100 levels)");
    {
        char err[8];
        cJSON *p = parse_json("[]");
        assert_int_equal(kpatch_merge(NULL, p, err, sizeof(err)), KPATCH_EINTERNAL);
        assert_int_equal(kpatch_merge(p, NULL, NULL, 0), KPATCH_EBADREQUEST);
        cJSON_Delete(p);
    }
}

/* ---- JSON patch (RFC 6902, as kube's json-patch v4 applies it) ----------------------------------
 */

static void test_json_rfc6902_examples(void **state)
{
    (void)state;
    /* RFC 6902 appendix A */
    check_ok(JSONP, NULL, "{\"foo\":\"bar\"}",
             "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
             "{\"baz\":\"qux\",\"foo\":\"bar\"}");
    check_ok(JSONP, NULL, "{\"foo\":[\"bar\",\"baz\"]}",
             "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
             "{\"foo\":[\"bar\",\"qux\",\"baz\"]}");
    check_ok(JSONP, NULL, "{\"baz\":\"qux\",\"foo\":\"bar\"}",
             "[{\"op\":\"remove\",\"path\":\"/baz\"}]", "{\"foo\":\"bar\"}");
    check_ok(JSONP, NULL, "{\"foo\":[\"bar\",\"qux\",\"baz\"]}",
             "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]", "{\"foo\":[\"bar\",\"baz\"]}");
    check_ok(JSONP, NULL, "{\"baz\":\"qux\",\"foo\":\"bar\"}",
             "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
             "{\"baz\":\"boo\",\"foo\":\"bar\"}");
    check_ok(JSONP, NULL,
             "{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
             "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
             "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}");
    check_ok(JSONP, NULL, "{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
             "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
             "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}");
    check_ok(JSONP, NULL, "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
             "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},"
             "{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
             "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}");
    check_ok(JSONP, NULL, "{\"foo\":\"bar\"}",
             "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
             "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}");
    check_ok(JSONP, NULL, "{\"/\":9,\"~1\":10}",
             "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10},"
             "{\"op\":\"replace\",\"path\":\"/~1\",\"value\":8}]",
             "{\"/\":8,\"~1\":10}");
    check_ok(JSONP, NULL, "{\"foo\":[\"bar\"]}",
             "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
             "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}");
    check_ok(
        JSONP, NULL, "{\"a\":{\"b\":[1]}}",
        "[{\"op\":\"copy\",\"from\":\"/a/b\",\"path\":\"/c\"},{\"op\":\"add\",\"path\":\"/c/0\","
        "\"value\":0}]",
        "{\"a\":{\"b\":[1]},\"c\":[0,1]}");
    /* add replaces an existing member */
    check_ok(JSONP, NULL, "{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/a\",\"value\":2}]",
             "{\"a\":2}");
    /* a missing value adds null */
    check_ok(JSONP, NULL, "{}", "[{\"op\":\"add\",\"path\":\"/a\"}]", "{\"a\":null}");
    /* test null against a missing member passes */
    check_ok(JSONP, NULL, "{}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":null}]", "{}");
    /* the whole document */
    check_ok(JSONP, NULL, "{\"a\":1}",
             "[{\"op\":\"test\",\"path\":\"\",\"value\":{\"a\":1}},"
             "{\"op\":\"replace\",\"path\":\"\",\"value\":{\"b\":2}}]",
             "{\"b\":2}");
    check_ok(JSONP, NULL, "{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":5}]",
             "{\"a\":1}");
    /* empty and null patches change nothing */
    check_ok(JSONP, NULL, "{\"a\":1}", "[]", "{\"a\":1}");
    check_ok(JSONP, NULL, "{\"a\":1}", "null", "{\"a\":1}");
}

static void test_json_kube_leniencies(void **state)
{
    (void)state;
    /* negative indices count from the end */
    check_ok(JSONP, NULL, "{\"a\":[1,2,3]}", "[{\"op\":\"remove\",\"path\":\"/a/-1\"}]",
             "{\"a\":[1,2]}");
    check_ok(JSONP, NULL, "{\"a\":[1,2,3]}",
             "[{\"op\":\"replace\",\"path\":\"/a/-3\",\"value\":0}]", "{\"a\":[0,2,3]}");
    check_ok(JSONP, NULL, "{\"a\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/a/-1\",\"value\":9}]",
             "{\"a\":[1,2,9]}");
    check_ok(JSONP, NULL, "{\"a\":[[1,2]]}", "[{\"op\":\"add\",\"path\":\"/a/-1/0\",\"value\":0}]",
             "{\"a\":[[0,1,2]]}");
    /* replace of a missing member adds it, copy of a missing member copies null */
    check_ok(JSONP, NULL, "{\"a\":{}}", "[{\"op\":\"replace\",\"path\":\"/a/b\",\"value\":1}]",
             "{\"a\":{\"b\":1}}");
    check_ok(JSONP, NULL, "{\"a\":{}}", "[{\"op\":\"copy\",\"from\":\"/a/x\",\"path\":\"/a/y\"}]",
             "{\"a\":{\"y\":null}}");
    /* "+1" is an index to strconv.Atoi */
    check_ok(JSONP, NULL, "{\"a\":[1,2]}", "[{\"op\":\"remove\",\"path\":\"/a/+1\"}]",
             "{\"a\":[1]}");
    /* kubectl patch --type=json on a pod */
    check_ok(JSONP, NULL, "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"a\"}]}}",
             "[{\"op\":\"replace\",\"path\":\"/spec/containers/0/image\",\"value\":\"b\"}]",
             "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"b\"}]}}");
    check_ok(JSONP, NULL, "{\"metadata\":{\"labels\":{\"app.kubernetes.io/name\":\"x\"}}}",
             "[{\"op\":\"remove\",\"path\":\"/metadata/labels/app.kubernetes.io~1name\"}]",
             "{\"metadata\":{\"labels\":{}}}");
}

static void test_json_errors(void **state)
{
    (void)state;
    check_err(JSONP, NULL, POD, "[{\"op\":\"test\",\"path\":\"/metadata/name\",\"value\":\"p2\"}]",
              KPATCH_EINVALID, "testing value /metadata/name failed: test failed");
    check_err(JSONP, NULL, "{\"a\":\"10\"}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":10}]",
              KPATCH_EINVALID, "testing value /a failed: test failed");
    check_err(JSONP, NULL, "{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/a\"}]", KPATCH_EINVALID,
              "testing value /a failed: test failed");
    check_err(JSONP, NULL, "{\"a\":1}", "[{\"op\":\"test\",\"path\":\"\",\"value\":{}}]",
              KPATCH_EINVALID, "testing value  failed: test failed");
    check_err(JSONP, NULL, "{\"a\":{}}", "[{\"op\":\"test\",\"path\":\"/x/y\",\"value\":1}]",
              KPATCH_EINVALID,
              "test operation does not apply: is missing path: /x/y: missing value");
    check_err(JSONP, NULL, "{\"a\":[1]}", "[{\"op\":\"test\",\"path\":\"/a/7\",\"value\":1}]",
              KPATCH_EINVALID,
              "error in test for path: '/a/7': Unable to access invalid index: 7: invalid index "
              "referenced");
    check_err(JSONP, NULL, POD, "[{\"op\":\"add\",\"path\":\"/a/b/c\",\"value\":1}]",
              KPATCH_EINVALID,
              "add operation does not apply: doc is missing path: \"/a/b/c\": missing value");
    check_err(JSONP, NULL, POD, "[{\"op\":\"add\",\"path\":\"\",\"value\":1}]", KPATCH_EINVALID,
              "add operation does not apply: doc is missing path: \"\": missing value");
    check_err(JSONP, NULL, POD, "[{\"op\":\"add\",\"path\":\"metadata\",\"value\":1}]",
              KPATCH_EINVALID,
              "add operation does not apply: doc is missing path: \"metadata\": missing value");
    check_err(
        JSONP, NULL, POD, "[{\"op\":\"add\",\"path\":\"/metadata/name/x\",\"value\":1}]",
        KPATCH_EINVALID,
        "add operation does not apply: doc is missing path: \"/metadata/name/x\": missing value");
    check_err(
        JSONP, NULL, "{\"a\":[]}", "[{\"op\":\"add\",\"path\":\"/a/x\",\"value\":1}]",
        KPATCH_EINVALID,
        "error in add for path: '/a/x': value was not a proper array index: 'x': strconv.Atoi: "
        "parsing \"x\": invalid syntax");
    check_err(JSONP, NULL, "{\"a\":[]}", "[{\"op\":\"add\",\"path\":\"/a/1\",\"value\":1}]",
              KPATCH_EINVALID,
              "error in add for path: '/a/1': Unable to access invalid index: 1: invalid index "
              "referenced");
    check_err(
        JSONP, NULL, "{\"a\":[]}",
        "[{\"op\":\"add\",\"path\":\"/a/99999999999999999999\",\"value\":1}]", KPATCH_EINVALID,
        "error in add for path: '/a/99999999999999999999': value was not a proper array index: "
        "'99999999999999999999': strconv.Atoi: parsing \"99999999999999999999\": value out of "
        "range");
    check_err(
        JSONP, NULL, POD, "[{\"op\":\"remove\",\"path\":\"/metadata/labels/x\"}]", KPATCH_EINVALID,
        "error in remove for path: '/metadata/labels/x': Unable to remove nonexistent key: x: "
        "missing value");
    check_err(JSONP, NULL, POD, "[{\"op\":\"remove\",\"path\":\"/spec/containers/5\"}]",
              KPATCH_EINVALID,
              "error in remove for path: '/spec/containers/5': Unable to access invalid index: 5: "
              "invalid index referenced");
    check_err(JSONP, NULL, POD, "[{\"op\":\"remove\",\"path\":\"/spec/containers/-\"}]",
              KPATCH_EINVALID,
              "error in remove for path: '/spec/containers/-': strconv.Atoi: parsing \"-\": "
              "invalid syntax");
    check_err(JSONP, NULL, POD, "[{\"op\":\"remove\",\"path\":\"/nope/x\"}]", KPATCH_EINVALID,
              "remove operation does not apply: doc is missing path: \"/nope/x\": missing value");
    check_err(JSONP, NULL, "{\"a\":[1]}", "[{\"op\":\"replace\",\"path\":\"/a/9\",\"value\":1}]",
              KPATCH_EINVALID,
              "replace operation does not apply: doc is missing key: /a/9: missing value");
    check_err(JSONP, NULL, "{\"a\":[1]}", "[{\"op\":\"replace\",\"path\":\"/b/c\",\"value\":1}]",
              KPATCH_EINVALID,
              "replace operation does not apply: doc is missing path: /b/c: missing value");
    check_err(JSONP, NULL, POD, "[{\"op\":\"frob\",\"path\":\"/a\"}]", KPATCH_EINVALID,
              "Unexpected kind: frob");
    check_err(JSONP, NULL, POD, "[{\"path\":\"/a\"}]", KPATCH_EINVALID, "Unexpected kind: unknown");
    check_err(JSONP, NULL, POD, "[null]", KPATCH_EINVALID, "Unexpected kind: unknown");
    check_err(JSONP, NULL, POD, "[{\"op\":\"add\",\"value\":1}]", KPATCH_EINVALID,
              "add operation failed to decode path: missing value");
    check_err(
        JSONP, NULL, POD, "[{\"op\":\"replace\",\"value\":1}]", KPATCH_EINVALID,
        "replace operation failed to decode path: operation missing path field: missing value");
    check_err(
        JSONP, NULL, POD, "[{\"op\":\"replace\",\"path\":7,\"value\":1}]", KPATCH_EINVALID,
        "replace operation failed to decode path: json: cannot unmarshal number into Go value "
        "of type string");
    check_err(JSONP, NULL, POD, "[{\"op\":\"move\",\"path\":\"/a\"}]", KPATCH_EINVALID,
              "move operation failed to decode from: operation, missing from field: missing value");
    check_err(JSONP, NULL, POD, "[{\"op\":\"move\",\"from\":\"/metadata/zz\",\"path\":\"/a\"}]",
              KPATCH_EINVALID,
              "error in move for path: 'zz': Unable to remove nonexistent key: zz: missing value");
    check_err(JSONP, NULL, POD,
              "[{\"op\":\"move\",\"from\":\"/metadata\",\"path\":\"/metadata/x\"}]",
              KPATCH_EINVALID,
              "move operation does not apply: doc is missing destination path: /metadata/x: "
              "missing value");
    check_err(JSONP, NULL, POD, "[{\"op\":\"copy\",\"from\":\"/zz/a\",\"path\":\"/a\"}]",
              KPATCH_EINVALID,
              "copy operation does not apply: doc is missing from path: /zz/a: missing value");
    check_err(
        JSONP, NULL, POD, "[{\"op\":\"copy\",\"from\":\"/metadata\",\"path\":\"/q/r\"}]",
        KPATCH_EINVALID,
        "copy operation does not apply: doc is missing destination path: /q/r: missing value");
    /* atomic: the first operation applied, the second failed, nothing changed */
    check_err(
        JSONP, NULL, POD,
        "[{\"op\":\"add\",\"path\":\"/metadata/labels/new\",\"value\":\"1\"},"
        "{\"op\":\"remove\",\"path\":\"/metadata/labels/absent\"}]",
        KPATCH_EINVALID,
        "error in remove for path: '/metadata/labels/absent': Unable to remove nonexistent key: "
        "absent: missing value");
    /* bodies that are not a list of operations */
    check_err(JSONP, NULL, POD, "{\"op\":\"add\"}", KPATCH_EBADREQUEST,
              "json: cannot unmarshal object into Go value of type jsonpatch.Patch");
    check_err(JSONP, NULL, POD, "\"x\"", KPATCH_EBADREQUEST,
              "json: cannot unmarshal string into Go value of type jsonpatch.Patch");
    check_err(JSONP, NULL, POD, "[{\"op\":\"add\",\"path\":\"/a\",\"value\":1},3]",
              KPATCH_EBADREQUEST,
              "json: cannot unmarshal number into Go value of type jsonpatch.Operation");
}

static void test_json_too_many_ops(void **state)
{
    cJSON *ops = cJSON_CreateArray(), *t = parse_json("{\"a\":1}");
    char err[256];
    (void)state;

    for (int i = 0; i < KPATCH_MAX_OPS; i++) {
        cJSON *op = cJSON_CreateObject();
        cJSON_AddStringToObject(op, "op", "test");
        cJSON_AddStringToObject(op, "path", "/a");
        cJSON_AddNumberToObject(op, "value", 1);
        cJSON_AddItemToArray(ops, op);
    }
    assert_int_equal(kpatch_json(t, ops, err, sizeof(err)), 0);
    cJSON_AddItemToArray(ops, cJSON_CreateObject());
    assert_int_equal(kpatch_json(t, ops, err, sizeof(err)), KPATCH_ETOOLARGE);
    assert_string_equal(err, "The allowed maximum operations in a JSON patch is 10000, got 10001");
    cJSON_Delete(ops);
    cJSON_Delete(t);
}

/* ---- strategic merge patch ---------------------------------------------------------------------
 */

static void test_smp_kubectl_label_annotate(void **state)
{
    (void)state;
    check_ok(SMP, "Pod", "{\"metadata\":{\"name\":\"p1\"}}",
             "{\"metadata\":{\"labels\":{\"a\":\"b\"}}}",
             "{\"metadata\":{\"name\":\"p1\",\"labels\":{\"a\":\"b\"}}}");
    check_ok(SMP, "Pod", "{\"metadata\":{\"annotations\":{\"x\":\"1\",\"y\":\"2\"}}}",
             "{\"metadata\":{\"annotations\":{\"x\":null}}}",
             "{\"metadata\":{\"annotations\":{\"y\":\"2\"}}}");
    /* a null for something that is not there is dropped, not stored */
    check_ok(SMP, "Pod", "{\"metadata\":{}}",
             "{\"metadata\":{\"annotations\":{\"x\":null},\"k\":null}}",
             "{\"metadata\":{\"annotations\":{}}}");
}

#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

static void test_smp_kubectl_apply_image_change(void **state)
{
    (void)state;
    /* kubectl apply -f pod.yaml after changing c1's image (what kubectl 1.32 sends) */
    check_ok(
        SMP, "Pod", POD,
        "{\"metadata\":{\"annotations\":{\"" LAST_APPLIED "\":\"{}\\n\"}},"
        "\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"c1\"},{\"name\":\"c2\"}],"
        "\"containers\":[{\"image\":\"nginx:1.26\",\"name\":\"c1\"}]}}",
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p1\",\"namespace\":"
        "\"default\",\"labels\":{\"run\":\"p1\"},\"annotations\":{\"x\":\"1\",\"y\":\"2\","
        "\"" LAST_APPLIED
        "\":\"{}\\n\"}},\"spec\":{\"containers\":[{\"name\":\"c1\",\"image\":\"nginx:1.26\","
        "\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}],\"env\":[{\"name\":\"A\","
        "\"value\":\"1\"}]},{\"name\":\"c2\",\"image\":\"busybox\",\"args\":[\"sleep\",\"1\"]}],"
        "\"restartPolicy\":\"Never\"},\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":"
        "\"Ready\",\"status\":\"True\"},{\"type\":\"PodScheduled\",\"status\":\"True\"}]}}");
    /* the same on a Deployment's pod template */
    check_ok(SMP, "Deployment",
             "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"1\"},"
             "{\"name\":\"b\",\"image\":\"1\"}]}}}}",
             "{\"spec\":{\"template\":{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"a\"},"
             "{\"name\":\"b\"}],\"containers\":[{\"image\":\"2\",\"name\":\"b\"}]}}}}",
             "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"1\"},"
             "{\"name\":\"b\",\"image\":\"2\"}]}}}}");
}

static void test_smp_set_element_order(void **state)
{
    (void)state;
    /* reorder only */
    check_ok(SMP, "Pod", "{\"spec\":{\"containers\":[{\"name\":\"c1\"},{\"name\":\"c2\"}]}}",
             "{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"c2\"},{\"name\":\"c1\"}]}}",
             "{\"spec\":{\"containers\":[{\"name\":\"c2\"},{\"name\":\"c1\"}]}}");
    /* apply that drops c2 and adds c3 between */
    check_ok(SMP, "Pod",
             "{\"spec\":{\"containers\":[{\"name\":\"c1\"},{\"name\":\"c2\"},{\"name\":\"c4\"}]}}",
             "{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"c1\"},{\"name\":\"c3\"},"
             "{\"name\":\"c4\"}],\"containers\":[{\"name\":\"c3\",\"image\":\"x\"},"
             "{\"$patch\":\"delete\",\"name\":\"c2\"}]}}",
             "{\"spec\":{\"containers\":[{\"name\":\"c1\"},{\"name\":\"c3\",\"image\":\"x\"},"
             "{\"name\":\"c4\"}]}}");
    /* a list the object did not have yet */
    check_ok(SMP, "Pod", "{\"spec\":{}}",
             "{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"b\"},{\"name\":\"a\"}],"
             "\"containers\":[{\"name\":\"b\"},{\"$patch\":\"delete\",\"name\":\"z\"},"
             "{\"name\":\"a\",\"env\":[{\"name\":\"E\",\"value\":null}]}]}}",
             "{\"spec\":{\"containers\":[{\"name\":\"b\"},{\"name\":\"a\",\"env\":[{\"name\":\"E\"}"
             "]}]}}");
    /* primitives: finalizers */
    check_ok(SMP, "Pod", "{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
             "{\"metadata\":{\"$setElementOrder/"
             "finalizers\":[\"b\",\"c\",\"a\"],\"finalizers\":[\"c\"]}}",
             "{\"metadata\":{\"finalizers\":[\"b\",\"c\",\"a\"]}}");
    /* a directive for a list that is nowhere is dropped */
    check_ok(SMP, "Pod", "{\"spec\":{}}",
             "{\"spec\":{\"$setElementOrder/volumes\":[{\"name\":\"v\"}]}}", "{\"spec\":{}}");
}

static void test_smp_patch_delete_container(void **state)
{
    (void)state;
    check_ok(SMP, "Pod",
             "{\"spec\":{\"containers\":[{\"name\":\"c1\",\"image\":\"a\"},{\"name\":\"c2\","
             "\"image\":\"b\"}]}}",
             "{\"spec\":{\"containers\":[{\"name\":\"c2\",\"$patch\":\"delete\"}]}}",
             "{\"spec\":{\"containers\":[{\"name\":\"c1\",\"image\":\"a\"}]}}");
    /* deleting what is not there is fine */
    check_ok(SMP, "Pod", "{\"spec\":{\"containers\":[{\"name\":\"c1\"}]}}",
             "{\"spec\":{\"containers\":[{\"name\":\"zz\",\"$patch\":\"delete\"}]}}",
             "{\"spec\":{\"containers\":[{\"name\":\"c1\"}]}}");
    /* into a list that is not there: nothing to delete, and no "$patch" left behind */
    check_ok(
        SMP, "Pod", "{\"spec\":{}}",
        "{\"spec\":{\"initContainers\":[{\"name\":\"i\",\"$patch\":\"delete\"},{\"name\":\"j\"}]}}",
        "{\"spec\":{\"initContainers\":[{\"name\":\"j\"}]}}");
}

static void test_smp_merge_keys(void **state)
{
    (void)state;
    /* env by name: the new item goes before the server-only ones, as kube orders them */
    check_ok(
        SMP, "Pod",
        "{\"spec\":{\"containers\":[{\"name\":\"c\",\"env\":[{\"name\":\"A\",\"value\":\"1\"}]}]}}",
        "{\"spec\":{\"containers\":[{\"name\":\"c\",\"env\":[{\"name\":\"B\",\"value\":\"2\"}]}]}}",
        "{\"spec\":{\"containers\":[{\"name\":\"c\",\"env\":[{\"name\":\"B\",\"value\":\"2\"},"
        "{\"name\":\"A\",\"value\":\"1\"}]}]}}");
    check_ok(
        SMP, "Pod",
        "{\"spec\":{\"containers\":[{\"name\":\"c\",\"env\":[{\"name\":\"A\",\"value\":\"1\"},"
        "{\"name\":\"B\",\"value\":\"2\"}]}]}}",
        "{\"spec\":{\"containers\":[{\"name\":\"c\",\"env\":[{\"name\":\"A\",\"value\":null,"
        "\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"spec.nodeName\"}}}]}]}}",
        "{\"spec\":{\"containers\":[{\"name\":\"c\",\"env\":[{\"name\":\"A\",\"valueFrom\":"
        "{\"fieldRef\":{\"fieldPath\":\"spec.nodeName\"}}},{\"name\":\"B\",\"value\":\"2\"}]}]}}");
    /* container ports by containerPort, volumeMounts by mountPath */
    check_ok(
        SMP, "Pod",
        "{\"spec\":{\"containers\":[{\"name\":\"c\",\"ports\":[{\"containerPort\":80,\"name\":"
        "\"http\"}],\"volumeMounts\":[{\"mountPath\":\"/a\",\"name\":\"v\"}]}]}}",
        "{\"spec\":{\"containers\":[{\"name\":\"c\",\"ports\":[{\"containerPort\":80,\"protocol\":"
        "\"TCP\"}],\"volumeMounts\":[{\"mountPath\":\"/a\",\"readOnly\":true}]}]}}",
        "{\"spec\":{\"containers\":[{\"name\":\"c\",\"ports\":[{\"containerPort\":80,\"name\":"
        "\"http\",\"protocol\":\"TCP\"}],\"volumeMounts\":[{\"mountPath\":\"/a\",\"name\":\"v\","
        "\"readOnly\":true}]}]}}");
    /* pod conditions by type (a kubelet-style status patch) */
    check_ok(
        SMP, "Pod", POD,
        "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}}",
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p1\",\"namespace\":"
        "\"default\",\"labels\":{\"run\":\"p1\"},\"annotations\":{\"x\":\"1\",\"y\":\"2\"}},"
        "\"spec\":{\"containers\":[{\"name\":\"c1\",\"image\":\"nginx:1.25\",\"ports\":[{"
        "\"containerPort\":80,\"protocol\":\"TCP\"}],\"env\":[{\"name\":\"A\",\"value\":\"1\"}]},"
        "{\"name\":\"c2\",\"image\":\"busybox\",\"args\":[\"sleep\",\"1\"]}],\"restartPolicy\":"
        "\"Never\"},\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\","
        "\"status\":\"False\"},{\"type\":\"PodScheduled\",\"status\":\"True\"}]}}");
    /* Service ports by port */
    check_ok(SMP, "Service",
             "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8080},{\"port\":443}]}}",
             "{\"spec\":{\"ports\":[{\"port\":443,\"name\":\"https\"}]}}",
             "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8080},{\"port\":443,\"name\":"
             "\"https\"}]}}");
    /* ownerReferences by uid */
    check_ok(SMP, "ConfigMap",
             "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"name\":\"a\"}]}}",
             "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"controller\":true}]}}",
             "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"name\":\"a\",\"controller\":"
             "true}]}}");
    /* Node addresses by type */
    check_ok(SMP, "Node",
             "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"1\"}]}}",
             "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"2\"}]}}",
             "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"2\"}]}}");
}

static void test_smp_replaced_lists(void **state)
{
    (void)state;
    /* no patch strategy: args, tolerations and containerStatuses are replaced whole */
    check_ok(
        SMP, "Pod",
        "{\"spec\":{\"containers\":[{\"name\":\"c\",\"args\":[\"a\",\"b\"]}],"
        "\"tolerations\":[{\"key\":\"k\"}]},\"status\":{\"containerStatuses\":[{\"name\":\"c\","
        "\"ready\":true,\"restartCount\":0}]}}",
        "{\"spec\":{\"containers\":[{\"name\":\"c\",\"args\":[\"z\"]}],\"tolerations\":[{\"key\":"
        "\"j\"}]},\"status\":{\"containerStatuses\":[{\"name\":\"c\",\"ready\":false}]}}",
        "{\"spec\":{\"containers\":[{\"name\":\"c\",\"args\":[\"z\"]}],\"tolerations\":[{\"key\":"
        "\"j\"}]},\"status\":{\"containerStatuses\":[{\"name\":\"c\",\"ready\":false}]}}");
    /* an unknown kind has no merge keys: lists are replaced, maps merged */
    check_ok(SMP, "Widget",
             "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}],\"m\":{\"x\":1}}}",
             "{\"spec\":{\"containers\":[{\"name\":\"c\"}],\"m\":{\"y\":2}}}",
             "{\"spec\":{\"containers\":[{\"name\":\"c\"}],\"m\":{\"x\":1,\"y\":2}}}");
    check_ok(SMP, NULL, "{\"a\":[1,2]}", "{\"a\":[3]}", "{\"a\":[3]}");
    /* type changes: the patch wins */
    check_ok(SMP, "Pod", "{\"spec\":{\"a\":[1],\"b\":{\"x\":1},\"c\":\"s\"}}",
             "{\"spec\":{\"a\":{\"k\":null,\"v\":1},\"b\":[1],\"c\":{\"n\":2}}}",
             "{\"spec\":{\"a\":{\"v\":1},\"b\":[1],\"c\":{\"n\":2}}}");
}

static void test_smp_primitive_lists(void **state)
{
    (void)state;
    check_ok(SMP, "Pod", "{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
             "{\"metadata\":{\"finalizers\":[\"b\",\"c\"]}}",
             "{\"metadata\":{\"finalizers\":[\"a\",\"b\",\"c\"]}}");
    check_ok(SMP, "Pod", "{\"metadata\":{\"finalizers\":[\"a\",\"b\",\"c\"]}}",
             "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"b\",\"zz\"]}}",
             "{\"metadata\":{\"finalizers\":[\"a\",\"c\"]}}");
    /* deleting from a list that is not there does nothing */
    check_ok(SMP, "Pod", "{\"metadata\":{}}",
             "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"b\"]}}",
             "{\"metadata\":{}}");
    /* duplicates go */
    check_ok(SMP, "Pod", "{\"metadata\":{\"finalizers\":[\"a\",\"a\"]}}",
             "{\"metadata\":{\"finalizers\":[\"a\"]}}", "{\"metadata\":{\"finalizers\":[\"a\"]}}");
    check_ok(SMP, "Node", "{\"spec\":{\"podCIDRs\":[\"10.0.0.0/24\"]}}",
             "{\"spec\":{\"podCIDRs\":[\"fd00::/64\"]}}",
             "{\"spec\":{\"podCIDRs\":[\"fd00::/64\",\"10.0.0.0/24\"]}}");
}

static void test_smp_directives(void **state)
{
    (void)state;
    /* $patch: replace on a map */
    check_ok(SMP, "Pod", "{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":\"2\"}}}",
             "{\"metadata\":{\"labels\":{\"$patch\":\"replace\",\"c\":\"3\"}}}",
             "{\"metadata\":{\"labels\":{\"c\":\"3\"}}}");
    /* $patch: delete on a map empties it */
    check_ok(SMP, "Pod", "{\"spec\":{\"securityContext\":{\"runAsUser\":1}}}",
             "{\"spec\":{\"securityContext\":{\"$patch\":\"delete\"}}}",
             "{\"spec\":{\"securityContext\":{}}}");
    /* $patch: replace in a list */
    check_ok(SMP, "Pod", "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}}",
             "{\"spec\":{\"containers\":[{\"name\":\"only\",\"image\":\"i\"},{\"$patch\":"
             "\"replace\"}]}}",
             "{\"spec\":{\"containers\":[{\"name\":\"only\",\"image\":\"i\"}]}}");
    /* $retainKeys on a volume: switch emptyDir to hostPath */
    check_ok(SMP, "Pod",
             "{\"spec\":{\"volumes\":[{\"name\":\"v\",\"emptyDir\":{}},{\"name\":\"w\"}]}}",
             "{\"spec\":{\"volumes\":[{\"name\":\"v\",\"hostPath\":{\"path\":\"/x\"},"
             "\"$retainKeys\":[\"hostPath\",\"name\"]}]}}",
             "{\"spec\":{\"volumes\":[{\"name\":\"v\",\"hostPath\":{\"path\":\"/"
             "x\"}},{\"name\":\"w\"}]}}");
    /* Deployment strategy (retainKeys) */
    check_ok(
        SMP, "Deployment",
        "{\"spec\":{\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":1}}}}",
        "{\"spec\":{\"strategy\":{\"$retainKeys\":[\"type\"],\"type\":\"Recreate\"}}}",
        "{\"spec\":{\"strategy\":{\"type\":\"Recreate\"}}}");
    /* new values are cleaned of directives and nulls */
    check_ok(
        SMP, "Pod", "{\"spec\":{}}",
        "{\"spec\":{\"affinity\":{\"nodeAffinity\":{\"x\":null,\"y\":1}},\"volumes\":[{\"name\":"
        "\"v\",\"$retainKeys\":[\"name\",\"emptyDir\"],\"emptyDir\":{}}]}}",
        "{\"spec\":{\"affinity\":{\"nodeAffinity\":{\"y\":1}},\"volumes\":[{\"name\":\"v\","
        "\"emptyDir\":{}}]}}");
    /* top level $patch: delete leaves an empty object */
    check_ok(SMP, "Pod", "{\"a\":1}", "{\"$patch\":\"delete\"}", "{}");
    check_ok(SMP, "Pod", "{\"a\":1}", "null", "{\"a\":1}");
}

static void test_smp_errors(void **state)
{
    (void)state;
    check_err(SMP, "Pod", POD, "[1]", KPATCH_EBADREQUEST,
              "json: cannot unmarshal array into Go value of type map[string]interface {}");
    check_err(SMP, "Pod", POD,
              "{\"spec\":{\"containers\":[{\"name\":\"c1\",\"$patch\":\"merge\"}]}}",
              KPATCH_EINTERNAL, "merging lists cannot yet be specified in the patch");
    check_err(SMP, "Pod", POD, "{\"metadata\":{\"labels\":{\"$patch\":\"frob\",\"a\":1}}}",
              KPATCH_EINTERNAL, "unknown patch type: frob in map: map[$patch:frob a:1]");
    check_err(SMP, "Pod", POD,
              "{\"spec\":{\"containers\":[{\"$patch\":\"frob\",\"name\":\"c1\"}]}}",
              KPATCH_EINTERNAL, "unknown patch type: frob in map: map[$patch:frob name:c1]");
    check_err(SMP, "Pod", POD, "{\"spec\":{\"containers\":[{\"image\":\"x\"}]}}", KPATCH_EINTERNAL,
              "map: map[image:x] does not contain declared merge key: name");
    check_err(SMP, "Pod", POD, "{\"spec\":{\"containers\":[{\"$patch\":\"delete\"}]}}",
              KPATCH_EINTERNAL,
              "map: map[$patch:delete] does not contain declared merge key: name");
    check_err(SMP, "Pod", "{\"metadata\":{\"finalizers\":[]}}",
              "{\"metadata\":{\"finalizers\":[[\"a\"]]}}", KPATCH_EINVALID,
              "lists of lists are not supported");
    check_err(SMP, "Pod", "{\"metadata\":{\"finalizers\":[\"a\"]}}",
              "{\"metadata\":{\"finalizers\":[1]}}", KPATCH_EINTERNAL,
              "list element types are not identical: [[a] [1]]");
    check_err(SMP, "Pod", POD,
              "{\"spec\":{\"volumes\":[{\"name\":\"v\",\"$retainKeys\":\"name\"}]}}",
              KPATCH_EBADREQUEST, "invalid patch format of retainKeys");
    check_err(
        SMP, "Pod", "{\"spec\":{\"volumes\":[{\"name\":\"v\",\"emptyDir\":{}}]}}",
        "{\"spec\":{\"volumes\":[{\"name\":\"v\",\"hostPath\":{},\"$retainKeys\":[\"name\"]}]}}",
        KPATCH_EBADREQUEST, "invalid patch format of retainKeys");
    check_err(SMP, "Pod", POD, "{\"metadata\":{\"$deleteFromPrimitiveList\":[\"a\"]}}",
              KPATCH_EBADREQUEST, "invalid patch format of primitive list");
    check_err(SMP, "Pod", POD, "{\"spec\":{\"$setElementOrderX/containers\":[{\"name\":\"c1\"}]}}",
              KPATCH_EBADREQUEST, "invalid patch format of setElementOrder list");
    check_err(SMP, "Pod", POD, "{\"spec\":{\"$setElementOrder/containers\":\"c1\"}}",
              KPATCH_EINTERNAL, "expected a []interface {}, but received a string");
    check_err(
        SMP, "Pod", POD,
        "{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"c1\"},{\"name\":\"c2\"}],"
        "\"containers\":[{\"name\":\"c2\",\"image\":\"a\"},{\"name\":\"c1\",\"image\":\"b\"}]}}",
        KPATCH_EINTERNAL,
        "The order in patch list:\n[map[image:a name:c2] map[image:b name:c1]]\n doesn't match "
        "$setElementOrder list:\n[map[name:c1] map[name:c2]]\n");
    check_err(SMP, "Pod", POD, "{\"spec\":{\"$setElementOrder/containers\":[\"c1\"]}}",
              KPATCH_EINTERNAL, "expected a map[string]interface {}, but received a string");
    /* atomic: labels were merged before the containers failed, and nothing changed */
    check_err(
        SMP, "Pod", POD,
        "{\"metadata\":{\"labels\":{\"new\":\"1\"}},\"spec\":{\"containers\":[{\"image\":\"x\"}]}}",
        KPATCH_EINTERNAL, "map: map[image:x] does not contain declared merge key: name");
}

static void test_smp_caps(void **state)
{
    cJSON *t = parse_json("{\"spec\":{\"containers\":[]}}"), *p = parse_json("{\"spec\":{}}");
    cJSON *list = cJSON_CreateArray();
    char err[256], deep[4096];
    size_t n = 0;
    (void)state;

    for (int i = 0; i <= KPATCH_MAX_LIST_ITEMS; i++) {
        cJSON *c = cJSON_CreateObject();
        char name[32];
        snprintf(name, sizeof(name), "c%d", i);
        cJSON_AddStringToObject(c, "name", name);
        cJSON_AddItemToArray(list, c);
    }
    cJSON_AddItemToObject(cJSON_GetObjectItem(p, "spec"), "containers", list);
    assert_int_equal(kpatch_strategic(t, p, "Pod", err, sizeof(err)), KPATCH_ETOOLARGE);
    assert_string_equal(err, "list containers has more than 2000 items to merge");
    assert_int_equal(
        cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(t, "spec"), "containers")), 0);
    cJSON_Delete(t);
    cJSON_Delete(p);

    for (int i = 0; i <= KPATCH_MAX_DEPTH + 1; i++)
        n += (size_t)snprintf(deep + n, sizeof(deep) - n, "{\"a\":");
    n += (size_t)snprintf(deep + n, sizeof(deep) - n, "1");
    for (int i = 0; i <= KPATCH_MAX_DEPTH + 1; i++)
        n += (size_t)snprintf(deep + n, sizeof(deep) - n, "}");
    check_err(SMP, "Pod", "{}", deep, KPATCH_EBADREQUEST,
              "patch is nested too deeply (max 100 levels)");

    /* NULL arguments */
    p = parse_json("{}");
    assert_int_equal(kpatch_strategic(NULL, p, "Pod", NULL, 0), KPATCH_EINTERNAL);
    assert_int_equal(kpatch_strategic(p, NULL, "Pod", NULL, 0), 0);
    assert_int_equal(kpatch_json(NULL, p, NULL, 0), KPATCH_EBADREQUEST);
    cJSON_Delete(p);
}

/* ---- robustness --------------------------------------------------------------------------------
 */

static uint32_t rng_state;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static const char *const fuzz_keys[] = {"metadata",
                                        "labels",
                                        "spec",
                                        "containers",
                                        "name",
                                        "image",
                                        "env",
                                        "ports",
                                        "containerPort",
                                        "volumes",
                                        "finalizers",
                                        "$patch",
                                        "$retainKeys",
                                        "$setElementOrder/containers",
                                        "$deleteFromPrimitiveList/finalizers",
                                        "$setElementOrder/finalizers",
                                        "status",
                                        "conditions",
                                        "type",
                                        "op",
                                        "path",
                                        "value",
                                        "from",
                                        "a",
                                        "$setElementOrder",
                                        "emptyDir"};
static const char *const fuzz_strings[] = {"replace",
                                           "delete",
                                           "merge",
                                           "c1",
                                           "c2",
                                           "add",
                                           "remove",
                                           "/spec/containers/0",
                                           "/metadata/labels/a",
                                           "-",
                                           "",
                                           "move",
                                           "copy",
                                           "test",
                                           "/a/-1",
                                           "Ready",
                                           "/"};

static cJSON *random_value(int depth)
{
    uint32_t r = rnd() % (depth > 4 ? 4 : 7);
    cJSON *v;

    switch (r) {
    case 0:
        return cJSON_CreateNull();
    case 1:
        return cJSON_CreateNumber((double)(rnd() % 100));
    case 2:
        return cJSON_CreateBool(rnd() % 2);
    case 3:
        return cJSON_CreateString(
            fuzz_strings[rnd() % (sizeof(fuzz_strings) / sizeof(fuzz_strings[0]))]);
    case 4:
    case 5:
        v = cJSON_CreateObject();
        for (uint32_t i = rnd() % 5; i > 0; i--)
            cJSON_AddItemToObject(v, fuzz_keys[rnd() % (sizeof(fuzz_keys) / sizeof(fuzz_keys[0]))],
                                  random_value(depth + 1));
        return v;
    default:
        v = cJSON_CreateArray();
        for (uint32_t i = rnd() % 4; i > 0; i--)
            cJSON_AddItemToArray(v, random_value(depth + 1));
        return v;
    }
}

static void test_fuzz_never_crashes(void **state)
{
    static const char *const kinds[] = {"Pod", "Service", "Deployment", "Node", NULL};
    cJSON *base = parse_json(POD);
    char err[512];
    (void)state;

    rng_state = 0x9e3779b9u;
    for (int iter = 0; iter < 4000; iter++) {
        cJSON *t = cJSON_Duplicate(base, 1), *p = random_value(0);
        char *before_s, *after_s;
        int rc;

        /* mutate the target too, so patches meet odd shapes on both sides */
        if (iter % 3 == 0)
            kpatch_merge(t, p, err, sizeof(err));
        before_s = cJSON_PrintUnformatted(t);
        switch (iter % 3) {
        case 0:
            rc = kpatch_strategic(t, p, kinds[rnd() % 5], err, sizeof(err));
            break;
        case 1:
            rc = kpatch_json(t, p, err, sizeof(err));
            break;
        default:
            rc = kpatch_merge(t, p, err, sizeof(err));
        }
        after_s = cJSON_PrintUnformatted(t);
        assert_non_null(before_s);
        assert_non_null(after_s);
        if (rc != 0) {
            assert_true(rc >= KPATCH_EINTERNAL && rc < 0);
            assert_true(err[0] != '\0');
            /* atomic (printed: cJSON_Compare trips on the duplicate keys the fuzzer makes) */
            assert_string_equal(after_s, before_s);
        }
        free(before_s);
        free(after_s);
        cJSON_Delete(p);
        cJSON_Delete(t);
    }
    /* JSON patch operations with random fields against the pod */
    for (int iter = 0; iter < 4000; iter++) {
        cJSON *t = cJSON_Duplicate(base, 1), *ops = cJSON_CreateArray();
        for (uint32_t i = rnd() % 4 + 1; i > 0; i--) {
            cJSON *op = cJSON_CreateObject();
            cJSON_AddStringToObject(
                op, "op", fuzz_strings[rnd() % (sizeof(fuzz_strings) / sizeof(fuzz_strings[0]))]);
            cJSON_AddStringToObject(
                op, "path", fuzz_strings[rnd() % (sizeof(fuzz_strings) / sizeof(fuzz_strings[0]))]);
            if (rnd() % 2)
                cJSON_AddStringToObject(
                    op, "from",
                    fuzz_strings[rnd() % (sizeof(fuzz_strings) / sizeof(fuzz_strings[0]))]);
            if (rnd() % 2)
                cJSON_AddItemToObject(op, "value", random_value(2));
            cJSON_AddItemToArray(ops, op);
        }
        (void)kpatch_json(t, ops, err, sizeof(err));
        cJSON_Delete(ops);
        cJSON_Delete(t);
    }
    cJSON_Delete(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_kubectl_label_annotate),
        cmocka_unit_test(test_merge_rfc7386_vectors),
        cmocka_unit_test(test_merge_errors),
        cmocka_unit_test(test_json_rfc6902_examples),
        cmocka_unit_test(test_json_kube_leniencies),
        cmocka_unit_test(test_json_errors),
        cmocka_unit_test(test_json_too_many_ops),
        cmocka_unit_test(test_smp_kubectl_label_annotate),
        cmocka_unit_test(test_smp_kubectl_apply_image_change),
        cmocka_unit_test(test_smp_set_element_order),
        cmocka_unit_test(test_smp_patch_delete_container),
        cmocka_unit_test(test_smp_merge_keys),
        cmocka_unit_test(test_smp_replaced_lists),
        cmocka_unit_test(test_smp_primitive_lists),
        cmocka_unit_test(test_smp_directives),
        cmocka_unit_test(test_smp_errors),
        cmocka_unit_test(test_smp_caps),
        cmocka_unit_test(test_fuzz_never_crashes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
