/* test_it_admission.c -- admission policies over real sockets with libcurl, through a real engine
 * built from scenario text on the server thread: denials byte for byte (JSON and protobuf
 * bodies), exemptions, what each verb's policies look at (create and update bodies, the patched
 * object for JSON, merge and strategic merge patches, the stored object for delete, each selected
 * object for deletecollection), requests left to the API layer (bad bodies, missing objects), a
 * policy's fault (webhook timeout, after its timeoutSeconds), the journal entries, and rules that
 * a denied request never reaches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/engine.h"
#include "harness/journal.h"
#include "itest.h"

#define PODS "/api/v1/namespaces/default/pods"
#define CMS "/api/v1/namespaces/default/configmaps"
#define SECRETS "/api/v1/namespaces/default/secrets"
#define PROTO "application/vnd.kubernetes.protobuf"
#define MERGE "application/merge-patch+json"
#define STRATEGIC "application/strategic-merge-patch+json"
#define JSONPATCH "application/json-patch+json"
#define SLACK_MS 5000 /* a wait may run late by this much, never early (CI shares two cores) */

#define GK "admission webhook \"validation.gatekeeper.sh\" denied the request: "
#define RO "[psp-readonlyrootfilesystem] only read-only root filesystem container is allowed: "
#define WIN                                                                                        \
    "admission webhook \"windows.common-webhooks.networking.gke.io\" denied the request: "         \
    "spec.hostAliases: Invalid value: []v1.HostAlias{v1.HostAlias{IP:\"127.0.0.1\", "              \
    "Hostnames:[]string{\"my-windows-image\"}}}: Windows does not support this field."

/* The scenario (' for "): every policy the tests below use. */
static const char SCENARIO[] =
    "{'name': 'admission', 'cluster': {'namespaces': ['gitlab-ci', 'exempt-ci']},"
    " 'rules': [{'name': 'rule-500', 'match': {'verb': 'create', 'resource': 'configmaps',"
    "            'body': [{'path': 'metadata.name', 'equals': 'ruled'}]},"
    "            'fault': {'type': 'status', 'code': 500, 'reason': 'InternalError',"
    "                      'message': 'the rule fired'}}],"
    " 'admission': ["
    "  {'name': 'psp-readonlyrootfilesystem', 'match': {'verb': 'create', 'resource': 'pods'},"
    "   'forEach': 'spec.containers[*]',"
    "   'when': [{'path': 'securityContext.readOnlyRootFilesystem', 'notEquals': true}],"
    "   'exempt': {'labels': {'kubefault.io/exempt': 'true'},"
    "              'annotations': {'kubefault.io/policy': 'skip'}, 'namespaces': ['exempt-*']},"
    "   'deny': {'code': 403, 'message': 'admission webhook \\'validation.gatekeeper.sh\\' "
    "denied the request: [psp-readonlyrootfilesystem] only read-only root filesystem container "
    "is allowed: {element}'}},"
    "  {'name': 'windows-no-host-aliases',"
    "   'match': {'verb': ['create', 'update', 'patch'], 'resource': 'pods'},"
    "   'when': [{'path': 'spec.nodeSelector[\\'kubernetes.io/os\\']', 'equals': 'windows'},"
    "            {'path': 'spec.hostAliases', 'exists': true}],"
    "   'deny': {'code': 400, 'message': 'admission webhook "
    "\\'windows.common-webhooks.networking.gke.io\\' denied the request: spec.hostAliases: "
    "Invalid value: []v1.HostAlias{v1.HostAlias{IP:\\'127.0.0.1\\', "
    "Hostnames:[]string{\\'my-windows-image\\'}}}: Windows does not support this field.'}},"
    "  {'name': 'protect-configmaps',"
    "   'match': {'verb': ['delete', 'deletecollection'], 'resource': 'configmaps'},"
    "   'when': [{'path': 'metadata.labels.protected', 'equals': 'true'}],"
    "   'deny': {'message': 'configmap {name} in {namespace} is protected'}},"
    "  {'name': 'no-forbidden-data',"
    "   'match': {'verb': ['create', 'update', 'patch'], 'resource': 'configmaps'},"
    "   'when': [{'path': 'data.forbidden', 'exists': true}],"
    "   'deny': {'code': 422, 'message': 'data.forbidden: Forbidden: not here'}},"
    "  {'name': 'slow-webhook', 'match': {'verb': 'create', 'resource': 'secrets'},"
    "   'exempt': {'labels': {'kubefault.io/webhook-exempt': 'true'}},"
    "   'fault': {'type': 'error', 'name': 'webhook-timeout', 'timeoutSeconds': 1}}"
    " ]}";

