/* test_gitlab_proto.c -- the GitLab job API's pure rules: routes, Content-Range (malformed ones
 * included), the CRC-32 output checksum, job update and runner request bodies, the job payload */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mockapi/base/json.h"
#include "mockapi/gitlab/proto.h"

static void assert_route(const char *method, const char *path, enum glproto_endpoint ep, int64_t id)
{
    struct glproto_route r;
    glproto_route(method, path, &r);
    if (r.ep != ep || r.job_id != id)
        fail_msg("%s %s: got %s id %lld, want %s id %lld", method, path,
                 glproto_endpoint_name(r.ep), (long long)r.job_id, glproto_endpoint_name(ep),
                 (long long)id);
}

static void test_routes(void **state)
{
    (void)state;
    assert_route("POST", "/api/v4/jobs/request", GLPROTO_EP_JOB_REQUEST, 0);
    assert_route("POST", "/api/v4/runners/verify", GLPROTO_EP_VERIFY, 0);
    assert_route("PUT", "/api/v4/jobs/42", GLPROTO_EP_JOB_UPDATE, 42);
    assert_route("PATCH", "/api/v4/jobs/42/trace", GLPROTO_EP_TRACE, 42);
    assert_route("PATCH", "/api/v4/jobs/9223372036854775807/trace", GLPROTO_EP_TRACE, INT64_MAX);
    /* wrong methods, malformed ids, other paths */
    assert_route("GET", "/api/v4/jobs/request", GLPROTO_EP_NONE, 0);
    assert_route("POST", "/api/v4/jobs/42", GLPROTO_EP_NONE, 0);
    assert_route("PUT", "/api/v4/jobs/42/trace", GLPROTO_EP_NONE, 0);
    assert_route("PUT", "/api/v4/jobs/0", GLPROTO_EP_NONE, 0);
    assert_route("PUT", "/api/v4/jobs/042", GLPROTO_EP_NONE, 0);
    assert_route("PUT", "/api/v4/jobs/-1", GLPROTO_EP_NONE, 0);
    assert_route("PUT", "/api/v4/jobs/12a", GLPROTO_EP_NONE, 0);
    assert_route("PUT", "/api/v4/jobs/9223372036854775808", GLPROTO_EP_NONE, 0);
    assert_route("PUT", "/api/v4/jobs/", GLPROTO_EP_NONE, 0);
    assert_route("PATCH", "/api/v4/jobs/42/trace/", GLPROTO_EP_NONE, 0);
    assert_route("POST", "/api/v4/jobs/request/", GLPROTO_EP_NONE, 0);
    assert_route("POST", "/api/v3/jobs/request", GLPROTO_EP_NONE, 0);
    assert_route("POST", "/jobs/request", GLPROTO_EP_NONE, 0);
    assert_route("GET", "/", GLPROTO_EP_NONE, 0);
    assert_string_equal(glproto_endpoint_name(GLPROTO_EP_TRACE), "jobs/:id/trace");
    assert_string_equal(glproto_endpoint_name(GLPROTO_EP_NONE), "none");
}

static void test_content_range(void **state)
{
    (void)state;
    uint64_t a = 1, b = 1;
    char err[256];
    assert_int_equal(glproto_parse_content_range("0-0", &a, &b, err, sizeof err), 0);
    assert_true(a == 0 && b == 0);
    assert_int_equal(glproto_parse_content_range("10-19", &a, &b, err, sizeof err), 0);
    assert_true(a == 10 && b == 19);
    assert_int_equal(glproto_parse_content_range("18446744073709551615-18446744073709551615", &a,
                                                 &b, err, sizeof err),
                     0);
    assert_true(a == UINT64_MAX && b == UINT64_MAX);
    const char *bad[] = {"",      "-",         "5",
                         "5-",    "-5",        "a-b",
                         "5-4",   " 0-1",      "0-1 ",
                         "0 - 1", "+0-1",      "0-+1",
                         "0-1-2", "bytes 0-1", "0-1/10",
                         "0x1-2", "1.0-2",     "18446744073709551616-18446744073709551617"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (glproto_parse_content_range(bad[i], &a, &b, err, sizeof err) != -1)
            fail_msg("\"%s\" parsed", bad[i]);
        assert_non_null(strstr(err, "Content-Range \""));
    }
    assert_int_equal(glproto_parse_content_range(NULL, &a, &b, err, sizeof err), -1);
    /* the message quotes at most 64 bytes of what was sent */
    char lng[300];
    memset(lng, 'x', sizeof lng - 1);
    lng[sizeof lng - 1] = '\0';
    assert_int_equal(glproto_parse_content_range(lng, &a, &b, err, sizeof err), -1);
    assert_true(strlen(err) < 160);
}

