/* test_glclient.c -- tests the pure parts of harness/glclient.c against gitlab-runner's
 * network/gitlab.go, network/patch_response.go and helpers/trace/buffer.go: what each PATCH and
 * PUT answer means (status code and Job-Status), the 416 Range offset, the inclusive
 * Content-Range, the zero-padded crc32 checksum, the update interval header and the failure
 * reason mapper. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "harness/glclient.h"
#include "mockapi/gitlab/proto.h"
#include "testutil.h"

static void test_patch_states(void **state)
{
    (void)state;
    assert_int_equal(glclient_patch_state(202, "running"), GLC_PATCH_SUCCEEDED);
    assert_int_equal(glclient_patch_state(202, NULL), GLC_PATCH_SUCCEEDED);
    /* canceling is a cancel request, not an abort: the PATCH still succeeded */
    assert_int_equal(glclient_patch_state(202, "canceling"), GLC_PATCH_SUCCEEDED);
    assert_true(glclient_cancel_requested("canceling"));
    assert_false(glclient_cancel_requested("canceled"));
    assert_false(glclient_cancel_requested(NULL));
    assert_int_equal(glclient_patch_state(202, "canceled"), GLC_PATCH_ABORT);
    assert_int_equal(glclient_patch_state(202, "failed"), GLC_PATCH_ABORT);
    assert_int_equal(glclient_patch_state(403, NULL), GLC_PATCH_ABORT);
    assert_int_equal(glclient_patch_state(404, NULL), GLC_PATCH_NOT_FOUND);
    assert_int_equal(glclient_patch_state(416, "running"), GLC_PATCH_RANGE_MISMATCH);
    assert_int_equal(glclient_patch_state(500, NULL), GLC_PATCH_FAILED);
    assert_int_equal(glclient_patch_state(-1, NULL), GLC_PATCH_FAILED);
}

static void test_update_states(void **state)
{
    (void)state;
    assert_int_equal(glclient_update_state(200, "success"), GLC_UPDATE_SUCCEEDED);
    assert_int_equal(glclient_update_state(202, NULL), GLC_UPDATE_ACCEPTED);
    assert_int_equal(glclient_update_state(412, NULL), GLC_UPDATE_TRACE_VALIDATION);
    assert_int_equal(glclient_update_state(404, NULL), GLC_UPDATE_ABORT);
    assert_int_equal(glclient_update_state(403, NULL), GLC_UPDATE_ABORT);
    /* Job-Status canceled/failed wins over the code */
    assert_int_equal(glclient_update_state(200, "canceled"), GLC_UPDATE_ABORT);
    assert_int_equal(glclient_update_state(200, "failed"), GLC_UPDATE_ABORT);
    assert_int_equal(glclient_update_state(500, NULL), GLC_UPDATE_FAILED);
    assert_int_equal(glclient_update_state(-1, NULL), GLC_UPDATE_FAILED);
}

static void test_ranges(void **state)
{
    (void)state;
    char b[64];
    assert_string_equal(glclient_content_range(b, sizeof b, 0, 1), "0-0");
    assert_string_equal(glclient_content_range(b, sizeof b, 0, 849), "0-848");
    assert_string_equal(glclient_content_range(b, sizeof b, 849, 767), "849-1615");
    /* the fake parses what the client writes */
    uint64_t s, e;
    assert_int_equal(glproto_parse_content_range("849-1615", &s, &e, b, sizeof b), 0);
    assert_int_equal(s, 849);
    assert_int_equal(e, 1615);
    assert_int_equal(glclient_range_offset("0-1234"), 1234);
    assert_int_equal(glclient_range_offset("0-0"), 0);
    assert_int_equal(glclient_range_offset(""), 0);
    assert_int_equal(glclient_range_offset(NULL), 0);
    assert_int_equal(glclient_range_offset("1234"), 0);
    assert_int_equal(glclient_range_offset("0-1-2"), 0);
    assert_int_equal(glclient_range_offset("0-x"), 0);
}

static void test_checksum(void **state)
{
    (void)state;
    char b[32];
    /* helpers/trace/buffer.go: "crc32:%08x" of the IEEE CRC (zlib's) */
    assert_string_equal(glclient_checksum(0, b, sizeof b), "crc32:00000000");
    assert_string_equal(glclient_checksum(0xabc, b, sizeof b), "crc32:00000abc");
    uint32_t crc = glproto_crc32(0, "123456789", 9);
    assert_string_equal(glclient_checksum(crc, b, sizeof b), "crc32:cbf43926");
    /* buffer_test.go's TestTraceLimit answer: 61 bytes give crc32:597f1ee1 */
    const char *limited = "This is th\n\033[31;1mJob's log exceeded limit of 10 bytes.\033[0;m\n";
    assert_int_equal(strlen(limited), 61);
    crc = glproto_crc32(0, limited, strlen(limited));
    assert_string_equal(glclient_checksum(crc, b, sizeof b), "crc32:597f1ee1");
    /* the fake reads it back */
    uint32_t back;
    assert_int_equal(glproto_parse_checksum("crc32:00000abc", &back), 0);
    assert_int_equal(back, 0xabc);
}

static void test_update_interval(void **state)
{
    (void)state;
    assert_int_equal(glclient_update_interval("3"), 3);
    assert_int_equal(glclient_update_interval("60"), 60);
    assert_int_equal(glclient_update_interval("100000"), GLCLIENT_MAX_UPDATE_INTERVAL_S);
    assert_int_equal(glclient_update_interval(""), 0);
    assert_int_equal(glclient_update_interval(NULL), 0);
    assert_int_equal(glclient_update_interval("3s"), 0);
    assert_int_equal(glclient_update_interval("0"), 0);
    assert_int_equal(glclient_update_interval("-5"), 0);
}

static void test_failure_reasons(void **state)
{
    (void)state;
    cJSON *p = json("{'features':{'failure_reasons':['unknown_failure','script_failure',"
                    "'runner_system_failure','job_execution_timeout','image_pull_failure']}}");
    assert_string_equal(glclient_failure_reason(p, ""), "script_failure");
    assert_string_equal(glclient_failure_reason(p, NULL), "script_failure");
    assert_string_equal(glclient_failure_reason(p, "image_pull_failure"), "image_pull_failure");
    assert_string_equal(glclient_failure_reason(p, "job_execution_timeout"),
                        "job_execution_timeout");
    /* not listed: the compatibility map, else unknown_failure */
    assert_string_equal(glclient_failure_reason(p, "runner_configuration_error"), "script_failure");
    assert_string_equal(glclient_failure_reason(p, "job_canceled"), "unknown_failure");
    cJSON_Delete(p);
    /* an old GitLab that lists nothing: only the three always-supported reasons go as they are */
    p = json("{}");
    assert_string_equal(glclient_failure_reason(p, "runner_system_failure"),
                        "runner_system_failure");
    assert_string_equal(glclient_failure_reason(p, "image_pull_failure"), "runner_system_failure");
    assert_string_equal(glclient_failure_reason(p, "unknown_failure"), "unknown_failure");
    cJSON_Delete(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patch_states),    cmocka_unit_test(test_update_states),
        cmocka_unit_test(test_ranges),          cmocka_unit_test(test_checksum),
        cmocka_unit_test(test_update_interval), cmocka_unit_test(test_failure_reasons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
