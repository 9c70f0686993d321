/* test_it_discovery.c -- /version, legacy and aggregated discovery by Accept, resource lists,
 * OpenAPI, health endpoints, over real sockets */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "itest.h"

#define ACCEPT_KUBECTL_132                                                                         \
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/"            \
    "json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
#define ACCEPT_KUBECTL_129                                                                         \
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
#define CT_AGGREGATED "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

static struct itest *start_plain(void **state)
{
    struct itest_opts o = {0};
    return itest_start(state, &o);
}

/* GET with an Accept header; returns the JSON and the Content-Type. */
static cJSON *get_accept(struct itest *t, const char *path, const char *accept, char *ctype,
                         size_t ctlen)
{
    struct itest_req r = {0};
    struct itest_resp resp;
    r.path = path;
    r.accept = accept;
    itest_request(t, &r, &resp);
    assert_int_equal(resp.curl, CURLE_OK);
    assert_int_equal(resp.code, 200);
    if (!itest_resp_header(&resp, "Content-Type", ctype, ctlen))
        ctype[0] = '\0';
    cJSON *j = cJSON_Parse(resp.body);
    if (!j)
        fail_msg("%s: not JSON: %.200s", path, resp.body);
    itest_resp_release(&resp);
    return j;
}

/* The entry of array arr whose string field key equals value, or NULL. */
static const cJSON *find_by(const cJSON *arr, const char *key, const char *value)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        const char *v = itest_jstr(it, key);
        if (v && strcmp(v, value) == 0)
            return it;
    }
    return NULL;
}

static int has_string(const cJSON *arr, const char *s)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0) return 1;
    return 0;
}

static void test_version(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    cJSON *v = itest_json(t, "GET", "/version", NULL, &code);
    assert_int_equal(code, 200);
    assert_string_equal(itest_jstr(v, "major"), "1");
    assert_string_equal(itest_jstr(v, "minor"), "32");
    assert_string_equal(itest_jstr(v, "gitVersion"), "v1.32.0");
    assert_string_equal(itest_jstr(v, "platform"), "linux/amd64");
    cJSON_Delete(v);
}

static void test_version_minor_from_opts(void **state)
{
    struct itest_opts o = {0};
    o.kube_version = "1.29";
    struct itest *t = itest_start(state, &o);
    long code;
    cJSON *v = itest_json(t, "GET", "/version", NULL, &code);
    assert_int_equal(code, 200);
    assert_string_equal(itest_jstr(v, "minor"), "29");
    assert_string_equal(itest_jstr(v, "gitVersion"), "v1.29.0");
    cJSON_Delete(v);
    /* the node reports the same kubelet version */
    v = itest_json(t, "GET", "/api/v1/nodes/kubefault-node", NULL, &code);
    assert_int_equal(code, 200);
    assert_string_equal(itest_jstr(v, "status.nodeInfo.kubeletVersion"), "v1.29.0");
    cJSON_Delete(v);
}

static void test_api_legacy(void **state)
{
    struct itest *t = start_plain(state);
    char ct[256], addr[64];
    cJSON *j = get_accept(t, "/api", "application/json, */*", ct, sizeof ct);
    assert_string_equal(ct, "application/json");
    assert_string_equal(itest_jstr(j, "kind"), "APIVersions");
    assert_string_equal(itest_jstr(j, "versions.0"), "v1");
    snprintf(addr, sizeof addr, "127.0.0.1:%d", itest_port(t));
    assert_string_equal(itest_jstr(j, "serverAddressByClientCIDRs.0.serverAddress"), addr);
    cJSON_Delete(j);
    /* no Accept at all: legacy too */
    j = get_accept(t, "/api", NULL, ct, sizeof ct);
    assert_string_equal(itest_jstr(j, "kind"), "APIVersions");
    cJSON_Delete(j);
}