static void test_checksum(void **state)
{
    (void)state;
    /* the standard CRC-32 check value */
    assert_int_equal(glproto_crc32(0, "123456789", 9), 0xcbf43926u);
    assert_int_equal(glproto_crc32(0, "", 0), 0);
    /* continuing over pieces gives the CRC of the whole */
    uint32_t c = glproto_crc32(0, "1234", 4);
    assert_int_equal(glproto_crc32(c, "56789", 5), 0xcbf43926u);
    char buf[32];
    assert_string_equal(glproto_format_checksum(0xcbf43926u, buf, sizeof buf), "crc32:cbf43926");
    /* "crc32:%08x" as the runner's helpers/trace/buffer.go Checksum() writes it */
    assert_string_equal(glproto_format_checksum(0x1au, buf, sizeof buf), "crc32:0000001a");
    uint32_t v = 0;
    assert_int_equal(glproto_parse_checksum("crc32:cbf43926", &v), 0);
    assert_int_equal(v, 0xcbf43926u);
    assert_int_equal(glproto_parse_checksum("crc32:CBF43926", &v), 0);
    assert_int_equal(v, 0xcbf43926u);
    assert_int_equal(glproto_parse_checksum("crc32:1a", &v), 0);
    assert_int_equal(v, 0x1au);
    assert_int_equal(glproto_parse_checksum("crc32:0", &v), 0);
    assert_int_equal(v, 0);
    const char *bad[] = {"",        "crc32:",   "crc32:123456789", "crc32:xyz",
                         "md5:abc", "crc32: 1", "crc32:1 ",        "CRC32:1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (glproto_parse_checksum(bad[i], &v) != -1)
            fail_msg("\"%s\" parsed", bad[i]);
    assert_int_equal(glproto_parse_checksum(NULL, &v), -1);
}

static void update_ok(const char *body, struct glproto_update *u)
{
    char err[256] = "";
    if (glproto_parse_update(body, strlen(body), u, err, sizeof err) != 0)
        fail_msg("%s: -1 (%s)", body, err);
}

static void update_bad(const char *body, const char *want)
{
    struct glproto_update u;
    char err[256] = "";
    if (glproto_parse_update(body, strlen(body), &u, err, sizeof err) != -1)
        fail_msg("%s: parsed", body);
    if (!strstr(err, want))
        fail_msg("%s: message \"%s\" lacks \"%s\"", body, err, want);
}

static void test_update_body(void **state)
{
    (void)state;
    struct glproto_update u;
    update_ok("{\"info\":{\"name\":\"r\"},\"token\":\"t1\",\"state\":\"failed\","
              "\"failure_reason\":\"script_failure\",\"exit_code\":3,"
              "\"checksum\":\"crc32:1\",\"output\":{\"checksum\":\"crc32:cbf43926\","
              "\"bytesize\":9}}",
              &u);
    assert_string_equal(u.token, "t1");
    assert_string_equal(u.state, "failed");
    assert_string_equal(u.failure_reason, "script_failure");
    assert_true(u.has_exit_code && u.exit_code == 3);
    assert_true(u.has_checksum && u.checksum == 0xcbf43926u); /* output.checksum wins */
    assert_true(u.has_bytesize && u.bytesize == 9);

    update_ok("{\"token\":\"t\",\"state\":\"running\",\"checksum\":\"crc32:2\"}", &u);
    assert_true(u.has_checksum && u.checksum == 2); /* the deprecated top-level one */
    assert_false(u.has_bytesize);
    assert_false(u.has_exit_code);

    update_ok("{}", &u);
    assert_string_equal(u.token, "");
    assert_string_equal(u.state, "");
    assert_false(u.has_checksum);
    update_ok("{\"token\":\"t\",\"exit_code\":null,\"output\":null,\"failure_reason\":null}", &u);
    assert_false(u.has_exit_code);

    update_bad("", "not a JSON object");
    update_bad("[1]", "not a JSON object");
    update_bad("{\"token\":", "not a JSON object");
    update_bad("{\"token\":5}", "token is invalid");
    update_bad("{\"state\":true}", "state is invalid");
    update_bad("{\"exit_code\":\"1\"}", "exit_code is invalid");
    update_bad("{\"exit_code\":1.5}", "exit_code is invalid");
    update_bad("{\"exit_code\":4294967296}", "exit_code is invalid");
    update_bad("{\"output\":[]}", "output is invalid");
    update_bad("{\"output\":{\"bytesize\":-1}}", "bytesize is invalid");
    update_bad("{\"output\":{\"checksum\":\"sha1:0\"}}", "checksum \"sha1:0\" is invalid");
    char big[600];
    snprintf(big, sizeof big, "{\"token\":\"%0300d\"}", 0);
    update_bad(big, "token is longer than 255 bytes");
    snprintf(big, sizeof big, "{\"state\":\"%040d\"}", 0);
    update_bad(big, "state is longer than");
}

static void test_runner_req_body(void **state)
{
    (void)state;
    struct glproto_runner_req r;
    char err[256];
    const char *b = "{\"info\":{\"executor\":\"kubernetes\"},\"token\":\"glrt-x\","
                    "\"last_update\":\"abc\",\"system_id\":\"s_1\"}";
    assert_int_equal(glproto_parse_runner_req(b, strlen(b), &r, err, sizeof err), 0);
    assert_string_equal(r.token, "glrt-x");
    assert_string_equal(r.last_update, "abc");
    assert_int_equal(glproto_parse_runner_req("", 0, &r, err, sizeof err), 0);
    assert_string_equal(r.token, "");
    assert_int_equal(glproto_parse_runner_req("nope", 4, &r, err, sizeof err), -1);
    assert_int_equal(glproto_parse_runner_req("{\"token\":1}", 11, &r, err, sizeof err), -1);
    assert_string_equal(err, "token is invalid (expected a string)");
}

static cJSON *payload_ok(const char *spec_text)
{
    cJSON *spec = spec_text ? cJSON_Parse(spec_text) : NULL;
    if (spec_text && !spec)
        fail_msg("bad test spec %s", spec_text);
    char err[512] = "";
    cJSON *p = glproto_job_payload(spec, 7, "tok-7", err, sizeof err);
    cJSON_Delete(spec);
    if (!p)
        fail_msg("%s: NULL (%s)", spec_text ? spec_text : "NULL", err);
    return p;
}

static void payload_bad(const char *spec_text, const char *want)
{
    cJSON *spec = cJSON_Parse(spec_text);
    assert_non_null(spec);
    char err[512] = "";
    cJSON *p = glproto_job_payload(spec, 7, "tok-7", err, sizeof err);
    cJSON_Delete(spec);
    if (p) {
        cJSON_Delete(p);
        fail_msg("%s: built", spec_text);
    }
    if (!strstr(err, want))
        fail_msg("%s: message \"%s\" lacks \"%s\"", spec_text, err, want);
}

static const cJSON *var(const cJSON *p, const char *key)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(p, "variables"))
    {
        const char *k = json_str(e, "key");
        if (k && strcmp(k, key) == 0)
            return e;
    }
    return NULL;
}

