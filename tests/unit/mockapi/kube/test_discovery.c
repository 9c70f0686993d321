/* test_discovery.c -- /version, legacy and aggregated discovery documents, Accept negotiation */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "mockapi/kube/discovery.h"
#include "mockapi/kube/kinds.h"

/* What kubectl sends on GET /api and /apis (kube-wire.md section 2). */
#define ACCEPT_1_32                                                                                \
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/"            \
    "json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
#define ACCEPT_1_29                                                                                \
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"

/* Asserts that item prints (unformatted) exactly as want. */
static void assert_json(const cJSON *item, const char *want)
{
    char *got;

    assert_non_null(item);
    got = cJSON_PrintUnformatted(item);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static const char *str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static cJSON *field(const cJSON *obj, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    assert_non_null(v);
    return v;
}

/* The element of arr whose string member key equals value, or NULL. */
static cJSON *find_by(const cJSON *arr, const char *key, const char *value)
{
    cJSON *e;

    cJSON_ArrayForEach(e, arr)
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, key);
        if (cJSON_IsString(v) && strcmp(v->valuestring, value) == 0)
            return e;
    }
    return NULL;
}

static void test_version(void **state)
{
    cJSON *doc = discovery_version("32");

    (void)state;
    assert_json(doc,
                "{\"major\":\"1\",\"minor\":\"32\",\"gitVersion\":\"v1.32.0\","
                "\"gitCommit\":\"0123456789abcdef0123456789abcdef01234567\","
                "\"gitTreeState\":\"clean\",\"buildDate\":\"2024-01-01T00:00:00Z\","
                "\"goVersion\":\"go1.23.0\",\"compiler\":\"gc\",\"platform\":\"linux/amd64\"}");
    cJSON_Delete(doc);

    doc = discovery_version("29");
    assert_string_equal(str(doc, "gitVersion"), "v1.29.0");
    cJSON_Delete(doc);

    assert_null(discovery_version(NULL));
    assert_null(discovery_version(""));
    assert_null(discovery_version("3a"));
    assert_null(discovery_version("1234"));
    assert_null(discovery_version("-1"));
}

static void test_api_versions(void **state)
{
    cJSON *doc = discovery_api_versions("127.0.0.1:6443");

    (void)state;
    assert_json(doc, "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"],"
                     "\"serverAddressByClientCIDRs\":[{\"clientCIDR\":\"0.0.0.0/0\","
                     "\"serverAddress\":\"127.0.0.1:6443\"}]}");
    cJSON_Delete(doc);

    doc = discovery_api_versions(NULL);
    assert_json(field(doc, "serverAddressByClientCIDRs"), "[]");
    cJSON_Delete(doc);
}

static void test_api_groups(void **state)
{
    cJSON *doc = discovery_api_groups();
    cJSON *groups;
    cJSON *policy;

    (void)state;
    assert_string_equal(str(doc, "kind"), "APIGroupList");
    assert_string_equal(str(doc, "apiVersion"), "v1");
    groups = field(doc, "groups");
    assert_int_equal(cJSON_GetArraySize(groups), 2);
    assert_null(find_by(groups, "name", ""));
    policy = find_by(groups, "name", "policy");
    assert_json(policy, "{\"name\":\"policy\",\"versions\":[{\"groupVersion\":\"policy/v1\","
                        "\"version\":\"v1\"}],\"preferredVersion\":{\"groupVersion\":\"policy/"
                        "v1\",\"version\":\"v1\"}}");
    assert_json(field(find_by(groups, "name", "authorization.k8s.io"), "preferredVersion"),
                "{\"groupVersion\":\"authorization.k8s.io/v1\",\"version\":\"v1\"}");
    cJSON_Delete(doc);
}

static void test_api_group(void **state)
{
    cJSON *doc = discovery_api_group("policy");

    (void)state;
    assert_json(doc, "{\"kind\":\"APIGroup\",\"apiVersion\":\"v1\",\"name\":\"policy\","
                     "\"versions\":[{\"groupVersion\":\"policy/v1\",\"version\":\"v1\"}],"
                     "\"preferredVersion\":{\"groupVersion\":\"policy/v1\",\"version\":\"v1\"}}");
    cJSON_Delete(doc);
    assert_null(discovery_api_group(""));
    assert_null(discovery_api_group("apps"));
}

