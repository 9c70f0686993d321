/* test_it_jobclient_modes.c -- more of the reference job client against the fake, each checked
 * against runner-k8s-executor.md: legacy exec mode (§2.5), the credentials secret and its
 * ownerReferences (§2.2 steps 5 and 9, §2.4), namespace_per_job (§2.2 step 4, §2.4), the output
 * log deleted under read-logs (§4.2, exit code 100), the job timeout with the cancellation script
 * (§2.3 step 5), the pod deleted mid-job (§7.12: the informer reports it, cleanup meets the 404),
 * and ImagePullBackOff during the wait with the pull-policy retry (§3.1, §7.13). */
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
#include "jobtest.h"

#define DOC                                                                                        \
    " Check https://docs.gitlab.com/runner/shells/#shell-profile-loading for more information"

static struct itest *start(void **state)
{
    jt_reset();
    struct itest_opts o = {.hooks = &jt_hooks};
    struct itest *t = itest_start(state, &o);
    jt_grab_server(t);
    return t;
}

static void assert_contains(const char *log, const char *want)
{
    if (!strstr(log, want))
        fail_msg("the job log lacks\n  %s\n---- log ----\n%s", want, log);
}

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

/* §2.5: no init-permissions, no scripts/logs emptyDirs, no trapping script, no read-logs, no
 * attach: each stage is GET pod + one exec with the script on stdin (helper stages through
 * gitlab-runner-build), its output straight into the log, its exit code from the Status. */
static void test_legacy_mode(void **state)
{
    struct itest *t = start(state);
    struct jobclient_result res;
    static const char cfg[] =
        "{\"kubernetes\":{\"image\":\"alpine\",\"poll_interval\":1},\"feature_flags\":"
        "{\"FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGY\":true},\"job\":{\"script\":[\"echo "
        "hi\"]}}";
    char *log = jt_run(t, cfg, &res);
    char buf[256];
    assert_string_equal(last_line(log, buf, sizeof buf), "Job succeeded");
    assert_null(strstr(log, "Using attach strategy"));
    assert_contains(log, "  feature flags: FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGY:true\n");
    assert_contains(log, "Executing \"step_script\" stage of the job script\n$ echo hi\nhi\n");
    char trace[8192];
    jt_trace_without(trace, sizeof trace, "GET EVENTS");
    assert_string_equal(trace, "SSAR SSAR WATCHLIST VERSION POD BUILD:helper BUILD:helper "
                               "SAVE:build BUILD:helper DELPOD");
    jt_trace(trace, sizeof trace);
    assert_non_null(strstr(trace, "GET BUILD:helper GET BUILD:helper GET SAVE:build GET "
                                  "BUILD:helper DELPOD"));
    pthread_mutex_lock(&jt_mu);
    cJSON *pod = cJSON_Parse(JT.pod_body);
    pthread_mutex_unlock(&jt_mu);
    assert_null(itest_jget(pod, "spec.initContainers"));
    assert_int_equal(cJSON_GetArraySize(itest_jget(pod, "spec.volumes")), 1);
    assert_null(strstr(log, "Using FF_USE_POD_ACTIVE_DEADLINE_SECONDS"));
    assert_int_equal(itest_jget(pod, "spec.activeDeadlineSeconds")->valueint, 3601);
    cJSON_Delete(pod);
    free(log);

    /* a failing stage: the exec's own exit code */
    jt_reset();
    atomic_store(&JT.step_exit, 2);
    log = jt_run(t, cfg, &res);
    assert_string_equal(last_line(log, buf, sizeof buf),
                        "ERROR: Job failed: command terminated with exit code 2");
    assert_contains(log, "Executing \"step_script\" stage of the job script\nworking\n");
    assert_string_equal(res.failure_reason, "script_failure");
    free(log);
}

/* §2.2 steps 5 and 9, §2.4: registry credentials make a kubernetes.io/dockercfg secret before the
 * pod, the pod pulls with it, the secret gets an ownerReference to the pod (uid included), and
 * since the PUT's answer echoes it, cleanup leaves the secret to garbage collection. */
