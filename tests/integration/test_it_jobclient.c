/* test_it_jobclient.c -- the reference job client (harness/jobclient.h) against the fake over real
 * sockets, checked against runner-k8s-executor.md rather than against itself: the API sequence of
 * §2 in attach mode as the server saw it, the pod spec of §4.1, the §3.1 wait (attempts + 1 GETs,
 * the waiting lines, the timeout text), a failing step_script, the §6 retries (etcd request timed
 * out retried, leader changed not, retry_limits), §7's wording for connection refused, cleanup
 * 404 and the client-side pull-policy rejection (no request at all), and TLS with
 * host/bearer_token/ca_file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "harness/kcconfig.h"
#include "harness/kclient.h"
#include "jobtest.h"

#define DOC                                                                                        \
    " Check https://docs.gitlab.com/runner/shells/#shell-profile-loading for more information"

static struct itest *start(void **state, int tls)
{
    jt_reset();
    struct itest_opts o = {.hooks = &jt_hooks, .tls = tls};
    return itest_start(state, &o);
}

static void assert_contains(const char *log, const char *want)
{
    if (!strstr(log, want))
        fail_msg("the job log lacks\n  %s\n---- log ----\n%s", want, log);
}

static void assert_lacks(const char *log, const char *bad)
{
    if (strstr(log, bad))
        fail_msg("the job log has\n  %s\n---- log ----\n%s", bad, log);
}

/* The last line of the log (without its newline) into buf. */
static const char *last_line(const char *log, char *buf, size_t len)
{
    size_t n = strlen(log);
    while (n && log[n - 1] == '\n')
        n--;
    size_t s = n;
    while (s && log[s - 1] != '\n')
        s--;
    snprintf(buf, len, "%.*s", (int)(n - s), log + s);
    return buf;
}

