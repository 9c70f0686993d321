/* test_selector.c -- label and field selectors: grammar, matching, kube-apiserver error text, fuzz
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "mockapi/kube/selector.h"

#define QNAME_RULE                                                                                 \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "    \
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "         \
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define VALUE_RULE                                                                                 \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "    \
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "             \
    "'my_value',  or '12345', regex used for validation is "                                       \
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

static cJSON *parse_json(const char *text)
{
    cJSON *j = cJSON_Parse(text);

    assert_non_null(j);
    return j;
}

/* A pod carrying these labels (a JSON object body, e.g. "\"app\":\"web\""). */
static cJSON *pod_with_labels(const char *labels)
{
    char buf[1024];

    snprintf(buf, sizeof(buf), "{\"metadata\":{\"name\":\"p\",\"labels\":{%s}}}", labels);
    return parse_json(buf);
}

/* Parse sel as a label selector and match it against a pod with labels. */
static int lmatch(const char *sel, const char *labels)
{
    char err[512];
    struct ksel *s = ksel_parse_labels(sel, err, sizeof(err));
    cJSON *obj = pod_with_labels(labels);
    int m;

    if (!s)
        fail_msg("parse of \"%s\" failed: %s", sel, err);
    m = ksel_match(s, obj);
    ksel_free(s);
    cJSON_Delete(obj);
    return m;
}

static void assert_label_error(const char *sel, const char *want)
{
    char err[1024];
    struct ksel *s = ksel_parse_labels(sel, err, sizeof(err));

    if (s) {
        ksel_free(s);
        fail_msg("\"%s\" parsed, expected error: %s", sel, want);
    }
    assert_string_equal(err, want);
}

static void assert_field_error(const char *sel, const char *kind, const char *want)
{
    char err[1024];
    struct ksel *s = ksel_parse_fields(sel, kind, err, sizeof(err));

    if (s) {
        ksel_free(s);
        fail_msg("\"%s\" parsed, expected error: %s", sel, want);
    }
    assert_string_equal(err, want);
}

static int fmatch(const char *sel, const char *kind, const char *json)
{
    char err[512];
    struct ksel *s = ksel_parse_fields(sel, kind, err, sizeof(err));
    cJSON *obj = parse_json(json);
    int m;

    if (!s)
        fail_msg("parse of \"%s\" failed: %s", sel, err);
    m = ksel_match(s, obj);
    ksel_free(s);
    cJSON_Delete(obj);
    return m;
}

/* ---- label selectors ---------------------------------------------------------------------------
 */

static void test_labels_empty(void **state)
{
    const char *empties[] = {"", "   ", " \t\r\n", NULL};
    cJSON *obj = pod_with_labels("\"a\":\"b\"");
    (void)state;

    for (size_t i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
        char err[64] = "x";
        struct ksel *s = ksel_parse_labels(empties[i], err, sizeof(err));

        assert_non_null(s);
        assert_true(ksel_empty(s));
        assert_true(ksel_match(s, obj));
        assert_null(ksel_exact_name(s));
        ksel_free(s);
    }
    assert_true(ksel_empty(NULL));
    assert_true(ksel_match(NULL, obj));
    assert_true(ksel_match(NULL, NULL));
    ksel_free(NULL);
    cJSON_Delete(obj);
}

static void test_labels_equality(void **state)
{
    (void)state;
    assert_true(lmatch("app=web", "\"app\":\"web\""));
    assert_true(lmatch("app==web", "\"app\":\"web\""));
    assert_false(lmatch("app=web", "\"app\":\"db\""));
    assert_false(lmatch("app=web", ""));
    assert_true(lmatch("app!=web", "\"app\":\"db\""));
    assert_true(lmatch("app!=web", "")); /* != matches when the label is absent */
    assert_false(lmatch("app!=web", "\"app\":\"web\""));
    /* an empty value is a value */
    assert_true(lmatch("app=", "\"app\":\"\""));
    assert_false(lmatch("app=", ""));
    assert_true(lmatch("app==", "\"app\":\"\""));
    /* labels with prefixes */
    assert_true(lmatch("app.kubernetes.io/name=web", "\"app.kubernetes.io/name\":\"web\""));
    /* non-string label values count as absent */
    assert_false(lmatch("n=1", "\"n\":1"));
    assert_true(lmatch("!n", "\"n\":1"));
}

