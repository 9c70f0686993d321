/* test_it_logs.c -- pods/log over real sockets: echo output, tailLines, timestamps, follow until
 * the pod goes, containers that have not started, container choice */
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

static struct itest *start_plain(void **state)
{
    struct itest_opts o = {0};
    return itest_start(state, &o);
}

/* Create a pod whose container runs cmd (a JSON array) and wait until it is Running. */
static void run_pod(struct itest *t, const char *name, const char *containers)
{
    char body[2048], path[256];
    long code;
    snprintf(body, sizeof body, "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"containers\":%s}}",
             name, containers);
    cJSON *p = itest_json(t, "POST", PODS, body, &code);
    assert_int_equal(code, 201);
    cJSON_Delete(p);
    snprintf(path, sizeof path, PODS "/%s", name);
    p = itest_wait_field(t, path, "status.phase", "Running", ITEST_WAIT_MS);
    if (!p)
        fail_msg("pod %s did not reach Running", name);
    cJSON_Delete(p);
}

/* GET a log; returns the body (caller frees) and the status in *code. */
static char *get_log(struct itest *t, const char *path, long *code)
{
    struct itest_req r = {0};
    struct itest_resp resp;
    r.path = path;
    itest_request(t, &r, &resp);
    assert_int_equal(resp.curl, CURLE_OK);
    *code = resp.code;
    char *body = resp.body;
    resp.body = NULL;
    itest_resp_release(&resp);
    return body;
}

struct log_write {
    const char *pod, *container, *text;
    int rc;
};

static void write_log(void *arg, struct mockapi_server *s)
{
    struct log_write *w = arg;
    w->rc = cluster_log_write(mockapi_server_cluster(s), "default", w->pod, w->container, w->text,
                              strlen(w->text));
}

static void log_lines(struct itest *t, const char *pod, const char *container,
                      const char *const *lines)
{
    for (size_t i = 0; lines[i]; i++) {
        struct log_write w = {pod, container, lines[i], -1};
        itest_run(t, write_log, &w);
        assert_int_equal(w.rc, 0);
    }
}

static void test_log_echo(void **state)
{
    struct itest *t = start_plain(state);
    run_pod(t, "hello",
            "[{\"name\":\"c\",\"image\":\"busybox\",\"command\":[\"echo\",\"hello\"]}]");
    struct itest_req r = {0};
    struct itest_resp resp;
    char ct[128];
    r.path = PODS "/hello/log";
    itest_request(t, &r, &resp);
    assert_int_equal(resp.code, 200);
    assert_string_equal(resp.body, "hello\n");
    assert_non_null(itest_resp_header(&resp, "Content-Type", ct, sizeof ct));
    assert_string_equal(ct, "text/plain; charset=utf-8");
    itest_resp_release(&resp);
    /* command and args together, as the kubelet joins them */
    run_pod(t, "args",
            "[{\"name\":\"c\",\"image\":\"busybox\",\"command\":[\"echo\"],\"args\":[\"hello\","
            "\"world\"]}]");
    long code;
    char *body = get_log(t, PODS "/args/log", &code);
    assert_int_equal(code, 200);
    assert_string_equal(body, "hello world\n");
    free(body);
    /* anything but echo runs silently */
    run_pod(t, "quiet", "[{\"name\":\"c\",\"image\":\"busybox\",\"command\":[\"sleep\",\"9\"]}]");
    body = get_log(t, PODS "/quiet/log", &code);
    assert_int_equal(code, 200);
    assert_string_equal(body, "");
    free(body);
}

static void test_log_tail_lines(void **state)
{
    struct itest *t = start_plain(state);
    run_pod(t, "tl", "[{\"name\":\"c\",\"image\":\"busybox\",\"command\":[\"echo\",\"l0\"]}]");
    const char *lines[] = {"l1\n", "l2\n", "l3\n", NULL};
    log_lines(t, "tl", "c", lines);
    long code;
    char *body = get_log(t, PODS "/tl/log", &code);
    assert_string_equal(body, "l0\nl1\nl2\nl3\n");
    free(body);
    body = get_log(t, PODS "/tl/log?tailLines=2", &code);
    assert_int_equal(code, 200);
    assert_string_equal(body, "l2\nl3\n");
    free(body);
    body = get_log(t, PODS "/tl/log?tailLines=0", &code);
    assert_string_equal(body, "");
    free(body);
    body = get_log(t, PODS "/tl/log?tailLines=100", &code);
    assert_string_equal(body, "l0\nl1\nl2\nl3\n");
    free(body);
}