static int count_lines(const char *log, const char *prefix)
{
    int n = 0;
    for (const char *p = log; p && *p;) {
        if (strncmp(p, prefix, strlen(prefix)) == 0)
            n++;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return n;
}

/* §2.1-§2.4 in attach mode, as the server saw it: access reviews, the informer's watch-list,
 * /version, the pod, the wait, the trapping script in build, read-logs in helper, then per stage
 * GET pod + save-script exec, GET pod + attach (predefined stages in helper, step_script in
 * build), and the pod DELETE with propagationPolicy Background. */
static void test_success_sequence(void **state)
{
    struct itest *t = start(state, 0);
    struct jobclient_result res;
    char *log = jt_run(t,
                       "{\"kubernetes\":{\"namespace\":\"default\",\"image\":\"alpine:3.20\","
                       "\"poll_interval\":1},\"job\":{\"id\":42,\"project_id\":7,"
                       "\"script\":[\"echo hello\"],\"variables\":{\"GIT_STRATEGY\":\"none\"}}}",
                       &res);
    char buf[512];
    assert_string_equal(last_line(log, buf, sizeof buf), "Job succeeded");
    assert_int_equal(res.success, 1);
    assert_string_equal(res.failure_reason, "");
    assert_contains(log, "Using Kubernetes namespace: default\n");
    assert_contains(log, "Using Kubernetes executor with image alpine:3.20 ...\n");
    assert_contains(log, "Using attach strategy to execute scripts...\n");
    assert_contains(log, "Preparing environment\n");
    assert_contains(log,
                    "Executing \"step_script\" stage of the job script\n$ echo hello\nhello\n");
    assert_contains(log, "Cleaning up project directory and file based variables\n");
    assert_lacks(log, "\033[");
    assert_lacks(log, "command_exit_code"); /* markers are not written to the trace (§4.2) */

    char trace[8192];
    jt_trace_without(trace, sizeof trace, "GET EVENTS");
    assert_string_equal(trace, "SSAR SSAR WATCHLIST VERSION POD SAVE:build RL "
                               "SAVE:helper ATTACH:helper SAVE:helper ATTACH:helper "
                               "SAVE:build ATTACH:build SAVE:helper ATTACH:helper DELPOD");
    /* every exec and attach but read-logs is preceded by its GET pod (ExecOptions.Run) */
    jt_trace(trace, sizeof trace);
    for (const char *p = trace; (p = strstr(p, " SAVE:")) || 0;) {
        assert_int_equal(strncmp(p - 3, "GET", 3), 0);
        p++;
    }
    for (const char *p = trace; (p = strstr(p, " ATTACH:")) || 0;) {
        assert_int_equal(strncmp(p - 3, "GET", 3), 0);
        p++;
    }
    assert_null(strstr(trace, "GET RL"));
    /* the §2.4 DELETE */
    pthread_mutex_lock(&jt_mu);
    cJSON *del = cJSON_Parse(JT.delete_body);
    cJSON *pod = cJSON_Parse(JT.pod_body);
    pthread_mutex_unlock(&jt_mu);
    assert_non_null(del);
    assert_string_equal(itest_jstr(del, "propagationPolicy"), "Background");
    assert_null(itest_jget(del, "gracePeriodSeconds"));
    cJSON_Delete(del);
    /* the §4.1 pod */
    assert_non_null(pod);
    assert_string_equal(itest_jstr(pod, "metadata.name"), res.pod);
    assert_int_equal(strncmp(res.pod, "runner-kfjobcl1-project-7-concurrent-0-", 39), 0);
    assert_int_equal(strlen(res.pod), 39 + 8);
    assert_string_equal(itest_jstr(pod, "spec.initContainers.0.name"), "init-permissions");
    assert_string_equal(itest_jstr(pod, "spec.initContainers.0.command.2"),
                        "touch /logs-7-42/output.log && (chmod 777 /logs-7-42/output.log || "
                        "exit 0)");
    assert_string_equal(itest_jstr(pod, "spec.containers.0.name"), "build");
    assert_string_equal(itest_jstr(pod, "spec.containers.0.image"), "alpine:3.20");
    assert_string_equal(itest_jstr(pod, "spec.containers.0.command.0"), "sh");
    assert_string_equal(itest_jstr(pod, "spec.containers.1.name"), "helper");
    assert_true(cJSON_IsTrue(itest_jget(pod, "spec.containers.0.stdin")));
    assert_string_equal(itest_jstr(pod, "spec.restartPolicy"), "Never");
    assert_int_equal(itest_jget(pod, "spec.activeDeadlineSeconds")->valueint, 3601);
    assert_string_equal(itest_jstr(pod, "spec.volumes.0.name"), "repo");
    assert_string_equal(itest_jstr(pod, "spec.volumes.1.name"), "scripts");
    assert_string_equal(itest_jstr(pod, "spec.volumes.2.name"), "logs");
    assert_string_equal(itest_jstr(pod, "spec.containers.0.volumeMounts.1.mountPath"),
                        "/scripts-7-42");
    const cJSON *labels = itest_jget(pod, "metadata.labels");
    assert_string_equal(itest_jstr(labels, "pod"), "runner-kfjobcl1-project-7-concurrent-0");
    assert_non_null(cJSON_GetObjectItemCaseSensitive(labels, "job.runner.gitlab.com/pod"));
    assert_non_null(cJSON_GetObjectItemCaseSensitive(labels, "manager.runner.gitlab.com/id-short"));
    const cJSON *ann = itest_jget(pod, "metadata.annotations");
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(ann, "job.runner.gitlab.com/id")->valuestring, "42");
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(ann, "job.runner.gitlab.com/timeout")->valuestring,
        "1h0m0s");
    cJSON_Delete(pod);
    /* the pod is gone after cleanup */
    char path[512];
    snprintf(path, sizeof path, "/api/v1/namespaces/default/pods/%s", res.pod);
    assert_true(itest_wait_code(t, path, 404, ITEST_WAIT_MS));
    free(log);
}

/* §3.1: poll_timeout 2, poll_interval 1: attempts = 2, so 3 GETs, each followed by the waiting
 * line and the condition lines, then the 19.3+ timeout text, wrapped by "waiting for pod running"
 * and "prepare environment" (§7.1), and the pod is deleted. */
