/* test_admission.c -- tests harness/admission.c without a server: policies built from scenario
 * text, the verbs and subresources they see, each "when" predicate (with [*]), forEach and
 * {element}, exemptions by label, annotation and namespace, placeholders, the webhook prefix,
 * codes and reasons, the Status body byte for byte, and when the engine is asked for the body */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/admission.h"
#include "harness/diag.h"
#include "harness/scenario.h"
#include "mockapi/http/conn.h"
#include "mockapi/kube/route.h"
#include "testutil.h"

#define GK_DENIED "admission webhook \"validation.gatekeeper.sh\" denied the request: "
#define RO_TEXT "[psp-readonlyrootfilesystem] only read-only root filesystem container is allowed: "

/* ---- helpers ---- */

struct fixture {
    struct scenario *s;
    struct admission *a;
};

/* A scenario whose "admission" array is policies (' for "), and its policies built. */
static void build(struct fixture *f, const char *policies)
{
    static const char head[] = "{'name': 't', 'cluster': {'namespaces': ['exempt-ci']}, "
                               "'admission': ";
    size_t n = strlen(head) + strlen(policies) + 2;
    char *text = malloc(n), *t;
    struct diag d;
    assert_non_null(text);
    snprintf(text, n, "%s%s}", head, policies);
    t = dq(text);
    free(text);
    diag_init(&d, "t.json");
    f->s = scenario_parse("t.json", t, strlen(t), &d);
    free(t);
    if (!f->s) {
        for (size_t i = 0; i < d.n; i++)
            print_error("%s\n", d.msgs[i]);
        diag_release(&d);
        fail_msg("scenario_parse failed");
    }
    f->a = admission_new(f->s, &d);
    if (!f->a)
        fail_msg("admission_new: %s", d.n ? d.msgs[0] : "NULL");
    assert_int_equal(d.n, 0);
    diag_release(&d);
}

static void release(struct fixture *f)
{
    admission_free(f->a);
    scenario_free(f->s);
    memset(f, 0, sizeof *f);
}

/* A routed request: method and path as kube-apiserver would see them. */
struct rq {
    struct http_request req;
    struct route r;
};

static void routed(struct rq *q, const char *method, const char *path)
{
    char err[256];
    memset(q, 0, sizeof *q);
    q->req.method = method;
    q->req.url = (char *)path;
    q->req.path = (char *)path;
    q->req.query = (char *)"";
    if (route_parse(method, path, 0, &q->r, err, sizeof err) < 0 || q->r.type != ROUTE_OBJECT)
        fail_msg("route_parse %s %s: %s", method, path, err);
}

/* Decide on obj (' for "); returns 1/0 and the result in *res (release it). */
static int decide(const struct fixture *f, const char *method, const char *path, const char *obj,
                  struct admission_result *res)
{
    struct rq q;
    cJSON *o = obj ? json(obj) : NULL;
    routed(&q, method, path);
    int rc = admission_decide(f->a, &q.req, &q.r, o, res);
    cJSON_Delete(o);
    assert_true(rc >= 0);
    return rc;
}

/* The policy must deny with exactly this code, reason (NULL: none) and message (' for "). */
static void denies(const struct fixture *f, const char *method, const char *path, const char *obj,
                   const char *policy, int code, const char *reason, const char *message)
{
    struct admission_result res;
    char *want = dq(message);
    if (decide(f, method, path, obj, &res) != 1)
        fail_msg("%s %s: not denied: %s", method, path, obj);
    assert_string_equal(res.policy, policy);
    assert_int_equal(res.deny, 1);
    assert_int_equal(res.code, code);
    if (reason)
        assert_string_equal(res.reason, reason);
    else
        assert_null(res.reason);
    assert_string_equal(res.message, want);
    admission_result_release(&res);
    free(want);
}

static void passes(const struct fixture *f, const char *method, const char *path, const char *obj)
{
    struct admission_result res;
    if (decide(f, method, path, obj, &res) != 0) {
        char got[256];
        snprintf(got, sizeof got, "%s", res.message ? res.message : "(a fault)");
        admission_result_release(&res);
        fail_msg("%s %s: acted (%s): %s", method, path, got, obj);
    }
}