static int setup(void **state)
{
    struct itest_opts o = {.single_quoted = 1};
    itest_start_scenario(state, SCENARIO, &o);
    return 0;
}

/* One request; the body (' for ") is sent as content_type (NULL: JSON). */
static void request(struct itest *t, const char *method, const char *path, const char *ct,
                    const char *body, long timeout_ms, struct itest_resp *out)
{
    char *b = body ? itest_dq(body) : NULL;
    struct itest_req r = {0};
    r.method = method;
    r.path = path;
    r.content_type = ct;
    r.body = b;
    r.timeout_ms = timeout_ms;
    itest_request(t, &r, out);
    free(b);
}

/* The request must be answered with a failure Status of exactly this code, reason and message,
 * byte for byte as kube-apiserver writes it (no details), as application/json. */
static void denied(struct itest *t, const char *method, const char *path, const char *ct,
                   const char *body, int code, const char *reason, const char *message)
{
    struct itest_resp resp;
    char buf[64], want[4096];
    cJSON *m = cJSON_CreateString(message);
    char *quoted = cJSON_PrintUnformatted(m);
    snprintf(want, sizeof want,
             "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
             "\"message\":%s,\"reason\":\"%s\",\"code\":%d}\n",
             quoted, reason, code);
    cJSON_free(quoted);
    cJSON_Delete(m);
    request(t, method, path, ct, body, 0, &resp);
    if (resp.code != code || strcmp(resp.body, want) != 0) {
        print_error("%s %s\n got %ld %s\nwant %d %s", method, path, resp.code, resp.body, code,
                    want);
        itest_resp_release(&resp);
        fail();
    }
    assert_string_equal(itest_resp_header(&resp, "Content-Type", buf, sizeof buf),
                        "application/json");
    itest_resp_release(&resp);
}

/* The request must be answered with this code (the API layer, or a success). */
static void answered(struct itest *t, const char *method, const char *path, const char *ct,
                     const char *body, long code)
{
    struct itest_resp resp;
    request(t, method, path, ct, body, 0, &resp);
    if (resp.code != code) {
        print_error("%s %s: got %ld %s, want %ld\n", method, path, resp.code, resp.body, code);
        itest_resp_release(&resp);
        fail();
    }
    itest_resp_release(&resp);
}

/* ---- the journal, read on the server thread ---- */

struct je_copy {
    struct engine *engine;
    size_t count;
    struct journal_entry e[8]; /* the last ones, newest last */
};

static void read_journal(void *arg, struct mockapi_server *s)
{
    (void)s;
    struct je_copy *out = arg;
    struct journal *j = engine_journal(out->engine);
    size_t n = journal_count(j), k = n < 8 ? n : 8;
    out->count = k;
    for (size_t i = 0; i < k; i++)
        out->e[i] = *journal_get(j, n - k + i);
}

/* The newest journal entry whose method and path are these. */
static struct journal_entry last_entry(struct itest *t, const char *method, const char *path)
{
    struct je_copy c = {.engine = itest_engine(t)};
    itest_run(t, read_journal, &c);
    for (size_t i = c.count; i-- > 0;)
        if (strcmp(c.e[i].method, method) == 0 && strcmp(c.e[i].path, path) == 0)
            return c.e[i];
    fail_msg("no journal entry for %s %s", method, path);
    return c.e[0];
}

/* ---- tests ---- */

#define BAD_POD                                                                                    \
    "{'apiVersion': 'v1', 'kind': 'Pod', 'metadata': {'name': '%s'%s}, 'spec': {'containers': ["   \
    "{'name': 'helper', 'image': 'busybox', 'securityContext': "                                   \
    "{'readOnlyRootFilesystem': true}}, {'name': 'build', 'image': 'busybox'}]}}"