static void test_wait_times_out(void **state)
{
    struct itest *t = start(state, 0);
    atomic_store(&JT.hold_schedule, 1);
    struct jobclient_result res;
    int64_t t0 = itest_now_ms();
    char *log = jt_run(t,
                       "{\"kubernetes\":{\"image\":\"alpine\",\"poll_interval\":1,"
                       "\"poll_timeout\":2}}",
                       &res);
    int64_t took = itest_now_ms() - t0;
    char want[1024], buf[1024];
    snprintf(want, sizeof want,
             "ERROR: Job failed (system failure): prepare environment: waiting for pod running: "
             "timed out waiting for pod to start (last phase: Pending).%s",
             DOC);
    assert_string_equal(last_line(log, buf, sizeof buf), want);
    assert_string_equal(res.failure_reason, "runner_system_failure");
    assert_int_equal(res.system_failure, 1);
    snprintf(want, sizeof want,
             "Waiting for pod default/%s to be running on the node <unknown>, status is Pending\n",
             res.pod);
    assert_contains(log, want);
    assert_int_equal(count_lines(log, "Waiting for pod default/"), 3);
    assert_contains(log, "WARNING: Namespace is empty, therefore assuming 'default'.\n");
    char trace[8192];
    jt_trace(trace, sizeof trace);
    /* the last EVENTS is the failed Run's listing (§7.13, limit=200) */
    assert_string_equal(trace, "SSAR SSAR WATCHLIST VERSION POD GET EVENTS GET EVENTS GET EVENTS "
                               "EVENTS DELPOD");
    /* three sleeps of poll_interval (the upper bound wide: CI shares two cores) */
    assert_true(took >= 3000 && took < 10000);
    free(log);
}

/* §7: a step_script that exits 1 (hooks.on_stage) fails the job with the script's exit code;
 * cleanup_file_variables still runs, then the pod is deleted. */
static void test_step_script_fails(void **state)
{
    struct itest *t = start(state, 0);
    atomic_store(&JT.step_exit, 1);
    struct jobclient_result res;
    char *log = jt_run(t, "{\"kubernetes\":{\"image\":\"alpine\",\"poll_interval\":1}}", &res);
    char buf[512];
    assert_string_equal(last_line(log, buf, sizeof buf),
                        "ERROR: Job failed: command terminated with exit code 1");
    assert_string_equal(res.failure_reason, "script_failure");
    assert_int_equal(res.exit_code, 1);
    assert_int_equal(res.system_failure, 0);
    assert_contains(log, "Executing \"step_script\" stage of the job script\nworking\n");
    assert_contains(log, "Cleaning up project directory and file based variables\n");
    char trace[8192];
    /* a failed Run lists the pod's Warning events (print_pod_warning_events, §7.13) */
    jt_trace_without(trace, sizeof trace, "GET");
    assert_non_null(strstr(trace, "ATTACH:build EVENTS SAVE:helper ATTACH:helper DELPOD"));
    free(log);
}

/* §6: "etcdserver: request timed out" is retried (total attempts retry_limit), with the 500 ms
 * backoff doubling; the job then succeeds. */
static void test_pod_create_retried(void **state)
{
    struct itest *t = start(state, 0);
    snprintf(JT.create_msg, sizeof JT.create_msg, "etcdserver: request timed out");
    atomic_store(&JT.create_errors, 2);
    struct jobclient_result res;
    int64_t t0 = itest_now_ms();
    char *log = jt_run(t, "{\"kubernetes\":{\"image\":\"alpine\",\"poll_interval\":1}}", &res);
    assert_int_equal(res.success, 1);
    assert_int_equal(jt_count_exact("POST /api/v1/namespaces/default/pods"), 3);
    char trace[8192];
    jt_trace_without(trace, sizeof trace, "GET EVENTS");
    if (strncmp(trace, "SSAR SSAR WATCHLIST VERSION POD POD POD SAVE:build", 50) != 0)
        fail_msg("trace: %s", trace);
    assert_true(itest_now_ms() - t0 >= 1500); /* 500 ms + 1 s of backoff */
    free(log);
}

/* §6: the fifth failure ends it: retry_limit 5 is five attempts in all. */
static void test_pod_create_retries_exhausted(void **state)
{
    struct itest *t = start(state, 0);
    snprintf(JT.create_msg, sizeof JT.create_msg, "etcdserver: request timed out");
    atomic_store(&JT.create_errors, 100);
    struct jobclient_result res;
    char *log = jt_run(t,
                       "{\"kubernetes\":{\"image\":\"alpine\",\"poll_interval\":1,"
                       "\"retry_backoff_max\":500}}",
                       &res);
    char want[1024], buf[1024];
    snprintf(want, sizeof want,
             "ERROR: Job failed (system failure): prepare environment: setting up build pod: "
             "etcdserver: request timed out.%s",
             DOC);
    assert_string_equal(last_line(log, buf, sizeof buf), want);
    char trace[8192];
    jt_trace(trace, sizeof trace);
    assert_string_equal(trace, "SSAR SSAR WATCHLIST VERSION POD POD POD POD POD");
    free(log);
}

