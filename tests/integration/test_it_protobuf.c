/* test_it_protobuf.c -- Kubernetes protobuf request bodies over real sockets, from the committed
 * vectors (tests/vectors/proto/NAME.bin, made by scripts/gen-proto-vectors.sh): creates of every
 * kind client-go sends that way, DeleteOptions, and refused envelopes */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "itest.h"

#define PROTO "application/vnd.kubernetes.protobuf"

static struct itest *start_plain(void **state)
{
    struct itest_opts o = {0};
    return itest_start(state, &o);
}

static cJSON *load_json(const char *name)
{
    char path[1024];
    size_t len;
    char rel[256];
    snprintf(rel, sizeof rel, "proto/%s.json", name);
    unsigned char *text = itest_read_file(itest_vector_path(rel, path, sizeof path), &len);
    cJSON *j = cJSON_ParseWithLength((const char *)text, len);
    free(text);
    if (!j)
        fail_msg("%s is not JSON", path);
    return j;
}

/* Send vector NAME.bin with method to path; returns the JSON answer and the status. */
static cJSON *send_vector(struct itest *t, const char *method, const char *path, const char *name,
                          long *code)
{
    char file[1024], rel[256];
    size_t len;
    snprintf(rel, sizeof rel, "proto/%s.bin", name);
    unsigned char *body = itest_read_file(itest_vector_path(rel, file, sizeof file), &len);
    cJSON *j = itest_json_ct(t, method, path, PROTO, body, len, code);
    free(body);
    return j;
}

static cJSON *create_vector(struct itest *t, const char *path, const char *name)
{
    long code;
    cJSON *j = send_vector(t, "POST", path, name, &code);
    if (code != 201)
        itest_fail_json(j, "POST %s (%s.bin): %ld", path, name, code);
    return j;
}

static void create_gitlab_ci(struct itest *t)
{
    itest_must(t, "POST", "/api/v1/namespaces", NULL, "{\"metadata\":{\"name\":\"gitlab-ci\"}}",
               201);
}

static void test_pod_run(void **state)
{
    /* kubectl run's pod */
    struct itest *t = start_plain(state);
    cJSON *p = create_vector(t, "/api/v1/namespaces/default/pods", "pod_run");
    assert_string_equal(itest_jstr(p, "kind"), "Pod");
    assert_string_equal(itest_jstr(p, "metadata.name"), "r1");
    assert_string_equal(itest_jstr(p, "metadata.namespace"), "default");
    assert_string_equal(itest_jstr(p, "metadata.labels.run"), "r1");
    assert_string_equal(itest_jstr(p, "spec.containers.0.name"), "r1");
    assert_string_equal(itest_jstr(p, "spec.containers.0.image"), "busybox");
    assert_string_equal(itest_jstr(p, "spec.restartPolicy"), "Never");
    assert_string_equal(itest_jstr(p, "status.phase"), "Pending");
    cJSON_Delete(p);
    p = itest_wait_field(t, "/api/v1/namespaces/default/pods/r1", "status.phase", "Running",
                         ITEST_WAIT_MS);
    assert_non_null(p);
    cJSON_Delete(p);
}