static void test_credentials_secret(void **state)
{
    struct itest *t = start(state);
    struct jobclient_result res;
    char *log = jt_run(t,
                       "{\"kubernetes\":{\"image\":\"registry.example.com/app:1\","
                       "\"poll_interval\":1},\"job\":{\"credentials\":[{\"url\":"
                       "\"registry.example.com\",\"username\":\"u\",\"password\":\"p\"}]}}",
                       &res);
    char buf[256];
    assert_string_equal(last_line(log, buf, sizeof buf), "Job succeeded");
    char trace[8192];
    jt_trace_without(trace, sizeof trace, "GET EVENTS");
    assert_int_equal(
        strncmp(trace, "SSAR SSAR WATCHLIST SECRET VERSION POD PUTSECRET SAVE:build RL", 62), 0);
    assert_non_null(strstr(trace, "ATTACH:helper DELPOD"));
    assert_null(strstr(trace, "DELSECRET"));
    pthread_mutex_lock(&jt_mu);
    cJSON *pod = cJSON_Parse(JT.pod_body);
    pthread_mutex_unlock(&jt_mu);
    const char *secret = itest_jstr(pod, "spec.imagePullSecrets.0.name");
    assert_non_null(secret);
    assert_int_equal(strncmp(secret, "runner-kfjobcl1-project-1-concurrent-0-", 39), 0);
    char path[512];
    snprintf(path, sizeof path, "/api/v1/namespaces/default/secrets/%s", secret);
    long code;
    cJSON *s = itest_json(t, "GET", path, NULL, &code);
    if (code == 200) { /* unless garbage collection already took it with the pod */
        assert_string_equal(itest_jstr(s, "type"), "kubernetes.io/dockercfg");
        assert_string_equal(itest_jstr(s, "metadata.ownerReferences.0.kind"), "Pod");
        assert_string_equal(itest_jstr(s, "metadata.ownerReferences.0.name"), res.pod);
    } else {
        assert_int_equal(code, 404);
    }
    cJSON_Delete(s);
    cJSON_Delete(pod);
    free(log);
}

/* §2.2 step 9, §7.7: a failed ownerReferences PUT fails the pod setup; the typed client handed
 * back an empty Secret, so cleanup's secret DELETE is refused by client-go before any request. */
static void test_owner_references_put_fails(void **state)
{
    struct itest *t = start(state);
    atomic_store(&JT.put_secret_error, 1);
    struct jobclient_result res;
    char *log = jt_run(t,
                       "{\"kubernetes\":{\"image\":\"alpine\",\"poll_interval\":1},\"job\":"
                       "{\"credentials\":[{\"url\":\"r.example.com\",\"username\":\"u\","
                       "\"password\":\"p\"}]}}",
                       &res);
    char want[1024], buf[1024];
    snprintf(want, sizeof want,
             "ERROR: Job failed (system failure): prepare environment: setting up build pod: error "
             "setting ownerReferences: etcdserver: leader changed.%s",
             DOC);
    assert_string_equal(last_line(log, buf, sizeof buf), want);
    assert_contains(log, "ERROR: Error cleaning up secrets: resource name may not be empty\n");
    char trace[8192];
    jt_trace_without(trace, sizeof trace, "GET EVENTS");
    assert_string_equal(trace, "SSAR SSAR WATCHLIST SECRET VERSION POD PUTSECRET DELPOD");
    free(log);
}

/* §2.2 step 4, §2.4: ci-job-<id> is created first (not retried) and torn down last. */
static void test_namespace_per_job(void **state)
{
    struct itest *t = start(state);
    struct jobclient_result res;
    char *log = jt_run(t,
                       "{\"kubernetes\":{\"image\":\"alpine\",\"poll_interval\":1,"
                       "\"namespace_per_job\":true},\"job\":{\"id\":77}}",
                       &res);
    char buf[256];
    assert_string_equal(last_line(log, buf, sizeof buf), "Job succeeded");
    assert_contains(log, "Using Kubernetes namespace: ci-job-77\n");
    char trace[8192];
    jt_trace_without(trace, sizeof trace, "GET EVENTS");
    assert_int_equal(strncmp(trace, "SSAR SSAR WATCHLIST NS VERSION POD SAVE:build RL", 48), 0);
    assert_non_null(strstr(trace, "DELPOD DELNS"));
    /* the pod, the trapping script, read-logs, and a save-script exec and an attach per stage */
    assert_int_equal(jt_count("POST /api/v1/namespaces/ci-job-77/pods"), 1 + 1 + 1 + 4 * 2);
    free(log);
}

/* §4.2: the output log deleted under read-logs: exit code 100, the runner's warning, and the
 * stage fails with that code. */
static void test_output_log_deleted(void **state)
{
    struct itest *t = start(state);
    atomic_store(&JT.step_delete_log, 1);
    struct jobclient_result res;
    char *log = jt_run(t, "{\"kubernetes\":{\"image\":\"alpine\",\"poll_interval\":1}}", &res);
    char buf[256];
    assert_contains(log, "WARNING: Error processing the log file: output log file deleted, cannot "
                         "continue command terminated with exit code 100\n");
    assert_string_equal(last_line(log, buf, sizeof buf),
                        "ERROR: Job failed: command terminated with exit code 100");
    assert_int_equal(res.exit_code, 100);
    /* read-logs reconnected with --offset 0 afterwards */
    assert_true(jt_count("POST /api/v1/namespaces/default/pods/") > 0);
    pthread_mutex_lock(&jt_mu);
    int reconnect = 0;
    for (int i = 0; i < JT.nreqs; i++)
        reconnect += strstr(JT.reqs[i], "command=read-logs") && strstr(JT.reqs[i], "command=0&");
    pthread_mutex_unlock(&jt_mu);
    assert_true(reconnect >= 1);
    free(log);
}

