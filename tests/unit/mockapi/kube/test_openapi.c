/* test_openapi.c -- OpenAPI v3 root and group documents, checked the way kubectl reads them */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "mockapi/kube/kinds.h"
#include "mockapi/kube/openapi.h"

static void assert_json(const cJSON *item, const char *want)
{
    char *got;

    assert_non_null(item);
    got = cJSON_PrintUnformatted(item);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static cJSON *field(const cJSON *obj, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    assert_non_null(v);
    return v;
}

static const char *str(const cJSON *obj, const char *key)
{
    const cJSON *v = field(obj, key);

    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

/* The parameter named name in an operation's parameters, or NULL. */
static cJSON *param(const cJSON *op, const char *name)
{
    cJSON *p;

    cJSON_ArrayForEach(p, field(op, "parameters"))
    {
        if (strcmp(str(p, "name"), name) == 0)
            return p;
    }
    return NULL;
}

/* 1 when the extension object names exactly group/version/kind (kubectl's gvkMatchesSingle). */
static int gvk_is(const cJSON *ext, const char *group, const char *version, const char *kind)
{
    return ext != NULL && strcmp(str(ext, "group"), group) == 0 &&
           strcmp(str(ext, "version"), version) == 0 && strcmp(str(ext, "kind"), kind) == 0;
}

/* kubectl's supportsQueryParamV3 (cli-runtime resource/query_param_verifier_v3.go): the first
 * PATCH operation for the GVK decides. Because Go walks the paths in random order, require every
 * matching PATCH to carry the parameter. Returns the number of matching PATCH operations. */
static int patch_ops_with(const cJSON *doc, const struct kinds_info *k, const char *param_name)
{
    cJSON *path;
    int n = 0;

    cJSON_ArrayForEach(path, field(doc, "paths"))
    {
        const cJSON *op = cJSON_GetObjectItemCaseSensitive(path, "patch");

        if (op == NULL ||
            !gvk_is(cJSON_GetObjectItemCaseSensitive(op, "x-kubernetes-group-version-kind"),
                    k->group, k->version, k->kind))
            continue;
        assert_non_null(param(op, param_name));
        assert_string_equal(str(param(op, param_name), "in"), "query");
        n++;
    }
    return n;
}

/* Every "$ref" below item points at a schema the document has. */
static void assert_refs_resolve(const cJSON *item, const cJSON *schemas)
{
    const cJSON *c;

    if (cJSON_IsString(item) && item->string != NULL && strcmp(item->string, "$ref") == 0) {
        const char *prefix = "#/components/schemas/";

        assert_memory_equal(item->valuestring, prefix, strlen(prefix));
        assert_non_null(
            cJSON_GetObjectItemCaseSensitive(schemas, item->valuestring + strlen(prefix)));
    }
    for (c = item->child; c != NULL; c = c->next)
        assert_refs_resolve(c, schemas);
}

static void test_root(void **state)
{
    cJSON *doc = openapi_v3_root();
    cJSON *paths;
    char hash[OPENAPI_HASH_SIZE];
    char want[128];

    (void)state;
    paths = field(doc, "paths");
    assert_int_equal(cJSON_GetArraySize(paths), 3);

    assert_non_null(openapi_hash("api/v1", hash, sizeof(hash)));
    assert_int_equal(strlen(hash), 16);
    assert_int_equal(strspn(hash, "0123456789ABCDEF"), 16);
    snprintf(want, sizeof(want), "/openapi/v3/api/v1?hash=%s", hash);
    assert_string_equal(str(field(paths, "api/v1"), "serverRelativeURL"), want);

    assert_non_null(openapi_hash("apis/policy/v1", hash, sizeof(hash)));
    snprintf(want, sizeof(want), "/openapi/v3/apis/policy/v1?hash=%s", hash);
    assert_string_equal(str(field(paths, "apis/policy/v1"), "serverRelativeURL"), want);
    assert_non_null(field(paths, "apis/authorization.k8s.io/v1"));
    assert_int_equal(cJSON_GetArraySize(field(paths, "api/v1")), 1);
    cJSON_Delete(doc);
}

static void test_hash(void **state)
{
    char a[OPENAPI_HASH_SIZE];
    char b[OPENAPI_HASH_SIZE];
    char small[OPENAPI_HASH_SIZE - 1];

    (void)state;
    assert_non_null(openapi_hash("api/v1", a, sizeof(a)));
    assert_non_null(openapi_hash("/api/v1", b, sizeof(b)));
    assert_string_equal(a, b); /* stable, and the same document */
    assert_non_null(openapi_hash("apis/policy/v1", b, sizeof(b)));
    assert_string_not_equal(a, b);
    assert_null(openapi_hash("api/v1", small, sizeof(small)));
    assert_null(openapi_hash("api/v2", a, sizeof(a)));
}

static void test_core_document(void **state)
{
    cJSON *doc = openapi_v3_group("api/v1");
    cJSON *paths;
    cJSON *item;
    cJSON *patch;
    cJSON *body;
    cJSON *coll;
    cJSON *schemas;

    (void)state;
    assert_string_equal(str(doc, "openapi"), "3.0.0");
    assert_string_equal(str(field(doc, "info"), "title"), "Kubernetes");
    paths = field(doc, "paths");

    item = field(paths, "/api/v1/namespaces/{namespace}/pods/{name}");
    patch = field(item, "patch");
    assert_string_equal(str(patch, "x-kubernetes-action"), "patch");
    assert_json(field(patch, "x-kubernetes-group-version-kind"),
                "{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"}");
    assert_string_equal(str(patch, "operationId"), "patchCoreV1NamespacedPod");
    assert_json(param(patch, "fieldValidation"),
                "{\"name\":\"fieldValidation\",\"in\":\"query\",\"description\":\"how to handle "
                "unknown or duplicate fields in the body: Ignore, Warn or Strict\",\"schema\":{"
                "\"type\":\"string\",\"uniqueItems\":true}}");
    assert_non_null(param(patch, "fieldManager"));
    assert_non_null(param(patch, "dryRun"));
    assert_non_null(param(patch, "force"));

    /* No strategic merge patch: kubectl's gvkSupportsPatchOpenAPIV3 then says no, silently. */
    body = field(field(patch, "requestBody"), "content");
    assert_non_null(field(body, "application/merge-patch+json"));
    assert_non_null(field(body, "application/json-patch+json"));
    assert_non_null(field(body, "application/apply-patch+yaml"));
    assert_null(cJSON_GetObjectItem(body, "application/strategic-merge-patch+json"));
    assert_true(cJSON_IsTrue(field(field(patch, "requestBody"), "required")));

    assert_string_equal(str(field(item, "get"), "x-kubernetes-action"), "get");
    assert_string_equal(str(field(item, "put"), "x-kubernetes-action"), "put");
    assert_non_null(param(field(item, "put"), "fieldValidation"));
    assert_string_equal(str(field(item, "delete"), "x-kubernetes-action"), "delete");
    assert_null(cJSON_GetObjectItem(item, "post"));
    assert_json(
        field(item, "parameters"),
        "[{\"name\":\"name\",\"in\":\"path\",\"description\":\"name of the Pod\","
        "\"required\":true,\"schema\":{\"type\":\"string\",\"uniqueItems\":true}},"
        "{\"name\":\"namespace\",\"in\":\"path\",\"description\":\"object name and auth "
        "scope\",\"required\":true,\"schema\":{\"type\":\"string\",\"uniqueItems\":true}}]");
    assert_json(field(field(field(field(field(item, "get"), "responses"), "200"), "content"),
                      "application/json"),
                "{\"schema\":{\"$ref\":\"#/components/schemas/io.k8s.api.core.v1.Pod\"}}");

    coll = field(paths, "/api/v1/namespaces/{namespace}/pods");
    assert_string_equal(str(field(coll, "get"), "x-kubernetes-action"), "list");
    assert_string_equal(str(field(coll, "post"), "x-kubernetes-action"), "post");
    assert_string_equal(str(field(coll, "post"), "operationId"), "createCoreV1NamespacedPod");
    assert_non_null(param(field(coll, "post"), "fieldValidation"));
    assert_string_equal(str(field(coll, "delete"), "x-kubernetes-action"), "deletecollection");
    assert_non_null(param(field(coll, "get"), "labelSelector"));

    /* Cluster-scoped kinds have no namespace segment; namespaces/{name} is the namespace. */
    assert_non_null(field(field(paths, "/api/v1/nodes/{name}"), "patch"));
    assert_non_null(field(field(paths, "/api/v1/namespaces/{name}"), "patch"));
    assert_null(cJSON_GetObjectItem(field(paths, "/api/v1/namespaces"), "delete"));
    assert_null(cJSON_GetObjectItem(paths, "/api/v1/namespaces/{namespace}/nodes/{name}"));

    schemas = field(field(doc, "components"), "schemas");
    assert_string_equal(str(field(schemas, "io.k8s.api.core.v1.Pod"), "type"), "object");
    assert_json(field(field(schemas, "io.k8s.api.core.v1.Pod"), "x-kubernetes-group-version-kind"),
                "[{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"}]");
    assert_json(
        field(field(schemas, "io.k8s.api.core.v1.PodList"), "x-kubernetes-group-version-kind"),
        "[{\"group\":\"\",\"version\":\"v1\",\"kind\":\"PodList\"}]");
    assert_json(field(field(field(schemas, "io.k8s.api.core.v1.Pod"), "properties"), "metadata"),
                "{\"$ref\":\"#/components/schemas/"
                "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta\"}");
    assert_json(field(field(schemas, "io.k8s.apimachinery.pkg.apis.meta.v1.Status"),
                      "x-kubernetes-group-version-kind"),
                "[{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Status\"}]");
    assert_null(cJSON_GetObjectItem(schemas, "io.k8s.api.policy.v1.PodDisruptionBudget"));
    assert_refs_resolve(doc, schemas);
    cJSON_Delete(doc);
}

static void test_group_documents(void **state)
{
    cJSON *doc = openapi_v3_group("apis/policy/v1");
    cJSON *paths;
    cJSON *patch;
    cJSON *schemas;

    (void)state;
    paths = field(doc, "paths");
    patch =
        field(field(paths, "/apis/policy/v1/namespaces/{namespace}/poddisruptionbudgets/{name}"),
              "patch");
    assert_json(field(patch, "x-kubernetes-group-version-kind"),
                "{\"group\":\"policy\",\"version\":\"v1\",\"kind\":\"PodDisruptionBudget\"}");
    assert_json(field(patch, "tags"), "[\"policy_v1\"]");
    schemas = field(field(doc, "components"), "schemas");
    assert_json(field(field(schemas, "io.k8s.api.policy.v1.PodDisruptionBudget"),
                      "x-kubernetes-group-version-kind"),
                "[{\"group\":\"policy\",\"version\":\"v1\",\"kind\":\"PodDisruptionBudget\"}]");
    assert_null(cJSON_GetObjectItem(schemas, "io.k8s.api.core.v1.Pod"));
    assert_refs_resolve(doc, schemas);
    cJSON_Delete(doc);

    /* create-only: one collection path with POST, no item path, no list schema. */
    doc = openapi_v3_group("/apis/authorization.k8s.io/v1");
    paths = field(doc, "paths");
    assert_int_equal(cJSON_GetArraySize(paths), 1);
    assert_string_equal(str(field(field(paths, "/apis/authorization.k8s.io/v1/"
                                               "selfsubjectaccessreviews"),
                                  "post"),
                            "operationId"),
                        "createAuthorizationV1SelfSubjectAccessReview");
    schemas = field(field(doc, "components"), "schemas");
    assert_non_null(field(schemas, "io.k8s.api.authorization.v1.SelfSubjectAccessReview"));
    assert_null(cJSON_GetObjectItem(schemas, "io.k8s.api.authorization.v1."
                                             "SelfSubjectAccessReviewList"));
    assert_refs_resolve(doc, schemas);
    cJSON_Delete(doc);
}

/* What makes create -f / apply -f validate server-side: every patchable kind has PATCH
 * operations, and each of them declares fieldValidation. */
static void test_every_patchable_kind_declares_field_validation(void **state)
{
    (void)state;
    for (size_t i = 0; i < KIND__COUNT; i++) {
        const struct kinds_info *k = &kinds_table[i];
        char path[128];
        cJSON *doc;

        if (k->group[0] != '\0')
            snprintf(path, sizeof(path), "apis/%s/%s", k->group, k->version);
        else
            snprintf(path, sizeof(path), "api/%s", k->version);
        doc = openapi_v3_group(path);
        assert_non_null(doc);
        if (strstr(k->verbs, "patch") != NULL)
            assert_int_equal(patch_ops_with(doc, k, "fieldValidation"), 1);
        else
            assert_int_equal(patch_ops_with(doc, k, "fieldValidation"), 0);
        cJSON_Delete(doc);
    }
}

static void test_unknown_paths(void **state)
{
    (void)state;
    assert_null(openapi_v3_group(NULL));
    assert_null(openapi_v3_group(""));
    assert_null(openapi_v3_group("api"));
    assert_null(openapi_v3_group("api/"));
    assert_null(openapi_v3_group("api/v2"));
    assert_null(openapi_v3_group("api/v1/"));
    assert_null(openapi_v3_group("api/v1/pods"));
    assert_null(openapi_v3_group("apis/policy"));
    assert_null(openapi_v3_group("apis/policy/"));
    assert_null(openapi_v3_group("apis//v1"));
    assert_null(openapi_v3_group("apis/apps/v1"));
    assert_null(openapi_v3_group("apis/policy/v1beta1"));
    assert_null(openapi_v3_group("openapi/v3/api/v1"));
    assert_null(openapi_v3_group("//api/v1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_core_document),
        cmocka_unit_test(test_group_documents),
        cmocka_unit_test(test_every_patchable_kind_declares_field_validation),
        cmocka_unit_test(test_unknown_paths),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