static double num(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        x = cJSON_GetObjectItemCaseSensitive(x, b);
    if (!cJSON_IsNumber(x))
        fail_msg("%s.%s is not a number", a, b ? b : "");
    return x->valuedouble;
}

static void test_payload_defaults(void **state)
{
    (void)state;
    cJSON *p = payload_ok(NULL);
    assert_true(num(p, "id", NULL) == 7);
    assert_string_equal(json_str(p, "token"), "tok-7");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(p, "allow_git_fetch")));
    const cJSON *ji = cJSON_GetObjectItemCaseSensitive(p, "job_info");
    assert_string_equal(json_str(ji, "name"), "test");
    assert_string_equal(json_str(ji, "stage"), "test");
    assert_true(num(p, "job_info", "project_id") == 1);
    const cJSON *gi = cJSON_GetObjectItemCaseSensitive(p, "git_info");
    assert_string_equal(json_str(gi, "ref"), "main");
    assert_int_equal(strlen(json_str(gi, "sha")), 40);
    assert_true(num(p, "runner_info", "timeout") == 600);
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(p, "steps");
    assert_int_equal(cJSON_GetArraySize(steps), 1);
    const cJSON *s0 = cJSON_GetArrayItem(steps, 0);
    assert_string_equal(json_str(s0, "name"), "script");
    assert_string_equal(json_str(s0, "when"), "on_success");
    assert_string_equal(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(s0, "script"), 0)->valuestring,
        "echo hi");
    assert_string_equal(json_str(cJSON_GetObjectItemCaseSensitive(p, "image"), "name"),
                        "alpine:3.20");
    const char *empty[] = {"services", "artifacts", "cache", "credentials", "dependencies"};
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(p, empty[i]);
        if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 0)
            fail_msg("%s is not []", empty[i]);
    }
    const cJSON *tokv = var(p, "CI_JOB_TOKEN");
    assert_non_null(tokv);
    assert_string_equal(json_str(tokv, "value"), "tok-7");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(tokv, "masked")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(tokv, "public")));
    assert_string_equal(json_str(var(p, "GIT_STRATEGY"), "value"), "none");
    assert_string_equal(json_str(var(p, "CI_JOB_ID"), "value"), "7");
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(p, "features"), "failure_reasons");
    assert_int_equal(cJSON_GetArraySize(fr), 6);
    cJSON_Delete(p);
}