#define PODS "/api/v1/namespaces/default/pods"

/* ---- tests ---- */

static const char RO_POLICY[] =
    "[{'name': 'psp-readonlyrootfilesystem', 'match': {'verb': 'create', 'resource': 'pods'},"
    " 'forEach': 'spec.containers[*]',"
    " 'when': [{'path': 'securityContext.readOnlyRootFilesystem', 'notEquals': true}],"
    " 'exempt': {'labels': {'kubefault.io/exempt': 'true', 'empty': ''},"
    "            'annotations': {'ci/skip': 'y*'}, 'namespaces': ['exempt-*']},"
    " 'deny': {'code': 403, 'message': 'admission webhook \\'validation.gatekeeper.sh\\' denied "
    "the request: [psp-readonlyrootfilesystem] only read-only root filesystem container is "
    "allowed: {element}'}}]";

static void test_for_each_names_the_first_offender(void **state)
{
    (void)state;
    struct fixture f;
    build(&f, RO_POLICY);
    denies(&f, "POST", PODS,
           "{'metadata': {'name': 'p'}, 'spec': {'containers': ["
           "{'name': 'helper', 'securityContext': {'readOnlyRootFilesystem': true}},"
           "{'name': 'build', 'securityContext': {'readOnlyRootFilesystem': false}},"
           "{'name': 'svc-0'}]}}",
           "psp-readonlyrootfilesystem", 403, "Forbidden", GK_DENIED RO_TEXT "build");
    /* absent counts as "not equal to true"; so does a string "true" */
    denies(&f, "POST", PODS, "{'metadata': {'name': 'p'}, 'spec': {'containers': [{'name': 'a'}]}}",
           "psp-readonlyrootfilesystem", 403, "Forbidden", GK_DENIED RO_TEXT "a");
    denies(&f, "POST", PODS,
           "{'metadata': {'name': 'p'}, 'spec': {'containers': [{'name': 'a', "
           "'securityContext': {'readOnlyRootFilesystem': 'true'}}]}}",
           "psp-readonlyrootfilesystem", 403, "Forbidden", GK_DENIED RO_TEXT "a");
    /* an element without a name is named by its position */
    denies(&f, "POST", PODS,
           "{'metadata': {'name': 'p'}, 'spec': {'containers': ["
           "{'name': 'ok', 'securityContext': {'readOnlyRootFilesystem': true}}, {}]}}",
           "psp-readonlyrootfilesystem", 403, "Forbidden", GK_DENIED RO_TEXT "1");
    passes(&f, "POST", PODS,
           "{'metadata': {'name': 'p'}, 'spec': {'containers': ["
           "{'name': 'a', 'securityContext': {'readOnlyRootFilesystem': true}},"
           "{'name': 'b', 'securityContext': {'readOnlyRootFilesystem': true}}]}}");
    /* no containers at all: forEach reaches nothing, so nothing is denied */
    passes(&f, "POST", PODS, "{'metadata': {'name': 'p'}, 'spec': {}}");
    release(&f);
}