static void test_resource_list_core(void **state)
{
    cJSON *doc = discovery_resource_list("", "v1");
    cJSON *res;
    cJSON *pods;
    cJSON *e;
    int i = 0;
    int pods_at = -1;

    (void)state;
    assert_string_equal(str(doc, "kind"), "APIResourceList");
    assert_string_equal(str(doc, "groupVersion"), "v1");
    res = field(doc, "resources");

    pods = find_by(res, "name", "pods");
    assert_json(pods, "{\"name\":\"pods\",\"singularName\":\"pod\",\"namespaced\":true,"
                      "\"kind\":\"Pod\",\"verbs\":[\"create\",\"delete\",\"deletecollection\","
                      "\"get\",\"list\",\"patch\",\"update\",\"watch\"],\"shortNames\":[\"po\"],"
                      "\"categories\":[\"all\"]}");
    assert_json(find_by(res, "name", "pods/exec"),
                "{\"name\":\"pods/exec\",\"singularName\":\"\",\"namespaced\":true,"
                "\"kind\":\"PodExecOptions\",\"verbs\":[\"create\",\"get\"]}");
    assert_json(find_by(res, "name", "pods/attach"),
                "{\"name\":\"pods/attach\",\"singularName\":\"\",\"namespaced\":true,"
                "\"kind\":\"PodAttachOptions\",\"verbs\":[\"create\",\"get\"]}");
    assert_json(find_by(res, "name", "pods/log"),
                "{\"name\":\"pods/log\",\"singularName\":\"\",\"namespaced\":true,"
                "\"kind\":\"Pod\",\"verbs\":[\"get\"]}");
    assert_json(find_by(res, "name", "pods/status"),
                "{\"name\":\"pods/status\",\"singularName\":\"\",\"namespaced\":true,"
                "\"kind\":\"Pod\",\"verbs\":[\"get\",\"patch\",\"update\"]}");

    /* Subresources follow their parent. */
    cJSON_ArrayForEach(e, res)
    {
        if (strcmp(str(e, "name"), "pods") == 0)
            pods_at = i;
        i++;
    }
    assert_string_equal(str(cJSON_GetArrayItem(res, pods_at + 1), "name"), "pods/status");

    /* Cluster-scoped, no short names, categories only where kube has them. */
    assert_false(cJSON_IsTrue(field(find_by(res, "name", "namespaces"), "namespaced")));
    assert_json(field(find_by(res, "name", "namespaces"), "shortNames"), "[\"ns\"]");
    assert_json(field(find_by(res, "name", "namespaces/status"), "verbs"),
                "[\"get\",\"patch\",\"update\"]");
    assert_null(cJSON_GetObjectItem(find_by(res, "name", "secrets"), "shortNames"));
    assert_null(cJSON_GetObjectItem(find_by(res, "name", "secrets"), "categories"));
    assert_json(field(find_by(res, "name", "services"), "categories"), "[\"all\"]");
    assert_json(field(find_by(res, "name", "configmaps"), "shortNames"), "[\"cm\"]");
    assert_null(find_by(res, "name", "poddisruptionbudgets"));
    cJSON_Delete(doc);
}

static void test_resource_list_group(void **state)
{
    cJSON *doc = discovery_resource_list("policy", "v1");
    cJSON *res;

    (void)state;
    assert_string_equal(str(doc, "groupVersion"), "policy/v1");
    res = field(doc, "resources");
    assert_int_equal(cJSON_GetArraySize(res), 2);
    assert_json(cJSON_GetArrayItem(res, 0),
                "{\"name\":\"poddisruptionbudgets\",\"singularName\":\"poddisruptionbudget\","
                "\"namespaced\":true,\"kind\":\"PodDisruptionBudget\",\"verbs\":[\"create\","
                "\"delete\",\"deletecollection\",\"get\",\"list\",\"patch\",\"update\","
                "\"watch\"],\"shortNames\":[\"pdb\"]}");
    assert_string_equal(str(cJSON_GetArrayItem(res, 1), "name"), "poddisruptionbudgets/status");
    cJSON_Delete(doc);

    doc = discovery_resource_list("authorization.k8s.io", "v1");
    assert_json(field(doc, "resources"),
                "[{\"name\":\"selfsubjectaccessreviews\",\"singularName\":"
                "\"selfsubjectaccessreview\",\"namespaced\":false,\"kind\":"
                "\"SelfSubjectAccessReview\",\"verbs\":[\"create\"]}]");
    cJSON_Delete(doc);
}