static void test_api_aggregated(void **state)
{
    struct itest *t = start_plain(state);
    char ct[256];
    cJSON *j = get_accept(t, "/api", ACCEPT_KUBECTL_132, ct, sizeof ct);
    assert_string_equal(ct, CT_AGGREGATED);
    assert_string_equal(itest_jstr(j, "kind"), "APIGroupDiscoveryList");
    assert_string_equal(itest_jstr(j, "apiVersion"), "apidiscovery.k8s.io/v2");
    assert_string_equal(itest_jstr(j, "items.0.versions.0.version"), "v1");
    const cJSON *res = itest_jget(j, "items.0.versions.0.resources");
    const cJSON *pods = find_by(res, "resource", "pods");
    assert_non_null(pods);
    assert_string_equal(itest_jstr(pods, "scope"), "Namespaced");
    assert_string_equal(itest_jstr(pods, "responseKind.kind"), "Pod");
    assert_true(has_string(itest_jget(pods, "shortNames"), "po"));
    const cJSON *subs = itest_jget(pods, "subresources");
    assert_non_null(find_by(subs, "subresource", "log"));
    assert_non_null(find_by(subs, "subresource", "exec"));
    cJSON_Delete(j);
}

static void test_api_v2beta1_only_gets_legacy(void **state)
{
    /* kubectl 1.29 breaks on a v2 answer (kube-wire.md section 2) */
    struct itest *t = start_plain(state);
    char ct[256];
    cJSON *j = get_accept(t, "/api", ACCEPT_KUBECTL_129, ct, sizeof ct);
    assert_string_equal(ct, "application/json");
    assert_string_equal(itest_jstr(j, "kind"), "APIVersions");
    cJSON_Delete(j);
    j = get_accept(t, "/apis", ACCEPT_KUBECTL_129, ct, sizeof ct);
    assert_string_equal(ct, "application/json");
    assert_string_equal(itest_jstr(j, "kind"), "APIGroupList");
    cJSON_Delete(j);
}

static void test_apis_legacy_and_aggregated(void **state)
{
    struct itest *t = start_plain(state);
    char ct[256];
    cJSON *j = get_accept(t, "/apis", "application/json, */*", ct, sizeof ct);
    assert_string_equal(itest_jstr(j, "kind"), "APIGroupList");
    const cJSON *policy = find_by(itest_jget(j, "groups"), "name", "policy");
    assert_non_null(policy);
    assert_string_equal(itest_jstr(policy, "preferredVersion.groupVersion"), "policy/v1");
    assert_non_null(find_by(itest_jget(j, "groups"), "name", "authorization.k8s.io"));
    cJSON_Delete(j);

    j = get_accept(t, "/apis", ACCEPT_KUBECTL_132, ct, sizeof ct);
    assert_string_equal(ct, CT_AGGREGATED);
    assert_string_equal(itest_jstr(j, "kind"), "APIGroupDiscoveryList");
    const cJSON *pg = NULL, *it;
    cJSON_ArrayForEach(it, itest_jget(j, "items"))
    {
        if (itest_jstr(it, "metadata.name") &&
            strcmp(itest_jstr(it, "metadata.name"), "policy") == 0)
            pg = it;
    }
    assert_non_null(pg);
    const cJSON *pdb =
        find_by(itest_jget(pg, "versions.0.resources"), "resource", "poddisruptionbudgets");
    assert_non_null(pdb);
    assert_true(has_string(itest_jget(pdb, "shortNames"), "pdb"));
    cJSON_Delete(j);
}

static void test_api_v1_resources(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    cJSON *j = itest_json(t, "GET", "/api/v1", NULL, &code);
    assert_int_equal(code, 200);
    assert_string_equal(itest_jstr(j, "kind"), "APIResourceList");
    assert_string_equal(itest_jstr(j, "groupVersion"), "v1");
    const cJSON *res = itest_jget(j, "resources");
    const cJSON *pods = find_by(res, "name", "pods");
    assert_non_null(pods);
    assert_true(cJSON_IsTrue(itest_jget(pods, "namespaced")));
    assert_string_equal(itest_jstr(pods, "kind"), "Pod");
    assert_string_equal(itest_jstr(pods, "singularName"), "pod");
    assert_true(has_string(itest_jget(pods, "shortNames"), "po"));
    assert_true(has_string(itest_jget(pods, "verbs"), "watch"));
    const cJSON *log = find_by(res, "name", "pods/log");
    assert_non_null(log);
    assert_string_equal(itest_jstr(log, "kind"), "Pod");
    assert_non_null(find_by(res, "name", "pods/exec"));
    assert_non_null(find_by(res, "name", "pods/attach"));
    assert_non_null(find_by(res, "name", "pods/status"));
    const cJSON *ns = find_by(res, "name", "namespaces");
    assert_non_null(ns);
    assert_true(cJSON_IsFalse(itest_jget(ns, "namespaced")));
    assert_true(has_string(itest_jget(ns, "shortNames"), "ns"));
    assert_non_null(find_by(res, "name", "secrets"));
    assert_non_null(find_by(res, "name", "configmaps"));
    cJSON_Delete(j);
}