static void test_payload_spec(void **state)
{
    (void)state;
    cJSON *p = payload_ok(
        "{\"id\":42,\"token\":\"jt\",\"name\":\"build\",\"stage\":\"deploy\",\"image\":\"golang:1."
        "22\","
        "\"services\":[\"docker:dind\",{\"name\":\"redis:7\",\"alias\":\"cache\"}],"
        "\"variables\":{\"FOO\":\"bar\",\"GIT_STRATEGY\":\"fetch\"},\"script\":[\"make\",\"make "
        "test\"],\"after_script\":[\"echo done\"],\"timeout\":30,"
        "\"credentials\":[{\"type\":\"registry\",\"url\":\"r\",\"username\":\"u\","
        "\"password\":\"p\"}],\"extra\":{\"allow_git_fetch\":true,\"hooks\":[]}}");
    assert_true(num(p, "id", NULL) == 42);
    assert_string_equal(json_str(p, "token"), "jt");
    assert_string_equal(json_str(cJSON_GetObjectItemCaseSensitive(p, "job_info"), "name"), "build");
    assert_string_equal(json_str(cJSON_GetObjectItemCaseSensitive(p, "job_info"), "stage"),
                        "deploy");
    assert_string_equal(json_str(cJSON_GetObjectItemCaseSensitive(p, "image"), "name"),
                        "golang:1.22");
    const cJSON *sv = cJSON_GetObjectItemCaseSensitive(p, "services");
    assert_int_equal(cJSON_GetArraySize(sv), 2);
    assert_string_equal(json_str(cJSON_GetArrayItem(sv, 0), "name"), "docker:dind");
    assert_string_equal(json_str(cJSON_GetArrayItem(sv, 1), "alias"), "cache");
    assert_string_equal(json_str(var(p, "FOO"), "value"), "bar");
    assert_string_equal(json_str(var(p, "GIT_STRATEGY"), "value"), "fetch"); /* not overridden */
    assert_string_equal(json_str(var(p, "CI_JOB_TOKEN"), "value"), "jt");
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(p, "steps");
    assert_int_equal(cJSON_GetArraySize(steps), 2);
    assert_string_equal(json_str(cJSON_GetArrayItem(steps, 1), "name"), "after_script");
    assert_string_equal(json_str(cJSON_GetArrayItem(steps, 1), "when"), "always");
    assert_true(num(cJSON_GetArrayItem(steps, 0), "timeout", NULL) == 30);
    assert_true(num(p, "runner_info", "timeout") == 30);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(p, "credentials")), 1);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "allow_git_fetch")));
    assert_non_null(cJSON_GetObjectItemCaseSensitive(p, "hooks"));
    cJSON_Delete(p);

    /* steps given whole; variables in array form */
    p = payload_ok("{\"steps\":[{\"name\":\"script\",\"script\":[\"x\"]}],"
                   "\"variables\":[{\"key\":\"A\",\"value\":\"1\",\"public\":false}]}");
    assert_string_equal(json_str(var(p, "A"), "value"), "1");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(p, "steps")), 1);
    cJSON_Delete(p);
}