static void test_resource_list_unknown(void **state)
{
    (void)state;
    assert_null(discovery_resource_list("", "v2"));
    assert_null(discovery_resource_list("apps", "v1"));
    assert_null(discovery_resource_list("policy", "v1beta1"));
    assert_null(discovery_resource_list("policy", ""));
}

static void test_aggregated_core(void **state)
{
    cJSON *doc = discovery_aggregated(1);
    cJSON *items;
    cJSON *item;
    cJSON *ver;
    cJSON *res;
    cJSON *pods;
    cJSON *subs;

    (void)state;
    assert_string_equal(str(doc, "kind"), "APIGroupDiscoveryList");
    assert_string_equal(str(doc, "apiVersion"), "apidiscovery.k8s.io/v2");
    assert_json(field(doc, "metadata"), "{}");
    items = field(doc, "items");
    assert_int_equal(cJSON_GetArraySize(items), 1);
    item = cJSON_GetArrayItem(items, 0);
    assert_json(field(item, "metadata"), "{\"creationTimestamp\":null}");
    assert_int_equal(cJSON_GetArraySize(field(item, "versions")), 1);
    ver = cJSON_GetArrayItem(field(item, "versions"), 0);
    assert_string_equal(str(ver, "version"), "v1");
    assert_string_equal(str(ver, "freshness"), "Current");
    res = field(ver, "resources");

    pods = find_by(res, "resource", "pods");
    assert_non_null(pods);
    assert_json(field(pods, "responseKind"), "{\"group\":\"\",\"version\":\"\",\"kind\":\"Pod\"}");
    assert_string_equal(str(pods, "scope"), "Namespaced");
    assert_string_equal(str(pods, "singularResource"), "pod");
    assert_json(field(pods, "verbs"), "[\"create\",\"delete\",\"deletecollection\",\"get\","
                                      "\"list\",\"patch\",\"update\",\"watch\"]");
    assert_json(field(pods, "shortNames"), "[\"po\"]");
    assert_json(field(pods, "categories"), "[\"all\"]");
    subs = field(pods, "subresources");
    assert_int_equal(cJSON_GetArraySize(subs), 4);
    assert_json(find_by(subs, "subresource", "log"),
                "{\"subresource\":\"log\",\"responseKind\":{\"group\":\"\",\"version\":\"\","
                "\"kind\":\"Pod\"},\"verbs\":[\"get\"]}");
    assert_json(find_by(subs, "subresource", "exec"),
                "{\"subresource\":\"exec\",\"responseKind\":{\"group\":\"\",\"version\":\"\","
                "\"kind\":\"PodExecOptions\"},\"verbs\":[\"create\",\"get\"]}");
    assert_json(field(find_by(subs, "subresource", "attach"), "responseKind"),
                "{\"group\":\"\",\"version\":\"\",\"kind\":\"PodAttachOptions\"}");
    assert_json(field(find_by(subs, "subresource", "status"), "verbs"),
                "[\"get\",\"patch\",\"update\"]");

    assert_string_equal(str(find_by(res, "resource", "namespaces"), "scope"), "Cluster");
    assert_string_equal(str(find_by(res, "resource", "nodes"), "scope"), "Cluster");
    assert_null(cJSON_GetObjectItem(find_by(res, "resource", "secrets"), "shortNames"));
    assert_null(cJSON_GetObjectItem(find_by(res, "resource", "secrets"), "subresources"));
    assert_null(find_by(res, "resource", "poddisruptionbudgets"));
    cJSON_Delete(doc);
}

