/* test_route.c -- request paths and methods to Kubernetes verbs, resources, namespaces, names and
 * subresources; paths that must not route */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mockapi/kube/kinds.h"
#include "mockapi/kube/route.h"

static struct route parse_ok(const char *method, const char *path, int watch)
{
    struct route r;
    char err[256] = "";
    if (route_parse(method, path, watch, &r, err, sizeof err) != 0)
        fail_msg("%s %s: -1 (%s)", method, path, err);
    return r;
}

static void assert_object(const struct route *r, enum route_verb verb, enum kinds_id kind,
                          const char *ns, const char *name, const char *sub)
{
    assert_int_equal(r->type, ROUTE_OBJECT);
    assert_int_equal(r->verb, verb);
    assert_ptr_equal(r->kind, &kinds_table[kind]);
    assert_string_equal(r->namespace, ns);
    assert_string_equal(r->name, name);
    assert_string_equal(r->subresource, sub);
}

static void test_fixed_paths(void **state)
{
    (void)state;
    struct route r = parse_ok("GET", "/version", 0);
    assert_int_equal(r.type, ROUTE_VERSION);
    const char *health[] = {"/healthz", "/readyz", "/livez", "/readyz/etcd", "/livez/ping"};
    for (size_t i = 0; i < sizeof health / sizeof health[0]; i++) {
        r = parse_ok("GET", health[i], 0);
        assert_int_equal(r.type, ROUTE_HEALTH);
    }
    assert_int_equal(parse_ok("GET", "/api", 0).type, ROUTE_API);
    assert_int_equal(parse_ok("GET", "/apis", 0).type, ROUTE_APIS);
    r = parse_ok("GET", "/apis/policy", 0);
    assert_int_equal(r.type, ROUTE_GROUP);
    assert_string_equal(r.group, "policy");
    r = parse_ok("GET", "/api/v1", 0);
    assert_int_equal(r.type, ROUTE_RESOURCES);
    assert_string_equal(r.group, "");
    assert_string_equal(r.version, "v1");
    r = parse_ok("GET", "/apis/authorization.k8s.io/v1", 0);
    assert_int_equal(r.type, ROUTE_RESOURCES);
    assert_string_equal(r.group, "authorization.k8s.io");
    assert_string_equal(r.version, "v1");
    /* a trailing slash changes nothing */
    assert_int_equal(parse_ok("GET", "/api/v1/", 0).type, ROUTE_RESOURCES);
}

static void test_openapi_paths(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("GET", "/openapi/v3", 0).type, ROUTE_OPENAPI_V3);
    assert_int_equal(parse_ok("GET", "/openapi/v2", 0).type, ROUTE_OPENAPI_V2);
    struct route r = parse_ok("GET", "/openapi/v3/api/v1", 0);
    assert_int_equal(r.type, ROUTE_OPENAPI_V3_GV);
    assert_string_equal(r.group, "");
    assert_string_equal(r.version, "v1");
    r = parse_ok("GET", "/openapi/v3/apis/policy/v1", 0);
    assert_int_equal(r.type, ROUTE_OPENAPI_V3_GV);
    assert_string_equal(r.group, "policy");
    assert_string_equal(r.version, "v1");
    assert_int_equal(parse_ok("GET", "/openapi/v3/other", 0).type, ROUTE_NONE);
    assert_int_equal(parse_ok("GET", "/openapi/v4", 0).type, ROUTE_NONE);
    assert_int_equal(parse_ok("GET", "/openapi", 0).type, ROUTE_NONE);
}

static void test_collection_verbs(void **state)
{
    (void)state;
    const char *p = "/api/v1/namespaces/default/pods";
    struct route r = parse_ok("GET", p, 0);
    assert_object(&r, VERB_LIST, KIND_pods, "default", "", "");
    r = parse_ok("GET", p, 1);
    assert_object(&r, VERB_WATCH, KIND_pods, "default", "", "");
    r = parse_ok("POST", p, 0);
    assert_object(&r, VERB_CREATE, KIND_pods, "default", "", "");
    r = parse_ok("DELETE", p, 0);
    assert_object(&r, VERB_DELETECOLLECTION, KIND_pods, "default", "", "");
    r = parse_ok("GET", "/api/v1/pods", 0);
    assert_object(&r, VERB_LIST, KIND_pods, "", "", "");
    r = parse_ok("GET", "/api/v1/pods", 1);
    assert_object(&r, VERB_WATCH, KIND_pods, "", "", "");
    r = parse_ok("GET", "/apis/policy/v1/namespaces/ci/poddisruptionbudgets", 0);
    assert_object(&r, VERB_LIST, KIND_poddisruptionbudgets, "ci", "", "");
    assert_string_equal(r.group, "policy");
    r = parse_ok("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", 0);
    assert_object(&r, VERB_CREATE, KIND_selfsubjectaccessreviews, "", "", "");
}