static void test_labels_sets(void **state)
{
    (void)state;
    assert_true(lmatch("env in (prod,dev)", "\"env\":\"dev\""));
    assert_false(lmatch("env in (prod,dev)", "\"env\":\"qa\""));
    assert_false(lmatch("env in (prod,dev)", ""));
    assert_true(lmatch("env notin (prod,dev)", "\"env\":\"qa\""));
    assert_true(lmatch("env notin (prod,dev)", ""));
    assert_false(lmatch("env notin (prod,dev)", "\"env\":\"prod\""));
    assert_true(lmatch("env", "\"env\":\"x\""));
    assert_false(lmatch("env", ""));
    assert_true(lmatch("!env", ""));
    assert_false(lmatch("!env", "\"env\":\"\""));
    /* empty members: "()", "(,x)", "(x,)" and "(x,,y)" all contain "" */
    assert_true(lmatch("env in ()", "\"env\":\"\""));
    assert_true(lmatch("env in (,x)", "\"env\":\"\""));
    assert_true(lmatch("env in (x,)", "\"env\":\"\""));
    assert_true(lmatch("env in (x,,y)", "\"env\":\"\""));
    assert_true(lmatch("env in (x,,y)", "\"env\":\"y\""));
    /* in and notin are identifiers where values go */
    assert_true(lmatch("in in (in)", "\"in\":\"in\""));
    assert_true(lmatch("notin notin (in,notin)", "\"notin\":\"x\""));
    assert_true(lmatch("in=notin", "\"in\":\"notin\""));
}

static void test_labels_and_whitespace(void **state)
{
    const char *labels = "\"app\":\"web\",\"tier\":\"front\",\"env\":\"prod\"";
    (void)state;

    assert_true(lmatch("app=web,tier=front", labels));
    assert_false(lmatch("app=web,tier=back", labels));
    assert_true(lmatch("  app = web ,\ttier in ( front , back ) ,  !gone , env  ", labels));
    assert_true(lmatch("app=web,!gone,env notin (dev),tier!=back", labels));
    assert_false(lmatch("app=web,!env", labels));
}

static void test_labels_gt_lt(void **state)
{
    (void)state;
    assert_true(lmatch("n>5", "\"n\":\"6\""));
    assert_false(lmatch("n>5", "\"n\":\"5\""));
    assert_true(lmatch("n<5", "\"n\":\"-3\""));
    assert_false(lmatch("n<5", "\"n\":\"x\"")); /* not an integer: no match */
    assert_false(lmatch("n<5", ""));
    assert_true(lmatch("n>2", "\"n\":\"+3\""));
    /* "-2" is no label value, so kube cannot compare with negative numbers either */
    assert_label_error(
        "n>-2", "unable to parse requirement: values[0][n]: Invalid value: \"-2\": " VALUE_RULE);
    assert_false(lmatch("n>1", "\"n\":\"99999999999999999999\"")); /* overflows int64 */
}

static void test_labels_grammar_errors(void **state)
{
    (void)state;
    assert_label_error(
        "a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt");
    assert_label_error("a in", "unable to parse requirement: found '' expected: '('");
    assert_label_error("a in x", "unable to parse requirement: found 'x' expected: '('");
    assert_label_error("a in (x", "unable to parse requirement: found '', expected: ',' or ')'");
    assert_label_error("a in (x y)",
                       "unable to parse requirement: found 'y', expected: ',' or ')'");
    assert_label_error("a in (=)",
                       "unable to parse requirement: found '=', expected: ',', ')' or identifier");
    assert_label_error("a in (x,=)",
                       "unable to parse requirement: found '=', expected: ',', or identifier");
    assert_label_error("a in (,",
                       "unable to parse requirement: found '', expected: ',', or identifier");
    assert_label_error("a=(", "unable to parse requirement: found '(', expected: identifier");
    assert_label_error("a!=!", "unable to parse requirement: found '!', expected: identifier");
    assert_label_error("!", "unable to parse requirement: found '', expected: identifier");
    assert_label_error("!=a", "found '!=', expected: !, identifier, or 'end of string'");
    assert_label_error("!!a", "unable to parse requirement: found '!', expected: identifier");
    assert_label_error("a=b c", "found 'c', expected: ',' or 'end of string'");
    assert_label_error("!a=b", "found '=', expected: ',' or 'end of string'");
    assert_label_error("a=b,", "found '', expected: identifier after ','");
    assert_label_error("a=b,,c", "found ',', expected: identifier after ','");
    assert_label_error(",", "found ',', expected: !, identifier, or 'end of string'");
    assert_label_error("(a)", "found '(', expected: !, identifier, or 'end of string'");
    assert_label_error("a===b", "unable to parse requirement: found '=', expected: identifier");
    assert_label_error("a>=1", "unable to parse requirement: found '=', expected: identifier");
    assert_label_error(
        "a (b)", "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt");
}