static void test_pod_runner(void **state)
{
    /* GitLab Runner's build pod: every field it sets survives the trip */
    struct itest *t = start_plain(state);
    create_gitlab_ci(t);
    cJSON *want = load_json("pod_runner");
    cJSON *p = create_vector(t, "/api/v1/namespaces/gitlab-ci/pods", "pod_runner");
    const char *gen = itest_jstr(want, "metadata.generateName");
    assert_non_null(gen);
    const char *name = itest_jstr(p, "metadata.name");
    assert_int_equal(strncmp(name, gen, strlen(gen)), 0);
    assert_int_equal(strlen(name), strlen(gen) + 5);
    assert_string_equal(itest_jstr(p, "metadata.namespace"), "gitlab-ci");
    const cJSON *wc = itest_jget(want, "spec.containers");
    const cJSON *gc = itest_jget(p, "spec.containers");
    assert_int_equal(cJSON_GetArraySize(gc), cJSON_GetArraySize(wc));
    for (int i = 0; i < cJSON_GetArraySize(wc); i++) {
        const cJSON *w = cJSON_GetArrayItem(wc, i), *g = cJSON_GetArrayItem(gc, i);
        assert_string_equal(itest_jstr(g, "name"), itest_jstr(w, "name"));
        assert_string_equal(itest_jstr(g, "image"), itest_jstr(w, "image"));
        assert_true(cJSON_Compare(itest_jget(g, "command"), itest_jget(w, "command"), 1) ||
                    !itest_jget(w, "command"));
        assert_true(cJSON_Compare(itest_jget(g, "env"), itest_jget(w, "env"), 1) ||
                    !itest_jget(w, "env"));
    }
    assert_int_equal(cJSON_GetArraySize(itest_jget(p, "spec.initContainers")),
                     cJSON_GetArraySize(itest_jget(want, "spec.initContainers")));
    assert_true(cJSON_Compare(itest_jget(p, "spec.volumes"), itest_jget(want, "spec.volumes"), 1));
    assert_true(
        cJSON_Compare(itest_jget(p, "metadata.labels"), itest_jget(want, "metadata.labels"), 1));
    /* the status it sent is not kept: the pod starts Pending */
    assert_string_equal(itest_jstr(p, "status.phase"), "Pending");
    char path[512];
    snprintf(path, sizeof path, "/api/v1/namespaces/gitlab-ci/pods/%s", name);
    cJSON *run = itest_wait_field(t, path, "status.phase", "Running", ITEST_WAIT_MS);
    assert_non_null(run);
    cJSON_Delete(run);
    cJSON_Delete(p);
    cJSON_Delete(want);
}

