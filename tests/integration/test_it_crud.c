/* test_it_crud.c -- the REST verbs over real sockets: create, get, list (selectors, paging, all
 * namespaces, Tables), update, patch, delete (grace, preconditions, collections), and every error
 * Status worded as kube-apiserver words it */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "itest.h"
#include "mockapi/kube/cluster.h"

#define PODS "/api/v1/namespaces/default/pods"
#define CMS "/api/v1/namespaces/default/configmaps"
#define TABLE_ACCEPT                                                                               \
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s." \
    "io,application/json"
#define RFC1123_DETAIL                                                                             \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "   \
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "  \
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"

static struct itest *start_plain(void **state)
{
    struct itest_opts o = {0};
    return itest_start(state, &o);
}

/* POST body to path and expect 201; returns the created object. */
static cJSON *create(struct itest *t, const char *path, const char *body)
{
    long code;
    cJSON *j = itest_json(t, "POST", path, body, &code);
    if (code != 201)
        itest_fail_json(j, "POST %s: %ld", path, code);
    return j;
}

static void create_pod(struct itest *t, const char *ns, const char *name, const char *labels)
{
    char path[256], body[1024];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", ns);
    snprintf(
        body, sizeof body,
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\",\"labels\":{%s}},"
        "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox:1.36\","
        "\"command\":[\"sleep\",\"3600\"]}]}}",
        name, labels ? labels : "");
    cJSON_Delete(create(t, path, body));
}

static void create_cm(struct itest *t, const char *ns, const char *name, const char *labels)
{
    char path[256], body[1024];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps", ns);
    snprintf(body, sizeof body,
             "{\"metadata\":{\"name\":\"%s\",\"labels\":{%s}},\"data\":{\"k\":\"v\"}}", name,
             labels ? labels : "");
    cJSON_Delete(create(t, path, body));
}

static void create_ns(struct itest *t, const char *name)
{
    char body[256];
    snprintf(body, sizeof body, "{\"metadata\":{\"name\":\"%s\"}}", name);
    cJSON_Delete(create(t, "/api/v1/namespaces", body));
}

/* Comma-joined metadata.name of a list's items (or "ns/name" with qualified), into buf. */
static const char *names_of(const cJSON *list, char *buf, size_t len, int qualified)
{
    size_t n = 0;
    const cJSON *it;
    buf[0] = '\0';
    cJSON_ArrayForEach(it, itest_jget(list, "items"))
    {
        const char *ns = itest_jstr(it, "metadata.namespace");
        int w = qualified ? snprintf(buf + n, len - n, "%s%s/%s", n ? "," : "", ns ? ns : "",
                                     itest_jstr(it, "metadata.name"))
                          : snprintf(buf + n, len - n, "%s%s", n ? "," : "",
                                     itest_jstr(it, "metadata.name"));
        if (w < 0 || (size_t)w >= len - n)
            break;
        n += (size_t)w;
    }
    return buf;
}

/* GET a list and return the comma-joined names. */
static const char *list_names(struct itest *t, const char *path, char *buf, size_t len)
{
    long code;
    cJSON *l = itest_json(t, "GET", path, NULL, &code);
    if (code != 200)
        itest_fail_json(l, "GET %s: %ld", path, code);
    names_of(l, buf, len, 0);
    cJSON_Delete(l);
    return buf;
}

static int is_rfc3339(const char *s)
{
    /* 2026-11-27T23:15:30Z */
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    if (!s || strlen(s) != sizeof shape - 1)
        return 0;
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
            return 0;
    return 1;
}