static void test_create_denied_json(void **state)
{
    struct itest *t = *state;
    char body[1024];
    snprintf(body, sizeof body, BAD_POD, "p1", "");
    denied(t, "POST", PODS, NULL, body, 403, "Forbidden", GK RO "build");
    /* nothing was stored */
    answered(t, "GET", PODS "/p1", NULL, NULL, 404);
    struct journal_entry e = last_entry(t, "POST", PODS);
    assert_string_equal(e.rule, "admission:psp-readonlyrootfilesystem");
    assert_string_equal(e.fault, "");
    assert_string_equal(e.note, "admission denied (403 Forbidden)");
    assert_int_equal(e.code, 403);
}

static void test_create_denied_protobuf(void **state)
{
    struct itest *t = *state;
    char path[1024];
    size_t len;
    unsigned char *bin =
        itest_read_file(itest_vector_path("proto/pod_runner.bin", path, sizeof path), &len);
    struct itest_resp resp;
    struct itest_req r = {0};
    r.method = "POST";
    r.path = "/api/v1/namespaces/gitlab-ci/pods";
    r.content_type = PROTO;
    r.accept = "application/json";
    r.body = bin;
    r.body_len = len;
    itest_request(t, &r, &resp);
    free(bin);
    assert_int_equal(resp.code, 403);
    assert_string_equal(resp.body,
                        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                        "\"Failure\",\"message\":\"admission webhook \\\"validation.gatekeeper."
                        "sh\\\" denied the request: [psp-readonlyrootfilesystem] only read-only "
                        "root filesystem container is allowed: build\",\"reason\":\"Forbidden\","
                        "\"code\":403}\n");
    itest_resp_release(&resp);
}

static void test_exemptions(void **state)
{
    struct itest *t = *state;
    char body[1024];
    snprintf(body, sizeof body, BAD_POD, "by-label", ", 'labels': {'kubefault.io/exempt': 'true'}");
    answered(t, "POST", PODS, NULL, body, 201);
    snprintf(body, sizeof body, BAD_POD, "by-annotation",
             ", 'annotations': {'kubefault.io/policy': 'skip'}");
    answered(t, "POST", PODS, NULL, body, 201);
    snprintf(body, sizeof body, BAD_POD, "by-namespace", "");
    answered(t, "POST", "/api/v1/namespaces/exempt-ci/pods", NULL, body, 201);
    snprintf(body, sizeof body, BAD_POD, "wrong-value",
             ", 'labels': {'kubefault.io/exempt': 'no'}");
    denied(t, "POST", PODS, NULL, body, 403, "Forbidden", GK RO "build");
}

#define WIN_POD                                                                                    \
    "{'apiVersion': 'v1', 'kind': 'Pod', 'metadata': {'name': 'win'}, 'spec': {"                   \
    "'nodeSelector': {'kubernetes.io/os': 'windows'}%s, 'containers': [{'name': 'build', "         \
    "'image': 'my-windows-image', 'securityContext': {'readOnlyRootFilesystem': true}}]}}"
#define ALIASES ", 'hostAliases': [{'ip': '127.0.0.1', 'hostnames': ['my-windows-image']}]"