static void test_object_verbs(void **state)
{
    (void)state;
    const char *p = "/api/v1/namespaces/default/pods/p1";
    struct route r = parse_ok("GET", p, 0);
    assert_object(&r, VERB_GET, KIND_pods, "default", "p1", "");
    r = parse_ok("HEAD", p, 0);
    assert_object(&r, VERB_GET, KIND_pods, "default", "p1", "");
    r = parse_ok("PUT", p, 0);
    assert_object(&r, VERB_UPDATE, KIND_pods, "default", "p1", "");
    r = parse_ok("PATCH", p, 0);
    assert_object(&r, VERB_PATCH, KIND_pods, "default", "p1", "");
    r = parse_ok("DELETE", p, 0);
    assert_object(&r, VERB_DELETE, KIND_pods, "default", "p1", "");
    /* the deprecated single-object watch */
    r = parse_ok("GET", p, 1);
    assert_object(&r, VERB_WATCH, KIND_pods, "default", "p1", "");
    r = parse_ok("OPTIONS", p, 0);
    assert_int_equal(r.type, ROUTE_OBJECT);
    assert_int_equal(r.verb, VERB_NONE);
}

static void test_subresources(void **state)
{
    (void)state;
    struct route r = parse_ok("GET", "/api/v1/namespaces/default/pods/p1/log", 0);
    assert_object(&r, VERB_GET, KIND_pods, "default", "p1", "log");
    r = parse_ok("POST", "/api/v1/namespaces/default/pods/p1/exec", 0);
    assert_object(&r, VERB_CREATE, KIND_pods, "default", "p1", "exec");
    r = parse_ok("PUT", "/api/v1/namespaces/default/pods/p1/status", 0);
    assert_object(&r, VERB_UPDATE, KIND_pods, "default", "p1", "status");
    /* nothing below a subresource */
    r = parse_ok("GET", "/api/v1/namespaces/default/pods/p1/log/more", 0);
    assert_int_equal(r.type, ROUTE_NONE);
}

static void test_namespaces_themselves(void **state)
{
    (void)state;
    struct route r = parse_ok("GET", "/api/v1/namespaces", 0);
    assert_object(&r, VERB_LIST, KIND_namespaces, "", "", "");
    r = parse_ok("GET", "/api/v1/namespaces/ns1", 0);
    assert_object(&r, VERB_GET, KIND_namespaces, "", "ns1", "");
    r = parse_ok("PUT", "/api/v1/namespaces/ns1/status", 0);
    assert_object(&r, VERB_UPDATE, KIND_namespaces, "", "ns1", "status");
    r = parse_ok("PUT", "/api/v1/namespaces/ns1/finalize", 0);
    assert_object(&r, VERB_UPDATE, KIND_namespaces, "", "ns1", "finalize");
    /* a namespace called "status" still holds pods */
    r = parse_ok("GET", "/api/v1/namespaces/status/pods", 0);
    assert_object(&r, VERB_LIST, KIND_pods, "status", "", "");
    r = parse_ok("DELETE", "/api/v1/namespaces/ns1", 0);
    assert_object(&r, VERB_DELETE, KIND_namespaces, "", "ns1", "");
}

static void test_cluster_scoped(void **state)
{
    (void)state;
    struct route r = parse_ok("GET", "/api/v1/nodes/kubefault-node", 0);
    assert_object(&r, VERB_GET, KIND_nodes, "", "kubefault-node", "");
    char err[256] = "";
    assert_int_equal(route_parse("GET", "/api/v1/namespaces/default/nodes", 0, &r, err, sizeof err),
                     -1);
    assert_string_equal(err, "nodes is not namespaced");
}