static int is_number_string(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* ---- create ---- */

static void test_create_pod(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    cJSON *p = create(t, PODS,
                      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p1\"},"
                      "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}");
    assert_string_equal(itest_jstr(p, "kind"), "Pod");
    assert_string_equal(itest_jstr(p, "apiVersion"), "v1");
    assert_string_equal(itest_jstr(p, "metadata.name"), "p1");
    assert_string_equal(itest_jstr(p, "metadata.namespace"), "default");
    assert_int_equal(strlen(itest_jstr(p, "metadata.uid")), 36);
    assert_true(is_number_string(itest_jstr(p, "metadata.resourceVersion")));
    assert_true(is_rfc3339(itest_jstr(p, "metadata.creationTimestamp")));
    assert_string_equal(itest_jstr(p, "status.phase"), "Pending");
    /* the defaults the apiserver fills in */
    assert_string_equal(itest_jstr(p, "spec.restartPolicy"), "Always");
    assert_string_equal(itest_jstr(p, "spec.serviceAccountName"), "default");
    assert_int_equal(itest_jget(p, "spec.terminationGracePeriodSeconds")->valueint, 30);
    assert_string_equal(itest_jstr(p, "spec.containers.0.imagePullPolicy"), "Always");
    assert_string_equal(itest_jstr(p, "spec.containers.0.terminationMessagePath"),
                        "/dev/termination-log");
    /* GET answers the same object */
    cJSON *g = itest_json(t, "GET", PODS "/p1", NULL, &code);
    assert_int_equal(code, 200);
    assert_string_equal(itest_jstr(g, "metadata.uid"), itest_jstr(p, "metadata.uid"));
    cJSON_Delete(g);
    cJSON_Delete(p);
    /* a tagged image is pulled IfNotPresent */
    p = create(t, PODS,
               "{\"metadata\":{\"name\":\"p2\"},\"spec\":{\"containers\":[{\"name\":\"c\","
               "\"image\":\"registry.example.com:5000/busybox:1.36\"}]}}");
    assert_string_equal(itest_jstr(p, "spec.containers.0.imagePullPolicy"), "IfNotPresent");
    cJSON_Delete(p);
}

static void test_create_ignores_client_system_fields(void **state)
{
    /* rest.BeforeCreate: the apiserver sets uid, resourceVersion and creationTimestamp itself and
     * clears deletionTimestamp and deletionGracePeriodSeconds */
    struct itest *t = start_plain(state);
    cJSON *c = create(t, CMS,
                      "{\"metadata\":{\"name\":\"sys\",\"uid\":\"mine\",\"resourceVersion\":\"7\","
                      "\"creationTimestamp\":\"2001-01-01T00:00:00Z\",\"deletionTimestamp\":"
                      "\"2001-01-01T00:00:00Z\",\"deletionGracePeriodSeconds\":0}}");
    assert_string_not_equal(itest_jstr(c, "metadata.uid"), "mine");
    assert_string_not_equal(itest_jstr(c, "metadata.resourceVersion"), "7");
    assert_string_not_equal(itest_jstr(c, "metadata.creationTimestamp"), "2001-01-01T00:00:00Z");
    assert_null(itest_jget(c, "metadata.deletionTimestamp"));
    assert_null(itest_jget(c, "metadata.deletionGracePeriodSeconds"));
    cJSON_Delete(c);
}

static void test_generate_name(void **state)
{
    struct itest *t = start_plain(state);
    cJSON *a = create(t, CMS, "{\"metadata\":{\"generateName\":\"gen-\"}}");
    cJSON *b = create(t, CMS, "{\"metadata\":{\"generateName\":\"gen-\"}}");
    const char *na = itest_jstr(a, "metadata.name"), *nb = itest_jstr(b, "metadata.name");
    assert_int_equal(strlen(na), 9);
    assert_int_equal(strncmp(na, "gen-", 4), 0);
    assert_int_equal(strspn(na + 4, "bcdfghjklmnpqrstvwxz2456789"), 5);
    assert_string_not_equal(na, nb);
    assert_string_equal(itest_jstr(a, "metadata.generateName"), "gen-");
    cJSON_Delete(a);
    cJSON_Delete(b);
}

static void test_create_twice_409(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    create_pod(t, "default", "x", NULL);
    cJSON *st = itest_json(t, "POST", PODS,
                           "{\"metadata\":{\"name\":\"x\"},\"spec\":{\"containers\":[{\"name\":"
                           "\"c\",\"image\":\"busybox\"}]}}",
                           &code);
    assert_string_equal(itest_jstr(st, "details.name"), "x");
    assert_string_equal(itest_jstr(st, "details.kind"), "pods");
    assert_null(itest_jget(st, "details.group"));
    itest_assert_status(st, &code, 409, "AlreadyExists", "pods \"x\" already exists");
}

static void test_get_missing_404(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    cJSON *st = itest_json(t, "GET", PODS "/missing", NULL, &code);
    assert_string_equal(itest_jstr(st, "details.name"), "missing");
    assert_string_equal(itest_jstr(st, "details.kind"), "pods");
    itest_assert_status(st, &code, 404, "NotFound", "pods \"missing\" not found");
    /* a grouped resource names its group */
    st = itest_json(t, "GET", "/apis/policy/v1/namespaces/default/poddisruptionbudgets/nope", NULL,
                    &code);
    assert_string_equal(itest_jstr(st, "details.group"), "policy");
    assert_string_equal(itest_jstr(st, "details.kind"), "poddisruptionbudgets");
    itest_assert_status(st, &code, 404, "NotFound",
                        "poddisruptionbudgets.policy \"nope\" not found");
    /* cluster-scoped */
    itest_assert_status(itest_json(t, "GET", "/api/v1/namespaces/nope", NULL, &code), &code, 404,
                        "NotFound", "namespaces \"nope\" not found");
}

static void test_invalid_name_422(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    cJSON *st = itest_json(t, "POST", PODS,
                           "{\"metadata\":{\"name\":\"Bad_Name\"},\"spec\":{\"containers\":[{"
                           "\"name\":\"c\",\"image\":\"busybox\"}]}}",
                           &code);
    assert_string_equal(itest_jstr(st, "details.name"), "Bad_Name");
    assert_string_equal(itest_jstr(st, "details.kind"), "Pod");
    assert_string_equal(itest_jstr(st, "details.causes.0.reason"), "FieldValueInvalid");
    assert_string_equal(itest_jstr(st, "details.causes.0.field"), "metadata.name");
    assert_string_equal(itest_jstr(st, "details.causes.0.message"),
                        "Invalid value: \"Bad_Name\": " RFC1123_DETAIL);
    itest_assert_status(
        st, &code, 422, "Invalid",
        "Pod \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": " RFC1123_DETAIL);
}

static void test_missing_name_and_containers_422(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    itest_assert_status(itest_json(t, "POST", CMS, "{\"metadata\":{}}", &code), &code, 422,
                        "Invalid",
                        "ConfigMap \"\" is invalid: metadata.name: Required value: name or "
                        "generateName is required");
    itest_assert_status(
        itest_json(t, "POST", PODS, "{\"metadata\":{\"name\":\"nc\"},\"spec\":{}}", &code), &code,
        422, "Invalid", "Pod \"nc\" is invalid: spec.containers: Required value");
    itest_assert_status(itest_json(t, "POST", PODS,
                                   "{\"metadata\":{\"name\":\"ni\"},\"spec\":{\"containers\":[{"
                                   "\"name\":\"c\"}]}}",
                                   &code),
                        &code, 422, "Invalid",
                        "Pod \"ni\" is invalid: spec.containers[0].image: Required value");
}

static void test_create_in_missing_namespace(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    cJSON *st = itest_json(t, "POST", "/api/v1/namespaces/nope/configmaps",
                           "{\"metadata\":{\"name\":\"c\"}}", &code);
    assert_string_equal(itest_jstr(st, "details.name"), "nope");
    assert_string_equal(itest_jstr(st, "details.kind"), "namespaces");
    itest_assert_status(st, &code, 404, "NotFound", "namespaces \"nope\" not found");
}

static void test_namespace_mismatch_400(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    itest_assert_status(
        itest_json(t, "POST", CMS, "{\"metadata\":{\"name\":\"c\",\"namespace\":\"kube-system\"}}",
                   &code),
        &code, 400, "BadRequest",
        "the namespace of the provided object does not match the namespace sent on the request");
}

static void test_kind_mismatch_400(void **state)
{
    /* kube-apiserver (transformDecodeError): `ConfigMap in version "v1" cannot be handled as a
     * Pod: ...`. It never claims the versions differ when both are v1. */
    struct itest *t = start_plain(state);
    long code;
    cJSON *st = itest_json(t, "POST", PODS,
                           "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
                           "\"p\"}}",
                           &code);
    assert_int_equal(code, 400);
    const char *msg = itest_jstr(st, "message");
    assert_non_null(msg);
    static const char want[] = "ConfigMap in version \"v1\" cannot be handled as a Pod: ";
    if (strncmp(msg, want, sizeof want - 1) != 0)
        itest_fail_json(st, "message does not start with %s", want);
    cJSON_Delete(st);
}

static void test_dry_run_create(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    cJSON *j = itest_json(t, "POST", CMS "?dryRun=All", "{\"metadata\":{\"name\":\"dry\"}}", &code);
    assert_int_equal(code, 201);
    assert_string_equal(itest_jstr(j, "metadata.name"), "dry");
    cJSON_Delete(j);
    assert_true(itest_wait_code(t, CMS "/dry", 404, 0));
}

static void test_body_errors(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    itest_assert_status(itest_json_ct(t, "POST", CMS, "application/json", "", 0, &code), &code, 400,
                        "BadRequest", "the body of the request was empty");
    itest_assert_status(itest_json(t, "POST", CMS, "[1,2]", &code), &code, 400, "BadRequest",
                        "the body of the request must be a JSON object");
    itest_assert_status(
        itest_json_ct(t, "POST", CMS, "text/csv", "a,b", 3, &code), &code, 415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json, application/yaml, application/vnd.kubernetes.protobuf");
}

static void test_garbage_json_400(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    const char *bodies[] = {"{garbage", "{\"metadata\":{\"name\":\"x\"}", "\x01\x02\x03", "nul"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        cJSON *st = itest_json(t, "POST", CMS, bodies[i], &code);
        const char *msg = itest_jstr(st, "message");
        assert_non_null(msg);
        static const char want[] = "couldn't get version/kind; json parse error: ";
        if (strncmp(msg, want, sizeof want - 1) != 0)
            fail_msg("body %zu: message %s", i, msg);
        itest_assert_status(st, &code, 400, "BadRequest", NULL);
    }
    cJSON *l = itest_json(t, "GET", CMS, NULL, &code);
    assert_int_equal(code, 200);
    assert_int_equal(cJSON_GetArraySize(itest_jget(l, "items")), 0);
    cJSON_Delete(l);
}

static void test_garbage_protobuf_400(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    static const unsigned char junk[] = "k8s\0\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01";
    cJSON *st = itest_json_ct(t, "POST", PODS, "application/vnd.kubernetes.protobuf", junk,
                              sizeof junk - 1, &code);
    const char *msg = itest_jstr(st, "message");
    assert_non_null(msg);
    assert_int_equal(strncmp(msg, "failed to decode protobuf body: ", 32), 0);
    itest_assert_status(st, &code, 400, "BadRequest", NULL);
    st = itest_json_ct(t, "POST", PODS, "application/vnd.kubernetes.protobuf", "{\"a\":1}", 7,
                       &code);
    itest_assert_status(st, &code, 400, "BadRequest",
                        "failed to decode protobuf body: missing \"k8s\\0\" magic");
    /* random bodies behind the magic: always a Status, never a crash */
    uint32_t x = 12345;
    for (int i = 0; i < 300; i++) {
        unsigned char body[96];
        size_t len = 4 + (size_t)(i % 90);
        memcpy(body, "k8s\0", 4);
        for (size_t j = 4; j < len; j++) {
            x = x * 1103515245u + 12345u;
            body[j] = (unsigned char)(x >> 16);
        }
        st = itest_json_ct(t, "POST", CMS, "application/vnd.kubernetes.protobuf", body, len, &code);
        if (code != 400 && code != 201 && code != 422)
            fail_msg("random protobuf body %d: HTTP %ld", i, code);
        cJSON_Delete(st);
    }
    cJSON *v = itest_json(t, "GET", "/version", NULL, &code);
    assert_int_equal(code, 200);
    cJSON_Delete(v);
}

/* ---- update ---- */

static void test_update_and_conflict(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    cJSON *c = create(t, CMS, "{\"metadata\":{\"name\":\"c\"},\"data\":{\"a\":\"1\"}}");
    char rv1[32], body[512];
    snprintf(rv1, sizeof rv1, "%s", itest_jstr(c, "metadata.resourceVersion"));
    cJSON_Delete(c);
    snprintf(body, sizeof body,
             "{\"metadata\":{\"name\":\"c\",\"resourceVersion\":\"%s\"},\"data\":{\"a\":\"2\"}}",
             rv1);
    c = itest_json(t, "PUT", CMS "/c", body, &code);
    assert_int_equal(code, 200);
    assert_string_equal(itest_jstr(c, "data.a"), "2");
    assert_true(strtoll(itest_jstr(c, "metadata.resourceVersion"), NULL, 10) >
                strtoll(rv1, NULL, 10));
    cJSON_Delete(c);
    /* the same stale resourceVersion again */
    cJSON *st = itest_json(t, "PUT", CMS "/c", body, &code);
    assert_string_equal(itest_jstr(st, "details.name"), "c");
    assert_string_equal(itest_jstr(st, "details.kind"), "configmaps");
    itest_assert_status(st, &code, 409, "Conflict",
                        "Operation cannot be fulfilled on configmaps \"c\": the object has been "
                        "modified; please apply your changes to the latest version and try again");
    /* without a resourceVersion the update is unconditional */
    c = itest_json(t, "PUT", CMS "/c", "{\"metadata\":{\"name\":\"c\"},\"data\":{\"a\":\"3\"}}",
                   &code);
    assert_int_equal(code, 200);
    assert_string_equal(itest_jstr(c, "data.a"), "3");
    cJSON_Delete(c);
    itest_assert_status(
        itest_json(t, "PUT", CMS "/c", "{\"metadata\":{\"name\":\"other\"}}", &code), &code, 400,
        "BadRequest", "the name of the object (other) does not match the name on the URL (c)");
    itest_assert_status(
        itest_json(t, "PUT", CMS "/gone", "{\"metadata\":{\"name\":\"gone\"}}", &code), &code, 404,
        "NotFound", "configmaps \"gone\" not found");
}

static void test_update_keeps_uid_and_status(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    create_pod(t, "default", "u", NULL);
    cJSON *p = itest_wait_field(t, PODS "/u", "status.phase", "Running", ITEST_WAIT_MS);
    assert_non_null(p);
    char uid[64];
    snprintf(uid, sizeof uid, "%s", itest_jstr(p, "metadata.uid"));
    /* a client rewrites uid and status: the server keeps its own */
    cJSON *m = cJSON_GetObjectItemCaseSensitive(p, "metadata");
    cJSON_ReplaceItemInObjectCaseSensitive(m, "uid", cJSON_CreateString("forged"));
    cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(m, "labels")
                              ? cJSON_GetObjectItemCaseSensitive(m, "labels")
                              : cJSON_AddObjectToObject(m, "labels"),
                          "new", cJSON_CreateString("label"));
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(p, "status"), "phase",
                                           cJSON_CreateString("Failed"));
    char *body = cJSON_PrintUnformatted(p);
    cJSON_Delete(p);
    p = itest_json(t, "PUT", PODS "/u", body, &code);
    free(body);
    assert_int_equal(code, 200);
    assert_string_equal(itest_jstr(p, "metadata.uid"), uid);
    assert_string_equal(itest_jstr(p, "metadata.labels.new"), "label");
    assert_string_equal(itest_jstr(p, "status.phase"), "Running");
    cJSON_Delete(p);
    /* the status subresource changes status only */
    p = itest_json(t, "GET", PODS "/u", NULL, &code);
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(p, "status"), "phase",
                                           cJSON_CreateString("Succeeded"));
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(p, "spec"),
                                           "restartPolicy", cJSON_CreateString("Never"));
    body = cJSON_PrintUnformatted(p);
    cJSON_Delete(p);
    p = itest_json(t, "PUT", PODS "/u/status", body, &code);
    free(body);
    assert_int_equal(code, 200);
    assert_string_equal(itest_jstr(p, "status.phase"), "Succeeded");
    assert_string_equal(itest_jstr(p, "spec.restartPolicy"), "Always");
    cJSON_Delete(p);
}