/* §2.3 step 5: the job timeout during a hanging step_script: the cancellation script runs in the
 * stage's container, the stage reports the timeout, and the job fails with the runner's
 * timeout text (job_execution_timeout); the pod is still deleted. */
static void test_job_timeout(void **state)
{
    struct itest *t = start(state);
    atomic_store(&JT.step_hang, 1);
    struct jobclient_result res;
    char *log = jt_run(t,
                       "{\"kubernetes\":{\"image\":\"alpine\",\"poll_interval\":1},"
                       "\"job\":{\"timeout\":3}}",
                       &res);
    char buf[256];
    assert_string_equal(last_line(log, buf, sizeof buf),
                        "ERROR: Job failed: execution took longer than 3s seconds");
    assert_string_equal(res.failure_reason, "job_execution_timeout");
    assert_contains(log, "working\n");
    assert_contains(log, "WARNING: step_script could not run to completion because the timeout was "
                         "exceeded. For more control over job and script timeouts see: "
                         "https://docs.gitlab.com/ci/runners/configure_runners/"
                         "#set-script-and-after_script-timeouts\n");
    char trace[8192];
    jt_trace_without(trace, sizeof trace, "GET EVENTS");
    /* after the step's attach: the kill script (a detect-shell exec into build), then no stage */
    assert_non_null(strstr(trace, "SAVE:build ATTACH:build SAVE:build DELPOD"));
    pthread_mutex_lock(&jt_mu);
    int kill = 0;
    for (int i = 0; i < JT.nreqs; i++)
        kill += strstr(JT.reqs[i], "/exec?command=sh&") && !strstr(JT.reqs[i], "stdout=true");
    pthread_mutex_unlock(&jt_mu);
    assert_int_equal(kill, 1); /* stdin only: runInContainerWithExec(..., nil, nil) */
    free(log);
}

static void remove_pod(void *arg, struct mockapi_server *s)
{
    struct jt_async *a = arg;
    (void)a;
    char pod[256];
    pthread_mutex_lock(&jt_mu);
    cJSON *p = cJSON_Parse(JT.pod_body);
    pthread_mutex_unlock(&jt_mu);
    snprintf(pod, sizeof pod, "%s", itest_jstr(p, "metadata.name"));
    cJSON_Delete(p);
    cluster_pod_remove(mockapi_server_cluster(s), "default", pod);
}

/* §7.12 (catalogue 19): the pod disappears during step_script. The informer's DELETED event
 * ends the stage as a system failure, and the cleanup DELETE meets the 404. */
static void test_pod_deleted_mid_job(void **state)
{
    struct itest *t = start(state);
    atomic_store(&JT.step_hang, 1);
    struct jt_async a;
    jt_start_async(&a, t, "{\"kubernetes\":{\"image\":\"alpine\",\"poll_interval\":1}}");
    assert_true(jt_wait_flag(&JT.step_started, 10000));
    usleep(200000);
    itest_run(t, remove_pod, &a);
    char *log = jt_wait_async(&a);
    char want[1024], buf[1024];
    snprintf(want, sizeof want, "ERROR: Job failed (system failure): pod \"default/%s\" is deleted",
             a.res.pod);
    assert_string_equal(last_line(log, buf, sizeof buf), want);
    snprintf(want, sizeof want, "ERROR: Error cleaning up pod: pods \"%s\" not found\n", a.res.pod);
    assert_contains(log, want);
    free(log);
}

/* §3.1, §7.13: ImagePullBackOff fails the wait at once; with two pull policies the runner warns,
 * deletes the pod, and starts over with the next policy. */