static void test_unknown_paths(void **state)
{
    (void)state;
    struct route r = parse_ok("GET", "/api/v1/namespaces/default/foos", 0);
    assert_int_equal(r.type, ROUTE_NONE);
    assert_string_equal(r.unknown_resource, "foos");
    /* a served resource under a version it is not served in */
    r = parse_ok("GET", "/apis/policy/v1beta1/namespaces/default/poddisruptionbudgets", 0);
    assert_int_equal(r.type, ROUTE_NONE);
    /* pods are core, not in a group */
    r = parse_ok("GET", "/apis/apps/v1/namespaces/default/pods", 0);
    assert_int_equal(r.type, ROUTE_NONE);
    assert_int_equal(parse_ok("GET", "/api/v2/pods", 0).type, ROUTE_NONE);
    assert_int_equal(parse_ok("GET", "/", 0).type, ROUTE_NONE);
    assert_int_equal(parse_ok("GET", "", 0).type, ROUTE_NONE);
    assert_int_equal(parse_ok("GET", "/metrics", 0).type, ROUTE_NONE);
}

static void test_caps(void **state)
{
    (void)state;
    char path[2048];
    /* more than ten segments */
    struct route r = parse_ok("GET", "/a/b/c/d/e/f/g/h/i/j/k", 0);
    assert_int_equal(r.type, ROUTE_NONE);
    /* a segment longer than ROUTE_MAX_SEGMENT */
    char name[ROUTE_MAX_SEGMENT + 2];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    snprintf(path, sizeof path, "/api/v1/namespaces/default/pods/%s", name);
    r = parse_ok("GET", path, 0);
    assert_int_equal(r.type, ROUTE_NONE);
    /* exactly ROUTE_MAX_SEGMENT is kept whole */
    name[ROUTE_MAX_SEGMENT] = '\0';
    snprintf(path, sizeof path, "/api/v1/namespaces/default/pods/%s", name);
    r = parse_ok("GET", path, 0);
    assert_object(&r, VERB_GET, KIND_pods, "default", name, "");
}

static void test_overlong_group_is_not_core(void **state)
{
    /* a group name too long for struct route must not fall back to the core group */
    (void)state;
    char group[100], path[512];
    memset(group, 'g', sizeof group - 1);
    group[sizeof group - 1] = '\0';
    snprintf(path, sizeof path, "/apis/%s/v1/namespaces/default/pods", group);
    struct route r = parse_ok("GET", path, 0);
    if (r.type == ROUTE_OBJECT)
        fail_msg("/apis/<99 chars>/v1/.../pods routed to %s/%s", r.kind->group, r.kind->resource);
    assert_int_equal(r.type, ROUTE_NONE);
}

static void test_overlong_subresource_is_not_the_object(void **state)
{
    /* a subresource too long for struct route must not turn the request into one on the object
     * itself (DELETE .../pods/p1/<long> would delete p1) */
    (void)state;
    char sub[64], path[512];
    memset(sub, 's', sizeof sub - 1);
    sub[sizeof sub - 1] = '\0';
    snprintf(path, sizeof path, "/api/v1/namespaces/default/pods/p1/%s", sub);
    struct route r = parse_ok("DELETE", path, 0);
    if (r.type == ROUTE_OBJECT && r.subresource[0] == '\0')
        fail_msg("DELETE .../pods/p1/<63 chars> routed to %s of pod %s itself",
                 route_verb_name(r.verb), r.name);
}

static void test_verb_names(void **state)
{
    (void)state;
    assert_string_equal(route_verb_name(VERB_GET), "get");
    assert_string_equal(route_verb_name(VERB_LIST), "list");
    assert_string_equal(route_verb_name(VERB_WATCH), "watch");
    assert_string_equal(route_verb_name(VERB_CREATE), "create");
    assert_string_equal(route_verb_name(VERB_UPDATE), "update");
    assert_string_equal(route_verb_name(VERB_PATCH), "patch");
    assert_string_equal(route_verb_name(VERB_DELETE), "delete");
    assert_string_equal(route_verb_name(VERB_DELETECOLLECTION), "deletecollection");
    assert_string_equal(route_verb_name(VERB_NONE), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_paths),
        cmocka_unit_test(test_openapi_paths),
        cmocka_unit_test(test_collection_verbs),
        cmocka_unit_test(test_object_verbs),
        cmocka_unit_test(test_subresources),
        cmocka_unit_test(test_namespaces_themselves),
        cmocka_unit_test(test_cluster_scoped),
        cmocka_unit_test(test_unknown_paths),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_overlong_group_is_not_core),
        cmocka_unit_test(test_overlong_subresource_is_not_the_object),
        cmocka_unit_test(test_verb_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