/* §6: "etcdserver: leader changed" is not retried by default: one POST, the documented text, and
 * no DELETE (there is no pod); with retry_limits it is retried. */
static void test_leader_changed_not_retried(void **state)
{
    struct itest *t = start(state, 0);
    snprintf(JT.create_msg, sizeof JT.create_msg, "etcdserver: leader changed");
    atomic_store(&JT.create_errors, 1);
    struct jobclient_result res;
    char *log = jt_run(t, "{\"kubernetes\":{\"image\":\"alpine\",\"poll_interval\":1}}", &res);
    char want[1024], buf[1024];
    snprintf(want, sizeof want,
             "ERROR: Job failed (system failure): prepare environment: setting up build pod: "
             "etcdserver: leader changed.%s",
             DOC);
    assert_string_equal(last_line(log, buf, sizeof buf), want);
    char trace[8192];
    jt_trace(trace, sizeof trace);
    assert_string_equal(trace, "SSAR SSAR WATCHLIST VERSION POD");
    free(log);

    jt_reset();
    snprintf(JT.create_msg, sizeof JT.create_msg, "etcdserver: leader changed");
    atomic_store(&JT.create_errors, 2);
    log = jt_run(t,
                 "{\"kubernetes\":{\"image\":\"alpine\",\"poll_interval\":1,"
                 "\"retry_limits\":{\"etcdserver: leader changed\":3}}}",
                 &res);
    assert_int_equal(res.success, 1);
    jt_trace_without(trace, sizeof trace, "GET EVENTS");
    assert_int_equal(strncmp(trace, "SSAR SSAR WATCHLIST VERSION POD POD POD SAVE:build", 50), 0);
    free(log);
}

/* §2.4, §7.6: a 404 on the pod DELETE is "Error cleaning up pod: pods "…" not found"; cleanup
 * errors never change the job's result. */
static void test_cleanup_not_found(void **state)
{
    struct itest *t = start(state, 0);
    atomic_store(&JT.delete_404, 1);
    struct jobclient_result res;
    char *log = jt_run(t, "{\"kubernetes\":{\"image\":\"alpine\",\"poll_interval\":1}}", &res);
    char want[512], buf[512];
    snprintf(want, sizeof want, "ERROR: Error cleaning up pod: pods \"%s\" not found\n", res.pod);
    assert_contains(log, want);
    assert_string_equal(last_line(log, buf, sizeof buf), "Job succeeded");
    assert_int_equal(res.success, 1);
    /* DELETE is retried only for retryable errors: a 404 once */
    assert_int_equal(jt_count("DELETE "), 1);
    free(log);
}

/* §7.8: the pull policy is checked on the client before any request. */
static void test_pull_policy_rejected(void **state)
{
    struct itest *t = start(state, 0);
    struct jobclient_result res;
    char *log = jt_run(t,
                       "{\"kubernetes\":{\"image\":\"alpine\",\"allowed_pull_policies\":"
                       "[\"if-not-present\"]},\"job\":{\"image_pull_policy\":[\"always\"]}}",
                       &res);
    char buf[512];
    assert_string_equal(last_line(log, buf, sizeof buf),
                        "ERROR: Job failed: invalid pull policy for container \"build\": "
                        "pull_policy ([Always]) defined in GitLab pipeline config is not one of "
                        "the allowed_pull_policies ([IfNotPresent])");
    assert_string_equal(res.failure_reason, "runner_configuration_error");
    assert_int_equal(jt_nreqs(), 0);
    assert_int_equal(res.requests, 0);
    assert_lacks(log, "Preparation failed");
    free(log);
}