/* ---- patch ---- */

static void test_patch_merge(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    cJSON_Delete(create(t, CMS,
                        "{\"metadata\":{\"name\":\"m\",\"labels\":{\"a\":\"1\",\"b\":\"2\"}},"
                        "\"data\":{\"x\":\"1\"}}"));
    cJSON *c = itest_json_ct(t, "PATCH", CMS "/m", "application/merge-patch+json",
                             "{\"metadata\":{\"labels\":{\"a\":null,\"c\":\"3\"}},\"data\":{"
                             "\"y\":\"2\"}}",
                             0, &code);
    assert_int_equal(code, 200);
    assert_null(itest_jget(c, "metadata.labels.a"));
    assert_string_equal(itest_jstr(c, "metadata.labels.b"), "2");
    assert_string_equal(itest_jstr(c, "metadata.labels.c"), "3");
    assert_string_equal(itest_jstr(c, "data.x"), "1");
    assert_string_equal(itest_jstr(c, "data.y"), "2");
    cJSON_Delete(c);
    /* a patch that changes nothing keeps the resourceVersion */
    c = itest_json(t, "GET", CMS "/m", NULL, &code);
    char rv[32];
    snprintf(rv, sizeof rv, "%s", itest_jstr(c, "metadata.resourceVersion"));
    cJSON_Delete(c);
    c = itest_json_ct(t, "PATCH", CMS "/m", "application/merge-patch+json",
                      "{\"data\":{\"y\":\"2\"}}", 0, &code);
    assert_int_equal(code, 200);
    assert_string_equal(itest_jstr(c, "metadata.resourceVersion"), rv);
    cJSON_Delete(c);
    /* stale resourceVersion in a patch: conflict */
    itest_assert_status(itest_json_ct(t, "PATCH", CMS "/m", "application/merge-patch+json",
                                      "{\"metadata\":{\"resourceVersion\":\"1\"}}", 0, &code),
                        &code, 409, "Conflict",
                        "Operation cannot be fulfilled on configmaps \"m\": the object has been "
                        "modified; please apply your changes to the latest version and try again");
}

