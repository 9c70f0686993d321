/* test_status.c -- metav1.Status bodies: the exact JSON and the apiserver's wording for not found,
 * already exists, conflict and invalid, with details */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mockapi/kube/kinds.h"
#include "mockapi/kube/status.h"

#define PODS (&kinds_table[KIND_pods])
#define PDBS (&kinds_table[KIND_poddisruptionbudgets])
#define SSAR (&kinds_table[KIND_selfsubjectaccessreviews])

/* Print st compactly, compare with want, free st. */
static void assert_json(cJSON *st, const char *want)
{
    assert_non_null(st);
    char *got = cJSON_PrintUnformatted(st);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
    cJSON_Delete(st);
}

static void test_new(void **state)
{
    (void)state;
    assert_json(status_new(500, STATUS_REASON_INTERNAL, "etcdserver: leader changed"),
                "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                "\"message\":\"etcdserver: leader changed\",\"reason\":\"InternalError\","
                "\"code\":500}");
    /* no reason: left out, as kubectl then prints `Error from server: <message>` */
    assert_json(status_new(500, NULL, "boom"),
                "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                "\"message\":\"boom\",\"code\":500}");
    assert_json(status_new(401, STATUS_REASON_UNAUTHORIZED, NULL),
                "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                "\"message\":\"\",\"reason\":\"Unauthorized\",\"code\":401}");
    /* quotes and control characters stay valid JSON */
    cJSON *st = status_new(400, STATUS_REASON_BADREQUEST, "a \"quoted\"\nline");
    char *text = cJSON_PrintUnformatted(st);
    cJSON *back = cJSON_Parse(text);
    assert_non_null(back);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(back, "message")->valuestring,
                        "a \"quoted\"\nline");
    cJSON_Delete(back);
    free(text);
    cJSON_Delete(st);
}

static void test_success(void **state)
{
    (void)state;
    assert_json(status_success(), "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                                  "\"status\":\"Success\"}");
}

static void test_not_found(void **state)
{
    (void)state;
    assert_json(status_not_found(PODS, "missing"),
                "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                "\"message\":\"pods \\\"missing\\\" not found\",\"reason\":\"NotFound\","
                "\"code\":404,\"details\":{\"name\":\"missing\",\"kind\":\"pods\"}}");
    /* grouped resources are qualified, and details name the group */
    assert_json(status_not_found(PDBS, "x"),
                "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                "\"message\":\"poddisruptionbudgets.policy \\\"x\\\" not found\",\"reason\":"
                "\"NotFound\",\"code\":404,\"details\":{\"name\":\"x\",\"group\":\"policy\","
                "\"kind\":\"poddisruptionbudgets\"}}");
}

static void test_already_exists_and_conflict(void **state)
{
    (void)state;
    cJSON *st = status_already_exists(PODS, "r9");
    assert_int_equal(status_code(st), 409);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(st, "message")->valuestring,
                        "pods \"r9\" already exists");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(st, "reason")->valuestring,
                        "AlreadyExists");
    cJSON_Delete(st);
    st = status_conflict(PODS, "p1");
    assert_int_equal(status_code(st), 409);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(st, "message")->valuestring,
                        "Operation cannot be fulfilled on pods \"p1\": the object has been "
                        "modified; please apply your changes to the latest version and try again");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(st, "reason")->valuestring, "Conflict");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(st, "details");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(d, "name")->valuestring, "p1");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(d, "kind")->valuestring, "pods");
    cJSON_Delete(st);
}

static void test_invalid(void **state)
{
    (void)state;
    assert_json(
        status_invalid(PODS, "nc", "spec.containers", "FieldValueRequired", "Required value"),
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
        "\"message\":\"Pod \\\"nc\\\" is invalid: spec.containers: Required value\","
        "\"reason\":\"Invalid\",\"code\":422,\"details\":{\"name\":\"nc\",\"kind\":\"Pod\","
        "\"causes\":[{\"reason\":\"FieldValueRequired\",\"message\":\"Required value\","
        "\"field\":\"spec.containers\"}]}}");
    /* no name: details without one; a grouped kind is qualified (GroupKind.String()) and details
     * name its group */
    cJSON *st = status_invalid(PDBS, "", "spec", "FieldValueInvalid", "Invalid value: 1");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(st, "message")->valuestring,
                        "PodDisruptionBudget.policy \"\" is invalid: spec: Invalid value: 1");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(st, "details");
    assert_null(cJSON_GetObjectItemCaseSensitive(d, "name"));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(d, "group")->valuestring, "policy");
    cJSON_Delete(st);
    st = status_invalid(PODS, NULL, "metadata.name", "FieldValueRequired", "Required value");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(st, "message")->valuestring,
                        "Pod \"\" is invalid: metadata.name: Required value");
    cJSON_Delete(st);
}

static void test_details_replace(void **state)
{
    (void)state;
    cJSON *st = status_not_found(PODS, "a");
    status_set_details(st, "b", SSAR);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(st, "details");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(d, "name")->valuestring, "b");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(d, "group")->valuestring,
                        "authorization.k8s.io");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(d, "kind")->valuestring,
                        "selfsubjectaccessreviews");
    int n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, st) if (it->string && strcmp(it->string, "details") == 0) n++;
    assert_int_equal(n, 1);
    status_set_details(st, "", PODS);
    d = cJSON_GetObjectItemCaseSensitive(st, "details");
    assert_null(cJSON_GetObjectItemCaseSensitive(d, "name"));
    cJSON_Delete(st);
}

static void test_qualified_and_code(void **state)
{
    (void)state;
    char buf[128];
    assert_string_equal(status_qualified(PODS, buf, sizeof buf), "pods");
    assert_string_equal(status_qualified(PDBS, buf, sizeof buf), "poddisruptionbudgets.policy");
    assert_string_equal(status_qualified(SSAR, buf, sizeof buf),
                        "selfsubjectaccessreviews.authorization.k8s.io");
    char small[8];
    assert_string_equal(status_qualified(PDBS, small, sizeof small), "poddisr");
    cJSON *st = status_new(429, STATUS_REASON_TOOMANYREQUESTS, "slow down");
    assert_int_equal(status_code(st), 429);
    cJSON_DeleteItemFromObjectCaseSensitive(st, "code");
    assert_int_equal(status_code(st), 500);
    cJSON_Delete(st);
    assert_int_equal(status_code(NULL), 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new),
        cmocka_unit_test(test_success),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_already_exists_and_conflict),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_details_replace),
        cmocka_unit_test(test_qualified_and_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