static int is_log_stamp(const char *s)
{
    /* 2026-11-27T23:15:30.123456789Z followed by a space */
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddddddddZ ";
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
            return 0;
    return 1;
}

static void test_log_timestamps(void **state)
{
    struct itest *t = start_plain(state);
    run_pod(t, "ts", "[{\"name\":\"c\",\"image\":\"busybox\",\"command\":[\"echo\",\"hi\"]}]");
    const char *lines[] = {"again\n", NULL};
    log_lines(t, "ts", "c", lines);
    long code;
    char *body = get_log(t, PODS "/ts/log?timestamps=true", &code);
    assert_int_equal(code, 200);
    char *nl = strchr(body, '\n');
    assert_non_null(nl);
    assert_true(is_log_stamp(body));
    assert_int_equal(strncmp(body + 31, "hi\n", 3), 0);
    assert_true(is_log_stamp(nl + 1));
    assert_string_equal(nl + 1 + 31, "again\n");
    free(body);
    /* with tailLines: the stamp stays on the kept line */
    body = get_log(t, PODS "/ts/log?timestamps=1&tailLines=1", &code);
    assert_true(is_log_stamp(body));
    assert_string_equal(body + 31, "again\n");
    free(body);
}

static void test_log_follow_until_deleted(void **state)
{
    struct itest *t = start_plain(state);
    run_pod(t, "f", "[{\"name\":\"c\",\"image\":\"busybox\",\"command\":[\"echo\",\"first\"]}]");
    struct itest_stream *st = itest_stream_open(t, PODS "/f/log?follow=true", "*/*");
    assert_int_equal(itest_stream_code(st), 200);
    char *line = itest_stream_line(st, 3000);
    assert_non_null(line);
    assert_string_equal(line, "first");
    free(line);
    const char *more[] = {"second\n", "third\n", NULL};
    log_lines(t, "f", "c", more);
    line = itest_stream_line(st, 3000);
    assert_non_null(line);
    assert_string_equal(line, "second");
    free(line);
    line = itest_stream_line(st, 3000);
    assert_non_null(line);
    assert_string_equal(line, "third");
    free(line);
    /* nothing more until the pod goes; then the stream ends cleanly */
    assert_null(itest_stream_line(st, 100));
    long code;
    cJSON_Delete(itest_json(t, "DELETE", PODS "/f", NULL, &code));
    assert_int_equal(code, 200);
    CURLcode rc;
    assert_true(itest_stream_wait_end(st, 3000, &rc));
    assert_int_equal(rc, CURLE_OK);
    itest_stream_close(st);
}

static void test_log_follow_with_timestamps_and_client_leaves(void **state)
{
    struct itest *t = start_plain(state);
    run_pod(t, "fl", "[{\"name\":\"c\",\"image\":\"busybox\",\"command\":[\"echo\",\"x\"]}]");
    struct itest_stream *st =
        itest_stream_open(t, PODS "/fl/log?follow=true&timestamps=true&tailLines=0", "*/*");
    const char *more[] = {"y\n", NULL};
    log_lines(t, "fl", "c", more);
    char *line = itest_stream_line(st, 3000);
    assert_non_null(line);
    assert_true(is_log_stamp(line));
    assert_string_equal(line + 31, "y");
    free(line);
    /* the client goes away; later output and the pod's deletion must not touch the stream */
    itest_stream_close(st);
    const char *after[] = {"z\n", "zz\n", NULL};
    log_lines(t, "fl", "c", after);
    long code;
    cJSON_Delete(itest_json(t, "DELETE", PODS "/fl?gracePeriodSeconds=0", NULL, &code));
    assert_int_equal(code, 200);
    cJSON *v = itest_json(t, "GET", "/version", NULL, &code);
    assert_int_equal(code, 200);
    cJSON_Delete(v);
}

static void test_log_container_waiting(void **state)
{
    struct itest_opts o = {0};
    o.cluster.start_delay_ms = 60000;
    struct itest *t = itest_start(state, &o);
    long code;
    cJSON *p =
        itest_json(t, "POST", PODS,
                   "{\"metadata\":{\"name\":\"w\"},\"spec\":{\"containers\":[{\"name\":\"c\","
                   "\"image\":\"busybox\",\"command\":[\"echo\",\"hi\"]}]}}",
                   &code);
    assert_int_equal(code, 201);
    cJSON_Delete(p);
    p = itest_wait_field(t, PODS "/w", "spec.nodeName", CLUSTER_NODE_NAME, ITEST_WAIT_MS);
    assert_non_null(p);
    cJSON_Delete(p);
    itest_assert_status(itest_json(t, "GET", PODS "/w/log", NULL, &code), &code, 400, "BadRequest",
                        "container \"c\" in pod \"w\" is waiting to start: ContainerCreating");
    itest_assert_status(itest_json(t, "GET", PODS "/w/log?follow=true", NULL, &code), &code, 400,
                        "BadRequest",
                        "container \"c\" in pod \"w\" is waiting to start: ContainerCreating");
}