static void test_image_pull_backoff(void **state)
{
    struct itest *t = start(state);
    atomic_store(&JT.pull_fail, 1);
    struct jobclient_result res;
    char *log = jt_run(t, "{\"kubernetes\":{\"image\":\"alpine\",\"poll_interval\":1}}", &res);
    char want[1024], buf[1024];
    assert_int_equal(res.success, 0);
    assert_string_equal(res.failure_reason, "image_pull_failure");
    snprintf(want, sizeof want,
             "ERROR: Job failed: prepare environment: waiting for pod running: pulling image "
             "\"alpine\" for container build: image pull failed: ");
    assert_int_equal(strncmp(last_line(log, buf, sizeof buf), want, strlen(want)), 0);
    free(log);

    jt_reset();
    jt_grab_server(t);
    atomic_store(&JT.pull_fail, 1);
    log = jt_run(t,
                 "{\"kubernetes\":{\"image\":\"alpine\",\"poll_interval\":1,\"pull_policy\":"
                 "[\"always\",\"if-not-present\"]}}",
                 &res);
    assert_contains(log,
                    "Using effective pull policy of [Always IfNotPresent] for container build\n");
    assert_contains(log, "WARNING: Failed to pull image \"alpine\" for container \"build\" with "
                         "policy \"Always\": image pull failed: ");
    assert_contains(log, "Attempt #2: Trying \"IfNotPresent\" pull policy for \"alpine\" image for "
                         "container \"build\"\n");
    assert_string_equal(last_line(log, buf, sizeof buf), "Job succeeded");
    char trace[8192];
    jt_trace_without(trace, sizeof trace, "GET EVENTS");
    assert_int_equal(
        strncmp(trace, "SSAR SSAR WATCHLIST VERSION POD DELPOD VERSION POD SAVE:build", 60), 0);
    free(log);
}

struct journal_read {
    struct itest *t;
    char lines[64][600];
    int codes[64];
    size_t n;
};

static void read_journal(void *arg, struct mockapi_server *s)
{
    (void)s;
    struct journal_read *r = arg;
    struct journal *j = engine_journal(itest_engine(r->t));
    r->n = 0;
    for (size_t i = 0; i < journal_count(j) && r->n < 64; i++) {
        const struct journal_entry *e = journal_get(j, i);
        snprintf(r->lines[r->n], sizeof r->lines[0], "%s %s", e->method, e->path);
        r->codes[r->n++] = e->code;
    }
}

/* §2.1 step 2, §3.2: a server that refuses watch-list (a scenario's watch-list-refused fault, 422)
 * makes the informer fall back to LIST (limit=500, resourceVersion=0) and a WATCH from the list's
 * resourceVersion, within retry_backoff_max; the job goes on. Checked in the engine's journal. */
static void test_informer_fallback(void **state)
{
    jt_reset();
    struct itest *t = itest_start_scenario(
        state,
        "{\"name\":\"t\",\"rules\":[{\"name\":\"wl\",\"match\":{\"verb\":\"watch\","
        "\"resource\":\"pods\"},\"fault\":{\"type\":\"watch-list-refused\"}}]}",
        NULL);
    struct jobclient_result res;
    char *log = jt_run(t, "{\"kubernetes\":{\"image\":\"alpine\",\"poll_interval\":1}}", &res);
    char buf[256];
    assert_string_equal(last_line(log, buf, sizeof buf), "Job succeeded");
    assert_null(strstr(log, "won't use informers"));
    struct journal_read r = {.t = t};
    itest_run(t, read_journal, &r);
    assert_true(r.n > 6);
    if (getenv("KF_JOBTEST_LOG"))
        for (size_t i = 0; i < r.n; i++)
            fprintf(stderr, "journal %zu: %d %s\n", i, r.codes[i], r.lines[i]);
    assert_int_equal(
        strncmp(r.lines[0], "POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews", 60), 0);
    assert_int_equal(
        strncmp(r.lines[1], "POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews", 60), 0);
    /* (the journal keeps 511 bytes of a path: the long label selector hides the tail) */
    assert_non_null(strstr(r.lines[2],
                           "GET /api/v1/namespaces/default/pods?allowWatchBookmarks=true&"
                           "labelSelector=job.runner.gitlab.com%2Fpod%3D"));
    assert_int_equal(r.codes[2], 422);
    assert_non_null(strstr(r.lines[3], "GET /api/v1/namespaces/default/pods?labelSelector="));
    assert_int_equal(r.codes[3], 200);
    assert_non_null(strstr(r.lines[4],
                           "GET /api/v1/namespaces/default/pods?allowWatchBookmarks=true&"
                           "labelSelector="));
    assert_int_equal(r.codes[4], 200);
    assert_string_equal(r.lines[5], "GET /version");
    free(log);
}

int main(void)
{
    itest_filter_from_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_legacy_mode, itest_teardown),
        cmocka_unit_test_teardown(test_credentials_secret, itest_teardown),
        cmocka_unit_test_teardown(test_owner_references_put_fails, itest_teardown),
        cmocka_unit_test_teardown(test_namespace_per_job, itest_teardown),
        cmocka_unit_test_teardown(test_output_log_deleted, itest_teardown),
        cmocka_unit_test_teardown(test_job_timeout, itest_teardown),
        cmocka_unit_test_teardown(test_pod_deleted_mid_job, itest_teardown),
        cmocka_unit_test_teardown(test_image_pull_backoff, itest_teardown),
        cmocka_unit_test_teardown(test_informer_fallback, itest_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