static void test_windows_update_and_patches(void **state)
{
    struct itest *t = *state;
    char body[1024];
    snprintf(body, sizeof body, WIN_POD, ALIASES);
    denied(t, "POST", PODS, NULL, body, 400, "BadRequest", WIN);
    snprintf(body, sizeof body, WIN_POD, "");
    answered(t, "POST", PODS, NULL, body, 201);
    /* the patched object is what the policy sees, whatever the patch's kind */
    const char *merge = "{'spec': {'hostAliases': [{'ip': '127.0.0.1', 'hostnames': ['x']}]}}";
    denied(t, "PATCH", PODS "/win", MERGE, merge, 400, "BadRequest", WIN);
    denied(t, "PATCH", PODS "/win", STRATEGIC, merge, 400, "BadRequest", WIN);
    denied(t, "PATCH", PODS "/win", JSONPATCH,
           "[{'op': 'add', 'path': '/spec/hostAliases', 'value': [{'ip': '127.0.0.1'}]}]", 400,
           "BadRequest", WIN);
    /* a patch whose result is fine passes, though the pod would be refused with aliases */
    answered(t, "PATCH", PODS "/win", MERGE, "{'metadata': {'labels': {'a': 'b'}}}", 200);
    /* a patch that removes the Windows selector while adding aliases passes too */
    answered(t, "PATCH", PODS "/win", MERGE,
             "{'spec': {'nodeSelector': null, 'hostAliases': [{'ip': '127.0.0.1'}]}}", 200);
    cJSON *pod = itest_wait_field(t, PODS "/win", "spec.hostAliases.0.ip", "127.0.0.1", 2000);
    assert_non_null(pod);
    /* an update is judged on its body */
    cJSON_DeleteItemFromObject(pod, "status");
    cJSON *sel = cJSON_CreateObject();
    cJSON_AddStringToObject(sel, "kubernetes.io/os", "windows");
    cJSON_AddItemToObject(cJSON_GetObjectItem(pod, "spec"), "nodeSelector", sel);
    char *text = cJSON_PrintUnformatted(pod);
    cJSON_Delete(pod);
    struct itest_resp resp;
    struct itest_req r = {0};
    r.method = "PUT";
    r.path = PODS "/win";
    r.body = text;
    itest_request(t, &r, &resp);
    free(text);
    if (resp.code != 400 || !strstr(resp.body, "Windows does not support this field."))
        fail_msg("PUT: %ld %s", resp.code, resp.body);
    itest_resp_release(&resp);
    /* missing objects and bad patches are the API layer's: 404, 415, 422 as kube answers */
    answered(t, "PATCH", PODS "/nope", MERGE, merge, 404);
    answered(t, "PATCH", PODS "/win", "text/plain", merge, 415);
    answered(t, "PATCH", PODS "/win", JSONPATCH,
             "[{'op': 'test', 'path': '/metadata/name', 'value': 'other'}]", 422);
}

static void test_create_update_patch_configmap(void **state)
{
    struct itest *t = *state;
    const char *msg = "admission webhook \"no-forbidden-data\" denied the request: "
                      "data.forbidden: Forbidden: not here";
    denied(t, "POST", CMS, NULL, "{'metadata': {'name': 'c1'}, 'data': {'forbidden': 'x'}}", 422,
           "Invalid", msg);
    answered(t, "POST", CMS, NULL, "{'metadata': {'name': 'c1'}, 'data': {'ok': 'x'}}", 201);
    denied(t, "PUT", CMS "/c1", NULL, "{'metadata': {'name': 'c1'}, 'data': {'forbidden': 'x'}}",
           422, "Invalid", msg);
    denied(t, "PATCH", CMS "/c1", MERGE, "{'data': {'forbidden': 'x'}}", 422, "Invalid", msg);
    denied(t, "PATCH", CMS "/c1", JSONPATCH,
           "[{'op': 'add', 'path': '/data/forbidden', 'value': 'x'}]", 422, "Invalid", msg);
    answered(t, "PATCH", CMS "/c1", MERGE, "{'data': {'more': 'y'}}", 200);
    /* an update of an object that does not exist is the API layer's 404 */
    answered(t, "PUT", CMS "/nope", NULL,
             "{'metadata': {'name': 'nope'}, 'data': {'forbidden': 'x'}}", 404);
    /* a body that does not decode is the API layer's 400 */
    answered(t, "POST", CMS, NULL, "{not json", 400);
    struct journal_entry e = last_entry(t, "POST", CMS);
    assert_string_equal(e.rule, "");
    assert_int_equal(e.code, 400);
}

static void test_delete_and_collection(void **state)
{
    struct itest *t = *state;
    answered(t, "POST", CMS, NULL,
             "{'metadata': {'name': 'keep', 'labels': {'protected': 'true'}}}", 201);
    answered(t, "POST", CMS, NULL, "{'metadata': {'name': 'drop1'}}", 201);
    answered(t, "POST", CMS, NULL, "{'metadata': {'name': 'drop2'}}", 201);
    /* not in the scenario's message: the prefix names the policy */
    const char *msg = "admission webhook \"protect-configmaps\" denied the request: configmap "
                      "keep in default is protected";
    denied(t, "DELETE", CMS "/keep", NULL, NULL, 403, "Forbidden", msg);
    answered(t, "DELETE", CMS "/drop1", NULL, NULL, 200);
    answered(t, "DELETE", CMS "/nope", NULL, NULL, 404);
    /* the collection: refused whole while it holds a protected object */
    denied(t, "DELETE", CMS, NULL, NULL, 403, "Forbidden", msg);
    answered(t, "GET", CMS "/drop2", NULL, NULL, 200);
    answered(t, "DELETE", CMS "?labelSelector=protected%21%3Dtrue", NULL, NULL, 200);
    answered(t, "GET", CMS "/drop2", NULL, NULL, 404);
    answered(t, "GET", CMS "/keep", NULL, NULL, 200);
    /* a bad selector is the API layer's 400 */
    answered(t, "DELETE", CMS "?labelSelector=%3D%3D", NULL, NULL, 400);
}