static void test_group_documents(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    cJSON *j = itest_json(t, "GET", "/apis/policy", NULL, &code);
    assert_int_equal(code, 200);
    assert_string_equal(itest_jstr(j, "kind"), "APIGroup");
    assert_string_equal(itest_jstr(j, "name"), "policy");
    cJSON_Delete(j);
    j = itest_json(t, "GET", "/apis/policy/v1", NULL, &code);
    assert_int_equal(code, 200);
    assert_string_equal(itest_jstr(j, "groupVersion"), "policy/v1");
    const cJSON *pdb = find_by(itest_jget(j, "resources"), "name", "poddisruptionbudgets");
    assert_non_null(pdb);
    assert_string_equal(itest_jstr(pdb, "kind"), "PodDisruptionBudget");
    cJSON_Delete(j);
    j = itest_json(t, "GET", "/apis/authorization.k8s.io/v1", NULL, &code);
    assert_int_equal(code, 200);
    assert_non_null(find_by(itest_jget(j, "resources"), "name", "selfsubjectaccessreviews"));
    cJSON_Delete(j);
    /* a group that is not served */
    itest_assert_status(itest_json(t, "GET", "/apis/apps/v1", NULL, &code), &code, 404, "NotFound",
                        "the server could not find the requested resource");
    itest_assert_status(itest_json(t, "GET", "/apis/apps", NULL, &code), &code, 404, "NotFound",
                        "the server could not find the requested resource");
}

static void test_openapi_v3(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    cJSON *j = itest_json(t, "GET", "/openapi/v3", NULL, &code);
    assert_int_equal(code, 200);
    const cJSON *paths = itest_jget(j, "paths");
    assert_true(cJSON_IsObject(paths));
    const cJSON *core = cJSON_GetObjectItemCaseSensitive(paths, "api/v1");
    const char *url = itest_jstr(core, "serverRelativeURL");
    assert_non_null(url);
    assert_int_equal(strncmp(url, "/openapi/v3/api/v1?hash=", 24), 0);
    assert_non_null(cJSON_GetObjectItemCaseSensitive(paths, "apis/policy/v1"));
    char path[256];
    snprintf(path, sizeof path, "%s", url);
    cJSON_Delete(j);
    j = itest_json(t, "GET", path, NULL, &code);
    assert_int_equal(code, 200);
    assert_string_equal(itest_jstr(j, "openapi"), "3.0.0");
    assert_non_null(itest_jget(j, "paths"));
    cJSON_Delete(j);
}

/* /openapi/v2: Swagger 2.0 JSON by default; gnostic protobuf for the Accept kubectl 1.27+ send,
 * under the dotted Content-Type kube-apiserver uses (Go's mime parser rejects the '@' form). */