static void test_labels_key_errors(void **state)
{
    char sel[128], want[1024];
    (void)state;

    assert_label_error(
        "-a", "unable to parse requirement: <nil>: Invalid value: \"-a\": name part " QNAME_RULE);
    assert_label_error(
        "a_=b", "unable to parse requirement: <nil>: Invalid value: \"a_\": name part " QNAME_RULE);
    assert_label_error(
        "/a",
        "unable to parse requirement: <nil>: Invalid value: \"/a\": prefix part must be non-empty");
    assert_label_error(
        "a/", "unable to parse requirement: <nil>: Invalid value: \"a/\": name part must be "
              "non-empty; name part " QNAME_RULE);
    assert_label_error(
        "a/b/c",
        "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a qualified name " QNAME_RULE
        " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
    assert_label_error(
        "Example.com/a",
        "unable to parse requirement: <nil>: Invalid value: \"Example.com/a\": prefix part a "
        "lowercase RFC "
        "1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
        "must start and end with an alphanumeric character (e.g. 'example.com', regex used "
        "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
    assert_label_error(
        "!\"q\"",
        "unable to parse requirement: <nil>: Invalid value: \"\\\"q\\\"\": name part " QNAME_RULE);

    /* 63 characters are fine, 64 are not */
    memset(sel, 'k', 63);
    sel[63] = '\0';
    assert_false(lmatch(sel, ""));
    memset(sel, 'k', 64);
    sel[64] = '\0';
    snprintf(want, sizeof(want),
             "unable to parse requirement: <nil>: Invalid value: \"%s\": name part must be no more "
             "than 63 characters",
             sel);
    assert_label_error(sel, want);
}

static void test_labels_value_errors(void **state)
{
    char sel[128], want[1024];
    (void)state;

    assert_label_error(
        "a=b/c", "unable to parse requirement: values[0][a]: Invalid value: \"b/c\": " VALUE_RULE);
    assert_label_error(
        "a in (ok,-x)",
        "unable to parse requirement: values[0][a]: Invalid value: \"-x\": " VALUE_RULE);
    /* values are sorted before they are checked, so the index is the sorted one */
    assert_label_error(
        "a in (z,b/c)",
        "unable to parse requirement: values[0][a]: Invalid value: \"b/c\": " VALUE_RULE);
    assert_label_error(
        "a in (-x,_y)",
        "unable to parse requirement: [values[0][a]: Invalid value: \"-x\": " VALUE_RULE
        ", values[1][a]: Invalid value: \"_y\": " VALUE_RULE "]");
    assert_label_error(
        "a>x", "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' "
               "operators, the value must be an integer");
    assert_label_error(
        "a<-x",
        "unable to parse requirement: [values[0]: Invalid value: \"-x\": for 'Gt', 'Lt' "
        "operators, the value must be an integer, values[0][a]: Invalid value: \"-x\": " VALUE_RULE
        "]");
    assert_label_error(
        "a>", "unable to parse requirement: values[0]: Invalid value: \"\": for 'Gt', 'Lt' "
              "operators, the value must be an integer");

    memset(sel, 0, sizeof(sel));
    memcpy(sel, "a=", 2);
    memset(sel + 2, 'v', 64);
    snprintf(
        want, sizeof(want),
        "unable to parse requirement: values[0][a]: Invalid value: \"%s\": must be no more than "
        "63 characters",
        sel + 2);
    assert_label_error(sel, want);
}

static void test_labels_caps(void **state)
{
    char *big = malloc(KSEL_MAX_LEN + 2);
    char err[256];
    size_t n = 0;
    (void)state;

    assert_non_null(big);
    memset(big, 'a', KSEL_MAX_LEN + 1);
    big[KSEL_MAX_LEN + 1] = '\0';
    assert_null(ksel_parse_labels(big, err, sizeof(err)));
    assert_string_equal(err, "label selector is too long: 4097 bytes (max 4096)");
    assert_null(ksel_parse_fields(big, "Pod", err, sizeof(err)));
    assert_string_equal(err, "field selector is too long: 4097 bytes (max 4096)");

    /* KSEL_MAX_REQS requirements parse, one more does not */
    for (int i = 0; i < KSEL_MAX_REQS; i++)
        n += (size_t)snprintf(big + n, KSEL_MAX_LEN + 2 - n, "%sk%d", i ? "," : "", i);
    {
        struct ksel *s = ksel_parse_labels(big, err, sizeof(err));
        assert_non_null(s);
        ksel_free(s);
    }
    snprintf(big + n, KSEL_MAX_LEN + 2 - n, ",extra");
    assert_null(ksel_parse_labels(big, err, sizeof(err)));
    assert_string_equal(err, "label selector has too many requirements (max 64)");

    n = (size_t)snprintf(big, KSEL_MAX_LEN + 2, "a in (");
    for (int i = 0; i <= KSEL_MAX_VALUES; i++)
        n += (size_t)snprintf(big + n, KSEL_MAX_LEN + 2 - n, "%sv%d", i ? "," : "", i);
    snprintf(big + n, KSEL_MAX_LEN + 2 - n, ")");
    assert_null(ksel_parse_labels(big, err, sizeof(err)));
    assert_string_equal(err, "label selector has too many values (max 256)");

    n = 0;
    for (int i = 0; i <= KSEL_MAX_REQS; i++)
        n += (size_t)snprintf(big + n, KSEL_MAX_LEN + 2 - n, "%smetadata.name=%d", i ? "," : "", i);
    assert_null(ksel_parse_fields(big, "Pod", err, sizeof(err)));
    assert_string_equal(err, "field selector has too many terms (max 64)");
    free(big);
}

static void test_error_buffers(void **state)
{
    char tiny[8];
    char one[1] = {'x'};
    (void)state;

    assert_null(ksel_parse_labels("a b", tiny, sizeof(tiny)));
    assert_string_equal(tiny, "unable ");
    assert_null(ksel_parse_labels("a b", one, sizeof(one)));
    assert_int_equal(one[0], '\0');
    assert_null(ksel_parse_labels("a b", NULL, 0));
    assert_null(ksel_parse_fields("x", "Pod", NULL, 0));
    assert_null(ksel_parse_fields("x", "Pod", tiny, 0));
}

/* ---- field selectors ---------------------------------------------------------------------------
 */

#define POD_JSON                                                                                   \
    "{\"metadata\":{\"name\":\"p1\",\"namespace\":\"default\"},"                                   \
    "\"spec\":{\"nodeName\":\"n1\",\"restartPolicy\":\"Never\",\"schedulerName\":\"default-"       \
    "scheduler\",\"serviceAccountName\":\"sa\"},"                                                  \
    "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.7\",\"podIPs\":[{\"ip\":\"10.0.0.7\"}]}" \
    "}"

static void test_fields_pod(void **state)
{
    (void)state;
    assert_true(fmatch("metadata.name=p1", "Pod", POD_JSON));
    assert_true(fmatch("metadata.name==p1", "Pod", POD_JSON));
    assert_false(fmatch("metadata.name=p2", "Pod", POD_JSON));
    assert_true(fmatch("metadata.name!=p2", "Pod", POD_JSON));
    assert_true(fmatch("metadata.namespace=default,metadata.name=p1", "Pod", POD_JSON));
    assert_true(fmatch("spec.nodeName=n1,status.phase=Running", "Pod", POD_JSON));
    assert_true(fmatch("spec.nodeName!=", "Pod", POD_JSON)); /* "scheduled pods" */
    assert_false(fmatch("spec.nodeName=", "Pod", POD_JSON));
    assert_true(
        fmatch("spec.restartPolicy=Never,spec.schedulerName=default-scheduler", "Pod", POD_JSON));
    assert_true(fmatch("spec.serviceAccountName=sa", "Pod", POD_JSON));
    assert_true(fmatch("status.podIP=10.0.0.7", "Pod", POD_JSON));
    assert_true(fmatch("status.nominatedNodeName=", "Pod", POD_JSON));
    /* hostNetwork reads "false" when unset, as kube's field set does */
    assert_true(fmatch("spec.hostNetwork=false", "Pod", POD_JSON));
    assert_true(fmatch("spec.hostNetwork=true", "Pod", "{\"spec\":{\"hostNetwork\":true}}"));
    assert_false(fmatch("spec.hostNetwork=false", "Pod", "{\"spec\":{\"hostNetwork\":true}}"));
    /* status.podIPs is accepted but never holds a value */
    assert_true(fmatch("status.podIPs=", "Pod", POD_JSON));
    assert_false(fmatch("status.podIPs=10.0.0.7", "Pod", POD_JSON));
    /* spec.host is what old clients call spec.nodeName */
    assert_true(fmatch("spec.host=n1", "Pod", POD_JSON));
    assert_false(fmatch("spec.host=n2", "Pod", POD_JSON));
    /* not an object at all */
    assert_false(fmatch("metadata.name=p1", "Pod", "[1,2]"));
    assert_true(fmatch("metadata.name=", "Pod", "\"x\""));
}

static void test_fields_other_kinds(void **state)
{
    const char *ev =
        "{\"metadata\":{\"name\":\"e1\",\"namespace\":\"default\"},"
        "\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"p1\",\"namespace\":\"default\","
        "\"uid\":\"u-1\",\"apiVersion\":\"v1\",\"resourceVersion\":\"12\","
        "\"fieldPath\":\"spec.containers{c}\"},\"reason\":\"Pulled\","
        "\"source\":{\"component\":\"kubelet\"},\"reportingComponent\":\"kubelet\","
        "\"type\":\"Normal\"}";
    (void)state;

    /* what kubectl describe pod sends */
    assert_true(
        fmatch("involvedObject.uid=u-1,involvedObject.name=p1,involvedObject.namespace=default",
               "Event", ev));
    assert_false(fmatch("involvedObject.uid=u-2,involvedObject.name=p1", "Event", ev));
    assert_true(
        fmatch("involvedObject.kind=Pod,involvedObject.apiVersion=v1,"
               "involvedObject.resourceVersion=12,involvedObject.fieldPath=spec.containers{c}",
               "Event", ev));
    assert_true(
        fmatch("reason=Pulled,type=Normal,source=kubelet,reportingComponent=kubelet", "Event", ev));
    assert_true(fmatch("type=Opaque", "Secret", "{\"type\":\"Opaque\"}"));
    assert_true(fmatch("status.phase=Active,metadata.name=ns1", "Namespace",
                       "{\"metadata\":{\"name\":\"ns1\"},\"status\":{\"phase\":\"Active\"}}"));
    assert_true(fmatch("spec.unschedulable=false", "Node", "{\"spec\":{}}"));
    assert_true(fmatch("spec.unschedulable=true", "Node", "{\"spec\":{\"unschedulable\":true}}"));
    assert_true(fmatch("spec.type=ClusterIP,spec.clusterIP=10.96.0.1", "Service",
                       "{\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"10.96.0.1\"}}"));
    assert_true(fmatch("status.replicas=0", "ReplicationController", "{}"));
    assert_true(
        fmatch("status.replicas=3", "ReplicationController", "{\"status\":{\"replicas\":3}}"));
    /* kinds without their own conversion get name and namespace */
    assert_true(fmatch("metadata.name=c1,metadata.namespace=ns", "ConfigMap",
                       "{\"metadata\":{\"name\":\"c1\",\"namespace\":\"ns\"}}"));
    assert_true(fmatch("metadata.name=c1", NULL, "{\"metadata\":{\"name\":\"c1\"}}"));
}

static void test_fields_escapes(void **state)
{
    (void)state;
    assert_true(fmatch("metadata.name=a\\,b", "Pod", "{\"metadata\":{\"name\":\"a,b\"}}"));
    assert_true(fmatch("metadata.name=a\\=b", "Pod", "{\"metadata\":{\"name\":\"a=b\"}}"));
    assert_true(fmatch("metadata.name=a\\\\b", "Pod", "{\"metadata\":{\"name\":\"a\\\\b\"}}"));
    assert_true(fmatch("metadata.name=a\\,b,metadata.namespace=x", "Pod",
                       "{\"metadata\":{\"name\":\"a,b\",\"namespace\":\"x\"}}"));
    assert_true(fmatch("metadata.name!=a\\,b", "Pod", "{\"metadata\":{\"name\":\"a\"}}"));
}

static void test_fields_empty_and_exact(void **state)
{
    char err[128];
    struct ksel *s;
    (void)state;

    s = ksel_parse_fields(",,", "Pod", err, sizeof(err));
    assert_non_null(s);
    assert_true(ksel_empty(s));
    assert_null(ksel_exact_name(s));
    ksel_free(s);

    s = ksel_parse_fields("spec.nodeName=n1,metadata.name=p1", "Pod", err, sizeof(err));
    assert_non_null(s);
    assert_false(ksel_empty(s));
    assert_string_equal(ksel_exact_name(s), "p1");
    ksel_free(s);

    s = ksel_parse_fields("metadata.name==a\\,b", "Pod", err, sizeof(err));
    assert_string_equal(ksel_exact_name(s), "a,b");
    ksel_free(s);

    s = ksel_parse_fields("metadata.name!=p1", "Pod", err, sizeof(err));
    assert_null(ksel_exact_name(s));
    ksel_free(s);

    /* terms are sorted, as kube sorts them: the first exact term wins */
    s = ksel_parse_fields("metadata.name=b,metadata.name=a", "Pod", err, sizeof(err));
    assert_string_equal(ksel_exact_name(s), "a");
    ksel_free(s);

    s = ksel_parse_labels("metadata.name=p1", err, sizeof(err));
    assert_non_null(s);
    assert_null(ksel_exact_name(s)); /* label selectors never shortcut */
    ksel_free(s);
}

static void test_fields_errors(void **state)
{
    (void)state;
    assert_field_error("spec.foo=x", "Pod", "field label not supported: spec.foo");
    assert_field_error("status.phase=Active,metadata.namespace=x", "Namespace",
                       "field label not supported: metadata.namespace");
    assert_field_error("metadata.namespace=x", "Node",
                       "field label not supported: metadata.namespace");
    assert_field_error("spec.nodeName=x", "Event", "field label not supported: spec.nodeName");
    assert_field_error("data=x", "Secret", "field label not supported: data");
    assert_field_error("spec.foo=x", "ConfigMap",
                       "\"spec.foo\" is not a known field selector: only \"metadata.name\", "
                       "\"metadata.namespace\"");
    assert_field_error("sp\"ec=x", NULL,
                       "\"sp\\\"ec\" is not a known field selector: only \"metadata.name\", "
                       "\"metadata.namespace\"");
    /* no trimming: kube keeps the blank in the label */
    assert_field_error("metadata.name =x", "Pod", "field label not supported: metadata.name ");
    assert_field_error("=x", "Pod", "field label not supported: ");
    assert_field_error("foo", "Pod", "invalid selector: 'foo'; can't understand 'foo'");
    assert_field_error("metadata.name=a,zzz", "Pod",
                       "invalid selector: 'metadata.name=a,zzz'; can't understand 'zzz'");
    /* sorted: "aaa" is looked at before "zzz=1" */
    assert_field_error("zzz=1,aaa", "Pod", "invalid selector: 'zzz=1,aaa'; can't understand 'aaa'");
    /* every term is parsed before any label is converted */
    assert_field_error("aaa=1,metadata.name=a=b", "Pod",
                       "invalid field selector: unescapedRune character in value: 61");
    assert_field_error("metadata.name=a\\x", "Pod",
                       "invalid field selector: invalid escape sequence: \\x");
    assert_field_error("metadata.name=a\\", "Pod",
                       "invalid field selector: invalid escape sequence: \\");
    assert_field_error("metadata.name=a\\\xc3\xa9", "Pod",
                       "invalid field selector: invalid escape sequence: \\\xc3\xa9");
    /* the first operator splits: "a!=b=c" is a!= "b=c" */
    assert_field_error("metadata.name!=b=c", "Pod",
                       "invalid field selector: unescapedRune character in value: 61");
}

/* ---- robustness --------------------------------------------------------------------------------
 */

static uint32_t rng_state;

static uint32_t rnd(void)
{
    /* xorshift32: deterministic, seeded per test */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static const char *const corpus[] = {
    "app=web,tier in (front,back),!legacy,env notin (dev)",
    "a in (x,,y),b!=c,d==e,f>1,g<2",
    "x.example.com/app=web, k8s.io/name in (a , b)",
    "metadata.name=p1,metadata.namespace=default",
    "involvedObject.uid=u-1,involvedObject.name=p1,involvedObject.namespace=default",
    "metadata.name=a\\,b\\=c\\\\d,spec.nodeName!=",
    "in in (in),notin notin (notin)",
    "",
};

static void check_one(const char *s, const cJSON *obj)
{
    static const char *const kinds[] = {"Pod", "Event", "Secret", "Namespace", "Node", NULL};
    char err[256];
    struct ksel *sel;

    memset(err, 'Z', sizeof(err));
    sel = ksel_parse_labels(s, err, sizeof(err));
    if (sel) {
        (void)ksel_match(sel, obj);
        (void)ksel_empty(sel);
        assert_null(ksel_exact_name(sel));
        ksel_free(sel);
    } else {
        assert_non_null(memchr(err, '\0', sizeof(err)));
        assert_true(err[0] != '\0');
    }
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        memset(err, 'Z', sizeof(err));
        sel = ksel_parse_fields(s, kinds[k], err, sizeof(err));
        if (sel) {
            (void)ksel_match(sel, obj);
            (void)ksel_exact_name(sel);
            ksel_free(sel);
        } else {
            assert_non_null(memchr(err, '\0', sizeof(err)));
            assert_true(err[0] != '\0');
        }
    }
}

static void test_fuzz_never_crashes(void **state)
{
    static const char alphabet[] = "ab=!(),<> \t\\/.-_in0otZ\"\xc3\xa9\xff";
    cJSON *obj = parse_json("{\"metadata\":{\"name\":\"p1\",\"namespace\":\"default\","
                            "\"labels\":{\"app\":\"web\",\"a\":\"x\",\"in\":\"in\",\"f\":\"3\"}},"
                            "\"spec\":{\"nodeName\":\"n1\",\"hostNetwork\":true},"
                            "\"involvedObject\":{\"uid\":\"u-1\"}}");
    char buf[512];
    (void)state;

    rng_state = 0x2545f491u;
    for (int iter = 0; iter < 20000; iter++) {
        size_t n;

        if (iter % 2 == 0) {
            /* random strings over the characters that matter to the grammars */
            n = rnd() % 48;
            for (size_t i = 0; i < n; i++)
                buf[i] = alphabet[rnd() % (sizeof(alphabet) - 1)];
        } else {
            /* mutations of well-formed selectors: flip, insert, delete, truncate */
            const char *base = corpus[rnd() % (sizeof(corpus) / sizeof(corpus[0]))];
            n = strlen(base);
            memcpy(buf, base, n);
            for (int m = (int)(rnd() % 4); m >= 0; m--) {
                size_t at = n ? rnd() % n : 0;
                switch (rnd() % 4) {
                case 0:
                    if (n)
                        buf[at] = alphabet[rnd() % (sizeof(alphabet) - 1)];
                    break;
                case 1:
                    if (n + 1 < sizeof(buf)) {
                        memmove(buf + at + 1, buf + at, n - at);
                        buf[at] = alphabet[rnd() % (sizeof(alphabet) - 1)];
                        n++;
                    }
                    break;
                case 2:
                    if (n) {
                        memmove(buf + at, buf + at + 1, n - at - 1);
                        n--;
                    }
                    break;
                default:
                    n = at;
                }
            }
        }
        buf[n] = '\0';
        check_one(buf, obj);
    }
    /* hostile objects: wrong shapes everywhere */
    {
        static const char *const objs[] = {"null", "[]", "{\"metadata\":5}",
                                           "{\"metadata\":{\"labels\":[\"a\"]}}",
                                           "{\"spec\":{\"nodeName\":{\"x\":1}}}"};
        for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
            cJSON *o = parse_json(objs[i]);
            for (size_t c = 0; c < sizeof(corpus) / sizeof(corpus[0]); c++)
                check_one(corpus[c], o);
            cJSON_Delete(o);
        }
    }
    cJSON_Delete(obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels_empty),      cmocka_unit_test(test_labels_equality),
        cmocka_unit_test(test_labels_sets),       cmocka_unit_test(test_labels_and_whitespace),
        cmocka_unit_test(test_labels_gt_lt),      cmocka_unit_test(test_labels_grammar_errors),
        cmocka_unit_test(test_labels_key_errors), cmocka_unit_test(test_labels_value_errors),
        cmocka_unit_test(test_labels_caps),       cmocka_unit_test(test_error_buffers),
        cmocka_unit_test(test_fields_pod),        cmocka_unit_test(test_fields_other_kinds),
        cmocka_unit_test(test_fields_escapes),    cmocka_unit_test(test_fields_empty_and_exact),
        cmocka_unit_test(test_fields_errors),     cmocka_unit_test(test_fuzz_never_crashes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