static void test_fault_webhook_timeout(void **state)
{
    struct itest *t = *state;
    struct itest_resp resp;
    int64_t t0 = itest_now_ms();
    request(t, "POST", SECRETS, NULL, "{'metadata': {'name': 's1'}, 'stringData': {'a': 'b'}}", 0,
            &resp);
    int64_t ms = itest_now_ms() - t0;
    assert_int_equal(resp.code, 504);
    /* the error fault's answer (fields compared, not bytes: its field order is answer.c's) */
    cJSON *st = cJSON_Parse(resp.body);
    cJSON *want = cJSON_Parse("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                              "\"status\":\"Failure\",\"message\":\"Timeout: request did not "
                              "complete within requested timeout\",\"reason\":\"Timeout\","
                              "\"details\":{},\"code\":504}");
    int same = cJSON_Compare(st, want, 1);
    cJSON_Delete(st);
    cJSON_Delete(want);
    if (!same)
        print_error("504 body: %s\n", resp.body);
    itest_resp_release(&resp);
    assert_true(same);
    if (ms < 1000 || ms > 1000 + SLACK_MS)
        fail_msg("answered after %lld ms, expected 1000..%d", (long long)ms, 1000 + SLACK_MS);
    struct journal_entry e = last_entry(t, "POST", SECRETS);
    assert_string_equal(e.rule, "admission:slow-webhook");
    assert_string_equal(e.fault, "error");
    assert_string_equal(e.note, "error webhook-timeout after 1s");
    assert_int_equal(e.code, 504);
    answered(t, "GET", SECRETS "/s1", NULL, NULL, 404);
    /* exempt: at once */
    t0 = itest_now_ms();
    answered(t, "POST", SECRETS, NULL,
             "{'metadata': {'name': 's2', 'labels': {'kubefault.io/webhook-exempt': 'true'}}}",
             201);
    assert_true(itest_now_ms() - t0 < 1000);
}

static void test_rules_come_after(void **state)
{
    struct itest *t = *state;
    /* denied by a policy: the rule never sees it */
    denied(t, "POST", CMS, NULL, "{'metadata': {'name': 'ruled'}, 'data': {'forbidden': 'x'}}", 422,
           "Invalid",
           "admission webhook \"no-forbidden-data\" denied the request: data.forbidden: "
           "Forbidden: not here");
    struct journal_entry e = last_entry(t, "POST", CMS);
    assert_string_equal(e.rules_matched, "");
    /* admitted: the rule acts */
    denied(t, "POST", CMS, NULL, "{'metadata': {'name': 'ruled'}}", 500, "InternalError",
           "the rule fired");
    e = last_entry(t, "POST", CMS);
    assert_string_equal(e.rule, "rule-500");
    assert_string_equal(e.rules_matched, "rule-500(1)");
}

int main(void)
{
    itest_filter_from_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_denied_json, setup, itest_teardown),
        cmocka_unit_test_setup_teardown(test_create_denied_protobuf, setup, itest_teardown),
        cmocka_unit_test_setup_teardown(test_exemptions, setup, itest_teardown),
        cmocka_unit_test_setup_teardown(test_windows_update_and_patches, setup, itest_teardown),
        cmocka_unit_test_setup_teardown(test_create_update_patch_configmap, setup, itest_teardown),
        cmocka_unit_test_setup_teardown(test_delete_and_collection, setup, itest_teardown),
        cmocka_unit_test_setup_teardown(test_fault_webhook_timeout, setup, itest_teardown),
        cmocka_unit_test_setup_teardown(test_rules_come_after, setup, itest_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