static void test_openapi_v2(void **state)
{
    struct itest *t = start_plain(state);
    struct itest_req r = {0};
    struct itest_resp resp;
    char ctype[128];
    long code;
    cJSON *j = itest_json(t, "GET", "/openapi/v2", NULL, &code);

    assert_int_equal(code, 200);
    assert_string_equal(itest_jstr(j, "swagger"), "2.0");
    assert_non_null(itest_jget(j, "definitions"));
    cJSON_Delete(j);

    r.path = "/openapi/v2?timeout=32s";
    r.accept = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
    itest_request(t, &r, &resp);
    assert_int_equal(resp.curl, CURLE_OK);
    assert_int_equal(resp.code, 200);
    assert_non_null(itest_resp_header(&resp, "Content-Type", ctype, sizeof(ctype)));
    assert_string_equal(ctype, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf");
    assert_true(resp.len > 1000);
    assert_memory_equal(resp.body,
                        "\x0a\x03"
                        "2.0",
                        5); /* Document.swagger = "2.0" */
    itest_resp_release(&resp);
}

/* The OpenAPI documents are built once per server and kept: every later answer is the same bytes
 * under the same Content-Type, the JSON and protobuf forms of /openapi/v2 kept apart, and a group
 * version the server does not have stays a 404. */
static void get_doc(struct itest *t, const char *path, const char *accept, struct itest_resp *out,
                    const char *want_ctype)
{
    struct itest_req r = {0};
    char ctype[128];
    r.path = path;
    r.accept = accept;
    itest_request(t, &r, out);
    assert_int_equal(out->curl, CURLE_OK);
    assert_int_equal(out->code, 200);
    assert_non_null(itest_resp_header(out, "Content-Type", ctype, sizeof(ctype)));
    assert_string_equal(ctype, want_ctype);
    assert_true(out->len > 100);
}

static void test_openapi_kept(void **state)
{
    struct itest *t = start_plain(state);
    static const char pb[] = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
    static const char pbtype[] = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
    static const struct {
        const char *path, *accept, *ctype;
    } docs[] = {{"/openapi/v3", NULL, "application/json"},
                {"/openapi/v3/api/v1", NULL, "application/json"},
                {"/openapi/v3/apis/policy/v1", NULL, "application/json"},
                {"/openapi/v2", NULL, "application/json"},
                {"/openapi/v2", pb, pbtype}};
    struct itest_resp first[5], again;
    for (size_t i = 0; i < 5; i++)
        get_doc(t, docs[i].path, docs[i].accept, &first[i], docs[i].ctype);
    for (size_t k = 0; k < 5; k++) {
        size_t i = 4 - k; /* the other order: protobuf first, then JSON */
        get_doc(t, docs[i].path, docs[i].accept, &again, docs[i].ctype);
        assert_int_equal(again.len, first[i].len);
        assert_memory_equal(again.body, first[i].body, first[i].len);
        itest_resp_release(&again);
    }
    assert_int_equal(first[3].body[0], '{');    /* the JSON v2 */
    assert_int_equal(first[4].body[0], '\x0a'); /* the protobuf v2 */
    for (size_t i = 0; i < 5; i++)
        itest_resp_release(&first[i]);
    long code;
    for (int n = 0; n < 2; n++)
        itest_assert_status(
            itest_json(t, "GET", "/openapi/v3/apis/nope.example.com/v1", NULL, &code), &code, 404,
            "NotFound", "the server could not find the requested resource");
}

static void test_unknown_paths(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    itest_assert_status(itest_json(t, "GET", "/nope", NULL, &code), &code, 404, "NotFound",
                        "the server could not find the requested resource");
    itest_assert_status(itest_json(t, "GET", "/api/v2", NULL, &code), &code, 404, "NotFound",
                        "the server could not find the requested resource");
    itest_assert_status(itest_json(t, "GET", "/api/v1/namespaces/default/foos", NULL, &code), &code,
                        404, "NotFound", "the server could not find the requested resource");
}

static void test_health(void **state)
{
    struct itest *t = start_plain(state);
    const char *paths[] = {"/healthz", "/readyz", "/livez", "/readyz/ping"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct itest_req r = {0};
        struct itest_resp resp;
        r.path = paths[i];
        itest_request(t, &r, &resp);
        assert_int_equal(resp.curl, CURLE_OK);
        assert_int_equal(resp.code, 200);
        assert_string_equal(resp.body, "ok");
        itest_resp_release(&resp);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_version, itest_teardown),
        cmocka_unit_test_teardown(test_version_minor_from_opts, itest_teardown),
        cmocka_unit_test_teardown(test_api_legacy, itest_teardown),
        cmocka_unit_test_teardown(test_api_aggregated, itest_teardown),
        cmocka_unit_test_teardown(test_api_v2beta1_only_gets_legacy, itest_teardown),
        cmocka_unit_test_teardown(test_apis_legacy_and_aggregated, itest_teardown),
        cmocka_unit_test_teardown(test_api_v1_resources, itest_teardown),
        cmocka_unit_test_teardown(test_group_documents, itest_teardown),
        cmocka_unit_test_teardown(test_openapi_v3, itest_teardown),
        cmocka_unit_test_teardown(test_openapi_v2, itest_teardown),
        cmocka_unit_test_teardown(test_openapi_kept, itest_teardown),
        cmocka_unit_test_teardown(test_unknown_paths, itest_teardown),
        cmocka_unit_test_teardown(test_health, itest_teardown),
    };
    itest_filter_from_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