static void test_log_unscheduled_pod_is_empty(void **state)
{
    /* kube-apiserver: LogLocation returns no location while spec.nodeName is empty, and
     * StreamObject answers 204 No Content (no kubelet is asked, no error) */
    struct itest_opts o = {0};
    o.cluster.schedule_delay_ms = 60000;
    struct itest *t = itest_start(state, &o);
    long code;
    cJSON *p =
        itest_json(t, "POST", PODS,
                   "{\"metadata\":{\"name\":\"u\"},\"spec\":{\"containers\":[{\"name\":\"c\","
                   "\"image\":\"busybox\"}]}}",
                   &code);
    assert_int_equal(code, 201);
    cJSON_Delete(p);
    char *body = get_log(t, PODS "/u/log", &code);
    if (code != 204) {
        char got[512];
        snprintf(got, sizeof got, "%s", body);
        free(body);
        fail_msg("log of an unscheduled pod: %ld %s, want 204 and no body", code, got);
    }
    assert_string_equal(body, "");
    free(body);
}

static void test_log_container_choice(void **state)
{
    struct itest *t = start_plain(state);
    run_pod(t, "mc",
            "[{\"name\":\"a\",\"image\":\"busybox\",\"command\":[\"echo\",\"from-a\"]},"
            "{\"name\":\"b\",\"image\":\"busybox\",\"command\":[\"echo\",\"from-b\"]}]");
    long code;
    itest_assert_status(itest_json(t, "GET", PODS "/mc/log", NULL, &code), &code, 400, "BadRequest",
                        "a container name must be specified for pod mc, choose one of: [a b]");
    char *body = get_log(t, PODS "/mc/log?container=b", &code);
    assert_int_equal(code, 200);
    assert_string_equal(body, "from-b\n");
    free(body);
    body = get_log(t, PODS "/mc/log?container=a", &code);
    assert_string_equal(body, "from-a\n");
    free(body);
    itest_assert_status(itest_json(t, "GET", PODS "/mc/log?container=zz", NULL, &code), &code, 400,
                        "BadRequest", "container zz is not valid for pod mc");
    itest_assert_status(itest_json(t, "GET", PODS "/nope/log", NULL, &code), &code, 404, "NotFound",
                        "pods \"nope\" not found");
}

static void test_log_init_container(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    cJSON *p = itest_json(t, "POST", PODS,
                          "{\"metadata\":{\"name\":\"ic\"},\"spec\":{\"initContainers\":[{\"name\":"
                          "\"init\",\"image\":\"busybox\",\"command\":[\"echo\",\"init-done\"]}],"
                          "\"containers\":[{\"name\":\"main\",\"image\":\"busybox\"}]}}",
                          &code);
    assert_int_equal(code, 201);
    cJSON_Delete(p);
    p = itest_wait_field(t, PODS "/ic", "status.phase", "Running", ITEST_WAIT_MS);
    assert_non_null(p);
    assert_string_equal(itest_jstr(p, "status.initContainerStatuses.0.state.terminated.reason"),
                        "Completed");
    cJSON_Delete(p);
    char *body = get_log(t, PODS "/ic/log?container=init", &code);
    assert_int_equal(code, 200);
    assert_string_equal(body, "init-done\n");
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_log_echo, itest_teardown),
        cmocka_unit_test_teardown(test_log_tail_lines, itest_teardown),
        cmocka_unit_test_teardown(test_log_timestamps, itest_teardown),
        cmocka_unit_test_teardown(test_log_follow_until_deleted, itest_teardown),
        cmocka_unit_test_teardown(test_log_follow_with_timestamps_and_client_leaves,
                                  itest_teardown),
        cmocka_unit_test_teardown(test_log_container_waiting, itest_teardown),
        cmocka_unit_test_teardown(test_log_unscheduled_pod_is_empty, itest_teardown),
        cmocka_unit_test_teardown(test_log_container_choice, itest_teardown),
        cmocka_unit_test_teardown(test_log_init_container, itest_teardown),
    };
    itest_filter_from_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