static void test_patch_json(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    cJSON_Delete(create(t, CMS, "{\"metadata\":{\"name\":\"j\"},\"data\":{\"x\":\"1\"}}"));
    cJSON *c =
        itest_json_ct(t, "PATCH", CMS "/j", "application/json-patch+json",
                      "[{\"op\":\"add\",\"path\":\"/metadata/labels\",\"value\":{\"k\":\"v\"}},"
                      "{\"op\":\"replace\",\"path\":\"/data/x\",\"value\":\"2\"},"
                      "{\"op\":\"add\",\"path\":\"/data/z\",\"value\":\"3\"}]",
                      0, &code);
    assert_int_equal(code, 200);
    assert_string_equal(itest_jstr(c, "metadata.labels.k"), "v");
    assert_string_equal(itest_jstr(c, "data.x"), "2");
    assert_string_equal(itest_jstr(c, "data.z"), "3");
    cJSON_Delete(c);
    c = itest_json_ct(t, "PATCH", CMS "/j", "application/json-patch+json",
                      "[{\"op\":\"replace\",\"path\":\"/metadata/nope/x\",\"value\":1}]", 0, &code);
    itest_assert_status(c, &code, 422, "Invalid", NULL);
}

static void test_patch_strategic(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    cJSON_Delete(create(t, PODS,
                        "{\"metadata\":{\"name\":\"s\"},\"spec\":{\"containers\":["
                        "{\"name\":\"a\",\"image\":\"busybox:1\",\"command\":[\"sleep\",\"9\"]},"
                        "{\"name\":\"b\",\"image\":\"alpine:3\"}]}}"));
    /* containers merge by name: a's image changes, its command and b stay */
    cJSON *p = itest_json_ct(t, "PATCH", PODS "/s", "application/strategic-merge-patch+json",
                             "{\"metadata\":{\"labels\":{\"l\":\"1\"}},\"spec\":{\"containers\":["
                             "{\"name\":\"a\",\"image\":\"busybox:2\"}]}}",
                             0, &code);
    assert_int_equal(code, 200);
    assert_int_equal(cJSON_GetArraySize(itest_jget(p, "spec.containers")), 2);
    assert_string_equal(itest_jstr(p, "spec.containers.0.name"), "a");
    assert_string_equal(itest_jstr(p, "spec.containers.0.image"), "busybox:2");
    assert_string_equal(itest_jstr(p, "spec.containers.0.command.0"), "sleep");
    assert_string_equal(itest_jstr(p, "spec.containers.1.image"), "alpine:3");
    assert_string_equal(itest_jstr(p, "metadata.labels.l"), "1");
    cJSON_Delete(p);
    /* the same list as a merge patch replaces it whole */
    p = itest_json_ct(t, "PATCH", PODS "/s", "application/merge-patch+json",
                      "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"busybox:3\"}]}}", 0,
                      &code);
    assert_int_equal(code, 200);
    assert_int_equal(cJSON_GetArraySize(itest_jget(p, "spec.containers")), 1);
    cJSON_Delete(p);
}

static void test_patch_errors(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    itest_assert_status(
        itest_json_ct(t, "PATCH", CMS "/none", "application/merge-patch+json", "{}", 0, &code),
        &code, 404, "NotFound", "configmaps \"none\" not found");
    cJSON_Delete(create(t, CMS, "{\"metadata\":{\"name\":\"e\"}}"));
    itest_assert_status(
        itest_json_ct(t, "PATCH", CMS "/e", "application/json", "{}", 0, &code), &code, 415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, "
        "application/apply-patch+yaml, application/strategic-merge-patch+json");
}

/* ---- delete ---- */

static void test_delete_pod_graceful(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    create_pod(t, "default", "g", NULL);
    cJSON *p = itest_wait_field(t, PODS "/g", "spec.nodeName", CLUSTER_NODE_NAME, ITEST_WAIT_MS);
    assert_non_null(p);
    cJSON_Delete(p);
    p = itest_json(t, "DELETE", PODS "/g", NULL, &code);
    assert_int_equal(code, 200);
    assert_string_equal(itest_jstr(p, "kind"), "Pod");
    assert_true(is_rfc3339(itest_jstr(p, "metadata.deletionTimestamp")));
    assert_int_equal(itest_jget(p, "metadata.deletionGracePeriodSeconds")->valueint, 30);
    cJSON_Delete(p);
    /* still there, terminating, for the terminate delay (50 ms here) */
    p = itest_json(t, "GET", PODS "/g", NULL, &code);
    if (code == 200)
        assert_non_null(itest_jget(p, "metadata.deletionTimestamp"));
    cJSON_Delete(p);
    int64_t start = itest_now_ms();
    assert_true(itest_wait_code(t, PODS "/g", 404, ITEST_WAIT_MS));
    assert_true(itest_now_ms() - start < 2000);
    itest_assert_status(itest_json(t, "GET", PODS "/g", NULL, &code), &code, 404, "NotFound",
                        "pods \"g\" not found");
}

/* The garbage collector: what the runner owns through ownerReferences (the credentials secret, a
 * proxy service, the PDB) goes when the pod goes; what names a live owner, or none, stays. */
static void test_owner_references_are_collected(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    create_pod(t, "default", "owner", NULL);
    create_pod(t, "default", "other", NULL);
    cJSON *owner = itest_json(t, "GET", PODS "/owner", NULL, &code);
    cJSON *other = itest_json(t, "GET", PODS "/other", NULL, &code);
    char body[1024], uid[64], other_uid[64];
    snprintf(uid, sizeof uid, "%s", itest_jstr(owner, "metadata.uid"));
    snprintf(other_uid, sizeof other_uid, "%s", itest_jstr(other, "metadata.uid"));
    cJSON_Delete(owner);
    cJSON_Delete(other);
    static const char ref[] =
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"name\":\"%s\",\"uid\":\"%s\"}";
    char r1[256], r2[256];
    snprintf(r1, sizeof r1, ref, "owner", uid);
    snprintf(r2, sizeof r2, ref, "other", other_uid);
    snprintf(body, sizeof body, "{\"metadata\":{\"name\":\"s-owned\",\"ownerReferences\":[%s]}}",
             r1);
    cJSON_Delete(create(t, "/api/v1/namespaces/default/secrets", body));
    /* a second, live owner keeps it */
    snprintf(body, sizeof body, "{\"metadata\":{\"name\":\"s-both\",\"ownerReferences\":[%s,%s]}}",
             r1, r2);
    cJSON_Delete(create(t, "/api/v1/namespaces/default/secrets", body));
    cJSON_Delete(
        create(t, "/api/v1/namespaces/default/secrets", "{\"metadata\":{\"name\":\"s-free\"}}"));
    cJSON_Delete(itest_json(t, "DELETE", PODS "/owner?gracePeriodSeconds=0", NULL, &code));
    assert_int_equal(code, 200);
    assert_true(
        itest_wait_code(t, "/api/v1/namespaces/default/secrets/s-owned", 404, ITEST_WAIT_MS));
    /* one more round trip, so a collector run that was due has run */
    cJSON_Delete(itest_json(t, "GET", "/api/v1/namespaces/default/secrets", NULL, &code));
    cJSON_Delete(itest_json(t, "GET", "/api/v1/namespaces/default/secrets/s-both", NULL, &code));
    assert_int_equal(code, 200);
    cJSON_Delete(itest_json(t, "GET", "/api/v1/namespaces/default/secrets/s-free", NULL, &code));
    assert_int_equal(code, 200);
}