static void test_aggregated_apis(void **state)
{
    cJSON *doc = discovery_aggregated(0);
    cJSON *items;
    cJSON *policy = NULL;
    cJSON *e;
    cJSON *pdb;

    (void)state;
    items = field(doc, "items");
    assert_int_equal(cJSON_GetArraySize(items), 2);
    cJSON_ArrayForEach(e, items)
    {
        if (strcmp(str(field(e, "metadata"), "name"), "policy") == 0)
            policy = e;
    }
    assert_non_null(policy);
    assert_json(field(policy, "metadata"), "{\"name\":\"policy\",\"creationTimestamp\":null}");
    pdb =
        cJSON_GetArrayItem(field(cJSON_GetArrayItem(field(policy, "versions"), 0), "resources"), 0);
    assert_json(pdb, "{\"resource\":\"poddisruptionbudgets\",\"responseKind\":{\"group\":\"\","
                     "\"version\":\"\",\"kind\":\"PodDisruptionBudget\"},\"scope\":"
                     "\"Namespaced\",\"singularResource\":\"poddisruptionbudget\",\"verbs\":["
                     "\"create\",\"delete\",\"deletecollection\",\"get\",\"list\",\"patch\","
                     "\"update\",\"watch\"],\"shortNames\":[\"pdb\"],\"subresources\":[{"
                     "\"subresource\":\"status\",\"responseKind\":{\"group\":\"\",\"version\":"
                     "\"\",\"kind\":\"PodDisruptionBudget\"},\"verbs\":[\"get\",\"patch\","
                     "\"update\"]}]}");
    cJSON_Delete(doc);
}

/* Every row of kinds.def shows up once in its group version, in both discovery forms: a
 * subresource missing from discovery.c's table would make these documents NULL. */
static void test_every_kind_listed(void **state)
{
    (void)state;
    for (size_t i = 0; i < KIND__COUNT; i++) {
        const struct kinds_info *k = &kinds_table[i];
        cJSON *list = discovery_resource_list(k->group, k->version);
        cJSON *agg = discovery_aggregated(k->group[0] == '\0');
        cJSON *item;
        cJSON *ver;
        int found = 0;

        assert_non_null(list);
        assert_non_null(agg);
        assert_non_null(find_by(field(list, "resources"), "name", k->resource));
        cJSON_ArrayForEach(item, field(agg, "items"))
        {
            cJSON_ArrayForEach(ver, field(item, "versions"))
            {
                if (find_by(field(ver, "resources"), "resource", k->resource) != NULL)
                    found++;
            }
        }
        assert_int_equal(found, 1);
        cJSON_Delete(list);
        cJSON_Delete(agg);
    }
}

static void test_wants_aggregated(void **state)
{
    (void)state;
    assert_int_equal(discovery_wants_aggregated(ACCEPT_1_32), 1);
    assert_int_equal(discovery_wants_aggregated(ACCEPT_1_29), 0);
    assert_int_equal(discovery_wants_aggregated("application/json, */*"), 0);
    assert_int_equal(discovery_wants_aggregated(NULL), 0);
    assert_int_equal(discovery_wants_aggregated(""), 0);
    assert_int_equal(discovery_wants_aggregated("application/json; g=apidiscovery.k8s.io ; "
                                                "v=v2; as=APIGroupDiscoveryList"),
                     1);
    assert_int_equal(discovery_wants_aggregated(
                         "application/json;as=APIGroupDiscoveryList;v=v2;g=apidiscovery.k8s.io"),
                     1);
    assert_int_equal(discovery_wants_aggregated(
                         "Application/JSON;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"),
                     1);
    /* v2 on its own range, g or as missing, another media type, a longer version. */
    assert_int_equal(discovery_wants_aggregated("application/json;v=v2,application/json;"
                                                "g=apidiscovery.k8s.io;as=APIGroupDiscoveryList"),
                     0);
    assert_int_equal(discovery_wants_aggregated("application/json;v=v2;as=APIGroupDiscoveryList"),
                     0);
    assert_int_equal(discovery_wants_aggregated("application/json;g=apidiscovery.k8s.io;v=v2"), 0);
    assert_int_equal(discovery_wants_aggregated(
                         "application/yaml;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"),
                     0);
    assert_int_equal(discovery_wants_aggregated(
                         "application/json;g=apidiscovery.k8s.io;v=v22;as=APIGroupDiscoveryList"),
                     0);
    assert_int_equal(discovery_wants_aggregated(
                         "application/json;g=apidiscovery.k8s.io;v=v2;as=apigroupdiscoverylist"),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_api_versions),
        cmocka_unit_test(test_api_groups),
        cmocka_unit_test(test_api_group),
        cmocka_unit_test(test_resource_list_core),
        cmocka_unit_test(test_resource_list_group),
        cmocka_unit_test(test_resource_list_unknown),
        cmocka_unit_test(test_aggregated_core),
        cmocka_unit_test(test_aggregated_apis),
        cmocka_unit_test(test_every_kind_listed),
        cmocka_unit_test(test_wants_aggregated),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