static void test_payload_errors(void **state)
{
    (void)state;
    payload_bad("{\"nmae\":\"x\"}", "unknown key \"nmae\" (known: id, token");
    payload_bad("{\"id\":0}", "id is invalid");
    payload_bad("{\"id\":1.5}", "id is invalid");
    payload_bad("{\"id\":\"1\"}", "id is invalid");
    payload_bad("{\"timeout\":0}", "timeout is invalid");
    payload_bad("{\"name\":5}", "expected strings");
    payload_bad("{\"token\":\"\"}", "token non-empty");
    payload_bad("{\"image\":5}", "image: expected a string or an object with a name");
    payload_bad("{\"image\":{\"entrypoint\":[]}}", "image: expected");
    payload_bad("{\"services\":\"x\"}", "services: expected an array");
    payload_bad("{\"services\":[\"a\",5]}", "services[1]: expected");
    payload_bad("{\"variables\":{\"A\":1}}", "variables.A: expected a string");
    payload_bad("{\"variables\":[{\"key\":\"A\"}]}", "variables[0]: expected");
    payload_bad("{\"variables\":5}", "variables: expected an object or an array");
    payload_bad("{\"script\":\"make\"}", "script: expected an array of strings");
    payload_bad("{\"script\":[1]}", "script: expected an array of strings");
    payload_bad("{\"after_script\":[1]}", "after_script: expected");
    payload_bad("{\"steps\":[1]}", "steps: expected an array of objects");
    payload_bad("{\"steps\":[],\"script\":[\"x\"]}", "either steps or script");
    payload_bad("{\"credentials\":{}}", "credentials: expected an array of objects");
    payload_bad("{\"extra\":[]}", "extra: expected an object");
    char err[128];
    cJSON *arr = cJSON_CreateArray();
    assert_null(glproto_job_payload(arr, 1, "t", err, sizeof err));
    assert_string_equal(err, "the job spec is not an object");
    cJSON_Delete(arr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),          cmocka_unit_test(test_content_range),
        cmocka_unit_test(test_checksum),        cmocka_unit_test(test_update_body),
        cmocka_unit_test(test_runner_req_body), cmocka_unit_test(test_payload_defaults),
        cmocka_unit_test(test_payload_spec),    cmocka_unit_test(test_payload_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