/* Owner references given or taken away by an update count as at create: the collector reads only
 * the kinds that hold owned objects and keeps that count from every change, so a configmap that
 * gains its only owner by an update must still go with it. */
static void test_owner_references_set_by_update(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    create_pod(t, "default", "owner2", NULL);
    cJSON *owner = itest_json(t, "GET", PODS "/owner2", NULL, &code);
    char body[1024], ref[256];
    snprintf(ref, sizeof ref,
             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"name\":\"owner2\",\"uid\":\"%s\"}",
             itest_jstr(owner, "metadata.uid"));
    cJSON_Delete(owner);
    /* no owner at create, one by update: collected */
    cJSON_Delete(create(t, "/api/v1/namespaces/default/configmaps",
                        "{\"metadata\":{\"name\":\"c-later\"}}"));
    snprintf(body, sizeof body, "{\"metadata\":{\"name\":\"c-later\",\"ownerReferences\":[%s]}}",
             ref);
    cJSON_Delete(
        itest_json(t, "PUT", "/api/v1/namespaces/default/configmaps/c-later", body, &code));
    assert_int_equal(code, 200);
    /* an owner at create, none after an update: kept */
    snprintf(body, sizeof body, "{\"metadata\":{\"name\":\"s-freed\",\"ownerReferences\":[%s]}}",
             ref);
    cJSON_Delete(create(t, "/api/v1/namespaces/default/secrets", body));
    cJSON_Delete(itest_json(t, "PUT", "/api/v1/namespaces/default/secrets/s-freed",
                            "{\"metadata\":{\"name\":\"s-freed\"}}", &code));
    assert_int_equal(code, 200);
    cJSON_Delete(itest_json(t, "DELETE", PODS "/owner2?gracePeriodSeconds=0", NULL, &code));
    assert_int_equal(code, 200);
    assert_true(
        itest_wait_code(t, "/api/v1/namespaces/default/configmaps/c-later", 404, ITEST_WAIT_MS));
    /* one more round trip, so a collector run that was due has run */
    cJSON_Delete(itest_json(t, "GET", "/api/v1/namespaces/default/secrets", NULL, &code));
    cJSON_Delete(itest_json(t, "GET", "/api/v1/namespaces/default/secrets/s-freed", NULL, &code));
    assert_int_equal(code, 200);
}

static void test_delete_grace_zero(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    create_pod(t, "default", "z1", NULL);
    create_pod(t, "default", "z2", NULL);
    cJSON_Delete(itest_wait_field(t, PODS "/z1", "status.phase", "Running", ITEST_WAIT_MS));
    cJSON_Delete(itest_wait_field(t, PODS "/z2", "status.phase", "Running", ITEST_WAIT_MS));
    cJSON *p = itest_json(t, "DELETE", PODS "/z1?gracePeriodSeconds=0", NULL, &code);
    assert_int_equal(code, 200);
    cJSON_Delete(p);
    assert_true(itest_wait_code(t, PODS "/z1", 404, 0));
    /* the same through DeleteOptions in the body */
    p = itest_json(t, "DELETE", PODS "/z2",
                   "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\",\"gracePeriodSeconds\":0}",
                   &code);
    assert_int_equal(code, 200);
    cJSON_Delete(p);
    assert_true(itest_wait_code(t, PODS "/z2", 404, 0));
    itest_assert_status(itest_json(t, "DELETE", PODS "/z2", NULL, &code), &code, 404, "NotFound",
                        "pods \"z2\" not found");
    itest_assert_status(itest_json(t, "DELETE", PODS "/x?gracePeriodSeconds=soon", NULL, &code),
                        &code, 400, "BadRequest", "invalid gracePeriodSeconds: soon");
}

static void test_delete_unscheduled_pod_at_once(void **state)
{
    struct itest_opts o = {0};
    o.cluster.schedule_delay_ms = 60000;
    struct itest *t = itest_start(state, &o);
    long code;
    create_pod(t, "default", "u", NULL);
    cJSON *p = itest_json(t, "DELETE", PODS "/u", NULL, &code);
    assert_int_equal(code, 200);
    cJSON_Delete(p);
    assert_true(itest_wait_code(t, PODS "/u", 404, 0));
}

static void test_delete_preconditions(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    cJSON *c = create(t, CMS, "{\"metadata\":{\"name\":\"pc\"}}");
    char uid[64], rv[32], body[256], msg[512];
    snprintf(uid, sizeof uid, "%s", itest_jstr(c, "metadata.uid"));
    snprintf(rv, sizeof rv, "%s", itest_jstr(c, "metadata.resourceVersion"));
    cJSON_Delete(c);
    cJSON *st = itest_json(t, "DELETE", CMS "/pc", "{\"preconditions\":{\"uid\":\"abc\"}}", &code);
    assert_int_equal(code, 409);
    assert_string_equal(itest_jstr(st, "reason"), "Conflict");
    /* kube-apiserver wraps the storage error in NewConflict (registry/store.go
     * InterpretDeleteError) */
    snprintf(msg, sizeof msg,
             "Operation cannot be fulfilled on configmaps \"pc\": StorageError: invalid object, "
             "Code: 4, Key: /registry/configmaps/default/pc, ResourceVersion: 0, "
             "AdditionalErrorMsg: Precondition failed: UID in precondition: abc, UID in object "
             "meta: %s",
             uid);
    itest_assert_status(st, &code, 409, "Conflict", msg);
    snprintf(body, sizeof body, "{\"preconditions\":{\"uid\":\"%s\",\"resourceVersion\":\"%s\"}}",
             uid, rv);
    c = itest_json(t, "DELETE", CMS "/pc", body, &code);
    assert_int_equal(code, 200);
    cJSON_Delete(c);
    assert_true(itest_wait_code(t, CMS "/pc", 404, 0));
}

static void test_delete_collection(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    char names[512];
    create_cm(t, "default", "d1", "\"app\":\"del\"");
    create_cm(t, "default", "d2", "\"app\":\"del\"");
    create_cm(t, "default", "keep", "\"app\":\"keep\"");
    create_cm(t, "kube-system", "d3", "\"app\":\"del\"");
    cJSON *l = itest_json(t, "DELETE", CMS "?labelSelector=app%3Ddel", NULL, &code);
    assert_int_equal(code, 200);
    assert_string_equal(itest_jstr(l, "kind"), "ConfigMapList");
    assert_string_equal(names_of(l, names, sizeof names, 0), "d1,d2");
    cJSON_Delete(l);
    assert_string_equal(list_names(t, CMS, names, sizeof names), "keep");
    /* other namespaces untouched */
    assert_string_equal(
        list_names(t, "/api/v1/namespaces/kube-system/configmaps", names, sizeof names), "d3");
}