static void test_exemptions(void **state)
{
    (void)state;
    struct fixture f;
    build(&f, RO_POLICY);
    const char *bad = "'spec': {'containers': [{'name': 'c'}]}}";
    char obj[512];
    snprintf(obj, sizeof obj,
             "{'metadata': {'name': 'p', 'labels': {'kubefault.io/exempt': "
             "'true'}}, %s",
             bad);
    passes(&f, "POST", PODS, obj);
    snprintf(obj, sizeof obj,
             "{'metadata': {'name': 'p', 'labels': {'kubefault.io/exempt': "
             "'false'}}, %s",
             bad);
    denies(&f, "POST", PODS, obj, "psp-readonlyrootfilesystem", 403, "Forbidden",
           GK_DENIED RO_TEXT "c");
    /* "" matches the key with an empty value only */
    snprintf(obj, sizeof obj, "{'metadata': {'name': 'p', 'labels': {'empty': ''}}, %s", bad);
    passes(&f, "POST", PODS, obj);
    snprintf(obj, sizeof obj, "{'metadata': {'name': 'p', 'labels': {'empty': 'x'}}, %s", bad);
    denies(&f, "POST", PODS, obj, "psp-readonlyrootfilesystem", 403, "Forbidden",
           GK_DENIED RO_TEXT "c");
    /* annotations are patterns too */
    snprintf(obj, sizeof obj, "{'metadata': {'name': 'p', 'annotations': {'ci/skip': 'yes'}}, %s",
             bad);
    passes(&f, "POST", PODS, obj);
    snprintf(obj, sizeof obj, "{'metadata': {'name': 'p', 'annotations': {'ci/skip': 'no'}}, %s",
             bad);
    denies(&f, "POST", PODS, obj, "psp-readonlyrootfilesystem", 403, "Forbidden",
           GK_DENIED RO_TEXT "c");
    /* a label does not excuse as an annotation, nor the other way round */
    snprintf(obj, sizeof obj, "{'metadata': {'name': 'p', 'labels': {'ci/skip': 'yes'}}, %s", bad);
    denies(&f, "POST", PODS, obj, "psp-readonlyrootfilesystem", 403, "Forbidden",
           GK_DENIED RO_TEXT "c");
    /* the request's namespace */
    snprintf(obj, sizeof obj, "{'metadata': {'name': 'p'}, %s", bad);
    passes(&f, "POST", "/api/v1/namespaces/exempt-ci/pods", obj);
    denies(&f, "POST", "/api/v1/namespaces/ci-exempt/pods", obj, "psp-readonlyrootfilesystem", 403,
           "Forbidden", GK_DENIED RO_TEXT "c");
    release(&f);
}

static void test_verbs_and_subresources(void **state)
{
    (void)state;
    struct fixture f;
    build(&f, "[{'name': 'any-write', 'match': {'resource': 'configmaps'},"
              "  'deny': {'message': 'no'}},"
              " {'name': 'status-only', 'match': {'resource': 'pods', 'subresource': 'status'},"
              "  'deny': {'message': 'no status'}}]");
    const char *cm = "{'metadata': {'name': 'c'}}";
    const char *cmp = "/api/v1/namespaces/default/configmaps";
    const char *one = "/api/v1/namespaces/default/configmaps/c";
    const char *msg = "admission webhook 'any-write' denied the request: no";
    /* without verbs: every create, update, patch, delete and deletecollection */
    denies(&f, "POST", cmp, cm, "any-write", 403, "Forbidden", msg);
    denies(&f, "PUT", one, cm, "any-write", 403, "Forbidden", msg);
    denies(&f, "PATCH", one, cm, "any-write", 403, "Forbidden", msg);
    denies(&f, "DELETE", one, cm, "any-write", 403, "Forbidden", msg);
    denies(&f, "DELETE", cmp, cm, "any-write", 403, "Forbidden", msg);
    /* never reads */
    passes(&f, "GET", one, cm);
    passes(&f, "GET", cmp, cm);
    /* a policy without a subresource does not see subresources, one with it does */
    passes(&f, "PUT", "/api/v1/namespaces/default/pods/p", cm);
    denies(&f, "PUT", "/api/v1/namespaces/default/pods/p/status", cm, "status-only", 403,
           "Forbidden", "admission webhook 'status-only' denied the request: no status");
    release(&f);

    build(&f, "[{'name': 'creates', 'match': {'verb': 'create', 'resource': 'configmaps'},"
              "  'deny': {'message': 'no'}}]");
    denies(&f, "POST", cmp, cm, "creates", 403, "Forbidden",
           "admission webhook 'creates' denied the request: no");
    passes(&f, "PUT", one, cm);
    passes(&f, "DELETE", one, cm);
    passes(&f, "POST", "/api/v1/namespaces/default/secrets", cm);
    release(&f);
}