/* A port nothing listens on. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* kube-wire §9 / catalogue 4: connection refused worded as client-go's url.Error. */
static void test_connection_refused(void **state)
{
    (void)state;
    int port = closed_port();
    char url[64], want[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    struct kc_config cfg;
    char err[256];
    assert_int_equal(kc_config_from_host(url, NULL, NULL, &cfg, err, sizeof err), 0);
    struct kclient *k = kclient_new(&cfg, NULL, err, sizeof err);
    assert_non_null(k);
    struct kc_resp r;
    cJSON *body = cJSON_Parse("{\"metadata\":{\"name\":\"p\"}}");
    assert_int_equal(kclient_do(k, "POST", "/api/v1/namespaces/default/pods", body, 0, &r), -1);
    snprintf(want, sizeof want,
             "Post \"http://127.0.0.1:%d/api/v1/namespaces/default/pods\": dial tcp "
             "127.0.0.1:%d: connect: connection refused",
             port, port);
    assert_string_equal(r.err, want);
    assert_int_equal(r.kind, KC_ERR_TRANSPORT);
    assert_int_equal(r.attempts, 1); /* dial failures are not retried by client-go */
    kc_resp_release(&r);
    cJSON_Delete(body);
    kclient_free(k);
    kc_config_release(&cfg);

    /* the job: the access reviews are retried and then only warned about (§2.1 step 1), GET
     * /version is not retried (§2.2) */
    char cfgtext[256];
    snprintf(cfgtext, sizeof cfgtext,
             "{\"kubernetes\":{\"host\":\"%s\",\"image\":\"alpine\",\"retry_limit\":2}}", url);
    struct jobclient_result res;
    char *log = jt_run(NULL, cfgtext, &res);
    snprintf(want, sizeof want,
             "WARNING: won't use informers: \"Post \\\"%s/apis/authorization.k8s.io/v1/"
             "selfsubjectaccessreviews\\\": dial tcp 127.0.0.1:%d: connect: connection "
             "refused\", see: https://docs.gitlab.com/runner/executors/kubernetes/#informers\n",
             url, port);
    assert_contains(log, want);
    char buf[1024];
    snprintf(want, sizeof want,
             "ERROR: Job failed (system failure): prepare environment: setting up build pod: Get "
             "\"%s/version\": dial tcp 127.0.0.1:%d: connect: connection refused.%s",
             url, port, DOC);
    assert_string_equal(last_line(log, buf, sizeof buf), want);
    assert_int_equal(res.requests, 3); /* two SSAR attempts, one GET /version */
    free(log);
}

/* §1: host, bearer_token and ca_file over TLS, for REST and for the SPDY streams. */
static void test_tls_host_token_ca(void **state)
{
    struct itest *t = start(state, 1);
    struct jobclient_result res;
    char *log = jt_run(t, "{\"kubernetes\":{\"image\":\"alpine\",\"poll_interval\":1}}", &res);
    char buf[256];
    assert_string_equal(last_line(log, buf, sizeof buf), "Job succeeded");
    assert_true(jt_count("POST /api/v1/namespaces/default/pods/") >= 8);
    free(log);
    /* a wrong CA: the Go texts of crypto/tls */
    jt_reset();
    char cfgtext[512];
    snprintf(cfgtext, sizeof cfgtext,
             "{\"kubernetes\":{\"host\":\"%s\",\"bearer_token\":\"%s\",\"image\":\"alpine\","
             "\"retry_limit\":1}}",
             itest_url(t), itest_token(t));
    log = jt_run(t, cfgtext, &res);
    assert_contains(log, "tls: failed to verify certificate: x509: certificate signed by unknown "
                         "authority");
    assert_int_equal(res.success, 0);
    free(log);
}

int main(void)
{
    itest_filter_from_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_success_sequence, itest_teardown),
        cmocka_unit_test_teardown(test_wait_times_out, itest_teardown),
        cmocka_unit_test_teardown(test_step_script_fails, itest_teardown),
        cmocka_unit_test_teardown(test_pod_create_retried, itest_teardown),
        cmocka_unit_test_teardown(test_pod_create_retries_exhausted, itest_teardown),
        cmocka_unit_test_teardown(test_leader_changed_not_retried, itest_teardown),
        cmocka_unit_test_teardown(test_cleanup_not_found, itest_teardown),
        cmocka_unit_test_teardown(test_pull_policy_rejected, itest_teardown),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test_teardown(test_tls_host_token_ca, itest_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