static void test_other_kinds(void **state)
{
    struct itest *t = start_plain(state);
    create_gitlab_ci(t);
    cJSON *s = create_vector(t, "/api/v1/namespaces/gitlab-ci/secrets", "secret");
    cJSON *want = load_json("secret");
    assert_string_equal(itest_jstr(s, "kind"), "Secret");
    assert_string_equal(itest_jstr(s, "data.binary"), itest_jstr(want, "data.binary"));
    assert_string_equal(itest_jstr(s, "data.plain"), "dGV4dA=="); /* stringData folded in */
    assert_null(itest_jget(s, "stringData"));
    cJSON_Delete(want);
    cJSON_Delete(s);

    s = create_vector(t, "/api/v1/namespaces/default/configmaps", "configmap");
    want = load_json("configmap");
    assert_true(cJSON_Compare(itest_jget(s, "data"), itest_jget(want, "data"), 1));
    assert_true(cJSON_Compare(itest_jget(s, "binaryData"), itest_jget(want, "binaryData"), 1));
    cJSON_Delete(want);
    cJSON_Delete(s);

    s = create_vector(t, "/api/v1/namespaces/gitlab-ci/services", "service");
    assert_string_equal(itest_jstr(s, "metadata.name"), "svc-proxy");
    assert_non_null(itest_jstr(s, "spec.clusterIP"));
    assert_string_equal(itest_jstr(s, "spec.ports.0.targetPort"), "web");
    cJSON_Delete(s);

    s = create_vector(t, "/api/v1/namespaces/default/serviceaccounts", "serviceaccount");
    assert_string_equal(itest_jstr(s, "metadata.name"), "sa1");
    cJSON_Delete(s);

    s = create_vector(t, "/apis/policy/v1/namespaces/gitlab-ci/poddisruptionbudgets", "pdb");
    assert_string_equal(itest_jstr(s, "apiVersion"), "policy/v1");
    assert_int_equal(itest_jget(s, "spec.minAvailable")->valueint, 1);
    cJSON_Delete(s);

    s = create_vector(t, "/api/v1/namespaces/gitlab-ci/events", "event");
    assert_string_equal(itest_jstr(s, "reason"), "Pulled");
    cJSON_Delete(s);

    s = create_vector(t, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", "ssar");
    assert_true(cJSON_IsTrue(itest_jget(s, "status.allowed")));
    assert_string_equal(itest_jstr(s, "spec.resourceAttributes.subresource"), "attach");
    cJSON_Delete(s);
}

static void test_namespace(void **state)
{
    struct itest *t = start_plain(state);
    cJSON *n = create_vector(t, "/api/v1/namespaces", "namespace");
    assert_string_equal(itest_jstr(n, "metadata.name"), "gitlab-ci");
    assert_string_equal(itest_jstr(n, "status.phase"), "Active");
    cJSON_Delete(n);
    long code;
    cJSON *sa =
        itest_json(t, "GET", "/api/v1/namespaces/gitlab-ci/serviceaccounts/default", NULL, &code);
    assert_int_equal(code, 200);
    cJSON_Delete(sa);
}

static void test_delete_options(void **state)
{
    /* DeleteOptions as protobuf: gracePeriodSeconds 0 removes the running pod at once */
    struct itest *t = start_plain(state);
    cJSON_Delete(create_vector(t, "/api/v1/namespaces/default/pods", "pod_run"));
    cJSON *p = itest_wait_field(t, "/api/v1/namespaces/default/pods/r1", "status.phase", "Running",
                                ITEST_WAIT_MS);
    assert_non_null(p);
    cJSON_Delete(p);
    long code;
    p = send_vector(t, "DELETE", "/api/v1/namespaces/default/pods/r1", "deleteoptions_v1", &code);
    assert_int_equal(code, 200);
    cJSON_Delete(p);
    assert_true(itest_wait_code(t, "/api/v1/namespaces/default/pods/r1", 404, 0));
    /* meta.k8s.io/v1 DeleteOptions with a uid precondition that does not hold: a conflict */
    cJSON_Delete(create_vector(t, "/api/v1/namespaces/default/pods", "pod_run"));
    p = send_vector(t, "DELETE", "/api/v1/namespaces/default/pods/r1", "deleteoptions_meta", &code);
    itest_assert_status(p, &code, 409, "Conflict", NULL);
}

static void test_refused_envelopes(void **state)
{
    struct itest *t = start_plain(state);
    /* kubefault's own decoder texts (test_proto.c holds them exactly): the Status carries them
     * after "failed to decode protobuf body: " */
    static const struct {
        const char *name, *message;
    } bad[] = {
        {"bad_kind", "unsupported protobuf kind \"Foo\""},
        {"bad_api_version",
         "unsupported apiVersion \"apps/v1\" for protobuf kind \"Pod\" (expected \"v1\")"},
        {"bad_encoding", "unsupported contentEncoding \"gzip\""},
        {"bad_no_magic", "missing \"k8s\\0\" magic"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long code;
        cJSON *st = send_vector(t, "POST", "/api/v1/namespaces/default/pods", bad[i].name, &code);
        const char *msg = itest_jstr(st, "message");
        static const char prefix[] = "failed to decode protobuf body: ";
        if (!msg || strncmp(msg, prefix, sizeof prefix - 1) != 0 || !strstr(msg, bad[i].message))
            fail_msg("%s: message %s, want %s%s...", bad[i].name, msg ? msg : "(none)", prefix,
                     bad[i].message);
        itest_assert_status(st, &code, 400, "BadRequest", NULL);
    }
    /* truncations of a good body: every prefix is refused cleanly or decodes, never a crash */
    char file[1024];
    size_t len;
    unsigned char *body =
        itest_read_file(itest_vector_path("proto/pod_runner.bin", file, sizeof file), &len);
    itest_must(t, "POST", "/api/v1/namespaces", NULL, "{\"metadata\":{\"name\":\"gitlab-ci\"}}",
               201);
    for (size_t cut = 0; cut < len; cut += 97) {
        long code;
        cJSON *j =
            itest_json_ct(t, "POST", "/api/v1/namespaces/gitlab-ci/pods", PROTO, body, cut, &code);
        if (code != 400 && code != 201 && code != 422) {
            free(body);
            itest_fail_json(j, "pod_runner.bin cut at %zu: %ld", cut, code);
        }
        cJSON_Delete(j);
    }
    free(body);
    itest_must(t, "GET", "/version", NULL, NULL, 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_pod_run, itest_teardown),
        cmocka_unit_test_teardown(test_pod_runner, itest_teardown),
        cmocka_unit_test_teardown(test_other_kinds, itest_teardown),
        cmocka_unit_test_teardown(test_namespace, itest_teardown),
        cmocka_unit_test_teardown(test_delete_options, itest_teardown),
        cmocka_unit_test_teardown(test_refused_envelopes, itest_teardown),
    };
    itest_filter_from_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