/* ---- list ---- */

static void test_list_label_selectors(void **state)
{
    struct itest *t = start_plain(state);
    char names[512], path[512];
    create_cm(t, "default", "a", "\"env\":\"prod\",\"tier\":\"web\"");
    create_cm(t, "default", "b", "\"env\":\"dev\",\"tier\":\"web\"");
    create_cm(t, "default", "c", "\"env\":\"prod\"");
    create_cm(t, "default", "d", "\"tier\":\"db\"");
    create_cm(t, "default", "e", NULL);
    static const struct {
        const char *sel, *want;
    } cases[] = {
        {"env%3Dprod", "a,c"},
        {"env%3D%3Dprod", "a,c"},
        {"env!%3Dprod", "b,d,e"},
        {"env%20in%20(prod,dev)", "a,b,c"},
        {"env%20notin%20(prod)", "b,d,e"},
        {"env", "a,b,c"},
        {"!env", "d,e"},
        {"env%3Dprod,tier%3Dweb", "a"},
        {"tier%20in%20(web),env!%3Ddev", "a"},
        {"tier%3Dnone", ""},
        {"", "a,b,c,d,e"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(path, sizeof path, CMS "?labelSelector=%s", cases[i].sel);
        list_names(t, path, names, sizeof names);
        if (strcmp(names, cases[i].want) != 0)
            fail_msg("labelSelector=%s: got [%s], want [%s]", cases[i].sel, names, cases[i].want);
    }
}

struct advance_arg {
    const char *ns, *name;
    int rc;
};

static void advance_pod(void *arg, struct mockapi_server *s)
{
    struct advance_arg *a = arg;
    a->rc = cluster_pod_advance(mockapi_server_cluster(s), a->ns, a->name);
}

static void test_list_field_selectors(void **state)
{
    struct itest_opts o = {0};
    o.cluster.start_delay_ms = 60000; /* pods stay Pending until advanced */
    struct itest *t = itest_start(state, &o);
    char names[512];
    create_ns(t, "other");
    create_pod(t, "default", "p1", NULL);
    create_pod(t, "default", "p2", NULL);
    create_pod(t, "other", "p3", NULL);
    cJSON_Delete(
        itest_wait_field(t, PODS "/p1", "spec.nodeName", CLUSTER_NODE_NAME, ITEST_WAIT_MS));
    struct advance_arg a = {"default", "p1", -1};
    itest_run(t, advance_pod, &a);
    assert_int_equal(a.rc, 0);
    cJSON *p = itest_wait_field(t, PODS "/p1", "status.phase", "Running", ITEST_WAIT_MS);
    assert_non_null(p);
    cJSON_Delete(p);
    assert_string_equal(
        list_names(t, PODS "?fieldSelector=metadata.name%3Dp2", names, sizeof names), "p2");
    assert_string_equal(
        list_names(t, PODS "?fieldSelector=status.phase%3DRunning", names, sizeof names), "p1");
    assert_string_equal(
        list_names(t, PODS "?fieldSelector=status.phase!%3DRunning", names, sizeof names), "p2");
    assert_string_equal(
        list_names(t, "/api/v1/pods?fieldSelector=status.phase%3DPending", names, sizeof names),
        "p2,p3");
    assert_string_equal(list_names(t,
                                   "/api/v1/pods?fieldSelector=metadata.namespace%3Dother,"
                                   "status.phase%3DPending",
                                   names, sizeof names),
                        "p3");
    assert_string_equal(list_names(t, PODS "?fieldSelector=spec.nodeName%3D" CLUSTER_NODE_NAME,
                                   names, sizeof names),
                        "p1,p2");
}

static void test_bad_selectors_400(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    itest_assert_status(itest_json(t, "GET", CMS "?labelSelector=env%20in%20(prod", NULL, &code),
                        &code, 400, "BadRequest",
                        "unable to parse requirement: found '', expected: ',' or ')'");
    itest_assert_status(itest_json(t, "GET", PODS "?fieldSelector=spec.foo%3Dx", NULL, &code),
                        &code, 400, "BadRequest", "field label not supported: spec.foo");
    itest_assert_status(itest_json(t, "GET", CMS "?limit=abc", NULL, &code), &code, 400,
                        "BadRequest", "invalid limit: abc");
}

static void test_list_paging(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    char path[1024];
    create_ns(t, "paging");
    const char *want[] = {"c1", "c2", "c3", "c4", "c5"};
    for (size_t i = 0; i < 5; i++)
        create_cm(t, "paging", want[4 - i], NULL); /* created out of order, listed by name */
    char cont[512] = "";
    size_t seen = 0;
    for (int page = 0; page < 3; page++) {
        if (page == 0)
            snprintf(path, sizeof path, "/api/v1/namespaces/paging/configmaps?limit=2");
        else
            snprintf(path, sizeof path, "/api/v1/namespaces/paging/configmaps?limit=2&continue=%s",
                     cont);
        cJSON *l = itest_json(t, "GET", path, NULL, &code);
        assert_int_equal(code, 200);
        assert_true(is_number_string(itest_jstr(l, "metadata.resourceVersion")));
        const cJSON *it;
        cJSON_ArrayForEach(it, itest_jget(l, "items"))
        {
            assert_true(seen < 5);
            assert_string_equal(itest_jstr(it, "metadata.name"), want[seen]);
            seen++;
        }
        assert_int_equal(cJSON_GetArraySize(itest_jget(l, "items")), page < 2 ? 2 : 1);
        const char *c = itest_jstr(l, "metadata.continue");
        if (page < 2) {
            assert_non_null(c);
            assert_true(strlen(c) > 0);
            /* base64 may hold '+', '/' and '=': escape them for the query */
            size_t n = 0;
            for (const char *s = c; *s && n + 4 < sizeof cont; s++) {
                if (*s == '+' || *s == '/' || *s == '=')
                    n += (size_t)snprintf(cont + n, sizeof cont - n, "%%%02X", (unsigned char)*s);
                else
                    cont[n++] = *s;
            }
            cont[n] = '\0';
        } else {
            assert_true(c == NULL || *c == '\0');
        }
        cJSON_Delete(l);
    }
    assert_int_equal(seen, 5);
    itest_assert_status(
        itest_json(t, "GET", "/api/v1/namespaces/paging/configmaps?continue=zzzz", NULL, &code),
        &code, 400, "BadRequest",
        "continue key is not valid: incorrect encoded start resourceVersion "
        "(version meta.k8s.io/v1)");
}

static void test_list_all_namespaces(void **state)
{
    struct itest_opts o = {0};
    o.cluster.schedule_delay_ms = 60000;
    struct itest *t = itest_start(state, &o);
    long code;
    char names[512];
    create_ns(t, "aaa");
    create_pod(t, "default", "p1", NULL);
    create_pod(t, "aaa", "p2", NULL);
    create_pod(t, "default", "p0", NULL);
    cJSON *l = itest_json(t, "GET", "/api/v1/pods", NULL, &code);
    assert_int_equal(code, 200);
    assert_string_equal(itest_jstr(l, "kind"), "PodList");
    assert_string_equal(itest_jstr(l, "apiVersion"), "v1");
    assert_true(is_number_string(itest_jstr(l, "metadata.resourceVersion")));
    assert_string_equal(names_of(l, names, sizeof names, 1), "aaa/p2,default/p0,default/p1");
    cJSON_Delete(l);
    assert_string_equal(list_names(t, PODS, names, sizeof names), "p0,p1");
    /* bootstrap: the four namespaces and their default service accounts */
    l = itest_json(t, "GET", "/api/v1/serviceaccounts", NULL, &code);
    assert_string_equal(names_of(l, names, sizeof names, 1),
                        "aaa/default,default/default,kube-node-lease/default,kube-public/default,"
                        "kube-system/default");
    cJSON_Delete(l);
}

static void test_table(void **state)
{
    struct itest *t = start_plain(state);
    create_pod(t, "default", "tp", NULL);
    cJSON_Delete(itest_wait_field(t, PODS "/tp", "status.phase", "Running", ITEST_WAIT_MS));
    const char *paths[] = {PODS, PODS "/tp"};
    for (size_t i = 0; i < 2; i++) {
        struct itest_req r = {0};
        struct itest_resp resp;
        char ct[256];
        r.path = paths[i];
        r.accept = TABLE_ACCEPT;
        itest_request(t, &r, &resp);
        assert_int_equal(resp.code, 200);
        assert_non_null(itest_resp_header(&resp, "Content-Type", ct, sizeof ct));
        assert_string_equal(ct, "application/json;as=Table;v=v1;g=meta.k8s.io");
        cJSON *tb = cJSON_Parse(resp.body);
        assert_non_null(tb);
        assert_string_equal(itest_jstr(tb, "kind"), "Table");
        assert_string_equal(itest_jstr(tb, "apiVersion"), "meta.k8s.io/v1");
        assert_string_equal(itest_jstr(tb, "columnDefinitions.0.name"), "Name");
        assert_string_equal(itest_jstr(tb, "columnDefinitions.1.name"), "Ready");
        assert_string_equal(itest_jstr(tb, "columnDefinitions.2.name"), "Status");
        assert_string_equal(itest_jstr(tb, "columnDefinitions.3.name"), "Restarts");
        assert_string_equal(itest_jstr(tb, "columnDefinitions.4.name"), "Age");
        assert_int_equal(cJSON_GetArraySize(itest_jget(tb, "rows")), 1);
        assert_string_equal(itest_jstr(tb, "rows.0.cells.0"), "tp");
        assert_string_equal(itest_jstr(tb, "rows.0.cells.1"), "1/1");
        assert_string_equal(itest_jstr(tb, "rows.0.cells.2"), "Running");
        assert_string_equal(itest_jstr(tb, "rows.0.object.kind"), "PartialObjectMetadata");
        assert_string_equal(itest_jstr(tb, "rows.0.object.metadata.name"), "tp");
        cJSON_Delete(tb);
        itest_resp_release(&resp);
    }
    /* a plain Accept gets the plain list */
    long code;
    cJSON *l = itest_json(t, "GET", PODS, NULL, &code);
    assert_string_equal(itest_jstr(l, "kind"), "PodList");
    cJSON_Delete(l);
}

/* ---- other kinds ---- */

static void test_ssar_allowed(void **state)
{
    struct itest *t = start_plain(state);
    cJSON *r = create(t, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                      "{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":"
                      "\"SelfSubjectAccessReview\",\"spec\":{\"resourceAttributes\":{\"verb\":"
                      "\"create\",\"resource\":\"pods\",\"subresource\":\"exec\",\"namespace\":"
                      "\"default\"}}}");
    assert_string_equal(itest_jstr(r, "kind"), "SelfSubjectAccessReview");
    assert_string_equal(itest_jstr(r, "apiVersion"), "authorization.k8s.io/v1");
    assert_true(cJSON_IsTrue(itest_jget(r, "status.allowed")));
    assert_string_equal(itest_jstr(r, "spec.resourceAttributes.subresource"), "exec");
    cJSON_Delete(r);
}

static void test_pdb(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    const char *path = "/apis/policy/v1/namespaces/default/poddisruptionbudgets";
    const char *body =
        "{\"apiVersion\":\"policy/v1\",\"kind\":\"PodDisruptionBudget\",\"metadata\":"
        "{\"name\":\"pdb1\"},\"spec\":{\"maxUnavailable\":0,\"selector\":{"
        "\"matchLabels\":{\"app\":\"x\"}}}}";
    cJSON *p = create(t, path, body);
    assert_string_equal(itest_jstr(p, "kind"), "PodDisruptionBudget");
    assert_string_equal(itest_jstr(p, "apiVersion"), "policy/v1");
    assert_string_equal(itest_jstr(p, "metadata.namespace"), "default");
    cJSON_Delete(p);
    p = itest_json(t, "GET", "/apis/policy/v1/namespaces/default/poddisruptionbudgets/pdb1", NULL,
                   &code);
    assert_int_equal(code, 200);
    assert_string_equal(itest_jstr(p, "spec.selector.matchLabels.app"), "x");
    cJSON_Delete(p);
    cJSON *st = itest_json(t, "POST", path, body, &code);
    assert_string_equal(itest_jstr(st, "details.group"), "policy");
    itest_assert_status(st, &code, 409, "AlreadyExists",
                        "poddisruptionbudgets.policy \"pdb1\" already exists");
    cJSON *l = itest_json(t, "GET", "/apis/policy/v1/poddisruptionbudgets", NULL, &code);
    assert_string_equal(itest_jstr(l, "kind"), "PodDisruptionBudgetList");
    assert_string_equal(itest_jstr(l, "apiVersion"), "policy/v1");
    assert_int_equal(cJSON_GetArraySize(itest_jget(l, "items")), 1);
    cJSON_Delete(l);
}

static void test_secret_string_data(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    cJSON *s = create(t, "/api/v1/namespaces/default/secrets",
                      "{\"metadata\":{\"name\":\"s\"},\"data\":{\"x\":\"eA==\"},\"stringData\":{"
                      "\"user\":\"admin\",\"pw\":\"s3cret!\",\"empty\":\"\"}}");
    assert_string_equal(itest_jstr(s, "type"), "Opaque");
    assert_string_equal(itest_jstr(s, "data.x"), "eA==");
    assert_string_equal(itest_jstr(s, "data.user"), "YWRtaW4=");
    assert_string_equal(itest_jstr(s, "data.pw"), "czNjcmV0IQ==");
    assert_string_equal(itest_jstr(s, "data.empty"), "");
    assert_null(itest_jget(s, "stringData"));
    cJSON_Delete(s);
    /* stringData wins over data for the same key, also on update */
    s = itest_json(t, "PUT", "/api/v1/namespaces/default/secrets/s",
                   "{\"metadata\":{\"name\":\"s\"},\"data\":{\"user\":\"eA==\"},\"stringData\":{"
                   "\"user\":\"root\"}}",
                   &code);
    assert_int_equal(code, 200);
    assert_string_equal(itest_jstr(s, "data.user"), "cm9vdA==");
    assert_null(itest_jget(s, "stringData"));
    cJSON_Delete(s);
}

static void test_service_defaults(void **state)
{
    struct itest *t = start_plain(state);
    cJSON *s = create(t, "/api/v1/namespaces/default/services",
                      "{\"metadata\":{\"name\":\"svc\"},\"spec\":{\"selector\":{\"app\":\"x\"},"
                      "\"ports\":[{\"port\":80}]}}");
    assert_string_equal(itest_jstr(s, "spec.type"), "ClusterIP");
    assert_non_null(itest_jstr(s, "spec.clusterIP"));
    assert_string_equal(itest_jstr(s, "spec.clusterIPs.0"), itest_jstr(s, "spec.clusterIP"));
    assert_string_equal(itest_jstr(s, "spec.ports.0.protocol"), "TCP");
    assert_int_equal(itest_jget(s, "spec.ports.0.targetPort")->valueint, 80);
    cJSON_Delete(s);
}

static void test_namespace_lifecycle(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    cJSON *n = create(t, "/api/v1/namespaces", "{\"metadata\":{\"name\":\"ns1\"}}");
    assert_string_equal(itest_jstr(n, "status.phase"), "Active");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(itest_jget(n, "metadata.labels"),
                                                         "kubernetes.io/metadata.name")
                            ->valuestring,
                        "ns1");
    cJSON_Delete(n);
    cJSON *sa = itest_json(t, "GET", "/api/v1/namespaces/ns1/serviceaccounts/default", NULL, &code);
    assert_int_equal(code, 200);
    cJSON_Delete(sa);
    create_cm(t, "ns1", "inside", NULL);
    n = itest_json(t, "DELETE", "/api/v1/namespaces/ns1", NULL, &code);
    assert_int_equal(code, 200);
    assert_string_equal(itest_jstr(n, "status.phase"), "Terminating");
    cJSON_Delete(n);
    assert_true(itest_wait_code(t, "/api/v1/namespaces/ns1", 404, ITEST_WAIT_MS));
    assert_true(itest_wait_code(t, "/api/v1/namespaces/ns1/configmaps/inside", 404, 0));
    itest_assert_status(
        itest_json(t, "GET", "/api/v1/namespaces/default/pods/x/bogus", NULL, &code), &code, 404,
        "NotFound", "the server could not find the requested resource");
}