static void test_predicates(void **state)
{
    (void)state;
    struct fixture f;
    build(&f, "[{'name': 'win', 'match': {'verb': 'create', 'resource': 'pods'},"
              "  'when': [{'path': 'spec.nodeSelector[\\'kubernetes.io/os\\']', 'equals': "
              "'windows'}, {'path': 'spec.hostAliases', 'exists': true}],"
              "  'deny': {'code': 400, 'message': 'admission webhook \\'windows.gke.io\\' denied "
              "the request: spec.hostAliases: Invalid value: []v1.HostAlias{v1.HostAlias{IP:"
              "\\'127.0.0.1\\'}}: Windows does not support this field.'}},"
              " {'name': 'no-latest', 'match': {'verb': 'create', 'resource': 'pods'},"
              "  'when': [{'path': 'spec.containers[*].image', 'equals': 'busybox:latest'},"
              "           {'path': 'metadata.labels.team', 'absent': true}],"
              "  'deny': {'code': 422, 'message': '{name} in {namespace}: latest'}}]");
    const char *win =
        "admission webhook 'windows.gke.io' denied the request: spec.hostAliases: Invalid value: "
        "[]v1.HostAlias{v1.HostAlias{IP:'127.0.0.1'}}: Windows does not support this field.";
    denies(&f, "POST", PODS,
           "{'metadata': {'name': 'w'}, 'spec': {'nodeSelector': {'kubernetes.io/os': 'windows'},"
           " 'hostAliases': [], 'containers': []}}",
           "win", 400, "BadRequest", win);
    passes(&f, "POST", PODS,
           "{'metadata': {'name': 'w'}, 'spec': {'nodeSelector': {'kubernetes.io/os': 'linux'},"
           " 'hostAliases': [], 'containers': []}}");
    passes(&f, "POST", PODS,
           "{'metadata': {'name': 'w'}, 'spec': {'nodeSelector': {'kubernetes.io/os': 'windows'},"
           " 'containers': []}}");
    /* [*]: equals holds when some element holds it; 422 defaults to Invalid; placeholders */
    denies(&f, "POST", "/api/v1/namespaces/ci/pods",
           "{'metadata': {'name': 'x'}, 'spec': {'containers': [{'image': 'a'}, "
           "{'image': 'busybox:latest'}]}}",
           "no-latest", 422, "Invalid",
           "admission webhook 'no-latest' denied the request: x in ci: latest");
    passes(&f, "POST", "/api/v1/namespaces/ci/pods",
           "{'metadata': {'name': 'x', 'labels': {'team': 'a'}}, 'spec': {'containers': "
           "[{'image': 'busybox:latest'}]}}");
    /* {name}: generateName when there is no name yet */
    denies(&f, "POST", "/api/v1/namespaces/ci/pods",
           "{'metadata': {'generateName': 'runner-'}, 'spec': {'containers': "
           "[{'image': 'busybox:latest'}]}}",
           "no-latest", 422, "Invalid",
           "admission webhook 'no-latest' denied the request: runner- in ci: latest");
    /* no object (a body that did not decode): predicates see every path absent */
    passes(&f, "POST", PODS, NULL);
    release(&f);
}

static void test_reasons_codes_and_text(void **state)
{
    (void)state;
    struct fixture f;
    build(&f, "[{'name': 'a', 'match': {'resource': 'secrets'}, 'deny': {'code': 400, "
              "'message': 'bad {Name}{} {X1}'}},"
              " {'name': 'b', 'match': {'resource': 'configmaps'}, 'deny': {'reason': 'Custom', "
              "'message': 'admission webhook \\'real.webhook\\' denied the request: {name}'}}]");
    /* 400 defaults to BadRequest; braces that are not placeholders stay text */
    denies(&f, "POST", "/api/v1/namespaces/default/secrets", "{'metadata': {'name': 's'}}", "a",
           400, "BadRequest", "admission webhook 'a' denied the request: bad {Name}{} {X1}");
    denies(&f, "DELETE", "/api/v1/namespaces/default/configmaps/c", "{'metadata': {'name': 'c'}}",
           "b", 403, "Custom", "admission webhook 'real.webhook' denied the request: c");
    release(&f);
}

static void test_status_body(void **state)
{
    (void)state;
    struct fixture f;
    struct admission_result res;
    build(&f, RO_POLICY);
    assert_int_equal(decide(&f, "POST", PODS,
                            "{'metadata': {'name': 'p'}, 'spec': {'containers': [{'name': "
                            "'build'}]}}",
                            &res),
                     1);
    cJSON *st = admission_status(&res);
    char *text = cJSON_PrintUnformatted(st);
    char *want = dq("{'kind':'Status','apiVersion':'v1','metadata':{},'status':'Failure',"
                    "'message':'admission webhook \\'validation.gatekeeper.sh\\' denied the "
                    "request: [psp-readonlyrootfilesystem] only read-only root filesystem "
                    "container is allowed: build','reason':'Forbidden','code':403}");
    assert_string_equal(text, want);
    free(want);
    cJSON_free(text);
    cJSON_Delete(st);
    admission_result_release(&res);
    admission_result_release(&res); /* released twice: no double free */
    release(&f);
}