static void test_cluster_scoped_in_namespace_path(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    itest_assert_status(itest_json(t, "GET", "/api/v1/namespaces/default/nodes", NULL, &code),
                        &code, 400, "BadRequest", "nodes is not namespaced");
}

static void test_overlong_subresource_does_not_hit_the_object(void **state)
{
    /* DELETE on an unknown (overlong) subresource must be a 404, not a delete of the object */
    struct itest *t = start_plain(state);
    long code;
    cJSON_Delete(create(t, CMS, "{\"metadata\":{\"name\":\"victim\"}}"));
    char sub[64], path[256];
    memset(sub, 's', sizeof sub - 1);
    sub[sizeof sub - 1] = '\0';
    snprintf(path, sizeof path, CMS "/victim/%s", sub);
    cJSON *j = itest_json(t, "DELETE", path, NULL, &code);
    int still_there = itest_wait_code(t, CMS "/victim", 200, 0);
    if (code != 404 || !still_there)
        itest_fail_json(j, "DELETE .../victim/<63 chars>: %ld, configmap still there: %d", code,
                        still_there);
    itest_assert_status(j, &code, 404, "NotFound",
                        "the server could not find the requested resource");
    /* and a group name too long for the router is not the core group */
    char group[100];
    memset(group, 'g', sizeof group - 1);
    group[sizeof group - 1] = '\0';
    snprintf(path, sizeof path, "/apis/%s/v1/namespaces/default/configmaps", group);
    j = itest_json(t, "GET", path, NULL, &code);
    itest_assert_status(j, &code, 404, "NotFound",
                        "the server could not find the requested resource");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_create_pod, itest_teardown),
        cmocka_unit_test_teardown(test_create_ignores_client_system_fields, itest_teardown),
        cmocka_unit_test_teardown(test_generate_name, itest_teardown),
        cmocka_unit_test_teardown(test_create_twice_409, itest_teardown),
        cmocka_unit_test_teardown(test_get_missing_404, itest_teardown),
        cmocka_unit_test_teardown(test_invalid_name_422, itest_teardown),
        cmocka_unit_test_teardown(test_missing_name_and_containers_422, itest_teardown),
        cmocka_unit_test_teardown(test_create_in_missing_namespace, itest_teardown),
        cmocka_unit_test_teardown(test_namespace_mismatch_400, itest_teardown),
        cmocka_unit_test_teardown(test_kind_mismatch_400, itest_teardown),
        cmocka_unit_test_teardown(test_dry_run_create, itest_teardown),
        cmocka_unit_test_teardown(test_body_errors, itest_teardown),
        cmocka_unit_test_teardown(test_garbage_json_400, itest_teardown),
        cmocka_unit_test_teardown(test_garbage_protobuf_400, itest_teardown),
        cmocka_unit_test_teardown(test_update_and_conflict, itest_teardown),
        cmocka_unit_test_teardown(test_update_keeps_uid_and_status, itest_teardown),
        cmocka_unit_test_teardown(test_patch_merge, itest_teardown),
        cmocka_unit_test_teardown(test_patch_json, itest_teardown),
        cmocka_unit_test_teardown(test_patch_strategic, itest_teardown),
        cmocka_unit_test_teardown(test_patch_errors, itest_teardown),
        cmocka_unit_test_teardown(test_delete_pod_graceful, itest_teardown),
        cmocka_unit_test_teardown(test_delete_grace_zero, itest_teardown),
        cmocka_unit_test_teardown(test_owner_references_are_collected, itest_teardown),
        cmocka_unit_test_teardown(test_owner_references_set_by_update, itest_teardown),
        cmocka_unit_test_teardown(test_delete_unscheduled_pod_at_once, itest_teardown),
        cmocka_unit_test_teardown(test_delete_preconditions, itest_teardown),
        cmocka_unit_test_teardown(test_delete_collection, itest_teardown),
        cmocka_unit_test_teardown(test_list_label_selectors, itest_teardown),
        cmocka_unit_test_teardown(test_list_field_selectors, itest_teardown),
        cmocka_unit_test_teardown(test_bad_selectors_400, itest_teardown),
        cmocka_unit_test_teardown(test_list_paging, itest_teardown),
        cmocka_unit_test_teardown(test_list_all_namespaces, itest_teardown),
        cmocka_unit_test_teardown(test_table, itest_teardown),
        cmocka_unit_test_teardown(test_ssar_allowed, itest_teardown),
        cmocka_unit_test_teardown(test_pdb, itest_teardown),
        cmocka_unit_test_teardown(test_secret_string_data, itest_teardown),
        cmocka_unit_test_teardown(test_service_defaults, itest_teardown),
        cmocka_unit_test_teardown(test_namespace_lifecycle, itest_teardown),
        cmocka_unit_test_teardown(test_cluster_scoped_in_namespace_path, itest_teardown),
        cmocka_unit_test_teardown(test_overlong_subresource_does_not_hit_the_object,
                                  itest_teardown),
    };
    itest_filter_from_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