static void test_faults_and_order(void **state)
{
    (void)state;
    struct fixture f;
    struct admission_result res;
    build(&f, "[{'name': 'slow', 'match': {'verb': 'create', 'resource': 'secrets'},"
              "  'exempt': {'namespaces': ['kube-*']},"
              "  'fault': {'type': 'error', 'name': 'webhook-timeout', 'timeoutSeconds': 1}},"
              " {'name': 'deny-all', 'deny': {'message': 'no'}}]");
    assert_int_equal(decide(&f, "POST", "/api/v1/namespaces/default/secrets",
                            "{'metadata': {'name': 's'}}", &res),
                     1);
    assert_string_equal(res.policy, "slow");
    assert_int_equal(res.deny, 0);
    assert_non_null(res.fault);
    assert_null(res.message);
    admission_result_release(&res);
    /* exempt from the first: the next policy decides */
    denies(&f, "POST", "/api/v1/namespaces/kube-system/secrets", "{'metadata': {'name': 's'}}",
           "deny-all", 403, "Forbidden", "admission webhook 'deny-all' denied the request: no");
    release(&f);
}

static void test_needs_body(void **state)
{
    (void)state;
    struct fixture f;
    struct rq q;
    build(&f, "[{'name': 'd', 'match': {'verb': 'delete'}, 'deny': {'message': 'no'}},"
              " {'name': 'p', 'match': {'verb': 'patch'}, 'deny': {'message': 'no'}}]");
    routed(&q, "POST", PODS);
    assert_int_equal(admission_needs_body(f.a, &q.req, &q.r), 0);
    routed(&q, "PATCH", PODS "/p");
    assert_int_equal(admission_needs_body(f.a, &q.req, &q.r), 1);
    routed(&q, "DELETE", PODS "/p"); /* deletes look at the stored object */
    assert_int_equal(admission_needs_body(f.a, &q.req, &q.r), 0);
    routed(&q, "GET", PODS "/p");
    assert_int_equal(admission_needs_body(f.a, &q.req, &q.r), 0);
    assert_int_equal(admission_needs_body(NULL, &q.req, &q.r), 0);
    release(&f);
}

static void test_lazy_and_empty(void **state)
{
    (void)state;
    struct diag d;
    const char *text = "{\"name\": \"t\"}";
    struct admission *slot = NULL;
    diag_init(&d, "t.json");
    struct scenario *s = scenario_parse("t.json", text, strlen(text), &d);
    assert_non_null(s);
    /* no policies: nothing built, nothing to free */
    assert_null(admission_get(&slot, s));
    assert_null(slot);
    struct admission *a = admission_new(s, &d);
    assert_non_null(a);
    struct rq q;
    struct admission_result res;
    routed(&q, "POST", PODS);
    assert_int_equal(admission_decide(a, &q.req, &q.r, NULL, &res), 0);
    assert_int_equal(admission_on_request(a, NULL, NULL, &q.req, &q.r, NULL, NULL), HOOK_PASS);
    admission_free(a);
    admission_free(NULL);
    scenario_free(s);
    diag_release(&d);

    struct fixture f;
    build(&f, RO_POLICY);
    assert_non_null(admission_get(&slot, f.s));
    struct admission *first = slot;
    assert_ptr_equal(admission_get(&slot, f.s), first); /* built once */
    admission_free(slot);
    release(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_for_each_names_the_first_offender),
        cmocka_unit_test(test_exemptions),
        cmocka_unit_test(test_verbs_and_subresources),
        cmocka_unit_test(test_predicates),
        cmocka_unit_test(test_reasons_codes_and_text),
        cmocka_unit_test(test_status_body),
        cmocka_unit_test(test_faults_and_order),
        cmocka_unit_test(test_needs_body),
        cmocka_unit_test(test_lazy_and_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
